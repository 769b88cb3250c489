//! `morapi call` and `morapi audit`, as the real binary: `call` against a real `morapi serve` with
//! the demo data (and against a bare TCP listener, to see the exact bytes sent), then `audit` on
//! that database.

mod common;
use common::{BIN, start_server, stop_server};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output, Stdio};

const UPDATED: &str =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<page>\n  <status>User was updated</status>\n</page>\n";

fn start(db: &str) -> (std::process::Child, String) {
    let (child, base, _) = start_server(db, true);
    (child, base)
}

fn stop(child: std::process::Child) {
    assert!(stop_server(child).success());
}

/// Runs `morapi ARGS` with a clean environment for morapi's own variables and no terminal.
fn morapi(args: &[&str]) -> Output {
    morapi_env(args, &[])
}

fn morapi_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args).env_remove("MORAPI_KEY").env_remove("MORAPI_DATABASE").stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run morapi")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A demo server on a fresh SQLite file; the file's path for direct looks.
struct Demo {
    child: Option<std::process::Child>,
    base: String,
    url: String,
    path: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Demo {
    fn start() -> Demo {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("m.db");
        let url = format!("sqlite://{}", path.display());
        let (child, base) = start(&url);
        Demo { child: Some(child), base, url, path, _dir: dir }
    }

    fn query_i64(&self, sql: &str) -> i64 {
        let conn = rusqlite::Connection::open(&self.path).expect("open");
        conn.query_row(sql, [], |r| r.get(0)).expect("row")
    }

    fn set(&self, name: &str, value: &str) {
        let conn = rusqlite::Connection::open(&self.path).expect("open");
        conn.execute(
            "INSERT INTO conflines (name, value, owner_id) VALUES (?1, ?2, 0) \
             ON CONFLICT (owner_id, name) DO UPDATE SET value = excluded.value",
            [name, value],
        )
        .expect("setting");
    }

    fn blocked(&self, id: i64) -> i64 {
        self.query_i64(&format!("SELECT blocked FROM users WHERE id = {id}"))
    }

    fn audit_rows(&self) -> i64 {
        self.query_i64("SELECT COUNT(*) FROM audit_log")
    }

    /// `morapi call BASE user_details_update -u USER --key KEY PAIRS…`
    fn call(&self, user: &str, key: &str, pairs: &[&str]) -> Output {
        let mut args = vec!["call", &self.base, "user_details_update", "-u", user, "--key", key];
        args.extend_from_slice(pairs);
        morapi(&args)
    }

    /// `morapi audit --database URL ARGS…`
    fn audit(&self, args: &[&str]) -> Output {
        let mut all = vec!["audit", "--database", &self.url];
        all.extend_from_slice(args);
        morapi(&all)
    }

    fn audit_json(&self, args: &[&str]) -> Vec<serde_json::Value> {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = self.audit(&all);
        assert!(out.status.success(), "{}", stderr(&out));
        match serde_json::from_slice(&out.stdout).expect("JSON") {
            serde_json::Value::Array(rows) => rows,
            other => panic!("not an array: {other}"),
        }
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        if let Some(child) = self.child.take() {
            stop(child);
        }
    }
}

#[test]
fn call_sends_the_seed_request_and_reports_refusals() {
    let demo = Demo::start();

    // --dry-run shows the exact request and sends nothing.
    let out = demo.call("admin", "456789", &["user_id=123", "u15=1", "--dry-run"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let host = demo.base.trim_start_matches("http://");
    assert_eq!(
        stdout(&out),
        format!(
            "POST {base}/api/user_details_update\nhost: {host}\nuser-agent: morapi/{version}\n\
             accept: text/xml, application/xml, */*\ncontent-type: application/x-www-form-urlencoded\n\
             content-length: 71\n\nu=admin&user_id=123&u15=1&hash=0ab3ede4e93a55c38855a2cc9b9e169d35442c48\n\n\
             hashed string: 1231******\n(dry run: nothing was sent)\n",
            base = demo.base,
            version = env!("CARGO_PKG_VERSION"),
        )
    );
    assert!(!stdout(&out).contains("456789"));
    assert_eq!(demo.blocked(123), 0, "a dry run changed user 123");
    assert_eq!(demo.audit_rows(), 0, "a dry run reached the server");

    // The seed request.
    let out = demo.call("admin", "456789", &["user_id=123", "u15=1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), UPDATED);
    assert_eq!(demo.blocked(123), 1);

    // A base with the deployment prefix, and the key from the environment.
    let out = morapi_env(
        &["call", &format!("{}/billing", demo.base), "user_details_update", "-u", "admin", "user_id=123", "u15=0"],
        &[("MORAPI_KEY", "456789")],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), UPDATED);
    assert_eq!(demo.blocked(123), 0);

    // A wrong key: the answer as received, a non-zero exit, the request id on stderr.
    let out = demo.call("admin", "wrong", &["user_id=123", "u15=1"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stdout(&out),
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<status>\n  <error>Incorrect hash</error>\n</status>\n"
    );
    assert!(stderr(&out).contains("answered with an error (request id "), "{}", stderr(&out));
    assert_eq!(demo.blocked(123), 0);

    // GET is refused by default.
    let out = demo.call("admin", "456789", &["user_id=123", "u15=1", "--get"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("<error>GET Requests are disabled</error>"), "{}", stdout(&out));
    assert_eq!(demo.blocked(123), 0);

    // … and accepted once allowed: the parameters then travel in the query string.
    demo.set("allow_get_api", "1");
    let out = demo.call("admin", "456789", &["user_id=123", "u15=1", "--get", "-i"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("HTTP/1.1 200 OK\n"), "{text}");
    assert!(text.contains("x-request-id: ") && text.ends_with(UPDATED), "{text}");
    assert_eq!(demo.blocked(123), 1);

    // The documented hash variant is accepted by morapi as well (MOR itself would refuse it).
    let pairs = ["user_id=123", "user_warning_email_hour=15", "pgui=1", "--variant", "documented"];
    let out = demo.call("admin", "456789", &pairs);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));

    // --no-hash: refused while checking is on, accepted when the server skips the check.
    let no_hash = ["call", &demo.base, "user_details_update", "-u", "admin", "--no-hash", "user_id=123", "u15=0"];
    let out = morapi(&no_hash);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("Incorrect hash"));
    demo.set("api_disable_hash_checking", "1");
    let out = morapi(&no_hash);
    assert!(out.status.success(), "{}", stdout(&out));
    assert_eq!(demo.blocked(123), 0);

    // No key and no terminal to ask on.
    let out = morapi(&["call", &demo.base, "user_details_update", "-u", "admin", "user_id=123"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("a key is needed"), "{}", stderr(&out));

    // An unknown method: MOR's answer, non-zero.
    let out = morapi(&["call", &demo.base, "no_such_method", "-u", "admin", "--key", "456789"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("There is no such API"));
}

#[test]
fn call_reports_bad_arguments_and_unreachable_servers() {
    let out = morapi(&["call", "127.0.0.1:8080", "user_details_update", "-u", "admin", "--key", "k"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("not a URL") || stderr(&out).contains("http://"), "{}", stderr(&out));
    let out = morapi(&["call", "http://127.0.0.1:1", "user_details_update", "-u", "admin", "--key", "k", "u15"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("NAME=VALUE"));

    // Nothing listens there: exit 3, the cause, and no parameters in the message.
    let port = TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let base = format!("http://127.0.0.1:{port}");
    let out = morapi(&["call", &base, "user_details_update", "-u", "admin", "--key", "k", "--get", "pswd=Secret1"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("no answer from") && err.contains("refused"), "{err}");
    assert!(!err.contains("Secret1") && !err.contains("hash="), "{err}");
}

/// A one-connection HTTP server: returns the raw request bytes and answers with `reply`.
fn capture(reply: &'static str) -> (String, std::thread::JoinHandle<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let handle = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().expect("accept");
        let mut request = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let n = stream.read(&mut buf).expect("read");
            request.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&request).into_owned();
            if let Some(end) = text.find("\r\n\r\n") {
                let length = text[..end]
                    .lines()
                    .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length: ").map(str::to_string))
                    .map_or(0, |v| v.trim().parse::<usize>().expect("length"));
                if request.len() >= end + 4 + length {
                    break;
                }
            }
            if n == 0 {
                break;
            }
        }
        stream.write_all(reply.as_bytes()).expect("write");
        request
    });
    (base, handle)
}

/// The request as `--dry-run` prints it: request line and header lines (sorted), and the body.
fn wire_view(raw: &[u8], base: &str) -> (String, Vec<String>, String) {
    let text = String::from_utf8(raw.to_vec()).expect("utf-8");
    let (head, body) = text.split_once("\r\n\r\n").expect("head");
    let mut lines = head.split("\r\n");
    let request_line = lines.next().expect("request line");
    let (method, rest) = request_line.split_once(' ').expect("method");
    let target = rest.strip_suffix(" HTTP/1.1").expect("HTTP/1.1");
    let mut headers: Vec<String> = lines.map(str::to_ascii_lowercase).collect();
    headers.sort();
    (format!("{method} {base}{target}"), headers, body.to_string())
}

fn dry_view(text: &str) -> (String, Vec<String>, String) {
    // Head, a blank line, the body on one line (empty for GET), a blank line, the hash notes.
    let (head, rest) = text.split_once("\n\n").expect("head");
    let body = rest.split('\n').next().unwrap_or_default();
    let mut lines = head.lines();
    let first = lines.next().expect("request line").to_string();
    let mut headers: Vec<String> = lines.map(str::to_ascii_lowercase).collect();
    headers.sort();
    (first, headers, body.to_string())
}

#[test]
fn dry_run_prints_exactly_what_is_sent_and_answers_are_printed_as_received() {
    for extra in [&[][..], &["--get"][..]] {
        let reply = "HTTP/1.1 200 OK\r\ncontent-type: text/xml\r\ncontent-length: 31\r\nconnection: close\r\n\r\n\
                     <page><status>ok</status></page";
        let (base, server) = capture(reply);
        let mut args = vec![
            "call",
            &base,
            "user_details_update",
            "-u",
            "admin",
            "--key",
            "456789",
            "user_id=123",
            "a1=São Paulo&x",
        ];
        args.extend_from_slice(extra);
        let mut dry = args.clone();
        dry.push("--dry-run");
        let dry = morapi(&dry);
        assert!(dry.status.success());

        let out = morapi(&args);
        assert!(out.status.success(), "{}", stderr(&out));
        // The body exactly as received: no newline added, nothing reformatted.
        assert_eq!(stdout(&out), "<page><status>ok</status></page");
        let raw = server.join().expect("server");
        assert_eq!(wire_view(&raw, &base), dry_view(&stdout(&dry)), "{extra:?}");
    }
}

#[test]
fn error_statuses_and_redirects_are_failures() {
    let (base, server) = capture(
        "HTTP/1.1 500 Internal Server Error\r\ncontent-type: text/html\r\ncontent-length: 5\r\nconnection: close\r\n\r\noops!",
    );
    let out = morapi(&["call", &base, "user_details_update", "-u", "admin", "--key", "k", "user_id=1"]);
    server.join().expect("server");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout(&out), "oops!");
    assert!(stderr(&out).contains("HTTP 500"), "{}", stderr(&out));

    let (base, server) = capture(
        "HTTP/1.1 301 Moved Permanently\r\nlocation: https://mor.example.com/billing/api/user_details_update\r\n\
         content-length: 0\r\nconnection: close\r\n\r\n",
    );
    let out = morapi(&["call", &base, "user_details_update", "-u", "admin", "--key", "k", "user_id=1"]);
    server.join().expect("server");
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("redirects to https://mor.example.com/billing"), "{}", stderr(&out));
}

fn strs(row: &serde_json::Value, key: &str) -> String {
    match &row[key] {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn day(created_at: &str) -> chrono::NaiveDate {
    chrono::NaiveDate::parse_from_str(&created_at[..10], "%Y-%m-%d").expect("date")
}

#[test]
fn audit_shows_the_trail_newest_first_with_filters() {
    let demo = Demo::start();
    let ok = |o: Output| assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    let refused = |o: Output| assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    // In order: block 123; password and city of 123; a refused hash by the admin and by an
    // unknown user (with a value that must not reach the audit trail); the reseller blocks 201.
    ok(demo.call("admin", "456789", &["user_id=123", "u15=1"]));
    ok(demo.call("admin", "456789", &["user_id=123", "pswd=NewPassw0rd", "a1=Kaunas"]));
    refused(demo.call("admin", "wrong", &["user_id=123", "a1=Zzyzx"]));
    refused(demo.call("nobody", "456789", &["user_id=123", "a1=Zzyzx"]));
    ok(demo.call("reseller", "reseller-secret", &["user_id=201", "u15=1"]));

    // Every row, newest first, every field.
    let rows = demo.audit_json(&[]);
    let summary: Vec<(String, String, String, String, String)> = rows
        .iter()
        .map(|r| {
            (strs(r, "event"), strs(r, "actor_username"), strs(r, "field"), strs(r, "old_value"), strs(r, "new_value"))
        })
        .collect();
    let s = |e: &str, a: &str, f: &str, o: &str, n: &str| (e.into(), a.into(), f.into(), o.into(), n.into());
    assert_eq!(
        summary,
        vec![
            s("change", "reseller", "blocked", "0", "1"),
            s("change", "admin", "password", "", "changed"),
            s("change", "admin", "addresses.city", "Vilnius", "Kaunas"),
            s("change", "admin", "blocked", "0", "1"),
        ]
    );
    let times: Vec<String> = rows.iter().map(|r| strs(r, "created_at")).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");
    for r in &rows {
        for key in ["request_id", "client_addr", "endpoint", "created_at"] {
            assert!(!strs(r, key).is_empty(), "{key} in {r}");
        }
        assert_eq!(strs(r, "endpoint"), "user_details_update");
        assert_eq!(strs(r, "client_addr"), "127.0.0.1");
    }
    // Refused hashes are counted apart (`morapi lockouts list`), not written one row each.
    assert_eq!(rows[0]["target_id"], 201);
    assert_eq!(rows[1]["request_id"], rows[2]["request_id"], "one request, one id");

    // The table: the same rows, newest first; secrets as `changed`, refused values never shown.
    let out = demo.audit(&[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let table = stdout(&out);
    for header in ["time (UTC)", "event", "actor", "target", "field", "old → new", "client", "request id"] {
        assert!(table.contains(header), "{header}: {table}");
    }
    let lines: Vec<&str> = table.lines().filter(|l| l.contains("change") || l.contains("hash_refused")).collect();
    let expected = [
        ["reseller", "201", "blocked", "0 → 1"],
        ["admin", "123", "password", "changed"],
        ["admin", "123", "addresses.city", "Vilnius → Kaunas"],
        ["admin", "123", "blocked", "0 → 1"],
    ];
    assert_eq!(lines.len(), expected.len(), "{table}");
    for (line, cells) in lines.iter().zip(expected) {
        for cell in cells {
            assert!(line.contains(&format!(" {cell} ")), "{cell} not in {line}");
        }
    }
    assert!(table.contains(&strs(&rows[0], "request_id")) && table.contains(&times[0]), "{table}");
    for text in [&table, &stdout(&demo.audit(&["--json"]))] {
        assert!(!text.contains("NewPassw0rd") && !text.contains("Zzyzx"), "{text}");
    }

    // Filters.
    let fields = |args: &[&str]| -> Vec<String> {
        demo.audit_json(args).iter().map(|r| format!("{}:{}", strs(r, "event"), strs(r, "field"))).collect()
    };
    assert_eq!(
        fields(&["--user", "123"]),
        ["change:password", "change:addresses.city", "change:blocked"].map(String::from).to_vec()
    );
    assert_eq!(fields(&["--user", "201"]), ["change:blocked"].map(String::from).to_vec());
    assert_eq!(fields(&["--user", "789"]), Vec::<String>::new());
    assert_eq!(fields(&["--actor", "nobody"]), Vec::<String>::new());
    assert_eq!(fields(&["--actor", "reseller"]), ["change:blocked"].map(String::from).to_vec());
    assert_eq!(fields(&["--actor", "admin"]).len(), 3);
    assert_eq!(fields(&["--field", "blocked"]), ["change:blocked", "change:blocked"].map(String::from).to_vec());
    assert_eq!(fields(&["--field", "blocked", "--user", "123", "--actor", "admin"]).len(), 1);
    assert_eq!(fields(&["--event", "hash_refused"]), Vec::<String>::new());
    assert!(fields(&["--event", "change"]).iter().all(|f| f.starts_with("change:")));
    assert!(!demo.audit(&["--event", "no_such_event"]).status.success());
    let city = demo.audit(&["--field", "addresses.city"]);
    assert!(stdout(&city).contains("Vilnius → Kaunas") && !stdout(&city).contains("0 → 1"), "{}", stdout(&city));
    let none = demo.audit(&["--actor", "somebody-else"]);
    assert!(none.status.success());
    assert_eq!(stdout(&none), "no matching audit rows\n");

    // Limits: the newest N, and a note on stderr that more match.
    let out = demo.audit(&["--limit", "2"]);
    assert!(out.status.success());
    assert!(stdout(&out).contains("password") && !stdout(&out).contains("Kaunas"), "{}", stdout(&out));
    assert!(stderr(&out).contains("more match"), "{}", stderr(&out));
    assert_eq!(demo.audit_json(&["--limit", "2"]).len(), 2);
    assert!(stderr(&demo.audit(&["--limit", "4"])).is_empty());
    assert!(stdout(&demo.audit(&["--all"])).contains("Kaunas"));

    // Time ranges: whole days, and instants (inclusive at both ends, any offset).
    let (first_day, last_day) = (day(&times[times.len() - 1]), day(&times[0]));
    let d = |x: chrono::NaiveDate| x.format("%Y-%m-%d").to_string();
    assert_eq!(demo.audit_json(&["--since", &d(first_day), "--until", &d(last_day)]).len(), 4);
    assert_eq!(demo.audit_json(&["--until", &d(first_day.pred_opt().expect("day"))]).len(), 0);
    assert_eq!(demo.audit_json(&["--since", &d(last_day.succ_opt().expect("day"))]).len(), 0);
    let password_at = strs(&rows[1], "created_at");
    let since = fields(&["--since", &password_at]);
    assert_eq!(since.len(), 3, "{since:?}");
    assert_eq!(since.last().map(String::as_str), Some("change:addresses.city"));
    let until = fields(&["--until", &password_at]);
    assert_eq!(until, ["change:password", "change:addresses.city", "change:blocked"].map(String::from).to_vec());
    let shifted = chrono::DateTime::parse_from_rfc3339(&password_at)
        .expect("rfc 3339")
        .with_timezone(&chrono::FixedOffset::east_opt(2 * 3600).expect("offset"))
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, false);
    assert!(shifted.ends_with("+02:00"), "{shifted}");
    assert_eq!(fields(&["--until", &shifted]), until);
    assert_eq!(fields(&["--since", &shifted, "--until", &shifted]), ["change:password", "change:addresses.city"]);

    // Malformed or impossible ranges are refused, with a reason.
    let out = demo.audit(&["--since", "27/11/2026"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("YYYY-MM-DD"), "{}", stderr(&out));
    let out = demo.audit(&["--until", "2026-11-27T10:00:00"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("no time zone"), "{}", stderr(&out));
    let out = demo.audit(&["--since", "2026-11-28", "--until", "2026-11-27"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--since is after --until"), "{}", stderr(&out));
}

#[test]
fn audit_shows_null_apart_from_empty_and_from_the_text_null() {
    let demo = Demo::start();
    let ok = |o: Output| assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    // The demo's comment of 123 is unset (NULL), bob's e-mail (202) empty.
    ok(demo.call("admin", "456789", &["user_id=123", "u33="]));
    ok(demo.call("admin", "456789", &["user_id=123", "u33=NULL"]));
    ok(demo.call("reseller", "reseller-secret", &["user_id=202", "a8="]));

    let rows = demo.audit_json(&[]);
    let values: Vec<(&serde_json::Value, &serde_json::Value)> =
        rows.iter().map(|r| (&r["old_value"], &r["new_value"])).collect();
    let (null, empty, text) = (serde_json::Value::Null, serde_json::json!(""), serde_json::json!("NULL"));
    assert_eq!(values, [(&empty, &null), (&empty, &text), (&null, &empty)]);

    let table = stdout(&demo.audit(&[]));
    let lines: Vec<&str> = table.lines().filter(|l| l.contains(" change ")).collect();
    let expected = [["addresses.email", "\"\" → NULL"], ["comment", "\"\" → \"NULL\""], ["comment", "NULL → \"\""]];
    assert_eq!(lines.len(), expected.len(), "{table}");
    for (line, cells) in lines.iter().zip(expected) {
        for cell in cells {
            assert!(line.contains(&format!(" {cell} ")), "{cell} not in {line}");
        }
    }
}

#[test]
fn audit_refuses_a_missing_database_and_never_prints_a_password() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("missing.db");
    let out = morapi(&["audit", "--database", &format!("sqlite://{}", path.display())]);
    // A failure (1), not a usage error (2): the command line is well-formed.
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("no database at"), "{}", stderr(&out));
    assert!(!Path::new(&path).exists(), "audit created a database");

    // The URL from the environment, as for `serve`.
    let out = morapi_env(&["audit"], &[("MORAPI_DATABASE", &format!("sqlite://{}", path.display()))]);
    assert!(stderr(&out).contains(&path.display().to_string()), "{}", stderr(&out));

    // --help shows that the environment variable is read, not its value.
    let out = morapi_env(&["audit", "--help"], &[("MORAPI_DATABASE", "postgres://bob:s3cretpw@db/billing")]);
    assert!(stdout(&out).contains("MORAPI_DATABASE") && !stdout(&out).contains("s3cretpw"), "{}", stdout(&out));

    let port = TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    for scheme in ["postgres", "mysql"] {
        let url = format!("{scheme}://bob:s3cretpw@127.0.0.1:{port}/billing");
        let out = morapi(&["audit", "--database", &url]);
        assert_eq!(out.status.code(), Some(1));
        let err = stderr(&out);
        assert!(err.contains("cannot open the database") && err.contains("bob:***@"), "{err}");
        assert!(!err.contains("s3cretpw"), "{err}");
    }
}
