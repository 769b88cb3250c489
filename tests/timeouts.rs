//! Timeouts, the connection cap, the head-size limit and the shutdown bound (issue 11 item 4):
//! the real server on port 0 with short limits, talked to over raw TCP where a well-behaved HTTP
//! client cannot misbehave on purpose. Bounds on time are generous (several times the limit).

mod common;

use common::TestApp;
use morapi::server::{Limits, Options, serve_with};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const GET: &str = "/billing/api/user_details_get";

/// Limits too long to fire in a test unless a test shortens one of them.
fn patient() -> Limits {
    Limits {
        header_timeout: Duration::from_secs(60),
        idle_timeout: Duration::from_secs(60),
        body_timeout: Duration::from_secs(60),
        request_timeout: Duration::from_secs(60),
        shutdown_timeout: Duration::from_secs(60),
        ..Limits::DEFAULT
    }
}

struct Server {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

/// Serves `app`'s database with `limits` on a port of its own.
async fn serve(app: &TestApp, limits: Limits) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = oneshot::channel::<()>();
    let options = Options { limits, ..Options::default() };
    let task = tokio::spawn(serve_with(listener, app.db.clone(), options, async {
        let _ = rx.await;
    }));
    Server { addr, stop: Some(tx), task }
}

/// Reads until the server closes the connection (or `within` passes: then `None`).
async fn read_to_close(tcp: &mut TcpStream, within: Duration) -> Option<String> {
    let mut all = Vec::new();
    let read = tokio::time::timeout(within, async {
        let mut buf = [0u8; 8192];
        loop {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => all.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    read.ok().map(|()| String::from_utf8_lossy(&all).into_owned())
}

/// Reads one answer whose body is `Content-Length` long (the connection may stay open).
async fn read_answer(tcp: &mut TcpStream) -> String {
    let mut all = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let text = String::from_utf8_lossy(&all).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_string()))
                .and_then(|v| v.parse::<usize>().ok())
                .unwrap_or(0);
            if all.len() >= end + 4 + length {
                return text;
            }
        }
        let n = tokio::time::timeout(Duration::from_secs(10), tcp.read(&mut buf))
            .await
            .expect("an answer in time")
            .expect("read");
        assert!(n > 0, "closed before a whole answer: {text}");
        all.extend_from_slice(&buf[..n]);
    }
}

fn status(answer: &str) -> u16 {
    answer.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0)
}

#[tokio::test]
async fn a_client_sending_half_a_head_is_disconnected_after_the_header_timeout() {
    let app = TestApp::spawn().await;
    let server = serve(&app, Limits { header_timeout: Duration::from_millis(500), ..patient() }).await;
    let mut tcp = TcpStream::connect(server.addr).await.expect("connect");
    tcp.write_all(b"POST /billing/api/user_details_get HTTP/1.1\r\nHost: x\r\nX-Slow: ").await.expect("write");
    let started = std::time::Instant::now();
    let rest = read_to_close(&mut tcp, Duration::from_secs(10)).await;
    assert!(rest.is_some(), "still open 10 s after a 0.5 s header timeout");
    assert!(started.elapsed() >= Duration::from_millis(400), "closed before the header timeout");
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let app = TestApp::spawn().await;
    let server = serve(&app, Limits { idle_timeout: Duration::from_millis(500), ..patient() }).await;
    let mut tcp = TcpStream::connect(server.addr).await.expect("connect");
    tcp.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n").await.expect("write");
    let first = read_answer(&mut tcp).await;
    assert_eq!(status(&first), 200, "{first}");
    // Kept alive: a second request on the same connection is answered.
    tcp.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n").await.expect("write");
    assert_eq!(status(&read_answer(&mut tcp).await), 200);
    // Then nothing: closed by the idle timeout (the header timeout is a minute).
    assert!(read_to_close(&mut tcp, Duration::from_secs(10)).await.is_some(), "idle connection still open");
    // A connection that never sends anything is closed too.
    let mut silent = TcpStream::connect(server.addr).await.expect("connect");
    assert!(read_to_close(&mut silent, Duration::from_secs(10)).await.is_some(), "silent connection still open");
}

#[tokio::test]
async fn a_slow_body_gets_the_body_timeout_answer_in_xml() {
    let app = TestApp::spawn().await;
    let server = serve(&app, Limits { body_timeout: Duration::from_millis(500), ..patient() }).await;
    let mut tcp = TcpStream::connect(server.addr).await.expect("connect");
    let head = format!("POST {GET} HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n");
    tcp.write_all(format!("{head}Content-Length: 100\r\n\r\nu=admin").as_bytes()).await.expect("write");
    let answer = read_to_close(&mut tcp, Duration::from_secs(10)).await.expect("answered and closed");
    assert_eq!(status(&answer), 408, "{answer}");
    assert!(answer.to_ascii_lowercase().contains("connection: close"), "{answer}");
    assert!(
        answer.contains("<status>\n  <error>Request body was not received in time, nothing was changed</error>"),
        "{answer}"
    );
}

#[tokio::test]
async fn more_idle_connections_than_the_cap_do_not_starve_normal_requests() {
    let app = TestApp::spawn().await;
    let limits = Limits { max_connections: 4, idle_timeout: Duration::from_millis(300), ..patient() };
    let server = serve(&app, limits).await;
    // Ten connections that send nothing, more than twice the cap.
    let mut idle = Vec::new();
    for _ in 0..10 {
        idle.push(TcpStream::connect(server.addr).await.expect("connect"));
    }
    let client = reqwest::Client::new();
    let url = format!("http://{}{GET}?u=admin", server.addr);
    for _ in 0..3 {
        let answer = tokio::time::timeout(Duration::from_secs(20), client.get(&url).send())
            .await
            .expect("answered while idle connections hold the cap")
            .expect("request");
        assert_eq!(answer.status(), 200);
        assert!(answer.text().await.expect("body").contains("<error>"), "an XML answer");
    }
    drop(idle);
}

#[tokio::test]
async fn an_oversized_head_is_refused_in_xml() {
    let app = TestApp::spawn().await;
    let server = serve(&app, Limits { max_header_bytes: 8192, ..patient() }).await;
    let client = reqwest::Client::new();
    let url = format!("http://{}{GET}?u=admin", server.addr);
    let answer = client.get(&url).header("x-big", "a".repeat(20_000)).send().await.expect("request");
    assert_eq!(answer.status(), 431);
    assert_eq!(answer.headers().get("connection").and_then(|v| v.to_str().ok()), Some("close"));
    assert!(answer.text().await.expect("body").contains("<error>Request headers are too large</error>"));
    let long = format!("http://{}{GET}?u={}", server.addr, "a".repeat(10_000));
    let answer = client.get(&long).send().await.expect("request");
    assert_eq!(answer.status(), 414);
    assert!(answer.text().await.expect("body").contains("<error>Request URI is too long</error>"));
    // Far above the limit the HTTP library refuses the head itself, before routing.
    let mut tcp = TcpStream::connect(server.addr).await.expect("connect");
    let huge = format!("GET {GET} HTTP/1.1\r\nHost: x\r\nX-Huge: {}\r\n\r\n", "a".repeat(300_000));
    let _ = tcp.write_all(huge.as_bytes()).await;
    let answer = read_to_close(&mut tcp, Duration::from_secs(10)).await.expect("closed");
    assert!(answer.is_empty() || status(&answer) == 431, "{answer}");
}

#[tokio::test]
async fn shutdown_waits_at_most_the_shutdown_timeout_for_a_slow_client() {
    let app = TestApp::spawn().await;
    let mut server = serve(&app, Limits { shutdown_timeout: Duration::from_secs(1), ..patient() }).await;
    // In flight: the head is in, the body never comes (the body timeout is a minute).
    let mut tcp = TcpStream::connect(server.addr).await.expect("connect");
    tcp.write_all(format!("POST {GET} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nu=").as_bytes())
        .await
        .expect("write");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let _ = server.stop.take().map(|stop| stop.send(()));
    let stopped = tokio::time::timeout(Duration::from_secs(10), &mut server.task).await;
    assert!(matches!(stopped, Ok(Ok(Ok(())))), "not stopped within 10 s of a 1 s shutdown timeout: {stopped:?}");
    assert!(read_to_close(&mut tcp, Duration::from_secs(5)).await.is_some(), "the slow client's connection stays open");
}

#[tokio::test]
async fn idle_connections_do_not_hold_up_shutdown() {
    let app = TestApp::spawn().await;
    let mut server = serve(&app, patient()).await;
    let mut tcp = TcpStream::connect(server.addr).await.expect("connect");
    tcp.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n").await.expect("write");
    assert_eq!(status(&read_answer(&mut tcp).await), 200);
    let _ = server.stop.take().map(|stop| stop.send(()));
    // The shutdown timeout is a minute: an idle keep-alive connection is closed at once.
    let stopped = tokio::time::timeout(Duration::from_secs(10), &mut server.task).await;
    assert!(matches!(stopped, Ok(Ok(Ok(())))), "{stopped:?}");
}

/// Every numeric flag of `serve` is bounded: nonsense exits with status 2 and says what is
/// allowed, before anything is opened (the database URL names a directory that does not exist).
#[test]
fn numeric_flags_out_of_range_are_refused_at_start() {
    let cases: &[(&str, &str)] = &[
        ("--db-timeout", "-1"),
        ("--db-timeout", "nan"),
        ("--db-timeout", "1e30"),
        ("--db-timeout", "inf"),
        ("--db-pool-size", "0"),
        ("--db-pool-size", "-3"),
        ("--db-pool-size", "100000"),
        ("--header-timeout", "0"),
        ("--header-timeout", "-5"),
        ("--idle-timeout", "nan"),
        ("--body-timeout", "1e9"),
        ("--request-timeout", "abc"),
        ("--shutdown-timeout", "-1"),
        ("--max-connections", "0"),
        ("--max-connections", "-1"),
        ("--max-connections", "99999999999"),
        ("--max-header-bytes", "100"),
        ("--max-header-bytes", "1e6"),
    ];
    for (flag, value) in cases {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_morapi"))
            .args(["serve", "--listen", "127.0.0.1:0", "--database", "sqlite:///nonexistent/dir/x.db"])
            .arg(format!("{flag}={value}"))
            .env_clear()
            .output()
            .expect("run morapi");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flag}={value}: {stderr}");
        assert!(stderr.contains(flag) && !stderr.contains("panicked"), "{flag}={value}: {stderr}");
        assert!(stderr.contains("from ") || stderr.contains(" in "), "{flag}={value} names no range: {stderr}");
    }
}

#[tokio::test]
async fn a_request_timeout_while_reading_says_nothing_was_changed() {
    let app = TestApp::spawn().await;
    let server = serve(&app, Limits { request_timeout: Duration::from_millis(500), ..patient() }).await;
    let mut tcp = TcpStream::connect(server.addr).await.expect("connect");
    let head = format!("POST {} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nu=admin", common::UPDATE);
    tcp.write_all(head.as_bytes()).await.expect("write");
    let answer = read_to_close(&mut tcp, Duration::from_secs(10)).await.expect("answered and closed");
    assert_eq!(status(&answer), 408, "{answer}");
    assert!(answer.contains("<error>Request timed out, nothing was changed</error>"), "{answer}");
}

/// The whole-request timeout never makes morapi lie: when it passes while a change is with the
/// database (here waiting for SQLite's write lock, which another connection holds), the answer
/// says the change may have been applied, and the change is not cancelled: it lands once the
/// lock is released.
#[tokio::test]
async fn a_request_timeout_during_a_change_says_it_may_apply_and_the_change_still_lands() {
    let app = TestApp::spawn().await;
    let Some(path) = app.url.strip_prefix("sqlite://") else {
        eprintln!("holds SQLite's write lock: runs on SQLite only");
        return;
    };
    let server = serve(&app, Limits { request_timeout: Duration::from_millis(500), ..patient() }).await;
    let lock = rusqlite::Connection::open(path).expect("open the database file");
    lock.execute_batch("BEGIN IMMEDIATE").expect("take the write lock");
    let pairs = [("user_id", "123"), ("u0", "LT-TIMEOUT-1")];
    let hash = common::sign_pairs(&pairs, common::ADMIN_KEY);
    let mut all = pairs.to_vec();
    all.extend([("u", "admin"), ("hash", hash.as_str())]);
    let answer = reqwest::Client::new()
        .post(format!("http://{}{}", server.addr, common::UPDATE))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(common::form(&all))
        .send()
        .await
        .expect("answered");
    assert_eq!(answer.status(), 503);
    let body = answer.text().await.expect("body");
    assert!(body.contains("<error>Request timed out; the change may have been applied</error>"), "{body}");
    assert!(!body.contains("nothing was changed"), "{body}");
    lock.execute_batch("ROLLBACK").expect("release the lock");
    drop(lock);
    let mut landed = false;
    for _ in 0..100 {
        if app.col(123, "vat_number").await == "LT-TIMEOUT-1" {
            landed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(landed, "the change was cancelled by the request timeout");
}
