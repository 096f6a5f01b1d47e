//! What the tests sent, and what the API must therefore say: the reference
//! the platform's answers are compared with, and the events generated.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;

use super::{Counts, DayReport, Row};

/// What identifies an event and what was said about it, in one line:
/// `event_id type channel ad_id occurred_at device_id cost revenue`. The
/// same for an event as sent and as the raw listing shows it.
pub fn raw_key(e: &serde_json::Value) -> String {
    format!(
        "{} {} {} {} {} {} {} {}",
        e["event_id"].as_str().unwrap_or("?"),
        e["type"].as_str().unwrap_or("?"),
        e["channel"].as_str().unwrap_or("?"),
        e["ad_id"].as_str().unwrap_or("?"),
        e["occurred_at"].as_str().unwrap_or("?"),
        e["user"]["device_id"].as_str().unwrap_or("-"),
        e["cost_micros"].as_i64().unwrap_or(0),
        e["revenue_micros"].as_i64().unwrap_or(0),
    )
}

/// Reads with `read` until it gives `want` or `within` passes, then asserts
/// equality (so a failure shows the last reading next to `want`). `check`
/// sees every reading (to assert what must hold all along, such as never
/// counting more than was sent).
pub async fn until<T, F, Fut>(
    what: &str,
    within: Duration,
    want: &T,
    mut read: F,
    check: impl Fn(&T),
) -> T
where
    T: PartialEq + std::fmt::Debug,
    F: FnMut() -> Fut,
    Fut: Future<Output = T>,
{
    let deadline = Instant::now() + within;
    loop {
        let have = read().await;
        check(&have);
        if have == *want || Instant::now() > deadline {
            assert_eq!(have, *want, "{what} (after waiting up to {within:?})");
            return have;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The distinct events sent (by id), and what the API must say about them.
#[derive(Default, Clone)]
pub struct Reference {
    /// Every distinct event, by event id.
    pub events: BTreeMap<String, serde_json::Value>,
}

impl Reference {
    /// Records events as sent (a resend changes nothing).
    pub fn add<'a>(&mut self, events: impl IntoIterator<Item = &'a serde_json::Value>) {
        for e in events {
            let id = e["event_id"].as_str().expect("event_id").to_owned();
            if let Some(old) = self.events.insert(id, e.clone()) {
                assert_eq!(old, *e, "an event id is resent with the same event");
            }
        }
    }

    fn of<'a>(&'a self, campaign: &'a str) -> impl Iterator<Item = &'a serde_json::Value> + 'a {
        self.events
            .values()
            .filter(move |e| e["campaign_id"] == campaign)
    }

    /// A campaign's lifetime totals.
    pub fn realtime(&self, campaign: &str) -> Counts {
        let mut c = [0; 5];
        for e in self.of(campaign) {
            add(&mut c, e);
        }
        c
    }

    /// A campaign's day report by channel (UTC days).
    pub fn day_report(&self, campaign: &str) -> DayReport {
        let mut rows: BTreeMap<(String, String), (Counts, BTreeSet<String>)> = BTreeMap::new();
        let mut all: (Counts, BTreeSet<String>) = Default::default();
        for e in self.of(campaign) {
            let day = e["occurred_at"].as_str().expect("occurred_at")[..10].to_owned();
            let channel = e["channel"].as_str().expect("channel").to_owned();
            for (counts, users) in [rows.entry((day, channel)).or_default(), &mut all] {
                add(counts, e);
                if let Some(u) = e["user"]["device_id"].as_str() {
                    users.insert(u.to_owned());
                }
            }
        }
        let row = |(c, u): &(Counts, BTreeSet<String>)| -> Row {
            [c[0], c[1], c[2], c[3], c[4], u.len() as i64]
        };
        (
            rows.iter().map(|(k, v)| (k.clone(), row(v))).collect(),
            row(&all),
        )
    }

    /// A campaign's raw events on a UTC day, as [`raw_key`]s, sorted.
    pub fn raw_events(&self, campaign: &str, date: NaiveDate) -> Vec<String> {
        let day = date.to_string();
        let mut out: Vec<String> = self
            .of(campaign)
            .filter(|e| {
                e["occurred_at"]
                    .as_str()
                    .is_some_and(|t| t.starts_with(&day))
            })
            .map(raw_key)
            .collect();
        out.sort();
        out
    }
}

fn add(c: &mut Counts, e: &serde_json::Value) {
    match e["type"].as_str().expect("type") {
        "impression" => c[0] += 1,
        "click" => c[1] += 1,
        "conversion" => c[2] += 1,
        other => panic!("not a type: {other}"),
    }
    c[3] += e["cost_micros"].as_i64().unwrap_or(0);
    c[4] += e["revenue_micros"].as_i64().unwrap_or(0);
}

/// A valid event of `campaign` at a random time on `day` (UTC), random
/// otherwise (type, channel, creative, one of `users` device ids, cost or
/// revenue).
pub fn event(
    rng: &mut fastrand::Rng,
    campaign: &str,
    day: NaiveDate,
    users: u32,
) -> serde_json::Value {
    let at = at_on(rng, day);
    let kind = [
        "impression",
        "impression",
        "impression",
        "click",
        "conversion",
    ][rng.usize(..5)];
    let channel = ["display", "social", "search", "video"][rng.usize(..4)];
    let country = ["GB", "US", "DE"][rng.usize(..3)];
    json!({
        "event_id": uuid::Uuid::now_v7().to_string(),
        "type": kind,
        "campaign_id": campaign,
        "ad_id": format!("creative-{}", rng.u32(1..4)),
        "channel": channel,
        "occurred_at": at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "user": { "device_id": format!("d-{}", rng.u32(0..users)) },
        "cost_micros": if kind == "conversion" { 0 } else { rng.i64(100..5_000) },
        "revenue_micros": if kind == "conversion" { rng.i64(1_000_000..9_000_000) } else { 0 },
        "attributes": { "country": country },
    })
}

/// A random time on `day` (UTC), clear of its edges.
fn at_on(rng: &mut fastrand::Rng, day: NaiveDate) -> DateTime<Utc> {
    let midnight = day.and_hms_opt(0, 0, 0).expect("midnight").and_utc();
    midnight + chrono::Duration::milliseconds(rng.i64(3_600_000..23 * 3_600_000))
}
