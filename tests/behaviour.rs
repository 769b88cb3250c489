//! Behaviour of `user_details_update`: MOR's behaviour vectors B1–B28 (docs/contract.md §11)
//! adapted to docs/contract.md and docs/decisions.md, every error string of the seed, and the field
//! semantics of docs/contract.md §5.4.
//!
//! B29 (`test=1` with `XML_API_Extension` rendering the answer inline as XML) is not a test here:
//! morapi has no `XML_API_Extension` setting, always answers `text/xml; charset=utf-8` inline and
//! ignores `test` (see tests/wire.rs, which checks that `test=1` is accepted and ignored).
//!
//! Fixture mapping of the vectors onto the demo data (docs/contract.md §9): admin 0 (key 456789); simple
//! users 123 `john` and 789 `jane` of the admin; reseller 200 `reseller` (key `reseller-secret`)
//! with users 201 `alice` and 202 `bob`; accountant 300 `accountant` (group 1: `user_manage`=2 and
//! every `user_create_opt` right); accountant 301 `viewer` (group 2: `user_manage`=1). The vectors'
//! ids map as: user 2 → 123, reseller 3 → 200, user 5 → 201/202, accountant 6 → 301 (or 300),
//! accountant 1005 → 300. Requests are signed (the harness adds a correct hash) unless the vector
//! is about the hash.

mod common;
use common::*;
use morapi::storage::{AuditEntry, AuditEvent, Table, Value};

const ACCOUNTANT: &str = "accountant";
const VIEWER: &str = "viewer";
const RESELLER: &str = "reseller";

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// Sends a signed update as `u` that must be refused: asserts the exact body and that nothing
/// an update could write has changed.
async fn refused_as(app: &TestApp, u: &str, key: &str, pairs: &[(&str, &str)], expected: &str) -> String {
    let before = app.state().await;
    let body = app.update_as(u, key, pairs).await;
    assert_eq!(body, expected, "answer to {pairs:?} as {u}");
    assert_eq!(app.state().await, before, "nothing may change after refusing {pairs:?} as {u}");
    body
}

/// [`refused_as`] as the demo admin.
async fn refused(app: &TestApp, pairs: &[(&str, &str)], expected: &str) -> String {
    refused_as(app, "admin", ADMIN_KEY, pairs, expected).await
}

/// Sends a signed update as `u` that must succeed.
async fn ok_as(app: &TestApp, u: &str, key: &str, pairs: &[(&str, &str)]) -> String {
    let body = app.update_as(u, key, pairs).await;
    assert_eq!(body, updated(), "answer to {pairs:?} as {u}");
    body
}

/// [`ok_as`] as the demo admin.
async fn ok(app: &TestApp, pairs: &[(&str, &str)]) -> String {
    ok_as(app, "admin", ADMIN_KEY, pairs).await
}

/// `<page><error>User was not updated</error><message>…</message>…</page>`.
fn not_updated(messages: &[&str]) -> String {
    page_error("User was not updated", messages)
}

/// `<page><error>Access Denied</error><message>…</message>…</page>`.
fn denied(messages: &[&str]) -> String {
    page_error("Access Denied", messages)
}

/// Query string (or form body) of a signed request as `u`.
fn signed_query(u: &str, key: &str, pairs: &[(&str, &str)]) -> String {
    let hash = sign_pairs(pairs, key);
    let mut all = pairs.to_vec();
    all.push(("u", u));
    all.push(("hash", &hash));
    form(&all)
}

/// (field, old, new) of an audit row; `None` is NULL.
type Triple = (String, Option<String>, Option<String>);

/// (field, old, new) of audit rows, sorted, for order-independent comparison.
fn triples(entries: &[AuditEntry]) -> Vec<Triple> {
    let mut v: Vec<_> = entries.iter().map(|e| (e.field.clone(), e.old_value.clone(), e.new_value.clone())).collect();
    v.sort();
    v
}

fn t(field: &str, old: &str, new: &str) -> Triple {
    (field.to_string(), Some(old.to_string()), Some(new.to_string()))
}

/// A change from NULL.
fn from_null(field: &str, new: &str) -> Triple {
    (field.to_string(), None, Some(new.to_string()))
}

async fn address_col(app: &TestApp, id: i64, col: &str) -> String {
    let row = app.row(Table::Addresses, id).await.unwrap_or_else(|| panic!("address {id} exists"));
    morapi::storage::text(&row, col)
}

async fn tax_col(app: &TestApp, id: i64, col: &str) -> String {
    let row = app.row(Table::Taxes, id).await.unwrap_or_else(|| panic!("tax {id} exists"));
    morapi::storage::text(&row, col)
}

/// An accountant (302 `clerk`) whose group 4 grants `user_manage`=2 and no `user_create_opt` right.
async fn add_clerk_without_field_rights(app: &TestApp) {
    app.sql(
        "INSERT INTO acc_groups (id, name, group_type, only_view, owner_id) VALUES (4, 'Clerks', 'accountant', 0, 0);
         INSERT INTO acc_group_rights (acc_group_id, acc_right_id, value) VALUES (4, 1, 2);
         INSERT INTO users (id, username, usertype, owner_id, first_name, last_name, acc_group_id)
           VALUES (302, 'clerk', 'accountant', 0, 'Carl', 'Clerk', 4);",
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// Behaviour vectors B1–B28 (docs/contract.md §11)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn b1_admin_sending_a_tariff_that_does_not_exist_gets_tariff_not_found() {
    let app = TestApp::spawn().await;
    let body = refused(
        &app,
        &[("user_id", "200"), ("u5", "99"), ("u15", "0"), ("u25", "1")],
        &page_error("Tariff not found", &[]),
    )
    .await;
    insta::assert_snapshot!("tariff_not_found", body);
}

#[tokio::test]
async fn b2_an_unknown_username_gets_incorrect_hash_never_bad_login() {
    let app = TestApp::spawn().await;
    // Even a hash that would be correct under the admin key does not help an unknown `u`.
    let body = refused_as(
        &app,
        "nosuchuser",
        ADMIN_KEY,
        &[("user_id", "123"), ("u31", "300")],
        &status_error("Incorrect hash"),
    )
    .await;
    assert!(!body.contains("Bad login"));
    insta::assert_snapshot!("incorrect_hash", body);
}

#[tokio::test]
async fn b2_an_unknown_username_gets_access_denied_when_hash_checking_is_disabled() {
    let app = TestApp::spawn().await;
    app.set_setting(0, "api_disable_hash_checking", "1").await;
    refused_as(&app, "nosuchuser", "", &[("user_id", "123"), ("u31", "300")], &page_error("Access Denied", &[])).await;
}

#[tokio::test]
async fn b3_a_simple_user_with_a_correct_hash_gets_access_denied() {
    let app = TestApp::spawn().await;
    let body = refused_as(
        &app,
        "john",
        ADMIN_KEY,
        &[("user_id", "123"), ("u15", "0"), ("u25", "1")],
        &page_error("Access Denied", &[]),
    )
    .await;
    insta::assert_snapshot!("access_denied", body);
}

#[tokio::test]
async fn b3_a_simple_user_with_a_wrong_hash_gets_incorrect_hash() {
    let app = TestApp::spawn().await;
    refused_as(&app, "john", "wrong-key", &[("user_id", "123"), ("u15", "0")], &status_error("Incorrect hash")).await;
}

#[tokio::test]
async fn b4_an_accountant_without_write_permission_gets_no_editing_permission() {
    let app = TestApp::spawn().await;
    let body = refused_as(
        &app,
        VIEWER,
        ADMIN_KEY,
        &[("user_id", "123"), ("u15", "0"), ("u25", "1")],
        &page_error("You have no editing permission", &[]),
    )
    .await;
    insta::assert_snapshot!("no_editing_permission", body);
}

#[tokio::test]
async fn b4_an_accountant_whose_group_has_no_user_manage_right_gets_no_editing_permission() {
    let app = TestApp::spawn().await;
    app.sql(
        "INSERT INTO acc_groups (id, name, group_type, only_view, owner_id) VALUES (5, 'Nobody', 'accountant', 0, 0);
         INSERT INTO users (id, username, usertype, owner_id, acc_group_id) VALUES (303, 'nobody', 'accountant', 0, 5);",
    )
    .await;
    refused_as(
        &app,
        "nobody",
        ADMIN_KEY,
        &[("user_id", "123"), ("u15", "1")],
        &page_error("You have no editing permission", &[]),
    )
    .await;
}

#[tokio::test]
async fn b4_a_view_only_group_counts_user_manage_write_as_read() {
    let app = TestApp::spawn().await;
    app.sql("UPDATE acc_groups SET only_view = 1 WHERE id = 1;").await;
    refused_as(
        &app,
        ACCOUNTANT,
        ADMIN_KEY,
        &[("user_id", "123"), ("u15", "1")],
        &page_error("You have no editing permission", &[]),
    )
    .await;
}

#[tokio::test]
async fn b5_an_accountant_editing_himself_the_admin_or_nobody_gets_access_denied() {
    let app = TestApp::spawn().await;
    let expected = page_error("Access Denied", &[]);
    refused_as(&app, ACCOUNTANT, ADMIN_KEY, &[("user_id", "300"), ("u15", "0")], &expected).await;
    refused_as(&app, ACCOUNTANT, ADMIN_KEY, &[("user_id", "0"), ("u15", "0")], &expected).await;
    refused_as(&app, ACCOUNTANT, ADMIN_KEY, &[("u15", "0")], &expected).await;
}

#[tokio::test]
async fn b6_an_accountant_cannot_see_a_resellers_user() {
    let app = TestApp::spawn().await;
    let body = refused_as(
        &app,
        ACCOUNTANT,
        ADMIN_KEY,
        &[("user_id", "201"), ("u15", "0")],
        &page_error("User was not found", &[]),
    )
    .await;
    insta::assert_snapshot!("user_not_found", body);
}

#[tokio::test]
async fn b7_an_accountant_with_write_permission_updates_a_user() {
    let app = TestApp::spawn().await;
    let body = ok_as(&app, ACCOUNTANT, ADMIN_KEY, &[("user_id", "123"), ("u15", "1"), ("u25", "0")]).await;
    insta::assert_snapshot!("user_updated", body);
    assert_eq!(app.col(123, "blocked").await, "1");
    assert_eq!(app.col(123, "postpaid").await, "0");
    let changes = app.changes().await;
    assert_eq!(triples(&changes), vec![t("blocked", "0", "1"), t("postpaid", "1", "0")]);
    for c in &changes {
        assert_eq!(c.actor_username, ACCOUNTANT);
        assert_eq!(c.actor_id, Some(300));
        assert_eq!(c.target_id, Some(123));
    }
}

#[tokio::test]
async fn b7_granting_user_manage_write_lets_the_viewer_edit() {
    let app = TestApp::spawn().await;
    app.sql("UPDATE acc_group_rights SET value = 2 WHERE acc_group_id = 2 AND acc_right_id = 1;").await;
    ok_as(&app, VIEWER, ADMIN_KEY, &[("user_id", "123"), ("u15", "1")]).await;
    assert_eq!(app.col(123, "blocked").await, "1");
    // The viewer's group still lacks user_create_opt_6: postpaid is refused, not dropped.
    refused_as(
        &app,
        VIEWER,
        ADMIN_KEY,
        &[("user_id", "123"), ("u15", "0"), ("u25", "0")],
        &denied(&["You may not change u25 (postpaid)"]),
    )
    .await;
}

#[tokio::test]
async fn b8_a_reseller_cannot_see_the_admins_users() {
    let app = TestApp::spawn().await;
    refused_as(
        &app,
        RESELLER,
        RESELLER_KEY,
        &[("user_id", "123"), ("u15", "1")],
        &page_error("User was not found", &[]),
    )
    .await;
    refused_as(
        &app,
        RESELLER,
        RESELLER_KEY,
        &[("user_id", "300"), ("u15", "1")],
        &page_error("User was not found", &[]),
    )
    .await;
}

#[tokio::test]
async fn b9_a_reseller_editing_himself_may_not_change_blocking_postpaid_or_reseller_pro() {
    let app = TestApp::spawn().await;
    let body = refused_as(
        &app,
        RESELLER,
        RESELLER_KEY,
        &[("user_id", "200"), ("own_providers", "1"), ("u15", "0"), ("u25", "1")],
        &denied(&[
            "You may not change u15 (blocked)",
            "You may not change u25 (postpaid)",
            "You may not change own_providers (Reseller PRO)",
        ]),
    )
    .await;
    insta::assert_snapshot!("reseller_self_edit_denied", body);
    assert_eq!(app.col(200, "own_providers").await, "0");
}

#[tokio::test]
async fn b9_a_reseller_may_change_his_own_contact_details() {
    let app = TestApp::spawn().await;
    ok_as(
        &app,
        RESELLER,
        RESELLER_KEY,
        &[("user_id", "200"), ("u23", "Rick"), ("a1", "Manchester"), ("company_name", "Rick Telecom")],
    )
    .await;
    assert_eq!(app.col(200, "first_name").await, "Rick");
    assert_eq!(app.col(200, "company_name").await, "Rick Telecom");
    assert_eq!(address_col(&app, 3, "city").await, "Manchester");
}

#[tokio::test]
async fn b9_a_reseller_may_not_raise_his_own_credit_group_or_tariff() {
    let app = TestApp::spawn().await;
    refused_as(
        &app,
        RESELLER,
        RESELLER_KEY,
        &[("user_id", "200"), ("u5", "4"), ("u11", "1"), ("credit", "100000"), ("max_devices", "0")],
        &denied(&[
            "You may not change u5 (tariff)",
            "You may not change u11 (accountant/reseller group)",
            "You may not change credit (credit)",
            "You may not change max_devices (maximum devices)",
        ]),
    )
    .await;
}

#[tokio::test]
async fn b10_an_unknown_user_id_is_not_found() {
    let app = TestApp::spawn().await;
    let expected = page_error("User was not found", &[]);
    refused(&app, &[("user_id", "499")], &expected).await;
    refused(&app, &[("user_id", "499"), ("u15", "1")], &expected).await;
}

#[tokio::test]
async fn b10_a_user_id_that_is_not_all_digits_is_not_found() {
    let app = TestApp::spawn().await;
    let expected = page_error("User was not found", &[]);
    for id in ["12a", "-1", "", " 123", "1.0"] {
        refused(&app, &[("user_id", id), ("u15", "1")], &expected).await;
    }
}

#[tokio::test]
async fn b10_the_admin_cannot_see_a_resellers_user() {
    let app = TestApp::spawn().await;
    refused(&app, &[("user_id", "201"), ("u15", "1")], &page_error("User was not found", &[])).await;
}

#[tokio::test]
async fn b11_an_email_used_by_another_user_is_refused() {
    let app = TestApp::spawn().await;
    let body = refused(
        &app,
        &[("user_id", "123"), ("a8", "jane@example.com")],
        &not_updated(&["Email jane@example.com is already used"]),
    )
    .await;
    insta::assert_snapshot!("email_already_used", body);
}

#[tokio::test]
async fn b11_email_uniqueness_ignores_case_and_the_users_own_address() {
    let app = TestApp::spawn().await;
    refused(
        &app,
        &[("user_id", "123"), ("a8", "JANE@Example.com")],
        &not_updated(&["Email JANE@Example.com is already used"]),
    )
    .await;
    // His own address is not "another user".
    ok(&app, &[("user_id", "123"), ("a8", "John@Example.com")]).await;
    assert_eq!(address_col(&app, 1, "email").await, "John@Example.com");
}

#[tokio::test]
async fn b11_identical_emails_are_accepted_when_the_setting_allows_them() {
    let app = TestApp::spawn().await;
    app.set_setting(0, "allow_identical_email_addresses_to_different_users", "1").await;
    ok(&app, &[("user_id", "123"), ("a8", "jane@example.com")]).await;
    assert_eq!(address_col(&app, 1, "email").await, "jane@example.com");
}

#[tokio::test]
async fn b12_the_admin_cannot_give_his_user_a_resellers_lcr() {
    let app = TestApp::spawn().await;
    let body = refused(&app, &[("user_id", "123"), ("u1", "3")], &page_error("LCR was not found", &[])).await;
    insta::assert_snapshot!("lcr_not_found", body);
    refused(&app, &[("user_id", "123"), ("u1", "99")], &page_error("LCR was not found", &[])).await;
    ok(&app, &[("user_id", "123"), ("u1", "2")]).await;
    assert_eq!(app.col(123, "lcr_id").await, "2");
}

#[tokio::test]
async fn b12_a_reseller_pro_cannot_give_his_user_an_admin_lcr() {
    let app = TestApp::spawn().await;
    app.sql("UPDATE users SET own_providers = 1 WHERE id = 200; INSERT INTO lcrs (id, name, user_id) VALUES (5, 'PRO LCR', 200);")
        .await;
    refused_as(&app, RESELLER, RESELLER_KEY, &[("user_id", "201"), ("u1", "1")], &page_error("LCR was not found", &[]))
        .await;
    ok_as(&app, RESELLER, RESELLER_KEY, &[("user_id", "201"), ("u1", "5")]).await;
    assert_eq!(app.col(201, "lcr_id").await, "5");
}

#[tokio::test]
async fn b12_a_reseller_who_is_not_pro_may_not_change_lcrs() {
    let app = TestApp::spawn().await;
    refused_as(
        &app,
        RESELLER,
        RESELLER_KEY,
        &[("user_id", "201"), ("u1", "3")],
        &denied(&["You may not change u1 (LCR)"]),
    )
    .await;
}

#[tokio::test]
async fn b13_a_reseller_may_use_an_admin_quick_forward_rule_only_when_allowed() {
    let app = TestApp::spawn().await;
    let body = refused_as(
        &app,
        RESELLER,
        RESELLER_KEY,
        &[("user_id", "202"), ("u16", "1")],
        &page_error("Quickforward Rule was not found", &[]),
    )
    .await;
    insta::assert_snapshot!("quickforward_rule_not_found", body);
    app.set_setting(0, "allow_resellers_to_use_admin_quickforward_rules", "1").await;
    ok_as(&app, RESELLER, RESELLER_KEY, &[("user_id", "202"), ("u16", "1")]).await;
    assert_eq!(app.col(202, "quickforwards_rule_id").await, "1");
}

#[tokio::test]
async fn b13_a_reseller_uses_his_own_rules_and_keeps_an_admin_rule_already_assigned() {
    let app = TestApp::spawn().await;
    ok_as(&app, RESELLER, RESELLER_KEY, &[("user_id", "202"), ("u16", "4")]).await;
    assert_eq!(app.col(202, "quickforwards_rule_id").await, "4");
    app.sql("UPDATE users SET quickforwards_rule_id = 3 WHERE id = 201;").await;
    ok_as(&app, RESELLER, RESELLER_KEY, &[("user_id", "201"), ("u16", "3")]).await;
    refused_as(
        &app,
        RESELLER,
        RESELLER_KEY,
        &[("user_id", "201"), ("u16", "1")],
        &page_error("Quickforward Rule was not found", &[]),
    )
    .await;
}

#[tokio::test]
async fn b13_the_admin_and_accountants_use_admin_quick_forward_rules() {
    let app = TestApp::spawn().await;
    // Accountants are treated like the admin here (docs/contract.md §5.3, unlike MOR).
    ok_as(&app, ACCOUNTANT, ADMIN_KEY, &[("user_id", "789"), ("u16", "3")]).await;
    assert_eq!(app.col(789, "quickforwards_rule_id").await, "3");
    refused(&app, &[("user_id", "789"), ("u16", "4")], &page_error("Quickforward Rule was not found", &[])).await;
    refused(&app, &[("user_id", "789"), ("u16", "abc")], &page_error("Quickforward Rule was not found", &[])).await;
}

#[tokio::test]
async fn b14_u16_0_clears_the_rule_and_an_absent_u16_keeps_it() {
    let app = TestApp::spawn().await;
    assert_eq!(app.col(123, "quickforwards_rule_id").await, "1");
    ok(&app, &[("user_id", "123"), ("u15", "1")]).await;
    assert_eq!(app.col(123, "quickforwards_rule_id").await, "1");
    ok(&app, &[("user_id", "123"), ("u16", "0")]).await;
    assert_eq!(app.col(123, "quickforwards_rule_id").await, "0");
}

#[tokio::test]
async fn b15_a_responsible_accountant_cannot_be_given_to_an_accountant() {
    let app = TestApp::spawn().await;
    let expected = page_error("Responsible accountant is not valid", &[]);
    let body = refused(&app, &[("user_id", "300"), ("u31", "301")], &expected).await;
    insta::assert_snapshot!("responsible_accountant_not_valid", body);
    refused(&app, &[("user_id", "301"), ("u31", "300")], &expected).await;
    refused(&app, &[("user_id", "0"), ("u31", "300")], &expected).await;
}

#[tokio::test]
async fn b15_a_responsible_accountant_must_be_a_visible_accountant() {
    let app = TestApp::spawn().await;
    app.sql("INSERT INTO users (id, username, usertype, owner_id, hidden, acc_group_id) VALUES (304, 'ghost', 'accountant', 0, 1, 1);")
        .await;
    let expected = page_error("Responsible accountant is not valid", &[]);
    for id in ["304", "123", "200", "0", "999", "abc", "-2", ""] {
        refused(&app, &[("user_id", "123"), ("u31", id)], &expected).await;
    }
}

#[tokio::test]
async fn b16_a_responsible_accountant_is_assigned_to_a_user_and_to_a_reseller() {
    let app = TestApp::spawn().await;
    ok(&app, &[("user_id", "123"), ("u31", "300")]).await;
    assert_eq!(app.col(123, "responsible_accountant_id").await, "300");
    ok(&app, &[("user_id", "200"), ("u31", "301")]).await;
    assert_eq!(app.col(200, "responsible_accountant_id").await, "301");
    // -1 unassigns.
    ok(&app, &[("user_id", "123"), ("u31", "-1")]).await;
    assert_eq!(app.col(123, "responsible_accountant_id").await, "-1");
    // An accountant may assign too.
    ok_as(&app, ACCOUNTANT, ADMIN_KEY, &[("user_id", "789"), ("u31", "301")]).await;
    assert_eq!(app.col(789, "responsible_accountant_id").await, "301");
}

#[tokio::test]
async fn b16_a_reseller_may_not_assign_responsible_accountants() {
    let app = TestApp::spawn().await;
    refused_as(
        &app,
        RESELLER,
        RESELLER_KEY,
        &[("user_id", "201"), ("u31", "-1")],
        &denied(&["You may not change u31 (responsible accountant)"]),
    )
    .await;
}

#[tokio::test]
async fn b17_a_short_weak_password_lists_both_problems() {
    let app = TestApp::spawn().await;
    let body = refused(
        &app,
        &[("user_id", "123"), ("pswd", "bb")],
        &not_updated(&[
            "Password must contain at least one numeric value, capital and lowercase symbol",
            "Password must be longer than 7 characters",
        ]),
    )
    .await;
    insta::assert_snapshot!("password_weak_and_short", body);
}

#[tokio::test]
async fn b17_without_strong_passwords_only_the_length_counts() {
    let app = TestApp::spawn().await;
    app.set_setting(0, "use_strong_passwords_for_users", "0").await;
    app.set_setting(0, "default_user_password_length", "6").await;
    refused(&app, &[("user_id", "123"), ("pswd", "abc")], &not_updated(&["Password must be longer than 5 characters"]))
        .await;
    ok(&app, &[("user_id", "123"), ("pswd", "abcdef")]).await;
    assert!(app.col(123, "password").await.starts_with("$argon2id$"));
}

#[tokio::test]
async fn b17_a_resellers_password_length_applies_to_his_users() {
    let app = TestApp::spawn().await;
    app.set_setting(200, "default_user_password_length", "12").await;
    refused_as(
        &app,
        RESELLER,
        RESELLER_KEY,
        &[("user_id", "201"), ("pswd", "Secret123")],
        &not_updated(&["Password must be longer than 11 characters"]),
    )
    .await;
    // The admin's users keep the admin's minimum.
    ok(&app, &[("user_id", "123"), ("pswd", "Secret123")]).await;
}

#[tokio::test]
async fn b18_an_accountant_sending_a_weak_password_is_told_why() {
    let app = TestApp::spawn().await;
    refused_as(
        &app,
        ACCOUNTANT,
        ADMIN_KEY,
        &[("user_id", "123"), ("pswd", "ccaassdd")],
        &not_updated(&["Password must contain at least one numeric value, capital and lowercase symbol"]),
    )
    .await;
}

#[tokio::test]
async fn b19_a_username_shorter_than_the_minimum_is_refused() {
    let app = TestApp::spawn().await;
    app.set_setting(0, "default_user_username_length", "3").await;
    let body =
        refused(&app, &[("user_id", "123"), ("u9", "1")], &not_updated(&["Username must be longer than 2 characters"]))
            .await;
    insta::assert_snapshot!("username_too_short", body);
    ok(&app, &[("user_id", "123"), ("u9", "jon")]).await;
    assert_eq!(app.col(123, "username").await, "jon");
}

#[tokio::test]
async fn b19_a_resellers_username_length_applies_to_his_users() {
    let app = TestApp::spawn().await;
    app.set_setting(200, "default_user_username_length", "5").await;
    refused_as(
        &app,
        RESELLER,
        RESELLER_KEY,
        &[("user_id", "201"), ("u9", "ali")],
        &not_updated(&["Username must be longer than 4 characters"]),
    )
    .await;
    ok_as(&app, RESELLER, RESELLER_KEY, &[("user_id", "201"), ("u9", "alice2")]).await;
    assert_eq!(app.col(201, "username").await, "alice2");
}

#[tokio::test]
async fn b20_the_admin_may_use_only_his_own_pbx_pool() {
    let app = TestApp::spawn().await;
    let body = refused(&app, &[("user_id", "123"), ("u29", "2")], &page_error("PBX Pool was not found", &[])).await;
    insta::assert_snapshot!("pbx_pool_not_found", body);
    refused(&app, &[("user_id", "123"), ("u29", "9")], &page_error("PBX Pool was not found", &[])).await;
    ok(&app, &[("user_id", "123"), ("u29", "1")]).await;
    assert_eq!(app.col(123, "pbx_pool_id").await, "1");
    ok(&app, &[("user_id", "123"), ("u29", "0")]).await;
    assert_eq!(app.col(123, "pbx_pool_id").await, "0");
}

#[tokio::test]
async fn b20_a_reseller_with_pbx_functions_uses_his_own_pool() {
    let app = TestApp::spawn().await;
    refused_as(
        &app,
        RESELLER,
        RESELLER_KEY,
        &[("user_id", "201"), ("u29", "1")],
        &page_error("PBX Pool was not found", &[]),
    )
    .await;
    ok_as(&app, RESELLER, RESELLER_KEY, &[("user_id", "201"), ("u29", "2")]).await;
    assert_eq!(app.col(201, "pbx_pool_id").await, "2");
}

#[tokio::test]
async fn b20_a_reseller_without_pbx_functions_may_not_set_a_pool() {
    let app = TestApp::spawn().await;
    app.sql("DELETE FROM acc_group_rights WHERE acc_group_id = 3 AND acc_right_id = 9;").await;
    refused_as(
        &app,
        RESELLER,
        RESELLER_KEY,
        &[("user_id", "201"), ("u29", "2")],
        &denied(&["You may not change u29 (PBX pool)"]),
    )
    .await;
}

#[tokio::test]
async fn b21_a_reseller_uses_admin_tariffs_only_when_allowed_and_never_provider_tariffs() {
    let app = TestApp::spawn().await;
    let not_found = page_error("Tariff not found", &[]);
    refused_as(&app, RESELLER, RESELLER_KEY, &[("user_id", "202"), ("u5", "1")], &not_found).await;
    app.set_setting(0, "allow_resellers_to_use_admin_tariffs", "1").await;
    ok_as(&app, RESELLER, RESELLER_KEY, &[("user_id", "202"), ("u5", "1")]).await;
    assert_eq!(app.col(202, "tariff_id").await, "1");
    ok_as(&app, RESELLER, RESELLER_KEY, &[("user_id", "202"), ("u5", "2")]).await;
    assert_eq!(app.col(202, "tariff_id").await, "2");
    refused_as(&app, RESELLER, RESELLER_KEY, &[("user_id", "202"), ("u5", "3")], &not_found).await;
}

#[tokio::test]
async fn b21_a_reseller_may_resubmit_the_admin_tariff_assigned_while_it_was_allowed() {
    let app = TestApp::spawn().await;
    app.set_setting(0, "allow_resellers_to_use_admin_tariffs", "1").await;
    ok_as(&app, RESELLER, RESELLER_KEY, &[("user_id", "202"), ("u5", "2")]).await;
    app.set_setting(0, "allow_resellers_to_use_admin_tariffs", "0").await;
    ok_as(&app, RESELLER, RESELLER_KEY, &[("user_id", "202"), ("u5", "2"), ("u15", "1")]).await;
    assert_eq!(app.col(202, "blocked").await, "1");
    refused_as(&app, RESELLER, RESELLER_KEY, &[("user_id", "202"), ("u5", "1")], &page_error("Tariff not found", &[]))
        .await;
    // His own tariff is always fine.
    ok_as(&app, RESELLER, RESELLER_KEY, &[("user_id", "202"), ("u5", "4")]).await;
    assert_eq!(app.col(202, "tariff_id").await, "4");
}

#[tokio::test]
async fn sending_back_the_references_a_user_already_has_is_never_refused() {
    // Reading a user and writing the same values back must not fail, whoever owns the records.
    let app = TestApp::spawn().await;
    // Reseller 200 holds an LCR of his own (3); the admin's LCR rule alone would refuse it.
    ok(&app, &[("user_id", "200"), ("u1", "3")]).await;
    refused(&app, &[("user_id", "200"), ("u1", "3x")], &page_error("LCR was not found", &[])).await;
    // A reseller's user with an admin rule and a provider tariff the admin once assigned: the
    // reseller may send them back unchanged, though he may not assign them.
    app.sql("UPDATE users SET quickforwards_rule_id = 1, tariff_id = 3 WHERE id = 201;").await;
    ok_as(&app, RESELLER, RESELLER_KEY, &[("user_id", "201"), ("u16", "1"), ("u5", "3")]).await;
    refused_as(
        &app,
        RESELLER,
        RESELLER_KEY,
        &[("user_id", "201"), ("u16", "3")],
        &page_error("Quickforward Rule was not found", &[]),
    )
    .await;
    app.sql("UPDATE users SET tariff_id = 4 WHERE id = 201;").await;
    refused_as(&app, RESELLER, RESELLER_KEY, &[("user_id", "201"), ("u5", "3")], &page_error("Tariff not found", &[]))
        .await;
    // Nothing was written for the unchanged values.
    assert!(app.changes().await.is_empty());
}

#[tokio::test]
async fn b21_the_admin_may_assign_any_admin_tariff_even_a_provider_tariff() {
    let app = TestApp::spawn().await;
    ok(&app, &[("user_id", "123"), ("u5", "3")]).await;
    assert_eq!(app.col(123, "tariff_id").await, "3");
    refused(&app, &[("user_id", "123"), ("u5", "4")], &page_error("Tariff not found", &[])).await;
    refused(&app, &[("user_id", "123"), ("u5", "0")], &page_error("Tariff not found", &[])).await;
    refused(&app, &[("user_id", "123"), ("u5", "x")], &page_error("Tariff not found", &[])).await;
}

#[tokio::test]
async fn b22_a_wrong_hash_is_refused_and_recorded_without_parameter_values() {
    let app = TestApp::spawn().await;
    let before = app.state().await;
    let r = app
        .post(&format!("{UPDATE}?u=admin&user_id=123&u15=1&u0=SECRETVAT&hash=1111111111111111111111111111111111111111"))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, status_error("Incorrect hash"));
    assert_eq!(app.state().await, before);
    // Recorded (counted for the pair of name and address), without any parameter value.
    let rows = app.refusals_of("admin").await;
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].count, rows[0].last_error.as_str()), (1, "Incorrect hash"));
    assert!(!format!("{rows:?}").contains("SECRETVAT"));
}

#[tokio::test]
async fn b23_get_is_refused_while_get_requests_are_disabled() {
    let app = TestApp::spawn().await;
    let before = app.state().await;
    let r =
        app.get(&format!("{UPDATE}?{}", signed_query("admin", ADMIN_KEY, &[("user_id", "123"), ("u15", "1")]))).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, status_error("GET Requests are disabled"));
    assert_eq!(app.state().await, before);
    insta::assert_snapshot!("get_requests_disabled", r.body);
}

#[tokio::test]
async fn b24_api_requests_are_refused_while_the_api_is_disabled() {
    let app = TestApp::spawn().await;
    app.set_setting(0, "allow_api", "0").await;
    let body = refused(&app, &[("user_id", "123"), ("u15", "1")], &status_error("API Requests are disabled")).await;
    insta::assert_snapshot!("api_requests_disabled", body);
    // Accountants and unknown usernames are in the admin's scope too.
    refused_as(&app, ACCOUNTANT, ADMIN_KEY, &[("user_id", "123")], &status_error("API Requests are disabled")).await;
    refused_as(&app, "nosuchuser", ADMIN_KEY, &[("user_id", "123")], &status_error("API Requests are disabled")).await;
}

#[tokio::test]
async fn b24_a_reseller_passes_when_either_his_own_or_the_global_api_switch_is_on() {
    let app = TestApp::spawn().await;
    // Global off, own on: his own key works.
    app.set_setting(0, "allow_api", "0").await;
    ok_as(&app, RESELLER, RESELLER_KEY, &[("user_id", "201"), ("u15", "1")]).await;
    // Both off.
    app.set_setting(200, "allow_api", "0").await;
    refused_as(
        &app,
        RESELLER,
        RESELLER_KEY,
        &[("user_id", "201"), ("u15", "0")],
        &status_error("API Requests are disabled"),
    )
    .await;
    // Own off, global on: the admin's key works.
    app.set_setting(0, "allow_api", "1").await;
    ok_as(&app, RESELLER, ADMIN_KEY, &[("user_id", "201"), ("u15", "0")]).await;
}

#[tokio::test]
async fn b25_an_empty_admin_key_answers_api_must_have_secret_key() {
    let app = TestApp::spawn().await;
    app.set_setting(0, "api_secret_key", "").await;
    let body = refused(&app, &[("user_id", "123"), ("u15", "1")], &status_error("API must have Secret Key")).await;
    insta::assert_snapshot!("api_must_have_secret_key", body);
}

#[tokio::test]
async fn b26_an_accountant_without_write_permission_is_refused_before_the_tariff_is_checked() {
    // MOR lets the last failing check win ("Tariff was not found"); docs/contract.md §5 lets the first
    // failing step answer: the editing permission (step 6) comes before references (step 8).
    let app = TestApp::spawn().await;
    refused_as(
        &app,
        VIEWER,
        ADMIN_KEY,
        &[("user_id", "123"), ("u5", "999")],
        &page_error("You have no editing permission", &[]),
    )
    .await;
}

#[tokio::test]
async fn b27_invoice_types_replace_the_whole_mask() {
    let app = TestApp::spawn().await;
    app.sql("UPDATE users SET send_invoice_types = 6 WHERE id = 123;").await;
    ok(&app, &[("user_id", "123"), ("i4", "16")]).await;
    assert_eq!(app.col(123, "send_invoice_types").await, "16");
    ok(&app, &[("user_id", "123"), ("i1", "2"), ("i3", "8"), ("i4", "0")]).await;
    assert_eq!(app.col(123, "send_invoice_types").await, "10");
    ok(&app, &[("user_id", "123"), ("i1", "2"), ("i2", "4"), ("i3", "8"), ("i4", "16")]).await;
    assert_eq!(app.col(123, "send_invoice_types").await, "30");
    // Absent invoice types leave the mask alone.
    ok(&app, &[("user_id", "123"), ("u15", "1")]).await;
    assert_eq!(app.col(123, "send_invoice_types").await, "30");
}

#[tokio::test]
async fn b27_an_invoice_type_accepts_only_0_or_its_own_bit() {
    let app = TestApp::spawn().await;
    refused(&app, &[("user_id", "123"), ("i1", "1")], &not_updated(&["i1 (invoice PDF) must be 0 or 2, got \"1\""]))
        .await;
    refused(
        &app,
        &[("user_id", "123"), ("i4", "on")],
        &not_updated(&["i4 (invoice detailed CSV) must be 0 or 16, got \"on\""]),
    )
    .await;
}

#[tokio::test]
async fn b28_negative_credit_is_stored_as_0() {
    let app = TestApp::spawn().await;
    ok(&app, &[("user_id", "789"), ("credit", "-5")]).await;
    assert_eq!(app.col(789, "credit").await, "0");
    let changes = app.changes().await;
    assert_eq!(triples(&changes), vec![t("credit", "100", "0")]);
}

#[tokio::test]
async fn b28_a_comma_is_accepted_as_decimal_separator_in_credit() {
    let app = TestApp::spawn().await;
    ok(&app, &[("user_id", "123"), ("credit", "1,5")]).await;
    assert_eq!(app.col(123, "credit").await, "1.5");
}

#[tokio::test]
async fn b28_credit_unlimited_sets_minus_1_and_wins_over_credit() {
    let app = TestApp::spawn().await;
    ok(&app, &[("user_id", "123"), ("credit_unlimited", "1")]).await;
    assert_eq!(app.col(123, "credit").await, "-1");
    ok(&app, &[("user_id", "789"), ("credit", "50"), ("credit_unlimited", "1")]).await;
    assert_eq!(app.col(789, "credit").await, "-1");
}

#[tokio::test]
async fn b28_credit_unlimited_0_without_credit_ends_unlimited_credit_only() {
    let app = TestApp::spawn().await;
    ok(&app, &[("user_id", "789"), ("credit_unlimited", "0")]).await;
    assert_eq!(app.col(789, "credit").await, "100");
    app.sql("UPDATE users SET credit = '-1' WHERE id = 123;").await;
    ok(&app, &[("user_id", "123"), ("credit_unlimited", "0")]).await;
    assert_eq!(app.col(123, "credit").await, "0");
}

#[tokio::test]
async fn b28_credit_that_is_not_a_number_is_refused() {
    let app = TestApp::spawn().await;
    for bad in ["abc", "1e5", "1.2.3"] {
        let msg = format!("credit (credit) must be a number, got \"{bad}\"");
        refused(&app, &[("user_id", "123"), ("credit", bad)], &not_updated(&[&msg])).await;
    }
}

#[tokio::test]
async fn amounts_beyond_what_every_engine_stores_are_refused() {
    // DECIMAL(30,15) on the server engines; SQLite keeps the same limit so every engine agrees.
    let app = TestApp::spawn().await;
    for (name, label, bad) in [
        ("credit", "credit", "1000000000000000"),
        ("tax2_value", "tax 2 value", "-1000000000000000"),
        ("u6", "warning e-mail balance", "0.0000000000000001"),
    ] {
        let msg = format!(
            "{name} ({label}) must be a number with at most 15 digits before and 15 after the point, got \"{bad}\""
        );
        refused(&app, &[("user_id", "123"), (name, bad)], &not_updated(&[&msg])).await;
    }
    ok(&app, &[("user_id", "123"), ("credit", "999999999999999.9999999999999")]).await;
    assert_eq!(app.col(123, "credit").await, "999999999999999.9999999999999");
}

// ---------------------------------------------------------------------------------------------
// Order of checks (docs/contract.md §5): the first failing step answers
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_target_lookup_comes_before_the_editing_permission() {
    let app = TestApp::spawn().await;
    refused_as(&app, VIEWER, ADMIN_KEY, &[("user_id", "201"), ("u15", "1")], &page_error("User was not found", &[]))
        .await;
}

#[tokio::test]
async fn the_editing_permission_comes_before_field_permissions() {
    let app = TestApp::spawn().await;
    refused_as(
        &app,
        VIEWER,
        ADMIN_KEY,
        &[("user_id", "123"), ("u29", "1")],
        &page_error("You have no editing permission", &[]),
    )
    .await;
}

#[tokio::test]
async fn field_permissions_come_before_references() {
    let app = TestApp::spawn().await;
    refused_as(
        &app,
        RESELLER,
        RESELLER_KEY,
        &[("user_id", "201"), ("u28", "1"), ("u5", "99")],
        &denied(&["You may not change u28 (hidden)"]),
    )
    .await;
}

#[tokio::test]
async fn references_are_checked_in_mors_order() {
    let app = TestApp::spawn().await;
    let base = [("user_id", "123")];
    let cases: [(&[(&str, &str)], &str); 5] = [
        (&[("u5", "99"), ("u29", "99"), ("u1", "99"), ("u31", "99"), ("u16", "99"), ("u4", "99")], "Tariff not found"),
        (&[("u29", "99"), ("u1", "99"), ("u31", "99"), ("u16", "99"), ("u4", "99")], "PBX Pool was not found"),
        (&[("u1", "99"), ("u31", "99"), ("u16", "99"), ("u4", "99")], "LCR was not found"),
        (&[("u31", "99"), ("u16", "99"), ("u4", "99")], "Responsible accountant is not valid"),
        (&[("u16", "99"), ("u4", "99")], "Quickforward Rule was not found"),
    ];
    for (extra, error) in cases {
        let pairs: Vec<(&str, &str)> = base.iter().chain(extra.iter()).copied().collect();
        refused(&app, &pairs, &page_error(error, &[])).await;
    }
}

#[tokio::test]
async fn references_come_before_values() {
    let app = TestApp::spawn().await;
    refused(
        &app,
        &[("user_id", "123"), ("u4", "99"), ("u15", "abc")],
        &not_updated(&["u4 (currency) was not found: 99"]),
    )
    .await;
    refused(&app, &[("user_id", "123"), ("u5", "99"), ("u15", "abc")], &page_error("Tariff not found", &[])).await;
}

// ---------------------------------------------------------------------------------------------
// Field permissions (step 7)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_reseller_may_not_hide_users_assign_groups_or_accountants_or_monitorings() {
    let app = TestApp::spawn().await;
    let body = refused_as(
        &app,
        RESELLER,
        RESELLER_KEY,
        &[
            ("user_id", "201"),
            ("ignore_global_monitorings", "1"),
            ("u31", "300"),
            ("accountant_type", "3"),
            ("u28", "1"),
        ],
        &denied(&[
            "You may not change u28 (hidden)",
            "You may not change accountant_type (accountant group)",
            "You may not change u31 (responsible accountant)",
            "You may not change ignore_global_monitorings (ignore global monitorings)",
        ]),
    )
    .await;
    insta::assert_snapshot!("reseller_refused_fields_in_catalogue_order", body);
}

#[tokio::test]
async fn a_reseller_may_set_only_the_user_type_user() {
    let app = TestApp::spawn().await;
    refused_as(
        &app,
        RESELLER,
        RESELLER_KEY,
        &[("user_id", "201"), ("u13", "reseller")],
        &denied(&["You may not change u13 (usertype)"]),
    )
    .await;
    ok_as(&app, RESELLER, RESELLER_KEY, &[("user_id", "201"), ("u13", "user")]).await;
    assert_eq!(app.col(201, "usertype").await, "user");
}

#[tokio::test]
async fn a_reseller_pro_may_not_change_privacy_or_cyberplat_but_a_plain_reseller_may() {
    let app = TestApp::spawn().await;
    ok_as(&app, RESELLER, RESELLER_KEY, &[("user_id", "201"), ("pgui", "1"), ("u21", "1")]).await;
    assert_eq!(app.col(201, "hide_destination_end").await, "1");
    assert_eq!(app.col(201, "cyberplat_active").await, "1");
    app.sql("UPDATE users SET own_providers = 1 WHERE id = 200;").await;
    refused_as(
        &app,
        RESELLER,
        RESELLER_KEY,
        &[("user_id", "201"), ("u3", "0"), ("pgui", "0"), ("cyberplat_active", "0")],
        &denied(&[
            "You may not change u3 (hide destination end)",
            "You may not change pgui (privacy GUI)",
            "You may not change cyberplat_active (cyberplat active)",
        ]),
    )
    .await;
}

#[tokio::test]
async fn an_accountant_needs_the_matching_right_for_gated_fields() {
    let app = TestApp::spawn().await;
    add_clerk_without_field_rights(&app).await;
    refused_as(
        &app,
        "clerk",
        ADMIN_KEY,
        &[
            ("user_id", "123"),
            ("u1", "2"),
            ("u5", "2"),
            ("u13", "user"),
            ("u18", "5"),
            ("u25", "0"),
            ("u28", "1"),
            ("pswd", "Secret123"),
        ],
        &denied(&[
            "You may not change u1 (LCR)",
            "You may not change u5 (tariff)",
            "You may not change u13 (usertype)",
            "You may not change u18 (call limit)",
            "You may not change u25 (postpaid)",
            "You may not change u28 (hidden)",
            "You may not change pswd (password)",
        ]),
    )
    .await;
    // Fields not gated by a right are his to change.
    ok_as(&app, "clerk", ADMIN_KEY, &[("user_id", "123"), ("u15", "1"), ("u23", "Jon")]).await;
    assert_eq!(app.col(123, "first_name").await, "Jon");
}

#[tokio::test]
async fn an_accountant_with_all_rights_changes_gated_fields() {
    let app = TestApp::spawn().await;
    ok_as(
        &app,
        ACCOUNTANT,
        ADMIN_KEY,
        &[
            ("user_id", "123"),
            ("u1", "2"),
            ("u5", "2"),
            ("u13", "user"),
            ("u18", "5"),
            ("u28", "1"),
            ("pswd", "Secret123"),
        ],
    )
    .await;
    assert_eq!(app.col(123, "lcr_id").await, "2");
    assert_eq!(app.col(123, "tariff_id").await, "2");
    assert_eq!(app.col(123, "call_limit").await, "5");
    assert_eq!(app.col(123, "hidden").await, "1");
    assert!(app.col(123, "password").await.starts_with("$argon2id$"));
}

#[tokio::test]
async fn an_accountant_never_sets_the_pbx_pool_hide_non_answered_calls_or_admin_usertype() {
    let app = TestApp::spawn().await;
    refused_as(
        &app,
        ACCOUNTANT,
        ADMIN_KEY,
        &[("user_id", "123"), ("u13", "admin"), ("u29", "1"), ("u30", "1")],
        &denied(&[
            "You may not change u13 (usertype)",
            "You may not change u29 (PBX pool)",
            "You may not change u30 (hide non-answered calls)",
        ]),
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// Other references (step 8, collected into `User was not updated`)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn each_unknown_reference_is_named_with_its_value() {
    let app = TestApp::spawn().await;
    let cases = [
        ("u4", "0", "u4 (currency) was not found: 0"),
        ("u4", "99", "u4 (currency) was not found: 99"),
        ("u7", "-1", "u7 (spy device) was not found: -1"),
        ("u11", "x", "u11 (accountant/reseller group) was not found: x"),
        ("u14", "99", "u14 (taxation country) was not found: 99"),
        ("u24", "99", "u24 (warning balance sound file) was not found: 99"),
        ("accountant_type", "99", "accountant_type (accountant group) was not found: 99"),
        ("a6", "99", "a6 (country) was not found: 99"),
        ("static_source_list_id", "99", "static_source_list_id (static source list number pool) was not found: 99"),
        ("static_list_id", "abc", "static_list_id (static destination list number pool) was not found: abc"),
    ];
    for (param, value, message) in cases {
        let body = refused(&app, &[("user_id", "301"), (param, value)], &not_updated(&[message])).await;
        if param == "a6" {
            insta::assert_snapshot!("reference_not_found", body);
        }
    }
}

#[tokio::test]
async fn unknown_references_are_listed_in_the_order_behaviour_md_gives() {
    let app = TestApp::spawn().await;
    refused(
        &app,
        &[
            ("user_id", "301"),
            ("accountant_type", "99"),
            ("u11", "99"),
            ("static_list_id", "99"),
            ("static_source_list_id", "99"),
            ("u7", "99"),
            ("u24", "99"),
            ("a6", "99"),
            ("u14", "99"),
            ("u4", "99"),
        ],
        &not_updated(&[
            "u4 (currency) was not found: 99",
            "u14 (taxation country) was not found: 99",
            "a6 (country) was not found: 99",
            "u24 (warning balance sound file) was not found: 99",
            "u7 (spy device) was not found: 99",
            "static_source_list_id (static source list number pool) was not found: 99",
            "static_list_id (static destination list number pool) was not found: 99",
            "u11 (accountant/reseller group) was not found: 99",
            "accountant_type (accountant group) was not found: 99",
        ]),
    )
    .await;
}

#[tokio::test]
async fn all_unknown_references_are_reported_together() {
    let app = TestApp::spawn().await;
    let before = app.state().await;
    let body = app.update(&[("user_id", "123"), ("a6", "99"), ("u14", "98"), ("u11", "x"), ("u4", "0")]).await;
    assert_eq!(app.state().await, before);
    assert!(body.starts_with(&not_updated(&[]).replace("</page>\n", "")), "{body}");
    for m in [
        "<message>u4 (currency) was not found: 0</message>",
        "<message>u11 (accountant/reseller group) was not found: x</message>",
        "<message>u14 (taxation country) was not found: 98</message>",
        "<message>a6 (country) was not found: 99</message>",
    ] {
        assert!(body.contains(m), "{m} missing from {body}");
    }
    assert_eq!(body.matches("<message>").count(), 4);
}

#[tokio::test]
async fn existing_references_are_stored_and_0_clears_optional_ones() {
    let app = TestApp::spawn().await;
    ok(&app, &[("user_id", "123"), ("u4", "2"), ("u14", "3"), ("a6", "4"), ("u7", "2"), ("u24", "1"), ("u11", "1")])
        .await;
    assert_eq!(app.col(123, "currency_id").await, "2");
    assert_eq!(app.col(123, "taxation_country").await, "3");
    assert_eq!(app.col(123, "spy_device_id").await, "2");
    assert_eq!(app.col(123, "warning_balance_sound_file_id").await, "1");
    assert_eq!(app.col(123, "acc_group_id").await, "1");
    assert_eq!(address_col(&app, 1, "direction_id").await, "4");
    ok(&app, &[("user_id", "123"), ("u14", "0"), ("a6", "0"), ("u7", "0"), ("u24", "0"), ("u11", "0")]).await;
    assert_eq!(app.col(123, "taxation_country").await, "0");
    assert_eq!(app.col(123, "spy_device_id").await, "0");
    assert_eq!(app.col(123, "warning_balance_sound_file_id").await, "0");
    assert_eq!(app.col(123, "acc_group_id").await, "0");
    assert_eq!(address_col(&app, 1, "direction_id").await, "0");
}

#[tokio::test]
async fn a_reseller_uses_only_devices_of_his_users_and_his_or_the_admins_sound_files() {
    let app = TestApp::spawn().await;
    refused_as(
        &app,
        RESELLER,
        RESELLER_KEY,
        &[("user_id", "201"), ("u7", "1")],
        &not_updated(&["u7 (spy device) was not found: 1"]),
    )
    .await;
    ok_as(&app, RESELLER, RESELLER_KEY, &[("user_id", "201"), ("u7", "3"), ("u24", "2")]).await;
    assert_eq!(app.col(201, "spy_device_id").await, "3");
    assert_eq!(app.col(201, "warning_balance_sound_file_id").await, "2");
    ok_as(&app, RESELLER, RESELLER_KEY, &[("user_id", "201"), ("u24", "1")]).await;
    assert_eq!(app.col(201, "warning_balance_sound_file_id").await, "1");
}

// ---------------------------------------------------------------------------------------------
// Values (step 9) and what a change means (docs/contract.md §5.4)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn every_bad_value_is_listed_in_catalogue_order() {
    let app = TestApp::spawn().await;
    let body = refused(
        &app,
        &[
            ("user_id", "123"),
            ("a8", "not-an-email"),
            ("u15", "<yes>"),
            ("time_zone", "Mars/Olympus"),
            ("u10", "on"),
            ("u6", "ten & more"),
            ("u0", &"V".repeat(31)),
        ],
        &not_updated(&[
            "u0 (VAT number) is too long (maximum 30 characters)",
            "u6 (warning e-mail balance) must be a number, got \"ten &amp; more\"",
            "u10 (warning balance call) must be 0 or 1, got \"on\"",
            "u15 (blocked) must be 0 or 1, got \"&lt;yes&gt;\"",
            "Please enter correct email",
            "Time zone was not found: Mars/Olympus",
        ]),
    )
    .await;
    insta::assert_snapshot!("all_problems_listed", body);
}

#[tokio::test]
async fn problems_of_dates_and_switches_are_listed_at_their_catalogue_position() {
    let app = TestApp::spawn().await;
    refused(
        &app,
        &[("user_id", "123"), ("u9", ""), ("ay", "2023"), ("am", "2"), ("ad", "29"), ("pcsv", "3"), ("a8", "bad")],
        &not_updated(&[
            "Username cannot be blank",
            "Agreement date is not a valid date: 2023-2-29",
            "pcsv (privacy CSV) must be 0, 1 or 2, got \"3\"",
            "Please enter correct email",
        ]),
    )
    .await;
}

#[tokio::test]
async fn unchanged_values_are_written_but_not_audited() {
    let app = TestApp::spawn().await;
    ok(&app, &[("user_id", "123"), ("u15", "0"), ("u23", "John"), ("credit", "0.00"), ("a1", "Vilnius")]).await;
    assert!(app.changes().await.is_empty());
}

#[tokio::test]
async fn the_audit_trail_has_one_row_per_changed_field() {
    let app = TestApp::spawn().await;
    ok(
        &app,
        &[("user_id", "123"), ("u23", "Johnny"), ("u17", "Smyth"), ("u15", "0"), ("a1", "Kaunas"), ("tax1_value", "5")],
    )
    .await;
    let changes = app.changes().await;
    assert_eq!(
        triples(&changes),
        vec![
            t("addresses.city", "Vilnius", "Kaunas"),
            t("first_name", "John", "Johnny"),
            t("last_name", "Smith", "Smyth"),
            t("taxes.tax1_value", "21", "5"),
        ]
    );
    let request_id = changes[0].request_id.clone();
    assert!(!request_id.is_empty());
    for c in &changes {
        assert_eq!(c.event, AuditEvent::Change);
        assert_eq!(c.actor_id, Some(0));
        assert_eq!(c.actor_username, "admin");
        assert_eq!(c.target_id, Some(123));
        assert_eq!(c.endpoint, "user_details_update");
        assert_eq!(c.client_addr, "127.0.0.1");
        assert_eq!(c.request_id, request_id);
        assert!(!c.created_at.is_empty());
    }
    assert_eq!(app.col(123, "first_name").await, "Johnny");
    assert_eq!(app.col(123, "last_name").await, "Smyth");
    assert_eq!(tax_col(&app, 1, "tax1_value").await, "5");
}

#[tokio::test]
async fn a_new_password_is_stored_as_argon2id_and_audited_as_changed() {
    let app = TestApp::spawn().await;
    ok(&app, &[("user_id", "123"), ("pswd", "Secret123")]).await;
    let stored = app.col(123, "password").await;
    assert!(stored.starts_with("$argon2id$"), "{stored}");
    assert!(!stored.contains("Secret123"));
    assert!(morapi::password::verify("Secret123", &stored));
    let audit = app.audit().await;
    assert_eq!(triples(&audit), vec![t("password", "", "changed")]);
    assert!(!format!("{audit:?}").contains("Secret123"));
    assert!(!format!("{audit:?}").contains(&stored));
}

#[tokio::test]
async fn a_blank_password_means_no_change() {
    let app = TestApp::spawn().await;
    ok(&app, &[("user_id", "123"), ("pswd", "Secret123")]).await;
    let stored = app.col(123, "password").await;
    ok(&app, &[("user_id", "123"), ("pswd", ""), ("u15", "1")]).await;
    assert_eq!(app.col(123, "password").await, stored);
    ok(&app, &[("user_id", "123"), ("pswd", "   ")]).await;
    assert_eq!(app.col(123, "password").await, stored);
}

#[tokio::test]
async fn a_reseller_sets_passwords_of_his_users_and_his_own() {
    let app = TestApp::spawn().await;
    ok_as(&app, RESELLER, RESELLER_KEY, &[("user_id", "201"), ("pswd", "Alice1234")]).await;
    assert!(morapi::password::verify("Alice1234", &app.col(201, "password").await));
    ok_as(&app, RESELLER, RESELLER_KEY, &[("user_id", "200"), ("pswd", "Reseller99")]).await;
    assert!(morapi::password::verify("Reseller99", &app.col(200, "password").await));
}

#[tokio::test]
async fn a_taken_or_blank_username_is_refused() {
    let app = TestApp::spawn().await;
    refused(&app, &[("user_id", "123"), ("u9", "jane")], &not_updated(&["Username has already been taken"])).await;
    refused(&app, &[("user_id", "123"), ("u9", " ")], &not_updated(&["Username cannot be blank"])).await;
    refused(
        &app,
        &[("user_id", "123"), ("u9", &"j".repeat(31))],
        &not_updated(&["u9 (username) is too long (maximum 30 characters)"]),
    )
    .await;
    // His own name is not "taken".
    ok(&app, &[("user_id", "123"), ("u9", "john")]).await;
}

#[tokio::test]
async fn privacy_switches_store_the_sum_of_their_bits() {
    let app = TestApp::spawn().await;
    ok(&app, &[("user_id", "123"), ("pgui", "1"), ("pcsv", "2"), ("ppdf", "4")]).await;
    assert_eq!(app.col(123, "hide_destination_end").await, "7");
    // The seed's [0-off, 1-on]: 1 switches a part on whatever its bit; unsent parts are off.
    ok(&app, &[("user_id", "123"), ("pcsv", "1")]).await;
    assert_eq!(app.col(123, "hide_destination_end").await, "2");
    ok(&app, &[("user_id", "123"), ("pgui", "1"), ("ppdf", "1")]).await;
    assert_eq!(app.col(123, "hide_destination_end").await, "5");
    ok(&app, &[("user_id", "123"), ("pgui", "0")]).await;
    assert_eq!(app.col(123, "hide_destination_end").await, "0");
}

#[tokio::test]
async fn u3_sets_privacy_only_when_no_switch_is_sent() {
    let app = TestApp::spawn().await;
    ok(&app, &[("user_id", "123"), ("u3", "5")]).await;
    assert_eq!(app.col(123, "hide_destination_end").await, "5");
    ok(&app, &[("user_id", "123"), ("u3", "-1")]).await;
    assert_eq!(app.col(123, "hide_destination_end").await, "-1");
    ok(&app, &[("user_id", "123"), ("u3", "3"), ("ppdf", "4")]).await;
    assert_eq!(app.col(123, "hide_destination_end").await, "4");
}

#[tokio::test]
async fn updating_a_reseller_changes_only_what_was_sent() {
    // MOR's defects (docs/contract.md §10 item 3): every reseller update reset his users' LCRs, PBX side
    // effects ran without u29, billing settings were reset. morapi writes only the sent columns.
    let app = TestApp::spawn().await;
    app.sql("UPDATE users SET lcr_id = 2 WHERE id = 202; UPDATE users SET pbx_pool_id = 1 WHERE id = 200;").await;
    let mut rows = Vec::new();
    for id in [200, 201, 202] {
        rows.push(app.user(id).await);
    }
    ok(&app, &[("user_id", "200"), ("u17", "Renamed")]).await;
    for (id, old) in [200, 201, 202].into_iter().zip(rows) {
        let mut now = app.user(id).await;
        if id == 200 {
            assert_eq!(now.remove("last_name").map(|v| v.render()).as_deref(), Some("Renamed"));
            let mut old = old;
            old.remove("last_name");
            assert_eq!(now, old, "reseller {id}: only the last name changed");
        } else {
            assert_eq!(now, old, "user {id} of the reseller is untouched");
        }
    }
    assert_eq!(app.changes().await.len(), 1);
}

#[tokio::test]
async fn privacy_is_unchanged_when_neither_u3_nor_a_switch_is_sent() {
    // MOR's defect (docs/contract.md §10 item 3) rewrote privacy on every call; morapi does not.
    let app = TestApp::spawn().await;
    app.sql("UPDATE users SET hide_destination_end = 6 WHERE id = 123;").await;
    ok(&app, &[("user_id", "123"), ("u15", "1")]).await;
    assert_eq!(app.col(123, "hide_destination_end").await, "6");
}

#[tokio::test]
async fn bad_privacy_values_are_refused() {
    let app = TestApp::spawn().await;
    refused(
        &app,
        &[("user_id", "123"), ("u3", "9"), ("pcsv", "3")],
        &not_updated(&[
            "u3 (hide destination end) must be a whole number from -1 to 7, got \"9\"",
            "pcsv (privacy CSV) must be 0, 1 or 2, got \"3\"",
        ]),
    )
    .await;
}

#[tokio::test]
async fn u32_of_0_or_less_means_unlimited_and_is_stored_as_0() {
    let app = TestApp::spawn().await;
    ok(&app, &[("user_id", "123"), ("u32", "12,5")]).await;
    assert_eq!(app.col(123, "daily_credit_limit").await, "12.5");
    ok(&app, &[("user_id", "123"), ("u32", "-3")]).await;
    assert_eq!(app.col(123, "daily_credit_limit").await, "0");
    ok(&app, &[("user_id", "123"), ("u32", "7")]).await;
    ok(&app, &[("user_id", "123"), ("u32", "0")]).await;
    assert_eq!(app.col(123, "daily_credit_limit").await, "0");
}

#[tokio::test]
async fn an_absent_u33_leaves_the_comment_unchanged() {
    // MOR's defect (docs/contract.md §10 item 3) wiped the comment on every call; morapi does not.
    let app = TestApp::spawn().await;
    app.sql("UPDATE users SET comment = 'VIP customer' WHERE id = 123;").await;
    ok(&app, &[("user_id", "123"), ("u15", "1"), ("u23", "Jon")]).await;
    assert_eq!(app.col(123, "comment").await, "VIP customer");
    ok(&app, &[("user_id", "123"), ("u33", "Pays late <sometimes> & apologises")]).await;
    assert_eq!(app.col(123, "comment").await, "Pays late <sometimes> & apologises");
    assert_eq!(
        triples(&app.changes().await).into_iter().filter(|c| c.0 == "comment").collect::<Vec<_>>(),
        vec![t("comment", "VIP customer", "Pays late <sometimes> & apologises")]
    );
}

#[tokio::test]
async fn null_and_empty_are_different_values_to_the_audit_trail() {
    // Demo comments are unset (NULL); bob's e-mail (address 5) is empty.
    let app = TestApp::spawn().await;
    ok(&app, &[("user_id", "123"), ("u33", "")]).await;
    assert_eq!(app.user(123).await.get("comment"), Some(&Value::from("")));
    assert_eq!(triples(&app.changes().await), vec![from_null("comment", "")]);
    // Empty again: no change, no row.
    ok(&app, &[("user_id", "123"), ("u33", "")]).await;
    assert_eq!(app.changes().await.len(), 1);

    // An empty e-mail clears it to NULL; bob's was empty, so that is a change too.
    assert_eq!(app.update_as("reseller", RESELLER_KEY, &[("user_id", "202"), ("a8", "")]).await, updated());
    assert_eq!(app.row(Table::Addresses, 5).await.and_then(|r| r.get("email").cloned()), Some(Value::Null));
    let bob: Vec<_> = app.changes().await.into_iter().filter(|e| e.target_id == Some(202)).collect();
    assert_eq!(triples(&bob), vec![("addresses.email".to_string(), Some(String::new()), None)]);
}

#[tokio::test]
async fn dates_are_written_from_all_three_parts() {
    let app = TestApp::spawn().await;
    ok(
        &app,
        &[("user_id", "123"), ("ay", "2024"), ("am", "1"), ("ad", "31"), ("by", "2025"), ("bm", "12"), ("bd", "01")],
    )
    .await;
    assert_eq!(app.col(123, "agreement_date").await, "2024-01-31");
    assert_eq!(app.col(123, "block_at").await, "2025-12-01");
    assert_eq!(
        triples(&app.changes().await),
        vec![from_null("agreement_date", "2024-01-31"), t("block_at", "2008-01-01", "2025-12-01")]
    );
    // A leap day exists in 2024.
    ok(&app, &[("user_id", "123"), ("ay", "2024"), ("am", "02"), ("ad", "29")]).await;
    assert_eq!(app.col(123, "agreement_date").await, "2024-02-29");
}

#[tokio::test]
async fn an_impossible_or_incomplete_date_is_refused() {
    let app = TestApp::spawn().await;
    refused(
        &app,
        &[("user_id", "123"), ("ay", "2023"), ("am", "2"), ("ad", "29")],
        &not_updated(&["Agreement date is not a valid date: 2023-2-29"]),
    )
    .await;
    refused(
        &app,
        &[("user_id", "123"), ("by", "2025"), ("bm", "13"), ("bd", "1")],
        &not_updated(&["Block at date is not a valid date: 2025-13-1"]),
    )
    .await;
    refused(
        &app,
        &[("user_id", "123"), ("by", "2025"), ("bm", "6")],
        &not_updated(&["by, bm and bd must be sent together"]),
    )
    .await;
    refused(&app, &[("user_id", "123"), ("ad", "5")], &not_updated(&["ay, am and ad must be sent together"])).await;
}

#[tokio::test]
async fn a_known_time_zone_is_stored_and_an_unknown_one_refused() {
    let app = TestApp::spawn().await;
    ok(&app, &[("user_id", "789"), ("time_zone", "Vilnius")]).await;
    assert_eq!(app.col(789, "time_zone").await, "Vilnius");
    ok(&app, &[("user_id", "789"), ("time_zone", "International Date Line West")]).await;
    assert_eq!(app.col(789, "time_zone").await, "International Date Line West");
    refused(
        &app,
        &[("user_id", "789"), ("time_zone", "Europe/Vilnius")],
        &not_updated(&["Time zone was not found: Europe/Vilnius"]),
    )
    .await;
    refused(&app, &[("user_id", "789"), ("time_zone", "")], &not_updated(&["Time zone was not found: "])).await;
}

#[tokio::test]
async fn two_fa_is_refused_while_the_system_setting_is_off() {
    let app = TestApp::spawn().await;
    let body = refused(
        &app,
        &[("user_id", "123"), ("two_fa_enabled", "1")],
        &not_updated(&["two_fa_enabled: two-factor authentication is disabled in system settings"]),
    )
    .await;
    insta::assert_snapshot!("two_fa_system_off", body);
    // Switching it off is always possible.
    ok(&app, &[("user_id", "123"), ("two_fa_enabled", "0")]).await;
}

#[tokio::test]
async fn two_fa_is_enabled_for_a_user_with_an_email_when_the_system_offers_it() {
    let app = TestApp::spawn().await;
    app.set_setting(0, "two_fa_enabled", "1").await;
    ok(&app, &[("user_id", "123"), ("two_fa_enabled", "1")]).await;
    assert_eq!(app.col(123, "two_fa_enabled").await, "1");
}

#[tokio::test]
async fn two_fa_needs_an_email_stored_or_sent_in_the_same_request() {
    let app = TestApp::spawn().await;
    app.set_setting(0, "two_fa_enabled", "1").await;
    // The admin has no address, so no e-mail.
    refused(
        &app,
        &[("user_id", "0"), ("two_fa_enabled", "1")],
        &not_updated(&["two_fa_enabled: the user has no e-mail address"]),
    )
    .await;
    // Clearing the e-mail in the same request does not help either.
    refused(
        &app,
        &[("user_id", "123"), ("two_fa_enabled", "1"), ("a8", "")],
        &not_updated(&["two_fa_enabled: the user has no e-mail address"]),
    )
    .await;
    ok(&app, &[("user_id", "0"), ("two_fa_enabled", "1"), ("a8", "admin@example.com")]).await;
    assert_eq!(app.col(0, "two_fa_enabled").await, "1");
}

#[tokio::test]
async fn static_lists_are_set_by_the_admin_and_accountants() {
    let app = TestApp::spawn().await;
    ok(
        &app,
        &[
            ("user_id", "123"),
            ("enable_static_list", "blacklist"),
            ("static_list_id", "1"),
            ("enable_static_source_list", "whitelist"),
            ("static_source_list_id", "2"),
        ],
    )
    .await;
    assert_eq!(app.col(123, "enable_static_list").await, "blacklist");
    assert_eq!(app.col(123, "static_list_id").await, "1");
    assert_eq!(app.col(123, "enable_static_source_list").await, "whitelist");
    assert_eq!(app.col(123, "static_source_list_id").await, "2");
    ok_as(&app, ACCOUNTANT, ADMIN_KEY, &[("user_id", "123"), ("enable_static_list", "no"), ("static_list_id", "0")])
        .await;
    assert_eq!(app.col(123, "enable_static_list").await, "no");
    assert_eq!(app.col(123, "static_list_id").await, "0");
}

#[tokio::test]
async fn static_lists_refuse_unknown_modes_pools_and_resellers() {
    let app = TestApp::spawn().await;
    refused(
        &app,
        &[("user_id", "123"), ("enable_static_list", "grey")],
        &not_updated(&[
            "enable_static_list (static destination list) must be one of no, blacklist, whitelist, got \"grey\"",
        ]),
    )
    .await;
    refused(
        &app,
        &[("user_id", "123"), ("static_source_list_id", "9")],
        &not_updated(&["static_source_list_id (static source list number pool) was not found: 9"]),
    )
    .await;
    refused_as(
        &app,
        RESELLER,
        RESELLER_KEY,
        &[("user_id", "201"), ("enable_static_source_list", "no"), ("static_list_id", "1")],
        &denied(&[
            "You may not change enable_static_source_list (static source list)",
            "You may not change static_list_id (static destination list number pool)",
        ]),
    )
    .await;
}

#[tokio::test]
async fn max_devices_is_set_on_resellers_by_the_admin_and_accountants() {
    let app = TestApp::spawn().await;
    ok(&app, &[("user_id", "200"), ("max_devices", "10")]).await;
    assert_eq!(app.col(200, "max_devices").await, "10");
    ok_as(&app, ACCOUNTANT, ADMIN_KEY, &[("user_id", "200"), ("max_devices", "0")]).await;
    assert_eq!(app.col(200, "max_devices").await, "0");
}

#[tokio::test]
async fn max_devices_is_refused_for_non_resellers_negative_values_and_resellers() {
    let app = TestApp::spawn().await;
    refused(
        &app,
        &[("user_id", "123"), ("max_devices", "10")],
        &not_updated(&["max_devices (maximum devices) applies only to resellers"]),
    )
    .await;
    refused(
        &app,
        &[("user_id", "200"), ("max_devices", "-1")],
        &not_updated(&["max_devices (maximum devices) must be a whole number from 0 to 1000000, got \"-1\""]),
    )
    .await;
    let refusal = denied(&["You may not change max_devices (maximum devices)"]);
    refused_as(&app, RESELLER, RESELLER_KEY, &[("user_id", "200"), ("max_devices", "10")], &refusal).await;
    refused_as(&app, RESELLER, RESELLER_KEY, &[("user_id", "201"), ("max_devices", "10")], &refusal).await;
}

#[tokio::test]
async fn own_providers_and_accountant_type_apply_only_to_matching_targets() {
    let app = TestApp::spawn().await;
    ok(&app, &[("user_id", "200"), ("own_providers", "1")]).await;
    assert_eq!(app.col(200, "own_providers").await, "1");
    ok(&app, &[("user_id", "301"), ("accountant_type", "1")]).await;
    assert_eq!(app.col(301, "acc_group_id").await, "1");
    refused(
        &app,
        &[("user_id", "123"), ("own_providers", "1"), ("accountant_type", "1")],
        &not_updated(&[
            "accountant_type (accountant group) applies only to accountants and resellers",
            "own_providers (Reseller PRO) applies only to resellers",
        ]),
    )
    .await;
}

#[tokio::test]
async fn the_user_type_can_only_be_resent_unchanged() {
    let app = TestApp::spawn().await;
    ok(&app, &[("user_id", "123"), ("u13", "user")]).await;
    assert!(app.changes().await.is_empty());
    refused(&app, &[("user_id", "123"), ("u13", "reseller")], &not_updated(&["u13 (usertype) cannot be changed"]))
        .await;
}

#[tokio::test]
async fn company_name_is_stored_and_audited() {
    let app = TestApp::spawn().await;
    ok(&app, &[("user_id", "123"), ("company_name", "ACME & Sons")]).await;
    assert_eq!(app.col(123, "company_name").await, "ACME & Sons");
    assert_eq!(triples(&app.changes().await), vec![t("company_name", "", "ACME & Sons")]);
}

#[tokio::test]
async fn an_address_row_is_created_for_a_user_without_one() {
    let app = TestApp::spawn().await;
    assert_eq!(app.col(0, "address_id").await, "");
    ok(&app, &[("user_id", "0"), ("a1", "Kaunas"), ("a6", "1"), ("a8", "admin@example.com"), ("a0", "Laisves al. 1")])
        .await;
    let id: i64 = app.col(0, "address_id").await.parse().expect("an address id");
    assert_eq!(address_col(&app, id, "city").await, "Kaunas");
    assert_eq!(address_col(&app, id, "direction_id").await, "1");
    assert_eq!(address_col(&app, id, "email").await, "admin@example.com");
    assert_eq!(address_col(&app, id, "address").await, "Laisves al. 1");
    assert_eq!(
        triples(&app.changes().await),
        vec![
            t("addresses.address", "", "Laisves al. 1"),
            t("addresses.city", "", "Kaunas"),
            t("addresses.direction_id", "0", "1"),
            from_null("addresses.email", "admin@example.com"),
        ]
    );
    // The other users' addresses are untouched.
    assert_eq!(address_col(&app, 1, "city").await, "Vilnius");
}

#[tokio::test]
async fn a_tax_row_is_created_for_a_user_without_one() {
    let app = TestApp::spawn().await;
    assert_eq!(app.col(300, "tax_id").await, "");
    ok(&app, &[("user_id", "300"), ("tax2_enabled", "1"), ("tax2_name", "Excise"), ("tax2_value", "2,5")]).await;
    let id: i64 = app.col(300, "tax_id").await.parse().expect("a tax id");
    assert_eq!(tax_col(&app, id, "tax2_enabled").await, "1");
    assert_eq!(tax_col(&app, id, "tax2_name").await, "Excise");
    assert_eq!(tax_col(&app, id, "tax2_value").await, "2.5");
}

#[tokio::test]
async fn tax4_enabled_is_honoured_and_tax1_enabled_is_not_forced() {
    // MOR's defects (docs/contract.md §10 item 3): tax4_enabled ignored and tax1_enabled forced to 1;
    // neither is reproduced.
    let app = TestApp::spawn().await;
    app.sql("UPDATE taxes SET tax1_enabled = 0 WHERE id = 1;").await;
    ok(
        &app,
        &[
            ("user_id", "123"),
            ("tax4_enabled", "1"),
            ("tax4_name", "Eco"),
            ("tax4_value", "1,25"),
            ("compound_tax", "0"),
        ],
    )
    .await;
    assert_eq!(tax_col(&app, 1, "tax4_enabled").await, "1");
    assert_eq!(tax_col(&app, 1, "tax4_name").await, "Eco");
    assert_eq!(tax_col(&app, 1, "tax4_value").await, "1.25");
    assert_eq!(tax_col(&app, 1, "compound_tax").await, "0");
    assert_eq!(tax_col(&app, 1, "tax1_enabled").await, "0");
    assert_eq!(
        triples(&app.changes().await),
        vec![
            t("taxes.compound_tax", "1", "0"),
            t("taxes.tax4_enabled", "0", "1"),
            t("taxes.tax4_name", "", "Eco"),
            t("taxes.tax4_value", "0", "1.25"),
        ]
    );
}

#[tokio::test]
async fn the_warning_email_hour_follows_u2_and_the_hour_of_day() {
    let app = TestApp::spawn().await;
    ok(&app, &[("user_id", "123"), ("user_warning_email_hour", "15")]).await;
    assert_eq!(app.col(123, "warning_email_hour").await, "15");
    // u2=-1 means "once" and wins over the hour.
    ok(&app, &[("user_id", "123"), ("u2", "-1"), ("user_warning_email_hour", "8")]).await;
    assert_eq!(app.col(123, "warning_email_hour").await, "-1");
    ok(&app, &[("user_id", "123"), ("u2", "6")]).await;
    assert_eq!(app.col(123, "warning_email_hour").await, "6");
    // Otherwise the hour of day wins over u2.
    ok(&app, &[("user_id", "123"), ("u2", "6"), ("user_warning_email_hour", "0"), ("warning_email_active", "1")]).await;
    assert_eq!(app.col(123, "warning_email_hour").await, "0");
    assert_eq!(app.col(123, "warning_email_active").await, "1");
    // The switch alone does not touch the hour.
    ok(&app, &[("user_id", "123"), ("warning_email_active", "0")]).await;
    assert_eq!(app.col(123, "warning_email_hour").await, "0");
    assert_eq!(app.col(123, "warning_email_active").await, "0");
}

#[tokio::test]
async fn a_warning_email_hour_out_of_range_is_refused() {
    let app = TestApp::spawn().await;
    refused(
        &app,
        &[("user_id", "123"), ("u2", "24"), ("user_warning_email_hour", "-1")],
        &not_updated(&[
            "u2 (warning e-mail hour) must be a whole number from -1 to 23, got \"24\"",
            "user_warning_email_hour (warning e-mail hour of day) must be a whole number from 0 to 23, got \"-1\"",
        ]),
    )
    .await;
}

#[tokio::test]
async fn flags_store_1_for_positive_numbers_and_0_otherwise() {
    let app = TestApp::spawn().await;
    ok(
        &app,
        &[("user_id", "123"), ("u15", "6"), ("u10", "1"), ("recording_enabled", " 2 "), ("allow_change_callerid", "1")],
    )
    .await;
    assert_eq!(app.col(123, "blocked").await, "1");
    assert_eq!(app.col(123, "warning_balance_call").await, "1");
    assert_eq!(app.col(123, "recording_enabled").await, "1");
    assert_eq!(app.col(123, "allow_change_callerid").await, "1");
    ok(&app, &[("user_id", "123"), ("u15", "-1"), ("u10", "0")]).await;
    assert_eq!(app.col(123, "blocked").await, "0");
    assert_eq!(app.col(123, "warning_balance_call").await, "0");
}

#[tokio::test]
async fn a_negative_call_limit_is_stored_as_0() {
    let app = TestApp::spawn().await;
    ok(&app, &[("user_id", "123"), ("u18", "7")]).await;
    assert_eq!(app.col(123, "call_limit").await, "7");
    ok(&app, &[("user_id", "123"), ("u18", "-5")]).await;
    assert_eq!(app.col(123, "call_limit").await, "0");
}

#[tokio::test]
async fn cyberplat_active_wins_over_u21_and_u21_alone_works() {
    let app = TestApp::spawn().await;
    ok(&app, &[("user_id", "123"), ("u21", "1")]).await;
    assert_eq!(app.col(123, "cyberplat_active").await, "1");
    ok(&app, &[("user_id", "123"), ("u21", "1"), ("cyberplat_active", "0")]).await;
    assert_eq!(app.col(123, "cyberplat_active").await, "0");
}

#[tokio::test]
async fn emails_are_validated_several_are_accepted_and_empty_clears() {
    let app = TestApp::spawn().await;
    refused(&app, &[("user_id", "123"), ("a8", "john@example")], &not_updated(&["Please enter correct email"])).await;
    refused(
        &app,
        &[("user_id", "123"), ("u22", "rec@example;oops")],
        &not_updated(&["Please enter correct recordings email"]),
    )
    .await;
    ok(&app, &[("user_id", "123"), ("a8", "john@example.com;billing@john.lt"), ("u22", "rec@example.com")]).await;
    assert_eq!(address_col(&app, 1, "email").await, "john@example.com;billing@john.lt");
    assert_eq!(app.col(123, "recordings_email").await, "rec@example.com");
    // Both addresses are now taken for others.
    refused(
        &app,
        &[("user_id", "789"), ("a8", "billing@john.lt")],
        &not_updated(&["Email billing@john.lt is already used"]),
    )
    .await;
    ok(&app, &[("user_id", "123"), ("a8", "")]).await;
    assert_eq!(address_col(&app, 1, "email").await, "");
    ok(&app, &[("user_id", "789"), ("a8", "billing@john.lt")]).await;
}

#[tokio::test]
async fn text_values_are_trimmed_and_stored() {
    let app = TestApp::spawn().await;
    ok(
        &app,
        &[("user_id", "123"), ("u0", "  LT100  "), ("u8", "lt"), ("u26", "ACC-1"), ("u27", "AG-7"), ("u19", "C42")],
    )
    .await;
    assert_eq!(app.col(123, "vat_number").await, "LT100");
    assert_eq!(app.col(123, "language").await, "lt");
    assert_eq!(app.col(123, "accounting_number").await, "ACC-1");
    assert_eq!(app.col(123, "agreement_number").await, "AG-7");
    assert_eq!(app.col(123, "clientid").await, "C42");
}

#[tokio::test]
async fn numbers_of_other_fields_are_validated() {
    let app = TestApp::spawn().await;
    refused(
        &app,
        &[("user_id", "123"), ("u20", "-1"), ("block_at_conditional", "32"), ("u18", "many")],
        &not_updated(&[
            "u18 (call limit) must be a whole number, got \"many\"",
            "u20 (recording HDD quota) must be a number of 0 or more, got \"-1\"",
            "block_at_conditional (conditional block day) must be a whole number from 1 to 31, got \"32\"",
        ]),
    )
    .await;
    ok(&app, &[("user_id", "123"), ("u20", "6"), ("block_at_conditional", "31"), ("u6", "12,50")]).await;
    assert_eq!(app.col(123, "recording_hdd_quota").await, "6");
    assert_eq!(app.col(123, "block_at_conditional").await, "31");
    assert_eq!(app.col(123, "warning_email_balance").await, "12.5");
}

#[tokio::test]
async fn unknown_parameter_names_are_ignored() {
    let app = TestApp::spawn().await;
    ok(&app, &[("user_id", "123"), ("u15", "1"), ("favourite_colour", "blue"), ("billing_period", "weekly")]).await;
    assert_eq!(app.col(123, "blocked").await, "1");
}

#[tokio::test]
async fn the_admin_may_edit_himself_resellers_and_accountants() {
    let app = TestApp::spawn().await;
    ok(&app, &[("user_id", "0"), ("u23", "Root")]).await;
    assert_eq!(app.col(0, "first_name").await, "Root");
    ok(&app, &[("user_id", "200"), ("u15", "1")]).await;
    assert_eq!(app.col(200, "blocked").await, "1");
    ok(&app, &[("user_id", "300"), ("u17", "Counter")]).await;
    assert_eq!(app.col(300, "last_name").await, "Counter");
}

#[tokio::test]
async fn leading_zeros_in_user_id_name_the_same_user() {
    let app = TestApp::spawn().await;
    ok(&app, &[("user_id", "0123"), ("u15", "1")]).await;
    assert_eq!(app.col(123, "blocked").await, "1");
}

#[tokio::test]
async fn a_refused_request_after_a_success_changes_nothing_more() {
    let app = TestApp::spawn().await;
    ok(&app, &[("user_id", "123"), ("u15", "1")]).await;
    // A request with one bad value among good ones writes none of them.
    refused(
        &app,
        &[("user_id", "123"), ("u15", "0"), ("u23", "Changed"), ("a1", "Kaunas"), ("tax2_enabled", "1"), ("u10", "x")],
        &not_updated(&["u10 (warning balance call) must be 0 or 1, got \"x\""]),
    )
    .await;
    assert_eq!(app.col(123, "blocked").await, "1");
    assert_eq!(app.col(123, "first_name").await, "John");
}

// ---------------------------------------------------------------------------------------------
// More callers and relations
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_simple_user_of_a_reseller_is_checked_against_the_resellers_key_and_denied() {
    let app = TestApp::spawn().await;
    refused_as(&app, "alice", RESELLER_KEY, &[("user_id", "201"), ("u15", "0")], &page_error("Access Denied", &[]))
        .await;
    // The admin's key is not his scope's key.
    refused_as(&app, "alice", ADMIN_KEY, &[("user_id", "201"), ("u15", "0")], &status_error("Incorrect hash")).await;
}

#[tokio::test]
async fn a_partner_is_treated_like_a_simple_user() {
    let app = TestApp::spawn().await;
    app.sql("INSERT INTO users (id, username, usertype, owner_id) VALUES (8, 'partner', 'partner', 0);").await;
    refused_as(&app, "partner", ADMIN_KEY, &[("user_id", "123"), ("u15", "1")], &page_error("Access Denied", &[]))
        .await;
}

#[tokio::test]
async fn an_accountant_may_never_set_the_password_of_an_admin() {
    let app = TestApp::spawn().await;
    app.sql("INSERT INTO users (id, username, usertype, owner_id) VALUES (9, 'admin2', 'admin', 0);").await;
    refused_as(
        &app,
        ACCOUNTANT,
        ADMIN_KEY,
        &[("user_id", "9"), ("pswd", "Secret123")],
        &denied(&["You may not change pswd (password)"]),
    )
    .await;
    ok_as(&app, ACCOUNTANT, ADMIN_KEY, &[("user_id", "9"), ("u23", "Second")]).await;
    assert_eq!(app.col(9, "first_name").await, "Second");
}

#[tokio::test]
async fn a_reseller_may_use_only_his_own_or_the_admins_groups() {
    let app = TestApp::spawn().await;
    app.sql(
        "INSERT INTO users (id, username, usertype, owner_id) VALUES (210, 'other', 'reseller', 0);
         INSERT INTO acc_groups (id, name, group_type, only_view, owner_id) VALUES (6, 'Other resellers', 'reseller', 0, 210),
           (7, 'Mine', 'reseller', 0, 200);",
    )
    .await;
    refused_as(
        &app,
        RESELLER,
        RESELLER_KEY,
        &[("user_id", "201"), ("u11", "6")],
        &not_updated(&["u11 (accountant/reseller group) was not found: 6"]),
    )
    .await;
    ok_as(&app, RESELLER, RESELLER_KEY, &[("user_id", "201"), ("u11", "7")]).await;
    assert_eq!(app.col(201, "acc_group_id").await, "7");
    ok_as(&app, RESELLER, RESELLER_KEY, &[("user_id", "202"), ("u11", "3")]).await;
    assert_eq!(app.col(202, "acc_group_id").await, "3");
}

#[tokio::test]
async fn accountant_type_wins_over_u11() {
    let app = TestApp::spawn().await;
    ok(&app, &[("user_id", "301"), ("u11", "2"), ("accountant_type", "1")]).await;
    assert_eq!(app.col(301, "acc_group_id").await, "1");
}

#[tokio::test]
async fn every_used_email_gets_its_own_message() {
    let app = TestApp::spawn().await;
    refused(
        &app,
        &[("user_id", "123"), ("a8", "jane@example.com; new@example.com ;alice@example.com")],
        &not_updated(&["Email jane@example.com is already used", "Email alice@example.com is already used"]),
    )
    .await;
}

#[tokio::test]
async fn concurrent_updates_of_different_fields_do_not_undo_each_other() {
    let app = TestApp::spawn().await;
    let fields: [(&str, &str, &str); 8] = [
        ("u0", "vat_number", "LT1"),
        ("u8", "language", "lt"),
        ("u17", "last_name", "Smyth"),
        ("u19", "clientid", "C-9"),
        ("u23", "first_name", "Jonas"),
        ("u26", "accounting_number", "A-1"),
        ("u27", "agreement_number", "G-2"),
        ("company_name", "company_name", "ACME"),
    ];
    let pairs: Vec<[(&str, &str); 2]> =
        fields.iter().map(|(param, _, value)| [("user_id", "123"), (*param, *value)]).collect();
    let requests = pairs.iter().map(|p| app.update(p));
    for body in futures_util::future::join_all(requests).await {
        assert_eq!(body, updated());
    }
    for (_, column, value) in fields {
        assert_eq!(app.col(123, column).await, value, "{column}");
    }
    assert_eq!(app.changes().await.len(), fields.len());
}
