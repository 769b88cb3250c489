//! MariaDB and MySQL (and MySQL-compatible engines such as TiDB, or Galera with one writer).
//! InnoDB, utf8mb4, READ COMMITTED, one short transaction per request; the driver caches
//! prepared statements per connection.

use super::pool::{Connection, Pool, PoolOptions, Work};
use super::sql::{Dialect, SettingsCache, SqlConn};
use super::{Result, Row, StoreError, Value, schema};
use mysql::prelude::Queryable;
use mysql::{IsolationLevel, Opts, OptsBuilder, TxOpts};
use rust_decimal::Decimal;
use std::str::FromStr;
use std::sync::Arc;

/// Server error codes worth a retry: deadlock, lock wait timeout, duplicate key (a concurrent
/// insert of the same unique value), TiDB write conflicts.
const RETRYABLE: &[u16] = &[1213, 1205, 1062, 8002, 9007];

pub struct MyConn(mysql::Conn);

fn err(e: mysql::Error) -> StoreError {
    match e {
        mysql::Error::MySqlError(ref m) if RETRYABLE.contains(&m.code) => StoreError::Conflict(e.to_string()),
        mysql::Error::MySqlError(_) => StoreError::Database(e.to_string()),
        other => StoreError::Unavailable(other.to_string()),
    }
}

/// Connects, migrates and returns the pool.
pub fn open(url: &str, options: PoolOptions) -> Result<Arc<Pool<MyConn>>> {
    let opts = Opts::from_url(url).map_err(|e| {
        StoreError::Config(format!("invalid MySQL URL: {}", super::redact_message(&e.to_string(), url)))
    })?;
    let opts: Opts = OptsBuilder::from_opts(opts)
        .tcp_connect_timeout(Some(options.timeout))
        .stmt_cache_size(Some(256))
        .init(vec![
            // The demo admin has id 0: an explicit 0 must not mean "next id".
            "SET SESSION sql_mode = CONCAT(@@SESSION.sql_mode, ',NO_AUTO_VALUE_ON_ZERO')",
            "SET NAMES utf8mb4",
        ])
        .into();
    let connect = move || mysql::Conn::new(opts.clone()).map(MyConn).map_err(err);
    let mut first = connect()?;
    migrate(&mut first.0)?;
    drop(first);
    Ok(Pool::new(options, connect))
}

/// Creates the schema under a named lock, so instances starting together do not race.
fn migrate(conn: &mut mysql::Conn) -> Result<()> {
    let got: Option<i64> = conn.query_first("SELECT GET_LOCK('morapi_migrate', 60)").map_err(err)?;
    if got != Some(1) {
        return Err(StoreError::Unavailable("could not take the migration lock".into()));
    }
    let result = (|| {
        // Binary and NO PAD, so `john ` and `john` are different usernames, as on other engines.
        let version: Option<String> = conn.query_first("SELECT VERSION()").map_err(err)?;
        let version = version.unwrap_or_default();
        let collation = if version.contains("MariaDB") {
            "utf8mb4_nopad_bin"
        } else if version.split('.').next().and_then(|m| m.parse::<u32>().ok()).is_some_and(|m| m >= 8) {
            "utf8mb4_0900_bin"
        } else {
            schema::MYSQL_COLLATION
        };
        for stmt in schema::create_statements(Dialect::Mysql) {
            conn.query_drop(stmt.replace(schema::MYSQL_COLLATION, collation)).map_err(err)?;
        }
        conn.exec_drop("INSERT IGNORE INTO schema_migrations (version) VALUES (?)", (schema::VERSION,)).map_err(err)
    })();
    let _: Option<i64> = conn.query_first("SELECT RELEASE_LOCK('morapi_migrate')").map_err(err)?;
    result
}

impl Connection for MyConn {
    fn attempt<T>(&mut self, f: &Work<T>) -> Result<T> {
        let opts = TxOpts::default().set_isolation_level(Some(IsolationLevel::ReadCommitted));
        let mut tx = self.0.start_transaction(opts).map_err(|e| err(e).before_start())?;
        let mut repo = MyRepo { tx: &mut tx, settings: SettingsCache::new() };
        let (value, keep) = f(&mut repo)?;
        if keep {
            tx.commit().map_err(err)?
        } else {
            tx.rollback().map_err(err)?
        }
        Ok(value)
    }
}

struct MyRepo<'a, 'b> {
    tx: &'a mut mysql::Transaction<'b>,
    settings: SettingsCache,
}

fn param(v: &Value) -> mysql::Value {
    match v {
        Value::Null => mysql::Value::NULL,
        Value::Int(i) => mysql::Value::Int(*i),
        Value::Text(s) => mysql::Value::Bytes(s.as_bytes().to_vec()),
    }
}

fn params(args: &[Value]) -> mysql::Params {
    if args.is_empty() { mysql::Params::Empty } else { mysql::Params::Positional(args.iter().map(param).collect()) }
}

/// A result value as a [`Value`]; decimals are normalised (`10.500000000000000` → `10.5`).
fn value(v: mysql::Value, decimal: bool) -> Value {
    match v {
        mysql::Value::NULL => Value::Null,
        mysql::Value::Int(i) => Value::Int(i),
        mysql::Value::UInt(u) => i64::try_from(u).map_or_else(|_| Value::Text(u.to_string()), Value::Int),
        mysql::Value::Float(f) => Value::Text(f.to_string()),
        mysql::Value::Double(f) => Value::Text(f.to_string()),
        mysql::Value::Bytes(b) => {
            let s = String::from_utf8_lossy(&b).into_owned();
            match (decimal, Decimal::from_str(&s)) {
                (true, Ok(d)) => Value::Text(d.normalize().to_string()),
                _ => Value::Text(s),
            }
        }
        mysql::Value::Date(y, m, d, ..) => Value::Text(format!("{y:04}-{m:02}-{d:02}")),
        mysql::Value::Time(neg, days, h, m, s, _) => {
            Value::Text(format!("{}{}:{m:02}:{s:02}", if neg { "-" } else { "" }, u32::from(h) + days * 24))
        }
    }
}

impl SqlConn for MyRepo<'_, '_> {
    fn settings_cache(&mut self) -> &mut SettingsCache {
        &mut self.settings
    }

    fn dialect(&self) -> Dialect {
        Dialect::Mysql
    }

    fn fetch(&mut self, sql: &str, args: &[Value]) -> Result<Vec<Row>> {
        let mut result = self.tx.exec_iter(sql, params(args)).map_err(err)?;
        let columns: Vec<(String, bool)> = result
            .columns()
            .as_ref()
            .iter()
            .map(|c| (c.name_str().into_owned(), c.column_type() == mysql::consts::ColumnType::MYSQL_TYPE_NEWDECIMAL))
            .collect();
        let mut rows = Vec::new();
        for r in result.by_ref() {
            let values = r.map_err(err)?.unwrap();
            let mut row = Row::new();
            for ((name, decimal), v) in columns.iter().zip(values) {
                row.insert(name.clone(), value(v, *decimal));
            }
            rows.push(row);
        }
        Ok(rows)
    }

    fn execute(&mut self, sql: &str, args: &[Value]) -> Result<u64> {
        self.tx.exec_drop(sql, params(args)).map_err(err)?;
        Ok(self.tx.affected_rows())
    }

    fn insert(&mut self, sql: &str, args: &[Value]) -> Result<i64> {
        self.tx.exec_drop(sql, params(args)).map_err(err)?;
        self.tx
            .last_insert_id()
            .and_then(|id| i64::try_from(id).ok())
            .ok_or_else(|| StoreError::Database("INSERT returned no id".into()))
    }

    fn batch(&mut self, sql: &str) -> Result<()> {
        // Each statement's result set must be read: an error in a later statement only shows there.
        let mut result = self.tx.query_iter(sql).map_err(err)?;
        while let Some(set) = result.iter() {
            for row in set {
                row.map_err(err)?;
            }
        }
        Ok(())
    }
}
