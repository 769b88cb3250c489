//! The wire: paths, methods, body limits and XML answers (behaviour.md §2). Every path under
//! `/api/` or `/billing/api/` lands in [`api`], which picks the method by name.

pub mod body;
pub mod xml;

use crate::auth::gate::RequestInfo;
use crate::catalogue::errors::{GateError, PageError, USER_UPDATED};
use crate::read::{self, ReadRequest, Shape};
use crate::storage::{Database, StoreError};
use crate::update::{self, Answer, UpdateRequest};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;

/// Largest accepted request body.
pub const MAX_BODY: usize = 64 * 1024;

/// Shared by all requests.
#[derive(Clone)]
pub struct AppState {
    pub db: Database,
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

fn xml_response(status: StatusCode, body: String, request_id: &str) -> Response {
    let mut resp = (status, body).into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml; charset=utf-8"));
    if let Ok(v) = HeaderValue::from_str(request_id) {
        resp.headers_mut().insert("x-request-id", v);
    }
    resp
}

fn new_request_id() -> String {
    format!("{:016x}", rand::random::<u64>())
}

async fn api(State(state): State<AppState>, ConnectInfo(peer): ConnectInfo<SocketAddr>, req: Request) -> Response {
    let request_id = new_request_id();
    let path = req.uri().path().to_string();
    let Some(name) = method_name(&path) else {
        return xml_response(StatusCode::NOT_FOUND, xml::status_error(GateError::NoSuchApi.text()), &request_id);
    };
    let name = name.to_string();
    let Some(method) = ApiMethod::by_name(&name) else {
        return xml_response(StatusCode::OK, xml::status_error(GateError::NoSuchApi.text()), &request_id);
    };
    let is_get = match *req.method() {
        Method::POST => false,
        Method::GET => true,
        _ => {
            let mut r = xml_response(
                StatusCode::METHOD_NOT_ALLOWED,
                xml::status_error(GateError::MethodNotAllowed.text()),
                &request_id,
            );
            r.headers_mut().insert(header::ALLOW, HeaderValue::from_static("GET, POST"));
            return r;
        }
    };
    let query = req.uri().query().map(str::to_string);
    let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_string);
    let bytes: Bytes = match axum::body::to_bytes(req.into_body(), MAX_BODY).await {
        Ok(b) => b,
        Err(_) => {
            return xml_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                xml::status_error(GateError::BodyTooLarge.text()),
                &request_id,
            );
        }
    };
    let params = match body::collect(query.as_deref(), content_type.as_deref(), bytes).await {
        Ok(p) => p,
        Err(e) => {
            return xml_response(StatusCode::OK, xml::page_error(method.bad_request().text(), &[e.0]), &request_id);
        }
    };
    let info = RequestInfo {
        request_id: request_id.clone(),
        client_addr: peer.ip().to_string(),
        endpoint: name,
        now: chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
        is_get,
    };
    let body = match method {
        ApiMethod::UserDetailsUpdate => {
            render(&run_update(&state.db, UpdateRequest { params, info, password_hash: None }).await)
        }
        ApiMethod::UserDetailsGet => {
            render_read(&run_read(&state.db, ReadRequest { params, info }, Shape::Details).await)
        }
        ApiMethod::UserDetailsRawGet => {
            render_read(&run_read(&state.db, ReadRequest { params, info }, Shape::Raw).await)
        }
    };
    xml_response(StatusCode::OK, body, &request_id)
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

/// The answer to a storage failure, in MOR's shape: nothing was written, except when the commit's
/// outcome could not be established, which the answer then says.
pub fn storage_error(request_id: &str, e: &StoreError) -> PageError {
    tracing::error!(request_id, error = %e, "request failed in storage");
    match e {
        StoreError::Unavailable(_) => PageError::DatabaseUnavailable,
        StoreError::CommitUnknown(_) => PageError::CommitUnknown,
        StoreError::Conflict(_) => PageError::DatabaseBusy,
        _ => PageError::Internal,
    }
}

/// Runs the update; when a password must be hashed, hashes it off the async threads and runs
/// again, so Argon2 never runs for a request that fails authentication or validation.
async fn run_update(db: &Database, mut request: UpdateRequest) -> Answer {
    for _ in 0..2 {
        let req = request.clone();
        let result = db.transact(move |repo| update::run(repo, &req)).await;
        match result {
            Ok(Answer::NeedsPasswordHash) if request.password_hash.is_none() => {
                let plain = request.params.get("pswd").unwrap_or_default().to_string();
                match tokio::task::spawn_blocking(move || crate::password::hash(&plain)).await {
                    Ok(Ok(h)) => request.password_hash = Some(h),
                    _ => return Answer::page(PageError::Internal),
                }
            }
            Ok(answer) => return answer,
            Err(e) => return Answer::page(storage_error(&request.info.request_id, &e)),
        }
    }
    Answer::page(PageError::Internal)
}

/// Runs a read method; nothing is kept but the audit row of a refused hash.
async fn run_read(db: &Database, request: ReadRequest, shape: Shape) -> read::Answer {
    let request_id = request.info.request_id.clone();
    match db.transact(move |repo| read::run(repo, &request, shape)).await {
        Ok(answer) => answer,
        Err(e) => read::Answer::page(storage_error(&request_id, &e)),
    }
}

fn render_read(answer: &read::Answer) -> String {
    match answer {
        read::Answer::Gate(g) => xml::status_error(g.text()),
        read::Answer::Page { error, messages } => xml::page_error(error.text(), messages),
        read::Answer::Found(document) => document.document(),
    }
}

fn render(answer: &Answer) -> String {
    match answer {
        Answer::Gate(g) => xml::status_error(g.text()),
        Answer::Page { error, messages } => xml::page_error(error.text(), messages),
        Answer::Updated => xml::page_status(USER_UPDATED),
        Answer::NeedsPasswordHash => xml::page_error(PageError::Internal.text(), &[]),
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
        for name in ["user_details_raw", "user_get", "User_details_get", ""] {
            assert_eq!(ApiMethod::by_name(name), None, "{name}");
        }
    }
}
