//! Instants as senders write them.
//!
//! RFC 3339 allows a leap second (`23:59:60.5Z`), and chrono keeps one as
//! second 59 with a nanosecond field past one billion. The stores do not
//! agree on what that is: a calendar day taken from the fields says the
//! 2nd, arithmetic on seconds since the epoch says 00:00:00.5 of the 3rd,
//! so a report and the raw-event listing once filed the same event under
//! two days. The one rule, applied wherever an instant enters from
//! outside: a leap second is read as the last millisecond of the second
//! before it (`23:59:59.999`). The event keeps its day and its order among
//! the events around it, and every store (microseconds in Postgres and
//! SQLite, milliseconds in CQL and the canonical JSON) holds the same
//! instant.

use chrono::{DateTime, Timelike as _, Utc};

/// An RFC 3339 timestamp with a zone, as UTC, its leap second (if any)
/// folded into the millisecond before it; `None` if `s` is not one.
pub fn parse_instant(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| fold_leap_second(t.with_timezone(&Utc)))
}

/// `t`, or, for a leap second, the last millisecond before it.
pub fn fold_leap_second(t: DateTime<Utc>) -> DateTime<Utc> {
    if t.nanosecond() >= 1_000_000_000 {
        t.with_nanosecond(999_000_000).unwrap_or(t)
    } else {
        t
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Datelike as _, NaiveDate};

    use super::*;

    #[test]
    fn a_leap_second_stays_on_its_day_in_every_reading() {
        let t = parse_instant("2026-12-02T23:59:60.500Z").expect("parses");
        let day = NaiveDate::from_ymd_opt(2026, 12, 2).expect("day");
        assert_eq!(t.date_naive(), day, "calendar fields");
        assert_eq!(
            DateTime::from_timestamp_micros(t.timestamp_micros())
                .expect("in range")
                .date_naive(),
            day,
            "seconds since the epoch"
        );
        assert_eq!(
            DateTime::from_timestamp_millis(t.timestamp_millis())
                .expect("in range")
                .day(),
            2
        );
        assert_eq!(
            t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "2026-12-02T23:59:59.999Z"
        );
        // In another zone, too: 00:59:60 at +01:00 is the same leap second.
        assert_eq!(parse_instant("2026-12-03T00:59:60.500+01:00"), Some(t));
    }

    #[test]
    fn ordinary_instants_are_untouched() {
        let s = "2026-12-02T23:59:59.999999999Z";
        assert_eq!(
            parse_instant(s),
            DateTime::parse_from_rfc3339(s)
                .ok()
                .map(|t| t.with_timezone(&Utc))
        );
        assert_eq!(parse_instant("yesterday"), None);
    }
}
