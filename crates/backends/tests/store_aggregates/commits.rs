//! The stream worker's side: claims fence earlier owners, a commit
//! applies its deltas and its offset together, the live series grows and
//! is pruned, and totals count today apart.

use adpulse_domain::aggregate::{AggregateBatch, Counts, Grain, live_point_start};
use adpulse_domain::report::{Breakdown, Granularity};
use adpulse_domain::store::{Applied, Claim, Commit};
use adpulse_domain::{CampaignId, TenantId};
use chrono::{DateTime, Duration, Utc};

use crate::common::{Env, Store, conformance};
use crate::support::{counts, event, event_at, load, report_query};

conformance!("agg", None;
    claims_fence_and_commits_apply_atomically,
    live_series_points_grow_across_commits_and_stop_at_the_window,
    totals_count_today_apart_and_list_active_campaigns,
    commits_hand_back_the_totals_reads_answer,
);

/// Commits that extend a campaign's days before, between and after the
/// days it has (today, yesterday, a gap, a week back, tomorrow's early
/// events) each hand back exactly the totals a read answers afterwards:
/// the worker writes its live counters from them without reading.
async fn commits_hand_back_the_totals_reads_answer(env: &Env) {
    let store = &env.store;
    let tenant = TenantId::from_uuid(uuid::Uuid::new_v4());
    let campaign = CampaignId::from_uuid(uuid::Uuid::new_v4());
    let now = Utc::now();
    let at = |days: i64, secs: i64| {
        (now - Duration::days(days) - Duration::seconds(secs))
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    };
    let rounds: [&[(i64, &str, i64)]; 5] = [
        &[(0, "impression", 5)],
        &[(1, "click", 7), (0, "conversion", 11)],
        &[(3, "impression", 13), (1, "impression", 17)],
        &[(7, "click", 19), (0, "click", 23), (2, "conversion", 29)],
        &[(-1, "impression", 31), (1, "click", 37)],
    ];
    let mut claim = store
        .claim_partition("totals", &adpulse_testkit::unique_name("t"), 0)
        .await
        .expect("claim");
    for (round, events) in rounds.iter().enumerate() {
        let mut batch = AggregateBatch::default();
        for (i, (days, kind, cost)) in events.iter().enumerate() {
            let e = event_at(campaign, kind, "u", *cost, &at(*days, 60 + i as i64));
            batch.add(&e, tenant, chrono_tz::Tz::UTC).expect("sums fit");
        }
        let next = claim.next_offset + events.len() as i64;
        let Commit::Applied(applied) = store
            .commit_batch(&mut claim, next, &batch)
            .await
            .expect("commit")
        else {
            panic!("not fenced");
        };
        let read = store.campaign_totals(&[campaign]).await.expect("totals");
        assert_eq!(applied.totals, read, "round {round}");
    }
}

async fn claims_fence_and_commits_apply_atomically(env: &Env) {
    let (store, api) = (&env.store, &env.api);
    let tenant = TenantId::from_uuid(uuid::Uuid::new_v4());
    let campaign = CampaignId::from_uuid(uuid::Uuid::new_v4());
    let (first, batch) = first_owner_commits(store, tenant, campaign).await;
    second_owner_fences_the_first(store, first, &batch).await;
    only_the_owner_s_batch_counted(store, api, tenant, campaign).await;
}

/// The first owner of partition 3 of ("g", "t") claims it and commits four
/// events of `campaign`; returns its claim and the batch, to replay.
async fn first_owner_commits(
    store: &Store,
    tenant: TenantId,
    campaign: CampaignId,
) -> (Claim, AggregateBatch) {
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
    let Commit::Applied(applied) = store
        .commit_batch(&mut first, 4, &batch)
        .await
        .expect("commit")
    else {
        panic!("not fenced");
    };
    assert_eq!(
        applied.points,
        Vec::new(),
        "events older than the live window add no live point"
    );
    assert_eq!(first.next_offset, 4);
    (first, batch)
}

/// A second owner takes over: the first and a replay from the wrong offset
/// are fenced, offsets add up per group and topic, and a third owner
/// resumes where the second left the partition.
async fn second_owner_fences_the_first(store: &Store, mut first: Claim, batch: &AggregateBatch) {
    // A second owner takes over; the first is now a zombie.
    let mut second = store.claim_partition("g", "t", 3).await.expect("claim");
    assert_eq!((second.epoch, second.next_offset), (2, 4));
    assert_eq!(
        store
            .commit_batch(&mut first, 8, batch)
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
            .commit_batch(&mut stale, 4, batch)
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
        Commit::Applied(Applied::default())
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
}

async fn only_the_owner_s_batch_counted(
    store: &Store,
    api: &Store,
    tenant: TenantId,
    campaign: CampaignId,
) {
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

async fn live_series_points_grow_across_commits_and_stop_at_the_window(env: &Env) {
    let store = &env.store;
    let tenant = TenantId::from_uuid(uuid::Uuid::new_v4());
    let campaign = CampaignId::from_uuid(uuid::Uuid::new_v4());
    let other = CampaignId::from_uuid(uuid::Uuid::new_v4());
    let now = Utc::now();
    let mut claim = store.claim_partition("g", "t", 0).await.expect("claim");
    commits_sum_into_one_point(store, &mut claim, (tenant, campaign), now).await;
    points_come_back_in_time_order(store, &mut claim, (tenant, other), now).await;
    series_read_from_since_and_prune(store, (campaign, other), now).await;
}

/// The time `secs` seconds before `now`, as an event's `occurred_at`.
fn ago(now: DateTime<Utc>, secs: i64) -> String {
    (now - Duration::seconds(secs)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Two commits touch the same point of `campaign`: each returns the
/// point's committed totals.
async fn commits_sum_into_one_point(
    store: &Store,
    claim: &mut Claim,
    (tenant, campaign): (TenantId, CampaignId),
    now: DateTime<Utc>,
) {
    let ago = |secs| ago(now, secs);
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
        let Commit::Applied(Applied { points, totals }) = store
            .commit_batch(claim, next, &batch)
            .await
            .expect("commit")
        else {
            panic!("not fenced");
        };
        assert_eq!(
            totals,
            store.campaign_totals(&[campaign]).await.expect("totals"),
            "round {round}: the commit hands back the totals it committed"
        );
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
}

async fn points_come_back_in_time_order(
    store: &Store,
    claim: &mut Claim,
    (tenant, other): (TenantId, CampaignId),
    now: DateTime<Utc>,
) {
    let ago = |secs| ago(now, secs);
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
    let Commit::Applied(Applied { mut points, totals }) = store
        .commit_batch(claim, next, &batch)
        .await
        .expect("commit")
    else {
        panic!("not fenced");
    };
    assert_eq!(
        totals,
        store.campaign_totals(&[other]).await.expect("totals"),
        "the commit hands back the totals it committed"
    );
    points.sort_by_key(|p| p.start);
    assert_eq!(
        points.iter().map(|p| p.start).collect::<Vec<_>>(),
        [
            live_point_start(now - Duration::seconds(600)),
            live_point_start(now - Duration::seconds(20))
        ]
    );
}

/// The series from `since` on, the oldest point first; pruning drops
/// the points, never the aggregates.
async fn series_read_from_since_and_prune(
    store: &Store,
    (campaign, other): (CampaignId, CampaignId),
    now: DateTime<Utc>,
) {
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

async fn totals_count_today_apart_and_list_active_campaigns(env: &Env) {
    let store = &env.store;
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
