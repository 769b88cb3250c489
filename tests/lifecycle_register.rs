//! `user_register` over HTTP against the real server (lifecycle contract §2): the vectors R1–R13,
//! nothing written on a refusal, the `create` audit rows, ids never reused, and two registrations
//! of one username at once.

mod common;

use common::{ADMIN_KEY, RESELLER_KEY, TestApp, sign_pairs, status_error};
use morapi::storage::{AuditEvent, Table, Tx, int, text};

const PATH: &str = "/billing/api/user_register";

/// R1's parameters (without the hash).
const R1: &[(&str, &str)] = &[
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
];

const R2: &[(&str, &str)] = &[
    ("id", "reshash567"),
    ("username", "dave"),
    ("password", "Dave2024xy"),
    ("password2", "Dave2024xy"),
    ("first_name", "Dave"),
    ("last_name", "Black"),
    ("email", "dave@example.com"),
    ("country_id", "3"),
    ("device_type", "IAX2"),
];

/// `pairs` with `hash` added.
fn with_hash<'a>(pairs: &[(&'a str, &'a str)], hash: &'a str) -> Vec<(&'a str, &'a str)> {
    let mut all = pairs.to_vec();
    all.push(("hash", hash));
    all
}

/// `pairs` with some values replaced or added (and `drop` names removed).
fn changed<'a>(pairs: &[(&'a str, &'a str)], set: &[(&'a str, &'a str)], drop: &[&str]) -> Vec<(&'a str, &'a str)> {
    let mut out: Vec<(&str, &str)> = pairs.iter().filter(|(k, _)| !drop.contains(k)).copied().collect();
    for (k, v) in set {
        match out.iter_mut().find(|(n, _)| n == k) {
            Some(slot) => slot.1 = v,
            None => out.push((k, v)),
        }
    }
    out
}

async fn register(app: &TestApp, pairs: &[(&str, &str)], key: &str) -> String {
    let hash = sign_pairs(pairs, key);
    app.post_form(PATH, &with_hash(pairs, &hash)).await.body
}

/// `<page><status><error>E</error>` + messages.
fn status_page_error(error: &str, messages: &[&str]) -> String {
    let mut s = format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<page>\n  <status>\n    <error>{error}</error>\n");
    for m in messages {
        s.push_str(&format!("    <message>{m}</message>\n"));
    }
    s.push_str("  </status>\n</page>\n");
    s
}

/// The success document with the generated secret and PIN masked.
fn masked(body: &str) -> String {
    let mut out = String::new();
    for line in body.lines() {
        let t = line.trim();
        if let Some(p) = t.strip_prefix("<password>").and_then(|r| r.strip_suffix("</password>")) {
            assert_eq!(p.len(), 12, "{p}");
            for class in [char::is_ascii_lowercase, char::is_ascii_uppercase, char::is_ascii_digit] {
                assert_eq!(p.chars().filter(class).count(), 4, "{p}");
            }
            out.push_str("    <password>(12 characters)</password>\n");
        } else if let Some(p) = t.strip_prefix("<pin>").and_then(|r| r.strip_suffix("</pin>")) {
            assert!(p.len() == 6 && p.chars().all(|c| c.is_ascii_digit()), "{p}");
            out.push_str("    <pin>(6 digits)</pin>\n");
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

fn success(device_type: &str, caller_id: Option<&str>) -> String {
    let caller = caller_id.map(|c| format!("    <caller_id>{c}</caller_id>\n")).unwrap_or_default();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<page>\n  <status>\n    <success>Registration successful</success>\n  \
         </status>\n  <user_device_settings>\n    <user_id>790</user_id>\n    <device_type>{device_type}</device_type>\n    \
         <device_id>4</device_id>\n{caller}    <username>1004</username>\n    <password>(12 characters)</password>\n    \
         <pin>(6 digits)</pin>\n    <server_ip>192.0.2.10</server_ip>\n    <registration_notice>*ATTENTION! These settings \
         are for you to configure your DEVICE. \nIn order to login to this system you need to use settings you have entered \
         before!</registration_notice>\n  </user_device_settings>\n</page>\n"
    )
}

/// Everything a registration could write: the demo's rows (`state`), and the counts of devices,
/// caller ids, addresses, taxes and audit rows.
async fn everything(app: &TestApp) -> String {
    let counts = app
        .db
        .administer(|repo| {
            let mut out = String::new();
            for table in [Table::Devices, Table::Callerids, Table::Addresses, Table::Taxes, Table::Users] {
                out.push_str(&format!("{} {}\n", table.name(), repo.list_rows(table, &[])?.len()));
            }
            out.push_str(&format!("audit {}\n", repo.audit_entries()?.len()));
            Ok(Tx::Rollback(out))
        })
        .await
        .expect("read");
    format!("{}{counts}", app.state().await)
}

#[tokio::test]
async fn r1_the_admin_registers_a_user_with_his_device_caller_id_and_audit_rows() {
    let app = TestApp::spawn().await;
    assert_eq!(sign_pairs(R1, ADMIN_KEY), "585f2018b72cc7f905d7cd70b16e69938254304c");
    let body = register(&app, R1, ADMIN_KEY).await;
    assert_eq!(masked(&body), success("SIP", Some("&lt;37060000001&gt;")));

    let user = app.user(790).await;
    assert_eq!(text(&user, "username"), "carol");
    assert_eq!(int(&user, "owner_id"), Some(0));
    assert_eq!(int(&user, "tariff_id"), Some(1));
    assert_eq!(int(&user, "lcr_id"), Some(1));
    assert_eq!(int(&user, "currency_id"), Some(1));
    assert_eq!(text(&user, "agreement_number"), "0000000001");
    assert_eq!(text(&user, "usertype"), "user");
    assert_eq!(int(&user, "address_id"), Some(6));
    assert_eq!(int(&user, "tax_id"), Some(6));
    assert_eq!(int(&user, "taxation_country"), Some(1));
    assert!(text(&user, "password").starts_with("$argon2id$"));
    assert_eq!(text(&user, "uniquehash").len(), 10);
    let address = app.row(Table::Addresses, 6).await.expect("address 6");
    assert_eq!(text(&address, "email"), "carol@example.com");
    assert_eq!(text(&address, "phone"), "+370 600 00001");
    assert_eq!(int(&address, "direction_id"), Some(1));
    let device = app.row(Table::Devices, 4).await.expect("device 4");
    for (col, want) in [("device_type", "SIP"), ("extension", "1004"), ("username", "1004"), ("name", "1004")] {
        assert_eq!(text(&device, col), want, "{col}");
    }
    assert_eq!(text(&device, "callerid"), "<37060000001>");
    assert_eq!(int(&device, "location_id"), Some(1));
    assert_eq!(int(&device, "user_id"), Some(790));
    let cli = app.row(Table::Callerids, 2).await.expect("caller id 2");
    assert_eq!((text(&cli, "cli").as_str(), text(&cli, "description").as_str()), ("37060000001", "Phone"));
    assert_eq!(int(&cli, "device_id"), Some(4));

    let created: Vec<_> = app.audit().await.into_iter().filter(|e| e.event == AuditEvent::Create).collect();
    let fields: Vec<&str> = created.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["users", "addresses", "taxes", "devices", "callerids"]);
    for e in &created {
        assert_eq!((e.actor_id, e.actor_username.as_str(), e.target_id), (Some(0), "admin", Some(790)));
        assert_eq!(e.signed_with, "current:0");
        assert_eq!(e.endpoint, "user_register");
        assert_eq!(e.old_value, None);
    }
    let user_json = created[0].new_value.as_deref().expect("json");
    assert!(
        user_json.contains(r#""password":"changed""#) && user_json.contains(r#""uniquehash":"changed""#),
        "{user_json}"
    );
    let device_json = created[3].new_value.as_deref().expect("json");
    assert!(
        device_json.contains(r#""secret":"changed""#) && device_json.contains(r#""pin":"changed""#),
        "{device_json}"
    );
    assert!(!device_json.contains(&text(&device, "secret")));
}

#[tokio::test]
async fn r2_a_reseller_registers_with_his_defaults_lcr_and_location() {
    let app = TestApp::spawn().await;
    assert_eq!(sign_pairs(R2, RESELLER_KEY), "10111be99383b518cc7ef949aec00f765697d95f");
    let body = register(&app, R2, RESELLER_KEY).await;
    assert_eq!(masked(&body), success("IAX2", None));
    let user = app.user(790).await;
    assert_eq!((int(&user, "owner_id"), int(&user, "tariff_id"), int(&user, "lcr_id")), (Some(200), Some(4), Some(3)));
    let device = app.row(Table::Devices, 4).await.expect("device 4");
    assert_eq!((text(&device, "device_type").as_str(), int(&device, "location_id")), ("IAX2", Some(2)));
    assert_eq!(text(&device, "callerid"), "");
    let created = app.audit().await.into_iter().filter(|e| e.event == AuditEvent::Create).count();
    assert_eq!(created, 4, "user, address, tax, device: no phone, no caller id");
}

/// A refusal: the body, and nothing written (`state` and the counts equal before and after).
async fn refused(app: &TestApp, pairs: &[(&str, &str)], hash: &str, expected: &str) {
    let before = everything(app).await;
    let body = app.post_form(PATH, &with_hash(pairs, hash)).await.body;
    assert_eq!(body, expected);
    assert_eq!(everything(app).await, before, "nothing written");
}

#[tokio::test]
async fn r3_registration_switched_off() {
    let app = TestApp::spawn().await;
    app.set_setting(0, "allow_api_registration", "0").await;
    refused(&app, R1, &sign_pairs(R1, ADMIN_KEY), &status_page_error("Registration over API is disabled", &[])).await;
}

#[tokio::test]
async fn r4_an_unknown_owner_is_a_wrong_hash_or_with_checking_off_access_denied() {
    let app = TestApp::spawn().await;
    let pairs = changed(R1, &[("id", "zzzzzzzzzz")], &[]);
    assert_eq!(sign_pairs(&pairs, ADMIN_KEY), "b3ac505686b0c0be51e7688bde3d101e425b27e6");
    let body = app.post_form(PATH, &with_hash(&pairs, "b3ac505686b0c0be51e7688bde3d101e425b27e6")).await.body;
    assert_eq!(body, status_error("Incorrect hash"));
    assert_eq!(app.refusals_of("").await.iter().map(|r| r.count).sum::<i64>(), 1, "counted under the empty name");
    app.set_setting(0, "api_disable_hash_checking", "1").await;
    let body = app.post_form(PATH, &pairs).await.body;
    assert_eq!(body, status_page_error("Access Denied", &[]));
    assert_eq!(app.refusals_of("").await.iter().map(|r| r.count).sum::<i64>(), 2, "both counted under the empty name");
    // The registration switch is checked before the unknown owner (contract order: steps 2, 3),
    // and that refusal counts nothing.
    app.set_setting(0, "allow_api_registration", "0").await;
    let body = app.post_form(PATH, &pairs).await.body;
    assert_eq!(body, status_page_error("Registration over API is disabled", &[]));
    assert_eq!(app.refusals_of("").await.iter().map(|r| r.count).sum::<i64>(), 2, "not counted");
}

#[tokio::test]
async fn r5_a_simple_users_uniquehash() {
    let app = TestApp::spawn().await;
    let pairs = changed(R1, &[("id", "jhnhash234")], &[]);
    assert_eq!(sign_pairs(&pairs, ADMIN_KEY), "e4908e30279c04743d9411abd221eb9dc1c314e1");
    refused(
        &app,
        &pairs,
        "e4908e30279c04743d9411abd221eb9dc1c314e1",
        &status_page_error("Default user is not present", &[]),
    )
    .await;
}

#[tokio::test]
async fn r6_a_tariff_the_reseller_may_not_use() {
    let app = TestApp::spawn().await;
    let pairs = changed(R2, &[("tariff", "1")], &[]);
    refused(&app, &pairs, "10111be99383b518cc7ef949aec00f765697d95f", &status_page_error("Tariff was not found", &[]))
        .await;
}

#[tokio::test]
async fn r7_nothing_sent_lists_every_missing_value() {
    let app = TestApp::spawn().await;
    let expected = status_page_error(
        "Please enter username",
        &[
            "Please enter username",
            "Please enter password",
            "Please enter first name",
            "Please enter last name",
            "Please select country",
            "Please enter correct email",
            "Enter device type",
        ],
    );
    refused(&app, &[], "df2983700ffecb52e6649f0cb3981b66537083a4", &expected).await;
}

#[tokio::test]
async fn r8_username_email_and_phone_in_use() {
    let app = TestApp::spawn().await;
    let pairs =
        changed(R1, &[("username", "john"), ("email", "john@example.com"), ("phone", "+37052000123")], &["caller_id"]);
    assert_eq!(sign_pairs(&pairs, ADMIN_KEY), "1e891dac24e437a44e17e3fba342acaaa9a032c8");
    let expected = status_page_error(
        "Such username is already taken",
        &[
            "Such username is already taken",
            "This email address is already in use.",
            "User with such phone number already exists",
        ],
    );
    refused(&app, &pairs, "1e891dac24e437a44e17e3fba342acaaa9a032c8", &expected).await;
}

#[tokio::test]
async fn r9_passwords() {
    let app = TestApp::spawn().await;
    let pairs = [
        ("id", "admhash234"),
        ("username", "erin"),
        ("password", "abc"),
        ("password2", "abd"),
        ("first_name", "Erin"),
        ("last_name", "Gray"),
        ("email", "erin@example.com"),
        ("country_id", "2"),
        ("device_type", "SIP"),
    ];
    assert_eq!(sign_pairs(&pairs, ADMIN_KEY), "6b1b725b76feb0d1e421ec58807416c11a0117bd");
    let expected = status_page_error(
        "Passwords do not match",
        &[
            "Passwords do not match",
            "Password must contain at least one numeric value, capital and lowercase symbol",
            "Password must be longer than 7 characters",
        ],
    );
    refused(&app, &pairs, "6b1b725b76feb0d1e421ec58807416c11a0117bd", &expected).await;
}

#[tokio::test]
async fn r10_device_type_lcr_and_location() {
    let app = TestApp::spawn().await;
    let pairs = [
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
    ];
    assert_eq!(sign_pairs(&pairs, ADMIN_KEY), "285e4efdf76801a3a6a8e57e1f8dfe733f1ee1fb");
    let expected =
        status_page_error("Enter device type", &["Enter device type", "LCR was not found", "Location was not found"]);
    refused(&app, &pairs, "285e4efdf76801a3a6a8e57e1f8dfe733f1ee1fb", &expected).await;
}

#[tokio::test]
async fn r11_a_reseller_may_not_register_resellers() {
    let app = TestApp::spawn().await;
    let pairs = [
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
    ];
    assert_eq!(sign_pairs(&pairs, RESELLER_KEY), "20eeb07064e66846049a2afbb05d40009e948c6c");
    let expected = status_page_error("Access Denied", &["You may not set usertype (user type) to reseller"]);
    refused(&app, &pairs, "20eeb07064e66846049a2afbb05d40009e948c6c", &expected).await;
}

#[tokio::test]
async fn r12_get_is_off_and_r13_a_wrong_hash() {
    let app = TestApp::spawn().await;
    let query = common::form(&with_hash(R1, "585f2018b72cc7f905d7cd70b16e69938254304c"));
    let before = everything(&app).await;
    assert_eq!(app.get(&format!("{PATH}?{query}")).await.body, status_error("GET Requests are disabled"));
    assert_eq!(everything(&app).await, before);
    let zeros = "0".repeat(40);
    assert_eq!(app.post_form(PATH, &with_hash(R1, &zeros)).await.body, status_error("Incorrect hash"));
    assert_eq!(app.user_rows().await.len(), 8, "nobody created");
}

#[tokio::test]
async fn the_admin_registers_an_accountant_and_the_owners_defaults_apply() {
    let app = TestApp::spawn().await;
    app.set_setting(0, "default_user_time_zone", "London").await;
    app.set_setting(0, "default_user_credit", "-1").await;
    app.set_setting(0, "default_tax_tax2_name", "Local").await;
    let pairs = changed(
        R1,
        &[("usertype", "accountant"), ("permission_group", "1"), ("credit_limit", "-5"), ("call_limit", "3")],
        &[],
    );
    let body = register(&app, &pairs, ADMIN_KEY).await;
    assert!(body.contains("<user_id>790</user_id>"), "{body}");
    let user = app.user(790).await;
    assert_eq!(text(&user, "usertype"), "accountant");
    assert_eq!(int(&user, "acc_group_id"), Some(1));
    assert_eq!(text(&user, "time_zone"), "London");
    assert_eq!(int(&user, "call_limit"), Some(3));
    assert_eq!(morapi::values::amount::stored(&text(&user, "credit")), Some(rust_decimal::Decimal::ZERO), "-5 → 0");
    let tax = app.row(Table::Taxes, 6).await.expect("tax 6");
    assert_eq!(text(&tax, "tax2_name"), "Local");
}

#[tokio::test]
async fn a_broken_default_is_a_configuration_error_naming_the_setting() {
    let app = TestApp::spawn().await;
    app.set_setting(0, "default_user_currency_id", "99").await;
    let expected = status_page_error(
        "Configuration error. Please contact System Administrator",
        &["Setting default_user_currency_id names a record that does not exist"],
    );
    refused(&app, R1, &sign_pairs(R1, ADMIN_KEY), &expected).await;
    app.set_setting(0, "default_user_currency_id", "1").await;
    app.set_setting(0, "default_user_tariff_id", "4").await;
    let tariff = status_page_error("Tariff was not found cannot create", &[]);
    assert_eq!(register(&app, R1, ADMIN_KEY).await, tariff, "the reseller's tariff is not the admin's to give");
}

#[tokio::test]
async fn ids_are_never_reused_and_extensions_fill_the_lowest_gap() {
    let app = TestApp::spawn().await;
    assert!(register(&app, R1, ADMIN_KEY).await.contains("<user_id>790</user_id>"));
    app.sql("DELETE FROM callerids WHERE device_id = 4; DELETE FROM devices WHERE user_id = 790; DELETE FROM users WHERE id = 790; \
         DELETE FROM addresses WHERE id = 6; DELETE FROM taxes WHERE id = 6")
        .await;
    let body = register(&app, R1, ADMIN_KEY).await;
    assert!(body.contains("<user_id>791</user_id>"), "{body}");
    assert!(body.contains("<username>1004</username>"), "1004 is free again: {body}");
    assert!(!body.contains("<device_id>4</device_id>"), "device ids are not reused either: {body}");
    assert_eq!(text(&app.user(791).await, "agreement_number"), "0000000001", "790's number went with him");
}

#[tokio::test]
async fn two_registrations_of_one_username_at_once_one_wins() {
    let app = TestApp::spawn().await;
    let second = app.spawn_second().await;
    let hash = sign_pairs(R1, ADMIN_KEY);
    let other = changed(R1, &[("email", "carol2@example.com"), ("phone", "+370 600 00002")], &[]);
    let other_hash = sign_pairs(&other, ADMIN_KEY);
    let (first, other) = (with_hash(R1, &hash), with_hash(&other, &other_hash));
    let (a, b) = tokio::join!(app.post_form(PATH, &first), second.post_form(PATH, &other));
    let bodies = [a.body, b.body];
    let won = bodies.iter().filter(|b| b.contains("Registration successful")).count();
    let lost = bodies.iter().filter(|b| b.contains("<error>Such username is already taken</error>")).count();
    assert_eq!((won, lost), (1, 1), "{bodies:#?}");
    assert_eq!(app.user_rows().await.len(), 9);
}

#[tokio::test]
async fn two_registrations_of_one_email_at_once_one_wins() {
    let app = TestApp::spawn().await;
    let second = app.spawn_second().await;
    let other = changed(R1, &[("username", "carol2"), ("phone", "+370 600 00002")], &[]);
    let (hash, other_hash) = (sign_pairs(R1, ADMIN_KEY), sign_pairs(&other, ADMIN_KEY));
    let (first, other) = (with_hash(R1, &hash), with_hash(&other, &other_hash));
    let (a, b) = tokio::join!(app.post_form(PATH, &first), second.post_form(PATH, &other));
    let bodies = [a.body, b.body];
    let won = bodies.iter().filter(|b| b.contains("Registration successful")).count();
    assert_eq!(won, 1, "{bodies:#?}");
    assert!(bodies.iter().any(|b| b.contains("This email address is already in use.")), "{bodies:#?}");
}
