//! A gateway for one test, with two tenants that have campaigns and keys,
//! served on `127.0.0.1:0`, and a small HTTP client.
//!
//! By default it runs on the local servers: its own Postgres schema and
//! its own Kafka topics. With `ADPULSE_TEST_ADAPTERS=embedded` the same
//! gateway runs on the embedded adapters instead (a SQLite directory and
//! the file-backed event log in a folder of its own), with no server at
//! all: the fast tier (`scripts/test --fast`) runs the suites that way and
//! the whole suite runs them on both. A test that reaches Kafka itself
//! ([`Harness::kafka`]) says it needs the local servers.

#![allow(dead_code, clippy::panic)]

use adpulse_domain::ports::prelude::*;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use adpulse_config::{Config, KafkaConfig, PostgresConfig, Secret};
use adpulse_domain::ports::{ConsumedRecord, Directory, EventLog, Store, Stream};
use adpulse_domain::{CampaignId, TenantId};
use adpulse_embedded::{LocalLog, LocalLogConfig};
use adpulse_gateway::capping::Capping;
use adpulse_gateway::{Gateway, serve};
use adpulse_kafka::{Admin, Consumer, KafkaEventLog};
use adpulse_postgres::Database;
use adpulse_sqlite::Lite;
use adpulse_testkit::{Server, embedded_adapters, unique_name};
use axum::body::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use tokio::sync::oneshot;

/// Partitions of the events stream, in both modes.
pub const PARTITIONS: i32 = 8;

/// One tenant's credentials and campaigns.
pub struct Tenant {
    pub id: TenantId,
    pub key: String,
    pub key_id: uuid::Uuid,
    pub campaigns: Vec<CampaignId>,
}

/// Where the gateway's directory lives: a private Postgres schema, or a
/// folder with the SQLite store (removed on stop).
enum StoreBacking {
    Postgres(Database),
    Sqlite(PathBuf),
}

/// What the test reads accepted and refused events back from.
enum LogBacking {
    /// A double handed in by the test: nothing to read back.
    Double,
    /// The test's own topics.
    Kafka(KafkaConfig),
    /// The embedded log in the store's folder.
    Local(LocalLog),
}

pub struct Harness {
    pub url: String,
    /// The store the gateway's directory reads, for setup and checks.
    pub db: Arc<dyn Store>,
    store: StoreBacking,
    log: LogBacking,
    pub a: Tenant,
    pub b: Tenant,
    shutdown: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    client: Client<HttpConnector, Full<Bytes>>,
}

pub struct Reply {
    pub status: u16,
    pub headers: axum::http::HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or_default()
    }
}

/// Test configuration: on the local servers, unique topics and the
/// stack's addresses; embedded, the defaults (nothing is dialled).
pub fn config() -> Config {
    let mut c = Config::default();
    let base = unique_name("gw").replace('_', ".");
    c.kafka.events_topic = format!("{base}.events");
    c.kafka.rejected_topic = format!("{base}.rejected");
    c.kafka.client_id = unique_name("gw");
    // Stops at once (the drain is tested on its own).
    c.http.drain_ms = 0;
    if !embedded_adapters() {
        c.kafka.brokers = Server::Kafka.require();
        c.postgres = PostgresConfig {
            url: Secret::new(Server::Postgres.require()),
            ..PostgresConfig::default()
        };
    }
    c
}

async fn tenant(db: &dyn Store, name: &str, campaigns: usize) -> Tenant {
    let id = db.create_tenant(name).await.expect("tenant");
    let mut cs = Vec::new();
    for i in 0..campaigns {
        cs.push(
            db.create_campaign(id, &format!("{name} campaign {i}"), None)
                .await
                .expect("campaign"),
        );
    }
    let mut random = [0u8; 32];
    getrandom::fill(&mut random).expect("random");
    let key = db.create_ingest_key(id, "test", random).await.expect("key");
    Tenant {
        id,
        key: key.secret,
        key_id: key.id,
        campaigns: cs,
    }
}

/// A store for one test: a private Postgres schema, or a fresh SQLite
/// folder when the suites run embedded; the gateway reads its directory
/// from the same store.
async fn open_store(config: &Config) -> (Arc<dyn Store>, Arc<dyn Directory>, StoreBacking) {
    if embedded_adapters() {
        let dir = std::env::temp_dir().join(unique_name("gw_embedded"));
        let lite = Lite::open(&dir).await.expect("open sqlite");
        return (
            Arc::new(lite.clone()),
            Arc::new(lite),
            StoreBacking::Sqlite(dir),
        );
    }
    let schema = unique_name("gw");
    let db = match Database::connect_in_schema(&config.postgres, &schema).await {
        Ok(db) => db,
        Err(e) => Server::Postgres.absent(&e.to_string()),
    };
    db.migrate().await.expect("migrations");
    (
        Arc::new(db.clone()),
        Arc::new(db.clone()),
        StoreBacking::Postgres(db),
    )
}

/// The mode's real event log: the test's own topics on Kafka, or the
/// embedded log in the store's folder.
async fn open_log(config: &Config, store: &StoreBacking) -> (Arc<dyn EventLog>, LogBacking) {
    if let StoreBacking::Sqlite(dir) = store {
        let cfg = LocalLogConfig {
            partitions: PARTITIONS.unsigned_abs(),
            ..LocalLogConfig::new(dir.join("log"))
        };
        let log = LocalLog::open(&cfg).expect("open the embedded log");
        return (Arc::new(log.clone()), LogBacking::Local(log));
    }
    let admin = Admin::new(&config.kafka).expect("admin");
    if let Err(e) = admin
        .ensure_topic(&config.kafka.events_topic, PARTITIONS, 1)
        .await
    {
        Server::Kafka.absent(&e.to_string());
    }
    admin
        .ensure_topic(&config.kafka.rejected_topic, 1, 1)
        .await
        .expect("rejected topic");
    let log = KafkaEventLog::new(&config.kafka).expect("producer");
    (Arc::new(log), LogBacking::Kafka(config.kafka.clone()))
}

impl Harness {
    /// A gateway on the mode's event log (Kafka, or the embedded log).
    pub async fn start(config: Config) -> Self {
        let (db, directory, store) = open_store(&config).await;
        let (log, backing) = open_log(&config, &store).await;
        Self::serve(config, (db, directory, store), (log, backing), None).await
    }

    /// A gateway on `log` (a failure-injecting double).
    pub async fn start_with<L: EventLog + 'static>(config: Config, log: L) -> Self {
        Self::start_full(config, log, None).await
    }

    /// A gateway on `log` that also decides frequency caps with `capping`.
    pub async fn start_full<L: EventLog + 'static>(
        config: Config,
        log: L,
        capping: Option<Capping>,
    ) -> Self {
        let store = open_store(&config).await;
        Self::serve(config, store, (Arc::new(log), LogBacking::Double), capping).await
    }

    async fn serve(
        config: Config,
        (db, directory, store): (Arc<dyn Store>, Arc<dyn Directory>, StoreBacking),
        (log, backing): (Arc<dyn EventLog>, LogBacking),
        capping: Option<Capping>,
    ) -> Self {
        let a = tenant(db.as_ref(), "Tenant A", 3).await;
        let b = tenant(db.as_ref(), "Tenant B", 1).await;
        let gateway = Gateway::new(
            config.gateway.clone(),
            config.limits.limits(),
            log,
            directory,
        )
        .expect("gateway")
        .with_capping(capping);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let (tx, rx) = oneshot::channel();
        let task = tokio::spawn(serve(gateway, listener, config.http, async {
            let _ = rx.await;
        }));
        Self {
            url,
            db,
            store,
            log: backing,
            a,
            b,
            shutdown: Some(tx),
            task,
            client: Client::builder(TokioExecutor::new()).build_http(),
        }
    }

    /// The Kafka settings of a test that needs Kafka itself.
    pub fn kafka(&self) -> &KafkaConfig {
        match &self.log {
            LogBacking::Kafka(k) => k,
            _ => panic!(
                "this test reads Kafka itself: run it on the local servers \
                 (without ADPULSE_TEST_ADAPTERS=embedded)"
            ),
        }
    }

    /// POSTs `body` to `path` with `headers`.
    pub async fn post(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> Reply {
        self.client().post(path, headers, body).await
    }

    /// GETs `path`; returns the status and body.
    pub async fn get(&self, path: &str) -> (u16, String) {
        self.client().get(path).await
    }

    /// A client of this gateway that does not borrow the harness.
    pub fn client(&self) -> HttpClient {
        HttpClient {
            url: self.url.clone(),
            client: self.client.clone(),
        }
    }

    /// One JSON event as tenant `t` would send it.
    pub async fn send(&self, t: &Tenant, event: &Value) -> Reply {
        self.client().send_with(&t.key, event).await
    }

    /// Reads `stream` (events or rejected) from the beginning until `want`
    /// records arrived, or 30 s passed.
    pub async fn consume(&self, stream: Stream, want: usize) -> Vec<ConsumedRecord> {
        match &self.log {
            LogBacking::Kafka(kafka) => consume_kafka(kafka, stream, want).await,
            LogBacking::Local(log) => consume_local(log.clone(), stream, want).await,
            LogBacking::Double => panic!("the gateway runs on a test double: nothing to read back"),
        }
    }

    /// Stops the gateway gracefully and removes the schema, topics or folder.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        (&mut self.task).await.expect("join").expect("serve");
        if let LogBacking::Kafka(kafka) = &self.log {
            let admin = Admin::new(kafka).expect("admin");
            let _ = admin.delete_topic(&kafka.events_topic).await;
            let _ = admin.delete_topic(&kafka.rejected_topic).await;
        }
        self.log = LogBacking::Double;
        // The setup store shares its pool with the backing: close it last.
        match &self.store {
            StoreBacking::Postgres(db) => {
                db.drop_schema().await.expect("drop the test schema");
                db.close().await;
            }
            StoreBacking::Sqlite(dir) => {
                self.db.close().await;
                let _ = std::fs::remove_dir_all(dir);
            }
        }
    }
}

async fn consume_kafka(kafka: &KafkaConfig, stream: Stream, want: usize) -> Vec<ConsumedRecord> {
    let (topic, partitions) = match stream {
        Stream::Rejected => (&kafka.rejected_topic, 1),
        _ => (&kafka.events_topic, PARTITIONS),
    };
    let consumer = Consumer::from_beginning(kafka, topic, partitions).expect("consumer");
    let mut out = Vec::new();
    while out.len() < want {
        match consumer
            .recv(Duration::from_secs(30))
            .await
            .expect("consume")
        {
            Some(r) => out.push(r),
            None => panic!("only {} of {want} records arrived on {topic}", out.len()),
        }
    }
    out
}

/// Every partition of `stream` in the embedded log, from offset 0, polled
/// until `want` records are there.
async fn consume_local(log: LocalLog, stream: Stream, want: usize) -> Vec<ConsumedRecord> {
    tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut readers: Vec<_> = (0..log.partitions(stream))
            .map(|p| (p, log.reader(stream, p, 0).expect("reader")))
            .collect();
        let mut out = Vec::new();
        while out.len() < want {
            assert!(
                Instant::now() < deadline,
                "only {} of {want} records arrived on {stream:?}",
                out.len()
            );
            for (p, reader) in &mut readers {
                for r in reader.read(1024).expect("read") {
                    out.push(ConsumedRecord {
                        partition: i32::try_from(*p).expect("partition"),
                        offset: i64::try_from(r.offset).expect("offset"),
                        key: Some(r.key),
                        payload: Some(r.payload),
                        headers: r.headers,
                        timestamp_ms: Some(r.appended_at_ms),
                    });
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        out
    })
    .await
    .expect("read the embedded log")
}

/// An HTTP client bound to one gateway.
#[derive(Clone)]
pub struct HttpClient {
    url: String,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl HttpClient {
    /// POSTs `body` to `path` with `headers`.
    pub async fn post(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> Reply {
        let mut req = axum::http::Request::post(format!("{}{path}", self.url));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req.body(Full::new(body.into())).expect("request");
        let resp = tokio::time::timeout(Duration::from_secs(30), self.client.request(req))
            .await
            .expect("the gateway answers within 30 s")
            .expect("http");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await.expect("body").to_bytes();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
        Reply {
            status,
            headers,
            body,
        }
    }

    /// GETs `path`; returns the status and body.
    pub async fn get(&self, path: &str) -> (u16, String) {
        let req = axum::http::Request::get(format!("{}{path}", self.url))
            .body(Full::new(Bytes::new()))
            .expect("request");
        let resp = self.client.request(req).await.expect("http");
        let status = resp.status().as_u16();
        let bytes = resp.into_body().collect().await.expect("body").to_bytes();
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }

    /// One JSON event sent with `key`.
    pub async fn send_with(&self, key: &str, event: &Value) -> Reply {
        let auth = format!("Bearer {key}");
        self.post(
            "/v1/events",
            &[
                ("authorization", &auth),
                ("content-type", "application/json"),
            ],
            event.to_string(),
        )
        .await
    }
}

/// A valid event for `campaign`, happening now, with a fresh id.
pub fn event(campaign: CampaignId, kind: &str) -> Value {
    json!({
        "event_id": uuid::Uuid::now_v7().to_string(),
        "type": kind,
        "campaign_id": campaign.to_string(),
        "ad_id": "creative-42",
        "channel": "display",
        "occurred_at": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "user": { "device_id": "d-77" },
        "cost_micros": 1250,
        "attributes": { "country": "GB" }
    })
}
