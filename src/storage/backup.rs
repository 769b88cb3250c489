//! A consistent copy of a live SQLite database through SQLite's online backup API, safe while
//! servers write to it.
//!
//! The whole copy is one backup step, that is one read transaction: in WAL mode (every morapi
//! connection uses it) a reader never blocks writers, so the servers go on committing while the
//! copy sees one snapshot. Copying a few pages per step instead would restart from the first page
//! after every commit by another connection, and under a steady load might never finish.
//!
//! The copy is written to a temporary file beside the target, checked (`PRAGMA integrity_check`,
//! a morapi schema, its version), made durable, and only then renamed into place: a failed or
//! interrupted backup never leaves a half-written file under the target's name, nor replaces a
//! good older backup.

use super::{Result, StoreError};
use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long the copy waits for a source that is locked (in WAL mode only while a connection
/// recovers the log) before giving up.
const LOCKED_FOR_AT_MOST: Duration = Duration::from_secs(10);

/// What a finished backup holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copied {
    /// Where the copy now is.
    pub path: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
    /// Rows in `users`.
    pub users: i64,
    /// The schema version recorded in the copy.
    pub schema_version: i64,
}

/// Copies the SQLite database at `source` to `to`. An existing `to` is refused unless
/// `overwrite`; `to` is never the source itself.
pub fn backup(source: &Path, to: &Path, overwrite: bool) -> Result<Copied> {
    let config = |m: String| StoreError::Config(m);
    if !source.is_file() {
        return Err(config(format!("there is no database file at {}", source.display())));
    }
    if to.exists() {
        if !overwrite {
            return Err(config(format!("{} exists already; give --force to replace it", to.display())));
        }
        if same_file(source, to) {
            return Err(config(format!("{} is the database itself; back it up to another file", to.display())));
        }
    }
    let dir = match to.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    // Created with mode 0600: the copy holds password hashes and API keys.
    let tmp = tempfile::Builder::new()
        .prefix(".morapi-backup-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| config(format!("cannot create a temporary file in {}: {e}", dir.display())))?;

    copy(source, tmp.path())?;
    let (users, schema_version) = check(tmp.path())?;
    tmp.as_file().sync_all().map_err(|e| config(format!("cannot write {}: {e}", tmp.path().display())))?;
    let bytes = tmp.as_file().metadata().map(|m| m.len()).unwrap_or_default();

    let placed = if overwrite { tmp.persist(to) } else { tmp.persist_noclobber(to) };
    placed.map_err(|e| match e.error.kind() {
        // Another backup got there between the check above and now.
        std::io::ErrorKind::AlreadyExists => {
            config(format!("{} exists already; give --force to replace it", to.display()))
        }
        _ => config(format!("cannot move the copy to {}: {}", to.display(), e.error)),
    })?;
    // The rename itself made durable (a crash now keeps the new name).
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(Copied { path: to.to_path_buf(), bytes, users, schema_version })
}

/// Whether two existing paths are the same file.
fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

fn db_err(what: &str, path: &Path) -> impl Fn(rusqlite::Error) -> StoreError {
    let at = format!("{what} {}", path.display());
    move |e| StoreError::Database(format!("{at}: {e}"))
}

/// Copies every page of `source` into the (empty) database file `to` in one step.
fn copy(source: &Path, to: &Path) -> Result<()> {
    // Opened for writing, never written to (nor migrated): a read-only connection could not
    // remove the -wal and -shm files it creates when no server runs, and files left there by
    // another user (root) would keep the service's own user from opening the database.
    let from = Connection::open_with_flags(source, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(db_err("cannot open", source))?;
    let mut dest = Connection::open(to).map_err(db_err("cannot open", to))?;
    let backup = Backup::new(&from, &mut dest).map_err(db_err("cannot start the backup of", source))?;
    let started = Instant::now();
    loop {
        match backup.step(-1).map_err(db_err("cannot copy", source))? {
            StepResult::Done => return Ok(()),
            // Only a negative page count was asked for, so More cannot come; Busy and Locked pass.
            StepResult::More | StepResult::Busy | StepResult::Locked if started.elapsed() < LOCKED_FOR_AT_MOST => {
                std::thread::sleep(Duration::from_millis(50));
            }
            _ => {
                return Err(StoreError::Database(format!(
                    "{} stayed locked for {} s; nothing was written",
                    source.display(),
                    LOCKED_FOR_AT_MOST.as_secs()
                )));
            }
        }
    }
}

/// Checks the copy as a restore would open it: intact, a morapi schema. Returns its users and
/// schema version.
fn check(path: &Path) -> Result<(i64, i64)> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(db_err("cannot open the copy", path))?;
    let verdict: Vec<String> = {
        let mut stmt = conn.prepare("PRAGMA integrity_check").map_err(db_err("cannot check", path))?;
        stmt.query_map([], |r| r.get(0)).and_then(|rows| rows.collect()).map_err(db_err("cannot check", path))?
    };
    if verdict != ["ok"] {
        return Err(StoreError::Database(format!("the copy failed its integrity check: {}", verdict.join("; "))));
    }
    let has = |table: &str| -> Result<bool> {
        conn.query_row("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?1", [table], |r| {
            r.get::<_, i64>(0)
        })
        .map(|n| n > 0)
        .map_err(db_err("cannot read", path))
    };
    if !has("users")? {
        return Err(StoreError::Config("the database holds no morapi schema (no users table)".into()));
    }
    let users = conn.query_row("SELECT COUNT(*) FROM users", [], |r| r.get(0)).map_err(db_err("cannot read", path))?;
    // Version 1 recorded no version on SQLite (as the migration reads it).
    let version = if has("schema_migrations")? {
        conn.query_row("SELECT MAX(version) FROM schema_migrations", [], |r| r.get::<_, Option<i64>>(0))
            .map_err(db_err("cannot read", path))?
    } else {
        None
    };
    // Closed before the rename: the last connection removes its -wal and -shm files.
    conn.close().map_err(|(_, e)| db_err("cannot close", path)(e))?;
    Ok((users, version.unwrap_or(1)))
}
