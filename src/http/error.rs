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
    /// The body is larger than [`super::limits::MAX_BODY`].
    BodyTooLarge,
    /// The body broke off or was malformed.
    BodyNotRead,
    /// The body did not arrive within `--body-timeout`.
    BodyTimedOut,
    HeadersTooLarge,
    UriTooLong,
    /// `--request-timeout` passed before the method started.
    TimedOut,
    /// `--request-timeout` passed while a read method was running.
    TimedOutRead,
    /// `--request-timeout` passed while a change was with the database (it may still commit).
    TimedOutMayApply,
    /// `--request-timeout` passed on a path outside the API (answered in plain text).
    TimedOutOther,
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
        StoreError::Conflict(_) | StoreError::Busy(_) => PageError::DatabaseBusy,
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

impl Error {
    /// Whether the connection is closed after this answer (said in `Connection: close`, and the
    /// HTTP library then closes it): the body was not read to its end, or not in time, so what
    /// follows on the connection cannot be trusted to be the next request.
    fn closes_connection(&self) -> bool {
        matches!(
            self,
            Error::BodyTooLarge
                | Error::BodyNotRead
                | Error::BodyTimedOut
                | Error::HeadersTooLarge
                | Error::UriTooLong
                | Error::TimedOut
                | Error::TimedOutRead
                | Error::TimedOutMayApply
                | Error::TimedOutOther
        )
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
            Error::BodyNotRead => (StatusCode::BAD_REQUEST, xml::status_error(GateError::BodyNotRead.text())),
            Error::BodyTimedOut => (StatusCode::REQUEST_TIMEOUT, xml::status_error(GateError::BodyTimedOut.text())),
            Error::HeadersTooLarge => {
                (StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, xml::status_error(GateError::HeadersTooLarge.text()))
            }
            Error::UriTooLong => (StatusCode::URI_TOO_LONG, xml::status_error(GateError::UriTooLong.text())),
            Error::TimedOut => (StatusCode::REQUEST_TIMEOUT, xml::status_error(GateError::TimedOut.text())),
            Error::TimedOutRead => {
                tracing::warn!("request timed out while the method was running");
                (StatusCode::SERVICE_UNAVAILABLE, xml::page_error(PageError::TimedOutRead.text(), &[]))
            }
            Error::TimedOutMayApply => {
                tracing::warn!("request timed out while its change was with the database; it may still commit");
                (StatusCode::SERVICE_UNAVAILABLE, xml::page_error(PageError::TimedOutMayApply.text(), &[]))
            }
            Error::TimedOutOther => {
                let mut response = (StatusCode::SERVICE_UNAVAILABLE, "request timed out\n").into_response();
                response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
                return response;
            }
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
        if self.closes_connection() {
            response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        response
    }
}
