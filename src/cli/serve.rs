//! `morapi serve`: the HTTP server.

use super::db::DbArgs;
use crate::http::client::TrustedProxies;
use crate::storage::{PoolOptions, demo, schema};
use crate::tls::Tls;
use std::path::PathBuf;
use std::time::Duration;

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
    /// Most connections to a database server (PostgreSQL, MariaDB/MySQL), 1 to 1000.
    #[arg(long, env = "MORAPI_DB_POOL_SIZE", default_value_t = 16,
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub db_pool_size: u32,
    /// Seconds a request waits for a database server that is unreachable or not ready (retrying on
    /// fresh connections) before it fails; also the time allowed to find out whether a commit
    /// whose answer was lost took effect.
    #[arg(long, env = "MORAPI_DB_TIMEOUT", value_name = "SECONDS", default_value = "5",
          value_parser = |s: &str| crate::values::seconds(s, 0.1, 3600.0))]
    pub db_timeout: std::time::Duration,
    /// Seconds one statement waits for a lock another session holds (a row another transaction is
    /// changing; on SQLite, the file's write lock held by another process) before the request is
    /// rolled back and answered "Database is busy, nothing was changed; try again". Applied as
    /// PostgreSQL's lock_timeout, MariaDB/MySQL's innodb_lock_wait_timeout and lock_wait_timeout
    /// (whole seconds, rounded up), SQLite's busy timeout. Not retried: with --db-timeout, a
    /// request that meets a held lock ends within about --db-timeout plus this.
    #[arg(long, env = "MORAPI_DB_LOCK_TIMEOUT", value_name = "SECONDS", default_value = "2",
          value_parser = |s: &str| crate::values::seconds(s, 0.1, 600.0))]
    pub db_lock_timeout: std::time::Duration,
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
    /// Read settings from this TOML file: keys are the long flags in snake_case (db_pool_size =
    /// 16); flags and environment variables override it. `morapi config --sample` prints one.
    #[arg(long, env = "MORAPI_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Bring an older database schema to this morapi's version before serving (as `morapi
    /// migrate` does; needs a database role that may change the schema). Without it, an older
    /// schema is refused and nothing is changed; an empty database is created either way.
    #[arg(long, env = "MORAPI_MIGRATE")]
    pub migrate: bool,
    /// How log lines are written to stderr: `text` (one readable line each) or `json` (one JSON
    /// object per line, for a log collector). Levels come from RUST_LOG (default `info`).
    #[arg(long, env = "MORAPI_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Serve /metrics (Prometheus) on this address of its own, e.g. 127.0.0.1:9090, and not on
    /// --listen, so that it need not face the internet. Default: /metrics on --listen.
    #[arg(long, env = "MORAPI_METRICS_LISTEN", value_name = "ADDR")]
    pub metrics_listen: Option<String>,
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// The server's timeouts and caps (`server::Limits`): each bounded, so that a typo is refused at
/// start (clap exits with status 2 and names the allowed range) instead of panicking or
/// disabling a limit. The defaults must match `Limits::DEFAULT` (a test below checks).
#[derive(Debug, clap::Args)]
pub struct LimitArgs {
    /// Seconds a client has to send a whole request head (request line and headers), counted from
    /// its first byte. A client that stops half-way is disconnected.
    #[arg(long, env = "MORAPI_HEADER_TIMEOUT", value_name = "SECONDS", default_value = "10",
          value_parser = |s: &str| crate::values::seconds(s, 0.1, 3600.0))]
    pub header_timeout: Duration,
    /// Seconds a connection may wait for its next request (or its first) before it is closed.
    #[arg(long, env = "MORAPI_IDLE_TIMEOUT", value_name = "SECONDS", default_value = "60",
          value_parser = |s: &str| crate::values::seconds(s, 0.1, 86400.0))]
    pub idle_timeout: Duration,
    /// Seconds a client has to send a request body, counted from the end of the head; a body
    /// still arriving then is answered 408 in XML and nothing is changed.
    #[arg(long, env = "MORAPI_BODY_TIMEOUT", value_name = "SECONDS", default_value = "30",
          value_parser = |s: &str| crate::values::seconds(s, 0.1, 3600.0))]
    pub body_timeout: Duration,
    /// Seconds from the end of a request head to its answer. Storage work is never cut off: when
    /// this passes after a change went to the database, the answer says it may have been
    /// applied. Keep it above --db-timeout and the lock-wait limit so that it rarely fires.
    #[arg(long, env = "MORAPI_REQUEST_TIMEOUT", value_name = "SECONDS", default_value = "60",
          value_parser = |s: &str| crate::values::seconds(s, 0.1, 86400.0))]
    pub request_timeout: Duration,
    /// Seconds in-flight requests get to finish after SIGTERM or Ctrl-C; then the server exits
    /// and closes what is still open (0 exits at once).
    #[arg(long, env = "MORAPI_SHUTDOWN_TIMEOUT", value_name = "SECONDS", default_value = "30",
          value_parser = |s: &str| crate::values::seconds(s, 0.0, 3600.0))]
    pub shutdown_timeout: Duration,
    /// Most client connections open at once (TLS handshakes included), 1 to 100000. Each takes a
    /// file descriptor: keep this plus --db-pool-size plus about 64 below the process's file limit
    /// (`ulimit -n`, systemd's LimitNOFILE; 1024 unless raised). Above the cap, new connections
    /// wait in the listen queue until a slot frees.
    #[arg(long, env = "MORAPI_MAX_CONNECTIONS", value_name = "N", default_value_t = 512,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub max_connections: u32,
    /// Most bytes of a request line and headers, 8192 to 1048576; a larger head under /api/ is
    /// answered 431 (a longer URI alone 414) in XML.
    #[arg(long, env = "MORAPI_MAX_HEADER_BYTES", value_name = "BYTES", default_value_t = 32768,
          value_parser = clap::value_parser!(u32).range(8192..=1_048_576))]
    pub max_header_bytes: u32,
}

impl LimitArgs {
    pub fn limits(&self) -> crate::server::Limits {
        crate::server::Limits {
            header_timeout: self.header_timeout,
            idle_timeout: self.idle_timeout,
            body_timeout: self.body_timeout,
            request_timeout: self.request_timeout,
            shutdown_timeout: self.shutdown_timeout,
            max_connections: self.max_connections as usize,
            max_header_bytes: self.max_header_bytes as usize,
        }
    }
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
        max_connections: opts.db_pool_size as usize,
        timeout: opts.db_timeout,
        lock_timeout: opts.db_lock_timeout,
        schema: if opts.migrate { schema::Policy::Upgrade } else { schema::Policy::Current },
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
    #[cfg(unix)]
    crate::server::reload_on_hangup(tls.clone())?;
    if let Some(tls) = &tls {
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
        let limits = opts.limits.limits();
        tokio::spawn(async move {
            if let Err(e) = crate::server::serve_metrics(listener, limits, std::future::pending()).await {
                tracing::error!("the metrics listener stopped: {e}");
            }
        });
    }
    let options = crate::server::Options {
        tls,
        trusted_proxies,
        limits: opts.limits.limits(),
        metrics_elsewhere: opts.metrics_listen.is_some(),
    };
    crate::server::serve_with(listener, db, options, shutdown).await?;
    println!("morapi: stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        opts: Opts,
    }

    #[test]
    fn limit_defaults_are_the_servers() {
        let cli = Cli::try_parse_from(["morapi"]).map_err(|e| e.to_string());
        assert_eq!(cli.map(|c| c.opts.limits.limits()), Ok(crate::server::Limits::DEFAULT));
    }
}
