//! Reports whose sums leave the `i64` range, on Postgres (a private
//! schema on the local server) and on SQLite (a fresh data folder), with
//! one set of assertions: the sum of rows that each fit is shown at the
//! bound it passed instead of failing the report (Postgres: `bigint out of
//! range`; SQLite: `integer overflow`, or a wrapped or panicking sum in
//! Rust), sums just inside the range stay exact, and the ranking orders
//! campaigns by their exact sums.
//!
//! The rows are written straight into `campaign_aggregates`: each holds a
//! value that fits, as the stream worker's commits keep them, and only
//! their sums across buckets do not.

mod common;

use adpulse_domain::aggregate::{Counts, Grain};
use adpulse_domain::report::{Breakdown, Granularity, RankBy, saturated};
use adpulse_domain::store::{CampaignReport, TopCampaigns};
use adpulse_domain::{CampaignId, TenantId};
use chrono::{DateTime, Duration, Utc};

use common::{Env, Store, conformance};

conformance!("sums", None; sums_past_i64_saturate_and_sums_inside_stay_exact);

fn at(s: &str) -> DateTime<Utc> {
    s.parse().expect("time")
}

const HALF: i64 = i64::MAX / 2 + 1;

async fn sums_past_i64_saturate_and_sums_inside_stay_exact(b: &Env) {
    let tenant = b.store.create_tenant("sums").await.expect("tenant");
    let mut ids = Vec::new();
    for name in ["over", "just-under", "under"] {
        ids.push(
            b.store
                .create_campaign(tenant, name, None)
                .await
                .expect("campaign"),
        );
    }
    let [over, just_under, under] = ids[..] else {
        panic!("three campaigns");
    };
    let t0 = at("2026-11-29T10:00:00Z");
    let day = at("2026-11-29T00:00:00Z");
    // Each campaign's rows twice: minute rows (what hourly reports and the
    // ranking over minutes read) and the same sums as local days of UTC
    // (what reports by day and in total read), one per channel.
    let rows: [(CampaignId, &[[i64; 3]]); 3] = [
        // over: three rows of 2^62 each (3·2^62 > i64::MAX).
        (over, &[[HALF, HALF, HALF]; 3]),
        // just-under: 2^62 + (2^62 - 2) = i64::MAX - 1, exact.
        (just_under, &[[1, HALF, 0], [1, HALF - 2, 0]]),
        // under: one row of i64::MAX - 2.
        (under, &[[1, i64::MAX - 2, 0]]),
    ];
    for (campaign, values) in rows {
        for (i, (v, channel)) in values
            .iter()
            .zip(["display", "social", "search"])
            .enumerate()
        {
            let minute = t0 + Duration::minutes(i64::try_from(i).expect("i"));
            b.insert_aggregate_row((tenant, campaign), ("minute", "display"), minute, *v)
                .await;
            b.insert_aggregate_row((tenant, campaign), ("day@UTC", channel), day, *v)
                .await;
        }
    }
    reports_saturate_past_the_bound(&b.api, tenant, over, just_under).await;
    rankings_order_by_exact_sums(&b.api, tenant, [over, just_under, under]).await;
}

fn report(campaign: CampaignId, granularity: Granularity) -> CampaignReport {
    CampaignReport {
        campaign,
        from: at("2026-11-29T00:00:00Z"),
        to: at("2026-11-30T00:00:00Z"),
        grain: Grain::Minute,
        tz: "UTC".into(),
        granularity,
        breakdown: Breakdown::default(),
    }
}

/// `over`'s sums show at the bound, in every granularity and streamed;
/// `just_under`'s stay exact.
async fn reports_saturate_past_the_bound(
    api: &Store,
    tenant: TenantId,
    over: CampaignId,
    just_under: CampaignId,
) {
    for granularity in [Granularity::Total, Granularity::Day, Granularity::Hour] {
        let rows = api
            .campaign_report(tenant, &report(over, granularity))
            .await
            .unwrap_or_else(|e| panic!("{granularity:?}: {e}"));
        assert_eq!(rows.len(), 1, "{granularity:?}");
        assert_eq!(
            rows[0].counts,
            Counts {
                impressions: i64::MAX,
                clicks: 0,
                conversions: 0,
                cost_micros: i64::MAX,
                revenue_micros: i64::MAX,
            },
            "{granularity:?}"
        );
        assert!(saturated(&rows[0].counts));
    }
    let rows = api
        .campaign_report(tenant, &report(just_under, Granularity::Total))
        .await
        .expect("report");
    assert_eq!(rows[0].counts.cost_micros, i64::MAX - 1);
    assert!(!saturated(&rows[0].counts), "exact below the bound");
    let mut streamed = Vec::new();
    api.campaign_report_each(tenant, &report(over, Granularity::Day), &mut |r| {
        streamed.push(r);
        Box::pin(async { std::ops::ControlFlow::Continue(()) })
    })
    .await
    .expect("streamed report");
    assert_eq!(streamed.len(), 1);
    assert_eq!(streamed[0].counts.cost_micros, i64::MAX);
}

/// The ranking orders by the exact sums both ways; the top one saturated.
async fn rankings_order_by_exact_sums(api: &Store, tenant: TenantId, ids: [CampaignId; 3]) {
    let [over, just_under, under] = ids;
    for (desc, order) in [
        (true, [over, just_under, under]),
        (false, [under, just_under, over]),
    ] {
        let q = TopCampaigns {
            from: at("2026-11-29T00:00:00Z"),
            to: at("2026-11-30T00:00:00Z"),
            grain: Grain::Minute,
            status: None,
            brand_id: None,
            by: RankBy::Spend,
            desc,
            limit: 10,
        };
        let ranked = api.top_campaigns(tenant, &q).await.expect("ranking");
        let got: Vec<CampaignId> = ranked.iter().map(|r| r.id).collect();
        assert_eq!(got, order, "desc {desc}: exact sums order the ranking");
        let spend: Vec<i64> = ranked.iter().map(|r| r.counts.cost_micros).collect();
        let mut expected = vec![i64::MAX, i64::MAX - 1, i64::MAX - 2];
        if !desc {
            expected.reverse();
        }
        assert_eq!(spend, expected);
        let top = &ranked[if desc { 0 } else { 2 }];
        assert_eq!(top.counts.impressions, i64::MAX);
        assert!(saturated(&top.counts));
    }
}
