//! The test vectors of the user lifecycle methods (docs/contract.md §12–§18, "the
//! contract" below): `user_register` R1–R13 (§2.3), `users_get` G1–G7 (§3.3), `user_delete`
//! D1–D10 (§4.3), `user_login` L1–L7 (§5.3) and `user_logout` O1–O4 (§6.3), each over HTTP
//! against a fresh demo (§7), with the contract's literal hashes and exact bodies.
//!
//! Written from the contract alone, not from the implementation: the hashes are the contract's
//! literals (checked against SHA-1 of their stated strings in [`literal_hashes`]), the documents
//! are built here, and the rows written are read straight from the database (caller ids counted
//! with `TestApp::count_where`).
//!
//! Every refused request must write nothing but its bookkeeping (a refused hash, a failed login):
//! [`unchanged`] compares the data before and after.

mod common;

use common::*;
use morapi::storage::{AuditEntry, Row, Table, Value, text};
use rust_decimal::Decimal;
use std::collections::BTreeSet;
use std::str::FromStr;

/// SHA-1 of the admin key alone: R7's and O1's hash.
const KEY_ONLY: &str = "df2983700ffecb52e6649f0cb3981b66537083a4";
const ZEROS: &str = "0000000000000000000000000000000000000000";

// ---------------------------------------------------------------------------------------------
// The contract's literal hashes
// ---------------------------------------------------------------------------------------------

const R1_HASH: &str = "585f2018b72cc7f905d7cd70b16e69938254304c";
const R2_HASH: &str = "10111be99383b518cc7ef949aec00f765697d95f";
const R4_HASH: &str = "b3ac505686b0c0be51e7688bde3d101e425b27e6";
const R5_HASH: &str = "e4908e30279c04743d9411abd221eb9dc1c314e1";
const R8_HASH: &str = "1e891dac24e437a44e17e3fba342acaaa9a032c8";
const R9_HASH: &str = "6b1b725b76feb0d1e421ec58807416c11a0117bd";
const R10_HASH: &str = "285e4efdf76801a3a6a8e57e1f8dfe733f1ee1fb";
const R11_HASH: &str = "20eeb07064e66846049a2afbb05d40009e948c6c";
const G_ADMIN: &str = "6ff40f671a3d7af005c3c6f9199485ccc48a22ed";
const G_RESELLER: &str = "bcd550a4f19d7537d673be544ff78ba4aa597b45";
const G_WRONG: &str = "e0ff44b23ce48bdd27f39859590e5e99cacaef6e";
const G_JOHN: &str = "9480bc78c47fc6d6a777e7bd35d8e7860ffb2bf9";
const G_VIEWER: &str = "9b6bcde52293e7800e68b36d6bba9c27569cd207";
const G_UNIQUEHASH: &str = "bf5f910da214ef86bca4a79267d37112dda57f86";
const D_789: &str = "0415eaf8433b9e32f116cfc0227a2b8099fe37b8";
const D_0: &str = "bf833f7bb04608dddb5bae81d1f38867142c33b1";
const D_200_RESELLER: &str = "589c92912a8624c8b07a9406c7199f062c16530a";
const D_200: &str = "f4de1845cd70b81d8543717ece8b919c975631b9";
const D_123_RESELLER: &str = "bf3f690c4fc12a8b9ee0f7827be63eb1d2662ca2";
const D_123: &str = "f7c3bc1d808e04732adf679965ccc34ca7ae3441";
const D_300: &str = "7866dd0c765d6f7297a2147817e8aeea6f2b42c9";
const D_790: &str = "ade329ef985e6fa46e468d6e3a92388bd30964f3";
const L_WRONG: &str = "76e75f71d4edf285c0250b3ba6fe7e48215b7ca3";
const L_NOSUCH: &str = "e77ff9855fe3cbd5b9b7123c5eea3c48c821a8b1";

#[test]
fn literal_hashes() {
    let stated = [
        ("carol@example.comadmhash234SIPcarolCarolWhite37060000001456789", R1_HASH),
        ("dave@example.comreshash567IAX2daveDaveBlackreseller-secret", R2_HASH),
        ("456789", KEY_ONLY),
        ("john@example.comadmhash234SIPjohnCarolWhite456789", R8_HASH),
        ("frank@example.comadmhash2343sipfrankFrankStone2456789", R10_HASH),
        ("adminAdmin1234456789", G_ADMIN),
        ("resellerReseller123reseller-secret", G_RESELLER),
        ("resellerreseller-secret", G_UNIQUEHASH),
        ("adminwrong456789", G_WRONG),
        ("johnJohn12345456789", G_JOHN),
        ("viewerViewer123456789", G_VIEWER),
        ("johnwrong1456789", L_WRONG),
        ("nosuchWhatever1456789", L_NOSUCH),
        ("789456789", D_789),
        ("0456789", D_0),
        ("200reseller-secret", D_200_RESELLER),
        ("200456789", D_200),
        ("123reseller-secret", D_123_RESELLER),
        ("123456789", D_123),
        ("300456789", D_300),
        ("790456789", D_790),
        // MOR's own vectors (key `secret`), §2.1, §3.1, §6.1, and the wiki's user_delete example.
        ("hfttv7bcqtsecret", "2e3b368a0825012bb4ff875406f51a3410218660"),
        ("secret", "e5e9fa1ba31ecd1ae84f75caaa474f3a663f05f4"),
        ("qg2audn8qasecret", "72ac1df43e997f97b832bb143f3489e8ec64a3b5"),
        ("hfttv7bcqtaaaaaasecret", "20331a2a9a775663e155736290d85da88c30cd5e"),
        ("email@gmail.comhfttv7bcqtSIPaaaaaaasasassasasasecret", "3eea0b3f7661d547d484a05134a688bb371b8fea"),
        ("adminadmin1secret", "c420ef706a02e6449994b7575b25ef5f74cc722b"),
        ("admin1", "6c7ca345f63f835cb353ff15bd6c5e052ec08e7a"),
    ];
    for (string, hash) in stated {
        assert_eq!(sha1_hex(string), hash, "SHA-1 of {string:?}");
    }
    // The register vectors whose string the contract leaves implicit, built by the hash list.
    let built = [
        (r1(), ADMIN_KEY, R1_HASH),
        (r2(), RESELLER_KEY, R2_HASH),
        (set(r1(), "id", "zzzzzzzzzz"), ADMIN_KEY, R4_HASH),
        (set(r1(), "id", "jhnhash234"), ADMIN_KEY, R5_HASH),
        (set(r2(), "tariff", "1"), RESELLER_KEY, R2_HASH),
        (vec![], ADMIN_KEY, KEY_ONLY),
        (r8(), ADMIN_KEY, R8_HASH),
        (r9(), ADMIN_KEY, R9_HASH),
        (r10(), ADMIN_KEY, R10_HASH),
        (r11(), RESELLER_KEY, R11_HASH),
    ];
    for (pairs, key, hash) in built {
        assert_eq!(sha1_hex(&format!("{}{key}", register_string(&pairs))), hash, "{pairs:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Requests and checks
// ---------------------------------------------------------------------------------------------

type Pairs = Vec<(&'static str, &'static str)>;

fn r1() -> Pairs {
    vec![
        ("id", "admhash234"),
        ("username", "carol"),
        ("password", "Carol2024x"),
        ("password2", "Carol2024x"),
        ("first_name", "Carol"),
        ("last_name", "White"),
        ("email", "carol@example.com"),
        ("country_id", "1"),
        ("device_type", "SIP"),
        ("phone", "+370 600 00001"),
        ("caller_id", "37060000001"),
    ]
}

fn r2() -> Pairs {
    vec![
        ("id", "reshash567"),
        ("username", "dave"),
        ("password", "Dave2024xy"),
        ("password2", "Dave2024xy"),
        ("first_name", "Dave"),
        ("last_name", "Black"),
        ("email", "dave@example.com"),
        ("country_id", "3"),
        ("device_type", "IAX2"),
    ]
}

fn r8() -> Pairs {
    let pairs = set(set(set(r1(), "username", "john"), "email", "john@example.com"), "phone", "+37052000123");
    pairs.into_iter().filter(|(n, _)| *n != "caller_id").collect()
}

fn r9() -> Pairs {
    vec![
        ("id", "admhash234"),
        ("username", "erin"),
        ("password", "abc"),
        ("password2", "abd"),
        ("first_name", "Erin"),
        ("last_name", "Gray"),
        ("email", "erin@example.com"),
        ("country_id", "2"),
        ("device_type", "SIP"),
    ]
}

fn r10() -> Pairs {
    vec![
        ("id", "admhash234"),
        ("username", "frank"),
        ("password", "Frank2024x"),
        ("password2", "Frank2024x"),
        ("first_name", "Frank"),
        ("last_name", "Stone"),
        ("email", "frank@example.com"),
        ("country_id", "4"),
        ("device_type", "sip"),
        ("lcr_id", "3"),
        ("device_location_id", "2"),
    ]
}

fn r11() -> Pairs {
    vec![
        ("id", "reshash567"),
        ("username", "gina"),
        ("password", "Gina2024xy"),
        ("password2", "Gina2024xy"),
        ("first_name", "Gina"),
        ("last_name", "Hall"),
        ("email", "gina@example.com"),
        ("country_id", "3"),
        ("device_type", "SIP"),
        ("usertype", "reseller"),
        ("permission_group", "3"),
    ]
}

/// `pairs` with `name` set to `value` (replaced in place, or added).
fn set(mut pairs: Pairs, name: &'static str, value: &'static str) -> Pairs {
    match pairs.iter_mut().find(|(n, _)| *n == name) {
        Some(pair) => pair.1 = value,
        None => pairs.push((name, value)),
    }
    pairs
}

/// POSTs `pairs` and `hash` to `path`; the body.
async fn send(app: &TestApp, path: &str, pairs: &[(&str, &str)], hash: &str) -> String {
    let mut all = pairs.to_vec();
    all.push(("hash", hash));
    app.call(path, &all).await
}

async fn register(app: &TestApp, pairs: &[(&str, &str)], hash: &str) -> String {
    send(app, REGISTER, pairs, hash).await
}

async fn delete(app: &TestApp, u: &str, user_id: &str, hash: &str) -> String {
    send(app, DELETE, &[("u", u), ("user_id", user_id)], hash).await
}

async fn users_get(app: &TestApp, u: &str, p: &str, hash: &str) -> String {
    send(app, USERS_GET, &[("u", u), ("p", p)], hash).await
}

async fn login(app: &TestApp, path: &str, u: &str, p: &str, hash: &str) -> String {
    send(app, path, &[("u", u), ("p", p)], hash).await
}

fn events<'a>(audit: &'a [AuditEntry], name: &str) -> Vec<&'a AuditEntry> {
    audit.iter().filter(|e| e.event.name() == name).collect()
}

/// Runs `request` and checks that it changed no data and wrote no audit row.
async fn unchanged<F: AsyncFnOnce() -> String>(app: &TestApp, request: F) -> String {
    let before = app.lifecycle_state().await;
    let body = request().await;
    assert_eq!(app.lifecycle_state().await, before, "a refused request changed something: {body}");
    body
}

/// Runs `request` and checks that it changed no data (audit rows of refusals may be written).
async fn data_unchanged<F: AsyncFnOnce() -> String>(app: &TestApp, request: F) -> String {
    let before = app.data_state().await;
    let body = request().await;
    assert_eq!(app.data_state().await, before, "a refused request changed data: {body}");
    body
}

fn assert_cols(row: &Row, expected: &[(&str, &str)]) {
    for (col, value) in expected {
        assert!(row.contains_key(*col), "no column {col} in {row:?}");
        assert_eq!(text(row, col), *value, "column {col} of {row:?}");
    }
}

fn decimal(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap_or_else(|_| panic!("a decimal: {s:?}"))
}

/// Today and a moment ago, as UTC dates (a test running over midnight sees either).
fn utc_dates() -> [String; 2] {
    let now = chrono::Utc::now();
    [now, now - chrono::Duration::minutes(5)].map(|t| t.format("%Y-%m-%d").to_string())
}

/// The secret columns, shown as `changed` in the audit JSON (contract §1.5).
const SECRETS: &[&str] = &["password", "uniquehash", "secret", "pin"];

/// An audit JSON object holds every column of `row`, values as stored text, NULL as `null`,
/// secrets as `changed`.
fn assert_json_row(json: &str, row: &Row) {
    let value: serde_json::Value = serde_json::from_str(json).unwrap_or_else(|e| panic!("audit JSON {json}: {e}"));
    let object = value.as_object().unwrap_or_else(|| panic!("a JSON object: {json}"));
    let keys: BTreeSet<&str> = object.keys().map(String::as_str).collect();
    let columns: BTreeSet<&str> = row.keys().map(String::as_str).collect();
    assert_eq!(keys, columns, "audit JSON {json} against row {row:?}");
    for (column, stored) in row {
        let logged = &object[column];
        if SECRETS.contains(&column.as_str()) {
            // A secret that is not set (jane has no password) may show as it is.
            let unset = matches!(stored, Value::Null) || stored.render().is_empty();
            assert!(logged == "changed" || (unset && (logged.is_null() || logged == "")), "{column} in {json}");
            continue;
        }
        match stored {
            Value::Null => assert!(logged.is_null(), "{column} is NULL, audit JSON {json}"),
            _ => {
                let logged = logged.as_str().unwrap_or_else(|| panic!("{column} as text in {json}"));
                let stored = stored.render();
                if logged != stored {
                    // Decimals may be printed with another scale by the engine's driver.
                    assert_eq!(decimal(logged), decimal(&stored), "{column} in {json}");
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// user_register (§2.3)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn r1_the_admin_registers_a_user_with_a_phone_and_caller_id() {
    let app = TestApp::spawn().await;
    let dates = utc_dates();
    let body = register(&app, &r1(), R1_HASH).await;
    let (masked, password, pin) = mask_credentials(&body, 6);
    assert_eq!(masked, registered((790, 4, 1004), "SIP", Some("37060000001"), "192.0.2.10"));

    let user = app.user(790).await;
    assert_cols(
        &user,
        &[
            ("username", "carol"),
            ("usertype", "user"),
            ("owner_id", "0"),
            ("first_name", "Carol"),
            ("last_name", "White"),
            ("clientid", ""),
            ("vat_number", ""),
            ("accounting_number", ""),
            ("tariff_id", "1"),
            ("lcr_id", "1"),
            ("currency_id", "1"),
            ("call_limit", "0"),
            ("acc_group_id", "0"),
            ("taxation_country", "1"),
            ("agreement_number", "0000000001"),
            ("address_id", "6"),
            ("tax_id", "6"),
            ("blocked", "0"),
            ("hidden", "0"),
            ("own_providers", "0"),
            ("max_devices", "0"),
            ("two_fa_enabled", "0"),
            ("postpaid", "1"),
            ("time_zone", "UTC"),
            ("hide_destination_end", "-1"),
            ("warning_email_hour", "-1"),
            ("responsible_accountant_id", "-1"),
        ],
    );
    assert_eq!(user.get("comment"), Some(&Value::Null), "comment is never taken from defaults");
    assert_eq!(decimal(&text(&user, "credit")), Decimal::ZERO);
    assert_eq!(decimal(&text(&user, "balance")), Decimal::ZERO);
    assert!(dates.iter().any(|d| text(&user, "agreement_date").starts_with(d.as_str())), "{user:?}");
    let stored_password = text(&user, "password");
    assert!(stored_password.starts_with("$argon2id$"), "Argon2id, not {stored_password:?}");
    let uniquehash = text(&user, "uniquehash");
    assert!(
        uniquehash.len() == 10 && uniquehash.chars().all(|c| "abcdefghjkmnpqrstuvwxyz23456789".contains(c)),
        "uniquehash {uniquehash:?}"
    );
    assert!(!body.contains(&uniquehash), "no answer shows the uniquehash");

    let address = app.row(Table::Addresses, 6).await.expect("address 6");
    assert_cols(
        &address,
        &[
            ("direction_id", "1"),
            ("email", "carol@example.com"),
            ("phone", "+370 600 00001"),
            ("mob_phone", ""),
            ("fax", ""),
            ("state", ""),
            ("county", ""),
            ("city", ""),
            ("postcode", ""),
            ("address", ""),
        ],
    );
    let tax = app.row(Table::Taxes, 6).await.expect("tax 6");
    let mut defaults = app.fresh_row(Table::Taxes).await;
    defaults.insert("id".into(), 6.into());
    assert_eq!(tax, defaults, "the admin has no default_tax_* settings: schema defaults");

    let device = app.row(Table::Devices, 4).await.expect("device 4");
    assert_cols(
        &device,
        &[
            ("user_id", "790"),
            ("device_type", "SIP"),
            ("extension", "1004"),
            ("username", "1004"),
            ("name", "1004"),
            ("location_id", "1"),
            ("callerid", "<37060000001>"),
            ("secret", &password),
            ("pin", &pin),
        ],
    );
    assert_eq!(app.count_where(Table::Callerids, &[("device_id", Value::Int(4))]).await, 1);
    assert_eq!(
        app.count_where(
            Table::Callerids,
            &[
                ("id", Value::Int(2)),
                ("cli", "37060000001".into()),
                ("device_id", Value::Int(4)),
                ("description", "Phone".into())
            ]
        )
        .await,
        1
    );

    let audit = app.audit().await;
    let created = events(&audit, "create");
    let tables: BTreeSet<&str> = created.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(created.len(), 5, "{created:?}");
    assert_eq!(tables, BTreeSet::from(["users", "addresses", "taxes", "devices", "callerids"]));
    for e in &created {
        assert_eq!((e.target_id, e.actor_id, e.actor_username.as_str()), (Some(790), Some(0), "admin"), "{e:?}");
        assert_eq!(e.old_value, None, "{e:?}");
        let json = e.new_value.as_deref().expect("the created row");
        assert!(!json.contains(&uniquehash) && !json.contains("Carol2024x") && !json.contains(&password), "{json}");
        match e.field.as_str() {
            "users" => assert_json_row(json, &user),
            "addresses" => assert_json_row(json, &address),
            "taxes" => assert_json_row(json, &tax),
            "devices" => assert_json_row(json, &device),
            _ => assert!(json.contains("\"37060000001\"") && json.contains("\"Phone\""), "{json}"),
        }
    }
    assert_eq!(audit.len(), 5, "only the create rows: {audit:?}");
}

#[tokio::test]
async fn r2_a_reseller_registers_a_user_with_his_defaults() {
    let app = TestApp::spawn().await;
    let body = register(&app, &r2(), R2_HASH).await;
    let (masked, password, pin) = mask_credentials(&body, 6);
    assert_eq!(masked, registered((790, 4, 1004), "IAX2", None, "192.0.2.10"));
    let user = app.user(790).await;
    assert_cols(
        &user,
        &[
            ("username", "dave"),
            ("usertype", "user"),
            ("owner_id", "200"),
            ("first_name", "Dave"),
            ("last_name", "Black"),
            ("tariff_id", "4"),
            ("lcr_id", "3"),
            ("taxation_country", "3"),
            ("address_id", "6"),
            ("tax_id", "6"),
        ],
    );
    let address = app.row(Table::Addresses, 6).await.expect("address 6");
    assert_cols(&address, &[("direction_id", "3"), ("email", "dave@example.com"), ("phone", "")]);
    let device = app.row(Table::Devices, 4).await.expect("device 4");
    assert_cols(
        &device,
        &[
            ("user_id", "790"),
            ("device_type", "IAX2"),
            ("extension", "1004"),
            ("username", "1004"),
            ("name", "1004"),
            ("location_id", "2"),
            ("callerid", ""),
            ("secret", &password),
            ("pin", &pin),
        ],
    );
    assert_eq!(
        app.count_where(Table::Callerids, &[("device_id", Value::Int(4))]).await,
        0,
        "no phone, no caller id row"
    );
    let audit = app.audit().await;
    let created = events(&audit, "create");
    let tables: BTreeSet<&str> = created.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(tables, BTreeSet::from(["users", "addresses", "taxes", "devices"]), "{created:?}");
    assert_eq!(created.len(), 4);
    for e in created {
        assert_eq!((e.target_id, e.actor_id, e.actor_username.as_str()), (Some(790), Some(200), "reseller"), "{e:?}");
    }
}

#[tokio::test]
async fn r3_registration_switched_off() {
    let app = TestApp::spawn().await;
    app.set_setting(0, "allow_api_registration", "0").await;
    let body = unchanged(&app, async || register(&app, &r1(), R1_HASH).await).await;
    assert_eq!(body, page_status_error("Registration over API is disabled", &[]));
}

#[tokio::test]
async fn r4_an_unknown_owner_id() {
    let app = TestApp::spawn().await;
    let pairs = set(r1(), "id", "zzzzzzzzzz");
    let body = data_unchanged(&app, async || register(&app, &pairs, R4_HASH).await).await;
    assert_eq!(body, status_error("Incorrect hash"));
    // The refusal is counted: a `hash_refused` audit row (contract §2.3), or the refusal counter
    // that replaced one row per refusal (docs/contract.md §4).
    let audit = app.audit().await;
    assert!(!events(&audit, "hash_refused").is_empty() || !app.refusals().await.is_empty(), "refusal not counted");

    app.set_setting(0, "api_disable_hash_checking", "1").await;
    let body = data_unchanged(&app, async || register(&app, &pairs, R4_HASH).await).await;
    assert_eq!(body, page_status_error("Access Denied", &[]));
}

#[tokio::test]
async fn r5_a_simple_user_as_owner() {
    let app = TestApp::spawn().await;
    let body = unchanged(&app, async || register(&app, &set(r1(), "id", "jhnhash234"), R5_HASH).await).await;
    assert_eq!(body, page_status_error("Default user is not present", &[]));
}

#[tokio::test]
async fn r6_a_reseller_may_not_give_an_admin_tariff() {
    let app = TestApp::spawn().await;
    app.set_setting(0, "allow_resellers_to_use_admin_tariffs", "0").await;
    let body = unchanged(&app, async || register(&app, &set(r2(), "tariff", "1"), R2_HASH).await).await;
    assert_eq!(body, page_status_error("Tariff was not found", &[]));
}

#[tokio::test]
async fn r7_nothing_sent_lists_every_missing_parameter() {
    let app = TestApp::spawn().await;
    let body = unchanged(&app, async || register(&app, &[], KEY_ONLY).await).await;
    assert_eq!(
        body,
        page_status_error(
            "Please enter username",
            &[
                "Please enter username",
                "Please enter password",
                "Please enter first name",
                "Please enter last name",
                "Please select country",
                "Please enter correct email",
                "Enter device type",
            ]
        )
    );
}

#[tokio::test]
async fn r8_taken_username_email_and_phone() {
    let app = TestApp::spawn().await;
    let body = unchanged(&app, async || register(&app, &r8(), R8_HASH).await).await;
    assert_eq!(
        body,
        page_status_error(
            "Such username is already taken",
            &[
                "Such username is already taken",
                "This email address is already in use.",
                "User with such phone number already exists"
            ]
        )
    );
}

#[tokio::test]
async fn r9_password_problems() {
    let app = TestApp::spawn().await;
    let body = unchanged(&app, async || register(&app, &r9(), R9_HASH).await).await;
    assert!(!body.contains("abc") && !body.contains("abd"), "a password is never echoed: {body}");
    assert_eq!(
        body,
        page_status_error(
            "Passwords do not match",
            &[
                "Passwords do not match",
                "Password must contain at least one numeric value, capital and lowercase symbol",
                "Password must be longer than 7 characters",
            ]
        )
    );
}

#[tokio::test]
async fn r10_device_type_lcr_and_location() {
    let app = TestApp::spawn().await;
    let body = unchanged(&app, async || register(&app, &r10(), R10_HASH).await).await;
    assert_eq!(
        body,
        page_status_error("Enter device type", &["Enter device type", "LCR was not found", "Location was not found"])
    );
}

#[tokio::test]
async fn r11_a_reseller_may_not_register_resellers() {
    let app = TestApp::spawn().await;
    let body = unchanged(&app, async || register(&app, &r11(), R11_HASH).await).await;
    assert_eq!(body, page_status_error("Access Denied", &["You may not set usertype (user type) to reseller"]));
}

#[tokio::test]
async fn r12_get_is_refused_while_get_is_off() {
    let app = TestApp::spawn().await;
    let mut all = r1();
    all.push(("hash", R1_HASH));
    let body = unchanged(&app, async || {
        let reply = app.get(&format!("{REGISTER}?{}", form(&all))).await;
        assert_eq!(reply.status, 200, "{reply:?}");
        reply.body
    })
    .await;
    assert_eq!(body, status_error("GET Requests are disabled"));
}

#[tokio::test]
async fn r13_a_wrong_hash() {
    let app = TestApp::spawn().await;
    let body = data_unchanged(&app, async || register(&app, &r1(), ZEROS).await).await;
    assert_eq!(body, status_error("Incorrect hash"));
}

// ---------------------------------------------------------------------------------------------
// users_get (§3.3)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn g1_the_admin_lists_every_user_but_himself() {
    let app = TestApp::spawn().await;
    let body = unchanged(&app, async || users_get(&app, "admin", "Admin1234", G_ADMIN).await).await;
    assert_eq!(body, users_list(&[123, 200, 201, 202, 300, 301, 789]));
}

#[tokio::test]
async fn g2_a_reseller_lists_his_users() {
    let app = TestApp::spawn().await;
    let body = unchanged(&app, async || users_get(&app, "reseller", "Reseller123", G_RESELLER).await).await;
    assert_eq!(body, users_list(&[201, 202]));
}

#[tokio::test]
async fn g3_a_wrong_password() {
    let app = TestApp::spawn().await;
    let body = data_unchanged(&app, async || users_get(&app, "admin", "wrong", G_WRONG).await).await;
    assert_eq!(body, page_status_error("Access Denied", &[]));
    let audit = app.audit().await;
    let failed = events(&audit, "login_failed");
    assert_eq!(failed.len(), 1, "{audit:?}");
    assert_eq!((failed[0].actor_username.as_str(), failed[0].actor_id), ("admin", Some(0)));
    assert_eq!(failed[0].new_value.as_deref(), Some("password"));
}

#[tokio::test]
async fn g4_a_simple_user_may_not_list() {
    let app = TestApp::spawn().await;
    let body = unchanged(&app, async || users_get(&app, "john", "John12345", G_JOHN).await).await;
    assert_eq!(body, page_status_error("Access Denied", &[]));
}

#[tokio::test]
async fn g5_a_view_only_accountant_lists_all_but_accountants() {
    let app = TestApp::spawn().await;
    let body = unchanged(&app, async || users_get(&app, "viewer", "Viewer123", G_VIEWER).await).await;
    assert_eq!(body, users_list(&[123, 200, 201, 202, 789]));
}

#[tokio::test]
async fn g6_the_uniquehash_instead_of_the_password() {
    let app = TestApp::spawn().await;
    let pairs = [("u", "reseller"), ("uniquehash", "reshash567")];
    let body = unchanged(&app, async || send(&app, USERS_GET, &pairs, G_UNIQUEHASH).await).await;
    assert_eq!(body, users_list(&[201, 202]));
}

/// The N of a locked answer, checked to be within 1..=900 (`lockout_seconds`).
fn wait_seconds(body: &str, before: &str, after: &str) -> u64 {
    let n = body
        .split_once(before)
        .and_then(|(_, rest)| rest.split_once(after))
        .and_then(|(n, _)| n.parse::<u64>().ok())
        .unwrap_or_else(|| panic!("a locked answer: {body}"));
    assert!((1..=900).contains(&n), "{body}");
    n
}

/// The one `lockout` row: the key's name, five failures, an end in the future.
fn assert_one_lockout(audit: &[AuditEntry], name: &str) {
    let locks = events(audit, "lockout");
    assert_eq!(locks.len(), 1, "{audit:?}");
    assert_eq!((locks[0].actor_username.as_str(), locks[0].field.as_str()), (name, "5"), "{:?}", locks[0]);
    let end = locks[0].new_value.as_deref().expect("the lock's end");
    let end = chrono::DateTime::parse_from_rfc3339(end).unwrap_or_else(|e| panic!("RFC 3339 {end}: {e}"));
    assert!(end > chrono::Utc::now(), "{end}");
}

#[tokio::test]
async fn g7_five_wrong_passwords_lock_the_name() {
    let app = TestApp::spawn().await;
    for attempt in 1..=5 {
        assert!(events(&app.audit().await, "lockout").is_empty(), "locked before attempt {attempt}");
        let body = users_get(&app, "admin", "wrong", G_WRONG).await;
        assert_eq!(body, page_status_error("Access Denied", &[]), "attempt {attempt}");
    }
    let audit = app.audit().await;
    assert_one_lockout(&audit, "admin");
    assert_eq!(events(&audit, "login_failed").len(), 5);
    let body = data_unchanged(&app, async || users_get(&app, "admin", "Admin1234", G_ADMIN).await).await;
    let n = wait_seconds(&body, "<error>Please wait ", " seconds before trying again</error>");
    assert_eq!(body, status_error(&format!("Please wait {n} seconds before trying again")));
    assert_eq!(app.audit().await.len(), audit.len(), "a locked attempt writes nothing");
}

// ---------------------------------------------------------------------------------------------
// user_delete (§4.3)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn d1_the_admin_deletes_jane() {
    let app = TestApp::spawn().await;
    let before = [
        ("users", app.user(789).await),
        ("addresses", app.row(Table::Addresses, 2).await.expect("address 2")),
        ("taxes", app.row(Table::Taxes, 2).await.expect("tax 2")),
        ("devices", app.row(Table::Devices, 2).await.expect("device 2")),
    ];
    let others = [123, 200, 201, 202, 300, 301];
    let mut kept = Vec::new();
    for id in others {
        kept.push(app.user(id).await);
    }
    assert_eq!(delete(&app, "admin", "789", D_789).await, user_deleted());
    assert_eq!(app.row(Table::Users, 789).await, None);
    assert_eq!(app.row(Table::Addresses, 2).await, None);
    assert_eq!(app.row(Table::Taxes, 2).await, None);
    assert_eq!(app.row(Table::Devices, 2).await, None);
    for (id, row) in others.iter().zip(kept) {
        assert_eq!(app.user(*id).await, row, "user {id} untouched");
    }
    assert_eq!(app.rows(Table::Devices).await.len(), 2, "devices 1 and 3 stay");
    assert_eq!(app.count_where(Table::Callerids, &[]).await, 1, "john's caller id stays");

    let audit = app.audit().await;
    let deleted = events(&audit, "delete");
    assert_eq!(deleted.len(), 4, "{audit:?}");
    assert_eq!(audit.len(), 4, "only the delete rows: {audit:?}");
    for (table, row) in &before {
        let e = deleted.iter().find(|e| e.field == *table).unwrap_or_else(|| panic!("no delete row for {table}"));
        assert_eq!((e.target_id, e.actor_id, e.actor_username.as_str()), (Some(789), Some(0), "admin"), "{e:?}");
        assert_eq!(e.new_value, None, "{e:?}");
        assert_json_row(e.old_value.as_deref().expect("the removed row"), row);
    }
}

#[tokio::test]
async fn d2_the_sys_admin_cannot_be_deleted() {
    let app = TestApp::spawn().await;
    let body = unchanged(&app, async || delete(&app, "admin", "0", D_0).await).await;
    assert_eq!(body, page_error("Cannot delete sys.admin", &[]));
}

#[tokio::test]
async fn d3_a_reseller_cannot_delete_himself() {
    let app = TestApp::spawn().await;
    let body = unchanged(&app, async || delete(&app, "reseller", "200", D_200_RESELLER).await).await;
    assert_eq!(body, page_error("Unable to delete yourself", &[]));
}

#[tokio::test]
async fn d4_a_reseller_with_users_and_records() {
    let app = TestApp::spawn().await;
    let body = unchanged(&app, async || delete(&app, "admin", "200", D_200).await).await;
    assert_eq!(body, page_error(RESELLER_HAS_USERS, &D4_PROBLEMS));
}

#[tokio::test]
async fn d5_a_reseller_does_not_see_admin_users() {
    let app = TestApp::spawn().await;
    let body = unchanged(&app, async || delete(&app, "reseller", "123", D_123_RESELLER).await).await;
    assert_eq!(body, page_error("User was not found", &[]));
}

#[tokio::test]
async fn d6_a_view_only_accountant() {
    let app = TestApp::spawn().await;
    let body = unchanged(&app, async || delete(&app, "viewer", "123", D_123).await).await;
    assert_eq!(body, page_error("You have no editing permission", &[]));
}

#[tokio::test]
async fn d7_an_accountant_deletes_only_simple_users() {
    let app = TestApp::spawn().await;
    let body = unchanged(&app, async || delete(&app, "accountant", "200", D_200).await).await;
    assert_eq!(body, page_error("You have no editing permission", &[]));
}

#[tokio::test]
async fn d8_a_simple_user_may_not_delete() {
    let app = TestApp::spawn().await;
    let body = unchanged(&app, async || delete(&app, "john", "789", D_789).await).await;
    assert_eq!(body, page_error("Access Denied", &[]));
}

#[tokio::test]
async fn d9_a_responsible_accountant_with_users() {
    let app = TestApp::spawn().await;
    assert_eq!(send(&app, UPDATE, &[("u", "admin"), ("user_id", "123"), ("u31", "300")], D_123).await, updated());
    let body = unchanged(&app, async || delete(&app, "admin", "300", D_300).await).await;
    assert_eq!(body, page_error("Unable to delete accountant - he has users", &[]));
}

#[tokio::test]
async fn d10_user_ids_are_never_reused() {
    let app = TestApp::spawn().await;
    assert_eq!(delete(&app, "admin", "789", D_789).await, user_deleted());
    let (first, ..) = mask_credentials(&register(&app, &r1(), R1_HASH).await, 6);
    // Jane's device 2 went with her, so its extension 1002 is the lowest free one again.
    assert_eq!(first, registered((790, 4, 1002), "SIP", Some("37060000001"), "192.0.2.10"), "above 789, not 302");
    assert_eq!(delete(&app, "admin", "790", D_790).await, user_deleted());
    assert_eq!(app.row(Table::Users, 790).await, None);
    assert_eq!(app.row(Table::Devices, 4).await, None);
    assert_eq!(
        app.count_where(Table::Callerids, &[("device_id", Value::Int(4))]).await,
        0,
        "his caller id went with his device"
    );
    // Neither the user id nor the device id comes back; the extension is free again.
    let (second, ..) = mask_credentials(&register(&app, &r1(), R1_HASH).await, 6);
    assert_eq!(second, registered((791, 5, 1002), "SIP", Some("37060000001"), "192.0.2.10"));
    assert_eq!(app.col(791, "username").await, "carol");
}

// ---------------------------------------------------------------------------------------------
// user_login (§5.3)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn l1_the_admin_logs_in() {
    let app = TestApp::spawn().await;
    let before = app.data_state().await;
    assert_eq!(login(&app, LOGIN, "admin", "Admin1234", G_ADMIN).await, login_ok(0));
    assert_eq!(app.data_state().await, before, "a login stores nothing but its audit row");
    let audit = app.audit().await;
    let logins = events(&audit, "login");
    assert_eq!((audit.len(), logins.len()), (1, 1), "{audit:?}");
    assert_eq!(
        (logins[0].actor_id, logins[0].target_id, logins[0].actor_username.as_str()),
        (Some(0), Some(0), "admin")
    );
    // The same without the /billing prefix.
    assert_eq!(login(&app, "/api/user_login", "admin", "Admin1234", G_ADMIN).await, login_ok(0));
}

#[tokio::test]
async fn l2_john_logs_in_by_the_alias() {
    let app = TestApp::spawn().await;
    assert_eq!(login(&app, "/billing/api/login", "john", "John12345", G_JOHN).await, login_ok(123));
    let audit = app.audit().await;
    let logins = events(&audit, "login");
    assert_eq!(logins.len(), 1, "{audit:?}");
    assert_eq!((logins[0].actor_id, logins[0].target_id), (Some(123), Some(123)));
    assert_eq!(login(&app, "/api/login", "john", "John12345", G_JOHN).await, login_ok(123));
}

/// The `login_failed` rows: (`u` as sent, user id, reason).
fn failures(audit: &[AuditEntry]) -> Vec<(String, Option<i64>, Option<String>)> {
    events(audit, "login_failed").iter().map(|e| (e.actor_username.clone(), e.actor_id, e.new_value.clone())).collect()
}

#[tokio::test]
async fn l3_a_wrong_password() {
    let app = TestApp::spawn().await;
    let body = data_unchanged(&app, async || login(&app, LOGIN, "john", "wrong1", L_WRONG).await).await;
    assert_eq!(body, login_failed("Login failed"));
    let audit = app.audit().await;
    assert_eq!(failures(&audit), [("john".to_string(), Some(123), Some("password".to_string()))]);
    assert!(audit.iter().all(|e| !format!("{e:?}").contains("wrong1")), "the tried password is never stored");
}

#[tokio::test]
async fn l4_an_unknown_user_is_answered_as_a_wrong_password() {
    let app = TestApp::spawn().await;
    let wrong = login(&app, LOGIN, "john", "wrong1", L_WRONG).await;
    let body = data_unchanged(&app, async || login(&app, LOGIN, "nosuch", "Whatever1", L_NOSUCH).await).await;
    assert_eq!(body, wrong);
    let audit = app.audit().await;
    assert_eq!(failures(&audit)[1], ("nosuch".to_string(), None, Some("unknown".to_string())));
}

#[tokio::test]
async fn l5_the_hash_is_required_unless_hash_checking_is_off() {
    let app = TestApp::spawn().await;
    let pairs = [("u", "john"), ("p", "John12345")];
    let body = data_unchanged(&app, async || app.call("/billing/api/login", &pairs).await).await;
    assert_eq!(body, status_error("Incorrect hash"));
    assert!(events(&app.audit().await, "login").is_empty());
    app.set_setting(0, "api_disable_hash_checking", "1").await;
    assert_eq!(app.call("/billing/api/login", &pairs).await, login_ok(123));
}

#[tokio::test]
async fn l6_five_wrong_passwords_lock_the_login() {
    let app = TestApp::spawn().await;
    for attempt in 1..=5 {
        assert!(events(&app.audit().await, "lockout").is_empty(), "locked before attempt {attempt}");
        assert_eq!(
            login(&app, LOGIN, "john", "wrong1", L_WRONG).await,
            login_failed("Login failed"),
            "attempt {attempt}"
        );
    }
    let audit = app.audit().await;
    assert_one_lockout(&audit, "john");
    let body =
        data_unchanged(&app, async || login(&app, "/billing/api/login", "john", "John12345", G_JOHN).await).await;
    let n =
        wait_seconds(&body, "<status_message>Please wait ", " seconds before trying to login again</status_message>");
    assert_eq!(body, login_failed(&format!("Please wait {n} seconds before trying to login again")));
    let after = app.audit().await;
    assert_eq!(after.len(), audit.len(), "a locked attempt writes nothing: {after:?}");
    assert!(events(&after, "login").is_empty());
}

#[tokio::test]
async fn l7_a_blocked_user_cannot_log_in() {
    let app = TestApp::spawn().await;
    let seed =
        app.post(&format!("{UPDATE}?u=admin&user_id=123&u15=1&hash=0ab3ede4e93a55c38855a2cc9b9e169d35442c48")).await;
    assert_eq!(seed.body, updated());
    let body =
        data_unchanged(&app, async || login(&app, "/billing/api/login", "john", "John12345", G_JOHN).await).await;
    assert_eq!(body, login_failed("Login failed"));
    let audit = app.audit().await;
    assert_eq!(failures(&audit), [("john".to_string(), Some(123), Some("blocked".to_string()))]);
    assert!(events(&audit, "login").is_empty());
}

// ---------------------------------------------------------------------------------------------
// user_logout (§6.3)
// ---------------------------------------------------------------------------------------------

fn logout(status: &str) -> String {
    action(&[("name", "logout"), ("status", status)])
}

#[tokio::test]
async fn o1_logout_answers_ok_on_every_path() {
    let app = TestApp::spawn().await;
    for path in [LOGOUT, "/billing/api/user_logout", "/api/logout", "/api/user_logout"] {
        let body = unchanged(&app, async || send(&app, path, &[("u", "admin")], KEY_ONLY).await).await;
        assert_eq!(body, logout("ok"), "{path}");
    }
}

#[tokio::test]
async fn o2_an_unknown_name_is_answered_as_a_known_one() {
    let app = TestApp::spawn().await;
    let body = unchanged(&app, async || send(&app, LOGOUT, &[("u", "nosuch")], KEY_ONLY).await).await;
    assert_eq!(body, logout("ok"));
}

#[tokio::test]
async fn o3_no_name() {
    let app = TestApp::spawn().await;
    let body = unchanged(&app, async || send(&app, LOGOUT, &[], KEY_ONLY).await).await;
    assert_eq!(body, logout("failed"));
}

#[tokio::test]
async fn o4_a_wrong_hash() {
    let app = TestApp::spawn().await;
    let body = data_unchanged(&app, async || send(&app, LOGOUT, &[("u", "admin")], ZEROS).await).await;
    assert_eq!(body, status_error("Incorrect hash"));
}

// ---------------------------------------------------------------------------------------------
// Shared rules (§1)
// ---------------------------------------------------------------------------------------------

/// GET is refused for every method while `allow_get_api` is 0 (also `user_register` without
/// `id`, which X8 lets through), and served when it is 1.
#[tokio::test]
async fn get_only_with_allow_get_api() {
    let app = TestApp::spawn().await;
    let requests: [(&str, Pairs, &str); 5] = [
        (REGISTER, vec![], KEY_ONLY),
        (USERS_GET, vec![("u", "admin"), ("p", "Admin1234")], G_ADMIN),
        (DELETE, vec![("u", "admin"), ("user_id", "0")], D_0),
        (LOGIN, vec![("u", "admin"), ("p", "Admin1234")], G_ADMIN),
        (LOGOUT, vec![("u", "admin")], KEY_ONLY),
    ];
    let query = |pairs: &[(&str, &str)], hash: &str| {
        let mut all = pairs.to_vec();
        all.push(("hash", hash));
        form(&all)
    };
    for (path, pairs, hash) in &requests {
        let reply = app.get(&format!("{path}?{}", query(pairs, hash))).await;
        assert_eq!(reply.body, status_error("GET Requests are disabled"), "{path}");
    }
    assert!(app.audit().await.is_empty());
    app.set_setting(0, "allow_get_api", "1").await;
    let served = [
        page_status_error("Please enter username", &[]),
        users_list(&[123, 200, 201, 202, 300, 301, 789]),
        page_error("Cannot delete sys.admin", &[]),
        login_ok(0),
        logout("ok"),
    ];
    for ((path, pairs, hash), expected) in requests.iter().zip(served) {
        let body = app.get(&format!("{path}?{}", query(pairs, hash))).await.body;
        // R7's document lists seven messages; only the first line matters here.
        if *path == REGISTER {
            assert!(body.contains("<error>Please enter username</error>"), "{body}");
        } else {
            assert_eq!(body, expected, "{path}");
        }
    }
}

/// No password sent to the lifecycle methods appears in an audit row or in the server's log,
/// even at `RUST_LOG=trace`; nor does the generated device secret or the new user's uniquehash.
#[tokio::test]
async fn passwords_never_reach_the_audit_trail_or_the_log() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let db = TestDb::new();
    let stderr = db.dir.path().join("stderr.log");
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--database", &db.url, "--demo"])
        .env_remove("MORAPI_DATABASE")
        .env("RUST_LOG", "trace")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&stderr).expect("stderr file"))
        .spawn()
        .expect("spawn");
    let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
    let mut printed = String::new();
    let base = loop {
        let mut line = String::new();
        assert!(reader.read_line(&mut line).expect("read") > 0, "server exited early: {printed}");
        printed.push_str(&line);
        if let Some(rest) = line.split("listening on ").nth(1) {
            break rest.split(',').next().expect("address").trim().to_string();
        }
    };
    let rest = std::thread::spawn(move || reader.lines().map_while(Result::ok).collect::<Vec<_>>().join("\n"));

    let client = reqwest::Client::new();
    let post = async |path: &str, pairs: &[(&str, &str)], hash: &str| {
        let mut all = pairs.to_vec();
        all.push(("hash", hash));
        let body = client
            .post(format!("{base}{path}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(&all))
            .send()
            .await
            .expect("request");
        body.text().await.expect("body")
    };
    let answer = post(REGISTER, &r1(), R1_HASH).await;
    let (masked, device_secret, _) = mask_credentials(&answer, 6);
    assert_eq!(masked, registered((790, 4, 1004), "SIP", Some("37060000001"), "192.0.2.10"));
    assert_eq!(post(LOGIN, &[("u", "admin"), ("p", "Admin1234")], G_ADMIN).await, login_ok(0));
    assert_eq!(post(LOGIN, &[("u", "john"), ("p", "wrong1")], L_WRONG).await, login_failed("Login failed"));
    assert_eq!(
        post(USERS_GET, &[("u", "admin"), ("p", "wrong")], G_WRONG).await,
        page_status_error("Access Denied", &[])
    );
    assert_eq!(
        post(USERS_GET, &[("u", "reseller"), ("uniquehash", "reshash567")], G_UNIQUEHASH).await,
        users_list(&[201, 202])
    );
    stop_server(child);
    printed.push_str(&rest.join().expect("stdout"));
    let log = format!("{printed}\n{}", std::fs::read_to_string(&stderr).expect("stderr"));
    assert!(log.contains("TRACE") || log.contains("DEBUG"), "RUST_LOG=trace logged nothing below info:\n{log}");

    let database = morapi::storage::Database::open(&db.url).expect("open");
    let audit =
        database.administer(|repo| Ok(morapi::storage::Tx::Rollback(repo.audit_entries()?))).await.expect("audit");
    let user = database
        .administer(|repo| Ok(morapi::storage::Tx::Rollback(repo.user_by_id(790)?)))
        .await
        .expect("read")
        .expect("user 790");
    drop(database);
    let uniquehash = text(&user, "uniquehash");
    assert_eq!(uniquehash.len(), 10);
    let trail = format!("{audit:?}");
    for secret in ["Carol2024x", "Admin1234", "wrong1", "reshash567", &uniquehash, &device_secret] {
        assert!(!log.contains(secret), "the log holds {secret:?}:\n{log}");
        assert!(!trail.contains(secret), "the audit trail holds {secret:?}:\n{trail}");
    }
}
