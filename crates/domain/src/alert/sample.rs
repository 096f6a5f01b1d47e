//! What a rule is evaluated against: one campaign's counts over each span
//! as of one moment, and its budget. The evaluator builds a sample from a
//! window result (lifetime and today) and the campaign's live series (the
//! trailing spans); metrics are derived here, once, for every rule.

use std::collections::BTreeMap;

use super::condition::{Metric, Over};
use crate::aggregate::Counts;
use crate::budget::{BudgetLimits, BudgetStop};

/// One campaign's counts as of one moment.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Sample {
    /// Since the campaign began.
    pub lifetime: Counts,
    /// The calendar day in the campaign's zone.
    pub today: Counts,
    /// Trailing spans by minutes; a span absent here is not known (its
    /// metrics are undefined).
    pub recent: BTreeMap<u16, Counts>,
    /// The campaign's budget.
    pub budget: BudgetLimits,
}

impl Sample {
    /// The counts over `over`, if known.
    pub fn counts(&self, over: Over) -> Option<Counts> {
        match over {
            Over::Today => Some(self.today),
            Over::Lifetime => Some(self.lifetime),
            Over::Recent(m) => self.recent.get(&m).copied(),
        }
    }

    /// Whether the budget stops the campaign now.
    pub fn budget_stop(&self) -> Option<BudgetStop> {
        self.budget
            .exhausted(self.lifetime.cost_micros, self.today.cost_micros)
    }

    /// `metric` over `over`; `None` where it is undefined: a ratio over
    /// nothing (CTR without impressions), a budget share without that
    /// budget, a span not known.
    pub fn metric(&self, metric: Metric, over: Over) -> Option<f64> {
        let c = self.counts(over)?;
        #[allow(clippy::cast_precision_loss)] // exact to 2^53 micros, 9 billion units
        let f = |n: i64| n as f64;
        let ratio = |a: i64, b: i64, scale: f64| (b != 0).then(|| f(a) * scale / f(b));
        match metric {
            Metric::Spend => Some(f(c.cost_micros)),
            Metric::Impressions => Some(f(c.impressions)),
            Metric::Clicks => Some(f(c.clicks)),
            Metric::Conversions => Some(f(c.conversions)),
            Metric::Ctr => ratio(c.clicks, c.impressions, 100.0),
            Metric::Cpc => ratio(c.cost_micros, c.clicks, 1.0),
            Metric::Cpm => ratio(c.cost_micros, c.impressions, 1000.0),
            Metric::Cpa => ratio(c.cost_micros, c.conversions, 1.0),
            Metric::Roas => ratio(c.revenue_micros, c.cost_micros, 1.0),
            Metric::BudgetUsedPct => {
                let limit = match over {
                    Over::Lifetime => self.budget.total_micros,
                    Over::Today => self.budget.daily_cap_micros,
                    Over::Recent(_) => None,
                }?;
                ratio(c.cost_micros, limit, 100.0)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Sample {
        let today = Counts {
            impressions: 2_000,
            clicks: 30,
            conversions: 3,
            cost_micros: 6_000_000,
            revenue_micros: 12_000_000,
        };
        Sample {
            lifetime: Counts {
                impressions: 10_000,
                ..today
            },
            today,
            recent: BTreeMap::from([(5, Counts::default())]),
            budget: BudgetLimits {
                total_micros: Some(8_000_000),
                daily_cap_micros: None,
            },
        }
    }

    #[test]
    fn metrics_in_their_units() {
        let s = sample();
        let m = |metric, over| s.metric(metric, over);
        assert_eq!(m(Metric::Ctr, Over::Today), Some(1.5));
        assert_eq!(m(Metric::Cpc, Over::Today), Some(200_000.0));
        assert_eq!(m(Metric::Cpm, Over::Today), Some(3_000_000.0));
        assert_eq!(m(Metric::Cpa, Over::Today), Some(2_000_000.0));
        assert_eq!(m(Metric::Roas, Over::Today), Some(2.0));
        assert_eq!(m(Metric::Spend, Over::Today), Some(6_000_000.0));
        assert_eq!(m(Metric::Impressions, Over::Lifetime), Some(10_000.0));
        assert_eq!(m(Metric::BudgetUsedPct, Over::Lifetime), Some(75.0));
    }

    #[test]
    fn undefined_where_there_is_nothing_to_divide_by() {
        let s = sample();
        // Nothing in the last 5 minutes: counts are 0, ratios undefined.
        assert_eq!(s.metric(Metric::Clicks, Over::Recent(5)), Some(0.0));
        assert_eq!(s.metric(Metric::Ctr, Over::Recent(5)), None);
        // A span the sample does not know.
        assert_eq!(s.metric(Metric::Clicks, Over::Recent(15)), None);
        // No daily cap.
        assert_eq!(s.metric(Metric::BudgetUsedPct, Over::Today), None);
        assert_eq!(s.budget_stop(), None);
    }
}
