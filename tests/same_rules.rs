//! The administration CLI and the API decide a user's values with the same rules: each case
//! sends one value through `morapi user add` and through `user_details_update` and expects the
//! same verdict (and, for a refusal, the same message). These replay two divergences a review
//! found, where the CLI accepted what the API refused and the other way round.

mod common;
use common::*;
use std::process::Command;

/// Runs `morapi user add` on the test's database; its success and what it printed.
fn cli_add(app: &TestApp, username: &str, extra: &[&str]) -> (bool, String) {
    let out = Command::new(BIN)
        .args(["user", "add", "--username", username])
        .args(extra)
        .env("MORAPI_DATABASE", &app.url)
        .output()
        .expect("runs morapi");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

/// An e-mail list holding an address another user has is refused by both, naming that address.
#[tokio::test]
async fn an_email_list_with_a_taken_address_is_refused_by_both() {
    let app = TestApp::spawn().await;
    let list = "john@example.com;new@x.lt";
    let api = app.update(&[("user_id", "789"), ("a8", list)]).await;
    assert_eq!(api, page_error("User was not updated", &["Email john@example.com is already used"]));
    let (ok, cli) = cli_add(&app, "newbie", &["--email", list]);
    assert!(!ok, "the CLI accepted {list}: {cli}");
    assert!(cli.contains("Email john@example.com is already used"), "{cli}");
}

/// A list ending in `;` (an empty last entry) is accepted by both.
#[tokio::test]
async fn an_email_list_ending_in_a_semicolon_is_accepted_by_both() {
    let app = TestApp::spawn().await;
    // Shared addresses allowed, so that the second writer of the same value is not refused for
    // uniqueness: this case is about the list's form.
    app.set_setting(0, "allow_identical_email_addresses_to_different_users", "1").await;
    let list = "solo@x.lt;";
    assert_eq!(app.update(&[("user_id", "789"), ("a8", list)]).await, updated());
    let (ok, cli) = cli_add(&app, "solo", &["--email", list]);
    assert!(ok, "the CLI refused {list}: {cli}");
}

/// An invalid address is refused by both with MOR's message.
#[tokio::test]
async fn an_invalid_email_is_refused_by_both() {
    let app = TestApp::spawn().await;
    let api = app.update(&[("user_id", "789"), ("a8", "nope")]).await;
    assert_eq!(api, page_error("User was not updated", &["Please enter correct email"]));
    let (ok, cli) = cli_add(&app, "newbie", &["--email", "nope"]);
    assert!(!ok && cli.contains("Please enter correct email"), "{cli}");
}

/// The configured minimum username length binds the CLI as it binds the API.
#[tokio::test]
async fn the_minimum_username_length_binds_both() {
    let app = TestApp::spawn().await;
    app.set_setting(0, "default_user_username_length", "5").await;
    let api = app.update(&[("user_id", "123"), ("u9", "ab")]).await;
    assert_eq!(api, page_error("User was not updated", &["Username must be longer than 4 characters"]));
    let (ok, cli) = cli_add(&app, "ab", &[]);
    assert!(!ok, "the CLI accepted a 2-character username: {cli}");
    assert!(cli.contains("Username must be longer than 4 characters"), "{cli}");
    // And a name of the minimum length passes both.
    assert_eq!(app.update(&[("user_id", "123"), ("u9", "abcde")]).await, updated());
    let (ok, cli) = cli_add(&app, "fghij", &[]);
    assert!(ok, "{cli}");
}

/// A taken username, and one longer than the catalogue's limit, are refused by both.
#[tokio::test]
async fn taken_and_overlong_usernames_are_refused_by_both() {
    let app = TestApp::spawn().await;
    let api = app.update(&[("user_id", "789"), ("u9", "john")]).await;
    assert_eq!(api, page_error("User was not updated", &["Username has already been taken"]));
    let (ok, cli) = cli_add(&app, "john", &[]);
    assert!(!ok && cli.contains("Username has already been taken"), "{cli}");
    // The admin's name too (id 0 is no exception for a new user).
    let (ok, cli) = cli_add(&app, "admin", &[]);
    assert!(!ok && cli.contains("Username has already been taken"), "{cli}");
    let long = "x".repeat(31);
    let api = app.update(&[("user_id", "789"), ("u9", &long)]).await;
    assert_eq!(api, page_error("User was not updated", &["u9 (username) is too long (maximum 30 characters)"]));
    let (ok, cli) = cli_add(&app, &long, &[]);
    assert!(!ok && cli.contains("u9 (username) is too long (maximum 30 characters)"), "{cli}");
}

/// An e-mail list longer than a text column is refused by both, with the limit.
#[tokio::test]
async fn an_overlong_email_list_is_refused_by_both() {
    let app = TestApp::spawn().await;
    let list = (0..36).map(|i| format!("a{i:02}@b.lt")).collect::<Vec<_>>().join(";");
    let message = "a8 (e-mail) is too long (maximum 255 characters)";
    assert_eq!(app.update(&[("user_id", "789"), ("a8", &list)]).await, page_error("User was not updated", &[message]));
    let (ok, cli) = cli_add(&app, "newbie", &["--email", &list]);
    assert!(!ok && cli.contains(message), "{cli}");
}
