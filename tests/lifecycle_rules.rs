//! The rules of the user lifecycle methods beyond their vectors (docs/contract.md §12–§18, "the
//! contract"):
//!
//! * the permission matrix: every demo caller × every demo user for `user_delete` (§4.2), what
//!   `users_get` lists for every caller (§3.2), who may register which user type (§2.2 steps 4–5,
//!   8.4–8.5) — restated by hand as data below, checked cell by cell over HTTP;
//! * properties: a refused `user_register` or `user_delete` changes nothing;
//! * concurrency: two instances on one database registering the same username or e-mail at
//!   once, and a `user_delete` racing a `user_details_update` of the same user.
//!
//! Written from the contract, independently of the implementation. Hashes are computed here with
//! SHA-1 from the contract's hash lists (`sha1_hex`, `register_string`).

mod common;

use common::*;
use morapi::storage::{AuditEntry, Table, text};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use std::sync::LazyLock;

/// The demo callers (§7 and docs/contract.md §9): username and the key of his scope (a simple
/// user signs with his owner's scope key).
const CALLERS: &[(&str, &str)] = &[
    ("admin", ADMIN_KEY),
    ("reseller", RESELLER_KEY),
    ("john", ADMIN_KEY),
    ("jane", ADMIN_KEY),
    ("alice", RESELLER_KEY),
    ("accountant", ADMIN_KEY),
    ("viewer", ADMIN_KEY),
];

/// The demo users, as `user_delete` targets (the columns of [`DELETE_MATRIX`]).
const TARGETS: [i64; 8] = [0, 123, 789, 200, 201, 202, 300, 301];

/// What `user_delete` answers one cell.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Del {
    /// `User deleted`.
    Ok,
    /// Step 2: a simple user; an accountant naming 0 or himself.
    Denied,
    /// Step 3: not visible to the caller (the update's visibility).
    NotFound,
    /// Step 4: a view-only accountant; an accountant on a reseller or accountant.
    NoEdit,
    /// Step 5: id 0.
    SysAdmin,
    /// Step 5: himself.
    Yourself,
    /// Step 6: reseller 200 with users and records (D4).
    HasUsers,
}

use Del::*;

/// Contract §4.2, by hand. Rows: [`CALLERS`]; columns: [`TARGETS`] (0, 123, 789, 200, 201, 202,
/// 300, 301).
const DELETE_MATRIX: [[Del; 8]; 7] = [
    // admin: sees owner-0 users and himself; 201/202 belong to the reseller (open point 7).
    [SysAdmin, Ok, Ok, HasUsers, NotFound, NotFound, Ok, Ok],
    // reseller: sees his users and himself.
    [NotFound, NotFound, NotFound, Yourself, Ok, Ok, NotFound, NotFound],
    // john, jane, alice: simple users.
    [Denied; 8],
    [Denied; 8],
    [Denied; 8],
    // accountant (user_manage 2): 0 and himself refused first; simple users of the admin only.
    [Denied, Ok, Ok, NoEdit, NotFound, NotFound, Denied, NoEdit],
    // viewer (user_manage 1): never edits.
    [Denied, NoEdit, NoEdit, NoEdit, NotFound, NotFound, NoEdit, Denied],
];

fn delete_answer(expected: Del) -> String {
    match expected {
        Ok => user_deleted(),
        Denied => page_error("Access Denied", &[]),
        NotFound => page_error("User was not found", &[]),
        NoEdit => page_error("You have no editing permission", &[]),
        SysAdmin => page_error("Cannot delete sys.admin", &[]),
        Yourself => page_error("Unable to delete yourself", &[]),
        HasUsers => page_error(RESELLER_HAS_USERS, &D4_PROBLEMS),
    }
}

/// `user_delete`'s hash: `user_id` as its integer when all digits, then the key (§1.2).
fn delete_hash(user_id: &str, key: &str) -> String {
    let hashed = match user_id.parse::<u64>() {
        Result::Ok(n) if user_id.bytes().all(|b| b.is_ascii_digit()) => n.to_string(),
        _ => String::new(),
    };
    sha1_hex(&format!("{hashed}{key}"))
}

async fn delete_as(app: &TestApp, (u, key): (&str, &str), user_id: &str) -> String {
    let hash = delete_hash(user_id, key);
    app.call(DELETE, &[("u", u), ("user_id", user_id), ("hash", &hash)]).await
}

fn deletes_of(audit: &[AuditEntry], id: i64) -> Vec<&AuditEntry> {
    audit.iter().filter(|e| e.event.name() == "delete" && e.target_id == Some(id)).collect()
}

#[tokio::test]
async fn who_may_delete_whom() {
    // Every refusing cell on one demo: nothing may change.
    let shared = TestApp::spawn().await;
    let before = shared.lifecycle_state().await;
    for (row, caller) in CALLERS.iter().enumerate() {
        for (column, target) in TARGETS.iter().enumerate() {
            let expected = DELETE_MATRIX[row][column];
            let id = target.to_string();
            if expected != Ok {
                let body = delete_as(&shared, *caller, &id).await;
                assert_eq!(body, delete_answer(expected), "{} deleting {target}", caller.0);
                assert_eq!(shared.lifecycle_state().await, before, "{} deleting {target} changed something", caller.0);
                continue;
            }
            // Every deleting cell on a fresh demo.
            let app = TestApp::spawn().await;
            assert_eq!(delete_as(&app, *caller, &id).await, user_deleted(), "{} deleting {target}", caller.0);
            assert_eq!(app.row(Table::Users, *target).await, None, "{} deleting {target}", caller.0);
            let audit = app.audit().await;
            let rows = deletes_of(&audit, *target);
            assert!(rows.iter().any(|e| e.field == "users"), "{} deleting {target}: {audit:?}", caller.0);
            assert!(rows.iter().all(|e| e.actor_username == caller.0), "{rows:?}");
            assert_eq!(app.rows(Table::Users).await.len(), 7, "only {target} went");
        }
    }
}

/// `users_get` for every caller (§3.2): credentials (`p`, or `uniquehash` for those without a
/// password), then the list by the caller's type, in ascending id.
#[tokio::test]
async fn what_users_get_lists_for_each_caller() {
    let app = TestApp::spawn().await;
    let all_but_admin = users_list(&[123, 200, 201, 202, 300, 301, 789]);
    let all_but_accountants = users_list(&[123, 200, 201, 202, 789]);
    let denied = page_status_error("Access Denied", &[]);
    // (u, credential name, credential, key, expected)
    let cells: Vec<(&str, &str, &str, &str, String)> = vec![
        ("admin", "p", "Admin1234", ADMIN_KEY, all_but_admin.clone()),
        ("admin", "uniquehash", "admhash234", ADMIN_KEY, all_but_admin),
        ("reseller", "p", "Reseller123", RESELLER_KEY, users_list(&[201, 202])),
        ("reseller", "p", "Reseller123", ADMIN_KEY, users_list(&[201, 202])),
        ("john", "p", "John12345", ADMIN_KEY, denied.clone()),
        ("john", "uniquehash", "jhnhash234", ADMIN_KEY, denied.clone()),
        ("jane", "uniquehash", "jnehash234", ADMIN_KEY, denied.clone()),
        ("alice", "uniquehash", "acehash234", RESELLER_KEY, denied),
        ("accountant", "p", "Account123", ADMIN_KEY, all_but_accountants.clone()),
        ("viewer", "p", "Viewer123", ADMIN_KEY, all_but_accountants),
    ];
    check_users_get(&app, &cells).await;

    // On another demo, two more callers: an accountant of a group without `user_manage`, and a
    // reseller without users (who signs with the admin's key, his own scope having none).
    let app = TestApp::spawn().await;
    app.sql(
        "INSERT INTO acc_groups (id, name, group_type, only_view, owner_id) VALUES (4, 'No rights', 'accountant', 0, 0); \
         INSERT INTO users (id, username, usertype, owner_id, first_name, last_name, acc_group_id, uniquehash) VALUES \
           (302, 'norights', 'accountant', 0, 'Nora', 'Rights', 4, 'nrthash234'), \
           (210, 'reseller2', 'reseller', 0, 'Second', 'Reseller', 3, 'rs2hash234');",
    )
    .await;
    let cells: Vec<(&str, &str, &str, &str, String)> = vec![
        (
            "norights",
            "uniquehash",
            "nrthash234",
            ADMIN_KEY,
            page_status_error("You are not authorized to view this page", &[]),
        ),
        ("reseller2", "uniquehash", "rs2hash234", ADMIN_KEY, page_status_error("No Users found", &[])),
    ];
    check_users_get(&app, &cells).await;
}

/// Sends each `users_get` cell and checks its answer; none may write anything.
async fn check_users_get(app: &TestApp, cells: &[(&str, &str, &str, &str, String)]) {
    let before = app.lifecycle_state().await;
    for (u, name, credential, key, expected) in cells {
        // The hash list is `u`, `p` only: a `uniquehash` never enters it.
        let p = if *name == "p" { *credential } else { "" };
        let hash = sha1_hex(&format!("{u}{p}{key}"));
        let body = app.call(USERS_GET, &[("u", u), (name, credential), ("hash", &hash)]).await;
        assert_eq!(&body, expected, "users_get as {u} by {name} signed with {key}");
    }
    assert_eq!(app.lifecycle_state().await, before, "a successful or refused users_get writes nothing");
}

/// A registration of `newuser` with everything valid, to be varied.
fn registration(owner_id: &'static str) -> Vec<(&'static str, &'static str)> {
    let mut pairs = vec![
        ("username", "newuser"),
        ("password", "Newuser2024x"),
        ("password2", "Newuser2024x"),
        ("first_name", "New"),
        ("last_name", "User"),
        ("email", "newuser@example.com"),
        ("country_id", "1"),
        ("device_type", "SIP"),
    ];
    if !owner_id.is_empty() {
        pairs.insert(0, ("id", owner_id));
    }
    pairs
}

async fn register_as(app: &TestApp, pairs: &[(&str, &str)], key: &str) -> String {
    let hash = sha1_hex(&format!("{}{key}", register_string(pairs)));
    let mut all = pairs.to_vec();
    all.push(("hash", &hash));
    app.call(REGISTER, &all).await
}

/// An allowed registration: owner id, key, extra parameters, and the new user's owner, type and group.
type Allowed =
    (&'static str, &'static str, &'static [(&'static str, &'static str)], &'static str, &'static str, &'static str);
/// A refused registration: owner id, key, extra parameters, the answer.
type Refused = (&'static str, &'static str, Vec<(&'static str, &'static str)>, String);

/// Who may register which user type (§2.2 steps 4, 5, 8.4, 8.5; open point 8).
#[tokio::test]
async fn who_may_register_what() {
    // Allowed: the admin owner (by his uniquehash or without `id`) registers users, resellers
    // (with a reseller group) and accountants (with an accountant group); a reseller registers
    // simple users. Each on a fresh demo: (owner id, key, extra parameters, owner, type, group).
    let allowed: [Allowed; 5] = [
        ("", ADMIN_KEY, &[], "0", "user", "0"),
        ("admhash234", ADMIN_KEY, &[("usertype", "user")], "0", "user", "0"),
        ("admhash234", ADMIN_KEY, &[("usertype", "reseller"), ("permission_group", "3")], "0", "reseller", "3"),
        ("admhash234", ADMIN_KEY, &[("usertype", "accountant"), ("permission_group", "1")], "0", "accountant", "1"),
        ("reshash567", RESELLER_KEY, &[("usertype", "user")], "200", "user", "0"),
    ];
    for (id, key, extra, owner, usertype, group) in allowed {
        let app = TestApp::spawn().await;
        let mut pairs = registration(id);
        pairs.extend_from_slice(extra);
        let body = register_as(&app, &pairs, key).await;
        let (masked, ..) = mask_credentials(&body, 6);
        assert_eq!(masked, registered((790, 4, 1004), "SIP", None, "192.0.2.10"), "owner {id:?} {extra:?}");
        let user = app.user(790).await;
        let got = [text(&user, "owner_id"), text(&user, "usertype"), text(&user, "acc_group_id")];
        assert_eq!(got, [owner, usertype, group], "owner {id:?} {extra:?}");
    }

    // Refused, all on one demo, nothing written.
    let app = TestApp::spawn().await;
    let before = app.lifecycle_state().await;
    let not_present = page_status_error("Default user is not present", &[]);
    let refused: Vec<Refused> = vec![
        // A reseller owner may register simple users only (step 5).
        (
            "reshash567",
            RESELLER_KEY,
            vec![("usertype", "reseller"), ("permission_group", "3")],
            page_status_error("Access Denied", &["You may not set usertype (user type) to reseller"]),
        ),
        (
            "reshash567",
            RESELLER_KEY,
            vec![("usertype", "accountant"), ("permission_group", "1")],
            page_status_error("Access Denied", &["You may not set usertype (user type) to accountant"]),
        ),
        (
            "reshash567",
            RESELLER_KEY,
            vec![("usertype", "admin")],
            page_status_error("Access Denied", &["You may not set usertype (user type) to admin"]),
        ),
        // Owners that are neither the admin nor a reseller (step 4), each with his scope's key.
        ("jhnhash234", ADMIN_KEY, vec![], not_present.clone()),
        ("jnehash234", ADMIN_KEY, vec![], not_present.clone()),
        ("acehash234", RESELLER_KEY, vec![], not_present.clone()),
        ("bbbhash234", RESELLER_KEY, vec![], not_present.clone()),
        ("acchash234", ADMIN_KEY, vec![], not_present.clone()),
        ("vwrhash234", ADMIN_KEY, vec![], not_present.clone()),
        // The admin owner: user types and permission groups (steps 8.4, 8.5).
        (
            "admhash234",
            ADMIN_KEY,
            vec![("usertype", "admin")],
            page_status_error("usertype (user type) must be user, reseller or accountant, got \"admin\"", &[]),
        ),
        (
            "admhash234",
            ADMIN_KEY,
            vec![("usertype", "reseller")],
            page_status_error("Permission Group was not selected", &[]),
        ),
        (
            "admhash234",
            ADMIN_KEY,
            vec![("usertype", "reseller"), ("permission_group", "1")],
            page_status_error("Permission Group was not Found", &[]),
        ),
        (
            "admhash234",
            ADMIN_KEY,
            vec![("usertype", "accountant"), ("permission_group", "3")],
            page_status_error("Permission Group was not Found", &[]),
        ),
        (
            "admhash234",
            ADMIN_KEY,
            vec![("usertype", "accountant"), ("permission_group", "99")],
            page_status_error("Permission Group was not Found", &[]),
        ),
        (
            "admhash234",
            ADMIN_KEY,
            vec![("usertype", "user"), ("permission_group", "3")],
            page_status_error("permission_group (permission group) applies only to resellers and accountants", &[]),
        ),
    ];
    for (id, key, extra, expected) in refused {
        let mut pairs = registration(id);
        pairs.extend_from_slice(&extra);
        let body = register_as(&app, &pairs, key).await;
        // XML escapes nothing in these texts but the quotes, which stay as they are in text.
        assert_eq!(body, expected, "owner {id} {extra:?}");
        assert_eq!(app.lifecycle_state().await, before, "owner {id} {extra:?} changed something");
    }
}

// ---------------------------------------------------------------------------------------------
// Properties: a refusal changes nothing
// ---------------------------------------------------------------------------------------------

static RT: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("tokio runtime")
});

/// Runs a property against one demo server shared by every case (a refusal changes nothing, so
/// the demo stays as it was; a case that changes it fails).
fn check<S: Strategy>(cases: u32, strategy: S, test: impl AsyncFn(&TestApp, S::Value) -> Result<(), TestCaseError>) {
    let app = RT.block_on(TestApp::spawn());
    let mut runner =
        TestRunner::new(Config { cases, failure_persistence: None, max_shrink_iters: 100, ..Config::default() });
    let result = runner.run(&strategy, |input| RT.block_on(test(&app, input)));
    RT.block_on(async move { drop(app) });
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// For each required parameter of `user_register`: its valid value first, then ways to get it
/// wrong (`None` = not sent).
const VARIANTS: &[(&str, &[Option<&str>])] = &[
    (
        "username",
        &[Some("newuser"), None, Some(""), Some("   "), Some("john"), Some("abcdefghijabcdefghijabcdefghij1")],
    ),
    ("password", &[Some("Newuser2024x"), None, Some(""), Some("weakpassword"), Some("Ab1")]),
    ("password2", &[Some("Newuser2024x"), None, Some("Newuser2024y")]),
    ("first_name", &[Some("New"), None, Some(""), Some("  ")]),
    ("last_name", &[Some("User"), None, Some(""), Some("x234567890x234567890x234567890x234567890x2345678901")]),
    ("country_id", &[Some("1"), None, Some("999"), Some("abc")]),
    ("email", &[Some("newuser@example.com"), None, Some("not-an-email"), Some("john@example.com")]),
    ("device_type", &[Some("SIP"), None, Some("sip"), Some("Phone")]),
];

/// Optional parameters, valid or not: sent with one of these values, or not at all.
const OPTIONAL: &[(&str, &[&str])] = &[
    ("lcr_id", &["1", "999", "x"]),
    ("device_location_id", &["1", "999"]),
    ("phone", &["+370 600 99999", "+37052000123"]),
    ("tariff", &["1", "999"]),
    ("usertype", &["user", "manager"]),
    ("currency_id", &["2", "999"]),
];

#[test]
fn a_refused_registration_changes_nothing() {
    let required = VARIANTS.iter().map(|(_, values)| 0..values.len()).collect::<Vec<_>>();
    let optional = OPTIONAL.iter().map(|(_, values)| 0..=values.len()).collect::<Vec<_>>();
    let strategy = (any::<bool>(), required, optional)
        .prop_filter("at least one required parameter wrong", |(_, required, _)| required.iter().any(|c| *c > 0));
    check(48, strategy, async |app, (by_reseller, required, optional)| {
        let (id, key) = if by_reseller { ("reshash567", RESELLER_KEY) } else { ("admhash234", ADMIN_KEY) };
        let mut pairs = vec![("id", id)];
        for ((name, values), choice) in VARIANTS.iter().zip(&required) {
            if let Some(value) = values[*choice] {
                pairs.push((name, value));
            }
        }
        for ((name, values), choice) in OPTIONAL.iter().zip(&optional) {
            if let Some(value) = values.get(*choice) {
                pairs.push((name, value));
            }
        }
        let before = app.lifecycle_state().await;
        let body = register_as(app, &pairs, key).await;
        prop_assert!(
            body.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<page>\n  <status>\n    <error>"),
            "not a refusal: {body} for {pairs:?}"
        );
        prop_assert_eq!(app.lifecycle_state().await, before, "{} for {:?}", body, pairs);
        Result::Ok(())
    });
}

#[test]
fn a_refused_delete_changes_nothing() {
    // The refusing cells of the matrix, and user ids that name nobody.
    let mut cells = Vec::new();
    for (row, caller) in CALLERS.iter().enumerate() {
        for (column, target) in TARGETS.iter().enumerate() {
            if DELETE_MATRIX[row][column] != Ok {
                cells.push((*caller, target.to_string(), Some(DELETE_MATRIX[row][column])));
            }
        }
        for junk in ["999", "790", "abc", "", "-1", "12.5", " 123"] {
            cells.push((*caller, junk.to_string(), None));
        }
    }
    check(64, proptest::sample::select(cells), async |app, (caller, user_id, expected)| {
        let before = app.lifecycle_state().await;
        let body = delete_as(app, caller, &user_id).await;
        match expected {
            Some(expected) => prop_assert_eq!(&body, &delete_answer(expected), "{} deleting {}", caller.0, user_id),
            None => prop_assert!(
                body.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<page>\n  <error>"),
                "{} deleting {:?}: {}",
                caller.0,
                user_id,
                body
            ),
        }
        prop_assert_eq!(app.lifecycle_state().await, before, "{} deleting {:?}: {}", caller.0, user_id, body);
        Result::Ok(())
    });
}

// ---------------------------------------------------------------------------------------------
// Concurrency: two instances, one database
// ---------------------------------------------------------------------------------------------

const ROUNDS: usize = 8;

/// The storage answer a request may get when conflicting transactions still fail after the
/// retries (docs/contract.md §6). It promises that nothing was changed, which the row counts
/// below hold it to, so a race may end with it instead of MOR's refusal.
const BUSY: &str = "Database is busy, nothing was changed; try again";

/// Row counts of what a registration creates, and its `create` audit rows.
async fn created_counts(app: &TestApp) -> [usize; 6] {
    let creates = app.audit().await.iter().filter(|e| e.event.name() == "create").count();
    [
        app.rows(Table::Users).await.len(),
        app.rows(Table::Addresses).await.len(),
        app.rows(Table::Taxes).await.len(),
        app.rows(Table::Devices).await.len(),
        app.count_where(Table::Callerids, &[]).await,
        creates,
    ]
}

/// A valid registration by the admin owner of `username` with `email`.
async fn register_named(app: &TestApp, username: &str, email: &str) -> String {
    let mut pairs: Vec<(&str, &str)> =
        registration("admhash234").into_iter().filter(|(n, _)| *n != "username" && *n != "email").collect();
    pairs.push(("username", username));
    pairs.push(("email", email));
    register_as(app, &pairs, ADMIN_KEY).await
}

/// Two instances register twice per round at once, `(a, b)` choosing what each sends; exactly
/// one may succeed, the other answers `refusal` (or [`BUSY`]); no half-created rows.
async fn race_registrations(pair: impl Fn(usize) -> ([(String, String); 2], &'static str)) {
    let a = TestApp::spawn().await;
    let b = a.spawn_second().await;
    let start = created_counts(&a).await;
    let (mut busy, mut refused) = (0, 0);
    for round in 0..ROUNDS {
        let ([(user_a, email_a), (user_b, email_b)], refusal) = pair(round);
        let (first, second) =
            tokio::join!(register_named(&a, &user_a, &email_a), register_named(&b, &user_b, &email_b));
        let succeeded =
            [&first, &second].iter().filter(|body| body.contains("<success>Registration successful</success>")).count();
        assert_eq!(succeeded, 1, "round {round}: exactly one registration succeeds:\n{first}\n{second}");
        let loser = if first.contains("<success>") { &second } else { &first };
        if *loser == page_status_error(BUSY, &[]) {
            busy += 1;
        } else {
            assert_eq!(*loser, page_status_error(refusal, &[]), "round {round}");
            refused += 1;
        }
    }
    let end = created_counts(&a).await;
    let grown: Vec<usize> = end.iter().zip(start).map(|(e, s)| e - s).collect();
    assert_eq!(
        grown,
        [ROUNDS, ROUNDS, ROUNDS, ROUNDS, 0, 4 * ROUNDS],
        "one user, address, tax, device and four create rows per round"
    );
    eprintln!("{ROUNDS} rounds: {refused} refused by the rule, {busy} busy");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_same_username_registered_twice_at_once() {
    race_registrations(|round| {
        let user = format!("racer{round}");
        (
            [(user.clone(), format!("racer{round}a@example.com")), (user, format!("racer{round}b@example.com"))],
            "Such username is already taken",
        )
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_same_email_registered_twice_at_once() {
    race_registrations(|round| {
        let email = format!("race{round}@example.com");
        (
            [(format!("racer{round}a"), email.clone()), (format!("racer{round}b"), email)],
            "This email address is already in use.",
        )
    })
    .await;
}

/// A `user_delete` and a `user_details_update` of the same user at once, from two instances:
/// either the update came first (both acknowledged, the delete's audit row holds the updated
/// name) or the delete did (the update answers `User was not found` and left no trace); never an
/// acknowledged update lost on a deleted user.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_delete_racing_an_update_of_the_same_user() {
    const TARGETS_FROM: i64 = 5000;
    let rounds = 3 * ROUNDS as i64;
    let a = TestApp::spawn().await;
    let b = a.spawn_second().await;
    let mut script = String::new();
    for i in 0..rounds {
        let id = TARGETS_FROM + i;
        script.push_str(&format!(
            "INSERT INTO users (id, username, usertype, owner_id, first_name, last_name, uniquehash) \
             VALUES ({id}, 'target{i}', 'user', 0, 'Target', 'Original', 'tgt{i:07}');\n"
        ));
    }
    a.sql(&script).await;
    let (mut update_first, mut delete_first) = (0, 0);
    for i in 0..rounds {
        let id = (TARGETS_FROM + i).to_string();
        let name = format!("Changed{i}");
        // The instances swap roles every round.
        let (deleter, updater) = if i % 2 == 0 { (&a, &b) } else { (&b, &a) };
        let change = [("user_id", id.as_str()), ("u17", name.as_str())];
        let (deleted, updated_body) =
            tokio::join!(delete_as(deleter, ("admin", ADMIN_KEY), &id), updater.update(&change));
        let target = TARGETS_FROM + i;
        let audit = a.audit().await;
        let changes = audit.iter().filter(|e| e.event.name() == "change" && e.target_id == Some(target)).count();
        let deletes = deletes_of(&audit, target);
        let row = a.row(Table::Users, target).await;
        let busy = page_error(BUSY, &[]);
        let update_acknowledged = updated_body == updated();
        assert!(
            update_acknowledged || updated_body == page_error("User was not found", &[]) || updated_body == busy,
            "round {i}: update answered {updated_body}"
        );
        assert_eq!(changes, usize::from(update_acknowledged), "round {i}: one change row per acknowledged update");
        if deleted == user_deleted() {
            assert_eq!(row, None, "round {i}: deleted");
            let user_row =
                deletes.iter().find(|e| e.field == "users").unwrap_or_else(|| panic!("round {i}: {audit:?}"));
            let old = user_row.old_value.as_deref().unwrap_or_default();
            let last_name = serde_json::from_str::<serde_json::Value>(old).expect("JSON")["last_name"].clone();
            if update_acknowledged {
                assert_eq!(last_name, name.as_str(), "round {i}: the update came first, the delete removed its result");
                update_first += 1;
            } else {
                assert_eq!(last_name, "Original", "round {i}: nothing was updated");
                delete_first += 1;
            }
        } else {
            assert_eq!(deleted, busy, "round {i}: delete answered {deleted}");
            let row = row.unwrap_or_else(|| panic!("round {i}: a busy delete removed the user"));
            assert!(deletes.is_empty(), "round {i}: {deletes:?}");
            let expected = if update_acknowledged { name.as_str() } else { "Original" };
            assert_eq!(text(&row, "last_name"), expected, "round {i}");
        }
    }
    eprintln!("{rounds} rounds: update first {update_first}, delete first {delete_first}");
}
