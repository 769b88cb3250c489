//! The administration commands for the user lifecycle's data, run as the real binary: locations
//! (CRUD, audited, not deleted while a device or a setting uses them), devices with generated
//! SIP/IAX2 credentials shown to the operator but hidden in the audit trail, caller ids, and a
//! user's `uniquehash` shown by `user add` and `user show`. Each test gets its own database
//! (SQLite, or a scratch database on the server of `MORAPI_TEST_DATABASE`).

mod common;
use common::{TestApp, TestDb};
use serde_json::Value as Json;
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_morapi");

/// The test's database and the commands run against it.
struct Db(TestDb);

impl Db {
    /// A fresh database with `init` done.
    fn init() -> Db {
        let db = Db(TestDb::new());
        db.ok(&["init"]);
        db
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(BIN)
            .args(args)
            .env("MORAPI_DATABASE", &self.0.url)
            .env("USER", "tester")
            .env_remove("LOGNAME")
            .env_remove("MORAPI_ACTOR")
            .stdin(Stdio::null())
            .output()
            .expect("run")
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

    fn json(&self, args: &[&str]) -> Json {
        serde_json::from_str(&self.ok(args)).expect("json output")
    }

    /// The audit rows of the newest command (one request id), as `morapi audit --json` shows them.
    fn last(&self) -> Vec<Json> {
        let Json::Array(rows) = self.json(&["audit", "--json"]) else { panic!("not an array") };
        let Some(newest) = rows.first().map(|r| r["request_id"].clone()) else { return Vec::new() };
        rows.into_iter().filter(|r| r["request_id"] == newest).collect()
    }

    fn count(&self) -> usize {
        self.json(&["audit", "--json"]).as_array().map_or(0, Vec::len)
    }
}

fn s(v: &Json) -> &str {
    v.as_str().unwrap_or_default()
}

/// The JSON object an audit row holds in `old_value` / `new_value`.
fn row_json(v: &Json) -> Json {
    serde_json::from_str(s(v)).expect("row json")
}

/// A value of `name  value` lines (`show` without `--json`).
fn shown<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    text.lines().find_map(|l| l.strip_prefix(name).filter(|rest| rest.starts_with(' ')).map(str::trim))
}

#[test]
fn locations_are_added_listed_changed_and_deleted_with_an_audit_trail() {
    let db = Db::init();
    db.ok(&["user", "add", "--username", "res1", "--type", "reseller"]);
    let res = db.json(&["user", "show", "res1", "--json"])["id"].to_string();

    let added = db.json(&["location", "add", "--name", "Vilnius office", "--user-id", &res, "--json"]);
    let id = added["id"].to_string();
    assert_eq!((s(&added["name"]), added["user_id"].to_string()), ("Vilnius office", res.clone()));
    let rows = db.last();
    assert_eq!(rows.len(), 1);
    assert_eq!((s(&rows[0]["event"]), s(&rows[0]["field"])), ("create", "locations"));
    assert_eq!(rows[0]["target_id"].to_string(), res, "the reseller's location is about him");
    assert_eq!(s(&rows[0]["endpoint"]), "location add");
    assert_eq!(row_json(&rows[0]["new_value"])["name"], "Vilnius office");

    db.ok(&["location", "add", "--name", "Global"]);
    let of_reseller = db.json(&["location", "list", "--owner", &res, "--json"]);
    assert_eq!(of_reseller.as_array().map(Vec::len), Some(1));
    assert!(db.ok(&["location", "list"]).contains("Global"));

    assert!(db.ok(&["location", "set", &id, "--name", "Kaunas office"]).contains("changed"));
    let rows = db.last();
    assert_eq!(s(&rows[0]["field"]), format!("locations:{id}.name"));
    assert_eq!((s(&rows[0]["old_value"]), s(&rows[0]["new_value"])), ("Vilnius office", "Kaunas office"));
    assert!(shown(&db.ok(&["location", "show", &id]), "name").is_some_and(|n| n == "Kaunas office"));

    // Refusals write nothing.
    let before = db.count();
    assert!(db.fails(&["location", "add", "--name", "X", "--user-id", "999"]).contains("no user 999"));
    assert!(db.fails(&["location", "add"]).contains("--name"));
    assert!(db.fails(&["location", "set", &id, "--name", " "]).contains("must not be empty"));
    assert_eq!(db.count(), before);

    assert!(db.ok(&["location", "delete", &id, "--yes"]).contains("deleted location"));
    let rows = db.last();
    assert_eq!((s(&rows[0]["event"]), s(&rows[0]["field"])), ("delete", "locations"));
    assert_eq!(row_json(&rows[0]["old_value"])["name"], "Kaunas office");
    assert!(db.fails(&["location", "show", &id]).contains("there is no location"));
}

#[test]
fn a_location_in_use_by_a_device_or_a_setting_is_not_deleted() {
    let db = Db::init();
    db.ok(&["user", "add", "--username", "carol"]);
    let carol = db.json(&["user", "show", "carol", "--json"])["id"].to_string();
    let loc = db.json(&["location", "add", "--name", "Office", "--json"])["id"].to_string();
    let device =
        db.json(&["device", "add", "--name", "desk", "--user-id", &carol, "--location-id", &loc, "--json"])["id"]
            .to_string();
    assert!(
        db.fails(&["device", "add", "--name", "x", "--user-id", &carol, "--location-id", "999"])
            .contains("no location 999")
    );

    let before = db.count();
    let err = db.fails(&["location", "delete", &loc, "--yes"]);
    assert!(err.contains("still used by 1 devices") && err.contains(&format!("location_id: {device}")), "{err}");
    assert_eq!(db.count(), before, "a refused delete writes nothing");

    // Moved elsewhere, the device no longer holds it; the owner's default location still does.
    db.ok(&["device", "set", &device, "--location-id", "0"]);
    db.ok(&["settings", "set", "default_device_location_id", &loc]);
    let err = db.fails(&["location", "delete", &loc, "--yes"]);
    assert!(err.contains("setting default_device_location_id (owner 0)"), "{err}");
    db.ok(&["settings", "set", "default_device_location_id", "0"]);
    assert!(db.ok(&["location", "delete", &loc, "--yes"]).contains("deleted location"));
}

#[test]
fn device_credentials_are_generated_shown_to_the_operator_and_hidden_in_the_audit_trail() {
    let db = Db::init();
    db.ok(&["user", "add", "--username", "carol"]);
    let carol = db.json(&["user", "show", "carol", "--json"])["id"].to_string();
    db.ok(&["settings", "set", "device_pin_length", "8"]);

    let out =
        db.ok(&["device", "add", "--name", "1005", "--user-id", &carol, "--extension", "1005", "--username", "1005"]);
    let id = out.lines().next().and_then(|l| l.strip_prefix("added device ")).expect("id line").to_string();
    let secret = shown(&out, "generated secret").expect("secret printed").to_string();
    let pin = shown(&out, "generated pin").expect("pin printed").to_string();
    assert_eq!(secret.len(), 12, "{secret}");
    assert_eq!(secret.bytes().filter(u8::is_ascii_lowercase).count(), 4, "{secret}");
    assert_eq!(secret.bytes().filter(u8::is_ascii_uppercase).count(), 4, "{secret}");
    assert_eq!(secret.bytes().filter(u8::is_ascii_digit).count(), 4, "{secret}");
    assert!(pin.len() == 8 && pin.bytes().all(|b| b.is_ascii_digit()), "device_pin_length digits: {pin}");

    // `show` and `list` give the operator the credentials and the other new columns.
    let device = db.json(&["device", "show", &id, "--json"]);
    assert_eq!((s(&device["secret"]), s(&device["pin"])), (secret.as_str(), pin.as_str()));
    assert_eq!((s(&device["device_type"]), s(&device["extension"]), s(&device["username"])), ("SIP", "1005", "1005"));
    assert_eq!(device["location_id"], 0);
    let text = db.ok(&["device", "show", &id]);
    assert!(shown(&text, "secret").is_some_and(|v| v == secret) && shown(&text, "pin").is_some_and(|v| v == pin));
    let listed = db.json(&["device", "list", "--json"]);
    assert_eq!(s(&listed[0]["secret"]), secret);

    // The audit trail never holds them.
    let created = row_json(&db.last()[0]["new_value"]);
    assert_eq!((s(&created["secret"]), s(&created["pin"])), ("changed", "changed"));
    assert_eq!(s(&created["extension"]), "1005");
    let audit = db.ok(&["audit", "--json"]);
    assert!(!audit.contains(&secret) && !audit.contains(&pin), "{audit}");

    // Given ones are stored as given, and no message claims they were generated.
    let out = db.ok(&[
        "device",
        "add",
        "--name",
        "fax",
        "--user-id",
        &carol,
        "--device-type",
        "IAX2",
        "--secret",
        "Given-secret-1",
        "--pin",
        "0042",
        "--callerid",
        "<37060000009>",
    ]);
    assert!(!out.contains("generated"), "{out}");
    let given = out.lines().next().and_then(|l| l.strip_prefix("added device ")).expect("id line");
    let row = db.json(&["device", "show", given, "--json"]);
    assert_eq!(
        (s(&row["device_type"]), s(&row["secret"]), s(&row["pin"]), s(&row["callerid"]), &row["extension"]),
        ("IAX2", "Given-secret-1", "0042", "<37060000009>", &Json::Null),
        "no extension: NULL, so that extension-less devices do not collide"
    );

    // A changed secret is audited as changed, never in clear.
    db.ok(&["device", "set", &id, "--secret", "Another-secret-2"]);
    let rows = db.last();
    assert_eq!(s(&rows[0]["field"]), format!("devices:{id}.secret"));
    assert_eq!(s(&rows[0]["new_value"]), "changed");
    assert_eq!(s(&db.json(&["device", "show", &id, "--json"])["secret"]), "Another-secret-2");

    // Unique extension and PIN, digits only, MOR's device types.
    let before = db.count();
    let add = |extra: &[&str]| {
        let mut args = vec!["device", "add", "--name", "x", "--user-id", carol.as_str()];
        args.extend_from_slice(extra);
        db.fails(&args)
    };
    assert!(add(&["--extension", "1005"]).contains("with extension 1005 already exists"));
    assert!(add(&["--pin", "0042"]).contains("with pin 0042 already exists"));
    assert!(add(&["--extension", "10a5"]).contains("digits only"));
    assert!(add(&["--device-type", "sip"]).contains("must be one of SIP, IAX2, Virtual"));
    assert_eq!(db.count(), before);
}

#[test]
fn caller_ids_belong_to_a_device_which_keeps_them() {
    let db = Db::init();
    db.ok(&["user", "add", "--username", "carol"]);
    let carol = db.json(&["user", "show", "carol", "--json"])["id"].to_string();
    let device = db.json(&["device", "add", "--name", "desk", "--user-id", &carol, "--json"])["id"].to_string();
    let cli = db.json(&[
        "callerid",
        "add",
        "--cli",
        "37060000001",
        "--device-id",
        &device,
        "--description",
        "Phone",
        "--json",
    ]);
    assert_eq!(
        (s(&cli["cli"]), cli["device_id"].to_string(), s(&cli["description"])),
        ("37060000001", device.clone(), "Phone")
    );
    assert!(s(&cli["added_at"]).ends_with('Z'), "added_at is stamped: {cli}");
    let rows = db.last();
    assert_eq!((s(&rows[0]["event"]), s(&rows[0]["field"])), ("create", "callerids"));

    assert!(db.fails(&["callerid", "add", "--cli", "37060000001", "--device-id", &device]).contains("already exists"));
    assert!(db.fails(&["callerid", "add", "--cli", "+370", "--device-id", &device]).contains("digits only"));
    assert!(db.fails(&["callerid", "add", "--cli", "1", "--device-id", "999"]).contains("no device 999"));
    let err = db.fails(&["device", "delete", &device, "--yes"]);
    assert!(err.contains("still used by 1 callerids"), "{err}");
    db.ok(&["callerid", "delete", &cli["id"].to_string(), "--yes"]);
    assert!(db.ok(&["device", "delete", &device, "--yes"]).contains("deleted device"));
}

#[test]
fn user_add_and_show_give_the_uniquehash_the_audit_trail_hides() {
    let db = Db::init();
    let out = db.ok(&["user", "add", "--username", "carol"]);
    let hash = out.trim().rsplit_once("uniquehash ").map(|(_, h)| h.to_string()).expect("uniquehash printed");
    assert_eq!(hash.len(), 10);
    assert!(hash.bytes().all(|b| b"abcdefghjkmnpqrstuvwxyz23456789".contains(&b)), "{hash}");
    assert_eq!(s(&db.json(&["user", "show", "carol", "--json"])["uniquehash"]), hash);
    assert!(shown(&db.ok(&["user", "show", "carol"]), "uniquehash").is_some_and(|h| h == hash));
    let json = db.json(&["user", "add", "--username", "dave", "--json"]);
    let dave = s(&json["uniquehash"]).to_string();
    assert!(dave.len() == 10 && dave != hash, "{json}");

    let audit = db.ok(&["audit", "--json"]);
    assert!(!audit.contains(&hash) && !audit.contains(&dave), "{audit}");
    let created = db.last().into_iter().find(|r| s(&r["field"]) == "users").expect("user row");
    assert_eq!(s(&row_json(&created["new_value"])["uniquehash"]), "changed");
}

/// On the demo data: the devices, locations and caller id of the demo, seen through the CLI.
#[tokio::test]
async fn the_demo_devices_show_their_credentials_and_locations() {
    let app = TestApp::spawn().await;
    let db = Db(TestDb::at(&app.url));
    let device = db.json(&["device", "show", "1", "--json"]);
    assert_eq!(
        (s(&device["extension"]), s(&device["pin"]), device["location_id"].as_i64()),
        ("1001", "100001", Some(1))
    );
    assert!(!s(&device["secret"]).is_empty());
    assert_eq!(db.json(&["location", "list", "--owner", "200", "--json"])[0]["name"], "London office");
    assert_eq!(s(&db.json(&["callerid", "show", "1", "--json"])["cli"]), "37052000123");
    assert_eq!(s(&db.json(&["user", "show", "reseller", "--json"])["uniquehash"]), "reshash567");
    let err = db.fails(&["location", "delete", "2", "--yes"]);
    assert!(
        err.contains("still used by 1 devices") && err.contains("setting default_device_location_id (owner 200)"),
        "{err}"
    );
}
