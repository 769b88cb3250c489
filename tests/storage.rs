//! The shared storage suite: the [`AdminStore`] contract, exercised through
//! [`Database::transact`], written once for every backend.
//!
//! Each check is a function of [`suite`] taking a freshly opened, empty (migrated) [`Store`]. The
//! [`storage_suite!`] macro turns the list of checks into `#[tokio::test]`s for one opener. The
//! opener used below runs on SQLite by default, and on a scratch database of the server named by
//! `MORAPI_TEST_DATABASE` (`postgres://…`, `mysql://…`) when that is set, so the same checks run
//! on every backend (`scripts/test`). `Database::transact` may run its closure more than once on
//! server engines, so every closure here can be repeated.

use morapi::catalogue::params::RefKind;
use morapi::storage::Tx;
use morapi::storage::sql::Dialect;
use morapi::storage::{
    Account, AdminStore, AuditEntry, AuditEvent, AuditKey, ChangeSet, Database, Locks, Reference, RefusalFilter,
    RefusalRecord, RefusalScope, Row, StoreError, Table, Value, demo, int, schema, text,
};

/// A freshly created database of one backend, and how to open it again.
pub struct Store {
    pub db: Database,
    /// Reopens the same database ([`Database::open`]).
    pub url: String,
    /// Whatever keeps the database alive until the end of the test (SQLite: its temporary
    /// directory; a server engine: the scratch database, dropped afterwards).
    _keep: Box<dyn std::any::Any + Send>,
}

/// Drops a scratch server database at the end of a test.
struct Scratch(String);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = morapi::storage::scratch::drop(&self.0);
    }
}

/// SQLite: a new file in a new temporary directory.
async fn open_sqlite() -> Store {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("suite.db").display());
    let db = Database::open(&url).expect("database opens");
    Store { db, url, _keep: Box::new(dir) }
}

/// The engine under test: SQLite, or a scratch database on the server named by
/// `MORAPI_TEST_DATABASE` (as `tests/common` and `scripts/test` do).
async fn open_store() -> Store {
    match std::env::var("MORAPI_TEST_DATABASE") {
        Ok(server) if !server.is_empty() && !server.starts_with("sqlite") => {
            let url = morapi::storage::scratch::create(&server).expect("scratch database");
            let db = Database::open(&url).expect("database opens");
            Store { db, url: url.clone(), _keep: Box::new(Scratch(url)) }
        }
        _ => open_sqlite().await,
    }
}

/// Runs `f` in a transaction that keeps nothing and returns its answer.
async fn read<T, F>(db: &Database, f: F) -> T
where
    T: Send + 'static,
    F: Fn(&mut dyn AdminStore) -> morapi::storage::Result<T> + Send + 'static,
{
    db.administer(move |repo| Ok(Tx::Rollback(f(repo)?))).await.expect("read transaction")
}

/// Runs `f` in a transaction that keeps its writes.
async fn write<T, F>(db: &Database, f: F) -> T
where
    T: Send + 'static,
    F: Fn(&mut dyn AdminStore) -> morapi::storage::Result<T> + Send + 'static,
{
    db.administer(move |repo| Ok(Tx::Commit(f(repo)?))).await.expect("write transaction")
}

async fn load_demo(db: &Database) {
    assert!(demo::load(db).await.expect("demo loads"), "a fresh database has no users");
}

async fn script(db: &Database, sql: &'static str) {
    write(db, move |repo| repo.execute_script(sql)).await;
}

fn entry(n: usize, event: AuditEvent) -> AuditEntry {
    AuditEntry {
        created_at: format!("2026-01-0{}T10:00:00.000000Z", n + 1),
        request_id: format!("req{n:013}"),
        event,
        actor_id: if n == 1 { None } else { Some(n as i64) },
        actor_username: format!("actor {n} – ž"),
        client_addr: "192.0.2.1".into(),
        endpoint: "user_details_update".into(),
        target_id: if event == AuditEvent::Change { Some(123) } else { None },
        field: if event == AuditEvent::Change { format!("field{n}") } else { String::new() },
        old_value: Some(format!("old {n}")),
        new_value: Some(format!("new {n} <&>")),
        signed_with: if n == 2 { "next:0".into() } else { String::new() },
    }
}

// ---------------------------------------------------------------------------------------------
// Schema upgrades, checked with the engine's own driver on the side, as an operator or an older
// morapi would reach the database.

fn dialect(url: &str) -> Dialect {
    match url.split_once("://").map(|(scheme, _)| scheme) {
        Some("postgres" | "postgresql") => Dialect::Postgres,
        Some("mysql" | "mariadb") => Dialect::Mysql,
        _ => Dialect::Sqlite,
    }
}

/// Runs `statements` in order on one new connection to the database at `url`, and returns the
/// first column of the last one's rows as text (NULL as `NULL`). On a plain thread: the
/// PostgreSQL driver must not block inside the test's runtime.
fn raw(url: &str, statements: &[String]) -> Vec<String> {
    let (url, statements) = (url.to_string(), statements.to_vec());
    std::thread::spawn(move || {
        let (last, init) = statements.split_last().expect("a statement");
        let rows: Vec<Option<String>> = match dialect(&url) {
            Dialect::Sqlite => {
                let c = rusqlite::Connection::open(&url["sqlite://".len()..]).expect("sqlite opens");
                for s in init {
                    c.execute_batch(s).unwrap_or_else(|e| panic!("{s}: {e}"));
                }
                let mut q = c.prepare(last).unwrap_or_else(|e| panic!("{last}: {e}"));
                q.query_map([], |r| r.get(0)).expect("query").collect::<Result<_, _>>().expect("rows")
            }
            Dialect::Postgres => {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
                runtime.block_on(async {
                    let (c, connection) =
                        tokio_postgres::connect(&url, tokio_postgres::NoTls).await.expect("postgres connects");
                    tokio::spawn(connection);
                    for s in init {
                        c.batch_execute(s).await.unwrap_or_else(|e| panic!("{s}: {e}"));
                    }
                    let rows = c.query(last.as_str(), &[]).await.unwrap_or_else(|e| panic!("{last}: {e}"));
                    rows.iter().map(|r| r.get(0)).collect()
                })
            }
            Dialect::Mysql => {
                use mysql::prelude::Queryable;
                let url = url.replacen("mariadb://", "mysql://", 1);
                let mut c = mysql::Conn::new(mysql::Opts::from_url(&url).expect("URL")).expect("mysql connects");
                for s in init {
                    c.query_drop(s).unwrap_or_else(|e| panic!("{s}: {e}"));
                }
                c.query(last).unwrap_or_else(|e| panic!("{last}: {e}"))
            }
        };
        rows.into_iter().map(|v| v.unwrap_or_else(|| "NULL".into())).collect()
    })
    .join()
    .expect("the driver thread")
}

/// `expr` as text in a query on the database at `url`.
fn as_text(url: &str, expr: &str) -> String {
    match dialect(url) {
        Dialect::Mysql => format!("CAST({expr} AS CHAR)"),
        Dialect::Sqlite | Dialect::Postgres => format!("CAST({expr} AS TEXT)"),
    }
}

/// `audit_log` as the engine's catalogue describes it: every column (type, nullability,
/// default) and every index.
fn audit_log_shape(url: &str) -> Vec<String> {
    let (columns, indexes) = match dialect(url) {
        Dialect::Sqlite => (
            "SELECT name || ' ' || type || ' ' || \"notnull\" || ' ' || ifnull(dflt_value, '-') || ' ' || pk \
             FROM pragma_table_info('audit_log') ORDER BY cid",
            "SELECT il.name || ' ' || ii.name || ' ' || il.\"unique\" FROM pragma_index_list('audit_log') il, \
             pragma_index_info(il.name) ii ORDER BY 1",
        ),
        Dialect::Postgres => (
            "SELECT column_name || ' ' || data_type || ' ' || is_nullable || ' ' || coalesce(column_default, '-') \
             || ' ' || is_identity FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = 'audit_log' ORDER BY ordinal_position",
            "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'audit_log' \
             ORDER BY indexname",
        ),
        Dialect::Mysql => (
            "SELECT CONCAT_WS(' ', column_name, column_type, is_nullable, IFNULL(column_default, '-'), \
             IFNULL(collation_name, '-'), extra) FROM information_schema.columns \
             WHERE table_schema = DATABASE() AND table_name = 'audit_log' ORDER BY ordinal_position",
            "SELECT CONCAT_WS(' ', index_name, seq_in_index, column_name, non_unique) FROM information_schema.statistics \
             WHERE table_schema = DATABASE() AND table_name = 'audit_log' ORDER BY index_name, seq_in_index",
        ),
    };
    let mut shape = raw(url, &[columns.into()]);
    shape.extend(raw(url, &[indexes.into()]));
    shape
}

/// The rows a version-1 audit trail holds; ids with gaps, as a real trail has.
const VERSION_1_ROWS: &str = "INSERT INTO audit_log (id, created_at, request_id, event, actor_id, actor_username, \
     client_addr, endpoint, target_id, field, old_value, new_value) VALUES \
     (7, '2025-01-01T00:00:00.000000Z', 'req7', 'change', 0, 'admin', '127.0.0.1', 'user_details_update', 123, \
     'comment', '', 'first'), \
     (9, '2025-01-02T00:00:00.000000Z', 'req9', 'hash_refused', NULL, 'nobody', '127.0.0.1', \
     'user_details_update', NULL, '', '', 'Incorrect hash')";

/// Turns the (fresh) database at `url` back into what version 1 left: `audit_log` as version 1
/// created it, holding [`VERSION_1_ROWS`], and version 1 recorded (SQLite recorded none).
fn make_version_1(url: &str) {
    let d = dialect(url);
    let text = if d == Dialect::Mysql { "VARCHAR(255)" } else { "TEXT" };
    let long_text = if d == Dialect::Mysql { "MEDIUMTEXT" } else { "TEXT" };
    let (id, int) = match d {
        Dialect::Sqlite => ("INTEGER PRIMARY KEY", "INTEGER"),
        Dialect::Postgres => ("BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", "BIGINT"),
        Dialect::Mysql => ("BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY", "BIGINT"),
    };
    // Version 1's values were NOT NULL with an empty default (MySQL allows no TEXT default).
    let value_default = if d == Dialect::Mysql { "" } else { " DEFAULT ''" };
    let (key, suffix) = match d {
        Dialect::Mysql => {
            let collation = raw(
                url,
                &["SELECT table_collation FROM information_schema.tables WHERE table_schema = DATABASE() \
                   AND table_name = 'audit_log'"
                    .into()],
            );
            (
                ",\n    KEY index_audit_log_on_target_id (target_id)".to_string(),
                format!(" ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE={}", collation[0]),
            )
        }
        Dialect::Sqlite | Dialect::Postgres => (String::new(), String::new()),
    };
    let mut statements = vec![
        "DROP TABLE audit_log".to_string(),
        format!(
            "CREATE TABLE audit_log (\n    id {id},\n    created_at {text} NOT NULL,\n    request_id {text} NOT NULL,\n    \
             event {text} NOT NULL,\n    actor_id {int},\n    actor_username {text} NOT NULL DEFAULT '',\n    \
             client_addr {text} NOT NULL DEFAULT '',\n    endpoint {text} NOT NULL DEFAULT '',\n    target_id {int},\n    \
             field {text} NOT NULL DEFAULT '',\n    old_value {long_text} NOT NULL{value_default},\n    \
             new_value {long_text} NOT NULL{value_default}{key}\n){suffix}"
        ),
    ];
    if d != Dialect::Mysql {
        statements.push("CREATE INDEX index_audit_log_on_target_id ON audit_log (target_id)".into());
    }
    statements.push(VERSION_1_ROWS.into());
    if d == Dialect::Postgres {
        // Version 1 took these ids from the identity sequence.
        statements.push("SELECT setval(pg_get_serial_sequence('audit_log', 'id'), 9)".into());
    }
    statements.push("DELETE FROM schema_migrations".into());
    if d != Dialect::Sqlite {
        statements.push("INSERT INTO schema_migrations (version) VALUES (1)".into());
    }
    statements.push("SELECT 'done'".into());
    raw(url, &statements);
}

/// Opens the database at `url` as `morapi migrate` or `serve --migrate` do: an older schema is
/// brought to the current version.
/// Statements that take a current database back to version 4's shape: version 5's columns,
/// indexes and tables removed (SQLite drops a column only once no index covers it).
fn undo_version_5(url: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    if dialect(url) == Dialect::Sqlite {
        for index in ["index_users_on_uniquehash", "index_devices_on_extension", "index_devices_on_pin"] {
            out.push(format!("DROP INDEX {index}"));
        }
    }
    out.push("ALTER TABLE users DROP COLUMN uniquehash".into());
    for column in ["device_type", "extension", "username", "secret", "pin", "callerid", "location_id"] {
        out.push(format!("ALTER TABLE devices DROP COLUMN {column}"));
    }
    out.extend(["DROP TABLE callerids".into(), "DROP TABLE locations".into()]);
    out
}

fn upgrade(url: &str) -> morapi::storage::Result<Database> {
    let options = morapi::storage::PoolOptions { schema: schema::Policy::Upgrade, ..Default::default() };
    Database::open_with(url, options)
}

/// Checks that the database at `url` has the shape of a fresh one (`fresh`), kept the version-1
/// rows with their ids, and now keeps NULL apart from the empty string.
async fn assert_upgraded(url: &str, fresh: &[String]) {
    assert_eq!(audit_log_shape(url), fresh, "audit_log after the upgrade is audit_log of a fresh database");
    let ids = format!("SELECT {} FROM audit_log ORDER BY audit_log.id", as_text(url, "id"));
    assert_eq!(raw(url, std::slice::from_ref(&ids)), ["7", "9"]);
    let db = Database::open(url).expect("the upgraded database opens without --migrate");
    let kept = read(&db, |r| r.audit_entries()).await;
    let values: Vec<_> = kept.iter().map(|e| (e.old_value.as_deref(), e.new_value.as_deref())).collect();
    assert_eq!(values, [(Some(""), Some("first")), (Some(""), Some("Incorrect hash"))]);
    let null_to_empty = AuditEntry { old_value: None, new_value: Some(String::new()), ..entry(0, AuditEvent::Change) };
    let e = null_to_empty.clone();
    write(&db, move |r| r.insert_audit(std::slice::from_ref(&e))).await;
    assert_eq!(read(&db, |r| r.audit_entries()).await.last(), Some(&null_to_empty));
    assert_eq!(raw(url, &[ids]), ["7", "9", "10"], "new rows continue after the kept ids");
}

macro_rules! storage_suite {
    ($backend:ident => $open:path; $($check:ident),* $(,)?) => {
        mod $backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $check() {
                    let store = $open().await;
                    super::suite::$check(store).await;
                }
            )*
        }
    };
}

/// The checks. Each gets a fresh, empty store.
mod suite {
    use super::*;

    pub async fn a_fresh_database_is_empty_and_migrated(s: Store) {
        assert_eq!(read(&s.db, |r| r.user_count()).await, 0);
        assert!(read(&s.db, |r| r.audit_entries()).await.is_empty());
        assert_eq!(read(&s.db, |r| r.setting(0, "allow_api")).await, None);
        // Opening the same database again migrates nothing away.
        load_demo(&s.db).await;
        let again = Database::open(&s.url).expect("reopens");
        assert_eq!(read(&again, |r| r.user_count()).await, 8);
    }

    pub async fn users_by_username_and_id(s: Store) {
        load_demo(&s.db).await;
        let john = read(&s.db, |r| r.user_by_username("john")).await.expect("john");
        assert_eq!(
            (int(&john, "id"), text(&john, "username"), text(&john, "usertype"), int(&john, "owner_id")),
            (Some(123), "john".into(), "user".into(), Some(0))
        );
        assert_eq!(text(&john, "first_name"), "John");
        assert_eq!(int(&john, "address_id"), Some(1));
        assert_eq!(read(&s.db, |r| r.user_by_username("nobody")).await, None);
        assert_eq!(read(&s.db, |r| r.user_by_username("")).await, None);

        let admin = read(&s.db, |r| r.user_by_id(0)).await.expect("admin");
        assert_eq!(
            (text(&admin, "username"), text(&admin, "usertype"), int(&admin, "owner_id")),
            ("admin".into(), "admin".into(), Some(0))
        );
        assert_eq!(admin.get("address_id"), Some(&Value::Null));
        let alice = read(&s.db, |r| r.user_by_id(201)).await.expect("alice");
        assert_eq!((text(&alice, "username"), int(&alice, "owner_id")), ("alice".into(), Some(200)));
        assert_eq!(read(&s.db, |r| r.user_by_id(999)).await, None);
        assert_eq!(read(&s.db, |r| r.user_by_id(-1)).await, None);

        // The row of the same user is the same whichever way it is looked up.
        let by_id = read(&s.db, |r| r.user_by_id(123)).await.expect("john by id");
        assert_eq!(by_id, john);
        let locked = read(&s.db, |r| r.user_for_update(123)).await.expect("john for update");
        assert_eq!(locked, john);
        assert_eq!(read(&s.db, |r| r.user_for_update(999)).await, None);
    }

    pub async fn settings_missing_and_upserted(s: Store) {
        load_demo(&s.db).await;
        assert_eq!(read(&s.db, |r| r.setting(0, "allow_api")).await.as_deref(), Some("1"));
        assert_eq!(read(&s.db, |r| r.setting(0, "api_secret_key")).await.as_deref(), Some("456789"));
        assert_eq!(read(&s.db, |r| r.setting(200, "api_secret_key")).await.as_deref(), Some("reseller-secret"));
        assert_eq!(read(&s.db, |r| r.setting(0, "no_such_setting")).await, None);
        assert_eq!(read(&s.db, |r| r.setting(201, "allow_api")).await, None, "settings are per owner");

        write(&s.db, |r| r.set_setting(0, "two_fa_enabled", "1")).await;
        assert_eq!(read(&s.db, |r| r.setting(0, "two_fa_enabled")).await.as_deref(), Some("1"));
        // Upsert: a second value replaces the first (no duplicate-key error, no second row).
        write(&s.db, |r| r.set_setting(0, "two_fa_enabled", "0")).await;
        write(&s.db, |r| r.set_setting(0, "allow_api", "0")).await;
        assert_eq!(read(&s.db, |r| r.setting(0, "two_fa_enabled")).await.as_deref(), Some("0"));
        assert_eq!(read(&s.db, |r| r.setting(0, "allow_api")).await.as_deref(), Some("0"));
        // Owners are independent; an empty value is a value, not a missing row.
        write(&s.db, |r| r.set_setting(200, "allow_api", "")).await;
        assert_eq!(read(&s.db, |r| r.setting(200, "allow_api")).await.as_deref(), Some(""));
        assert_eq!(read(&s.db, |r| r.setting(0, "allow_api")).await.as_deref(), Some("0"));
        // Values round-trip exactly (spaces and unicode kept).
        write(&s.db, |r| r.set_setting(7, "api_secret_key", " kéy 😀 ")).await;
        assert_eq!(read(&s.db, |r| r.setting(7, "api_secret_key")).await.as_deref(), Some(" kéy 😀 "));
    }

    /// The demo record each kind is checked with: (id, owner, kind text).
    fn demo_reference(kind: RefKind) -> (i64, i64, &'static str) {
        match kind {
            RefKind::Tariff => (3, 0, "provider"),
            RefKind::Lcr => (3, 200, ""),
            RefKind::PbxPool => (2, 200, ""),
            RefKind::QuickforwardRule => (4, 200, ""),
            RefKind::Currency => (2, 0, "EUR"),
            RefKind::Direction => (3, 0, "United Kingdom"),
            RefKind::SoundFile => (2, 200, ""),
            RefKind::Device => (3, 201, ""),
            RefKind::NumberPool => (2, 0, ""),
            RefKind::AccGroup => (3, 0, "reseller"),
        }
    }

    const REF_KINDS: [RefKind; 10] = [
        RefKind::Tariff,
        RefKind::Lcr,
        RefKind::PbxPool,
        RefKind::QuickforwardRule,
        RefKind::Currency,
        RefKind::Direction,
        RefKind::SoundFile,
        RefKind::Device,
        RefKind::NumberPool,
        RefKind::AccGroup,
    ];

    pub async fn references_of_every_kind(s: Store) {
        load_demo(&s.db).await;
        for kind in REF_KINDS {
            let (id, owner_id, k) = demo_reference(kind);
            let found = read(&s.db, move |r| r.reference(kind, id)).await;
            assert_eq!(found, Some(Reference { id, owner_id, kind: k.to_string() }), "{kind:?} {id}");
            assert_eq!(read(&s.db, move |r| r.reference(kind, 999)).await, None, "{kind:?} 999");
            assert_eq!(read(&s.db, move |r| r.reference(kind, -1)).await, None, "{kind:?} -1");
        }
        // Purposes and owners of the other tariffs.
        let t = |id| read(&s.db, move |r| r.reference(RefKind::Tariff, id));
        assert_eq!(t(1).await.map(|r| (r.owner_id, r.kind)), Some((0, "user".into())));
        assert_eq!(t(2).await.map(|r| (r.owner_id, r.kind)), Some((0, "user_wholesale".into())));
        assert_eq!(t(4).await.map(|r| (r.owner_id, r.kind)), Some((200, "user".into())));
        let g = read(&s.db, |r| r.reference(RefKind::AccGroup, 1)).await.expect("group 1");
        assert_eq!(g.kind, "accountant");
    }

    pub async fn group_rights(s: Store) {
        load_demo(&s.db).await;
        script(
            &s.db,
            "INSERT INTO acc_groups (id, name, group_type, only_view, owner_id) VALUES (20, 'View only', 'accountant', 1, 0), (21, 'Empty view only', 'accountant', 1, 0);
             INSERT INTO acc_group_rights (acc_group_id, acc_right_id, value) VALUES (20, 1, 2), (20, 5, 1);",
        )
        .await;
        let right =
            |g: i64, name: &'static str| read(&s.db, move |r| r.group_rights(g).map(|g| (g.value(name), g.only_view)));
        assert_eq!(right(1, "user_manage").await, (2, false));
        assert_eq!(right(1, "user_create_opt_7").await, (2, false));
        assert_eq!(right(2, "user_manage").await, (1, false));
        assert_eq!(right(2, "user_create_opt_1").await, (0, false), "a right the group does not list");
        assert_eq!(right(3, "pbx_functions").await, (2, false));
        assert_eq!(right(1, "no_such_right").await, (0, false));
        assert_eq!(right(999, "user_manage").await, (0, false), "a missing group");
        assert_eq!(right(0, "user_manage").await, (0, false), "group 0 (none)");
        // The raw value and the view-only flag: interpreting them is the caller's business.
        assert_eq!(right(20, "user_manage").await, (2, true));
        assert_eq!(right(20, "user_create_opt_4").await, (1, true));
        assert_eq!(right(21, "user_manage").await, (0, true));
    }

    pub async fn username_taken(s: Store) {
        load_demo(&s.db).await;
        let taken = |name: &'static str, except: i64| read(&s.db, move |r| r.username_taken(name, except));
        assert!(taken("john", 0).await);
        assert!(taken("john", 789).await);
        assert!(!taken("john", 123).await, "the user's own name");
        assert!(!taken("nobody", 0).await);
        assert!(taken("reseller", 123).await);
        assert!(taken("admin", 123).await);
        assert!(!taken("admin", 0).await);
        assert!(!taken("joh", 0).await, "no prefix match");
        assert!(!taken("j%", 0).await, "no pattern match");
        assert!(!taken("j_hn", 0).await, "no pattern match");
        // Taken exactly when that name would log in as another user (same comparison).
        for variant in ["john ", " john", "JOHN", "John"] {
            let logs_in = read(&s.db, move |r| r.user_by_username(variant)).await.is_some();
            assert_eq!(taken(variant, 0).await, logs_in, "{variant:?}");
        }
    }

    pub async fn email_in_use(s: Store) {
        load_demo(&s.db).await;
        // Inserted with bound values, so no engine's string-literal escaping is involved.
        write(&s.db, |r| {
            for (id, email) in [
                (10, Value::from("First@Example.com; second@example.org")),
                (11, "abc@wild.test".into()),
                (12, "a_b@esc.test".into()),
                (13, "p%q@esc.test".into()),
                (14, "back\\slash@esc.test".into()),
                (15, Value::Null),
                (16, "".into()),
                (17, "twice@example.com".into()),
                (18, "TWICE@example.com".into()),
            ] {
                r.insert_row(Table::Addresses, &[("id", Value::Int(id)), ("email", email)])?;
            }
            Ok(())
        })
        .await;
        let used = |e: &'static str, except: Option<i64>| read(&s.db, move |r| r.email_in_use(e, except));

        // Exact and case-insensitive.
        assert!(used("john@example.com", None).await);
        assert!(used("JOHN@Example.COM", None).await);
        assert!(used("first@example.com", None).await);
        assert!(used("FIRST@EXAMPLE.COM", None).await);
        assert!(!used("nobody@example.com", None).await);

        // Several addresses in one row, each found; parts of addresses are not addresses.
        assert!(used("second@example.org", None).await);
        assert!(!used("econd@example.org", None).await);
        assert!(!used("second@example.or", None).await);
        assert!(!used("example.org", None).await);
        assert!(!used("first@example.com; second@example.org", None).await);

        // The own address row does not count; any other row does.
        assert!(!used("john@example.com", Some(1)).await);
        assert!(used("john@example.com", Some(2)).await);
        assert!(!used("second@example.org", Some(10)).await);
        assert!(used("twice@example.com", Some(17)).await, "another row holds it too");
        assert!(used("twice@example.com", Some(18)).await);

        // LIKE wildcards in the searched address match only themselves.
        assert!(used("abc@wild.test", None).await);
        assert!(!used("a_c@wild.test", None).await);
        assert!(!used("%@wild.test", None).await);
        assert!(!used("abc@wild.tes_", None).await);
        assert!(!used("%", None).await);
        assert!(!used("_", None).await);
        assert!(!used("a_b@esc.tes%", None).await);
        assert!(used("a_b@esc.test", None).await);
        assert!(used("p%q@esc.test", None).await);
        assert!(!used("p%@esc.test", None).await);
        assert!(used("back\\slash@esc.test", None).await);
        assert!(!used("back\\%@esc.test", None).await);

        // Rows with a NULL or empty e-mail are skipped without trouble.
        assert!(!used("null@esc.test", None).await);

        // A whole list at once answers like one address at a time, in the list's order, a
        // repeated address as often.
        let probes = [
            "JOHN@example.com",
            "nobody@example.com",
            "second@example.org",
            "a_c@wild.test",
            "twice@example.com",
            "p%q@esc.test",
            "john@example.com",
            "%",
        ];
        for except in [None, Some(1), Some(10), Some(17)] {
            let mut one_by_one = Vec::new();
            for e in probes {
                if used(e, except).await {
                    one_by_one.push(e);
                }
            }
            assert_eq!(read(&s.db, move |r| r.emails_in_use(&probes, except)).await, one_by_one, "{except:?}");
        }
        assert!(read(&s.db, |r| r.emails_in_use(&[], None)).await.is_empty());
    }

    /// The e-mail rows of address `id` as stored (sorted).
    fn address_emails(url: &str, id: i64) -> Vec<String> {
        raw(url, &[format!("SELECT email FROM address_emails WHERE address_id = {id} ORDER BY email")])
    }

    /// Every address's e-mail rows, and how many rows there are in all.
    fn all_address_emails(url: &str) -> (Vec<(i64, Vec<String>)>, String) {
        let ids = raw(url, &[format!("SELECT {} FROM addresses ORDER BY id", as_text(url, "id"))]);
        let per_address =
            ids.iter().map(|id| id.parse().expect("id")).map(|id| (id, address_emails(url, id))).collect();
        (per_address, raw(url, &[format!("SELECT {} FROM address_emails", as_text(url, "COUNT(*)"))])[0].clone())
    }

    /// The addresses in use follow every write of `addresses.email` through the port: an insert
    /// (each address of the list once, as the rule compares it), an update (the old list's
    /// addresses are gone), an update of other columns, NULL and empty lists, a request's change
    /// (`apply`), a delete; and a rolled-back change keeps the old rows.
    pub async fn addresses_in_use_follow_every_write(s: Store) {
        load_demo(&s.db).await;
        let used = |e: &'static str| read(&s.db, move |r| r.email_in_use(e, None));
        let id = write(&s.db, |r| {
            r.insert_row(
                Table::Addresses,
                &[("city", "Kaunas".into()), ("email", " One@Example.com ;TWO@example.com;; one@EXAMPLE.com".into())],
            )
        })
        .await;
        assert_eq!(address_emails(&s.url, id), ["one@example.com", "two@example.com"]);
        assert!(used("ONE@example.com").await && used("two@example.com").await);

        write(&s.db, move |r| r.update_row(Table::Addresses, id, &[("email", "Three@example.com".into())])).await;
        assert_eq!(address_emails(&s.url, id), ["three@example.com"]);
        assert!(!used("one@example.com").await && !used("two@example.com").await);
        assert!(used("three@example.com").await);

        write(&s.db, move |r| r.update_row(Table::Addresses, id, &[("city", "Vilnius".into())])).await;
        assert_eq!(address_emails(&s.url, id), ["three@example.com"], "other columns leave them alone");

        let seen =
            s.db.administer(move |r| {
                r.update_row(Table::Addresses, id, &[("email", "four@example.com".into())])?;
                Ok(Tx::Rollback(r.email_in_use("four@example.com", None)?))
            })
            .await;
        assert_eq!(seen.ok(), Some(true), "the transaction sees its own change");
        assert!(!used("four@example.com").await, "rolled back");
        assert_eq!(address_emails(&s.url, id), ["three@example.com"]);

        for cleared in [Value::Null, "".into(), " ; ".into()] {
            write(&s.db, move |r| r.update_row(Table::Addresses, id, &[("email", "five@example.com".into())])).await;
            assert!(used("five@example.com").await);
            let c = cleared.clone();
            write(&s.db, move |r| r.update_row(Table::Addresses, id, &[("email", c.clone())])).await;
            assert!(address_emails(&s.url, id).is_empty(), "{cleared:?}");
            assert!(!used("five@example.com").await, "{cleared:?}");
        }

        // A request's change, as `user_details_update` writes it.
        write(&s.db, |r| {
            r.apply(&ChangeSet {
                user_id: 123,
                address: Some((1, vec![("email", "John@New.example; john@example.com".into())])),
                ..ChangeSet::default()
            })
        })
        .await;
        assert_eq!(address_emails(&s.url, 1), ["john@example.com", "john@new.example"]);
        assert!(used("JOHN@new.example").await);
        assert!(!read(&s.db, |r| r.email_in_use("john@new.example", Some(1))).await, "the own row");

        write(&s.db, |r| r.delete_row(Table::Addresses, 1)).await;
        assert!(address_emails(&s.url, 1).is_empty());
        assert!(!used("john@example.com").await && !used("john@new.example").await);

        // An update of an address row that does not exist adds no address.
        write(&s.db, |r| r.update_row(Table::Addresses, 999_999, &[("email", "ghost@example.com".into())])).await;
        assert!(!used("ghost@example.com").await);
        assert!(address_emails(&s.url, 999_999).is_empty());
    }

    /// Addresses written by trusted scripts (the demo data among them) are found, and the ones a
    /// script removes are not.
    pub async fn addresses_written_by_scripts_are_found(s: Store) {
        load_demo(&s.db).await;
        let used = |e: &'static str| read(&s.db, move |r| r.email_in_use(e, None));
        for e in ["john@example.com", "JANE@example.com", "reseller@example.com", "alice@example.com"] {
            assert!(used(e).await, "{e}");
        }
        assert!(address_emails(&s.url, 5).is_empty(), "bob's e-mail is empty");
        script(
            &s.db,
            "UPDATE addresses SET email = 'Jane.Doe@Example.com ; jd@example.com' WHERE id = 2;
             INSERT INTO addresses (id, email) VALUES (40, 'scripted@example.com');
             DELETE FROM addresses WHERE id = 3;",
        )
        .await;
        assert!(!used("jane@example.com").await && !used("reseller@example.com").await);
        assert!(used("jane.doe@example.com").await && used("jd@example.com").await);
        assert!(used("scripted@example.com").await && used("john@example.com").await);
        assert_eq!(address_emails(&s.url, 2), ["jane.doe@example.com", "jd@example.com"]);
        assert!(address_emails(&s.url, 3).is_empty());
    }

    /// Version 3 had no `address_emails`: opening such a database fills it from `addresses`
    /// (lists split as the rule splits them), and a fill that stopped midway is made again.
    pub async fn opening_a_version_3_database_fills_address_emails(s: Store) {
        load_demo(&s.db).await;
        write(&s.db, |r| {
            r.insert_row(
                Table::Addresses,
                &[("id", Value::Int(20)), ("email", "Multi@Example.com; second@example.org ;multi@example.COM".into())],
            )?;
            r.insert_row(Table::Addresses, &[("id", Value::Int(21)), ("email", Value::Null)])
        })
        .await;
        let fresh = all_address_emails(&s.url);
        assert_eq!(fresh.1, "6", "{fresh:?}");
        let version_3 = |mut statements: Vec<String>| {
            statements.extend(undo_version_5(&s.url));
            statements.extend([
                "DELETE FROM schema_migrations".into(),
                "INSERT INTO schema_migrations (version) VALUES (3)".into(),
                "SELECT 'done'".into(),
            ]);
            raw(&s.url, &statements);
        };
        let version = format!("SELECT {} FROM schema_migrations", as_text(&s.url, "MAX(version)"));
        for (case, made) in [
            ("version 3", vec!["DROP TABLE address_emails".to_string()]),
            (
                "a fill that stopped midway",
                vec![
                    "DELETE FROM address_emails WHERE address_id = 1".into(),
                    "INSERT INTO address_emails (address_id, email) VALUES (20, 'stale@example.com')".into(),
                ],
            ),
        ] {
            version_3(made);
            let db = upgrade(&s.url).expect("a version-3 database opens");
            assert_eq!(raw(&s.url, std::slice::from_ref(&version)), [schema::VERSION.to_string()], "{case}");
            assert_eq!(all_address_emails(&s.url), fresh, "{case}");
            for e in ["MULTI@example.com", "second@example.org", "john@example.com", "alice@example.com"] {
                assert!(read(&db, move |r| r.email_in_use(e, None)).await, "{case}: {e}");
            }
            assert!(!read(&db, |r| r.email_in_use("stale@example.com", None)).await, "{case}");
            assert!(!read(&db, |r| r.email_in_use("multi@example.com", Some(20))).await, "{case}");
        }
    }

    pub async fn rows_of_users_addresses_and_taxes(s: Store) {
        load_demo(&s.db).await;

        // Users: insert with some columns, the rest take their defaults.
        let id = write(&s.db, |r| {
            r.insert_row(
                Table::Users,
                &[
                    ("username", "newbie".into()),
                    ("usertype", "user".into()),
                    ("owner_id", Value::Int(200)),
                    ("first_name", "Žemyna 😀 ".into()),
                    ("credit", "12.5".into()),
                ],
            )
        })
        .await;
        let row = read(&s.db, move |r| r.row(Table::Users, id)).await.expect("new user row");
        assert_eq!(int(&row, "id"), Some(id));
        assert_eq!(text(&row, "username"), "newbie");
        assert_eq!(int(&row, "owner_id"), Some(200));
        assert_eq!(text(&row, "first_name"), "Žemyna 😀 ", "text round-trips exactly");
        assert_eq!(text(&row, "credit"), "12.5");
        assert_eq!(int(&row, "blocked"), Some(0));
        assert_eq!(int(&row, "postpaid"), Some(1));
        assert_eq!(row.get("comment"), Some(&Value::Null));
        assert_eq!(read(&s.db, |r| r.user_by_username("newbie")).await, Some(row.clone()));

        // Update: only the named columns change.
        let long = "comment ".repeat(1000);
        let long2 = long.clone();
        write(&s.db, move |r| {
            r.update_row(
                Table::Users,
                id,
                &[("first_name", "Newer".into()), ("blocked", Value::Int(1)), ("comment", Value::Text(long2.clone()))],
            )
        })
        .await;
        let after = read(&s.db, move |r| r.row(Table::Users, id)).await.expect("row");
        let mut expected: Row = row.clone();
        expected.insert("first_name".into(), "Newer".into());
        expected.insert("blocked".into(), Value::Int(1));
        expected.insert("comment".into(), Value::Text(long));
        assert_eq!(after, expected);
        write(&s.db, move |r| r.update_row(Table::Users, id, &[("comment", Value::Null)])).await;
        assert_eq!(
            read(&s.db, move |r| r.row(Table::Users, id)).await.and_then(|r| r.get("comment").cloned()),
            Some(Value::Null)
        );
        // An empty update changes nothing.
        let before = read(&s.db, move |r| r.row(Table::Users, id)).await;
        write(&s.db, move |r| r.update_row(Table::Users, id, &[])).await;
        assert_eq!(read(&s.db, move |r| r.row(Table::Users, id)).await, before);
        // Other users are untouched.
        let john = read(&s.db, |r| r.user_by_id(123)).await.expect("john");
        assert_eq!(text(&john, "first_name"), "John");

        // Addresses: an empty insert gives a row of defaults with a fresh id.
        let a = write(&s.db, |r| r.insert_row(Table::Addresses, &[])).await;
        assert!(a > 5, "ids are not reused: {a}");
        let arow = read(&s.db, move |r| r.row(Table::Addresses, a)).await.expect("address row");
        assert_eq!(arow.get("email"), Some(&Value::Null));
        assert_eq!(text(&arow, "city"), "");
        write(&s.db, move |r| {
            r.update_row(Table::Addresses, a, &[("email", "New@Example.com".into()), ("city", "Kaunas".into())])
        })
        .await;
        let arow = read(&s.db, move |r| r.row(Table::Addresses, a)).await.expect("address row");
        assert_eq!((text(&arow, "email"), text(&arow, "city")), ("New@Example.com".into(), "Kaunas".into()));
        assert!(read(&s.db, |r| r.email_in_use("new@example.com", None)).await);
        let b = write(&s.db, |r| r.insert_row(Table::Addresses, &[("city", "Riga".into())])).await;
        assert_ne!(a, b);
        assert_eq!(
            read(&s.db, move |r| r.row(Table::Addresses, b)).await.map(|r| text(&r, "city")),
            Some("Riga".into())
        );

        // Taxes: defaults, then an update.
        let t = write(&s.db, |r| r.insert_row(Table::Taxes, &[])).await;
        let trow = read(&s.db, move |r| r.row(Table::Taxes, t)).await.expect("tax row");
        assert_eq!(int(&trow, "tax1_enabled"), Some(1));
        assert_eq!(int(&trow, "tax4_enabled"), Some(0));
        assert_eq!(text(&trow, "tax1_name"), "VAT");
        write(&s.db, move |r| {
            r.update_row(Table::Taxes, t, &[("tax4_enabled", Value::Int(1)), ("tax2_value", "17.5".into())])
        })
        .await;
        let trow2 = read(&s.db, move |r| r.row(Table::Taxes, t)).await.expect("tax row");
        assert_eq!(int(&trow2, "tax4_enabled"), Some(1));
        assert_eq!(text(&trow2, "tax2_value"), "17.5");
        assert_eq!(text(&trow2, "tax1_name"), "VAT");

        // Missing rows.
        for table in [Table::Users, Table::Addresses, Table::Taxes] {
            assert_eq!(read(&s.db, move |r| r.row(table, 999_999)).await, None, "{table:?}");
        }
        let demo_tax = read(&s.db, |r| r.row(Table::Taxes, 1)).await.expect("demo tax 1");
        assert_eq!((text(&demo_tax, "tax1_name"), text(&demo_tax, "tax1_value")), ("VAT".into(), "21".into()));
    }

    pub async fn column_names_are_checked(s: Store) {
        load_demo(&s.db).await;
        let bad =
            s.db.administer(|r| {
                r.update_row(Table::Users, 123, &[("first_name = 'x', last_name", "y".into())])?;
                Ok(Tx::Commit(()))
            })
            .await;
        assert!(bad.is_err(), "a column name that is not an identifier is refused");
        let bad =
            s.db.administer(|r| Ok(Tx::Commit(r.insert_row(Table::Users, &[("username; --", "x".into())])?))).await;
        assert!(bad.is_err());
        let john = read(&s.db, |r| r.user_by_id(123)).await.expect("john");
        assert_eq!((text(&john, "first_name"), text(&john, "last_name")), ("John".into(), "Smith".into()));
        assert_eq!(read(&s.db, |r| r.user_count()).await, 8);
    }

    pub async fn a_database_newer_than_this_morapi_is_refused(s: Store) {
        let newer = schema::VERSION + 1;
        raw(&s.url, &[format!("INSERT INTO schema_migrations (version) VALUES ({newer})")]);
        let refused = Database::open(&s.url).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(refused.contains(&format!("schema version {newer}, newer than this morapi's")), "{refused}");
    }

    pub async fn requests_are_found_by_their_audit_rows(s: Store) {
        let key = |target_id: Option<i64>, request_id: &str| AuditKey { target_id, request_id: request_id.into() };
        let found = |k: AuditKey| read(&s.db, move |r| r.audited(&k));
        assert!(!found(key(Some(123), "req0000000000001")).await);
        // Rows written but rolled back prove nothing.
        let kept = s.db.administer(|r| Ok(Tx::Rollback(r.insert_audit(&[entry(1, AuditEvent::Change)])?))).await;
        assert!(kept.is_ok());
        assert!(!found(key(Some(123), "req0000000000001")).await);
        write(&s.db, |r| r.insert_audit(&[entry(1, AuditEvent::HashRefused), entry(2, AuditEvent::Change)])).await;
        assert!(found(key(None, "req0000000000001")).await, "a refused hash has no target");
        assert!(found(key(Some(123), "req0000000000002")).await);
        assert!(!found(key(Some(123), "req0000000000001")).await, "the target is part of the key");
        assert!(!found(key(None, "req0000000000002")).await);
        assert!(!found(key(Some(123), "req000000000000")).await, "exact match only");
    }

    pub async fn audit_entries_in_order(s: Store) {
        let entries: Vec<AuditEntry> = [AuditEvent::Change, AuditEvent::HashRefused, AuditEvent::Change]
            .iter()
            .enumerate()
            .map(|(n, e)| entry(n, *e))
            .collect();
        let first = entries[..2].to_vec();
        // Several rows in one statement, and one alone.
        write(&s.db, move |r| r.insert_audit(&first)).await;
        let third = entries[2].clone();
        write(&s.db, move |r| r.insert_audit(std::slice::from_ref(&third))).await;
        assert_eq!(read(&s.db, |r| r.audit_entries()).await, entries, "oldest first, every field kept");
        // Entries with the same timestamp keep their insertion order.
        let mut more = Vec::new();
        for n in 0..5 {
            let mut e = entry(n, AuditEvent::Change);
            e.created_at = "2026-02-01T00:00:00.000000Z".into();
            e.field = format!("same-time-{n}");
            more.push(e);
        }
        let m = more.clone();
        write(&s.db, move |r| {
            for e in m.iter().rev() {
                r.insert_audit(std::slice::from_ref(e))?;
            }
            Ok(())
        })
        .await;
        let all = read(&s.db, |r| r.audit_entries()).await;
        let fields: Vec<&str> = all[3..].iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["same-time-4", "same-time-3", "same-time-2", "same-time-1", "same-time-0"]);
    }

    pub async fn audit_values_keep_null_apart_from_empty(s: Store) {
        let entries: Vec<AuditEntry> = [(None, Some("")), (Some(""), None), (None, None), (Some("NULL"), Some(""))]
            .into_iter()
            .enumerate()
            .map(|(n, (old, new))| AuditEntry {
                old_value: old.map(String::from),
                new_value: new.map(String::from),
                ..entry(n, AuditEvent::Change)
            })
            .collect();
        let all = entries.clone();
        write(&s.db, move |r| r.insert_audit(&all)).await;
        assert_eq!(read(&s.db, |r| r.audit_entries()).await, entries);
    }

    /// [`schema::upgrade_statements`] themselves, run on the side as a migration would run them.
    pub async fn upgrade_statements_bring_version_1_to_the_current_schema(s: Store) {
        let fresh = audit_log_shape(&s.url);
        make_version_1(&s.url);
        assert_ne!(audit_log_shape(&s.url), fresh, "version 1 differs");
        let statements = schema::upgrade_statements(dialect(&s.url), 1);
        assert!(schema::upgrade_statements(dialect(&s.url), schema::VERSION).is_empty());
        // Twice: a migration that stopped midway (MySQL's DDL is not transactional) runs again.
        let mut twice = [statements.clone(), statements].concat();
        // Recorded, as the migration records each version after its statements.
        twice.push(format!("INSERT INTO schema_migrations (version) VALUES ({})", schema::VERSION));
        twice.push("SELECT 'done'".into());
        raw(&s.url, &twice);
        assert_upgraded(&s.url, &fresh).await;
    }

    /// Opening a version-1 database is refused; opening it with the upgrade policy upgrades it and
    /// records the version.
    pub async fn opening_a_version_1_database_upgrades_it(s: Store) {
        let fresh = audit_log_shape(&s.url);
        make_version_1(&s.url);
        let refused = Database::open(&s.url).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(refused.contains("the database has schema version 1; this morapi needs"), "{refused}");
        assert!(refused.contains("run `morapi migrate`"), "{refused}");
        drop(upgrade(&s.url).expect("a version-1 database opens"));
        let version = format!("SELECT {} FROM schema_migrations", as_text(&s.url, "MAX(version)"));
        assert_eq!(raw(&s.url, &[version]), [schema::VERSION.to_string()]);
        assert_upgraded(&s.url, &fresh).await;
        // Opening it again changes nothing.
        let again = Database::open(&s.url).expect("reopens");
        assert_eq!(audit_log_shape(&s.url), fresh);
        assert_eq!(read(&again, |r| r.audit_entries()).await.len(), 3);
    }

    /// Version 2 lacked `audit_log.signed_with` (and on SQLite reused deleted users' ids).
    pub async fn opening_a_version_2_database_upgrades_it(s: Store) {
        let fresh = audit_log_shape(&s.url);
        raw(
            &s.url,
            &[
                "ALTER TABLE audit_log DROP COLUMN signed_with".into(),
                "DELETE FROM schema_migrations".into(),
                "INSERT INTO schema_migrations (version) VALUES (2)".into(),
            ],
        );
        assert_ne!(audit_log_shape(&s.url), fresh, "version 2 differs");
        assert!(Database::open(&s.url).is_err(), "an older schema is refused without the upgrade policy");
        drop(upgrade(&s.url).expect("a version-2 database opens"));
        let version = format!("SELECT {} FROM schema_migrations", as_text(&s.url, "MAX(version)"));
        assert_eq!(raw(&s.url, &[version]), [schema::VERSION.to_string()]);
        assert_eq!(audit_log_shape(&s.url), fresh);
        ids_are_never_reused(Store { db: Database::open(&s.url).expect("reopens"), ..s }).await;
    }

    /// A deleted user's or device's id is never handed out again, even when it was the highest.
    pub async fn ids_are_never_reused(s: Store) {
        for table in [Table::Users, Table::Devices] {
            let column = if table == Table::Users { "username" } else { "name" };
            let add = |name: &'static str| {
                s.db.administer(move |r| Ok(Tx::Commit(r.insert_row(table, &[(column, name.into())])?)))
            };
            let first = add("reuse_a").await.expect("insert");
            let highest = add("reuse_b").await.expect("insert");
            assert!(highest > first);
            let deleted = s.db.administer(move |r| Ok(Tx::Commit(r.delete_row(table, highest)?))).await;
            assert_eq!(deleted.ok(), Some(true));
            let next = add("reuse_c").await.expect("insert");
            assert!(next > highest, "{table:?}: id {highest} was deleted and {next} handed out");
        }
    }

    pub async fn user_count_and_scripts(s: Store) {
        assert_eq!(read(&s.db, |r| r.user_count()).await, 0);
        load_demo(&s.db).await;
        assert_eq!(read(&s.db, |r| r.user_count()).await, 8);
        // Several statements in one script.
        script(
            &s.db,
            "INSERT INTO users (id, username, uniquehash) VALUES (500, 'one', 'hash500');
             INSERT INTO users (id, username, uniquehash) VALUES (501, 'two', 'hash501');
             UPDATE users SET first_name = 'Second' WHERE id = 501;",
        )
        .await;
        assert_eq!(read(&s.db, |r| r.user_count()).await, 10);
        assert_eq!(read(&s.db, |r| r.user_by_id(501)).await.map(|u| text(&u, "first_name")), Some("Second".into()));
        // The demo is loaded only into an empty database.
        assert!(!demo::load(&s.db).await.expect("second load"));
    }

    /// Usernames compare exactly on every engine: no trimming, no case folding (the same `u`
    /// must name the same account whatever the database).
    pub async fn usernames_compare_exactly(s: Store) {
        load_demo(&s.db).await;
        for variant in ["john ", " john", "JOHN", "John", "john\t"] {
            assert_eq!(read(&s.db, move |r| r.user_by_username(variant)).await, None, "{variant:?}");
            assert!(!read(&s.db, move |r| r.username_taken(variant, 0)).await, "{variant:?} is another name");
        }
        let id = write(&s.db, |r| r.insert_row(Table::Users, &[("username", "john ".into())])).await;
        assert_eq!(read(&s.db, |r| r.user_by_username("john ")).await.map(|u| int(&u, "id")), Some(Some(id)));
        assert_eq!(read(&s.db, |r| r.user_by_username("john")).await.map(|u| int(&u, "id")), Some(Some(123)));
    }

    /// Every text the catalogue accepts fits its column: the longest value, in 2- and 4-byte
    /// characters, round-trips exactly (limits are characters, not bytes).
    pub async fn catalogue_text_limits_fit_the_columns(s: Store) {
        use morapi::catalogue::params::{Kind, PARAMS, Target};
        load_demo(&s.db).await;
        for p in PARAMS {
            let Kind::Text { max } = p.kind else { continue };
            let (table, id, col) = match p.target {
                Target::User(c) => (Table::Users, 123, c),
                Target::Address(c) => (Table::Addresses, 1, c),
                Target::Tax(c) => (Table::Taxes, 1, c),
                Target::Derived(_) | Target::None => continue,
            };
            for ch in ["ž", "😀"] {
                let value = ch.repeat(max);
                let v = value.clone();
                let stored =
                    s.db.administer(move |r| {
                        r.update_row(table, id, &[(col, Value::Text(v.clone()))])?;
                        Ok(Tx::Commit(r.row(table, id)?.map(|row| text(&row, col))))
                    })
                    .await;
                match stored {
                    Ok(got) => {
                        assert!(got.as_deref() == Some(value.as_str()), "{} ({col}): {max} × {ch} changed", p.name)
                    }
                    Err(e) => panic!("{} ({col}): {max} × {ch} refused: {e}", p.name),
                }
            }
        }
    }

    /// A script whose second statement fails is an error, and its transaction keeps nothing.
    pub async fn a_failing_script_keeps_nothing(s: Store) {
        load_demo(&s.db).await;
        script(&s.db, "INSERT INTO users (id, username) VALUES (500, 'one');").await;
        // The second statement fails, then the first.
        for (script, absent) in [
            (
                "INSERT INTO users (id, username) VALUES (502, 'three'); INSERT INTO users (id, username) VALUES (503, 'one');",
                502,
            ),
            (
                "INSERT INTO users (id, username) VALUES (504, 'one'); INSERT INTO users (id, username) VALUES (505, 'five');",
                505,
            ),
        ] {
            let failed = s.db.administer(move |r| Ok(Tx::Commit(r.execute_script(script)?))).await;
            assert!(failed.is_err(), "duplicate username must fail");
            assert_eq!(read(&s.db, move |r| r.user_by_id(absent)).await, None);
            assert_eq!(read(&s.db, |r| r.user_count()).await, 9);
        }
    }

    pub async fn transactions_keep_or_discard_everything(s: Store) {
        load_demo(&s.db).await;
        let writes = |tag: &'static str| {
            move |r: &mut dyn AdminStore| -> morapi::storage::Result<()> {
                r.insert_row(Table::Users, &[("username", tag.into())])?;
                r.update_row(Table::Users, 123, &[("first_name", tag.into())])?;
                r.set_setting(0, "marker", tag)?;
                r.insert_audit(&[AuditEntry { field: tag.into(), ..entry(0, AuditEvent::Change) }])?;
                let a = r.insert_row(Table::Addresses, &[("city", tag.into())])?;
                r.update_row(Table::Users, 789, &[("address_id", Value::Int(a))])?;
                Ok(())
            }
        };
        let john = || read(&s.db, |r| r.user_by_id(123));
        let snapshot = || {
            read(&s.db, |r| {
                Ok((
                    r.user_count()?,
                    r.user_by_id(123)?,
                    r.user_by_id(789)?,
                    r.setting(0, "marker")?,
                    r.audit_entries()?.len(),
                ))
            })
        };
        let initial = snapshot().await;

        // keep = false: the writes were visible inside, and are gone after.
        let w = writes("discarded");
        let seen_inside =
            s.db.administer(move |r| {
                w(r)?;
                let inside = r.user_by_username("discarded")?.is_some()
                    && r.setting(0, "marker")?.as_deref() == Some("discarded");
                Ok(Tx::Rollback(inside))
            })
            .await
            .expect("transaction");
        assert!(seen_inside, "a transaction reads its own writes");
        assert_eq!(snapshot().await, initial);

        // An error: the error comes back and nothing is kept.
        let w = writes("failed");
        let err =
            s.db.administer(move |r| -> morapi::storage::Result<Tx<()>> {
                w(r)?;
                Err(StoreError::Database("boom".into()))
            })
            .await;
        assert!(matches!(err, Err(StoreError::Database(ref m)) if m == "boom"), "{err:?}");
        assert_eq!(snapshot().await, initial);

        // A failing statement after successful ones: nothing is kept.
        let w = writes("half");
        let err =
            s.db.administer(move |r| {
                w(r)?;
                r.insert_row(Table::Users, &[("username", "john".into())])?;
                Ok(Tx::Commit(()))
            })
            .await;
        assert!(err.is_err(), "duplicate username");
        assert_eq!(snapshot().await, initial);

        // keep = true: everything persists, and the answer comes back.
        let w = writes("kept");
        let answer =
            s.db.administer(move |r| {
                w(r)?;
                Ok(Tx::Commit(42))
            })
            .await
            .expect("transaction");
        assert_eq!(answer, 42);
        let kept = snapshot().await;
        assert_eq!(kept.0, initial.0 + 1);
        assert_eq!(kept.1.as_ref().map(|u| text(u, "first_name")), Some("kept".into()));
        assert_eq!(kept.3.as_deref(), Some("kept"));
        assert_eq!(kept.4, initial.4 + 1);
        assert_eq!(john().await.map(|u| text(&u, "username")), Some("john".into()));

        // …and survives closing and reopening the database.
        let Store { db, url, _keep } = s;
        drop(db);
        let reopened = Database::open(&url).expect("reopens");
        let after = read(&reopened, |r| {
            Ok((
                r.user_count()?,
                r.user_by_id(123)?,
                r.user_by_id(789)?,
                r.setting(0, "marker")?,
                r.audit_entries()?.len(),
            ))
        })
        .await;
        assert_eq!(after, kept);
        assert!(read(&reopened, |r| r.user_by_username("kept")).await.is_some());
        let address_id = after.2.and_then(|u| int(&u, "address_id")).expect("address linked");
        let address = read(&reopened, move |r| r.row(Table::Addresses, address_id)).await.expect("address row");
        assert_eq!(text(&address, "city"), "kept");
        for gone in ["discarded", "failed", "half"] {
            assert!(read(&reopened, move |r| r.user_by_username(gone)).await.is_none(), "{gone}");
        }
    }

    pub async fn preloaded_reads_answer_like_direct_reads(s: Store) {
        load_demo(&s.db).await;
        let reads = |r: &mut dyn AdminStore| -> morapi::storage::Result<_> {
            Ok((
                r.account("alice")?,
                r.account("nobody")?,
                [r.setting(0, "api_secret_key")?, r.setting(200, "api_secret_key")?, r.setting(201, "allow_api")?],
                r.user_for_update(123)?,
                r.user_by_id(123)?,
                r.user_for_update(999)?,
                r.locks("192.0.2.1", "nobody", 1_000)?,
            ))
        };
        let direct = read(&s.db, reads).await;
        let preloaded = read(&s.db, move |r| {
            r.preload("alice", "192.0.2.1", 1_000)?;
            r.preload("nobody", "192.0.2.1", 1_000)?;
            reads(r)
        })
        .await;
        assert_eq!(preloaded, direct);
        assert_eq!(direct.0.as_ref().map(|u| u.id), Some(201));
        assert_eq!(direct.2[1].as_deref(), Some("reseller-secret"));
        assert_eq!(direct.3.as_ref().map(|u| text(u, "username")), Some("john".to_string()));
    }

    /// Refusals are counted per key and window (upserted, so instances never split a row),
    /// locks start once and are read back by the preload, and an operator can clear them.
    pub async fn refusals_are_counted_and_locks_read_back(s: Store) {
        let rec = |name: &str, scope: RefusalScope, window_start: i64, at: &str, recent: &str| RefusalRecord {
            client_addr: "192.0.2.7".into(),
            name: name.into(),
            scope,
            window_start,
            at: at.into(),
            recent: recent.into(),
            endpoint: "user_details_update".into(),
            error: "Incorrect hash".into(),
        };
        let key = ("192.0.2.7", "alice", RefusalScope::Name);
        let (rows, started, again, locks, other) = write(&s.db, move |r| {
            r.count_refusal(&rec("alice", RefusalScope::Name, 900, "t1", "901 "))?;
            r.count_refusal(&rec("alice", RefusalScope::Name, 900, "t2", "902 "))?;
            r.count_refusal(&rec("alice", RefusalScope::Name, 1800, "t3", "1801 "))?;
            r.count_refusal(&rec("", RefusalScope::Address, 900, "t1", "901:ab "))?;
            let started = r.start_lock(key, 1800, 2700, 1801)?;
            let again = r.start_lock(key, 1800, 2800, 1801)?;
            Ok((
                r.refusal_history(key, 900)?,
                started,
                again,
                r.locks("192.0.2.7", "alice", 1802)?,
                r.locks("192.0.2.8", "alice", 1802)?,
            ))
        })
        .await;
        assert_eq!(rows.len(), 2, "{rows:?}");
        assert_eq!((rows[0].count, rows[0].first_at.as_str(), rows[0].last_at.as_str()), (2, "t1", "t2"));
        assert_eq!(rows[0].recent, "901 902 ");
        assert_eq!((rows[1].window_start, rows[1].count, rows[1].locked_until), (1800, 1, 2700));
        assert!(started && !again, "a lock in force is not started twice");
        assert_eq!(locks, Locks { name_until: 2700, address_until: 0 });
        assert_eq!(other, Locks::default(), "another address is not locked");
        // The preload reads the same locks, in its one round trip.
        let preloaded = read(&s.db, |r| {
            r.preload("alice", "192.0.2.7", 1802)?;
            r.locks("192.0.2.7", "alice", 1802)
        })
        .await;
        assert_eq!(preloaded, locks);
        let listed =
            read(&s.db, |r| r.refusals(&RefusalFilter { locked_after: Some(1802), ..Default::default() })).await;
        assert_eq!(listed.len(), 1);
        let cleared = write(&s.db, |r| {
            let n = r.clear_locks(&RefusalFilter { name: Some("alice".into()), ..Default::default() }, 1803)?;
            Ok((n, r.locks("192.0.2.7", "alice", 1803)?))
        })
        .await;
        assert_eq!(cleared, (1, Locks::default()));
        assert_eq!(read(&s.db, |r| r.refusals(&RefusalFilter::default())).await.len(), 3);
    }

    pub async fn accounts_are_the_users_columns(s: Store) {
        load_demo(&s.db).await;
        script(&s.db, "UPDATE users SET acc_group_id = 7, own_providers = 1 WHERE id = 200").await;
        let pairs = read(&s.db, |r| {
            let mut pairs = Vec::new();
            for u in ["admin", "john", "reseller", "alice", "accountant", "nobody", ""] {
                pairs.push((r.account(u)?, r.user_by_username(u)?));
            }
            Ok(pairs)
        })
        .await;
        assert_eq!(pairs.iter().filter(|(a, _)| a.is_some()).count(), 5, "demo users found: {pairs:?}");
        for (account, user) in pairs {
            let expected = user.map(|u| Account {
                id: int(&u, "id").unwrap_or_default(),
                username: text(&u, "username"),
                usertype: text(&u, "usertype"),
                owner_id: int(&u, "owner_id").unwrap_or_default(),
                acc_group_id: int(&u, "acc_group_id").unwrap_or_default(),
                own_providers: int(&u, "own_providers").unwrap_or_default(),
            });
            assert_eq!(account, expected);
        }
        let reseller = read(&s.db, |r| r.account("reseller")).await.expect("reseller");
        assert_eq!((reseller.acc_group_id, reseller.own_providers), (7, 1));
    }

    pub async fn preloaded_reads_follow_the_transaction_writes(s: Store) {
        load_demo(&s.db).await;
        let seen = read(&s.db, |r| {
            r.preload("john", "192.0.2.1", 1_000)?;
            r.update_row(Table::Users, 123, &[("first_name", "Changed".into()), ("own_providers", Value::Int(1))])?;
            r.set_setting(0, "api_secret_key", "changed-key")?;
            Ok((
                r.account("john")?.map(|a| a.own_providers),
                r.user_for_update(123)?.map(|u| text(&u, "first_name")),
                r.user_by_id(123)?.map(|u| text(&u, "first_name")),
                r.setting(0, "api_secret_key")?,
            ))
        })
        .await;
        let changed = Some("Changed".to_string());
        assert_eq!(seen, (Some(1), changed.clone(), changed, Some("changed-key".into())));
    }

    pub async fn a_failing_held_back_write_fails_the_transaction(s: Store) {
        load_demo(&s.db).await;
        let before = read(&s.db, |r| Ok((r.user_by_id(123)?, r.audit_entries()?.len()))).await;
        // Writes without an answer may travel with the commit: their failure must still fail it.
        let outcome =
            s.db.administer(|r| {
                r.preload("admin", "192.0.2.1", 1_000)?;
                r.insert_audit(&[entry(0, AuditEvent::Change)])?;
                r.update_row(Table::Users, 123, &[("first_name", "Kept?".into())])?;
                r.update_row(Table::Users, 123, &[("username", "alice".into())])?;
                Ok(Tx::Commit(()))
            })
            .await;
        assert!(outcome.is_err(), "a duplicate username must fail the transaction: {outcome:?}");
        assert_eq!(read(&s.db, |r| Ok((r.user_by_id(123)?, r.audit_entries()?.len()))).await, before);
    }

    pub async fn a_panicking_transaction_keeps_nothing_and_the_store_goes_on(s: Store) {
        load_demo(&s.db).await;
        let result =
            s.db.administer(|r| -> morapi::storage::Result<Tx<()>> {
                r.update_row(Table::Users, 123, &[("first_name", "Panic".into())])?;
                panic!("a bug in a transaction");
            })
            .await;
        assert!(result.is_err(), "the caller learns that the transaction failed");
        let john = read(&s.db, |r| r.user_by_id(123)).await.expect("john");
        assert_eq!(text(&john, "first_name"), "John");
        write(&s.db, |r| r.update_row(Table::Users, 123, &[("first_name", "After".into())])).await;
        let john = read(&s.db, |r| r.user_by_id(123)).await.expect("john");
        assert_eq!(text(&john, "first_name"), "After");
    }

    const USERS: i64 = 200;
    const FIRST: i64 = 1000;

    async fn many_users(db: &Database) {
        write(db, |r| {
            for i in 0..USERS {
                r.insert_row(Table::Users, &[("id", Value::Int(FIRST + i)), ("username", format!("load{i}").into())])?;
            }
            Ok(())
        })
        .await;
    }

    fn increment(r: &mut dyn AdminStore, id: i64) -> morapi::storage::Result<i64> {
        let user = r.user_for_update(id)?.expect("user exists");
        let next = int(&user, "call_limit").unwrap_or(0) + 1;
        r.update_row(Table::Users, id, &[("call_limit", Value::Int(next))])?;
        Ok(next)
    }

    async fn call_limits(db: &Database) -> Vec<i64> {
        read(db, |r| {
            (0..USERS).map(|i| Ok(r.user_by_id(FIRST + i)?.and_then(|u| int(&u, "call_limit")).unwrap_or(-1))).collect()
        })
        .await
    }

    /// 200 concurrent transactions, each incrementing a different user: all commit (group commit
    /// loses none of them).
    pub async fn concurrent_transactions_all_commit(s: Store) {
        load_demo(&s.db).await;
        many_users(&s.db).await;
        let mut tasks = Vec::new();
        for i in 0..USERS {
            let db = s.db.clone();
            tasks.push(tokio::spawn(
                async move { db.administer(move |r| Ok(Tx::Commit(increment(r, FIRST + i)?))).await },
            ));
        }
        for t in tasks {
            assert_eq!(t.await.expect("task").expect("transaction"), 1);
        }
        assert_eq!(call_limits(&s.db).await, vec![1; USERS as usize]);
        // Durable: still there after reopening.
        let Store { db, url, _keep } = s;
        drop(db);
        let reopened = Database::open(&url).expect("reopens");
        assert_eq!(call_limits(&reopened).await, vec![1; USERS as usize]);
    }

    /// 200 concurrent increments of one user: transactions are isolated, none is lost.
    pub async fn concurrent_increments_of_one_row_are_not_lost(s: Store) {
        load_demo(&s.db).await;
        let mut tasks = Vec::new();
        for _ in 0..USERS {
            let db = s.db.clone();
            tasks.push(tokio::spawn(async move { db.administer(|r| Ok(Tx::Commit(increment(r, 123)?))).await }));
        }
        let mut seen: Vec<i64> = Vec::new();
        for t in tasks {
            seen.push(t.await.expect("task").expect("transaction"));
        }
        seen.sort_unstable();
        assert_eq!(seen, (1..=USERS).collect::<Vec<_>>(), "every increment saw the previous one");
        let john = read(&s.db, |r| r.user_by_id(123)).await.expect("john");
        assert_eq!(int(&john, "call_limit"), Some(USERS));
    }

    /// Concurrent transactions that keep, discard or fail, committed together: each gets its own
    /// fate, the others are unaffected.
    pub async fn concurrent_mixed_outcomes_are_isolated(s: Store) {
        load_demo(&s.db).await;
        many_users(&s.db).await;
        let mut tasks = Vec::new();
        for i in 0..USERS {
            let db = s.db.clone();
            tasks.push(tokio::spawn(async move {
                db.administer(move |r| {
                    increment(r, FIRST + i)?;
                    match i % 4 {
                        0 | 1 => Ok(Tx::Commit(i)),
                        2 => Ok(Tx::Rollback(i)),
                        _ => Err(StoreError::Database(format!("job {i} failed"))),
                    }
                })
                .await
            }));
        }
        for (i, t) in tasks.into_iter().enumerate() {
            let r = t.await.expect("task");
            match i % 4 {
                0..=2 => assert_eq!(r.expect("transaction"), i as i64),
                _ => assert!(r.is_err(), "job {i}"),
            }
        }
        let expected: Vec<i64> = (0..USERS).map(|i| i64::from(i % 4 < 2)).collect();
        assert_eq!(call_limits(&s.db).await, expected);
    }
}

storage_suite!(engine => super::open_store;
    a_fresh_database_is_empty_and_migrated,
    users_by_username_and_id,
    settings_missing_and_upserted,
    references_of_every_kind,
    group_rights,
    username_taken,
    usernames_compare_exactly,
    catalogue_text_limits_fit_the_columns,
    a_failing_script_keeps_nothing,
    email_in_use,
    addresses_in_use_follow_every_write,
    addresses_written_by_scripts_are_found,
    opening_a_version_3_database_fills_address_emails,
    rows_of_users_addresses_and_taxes,
    column_names_are_checked,
    audit_entries_in_order,
    requests_are_found_by_their_audit_rows,
    a_database_newer_than_this_morapi_is_refused,
    audit_values_keep_null_apart_from_empty,
    upgrade_statements_bring_version_1_to_the_current_schema,
    opening_a_version_1_database_upgrades_it,
    opening_a_version_2_database_upgrades_it,
    ids_are_never_reused,
    user_count_and_scripts,
    transactions_keep_or_discard_everything,
    accounts_are_the_users_columns,
    preloaded_reads_answer_like_direct_reads,
    refusals_are_counted_and_locks_read_back,
    preloaded_reads_follow_the_transaction_writes,
    a_failing_held_back_write_fails_the_transaction,
    a_panicking_transaction_keeps_nothing_and_the_store_goes_on,
    concurrent_transactions_all_commit,
    concurrent_increments_of_one_row_are_not_lost,
    concurrent_mixed_outcomes_are_isolated,
);
