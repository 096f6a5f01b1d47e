//! What the API says about a campaign (live totals, day reports, rankings,
//! raw events), parsed into plain values the tests compare.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use super::{Platform, raw_key};

/// Impressions, clicks, conversions, spend and revenue (micros), as the
/// API prints them.
pub type Counts = [i64; 5];

/// [`Counts`] and unique users.
pub type Row = [i64; 6];

/// A day report by (period, channel), and its totals.
pub type DayReport = (BTreeMap<(String, String), Row>, Row);

fn counts_of(m: &serde_json::Value) -> Counts {
    let n = |k: &str| {
        m[k].as_i64()
            .unwrap_or_else(|| panic!("{k} is a number in {m}"))
    };
    [
        n("impressions"),
        n("clicks"),
        n("conversions"),
        n("spend_micros"),
        n("revenue_micros"),
    ]
}

fn row_of(m: &serde_json::Value) -> Row {
    let [a, b, c, d, e] = counts_of(m);
    [
        a,
        b,
        c,
        d,
        e,
        m["unique_users"].as_i64().expect("unique_users"),
    ]
}

impl Platform {
    /// A campaign's live totals.
    pub async fn realtime(&self, token: &str, campaign: &str) -> Counts {
        let r = self
            .get(token, &format!("/api/v1/campaigns/{campaign}/realtime"))
            .await;
        assert_eq!(
            r.status,
            200,
            "realtime: {}",
            String::from_utf8_lossy(&r.body)
        );
        counts_of(&r.json()["totals"])
    }

    /// A campaign's day report by channel over `[start, end]`.
    pub async fn day_report(
        &self,
        token: &str,
        campaign: &str,
        start: NaiveDate,
        end: NaiveDate,
    ) -> DayReport {
        let r = self
            .get(
                token,
                &format!(
                    "/api/v1/campaigns/{campaign}/reports?start_date={start}&end_date={end}&granularity=day&breakdown=channel"
                ),
            )
            .await;
        assert_eq!(
            r.status,
            200,
            "report: {}",
            String::from_utf8_lossy(&r.body)
        );
        let v = r.json();
        let rows = v["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .map(|row| {
                let key = (
                    row["period"].as_str().expect("period").to_owned(),
                    row["channel"].as_str().expect("channel").to_owned(),
                );
                (key, row_of(row))
            })
            .collect();
        (rows, row_of(&v["totals"]))
    }

    /// The tenant's ranking for `query` (after `?`): campaign ids and
    /// their rows, best first.
    pub async fn top(&self, token: &str, query: &str) -> Vec<(String, Row)> {
        let r = self
            .get(token, &format!("/api/v1/reports/campaigns?{query}"))
            .await;
        assert_eq!(r.status, 200, "top: {}", String::from_utf8_lossy(&r.body));
        r.json()["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .map(|row| {
                (
                    row["campaign_id"].as_str().expect("id").to_owned(),
                    row_of(row),
                )
            })
            .collect()
    }

    /// Every raw event of a campaign on a UTC day, paging `limit` at a
    /// time: what the events are (as [`raw_key`] of each), in the order
    /// listed; fails if the listing is not newest first.
    pub async fn raw_events(
        &self,
        token: &str,
        campaign: &str,
        date: NaiveDate,
        limit: usize,
    ) -> Vec<String> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        let mut last: Option<String> = None;
        for _page in 0..10_000 {
            let mut path = format!("/api/v1/campaigns/{campaign}/events?date={date}&limit={limit}");
            if let Some(c) = &cursor {
                path.push_str(&format!("&cursor={c}"));
            }
            let r = self.get(token, &path).await;
            assert_eq!(
                r.status,
                200,
                "events: {}",
                String::from_utf8_lossy(&r.body)
            );
            let v = r.json();
            let events = v["events"].as_array().expect("events");
            assert!(events.len() <= limit, "a page holds at most {limit}");
            for e in events {
                let at = e["occurred_at"].as_str().expect("occurred_at").to_owned();
                if let Some(prev) = &last {
                    assert!(at <= *prev, "newest first: {at} after {prev}");
                }
                last = Some(at);
                out.push(raw_key(e));
            }
            match v["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => return out,
            }
        }
        panic!("the listing of {campaign} on {date} does not end");
    }
}
