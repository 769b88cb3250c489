//! The database goes away and comes back, and connections break at the moment of `COMMIT`.
//! Requests fail within `--db-timeout` with a clear MOR-style error and write nothing; the server
//! recovers by itself on the very next request; and an answer never claims what did not happen:
//! a commit whose answer was lost is settled from the audit trail (`User was updated` when it
//! took effect, `nothing was changed` when it certainly did not), and said to be unknown when the
//! database stays away. Needs a database server (`MORAPI_TEST_DATABASE`): the connections run
//! through a proxy the test controls. On SQLite there is no server to lose.
// Nothing to run without a server engine built in.
#![cfg(any(feature = "postgres", feature = "mysql"))]

mod common;
use common::*;
use morapi::storage::Tx;
use morapi::storage::{Database, PoolOptions, demo, scratch};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// What the proxy does with the next client packet that sends `COMMIT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trap {
    Off,
    /// Forward it, swallow the database's answer, then cut the connection: the commit happened
    /// and its answer was lost.
    AnswerLost,
    /// The same, and the database then stays unreachable (new connections refused).
    AnswerLostThenDown,
    /// Drop it (with whatever travelled in the same packet) and cut the connection: the commit
    /// never reached the database.
    CommitLost,
}

/// A TCP proxy to the database that can be cut (open connections dropped, new ones refused) or
/// set to break a connection when it sends `COMMIT`.
struct Proxy {
    addr: String,
    up: Arc<AtomicBool>,
    trap: Arc<Mutex<Trap>>,
    sprung: Arc<AtomicUsize>,
    accepted: Arc<AtomicUsize>,
    links: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

/// Whether a client packet sends `COMMIT` as a statement of its own: PostgreSQL's simple query,
/// or in MySQL's COM_QUERY (0x03) alone or as one statement of a multi-statement query.
/// (`READ COMMITTED` in a session's setup is none of these.)
fn sends_commit(chunk: &[u8]) -> bool {
    (0..chunk.len()).any(|i| {
        let rest = &chunk[i..];
        let before = i.checked_sub(1).map(|j| chunk[j]);
        rest.starts_with(b"COMMIT")
            && matches!(before, Some(b'\x03' | b'\n' | b'Q'))
            && rest.get(6).is_none_or(|b| !b.is_ascii_alphanumeric())
    }) || chunk.windows(7).any(|w| w == b"COMMIT\0")
}

/// Relays one connection both ways until either side closes, springing the trap on `COMMIT`.
async fn relay(
    mut client: TcpStream,
    mut server: TcpStream,
    trap: Arc<Mutex<Trap>>,
    sprung: Arc<AtomicUsize>,
    up: Arc<AtomicBool>,
) {
    let (mut cr, mut cw) = client.split();
    let (mut sr, mut sw) = server.split();
    let (mut cbuf, mut sbuf) = (vec![0u8; 65536], vec![0u8; 65536]);
    loop {
        tokio::select! {
            n = cr.read(&mut cbuf) => {
                let n = match n { Ok(0) | Err(_) => return, Ok(n) => n };
                let chunk = &cbuf[..n];
                let action = if sends_commit(chunk) {
                    std::mem::replace(&mut *trap.lock().expect("trap"), Trap::Off)
                } else {
                    Trap::Off
                };
                match action {
                    Trap::Off => {
                        if sw.write_all(chunk).await.is_err() {
                            return;
                        }
                    }
                    Trap::AnswerLost | Trap::AnswerLostThenDown => {
                        let _ = sw.write_all(chunk).await;
                        // Let the database process it; its answer goes nowhere.
                        let _ = tokio::time::timeout(Duration::from_millis(300), async {
                            while sr.read(&mut sbuf).await.is_ok_and(|n| n > 0) {}
                        })
                        .await;
                        if action == Trap::AnswerLostThenDown {
                            up.store(false, Ordering::SeqCst);
                        }
                        sprung.fetch_add(1, Ordering::SeqCst);
                        return;
                    }
                    Trap::CommitLost => {
                        sprung.fetch_add(1, Ordering::SeqCst);
                        return;
                    }
                }
            }
            n = sr.read(&mut sbuf) => {
                let n = match n { Ok(0) | Err(_) => return, Ok(n) => n };
                if cw.write_all(&sbuf[..n]).await.is_err() {
                    return;
                }
            }
        }
    }
}

impl Proxy {
    async fn start(upstream: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr").to_string();
        let proxy = Proxy {
            addr,
            up: Arc::new(AtomicBool::new(true)),
            trap: Arc::new(Mutex::new(Trap::Off)),
            sprung: Arc::default(),
            accepted: Arc::default(),
            links: Arc::default(),
        };
        let (up, trap, sprung, accepted, links) =
            (proxy.up.clone(), proxy.trap.clone(), proxy.sprung.clone(), proxy.accepted.clone(), proxy.links.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if !up.load(Ordering::SeqCst) {
                    continue; // dropped: the database is "down"
                }
                accepted.fetch_add(1, Ordering::SeqCst);
                let (upstream, trap, sprung, up) = (upstream.clone(), trap.clone(), sprung.clone(), up.clone());
                let link = tokio::spawn(async move {
                    if let Ok(server) = TcpStream::connect(&upstream).await {
                        relay(client, server, trap, sprung, up).await;
                    }
                });
                links.lock().expect("links").push(link);
            }
        });
        proxy
    }

    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for link in self.links.lock().expect("links").drain(..) {
            link.abort();
        }
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }

    fn arm(&self, trap: Trap) {
        *self.trap.lock().expect("trap") = trap;
    }
}

/// `scheme://user@host:port/db` with `host:port` replaced.
fn through(url: &str, addr: &str) -> (String, String) {
    let (scheme, rest) = url.split_once("://").expect("url");
    let (auth, path) = rest.split_once('/').expect("path");
    let (user, host) = auth.rsplit_once('@').map_or(("", auth), |(u, h)| (u, h));
    let at = if user.is_empty() { String::new() } else { format!("{user}@") };
    (format!("{scheme}://{at}{addr}/{path}"), host.to_string())
}

async fn vat(app: &TestApp, value: &str) -> String {
    app.update(&[("user_id", "123"), ("u0", value)]).await
}

/// A server whose database connections all go through a [`Proxy`], on a demo scratch database
/// of the server named by `MORAPI_TEST_DATABASE`, with a one-second `--db-timeout`; and a direct
/// connection to the same database for looking at what it really holds.
struct Setup {
    app: TestApp,
    proxy: Proxy,
    direct: Database,
    url: String,
}

impl Setup {
    async fn new() -> Setup {
        let server =
            std::env::var("MORAPI_TEST_DATABASE").ok().filter(|s| !s.is_empty() && !s.starts_with("sqlite")).expect(
                "MORAPI_TEST_DATABASE must name a PostgreSQL or MariaDB/MySQL server: SQLite has no server to lose",
            );
        let url = scratch::create(&server).expect("scratch database");
        let direct = Database::open(&url).expect("open");
        assert!(demo::load(&direct).await.expect("demo"));
        let (_, upstream) = through(&url, "x");
        let proxy = Proxy::start(upstream).await;
        // No driver option here: the URL's host must be honoured as it is (the MySQL driver
        // would otherwise switch to the server's Unix socket, around the proxy).
        let (proxied, _) = through(&url, &proxy.addr);
        let options = PoolOptions { timeout: Duration::from_secs(1), ..PoolOptions::default() };
        let db = Database::open_with(&proxied, options).expect("open through the proxy");
        let app = TestApp::serve(db).await;
        Setup { app, proxy, direct, url }
    }

    /// The new values of the audit rows of `vat_number`, oldest first.
    async fn vat_changes(&self) -> Vec<String> {
        self.direct
            .administer(|r| Ok(Tx::Rollback(r.audit_entries()?)))
            .await
            .expect("audit")
            .into_iter()
            .filter(|e| e.field == "vat_number")
            .filter_map(|e| e.new_value)
            .collect()
    }

    async fn vat(&self) -> String {
        let user = self.direct.administer(|r| Ok(Tx::Rollback(r.user_by_id(123)?))).await.expect("read").expect("user");
        morapi::storage::text(&user, "vat_number")
    }

    async fn drop_database(self) {
        let url = self.url.clone();
        drop(self.app);
        drop(self.direct);
        let _ = scratch::drop(&url);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a database server: scripts/test runs it with MORAPI_TEST_DATABASE and --include-ignored"]
async fn an_unreachable_database_fails_fast_and_the_server_recovers_by_itself() {
    let s = Setup::new().await;
    assert_eq!(vat(&s.app, "A").await, updated());
    assert!(s.proxy.accepted.load(Ordering::SeqCst) > 0, "the pool's connections go through the proxy");

    s.proxy.cut();
    let started = Instant::now();
    assert_eq!(vat(&s.app, "B").await, page_error("Database is unavailable, nothing was changed", &[]));
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(500), "retried within the timeout first: {waited:?}");
    assert!(waited < Duration::from_secs(5), "failed within the timeout: {waited:?}");

    s.proxy.restore();
    // The pooled connections died with the cut; the next request replaces them and succeeds.
    assert_eq!(vat(&s.app, "C").await, updated());
    assert_eq!(s.vat_changes().await, ["A", "C"], "the refused request wrote nothing");
    assert_eq!(s.vat().await, "C");
    s.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a database server: scripts/test runs it with MORAPI_TEST_DATABASE and --include-ignored"]
async fn a_database_that_comes_back_within_the_timeout_serves_the_waiting_request() {
    let s = Setup::new().await;
    assert_eq!(vat(&s.app, "A").await, updated());
    s.proxy.cut();
    let proxy_up = s.proxy.up.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        proxy_up.store(true, Ordering::SeqCst);
    });
    assert_eq!(vat(&s.app, "B").await, updated(), "retried on fresh connections until the database answered");
    assert_eq!(s.vat_changes().await, ["A", "B"]);
    s.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a database server: scripts/test runs it with MORAPI_TEST_DATABASE and --include-ignored"]
async fn a_commit_whose_answer_was_lost_is_settled_from_the_audit_trail() {
    let s = Setup::new().await;
    assert_eq!(vat(&s.app, "A").await, updated());

    // COMMIT reached the database; its answer did not come back.
    s.proxy.arm(Trap::AnswerLost);
    assert_eq!(vat(&s.app, "B").await, updated(), "the change is there, so it was updated");
    assert_eq!(s.proxy.sprung.load(Ordering::SeqCst), 1, "the connection broke at COMMIT");
    assert_eq!((s.vat().await, s.vat_changes().await), ("B".to_string(), vec!["A".to_string(), "B".into()]));

    // COMMIT never reached the database.
    s.proxy.arm(Trap::CommitLost);
    assert_eq!(vat(&s.app, "C").await, page_error("Database is unavailable, nothing was changed", &[]));
    assert_eq!(s.proxy.sprung.load(Ordering::SeqCst), 2);
    assert_eq!((s.vat().await, s.vat_changes().await.len()), ("B".to_string(), 2), "nothing was changed indeed");

    // The database stays away past the timeout: the answer says the outcome is unknown.
    s.proxy.arm(Trap::AnswerLostThenDown);
    let started = Instant::now();
    assert_eq!(vat(&s.app, "D").await, page_error("Database connection lost; the change may have been applied", &[]));
    assert!(started.elapsed() < Duration::from_secs(5), "within the timeout: {:?}", started.elapsed());
    assert_eq!(s.proxy.sprung.load(Ordering::SeqCst), 3);
    s.proxy.restore();
    assert_eq!(s.vat().await, "D", "it had been applied: the answer did not deny it");
    assert_eq!(s.vat_changes().await, ["A", "B", "D"], "once each");

    // A request that changes nothing writes nothing: true whatever became of its commit, no lookup.
    s.proxy.arm(Trap::AnswerLostThenDown);
    assert_eq!(vat(&s.app, "D").await, updated());
    assert_eq!(s.proxy.sprung.load(Ordering::SeqCst), 4, "the connection broke at COMMIT");
    s.proxy.restore();
    assert_eq!(s.vat_changes().await, ["A", "B", "D"], "no audit row for no change");

    // And the server goes on.
    assert_eq!(vat(&s.app, "E").await, updated());
    s.drop_database().await;
}
