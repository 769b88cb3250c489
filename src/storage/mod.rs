//! Storage: the port every database engine implements ([`RequestStore`] for the API,
//! [`AdminStore`] for the administration CLI; [`port`]), the values that cross it ([`model`]),
//! and the engine chosen from the database URL ([`Database`]).
//!
//! One SQL implementation serves every engine ([`sql`]); each engine only supplies a connection
//! and decides how transactions reach its database (SQLite: one writer thread committing groups
//! of requests; PostgreSQL and MariaDB: a pool with retries, [`pool`]). Storage imports nothing
//! of the domain: only the shared value rules ([`crate::values`]).

mod address_emails;
#[cfg(feature = "sqlite")]
pub mod backup;
pub mod demo;
mod error;
pub mod model;
#[cfg(feature = "mysql")]
pub mod mysql;
pub mod pool;
pub mod port;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod schema;
#[cfg(feature = "testing")]
pub mod scratch;
pub mod sql;
#[cfg(feature = "sqlite")]
pub mod sqlite;
#[cfg(any(feature = "postgres", feature = "mysql"))]
pub mod tls;

pub use pool::PoolOptions;

pub use error::{Result, StoreError};
pub use model::*;
pub use port::{AdminStore, RequestStore, Tx};

/// The engines a database URL can name, by its scheme, whether or not this build has them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
    Mysql,
}

impl Engine {
    /// The engine `url` names (`sqlite://`, `postgres://`/`postgresql://`, `mysql://`/`mariadb://`).
    pub fn of(url: &str) -> Option<Engine> {
        match url.split_once("://")?.0 {
            "sqlite" => Some(Engine::Sqlite),
            "postgres" | "postgresql" => Some(Engine::Postgres),
            "mysql" | "mariadb" => Some(Engine::Mysql),
            _ => None,
        }
    }
}

/// The file path of a `sqlite://PATH` URL (`None` for any other engine).
pub fn sqlite_path(url: &str) -> Option<&str> {
    url.strip_prefix("sqlite://")
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

/// Where a URL leads: the engine and what it needs, checked once for every use of a URL.
enum Target {
    #[cfg(feature = "sqlite")]
    Sqlite(String),
    #[cfg(feature = "postgres")]
    Postgres(String),
    #[cfg(feature = "mysql")]
    Mysql(String),
}

impl Target {
    /// `sqlite://PATH`, `postgres://…` or `mysql://…` ([`Engine::of`]). Anything else is
    /// refused, never a silent fallback; so is an engine this build left out, naming its cargo
    /// feature.
    fn of(url: &str) -> Result<Self> {
        match Engine::of(url) {
            #[cfg(feature = "sqlite")]
            Some(Engine::Sqlite) => {
                let path = sqlite_path(url).unwrap_or_default();
                if path.is_empty() {
                    return Err(StoreError::Config("sqlite:// URL needs a file path, e.g. sqlite://morapi.db".into()));
                }
                Ok(Target::Sqlite(path.to_string()))
            }
            #[cfg(not(feature = "sqlite"))]
            Some(Engine::Sqlite) => Err(left_out("SQLite", "sqlite", url)),
            #[cfg(feature = "postgres")]
            Some(Engine::Postgres) => Ok(Target::Postgres(url.to_string())),
            #[cfg(not(feature = "postgres"))]
            Some(Engine::Postgres) => Err(left_out("PostgreSQL", "postgres", url)),
            #[cfg(feature = "mysql")]
            Some(Engine::Mysql) => Ok(Target::Mysql(url.replacen("mariadb://", "mysql://", 1))),
            #[cfg(not(feature = "mysql"))]
            Some(Engine::Mysql) => Err(left_out("MariaDB/MySQL", "mysql", url)),
            None => Err(StoreError::Config(format!(
                "unsupported database URL {:?}: use sqlite://PATH, postgres://USER@HOST/DB or mysql://USER@HOST/DB",
                redact(url)
            ))),
        }
    }
}

impl Database {
    /// Opens the database at `url` with default pool options: an empty database gets the
    /// schema, an older or newer one is refused ([`schema::Policy::Current`]).
    pub fn open(url: &str) -> Result<Self> {
        Self::open_with(url, PoolOptions::default())
    }

    /// Opens the database at `url` (`sqlite://PATH`, `postgres://…` or `mysql://…`, see
    /// [`Target`]), doing to its schema what `options.schema` allows ([`schema::Policy`]).
    #[cfg_attr(not(any(feature = "postgres", feature = "mysql")), allow(unused_variables))]
    pub fn open_with(url: &str, options: PoolOptions) -> Result<Self> {
        match Target::of(url)? {
            #[cfg(feature = "sqlite")]
            Target::Sqlite(path) => {
                let (store, report) = sqlite::SqliteStore::open(&path, options.schema, options.lock_timeout)?;
                schema::log(&report);
                Ok(Database::Sqlite(store))
            }
            #[cfg(feature = "postgres")]
            Target::Postgres(url) => Ok(Database::Postgres(postgres::open(&url, options)?)),
            #[cfg(feature = "mysql")]
            Target::Mysql(url) => Ok(Database::Mysql(mysql::open(&url, options)?)),
        }
    }

    /// Applies `policy` to the schema of the database at `url` on one connection, without
    /// opening a pool or a writer, and says what it found and did (`morapi migrate`).
    /// [`schema::Policy::Inspect`] changes nothing, not even a missing SQLite file.
    #[cfg_attr(not(any(feature = "sqlite", feature = "postgres", feature = "mysql")), allow(unused_variables))]
    pub fn migrate(url: &str, options: PoolOptions, policy: schema::Policy) -> Result<schema::Report> {
        match Target::of(url)? {
            #[cfg(feature = "sqlite")]
            Target::Sqlite(path) => {
                if policy == schema::Policy::Inspect && !std::path::Path::new(&path).exists() {
                    return Ok(schema::Report { found: schema::Found::Empty, applied: Vec::new() });
                }
                sqlite::connect_with(&path, policy, options.lock_timeout).map(|(_, report)| report)
            }
            #[cfg(feature = "postgres")]
            Target::Postgres(url) => postgres::migrate_only(&url, options, policy),
            #[cfg(feature = "mysql")]
            Target::Mysql(url) => mysql::migrate_only(&url, options, policy),
        }
    }

    /// Runs an API request's work `f` in one transaction on the request port. `f` decides
    /// whether its writes are kept ([`Tx`]); a storage error discards them. The answer is
    /// delivered only after a kept change is durable. `f` may run more than once when a server
    /// engine reports a conflict.
    pub async fn transact<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: Fn(&mut dyn RequestStore) -> Result<Tx<T>> + Send + 'static,
    {
        self.administer(move |store: &mut dyn AdminStore| f(store)).await
    }

    /// [`Database::transact`] for the administration CLI, on the whole port.
    #[tracing::instrument(name = "transaction", level = "debug", skip_all, fields(engine = self.engine()))]
    #[cfg_attr(not(any(feature = "sqlite", feature = "postgres", feature = "mysql")), allow(unused_variables))]
    pub async fn administer<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: Fn(&mut dyn AdminStore) -> Result<Tx<T>> + Send + 'static,
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

    /// The longest [`Database::ready`] waits for an answer: a readiness probe must get one
    /// before its own timeout, whatever `--db-timeout` says (the shorter of the two applies).
    pub const READY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

    /// Whether the database serves now (`/ready`): one real round trip, within
    /// [`Database::READY_TIMEOUT`]. PostgreSQL and MariaDB: `SELECT 1` (a ping) on a pooled
    /// connection; SQLite: a read in a transaction of the writer thread, on the file it opened.
    #[cfg_attr(not(any(feature = "sqlite", feature = "postgres", feature = "mysql")), allow(unused_variables))]
    pub async fn ready(&self) -> Result<()> {
        match *self {
            #[cfg(feature = "sqlite")]
            Database::Sqlite(ref s) => s.ready(Self::READY_TIMEOUT).await,
            #[cfg(feature = "postgres")]
            Database::Postgres(ref p) => pool::ready(p.clone(), Self::READY_TIMEOUT).await,
            #[cfg(feature = "mysql")]
            Database::Mysql(ref p) => pool::ready(p.clone(), Self::READY_TIMEOUT).await,
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
