//! Waiting for a lock another session holds is bounded by `--db-lock-timeout` on every engine and
//! answered "Database is busy, nothing was changed; try again", with nothing changed; once the
//! lock is released the same update succeeds. Runs on the engine of `MORAPI_TEST_DATABASE`
//! (SQLite by default, where the other session holds the file's write lock).

mod common;
use common::*;
use morapi::storage::{AdminStore, Database, PoolOptions, StoreError, Table, Tx};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const BUSY: &str = "Database is busy, nothing was changed; try again";
const GET: &str = "/billing/api/user_details_get";

/// Generous: a lock wait of 1 s must be answered long before this, never hang.
const ANSWERED_WITHIN: Duration = Duration::from_secs(30);

/// A server whose lock waits last 1 s and database waits 2 s, on one connection: a transaction
/// left open by mistake on it would be seen by the next request.
async fn app() -> TestApp {
    TestApp::spawn_with(PoolOptions {
        max_connections: 1,
        timeout: Duration::from_secs(2),
        lock_timeout: Duration::from_secs(1),
        ..PoolOptions::default()
    })
    .await
}

/// Another session holding locks: `lock` runs in a transaction on a database handle of its own
/// (its own connection; on SQLite its own writer, which holds the file's write lock), which then
/// waits, locks held, until released, and rolls back.
struct Holder {
    release: std::sync::mpsc::Sender<()>,
    done: tokio::task::JoinHandle<Result<(), StoreError>>,
}

impl Holder {
    async fn start(url: &str, lock: fn(&mut dyn AdminStore) -> Result<(), StoreError>) -> Holder {
        let db = Database::open(url).expect("the holder opens the database");
        let (held, is_held) = tokio::sync::oneshot::channel();
        let held = Mutex::new(Some(held));
        let (release, released) = std::sync::mpsc::channel::<()>();
        let released = Mutex::new(released);
        let done = tokio::spawn(async move {
            db.administer(move |repo| {
                lock(repo)?;
                if let Some(held) = held.lock().expect("held").take() {
                    let _ = held.send(());
                }
                // Until released, or the test ended (the sender dropped).
                let _ = released.lock().expect("released").recv();
                Ok(Tx::Rollback(()))
            })
            .await
        });
        tokio::time::timeout(ANSWERED_WITHIN, is_held).await.expect("the lock is taken in time").expect("holder runs");
        Holder { release, done }
    }

    async fn release(self) {
        let _ = self.release.send(());
        let ended = tokio::time::timeout(ANSWERED_WITHIN, self.done).await.expect("the holder ends").expect("join");
        assert!(ended.is_ok(), "the holder's transaction: {ended:?}");
    }
}

/// Locks user 123's row as an update of it does (`SELECT … FOR UPDATE`).
fn lock_user_123(repo: &mut dyn AdminStore) -> Result<(), StoreError> {
    repo.user_for_update(123)?.expect("user 123");
    Ok(())
}

/// Changes user 123's tax row (id 1) without committing: its row lock is held.
fn lock_tax_of_123(repo: &mut dyn AdminStore) -> Result<(), StoreError> {
    repo.update_row(Table::Taxes, 1, &[("tax1_name", "Held".into())])?;
    // A read sends the held-back write.
    repo.row(Table::Taxes, 1)?.expect("tax 1");
    Ok(())
}

/// The lines of [`TestApp::state`] that differ, as (before, after): a short failure message.
fn changed(before: &str, after: &str) -> Vec<(String, String)> {
    before.lines().zip(after.lines()).filter(|(b, a)| b != a).map(|(b, a)| (b.to_string(), a.to_string())).collect()
}

fn is_sqlite(app: &TestApp) -> bool {
    app.url.starts_with("sqlite")
}

/// Sends `update` and returns its answer and how long it took; fails if it is not answered in
/// [`ANSWERED_WITHIN`].
async fn timed_update(app: &TestApp, pairs: &[(&str, &str)]) -> (String, Duration) {
    let started = Instant::now();
    let body = tokio::time::timeout(ANSWERED_WITHIN, app.update(pairs)).await.expect("answered, not hung");
    (body, started.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_of_a_locked_user_is_answered_busy_changes_nothing_and_succeeds_once_released() {
    let app = app().await;
    let before = app.state().await;
    let holder = Holder::start(&app.url, lock_user_123).await;

    let (body, took) = timed_update(&app, &[("user_id", "123"), ("u0", "LT-1")]).await;
    assert_eq!(body, page_error(BUSY, &[]));
    assert!(took >= Duration::from_millis(500), "it waited for the lock first ({took:?})");

    // Reads: PostgreSQL and MariaDB read the last committed row without waiting for its lock
    // (MVCC). On SQLite every request goes through the one writer, which needs the file's write
    // lock: a read waits and is answered busy like an update.
    let hash = sign_pairs(&[("user_id", "123")], ADMIN_KEY);
    let read = tokio::time::timeout(
        ANSWERED_WITHIN,
        app.post_form(GET, &[("user_id", "123"), ("u", "admin"), ("hash", &hash)]),
    )
    .await
    .expect("answered, not hung");
    if is_sqlite(&app) {
        assert_eq!(read.body, page_error(BUSY, &[]));
    } else {
        assert!(read.body.contains("<userid>123</userid>"), "{}", read.body);
        // Only the locked row waits: another user is updated meanwhile.
        assert_eq!(app.update(&[("user_id", "789"), ("u0", "LT-789")]).await, updated());
        assert_eq!(app.col(789, "vat_number").await, "LT-789");
        app.update(&[("user_id", "789"), ("u0", "")]).await;
    }

    holder.release().await;
    let after = app.state().await;
    // On the server engines user 789 was changed and changed back: two audit rows more.
    let audited = if is_sqlite(&app) { "change audit rows=0" } else { "change audit rows=2" };
    let expected = [("change audit rows=0".to_string(), audited.to_string())];
    assert_eq!(changed(&before, &after), expected.iter().filter(|(b, a)| b != a).cloned().collect::<Vec<_>>());
    assert!(!app.changes().await.iter().any(|e| e.new_value.as_deref() == Some("LT-1")), "no audit row of it");

    assert_eq!(app.update(&[("user_id", "123"), ("u0", "LT-1")]).await, updated());
    assert_eq!(app.col(123, "vat_number").await, "LT-1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_met_after_the_first_write_rolls_the_whole_update_back() {
    // The update writes user 123's address row, then waits for the lock on the tax row. MariaDB
    // rolls back only the statement that timed out: the rest must be rolled back too, before the
    // answer and before the connection (the only one) serves again.
    let app = app().await;
    let before = app.state().await;
    let holder = Holder::start(&app.url, lock_tax_of_123).await;

    let pairs = [("user_id", "123"), ("u0", "LT-2"), ("a1", "Kaunas"), ("tax2_enabled", "1")];
    let (body, _) = timed_update(&app, &pairs).await;
    assert_eq!(body, page_error(BUSY, &[]));

    holder.release().await;
    let after = app.state().await;
    assert_eq!(changed(&before, &after), [], "nothing was changed, not even the address row written first");
    assert_eq!(app.changes().await.len(), 0);

    assert_eq!(app.update(&pairs).await, updated());
    assert_eq!(app.col(123, "vat_number").await, "LT-2");
    let address = app.row(Table::Addresses, 1).await.expect("address 1");
    assert_eq!(morapi::storage::text(&address, "city"), "Kaunas");
    let tax = app.row(Table::Taxes, 1).await.expect("tax 1");
    assert_eq!(morapi::storage::text(&tax, "tax2_enabled"), "1");
    assert_eq!(app.changes().await.len(), 3, "one audit row per changed field");
}

#[test]
fn the_flag_refuses_values_that_would_not_bound_the_wait_and_defaults_as_the_pool_does() {
    for bad in ["0", "-1", "nan", "1e30", "601", "2s"] {
        let out = std::process::Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--database", "sqlite://unused.db"])
            .arg(format!("--db-lock-timeout={bad}"))
            .env_remove("MORAPI_DB_LOCK_TIMEOUT")
            .output()
            .expect("run morapi");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{bad} accepted");
        assert!(stderr.contains("give a number of seconds from 0.1 to 600"), "{bad}: {stderr}");
        assert!(!stderr.contains("panicked"), "{bad}: {stderr}");
    }
    let help = std::process::Command::new(BIN).args(["serve", "--help"]).output().expect("run morapi");
    let help = String::from_utf8_lossy(&help.stdout);
    let default = PoolOptions::default().lock_timeout.as_secs_f64();
    assert!(help.contains(&format!("[env: MORAPI_DB_LOCK_TIMEOUT=] [default: {default}]")), "{help}");
}
