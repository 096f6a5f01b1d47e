//! When a campaign's budget stops it: the one rule the capping decisions,
//! the campaign's status and the `budget_exhausted` alert condition all
//! read, so they can never disagree about whether a campaign may spend.
//!
//! A campaign stops when its lifetime spend reaches `budget.total`
//! (for good, until the budget is raised) or when today's spend, today
//! being the calendar day in the campaign's zone, reaches the daily cap
//! (until the campaign's next local midnight). Reaching means `>=`: a
//! budget of 10 spent exactly is spent.

use serde::{Deserialize, Serialize};

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
