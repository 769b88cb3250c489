//! The command line: `serve` and `hash`.

use crate::auth::hash::{Variant, hash_string, sign};
use crate::params::Params;
use crate::storage::{Database, PoolOptions, demo, redact};
use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(name = "morapi", version, about = "A MOR-compatible billing API server (user_details_update)")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the MOR API over HTTP.
    Serve(ServeOpts),
    /// Compute the hash MOR expects for a request, and show the exact string that was hashed.
    Hash(HashOpts),
}

#[derive(Debug, clap::Args)]
pub struct ServeOpts {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "MORAPI_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Database URL; a SQLite file is created and migrated on first start.
    #[arg(long, env = "MORAPI_DATABASE", default_value = "sqlite://morapi.db")]
    pub database: String,
    /// Load the demo dataset when the database has no users yet.
    #[arg(long, env = "MORAPI_DEMO")]
    pub demo: bool,
    /// Most connections to a database server (PostgreSQL, MariaDB/MySQL).
    #[arg(long, env = "MORAPI_DB_POOL_SIZE", default_value_t = 16)]
    pub db_pool_size: usize,
    /// Seconds to wait for a database server connection before a request fails.
    #[arg(long, env = "MORAPI_DB_TIMEOUT", default_value_t = 5.0)]
    pub db_timeout: f64,
}

#[derive(Debug, clap::Args)]
#[command(after_help = "Example:\n  morapi hash --key 456789 user_id=123 u15=1\n\n\
The order of the pairs does not matter: MOR's fixed order decides. `u`, `hash` and other\n\
unhashed names are ignored, so you can paste a request's whole parameter list.")]
pub struct HashOpts {
    /// The API secret key (or set MORAPI_KEY to keep it out of shell history).
    #[arg(long, env = "MORAPI_KEY", hide_env_values = true)]
    pub key: String,
    /// Request parameters as name=value (raw values, as sent).
    #[arg(value_name = "NAME=VALUE")]
    pub pairs: Vec<String>,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(opts) => serve(opts),
        Command::Hash(opts) => match hash(&opts) {
            Ok(text) => {
                print!("{text}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("morapi hash: {e}");
                ExitCode::from(2)
            }
        },
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

fn serve(opts: ServeOpts) -> ExitCode {
    init_tracing();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("morapi: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run_server(opts)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("morapi: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run_server(opts: ServeOpts) -> anyhow::Result<()> {
    let pool = PoolOptions {
        max_connections: opts.db_pool_size,
        timeout: std::time::Duration::from_secs_f64(opts.db_timeout),
        ..PoolOptions::default()
    };
    let db = Database::open_with(&opts.database, pool).map_err(|e| anyhow::anyhow!("cannot open the database: {e}"))?;
    if opts.demo {
        if demo::load(&db).await? {
            println!("morapi: demo data loaded");
        } else {
            println!("morapi: the database already has users; demo data not loaded, existing data left alone");
        }
    }
    let listener = tokio::net::TcpListener::bind(&opts.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", opts.listen))?;
    let addr = listener.local_addr()?;
    println!("morapi: listening on http://{addr}, database {}", redact(&opts.database));
    crate::server::serve(listener, db, crate::server::shutdown_signal()).await?;
    println!("morapi: stopped");
    Ok(())
}

/// The text `morapi hash` prints: per variant, the string that was hashed (key masked) and the hash.
pub fn hash(opts: &HashOpts) -> Result<String, String> {
    let mut pairs = Vec::new();
    for pair in &opts.pairs {
        let (k, v) = pair.split_once('=').ok_or_else(|| format!("expected NAME=VALUE, got {pair:?}"))?;
        pairs.push((k.to_string(), v.to_string()));
    }
    let params = Params::from_pairs(pairs);
    let masked = "*".repeat(opts.key.chars().count());
    let documented = hash_string(&params, Variant::Documented);
    let actual = hash_string(&params, Variant::MorActual);
    let mut out = String::new();
    if documented == actual {
        out.push_str(&format!("hashed string: {documented}{masked}\n"));
        out.push_str(&format!("hash: {}\n", sign(&params, &opts.key, Variant::Documented)));
    } else {
        out.push_str("user_warning_email_hour and pgui are hashed by the documentation but not by MOR itself;\n");
        out.push_str("morapi accepts either hash.\n");
        out.push_str(&format!("documented hashed string: {documented}{masked}\n"));
        out.push_str(&format!("documented hash: {}\n", sign(&params, &opts.key, Variant::Documented)));
        out.push_str(&format!("MOR hashed string: {actual}{masked}\n"));
        out.push_str(&format!("MOR hash: {}\n", sign(&params, &opts.key, Variant::MorActual)));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_valid() {
        Cli::command().debug_assert();
    }

    #[test]
    fn hash_prints_string_with_masked_key() {
        let out = hash(&HashOpts {
            key: "456789".into(),
            pairs: vec!["u15=1".into(), "user_id=123".into(), "u=admin".into()],
        })
        .unwrap();
        assert_eq!(out, "hashed string: 1231******\nhash: 0ab3ede4e93a55c38855a2cc9b9e169d35442c48\n");
    }

    #[test]
    fn hash_shows_both_variants_when_they_differ() {
        let out = hash(&HashOpts { key: "456789".into(), pairs: vec!["user_id=123".into(), "pgui=1".into()] }).unwrap();
        assert!(out.contains("documented hashed string: 1231******"));
        assert!(out.contains("MOR hashed string: 123******"));
    }

    #[test]
    fn hash_rejects_pairs_without_equals() {
        assert!(hash(&HashOpts { key: "k".into(), pairs: vec!["oops".into()] }).is_err());
    }
}
