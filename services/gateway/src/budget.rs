//! Campaigns stopped by their budget, as capping decisions see them: the
//! alerter records a stop when a campaign's spend reaches its budget
//! (total, or today's cap in its zone); every gateway reads the whole
//! list of stops in force every `gateway.budget_poll_ms` (one indexed
//! read of a small table, whatever the request rate) and answers
//! `allow: false, reason: "budget_exhausted"` for them without counting.
//! A daily stop carries its end (the campaign's next local midnight), so
//! it lifts on time between two reads. When the directory does not
//! answer, the last list read stays in force.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use adpulse_domain::CampaignId;
use adpulse_domain::budget::{BudgetStop, StoppedCampaign};
use adpulse_domain::ports::{Directory, PortError};
use chrono::{DateTime, Utc};

/// The stops in force, as last read.
pub struct Stops {
    directory: Arc<dyn Directory>,
    /// Replaced whole by each read; readers clone the `Arc` and let go.
    now: RwLock<Arc<HashMap<CampaignId, StoppedCampaign>>>,
}

impl Stops {
    /// Stops read from `directory` (none until the first read).
    pub fn new(directory: Arc<dyn Directory>) -> Self {
        Self {
            directory,
            now: RwLock::default(),
        }
    }

    /// Reads the stops again; how many are in force.
    pub async fn refresh(&self) -> Result<usize, PortError> {
        let read = self.directory.budget_stops().await?;
        let map: HashMap<_, _> = read.into_iter().map(|s| (s.campaign, s)).collect();
        let n = map.len();
        *self.now.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(map);
        metrics::gauge!("adpulse_gateway_budget_stops").set(n as f64);
        Ok(n)
    }

    /// Why `campaign` may not serve at `now`, if its budget stops it.
    pub fn stopped(&self, campaign: CampaignId, now: DateTime<Utc>) -> Option<BudgetStop> {
        let map = Arc::clone(&self.now.read().unwrap_or_else(PoisonError::into_inner));
        map.get(&campaign)
            .filter(|s| s.in_force(now))
            .map(|s| s.stop)
    }
}

#[cfg(test)]
mod tests {
    use adpulse_domain::TenantId;
    use adpulse_domain::ports::{CampaignFacts, KeyStatus};
    use chrono::TimeDelta;

    use super::*;

    struct Listed(Vec<StoppedCampaign>);

    #[async_trait::async_trait]
    impl Directory for Listed {
        async fn key_status(&self, _: [u8; 32]) -> Result<KeyStatus, PortError> {
            Ok(KeyStatus::Active(TenantId::from_uuid(uuid::Uuid::nil())))
        }
        async fn campaign_facts(&self, _: CampaignId) -> Result<Option<CampaignFacts>, PortError> {
            Ok(None)
        }
        async fn budget_stops(&self) -> Result<Vec<StoppedCampaign>, PortError> {
            Ok(self.0.clone())
        }
        async fn ping(&self) -> Result<(), PortError> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_daily_stop_lifts_at_its_end_without_another_read() {
        let now = Utc::now();
        let c = |n| CampaignId::from_uuid(uuid::Uuid::from_u128(n));
        let stops = Stops::new(Arc::new(Listed(vec![
            StoppedCampaign {
                campaign: c(1),
                stop: BudgetStop::Total,
                since: now,
                until: None,
            },
            StoppedCampaign {
                campaign: c(2),
                stop: BudgetStop::Daily,
                since: now,
                until: Some(now + TimeDelta::hours(1)),
            },
        ])));
        assert_eq!(
            stops.stopped(c(1), now),
            None,
            "nothing before the first read"
        );
        assert_eq!(stops.refresh().await.expect("read"), 2);
        assert_eq!(stops.stopped(c(1), now), Some(BudgetStop::Total));
        assert_eq!(stops.stopped(c(2), now), Some(BudgetStop::Daily));
        assert_eq!(stops.stopped(c(2), now + TimeDelta::hours(1)), None);
        assert_eq!(stops.stopped(c(3), now), None);
    }
}
