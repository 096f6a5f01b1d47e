//! Unique users: a union of sketches over each row's span, never a sum
//! of the days', exact for small sets and within 2% past them.

use adpulse_domain::aggregate::Grain;
use adpulse_domain::report::{Breakdown, Granularity, RankBy, ReportRow};
use adpulse_domain::{CampaignId, Event};

use crate::common::{Env, conformance};
use crate::support::{event, load, report_query, top_query};

conformance!("agg", None; unique_users_are_a_union_over_each_row_s_span);

async fn unique_users_are_a_union_over_each_row_s_span(env: &Env) {
    let (store, api) = (&env.store, &env.api);
    let tenant = store.create_tenant("reach").await.expect("tenant");
    let c = store
        .create_campaign(tenant, "reach", None)
        .await
        .expect("campaign");
    let big = store
        .create_campaign(tenant, "big", None)
        .await
        .expect("campaign");
    for chunk in returning_people_and_a_crowd(c, big).chunks(1_500) {
        load(store, tenant, chrono_tz::Tz::UTC, chunk).await;
    }
    let range = ("2026-11-10T00:00:00Z", "2026-11-13T00:00:00Z");
    let report = |campaign: CampaignId, grain: Grain, granularity: Granularity| {
        let q = report_query(
            campaign,
            range,
            grain,
            "UTC",
            granularity,
            Breakdown::default(),
        );
        async move { api.campaign_report(tenant, &q).await.expect("report") }
    };
    check_reports(&report, (c, big)).await;
    // Ranking reports the same reach.
    let ranked = api
        .top_campaigns(
            tenant,
            &top_query(range.0, range.1, Grain::Day, RankBy::Impressions, true, 10),
        )
        .await
        .expect("top");
    assert_eq!(ranked.len(), 2);
    assert_eq!(ranked[1].id, c);
    assert_eq!(ranked[1].unique_users, 1_000);
    assert_eq!(ranked[0].id, big);
    assert_eq!(
        ranked[0].unique_users,
        report(big, Grain::Day, Granularity::Total).await[0].unique_users
    );
}

/// For `c`, 1,000 people each seen on two of three days (10 to 12
/// November 2026); for `big`, 5,000 people on one day.
fn returning_people_and_a_crowd(c: CampaignId, big: CampaignId) -> Vec<Event> {
    // 1,000 people, each seen on two of three days, by various channels
    // and event types.
    let channels = ["display", "search", "social"];
    let kinds = ["impression", "click"];
    let mut events = Vec::new();
    for i in 0..1_000usize {
        for d in [i % 3, (i + 1) % 3] {
            let t = format!("2026-11-{:02}T{:02}:00:00Z", 10 + d, i % 24);
            events.push(event(
                c,
                kinds[i % 2],
                channels[(i + d) % 3],
                &format!("person-{i}"),
                1,
                0,
                &t,
            ));
        }
    }
    // 5,000 people on one day: past where sketches stay exact.
    for i in 0..5_000 {
        events.push(event(
            big,
            "impression",
            "video",
            &format!("big-{i}"),
            1,
            0,
            "2026-11-11T12:00:00Z",
        ));
    }
    events
}

/// Day and total reports of `c` and `big` over UTC days and hour rows.
async fn check_reports<F, Fut>(report: &F, (c, big): (CampaignId, CampaignId))
where
    F: Fn(CampaignId, Grain, Granularity) -> Fut,
    Fut: Future<Output = Vec<ReportRow>>,
{
    for grain in [Grain::Day, Grain::Hour] {
        let days = report(c, grain, Granularity::Day).await;
        assert_eq!(days.len(), 3);
        // Each day: the people with i % 3 == d or (i + 1) % 3 == d.
        assert_eq!(
            days.iter().map(|r| r.unique_users).collect::<Vec<_>>(),
            [667, 667, 666],
            "{grain:?}"
        );
        let total = report(c, grain, Granularity::Total).await;
        assert_eq!(total[0].counts.events(), 2_000);
        assert_eq!(
            total[0].unique_users, 1_000,
            "{grain:?}: a union over the range, not the days' sum"
        );
        let big_total = report(big, grain, Granularity::Total).await;
        let e = (big_total[0].unique_users - 5_000).abs() as f64 / 5_000.0;
        assert!(
            e < 0.02,
            "5,000 people estimated {}",
            big_total[0].unique_users
        );
    }
}
