//! The gate against attackers (issue 10): lockouts per (name, client address) and per address,
//! counted refusals that cost constant space, answers that do not tell known names from unknown
//! ones, key rotation, and the target's row lock taken only after authentication. Runs on every
//! engine (`MORAPI_TEST_DATABASE`).

mod common;

use common::*;
use morapi::storage::{AuditEvent, RefusalScope};

const WRONG: &str = "not-the-key";
const BLOCK: [(&str, &str); 2] = [("user_id", "123"), ("u15", "1")];

/// The lock's answer, and the seconds it says.
fn wait_seconds(body: &str) -> Option<i64> {
    let text = body.split("<error>Please wait ").nth(1)?;
    text.split(' ').next()?.parse().ok()
}

#[tokio::test]
async fn five_refused_hashes_lock_the_pair_and_the_sixth_is_not_checked() {
    let app = TestApp::spawn().await;
    for _ in 0..5 {
        assert_eq!(app.update_as("admin", WRONG, &BLOCK).await, status_error("Incorrect hash"));
    }
    let before = app.state().await;
    // Even the right key is refused now, without being checked, and nothing is counted.
    let locked = app.update(&BLOCK).await;
    let seconds = wait_seconds(&locked).unwrap_or_else(|| panic!("locked: {locked}"));
    assert!((899..=900).contains(&seconds), "{seconds}");
    assert_eq!(locked, status_error(&format!("Please wait {seconds} seconds before trying again")));
    assert_eq!(app.state().await, before);
    assert_eq!(app.refusals_of("admin").await[0].count, 5, "attempts while locked are not counted");
    // One lockout row: the name, the failures counted, the lock's end; no parameter values.
    let audit = app.audit().await;
    assert_eq!(audit.len(), 1, "{audit:?}");
    let row = &audit[0];
    assert_eq!(row.event, AuditEvent::Lockout);
    assert_eq!((row.actor_username.as_str(), row.actor_id, row.field.as_str()), ("admin", Some(0), "5"));
    assert_eq!(row.client_addr, "127.0.0.1");
    let until = row.new_value.clone().unwrap_or_default();
    assert!(chrono::DateTime::parse_from_rfc3339(&until).is_ok(), "{until}");
    // The read methods are locked too.
    let hash = sign_pairs(&BLOCK[..1], ADMIN_KEY);
    let read = app.post_form("/billing/api/user_details_get", &[BLOCK[0], ("u", "admin"), ("hash", &hash)]).await;
    assert!(wait_seconds(&read.body).is_some(), "{}", read.body);
}

#[tokio::test]
async fn another_address_is_never_locked_by_an_attackers_failures() {
    let app = TestApp::spawn().await;
    for _ in 0..6 {
        app.update_as("admin", WRONG, &BLOCK).await;
    }
    assert!(wait_seconds(&app.update(&BLOCK).await).is_some(), "the attacker's address is locked");
    assert_eq!(app.update_from("127.0.0.2", "admin", ADMIN_KEY, &BLOCK).await, updated());
    assert_eq!(app.col(123, "blocked").await, "1");
}

#[tokio::test]
async fn many_names_refused_from_one_address_lock_the_address() {
    let app = TestApp::spawn().await;
    for i in 0..10 {
        let body = app.update_as(&format!("guess{i}"), WRONG, &BLOCK).await;
        assert_eq!(body, status_error("Incorrect hash"), "attempt {i}");
    }
    // The eleventh name, known or not, waits; another address does not.
    assert!(wait_seconds(&app.update(&BLOCK).await).is_some());
    assert!(wait_seconds(&app.update_as("guess10", WRONG, &BLOCK).await).is_some());
    assert_eq!(app.update_from("127.0.0.2", "admin", ADMIN_KEY, &BLOCK).await, updated());
    let lockouts: Vec<_> = app.audit().await.into_iter().filter(|e| e.event == AuditEvent::Lockout).collect();
    assert_eq!(lockouts.len(), 1, "{lockouts:?}");
    assert_eq!((lockouts[0].actor_username.as_str(), lockouts[0].field.as_str()), ("", "10"));
}

#[tokio::test]
async fn a_lock_ends_and_the_count_starts_afresh() {
    let app = TestApp::spawn().await;
    app.set_setting(0, "lockout_seconds", "1").await;
    for _ in 0..5 {
        app.update_as("admin", WRONG, &BLOCK).await;
    }
    assert!(wait_seconds(&app.update(&BLOCK).await).is_some());
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(app.update(&BLOCK).await, updated());
    // The failures before the lock no longer count: one more is not enough to lock again.
    assert_eq!(app.update_as("admin", WRONG, &BLOCK).await, status_error("Incorrect hash"));
    assert_eq!(app.update(&[("user_id", "123"), ("u15", "0")]).await, updated());
}

#[tokio::test]
async fn a_switched_off_lockout_still_counts_refusals_in_constant_space() {
    let app = TestApp::spawn().await;
    app.set_setting(0, "lockout_attempts", "0").await;
    app.set_setting(0, "lockout_address_usernames", "0").await;
    for _ in 0..30 {
        assert_eq!(app.update_as("admin", WRONG, &BLOCK).await, status_error("Incorrect hash"));
    }
    assert_eq!(app.update(&BLOCK).await, updated());
    let rows = app.refusals().await;
    assert_eq!(rows.len(), 1, "one row for the pair and window: {rows:?}");
    assert_eq!((rows[0].scope, rows[0].count, rows[0].recent.as_str()), (RefusalScope::Name, 30, ""));
    assert!(app.audit().await.iter().all(|e| e.event == AuditEvent::Change));
}

#[tokio::test]
async fn a_lock_holds_for_every_instance_on_the_database() {
    let app = TestApp::spawn().await;
    let second = app.spawn_second().await;
    for i in 0..5 {
        let via = if i % 2 == 0 { &app } else { &second };
        assert_eq!(via.update_as("admin", WRONG, &BLOCK).await, status_error("Incorrect hash"));
    }
    assert!(wait_seconds(&app.update(&BLOCK).await).is_some());
    assert!(wait_seconds(&second.update(&BLOCK).await).is_some());
}

/// docs/contract.md §4: an answer about a reseller's own scope goes only to a request signed with
/// that scope's key; anything else gets what an unknown name gets.
#[tokio::test]
async fn answers_about_a_resellers_scope_need_his_key() {
    let app = TestApp::spawn().await;
    // alice (201) belongs to the reseller (200), whose own API is off.
    app.set_setting(200, "allow_api", "0").await;
    let pairs = [("user_id", "201"), ("u15", "1")];
    assert_eq!(app.update_as("alice", RESELLER_KEY, &pairs).await, status_error("API Requests are disabled"));
    assert_eq!(app.update_as("alice", WRONG, &pairs).await, status_error("Incorrect hash"));
    assert_eq!(app.update_as("nobody-at-all", WRONG, &pairs).await, status_error("Incorrect hash"));
    // His API on, his key empty: nobody can prove anything, everybody gets the unknown's answer.
    app.set_setting(200, "allow_api", "1").await;
    app.set_setting(200, "api_secret_key", "").await;
    for key in [RESELLER_KEY, WRONG, ""] {
        assert_eq!(app.update_as("alice", key, &pairs).await, status_error("Incorrect hash"), "{key}");
    }
    // Those answers were refused hashes, counted like an unknown name's.
    assert_eq!(app.refusals_of("alice").await.iter().map(|r| r.count).sum::<i64>(), 4);
}

#[tokio::test]
async fn the_next_key_is_accepted_alongside_the_current_one_and_recorded() {
    let app = TestApp::spawn().await;
    app.set_setting(0, "api_secret_key_next", "the-next-admin-key-0123").await;
    assert_eq!(app.update_as("admin", "the-next-admin-key-0123", &BLOCK).await, updated());
    assert_eq!(app.update_as("admin", ADMIN_KEY, &[("user_id", "123"), ("u15", "0")]).await, updated());
    // A reseller may sign with the admin's next key as with the admin's current one.
    let alice = [("user_id", "201"), ("u15", "1")];
    assert_eq!(app.update_as("reseller", "the-next-admin-key-0123", &alice).await, updated());
    let signed: Vec<(String, String)> =
        app.changes().await.into_iter().map(|e| (e.actor_username, e.signed_with)).collect();
    assert_eq!(
        signed,
        [("admin", "next:0"), ("admin", "current:0"), ("reseller", "next:0")]
            .map(|(a, k)| (a.to_string(), k.to_string()))
    );
    // Promoted (the next key becomes the current one): the old key stops working.
    app.set_setting(0, "api_secret_key", "the-next-admin-key-0123").await;
    app.set_setting(0, "api_secret_key_next", "").await;
    assert_eq!(app.update_as("admin", ADMIN_KEY, &BLOCK).await, status_error("Incorrect hash"));
    assert_eq!(app.update_as("admin", "the-next-admin-key-0123", &BLOCK).await, updated());
}

/// A refused request takes no lock on the user it names: while another transaction holds that
/// user's row, a wrong hash naming him is answered at once instead of waiting for the holder.
/// (SQLite runs one transaction at a time, so only the server engines can show it.)
#[tokio::test]
async fn refused_requests_do_not_wait_for_the_target_row() {
    if std::env::var("MORAPI_TEST_DATABASE").is_err() {
        eprintln!("skipped on SQLite: one writer, no row locks");
        return;
    }
    let app = TestApp::spawn().await;
    let (locked_tx, locked_rx) = tokio::sync::oneshot::channel::<()>();
    let locked_tx = std::sync::Mutex::new(Some(locked_tx));
    let holder = app.db.administer(move |r| {
        r.user_for_update(123)?;
        if let Some(tx) = locked_tx.lock().ok().and_then(|mut t| t.take()) {
            let _ = tx.send(());
        }
        std::thread::sleep(std::time::Duration::from_secs(3));
        Ok(morapi::storage::Tx::Rollback(()))
    });
    let refused = async {
        locked_rx.await.expect("the row is locked");
        app.update_as("admin", WRONG, &BLOCK).await
    };
    tokio::select! {
        body = refused => assert_eq!(body, status_error("Incorrect hash")),
        _ = holder => panic!("the refused request waited for the row lock of the user it named"),
    }
}

/// `morapi lockouts list` shows the lock and `clear` lifts it, for the server's next request.
#[tokio::test]
async fn an_operator_sees_and_lifts_a_lock() {
    let app = TestApp::spawn().await;
    for _ in 0..5 {
        app.update_as("admin", WRONG, &BLOCK).await;
    }
    assert!(wait_seconds(&app.update(&BLOCK).await).is_some());
    let cli = |args: &[&str]| {
        let out = std::process::Command::new(BIN)
            .arg("lockouts")
            .args(args)
            .args(["--database", &app.url])
            .output()
            .expect("morapi runs");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let (code, listed, err) = cli(&["list", "--locked", "--json"]);
    assert_eq!(code, Some(0), "{err}");
    let rows: serde_json::Value = serde_json::from_str(&listed).expect("json");
    let rows = rows.as_array().expect("array");
    assert_eq!(rows.len(), 1, "{listed}");
    assert_eq!((rows[0]["name"].as_str(), rows[0]["count"].as_i64()), (Some("admin"), Some(5)));
    assert_eq!((rows[0]["client_addr"].as_str(), rows[0]["locked"].as_bool()), (Some("127.0.0.1"), Some(true)));
    let (code, table, _) = cli(&["list"]);
    assert_eq!(code, Some(0));
    assert!(table.contains("admin") && table.contains("left") && table.contains("(any name)"), "{table}");
    let (code, _, err) = cli(&["clear"]);
    assert_eq!(code, Some(2), "nothing named: a usage error: {err}");
    let (code, out, err) = cli(&["clear", "--user", "admin", "--addr", "127.0.0.1"]);
    assert_eq!((code, out.as_str()), (Some(0), "1 lock(s) lifted\n"), "{err}");
    assert_eq!(app.update(&BLOCK).await, updated());
    // The failures before the clear no longer count.
    assert_eq!(app.update_as("admin", WRONG, &BLOCK).await, status_error("Incorrect hash"));
}
