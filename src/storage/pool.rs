//! Connections to a database server, and the transaction runner shared by the server engines
//! (PostgreSQL, MariaDB/MySQL).
//!
//! The pooling itself is r2d2's: checkout, the bound on connections, opening them on demand (on
//! r2d2's own threads, retried in the background while the database is away) and closing the
//! broken ones, all through each engine's `r2d2::ManageConnection`. This module adds the policy
//! around it: an unreachable or unready database retried on fresh connections until
//! `--db-timeout`; deadlocks and serialization failures retried with backoff, also no later than
//! `--db-timeout`; a lock wait that ran out (`--db-lock-timeout`) answered at once; and a commit
//! whose answer was lost settled from the audit trail, never guessed. No pause between tries
//! holds a pooled connection: it goes back to the pool (or, broken, is closed) first.

use std::time::Duration;

/// Pool size and timeouts (`morapi serve --db-pool-size`, `--db-timeout`, `--db-lock-timeout`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolOptions {
    pub max_connections: usize,
    /// How long a request may wait for the database to answer (connecting, retrying an
    /// unavailable server or a conflict, settling a lost commit); past it the request fails.
    pub timeout: Duration,
    /// How often a deadlocked or conflicting transaction is tried again before giving up.
    pub retries: u32,
    /// How long one statement waits for a lock another session holds (a row being changed by
    /// another transaction, SQLite's write lock held by another process) before the transaction
    /// is rolled back and answered [`StoreError::Busy`](super::StoreError::Busy). Every engine
    /// applies it when it connects: PostgreSQL's `lock_timeout`, MariaDB/MySQL's
    /// `innodb_lock_wait_timeout` (whole seconds, rounded up), SQLite's busy timeout.
    pub lock_timeout: Duration,
    /// What opening may do to the schema (every engine, SQLite included).
    pub schema: super::schema::Policy,
}

impl Default for PoolOptions {
    fn default() -> Self {
        PoolOptions {
            max_connections: 16,
            timeout: Duration::from_secs(5),
            retries: 5,
            lock_timeout: Duration::from_secs(2),
            schema: super::schema::Policy::Current,
        }
    }
}

impl PoolOptions {
    /// [`PoolOptions::lock_timeout`] in whole milliseconds, at least 1 (PostgreSQL reads 0 as
    /// "wait forever").
    pub fn lock_timeout_millis(&self) -> u64 {
        u64::try_from(self.lock_timeout.as_micros().div_ceil(1000)).unwrap_or(u64::MAX).max(1)
    }

    /// [`PoolOptions::lock_timeout`] in whole seconds, rounded up, at least 1: MariaDB/MySQL's
    /// `innodb_lock_wait_timeout` takes nothing finer (0.5 s waits 1 s there).
    pub fn lock_timeout_seconds(&self) -> u64 {
        self.lock_timeout_millis().div_ceil(1000)
    }
}

#[cfg(any(feature = "postgres", feature = "mysql"))]
pub use runner::*;

/// Everything but the options exists only with a server engine (SQLite has its own writer).
#[cfg(any(feature = "postgres", feature = "mysql"))]
mod runner {
    use super::PoolOptions;
    use crate::storage::{AdminStore, Result, StoreError, Tx, Written};
    use crate::telemetry;
    use r2d2::ManageConnection;
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    /// The longest wait between two of r2d2's tries to open a connection while the database is
    /// away (r2d2 waits half its connection timeout at most): how soon after the database is back
    /// a waiting request gets a connection.
    const RECONNECT_PAUSE: Duration = Duration::from_millis(400);

    /// A transaction's work: its answer, with its writes kept or discarded.
    pub type Work<T> = dyn Fn(&mut dyn AdminStore) -> Result<Tx<T>>;

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
    pub trait Transaction: AdminStore + Sized {
        fn commit(&mut self) -> Result<()>;
        fn rollback(&mut self) -> Result<()>;
        /// What it wrote and locked so far.
        fn written(&self) -> Written;
    }

    /// Runs `f` in `tx`, then commits or rolls back as it decided.
    /// Whatever failed (the work, a statement, the commit itself), the transaction is rolled back
    /// so that the connection never returns to the pool inside one; the error reported is the
    /// first.
    pub fn attempt<T, X: Transaction>(tx: &mut X, f: &Work<T>) -> std::result::Result<T, Failure<T>> {
        let ended = match f(tx) {
            Ok(Tx::Commit(value)) => match tx.commit() {
                Ok(()) => Ok(value),
                Err(StoreError::CommitUnknown(cause)) => {
                    Err(Failure::CommitLost { value, written: tx.written(), cause })
                }
                Err(e) => Err(Failure::Failed(e)),
            },
            Ok(Tx::Rollback(value)) => tx.rollback().map(|()| value).map_err(Failure::Failed),
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
        /// (Galera applies other nodes' commits asynchronously); used only to settle a lost
        /// commit, on a connection of its own.
        fn read_causally(&mut self) -> Result<()> {
            Ok(())
        }

        /// What the runner noted about this connection. It lives in the connection so that it
        /// travels through r2d2, whose `has_broken` reads it back.
        fn health(&mut self) -> &mut Health;
    }

    /// The runner's notes on one pooled connection.
    #[derive(Debug, Default)]
    pub struct Health {
        /// It served a transaction before: failing to reach the database on it may be its own
        /// death while it sat idle, not the database's.
        used: bool,
        /// It must not serve again (the database was unreachable through it, or the answer to
        /// its `COMMIT` was lost): r2d2 closes it when it comes back, instead of keeping it.
        broken: bool,
    }

    impl Health {
        /// For the engines' `ManageConnection::has_broken`.
        pub fn is_broken(&self) -> bool {
            self.broken
        }
    }

    /// The last failure to open a connection, as r2d2's threads met it, numbered so that a
    /// checkout tells those that happened while it waited; forgotten once a connection opens.
    /// r2d2 itself keeps only the message.
    #[derive(Debug, Default)]
    struct Failures(Mutex<(u64, Option<StoreError>)>);

    impl Failures {
        fn lock(&self) -> std::sync::MutexGuard<'_, (u64, Option<StoreError>)> {
            self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
        }

        fn count(&self) -> u64 {
            self.lock().0
        }

        /// A copy of the last failure, if it came after the `seen`th.
        fn since(&self, seen: u64) -> Option<StoreError> {
            let last = self.lock();
            last.1.as_ref().filter(|_| last.0 > seen).map(copy)
        }

        /// The last failure, if it is a refusal that waiting will not cure (a wrong password, an
        /// unknown database) and no connection has opened since.
        fn standing_refusal(&self) -> Option<StoreError> {
            self.lock().1.as_ref().filter(|e| !matches!(e, StoreError::Unavailable(_))).map(copy)
        }
    }

    fn copy(e: &StoreError) -> StoreError {
        match e {
            StoreError::Unavailable(m) => StoreError::Unavailable(m.clone()),
            StoreError::Database(m) => StoreError::Database(m.clone()),
            StoreError::Config(m) => StoreError::Config(m.clone()),
            StoreError::Busy(m) => StoreError::Busy(m.clone()),
            other => StoreError::Database(other.to_string()),
        }
    }

    /// r2d2's error and event handler: records connect failures (logging them quietly: the
    /// request that gives up reports the cause), and forgets them when a connection opens.
    #[derive(Debug)]
    struct Recorder(Arc<Failures>);

    impl r2d2::HandleError<StoreError> for Recorder {
        fn handle_error(&self, error: StoreError) {
            tracing::debug!(%error, "cannot open a database connection");
            let mut last = self.0.lock();
            last.0 += 1;
            last.1 = Some(error);
        }
    }

    /// Also keeps the pool's gauges (`/metrics`) from r2d2's events.
    impl r2d2::HandleEvent for Recorder {
        fn handle_acquire(&self, _: r2d2::event::AcquireEvent) {
            self.0.lock().1 = None;
            metrics::gauge!(telemetry::DB_POOL_OPEN).increment(1.0);
        }

        fn handle_release(&self, _: r2d2::event::ReleaseEvent) {
            metrics::gauge!(telemetry::DB_POOL_OPEN).decrement(1.0);
        }

        fn handle_checkout(&self, _: r2d2::event::CheckoutEvent) {
            metrics::gauge!(telemetry::DB_POOL_IN_USE).increment(1.0);
        }

        fn handle_checkin(&self, _: r2d2::event::CheckinEvent) {
            metrics::gauge!(telemetry::DB_POOL_IN_USE).decrement(1.0);
        }
    }

    /// A bounded set of connections (r2d2), and the policy that runs transactions on them.
    pub struct Pool<M: ManageConnection> {
        /// `None` only while the pool is being dropped (see the `Drop` impl).
        connections: Option<r2d2::Pool<M>>,
        /// Opens the fresh connections that settle a lost commit, outside the pool.
        manager: M,
        failures: Arc<Failures>,
        pub options: PoolOptions,
    }

    impl<M> Pool<M>
    where
        M: ManageConnection<Error = StoreError> + Clone,
        M::Connection: Connection,
    {
        /// A pool that opens no connection until a transaction needs one.
        pub fn new(options: PoolOptions, manager: M) -> Arc<Self> {
            let options = options.clone_checked();
            let failures = Arc::new(Failures::default());
            let connections = r2d2::Pool::builder()
                .max_size(u32::try_from(options.max_connections).unwrap_or(u32::MAX))
                // Opened as requests need them; none held open for nothing.
                .min_idle(Some(0))
                // No round trip before every use: a connection that died while idle fails its
                // first statement, and the request moves at once to another (see `run`).
                .test_on_check_out(false)
                // Closed when idle for 10 minutes or open for 30 (r2d2's defaults, spelled out):
                // servers and proxies drop idle sessions, and a failover moves new ones.
                .idle_timeout(Some(Duration::from_secs(10 * 60)))
                .max_lifetime(Some(Duration::from_secs(30 * 60)))
                // Only bounds r2d2's background reconnects: every checkout has its own deadline.
                .connection_timeout(RECONNECT_PAUSE * 2)
                .error_handler(Box::new(Recorder(failures.clone())))
                .event_handler(Box::new(Recorder(failures.clone())))
                .build_unchecked(manager.clone());
            Arc::new(Pool { connections: Some(connections), manager, failures, options })
        }

        fn connections(&self) -> Result<&r2d2::Pool<M>> {
            self.connections.as_ref().ok_or_else(|| StoreError::Database("the connection pool is closed".into()))
        }

        /// A pooled connection by the deadline. Past it: why no connection could be opened, or
        /// `Unavailable` when all were busy. While the server refuses new connections for a
        /// reason waiting will not cure and none is open to wait for, the refusal at once.
        fn checkout(&self, deadline: Instant) -> Result<r2d2::PooledConnection<M>> {
            let connections = self.connections()?;
            if let Some(refusal) = self.failures.standing_refusal() {
                if let Some(conn) = connections.try_get() {
                    return Ok(conn);
                }
                if connections.state().connections == 0 {
                    return Err(refusal);
                }
            }
            let seen = self.failures.count();
            let wait = deadline.saturating_duration_since(Instant::now());
            let waiting = metrics::gauge!(telemetry::DB_POOL_WAITING);
            waiting.increment(1.0);
            let conn = connections.get_timeout(wait);
            waiting.decrement(1.0);
            conn.map_err(|_| {
                self.failures
                    .since(seen)
                    .unwrap_or_else(|| StoreError::Unavailable("no database connection became free in time".into()))
            })
        }

        /// One round trip on a pooled connection (`/ready`), by `deadline`. A connection that
        /// fails it is not used again.
        fn ping(&self, deadline: Instant) -> Result<()> {
            let mut conn = self.checkout(deadline)?;
            let answered = self.manager.is_valid(&mut conn);
            if answered.is_err() {
                conn.health().broken = true;
            }
            answered
        }

        /// Runs `f` to its end: see [`transact`].
        fn run<T>(&self, f: &Work<T>) -> Result<T> {
            let deadline = Instant::now() + self.options.timeout;
            let mut conflicts = 0;
            let mut pause = Pause::default();
            loop {
                // The connection is back in the pool (or closed) when this block ends, so no
                // pause below holds one.
                let (outcome, reused) = {
                    let mut conn = self.checkout(deadline)?;
                    let reused = std::mem::replace(&mut conn.health().used, true);
                    let outcome = conn.attempt(f);
                    if matches!(outcome, Err(Failure::CommitLost { .. } | Failure::Failed(StoreError::Unavailable(_))))
                    {
                        conn.health().broken = true;
                    }
                    (outcome, reused)
                };
                match outcome {
                    Ok(value) => return Ok(value),
                    Err(Failure::CommitLost { value, written, cause }) => {
                        tracing::warn!(error = %cause, "the answer to COMMIT was lost; settling from the audit trail");
                        metrics::counter!(telemetry::DB_RETRIES, "reason" => "commit_lost").increment(1);
                        return self.settle(value, &written, cause);
                    }
                    // Retried a few times, never past the deadline, so that a request ends within
                    // --db-timeout plus at most one attempt's own lock waits.
                    Err(Failure::Failed(StoreError::Conflict(e)))
                        if conflicts < self.options.retries && Instant::now() < deadline =>
                    {
                        conflicts += 1;
                        metrics::counter!(telemetry::DB_RETRIES, "reason" => "conflict").increment(1);
                        tracing::debug!(attempt = conflicts, error = %e, "transaction conflict, retrying");
                        let jitter = u64::from(rand::random::<u8>() % 8);
                        std::thread::sleep(Duration::from_millis((2u64 << conflicts.min(6)) + jitter));
                    }
                    // A lock wait that ran out (`StoreError::Busy`) is not retried: it already
                    // waited --db-lock-timeout; it ends below, like every other error.
                    // Nothing was committed: run the work again on a fresh connection. A pooled
                    // one that died while idle is replaced at once; otherwise wait a little first.
                    Err(Failure::Failed(StoreError::Unavailable(e))) => {
                        if !reused {
                            pause.before_retry(deadline).ok_or(StoreError::Unavailable(e))?;
                        }
                        metrics::counter!(telemetry::DB_RETRIES, "reason" => "unavailable").increment(1);
                    }
                    Err(Failure::Failed(e)) => return Err(e),
                }
            }
        }

        /// Decides the outcome of a commit whose answer was lost. Nothing written: the answer
        /// holds whatever became of it. Audit rows written: on a fresh connection, take the
        /// transaction's locks again (which waits until the lost commit has ended) and look its
        /// request id up. Found: committed. Not found: nothing was changed. No answer by the
        /// deadline, or writes without audit rows: [`StoreError::CommitUnknown`].
        fn settle<T>(&self, value: T, written: &Written, cause: String) -> Result<T> {
            if !written.any {
                return Ok(value);
            }
            let Some(key) = written.audit.clone() else { return Err(StoreError::CommitUnknown(cause)) };
            let locked = written.locked_users.clone();
            let verify: &Work<bool> = &move |repo: &mut dyn AdminStore| {
                for id in &locked {
                    repo.user_for_update(*id)?;
                }
                Ok(Tx::Rollback(repo.audited(&key)?))
            };
            let deadline = Instant::now() + self.options.timeout;
            let mut pause = Pause::default();
            loop {
                // A connection of its own, never pooled: causal reads stay off the pooled ones.
                let found = self.manager.connect().and_then(|mut conn| {
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

    /// Drops on a plain thread: PostgreSQL's connections own a small async runtime, which must
    /// not be dropped on an async worker (where the last handle to a pool may well go).
    fn close<C: Send + 'static>(conn: C) {
        let _ = std::thread::Builder::new().name("morapi-db-close".into()).spawn(move || drop(conn));
    }

    impl<M: ManageConnection> Drop for Pool<M> {
        fn drop(&mut self) {
            if let Some(connections) = self.connections.take() {
                close(connections);
            }
        }
    }

    /// Runs `f` in a transaction on a pooled connection, off the async threads: conflicts are
    /// retried a few times, an unavailable database until the timeout, and a lost commit is
    /// settled (see [`Pool::settle`]).
    pub async fn transact<M, T, F>(pool: Arc<Pool<M>>, f: F) -> Result<T>
    where
        M: ManageConnection<Error = StoreError> + Clone,
        M::Connection: Connection,
        T: Send + 'static,
        F: Fn(&mut dyn AdminStore) -> Result<Tx<T>> + Send + 'static,
    {
        tokio::task::spawn_blocking(move || pool.run(&f))
            .await
            .map_err(|e| StoreError::Database(format!("storage task failed: {e}")))?
    }

    /// Whether the database answers a round trip on a pooled connection within `timeout` (or
    /// the pool's own timeout, when shorter); off the async threads.
    pub async fn ready<M>(pool: Arc<Pool<M>>, timeout: Duration) -> Result<()>
    where
        M: ManageConnection<Error = StoreError> + Clone,
        M::Connection: Connection,
    {
        let deadline = Instant::now() + timeout.min(pool.options.timeout);
        tokio::task::spawn_blocking(move || pool.ping(deadline))
            .await
            .map_err(|e| StoreError::Database(format!("storage task failed: {e}")))?
    }

    /// The runner against a scripted fake (needs SQLite, which holds the fake's data).
    #[cfg(all(test, feature = "sqlite"))]
    mod tests {
        use super::*;
        use crate::storage::sqlite::{SqliteRepo, connect};
        use crate::storage::{AuditEntry, AuditEvent, RequestStore};
        use std::collections::VecDeque;
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

        /// The fake's SQLite busy timeout (its files are its own: nothing waits on them).
        const LOCK_WAIT: Duration = Duration::from_secs(2);

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
            /// What connecting answers while `down`.
            refusal: Arc<Mutex<fn() -> StoreError>>,
            _dir: Arc<tempfile::TempDir>,
        }

        impl Script {
            fn new(plan: &[Then]) -> Script {
                let dir = tempfile::tempdir().expect("temp dir");
                let path: Arc<str> = dir.path().join("pool.db").to_string_lossy().into();
                connect(&path, LOCK_WAIT).expect("schema");
                Script {
                    path,
                    plan: Arc::new(Mutex::new(plan.iter().copied().collect())),
                    attempts: Arc::default(),
                    down: Arc::default(),
                    refusal: Arc::new(Mutex::new(refused)),
                    _dir: Arc::new(dir),
                }
            }

            fn pool(&self, timeout_ms: u64) -> Arc<Pool<Script>> {
                self.pool_of(timeout_ms, PoolOptions::default().max_connections)
            }

            fn pool_of(&self, timeout_ms: u64, max_connections: usize) -> Arc<Pool<Script>> {
                let options = PoolOptions {
                    timeout: Duration::from_millis(timeout_ms),
                    max_connections,
                    ..PoolOptions::default()
                };
                Pool::new(options, self.clone())
            }

            fn audited(&self, request_id: &str) -> bool {
                let mut db = connect(&self.path, LOCK_WAIT).expect("open");
                let key = crate::storage::AuditKey { target_id: Some(123), request_id: request_id.into() };
                SqliteRepo::over(&mut db).audited(&key).expect("read")
            }
        }

        impl ManageConnection for Script {
            type Connection = Fake;
            type Error = StoreError;

            fn connect(&self) -> Result<Fake> {
                if self.down.load(Ordering::SeqCst) {
                    return Err(self.refusal.lock().expect("refusal")());
                }
                Ok(Fake { db: connect(&self.path, LOCK_WAIT)?, script: self.clone(), health: Health::default() })
            }

            fn is_valid(&self, _: &mut Fake) -> Result<()> {
                Ok(())
            }

            fn has_broken(&self, conn: &mut Fake) -> bool {
                conn.health.is_broken()
            }
        }

        struct Fake {
            db: rusqlite::Connection,
            script: Script,
            health: Health,
        }

        impl Connection for Fake {
            fn health(&mut self) -> &mut Health {
                &mut self.health
            }

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
                    Ok(Tx::Commit(v)) => (v, true),
                    Ok(Tx::Rollback(v)) => (v, false),
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

        fn refused() -> StoreError {
            StoreError::Unavailable("connection refused".into())
        }

        fn unavailable() -> StoreError {
            StoreError::Unavailable("connection reset".into())
        }

        fn conflict() -> StoreError {
            StoreError::Conflict("deadlock".into())
        }

        fn busy() -> StoreError {
            StoreError::Busy("canceling statement due to lock timeout".into())
        }

        fn broken() -> StoreError {
            StoreError::Database("syntax error".into())
        }

        /// An audited change: one audit row carrying `request_id`.
        fn audited_change(request_id: &'static str) -> impl Fn(&mut dyn AdminStore) -> Result<Tx<&'static str>> {
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
                    signed_with: String::new(),
                }])?;
                Ok(Tx::Commit("updated"))
            }
        }

        #[tokio::test]
        async fn connections_that_died_while_idle_are_replaced_at_once() {
            let script = Script::new(&[Then::Fail(unavailable), Then::Fail(unavailable)]);
            let pool = script.pool(5_000);
            // Two connections that served before, now idle in the pool.
            let deadline = Instant::now() + Duration::from_secs(5);
            let (mut a, mut b) = (pool.checkout(deadline).expect("a"), pool.checkout(deadline).expect("b"));
            a.health().used = true;
            b.health().used = true;
            drop((a, b));
            assert_eq!(pool.connections().expect("pool").state().idle_connections, 2);
            let started = Instant::now();
            assert_eq!(transact(pool, |_| Ok(Tx::Commit("done"))).await.ok(), Some("done"));
            assert_eq!(script.attempts.load(Ordering::SeqCst), 3, "two dead idle connections, then a fresh one");
            assert!(started.elapsed() < Duration::from_millis(500), "no pause for dead idle connections");
        }

        #[tokio::test]
        async fn a_database_that_refuses_is_retried_until_the_timeout() {
            let script = Script::new(&[]);
            script.down.store(true, Ordering::SeqCst);
            let pool = script.pool(300);
            let started = Instant::now();
            let r = transact(pool.clone(), |_| Ok(Tx::Commit(()))).await;
            assert!(matches!(r, Err(StoreError::Unavailable(_))), "{r:?}");
            assert!(started.elapsed() >= Duration::from_millis(150), "retried: {:?}", started.elapsed());
            assert!(
                started.elapsed() < Duration::from_millis(1_500),
                "gave up at the timeout: {:?}",
                started.elapsed()
            );
            assert_eq!(pool.connections().expect("pool").state().connections, 0, "no connection was opened");
            // Once the database is back, the same pool serves again (r2d2 reconnects by itself).
            script.down.store(false, Ordering::SeqCst);
            tokio::time::sleep(RECONNECT_PAUSE + Duration::from_millis(100)).await;
            assert_eq!(transact(pool, |_| Ok(Tx::Commit("back"))).await.ok(), Some("back"));
        }

        #[tokio::test]
        async fn a_connect_refused_for_another_reason_is_reported_as_it_is() {
            // Wrong password, unknown database: the answer says so, not that the server is away.
            let script = Script::new(&[]);
            *script.refusal.lock().expect("refusal") = broken;
            script.down.store(true, Ordering::SeqCst);
            let pool = script.pool(300);
            let r = transact(pool.clone(), |_| Ok(Tx::Commit(()))).await;
            assert!(matches!(&r, Err(StoreError::Database(m)) if m.contains("syntax error")), "{r:?}");
            // While it stands, the next request is answered at once.
            let started = Instant::now();
            let r = transact(pool.clone(), |_| Ok(Tx::Commit(()))).await;
            assert!(matches!(&r, Err(StoreError::Database(m)) if m.contains("syntax error")), "{r:?}");
            assert!(started.elapsed() < Duration::from_millis(150), "not waited for: {:?}", started.elapsed());
            // Once the server accepts connections again (r2d2 reconnects by itself), it serves.
            script.down.store(false, Ordering::SeqCst);
            tokio::time::sleep(RECONNECT_PAUSE + Duration::from_millis(100)).await;
            assert_eq!(transact(pool, |_| Ok(Tx::Commit("back"))).await.ok(), Some("back"));
        }

        #[tokio::test]
        async fn a_standing_refusal_still_waits_for_a_busy_connection() {
            let script = Script::new(&[]);
            let pool = script.pool(300);
            let busy = pool.checkout(Instant::now() + Duration::from_secs(5)).expect("busy");
            *script.refusal.lock().expect("refusal") = broken;
            script.down.store(true, Ordering::SeqCst);
            let r = transact(pool.clone(), |_| Ok(Tx::Commit(()))).await;
            assert!(matches!(&r, Err(StoreError::Database(_))), "the request that met it reports it: {r:?}");
            // The open connection comes back in 100 ms: the next request waits for it.
            let back = std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(100));
                drop(busy);
            });
            assert_eq!(transact(pool, |_| Ok(Tx::Commit("waited"))).await.ok(), Some("waited"));
            back.join().expect("join");
        }

        #[tokio::test]
        async fn a_pause_between_tries_holds_no_connection() {
            // One connection; the first transaction conflicts on every one of its nine tries,
            // with about half a second of pauses in all. Through them, the connection sits idle
            // in the pool, where the second transaction, started at the first's sixth try, finds
            // it: if a pause held the connection, it would never be idle while the first runs.
            let script = Script::new(&[]);
            let options = PoolOptions {
                max_connections: 1,
                timeout: Duration::from_secs(5),
                retries: 8,
                ..PoolOptions::default()
            };
            let pool = Pool::new(options, script.clone());
            let log = Arc::new(Mutex::new(Vec::new()));
            let sixth = Arc::new(tokio::sync::Notify::new());
            let (first_log, first_sixth) = (log.clone(), sixth.clone());
            let first = tokio::spawn(transact(pool.clone(), move |_| -> Result<Tx<()>> {
                let mut log = first_log.lock().expect("log");
                log.push("first");
                if log.len() == 6 {
                    first_sixth.notify_one();
                }
                Err(conflict())
            }));
            let watched = pool.clone();
            // Looks at the pool for 400 ms, well within the first's pauses.
            let watch = tokio::spawn(async move {
                let mut looks = Vec::new();
                let until = Instant::now() + Duration::from_millis(400);
                while Instant::now() < until {
                    looks.push(watched.connections().map_or(0, |c| c.state().idle_connections));
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                looks
            });
            sixth.notified().await;
            let second_log = log.clone();
            let second = transact(pool, move |_| {
                second_log.lock().expect("log").push("second");
                Ok(Tx::Commit("second"))
            })
            .await;
            assert_eq!(second.ok(), Some("second"));
            let first = first.await.expect("join");
            assert!(matches!(first, Err(StoreError::Conflict(_))), "{first:?}");
            let log = log.lock().expect("log").clone();
            assert_eq!(log.iter().filter(|&&e| e == "first").count(), 9, "{log:?}");
            assert_eq!(log.last(), Some(&"first"), "the second ran in a pause of the first: {log:?}");
            let looks = watch.await.expect("join");
            let idle = looks.iter().filter(|&&n| n == 1).count();
            assert!(idle * 2 > looks.len(), "idle in {idle} of {} looks while the first paused", looks.len());
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
            let r = transact(script.pool(5_000), |_| Ok(Tx::Commit(()))).await;
            assert!(matches!(r, Err(StoreError::Database(_))), "{r:?}");
            assert_eq!(script.attempts.load(Ordering::SeqCst), 3);
            // Past the retries, the conflict is the answer.
            let script = Script::new(&[Then::Fail(conflict); 6]);
            let r = transact(script.pool(5_000), |_| Ok(Tx::Commit(()))).await;
            assert!(matches!(r, Err(StoreError::Conflict(_))), "{r:?}");
            assert_eq!(script.attempts.load(Ordering::SeqCst), 6);
        }

        #[tokio::test]
        async fn a_lock_wait_that_ran_out_is_answered_at_once() {
            // It already waited --db-lock-timeout: a retry would only make the client wait again.
            let script = Script::new(&[Then::Fail(busy), Then::Commit]);
            let r = transact(script.pool(5_000), audited_change("b1")).await;
            assert!(matches!(r, Err(StoreError::Busy(_))), "{r:?}");
            assert_eq!(script.attempts.load(Ordering::SeqCst), 1);
            assert!(!script.audited("b1"), "nothing was kept");
        }

        #[tokio::test]
        async fn conflicts_are_not_retried_past_the_timeout() {
            // Each attempt takes 150 ms before it conflicts; with a 200 ms timeout the second is
            // the last, although five retries are allowed.
            let script = Script::new(&[Then::Fail(conflict); 6]);
            let r = transact(script.pool(200), |_| {
                std::thread::sleep(Duration::from_millis(150));
                Ok(Tx::Commit(()))
            })
            .await;
            assert!(matches!(r, Err(StoreError::Conflict(_))), "{r:?}");
            assert_eq!(script.attempts.load(Ordering::SeqCst), 2);
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
                Ok(Tx::Commit("nothing to change"))
            })
            .await;
            assert_eq!(r.ok(), Some("nothing to change"));
            assert_eq!(script.attempts.load(Ordering::SeqCst), 1);
        }

        #[tokio::test]
        async fn a_lost_commit_of_unaudited_writes_is_unknown() {
            let script = Script::new(&[Then::LostAfterCommit]);
            let r = transact(script.pool(5_000), |repo| Ok(Tx::Commit(repo.set_setting(0, "marker", "1")?))).await;
            assert!(matches!(r, Err(StoreError::CommitUnknown(_))), "{r:?}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::PoolOptions;
    use std::time::Duration;

    #[test]
    fn lock_timeouts_are_whole_units_rounded_up() {
        let with = |ms| PoolOptions { lock_timeout: Duration::from_millis(ms), ..PoolOptions::default() };
        assert_eq!((with(2_000).lock_timeout_millis(), with(2_000).lock_timeout_seconds()), (2_000, 2));
        assert_eq!((with(100).lock_timeout_millis(), with(100).lock_timeout_seconds()), (100, 1));
        assert_eq!((with(2_001).lock_timeout_millis(), with(2_001).lock_timeout_seconds()), (2_001, 3));
        let tiny = PoolOptions { lock_timeout: Duration::from_nanos(1), ..PoolOptions::default() };
        assert_eq!((tiny.lock_timeout_millis(), tiny.lock_timeout_seconds()), (1, 1), "never 0, which waits forever");
    }
}
