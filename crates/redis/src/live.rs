//! Live counters: `campaign:{id}:realtime` hashes written from exact state.
//!
//! The worker writes absolute totals (read back from the aggregates it just
//! committed), never increments, each with a version that only grows for a
//! campaign (the owning partition's epoch and offset). A script applies a
//! write only if its version is newer, so a replay or a fenced former owner
//! can never move a counter back. One key per call, with the campaign id as
//! the hash tag: the same on one Redis and on Redis Cluster.

use std::time::Duration;

use adpulse_domain::aggregate::CampaignTotals;

use crate::{Redis, RedisError};

const WRITE_IF_NEWER: &str = r"
local current = redis.call('HGET', KEYS[1], 'version')
if current and tonumber(current) >= tonumber(ARGV[1]) then
  return 0
end
redis.call('HSET', KEYS[1], 'version', ARGV[1], 'impressions', ARGV[2], 'clicks', ARGV[3],
  'conversions', ARGV[4], 'spend_micros', ARGV[5], 'revenue_micros', ARGV[6], 'updated_at', ARGV[7])
redis.call('PEXPIRE', KEYS[1], ARGV[8])
return 1
";

impl Redis {
    /// The live-counter key of a campaign.
    pub fn realtime_key(&self, campaign: adpulse_domain::CampaignId) -> String {
        self.key(&format!("campaign:{{{campaign}}}:realtime"))
    }

    /// Writes `totals` as the live counters, each only if `version` is newer
    /// than the stored one; returns how many were written.
    pub async fn write_live(
        &self,
        totals: &[CampaignTotals],
        version: i64,
        updated_at_ms: i64,
        ttl: Duration,
    ) -> Result<usize, RedisError> {
        let script = redis::Script::new(WRITE_IF_NEWER);
        let mut conn = self.connection();
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
        let mut written = 0;
        for t in totals {
            let applied: i64 = script
                .key(self.realtime_key(t.campaign_id))
                .arg(version)
                .arg(t.impressions)
                .arg(t.clicks)
                .arg(t.conversions)
                .arg(t.cost_micros)
                .arg(t.revenue_micros)
                .arg(updated_at_ms)
                .arg(ttl_ms)
                .invoke_async(&mut conn)
                .await?;
            written += usize::from(applied == 1);
        }
        Ok(written)
    }
}
