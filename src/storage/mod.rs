//! Storage: the one trait every database backend implements ([`Repo`]), the values that cross it,
//! and the backend chosen from the database URL.
//!
//! [`Repo`] is synchronous and works inside a transaction the backend opened; the domain code in
//! [`crate::update`] runs against it, so every backend shares every rule. The backend decides how
//! transactions reach the database (SQLite: one writer thread committing groups of requests).

pub mod demo;
pub mod schema;
pub mod sql;
pub mod sqlite;

use crate::catalogue::params::RefKind;
use std::collections::BTreeMap;

/// A database value as the domain sees it. Decimals travel as canonical text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Null,
    Int(i64),
    Text(String),
}

impl Value {
    /// The value as shown in the audit trail and in read-back answers (NULL is empty).
    pub fn render(&self) -> String {
        match self {
            Value::Null => String::new(),
            Value::Int(i) => i.to_string(),
            Value::Text(s) => s.clone(),
        }
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Text(s) => s.trim().parse().ok(),
            Value::Null => None,
        }
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_string())
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}

/// A whole row, column name → value.
pub type Row = BTreeMap<String, Value>;

/// Reads a column of a row as an integer (absent or NULL → `None`).
pub fn int(row: &Row, col: &str) -> Option<i64> {
    row.get(col).and_then(Value::as_int)
}

/// Reads a column of a row as text (absent or NULL → empty).
pub fn text(row: &Row, col: &str) -> String {
    row.get(col).map(Value::render).unwrap_or_default()
}

/// A billing user (`users` row) with the columns the rules consult by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub usertype: String,
    pub owner_id: i64,
    pub row: Row,
}

impl User {
    pub fn from_row(row: Row) -> Self {
        User {
            id: int(&row, "id").unwrap_or_default(),
            username: text(&row, "username"),
            usertype: text(&row, "usertype"),
            owner_id: int(&row, "owner_id").unwrap_or_default(),
            row,
        }
    }

    pub fn int(&self, col: &str) -> Option<i64> {
        int(&self.row, col)
    }
}

/// A referenced record: who owns it, and (tariffs) its purpose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub id: i64,
    pub owner_id: i64,
    /// `tariffs.purpose` (`user`, `user_wholesale`, `provider`); `users.usertype` for accountants.
    pub kind: String,
    /// `users.hidden` for accountants; 0 elsewhere.
    pub hidden: bool,
}

/// The tables whose rows an update writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Users,
    Addresses,
    Taxes,
}

impl Table {
    pub fn name(self) -> &'static str {
        match self {
            Table::Users => "users",
            Table::Addresses => "addresses",
            Table::Taxes => "taxes",
        }
    }
}

/// One row of the audit trail (behaviour.md §6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub created_at: String,
    pub request_id: String,
    pub event: AuditEvent,
    pub actor_id: Option<i64>,
    pub actor_username: String,
    pub client_addr: String,
    pub endpoint: String,
    pub target_id: Option<i64>,
    pub field: String,
    pub old_value: String,
    pub new_value: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditEvent {
    Change,
    HashRefused,
}

impl AuditEvent {
    pub fn name(self) -> &'static str {
        match self {
            AuditEvent::Change => "change",
            AuditEvent::HashRefused => "hash_refused",
        }
    }
}

/// A storage failure. Never shown to clients beyond a generic message.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(String),
    #[error("the database writer has stopped")]
    WriterGone,
    #[error("{0}")]
    Config(String),
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// Everything the domain reads and writes, inside one transaction. One implementation per engine;
/// all of them pass the shared suite in `tests/storage.rs`.
pub trait Repo {
    fn user_by_username(&mut self, username: &str) -> Result<Option<User>>;
    fn user_by_id(&mut self, id: i64) -> Result<Option<User>>;
    /// The user, locked against concurrent changes until the transaction ends (the target of an
    /// update: its old values in the audit trail must be the ones really replaced).
    fn user_for_update(&mut self, id: i64) -> Result<Option<User>>;
    /// A setting of an owner (0 = admin/global); `None` when never set.
    fn setting(&mut self, owner_id: i64, name: &str) -> Result<Option<String>>;
    fn reference(&mut self, kind: RefKind, id: i64) -> Result<Option<Reference>>;
    /// The value of an accountant/reseller group right (0 when absent) and the group's
    /// `only_view` flag.
    fn group_right(&mut self, group_id: i64, right: &str) -> Result<(i64, bool)>;
    fn username_taken(&mut self, username: &str, except_user_id: i64) -> Result<bool>;
    /// Whether `email` (one address, compared case-insensitively) is used by an address row other
    /// than `except_address_id`.
    fn email_in_use(&mut self, email: &str, except_address_id: Option<i64>) -> Result<bool>;
    fn row(&mut self, table: Table, id: i64) -> Result<Option<Row>>;
    fn insert_row(&mut self, table: Table, values: &[(&str, Value)]) -> Result<i64>;
    fn update_row(&mut self, table: Table, id: i64, values: &[(&str, Value)]) -> Result<()>;
    fn insert_audit(&mut self, entry: &AuditEntry) -> Result<()>;
    fn set_setting(&mut self, owner_id: i64, name: &str, value: &str) -> Result<()>;
    /// The whole audit trail, oldest first.
    fn audit_entries(&mut self) -> Result<Vec<AuditEntry>>;
    fn user_count(&mut self) -> Result<i64>;
    /// Runs trusted SQL statements shipped with morapi (the demo dataset).
    fn execute_script(&mut self, sql: &str) -> Result<()>;
}

/// A database chosen from its URL.
#[derive(Clone)]
pub enum Database {
    Sqlite(sqlite::SqliteStore),
}

impl Database {
    /// Opens (creating and migrating when needed) the database at `url`.
    pub fn open(url: &str) -> Result<Self> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err(StoreError::Config("sqlite:// URL needs a file path, e.g. sqlite://morapi.db".into()));
            }
            return Ok(Database::Sqlite(sqlite::SqliteStore::open(path)?));
        }
        if url == "sqlite::memory:" {
            return Ok(Database::Sqlite(sqlite::SqliteStore::open(":memory:")?));
        }
        let scheme = url.split("://").next().unwrap_or_default();
        Err(StoreError::Config(format!("unsupported database URL scheme {scheme:?}: use sqlite://PATH")))
    }

    /// Runs `f` in a transaction. `f` returns the answer and whether to keep its writes; a storage
    /// error discards them. The answer is delivered only after a kept change is durable.
    pub async fn transact<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn Repo) -> Result<(T, bool)> + Send + 'static,
    {
        match self {
            Database::Sqlite(s) => s.transact(f).await,
        }
    }

    /// A URL safe to print: the path for SQLite, no credentials.
    pub fn describe(&self) -> String {
        match self {
            Database::Sqlite(s) => format!("sqlite://{}", s.path()),
        }
    }
}
