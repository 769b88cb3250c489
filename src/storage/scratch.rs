//! Test support, compiled only with the `testing` cargo feature (the crate's own tests and
//! examples turn it on; no server build has it): throwaway databases on a server, for tests and
//! benchmarks — each gets its own database, dropped afterwards, so runs never share state.

use super::{Result, StoreError};

/// The URL with its database name replaced by `name`.
fn with_database(url: &str, name: &str) -> Result<String> {
    let (scheme, rest) = url.split_once("://").ok_or_else(|| StoreError::Config(format!("not a URL: {url}")))?;
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, format!("?{q}")),
        None => (rest, String::new()),
    };
    let authority = path.split('/').next().unwrap_or_default();
    Ok(format!("{scheme}://{authority}/{name}{query}"))
}

/// Runs `f` on a plain thread (the PostgreSQL driver must not block an async worker).
fn off_runtime<T: Send>(f: impl FnOnce() -> Result<T> + Send) -> Result<T> {
    std::thread::scope(|s| s.spawn(f).join().unwrap_or_else(|_| Err(StoreError::Database("thread panicked".into()))))
}

/// Creates an empty database on the server of `server_url` and returns its URL.
pub fn create(server_url: &str) -> Result<String> {
    let name = format!("morapi_t_{:016x}", rand::random::<u64>());
    let url = with_database(server_url, &name)?;
    run(server_url, &format!("CREATE DATABASE {name}"))?;
    Ok(url)
}

/// Drops a database made by [`create`] (closing any connection still open to it).
pub fn drop(url: &str) -> Result<()> {
    let name = url.rsplit('/').next().unwrap_or_default().split('?').next().unwrap_or_default();
    if !name.starts_with("morapi_t_") {
        return Err(StoreError::Config(format!("refusing to drop {name:?}: not a scratch database")));
    }
    if url.starts_with("postgres") {
        run(url, &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    } else {
        run(url, &format!("DROP DATABASE IF EXISTS {name}"))
    }
}

/// Runs one statement against the server's default database.
fn run(url: &str, sql: &str) -> Result<()> {
    let url = url.to_string();
    let sql = sql.to_string();
    off_runtime(move || {
        if url.starts_with("postgres") {
            on_postgres(&with_database(&url, "postgres")?, &sql)
        } else {
            on_mysql(&with_database(&url.replacen("mariadb://", "mysql://", 1), "")?, &sql)
        }
    })
}

/// Connects as morapi does (so a URL's TLS parameters apply here too).
#[cfg(feature = "postgres")]
fn on_postgres(url: &str, sql: &str) -> Result<()> {
    super::postgres::connect(url)?.query_strings(sql).map(|_| ())
}

#[cfg(not(feature = "postgres"))]
fn on_postgres(_: &str, _: &str) -> Result<()> {
    Err(StoreError::Config("built without PostgreSQL support (cargo feature `postgres`)".into()))
}

#[cfg(feature = "mysql")]
fn on_mysql(url: &str, sql: &str) -> Result<()> {
    super::mysql::connect(url)?.query_strings(sql).map(|_| ())
}

#[cfg(not(feature = "mysql"))]
fn on_mysql(_: &str, _: &str) -> Result<()> {
    Err(StoreError::Config("built without MariaDB/MySQL support (cargo feature `mysql`)".into()))
}

/// The settings query of `RequestStore::preload`, for the benchmark's replay of morapi's own statements
/// (crate-private otherwise).
pub const PRELOAD_SETTINGS: &str = super::sql::PRELOAD_SETTINGS;

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn database_name_is_replaced() {
        assert_eq!(with_database("postgres://u@h:5432/test", "x").unwrap(), "postgres://u@h:5432/x");
        assert_eq!(with_database("mysql://root@h:3306/test?a=b", "x").unwrap(), "mysql://root@h:3306/x?a=b");
        assert_eq!(with_database("mysql://root@h:3306", "x").unwrap(), "mysql://root@h:3306/x");
    }
}
