//! Live counters and the live series, written from exact state.
//!
//! Per campaign, two keys sharing the campaign id as their hash tag (so one
//! script call updates both, on one Redis and on Redis Cluster alike):
//!
//! - `campaign:{id}:realtime`: a hash of lifetime totals (impressions,
//!   clicks, conversions, spend_micros, revenue_micros, updated_at), written
//!   as absolute values with a version that only grows for a campaign (the
//!   owning partition's epoch and offset); a write applies only if its
//!   version is newer, so a replay or a fenced former owner never moves a
//!   counter back.
//! - `campaign:{id}:series:5s`: a sorted set of 5-second points of the last
//!   hour, scored by the point's start (Unix seconds), each member
//!   `start:impressions:clicks:conversions:spend_micros:revenue_micros`. A
//!   point's totals only grow as batches commit, so a write replaces a point
//!   only if it counts more events: the same guard, without a version.
//!
//! Never an increment: every value comes from the committed aggregates.

use std::collections::HashMap;
use std::time::Duration;

use adpulse_domain::CampaignId;
use adpulse_domain::aggregate::{CampaignTotals, Counts, LIVE_WINDOW_SECS, LivePoint};
use chrono::{DateTime, Utc};

use crate::{Redis, RedisError};

const WRITE_IF_NEWER: &str = r"
local written = 0
local current = redis.call('HGET', KEYS[1], 'version')
if not current or tonumber(current) < tonumber(ARGV[1]) then
  redis.call('HSET', KEYS[1], 'version', ARGV[1], 'impressions', ARGV[2], 'clicks', ARGV[3],
    'conversions', ARGV[4], 'spend_micros', ARGV[5], 'revenue_micros', ARGV[6], 'updated_at', ARGV[7])
  redis.call('PEXPIRE', KEYS[1], ARGV[8])
  written = 1
end
for i = 11, #ARGV, 3 do
  local at, events = ARGV[i], tonumber(ARGV[i + 1])
  local old = redis.call('ZRANGEBYSCORE', KEYS[2], at, at)
  local newer = true
  if old[1] then
    local _, imp, clk, conv = string.match(old[1], '^(%d+):(%d+):(%d+):(%d+):')
    newer = tonumber(imp) + tonumber(clk) + tonumber(conv) < events
  end
  if newer then
    redis.call('ZREMRANGEBYSCORE', KEYS[2], at, at)
    redis.call('ZADD', KEYS[2], at, ARGV[i + 2])
  end
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[9])
if redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('PEXPIRE', KEYS[2], ARGV[10])
end
return written
";

pub use adpulse_domain::ports::{LiveTotals, LiveView};

impl Redis {
    /// The live-counter key of a campaign.
    pub fn realtime_key(&self, campaign: CampaignId) -> String {
        self.key(&format!("campaign:{{{campaign}}}:realtime"))
    }

    /// The live-series key of a campaign.
    pub fn series_key(&self, campaign: CampaignId) -> String {
        self.key(&format!("campaign:{{{campaign}}}:series:5s"))
    }

    /// Writes `totals` as the live counters, each only if `version` is newer
    /// than the stored one, and the `series` points of the same campaigns,
    /// each only if it counts more than the stored one; drops points older
    /// than the live window from `now`. Returns how many campaigns' totals
    /// were written.
    pub async fn write_live(
        &self,
        totals: &[CampaignTotals],
        series: &[LivePoint],
        version: i64,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<usize, RedisError> {
        let script = redis::Script::new(WRITE_IF_NEWER);
        let mut points: HashMap<CampaignId, Vec<&LivePoint>> = HashMap::new();
        for p in series {
            points.entry(p.campaign_id).or_default().push(p);
        }
        let mut conn = self.connection();
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
        let window_start = now.timestamp() - LIVE_WINDOW_SECS;
        let mut written = 0;
        for t in totals {
            let mut call = script.key(self.realtime_key(t.campaign_id));
            call.key(self.series_key(t.campaign_id))
                .arg(version)
                .arg(t.impressions)
                .arg(t.clicks)
                .arg(t.conversions)
                .arg(t.cost_micros)
                .arg(t.revenue_micros)
                .arg(now.timestamp_millis())
                .arg(ttl_ms)
                .arg(window_start)
                .arg(LIVE_WINDOW_SECS * 1000);
            for p in points.get(&t.campaign_id).into_iter().flatten() {
                let c = &p.counts;
                let at = p.start.timestamp();
                call.arg(at).arg(c.events()).arg(format!(
                    "{at}:{}:{}:{}:{}:{}",
                    c.impressions, c.clicks, c.conversions, c.cost_micros, c.revenue_micros
                ));
            }
            let applied: i64 = call.invoke_async(&mut conn).await?;
            written += usize::from(applied == 1);
        }
        Ok(written)
    }

    /// Reads a campaign's live counters and its series of the last hour
    /// before `now`.
    pub async fn read_live(
        &self,
        campaign: CampaignId,
        now: DateTime<Utc>,
    ) -> Result<LiveView, RedisError> {
        let mut conn = self.connection();
        let hash: HashMap<String, i64> = redis::cmd("HGETALL")
            .arg(self.realtime_key(campaign))
            .query_async(&mut conn)
            .await?;
        let members: Vec<String> = redis::cmd("ZRANGEBYSCORE")
            .arg(self.series_key(campaign))
            .arg(now.timestamp() - LIVE_WINDOW_SECS)
            .arg("+inf")
            .query_async(&mut conn)
            .await?;
        let totals = (!hash.is_empty()).then(|| {
            let get = |k: &str| hash.get(k).copied().unwrap_or(0);
            LiveTotals {
                counts: Counts {
                    impressions: get("impressions"),
                    clicks: get("clicks"),
                    conversions: get("conversions"),
                    cost_micros: get("spend_micros"),
                    revenue_micros: get("revenue_micros"),
                },
                version: get("version"),
                updated_at: DateTime::from_timestamp_millis(get("updated_at")),
            }
        });
        let series = members
            .iter()
            .map(|m| parse_point(campaign, m))
            .collect::<Result<_, _>>()?;
        Ok(LiveView { totals, series })
    }
}

fn parse_point(campaign: CampaignId, member: &str) -> Result<LivePoint, RedisError> {
    let bad = || RedisError::Refused(format!("malformed live-series point {member:?}"));
    let n: Vec<i64> = member
        .split(':')
        .map(|x| x.parse().map_err(|_| bad()))
        .collect::<Result<_, _>>()?;
    let [
        at,
        impressions,
        clicks,
        conversions,
        cost_micros,
        revenue_micros,
    ] = n[..]
    else {
        return Err(bad());
    };
    Ok(LivePoint {
        campaign_id: campaign,
        start: DateTime::from_timestamp(at, 0).ok_or_else(bad)?,
        counts: Counts {
            impressions,
            clicks,
            conversions,
            cost_micros,
            revenue_micros,
        },
    })
}

#[async_trait::async_trait]
impl adpulse_domain::ports::LiveCounters for Redis {
    async fn write_live(
        &self,
        totals: &[CampaignTotals],
        series: &[LivePoint],
        version: i64,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<usize, adpulse_domain::ports::PortError> {
        Redis::write_live(self, totals, series, version, now, ttl)
            .await
            .map_err(port_error)
    }

    async fn read_live(
        &self,
        campaign: CampaignId,
        now: DateTime<Utc>,
    ) -> Result<LiveView, adpulse_domain::ports::PortError> {
        Redis::read_live(self, campaign, now)
            .await
            .map_err(port_error)
    }

    async fn ping(&self) -> Result<(), adpulse_domain::ports::PortError> {
        Redis::ping(self)
            .await
            .map_err(|e| adpulse_domain::ports::PortError::caused_by(true, e))
    }
}

fn port_error(e: RedisError) -> adpulse_domain::ports::PortError {
    adpulse_domain::ports::PortError::caused_by(e.is_retryable(), e)
}
