//! The pipeline the reports test runs on: two tenants with analysts, three
//! campaigns in three time zones and an ingest key, made in Postgres; the
//! gateway, the worker and the API in process, on the real stack.

use std::sync::Arc;

use adpulse_config::{ApiConfig, Secret};
use adpulse_domain::ports::prelude::*;
use adpulse_domain::{CampaignId, Role};
use adpulse_gateway::{Gateway, serve};
use adpulse_kafka::KafkaEventLog;
use adpulse_postgres::Database;
use adpulse_testkit::unique_name;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::common::http::Http;
use crate::common::worker::{Env, RunningWorker};

/// The password of both analysts.
pub const PASSWORD: &str = "correct horse battery staple";

/// The campaigns' time zones, in campaign order.
pub const ZONES: [&str; 3] = ["Europe/Berlin", "Asia/Kolkata", "America/New_York"];

/// What the test made in Postgres for the tenant under test.
pub struct Fixture {
    /// The tenant's campaigns, one per zone of [`ZONES`].
    pub campaigns: Vec<CampaignId>,
    /// The tenant's ingest key (the bearer secret).
    pub key: String,
}

/// Two tenants, each with an analyst (`analyst@a.example` of the tenant
/// under test, `analyst@b.example` of the other), the campaigns and the key.
pub async fn fixture(db: &Database) -> Fixture {
    let tenant = db.create_tenant("reports").await.expect("tenant");
    let other = db.create_tenant("other").await.expect("tenant");
    let mut campaigns = Vec::new();
    for (i, tz) in ZONES.iter().enumerate() {
        let c = db
            .create_campaign(tenant, &format!("campaign {i}"), None)
            .await
            .expect("campaign");
        sqlx::query("UPDATE campaigns SET timezone = $1 WHERE id = $2")
            .bind(*tz)
            .bind(c.as_uuid())
            .execute(db.pool())
            .await
            .expect("zone");
        campaigns.push(c);
    }
    let hash = adpulse_api::auth::hash_password(PASSWORD.into())
        .await
        .expect("hash");
    for (t, email) in [(tenant, "analyst@a.example"), (other, "analyst@b.example")] {
        db.create_user(t, email, &hash, Role::Analyst)
            .await
            .expect("user");
    }
    let mut random = [0u8; 32];
    random[0] = 7;
    random[31] = fastrand::u8(..);
    let key = db
        .create_ingest_key(tenant, "reports", random)
        .await
        .expect("key")
        .secret;
    Fixture { campaigns, key }
}

/// The gateway, the worker and the API, running, and how to stop them.
pub struct Services {
    /// The gateway's base URL.
    pub gateway: Http,
    /// The API's base URL (`…/api/v1`).
    pub api: Http,
    gw_stop: oneshot::Sender<()>,
    gw_task: JoinHandle<std::io::Result<()>>,
    worker: RunningWorker,
    api_stop: oneshot::Sender<()>,
    api_task: JoinHandle<Result<(), adpulse_api::ApiStartError>>,
}

impl Services {
    /// The gateway, the worker and the API, in process, on the real stack.
    pub async fn start(env: &Env) -> Self {
        let db = &env.db;
        let gateway_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let gateway = Http::new(&format!(
            "http://{}",
            gateway_listener.local_addr().expect("addr")
        ));
        let gw = Gateway::new(
            env.cfg.gateway.clone(),
            env.cfg.limits.limits(),
            Arc::new(KafkaEventLog::new(&env.cfg.kafka).expect("producer")),
            Arc::new(db.clone()),
        )
        .expect("gateway");
        let (gw_stop, gw_stopped) = oneshot::channel::<()>();
        let gw_task = tokio::spawn(serve(gw, gateway_listener, env.cfg.http, async {
            let _ = gw_stopped.await;
        }));
        let worker = env.start_worker().await;
        let api_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let api = Http::new(&format!(
            "http://{}/api/v1",
            api_listener.local_addr().expect("addr")
        ));
        let api_cfg = ApiConfig {
            jwt_secret: Some(Secret::new("reports-test-secret-0123456789abcdef".into())),
            asset_store: std::env::temp_dir()
                .join(unique_name("assets"))
                .display()
                .to_string(),
            requests_per_user_per_second: 10_000,
            ..ApiConfig::default()
        };
        let api_db = Database::connect_for_tenants(&env.cfg.postgres)
            .await
            .expect("api db");
        let (api_stop, api_stopped) = oneshot::channel::<()>();
        let archive = adpulse_cql::CqlArchive::new(
            adpulse_cql::Cql::connect(&env.cfg.cql).await.expect("cql"),
        )
        .await
        .expect("archive");
        let state = adpulse_api::AppState::new(&api_cfg, Arc::new(api_db))
            .expect("api")
            .with_live(Arc::new(env.redis.clone()))
            .with_archive(Arc::new(archive));
        let http = env.cfg.http;
        let api_task = tokio::spawn(async move {
            adpulse_api::serve(&api_cfg, state, api_listener, http, async {
                let _ = api_stopped.await;
            })
            .await
        });
        Self {
            gateway,
            api,
            gw_stop,
            gw_task,
            worker,
            api_stop,
            api_task,
        }
    }

    /// Stops the API, the gateway and the worker, each cleanly.
    pub async fn stop(self) {
        let _ = self.api_stop.send(());
        self.api_task.await.expect("join").expect("api");
        let _ = self.gw_stop.send(());
        self.gw_task.await.expect("join").expect("gateway");
        self.worker.stop().await;
    }
}
