//! Budget enforcement's side of Postgres: the stops the alerter records in
//! its fenced commits and reads back, the API reads per tenant and the
//! gateway's directory polls; and the split of a campaign's totals at a
//! local midnight the alerter measures today's spend with.
//!
//! One row per stopped campaign (`campaign_budget_stops`): set or replaced
//! when a limit is reached, deleted when the stop is lifted. The gateway
//! polls the stops in force about every 500 ms, so that read is one scan
//! of the `until` index over a table of stopped campaigns only.

use std::collections::BTreeMap;

use adpulse_domain::CampaignId;
use adpulse_domain::TenantId;
use adpulse_domain::aggregate::{Counts, Grain};
use adpulse_domain::alert::ledger::{DayBase, StopWrite};
use adpulse_domain::budget::{BudgetStop, StoppedCampaign};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::{Database, PgError};

const STOP_COLUMNS: &str = "campaign_id, stop, since, until";

#[derive(sqlx::FromRow)]
struct StopRow {
    campaign_id: Uuid,
    stop: String,
    since: DateTime<Utc>,
    until: Option<DateTime<Utc>>,
}

impl TryFrom<StopRow> for StoppedCampaign {
    type Error = PgError;

    fn try_from(r: StopRow) -> Result<Self, PgError> {
        let stop = [BudgetStop::Total, BudgetStop::Daily]
            .into_iter()
            .find(|s| s.as_str() == r.stop)
            .ok_or_else(|| {
                PgError::Config(
                    format!("unknown budget stop {:?} of {}", r.stop, r.campaign_id).into(),
                )
            })?;
        Ok(Self {
            campaign: CampaignId::from_uuid(r.campaign_id),
            stop,
            since: r.since,
            until: r.until,
        })
    }
}

/// Sets, replaces or deletes (lifted) each campaign's stop, the last write
/// of a campaign winning (one statement cannot change a row twice). A
/// write is keyed by its `campaign`.
pub(super) async fn write_stops(
    tx: &mut PgConnection,
    writes: &[StopWrite],
) -> Result<(), PgError> {
    let last: BTreeMap<Uuid, &StopWrite> =
        writes.iter().map(|w| (*w.campaign.as_uuid(), w)).collect();
    let (mut lifted, mut campaign, mut tenant, mut stop, mut since, mut until) = (
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
    );
    for (id, w) in last {
        match &w.stop {
            None => lifted.push(id),
            Some(s) => {
                campaign.push(id);
                tenant.push(*w.tenant.as_uuid());
                stop.push(s.stop.as_str());
                since.push(s.since);
                until.push(s.until);
            }
        }
    }
    if !lifted.is_empty() {
        sqlx::query("DELETE FROM campaign_budget_stops WHERE campaign_id = ANY($1)")
            .bind(lifted)
            .execute(&mut *tx)
            .await?;
    }
    if !campaign.is_empty() {
        sqlx::query(
            "INSERT INTO campaign_budget_stops (campaign_id, tenant_id, stop, since, until, updated_at)
             SELECT c, t, s, f, u, now()
             FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::timestamptz[], $5::timestamptz[])
                 AS x(c, t, s, f, u)
             ON CONFLICT (campaign_id) DO UPDATE SET
                 tenant_id = excluded.tenant_id, stop = excluded.stop, since = excluded.since,
                 until = excluded.until, updated_at = excluded.updated_at",
        )
        .bind(campaign)
        .bind(tenant)
        .bind(stop)
        .bind(since)
        .bind(until)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// `AlertLedger::recorded_stop`: the campaign's stop, in force or not (a
/// system session).
pub(super) async fn recorded(
    db: &Database,
    campaign: CampaignId,
) -> Result<Option<StoppedCampaign>, PgError> {
    let row: Option<StopRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {STOP_COLUMNS} FROM campaign_budget_stops WHERE campaign_id = $1"
    )))
    .bind(campaign.as_uuid())
    .fetch_optional(db.pool())
    .await?;
    row.map(TryInto::try_into).transpose()
}

/// `AlertStore::budget_stop`: the same, within the tenant's transaction.
pub(super) async fn tenants(
    db: &Database,
    tenant: TenantId,
    campaign: CampaignId,
) -> Result<Option<StoppedCampaign>, PgError> {
    let mut tx = db.tenant_tx(tenant).await?;
    let row: Option<StopRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {STOP_COLUMNS} FROM campaign_budget_stops WHERE campaign_id = $1 AND tenant_id = $2"
    )))
    .bind(campaign.as_uuid())
    .bind(tenant.as_uuid())
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    row.map(TryInto::try_into).transpose()
}

/// `Directory::budget_stops`: every stop in force at the server's `now()`,
/// across tenants (a system session), by campaign: a BitmapOr of the two
/// conditions on the `until` index (0.06 ms over 20,000 passed daily
/// stops and 40 in force).
pub(crate) async fn in_force(db: &Database) -> Result<Vec<StoppedCampaign>, PgError> {
    let rows: Vec<StopRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {STOP_COLUMNS} FROM campaign_budget_stops
         WHERE until IS NULL OR until > now() ORDER BY campaign_id"
    )))
    .fetch_all(db.pool())
    .await?;
    rows.into_iter().map(TryInto::try_into).collect()
}

/// `AlertLedger::day_base`, in one statement (one snapshot): the campaign's
/// lifetime row (the stream worker keeps it in the transaction that adds
/// the aggregates; zero before its first event) and its rows of the local
/// day of `zone` starting at `day_start`, as the worker stores local days
/// ([`Grain::local_day`]). The lifetime row is keyed by tenant: the
/// campaign's own gives it.
pub(super) async fn day_base(
    db: &Database,
    campaign: CampaignId,
    zone: &str,
    day_start: DateTime<Utc>,
) -> Result<DayBase, PgError> {
    let tz: Tz = zone
        .parse()
        .map_err(|_| PgError::Invalid(format!("unknown time zone {zone:?}").into()))?;
    let grain = Grain::local_day(tz).stored();
    type Row = (i64, i64, i64, i64, i64, i64, i64, i64, i64, i64);
    let r: Row = sqlx::query_as(
        "SELECT coalesce(l.impressions, 0), coalesce(l.clicks, 0), coalesce(l.conversions, 0),
                coalesce(l.cost_micros, 0), coalesce(l.revenue_micros, 0),
                d.impressions, d.clicks, d.conversions, d.cost_micros, d.revenue_micros
         FROM (SELECT
                   coalesce(sum(events) FILTER (WHERE event_type = 'impression'), 0)::bigint
                       AS impressions,
                   coalesce(sum(events) FILTER (WHERE event_type = 'click'), 0)::bigint AS clicks,
                   coalesce(sum(events) FILTER (WHERE event_type = 'conversion'), 0)::bigint
                       AS conversions,
                   coalesce(sum(cost_micros), 0)::bigint AS cost_micros,
                   coalesce(sum(revenue_micros), 0)::bigint AS revenue_micros
               FROM campaign_aggregates
               WHERE campaign_id = $1 AND grain = $2 AND bucket_start = $3) AS d
         LEFT JOIN campaign_lifetime_totals AS l
           ON l.campaign_id = $1
          AND l.tenant_id = (SELECT c.tenant_id FROM campaigns AS c WHERE c.id = $1)",
    )
    .bind(campaign.as_uuid())
    .bind(grain.as_ref())
    .bind(day_start)
    .fetch_one(db.pool())
    .await?;
    let counts = |impressions, clicks, conversions, cost_micros, revenue_micros| Counts {
        impressions,
        clicks,
        conversions,
        cost_micros,
        revenue_micros,
    };
    Ok(DayBase {
        lifetime: counts(r.0, r.1, r.2, r.3, r.4),
        day: counts(r.5, r.6, r.7, r.8, r.9),
    })
}
