//! The one place the store conformance suites build a store: each suite
//! (`store_relational`, `store_aggregates`, `store_report_sums`) runs its
//! assertions on an [`Env`] made here for Postgres and for SQLite, through
//! [`conformance!`]. When the way a service holds its store changes, this
//! module changes and the assertions do not.

// Each suite is its own test binary and uses part of this module.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;

use adpulse_config::{PostgresConfig, Secret};
use adpulse_domain::{CampaignId, TenantId};
use adpulse_postgres::Database;
use adpulse_sqlite::Lite;
use adpulse_testkit::{Server, unique_name};
use chrono::{DateTime, Utc};

/// The relational store as the services hold it.
pub type Store = Arc<dyn adpulse_domain::ports::Store>;

/// The adapter itself, for rows written beneath the port and for cleaning
/// up after it.
enum Raw {
    Postgres(Database),
    Sqlite(Lite),
}

/// One adapter, as the services hold it, and what to clean up after it.
pub struct Env {
    /// What the stream worker, the admin tools and the gateway call (on
    /// Postgres a system session: it writes every tenant's rows).
    pub store: Store,
    /// What the API calls (on Postgres a tenant-scoped session, where
    /// row-level security applies; on SQLite the same file, where every
    /// statement names its tenant).
    pub api: Store,
    raw: Raw,
    /// SQLite's data folder, removed at the end.
    dir: Option<PathBuf>,
}

impl Env {
    /// A private schema on the local Postgres, migrated; `label` starts
    /// its name. `max_connections` caps each of the two pools (the
    /// configuration's default when `None`).
    pub async fn postgres(label: &str, max_connections: Option<u32>) -> Self {
        let defaults = PostgresConfig::default();
        let cfg = PostgresConfig {
            url: Secret::new(Server::Postgres.require()),
            schema: Some(unique_name(label)),
            max_connections: max_connections.unwrap_or(defaults.max_connections),
            ..defaults
        };
        let store = match Database::connect(&cfg).await {
            Ok(db) => db,
            Err(e) => Server::Postgres.absent(&e.to_string()),
        };
        store.migrate().await.expect("migrate");
        let api = Database::connect_for_tenants(&cfg)
            .await
            .expect("tenant-scoped connection");
        Self {
            store: Arc::new(store.clone()),
            api: Arc::new(api),
            raw: Raw::Postgres(store),
            dir: None,
        }
    }

    /// A fresh SQLite data folder; `label` starts its name. SQLite has one
    /// connection kind: both roles share it.
    pub async fn sqlite(label: &str) -> Self {
        let dir = std::env::temp_dir().join(unique_name(&format!("adpulse_{label}")));
        let lite = Lite::open(&dir).await.expect("open sqlite");
        Self {
            store: Arc::new(lite.clone()),
            api: Arc::new(lite.clone()),
            raw: Raw::Sqlite(lite),
            dir: Some(dir),
        }
    }

    /// Closes the connections, drops the test's schema and removes the
    /// data folder (a failed test never gets here and leaves its schema
    /// for a look).
    pub async fn finish(mut self) {
        self.api.close().await;
        if let Raw::Postgres(db) = &self.raw {
            db.drop_schema().await.expect("drop schema");
        }
        self.store.close().await;
        if let Some(dir) = self.dir.take() {
            std::fs::remove_dir_all(&dir).expect("remove data folder");
        }
    }

    /// Writes one row of `campaign` at `grain` (`minute`, `day@UTC`) on
    /// `channel` straight into `campaign_aggregates`: `events`
    /// impressions costing `cost` and earning `revenue`, in the bucket
    /// starting at `at`. For values the worker's commits could only reach
    /// after years, as each adapter stores them.
    pub async fn insert_aggregate_row(
        &self,
        (tenant, campaign): (TenantId, CampaignId),
        (grain, channel): (&str, &str),
        at: DateTime<Utc>,
        [events, cost, revenue]: [i64; 3],
    ) {
        match &self.raw {
            Raw::Postgres(db) => {
                sqlx::query(
                    "INSERT INTO campaign_aggregates (campaign_id, tenant_id, grain, bucket_start, channel, event_type, events, cost_micros, revenue_micros, users)
                     VALUES ($1, $2, $7, $3, $8, 'impression', $4, $5, $6, hll_empty(14, 5))",
                )
                .bind(campaign.as_uuid())
                .bind(tenant.as_uuid())
                .bind(at)
                .bind(events)
                .bind(cost)
                .bind(revenue)
                .bind(grain)
                .bind(channel)
                .execute(db.pool())
                .await
                .expect("insert");
            }
            Raw::Sqlite(lite) => {
                sqlx::query(
                    "INSERT INTO campaign_aggregates (campaign_id, tenant_id, grain, bucket_start, channel, event_type, events, cost_micros, revenue_micros, users)
                     VALUES (?1, ?2, ?7, ?3, ?8, 'impression', ?4, ?5, ?6, X'010000')",
                )
                .bind(campaign.as_uuid())
                .bind(tenant.as_uuid())
                .bind(at.timestamp_micros())
                .bind(events)
                .bind(cost)
                .bind(revenue)
                .bind(grain)
                .bind(channel)
                .execute(lite.pool())
                .await
                .expect("insert");
            }
        }
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        // A failed test leaves no data folder behind either.
        if let Some(dir) = self.dir.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Instantiates each named test once per adapter, as
/// `postgres::<test>` and `sqlite::<test>`: `conformance!("label",
/// pool_cap; test, …)` where each `test` is an `async fn(&Env)` of the
/// calling module, `"label"` starts the schema or folder name and
/// `pool_cap` is an `Option<u32>` for [`Env::postgres`].
macro_rules! conformance {
    ($label:literal, $pool:expr; $($name:ident),* $(,)?) => {
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    let env = $crate::common::Env::postgres($label, $pool).await;
                    super::$name(&env).await;
                    env.finish().await;
                }
            )*
        }
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let env = $crate::common::Env::sqlite($label).await;
                    super::$name(&env).await;
                    env.finish().await;
                }
            )*
        }
    };
}
pub(crate) use conformance;
