//! An API on a loopback port over a private Postgres schema, two tenants
//! with a user of each role, creatives in a folder or S3 prefix of its own,
//! and a small HTTP client.
//!
//! With `ADPULSE_TEST_ADAPTERS=embedded` the same API runs on the embedded
//! store (SQLite in a folder of its own) instead, with no server at all:
//! the fast tier (`scripts/test --fast`) runs the suites that way, and the
//! whole suite runs them on Postgres. A test that reads Postgres itself
//! ([`Api::postgres`]) says it needs the local servers.

#![allow(dead_code, clippy::panic)]

pub mod assets;

use adpulse_domain::ports::{LiveCounters, Store};
use std::collections::HashMap;
use std::sync::Arc;

use adpulse_config::{ApiConfig, HttpConfig, PostgresConfig, Secret};
use adpulse_domain::{Role, TenantId};
use adpulse_postgres::Database;
use adpulse_testkit::{Server, unique_name};
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use tokio::sync::oneshot;

pub const PASSWORD: &str = "correct horse battery staple";
pub const SECRET: &str = "test-secret-test-secret-test-secret-0123";

/// One answer.
pub struct Reply {
    pub status: u16,
    pub headers: HashMap<String, String>,
    pub body: Value,
}

impl Reply {
    /// The error code, if it is an error.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
}

/// A tenant and a user of each role in it.
pub struct Tenant {
    pub id: TenantId,
    pub users: HashMap<Role, String>,
}

impl Tenant {
    pub fn email(&self, role: Role) -> &str {
        &self.users[&role]
    }
}

pub struct Api {
    pub url: String,
    /// The store the API runs on, as setup and checks reach it (on
    /// Postgres a system session on the same schema).
    pub db: Arc<dyn Store>,
    /// On the local servers: the schema's settings and a system session.
    postgres: Option<(PostgresConfig, Database)>,
    /// Embedded: the data folder, removed on drop.
    data: Option<std::path::PathBuf>,
    pub a: Tenant,
    pub b: Tenant,
    /// Where creatives are stored (a folder, or a prefix on the stack's S3).
    pub assets: assets::AssetPlace,
    client: Client<HttpConnector, Full<Bytes>>,
    shutdown: Option<oneshot::Sender<()>>,
}

pub fn api_config() -> ApiConfig {
    let assets = std::env::temp_dir().join(unique_name("assets"));
    ApiConfig {
        jwt_secret: Some(Secret::new(SECRET.into())),
        asset_store: assets.display().to_string(),
        login_per_account_per_minute: 1000,
        login_per_ip_per_minute: 1000,
        requests_per_user_per_second: 1000,
        ..ApiConfig::default()
    }
}

/// [`api_config`] with creatives in a prefix of their own on the local
/// stack's S3 server.
pub fn api_config_s3() -> ApiConfig {
    ApiConfig {
        asset_store: assets::AssetPlace::s3().location(),
        ..api_config()
    }
}

/// Whether the suites run on the embedded adapters (`ADPULSE_TEST_ADAPTERS=embedded`).
pub fn embedded() -> bool {
    adpulse_testkit::embedded_adapters()
}

/// The stores of one test's API: what setup uses, what the API holds, and
/// what to clean up.
struct Stores {
    setup: Arc<dyn Store>,
    api: Arc<dyn Store>,
    postgres: Option<(PostgresConfig, Database)>,
    data: Option<std::path::PathBuf>,
}

impl Stores {
    /// A private Postgres schema (a system session for setup, a
    /// tenant-scoped one for the API, as `adpulse api` connects), or a
    /// fresh SQLite folder when the suites run embedded.
    async fn open() -> Self {
        if embedded() {
            let dir = std::env::temp_dir().join(unique_name("api_embedded"));
            let lite = adpulse_sqlite::Lite::open(&dir).await.expect("open sqlite");
            return Self {
                setup: Arc::new(lite.clone()),
                api: Arc::new(lite),
                postgres: None,
                data: Some(dir),
            };
        }
        let pg = PostgresConfig {
            url: Secret::new(Server::Postgres.require()),
            schema: Some(unique_name("api")),
            ..PostgresConfig::default()
        };
        let db = match Database::connect(&pg).await {
            Ok(db) => db,
            Err(e) => Server::Postgres.absent(&e.to_string()),
        };
        db.migrate().await.expect("migrate");
        let api = Database::connect_for_tenants(&pg).await.expect("api db");
        Self {
            setup: Arc::new(db.clone()),
            api: Arc::new(api),
            postgres: Some((pg, db)),
            data: None,
        }
    }
}

async fn tenant(db: &dyn Store, name: &str) -> Tenant {
    let id = db.create_tenant(name).await.expect("tenant");
    let hash = adpulse_api::auth::hash_password(PASSWORD.into())
        .await
        .expect("hash");
    let mut users = HashMap::new();
    for role in Role::ALL {
        let email = format!("{}-{}@{name}.example", role.as_str(), unique_name("u"));
        db.create_user(id, &email, &hash, role).await.expect("user");
        users.insert(role, email);
    }
    Tenant { id, users }
}

impl Api {
    pub async fn start() -> Self {
        Self::start_with(api_config()).await
    }

    pub async fn start_with(cfg: ApiConfig) -> Self {
        Self::start_full(cfg, None, None).await
    }

    /// An API whose listener has the defences of `http`.
    pub async fn start_with_http(cfg: ApiConfig, http: HttpConfig) -> Self {
        Self::start_listening(cfg, http, None, None).await
    }

    /// An API that also reads live counters from `live` and raw events from
    /// `archive`.
    pub async fn start_full(
        cfg: ApiConfig,
        live: Option<Arc<dyn LiveCounters>>,
        archive: Option<adpulse_cql::Cql>,
    ) -> Self {
        Self::start_listening(cfg, HttpConfig::default(), live, archive).await
    }

    async fn start_listening(
        cfg: ApiConfig,
        http: HttpConfig,
        live: Option<Arc<dyn LiveCounters>>,
        archive: Option<adpulse_cql::Cql>,
    ) -> Self {
        let stores = Stores::open().await;
        let a = tenant(&*stores.setup, "a").await;
        let b = tenant(&*stores.setup, "b").await;
        let api_db = stores.api;
        let assets = assets::AssetPlace::from_location(&cfg.asset_store);
        let store = assets.open();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let (tx, rx) = oneshot::channel();
        tokio::spawn(async move {
            let mut state = adpulse_api::AppState::new(&cfg, api_db).expect("state");
            // The same place, with the stack's S3 endpoint and key given
            // explicitly rather than through process-wide AWS_* variables.
            state.assets = store;
            state.live = live;
            if let Some(cql) = archive {
                let archive = adpulse_cql::CqlArchive::new(cql).await.expect("archive");
                state.archive = Some(Arc::new(archive));
            }
            adpulse_api::serve(&cfg, state, listener, http, async {
                let _ = rx.await;
            })
            .await
            .expect("api serves");
        });
        Self {
            url,
            db: stores.setup,
            postgres: stores.postgres,
            data: stores.data,
            a,
            b,
            assets,
            client: Client::builder(TokioExecutor::new()).build_http(),
            shutdown: Some(tx),
        }
    }

    /// The Postgres schema's settings and a system session on it, for a
    /// test that reads or writes Postgres itself; such a test needs the
    /// local servers.
    pub fn postgres(&self) -> (&PostgresConfig, &Database) {
        match &self.postgres {
            Some((cfg, db)) => (cfg, db),
            None => panic!(
                "this test reads Postgres itself: run it on the local servers \
                 (without ADPULSE_TEST_ADAPTERS=embedded)"
            ),
        }
    }

    /// Sends a request; `token` as Bearer, `body` as JSON.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Reply {
        let mut req = hyper::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.url));
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        if body.is_some() {
            req = req.header("content-type", "application/json");
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let bytes = body.map(|b| Bytes::from(b.to_string())).unwrap_or_default();
        let res = self
            .client
            .request(req.body(Full::new(bytes)).expect("request"))
            .await
            .expect("response");
        let status = res.status().as_u16();
        let headers = res
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
            .collect();
        let body = res.into_body().collect().await.expect("body").to_bytes();
        let body = if body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&body).unwrap_or_else(|_| {
                panic!(
                    "{method} {path}: body is not JSON: {}",
                    String::from_utf8_lossy(&body)
                )
            })
        };
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn login(&self, email: &str, password: &str) -> Reply {
        self.call(
            "POST",
            "/api/v1/auth/login",
            None,
            &[],
            Some(&serde_json::json!({"email": email, "password": password})),
        )
        .await
    }

    /// An access token of `tenant`'s user with `role`.
    pub async fn token(&self, tenant: &Tenant, role: Role) -> String {
        let r = self.login(tenant.email(role), PASSWORD).await;
        assert_eq!(r.status, 200, "login: {}", r.body);
        r.body["access_token"].as_str().expect("token").to_owned()
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some((_, db)) = &self.postgres {
            db.drop_schema().await.expect("drop schema");
        }
        if let Some(dir) = self.data.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
        self.assets.remove().await;
    }

    /// Sends raw bytes with the given content type; the status, headers and
    /// body bytes.
    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> (u16, HashMap<String, String>, Bytes) {
        let mut req = hyper::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.url));
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let res = self
            .client
            .request(req.body(Full::new(Bytes::from(body))).expect("request"))
            .await
            .expect("response");
        let status = res.status().as_u16();
        let headers = res
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
            .collect();
        let body = res.into_body().collect().await.expect("body").to_bytes();
        (status, headers, body)
    }
}

/// Real Redis and a migrated CQL keyspace of its own, for the reporting
/// endpoints.
pub async fn live_and_archive() -> (adpulse_redis::Redis, adpulse_cql::Cql) {
    let redis = adpulse_redis::Redis::connect(&adpulse_config::RedisConfig {
        url: Secret::new(Server::Redis.require()),
        key_prefix: unique_name("api"),
        ..adpulse_config::RedisConfig::default()
    })
    .await
    .unwrap_or_else(|e| Server::Redis.absent(&e.to_string()));
    let cql = adpulse_cql::Cql::connect(&adpulse_config::CqlConfig {
        nodes: vec![Server::Cql.require()],
        keyspace: unique_name("api"),
        ..adpulse_config::CqlConfig::default()
    })
    .await
    .unwrap_or_else(|e| Server::Cql.absent(&e.to_string()));
    cql.migrate(1).await.expect("cql schema");
    (redis, cql)
}
