//! The reference the reports are compared with: the events as sent, the
//! rows a report over a range should have, computed here, and the check
//! that compares a report's rows with them.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration as Span, NaiveDate, TimeZone as _, Utc};
use chrono_tz::Tz;
use serde_json::Value;

/// One event as sent, for the reference.
#[derive(Clone)]
pub struct Sent {
    pub campaign: usize,
    pub at: DateTime<Utc>,
    pub kind: &'static str,
    pub channel: &'static str,
    pub user: u32,
    pub cost: i64,
    pub revenue: i64,
}

/// What a report row holds, computed from the events sent.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Expected {
    pub impressions: i64,
    pub clicks: i64,
    pub conversions: i64,
    pub cost: i64,
    pub revenue: i64,
    pub users: BTreeSet<u32>,
}

/// The rows a report over `[from, to)` should have, keyed by (period,
/// channel, event type) as the API prints them.
pub fn reference(
    events: &[Sent],
    campaign: usize,
    tz: Tz,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    granularity: &str,
    breakdown: (bool, bool),
) -> BTreeMap<(String, String, String), Expected> {
    let mut out: BTreeMap<(String, String, String), Expected> = BTreeMap::new();
    for e in events
        .iter()
        .filter(|e| e.campaign == campaign && e.at >= from && e.at < to)
    {
        let local = e.at.with_timezone(&tz);
        let period = match granularity {
            "day" => local.date_naive().to_string(),
            "hour" => {
                let start = e.at
                    - Span::minutes(i64::from(chrono::Timelike::minute(&local)))
                    - Span::seconds(i64::from(chrono::Timelike::second(&local)))
                    - Span::nanoseconds(i64::from(chrono::Timelike::nanosecond(&local)));
                start
                    .with_timezone(&tz)
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            }
            _ => String::new(),
        };
        let key = (
            period,
            if breakdown.0 {
                e.channel.to_owned()
            } else {
                String::new()
            },
            if breakdown.1 {
                e.kind.to_owned()
            } else {
                String::new()
            },
        );
        let x = out.entry(key).or_default();
        match e.kind {
            "impression" => x.impressions += 1,
            "click" => x.clicks += 1,
            _ => x.conversions += 1,
        }
        x.cost += e.cost;
        x.revenue += e.revenue;
        x.users.insert(e.user);
    }
    out
}

/// The UTC instant `day` starts at in `tz` (the first local hour that
/// exists, on a day that starts with a gap).
pub fn local_midnight(tz: Tz, day: NaiveDate) -> DateTime<Utc> {
    (0..=3)
        .find_map(|h| {
            tz.from_local_datetime(&day.and_hms_opt(h, 0, 0).expect("time"))
                .earliest()
        })
        .expect("a local time exists that day")
        .with_timezone(&Utc)
}

/// Compares a report's rows with the reference: the same rows, equal
/// counts and sums, unique users within 2% (HyperLogLog; exact while
/// small).
pub fn check(report: &Value, want: &BTreeMap<(String, String, String), Expected>, what: &str) {
    let rows = report["rows"].as_array().expect("rows");
    let got: BTreeMap<(String, String, String), &Value> = rows
        .iter()
        .map(|r| {
            let s = |k: &str| r[k].as_str().unwrap_or_default().to_owned();
            ((s("period"), s("channel"), s("event_type")), r)
        })
        .collect();
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>(),
        "{what}: the same rows"
    );
    for (key, w) in want {
        let r = got[key];
        let n = |k: &str| r[k].as_i64().expect("number");
        assert_eq!(
            (
                n("impressions"),
                n("clicks"),
                n("conversions"),
                n("spend_micros"),
                n("revenue_micros")
            ),
            (w.impressions, w.clicks, w.conversions, w.cost, w.revenue),
            "{what}: {key:?}"
        );
        let exact = w.users.len() as f64;
        let est = n("unique_users") as f64;
        assert!(
            (est - exact).abs() <= (exact * 0.02).max(1.0),
            "{what}: {key:?} unique users {est} vs exact {exact}"
        );
        let ctr = r["ctr"].as_f64();
        if w.impressions == 0 {
            assert_eq!(ctr, None, "{what}: CTR without impressions is null");
        } else {
            let want_ctr = w.clicks as f64 / w.impressions as f64;
            assert!(
                ctr.is_some_and(|c| (c - want_ctr).abs() < 1e-9),
                "{what}: CTR"
            );
        }
    }
}
