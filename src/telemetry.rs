//! Metrics in Prometheus's text format (`GET /metrics`): every metric's name and meaning in one
//! table, the process-wide recorder, and the scrape. The code that measures something calls the
//! `metrics` facade with a name from here (storage, auth and the HTTP layer alike); the facade
//! costs nothing but a no-op call until [`install`] runs. This module imports nothing else of the
//! crate.

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::Duration;

/// API requests, by `method` (the method's own name, `unknown` for an API name that names none,
/// `none` for a path outside the API) and `outcome` (a short class, never free text).
pub const REQUESTS: &str = "morapi_requests_total";
/// Time from a request's arrival to its answer, by `method`.
pub const REQUEST_SECONDS: &str = "morapi_request_duration_seconds";
/// Pooled connections to a database server handed out to a transaction now.
pub const DB_POOL_IN_USE: &str = "morapi_db_pool_connections_in_use";
/// Pooled connections to a database server open now (in use or idle).
pub const DB_POOL_OPEN: &str = "morapi_db_pool_connections_open";
/// Transactions waiting for a pooled connection now.
pub const DB_POOL_WAITING: &str = "morapi_db_pool_waiting";
/// Transactions tried again, by `reason`: `conflict` (deadlock, serialization failure),
/// `unavailable` (the server could not serve; nothing was kept) or `commit_lost` (settled from the
/// audit trail).
pub const DB_RETRIES: &str = "morapi_db_retries_total";
/// Requests committed together by SQLite's writer in one transaction (one fsync).
pub const SQLITE_BATCH: &str = "morapi_sqlite_batch_size";
/// Requests refused for their hash (counted towards lockouts).
pub const HASH_REFUSALS: &str = "morapi_hash_refusals_total";
/// Lockouts started (a name at an address, or an address).
pub const LOCKOUTS: &str = "morapi_lockouts_started_total";

/// What a metric is, for the scrape's `# HELP` lines.
enum Kind {
    Counter,
    Gauge,
    Histogram(&'static [f64]),
}

/// Every metric: its name, kind and help text.
const METRICS: &[(&str, Kind, &str)] = &[
    (REQUESTS, Kind::Counter, "API requests by method and outcome class"),
    (
        REQUEST_SECONDS,
        Kind::Histogram(&[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]),
        "Seconds from a request's arrival to its answer, by method",
    ),
    (DB_POOL_IN_USE, Kind::Gauge, "Pooled database connections in use by a transaction"),
    (DB_POOL_OPEN, Kind::Gauge, "Pooled database connections open (in use or idle)"),
    (DB_POOL_WAITING, Kind::Gauge, "Transactions waiting for a pooled database connection"),
    (DB_RETRIES, Kind::Counter, "Transactions tried again, by reason (conflict, unavailable, commit_lost)"),
    (
        SQLITE_BATCH,
        Kind::Histogram(&[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0]),
        "Requests committed together by the SQLite writer in one transaction",
    ),
    (HASH_REFUSALS, Kind::Counter, "Requests refused for their hash"),
    (LOCKOUTS, Kind::Counter, "Lockouts started"),
];

/// How often histogram samples are folded in when nobody scrapes (the exporter keeps them until
/// then, so without it memory would grow).
const UPKEEP: Duration = Duration::from_secs(5);

/// Installs the process-wide recorder once, whoever asks first (`serve`, or each of many test
/// servers in one process), and returns the handle that renders the scrape.
pub fn install() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        // Histograms with fixed buckets (the exporter's default is a summary, which Prometheus
        // cannot aggregate across instances). Only an empty bucket list is refused: none is.
        let builder = METRICS
            .iter()
            .try_fold(PrometheusBuilder::new(), |builder, (name, kind, _)| match kind {
                Kind::Histogram(buckets) => builder.set_buckets_for_metric(Matcher::Full((*name).to_string()), buckets),
                _ => Ok(builder),
            })
            .unwrap_or_else(|e| {
                tracing::warn!("metric buckets not set: {e}");
                PrometheusBuilder::new()
            });
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        if let Err(e) = metrics::set_global_recorder(recorder) {
            tracing::warn!("metrics are not recorded: another recorder is installed ({e})");
        }
        for (name, kind, help) in METRICS {
            match kind {
                Kind::Counter => metrics::describe_counter!(*name, *help),
                Kind::Gauge => metrics::describe_gauge!(*name, *help),
                Kind::Histogram(_) => metrics::describe_histogram!(*name, *help),
            }
        }
        // Shown from the start, so that a rate over them is 0, not absent.
        metrics::counter!(HASH_REFUSALS).absolute(0);
        metrics::counter!(LOCKOUTS).absolute(0);
        let upkeep = handle.clone();
        let _ = std::thread::Builder::new().name("morapi-metrics".into()).spawn(move || {
            loop {
                std::thread::sleep(UPKEEP);
                upkeep.run_upkeep();
            }
        });
        handle
    })
}

/// The scrape: every metric in Prometheus's text format.
pub fn render() -> String {
    let handle = install();
    handle.run_upkeep();
    handle.render()
}

/// The `Content-Type` of [`render`]'s text.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
