//! Connections to a database server, and the transaction runner shared by the server engines
//! (PostgreSQL, MariaDB/MySQL): a bounded pool; an unreachable or unready database retried on
//! fresh connections until `--db-timeout`; deadlocks and serialization failures retried with
//! backoff; and a commit whose answer was lost settled from the audit trail, never guessed.

use super::{Repo, Result, StoreError, Written};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// Pool size and timeouts (`morapi serve --db-pool-size`, `--db-timeout`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolOptions {
    pub max_connections: usize,
    /// How long a request may wait for the database to answer (connecting, retrying an
    /// unavailable server, settling a lost commit); past it the request fails.
    pub timeout: Duration,
    /// How often a deadlocked or conflicting transaction is tried again before giving up.
    pub retries: u32,
}

impl Default for PoolOptions {
    fn default() -> Self {
        PoolOptions { max_connections: 16, timeout: Duration::from_secs(5), retries: 5 }
    }
}

/// A transaction's work: the answer, and whether to keep its writes.
pub type Work<T> = dyn Fn(&mut dyn Repo) -> Result<(T, bool)>;

/// How one attempt of a transaction failed.
pub enum Failure<T> {
    /// Nothing was kept.
    Failed(StoreError),
    /// `COMMIT` was sent and its answer was lost (or was an error that does not say the
    /// transaction rolled back): the work's answer holds only if the commit took effect.
    CommitLost { value: T, written: Written, cause: String },
}

impl<T> From<StoreError> for Failure<T> {
    fn from(e: StoreError) -> Self {
        Failure::Failed(e)
    }
}

/// An engine's open transaction, as [`attempt`] drives it.
pub trait Transaction: Repo + Sized {
    fn commit(&mut self) -> Result<()>;
    fn rollback(&mut self) -> Result<()>;
    /// What it wrote and locked so far.
    fn written(&self) -> Written;
}

/// Runs `f` in `tx`, then commits when it asks to keep its writes and rolls back otherwise.
/// Whatever failed (the work, a statement, the commit itself), the transaction is rolled back so
/// that the connection never returns to the pool inside one; the error reported is the first.
pub fn attempt<T, X: Transaction>(tx: &mut X, f: &Work<T>) -> std::result::Result<T, Failure<T>> {
    let ended = match f(tx) {
        Ok((value, keep)) => match if keep { tx.commit() } else { tx.rollback() } {
            Ok(()) => Ok(value),
            Err(StoreError::CommitUnknown(cause)) => Err(Failure::CommitLost { value, written: tx.written(), cause }),
            Err(e) => Err(Failure::Failed(e)),
        },
        Err(e) => Err(Failure::Failed(e)),
    };
    if matches!(ended, Err(Failure::Failed(_))) {
        let _ = tx.rollback();
    }
    ended
}

/// An engine's connection: runs one attempt of a transaction.
pub trait Connection: Send + 'static {
    /// Opens a transaction, runs `f`, commits when it asks to keep its writes, rolls back
    /// otherwise. Any error rolls back.
    fn attempt<T>(&mut self, f: &Work<T>) -> std::result::Result<T, Failure<T>>;

    /// Makes this connection's reads wait for every change the cluster has already committed
    /// (Galera applies other nodes' commits asynchronously); used only to settle a lost commit.
    fn read_causally(&mut self) -> Result<()> {
        Ok(())
    }
}

type Connect<C> = Box<dyn Fn() -> Result<C> + Send + Sync>;

struct Slots<C> {
    idle: Vec<C>,
    open: usize,
}

/// A bounded set of connections, opened on demand and reused.
pub struct Pool<C: Connection> {
    connect: Connect<C>,
    slots: Mutex<Slots<C>>,
    freed: Condvar,
    pub options: PoolOptions,
}

impl<C: Connection> Pool<C> {
    pub fn new(options: PoolOptions, connect: impl Fn() -> Result<C> + Send + Sync + 'static) -> Arc<Self> {
        Arc::new(Pool {
            connect: Box::new(connect),
            slots: Mutex::new(Slots { idle: Vec::new(), open: 0 }),
            freed: Condvar::new(),
            options: options.clone_checked(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Slots<C>> {
        self.slots.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A connection and whether it was used before, or `Unavailable` at the deadline.
    fn acquire(&self, deadline: Instant) -> Result<(C, bool)> {
        let mut slots = self.lock();
        loop {
            if let Some(c) = slots.idle.pop() {
                return Ok((c, true));
            }
            if slots.open < self.options.max_connections {
                slots.open += 1;
                drop(slots);
                return (self.connect)().map(|c| (c, false)).inspect_err(|_| {
                    self.lock().open -= 1;
                    self.freed.notify_one();
                });
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(StoreError::Unavailable("no database connection became free in time".into()));
            }
            slots = self.freed.wait_timeout(slots, deadline - now).unwrap_or_else(|p| p.into_inner()).0;
        }
    }

    /// Returns a connection; a broken one is closed instead.
    fn release(&self, conn: C, healthy: bool) {
        let mut slots = self.lock();
        if healthy {
            slots.idle.push(conn);
        } else {
            slots.open -= 1;
            drop(slots);
            close(conn);
        }
        self.freed.notify_one();
    }

    /// Runs `f` to its end: see [`transact`].
    fn run<T>(&self, f: &Work<T>) -> Result<T> {
        let deadline = Instant::now() + self.options.timeout;
        let mut conflicts = 0;
        let mut pause = Pause::default();
        loop {
            let (mut conn, reused) = match self.acquire(deadline) {
                Ok(c) => c,
                Err(StoreError::Unavailable(e)) => {
                    pause.before_retry(deadline).ok_or(StoreError::Unavailable(e))?;
                    continue;
                }
                Err(e) => return Err(e),
            };
            match conn.attempt(f) {
                Ok(value) => {
                    self.release(conn, true);
                    return Ok(value);
                }
                Err(Failure::CommitLost { value, written, cause }) => {
                    self.release(conn, false);
                    tracing::warn!(error = %cause, "the answer to COMMIT was lost; settling from the audit trail");
                    return self.settle(value, &written, cause);
                }
                Err(Failure::Failed(StoreError::Conflict(e))) if conflicts < self.options.retries => {
                    self.release(conn, true);
                    conflicts += 1;
                    tracing::debug!(attempt = conflicts, error = %e, "transaction conflict, retrying");
                    let jitter = u64::from(rand::random::<u8>() % 8);
                    std::thread::sleep(Duration::from_millis((2u64 << conflicts.min(6)) + jitter));
                }
                // Nothing was committed: run the work again on a fresh connection. A pooled one
                // that died while idle is replaced at once; otherwise wait a little first.
                Err(Failure::Failed(StoreError::Unavailable(e))) => {
                    self.release(conn, false);
                    if !reused {
                        pause.before_retry(deadline).ok_or(StoreError::Unavailable(e))?;
                    }
                }
                Err(Failure::Failed(e)) => {
                    self.release(conn, true);
                    return Err(e);
                }
            }
        }
    }

    /// Decides the outcome of a commit whose answer was lost. Nothing written: the answer holds
    /// whatever became of it. Audit rows written: on a fresh connection, take the transaction's
    /// locks again (which waits until the lost commit has ended) and look its request id up.
    /// Found: committed. Not found: nothing was changed. No answer by the deadline, or writes
    /// without audit rows: [`StoreError::CommitUnknown`].
    fn settle<T>(&self, value: T, written: &Written, cause: String) -> Result<T> {
        if !written.any {
            return Ok(value);
        }
        let Some(key) = written.audit.clone() else { return Err(StoreError::CommitUnknown(cause)) };
        let locked = written.locked_users.clone();
        let verify: &Work<bool> = &move |repo: &mut dyn Repo| {
            for id in &locked {
                repo.user_for_update(*id)?;
            }
            Ok((repo.audited(&key)?, false))
        };
        let deadline = Instant::now() + self.options.timeout;
        let mut pause = Pause::default();
        loop {
            let found = (self.connect)().and_then(|mut conn| {
                let found = conn.read_causally().and_then(|()| match conn.attempt(verify) {
                    Ok(found) => Ok(found),
                    Err(Failure::Failed(e)) => Err(e),
                    Err(Failure::CommitLost { value, .. }) => Ok(value),
                });
                close(conn);
                found
            });
            match found {
                Ok(true) => return Ok(value),
                Ok(false) => return Err(StoreError::Unavailable(format!("{cause}; the change was not applied"))),
                Err(e) => {
                    tracing::debug!(error = %e, "cannot settle the lost commit yet");
                    if pause.before_retry(deadline).is_none() {
                        return Err(StoreError::CommitUnknown(cause));
                    }
                }
            }
        }
    }
}

/// Growing waits between tries against an unavailable database, never past the deadline.
#[derive(Default)]
struct Pause(u32);

impl Pause {
    /// Sleeps before the next try; `None` when the deadline leaves no room for one.
    fn before_retry(&mut self, deadline: Instant) -> Option<()> {
        let wait = Duration::from_millis(25u64 << self.0.min(4));
        self.0 += 1;
        let now = Instant::now();
        if now + wait >= deadline {
            return None;
        }
        std::thread::sleep(wait);
        Some(())
    }
}

impl PoolOptions {
    fn clone_checked(self) -> Self {
        PoolOptions { max_connections: self.max_connections.max(1), ..self }
    }
}

/// Closes connections on a plain thread: some drivers run their own async runtime, which must
/// not be dropped on an async worker.
fn close<C: Send + 'static>(conn: C) {
    let _ = std::thread::Builder::new().name("morapi-db-close".into()).spawn(move || drop(conn));
}

impl<C: Connection> Drop for Pool<C> {
    fn drop(&mut self) {
        let idle = std::mem::take(&mut self.lock().idle);
        close(idle);
    }
}

/// Runs `f` in a transaction on a pooled connection, off the async threads: conflicts are
/// retried a few times, an unavailable database until the timeout, and a lost commit is settled
/// (see [`Pool::settle`]).
pub async fn transact<C, T, F>(pool: Arc<Pool<C>>, f: F) -> Result<T>
where
    C: Connection,
    T: Send + 'static,
    F: Fn(&mut dyn Repo) -> Result<(T, bool)> + Send + 'static,
{
    tokio::task::spawn_blocking(move || pool.run(&f))
        .await
        .map_err(|e| StoreError::Database(format!("storage task failed: {e}")))?
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::RequestStore;
    use crate::storage::sqlite::{SqliteRepo, connect};
    use crate::storage::{AuditEntry, AuditEvent};
    use std::collections::VecDeque;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    /// How the next attempt ends.
    #[derive(Clone, Copy)]
    enum Then {
        Commit,
        Fail(fn() -> StoreError),
        /// COMMIT took effect, its answer was lost.
        LostAfterCommit,
        /// The connection died before COMMIT reached the database.
        LostBeforeCommit,
    }

    /// A database that the test scripts: attempts run the work for real against a SQLite file
    /// (so a settling connection reads real audit rows), then end as the plan says.
    #[derive(Clone)]
    struct Script {
        path: Arc<str>,
        plan: Arc<Mutex<VecDeque<Then>>>,
        attempts: Arc<AtomicUsize>,
        down: Arc<AtomicBool>,
        _dir: Arc<tempfile::TempDir>,
    }

    impl Script {
        fn new(plan: &[Then]) -> Script {
            let dir = tempfile::tempdir().expect("temp dir");
            let path: Arc<str> = dir.path().join("pool.db").to_string_lossy().into();
            connect(&path).expect("schema");
            Script {
                path,
                plan: Arc::new(Mutex::new(plan.iter().copied().collect())),
                attempts: Arc::default(),
                down: Arc::default(),
                _dir: Arc::new(dir),
            }
        }

        fn pool(&self, timeout_ms: u64) -> Arc<Pool<Fake>> {
            let script = self.clone();
            let options = PoolOptions { timeout: Duration::from_millis(timeout_ms), ..PoolOptions::default() };
            Pool::new(options, move || script.connect())
        }

        fn connect(&self) -> Result<Fake> {
            if self.down.load(Ordering::SeqCst) {
                return Err(StoreError::Unavailable("connection refused".into()));
            }
            Ok(Fake { db: connect(&self.path)?, script: self.clone() })
        }

        fn audited(&self, request_id: &str) -> bool {
            let mut db = connect(&self.path).expect("open");
            let key = crate::storage::AuditKey { target_id: Some(123), request_id: request_id.into() };
            SqliteRepo::over(&mut db).audited(&key).expect("read")
        }
    }

    struct Fake {
        db: rusqlite::Connection,
        script: Script,
    }

    impl Connection for Fake {
        fn attempt<T>(&mut self, f: &Work<T>) -> std::result::Result<T, Failure<T>> {
            self.script.attempts.fetch_add(1, Ordering::SeqCst);
            let then = self.script.plan.lock().expect("plan").pop_front().unwrap_or(Then::Commit);
            let sql = |db: &rusqlite::Connection, s: &str| {
                db.execute_batch(s).map_err(|e| StoreError::Database(e.to_string()))
            };
            sql(&self.db, "BEGIN")?;
            let mut repo = SqliteRepo::over(&mut self.db);
            let outcome = f(&mut repo);
            let written = repo.written();
            let (value, keep) = match outcome {
                Ok(v) => v,
                Err(e) => {
                    sql(&self.db, "ROLLBACK")?;
                    return Err(Failure::Failed(e));
                }
            };
            let commit = keep && matches!(then, Then::Commit | Then::LostAfterCommit);
            sql(&self.db, if commit { "COMMIT" } else { "ROLLBACK" })?;
            match then {
                Then::Commit => Ok(value),
                Then::Fail(e) => Err(Failure::Failed(e())),
                Then::LostAfterCommit | Then::LostBeforeCommit => {
                    Err(Failure::CommitLost { value, written, cause: "connection reset".into() })
                }
            }
        }
    }

    fn unavailable() -> StoreError {
        StoreError::Unavailable("connection reset".into())
    }

    fn conflict() -> StoreError {
        StoreError::Conflict("deadlock".into())
    }

    fn broken() -> StoreError {
        StoreError::Database("syntax error".into())
    }

    /// An audited change: one audit row carrying `request_id`.
    fn audited_change(request_id: &'static str) -> impl Fn(&mut dyn Repo) -> Result<(&'static str, bool)> {
        move |repo| {
            repo.insert_audit(&[AuditEntry {
                created_at: "2026-11-30T00:00:00Z".into(),
                request_id: request_id.into(),
                event: AuditEvent::Change,
                actor_id: Some(0),
                actor_username: "admin".into(),
                client_addr: "127.0.0.1".into(),
                endpoint: "test".into(),
                target_id: Some(123),
                field: "vat_number".into(),
                old_value: Some("A".into()),
                new_value: Some("B".into()),
            }])?;
            Ok(("updated", true))
        }
    }

    #[tokio::test]
    async fn connections_that_died_while_idle_are_replaced_at_once() {
        let script = Script::new(&[Then::Fail(unavailable), Then::Fail(unavailable)]);
        let pool = script.pool(5_000);
        for _ in 0..2 {
            let idle = script.connect().expect("connect");
            pool.lock().open += 1;
            pool.release(idle, true);
        }
        let started = Instant::now();
        assert_eq!(transact(pool, |_| Ok(("done", true))).await.ok(), Some("done"));
        assert_eq!(script.attempts.load(Ordering::SeqCst), 3, "two dead idle connections, then a fresh one");
        assert!(started.elapsed() < Duration::from_millis(500), "no pause for dead idle connections");
    }

    #[tokio::test]
    async fn a_database_that_refuses_is_retried_until_the_timeout() {
        let script = Script::new(&[]);
        script.down.store(true, Ordering::SeqCst);
        let pool = script.pool(300);
        let started = Instant::now();
        let r = transact(pool.clone(), |_| Ok(((), true))).await;
        assert!(matches!(r, Err(StoreError::Unavailable(_))), "{r:?}");
        assert!(started.elapsed() >= Duration::from_millis(150), "retried: {:?}", started.elapsed());
        assert!(started.elapsed() < Duration::from_millis(1_500), "gave up at the timeout: {:?}", started.elapsed());
        assert_eq!(pool.lock().open, 0, "a failed connect frees its slot");
    }

    #[tokio::test]
    async fn a_node_that_is_not_ready_is_retried_and_the_work_then_succeeds() {
        // A fresh connection meets a node that cannot serve yet (Galera 1047, a standby): nothing
        // was kept, so the work runs again on another connection within the timeout.
        let script = Script::new(&[Then::Fail(unavailable), Then::Fail(unavailable)]);
        let r = transact(script.pool(5_000), audited_change("r1")).await;
        assert_eq!(r.ok(), Some("updated"));
        assert_eq!(script.attempts.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn conflicts_are_retried_then_other_errors_returned() {
        let script = Script::new(&[Then::Fail(conflict), Then::Fail(conflict), Then::Fail(broken)]);
        let r = transact(script.pool(5_000), |_| Ok(((), true))).await;
        assert!(matches!(r, Err(StoreError::Database(_))), "{r:?}");
        assert_eq!(script.attempts.load(Ordering::SeqCst), 3);
        // Past the retries, the conflict is the answer.
        let script = Script::new(&[Then::Fail(conflict); 6]);
        let r = transact(script.pool(5_000), |_| Ok(((), true))).await;
        assert!(matches!(r, Err(StoreError::Conflict(_))), "{r:?}");
        assert_eq!(script.attempts.load(Ordering::SeqCst), 6);
    }

    #[tokio::test]
    async fn a_lost_commit_that_took_effect_answers_as_committed() {
        let script = Script::new(&[Then::LostAfterCommit]);
        let r = transact(script.pool(5_000), audited_change("r2")).await;
        assert_eq!(r.ok(), Some("updated"));
        assert_eq!(script.attempts.load(Ordering::SeqCst), 2, "the work ran once, then the lookup");
        assert!(script.audited("r2"));
    }

    #[tokio::test]
    async fn a_lost_commit_that_did_not_take_effect_says_nothing_was_changed() {
        let script = Script::new(&[Then::LostBeforeCommit]);
        let r = transact(script.pool(5_000), audited_change("r3")).await;
        assert!(matches!(&r, Err(StoreError::Unavailable(m)) if m.contains("not applied")), "{r:?}");
        assert!(!script.audited("r3"));
    }

    #[tokio::test]
    async fn a_lost_commit_that_cannot_be_settled_says_so() {
        let script = Script::new(&[Then::LostAfterCommit]);
        let pool = script.pool(300);
        let down = script.down.clone();
        let work = audited_change("r4");
        let r = transact(pool, move |repo| {
            // The database goes away right after this attempt.
            down.store(true, Ordering::SeqCst);
            work(repo)
        })
        .await;
        assert!(matches!(r, Err(StoreError::CommitUnknown(_))), "{r:?}");
        assert!(script.audited("r4"), "it was in fact committed, which the answer did not deny");
    }

    #[tokio::test]
    async fn a_lost_commit_of_nothing_needs_no_lookup() {
        let script = Script::new(&[Then::LostBeforeCommit]);
        let pool = script.pool(300);
        let down = script.down.clone();
        let r = transact(pool, move |_| {
            down.store(true, Ordering::SeqCst);
            Ok(("nothing to change", true))
        })
        .await;
        assert_eq!(r.ok(), Some("nothing to change"));
        assert_eq!(script.attempts.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_lost_commit_of_unaudited_writes_is_unknown() {
        let script = Script::new(&[Then::LostAfterCommit]);
        let r = transact(script.pool(5_000), |repo| Ok((repo.set_setting(0, "marker", "1")?, true))).await;
        assert!(matches!(r, Err(StoreError::CommitUnknown(_))), "{r:?}");
    }
}
