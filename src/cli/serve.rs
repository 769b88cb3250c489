//! `morapi serve`: the HTTP server.

use super::db::DbArgs;
use crate::storage::{PoolOptions, demo};

#[derive(Debug, clap::Args)]
pub struct Opts {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "MORAPI_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    #[command(flatten)]
    pub db: DbArgs,
    /// Load the demo dataset when the database has no users yet.
    #[arg(long, env = "MORAPI_DEMO")]
    pub demo: bool,
    /// Most connections to a database server (PostgreSQL, MariaDB/MySQL).
    #[arg(long, env = "MORAPI_DB_POOL_SIZE", default_value_t = 16)]
    pub db_pool_size: usize,
    /// Seconds a request waits for a database server that is unreachable or not ready (retrying on
    /// fresh connections) before it fails; also the time allowed to find out whether a commit
    /// whose answer was lost took effect.
    #[arg(long, env = "MORAPI_DB_TIMEOUT", default_value_t = 5.0)]
    pub db_timeout: f64,
}

pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

/// Serves until SIGTERM or Ctrl-C, on a multi-threaded runtime of its own (requests run in
/// parallel; the other commands need one thread).
pub fn run(opts: Opts) -> anyhow::Result<()> {
    init_tracing();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| anyhow::anyhow!("cannot start the async runtime: {e}"))?;
    runtime.block_on(run_server(opts))
}

async fn run_server(opts: Opts) -> anyhow::Result<()> {
    let pool = PoolOptions {
        max_connections: opts.db_pool_size,
        timeout: std::time::Duration::from_secs_f64(opts.db_timeout),
        ..PoolOptions::default()
    };
    let db = opts.db.open_with(pool)?;
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
    let shutdown = crate::server::shutdown_signal()?;
    println!("morapi: listening on http://{addr}, database {}", opts.db.shown());
    crate::server::serve(listener, db, shutdown).await?;
    println!("morapi: stopped");
    Ok(())
}
