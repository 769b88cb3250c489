//! Administration is audited: every change the real binary makes (`init`, `user`, `settings`,
//! every record kind, `group grant`) writes its audit rows in the transaction of the change, and
//! the API keys are never taken from the command line. Each test gets its own database (SQLite,
//! or a scratch database on the server of `MORAPI_TEST_DATABASE`); the rows are read back with
//! `morapi audit --json` and, unmasked, through the storage.

mod common;
use common::{ADMIN_KEY, TestApp, TestDb, status_error, updated};
use morapi::catalogue::is_secret;
use morapi::cli::records::{FieldType, KINDS};
use morapi::storage::{AuditEntry, Database, Table, Tx};
use serde_json::Value as Json;
use std::io::Write;
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_morapi");
/// The OS user the commands run as (`$USER`), unless a test says otherwise.
const OS_USER: &str = "tester";

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

    /// The database of a running test server (dropped with the server, not here).
    fn at(url: &str) -> Db {
        Db(TestDb::at(url))
    }

    /// A database with `init` done; the admin's key it printed.
    fn init() -> (Db, String) {
        let db = Db::new();
        let out = db.ok(&["init"]);
        let key = out
            .lines()
            .find_map(|l| l.strip_prefix("API secret key (shown once; store it now): "))
            .expect("key line")
            .to_string();
        (db, key)
    }

    fn command(&self, args: &[&str], env: &[(&str, &str)]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .env("MORAPI_DATABASE", &self.url)
            .env("USER", OS_USER)
            .env_remove("LOGNAME")
            .env_remove("MORAPI_ACTOR")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd
    }

    fn run_full(&self, args: &[&str], stdin: Option<&str>, env: &[(&str, &str)]) -> Output {
        let mut child = self.command(args, env).spawn().expect("spawn");
        if let Some(text) = stdin {
            child.stdin.take().expect("stdin").write_all(text.as_bytes()).expect("write stdin");
        }
        drop(child.stdin.take());
        child.wait_with_output().expect("wait")
    }

    fn run(&self, args: &[&str]) -> Output {
        self.run_full(args, None, &[])
    }

    /// Runs a command that must succeed (with `stdin`, if any); returns its stdout.
    fn ok_with(&self, args: &[&str], stdin: Option<&str>) -> String {
        let out = self.run_full(args, stdin, &[]);
        assert!(out.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn ok(&self, args: &[&str]) -> String {
        self.ok_with(args, None)
    }

    /// Runs a command that must fail (with `stdin`, if any); returns its stderr.
    fn fails_with(&self, args: &[&str], stdin: Option<&str>) -> String {
        let out = self.run_full(args, stdin, &[]);
        assert!(!out.status.success(), "{args:?} should fail, printed {}", String::from_utf8_lossy(&out.stdout));
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    fn fails(&self, args: &[&str]) -> String {
        self.fails_with(args, None)
    }

    fn json(&self, args: &[&str]) -> Json {
        serde_json::from_str(&self.ok(args)).expect("json output")
    }

    fn id_of(&self, user: &str) -> String {
        self.json(&["user", "show", user, "--json"])["id"].to_string()
    }

    /// Every audit row as `morapi audit --json` shows it, oldest first.
    fn audit(&self) -> Vec<Json> {
        let Json::Array(mut rows) = self.json(&["audit", "--json"]) else { panic!("not an array") };
        rows.reverse();
        rows
    }

    /// The rows of the newest command, in the order written.
    fn last(&self) -> Vec<Json> {
        let rows = self.audit();
        let Some(newest) = rows.last().map(|r| r["request_id"].clone()) else { return Vec::new() };
        rows.into_iter().filter(|r| r["request_id"] == newest).collect()
    }

    /// The audit trail as stored, no masking: what the database holds.
    fn stored_audit(&self) -> Vec<AuditEntry> {
        self.with_db(|repo| repo.audit_entries())
    }

    /// Runs `f` in a transaction of its own (rolled back) on this database.
    fn with_db<T: Send + 'static>(
        &self,
        f: impl Fn(&mut dyn morapi::storage::AdminStore) -> morapi::storage::Result<T> + Send + 'static,
    ) -> T {
        let url = self.url.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Runtime::new().expect("rt");
            rt.block_on(async {
                let db = Database::open(&url).expect("open");
                db.administer(move |r| Ok(Tx::Rollback(f(r)?))).await.expect("read")
            })
        })
        .join()
        .expect("thread")
    }

    fn count(&self) -> usize {
        self.stored_audit().len()
    }

    fn setting(&self, name: &str, owner: &str) -> String {
        self.ok(&["settings", "get", name, "--owner", owner, "--show-secrets"]).trim_end_matches('\n').to_string()
    }
}

fn s(v: &Json) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}

/// Fields of rows, in order.
fn fields(rows: &[Json]) -> Vec<&str> {
    rows.iter().map(|r| s(&r["field"])).collect()
}

/// What every row of the command line has: actor `cli:NAME`, no actor id, client `local`, the
/// command as endpoint, no key, one request id.
fn assert_cli_rows(rows: &[Json], actor: &str, endpoint: &str) {
    assert!(!rows.is_empty(), "{endpoint}: no rows");
    for r in rows {
        assert_eq!(r["actor_username"], format!("cli:{actor}"), "{r}");
        assert_eq!(r["actor_id"], Json::Null, "{r}");
        assert_eq!(r["client_addr"], "local", "{r}");
        assert_eq!(r["endpoint"], endpoint, "{r}");
        assert_eq!(r["signed_with"], "", "{r}");
        assert_eq!(r["request_id"], rows[0]["request_id"], "one request id per command: {r}");
        assert_eq!(r["created_at"], rows[0]["created_at"], "{r}");
    }
}

/// Checks that a row's JSON has the schema's columns in the schema's order, every value text or
/// null; returns it parsed.
fn row_json(table: &str, text: &str) -> serde_json::Map<String, Json> {
    let Ok(Json::Object(map)) = serde_json::from_str::<Json>(text) else { panic!("not a JSON object: {text}") };
    let def = morapi::storage::schema::TABLES.iter().find(|t| t.name == table).expect("a table");
    let mut last = 0;
    for c in def.columns {
        let at = text.find(&format!("\"{}\":", c.name)).unwrap_or_else(|| panic!("{table}.{} missing: {text}", c.name));
        assert!(at >= last, "{table}.{} out of schema order: {text}", c.name);
        last = at;
    }
    assert_eq!(map.len(), def.columns.len(), "{text}");
    assert!(map.values().all(|v| v.is_string() || v.is_null()), "values are text or null: {text}");
    map
}

#[test]
fn init_is_audited() {
    let (db, _) = Db::init();
    let rows = db.last();
    assert_cli_rows(&rows, OS_USER, "init");
    let admin = rows.iter().find(|r| r["field"] == "users").expect("the admin's create row");
    assert_eq!((&admin["event"], &admin["target_id"]), (&Json::from("create"), &Json::from(0)));
    let user = row_json("users", s(&admin["new_value"]));
    assert_eq!((&user["id"], &user["username"], &user["password"]), (&"0".into(), &"admin".into(), &"".into()));
    assert!(rows.iter().filter(|r| r["field"] == "acc_rights").all(|r| r["event"] == "create"));
    let setting = |name: &str| rows.iter().find(|r| r["field"] == name).unwrap_or_else(|| panic!("{name}")).clone();
    let key = setting("api_secret_key");
    assert_eq!((&key["event"], &key["target_id"]), (&Json::from("setting"), &Json::Null));
    assert_eq!((&key["old_value"], &key["new_value"]), (&Json::from(""), &Json::from("changed")));
    let api = setting("allow_api");
    assert_eq!((&api["old_value"], &api["new_value"]), (&Json::Null, &Json::from("1")));
}

#[test]
fn user_add_writes_one_create_row_per_record_with_the_whole_row() {
    let (db, _) = Db::init();
    let out = db.run_full(
        &["user", "add", "--username", "res1", "--type", "reseller", "--first-name", "Rita", "--password-stdin"],
        Some("Secret123x\n"),
        &[],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let res = db.id_of("res1");
    let rows = db.last();
    assert_cli_rows(&rows, OS_USER, "user add");
    assert_eq!(fields(&rows), ["users", "addresses", "taxes"]);
    for r in &rows {
        assert_eq!((s(&r["event"]), r["target_id"].to_string()), ("create", res.clone()), "{r}");
        assert_eq!(r["old_value"], Json::Null);
    }
    let user = row_json("users", s(&rows[0]["new_value"]));
    assert_eq!(user["id"].as_str(), Some(res.as_str()), "ids as stored text");
    assert_eq!(
        (&user["username"], &user["usertype"], &user["first_name"]),
        (&"res1".into(), &"reseller".into(), &"Rita".into())
    );
    assert_eq!(user["password"], "changed", "never the hash");
    assert_eq!(user["comment"], Json::Null, "NULL as null");
    let address = row_json("addresses", s(&rows[1]["new_value"]));
    assert_eq!(address["email"], Json::Null);
    assert_eq!(Some(&address["id"]), user.get("address_id"));
    let tax = row_json("taxes", s(&rows[2]["new_value"]));
    assert_eq!(Some(&tax["id"]), user.get("tax_id"));
    assert_eq!(tax["tax1_name"], "VAT");

    // Without a password the column is empty, and shows so.
    db.ok(&["user", "add", "--username", "cust1", "--owner", &res, "--email", "c@example.com"]);
    let rows = db.last();
    let user = row_json("users", s(&rows[0]["new_value"]));
    assert_eq!((&user["password"], &user["owner_id"]), (&"".into(), &Json::from(res.as_str())));
    assert_eq!(row_json("addresses", s(&rows[1]["new_value"]))["email"], "c@example.com");
}

#[test]
fn user_delete_keeps_every_removed_row_in_the_trail() {
    let (db, _) = Db::init();
    db.ok(&["user", "add", "--username", "res1", "--type", "reseller"]);
    let res = db.id_of("res1");
    db.ok(&["user", "add", "--username", "cust1", "--owner", &res, "--email", "c@example.com"]);
    let created = db.last();
    let cust = db.id_of("cust1");
    db.ok(&["user", "delete", "cust1", "--yes"]);
    let rows = db.last();
    assert_cli_rows(&rows, OS_USER, "user delete");
    assert_eq!(fields(&rows), ["users", "addresses", "taxes"]);
    for (deleted, created) in rows.iter().zip(&created) {
        assert_eq!((s(&deleted["event"]), deleted["target_id"].to_string()), ("delete", cust.clone()));
        assert_eq!(deleted["new_value"], Json::Null);
        assert_eq!(deleted["old_value"], created["new_value"], "the whole row, as it was");
    }

    // A reseller's settings go with him, each kept in the trail, his key as `changed`.
    let key = "res1-secret-key-0123456789";
    db.ok_with(&["settings", "set", "api_secret_key", "--stdin", "--owner", &res], Some(&format!("{key}\n")));
    db.ok(&["settings", "set", "default_user_password_length", "9", "--owner", &res]);
    db.ok(&["user", "delete", "res1", "--yes"]);
    let rows = db.last();
    // In the order they are removed: his settings, then he, his address and tax row.
    assert_eq!(fields(&rows), ["conflines", "conflines", "users", "addresses", "taxes"]);
    let settings: Vec<_> = rows[..2].iter().map(|r| row_json("conflines", s(&r["old_value"]))).collect();
    assert!(settings.iter().any(|c| c["name"] == "api_secret_key" && c["value"] == "changed"), "{settings:?}");
    assert!(settings.iter().any(|c| c["name"] == "default_user_password_length" && c["value"] == "9"));
    assert!(!db.stored_audit().iter().any(|e| format!("{e:?}").contains(key)), "the key is nowhere");
    // Gone from the database too.
    let left = db.with_db(|r| r.list_rows(Table::Conflines, &[]));
    assert!(left.iter().all(|c| c.get("owner_id").map(|v| v.render()) == Some("0".into())), "{left:?}");
}

#[test]
fn user_set_and_passwd_write_change_rows_like_the_api() {
    let (db, _) = Db::init();
    db.ok(&["user", "add", "--username", "res1", "--type", "reseller"]);
    db.ok(&["user", "add", "--username", "cust1"]);
    let (res, cust) = (db.id_of("res1"), db.id_of("cust1"));
    let group = db.json(&["group", "add", "--name", "R", "--group-type", "reseller", "--json"])["id"].to_string();

    db.ok(&["user", "set", "cust1", "--owner", &res]);
    let rows = db.last();
    assert_cli_rows(&rows, OS_USER, "user set");
    assert_eq!(rows.len(), 1);
    assert_eq!((s(&rows[0]["event"]), s(&rows[0]["field"])), ("change", "owner_id"));
    assert_eq!(
        (s(&rows[0]["old_value"]), s(&rows[0]["new_value"]), rows[0]["target_id"].to_string()),
        ("0", res.as_str(), cust.clone())
    );

    db.ok(&["user", "set", "res1", "--group", &group]);
    let rows = db.last();
    assert_eq!((s(&rows[0]["field"]), s(&rows[0]["new_value"])), ("acc_group_id", group.as_str()));

    // Nothing changed, nothing written.
    let before = db.count();
    assert!(db.ok(&["user", "set", "cust1", "--owner", &res]).contains("unchanged"));
    assert_eq!(db.count(), before);

    db.ok_with(&["user", "passwd", "cust1", "--password-stdin"], Some("Another456y\n"));
    let rows = db.last();
    assert_cli_rows(&rows, OS_USER, "user passwd");
    assert_eq!((s(&rows[0]["field"]), s(&rows[0]["old_value"]), s(&rows[0]["new_value"])), ("password", "", "changed"));
}

#[test]
fn settings_set_writes_setting_rows_with_the_owner_as_target() {
    let (db, _) = Db::init();
    db.ok(&["user", "add", "--username", "res1", "--type", "reseller"]);
    let res = db.id_of("res1");
    db.ok(&["settings", "set", "default_user_password_length", "9"]);
    let rows = db.last();
    assert_cli_rows(&rows, OS_USER, "settings set");
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    assert_eq!(
        (s(&r["event"]), s(&r["field"]), &r["target_id"]),
        ("setting", "default_user_password_length", &Json::Null)
    );
    assert_eq!((&r["old_value"], &r["new_value"]), (&Json::Null, &Json::from("9")), "never set: NULL");
    db.ok(&["settings", "set", "default_user_password_length", "10"]);
    let r = &db.last()[0];
    assert_eq!((&r["old_value"], &r["new_value"]), (&Json::from("9"), &Json::from("10")));
    // The same value again writes nothing.
    let before = db.count();
    db.ok(&["settings", "set", "default_user_password_length", "10"]);
    assert_eq!(db.count(), before);
    // A reseller's setting: he is the target.
    db.ok(&["settings", "set", "hide_destination_end", "3", "--owner", &res]);
    let r = &db.last()[0];
    assert_eq!((r["target_id"].to_string(), s(&r["new_value"])), (res.clone(), "3"));
    // `morapi audit` shows them, and finds them by event and field.
    let table = db.ok(&["audit", "--event", "setting"]);
    assert!(table.contains("9 → 10") && table.contains("NULL → 9"), "{table}");
    assert!(table.contains(&format!("cli:{OS_USER}")) && !table.contains("(unknown)"), "{table}");
    assert!(table.contains("local"), "{table}");
    let found = db.json(&["audit", "--field", "hide_destination_end", "--json"]);
    assert_eq!(found.as_array().map(Vec::len), Some(1));
}

/// A valid flag value for a field, given the ids that exist (`record`: an id of that table).
fn value_for(ty: FieldType, text: &str, reseller: &str, record: &dyn Fn(Table) -> String) -> String {
    match ty {
        FieldType::Text => text.into(),
        FieldType::Int => "5".into(),
        FieldType::Decimal => "1.25".into(),
        FieldType::Enum(words) => words.last().copied().unwrap_or_default().into(),
        FieldType::Owner | FieldType::User => reseller.into(),
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
fn every_record_kind_audits_add_set_and_delete() {
    let (db, _) = Db::init();
    db.ok(&["user", "add", "--username", "res1", "--type", "reseller"]);
    let res = db.id_of("res1");
    for kind in KINDS {
        let table = kind.table.name();
        let add = |text: &str| {
            let mut args: Vec<String> = vec![kind.command.into(), "add".into(), "--json".into()];
            for f in kind.fields {
                args.push(format!("--{}", f.column.replace('_', "-")));
                args.push(value_for(f.ty, text, &res, &|t| first_record(&db, t)));
            }
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            db.json(&refs)["id"].to_string()
        };
        // The first record of a kind can be in use by default (users' currency 1): work on a
        // second one.
        add("Filler");
        let id = add("Thing");
        let rows = db.last();
        assert_cli_rows(&rows, OS_USER, &format!("{} add", kind.command));
        assert_eq!((fields(&rows), s(&rows[0]["event"])), (vec![table], "create"), "{}", kind.command);
        // A record with an owner or user column (the reseller here) belongs to him: he is the
        // target. Shared records (currencies, directions) have none.
        let owned = kind.fields.iter().any(|f| matches!(f.ty, FieldType::Owner | FieldType::User));
        let target = if owned { res.clone() } else { "null".into() };
        assert_eq!(rows[0]["target_id"].to_string(), target, "{}", kind.command);
        let created = row_json(table, s(&rows[0]["new_value"]));
        assert_eq!(created["id"].as_str(), Some(id.as_str()));

        let text = kind.fields.iter().find(|f| f.ty == FieldType::Text).map(|f| f.column).expect("a text field");
        db.ok(&[kind.command, "set", &id, &format!("--{}", text.replace('_', "-")), "Renamed"]);
        let rows = db.last();
        assert_cli_rows(&rows, OS_USER, &format!("{} set", kind.command));
        assert_eq!(fields(&rows), [format!("{table}:{id}.{text}")], "{}", kind.command);
        assert_eq!(
            (s(&rows[0]["event"]), s(&rows[0]["old_value"]), s(&rows[0]["new_value"])),
            ("change", "Thing", "Renamed")
        );

        // Moved to the admin: its rows have no target from then on.
        let owner = kind.fields.iter().find(|f| f.ty == FieldType::Owner).map(|f| f.column);
        if let Some(owner) = owner {
            db.ok(&[kind.command, "set", &id, &format!("--{}", owner.replace('_', "-")), "0"]);
            let rows = db.last();
            assert_eq!(
                (s(&rows[0]["old_value"]), s(&rows[0]["new_value"]), &rows[0]["target_id"]),
                (res.as_str(), "0", &Json::Null)
            );
        }
        let current = db.json(&[kind.command, "show", &id, "--json"]);
        db.ok(&[kind.command, "delete", &id, "--yes"]);
        let rows = db.last();
        assert_cli_rows(&rows, OS_USER, &format!("{} delete", kind.command));
        assert_eq!(fields(&rows), [table]);
        assert_eq!(rows[0]["new_value"], Json::Null);
        let deleted = row_json(table, s(&rows[0]["old_value"]));
        for (column, value) in current.as_object().expect("object") {
            // `show` gives the operator a device's credentials; the audit trail never does.
            let expected = if is_secret(&format!("{table}.{column}")) { "changed".into() } else { value.to_string() };
            assert_eq!(deleted[column].as_str(), Some(expected.trim_matches('"')), "{table}.{column}");
        }
    }
}

#[test]
fn group_rights_are_audited_and_go_with_their_group() {
    let (db, _) = Db::init();
    let group = db.json(&["group", "add", "--name", "Billing", "--json"])["id"].to_string();
    db.ok(&["group", "grant", &group, "user_manage", "2", "--actor", "alice"]);
    let rows = db.last();
    assert_cli_rows(&rows, "alice", "group grant");
    assert_eq!((fields(&rows), s(&rows[0]["event"])), (vec!["acc_group_rights"], "create"));
    let right = row_json("acc_group_rights", s(&rows[0]["new_value"]));
    assert_eq!((right["acc_group_id"].as_str(), right["value"].as_str()), (Some(group.as_str()), Some("2")));
    let right_id = s(&right["id"]).to_string();
    db.ok(&["group", "grant", &group, "user_manage", "1"]);
    let rows = db.last();
    assert_eq!(fields(&rows), [format!("acc_group_rights:{right_id}.value")]);
    assert_eq!((s(&rows[0]["old_value"]), s(&rows[0]["new_value"])), ("2", "1"));
    let before = db.count();
    db.ok(&["group", "grant", &group, "user_manage", "1"]);
    assert_eq!(db.count(), before, "unchanged: nothing written");
    db.ok(&["group", "delete", &group, "--yes"]);
    let rows = db.last();
    assert_eq!(fields(&rows), ["acc_group_rights", "acc_groups"]);
    assert!(db.with_db(|r| r.list_rows(Table::AccGroupRights, &[])).is_empty(), "no rights left behind");
}

#[test]
fn a_refused_change_writes_no_audit_row() {
    let (db, _) = Db::init();
    db.ok(&["user", "add", "--username", "res1", "--type", "reseller"]);
    let res = db.id_of("res1");
    db.ok(&["user", "add", "--username", "cust1", "--owner", &res]);
    db.ok(&["currency", "add", "--name", "USD"]);
    let before = db.stored_audit();
    let refused: &[&[&str]] = &[
        &["user", "add", "--username", "x", "--email", "nope"],
        &["user", "add", "--username", "cust1"],
        &["user", "set", "cust1"],
        &["user", "set", "cust1", "--owner", "4242"],
        &["user", "delete", "res1", "--yes"],
        &["currency", "delete", "1", "--yes"],
        &["tariff", "add", "--name", "T", "--owner-id", "4242"],
        &["tariff", "set", "999", "--name", "T"],
        &["settings", "set", "allow_api", "1", "--owner", &res],
        &["settings", "set", "allow_get_api", "yes"],
        &["settings", "set", "api_secret_key", "typed-on-the-command-line"],
        &["settings", "generate-key"],
        &["settings", "rotate-key", "--owner", &res],
        &["settings", "promote-key"],
        &["group", "grant", "999", "user_manage", "2"],
        &["lcr", "add", "--name", "L", "--actor", "bad\nname"],
    ];
    for args in refused {
        db.fails(args);
    }
    assert_eq!(db.stored_audit(), before, "no refused command wrote an audit row");

    // All or nothing inside one transaction: a change and its audit row, then a refusal.
    let url = db.url.clone();
    let refused = std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().expect("rt");
        rt.block_on(async {
            let database = Database::open(&url).expect("open");
            morapi::cli::db::transact(&database, |repo| -> anyhow::Result<()> {
                let actor = morapi::domain::audit::Actor::command_line("tester", "lcr add");
                let id = repo.insert_row(Table::Lcrs, &[("name", "half".into())])?;
                let row = repo.row(Table::Lcrs, id)?.unwrap_or_default();
                repo.insert_audit(&[actor.created("lcrs", None, &row)])?;
                anyhow::bail!("refused after writing")
            })
            .await
        })
    })
    .join()
    .expect("thread");
    assert_eq!(refused.map_err(|e| e.to_string()), Err("refused after writing".to_string()));
    assert_eq!(db.stored_audit(), before);
    assert!(db.with_db(|r| r.list_rows(Table::Lcrs, &[])).is_empty());
}

#[test]
fn keys_are_read_never_taken_from_the_command_line() {
    let (db, admin_key) = Db::init();
    db.ok(&["user", "add", "--username", "res1", "--type", "reseller"]);
    let res = db.id_of("res1");

    // On the command line: refused (usage, status 2), saying how to give it instead.
    let out = db.run(&["settings", "set", "api_secret_key", "a-key-typed-on-the-command-line", "--owner", &res]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not taken from the command line"), "{err}");
    for way in ["prompt", "--stdin", "--from-file FILE", "generate-key"] {
        assert!(err.contains(way), "{way}: {err}");
    }
    assert_eq!(db.setting("api_secret_key", &res), "");
    // No terminal, no --stdin: refused, naming the ways.
    assert!(
        db.fails(&["settings", "set", "api_secret_key", "--owner", &res]).contains("use --stdin or --from-file FILE")
    );

    // Short keys need --allow-weak; the message says so.
    let short = db.fails_with(&["settings", "set", "api_secret_key", "--stdin", "--owner", &res], Some("456789\n"));
    assert!(short.contains("at least 16") && short.contains("--allow-weak"), "{short}");
    db.ok_with(&["settings", "set", "api_secret_key", "--stdin", "--allow-weak", "--owner", &res], Some("456789\n"));
    assert_eq!(db.setting("api_secret_key", &res), "456789");
    assert!(
        db.fails_with(&["settings", "set", "api_secret_key", "--stdin", "--owner", &res], Some("\n")).contains("empty")
    );
    let padded = db.fails_with(
        &["settings", "set", "api_secret_key", "--stdin", "--owner", &res],
        Some(" spaces-around-this-key \n"),
    );
    assert!(padded.contains("white space"), "{padded}");

    // From a file: its final line break (even CRLF) is not part of the key.
    let file = db.dir.path().join("key.txt");
    std::fs::write(&file, "key-from-a-file-0123456789\r\n").expect("write");
    let path = file.display().to_string();
    let printed = db.ok(&["settings", "set", "api_secret_key", "--from-file", &path, "--owner", &res]);
    assert!(!printed.contains("key-from-a-file"), "{printed}");
    assert_eq!(db.setting("api_secret_key", &res), "key-from-a-file-0123456789");

    // The next key: not without a current one, not the current one; --clear abandons it.
    let next = db.fails_with(&["settings", "set", "api_secret_key_next", "--from-file", &path, "--owner", &res], None);
    assert!(next.contains("differ"), "{next}");
    db.ok_with(
        &["settings", "set", "api_secret_key_next", "--stdin", "--owner", &res],
        Some("next-key-0123456789abc\n"),
    );
    assert_eq!(db.setting("api_secret_key_next", &res), "next-key-0123456789abc");
    let same = db.fails_with(
        &["settings", "set", "api_secret_key", "--stdin", "--owner", &res],
        Some("next-key-0123456789abc\n"),
    );
    assert!(same.contains("promote-key"), "{same}");
    db.ok(&["settings", "set", "api_secret_key_next", "--clear", "--owner", &res]);
    assert_eq!(db.setting("api_secret_key_next", &res), "");
    assert_eq!(db.last()[0]["new_value"], "cleared");
    // The admin's key cannot be removed while his API is on.
    assert!(db.fails(&["settings", "set", "api_secret_key", "--clear"]).contains("set allow_api to 0"));
    assert_eq!(db.setting("api_secret_key", "0"), admin_key);

    // Other settings keep NAME VALUE, and the key flags are not for them.
    let out = db.run_full(&["settings", "set", "allow_api", "1", "--stdin"], Some("1\n"), &[]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(db.run(&["settings", "set", "allow_api"]).status.code(), Some(2));
}

#[test]
fn generate_key_prints_only_the_key_and_keeps_an_existing_one() {
    let (db, admin_key) = Db::init();
    db.ok(&["user", "add", "--username", "res1", "--type", "reseller"]);
    db.ok(&["user", "add", "--username", "plain"]);
    let (res, plain) = (db.id_of("res1"), db.id_of("plain"));

    let out = db.run(&["settings", "generate-key", "--owner", &res]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let key = stdout.strip_suffix('\n').expect("one line");
    assert_eq!(key.len(), 64, "{stdout:?}");
    assert!(key.bytes().all(|b| b.is_ascii_hexdigit()), "{key}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains(key) && stderr.contains("allow_api 1"), "{stderr}");
    assert_eq!(db.setting("api_secret_key", &res), key);
    let rows = db.last();
    assert_cli_rows(&rows, OS_USER, "settings generate-key");
    assert_eq!(
        (s(&rows[0]["field"]), s(&rows[0]["new_value"]), rows[0]["target_id"].to_string()),
        ("api_secret_key", "changed", res.clone())
    );

    // An owner with a key keeps it unless --replace.
    let err = db.fails(&["settings", "generate-key"]);
    assert!(err.contains("already has an API key") && err.contains("rotate-key") && err.contains("--replace"), "{err}");
    assert_eq!(db.setting("api_secret_key", "0"), admin_key);
    let replaced = db.ok(&["settings", "generate-key", "--replace"]);
    assert_ne!(replaced.trim(), admin_key);
    assert_eq!(db.setting("api_secret_key", "0"), replaced.trim());

    // Owners are the admin or a reseller.
    assert!(db.fails(&["settings", "generate-key", "--owner", "4242"]).contains("there is no user 4242"));
    assert!(db.fails(&["settings", "generate-key", "--owner", &plain]).contains("is not a reseller"));
}

#[test]
fn keys_rotate_and_are_promoted_without_a_flag_day() {
    let (db, _) = Db::init();
    db.ok(&["user", "add", "--username", "res1", "--type", "reseller"]);
    let res = db.id_of("res1");
    assert!(db.fails(&["settings", "rotate-key", "--owner", &res]).contains("no API key to rotate"));
    let first = db.ok(&["settings", "generate-key", "--owner", &res]).trim().to_string();

    let second = db.ok(&["settings", "rotate-key", "--owner", &res]).trim().to_string();
    assert_eq!(second.len(), 64);
    assert_eq!(
        (db.setting("api_secret_key", &res), db.setting("api_secret_key_next", &res)),
        (first.clone(), second.clone())
    );
    let rows = db.last();
    assert_cli_rows(&rows, OS_USER, "settings rotate-key");
    assert_eq!((fields(&rows), s(&rows[0]["new_value"])), (vec!["api_secret_key_next"], "changed"));
    // Pending, and shown only as pending.
    let listed = db.json(&["settings", "list", "--owner", &res, "--json"]);
    let value =
        |name: &str| listed.as_array().and_then(|l| l.iter().find(|s| s["name"] == name)).map(|s| s["value"].clone());
    assert_eq!((value("api_secret_key"), value("api_secret_key_next")), (Some("***".into()), Some("***".into())));
    assert_eq!(db.ok(&["settings", "get", "api_secret_key_next", "--owner", &res]), "***\n");
    // One rotation at a time, unless started over.
    assert!(db.fails(&["settings", "rotate-key", "--owner", &res]).contains("already under way"));
    let file = db.dir.path().join("next.txt");
    std::fs::write(&file, "a-chosen-next-key-0123456789\n").expect("write");
    let printed =
        db.ok(&["settings", "rotate-key", "--replace", "--from-file", &file.display().to_string(), "--owner", &res]);
    assert_eq!(printed, "", "a key the operator gave is not printed");
    assert_eq!(db.setting("api_secret_key_next", &res), "a-chosen-next-key-0123456789");
    db.ok_with(&["settings", "rotate-key", "--replace", "--stdin", "--owner", &res], Some(&format!("{second}\n")));

    db.ok(&["settings", "promote-key", "--owner", &res]);
    assert_eq!(
        (db.setting("api_secret_key", &res), db.setting("api_secret_key_next", &res)),
        (second.clone(), String::new())
    );
    let rows = db.last();
    assert_cli_rows(&rows, OS_USER, "settings promote-key");
    let changes: Vec<(&str, &str)> = rows.iter().map(|r| (s(&r["field"]), s(&r["new_value"]))).collect();
    assert_eq!(changes, [("api_secret_key", "changed"), ("api_secret_key_next", "cleared")]);
    assert!(db.fails(&["settings", "promote-key", "--owner", &res]).contains("no next key to promote"));
    let listed = db.json(&["settings", "list", "--owner", &res, "--json"]);
    assert!(
        listed.as_array().is_some_and(|l| l.iter().any(|s| s["name"] == "api_secret_key_next" && s["value"] == ""))
    );
}

#[test]
fn secrets_never_reach_the_audit_trail() {
    let (db, admin_key) = Db::init();
    let mut secrets = vec![admin_key];
    db.ok_with(&["user", "add", "--username", "res1", "--type", "reseller", "--password-stdin"], Some("Secret123x\n"));
    secrets.push("Secret123x".into());
    let res = db.id_of("res1");
    db.ok_with(&["user", "passwd", "res1", "--password-stdin"], Some("Another456y\n"));
    secrets.push("Another456y".into());
    let typed = "typed-key-0123456789";
    db.ok_with(&["settings", "set", "api_secret_key", "--stdin", "--owner", &res], Some(&format!("{typed}\n")));
    secrets.push(typed.into());
    secrets.push(db.ok(&["settings", "generate-key", "--replace", "--owner", &res]).trim().into());
    secrets.push(db.ok(&["settings", "rotate-key", "--owner", &res]).trim().into());
    db.ok(&["settings", "promote-key", "--owner", &res]);
    secrets.push(db.ok(&["settings", "rotate-key", "--owner", &res]).trim().into());
    // The password hashes are secrets too.
    let hash = db.with_db(|r| Ok(r.user_by_username("res1")?.map(|u| morapi::storage::text(&u, "password"))));
    secrets.push(hash.expect("res1"));
    db.ok(&["user", "delete", "res1", "--yes"]);

    let stored = db.stored_audit();
    assert!(stored.len() > 20, "{}", stored.len());
    let json = db.ok(&["audit", "--json"]);
    let table = db.ok(&["audit", "--all"]);
    for secret in &secrets {
        assert!(!secret.is_empty());
        for e in &stored {
            assert!(!format!("{e:?}").contains(secret.as_str()), "{secret} stored in {e:?}");
        }
        assert!(!json.contains(secret.as_str()), "{secret} in audit --json");
        assert!(!table.contains(secret.as_str()), "{secret} in the audit table");
    }
    // Key rows say only that the key changed or was cleared.
    for e in stored.iter().filter(|e| e.field.starts_with("api_secret_key")) {
        assert_eq!(e.old_value.as_deref(), Some(""), "{e:?}");
        assert!(matches!(e.new_value.as_deref(), Some("changed" | "cleared")), "{e:?}");
    }
}

#[test]
fn the_actor_is_the_flag_the_environment_or_the_os_user() {
    let (db, _) = Db::init();
    db.ok(&["lcr", "add", "--name", "A", "--actor", "alice"]);
    assert_cli_rows(&db.last(), "alice", "lcr add");
    let out = db.run_full(&["lcr", "add", "--name", "B"], None, &[("MORAPI_ACTOR", "bob")]);
    assert!(out.status.success());
    assert_cli_rows(&db.last(), "bob", "lcr add");
    // The flag wins over the environment; `cli:` is not doubled.
    let out = db.run_full(&["lcr", "add", "--name", "C", "--actor", "cli:carol"], None, &[("MORAPI_ACTOR", "bob")]);
    assert!(out.status.success());
    assert_cli_rows(&db.last(), "carol", "lcr add");
    let out = db.run_full(&["lcr", "add", "--name", "D"], None, &[("USER", ""), ("LOGNAME", "dave")]);
    assert!(out.status.success());
    assert_cli_rows(&db.last(), "dave", "lcr add");
    // An unusable name is a usage error, and nothing is written.
    let before = db.count();
    assert_eq!(db.run(&["lcr", "add", "--name", "E", "--actor", &"x".repeat(65)]).status.code(), Some(2));
    assert_eq!(db.count(), before);
    // `morapi audit --actor` finds an operator's rows; the table shows him plainly.
    let alice = db.json(&["audit", "--actor", "cli:alice", "--json"]);
    assert_eq!(alice.as_array().map(Vec::len), Some(1));
    let table = db.ok(&["audit", "--actor", "cli:alice"]);
    assert!(table.contains("cli:alice") && !table.contains("unknown") && table.contains("local"), "{table}");
    // Every event name is accepted.
    for event in morapi::storage::AuditEvent::ALL {
        db.ok(&["audit", "--event", event.name()]);
    }
}

/// The rotation end to end: while a next key is pending the server accepts both keys and
/// records which one signed; after `promote-key` only the new one works.
#[tokio::test]
async fn the_api_accepts_both_keys_until_the_next_one_is_promoted() {
    let app = TestApp::spawn().await;
    let db = Db::at(&app.url);
    let next = db.ok(&["settings", "rotate-key"]).trim().to_string();
    assert_eq!(app.update_as("admin", ADMIN_KEY, &[("user_id", "123"), ("u15", "1")]).await, updated());
    assert_eq!(app.update_as("admin", &next, &[("user_id", "123"), ("u15", "0")]).await, updated());
    let signed: Vec<String> = app.changes().await.iter().map(|e| e.signed_with.clone()).collect();
    assert_eq!(signed, ["current:0", "next:0"]);
    db.ok(&["settings", "promote-key"]);
    let old = app.update_as("admin", ADMIN_KEY, &[("user_id", "123"), ("u15", "1")]).await;
    assert_eq!(old, status_error("Incorrect hash"));
    assert_eq!(app.update_as("admin", &next, &[("user_id", "123"), ("u15", "1")]).await, updated());
    assert_eq!(app.changes().await.last().map(|e| e.signed_with.clone()).as_deref(), Some("current:0"));
}

/// `morapi lockouts clear` writes one `change` row per lock it lifts.
#[tokio::test]
async fn lifting_a_lock_is_audited() {
    let app = TestApp::spawn().await;
    for _ in 0..5 {
        app.update_as("admin", "not-the-key", &[("user_id", "123"), ("u15", "1")]).await;
    }
    let db = Db::at(&app.url);
    let out = db.ok(&["lockouts", "clear", "--user", "admin", "--addr", "127.0.0.1", "--actor", "alice"]);
    assert_eq!(out, "1 lock(s) lifted\n");
    let rows = db.last();
    assert_cli_rows(&rows, "alice", "lockouts clear");
    assert_eq!((fields(&rows), s(&rows[0]["event"])), (vec!["refusals:127.0.0.1/admin.locked_until"], "change"));
    let (until, lifted) = (s(&rows[0]["old_value"]), s(&rows[0]["new_value"]));
    assert!(until > lifted && lifted.ends_with('Z'), "{until} → {lifted}");
    assert_eq!(rows[0]["target_id"], Json::Null);
    // Nothing in force, nothing written.
    let before = db.count();
    assert_eq!(db.ok(&["lockouts", "clear", "--user", "admin"]), "0 lock(s) lifted\n");
    assert_eq!(db.count(), before);
    assert_eq!(app.update_as("admin", ADMIN_KEY, &[("user_id", "123"), ("u15", "1")]).await, updated());
}
