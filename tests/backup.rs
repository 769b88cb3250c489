//! `morapi backup`: a copy taken while a server commits a stream of updates is intact, current
//! and one consistent snapshot, and a server started on it ("restored") answers from it. Always
//! on SQLite: the command copies SQLite databases only and names the other engines' own tools.

mod common;
use common::*;
use morapi::storage::{AuditEntry, Database, demo};
use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// The users the load updates, one writer each, each request setting the surname (`u17`) to the
/// next `t{N}`: a copy holding `t{N}` must hold exactly N audit rows of that stream.
const USERS: [i64; 3] = [123, 789, 200];
/// Updates per user acknowledged before the backup starts.
const BEFORE: usize = 25;

fn backup(args: &[&str]) -> Output {
    Command::new(BIN).arg("backup").args(args).env_remove("MORAPI_DATABASE").output().expect("run morapi backup")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The stream's number in a surname `t{N}` (0 for the demo's own surname).
fn step(surname: &str) -> usize {
    surname.strip_prefix('t').and_then(|n| n.parse().ok()).unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_under_load_is_a_consistent_snapshot_and_restores() {
    let dir = tempfile::tempdir().expect("temp dir");
    let live = dir.path().join("live.db");
    let url = format!("sqlite://{}", live.display());
    let db = Database::open(&url).expect("database");
    assert!(demo::load(&db).await.expect("demo"));
    let app = TestApp::serve(db).await;

    // One writer per user, each waiting for its answer before the next update.
    let stop = Arc::new(AtomicBool::new(false));
    let acked: Arc<Vec<AtomicUsize>> = Arc::new(USERS.iter().map(|_| AtomicUsize::new(0)).collect());
    let mut writers = Vec::new();
    for (slot, user) in USERS.iter().enumerate() {
        let (base, stop, acked) = (app.base.clone(), stop.clone(), acked.clone());
        writers.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            let user = user.to_string();
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                n += 1;
                let surname = format!("t{n}");
                let pairs = [("user_id", user.as_str()), ("u17", surname.as_str())];
                let body = post_signed(&client, &base, UPDATE, ("admin", ADMIN_KEY), &pairs).await;
                assert_eq!(body, updated(), "user {user}, update {n}");
                acked[slot].store(n, Ordering::SeqCst);
            }
        }));
    }
    while acked.iter().any(|a| a.load(Ordering::SeqCst) < BEFORE) {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }

    // The backup, while the writers go on.
    let copy = dir.path().join("backups").join("copy.db");
    std::fs::create_dir(dir.path().join("backups")).expect("mkdir");
    let before: Vec<usize> = acked.iter().map(|a| a.load(Ordering::SeqCst)).collect();
    let (url2, copy2) = (url.clone(), copy.clone());
    let out = tokio::task::spawn_blocking(move || {
        backup(&["--database", &url2, "--to", copy2.to_str().expect("utf-8 path")])
    })
    .await
    .expect("backup task");
    let after: Vec<usize> = acked.iter().map(|a| a.load(Ordering::SeqCst)).collect();
    // The writers were never held up for good: each gets further after the copy.
    while acked.iter().zip(&after).any(|(a, n)| a.load(Ordering::SeqCst) <= *n) {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    stop.store(true, Ordering::SeqCst);
    for w in writers {
        w.await.expect("writer");
    }
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "backup failed: {stdout}{stderr}");
    let expected_line = format!(
        "morapi: backed up {url} to {}: {} bytes, 8 users, schema version {}, integrity ok",
        copy.display(),
        std::fs::metadata(&copy).expect("the copy exists").len(),
        morapi::storage::schema::VERSION
    );
    assert_eq!(stdout.trim(), expected_line, "{stderr}");
    // Nothing else is left beside the copy (no temporary file, no -wal or -shm).
    let beside: Vec<_> = std::fs::read_dir(copy.parent().expect("dir"))
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(beside, ["copy.db"]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&copy).expect("copy").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the copy holds password hashes and keys: owner only");
    }

    // Restore as an operator would: the copy put in place of a database file, a server on it.
    let restored = dir.path().join("restored.db");
    std::fs::copy(&copy, &restored).expect("restore the copy");
    let restored_url = format!("sqlite://{}", restored.display());
    let (server, base, _) = start_server(&restored_url, false);
    let details = post_signed(
        &reqwest::Client::new(),
        &base,
        "/billing/api/user_details_get",
        ("admin", ADMIN_KEY),
        &[("user_id", "123")],
    )
    .await;
    assert_eq!(stop_server(server).code(), Some(0));

    // The restored data: per user, the surname t{N} and exactly the N audit rows t1..tN behind
    // it, chained, with every update acknowledged before the backup began and none sent after it.
    let db = Database::open(&restored_url).expect("open the restored copy");
    let restored_app = TestApp::serve(db).await;
    let changes = restored_app.changes().await;
    for (slot, user) in USERS.iter().enumerate() {
        let surname = restored_app.col(*user, "last_name").await;
        let n = step(&surname);
        assert!(
            (before[slot]..=after[slot]).contains(&n),
            "user {user}: the copy holds update {n}, acknowledged before: {}, by its end: {}",
            before[slot],
            after[slot]
        );
        let rows: Vec<&AuditEntry> =
            changes.iter().filter(|e| e.target_id == Some(*user) && e.field == "last_name").collect();
        let values: Vec<String> = rows.iter().map(|e| e.new_value.clone().unwrap_or_default()).collect();
        let expected: Vec<String> = (1..=n).map(|i| format!("t{i}")).collect();
        assert_eq!(values, expected, "user {user}: the audit trail matches the row it explains");
        for pair in rows.windows(2) {
            assert_eq!(pair[0].new_value, pair[1].old_value, "user {user}: an unbroken chain");
        }
        if *user == 123 {
            assert!(details.contains(&format!("<surname>{surname}</surname>")), "{details}");
            assert!(details.contains("<username>john</username>"), "{details}");
        }
    }
}

#[test]
fn other_engines_are_sent_to_their_own_dump_tools() {
    for (url, tool, shown) in [
        ("postgres://morapi:s3cret@db.example/billing", "pg_dump", "postgres://morapi:***@db.example/billing"),
        ("postgresql://db.example/billing", "pg_dump", "postgresql://db.example/billing"),
        ("mysql://morapi:s3cret@db.example/billing", "mariadb-dump --single-transaction", "mysql://morapi:***@"),
        ("mariadb://db.example/billing", "mariadb-dump --single-transaction", "mariadb://db.example/billing"),
    ] {
        let out = backup(&["--database", url, "--to", "never-written.db"]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{url}: {stderr}");
        assert!(stderr.starts_with("morapi backup: ") && stderr.contains(tool) && stderr.contains(shown), "{stderr}");
        assert!(!stderr.contains("s3cret"), "{stderr}");
        assert!(!Path::new("never-written.db").exists());
    }
}

#[test]
fn an_existing_file_is_replaced_only_with_force_and_never_by_the_database_itself() {
    let dir = tempfile::tempdir().expect("temp dir");
    let live = dir.path().join("live.db");
    let url = format!("sqlite://{}", live.display());
    let init = Command::new(BIN)
        .args(["init", "--database", &url])
        .env_remove("MORAPI_DATABASE")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("init");
    assert!(init.status.success(), "{}", text(&init.stderr));

    let target = dir.path().join("old-backup.db");
    std::fs::write(&target, "an older backup").expect("write");
    let refused = backup(&["--database", &url, "--to", target.to_str().expect("utf-8")]);
    assert_eq!(refused.status.code(), Some(1));
    assert_eq!(
        text(&refused.stderr).trim(),
        format!("morapi backup: {} exists already; give --force to replace it", target.display())
    );
    assert_eq!(std::fs::read_to_string(&target).expect("kept"), "an older backup");

    let forced = backup(&["--database", &url, "--to", target.to_str().expect("utf-8"), "--force"]);
    assert!(forced.status.success(), "{}", text(&forced.stderr));
    assert!(text(&forced.stdout).contains(", 1 users, "), "{}", text(&forced.stdout));
    assert_ne!(std::fs::read(&target).expect("replaced"), b"an older backup");

    let itself = backup(&["--database", &url, "--to", live.to_str().expect("utf-8"), "--force"]);
    assert_eq!(itself.status.code(), Some(1));
    assert!(text(&itself.stderr).contains("is the database itself"), "{}", text(&itself.stderr));

    let missing = dir.path().join("missing.db");
    let nothing = backup(&["--database", &format!("sqlite://{}", missing.display()), "--to", "x.db"]);
    assert_eq!(nothing.status.code(), Some(1));
    assert!(text(&nothing.stderr).contains("there is no database file at"), "{}", text(&nothing.stderr));
    assert!(!missing.exists(), "a backup never creates the database it was asked to copy");

    // A file that is not a morapi database: refused, and nothing is written.
    let stranger = dir.path().join("stranger.db");
    std::fs::write(&stranger, "not a database at all, just some text that is long enough").expect("write");
    let target = dir.path().join("stranger-copy.db");
    let bad =
        backup(&["--database", &format!("sqlite://{}", stranger.display()), "--to", target.to_str().expect("utf-8")]);
    assert_eq!(bad.status.code(), Some(1), "{}", text(&bad.stdout));
    assert!(!target.exists());
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".morapi-backup-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
