//! The database goes away and comes back (behaviour of issue "production databases", item 4):
//! requests fail fast with a clear MOR-style error and write nothing; the server recovers by
//! itself, on the very next request. Needs a database server (`MORAPI_TEST_DATABASE`); the
//! connection runs through a proxy the test can cut. On SQLite there is no server to lose.

mod common;
use common::*;
use morapi::storage::{Database, PoolOptions, demo, scratch};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A TCP proxy to the database that can be cut (open connections dropped, new ones refused).
struct Proxy {
    addr: String,
    up: Arc<AtomicBool>,
    links: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Proxy {
    async fn start(upstream: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr").to_string();
        let up = Arc::new(AtomicBool::new(true));
        let links: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let (up2, links2) = (up.clone(), links.clone());
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !up2.load(Ordering::SeqCst) {
                    continue; // dropped: the database is "down"
                }
                let upstream = upstream.clone();
                let link = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(&upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                links2.lock().expect("links").push(link);
            }
        });
        Proxy { addr, up, links }
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a database server: scripts/test runs it with MORAPI_TEST_DATABASE and --include-ignored"]
async fn an_unreachable_database_fails_fast_and_the_server_recovers_by_itself() {
    let server = std::env::var("MORAPI_TEST_DATABASE")
        .ok()
        .filter(|s| !s.is_empty() && !s.starts_with("sqlite"))
        .expect("MORAPI_TEST_DATABASE must name a PostgreSQL or MariaDB/MySQL server: SQLite has no server to lose");
    let url = scratch::create(&server).expect("scratch database");
    let direct = Database::open(&url).expect("open");
    assert!(demo::load(&direct).await.expect("demo"));
    let (_, upstream) = through(&url, "x");
    let proxy = Proxy::start(upstream).await;
    let (mut proxied, _) = through(&url, &proxy.addr);
    if proxied.starts_with("mysql") {
        // The MySQL driver would otherwise switch to the server's Unix socket, around the proxy.
        proxied.push_str("?prefer_socket=false");
    }
    let options = PoolOptions { timeout: Duration::from_secs(1), ..PoolOptions::default() };
    let db = Database::open_with(&proxied, options).expect("open through the proxy");
    let app = TestApp::serve(db).await;

    assert_eq!(vat(&app, "A").await, updated());

    proxy.cut();
    let started = Instant::now();
    assert_eq!(vat(&app, "B").await, page_error("Database is unavailable, nothing was changed", &[]));
    assert!(started.elapsed() < Duration::from_secs(5), "failed fast: {:?}", started.elapsed());

    proxy.restore();
    // The pooled connections died with the cut; the next request replaces them and succeeds.
    assert_eq!(vat(&app, "C").await, updated());

    let changes = direct
        .transact(|r| Ok((r.audit_entries()?, false)))
        .await
        .expect("audit")
        .into_iter()
        .filter(|e| e.field == "vat_number")
        .filter_map(|e| e.new_value)
        .collect::<Vec<_>>();
    assert_eq!(changes, ["A", "C"], "the refused request wrote nothing");
    let user = direct.transact(|r| Ok((r.user_by_id(123)?, false))).await.expect("read").expect("user");
    assert_eq!(morapi::storage::text(&user.row, "vat_number"), "C");
    drop(app);
    drop(direct);
    let _ = scratch::drop(&url);
}
