//! The listener's defences on a real socket (127.0.0.1:0), with timeouts of
//! a few hundred milliseconds: slow and trickled heads, idle and busy
//! connections, slow bodies, the connection cap, graceful shutdown.

use std::net::SocketAddr;
use std::time::Duration;

use adpulse_http::{HttpConfig, serve};
use adpulse_testkit::hostile::{self, Raw, SLACK};
use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::StatusCode;
use axum::routing::{get, post};
use tokio::sync::oneshot;
use tokio::time::Instant;

const T: Duration = Duration::from_millis(300);

struct Server {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

fn config() -> HttpConfig {
    HttpConfig {
        header_timeout_ms: 300,
        idle_timeout_ms: 300,
        body_timeout_ms: 300,
        body_min_bytes_per_sec: 1024,
        max_connections: 64,
        drain_ms: 0,
    }
}

fn app() -> Router {
    Router::new()
        .route("/hello", get(|| async { "hi" }))
        .route(
            "/peer",
            get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.ip().to_string() }),
        )
        .route(
            "/echo",
            post(|body: Body| async move {
                match axum::body::to_bytes(body, 1 << 20).await {
                    Ok(b) => (StatusCode::OK, b.len().to_string()),
                    Err(e) => (StatusCode::BAD_REQUEST, e.to_string()),
                }
            }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(800)).await;
                "done"
            }),
        )
}

async fn start(config: HttpConfig) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(serve(listener, app(), "test", config, async {
        let _ = rx.await;
    }));
    Server {
        addr,
        stop: Some(tx),
        task,
    }
}

impl Server {
    async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        tokio::time::timeout(SLACK, &mut self.task)
            .await
            .expect("serve returns at shutdown")
            .expect("join")
            .expect("serve");
    }
}

/// A POST of `/echo` declaring `length` bytes, without its body.
fn echo_head(length: usize) -> Vec<u8> {
    hostile::head(&[
        "POST /echo HTTP/1.1",
        "Host: test",
        &format!("Content-Length: {length}"),
    ])
}

#[tokio::test]
async fn a_head_cut_short_is_closed_at_the_header_timeout() {
    // A long idle timeout, so hyper's own timer (at the sum) cannot be
    // what closes it.
    let s = start(HttpConfig {
        idle_timeout_ms: 30_000,
        ..config()
    })
    .await;
    hostile::slow_headers(s.addr, "/hello", T).await;
    s.stop().await;
}

#[tokio::test]
async fn trickled_headers_are_closed_at_the_header_timeout() {
    // A long idle timeout, so hyper's own timer (at the sum) cannot be
    // what closes it.
    let s = start(HttpConfig {
        idle_timeout_ms: 30_000,
        ..config()
    })
    .await;
    hostile::trickled_headers(s.addr, "/hello", T).await;
    s.stop().await;
}

#[tokio::test]
async fn a_later_requests_head_has_the_header_timeout_not_the_idle_one() {
    let s = start(HttpConfig {
        idle_timeout_ms: 30_000,
        ..config()
    })
    .await;
    let mut c = Raw::connect(s.addr).await;
    assert!(c.send(&hostile::get("/hello")).await);
    assert_eq!(c.response(SLACK).await.expect("served").status, 200);
    assert!(c.send(b"GET /hello HTTP/1.1\r\nHost: te").await);
    let took = c.closed_within(T + SLACK).await.expect("closed");
    assert!(took + Duration::from_millis(5) >= T, "{took:?}");
    s.stop().await;
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_at_the_idle_timeout() {
    let s = start(HttpConfig {
        header_timeout_ms: 30_000,
        ..config()
    })
    .await;
    hostile::idle_keep_alive(s.addr, "/hello", T).await;
    s.stop().await;
}

#[tokio::test]
async fn idleness_is_not_bounded_by_the_header_timeout() {
    let s = start(HttpConfig {
        idle_timeout_ms: 5_000,
        ..config()
    })
    .await;
    let mut c = Raw::connect(s.addr).await;
    for _ in 0..2 {
        assert!(c.send(&hostile::get("/hello")).await);
        assert_eq!(c.response(SLACK).await.expect("served").status, 200);
        tokio::time::sleep(T * 2).await;
    }
    s.stop().await;
}

#[tokio::test]
async fn a_request_being_served_is_not_timed_out() {
    let s = start(config()).await;
    let mut c = Raw::connect(s.addr).await;
    assert!(c.send(&hostile::get("/slow")).await);
    let r = c.response(Duration::from_millis(800) + SLACK).await;
    assert_eq!(r.expect("served after 800 ms").text(), "done");
    s.stop().await;
}

#[tokio::test]
async fn a_stalled_body_is_answered_408_and_its_connection_closed() {
    let s = start(config()).await;
    let mut c = Raw::connect(s.addr).await;
    let started = Instant::now();
    assert!(c.send(&echo_head(100)).await);
    assert!(c.send(b"7 bytes").await);
    let r = c.response(T + SLACK).await.expect("an answer");
    assert!(started.elapsed() >= T, "{:?}", started.elapsed());
    assert_eq!(r.status, 408, "{}", r.text());
    assert!(
        r.text().contains(r#""code":"body_timeout""#),
        "{}",
        r.text()
    );
    assert_eq!(r.header("connection"), Some("close"));
    assert!(
        c.closed_within(SLACK).await.is_some(),
        "closed after the 408"
    );
    s.stop().await;
}

/// Sends `total` bytes of an `/echo` body in pieces of `piece`, `every`
/// apart; the answer.
async fn trickle_body(
    s: &Server,
    total: usize,
    piece: usize,
    every: Duration,
) -> hostile::RawResponse {
    let mut c = Raw::connect(s.addr).await;
    assert!(c.send(&echo_head(total)).await);
    let mut sent = 0;
    while sent < total {
        if !c.send(&vec![b'x'; piece.min(total - sent)]).await {
            break;
        }
        sent += piece;
        if let Some(r) = c.response(every).await {
            return r;
        }
    }
    c.response(SLACK).await.expect("an answer")
}

#[tokio::test]
async fn a_body_keeping_the_minimum_rate_is_read_past_the_timeout() {
    // 200 B/s allowed, 400 B/s sent, for about a second (past the 300 ms).
    let s = start(HttpConfig {
        body_min_bytes_per_sec: 200,
        ..config()
    })
    .await;
    let r = trickle_body(&s, 400, 10, Duration::from_millis(25)).await;
    assert_eq!((r.status, r.text().as_str()), (200, "400"));
    s.stop().await;
}

#[tokio::test]
async fn a_body_below_the_minimum_rate_times_out() {
    // 200 B/s allowed, 100 B/s sent: behind after about 0.6 s.
    let s = start(HttpConfig {
        body_min_bytes_per_sec: 200,
        ..config()
    })
    .await;
    let started = Instant::now();
    let r = trickle_body(&s, 400, 10, Duration::from_millis(100)).await;
    assert_eq!(r.status, 408, "{}", r.text());
    assert!(
        started.elapsed() >= Duration::from_millis(550),
        "{:?}",
        started.elapsed()
    );
    s.stop().await;
}

#[tokio::test]
async fn connections_past_the_cap_wait_until_a_slot_frees() {
    let s = start(HttpConfig {
        header_timeout_ms: 30_000,
        idle_timeout_ms: 30_000,
        max_connections: 3,
        ..config()
    })
    .await;
    hostile::connection_cap(s.addr, "/hello", 3).await;
    s.stop().await;
}

#[tokio::test]
async fn shutdown_finishes_requests_in_flight_and_closes_idle_connections() {
    let s = start(HttpConfig {
        idle_timeout_ms: 30_000,
        ..config()
    })
    .await;
    let mut idle = Raw::connect(s.addr).await;
    assert!(idle.send(&hostile::get("/hello")).await);
    assert_eq!(idle.response(SLACK).await.expect("served").status, 200);
    let mut busy = Raw::connect(s.addr).await;
    assert!(busy.send(&hostile::get("/slow")).await);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let addr = s.addr;
    let stopping = tokio::spawn(s.stop());
    assert!(
        idle.closed_within(SLACK).await.is_some(),
        "an idle connection closes at once"
    );
    let r = busy
        .response(SLACK)
        .await
        .expect("the request in flight finishes");
    assert_eq!(r.text(), "done");
    stopping.await.expect("stopped");
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "the listener is closed"
    );
}

#[tokio::test]
async fn handlers_see_the_peer_address() {
    let s = start(config()).await;
    let mut c = Raw::connect(s.addr).await;
    assert!(c.send(&hostile::get("/peer")).await);
    assert_eq!(c.response(SLACK).await.expect("served").text(), "127.0.0.1");
    s.stop().await;
}
