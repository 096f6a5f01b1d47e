//! [`Live`]: the live counters behind realtime reports.

use std::sync::Arc;
use std::time::Duration;

use adpulse_domain::CampaignId;
use adpulse_domain::aggregate::{CampaignTotals, LivePoint};
use adpulse_domain::ports::{LiveCounters, LiveView, PortError};
use adpulse_embedded::MemoryLive;
use adpulse_redis::Redis;
use chrono::{DateTime, Utc};

/// Live counters: Redis (one server or a cluster) in production, a map in
/// the process embedded (rebuilt from the store after a restart, as a
/// flushed Redis is).
#[derive(Clone)]
pub enum Live {
    /// Redis.
    Redis(Redis),
    /// In this process.
    Memory(Arc<MemoryLive>),
}

impl From<Redis> for Live {
    fn from(r: Redis) -> Self {
        Self::Redis(r)
    }
}

impl From<Arc<MemoryLive>> for Live {
    fn from(m: Arc<MemoryLive>) -> Self {
        Self::Memory(m)
    }
}

impl Live {
    /// Whether the counters answer.
    pub async fn ping(&self) -> Result<(), PortError> {
        match self {
            Self::Redis(r) => r
                .ping()
                .await
                .map_err(|e| PortError::retryable(e.to_string())),
            Self::Memory(_) => Ok(()),
        }
    }
}

impl LiveCounters for Live {
    async fn write_live(
        &self,
        totals: &[CampaignTotals],
        series: &[LivePoint],
        version: i64,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<usize, PortError> {
        match self {
            Self::Redis(r) => LiveCounters::write_live(r, totals, series, version, now, ttl).await,
            Self::Memory(m) => m.write_live(totals, series, version, now, ttl).await,
        }
    }

    async fn read_live(
        &self,
        campaign: CampaignId,
        now: DateTime<Utc>,
    ) -> Result<LiveView, PortError> {
        match self {
            Self::Redis(r) => LiveCounters::read_live(r, campaign, now).await,
            Self::Memory(m) => m.read_live(campaign, now).await,
        }
    }
}
