//! [`LiveCounters`] in process: the same guards as the Redis script (totals
//! only when the version is newer, a point only when it counts more, the
//! window pruned, expiry after the time to live), behind one mutex. Expired
//! campaigns are swept once a minute while writes come in.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use adpulse_domain::CampaignId;
use adpulse_domain::aggregate::{CampaignTotals, Counts, LIVE_WINDOW_SECS, LivePoint};
use adpulse_domain::ports::{LiveCounters, LiveTotals, LiveView, PortError};
use chrono::{DateTime, Utc};

/// Live counters in process memory.
#[derive(Default)]
pub struct MemoryLive {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    campaigns: HashMap<CampaignId, Entry>,
    swept: Option<Instant>,
}

struct Entry {
    totals: Option<(LiveTotals, Instant)>,
    /// Points by start (Unix seconds), and when the series expires.
    series: BTreeMap<i64, Counts>,
    series_until: Instant,
}

impl MemoryLive {
    /// Empty counters.
    pub fn new() -> Self {
        Self::default()
    }
}

impl State {
    fn sweep(&mut self, now: Instant) {
        if self
            .swept
            .is_some_and(|t| now.duration_since(t) < Duration::from_secs(60))
        {
            return;
        }
        self.swept = Some(now);
        self.campaigns.retain(|_, e| {
            e.totals.as_ref().is_some_and(|(_, until)| *until > now) || e.series_until > now
        });
    }
}

#[async_trait::async_trait]
impl LiveCounters for MemoryLive {
    async fn write_live(
        &self,
        totals: &[CampaignTotals],
        series: &[LivePoint],
        version: i64,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<usize, PortError> {
        let clock = Instant::now();
        let window_start = now.timestamp() - LIVE_WINDOW_SECS;
        let window = Duration::from_secs(u64::try_from(LIVE_WINDOW_SECS).unwrap_or(3600));
        let mut st = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        st.sweep(clock);
        let mut written = 0;
        for t in totals {
            let e = st.campaigns.entry(t.campaign_id).or_insert_with(|| Entry {
                totals: None,
                series: BTreeMap::new(),
                series_until: clock,
            });
            let current = e
                .totals
                .as_ref()
                .filter(|(_, until)| *until > clock)
                .map(|(v, _)| v.version);
            if current.is_none_or(|v| v < version) {
                e.totals = Some((
                    LiveTotals {
                        counts: Counts {
                            impressions: t.impressions,
                            clicks: t.clicks,
                            conversions: t.conversions,
                            cost_micros: t.cost_micros,
                            revenue_micros: t.revenue_micros,
                        },
                        version,
                        updated_at: DateTime::from_timestamp_millis(now.timestamp_millis()),
                    },
                    clock + ttl,
                ));
                written += 1;
            }
            if e.series_until <= clock {
                e.series.clear();
            }
            for p in series.iter().filter(|p| p.campaign_id == t.campaign_id) {
                let at = p.start.timestamp();
                let newer = e
                    .series
                    .get(&at)
                    .is_none_or(|old| old.events() < p.counts.events());
                if newer {
                    e.series.insert(at, p.counts);
                }
            }
            e.series.retain(|at, _| *at >= window_start);
            if !e.series.is_empty() {
                e.series_until = clock + window;
            }
        }
        Ok(written)
    }

    async fn read_live(
        &self,
        campaign: CampaignId,
        now: DateTime<Utc>,
    ) -> Result<LiveView, PortError> {
        let clock = Instant::now();
        let window_start = now.timestamp() - LIVE_WINDOW_SECS;
        let st = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(e) = st.campaigns.get(&campaign) else {
            return Ok(LiveView {
                totals: None,
                series: Vec::new(),
            });
        };
        let totals = e
            .totals
            .as_ref()
            .filter(|(_, until)| *until > clock)
            .map(|(t, _)| t.clone());
        let series = if e.series_until > clock {
            e.series
                .range(window_start..)
                .filter_map(|(at, counts)| {
                    Some(LivePoint {
                        campaign_id: campaign,
                        start: DateTime::from_timestamp(*at, 0)?,
                        counts: *counts,
                    })
                })
                .collect()
        } else {
            Vec::new()
        };
        Ok(LiveView { totals, series })
    }

    async fn ping(&self) -> Result<(), PortError> {
        Ok(())
    }
}
