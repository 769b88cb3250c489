//! The wire: paths, methods, body limits and XML answers (docs/contract.md §1–§2). Every path under
//! `/api/` or `/billing/api/` lands in [`api`], which picks the method by name.

pub mod body;
pub mod client;
mod error;
pub mod limits;
mod outcome;
pub mod probes;
mod render;
pub mod xml;

pub use error::{Envelope, Error};

use crate::auth::gate::RequestInfo;
use crate::catalogue::errors::{GateError, PageError};
use crate::domain::{Answer, Refusal};
use crate::lifecycle::{self, LifecycleRequest};
use crate::read::{self, ReadRequest, Shape};
use crate::storage::Database;
use crate::telemetry;
use crate::update::{self, UpdateRequest};
use crate::values;
use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use outcome::Outcome;
use std::net::SocketAddr;
use std::time::Instant;
use tracing::Instrument;

/// Shared by all requests.
#[derive(Clone)]
pub struct AppState {
    pub db: Database,
    /// Whose forwarding headers name the client (`--trusted-proxies`); nobody's by default.
    pub proxies: client::TrustedProxies,
    /// Whether `/metrics` is served here; `false` when it has a listener of its own
    /// (`--metrics-listen`, `server::serve_metrics`).
    pub metrics: bool,
}

pub fn router(state: AppState) -> Router {
    telemetry::install();
    probes::routes(state.metrics).fallback(api).with_state(state)
}

/// The API method a path names: `/api/<name>` or `/billing/api/<name>`.
fn method_name(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("/billing").unwrap_or(path);
    let name = rest.strip_prefix("/api/")?.trim_end_matches('/');
    (!name.is_empty() && !name.contains('/')).then_some(name)
}

/// The longest alias or actor name written to the log: a client can send kilobytes of either.
const LOGGED_NAME_MAX: usize = 64;

/// What the request log says about who asked for what, learnt as the request is read.
#[derive(Default)]
struct Seen {
    method: Option<ApiMethod>,
    /// The API name in the path (an alias, or no method's name at all).
    alias: Option<String>,
    /// `u` as sent.
    actor: Option<String>,
    /// `user_id`, when it is one.
    user_id: Option<i64>,
}

fn shortened(s: &str) -> String {
    s.chars().take(LOGGED_NAME_MAX).collect()
}

/// Every API request: its answer or error document, with its request id in `X-Request-Id`, and
/// one line in the request log (target `morapi::request`) once the answer is known. The whole
/// request runs in a span that carries the request id, so everything logged for it (once, by
/// [`Error`]) says which request it was.
///
/// The id is morapi's own, always: it is the one in the audit rows, by which storage proves
/// whether a commit whose answer was lost took effect, so it must never repeat. A sane
/// `X-Request-Id` of the client's ([`values::client_request_id`]) is logged beside it and echoed
/// back instead of it.
async fn api(State(state): State<AppState>, ConnectInfo(peer): ConnectInfo<SocketAddr>, req: Request) -> Response {
    let started = Instant::now();
    let request_id = values::new_request_id();
    let client_request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .and_then(values::client_request_id)
        .map(str::to_string);
    let client_addr = client::client_addr(peer.ip(), &state.proxies, req.headers()).to_string();
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        method = tracing::field::Empty,
        alias = tracing::field::Empty,
        actor = tracing::field::Empty
    );
    let mut seen = Seen::default();
    let handled = handle(state, req, request_id.clone(), client_addr.clone(), &mut seen).instrument(span.clone()).await;
    let (mut response, outcome) = match handled {
        Ok(answer) => (xml::response(StatusCode::OK, render::answer(&answer)), Outcome::answered(&answer)),
        Err(e) => {
            let outcome = Outcome::failed(&e);
            let envelope = seen.method.map_or(Envelope::Page, ApiMethod::envelope);
            (span.in_scope(|| e.respond(envelope)), outcome)
        }
    };
    let elapsed = started.elapsed();
    let method = match (seen.method, &seen.alias) {
        (Some(m), _) => m.name(),
        (None, Some(_)) => "unknown",
        (None, None) => "none",
    };
    // Measured with the log line's fields, never with free text (bounded label values).
    metrics::counter!(telemetry::REQUESTS, "method" => method, "outcome" => outcome.class).increment(1);
    metrics::histogram!(telemetry::REQUEST_SECONDS, "method" => method).record(elapsed.as_secs_f64());
    if outcome.bad_hash() {
        metrics::counter!(telemetry::HASH_REFUSALS).increment(1);
    }
    macro_rules! log_request {
        ($level:expr) => {
            tracing::event!(
                target: "morapi::request",
                $level,
                request_id = %request_id,
                client_request_id = client_request_id.as_deref(),
                method = seen.method.map(ApiMethod::name),
                alias = seen.alias.as_deref(),
                client = %client_addr,
                actor = seen.actor.as_deref(),
                user_id = seen.user_id,
                outcome = outcome.text.as_ref(),
                class = outcome.class,
                messages = (outcome.messages > 0).then_some(outcome.messages),
                status = response.status().as_u16(),
                latency_ms = elapsed.as_micros() as f64 / 1000.0,
                "request"
            )
        };
    }
    // A path outside the API touched nothing; scanners send thousands of them: `debug`.
    if seen.alias.is_none() {
        log_request!(tracing::Level::DEBUG);
    } else {
        log_request!(tracing::Level::INFO);
    }
    let echoed = client_request_id.as_deref().unwrap_or(&request_id);
    if let Ok(v) = HeaderValue::from_str(echoed) {
        response.headers_mut().insert("x-request-id", v);
    }
    response
}

async fn handle(
    state: AppState,
    req: Request,
    request_id: String,
    client_addr: String,
    seen: &mut Seen,
) -> Result<Answer, Error> {
    let progress = limits::api_request(&req);
    let path = req.uri().path().to_string();
    let name = method_name(&path).ok_or(Error::NotFound)?.to_string();
    let span = tracing::Span::current();
    seen.alias = Some(shortened(&name));
    span.record("alias", name.as_str());
    limits::check_head(&req)?;
    let method = ApiMethod::by_name(&name).ok_or(Refusal::Gate(GateError::NoSuchApi))?;
    seen.method = Some(method);
    span.record("method", method.name());
    let is_get = match *req.method() {
        Method::POST => false,
        Method::GET => true,
        _ => return Err(Error::MethodNotAllowed),
    };
    let query = req.uri().query().map(str::to_string);
    let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_string);
    let bytes = limits::read_body(req).await?;
    let params = body::collect(query.as_deref(), content_type.as_deref(), bytes)
        .await
        .map_err(|e| Refusal::Page { error: method.bad_request(), messages: vec![e.0] })?;
    seen.actor = params.get("u").map(shortened);
    span.record("actor", seen.actor.as_deref().unwrap_or_default());
    seen.user_id = params.get("user_id").and_then(values::user_id);
    // The names sent, never their values (which hold passwords, e-mail addresses, the hash).
    tracing::debug!(names = ?params.iter().map(|(name, _)| name).collect::<Vec<_>>(), "parameters read");
    let info = RequestInfo { request_id, client_addr, endpoint: name, is_get };
    if let Some(progress) = &progress {
        progress.method_started(method.writes());
    }
    let db = &state.db;
    Ok(match method {
        ApiMethod::UserDetailsUpdate => update::serve(db, UpdateRequest { params, info }).await?,
        ApiMethod::UserDetailsGet => read::serve(db, ReadRequest { params, info }, Shape::Details).await?,
        ApiMethod::UserDetailsRawGet => read::serve(db, ReadRequest { params, info }, Shape::Raw).await?,
        ApiMethod::UserRegister => lifecycle::register::serve(db, LifecycleRequest { params, info }).await?,
        ApiMethod::UsersGet => lifecycle::users::serve(db, LifecycleRequest { params, info }).await?,
        ApiMethod::UserDelete => lifecycle::delete::serve(db, LifecycleRequest { params, info }).await?,
        ApiMethod::UserLogin => lifecycle::login::serve(db, LifecycleRequest { params, info }).await?,
        ApiMethod::UserLogout => lifecycle::login::logout(db, LifecycleRequest { params, info }).await?,
    })
}

/// The API methods morapi serves. Each shares the wire handling above: paths, verbs, GET gating,
/// body parsing, limits and envelopes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiMethod {
    UserDetailsUpdate,
    UserDetailsGet,
    UserDetailsRawGet,
    UserRegister,
    UsersGet,
    UserDelete,
    UserLogin,
    UserLogout,
}

impl ApiMethod {
    /// The method's own name (the one its other names are aliases of).
    pub fn name(self) -> &'static str {
        match self {
            ApiMethod::UserDetailsUpdate => "user_details_update",
            ApiMethod::UserDetailsGet => "user_details_get",
            ApiMethod::UserDetailsRawGet => "user_details_raw_get",
            ApiMethod::UserRegister => "user_register",
            ApiMethod::UsersGet => "users_get",
            ApiMethod::UserDelete => "user_delete",
            ApiMethod::UserLogin => "user_login",
            ApiMethod::UserLogout => "user_logout",
        }
    }

    /// The method a path names, by any of its names (MOR's old names included).
    pub fn by_name(name: &str) -> Option<ApiMethod> {
        match name {
            "user_details_update" | "user_update_api" => Some(ApiMethod::UserDetailsUpdate),
            "user_details_get" | "user_details" => Some(ApiMethod::UserDetailsGet),
            "user_details_raw_get" => Some(ApiMethod::UserDetailsRawGet),
            "user_register" => Some(ApiMethod::UserRegister),
            "users_get" => Some(ApiMethod::UsersGet),
            "user_delete" => Some(ApiMethod::UserDelete),
            "user_login" | "login" => Some(ApiMethod::UserLogin),
            "user_logout" | "logout" => Some(ApiMethod::UserLogout),
            _ => None,
        }
    }

    /// The error answered when the parameters cannot be read at all.
    fn bad_request(self) -> PageError {
        match self {
            ApiMethod::UserDetailsUpdate => PageError::UserNotUpdated,
            _ => PageError::RequestNotRead,
        }
    }

    /// How the method wraps the errors it decides.
    pub fn envelope(self) -> Envelope {
        match self {
            ApiMethod::UserRegister | ApiMethod::UsersGet => Envelope::PageStatus,
            ApiMethod::UserLogin => Envelope::Login,
            _ => Envelope::Page,
        }
    }

    /// Whether the method may change what is stored (beyond a refusal's record): a timeout then
    /// cannot say that nothing was changed.
    fn writes(self) -> bool {
        matches!(
            self,
            ApiMethod::UserDetailsUpdate | ApiMethod::UserRegister | ApiMethod::UserDelete | ApiMethod::UserLogin
        )
    }
}

#[cfg(test)]
mod tests {
    use super::method_name;

    #[test]
    fn api_paths() {
        assert_eq!(method_name("/billing/api/user_details_update"), Some("user_details_update"));
        assert_eq!(method_name("/api/user_update_api"), Some("user_update_api"));
        assert_eq!(method_name("/api/nope"), Some("nope"));
        assert_eq!(method_name("/api/"), None);
        assert_eq!(method_name("/billing/x"), None);
        assert_eq!(method_name("/api/a/b"), None);
        assert_eq!(method_name("/api/user_details_update/"), Some("user_details_update"));
    }

    #[test]
    fn method_names() {
        use super::ApiMethod;
        use super::ApiMethod::*;
        for (name, method) in [
            ("user_details_update", UserDetailsUpdate),
            ("user_update_api", UserDetailsUpdate),
            ("user_details_get", UserDetailsGet),
            ("user_details", UserDetailsGet),
            ("user_details_raw_get", UserDetailsRawGet),
            ("user_register", UserRegister),
            ("users_get", UsersGet),
            ("user_delete", UserDelete),
            ("user_login", UserLogin),
            ("login", UserLogin),
            ("user_logout", UserLogout),
            ("logout", UserLogout),
        ] {
            assert_eq!(ApiMethod::by_name(name), Some(method), "{name}");
        }
        for method in [
            UserDetailsUpdate,
            UserDetailsGet,
            UserDetailsRawGet,
            UserRegister,
            UsersGet,
            UserDelete,
            UserLogin,
            UserLogout,
        ] {
            assert_eq!(ApiMethod::by_name(method.name()), Some(method));
        }
        for name in ["user_details_raw", "user_get", "User_details_get", "registration", "user_logins", ""] {
            assert_eq!(ApiMethod::by_name(name), None, "{name}");
        }
    }
}
