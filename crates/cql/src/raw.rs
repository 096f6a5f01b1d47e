//! Writing raw events: prepared inserts, bounded concurrency, a TTL of the
//! retention horizon, idempotent by primary key (a replay rewrites the same
//! rows).

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use scylla::SerializeRow;
use scylla::statement::batch::{Batch, BatchType};
use scylla::statement::prepared::PreparedStatement;
use scylla::value::MaybeUnset;
use uuid::Uuid;

pub use adpulse_domain::archive::{ArchivedEvent, EventCursor, RawEvent};

use crate::{Cql, CqlError};

/// One `campaign_events` row, bound in the statement's order (the TTL marker
/// has no column name to match).
#[derive(SerializeRow)]
#[scylla(flavor = "enforce_order", skip_name_checks)]
struct Row<'a> {
    campaign_id: Uuid,
    event_date: NaiveDate,
    event_id: Uuid,
    tenant_id: Uuid,
    event_type: &'a str,
    channel: &'a str,
    ad_id: &'a str,
    occurred_at: DateTime<Utc>,
    ingested_at: DateTime<Utc>,
    device_id: MaybeUnset<&'a str>,
    cookie_id: MaybeUnset<&'a str>,
    login_id: MaybeUnset<&'a str>,
    email_sha256: MaybeUnset<&'a str>,
    cost_micros: i64,
    revenue_micros: i64,
    attributes: &'a BTreeMap<String, String>,
    ttl: i32,
}

/// Absent ids are left unset, not written as null: a null is a tombstone,
/// and three per row slow every read of the partition.
fn unset_if_none(v: Option<&str>) -> MaybeUnset<&str> {
    v.map_or(MaybeUnset::Unset, MaybeUnset::Set)
}

fn row(r: &RawEvent, ttl: i32) -> Row<'_> {
    let e = &r.event;
    let user = e.user.as_ref();
    Row {
        campaign_id: *e.campaign_id.as_uuid(),
        event_date: e.occurred_at.date_naive(),
        event_id: *e.event_id.as_uuid(),
        tenant_id: *r.tenant.as_uuid(),
        event_type: e.event_type.as_str(),
        channel: e.channel.as_str(),
        ad_id: e.ad_id.as_str(),
        occurred_at: e.occurred_at,
        ingested_at: r.ingested_at,
        device_id: unset_if_none(user.and_then(|u| u.device_id.as_deref())),
        cookie_id: unset_if_none(user.and_then(|u| u.cookie_id.as_deref())),
        login_id: unset_if_none(user.and_then(|u| u.login_id.as_deref())),
        email_sha256: unset_if_none(user.and_then(|u| u.email_sha256.as_deref())),
        cost_micros: e.cost_micros.get(),
        revenue_micros: e.revenue_micros.get(),
        attributes: &e.attributes,
        ttl,
    }
}

/// Rows per unlogged batch at most: a typical row is ~300 bytes, so 100 of
/// them amortize a request well (2.5x the rate of one row per request on a
/// hot partition, measured).
const BATCH_ROWS: usize = 100;
/// Bytes per batch at most (estimated): below Cassandra's default
/// `batch_size_fail_threshold` of 50 KiB even for large events.
const BATCH_BYTES: usize = 32 * 1024;

/// A generous estimate of a row's size on the wire.
fn row_bytes(r: &Row<'_>) -> usize {
    let ids = [r.device_id, r.cookie_id, r.login_id, r.email_sha256]
        .iter()
        .map(|v| match v {
            MaybeUnset::Set(s) => s.len(),
            MaybeUnset::Unset => 0,
        })
        .sum::<usize>();
    let attributes: usize = r
        .attributes
        .iter()
        .map(|(k, v)| k.len() + v.len() + 8)
        .sum();
    160 + r.ad_id.len() + ids + attributes
}

/// A prepared writer of raw event rows.
pub struct RawEventWriter {
    batches: Batches,
}

/// Unlogged batches of the prepared insert, one per size 1..=BATCH_ROWS,
/// built once.
struct Batches(Vec<Batch>);

impl Batches {
    fn new(insert: &PreparedStatement) -> Self {
        Self(
            (1..=BATCH_ROWS)
                .map(|n| {
                    let mut b = Batch::new(BatchType::Unlogged);
                    for _ in 0..n {
                        b.append_statement(insert.clone());
                    }
                    b
                })
                .collect(),
        )
    }

    fn get(&self, rows: usize) -> &Batch {
        &self.0[rows.clamp(1, BATCH_ROWS) - 1]
    }
}

impl Cql {
    /// Prepares the insert into this keyspace's `campaign_events`.
    pub async fn raw_event_writer(&self) -> Result<RawEventWriter, CqlError> {
        let insert = self
            .session()
            .prepare(format!(
                "INSERT INTO {}.campaign_events (campaign_id, event_date, event_id, tenant_id, event_type, channel, ad_id, \
                 occurred_at, ingested_at, device_id, cookie_id, login_id, email_sha256, cost_micros, revenue_micros, \
                 attributes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) USING TTL ?",
                self.keyspace()
            ))
            .await
            .map_err(|e| CqlError::Refused(e.to_string()))?;
        Ok(RawEventWriter {
            batches: Batches::new(&insert),
        })
    }

    /// Writes `events` as unlogged batches per CQL partition, `concurrency`
    /// batches in flight (token-aware: the driver sends each to a replica
    /// owning its partition), each row living `ttl_secs`; fails if any write
    /// fails (all may be retried: rows are idempotent by key).
    pub async fn write_raw_events(
        &self,
        writer: &RawEventWriter,
        events: &[RawEvent],
        ttl_secs: i32,
        concurrency: usize,
    ) -> Result<(), CqlError> {
        // Rows of one CQL partition (campaign and day) go together as
        // unlogged batches: one mutation per group on the replica that owns
        // it, instead of one request per row. A hot campaign's events all
        // share a partition, so this is where it matters.
        let mut groups: BTreeMap<(Uuid, NaiveDate), Vec<Row<'_>>> = BTreeMap::new();
        for r in events {
            let row = row(r, ttl_secs);
            groups
                .entry((row.campaign_id, row.event_date))
                .or_default()
                .push(row);
        }
        let mut batches: Vec<Vec<Row<'_>>> = Vec::new();
        for (_, rows) in groups {
            let mut current: Vec<Row<'_>> = Vec::new();
            let mut bytes = 0;
            for row in rows {
                let size = row_bytes(&row);
                if !current.is_empty()
                    && (current.len() == BATCH_ROWS || bytes + size > BATCH_BYTES)
                {
                    batches.push(std::mem::take(&mut current));
                    bytes = 0;
                }
                bytes += size;
                current.push(row);
            }
            if !current.is_empty() {
                batches.push(current);
            }
        }
        for wave in batches.chunks(concurrency.max(1)) {
            let writes = wave.iter().map(|rows| {
                let batch = writer.batches.get(rows.len());
                self.session().batch(batch, rows)
            });
            futures_util::future::try_join_all(writes).await?;
        }
        Ok(())
    }
}

type ArchivedRow = (
    Uuid,
    Option<Uuid>,
    Option<String>,
    Option<String>,
    Option<String>,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<i64>,
    Option<BTreeMap<String, String>>,
);

impl Cql {
    /// Up to `limit` events of `campaign` on UTC day `day`, newest first,
    /// starting after `after`.
    pub async fn campaign_events(
        &self,
        campaign: adpulse_domain::CampaignId,
        day: NaiveDate,
        after: Option<EventCursor>,
        limit: i32,
    ) -> Result<Vec<ArchivedEvent>, CqlError> {
        let columns = "event_id, tenant_id, event_type, channel, ad_id, occurred_at, ingested_at, \
                       device_id, cookie_id, login_id, email_sha256, cost_micros, revenue_micros, attributes";
        let ks = self.keyspace();
        let result = match after {
            None => {
                self.session()
                    .query_unpaged(
                        format!(
                            "SELECT {columns} FROM {ks}.campaign_events \
                             WHERE campaign_id = ? AND event_date = ? LIMIT ?"
                        ),
                        (*campaign.as_uuid(), day, limit),
                    )
                    .await?
            }
            Some(c) => {
                self.session()
                    .query_unpaged(
                        format!(
                            "SELECT {columns} FROM {ks}.campaign_events \
                             WHERE campaign_id = ? AND event_date = ? \
                             AND (occurred_at, event_id) < (?, ?) LIMIT ?"
                        ),
                        (*campaign.as_uuid(), day, c.occurred_at, c.event_id, limit),
                    )
                    .await?
            }
        };
        let rows = result
            .into_rows_result()
            .map_err(|e| CqlError::Refused(e.to_string()))?;
        rows.rows::<ArchivedRow>()
            .map_err(|e| CqlError::Refused(e.to_string()))?
            .map(|r| {
                let r = r.map_err(|e| CqlError::Refused(e.to_string()))?;
                Ok(ArchivedEvent {
                    event_id: r.0,
                    tenant_id: r.1.unwrap_or_default(),
                    event_type: r.2.unwrap_or_default(),
                    channel: r.3.unwrap_or_default(),
                    ad_id: r.4.unwrap_or_default(),
                    occurred_at: r.5,
                    ingested_at: r.6,
                    device_id: r.7,
                    cookie_id: r.8,
                    login_id: r.9,
                    email_sha256: r.10,
                    cost_micros: r.11.unwrap_or_default(),
                    revenue_micros: r.12.unwrap_or_default(),
                    attributes: r.13.unwrap_or_default(),
                })
            })
            .collect()
    }
}
