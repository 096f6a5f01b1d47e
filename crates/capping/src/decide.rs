//! Deciding for one person over candidate campaigns: plan each capped
//! candidate, reserve them all in one store call, and apply the failure
//! policy when the store does not answer (deny by default: showing too few
//! ads costs a little reach, too many breaks the advertiser's contract).

use adpulse_domain::CampaignId;
use adpulse_domain::targeting::FrequencyCap;
use adpulse_resilience::{Breaker, BreakerConfig, Refused};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::CapStore;
use crate::plan::{PlanError, Planned, plan};

/// A campaign the ad server may show, with what capping needs of it.
#[derive(Clone, Debug)]
pub struct Candidate {
    /// The campaign.
    pub campaign: CampaignId,
    /// The ad, required for ad-level caps.
    pub ad: Option<String>,
    /// The campaign's time zone (calendar windows are local).
    pub timezone: Tz,
    /// The campaign's cap, if it has one.
    pub cap: Option<FrequencyCap>,
}

/// What happens when the store does not answer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OnFailure {
    /// Refuse (never over-serve).
    #[default]
    Deny,
    /// Allow (never lose reach).
    Allow,
}

/// Why a decision came out as it did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// Under the cap: reserved.
    Reserved,
    /// At the cap.
    Capped,
    /// The campaign has no cap.
    Uncapped,
    /// The store did not answer; the failure policy decided.
    StoreUnavailable,
    /// The request cannot be decided (an ad-level cap without an ad).
    Invalid,
}

impl Reason {
    /// The label in metrics and answers.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reserved => "reserved",
            Self::Capped => "capped",
            Self::Uncapped => "uncapped",
            Self::StoreUnavailable => "store_unavailable",
            Self::Invalid => "invalid",
        }
    }
}

/// The decision for one candidate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The campaign.
    pub campaign: CampaignId,
    /// Serve it (and it was counted, when capped).
    pub allow: bool,
    /// Impressions counted in the window.
    pub count: u32,
    /// The cap, if any.
    pub cap: Option<u32>,
    /// When the window's count resets (calendar) or rolls (rolling: now).
    pub window_ends_at: Option<DateTime<Utc>>,
    /// Why.
    pub reason: Reason,
}

/// A release that did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    /// The request cannot name a counter.
    #[error(transparent)]
    Plan(PlanError),
    /// The store did not answer.
    #[error(transparent)]
    Store(crate::StoreError),
}

/// Decides with `store` under `on_failure`. Store calls go through a
/// circuit breaker with a timeout: while the store fails, or the breaker
/// is open and the store is not called at all, the failure policy decides
/// at once instead of every decision waiting out a timeout.
pub struct Decider {
    store: std::sync::Arc<dyn CapStore>,
    on_failure: OnFailure,
    breaker: Breaker,
}

/// The store breaker's settings unless the composition root gives others.
pub const STORE_BREAKER: BreakerConfig = BreakerConfig {
    failures: 5,
    open_for: std::time::Duration::from_secs(5),
    timeout: std::time::Duration::from_secs(1),
};

impl Decider {
    /// A decider over `store`.
    pub fn new(store: std::sync::Arc<dyn CapStore>, on_failure: OnFailure) -> Self {
        Self {
            store,
            on_failure,
            breaker: Breaker::new("capping_store", STORE_BREAKER),
        }
    }

    /// Trips the store's breaker on `cfg` instead of the defaults.
    #[must_use]
    pub fn with_breaker(mut self, cfg: BreakerConfig) -> Self {
        self.breaker = Breaker::new("capping_store", cfg);
        self
    }

    /// The counters' store, shared (for readiness).
    pub fn shared_store(&self) -> std::sync::Arc<dyn CapStore> {
        std::sync::Arc::clone(&self.store)
    }

    /// The store.
    pub fn store(&self) -> &dyn CapStore {
        &*self.store
    }

    /// Gives back one reservation of `candidate` for `person`, made at
    /// `reserved_at` (the window is the one the reservation counted in).
    /// Uncapped candidates have nothing to give back.
    pub async fn release(
        &self,
        person: &str,
        candidate: &Candidate,
        reserved_at: DateTime<Utc>,
    ) -> Result<(), ReleaseError> {
        let Some(cap) = &candidate.cap else {
            return Ok(());
        };
        let p = plan(
            cap,
            candidate.timezone,
            candidate.campaign,
            candidate.ad.as_deref(),
            reserved_at,
        )
        .map_err(ReleaseError::Plan)?;
        self.breaker
            .call(self.store.release(person, &p))
            .await
            .map_err(|e| {
                metrics::counter!("adpulse_capping_store_errors_total", "op" => "release")
                    .increment(1);
                ReleaseError::Store(e.into_error(crate::StoreError::Unavailable))
            })?;
        metrics::counter!("adpulse_capping_releases_total").increment(1);
        Ok(())
    }

    /// Decides every candidate for `person` at `now`, in order; the capped
    /// ones in one store call.
    pub async fn decide(
        &self,
        person: &str,
        candidates: &[Candidate],
        now: DateTime<Utc>,
    ) -> Vec<Outcome> {
        let mut outcomes: Vec<Option<Outcome>> = vec![None; candidates.len()];
        let mut planned = Vec::new();
        let mut slots = Vec::new();
        for (i, c) in candidates.iter().enumerate() {
            let Some(cap) = &c.cap else {
                outcomes[i] = Some(Outcome::without_store(c.campaign, None, Reason::Uncapped));
                continue;
            };
            match plan(cap, c.timezone, c.campaign, c.ad.as_deref(), now) {
                Ok(p) => {
                    planned.push(p);
                    slots.push(i);
                }
                Err(PlanError::AdRequired) => {
                    outcomes[i] = Some(Outcome::without_store(
                        c.campaign,
                        Some(cap.max),
                        Reason::Invalid,
                    ));
                }
            }
        }
        // One round trip for every capped candidate, whatever their number.
        if !planned.is_empty() {
            self.reserve_planned(person, candidates, (&slots, &planned), now, &mut outcomes)
                .await;
        }
        let outcomes: Vec<Outcome> = outcomes.into_iter().flatten().collect();
        for o in &outcomes {
            metrics::counter!(
                "adpulse_capping_decisions_total",
                "reason" => o.reason.as_str(),
                "allow" => if o.allow { "true" } else { "false" }
            )
            .increment(1);
        }
        outcomes
    }

    /// Reserves the planned candidates (`slots[k]` is the place of
    /// `planned[k]` in `candidates`) and writes their outcomes; when the
    /// store does not answer, the failure policy decides them all.
    async fn reserve_planned(
        &self,
        person: &str,
        candidates: &[Candidate],
        (slots, planned): (&[usize], &[Planned]),
        now: DateTime<Utc>,
        outcomes: &mut [Option<Outcome>],
    ) {
        let started = std::time::Instant::now();
        let reserved = self
            .breaker
            .call(self.store.reserve(person, planned, now))
            .await;
        metrics::histogram!("adpulse_capping_store_seconds", "op" => "reserve")
            .record(started.elapsed().as_secs_f64());
        match reserved {
            Ok(decisions) => {
                for ((i, p), d) in slots.iter().zip(planned).zip(decisions) {
                    outcomes[*i] = Some(Outcome {
                        campaign: candidates[*i].campaign,
                        allow: d.allow,
                        count: d.count,
                        cap: Some(p.cap),
                        window_ends_at: Some(p.window.end),
                        reason: if d.allow {
                            Reason::Reserved
                        } else {
                            Reason::Capped
                        },
                    });
                }
            }
            Err(e) => {
                metrics::counter!("adpulse_capping_store_errors_total", "op" => "reserve")
                    .increment(1);
                // While the breaker is open its metrics say so; a line per
                // decision would flood the log.
                if !matches!(e, Refused::Open) {
                    tracing::warn!(error = %e, policy = ?self.on_failure, "capping store failed; the failure policy decides");
                }
                for (i, p) in slots.iter().zip(planned) {
                    outcomes[*i] = Some(Outcome {
                        campaign: candidates[*i].campaign,
                        allow: self.on_failure == OnFailure::Allow,
                        count: 0,
                        cap: Some(p.cap),
                        window_ends_at: Some(p.window.end),
                        reason: Reason::StoreUnavailable,
                    });
                }
            }
        }
    }
}

impl Outcome {
    /// A decision made without asking the store: uncapped (allowed) or
    /// invalid (refused), nothing counted.
    fn without_store(campaign: CampaignId, cap: Option<u32>, reason: Reason) -> Self {
        Self {
            campaign,
            allow: reason == Reason::Uncapped,
            count: 0,
            cap,
            window_ends_at: None,
            reason,
        }
    }
}

#[cfg(test)]
mod tests {
    use adpulse_domain::targeting::{CapPeriod, CapScope, CapWindow};

    use super::*;
    use crate::memory::MemoryStore;
    use crate::plan::Planned;
    use crate::{Decision, StoreError};

    fn cap(max: u32, scope: CapScope) -> Option<FrequencyCap> {
        Some(FrequencyCap {
            max,
            per: CapPeriod::Day,
            scope,
            window: CapWindow::Calendar,
        })
    }

    fn candidate(n: u128, cap: Option<FrequencyCap>, ad: Option<&str>) -> Candidate {
        Candidate {
            campaign: CampaignId::from_uuid(uuid::Uuid::from_u128(n)),
            ad: ad.map(str::to_owned),
            timezone: chrono_tz::Europe::Berlin,
            cap,
        }
    }

    /// A store that never answers (failure injection).
    struct Down;

    #[async_trait::async_trait]
    impl CapStore for Down {
        async fn reserve(
            &self,
            _: &str,
            _: &[Planned],
            _: DateTime<Utc>,
        ) -> Result<Vec<Decision>, StoreError> {
            Err(StoreError::Unavailable("injected".into()))
        }

        async fn release(&self, _: &str, _: &Planned) -> Result<(), StoreError> {
            Err(StoreError::Unavailable("injected".into()))
        }

        async fn merge(&self, _: &str, _: &str, _: DateTime<Utc>) -> Result<(), StoreError> {
            Err(StoreError::Unavailable("injected".into()))
        }
    }

    #[tokio::test]
    async fn capped_uncapped_and_invalid_candidates_in_one_batch() {
        let decider = Decider::new(std::sync::Arc::new(MemoryStore::new()), OnFailure::Deny);
        let now = Utc::now();
        let batch = [
            candidate(1, cap(1, CapScope::Campaign), None),
            candidate(2, None, None),
            candidate(3, cap(2, CapScope::Ad), None),
            candidate(4, cap(2, CapScope::Ad), Some("ad-7")),
        ];
        let first = decider.decide("l:u-1", &batch, now).await;
        let reasons: Vec<(bool, Reason)> = first.iter().map(|o| (o.allow, o.reason)).collect();
        assert_eq!(
            reasons,
            [
                (true, Reason::Reserved),
                (true, Reason::Uncapped),
                (false, Reason::Invalid),
                (true, Reason::Reserved)
            ]
        );
        assert!(first[0].window_ends_at.is_some_and(|t| t > now));
        let second = decider.decide("l:u-1", &batch, now).await;
        assert_eq!(
            (second[0].allow, second[0].reason, second[0].count),
            (false, Reason::Capped, 1)
        );
        assert_eq!((second[3].allow, second[3].count), (true, 2));
    }

    /// A store that fails while `down` (failure injection), counting the
    /// calls that reach it.
    struct Flaky {
        down: std::sync::atomic::AtomicBool,
        calls: std::sync::atomic::AtomicU32,
        up: MemoryStore,
    }

    #[async_trait::async_trait]
    impl CapStore for Flaky {
        async fn reserve(
            &self,
            person: &str,
            planned: &[Planned],
            now: DateTime<Utc>,
        ) -> Result<Vec<Decision>, StoreError> {
            self.calls
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if self.down.load(std::sync::atomic::Ordering::Relaxed) {
                return Err(StoreError::Unavailable("injected".into()));
            }
            CapStore::reserve(&self.up, person, planned, now).await
        }

        async fn release(&self, person: &str, planned: &Planned) -> Result<(), StoreError> {
            CapStore::release(&self.up, person, planned).await
        }

        async fn merge(
            &self,
            from: &str,
            into: &str,
            now: DateTime<Utc>,
        ) -> Result<(), StoreError> {
            CapStore::merge(&self.up, from, into, now).await
        }
    }

    #[tokio::test]
    async fn a_failing_store_opens_the_breaker_and_the_policy_decides_without_calling_it() {
        let store = std::sync::Arc::new(Flaky {
            down: true.into(),
            calls: 0.into(),
            up: MemoryStore::new(),
        });
        let open_for = std::time::Duration::from_millis(200);
        let decider = Decider::new(std::sync::Arc::clone(&store) as _, OnFailure::Allow)
            .with_breaker(BreakerConfig {
                failures: 3,
                open_for,
                timeout: std::time::Duration::from_secs(1),
            });
        let batch = [candidate(1, cap(5, CapScope::Campaign), None)];
        let now = Utc::now();
        for _ in 0..10 {
            let d = decider.decide("l:u-1", &batch, now).await;
            assert_eq!((d[0].allow, d[0].reason), (true, Reason::StoreUnavailable));
        }
        let calls = |s: &Flaky| s.calls.load(std::sync::atomic::Ordering::Relaxed);
        assert_eq!(
            calls(&store),
            3,
            "after three failures the store is not called"
        );
        // The store comes back: after open_for one trial reaches it and
        // decisions count again.
        store
            .down
            .store(false, std::sync::atomic::Ordering::Relaxed);
        tokio::time::sleep(open_for).await;
        let d = decider.decide("l:u-1", &batch, now).await;
        assert_eq!((d[0].reason, d[0].count), (Reason::Reserved, 1));
        let d = decider.decide("l:u-1", &batch, now).await;
        assert_eq!((d[0].reason, d[0].count), (Reason::Reserved, 2));
    }

    #[tokio::test]
    async fn a_store_that_does_not_answer_denies_by_default() {
        let now = Utc::now();
        let batch = [
            candidate(1, cap(3, CapScope::Campaign), None),
            candidate(2, None, None),
        ];
        let closed = Decider::new(std::sync::Arc::new(Down), OnFailure::Deny)
            .decide("p", &batch, now)
            .await;
        assert_eq!(
            (closed[0].allow, closed[0].reason),
            (false, Reason::StoreUnavailable)
        );
        assert!(closed[1].allow, "uncapped campaigns need no store");
        let open = Decider::new(std::sync::Arc::new(Down), OnFailure::Allow)
            .decide("p", &batch, now)
            .await;
        assert!(open[0].allow);
    }
}
