//! `morapi migrate`: brings the database schema to this morapi's version (creating it in an
//! empty database), or with `--status` says where it stands without changing anything. The only
//! command besides `serve --migrate` that upgrades a schema: every other one refuses an older
//! schema, so that the server's everyday role needs no right to change it.

use super::db::DbArgs;
use super::run;
use crate::storage::schema::{self, Found, Policy};
use crate::storage::{Database, PoolOptions, redact_message};
use clap::Args;

#[derive(Debug, Args)]
#[command(after_help = "Needs a database role that may change the schema (CREATE, ALTER, INDEX, DROP). \
                        Instances starting or migrating together take turns under a lock.")]
pub struct Opts {
    #[command(flatten)]
    pub db: DbArgs,
    /// Only print the schema version found, this morapi's, and the migrations pending; change
    /// nothing.
    #[arg(long)]
    pub status: bool,
}

pub fn run(opts: Opts) -> anyhow::Result<()> {
    let shown = opts.db.shown();
    let policy = if opts.status { Policy::Inspect } else { Policy::Upgrade };
    let url = opts.db.database.clone();
    let report = run::block_on(async move {
        Database::migrate(&url, PoolOptions::default(), policy).map_err(|e| {
            anyhow::anyhow!("cannot migrate the database {shown}: {}", redact_message(&e.to_string(), &url))
        })
    })?;
    print!("{}", if opts.status { status(&opts.db.shown(), &report) } else { done(&opts.db.shown(), &report) });
    Ok(())
}

/// What `migrate` did, then where the schema stands.
fn done(shown: &str, report: &schema::Report) -> String {
    let mut out = String::new();
    match report.found {
        _ if report.applied.is_empty() => {}
        Found::Empty => out.push_str(&format!("morapi: created the schema of {shown} at version {}\n", report.now())),
        Found::At(from) => {
            out.push_str(&format!("morapi: upgraded the schema of {shown} from version {from} to {}\n", report.now()));
            for m in schema::MIGRATIONS.iter().filter(|m| report.applied.contains(&m.version)) {
                out.push_str(&format!("  applied {}: {}\n", m.version, m.name));
            }
        }
    }
    out.push_str(&format!("morapi: schema of {shown} is at version {}\n", report.now()));
    out
}

/// `migrate --status`: the version found, this morapi's, and what `migrate` would apply.
fn status(shown: &str, report: &schema::Report) -> String {
    let (found, pending): (String, Vec<String>) = match report.found {
        Found::Empty => {
            ("none (empty database)".into(), vec![format!("create the schema at version {}", schema::VERSION)])
        }
        Found::At(v) => (v.to_string(), schema::pending(v).map(|m| format!("{}: {}", m.version, m.name)).collect()),
    };
    let mut out = format!("database: {shown}\nschema version: {found}\nthis morapi: {}\n", schema::VERSION);
    match report.found {
        Found::At(v) if v > schema::VERSION => {
            out.push_str("pending: none; the database is newer: use a newer morapi\n")
        }
        _ if pending.is_empty() => out.push_str("pending: none\n"),
        _ => {
            out.push_str("pending:\n");
            for p in pending {
                out.push_str(&format!("  {p}\n"));
            }
        }
    }
    out
}
