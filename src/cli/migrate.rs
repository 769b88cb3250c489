//! `morapi migrate`: creates or updates the schema (also done by every start).

use super::db::DbArgs;
use super::run;
use clap::Args;

#[derive(Debug, Args)]
pub struct Opts {
    #[command(flatten)]
    pub db: DbArgs,
}

pub fn run(opts: Opts) -> anyhow::Result<()> {
    // Opening migrates; the database itself is not needed afterwards.
    run::block_on(async { opts.db.open() })?;
    println!("morapi: schema of {} is at version {}", opts.db.shown(), crate::storage::schema::VERSION);
    Ok(())
}
