//! The wire: paths, methods, body limits and XML answers (docs/contract.md §1–§2). Every path under
//! `/api/` or `/billing/api/` lands in [`api`], which picks the method by name.

pub mod body;
pub mod client;
mod error;
mod render;
pub mod xml;

pub use error::Error;

use crate::auth::gate::RequestInfo;
use crate::catalogue::errors::{GateError, PageError};
use crate::domain::{Answer, Refusal};
use crate::read::{self, ReadRequest, Shape};
use crate::storage::Database;
use crate::update::{self, UpdateRequest};
use crate::values;
use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;
use tracing::Instrument;

/// Largest accepted request body.
pub const MAX_BODY: usize = 64 * 1024;

/// Shared by all requests.
#[derive(Clone)]
pub struct AppState {
    pub db: Database,
    /// Whose forwarding headers name the client (`--trusted-proxies`); nobody's by default.
    pub proxies: client::TrustedProxies,
}

pub fn router(state: AppState) -> Router {
    Router::new().route("/health", axum::routing::get(|| async { "ok\n" })).fallback(api).with_state(state)
}

/// The API method a path names: `/api/<name>` or `/billing/api/<name>`.
fn method_name(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("/billing").unwrap_or(path);
    let name = rest.strip_prefix("/api/")?.trim_end_matches('/');
    (!name.is_empty() && !name.contains('/')).then_some(name)
}

/// Every API request: its answer or error document, with its request id in `X-Request-Id`. The
/// whole request runs in a span that carries the request id, so everything logged for it (once,
/// by [`Error`]) says which request it was.
async fn api(State(state): State<AppState>, ConnectInfo(peer): ConnectInfo<SocketAddr>, req: Request) -> Response {
    let request_id = values::new_request_id();
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        method = tracing::field::Empty,
        alias = tracing::field::Empty,
        actor = tracing::field::Empty
    );
    let mut response =
        handle(state, peer, req, request_id.clone()).instrument(span).await.unwrap_or_else(Error::into_response);
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-request-id", v);
    }
    response
}

async fn handle(state: AppState, peer: SocketAddr, req: Request, request_id: String) -> Result<Response, Error> {
    let path = req.uri().path().to_string();
    let name = method_name(&path).ok_or(Error::NotFound)?.to_string();
    let span = tracing::Span::current();
    span.record("alias", name.as_str());
    let method = ApiMethod::by_name(&name).ok_or(Refusal::Gate(GateError::NoSuchApi))?;
    span.record("method", method.name());
    let is_get = match *req.method() {
        Method::POST => false,
        Method::GET => true,
        _ => return Err(Error::MethodNotAllowed),
    };
    let client_addr = client::client_addr(peer.ip(), &state.proxies, req.headers()).to_string();
    let query = req.uri().query().map(str::to_string);
    let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_string);
    let bytes = axum::body::to_bytes(req.into_body(), MAX_BODY).await.map_err(|_| Error::BodyTooLarge)?;
    let params = body::collect(query.as_deref(), content_type.as_deref(), bytes)
        .await
        .map_err(|e| Refusal::Page { error: method.bad_request(), messages: vec![e.0] })?;
    span.record("actor", params.get("u").unwrap_or_default());
    let info = RequestInfo { request_id, client_addr, endpoint: name, is_get };
    let answer: Answer = match method {
        ApiMethod::UserDetailsUpdate => update::serve(&state.db, UpdateRequest { params, info }).await?,
        ApiMethod::UserDetailsGet => read::serve(&state.db, ReadRequest { params, info }, Shape::Details).await?,
        ApiMethod::UserDetailsRawGet => read::serve(&state.db, ReadRequest { params, info }, Shape::Raw).await?,
    };
    Ok(xml::response(StatusCode::OK, render::answer(&answer)))
}

/// The API methods morapi serves. Each shares the wire handling above: paths, verbs, GET gating,
/// body parsing, limits and envelopes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiMethod {
    UserDetailsUpdate,
    UserDetailsGet,
    UserDetailsRawGet,
}

impl ApiMethod {
    /// The method's own name (the one its other names are aliases of).
    pub fn name(self) -> &'static str {
        match self {
            ApiMethod::UserDetailsUpdate => "user_details_update",
            ApiMethod::UserDetailsGet => "user_details_get",
            ApiMethod::UserDetailsRawGet => "user_details_raw_get",
        }
    }

    /// The method a path names, by any of its names (MOR's old names included).
    pub fn by_name(name: &str) -> Option<ApiMethod> {
        match name {
            "user_details_update" | "user_update_api" => Some(ApiMethod::UserDetailsUpdate),
            "user_details_get" | "user_details" => Some(ApiMethod::UserDetailsGet),
            "user_details_raw_get" => Some(ApiMethod::UserDetailsRawGet),
            _ => None,
        }
    }

    /// The `<page><error>` answered when the parameters cannot be read at all.
    fn bad_request(self) -> PageError {
        match self {
            ApiMethod::UserDetailsUpdate => PageError::UserNotUpdated,
            ApiMethod::UserDetailsGet | ApiMethod::UserDetailsRawGet => PageError::RequestNotRead,
        }
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
        ] {
            assert_eq!(ApiMethod::by_name(name), Some(method), "{name}");
        }
        for method in [UserDetailsUpdate, UserDetailsGet, UserDetailsRawGet] {
            assert_eq!(ApiMethod::by_name(method.name()), Some(method));
        }
        for name in ["user_details_raw", "user_get", "User_details_get", ""] {
            assert_eq!(ApiMethod::by_name(name), None, "{name}");
        }
    }
}
