//! `user_delete` over HTTP against the real server (docs/contract.md, `user_delete`): the
//! contract's vectors D1–D10, every refusal changing nothing, the audit rows holding the removed
//! rows whole, `morapi user delete` answering the same cases the same way, and deletes racing
//! updates from a second instance.

mod common;

use common::{ADMIN_KEY, BIN, D4_PROBLEMS, RESELLER_HAS_USERS, RESELLER_KEY, TestApp, page_error, sign_pairs};
use morapi::storage::{AuditEntry, AuditEvent, Row, Table, Tx, Value, int};
use std::process::Command;

const ACCOUNTANT_HAS_USERS: &str = "Unable to delete accountant - he has users";
const IN_DEFAULT_USER: &str = "Unable to delete Accountant - he is used as Responsible Accountant in Default User";

const DELETE: &str = "/billing/api/user_delete";

fn deleted() -> String {
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<page>\n  <status>User deleted</status>\n</page>\n".into()
}

/// The key a demo user signs with.
fn key_of(u: &str) -> &'static str {
    if u == "reseller" { RESELLER_KEY } else { ADMIN_KEY }
}

/// `user_delete` as `u` with the hash the contract gives (checked against our own signing).
async fn delete_signed(app: &TestApp, u: &str, user_id: &str, hash: &str) -> String {
    assert_eq!(sign_pairs(&[("user_id", user_id)], key_of(u)), hash, "the contract's hash for user_id={user_id}");
    app.post_form(DELETE, &[("u", u), ("user_id", user_id), ("hash", hash)]).await.body
}

/// `user_delete` as `u`, signed with his key.
async fn delete_as(app: &TestApp, u: &str, user_id: &str) -> String {
    let hash = sign_pairs(&[("user_id", user_id)], key_of(u));
    app.post_form(DELETE, &[("u", u), ("user_id", user_id), ("hash", &hash)]).await.body
}

async fn update(app: &TestApp, pairs: &[(&str, &str)]) -> String {
    app.update(pairs).await
}

/// Every row a delete could remove or an audit row it could write, for "nothing changed".
async fn snapshot(app: &TestApp) -> String {
    app.db
        .administer(|repo| {
            let mut out = String::new();
            for table in [
                Table::Users,
                Table::Addresses,
                Table::Taxes,
                Table::Devices,
                Table::Callerids,
                Table::Conflines,
                Table::Locations,
                Table::Tariffs,
                Table::Lcrs,
            ] {
                for row in repo.list_rows(table, &[])? {
                    out.push_str(&format!("{}: {row:?}\n", table.name()));
                }
            }
            out.push_str(&format!("audit rows: {}\n", repo.audit_entries()?.len()));
            Ok(Tx::Rollback(out))
        })
        .await
        .expect("read")
}

/// The `delete` audit rows, oldest first.
async fn delete_rows(app: &TestApp) -> Vec<AuditEntry> {
    app.audit().await.into_iter().filter(|e| e.event == AuditEvent::Delete).collect()
}

async fn rows_of(app: &TestApp, table: Table, column: &'static str, value: i64) -> Vec<Row> {
    app.db
        .administer(move |repo| Ok(Tx::Rollback(repo.list_rows(table, &[(column, Value::Int(value))])?)))
        .await
        .expect("read")
}

/// A new user inserted without an id (as `user_register` and `user add` insert): his id.
async fn insert_user(app: &TestApp, username: &str) -> i64 {
    let username = username.to_string();
    app.db
        .administer(move |repo| {
            Ok(Tx::Commit(repo.insert_row(Table::Users, &[("username", username.as_str().into())])?))
        })
        .await
        .expect("insert")
}

/// Asserts that an audit row's JSON is the removed row: every column, as stored, secrets as
/// `changed` (so the record can be restored from the trail, secrets apart).
fn assert_holds(entry: &AuditEntry, table: &str, row: &Row) {
    assert_eq!(entry.field, table);
    assert_eq!(entry.new_value, None);
    let json: serde_json::Value = serde_json::from_str(entry.old_value.as_deref().expect("old_value")).expect("JSON");
    let object = json.as_object().expect("an object");
    assert_eq!(object.len(), row.len(), "{table}: every column, nothing else: {json}");
    for (column, value) in row {
        let kept = &object[column.as_str()];
        // A secret column, or the value of a secret setting (`api_secret_key`).
        let secret_setting = table == "conflines"
            && column == "value"
            && row.get("name").is_some_and(|n| morapi::catalogue::is_secret(&n.render()));
        let secret = morapi::catalogue::is_secret(&format!("{table}.{column}")) || secret_setting;
        match value {
            Value::Null => assert!(kept.is_null(), "{table}.{column}"),
            v if secret && !v.render().is_empty() => assert_eq!(kept, "changed", "{table}.{column}"),
            v => assert_eq!(kept.as_str(), Some(v.render().as_str()), "{table}.{column}"),
        }
    }
}

#[tokio::test]
async fn d1_deletes_a_user_with_his_address_tax_and_device() {
    let app = TestApp::spawn().await;
    let user = app.row(Table::Users, 789).await.expect("jane");
    let address = app.row(Table::Addresses, 2).await.expect("address 2");
    let tax = app.row(Table::Taxes, 2).await.expect("tax 2");
    let device = app.row(Table::Devices, 2).await.expect("device 2");
    let before = app.audit().await.len();

    let body = delete_signed(&app, "admin", "789", "0415eaf8433b9e32f116cfc0227a2b8099fe37b8").await;
    assert_eq!(body, deleted());

    assert_eq!(app.row(Table::Users, 789).await, None);
    assert_eq!(app.row(Table::Addresses, 2).await, None);
    assert_eq!(app.row(Table::Taxes, 2).await, None);
    assert_eq!(app.row(Table::Devices, 2).await, None);
    // The others are untouched.
    assert!(app.row(Table::Users, 123).await.is_some());
    assert!(app.row(Table::Devices, 1).await.is_some());
    assert!(app.row(Table::Callerids, 1).await.is_some());

    let audit = app.audit().await;
    let rows = &audit[before..];
    assert_eq!(rows.len(), 4, "four delete rows: {rows:#?}");
    let fields: Vec<&str> = rows.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["devices", "users", "addresses", "taxes"]);
    for e in rows {
        assert_eq!(e.event, AuditEvent::Delete);
        assert_eq!(e.target_id, Some(789));
        assert_eq!((e.actor_id, e.actor_username.as_str()), (Some(0), "admin"));
        assert_eq!(e.endpoint, "user_delete");
        assert_eq!(e.signed_with, "current:0");
        assert_eq!(e.request_id, rows[0].request_id, "one request id");
    }
    assert_holds(&rows[0], "devices", &device);
    assert_holds(&rows[1], "users", &user);
    assert_holds(&rows[2], "addresses", &address);
    assert_holds(&rows[3], "taxes", &tax);
    // Secrets never in the trail.
    for e in rows {
        let old = e.old_value.as_deref().unwrap_or_default();
        for secret in ["nSip5Demo8Ly", "jnehash234"] {
            assert!(!old.contains(secret), "{old}");
        }
    }

    // Deleted means not found afterwards.
    let again = delete_signed(&app, "admin", "789", "0415eaf8433b9e32f116cfc0227a2b8099fe37b8").await;
    assert_eq!(again, page_error("User was not found", &[]));
}

#[tokio::test]
async fn d2_to_d8_refusals_change_nothing() {
    let app = TestApp::spawn().await;
    let before = snapshot(&app).await;
    let cases: [(&str, &str, &str, String); 7] = [
        ("admin", "0", "bf833f7bb04608dddb5bae81d1f38867142c33b1", page_error("Cannot delete sys.admin", &[])),
        ("reseller", "200", "589c92912a8624c8b07a9406c7199f062c16530a", page_error("Unable to delete yourself", &[])),
        ("admin", "200", "f4de1845cd70b81d8543717ece8b919c975631b9", page_error(RESELLER_HAS_USERS, &D4_PROBLEMS)),
        ("reseller", "123", "bf3f690c4fc12a8b9ee0f7827be63eb1d2662ca2", page_error("User was not found", &[])),
        (
            "viewer",
            "123",
            "f7c3bc1d808e04732adf679965ccc34ca7ae3441",
            page_error("You have no editing permission", &[]),
        ),
        (
            "accountant",
            "200",
            "f4de1845cd70b81d8543717ece8b919c975631b9",
            page_error("You have no editing permission", &[]),
        ),
        ("john", "789", "0415eaf8433b9e32f116cfc0227a2b8099fe37b8", page_error("Access Denied", &[])),
    ];
    for (u, user_id, hash, expected) in cases {
        assert_eq!(delete_signed(&app, u, user_id, hash).await, expected, "u={u} user_id={user_id}");
        assert_eq!(snapshot(&app).await, before, "u={u} user_id={user_id} changed something");
    }
}

#[tokio::test]
async fn more_refusals_visibility_and_bad_ids() {
    let app = TestApp::spawn().await;
    let before = snapshot(&app).await;
    let not_found = page_error("User was not found", &[]);
    // The admin does not see a reseller's user (contract's open point: the reseller deletes it).
    assert_eq!(delete_as(&app, "admin", "201").await, not_found);
    // A reseller sees neither another owner's users nor the admin.
    assert_eq!(delete_as(&app, "reseller", "0").await, not_found);
    // No such user, no digits, nothing sent.
    assert_eq!(delete_as(&app, "admin", "4242").await, not_found);
    assert_eq!(delete_as(&app, "admin", "abc").await, not_found);
    let hash = sign_pairs(&[], ADMIN_KEY);
    assert_eq!(app.post_form(DELETE, &[("u", "admin"), ("hash", &hash)]).await.body, not_found);
    // Accountants: not without a target, not the admin, not themselves.
    let denied = page_error("Access Denied", &[]);
    assert_eq!(app.post_form(DELETE, &[("u", "accountant"), ("hash", &hash)]).await.body, denied);
    assert_eq!(delete_as(&app, "accountant", "0").await, denied);
    assert_eq!(delete_as(&app, "accountant", "300").await, denied);
    // An accountant with write deletes simple users only.
    let no_permission = page_error("You have no editing permission", &[]);
    assert_eq!(delete_as(&app, "accountant", "301").await, no_permission);
    // Wrong hash, unknown caller.
    let wrong = app.post_form(DELETE, &[("u", "admin"), ("user_id", "789"), ("hash", &"0".repeat(40))]).await.body;
    assert_eq!(wrong, common::status_error("Incorrect hash"));
    let nobody = sign_pairs(&[("user_id", "789")], ADMIN_KEY);
    let unknown = app.post_form(DELETE, &[("u", "nosuch"), ("user_id", "789"), ("hash", &nobody)]).await.body;
    assert_eq!(unknown, common::status_error("Incorrect hash"));
    // The refused hashes are counted (their record kept); nothing else changed.
    let after = snapshot(&app).await;
    let rows = |s: &str| s.lines().filter(|l| !l.starts_with("audit rows")).map(str::to_string).collect::<Vec<_>>();
    assert_eq!(rows(&after), rows(&before));

    // GET is refused while allow_get_api is off.
    let hash = sign_pairs(&[("user_id", "789")], ADMIN_KEY);
    let got = app.get(&format!("{DELETE}?u=admin&user_id=789&hash={hash}")).await.body;
    assert_eq!(got, common::status_error("GET Requests are disabled"));
    assert!(app.row(Table::Users, 789).await.is_some());
}

#[tokio::test]
async fn accountant_with_write_and_reseller_delete_their_users() {
    let app = TestApp::spawn().await;
    assert_eq!(delete_as(&app, "accountant", "123").await, deleted());
    assert_eq!(app.row(Table::Users, 123).await, None);
    // john's device went, with its caller id.
    assert_eq!(app.row(Table::Devices, 1).await, None);
    assert_eq!(app.row(Table::Callerids, 1).await, None);
    let rows = delete_rows(&app).await;
    let fields: Vec<&str> = rows.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["callerids", "devices", "users", "addresses", "taxes"]);
    assert!(rows.iter().all(|e| e.actor_username == "accountant" && e.target_id == Some(123)));

    // The reseller deletes alice (her device at his location goes too); the location stays.
    assert_eq!(delete_as(&app, "reseller", "201").await, deleted());
    assert_eq!(app.row(Table::Devices, 3).await, None);
    assert!(app.row(Table::Locations, 2).await.is_some());
    let last = delete_rows(&app).await;
    assert!(last.iter().rev().take(4).all(|e| e.signed_with == "current:200" && e.target_id == Some(201)));
}

#[tokio::test]
async fn d4_then_the_reseller_can_go_once_his_records_are_gone() {
    let app = TestApp::spawn().await;
    // His users, then his records: each removal shortens the list.
    assert_eq!(delete_as(&app, "reseller", "201").await, deleted());
    assert_eq!(delete_as(&app, "reseller", "202").await, deleted());
    assert_eq!(delete_as(&app, "admin", "200").await, page_error(D4_PROBLEMS[1], &D4_PROBLEMS[1..]));
    app.sql(
        "DELETE FROM tariffs WHERE id = 4; DELETE FROM lcrs WHERE id = 3; DELETE FROM quickforwards_rules WHERE id = 4; \
         DELETE FROM pbx_pools WHERE id = 2; DELETE FROM ivr_sound_files WHERE id = 2",
    )
    .await;
    assert_eq!(delete_as(&app, "admin", "200").await, page_error(D4_PROBLEMS[6], &[]));
    app.sql("INSERT INTO number_pools (id, name, owner_id) VALUES (7, 'Mine', 200), (5, 'Mine too', 200)").await;
    app.sql(
        "INSERT INTO acc_groups (id, name, group_type, only_view, owner_id) VALUES (9, 'His', 'accountant', 0, 200)",
    )
    .await;
    let listed = [
        "Cannot delete user - he owns number pools: 5, 7",
        "Cannot delete user - he owns permission groups: 9",
        D4_PROBLEMS[6],
    ];
    assert_eq!(delete_as(&app, "admin", "200").await, page_error(listed[0], &listed));
    app.sql(
        "DELETE FROM number_pools WHERE owner_id = 200; DELETE FROM acc_groups WHERE id = 9; \
         DELETE FROM locations WHERE id = 2",
    )
    .await;

    let settings = rows_of(&app, Table::Conflines, "owner_id", 200).await;
    assert_eq!(settings.len(), 4, "{settings:?}");
    let reseller = app.row(Table::Users, 200).await.expect("reseller");
    assert_eq!(delete_as(&app, "admin", "200").await, deleted());
    assert!(rows_of(&app, Table::Conflines, "owner_id", 200).await.is_empty(), "his settings went with him");
    let rows = delete_rows(&app).await;
    let his: Vec<&AuditEntry> = rows.iter().filter(|e| e.target_id == Some(200)).collect();
    let fields: Vec<&str> = his.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["conflines", "conflines", "conflines", "conflines", "users", "addresses", "taxes"]);
    for (entry, row) in his.iter().zip(&settings) {
        assert_holds(entry, "conflines", row);
    }
    assert_holds(his[4], "users", &reseller);
    // His key is in the trail only as `changed`.
    assert!(rows.iter().all(|e| !e.old_value.as_deref().unwrap_or_default().contains("reseller-secret")));
    // And his key signs nothing any more.
    assert!(delete_as(&app, "reseller", "200").await.contains("Incorrect hash"));
}

#[tokio::test]
async fn d9_and_the_default_user_and_spy_devices_keep_a_user() {
    let app = TestApp::spawn().await;
    // D9.
    assert_eq!(
        update(&app, &[("user_id", "123"), ("u31", "300")]).await,
        common::updated(),
        "john's responsible accountant"
    );
    assert_eq!(sign_pairs(&[("user_id", "300")], ADMIN_KEY), "7866dd0c765d6f7297a2147817e8aeea6f2b42c9");
    assert_eq!(delete_as(&app, "admin", "300").await, page_error(ACCOUNTANT_HAS_USERS, &[]));
    // Named as the default user's responsible accountant of any owner.
    app.set_setting(200, "default_user_responsible_accountant_id", "300").await;
    assert_eq!(
        delete_as(&app, "admin", "300").await,
        page_error(ACCOUNTANT_HAS_USERS, &[ACCOUNTANT_HAS_USERS, IN_DEFAULT_USER])
    );
    app.set_setting(0, "default_user_responsible_accountant_id", "301").await;
    assert_eq!(delete_as(&app, "admin", "301").await, page_error(IN_DEFAULT_USER, &[]));
    app.set_setting(0, "default_user_responsible_accountant_id", "-1").await;
    // Spy devices: john spies on jane's device.
    app.sql("UPDATE users SET spy_device_id = 2 WHERE id = 123").await;
    let spied = "Cannot delete user - his devices are spy devices of users: 123";
    assert_eq!(delete_as(&app, "admin", "789").await, page_error(spied, &[]));
    // A user spying on his own device is no obstacle.
    app.sql("UPDATE users SET spy_device_id = 1 WHERE id = 123").await;
    app.sql("UPDATE users SET responsible_accountant_id = -1 WHERE id = 123").await;
    assert_eq!(delete_as(&app, "admin", "123").await, deleted());
    assert_eq!(delete_as(&app, "admin", "301").await, deleted());
}

#[tokio::test]
async fn d10_ids_are_never_reused() {
    let app = TestApp::spawn().await;
    assert_eq!(delete_as(&app, "admin", "789").await, deleted());
    assert_eq!(insert_user(&app, "new1").await, 790, "above the highest id ever used");
    assert_eq!(sign_pairs(&[("user_id", "790")], ADMIN_KEY), "ade329ef985e6fa46e468d6e3a92388bd30964f3");
    assert_eq!(delete_as(&app, "admin", "790").await, deleted());
    assert_eq!(insert_user(&app, "new2").await, 791, "790 is not reused");
}

/// Runs `morapi user delete USER --yes` on the app's database; (success, stdout + stderr).
fn cli_delete(app: &TestApp, user: &str) -> (bool, String) {
    let out = Command::new(BIN)
        .args(["user", "delete", user, "--yes", "--database", &app.url, "--actor", "ops"])
        .env_remove("MORAPI_DATABASE")
        .env_remove("MORAPI_DATABASE_FILE")
        .env_remove("MORAPI_ACTOR")
        .output()
        .expect("morapi runs");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

#[tokio::test]
async fn the_cli_follows_the_same_rules_and_writes_the_same_rows() {
    let app = TestApp::spawn().await;
    let before = snapshot(&app).await;
    let (ok, out) = cli_delete(&app, "0");
    assert!(!ok && out.contains("Cannot delete sys.admin"), "{out}");
    let (ok, out) = cli_delete(&app, "reseller");
    assert!(!ok, "{out}");
    for problem in D4_PROBLEMS {
        assert!(out.contains(problem), "{problem} in {out}");
    }
    assert!(out.contains("nothing deleted"), "{out}");
    app.sql("UPDATE users SET responsible_accountant_id = 300 WHERE id = 789").await;
    let (ok, out) = cli_delete(&app, "accountant");
    assert!(!ok && out.contains(ACCOUNTANT_HAS_USERS), "{out}");
    app.sql("UPDATE users SET responsible_accountant_id = -1 WHERE id = 789").await;
    let (ok, out) = cli_delete(&app, "4242");
    assert!(!ok && out.contains("there is no user 4242"), "{out}");
    assert_eq!(snapshot(&app).await, before, "refusals change nothing");

    // The operator also deletes a reseller's user, and accountants.
    let (ok, out) = cli_delete(&app, "alice");
    assert!(ok, "{out}");
    assert_eq!(app.row(Table::Devices, 3).await, None);
    let (ok, out) = cli_delete(&app, "viewer");
    assert!(ok, "{out}");

    // The same rows as the API's D1, by the operator.
    let jane = app.row(Table::Users, 789).await.expect("jane");
    let (ok, out) = cli_delete(&app, "789");
    assert!(ok && out.contains("deleted user 789 (jane)"), "{out}");
    let rows = delete_rows(&app).await;
    let of_jane: Vec<&AuditEntry> = rows.iter().filter(|e| e.target_id == Some(789)).collect();
    let fields: Vec<&str> = of_jane.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["devices", "users", "addresses", "taxes"]);
    assert!(
        of_jane.iter().all(|e| e.actor_username == "cli:ops" && e.endpoint == "user delete" && e.actor_id.is_none())
    );
    assert_holds(of_jane[1], "users", &jane);
}

#[tokio::test]
async fn a_delete_racing_an_update_of_the_same_user_ends_cleanly() {
    for round in 0..3 {
        let app = TestApp::spawn().await;
        let second = app.spawn_second().await;
        let hash = sign_pairs(&[("user_id", "789"), ("u15", "1")], ADMIN_KEY);
        let pairs = [("u", "admin"), ("user_id", "789"), ("u15", "1"), ("hash", hash.as_str())];
        let update = second.post_form(common::UPDATE, &pairs);
        let (updated, removed) = tokio::join!(update, delete_as(&app, "admin", "789"));
        assert_eq!(removed, deleted(), "round {round}");
        assert_eq!(app.row(Table::Users, 789).await, None);
        let audit = app.audit().await;
        let change = audit.iter().position(|e| e.event == AuditEvent::Change && e.target_id == Some(789));
        let delete = audit.iter().position(|e| e.event == AuditEvent::Delete && e.target_id == Some(789));
        if updated.body == common::updated() {
            // The update came first: its change row precedes the delete's rows, and the deleted
            // row shows the change.
            assert!(change.is_some() && change < delete, "round {round}: {audit:#?}");
            let users = audit.iter().find(|e| e.event == AuditEvent::Delete && e.field == "users").expect("users row");
            let json: serde_json::Value =
                serde_json::from_str(users.old_value.as_deref().unwrap_or("{}")).expect("JSON");
            assert_eq!(json["blocked"], "1", "round {round}");
        } else {
            assert_eq!(updated.body, page_error("User was not found", &[]), "round {round}");
            assert_eq!(change, None, "round {round}: nothing written for the update");
        }
    }
}

#[tokio::test]
async fn a_delete_racing_an_update_naming_him_responsible_never_leaves_a_dangling_reference() {
    for round in 0..3 {
        let app = TestApp::spawn().await;
        let second = app.spawn_second().await;
        let hash = sign_pairs(&[("user_id", "123"), ("u31", "300")], ADMIN_KEY);
        let pairs = [("u", "admin"), ("user_id", "123"), ("u31", "300"), ("hash", hash.as_str())];
        let update = second.post_form(common::UPDATE, &pairs);
        let (updated, removed) = tokio::join!(update, delete_as(&app, "admin", "300"));
        let john = app.row(Table::Users, 123).await.expect("john");
        if removed == deleted() {
            assert_eq!(updated.body, page_error("Responsible accountant is not valid", &[]), "round {round}");
            assert_eq!(int(&john, "responsible_accountant_id"), Some(-1));
        } else {
            assert_eq!(removed, page_error(ACCOUNTANT_HAS_USERS, &[]), "round {round}");
            assert_eq!(updated.body, common::updated(), "round {round}");
            assert_eq!(int(&john, "responsible_accountant_id"), Some(300));
            assert!(app.row(Table::Users, 300).await.is_some());
        }
    }
}

#[tokio::test]
async fn a_delete_racing_an_update_naming_his_device_as_spy_device_never_leaves_a_dangling_reference() {
    for round in 0..3 {
        let app = TestApp::spawn().await;
        let second = app.spawn_second().await;
        let hash = sign_pairs(&[("user_id", "123"), ("u7", "2")], ADMIN_KEY);
        let pairs = [("u", "admin"), ("user_id", "123"), ("u7", "2"), ("hash", hash.as_str())];
        let update = second.post_form(common::UPDATE, &pairs);
        let (updated, removed) = tokio::join!(update, delete_as(&app, "admin", "789"));
        let john = app.row(Table::Users, 123).await.expect("john");
        if removed == deleted() {
            assert_eq!(
                updated.body,
                page_error("User was not updated", &["u7 (spy device) was not found: 2"]),
                "round {round}"
            );
            assert_eq!(int(&john, "spy_device_id"), Some(0));
        } else {
            let spied = "Cannot delete user - his devices are spy devices of users: 123";
            assert_eq!(removed, page_error(spied, &[]), "round {round}");
            assert_eq!(updated.body, common::updated(), "round {round}");
            assert_eq!(int(&john, "spy_device_id"), Some(2));
        }
    }
}
