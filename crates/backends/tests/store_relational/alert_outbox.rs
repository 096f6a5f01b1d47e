//! The outbox of alert deliveries: leases hand each due delivery to one
//! alerter until the lease runs out, with its channel's kind, target and
//! secrets; attempts retry, kill or send it; the API replays dead ones and
//! reads the log a page at a time, only its own tenant's; a delivery whose
//! channel is gone dies when it is next leased.

use adpulse_domain::alert::ChannelKind;
use adpulse_domain::alert::ledger::{
    AlertCommit, Attempt, DeliveryRecord, DeliveryStatus, DueDelivery, FiringRecord, NextStep,
};
use adpulse_domain::ports::Replayed;
use chrono::SubsecRound;

use crate::alert_ledger::{delivery, fired, record};
use crate::alerts::{channel, email, webhook};
use crate::support::*;

conformance!("outbox", Some(3);
    a_lease_hands_out_due_deliveries_once,
    concurrent_leases_never_share_a_delivery,
    secrets_come_current_first_and_previous_while_it_overlaps,
    attempts_retry_and_kill_a_delivery,
    a_dead_letter_replays_and_nothing_else_does,
    a_delivery_whose_channel_is_gone_dies_when_leased,
    the_log_filters_and_pages_newest_first,
    a_rules_firings_page_newest_first,
    another_tenant_sees_none_of_the_log,
);

/// 2030-01-01, 10:00 UTC plus `secs`.
fn t(secs: i64) -> DateTime<Utc> {
    at("2030-01-01T10:00:00Z") + Duration::seconds(secs)
}

async fn lease(env: &Env, now: DateTime<Utc>, until: DateTime<Utc>, n: i64) -> Vec<DueDelivery> {
    env.store
        .lease_deliveries(now, until, n)
        .await
        .expect("lease")
}

fn ids(due: &[DueDelivery]) -> Vec<Uuid> {
    due.iter().map(|d| d.delivery.id).collect()
}

/// A firing of a new rule on a new campaign of `t`, committed with
/// deliveries to `channel` due at each of `due` (in that order).
async fn notify(
    env: &Env,
    tenant: TenantId,
    channel: Uuid,
    due: &[DateTime<Utc>],
) -> (FiringRecord, Vec<DeliveryRecord>) {
    let campaign = CampaignId::from_uuid(Uuid::now_v7());
    let f = fired(tenant, Uuid::now_v7(), campaign, t(0));
    let made: Vec<DeliveryRecord> = due.iter().map(|&d| delivery(&f, channel, d)).collect();
    let c = AlertCommit {
        firings: vec![f.clone()],
        deliveries: made.clone(),
        ..AlertCommit::default()
    };
    record(env, &c).await;
    (f, made)
}

async fn attempt(env: &Env, id: Uuid, a: &Attempt, next: NextStep) {
    env.store
        .record_attempt(id, a, next)
        .await
        .expect("record attempt");
}

async fn read(env: &Env, tenant: TenantId, id: Uuid) -> (DeliveryRecord, Vec<Attempt>) {
    env.api
        .delivery(tenant, id)
        .await
        .expect("delivery")
        .expect("present")
}

/// Due deliveries are leased oldest first, up to the limit, with their
/// channel; a leased one is not leased again until its lease runs out,
/// and one not yet due waits.
async fn a_lease_hands_out_due_deliveries_once(env: &Env) {
    let a = tenant(env, "a").await;
    let hook = channel(env, a, &webhook("hook", "whsec_one")).await;
    let (_, made) = notify(env, a, hook.id, &[t(10), t(3600), t(0)]).await;
    let (late, future, early) = (&made[0], &made[1], &made[2]);

    assert_eq!(lease(env, t(-1), t(60), 10).await, [], "nothing due yet");
    let got = lease(env, t(20), t(80), 10).await;
    assert_eq!(ids(&got), [early.id, late.id], "due ones, oldest first");
    assert_eq!(got[0].delivery, *early, "as stored");
    assert_eq!(
        (got[0].kind, got[0].target.as_str(), &got[0].secrets[..]),
        (
            ChannelKind::Webhook,
            hook.fields.target.as_str(),
            &["whsec_one".to_owned()][..]
        )
    );
    assert_eq!(lease(env, t(21), t(90), 10).await, [], "leased");
    assert_eq!(lease(env, t(80), t(90), 10).await, [], "leased until then");

    assert_eq!(
        ids(&lease(env, t(81), t(200), 1).await),
        [early.id],
        "the limit"
    );
    assert_eq!(ids(&lease(env, t(82), t(200), 10).await), [late.id]);
    assert_eq!(lease(env, t(100), t(200), 10).await, []);
    assert_eq!(
        ids(&lease(env, t(7200), t(7300), 10).await),
        [early.id, late.id, future.id],
        "every lease ran out"
    );
}

/// Alerters leasing at the same moment never get the same delivery, and
/// between them get every due one.
async fn concurrent_leases_never_share_a_delivery(env: &Env) {
    let a = tenant(env, "a").await;
    let hook = channel(env, a, &webhook("hook", "whsec_one")).await;
    let (_, made) = notify(env, a, hook.id, &[t(0); 30]).await;
    let mut seen = Vec::new();
    for _ in 0..4 {
        let (x, y, z) = tokio::join!(
            lease(env, t(1), t(600), 4),
            lease(env, t(1), t(600), 4),
            lease(env, t(1), t(600), 4),
        );
        seen.extend(ids(&x).into_iter().chain(ids(&y)).chain(ids(&z)));
    }
    seen.sort();
    let mut want: Vec<Uuid> = made.iter().map(|d| d.id).collect();
    want.sort();
    assert_eq!(seen, want, "each due delivery leased once");
}

/// A webhook's current secret comes first, the previous one only until
/// its overlap ends; an e-mail channel has none.
async fn secrets_come_current_first_and_previous_while_it_overlaps(env: &Env) {
    let a = tenant(env, "a").await;
    let hook = channel(env, a, &webhook("hook", "whsec_one")).await;
    let mail = channel(env, a, &email("mail")).await;
    env.api
        .rotate_channel_secret(a, hook.id, "whsec_two", t(3600))
        .await
        .expect("rotate")
        .expect("rotated");
    notify(env, a, hook.id, &[t(0)]).await;
    notify(env, a, mail.id, &[t(1)]).await;

    let got = lease(env, t(10), t(20), 10).await;
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].secrets, ["whsec_two", "whsec_one"]);
    assert_eq!(
        (got[1].kind, got[1].target.as_str(), got[1].secrets.len()),
        (ChannelKind::Email, "ops@example.com", 0)
    );
    let got = lease(env, t(3599), t(3700), 10).await;
    assert_eq!(
        got[0].secrets,
        ["whsec_two", "whsec_one"],
        "still overlapping"
    );
    let got = lease(env, t(3701), t(3800), 10).await;
    assert_eq!(got[0].secrets, ["whsec_two"], "the overlap ended");
}

/// An attempt as the alerter records it: failed with `error` unless
/// `None`.
fn try_no(number: i32, at: DateTime<Utc>, code: Option<i32>, error: Option<&str>) -> Attempt {
    Attempt {
        number,
        at,
        status_code: code,
        error: error.map(str::to_owned),
        duration_ms: 120,
    }
}

/// Where a delivery stands: status, attempts, next attempt, last error.
type Standing = (DeliveryStatus, i32, Option<DateTime<Utc>>, Option<String>);

fn standing(d: &DeliveryRecord) -> Standing {
    (
        d.status,
        d.attempts,
        d.next_attempt_at,
        d.last_error.clone(),
    )
}

/// A failed attempt schedules a retry and ends the lease; the last one
/// makes a dead letter, which is never leased again.
async fn attempts_retry_and_kill_a_delivery(env: &Env) {
    let a = tenant(env, "a").await;
    let hook = channel(env, a, &webhook("hook", "whsec_one")).await;
    let (_, made) = notify(env, a, hook.id, &[t(0), t(0)]).await;
    let d = &made[0];
    assert_eq!(lease(env, t(0), t(3600), 10).await.len(), 2);

    let first = try_no(1, t(1), Some(503), Some("503 Service Unavailable"));
    attempt(env, d.id, &first, NextStep::RetryAt(t(300))).await;
    let (r, tries) = read(env, a, d.id).await;
    let unavailable = Some("503 Service Unavailable".to_owned());
    assert_eq!(
        standing(&r),
        (DeliveryStatus::Pending, 1, Some(t(300)), unavailable)
    );
    assert_eq!(tries, std::slice::from_ref(&first));
    assert_eq!(lease(env, t(299), t(3600), 10).await, [], "not due yet");
    assert_eq!(
        ids(&lease(env, t(300), t(400), 10).await),
        [d.id],
        "due, and the attempt ended its lease"
    );

    let second = try_no(2, t(301), None, Some("connection refused"));
    attempt(env, d.id, &second, NextStep::Dead).await;
    let (r, tries) = read(env, a, d.id).await;
    let refused = Some("connection refused".to_owned());
    assert_eq!(standing(&r), (DeliveryStatus::Dead, 2, None, refused));
    assert_eq!(tries, [first, second]);
    assert_eq!(
        ids(&lease(env, t(86_400), t(90_000), 10).await),
        [made[1].id],
        "only the other"
    );
}

/// The API replays a dead letter (same id, pending, due now, attempts
/// kept) and the next lease hands it out; a sent one cannot be replayed,
/// nor a pending one, nor an unknown one.
async fn a_dead_letter_replays_and_nothing_else_does(env: &Env) {
    let a = tenant(env, "a").await;
    let hook = channel(env, a, &webhook("hook", "whsec_one")).await;
    let (_, made) = notify(env, a, hook.id, &[t(0), t(0)]).await;
    let (d, other) = (&made[0], &made[1]);
    let failed = try_no(1, t(1), Some(500), Some("500"));
    attempt(env, d.id, &failed, NextStep::Dead).await;

    let before = Utc::now() - Duration::seconds(5);
    let Replayed::Done(replayed) = env.api.replay_delivery(a, d.id).await.expect("replay") else {
        panic!("a dead letter replays");
    };
    let after = Utc::now() + Duration::seconds(5);
    assert_eq!(
        (replayed.id, replayed.status, replayed.attempts),
        (d.id, DeliveryStatus::Pending, 1)
    );
    assert!(
        replayed
            .next_attempt_at
            .is_some_and(|n| before <= n && n <= after)
    );
    assert_eq!(read(env, a, d.id).await.0, *replayed);
    // Stores keep microseconds.
    let now = (Utc::now() + Duration::seconds(6)).trunc_subsecs(6);
    assert_eq!(
        ids(&lease(env, now, now + Duration::minutes(1), 10).await),
        [d.id]
    );

    let sent = try_no(2, now, Some(204), None);
    attempt(env, d.id, &sent, NextStep::Sent).await;
    let (r, tries) = read(env, a, d.id).await;
    assert_eq!(standing(&r), (DeliveryStatus::Sent, 2, None, None));
    assert_eq!(tries, [failed, sent]);
    assert_eq!(
        env.api.replay_delivery(a, d.id).await.expect("replay"),
        Replayed::NotDead(DeliveryStatus::Sent)
    );
    assert_eq!(
        env.api.replay_delivery(a, other.id).await.expect("replay"),
        Replayed::NotDead(DeliveryStatus::Pending)
    );
    let unknown = Uuid::now_v7();
    assert_eq!(
        env.api.replay_delivery(a, unknown).await.expect("replay"),
        Replayed::NotFound
    );
}

/// A due delivery whose channel was deleted is marked dead by the next
/// lease and not handed out; one not yet due is left alone until it is.
async fn a_delivery_whose_channel_is_gone_dies_when_leased(env: &Env) {
    let a = tenant(env, "a").await;
    let gone = channel(env, a, &email("gone")).await;
    let kept = channel(env, a, &webhook("kept", "whsec_one")).await;
    let (_, lost) = notify(env, a, gone.id, &[t(0), t(3600)]).await;
    let (_, fine) = notify(env, a, kept.id, &[t(0)]).await;
    assert_eq!(
        env.api.delete_channel(a, gone.id).await.expect("delete"),
        adpulse_domain::alert::ChannelDeleted::Done
    );

    assert_eq!(ids(&lease(env, t(1), t(60), 10).await), [fine[0].id]);
    let (r, tries) = read(env, a, lost[0].id).await;
    let gone_error = Some("channel deleted".to_owned());
    assert_eq!(standing(&r), (DeliveryStatus::Dead, 0, None, gone_error));
    assert_eq!(tries, []);
    assert_eq!(
        read(env, a, lost[1].id).await.0.status,
        DeliveryStatus::Pending
    );

    assert_eq!(ids(&lease(env, t(7200), t(7300), 10).await), [fine[0].id]);
    assert_eq!(
        read(env, a, lost[1].id).await.0.status,
        DeliveryStatus::Dead
    );
}

/// The log lists a tenant's deliveries newest first, of one rule, one
/// status or both, a page at a time (`before` exclusive).
async fn the_log_filters_and_pages_newest_first(env: &Env) {
    let a = tenant(env, "a").await;
    let hook = channel(env, a, &webhook("hook", "whsec_one")).await;
    let (f1, one) = notify(env, a, hook.id, &[t(0), t(0), t(0)]).await;
    let (f2, two) = notify(env, a, hook.id, &[t(0), t(0)]).await;
    let sent = try_no(1, t(1), Some(200), None);
    let failed = try_no(1, t(1), Some(410), Some("410 Gone"));
    attempt(env, one[1].id, &sent, NextStep::Sent).await;
    attempt(env, one[2].id, &failed, NextStep::Dead).await;
    attempt(env, two[0].id, &failed, NextStep::Dead).await;

    let newest = |v: &[&DeliveryRecord]| {
        let mut ids: Vec<Uuid> = v.iter().map(|d| d.id).collect();
        ids.sort_by_key(|&id| std::cmp::Reverse(id));
        ids
    };
    let log = |rule, status, before, n| async move {
        let page = env
            .api
            .deliveries(a, rule, status, before, n)
            .await
            .expect("log");
        page.into_iter().map(|d| d.id).collect::<Vec<Uuid>>()
    };
    let all = newest(&[&one[0], &one[1], &one[2], &two[0], &two[1]]);
    assert_eq!(log(None, None, None, 100).await, all);
    assert_eq!(
        log(Some(f1.rule), None, None, 100).await,
        newest(&[&one[0], &one[1], &one[2]])
    );
    let dead = Some(DeliveryStatus::Dead);
    assert_eq!(
        log(None, dead, None, 100).await,
        newest(&[&one[2], &two[0]])
    );
    assert_eq!(log(Some(f2.rule), dead, None, 100).await, [two[0].id]);
    assert_eq!(
        log(None, Some(DeliveryStatus::Sent), None, 100).await,
        [one[1].id]
    );
    assert_eq!(
        log(Some(Uuid::now_v7()), None, None, 100).await,
        Vec::<Uuid>::new()
    );
    assert_eq!(
        log(None, None, Some(all[1]), 2).await,
        all[2..4],
        "before is exclusive"
    );
    assert_eq!(log(None, None, None, 0).await, Vec::<Uuid>::new());
    let mut paged = Vec::new();
    let mut before = None;
    loop {
        let page = log(None, None, before, 2).await;
        assert!(page.len() <= 2);
        let Some(&last) = page.last() else { break };
        before = Some(last);
        paged.extend(page);
    }
    assert_eq!(paged, all, "pages of 2 make the same list");
}

/// A rule's firings and resolutions page newest first (`before`
/// exclusive), only that rule's.
async fn a_rules_firings_page_newest_first(env: &Env) {
    let a = tenant(env, "a").await;
    let hook = channel(env, a, &webhook("hook", "whsec_one")).await;
    let (f1, _) = notify(env, a, hook.id, &[t(0)]).await;
    let (f2, _) = notify(env, a, hook.id, &[t(0)]).await;
    let campaign = CampaignId::from_uuid(Uuid::now_v7());
    let mut history: Vec<FiringRecord> = (1..=5)
        .map(|i| fired(a, f1.rule, campaign, t(i * 60)))
        .collect();
    record(
        env,
        &AlertCommit {
            firings: history.clone(),
            ..AlertCommit::default()
        },
    )
    .await;
    history.push(f1.clone());
    history.sort_by_key(|f| std::cmp::Reverse(f.id));
    let firings = |before, n| env.api.firings(a, f1.rule, before, n);
    assert_eq!(firings(None, 100).await.expect("firings"), history);
    assert_eq!(
        firings(Some(history[1].id), 3).await.expect("firings"),
        history[2..5]
    );
    assert_eq!(
        env.api
            .firings(a, f2.rule, None, 100)
            .await
            .expect("firings"),
        [f2]
    );
}

/// Tenant b lists, reads and replays none of a's deliveries, even a dead
/// one, and sees none of its rule's firings.
async fn another_tenant_sees_none_of_the_log(env: &Env) {
    let (a, b) = (tenant(env, "a").await, tenant(env, "b").await);
    let hook = channel(env, a, &webhook("hook", "whsec_one")).await;
    let (f, made) = notify(env, a, hook.id, &[t(0)]).await;
    let d = &made[0];
    let failed = try_no(1, t(1), Some(500), Some("500"));
    attempt(env, d.id, &failed, NextStep::Dead).await;

    assert_eq!(
        env.api
            .deliveries(b, None, None, None, 100)
            .await
            .expect("log"),
        []
    );
    assert_eq!(
        env.api
            .deliveries(b, Some(f.rule), Some(DeliveryStatus::Dead), None, 100)
            .await
            .expect("log"),
        []
    );
    assert_eq!(env.api.delivery(b, d.id).await.expect("delivery"), None);
    assert_eq!(
        env.api.replay_delivery(b, d.id).await.expect("replay"),
        Replayed::NotFound
    );
    assert_eq!(
        env.api
            .firings(b, f.rule, None, 100)
            .await
            .expect("firings"),
        []
    );

    let (r, tries) = read(env, a, d.id).await;
    assert_eq!(r.status, DeliveryStatus::Dead, "b's replay changed nothing");
    assert_eq!(tries, [failed]);
    assert_eq!(
        env.api
            .firings(a, f.rule, None, 100)
            .await
            .expect("firings"),
        [f]
    );
}
