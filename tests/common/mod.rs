//! Test harness: a real morapi server on port 0 with its own fresh database, and helpers to sign
//! requests and look at what the database holds.
#![allow(dead_code)]

use morapi::auth::hash::{Variant, sign};
use morapi::params::Params;
use morapi::storage::{
    AuditEntry, AuditEvent, Database, RefusalFilter, RefusalRow, RefusalScope, Row, Table, demo, int,
};
use morapi::storage::{Tx, Value};
use std::collections::BTreeMap;
use tokio::sync::oneshot;

/// The demo admin's API key (docs/contract.md §9).
pub const ADMIN_KEY: &str = "456789";
/// The demo reseller's own API key.
pub const RESELLER_KEY: &str = "reseller-secret";
pub const UPDATE: &str = "/billing/api/user_details_update";

pub struct TestApp {
    pub base: String,
    pub db: Database,
    pub client: reqwest::Client,
    /// The database URL this server uses.
    pub url: String,
    shutdown: Option<oneshot::Sender<()>>,
    /// The scratch server database to drop at the end, if any.
    scratch: Option<String>,
    _dir: tempfile::TempDir,
}

/// The database URL for one test: SQLite by default, else a scratch database on the server of
/// `MORAPI_TEST_DATABASE` (e.g. `postgres://postgres@127.0.0.1:5432/test`).
pub fn test_database_url(dir: &tempfile::TempDir) -> (String, Option<String>) {
    match std::env::var("MORAPI_TEST_DATABASE") {
        Ok(server) if !server.is_empty() && !server.starts_with("sqlite") => {
            let url = morapi::storage::scratch::create(&server).expect("scratch database");
            (url.clone(), Some(url))
        }
        _ => (format!("sqlite://{}", dir.path().join("test.db").display()), None),
    }
}

/// POSTs `pairs` as a form to `{base}{path}` of a server started as a process (see
/// [`start_server`]), signed by `u` with `key`; the answer's body.
pub async fn post_signed(
    client: &reqwest::Client,
    base: &str,
    path: &str,
    (u, key): (&str, &str),
    pairs: &[(&str, &str)],
) -> String {
    let hash = sign_pairs(pairs, key);
    let mut all = pairs.to_vec();
    all.extend([("u", u), ("hash", hash.as_str())]);
    client
        .post(format!("{base}{path}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&all))
        .send()
        .await
        .expect("request")
        .text()
        .await
        .expect("body")
}

/// A database for a test that runs the binary against it, no server of its own: SQLite in a
/// temporary directory, or a scratch database on the server of `MORAPI_TEST_DATABASE`, dropped
/// at the end. `dir` is the test's temporary directory (for files the commands read).
pub struct TestDb {
    pub url: String,
    pub dir: tempfile::TempDir,
    scratch: Option<String>,
}

impl TestDb {
    pub fn new() -> TestDb {
        let dir = tempfile::tempdir().expect("tmp");
        let (url, scratch) = test_database_url(&dir);
        TestDb { url, dir, scratch }
    }

    /// Another test's database (a running [`TestApp`]'s, dropped with it, not here).
    pub fn at(url: &str) -> TestDb {
        TestDb { url: url.into(), dir: tempfile::tempdir().expect("tmp"), scratch: None }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(url) = self.scratch.take() {
            let _ = morapi::storage::scratch::drop(&url);
        }
    }
}

/// An HTTP answer: status, content type, body, and the `x-request-id` the audit trail records.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub body: String,
    pub request_id: String,
}

/// The rows of one user that an update may change: `users`, and the linked `addresses` and
/// `taxes` rows when there are any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRows {
    pub user: Row,
    pub address: Option<Row>,
    pub tax: Option<Row>,
}

impl TestApp {
    /// A server with the demo dataset loaded.
    pub async fn spawn() -> TestApp {
        let app = TestApp::spawn_empty().await;
        assert!(demo::load(&app.db).await.expect("demo loads"));
        app
    }

    /// A server on a fresh, empty (migrated) database: SQLite in a temporary directory, or a
    /// scratch database on the server named by `MORAPI_TEST_DATABASE` (dropped afterwards).
    pub async fn spawn_empty() -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let (url, scratch) = test_database_url(&dir);
        Self::start(url, scratch, dir).await
    }

    /// Another server instance on this one's database (its own connections, its own writer).
    pub async fn spawn_second(&self) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        Self::start(self.url.clone(), None, dir).await
    }

    /// A server with the demo dataset on a fresh database opened with `options` (e.g. short
    /// --db-timeout and --db-lock-timeout); dropped afterwards like [`TestApp::spawn`]'s.
    pub async fn spawn_with(options: morapi::storage::PoolOptions) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let (url, scratch) = test_database_url(&dir);
        let db = Database::open_with(&url, options).expect("database opens");
        let app = Self::start_on(db, url, scratch, dir).await;
        assert!(demo::load(&app.db).await.expect("demo loads"));
        app
    }

    /// A server on a database the test opened itself (e.g. with special pool options).
    pub async fn serve(db: Database) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        Self::start_on(db, String::new(), None, dir).await
    }

    async fn start(url: String, scratch: Option<String>, dir: tempfile::TempDir) -> TestApp {
        let db = Database::open(&url).expect("database opens");
        Self::start_on(db, url, scratch, dir).await
    }

    async fn start_on(db: Database, url: String, scratch: Option<String>, dir: tempfile::TempDir) -> TestApp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
        let addr = listener.local_addr().expect("local addr");
        let (tx, rx) = oneshot::channel::<()>();
        let server_db = db.clone();
        tokio::spawn(async move {
            let _ = morapi::server::serve(listener, server_db, async {
                let _ = rx.await;
            })
            .await;
        });
        TestApp {
            base: format!("http://{addr}"),
            db,
            client: reqwest::Client::new(),
            url,
            shutdown: Some(tx),
            scratch,
            _dir: dir,
        }
    }

    pub async fn reply(resp: reqwest::Response) -> Reply {
        let status = resp.status().as_u16();
        let header =
            |name: &str| resp.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
        let (content_type, request_id) = (header("content-type"), header("x-request-id"));
        let body = resp.text().await.expect("body");
        Reply { status, content_type, body, request_id }
    }

    /// POST with everything in the query string (as the seed's example does).
    pub async fn post(&self, path_and_query: &str) -> Reply {
        let resp = self.client.post(format!("{}{path_and_query}", self.base)).send().await.expect("request");
        Self::reply(resp).await
    }

    pub async fn get(&self, path_and_query: &str) -> Reply {
        let resp = self.client.get(format!("{}{path_and_query}", self.base)).send().await.expect("request");
        Self::reply(resp).await
    }

    /// POST with a form body.
    pub async fn post_form(&self, path: &str, pairs: &[(&str, &str)]) -> Reply {
        let body = form(pairs);
        let resp = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .expect("request");
        Self::reply(resp).await
    }

    /// A signed update as `u` with `key`, sent from another loopback address (`127.0.0.2`, …),
    /// so that the server sees another client. Returns the body.
    pub async fn update_from(&self, source: &str, u: &str, key: &str, pairs: &[(&str, &str)]) -> String {
        let mut all: Vec<(&str, &str)> = pairs.to_vec();
        let hash = sign_pairs(pairs, key);
        all.push(("u", u));
        all.push(("hash", &hash));
        let client = reqwest::Client::builder()
            .local_address(source.parse::<std::net::IpAddr>().expect("an IP address"))
            .build()
            .expect("client");
        let resp = client
            .post(format!("{}{UPDATE}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(&all))
            .send()
            .await
            .expect("request");
        Self::reply(resp).await.body
    }

    /// POST with a raw body and content type.
    pub async fn post_raw(&self, path_and_query: &str, content_type: &str, body: impl Into<reqwest::Body>) -> Reply {
        let resp = self
            .client
            .post(format!("{}{path_and_query}", self.base))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("request");
        Self::reply(resp).await
    }

    /// A signed `user_details_update` as user `u` with `key`: pairs are sent as a form body,
    /// `u` and the hash are added. Returns the body.
    pub async fn update_as(&self, u: &str, key: &str, pairs: &[(&str, &str)]) -> String {
        let mut all: Vec<(&str, &str)> = pairs.to_vec();
        let hash = sign_pairs(pairs, key);
        all.push(("u", u));
        all.push(("hash", &hash));
        self.post_form(UPDATE, &all).await.body
    }

    /// A signed update as the demo admin.
    pub async fn update(&self, pairs: &[(&str, &str)]) -> String {
        self.update_as("admin", ADMIN_KEY, pairs).await
    }

    pub async fn set_setting(&self, owner: i64, name: &str, value: &str) {
        let (name, value) = (name.to_string(), value.to_string());
        self.db
            .administer(move |repo| {
                repo.set_setting(owner, &name, &value)?;
                Ok(Tx::Commit(()))
            })
            .await
            .expect("setting stored");
    }

    /// Runs trusted SQL (fixtures).
    pub async fn sql(&self, sql: &str) {
        let sql = sql.to_string();
        self.db
            .administer(move |repo| {
                repo.execute_script(&sql)?;
                Ok(Tx::Commit(()))
            })
            .await
            .expect("sql runs");
    }

    pub async fn user(&self, id: i64) -> Row {
        self.db
            .administer(move |repo| Ok(Tx::Rollback(repo.user_by_id(id)?)))
            .await
            .expect("read")
            .unwrap_or_else(|| panic!("user {id} exists"))
    }

    /// A column of a user, rendered as text (NULL is empty).
    pub async fn col(&self, id: i64, column: &str) -> String {
        morapi::storage::text(&self.user(id).await, column)
    }

    pub async fn row(&self, table: Table, id: i64) -> Option<Row> {
        self.db.administer(move |repo| Ok(Tx::Rollback(repo.row(table, id)?))).await.expect("read")
    }

    /// Every user's rows, by user id.
    pub async fn user_rows(&self) -> BTreeMap<i64, UserRows> {
        self.db
            .administer(|repo| {
                let mut out = BTreeMap::new();
                for user in repo.list_rows(Table::Users, &[])? {
                    let mut linked = |table, fk| match int(&user, fk) {
                        Some(id) => repo.row(table, id),
                        None => Ok(None),
                    };
                    let (address, tax) = (linked(Table::Addresses, "address_id")?, linked(Table::Taxes, "tax_id")?);
                    out.insert(int(&user, "id").expect("users.id"), UserRows { user, address, tax });
                }
                Ok(Tx::Rollback(out))
            })
            .await
            .expect("read")
    }

    /// A row of `table` as an insert without values leaves it (the schema's defaults, as this
    /// engine reads them back); nothing is kept.
    pub async fn fresh_row(&self, table: Table) -> Row {
        self.db
            .administer(move |repo| {
                let id = repo.insert_row(table, &[])?;
                Ok(Tx::Rollback(repo.row(table, id)?.expect("the row just inserted")))
            })
            .await
            .expect("insert")
    }

    pub async fn audit(&self) -> Vec<AuditEntry> {
        self.db.administer(|repo| Ok(Tx::Rollback(repo.audit_entries()?))).await.expect("read")
    }

    /// The counted refusals (one row per client address, name and window), newest first.
    pub async fn refusals(&self) -> Vec<RefusalRow> {
        self.db.administer(|repo| Ok(Tx::Rollback(repo.refusals(&RefusalFilter::default())?))).await.expect("read")
    }

    /// The refusals of one name (`u` as sent), newest first.
    pub async fn refusals_of(&self, name: &str) -> Vec<RefusalRow> {
        self.refusals().await.into_iter().filter(|r| r.name == name && r.scope == RefusalScope::Name).collect()
    }

    pub async fn changes(&self) -> Vec<AuditEntry> {
        self.audit().await.into_iter().filter(|e| e.event == AuditEvent::Change).collect()
    }

    /// Everything an update could write, for "nothing changed" checks: every user, address and
    /// tax row of the demo, the user count and the number of change audit rows.
    pub async fn state(&self) -> String {
        self.db
            .administer(|repo| {
                let mut out = String::new();
                out.push_str(&format!("users={}\n", repo.user_count()?));
                for id in [0, 123, 789, 200, 201, 202, 300, 301] {
                    out.push_str(&format!("user {id}: {:?}\n", repo.user_by_id(id)?));
                }
                for id in 1..=8 {
                    out.push_str(&format!("address {id}: {:?}\n", repo.row(Table::Addresses, id)?));
                    out.push_str(&format!("tax {id}: {:?}\n", repo.row(Table::Taxes, id)?));
                }
                let changes = repo.audit_entries()?.into_iter().filter(|e| e.event == AuditEvent::Change).count();
                out.push_str(&format!("change audit rows={changes}\n"));
                Ok(Tx::Rollback(out))
            })
            .await
            .expect("read")
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(url) = self.scratch.take() {
            let _ = morapi::storage::scratch::drop(&url);
        }
    }
}

/// URL-encodes pairs as a form body / query string.
pub fn form(pairs: &[(&str, &str)]) -> String {
    let mut s = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            s.push('&');
        }
        s.push_str(&enc(k));
        s.push('=');
        s.push_str(&enc(v));
    }
    s
}

fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// MOR's documented hash of the pairs with `key`.
pub fn sign_pairs(pairs: &[(&str, &str)], key: &str) -> String {
    sign(&Params::from_pairs(pairs.iter().copied()), key, Variant::Documented)
}

/// The exact XML documents morapi answers.
pub fn updated() -> String {
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<page>\n  <status>User was updated</status>\n</page>\n".into()
}

pub fn page_error(error: &str, messages: &[&str]) -> String {
    let mut s = format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<page>\n  <error>{error}</error>\n");
    for m in messages {
        s.push_str(&format!("  <message>{m}</message>\n"));
    }
    s.push_str("</page>\n");
    s
}

pub fn status_error(error: &str) -> String {
    format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<status>\n  <error>{error}</error>\n</status>\n")
}

/// The `morapi` binary of this build.
pub const BIN: &str = env!("CARGO_BIN_EXE_morapi");

/// Starts `morapi serve` (with `--demo` when asked) on port 0 and returns the child, its base URL
/// and what it printed up to "listening on". The caller stops it with [`stop_server`], which
/// clippy cannot see.
#[allow(clippy::zombie_processes)]
pub fn start_server(db: &str, demo: bool) -> (std::process::Child, String, Vec<String>) {
    spawn_server(db, demo, None, std::process::Stdio::null())
}

/// [`start_server`] with the server's log at `rust_log` (a `RUST_LOG` filter) written to the
/// file `stderr`, for tests that read what the server logged.
pub fn start_server_logging(
    db: &str,
    demo: bool,
    rust_log: &str,
    stderr: &std::path::Path,
) -> (std::process::Child, String) {
    let file = std::fs::File::create(stderr).expect("stderr file");
    let (child, base, _) = spawn_server(db, demo, Some(rust_log), file.into());
    (child, base)
}

// The child is handed to the caller, who stops it (`stop_server`).
#[allow(clippy::zombie_processes)]
fn spawn_server(
    db: &str,
    demo: bool,
    rust_log: Option<&str>,
    stderr: std::process::Stdio,
) -> (std::process::Child, String, Vec<String>) {
    use std::io::{BufRead, BufReader};
    let mut args = vec!["serve", "--listen", "127.0.0.1:0", "--database", db];
    if demo {
        args.push("--demo");
    }
    let mut command = std::process::Command::new(BIN);
    command.args(&args).env_remove("MORAPI_DATABASE").stdout(std::process::Stdio::piped()).stderr(stderr);
    if let Some(filter) = rust_log {
        command.env("RUST_LOG", filter);
    }
    let mut child = command.spawn().expect("spawn");
    let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).expect("read") == 0 {
            let status = child.wait();
            panic!("server exited early ({status:?}): {lines:?}");
        }
        lines.push(line.trim().to_string());
        if let Some(rest) = line.split("listening on ").nth(1) {
            let base = rest.split(',').next().expect("address").trim().to_string();
            // Keep draining stdout so the server never blocks on a full pipe.
            std::thread::spawn(move || for _ in reader.lines() {});
            return (child, base, lines);
        }
    }
}

/// Sends SIGTERM and waits for the server to exit.
pub fn stop_server(mut child: std::process::Child) -> std::process::ExitStatus {
    let _ = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    child.wait().expect("wait")
}

// issue 12 helpers -------------------------------------------------------------------------------
// The lifecycle methods (docs/contract.md §12–§18): their paths, the exact documents they answer, the
// demo users as `users_get` lists them, and reads of what they write.

pub const REGISTER: &str = "/billing/api/user_register";
pub const USERS_GET: &str = "/billing/api/users_get";
pub const DELETE: &str = "/billing/api/user_delete";
pub const LOGIN: &str = "/billing/api/user_login";
pub const LOGOUT: &str = "/billing/api/logout";

/// Lower-case hex SHA-1 of `s`: the lifecycle tests compute their hashes without the crate's own
/// signing code, from the strings the contract states.
pub fn sha1_hex(s: &str) -> String {
    use sha1::{Digest, Sha1};
    hex::encode(Sha1::digest(s.as_bytes()))
}

/// `user_register`'s hash list, in MOR's global order (contract §1.2): of the method's own names
/// only these enter, each with its raw value.
pub const REGISTER_HASH_ORDER: &[&str] = &[
    "email",
    "id",
    "lcr_id",
    "device_type",
    "username",
    "first_name",
    "last_name",
    "caller_id",
    "state",
    "device_location_id",
];

/// The hash string of a `user_register` request (before the key).
pub fn register_string(pairs: &[(&str, &str)]) -> String {
    REGISTER_HASH_ORDER.iter().filter_map(|name| pairs.iter().find(|(n, _)| n == name).map(|(_, v)| *v)).collect()
}

/// `<page><status><error>…</error><message>…</message>…</status></page>`: how `user_register` and
/// `users_get` refuse (docs/contract.md §12, §13).
pub fn page_status_error(error: &str, messages: &[&str]) -> String {
    let mut s = format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<page>\n  <status>\n    <error>{error}</error>\n");
    for m in messages {
        s.push_str(&format!("    <message>{m}</message>\n"));
    }
    s.push_str("  </status>\n</page>\n");
    s
}

/// `user_delete`'s success.
pub fn user_deleted() -> String {
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<page>\n  <status>User deleted</status>\n</page>\n".into()
}

/// An `<action>` document (login, logout): one child per line.
pub fn action(children: &[(&str, &str)]) -> String {
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<action>\n");
    for (name, text) in children {
        s.push_str(&format!("  <{name}>{text}</{name}>\n"));
    }
    s.push_str("</action>\n");
    s
}

pub fn login_ok(user_id: i64) -> String {
    let id = user_id.to_string();
    action(&[("name", "login"), ("status", "ok"), ("user_id", &id), ("status_message", "Successfully logged in")])
}

pub fn login_failed(message: &str) -> String {
    action(&[("name", "login"), ("status", "failed"), ("status_message", message)])
}

/// `user_register`'s success for (new user id, device id, device extension) with `PASSWORD` and `PIN` standing for the generated device
/// credentials (see [`mask_credentials`]); `server_ip` empty closes itself.
pub fn registered(
    (user_id, device_id, extension): (i64, i64, i64),
    device_type: &str,
    caller_id: Option<&str>,
    server_ip: &str,
) -> String {
    let mut s = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<page>\n  <status>\n    <success>Registration successful</success>\n  </status>\n  <user_device_settings>\n    <user_id>{user_id}</user_id>\n    <device_type>{device_type}</device_type>\n    <device_id>{device_id}</device_id>\n"
    );
    if let Some(c) = caller_id {
        s.push_str(&format!("    <caller_id>&lt;{c}&gt;</caller_id>\n"));
    }
    s.push_str(&format!(
        "    <username>{extension}</username>\n    <password>PASSWORD</password>\n    <pin>PIN</pin>\n"
    ));
    if server_ip.is_empty() {
        s.push_str("    <server_ip/>\n");
    } else {
        s.push_str(&format!("    <server_ip>{server_ip}</server_ip>\n"));
    }
    s.push_str("    <registration_notice>*ATTENTION! These settings are for you to configure your DEVICE. \nIn order to login to this system you need to use settings you have entered before!</registration_notice>\n  </user_device_settings>\n</page>\n");
    s
}

/// Replaces the device password (12 characters: 4 lower-case, 4 capitals, 4 digits) and PIN
/// (`pin_digits` digits) of a registration answer by `PASSWORD` and `PIN`, checking both
/// patterns; returns the masked body and the two values. A body without them is returned as is.
pub fn mask_credentials(body: &str, pin_digits: usize) -> (String, String, String) {
    fn take<'a>(body: &'a str, element: &str) -> Option<&'a str> {
        let open = format!("<{element}>");
        let start = body.find(&open)? + open.len();
        let end = start + body[start..].find(&format!("</{element}>"))?;
        Some(&body[start..end])
    }
    let (Some(password), Some(pin)) = (take(body, "password"), take(body, "pin")) else {
        return (body.to_string(), String::new(), String::new());
    };
    let count = |f: fn(&char) -> bool| password.chars().filter(f).count();
    assert_eq!(password.chars().count(), 12, "device password {password:?}");
    assert_eq!(
        (count(char::is_ascii_lowercase), count(char::is_ascii_uppercase), count(char::is_ascii_digit)),
        (4, 4, 4),
        "device password {password:?}"
    );
    assert!(pin.len() == pin_digits && pin.bytes().all(|b| b.is_ascii_digit()), "pin {pin:?}");
    let masked = body
        .replacen(&format!("<password>{password}</password>"), "<password>PASSWORD</password>", 1)
        .replacen(&format!("<pin>{pin}</pin>"), "<pin>PIN</pin>", 1);
    (masked, password.to_string(), pin.to_string())
}

/// id, username, first name, last name, LCR, tariff, owner, user type.
pub type Listed = (i64, &'static str, &'static str, &'static str, i64, i64, i64, &'static str);

/// The demo users as `users_get` lists them (vector G1): id, username, first and
/// last name, LCR, tariff, owner, user type; balance `0.0`, blocked and hidden 0 for all.
pub const LISTED_USERS: &[Listed] = &[
    (123, "john", "John", "Smith", 1, 1, 0, "user"),
    (200, "reseller", "Richard", "Reseller", 3, 5, 0, "reseller"),
    (201, "alice", "Alice", "Brown", 3, 4, 200, "user"),
    (202, "bob", "Bob", "Green", 3, 4, 200, "user"),
    (300, "accountant", "Anna", "Accountant", 0, 0, 0, "accountant"),
    (301, "viewer", "Victor", "Viewer", 0, 0, 0, "accountant"),
    (789, "jane", "Jane", "Doe", 1, 2, 0, "user"),
];

/// `users_get`'s list of the demo users with these ids, in the order given.
pub fn users_list(ids: &[i64]) -> String {
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<page>\n  <status>\n    <users>\n");
    for id in ids {
        let (id, username, first, last, lcr, tariff, owner, usertype) =
            *LISTED_USERS.iter().find(|u| u.0 == *id).unwrap_or_else(|| panic!("demo user {id}"));
        s.push_str(&format!(
            "      <user>\n        <id>{id}</id>\n        <username>{username}</username>\n        <first_name>{first}</first_name>\n        <last_name>{last}</last_name>\n        <balance>0.0</balance>\n        <blocked>0</blocked>\n        <lcr_id>{lcr}</lcr_id>\n        <tariff_id>{tariff}</tariff_id>\n        <owner_id>{owner}</owner_id>\n        <usertype>{usertype}</usertype>\n        <hidden>0</hidden>\n      </user>\n"
        ));
    }
    s.push_str("    </users>\n  </status>\n</page>\n");
    s
}

impl TestApp {
    /// A POST with a form body that must answer HTTP 200 with an XML document; the body.
    pub async fn call(&self, path: &str, pairs: &[(&str, &str)]) -> String {
        let reply = self.post_form(path, pairs).await;
        assert_eq!(reply.status, 200, "{path}: {reply:?}");
        assert_eq!(reply.content_type, "text/xml; charset=utf-8", "{path}: {reply:?}");
        reply.body
    }

    /// How many rows of `table` have the given column values (all rows when empty).
    pub async fn count_where(&self, table: Table, filter: &[(&'static str, Value)]) -> usize {
        let filter = filter.to_vec();
        self.db
            .administer(move |repo| Ok(Tx::Rollback(repo.list_rows(table, &filter)?.len())))
            .await
            .expect("count rows")
    }

    /// Every row of `table`, in id order.
    pub async fn rows(&self, table: Table) -> Vec<Row> {
        self.db.administer(move |repo| Ok(Tx::Rollback(repo.list_rows(table, &[])?))).await.expect("read")
    }

    /// What the lifecycle methods could change in the data: [`TestApp::state`] without its audit
    /// count, every device row, and the number of users, addresses, taxes and caller ids.
    pub async fn data_state(&self) -> String {
        let mut out =
            self.state().await.lines().filter(|l| !l.starts_with("change audit")).collect::<Vec<_>>().join("\n");
        for table in [Table::Users, Table::Addresses, Table::Taxes] {
            out.push_str(&format!("\n{} rows={}", table.name(), self.rows(table).await.len()));
        }
        for device in self.rows(Table::Devices).await {
            out.push_str(&format!("\ndevice {device:?}"));
        }
        out.push_str(&format!("\ncallerids={}", self.count_where(Table::Callerids, &[]).await));
        out
    }

    /// [`TestApp::data_state`] and the number of audit rows of each event: for requests that
    /// must write nothing at all.
    pub async fn lifecycle_state(&self) -> String {
        let mut events = BTreeMap::<String, usize>::new();
        for e in self.audit().await {
            *events.entry(e.event.name().to_string()).or_default() += 1;
        }
        format!("{}\naudit={events:?}", self.data_state().await)
    }
}

/// `user_delete`'s refusal of the demo reseller (vector D4): every problem, in the contract's
/// order; the first is also the `<error>`.
pub const RESELLER_HAS_USERS: &str = "Unable to delete this reseller - he has users";
pub const D4_PROBLEMS: [&str; 7] = [
    RESELLER_HAS_USERS,
    "Cannot delete user - he owns tariffs: 4",
    "Cannot delete user - he owns LCRs: 3",
    "Cannot delete user - he owns quick-forward rules: 4",
    "Cannot delete user - he owns PBX pools: 2",
    "Cannot delete user - he owns sound files: 2",
    "Cannot delete user - he owns locations: 2",
];
