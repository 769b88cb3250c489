//! Property tests over HTTP.
//!
//! (a) Whatever a correctly signed client sends (catalogue names, names from MOR's hash list,
//!     random names; valid-looking values, empty, unicode, control characters, very long, negative,
//!     decimals with commas), as whichever actor, by whichever transport, the server answers
//!     HTTP 200 with one of the known XML documents, in time, and changes nothing unless it
//!     answers `User was updated`.
//! (b) Hash acceptance agrees with an independent computation of MOR's hash (docs/contract.md
//!     §3) written here with the `sha1`/`hex` crates: both the documented variant
//!     and MOR's actual one (without `user_warning_email_hour` and `pgui`) are accepted, a random
//!     wrong hash never is.
//! (c) The rows an accepted or refused update changes are exactly the audit rows it writes, with
//!     NULL and the empty string told apart.

mod common;

use common::*;
use morapi::catalogue::params::{Kind, PARAMS, Target};
use morapi::storage::schema::{self, Ty};
use morapi::storage::{AuditEvent, Row, Table, Value};
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use rust_decimal::Decimal;
use sha1::{Digest, Sha1};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::LazyLock;
use std::time::Duration;

static RT: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("tokio runtime")
});

fn config(cases: u32) -> Config {
    Config { cases, failure_persistence: None, max_shrink_iters: 200, ..Config::default() }
}

/// Runs a property with a server that is reused between cases and replaced after any case that
/// changed the database (so every case starts from the demo data).
fn check<S, F>(cases: u32, strategy: S, test: F)
where
    S: Strategy,
    S::Value: Clone,
    F: AsyncFn(&TestApp, S::Value) -> Result<bool, TestCaseError>,
{
    let app: RefCell<Option<TestApp>> = RefCell::new(None);
    let mut runner = TestRunner::new(config(cases));
    let result = runner.run(&strategy, |input| {
        RT.block_on(async {
            let current = app.borrow_mut().take();
            let current = match current {
                Some(a) => a,
                // These properties send many refused hashes from one address, which the lockout
                // (tests/lockout.rs) would answer first; here the hash itself is under test.
                None => {
                    let a = TestApp::spawn().await;
                    a.set_setting(0, "lockout_attempts", "0").await;
                    a.set_setting(0, "lockout_address_usernames", "0").await;
                    a
                }
            };
            let changed = test(&current, input).await;
            // A case that changed something (or failed) gets a fresh server next time.
            if let Ok(false) = changed {
                *app.borrow_mut() = Some(current);
            }
            changed.map(|_| ())
        })
    });
    drop(app);
    if let Err(e) = result {
        panic!("{e}");
    }
}

// ---------------------------------------------------------------------------------------------
// The independent hash (docs/contract.md §3).

/// MOR's global hash order, read from the data file at test time.
static HASH_ORDER: LazyLock<Vec<String>> = LazyLock::new(|| {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/catalogue/hash_order.txt");
    std::fs::read_to_string(path)
        .expect("hash order file")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect()
});

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Variant {
    Documented,
    /// MOR's code fuses `user_warning_email_hour` and `pgui` into one name, so neither is hashed.
    Mor,
}

/// The value of a name as the server sees it: the last occurrence wins.
fn last<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs.iter().rev().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

fn independent_hash(pairs: &[(String, String)], key: &str, variant: Variant) -> String {
    let mut s = String::new();
    for name in HASH_ORDER.iter() {
        if variant == Variant::Mor && (name == "user_warning_email_hour" || name == "pgui") {
            continue;
        }
        let Some(v) = last(pairs, name) else { continue };
        if name == "user_id" {
            // Only an all-digit id counts, as its integer rendering.
            if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            let digits = v.trim_start_matches('0');
            s.push_str(if digits.is_empty() { "0" } else { digits });
        } else {
            s.push_str(v);
        }
    }
    s.push_str(key);
    let mut h = Sha1::new();
    h.update(s.as_bytes());
    hex::encode(h.finalize())
}

#[test]
fn independent_hash_reproduces_the_reference_vectors() {
    let p = |pairs: &[(&str, &str)]| pairs.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect::<Vec<_>>();
    let seed = p(&[("user_id", "123"), ("u15", "1")]);
    assert_eq!(independent_hash(&seed, "456789", Variant::Documented), "0ab3ede4e93a55c38855a2cc9b9e169d35442c48");
    let h3 = p(&[("user_id", "123"), ("user_warning_email_hour", "15"), ("pgui", "1"), ("pcsv", "0")]);
    assert_eq!(independent_hash(&h3, "456789", Variant::Documented), "3574cbfc236bf319d40b95b7d17fbb7a71b27a71");
    assert_eq!(independent_hash(&h3, "456789", Variant::Mor), "23a5355933c87c9cd46dc46b23f5f3213532cb15");
    let h15 = p(&[("u15", "1"), ("user_id", "0123")]);
    assert_eq!(independent_hash(&h15, "456789", Variant::Mor), "0ab3ede4e93a55c38855a2cc9b9e169d35442c48");
    let h17 = p(&[
        ("company_name", "ACME"),
        ("a8", "john@example.com"),
        ("credit", "10.5"),
        ("u25", "1"),
        ("u15", "0"),
        ("u5", "2"),
        ("user_id", "123"),
    ]);
    assert_eq!(independent_hash(&h17, "456789", Variant::Documented), "6dfdac221d1a13091cf6d95128b075bd3daad48d");
    let h20 = p(&[("calltype", "answered"), ("period_start", "1252454580"), ("user_id", "123")]);
    assert_eq!(
        independent_hash(&h20, "Very Sercet Key", Variant::Documented),
        "b93c35d5c6183288322122561a3da7e09abb63b7"
    );
    assert_eq!(HASH_ORDER.len(), 209);
}

// ---------------------------------------------------------------------------------------------
// Strategies.

/// Who calls, and the key that signs correctly for him.
#[derive(Debug, Clone, Copy)]
struct Actor {
    username: &'static str,
    key: &'static str,
}

const ACTORS: &[Actor] = &[
    Actor { username: "admin", key: ADMIN_KEY },
    Actor { username: "reseller", key: RESELLER_KEY },
    Actor { username: "reseller", key: ADMIN_KEY },
    Actor { username: "accountant", key: ADMIN_KEY },
    Actor { username: "viewer", key: ADMIN_KEY },
    Actor { username: "john", key: ADMIN_KEY },
    // A simple user of the reseller: his scope is the reseller's.
    Actor { username: "alice", key: RESELLER_KEY },
];

/// How the parameters travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transport {
    Form,
    Query,
    Json,
    Multipart,
}

#[derive(Debug, Clone)]
struct Request {
    actor: Actor,
    /// Everything but `u` and `hash`, in sending order (may repeat names; the last wins).
    pairs: Vec<(String, String)>,
    variant: Variant,
    upper_case: bool,
    transport: Transport,
}

fn catalogue_names() -> Vec<&'static str> {
    PARAMS.iter().map(|p| p.name).collect()
}

/// Names that enter the hash although this method ignores them (`id`, `email`, …).
fn other_hashed_names() -> Vec<String> {
    HASH_ORDER
        .iter()
        .filter(|n| !PARAMS.iter().any(|p| p.name == n.as_str()) && n.as_str() != "user_id")
        .cloned()
        .collect()
}

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => select(catalogue_names()).prop_map(String::from),
        2 => select(other_hashed_names()),
        2 => "[a-z_][a-z0-9_]{0,12}".prop_filter("not a protocol name", |n| !matches!(n.as_str(), "u" | "hash" | "user_id")),
        1 => select(vec!["p", "test"]).prop_map(String::from),
    ]
}

const VALID_LOOKING: &[&str] = &[
    "0",
    "1",
    "2",
    "3",
    "4",
    "5",
    "8",
    "16",
    "-1",
    "12,5",
    "3.5",
    "2030",
    "28",
    "Secret123",
    "Tst",
    "fresh@example.org",
    "john@example.com",
    "a@b.lt;c@d.lt",
    "Vilnius",
    "UTC",
    "user",
    "reseller",
    "admin",
    "whitelist",
    "no",
    "renamed",
    "300",
];

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        10 => select(VALID_LOOKING).prop_map(String::from),
        2 => Just(String::new()),
        2 => any::<String>(),
        2 => "\\PC{1,16}",
        1 => proptest::collection::vec(any::<char>(), 0..12).prop_map(|v| v.into_iter().collect::<String>()),
        1 => (1usize..2500).prop_map(|n| "a".repeat(n)),
        1 => (1usize..300).prop_map(|n| "žš€😀".repeat(n)),
        2 => any::<i64>().prop_map(|n| n.to_string()),
        1 => (-1000i64..1000).prop_map(|n| n.to_string()),
        2 => (any::<i32>(), 0u32..10_000).prop_map(|(a, b)| format!("{a},{b}")),
        1 => (any::<i32>(), 0u32..10_000).prop_map(|(a, b)| format!("{a}.{b}")),
        1 => select(vec![" 1 ", "\t0\n", "1e5", "0x10", "+5", "١٢٣", "1,000.5", "NaN", "--1", "99999999999999999999999"])
            .prop_map(String::from),
    ]
}

fn user_id() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        1 => Just(None),
        6 => select(vec!["0", "123", "789", "200", "201", "202", "300", "301", "0123", "999999"]).prop_map(|s| Some(s.to_string())),
        1 => select(vec!["", "abc", " 123", "-5", "12a", "99999999999999999999999", "1.0"]).prop_map(|s| Some(s.to_string())),
        1 => "[0-9]{1,25}".prop_map(Some),
    ]
}

fn request() -> impl Strategy<Value = Request> {
    (
        select(ACTORS),
        user_id(),
        proptest::collection::vec((name(), value()), 0..10),
        prop_oneof![Just(Variant::Documented), Just(Variant::Mor)],
        any::<bool>(),
        prop_oneof![Just(Transport::Form), Just(Transport::Query), Just(Transport::Json), Just(Transport::Multipart)],
    )
        .prop_map(|(actor, user_id, params, variant, upper_case, transport)| {
            let mut pairs: Vec<(String, String)> = Vec::new();
            if let Some(id) = user_id {
                pairs.push(("user_id".into(), id));
            }
            pairs.extend(params);
            // JSON objects hold each name once: keep the last occurrence, as the server would.
            if transport == Transport::Json {
                let mut deduped: Vec<(String, String)> = Vec::new();
                for (n, v) in pairs {
                    deduped.retain(|(m, _)| *m != n);
                    deduped.push((n, v));
                }
                pairs = deduped;
            }
            Request { actor, pairs, variant, upper_case, transport }
        })
}

// ---------------------------------------------------------------------------------------------
// Sending and reading answers.

/// Sends `pairs` plus `u` and `hash` by the request's transport; fails the case on a hang.
async fn send(app: &TestApp, req: &Request, u: &str, hash: &str) -> Result<Reply, TestCaseError> {
    let mut all: Vec<(&str, &str)> = req.pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    all.push(("u", u));
    all.push(("hash", hash));
    let url = format!("{}{UPDATE}", app.base);
    let fut = async {
        match req.transport {
            Transport::Form => app.post_form(UPDATE, &all).await,
            Transport::Query => app.post(&format!("{UPDATE}?{}", form(&all))).await,
            Transport::Json => {
                let object: serde_json::Map<String, serde_json::Value> =
                    all.iter().map(|(n, v)| (n.to_string(), serde_json::Value::String(v.to_string()))).collect();
                let body = serde_json::Value::Object(object).to_string();
                app.post_raw(UPDATE, "application/json", body).await
            }
            Transport::Multipart => {
                let mut f = reqwest::multipart::Form::new();
                for (n, v) in &all {
                    f = f.text(n.to_string(), v.to_string());
                }
                TestApp::reply(app.client.post(&url).multipart(f).send().await.expect("request")).await
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(30), fut)
        .await
        .map_err(|_| TestCaseError::fail("the server did not answer within 30 s"))
}

const DECLARATION: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
const STATUS_ERRORS: &[&str] =
    &["API Requests are disabled", "GET Requests are disabled", "Incorrect hash", "API must have Secret Key"];
const PAGE_ERRORS: &[&str] = &[
    "Access Denied",
    "User was not found",
    "You have no editing permission",
    "Tariff not found",
    "PBX Pool was not found",
    "LCR was not found",
    "Responsible accountant is not valid",
    "Quickforward Rule was not found",
    "User was not updated",
];

/// A known answer document.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Doc {
    Updated,
    Status(String),
    Page(String, Vec<String>),
}

/// Text content must be escaped: no raw `<`, `>` and `&` only as one of the three entities.
fn escaped_text_ok(t: &str) -> bool {
    if t.contains('<') || t.contains('>') {
        return false;
    }
    let mut rest = t;
    while let Some(i) = rest.find('&') {
        rest = &rest[i..];
        if !["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"].iter().any(|e| rest.starts_with(e)) {
            return false;
        }
        rest = &rest[1..];
    }
    true
}

fn classify(body: &str) -> Result<Doc, String> {
    let rest = body.strip_prefix(DECLARATION).ok_or("no XML declaration line")?;
    if rest == "<page>\n  <status>User was updated</status>\n</page>\n" {
        return Ok(Doc::Updated);
    }
    if let Some(inner) = rest.strip_prefix("<status>\n  <error>") {
        let error = inner.strip_suffix("</error>\n</status>\n").ok_or("malformed <status> document")?;
        if !STATUS_ERRORS.contains(&error) {
            return Err(format!("unknown <status> error {error:?}"));
        }
        return Ok(Doc::Status(error.into()));
    }
    let inner = rest.strip_prefix("<page>\n  <error>").ok_or("root is neither <page> nor <status>")?;
    let (error, mut rest) = inner.split_once("</error>\n").ok_or("unterminated <error>")?;
    if !PAGE_ERRORS.contains(&error) {
        return Err(format!("unknown <page> error {error:?}"));
    }
    let mut messages = Vec::new();
    while let Some(m) = rest.strip_prefix("  <message>") {
        let (text, after) = m.split_once("</message>\n").ok_or("unterminated <message>")?;
        if text.is_empty() || !escaped_text_ok(text) {
            return Err(format!("badly escaped or empty message {text:?}"));
        }
        messages.push(text.to_string());
        rest = after;
    }
    if rest != "</page>\n" {
        return Err(format!("unexpected content after the messages: {rest:?}"));
    }
    Ok(Doc::Page(error.into(), messages))
}

/// Characters XML 1.0 allows in a document.
fn xml_char(c: char) -> bool {
    matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

fn hex40() -> impl Strategy<Value = String> {
    "[0-9a-fA-F]{40}"
}

// ---------------------------------------------------------------------------------------------
// (a) Every answer is a known document; errors change nothing.

/// Sends a correctly signed request and checks the document; returns whether the case changed
/// the database (answered `User was updated`).
async fn known_document_and_no_change_on_error(app: &TestApp, req: Request) -> Result<bool, TestCaseError> {
    let mut hash = independent_hash(&req.pairs, req.actor.key, req.variant);
    if req.upper_case {
        hash = hash.to_uppercase();
    }
    let before = app.state().await;
    let reply = send(app, &req, req.actor.username, &hash).await?;
    prop_assert_eq!(reply.status, 200, "body {}", reply.body);
    prop_assert_eq!(&reply.content_type, "text/xml; charset=utf-8");
    let doc = classify(&reply.body).map_err(|e| TestCaseError::fail(format!("{e}: {}", reply.body)))?;
    prop_assert_ne!(&doc, &Doc::Status("Incorrect hash".into()), "a correctly signed request");
    if doc == Doc::Updated {
        return Ok(true);
    }
    prop_assert_eq!(app.state().await, before, "answered {:?} but the database changed", doc);
    Ok(false)
}

#[test]
fn every_answer_is_a_known_document_and_errors_change_nothing() {
    check(64, request(), known_document_and_no_change_on_error);
}

/// Biased towards one valid catalogue parameter on a visible target, so that the `User was
/// updated` path is taken often too.
fn mostly_valid_request() -> impl Strategy<Value = Request> {
    (
        select(vec!["123", "789", "200"]),
        proptest::collection::vec(
            (select(catalogue_names()).prop_map(String::from), select(VALID_LOOKING).prop_map(String::from)),
            1..3,
        ),
        prop_oneof![Just(Variant::Documented), Just(Variant::Mor)],
        prop_oneof![Just(Transport::Form), Just(Transport::Query), Just(Transport::Json), Just(Transport::Multipart)],
    )
        .prop_map(|(id, params, variant, transport)| {
            let mut pairs = vec![("user_id".to_string(), id.to_string())];
            for (n, v) in params {
                pairs.retain(|(m, _)| *m != n);
                pairs.push((n, v));
            }
            Request { actor: ACTORS[0], pairs, variant, upper_case: false, transport }
        })
}

#[test]
fn mostly_valid_admin_requests_are_known_documents_and_errors_change_nothing() {
    check(64, mostly_valid_request(), known_document_and_no_change_on_error);
}

/// Documents must be well-formed XML 1.0: values echoed in messages may not carry characters
/// XML forbids (control characters), or a client's XML parser rejects the whole answer.
async fn only_xml_characters(app: &TestApp, req: Request) -> Result<bool, TestCaseError> {
    let hash = independent_hash(&req.pairs, req.actor.key, req.variant);
    let reply = send(app, &req, req.actor.username, &hash).await?;
    let bad: Vec<char> = reply.body.chars().filter(|c| !xml_char(*c)).collect();
    prop_assert!(bad.is_empty(), "characters XML 1.0 forbids {:?} in {:?}", bad, reply.body);
    Ok(classify(&reply.body).is_ok_and(|d| d == Doc::Updated))
}

fn control_character_request() -> impl Strategy<Value = Request> {
    (
        select(vec!["u2", "u6", "u18", "credit", "u15", "time_zone", "u4", "u5", "by"]),
        ("[a-z0-9]{0,3}", proptest::char::range('\u{0}', '\u{1F}'), "[a-z0-9]{0,3}"),
    )
        .prop_map(|(name, (a, c, b))| Request {
            actor: ACTORS[0],
            pairs: vec![("user_id".into(), "123".into()), (name.to_string(), format!("{a}{c}{b}"))],
            variant: Variant::Documented,
            upper_case: false,
            transport: Transport::Form,
        })
        .prop_filter("not plain whitespace", |r| r.pairs[1].1.chars().any(|c| !xml_char(c)))
}

#[test]
fn answers_are_well_formed_xml_even_for_control_characters() {
    check(32, control_character_request(), only_xml_characters);
}

// ---------------------------------------------------------------------------------------------
// (b) Hash acceptance agrees with the independent computation.

/// A correctly signed request (either variant, any hex case) is never `Incorrect hash`; a random
/// wrong 40-hex hash, a hash of another length and the right hash with the wrong key always are.
async fn hash_acceptance(app: &TestApp, (req, wrong, short): (Request, String, String)) -> Result<bool, TestCaseError> {
    let incorrect = status_error("Incorrect hash");
    let candidates: Vec<String> = {
        let mut keys = vec![req.actor.key];
        if req.actor.username == "reseller" {
            keys = vec![RESELLER_KEY, ADMIN_KEY];
        }
        keys.iter()
            .flat_map(|k| [Variant::Documented, Variant::Mor].map(|v| independent_hash(&req.pairs, k, v)))
            .collect()
    };
    prop_assume!(!candidates.contains(&wrong.to_lowercase()));

    let mut good = independent_hash(&req.pairs, req.actor.key, req.variant);
    if req.upper_case {
        good = good.to_uppercase();
    }
    let right = send(app, &req, req.actor.username, &good).await?;
    prop_assert_ne!(&right.body, &incorrect, "independent hash {} refused", good);
    prop_assert_ne!(&right.body, &status_error("API must have Secret Key"));

    let changed = right.body == updated();
    let before = app.state().await;
    let refused = send(app, &req, req.actor.username, &wrong).await?;
    prop_assert_eq!(&refused.body, &incorrect, "random hash {} accepted", wrong);
    let other_length = send(app, &req, req.actor.username, &short).await?;
    prop_assert_eq!(&other_length.body, &incorrect, "hash of length {} accepted", short.len());
    let wrong_key = independent_hash(&req.pairs, "not-the-key", req.variant);
    let with_wrong_key = send(app, &req, req.actor.username, &wrong_key).await?;
    prop_assert_eq!(&with_wrong_key.body, &incorrect, "hash with a wrong key accepted");
    // The right hash for an unknown username is refused too (usernames are not revealed).
    let unknown = send(app, &req, "nobody-here", &good).await?;
    prop_assert_eq!(&unknown.body, &incorrect, "unknown user accepted");
    // Refused hashes write only their audit row, never a change.
    prop_assert_eq!(app.state().await, before);
    Ok(changed)
}

fn wrong_length_hex() -> impl Strategy<Value = String> {
    prop_oneof!["[0-9a-f]{0,39}", "[0-9a-f]{41,80}"]
}

#[test]
fn hash_acceptance_agrees_with_the_independent_computation() {
    check(64, (request(), hex40(), wrong_length_hex()), hash_acceptance);
}

/// `u` names the account whose username equals it exactly (docs/contract.md §3): another spelling
/// (case, surrounding spaces) is an unknown user, answered `Incorrect hash` even with the hash
/// that would be right for the real account.
async fn only_the_exact_username_authenticates(
    app: &TestApp,
    (req, spelling): (Request, usize),
) -> Result<bool, TestCaseError> {
    let name = req.actor.username;
    let variant = match spelling {
        0 => format!("{name} "),
        1 => format!(" {name}"),
        2 => name.to_uppercase(),
        3 => format!("{}{}", name[..1].to_uppercase(), &name[1..]),
        _ => format!("{name}\t"),
    };
    let hash = independent_hash(&req.pairs, req.actor.key, req.variant);
    let before = app.state().await;
    let reply = send(app, &req, &variant, &hash).await?;
    prop_assert_eq!(&reply.body, &status_error("Incorrect hash"), "u={:?} was accepted", variant);
    prop_assert_eq!(app.state().await, before);
    Ok(false)
}

#[test]
fn only_the_exact_username_authenticates_the_caller() {
    check(24, (request(), 0usize..5), only_the_exact_username_authenticates);
}

// ---------------------------------------------------------------------------------------------
// (c) Every change leaves its audit row; every audit row is a change.

/// Catalogue parameters whose column may hold NULL, sent alone (dates go in three parts and
/// are never NULL or empty once sent: they are left to the other generators).
fn nullable_names() -> Vec<&'static str> {
    PARAMS
        .iter()
        .filter(|p| p.kind != Kind::DatePart)
        .filter(|p| {
            let (table, col) = match p.target {
                Target::User(c) | Target::Derived(c) => ("users", c),
                Target::Address(c) => ("addresses", c),
                Target::Tax(c) => ("taxes", c),
                Target::None => return false,
            };
            schema::column(table, col).is_some_and(|c| c.nullable)
        })
        .map(|p| p.name)
        .collect()
}

/// Requests aimed at nullable columns, mostly with empty values, by the admin and by the
/// reseller on users they may change: NULL → '' (the demo's unset comments) and '' → NULL (the
/// demo's empty e-mail of bob, 202).
fn nullable_request() -> impl Strategy<Value = Request> {
    (
        prop_oneof![
            2 => (Just(ACTORS[0]), select(vec!["0", "123", "789", "200", "300"])),
            1 => (Just(ACTORS[1]), select(vec!["201", "202"])),
        ],
        proptest::collection::vec(
            (
                select(nullable_names()).prop_map(String::from),
                prop_oneof![3 => Just(String::new()), 1 => select(VALID_LOOKING).prop_map(String::from), 1 => value()],
            ),
            1..3,
        ),
        prop_oneof![Just(Transport::Form), Just(Transport::Query), Just(Transport::Json), Just(Transport::Multipart)],
    )
        .prop_map(|((actor, id), params, transport)| {
            let mut pairs = vec![("user_id".to_string(), id.to_string())];
            for (n, v) in params {
                pairs.retain(|(m, _)| *m != n);
                pairs.push((n, v));
            }
            Request { actor, pairs, variant: Variant::Documented, upper_case: false, transport }
        })
}

/// A change as the audit trail names it: target user, field (`users` column,
/// `addresses.COLUMN`, `taxes.COLUMN`), old and new value (`None`: NULL).
type Changed = (i64, String, Option<String>, Option<String>);

/// A value as compared: NULL apart from '', decimals by number (10.50 is no change from 10.5,
/// and an engine may read back more places than were written).
fn compared(table: &str, col: &str, v: Option<String>) -> Option<String> {
    match schema::column_type(table, col) {
        Some(Ty::Decimal) => v.map(|s| Decimal::from_str(&s).map_or(s, |d| d.normalize().to_string())),
        _ => v,
    }
}

fn column(row: &Row, col: &str) -> Option<String> {
    row.get(col).filter(|v| **v != Value::Null).map(Value::render)
}

/// The changes from `before` to `after` of one row of `table`, belonging to user `target`.
fn row_changes(out: &mut Vec<Changed>, target: i64, table: &str, before: &Row, after: &Row) {
    for col in after.keys() {
        // Row ids, and the links to address and tax rows, whose own fields are audited instead.
        if matches!(col.as_str(), "id" | "address_id" | "tax_id") {
            continue;
        }
        let (old, new) = (compared(table, col, column(before, col)), compared(table, col, column(after, col)));
        if old == new {
            continue;
        }
        let field = if table == "users" { col.clone() } else { format!("{table}.{col}") };
        if col == "password" {
            out.push((target, field, Some(String::new()), Some("changed".into())));
        } else {
            out.push((target, field, old, new));
        }
    }
}

/// Every change between two snapshots, sorted. An address or tax row that appeared is compared
/// with a fresh row, as the update's audit compares it.
async fn changes_between(
    app: &TestApp,
    before: &BTreeMap<i64, UserRows>,
    after: &BTreeMap<i64, UserRows>,
) -> Vec<Changed> {
    let mut out = Vec::new();
    for (id, now) in after {
        let Some(was) = before.get(id) else { panic!("user {id} appeared") };
        row_changes(&mut out, *id, "users", &was.user, &now.user);
        for (table, old, new) in [(Table::Addresses, &was.address, &now.address), (Table::Taxes, &was.tax, &now.tax)] {
            let Some(new) = new else { continue };
            let old = match old {
                Some(old) if old.get("id") == new.get("id") => old.clone(),
                _ => app.fresh_row(table).await,
            };
            row_changes(&mut out, *id, table.name(), &old, new);
        }
    }
    out.sort();
    out
}

/// Sends a correctly signed request and checks that the rows it changed are exactly the change
/// audit rows carrying its request id.
async fn changes_equal_audit_rows(app: &TestApp, req: Request) -> Result<bool, TestCaseError> {
    let hash = independent_hash(&req.pairs, req.actor.key, req.variant);
    let before = app.user_rows().await;
    let reply = send(app, &req, req.actor.username, &hash).await?;
    prop_assert!(!reply.request_id.is_empty(), "no x-request-id");
    let after = app.user_rows().await;
    let changed = changes_between(app, &before, &after).await;
    let mut audited: Vec<Changed> = app
        .audit()
        .await
        .into_iter()
        .filter(|e| e.event == AuditEvent::Change && e.request_id == reply.request_id)
        .map(|e| {
            let (table, col) = e.field.split_once('.').unwrap_or(("users", e.field.as_str()));
            let (old, new) = (compared(table, col, e.old_value.clone()), compared(table, col, e.new_value.clone()));
            (e.target_id.unwrap_or(-1), e.field.clone(), old, new)
        })
        .collect();
    audited.sort();
    prop_assert_eq!(&audited, &changed, "audit rows (left) against changed rows (right); answer {}", reply.body);
    Ok(before != after)
}

#[test]
fn every_change_leaves_its_audit_row_and_every_audit_row_is_a_change() {
    let requests = prop_oneof![1 => request(), 1 => mostly_valid_request(), 3 => nullable_request()];
    check(64, requests, changes_equal_audit_rows);
}

#[test]
fn the_nullable_generator_covers_the_comment_and_the_email() {
    let names = nullable_names();
    for name in ["u33", "a8"] {
        assert!(names.contains(&name), "{name} in {names:?}");
    }
}
