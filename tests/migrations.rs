//! Numbered migrations and the open policy, through the real binary, on the engine under test
//! (SQLite, or a scratch database on the server of `MORAPI_TEST_DATABASE`): a database made by
//! version 1 of the schema is refused until `morapi migrate` (or `serve --migrate`) upgrades it,
//! then serves its old data; no PostgreSQL NOTICE reaches the log; a role with only
//! SELECT/INSERT/UPDATE/DELETE serves a current schema and is refused an older one clearly.

mod common;
use common::{ADMIN_KEY, BIN, TestDb, form, sign_pairs, updated};
use morapi::storage::{Database, Table, Tx, demo, schema};
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Output, Stdio};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Engine {
    Sqlite,
    Postgres,
    Mysql,
}

fn engine(url: &str) -> Engine {
    if url.starts_with("postgres") {
        Engine::Postgres
    } else if url.starts_with("mysql") || url.starts_with("mariadb") {
        Engine::Mysql
    } else {
        Engine::Sqlite
    }
}

/// The refusal of an older schema, word for word.
fn older_refused(version: i64) -> String {
    format!(
        "the database has schema version {version}; this morapi needs {}: run `morapi migrate` (or serve --migrate) \
         with a role that may change the schema",
        schema::VERSION
    )
}

/// One test's database; a scratch server database is dropped at the end.
/// The test's database ([`TestDb`]) and the commands run against it.
struct Db(TestDb);

impl std::ops::Deref for Db {
    type Target = TestDb;
    fn deref(&self) -> &TestDb {
        &self.0
    }
}

impl Db {
    fn new() -> Db {
        Db(TestDb::new())
    }

    fn engine(&self) -> Engine {
        engine(&self.url)
    }

    /// The database as version 1 of the schema left it, with a few rows of real data
    /// (tests/data/schema-v1/ENGINE.sql).
    fn make_version_1(&self) {
        let file = match self.engine() {
            Engine::Sqlite => "sqlite",
            Engine::Postgres => "postgres",
            Engine::Mysql => "mysql",
        };
        let path = format!("{}/tests/data/schema-v1/{file}.sql", env!("CARGO_MANIFEST_DIR"));
        sql(&self.url, &std::fs::read_to_string(&path).expect("the version-1 fixture"));
    }
}

/// Runs a trusted script on the database at `url` with the engine's own driver, as an operator
/// (or an older morapi) would. Its own thread: the PostgreSQL connection blocks on a runtime.
fn sql(url: &str, script: &str) {
    let (url, script) = (url.to_string(), script.to_string());
    std::thread::spawn(move || match engine(&url) {
        Engine::Sqlite => {
            let c = rusqlite::Connection::open(&url["sqlite://".len()..]).expect("sqlite opens");
            c.execute_batch(&script).unwrap_or_else(|e| panic!("{script}: {e}"));
        }
        Engine::Postgres => {
            let mut c = morapi::storage::postgres::connect(&url).expect("postgres connects");
            c.query_strings(&script).unwrap_or_else(|e| panic!("{script}: {e}"));
        }
        Engine::Mysql => {
            use mysql::prelude::Queryable;
            let mut c = morapi::storage::mysql::driver_conn(&url).expect("mysql connects");
            c.query_drop(&script).unwrap_or_else(|e| panic!("{script}: {e}"));
        }
    })
    .join()
    .expect("the driver thread");
}

/// Runs `morapi ARGS` on the database at `url`.
fn morapi(url: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("MORAPI_DATABASE", url)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("morapi runs")
}

/// `morapi ARGS`, which must succeed: its stdout, and its stderr.
fn ok(url: &str, args: &[&str]) -> (String, String) {
    let out = morapi(url, args, &[]);
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{args:?} failed: {stderr}");
    (stdout.into_owned(), stderr.into_owned())
}

/// `morapi ARGS`, which must fail with status 1: its stderr.
fn fails(url: &str, args: &[&str]) -> String {
    let out = morapi(url, args, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{args:?} should fail: {}{stderr}", String::from_utf8_lossy(&out.stdout));
    stderr
}

/// A `morapi serve` of this test, its stderr gathered on the side.
struct Server {
    child: Child,
    base: String,
    stderr: std::thread::JoinHandle<String>,
}

impl Server {
    /// Starts `morapi serve` on port 0 with `args` and `env`: the server once it listens, or its
    /// stderr when it exited instead. [`Server::stop`] waits for it, which clippy cannot see.
    #[allow(clippy::zombie_processes)]
    fn start(url: &str, args: &[&str], env: &[(&str, &str)]) -> Result<Server, String> {
        let mut child = Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--database", url])
            .args(args)
            .env_remove("MORAPI_DATABASE")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        let mut err = child.stderr.take().expect("stderr");
        let stderr = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = err.read_to_string(&mut s);
            s
        });
        let mut out = BufReader::new(child.stdout.take().expect("stdout"));
        loop {
            let mut line = String::new();
            if out.read_line(&mut line).expect("read") == 0 {
                let _ = child.wait();
                return Err(stderr.join().expect("stderr thread"));
            }
            if let Some(rest) = line.split("listening on ").nth(1) {
                let base = rest.split(',').next().expect("address").trim().to_string();
                std::thread::spawn(move || for _ in out.lines() {});
                return Ok(Server { child, base, stderr });
            }
        }
    }

    /// A signed request as the demo admin (form body); the answer's body.
    fn signed(&self, path: &str, pairs: &[(&str, &str)]) -> String {
        let hash = sign_pairs(pairs, ADMIN_KEY);
        let mut all = pairs.to_vec();
        all.extend([("u", "admin"), ("hash", hash.as_str())]);
        let (url, body) = (format!("{}{path}", self.base), form(&all));
        runtime().block_on(async move {
            let resp = reqwest::Client::new()
                .post(url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .expect("request");
            resp.text().await.expect("body")
        })
    }

    fn update(&self, pairs: &[(&str, &str)]) -> String {
        self.signed("/billing/api/user_details_update", pairs)
    }

    /// The raw view of a user, as the admin reads it.
    fn read(&self, user_id: &str) -> String {
        self.signed("/billing/api/user_details_raw_get", &[("user_id", user_id)])
    }

    /// Stops it (SIGTERM) and returns what it logged.
    fn stop(mut self) -> String {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
        self.stderr.join().expect("stderr thread")
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime")
}

/// What the log must never hold: PostgreSQL's NOTICEs (`… already exists, skipping`), the
/// driver's content-free `db error`.
fn assert_quiet(stderr: &str) {
    assert!(!stderr.contains("NOTICE"), "{stderr}");
    assert!(!stderr.contains("already exists"), "{stderr}");
    assert!(!stderr.contains("db error"), "{stderr}");
}

#[test]
fn a_version_1_database_is_refused_then_migrated_and_its_data_served() {
    let db = Db::new();
    db.make_version_1();
    let (status, _) = ok(&db.url, &["migrate", "--status"]);
    assert!(status.contains("schema version: 1\n"), "{status}");
    assert!(status.contains(&format!("this morapi: {}\n", schema::VERSION)), "{status}");
    for m in schema::pending(1) {
        assert!(status.contains(&format!("  {}: {}\n", m.version, m.name)), "{status}");
    }
    // --status changed nothing: the server and every other command still refuse it.
    let refused = Server::start(&db.url, &[], &[]).err().expect("serve refuses version 1");
    assert!(refused.contains(&older_refused(1)), "{refused}");
    assert!(fails(&db.url, &["user", "list"]).contains(&older_refused(1)));

    let (done, stderr) = ok(&db.url, &["migrate"]);
    assert!(done.contains(&format!("from version 1 to {}\n", schema::VERSION)), "{done}");
    for m in schema::pending(1) {
        assert!(done.contains(&format!("  applied {}: {}\n", m.version, m.name)), "{done}");
    }
    assert!(done.contains(&format!("is at version {}\n", schema::VERSION)), "{done}");
    assert_quiet(&stderr);
    let (status, _) = ok(&db.url, &["migrate", "--status"]);
    assert!(status.contains(&format!("schema version: {}\n", schema::VERSION)), "{status}");
    assert!(status.contains("pending: none\n"), "{status}");
    let (again, _) = ok(&db.url, &["migrate"]);
    assert_eq!(again, format!("morapi: schema of {} is at version {}\n", db.url, schema::VERSION));

    // The old data serves: john's e-mail list was split into address_emails by the upgrade.
    let server = Server::start(&db.url, &[], &[]).expect("serves the upgraded database");
    let taken = server.update(&[("user_id", "789"), ("a8", "BILLING@example.com")]);
    assert!(taken.contains("Email BILLING@example.com is already used"), "{taken}");
    assert_eq!(server.update(&[("user_id", "123"), ("a8", "john@example.com; new@example.com")]), updated());
    let john = server.read("123");
    assert!(john.contains("john@example.com; new@example.com") && john.contains("John"), "{john}");
    assert_quiet(&server.stop());
    // The version-1 audit rows are kept, with their ids' order, before the new ones.
    let url = db.url.clone();
    let audit = runtime().block_on(async move {
        let db = Database::open(&url).expect("opens");
        db.administer(|r| Ok(Tx::Rollback(r.audit_entries()?))).await.expect("audit")
    });
    let kept: Vec<_> = audit.iter().take(2).map(|e| (e.request_id.as_str(), e.new_value.as_deref())).collect();
    assert_eq!(kept, [("req7", Some("12.5")), ("req9", Some("Incorrect hash"))]);
    assert!(audit.iter().skip(2).any(|e| e.new_value.as_deref() == Some("john@example.com; new@example.com")));
    // Version 5 gave every existing user a uniquehash of MOR's alphabet, each a different one.
    let url = db.url.clone();
    let hashes = runtime().block_on(async move {
        let db = Database::open(&url).expect("opens");
        let users = db.administer(|r| Ok(Tx::Rollback(r.list_rows(Table::Users, &[])?))).await.expect("users");
        users.iter().map(|u| morapi::storage::text(u, "uniquehash")).collect::<Vec<_>>()
    });
    assert!(hashes.len() > 1, "{hashes:?}");
    let alphabet = morapi::values::secrets::UNIQUEHASH_ALPHABET;
    for h in &hashes {
        assert!(h.len() == 10 && h.bytes().all(|b| alphabet.contains(&b)), "{hashes:?}");
    }
    let distinct: std::collections::BTreeSet<_> = hashes.iter().collect();
    assert_eq!(distinct.len(), hashes.len(), "{hashes:?}");
}

#[test]
fn serve_migrate_upgrades_an_older_schema_at_start_and_logs_no_notice() {
    let db = Db::new();
    db.make_version_1();
    let server = Server::start(&db.url, &[], &[("MORAPI_MIGRATE", "true")]).expect("serve --migrate upgrades");
    assert_eq!(server.update(&[("user_id", "123"), ("a8", "john@example.com")]), updated());
    let log = server.stop();
    assert!(log.contains(&format!("database schema upgraded from version 1 to {}", schema::VERSION)), "{log}");
    assert_quiet(&log);
    // Started again, current: nothing to do, nothing logged about the schema.
    let server = Server::start(&db.url, &["--migrate"], &[]).expect("serves");
    let log = server.stop();
    assert!(!log.contains("database schema"), "{log}");
    assert_quiet(&log);
}

#[test]
fn an_empty_database_is_created_by_serve_demo_and_a_current_one_is_only_read() {
    let db = Db::new();
    let server = Server::start(&db.url, &["--demo"], &[]).expect("serve --demo on an empty database");
    assert_eq!(server.update(&[("user_id", "123"), ("u15", "0")]), updated());
    let log = server.stop();
    assert!(log.contains(&format!("database schema created at version {}", schema::VERSION)), "{log}");
    assert_quiet(&log);
    if db.engine() != Engine::Sqlite {
        return;
    }
    // SQLite: while another connection holds the write lock, opening the current schema needs
    // none (before, every open ran the schema script in a write transaction, which waited for
    // the lock and failed after the busy timeout).
    let file = rusqlite::Connection::open(&db.url["sqlite://".len()..]).expect("opens");
    file.execute_batch("BEGIN IMMEDIATE").expect("write lock");
    let opened = Database::open(&db.url).map(drop).map_err(|e| e.to_string());
    file.execute_batch("ROLLBACK").expect("rollback");
    assert_eq!(opened, Ok(()));
}

/// A login role (PostgreSQL) or user (MariaDB) with only SELECT, INSERT, UPDATE and DELETE on
/// the scratch database's tables, dropped at the end.
struct Role {
    admin: String,
    name: String,
    url: String,
}

impl Role {
    fn create(db: &Db) -> Role {
        let name = format!("morapi_lp_{:08x}", rand::random::<u32>());
        let password = "lp-Secret-7";
        let (scheme, rest) = db.url.split_once("://").expect("a URL");
        let host_and_db = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
        let url = format!("{scheme}://{name}:{password}@{host_and_db}");
        let database = host_and_db.rsplit('/').next().unwrap_or_default().split('?').next().unwrap_or_default();
        match db.engine() {
            Engine::Postgres => sql(
                &db.url,
                &format!(
                    "CREATE ROLE {name} LOGIN PASSWORD '{password}';
                     GRANT CONNECT ON DATABASE {database} TO {name};
                     GRANT USAGE ON SCHEMA public TO {name};
                     GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {name};
                     ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {name};"
                ),
            ),
            Engine::Mysql => sql(
                &db.url,
                &["127.0.0.1", "localhost"]
                    .iter()
                    .map(|host| {
                        format!(
                            "CREATE USER '{name}'@'{host}' IDENTIFIED BY '{password}';
                             GRANT SELECT, INSERT, UPDATE, DELETE ON {database}.* TO '{name}'@'{host}';"
                        )
                    })
                    .collect::<String>(),
            ),
            Engine::Sqlite => unreachable!("SQLite has no roles"),
        }
        Role { admin: db.url.clone(), name, url }
    }
}

impl Drop for Role {
    fn drop(&mut self) {
        let name = &self.name;
        let script = match engine(&self.admin) {
            Engine::Postgres => format!("DROP OWNED BY {name}; DROP ROLE {name};"),
            _ => format!("DROP USER '{name}'@'127.0.0.1'; DROP USER '{name}'@'localhost';"),
        };
        let admin = self.admin.clone();
        let _ = std::thread::spawn(move || sql(&admin, &script)).join();
    }
}

#[test]
fn a_role_with_only_dml_rights_serves_a_current_schema_and_is_refused_an_older_one() {
    let db = Db::new();
    if db.engine() == Engine::Sqlite {
        eprintln!("SQLite has no roles: the file's owner is its only user (see the SQLite no-lock check)");
        return;
    }
    let url = db.url.clone();
    runtime().block_on(async move {
        let db = Database::open(&url).expect("the owner creates the schema");
        assert!(demo::load(&db).await.expect("demo loads"));
    });
    let role = Role::create(&db);

    let server = Server::start(&role.url, &[], &[]).expect("a DML-only role serves a current schema");
    assert_eq!(server.update(&[("user_id", "123"), ("a8", "john.lp@example.com")]), updated());
    assert!(server.read("123").contains("john.lp@example.com"));
    assert_quiet(&server.stop());
    let (status, _) = ok(&role.url, &["migrate", "--status"]);
    assert!(status.contains("pending: none"), "{status}");

    // Version 3: no address_emails yet.
    sql(
        &db.url,
        "DROP TABLE address_emails; INSERT INTO schema_migrations (version) VALUES (3); \
         DELETE FROM schema_migrations WHERE version > 3",
    );
    let refused = Server::start(&role.url, &[], &[]).err().expect("an older schema is refused");
    assert!(refused.contains(&older_refused(3)), "{refused}");
    assert!(!refused.contains("denied"), "refused before any DDL: {refused}");
    // Migrating needs the right to change the schema; the database says why it was refused.
    let denied = match db.engine() {
        Engine::Postgres => "permission denied for schema public",
        _ => "CREATE command denied",
    };
    let refused = Server::start(&role.url, &["--migrate"], &[]).err().expect("the role cannot migrate");
    assert!(refused.contains(denied), "{refused}");
    assert_quiet(&refused);
    let refused = fails(&role.url, &["migrate"]);
    assert!(refused.contains(denied), "{refused}");
    assert_quiet(&refused);

    // The owner migrates; the role serves again, on the new table too (default privileges).
    let (done, _) = ok(&db.url, &["migrate"]);
    assert!(done.contains(&format!("from version 3 to {}", schema::VERSION)), "{done}");
    let server = Server::start(&role.url, &[], &[]).expect("serves the upgraded schema");
    assert_eq!(server.update(&[("user_id", "789"), ("a8", "jane.lp@example.com")]), updated());
    let taken = server.update(&[("user_id", "789"), ("a8", "JOHN.LP@example.com")]);
    assert!(taken.contains("is already used"), "{taken}");
    assert_quiet(&server.stop());
}

/// Instances starting together (as scripts/galera-test starts them, one per node) take turns
/// under the migration lock: on an empty database one creates the schema, on a version-1 one
/// with --migrate one upgrades it, and every instance comes up and serves.
#[test]
fn instances_starting_together_all_come_up() {
    for version_1 in [false, true] {
        let db = Db::new();
        let args: &[&str] = if version_1 {
            db.make_version_1();
            &["--migrate"]
        } else {
            &[]
        };
        let starting: Vec<_> = (0..3)
            .map(|_| {
                let url = db.url.clone();
                std::thread::spawn(move || Server::start(&url, args, &[]))
            })
            .collect();
        let servers: Vec<Server> = starting
            .into_iter()
            .map(|s| s.join().expect("thread").unwrap_or_else(|log| panic!("an instance did not come up: {log}")))
            .collect();
        if !version_1 {
            let url = db.url.clone();
            runtime().block_on(async move {
                assert!(demo::load(&Database::open(&url).expect("opens")).await.expect("demo loads"));
            });
        }
        for s in &servers {
            assert_eq!(s.update(&[("user_id", "123"), ("u15", "0")]), updated());
        }
        let logs: Vec<String> = servers.into_iter().map(Server::stop).collect();
        let did = |what: &str| logs.iter().filter(|l| l.contains(what)).count();
        assert_eq!(did("database schema "), 1, "exactly one instance changed the schema: {logs:?}");
        logs.iter().for_each(|l| assert_quiet(l));
        let (status, _) = ok(&db.url, &["migrate", "--status"]);
        assert!(status.contains("pending: none"), "{status}");
    }
}
