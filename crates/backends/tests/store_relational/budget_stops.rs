//! Budget stops and what they are decided on: stops written by the
//! alerter's fenced commits (set, replaced, lifted), read back by the
//! alerter (`recorded_stop`), the API (`budget_stop`, per tenant) and the
//! gateway (`Directory::budget_stops`, only those in force); and a
//! campaign's totals split at a local midnight (`day_base`) after real
//! aggregate commits.

use adpulse_domain::aggregate::{AggregateBatch, Counts};
use adpulse_domain::alert::ledger::{AlertCommit, DayBase, StopWrite};
use adpulse_domain::budget::{BudgetStop, StoppedCampaign};
use adpulse_domain::store::Commit;
use adpulse_domain::{Event, EventType};
use chrono_tz::Tz;
use serde_json::json;

use crate::alert_ledger::{GROUP, TOPIC, record};
use crate::support::*;

conformance!("stops", Some(3);
    a_committed_stop_is_read_and_listed,
    a_passed_daily_stop_is_recorded_but_not_listed,
    lifting_deletes_the_stop,
    a_fenced_commit_writes_no_stop,
    another_tenant_reads_no_stop,
    day_base_splits_the_totals_at_the_local_midnight,
);

/// Now, at the microsecond (as both stores keep instants).
fn now() -> DateTime<Utc> {
    DateTime::from_timestamp_micros(Utc::now().timestamp_micros()).expect("now")
}

fn stopped(
    campaign: CampaignId,
    stop: BudgetStop,
    until: Option<DateTime<Utc>>,
) -> StoppedCampaign {
    StoppedCampaign {
        campaign,
        stop,
        since: at("2026-12-03T09:30:00.123456Z"),
        until,
    }
}

fn set(t: TenantId, s: StoppedCampaign) -> StopWrite {
    StopWrite {
        campaign: s.campaign,
        tenant: t,
        stop: Some(s),
    }
}

fn lift(t: TenantId, campaign: CampaignId) -> StopWrite {
    StopWrite {
        campaign,
        tenant: t,
        stop: None,
    }
}

async fn write(env: &Env, stops: Vec<StopWrite>) {
    record(
        env,
        &AlertCommit {
            stops,
            ..AlertCommit::default()
        },
    )
    .await;
}

async fn new_campaign(env: &Env, t: TenantId) -> CampaignId {
    env.store
        .create_campaign(t, &unique_name("spring"), None)
        .await
        .expect("campaign")
}

async fn listed(env: &Env) -> Vec<StoppedCampaign> {
    env.store.budget_stops().await.expect("stops in force")
}

async fn recorded(env: &Env, campaign: CampaignId) -> Option<StoppedCampaign> {
    env.store
        .recorded_stop(campaign)
        .await
        .expect("recorded stop")
}

async fn shown(env: &Env, t: TenantId, campaign: CampaignId) -> Option<StoppedCampaign> {
    env.api.budget_stop(t, campaign).await.expect("budget stop")
}

/// A total stop (no end) and a daily one ending later are read back as
/// written by the alerter and the API and listed for the gateway, across
/// tenants; a later commit replaces a campaign's stop.
async fn a_committed_stop_is_read_and_listed(env: &Env) {
    let (a, b) = (tenant(env, "a").await, tenant(env, "b").await);
    let (spent, today) = (new_campaign(env, a).await, new_campaign(env, b).await);
    let total = stopped(spent, BudgetStop::Total, None);
    let daily = stopped(today, BudgetStop::Daily, Some(now() + Duration::hours(1)));
    write(env, vec![set(a, total), set(b, daily)]).await;

    assert_eq!(recorded(env, spent).await, Some(total));
    assert_eq!(recorded(env, today).await, Some(daily));
    assert_eq!(shown(env, a, spent).await, Some(total));
    assert_eq!(shown(env, b, today).await, Some(daily));
    let mut both = vec![total, daily];
    both.sort_by_key(|s| s.campaign);
    assert_eq!(listed(env).await, both, "every tenant's, by campaign");
    let never = CampaignId::from_uuid(Uuid::now_v7());
    assert_eq!(recorded(env, never).await, None);

    // The daily cap was reached first; the total later, the same day.
    let replaced = StoppedCampaign {
        since: daily.since + Duration::minutes(5),
        ..stopped(today, BudgetStop::Total, None)
    };
    write(env, vec![set(b, replaced)]).await;
    assert_eq!(recorded(env, today).await, Some(replaced));
    assert_eq!(shown(env, b, today).await, Some(replaced));
    assert!(listed(env).await.contains(&replaced));
}

/// A daily stop whose local day is over no longer stops the campaign:
/// the gateway does not list it, while the alerter and the API still read
/// it until it is lifted.
async fn a_passed_daily_stop_is_recorded_but_not_listed(env: &Env) {
    let a = tenant(env, "a").await;
    let (yesterday, today) = (new_campaign(env, a).await, new_campaign(env, a).await);
    let passed = stopped(
        yesterday,
        BudgetStop::Daily,
        Some(now() - Duration::seconds(1)),
    );
    let current = stopped(
        today,
        BudgetStop::Daily,
        Some(now() + Duration::minutes(10)),
    );
    write(env, vec![set(a, passed), set(a, current)]).await;

    assert_eq!(listed(env).await, [current]);
    assert_eq!(recorded(env, yesterday).await, Some(passed));
    assert_eq!(shown(env, a, yesterday).await, Some(passed));
    assert!(!passed.in_force(now()), "as the domain reads it too");
}

/// Lifting deletes the stop (lifting none is no error); of two writes of
/// a campaign in one commit the later wins.
async fn lifting_deletes_the_stop(env: &Env) {
    let a = tenant(env, "a").await;
    let (c1, c2, c3) = (
        new_campaign(env, a).await,
        new_campaign(env, a).await,
        new_campaign(env, a).await,
    );
    let s1 = stopped(c1, BudgetStop::Total, None);
    let s2 = stopped(c2, BudgetStop::Total, None);
    write(env, vec![set(a, s1), set(a, s2)]).await;

    write(env, vec![lift(a, c1), lift(a, c3)]).await;
    assert_eq!(recorded(env, c1).await, None);
    assert_eq!(shown(env, a, c1).await, None);
    assert_eq!(listed(env).await, [s2], "the other one stays");

    let s3 = stopped(c3, BudgetStop::Daily, Some(now() + Duration::hours(2)));
    write(env, vec![lift(a, c2), set(a, s3), set(a, s1), lift(a, c1)]).await;
    assert_eq!(recorded(env, c1).await, None, "set, then lifted");
    assert_eq!(recorded(env, c2).await, None);
    assert_eq!(recorded(env, c3).await, Some(s3));
    assert_eq!(listed(env).await, [s3]);
    write(env, vec![lift(a, c3), set(a, s1)]).await;
    assert_eq!(listed(env).await, [s1], "lifted, then set");
}

/// A commit fenced by a newer claim writes no stop and lifts none.
async fn a_fenced_commit_writes_no_stop(env: &Env) {
    let a = tenant(env, "a").await;
    let (kept, fresh) = (new_campaign(env, a).await, new_campaign(env, a).await);
    let s = stopped(kept, BudgetStop::Total, None);
    write(env, vec![set(a, s)]).await;

    let mut old = env
        .store
        .claim_alerts(GROUP, TOPIC, 4)
        .await
        .expect("claim");
    let new = env
        .store
        .claim_alerts(GROUP, TOPIC, 4)
        .await
        .expect("claim");
    assert_eq!(new.epoch, old.epoch + 1);
    let c = AlertCommit {
        stops: vec![
            lift(a, kept),
            set(a, stopped(fresh, BudgetStop::Total, None)),
        ],
        ..AlertCommit::default()
    };
    let next = old.next_offset + 1;
    assert!(
        !env.store
            .commit_alerts(&mut old, next, &c)
            .await
            .expect("commit"),
        "fenced"
    );
    assert_eq!(recorded(env, fresh).await, None);
    assert_eq!(recorded(env, kept).await, Some(s));
    assert_eq!(listed(env).await, [s]);
}

/// The API reads a stop within its tenant only.
async fn another_tenant_reads_no_stop(env: &Env) {
    let (a, b) = (tenant(env, "a").await, tenant(env, "b").await);
    let c = new_campaign(env, a).await;
    let s = stopped(c, BudgetStop::Daily, Some(now() + Duration::hours(1)));
    write(env, vec![set(a, s)]).await;
    assert_eq!(shown(env, a, c).await, Some(s));
    assert_eq!(shown(env, b, c).await, None, "b's view of a's campaign");
    let nobody = TenantId::from_uuid(Uuid::now_v7());
    assert_eq!(shown(env, nobody, c).await, None);
}

/// One event of `campaign`: `kind` on `channel` at `at`, costing `cost`
/// and earning `revenue`.
fn event(
    campaign: CampaignId,
    (kind, channel): (EventType, &str),
    [cost, revenue]: [i64; 2],
    at: &str,
) -> Event {
    let json = json!({
        "event_id": Uuid::now_v7().to_string(), "type": kind.as_str(),
        "campaign_id": campaign.to_string(), "ad_id": "a", "channel": channel, "occurred_at": at,
        "user": {"device_id": "d-1"}, "cost_micros": cost, "revenue_micros": revenue,
    });
    serde_json::from_value(json).expect("event")
}

/// Commits `events` of `tenant`'s campaign in `zone` as the stream worker
/// does: one batch on a fresh claim of its own partition.
async fn load(env: &Env, tenant: TenantId, zone: Tz, events: &[Event]) {
    let mut batch = AggregateBatch::default();
    for e in events {
        batch.add(e, tenant, zone).expect("sums fit");
    }
    let mut claim = env
        .store
        .claim_partition("worker", &unique_name("events"), 0)
        .await
        .expect("claim");
    let n = i64::try_from(events.len()).expect("few");
    let done = env
        .store
        .commit_batch(&mut claim, n, &batch)
        .await
        .expect("commit");
    assert!(matches!(done, Commit::Applied(_)));
}

fn counts(
    [
        impressions,
        clicks,
        conversions,
        cost_micros,
        revenue_micros,
    ]: [i64; 5],
) -> Counts {
    Counts {
        impressions,
        clicks,
        conversions,
        cost_micros,
        revenue_micros,
    }
}

async fn base(env: &Env, c: CampaignId, zone: &str, day_start: &str) -> DayBase {
    env.store
        .day_base(c, zone, at(day_start))
        .await
        .expect("day base")
}

/// Kolkata is UTC+05:30: its 30 November runs from 29 November 18:30 UTC
/// to 30 November 18:30 UTC, across the UTC midnight. `day_base` counts
/// the local day's events wherever their UTC day is, and everything else
/// before it; the lifetime matches `campaign_totals`.
async fn day_base_splits_the_totals_at_the_local_midnight(env: &Env) {
    let a = tenant(env, "a").await;
    let c = new_campaign(env, a).await;
    let kolkata = chrono_tz::Asia::Kolkata;
    let (imp, click, conv) = (
        EventType::Impression,
        EventType::Click,
        EventType::Conversion,
    );
    assert_eq!(
        base(env, c, "Asia/Kolkata", "2026-11-29T18:30:00Z").await,
        DayBase::default()
    );
    load(
        env,
        a,
        kolkata,
        &[
            event(c, (imp, "search"), [100, 0], "2026-11-28T12:00:00Z"),
            // 23:59:59 on 29 November in Kolkata, the same UTC day as the next.
            event(c, (click, "search"), [200, 0], "2026-11-29T18:29:59Z"),
            event(c, (imp, "search"), [300, 0], "2026-11-29T18:30:00Z"),
            event(c, (conv, "social"), [0, 5_000], "2026-11-29T20:00:00Z"),
            event(c, (imp, "social"), [400, 0], "2026-11-30T10:00:00Z"),
        ],
    )
    .await;

    let nov30 = base(env, c, "Asia/Kolkata", "2026-11-29T18:30:00Z").await;
    assert_eq!(nov30.lifetime, counts([3, 1, 1, 1_000, 5_000]));
    assert_eq!(nov30.day, counts([2, 0, 1, 700, 5_000]), "both UTC days");
    assert_eq!(nov30.before(), counts([1, 1, 0, 300, 0]));
    let totals = env.store.campaign_totals(&[c]).await.expect("totals");
    let t = &totals[0];
    assert_eq!(
        counts([
            t.impressions,
            t.clicks,
            t.conversions,
            t.cost_micros,
            t.revenue_micros
        ]),
        nov30.lifetime,
        "the lifetime the worker commits"
    );

    // The next local day: a later batch, as the worker commits it.
    load(
        env,
        a,
        kolkata,
        &[event(c, (imp, "search"), [500, 0], "2026-11-30T18:30:00Z")],
    )
    .await;
    let dec1 = base(env, c, "Asia/Kolkata", "2026-11-30T18:30:00Z").await;
    assert_eq!(dec1.lifetime, counts([4, 1, 1, 1_500, 5_000]));
    assert_eq!(dec1.day, counts([1, 0, 0, 500, 0]));
    assert_eq!(dec1.before(), nov30.lifetime);
    let again = base(env, c, "Asia/Kolkata", "2026-11-29T18:30:00Z").await;
    assert_eq!(again.day, nov30.day, "a closed day keeps its counts");

    // Local days of another zone were never written for this campaign.
    let utc = base(env, c, "UTC", "2026-11-30T00:00:00Z").await;
    assert_eq!((utc.lifetime, utc.day), (dec1.lifetime, Counts::default()));
    // Nor is a day start other than the zone's midnight a day.
    let off = base(env, c, "Asia/Kolkata", "2026-11-30T00:00:00Z").await;
    assert_eq!(off.day, Counts::default());
    env.store
        .day_base(c, "Mars/Olympus", at("2026-11-30T00:00:00Z"))
        .await
        .expect_err("unknown zone");
}
