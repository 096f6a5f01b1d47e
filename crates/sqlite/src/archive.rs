//! The embedded raw-event archive: a second SQLite file (`raw.sqlite`), so
//! the worker's raw writes never queue behind the aggregate commits of the
//! main file (SQLite admits one writer per file).
//!
//! Rows live until their retention ends (`expires_at`), as CQL rows live
//! until their TTL; expired rows are deleted a slice at a time by the
//! writes themselves.

use adpulse_domain::ports::{PortError, RawArchive};
use std::path::Path;
use std::time::Duration;

use adpulse_domain::CampaignId;
use adpulse_domain::archive::{ArchivedEvent, EventCursor, RawEvent};
use adpulse_domain::store::StoreError;
use chrono::{NaiveDate, Utc};
use sqlx::QueryBuilder;
use sqlx::sqlite::{
    Sqlite, SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use uuid::Uuid;

use crate::{LiteError, instant, micros};

/// The migrations of `migrations/sqlite-archive/`, embedded at build time.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/sqlite-archive");

/// The archive file's name inside the data folder.
pub const ARCHIVE_FILE_NAME: &str = "raw.sqlite";

/// Expired rows deleted per write at most (keeps each write short).
const PRUNE_SLICE: i64 = 1_000;
/// Rows per INSERT statement: 17 values each stays well under SQLite's
/// limit of 32,766 bound values per statement.
const ROWS_PER_INSERT: usize = 500;

/// The embedded archive of raw events.
#[derive(Clone, Debug)]
pub struct LiteArchive {
    pool: SqlitePool,
    writer: SqlitePool,
}

fn day_number(d: NaiveDate) -> i64 {
    i64::from(d.to_epoch_days())
}

impl LiteArchive {
    /// Opens (creating if needed) `dir/raw.sqlite` and applies its
    /// migrations. Commits are synced like the main file's: the worker
    /// moves its offsets only after the rows are durable.
    pub async fn open(dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| {
            StoreError::Config(format!("cannot create data folder {}: {e}", dir.display()).into())
        })?;
        let opts = SqliteConnectOptions::new()
            .filename(dir.join(ARCHIVE_FILE_NAME))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(5));
        // Writes queue for one connection in order (see `Lite::open`).
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(opts.clone())
            .await
            .map_err(|e| StoreError::from(LiteError::from(e)))?;
        MIGRATOR
            .run(&writer)
            .await
            .map_err(|e| StoreError::Migration(e.into()))?;
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(opts)
            .await
            .map_err(|e| StoreError::from(LiteError::from(e)))?;
        Ok(Self { pool, writer })
    }

    /// Writes `events` in one transaction, each kept `ttl_secs`; writing an
    /// event again replaces its row with the same values.
    async fn write_rows(&self, events: &[RawEvent], ttl_secs: i64) -> Result<(), StoreError> {
        self.write_inner(events, ttl_secs).await.map_err(Into::into)
    }

    async fn write_inner(&self, events: &[RawEvent], ttl_secs: i64) -> Result<(), LiteError> {
        let now = Utc::now();
        let mut tx = self.writer.begin().await?;
        // Many rows per statement: each statement is a round trip to
        // SQLite's thread, which costs more than inserting a row.
        for chunk in events.chunks(ROWS_PER_INSERT) {
            let mut attributes = Vec::with_capacity(chunk.len());
            for r in chunk {
                attributes.push(
                    serde_json::to_string(&r.event.attributes)
                        .map_err(|err| StoreError::Refused(err.into()))?,
                );
            }
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT OR REPLACE INTO campaign_events (campaign_id, event_date, occurred_at, event_id,
                     tenant_id, event_type, channel, ad_id, ingested_at, device_id, cookie_id, login_id,
                     email_sha256, cost_micros, revenue_micros, attributes, expires_at) ",
            );
            q.push_values(chunk.iter().zip(attributes), |mut row, (r, attributes)| {
                let e = &r.event;
                let user = e.user.as_ref();
                let expires = micros(e.occurred_at.max(r.ingested_at))
                    .saturating_add(ttl_secs.saturating_mul(1_000_000));
                row.push_bind(*e.campaign_id.as_uuid())
                    .push_bind(day_number(e.occurred_at.date_naive()))
                    .push_bind(micros(e.occurred_at))
                    .push_bind(*e.event_id.as_uuid())
                    .push_bind(*r.tenant.as_uuid())
                    .push_bind(e.event_type.as_str())
                    .push_bind(e.channel.as_str())
                    .push_bind(e.ad_id.as_str())
                    .push_bind(micros(r.ingested_at))
                    .push_bind(user.and_then(|u| u.device_id.clone()))
                    .push_bind(user.and_then(|u| u.cookie_id.clone()))
                    .push_bind(user.and_then(|u| u.login_id.clone()))
                    .push_bind(user.and_then(|u| u.email_sha256.clone()))
                    .push_bind(e.cost_micros.get())
                    .push_bind(e.revenue_micros.get())
                    .push_bind(attributes)
                    .push_bind(expires);
            });
            q.build().execute(&mut *tx).await?;
        }
        sqlx::query(
            "DELETE FROM campaign_events WHERE (campaign_id, event_date, occurred_at, event_id) IN (
                 SELECT campaign_id, event_date, occurred_at, event_id FROM campaign_events
                 WHERE expires_at < ? LIMIT ?)",
        )
        .bind(micros(now))
        .bind(PRUNE_SLICE)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Up to `limit` events of `campaign` on UTC day `day`, newest first,
    /// starting after `after`.
    async fn events_inner(
        &self,
        campaign: CampaignId,
        day: NaiveDate,
        after: Option<EventCursor>,
        limit: i32,
    ) -> Result<Vec<ArchivedEvent>, LiteError> {
        type Row = (
            Uuid,
            Uuid,
            String,
            String,
            String,
            i64,
            i64,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            i64,
            i64,
            String,
        );
        // A cursor is (occurred_at, event_id) of the last row seen: rows
        // strictly before it in (occurred_at DESC, event_id DESC) order.
        let (at, id) = after.map_or((i64::MAX, Uuid::max()), |c| {
            (micros(c.occurred_at), c.event_id)
        });
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT event_id, tenant_id, event_type, channel, ad_id, occurred_at, ingested_at,
                    device_id, cookie_id, login_id, email_sha256, cost_micros, revenue_micros, attributes
             FROM campaign_events
             WHERE campaign_id = ? AND event_date = ? AND expires_at >= ?
               AND (occurred_at < ? OR (occurred_at = ? AND event_id < ?))
             ORDER BY occurred_at DESC, event_id DESC LIMIT ?",
        )
        .bind(campaign.as_uuid())
        .bind(day_number(day))
        .bind(micros(Utc::now()))
        .bind(at)
        .bind(at)
        .bind(id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok(ArchivedEvent {
                    event_id: r.0,
                    tenant_id: r.1,
                    event_type: r.2,
                    channel: r.3,
                    ad_id: r.4,
                    occurred_at: instant(r.5),
                    ingested_at: Some(instant(r.6)),
                    device_id: r.7,
                    cookie_id: r.8,
                    login_id: r.9,
                    email_sha256: r.10,
                    cost_micros: r.11,
                    revenue_micros: r.12,
                    attributes: serde_json::from_str(&r.13).map_err(|e| {
                        LiteError(StoreError::Refused(
                            format!("stored attributes: {e}").into(),
                        ))
                    })?,
                })
            })
            .collect()
    }

    async fn ping_file(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(LiteError::from)?;
        Ok(())
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.pool.close().await;
        self.writer.close().await;
    }
}

#[async_trait::async_trait]
impl RawArchive for LiteArchive {
    async fn write(
        &self,
        events: &[RawEvent],
        ttl_secs: i32,
        _concurrency: usize,
    ) -> Result<(), PortError> {
        self.write_rows(events, i64::from(ttl_secs))
            .await
            .map_err(PortError::from)
    }

    async fn campaign_events(
        &self,
        campaign: CampaignId,
        day: NaiveDate,
        after: Option<EventCursor>,
        limit: i32,
    ) -> Result<Vec<ArchivedEvent>, PortError> {
        self.events_inner(campaign, day, after, limit)
            .await
            .map_err(|e| PortError::from(StoreError::from(e)))
    }

    async fn ping(&self) -> Result<(), PortError> {
        self.ping_file().await.map_err(PortError::from)
    }
}
