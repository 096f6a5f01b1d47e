//! Campaign reports: local days in the campaign's zone, hours, days and
//! totals with breakdowns in UTC, and a half-hour zone cut from minute
//! rows.

use std::collections::BTreeMap;

use adpulse_domain::aggregate::{AggregateBatch, Grain, local_midnight};
use adpulse_domain::report::{Breakdown, Granularity, ReportRow};
use adpulse_domain::store::CampaignReport;
use chrono::{Duration, NaiveDate};

use crate::common::{Env, conformance};
use crate::support::{
    BY_BOTH, BY_CHANNEL, BY_TYPE, at, event_at, events, load, report_query, rows,
};

conformance!("agg", None;
    reports_by_local_day_read_local_days_unless_another_zone_wrote_nearby,
    reports_by_hour_day_and_total_with_breakdowns_in_utc,
    reports_in_a_half_hour_zone_from_minute_rows,
);

/// A report by day in the campaign's zone reads its local-day rows, and
/// falls back to the requested grain's rows (still exact) near rows
/// written under another zone, as after a change of the campaign's zone.
async fn reports_by_local_day_read_local_days_unless_another_zone_wrote_nearby(env: &Env) {
    let (store, api) = (&env.store, &env.api);
    let tenant = store.create_tenant("local days").await.expect("tenant");
    let campaign = store
        .create_campaign(tenant, "berlin", None)
        .await
        .expect("campaign");
    let berlin = chrono_tz::Europe::Berlin;
    // Every 5 hours from 18 October to 8 November 2026 (across Berlin's
    // 25-hour day of 25 October); events of 2 November written as if the
    // campaign's zone had been UTC for a while.
    let mut batch = AggregateBatch::default();
    let mut by_day: BTreeMap<NaiveDate, i64> = BTreeMap::new();
    let start = at("2026-10-18T00:00:00Z");
    for i in 0..(21 * 24 / 5) {
        let t = start + Duration::hours(5 * i) + Duration::minutes(7);
        let cost = 10 + i;
        let e = event_at(
            campaign,
            "impression",
            &format!("u{i}"),
            cost,
            &t.to_rfc3339(),
        );
        let local = t.with_timezone(&berlin).date_naive();
        let zone = if local == NaiveDate::from_ymd_opt(2026, 11, 2).expect("d") {
            chrono_tz::Tz::UTC
        } else {
            berlin
        };
        batch.add(&e, tenant, zone).expect("sums fit");
        *by_day.entry(local).or_default() += cost;
    }
    let mut claim = store.claim_partition("g", "local", 0).await.expect("claim");
    store
        .commit_batch(&mut claim, 1, &batch)
        .await
        .expect("commit");

    let day = |m: u32, d: u32| NaiveDate::from_ymd_opt(2026, m, d).expect("d");
    let report = |first: NaiveDate, last: NaiveDate, grain: Grain| {
        let q = CampaignReport {
            campaign,
            from: local_midnight(berlin, first),
            to: local_midnight(berlin, last + Duration::days(1)),
            grain,
            tz: "Europe/Berlin".into(),
            granularity: Granularity::Day,
            breakdown: Breakdown::default(),
        };
        async move {
            api.campaign_report(tenant, &q)
                .await
                .expect("report")
                .into_iter()
                .map(|r| (r.day.expect("day"), r.counts.cost_micros))
                .collect::<BTreeMap<NaiveDate, i64>>()
        }
    };
    let want = |first: NaiveDate, last: NaiveDate| -> BTreeMap<NaiveDate, i64> {
        by_day.range(first..=last).map(|(d, c)| (*d, *c)).collect()
    };
    let (away, near) = ((day(10, 20), day(10, 29)), (day(10, 30), day(11, 5)));
    for grain in [Grain::Hour, Grain::Minute] {
        assert_eq!(report(away.0, away.1, grain).await, want(away.0, away.1));
        assert_eq!(report(near.0, near.1, grain).await, want(near.0, near.1));
    }
    // Asked for a grain nothing was written at, the range away from the
    // other zone's rows still answers: it reads Berlin's local days. The
    // range near them reads the grain asked for, which holds nothing.
    let absent = Grain::local_day(chrono_tz::Asia::Tokyo);
    assert_eq!(report(away.0, away.1, absent).await, want(away.0, away.1));
    assert!(report(near.0, near.1, absent).await.is_empty());
}

async fn reports_by_hour_day_and_total_with_breakdowns_in_utc(env: &Env) {
    let (store, api) = (&env.store, &env.api);
    let tenant = store.create_tenant("utc").await.expect("tenant");
    let c = store
        .create_campaign(tenant, "utc", None)
        .await
        .expect("campaign");
    #[rustfmt::skip]
    let table = events(c, &[
        ("impression", "display", "u1", 100, 0, "2026-11-29T10:05:00Z"),
        ("click", "display", "u1", 50, 0, "2026-11-29T10:50:30Z"),
        ("impression", "search", "u2", 30, 0, "2026-11-29T11:10:00Z"),
        ("conversion", "search", "u3", 0, 500, "2026-11-30T09:00:00Z"),
        ("impression", "display", "u2", 10, 0, "2026-11-30T23:59:59Z"),
        // Outside the range, on both sides.
        ("impression", "display", "u9", 1, 0, "2026-12-01T00:00:00Z"),
        ("impression", "display", "u9", 1, 0, "2026-11-28T23:59:59Z"),
    ]);
    load(store, tenant, chrono_tz::Tz::UTC, &table).await;
    let range = ("2026-11-29T00:00:00Z", "2026-12-01T00:00:00Z");
    let report = |grain: Grain, granularity: Granularity, breakdown: Breakdown| {
        let q = report_query(c, range, grain, "UTC", granularity, breakdown);
        async move { api.campaign_report(tenant, &q).await.expect("report") }
    };
    let [by_hour, by_day_and_channel, by_type, by_both, total] = utc_rows();
    for grain in [Grain::Minute, Grain::Hour] {
        assert_eq!(
            report(grain, Granularity::Hour, Breakdown::default()).await,
            by_hour,
            "{grain:?}"
        );
    }
    for grain in [Grain::Day, Grain::Hour, Grain::Minute] {
        assert_eq!(
            report(grain, Granularity::Day, BY_CHANNEL).await,
            by_day_and_channel,
            "{grain:?}"
        );
        assert_eq!(report(grain, Granularity::Total, BY_TYPE).await, by_type);
        assert_eq!(report(grain, Granularity::Total, BY_BOTH).await, by_both);
        assert_eq!(
            report(grain, Granularity::Total, Breakdown::default()).await,
            total
        );
    }
    // By day without a breakdown: u2 on both days, u1 only on the first.
    #[rustfmt::skip]
    let by_day = rows(&[
        (None, Some((2026, 11, 29)), None, None, [2, 1, 0, 180, 0], 2),
        (None, Some((2026, 11, 30)), None, None, [1, 0, 1, 10, 500], 2),
    ]);
    assert_eq!(
        report(Grain::Day, Granularity::Day, Breakdown::default()).await,
        by_day
    );
}

/// What the UTC test's events report: by hour, by day and channel, by
/// type, by channel and type, and in total.
#[rustfmt::skip]
fn utc_rows() -> [Vec<ReportRow>; 5] {
    let by_hour = rows(&[
        (Some("2026-11-29T10:00:00Z"), None, None, None, [1, 1, 0, 150, 0], 1),
        (Some("2026-11-29T11:00:00Z"), None, None, None, [1, 0, 0, 30, 0], 1),
        (Some("2026-11-30T09:00:00Z"), None, None, None, [0, 0, 1, 0, 500], 1),
        (Some("2026-11-30T23:00:00Z"), None, None, None, [1, 0, 0, 10, 0], 1),
    ]);
    let by_day_and_channel = rows(&[
        (None, Some((2026, 11, 29)), Some("display"), None, [1, 1, 0, 150, 0], 1),
        (None, Some((2026, 11, 29)), Some("search"), None, [1, 0, 0, 30, 0], 1),
        (None, Some((2026, 11, 30)), Some("display"), None, [1, 0, 0, 10, 0], 1),
        (None, Some((2026, 11, 30)), Some("search"), None, [0, 0, 1, 0, 500], 1),
    ]);
    let by_type = rows(&[
        (None, None, None, Some("click"), [0, 1, 0, 50, 0], 1),
        (None, None, None, Some("conversion"), [0, 0, 1, 0, 500], 1),
        (None, None, None, Some("impression"), [3, 0, 0, 140, 0], 2),
    ]);
    let by_both = rows(&[
        (None, None, Some("display"), Some("click"), [0, 1, 0, 50, 0], 1),
        (None, None, Some("display"), Some("impression"), [2, 0, 0, 110, 0], 2),
        (None, None, Some("search"), Some("conversion"), [0, 0, 1, 0, 500], 1),
        (None, None, Some("search"), Some("impression"), [1, 0, 0, 30, 0], 1),
    ]);
    let total = rows(&[(None, None, None, None, [3, 1, 1, 190, 500], 3)]);
    [by_hour, by_day_and_channel, by_type, by_both, total]
}

async fn reports_in_a_half_hour_zone_from_minute_rows(env: &Env) {
    let (store, api) = (&env.store, &env.api);
    let tenant = store.create_tenant("kolkata").await.expect("tenant");
    let c = store
        .create_campaign(tenant, "kolkata", None)
        .await
        .expect("campaign");
    let kolkata = chrono_tz::Asia::Kolkata;
    #[rustfmt::skip]
    let table = events(c, &[
        // 23:59 on 29 November in Kolkata.
        ("impression", "display", "u1", 1, 0, "2026-11-29T18:29:00Z"),
        // 00:00 and 00:15 on 30 November.
        ("impression", "display", "u2", 2, 0, "2026-11-29T18:30:00Z"),
        ("click", "social", "u2", 4, 0, "2026-11-29T18:45:00Z"),
        // 09:30 on 30 November.
        ("impression", "social", "u3", 8, 0, "2026-11-30T04:00:00Z"),
        // 00:00 on 1 December: outside.
        ("impression", "social", "u9", 16, 0, "2026-11-30T18:30:00Z"),
    ]);
    load(store, tenant, kolkata, &table).await;
    let first = NaiveDate::from_ymd_opt(2026, 11, 29).expect("d");
    let from = local_midnight(kolkata, first).to_rfc3339();
    let to = local_midnight(kolkata, first + Duration::days(2)).to_rfc3339();
    assert_eq!(from, "2026-11-28T18:30:00+00:00");
    let report = |granularity: Granularity, breakdown: Breakdown| {
        let q = report_query(
            c,
            (&from, &to),
            Grain::Minute,
            "Asia/Kolkata",
            granularity,
            breakdown,
        );
        async move { api.campaign_report(tenant, &q).await.expect("report") }
    };
    let [by_hour, by_hour_and_channel, by_day, by_day_and_type, total] = kolkata_rows();
    assert_eq!(
        report(Granularity::Hour, Breakdown::default()).await,
        by_hour
    );
    assert_eq!(
        report(Granularity::Hour, BY_CHANNEL).await,
        by_hour_and_channel
    );
    assert_eq!(report(Granularity::Day, Breakdown::default()).await, by_day);
    assert_eq!(report(Granularity::Day, BY_TYPE).await, by_day_and_type);
    assert_eq!(
        report(Granularity::Total, Breakdown::default()).await,
        total
    );
    // The same days from UTC hour rows would cut 29 November at 18:00 UTC,
    // not at local midnight: the caller asks for minute rows, and they
    // agree with the local-day rows.
    let q = report_query(
        c,
        (&from, &to),
        Grain::local_day(kolkata),
        "Asia/Kolkata",
        Granularity::Day,
        Breakdown::default(),
    );
    assert_eq!(
        api.campaign_report(tenant, &q).await.expect("report"),
        report(Granularity::Day, Breakdown::default()).await
    );
}

/// What the Kolkata test's events report: by local hour, by hour and
/// channel, by local day, by day and type, and in total.
#[rustfmt::skip]
fn kolkata_rows() -> [Vec<ReportRow>; 5] {
    let by_hour = rows(&[
        (Some("2026-11-29T17:30:00Z"), None, None, None, [1, 0, 0, 1, 0], 1),
        (Some("2026-11-29T18:30:00Z"), None, None, None, [1, 1, 0, 6, 0], 1),
        (Some("2026-11-30T03:30:00Z"), None, None, None, [1, 0, 0, 8, 0], 1),
    ]);
    let by_hour_and_channel = rows(&[
        (Some("2026-11-29T17:30:00Z"), None, Some("display"), None, [1, 0, 0, 1, 0], 1),
        (Some("2026-11-29T18:30:00Z"), None, Some("display"), None, [1, 0, 0, 2, 0], 1),
        (Some("2026-11-29T18:30:00Z"), None, Some("social"), None, [0, 1, 0, 4, 0], 1),
        (Some("2026-11-30T03:30:00Z"), None, Some("social"), None, [1, 0, 0, 8, 0], 1),
    ]);
    let by_day = rows(&[
        (None, Some((2026, 11, 29)), None, None, [1, 0, 0, 1, 0], 1),
        (None, Some((2026, 11, 30)), None, None, [2, 1, 0, 14, 0], 2),
    ]);
    let by_day_and_type = rows(&[
        (None, Some((2026, 11, 29)), None, Some("impression"), [1, 0, 0, 1, 0], 1),
        (None, Some((2026, 11, 30)), None, Some("click"), [0, 1, 0, 4, 0], 1),
        (None, Some((2026, 11, 30)), None, Some("impression"), [2, 0, 0, 10, 0], 2),
    ]);
    let total = rows(&[(None, None, None, None, [3, 1, 0, 15, 0], 3)]);
    [by_hour, by_hour_and_channel, by_day, by_day_and_type, total]
}
