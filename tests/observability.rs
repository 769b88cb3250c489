//! What an operator sees of a running server: the request log (one line per API request, with
//! its ids and outcome, never a parameter's value, as text or JSON), the Prometheus metrics (on
//! the API's listener or one of their own) and the liveness and readiness probes. The log and
//! metrics tests run the real binary, each in a process of its own (the metrics recorder is
//! process-wide); the probes run in-process on the test database (`MORAPI_TEST_DATABASE`).

mod common;

use common::*;
use morapi::storage::{Database, Tx};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

/// `morapi serve --demo` on a fresh SQLite file, its stderr (the log) kept in a file.
struct Server {
    child: Child,
    base: String,
    /// The address `--metrics-listen` bound, when given.
    metrics: Option<String>,
    url: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Server {
    fn start(args: &[&str]) -> Server {
        let dir = tempfile::tempdir().expect("dir");
        let url = format!("sqlite://{}", dir.path().join("log.db").display());
        let log = dir.path().join("stderr.log");
        let mut child = Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--database", &url, "--demo"])
            .args(args)
            .env_remove("MORAPI_DATABASE")
            .env_remove("MORAPI_LOG_FORMAT")
            .env_remove("MORAPI_METRICS_LISTEN")
            .env_remove("RUST_LOG")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("spawn");
        let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
        let wants_metrics = args.contains(&"--metrics-listen");
        let (mut base, mut metrics) = (None, None);
        while base.is_none() || (wants_metrics && metrics.is_none()) {
            let mut line = String::new();
            assert!(reader.read_line(&mut line).expect("read") > 0, "server exited early");
            if let Some(rest) = line.split("listening on ").nth(1) {
                base = rest.split(',').next().map(|a| a.trim().to_string());
            }
            if let Some(rest) = line.split("metrics on ").nth(1) {
                metrics = Some(rest.trim().trim_end_matches("/metrics").to_string());
            }
        }
        std::thread::spawn(move || for _ in reader.lines() {});
        Server { child, base: base.expect("base"), metrics, url, log, _dir: dir }
    }

    /// Stops the server and returns its log (the database stays until the server is dropped).
    fn stop(&mut self) -> String {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        assert!(self.child.wait().expect("wait").success());
        std::fs::read_to_string(&self.log).expect("log")
    }
}

/// A signed update from the demo admin; returns the answer and its `X-Request-Id`.
async fn update(base: &str, pairs: &[(&str, &str)], hash: Option<&str>, request_id: Option<&str>) -> (String, String) {
    let signed = sign_pairs(pairs, ADMIN_KEY);
    let hash = hash.unwrap_or(&signed);
    let mut all = vec![("u", "admin")];
    all.extend_from_slice(pairs);
    all.push(("hash", hash));
    let mut req = reqwest::Client::new()
        .post(format!("{base}{UPDATE}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&all));
    if let Some(id) = request_id {
        req = req.header("x-request-id", id);
    }
    let resp = req.send().await.expect("request");
    let echoed = resp.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    (resp.text().await.expect("body"), echoed)
}

const PASSWORD: &str = "Log-Secret-Passw0rd-7";
const EMAIL: &str = "log.secret@example.com";
/// A value the catalogue refuses and quotes in its `<message>`.
const BAD_VALUE: &str = "Secret-Decimal-991";
const BAD_HASH: &str = "0123456789abcdef0123456789abcdef01234567";

/// The request log's lines.
fn request_lines(log: &str) -> Vec<&str> {
    log.lines().filter(|l| l.contains("morapi::request")).collect()
}

#[tokio::test]
async fn the_request_log_has_one_line_per_request_and_no_secrets() {
    let mut server = Server::start(&[]);
    let base = server.base.clone();
    let change = [("user_id", "123"), ("pswd", PASSWORD), ("a8", EMAIL)];
    let (answer, echoed) = update(&base, &change, None, Some("client-req-42")).await;
    assert_eq!(answer, updated());
    assert_eq!(echoed, "client-req-42", "a sane X-Request-Id is echoed");
    let (answer, _) = update(&base, &[("user_id", "123"), ("u6", BAD_VALUE)], None, None).await;
    assert!(answer.contains(BAD_VALUE) && answer.contains("User was not updated"), "{answer}");
    let (answer, echoed) = update(&base, &[("user_id", "123")], Some(BAD_HASH), Some("not sane!")).await;
    assert_eq!(answer, status_error("Incorrect hash"));
    assert!(echoed.len() == 16 && echoed.bytes().all(|b| b.is_ascii_hexdigit()), "morapi's own id: {echoed}");
    let outside = reqwest::get(format!("{base}/nope")).await.expect("request");
    assert_eq!(outside.status(), 404);
    let url = server.url.clone();
    let log = server.stop();

    let lines = request_lines(&log);
    assert_eq!(lines.len(), 3, "one line per API request, the path outside the API at debug only:\n{log}");
    for line in &lines {
        assert!(line.contains(" INFO "), "{line}");
        for field in [
            "request_id=",
            "method=\"user_details_update\"",
            "alias=\"user_details_update\"",
            "client=127.0.0.1",
            "actor=\"admin\"",
            "user_id=123",
            "outcome=",
            "class=",
            "status=200",
            "latency_ms=",
        ] {
            assert!(line.contains(field), "{field} missing: {line}");
        }
        assert!(!line.contains('\u{1b}'), "no colour in a file: {line}");
    }
    assert!(lines[0].contains("outcome=\"User was updated\" class=\"updated\""), "{}", lines[0]);
    assert!(lines[0].contains("client_request_id=\"client-req-42\""), "{}", lines[0]);
    assert!(lines[1].contains("outcome=\"User was not updated\" class=\"refused\" messages=1"), "{}", lines[1]);
    assert!(lines[2].contains("outcome=\"Incorrect hash\" class=\"bad_hash\""), "{}", lines[2]);
    assert!(!lines[2].contains("client_request_id"), "an insane id is ignored: {}", lines[2]);

    // The audit rows carry morapi's own id (the one that proves a lost commit), never the
    // client's; the log line links the two.
    let db = Database::open(&url).expect("open");
    let audit = db.administer(|repo| Ok(Tx::Rollback(repo.audit_entries()?))).await.expect("audit");
    let stored_password = morapi::storage::text(
        &db.administer(|repo| Ok(Tx::Rollback(repo.row(morapi::storage::Table::Users, 123)?)))
            .await
            .expect("read")
            .expect("user 123"),
        "password",
    );
    let ids: Vec<&str> = audit.iter().map(|e| e.request_id.as_str()).collect();
    assert!(!ids.contains(&"client-req-42"), "{ids:?}");
    let logged = lines[0].split("request_id=").nth(1).and_then(|r| r.split(' ').next()).expect("request id");
    assert!(ids.contains(&logged), "{logged} not in {ids:?}");

    let quoted_key = [format!("'{ADMIN_KEY}'"), format!("\"{ADMIN_KEY}\""), format!("={ADMIN_KEY}")];
    let signed = sign_pairs(&change, ADMIN_KEY);
    for secret in [PASSWORD, EMAIL, BAD_VALUE, BAD_HASH, &signed, &stored_password, &quoted_key[0], &quoted_key[1]]
        .into_iter()
        .chain([quoted_key[2].as_str()])
    {
        assert!(!log.contains(secret), "the log holds {secret:?}:\n{log}");
    }
}

#[tokio::test]
async fn the_json_log_is_one_object_per_line() {
    let mut server = Server::start(&["--log-format", "json"]);
    let (answer, _) =
        update(&server.base, &[("user_id", "123"), ("pswd", PASSWORD)], None, Some("trace-7f:01.a_b")).await;
    assert_eq!(answer, updated());
    let log = server.stop();
    let mut requests = Vec::new();
    for line in log.lines() {
        let value: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(value.is_object(), "{line}");
        if value["target"] == "morapi::request" {
            requests.push(value);
        }
    }
    assert_eq!(requests.len(), 1, "{log}");
    let line = &requests[0];
    assert_eq!(line["client_request_id"], "trace-7f:01.a_b");
    assert_eq!(line["method"], "user_details_update");
    assert_eq!(line["class"], "updated");
    assert_eq!(line["actor"], "admin");
    assert_eq!(line["status"], 200);
    assert_eq!(line["user_id"], 123);
    assert_eq!(line["level"], "INFO");
    assert!(line["request_id"].as_str().is_some_and(|id| id.len() == 16), "{line}");
    assert!(line["latency_ms"].is_number() && line["timestamp"].is_string(), "{line}");
    assert!(!log.contains(PASSWORD));
}

/// The samples of a scrape: `name{labels}` → value.
fn samples(scrape: &str) -> BTreeMap<String, f64> {
    scrape
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.rsplit_once(' ').and_then(|(k, v)| Some((k.to_string(), v.parse().ok()?))))
        .collect()
}

async fn scrape(base: &str) -> BTreeMap<String, f64> {
    let resp = reqwest::get(format!("{base}/metrics")).await.expect("scrape");
    assert_eq!(resp.status(), 200);
    let content_type = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
    samples(&resp.text().await.expect("body"))
}

#[tokio::test]
async fn metrics_count_requests_by_method_and_outcome() {
    let mut server = Server::start(&[]);
    let base = server.base.clone();
    let before = scrape(&base).await;
    assert_eq!(before.get("morapi_hash_refusals_total"), Some(&0.0), "shown from the start: {before:?}");
    assert_eq!(update(&base, &[("user_id", "123"), ("a8", EMAIL)], None, None).await.0, updated());
    update(&base, &[("user_id", "123"), ("u6", BAD_VALUE)], None, None).await;
    update(&base, &[("user_id", "123")], Some(BAD_HASH), None).await;
    let after = scrape(&base).await;
    server.stop();

    let moved = |key: &str| after.get(key).copied().unwrap_or(0.0) - before.get(key).copied().unwrap_or(0.0);
    let requests = |outcome: &str| {
        moved(&format!("morapi_requests_total{{method=\"user_details_update\",outcome=\"{outcome}\"}}"))
    };
    assert_eq!(requests("updated"), 1.0, "{after:?}");
    assert_eq!(requests("refused"), 1.0, "{after:?}");
    assert_eq!(requests("bad_hash"), 1.0, "{after:?}");
    assert_eq!(moved("morapi_hash_refusals_total"), 1.0);
    assert_eq!(moved("morapi_request_duration_seconds_count{method=\"user_details_update\"}"), 3.0);
    assert!(moved("morapi_sqlite_batch_size_count") >= 3.0, "{after:?}");
    // Bounded labels: no value a client sent is a label.
    assert!(after.keys().all(|k| !k.contains(BAD_VALUE) && !k.contains("admin")), "{after:?}");
}

#[tokio::test]
async fn metrics_listen_moves_metrics_off_the_api_listener() {
    let mut server = Server::start(&["--metrics-listen", "127.0.0.1:0"]);
    let metrics = server.metrics.clone().expect("metrics address");
    assert_ne!(metrics, server.base);
    let on_api = reqwest::get(format!("{}/metrics", server.base)).await.expect("request");
    assert_eq!(on_api.status(), 404, "not on the API's listener");
    assert_eq!(update(&server.base, &[("user_id", "123")], None, None).await.0, updated());
    let scraped = scrape(&metrics).await;
    assert!(
        scraped.contains_key("morapi_requests_total{method=\"user_details_update\",outcome=\"updated\"}"),
        "{scraped:?}"
    );
    let elsewhere = reqwest::get(format!("{metrics}{UPDATE}")).await.expect("request");
    assert_eq!(elsewhere.status(), 404, "the metrics listener serves /metrics only");
    server.stop();
}

#[tokio::test]
async fn health_and_ready_are_probes_not_api_methods() {
    let app = TestApp::spawn().await;
    for (path, body) in [("/health", "ok\n"), ("/ready", "ready\n")] {
        let r = app.get(path).await;
        assert_eq!((r.status, r.body.as_str()), (200, body), "{path}");
        assert!(r.content_type.starts_with("text/plain"), "{path}: {}", r.content_type);
    }
    for (method, path) in [("POST", "/health"), ("PUT", "/ready"), ("DELETE", "/metrics")] {
        let resp = app
            .client
            .request(method.parse().expect("method"), format!("{}{path}", app.base))
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status(), 405, "{method} {path}");
        let allow = resp.headers().get("allow").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
        assert_eq!(allow, "GET, HEAD", "{method} {path}");
        let body = resp.text().await.expect("body");
        assert!(body.contains("Method Not Allowed") && body.contains(path), "{method} {path}: {body:?}");
    }
    // The API's own names stay API methods' (or none): /health is not under /api/.
    let r = app.get("/api/health").await;
    assert!(r.body.contains("There is no such API"), "{}", r.body);
}

#[tokio::test]
async fn ready_says_why_when_the_database_is_gone() {
    let app = TestApp::spawn().await;
    assert_eq!(app.get("/ready").await.status, 200);
    if let Some(path) = app.url.strip_prefix("sqlite://") {
        // The file deleted under the running server: its writes would go nowhere.
        let dir = std::path::Path::new(path).parent().expect("dir").to_path_buf();
        std::fs::remove_dir_all(&dir).expect("remove the database's directory");
        let r = app.get("/ready").await;
        assert_eq!(r.status, 503, "{}", r.body);
        assert!(r.body.starts_with("not ready: ") && r.body.contains("is gone"), "{}", r.body);
    } else if app.url.starts_with("postgres") {
        // The database dropped, its sessions ended (WITH (FORCE)).
        morapi::storage::scratch::drop(&app.url).expect("drop");
        let r = app.get("/ready").await;
        assert_eq!(r.status, 503, "{}", r.body);
        assert!(r.body.contains("does not exist") || r.body.contains("terminat"), "{}", r.body);
        assert!(!r.body.contains("password="), "{}", r.body);
    } else {
        eprintln!("the outage half runs on SQLite and PostgreSQL (MariaDB keeps a dropped database's sessions)");
    }
    assert_eq!(app.get("/health").await.status, 200, "liveness needs no database");
}
