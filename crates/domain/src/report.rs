//! Reports: what a campaign manager asks for (a range of local days, a
//! granularity, a breakdown, a time zone), the rows that answer it, and the
//! metrics derived from counts. Pure: the Postgres adapter computes the
//! rows, the API shapes them.

use chrono::{DateTime, NaiveDate, Utc};

use crate::aggregate::Counts;

/// How a report's rows are cut in time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Granularity {
    /// One row per local hour.
    Hour,
    /// One row per local day.
    Day,
    /// One row for the whole range.
    Total,
}

impl Granularity {
    /// From the query string.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "hour" => Some(Self::Hour),
            "day" => Some(Self::Day),
            "total" => Some(Self::Total),
            _ => None,
        }
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hour => "hour",
            Self::Day => "day",
            Self::Total => "total",
        }
    }
}

/// Which dimensions a report splits its rows by.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Breakdown {
    /// By channel.
    pub channel: bool,
    /// By event type.
    pub event_type: bool,
}

impl Breakdown {
    /// From `channel,event_type` (either, both, or empty); the unknown
    /// dimension, if any.
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut b = Self::default();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part {
                "channel" => b.channel = true,
                "event_type" => b.event_type = true,
                other => return Err(other.to_owned()),
            }
        }
        Ok(b)
    }
}

/// One row of a report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportRow {
    /// The local period the row covers: its first instant (`None` for the
    /// total).
    pub period_start: Option<DateTime<Utc>>,
    /// The local day of the period (day granularity).
    pub day: Option<NaiveDate>,
    /// The channel, when broken down by channel.
    pub channel: Option<String>,
    /// The event type, when broken down by event type.
    pub event_type: Option<String>,
    /// Counts and sums.
    pub counts: Counts,
    /// Distinct people over the row's whole span: a union of sketches,
    /// never a sum.
    pub unique_users: i64,
}

/// A sum as a report shows it: itself when it fits in an `i64`, else the
/// bound it passed ([`i64::MAX`] above, [`i64::MIN`] below).
///
/// Each event carries at most [`crate::Micros::MAX`] (10¹⁵ micros), so an
/// `i64` holds the sum of 9,223 such events and no more: a campaign's
/// cost over a range can pass it. A report then shows the bound and says
/// it is saturated ([`saturated`]) instead of failing: the other numbers
/// of the report stay readable, narrowing the range does not help when a
/// single day is past it, and widening the type would change every
/// client's number type for sums that no real campaign reaches (an `i64`
/// holds 9.2 trillion currency units).
pub fn clamp_sum(sum: i128) -> i64 {
    i64::try_from(sum).unwrap_or(if sum < 0 { i64::MIN } else { i64::MAX })
}

/// Whether a count or sum of `c` is at a bound of [`clamp_sum`]: its true
/// value did not fit and is at least (or at most) what is shown.
pub fn saturated(c: &Counts) -> bool {
    [
        c.impressions,
        c.clicks,
        c.conversions,
        c.cost_micros,
        c.revenue_micros,
    ]
    .into_iter()
    .any(|v| v == i64::MAX || v == i64::MIN)
}

/// Ratios of counts, `None` where the denominator is zero.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Ratios {
    /// Clicks per impression.
    pub ctr: Option<f64>,
    /// Cost per click, in micros.
    pub cpc_micros: Option<f64>,
    /// Cost per thousand impressions, in micros.
    pub cpm_micros: Option<f64>,
    /// Cost per conversion, in micros.
    pub cpa_micros: Option<f64>,
    /// Revenue per unit of cost.
    pub roas: Option<f64>,
}

impl Ratios {
    /// The ratios of `c`.
    pub fn of(c: &Counts) -> Self {
        let per = |num: f64, den: i64| (den != 0).then(|| num / den as f64);
        let cost = c.cost_micros as f64;
        Self {
            ctr: per(c.clicks as f64, c.impressions),
            cpc_micros: per(cost, c.clicks),
            cpm_micros: per(cost * 1000.0, c.impressions),
            cpa_micros: per(cost, c.conversions),
            roas: per(c.revenue_micros as f64, c.cost_micros),
        }
    }
}

/// What a top-campaigns report may be sorted by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RankBy {
    /// Cost.
    Spend,
    /// Revenue.
    Revenue,
    /// Impressions.
    Impressions,
    /// Clicks.
    Clicks,
    /// Conversions.
    Conversions,
}

impl RankBy {
    /// From a sort key (`spend`, `-spend`, …): the column and whether
    /// descending.
    pub fn parse(s: &str) -> Option<(Self, bool)> {
        let (desc, key) = match s.strip_prefix('-') {
            Some(k) => (true, k),
            None => (false, s),
        };
        let by = match key {
            "spend" => Self::Spend,
            "revenue" => Self::Revenue,
            "impressions" => Self::Impressions,
            "clicks" => Self::Clicks,
            "conversions" => Self::Conversions,
            _ => return None,
        };
        Some((by, desc))
    }

    /// The allowed sort keys, for error messages.
    pub const KEYS: &'static str =
        "spend, revenue, impressions, clicks, conversions (prefix - for descending)";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_denominators_give_none() {
        let r = Ratios::of(&Counts::default());
        assert_eq!(r, Ratios::default());
        let c = Counts {
            impressions: 2_000,
            clicks: 50,
            conversions: 5,
            cost_micros: 10_000_000,
            revenue_micros: 30_000_000,
        };
        let r = Ratios::of(&c);
        assert_eq!(r.ctr, Some(0.025));
        assert_eq!(r.cpc_micros, Some(200_000.0));
        assert_eq!(r.cpm_micros, Some(5_000_000.0));
        assert_eq!(r.cpa_micros, Some(2_000_000.0));
        assert_eq!(r.roas, Some(3.0));
    }

    #[test]
    fn sums_past_an_i64_show_the_bound_and_say_so() {
        assert_eq!(clamp_sum(5), 5);
        assert_eq!(clamp_sum(i128::from(i64::MAX) + 1), i64::MAX);
        assert_eq!(clamp_sum(i128::from(i64::MIN) - 1), i64::MIN);
        let mut c = Counts {
            cost_micros: 7,
            ..Counts::default()
        };
        assert!(!saturated(&c));
        c.revenue_micros = clamp_sum(i128::from(i64::MAX) * 3);
        assert!(saturated(&c));
        // Ratios of saturated sums stay finite numbers.
        c.impressions = i64::MAX;
        let r = Ratios::of(&c);
        assert!(r.ctr.is_some_and(f64::is_finite));
        assert!(r.cpm_micros.is_some_and(f64::is_finite));
    }

    #[test]
    fn query_words() {
        assert_eq!(Granularity::parse("day"), Some(Granularity::Day));
        assert_eq!(Granularity::parse("week"), None);
        assert_eq!(
            Breakdown::parse("channel, event_type"),
            Ok(Breakdown {
                channel: true,
                event_type: true
            })
        );
        assert_eq!(Breakdown::parse(""), Ok(Breakdown::default()));
        assert_eq!(Breakdown::parse("country"), Err("country".into()));
        assert_eq!(RankBy::parse("-spend"), Some((RankBy::Spend, true)));
        assert_eq!(RankBy::parse("ctr"), None);
    }
}
