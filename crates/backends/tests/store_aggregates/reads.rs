//! Reads: tenants never see each other's rows, rows handed one at a time
//! match and stop at an error, empty ranges give no rows, long reports
//! read every bucket, and bad zones and limits are refused.

use std::ops::ControlFlow;

use adpulse_domain::aggregate::Grain;
use adpulse_domain::report::{Breakdown, Granularity, RankBy};
use adpulse_domain::{CampaignId, Event, TenantId};
use chrono::{Duration, Utc};

use crate::common::{Env, Store, conformance};
use crate::support::{BY_BOTH, BY_CHANNEL, at, event, events, load, report_query, rows, top_query};

conformance!("agg", None;
    tenants_never_see_each_other_s_rows,
    rows_handed_one_at_a_time_match_and_stop_at_an_error,
    empty_ranges_give_no_rows,
    long_reports_read_every_bucket,
    unknown_zones_and_negative_limits_are_refused,
);

async fn tenants_never_see_each_other_s_rows(env: &Env) {
    let (store, api) = (&env.store, &env.api);
    let mine = store.create_tenant("mine").await.expect("tenant");
    let theirs = store.create_tenant("theirs").await.expect("tenant");
    let c = store
        .create_campaign(mine, "mine", None)
        .await
        .expect("campaign");
    let other = store
        .create_campaign(theirs, "theirs", None)
        .await
        .expect("campaign");
    let on = "2026-11-29T12:00:00Z";
    load(
        store,
        mine,
        chrono_tz::Asia::Kolkata,
        &[event(c, "impression", "display", "m1", 10, 0, on)],
    )
    .await;
    load(
        store,
        theirs,
        chrono_tz::Tz::UTC,
        &[
            event(other, "click", "display", "t1", 5, 0, on),
            event(other, "click", "display", "t2", 5, 0, on),
        ],
    )
    .await;
    // From Kolkata's midnight to UTC's: every grain's bucket of the events
    // lies inside.
    let range = ("2026-11-28T18:30:00Z", "2026-11-30T00:00:00Z");
    for grain in [
        Grain::Minute,
        Grain::Hour,
        Grain::Day,
        Grain::local_day(chrono_tz::Asia::Kolkata),
    ] {
        for granularity in [Granularity::Hour, Granularity::Day, Granularity::Total] {
            for tz in ["UTC", "Asia/Kolkata"] {
                let q = report_query(c, range, grain, tz, granularity, BY_BOTH);
                assert_eq!(
                    api.campaign_report(theirs, &q).await.expect("report"),
                    [],
                    "{grain:?} {granularity:?} {tz}: another tenant's campaign reports nothing"
                );
                let own = api.campaign_report(mine, &q).await.expect("report");
                assert_eq!(
                    own.iter().map(|r| r.counts.events()).sum::<i64>(),
                    1,
                    "{grain:?} {granularity:?} {tz}"
                );
            }
        }
        let q = top_query(range.0, range.1, grain, RankBy::Spend, true, 10);
        let ranked = |t: TenantId| {
            let q = q.clone();
            async move {
                api.top_campaigns(t, &q)
                    .await
                    .expect("top")
                    .into_iter()
                    .map(|r| (r.id, r.counts.events(), r.unique_users))
                    .collect::<Vec<_>>()
            }
        };
        if grain == Grain::local_day(chrono_tz::Asia::Kolkata) {
            assert_eq!(ranked(mine).await, [(c, 1, 1)]);
            assert!(ranked(theirs).await.is_empty());
        } else {
            assert_eq!(ranked(mine).await, [(c, 1, 1)], "{grain:?}");
            assert_eq!(ranked(theirs).await, [(other, 2, 2)], "{grain:?}");
        }
    }
    // A tenant without campaigns ranks nothing.
    let empty = store.create_tenant("empty").await.expect("tenant");
    let q = top_query(range.0, range.1, Grain::Day, RankBy::Spend, true, 10);
    assert!(api.top_campaigns(empty, &q).await.expect("top").is_empty());
}

async fn rows_handed_one_at_a_time_match_and_stop_at_an_error(env: &Env) {
    let (store, api) = (&env.store, &env.api);
    let tenant = store.create_tenant("each").await.expect("tenant");
    let mut campaigns = Vec::new();
    for i in 0..3 {
        campaigns.push(
            store
                .create_campaign(tenant, &format!("c{i}"), None)
                .await
                .expect("campaign"),
        );
    }
    let mut events = Vec::new();
    for (i, c) in campaigns.iter().enumerate() {
        for h in 0..5 {
            events.push(event(
                *c,
                "impression",
                "display",
                &format!("u{h}"),
                (i as i64 + 1) * 10,
                0,
                &format!("2026-11-29T{:02}:15:00Z", h + 1),
            ));
        }
    }
    load(store, tenant, chrono_tz::Tz::UTC, &events).await;
    let q = report_query(
        campaigns[0],
        ("2026-11-29T00:00:00Z", "2026-11-30T00:00:00Z"),
        Grain::Hour,
        "UTC",
        Granularity::Hour,
        Breakdown::default(),
    );
    let all = api.campaign_report(tenant, &q).await.expect("report");
    assert_eq!(all.len(), 5);
    let mut seen = Vec::new();
    api.campaign_report_each(tenant, &q, &mut |r| {
        seen.push(r);
        Box::pin(async { ControlFlow::Continue(()) })
    })
    .await
    .expect("each");
    assert_eq!(seen, all);
    let mut calls = 0;
    api.campaign_report_each(tenant, &q, &mut |_| {
        calls += 1;
        let n = calls;
        Box::pin(async move {
            if n == 2 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
    })
    .await
    .expect("a read the reader ends is no error");
    assert_eq!(calls, 2, "no row after the reader stopped");
    top_campaigns_handed_one_at_a_time(api, tenant, &campaigns).await;
}

async fn top_campaigns_handed_one_at_a_time(
    api: &Store,
    tenant: TenantId,
    campaigns: &[CampaignId],
) {
    let tq = top_query(
        "2026-11-29T00:00:00Z",
        "2026-11-30T00:00:00Z",
        Grain::Day,
        RankBy::Spend,
        true,
        10,
    );
    let ranked = api.top_campaigns(tenant, &tq).await.expect("top");
    assert_eq!(
        ranked.iter().map(|r| r.id).collect::<Vec<_>>(),
        [campaigns[2], campaigns[1], campaigns[0]]
    );
    assert!(ranked.iter().all(|r| r.unique_users == 5));
    let mut seen = Vec::new();
    api.top_campaigns_each(tenant, &tq, &mut |r| {
        seen.push(r);
        Box::pin(async { ControlFlow::Continue(()) })
    })
    .await
    .expect("each");
    assert_eq!(seen, ranked);
    let mut calls = 0;
    api.top_campaigns_each(tenant, &tq, &mut |_| {
        calls += 1;
        Box::pin(async { ControlFlow::Break(()) })
    })
    .await
    .expect("a read the reader ends is no error");
    assert_eq!(calls, 1);
}

async fn empty_ranges_give_no_rows(env: &Env) {
    let (store, api) = (&env.store, &env.api);
    let tenant = store.create_tenant("empty").await.expect("tenant");
    let c = store
        .create_campaign(tenant, "quiet", None)
        .await
        .expect("campaign");
    load(
        store,
        tenant,
        chrono_tz::Tz::UTC,
        &events(
            c,
            &[("impression", "display", "u", 1, 0, "2026-11-29T12:00:00Z")],
        ),
    )
    .await;
    let range = ("2026-12-01T00:00:00Z", "2026-12-02T00:00:00Z");
    for granularity in [Granularity::Hour, Granularity::Day, Granularity::Total] {
        for grain in [Grain::Day, Grain::Hour] {
            let q = report_query(c, range, grain, "UTC", granularity, Breakdown::default());
            assert!(
                api.campaign_report(tenant, &q)
                    .await
                    .expect("report")
                    .is_empty(),
                "{granularity:?} over a range without events: no row, not a row of zeros"
            );
        }
        // A campaign that never had events.
        let unknown = CampaignId::from_uuid(uuid::Uuid::new_v4());
        let q = report_query(
            unknown,
            ("2026-11-29T00:00:00Z", "2026-11-30T00:00:00Z"),
            Grain::Day,
            "UTC",
            granularity,
            Breakdown::default(),
        );
        assert!(
            api.campaign_report(tenant, &q)
                .await
                .expect("report")
                .is_empty()
        );
    }
    for grain in [Grain::Day, Grain::Hour] {
        let q = top_query(range.0, range.1, grain, RankBy::Spend, true, 10);
        assert!(api.top_campaigns(tenant, &q).await.expect("top").is_empty());
    }
    assert!(
        store
            .campaign_totals(&[CampaignId::from_uuid(uuid::Uuid::new_v4())])
            .await
            .expect("totals")
            .is_empty()
    );
    assert!(store.campaign_totals(&[]).await.expect("totals").is_empty());
    assert!(
        store
            .live_series(&[], Utc::now())
            .await
            .expect("series")
            .is_empty()
    );
}

/// More buckets than one read returns (SQLite reads pages of rows): every
/// one counts, in order.
async fn long_reports_read_every_bucket(env: &Env) {
    let (store, api) = (&env.store, &env.api);
    let tenant = store.create_tenant("long").await.expect("tenant");
    let c = store
        .create_campaign(tenant, "long", None)
        .await
        .expect("campaign");
    let start = at("2026-11-01T00:00:00Z");
    let n = 9_000i64;
    let events: Vec<Event> = (0..n)
        .map(|i| {
            let t = start + Duration::minutes(i);
            let channel = ["display", "search"][(i % 2) as usize];
            event(
                c,
                "impression",
                channel,
                &format!("u{}", i % 700),
                i,
                0,
                &t.to_rfc3339(),
            )
        })
        .collect();
    for chunk in events.chunks(3_000) {
        load(store, tenant, chrono_tz::Tz::UTC, chunk).await;
    }
    let range = ("2026-11-01T00:00:00Z", "2026-11-08T00:00:00Z");
    let hours = api
        .campaign_report(
            tenant,
            &report_query(
                c,
                range,
                Grain::Minute,
                "UTC",
                Granularity::Hour,
                BY_CHANNEL,
            ),
        )
        .await
        .expect("report");
    assert_eq!(hours.len(), 2 * (n as usize / 60));
    assert!(
        hours
            .windows(2)
            .all(|w| (&w[0].period_start, &w[0].channel) < (&w[1].period_start, &w[1].channel))
    );
    assert!(
        hours
            .iter()
            .all(|r| r.counts.impressions == 30 && r.unique_users == 30)
    );
    let total = api
        .campaign_report(
            tenant,
            &report_query(
                c,
                range,
                Grain::Minute,
                "UTC",
                Granularity::Total,
                Breakdown::default(),
            ),
        )
        .await
        .expect("report");
    let want = rows(&[(None, None, None, None, [n, 0, 0, n * (n - 1) / 2, 0], 700)]);
    assert_eq!(total, want);
}

async fn unknown_zones_and_negative_limits_are_refused(env: &Env) {
    let (store, api) = (&env.store, &env.api);
    let tenant = store.create_tenant("refused").await.expect("tenant");
    let c = store
        .create_campaign(tenant, "refused", None)
        .await
        .expect("campaign");
    load(
        store,
        tenant,
        chrono_tz::Tz::UTC,
        &events(
            c,
            &[("impression", "display", "u", 1, 0, "2026-11-29T12:00:00Z")],
        ),
    )
    .await;
    let range = ("2026-11-29T00:00:00Z", "2026-11-30T00:00:00Z");
    for granularity in [Granularity::Hour, Granularity::Day] {
        let q = report_query(
            c,
            range,
            Grain::Hour,
            "Mars/Olympus",
            granularity,
            Breakdown::default(),
        );
        let e = api
            .campaign_report(tenant, &q)
            .await
            .expect_err("unknown zone");
        assert!(!e.is_retryable(), "{e}");
    }
    // A total cuts no period: the zone is not needed.
    let q = report_query(
        c,
        range,
        Grain::Hour,
        "Mars/Olympus",
        Granularity::Total,
        Breakdown::default(),
    );
    assert_eq!(
        api.campaign_report(tenant, &q).await.expect("report").len(),
        1
    );
    let q = top_query(range.0, range.1, Grain::Day, RankBy::Spend, true, -1);
    let e = api
        .top_campaigns(tenant, &q)
        .await
        .expect_err("negative limit");
    assert!(!e.is_retryable(), "{e}");
}
