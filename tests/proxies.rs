//! The client address behind reverse proxies, end to end: the real server (on 127.0.0.1, so the
//! test is the TCP peer) with and without `127.0.0.1/32` trusted, forged forwarding headers, and
//! the `client_addr` the audit trail records for a change. The header parsing itself is unit
//! tested in `src/http/client.rs`.

mod common;

use common::{ADMIN_KEY, BIN, TestApp, UPDATE, form, sign_pairs, updated};
use morapi::http::client::TrustedProxies;
use morapi::server::{Options, serve_with};
use tokio::sync::oneshot;

/// Serves `app`'s database on a port of its own, trusting `proxies`; dropping the sender stops it.
async fn serve_trusting(app: &TestApp, proxies: &str) -> (String, oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let (tx, rx) = oneshot::channel::<()>();
    let options = Options { trusted_proxies: TrustedProxies::parse(proxies).expect("proxies"), ..Options::default() };
    tokio::spawn(serve_with(listener, app.db.clone(), options, async {
        let _ = rx.await;
    }));
    (base, tx)
}

/// A signed change of user 123's city to `city` with `headers`; the `client_addr` of its audit
/// row.
async fn change_with(app: &TestApp, base: &str, city: &str, headers: &[(&str, &str)]) -> String {
    let pairs = [("user_id", "123"), ("a1", city)];
    let hash = sign_pairs(&pairs, ADMIN_KEY);
    let mut request = app
        .client
        .post(format!("{base}{UPDATE}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[("u", "admin"), ("user_id", "123"), ("a1", city), ("hash", &hash)]));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let resp = request.send().await.expect("request");
    let request_id = resp.headers()["x-request-id"].to_str().expect("request id").to_string();
    assert_eq!(resp.text().await.expect("body"), updated(), "{headers:?}");
    let changes = app.changes().await;
    let row = changes.iter().find(|e| e.request_id == request_id).expect("the change's audit row");
    assert_eq!(row.new_value.as_deref(), Some(city));
    row.client_addr.clone()
}

/// Each case: the headers a client sends, and the address recorded when 127.0.0.1 is trusted.
const CASES: &[(&[(&str, &str)], &str)] = &[
    (&[], "127.0.0.1"),
    (&[("x-forwarded-for", "203.0.113.7")], "203.0.113.7"),
    // The client forged the left part; the (trusted) peer appended the real address.
    (&[("x-forwarded-for", "6.6.6.6, 203.0.113.7")], "203.0.113.7"),
    (&[("x-forwarded-for", "6.6.6.6"), ("x-forwarded-for", "203.0.113.8, 127.0.0.1")], "203.0.113.8"),
    (&[("forwarded", "for=\"[2001:db8::7]:4711\";proto=https")], "2001:db8::7"),
    (&[("forwarded", "for=6.6.6.6, for=192.0.2.60"), ("x-forwarded-for", "198.51.100.1")], "192.0.2.60"),
    (&[("x-real-ip", "198.51.100.9")], "198.51.100.9"),
    (&[("forwarded", "for=_hidden")], "127.0.0.1"),
    (&[("forwarded", "for=\"unterminated")], "127.0.0.1"),
    (&[("x-forwarded-for", "not-an-address")], "127.0.0.1"),
];

#[tokio::test]
async fn a_trusted_proxys_headers_name_the_client_in_the_audit_trail() {
    let app = TestApp::spawn().await;
    let (base, _stop) = serve_trusting(&app, "127.0.0.1/32").await;
    for (i, (headers, want)) in CASES.iter().enumerate() {
        let got = change_with(&app, &base, &format!("Trusted {i}"), headers).await;
        assert_eq!(got, *want, "{headers:?}");
    }
}

#[tokio::test]
async fn an_untrusted_peers_headers_are_ignored() {
    let app = TestApp::spawn().await;
    // Nothing trusted (the default), and a list that does not hold 127.0.0.1.
    for (proxies, tag) in [("", "none"), ("10.0.0.0/8, ::1", "other")] {
        let (base, _stop) = serve_trusting(&app, proxies).await;
        for (i, (headers, _)) in CASES.iter().enumerate() {
            let got = change_with(&app, &base, &format!("Untrusted {tag} {i}"), headers).await;
            assert_eq!(got, "127.0.0.1", "{proxies}: {headers:?}");
        }
    }
    // The harness's own server (morapi::server::serve) trusts nobody either.
    let got = change_with(&app, &app.base, "Harness", &[("x-forwarded-for", "203.0.113.7")]).await;
    assert_eq!(got, "127.0.0.1");
}

#[test]
fn an_invalid_trusted_proxies_list_stops_the_server_with_a_clear_error() {
    let dir = tempfile::tempdir().expect("dir");
    let db = format!("sqlite://{}", dir.path().join("serve.db").display());
    let run = |args: &[&str], env: &[(&str, &str)]| {
        std::process::Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--database", &db])
            .args(args)
            .env_remove("MORAPI_DATABASE")
            .env_remove("MORAPI_TRUSTED_PROXIES")
            .envs(env.iter().copied())
            .output()
            .expect("run")
    };
    for (args, env) in [
        (&["--trusted-proxies", "10.0.0.0/8,bogus"][..], &[][..]),
        (&[][..], &[("MORAPI_TRUSTED_PROXIES", "10.0.0.0/33")][..]),
    ] {
        let out = run(args, env);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains("--trusted-proxies") && err.contains("not an IP address or CIDR"), "{err}");
        assert!(!err.contains("panicked") && !String::from_utf8_lossy(&out.stdout).contains("listening"), "{err}");
    }
}
