//! The worker's health and metrics listener against hostile clients,
//! through the real `serve`, on the embedded adapters (a folder of its own;
//! no server needed): a head cut short, an idle connection, more
//! connections than the cap, and the worker still stopping cleanly.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use adpulse_config::{Config, HttpConfig};
use adpulse_embedded::{LocalLog, LocalLogConfig, LocalSource, MemoryLive};
use adpulse_sqlite::{Lite, LiteArchive};
use adpulse_testkit::hostile::{self, SLACK};
use adpulse_testkit::unique_name;
use adpulse_worker::{Sinks, Worker};
use tokio::sync::oneshot;

const T: Duration = Duration::from_millis(300);
/// Long enough never to fire in a test.
const NEVER: u64 = 30_000;

struct Running {
    addr: SocketAddr,
    data: PathBuf,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), adpulse_worker::WorkerError>>,
}

async fn worker(http: HttpConfig) -> Running {
    let data = std::env::temp_dir().join(unique_name("worker_listener"));
    std::fs::create_dir_all(&data).expect("data folder");
    let config = Config {
        http,
        ..Config::default()
    };
    let log = LocalLog::open(&LocalLogConfig::new(data.join("log"))).expect("log");
    let source = LocalSource::new(&log, data.join("log"), &config.worker.group_id).expect("source");
    let sinks = Sinks {
        db: Arc::new(Lite::open(&data).await.expect("store")),
        archive: Arc::new(LiteArchive::open(&data).await.expect("archive")),
        live: Arc::new(MemoryLive::new()),
        links: None,
        log: Arc::new(log),
    };
    let worker = Worker::new(config, Box::new(source), sinks);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(adpulse_worker::serve(worker, listener, async {
        let _ = stopped.await;
    }));
    Running {
        addr,
        data,
        stop,
        task,
    }
}

impl Running {
    async fn stop(self) {
        let _ = self.stop.send(());
        tokio::time::timeout(Duration::from_secs(30), self.task)
            .await
            .expect("the worker stops")
            .expect("join")
            .expect("the worker stops cleanly");
        let _ = std::fs::remove_dir_all(&self.data);
    }
}

#[tokio::test]
async fn a_head_cut_short_is_closed_at_the_header_timeout() {
    let w = worker(HttpConfig {
        header_timeout_ms: 300,
        idle_timeout_ms: NEVER,
        ..HttpConfig::default()
    })
    .await;
    hostile::slow_headers(w.addr, "/health/ready", T).await;
    w.stop().await;
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_at_the_idle_timeout() {
    let w = worker(HttpConfig {
        header_timeout_ms: NEVER,
        idle_timeout_ms: 300,
        ..HttpConfig::default()
    })
    .await;
    hostile::idle_keep_alive(w.addr, "/health/live", T).await;
    w.stop().await;
}

#[tokio::test]
async fn connections_past_the_cap_wait_until_a_slot_frees() {
    let w = worker(HttpConfig {
        header_timeout_ms: NEVER,
        idle_timeout_ms: NEVER,
        max_connections: 2,
        ..HttpConfig::default()
    })
    .await;
    hostile::connection_cap(w.addr, "/health/live", 2).await;
    let mut c = hostile::Raw::connect(w.addr).await;
    assert!(c.send(&hostile::get("/metrics")).await);
    let metrics = c.response(SLACK).await.expect("metrics").text();
    assert!(
        metrics.contains(r#"adpulse_http_connection_cap_reached_total{listener="worker"}"#),
        "{metrics}"
    );
    drop(c);
    w.stop().await;
}
