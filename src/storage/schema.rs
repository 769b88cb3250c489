//! The schema, once, as data: every engine's `CREATE TABLE` statements are rendered from it, so
//! the engines cannot drift apart. MOR's table and column names wherever MOR has them.
//!
//! Decimals are exact everywhere: `NUMERIC(30,15)`/`DECIMAL(30,15)` on servers, canonical decimal
//! text in SQLite (which has no exact decimal type). Every table has a primary key (Galera needs
//! one) and nothing relies on consecutive auto-increment values (TiDB).

use super::sql::{Dialect, SqlConn};

/// Placeholder collation of MySQL-family tables (binary; see [`create_statements`]).
pub const MYSQL_COLLATION: &str = "utf8mb4_bin";

/// The schema version this morapi needs: the last of [`MIGRATIONS`]. A new database is created
/// at it directly ([`create_statements`]); an older one is brought here by the pending
/// migrations ([`apply`]); a newer one is refused.
pub const VERSION: i64 = MIGRATIONS[MIGRATIONS.len() - 1].version;

/// One numbered step of the schema's history, as data. Its statements bring a database of the
/// version before to this one; each can run again after a crash midway (on MariaDB/MySQL, where
/// DDL commits at once, every statement is idempotent; elsewhere they run in the migration's
/// transaction). `rows` computes what SQL cannot (an e-mail list split as the rule splits it),
/// after the statements, before the version is recorded.
pub struct Migration {
    pub version: i64,
    /// What it changes, for `morapi migrate` and its `--status`.
    pub name: &'static str,
    pub steps: fn(Dialect) -> Vec<String>,
    pub rows: Option<fn(&mut dyn SqlConn) -> super::Result<()>>,
    /// Statements that need `rows` done first (a unique index over values `rows` computes).
    pub after: fn(Dialect) -> Vec<String>,
}

/// Every schema version, oldest first, numbered 1, 2, 3, … without gaps (a unit test checks).
/// Version 1 is the baseline: nothing upgrades to it, since an empty database is created at
/// [`VERSION`] at once.
pub const MIGRATIONS: &[Migration] = &[
    Migration { version: 1, name: "the first schema", steps: |_| Vec::new(), rows: None, after: |_| Vec::new() },
    Migration {
        version: 2,
        name: "audit values may be NULL (apart from empty); audit index by target and request id",
        steps: version_2,
        rows: None,
        after: |_| Vec::new(),
    },
    Migration {
        version: 3,
        name: "audit_log.signed_with; the refusals table (lockouts); SQLite never reuses a user's or device's id",
        steps: version_3,
        rows: None,
        after: |_| Vec::new(),
    },
    Migration {
        version: 4,
        name: "address_emails: every address of every e-mail list in a row of its own, filled from addresses",
        steps: version_4,
        rows: Some(|conn| super::address_emails::refill(conn)),
        after: |_| Vec::new(),
    },
    Migration {
        version: 5,
        name: "the user lifecycle: users.uniquehash (generated for every user), device credentials and location, \
               callerids, locations",
        steps: version_5,
        rows: Some(fill_uniquehashes),
        after: |dialect| add_unique_index(USERS_UNIQUEHASH_INDEX, dialect),
    },
];

/// 2: `audit_log.old_value`/`new_value` hold SQL NULL (a NULL column value, distinct from an
/// empty one); the server engines' audit index covers the request id too.
fn version_2(dialect: Dialect) -> Vec<String> {
    let mut out = audit_values_nullable(dialect);
    if dialect != Dialect::Sqlite {
        let (name, table, columns, _) = AUDIT_INDEX;
        out.extend(add_index((name, table, columns), dialect));
        out.extend(drop_index(AUDIT_INDEX_V1, dialect));
    }
    out
}

/// 3: `audit_log.signed_with`; the `refusals` table (lockouts, refusals counted per window);
/// SQLite never hands out a deleted user's or device's id again (`AUTOINCREMENT`).
fn version_3(dialect: Dialect) -> Vec<String> {
    let mut out: Vec<String> = AUDIT_ADDED_V3.iter().flat_map(|c| add_column("audit_log", c, dialect)).collect();
    out.extend(create_with_indexes(&REFUSALS, dialect));
    if dialect == Dialect::Sqlite {
        for name in IDS_NEVER_REUSED {
            if let Some(table) = TABLES.iter().find(|t| t.name == *name) {
                out.extend(sqlite_rebuild(table, &[], added_v5(name)));
            }
        }
    }
    out
}

/// 4: `address_emails`, every address of every `addresses.email` list in a row of its own, as the
/// uniqueness rule compares them, so that whether an address is in use is an index lookup;
/// filled from `addresses` by the migration's `rows`.
fn version_4(dialect: Dialect) -> Vec<String> {
    TABLES.iter().filter(|t| t.name == "address_emails").flat_map(|t| create_with_indexes(t, dialect)).collect()
}

/// Columns version 5 adds to existing tables (earlier steps that rebuild these tables on SQLite
/// leave them out, pinning their own shape).
const USERS_ADDED_V5: &[&str] = &["uniquehash"];
const DEVICES_ADDED_V5: &[&str] = &["device_type", "extension", "username", "secret", "pin", "callerid", "location_id"];

/// The columns version 5 adds to `table`.
fn added_v5(table: &str) -> &'static [&'static str] {
    match table {
        "users" => USERS_ADDED_V5,
        "devices" => DEVICES_ADDED_V5,
        _ => &[],
    }
}

/// 5: what the user lifecycle methods need. `users.uniquehash` (filled for every existing user by
/// [`fill_uniquehashes`], then unique: the migration's `after`); the device's type, SIP/IAX2
/// credentials, caller id and location; MOR's `callerids` and `locations` tables.
fn version_5(dialect: Dialect) -> Vec<String> {
    let mut out: Vec<String> = USERS_ADDED_V5.iter().flat_map(|c| add_column("users", c, dialect)).collect();
    out.extend(DEVICES_ADDED_V5.iter().flat_map(|c| add_column("devices", c, dialect)));
    for index in [DEVICES_EXTENSION_INDEX, DEVICES_PIN_INDEX] {
        out.extend(add_unique_index(index, dialect));
    }
    for t in TABLES.iter().filter(|t| matches!(t.name, "callerids" | "locations")) {
        out.extend(create_with_indexes(t, dialect));
    }
    out
}

/// Gives every user without a `uniquehash` a new one (again after a crash: only empty ones).
pub(crate) fn fill_uniquehashes(conn: &mut dyn SqlConn) -> super::Result<()> {
    for row in conn.fetch("SELECT id FROM users WHERE uniquehash = '' ORDER BY id", &[])? {
        let id = super::int(&row, "id").unwrap_or_default();
        let hash = free_uniquehash(conn)?;
        conn.execute("UPDATE users SET uniquehash = ? WHERE id = ? AND uniquehash = ''", &[hash.into(), id.into()])?;
    }
    Ok(())
}

/// A new `uniquehash` no user has yet.
pub(crate) fn free_uniquehash(conn: &mut dyn SqlConn) -> super::Result<String> {
    loop {
        let hash = crate::values::secrets::uniquehash();
        if conn.fetch("SELECT id FROM users WHERE uniquehash = ?", &[hash.as_str().into()])?.is_empty() {
            return Ok(hash);
        }
    }
}

/// What a database holds, schema-wise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    /// No schema yet (or one whose creation stopped before it was recorded).
    Empty,
    /// A schema of this recorded version.
    At(i64),
}

impl Found {
    /// From the largest version `schema_migrations` records, if it exists and has any row.
    pub fn recorded(max: Option<i64>) -> Found {
        match max {
            Some(v) if v > 0 => Found::At(v),
            _ => Found::Empty,
        }
    }
}

/// What opening a database may do to its schema: the one open policy, applied by every engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Policy {
    /// Create an empty database at [`VERSION`]; use a current one without any DDL; refuse an
    /// older one (it needs `morapi migrate`) and a newer one. `serve` and every command.
    #[default]
    Current,
    /// As [`Policy::Current`], and bring an older schema to [`VERSION`] (`morapi migrate`,
    /// `serve --migrate`). Needs a role that may change the schema.
    Upgrade,
    /// Change nothing, only look (`morapi migrate --status`).
    Inspect,
}

/// What a database needs, schema-wise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// Nothing: it is current (or only looked at).
    Nothing,
    /// Every table, at [`VERSION`].
    Create,
    /// The migrations after `from`.
    Upgrade { from: i64 },
}

/// The policy applied to what a database holds: what to do, or why not. Engines call it once
/// without a lock (a current database needs no lock and no DDL) and again under their migration
/// lock before acting, since another instance may have acted in between.
pub fn plan(found: Found, policy: Policy) -> super::Result<Plan> {
    match found {
        _ if policy == Policy::Inspect => Ok(Plan::Nothing),
        Found::At(v) if v > VERSION => Err(super::StoreError::Config(format!(
            "the database has schema version {v}, newer than this morapi's ({VERSION}): use a newer morapi"
        ))),
        Found::At(VERSION) => Ok(Plan::Nothing),
        Found::Empty => Ok(Plan::Create),
        Found::At(from) if policy == Policy::Upgrade => Ok(Plan::Upgrade { from }),
        Found::At(from) => Err(super::StoreError::Config(older(from))),
    }
}

/// The refusal of an older schema.
fn older(from: i64) -> String {
    format!(
        "the database has schema version {from}; this morapi needs {VERSION}: run `morapi migrate` \
         (or serve --migrate) with a role that may change the schema"
    )
}

/// The migrations a database of version `from` lacks, oldest first.
pub fn pending(from: i64) -> impl Iterator<Item = &'static Migration> {
    MIGRATIONS.iter().filter(move |m| m.version > from)
}

/// What a migration found and did: `morapi migrate` prints it, `serve --migrate` logs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub found: Found,
    /// The versions applied, in order: [`VERSION`] alone when the schema was created.
    pub applied: Vec<i64>,
}

impl Report {
    /// The version the database is at now (0: no schema).
    pub fn now(&self) -> i64 {
        match (self.applied.last().copied(), self.found) {
            (Some(v), _) | (None, Found::At(v)) => v,
            (None, Found::Empty) => 0,
        }
    }
}

impl std::fmt::Display for Report {
    /// `created at version 4`, `upgraded from version 2 to 4 (3: …; 4: …)`, or `at version 4`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.found, self.applied.as_slice()) {
            (Found::Empty, []) => write!(f, "empty (no schema yet; this morapi creates version {VERSION})"),
            (Found::At(v), []) => write!(f, "at version {v}"),
            (Found::Empty, _) => write!(f, "created at version {}", self.now()),
            (Found::At(from), applied) => {
                let names: Vec<String> = MIGRATIONS
                    .iter()
                    .filter(|m| applied.contains(&m.version))
                    .map(|m| format!("{}: {}", m.version, m.name))
                    .collect();
                write!(f, "upgraded from version {from} to {} ({})", self.now(), names.join("; "))
            }
        }
    }
}

/// Logs what opening did to the schema, if anything.
pub fn log(report: &Report) {
    if !report.applied.is_empty() {
        tracing::info!("database schema {report}");
    }
}

/// How an engine carries out a [`Plan`], under its migration lock.
pub trait Migrator {
    fn dialect(&self) -> Dialect;
    /// Runs one statement of a migration (DDL, or the record of a version).
    fn step(&mut self, sql: &str) -> super::Result<()>;
    /// Runs a migration's `rows` (in the migration's transaction where DDL has one, else in a
    /// transaction of its own, again on conflict).
    fn rows(&mut self, rows: fn(&mut dyn SqlConn) -> super::Result<()>) -> super::Result<()>;
}

/// Carries out `plan` through `m`: creates every table and records [`VERSION`], or runs each
/// pending migration and records its version after it. Returns the versions applied.
pub fn apply(m: &mut impl Migrator, plan: Plan) -> super::Result<Vec<i64>> {
    let dialect = m.dialect();
    match plan {
        Plan::Nothing => Ok(Vec::new()),
        Plan::Create => {
            for stmt in create_statements(dialect) {
                m.step(&stmt)?;
            }
            m.step(&record(dialect, VERSION))?;
            Ok(vec![VERSION])
        }
        Plan::Upgrade { from } => {
            let mut applied = Vec::new();
            for migration in pending(from) {
                for stmt in (migration.steps)(dialect) {
                    m.step(&stmt)?;
                }
                if let Some(rows) = migration.rows {
                    m.rows(rows)?;
                }
                for stmt in (migration.after)(dialect) {
                    m.step(&stmt)?;
                }
                m.step(&record(dialect, migration.version))?;
                applied.push(migration.version);
            }
            Ok(applied)
        }
    }
}

/// Records a schema version (again: a no-op).
fn record(dialect: Dialect, version: i64) -> String {
    match dialect {
        Dialect::Sqlite => format!("INSERT OR IGNORE INTO schema_migrations (version) VALUES ({version})"),
        Dialect::Postgres => {
            format!("INSERT INTO schema_migrations (version) VALUES ({version}) ON CONFLICT (version) DO NOTHING")
        }
        Dialect::Mysql => format!("INSERT IGNORE INTO schema_migrations (version) VALUES ({version})"),
    }
}

/// Tables whose ids must never be handed out again after a delete: audit rows and clients refer
/// to them. PostgreSQL sequences and InnoDB's persistent counter (MariaDB 10.2.4+, MySQL 8) never
/// go back; SQLite reuses the highest rowid unless the key is declared `AUTOINCREMENT`.
const IDS_NEVER_REUSED: &[&str] = &["users", "devices"];

/// Columns `audit_log` gained after version 2 (the version-2 rebuild on SQLite copies the others).
const AUDIT_ADDED_V3: &[&str] = &["signed_with"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    Id,
    Int,
    Text,
    LongText,
    Decimal,
    Date,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    pub ty: Ty,
    pub nullable: bool,
    pub default: Option<&'static str>,
    pub unique: bool,
}

impl Column {
    const fn new(name: &'static str, ty: Ty, nullable: bool, default: Option<&'static str>) -> Self {
        Column { name, ty, nullable, default, unique: false }
    }
    const fn id() -> Self {
        Self::new("id", Ty::Id, false, None)
    }
    const fn int(name: &'static str, default: i64) -> Self {
        // Defaults are spliced as SQL literals; integers need no quoting.
        Self::new(name, Ty::Int, false, Some(int_literal(default)))
    }
    const fn int_required(name: &'static str) -> Self {
        Self::new(name, Ty::Int, false, None)
    }
    const fn int_null(name: &'static str) -> Self {
        Self::new(name, Ty::Int, true, None)
    }
    const fn text(name: &'static str, default: &'static str) -> Self {
        Self::new(name, Ty::Text, false, Some(default))
    }
    const fn text_required(name: &'static str) -> Self {
        Self::new(name, Ty::Text, false, None)
    }
    const fn text_null(name: &'static str) -> Self {
        Self::new(name, Ty::Text, true, None)
    }
    const fn long_text_required(name: &'static str) -> Self {
        Self::new(name, Ty::LongText, false, None)
    }
    const fn long_text_null(name: &'static str) -> Self {
        Self::new(name, Ty::LongText, true, None)
    }
    const fn decimal(name: &'static str, default: &'static str) -> Self {
        Self::new(name, Ty::Decimal, false, Some(default))
    }
    const fn date_null(name: &'static str, default: Option<&'static str>) -> Self {
        Self::new(name, Ty::Date, true, default)
    }
    const fn unique(mut self) -> Self {
        self.unique = true;
        self
    }
}

/// The few integer defaults the schema uses, as literals.
const fn int_literal(v: i64) -> &'static str {
    match v {
        -1 => "-1",
        0 => "0",
        1 => "1",
        15 => "15",
        _ => panic!("add the literal to int_literal"),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableDef {
    pub name: &'static str,
    pub unique: &'static [&'static [&'static str]],
    pub columns: &'static [Column],
}

/// Secondary indexes: (name, table, columns, the engines that have it).
pub const INDEXES: &[(&str, &str, &str, &[Dialect])] = &[
    ("index_users_on_owner_id", "users", "owner_id", &[Dialect::Sqlite, Dialect::Postgres, Dialect::Mysql]),
    // The audit trail by target (`morapi audit --user`). SQLite needs no more: it never looks a
    // request up (its commits are never lost in flight).
    (AUDIT_INDEX_V1.0, "audit_log", "target_id", &[Dialect::Sqlite]),
    AUDIT_INDEX,
    // Whether an address is in use, by any address row but one (covering: no table lookup).
    (
        "index_address_emails_on_email_and_address_id",
        "address_emails",
        "email, address_id",
        &[Dialect::Sqlite, Dialect::Postgres, Dialect::Mysql],
    ),
];

/// The audit trail by target, and a request's rows by target and request id, which prove a
/// commit or settle a lost one on the server engines. One index serves both, so that version 2
/// writes no more index entries per audit row than version 1 did.
const AUDIT_INDEX: (&str, &str, &str, &[Dialect]) = (
    "index_audit_log_on_target_id_and_request_id",
    "audit_log",
    "target_id, request_id",
    &[Dialect::Postgres, Dialect::Mysql],
);

/// Version 1's audit index, which the server engines replace with [`AUDIT_INDEX`].
const AUDIT_INDEX_V1: (&str, &str) = ("index_audit_log_on_target_id", "audit_log");

/// Unique indexes besides the tables' own `UNIQUE` columns: (name, table, column). Kept apart
/// from the tables so that a migration can add them to existing rows (SQLite cannot add a
/// UNIQUE column), and, for `users.uniquehash`, only once every row has its value. `extension`
/// and `pin` are NULL when a device has none (NULLs never collide on any engine).
const USERS_UNIQUEHASH_INDEX: (&str, &str, &str) = ("index_users_on_uniquehash", "users", "uniquehash");
const DEVICES_EXTENSION_INDEX: (&str, &str, &str) = ("index_devices_on_extension", "devices", "extension");
const DEVICES_PIN_INDEX: (&str, &str, &str) = ("index_devices_on_pin", "devices", "pin");
const UNIQUE_INDEXES: &[(&str, &str, &str)] = &[USERS_UNIQUEHASH_INDEX, DEVICES_EXTENSION_INDEX, DEVICES_PIN_INDEX];

/// The secondary indexes of an engine: (name, table, columns).
fn indexes(dialect: Dialect) -> impl Iterator<Item = (&'static str, &'static str, &'static str)> {
    INDEXES.iter().filter(move |i| i.3.contains(&dialect)).map(|&(name, table, columns, _)| (name, table, columns))
}

pub static TABLES: &[TableDef] = &[
    TableDef {
        name: "users",
        unique: &[],
        columns: &[
            Column::id(),
            Column::text_required("username").unique(),
            Column::text("password", ""),
            Column::text("usertype", "user"),
            Column::int("owner_id", 0),
            Column::text("first_name", ""),
            Column::text("last_name", ""),
            Column::text("company_name", ""),
            Column::text("vat_number", ""),
            Column::text("clientid", ""),
            Column::text("accounting_number", ""),
            Column::text("agreement_number", ""),
            Column::date_null("agreement_date", None),
            Column::text("language", ""),
            Column::int_null("lcr_id"),
            Column::int_null("tariff_id"),
            Column::int("currency_id", 1),
            Column::decimal("balance", "0"),
            Column::decimal("credit", "0"),
            Column::int("postpaid", 1),
            Column::int("blocked", 0),
            Column::int("hidden", 0),
            Column::date_null("block_at", Some("2008-01-01")),
            Column::int("block_at_conditional", 15),
            Column::int("call_limit", 0),
            Column::decimal("daily_credit_limit", "0"),
            Column::int("warning_email_active", 0),
            Column::decimal("warning_email_balance", "0"),
            Column::int("warning_email_hour", -1),
            Column::int("warning_balance_call", 0),
            Column::int("warning_balance_sound_file_id", 0),
            Column::int("hide_destination_end", -1),
            Column::int("hide_non_answered_calls", 0),
            Column::int("spy_device_id", 0),
            Column::int("acc_group_id", 0),
            Column::int("generate_invoice", 1),
            Column::int("send_invoice_types", 0),
            Column::int("invoice_zero_calls", 1),
            Column::int("taxation_country", 0),
            Column::int("quickforwards_rule_id", 0),
            Column::decimal("recording_hdd_quota", "0"),
            Column::int("recording_enabled", 0),
            Column::int("recording_forced_enabled", 0),
            Column::text("recordings_email", ""),
            Column::int("cyberplat_active", 0),
            Column::int("allow_loss_calls", 0),
            Column::int("own_providers", 0),
            Column::int("pbx_pool_id", 0),
            Column::int("responsible_accountant_id", -1),
            Column::long_text_null("comment"),
            Column::int("ignore_global_monitorings", 0),
            Column::text("time_zone", "UTC"),
            Column::int("allow_change_callerid", 0),
            Column::text("enable_static_source_list", "no"),
            Column::int("static_source_list_id", 0),
            Column::text("enable_static_list", "no"),
            Column::int("static_list_id", 0),
            Column::int("two_fa_enabled", 0),
            Column::int("max_devices", 0),
            Column::int_null("address_id"),
            Column::int_null("tax_id"),
            // MOR's per-user random key: names a registration's owner (`user_register`'s `id`)
            // and stands in for a password in `users_get`. Unique ([`UNIQUE_INDEXES`]).
            Column::text("uniquehash", ""),
        ],
    },
    TableDef {
        name: "addresses",
        unique: &[],
        columns: &[
            Column::id(),
            Column::int("direction_id", 0),
            Column::text("state", ""),
            Column::text("county", ""),
            Column::text("city", ""),
            Column::text("postcode", ""),
            Column::text("address", ""),
            Column::text("phone", ""),
            Column::text("mob_phone", ""),
            Column::text("fax", ""),
            Column::text_null("email"),
        ],
    },
    // Every address of every `addresses.email` list, as the uniqueness rule compares them
    // (`values::email::addresses`), kept by the storage layer with every write of the list
    // (`storage/address_emails.rs`). The unique key also finds an address row's entries.
    TableDef {
        name: "address_emails",
        unique: &[&["address_id", "email"]],
        columns: &[Column::id(), Column::int_required("address_id"), Column::text_required("email")],
    },
    TableDef {
        name: "taxes",
        unique: &[],
        columns: &[
            Column::id(),
            Column::int("tax1_enabled", 1),
            Column::int("tax2_enabled", 0),
            Column::int("tax3_enabled", 0),
            Column::int("tax4_enabled", 0),
            Column::text("tax1_name", "VAT"),
            Column::text("tax2_name", ""),
            Column::text("tax3_name", ""),
            Column::text("tax4_name", ""),
            Column::text("total_tax_name", "TAX"),
            Column::decimal("tax1_value", "0"),
            Column::decimal("tax2_value", "0"),
            Column::decimal("tax3_value", "0"),
            Column::decimal("tax4_value", "0"),
            Column::int("compound_tax", 1),
        ],
    },
    TableDef {
        name: "tariffs",
        unique: &[],
        columns: &[
            Column::id(),
            Column::text_required("name"),
            Column::text("purpose", "user"),
            Column::int("owner_id", 0),
            Column::text("currency", "USD"),
        ],
    },
    TableDef {
        name: "lcrs",
        unique: &[],
        columns: &[Column::id(), Column::text_required("name"), Column::int("user_id", 0)],
    },
    TableDef {
        name: "currencies",
        unique: &[],
        columns: &[
            Column::id(),
            Column::text_required("name").unique(),
            Column::text("full_name", ""),
            Column::decimal("exchange_rate", "1"),
            Column::int("active", 1),
        ],
    },
    TableDef {
        name: "directions",
        unique: &[],
        columns: &[Column::id(), Column::text_required("name"), Column::text("code", "")],
    },
    TableDef {
        name: "quickforwards_rules",
        unique: &[],
        columns: &[Column::id(), Column::text_required("name"), Column::int("user_id", 0)],
    },
    TableDef {
        name: "pbx_pools",
        unique: &[],
        columns: &[Column::id(), Column::text_required("name"), Column::int("owner_id", 0)],
    },
    TableDef {
        name: "number_pools",
        unique: &[],
        columns: &[Column::id(), Column::text_required("name"), Column::int("owner_id", 0)],
    },
    TableDef {
        name: "ivr_sound_files",
        unique: &[],
        columns: &[Column::id(), Column::long_text_required("path"), Column::int("user_id", 0)],
    },
    TableDef {
        name: "devices",
        unique: &[],
        columns: &[
            Column::id(),
            Column::text_required("name"),
            Column::int("user_id", 0),
            // `SIP`, `IAX2` or `Virtual`.
            Column::text("device_type", ""),
            // Unique when set ([`UNIQUE_INDEXES`]); NULL when the device has none.
            Column::text_null("extension"),
            // The SIP/IAX2 credentials a registrar needs, stored as they are (as MOR does).
            Column::text("username", ""),
            Column::text("secret", ""),
            Column::text_null("pin"),
            // `<digits>` as MOR writes it, or empty.
            Column::text("callerid", ""),
            Column::int("location_id", 0),
        ],
    },
    // Numbers that identify a device's caller (MOR's `callerids`): one number, one device.
    TableDef {
        name: "callerids",
        unique: &[],
        columns: &[
            Column::id(),
            Column::text_required("cli").unique(),
            Column::int("device_id", 0),
            Column::text("description", ""),
            Column::text("added_at", ""),
        ],
    },
    // Where devices are (MOR's `locations`), owned by the admin (0) or a reseller.
    TableDef {
        name: "locations",
        unique: &[],
        columns: &[Column::id(), Column::text_required("name"), Column::int("user_id", 0)],
    },
    TableDef {
        name: "acc_groups",
        unique: &[],
        columns: &[
            Column::id(),
            Column::text_required("name"),
            Column::text("group_type", "accountant"),
            Column::int("only_view", 0),
            Column::int("owner_id", 0),
        ],
    },
    TableDef {
        name: "acc_rights",
        unique: &[],
        columns: &[Column::id(), Column::text_required("name").unique(), Column::text("right_type", "accountant")],
    },
    TableDef {
        name: "acc_group_rights",
        unique: &[&["acc_group_id", "acc_right_id"]],
        columns: &[
            Column::id(),
            Column::int_required("acc_group_id"),
            Column::int_required("acc_right_id"),
            Column::int("value", 0),
        ],
    },
    // Settings per owner (0 = admin/global). Names are the project's (docs/contract.md §8).
    TableDef {
        name: "conflines",
        unique: &[&["owner_id", "name"]],
        columns: &[Column::id(), Column::text_required("name"), Column::text("value", ""), Column::int("owner_id", 0)],
    },
    AUDIT_LOG,
    REFUSALS,
];

/// One row per changed field, refused hash or lockout. Written only with the change it records.
/// Old and new values are NULL where the column held or receives NULL, never the same as `''`.
const AUDIT_LOG: TableDef = TableDef {
    name: "audit_log",
    unique: &[],
    columns: &[
        Column::id(),
        Column::text_required("created_at"),
        Column::text_required("request_id"),
        Column::text_required("event"),
        Column::int_null("actor_id"),
        Column::text("actor_username", ""),
        Column::text("client_addr", ""),
        Column::text("endpoint", ""),
        Column::int_null("target_id"),
        Column::text("field", ""),
        Column::long_text_null("old_value"),
        Column::long_text_null("new_value"),
        Column::text("signed_with", ""),
    ],
};

/// Refused credentials, counted: one row per client address, name and window of
/// `lockout_window_seconds` (so a flood costs constant space), and the lockout state. `scope` is
/// `name` for the pair (`u` as sent, client address) or `address` for the address alone (`name`
/// empty). `recent` holds the counted failures' times (Unix seconds; for an address, each with a
/// digest of the name), so the lockout counts over a sliding window; `locked_until` (Unix seconds,
/// 0 = never) is set on the row of the failure that started a lock.
const REFUSALS: TableDef = TableDef {
    name: "refusals",
    unique: &[&["client_addr", "name", "scope", "window_start"]],
    columns: &[
        Column::id(),
        Column::text_required("client_addr"),
        Column::text_required("name"),
        Column::text_required("scope"),
        Column::int_required("window_start"),
        Column::text_required("first_at"),
        Column::text_required("last_at"),
        Column::int("count", 0),
        Column::long_text_required("recent"),
        Column::int("locked_until", 0),
        Column::text("endpoint", ""),
        Column::text("last_error", ""),
    ],
};

fn column_sql(c: &Column, table: &str, dialect: Dialect) -> String {
    let ty = match (c.ty, dialect) {
        (Ty::Id, Dialect::Sqlite) if IDS_NEVER_REUSED.contains(&table) => {
            return format!("{} INTEGER PRIMARY KEY AUTOINCREMENT", c.name);
        }
        (Ty::Id, Dialect::Sqlite) => return format!("{} INTEGER PRIMARY KEY", c.name),
        (Ty::Id, Dialect::Postgres) => {
            return format!("{} BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", c.name);
        }
        (Ty::Id, Dialect::Mysql) => return format!("{} BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY", c.name),
        (Ty::Int, Dialect::Sqlite) => "INTEGER",
        (Ty::Int, _) => "BIGINT",
        (Ty::Text | Ty::LongText, Dialect::Sqlite | Dialect::Postgres) => "TEXT",
        (Ty::Text, Dialect::Mysql) => "VARCHAR(255)",
        // TEXT holds 65,535 bytes, fewer characters than a comment may have in UTF-8.
        (Ty::LongText, Dialect::Mysql) => "MEDIUMTEXT",
        (Ty::Decimal, Dialect::Sqlite) => "TEXT",
        (Ty::Decimal, Dialect::Postgres) => "NUMERIC(30,15)",
        (Ty::Decimal, Dialect::Mysql) => "DECIMAL(30,15)",
        (Ty::Date, Dialect::Sqlite) => "TEXT",
        (Ty::Date, _) => "DATE",
    };
    let mut s = format!("{} {ty}", c.name);
    if !c.nullable {
        s.push_str(" NOT NULL");
    }
    // MySQL refuses defaults on TEXT columns.
    if let Some(d) = c.default
        && !(c.ty == Ty::LongText && dialect == Dialect::Mysql)
    {
        let quoted =
            matches!(c.ty, Ty::Text | Ty::LongText | Ty::Date) || (c.ty == Ty::Decimal && dialect == Dialect::Sqlite);
        if quoted {
            s.push_str(&format!(" DEFAULT '{d}'"));
        } else {
            s.push_str(&format!(" DEFAULT {d}"));
        }
    }
    if c.unique {
        s.push_str(" UNIQUE");
    }
    s
}

/// `CREATE TABLE` for table `t` under the name `name` (the SQLite rebuild creates a copy first).
fn create_table(t: &TableDef, name: &str, dialect: Dialect) -> String {
    create_table_of(t, t.columns, name, dialect)
}

/// [`create_table`] with only `columns` of the table (a pinned earlier shape).
fn create_table_of(t: &TableDef, columns: &[Column], name: &str, dialect: Dialect) -> String {
    let mut parts: Vec<String> = columns.iter().map(|c| column_sql(c, t.name, dialect)).collect();
    for u in t.unique {
        parts.push(format!("UNIQUE ({})", u.join(", ")));
    }
    if dialect == Dialect::Mysql {
        // MySQL has no CREATE INDEX IF NOT EXISTS: declare indexes with the table.
        for (index, table, col) in indexes(dialect) {
            if table == t.name {
                parts.push(format!("KEY {index} ({col})"));
            }
        }
        for (index, table, col) in UNIQUE_INDEXES {
            if *table == t.name && columns.iter().any(|c| c.name == *col) {
                parts.push(format!("UNIQUE KEY {index} ({col})"));
            }
        }
    }
    let suffix = match dialect {
        Dialect::Mysql => format!(" ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE={MYSQL_COLLATION}"),
        Dialect::Sqlite | Dialect::Postgres => String::new(),
    };
    format!("CREATE TABLE IF NOT EXISTS {name} (\n    {}\n){suffix}", parts.join(",\n    "))
}

/// The `CREATE TABLE`/`CREATE INDEX` statements for an engine; all idempotent. MySQL-family
/// tables use [`MYSQL_COLLATION`]; the MariaDB/MySQL backend substitutes the exact-comparing
/// collation its server has.
pub fn create_statements(dialect: Dialect) -> Vec<String> {
    let mut out: Vec<String> = TABLES.iter().map(|t| create_table(t, t.name, dialect)).collect();
    if dialect != Dialect::Mysql {
        for (name, table, col) in indexes(dialect) {
            out.push(format!("CREATE INDEX IF NOT EXISTS {name} ON {table} ({col})"));
        }
        for &index in UNIQUE_INDEXES {
            out.extend(add_unique_index(index, dialect));
        }
    }
    out.push(format!(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT NOT NULL PRIMARY KEY){}",
        if dialect == Dialect::Mysql { " ENGINE=InnoDB" } else { "" }
    ));
    out
}

/// The statements of every migration after `from`, in order (none when it is current): what
/// [`apply`] runs, without the migrations' `rows` and the records of versions.
pub fn upgrade_statements(dialect: Dialect, from: i64) -> Vec<String> {
    pending(from).flat_map(|m| (m.steps)(dialect).into_iter().chain((m.after)(dialect))).collect()
}

/// A table of the current schema and its secondary indexes, for a migration that adds it (MySQL
/// declares them with the table). Idempotent.
fn create_with_indexes(table: &TableDef, dialect: Dialect) -> Vec<String> {
    let mut out = vec![create_table(table, table.name, dialect)];
    if dialect != Dialect::Mysql {
        for (name, t, col) in indexes(dialect).filter(|(_, t, _)| *t == table.name) {
            out.push(format!("CREATE INDEX IF NOT EXISTS {name} ON {t} ({col})"));
        }
    }
    out
}

/// SQLite cannot change a table's constraints in place: copy into a new table of the current
/// definition (ids kept), swap it in, and recreate the table's indexes, which went with the old
/// one. `added` are current columns the old table lacks (they take their defaults); `later` are
/// current columns a later migration adds, left out of the copy's definition (pinning this
/// step's shape).
fn sqlite_rebuild(table: &TableDef, added: &[&str], later: &[&str]) -> Vec<String> {
    let dialect = Dialect::Sqlite;
    let copy = format!("{}_rebuilt", table.name);
    let kept: Vec<Column> = table.columns.iter().filter(|c| !later.contains(&c.name)).copied().collect();
    let columns = kept.iter().map(|c| c.name).filter(|c| !added.contains(c)).collect::<Vec<_>>().join(", ");
    let mut out = vec![
        create_table_of(table, &kept, &copy, dialect),
        format!("INSERT INTO {copy} ({columns}) SELECT {columns} FROM {}", table.name),
        format!("DROP TABLE {}", table.name),
        format!("ALTER TABLE {copy} RENAME TO {}", table.name),
    ];
    for (name, t, col) in indexes(dialect).filter(|(_, t, _)| *t == table.name) {
        out.push(format!("CREATE INDEX IF NOT EXISTS {name} ON {t} ({col})"));
    }
    for &index in UNIQUE_INDEXES.iter().filter(|(_, t, col)| *t == table.name && !later.contains(col)) {
        out.extend(add_unique_index(index, dialect));
    }
    out
}

/// Adds a unique index of [`UNIQUE_INDEXES`] to an existing table, unless it is there already.
fn add_unique_index((name, table, col): (&str, &str, &str), dialect: Dialect) -> Vec<String> {
    match dialect {
        Dialect::Sqlite | Dialect::Postgres => {
            vec![format!("CREATE UNIQUE INDEX IF NOT EXISTS {name} ON {table} ({col})")]
        }
        Dialect::Mysql => {
            prepared_if_index(name, table, false, &format!("ALTER TABLE {table} ADD UNIQUE KEY {name} ({col})"))
        }
    }
}

/// Adds a column of the current schema to an existing table, unless it is there already.
fn add_column(table: &str, name: &str, dialect: Dialect) -> Vec<String> {
    let Some(c) = column(table, name) else { return Vec::new() };
    let ddl = format!("ALTER TABLE {table} ADD COLUMN {}", column_sql(c, table, dialect));
    match dialect {
        // Runs inside the migration's transaction, which the version check guards.
        Dialect::Sqlite => vec![ddl],
        Dialect::Postgres => vec![ddl.replacen("ADD COLUMN", "ADD COLUMN IF NOT EXISTS", 1)],
        Dialect::Mysql => {
            let test = format!(
                "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = DATABASE() \
                 AND table_name = '{table}' AND column_name = '{name}'"
            );
            prepared_if(&test, "= 0", &ddl)
        }
    }
}

/// Version 2: `audit_log.old_value`/`new_value` become nullable, without a default. (SQLite
/// rebuilds into the current definition less the columns version 3 adds; a later version that
/// changes `audit_log` again must pin this step's shape further.)
fn audit_values_nullable(dialect: Dialect) -> Vec<String> {
    const COLUMNS: [&str; 2] = ["old_value", "new_value"];
    let audit = &AUDIT_LOG;
    match dialect {
        Dialect::Sqlite => sqlite_rebuild(audit, &[], AUDIT_ADDED_V3),
        Dialect::Postgres => {
            let changes: Vec<String> = COLUMNS
                .iter()
                .flat_map(|c| [format!("ALTER COLUMN {c} DROP NOT NULL"), format!("ALTER COLUMN {c} DROP DEFAULT")])
                .collect();
            vec![format!("ALTER TABLE audit_log {}", changes.join(", "))]
        }
        // MODIFY restates the whole column; MEDIUMTEXT has no default on MySQL.
        Dialect::Mysql => {
            let changes: Vec<String> = audit
                .columns
                .iter()
                .filter(|c| COLUMNS.contains(&c.name))
                .map(|c| format!("MODIFY {}", column_sql(c, audit.name, dialect)))
                .collect();
            vec![format!("ALTER TABLE audit_log {}", changes.join(", "))]
        }
    }
}

/// Drops an index of an earlier version, if it is there.
fn drop_index((name, table): (&str, &str), dialect: Dialect) -> Vec<String> {
    match dialect {
        Dialect::Sqlite | Dialect::Postgres => vec![format!("DROP INDEX IF EXISTS {name}")],
        Dialect::Mysql => prepared_if_index(name, table, true, &format!("ALTER TABLE {table} DROP KEY {name}")),
    }
}

/// MySQL has no `IF [NOT] EXISTS` for indexes (MariaDB has): look the index up and prepare
/// either `ddl` (when the index is there, if `when_present`; when it is not, otherwise) or a
/// no-op, so that the step needs no error to be tolerated and can run again.
fn prepared_if_index(name: &str, table: &str, when_present: bool, ddl: &str) -> Vec<String> {
    let count = format!(
        "SELECT COUNT(*) FROM information_schema.statistics WHERE table_schema = DATABASE() \
         AND table_name = '{table}' AND index_name = '{name}'"
    );
    prepared_if(&count, if when_present { "> 0" } else { "= 0" }, ddl)
}

/// MySQL: runs `ddl` when the count `count` answers passes `test`, else a no-op.
fn prepared_if(count: &str, test: &str, ddl: &str) -> Vec<String> {
    vec![
        format!("SET @morapi_ddl = IF(({count}) {test}, '{}', 'DO 0')", ddl.replace('\'', "''")),
        "PREPARE morapi_ddl FROM @morapi_ddl".into(),
        "EXECUTE morapi_ddl".into(),
        "DEALLOCATE PREPARE morapi_ddl".into(),
    ]
}

/// Adds a secondary index of [`INDEXES`] to an existing table, unless it is there already.
fn add_index((name, table, col): (&str, &str, &str), dialect: Dialect) -> Vec<String> {
    match dialect {
        Dialect::Sqlite | Dialect::Postgres => vec![format!("CREATE INDEX IF NOT EXISTS {name} ON {table} ({col})")],
        Dialect::Mysql => prepared_if_index(name, table, false, &format!("ALTER TABLE {table} ADD KEY {name} ({col})")),
    }
}

/// The whole schema as one script (SQLite, tests).
pub fn script(dialect: Dialect) -> String {
    create_statements(dialect).iter().map(|s| format!("{s};\n")).collect()
}

/// Tables whose `id` comes from a sequence (PostgreSQL must be told after explicit ids).
pub fn table_names() -> impl Iterator<Item = &'static str> {
    TABLES.iter().map(|t| t.name)
}

/// A column of the schema.
pub fn column(table: &str, column: &str) -> Option<&'static Column> {
    TABLES.iter().find(|t| t.name == table)?.columns.iter().find(|c| c.name == column)
}

/// The type of a column, when the schema has it.
pub fn column_type(table: &str, name: &str) -> Option<Ty> {
    column(table, name).map(|c| c.ty)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(feature = "sqlite")]
    fn sqlite_schema_creates_every_table() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch(&script(Dialect::Sqlite)).unwrap();
        // Idempotent.
        conn.execute_batch(&script(Dialect::Sqlite)).unwrap();
        for t in TABLES {
            let n: i64 = conn
                .query_row("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?1", [t.name], |r| {
                    r.get(0)
                })
                .unwrap();
            assert_eq!(n, 1, "{}", t.name);
        }
    }

    #[test]
    fn migrations_are_numbered_in_order_and_the_last_is_the_version() {
        let versions: Vec<i64> = MIGRATIONS.iter().map(|m| m.version).collect();
        assert_eq!(versions, (1..=VERSION).collect::<Vec<_>>());
        assert!(MIGRATIONS.iter().all(|m| !m.name.is_empty()));
        assert_eq!(pending(2).map(|m| m.version).collect::<Vec<_>>(), (3..=VERSION).collect::<Vec<_>>());
        assert_eq!(pending(VERSION).count(), 0);
    }

    #[test]
    fn the_open_policy() {
        use Policy::*;
        let older = Found::At(VERSION - 1);
        let newer = Found::At(VERSION + 1);
        for policy in [Current, Upgrade] {
            assert_eq!(plan(Found::Empty, policy).ok(), Some(Plan::Create), "{policy:?}");
            assert_eq!(plan(Found::At(VERSION), policy).ok(), Some(Plan::Nothing), "{policy:?}");
            let e = plan(newer, policy).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(e.contains("newer than this morapi's"), "{e}");
        }
        assert_eq!(plan(older, Upgrade).ok(), Some(Plan::Upgrade { from: VERSION - 1 }));
        let e = plan(Found::At(1), Current).err().map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(
            e,
            format!(
                "the database has schema version 1; this morapi needs {VERSION}: run `morapi migrate` \
                 (or serve --migrate) with a role that may change the schema"
            )
        );
        for found in [Found::Empty, older, Found::At(VERSION), newer] {
            assert_eq!(plan(found, Inspect).ok(), Some(Plan::Nothing), "{found:?}");
        }
        assert_eq!(Found::recorded(None), Found::Empty);
        assert_eq!(Found::recorded(Some(3)), Found::At(3));
    }

    #[test]
    fn every_table_has_a_primary_key() {
        for t in TABLES {
            assert_eq!(t.columns.first().map(|c| c.ty), Some(Ty::Id), "{}", t.name);
        }
    }

    #[test]
    fn version_1_upgrades_on_every_engine_and_mysql_needs_no_if_not_exists() {
        for d in [Dialect::Sqlite, Dialect::Postgres, Dialect::Mysql] {
            assert!(upgrade_statements(d, VERSION).is_empty(), "{d:?}");
            let from_1 = upgrade_statements(d, 1).join(";\n");
            let (index, old_index) = match d {
                Dialect::Mysql => (
                    "ADD KEY index_audit_log_on_target_id_and_request_id (target_id, request_id)",
                    "DROP KEY index_audit_log_on_target_id'",
                ),
                Dialect::Postgres => (
                    "CREATE INDEX IF NOT EXISTS index_audit_log_on_target_id_and_request_id ON audit_log (target_id, request_id)",
                    "DROP INDEX IF EXISTS index_audit_log_on_target_id;",
                ),
                // SQLite keeps version 1's index, recreated with the rebuilt table.
                Dialect::Sqlite => (
                    "CREATE INDEX IF NOT EXISTS index_audit_log_on_target_id ON audit_log (target_id)",
                    "ALTER TABLE audit_log_rebuilt RENAME TO audit_log;",
                ),
            };
            assert!(from_1.contains(index), "{d:?}: {from_1}");
            assert!(format!("{from_1};").contains(old_index), "{d:?}: {from_1}");
            assert_eq!(from_1.contains("request_id)"), d != Dialect::Sqlite, "{d:?}: {from_1}");
        }
        // MariaDB accepts IF NOT EXISTS on indexes and columns, MySQL does not (only on tables):
        // the steps must work without it.
        let my = upgrade_statements(Dialect::Mysql, 1).join(";\n");
        let without_tables = my.replace("CREATE TABLE IF NOT EXISTS", "");
        assert!(!without_tables.contains("IF NOT EXISTS"), "{my}");
        assert!(my.contains("ALTER TABLE audit_log MODIFY old_value MEDIUMTEXT, MODIFY new_value MEDIUMTEXT"), "{my}");
        let pg = upgrade_statements(Dialect::Postgres, 1).join(";\n");
        assert!(
            pg.contains("ALTER COLUMN old_value DROP NOT NULL") && pg.contains("ALTER COLUMN new_value DROP DEFAULT")
        );
    }

    #[test]
    fn mysql_and_postgres_render_exact_types() {
        let my = script(Dialect::Mysql);
        assert!(my.contains("credit DECIMAL(30,15) NOT NULL DEFAULT 0"));
        assert!(my.contains("ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"));
        assert!(my.contains("comment MEDIUMTEXT,"));
        let pg = script(Dialect::Postgres);
        assert!(pg.contains("credit NUMERIC(30,15) NOT NULL DEFAULT 0"));
        assert!(pg.contains("block_at DATE DEFAULT '2008-01-01'"));
    }
}
