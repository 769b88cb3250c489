//! `morapi serve`: the HTTP server.

use super::db::DbArgs;
use crate::http::client::TrustedProxies;
use crate::storage::{PoolOptions, demo};
use crate::tls::Tls;
use std::path::PathBuf;

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
    /// Serve HTTPS with this PEM certificate chain (leaf first); needs --tls-key. Re-read on
    /// SIGHUP. Without it morapi serves plain HTTP and expects a TLS-terminating proxy in front.
    #[arg(long, env = "MORAPI_TLS_CERT", value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key (PKCS#8, PKCS#1 or SEC1) of --tls-cert; re-read on SIGHUP.
    #[arg(long, env = "MORAPI_TLS_KEY", value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Reverse proxies (IP addresses or CIDR networks, comma-separated, e.g.
    /// 10.0.0.0/8,2001:db8::1) whose Forwarded / X-Forwarded-For / X-Real-IP headers name the
    /// client for the audit trail. From any other peer those headers are ignored. Default: none.
    #[arg(long, env = "MORAPI_TRUSTED_PROXIES", value_name = "CIDR,...", value_parser = TrustedProxies::parse)]
    pub trusted_proxies: Option<TrustedProxies>,
    /// How log lines are written to stderr: `text` (one readable line each) or `json` (one JSON
    /// object per line, for a log collector). Levels come from RUST_LOG (default `info`).
    #[arg(long, env = "MORAPI_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Serve /metrics (Prometheus) on this address of its own, e.g. 127.0.0.1:9090, and not on
    /// --listen, so that it need not face the internet. Default: /metrics on --listen.
    #[arg(long, env = "MORAPI_METRICS_LISTEN", value_name = "ADDR")]
    pub metrics_listen: Option<String>,
}

/// `--log-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Logs to stderr at `RUST_LOG`'s levels (default `info`), in `format`, except that the database
/// drivers and the HTTP and TLS libraries never log below `info`, whatever `RUST_LOG` says, even
/// when it names them: at `debug` tokio-postgres logs every statement with its parameter values,
/// and a batch with its text, which puts password hashes, e-mail addresses and API keys in the
/// log. The others are capped as well so that no future version of them can do the same. Colour
/// only when stderr is a terminal (and `NO_COLOR` is not set): a file or a journal gets none.
pub fn init_tracing(format: LogFormat) {
    use std::io::IsTerminal;
    use tracing_subscriber::filter::{LevelFilter, Targets};
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    const CAPPED: &[&str] = &[
        "tokio_postgres",
        "postgres_protocol",
        "mysql",
        "mysql_common",
        "rusqlite",
        "r2d2",
        "hyper",
        "hyper_util",
        "reqwest",
        "rustls",
        "tokio_rustls",
    ];
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let caps = CAPPED
        .iter()
        .fold(Targets::new().with_default(LevelFilter::TRACE), |t, target| t.with_target(*target, LevelFilter::INFO));
    let fmt = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => {
            let ansi = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            fmt.with_ansi(ansi).finish().with(caps).try_init()
        }
        // An event's fields at the top level; the request span's (request id, method, actor)
        // under "span".
        LogFormat::Json => {
            fmt.json().flatten_event(true).with_current_span(true).with_span_list(false).finish().with(caps).try_init()
        }
    };
}

/// Serves until SIGTERM or Ctrl-C, on a multi-threaded runtime of its own (requests run in
/// parallel; the other commands need one thread).
pub fn run(opts: Opts) -> anyhow::Result<()> {
    init_tracing(opts.log_format);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| anyhow::anyhow!("cannot start the async runtime: {e}"))?;
    runtime.block_on(run_server(opts))
}

async fn run_server(opts: Opts) -> anyhow::Result<()> {
    // The certificate first: a bad file is reported before anything touches the database.
    let tls = match (&opts.tls_cert, &opts.tls_key) {
        (Some(cert), Some(key)) => Some(Tls::load(cert, key)?),
        (None, None) => None,
        // clap's `requires` refuses this already; kept so that it can never serve plain HTTP.
        _ => anyhow::bail!("--tls-cert and --tls-key go together: give both or neither"),
    };
    let trusted_proxies = opts.trusted_proxies.clone().unwrap_or_default();
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
    if let Some(tls) = &tls {
        #[cfg(unix)]
        crate::server::reload_on_hangup(tls.clone())?;
        tracing::info!(cert = %tls.cert_path().display(), key = %tls.key_path().display(), "serving HTTPS (SIGHUP reloads the certificate)");
    } else {
        tracing::warn!(
            "serving plain HTTP: passwords and API hashes cross the network readable; put a TLS-terminating \
             proxy in front (or use --tls-cert and --tls-key)"
        );
    }
    if !trusted_proxies.is_empty() {
        tracing::info!(%trusted_proxies, "client addresses from Forwarded / X-Forwarded-For / X-Real-IP of trusted proxies");
    }
    let scheme = if tls.is_some() { "https" } else { "http" };
    println!("morapi: listening on {scheme}://{addr}, database {}", opts.db.shown());
    if let Some(metrics) = &opts.metrics_listen {
        let listener = tokio::net::TcpListener::bind(metrics)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {metrics} (--metrics-listen): {e}"))?;
        println!("morapi: metrics on http://{}/metrics", listener.local_addr()?);
        // Ends with the process: a scrape has nothing to finish.
        tokio::spawn(async move {
            if let Err(e) = crate::http::probes::serve_metrics(listener, std::future::pending()).await {
                tracing::error!("the metrics listener stopped: {e}");
            }
        });
    }
    let options = crate::server::Options { tls, trusted_proxies, metrics_elsewhere: opts.metrics_listen.is_some() };
    crate::server::serve_with(listener, db, options, shutdown).await?;
    println!("morapi: stopped");
    Ok(())
}
