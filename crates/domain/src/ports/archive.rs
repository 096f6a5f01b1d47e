//! The raw-event archive: one row per counted event, kept for the
//! retention, listed newest first by the API.

use chrono::NaiveDate;

use super::PortError;
use crate::CampaignId;
use crate::archive::{ArchivedEvent, EventCursor, RawEvent};

/// The raw-event archive: a CQL cluster in production (ScyllaDB, or
/// Cassandra locally), a SQLite file embedded.
#[async_trait::async_trait]
pub trait RawArchive: Send + Sync {
    /// Writes `events`, each kept `ttl_secs`; idempotent by event (a replay
    /// writes the same rows). `concurrency` bounds the requests in flight
    /// where the archive is remote.
    async fn write(
        &self,
        events: &[RawEvent],
        ttl_secs: i32,
        concurrency: usize,
    ) -> Result<(), PortError>;

    /// Up to `limit` events of `campaign` on UTC day `day`, newest first,
    /// after `after`.
    async fn campaign_events(
        &self,
        campaign: CampaignId,
        day: NaiveDate,
        after: Option<EventCursor>,
        limit: i32,
    ) -> Result<Vec<ArchivedEvent>, PortError>;

    /// Whether the archive answers (for readiness probes).
    async fn ping(&self) -> Result<(), PortError>;
}
