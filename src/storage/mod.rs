//! Storage: the port every database engine implements ([`RequestStore`] for the API,
//! [`AdminStore`] for the administration CLI; [`port`]), the values that cross it ([`model`]),
//! and the engine chosen from the database URL ([`Database`]).
//!
//! One SQL implementation serves every engine ([`sql`]); each engine only supplies a connection
//! and decides how transactions reach its database (SQLite: one writer thread committing groups
//! of requests; PostgreSQL and MariaDB: a pool with retries, [`pool`]). Storage imports nothing
//! of the domain: only the shared value rules ([`crate::values`]).

mod address_emails;
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
