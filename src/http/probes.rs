//! The paths for operators and their tools, outside the API: `/health` (liveness: the process
//! answers, no database), `/ready` (readiness: a real round trip to the database) and `/metrics`
//! (Prometheus). Plain text; GET and HEAD only, any other verb answered 405 with `Allow` and a
//! sentence. They are not API methods (not under `/api/`), and not in the request log: probes
//! every few seconds would drown it (`/ready` logs when readiness changes).

use super::AppState;
use crate::telemetry;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};
use std::sync::atomic::{AtomicBool, Ordering};

/// The probes on the API's listener: `/metrics` too unless it has a listener of its own.
pub fn routes(metrics: bool) -> Router<AppState> {
    let routes = Router::new().route("/health", only_get(get(health))).route("/ready", only_get(get(ready)));
    if metrics { routes.route("/metrics", only_get(get(scrape))) } else { routes }
}

/// `/metrics` alone, for `--metrics-listen`; every other path is 404.
pub fn metrics_router() -> Router {
    telemetry::install();
    Router::new()
        .route("/metrics", only_get(get(scrape)))
        .fallback(|| async { (StatusCode::NOT_FOUND, text("Not found: this listener serves /metrics only\n")) })
}

fn text(body: impl Into<String>) -> Response {
    let mut response = body.into().into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    response
}

/// GET (and HEAD, which axum answers with GET's headers); any other verb a 405 that says so.
fn only_get<S: Clone + Send + Sync + 'static>(route: MethodRouter<S>) -> MethodRouter<S> {
    route.fallback(|req: Request| async move {
        let mut response = text(format!("Method Not Allowed: {} answers GET and HEAD only\n", req.uri().path()));
        *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
        response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        response
    })
}

async fn health() -> Response {
    text("ok\n")
}

/// 200 `ready`, or 503 with the reason (the storage error's words, which never hold the URL's
/// password).
async fn ready(State(state): State<AppState>) -> Response {
    /// Whether the last check found the database ready, so that only a change is logged.
    static READY: AtomicBool = AtomicBool::new(true);
    match state.db.ready().await {
        Ok(()) => {
            if !READY.swap(true, Ordering::Relaxed) {
                tracing::info!("ready: the database answers again");
            }
            text("ready\n")
        }
        Err(e) => {
            if READY.swap(false, Ordering::Relaxed) {
                tracing::warn!(error = %e, "not ready: the database does not answer");
            }
            let mut response = text(format!("not ready: {e}\n"));
            *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
            response
        }
    }
}

async fn scrape() -> Response {
    let mut response = telemetry::render().into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(telemetry::CONTENT_TYPE));
    response
}
