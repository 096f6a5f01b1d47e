//! Trailing spans (`last_15m`): a campaign's lifetime totals as each
//! window result brought them, kept for a little over an hour, so the
//! counts of the last N minutes are the newest totals less the totals N
//! minutes ago.
//!
//! Measured by when results arrived, not by event time: an event that
//! arrives late counts in the span it arrived in. Totals are kept one per
//! [`STEP`] (the newest of each), so a span's edge is exact to within
//! that step, an hour is at most 733 points, and finding a span's base is
//! a binary search. When the alerter first
//! sees a campaign (a start, a rebalance, a new campaign), the hour before
//! is filled in from the campaign's live series (5-second points by event
//! time, kept by the worker), so spans are known from the first result.

use std::collections::VecDeque;

use adpulse_domain::aggregate::{Counts, LivePoint};
use chrono::{DateTime, TimeDelta, Utc};

/// How far back the trail reaches (the longest span, and a point before
/// it as its base).
const KEEP: TimeDelta = TimeDelta::minutes(61);
/// One point kept per step (that of the live series).
pub const STEP: TimeDelta = TimeDelta::seconds(5);

fn step_of(at: DateTime<Utc>) -> i64 {
    at.timestamp().div_euclid(STEP.num_seconds())
}

/// One campaign's lifetime totals over the last hour.
#[derive(Clone, Debug, Default)]
pub struct Trail {
    /// (arrived, lifetime totals then), oldest first.
    points: VecDeque<(DateTime<Utc>, Counts)>,
}

impl Trail {
    /// A trail for a campaign first seen at `now` with `lifetime` totals,
    /// its last hour rebuilt from its live-series `points`: the totals a
    /// minute boundary ago are the lifetime less what occurred since.
    pub fn seeded(now: DateTime<Utc>, lifetime: Counts, points: &[LivePoint]) -> Self {
        let mut t = Self::default();
        for m in (1..=61).rev() {
            let at = now - TimeDelta::minutes(m);
            let since = points
                .iter()
                .filter(|p| p.start >= at)
                .fold(Counts::default(), |a, p| a.sum(p.counts));
            t.points.push_back((at, lifetime.less(since)));
        }
        t.push(now, lifetime);
        t
    }

    /// How many points it keeps.
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// Whether it keeps none.
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// Records the totals known at `at`.
    pub fn push(&mut self, at: DateTime<Utc>, lifetime: Counts) {
        if let Some(&(last, _)) = self.points.back() {
            if at < last {
                return;
            }
            // The newest of a step stands for it.
            if step_of(last) == step_of(at) {
                self.points.pop_back();
            }
        }
        self.points.push_back((at, lifetime));
        // Keep one point at or before the horizon: it is the base of the
        // longest span.
        while self.points.len() > 1 && self.points[1].0 <= at - KEEP {
            self.points.pop_front();
        }
    }

    /// The counts of the `minutes` before `now`, if the trail reaches
    /// back that far.
    pub fn last(&self, now: DateTime<Utc>, minutes: u16) -> Option<Counts> {
        let (_, newest) = *self.points.back()?;
        let from = now - TimeDelta::minutes(i64::from(minutes));
        // Points are in time order: the base is the last one at or
        // before `from`.
        let after = self.points.partition_point(|(at, _)| *at <= from);
        let (_, base) = *self.points.get(after.checked_sub(1)?)?;
        Some(newest.less(base))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(min: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).expect("t") + TimeDelta::minutes(min)
    }

    fn clicks(n: i64) -> Counts {
        Counts {
            clicks: n,
            ..Counts::default()
        }
    }

    #[test]
    fn spans_are_differences_of_lifetime_totals() {
        let mut t = Trail::default();
        t.push(at(0), clicks(10));
        t.push(at(5), clicks(15));
        t.push(at(10), clicks(40));
        // Five minutes before minute 10 the total was 15.
        assert_eq!(t.last(at(10), 5).map(|c| c.clicks), Some(25));
        assert_eq!(t.last(at(10), 10).map(|c| c.clicks), Some(30));
        // Nothing since minute 10: the last 5 minutes at minute 16 are
        // empty.
        assert_eq!(t.last(at(16), 5).map(|c| c.clicks), Some(0));
        // Not known that far back.
        assert_eq!(t.last(at(10), 15), None);
    }

    #[test]
    fn a_campaign_first_seen_knows_its_last_hour_from_its_live_series() {
        let now = at(100);
        let point = |min: i64, n: i64| LivePoint {
            campaign_id: adpulse_domain::CampaignId::from_uuid(uuid::Uuid::nil()),
            start: now - TimeDelta::minutes(min),
            counts: clicks(n),
        };
        // 100 clicks in all: 3 two minutes ago, 4 ten minutes ago.
        let t = Trail::seeded(now, clicks(100), &[point(2, 3), point(10, 4)]);
        assert_eq!(t.last(now, 1).map(|c| c.clicks), Some(0));
        assert_eq!(t.last(now, 5).map(|c| c.clicks), Some(3));
        assert_eq!(t.last(now, 15).map(|c| c.clicks), Some(7));
        assert_eq!(t.last(now, 60).map(|c| c.clicks), Some(7));
    }

    #[test]
    fn keeps_one_point_per_step_for_an_hour_of_results_every_100_ms() {
        let mut t = Trail::default();
        let start = at(0);
        for i in 0..=36_600_i64 {
            t.push(start + TimeDelta::milliseconds(100 * i), clicks(i));
        }
        assert!(t.points.len() <= 733, "{}", t.points.len());
        let now = start + TimeDelta::milliseconds(100 * 36_600);
        // A click every 100 ms: 600 a minute, give or take the step.
        let minute = t.last(now, 1).expect("known").clicks;
        assert!((600..=650).contains(&minute), "{minute}");
        let hour = t.last(now, 60).expect("known").clicks;
        assert!((36_000..=36_050).contains(&hour), "{hour}");
    }

    #[test]
    fn keeps_a_base_for_the_longest_span_and_no_more() {
        let mut t = Trail::default();
        for m in 0..=200 {
            t.push(at(m), clicks(m));
        }
        assert_eq!(t.last(at(200), 60).map(|c| c.clicks), Some(60));
        assert!(t.points.len() <= 63, "{}", t.points.len());
        // A result older than the newest is ignored.
        t.push(at(100), clicks(0));
        assert_eq!(t.last(at(200), 1).map(|c| c.clicks), Some(1));
    }
}
