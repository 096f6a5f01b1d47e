//! Capping windows: calendar hours, days and weeks in the campaign's time
//! zone (DST-correct: a day is 23, 24 or 25 hours long, a week starts on
//! Monday at local midnight), or rolling periods ending now.
//!
//! [`Window::at`] is total: the instant comes from requests (a release's
//! `reserved_at`), and chrono's `+`, `-` and local-time conversions panic
//! past the years it can represent, so instants outside [`Window::EARLIEST`]
//! ..= [`Window::LATEST`] (RFC 3339's years) are first clamped into them,
//! and every step after that is checked.

use chrono::{
    DateTime, Datelike as _, Duration, LocalResult, NaiveDate, NaiveDateTime, TimeZone as _,
    Timelike as _, Utc,
};
use chrono_tz::Tz;

use adpulse_domain::targeting::{CapPeriod, CapWindow};

/// The span impressions are counted over for one decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// Inclusive.
    pub start: DateTime<Utc>,
    /// Exclusive; counters of a calendar window expire here.
    pub end: DateTime<Utc>,
    /// Rolling (the last `period` before now) or calendar.
    pub rolling: bool,
}

impl Window {
    /// The earliest instant windows are laid out for: 0001-01-01T00:00:00Z.
    pub const EARLIEST: DateTime<Utc> = match NaiveDate::from_ymd_opt(1, 1, 1) {
        Some(d) => match d.and_hms_opt(0, 0, 0) {
            Some(t) => t.and_utc(),
            None => DateTime::<Utc>::MIN_UTC,
        },
        None => DateTime::<Utc>::MIN_UTC,
    };
    /// The latest instant windows are laid out for: 9999-12-31T23:59:59Z.
    pub const LATEST: DateTime<Utc> = match NaiveDate::from_ymd_opt(9999, 12, 31) {
        Some(d) => match d.and_hms_opt(23, 59, 59) {
            Some(t) => t.and_utc(),
            None => DateTime::<Utc>::MAX_UTC,
        },
        None => DateTime::<Utc>::MAX_UTC,
    };

    /// The window `now` falls in, for `period` laid out as `kind` in `tz`
    /// (`now` clamped to [`Window::EARLIEST`] ..= [`Window::LATEST`]).
    pub fn at(now: DateTime<Utc>, period: CapPeriod, kind: CapWindow, tz: Tz) -> Self {
        let now = now.clamp(Self::EARLIEST, Self::LATEST);
        if kind == CapWindow::Rolling {
            let length = match period {
                CapPeriod::Hour => Duration::hours(1),
                CapPeriod::Day => Duration::days(1),
                CapPeriod::Week => Duration::weeks(1),
            };
            return Self {
                start: now.checked_sub_signed(length).unwrap_or(now),
                end: now,
                rolling: true,
            };
        }
        let local = now.with_timezone(&tz).naive_local();
        let (start, end) = match period {
            CapPeriod::Hour => {
                let floor = local
                    .date()
                    .and_hms_opt(local.hour(), 0, 0)
                    .unwrap_or(local);
                let start = latest_at_or_before(tz, floor, now);
                // Usually an hour later; shorter when the clocks skip the
                // start of the local hour (Lord Howe moves by half an hour):
                // the window then runs from the jump to the next local hour.
                let next = floor
                    .checked_add_signed(Duration::hours(1))
                    .map_or(start, |n| first_at_or_after(tz, n));
                let end = start
                    .checked_add_signed(Duration::hours(1))
                    .map_or(next, |e| e.min(next));
                (start, end)
            }
            CapPeriod::Day => {
                let day = local.date();
                (midnight(tz, day), midnight(tz, next(day, 1)))
            }
            CapPeriod::Week => {
                let monday = next(
                    local.date(),
                    -i64::from(local.weekday().num_days_from_monday()),
                );
                (midnight(tz, monday), midnight(tz, next(monday, 7)))
            }
        };
        Self {
            start,
            end,
            rolling: false,
        }
    }

    /// A stable name for the window (its start in seconds), for counter keys.
    pub fn id(&self) -> i64 {
        self.start.timestamp()
    }
}

fn next(day: NaiveDate, days: i64) -> NaiveDate {
    day.checked_add_signed(Duration::days(days)).unwrap_or(day)
}

/// The first instant of local `day`: midnight, or, where the clocks skip
/// midnight, the first local time that exists after it.
fn midnight(tz: Tz, day: NaiveDate) -> DateTime<Utc> {
    first_at_or_after(tz, day.and_hms_opt(0, 0, 0).unwrap_or_default())
}

/// The first instant of local time `t`, or, where the clocks skip it, the
/// first local time that exists after it (gaps are whole quarter hours,
/// the longest a whole day: Samoa skipped 30 December 2011).
fn first_at_or_after(tz: Tz, t: NaiveDateTime) -> DateTime<Utc> {
    let mut at = t;
    for _ in 0..=26 * 4 {
        match tz.from_local_datetime(&at) {
            LocalResult::Single(d) => return d.with_timezone(&Utc),
            LocalResult::Ambiguous(first, _) => return first.with_timezone(&Utc),
            LocalResult::None => match at.checked_add_signed(Duration::minutes(15)) {
                Some(later) => at = later,
                None => break,
            },
        }
    }
    Utc.from_utc_datetime(&t)
}

/// The instant of local time `t` that is not after `now` (when the clocks
/// go back, a local hour happens twice); where the clocks skip `t`, the
/// first instant after the jump.
fn latest_at_or_before(tz: Tz, t: NaiveDateTime, now: DateTime<Utc>) -> DateTime<Utc> {
    match tz.from_local_datetime(&t) {
        LocalResult::Single(d) => d.with_timezone(&Utc),
        LocalResult::Ambiguous(first, second) => {
            let second = second.with_timezone(&Utc);
            if second <= now {
                second
            } else {
                first.with_timezone(&Utc)
            }
        }
        LocalResult::None => first_at_or_after(tz, t).min(now),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("time")
            .with_timezone(&Utc)
    }

    const BERLIN: Tz = chrono_tz::Europe::Berlin;

    #[test]
    fn days_start_at_local_midnight() {
        // 23:30 UTC on 1 Dec is 00:30 on 2 Dec in Berlin.
        let w = Window::at(
            utc("2026-12-01T23:30:00Z"),
            CapPeriod::Day,
            CapWindow::Calendar,
            BERLIN,
        );
        assert_eq!(w.start, utc("2026-12-01T23:00:00Z"));
        assert_eq!(w.end, utc("2026-12-02T23:00:00Z"));
        let before = Window::at(
            utc("2026-12-01T22:59:59Z"),
            CapPeriod::Day,
            CapWindow::Calendar,
            BERLIN,
        );
        assert_eq!(before.end, w.start, "adjacent days meet at local midnight");
    }

    #[test]
    fn dst_days_are_23_and_25_hours() {
        let spring = Window::at(
            utc("2026-03-29T12:00:00Z"),
            CapPeriod::Day,
            CapWindow::Calendar,
            BERLIN,
        );
        assert_eq!(
            (spring.start, spring.end - spring.start),
            (utc("2026-03-28T23:00:00Z"), Duration::hours(23))
        );
        let autumn = Window::at(
            utc("2026-10-25T12:00:00Z"),
            CapPeriod::Day,
            CapWindow::Calendar,
            BERLIN,
        );
        assert_eq!(
            (autumn.start, autumn.end - autumn.start),
            (utc("2026-10-24T22:00:00Z"), Duration::hours(25))
        );
    }

    #[test]
    fn the_repeated_hour_is_two_windows() {
        // 25 Oct 2026, Berlin: 02:00-03:00 happens at 00:00Z (CEST) and 01:00Z (CET).
        let first = Window::at(
            utc("2026-10-25T00:30:00Z"),
            CapPeriod::Hour,
            CapWindow::Calendar,
            BERLIN,
        );
        let second = Window::at(
            utc("2026-10-25T01:30:00Z"),
            CapPeriod::Hour,
            CapWindow::Calendar,
            BERLIN,
        );
        assert_eq!(first.start, utc("2026-10-25T00:00:00Z"));
        assert_eq!(second.start, utc("2026-10-25T01:00:00Z"));
        assert_eq!(first.end, second.start);
        // The skipped hour in spring: 01:59 CET then 03:00 CEST, adjacent windows.
        let a = Window::at(
            utc("2026-03-29T00:59:00Z"),
            CapPeriod::Hour,
            CapWindow::Calendar,
            BERLIN,
        );
        let b = Window::at(
            utc("2026-03-29T01:00:00Z"),
            CapPeriod::Hour,
            CapWindow::Calendar,
            BERLIN,
        );
        assert_eq!(a.end, b.start);
    }

    #[test]
    fn half_hour_zones_floor_to_their_own_hours() {
        let w = Window::at(
            utc("2026-12-01T10:10:00Z"),
            CapPeriod::Hour,
            CapWindow::Calendar,
            chrono_tz::Asia::Kolkata,
        );
        // 15:40 IST: the hour began at 15:00 IST = 09:30Z.
        assert_eq!(w.start, utc("2026-12-01T09:30:00Z"));
    }

    #[test]
    fn weeks_start_on_monday_local_midnight() {
        // Sunday 29 Nov 2026 23:30 in New York is Monday 04:30Z.
        let ny = chrono_tz::America::New_York;
        let w = Window::at(
            utc("2026-11-30T04:30:00Z"),
            CapPeriod::Week,
            CapWindow::Calendar,
            ny,
        );
        assert_eq!(
            w.start,
            utc("2026-11-23T05:00:00Z"),
            "Monday 23 Nov, 00:00 EST"
        );
        assert_eq!(w.end, utc("2026-11-30T05:00:00Z"));
        // The week containing the November DST change (Sunday 1 Nov 2026)
        // is 169 hours.
        let dst = Window::at(
            utc("2026-10-28T12:00:00Z"),
            CapPeriod::Week,
            CapWindow::Calendar,
            ny,
        );
        assert_eq!(dst.end - dst.start, Duration::hours(169));
    }

    #[test]
    fn rolling_windows_end_now() {
        let now = utc("2026-12-01T10:00:00Z");
        let w = Window::at(now, CapPeriod::Day, CapWindow::Rolling, BERLIN);
        assert_eq!(
            (w.start, w.end, w.rolling),
            (utc("2026-11-30T10:00:00Z"), now, true)
        );
    }

    #[test]
    fn an_hour_whose_start_is_skipped_runs_from_the_jump_to_the_next_hour() {
        // Lord Howe springs forward half an hour: 02:00 -> 02:30 local on
        // 4 Oct 2026 (15:30Z the day before). At 02:45 the hour began at
        // the jump and ends at 03:00 local (+11:00, 16:00Z).
        let lord_howe = chrono_tz::Australia::Lord_Howe;
        let now = utc("2026-10-03T15:45:00Z");
        let w = Window::at(now, CapPeriod::Hour, CapWindow::Calendar, lord_howe);
        assert_eq!(
            (w.start, w.end),
            (utc("2026-10-03T15:30:00Z"), utc("2026-10-03T16:00:00Z"))
        );
    }

    #[test]
    fn samoa_s_skipped_day_leaves_no_instant_outside_a_window() {
        // Apia went from 29 Dec 2011 23:59:59 (-10:00) to 31 Dec 00:00 (+14:00).
        let apia = chrono_tz::Pacific::Apia;
        let now = utc("2011-12-30T09:30:00Z");
        let w = Window::at(now, CapPeriod::Day, CapWindow::Calendar, apia);
        assert!(w.start <= now && now < w.end, "{w:?}");
        assert_eq!(w.end, utc("2011-12-30T10:00:00Z"));
    }

    #[test]
    fn instants_at_the_ends_of_time_do_not_panic() {
        for now in [DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC] {
            for period in [CapPeriod::Hour, CapPeriod::Day, CapPeriod::Week] {
                for kind in [CapWindow::Calendar, CapWindow::Rolling] {
                    for tz in [chrono_tz::Etc::GMTPlus12, chrono_tz::Pacific::Kiritimati] {
                        let w = Window::at(now, period, kind, tz);
                        assert!(w.start <= w.end, "{w:?}");
                    }
                }
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn every_instant_falls_in_its_window_in_every_zone(
            secs in proptest::prop_oneof![
                // Anywhere chrono can go (clamped to years 1 to 9999)...
                DateTime::<Utc>::MIN_UTC.timestamp()..=DateTime::<Utc>::MAX_UTC.timestamp(),
                // ...and mostly where the zones' rules change.
                -2_208_988_800i64..=4_102_444_800,
            ],
            zone in proptest::sample::select(chrono_tz::TZ_VARIANTS.to_vec()),
            period in proptest::sample::select(vec![CapPeriod::Hour, CapPeriod::Day, CapPeriod::Week]),
            rolling in proptest::bool::ANY,
        ) {
            let now = DateTime::from_timestamp(secs, 0).unwrap_or_default();
            let kind = if rolling { CapWindow::Rolling } else { CapWindow::Calendar };
            let w = Window::at(now, period, kind, zone);
            let now = now.clamp(Window::EARLIEST, Window::LATEST);
            let longest = match period {
                CapPeriod::Hour => Duration::hours(1),
                CapPeriod::Day => Duration::hours(26),
                CapPeriod::Week => Duration::hours(7 * 24 + 2),
            };
            if rolling {
                proptest::prop_assert_eq!(w.end, now);
                proptest::prop_assert!(w.start <= now);
            } else {
                proptest::prop_assert!(w.start <= now && now < w.end, "{:?} in {}: {:?}", now, zone, w);
            }
            proptest::prop_assert!(w.end - w.start <= longest, "{:?} in {}: {:?}", now, zone, w);
        }
    }

    #[test]
    fn midnight_that_does_not_exist_starts_the_day_at_the_first_real_minute() {
        // Havana springs forward at midnight (8 Mar 2026: 00:00 -> 01:00).
        let havana = chrono_tz::America::Havana;
        let w = Window::at(
            utc("2026-03-08T12:00:00Z"),
            CapPeriod::Day,
            CapWindow::Calendar,
            havana,
        );
        let local_start = w.start.with_timezone(&havana);
        assert_eq!((local_start.hour(), local_start.minute()), (1, 0));
        assert_eq!(w.end - w.start, Duration::hours(23));
    }
}
