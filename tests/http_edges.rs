//! HTTP edges under `/api/` (issue 11 item 9): whatever a client sends that reaches morapi is
//! answered with the MOR XML envelope and a fitting status, never a bare library answer; a body
//! that cannot be read is not "too large"; a 413 closes the connection and says so.

mod common;

use common::TestApp;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const GET: &str = "/billing/api/user_details_get";
const UPDATE: &str = "/billing/api/user_details_update";

fn addr(app: &TestApp) -> String {
    app.base.trim_start_matches("http://").to_string()
}

/// Sends `raw`, optionally closes the writing half, and reads one answer (to the end of its
/// `Content-Length`, or until the server closes; at most 10 s). With `wait_close`, also says
/// whether the server then closed the connection (within 5 s).
async fn exchange_and_close(app: &TestApp, raw: &[u8], close_write: bool, wait_close: bool) -> (String, bool) {
    let mut tcp = TcpStream::connect(addr(app)).await.expect("connect");
    let _ = tcp.write_all(raw).await;
    if close_write {
        let _ = tcp.shutdown().await;
    }
    let mut all = Vec::new();
    let mut buf = [0u8; 8192];
    let mut closed = false;
    let _ = tokio::time::timeout(Duration::from_secs(10), async {
        while !complete(&all) {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => {
                    closed = true;
                    break;
                }
                Ok(n) => all.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    if !closed && wait_close {
        closed = matches!(tokio::time::timeout(Duration::from_secs(5), tcp.read(&mut buf)).await, Ok(Ok(0) | Err(_)));
    }
    (String::from_utf8_lossy(&all).into_owned(), closed)
}

async fn exchange(app: &TestApp, raw: &[u8], close_write: bool) -> String {
    exchange_and_close(app, raw, close_write, false).await.0
}

/// Whether `bytes` hold a whole answer: a head and as much body as its `Content-Length` says.
fn complete(bytes: &[u8]) -> bool {
    let text = String::from_utf8_lossy(bytes);
    let Some(end) = text.find("\r\n\r\n") else { return false };
    let length = text[..end]
        .lines()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_string()))
        .and_then(|v| v.parse::<usize>().ok());
    length.is_some_and(|length| bytes.len() >= end + 4 + length)
}

fn status(answer: &str) -> u16 {
    answer.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0)
}

fn is_xml_envelope(answer: &str) -> bool {
    let body = answer.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or_default();
    answer.to_ascii_lowercase().contains("content-type: text/xml")
        && body.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")
        && body.contains("<error>")
}

#[tokio::test]
async fn malformed_chunked_body_is_not_too_large_but_unreadable() {
    let app = TestApp::spawn().await;
    let raw = format!(
        "POST {UPDATE} HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Transfer-Encoding: chunked\r\n\r\n5\r\nu=adm\r\nZZZ\r\n"
    );
    let (answer, closed) = exchange_and_close(&app, raw.as_bytes(), false, true).await;
    assert_eq!(status(&answer), 400, "{answer}");
    assert!(is_xml_envelope(&answer), "{answer}");
    assert!(answer.contains("<error>Request body could not be read</error>"), "{answer}");
    assert!(answer.to_ascii_lowercase().contains("connection: close") && closed, "{answer}");
}

#[tokio::test]
async fn a_client_that_stops_mid_body_is_answered_unreadable() {
    let app = TestApp::spawn().await;
    let raw = format!("POST {UPDATE} HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\nu=admin&u15=1");
    let answer = exchange(&app, raw.as_bytes(), true).await;
    assert_eq!(status(&answer), 400, "{answer}");
    assert!(answer.contains("<error>Request body could not be read</error>"), "{answer}");
}

#[tokio::test]
async fn a_413_says_connection_close_and_closes() {
    let app = TestApp::spawn().await;
    let big = *morapi::http::limits::MAX_BODY + 1;
    let raw = format!("POST {UPDATE} HTTP/1.1\r\nHost: x\r\nContent-Length: {big}\r\n\r\nu=admin");
    let (answer, closed) = exchange_and_close(&app, raw.as_bytes(), false, true).await;
    assert_eq!(status(&answer), 413, "{answer}");
    assert!(answer.to_ascii_lowercase().contains("connection: close"), "{answer}");
    assert!(answer.contains("<error>Request body is too large</error>"), "{answer}");
    assert!(closed, "the server said close but kept the connection open");

    // A keep-alive client sends the next request on a new connection and gets its answer.
    let client = reqwest::Client::new();
    let too_large = client
        .post(format!("{}{UPDATE}", app.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(vec![b'a'; big])
        .send()
        .await
        .expect("answered");
    assert_eq!(too_large.status(), 413);
    assert_eq!(too_large.headers().get("connection").and_then(|v| v.to_str().ok()), Some("close"));
    let next = client.get(format!("{}{GET}?u=admin", app.base)).send().await.expect("the next request");
    assert_eq!(next.status(), 200);
}

#[tokio::test]
async fn the_longest_comment_the_catalogue_accepts_is_not_refused_as_too_large() {
    let app = TestApp::spawn().await;
    // 65,535 characters of ž: 2 bytes each, 6 once percent-encoded (~393 KB).
    let comment = "ž".repeat(65_535);
    let reply = app.post_form(UPDATE, &[("u", "admin"), ("user_id", "2"), ("u33", &comment)]).await;
    assert_ne!(reply.status, 413, "{}", reply.body);
    assert!(reply.body.starts_with("<?xml"), "{}", reply.body);
}

/// Malformed requests to the API that reach morapi: each answered with the XML envelope and a
/// status that fits. (Heads the HTTP library cannot parse at all never reach morapi; see the
/// last test.)
#[tokio::test]
async fn malformed_api_requests_get_the_xml_envelope() {
    let app = TestApp::spawn().await;
    let cases: Vec<(String, u16)> = vec![
        (format!("DELETE {GET} HTTP/1.1\r\nHost: x\r\n\r\n"), 405),
        (format!("PUT {UPDATE} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"), 405),
        ("GET /api/ HTTP/1.1\r\nHost: x\r\n\r\n".to_string(), 404),
        ("GET /api/a/b/c HTTP/1.1\r\nHost: x\r\n\r\n".to_string(), 404),
        ("GET /billing/api/%FF%FE HTTP/1.1\r\nHost: x\r\n\r\n".to_string(), 200),
        (format!("GET {GET}?u=%FF HTTP/1.1\r\nHost: x\r\n\r\n"), 200),
        (format!("GET {GET}?%%%=&&&== HTTP/1.1\r\nHost: x\r\n\r\n"), 200),
        (
            format!("POST {GET} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1\r\n\r\n{{"),
            200,
        ),
        (
            format!(
                "POST {UPDATE} HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data\r\nContent-Length: 3\r\n\r\nabc"
            ),
            200,
        ),
        (
            format!(
                "POST {UPDATE} HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=B\r\nContent-Length: 9\r\n\r\n--B\r\nxx\r\n"
            ),
            200,
        ),
        (format!("POST {UPDATE} HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n"), 413),
        (
            format!("POST {UPDATE} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFFFF\r\n"),
            400,
        ),
        (format!("POST {UPDATE} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcdef\r\n"), 400),
        (format!("GET {GET}?{} HTTP/1.1\r\nHost: x\r\n\r\n", "u=a&".repeat(10_000)), 414),
        (format!("GET {GET} HTTP/1.1\r\nHost: x\r\nX-A: {}\r\n\r\n", "b".repeat(40_000)), 431),
        (format!("GET {GET} HTTP/1.0\r\n\r\n"), 200),
        (format!("GET {GET} HTTP/1.1\r\n\r\n"), 200),
    ];
    for (raw, expected) in cases {
        let answer = exchange(&app, raw.as_bytes(), false).await;
        let shown = raw.chars().take(120).collect::<String>();
        assert_eq!(status(&answer), expected, "{shown:?}\n{answer}");
        assert!(is_xml_envelope(&answer), "not the XML envelope for {shown:?}:\n{answer}");
    }
}

/// What the HTTP library still answers itself, before any route: heads it cannot parse or hold.
/// These get a bare status and are closed; the README lists them (they are not API requests and
/// never touch the database).
#[tokio::test]
async fn unparseable_heads_are_refused_by_the_library_and_closed() {
    let app = TestApp::spawn().await;
    let many_headers: String = (0..101).map(|i| format!("X-{i}: 1\r\n")).collect();
    for (raw, expected) in [
        ("GARBAGE\r\n\r\n".to_string(), 400),
        (format!("GET {GET} HTTP/9.9\r\n\r\n"), 400),
        (format!("GET {GET} HTTP/1.1\r\nBad Header\r\n\r\n"), 400),
        (format!("GET {GET} HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"), 400),
        (format!("GET {GET} HTTP/1.1\r\n{many_headers}\r\n"), 431),
        (format!("GET {GET}?{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(70_000)), 414),
    ] {
        let (answer, closed) = exchange_and_close(&app, raw.as_bytes(), false, true).await;
        let shown = raw.chars().take(60).collect::<String>();
        assert_eq!(status(&answer), expected, "{shown:?}: {answer}");
        assert!(closed, "{shown:?} left open");
    }
    // The server is unharmed.
    assert_eq!(app.get(&format!("{GET}?u=admin")).await.status, 200);
}
