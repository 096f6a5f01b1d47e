//! Live counters: what the realtime reports read.

use std::time::Duration;

use super::PortError;
use crate::CampaignId;

/// What a campaign's live counters hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveView {
    /// Lifetime totals, if written and not expired.
    pub totals: Option<LiveTotals>,
    /// The series' points of the last hour, oldest first.
    pub series: Vec<crate::aggregate::LivePoint>,
}

/// Lifetime totals as the live counters hold them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveTotals {
    /// The counts.
    pub counts: crate::aggregate::Counts,
    /// The version written with them.
    pub version: i64,
    /// When they were written.
    pub updated_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Live counters and the 5-second live series (Redis in production),
/// always written from committed state, never incremented.
#[async_trait::async_trait]
pub trait LiveCounters: Send + Sync {
    /// Writes `totals` (each only if `version` is newer than the stored
    /// one) and the `series` points of the same campaigns (each only if it
    /// counts more events than the stored one); drops points older than the
    /// live window from `now`; totals expire `ttl` after their last write.
    /// Returns how many campaigns' totals were written.
    async fn write_live(
        &self,
        totals: &[crate::aggregate::CampaignTotals],
        series: &[crate::aggregate::LivePoint],
        version: i64,
        now: chrono::DateTime<chrono::Utc>,
        ttl: Duration,
    ) -> Result<usize, PortError>;

    /// A campaign's live counters and its series of the last hour before
    /// `now`.
    async fn read_live(
        &self,
        campaign: CampaignId,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<LiveView, PortError>;

    /// Whether the counters answer (for readiness probes).
    async fn ping(&self) -> Result<(), PortError>;
}
