//! The stream worker's side of Postgres: partition claims (fencing), batch
//! commits (aggregate deltas and the next offset in one transaction) and
//! the exact campaign totals live counters are written from.

use crate::pg;
use adpulse_domain::CampaignId;
use adpulse_domain::aggregate::{
    AggregateBatch, CampaignTotals, Counts, Grain, LIVE_WINDOW_SECS, LivePoint,
};
use adpulse_domain::ports::AggregateSink;
use adpulse_domain::store::StoreError;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use adpulse_domain::store::{Applied, Claim, Commit};

use crate::{Database, PgError};

mod running;

use running::upsert_running_totals;

const UPSERT: &str = "
WITH d AS (
    SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::timestamptz[], $5::text[], $6::text[],
                         $7::bigint[], $8::bigint[], $9::bigint[])
        WITH ORDINALITY AS t(campaign_id, tenant_id, grain, bucket_start, channel, event_type,
                             events, cost_micros, revenue_micros, idx)
), u AS (
    SELECT idx, hll_add_agg(hll_hash_text(user_key), 14, 5) AS users
    FROM unnest($10::bigint[], $11::text[]) AS x(idx, user_key)
    GROUP BY idx
)
INSERT INTO campaign_aggregates AS a
    (campaign_id, tenant_id, grain, bucket_start, channel, event_type, events, cost_micros, revenue_micros, users)
SELECT d.campaign_id, d.tenant_id, d.grain, d.bucket_start, d.channel, d.event_type,
       d.events, d.cost_micros, d.revenue_micros, coalesce(u.users, hll_empty(14, 5))
FROM d LEFT JOIN u ON u.idx = d.idx
ON CONFLICT (campaign_id, grain, bucket_start, channel, event_type) DO UPDATE SET
    events = a.events + excluded.events,
    cost_micros = a.cost_micros + excluded.cost_micros,
    revenue_micros = a.revenue_micros + excluded.revenue_micros,
    users = hll_union(a.users, excluded.users)";

/// Adds a batch's live-series deltas, skipping points older than the live
/// window (late events still count in the aggregates), and returns the
/// points' new totals.
const UPSERT_LIVE: &str = "
INSERT INTO campaign_live_series AS s
    (campaign_id, tenant_id, point_start, impressions, clicks, conversions, cost_micros, revenue_micros)
SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[], $4::bigint[], $5::bigint[], $6::bigint[],
                     $7::bigint[], $8::bigint[])
    AS d(campaign_id, tenant_id, point_start, impressions, clicks, conversions, cost_micros, revenue_micros)
WHERE d.point_start >= now() - make_interval(secs => $9::float8)
ON CONFLICT (campaign_id, point_start) DO UPDATE SET
    impressions = s.impressions + excluded.impressions,
    clicks = s.clicks + excluded.clicks,
    conversions = s.conversions + excluded.conversions,
    cost_micros = s.cost_micros + excluded.cost_micros,
    revenue_micros = s.revenue_micros + excluded.revenue_micros
RETURNING campaign_id, point_start, impressions, clicks, conversions, cost_micros, revenue_micros";

type LiveRow = (Uuid, DateTime<Utc>, i64, i64, i64, i64, i64);

fn live_point(
    (campaign, start, impressions, clicks, conversions, cost, revenue): LiveRow,
) -> LivePoint {
    LivePoint {
        campaign_id: CampaignId::from_uuid(campaign),
        start,
        counts: Counts {
            impressions,
            clicks,
            conversions,
            cost_micros: cost,
            revenue_micros: revenue,
        },
    }
}

/// Adds the batch's people to the per-campaign day and week sketches
/// (what the reach of ranked campaigns reads), each person once per
/// campaign and period whatever their channels and event types.
async fn upsert_reach(
    tx: &mut sqlx::PgConnection,
    batch: &AggregateBatch,
    sql: &'static str,
    period: fn(chrono::NaiveDate) -> chrono::NaiveDate,
) -> Result<(), PgError> {
    use std::collections::{BTreeMap, BTreeSet};
    let mut people: BTreeMap<(Uuid, chrono::NaiveDate, Uuid), BTreeSet<&str>> = BTreeMap::new();
    for (k, d) in batch
        .rows()
        .filter(|(k, d)| k.grain == Grain::Day && !d.users.is_empty())
    {
        people
            .entry((
                *k.campaign_id.as_uuid(),
                period(k.bucket_start.date_naive()),
                *k.tenant_id.as_uuid(),
            ))
            .or_default()
            .extend(d.users.iter().map(String::as_str));
    }
    if people.is_empty() {
        return Ok(());
    }
    let mut keys: (Vec<Uuid>, Vec<chrono::NaiveDate>, Vec<Uuid>) = Default::default();
    let (mut idx, mut user): (Vec<i64>, Vec<&str>) = (Vec::new(), Vec::new());
    for (i, ((campaign, day, tenant), users)) in people.into_iter().enumerate() {
        keys.0.push(campaign);
        keys.1.push(day);
        keys.2.push(tenant);
        // WITH ORDINALITY numbers rows from 1.
        let n = i64::try_from(i).unwrap_or(i64::MAX) + 1;
        for u in users {
            idx.push(n);
            user.push(u);
        }
    }
    sqlx::query(sql)
        .bind(keys.0)
        .bind(keys.1)
        .bind(keys.2)
        .bind(idx)
        .bind(user)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// The union of a batch's people into `$table`'s sketches, keyed by
/// campaign and `$period`.
macro_rules! reach_upsert {
    ($table:literal, $period:literal) => {
        concat!(
            "INSERT INTO ", $table, " AS r (campaign_id, ", $period, ", tenant_id, users)
             SELECT k.campaign_id, k.period, k.tenant_id, hll_add_agg(hll_hash_text(x.user_key), 14, 5)
             FROM unnest($1::uuid[], $2::date[], $3::uuid[]) WITH ORDINALITY AS k(campaign_id, period, tenant_id, idx)
             JOIN unnest($4::bigint[], $5::text[]) AS x(idx, user_key) ON x.idx = k.idx
             GROUP BY k.campaign_id, k.period, k.tenant_id
             ON CONFLICT (campaign_id, ", $period, ") DO UPDATE SET users = hll_union(r.users, excluded.users)"
        )
    };
}

const DAY_REACH: &str = reach_upsert!("campaign_day_reach", "day");
const WEEK_REACH: &str = reach_upsert!("campaign_week_reach", "week");

/// The Monday starting `day`'s week.
pub(crate) fn week_of(day: chrono::NaiveDate) -> chrono::NaiveDate {
    use chrono::Datelike as _;
    day - chrono::Days::new(u64::from(day.weekday().num_days_from_monday()))
}

async fn upsert_live(
    tx: &mut sqlx::PgConnection,
    batch: &AggregateBatch,
) -> Result<Vec<LivePoint>, PgError> {
    let mut campaign = Vec::new();
    let mut tenant = Vec::new();
    let mut start = Vec::new();
    let (mut impressions, mut clicks, mut conversions, mut cost, mut revenue) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (t, p) in batch.live_points() {
        campaign.push(*p.campaign_id.as_uuid());
        tenant.push(*t.as_uuid());
        start.push(p.start);
        impressions.push(p.counts.impressions);
        clicks.push(p.counts.clicks);
        conversions.push(p.counts.conversions);
        cost.push(p.counts.cost_micros);
        revenue.push(p.counts.revenue_micros);
    }
    if campaign.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<LiveRow> = sqlx::query_as(UPSERT_LIVE)
        .bind(campaign)
        .bind(tenant)
        .bind(start)
        .bind(impressions)
        .bind(clicks)
        .bind(conversions)
        .bind(cost)
        .bind(revenue)
        .bind(LIVE_WINDOW_SECS as f64)
        .fetch_all(tx)
        .await?;
    Ok(rows.into_iter().map(live_point).collect())
}

/// Moves `claim`'s partition to `next_offset` (or keeps it there: a
/// commit may write without consuming) if `claim` still owns it and
/// nothing moved it since; `false` when fenced. The first statement of
/// every commit on a claimed partition (the worker's and the alerter's).
pub(crate) async fn move_offset(
    tx: &mut sqlx::PgConnection,
    claim: &Claim,
    next_offset: i64,
) -> Result<bool, PgError> {
    let moved = sqlx::query(
        "UPDATE consumer_offsets SET next_offset = $5, updated_at = now()
         WHERE consumer_group = $1 AND topic = $2 AND partition = $3 AND owner_epoch = $4 AND next_offset = $6",
    )
    .bind(&claim.group)
    .bind(&claim.topic)
    .bind(claim.partition)
    .bind(claim.epoch)
    .bind(next_offset)
    .bind(claim.next_offset)
    .execute(&mut *tx)
    .await?;
    Ok(moved.rows_affected() == 1)
}

#[async_trait::async_trait]
impl AggregateSink for Database {
    async fn claim_partition(
        &self,
        group: &str,
        topic: &str,
        partition: i32,
    ) -> Result<Claim, StoreError> {
        pg(async move {
            let (epoch, next_offset): (i64, i64) = sqlx::query_as(
                "INSERT INTO consumer_offsets (consumer_group, topic, partition, next_offset, owner_epoch)
                 VALUES ($1, $2, $3, 0, 1)
                 ON CONFLICT (consumer_group, topic, partition)
                 DO UPDATE SET owner_epoch = consumer_offsets.owner_epoch + 1, updated_at = now()
                 RETURNING owner_epoch, next_offset",
            )
            .bind(group)
            .bind(topic)
            .bind(partition)
            .fetch_one(self.pool())
            .await?;
            Ok(Claim {
                group: group.to_owned(),
                topic: topic.to_owned(),
                partition,
                epoch,
                next_offset,
            })
        })
        .await
    }

    async fn commit_batch(
        &self,
        claim: &mut Claim,
        next_offset: i64,
        batch: &AggregateBatch,
    ) -> Result<Commit, StoreError> {
        pg(async move {
            let mut tx = self.pool().begin().await?;
            if !move_offset(&mut tx, claim, next_offset).await? {
                tx.rollback().await?;
                return Ok(Commit::Fenced);
            }
            if !batch.is_empty() {
                let n = batch.rows().count();
                let mut campaign = Vec::with_capacity(n);
                let mut tenant = Vec::with_capacity(n);
                let mut grain = Vec::with_capacity(n);
                let mut bucket: Vec<DateTime<Utc>> = Vec::with_capacity(n);
                let mut channel = Vec::with_capacity(n);
                let mut kind = Vec::with_capacity(n);
                let (mut events, mut cost, mut revenue) = (
                    Vec::with_capacity(n),
                    Vec::with_capacity(n),
                    Vec::with_capacity(n),
                );
                let (mut user_idx, mut user_key): (Vec<i64>, Vec<&str>) = (Vec::new(), Vec::new());
                for (i, (k, d)) in batch.rows().enumerate() {
                    campaign.push(*k.campaign_id.as_uuid());
                    tenant.push(*k.tenant_id.as_uuid());
                    grain.push(k.grain.stored().into_owned());
                    bucket.push(k.bucket_start);
                    channel.push(k.channel.as_str());
                    kind.push(k.event_type.as_str());
                    events.push(d.events);
                    cost.push(d.cost_micros);
                    revenue.push(d.revenue_micros);
                    // WITH ORDINALITY numbers rows from 1.
                    let idx = i64::try_from(i).unwrap_or(i64::MAX) + 1;
                    for u in &d.users {
                        user_idx.push(idx);
                        user_key.push(u);
                    }
                }
                sqlx::query(UPSERT)
                    .bind(campaign)
                    .bind(tenant)
                    .bind(grain)
                    .bind(bucket)
                    .bind(channel)
                    .bind(kind)
                    .bind(events)
                    .bind(cost)
                    .bind(revenue)
                    .bind(user_idx)
                    .bind(user_key)
                    .execute(&mut *tx)
                    .await?;
            }
            let today = Utc::now().date_naive();
            let totals = upsert_running_totals(&mut tx, batch, today).await?;
            upsert_reach(&mut tx, batch, DAY_REACH, |d| d).await?;
            upsert_reach(&mut tx, batch, WEEK_REACH, week_of).await?;
            let live = upsert_live(&mut tx, batch).await?;
            tx.commit().await?;
            claim.next_offset = next_offset;
            Ok(Commit::Applied(Applied {
                points: live,
                totals,
            }))
        })
        .await
    }

    async fn applied_offsets(&self, group: &str, topic: &str) -> Result<i64, StoreError> {
        pg(async move {
            let (n,): (Option<i64>,) = sqlx::query_as(
                "SELECT sum(next_offset)::bigint FROM consumer_offsets WHERE consumer_group = $1 AND topic = $2",
            )
            .bind(group)
            .bind(topic)
            .fetch_one(self.pool())
            .await?;
            Ok(n.unwrap_or(0))
        })
        .await
    }

    async fn campaigns_active_since(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<CampaignId>, StoreError> {
        pg(async move {
            let rows: Vec<(Uuid,)> = sqlx::query_as(
                "SELECT DISTINCT campaign_id FROM campaign_aggregates WHERE grain = 'day' AND bucket_start >= $1",
            )
            .bind(since)
            .fetch_all(self.pool())
            .await?;
            Ok(rows
                .into_iter()
                .map(|(id,)| CampaignId::from_uuid(id))
                .collect())
        })
        .await
    }

    async fn campaign_totals(
        &self,
        campaigns: &[CampaignId],
    ) -> Result<Vec<CampaignTotals>, StoreError> {
        pg(async move {
            let ids: Vec<Uuid> = campaigns.iter().map(|c| *c.as_uuid()).collect();
            let today = adpulse_domain::aggregate::Grain::Day.bucket_start(Utc::now());
            type Row = (
                Uuid,
                String,
                i64,
                i64,
                i64,
                Option<i64>,
                Option<i64>,
                Option<i64>,
            );
            let rows: Vec<Row> = sqlx::query_as(
                "SELECT campaign_id, event_type, sum(events)::bigint, sum(cost_micros)::bigint, sum(revenue_micros)::bigint,
                        (sum(events) FILTER (WHERE bucket_start >= $2))::bigint,
                        (sum(cost_micros) FILTER (WHERE bucket_start >= $2))::bigint,
                        (sum(revenue_micros) FILTER (WHERE bucket_start >= $2))::bigint
                 FROM campaign_aggregates WHERE grain = 'day' AND campaign_id = ANY($1)
                 GROUP BY campaign_id, event_type ORDER BY campaign_id",
            )
            .bind(ids)
            .bind(today)
            .fetch_all(self.pool())
            .await?;
            let mut out: Vec<CampaignTotals> = Vec::new();
            for (id, kind, events, cost, revenue, events_today, cost_today, revenue_today) in rows {
                let id = CampaignId::from_uuid(id);
                if out.last().is_none_or(|t| t.campaign_id != id) {
                    out.push(CampaignTotals {
                        campaign_id: id,
                        impressions: 0,
                        clicks: 0,
                        conversions: 0,
                        cost_micros: 0,
                        revenue_micros: 0,
                        today: Counts::default(),
                    });
                }
                if let Some(t) = out.last_mut() {
                    let events_today = events_today.unwrap_or(0);
                    match kind.as_str() {
                        "impression" => {
                            (t.impressions, t.today.impressions) =
                                (t.impressions + events, t.today.impressions + events_today)
                        }
                        "click" => {
                            (t.clicks, t.today.clicks) =
                                (t.clicks + events, t.today.clicks + events_today)
                        }
                        "conversion" => {
                            (t.conversions, t.today.conversions) =
                                (t.conversions + events, t.today.conversions + events_today)
                        }
                        _ => {}
                    }
                    t.cost_micros += cost;
                    t.revenue_micros += revenue;
                    t.today.cost_micros += cost_today.unwrap_or(0);
                    t.today.revenue_micros += revenue_today.unwrap_or(0);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn live_series(
        &self,
        campaigns: &[CampaignId],
        since: DateTime<Utc>,
    ) -> Result<Vec<LivePoint>, StoreError> {
        pg(async move {
            let ids: Vec<Uuid> = campaigns.iter().map(|c| *c.as_uuid()).collect();
            let rows: Vec<LiveRow> = sqlx::query_as(
                "SELECT campaign_id, point_start, impressions, clicks, conversions, cost_micros, revenue_micros
                 FROM campaign_live_series WHERE campaign_id = ANY($1) AND point_start >= $2
                 ORDER BY campaign_id, point_start",
            )
            .bind(ids)
            .bind(since)
            .fetch_all(self.pool())
            .await?;
            Ok(rows.into_iter().map(live_point).collect())
        })
        .await
    }

    async fn prune_live_series(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        pg(async move {
            let done = sqlx::query("DELETE FROM campaign_live_series WHERE point_start < $1")
                .bind(before)
                .execute(self.pool())
                .await?;
            Ok(done.rows_affected())
        })
        .await
    }
}
