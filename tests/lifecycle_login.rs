//! `users_get`, `user_login` and `user_logout` over HTTP against the real server (lifecycle
//! contract §3, §5, §6): the vectors G1–G7, L1–L7, O1–O4; unknown names answered byte for byte
//! like wrong passwords; no password in any audit row or log line; one lockout across both
//! credential methods, forgiven by a successful login; login by e-mail. Runs on every engine
//! (`MORAPI_TEST_DATABASE`).

mod common;

use common::*;
use morapi::auth::hash::{Coverage, Variant, sign_covering};
use morapi::params::Params;
use morapi::storage::{AuditEntry, AuditEvent};

const USERS_GET: &str = "/billing/api/users_get";
const USER_LOGIN: &str = "/billing/api/user_login";
const LOGIN: &str = "/billing/api/login";
const LOGOUT: &str = "/billing/api/logout";
const USER_LOGOUT: &str = "/api/user_logout";
const DECL: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

/// The hash of `users_get` and `user_login`: `u`, `p`, then the key.
fn credential_hash(u: &str, p: &str, key: &str) -> String {
    sign_covering(&Params::from_pairs([("u", u), ("p", p)]), key, Variant::Documented, Coverage::Credentials)
}

/// A signed `users_get` or `user_login` with the password `p`.
async fn with_password(app: &TestApp, path: &str, u: &str, p: &str, key: &str) -> Reply {
    let hash = credential_hash(u, p, key);
    app.post_form(path, &[("u", u), ("p", p), ("hash", &hash)]).await
}

/// One user of `users_get`'s answer: id, username, first and last name, LCR, tariff, owner,
/// type (balance 0.0, not blocked, not hidden, as every demo user).
type Listed<'a> = (i64, &'a str, &'a str, &'a str, i64, i64, i64, &'a str);

const JOHN: Listed = (123, "john", "John", "Smith", 1, 1, 0, "user");
const RESELLER: Listed = (200, "reseller", "Richard", "Reseller", 3, 5, 0, "reseller");
const ALICE: Listed = (201, "alice", "Alice", "Brown", 3, 4, 200, "user");
const BOB: Listed = (202, "bob", "Bob", "Green", 3, 4, 200, "user");
const ACCOUNTANT: Listed = (300, "accountant", "Anna", "Accountant", 0, 0, 0, "accountant");
const VIEWER: Listed = (301, "viewer", "Victor", "Viewer", 0, 0, 0, "accountant");
const JANE: Listed = (789, "jane", "Jane", "Doe", 1, 2, 0, "user");

/// `users_get`'s document listing `users`, laid out as the contract's G2.
fn users_doc(users: &[Listed]) -> String {
    let mut s = format!("{DECL}<page>\n  <status>\n    <users>\n");
    for (id, username, first, last, lcr, tariff, owner, usertype) in users {
        s.push_str("      <user>\n");
        for (name, value) in [
            ("id", id.to_string()),
            ("username", username.to_string()),
            ("first_name", first.to_string()),
            ("last_name", last.to_string()),
            ("balance", "0.0".to_string()),
            ("blocked", "0".to_string()),
            ("lcr_id", lcr.to_string()),
            ("tariff_id", tariff.to_string()),
            ("owner_id", owner.to_string()),
            ("usertype", usertype.to_string()),
            ("hidden", "0".to_string()),
        ] {
            s.push_str(&format!("        <{name}>{value}</{name}>\n"));
        }
        s.push_str("      </user>\n");
    }
    s.push_str("    </users>\n  </status>\n</page>\n");
    s
}

fn page_status_error(error: &str) -> String {
    format!("{DECL}<page>\n  <status>\n    <error>{error}</error>\n  </status>\n</page>\n")
}

fn login_ok(user_id: i64) -> String {
    format!(
        "{DECL}<action>\n  <name>login</name>\n  <status>ok</status>\n  <user_id>{user_id}</user_id>\n  \
         <status_message>Successfully logged in</status_message>\n</action>\n"
    )
}

fn login_failed_with(message: &str) -> String {
    format!(
        "{DECL}<action>\n  <name>login</name>\n  <status>failed</status>\n  \
         <status_message>{message}</status_message>\n</action>\n"
    )
}

fn login_failed() -> String {
    login_failed_with("Login failed")
}

fn logout_doc(status: &str) -> String {
    format!("{DECL}<action>\n  <name>logout</name>\n  <status>{status}</status>\n</action>\n")
}

/// The seconds of a lock's answer (`Please wait N seconds …`).
fn wait_seconds(body: &str) -> Option<i64> {
    body.split("Please wait ").nth(1)?.split(' ').next()?.parse().ok()
}

fn events(audit: &[AuditEntry], event: AuditEvent) -> Vec<AuditEntry> {
    audit.iter().filter(|e| e.event == event).cloned().collect()
}

// --- users_get ---

#[tokio::test]
async fn g1_the_admin_lists_every_user_but_himself() {
    let app = TestApp::spawn().await;
    assert_eq!(credential_hash("admin", "Admin1234", ADMIN_KEY), "6ff40f671a3d7af005c3c6f9199485ccc48a22ed");
    let r = app
        .post_form(
            USERS_GET,
            &[("u", "admin"), ("p", "Admin1234"), ("hash", "6ff40f671a3d7af005c3c6f9199485ccc48a22ed")],
        )
        .await;
    assert_eq!((r.status, r.content_type.as_str()), (200, "text/xml; charset=utf-8"));
    assert_eq!(r.body, users_doc(&[JOHN, RESELLER, ALICE, BOB, ACCOUNTANT, VIEWER, JANE]));
    assert!(app.audit().await.is_empty(), "a successful users_get writes nothing");
}

#[tokio::test]
async fn g2_a_reseller_lists_his_users() {
    let app = TestApp::spawn().await;
    let hash = "bcd550a4f19d7537d673be544ff78ba4aa597b45";
    assert_eq!(credential_hash("reseller", "Reseller123", RESELLER_KEY), hash);
    let r = app.post_form(USERS_GET, &[("u", "reseller"), ("p", "Reseller123"), ("hash", hash)]).await;
    assert_eq!(r.body, users_doc(&[ALICE, BOB]));
}

#[tokio::test]
async fn g3_a_wrong_password_is_access_denied_counted_and_audited() {
    let app = TestApp::spawn().await;
    let hash = "e0ff44b23ce48bdd27f39859590e5e99cacaef6e";
    assert_eq!(credential_hash("admin", "wrong", ADMIN_KEY), hash);
    let r = app.post_form(USERS_GET, &[("u", "admin"), ("p", "wrong"), ("hash", hash)]).await;
    assert_eq!(r.body, page_status_error("Access Denied"));
    let audit = app.audit().await;
    assert_eq!(audit.len(), 1, "{audit:?}");
    let row = &audit[0];
    assert_eq!(row.event, AuditEvent::LoginFailed);
    assert_eq!((row.actor_username.as_str(), row.actor_id, row.target_id), ("admin", Some(0), Some(0)));
    assert_eq!((row.endpoint.as_str(), row.new_value.as_deref()), ("users_get", Some("password")));
    assert_eq!(row.request_id, r.request_id);
    assert_eq!(app.refusals_of("admin").await[0].count, 1);
}

#[tokio::test]
async fn g4_a_simple_user_is_denied_without_an_audit_row() {
    let app = TestApp::spawn().await;
    let hash = "9480bc78c47fc6d6a777e7bd35d8e7860ffb2bf9";
    assert_eq!(credential_hash("john", "John12345", ADMIN_KEY), hash);
    let r = app.post_form(USERS_GET, &[("u", "john"), ("p", "John12345"), ("hash", hash)]).await;
    assert_eq!(r.body, page_status_error("Access Denied"));
    assert!(app.audit().await.is_empty());
    assert!(app.refusals().await.is_empty(), "not a failure");
}

#[tokio::test]
async fn g5_an_accountant_with_view_rights_lists_all_but_admin_and_accountants() {
    let app = TestApp::spawn().await;
    let hash = "9b6bcde52293e7800e68b36d6bba9c27569cd207";
    assert_eq!(credential_hash("viewer", "Viewer123", ADMIN_KEY), hash);
    let r = app.post_form(USERS_GET, &[("u", "viewer"), ("p", "Viewer123"), ("hash", hash)]).await;
    assert_eq!(r.body, users_doc(&[JOHN, RESELLER, ALICE, BOB, JANE]));
    // The accountant with write rights sees the same.
    let r = with_password(&app, USERS_GET, "accountant", "Account123", ADMIN_KEY).await;
    assert_eq!(r.body, users_doc(&[JOHN, RESELLER, ALICE, BOB, JANE]));
    // Without user_manage: not authorized.
    app.sql("DELETE FROM acc_group_rights WHERE acc_group_id = 2").await;
    let r = app.post_form(USERS_GET, &[("u", "viewer"), ("p", "Viewer123"), ("hash", hash)]).await;
    assert_eq!(r.body, page_status_error("You are not authorized to view this page"));
    assert!(app.audit().await.is_empty());
}

#[tokio::test]
async fn g6_the_uniquehash_stands_in_for_the_password() {
    let app = TestApp::spawn().await;
    let hash = "bf5f910da214ef86bca4a79267d37112dda57f86";
    let r = app.post_form(USERS_GET, &[("u", "reseller"), ("uniquehash", "reshash567"), ("hash", hash)]).await;
    assert_eq!(r.body, users_doc(&[ALICE, BOB]));
    // Both sent: both must match.
    let both = credential_hash("reseller", "Reseller123", RESELLER_KEY);
    let pairs = |uniquehash| [("u", "reseller"), ("p", "Reseller123"), ("uniquehash", uniquehash), ("hash", &both)];
    assert_eq!(app.post_form(USERS_GET, &pairs("reshash567")).await.body, users_doc(&[ALICE, BOB]));
    assert_eq!(app.post_form(USERS_GET, &pairs("reshash568")).await.body, page_status_error("Access Denied"));
    // Another user's uniquehash is wrong too, and so is a case change.
    let r = app.post_form(USERS_GET, &[("u", "reseller"), ("uniquehash", "admhash234"), ("hash", hash)]).await;
    assert_eq!(r.body, page_status_error("Access Denied"));
    let r = app.post_form(USERS_GET, &[("u", "reseller"), ("uniquehash", "RESHASH567"), ("hash", hash)]).await;
    assert_eq!(r.body, page_status_error("Access Denied"));
    let failed = events(&app.audit().await, AuditEvent::LoginFailed);
    let reasons: Vec<_> = failed.iter().map(|e| e.new_value.as_deref().unwrap_or_default()).collect();
    assert_eq!(reasons, ["uniquehash", "uniquehash", "uniquehash"]);
    assert!(failed.iter().all(|e| e.actor_id == Some(200)));
}

#[tokio::test]
async fn no_credential_at_all_is_denied_and_not_counted() {
    let app = TestApp::spawn().await;
    let hash = credential_hash("admin", "", ADMIN_KEY);
    for pairs in
        [vec![("u", "admin"), ("hash", &hash)], vec![("u", "admin"), ("p", ""), ("uniquehash", ""), ("hash", &hash)]]
    {
        assert_eq!(app.post_form(USERS_GET, &pairs).await.body, page_status_error("Access Denied"));
    }
    let nobody = credential_hash("nosuch", "", ADMIN_KEY);
    let r = app.post_form(USERS_GET, &[("u", "nosuch"), ("hash", &nobody)]).await;
    assert_eq!(r.body, page_status_error("Access Denied"));
    assert!(app.audit().await.is_empty());
    assert!(app.refusals().await.is_empty());
}

#[tokio::test]
async fn the_list_shows_balances_as_mor_prints_them_hidden_and_blocked_users_and_unset_ids() {
    let app = TestApp::spawn().await;
    app.sql(
        "UPDATE users SET balance = 12.5, hidden = 1 WHERE id = 201; \
         UPDATE users SET balance = -3.25, blocked = 1, lcr_id = NULL, tariff_id = NULL WHERE id = 202",
    )
    .await;
    let r = with_password(&app, USERS_GET, "reseller", "Reseller123", RESELLER_KEY).await;
    assert!(r.body.contains("<id>201</id>\n        <username>alice</username>"), "{}", r.body);
    let alice = r.body.split("<id>201</id>").nth(1).and_then(|s| s.split("</user>").next()).unwrap_or_default();
    assert!(alice.contains("<balance>12.5</balance>") && alice.contains("<hidden>1</hidden>"), "{alice}");
    let bob = r.body.split("<id>202</id>").nth(1).and_then(|s| s.split("</user>").next()).unwrap_or_default();
    for element in
        ["<balance>-3.25</balance>", "<blocked>1</blocked>", "<lcr_id>0</lcr_id>", "<tariff_id>0</tariff_id>"]
    {
        assert!(bob.contains(element), "{element} in {bob}");
    }
    // A blocked reseller is served.
    app.sql("UPDATE users SET blocked = 1 WHERE id = 200").await;
    let r = with_password(&app, USERS_GET, "reseller", "Reseller123", RESELLER_KEY).await;
    assert!(r.body.contains("<users>"), "{}", r.body);
}

#[tokio::test]
async fn a_reseller_without_users_finds_none() {
    let app = TestApp::spawn().await;
    app.sql("UPDATE users SET owner_id = 0 WHERE owner_id = 200").await;
    let r = with_password(&app, USERS_GET, "reseller", "Reseller123", RESELLER_KEY).await;
    assert_eq!(r.body, page_status_error("No Users found"));
}

#[tokio::test]
async fn g7_five_wrong_passwords_lock_users_get() {
    let app = TestApp::spawn().await;
    for i in 1..=5 {
        let r = with_password(&app, USERS_GET, "admin", "wrong", ADMIN_KEY).await;
        assert_eq!(r.body, page_status_error("Access Denied"), "attempt {i}");
    }
    let lockouts = events(&app.audit().await, AuditEvent::Lockout);
    assert_eq!(lockouts.len(), 1, "{lockouts:?}");
    assert_eq!((lockouts[0].actor_username.as_str(), lockouts[0].field.as_str()), ("admin", "5"));
    let r = with_password(&app, USERS_GET, "admin", "Admin1234", ADMIN_KEY).await;
    let seconds = wait_seconds(&r.body).unwrap_or_else(|| panic!("locked: {}", r.body));
    assert!((1..=900).contains(&seconds), "{seconds}");
    assert_eq!(r.body, status_error(&format!("Please wait {seconds} seconds before trying again")));
    assert_eq!(app.refusals_of("admin").await[0].count, 5, "not counted while locked");
}

// --- user_login ---

#[tokio::test]
async fn l1_the_admin_logs_in() {
    let app = TestApp::spawn().await;
    let r = app
        .post_form(
            USER_LOGIN,
            &[("u", "admin"), ("p", "Admin1234"), ("hash", "6ff40f671a3d7af005c3c6f9199485ccc48a22ed")],
        )
        .await;
    assert_eq!((r.status, r.body.as_str()), (200, login_ok(0).as_str()));
    let audit = app.audit().await;
    assert_eq!(audit.len(), 1, "{audit:?}");
    let row = &audit[0];
    assert_eq!(row.event, AuditEvent::Login);
    assert_eq!((row.actor_username.as_str(), row.actor_id, row.target_id), ("admin", Some(0), Some(0)));
    assert_eq!((row.endpoint.as_str(), row.signed_with.as_str()), ("user_login", "current:0"));
    assert_eq!((row.old_value.as_deref(), row.new_value.as_deref()), (None, None));
}

#[tokio::test]
async fn l2_john_logs_in_through_the_alias() {
    let app = TestApp::spawn().await;
    let r = app
        .post_form(LOGIN, &[("u", "john"), ("p", "John12345"), ("hash", "9480bc78c47fc6d6a777e7bd35d8e7860ffb2bf9")])
        .await;
    assert_eq!(r.body, login_ok(123));
    let audit = app.audit().await;
    assert_eq!(
        (audit[0].event, audit[0].actor_id, audit[0].endpoint.as_str()),
        (AuditEvent::Login, Some(123), "login")
    );
    // Under /api as well.
    assert_eq!(with_password(&app, "/api/user_login", "john", "John12345", ADMIN_KEY).await.body, login_ok(123));
}

#[tokio::test]
async fn l3_l4_a_wrong_password_and_an_unknown_user_fail_alike() {
    let app = TestApp::spawn().await;
    let l3 = "76e75f71d4edf285c0250b3ba6fe7e48215b7ca3";
    let l4 = "e77ff9855fe3cbd5b9b7123c5eea3c48c821a8b1";
    assert_eq!(credential_hash("john", "wrong1", ADMIN_KEY), l3);
    assert_eq!(credential_hash("nosuch", "Whatever1", ADMIN_KEY), l4);
    let wrong = app.post_form(USER_LOGIN, &[("u", "john"), ("p", "wrong1"), ("hash", l3)]).await;
    let unknown = app.post_form(USER_LOGIN, &[("u", "nosuch"), ("p", "Whatever1"), ("hash", l4)]).await;
    assert_eq!(wrong.body, login_failed());
    assert_eq!(
        (unknown.status, &unknown.content_type, &unknown.body),
        (wrong.status, &wrong.content_type, &wrong.body)
    );
    let failed = events(&app.audit().await, AuditEvent::LoginFailed);
    assert_eq!(failed.len(), 2, "{failed:?}");
    let (w, u) = (&failed[0], &failed[1]);
    assert_eq!((w.actor_username.as_str(), w.actor_id, w.new_value.as_deref()), ("john", Some(123), Some("password")));
    assert_eq!((u.actor_username.as_str(), u.actor_id, u.new_value.as_deref()), ("nosuch", None, Some("unknown")));
    // Apart from who and why, the rows say the same.
    let same = |e: &AuditEntry| (e.field.clone(), e.old_value.clone(), e.signed_with.clone(), e.endpoint.clone());
    assert_eq!(same(w), same(u));
    assert_eq!((app.refusals_of("john").await[0].count, app.refusals_of("nosuch").await[0].count), (1, 1));
}

#[tokio::test]
async fn unknown_and_wrong_answer_byte_for_byte_alike_in_both_methods() {
    let app = TestApp::spawn().await;
    for path in [USERS_GET, USER_LOGIN] {
        let wrong = with_password(&app, path, "admin", "Wrong-1", ADMIN_KEY).await;
        let unknown = with_password(&app, path, "nobody-here", "Wrong-1", ADMIN_KEY).await;
        // A user without a stored password answers alike too.
        let no_password = with_password(&app, path, "jane", "Wrong-1", ADMIN_KEY).await;
        for other in [&unknown, &no_password] {
            assert_eq!(
                (other.status, &other.content_type, &other.body),
                (wrong.status, &wrong.content_type, &wrong.body)
            );
        }
        // Missing `p` at login: a failure like any other.
        if path == USER_LOGIN {
            let hash = sign_covering(
                &Params::from_pairs([("u", "john")]),
                ADMIN_KEY,
                Variant::Documented,
                Coverage::Credentials,
            );
            let r = app.post_form(path, &[("u", "john"), ("hash", &hash)]).await;
            assert_eq!(r.body, wrong.body);
        }
    }
    let reasons: Vec<_> = events(&app.audit().await, AuditEvent::LoginFailed)
        .iter()
        .map(|e| e.new_value.clone().unwrap_or_default())
        .collect();
    assert_eq!(reasons, ["password", "unknown", "password", "password", "unknown", "password", "password"]);
}

#[tokio::test]
async fn l5_the_hash_is_required_unless_checking_is_off() {
    let app = TestApp::spawn().await;
    let r = app.post_form(LOGIN, &[("u", "john"), ("p", "John12345")]).await;
    assert_eq!(r.body, status_error("Incorrect hash"));
    app.set_setting(0, "api_disable_hash_checking", "1").await;
    let r = app.post_form(LOGIN, &[("u", "john"), ("p", "John12345")]).await;
    assert_eq!(r.body, login_ok(123));
    // Unknown users still fail alike without a hash.
    let wrong = app.post_form(LOGIN, &[("u", "john"), ("p", "nope")]).await;
    let unknown = app.post_form(LOGIN, &[("u", "nosuch"), ("p", "nope")]).await;
    assert_eq!((wrong.body.as_str(), unknown.body.as_str()), (login_failed().as_str(), login_failed().as_str()));
    let r = app.post_form(USERS_GET, &[("u", "admin"), ("p", "Admin1234")]).await;
    assert!(r.body.contains("<users>"), "{}", r.body);
    // Other parameters never enter the hash.
    app.set_setting(0, "api_disable_hash_checking", "0").await;
    let hash = credential_hash("john", "John12345", ADMIN_KEY);
    let r = app
        .post_form(LOGIN, &[("u", "john"), ("p", "John12345"), ("user_id", "5"), ("email", "x@y.lt"), ("hash", &hash)])
        .await;
    assert_eq!(r.body, login_ok(123));
}

#[tokio::test]
async fn l6_five_failures_lock_the_login_and_the_lock_answers_in_mors_words() {
    let app = TestApp::spawn().await;
    for i in 1..=5 {
        let r = with_password(&app, USER_LOGIN, "john", "wrong1", ADMIN_KEY).await;
        assert_eq!(r.body, login_failed(), "attempt {i}");
    }
    let lockouts = events(&app.audit().await, AuditEvent::Lockout);
    assert_eq!(lockouts.len(), 1, "{lockouts:?}");
    assert_eq!(
        (lockouts[0].actor_username.as_str(), lockouts[0].actor_id, lockouts[0].field.as_str()),
        ("john", Some(123), "5")
    );
    let audit_before = app.audit().await.len();
    let r = with_password(&app, LOGIN, "john", "John12345", ADMIN_KEY).await;
    let seconds = wait_seconds(&r.body).unwrap_or_else(|| panic!("locked: {}", r.body));
    assert!((1..=900).contains(&seconds), "{seconds}");
    assert_eq!(r.body, login_failed_with(&format!("Please wait {seconds} seconds before trying to login again")));
    assert_eq!(app.audit().await.len(), audit_before, "nothing written while locked");
    // Another address is not locked.
    let client =
        reqwest::Client::builder().local_address("127.0.0.2".parse::<std::net::IpAddr>().unwrap()).build().unwrap();
    let hash = credential_hash("john", "John12345", ADMIN_KEY);
    let body = client
        .post(format!("{}{LOGIN}", app.base))
        .form(&[("u", "john"), ("p", "John12345"), ("hash", hash.as_str())])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(body, login_ok(123));
}

#[tokio::test]
async fn l7_a_blocked_user_cannot_log_in() {
    let app = TestApp::spawn().await;
    assert_eq!(app.update(&[("user_id", "123"), ("u15", "1")]).await, updated());
    let r = with_password(&app, LOGIN, "john", "John12345", ADMIN_KEY).await;
    assert_eq!(r.body, login_failed());
    let failed = events(&app.audit().await, AuditEvent::LoginFailed);
    assert_eq!(failed.len(), 1);
    assert_eq!((failed[0].actor_id, failed[0].new_value.as_deref()), (Some(123), Some("blocked")));
    // A wrong password of a blocked user is a wrong password.
    with_password(&app, LOGIN, "john", "nope", ADMIN_KEY).await;
    let failed = events(&app.audit().await, AuditEvent::LoginFailed);
    assert_eq!(failed[1].new_value.as_deref(), Some("password"));
    assert_eq!(app.refusals_of("john").await[0].count, 2);
}

#[tokio::test]
async fn hidden_users_may_log_in_and_reseller_users_sign_with_their_resellers_key() {
    let app = TestApp::spawn().await;
    app.sql("UPDATE users SET hidden = 1 WHERE id = 123").await;
    assert_eq!(with_password(&app, USER_LOGIN, "john", "John12345", ADMIN_KEY).await.body, login_ok(123));
    assert_eq!(with_password(&app, USER_LOGIN, "reseller", "Reseller123", RESELLER_KEY).await.body, login_ok(200));
    // Alice (the reseller's user, no password) signs with the reseller's key and fails as anyone.
    assert_eq!(with_password(&app, USER_LOGIN, "alice", "x", RESELLER_KEY).await.body, login_failed());
}

// --- the lockout across both methods ---

#[tokio::test]
async fn failures_of_users_get_and_user_login_count_for_one_key() {
    let app = TestApp::spawn().await;
    for _ in 0..3 {
        assert_eq!(
            with_password(&app, USERS_GET, "admin", "wrong", ADMIN_KEY).await.body,
            page_status_error("Access Denied")
        );
    }
    for _ in 0..2 {
        assert_eq!(with_password(&app, USER_LOGIN, "admin", "wrong", ADMIN_KEY).await.body, login_failed());
    }
    assert_eq!(events(&app.audit().await, AuditEvent::Lockout).len(), 1);
    let login = with_password(&app, USER_LOGIN, "admin", "Admin1234", ADMIN_KEY).await;
    assert!(login.body.contains("before trying to login again"), "{}", login.body);
    let list = with_password(&app, USERS_GET, "admin", "Admin1234", ADMIN_KEY).await;
    assert!(wait_seconds(&list.body).is_some() && list.body.contains("<status>"), "{}", list.body);
    // The other methods are locked for the key too.
    let update = app.update(&[("user_id", "123"), ("u15", "1")]).await;
    assert!(wait_seconds(&update).is_some(), "{update}");
}

#[tokio::test]
async fn a_successful_login_forgives_the_keys_failures() {
    let app = TestApp::spawn().await;
    for _ in 0..4 {
        with_password(&app, USER_LOGIN, "john", "wrong1", ADMIN_KEY).await;
    }
    assert_eq!(with_password(&app, USER_LOGIN, "john", "John12345", ADMIN_KEY).await.body, login_ok(123));
    for i in 0..4 {
        let r = with_password(&app, USERS_GET, "john", "wrong1", ADMIN_KEY).await;
        assert_eq!(r.body, page_status_error("Access Denied"), "failure {i} after the login");
    }
    assert!(events(&app.audit().await, AuditEvent::Lockout).is_empty());
    assert_eq!(with_password(&app, USER_LOGIN, "john", "John12345", ADMIN_KEY).await.body, login_ok(123));
    // A successful users_get forgives nothing: four failures, a list, one more failure lock.
    for _ in 0..4 {
        with_password(&app, USER_LOGIN, "admin", "wrong", ADMIN_KEY).await;
    }
    assert!(with_password(&app, USERS_GET, "admin", "Admin1234", ADMIN_KEY).await.body.contains("<users>"));
    with_password(&app, USER_LOGIN, "admin", "wrong", ADMIN_KEY).await;
    let r = with_password(&app, USER_LOGIN, "admin", "Admin1234", ADMIN_KEY).await;
    assert!(r.body.contains("before trying to login again"), "{}", r.body);
}

// --- allow_login_by_email ---

#[tokio::test]
async fn an_email_logs_in_only_when_allowed_and_when_it_is_one_users() {
    let app = TestApp::spawn().await;
    let email = "john@example.com";
    assert_eq!(with_password(&app, USER_LOGIN, email, "John12345", ADMIN_KEY).await.body, login_failed());
    app.set_setting(0, "allow_login_by_email", "1").await;
    assert_eq!(with_password(&app, USER_LOGIN, email, "John12345", ADMIN_KEY).await.body, login_ok(123));
    // Compared as the e-mail rule compares: ASCII case and spaces do not matter.
    assert_eq!(with_password(&app, USER_LOGIN, " John@Example.COM", "John12345", ADMIN_KEY).await.body, login_ok(123));
    assert_eq!(with_password(&app, USER_LOGIN, email, "wrong1", ADMIN_KEY).await.body, login_failed());
    let audit = app.audit().await;
    let login = &events(&audit, AuditEvent::Login)[0];
    assert_eq!((login.actor_username.as_str(), login.actor_id), ("john", Some(123)));
    let failed = events(&audit, AuditEvent::LoginFailed);
    let last = failed.last().expect("a failure");
    assert_eq!(
        (last.actor_username.as_str(), last.actor_id, last.new_value.as_deref()),
        (email, Some(123), Some("password"))
    );
    // The lockout's name is `u` as sent.
    assert!(!app.refusals_of(email).await.is_empty());
    assert!(app.refusals_of("john").await.is_empty());
    // users_get does not take e-mails.
    let r = with_password(&app, USERS_GET, "reseller@example.com", "Reseller123", ADMIN_KEY).await;
    assert_eq!(r.body, page_status_error("Access Denied"));
    // A username wins over an e-mail; an address shared by two users names nobody.
    app.sql("UPDATE addresses SET email = 'shared@example.com' WHERE id IN (1, 2)").await;
    let r = with_password(&app, USER_LOGIN, "shared@example.com", "John12345", ADMIN_KEY).await;
    assert_eq!(r.body, login_failed());
    let reason = events(&app.audit().await, AuditEvent::LoginFailed).last().and_then(|e| e.new_value.clone());
    assert_eq!(reason.as_deref(), Some("unknown"));
    assert_eq!(with_password(&app, USER_LOGIN, "john", "John12345", ADMIN_KEY).await.body, login_ok(123));
    // One address of a list is enough.
    app.sql("UPDATE addresses SET email = 'a@example.com; work@example.com' WHERE id = 1").await;
    assert_eq!(with_password(&app, USER_LOGIN, "work@example.com", "John12345", ADMIN_KEY).await.body, login_ok(123));
}

// --- user_logout ---

#[tokio::test]
async fn o1_to_o4_logout_is_a_stateless_answer() {
    let app = TestApp::spawn().await;
    let hash = "df2983700ffecb52e6649f0cb3981b66537083a4";
    let o1 = app.post_form(LOGOUT, &[("u", "admin"), ("hash", hash)]).await;
    assert_eq!(o1.body, logout_doc("ok"));
    let o2 = app.post_form(LOGOUT, &[("u", "nosuch"), ("hash", hash)]).await;
    assert_eq!((o2.status, &o2.body), (o1.status, &o1.body));
    assert_eq!(app.post_form(USER_LOGOUT, &[("hash", hash)]).await.body, logout_doc("failed"));
    assert_eq!(app.post_form(LOGOUT, &[("u", ""), ("hash", hash)]).await.body, logout_doc("failed"));
    // `p` is not in the global order: the same hash.
    assert_eq!(app.post_form(LOGOUT, &[("u", "john"), ("p", "anything"), ("hash", hash)]).await.body, logout_doc("ok"));
    assert!(app.audit().await.is_empty(), "nothing audited");
    assert!(app.refusals().await.is_empty());
    let zeros = "0".repeat(40);
    let o4 = app.post_form(LOGOUT, &[("u", "admin"), ("hash", &zeros)]).await;
    assert_eq!(o4.body, status_error("Incorrect hash"));
}

// --- nothing keeps the password ---

#[tokio::test]
async fn no_audit_row_refusal_or_log_line_holds_the_password_sent() {
    let db = TestDb::new();
    let stderr = db.dir.path().join("stderr.log");
    let (child, base) = start_server_logging(&db.url, true, "debug", &stderr);
    let client = reqwest::Client::new();
    let secret = "Pw-Never-Kept-4711";
    let mut sent = Vec::new();
    for (path, u, p) in [
        (USER_LOGIN, "john", secret),
        (USER_LOGIN, "nosuch", secret),
        (USERS_GET, "admin", secret),
        (USER_LOGIN, "john", "John12345"),
        (USERS_GET, "admin", "Admin1234"),
    ] {
        let hash = credential_hash(u, p, ADMIN_KEY);
        let body = client.post(format!("{base}{path}")).form(&[("u", u), ("p", p), ("hash", &hash)]).send().await;
        sent.push(body.expect("request").text().await.expect("body"));
    }
    assert!(stop_server(child).success());
    assert_eq!(sent[3], login_ok(123));
    assert!(sent[4].contains("<users>"), "{}", sent[4]);

    let app_db = morapi::storage::Database::open(&db.url).expect("open");
    let audit =
        app_db.administer(|repo| Ok(morapi::storage::Tx::Rollback(repo.audit_entries()?))).await.expect("audit");
    let refusals = app_db
        .administer(|repo| Ok(morapi::storage::Tx::Rollback(repo.refusals(&Default::default())?)))
        .await
        .expect("refusals");
    drop(app_db);
    assert_eq!(events(&audit, AuditEvent::LoginFailed).len(), 3, "{audit:?}");
    let log = std::fs::read_to_string(&stderr).expect("stderr");
    assert!(log.contains("DEBUG"), "RUST_LOG=debug took effect:\n{log}");
    for password in [secret, "John12345", "Admin1234"] {
        assert!(!format!("{audit:?}").contains(password), "an audit row holds {password}");
        assert!(!format!("{refusals:?}").contains(password), "a refusal holds {password}");
        assert!(!log.contains(password), "the log holds {password}:\n{log}");
    }
}
