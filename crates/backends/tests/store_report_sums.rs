//! Reports whose sums leave the `i64` range, on Postgres (a private
//! schema on the local server) and on SQLite (a fresh data folder), with
//! one set of assertions: the sum of rows that each fit is shown at the
//! bound it passed instead of failing the report (Postgres: `bigint out of
//! range`; SQLite: `integer overflow`, or a wrapped or panicking sum in
//! Rust), sums just inside the range stay exact, and the ranking orders
//! campaigns by their exact sums.
//!
//! The rows are written straight into `campaign_aggregates`: each holds a
//! value that fits, as the stream worker's commits keep them, and only
//! their sums across buckets do not.

use std::path::PathBuf;
use std::sync::Arc;

/// The relational store as the services hold it.
type Store = Arc<dyn adpulse_domain::ports::Store>;

/// The adapter itself, for rows written beneath the port.
enum Raw {
    Postgres(Database),
    Sqlite(Lite),
}
use adpulse_config::{PostgresConfig, Secret};
use adpulse_domain::aggregate::{Counts, Grain};
use adpulse_domain::report::{Breakdown, Granularity, RankBy, saturated};
use adpulse_domain::store::{CampaignReport, TopCampaigns};
use adpulse_domain::{CampaignId, TenantId};
use adpulse_postgres::Database;
use adpulse_sqlite::Lite;
use adpulse_testkit::{Server, unique_name};
use chrono::{DateTime, Duration, Utc};

struct Backend {
    store: Store,
    api: Store,
    raw: Raw,
    dir: Option<PathBuf>,
}

impl Backend {
    async fn postgres() -> Self {
        let schema = unique_name("sums");
        let cfg = PostgresConfig {
            url: Secret::new(Server::Postgres.require()),
            ..PostgresConfig::default()
        };
        let db = match Database::connect_in_schema(&cfg, &schema).await {
            Ok(db) => db,
            Err(e) => Server::Postgres.absent(&e.to_string()),
        };
        db.migrate().await.expect("migrate");
        let api = Database::connect_for_tenants(&PostgresConfig {
            schema: Some(schema),
            ..cfg
        })
        .await
        .expect("connect for tenants");
        Self {
            store: Arc::new(db.clone()),
            api: Arc::new(api),
            raw: Raw::Postgres(db),
            dir: None,
        }
    }

    async fn sqlite() -> Self {
        let dir = std::env::temp_dir().join(unique_name("adpulse_sums"));
        let lite = Lite::open(&dir).await.expect("open sqlite");
        Self {
            store: Arc::new(lite.clone()),
            api: Arc::new(lite.clone()),
            raw: Raw::Sqlite(lite),
            dir: Some(dir),
        }
    }

    async fn finish(mut self) {
        self.api.close().await;
        if let Raw::Postgres(db) = &self.raw {
            db.drop_schema().await.expect("drop schema");
        }
        self.store.close().await;
        if let Some(dir) = self.dir.take() {
            std::fs::remove_dir_all(&dir).expect("remove data folder");
        }
    }

    /// One row of `campaign` at `grain` (`minute`, `day@UTC`) on
    /// `channel`: `events` impressions costing `cost` and earning
    /// `revenue`, in the bucket starting at `at`.
    async fn row(
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

impl Drop for Backend {
    fn drop(&mut self) {
        if let Some(dir) = self.dir.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    let b = super::Backend::postgres().await;
                    super::$name(&b).await;
                    b.finish().await;
                }
            )*
        }
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let b = super::Backend::sqlite().await;
                    super::$name(&b).await;
                    b.finish().await;
                }
            )*
        }
    };
}

conformance!(sums_past_i64_saturate_and_sums_inside_stay_exact);

fn at(s: &str) -> DateTime<Utc> {
    s.parse().expect("time")
}

const HALF: i64 = i64::MAX / 2 + 1;

async fn sums_past_i64_saturate_and_sums_inside_stay_exact(b: &Backend) {
    let tenant = b.store.create_tenant("sums").await.expect("tenant");
    let mut ids = Vec::new();
    for name in ["over", "just-under", "under"] {
        ids.push(
            b.store
                .create_campaign(tenant, name, None)
                .await
                .expect("campaign"),
        );
    }
    let [over, just_under, under] = ids[..] else {
        panic!("three campaigns");
    };
    let t0 = at("2026-11-29T10:00:00Z");
    let day = at("2026-11-29T00:00:00Z");
    // Each campaign's rows twice: minute rows (what hourly reports and the
    // ranking over minutes read) and the same sums as local days of UTC
    // (what reports by day and in total read), one per channel.
    let rows: [(CampaignId, &[[i64; 3]]); 3] = [
        // over: three rows of 2^62 each (3·2^62 > i64::MAX).
        (over, &[[HALF, HALF, HALF]; 3]),
        // just-under: 2^62 + (2^62 - 2) = i64::MAX - 1, exact.
        (just_under, &[[1, HALF, 0], [1, HALF - 2, 0]]),
        // under: one row of i64::MAX - 2.
        (under, &[[1, i64::MAX - 2, 0]]),
    ];
    for (campaign, values) in rows {
        for (i, (v, channel)) in values
            .iter()
            .zip(["display", "social", "search"])
            .enumerate()
        {
            let minute = t0 + Duration::minutes(i64::try_from(i).expect("i"));
            b.row((tenant, campaign), ("minute", "display"), minute, *v)
                .await;
            b.row((tenant, campaign), ("day@UTC", channel), day, *v)
                .await;
        }
    }

    let report = |campaign, granularity| CampaignReport {
        campaign,
        from: at("2026-11-29T00:00:00Z"),
        to: at("2026-11-30T00:00:00Z"),
        grain: Grain::Minute,
        tz: "UTC".into(),
        granularity,
        breakdown: Breakdown::default(),
    };
    for granularity in [Granularity::Total, Granularity::Day, Granularity::Hour] {
        let rows = b
            .api
            .campaign_report(tenant, &report(over, granularity))
            .await
            .unwrap_or_else(|e| panic!("{granularity:?}: {e}"));
        assert_eq!(rows.len(), 1, "{granularity:?}");
        assert_eq!(
            rows[0].counts,
            Counts {
                impressions: i64::MAX,
                clicks: 0,
                conversions: 0,
                cost_micros: i64::MAX,
                revenue_micros: i64::MAX,
            },
            "{granularity:?}"
        );
        assert!(saturated(&rows[0].counts));
    }
    let rows = b
        .api
        .campaign_report(tenant, &report(just_under, Granularity::Total))
        .await
        .expect("report");
    assert_eq!(rows[0].counts.cost_micros, i64::MAX - 1);
    assert!(!saturated(&rows[0].counts), "exact below the bound");
    let mut streamed = Vec::new();
    b.api
        .campaign_report_each(tenant, &report(over, Granularity::Day), &mut |r| {
            streamed.push(r);
            Box::pin(async { std::ops::ControlFlow::Continue(()) })
        })
        .await
        .expect("streamed report");
    assert_eq!(streamed.len(), 1);
    assert_eq!(streamed[0].counts.cost_micros, i64::MAX);

    for (desc, order) in [
        (true, [over, just_under, under]),
        (false, [under, just_under, over]),
    ] {
        let q = TopCampaigns {
            from: at("2026-11-29T00:00:00Z"),
            to: at("2026-11-30T00:00:00Z"),
            grain: Grain::Minute,
            status: None,
            brand_id: None,
            by: RankBy::Spend,
            desc,
            limit: 10,
        };
        let ranked = b.api.top_campaigns(tenant, &q).await.expect("ranking");
        let got: Vec<CampaignId> = ranked.iter().map(|r| r.id).collect();
        assert_eq!(got, order, "desc {desc}: exact sums order the ranking");
        let spend: Vec<i64> = ranked.iter().map(|r| r.counts.cost_micros).collect();
        let mut expected = vec![i64::MAX, i64::MAX - 1, i64::MAX - 2];
        if !desc {
            expected.reverse();
        }
        assert_eq!(spend, expected);
        let top = &ranked[if desc { 0 } else { 2 }];
        assert_eq!(top.counts.impressions, i64::MAX);
        assert!(saturated(&top.counts));
    }
}
