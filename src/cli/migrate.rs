//! `morapi migrate`: creates or updates the schema (also done by every start).

use clap::Args;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct Opts {
    #[arg(long, env = "MORAPI_DATABASE", hide_env_values = true, default_value = "sqlite://morapi.db")]
    pub database: String,
}

pub fn run(opts: Opts) -> ExitCode {
    let result = super::block_on(async move {
        crate::storage::Database::open(&opts.database).map_err(|e| format!("cannot open the database: {e}"))?;
        Ok(format!(
            "morapi: schema of {} is at version {}\n",
            crate::storage::redact(&opts.database),
            crate::storage::schema::VERSION
        ))
    });
    super::finish("morapi migrate", result)
}
