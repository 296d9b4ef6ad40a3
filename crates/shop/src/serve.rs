//! Accepting connections and serving HTTP/1.1 on them, with the limits of an
//! open network (`server.*`):
//!
//! - a client gets `header_timeout_secs` to send a request's head, from the
//!   connection's start or from the head's first byte, so a slow sender
//!   (one byte a second) is cut off;
//! - an idle keep-alive connection is closed after `keep_alive_timeout_secs`;
//! - at most `max_connections` are open, and never so many that the
//!   database pool runs out of file descriptors: beyond, new connections wait
//!   in the listen queue, and the open ones are served as before;
//! - when `accept` fails (no descriptor left), the loop pauses and tries
//!   again, while every open connection goes on being answered.
//!
//! Graceful shutdown: the listener closes, connections finish the request
//! they are in and close; what is still open after `shutdown_timeout` is dropped.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::Sleep;
use tower::ServiceExt;

/// The connection limits.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Time to send a request's head.
    pub header_timeout: Duration,
    /// Time an idle keep-alive connection is kept.
    pub keep_alive_timeout: Duration,
    /// The most connections open at once.
    pub max_connections: usize,
}

/// File descriptors kept for everything but client connections: the
/// database pools, the SQLite files, the log.
pub fn reserved_descriptors(database_connections: u32) -> u64 {
    64 + 2 * u64::from(database_connections)
}

/// Raises the soft limit of open files to the hard one, where allowed, and
/// returns the limit in force: what caps the connections.
pub fn raise_open_files_limit() -> Option<u64> {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => Some(limit),
        Err(err) => {
            tracing::warn!(error = %err, "could not read or raise the open-files limit");
            None
        }
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then drains
/// for at most `drain`.
pub async fn serve(
    listener: TcpListener,
    router: axum::Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
    drain: Duration,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    // Head and idle timeouts are `Timed`'s; hyper's own would close idle
    // keep-alive connections at the head's deadline.
    http.timer(TokioTimer::new()).header_read_timeout(None).keep_alive(true);
    let mut last_accept_error: Option<Instant> = None;
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break, // closed: cannot happen, the semaphore lives here
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of descriptors, most likely: the open connections are served
                    // by their own tasks; pause, and say so at most once a second.
                    if last_accept_error.is_none_or(|at| at.elapsed() >= Duration::from_secs(1)) {
                        tracing::warn!(error = %err, "accepting a connection failed; retrying");
                        last_accept_error = Some(Instant::now());
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        if let Err(err) = stream.set_nodelay(true) {
            tracing::debug!(error = %err, "TCP_NODELAY not set on a connection");
        }
        let phase = Arc::new(Phase::new());
        let io = TokioIo::new(Timed::new(stream, phase.clone(), limits));
        let service = router.clone().map_request(move |mut request: axum::http::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            request
        });
        let service = TowerToHyperService::new(Busy { inner: service, phase });
        let connection = graceful.watch(http.serve_connection(io, service));
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!(error = %err, %peer, "a connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    tracing::info!("shutting down: no new connections; finishing requests in flight");
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(drain) => {
            tracing::warn!("requests still in flight after the shutdown timeout; stopping anyway");
        }
    }
}

/// Where a connection is: waiting for a request's head, or busy with a request.
struct Phase {
    busy: AtomicBool,
    /// Milliseconds since `origin` when the connection last became idle.
    idle_since_ms: AtomicU64,
    origin: Instant,
}

impl Phase {
    fn new() -> Self {
        Self { busy: AtomicBool::new(false), idle_since_ms: AtomicU64::new(0), origin: Instant::now() }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}

/// The service of one connection: marks it busy from a request's head until
/// its response is ready, and idle after.
#[derive(Clone)]
struct Busy<S> {
    inner: S,
    phase: Arc<Phase>,
}

impl<S, R> tower::Service<R> for Busy<S>
where
    S: tower::Service<R> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: R) -> Self::Future {
        self.phase.busy.store(true, Ordering::Release);
        let phase = self.phase.clone();
        let response = self.inner.call(request);
        Box::pin(async move {
            let response = response.await;
            phase.idle_since_ms.store(phase.now_ms(), Ordering::Release);
            phase.busy.store(false, Ordering::Release);
            response
        })
    }
}

/// A connection's socket with the head and idle deadlines: while the
/// connection waits for a request, reads fail with `TimedOut` once the
/// deadline passes, which closes it.
struct Timed {
    stream: TcpStream,
    phase: Arc<Phase>,
    limits: ConnectionLimits,
    /// When the head being read began (its first byte), if one has.
    head_started_ms: Option<u64>,
    /// The idle period `head_started_ms` belongs to.
    idle_period_ms: u64,
    first_request: bool,
    deadline: Pin<Box<Sleep>>,
}

impl Timed {
    fn new(stream: TcpStream, phase: Arc<Phase>, limits: ConnectionLimits) -> Self {
        let deadline = Box::pin(tokio::time::sleep(limits.header_timeout));
        Self { stream, phase, limits, head_started_ms: None, idle_period_ms: 0, first_request: true, deadline }
    }

    /// The deadline of the wait in progress, in milliseconds since the phase's origin.
    fn deadline_ms(&mut self) -> u64 {
        let idle_since = self.phase.idle_since_ms.load(Ordering::Acquire);
        if idle_since != self.idle_period_ms {
            // A response went out since: a new wait for a new request.
            self.idle_period_ms = idle_since;
            self.head_started_ms = None;
            self.first_request = false;
        }
        let millis = |duration: Duration| u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
        match (self.head_started_ms, self.first_request) {
            (Some(started), _) => started.saturating_add(millis(self.limits.header_timeout)),
            (None, true) => millis(self.limits.header_timeout),
            (None, false) => idle_since.saturating_add(millis(self.limits.keep_alive_timeout)),
        }
    }
}

impl AsyncRead for Timed {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.phase.busy.load(Ordering::Acquire) {
            // A request's body, or nothing to wait for: the request timeout governs.
            return Pin::new(&mut this.stream).poll_read(cx, buf);
        }
        let deadline_ms = this.deadline_ms();
        let filled = buf.filled().len();
        match Pin::new(&mut this.stream).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > filled && this.head_started_ms.is_none() {
                    this.head_started_ms = Some(this.phase.now_ms());
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(err)) => Poll::Ready(Err(err)),
            Poll::Pending => {
                let at = this.phase.origin + Duration::from_millis(deadline_ms);
                this.deadline.as_mut().reset(tokio::time::Instant::from_std(at));
                ready!(this.deadline.as_mut().poll(cx));
                Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, "the client sent no request in time")))
            }
        }
    }
}

impl AsyncWrite for Timed {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, data)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, data)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}
