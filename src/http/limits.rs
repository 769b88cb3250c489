//! The edges of a request that the HTTP library leaves to us: how large a head and a body may be,
//! how long a body may take, and how far a request had got when its time ran out. Each is
//! answered in the API's own XML (see [`super::Error`]), never by a bare library status.
//!
//! The server loop ([`crate::server`]) puts a [`Progress`] into every request and wraps its body
//! in a [`DeadlineBody`]; the API handler reads both through the functions here.

use super::Error;
use crate::catalogue::params::{Kind, PARAMS, PROTOCOL_PARAMS};
use axum::extract::Request;
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, LazyLock};
use std::task::{Context, Poll};
use std::time::Duration;

/// Bytes one character can take in a body at worst: four UTF-8 bytes, each percent-encoded as
/// `%XX` (a JSON `\uXXXX\uXXXX` surrogate pair is the same twelve).
const WORST_BYTES_PER_CHAR: usize = 12;

/// What one parameter adds around its value at worst: its name, `=` and `&`, or a multipart part's
/// boundary line (up to 70 characters), `Content-Disposition` and `Content-Type` headers.
const WORST_OVERHEAD_PER_PARAM: usize = 256;

/// The longest value, in characters, a parameter can carry and still be accepted. Free text has
/// its own limit; everything else (numbers, ids, words, passwords) is held to a text column.
fn max_chars(kind: Kind) -> usize {
    match kind {
        Kind::Text { max } | Kind::Email { max } | Kind::RecordingsEmail { max } | Kind::Username { max } => max,
        _ => crate::values::TEXT_MAX,
    }
}

/// The largest body accepted: every parameter of the catalogue and of the protocol at its longest,
/// encoded at worst, rounded up to whole KiB. Derived from the catalogue so that raising a field's
/// limit raises this one with it: a request the catalogue accepts always fits.
pub static MAX_BODY: LazyLock<usize> = LazyLock::new(|| {
    let params = PARAMS.iter().map(|p| max_chars(p.kind));
    let protocol = PROTOCOL_PARAMS.iter().map(|_| crate::values::TEXT_MAX);
    let worst: usize =
        params.chain(protocol).map(|chars| chars * WORST_BYTES_PER_CHAR + WORST_OVERHEAD_PER_PARAM).sum();
    worst.div_ceil(1024) * 1024
});

/// How far a request got, for an honest answer when `--request-timeout` passes: before the
/// method started nothing was done; after, a change may still commit. Also carries the head
/// limit the handler checks. Put into every request's extensions by the server loop.
#[derive(Clone, Debug)]
pub struct Progress {
    stage: Arc<AtomicU8>,
    max_header_bytes: usize,
}

const OTHER: u8 = 0;
const API_READING: u8 = 1;
const API_READ_METHOD: u8 = 2;
const API_CHANGE_METHOD: u8 = 3;

impl Progress {
    pub fn new(max_header_bytes: usize) -> Progress {
        Progress { stage: Arc::new(AtomicU8::new(OTHER)), max_header_bytes }
    }

    /// The request is an API request, still being read.
    pub fn api(&self) {
        self.stage.store(API_READING, Ordering::Relaxed);
    }

    /// The method is about to run (`changes`: it may write).
    pub fn method_started(&self, changes: bool) {
        self.stage.store(if changes { API_CHANGE_METHOD } else { API_READ_METHOD }, Ordering::Relaxed);
    }

    /// The answer when `--request-timeout` passed at this point. The method's own work is not
    /// cancelled (the server runs it in a task of its own, bounded by the database timeouts), so
    /// once it has started, the answer must not claim that nothing changed.
    pub fn timed_out(&self) -> Error {
        match self.stage.load(Ordering::Relaxed) {
            API_READ_METHOD => Error::TimedOutRead,
            API_CHANGE_METHOD => Error::TimedOutMayApply,
            API_READING => Error::TimedOut,
            _ => Error::TimedOutOther,
        }
    }
}

/// Refuses a head larger than `--max-header-bytes` (request line and headers, counted as sent),
/// so that a request under `/api/` that the HTTP library let through is answered in XML. The
/// library's own limit is set above this one for that reason (see [`crate::server`]).
pub fn check_head(req: &Request) -> Result<(), Error> {
    let Some(limit) = req.extensions().get::<Progress>().map(|p| p.max_header_bytes) else { return Ok(()) };
    let uri = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    if uri > limit {
        return Err(Error::UriTooLong);
    }
    // "METHOD URI HTTP/1.1\r\n", then "name: value\r\n" per header.
    let line = req.method().as_str().len() + uri + 12;
    let headers: usize = req.headers().iter().map(|(n, v)| n.as_str().len() + v.len() + 4).sum();
    if line + headers > limit { Err(Error::HeadersTooLarge) } else { Ok(()) }
}

/// Marks the request as an API request (for the timeout answer).
pub fn api_request(req: &Request) -> Option<Progress> {
    let progress = req.extensions().get::<Progress>().cloned();
    if let Some(p) = &progress {
        p.api();
    }
    progress
}

/// Reads the whole body, at most [`MAX_BODY`] bytes, telling apart a body too large (413), one
/// that did not arrive in time (408) and one that broke off or was malformed (400).
pub async fn read_body(req: Request) -> Result<Bytes, Error> {
    let declared = req.headers().get(axum::http::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok());
    if declared.and_then(|v| v.trim().parse::<u64>().ok()).is_some_and(|n| n > *MAX_BODY as u64) {
        return Err(Error::BodyTooLarge);
    }
    match Limited::new(req.into_body(), *MAX_BODY).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if caused_by::<LengthLimitError>(&*e) => Err(Error::BodyTooLarge),
        Err(e) if caused_by::<BodyTimedOut>(&*e) => Err(Error::BodyTimedOut),
        Err(e) => {
            tracing::debug!(error = %e, "request body could not be read");
            Err(Error::BodyNotRead)
        }
    }
}

/// Whether `T` is anywhere in `e`'s chain of causes.
fn caused_by<T: std::error::Error + 'static>(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(e);
    while let Some(e) = next {
        if e.is::<T>() {
            return true;
        }
        next = e.source();
    }
    false
}

/// The body did not arrive within `--body-timeout`.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive within the body timeout")]
pub struct BodyTimedOut;

/// A request body that fails with [`BodyTimedOut`] once its deadline has passed: the whole body
/// must arrive within the time, however slowly it trickles (a per-read timeout would let a client
/// send one byte every few seconds forever).
pub struct DeadlineBody<B> {
    inner: B,
    deadline: Pin<Box<tokio::time::Sleep>>,
}

impl<B> DeadlineBody<B> {
    pub fn new(inner: B, timeout: Duration) -> DeadlineBody<B> {
        DeadlineBody { inner, deadline: Box::pin(tokio::time::sleep(timeout)) }
    }
}

impl<B> Body for DeadlineBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<axum::BoxError>,
{
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        match self.deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(BodyTimedOut)))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A request with every parameter at its longest, encoded at worst, fits the body limit: this
    /// fails if someone raises a field's limit in the catalogue in a way the limit does not follow.
    #[test]
    fn the_longest_request_the_catalogue_accepts_fits_the_body_limit() {
        let worst = "\u{1F600}"; // four UTF-8 bytes: %F0%9F%98%80
        let encoded_char = percent_encoding::utf8_percent_encode(worst, percent_encoding::NON_ALPHANUMERIC).to_string();
        assert_eq!(encoded_char.len(), WORST_BYTES_PER_CHAR);
        let mut body = String::new();
        for p in PARAMS {
            body.push_str(&format!("{}={}&", p.name, encoded_char.repeat(max_chars(p.kind))));
        }
        for name in PROTOCOL_PARAMS {
            body.push_str(&format!("{name}={}&", encoded_char.repeat(crate::values::TEXT_MAX)));
        }
        assert!(body.len() <= *MAX_BODY, "{} > {}", body.len(), *MAX_BODY);
        // The comment alone (65,535 characters) cannot fit the old 64 KiB limit.
        let comment = PARAMS.iter().map(|p| max_chars(p.kind)).max().unwrap_or_default();
        assert!(*MAX_BODY >= comment * WORST_BYTES_PER_CHAR);
    }

    #[test]
    fn causes_are_found_through_the_chain() {
        let wrapped: axum::BoxError = Box::new(axum::Error::new(BodyTimedOut));
        assert!(caused_by::<BodyTimedOut>(&*wrapped));
        assert!(!caused_by::<LengthLimitError>(&*wrapped));
    }

    #[tokio::test]
    async fn a_trickling_body_times_out_as_a_whole() {
        let (tx, body) = {
            let (tx, rx) = tokio::sync::mpsc::channel::<Result<Frame<Bytes>, std::io::Error>>(4);
            let stream = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|f| (f, rx)) });
            (tx, http_body_util::StreamBody::new(Box::pin(stream)))
        };
        let body = DeadlineBody::new(body, Duration::from_millis(300));
        let feed = tokio::spawn(async move {
            for _ in 0..20 {
                if tx.send(Ok(Frame::data(Bytes::from_static(b"a")))).await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
        let e = body.collect().await.err().map(|e| caused_by::<BodyTimedOut>(&*e));
        feed.abort();
        assert_eq!(e, Some(true));
    }
}
