//! The alerter's ledger: claims on the window-result stream fenced as the
//! stream worker's, commits of states, history and new deliveries read
//! back by the alerter (states) and the API (history, deliveries), ticks
//! that commit at the same offset, and what the alerter reads of
//! campaigns and rules. The outbox's side is in `alert_outbox`.

use adpulse_domain::alert::ledger::{
    AlertCampaign, AlertCommit, DeliveryRecord, DeliveryStatus, FiringKind, FiringRecord,
    StateWrite,
};
use adpulse_domain::alert::{AlertState, Phase, RuleRecord, RuleSpec};
use adpulse_domain::budget::BudgetLimits;
use adpulse_domain::store::Claim;
use serde_json::json;

use crate::alerts::{ctr_rule, rule};
use crate::support::*;

conformance!("ledger", Some(3);
    a_commit_writes_states_history_and_deliveries,
    a_later_commit_replaces_a_rules_state,
    a_newer_claim_fences_the_older_one,
    claims_are_per_partition_and_shared_with_the_worker,
    a_tick_commits_at_the_same_offset,
    the_alerter_reads_a_campaign_and_its_budget,
    enabled_rules_are_the_tenants_enabled_ones,
);

/// The alerter's consumer group and topic (each test has its own store).
pub(crate) const GROUP: &str = "adpulse-alerter";
pub(crate) const TOPIC: &str = "adpulse.window-results.v1";

/// A notified firing of `rule` on `campaign` at `at`.
pub(crate) fn fired(
    t: TenantId,
    rule: Uuid,
    campaign: CampaignId,
    at: DateTime<Utc>,
) -> FiringRecord {
    FiringRecord {
        id: Uuid::now_v7(),
        rule,
        campaign,
        tenant: t,
        kind: FiringKind::Fired,
        at,
        notified: true,
        message: format!("rule {rule} fired"),
        values: json!([{"metric": "ctr", "over": "today", "op": "<", "threshold": 1, "value": 0.25}]),
    }
}

/// A new delivery of `f` to `channel`, due at `due`, as the alerter makes
/// it (and as it is stored).
pub(crate) fn delivery(f: &FiringRecord, channel: Uuid, due: DateTime<Utc>) -> DeliveryRecord {
    let id = Uuid::now_v7();
    DeliveryRecord {
        id,
        firing: f.id,
        rule: f.rule,
        channel,
        tenant: f.tenant,
        status: DeliveryStatus::Pending,
        attempts: 0,
        next_attempt_at: Some(due),
        last_error: None,
        payload: json!({"id": id, "type": "alert.fired", "data": {"message": f.message}}),
        created_at: f.at,
        updated_at: f.at,
    }
}

fn state(t: TenantId, rule: Uuid, campaign: CampaignId, phase: Phase) -> StateWrite {
    StateWrite {
        rule,
        campaign,
        tenant: t,
        state: AlertState {
            phase,
            last_notified: Some(at("2030-01-01T00:00:00.000001Z")),
        },
    }
}

/// Commits `commit` as a new owner of partition 0 would, one offset on.
pub(crate) async fn record(env: &Env, commit: &AlertCommit) {
    let mut claim = claim_of(env, 0).await;
    let next = claim.next_offset + 1;
    assert!(
        env.store
            .commit_alerts(&mut claim, next, commit)
            .await
            .expect("commit"),
        "the only owner commits"
    );
}

async fn claim_of(env: &Env, partition: i32) -> Claim {
    env.store
        .claim_alerts(GROUP, TOPIC, partition)
        .await
        .expect("claim")
}

async fn new_campaign(env: &Env, t: TenantId) -> CampaignId {
    env.store
        .create_campaign(t, "spring", None)
        .await
        .expect("campaign")
}

async fn commit(env: &Env, claim: &mut Claim, next: i64, c: &AlertCommit) -> bool {
    env.store
        .commit_alerts(claim, next, c)
        .await
        .expect("commit")
}

async fn states(env: &Env, campaign: CampaignId) -> Vec<(Uuid, AlertState)> {
    let mut s = env.store.alert_states(campaign).await.expect("states");
    s.sort_by_key(|(r, _)| *r);
    s
}

/// A commit moves the offset and writes every state, firing and delivery,
/// read back as written (deliveries pending without attempts).
async fn a_commit_writes_states_history_and_deliveries(env: &Env) {
    let a = tenant(env, "a").await;
    let campaign = new_campaign(env, a).await;
    let (r1, r2) = (Uuid::now_v7(), Uuid::now_v7());
    let t0 = at("2030-01-01T10:00:00.123456Z");
    let mut claim = claim_of(env, 3).await;
    assert_eq!((claim.epoch, claim.next_offset), (1, 0));

    let loud = fired(a, r1, campaign, t0);
    let quiet = FiringRecord {
        notified: false,
        ..fired(a, r2, campaign, t0 + Duration::seconds(1))
    };
    let hook = delivery(&loud, Uuid::now_v7(), t0);
    // Without a due time, a new delivery is due when it was made.
    let undated = DeliveryRecord {
        next_attempt_at: None,
        ..delivery(&loud, Uuid::now_v7(), t0)
    };
    let firing_state = state(
        a,
        r1,
        campaign,
        Phase::Firing {
            since: t0,
            notified: true,
        },
    );
    let pending_state = state(a, r2, campaign, Phase::Pending { since: t0 });
    let c = AlertCommit {
        states: vec![firing_state.clone(), pending_state.clone()],
        firings: vec![loud.clone(), quiet.clone()],
        deliveries: vec![hook.clone(), undated.clone()],
        ..AlertCommit::default()
    };
    assert!(commit(env, &mut claim, 7, &c).await);
    assert_eq!(claim.next_offset, 7);

    let mut want = vec![(r1, firing_state.state), (r2, pending_state.state)];
    want.sort_by_key(|(r, _)| *r);
    assert_eq!(states(env, campaign).await, want);
    assert_eq!(states(env, CampaignId::from_uuid(Uuid::now_v7())).await, []);
    assert_eq!(
        env.api.firings(a, r1, None, 10).await.expect("firings"),
        [loud]
    );
    assert_eq!(
        env.api.firings(a, r2, None, 10).await.expect("firings"),
        [quiet]
    );
    let undated = DeliveryRecord {
        next_attempt_at: Some(t0),
        ..undated
    };
    let mut made = vec![hook.clone(), undated];
    made.sort_by_key(|d| std::cmp::Reverse(d.id));
    assert_eq!(
        env.api
            .deliveries(a, None, None, None, 10)
            .await
            .expect("log"),
        made
    );
    assert_eq!(
        env.api.delivery(a, hook.id).await.expect("delivery"),
        Some((hook, vec![])),
        "no attempts yet"
    );
}

/// A later commit replaces a rule's state and keeps the others; a new
/// owner resumes after the last commit.
async fn a_later_commit_replaces_a_rules_state(env: &Env) {
    let a = tenant(env, "a").await;
    let campaign = new_campaign(env, a).await;
    let (r1, r2) = (Uuid::now_v7(), Uuid::now_v7());
    let since = at("2030-01-01T10:00:00Z");
    let firing = state(
        a,
        r1,
        campaign,
        Phase::Firing {
            since,
            notified: true,
        },
    );
    let pending = state(a, r2, campaign, Phase::Pending { since });
    let mut claim = claim_of(env, 3).await;
    let first = AlertCommit {
        states: vec![firing, pending.clone()],
        ..AlertCommit::default()
    };
    assert!(commit(env, &mut claim, 7, &first).await);

    let calm = state(a, r1, campaign, Phase::Inactive);
    let pending_again = state(a, r1, campaign, Phase::Pending { since });
    let next = AlertCommit {
        // Two writes of one rule's state in a commit: the later one wins.
        states: vec![pending_again, calm.clone()],
        ..AlertCommit::default()
    };
    assert!(commit(env, &mut claim, 9, &next).await);
    let mut want = vec![(r1, calm.state), (r2, pending.state)];
    want.sort_by_key(|(r, _)| *r);
    assert_eq!(states(env, campaign).await, want, "r1 replaced, r2 kept");

    let again = claim_of(env, 3).await;
    assert_eq!((again.epoch, again.next_offset), (2, 9));
}

/// Once another owner claims the partition, the former one's commits (a
/// tick included) answer false and write nothing, while the new owner's
/// pass; a copy of the claim that missed a commit is fenced too.
async fn a_newer_claim_fences_the_older_one(env: &Env) {
    let a = tenant(env, "a").await;
    let campaign = new_campaign(env, a).await;
    let r = Uuid::now_v7();
    let mut first = claim_of(env, 5).await;
    assert!(commit(env, &mut first, 2, &AlertCommit::default()).await);
    let mut second = claim_of(env, 5).await;
    assert_eq!(
        (second.epoch, second.next_offset),
        (first.epoch + 1, 2),
        "resumes where the first stopped"
    );

    let f = fired(a, r, campaign, at("2030-01-01T00:00:00Z"));
    let c = AlertCommit {
        states: vec![state(
            a,
            r,
            campaign,
            Phase::Firing {
                since: f.at,
                notified: true,
            },
        )],
        firings: vec![f.clone()],
        deliveries: vec![delivery(&f, Uuid::now_v7(), f.at)],
        ..AlertCommit::default()
    };
    assert!(!commit(env, &mut first, 5, &c).await, "fenced");
    assert!(
        !commit(env, &mut first, 2, &AlertCommit::default()).await,
        "a tick too"
    );
    assert_eq!(first.next_offset, 2, "a fenced claim does not move");
    assert_eq!(states(env, campaign).await, []);
    assert_eq!(env.api.firings(a, r, None, 10).await.expect("firings"), []);
    assert_eq!(
        env.api
            .deliveries(a, None, None, None, 10)
            .await
            .expect("log"),
        []
    );

    let stale = second.clone();
    assert!(commit(env, &mut second, 5, &c).await);
    assert_eq!(second.next_offset, 5);
    assert_eq!(env.api.firings(a, r, None, 10).await.expect("firings"), [f]);
    assert_eq!(states(env, campaign).await.len(), 1);
    let mut stale = stale;
    assert!(
        !commit(env, &mut stale, 6, &AlertCommit::default()).await,
        "the offset moved since this copy"
    );
}

/// Claims are per partition, and the worker's claims are in the same
/// table: claiming one for the worker fences the alerter's.
async fn claims_are_per_partition_and_shared_with_the_worker(env: &Env) {
    let mut alerter = claim_of(env, 5).await;
    assert!(commit(env, &mut alerter, 5, &AlertCommit::default()).await);
    let other = claim_of(env, 6).await;
    assert_eq!(
        (other.epoch, other.next_offset),
        (1, 0),
        "partitions are apart"
    );
    let worker = env
        .store
        .claim_partition(GROUP, TOPIC, 5)
        .await
        .expect("claim");
    assert_eq!((worker.epoch, worker.next_offset), (alerter.epoch + 1, 5));
    assert!(!commit(env, &mut alerter, 5, &AlertCommit::default()).await);
}

/// A commit at the offset the claim is at (a tick between window results)
/// passes and writes what it carries; so does one after the offset moved.
async fn a_tick_commits_at_the_same_offset(env: &Env) {
    let a = tenant(env, "a").await;
    let campaign = new_campaign(env, a).await;
    let r = Uuid::now_v7();
    let mut claim = claim_of(env, 0).await;
    assert!(commit(env, &mut claim, 0, &AlertCommit::default()).await);
    assert_eq!(claim.next_offset, 0);
    let s = state(
        a,
        r,
        campaign,
        Phase::Pending {
            since: at("2030-01-01T00:00:00Z"),
        },
    );
    let c = AlertCommit {
        states: vec![s.clone()],
        ..AlertCommit::default()
    };
    assert!(commit(env, &mut claim, 0, &c).await);
    assert_eq!(states(env, campaign).await, [(r, s.state)]);
    assert!(commit(env, &mut claim, 4, &AlertCommit::default()).await);
    assert!(commit(env, &mut claim, 4, &AlertCommit::default()).await);
    assert!(commit(env, &mut claim, 4, &c).await, "the same state again");
    let again = claim_of(env, 0).await;
    assert_eq!(again.next_offset, 4);
}

/// Campaigns as the alerter sees them, many in one read: name, brand,
/// zone, budget and status; absent once deleted or if unknown.
async fn the_alerter_reads_a_campaign_and_its_budget(env: &Env) {
    let a = tenant(env, "a").await;
    let w = CampaignWrite {
        brand_id: Some("acme".into()),
        budget_total_micros: Some(5_000_000),
        budget_currency: Some("EUR".into()),
        budget_daily_cap_micros: Some(250_000),
        timezone: "Europe/Paris".into(),
        ..named("spring sale")
    };
    let c = env.api.insert_campaign(a, &w).await.expect("insert");
    let plain = new_campaign(env, a).await;
    let unknown = CampaignId::from_uuid(Uuid::now_v7());
    let mut seen = env
        .store
        .alert_campaigns(&[c.id, plain, unknown])
        .await
        .expect("campaigns");
    seen.sort_by_key(|s| s.id != c.id);
    assert_eq!(seen.len(), 2, "the unknown one is absent: {seen:?}");
    assert_eq!(
        seen[0],
        AlertCampaign {
            id: c.id,
            tenant: a,
            name: "spring sale".into(),
            brand_id: Some("acme".into()),
            timezone: "Europe/Paris".into(),
            budget: BudgetLimits {
                total_micros: Some(5_000_000),
                daily_cap_micros: Some(250_000),
            },
            status: c.status,
        }
    );
    let p = &seen[1];
    assert_eq!(
        (
            p.id,
            p.budget,
            p.brand_id.clone(),
            p.status,
            p.timezone.as_str()
        ),
        (
            plain,
            BudgetLimits::default(),
            None,
            CampaignStatus::Active,
            "UTC"
        ),
        "no limits"
    );

    assert!(env.store.delete_campaign(plain).await.expect("delete"));
    let left = env
        .store
        .alert_campaigns(&[plain, c.id])
        .await
        .expect("campaigns");
    assert_eq!(left.iter().map(|s| s.id).collect::<Vec<_>>(), [c.id]);
    assert_eq!(env.store.alert_campaigns(&[]).await.expect("campaigns"), []);
}

/// Only enabled rules, only the tenants asked for; a rule disabled later
/// drops out.
async fn enabled_rules_are_the_tenants_enabled_ones(env: &Env) {
    let (a, b) = (tenant(env, "a").await, tenant(env, "b").await);
    let on1 = rule(env, a, &ctr_rule("on one", &[])).await;
    let off = crate::alerts::spec(json!({
        "name": "off",
        "condition": {"metric": "ctr", "over": "today", "op": "<", "value": 1},
        "enabled": false,
    }));
    rule(env, a, &off).await;
    let on2 = rule(env, a, &ctr_rule("on two", &[])).await;
    let theirs = rule(env, b, &ctr_rule("b's", &[])).await;

    let sorted = |mut v: Vec<RuleRecord>| {
        v.sort_by_key(|r| r.id);
        v
    };
    assert_eq!(
        sorted(env.store.enabled_rules(&[a]).await.expect("rules")),
        [on1.clone(), on2.clone()]
    );
    assert_eq!(
        env.store.enabled_rules(&[b]).await.expect("rules"),
        std::slice::from_ref(&theirs)
    );
    let nobody = TenantId::from_uuid(Uuid::now_v7());
    assert_eq!(env.store.enabled_rules(&[nobody]).await.expect("rules"), []);
    assert_eq!(
        sorted(
            env.store
                .enabled_rules(&[b, nobody, a])
                .await
                .expect("rules")
        ),
        sorted(vec![on1.clone(), on2.clone(), theirs])
    );

    let disabled = RuleSpec {
        enabled: false,
        ..on1.spec.clone()
    };
    match env
        .api
        .update_rule(a, on1.id, 1, &disabled)
        .await
        .expect("update")
    {
        Updated::Done(_) => {}
        other => panic!("expected the change to be done, got {other:?}"),
    }
    assert_eq!(env.store.enabled_rules(&[a]).await.expect("rules"), [on2]);
}
