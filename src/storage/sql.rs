//! The [`AdminStore`] implementation shared by every SQL engine. Each engine only supplies a
//! [`SqlConn`]: run a statement with `?` placeholders and [`Value`] arguments, return rows as
//! [`Row`]s. The SQL below is written once, in the portable subset, with the few dialect
//! differences spelled out where they occur.

use super::address_emails;
use super::{
    Account, AdminStore, AuditEntry, AuditEvent, AuditFilter, AuditKey, ChangeSet, GroupRights, Linked, Locks, Named,
    RefKind, Reference, RefusalFilter, RefusalRecord, RefusalRow, RefusalScope, RequestStore, Result, Row, StoreError,
    Table, Value, Written, int, text,
};
use super::{Credentials, ListedUser, UserFilter};
use std::collections::HashMap;

/// The engines' differences that the shared SQL must know about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
    Mysql,
}

/// One connection inside an open transaction, as each engine provides it.
pub trait SqlConn {
    fn dialect(&self) -> Dialect;
    /// Runs a query (`?` placeholders) and returns every row.
    fn fetch(&mut self, sql: &str, args: &[Value]) -> Result<Vec<Row>>;
    /// Runs several queries; a server engine sends them together and they cost one round trip.
    fn fetch_many(&mut self, queries: &[(&str, &[Value])]) -> Result<Vec<Vec<Row>>> {
        queries.iter().map(|(sql, args)| self.fetch(sql, args)).collect()
    }
    /// Runs a statement (`?` placeholders); returns the number of rows affected.
    fn execute(&mut self, sql: &str, args: &[Value]) -> Result<u64>;
    /// Runs a write whose only answer is success or failure. A server engine may hold it back and
    /// send it with the next statement or the commit, saving a round trip; its error then surfaces
    /// there, which fails the transaction just the same.
    fn defer(&mut self, sql: &str, args: &[Value]) -> Result<()> {
        self.execute(sql, args).map(drop)
    }
    /// Runs an INSERT into a table with an `id` key and returns the new id.
    fn insert(&mut self, sql: &str, args: &[Value]) -> Result<i64>;
    /// Runs several trusted statements without arguments.
    fn batch(&mut self, sql: &str) -> Result<()>;
    /// What this transaction has already read (see [`TxCache`]).
    fn cache(&mut self) -> &mut TxCache;
    /// Whether held-back writes carry [`IN_TRANSACTION`] (MariaDB, whose commits are proven).
    fn guards_writes(&self) -> bool {
        false
    }
}

/// Rows already read in this transaction, so that reading them again costs no round trip to a
/// server: a request reads several settings of the same owner, and [`RequestStore::preload`](super::RequestStore::preload) reads the
/// caller and the target ahead of the checks that consult them. Writes to `users` empty the
/// user entries; writes to settings empty that owner's entry.
#[derive(Debug, Default)]
pub struct TxCache {
    /// `conflines`, owner → name → value (an owner without rows maps to an empty map).
    settings: HashMap<i64, HashMap<String, String>>,
    /// Callers by username, as read by the preload.
    callers: HashMap<String, Option<Account>>,
    /// Users by id, read with their row locked (`FOR UPDATE`) until the transaction ends.
    locked: HashMap<i64, Option<Row>>,
    /// The locks read by the preload: (client address, name) and what was in force.
    locks: Option<(String, String, Locks)>,
    /// What the transaction wrote and locked (never emptied by writes, unlike the entries above).
    written: Written,
}

impl TxCache {
    fn forget_users(&mut self) {
        self.callers.clear();
        self.locked.clear();
    }

    /// Notes a write; the engines read the record back if the commit's answer is lost.
    fn wrote(&mut self) {
        self.written.any = true;
    }

    fn locked_user(&mut self, id: i64, user: Option<Row>) {
        if !self.written.locked_users.contains(&id) {
            self.written.locked_users.push(id);
        }
        self.locked.insert(id, user);
    }

    /// What the transaction wrote and locked so far.
    pub fn written(&self) -> Written {
        self.written.clone()
    }
}

fn first(rows: Vec<Row>) -> Option<Row> {
    rows.into_iter().next()
}

/// Column names come from the catalogue, never from a request, but they are spliced into SQL,
/// so they are checked anyway.
pub(crate) fn checked_column(col: &str) -> Result<&str> {
    if !col.is_empty() && col.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
        Ok(col)
    } else {
        Err(StoreError::Database(format!("invalid column name {col:?}")))
    }
}

/// MariaDB/MySQL: the condition that makes a held-back write do nothing outside a transaction.
/// When Galera aborts a transaction in the middle of a multi-statement query, MariaDB runs the
/// rest of that query outside it, in autocommit; guarded, those writes change nothing, and the
/// commit's proof (`MyRepo::commit_proven` in mysql.rs) finds that nothing was committed.
pub(crate) const IN_TRANSACTION: &str = " AND @@in_transaction = 1";

/// The lookup of an audit row by its key, on the index `(target_id, request_id)`.
pub(crate) fn audited_sql(key: &AuditKey) -> (&'static str, Vec<Value>) {
    match key.target_id {
        Some(id) => (
            "SELECT 1 AS found FROM audit_log WHERE target_id = ? AND request_id = ? LIMIT 1",
            vec![Value::Int(id), key.request_id.as_str().into()],
        ),
        None => (
            "SELECT 1 AS found FROM audit_log WHERE target_id IS NULL AND request_id = ? LIMIT 1",
            vec![key.request_id.as_str().into()],
        ),
    }
}

/// The settings of every owner the gate may read for the caller named twice by the arguments:
/// the admin, the caller, the caller's owner. Scalar subqueries in an IN list are looked up once
/// each (on MariaDB a third cheaper than `OR owner_id IN (SELECT …)` for the whole request).
pub(crate) const PRELOAD_SETTINGS: &str = "SELECT owner_id, name, value FROM conflines WHERE owner_id IN \
     (0, (SELECT id FROM users WHERE username = ?), (SELECT owner_id FROM users WHERE username = ?))";

/// The locks in force for a client address and a name (and the address alone, name `''`):
/// arguments client address, name, oldest window that can still hold a lock, now.
const LOCKS_SQL: &str = "SELECT scope, locked_until FROM refusals WHERE client_addr = ? AND name IN (?, '') \
     AND window_start > ? AND locked_until > ?";

/// How far back a window's row can still hold a lock: the longest window plus the longest lock
/// the settings allow (`lockout_window_seconds`, `lockout_seconds`).
const LOCK_HORIZON: i64 = 86_400 + 604_800;

/// The locks in force among rows of [`LOCKS_SQL`].
fn locks_of(rows: &[Row]) -> Locks {
    let mut locks = Locks::default();
    for r in rows {
        let until = int(r, "locked_until").unwrap_or_default();
        let slot = match RefusalScope::from_stored(&text(r, "scope")) {
            RefusalScope::Name => &mut locks.name_until,
            RefusalScope::Address => &mut locks.address_until,
        };
        *slot = (*slot).max(until);
    }
    locks
}

fn refusal_row(r: &Row) -> RefusalRow {
    RefusalRow {
        client_addr: text(r, "client_addr"),
        name: text(r, "name"),
        scope: RefusalScope::from_stored(&text(r, "scope")),
        window_start: int(r, "window_start").unwrap_or_default(),
        first_at: text(r, "first_at"),
        last_at: text(r, "last_at"),
        count: int(r, "count").unwrap_or_default(),
        recent: text(r, "recent"),
        locked_until: int(r, "locked_until").unwrap_or_default(),
        endpoint: text(r, "endpoint"),
        last_error: text(r, "last_error"),
    }
}

/// The conditions of a [`RefusalFilter`] (without `locked_after`), with their arguments.
fn refusal_conditions(f: &RefusalFilter) -> (Vec<&'static str>, Vec<Value>) {
    let mut conds = Vec::new();
    let mut args = Vec::new();
    if let Some(name) = &f.name {
        conds.push("name = ?");
        args.push(name.as_str().into());
    }
    if let Some(addr) = &f.client_addr {
        conds.push("client_addr = ?");
        args.push(addr.as_str().into());
    }
    (conds, args)
}

/// The caller's [`Account`] by username; built once, not per request.
static ACCOUNT_SQL: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| format!("SELECT {} FROM users WHERE username = ?", Account::COLUMNS));

fn user_for_update_sql(dialect: Dialect) -> &'static str {
    match dialect {
        // SQLite has one writer: the transaction already excludes every other.
        Dialect::Sqlite => "SELECT * FROM users WHERE id = ?",
        Dialect::Postgres | Dialect::Mysql => "SELECT * FROM users WHERE id = ? FOR UPDATE",
    }
}

/// The lookup of a referenced record as a [`Reference`] (`id`, `owner_id`, `kind`), from
/// [`RefKind::source`]. References are checked only when a request changes one, so the text is
/// built per lookup.
fn reference_sql(kind: RefKind) -> String {
    let (table, owner, other) = kind.source();
    let (owner, other) = (owner.unwrap_or("0"), other.unwrap_or("''"));
    format!("SELECT id, {owner} AS owner_id, {other} AS kind FROM {} WHERE id = ?", table.name())
}

impl<C: SqlConn> RequestStore for C {
    fn preload(&mut self, caller: &str, client_addr: &str, now: i64) -> Result<()> {
        let name = Value::from(caller);
        let settings = [name.clone(), name.clone()];
        let locks = [client_addr.into(), name.clone(), Value::Int(now - LOCK_HORIZON), Value::Int(now)];
        let queries = [
            (ACCOUNT_SQL.as_str(), std::slice::from_ref(&name)),
            (PRELOAD_SETTINGS, &settings[..]),
            (LOCKS_SQL, &locks[..]),
        ];
        let mut answers = self.fetch_many(&queries)?.into_iter();
        let caller_row = answers.next().and_then(first).map(|r| Account::from_row(&r));
        let mut owners: HashMap<i64, HashMap<String, String>> = HashMap::from([(0, HashMap::new())]);
        if let Some(c) = &caller_row {
            owners.entry(c.id).or_default();
            owners.entry(c.owner_id).or_default();
        }
        for r in answers.next().unwrap_or_default() {
            owners
                .entry(int(&r, "owner_id").unwrap_or_default())
                .or_default()
                .insert(text(&r, "name"), text(&r, "value"));
        }
        let locks = locks_of(&answers.next().unwrap_or_default());
        let cache = self.cache();
        cache.settings.extend(owners);
        cache.callers.insert(caller.to_string(), caller_row);
        cache.locks = Some((client_addr.to_string(), caller.to_string(), locks));
        Ok(())
    }

    fn locks(&mut self, client_addr: &str, name: &str, now: i64) -> Result<Locks> {
        // The preload's answer, read moments ago in this transaction: a lock it saw that has
        // ended since is ended for the caller too (the locks are absolute times).
        if let Some((a, n, locks)) = &self.cache().locks
            && (a.as_str(), n.as_str()) == (client_addr, name)
        {
            return Ok(*locks);
        }
        let args = [client_addr.into(), name.into(), Value::Int(now - LOCK_HORIZON), Value::Int(now)];
        Ok(locks_of(&self.fetch(LOCKS_SQL, &args)?))
    }

    fn count_refusal(&mut self, r: &RefusalRecord) -> Result<()> {
        let sql = match self.dialect() {
            Dialect::Mysql => {
                "INSERT INTO refusals (client_addr, name, scope, window_start, first_at, last_at, count, recent, endpoint, \
                 last_error) VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, ?) ON DUPLICATE KEY UPDATE count = count + 1, \
                 last_at = VALUES(last_at), recent = CONCAT(recent, VALUES(recent)), endpoint = VALUES(endpoint), \
                 last_error = VALUES(last_error)"
            }
            Dialect::Sqlite | Dialect::Postgres => {
                "INSERT INTO refusals (client_addr, name, scope, window_start, first_at, last_at, count, recent, endpoint, \
                 last_error) VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, ?) ON CONFLICT (client_addr, name, scope, window_start) \
                 DO UPDATE SET count = refusals.count + 1, last_at = excluded.last_at, \
                 recent = refusals.recent || excluded.recent, endpoint = excluded.endpoint, last_error = excluded.last_error"
            }
        };
        // Not noted as a write that needs proof: a refusal answers the same whether or not its
        // count was committed (a lock it starts writes an audit row, which is proven).
        self.execute(
            sql,
            &[
                r.client_addr.as_str().into(),
                r.name.as_str().into(),
                r.scope.stored().into(),
                Value::Int(r.window_start),
                r.at.as_str().into(),
                r.at.as_str().into(),
                r.recent.as_str().into(),
                r.endpoint.as_str().into(),
                r.error.as_str().into(),
            ],
        )
        .map(drop)
    }

    fn refusal_history(
        &mut self,
        (client_addr, name, scope): (&str, &str, RefusalScope),
        since: i64,
    ) -> Result<Vec<RefusalRow>> {
        let rows = self.fetch(
            "SELECT * FROM refusals WHERE client_addr = ? AND name = ? AND scope = ? AND window_start >= ? \
             ORDER BY window_start",
            &[client_addr.into(), name.into(), scope.stored().into(), Value::Int(since)],
        )?;
        Ok(rows.iter().map(refusal_row).collect())
    }

    fn start_lock(
        &mut self,
        (client_addr, name, scope): (&str, &str, RefusalScope),
        window_start: i64,
        until: i64,
        now: i64,
    ) -> Result<bool> {
        let changed = self.execute(
            "UPDATE refusals SET locked_until = ? WHERE client_addr = ? AND name = ? AND scope = ? \
             AND window_start = ? AND locked_until <= ?",
            &[
                Value::Int(until),
                client_addr.into(),
                name.into(),
                scope.stored().into(),
                Value::Int(window_start),
                Value::Int(now),
            ],
        )?;
        Ok(changed > 0)
    }

    fn user_by_username(&mut self, username: &str) -> Result<Option<Row>> {
        Ok(first(self.fetch("SELECT * FROM users WHERE username = ?", &[username.into()])?))
    }

    fn account(&mut self, username: &str) -> Result<Option<Account>> {
        if let Some(account) = self.cache().callers.get(username) {
            return Ok(account.clone());
        }
        Ok(first(self.fetch(&ACCOUNT_SQL, &[username.into()])?).map(|r| Account::from_row(&r)))
    }

    fn user_by_id(&mut self, id: i64) -> Result<Option<Row>> {
        if let Some(user) = self.cache().locked.get(&id) {
            return Ok(user.clone());
        }
        Ok(first(self.fetch("SELECT * FROM users WHERE id = ?", &[id.into()])?))
    }

    fn user_for_update(&mut self, id: i64) -> Result<Option<Row>> {
        if let Some(user) = self.cache().locked.get(&id) {
            return Ok(user.clone());
        }
        let user = first(self.fetch(user_for_update_sql(self.dialect()), &[id.into()])?);
        self.cache().locked_user(id, user.clone());
        Ok(user)
    }

    fn linked(&mut self, table: Linked, id: i64) -> Result<Option<Row>> {
        self.row(table.table(), id)
    }

    fn new_linked(&mut self, table: Linked) -> Result<(i64, Row)> {
        let id = self.insert_row(table.table(), &[])?;
        let row = self.row(table.table(), id)?;
        Ok((id, row.unwrap_or_default()))
    }

    fn name_of(&mut self, table: Named, id: i64) -> Result<Option<String>> {
        let sql = match table {
            Named::Currency => "SELECT name FROM currencies WHERE id = ?",
            Named::Direction => "SELECT name FROM directions WHERE id = ?",
        };
        Ok(first(self.fetch(sql, &[id.into()])?).map(|r| text(&r, "name")))
    }

    fn setting(&mut self, owner_id: i64, name: &str) -> Result<Option<String>> {
        if !self.cache().settings.contains_key(&owner_id) {
            let rows = self.fetch("SELECT name, value FROM conflines WHERE owner_id = ?", &[owner_id.into()])?;
            let all = rows.iter().map(|r| (text(r, "name"), text(r, "value"))).collect();
            self.cache().settings.insert(owner_id, all);
        }
        Ok(self.cache().settings.get(&owner_id).and_then(|m| m.get(name)).cloned())
    }

    fn reference(&mut self, kind: RefKind, id: i64) -> Result<Option<Reference>> {
        Ok(first(self.fetch(&reference_sql(kind), &[id.into()])?).map(|r| Reference {
            id: int(&r, "id").unwrap_or(id),
            owner_id: int(&r, "owner_id").unwrap_or_default(),
            kind: text(&r, "kind"),
        }))
    }

    fn group_rights(&mut self, group_id: i64) -> Result<GroupRights> {
        let rows = self.fetch(
            "SELECT g.only_view AS only_view, r.name AS name, gr.value AS value FROM acc_groups g \
             LEFT JOIN acc_group_rights gr ON gr.acc_group_id = g.id LEFT JOIN acc_rights r ON r.id = gr.acc_right_id \
             WHERE g.id = ?",
            &[group_id.into()],
        )?;
        let mut rights = GroupRights::default();
        for r in rows {
            rights.only_view = int(&r, "only_view").unwrap_or(0) != 0;
            let name = text(&r, "name");
            if !name.is_empty() {
                rights.values.insert(name, int(&r, "value").unwrap_or(0));
            }
        }
        Ok(rights)
    }

    fn username_taken(&mut self, username: &str, except_user_id: i64) -> Result<bool> {
        let rows = self
            .fetch("SELECT id FROM users WHERE username = ? AND id <> ?", &[username.into(), except_user_id.into()])?;
        Ok(!rows.is_empty())
    }

    fn email_in_use(&mut self, email: &str, except_address_id: Option<i64>) -> Result<bool> {
        Ok(!address_emails::in_use(self, &[email], except_address_id)?.is_empty())
    }

    fn emails_in_use<'e>(&mut self, emails: &[&'e str], except_address_id: Option<i64>) -> Result<Vec<&'e str>> {
        address_emails::in_use(self, emails, except_address_id)
    }

    fn apply(&mut self, change: &ChangeSet) -> Result<()> {
        for (table, linked) in [(Table::Addresses, &change.address), (Table::Taxes, &change.tax)] {
            if let Some((id, columns)) = linked {
                self.update_row(table, *id, columns)?;
            }
        }
        self.update_row(Table::Users, change.user_id, &change.user)?;
        self.insert_audit(&change.audit)
    }

    fn insert_audit(&mut self, entries: &[AuditEntry]) -> Result<()> {
        let Some(last) = entries.last() else { return Ok(()) };
        let cache = self.cache();
        cache.wrote();
        cache.written.audit = Some(AuditKey { target_id: last.target_id, request_id: last.request_id.clone() });
        let opt = |v: Option<i64>| v.map_or(Value::Null, Value::Int);
        let sql = if self.guards_writes() {
            // Each row a SELECT that yields nothing outside a transaction (see IN_TRANSACTION).
            let row = format!("SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM DUAL WHERE 1{IN_TRANSACTION}");
            format!("INSERT INTO audit_log ({AUDIT_COLUMNS}) {}", vec![row; entries.len()].join(" UNION ALL "))
        } else {
            let row = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
            format!("INSERT INTO audit_log ({AUDIT_COLUMNS}) VALUES {}", vec![row; entries.len()].join(", "))
        };
        let mut args = Vec::with_capacity(entries.len() * 12);
        for e in entries {
            args.extend([
                e.created_at.as_str().into(),
                e.request_id.as_str().into(),
                e.event.name().into(),
                opt(e.actor_id),
                e.actor_username.as_str().into(),
                e.client_addr.as_str().into(),
                e.endpoint.as_str().into(),
                opt(e.target_id),
                e.field.as_str().into(),
                e.old_value.as_deref().map_or(Value::Null, Value::from),
                e.new_value.as_deref().map_or(Value::Null, Value::from),
                e.signed_with.as_str().into(),
            ]);
        }
        self.defer(&sql, &args)
    }

    fn audited(&mut self, key: &AuditKey) -> Result<bool> {
        let (sql, args) = audited_sql(key);
        Ok(!self.fetch(sql, &args)?.is_empty())
    }

    // --- users_get, user_login ---
    fn users_listed(&mut self, filter: &UserFilter) -> Result<Vec<ListedUser>> {
        let mut conds = Vec::new();
        let mut args = Vec::new();
        if let Some(owner) = filter.owner_id {
            conds.push("owner_id = ?");
            args.push(Value::Int(owner));
        }
        if filter.without_admin {
            conds.push("id <> 0");
        }
        if let Some(usertype) = filter.without_usertype {
            conds.push("usertype <> ?");
            args.push(usertype.into());
        }
        let mut sql = format!("SELECT {} FROM users", ListedUser::COLUMNS);
        if !conds.is_empty() {
            sql.push_str(&format!(" WHERE {}", conds.join(" AND ")));
        }
        sql.push_str(" ORDER BY id");
        Ok(self.fetch(&sql, &args)?.iter().map(ListedUser::from_row).collect())
    }

    fn account_by_email(&mut self, email: &str) -> Result<Option<Account>> {
        let key = crate::values::email::key(email);
        if key.is_empty() {
            return Ok(None);
        }
        // Two rows at most: a second one means the address names nobody in particular.
        let sql = format!(
            "SELECT {} FROM users WHERE address_id IN (SELECT address_id FROM address_emails WHERE email = ?) \
             ORDER BY id LIMIT 2",
            Account::COLUMNS
        );
        let rows = self.fetch(&sql, &[key.into()])?;
        Ok(match rows.as_slice() {
            [one] => Some(Account::from_row(one)),
            _ => None,
        })
    }

    fn credentials(&mut self, id: i64) -> Result<Option<Credentials>> {
        let sql = format!("SELECT {} FROM users WHERE id = ?", Credentials::COLUMNS);
        Ok(first(self.fetch(&sql, &[id.into()])?).map(|r| Credentials::from_row(&r)))
    }

    fn forgive_refusals(&mut self, client_addr: &str, name: &str, since: i64) -> Result<()> {
        let guard = if self.guards_writes() { IN_TRANSACTION } else { "" };
        // Not noted as a write that needs proof, like a counted refusal: the login's audit row is.
        self.defer(
            &format!(
                "UPDATE refusals SET recent = '' WHERE client_addr = ? AND name = ? AND scope = ? \
                 AND window_start >= ? AND recent <> ''{guard}"
            ),
            &[client_addr.into(), name.into(), RefusalScope::Name.stored().into(), Value::Int(since)],
        )
    }

    // --- user_delete ---
    fn dependents(&mut self, id: i64) -> Result<Vec<(super::model::Dependent, i64)>> {
        use super::model::Dependent;
        let mut parts = Vec::with_capacity(Dependent::ALL.len());
        let mut args = Vec::new();
        for (kind, dependent) in Dependent::ALL.into_iter().enumerate() {
            let (table, column) = dependent.source();
            let column = checked_column(column)?;
            let names_him = match dependent {
                Dependent::SpyingUser => format!("{column} IN (SELECT id FROM devices WHERE user_id = ?)"),
                _ => format!("{column} = ?"),
            };
            args.push(Value::Int(id));
            // A user naming himself leaves nothing behind.
            let not_him = if table == Table::Users {
                args.push(Value::Int(id));
                " AND id <> ?"
            } else {
                ""
            };
            parts.push(format!("SELECT {kind} AS kind, id FROM {} WHERE {names_him}{not_him}", table.name()));
        }
        let sql = format!("{} ORDER BY kind, id", parts.join(" UNION ALL "));
        let rows = self.fetch(&sql, &args)?;
        Ok(rows
            .iter()
            .filter_map(|r| {
                let kind = usize::try_from(int(r, "kind")?).ok()?;
                Some((*Dependent::ALL.get(kind)?, int(r, "id")?))
            })
            .collect())
    }

    fn setting_of_every_owner(&mut self, name: &str) -> Result<Vec<(i64, String)>> {
        let rows =
            self.fetch("SELECT owner_id, value FROM conflines WHERE name = ? ORDER BY owner_id", &[name.into()])?;
        Ok(rows.iter().map(|r| (int(r, "owner_id").unwrap_or_default(), text(r, "value"))).collect())
    }

    fn removal(&mut self, user: Row) -> Result<super::model::Removal> {
        // Locked like the user, so that nothing is added to or changed in what the audit trail
        // keeps before it is deleted (SQLite's one writer excludes every other transaction).
        let lock = match self.dialect() {
            Dialect::Sqlite => "",
            Dialect::Postgres | Dialect::Mysql => " FOR UPDATE",
        };
        let id = [Value::Int(int(&user, "id").unwrap_or_default())];
        let linked = |column| [int(&user, column).map_or(Value::Null, Value::Int)];
        let (address, tax) = (linked("address_id"), linked("tax_id"));
        let sql = [
            format!(
                "SELECT * FROM callerids WHERE device_id IN (SELECT id FROM devices WHERE user_id = ?) ORDER BY id{lock}"
            ),
            format!("SELECT * FROM devices WHERE user_id = ? ORDER BY id{lock}"),
            format!("SELECT * FROM conflines WHERE owner_id = ? ORDER BY id{lock}"),
            format!("SELECT * FROM addresses WHERE id = ?{lock}"),
            format!("SELECT * FROM taxes WHERE id = ?{lock}"),
        ];
        let queries: [(&str, &[Value]); 5] =
            [(&sql[0], &id), (&sql[1], &id), (&sql[2], &id), (&sql[3], &address), (&sql[4], &tax)];
        let mut answers = self.fetch_many(&queries)?.into_iter();
        let mut next = || answers.next().unwrap_or_default();
        let (callerids, devices, settings) = (next(), next(), next());
        let (address, tax) = (first(next()), first(next()));
        Ok(super::model::Removal { user, callerids, devices, settings, address, tax })
    }

    fn remove(&mut self, removal: &super::model::Removal) -> Result<()> {
        self.cache().wrote();
        let listed = [
            (Table::Callerids, &removal.callerids),
            (Table::Devices, &removal.devices),
            (Table::Conflines, &removal.settings),
        ];
        for (table, rows) in listed {
            let ids: Vec<Value> = rows.iter().filter_map(|r| int(r, "id")).map(Value::Int).collect();
            if !ids.is_empty() {
                let marks = vec!["?"; ids.len()].join(", ");
                self.execute(&format!("DELETE FROM {} WHERE id IN ({marks})", table.name()), &ids)?;
            }
        }
        if let Some(id) = int(&removal.user, "id") {
            self.cache().settings.remove(&id);
            self.delete_row(Table::Users, id)?;
        }
        for (table, row) in [(Table::Addresses, &removal.address), (Table::Taxes, &removal.tax)] {
            if let Some(id) = row.as_ref().and_then(|r| int(r, "id")) {
                self.delete_row(table, id)?;
            }
        }
        Ok(())
    }

    // --- user_register ---
    fn account_by_uniquehash(&mut self, uniquehash: &str) -> Result<Option<Account>> {
        let sql = format!("SELECT {}, uniquehash FROM users WHERE uniquehash = ?", Account::COLUMNS);
        // MariaDB compares text without case: the exact match is kept here.
        let rows = self.fetch(&sql, &[uniquehash.into()])?;
        Ok(rows.into_iter().find(|r| text(r, "uniquehash") == uniquehash).map(|r| Account::from_row(&r)))
    }

    fn create(&mut self, table: Table, values: &[(&str, Value)]) -> Result<Row> {
        let id = self.insert_row(table, values)?;
        self.row(table, id)?.ok_or_else(|| StoreError::Database(format!("{} row {id} vanished", table.name())))
    }

    fn free_extension(&mut self, min: i64, max: i64) -> Result<Option<i64>> {
        let d = self.dialect();
        let (ext, user) = (digits_only(d, "extension"), digits_only(d, "username"));
        let ty = int_type(d);
        let sql = format!(
            "WITH used AS (SELECT CAST(extension AS {ty}) AS n FROM devices WHERE {ext} \
             UNION SELECT CAST(username AS {ty}) AS n FROM devices WHERE {user}) \
             SELECT MIN(c) AS free FROM (SELECT CAST(? AS {ty}) AS c UNION ALL SELECT n + 1 AS c FROM used) cand \
             WHERE c >= ? AND c <= ? AND c NOT IN (SELECT n FROM used)"
        );
        let rows = self.fetch(&sql, &[Value::Int(min), Value::Int(min), Value::Int(max)])?;
        Ok(first(rows).and_then(|r| int(&r, "free")))
    }

    fn pin_taken(&mut self, pin: &str) -> Result<bool> {
        Ok(!self.fetch("SELECT id FROM devices WHERE pin = ?", &[pin.into()])?.is_empty())
    }

    fn callerids_taken(&mut self, clis: &[&str]) -> Result<Vec<String>> {
        if clis.is_empty() {
            return Ok(Vec::new());
        }
        let marks = vec!["?"; clis.len()].join(", ");
        let args: Vec<Value> = clis.iter().map(|c| Value::from(*c)).collect();
        let found: Vec<String> = self
            .fetch(&format!("SELECT cli FROM callerids WHERE cli IN ({marks})"), &args)?
            .iter()
            .map(|r| text(r, "cli"))
            .collect();
        Ok(clis.iter().filter(|c| found.iter().any(|f| f == *c)).map(|c| (*c).to_string()).collect())
    }

    fn highest_agreement_number(&mut self) -> Result<i64> {
        let d = self.dialect();
        let sql = format!(
            "SELECT MAX(CAST(agreement_number AS {})) AS n FROM users WHERE {}",
            int_type(d),
            digits_only(d, "agreement_number")
        );
        Ok(first(self.fetch(&sql, &[])?).and_then(|r| int(&r, "n")).unwrap_or(0))
    }

    fn location_owner(&mut self, id: i64) -> Result<Option<i64>> {
        Ok(first(self.fetch("SELECT user_id FROM locations WHERE id = ?", &[id.into()])?)
            .map(|r| int(&r, "user_id").unwrap_or(0)))
    }
}

impl<C: SqlConn> AdminStore for C {
    fn row(&mut self, table: Table, id: i64) -> Result<Option<Row>> {
        Ok(first(self.fetch(&format!("SELECT * FROM {} WHERE id = ?", table.name()), &[id.into()])?))
    }

    fn insert_row(&mut self, table: Table, values: &[(&str, Value)]) -> Result<i64> {
        self.cache().wrote();
        if table == Table::Users {
            self.cache().forget_users();
            // Every user has a `uniquehash` (schema.rs): one is made unless the caller brings it.
            if !values.iter().any(|(c, _)| *c == "uniquehash") {
                let mut with_hash = values.to_vec();
                with_hash.push(("uniquehash", super::schema::free_uniquehash(self)?.into()));
                return self.insert_row(table, &with_hash);
            }
        }
        let sql = if values.is_empty() {
            match self.dialect() {
                Dialect::Mysql => format!("INSERT INTO {} () VALUES ()", table.name()),
                Dialect::Sqlite | Dialect::Postgres => format!("INSERT INTO {} DEFAULT VALUES", table.name()),
            }
        } else {
            let cols = values.iter().map(|(c, _)| checked_column(c)).collect::<Result<Vec<_>>>()?;
            let marks = vec!["?"; cols.len()].join(", ");
            format!("INSERT INTO {} ({}) VALUES ({marks})", table.name(), cols.join(", "))
        };
        let args: Vec<Value> = values.iter().map(|(_, v)| v.clone()).collect();
        // An explicit id is the answer (MySQL reports no insert id for it).
        let id = match values.iter().find(|(c, _)| *c == "id").and_then(|(_, v)| v.as_int()) {
            Some(id) => {
                self.execute(&sql, &args)?;
                id
            }
            None => self.insert(&sql, &args)?,
        };
        if table == Table::Addresses {
            address_emails::written(self, id, values)?;
        }
        Ok(id)
    }

    fn update_row(&mut self, table: Table, id: i64, values: &[(&str, Value)]) -> Result<()> {
        if values.is_empty() {
            return Ok(());
        }
        self.cache().wrote();
        if table == Table::Users {
            self.cache().forget_users();
        }
        let sets = values.iter().map(|(c, _)| Ok(format!("{} = ?", checked_column(c)?))).collect::<Result<Vec<_>>>()?;
        let guard = if self.guards_writes() { IN_TRANSACTION } else { "" };
        let sql = format!("UPDATE {} SET {} WHERE id = ?{guard}", table.name(), sets.join(", "));
        let args: Vec<Value> = values.iter().map(|(_, v)| v.clone()).chain(std::iter::once(Value::Int(id))).collect();
        self.defer(&sql, &args)?;
        if table == Table::Addresses {
            address_emails::written(self, id, values)?;
        }
        Ok(())
    }

    fn set_setting(&mut self, owner_id: i64, name: &str, value: &str) -> Result<()> {
        let sql = match self.dialect() {
            Dialect::Mysql => {
                "INSERT INTO conflines (name, value, owner_id) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE value = VALUES(value)"
            }
            Dialect::Sqlite | Dialect::Postgres => {
                "INSERT INTO conflines (name, value, owner_id) VALUES (?, ?, ?) \
                 ON CONFLICT (owner_id, name) DO UPDATE SET value = excluded.value"
            }
        };
        self.cache().wrote();
        self.execute(sql, &[name.into(), value.into(), owner_id.into()])?;
        self.cache().settings.remove(&owner_id);
        Ok(())
    }

    fn refusals(&mut self, f: &RefusalFilter) -> Result<Vec<RefusalRow>> {
        let (mut conds, mut args) = refusal_conditions(f);
        if let Some(t) = f.locked_after {
            conds.push("locked_until > ?");
            args.push(Value::Int(t));
        }
        let mut sql = "SELECT * FROM refusals".to_string();
        if !conds.is_empty() {
            sql.push_str(&format!(" WHERE {}", conds.join(" AND ")));
        }
        sql.push_str(" ORDER BY window_start DESC, id DESC");
        if let Some(limit) = f.limit {
            sql.push_str(&format!(" LIMIT {limit}"));
        }
        Ok(self.fetch(&sql, &args)?.iter().map(refusal_row).collect())
    }

    fn clear_locks(&mut self, f: &RefusalFilter, now: i64) -> Result<u64> {
        let (conds, args) = refusal_conditions(f);
        let mut sql = "UPDATE refusals SET locked_until = ? WHERE locked_until > ?".to_string();
        for c in conds {
            sql.push_str(&format!(" AND {c}"));
        }
        self.cache().wrote();
        let all: Vec<Value> = [Value::Int(now), Value::Int(now)].into_iter().chain(args).collect();
        self.execute(&sql, &all)
    }

    fn user_count(&mut self) -> Result<i64> {
        Ok(first(self.fetch("SELECT COUNT(*) AS n FROM users", &[])?).and_then(|r| int(&r, "n")).unwrap_or(0))
    }

    fn execute_script(&mut self, sql: &str) -> Result<()> {
        let written = std::mem::take(&mut self.cache().written);
        *self.cache() = TxCache { written, ..TxCache::default() };
        self.cache().wrote();
        self.batch(sql)?;
        // Scripts are trusted and rare: any that names the addresses (or their e-mail rows) may
        // have changed a list, so every address's e-mail rows are made again.
        let lower = sql.to_ascii_lowercase();
        if lower.contains("address") {
            address_emails::refill(self)?;
        }
        // Likewise a user inserted without his `uniquehash` gets one.
        if lower.contains("users") {
            super::schema::fill_uniquehashes(self)?;
        }
        Ok(())
    }

    #[cfg(feature = "testing")]
    fn audit_entries(&mut self) -> Result<Vec<AuditEntry>> {
        let rows = self.fetch(&format!("SELECT {AUDIT_COLUMNS} FROM audit_log ORDER BY id"), &[])?;
        Ok(rows.into_iter().map(audit_entry).collect())
    }

    fn audit_query(&mut self, f: &AuditFilter) -> Result<Vec<AuditEntry>> {
        let mut conds = Vec::new();
        let mut args = Vec::new();
        if let Some(id) = f.target_id {
            conds.push("target_id = ?");
            args.push(Value::Int(id));
        }
        if let Some(a) = &f.actor_username {
            conds.push("actor_username = ?");
            args.push(a.as_str().into());
        }
        if let Some(field) = &f.field {
            conds.push("field = ?");
            args.push(field.as_str().into());
        }
        if let Some(event) = f.event {
            conds.push("event = ?");
            args.push(event.name().into());
        }
        if let Some(since) = &f.since {
            conds.push("created_at >= ?");
            args.push(since.stored().into());
        }
        if let Some(until) = &f.until {
            conds.push("created_at < ?");
            args.push(until.stored().into());
        }
        let mut sql = format!("SELECT {AUDIT_COLUMNS} FROM audit_log");
        if !conds.is_empty() {
            sql.push_str(&format!(" WHERE {}", conds.join(" AND ")));
        }
        sql.push_str(" ORDER BY id DESC");
        if let Some(limit) = f.limit {
            sql.push_str(&format!(" LIMIT {limit}"));
        }
        Ok(self.fetch(&sql, &args)?.into_iter().map(audit_entry).collect())
    }

    fn list_rows(&mut self, table: Table, filter: &[(&str, Value)]) -> Result<Vec<Row>> {
        let mut sql = format!("SELECT * FROM {}", table.name());
        if !filter.is_empty() {
            let conds =
                filter.iter().map(|(c, _)| Ok(format!("{} = ?", checked_column(c)?))).collect::<Result<Vec<_>>>()?;
            sql.push_str(&format!(" WHERE {}", conds.join(" AND ")));
        }
        sql.push_str(" ORDER BY id");
        let args: Vec<Value> = filter.iter().map(|(_, v)| v.clone()).collect();
        self.fetch(&sql, &args)
    }

    fn delete_row(&mut self, table: Table, id: i64) -> Result<bool> {
        self.cache().wrote();
        if table == Table::Users {
            self.cache().forget_users();
        }
        let deleted = self.execute(&format!("DELETE FROM {} WHERE id = ?", table.name()), &[id.into()])? > 0;
        if deleted && table == Table::Addresses {
            address_emails::forget(self, id)?;
        }
        Ok(deleted)
    }
}

// --- user_register ---

/// The condition that a text column holds 1 to 18 digits and nothing else (so that it fits a
/// 64-bit integer), in the engine's words.
fn digits_only(dialect: Dialect, col: &str) -> String {
    match dialect {
        Dialect::Sqlite => format!("({col} <> '' AND {col} NOT GLOB '*[^0-9]*' AND length({col}) <= 18)"),
        Dialect::Postgres => format!("{col} ~ '^[0-9]{{1,18}}$'"),
        Dialect::Mysql => format!("{col} REGEXP '^[0-9]{{1,18}}$'"),
    }
}

/// The 64-bit integer type of a `CAST`.
fn int_type(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sqlite => "INTEGER",
        Dialect::Postgres => "BIGINT",
        Dialect::Mysql => "SIGNED",
    }
}

const AUDIT_COLUMNS: &str = "created_at, request_id, event, actor_id, actor_username, client_addr, endpoint, target_id, field, old_value, new_value, signed_with";

fn audit_entry(r: Row) -> AuditEntry {
    AuditEntry {
        created_at: text(&r, "created_at"),
        request_id: text(&r, "request_id"),
        // Only morapi writes events; an unknown name would be a newer version's, shown as refused.
        event: AuditEvent::from_name(&text(&r, "event")).unwrap_or(AuditEvent::HashRefused),
        actor_id: int(&r, "actor_id"),
        actor_username: text(&r, "actor_username"),
        client_addr: text(&r, "client_addr"),
        endpoint: text(&r, "endpoint"),
        target_id: int(&r, "target_id"),
        field: text(&r, "field"),
        old_value: nullable_text(&r, "old_value"),
        new_value: nullable_text(&r, "new_value"),
        signed_with: text(&r, "signed_with"),
    }
}

/// A text column that may hold NULL, kept apart from the empty string.
fn nullable_text(r: &Row, col: &str) -> Option<String> {
    r.get(col).filter(|v| **v != Value::Null).map(Value::render)
}
