//! MariaDB and MySQL (and MySQL-compatible engines such as TiDB, or Galera with one writer).
//! InnoDB, utf8mb4, READ COMMITTED, one short transaction per request.
//!
//! Round trips dominate a request's time, so statements go over the text protocol with their
//! arguments rendered as safe literals, several to a query (multi-statement): a prepared
//! statement costs a round trip per execution, and the driver's transaction API costs two to
//! begin and one to commit. Here `START TRANSACTION` rides with the transaction's first query,
//! deferred writes ride with the next query or with `COMMIT`, and the isolation level is set
//! once per session; a typical request costs two round trips (reads, then writes and commit).

use super::pool::{Connection, Pool, PoolOptions, Work};
use super::sql::{Dialect, SqlConn, TxCache};
use super::{Result, Row, StoreError, Value, schema};
use mysql::consts::ColumnType;
use mysql::prelude::Queryable;
use mysql::{Opts, OptsBuilder};
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
        .init(vec![
            // The demo admin has id 0: an explicit 0 must not mean "next id".
            "SET SESSION sql_mode = CONCAT(@@SESSION.sql_mode, ',NO_AUTO_VALUE_ON_ZERO')",
            "SET NAMES utf8mb4",
            // Once per session, so that beginning a transaction costs no statement of its own.
            "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED",
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
        let mut repo = MyRepo { conn: &mut self.0, begun: false, pending: Vec::new(), cache: TxCache::default() };
        let outcome = match f(&mut repo) {
            Ok((value, keep)) => repo.end(keep).map(|()| value),
            Err(e) => Err(e),
        };
        if outcome.is_err() {
            repo.abandon();
        }
        outcome
    }
}

/// One transaction on one connection, begun lazily: `START TRANSACTION` and the deferred writes
/// wait to be sent in front of the next statement, in the same query.
struct MyRepo<'a> {
    conn: &'a mut mysql::Conn,
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

impl MyRepo<'_> {
    /// Sends `statements` in one query, behind `START TRANSACTION` (if not sent yet) and the
    /// deferred statements, and followed by `COMMIT` when `commit`. Returns the answers from the
    /// first of `statements` on (COMMIT's last).
    fn send(&mut self, statements: &[String], commit: bool) -> Result<Vec<Answer>> {
        let starts = !self.begun;
        let pending = std::mem::take(&mut self.pending);
        let mut parts: Vec<&str> = Vec::with_capacity(pending.len() + statements.len() + 2);
        if starts {
            parts.push("START TRANSACTION");
        }
        parts.extend(pending.iter().map(String::as_str));
        parts.extend(statements.iter().map(String::as_str));
        if commit {
            parts.push("COMMIT");
        }
        let before = usize::from(starts) + pending.len();
        // From now on a failure may leave the transaction open: the error path rolls it back.
        self.begun = true;
        match run(self.conn, &parts.join(";\n")) {
            Ok(answers) => Ok(answers.into_iter().skip(before).collect()),
            // Nothing is kept without COMMIT: the first query of a transaction may safely run
            // again on another connection if this one was lost.
            Err(e) if starts && !commit => Err(err(e).before_start()),
            Err(e) => Err(err(e)),
        }
    }

    /// Commits (sending the deferred statements with COMMIT) or rolls back.
    fn end(&mut self, keep: bool) -> Result<()> {
        if keep {
            if self.begun || !self.pending.is_empty() {
                self.send(&[], true)?;
            }
        } else {
            self.pending.clear();
            if self.begun {
                self.begun = false;
                self.conn.query_drop("ROLLBACK").map_err(err)?;
            }
        }
        self.begun = false;
        Ok(())
    }

    /// Rolls back after an error; the rollback's own error is dropped, the first one is reported.
    fn abandon(&mut self) {
        self.pending.clear();
        if std::mem::take(&mut self.begun) {
            let _ = self.conn.query_drop("ROLLBACK");
        }
    }
}

/// Runs a multi-statement query and reads every result set: the server stops at the first
/// failing statement, and its error shows only in that statement's result set.
fn run(conn: &mut mysql::Conn, sql: &str) -> std::result::Result<Vec<Answer>, mysql::Error> {
    let mut result = conn.query_iter(sql)?;
    let mut answers = Vec::new();
    let mut failure = None;
    while let Some(set) = result.iter() {
        let mut answer = Answer { rows: Vec::new(), affected: set.affected_rows(), insert_id: set.last_insert_id() };
        for row in set {
            match row {
                Ok(row) => answer.rows.push(row_of(row)),
                Err(e) => {
                    failure.get_or_insert(e);
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
                    Ok(d) => Value::Text(d.normalize().to_string()),
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
        let answers = self.send(&statements, false)?;
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
        let answers = self.send(&[render(sql, args)?], false)?;
        answers.last().map(|a| a.affected).ok_or_else(|| StoreError::Database("statement returned no result".into()))
    }

    /// Held back until the next statement or the commit: one round trip fewer.
    fn defer(&mut self, sql: &str, args: &[Value]) -> Result<()> {
        self.pending.push(render(sql, args)?);
        Ok(())
    }

    fn insert(&mut self, sql: &str, args: &[Value]) -> Result<i64> {
        let answers = self.send(&[render(sql, args)?], false)?;
        answers
            .last()
            .and_then(|a| a.insert_id)
            .and_then(|id| i64::try_from(id).ok())
            .ok_or_else(|| StoreError::Database("INSERT returned no id".into()))
    }

    fn batch(&mut self, sql: &str) -> Result<()> {
        if sql.trim().is_empty() {
            return Ok(());
        }
        // Every result set is read (by `send`): an error in a later statement only shows there.
        self.send(&[sql.to_string()], false).map(drop)
    }

    fn cache(&mut self) -> &mut TxCache {
        &mut self.cache
    }
}

#[cfg(test)]
mod tests {
    use super::{Value, literal, render};

    #[test]
    fn placeholders_become_literals() {
        let sql = render("SELECT * FROM t WHERE a = ? AND b = ? AND c = ?", &[Value::Int(-5), Value::Null, "x".into()]);
        assert_eq!(sql.ok().as_deref(), Some("SELECT * FROM t WHERE a = -5 AND b = NULL AND c = _utf8mb4 X'78'"));
        assert_eq!(render("SELECT 1", &[]).ok().as_deref(), Some("SELECT 1"));
        assert!(render("SELECT ?", &[]).is_err(), "too few arguments");
        assert!(render("SELECT 1", &[Value::Int(1)]).is_err(), "too many arguments");
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
