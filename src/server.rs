//! Starting and stopping the HTTP server; used by `morapi serve` and by the tests (port 0).

use crate::http::client::TrustedProxies;
use crate::http::{AppState, router};
use crate::storage::Database;
use crate::tls::Tls;
use axum::serve::ListenerExt;
use std::future::Future;
use std::net::SocketAddr;
use tokio::net::TcpListener;

/// What `serve` can add to plain HTTP with every peer taken as the client.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Serve HTTPS with this certificate (reloadable through the handle).
    pub tls: Option<Tls>,
    /// Proxies whose forwarding headers name the client.
    pub trusted_proxies: TrustedProxies,
    /// `/metrics` has a listener of its own (`--metrics-listen`, [`crate::http::probes::serve_metrics`]),
    /// so this one does not serve it.
    pub metrics_elsewhere: bool,
}

/// Serves the API over plain HTTP on `listener` until `shutdown` resolves; in-flight requests
/// then finish.
pub async fn serve(
    listener: TcpListener,
    db: Database,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, db, Options::default(), shutdown).await
}

/// [`serve`], over TLS when `options` has it, and with trusted proxies.
pub async fn serve_with(
    listener: TcpListener,
    db: Database,
    options: Options,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(AppState { db, proxies: options.trusted_proxies, metrics: !options.metrics_elsewhere });
    let app = app.into_make_service_with_connect_info::<SocketAddr>();
    match options.tls {
        None => axum::serve(listener, app).with_graceful_shutdown(shutdown).await,
        // `tap_io` is how axum hands a custom listener's peer address to `ConnectInfo`.
        Some(tls) => axum::serve(tls.listener(listener).tap_io(|_| {}), app).with_graceful_shutdown(shutdown).await,
    }
}

/// Resolves on SIGTERM or Ctrl-C. The handlers are installed when this is called, not when the
/// future is first polled, so a signal that arrives right after startup is not lost.
pub fn shutdown_signal() -> std::io::Result<impl Future<Output = ()> + Send + 'static> {
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    #[cfg(unix)]
    let mut int = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
    Ok(async move {
        #[cfg(unix)]
        tokio::select! {
            _ = term.recv() => {},
            _ = int.recv() => {},
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down: finishing in-flight requests");
    })
}

/// Reloads the TLS certificate and key on every SIGHUP, for as long as the process runs (a
/// renewed certificate is picked up without a restart). A reload that fails is logged and the
/// current certificate stays. Needs a Tokio runtime; the handler is installed before it returns.
#[cfg(unix)]
pub fn reload_on_hangup(tls: Tls) -> std::io::Result<()> {
    let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
    tokio::spawn(async move {
        while hangup.recv().await.is_some() {
            match tls.reload() {
                Ok(()) => tracing::info!(cert = %tls.cert_path().display(), "TLS certificate reloaded"),
                Err(e) => tracing::error!("TLS certificate not reloaded, the current one stays in use: {e}"),
            }
        }
    });
    Ok(())
}
