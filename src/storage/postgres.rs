//! PostgreSQL (and its wire-compatible relatives), pooled by r2d2 through [`PgManager`]. Each
//! pooled connection owns a small single-threaded runtime that drives it on the calling
//! (blocking-pool) thread, so a round trip never crosses threads. Statements are prepared once
//! per connection and pipelined: `BEGIN` travels with the first query, deferred writes with the
//! next query or the `COMMIT`, and the reads of [`RequestStore::preload`](super::RequestStore::preload)(super::AdminStore::preload) go
//! together, so a typical update costs two round trips.
//!
//! Pipelining a transaction's writes with its `COMMIT` is safe here, unlike a MariaDB
//! multi-statement query: a statement that fails inside `BEGIN … COMMIT` puts the whole block in
//! the aborted state, every later statement of the pipeline fails, and `COMMIT` rolls back, so no
//! statement ever runs outside the transaction it was sent in (docs/decisions.md, "Galera").
//!
//! TLS, when the URL asks for it with libpq's `sslmode` / `sslrootcert`, is rustls through
//! [`MakeRustls`] (storage/tls.rs); without it, connections are the driver's plain `NoTls` ones.

use super::pool::{self, Connection, Failure, Health, Pool, PoolOptions, Transaction, Work};
use super::sql::{Dialect, SqlConn, TxCache};
use super::tls::{self, MakeRustls, Mode, Tls};
use super::{Result, Row, StoreError, Value, Written, schema};
use rust_decimal::Decimal;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::Arc;
use std::task::Poll;
use tokio_postgres::config::SslMode;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, NoTls, Statement};

/// Arbitrary key for the advisory lock that serialises migrations across instances.
const MIGRATION_LOCK: i64 = 0x6d6f_7261_7069;

pub struct PgConn {
    runtime: tokio::runtime::Runtime,
    client: Client,
    statements: HashMap<String, Statement>,
    health: Health,
    /// What opens a transaction ([`PgManager::begin`]).
    begin: Arc<str>,
}

/// Opens PostgreSQL connections for the pool (r2d2's `ManageConnection`).
#[derive(Clone)]
pub struct PgManager {
    config: tokio_postgres::Config,
    /// The connector and what the URL asked for; `None`: no TLS (`sslmode=disable`, or no
    /// `sslmode` at all), the same plain connection as before TLS existed here.
    tls: Option<(MakeRustls, Tls)>,
    /// What opens each request's transaction: `BEGIN` with `SET LOCAL lock_timeout`, one
    /// message, sent with the transaction's first statement, so bounding lock waits costs no
    /// round trip. Per transaction rather than per session: it holds through a transaction-mode
    /// PgBouncer, and the migration's wait for another instance's lock is left unbounded.
    begin: Arc<str>,
}

impl PgManager {
    /// The manager of a URL: libpq's `sslmode` and `sslrootcert` taken out (storage/tls.rs),
    /// the rest parsed by tokio-postgres.
    fn new(url: &str, options: &PoolOptions) -> Result<PgManager> {
        let (rest, tls) = tls::split(url, &tls::POSTGRES)?;
        let mut config = tokio_postgres::Config::from_str(&rest).map_err(|e| {
            StoreError::Config(format!("invalid PostgreSQL URL: {}", super::redact_message(&e.to_string(), url)))
        })?;
        config.connect_timeout(options.timeout);
        let tls = match tls {
            None => None,
            Some(t) if t.mode == Mode::Disable => {
                config.ssl_mode(SslMode::Disable);
                None
            }
            Some(t) => {
                // tokio-postgres falls back to plain text for `prefer` only; every other mode needs TLS.
                config.ssl_mode(if t.mode == Mode::Prefer { SslMode::Prefer } else { SslMode::Require });
                Some((MakeRustls::new(&t)?, t))
            }
        };
        let begin = format!("BEGIN; SET LOCAL lock_timeout = {}", options.lock_timeout_millis()).into();
        Ok(PgManager { config, tls, begin })
    }

    /// Connects; the connection's I/O comes back boxed, to be polled by the caller.
    async fn client(&self) -> Result<(Client, Driving)> {
        Ok(match &self.tls {
            None => {
                let (client, connection) = self.config.connect(NoTls).await.map_err(err)?;
                (client, Box::pin(async move { drop(connection.await) }))
            }
            Some((make, tls)) => {
                let (client, connection) = self.config.connect(make.clone()).await.map_err(|e| tls_err(e, tls))?;
                (client, Box::pin(async move { drop(connection.await) }))
            }
        })
    }
}

/// A connection's I/O, to be polled for as long as its [`Client`] is used.
pub type Driving = Pin<Box<dyn Future<Output = ()> + Send>>;

impl r2d2::ManageConnection for PgManager {
    type Connection = PgConn;
    type Error = StoreError;

    /// Runs on r2d2's threads (or the opening thread), never on an async worker: the connection
    /// blocks on its private runtime.
    fn connect(&self) -> Result<PgConn> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| StoreError::Unavailable(format!("cannot start the PostgreSQL driver: {e}")))?;
        // The connection's I/O is polled only while this connection's owner blocks on the
        // runtime, on the owner's thread. Without TLS, exactly the plain connection as before.
        let client = match &self.tls {
            None => {
                let (client, connection) = runtime.block_on(self.config.connect(NoTls)).map_err(err)?;
                runtime.spawn(connection);
                client
            }
            Some((make, tls)) => {
                let (client, connection) =
                    runtime.block_on(self.config.connect(make.clone())).map_err(|e| tls_err(e, tls))?;
                runtime.spawn(connection);
                client
            }
        };
        let begin = self.begin.clone();
        Ok(PgConn { runtime, client, statements: HashMap::new(), health: Health::default(), begin })
    }

    /// One round trip. The pool does not test connections before use (see `pool`), so r2d2
    /// asks only if told to.
    fn is_valid(&self, conn: &mut PgConn) -> Result<()> {
        conn.runtime.block_on(conn.client.batch_execute("SELECT 1")).map_err(err)
    }

    /// Broken as the runner found it, or closed under the driver (the server hung up).
    fn has_broken(&self, conn: &mut PgConn) -> bool {
        conn.health.is_broken() || conn.client.is_closed()
    }
}

/// One connection to the database of `url`, made exactly as the pool makes its connections
/// (TLS included), outside any pool: for tools, tests and scratch databases. Blocks: call it off
/// any async runtime.
pub fn connect(url: &str) -> Result<PgConn> {
    r2d2::ManageConnection::connect(&PgManager::new(url, &PoolOptions::default())?)
}

/// A driver connection to the database of `url`, made as the pool makes its connections (TLS
/// included), for code that uses tokio-postgres itself: spawn the returned [`Driving`] on the
/// caller's runtime.
pub async fn client(url: &str) -> Result<(Client, Driving)> {
    PgManager::new(url, &PoolOptions::default())?.client().await
}

impl PgConn {
    /// Runs `sql` (one or more statements, no parameters) and returns every row of its results,
    /// each value as the server's text (`None` for NULL).
    pub fn query_strings(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>> {
        let messages = self.runtime.block_on(self.client.simple_query(sql)).map_err(err)?;
        Ok(messages
            .into_iter()
            .filter_map(|m| match m {
                tokio_postgres::SimpleQueryMessage::Row(row) => {
                    Some((0..row.len()).map(|i| row.get(i).map(str::to_string)).collect())
                }
                _ => None,
            })
            .collect())
    }
}

/// A failure to connect with TLS: TLS's own reason (a certificate refused, no TLS offered by
/// the server) is a refusal that waiting will not cure, said with the URL's TLS parameters.
fn tls_err(e: tokio_postgres::Error, tls: &Tls) -> StoreError {
    if let Some(reason) = tls::failure(&e) {
        return tls.refused("PostgreSQL", &reason);
    }
    let mut cause = std::error::Error::source(&e);
    let mut no_tls = false;
    while let Some(c) = cause {
        no_tls |= c.to_string() == "server does not support TLS";
        cause = c.source();
    }
    if no_tls {
        return StoreError::Config(format!(
            "the PostgreSQL server does not offer TLS, which {} requires (sslmode=prefer would fall back to plain text)",
            tls.given
        ));
    }
    err(e)
}

/// What the driver's error says, with its cause: the driver's own words for a server's error are
/// only "db error", and for a failed connection only "error connecting to server". A server's
/// error is its severity, message and SQLSTATE (`ERROR: permission denied for schema public
/// (SQLSTATE 42501)`); its DETAIL is left out, as it can quote the row's values (`Key
/// (email)=(…) already exists`). Anything else is the driver's words and each cause after them.
fn message(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!("{}: {} (SQLSTATE {})", db.severity(), db.message(), db.code().code());
    }
    let mut message = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        message = format!("{message}: {c}");
        cause = c.source();
    }
    message
}

fn err(e: tokio_postgres::Error) -> StoreError {
    let message = message(&e);
    match e.code() {
        // `lock_timeout` ran out (55P03): the statement failed, so the transaction is aborted
        // and rolls back; nothing was kept.
        Some(c) if *c == SqlState::LOCK_NOT_AVAILABLE => StoreError::Busy(message),
        Some(c) if conflict(c) => StoreError::Conflict(message),
        Some(c) if not_ready(c) => StoreError::Unavailable(message),
        Some(_) => StoreError::Database(message),
        None => StoreError::Unavailable(message),
    }
}

/// Worth another try: a serialization failure, a deadlock, or a concurrent insert of the same
/// unique value (the retry sees it and answers properly).
fn conflict(c: &SqlState) -> bool {
    *c == SqlState::T_R_SERIALIZATION_FAILURE
        || *c == SqlState::T_R_DEADLOCK_DETECTED
        || *c == SqlState::UNIQUE_VIOLATION
}

/// The server cannot serve now, whatever the statement: shutting down or starting up (57P01–03),
/// a read-only standby, so not the primary (25006), a connection failure (class 08), too many
/// connections (53300). Before `COMMIT`, nothing was kept: tried again on a fresh connection.
fn not_ready(c: &SqlState) -> bool {
    *c == SqlState::ADMIN_SHUTDOWN
        || *c == SqlState::CRASH_SHUTDOWN
        || *c == SqlState::CANNOT_CONNECT_NOW
        || *c == SqlState::READ_ONLY_SQL_TRANSACTION
        || *c == SqlState::TOO_MANY_CONNECTIONS
        || c.code().starts_with("08")
}

/// Connects, applies the open policy (`options.schema`) and returns the pool. Runs on its own
/// thread: a connection blocks on its private runtime, which must not happen on an async worker.
pub fn open(url: &str, options: PoolOptions) -> Result<Arc<Pool<PgManager>>> {
    off_runtime(|| {
        let manager = PgManager::new(url, &options)?;
        let mut first = r2d2::ManageConnection::connect(&manager)?;
        let report = migrate(&mut first, options.schema)?;
        schema::log(&report);
        drop(first);
        Ok(Pool::new(options, manager))
    })
}

/// Applies `policy` to the schema of the database at `url` on one connection of its own, and
/// says what it found and did (`morapi migrate`).
pub fn migrate_only(url: &str, options: PoolOptions, policy: schema::Policy) -> Result<schema::Report> {
    off_runtime(|| migrate(&mut r2d2::ManageConnection::connect(&PgManager::new(url, &options)?)?, policy))
}

/// Runs `f` on a thread of its own (see [`open`]).
fn off_runtime<T: Send>(f: impl FnOnce() -> Result<T> + Send) -> Result<T> {
    std::thread::scope(|s| {
        s.spawn(f).join().unwrap_or_else(|_| Err(StoreError::Database("PostgreSQL connection thread panicked".into())))
    })
}

/// The recorded schema version. Needs only SELECT on `schema_migrations`.
async fn found(client: &Client) -> Result<schema::Found> {
    let exists: bool =
        client.query_one("SELECT to_regclass('schema_migrations') IS NOT NULL", &[]).await.map_err(err)?.get(0);
    if !exists {
        return Ok(schema::Found::Empty);
    }
    let max: Option<i64> =
        client.query_one("SELECT MAX(version) FROM schema_migrations", &[]).await.map_err(err)?.get(0);
    Ok(schema::Found::recorded(max))
}

/// Applies the open policy. A current schema is only read: no lock, no DDL, so a role with
/// SELECT/INSERT/UPDATE/DELETE only can start. Otherwise, in one transaction under an advisory
/// lock (instances starting together take turns), the plan is made again and carried out; the
/// `IF [NOT] EXISTS` of the statements say nothing (`client_min_messages`), so no NOTICE reaches
/// the log.
fn migrate(conn: &mut PgConn, policy: schema::Policy) -> Result<schema::Report> {
    let seen = conn.runtime.block_on(found(&conn.client))?;
    if schema::plan(seen, policy)? == schema::Plan::Nothing {
        return Ok(schema::Report { found: seen, applied: Vec::new() });
    }
    let locked = conn.runtime.block_on(async {
        conn.client.batch_execute("BEGIN; SET LOCAL client_min_messages = warning").await.map_err(err)?;
        conn.client.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await.map_err(err)?;
        found(&conn.client).await
    });
    let outcome = locked.and_then(|seen| {
        let plan = schema::plan(seen, policy)?;
        let mut tx = PgTx { conn: &mut *conn, begun: true, pending: Vec::new(), cache: TxCache::default() };
        let applied = schema::apply(&mut tx, plan)?;
        tx.commit()?;
        Ok(schema::Report { found: seen, applied })
    });
    if outcome.is_err() {
        let _ = conn.runtime.block_on(conn.client.batch_execute("ROLLBACK"));
    }
    outcome
}

/// A migration in the migration's transaction, which [`migrate`] began.
impl schema::Migrator for PgTx<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn step(&mut self, sql: &str) -> Result<()> {
        self.run(&[], false)?;
        let client = &self.conn.client;
        self.conn.runtime.block_on(client.batch_execute(sql)).map_err(err)
    }

    fn rows(&mut self, rows: fn(&mut dyn SqlConn) -> Result<()>) -> Result<()> {
        rows(self)?;
        self.run(&[], false).map(drop)
    }
}

impl Connection for PgConn {
    fn attempt<T>(&mut self, f: &Work<T>) -> std::result::Result<T, Failure<T>> {
        pool::attempt(&mut PgTx { conn: self, begun: false, pending: Vec::new(), cache: TxCache::default() }, f)
    }

    fn health(&mut self) -> &mut Health {
        &mut self.health
    }
}

/// One transaction on a [`PgConn`]: `BEGIN` is held back until the first statement, deferred
/// writes until the next statement or the commit.
struct PgTx<'a> {
    conn: &'a mut PgConn,
    begun: bool,
    pending: Vec<(String, Vec<Value>)>,
    cache: TxCache,
}

/// What a pipelined statement is asked for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Want {
    Rows,
    Count,
}

/// What a pipelined statement answered.
enum Answer {
    Rows(Vec<tokio_postgres::Row>),
    Count(u64),
}

type Boxed<'f, T> = Pin<Box<dyn Future<Output = std::result::Result<T, tokio_postgres::Error>> + 'f>>;

/// Awaits every future, first polling each in the order given: tokio-postgres sends a request on
/// its future's first poll, so this order is the order on the wire, which a transaction needs.
async fn in_order<T>(mut futures: Vec<Boxed<'_, T>>) -> Vec<std::result::Result<T, tokio_postgres::Error>> {
    let mut answers: Vec<Option<_>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut done = true;
        for (future, answer) in futures.iter_mut().zip(answers.iter_mut()) {
            if answer.is_none() {
                match future.as_mut().poll(cx) {
                    Poll::Ready(a) => *answer = Some(a),
                    Poll::Pending => done = false,
                }
            }
        }
        if done { Poll::Ready(()) } else { Poll::Pending }
    })
    .await;
    answers.into_iter().flatten().collect()
}

impl PgTx<'_> {
    /// Prepares the statements this connection has not seen yet, together.
    fn prepare(&mut self, sqls: &[&str]) -> Result<()> {
        let mut missing: Vec<&str> = Vec::new();
        for sql in sqls {
            if !self.conn.statements.contains_key(*sql) && !missing.contains(sql) {
                missing.push(sql);
            }
        }
        if missing.is_empty() {
            return Ok(());
        }
        let numbered: Vec<String> = missing.iter().map(|s| numbered(s)).collect();
        let client = &self.conn.client;
        let futures = numbered.iter().map(|sql| -> Boxed<'_, Statement> { Box::pin(client.prepare(sql)) }).collect();
        let prepared = self.conn.runtime.block_on(in_order(futures));
        for (sql, stmt) in missing.into_iter().zip(prepared) {
            self.conn.statements.insert(sql.to_string(), stmt.map_err(err)?);
        }
        Ok(())
    }

    /// Sends `BEGIN` if not sent yet, the deferred writes, `ops`, and `COMMIT` when asked, as one
    /// pipeline; returns the answers of `ops`. The first error in wire order is the one returned.
    fn run(&mut self, ops: &[(&str, &[Value], Want)], commit: bool) -> Result<Vec<Answer>> {
        let pending = std::mem::take(&mut self.pending);
        let mut all: Vec<(&str, &[Value], Want)> =
            pending.iter().map(|(sql, args)| (sql.as_str(), args.as_slice(), Want::Count)).collect();
        all.extend_from_slice(ops);
        let sqls: Vec<&str> = all.iter().map(|(sql, ..)| *sql).collect();
        self.prepare(&sqls)?;
        let mut bound = Vec::with_capacity(all.len());
        for (sql, args, want) in &all {
            let stmt =
                self.conn.statements.get(*sql).cloned().ok_or_else(|| StoreError::Database("statement lost".into()))?;
            let boxed: Vec<Box<dyn ToSql + Sync>> =
                stmt.params().iter().zip(args.iter()).map(|(ty, v)| arg(v, ty)).collect::<Result<_>>()?;
            bound.push((stmt, boxed, *want));
        }
        let begin = !self.begun;
        self.begun = true;
        let client = &self.conn.client;
        let mut futures: Vec<Boxed<'_, Answer>> = Vec::with_capacity(bound.len() + 2);
        if begin {
            let opening = self.conn.begin.clone();
            futures.push(Box::pin(async move { client.batch_execute(&opening).await.map(|()| Answer::Count(0)) }));
        }
        for (stmt, boxed, want) in &bound {
            futures.push(Box::pin(async move {
                let refs: Vec<&(dyn ToSql + Sync)> = boxed.iter().map(|b| b.as_ref()).collect();
                match want {
                    Want::Rows => client.query(stmt, &refs).await.map(Answer::Rows),
                    Want::Count => client.execute(stmt, &refs).await.map(Answer::Count),
                }
            }));
        }
        if commit {
            futures.push(Box::pin(async move { client.batch_execute("COMMIT").await.map(|()| Answer::Count(0)) }));
        }
        let commit_at = commit.then(|| futures.len() - 1);
        let mut answers = Vec::with_capacity(futures.len());
        for (i, answer) in self.conn.runtime.block_on(in_order(futures)).into_iter().enumerate() {
            match answer {
                Ok(a) => answers.push(a),
                // The first error in wire order is the one that matters.
                Err(e) => return Err(commit_error(e, commit_at.map(|c| i == c))),
            }
        }
        // Wire order: [BEGIN], the deferred writes, `ops`, [COMMIT]; only the answers of `ops` matter.
        Ok(answers.into_iter().skip(usize::from(begin) + pending.len()).take(ops.len()).collect())
    }
}

impl Transaction for PgTx<'_> {
    /// Sends the held-back writes with `COMMIT`, in one pipeline.
    fn commit(&mut self) -> Result<()> {
        if !self.begun && self.pending.is_empty() {
            return Ok(());
        }
        self.run(&[], true)?;
        self.begun = false;
        Ok(())
    }

    fn rollback(&mut self) -> Result<()> {
        self.pending.clear();
        if !std::mem::take(&mut self.begun) {
            return Ok(());
        }
        let client = &self.conn.client;
        self.conn.runtime.block_on(client.batch_execute("ROLLBACK")).map_err(err)
    }

    fn written(&self) -> Written {
        self.cache.written()
    }
}

/// The first error of a pipeline. Without `COMMIT` in it (`at_commit` is `None`), or from a
/// statement before `COMMIT` that the server refused, nothing was kept. A lost connection may
/// have lost only the answers: then, as for any failure of `COMMIT` itself other than a
/// conflict (which rolled back), the outcome is unknown.
fn commit_error(e: tokio_postgres::Error, at_commit: Option<bool>) -> StoreError {
    match (at_commit, e.code()) {
        (None, _) | (Some(false), Some(_)) => err(e),
        (Some(true), Some(c)) if conflict(c) => err(e),
        (Some(_), _) => StoreError::CommitUnknown(message(&e)),
    }
}

/// `?` placeholders → `$1`, `$2`, … (the shared SQL never has `?` elsewhere).
fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut n = 0;
    for ch in sql.chars() {
        if ch == '?' {
            n += 1;
            out.push_str(&format!("${n}"));
        } else {
            out.push(ch);
        }
    }
    out
}

/// A [`Value`] as the parameter type PostgreSQL inferred for it.
fn arg(v: &Value, ty: &Type) -> Result<Box<dyn ToSql + Sync>> {
    let bad = || StoreError::Database(format!("value {v:?} does not fit a {ty} parameter"));
    let text = match v {
        Value::Null => None,
        other => Some(other.render()),
    };
    Ok(match *ty {
        Type::INT2 => Box::new(v.as_int().map(i16::try_from).transpose().map_err(|_| bad())?),
        Type::INT4 => Box::new(v.as_int().map(i32::try_from).transpose().map_err(|_| bad())?),
        Type::INT8 => Box::new(v.as_int()),
        Type::BOOL => Box::new(v.as_int().map(|i| i != 0)),
        Type::NUMERIC => Box::new(text.map(|t| Decimal::from_str(&t)).transpose().map_err(|_| bad())?),
        Type::DATE => {
            Box::new(text.map(|t| chrono::NaiveDate::parse_from_str(&t, "%Y-%m-%d")).transpose().map_err(|_| bad())?)
        }
        _ => Box::new(text),
    })
}

/// A column of a result row as a [`Value`].
fn column(row: &tokio_postgres::Row, i: usize) -> Result<Value> {
    let ty = row.columns()[i].type_().clone();
    let get_err = |e: tokio_postgres::Error| StoreError::Database(message(&e));
    Ok(match ty {
        Type::INT2 => row.try_get::<_, Option<i16>>(i).map_err(get_err)?.map(i64::from).map_or(Value::Null, Value::Int),
        Type::INT4 => row.try_get::<_, Option<i32>>(i).map_err(get_err)?.map(i64::from).map_or(Value::Null, Value::Int),
        Type::INT8 => row.try_get::<_, Option<i64>>(i).map_err(get_err)?.map_or(Value::Null, Value::Int),
        Type::BOOL => row.try_get::<_, Option<bool>>(i).map_err(get_err)?.map_or(Value::Null, |b| Value::Int(b.into())),
        Type::NUMERIC => row
            .try_get::<_, Option<Decimal>>(i)
            .map_err(get_err)?
            .map_or(Value::Null, |d| Value::Text(crate::values::amount::canonical(d))),
        Type::DATE => row
            .try_get::<_, Option<chrono::NaiveDate>>(i)
            .map_err(get_err)?
            .map_or(Value::Null, |d| Value::Text(d.format("%Y-%m-%d").to_string())),
        _ => row.try_get::<_, Option<String>>(i).map_err(get_err)?.map_or(Value::Null, Value::Text),
    })
}

/// The rows of a result as [`Row`]s.
fn rows(rows: Vec<tokio_postgres::Row>) -> Result<Vec<Row>> {
    rows.iter()
        .map(|r| {
            let mut row = Row::new();
            for (i, c) in r.columns().iter().enumerate() {
                row.insert(c.name().to_string(), column(r, i)?);
            }
            Ok(row)
        })
        .collect()
}

impl SqlConn for PgTx<'_> {
    fn cache(&mut self) -> &mut TxCache {
        &mut self.cache
    }

    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn fetch(&mut self, sql: &str, args: &[Value]) -> Result<Vec<Row>> {
        Ok(self.fetch_many(&[(sql, args)])?.pop().unwrap_or_default())
    }

    fn fetch_many(&mut self, queries: &[(&str, &[Value])]) -> Result<Vec<Vec<Row>>> {
        let ops: Vec<_> = queries.iter().map(|(sql, args)| (*sql, *args, Want::Rows)).collect();
        self.run(&ops, false)?
            .into_iter()
            .map(|a| match a {
                Answer::Rows(r) => rows(r),
                Answer::Count(_) => Ok(Vec::new()),
            })
            .collect()
    }

    fn execute(&mut self, sql: &str, args: &[Value]) -> Result<u64> {
        Ok(match self.run(&[(sql, args, Want::Count)], false)?.pop() {
            Some(Answer::Count(n)) => n,
            Some(Answer::Rows(r)) => r.len() as u64,
            None => 0,
        })
    }

    fn defer(&mut self, sql: &str, args: &[Value]) -> Result<()> {
        self.pending.push((sql.to_string(), args.to_vec()));
        Ok(())
    }

    fn insert(&mut self, sql: &str, args: &[Value]) -> Result<i64> {
        let rows = self.fetch(&format!("{sql} RETURNING id"), args)?;
        rows.first()
            .and_then(|r| super::int(r, "id"))
            .ok_or_else(|| StoreError::Database("INSERT returned no id".into()))
    }

    fn batch(&mut self, sql: &str) -> Result<()> {
        self.run(&[], false)?;
        let client = &self.conn.client;
        self.conn.runtime.block_on(async {
            client.batch_execute(sql).await.map_err(err)?;
            // Rows inserted with explicit ids do not move the identity sequences: move them past,
            // never back (a script that deleted the highest row must not make its id free again).
            for t in schema::table_names() {
                client
                    .execute(
                        &format!(
                            "SELECT setval(pg_get_serial_sequence('{t}', 'id'), GREATEST(COALESCE((SELECT MAX(id) FROM {t}), 0) + 1, \
                             nextval(pg_get_serial_sequence('{t}', 'id'))), false)"
                        ),
                        &[],
                    )
                    .await
                    .map_err(err)?;
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::numbered;

    #[test]
    fn placeholders_are_numbered() {
        assert_eq!(numbered("SELECT * FROM t WHERE a = ? AND b = ?"), "SELECT * FROM t WHERE a = $1 AND b = $2");
    }
}
