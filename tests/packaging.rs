//! What is installed with the binary: the systemd unit (it may name only flags and variables
//! the binary really takes), shell completions and manual pages (rendered from the command line
//! itself, record kinds included), and a plain-HTTP server surviving `systemctl reload`.

mod common;
use common::*;
use std::process::{Command, Output};

const UNIT: &str = include_str!("../packaging/morapi.service");
const SYSUSERS: &str = include_str!("../packaging/morapi.sysusers");

fn morapi(args: &[&str]) -> Output {
    Command::new(BIN).args(args).env_remove("MORAPI_DATABASE").output().expect("run morapi")
}

fn stdout(out: &Output) -> String {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout.clone()).expect("utf-8")
}

/// The values of `Key=` in the unit, in order.
fn unit_values(key: &str) -> Vec<&'static str> {
    UNIT.lines().filter_map(|l| l.strip_prefix(key)?.strip_prefix('=')).map(str::trim).collect()
}

#[test]
fn the_unit_names_only_what_the_binary_accepts() {
    let exec = unit_values("ExecStart");
    assert_eq!(exec.len(), 1, "{exec:?}");
    let words: Vec<&str> = exec[0].split_whitespace().collect();
    assert_eq!(words[..2], ["/usr/local/bin/morapi", "serve"]);
    let help = stdout(&morapi(&["serve", "--help"]));
    let flags: Vec<&str> = words.iter().copied().filter(|w| w.starts_with("--")).collect();
    assert!(flags.contains(&"--config"), "{flags:?}");
    for flag in flags {
        let name = flag.split('=').next().unwrap_or(flag);
        assert!(help.contains(&format!("{name} ")), "morapi serve takes no {name}:\n{help}");
    }
    // Every MORAPI_ variable the unit sets is one `serve` reads.
    let env: Vec<&str> = unit_values("Environment").iter().flat_map(|v| v.split_whitespace()).collect();
    assert!(!env.is_empty());
    for assignment in env {
        let name = assignment.split('=').next().unwrap_or_default();
        assert!(name.starts_with("MORAPI_"), "{assignment}");
        assert!(
            help.contains(&format!("[env: {name}=")) || help.contains(&format!("[env: {name}]")),
            "morapi serve reads no {name}:\n{help}"
        );
    }
    // The credential the variable points at is the one systemd loads.
    assert_eq!(unit_values("LoadCredential"), ["database-url:/etc/morapi/database-url"]);
    assert_eq!(unit_values("Environment"), ["MORAPI_DATABASE_FILE=%d/database-url"]);
    // `systemctl reload` sends what the server reloads its certificate on.
    assert_eq!(unit_values("ExecReload"), ["/bin/kill -HUP $MAINPID"]);
    // The user the unit runs as is the one sysusers.d creates.
    let user = unit_values("User");
    assert_eq!(user.len(), 1);
    assert!(SYSUSERS.lines().any(|l| l.split_whitespace().take(2).eq(["u", user[0]])), "{SYSUSERS}");
}

/// `systemd-analyze verify` where systemd is installed (with the binary of this build in place
/// of the installed one; the manual page is not installed here).
#[test]
fn systemd_accepts_the_unit() {
    if Command::new("systemd-analyze").arg("--version").output().is_err() {
        eprintln!("systemd-analyze is not installed: the unit is not verified here");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let unit = dir.path().join("morapi.service");
    std::fs::write(&unit, UNIT.replace("/usr/local/bin/morapi", BIN)).expect("write unit");
    let out = Command::new("systemd-analyze").args(["verify", "--man=no"]).arg(&unit).output().expect("verify");
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && said.trim().is_empty(), "systemd-analyze verify: {said}");
}

/// What bash offers after `WORDS…` (the last word is the one being completed), with the script
/// `morapi completions bash` printed.
fn bash_offers(script: &std::path::Path, words: &[&str]) -> Vec<String> {
    let line = words.iter().map(|w| format!("{w:?}")).collect::<Vec<_>>().join(" ");
    let program = format!(
        r#"source {script:?}; COMP_WORDS=({line}); COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ));
        _morapi morapi "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"; printf '%s\n' "${{COMPREPLY[@]}}""#
    );
    let out = Command::new("bash").args(["--norc", "-c", &program]).output().expect("bash");
    stdout(&out).lines().map(str::to_string).collect()
}

#[test]
fn completions_cover_every_command_and_record_kind() {
    let dir = tempfile::tempdir().expect("temp dir");
    let script = dir.path().join("morapi.bash");
    std::fs::write(&script, stdout(&morapi(&["completions", "bash"]))).expect("write");
    let commands = bash_offers(&script, &["morapi", ""]);
    for name in ["serve", "backup", "completions", "man", "user", "settings", "migrate", "currency", "device"] {
        assert!(commands.iter().any(|c| c == name), "bash does not offer {name}: {commands:?}");
    }
    assert_eq!(bash_offers(&script, &["morapi", "bac"]), ["backup"]);
    let flags = bash_offers(&script, &["morapi", "backup", "--"]);
    for flag in ["--database", "--to", "--force"] {
        assert!(flags.iter().any(|f| f == flag), "{flags:?}");
    }
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        assert!(stdout(&morapi(&["completions", shell])).contains("backup"), "{shell}");
    }
    let bad = morapi(&["completions", "tcsh"]);
    assert_eq!(bad.status.code(), Some(2));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("invalid value 'tcsh'") && err.contains("bash"), "{err}");
}

#[test]
fn manual_pages_render_the_whole_command_line() {
    let page = stdout(&morapi(&["man"]));
    assert!(page.contains(".TH morapi 1"), "{page}");
    for name in ["serve", "backup", "completions", "user", "currency"] {
        assert!(page.contains(&format!("morapi\\-{name}(1)")), "the main page lists {name}");
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let out_dir = dir.path().join("man1");
    let said = stdout(&morapi(&["man", "--out-dir", out_dir.to_str().expect("utf-8")]));
    assert!(said.contains("manual pages written to"), "{said}");
    for file in ["morapi.1", "morapi-serve.1", "morapi-backup.1", "morapi-user-add.1", "morapi-currency-list.1"] {
        let page = std::fs::read_to_string(out_dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(page.contains(".TH "), "{file}");
    }
    let serve = std::fs::read_to_string(out_dir.join("morapi-serve.1")).expect("serve page");
    assert!(serve.contains("\\-\\-listen"), "{serve}");
}

/// `systemctl reload` on a server without TLS: SIGHUP has nothing to reload and must not end it.
#[cfg(unix)]
#[test]
fn a_plain_http_server_survives_a_reload() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = format!("sqlite://{}", dir.path().join("m.db").display());
    let (server, base, _) = start_server(&db, false);
    let status = Command::new("kill").args(["-HUP", &server.id().to_string()]).status().expect("kill");
    assert!(status.success());
    let health = || -> Option<u16> {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
        rt.block_on(async { Some(reqwest::get(format!("{base}/health")).await.ok()?.status().as_u16()) })
    };
    // Answered after the signal was handled (a second request proves it did not end it late).
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(health(), Some(200));
    assert_eq!(stop_server(server).code(), Some(0), "it stops cleanly afterwards");
}

/// A `1.N[.P]` version as numbers, for comparing.
fn rust_version(v: &str) -> Vec<u32> {
    let mut parts: Vec<u32> = v.split('.').map(|p| p.parse().unwrap_or_else(|_| panic!("a version: {v}"))).collect();
    parts.resize(3, 0);
    parts
}

/// `rust-version` in Cargo.toml is no older than what any locked dependency declares it needs,
/// so a toolchain it admits builds the lockfile as committed (`cargo build --locked`).
#[test]
fn rust_version_covers_every_locked_dependency() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--locked", "--manifest-path"])
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))
        .output()
        .expect("cargo metadata");
    let meta: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("metadata JSON");
    let ours = meta["packages"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["name"] == "morapi"))
        .and_then(|p| p["rust_version"].as_str())
        .expect("Cargo.toml declares rust-version");
    let locked: std::collections::HashSet<&str> =
        meta["resolve"]["nodes"].as_array().expect("resolve").iter().filter_map(|n| n["id"].as_str()).collect();
    let newer: Vec<String> = meta["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .filter(|p| p["id"].as_str().is_some_and(|id| locked.contains(id)))
        .filter_map(|p| Some((p["name"].as_str()?, p["version"].as_str()?, p["rust_version"].as_str()?)))
        .filter(|(_, _, needs)| rust_version(needs) > rust_version(ours))
        .map(|(name, version, needs)| format!("{name} {version} needs Rust {needs}"))
        .collect();
    assert!(
        newer.is_empty(),
        "rust-version is {ours}, but: {newer:?}; raise it, or `cargo update -p NAME` (the resolver then picks \
         versions for {ours})"
    );
}
