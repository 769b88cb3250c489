//! Starting and stopping the HTTP server; used by `morapi serve` and by the tests (port 0).
//!
//! The accept loop drives each connection with hyper directly (axum's own `serve` has no
//! timeouts, no connection cap and no bound on shutdown), so that slow, idle or hostile clients
//! cannot starve the others:
//!
//! - at most [`Limits::max_connections`] connections are open (TLS handshakes in progress
//!   included); at the cap new ones wait in the kernel's listen queue until a slot frees, and
//!   the timeouts below free slots held by idle or slow clients;
//! - a connection waiting for its next request is closed after [`Limits::idle_timeout`]; once
//!   the first byte of a request head arrives the whole head must arrive within
//!   [`Limits::header_timeout`];
//! - the body must arrive within [`Limits::body_timeout`] ([`DeadlineBody`]), answered `408` in
//!   XML otherwise;
//! - an answer is due within [`Limits::request_timeout`] of the head (see [`answer`] for why this
//!   never cancels storage work and what it answers);
//! - accept errors (out of file descriptors) back off instead of spinning;
//! - on shutdown, idle connections close at once and in-flight requests get at most
//!   [`Limits::shutdown_timeout`].

use crate::http::client::TrustedProxies;
use crate::http::limits::{DeadlineBody, Progress};
use crate::http::{AppState, router};
use crate::storage::Database;
use crate::tls::Tls;
use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::response::{IntoResponse, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;

/// The server's time and size limits (`morapi serve`'s flags of the same names). The defaults
/// here are the flags' defaults; `cli::serve` has a test that they agree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Time for a request head, from its first byte to its last.
    pub header_timeout: Duration,
    /// Time a connection may wait for its next request (also for its first).
    pub idle_timeout: Duration,
    /// Time for a request body, from the end of the head.
    pub body_timeout: Duration,
    /// Time from the end of the head to the answer.
    pub request_timeout: Duration,
    /// Time in-flight requests get to finish once shutdown begins.
    pub shutdown_timeout: Duration,
    /// Most connections open at once, TLS handshakes in progress included.
    pub max_connections: usize,
    /// Most bytes of a request line and headers that morapi answers (with XML `431` above it).
    pub max_header_bytes: usize,
}

impl Limits {
    pub const DEFAULT: Limits = Limits {
        header_timeout: Duration::from_secs(10),
        idle_timeout: Duration::from_secs(60),
        body_timeout: Duration::from_secs(30),
        request_timeout: Duration::from_secs(60),
        shutdown_timeout: Duration::from_secs(30),
        max_connections: 512,
        max_header_bytes: 32 * 1024,
    };

    /// The HTTP library's own limit on a request head (its read buffer), kept well above
    /// `max_header_bytes` (by the 64 KiB the library allows a URI, and a margin) so that a head
    /// over morapi's limit still reaches the handler and is answered in XML. Only a head larger
    /// than this is refused by the library itself (a bare `431`).
    fn library_head_limit(&self) -> usize {
        self.max_header_bytes + 80 * 1024
    }
}

impl Default for Limits {
    fn default() -> Limits {
        Limits::DEFAULT
    }
}

/// What `serve` can add to plain HTTP with every peer taken as the client.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Serve HTTPS with this certificate (reloadable through the handle).
    pub tls: Option<Tls>,
    /// Proxies whose forwarding headers name the client.
    pub trusted_proxies: TrustedProxies,
    /// Timeouts and caps.
    pub limits: Limits,
    /// `/metrics` has a listener of its own (`--metrics-listen`, [`serve_metrics`]),
    /// so this one does not serve it.
    pub metrics_elsewhere: bool,
}

/// Serves the API over plain HTTP on `listener` until `shutdown` resolves; in-flight requests
/// then finish (within the default shutdown timeout).
pub async fn serve(
    listener: TcpListener,
    db: Database,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    serve_with(listener, db, Options::default(), shutdown).await
}

/// [`serve`], over TLS when `options` has it, with trusted proxies and the given limits.
pub async fn serve_with(
    listener: TcpListener,
    db: Database,
    options: Options,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let app = router(AppState { db, proxies: options.trusted_proxies, metrics: !options.metrics_elsewhere });
    serve_router(listener, app, options.tls, options.limits, shutdown).await
}

/// Serves `/metrics` alone on `listener` (`--metrics-listen`: scrapes need not face the internet
/// with the API), under the same limits as the API's listener.
pub async fn serve_metrics(
    listener: TcpListener,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    serve_router(listener, crate::http::probes::metrics_router(), None, limits, shutdown).await
}

/// Serves any `Router` (the API, or another listener's routes) with the limits above. Requests
/// carry `ConnectInfo<SocketAddr>` (the TCP peer) and a [`Progress`].
pub async fn serve_router(
    listener: TcpListener,
    app: Router,
    tls: Option<Tls>,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let mut connections = JoinSet::new();
    let mut backoff = Backoff::default();
    tokio::pin!(shutdown);
    loop {
        // A slot first: at the cap, connections wait in the listen queue, not in memory.
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.map_err(io::Error::other)?,
            () = &mut shutdown => break,
        };
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    backoff.wait(e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        backoff.reset();
        while connections.try_join_next().is_some() {}
        let connection = Connection {
            peer,
            app: app.clone(),
            limits,
            watcher: graceful.watcher(),
            stopping: stopping.clone(),
            _slot: slot,
        };
        connections.spawn(connection.run(tcp, tls.clone()));
    }
    drop(listener);
    let _ = stop.send(true);
    let open = graceful.count();
    if open > 0 {
        tracing::info!(open, timeout = ?limits.shutdown_timeout, "waiting for in-flight requests");
    }
    if tokio::time::timeout(limits.shutdown_timeout, graceful.shutdown()).await.is_err() {
        tracing::warn!(
            still_open = connections.len(),
            "in-flight requests did not finish within the shutdown timeout; their connections are closed"
        );
    }
    connections.abort_all();
    while connections.join_next().await.is_some() {}
    Ok(())
}

/// Accept errors: a connection that died before it was accepted is nothing; anything else (out
/// of file descriptors, EMFILE) is logged and retried after a pause that doubles up to a second,
/// so that the loop does not spin while connections close and free descriptors.
#[derive(Default)]
struct Backoff {
    delay: Option<Duration>,
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(10);
    const MOST: Duration = Duration::from_secs(1);

    async fn wait(&mut self, e: io::Error) {
        if matches!(
            e.kind(),
            io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset
        ) {
            return;
        }
        let delay = self.delay.map_or(Self::FIRST, |d| (d * 2).min(Self::MOST));
        // Logged when the pause first reaches its longest, not on every retry.
        if self.delay != Some(Self::MOST) {
            tracing::error!("accept error: {e} (retrying; lower --max-connections or raise the file limit)");
        }
        self.delay = Some(delay);
        tokio::time::sleep(delay).await;
    }

    fn reset(&mut self) {
        self.delay = None;
    }
}

/// One accepted connection, holding its slot until it ends.
struct Connection {
    peer: SocketAddr,
    app: Router,
    limits: Limits,
    watcher: Watcher,
    /// Becomes `true` when the server stops: a TLS handshake still under way is then dropped.
    stopping: tokio::sync::watch::Receiver<bool>,
    _slot: OwnedSemaphorePermit,
}

impl Connection {
    async fn run(self, tcp: TcpStream, tls: Option<Tls>) {
        let _ = tcp.set_nodelay(true);
        match tls {
            None => self.drive(tcp).await,
            Some(tls) => {
                // A handshake carries no request yet: shutdown does not wait for it.
                let mut stopping = self.stopping.clone();
                let stream = tokio::select! {
                    stream = tls.handshake(tcp, self.peer) => stream,
                    _ = stopping.wait_for(|stop| *stop) => None,
                };
                if let Some(stream) = stream {
                    self.drive(stream).await;
                }
            }
        }
    }

    async fn drive<I: AsyncRead + AsyncWrite + Unpin + Send + 'static>(self, io: I) {
        let Connection { peer, app, limits, watcher, stopping: _, _slot } = self;
        let clock = Arc::new(Clock::new());
        let io = TokioIo::new(Watched { io, clock: clock.clone() });
        let service_clock = clock.clone();
        let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
            answer(app.clone(), peer, limits, service_clock.clone(), req)
        });
        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(TokioTimer::new())
            // Our own clock times the head (from its first byte) and the wait between requests.
            .header_read_timeout(None)
            .max_buf_size(limits.library_head_limit());
        let connection = watcher.watch(http.serve_connection(io, service));
        tokio::pin!(connection);
        loop {
            let deadline = clock.deadline(&limits);
            tokio::select! {
                result = &mut connection => {
                    if let Err(error) = result {
                        tracing::debug!(%peer, %error, "connection ended with an error");
                    }
                    return;
                }
                () = clock.changed.notified() => {}
                () = sleep_until(deadline) => {
                    if clock.deadline(&limits).is_some_and(|d| d <= Instant::now()) {
                        tracing::debug!(%peer, "connection closed: idle, head too slow, or timed out");
                        return;
                    }
                }
            }
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// Where a connection is between requests, for the idle and head timeouts: waiting for a request
/// (since the connection opened or the last answer was sent), receiving a head (since its first
/// byte), or busy with a request (no connection deadline: the body and request timeouts apply).
struct Clock {
    phase: AtomicU8,
    /// Milliseconds from `origin` to the start of the phase.
    since: AtomicU64,
    origin: Instant,
    changed: Notify,
}

const WAITING: u8 = 0;
const HEAD: u8 = 1;
const BUSY: u8 = 2;
/// An answer said `Connection: close` while the request was still being read elsewhere (a request
/// timeout): the library would keep reading its body, so the connection is closed shortly after
/// the answer was handed over (the grace lets it reach the socket).
const CLOSING: u8 = 3;
const CLOSING_GRACE: Duration = Duration::from_secs(1);

impl Clock {
    fn new() -> Clock {
        Clock {
            phase: AtomicU8::new(WAITING),
            since: AtomicU64::new(0),
            origin: Instant::now(),
            changed: Notify::new(),
        }
    }

    fn enter(&self, phase: u8) {
        let since = u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.since.store(since, Ordering::Relaxed);
        self.phase.store(phase, Ordering::Release);
        self.changed.notify_one();
    }

    fn deadline(&self, limits: &Limits) -> Option<Instant> {
        let allowed = match self.phase.load(Ordering::Acquire) {
            WAITING => limits.idle_timeout,
            HEAD => limits.header_timeout,
            CLOSING => CLOSING_GRACE,
            _ => return None,
        };
        Some(self.origin + Duration::from_millis(self.since.load(Ordering::Relaxed)) + allowed)
    }
}

/// The connection's stream, telling the clock when the first bytes of a request arrive.
struct Watched<I> {
    io: I,
    clock: Arc<Clock>,
}

impl<I: AsyncRead + Unpin> AsyncRead for Watched<I> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.io).poll_read(cx, buf);
        if buf.filled().len() > before && self.clock.phase.load(Ordering::Acquire) == WAITING {
            self.clock.enter(HEAD);
        }
        polled
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Watched<I> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

/// One request: the router's answer, due within `request_timeout`.
///
/// The router runs in a task of its own, so that neither this timeout nor a client that goes
/// away cancels a method half-way: storage work, once started, runs to its own end, which the
/// storage layer bounds itself (`--db-timeout`, the database's lock-wait limits). Cancelling it
/// here instead would leave a transaction whose outcome nobody knows. When the timeout passes
/// first, the answer says how far the request had got ([`Progress::timed_out`]): before the
/// method started, nothing was changed (`408`); after, a change may still commit, and the answer
/// says exactly that (`503`), never "nothing was changed". The connection is then closed.
async fn answer(
    mut app: Router,
    peer: SocketAddr,
    limits: Limits,
    clock: Arc<Clock>,
    req: hyper::Request<Incoming>,
) -> Result<Response, std::convert::Infallible> {
    clock.enter(BUSY);
    let progress = Progress::new(limits.max_header_bytes);
    let (mut parts, body) = req.into_parts();
    parts.extensions.insert(ConnectInfo(peer));
    parts.extensions.insert(progress.clone());
    let req = hyper::Request::from_parts(parts, Body::new(DeadlineBody::new(body, limits.body_timeout)));
    let mut work = tokio::spawn(tower_service::Service::call(&mut app, req));
    let response = match tokio::time::timeout(limits.request_timeout, &mut work).await {
        Ok(Ok(Ok(response))) => response,
        Ok(Ok(Err(never))) => match never {},
        Ok(Err(e)) => {
            tracing::error!(%peer, "request task failed: {e}");
            crate::http::Error::Failed(crate::domain::Failure::Internal(e.to_string())).into_response()
        }
        Err(_) => {
            let response = progress.timed_out().into_response();
            return Ok(response.map(|body| Body::new(Sent { body, clock, then: CLOSING, done: OnceLock::new() })));
        }
    };
    Ok(response.map(|body| Body::new(Sent { body, clock, then: WAITING, done: OnceLock::new() })))
}

/// An answer's body that tells the connection's clock when it has been sent (or dropped), so
/// that the idle timeout counts from the end of the answer (or the connection is closed).
struct Sent {
    body: Body,
    clock: Arc<Clock>,
    /// The phase after the answer: waiting for the next request, or closing.
    then: u8,
    done: OnceLock<()>,
}

impl Sent {
    fn finish(&self) {
        if self.done.set(()).is_ok() {
            self.clock.enter(self.then);
        }
    }
}

impl Drop for Sent {
    fn drop(&mut self) {
        self.finish();
    }
}

impl http_body::Body for Sent {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let polled = Pin::new(&mut self.body).poll_frame(cx);
        if matches!(polled, Poll::Ready(None)) {
            self.finish();
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// Resolves on SIGTERM or Ctrl-C. The handlers are installed when this is called, not when the
/// future is first polled, so a signal that arrives right after startup is not lost.
pub fn shutdown_signal() -> io::Result<impl Future<Output = ()> + Send + 'static> {
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
/// current certificate stays. Without TLS the signal is only logged: `systemctl reload` sends it
/// whatever the configuration, and its default action would end the server. Needs a Tokio
/// runtime; the handler is installed before it returns.
#[cfg(unix)]
pub fn reload_on_hangup(tls: Option<Tls>) -> io::Result<()> {
    let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
    tokio::spawn(async move {
        while hangup.recv().await.is_some() {
            match tls.as_ref().map(|tls| (tls, tls.reload())) {
                None => tracing::info!("SIGHUP: serving plain HTTP, there is no certificate to reload"),
                Some((tls, Ok(()))) => tracing::info!(cert = %tls.cert_path().display(), "TLS certificate reloaded"),
                Some((_, Err(e))) => tracing::error!("TLS certificate not reloaded, the current one stays in use: {e}"),
            }
        }
    });
    Ok(())
}
