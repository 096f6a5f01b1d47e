//! The shared HTTP pieces: the one server loop every adpulse listener runs
//! (the gateway, the API, the stream worker's health and metrics), in the
//! distributed services and under `adpulse up` alike.
//!
//! `axum::serve` gives hyper no timer and no limits: a client that sends a
//! request line and one header and then nothing holds its connection, a
//! task and a file descriptor (shared with log segments and SQLite) for
//! ever, and so do a thousand idle sockets. [`serve`] drives hyper's HTTP/1
//! connections itself, with these defences (`[http]` in the configuration,
//! [`HttpConfig`]):
//!
//! - **Header timeout** (`header_timeout_ms`, 10 s). A connection's first
//!   request line and headers must arrive within it of connecting, a later
//!   request's within it of that request's first byte; else the connection
//!   is closed unanswered, as hyper does.
//! - **Idle timeout** (`idle_timeout_ms`, 60 s). Between requests a
//!   keep-alive connection waits this long for the next request's first
//!   byte, then is closed. hyper 1.12 (Cargo.lock) has one knob,
//!   `header_read_timeout`, whose clock restarts when a response ends, so
//!   it bounds the idle gap and the next headers together: it cannot give
//!   an idle client a minute and a slow-loris ten seconds. So the
//!   connection's socket is wrapped (`conn`): it knows which phase the
//!   connection is in (reading a head, idle, busy with a request) and fails
//!   the read that outlives the phase's deadline. hyper's own timer stays
//!   set, at the sum of both, as a backstop.
//! - **Body timeout** (`body_timeout_ms`, 10 s, and
//!   `body_min_bytes_per_sec`, 8 KiB/s; `body`). From a handler's first
//!   read of a body, the body must arrive within the timeout plus one
//!   second per `body_min_bytes_per_sec` bytes received: a minimum rate
//!   after a grace period, as Apache's mod_reqtimeout does. A whole-body
//!   deadline would cut off a 10 MiB creative on a slow uplink, and a
//!   per-read timeout lets a client send a byte every few seconds for ever.
//!   A late body is answered 408 and its connection closed.
//! - **Connection cap** (`max_connections`, 1024 per listener). At the cap
//!   the listener stops accepting and new connections wait in the kernel's
//!   listen backlog until one closes, rather than being accepted and closed
//!   at once: a queued connection holds no file descriptor (the scarce
//!   thing), a burst over the cap is usually real clients (a fleet
//!   reconnecting after a deploy) who are then served late instead of all
//!   failing and retrying together, and the timeouts above free a slot held
//!   by a client that does no work within seconds. The backlog is bounded
//!   (1024, tokio's, capped by `net.core.somaxconn`); past it the kernel
//!   drops new connection attempts and clients retry.
//!
//! A body that declares (`Content-Length`) more than its route takes is the
//! services' to refuse, with their limits and error shapes, before reading
//! it: [`declared_length`].
//!
//! Every request carries `ConnectInfo<SocketAddr>`, and connections get
//! `TCP_NODELAY`. Metrics: `metrics`.

mod body;
mod conn;
pub mod error;
pub mod health;
mod metrics;

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

pub use adpulse_config::HttpConfig;
use axum::Router;
use axum::http::{HeaderMap, header};
use hyper::server::conn::http1;
use hyper_util::rt::TokioTimer;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

pub use crate::body::{BodyTimeout, is_body_timeout};
pub use crate::health::Health;

/// The configuration as the server uses it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    pub(crate) header: Duration,
    pub(crate) idle: Duration,
    pub(crate) body: Duration,
    pub(crate) body_rate: u64,
    pub(crate) max_connections: u32,
}

impl From<&HttpConfig> for Limits {
    fn from(c: &HttpConfig) -> Self {
        Self {
            header: Duration::from_millis(c.header_timeout_ms),
            idle: Duration::from_millis(c.idle_timeout_ms),
            body: Duration::from_millis(c.body_timeout_ms),
            body_rate: c.body_min_bytes_per_sec,
            max_connections: c.max_connections,
        }
    }
}

/// Serves `router` on `listener` with the defences of `config` until
/// `shutdown` resolves; then stops accepting, lets every open connection
/// finish its request in flight (idle ones close at once) and returns when
/// all have closed. `name` labels the listener's metrics and logs
/// (`gateway`, `api`, `worker`).
///
/// Fails only if the listener has no local address; accept errors are
/// logged and retried (after a second when they are not about one
/// connection, e.g. out of file descriptors).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    name: &'static str,
    config: HttpConfig,
    shutdown: impl Future<Output = ()> + Send,
) -> io::Result<()> {
    metrics::describe();
    let limits = Limits::from(&config);
    let addr = listener.local_addr()?;
    // One permit per open connection; taking all of them back after the
    // listener is closed is waiting for the last connection to end.
    let slots = Arc::new(Semaphore::new(limits.max_connections as usize));
    let (stop, stopping) = watch::channel(false);
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header.saturating_add(limits.idle));
    let mut shutdown = std::pin::pin!(shutdown);
    tracing::debug!(listener = name, %addr, max_connections = limits.max_connections, "serving");
    loop {
        let permit = match Arc::clone(&slots).try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                metrics::cap_reached(name);
                tokio::select! {
                    biased;
                    () = &mut shutdown => break,
                    p = Arc::clone(&slots).acquire_owned() => p.map_err(io::Error::other)?,
                }
            }
        };
        let accepted = tokio::select! {
            biased;
            () = &mut shutdown => break,
            a = listener.accept() => a,
        };
        match accepted {
            Ok((stream, peer)) => {
                metrics::accepted(name);
                tokio::spawn(conn::run(conn::Conn {
                    stream,
                    peer,
                    permit,
                    router: router.clone(),
                    builder: builder.clone(),
                    limits,
                    name,
                    stopping: stopping.clone(),
                }));
            }
            Err(e) if is_connection_error(&e) => {}
            Err(e) => {
                tracing::error!(listener = name, error = %e, "accept failed; retrying in 1 s");
                tokio::select! {
                    biased;
                    () = &mut shutdown => break,
                    () = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        }
    }
    drop(listener);
    let _ = stop.send(true);
    let _all_closed = slots
        .acquire_many(limits.max_connections)
        .await
        .map_err(io::Error::other)?;
    tracing::debug!(listener = name, "stopped");
    Ok(())
}

/// An accept error about one connection (gone before it was accepted), not
/// about the listener or the process.
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// The body length a request declares in `Content-Length`, if it declares
/// one. A chunked body declares none; a malformed or conflicting value
/// never gets here (hyper answers 400). A service compares it with the
/// route's limit to answer 413 before reading a byte, instead of waiting
/// for a gigabyte that may never come.
pub fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn declared_length_reads_content_length_only() {
        let mut h = HeaderMap::new();
        assert_eq!(declared_length(&h), None);
        h.insert(
            header::CONTENT_LENGTH,
            HeaderValue::from_static("1073741824"),
        );
        assert_eq!(declared_length(&h), Some(1 << 30));
        h.insert(header::CONTENT_LENGTH, HeaderValue::from_static("nope"));
        assert_eq!(declared_length(&h), None);
    }

    #[test]
    fn limits_from_config() {
        let l = Limits::from(&HttpConfig {
            header_timeout_ms: 300,
            idle_timeout_ms: 400,
            body_timeout_ms: 500,
            body_min_bytes_per_sec: 7,
            max_connections: 3,
            drain_ms: 0,
        });
        assert_eq!(l.header, Duration::from_millis(300));
        assert_eq!(l.idle, Duration::from_millis(400));
        assert_eq!(l.body, Duration::from_millis(500));
        assert_eq!((l.body_rate, l.max_connections), (7, 3));
    }
}
