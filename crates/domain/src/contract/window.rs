//! A window result: a campaign's exact totals as of one flush of the
//! worker, lifetime and today (UTC), published on the campaign-metrics
//! stream (Kafka `adpulse.campaign-metrics.v1`) keyed by campaign.
//!
//! Consumers outside adpulse read that topic, so the JSON is a public
//! contract: field names and value formats never change (a test pins
//! them). A consumer keeps the newest `version` per campaign: results are
//! published best effort, and the next flush of the campaign publishes
//! again.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::sorted_json;
use crate::aggregate::{CampaignTotals, Counts};
use crate::ids::CampaignId;
use crate::ports::{LogRecord, Stream};

/// One campaign's totals as of one flush.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowResult {
    /// The campaign.
    pub campaign_id: CampaignId,
    /// Grows with every flush of the campaign's partition, across owners.
    pub version: i64,
    /// When the worker published it.
    pub at: DateTime<Utc>,
    /// The UTC day `today` counts.
    pub day: NaiveDate,
    /// Since the campaign began.
    pub lifetime: Counts,
    /// On `day`.
    pub today: Counts,
}

impl WindowResult {
    /// The result of `totals` published at `at` with `version`.
    pub fn new(totals: &CampaignTotals, version: i64, at: DateTime<Utc>) -> Self {
        Self {
            campaign_id: totals.campaign_id,
            version,
            at,
            day: at.date_naive(),
            lifetime: Counts {
                impressions: totals.impressions,
                clicks: totals.clicks,
                conversions: totals.conversions,
                cost_micros: totals.cost_micros,
                revenue_micros: totals.revenue_micros,
            },
            today: totals.today,
        }
    }

    /// The result as JSON, keys sorted (see [`super`]).
    pub fn to_json(&self) -> Vec<u8> {
        sorted_json(self)
    }

    /// The result as a record of the campaign-metrics stream, keyed by its
    /// campaign.
    pub fn to_record(&self) -> LogRecord {
        LogRecord {
            stream: Stream::CampaignMetrics,
            key: self.campaign_id.to_string().into_bytes(),
            payload: self.to_json(),
            headers: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn totals() -> CampaignTotals {
        CampaignTotals {
            campaign_id: CampaignId::from_uuid(uuid::Uuid::nil()),
            impressions: 10,
            clicks: 2,
            conversions: 1,
            cost_micros: 5_000,
            revenue_micros: 9_000,
            today: Counts {
                impressions: 4,
                clicks: 1,
                conversions: 0,
                cost_micros: 2_000,
                revenue_micros: 0,
            },
        }
    }

    /// The bytes consumers of the topic have always read.
    #[test]
    fn the_json_on_the_wire_is_pinned() {
        let at: DateTime<Utc> = "2025-06-01T23:59:59.250Z".parse().expect("time");
        let t = totals();
        let r = WindowResult::new(&t, 1 << 40 | 17, at).to_record();
        // What the worker wrote before this type existed, verbatim.
        let before = serde_json::json!({
            "campaign_id": t.campaign_id,
            "version": 1_i64 << 40 | 17,
            "at": at,
            "day": at.date_naive(),
            "lifetime": {
                "impressions": t.impressions, "clicks": t.clicks, "conversions": t.conversions,
                "cost_micros": t.cost_micros, "revenue_micros": t.revenue_micros,
            },
            "today": t.today,
        });
        assert_eq!(r.payload, serde_json::to_vec(&before).expect("json"));
        assert_eq!(r.stream, Stream::CampaignMetrics);
        assert_eq!(r.key, b"00000000-0000-0000-0000-000000000000");
        assert_eq!(
            String::from_utf8(r.payload).expect("utf-8"),
            concat!(
                r#"{"at":"2025-06-01T23:59:59.250Z","campaign_id":"00000000-0000-0000-0000-000000000000","#,
                r#""day":"2025-06-01","#,
                r#""lifetime":{"clicks":2,"conversions":1,"cost_micros":5000,"impressions":10,"revenue_micros":9000},"#,
                r#""today":{"clicks":1,"conversions":0,"cost_micros":2000,"impressions":4,"revenue_micros":0},"#,
                r#""version":1099511627793}"#,
            )
        );
    }

    fn counts() -> impl Strategy<Value = Counts> {
        any::<[i64; 5]>().prop_map(|[impressions, clicks, conversions, cost, revenue]| Counts {
            impressions,
            clicks,
            conversions,
            cost_micros: cost,
            revenue_micros: revenue,
        })
    }

    proptest! {
        #[test]
        fn a_result_reads_back_as_written(
            version in any::<i64>(),
            ms in 0i64..4_102_444_800_000,
            lifetime in counts(),
            today in counts(),
        ) {
            let at = DateTime::from_timestamp_millis(ms).expect("time");
            let r = WindowResult {
                campaign_id: CampaignId::from_uuid(uuid::Uuid::new_v4()),
                version,
                at,
                day: at.date_naive(),
                lifetime,
                today,
            };
            let back: WindowResult = serde_json::from_slice(&r.to_json()).expect("json");
            prop_assert_eq!(back, r);
        }
    }
}
