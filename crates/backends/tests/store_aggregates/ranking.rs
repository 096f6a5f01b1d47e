//! Ranking: sums equal the events over every range of days whatever
//! order they arrived in, and top campaigns rank by every measure, filter
//! and limit.

use std::collections::BTreeMap;

use adpulse_domain::aggregate::{AggregateBatch, Grain};
use adpulse_domain::report::RankBy;
use adpulse_domain::store::{RankedCampaign, TopCampaigns, Updated};
use adpulse_domain::{CampaignId, CampaignStatus, Event, TenantId};
use chrono::{Duration, NaiveDate, TimeZone as _, Utc};

use crate::common::{Env, Store, conformance};
use crate::support::{counts, event, event_at, load, top_query};

conformance!("agg", None;
    ranking_sums_equal_the_events_over_every_range,
    top_campaigns_rank_filter_and_limit,
);

/// Whatever the order events arrive in (late ones, gaps of days between a
/// campaign's events, a campaign's first day moving earlier), the sums
/// over every range of days equal a reference summed from the events
/// themselves, over UTC days and over hour rows.
async fn ranking_sums_equal_the_events_over_every_range(env: &Env) {
    let (store, api) = (&env.store, &env.api);
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
    let start = NaiveDate::from_ymd_opt(2026, 9, 1).expect("date");
    let (events, reference) = shuffled_events(&campaigns, start);
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
    let ranges = check_every_range(api, tenant, &campaigns, &reference, start).await;
    assert_eq!(ranges, 15 * 7);
}

/// `(campaign index, day)` → impressions, clicks, cost.
type Reference = BTreeMap<(usize, i64), [i64; 3]>;

/// Events of `campaigns` over 40 days from `start`, in a shuffled order,
/// and the reference summed from them.
fn shuffled_events(campaigns: &[CampaignId], start: NaiveDate) -> (Vec<Event>, Reference) {
    // Days 0..40 from a fixed start; campaign i is active on days where
    // (day * (i + 2)) % 7 < 3, so each has gaps of several days.
    let mut seed = 0x2545_f491_u64;
    let mut next = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let mut events = Vec::new();
    let mut reference = Reference::new();
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
    (events, reference)
}

/// Every range of days from -2 on, over UTC days and hour rows, against
/// the reference; returns how many ranges were checked.
async fn check_every_range(
    api: &Store,
    tenant: TenantId,
    campaigns: &[CampaignId],
    reference: &Reference,
    start: NaiveDate,
) -> usize {
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
            for ((i, day), r) in reference {
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
    ranges
}

async fn top_campaigns_rank_filter_and_limit(env: &Env) {
    let (store, api) = (&env.store, &env.api);
    let tenant = store.create_tenant("top").await.expect("tenant");
    let ids = six_campaigns_with_spend(store, tenant).await;
    let [a, b, c, _, _, gone] = ids;
    delete_pause_and_brand(store, tenant, (gone, b, c)).await;
    ranks_by_every_measure_and_filter(api, tenant, ids).await;
    ranked_rows_carry_the_campaign_and_its_sums(api, tenant, (a, b, c)).await;
}

/// Campaigns a, b, c, d, late and gone, with events of 29 November 2026
/// (late's only after it).
async fn six_campaigns_with_spend(store: &Store, tenant: TenantId) -> [CampaignId; 6] {
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
    [a, b, c, d, late, gone]
}

/// Deletes `gone`, pauses `b` and gives `c` the brand "acme".
async fn delete_pause_and_brand(
    store: &Store,
    tenant: TenantId,
    (gone, b, c): (CampaignId, CampaignId, CampaignId),
) {
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
}

const DAY: (&str, &str) = ("2026-11-29T00:00:00Z", "2026-11-30T00:00:00Z");

async fn ranks_by_every_measure_and_filter(api: &Store, tenant: TenantId, ids: [CampaignId; 6]) {
    let [a, b, c, d, _, _] = ids;
    let (from, to) = DAY;
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
}

async fn ranked_rows_carry_the_campaign_and_its_sums(
    api: &Store,
    tenant: TenantId,
    (a, b, c): (CampaignId, CampaignId, CampaignId),
) {
    let (from, to) = DAY;
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
