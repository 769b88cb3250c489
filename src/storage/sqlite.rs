//! The embedded SQLite backend.
//!
//! One writer thread owns the connection. Requests arrive as jobs; the thread runs every job that
//! is waiting inside one transaction, each job in its own savepoint (so each request is still
//! all-or-nothing), then commits once with `synchronous=FULL` and only then answers them all.
//! One fsync serves many requests: that is how durable commits reach thousands per second.

use super::{AuditEntry, AuditEvent, Reference, Repo, Result, Row, StoreError, Table, User, Value};
use crate::catalogue::params::RefKind;
use rusqlite::{Connection, OptionalExtension, params_from_iter, types::ValueRef};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Most jobs committed together; bounds the latency one commit adds to the first job.
const MAX_BATCH: usize = 512;

type Deliver = Box<dyn FnOnce(Result<()>) + Send>;

/// A unit of work for the writer thread, type-erased.
trait Job: Send {
    /// Runs against the open savepoint; returns whether to keep its writes and how to answer
    /// once the commit's fate is known.
    fn run(self: Box<Self>, repo: &mut SqliteRepo<'_>) -> (bool, Deliver);
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
    F: FnOnce(&mut dyn Repo) -> Result<(T, bool)> + Send + 'static,
{
    fn run(self: Box<Self>, repo: &mut SqliteRepo<'_>) -> (bool, Deliver) {
        let reply = self.reply;
        match (self.f)(repo) {
            Ok((value, keep)) => (
                keep,
                Box::new(move |committed| {
                    let _ = reply.send(committed.map(|()| value));
                }),
            ),
            Err(e) => (
                false,
                Box::new(move |_| {
                    let _ = reply.send(Err(e));
                }),
            ),
        }
    }

    fn fail(self: Box<Self>, err: StoreError) {
        let _ = self.reply.send(Err(err));
    }
}

/// Handle to the writer thread. Cloning shares the thread.
#[derive(Clone)]
pub struct SqliteStore {
    jobs: mpsc::Sender<Box<dyn Job>>,
    path: Arc<str>,
    _thread: Arc<WriterThread>,
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

fn db_err(e: rusqlite::Error) -> StoreError {
    StoreError::Database(e.to_string())
}

/// Opens a connection with the settings every morapi connection uses, and migrates.
pub fn connect(path: &str) -> Result<Connection> {
    let conn = Connection::open(path).map_err(db_err)?;
    conn.busy_timeout(Duration::from_secs(10)).map_err(db_err)?;
    conn.pragma_update(None, "journal_mode", "WAL").map_err(db_err)?;
    conn.pragma_update(None, "synchronous", "FULL").map_err(db_err)?;
    conn.set_prepared_statement_cache_capacity(512);
    conn.execute_batch(include_str!("schema_sqlite.sql")).map_err(db_err)?;
    Ok(conn)
}

impl SqliteStore {
    pub fn open(path: &str) -> Result<Self> {
        let conn = connect(path)?;
        let (tx, rx) = mpsc::channel::<Box<dyn Job>>();
        let thread = std::thread::Builder::new()
            .name("morapi-sqlite-writer".into())
            .spawn(move || writer_loop(conn, rx))
            .map_err(|e| StoreError::Database(e.to_string()))?;
        Ok(SqliteStore { jobs: tx, path: path.into(), _thread: Arc::new(WriterThread(Mutex::new(Some(thread)))) })
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    pub async fn transact<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn Repo) -> Result<(T, bool)> + Send + 'static,
    {
        let (reply, rx) = tokio::sync::oneshot::channel();
        let job: Box<dyn Job> = Box::new(TypedJob { f, reply });
        self.jobs.send(job).map_err(|_| StoreError::WriterGone)?;
        rx.await.map_err(|_| StoreError::WriterGone)?
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
        run_batch(&mut conn, batch);
    }
}

/// Runs jobs in one transaction, each in a savepoint; answers after the commit.
fn run_batch(conn: &mut Connection, batch: Vec<Box<dyn Job>>) {
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        let err = db_err(e);
        for job in batch {
            job.fail(StoreError::Database(err.to_string()));
        }
        return;
    }
    let mut delivered: Vec<(bool, Deliver)> = Vec::with_capacity(batch.len());
    let mut broken: Option<StoreError> = None;
    for job in batch {
        if let Some(err) = &broken {
            job.fail(StoreError::Database(err.to_string()));
            continue;
        }
        if let Err(e) = conn.execute_batch("SAVEPOINT job") {
            let err = db_err(e);
            job.fail(StoreError::Database(err.to_string()));
            broken = Some(err);
            continue;
        }
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut repo = SqliteRepo { conn };
            job.run(&mut repo)
        }));
        let (keep, deliver) = match outcome {
            Ok(r) => r,
            Err(_) => {
                tracing::error!("a storage job panicked; its changes were rolled back");
                (false, Box::new(|_| {}) as Deliver)
            }
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
            (Err(e), true) => deliver(Err(StoreError::Database(e.to_string()))),
        }
    }
}

/// [`Repo`] over the writer's connection, inside the current savepoint.
pub struct SqliteRepo<'c> {
    conn: &'c mut Connection,
}

impl SqliteRepo<'_> {
    fn query_row(&mut self, sql: &str, args: &[&dyn rusqlite::ToSql]) -> Result<Option<Row>> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(db_err)?;
        let names: Vec<String> = stmt.column_names().iter().map(|s| s.to_string()).collect();
        stmt.query_row(args, |r| {
            let mut row = Row::new();
            for (i, name) in names.iter().enumerate() {
                row.insert(name.clone(), from_sql(r.get_ref(i)?));
            }
            Ok(row)
        })
        .optional()
        .map_err(db_err)
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

/// Column names come from the catalogue, never from a request, but check anyway: they are
/// spliced into SQL.
fn checked_column(col: &str) -> Result<&str> {
    if !col.is_empty() && col.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
        Ok(col)
    } else {
        Err(StoreError::Database(format!("invalid column name {col:?}")))
    }
}

impl Repo for SqliteRepo<'_> {
    fn user_by_username(&mut self, username: &str) -> Result<Option<User>> {
        Ok(self.query_row("SELECT * FROM users WHERE username = ?1", &[&username])?.map(User::from_row))
    }

    fn user_by_id(&mut self, id: i64) -> Result<Option<User>> {
        Ok(self.query_row("SELECT * FROM users WHERE id = ?1", &[&id])?.map(User::from_row))
    }

    fn setting(&mut self, owner_id: i64, name: &str) -> Result<Option<String>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT value FROM conflines WHERE owner_id = ?1 AND name = ?2")
            .map_err(db_err)?;
        stmt.query_row(rusqlite::params![owner_id, name], |r| r.get::<_, String>(0)).optional().map_err(db_err)
    }

    fn reference(&mut self, kind: RefKind, id: i64) -> Result<Option<Reference>> {
        let sql = match kind {
            RefKind::Tariff => "SELECT id, owner_id, purpose FROM tariffs WHERE id = ?1",
            RefKind::Lcr => "SELECT id, user_id, '' FROM lcrs WHERE id = ?1",
            RefKind::PbxPool => "SELECT id, owner_id, '' FROM pbx_pools WHERE id = ?1",
            RefKind::QuickforwardRule => "SELECT id, user_id, '' FROM quickforwards_rules WHERE id = ?1",
            RefKind::Currency => "SELECT id, 0, name FROM currencies WHERE id = ?1",
            RefKind::Direction => "SELECT id, 0, name FROM directions WHERE id = ?1",
            RefKind::SoundFile => "SELECT id, user_id, '' FROM ivr_sound_files WHERE id = ?1",
            RefKind::Device => "SELECT id, user_id, '' FROM devices WHERE id = ?1",
            RefKind::NumberPool => "SELECT id, owner_id, '' FROM number_pools WHERE id = ?1",
            RefKind::AccGroup => "SELECT id, owner_id, group_type FROM acc_groups WHERE id = ?1",
        };
        let mut stmt = self.conn.prepare_cached(sql).map_err(db_err)?;
        stmt.query_row([id], |r| Ok(Reference { id: r.get(0)?, owner_id: r.get(1)?, kind: r.get(2)?, hidden: false }))
            .optional()
            .map_err(db_err)
    }

    fn group_right(&mut self, group_id: i64, right: &str) -> Result<(i64, bool)> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT COALESCE((SELECT gr.value FROM acc_group_rights gr JOIN acc_rights r \
                 ON r.id = gr.acc_right_id WHERE gr.acc_group_id = g.id AND r.name = ?2), 0), \
                 g.only_view FROM acc_groups g WHERE g.id = ?1",
            )
            .map_err(db_err)?;
        let found = stmt
            .query_row(rusqlite::params![group_id, right], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)? != 0)))
            .optional()
            .map_err(db_err)?;
        Ok(found.unwrap_or((0, false)))
    }

    fn username_taken(&mut self, username: &str, except_user_id: i64) -> Result<bool> {
        let mut stmt =
            self.conn.prepare_cached("SELECT 1 FROM users WHERE username = ?1 AND id <> ?2").map_err(db_err)?;
        stmt.exists(rusqlite::params![username, except_user_id]).map_err(db_err)
    }

    fn email_in_use(&mut self, email: &str, except_address_id: Option<i64>) -> Result<bool> {
        // A row may hold several addresses separated by `;`: find candidates, then compare exactly.
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id, email FROM addresses WHERE email LIKE '%' || ?1 || '%' ESCAPE '\\'")
            .map_err(db_err)?;
        let pattern = email.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        let rows =
            stmt.query_map([pattern], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Option<String>>(1)?))).map_err(db_err)?;
        for row in rows {
            let (id, stored) = row.map_err(db_err)?;
            if Some(id) == except_address_id {
                continue;
            }
            let stored = stored.unwrap_or_default();
            if stored.split(';').any(|e| e.trim().eq_ignore_ascii_case(email)) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn row(&mut self, table: Table, id: i64) -> Result<Option<Row>> {
        let sql = format!("SELECT * FROM {} WHERE id = ?1", table.name());
        self.query_row(&sql, &[&id])
    }

    fn insert_row(&mut self, table: Table, values: &[(&str, Value)]) -> Result<i64> {
        let sql = if values.is_empty() {
            format!("INSERT INTO {} DEFAULT VALUES", table.name())
        } else {
            let cols = values.iter().map(|(c, _)| checked_column(c)).collect::<Result<Vec<_>>>()?;
            let marks = (1..=cols.len()).map(|i| format!("?{i}")).collect::<Vec<_>>();
            format!("INSERT INTO {} ({}) VALUES ({})", table.name(), cols.join(", "), marks.join(", "))
        };
        let mut stmt = self.conn.prepare_cached(&sql).map_err(db_err)?;
        stmt.execute(params_from_iter(values.iter().map(|(_, v)| to_sql(v)))).map_err(db_err)?;
        Ok(self.conn.last_insert_rowid())
    }

    fn update_row(&mut self, table: Table, id: i64, values: &[(&str, Value)]) -> Result<()> {
        if values.is_empty() {
            return Ok(());
        }
        let sets = values
            .iter()
            .enumerate()
            .map(|(i, (c, _))| Ok(format!("{} = ?{}", checked_column(c)?, i + 1)))
            .collect::<Result<Vec<_>>>()?;
        let sql = format!("UPDATE {} SET {} WHERE id = ?{}", table.name(), sets.join(", "), values.len() + 1);
        let mut stmt = self.conn.prepare_cached(&sql).map_err(db_err)?;
        let args = values.iter().map(|(_, v)| to_sql(v)).chain(std::iter::once(rusqlite::types::Value::Integer(id)));
        stmt.execute(params_from_iter(args)).map_err(db_err)?;
        Ok(())
    }

    fn insert_audit(&mut self, e: &AuditEntry) -> Result<()> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "INSERT INTO audit_log (created_at, request_id, event, actor_id, actor_username, \
                 client_addr, endpoint, target_id, field, old_value, new_value) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )
            .map_err(db_err)?;
        stmt.execute(rusqlite::params![
            e.created_at,
            e.request_id,
            e.event.name(),
            e.actor_id,
            e.actor_username,
            e.client_addr,
            e.endpoint,
            e.target_id,
            e.field,
            e.old_value,
            e.new_value
        ])
        .map_err(db_err)?;
        Ok(())
    }

    fn set_setting(&mut self, owner_id: i64, name: &str, value: &str) -> Result<()> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "INSERT INTO conflines (name, value, owner_id) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (owner_id, name) DO UPDATE SET value = excluded.value",
            )
            .map_err(db_err)?;
        stmt.execute(rusqlite::params![name, value, owner_id]).map_err(db_err)?;
        Ok(())
    }

    fn user_count(&mut self) -> Result<i64> {
        self.conn.query_row("SELECT COUNT(*) FROM users", [], |r| r.get(0)).map_err(db_err)
    }

    fn execute_script(&mut self, sql: &str) -> Result<()> {
        self.conn.execute_batch(sql).map_err(db_err)
    }

    fn audit_entries(&mut self) -> Result<Vec<AuditEntry>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT created_at, request_id, event, actor_id, actor_username, client_addr, \
                 endpoint, target_id, field, old_value, new_value FROM audit_log ORDER BY id",
            )
            .map_err(db_err)?;
        let rows = stmt
            .query_map([], |r| {
                let event: String = r.get(2)?;
                Ok(AuditEntry {
                    created_at: r.get(0)?,
                    request_id: r.get(1)?,
                    event: if event == "change" { AuditEvent::Change } else { AuditEvent::HashRefused },
                    actor_id: r.get(3)?,
                    actor_username: r.get(4)?,
                    client_addr: r.get(5)?,
                    endpoint: r.get(6)?,
                    target_id: r.get(7)?,
                    field: r.get(8)?,
                    old_value: r.get(9)?,
                    new_value: r.get(10)?,
                })
            })
            .map_err(db_err)?;
        rows.collect::<std::result::Result<Vec<_>, _>>().map_err(db_err)
    }
}
