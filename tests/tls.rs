//! TLS on the listener: the real server over HTTPS with self-signed certificates made here, the
//! certificate reloaded under open connections, plain HTTP to the TLS port, unusable files, and
//! `morapi serve --tls-cert/--tls-key` as a process (its listening line, SIGHUP, flag errors).

mod common;

use common::{BIN, TestApp, UPDATE, form, sign_pairs, updated};
use morapi::server::{Options, serve_with};
use morapi::tls::Tls;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::oneshot;

/// A self-signed certificate for localhost and 127.0.0.1, written as PEM to `cert.pem` and
/// `key.pem` in a directory (a second one overwrites the first, as a renewal does).
struct Cert {
    cert: PathBuf,
    key: PathBuf,
    pem: String,
    der: Vec<u8>,
}

fn write_cert(dir: &Path) -> Cert {
    let rcgen::CertifiedKey { cert, signing_key } =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string(), "127.0.0.1".to_string()]).expect("cert");
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    // Written aside and renamed into place, as certificate tools do, so a reload never reads
    // half a file.
    for (path, text) in [(&cert_path, cert.pem()), (&key_path, signing_key.serialize_pem())] {
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, text).expect("write");
        std::fs::rename(&tmp, path).expect("rename");
    }
    Cert { cert: cert_path, key: key_path, pem: cert.pem(), der: cert.der().to_vec() }
}

/// A client that trusts only `cert`, and reports the certificate each connection was shown.
fn client_trusting(cert: &Cert) -> reqwest::Client {
    reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(cert.pem.as_bytes()).expect("pem"))
        .tls_info(true)
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

/// The certificate the server presented on the connection that carried `resp`.
fn presented(resp: &reqwest::Response) -> Vec<u8> {
    resp.extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|info| info.peer_certificate())
        .expect("TLS info with the peer certificate")
        .to_vec()
}

/// Serves `app`'s database over TLS on a port of its own; dropping the sender stops it.
async fn serve_tls(app: &TestApp, tls: Tls) -> (String, oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (tx, rx) = oneshot::channel::<()>();
    let options = Options { tls: Some(tls), ..Options::default() };
    tokio::spawn(serve_with(listener, app.db.clone(), options, async {
        let _ = rx.await;
    }));
    (format!("https://127.0.0.1:{port}"), tx)
}

#[tokio::test]
async fn https_serves_the_api_over_http1_with_the_peer_address() {
    let app = TestApp::spawn().await;
    let dir = tempfile::tempdir().expect("dir");
    let cert = write_cert(dir.path());
    let (base, _stop) = serve_tls(&app, Tls::load(&cert.cert, &cert.key).expect("tls")).await;
    let client = client_trusting(&cert);

    let resp = client.get(format!("{base}/health")).send().await.expect("https request");
    assert_eq!(resp.version(), reqwest::Version::HTTP_11);
    assert_eq!(presented(&resp), cert.der);
    assert_eq!(resp.text().await.expect("body"), "ok\n");

    // A signed change over HTTPS: the audit row has the TCP peer (ConnectInfo reaches the
    // handler through the TLS listener).
    let pairs = [("user_id", "123"), ("a1", "Kaunas")];
    let hash = sign_pairs(&pairs, common::ADMIN_KEY);
    let resp = client
        .post(format!("{base}{UPDATE}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[("u", "admin"), ("user_id", "123"), ("a1", "Kaunas"), ("hash", &hash)]))
        .send()
        .await
        .expect("update");
    let request_id = resp.headers()["x-request-id"].to_str().expect("id").to_string();
    assert_eq!(resp.text().await.expect("body"), updated());
    let changes = app.changes().await;
    let row = changes.iter().find(|e| e.request_id == request_id).expect("the change's audit row");
    assert_eq!((row.field.as_str(), row.client_addr.as_str()), ("addresses.city", "127.0.0.1"));
}

#[tokio::test]
async fn a_reload_serves_new_handshakes_the_new_certificate_and_keeps_open_connections() {
    let app = TestApp::spawn().await;
    let dir = tempfile::tempdir().expect("dir");
    let first = write_cert(dir.path());
    let tls = Tls::load(&first.cert, &first.key).expect("tls");
    let (base, _stop) = serve_tls(&app, tls.clone()).await;
    let health = format!("{base}/health");

    // A keep-alive connection made before the reload.
    let kept = client_trusting(&first);
    let resp = kept.get(&health).send().await.expect("first request");
    assert_eq!(presented(&resp), first.der);
    assert_eq!(resp.text().await.expect("body"), "ok\n");

    let second = write_cert(dir.path());
    assert_ne!(first.der, second.der);
    tls.reload().expect("reload");

    // New handshakes see the new certificate: a client that trusts only the old one fails.
    let resp = client_trusting(&second).get(&health).send().await.expect("request after reload");
    assert_eq!(presented(&resp), second.der);
    let refused = client_trusting(&first).get(&health).send().await;
    assert!(refused.is_err(), "a new handshake still offered the old certificate: {refused:?}");

    // The open connection goes on in its session: the same client, which trusts only the old
    // certificate, still gets answers (a new handshake would have failed just above).
    let resp = kept.get(&health).send().await.expect("request on the kept connection");
    assert_eq!(presented(&resp), first.der);
    assert_eq!(resp.text().await.expect("body"), "ok\n");

    // A reload that fails names the file and keeps the certificate in use.
    std::fs::write(&second.key, "not a key\n").expect("write");
    let error = tls.reload().expect_err("garbage key").to_string();
    assert!(error.contains(&second.key.display().to_string()), "{error}");
    let resp = client_trusting(&second).get(&health).send().await.expect("request after a failed reload");
    assert_eq!(presented(&resp), second.der);
}

#[tokio::test]
async fn plain_http_and_silent_clients_on_the_tls_port() {
    let app = TestApp::spawn().await;
    let dir = tempfile::tempdir().expect("dir");
    let cert = write_cert(dir.path());
    let (base, _stop) = serve_tls(&app, Tls::load(&cert.cert, &cert.key).expect("tls")).await;
    let addr = base.trim_start_matches("https://").to_string();

    // A client that connects and says nothing holds up nobody.
    let _silent = tokio::net::TcpStream::connect(&addr).await.expect("connect");

    // Plain HTTP gets a short, clear refusal instead of a hang or a reset.
    let resp = reqwest::Client::new().get(format!("http://{addr}/health")).send().await.expect("an answer");
    assert_eq!(resp.status().as_u16(), 400);
    assert!(resp.text().await.expect("body").contains("HTTPS"));

    // Bytes that are neither TLS nor HTTP: at most a TLS alert (7 bytes), and the connection
    // is closed.
    let mut junk = tokio::net::TcpStream::connect(&addr).await.expect("connect");
    junk.write_all(&[0u8; 64]).await.expect("write");
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), junk.read_to_end(&mut buf)).await.expect("closed promptly");
    assert!(matches!(read, Ok(n) if n <= 7) || read.is_err(), "{read:?}");

    let resp = client_trusting(&cert).get(format!("{base}/health")).send().await.expect("https still served");
    assert_eq!(resp.text().await.expect("body"), "ok\n");
}

#[tokio::test]
async fn graceful_shutdown_stops_the_tls_server_with_connections_open() {
    let app = TestApp::spawn().await;
    let dir = tempfile::tempdir().expect("dir");
    let cert = write_cert(dir.path());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = oneshot::channel::<()>();
    let options = Options { tls: Some(Tls::load(&cert.cert, &cert.key).expect("tls")), ..Options::default() };
    let server = tokio::spawn(serve_with(listener, app.db.clone(), options, async {
        let _ = rx.await;
    }));
    // An idle keep-alive connection, and one whose handshake never starts.
    let client = client_trusting(&cert);
    let resp = client.get(format!("https://{addr}/health")).send().await.expect("https");
    assert_eq!(resp.text().await.expect("body"), "ok\n");
    let _silent = tokio::net::TcpStream::connect(addr).await.expect("connect");

    tx.send(()).expect("signal");
    let stopped = tokio::time::timeout(Duration::from_secs(5), server).await.expect("stopped promptly");
    assert!(stopped.expect("joined").is_ok());
    assert!(tokio::net::TcpStream::connect(addr).await.is_err(), "still accepting after shutdown");
}

#[test]
fn unusable_files_are_refused_naming_the_file() {
    let dir = tempfile::tempdir().expect("dir");
    let cert = write_cert(dir.path());
    let other_dir = dir.path().join("other");
    std::fs::create_dir(&other_dir).expect("dir");
    let other = write_cert(&other_dir);
    let missing = dir.path().join("missing.pem");
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n").expect("write");
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "").expect("write");
    let error = |c: &Path, k: &Path| Tls::load(c, k).expect_err("refused").to_string();

    let e = error(&cert.cert, &missing);
    assert!(e.contains("cannot read the TLS key file") && e.contains(&missing.display().to_string()), "{e}");
    let e = error(&missing, &cert.key);
    assert!(e.contains("cannot read the TLS certificate file") && e.contains(&missing.display().to_string()), "{e}");
    let e = error(&garbage, &cert.key);
    assert!(e.contains("not valid PEM") && e.contains(&garbage.display().to_string()), "{e}");
    let e = error(&empty, &cert.key);
    assert!(e.contains("holds no certificate") && e.contains(&empty.display().to_string()), "{e}");
    // Swapped: each file holds the other kind.
    let e = error(&cert.key, &cert.cert);
    assert!(e.contains("holds no certificate") && e.contains(&cert.key.display().to_string()), "{e}");
    let e = error(&cert.cert, &cert.cert);
    assert!(e.contains("holds no private key") && e.contains(&cert.cert.display().to_string()), "{e}");
    // A key that belongs to another certificate.
    let e = error(&cert.cert, &other.key);
    assert!(e.contains("cannot be used with the certificate"), "{e}");
    assert!(Tls::load(&other.cert, &other.key).is_ok());
}

/// `morapi serve` with `args`, its stderr in a file. Returns the child, its base URL (read from
/// the listening line), the stdout lines up to it, and the stderr file.
#[allow(clippy::zombie_processes)]
fn start(dir: &Path, args: &[&str]) -> (Child, String, Vec<String>, PathBuf) {
    let db = format!("sqlite://{}", dir.join("serve.db").display());
    let stderr = dir.join("stderr.log");
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--database", &db, "--demo"])
        .args(args)
        .env_remove("MORAPI_DATABASE")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&stderr).expect("stderr file"))
        .spawn()
        .expect("spawn");
    let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).expect("read") == 0 {
            let status = child.wait();
            panic!(
                "server exited early ({status:?}): {lines:?} {}",
                std::fs::read_to_string(&stderr).unwrap_or_default()
            );
        }
        lines.push(line.trim().to_string());
        if let Some(rest) = line.split("listening on ").nth(1) {
            let base = rest.split(',').next().expect("address").trim().to_string();
            std::thread::spawn(move || for _ in reader.lines() {});
            return (child, base, lines, stderr);
        }
    }
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill").args([&format!("-{name}"), &child.id().to_string()]).status().expect("kill");
    assert!(status.success());
}

#[tokio::test]
async fn serve_with_tls_flags_says_https_and_reloads_on_sighup() {
    let dir = tempfile::tempdir().expect("dir");
    let first = write_cert(dir.path());
    let (cert, key) = (first.cert.display().to_string(), first.key.display().to_string());
    let (mut child, base, lines, stderr) = start(dir.path(), &["--tls-cert", &cert, "--tls-key", &key]);
    assert!(base.starts_with("https://127.0.0.1:"), "{lines:?}");
    let health = format!("{base}/health");
    let resp = client_trusting(&first).get(&health).send().await.expect("https");
    assert_eq!(resp.text().await.expect("body"), "ok\n");

    let second = write_cert(dir.path());
    signal(&child, "HUP");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match client_trusting(&second).get(&health).send().await {
            Ok(resp) => {
                assert_eq!(presented(&resp), second.der);
                break;
            }
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("the new certificate was never served after SIGHUP: {e}"),
        }
    }

    // A failed reload leaves the server running on the certificate it has.
    std::fs::write(&second.cert, "garbage").expect("write");
    signal(&child, "HUP");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !std::fs::read_to_string(&stderr).unwrap_or_default().contains("not reloaded") {
        assert!(Instant::now() < deadline, "no error logged for the failed reload");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let resp = client_trusting(&second).get(&health).send().await.expect("still serving");
    assert_eq!(presented(&resp), second.der);

    signal(&child, "TERM");
    assert!(child.wait().expect("wait").success());
    let log = std::fs::read_to_string(&stderr).expect("stderr");
    assert!(log.contains("TLS certificate reloaded"), "{log}");
    assert!(log.contains(&second.cert.display().to_string()), "{log}");
    assert!(!log.contains("panicked"), "{log}");
}

#[test]
fn without_tls_the_server_says_a_tls_proxy_belongs_in_front() {
    let dir = tempfile::tempdir().expect("dir");
    let (mut child, base, _, stderr) = start(dir.path(), &[]);
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    signal(&child, "TERM");
    assert!(child.wait().expect("wait").success());
    let log = std::fs::read_to_string(&stderr).expect("stderr");
    assert!(log.contains("WARN") && log.contains("TLS-terminating proxy"), "{log}");
}

/// `morapi serve` that must not start: its exit code and stderr.
fn refused(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().expect("dir");
    let db = format!("sqlite://{}", dir.path().join("serve.db").display());
    let out = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--database", &db])
        .args(args)
        .env_remove("MORAPI_DATABASE")
        .env_remove("MORAPI_TLS_CERT")
        .env_remove("MORAPI_TLS_KEY")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains("listening"), "it served: {stdout}");
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn tls_flags_come_in_pairs_and_name_unusable_files() {
    let dir = tempfile::tempdir().expect("dir");
    let cert = write_cert(dir.path());
    let (c, k) = (cert.cert.display().to_string(), cert.key.display().to_string());

    let (code, err) = refused(&["--tls-cert", &c], &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--tls-key"), "{err}");
    let (code, err) = refused(&["--tls-key", &k], &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--tls-cert"), "{err}");
    let (code, err) = refused(&[], &[("MORAPI_TLS_CERT", &c)]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--tls-key"), "{err}");

    let missing = dir.path().join("nope.key").display().to_string();
    let (code, err) = refused(&["--tls-cert", &c, "--tls-key", &missing], &[]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("cannot read the TLS key file") && err.contains(&missing), "{err}");
    let (code, err) = refused(&[], &[("MORAPI_TLS_CERT", &k), ("MORAPI_TLS_KEY", &k)]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("holds no certificate") && err.contains(&k), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// A TLS handshake in progress holds one of the `--max-connections` slots: with a cap of one, a
/// client that connects and sends nothing keeps the next one waiting until it goes away (or the
/// handshake's own time limit passes).
#[tokio::test]
async fn pending_handshakes_count_against_the_connection_cap() {
    let app = TestApp::spawn().await;
    let dir = tempfile::tempdir().expect("dir");
    let cert = write_cert(dir.path());
    let tls = Tls::load(&cert.cert, &cert.key).expect("load");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let limits = morapi::server::Limits { max_connections: 1, ..morapi::server::Limits::DEFAULT };
    let options = Options { tls: Some(tls), limits, ..Options::default() };
    let (_stop, rx) = oneshot::channel::<()>();
    tokio::spawn(serve_with(listener, app.db.clone(), options, async {
        let _ = rx.await;
    }));
    let silent = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.expect("connect");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let client = client_trusting(&cert);
    let url = format!("https://127.0.0.1:{port}/health");
    let waiting = tokio::time::timeout(Duration::from_secs(2), client.get(&url).send()).await;
    assert!(waiting.is_err(), "answered while a pending handshake held the only slot");
    drop(silent);
    let answer = client.get(&url).send().await.expect("answered once the slot is free");
    assert_eq!(answer.status(), 200);
}
