//! The stream worker's side of SQLite: partition claims (fencing), batch
//! commits (aggregate deltas, live-series points and the next offset in
//! one transaction) and the exact campaign totals live counters are
//! written from. Same answers as the Postgres adapter's `aggregates`.
//!
//! Postgres unions sketches with the `hll` extension; here they are merged
//! in Rust: a commit reads the stored sketches of the rows its batch saw
//! people in, merges, and writes the results back with the counts, safe
//! because the transaction holds the write lock from its first statement.
//! Rows go many to a statement: each statement is a round trip to sqlx's
//! SQLite thread, which costs more than SQLite's own work on a row. Chunks
//! have a few fixed sizes (see [`chunks`]), so the statements stay few,
//! prepared once per connection and reused by every commit.

use adpulse_domain::ports::AggregateSink;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use adpulse_domain::aggregate::{
    AggregateBatch, AggregateDelta, AggregateKey, CampaignTotals, Counts, Grain, LIVE_WINDOW_SECS,
    LivePoint,
};
use adpulse_domain::reach::Sketch;
use adpulse_domain::store::{Applied, Claim, Commit, StoreError};
use adpulse_domain::{CampaignId, EventType, TenantId};
use chrono::{DateTime, TimeDelta, Utc};
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};
use uuid::Uuid;

use crate::{Lite, instant, micros};
use crate::{failed, write_tx};

/// Campaign ids per statement (well under SQLite's limit of bound
/// parameters).
const IDS_PER_STATEMENT: usize = 5_000;

/// The encoding of the empty sketch (`Sketch::new().encode()`): what a row
/// holds until its first person.
pub(crate) const EMPTY_SKETCH: [u8; 3] = [1, 0, 0];

/// Most rows in one statement (at 10 parameters a row, well under
/// SQLite's limit of 32,766).
const ROWS_PER_STATEMENT: usize = 256;

/// `rows` split into chunks of `ROWS_PER_STATEMENT` and then of powers of
/// two: at most nine sizes, so at most nine statement texts per kind.
fn chunks<T>(mut rows: &[T]) -> impl Iterator<Item = &[T]> {
    std::iter::from_fn(move || {
        let n = rows.len();
        if n == 0 {
            return None;
        }
        let size = if n >= ROWS_PER_STATEMENT {
            ROWS_PER_STATEMENT
        } else {
            1 << n.ilog2()
        };
        let (chunk, rest) = rows.split_at(size);
        rows = rest;
        Some(chunk)
    })
}

/// `n` groups of `width` placeholders: `(?, ?), (?, ?)`.
fn placeholders(width: usize, n: usize) -> String {
    let group = format!("({})", vec!["?"; width].join(", "));
    vec![group; n].join(", ")
}

/// A row's identity as stored.
type StoredKey = (Uuid, String, i64, String, String);

fn stored_key(k: &AggregateKey) -> StoredKey {
    (
        *k.campaign_id.as_uuid(),
        k.grain.stored().into_owned(),
        micros(k.bucket_start),
        k.channel.as_str().to_owned(),
        k.event_type.as_str().to_owned(),
    )
}

type LiveRow = (Uuid, i64, i64, i64, i64, i64, i64);

fn live_point(
    (campaign, start, impressions, clicks, conversions, cost, revenue): LiveRow,
) -> LivePoint {
    LivePoint {
        campaign_id: CampaignId::from_uuid(campaign),
        start: instant(start),
        counts: Counts {
            impressions,
            clicks,
            conversions,
            cost_micros: cost,
            revenue_micros: revenue,
        },
    }
}

/// A stored sketch, or why it cannot be read.
pub(crate) fn sketch(bytes: &[u8]) -> Result<Sketch, StoreError> {
    Sketch::decode(bytes)
        .map_err(|e| StoreError::Config(format!("stored unique users: {e}").into()))
}

/// Adds every row of `batch` to `campaign_aggregates`, merging the batch's
/// people into each row's stored sketch.
async fn upsert_aggregates(
    tx: &mut SqliteConnection,
    batch: &AggregateBatch,
) -> Result<(), StoreError> {
    let rows: Vec<(&AggregateKey, &AggregateDelta)> = batch.rows().collect();
    // The stored sketches of the rows the batch saw people in.
    let seen: Vec<&AggregateKey> = rows
        .iter()
        .filter(|(_, d)| !d.users.is_empty())
        .map(|(k, _)| *k)
        .collect();
    let mut stored: HashMap<StoredKey, Vec<u8>> = HashMap::new();
    for keys in chunks(&seen) {
        let sql = format!(
            "WITH k (campaign_id, grain, bucket_start, channel, event_type) AS (VALUES {})
             SELECT a.campaign_id, a.grain, a.bucket_start, a.channel, a.event_type, a.users
             FROM k JOIN campaign_aggregates a ON a.campaign_id = k.campaign_id AND a.grain = k.grain
                 AND a.bucket_start = k.bucket_start AND a.channel = k.channel AND a.event_type = k.event_type",
            placeholders(5, keys.len())
        );
        let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql));
        for k in keys {
            q = q
                .bind(*k.campaign_id.as_uuid())
                .bind(k.grain.stored().into_owned())
                .bind(micros(k.bucket_start))
                .bind(k.channel.as_str())
                .bind(k.event_type.as_str());
        }
        let found: Vec<(Uuid, String, i64, String, String, Vec<u8>)> =
            q.fetch_all(&mut *tx).await.map_err(failed)?;
        for (c, g, b, ch, e, users) in found {
            stored.insert((c, g, b, ch, e), users);
        }
    }
    // A row without people keeps its stored sketch (the update recognises
    // the empty one it is sent); a row with people gets the merge.
    let empty: String = EMPTY_SKETCH.iter().map(|b| format!("{b:02X}")).collect();
    for chunk in chunks(&rows) {
        let sql = format!(
            "INSERT INTO campaign_aggregates
                 (campaign_id, tenant_id, grain, bucket_start, channel, event_type, events, cost_micros,
                  revenue_micros, users)
             VALUES {}
             ON CONFLICT (campaign_id, grain, bucket_start, channel, event_type) DO UPDATE SET
                 events = campaign_aggregates.events + excluded.events,
                 cost_micros = campaign_aggregates.cost_micros + excluded.cost_micros,
                 revenue_micros = campaign_aggregates.revenue_micros + excluded.revenue_micros,
                 users = CASE WHEN excluded.users = X'{empty}' THEN campaign_aggregates.users
                              ELSE excluded.users END",
            placeholders(10, chunk.len())
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (k, d) in chunk {
            let users = if d.users.is_empty() {
                EMPTY_SKETCH.to_vec()
            } else {
                let mut users = Sketch::of(&d.users);
                if let Some(bytes) = stored.get(&stored_key(k)) {
                    let mut merged = sketch(bytes)?;
                    merged.merge(&users);
                    users = merged;
                }
                users.encode()
            };
            q = q
                .bind(*k.campaign_id.as_uuid())
                .bind(*k.tenant_id.as_uuid())
                .bind(k.grain.stored().into_owned())
                .bind(micros(k.bucket_start))
                .bind(k.channel.as_str())
                .bind(k.event_type.as_str())
                .bind(d.events)
                .bind(d.cost_micros)
                .bind(d.revenue_micros)
                .bind(users);
        }
        q.execute(&mut *tx).await.map_err(failed)?;
    }
    Ok(())
}

/// Adds the batch's live-series points from the last `LIVE_WINDOW_SECS`
/// (before `now`) and returns their new totals.
async fn upsert_live(
    tx: &mut SqliteConnection,
    batch: &AggregateBatch,
    now: DateTime<Utc>,
) -> Result<Vec<LivePoint>, StoreError> {
    let oldest = now - TimeDelta::seconds(LIVE_WINDOW_SECS);
    let points: Vec<(TenantId, LivePoint)> = batch
        .live_points()
        .filter(|(_, p)| p.start >= oldest)
        .collect();
    let mut out = Vec::with_capacity(points.len());
    for chunk in chunks(&points) {
        let sql = format!(
            "INSERT INTO campaign_live_series
                 (campaign_id, tenant_id, point_start, impressions, clicks, conversions, cost_micros, revenue_micros)
             VALUES {}
             ON CONFLICT (campaign_id, point_start) DO UPDATE SET
                 impressions = campaign_live_series.impressions + excluded.impressions,
                 clicks = campaign_live_series.clicks + excluded.clicks,
                 conversions = campaign_live_series.conversions + excluded.conversions,
                 cost_micros = campaign_live_series.cost_micros + excluded.cost_micros,
                 revenue_micros = campaign_live_series.revenue_micros + excluded.revenue_micros
             RETURNING campaign_id, point_start, impressions, clicks, conversions, cost_micros, revenue_micros",
            placeholders(8, chunk.len())
        );
        let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql));
        for (tenant, p) in chunk {
            q = q
                .bind(*p.campaign_id.as_uuid())
                .bind(*tenant.as_uuid())
                .bind(micros(p.start))
                .bind(p.counts.impressions)
                .bind(p.counts.clicks)
                .bind(p.counts.conversions)
                .bind(p.counts.cost_micros)
                .bind(p.counts.revenue_micros);
        }
        let rows: Vec<LiveRow> = q.fetch_all(&mut *tx).await.map_err(failed)?;
        out.extend(rows.into_iter().map(live_point));
    }
    Ok(out)
}

/// Lifetime and today's (UTC) totals of `campaigns`, on `conn` (a read
/// connection, or the commit's own transaction).
async fn totals_of(
    conn: &mut sqlx::SqliteConnection,
    campaigns: &[CampaignId],
) -> Result<Vec<CampaignTotals>, StoreError> {
    let today = micros(Grain::Day.bucket_start(Utc::now()));
    let mut totals: BTreeMap<CampaignId, CampaignTotals> = BTreeMap::new();
    for ids in campaigns.chunks(IDS_PER_STATEMENT) {
        let mut b: QueryBuilder<Sqlite> = QueryBuilder::new(
            "SELECT campaign_id, event_type, sum(events), sum(cost_micros), sum(revenue_micros),
                    coalesce(sum(events) FILTER (WHERE bucket_start >= ",
        );
        b.push_bind(today)
            .push("), 0), coalesce(sum(cost_micros) FILTER (WHERE bucket_start >= ")
            .push_bind(today)
            .push("), 0), coalesce(sum(revenue_micros) FILTER (WHERE bucket_start >= ")
            .push_bind(today)
            .push("), 0) FROM campaign_aggregates WHERE grain = 'day' AND campaign_id IN (");
        let mut list = b.separated(", ");
        for id in ids {
            list.push_bind(*id.as_uuid());
        }
        b.push(") GROUP BY campaign_id, event_type");
        type Row = (Uuid, String, i64, i64, i64, i64, i64, i64);
        let rows: Vec<Row> = b
            .build_query_as()
            .fetch_all(&mut *conn)
            .await
            .map_err(failed)?;
        for (id, kind, events, cost, revenue, events_today, cost_today, revenue_today) in rows {
            let id = CampaignId::from_uuid(id);
            let t = totals.entry(id).or_insert_with(|| CampaignTotals {
                campaign_id: id,
                impressions: 0,
                clicks: 0,
                conversions: 0,
                cost_micros: 0,
                revenue_micros: 0,
                today: Counts::default(),
            });
            match EventType::ALL.into_iter().find(|k| k.as_str() == kind) {
                Some(EventType::Impression) => {
                    t.impressions += events;
                    t.today.impressions += events_today;
                }
                Some(EventType::Click) => {
                    t.clicks += events;
                    t.today.clicks += events_today;
                }
                Some(EventType::Conversion) => {
                    t.conversions += events;
                    t.today.conversions += events_today;
                }
                None => {}
            }
            t.cost_micros += cost;
            t.revenue_micros += revenue;
            t.today.cost_micros += cost_today;
            t.today.revenue_micros += revenue_today;
        }
    }
    Ok(totals.into_values().collect())
}

/// Moves `claim`'s partition to `next_offset` (or keeps it there: a
/// commit may write without consuming) if `claim` still owns it and
/// nothing moved it since; `false` when fenced. The first statement of
/// every commit on a claimed partition (the worker's and the alerter's).
pub(crate) async fn move_offset(
    tx: &mut SqliteConnection,
    claim: &Claim,
    next_offset: i64,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let moved = sqlx::query(
        "UPDATE consumer_offsets SET next_offset = ?5, updated_at = ?7
         WHERE consumer_group = ?1 AND topic = ?2 AND partition = ?3 AND owner_epoch = ?4
           AND next_offset = ?6",
    )
    .bind(&claim.group)
    .bind(&claim.topic)
    .bind(claim.partition)
    .bind(claim.epoch)
    .bind(next_offset)
    .bind(claim.next_offset)
    .bind(micros(now))
    .execute(&mut *tx)
    .await
    .map_err(failed)?;
    Ok(moved.rows_affected() == 1)
}

#[async_trait::async_trait]
impl AggregateSink for Lite {
    async fn claim_partition(
        &self,
        group: &str,
        topic: &str,
        partition: i32,
    ) -> Result<Claim, StoreError> {
        let (epoch, next_offset): (i64, i64) = sqlx::query_as(
            "INSERT INTO consumer_offsets (consumer_group, topic, partition, next_offset, owner_epoch, updated_at)
             VALUES (?1, ?2, ?3, 0, 1, ?4)
             ON CONFLICT (consumer_group, topic, partition) DO UPDATE SET
                 owner_epoch = consumer_offsets.owner_epoch + 1, updated_at = excluded.updated_at
             RETURNING owner_epoch, next_offset",
        )
        .bind(group)
        .bind(topic)
        .bind(partition)
        .bind(micros(Utc::now()))
        .fetch_one(self.pool())
        .await
        .map_err(failed)?;
        Ok(Claim {
            group: group.to_owned(),
            topic: topic.to_owned(),
            partition,
            epoch,
            next_offset,
        })
    }

    async fn commit_batch(
        &self,
        claim: &mut Claim,
        next_offset: i64,
        batch: &AggregateBatch,
    ) -> Result<Commit, StoreError> {
        let now = Utc::now();
        let mut tx = write_tx(self.writer()).await?;
        if !move_offset(&mut tx, claim, next_offset, now).await? {
            tx.rollback().await.map_err(failed)?;
            return Ok(Commit::Fenced);
        }
        upsert_aggregates(&mut tx, batch).await?;
        let live = upsert_live(&mut tx, batch, now).await?;
        let campaigns: BTreeSet<CampaignId> = batch.rows().map(|(k, _)| k.campaign_id).collect();
        let campaigns: Vec<CampaignId> = campaigns.into_iter().collect();
        let totals = totals_of(&mut tx, &campaigns).await?;
        tx.commit().await.map_err(failed)?;
        claim.next_offset = next_offset;
        Ok(Commit::Applied(Applied {
            points: live,
            totals,
        }))
    }

    async fn applied_offsets(&self, group: &str, topic: &str) -> Result<i64, StoreError> {
        let (n,): (Option<i64>,) = sqlx::query_as(
            "SELECT sum(next_offset) FROM consumer_offsets WHERE consumer_group = ?1 AND topic = ?2",
        )
        .bind(group)
        .bind(topic)
        .fetch_one(self.pool())
        .await
        .map_err(failed)?;
        Ok(n.unwrap_or(0))
    }

    async fn campaigns_active_since(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<CampaignId>, StoreError> {
        let rows: Vec<(Uuid,)> = sqlx::query_as(
            "SELECT DISTINCT campaign_id FROM campaign_aggregates
             WHERE grain = 'day' AND bucket_start >= ?1 ORDER BY campaign_id",
        )
        .bind(micros(since))
        .fetch_all(self.pool())
        .await
        .map_err(failed)?;
        Ok(rows
            .into_iter()
            .map(|(id,)| CampaignId::from_uuid(id))
            .collect())
    }

    async fn campaign_totals(
        &self,
        campaigns: &[CampaignId],
    ) -> Result<Vec<CampaignTotals>, StoreError> {
        let mut conn = self.pool().acquire().await.map_err(failed)?;
        totals_of(&mut conn, campaigns).await
    }

    async fn live_series(
        &self,
        campaigns: &[CampaignId],
        since: DateTime<Utc>,
    ) -> Result<Vec<LivePoint>, StoreError> {
        let mut sorted: Vec<Uuid> = campaigns.iter().map(|c| *c.as_uuid()).collect();
        sorted.sort_unstable();
        sorted.dedup();
        let mut out = Vec::new();
        let mut conn = self.pool().acquire().await.map_err(failed)?;
        for ids in sorted.chunks(IDS_PER_STATEMENT) {
            let mut b: QueryBuilder<Sqlite> = QueryBuilder::new(
                "SELECT campaign_id, point_start, impressions, clicks, conversions, cost_micros, revenue_micros
                 FROM campaign_live_series WHERE point_start >= ",
            );
            b.push_bind(micros(since)).push(" AND campaign_id IN (");
            let mut list = b.separated(", ");
            for id in ids {
                list.push_bind(*id);
            }
            b.push(") ORDER BY campaign_id, point_start");
            let rows: Vec<LiveRow> = b
                .build_query_as()
                .fetch_all(&mut *conn)
                .await
                .map_err(failed)?;
            out.extend(rows.into_iter().map(live_point));
        }
        Ok(out)
    }

    async fn prune_live_series(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM campaign_live_series WHERE point_start < ?1")
            .bind(micros(before))
            .execute(self.writer())
            .await
            .map_err(failed)?;
        Ok(done.rows_affected())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_empty_sketch_constant_is_the_encoding() {
        assert_eq!(Sketch::new().encode(), EMPTY_SKETCH);
    }

    #[test]
    fn chunks_take_few_sizes_and_cover_every_row() {
        let rows: Vec<usize> = (0..1_000).collect();
        let sizes: Vec<usize> = chunks(&rows).map(<[usize]>::len).collect();
        assert_eq!(sizes, [256, 256, 256, 128, 64, 32, 8]);
        assert_eq!(chunks(&rows).flatten().copied().collect::<Vec<_>>(), rows);
        assert_eq!(chunks::<usize>(&[]).count(), 0);
        assert_eq!(placeholders(2, 2), "(?, ?), (?, ?)");
    }
}
