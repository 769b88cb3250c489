//! MariaDB and MySQL (and MySQL-compatible engines such as TiDB, or a MariaDB Galera cluster).
//! InnoDB, utf8mb4, READ COMMITTED, one short transaction per request.
//!
//! Round trips dominate a request's time, so statements go over the text protocol with their
//! arguments rendered as safe literals: a prepared statement costs a round trip per execution.
//! `START TRANSACTION` rides with the transaction's first query, and that first query may hold
//! several statements (the reads of [`RequestStore::preload`](super::RequestStore::preload)(super::AdminStore::preload), whose one locking
//! read comes last). Every later statement, each write and `COMMIT` go one per query: when
//! Galera aborts a transaction to let a replicated one through (a brute-force abort) in the
//! middle of a multi-statement query, MariaDB runs the rest of that query outside the aborted
//! transaction, committing some writes and losing others (docs/decisions.md, "Galera").
//!
//! TLS, when the URL asks for it with the MySQL client's `ssl-mode` / `ssl-ca`, is the driver's
//! own rustls (storage/tls.rs reads the parameters); without it, the driver gets no TLS options.

use super::pool::{self, Connection, Failure, Health, Pool, PoolOptions, Transaction, Work};
use super::sql::{Dialect, SqlConn, TxCache};
use super::tls::{self, Mode, Roots, Tls};
use super::{AuditKey, Result, Row, StoreError, Value, Written, schema};
use mysql::consts::ColumnType;
use mysql::prelude::Queryable;
use mysql::{Opts, OptsBuilder, SslOpts};
use rust_decimal::Decimal;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Server error codes worth a retry: deadlock (also Galera's certification failure and
/// brute-force abort), duplicate key (a concurrent insert of the same unique value), TiDB write
/// conflicts.
const RETRYABLE: &[u16] = &[1213, 1062, 8002, 9007];

/// `ER_LOCK_WAIT_TIMEOUT`: a statement waited `innodb_lock_wait_timeout` (a row) or
/// `lock_wait_timeout` (a table's metadata) for a lock another session holds. InnoDB rolls back
/// only that statement, leaving the transaction open: the runner rolls the whole transaction back
/// before answering [`StoreError::Busy`] (`pool::attempt`). A request's is not retried (it
/// already waited); a migration statement's is, until the migration's own deadline.
const LOCK_WAIT_TIMEOUT: u16 = 1205;

/// Server error codes meaning this server cannot serve now, whatever the statement: a Galera
/// node not ready or not in the primary component (1047), shutting down (1053), read-only, so not
/// the primary (1290, 1836, 1792), the connection killed (1927) or timed out (4031). Before
/// `COMMIT` nothing was kept: the work is tried again on a fresh connection.
const NOT_READY: &[u16] = &[1047, 1053, 1290, 1792, 1836, 1927, 4031];

/// How long a starting instance waits for another one's migration.
const MIGRATION_WAIT: Duration = Duration::from_secs(120);

pub struct MyConn {
    conn: mysql::Conn,
    /// The server has `@@in_transaction` (MariaDB), so writes are guarded and commits proven
    /// (`MyRepo::commit_proven`); without it (MySQL), every write and `COMMIT` go one per query.
    guarded: bool,
    health: Health,
}

/// Opens MariaDB/MySQL connections for the pool (r2d2's `ManageConnection`).
#[derive(Clone)]
pub struct MyManager {
    target: Target,
}

/// How to connect to a URL's server.
#[derive(Clone)]
struct Target {
    opts: Opts,
    /// `ssl-mode=PREFERRED`: the same options without TLS, for a server that offers none.
    plain: Option<Opts>,
    /// What the URL's TLS parameters asked for, if any.
    tls: Option<Tls>,
}

impl Target {
    /// A driver connection, with TLS as the URL asked.
    fn open(&self) -> Result<mysql::Conn> {
        match (mysql::Conn::new(self.opts.clone()), &self.plain) {
            (Err(mysql::Error::DriverError(mysql::DriverError::TlsNotSupported)), Some(plain)) => {
                mysql::Conn::new(plain.clone()).map_err(err)
            }
            (outcome, _) => outcome.map_err(|e| self.refused(e)),
        }
    }

    /// A failure to connect: TLS's own reason (a certificate refused, no TLS offered by the
    /// server) is a refusal that waiting will not cure, said with the URL's TLS parameters.
    fn refused(&self, e: mysql::Error) -> StoreError {
        let Some(tls) = &self.tls else { return err(e) };
        let reason = match &e {
            mysql::Error::DriverError(mysql::DriverError::TlsNotSupported) => {
                return StoreError::Config(format!(
                    "the MariaDB/MySQL server does not offer TLS, which {} requires (ssl-mode=PREFERRED would fall back to plain text)",
                    tls.given
                ));
            }
            mysql::Error::TlsError(reason) => Some(reason.to_string()),
            mysql::Error::IoError(io) => tls::failure(io),
            mysql::Error::CodecError(codec) => tls::failure(codec),
            _ => None,
        };
        match reason {
            Some(reason) => tls.refused("MariaDB/MySQL", &reason),
            None => err(e),
        }
    }
}

impl r2d2::ManageConnection for MyManager {
    type Connection = MyConn;
    type Error = StoreError;

    fn connect(&self) -> Result<MyConn> {
        connect_to(&self.target)
    }

    /// One round trip. The pool does not test connections before use (see `pool`), so r2d2
    /// asks only if told to.
    fn is_valid(&self, conn: &mut MyConn) -> Result<()> {
        conn.conn.ping().map_err(err)
    }

    /// The driver cannot tell a dead connection without a round trip: broken as the runner
    /// found it.
    fn has_broken(&self, conn: &mut MyConn) -> bool {
        conn.health.is_broken()
    }
}

/// Connects, and finds out whether the server can guard writes.
fn connect_to(target: &Target) -> Result<MyConn> {
    let mut conn = target.open()?;
    let guarded = match conn.query_first::<i64, _>("SELECT @@in_transaction") {
        Ok(_) => true,
        // 1193: unknown system variable.
        Err(mysql::Error::MySqlError(ref m)) if m.code == 1193 => false,
        Err(e) => return Err(err(e)),
    };
    Ok(MyConn { conn, guarded, health: Health::default() })
}

/// One connection to the database of `url`, made exactly as the pool makes its connections
/// (TLS and session settings included), outside any pool: for tools, tests and scratch
/// databases.
pub fn connect(url: &str) -> Result<MyConn> {
    connect_to(&options(url, &PoolOptions::default())?)
}

/// A bare driver connection to the database of `url`: the URL's own options and its TLS
/// parameters, none of morapi's session settings, for code that uses the `mysql` crate itself.
pub fn driver_conn(url: &str) -> Result<mysql::Conn> {
    target(url, |builder| builder)?.open()
}

impl MyConn {
    /// Runs one statement and returns every row of its result, each value as text (`None` for
    /// NULL).
    pub fn query_strings(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>> {
        let rows: Vec<mysql::Row> = self.conn.query(sql).map_err(err)?;
        Ok(rows
            .into_iter()
            .map(|row| {
                row.unwrap()
                    .into_iter()
                    .map(|v| match v {
                        mysql::Value::NULL => None,
                        mysql::Value::Bytes(b) => Some(String::from_utf8_lossy(&b).into_owned()),
                        other => Some(other.as_sql(true)),
                    })
                    .collect()
            })
            .collect())
    }
}

fn err(e: mysql::Error) -> StoreError {
    match e {
        mysql::Error::MySqlError(ref m) if m.code == LOCK_WAIT_TIMEOUT => StoreError::Busy(e.to_string()),
        mysql::Error::MySqlError(ref m) if RETRYABLE.contains(&m.code) => StoreError::Conflict(e.to_string()),
        mysql::Error::MySqlError(ref m) if NOT_READY.contains(&m.code) => StoreError::Unavailable(e.to_string()),
        mysql::Error::MySqlError(_) => StoreError::Database(e.to_string()),
        other => StoreError::Unavailable(other.to_string()),
    }
}

/// The connection options of a URL. The URL's host is honoured: the driver's `prefer_socket`
/// (switch to the server's Unix socket after connecting to a loopback address) is off unless the
/// URL turns it on, so a local proxy or load balancer in front of the database is never bypassed.
fn options(url: &str, pool: &PoolOptions) -> Result<Target> {
    // Whole seconds only (rounded up, at least 1); row locks and metadata (table) locks alike,
    // as PostgreSQL's `lock_timeout` bounds every lock.
    let lock_wait =
        format!("SET SESSION innodb_lock_wait_timeout = {0}, lock_wait_timeout = {0}", pool.lock_timeout_seconds());
    target(url, |builder| {
        builder.tcp_connect_timeout(Some(pool.timeout)).init(vec![
            // The demo admin has id 0: an explicit 0 must not mean "next id".
            "SET SESSION sql_mode = CONCAT(@@SESSION.sql_mode, ',NO_AUTO_VALUE_ON_ZERO')",
            "SET NAMES utf8mb4",
            // Once per session, so that beginning a transaction costs no statement of its own.
            "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED",
            lock_wait.as_str(),
        ])
    })
}

/// The driver's options for a URL, with `session` applied: the MySQL client's `ssl-mode` and
/// `ssl-ca` are taken out first (storage/tls.rs) and set as the driver's TLS options.
fn target(url: &str, session: impl Fn(OptsBuilder) -> OptsBuilder) -> Result<Target> {
    let (rest, tls) = tls::split(url, &tls::MYSQL)?;
    let opts = Opts::from_url(&rest).map_err(|e| {
        StoreError::Config(format!("invalid MySQL URL: {}", super::redact_message(&e.to_string(), url)))
    })?;
    let prefer_socket = rest.contains("prefer_socket=") && opts.get_prefer_socket();
    let from_url = opts.get_ssl_opts().cloned();
    let builder = session(OptsBuilder::from_opts(opts).prefer_socket(prefer_socket));
    let Some(tls) = tls else {
        return Ok(Target { opts: builder.into(), plain: None, tls: None });
    };
    if tls.mode != Mode::Disable {
        // The driver's rustls asks for the process's default provider: make sure it is ring,
        // the only one built in, whatever else may be linked.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
    let plain = (tls.mode == Mode::Prefer).then(|| builder.clone().ssl_opts(None::<SslOpts>).into());
    let opts = builder.ssl_opts(ssl_opts(&tls, from_url)).into();
    Ok(Target { opts, plain, tls: Some(tls) })
}

/// The driver's TLS options for a mode (`None`: no TLS), keeping what the driver's own URL
/// parameters set (a client certificate, cipher suites). Without a CA file, the driver trusts
/// the compiled-in Mozilla roots (webpki-roots); with one it trusts those too (it always adds
/// them), which only matters to `VERIFY_CA` (docs/security.md).
fn ssl_opts(tls: &Tls, from_url: Option<SslOpts>) -> Option<SslOpts> {
    let base = from_url.unwrap_or_default();
    let root = match &tls.roots {
        Roots::File(path) => Some(path.clone()),
        Roots::BuiltIn => None,
    };
    match tls.mode {
        Mode::Disable => None,
        Mode::Prefer | Mode::Require => Some(base.with_danger_accept_invalid_certs(true)),
        Mode::VerifyCa => Some(base.with_root_cert_path(root).with_danger_skip_domain_validation(true)),
        Mode::VerifyFull => Some(base.with_root_cert_path(root)),
    }
}

/// Connects, applies the open policy (`options.schema`) and returns the pool.
pub fn open(url: &str, options: PoolOptions) -> Result<Arc<Pool<MyManager>>> {
    let manager = MyManager { target: self::options(url, &options)? };
    let mut first = connect_to(&manager.target)?;
    let report = migrate(&mut first, options.schema)?;
    schema::log(&report);
    drop(first);
    Ok(Pool::new(options, manager))
}

/// Applies `policy` to the schema of the database at `url` on one connection of its own, and
/// says what it found and did (`morapi migrate`).
pub fn migrate_only(url: &str, options: PoolOptions, policy: schema::Policy) -> Result<schema::Report> {
    migrate(&mut connect_to(&self::options(url, &options)?)?, policy)
}

/// The schema version recorded in the database. Needs only SELECT on `schema_migrations`.
fn found(conn: &mut mysql::Conn) -> Result<schema::Found> {
    match conn.query_first::<Option<i64>, _>("SELECT MAX(version) FROM schema_migrations") {
        Ok(v) => Ok(schema::Found::recorded(v.flatten())),
        // 1146: no such table.
        Err(mysql::Error::MySqlError(ref m)) if m.code == 1146 => Ok(schema::Found::Empty),
        Err(e) => Err(err(e)),
    }
}

/// Runs one idempotent migration statement, again while it conflicts with another node's DDL
/// (Galera runs DDL in total order and may abort a local statement for it) or meets a node that
/// is not ready, until `deadline`.
fn retried(conn: &mut mysql::Conn, sql: &str, deadline: Instant) -> Result<()> {
    loop {
        match conn.query_drop(sql) {
            Ok(()) => return Ok(()),
            Err(mysql::Error::MySqlError(ref m))
                if (RETRYABLE.contains(&m.code) || NOT_READY.contains(&m.code) || m.code == LOCK_WAIT_TIMEOUT)
                    && Instant::now() < deadline =>
            {
                tracing::debug!(code = m.code, "migration statement conflicted, retrying");
                std::thread::sleep(Duration::from_millis(50 + u64::from(rand::random::<u8>())));
            }
            Err(e) => return Err(err(e)),
        }
    }
}

/// Applies the open policy. A current schema is only read: no lock, no DDL, so a user with
/// SELECT/INSERT/UPDATE/DELETE only can start. Otherwise the schema is created or upgraded under
/// a lock. Instances starting together may do so on different Galera nodes, where `GET_LOCK` is
/// per node: the lock is a row of `schema_lock` instead, taken by a committed write, which Galera
/// certifies across the cluster (of two instances taking it at once, one commit fails and that
/// instance waits). A lock left by a crashed instance expires after a minute. Every step is
/// idempotent and retried on conflict.
fn migrate(my: &mut MyConn, policy: schema::Policy) -> Result<schema::Report> {
    let seen = found(&mut my.conn)?;
    if schema::plan(seen, policy)? == schema::Plan::Nothing {
        return Ok(schema::Report { found: seen, applied: Vec::new() });
    }
    let conn = &mut my.conn;
    let deadline = Instant::now() + MIGRATION_WAIT;
    retried(
        conn,
        "CREATE TABLE IF NOT EXISTS schema_lock (id INT NOT NULL PRIMARY KEY, holder VARCHAR(32) NOT NULL, \
         expires_at BIGINT NOT NULL) ENGINE=InnoDB",
        deadline,
    )?;
    let holder = Value::Text(format!("{:016x}", rand::random::<u64>()));
    let take = render(
        "INSERT INTO schema_lock (id, holder, expires_at) VALUES (1, ?, UNIX_TIMESTAMP() + 60) \
         ON DUPLICATE KEY UPDATE holder = IF(expires_at < UNIX_TIMESTAMP(), VALUES(holder), holder), \
         expires_at = IF(holder = VALUES(holder), VALUES(expires_at), expires_at)",
        std::slice::from_ref(&holder),
    )?;
    loop {
        retried(conn, &take, deadline)?;
        let who: Option<String> = conn.query_first("SELECT holder FROM schema_lock WHERE id = 1").map_err(err)?;
        if who.as_deref() == Some(holder.render().as_str()) {
            break;
        }
        if Instant::now() >= deadline {
            return Err(StoreError::Unavailable("another instance held the schema migration lock too long".into()));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let result = locked(my, policy, deadline);
    let release = render("DELETE FROM schema_lock WHERE id = 1 AND holder = ?", std::slice::from_ref(&holder))?;
    let released = retried(&mut my.conn, &release, deadline);
    result.and_then(|report| released.map(|()| report))
}

/// The migration's steps, under the lock: the plan made again (another instance may have
/// carried it out meanwhile), then carried out.
fn locked(my: &mut MyConn, policy: schema::Policy, deadline: Instant) -> Result<schema::Report> {
    let seen = found(&mut my.conn)?;
    let plan = schema::plan(seen, policy)?;
    if plan == schema::Plan::Nothing {
        return Ok(schema::Report { found: seen, applied: Vec::new() });
    }
    // Binary and NO PAD, so `john ` and `john` are different usernames, as on other engines.
    let version: Option<String> = my.conn.query_first("SELECT VERSION()").map_err(err)?;
    let version = version.unwrap_or_default();
    let collation = if version.contains("MariaDB") {
        "utf8mb4_nopad_bin"
    } else if version.split('.').next().and_then(|m| m.parse::<u32>().ok()).is_some_and(|m| m >= 8) {
        "utf8mb4_0900_bin"
    } else {
        schema::MYSQL_COLLATION
    };
    let applied = schema::apply(&mut Migrating { my, collation, deadline }, plan)?;
    Ok(schema::Report { found: seen, applied })
}

/// A migration under the `schema_lock` row: each statement on its own (DDL commits at once),
/// retried on conflict until `deadline`.
struct Migrating<'a> {
    my: &'a mut MyConn,
    /// The exact-comparing collation this server has, for [`schema::MYSQL_COLLATION`].
    collation: &'static str,
    deadline: Instant,
}

impl schema::Migrator for Migrating<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Mysql
    }

    fn step(&mut self, sql: &str) -> Result<()> {
        retried(&mut self.my.conn, &sql.replace(schema::MYSQL_COLLATION, self.collation), self.deadline)
    }

    /// In a transaction of its own, again while it conflicts (Galera) until the deadline.
    fn rows(&mut self, rows: fn(&mut dyn SqlConn) -> Result<()>) -> Result<()> {
        loop {
            let mut repo = MyRepo { conn: &mut *self.my, begun: false, pending: Vec::new(), cache: TxCache::default() };
            let done = rows(&mut repo).and_then(|()| repo.commit());
            if done.is_err() {
                let _ = repo.rollback();
            }
            match done {
                Err(StoreError::Conflict(e)) if Instant::now() < self.deadline => {
                    tracing::debug!(error = %e, "migration rows conflicted, retrying");
                    std::thread::sleep(Duration::from_millis(50 + u64::from(rand::random::<u8>())));
                }
                other => return other,
            }
        }
    }
}

impl Connection for MyConn {
    fn attempt<T>(&mut self, f: &Work<T>) -> std::result::Result<T, Failure<T>> {
        pool::attempt(&mut MyRepo { conn: self, begun: false, pending: Vec::new(), cache: TxCache::default() }, f)
    }

    fn health(&mut self) -> &mut Health {
        &mut self.health
    }

    /// Galera: reads wait until this node has applied every transaction the cluster committed
    /// before them. Servers without Galera's variable (MySQL) have nothing to wait for.
    fn read_causally(&mut self) -> Result<()> {
        match self.conn.query_drop("SET SESSION wsrep_sync_wait = 1") {
            Err(mysql::Error::MySqlError(ref m)) if m.code == 1193 => Ok(()),
            other => other.map_err(err),
        }
    }
}

/// One transaction on one connection, begun lazily: `START TRANSACTION` rides with the first
/// query; held-back writes wait for the next statement or the commit.
struct MyRepo<'a> {
    conn: &'a mut MyConn,
    /// Whether `START TRANSACTION` has been sent (the transaction may then hold locks or writes).
    begun: bool,
    /// Deferred statements, rendered, not sent yet.
    pending: Vec<String>,
    cache: TxCache,
}

/// What one statement answered.
struct Answer {
    rows: Vec<Row>,
    affected: u64,
    insert_id: Option<u64>,
}

impl Transaction for MyRepo<'_> {
    /// Commits. On MariaDB, a transaction that wrote audit rows commits in one query (`commit_proven`); any other sends
    /// its held-back writes one per query, then `COMMIT` alone. A deadlock answered to `COMMIT` is
    /// Galera's certification failure, which rolled back; any other failure of `COMMIT` leaves its
    /// outcome unknown.
    fn commit(&mut self) -> Result<()> {
        if self.conn.guarded
            && let Some(key) = self.cache.written().audit
        {
            return self.commit_proven(&key);
        }
        self.flush()?;
        if !std::mem::take(&mut self.begun) {
            return Ok(());
        }
        match self.conn.conn.query_drop("COMMIT") {
            Ok(()) => Ok(()),
            Err(mysql::Error::MySqlError(ref m)) if RETRYABLE.contains(&m.code) => {
                Err(StoreError::Conflict(m.to_string()))
            }
            Err(e) => Err(StoreError::CommitUnknown(e.to_string())),
        }
    }

    /// Rolls back (held-back writes are dropped unsent); a transaction never begun needs nothing.
    fn rollback(&mut self) -> Result<()> {
        self.pending.clear();
        if std::mem::take(&mut self.begun) {
            self.conn.conn.query_drop("ROLLBACK").map_err(err)?;
        }
        Ok(())
    }

    fn written(&self) -> Written {
        self.cache.written()
    }
}

impl MyRepo<'_> {
    /// Sends `parts` as one query, behind `START TRANSACTION` when the transaction has not begun;
    /// returns their answers.
    fn query(&mut self, parts: &[&str]) -> Result<Vec<Answer>> {
        let starts = !std::mem::replace(&mut self.begun, true);
        let sql = if starts { format!("START TRANSACTION;\n{}", parts.join(";\n")) } else { parts.join(";\n") };
        let answers = run(&mut self.conn.conn, &sql).map_err(|f| err(f.error))?;
        Ok(answers.into_iter().skip(usize::from(starts)).collect())
    }

    /// Sends the held-back writes, then `statements`: together only as the transaction's first
    /// query (nothing is locked yet, see the module doc), one per query after that.
    fn send(&mut self, statements: &[String]) -> Result<Vec<Answer>> {
        self.flush()?;
        if !self.begun {
            return self.query(&statements.iter().map(String::as_str).collect::<Vec<_>>());
        }
        let mut answers = Vec::with_capacity(statements.len());
        for statement in statements {
            answers.extend(self.query(&[statement])?);
        }
        Ok(answers)
    }

    /// Sends the held-back writes, one per query.
    fn flush(&mut self) -> Result<()> {
        for write in std::mem::take(&mut self.pending) {
            self.query(&[&write])?;
        }
        Ok(())
    }

    /// Sends the held-back writes and `COMMIT` in one query that cannot commit anything but this
    /// transaction, and proves that it did: `<writes>; COMMIT; SELECT <an audit row of this
    /// request>`. Every held-back write is guarded to do nothing outside a transaction (see
    /// `sql::IN_TRANSACTION`): if Galera aborts the transaction anywhere in the query, the
    /// statements after the abort run outside it and change nothing, and `COMMIT`, with no
    /// transaction left, succeeds without committing anything. The final lookup then finds no
    /// audit row of the request, which only this transaction's commit can have made, and the
    /// request is retried.
    fn commit_proven(&mut self, key: &AuditKey) -> Result<()> {
        let pending = std::mem::take(&mut self.pending);
        let (proof, args) = super::sql::audited_sql(key);
        let proof = render(proof, &args)?;
        let mut parts: Vec<&str> = Vec::with_capacity(pending.len() + 3);
        if !self.begun {
            parts.push("START TRANSACTION");
        }
        parts.extend(pending.iter().map(String::as_str));
        let commit_at = parts.len();
        parts.extend(["COMMIT", proof.as_str()]);
        let outcome = run(&mut self.conn.conn, &parts.join(";\n"));
        // Only an error the server answered says which statement failed; a lost connection
        // may have lost only the answers.
        let refused_at = match &outcome {
            Err(Failed { at, error: mysql::Error::MySqlError(m) }) => Some((*at, m.code)),
            _ => None,
        };
        // Refused before COMMIT, the transaction is still open, to be rolled back.
        self.begun = refused_at.is_some_and(|(at, _)| at < commit_at);
        match (outcome, refused_at) {
            (Ok(answers), _) if answers.last().is_some_and(|a| !a.rows.is_empty()) => Ok(()),
            (Ok(_), _) => {
                Err(StoreError::Conflict("the transaction was aborted before COMMIT; nothing was kept".into()))
            }
            (Err(f), Some((at, _))) if at < commit_at => Err(err(f.error)),
            (Err(f), Some((at, code))) if at == commit_at && RETRYABLE.contains(&code) => {
                Err(StoreError::Conflict(f.error.to_string()))
            }
            (Err(f), _) => Err(StoreError::CommitUnknown(f.error.to_string())),
        }
    }
}

/// The failure of a multi-statement query: the statement that failed (0 = the first; it says so
/// only for an error the server answered, not for a lost connection), and why.
struct Failed {
    at: usize,
    error: mysql::Error,
}

/// Runs a multi-statement query and reads every result set: the server stops at the first
/// failing statement, and its error shows only in that statement's result set.
fn run(conn: &mut mysql::Conn, sql: &str) -> std::result::Result<Vec<Answer>, Failed> {
    let mut result = conn.query_iter(sql).map_err(|error| Failed { at: 0, error })?;
    let mut answers = Vec::new();
    let mut failure = None;
    while let Some(set) = result.iter() {
        let mut answer = Answer { rows: Vec::new(), affected: set.affected_rows(), insert_id: set.last_insert_id() };
        let at = answers.len();
        for row in set {
            match row {
                Ok(row) => answer.rows.push(row_of(row)),
                Err(error) => {
                    failure.get_or_insert(Failed { at, error });
                }
            }
        }
        answers.push(answer);
    }
    failure.map_or(Ok(answers), Err)
}

/// `sql` with each `?` replaced by the next argument as a literal, in one pass, so that a `?`
/// inside a value is left alone (the shared SQL has no `?` other than placeholders).
fn render(sql: &str, args: &[Value]) -> Result<String> {
    let mut out = String::with_capacity(sql.len() + args.len() * 16);
    let mut args = args.iter();
    let mut pieces = sql.split('?');
    out.push_str(pieces.next().unwrap_or_default());
    for piece in pieces {
        let arg = args.next().ok_or_else(|| StoreError::Database(format!("too few arguments for {sql}")))?;
        out.push_str(&literal(arg));
        out.push_str(piece);
    }
    if args.next().is_some() {
        return Err(StoreError::Database(format!("too many arguments for {sql}")));
    }
    Ok(out)
}

/// A value as an SQL literal. Text goes as hex, so that no byte of it can end the literal or be
/// read as an escape; with the introducer it is a utf8mb4 string in every context (MariaDB and
/// MySQL convert it as they would a quoted string in numeric, DECIMAL and DATE contexts).
fn literal(v: &Value) -> String {
    match v {
        Value::Null => "NULL".into(),
        Value::Int(i) => i.to_string(),
        Value::Text(s) if s.is_empty() => "''".into(),
        Value::Text(s) => format!("_utf8mb4 X'{}'", hex::encode(s)),
    }
}

/// The statements of a trusted script: split at each `;` outside a quoted string or a `--`
/// comment; pieces holding only blanks and comments are dropped.
fn statements(script: &str) -> Vec<&str> {
    let bytes = script.as_bytes();
    let (mut out, mut start, mut code, mut i) = (Vec::new(), 0, false, 0);
    let mut quoted = false;
    while i < bytes.len() {
        match bytes[i] {
            b'\'' => {
                quoted = !quoted;
                code = true;
            }
            b'-' if !quoted && bytes.get(i + 1) == Some(&b'-') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b';' if !quoted => {
                if code {
                    out.push(script[start..i].trim());
                }
                (start, code) = (i + 1, false);
            }
            b if !b.is_ascii_whitespace() => code = true,
            _ => {}
        }
        i += 1;
    }
    if code {
        out.push(script[start..].trim());
    }
    out
}

/// A result row, by column name.
fn row_of(mut row: mysql::Row) -> Row {
    let columns = row.columns();
    let mut out = Row::new();
    for (i, c) in columns.iter().enumerate() {
        let v = row.take::<mysql::Value, _>(i).unwrap_or(mysql::Value::NULL);
        out.insert(c.name_str().into_owned(), value(v, c.column_type()));
    }
    out
}

/// A result value as a [`Value`]. The text protocol sends every value as text (`Bytes`): integer
/// columns become [`Value::Int`], decimals are normalised (`10.500000000000000` → `10.5`).
fn value(v: mysql::Value, ty: ColumnType) -> Value {
    match v {
        mysql::Value::NULL => Value::Null,
        mysql::Value::Int(i) => Value::Int(i),
        mysql::Value::UInt(u) => i64::try_from(u).map_or_else(|_| Value::Text(u.to_string()), Value::Int),
        mysql::Value::Float(f) => Value::Text(f.to_string()),
        mysql::Value::Double(f) => Value::Text(f.to_string()),
        mysql::Value::Bytes(b) => {
            let s = String::from_utf8_lossy(&b).into_owned();
            match ty {
                ColumnType::MYSQL_TYPE_TINY
                | ColumnType::MYSQL_TYPE_SHORT
                | ColumnType::MYSQL_TYPE_LONG
                | ColumnType::MYSQL_TYPE_LONGLONG
                | ColumnType::MYSQL_TYPE_INT24
                | ColumnType::MYSQL_TYPE_YEAR => s.parse().map_or(Value::Text(s), Value::Int),
                ColumnType::MYSQL_TYPE_NEWDECIMAL | ColumnType::MYSQL_TYPE_DECIMAL => match Decimal::from_str(&s) {
                    Ok(d) => Value::Text(crate::values::amount::canonical(d)),
                    Err(_) => Value::Text(s),
                },
                _ => Value::Text(s),
            }
        }
        mysql::Value::Date(y, m, d, ..) => Value::Text(format!("{y:04}-{m:02}-{d:02}")),
        mysql::Value::Time(neg, days, h, m, s, _) => {
            Value::Text(format!("{}{}:{m:02}:{s:02}", if neg { "-" } else { "" }, u32::from(h) + days * 24))
        }
    }
}

impl SqlConn for MyRepo<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Mysql
    }

    fn fetch(&mut self, sql: &str, args: &[Value]) -> Result<Vec<Row>> {
        Ok(self.fetch_many(&[(sql, args)])?.into_iter().next().unwrap_or_default())
    }

    /// All the queries in one round trip.
    fn fetch_many(&mut self, queries: &[(&str, &[Value])]) -> Result<Vec<Vec<Row>>> {
        if queries.is_empty() {
            return Ok(Vec::new());
        }
        let statements = queries.iter().map(|(sql, args)| render(sql, args)).collect::<Result<Vec<_>>>()?;
        let answers = self.send(&statements)?;
        if answers.len() != statements.len() {
            return Err(StoreError::Database(format!(
                "{} queries returned {} result sets",
                statements.len(),
                answers.len()
            )));
        }
        Ok(answers.into_iter().map(|a| a.rows).collect())
    }

    fn execute(&mut self, sql: &str, args: &[Value]) -> Result<u64> {
        let answers = self.send(&[render(sql, args)?])?;
        answers.last().map(|a| a.affected).ok_or_else(|| StoreError::Database("statement returned no result".into()))
    }

    /// Held back until the next statement or the commit: one round trip fewer.
    fn defer(&mut self, sql: &str, args: &[Value]) -> Result<()> {
        self.pending.push(render(sql, args)?);
        Ok(())
    }

    fn insert(&mut self, sql: &str, args: &[Value]) -> Result<i64> {
        let answers = self.send(&[render(sql, args)?])?;
        answers
            .last()
            .and_then(|a| a.insert_id)
            .and_then(|id| i64::try_from(id).ok())
            .ok_or_else(|| StoreError::Database("INSERT returned no id".into()))
    }

    /// One statement per query, like every write (see the module doc).
    fn batch(&mut self, sql: &str) -> Result<()> {
        for statement in statements(sql) {
            self.send(&[statement.to_string()])?;
        }
        Ok(())
    }

    fn cache(&mut self) -> &mut TxCache {
        &mut self.cache
    }

    fn guards_writes(&self) -> bool {
        self.conn.guarded
    }
}

#[cfg(test)]
mod tests {
    use super::{Value, literal, render, statements};

    #[test]
    fn placeholders_become_literals() {
        let sql = render("SELECT * FROM t WHERE a = ? AND b = ? AND c = ?", &[Value::Int(-5), Value::Null, "x".into()]);
        assert_eq!(sql.ok().as_deref(), Some("SELECT * FROM t WHERE a = -5 AND b = NULL AND c = _utf8mb4 X'78'"));
        assert_eq!(render("SELECT 1", &[]).ok().as_deref(), Some("SELECT 1"));
        assert!(render("SELECT ?", &[]).is_err(), "too few arguments");
        assert!(render("SELECT 1", &[Value::Int(1)]).is_err(), "too many arguments");
    }

    #[test]
    fn the_urls_host_is_honoured_unless_it_asks_for_the_socket() {
        let pool = super::PoolOptions::default();
        let opts = |url: &str| super::options(url, &pool).map(|t| t.opts.get_prefer_socket()).ok();
        assert_eq!(opts("mysql://root@127.0.0.1:3306/test"), Some(false));
        assert_eq!(opts("mysql://root@localhost/test?prefer_socket=false"), Some(false));
        assert_eq!(opts("mysql://root@127.0.0.1:3306/test?prefer_socket=true"), Some(true));
    }

    #[test]
    fn scripts_split_into_statements() {
        let script =
            "-- it's a comment; with a quote\nINSERT INTO t VALUES ('a;b', 'it''s');\n\nDELETE FROM t; -- done;\n";
        assert_eq!(
            statements(script),
            ["-- it's a comment; with a quote\nINSERT INTO t VALUES ('a;b', 'it''s')", "DELETE FROM t"]
        );
        assert_eq!(statements("SELECT 1"), ["SELECT 1"]);
        assert!(statements("-- only a comment\n ; ;").is_empty());
        assert_eq!(statements(super::super::demo::SQL).len(), super::super::demo::SQL.matches(";\n").count());
    }

    #[test]
    fn text_cannot_break_out_of_its_literal() {
        // Quote, backslash and a `?` that must not be taken for a placeholder.
        let sql = render("INSERT INTO t (a, b) VALUES (?, ?)", &["a'b\\c?".into(), Value::Int(7)]);
        assert_eq!(sql.ok().as_deref(), Some("INSERT INTO t (a, b) VALUES (_utf8mb4 X'6127625c633f', 7)"));
        assert_eq!(literal(&"".into()), "''");
        assert_eq!(literal(&"é€".into()), "_utf8mb4 X'c3a9e282ac'", "the UTF-8 bytes, lowercase");
        assert_eq!(literal(&Value::Int(i64::MIN)), "-9223372036854775808");
    }
}
