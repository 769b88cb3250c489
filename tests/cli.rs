//! The real `morapi` binary: `serve` (demo data, port 0, graceful stop) and `hash`.

mod common;
use common::{BIN, start_server as start, stop_server as stop};
use std::process::Command;

#[tokio::test]
async fn serve_demo_answers_the_seed_request_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = format!("sqlite://{}", dir.path().join("m.db").display());
    let (child, base, lines) = start(&db, true);
    assert!(lines.iter().any(|l| l == "morapi: demo data loaded"), "{lines:?}");
    assert!(lines.iter().any(|l| l.contains(&format!("database {db}"))), "{lines:?}");
    let body = reqwest::Client::new()
        .post(format!(
            "{base}/billing/api/user_details_update?u=admin&user_id=123&u15=1&hash=0ab3ede4e93a55c38855a2cc9b9e169d35442c48"
        ))
        .send()
        .await
        .expect("request")
        .text()
        .await
        .expect("body");
    assert_eq!(
        body,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<page>\n  <status>User was updated</status>\n</page>\n"
    );
    assert!(stop(child).success());

    // A second start with --demo leaves the existing data alone and says so.
    let (child, _, lines) = start(&db, true);
    assert!(lines.iter().any(|l| l.contains("already has users")), "{lines:?}");
    assert!(stop(child).success());
    let conn = rusqlite::Connection::open(dir.path().join("m.db")).expect("open");
    let blocked: i64 = conn.query_row("SELECT blocked FROM users WHERE id = 123", [], |r| r.get(0)).expect("row");
    assert_eq!(blocked, 1);
}

#[test]
fn serve_refuses_an_unknown_database_scheme() {
    let out =
        Command::new(BIN).args(["serve", "--database", "oracle://x", "--listen", "127.0.0.1:0"]).output().expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unsupported database URL"));
}

#[test]
fn hash_command_prints_the_seed_hash() {
    let out =
        Command::new(BIN).args(["hash", "--key", "456789", "user_id=123", "u15=1", "u=admin"]).output().expect("run");
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "hashed string: 1231******\nhash: 0ab3ede4e93a55c38855a2cc9b9e169d35442c48\n"
    );
}

#[test]
fn hash_key_can_come_from_the_environment() {
    let out = Command::new(BIN).args(["hash", "user_id=123"]).env("MORAPI_KEY", "456789").output().expect("run");
    assert!(String::from_utf8_lossy(&out.stdout).contains("f7c3bc1d808e04732adf679965ccc34ca7ae3441"));
}

#[test]
fn help_lists_the_commands() {
    let out = Command::new(BIN).arg("--help").output().expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("serve") && text.contains("hash"), "{text}");
}

#[test]
fn sigterm_lets_a_request_in_flight_finish() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().expect("tmp");
    let db = format!("sqlite://{}", dir.path().join("m.db").display());
    let (child, base, _) = start(&db, true);
    let addr = base.trim_start_matches("http://").to_string();
    let body = "u=admin&user_id=123&u15=1&hash=0ab3ede4e93a55c38855a2cc9b9e169d35442c48";
    let mut conn = std::net::TcpStream::connect(&addr).expect("connect");
    // Headers and half of the body: the request is in flight when the signal arrives.
    write!(
        conn,
        "POST /billing/api/user_details_update HTTP/1.1\r\nHost: {addr}\r\nContent-Type: \
         application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
        body.len(),
        &body[..20]
    )
    .expect("send headers");
    conn.flush().expect("flush");
    std::thread::sleep(std::time::Duration::from_millis(200));
    let pid = child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().expect("kill").success());
    std::thread::sleep(std::time::Duration::from_millis(200));
    conn.write_all(&body.as_bytes()[20..]).expect("send the rest");
    let mut answer = String::new();
    conn.read_to_string(&mut answer).expect("answer");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("<page>\n  <status>User was updated</status>\n</page>\n"), "{answer}");
    let mut child = child;
    assert!(child.wait().expect("wait").success());
    let conn = rusqlite::Connection::open(dir.path().join("m.db")).expect("open");
    let blocked: i64 = conn.query_row("SELECT blocked FROM users WHERE id = 123", [], |r| r.get(0)).expect("row");
    assert_eq!(blocked, 1, "the in-flight request was applied");
}
