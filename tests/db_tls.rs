//! TLS to the database servers, against the real PostgreSQL and MariaDB: each mode of the URL
//! proven from the server's side (`pg_stat_ssl`, `Ssl_cipher`), the certificate checks refusing
//! a wrong CA and a host name the certificate is not for, the fallback of `prefer` through a
//! relay that hides the server's TLS, and a whole `user_details_update` over a verified
//! connection on each engine.
//!
//! Needs the servers, so every test but the first is ignored in the SQLite run; `scripts/test`
//! runs this file once per engine with `MORAPI_TEST_DATABASE` (each engine's tests return at once
//! when another engine is named; with no `MORAPI_TEST_DATABASE`, both engines are tested at
//! `MORAPI_TEST_POSTGRES` / `MORAPI_TEST_MYSQL` or the local defaults). The first test that needs
//! a certificate runs `scripts/db-tls-setup`, which gives the local servers one of a test CA when
//! they have none (it needs root then) and otherwise changes nothing; a failure of it fails the
//! test with its output. The certificate is for `127.0.0.1` and `localhost`: a relay on
//! `127.0.0.2` reaches the same server under a name the certificate does not cover.

mod common;
use common::*;
use morapi::storage::{Database, StoreError, demo, mysql, postgres, scratch};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::OnceLock;

/// The CA that issued the servers' certificates, and one that issued nothing they use.
struct Cas {
    ca: String,
    other: String,
}

/// Runs `scripts/db-tls-setup` once per test process and returns the CA files.
fn cas() -> &'static Cas {
    static CAS: OnceLock<std::result::Result<Cas, String>> = OnceLock::new();
    let cas = CAS.get_or_init(|| {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/db-tls-setup");
        let out = std::process::Command::new(script).output().map_err(|e| format!("cannot run {script}: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "{script} failed ({}), so the servers' TLS cannot be tested:\n{}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let dir = std::env::var("MORAPI_TEST_TLS_DIR").unwrap_or_else(|_| "/var/lib/morapi-test-tls".into());
        let ca = std::env::var("MORAPI_TEST_DB_CA").unwrap_or_else(|_| format!("{dir}/ca.pem"));
        Ok(Cas { ca, other: format!("{dir}/other-ca.pem") })
    });
    match cas {
        Ok(cas) => cas,
        Err(e) => panic!("{e}"),
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Engine {
    Postgres,
    Mysql,
}

/// The server to test `engine` on, or `None` (said on stderr) when `MORAPI_TEST_DATABASE`
/// names the other engine.
fn server(engine: Engine) -> Option<String> {
    let (schemes, var, default): (&[&str], _, _) = match engine {
        Engine::Postgres => {
            (&["postgres://", "postgresql://"], "MORAPI_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432/test")
        }
        Engine::Mysql => (&["mysql://", "mariadb://"], "MORAPI_TEST_MYSQL", "mysql://root@127.0.0.1:3306/test"),
    };
    match std::env::var("MORAPI_TEST_DATABASE") {
        Ok(url) if schemes.iter().any(|s| url.starts_with(s)) => Some(url),
        Ok(url) if !url.is_empty() => {
            eprintln!("skipped: MORAPI_TEST_DATABASE names another engine than {engine:?}");
            None
        }
        _ => Some(std::env::var(var).unwrap_or_else(|_| default.to_string())),
    }
}

/// `url` with `params` added to its query.
fn with(url: &str, params: &str) -> String {
    format!("{url}{}{params}", if url.contains('?') { '&' } else { '?' })
}

/// `url` with its host and port replaced.
fn at(url: &str, host_port: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("a URL");
    let (authority, path) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
    let userinfo = authority.rsplit_once('@').map(|(u, _)| format!("{u}@")).unwrap_or_default();
    format!("{scheme}://{userinfo}{host_port}{path}")
}

/// The `host:port` of a URL.
fn host_port(url: &str) -> String {
    let rest = url.split_once("://").expect("a URL").1;
    let authority = &rest[..rest.find(['/', '?']).unwrap_or(rest.len())];
    authority.rsplit_once('@').map_or(authority, |(_, h)| h).to_string()
}

/// Whether morapi's connection to `url` is encrypted, as the server sees it.
fn encrypted(engine: Engine, url: &str) -> Result<bool, String> {
    match engine {
        Engine::Postgres => {
            let mut conn = postgres::connect(url).map_err(|e| e.to_string())?;
            let rows = conn
                .query_strings("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
                .map_err(|e| e.to_string())?;
            Ok(rows.first().and_then(|r| r.first().cloned().flatten()).as_deref() == Some("t"))
        }
        Engine::Mysql => {
            let mut conn = mysql::connect(url).map_err(|e| e.to_string())?;
            let rows = conn.query_strings("SHOW SESSION STATUS LIKE 'Ssl_cipher'").map_err(|e| e.to_string())?;
            Ok(rows.first().and_then(|r| r.get(1).cloned().flatten()).is_some_and(|c| !c.is_empty()))
        }
    }
}

/// What a relay does to the start of each conversation.
#[derive(Clone, Copy)]
enum Hide {
    /// Nothing: the same server at another address.
    Nothing,
    /// Answers PostgreSQL's `SSLRequest` with `N` itself: a server without TLS.
    PostgresTls,
    /// Clears `CLIENT_SSL` in MariaDB's greeting: a server without TLS.
    MysqlTls,
}

/// A TCP relay on 127.0.0.2 (a port of its own) to the server at `upstream`; returns its
/// `host:port`. It lives as long as the test process.
fn relay(upstream: &str, hide: Hide) -> String {
    let listener = TcpListener::bind("127.0.0.2:0").expect("bind 127.0.0.2 (all of 127.0.0.0/8 is loopback)");
    let addr = listener.local_addr().expect("address").to_string();
    let upstream = upstream.to_string();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let upstream = upstream.clone();
            std::thread::spawn(move || {
                if let Ok(server) = TcpStream::connect(&upstream) {
                    let _ = pass(client, server, hide);
                }
            });
        }
    });
    addr
}

fn pass(mut client: TcpStream, mut server: TcpStream, hide: Hide) -> std::io::Result<()> {
    match hide {
        Hide::Nothing => {}
        Hide::PostgresTls => {
            const SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];
            let mut first = [0u8; 8];
            client.read_exact(&mut first)?;
            if first == SSL_REQUEST {
                client.write_all(b"N")?;
            } else {
                server.write_all(&first)?;
            }
        }
        Hide::MysqlTls => {
            let mut header = [0u8; 4];
            server.read_exact(&mut header)?;
            let len = usize::from(header[0]) | usize::from(header[1]) << 8 | usize::from(header[2]) << 16;
            let mut greeting = vec![0u8; len];
            server.read_exact(&mut greeting)?;
            // Protocol version, server version (NUL-ended), thread id (4), scramble (8), filler
            // (1), then the capabilities' low two bytes: CLIENT_SSL is 0x0800.
            let nul = greeting.iter().skip(1).position(|b| *b == 0).expect("server version") + 1;
            greeting[nul + 1 + 4 + 8 + 1 + 1] &= !0x08;
            client.write_all(&header)?;
            client.write_all(&greeting)?;
        }
    }
    let (mut c2, mut s2) = (client.try_clone()?, server.try_clone()?);
    let up = std::thread::spawn(move || {
        let _ = std::io::copy(&mut c2, &mut s2);
        let _ = s2.shutdown(Shutdown::Write);
    });
    let _ = std::io::copy(&mut server, &mut client);
    let _ = client.shutdown(Shutdown::Write);
    let _ = up.join();
    Ok(())
}

// ---- Refused before any connection ----------------------------------------------------------

#[test]
fn an_invalid_mode_or_ca_file_is_refused_at_open_naming_the_parameter() {
    let e = Database::open("postgres://bob:s3cret@127.0.0.1:1/test?sslmode=verify").err().map(|e| e.to_string());
    assert_eq!(
        e.as_deref(),
        Some("PostgreSQL URL: invalid sslmode \"verify\": use one of disable, prefer, require, verify-ca, verify-full")
    );
    let e = Database::open("mysql://bob:s3cret@127.0.0.1:1/test?ssl-mode=VERIFY").err().map(|e| e.to_string());
    assert_eq!(
        e.as_deref(),
        Some(
            "MariaDB/MySQL URL: invalid ssl-mode \"VERIFY\": use one of DISABLED, PREFERRED, REQUIRED, VERIFY_CA, VERIFY_IDENTITY"
        )
    );
    let e = Database::open("mariadb://bob:s3cret@127.0.0.1:1/test?ssl-ca=/no/such/ca.pem").err().map(|e| e.to_string());
    let e = e.unwrap_or_default();
    assert!(e.starts_with("MariaDB/MySQL URL: ssl-ca=/no/such/ca.pem: cannot read the file"), "{e}");
    assert!(!e.contains("s3cret"), "{e}");
}

// ---- PostgreSQL ------------------------------------------------------------------------------

#[test]
#[ignore = "needs PostgreSQL and MariaDB with TLS: scripts/test runs it"]
fn postgres_require_and_prefer_encrypt_disable_and_no_sslmode_do_not() {
    let Some(server) = server(Engine::Postgres) else { return };
    cas();
    let pg = |params: &str| encrypted(Engine::Postgres, &with(&server, params));
    assert_eq!(pg("sslmode=require"), Ok(true));
    assert_eq!(pg("sslmode=prefer"), Ok(true), "the server offers TLS");
    assert_eq!(pg("sslmode=disable"), Ok(false));
    assert_eq!(encrypted(Engine::Postgres, &server), Ok(false), "no sslmode: plain, as before");
    // A Unix socket: the server offers no TLS there.
    if std::path::Path::new("/var/run/postgresql").is_dir() {
        let socket = at(&server, "%2Fvar%2Frun%2Fpostgresql");
        assert_eq!(encrypted(Engine::Postgres, &with(&socket, "sslmode=prefer")), Ok(false));
        let e = encrypted(Engine::Postgres, &with(&socket, "sslmode=require")).expect_err("no TLS on a socket");
        assert!(e.contains("does not offer TLS"), "{e}");
    }
}

#[test]
#[ignore = "needs PostgreSQL and MariaDB with TLS: scripts/test runs it"]
fn postgres_verify_full_checks_the_chain_and_the_host_name() {
    let Some(server) = server(Engine::Postgres) else { return };
    let cas = cas();
    let full = format!("sslmode=verify-full&sslrootcert={}", cas.ca);
    assert_eq!(encrypted(Engine::Postgres, &with(&server, &full)), Ok(true));
    let port = host_port(&server).rsplit_once(':').map_or("5432".to_string(), |(_, p)| p.to_string());
    let localhost = at(&server, &format!("localhost:{port}"));
    assert_eq!(encrypted(Engine::Postgres, &with(&localhost, &full)), Ok(true), "the certificate covers localhost");
    // The same server at an address the certificate is not for.
    let elsewhere = at(&server, &relay(&host_port(&server), Hide::Nothing));
    let e = encrypted(Engine::Postgres, &with(&elsewhere, &full)).expect_err("a name the certificate does not cover");
    assert!(e.contains("TLS to PostgreSQL failed (sslmode=verify-full, sslrootcert="), "{e}");
    assert!(e.contains("not valid for name \"127.0.0.2\""), "{e}");
    // verify-ca checks the chain only: the same address is fine.
    let ca = format!("sslmode=verify-ca&sslrootcert={}", cas.ca);
    assert_eq!(encrypted(Engine::Postgres, &with(&elsewhere, &ca)), Ok(true));
}

#[test]
#[ignore = "needs PostgreSQL and MariaDB with TLS: scripts/test runs it"]
fn postgres_a_certificate_of_another_ca_is_refused() {
    let Some(server) = server(Engine::Postgres) else { return };
    let cas = cas();
    for mode in ["verify-ca", "verify-full", "require"] {
        let url = with(&server, &format!("sslmode={mode}&sslrootcert={}", cas.other));
        let e = encrypted(Engine::Postgres, &url).expect_err("another CA");
        assert!(e.contains("TLS to PostgreSQL failed") && e.contains("UnknownIssuer"), "{mode}: {e}");
    }
    // Without sslrootcert, the Mozilla roots: a private CA is not among them.
    let e = encrypted(Engine::Postgres, &with(&server, "sslmode=verify-full")).expect_err("not a public CA");
    assert!(e.contains("UnknownIssuer"), "{e}");
    // At start, the refusal comes at once, not after the database timeout.
    let started = std::time::Instant::now();
    let e = Database::open(&with(&server, &format!("sslmode=verify-ca&sslrootcert={}", cas.other)));
    assert!(matches!(&e, Err(StoreError::Config(m)) if m.contains("UnknownIssuer")), "{:?}", e.err());
    assert!(started.elapsed() < std::time::Duration::from_secs(3), "{:?}", started.elapsed());
}

#[test]
#[ignore = "needs PostgreSQL and MariaDB with TLS: scripts/test runs it"]
fn postgres_prefer_falls_back_to_plain_and_require_refuses_a_server_without_tls() {
    let Some(server) = server(Engine::Postgres) else { return };
    cas();
    let plain = at(&server, &relay(&host_port(&server), Hide::PostgresTls));
    assert_eq!(encrypted(Engine::Postgres, &with(&plain, "sslmode=prefer")), Ok(false));
    assert_eq!(encrypted(Engine::Postgres, &plain), Ok(false));
    let e = encrypted(Engine::Postgres, &with(&plain, "sslmode=require")).expect_err("no TLS offered");
    assert_eq!(
        e,
        "the PostgreSQL server does not offer TLS, which sslmode=require requires (sslmode=prefer would fall back to plain text)"
    );
}

#[test]
#[ignore = "needs PostgreSQL and MariaDB with TLS: scripts/test runs it"]
fn postgres_scram_logs_in_with_channel_binding_over_tls() {
    let Some(server) = server(Engine::Postgres) else { return };
    let cas = cas();
    // scripts/db-tls-setup's role, which may log in only with SCRAM over TLS. The server accepts
    // SCRAM-SHA-256-PLUS only if the client's tls-server-end-point hash is that of the
    // certificate it presented.
    let (scheme, rest) = server.split_once("://").expect("a URL");
    let role =
        format!("{scheme}://morapi_tls_scram:morapi-tls-scram@{}", rest.split_once('@').map_or(rest, |(_, r)| r));
    for params in [
        "sslmode=require&channel_binding=require".to_string(),
        format!("sslmode=verify-full&sslrootcert={}&channel_binding=require", cas.ca),
    ] {
        assert_eq!(encrypted(Engine::Postgres, &with(&role, &params)), Ok(true), "{params}");
    }
    let wrong = role.replace("morapi-tls-scram@", "wrong@");
    let e = encrypted(Engine::Postgres, &with(&wrong, "sslmode=require")).expect_err("a wrong password");
    assert!(e.contains("password authentication failed"), "{e}");
    assert!(!e.contains("wrong"), "the password is never shown: {e}");
}

/// A scratch database, dropped at the end even when the test fails.
struct Scratch(String);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = scratch::drop(&self.0);
    }
}

#[tokio::test]
#[ignore = "needs PostgreSQL and MariaDB with TLS: scripts/test runs it"]
async fn postgres_a_request_runs_over_a_verified_connection() {
    let Some(server) = server(Engine::Postgres) else { return };
    let cas = cas();
    let db = Scratch(scratch::create(&server).expect("scratch database"));
    let url = with(&db.0, &format!("sslmode=verify-full&sslrootcert={}", cas.ca));
    let app = TestApp::serve(Database::open(&url).expect("opens over TLS")).await;
    assert!(demo::load(&app.db).await.expect("demo loads"));
    assert_eq!(app.update(&[("user_id", "123"), ("u15", "1")]).await, updated());
    assert_eq!(app.col(123, "blocked").await, "1");
    // Every connection of the pool to that database is encrypted.
    let name = db.0.rsplit('/').next().and_then(|n| n.split('?').next()).unwrap_or_default().to_string();
    let check = with(&server, "sslmode=disable");
    let rows = tokio::task::spawn_blocking(move || {
        postgres::connect(&check).and_then(|mut c| {
            c.query_strings(&format!(
                "SELECT count(*), count(*) FILTER (WHERE s.ssl) FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) \
                 WHERE a.datname = '{name}'"
            ))
        })
    })
    .await
    .expect("join")
    .expect("pg_stat_ssl");
    let (all, ssl) = (rows[0][0].clone().unwrap_or_default(), rows[0][1].clone().unwrap_or_default());
    assert!(all.parse::<u32>().unwrap_or_default() >= 1, "the pool holds a connection: {rows:?}");
    assert_eq!(all, ssl, "every pooled connection is encrypted");
}

// ---- MariaDB ---------------------------------------------------------------------------------

#[test]
#[ignore = "needs PostgreSQL and MariaDB with TLS: scripts/test runs it"]
fn mysql_required_and_preferred_encrypt_disabled_and_no_ssl_mode_do_not() {
    let Some(server) = server(Engine::Mysql) else { return };
    cas();
    let my = |params: &str| encrypted(Engine::Mysql, &with(&server, params));
    assert_eq!(my("ssl-mode=REQUIRED"), Ok(true));
    assert_eq!(my("ssl-mode=preferred"), Ok(true), "the server offers TLS");
    assert_eq!(my("ssl_mode=DISABLED"), Ok(false));
    assert_eq!(encrypted(Engine::Mysql, &server), Ok(false), "no ssl-mode: plain, as before");
}

#[test]
#[ignore = "needs PostgreSQL and MariaDB with TLS: scripts/test runs it"]
fn mysql_verify_identity_checks_the_chain_and_the_host_name() {
    let Some(server) = server(Engine::Mysql) else { return };
    let cas = cas();
    let full = format!("ssl-mode=VERIFY_IDENTITY&ssl-ca={}", cas.ca);
    assert_eq!(encrypted(Engine::Mysql, &with(&server, &full)), Ok(true));
    let elsewhere = at(&server, &relay(&host_port(&server), Hide::Nothing));
    let e = encrypted(Engine::Mysql, &with(&elsewhere, &full)).expect_err("a name the certificate does not cover");
    assert!(e.contains("TLS to MariaDB/MySQL failed (ssl-mode=VERIFY_IDENTITY, ssl-ca="), "{e}");
    assert!(e.contains("not valid for name \"127.0.0.2\""), "{e}");
    let ca = format!("ssl-mode=VERIFY_CA&ssl-ca={}", cas.ca);
    assert_eq!(encrypted(Engine::Mysql, &with(&elsewhere, &ca)), Ok(true), "VERIFY_CA checks the chain only");
}

#[test]
#[ignore = "needs PostgreSQL and MariaDB with TLS: scripts/test runs it"]
fn mysql_a_certificate_of_another_ca_is_refused() {
    let Some(server) = server(Engine::Mysql) else { return };
    let cas = cas();
    for mode in ["VERIFY_CA", "VERIFY_IDENTITY", "REQUIRED"] {
        let url = with(&server, &format!("ssl-mode={mode}&ssl-ca={}", cas.other));
        let e = encrypted(Engine::Mysql, &url).expect_err("another CA");
        assert!(e.contains("TLS to MariaDB/MySQL failed") && e.contains("UnknownIssuer"), "{mode}: {e}");
    }
    let started = std::time::Instant::now();
    let e = Database::open(&with(&server, &format!("ssl-mode=VERIFY_IDENTITY&ssl-ca={}", cas.other)));
    assert!(matches!(&e, Err(StoreError::Config(m)) if m.contains("UnknownIssuer")), "{:?}", e.err());
    assert!(started.elapsed() < std::time::Duration::from_secs(3), "{:?}", started.elapsed());
}

#[test]
#[ignore = "needs PostgreSQL and MariaDB with TLS: scripts/test runs it"]
fn mysql_preferred_falls_back_to_plain_and_required_refuses_a_server_without_tls() {
    let Some(server) = server(Engine::Mysql) else { return };
    cas();
    let plain = at(&server, &relay(&host_port(&server), Hide::MysqlTls));
    assert_eq!(encrypted(Engine::Mysql, &with(&plain, "ssl-mode=PREFERRED")), Ok(false));
    let e = encrypted(Engine::Mysql, &with(&plain, "ssl-mode=REQUIRED")).expect_err("no TLS offered");
    assert_eq!(
        e,
        "the MariaDB/MySQL server does not offer TLS, which ssl-mode=REQUIRED requires (ssl-mode=PREFERRED would fall back to plain text)"
    );
}

/// A MariaDB account that the server lets in over TLS only, dropped at the end.
struct TlsOnlyUser {
    admin: String,
    name: String,
}

impl Drop for TlsOnlyUser {
    fn drop(&mut self) {
        if let Ok(mut c) = mysql::connect(&self.admin) {
            let _ = c.query_strings(&format!("DROP USER IF EXISTS '{}'@'127.0.0.1'", self.name));
        }
    }
}

#[tokio::test]
#[ignore = "needs PostgreSQL and MariaDB with TLS: scripts/test runs it"]
async fn mysql_a_request_runs_over_a_verified_connection() {
    let Some(server) = server(Engine::Mysql) else { return };
    let cas = cas();
    let db = Scratch(scratch::create(&server).expect("scratch database"));
    let database = db.0.rsplit('/').next().and_then(|n| n.split('?').next()).unwrap_or_default().to_string();
    // An account the server admits over TLS only: that the request succeeds proves the pool's
    // connections are encrypted.
    let user = TlsOnlyUser { admin: server.clone(), name: format!("morapi_tls_{:08x}", rand::random::<u32>()) };
    let mut admin = mysql::connect(&server).expect("admin connection");
    for sql in [
        format!("CREATE USER '{}'@'127.0.0.1' REQUIRE SSL", user.name),
        format!("GRANT ALL ON `{database}`.* TO '{}'@'127.0.0.1'", user.name),
    ] {
        admin.query_strings(&sql).expect("account");
    }
    let base = format!("mysql://{}@{}/{database}", user.name, host_port(&server));
    let refused = mysql::connect(&with(&base, "ssl-mode=DISABLED")).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(refused.contains("Access denied"), "the account is TLS-only: {refused}");
    let url = with(&base, &format!("ssl-mode=VERIFY_IDENTITY&ssl-ca={}", cas.ca));
    let app = TestApp::serve(Database::open(&url).expect("opens over TLS")).await;
    assert!(demo::load(&app.db).await.expect("demo loads"));
    assert_eq!(app.update(&[("user_id", "123"), ("u15", "1")]).await, updated());
    assert_eq!(app.col(123, "blocked").await, "1");
    drop(app);
}
