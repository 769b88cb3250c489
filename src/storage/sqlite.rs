//! The embedded SQLite backend.
//!
//! One writer thread owns the connection. Requests arrive as jobs; the thread runs every job that
//! is waiting inside one transaction, each job in its own savepoint (so each request is still
//! all-or-nothing), then commits once with `synchronous=FULL` and only then answers them all.
//! One fsync serves many requests: that is how durable commits reach thousands per second.

use super::schema;
use super::sql::{Dialect, SqlConn, TxCache};
use super::{AdminStore, Result, Row, StoreError, Tx, Value};
use crate::telemetry;
use rusqlite::{Connection, TransactionBehavior, params_from_iter, types::ValueRef};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Most jobs committed together; bounds the latency one commit adds to the first job.
const MAX_BATCH: usize = 512;

type Deliver = Box<dyn FnOnce(Result<()>) + Send>;

/// A unit of work for the writer thread, type-erased.
trait Job: Send {
    /// Runs against the open savepoint; returns whether its writes are kept, with how to answer
    /// once the commit's fate is known.
    fn run(self: Box<Self>, repo: &mut SqliteRepo<'_>) -> Tx<Deliver>;
    /// Answers without running (the transaction could not be opened).
    fn fail(self: Box<Self>, err: StoreError);
}

struct TypedJob<T, F> {
    f: F,
    reply: tokio::sync::oneshot::Sender<Result<T>>,
}

impl<T, F> Job for TypedJob<T, F>
where
    T: Send + 'static,
    F: FnOnce(&mut dyn AdminStore) -> Result<Tx<T>> + Send + 'static,
{
    fn run(self: Box<Self>, repo: &mut SqliteRepo<'_>) -> Tx<Deliver> {
        let reply = self.reply;
        // The answer once the commit's fate is known: the value if it held, else the error.
        let answer = |outcome: Result<T>| -> Deliver {
            Box::new(move |committed| {
                let _ = reply.send(committed.and(outcome));
            })
        };
        match (self.f)(repo) {
            Ok(Tx::Commit(value)) => Tx::Commit(answer(Ok(value))),
            Ok(Tx::Rollback(value)) => Tx::Rollback(answer(Ok(value))),
            Err(e) => Tx::Rollback(answer(Err(e))),
        }
    }

    fn fail(self: Box<Self>, err: StoreError) {
        let _ = self.reply.send(Err(err));
    }
}

/// A round trip through the writer thread (`/ready`): the schema version read in the writer's
/// transaction, which also proves that a transaction can begin.
struct Ping(tokio::sync::oneshot::Sender<Result<()>>);

impl Job for Ping {
    fn run(self: Box<Self>, repo: &mut SqliteRepo<'_>) -> Tx<Deliver> {
        let read = repo.conn.query_row("SELECT MAX(version) FROM schema_migrations", [], |_| Ok(())).map_err(db_err);
        let reply = self.0;
        Tx::Rollback(Box::new(move |_| {
            let _ = reply.send(read);
        }))
    }

    fn fail(self: Box<Self>, err: StoreError) {
        let _ = self.0.send(Err(err));
    }
}

/// Handle to the writer thread. Cloning shares the thread.
#[derive(Clone)]
pub struct SqliteStore {
    jobs: mpsc::Sender<Box<dyn Job>>,
    _thread: Arc<WriterThread>,
    file: Arc<Opened>,
}

/// The database file as opened. A file deleted or replaced under a running server is one that
/// its writes no longer reach (they go to the unlinked file), which readiness reports.
struct Opened {
    path: std::path::PathBuf,
    /// Device and inode (on Unix); `None` when the path names no file (`:memory:`).
    id: Option<(u64, u64)>,
}

impl Opened {
    fn id(path: &std::path::Path) -> Option<(u64, u64)> {
        let meta = std::fs::metadata(path).ok()?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            Some((meta.dev(), meta.ino()))
        }
        #[cfg(not(unix))]
        {
            Some((0, u64::from(meta.is_file())))
        }
    }

    /// Why the file at the path is no longer the one open, if it is not.
    fn moved(&self) -> Option<StoreError> {
        let opened = self.id?;
        let shown = self.path.display();
        match Self::id(&self.path) {
            None => Some(StoreError::Unavailable(format!(
                "the database file {shown} is gone (deleted or moved while morapi runs)"
            ))),
            Some(now) if now != opened => Some(StoreError::Unavailable(format!(
                "the database file {shown} was replaced while morapi runs; restart morapi to use it"
            ))),
            Some(_) => None,
        }
    }
}

/// Joins the writer when the last handle is dropped, so the database is closed cleanly.
struct WriterThread(Mutex<Option<std::thread::JoinHandle<()>>>);

impl Drop for WriterThread {
    fn drop(&mut self) {
        // The sender lives in the store handles; once they are gone the thread ends by itself.
        if let Ok(mut h) = self.0.lock()
            && let Some(h) = h.take()
            && h.thread().id() != std::thread::current().id()
        {
            let _ = h.join();
        }
    }
}

/// How long opening waits for another process's write lock (another instance migrating, a
/// backup): longer than a request's `--db-lock-timeout`, as starting is rare and a migration may
/// take a while.
const OPEN_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// SQLite's error as a [`StoreError`]: the write lock still held by another connection when the
/// busy timeout ran out (`SQLITE_BUSY`, or `SQLITE_LOCKED` within one process) is
/// [`StoreError::Busy`].
fn db_err(e: rusqlite::Error) -> StoreError {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
            StoreError::Busy(e.to_string())
        }
        _ => StoreError::Database(e.to_string()),
    }
}

/// The same failure again, for each job of a batch that it ended.
fn again(e: &StoreError) -> StoreError {
    match e {
        StoreError::Busy(m) => StoreError::Busy(m.clone()),
        other => StoreError::Database(other.to_string()),
    }
}

/// Opens a connection with the settings every morapi connection uses; creates the schema of an
/// empty database, refuses an older or newer one ([`schema::Policy::Current`]). Once open, a
/// statement waits at most `lock_timeout` for a write lock another process holds (SQLite's busy
/// timeout, `--db-lock-timeout`).
pub fn connect(path: &str, lock_timeout: Duration) -> Result<Connection> {
    connect_with(path, schema::Policy::Current, lock_timeout).map(|(conn, _)| conn)
}

/// [`connect`] with an open policy; also says what the migration found and did.
pub fn connect_with(
    path: &str,
    policy: schema::Policy,
    lock_timeout: Duration,
) -> Result<(Connection, schema::Report)> {
    let mut conn = Connection::open(path).map_err(db_err)?;
    conn.busy_timeout(OPEN_BUSY_TIMEOUT.max(lock_timeout)).map_err(db_err)?;
    conn.pragma_update(None, "journal_mode", "WAL").map_err(db_err)?;
    conn.pragma_update(None, "synchronous", "FULL").map_err(db_err)?;
    conn.set_prepared_statement_cache_capacity(512);
    let report = migrate(&mut conn, policy)?;
    conn.busy_timeout(lock_timeout).map_err(db_err)?;
    Ok((conn, report))
}

/// What the file's schema is. Version 1 recorded no version on SQLite: a schema that is there
/// without one is version 1.
fn found(conn: &Connection) -> Result<schema::Found> {
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('audit_log', 'schema_migrations')")
        .and_then(|mut q| q.query_map([], |r| r.get(0))?.collect())
        .map_err(db_err)?;
    let recorded: Option<i64> = if tables.iter().any(|t| t == "schema_migrations") {
        conn.query_row("SELECT MAX(version) FROM schema_migrations", [], |r| r.get(0)).map_err(db_err)?
    } else {
        None
    };
    Ok(match recorded {
        None if tables.iter().any(|t| t == "audit_log") => schema::Found::At(1),
        recorded => schema::Found::recorded(recorded),
    })
}

/// Applies the open policy. A current schema is only read (no write lock, no DDL); otherwise
/// the plan is made again and carried out in one `BEGIN IMMEDIATE` transaction: instances
/// opening the same file together take turns, and a failed upgrade leaves nothing.
fn migrate(conn: &mut Connection, policy: schema::Policy) -> Result<schema::Report> {
    let seen = found(conn)?;
    if schema::plan(seen, policy)? == schema::Plan::Nothing {
        return Ok(schema::Report { found: seen, applied: Vec::new() });
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_err)?;
    let seen = found(&tx)?;
    let plan = schema::plan(seen, policy)?;
    let applied = schema::apply(&mut Migrating { conn: &tx }, plan)?;
    tx.commit().map_err(db_err)?;
    Ok(schema::Report { found: seen, applied })
}

/// A migration inside the migration's transaction.
struct Migrating<'c> {
    conn: &'c Connection,
}

impl schema::Migrator for Migrating<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn step(&mut self, sql: &str) -> Result<()> {
        self.conn.execute_batch(sql).map_err(db_err)
    }

    fn rows(&mut self, rows: fn(&mut dyn SqlConn) -> Result<()>) -> Result<()> {
        rows(&mut SqliteRepo { conn: self.conn, cache: TxCache::default() })
    }
}

impl SqliteStore {
    /// The writer of the database file at `path`, opened under the open policy (see
    /// [`connect_with`]); `lock_timeout` bounds each wait for another process's write lock.
    pub fn open(path: &str, policy: schema::Policy, lock_timeout: Duration) -> Result<(Self, schema::Report)> {
        let (conn, report) = connect_with(path, policy, lock_timeout)?;
        let (tx, rx) = mpsc::channel::<Box<dyn Job>>();
        let thread = std::thread::Builder::new()
            .name("morapi-sqlite-writer".into())
            .spawn(move || writer_loop(conn, rx))
            .map_err(|e| StoreError::Database(e.to_string()))?;
        let path = std::path::PathBuf::from(path);
        let file = Arc::new(Opened { id: Opened::id(&path), path });
        Ok((SqliteStore { jobs: tx, _thread: Arc::new(WriterThread(Mutex::new(Some(thread)))), file }, report))
    }

    /// Whether the database serves now (`/ready`): the file is still the one open, and the
    /// writer thread begins a transaction and reads from it within `timeout`.
    pub async fn ready(&self, timeout: Duration) -> Result<()> {
        if let Some(moved) = self.file.moved() {
            return Err(moved);
        }
        let (reply, rx) = tokio::sync::oneshot::channel();
        self.jobs.send(Box::new(Ping(reply))).map_err(|_| StoreError::WriterGone)?;
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(_)) => Err(StoreError::WriterGone),
            Err(_) => Err(StoreError::Unavailable(format!(
                "the database writer did not answer within {} s (a long transaction, or a lock held by another process)",
                timeout.as_secs_f64()
            ))),
        }
    }

    pub async fn transact<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn AdminStore) -> Result<Tx<T>> + Send + 'static,
    {
        let (reply, rx) = tokio::sync::oneshot::channel();
        let job: Box<dyn Job> = Box::new(TypedJob { f, reply });
        self.jobs.send(job).map_err(|_| StoreError::WriterGone)?;
        // A job that ends without answering panicked (the writer goes on): a bug, rolled back.
        rx.await.map_err(|_| StoreError::Database("the transaction stopped on a bug; it was rolled back".into()))?
    }
}

fn writer_loop(mut conn: Connection, rx: mpsc::Receiver<Box<dyn Job>>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        metrics::histogram!(telemetry::SQLITE_BATCH).record(batch.len() as f64);
        run_batch(&mut conn, batch);
    }
}

/// Runs jobs in one transaction, each in a savepoint; answers after the commit.
fn run_batch(conn: &mut Connection, batch: Vec<Box<dyn Job>>) {
    // Waits at most the busy timeout for another process's write lock; past it, every job of
    // the batch is answered busy, having changed nothing.
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        let err = db_err(e);
        for job in batch {
            job.fail(again(&err));
        }
        return;
    }
    let mut delivered: Vec<(bool, Deliver)> = Vec::with_capacity(batch.len());
    let mut broken: Option<StoreError> = None;
    for job in batch {
        if let Some(err) = &broken {
            job.fail(again(err));
            continue;
        }
        if let Err(e) = conn.execute_batch("SAVEPOINT job") {
            let err = db_err(e);
            job.fail(again(&err));
            broken = Some(err);
            continue;
        }
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut repo = SqliteRepo { conn, cache: TxCache::default() };
            job.run(&mut repo)
        }));
        // A panicking job is answered (by its dropped reply) and logged once, by its caller.
        let (keep, deliver) = match outcome {
            Ok(Tx::Commit(deliver)) => (true, deliver),
            Ok(Tx::Rollback(deliver)) => (false, deliver),
            Err(_) => (false, Box::new(|_| {}) as Deliver),
        };
        let end = if keep { "RELEASE job" } else { "ROLLBACK TO job; RELEASE job" };
        if let Err(e) = conn.execute_batch(end) {
            broken = Some(db_err(e));
        }
        if conn.is_autocommit() && broken.is_none() {
            // SQLite rolled the whole transaction back (I/O error, disk full).
            broken = Some(StoreError::Database("transaction was rolled back by SQLite".into()));
        }
        delivered.push((keep, deliver));
    }
    let committed = match broken {
        Some(e) => {
            if !conn.is_autocommit() {
                let _ = conn.execute_batch("ROLLBACK");
            }
            Err(e)
        }
        None => conn.execute_batch("COMMIT").map_err(db_err),
    };
    if committed.is_err() && !conn.is_autocommit() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    for (keep, deliver) in delivered {
        match (&committed, keep) {
            (Ok(()), _) | (Err(_), false) => deliver(Ok(())),
            (Err(e), true) => deliver(Err(again(e))),
        }
    }
}

/// [`AdminStore`] over the writer's connection, inside the current savepoint.
pub struct SqliteRepo<'c> {
    conn: &'c Connection,
    cache: TxCache,
}

impl<'c> SqliteRepo<'c> {
    /// A repo over a connection of the caller's (tests of the shared transaction runner).
    #[cfg(all(test, any(feature = "postgres", feature = "mysql")))]
    pub(crate) fn over(conn: &'c mut Connection) -> Self {
        SqliteRepo { conn, cache: TxCache::default() }
    }

    /// What the work run through this repo wrote.
    #[cfg(all(test, any(feature = "postgres", feature = "mysql")))]
    pub(crate) fn written(&self) -> super::Written {
        self.cache.written()
    }
}

fn from_sql(v: ValueRef<'_>) -> Value {
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Int(i),
        ValueRef::Real(f) => Value::Text(f.to_string()),
        ValueRef::Text(t) | ValueRef::Blob(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
    }
}

fn to_sql(v: &Value) -> rusqlite::types::Value {
    match v {
        Value::Null => rusqlite::types::Value::Null,
        Value::Int(i) => rusqlite::types::Value::Integer(*i),
        Value::Text(s) => rusqlite::types::Value::Text(s.clone()),
    }
}

impl SqlConn for SqliteRepo<'_> {
    fn cache(&mut self) -> &mut TxCache {
        &mut self.cache
    }

    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn fetch(&mut self, sql: &str, args: &[Value]) -> Result<Vec<Row>> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(db_err)?;
        let names: Vec<String> = stmt.column_names().iter().map(|s| s.to_string()).collect();
        let rows = stmt
            .query_map(params_from_iter(args.iter().map(to_sql)), |r| {
                let mut row = Row::new();
                for (i, name) in names.iter().enumerate() {
                    row.insert(name.clone(), from_sql(r.get_ref(i)?));
                }
                Ok(row)
            })
            .map_err(db_err)?;
        rows.collect::<std::result::Result<Vec<_>, _>>().map_err(db_err)
    }

    fn execute(&mut self, sql: &str, args: &[Value]) -> Result<u64> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(db_err)?;
        let n = stmt.execute(params_from_iter(args.iter().map(to_sql))).map_err(db_err)?;
        Ok(n as u64)
    }

    fn insert(&mut self, sql: &str, args: &[Value]) -> Result<i64> {
        self.execute(sql, args)?;
        Ok(self.conn.last_insert_rowid())
    }

    fn batch(&mut self, sql: &str) -> Result<()> {
        self.conn.execute_batch(sql).map_err(db_err)
    }
}
