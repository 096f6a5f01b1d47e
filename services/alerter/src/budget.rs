//! Budgets on the alerter's side: today's counts in the campaign's own
//! zone, and the stop a campaign's spend calls for.
//!
//! Window results carry lifetime totals (and the UTC day's). Today in the
//! campaign's zone is the lifetime less what occurred before the local
//! day began, which [`crate::facts`] keeps. The stop itself is decided by the
//! domain's one rule (`adpulse_domain::budget`): a total stop until the
//! budget is raised, a daily stop until the next local midnight, which
//! the stop carries, so it lifts on time whatever the alerter does.

use adpulse_domain::alert::Sample;
use adpulse_domain::alert::ledger::AlertCampaign;
use adpulse_domain::budget::{BudgetStop, StoppedCampaign, next_local_midnight};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;

/// The campaign's zone (UTC if the stored name is not one).
pub fn zone(campaign: &AlertCampaign) -> Tz {
    campaign.timezone.parse().unwrap_or(Tz::UTC)
}

/// The stop `sample` calls for at `now` (keeping the `since` of a
/// `current` stop of the same kind, so an unchanged stop is not written
/// again).
pub fn stop_for(
    campaign: &AlertCampaign,
    sample: &Sample,
    now: DateTime<Utc>,
    current: Option<&StoppedCampaign>,
) -> Option<StoppedCampaign> {
    let stop = sample.budget_stop()?;
    if let Some(c) = current
        && c.stop == stop
        && c.in_force(now)
    {
        return Some(*c);
    }
    Some(StoppedCampaign {
        campaign: campaign.id,
        stop,
        since: now,
        until: match stop {
            BudgetStop::Total => None,
            BudgetStop::Daily => Some(next_local_midnight(zone(campaign), now)),
        },
    })
}

#[cfg(test)]
mod tests {
    use adpulse_domain::aggregate::Counts;
    use adpulse_domain::budget::BudgetLimits;
    use adpulse_domain::{CampaignId, CampaignStatus, TenantId};
    use uuid::Uuid;

    use super::*;

    fn campaign() -> AlertCampaign {
        AlertCampaign {
            id: CampaignId::from_uuid(Uuid::from_u128(1)),
            tenant: TenantId::from_uuid(Uuid::from_u128(2)),
            name: "c".into(),
            brand_id: None,
            timezone: "Asia/Kolkata".into(),
            budget: BudgetLimits {
                total_micros: Some(100),
                daily_cap_micros: Some(10),
            },
            status: CampaignStatus::Active,
        }
    }

    fn spent(life: i64, today: i64) -> Sample {
        let c = |n| Counts {
            cost_micros: n,
            ..Counts::default()
        };
        Sample {
            lifetime: c(life),
            today: c(today),
            budget: campaign().budget,
            ..Sample::default()
        }
    }

    #[test]
    fn a_daily_stop_lasts_until_the_campaign_s_midnight_and_is_not_rewritten() {
        let now: DateTime<Utc> = "2026-12-03T10:00:00Z".parse().expect("t");
        assert_eq!(stop_for(&campaign(), &spent(50, 9), now, None), None);
        let s = stop_for(&campaign(), &spent(50, 10), now, None).expect("stopped");
        // Kolkata is UTC+5:30: the next local midnight is 18:30 UTC.
        assert_eq!(s.until, Some("2026-12-03T18:30:00Z".parse().expect("t")));
        let later = now + chrono::TimeDelta::minutes(5);
        assert_eq!(
            stop_for(&campaign(), &spent(60, 11), later, Some(&s)),
            Some(s)
        );
        // The total overrides, for good.
        let t = stop_for(&campaign(), &spent(100, 11), later, Some(&s)).expect("stopped");
        assert_eq!((t.stop, t.until, t.since), (BudgetStop::Total, None, later));
    }
}
