//! Conformance of the stream worker's and the reports' store calls: one
//! set of assertions, run on Postgres (`mod postgres`, a private schema on
//! the local server) and on SQLite (`mod sqlite`, a fresh data folder).
//! Claims fence earlier owners, a commit applies deltas and the offset
//! together, unique users merge as sketches, ranking sums equal the events
//! over every range of days, reports cut local hours and days in any zone,
//! and no tenant ever sees another's rows.

use std::ops::ControlFlow;
use std::sync::Arc;

use std::collections::BTreeMap;
use std::path::PathBuf;

/// The relational store as the services hold it.
type Store = Arc<dyn adpulse_domain::ports::Store>;
use adpulse_config::{PostgresConfig, Secret};
use adpulse_domain::aggregate::{AggregateBatch, Counts, Grain, live_point_start, local_midnight};
use adpulse_domain::report::{Breakdown, Granularity, RankBy, ReportRow};
use adpulse_domain::store::{CampaignReport, Claim, Commit, RankedCampaign, TopCampaigns, Updated};
use adpulse_domain::{CampaignId, CampaignStatus, Event, TenantId};
use adpulse_postgres::Database;
use adpulse_sqlite::Lite;
use adpulse_testkit::{Server, unique_name};
use chrono::{DateTime, Duration, NaiveDate, TimeZone as _, Utc};

/// A store under test, as each service holds it, and what to clean up
/// after it.
struct Backend {
    /// What the stream worker and the admin tools use (on Postgres a
    /// system session: it writes every tenant's rows).
    store: Store,
    /// What the API serves reports from (on Postgres a tenant-scoped
    /// session, where row-level security applies; on SQLite the same file,
    /// where every statement names its tenant).
    api: Store,
    /// The Postgres session, whose schema is dropped at the end.
    pg: Option<Database>,
    dir: Option<PathBuf>,
}

impl Backend {
    /// A private schema on the local Postgres, migrated.
    async fn postgres() -> Self {
        let schema = unique_name("agg");
        let cfg = PostgresConfig {
            url: Secret::new(Server::Postgres.require()),
            ..PostgresConfig::default()
        };
        let db = match Database::connect_in_schema(&cfg, &schema).await {
            Ok(db) => db,
            Err(e) => Server::Postgres.absent(&e.to_string()),
        };
        db.migrate().await.expect("migrate");
        let api = Database::connect_for_tenants(&PostgresConfig {
            schema: Some(schema),
            ..cfg
        })
        .await
        .expect("connect for tenants");
        Self {
            store: Arc::new(db.clone()),
            api: Arc::new(api),
            pg: Some(db),
            dir: None,
        }
    }

    /// A fresh SQLite data folder.
    async fn sqlite() -> Self {
        let dir = std::env::temp_dir().join(unique_name("adpulse_agg"));
        let lite = Lite::open(&dir).await.expect("open sqlite");
        Self {
            store: Arc::new(lite.clone()),
            api: Arc::new(lite),
            pg: None,
            dir: Some(dir),
        }
    }

    async fn finish(mut self) {
        self.api.close().await;
        if let Some(db) = &self.pg {
            db.drop_schema().await.expect("drop schema");
        }
        self.store.close().await;
        if let Some(dir) = self.dir.take() {
            std::fs::remove_dir_all(&dir).expect("remove data folder");
        }
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        // A failed test leaves no data folder behind either.
        if let Some(dir) = self.dir.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Instantiates each test once per adapter.
macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    let b = super::Backend::postgres().await;
                    super::$name(&b.store, &b.api).await;
                    b.finish().await;
                }
            )*
        }
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let b = super::Backend::sqlite().await;
                    super::$name(&b.store, &b.api).await;
                    b.finish().await;
                }
            )*
        }
    };
}

conformance!(
    claims_fence_and_commits_apply_atomically,
    live_series_points_grow_across_commits_and_stop_at_the_window,
    totals_count_today_apart_and_list_active_campaigns,
    ranking_sums_equal_the_events_over_every_range,
    reports_by_local_day_read_local_days_unless_another_zone_wrote_nearby,
    reports_by_hour_day_and_total_with_breakdowns_in_utc,
    reports_in_a_half_hour_zone_from_minute_rows,
    unique_users_are_a_union_over_each_row_s_span,
    top_campaigns_rank_filter_and_limit,
    tenants_never_see_each_other_s_rows,
    rows_handed_one_at_a_time_match_and_stop_at_an_error,
    empty_ranges_give_no_rows,
    long_reports_read_every_bucket,
    unknown_zones_and_negative_limits_are_refused,
);

fn at(s: &str) -> DateTime<Utc> {
    s.parse().expect("time")
}

fn event_at(campaign: CampaignId, kind: &str, user: &str, cost: i64, at: &str) -> Event {
    event(campaign, kind, "search", user, cost, 0, at)
}

fn event(
    campaign: CampaignId,
    kind: &str,
    channel: &str,
    user: &str,
    cost: i64,
    revenue: i64,
    at: &str,
) -> Event {
    let json = serde_json::json!({
        "event_id": uuid::Uuid::now_v7().to_string(), "type": kind, "campaign_id": campaign.to_string(),
        "ad_id": "a", "channel": channel, "occurred_at": at,
        "user": {"device_id": user}, "cost_micros": cost, "revenue_micros": revenue,
    });
    serde_json::from_value(json).expect("event")
}

/// Commits `events` of `tenant` (counted in `zone`'s local days) as one
/// batch on a fresh claim of its own partition.
async fn load(store: &Store, tenant: TenantId, zone: chrono_tz::Tz, events: &[Event]) {
    let mut batch = AggregateBatch::default();
    for e in events {
        batch.add(e, tenant, zone).expect("sums fit");
    }
    let mut claim = store
        .claim_partition("load", &unique_name("t"), 0)
        .await
        .expect("claim");
    let n = events.len() as i64;
    assert!(matches!(
        store
            .commit_batch(&mut claim, n, &batch)
            .await
            .expect("commit"),
        Commit::Applied(_)
    ));
}

fn counts(c: [i64; 5]) -> Counts {
    Counts {
        impressions: c[0],
        clicks: c[1],
        conversions: c[2],
        cost_micros: c[3],
        revenue_micros: c[4],
    }
}

fn row(
    period_start: Option<&str>,
    day: Option<(i32, u32, u32)>,
    channel: Option<&str>,
    event_type: Option<&str>,
    c: [i64; 5],
    unique_users: i64,
) -> ReportRow {
    ReportRow {
        period_start: period_start.map(at),
        day: day.map(|(y, m, d)| NaiveDate::from_ymd_opt(y, m, d).expect("day")),
        channel: channel.map(str::to_owned),
        event_type: event_type.map(str::to_owned),
        counts: counts(c),
        unique_users,
    }
}

fn report_query(
    campaign: CampaignId,
    (from, to): (&str, &str),
    grain: Grain,
    tz: &str,
    granularity: Granularity,
    breakdown: Breakdown,
) -> CampaignReport {
    CampaignReport {
        campaign,
        from: at(from),
        to: at(to),
        grain,
        tz: tz.into(),
        granularity,
        breakdown,
    }
}

fn top_query(
    from: &str,
    to: &str,
    grain: Grain,
    by: RankBy,
    desc: bool,
    limit: i64,
) -> TopCampaigns {
    TopCampaigns {
        from: at(from),
        to: at(to),
        grain,
        status: None,
        brand_id: None,
        by,
        desc,
        limit,
    }
}

const BY_CHANNEL: Breakdown = Breakdown {
    channel: true,
    event_type: false,
};
const BY_TYPE: Breakdown = Breakdown {
    channel: false,
    event_type: true,
};
const BY_BOTH: Breakdown = Breakdown {
    channel: true,
    event_type: true,
};

async fn claims_fence_and_commits_apply_atomically(store: &Store, api: &Store) {
    let tenant = TenantId::from_uuid(uuid::Uuid::new_v4());
    let campaign = CampaignId::from_uuid(uuid::Uuid::new_v4());

    let mut first = store.claim_partition("g", "t", 3).await.expect("claim");
    assert_eq!((first.epoch, first.next_offset), (1, 0));
    assert_eq!(store.applied_offsets("g", "t").await.expect("offsets"), 0);

    let mut batch = AggregateBatch::default();
    for (i, user) in ["u1", "u2", "u1"].iter().enumerate() {
        batch
            .add(
                &event_at(
                    campaign,
                    "click",
                    user,
                    100 * (i as i64 + 1),
                    "2026-11-29T10:30:00Z",
                ),
                tenant,
                chrono_tz::Tz::UTC,
            )
            .expect("sums fit");
    }
    batch
        .add(
            &event_at(campaign, "impression", "u3", 7, "2026-11-29T10:30:00Z"),
            tenant,
            chrono_tz::Tz::UTC,
        )
        .expect("sums fit");
    assert_eq!(
        store
            .commit_batch(&mut first, 4, &batch)
            .await
            .expect("commit"),
        Commit::Applied(Vec::new()),
        "events older than the live window add no live point"
    );
    assert_eq!(first.next_offset, 4);

    // A second owner takes over; the first is now a zombie.
    let mut second = store.claim_partition("g", "t", 3).await.expect("claim");
    assert_eq!((second.epoch, second.next_offset), (2, 4));
    assert_eq!(
        store
            .commit_batch(&mut first, 8, &batch)
            .await
            .expect("commit"),
        Commit::Fenced,
        "zombie fenced"
    );
    assert_eq!(first.next_offset, 4, "a fenced claim does not move");
    // The owner's epoch but not where the partition is (a replay): fenced.
    let mut stale = Claim {
        next_offset: 0,
        ..second.clone()
    };
    assert_eq!(
        store
            .commit_batch(&mut stale, 4, &batch)
            .await
            .expect("commit"),
        Commit::Fenced,
        "a commit from the wrong offset is fenced"
    );
    let empty = AggregateBatch::default();
    assert_eq!(
        store
            .commit_batch(&mut second, 6, &empty)
            .await
            .expect("commit"),
        Commit::Applied(Vec::new())
    );
    assert_eq!(second.next_offset, 6);
    // Partitions add up; other groups and topics do not count.
    let mut other = store.claim_partition("g", "t", 0).await.expect("claim");
    store
        .commit_batch(&mut other, 10, &empty)
        .await
        .expect("commit");
    store.claim_partition("g2", "t", 0).await.expect("claim");
    assert_eq!(store.applied_offsets("g", "t").await.expect("offsets"), 16);
    assert_eq!(store.applied_offsets("g", "u").await.expect("offsets"), 0);
    // A new owner resumes where the last commit left the partition.
    let third = store.claim_partition("g", "t", 3).await.expect("claim");
    assert_eq!((third.epoch, third.next_offset), (3, 6));

    let totals = store.campaign_totals(&[campaign]).await.expect("totals");
    assert_eq!(totals.len(), 1);
    let t = &totals[0];
    assert_eq!(
        (t.impressions, t.clicks, t.conversions),
        (1, 3, 0),
        "neither the zombie's nor the replayed batch applied"
    );
    assert_eq!(t.cost_micros, 100 + 200 + 300 + 7);

    let reach = api
        .campaign_report(
            tenant,
            &report_query(
                campaign,
                ("2026-11-29T00:00:00Z", "2026-11-30T00:00:00Z"),
                Grain::Day,
                "UTC",
                Granularity::Total,
                Breakdown::default(),
            ),
        )
        .await
        .expect("report");
    assert_eq!(reach.len(), 1);
    assert_eq!(
        reach[0].unique_users, 3,
        "u1, u2, u3 across types: a union, not a sum (which would be 4)"
    );
}

async fn live_series_points_grow_across_commits_and_stop_at_the_window(
    store: &Store,
    _api: &Store,
) {
    let tenant = TenantId::from_uuid(uuid::Uuid::new_v4());
    let campaign = CampaignId::from_uuid(uuid::Uuid::new_v4());
    let other = CampaignId::from_uuid(uuid::Uuid::new_v4());
    let now = Utc::now();
    let ago = |secs: i64| {
        (now - Duration::seconds(secs)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    };
    let mut claim = store.claim_partition("g", "t", 0).await.expect("claim");

    // Two commits touch the same point: the second returns the sum of both.
    let mut total = Counts::default();
    for (round, kind) in ["impression", "click"].iter().enumerate() {
        let mut batch = AggregateBatch::default();
        let e = event_at(campaign, kind, "u", 10, &ago(30));
        total = total.plus(&e).expect("sums fit");
        batch.add(&e, tenant, chrono_tz::Tz::UTC).expect("sums fit");
        // Two hours old: counted in the aggregates, not in the live series.
        batch
            .add(
                &event_at(campaign, "impression", "u", 1, &ago(7200)),
                tenant,
                chrono_tz::Tz::UTC,
            )
            .expect("sums fit");
        let next = claim.next_offset + 2;
        let Commit::Applied(points) = store
            .commit_batch(&mut claim, next, &batch)
            .await
            .expect("commit")
        else {
            panic!("not fenced");
        };
        assert_eq!(points.len(), 1, "round {round}: only the recent point");
        assert_eq!(points[0].campaign_id, campaign);
        assert_eq!(
            points[0].start,
            live_point_start(now - Duration::seconds(30))
        );
        assert_eq!(
            points[0].counts, total,
            "round {round}: the point's committed totals"
        );
    }
    // Another campaign's points, older first in the series.
    let mut batch = AggregateBatch::default();
    for secs in [20, 600] {
        batch
            .add(
                &event_at(other, "conversion", "v", 3, &ago(secs)),
                tenant,
                chrono_tz::Tz::UTC,
            )
            .expect("sums fit");
    }
    let next = claim.next_offset + 2;
    let Commit::Applied(mut points) = store
        .commit_batch(&mut claim, next, &batch)
        .await
        .expect("commit")
    else {
        panic!("not fenced");
    };
    points.sort_by_key(|p| p.start);
    assert_eq!(
        points.iter().map(|p| p.start).collect::<Vec<_>>(),
        [
            live_point_start(now - Duration::seconds(600)),
            live_point_start(now - Duration::seconds(20))
        ]
    );

    let since = now - Duration::hours(1);
    let series = store.live_series(&[campaign], since).await.expect("series");
    assert_eq!(series.len(), 1);
    assert_eq!(
        (series[0].counts.impressions, series[0].counts.clicks),
        (1, 1)
    );
    let both = store
        .live_series(&[other, campaign], since)
        .await
        .expect("series");
    assert_eq!(both.len(), 3);
    let of_other: Vec<_> = both.iter().filter(|p| p.campaign_id == other).collect();
    assert!(
        of_other.windows(2).all(|w| w[0].start < w[1].start),
        "oldest point first"
    );
    assert_eq!(
        store
            .live_series(&[other], now - Duration::seconds(300))
            .await
            .expect("series")
            .len(),
        1,
        "from `since` on"
    );

    assert_eq!(
        store
            .prune_live_series(now - Duration::seconds(5))
            .await
            .expect("prune"),
        3
    );
    assert!(
        store
            .live_series(&[campaign, other], since)
            .await
            .expect("series")
            .is_empty()
    );
    // The aggregates kept everything, the two-hour-old events included.
    let totals = store.campaign_totals(&[campaign]).await.expect("totals");
    assert_eq!(totals[0].impressions, 3);
}

async fn totals_count_today_apart_and_list_active_campaigns(store: &Store, _api: &Store) {
    let tenant = TenantId::from_uuid(uuid::Uuid::new_v4());
    let (a, b, idle) = (
        CampaignId::from_uuid(uuid::Uuid::new_v4()),
        CampaignId::from_uuid(uuid::Uuid::new_v4()),
        CampaignId::from_uuid(uuid::Uuid::new_v4()),
    );
    let today = Grain::Day.bucket_start(Utc::now());
    let days_ago = |d: i64| (today - Duration::days(d) + Duration::hours(1)).to_rfc3339();
    let now = Utc::now().to_rfc3339();
    load(
        store,
        tenant,
        chrono_tz::Tz::UTC,
        &[
            event(a, "impression", "display", "u1", 10, 0, &now),
            event(a, "click", "search", "u1", 20, 5, &now),
            event(a, "conversion", "search", "u2", 0, 100, &days_ago(3)),
            event(a, "impression", "video", "u3", 40, 0, &days_ago(40)),
            event(b, "impression", "display", "u4", 1, 0, &days_ago(10)),
        ],
    )
    .await;
    let mut ids = vec![a, b, idle];
    ids.sort();
    let totals = store.campaign_totals(&ids).await.expect("totals");
    let mut want_ids = vec![a, b];
    want_ids.sort();
    assert_eq!(
        totals.iter().map(|t| t.campaign_id).collect::<Vec<_>>(),
        want_ids,
        "campaigns without events are left out; in id order"
    );
    let ta = totals.iter().find(|t| t.campaign_id == a).expect("a");
    assert_eq!(
        (
            ta.impressions,
            ta.clicks,
            ta.conversions,
            ta.cost_micros,
            ta.revenue_micros
        ),
        (2, 1, 1, 70, 105)
    );
    assert_eq!(ta.today, counts([1, 1, 0, 30, 5]));
    let tb = totals.iter().find(|t| t.campaign_id == b).expect("b");
    assert_eq!(tb.today, Counts::default());
    assert_eq!(tb.impressions, 1);

    let mut active = store
        .campaigns_active_since(today - Duration::days(5))
        .await
        .expect("active");
    active.sort();
    assert_eq!(active, [a]);
    let mut active = store
        .campaigns_active_since(today - Duration::days(20))
        .await
        .expect("active");
    active.sort();
    assert_eq!(active, want_ids);
    assert!(
        store
            .campaigns_active_since(today + Duration::days(1))
            .await
            .expect("active")
            .is_empty()
    );
}

/// Whatever the order events arrive in (late ones, gaps of days between a
/// campaign's events, a campaign's first day moving earlier), the sums
/// over every range of days equal a reference summed from the events
/// themselves, over UTC days and over hour rows.
async fn ranking_sums_equal_the_events_over_every_range(store: &Store, api: &Store) {
    let tenant = store.create_tenant("ranking").await.expect("tenant");
    let mut campaigns = Vec::new();
    for i in 0..4 {
        campaigns.push(
            store
                .create_campaign(tenant, &format!("c{i}"), None)
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
    let mut claim = store.claim_partition("g", "rank", 0).await.expect("claim");
    let mut offset = 0;
    for chunk in events.chunks(7) {
        let mut batch = AggregateBatch::default();
        for e in chunk {
            batch.add(e, tenant, chrono_tz::Tz::UTC).expect("sums fit");
        }
        offset += chunk.len() as i64;
        store
            .commit_batch(&mut claim, offset, &batch)
            .await
            .expect("commit");
    }
    let mut ranges = 0;
    let midnight = |d: i64| {
        Utc.from_utc_datetime(
            &(start + Duration::days(d))
                .and_hms_opt(0, 0, 0)
                .expect("midnight"),
        )
    };
    for from in (-2..42i64).step_by(3) {
        for len in [1i64, 2, 5, 7, 13, 30, 44] {
            let mut want: BTreeMap<usize, [i64; 3]> = BTreeMap::new();
            for ((i, day), r) in &reference {
                if *day >= from && *day < from + len {
                    let w = want.entry(*i).or_default();
                    for k in 0..3 {
                        w[k] += r[k];
                    }
                }
            }
            for grain in [Grain::Day, Grain::Hour] {
                let q = TopCampaigns {
                    from: midnight(from),
                    to: midnight(from + len),
                    grain,
                    status: None,
                    brand_id: None,
                    by: RankBy::Spend,
                    desc: true,
                    limit: 10,
                };
                let ranked = api.top_campaigns(tenant, &q).await.expect("top");
                assert!(
                    ranked
                        .windows(2)
                        .all(|w| w[0].counts.cost_micros >= w[1].counts.cost_micros),
                    "by spend, descending"
                );
                assert!(ranked.iter().all(|r| r.unique_users == 1), "one person");
                let got: BTreeMap<usize, [i64; 3]> = ranked
                    .into_iter()
                    .map(|r| {
                        let i = campaigns.iter().position(|c| *c == r.id).expect("known");
                        (
                            i,
                            [r.counts.impressions, r.counts.clicks, r.counts.cost_micros],
                        )
                    })
                    .collect();
                assert_eq!(got, want, "{grain:?}: days {from}..{}", from + len);
            }
            ranges += 1;
        }
    }
    assert_eq!(ranges, 15 * 7);
}

/// A report by day in the campaign's zone reads its local-day rows, and
/// falls back to the requested grain's rows (still exact) near rows
/// written under another zone, as after a change of the campaign's zone.
async fn reports_by_local_day_read_local_days_unless_another_zone_wrote_nearby(
    store: &Store,
    api: &Store,
) {
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

async fn reports_by_hour_day_and_total_with_breakdowns_in_utc(store: &Store, api: &Store) {
    let tenant = store.create_tenant("utc").await.expect("tenant");
    let c = store
        .create_campaign(tenant, "utc", None)
        .await
        .expect("campaign");
    load(
        store,
        tenant,
        chrono_tz::Tz::UTC,
        &[
            event(
                c,
                "impression",
                "display",
                "u1",
                100,
                0,
                "2026-11-29T10:05:00Z",
            ),
            event(c, "click", "display", "u1", 50, 0, "2026-11-29T10:50:30Z"),
            event(
                c,
                "impression",
                "search",
                "u2",
                30,
                0,
                "2026-11-29T11:10:00Z",
            ),
            event(
                c,
                "conversion",
                "search",
                "u3",
                0,
                500,
                "2026-11-30T09:00:00Z",
            ),
            event(
                c,
                "impression",
                "display",
                "u2",
                10,
                0,
                "2026-11-30T23:59:59Z",
            ),
            // Outside the range, on both sides.
            event(
                c,
                "impression",
                "display",
                "u9",
                1,
                0,
                "2026-12-01T00:00:00Z",
            ),
            event(
                c,
                "impression",
                "display",
                "u9",
                1,
                0,
                "2026-11-28T23:59:59Z",
            ),
        ],
    )
    .await;
    let range = ("2026-11-29T00:00:00Z", "2026-12-01T00:00:00Z");
    let report = |grain: Grain, granularity: Granularity, breakdown: Breakdown| {
        let q = report_query(c, range, grain, "UTC", granularity, breakdown);
        async move { api.campaign_report(tenant, &q).await.expect("report") }
    };
    let by_hour = vec![
        row(
            Some("2026-11-29T10:00:00Z"),
            None,
            None,
            None,
            [1, 1, 0, 150, 0],
            1,
        ),
        row(
            Some("2026-11-29T11:00:00Z"),
            None,
            None,
            None,
            [1, 0, 0, 30, 0],
            1,
        ),
        row(
            Some("2026-11-30T09:00:00Z"),
            None,
            None,
            None,
            [0, 0, 1, 0, 500],
            1,
        ),
        row(
            Some("2026-11-30T23:00:00Z"),
            None,
            None,
            None,
            [1, 0, 0, 10, 0],
            1,
        ),
    ];
    for grain in [Grain::Minute, Grain::Hour] {
        assert_eq!(
            report(grain, Granularity::Hour, Breakdown::default()).await,
            by_hour,
            "{grain:?}"
        );
    }
    let by_day_and_channel = vec![
        row(
            None,
            Some((2026, 11, 29)),
            Some("display"),
            None,
            [1, 1, 0, 150, 0],
            1,
        ),
        row(
            None,
            Some((2026, 11, 29)),
            Some("search"),
            None,
            [1, 0, 0, 30, 0],
            1,
        ),
        row(
            None,
            Some((2026, 11, 30)),
            Some("display"),
            None,
            [1, 0, 0, 10, 0],
            1,
        ),
        row(
            None,
            Some((2026, 11, 30)),
            Some("search"),
            None,
            [0, 0, 1, 0, 500],
            1,
        ),
    ];
    let by_type = vec![
        row(None, None, None, Some("click"), [0, 1, 0, 50, 0], 1),
        row(None, None, None, Some("conversion"), [0, 0, 1, 0, 500], 1),
        row(None, None, None, Some("impression"), [3, 0, 0, 140, 0], 2),
    ];
    let by_both = vec![
        row(
            None,
            None,
            Some("display"),
            Some("click"),
            [0, 1, 0, 50, 0],
            1,
        ),
        row(
            None,
            None,
            Some("display"),
            Some("impression"),
            [2, 0, 0, 110, 0],
            2,
        ),
        row(
            None,
            None,
            Some("search"),
            Some("conversion"),
            [0, 0, 1, 0, 500],
            1,
        ),
        row(
            None,
            None,
            Some("search"),
            Some("impression"),
            [1, 0, 0, 30, 0],
            1,
        ),
    ];
    let total = vec![row(None, None, None, None, [3, 1, 1, 190, 500], 3)];
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
    assert_eq!(
        report(Grain::Day, Granularity::Day, Breakdown::default()).await,
        vec![
            row(None, Some((2026, 11, 29)), None, None, [2, 1, 0, 180, 0], 2),
            row(
                None,
                Some((2026, 11, 30)),
                None,
                None,
                [1, 0, 1, 10, 500],
                2
            ),
        ]
    );
}

async fn reports_in_a_half_hour_zone_from_minute_rows(store: &Store, api: &Store) {
    let tenant = store.create_tenant("kolkata").await.expect("tenant");
    let c = store
        .create_campaign(tenant, "kolkata", None)
        .await
        .expect("campaign");
    let kolkata = chrono_tz::Asia::Kolkata;
    load(
        store,
        tenant,
        kolkata,
        &[
            // 23:59 on 29 November in Kolkata.
            event(
                c,
                "impression",
                "display",
                "u1",
                1,
                0,
                "2026-11-29T18:29:00Z",
            ),
            // 00:00 and 00:15 on 30 November.
            event(
                c,
                "impression",
                "display",
                "u2",
                2,
                0,
                "2026-11-29T18:30:00Z",
            ),
            event(c, "click", "social", "u2", 4, 0, "2026-11-29T18:45:00Z"),
            // 09:30 on 30 November.
            event(
                c,
                "impression",
                "social",
                "u3",
                8,
                0,
                "2026-11-30T04:00:00Z",
            ),
            // 00:00 on 1 December: outside.
            event(
                c,
                "impression",
                "social",
                "u9",
                16,
                0,
                "2026-11-30T18:30:00Z",
            ),
        ],
    )
    .await;
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
    assert_eq!(
        report(Granularity::Hour, Breakdown::default()).await,
        vec![
            row(
                Some("2026-11-29T17:30:00Z"),
                None,
                None,
                None,
                [1, 0, 0, 1, 0],
                1
            ),
            row(
                Some("2026-11-29T18:30:00Z"),
                None,
                None,
                None,
                [1, 1, 0, 6, 0],
                1
            ),
            row(
                Some("2026-11-30T03:30:00Z"),
                None,
                None,
                None,
                [1, 0, 0, 8, 0],
                1
            ),
        ]
    );
    assert_eq!(
        report(Granularity::Hour, BY_CHANNEL).await,
        vec![
            row(
                Some("2026-11-29T17:30:00Z"),
                None,
                Some("display"),
                None,
                [1, 0, 0, 1, 0],
                1
            ),
            row(
                Some("2026-11-29T18:30:00Z"),
                None,
                Some("display"),
                None,
                [1, 0, 0, 2, 0],
                1
            ),
            row(
                Some("2026-11-29T18:30:00Z"),
                None,
                Some("social"),
                None,
                [0, 1, 0, 4, 0],
                1
            ),
            row(
                Some("2026-11-30T03:30:00Z"),
                None,
                Some("social"),
                None,
                [1, 0, 0, 8, 0],
                1
            ),
        ]
    );
    assert_eq!(
        report(Granularity::Day, Breakdown::default()).await,
        vec![
            row(None, Some((2026, 11, 29)), None, None, [1, 0, 0, 1, 0], 1),
            row(None, Some((2026, 11, 30)), None, None, [2, 1, 0, 14, 0], 2),
        ]
    );
    assert_eq!(
        report(Granularity::Day, BY_TYPE).await,
        vec![
            row(
                None,
                Some((2026, 11, 29)),
                None,
                Some("impression"),
                [1, 0, 0, 1, 0],
                1
            ),
            row(
                None,
                Some((2026, 11, 30)),
                None,
                Some("click"),
                [0, 1, 0, 4, 0],
                1
            ),
            row(
                None,
                Some((2026, 11, 30)),
                None,
                Some("impression"),
                [2, 0, 0, 10, 0],
                2
            ),
        ]
    );
    assert_eq!(
        report(Granularity::Total, Breakdown::default()).await,
        vec![row(None, None, None, None, [3, 1, 0, 15, 0], 3)]
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

async fn unique_users_are_a_union_over_each_row_s_span(store: &Store, api: &Store) {
    let tenant = store.create_tenant("reach").await.expect("tenant");
    let c = store
        .create_campaign(tenant, "reach", None)
        .await
        .expect("campaign");
    let big = store
        .create_campaign(tenant, "big", None)
        .await
        .expect("campaign");
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
    for chunk in events.chunks(1_500) {
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

async fn top_campaigns_rank_filter_and_limit(store: &Store, api: &Store) {
    let tenant = store.create_tenant("top").await.expect("tenant");
    let mut ids = Vec::new();
    for name in ["a", "b", "c", "d", "late", "gone"] {
        ids.push(
            store
                .create_campaign(tenant, name, None)
                .await
                .expect("campaign"),
        );
    }
    let [a, b, c, d, late, gone] = ids[..] else {
        panic!("six campaigns");
    };
    let on = "2026-11-29T12:00:00Z";
    let mut events = vec![
        // a: spend 300, 1 impression, 2 people.
        event(a, "impression", "display", "p1", 100, 0, on),
        event(a, "click", "display", "p2", 200, 0, on),
        // b: spend 100, 3 impressions, revenue 1000.
        event(b, "impression", "display", "p1", 40, 0, on),
        event(b, "impression", "search", "p1", 30, 0, on),
        event(b, "impression", "search", "p1", 30, 1_000, on),
        // c and d: spend 200 each, a tie broken by id.
        event(c, "impression", "display", "p3", 200, 0, on),
        event(d, "conversion", "display", "p4", 200, 0, on),
        // Only after the range.
        event(
            late,
            "impression",
            "display",
            "p5",
            999,
            0,
            "2026-11-30T00:00:00Z",
        ),
        // Deleted.
        event(gone, "impression", "display", "p6", 5_000, 0, on),
    ];
    events.push(event(
        a,
        "impression",
        "native",
        "p1",
        0,
        0,
        "2026-11-29T00:00:00Z",
    ));
    load(store, tenant, chrono_tz::Tz::UTC, &events).await;

    let record = store
        .campaign(tenant, gone)
        .await
        .expect("campaign")
        .expect("exists");
    assert!(matches!(
        store
            .delete_campaign_at(tenant, gone, record.version)
            .await
            .expect("delete"),
        Updated::Done(_)
    ));
    let record = store
        .campaign(tenant, b)
        .await
        .expect("campaign")
        .expect("exists");
    assert!(matches!(
        store
            .set_campaign_status(tenant, b, record.version, CampaignStatus::Paused)
            .await
            .expect("pause"),
        Updated::Done(_)
    ));
    let record = store
        .campaign(tenant, c)
        .await
        .expect("campaign")
        .expect("exists");
    let mut fields = record.fields.clone();
    fields.brand_id = Some("acme".into());
    assert!(matches!(
        store
            .update_campaign(tenant, c, record.version, &fields)
            .await
            .expect("brand"),
        Updated::Done(_)
    ));

    let (from, to) = ("2026-11-29T00:00:00Z", "2026-11-30T00:00:00Z");
    let (first_tie, second_tie) = if c < d { (c, d) } else { (d, c) };
    let top = |q: TopCampaigns| async move {
        api.top_campaigns(tenant, &q)
            .await
            .expect("top")
            .into_iter()
            .map(|r| r.id)
            .collect::<Vec<_>>()
    };
    for grain in [Grain::Day, Grain::Hour, Grain::Minute] {
        let q = |by: RankBy, desc: bool, limit: i64| top_query(from, to, grain, by, desc, limit);
        assert_eq!(
            top(q(RankBy::Spend, true, 10)).await,
            [a, first_tie, second_tie, b],
            "{grain:?}: by spend, ties by id; nothing outside the range or deleted"
        );
        assert_eq!(
            top(q(RankBy::Spend, false, 10)).await,
            [b, first_tie, second_tie, a],
            "{grain:?}: ascending, ties still by id"
        );
        assert_eq!(top(q(RankBy::Spend, true, 2)).await, [a, first_tie]);
        assert!(top(q(RankBy::Spend, true, 0)).await.is_empty());
        assert_eq!(top(q(RankBy::Impressions, true, 1)).await, [b]);
        assert_eq!(top(q(RankBy::Revenue, true, 1)).await, [b]);
        assert_eq!(top(q(RankBy::Clicks, true, 1)).await, [a]);
        assert_eq!(top(q(RankBy::Conversions, true, 1)).await, [d]);
        let mut paused = q(RankBy::Spend, true, 10);
        paused.status = Some("paused".into());
        assert_eq!(top(paused).await, [b]);
        let mut acme = q(RankBy::Spend, true, 10);
        acme.brand_id = Some("acme".into());
        assert_eq!(top(acme).await, [c]);
        let mut none = q(RankBy::Spend, true, 10);
        none.status = Some("draft".into());
        assert!(top(none).await.is_empty());
    }
    let full = api
        .top_campaigns(
            tenant,
            &top_query(from, to, Grain::Day, RankBy::Spend, true, 10),
        )
        .await
        .expect("top");
    assert_eq!(
        full[0],
        RankedCampaign {
            id: a,
            name: "a".into(),
            status: "active".into(),
            brand_id: None,
            counts: counts([2, 1, 0, 300, 0]),
            unique_users: 2,
        }
    );
    let rb = full.iter().find(|r| r.id == b).expect("b");
    assert_eq!(
        (rb.status.as_str(), rb.counts, rb.unique_users),
        ("paused", counts([3, 0, 0, 100, 1_000]), 1)
    );
    let rc = full.iter().find(|r| r.id == c).expect("c");
    assert_eq!(rc.brand_id.as_deref(), Some("acme"));
    // Over UTC days, a range that does not start or end at midnight counts
    // the whole days it touches from its first; the last day is the one
    // before `to`'s.
    let wider = api
        .top_campaigns(
            tenant,
            &top_query(
                "2026-11-29T06:00:00Z",
                "2026-11-30T06:00:00Z",
                Grain::Day,
                RankBy::Spend,
                true,
                10,
            ),
        )
        .await
        .expect("top");
    assert_eq!(wider, full);
}

async fn tenants_never_see_each_other_s_rows(store: &Store, api: &Store) {
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

async fn rows_handed_one_at_a_time_match_and_stop_at_an_error(store: &Store, api: &Store) {
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

async fn empty_ranges_give_no_rows(store: &Store, api: &Store) {
    let tenant = store.create_tenant("empty").await.expect("tenant");
    let c = store
        .create_campaign(tenant, "quiet", None)
        .await
        .expect("campaign");
    load(
        store,
        tenant,
        chrono_tz::Tz::UTC,
        &[event(
            c,
            "impression",
            "display",
            "u",
            1,
            0,
            "2026-11-29T12:00:00Z",
        )],
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
async fn long_reports_read_every_bucket(store: &Store, api: &Store) {
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
    assert_eq!(
        total,
        vec![row(
            None,
            None,
            None,
            None,
            [n, 0, 0, n * (n - 1) / 2, 0],
            700
        )]
    );
}

async fn unknown_zones_and_negative_limits_are_refused(store: &Store, api: &Store) {
    let tenant = store.create_tenant("refused").await.expect("tenant");
    let c = store
        .create_campaign(tenant, "refused", None)
        .await
        .expect("campaign");
    load(
        store,
        tenant,
        chrono_tz::Tz::UTC,
        &[event(
            c,
            "impression",
            "display",
            "u",
            1,
            0,
            "2026-11-29T12:00:00Z",
        )],
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
