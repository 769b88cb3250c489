//! The administration commands of the real binary: `init`, `migrate`, `user`, `settings`,
//! `group grant` and every record kind. Each test gets its own database (SQLite, or a scratch
//! database on the server of `MORAPI_TEST_DATABASE`).

mod common;
use common::*;
use morapi::cli::records::{FieldType, KINDS};
use morapi::storage::{Table, Tx};
use std::io::Write;
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_morapi");

/// The test's database ([`TestDb`]) and the commands run against it.
struct Db(TestDb);

impl std::ops::Deref for Db {
    type Target = TestDb;
    fn deref(&self) -> &TestDb {
        &self.0
    }
}

impl Db {
    fn new() -> Db {
        Db(TestDb::new())
    }

    fn run(&self, args: &[&str]) -> Output {
        self.run_with_stdin(args, None)
    }

    fn run_with_stdin(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut child = Command::new(BIN)
            .args(args)
            .env("MORAPI_DATABASE", &self.url)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        if let Some(text) = stdin {
            child.stdin.take().expect("stdin").write_all(text.as_bytes()).expect("write stdin");
        }
        drop(child.stdin.take());
        child.wait_with_output().expect("wait")
    }

    /// Runs a command that must succeed; returns its stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(out.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs a command that must fail; returns its stderr.
    fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(!out.status.success(), "{args:?} should fail, printed {}", String::from_utf8_lossy(&out.stdout));
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    fn json(&self, args: &[&str]) -> serde_json::Value {
        serde_json::from_str(&self.ok(args)).expect("json output")
    }
}

fn key_from(init_output: &str) -> String {
    init_output
        .lines()
        .find_map(|l| l.strip_prefix("API secret key (shown once; store it now): "))
        .expect("key line")
        .to_string()
}

#[test]
fn init_creates_the_admin_and_a_strong_key_once() {
    let db = Db::new();
    let out = db.ok(&["init"]);
    let key = key_from(&out);
    assert_eq!(key.len(), 64);
    assert!(key.bytes().all(|b| b.is_ascii_hexdigit()));
    assert!(out.contains("admin: id 0, username admin"));
    assert!(out.contains("next steps"));
    let admin = db.json(&["user", "show", "admin", "--json"]);
    assert_eq!(admin["id"], 0);
    assert_eq!(admin["usertype"], "admin");
    assert!(admin.get("password").is_none(), "never shown");
    // The key is stored (and masked unless asked for).
    assert_eq!(db.ok(&["settings", "get", "api_secret_key"]), "***\n");
    assert_eq!(db.ok(&["settings", "get", "api_secret_key", "--show-secrets"]), format!("{key}\n"));
    assert_eq!(db.ok(&["settings", "get", "allow_api"]), "1\n");
    // A second init changes nothing.
    assert!(db.fails(&["init"]).contains("already has users"));
    assert_eq!(db.ok(&["settings", "get", "api_secret_key", "--show-secrets"]), format!("{key}\n"));
}

#[test]
fn migrate_reports_the_schema_version() {
    let db = Db::new();
    let current = format!("is at version {}", morapi::storage::schema::VERSION);
    assert!(db.ok(&["migrate"]).contains(&current));
    assert!(db.ok(&["migrate"]).contains(&current));
}

#[test]
fn users_are_added_validated_listed_shown_and_deleted() {
    let db = Db::new();
    db.ok(&["init"]);
    assert!(db.ok(&["user", "add", "--username", "res1", "--type", "reseller"]).contains("with id"));
    let res = db.json(&["user", "show", "res1", "--json"]);
    let res_id = res["id"].as_i64().expect("id").to_string();
    let cust = db.json(&[
        "user",
        "add",
        "--username",
        "cust1",
        "--owner",
        &res_id,
        "--first-name",
        "Carl",
        "--email",
        "carl@example.com",
        "--json",
    ]);
    assert_eq!(cust["owner_id"].as_i64().map(|i| i.to_string()), Some(res_id.clone()));
    assert_eq!(cust["first_name"], "Carl");
    let shown = db.json(&["user", "show", "cust1", "--json"]);
    assert_eq!(shown["address.email"], "carl@example.com");
    assert!(shown.get("taxes.tax1_name").is_some(), "a tax row is created");

    // Refusals change nothing.
    assert!(db.fails(&["user", "add", "--username", "cust1"]).contains("Username has already been taken"));
    assert!(db.fails(&["user", "add", "--username", "x", "--owner", "999"]).contains("no user 999"));
    assert!(
        db.fails(&["user", "add", "--username", "x", "--type", "reseller", "--owner", &res_id]).contains("--owner 0")
    );
    assert!(db.fails(&["user", "add", "--username", "x", "--email", "nope"]).contains("Please enter correct email"));
    assert!(db.fails(&["user", "add", "--username", "x", "--email", "carl@example.com"]).contains("already used"));
    assert!(db.fails(&["user", "add", "--username", "x", "--type", "manager"]).contains("invalid value"));
    assert!(db.fails(&["user", "add", "--username", "x", "--password-stdin"]).contains("Password"));
    let users = db.json(&["user", "list", "--json"]);
    assert_eq!(users.as_array().map(Vec::len), Some(3));

    // Listing filters.
    let of_reseller = db.json(&["user", "list", "--owner", &res_id, "--json"]);
    assert_eq!(of_reseller.as_array().map(Vec::len), Some(1));
    let resellers = db.json(&["user", "list", "--type", "reseller", "--json"]);
    assert_eq!(resellers[0]["username"], "res1");
    assert!(db.ok(&["user", "list"]).contains("cust1"));

    // A reseller who owns users cannot be deleted; without --yes and a terminal nothing is.
    assert!(db.fails(&["user", "delete", "res1", "--yes"]).contains("Unable to delete this reseller - he has users"));
    assert!(db.fails(&["user", "delete", "cust1"]).contains("not deleted"));
    assert!(db.ok(&["user", "delete", "cust1", "--yes"]).contains("deleted user"));
    assert!(db.fails(&["user", "show", "cust1"]).contains("no user cust1"));
    assert!(db.fails(&["user", "delete", "admin", "--yes"]).contains("Cannot delete sys.admin"));
}

#[test]
fn passwords_come_from_stdin_follow_the_rules_and_are_stored_hashed() {
    let db = Db::new();
    db.ok(&["init"]);
    let out = db.run_with_stdin(
        &["user", "add", "--username", "acc1", "--type", "accountant", "--password-stdin"],
        Some("Secret123x\n"),
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let weak = db.run_with_stdin(&["user", "passwd", "acc1", "--password-stdin"], Some("weak\n"));
    assert!(!weak.status.success());
    let err = String::from_utf8_lossy(&weak.stderr);
    assert!(err.contains("Password must contain at least one numeric value, capital and lowercase symbol"), "{err}");
    assert!(err.contains("Password must be longer than 7 characters"), "{err}");
    let good = db.run_with_stdin(&["user", "passwd", "acc1", "--password-stdin"], Some("Another456y\n"));
    assert!(good.status.success());
    // Stored as Argon2id, never in clear; checked through the storage API.
    let url = db.url.clone();
    let stored = std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().expect("rt");
        rt.block_on(async {
            let d = morapi::storage::Database::open(&url).expect("open");
            d.administer(|r| {
                Ok(Tx::Rollback(r.user_by_username("acc1")?.map(|u| morapi::storage::text(&u, "password"))))
            })
            .await
            .expect("read")
        })
    })
    .join()
    .expect("thread")
    .expect("user");
    assert!(stored.starts_with("$argon2id$"), "{stored}");
    assert!(morapi::password::verify("Another456y", &stored));
    // Without a terminal, asking for a password is refused rather than reading junk.
    assert!(db.fails(&["user", "passwd", "acc1"]).contains("--password-stdin"));
}

/// A valid `add` flag value for a field, given the ids that exist (`record`: an id of that table).
fn value_for(ty: FieldType, text: &str, reseller: &str, user: &str, record: &dyn Fn(Table) -> String) -> String {
    match ty {
        FieldType::Text => text.into(),
        FieldType::Int => "5".into(),
        FieldType::Decimal => "1.25".into(),
        FieldType::Enum(words) => words.last().copied().unwrap_or_default().into(),
        FieldType::Owner => reseller.into(),
        FieldType::User => user.into(),
        // Distinct for the two records a kind gets (unique columns).
        FieldType::Digits => (5000 + text.len()).to_string(),
        FieldType::Record(table) => record(table),
    }
}

/// The id of the first record of a table, listed by its kind's command (an earlier kind's).
fn first_record(db: &Db, table: Table) -> String {
    let kind = KINDS.iter().find(|k| k.table == table).expect("a kind of the table");
    db.json(&[kind.command, "list", "--json"])[0]["id"].to_string()
}

#[test]
fn every_record_kind_supports_add_list_show_set_and_delete() {
    let db = Db::new();
    db.ok(&["init"]);
    db.ok(&["user", "add", "--username", "res1", "--type", "reseller"]);
    let reseller = db.json(&["user", "show", "res1", "--json"])["id"].to_string();
    for kind in KINDS {
        let add = |text: &str| {
            let mut args: Vec<String> = vec![kind.command.into(), "add".into(), "--json".into()];
            for f in kind.fields {
                args.push(format!("--{}", f.column.replace('_', "-")));
                args.push(value_for(f.ty, text, &reseller, &reseller, &|t| first_record(&db, t)));
            }
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            db.json(&refs)
        };
        // The first record of a kind can be in use by default (users' currency 1): work on a
        // second one.
        add("Filler");
        let added = add("Thing");
        let id = added["id"].to_string();
        for f in kind.fields {
            let expected = value_for(f.ty, "Thing", &reseller, &reseller, &|t| first_record(&db, t));
            assert_eq!(added[f.column].to_string().trim_matches('"'), expected, "{} {}", kind.command, f.column);
        }
        let listed = db.json(&[kind.command, "list", "--json"]);
        assert!(listed.as_array().is_some_and(|l| l.iter().any(|r| r["id"] == added["id"])), "{}", kind.command);
        assert!(
            db.ok(&[kind.command, "show", &id]).contains("Thing")
                || kind.fields.iter().all(|f| f.ty != FieldType::Text)
        );
        // Required fields are required; bad values are refused.
        if kind.fields.iter().any(|f| f.required) {
            assert!(db.fails(&[kind.command, "add"]).contains("required"), "{}", kind.command);
        }
        let first_text = kind.fields.iter().find(|f| f.ty == FieldType::Text).map(|f| f.column.replace('_', "-"));
        if let Some(flag) = first_text {
            if kind.command == "currency" {
                let taken = db.fails(&[kind.command, "set", &id, &format!("--{flag}"), "Filler"]);
                assert!(taken.contains("already exists"), "{taken}");
            }
            assert!(db.ok(&[kind.command, "set", &id, &format!("--{flag}"), "Renamed"]).contains("changed"));
            let shown = db.json(&[kind.command, "show", &id, "--json"]);
            assert!(shown.to_string().contains("Renamed"), "{}", kind.command);
        }
        assert!(db.fails(&[kind.command, "set", &id]).contains("nothing to change"));
        assert!(db.fails(&[kind.command, "show", "999999"]).contains("there is no"));
        assert!(db.ok(&[kind.command, "delete", &id, "--yes"]).contains("deleted"), "{}", kind.command);
        assert!(db.fails(&[kind.command, "show", &id]).contains("there is no"));
    }
}

#[test]
fn records_in_use_are_not_deleted_and_owners_must_be_resellers() {
    let db = Db::new();
    db.ok(&["init"]);
    db.ok(&["user", "add", "--username", "plain"]);
    let plain = db.json(&["user", "show", "plain", "--json"])["id"].to_string();
    assert!(db.fails(&["tariff", "add", "--name", "T", "--owner-id", &plain]).contains("is not a reseller"));
    assert!(db.fails(&["tariff", "add", "--name", "T", "--purpose", "x"]).contains("must be one of"));
    assert!(db.fails(&["currency", "add", "--name", "EUR", "--exchange-rate", "abc"]).contains("must be a number"));
    let tariff = db.json(&["tariff", "add", "--name", "Retail", "--json"])["id"].to_string();
    assert!(db.ok(&["tariff", "list", "--owner", "0"]).contains("Retail"));
    assert_eq!(db.json(&["tariff", "list", "--owner", "5", "--json"]), serde_json::json!([]));
    // Give the user the tariff through the API path's storage, then try deleting it.
    let url = db.url.clone();
    let (t, p): (i64, i64) = (tariff.parse().expect("id"), plain.parse().expect("id"));
    std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().expect("rt");
        rt.block_on(async {
            let d = morapi::storage::Database::open(&url).expect("open");
            d.administer(move |r| {
                r.update_row(morapi::storage::Table::Users, p, &[("tariff_id", t.into())])?;
                Ok(Tx::Commit(()))
            })
            .await
            .expect("write")
        })
    })
    .join()
    .expect("thread");
    let err = db.fails(&["tariff", "delete", &tariff, "--yes"]);
    assert!(err.contains("still used by 1 users"), "{err}");
    assert!(db.ok(&["tariff", "show", &tariff]).contains("Retail"));
}

#[test]
fn group_rights_are_granted_and_shown() {
    let db = Db::new();
    db.ok(&["init"]);
    let group = db.json(&["group", "add", "--name", "Billing", "--json"])["id"].to_string();
    assert!(db.ok(&["group", "grant", &group, "user_manage", "2"]).contains("user_manage = 2"));
    assert!(db.ok(&["group", "grant", &group, "user_manage", "1"]).contains("user_manage = 1"));
    let shown = db.ok(&["group", "show", &group]);
    assert!(shown.lines().any(|l| l.trim() == "user_manage          1"), "{shown}");
    assert!(db.fails(&["group", "grant", &group, "pbx_functions", "2"]).contains("right of reseller groups"));
    assert!(db.fails(&["group", "grant", &group, "no_such_right", "2"]).contains("invalid value"));
    assert!(db.fails(&["group", "grant", "999", "user_manage", "2"]).contains("no group 999"));
    // An accountant in that group can use the API as the rights say.
    db.ok(&["user", "add", "--username", "acc1", "--type", "accountant", "--group", &group]);
    assert!(
        db.fails(&["user", "add", "--username", "acc2", "--type", "accountant", "--group", "999"]).contains("no group")
    );
}

#[test]
fn settings_are_validated_per_owner() {
    let db = Db::new();
    db.ok(&["init"]);
    db.ok(&["user", "add", "--username", "res1", "--type", "reseller"]);
    let res = db.json(&["user", "show", "res1", "--json"])["id"].to_string();
    let listed = db.json(&["settings", "list", "--json"]);
    // One row per setting and one per family (`default_user_<column>`, `default_tax_<column>`).
    let rows = morapi::settings::Setting::ALL.len() + morapi::settings::Family::ALL.len();
    assert_eq!(listed.as_array().map(Vec::len), Some(rows));
    assert!(db.fails(&["settings", "set", "nope", "1"]).contains("unknown setting"));
    assert!(db.fails(&["settings", "set", "allow_get_api", "yes"]).contains("must be 0 or 1"));
    assert!(db.fails(&["settings", "set", "allow_get_api", "1", "--owner", &res]).contains("global setting"));
    assert!(db.fails(&["settings", "list", "--owner", "4242"]).contains("there is no user 4242"));
    assert!(db.fails(&["settings", "set", "default_user_password_length", "0"]).contains("from 1 to 100"));
    // No API without a key, and no removing the key while the API is on.
    assert!(db.fails(&["settings", "set", "allow_api", "1", "--owner", &res]).contains("Invalid API secret key"));
    assert!(db.fails(&["settings", "set", "api_secret_key", "--clear"]).contains("set allow_api to 0"));
    let out = db.run_with_stdin(
        &["settings", "set", "api_secret_key", "--stdin", "--owner", &res],
        Some("r-key-of-16-chars\n"),
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    db.ok(&["settings", "set", "allow_api", "1", "--owner", &res]);
    assert_eq!(db.ok(&["settings", "get", "allow_api", "--owner", &res]), "1\n");
    assert_eq!(db.ok(&["settings", "get", "allow_get_api"]), "0\n");
    db.ok(&["settings", "set", "allow_get_api", "1"]);
    assert_eq!(db.ok(&["settings", "get", "allow_get_api"]), "1\n");
    let reseller_settings = db.json(&["settings", "list", "--owner", &res, "--json"]);
    assert!(reseller_settings.as_array().is_some_and(|l| l.iter().all(|s| s["name"] != "allow_get_api")));
    // Only the key is hidden; settings that merely mention passwords are shown.
    let shown =
        |name: &str| listed.as_array().and_then(|l| l.iter().find(|s| s["name"] == name)).map(|s| s["value"].clone());
    assert_eq!(shown("api_secret_key"), Some("***".into()));
    assert_eq!(shown("use_strong_passwords_for_users"), Some("1".into()));
    assert_eq!(shown("default_user_password_length"), Some("6".into()));
    assert_eq!(
        db.ok(&["settings", "set", "default_user_password_length", "9"]),
        "default_user_password_length = 9 (owner 0)\n"
    );
}

#[tokio::test]
async fn an_initialised_database_serves_signed_requests_with_the_printed_key() {
    let db = Db::new();
    let key = key_from(&db.ok(&["init"]));
    db.ok(&["user", "add", "--username", "cust1"]);
    let cust = db.json(&["user", "show", "cust1", "--json"])["id"].to_string();
    let database = morapi::storage::Database::open(&db.url).expect("open");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(morapi::server::serve(listener, database, async {
        let _ = rx.await;
    }));
    let pairs = [("user_id", cust.as_str()), ("u15", "1")];
    let hash = sign_pairs(&pairs, &key);
    let body = reqwest::Client::new()
        .post(format!("{base}{UPDATE}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[("u", "admin"), ("user_id", &cust), ("u15", "1"), ("hash", &hash)]))
        .send()
        .await
        .expect("request")
        .text()
        .await
        .expect("body");
    assert_eq!(body, updated());
    let _ = tx.send(());
    assert_eq!(db.json(&["user", "show", "cust1", "--json"])["blocked"], 1);
}

#[test]
fn users_move_between_owners_and_groups_with_an_audit_trail() {
    let db = Db::new();
    db.ok(&["init"]);
    db.ok(&["user", "add", "--username", "res1", "--type", "reseller"]);
    db.ok(&["user", "add", "--username", "cust1"]);
    db.ok(&["user", "add", "--username", "acc1", "--type", "accountant"]);
    let res = db.json(&["user", "show", "res1", "--json"])["id"].to_string();
    let group =
        db.json(&["group", "add", "--name", "Resellers", "--group-type", "reseller", "--json"])["id"].to_string();
    assert!(db.ok(&["user", "set", "cust1", "--owner", &res]).contains("changed user"));
    assert_eq!(db.json(&["user", "show", "cust1", "--json"])["owner_id"].to_string(), res);
    assert!(db.ok(&["user", "set", "res1", "--group", &group]).contains("changed user"));
    assert_eq!(db.json(&["user", "show", "res1", "--json"])["acc_group_id"].to_string(), group);
    // Refusals.
    assert!(db.fails(&["user", "set", "cust1"]).contains("nothing to change"));
    assert!(db.fails(&["user", "set", "res1", "--owner", &res]).contains("always belongs to the admin"));
    assert!(db.fails(&["user", "set", "cust1", "--owner", "4242"]).contains("there is no user 4242"));
    let acc = db.json(&["user", "show", "acc1", "--json"])["id"].to_string();
    assert!(db.fails(&["user", "set", "cust1", "--owner", &acc]).contains("is not a reseller"));
    assert!(db.fails(&["user", "set", "acc1", "--group", &group]).contains("is not a group of accountants"));
    assert!(db.fails(&["user", "set", "cust1", "--group", &group]).contains("has no group"));
    // The changes are in the audit trail, attributed to the command line.
    let audit = db.json(&["audit", "--json"]);
    let fields: Vec<(String, String, String)> = audit
        .as_array()
        .expect("array")
        .iter()
        .map(|e| (e["field"].to_string(), e["actor_username"].to_string(), e["endpoint"].to_string()))
        .collect();
    let by_cli = |actor: &String| actor.starts_with("\"cli:");
    assert!(fields.iter().any(|(f, a, ep)| f == "\"owner_id\"" && by_cli(a) && ep == "\"user set\""), "{audit}");
    assert!(fields.iter().any(|(f, a, ep)| f == "\"acc_group_id\"" && by_cli(a) && ep == "\"user set\""), "{audit}");
    let out = db.run_with_stdin(&["user", "passwd", "cust1", "--password-stdin"], Some("Another456y\n"));
    assert!(out.status.success());
    let audit = db.ok(&["audit", "--field", "password", "--json"]);
    assert!(audit.contains("changed") && !audit.contains("Another456y"), "{audit}");
}
