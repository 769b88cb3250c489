//! Throughput benchmark: starts the real `morapi` binary on a fresh demo database with `--users`
//! extra users (a million take seconds to create: see [`prepare`]), drives signed
//! `user_details_update` requests over HTTP from N concurrent clients, and prints updates/s,
//! p50/p99 latency and the server's peak memory. Every update really changes a row (a new last
//! name each time), and the audit trail is checked against the count at the end.
//!
//! With `--database URL` of a PostgreSQL or MariaDB/MySQL server, the run uses a scratch
//! database there and also measures the baseline: bare single-row UPDATE transactions through
//! the same driver from the same number of clients, so the two figures are comparable. On every
//! engine it also runs the same updates in-process without HTTP, to show what HTTP costs.
//!
//! With `--emails N` it measures something else instead: the time of one update of a user's e-mail
//! list (`a8`) holding the most addresses the catalogue admits, against `N` more stored address
//! rows, whose uniqueness the update checks (issue 10: each address must be an index lookup,
//! whatever the number of stored addresses). See [`emails`].
//!
//! Run with `scripts/bench` (builds the release binary first); `scripts/bench --help` lists the flags.

use clap::Parser;
use morapi::auth::gate::RequestInfo;
use morapi::auth::hash::{Variant, sign};
use morapi::domain::Answer;
use morapi::params::Params;
use morapi::storage::scratch::PRELOAD_SETTINGS;
use morapi::storage::{Account, Database, PoolOptions, Tx, demo, scratch};
use morapi::update::{self, UpdateRequest};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The server's allocator, so that the in-process figure measures the same code.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Throughput benchmark of morapi's `user_details_update` over HTTP.
///
/// Starts the morapi binary on a fresh demo database with `--users` extra users, drives signed
/// updates from `--clients` concurrent clients, and prints the setup time, updates/s, p50/p99
/// latency, the server's peak RSS, and the baselines. Run it with `scripts/bench`, which builds
/// the release binary first.
#[derive(Parser)]
#[command(
    name = "bench",
    after_help = "Examples:\n  scripts/bench --users 1000000\n  \
                  scripts/bench --database postgres://postgres@127.0.0.1:5432/test\n  \
                  scripts/bench --database mysql://root@127.0.0.1:3306/test --users 1000000 --setup-only\n  \
                  scripts/bench --emails 1000000 --database postgres://postgres@127.0.0.1:5432/test"
)]
struct Opts {
    /// Concurrent HTTP clients (and as many baseline connections and in-process tasks).
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..))]
    clients: u16,
    /// Extra users created before the run (ids from 10000 up); the updates spread over all of them.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(i64).range(1..=1_000_000_000))]
    users: i64,
    /// Seconds each figure is measured for.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    seconds: u64,
    /// The morapi binary to start [default: `morapi` next to this example's directory].
    #[arg(long, value_name = "PATH")]
    server: Option<String>,
    /// A PostgreSQL or MariaDB/MySQL server (postgres://… or mysql://…): the run uses a scratch
    /// database there, dropped afterwards; or sqlite://PATH, a new SQLite file, kept afterwards
    /// [default: a SQLite file in a temporary directory].
    #[arg(long, value_name = "URL", value_parser = database_url)]
    database: Option<String>,
    /// The server's `--db-pool-size` [default: one connection per client].
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    pool: Option<u16>,
    /// Only prepare the database (demo data and the extra users), print how long it took, and stop.
    #[arg(long)]
    setup_only: bool,
    /// The server's RUST_LOG: `info` writes the request log (one line per request, as in
    /// production, to /dev/null here); `warn` leaves it out.
    #[arg(long, value_name = "FILTER", default_value = "info")]
    server_log: String,
    /// Instead of the throughput run: store this many more address rows with e-mails (a tenth of
    /// them lists of three), then time single updates of one user's e-mail list, in-process, each
    /// a new list of the most addresses `a8` admits (36 in 255 characters), all checked for
    /// uniqueness against the stored ones.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(i64).range(1..=100_000_000))]
    emails: Option<i64>,
}

/// Accepts the URLs the bench can run on.
fn database_url(url: &str) -> Result<String, String> {
    const SCHEMES: [&str; 5] = ["sqlite://", "postgres://", "postgresql://", "mysql://", "mariadb://"];
    if SCHEMES.iter().any(|s| url.starts_with(s)) && !url.ends_with("://") {
        Ok(url.to_string())
    } else {
        Err("expected postgres://USER@HOST:PORT/DB, mysql://USER@HOST:PORT/DB or sqlite://NEW_FILE".into())
    }
}

impl Opts {
    fn server(&self) -> String {
        if let Some(server) = &self.server {
            return server.clone();
        }
        let exe = std::env::current_exe().expect("current exe");
        let dir = exe.parent().and_then(|p| p.parent()).expect("target dir");
        dir.join("morapi").display().to_string()
    }
}

/// Rows per multi-row `INSERT` statement, and per transaction, when creating the extra users.
const ROWS_PER_STATEMENT: i64 = 5_000;
const ROWS_PER_TRANSACTION: i64 = 50_000;

/// Creates the database: schema, demo data, and `users` extra simple users of the admin, through
/// morapi's storage layer on every engine. The users go in as multi-row `INSERT`s of
/// [`ROWS_PER_STATEMENT`] rows, [`ROWS_PER_TRANSACTION`] rows per transaction, so the setup time
/// grows linearly with `users` (one script of every row, as before, grew quadratically on SQLite:
/// SQLite copies the rest of a script for each statement it prepares).
async fn prepare(url: &str, users: i64) {
    let db = Database::open(url).expect("database");
    assert!(demo::load(&db).await.expect("demo data"), "fresh database");
    let demo_users = db.administer(|repo| Ok(Tx::Rollback(repo.user_count()?))).await.expect("count");
    let mut first = FIRST_USER;
    let end = FIRST_USER + users;
    while first < end {
        let last = (first + ROWS_PER_TRANSACTION).min(end);
        db.administer(move |repo| {
            let mut from = first;
            while from < last {
                let to = (from + ROWS_PER_STATEMENT).min(last);
                repo.execute_script(&insert_users(from, to))?;
                from = to;
            }
            Ok(Tx::Commit(()))
        })
        .await
        .expect("bench users");
        first = last;
    }
    let all = db.administer(|repo| Ok(Tx::Rollback(repo.user_count()?))).await.expect("count");
    assert_eq!(all, demo_users + users, "users after the setup");
}

/// One multi-row `INSERT` of the users with ids `from..to`.
fn insert_users(from: i64, to: i64) -> String {
    use std::fmt::Write;
    let mut sql = String::with_capacity(100 + 60 * (to - from) as usize);
    sql.push_str("INSERT INTO users (id, username, usertype, owner_id, first_name, last_name, uniquehash) VALUES ");
    for id in from..to {
        if id > from {
            sql.push(',');
        }
        let _ = write!(sql, "({id},'bench{id}','user',0,'Bench','User','bench{id}')");
    }
    sql
}

const FIRST_USER: i64 = 10_000;

/// The e-mail measurement ([`Opts::emails`]): address rows stored per script (and transaction),
/// the timed updates, and the user they change (the demo's john, whose address row is 1).
const ADDRESSES_PER_SCRIPT: i64 = 200_000;
const FIRST_ADDRESS: i64 = 10_000;
const EMAIL_UPDATES: usize = 5;
const EMAIL_TARGET: &str = "123";

/// Stores `n` address rows (ids from [`FIRST_ADDRESS`] up) holding e-mails, every tenth a list of
/// three written with spaces and capitals, through `execute_script` like the users.
async fn store_addresses(db: &Database, n: i64) {
    use std::fmt::Write;
    let end = FIRST_ADDRESS + n;
    let mut first = FIRST_ADDRESS;
    while first < end {
        let last = (first + ADDRESSES_PER_SCRIPT).min(end);
        let mut script = String::with_capacity(70 * (last - first) as usize);
        let mut from = first;
        while from < last {
            let to = (from + ROWS_PER_STATEMENT).min(last);
            script.push_str("INSERT INTO addresses (id, email) VALUES ");
            for id in from..to {
                if id > from {
                    script.push(',');
                }
                if id % 10 == 0 {
                    let _ = write!(script, "({id},'Stored{id}@Bench.test; alt{id}@bench.test ;x{id}@bench.test')");
                } else {
                    let _ = write!(script, "({id},'stored{id}@bench.test')");
                }
            }
            script.push_str(";\n");
            from = to;
        }
        db.administer(move |repo| Ok(Tx::Commit(repo.execute_script(&script)?))).await.expect("bench addresses");
        first = last;
    }
}

/// The `k`th list of the e-mail measurement: 36 addresses of 6 characters, 251 characters with
/// the separators (`a8` admits 255), none stored before.
fn email_list(k: usize) -> String {
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    const LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyz";
    let host = CHARS[k % CHARS.len()] as char;
    let tld: String =
        [LETTERS[(k / CHARS.len()) % 26], LETTERS[(k / CHARS.len() / 26) % 26]].map(char::from).iter().collect();
    CHARS.iter().map(|&local| format!("{}@{host}.{tld}", local as char)).collect::<Vec<_>>().join(";")
}

/// The e-mail measurement: `n` more stored addresses, then [`EMAIL_UPDATES`] timed updates of
/// john's `a8` (after one untimed), in-process and one at a time, so that each figure is the time
/// one update holds its transaction. Prints every time and the median.
async fn emails(url: &str, n: i64) {
    let started = Instant::now();
    let db = Database::open(url).expect("database");
    store_addresses(&db, n).await;
    println!("setup: {n} more stored addresses in {:.2} s", started.elapsed().as_secs_f64());
    let mut times = Vec::new();
    for k in 0..=EMAIL_UPDATES {
        let list = email_list(k);
        assert!(list.len() <= 255, "{}", list.len());
        let pairs = [("user_id", EMAIL_TARGET), ("a8", list.as_str())];
        let hash = sign(&Params::from_pairs(pairs), "456789", Variant::Documented);
        let params = Params::from_pairs([("u", "admin"), ("hash", hash.as_str())].into_iter().chain(pairs));
        let info = RequestInfo {
            request_id: format!("emails{k}"),
            client_addr: "127.0.0.1".into(),
            endpoint: "user_details_update".into(),
            is_get: false,
        };
        let started = Instant::now();
        let answer = update::serve(&db, UpdateRequest { params, info }).await.expect("update");
        let took = started.elapsed();
        assert_eq!(answer, Answer::Updated);
        if k > 0 {
            times.push(took);
        }
    }
    let ms: Vec<String> = times.iter().map(|t| format!("{:.1}", t.as_secs_f64() * 1e3)).collect();
    times.sort();
    println!(
        "e-mail list update ({} addresses, each checked for uniqueness) against {n} more stored addresses, {}: \
         {} ms (median {:.1} ms)",
        email_list(0).split(';').count(),
        engine(url),
        ms.join(", "),
        times[times.len() / 2].as_secs_f64() * 1e3
    );
}

/// What each baseline transaction does.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// `BEGIN; UPDATE users SET last_name = ? WHERE id = ?; COMMIT`, one statement at a time.
    Bare,
    /// The statements morapi sends for the benchmark's update (caller, settings, target locked,
    /// update, audit row), in its two round trips, straight through the driver: the most any
    /// server using this driver can reach for an audited update, before HTTP and before its
    /// own work. Server engines only.
    Audited,
}

/// The audit row of the change, as `AdminStore::insert_audit` writes it (values filled in per engine).
const AUDIT_INSERT: &str = "INSERT INTO audit_log (created_at, request_id, event, actor_id, actor_username, \
    client_addr, endpoint, target_id, field, old_value, new_value) VALUES ({now}, 'bench', 'change', 0, 'admin', \
    '127.0.0.1', 'user_details_update', {id}, 'last_name', 'old', {name})";

/// PostgreSQL, [`Shape::Audited`]: the two pipelines, as morapi sends them.
fn audited_postgres(url: &str, deadline: Instant, mut next: impl FnMut() -> (String, i64)) -> u64 {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let (client, connection) = morapi::storage::postgres::client(url).await.expect("postgres");
        tokio::spawn(connection);
        let caller = client
            .prepare(&format!("SELECT {} FROM users WHERE username = $1", Account::COLUMNS))
            .await
            .expect("prepare");
        let settings =
            client.prepare(&PRELOAD_SETTINGS.replacen('?', "$1", 1).replacen('?', "$2", 1)).await.expect("prepare");
        let target = client.prepare("SELECT * FROM users WHERE id = $1 FOR UPDATE").await.expect("prepare");
        let update = client.prepare("UPDATE users SET last_name = $1 WHERE id = $2").await.expect("prepare");
        let audit = client
            .prepare(&AUDIT_INSERT.replace("{now}", "$1").replace("{id}", "$2").replace("{name}", "$3"))
            .await
            .expect("prepare");
        let mut n = 0;
        while Instant::now() < deadline {
            let (name, id) = next();
            let now = chrono::Utc::now().to_rfc3339();
            let (admin, user) = ("admin", &id);
            let (b, c, s, t) = futures_util::future::join4(
                client.batch_execute("BEGIN"),
                client.query(&caller, &[&admin]),
                client.query(&settings, &[&admin, &admin]),
                client.query(&target, &[user]),
            )
            .await;
            b.and(c).and(s).and(t).expect("reads");
            let (u, a, c) = futures_util::future::join3(
                client.execute(&update, &[&name, user]),
                client.execute(&audit, &[&now, user, &name]),
                client.batch_execute("COMMIT"),
            )
            .await;
            u.and(a).map(drop).and(c).expect("writes");
            n += 1;
        }
        n
    })
}

/// MariaDB/MySQL, [`Shape::Audited`]: the two multi-statement queries, as morapi sends them
/// (the reads behind `START TRANSACTION`; the writes and `COMMIT` guarded and proven, see
/// `MyRepo::commit_proven`).
fn audited_mysql(url: &str, deadline: Instant, mut next: impl FnMut() -> (String, i64)) -> u64 {
    use mysql::prelude::Queryable;
    let mut conn = morapi::storage::mysql::driver_conn(url).expect("mysql");
    conn.query_drop("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED").expect("isolation");
    let mut n = 0;
    while Instant::now() < deadline {
        let (name, id) = next();
        let settings = PRELOAD_SETTINGS.replace('?', "'admin'");
        let now = format!("'{}'", chrono::Utc::now().to_rfc3339());
        let audit = AUDIT_INSERT
            .replace("{now}", &now)
            .replace("{id}", &id.to_string())
            .replace("{name}", &format!("'{name}'"));
        for query in [
            format!(
                "START TRANSACTION; SELECT {} FROM users WHERE username = 'admin'; {settings}; SELECT * FROM users WHERE id = {id} FOR UPDATE",
                Account::COLUMNS
            ),
            format!(
                "SET SESSION TRANSACTION READ ONLY; UPDATE users SET last_name = '{name}' WHERE id = {id}; {audit}; \
                 COMMIT; SET SESSION TRANSACTION READ WRITE; SELECT 1 FROM audit_log WHERE request_id = 'bench' LIMIT 1"
            ),
        ] {
            let mut result = conn.query_iter(query).expect("query");
            while let Some(set) = result.iter() {
                for row in set {
                    row.expect("row");
                }
            }
        }
        n += 1;
    }
    n
}

/// The baseline: transactions of `shape` through the engine's driver from `clients` threads,
/// for `seconds`. Returns transactions per second.
fn baseline(url: &str, shape: Shape, clients: usize, users: i64, seconds: u64) -> f64 {
    // SQLite's connections are opened (and their schema checked, which takes the write lock)
    // before the clock starts: a thread still opening its connection behind the others' writes
    // could wait out the busy timeout.
    let mut sqlite = match url.strip_prefix("sqlite://") {
        // Their busy timeout as before --db-lock-timeout existed: the baseline's threads contend
        // for the write lock, and a figure is wanted, not a busy answer.
        Some(path) => (0..clients)
            .map(|_| morapi::storage::sqlite::connect(path, Duration::from_secs(10)).expect("sqlite"))
            .collect(),
        None => Vec::new(),
    }
    .into_iter();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let total = AtomicU64::new(0);
    std::thread::scope(|s| {
        for c in 0..clients {
            let total = &total;
            let sqlite = sqlite.next();
            s.spawn(move || {
                let mut n = 0u64;
                let mut next = || {
                    n += 1;
                    (format!("B{c}x{n}"), FIRST_USER + (c as i64 * 7 + n as i64) % users)
                };
                if shape == Shape::Audited {
                    let done = if url.starts_with("postgres") {
                        audited_postgres(url, deadline, next)
                    } else {
                        audited_mysql(url, deadline, next)
                    };
                    total.fetch_add(done, Ordering::Relaxed);
                } else if let Some(mut conn) = sqlite {
                    while Instant::now() < deadline {
                        let (name, id) = next();
                        let done =
                            conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).and_then(|tx| {
                                tx.execute(
                                    "UPDATE users SET last_name = ?1 WHERE id = ?2",
                                    rusqlite::params![name, id],
                                )?;
                                tx.commit()
                            });
                        match done {
                            Ok(()) => {
                                total.fetch_add(1, Ordering::Relaxed);
                            }
                            // Waited out the busy timeout behind the other writers: not counted.
                            Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy) => {}
                            Err(e) => panic!("bare update: {e}"),
                        }
                    }
                } else if url.starts_with("postgres") {
                    // tokio-postgres on a private runtime, as morapi drives it.
                    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
                    runtime.block_on(async {
                        let (mut client, connection) = morapi::storage::postgres::client(url).await.expect("postgres");
                        tokio::spawn(connection);
                        let stmt =
                            client.prepare("UPDATE users SET last_name = $1 WHERE id = $2").await.expect("prepare");
                        while Instant::now() < deadline {
                            let (name, id) = next();
                            let tx = client.transaction().await.expect("begin");
                            tx.execute(&stmt, &[&name, &id]).await.expect("update");
                            tx.commit().await.expect("commit");
                            total.fetch_add(1, Ordering::Relaxed);
                        }
                    });
                } else {
                    use mysql::prelude::Queryable;
                    let mut conn = morapi::storage::mysql::driver_conn(url).expect("mysql");
                    while Instant::now() < deadline {
                        let (name, id) = next();
                        let mut tx = conn.start_transaction(mysql::TxOpts::default()).expect("begin");
                        tx.exec_drop("UPDATE users SET last_name = ? WHERE id = ?", (name, id)).expect("update");
                        tx.commit().expect("commit");
                        total.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
    });
    total.load(Ordering::Relaxed) as f64 / seconds as f64
}

/// The same signed update through morapi's own code, in this process, without HTTP: `clients`
/// tasks run `update::run` through the storage pool, as the server does. The gap to the HTTP
/// figure is what HTTP costs; the gap to the baseline is what the audited transaction costs.
async fn in_process(url: &str, clients: usize, pool: usize, users: i64, seconds: u64) -> f64 {
    let options = PoolOptions { max_connections: pool, ..PoolOptions::default() };
    let db = Database::open_with(url, options).expect("database");
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for c in 0..clients {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while Instant::now() < deadline {
                n += 1;
                let user_id = (FIRST_USER + (c as i64 * 7 + n as i64) % users).to_string();
                let last_name = format!("P{c}x{n}");
                let pairs = [("user_id", user_id.as_str()), ("u17", last_name.as_str())];
                let hash = sign(&Params::from_pairs(pairs), "456789", Variant::Documented);
                let params = Params::from_pairs([("u", "admin"), ("hash", hash.as_str())].into_iter().chain(pairs));
                let info = RequestInfo {
                    request_id: format!("bench{c}x{n}"),
                    client_addr: "127.0.0.1".into(),
                    endpoint: "user_details_update".into(),
                    is_get: false,
                };
                let req = UpdateRequest { params, info };
                let answer = update::serve(&db, req).await.expect("update");
                assert_eq!(answer, Answer::Updated);
            }
            n
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.expect("in-process task");
    }
    total as f64 / seconds as f64
}

/// The engine of `url`, for the report.
fn engine(url: &str) -> &'static str {
    if url.starts_with("sqlite") {
        "SQLite WAL synchronous=FULL"
    } else if url.starts_with("postgres") {
        "PostgreSQL"
    } else {
        "MariaDB/MySQL"
    }
}

fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find(|l| l.starts_with("VmHWM:"))?.split_whitespace().nth(1)?.parse().ok()
}

async fn audit_rows(url: &str) -> i64 {
    let db = Database::open(url).expect("database");
    db.administer(|repo| {
        let n = repo
            .audit_entries()?
            .iter()
            .filter(|e| e.field == "last_name" && e.new_value.as_deref().is_some_and(|v| v.starts_with('N')))
            .count();
        Ok(Tx::Rollback(n as i64))
    })
    .await
    .expect("count")
}

#[tokio::main]
async fn main() {
    let o = Opts::parse();
    let (clients, users, seconds) = (usize::from(o.clients), o.users, o.seconds);
    let pool = o.pool.map_or(clients, usize::from);
    let server = o.server();
    let dir = tempfile::tempdir().expect("temp dir");
    let (url, scratch) = match o.database.as_deref() {
        None => (format!("sqlite://{}", dir.path().join("bench.db").display()), None),
        Some(url) if url.starts_with("sqlite://") => {
            if std::path::Path::new(&url["sqlite://".len()..]).exists() {
                eprintln!("error: {url} exists; the benchmark needs a new database file");
                std::process::exit(2);
            }
            (url.to_string(), None)
        }
        Some(server) => {
            let url = scratch::create(server).expect("scratch database");
            (url.clone(), Some(url))
        }
    };
    let setup_started = Instant::now();
    prepare(&url, users).await;
    let setup = setup_started.elapsed();
    if let Some(n) = o.emails {
        emails(&url, n).await;
        if let Some(url) = scratch {
            let _ = scratch::drop(&url);
        }
        return;
    }
    if o.setup_only {
        println!("setup: demo data and {users} users on {} in {:.2} s", engine(&url), setup.as_secs_f64());
        if let Some(url) = scratch {
            let _ = scratch::drop(&url);
        }
        return;
    }

    let mut child = Command::new(&server)
        .args(["serve", "--listen", "127.0.0.1:0", "--database", &url, "--db-pool-size", &pool.to_string()])
        .env("RUST_LOG", &o.server_log)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {server}: {e} (run scripts/bench)"));
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    let mut reader = BufReader::new(stdout);
    while !line.contains("listening on") {
        line.clear();
        if reader.read_line(&mut line).expect("server output") == 0 {
            panic!("server exited before listening");
        }
    }
    let base =
        line.split("listening on ").nth(1).and_then(|s| s.split(',').next()).expect("address").trim().to_string();
    let endpoint = format!("{base}/billing/api/user_details_update");

    let stop = Arc::new(AtomicBool::new(false));
    let counter = Arc::new(AtomicU64::new(0));
    let measuring = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (stop, counter, measuring, endpoint) = (stop.clone(), counter.clone(), measuring.clone(), endpoint.clone());
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::builder().pool_max_idle_per_host(1).build().expect("client");
            let mut latencies = Vec::new();
            let (mut ok, mut failed, mut all_ok) = (0u64, 0u64, 0u64);
            let mut i = c as i64;
            while !stop.load(Ordering::Relaxed) {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                let user_id = (FIRST_USER + (i % users)).to_string();
                i += 7;
                let last_name = format!("N{n}");
                let pairs = [("user_id", user_id.as_str()), ("u17", last_name.as_str())];
                let hash = sign(&Params::from_pairs(pairs), "456789", Variant::Documented);
                let body = format!("u=admin&user_id={user_id}&u17={last_name}&hash={hash}");
                let started = Instant::now();
                let resp = client
                    .post(&endpoint)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(body)
                    .send()
                    .await;
                let good = match resp {
                    Ok(r) => r.text().await.is_ok_and(|t| t.contains("<status>User was updated</status>")),
                    Err(_) => false,
                };
                if measuring.load(Ordering::Relaxed) {
                    latencies.push(started.elapsed());
                    ok += u64::from(good);
                }
                if good {
                    all_ok += 1;
                } else {
                    failed += 1;
                }
            }
            (ok, failed, all_ok, latencies)
        }));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    measuring.store(true, Ordering::Relaxed);
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    measuring.store(false, Ordering::Relaxed);
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);

    let (mut ok, mut failed, mut all_ok, mut lat) = (0, 0, 0, Vec::new());
    for t in tasks {
        let (o, f, a, l) = t.await.expect("client task");
        ok += o;
        failed += f;
        all_ok += a;
        lat.extend(l);
    }
    let rss = peak_rss_kib(child.id());
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let _ = child.wait();
    lat.sort();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1))).copied().unwrap_or_default()
    };
    let audited = audit_rows(&url).await;
    // The bare baseline first: the in-process phase's SQLite writer may still be closing after it.
    let bare = baseline(&url, Shape::Bare, clients, users, seconds);
    let inside = in_process(&url, clients, pool, users, seconds).await;
    let ceiling = (!url.starts_with("sqlite")).then(|| baseline(&url, Shape::Audited, clients, users, seconds));
    if let Some(url) = scratch {
        let _ = scratch::drop(&url);
    }

    println!("morapi benchmark: user_details_update over HTTP, {}, durable commits", engine(&url));
    println!("setup: demo data and {users} users in {:.2} s", setup.as_secs_f64());
    println!("clients: {clients}   users: {users}   measured: {:.1}s", elapsed.as_secs_f64());
    println!("successful updates/s: {:.0}", ok as f64 / elapsed.as_secs_f64());
    println!("failed requests: {failed}");
    println!("latency p50: {:.2} ms   p99: {:.2} ms", pct(0.50).as_secs_f64() * 1e3, pct(0.99).as_secs_f64() * 1e3);
    match rss {
        Some(kib) => println!("server peak RSS: {:.1} MiB", kib as f64 / 1024.0),
        None => println!("server peak RSS: unavailable (no /proc)"),
    }
    println!("acknowledged updates: {all_ok}   audit rows found after shutdown: {audited}");
    println!(
        "baseline, bare single-row UPDATE transactions through the same driver, {} clients: {bare:.0}/s \
         (morapi reaches {:.0}% of it)",
        clients,
        100.0 * ok as f64 / elapsed.as_secs_f64() / bare
    );
    println!(
        "the same updates in-process, without HTTP, {} tasks: {inside:.0}/s ({:.0}% of the baseline)",
        clients,
        100.0 * inside / bare
    );
    if let Some(ceiling) = ceiling {
        println!(
            "ceiling: morapi's statements for this update, in its two round trips, straight through the same \
             driver, {} clients: {ceiling:.0}/s ({:.0}% of the baseline)",
            clients,
            100.0 * ceiling / bare
        );
    }
    if failed > 0 || audited != all_ok as i64 {
        std::process::exit(1);
    }
}
