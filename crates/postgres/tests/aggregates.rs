//! The worker's Postgres operations against the real server: claims fence
//! earlier owners, a commit applies deltas and the offset together, and
//! unique users merge as sketches.

use adpulse_config::{PostgresConfig, Secret};
use adpulse_domain::aggregate::{AggregateBatch, Counts, live_point_start};
use adpulse_domain::{CampaignId, Event, TenantId};
use adpulse_postgres::{Commit, Database};
use adpulse_testkit::{Server, unique_name};

fn event(campaign: CampaignId, kind: &str, user: &str, cost: i64) -> Event {
    event_at(campaign, kind, user, cost, "2026-11-29T10:30:00Z")
}

fn event_at(campaign: CampaignId, kind: &str, user: &str, cost: i64, at: &str) -> Event {
    let json = serde_json::json!({
        "event_id": uuid::Uuid::now_v7().to_string(), "type": kind, "campaign_id": campaign.to_string(),
        "ad_id": "a", "channel": "search", "occurred_at": at,
        "user": {"device_id": user}, "cost_micros": cost,
    });
    serde_json::from_value(json).expect("event")
}

#[tokio::test]
async fn claims_fence_and_commits_apply_atomically() {
    let cfg = PostgresConfig {
        url: Secret::new(Server::Postgres.require()),
        ..PostgresConfig::default()
    };
    let db = match Database::connect_in_schema(&cfg, &unique_name("agg")).await {
        Ok(db) => db,
        Err(e) => Server::Postgres.absent(&e.to_string()),
    };
    db.migrate().await.expect("migrate");
    let tenant = TenantId::from_uuid(uuid::Uuid::new_v4());
    let campaign = CampaignId::from_uuid(uuid::Uuid::new_v4());

    let mut first = db.claim_partition("g", "t", 3).await.expect("claim");
    assert_eq!((first.epoch, first.next_offset), (1, 0));

    let mut batch = AggregateBatch::default();
    for (i, user) in ["u1", "u2", "u1"].iter().enumerate() {
        batch.add(
            &event(campaign, "click", user, 100 * (i as i64 + 1)),
            tenant,
            chrono_tz::Tz::UTC,
        );
    }
    batch.add(
        &event(campaign, "impression", "u3", 7),
        tenant,
        chrono_tz::Tz::UTC,
    );
    assert_eq!(
        db.commit_batch(&mut first, 4, &batch)
            .await
            .expect("commit"),
        Commit::Applied(Vec::new()),
        "events older than the live window add no live point"
    );
    assert_eq!(first.next_offset, 4);

    // A second owner takes over; the first is now a zombie.
    let mut second = db.claim_partition("g", "t", 3).await.expect("claim");
    assert_eq!((second.epoch, second.next_offset), (2, 4));
    assert_eq!(
        db.commit_batch(&mut first, 8, &batch)
            .await
            .expect("commit"),
        Commit::Fenced,
        "zombie fenced"
    );
    assert_eq!(first.next_offset, 4, "a fenced claim does not move");
    let empty = AggregateBatch::default();
    assert_eq!(
        db.commit_batch(&mut second, 6, &empty)
            .await
            .expect("commit"),
        Commit::Applied(Vec::new())
    );

    let totals = db.campaign_totals(&[campaign]).await.expect("totals");
    assert_eq!(totals.len(), 1);
    let t = &totals[0];
    assert_eq!(
        (t.impressions, t.clicks, t.conversions),
        (1, 3, 0),
        "the zombie's batch did not apply"
    );
    assert_eq!(t.cost_micros, 100 + 200 + 300 + 7);

    let (reach,): (f64,) = sqlx::query_as(
        "SELECT hll_cardinality(hll_union_agg(users)) FROM campaign_aggregates WHERE grain = 'day' AND campaign_id = $1",
    )
    .bind(campaign.as_uuid())
    .fetch_one(db.pool())
    .await
    .expect("reach");
    assert_eq!(
        reach.round() as i64,
        3,
        "u1, u2, u3 across types: a union, not a sum (which would be 4)"
    );
    db.drop_schema().await.expect("cleanup");
}

#[tokio::test]
async fn live_series_points_grow_across_commits_and_stop_at_the_window() {
    let cfg = PostgresConfig {
        url: Secret::new(Server::Postgres.require()),
        ..PostgresConfig::default()
    };
    let db = match Database::connect_in_schema(&cfg, &unique_name("live")).await {
        Ok(db) => db,
        Err(e) => Server::Postgres.absent(&e.to_string()),
    };
    db.migrate().await.expect("migrate");
    let tenant = TenantId::from_uuid(uuid::Uuid::new_v4());
    let campaign = CampaignId::from_uuid(uuid::Uuid::new_v4());
    let now = chrono::Utc::now();
    let at = |secs_ago: i64| {
        (now - chrono::Duration::seconds(secs_ago))
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    };
    let mut claim = db.claim_partition("g", "t", 0).await.expect("claim");

    // Two commits touch the same point: the second returns the sum of both.
    let mut total = Counts::default();
    for (round, kind) in ["impression", "click"].iter().enumerate() {
        let mut batch = AggregateBatch::default();
        let e = event_at(campaign, kind, "u", 10, &at(30));
        total.add(&e);
        batch.add(&e, tenant, chrono_tz::Tz::UTC);
        // Two hours old: counted in the aggregates, not in the live series.
        batch.add(
            &event_at(campaign, "impression", "u", 1, &at(7200)),
            tenant,
            chrono_tz::Tz::UTC,
        );
        let next = claim.next_offset + 2;
        let Commit::Applied(points) = db
            .commit_batch(&mut claim, next, &batch)
            .await
            .expect("commit")
        else {
            panic!("not fenced");
        };
        assert_eq!(points.len(), 1, "round {round}: only the recent point");
        assert_eq!(
            points[0].start,
            live_point_start(now - chrono::Duration::seconds(30))
        );
        assert_eq!(
            points[0].counts, total,
            "round {round}: the point's committed totals"
        );
    }
    let since = now - chrono::Duration::hours(1);
    let series = db.live_series(&[campaign], since).await.expect("series");
    assert_eq!(series.len(), 1);
    assert_eq!(
        (series[0].counts.impressions, series[0].counts.clicks),
        (1, 1)
    );

    assert_eq!(
        db.prune_live_series(now - chrono::Duration::seconds(5))
            .await
            .expect("prune"),
        1
    );
    assert!(
        db.live_series(&[campaign], since)
            .await
            .expect("series")
            .is_empty()
    );
    db.drop_schema().await.expect("cleanup");
}

/// Ranking reads running totals kept by the worker's commits: whatever the
/// order events arrive in (late ones, gaps of days between a campaign's
/// events, a campaign's first day moving earlier), the sums over every range
/// of days equal a reference summed from the events themselves.
#[tokio::test]
async fn ranking_sums_equal_the_events_over_every_range() {
    use adpulse_domain::report::RankBy;
    use adpulse_postgres::reports::TopCampaigns;
    use chrono::{Duration, NaiveDate, TimeZone as _, Utc};
    use std::collections::BTreeMap;

    let cfg = PostgresConfig {
        url: Secret::new(Server::Postgres.require()),
        ..PostgresConfig::default()
    };
    let db = match Database::connect_in_schema(&cfg, &unique_name("rank")).await {
        Ok(db) => db,
        Err(e) => Server::Postgres.absent(&e.to_string()),
    };
    db.migrate().await.expect("migrate");
    let tenant = db.create_tenant("ranking").await.expect("tenant");
    let mut campaigns = Vec::new();
    for i in 0..4 {
        campaigns.push(
            db.create_campaign(tenant, &format!("c{i}"), None)
                .await
                .expect("campaign"),
        );
    }
    // Days 0..40 from a fixed start; campaign i is active on days where
    // (day * (i + 2)) % 7 < 3, so each has gaps of several days.
    let start = NaiveDate::from_ymd_opt(2026, 9, 1).expect("date");
    let mut seed = 0x2545_f491_u64;
    let mut next = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let mut events = Vec::new();
    let mut reference: BTreeMap<(usize, i64), [i64; 3]> = BTreeMap::new();
    for day in 0..40i64 {
        for (i, c) in campaigns.iter().enumerate() {
            if (day * (i as i64 + 2)) % 7 >= 3 {
                continue;
            }
            for _ in 0..(1 + next(4)) {
                let kind = ["impression", "impression", "click"][next(3) as usize];
                let cost = 1 + next(1000) as i64;
                let at = Utc.from_utc_datetime(
                    &(start + Duration::days(day))
                        .and_hms_opt(next(24) as u32, next(60) as u32, 0)
                        .expect("time"),
                );
                events.push(event_at(*c, kind, "u", cost, &at.to_rfc3339()));
                let r = reference.entry((i, day)).or_default();
                r[usize::from(kind == "click")] += 1;
                r[2] += cost;
            }
        }
    }
    // Delivered out of order, in batches of 7: days arrive late and early.
    for i in (1..events.len()).rev() {
        events.swap(i, next(i as u64 + 1) as usize);
    }
    let mut claim = db.claim_partition("g", "rank", 0).await.expect("claim");
    let mut offset = 0;
    for chunk in events.chunks(7) {
        let mut batch = AggregateBatch::default();
        for e in chunk {
            batch.add(e, tenant, chrono_tz::Tz::UTC);
        }
        offset += chunk.len() as i64;
        db.commit_batch(&mut claim, offset, &batch)
            .await
            .expect("commit");
    }
    let mut ranges = 0;
    for from in (-2..42i64).step_by(3) {
        for len in [1i64, 2, 5, 7, 13, 30, 44] {
            let at = |d: i64| {
                Utc.from_utc_datetime(
                    &(start + Duration::days(d))
                        .and_hms_opt(0, 0, 0)
                        .expect("midnight"),
                )
            };
            let q = TopCampaigns {
                from: at(from),
                to: at(from + len),
                grain: adpulse_domain::aggregate::Grain::Day,
                status: None,
                brand_id: None,
                by: RankBy::Spend,
                desc: true,
                limit: 10,
            };
            let got: BTreeMap<usize, [i64; 3]> = db
                .top_campaigns(tenant, &q)
                .await
                .expect("top")
                .into_iter()
                .map(|r| {
                    let i = campaigns.iter().position(|c| *c == r.id).expect("known");
                    (
                        i,
                        [r.counts.impressions, r.counts.clicks, r.counts.cost_micros],
                    )
                })
                .collect();
            let mut want: BTreeMap<usize, [i64; 3]> = BTreeMap::new();
            for ((i, day), r) in &reference {
                if *day >= from && *day < from + len {
                    let w = want.entry(*i).or_default();
                    for k in 0..3 {
                        w[k] += r[k];
                    }
                }
            }
            assert_eq!(got, want, "days {from}..{}", from + len);
            ranges += 1;
        }
    }
    assert_eq!(ranges, 15 * 7);
}

/// A report by day in the campaign's zone reads its local-day rows, and
/// falls back to hour rows (still exact) near rows written under another
/// zone, as after a change of the campaign's zone.
#[tokio::test]
async fn reports_by_local_day_read_local_days_unless_another_zone_wrote_nearby() {
    use adpulse_domain::aggregate::{Grain, local_midnight};
    use adpulse_domain::report::{Breakdown, Granularity};
    use adpulse_postgres::reports::CampaignReport;
    use chrono::{Duration, NaiveDate, TimeZone as _, Utc};
    use std::collections::BTreeMap;

    let cfg = PostgresConfig {
        url: Secret::new(Server::Postgres.require()),
        ..PostgresConfig::default()
    };
    let db = match Database::connect_in_schema(&cfg, &unique_name("local")).await {
        Ok(db) => db,
        Err(e) => Server::Postgres.absent(&e.to_string()),
    };
    db.migrate().await.expect("migrate");
    let tenant = db.create_tenant("local days").await.expect("tenant");
    let campaign = db
        .create_campaign(tenant, "berlin", None)
        .await
        .expect("campaign");
    let berlin = chrono_tz::Europe::Berlin;
    // Every 5 hours from 18 October to 8 November 2026 (across Berlin's
    // 25-hour day of 25 October); events of 2 November written as if the
    // campaign's zone had been UTC for a while.
    let mut batch = AggregateBatch::default();
    let mut by_day: BTreeMap<NaiveDate, i64> = BTreeMap::new();
    let start = Utc
        .with_ymd_and_hms(2026, 10, 18, 0, 0, 0)
        .single()
        .expect("t");
    for i in 0..(21 * 24 / 5) {
        let at = start + Duration::hours(5 * i) + Duration::minutes(7);
        let cost = 10 + i;
        let e = event_at(
            campaign,
            "impression",
            &format!("u{i}"),
            cost,
            &at.to_rfc3339(),
        );
        let local = at.with_timezone(&berlin).date_naive();
        let zone = if local == NaiveDate::from_ymd_opt(2026, 11, 2).expect("d") {
            chrono_tz::Tz::UTC
        } else {
            berlin
        };
        batch.add(&e, tenant, zone);
        *by_day.entry(local).or_default() += cost;
    }
    let mut claim = db.claim_partition("g", "local", 0).await.expect("claim");
    db.commit_batch(&mut claim, 1, &batch)
        .await
        .expect("commit");

    let day = |m: u32, d: u32| NaiveDate::from_ymd_opt(2026, m, d).expect("d");
    let report = |first: NaiveDate, last: NaiveDate| {
        let db = db.clone();
        async move {
            let q = CampaignReport {
                campaign,
                from: local_midnight(berlin, first),
                to: local_midnight(berlin, last + Duration::days(1)),
                grain: Grain::Hour,
                tz: "Europe/Berlin".into(),
                granularity: Granularity::Day,
                breakdown: Breakdown::default(),
            };
            db.campaign_report(tenant, &q)
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
    assert_eq!(report(away.0, away.1).await, want(away.0, away.1));
    assert_eq!(report(near.0, near.1).await, want(near.0, near.1));
    // Without the hour rows, the range away from the other zone's rows
    // still answers: it reads local days. The range near them does not:
    // it read hour rows.
    sqlx::query("DELETE FROM campaign_aggregates WHERE grain = 'hour'")
        .execute(db.pool())
        .await
        .expect("delete hour rows");
    assert_eq!(report(away.0, away.1).await, want(away.0, away.1));
    assert!(report(near.0, near.1).await.is_empty());
}
