//! Ports wrapped in a circuit breaker by the composition root, so every
//! service holding one gets the same protection without knowing of it.

use std::sync::Arc;
use std::time::Duration;

use adpulse_domain::CampaignId;
use adpulse_domain::aggregate::{CampaignTotals, LivePoint};
use adpulse_domain::ports::{LiveCounters, LiveView, PortError};
use adpulse_resilience::{Breaker, BreakerConfig};
use chrono::{DateTime, Utc};

/// Live counters (Redis) behind a breaker named `live_counters`. While it
/// is open, writes fail at once and the worker marks the campaigns stale
/// (written again from the store once Redis answers); reads fail at once
/// and the API answers 503 without waiting out a timeout. Readiness pings
/// bypass it: they must see the truth.
pub struct GuardedLive {
    inner: Arc<dyn LiveCounters>,
    breaker: Breaker,
}

impl GuardedLive {
    /// `inner` behind a breaker tripping on `cfg`.
    pub fn new(inner: Arc<dyn LiveCounters>, cfg: BreakerConfig) -> Self {
        Self {
            inner,
            breaker: Breaker::new("live_counters", cfg),
        }
    }
}

#[async_trait::async_trait]
impl LiveCounters for GuardedLive {
    async fn write_live(
        &self,
        totals: &[CampaignTotals],
        series: &[LivePoint],
        version: i64,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<usize, PortError> {
        self.breaker
            .call(self.inner.write_live(totals, series, version, now, ttl))
            .await
            .map_err(|why| why.into_error(PortError::retryable))
    }

    async fn read_live(
        &self,
        campaign: CampaignId,
        now: DateTime<Utc>,
    ) -> Result<LiveView, PortError> {
        self.breaker
            .call(self.inner.read_live(campaign, now))
            .await
            .map_err(|why| why.into_error(PortError::retryable))
    }

    async fn ping(&self) -> Result<(), PortError> {
        self.inner.ping().await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

    use super::*;

    /// Live counters that fail while `down` (failure injection), counting
    /// the calls that reach them.
    #[derive(Default)]
    struct Flaky {
        down: AtomicBool,
        calls: AtomicU32,
    }

    #[async_trait::async_trait]
    impl LiveCounters for Flaky {
        async fn write_live(
            &self,
            totals: &[CampaignTotals],
            _: &[LivePoint],
            _: i64,
            _: DateTime<Utc>,
            _: Duration,
        ) -> Result<usize, PortError> {
            self.calls.fetch_add(1, Ordering::Relaxed);
            if self.down.load(Ordering::Relaxed) {
                return Err(PortError::retryable("injected: redis is down"));
            }
            Ok(totals.len())
        }

        async fn read_live(&self, _: CampaignId, _: DateTime<Utc>) -> Result<LiveView, PortError> {
            self.calls.fetch_add(1, Ordering::Relaxed);
            if self.down.load(Ordering::Relaxed) {
                return Err(PortError::retryable("injected: redis is down"));
            }
            Ok(LiveView {
                totals: None,
                series: Vec::new(),
            })
        }

        async fn ping(&self) -> Result<(), PortError> {
            if self.down.load(Ordering::Relaxed) {
                return Err(PortError::retryable("injected: redis is down"));
            }
            Ok(())
        }
    }

    #[tokio::test]
    async fn failing_live_counters_open_the_breaker_and_are_not_called_until_the_trial() {
        let redis = Arc::new(Flaky::default());
        redis.down.store(true, Ordering::Relaxed);
        let open_for = Duration::from_millis(200);
        let live = GuardedLive::new(
            Arc::clone(&redis) as Arc<dyn LiveCounters>,
            BreakerConfig {
                failures: 2,
                open_for,
                timeout: Duration::from_secs(1),
            },
        );
        let c = CampaignId::from_uuid(uuid::Uuid::now_v7());
        let now = Utc::now();
        assert!(
            live.write_live(&[], &[], 1, now, Duration::from_secs(60))
                .await
                .is_err()
        );
        assert!(live.read_live(c, now).await.is_err());
        for _ in 0..20 {
            let e = live.read_live(c, now).await.expect_err("open");
            assert!(e.to_string().contains("circuit open"), "{e}");
            assert!(
                live.write_live(&[], &[], 1, now, Duration::from_secs(60))
                    .await
                    .is_err()
            );
        }
        assert_eq!(
            redis.calls.load(Ordering::Relaxed),
            2,
            "not called while open"
        );
        assert!(
            live.ping().await.is_err(),
            "readiness still sees Redis itself"
        );

        redis.down.store(false, Ordering::Relaxed);
        tokio::time::sleep(open_for).await;
        assert!(
            live.read_live(c, now).await.is_ok(),
            "the trial passes and closes it"
        );
        assert!(
            live.write_live(&[], &[], 2, now, Duration::from_secs(60))
                .await
                .is_ok()
        );
        assert_eq!(redis.calls.load(Ordering::Relaxed), 4);
    }
}
