//! One connection: hyper's HTTP/1 state machine over a socket that enforces
//! the header and idle timeouts, and a service that hands each request to
//! the router with its peer address and a timed body.
//!
//! The phases of a connection, and what bounds each:
//!
//! ```text
//!   accept ──▶ Head ──(request parsed)──▶ Busy ──(response ended)──▶ Idle
//!               ▲ header_timeout            no limit here: the body     │ idle_timeout
//!               │                           has its own (body.rs)       │
//!               └──────────────────(first byte of the next request)─────┘
//! ```
//!
//! The service knows when a request starts and when its response has been
//! sent (`InFlight`, a guard that lives in the response body); the socket
//! knows when bytes arrive. They share a `Phase`; all of it runs on the
//! connection's task, so the atomics never race, they only make the sharing
//! `Sync`. The socket checks its deadline only when hyper waits to read,
//! which in `Head` and `Idle` is all hyper does; a late read fails with
//! `TimedOut` and hyper closes the connection without answering.
//!
//! A pipelined request whose first bytes arrived while the previous one was
//! busy gets the idle timeout instead of the header timeout for the rest of
//! its head: bounded still, and clients do not pipeline.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, Request, Response, StatusCode, header};
use hyper::body::{Bytes, Frame, Incoming, SizeHint};
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, watch};
use tokio::time::{Instant, Sleep};
use tower::ServiceExt as _;

use crate::body::TimedBody;
use crate::error::ErrorBody;
use crate::{Limits, metrics};

/// An accepted connection and what serving it needs.
pub(crate) struct Conn {
    pub(crate) stream: TcpStream,
    pub(crate) peer: SocketAddr,
    /// The listener's slot; released when the connection ends.
    pub(crate) permit: OwnedSemaphorePermit,
    pub(crate) router: Router,
    pub(crate) builder: http1::Builder,
    pub(crate) limits: Limits,
    pub(crate) name: &'static str,
    /// Turns true when the listener shuts down.
    pub(crate) stopping: watch::Receiver<bool>,
}

/// Serves one connection until it closes, or until shutdown lets its
/// request in flight finish.
pub(crate) async fn run(c: Conn) {
    let Conn {
        stream,
        peer,
        permit,
        router,
        builder,
        limits,
        name,
        mut stopping,
    } = c;
    let _open = metrics::Open::new(name);
    let _permit = permit;
    // Streamed bodies go out in several small writes; without TCP_NODELAY
    // each waits for the client's delayed ACK (measured: 40 ms per export).
    let _ = stream.set_nodelay(true);
    let phase = Arc::new(Phase::default());
    let io = TokioIo::new(Watched::new(stream, Arc::clone(&phase), limits, name));
    let service = Service {
        router,
        peer,
        phase,
        limits,
        name,
    };
    let mut conn = std::pin::pin!(builder.serve_connection(io, service));
    let ended = tokio::select! {
        r = conn.as_mut() => r,
        () = async { let _ = stopping.wait_for(|stop| *stop).await; } => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = ended {
        tracing::debug!(listener = name, %peer, error = %e, "connection closed on an error");
    }
}

/// What the service tells the socket: requests begun and finished.
#[derive(Default)]
struct Phase {
    /// Requests whose response has not ended yet (0 or 1 in HTTP/1).
    busy: AtomicU64,
    /// Requests whose response has ended.
    done: AtomicU64,
}

/// A request being served; dropped with its response body (sent, or given
/// up), which makes the connection idle again.
struct InFlight(Arc<Phase>);

impl InFlight {
    fn start(phase: Arc<Phase>) -> Self {
        phase.busy.fetch_add(1, Ordering::AcqRel);
        Self(phase)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.done.fetch_add(1, Ordering::AcqRel);
        self.0.busy.fetch_sub(1, Ordering::AcqRel);
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Waiting {
    /// For the rest of a request's line and headers.
    Head,
    /// For the first byte of the next request.
    Idle,
    /// Not at all: a request is being served.
    Busy,
}

/// The socket, failing a read that waits past the phase's deadline.
struct Watched<T> {
    io: T,
    phase: Arc<Phase>,
    waiting: Waiting,
    /// `phase.done` when last looked at.
    seen_done: u64,
    deadline: Pin<Box<Sleep>>,
    limits: Limits,
    name: &'static str,
}

impl<T> Watched<T> {
    /// A socket just accepted: its first request's head is due within the
    /// header timeout.
    fn new(io: T, phase: Arc<Phase>, limits: Limits, name: &'static str) -> Self {
        Self {
            io,
            phase,
            waiting: Waiting::Head,
            seen_done: 0,
            deadline: Box::pin(tokio::time::sleep_until(after(limits.header))),
            limits,
            name,
        }
    }

    /// Catches up with requests begun or finished since the last read.
    fn observe(&mut self) {
        let done = self.phase.done.load(Ordering::Acquire);
        if self.phase.busy.load(Ordering::Acquire) > 0 {
            self.waiting = Waiting::Busy;
            self.seen_done = done;
        } else if done != self.seen_done || self.waiting == Waiting::Busy {
            self.seen_done = done;
            self.enter(Waiting::Idle, self.limits.idle);
        }
    }

    fn enter(&mut self, waiting: Waiting, within: Duration) {
        self.waiting = waiting;
        self.deadline.as_mut().reset(after(within));
    }
}

/// `now + d`, or a time too far to matter when that overflows.
fn after(d: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(d)
        .unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 86_400))
}

impl<T: AsyncRead + Unpin> AsyncRead for Watched<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.observe();
        let before = buf.filled().len();
        match Pin::new(&mut this.io).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if this.waiting == Waiting::Idle && buf.filled().len() > before {
                    this.enter(Waiting::Head, this.limits.header);
                }
                Poll::Ready(Ok(()))
            }
            Poll::Pending => {
                if this.waiting != Waiting::Busy && this.deadline.as_mut().poll(cx).is_ready() {
                    let phase = if this.waiting == Waiting::Head {
                        "header"
                    } else {
                        "idle"
                    };
                    metrics::timed_out(this.name, phase);
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("{phase} timeout"),
                    )));
                }
                Poll::Pending
            }
            failed => failed,
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Watched<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

/// Hands hyper's requests to the router.
struct Service {
    router: Router,
    peer: SocketAddr,
    phase: Arc<Phase>,
    limits: Limits,
    name: &'static str,
}

impl hyper::service::Service<Request<Incoming>> for Service {
    type Response = Response<Tracked>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        let in_flight = InFlight::start(Arc::clone(&self.phase));
        let late = Arc::new(AtomicBool::new(false));
        let mut request =
            request.map(|b| TimedBody::new(b, self.limits, Arc::clone(&late), self.name));
        request.extensions_mut().insert(ConnectInfo(self.peer));
        let router = self.router.clone();
        let limits = self.limits;
        Box::pin(async move {
            let response = match router.oneshot(request).await {
                Ok(r) => r,
                Err(never) => match never {},
            };
            let response = if late.load(Ordering::Acquire) {
                too_slow(response, limits)
            } else {
                response
            };
            Ok(response.map(|body| Tracked {
                body,
                _in_flight: in_flight,
            }))
        })
    }
}

/// The answer to a request whose body timed out, whatever the handler made
/// of the broken body: 408 in the error shape of every adpulse service
/// (unless the handler answered 408 itself), the handler's other headers
/// kept, and the connection closed (the rest of the body is still coming).
fn too_slow(response: Response<axum::body::Body>, limits: Limits) -> Response<axum::body::Body> {
    let (mut parts, body) = response.into_parts();
    let body = if parts.status == StatusCode::REQUEST_TIMEOUT {
        body
    } else {
        parts.status = StatusCode::REQUEST_TIMEOUT;
        parts.headers.remove(header::CONTENT_LENGTH);
        parts.headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        let message = format!(
            "the request body did not arrive in time (within {} ms, plus 1 s per {} bytes received)",
            limits.body.as_millis(),
            limits.body_rate,
        );
        axum::body::Body::from(ErrorBody::new("body_timeout", message, Vec::new()).to_json())
    };
    parts
        .headers
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    Response::from_parts(parts, body)
}

/// A response body that marks its request finished when it is dropped.
pub(crate) struct Tracked {
    body: axum::body::Body,
    _in_flight: InFlight,
}

impl hyper::body::Body for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    use super::*;

    fn limits() -> Limits {
        Limits {
            header: Duration::from_millis(300),
            idle: Duration::from_millis(400),
            body: Duration::from_millis(500),
            body_rate: 10,
            max_connections: 1,
        }
    }

    #[tokio::test]
    async fn phases_follow_requests() {
        let (a, _b) = tokio::io::duplex(64);
        let phase = Arc::new(Phase::default());
        let mut w = Watched::new(a, Arc::clone(&phase), limits(), "test");
        assert_eq!(w.waiting, Waiting::Head, "a new connection owes a head");
        let req = InFlight::start(Arc::clone(&phase));
        w.observe();
        assert_eq!(w.waiting, Waiting::Busy);
        drop(req);
        w.observe();
        assert_eq!(w.waiting, Waiting::Idle, "after the response");
        // A whole request served between two reads still ends idle.
        w.waiting = Waiting::Head;
        drop(InFlight::start(Arc::clone(&phase)));
        w.observe();
        assert_eq!(w.waiting, Waiting::Idle);
        w.observe();
        assert_eq!(w.waiting, Waiting::Idle, "nothing new: unchanged");
    }

    #[tokio::test]
    async fn too_slow_keeps_a_handlers_408_and_closes() {
        let own = Response::builder()
            .status(StatusCode::REQUEST_TIMEOUT)
            .header("x-kept", "1")
            .body(axum::body::Body::from("mine"))
            .expect("response");
        let r = too_slow(own, limits());
        assert_eq!(r.status(), StatusCode::REQUEST_TIMEOUT);
        assert_eq!(r.headers()[header::CONNECTION], "close");
        assert_eq!(body(r).await, "mine");

        let other = Response::builder()
            .status(StatusCode::BAD_REQUEST)
            .header("x-kept", "1")
            .header(header::CONTENT_LENGTH, "4")
            .body(axum::body::Body::from("nope"))
            .expect("response");
        let r = too_slow(other, limits());
        assert_eq!(r.status(), StatusCode::REQUEST_TIMEOUT);
        assert_eq!(r.headers()["x-kept"], "1");
        assert!(r.headers().get(header::CONTENT_LENGTH).is_none());
        assert!(body(r).await.contains(r#""code":"body_timeout""#));
    }

    /// Reads from `w` until it fails; the error's kind and how long it took.
    async fn read_until_failure(
        w: &mut Watched<tokio::io::DuplexStream>,
    ) -> (io::ErrorKind, Duration) {
        let started = Instant::now();
        let mut buf = [0u8; 64];
        loop {
            match w.read(&mut buf).await {
                Ok(0) => panic!("end of stream, not a timeout"),
                Ok(_) => {}
                Err(e) => return (e.kind(), started.elapsed()),
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn each_phase_has_its_deadline() {
        let l = limits();
        let phase = Arc::new(Phase::default());

        // A new connection owes its head within the header timeout.
        let (a, _client) = tokio::io::duplex(64);
        let mut w = Watched::new(a, Arc::clone(&phase), l, "test");
        assert_eq!(
            read_until_failure(&mut w).await,
            (io::ErrorKind::TimedOut, l.header)
        );

        // Busy: no deadline at all.
        let (a, mut client) = tokio::io::duplex(64);
        let mut w = Watched::new(a, Arc::clone(&phase), l, "test");
        let request = InFlight::start(Arc::clone(&phase));
        let mut buf = [0u8; 8];
        assert!(
            tokio::time::timeout(Duration::from_secs(3_600), w.read(&mut buf))
                .await
                .is_err(),
            "a busy connection waits as long as its request takes"
        );

        // Idle after the response, for the idle timeout.
        drop(request);
        assert_eq!(
            read_until_failure(&mut w).await,
            (io::ErrorKind::TimedOut, l.idle)
        );

        // The next request's first byte starts the header timeout, and
        // more bytes of it do not extend it.
        drop(InFlight::start(Arc::clone(&phase)));
        client.write_all(b"G").await.expect("write");
        assert_eq!(w.read(&mut buf).await.expect("a byte"), 1);
        let trickle = async {
            for _ in 0..10 {
                tokio::time::sleep(l.header / 4).await;
                let _ = client.write_all(b"E").await;
            }
        };
        let ((kind, took), ()) = tokio::join!(read_until_failure(&mut w), trickle);
        assert_eq!((kind, took), (io::ErrorKind::TimedOut, l.header));
    }

    async fn body(r: Response<axum::body::Body>) -> String {
        let b = axum::body::to_bytes(r.into_body(), 1 << 16)
            .await
            .expect("body");
        String::from_utf8_lossy(&b).into_owned()
    }
}
