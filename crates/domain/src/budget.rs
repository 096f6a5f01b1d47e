//! When a campaign's budget stops it: the one rule the capping decisions,
//! the campaign's status and the `budget_exhausted` alert condition all
//! read, so they can never disagree about whether a campaign may spend.
//!
//! A campaign stops when its lifetime spend reaches `budget.total`
//! (for good, until the budget is raised) or when today's spend, today
//! being the calendar day in the campaign's zone, reaches the daily cap
//! (until the campaign's next local midnight). Reaching means `>=`: a
//! budget of 10 spent exactly is spent.

use chrono::{DateTime, Days, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::CampaignId;
use crate::aggregate::local_midnight;

/// A campaign's spending limits, in micros of its currency.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BudgetLimits {
    /// Lifetime budget; `None`: unlimited.
    pub total_micros: Option<i64>,
    /// Per local day; `None`: no daily cap.
    pub daily_cap_micros: Option<i64>,
}

/// Why a campaign may not spend now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum BudgetStop {
    /// The lifetime budget is spent.
    Total,
    /// Today's cap is spent; lifts at the campaign's local midnight.
    Daily,
}

impl BudgetStop {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Total => "total",
            Self::Daily => "daily",
        }
    }
}

/// A campaign stopped by its budget, as the alerter records it and the
/// gateway and the API read it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoppedCampaign {
    /// The campaign.
    pub campaign: CampaignId,
    /// Why.
    pub stop: BudgetStop,
    /// Since when (the result that crossed the limit).
    pub since: DateTime<Utc>,
    /// When it lifts by itself: the next local midnight for a daily stop;
    /// never for the total (only a larger budget lifts it).
    pub until: Option<DateTime<Utc>>,
}

impl StoppedCampaign {
    /// Whether it still stops the campaign at `now`.
    pub fn in_force(&self, now: DateTime<Utc>) -> bool {
        self.until.is_none_or(|u| now < u)
    }
}

/// The local day of `zone` that `at` falls in.
pub fn local_day(zone: Tz, at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&zone).date_naive()
}

/// When a daily stop decided at `at` lifts: the first instant of the next
/// local day of `zone` (DST-correct: a 23- or 25-hour day ends at its own
/// midnight).
pub fn next_local_midnight(zone: Tz, at: DateTime<Utc>) -> DateTime<Utc> {
    let today = local_day(zone, at);
    local_midnight(zone, today.checked_add_days(Days::new(1)).unwrap_or(today))
}

impl BudgetLimits {
    /// Whether a campaign that spent `lifetime` in all and `today` today
    /// must stop, and why (the lifetime budget first: it does not lift at
    /// midnight).
    pub fn exhausted(&self, lifetime: i64, today: i64) -> Option<BudgetStop> {
        if self.total_micros.is_some_and(|t| lifetime >= t) {
            Some(BudgetStop::Total)
        } else if self.daily_cap_micros.is_some_and(|d| today >= d) {
            Some(BudgetStop::Daily)
        } else {
            None
        }
    }

    /// Whether there is any limit at all.
    pub fn limited(&self) -> bool {
        self.total_micros.is_some() || self.daily_cap_micros.is_some()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn reaching_a_limit_is_spending_it() {
        let b = BudgetLimits {
            total_micros: Some(100),
            daily_cap_micros: Some(10),
        };
        assert_eq!(b.exhausted(99, 9), None);
        assert_eq!(b.exhausted(99, 10), Some(BudgetStop::Daily));
        assert_eq!(b.exhausted(100, 10), Some(BudgetStop::Total));
        assert_eq!(BudgetLimits::default().exhausted(i64::MAX, i64::MAX), None);
        assert!(!BudgetLimits::default().limited());
    }

    #[test]
    fn a_daily_stop_lifts_at_local_midnight_across_dst() {
        let berlin: Tz = chrono_tz::Europe::Berlin;
        let at = |s: &str| s.parse::<DateTime<Utc>>().expect("time");
        // 29 March 2026 has 23 hours in Berlin: it ends at 22:00 UTC.
        assert_eq!(
            next_local_midnight(berlin, at("2026-03-29T10:00:00Z")),
            at("2026-03-29T22:00:00Z")
        );
        // 25 October 2026 has 25 hours: it ends at 23:00 UTC.
        assert_eq!(
            next_local_midnight(berlin, at("2026-10-25T10:00:00Z")),
            at("2026-10-25T23:00:00Z")
        );
        // Just before and just after a local midnight.
        assert_eq!(
            next_local_midnight(berlin, at("2026-06-30T21:59:59Z")),
            at("2026-06-30T22:00:00Z")
        );
        assert_eq!(
            next_local_midnight(berlin, at("2026-06-30T22:00:00Z")),
            at("2026-07-01T22:00:00Z")
        );
        // Where midnight itself does not exist (Havana springs forward at
        // 00:00), the day starts at 01:00.
        let havana: Tz = chrono_tz::America::Havana;
        assert_eq!(
            next_local_midnight(havana, at("2026-03-07T12:00:00Z")),
            at("2026-03-08T05:00:00Z")
        );
        let stop = StoppedCampaign {
            campaign: CampaignId::from_uuid(uuid::Uuid::nil()),
            stop: BudgetStop::Daily,
            since: at("2026-06-30T12:00:00Z"),
            until: Some(at("2026-06-30T22:00:00Z")),
        };
        assert!(stop.in_force(at("2026-06-30T21:59:59Z")));
        assert!(!stop.in_force(at("2026-06-30T22:00:00Z")));
    }

    proptest! {
        /// Spending more never lifts a stop.
        #[test]
        fn stops_are_monotonic(total in proptest::option::of(0_i64..1_000),
                               daily in proptest::option::of(0_i64..1_000),
                               life in 0_i64..2_000, today in 0_i64..2_000,
                               more in 0_i64..500) {
            let b = BudgetLimits { total_micros: total, daily_cap_micros: daily };
            if b.exhausted(life, today).is_some() {
                prop_assert!(b.exhausted(life + more, today + more).is_some());
            }
        }
    }
}
