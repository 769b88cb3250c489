//! `morapi backup`: a consistent copy of a SQLite database, safe while servers use it
//! ([`crate::storage::backup`]). PostgreSQL and MariaDB/MySQL have dump tools of their own, which
//! know their engine better than any copy of ours could; the refusal names them.

use super::db::DbArgs;
use crate::storage::{Engine, redact};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
#[command(after_help = "Restore: stop morapi, delete the database's -wal and -shm files, put the copy \
    in place of the database file, start morapi.")]
pub struct Opts {
    #[command(flatten)]
    pub db: DbArgs,
    /// The file to write the copy to; it must not exist yet (see --force).
    #[arg(long, value_name = "FILE")]
    pub to: PathBuf,
    /// Replace FILE if it exists (it is replaced only once the new copy is complete and checked).
    #[arg(long)]
    pub force: bool,
}

pub fn run(opts: Opts) -> anyhow::Result<()> {
    let url = &opts.db.database;
    match Engine::of(url) {
        Some(Engine::Sqlite) => copy(&opts),
        Some(Engine::Postgres) => anyhow::bail!(
            "{} is a PostgreSQL database: back it up with PostgreSQL's own pg_dump (e.g. pg_dump -Fc -f morapi.dump \
             DBNAME; restore with pg_restore)",
            redact(url)
        ),
        Some(Engine::Mysql) => anyhow::bail!(
            "{} is a MariaDB/MySQL database: back it up with mariadb-dump --single-transaction (mysqldump on MySQL; \
             restore with mariadb)",
            redact(url)
        ),
        None => anyhow::bail!("unsupported database URL {:?}: morapi backup copies sqlite://PATH", redact(url)),
    }
}

#[cfg(feature = "sqlite")]
fn copy(opts: &Opts) -> anyhow::Result<()> {
    let path = crate::storage::sqlite_path(&opts.db.database).unwrap_or_default();
    if path.is_empty() {
        anyhow::bail!("the sqlite:// URL needs a file path, e.g. sqlite://morapi.db");
    }
    let copied = crate::storage::backup::backup(std::path::Path::new(path), &opts.to, opts.force)?;
    let known = crate::storage::schema::VERSION;
    let note = match copied.schema_version {
        v if v < known => format!(" (older than this morapi's {known}: `morapi migrate` upgrades a restored copy)"),
        v if v > known => format!(" (newer than this morapi's {known}: restore it with a newer morapi)"),
        _ => String::new(),
    };
    println!(
        "morapi: backed up {} to {}: {} bytes, {} users, schema version {}{note}, integrity ok",
        opts.db.shown(),
        copied.path.display(),
        copied.bytes,
        copied.users,
        copied.schema_version
    );
    Ok(())
}

#[cfg(not(feature = "sqlite"))]
fn copy(opts: &Opts) -> anyhow::Result<()> {
    anyhow::bail!(
        "cannot back up {}: this morapi was built without SQLite support (cargo feature `sqlite`)",
        opts.db.shown()
    )
}
