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

/// How a method wraps the errors it decides (docs/contract.md §2): MOR's methods differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Envelope {
    /// `<page><error>…</error><message>…</message></page>` (`user_details_update`, the reads,
    /// `user_delete`, `user_logout`).
    Page,
    /// `<page><status><error>…</error><message>…</message></status></page>` (`user_register`,
    /// `users_get`).
    PageStatus,
    /// `user_login`: a lockout and a storage failure are its failed `<action>` document.
    Login,
}

impl Envelope {
    /// The document of a method's error with its messages.
    fn page(self, error: &str, messages: &[String]) -> String {
        match self {
            Envelope::Page | Envelope::Login => xml::page_error(error, messages),
            Envelope::PageStatus => xml::page_status_error(error, messages),
        }
    }
}

/// The XML document of a refusal, in the method's envelope.
pub fn refusal_document(r: &Refusal, envelope: Envelope) -> String {
    match r {
        Refusal::Gate(g) | Refusal::HashRefused(g) => xml::status_error(g.text()),
        Refusal::Locked { seconds } if envelope == Envelope::Login => {
            super::render::login_failed(&crate::catalogue::errors::action::login_locked(*seconds))
        }
        Refusal::Locked { seconds } => xml::status_error(&crate::catalogue::errors::msg::locked(*seconds)),
        Refusal::Page { error, messages } => envelope.page(error.text(), messages),
        Refusal::Counted(error) => envelope.page(error.text(), &[]),
        Refusal::Problems(problems) => {
            let first = problems.first().map(String::as_str).unwrap_or_default();
            let messages = if problems.len() > 1 { &problems[..] } else { &[] };
            envelope.page(first, messages)
        }
    }
}

/// The document of a storage or internal failure, in the method's envelope.
fn failure_document(answer: PageError, envelope: Envelope) -> String {
    match envelope {
        Envelope::Login => super::render::login_failed(answer.text()),
        _ => envelope.page(answer.text(), &[]),
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
        self.respond(Envelope::Page)
    }
}

impl Error {
    /// The response, a method's own errors in its `envelope`.
    pub fn respond(self, envelope: Envelope) -> Response {
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
            Error::Failed(Failure::Refused(r)) => (StatusCode::OK, refusal_document(r, envelope)),
            Error::Failed(Failure::Store(e)) => {
                tracing::error!(error = %e, "request failed in storage");
                (StatusCode::OK, failure_document(storage_answer(e), envelope))
            }
            Error::Failed(Failure::Internal(e)) => {
                tracing::error!(error = %e, "request failed");
                (StatusCode::OK, failure_document(PageError::Internal, envelope))
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
