//! PostgreSQL (and its wire-compatible relatives). Synchronous driver on the blocking pool, one
//! short transaction per request, prepared statements cached per connection.

use super::pool::{Connection, Pool, PoolOptions, Work};
use super::sql::{Dialect, SettingsCache, SqlConn};
use super::{Result, Row, StoreError, Value, schema};
use postgres::error::SqlState;
use postgres::types::{ToSql, Type};
use postgres::{NoTls, Statement};
use rust_decimal::Decimal;
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;

/// Arbitrary key for the advisory lock that serialises migrations across instances.
const MIGRATION_LOCK: i64 = 0x6d6f_7261_7069;

pub struct PgConn {
    client: postgres::Client,
    statements: HashMap<String, Statement>,
}

fn err(e: postgres::Error) -> StoreError {
    match e.code() {
        Some(c) if *c == SqlState::T_R_SERIALIZATION_FAILURE || *c == SqlState::T_R_DEADLOCK_DETECTED => {
            StoreError::Conflict(e.to_string())
        }
        // A concurrent insert of the same unique value: the retry sees it and answers properly.
        Some(c) if *c == SqlState::UNIQUE_VIOLATION => StoreError::Conflict(e.to_string()),
        Some(_) => StoreError::Database(e.to_string()),
        None => StoreError::Unavailable(e.to_string()),
    }
}

/// Connects, migrates and returns the pool. Runs on its own thread: the driver blocks on a
/// private runtime, which must not happen on an async worker.
pub fn open(url: &str, options: PoolOptions) -> Result<Arc<Pool<PgConn>>> {
    std::thread::scope(|s| {
        s.spawn(|| open_blocking(url, options))
            .join()
            .unwrap_or_else(|_| Err(StoreError::Database("PostgreSQL connection thread panicked".into())))
    })
}

fn open_blocking(url: &str, options: PoolOptions) -> Result<Arc<Pool<PgConn>>> {
    let mut config = postgres::Config::from_str(url).map_err(|e| {
        StoreError::Config(format!("invalid PostgreSQL URL: {}", super::redact_message(&e.to_string(), url)))
    })?;
    config.connect_timeout(options.timeout);
    let connect = move || {
        let client = config.connect(NoTls).map_err(err)?;
        Ok(PgConn { client, statements: HashMap::new() })
    };
    let mut first = connect()?;
    migrate(&mut first.client)?;
    drop(first);
    Ok(Pool::new(options, connect))
}

/// Creates the schema under an advisory lock, so instances starting together do not race.
fn migrate(client: &mut postgres::Client) -> Result<()> {
    let mut tx = client.transaction().map_err(err)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).map_err(err)?;
    for stmt in schema::create_statements(Dialect::Postgres) {
        tx.batch_execute(&stmt).map_err(err)?;
    }
    tx.execute(
        "INSERT INTO schema_migrations (version) VALUES ($1) ON CONFLICT (version) DO NOTHING",
        &[&schema::VERSION],
    )
    .map_err(err)?;
    tx.commit().map_err(err)
}

impl Connection for PgConn {
    fn attempt<T>(&mut self, f: &Work<T>) -> Result<T> {
        let mut tx = self.client.transaction().map_err(|e| err(e).before_start())?;
        let mut repo = PgRepo { tx: &mut tx, statements: &mut self.statements, settings: SettingsCache::new() };
        let (value, keep) = f(&mut repo)?;
        if keep {
            tx.commit().map_err(err)?
        } else {
            tx.rollback().map_err(err)?
        }
        Ok(value)
    }
}

struct PgRepo<'a, 'b> {
    tx: &'a mut postgres::Transaction<'b>,
    statements: &'a mut HashMap<String, Statement>,
    settings: SettingsCache,
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
fn column(row: &postgres::Row, i: usize) -> Result<Value> {
    let ty = row.columns()[i].type_().clone();
    let get_err = |e: postgres::Error| StoreError::Database(e.to_string());
    Ok(match ty {
        Type::INT2 => row.try_get::<_, Option<i16>>(i).map_err(get_err)?.map(i64::from).map_or(Value::Null, Value::Int),
        Type::INT4 => row.try_get::<_, Option<i32>>(i).map_err(get_err)?.map(i64::from).map_or(Value::Null, Value::Int),
        Type::INT8 => row.try_get::<_, Option<i64>>(i).map_err(get_err)?.map_or(Value::Null, Value::Int),
        Type::BOOL => row.try_get::<_, Option<bool>>(i).map_err(get_err)?.map_or(Value::Null, |b| Value::Int(b.into())),
        Type::NUMERIC => row
            .try_get::<_, Option<Decimal>>(i)
            .map_err(get_err)?
            .map_or(Value::Null, |d| Value::Text(d.normalize().to_string())),
        Type::DATE => row
            .try_get::<_, Option<chrono::NaiveDate>>(i)
            .map_err(get_err)?
            .map_or(Value::Null, |d| Value::Text(d.format("%Y-%m-%d").to_string())),
        _ => row.try_get::<_, Option<String>>(i).map_err(get_err)?.map_or(Value::Null, Value::Text),
    })
}

impl PgRepo<'_, '_> {
    fn statement(&mut self, sql: &str) -> Result<Statement> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let stmt = self.tx.prepare(&numbered(sql)).map_err(err)?;
        self.statements.insert(sql.to_string(), stmt.clone());
        Ok(stmt)
    }

    fn args(stmt: &Statement, args: &[Value]) -> Result<Vec<Box<dyn ToSql + Sync>>> {
        stmt.params().iter().zip(args).map(|(ty, v)| arg(v, ty)).collect()
    }
}

impl SqlConn for PgRepo<'_, '_> {
    fn settings_cache(&mut self) -> &mut SettingsCache {
        &mut self.settings
    }

    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn fetch(&mut self, sql: &str, args: &[Value]) -> Result<Vec<Row>> {
        let stmt = self.statement(sql)?;
        let boxed = Self::args(&stmt, args)?;
        let refs: Vec<&(dyn ToSql + Sync)> = boxed.iter().map(|b| b.as_ref()).collect();
        let rows = self.tx.query(&stmt, &refs).map_err(err)?;
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

    fn execute(&mut self, sql: &str, args: &[Value]) -> Result<u64> {
        let stmt = self.statement(sql)?;
        let boxed = Self::args(&stmt, args)?;
        let refs: Vec<&(dyn ToSql + Sync)> = boxed.iter().map(|b| b.as_ref()).collect();
        self.tx.execute(&stmt, &refs).map_err(err)
    }

    fn insert(&mut self, sql: &str, args: &[Value]) -> Result<i64> {
        let rows = self.fetch(&format!("{sql} RETURNING id"), args)?;
        rows.first()
            .and_then(|r| super::int(r, "id"))
            .ok_or_else(|| StoreError::Database("INSERT returned no id".into()))
    }

    fn batch(&mut self, sql: &str) -> Result<()> {
        self.tx.batch_execute(sql).map_err(err)?;
        // Rows inserted with explicit ids do not move the identity sequences: move them past.
        for t in schema::table_names() {
            self.tx
                .execute(
                    &format!(
                        "SELECT setval(pg_get_serial_sequence('{t}', 'id'), COALESCE((SELECT MAX(id) FROM {t}), 0) + 1, false)"
                    ),
                    &[],
                )
                .map_err(err)?;
        }
        Ok(())
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
