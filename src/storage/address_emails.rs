//! `address_emails`: every address of every `addresses.email` list in a row of its own, in the
//! form the uniqueness rule compares ([`email::addresses`]), so that whether an address is in use
//! is an index lookup however many addresses are stored (issue 10). `addresses.email` stays the
//! record, as MOR stores it and the API reads it back; these rows follow it on every write
//! through the port (`sql.rs`): [`written`] after an insert or update of the column, [`forget`]
//! after a delete, [`refill`] after a trusted script and when a database of schema version 3 or
//! older is upgraded. Nothing else writes them.

use super::sql::{Dialect, IN_TRANSACTION, SqlConn};
use super::{Result, StoreError, Value, int, text};
use crate::values::email;
use std::collections::HashSet;

/// The rows of a stored list: its addresses as the rule compares them, each once, in order.
fn keys(stored: &str) -> Vec<String> {
    let mut seen = HashSet::new();
    email::addresses(stored).filter(|k| seen.insert(k.clone())).collect()
}

/// Keeps the rows of address `id` in step with `values`, just written to it, when they include
/// `email`.
pub(crate) fn written<C: SqlConn + ?Sized>(conn: &mut C, id: i64, values: &[(&str, Value)]) -> Result<()> {
    match values.iter().find(|(c, _)| *c == "email") {
        Some((_, stored)) => replace(conn, id, stored),
        None => Ok(()),
    }
}

/// Replaces the rows of address `id` with those of the list `stored` (none for NULL). Held back
/// like the write they follow, and guarded on MariaDB ([`IN_TRANSACTION`]); rows are inserted
/// only for an address row that exists.
fn replace<C: SqlConn + ?Sized>(conn: &mut C, id: i64, stored: &Value) -> Result<()> {
    forget(conn, id)?;
    let keys = match stored {
        Value::Null => Vec::new(),
        other => keys(&other.render()),
    };
    if keys.is_empty() {
        return Ok(());
    }
    let guard = if conn.guards_writes() { IN_TRANSACTION } else { "" };
    let row = format!("SELECT id, ? FROM addresses WHERE id = ?{guard}");
    let sql = format!("INSERT INTO address_emails (address_id, email) {}", vec![row; keys.len()].join(" UNION ALL "));
    let args: Vec<Value> = keys.into_iter().flat_map(|k| [Value::Text(k), Value::Int(id)]).collect();
    conn.defer(&sql, &args)
}

/// Removes the rows of address `id` (deleted, or about to be rewritten). Held back and guarded
/// like [`replace`].
pub(crate) fn forget<C: SqlConn + ?Sized>(conn: &mut C, id: i64) -> Result<()> {
    let guard = if conn.guards_writes() { IN_TRANSACTION } else { "" };
    conn.defer(&format!("DELETE FROM address_emails WHERE address_id = ?{guard}"), &[Value::Int(id)])
}

/// Which of `emails` (single addresses, each read by [`email::key`]) an address row other than
/// `except` holds, in their order, a repeated one as often: one query, an index lookup per
/// distinct address.
pub(crate) fn in_use<'e, C: SqlConn + ?Sized>(
    conn: &mut C,
    emails: &[&'e str],
    except: Option<i64>,
) -> Result<Vec<&'e str>> {
    let keys: Vec<String> = emails.iter().map(|e| email::key(e)).collect();
    let mut wanted: Vec<&str> = keys.iter().map(String::as_str).filter(|k| !k.is_empty()).collect();
    wanted.sort_unstable();
    wanted.dedup();
    let Some(&last) = wanted.last() else { return Ok(Vec::new()) };
    let (sql, n) = in_use_sql(wanted.len(), except.is_some());
    let mut args: Vec<Value> = wanted.iter().map(|k| Value::from(*k)).collect();
    args.resize(n, Value::from(last));
    args.extend(except.map(Value::Int));
    let found: HashSet<String> = conn.fetch(&sql, &args)?.iter().map(|r| text(r, "email")).collect();
    Ok(emails.iter().zip(&keys).filter(|(_, k)| found.contains(k.as_str())).map(|(e, _)| *e).collect())
}

/// The lookup of `n` addresses, and how many arguments it takes before `except`'s: the list is
/// padded to a power of two (with its last address), so that few statement texts get prepared.
fn in_use_sql(n: usize, except: bool) -> (String, usize) {
    let n = n.next_power_of_two();
    let marks = vec!["?"; n].join(", ");
    let except = if except { " AND address_id <> ?" } else { "" };
    (format!("SELECT DISTINCT email FROM address_emails WHERE email IN ({marks}){except}"), n)
}

/// Rows of `addresses` [`refill`] reads per query.
const PAGE: usize = 10_000;

/// Rebuilds every row from `addresses`, in pages of [`PAGE`] addresses by id: after a trusted
/// script, and when a database of version 3 or older is upgraded. Can run again. On PostgreSQL it
/// also gathers the table's statistics: without them (until autovacuum gets to the table) the
/// planner guesses that a list of addresses matches a large share of the rows and scans them all.
pub(crate) fn refill<C: SqlConn + ?Sized>(conn: &mut C) -> Result<()> {
    conn.execute("DELETE FROM address_emails", &[])?;
    let sql = format!("SELECT id, email FROM addresses WHERE id > ? AND email IS NOT NULL ORDER BY id LIMIT {PAGE}");
    let mut after = i64::MIN;
    loop {
        let page = conn.fetch(&sql, &[Value::Int(after)])?;
        let mut rows = Vec::new();
        for r in &page {
            after = int(r, "id").ok_or_else(|| StoreError::Database("an address row without an id".into()))?;
            rows.extend(keys(&text(r, "email")).into_iter().map(|k| (after, k)));
        }
        insert(conn, &rows)?;
        if page.len() < PAGE {
            break;
        }
    }
    if conn.dialect() == Dialect::Postgres {
        conn.execute("ANALYZE address_emails", &[])?;
    }
    Ok(())
}

/// Inserts `(address_id, email)` rows, in statements of a few fixed sizes (few texts to prepare).
fn insert<C: SqlConn + ?Sized>(conn: &mut C, mut rows: &[(i64, String)]) -> Result<()> {
    while !rows.is_empty() {
        let n = [256, 64, 16, 4, 1].into_iter().find(|&n| n <= rows.len()).unwrap_or(1);
        let (chunk, rest) = rows.split_at(n);
        let sql = format!("INSERT INTO address_emails (address_id, email) VALUES {}", vec!["(?, ?)"; n].join(", "));
        let args: Vec<Value> = chunk.iter().flat_map(|(id, k)| [Value::Int(*id), Value::from(k.as_str())]).collect();
        conn.execute(&sql, &args)?;
        rows = rest;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_gives_each_address_once_as_the_rule_compares_it() {
        assert_eq!(
            keys(" First@Example.com ;second@example.org;; FIRST@example.com;"),
            ["first@example.com", "second@example.org"]
        );
        assert!(keys("").is_empty() && keys(" ; ").is_empty());
    }

    #[test]
    fn lookups_are_padded_to_few_texts() {
        assert_eq!(in_use_sql(1, false).1, 1);
        assert_eq!(in_use_sql(3, true).1, 4);
        assert_eq!(in_use_sql(36, false).1, 64);
        assert!(in_use_sql(3, true).0.ends_with("IN (?, ?, ?, ?) AND address_id <> ?"));
    }

    /// SQLite's plan for every statement on the side table: a search of an index, never a scan.
    #[test]
    #[cfg(feature = "sqlite")]
    fn sqlite_looks_addresses_up_by_index() {
        use super::super::schema;
        use super::super::sql::Dialect;
        let conn = rusqlite::Connection::open_in_memory().expect("sqlite");
        conn.execute_batch(&schema::script(Dialect::Sqlite)).expect("schema");
        let plan = |sql: &str| -> String {
            let mut q = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).expect("explain");
            let unbound = vec![rusqlite::types::Null; q.parameter_count()];
            let rows = q.query_map(rusqlite::params_from_iter(unbound), |r| r.get::<_, String>(3)).expect("plan");
            rows.collect::<std::result::Result<Vec<_>, _>>().expect("rows").join("; ")
        };
        for (n, except) in [(1, false), (1, true), (5, true), (36, false)] {
            let (sql, _) = in_use_sql(n, except);
            let p = plan(&sql);
            assert!(p.contains("USING COVERING INDEX index_address_emails_on_email_and_address_id (email=?)"), "{p}");
            assert!(!p.contains("SCAN"), "{p}");
        }
        let p = plan("DELETE FROM address_emails WHERE address_id = ?");
        assert!(
            p.contains("SEARCH address_emails USING INDEX sqlite_autoindex_address_emails_1 (address_id=?)"),
            "{p}"
        );
    }
}
