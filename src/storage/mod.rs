//! Storage: the one trait every database backend implements ([`Repo`]), the values that cross it,
//! and the backend chosen from the database URL.
//!
//! [`Repo`] is synchronous and works inside a transaction the backend opened; the domain code in
//! [`crate::update`] runs against it, so every backend shares every rule. The backend decides how
//! transactions reach the database (SQLite: one writer thread committing groups of requests).

pub mod demo;
#[cfg(feature = "mysql")]
pub mod mysql;
pub mod pool;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod schema;
#[cfg(feature = "testing")]
pub mod scratch;
pub mod sql;
#[cfg(feature = "sqlite")]
pub mod sqlite;

pub use pool::PoolOptions;

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

/// The caller of an API request as the gate and the rules consult it. Only these columns are
/// read: every request reads its caller, and all ~100 columns of `users` cost a database server
/// (the field list is the whole of what the rules may know about a caller).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: i64,
    pub username: String,
    pub usertype: String,
    pub owner_id: i64,
    pub acc_group_id: i64,
    pub own_providers: i64,
}

impl Account {
    /// The columns [`Account`] is read from.
    pub const COLUMNS: &str = "id, username, usertype, owner_id, acc_group_id, own_providers";

    pub fn from_row(row: &Row) -> Self {
        Account {
            id: int(row, "id").unwrap_or_default(),
            username: text(row, "username"),
            usertype: text(row, "usertype"),
            owner_id: int(row, "owner_id").unwrap_or_default(),
            acc_group_id: int(row, "acc_group_id").unwrap_or_default(),
            own_providers: int(row, "own_providers").unwrap_or_default(),
        }
    }
}

/// A referenced record: who owns it, and (tariffs) its purpose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub id: i64,
    pub owner_id: i64,
    /// `tariffs.purpose` (`user`, `user_wholesale`, `provider`); `users.usertype` for accountants.
    pub kind: String,
}

/// The rights of a group: `acc_rights.name` → value, and whether the group is view-only.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupRights {
    pub only_view: bool,
    pub values: std::collections::HashMap<String, i64>,
}

impl GroupRights {
    /// The stored value of a right (0 when the group does not have it).
    pub fn value(&self, right: &str) -> i64 {
        self.values.get(right).copied().unwrap_or(0)
    }
}

/// The tables morapi reads and writes by name (updates, the administration CLI, read-back).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Users,
    Addresses,
    Taxes,
    Tariffs,
    Lcrs,
    Currencies,
    Directions,
    QuickforwardRules,
    PbxPools,
    NumberPools,
    SoundFiles,
    Devices,
    AccGroups,
    AccRights,
    AccGroupRights,
    Conflines,
}

impl Table {
    pub fn name(self) -> &'static str {
        match self {
            Table::Users => "users",
            Table::Addresses => "addresses",
            Table::Taxes => "taxes",
            Table::Tariffs => "tariffs",
            Table::Lcrs => "lcrs",
            Table::Currencies => "currencies",
            Table::Directions => "directions",
            Table::QuickforwardRules => "quickforwards_rules",
            Table::PbxPools => "pbx_pools",
            Table::NumberPools => "number_pools",
            Table::SoundFiles => "ivr_sound_files",
            Table::Devices => "devices",
            Table::AccGroups => "acc_groups",
            Table::AccRights => "acc_rights",
            Table::AccGroupRights => "acc_group_rights",
            Table::Conflines => "conflines",
        }
    }
}

/// Which audit rows to read (`morapi audit`); every set field narrows the result.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub target_id: Option<i64>,
    pub actor_username: Option<String>,
    pub field: Option<String>,
    pub event: Option<AuditEvent>,
    /// Inclusive lower bound of `created_at` (RFC 3339 text compares in time order).
    pub since: Option<String>,
    /// Exclusive upper bound of `created_at`.
    pub until: Option<String>,
    pub limit: Option<usize>,
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
    /// `None` is SQL NULL, a different value from the empty string.
    pub old_value: Option<String>,
    pub new_value: Option<String>,
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
    /// A deadlock, serialization failure or concurrent unique insert: worth another try.
    #[error("transaction conflict: {0}")]
    Conflict(String),
    /// The database cannot be reached or cannot serve now (connection refused or lost, a Galera
    /// node not ready, a read-only standby). Raised only where nothing can have been committed, so
    /// the work may run again on a fresh connection.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// `COMMIT` was sent and its answer was lost: the change may or may not have been applied.
    /// The pool settles it from the audit trail when it can; this is what remains when it cannot.
    #[error("commit outcome unknown: {0}")]
    CommitUnknown(String),
    #[error("{0}")]
    Config(String),
}

/// What finds an audit row through the index on `audit_log (target_id, request_id)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditKey {
    /// The target user (`None` for a refused hash).
    pub target_id: Option<i64>,
    pub request_id: String,
}

/// What a transaction wrote, kept so that a commit whose answer was lost can be settled: every
/// audited change writes audit rows carrying its request id in the same transaction, so finding
/// them proves the commit happened.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Written {
    /// Whether the transaction sent (or held back) any write at all.
    pub any: bool,
    /// An audit row it wrote, if it wrote any.
    pub audit: Option<AuditKey>,
    /// Users it locked (`FOR UPDATE`): until a lost commit has ended, its locks are held, so
    /// taking them again waits for its outcome.
    pub locked_users: Vec<i64>,
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// Everything the domain reads and writes, inside one transaction. One implementation per engine;
/// all of them pass the shared suite in `tests/storage.rs`.
pub trait Repo {
    /// Reads ahead what every API request reads first: the caller named by `u` with the settings
    /// the gate may consult, and for an update the target row, locked until the transaction ends.
    /// A server engine answers them in one round trip; the later reads come from the
    /// transaction's cache. The lock is taken before the caller is authenticated, and a refused
    /// request releases it when its transaction ends (docs/decisions.md).
    fn preload(&mut self, caller: &str, lock_target: Option<i64>) -> Result<()>;
    fn user_by_username(&mut self, username: &str) -> Result<Option<User>>;
    /// The caller named by `u`: the [`Account`] columns of the user with that username.
    fn account(&mut self, username: &str) -> Result<Option<Account>>;
    fn user_by_id(&mut self, id: i64) -> Result<Option<User>>;
    /// The user, locked against concurrent changes until the transaction ends (the target of an
    /// update: its old values in the audit trail must be the ones really replaced).
    fn user_for_update(&mut self, id: i64) -> Result<Option<User>>;
    /// A setting of an owner (0 = admin/global); `None` when never set.
    fn setting(&mut self, owner_id: i64, name: &str) -> Result<Option<String>>;
    fn reference(&mut self, kind: RefKind, id: i64) -> Result<Option<Reference>>;
    /// Every right of an accountant/reseller group, in one read (empty for a missing group).
    fn group_rights(&mut self, group_id: i64) -> Result<GroupRights>;
    /// The value of one group right (0 when absent) and the group's `only_view` flag.
    fn group_right(&mut self, group_id: i64, right: &str) -> Result<(i64, bool)> {
        let rights = self.group_rights(group_id)?;
        Ok((rights.value(right), rights.only_view))
    }
    fn username_taken(&mut self, username: &str, except_user_id: i64) -> Result<bool>;
    /// Whether `email` (one address, compared case-insensitively) is used by an address row other
    /// than `except_address_id`.
    fn email_in_use(&mut self, email: &str, except_address_id: Option<i64>) -> Result<bool>;
    fn row(&mut self, table: Table, id: i64) -> Result<Option<Row>>;
    fn insert_row(&mut self, table: Table, values: &[(&str, Value)]) -> Result<i64>;
    fn update_row(&mut self, table: Table, id: i64, values: &[(&str, Value)]) -> Result<()>;
    /// Writes audit rows, all in one statement.
    fn insert_audit(&mut self, entries: &[AuditEntry]) -> Result<()>;
    /// Whether an audit row with this key is committed (proves or settles a commit).
    fn audited(&mut self, key: &AuditKey) -> Result<bool>;
    fn set_setting(&mut self, owner_id: i64, name: &str, value: &str) -> Result<()>;
    /// The whole audit trail, oldest first (tests and the benchmark).
    #[cfg(feature = "testing")]
    fn audit_entries(&mut self) -> Result<Vec<AuditEntry>>;
    /// Audit rows matching `filter`, newest first.
    fn audit_query(&mut self, filter: &AuditFilter) -> Result<Vec<AuditEntry>>;
    /// Rows of `table` whose columns equal the given values (all rows when empty), by id.
    fn list_rows(&mut self, table: Table, filter: &[(&str, Value)]) -> Result<Vec<Row>>;
    /// Deletes a row by id; whether it existed.
    fn delete_row(&mut self, table: Table, id: i64) -> Result<bool>;
    fn user_count(&mut self) -> Result<i64>;
    /// Runs trusted SQL statements shipped with morapi (the demo dataset).
    fn execute_script(&mut self, sql: &str) -> Result<()>;
}

/// A database chosen from its URL. Each variant exists only with its engine's cargo feature.
#[derive(Clone)]
pub enum Database {
    #[cfg(feature = "sqlite")]
    Sqlite(sqlite::SqliteStore),
    #[cfg(feature = "postgres")]
    Postgres(std::sync::Arc<pool::Pool<postgres::PgManager>>),
    #[cfg(feature = "mysql")]
    Mysql(std::sync::Arc<pool::Pool<mysql::MyManager>>),
}

/// The refusal of a URL whose engine this build left out.
#[cfg(not(all(feature = "sqlite", feature = "postgres", feature = "mysql")))]
fn left_out(engine: &str, feature: &str, url: &str) -> StoreError {
    StoreError::Config(format!(
        "cannot open {:?}: this morapi was built without {engine} support (cargo feature `{feature}`)",
        redact(url)
    ))
}

impl Database {
    /// Opens (creating and migrating when needed) the database at `url` with default pool
    /// options.
    pub fn open(url: &str) -> Result<Self> {
        Self::open_with(url, PoolOptions::default())
    }

    /// Opens (creating and migrating when needed) the database at `url`: `sqlite://PATH`,
    /// `postgres://…` or `mysql://…`. Anything else is refused, never a silent fallback; so is an
    /// engine this build left out, naming its cargo feature.
    #[cfg_attr(not(any(feature = "postgres", feature = "mysql")), allow(unused_variables))]
    pub fn open_with(url: &str, options: PoolOptions) -> Result<Self> {
        let scheme = url.split_once("://").map(|(s, _)| s).unwrap_or_default();
        match scheme {
            #[cfg(feature = "sqlite")]
            "sqlite" => {
                let path = &url["sqlite://".len()..];
                if path.is_empty() {
                    return Err(StoreError::Config("sqlite:// URL needs a file path, e.g. sqlite://morapi.db".into()));
                }
                Ok(Database::Sqlite(sqlite::SqliteStore::open(path)?))
            }
            #[cfg(not(feature = "sqlite"))]
            "sqlite" => Err(left_out("SQLite", "sqlite", url)),
            #[cfg(feature = "postgres")]
            "postgres" | "postgresql" => Ok(Database::Postgres(postgres::open(url, options)?)),
            #[cfg(not(feature = "postgres"))]
            "postgres" | "postgresql" => Err(left_out("PostgreSQL", "postgres", url)),
            #[cfg(feature = "mysql")]
            "mysql" | "mariadb" => {
                let url = url.replacen("mariadb://", "mysql://", 1);
                Ok(Database::Mysql(mysql::open(&url, options)?))
            }
            #[cfg(not(feature = "mysql"))]
            "mysql" | "mariadb" => Err(left_out("MariaDB/MySQL", "mysql", url)),
            _ => Err(StoreError::Config(format!(
                "unsupported database URL {:?}: use sqlite://PATH, postgres://USER@HOST/DB or mysql://USER@HOST/DB",
                redact(url)
            ))),
        }
    }

    /// Runs `f` in a transaction. `f` returns the answer and whether to keep its writes; a storage
    /// error discards them. The answer is delivered only after a kept change is durable. `f` may
    /// run more than once when a server engine reports a conflict.
    #[cfg_attr(not(any(feature = "sqlite", feature = "postgres", feature = "mysql")), allow(unused_variables))]
    pub async fn transact<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: Fn(&mut dyn Repo) -> Result<(T, bool)> + Send + 'static,
    {
        match *self {
            #[cfg(feature = "sqlite")]
            Database::Sqlite(ref s) => s.transact(f).await,
            #[cfg(feature = "postgres")]
            Database::Postgres(ref p) => pool::transact(p.clone(), f).await,
            #[cfg(feature = "mysql")]
            Database::Mysql(ref p) => pool::transact(p.clone(), f).await,
        }
    }

    /// Which engine this is, for messages.
    pub fn engine(&self) -> &'static str {
        match *self {
            #[cfg(feature = "sqlite")]
            Database::Sqlite(_) => "sqlite",
            #[cfg(feature = "postgres")]
            Database::Postgres(_) => "postgres",
            #[cfg(feature = "mysql")]
            Database::Mysql(_) => "mysql",
        }
    }
}

/// A URL safe to print: the password, if any, replaced by `***`.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let (authority, tail) = match rest.find(['/', '?']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None => format!("{userinfo}@{host}"),
        },
        None => authority.to_string(),
    };
    let tail = match tail.split_once("password=") {
        Some((before, after)) => {
            let rest = after.find('&').map_or("", |i| &after[i..]);
            format!("{before}password=***{rest}")
        }
        None => tail.to_string(),
    };
    format!("{scheme}://{authority}{tail}")
}

/// A driver's error message with the URL's password removed, in case the driver echoes it.
pub fn redact_message(message: &str, url: &str) -> String {
    let password = url
        .split_once("://")
        .and_then(|(_, rest)| rest.split(['/', '?']).next())
        .and_then(|auth| auth.rsplit_once('@'))
        .and_then(|(userinfo, _)| userinfo.split_once(':'))
        .map(|(_, p)| p)
        .filter(|p| !p.is_empty());
    match password {
        Some(p) => message.replace(p, "***"),
        None => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_redacted() {
        assert_eq!(redact("postgres://bob:s3cret@db:5432/billing"), "postgres://bob:***@db:5432/billing");
        assert_eq!(redact("mysql://root@127.0.0.1:3306/test"), "mysql://root@127.0.0.1:3306/test");
        assert_eq!(
            redact("postgres://db/x?user=a&password=pw&sslmode=off"),
            "postgres://db/x?user=a&password=***&sslmode=off"
        );
        assert_eq!(redact("sqlite://morapi.db"), "sqlite://morapi.db");
        assert_eq!(redact_message("bad password s3cret", "postgres://bob:s3cret@db/x"), "bad password ***");
    }

    #[test]
    fn unknown_schemes_are_refused_without_the_password() {
        let e = Database::open("oracle://scott:tiger@db/x").err().map(|e| e.to_string());
        let e = e.unwrap_or_default();
        assert!(e.contains("unsupported database URL"), "{e}");
        assert!(!e.contains("tiger"), "{e}");
        assert!(Database::open("morapi.db").is_err());
        assert!(Database::open("sqlite://").is_err());
    }
}
