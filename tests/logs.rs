//! No SQL parameter values in the log, at any level: `morapi serve` with `RUST_LOG=trace` (the
//! driver named too) on PostgreSQL, whose driver logs every statement's parameters at debug
//! unless capped; a password and e-mail change through the API; its stderr searched for the
//! secrets. Runs only when `MORAPI_TEST_DATABASE` names a PostgreSQL server (`scripts/test` does);
//! elsewhere it says so and passes.

mod common;

use common::{ADMIN_KEY, UPDATE, post_signed, sign_pairs, start_server_logging, stop_server, updated};
use morapi::storage::{Database, Table, Tx};

#[tokio::test]
async fn trace_logging_on_postgres_shows_no_parameter_values() {
    let server = std::env::var("MORAPI_TEST_DATABASE").unwrap_or_default();
    if !server.starts_with("postgres") {
        eprintln!("skipped: MORAPI_TEST_DATABASE does not name a PostgreSQL server");
        return;
    }
    let url = morapi::storage::scratch::create(&server).expect("scratch database");
    let dir = tempfile::tempdir().expect("dir");
    let stderr = dir.path().join("stderr.log");
    // Naming the driver's targets does not lift the cap either.
    let (child, base) =
        start_server_logging(&url, true, "trace,tokio_postgres=trace,tokio_postgres::query=trace", &stderr);

    let (password, email) = ("Log-Secret-Passw0rd-7", "log.secret@example.com");
    let pairs = [("user_id", "123"), ("pswd", password), ("a8", email)];
    let hash = sign_pairs(&pairs, ADMIN_KEY);
    let answer = post_signed(&reqwest::Client::new(), &base, UPDATE, ("admin", ADMIN_KEY), &pairs).await;
    assert!(stop_server(child).success());
    assert_eq!(answer, updated());

    // What the database now holds for them: the password's stored hash among the secrets.
    let db = Database::open(&url).expect("open");
    let user = db.administer(|repo| Ok(Tx::Rollback(repo.row(Table::Users, 123)?))).await.expect("read");
    let stored_password = morapi::storage::text(&user.expect("user 123"), "password");
    drop(db);
    let _ = morapi::storage::scratch::drop(&url);

    let log = std::fs::read_to_string(&stderr).expect("stderr");
    // The level took effect (morapi's own spans and events are there) ...
    assert!(log.contains("TRACE") || log.contains("DEBUG"), "RUST_LOG=trace logged nothing below info:\n{log}");
    // ... and none of these values is anywhere in it.
    assert!(stored_password.len() > 20, "{stored_password}");
    // The API key is six digits, which a timestamp can hold too: it is looked for quoted, as SQL
    // text and as a logged parameter would show it.
    let quoted_key = [format!("'{ADMIN_KEY}'"), format!("\"{ADMIN_KEY}\"")];
    let tail = &stored_password[stored_password.len() - 20..];
    for secret in [password, email, stored_password.as_str(), tail, &hash, &quoted_key[0], &quoted_key[1]] {
        assert!(!log.contains(secret), "the log holds {secret:?}:\n{log}");
    }
}
