//! A gateway on real Kafka and Postgres for one test: its own Postgres
//! schema, its own topics, two tenants with campaigns and keys, served on
//! `127.0.0.1:0`, and a small HTTP client.

#![allow(dead_code, clippy::panic)]

use adpulse_domain::ports::prelude::*;
use std::sync::Arc;
use std::time::Duration;

use adpulse_config::{Config, KafkaConfig, PostgresConfig, Secret};
use adpulse_domain::ports::EventLog;
use adpulse_domain::{CampaignId, TenantId};
use adpulse_gateway::{Gateway, serve};
use adpulse_kafka::{Admin, Consumer, KafkaEventLog, Record};
use adpulse_postgres::Database;
use adpulse_testkit::{Server, unique_name};
use axum::body::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use tokio::sync::oneshot;

pub const PARTITIONS: i32 = 8;

/// One tenant's credentials and campaigns.
pub struct Tenant {
    pub id: TenantId,
    pub key: String,
    pub key_id: uuid::Uuid,
    pub campaigns: Vec<CampaignId>,
}

pub struct Harness {
    pub url: String,
    pub db: Database,
    pub kafka: KafkaConfig,
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

/// Test configuration: unique topics, the local stack's servers.
pub fn config() -> Config {
    let mut c = Config::default();
    c.kafka.brokers = Server::Kafka.require();
    let base = unique_name("gw").replace('_', ".");
    c.kafka.events_topic = format!("{base}.events");
    c.kafka.rejected_topic = format!("{base}.rejected");
    c.kafka.client_id = unique_name("gw");
    c.postgres = PostgresConfig {
        url: Secret::new(Server::Postgres.require()),
        ..PostgresConfig::default()
    };
    c
}

async fn tenant(db: &Database, name: &str, campaigns: usize) -> Tenant {
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

impl Harness {
    /// A gateway on Kafka with `config`.
    pub async fn start(config: Config) -> Self {
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
        Self::start_with(config, log).await
    }

    /// A gateway on `log` (a failure-injecting double, or Kafka).
    pub async fn start_with<L: EventLog + 'static>(config: Config, log: L) -> Self {
        Self::start_full(config, log, |_| None).await
    }

    /// A gateway that also decides frequency caps, with what `capping`
    /// builds (it gets the test's database, to set campaigns' caps).
    pub async fn start_full<L: EventLog + 'static>(
        config: Config,
        log: L,
        capping: impl FnOnce(&Database) -> Option<adpulse_gateway::capping::Capping>,
    ) -> Self {
        let schema = unique_name("gw");
        let db = match Database::connect_in_schema(&config.postgres, &schema).await {
            Ok(db) => db,
            Err(e) => Server::Postgres.absent(&e.to_string()),
        };
        db.migrate().await.expect("migrations");
        let a = tenant(&db, "Tenant A", 3).await;
        let b = tenant(&db, "Tenant B", 1).await;

        let gateway = Gateway::new(
            config.gateway.clone(),
            config.limits.limits(),
            Arc::new(log),
            Arc::new(db.clone()),
        )
        .expect("gateway")
        .with_capping(capping(&db));
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
            kafka: config.kafka,
            a,
            b,
            shutdown: Some(tx),
            task,
            client: Client::builder(TokioExecutor::new()).build_http(),
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

    /// Reads records from `topic` until `want` arrived (or 30 s passed).
    pub async fn consume(&self, topic: &str, partitions: i32, want: usize) -> Vec<Record> {
        let consumer = Consumer::from_beginning(&self.kafka, topic, partitions).expect("consumer");
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

    /// Stops the gateway gracefully and removes the schema and topics.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        (&mut self.task).await.expect("join").expect("serve");
        let admin = Admin::new(&self.kafka).expect("admin");
        let _ = admin.delete_topic(&self.kafka.events_topic).await;
        let _ = admin.delete_topic(&self.kafka.rejected_topic).await;
        self.db.drop_schema().await.expect("drop the test schema");
        self.db.close().await;
    }
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
