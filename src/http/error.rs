//! The one error type of the HTTP layer: every way a request can fail, mapped to its status and
//! MOR-style XML document in one place, and logged once, inside the request's span (which
//! carries the request id).

use super::xml;
use crate::catalogue::errors::{GateError, PageError};
use crate::domain::{Failure, Refusal};
use crate::storage::StoreError;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Why a request got no answer from its method.
#[derive(Debug)]
pub enum Error {
    /// A path that names no API method at all.
    NotFound,
    /// A verb other than GET and POST.
    MethodNotAllowed,
    BodyTooLarge,
    /// The method refused, or storage failed under it.
    Failed(Failure),
}

impl From<Failure> for Error {
    fn from(f: Failure) -> Error {
        Error::Failed(f)
    }
}

impl From<Refusal> for Error {
    fn from(r: Refusal) -> Error {
        Error::Failed(Failure::Refused(r))
    }
}

/// What a client is told when storage fails: nothing was written, except when the commit's
/// outcome could not be established, which the answer then says.
pub(super) fn storage_answer(e: &StoreError) -> PageError {
    match e {
        StoreError::Unavailable(_) => PageError::DatabaseUnavailable,
        StoreError::CommitUnknown(_) => PageError::CommitUnknown,
        StoreError::Conflict(_) => PageError::DatabaseBusy,
        _ => PageError::Internal,
    }
}

/// The XML document of a refusal.
pub fn refusal_document(r: &Refusal) -> String {
    match r {
        Refusal::Gate(g) | Refusal::HashRefused(g) => xml::status_error(g.text()),
        Refusal::Locked { seconds } => xml::status_error(&crate::catalogue::errors::msg::locked(*seconds)),
        Refusal::Page { error, messages } => xml::page_error(error.text(), messages),
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let (status, body) = match &self {
            Error::NotFound => (StatusCode::NOT_FOUND, xml::status_error(GateError::NoSuchApi.text())),
            Error::MethodNotAllowed => {
                (StatusCode::METHOD_NOT_ALLOWED, xml::status_error(GateError::MethodNotAllowed.text()))
            }
            Error::BodyTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, xml::status_error(GateError::BodyTooLarge.text())),
            // The request log says it (its messages can quote the parameters' values).
            Error::Failed(Failure::Refused(r)) => (StatusCode::OK, refusal_document(r)),
            Error::Failed(Failure::Store(e)) => {
                tracing::error!(error = %e, "request failed in storage");
                (StatusCode::OK, xml::page_error(storage_answer(e).text(), &[]))
            }
            Error::Failed(Failure::Internal(e)) => {
                tracing::error!(error = %e, "request failed");
                (StatusCode::OK, xml::page_error(PageError::Internal.text(), &[]))
            }
        };
        let mut response = xml::response(status, body);
        if matches!(self, Error::MethodNotAllowed) {
            response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("GET, POST"));
        }
        response
    }
}
