//! Alert channels and rules: kept per tenant, a webhook's secret rotated
//! with an overlap, a channel a rule notifies not deleted, rules paged in
//! id order and changed only at the version the caller read.

use adpulse_domain::alert::{
    ChannelDeleted, ChannelKind, ChannelRecord, ChannelWrite, RuleBody, RuleRecord, RuleSpec, Scope,
};
use serde_json::{Value, json};

use crate::support::*;

conformance!("rel", Some(3);
    channels_are_kept_per_tenant,
    a_webhook_secret_rotates_with_an_overlap,
    a_channel_a_rule_notifies_is_not_deleted,
    rules_read_back_and_page_in_id_order,
    rules_change_only_at_their_version,
    another_tenant_cannot_reach_a_rule,
);

/// A rule's settings as a client would write them.
pub(crate) fn spec(body: Value) -> RuleSpec {
    serde_json::from_value::<RuleBody>(body)
        .expect("rule body")
        .validate()
        .expect("valid rule")
}

/// The smallest rule: `ctr` today below 1, notifying `channels`.
pub(crate) fn ctr_rule(name: &str, channels: &[Uuid]) -> RuleSpec {
    spec(json!({
        "name": name,
        "condition": {"metric": "ctr", "over": "today", "op": "<", "value": 1},
        "channel_ids": channels,
    }))
}

pub(crate) fn webhook(name: &str, secret: &str) -> ChannelWrite {
    ChannelWrite {
        name: name.to_owned(),
        kind: ChannelKind::Webhook,
        target: "https://hooks.example.com/adpulse".to_owned(),
        secret: Some(secret.to_owned()),
    }
}

pub(crate) fn email(name: &str) -> ChannelWrite {
    ChannelWrite {
        name: name.to_owned(),
        kind: ChannelKind::Email,
        target: "ops@example.com".to_owned(),
        secret: None,
    }
}

pub(crate) async fn channel(env: &Env, t: TenantId, w: &ChannelWrite) -> ChannelRecord {
    env.api.insert_channel(t, w).await.expect("insert channel")
}

pub(crate) async fn rule(env: &Env, t: TenantId, s: &RuleSpec) -> RuleRecord {
    env.api.insert_rule(t, s).await.expect("insert rule")
}

fn changed<T: std::fmt::Debug>(u: Updated<T>) -> T {
    match u {
        Updated::Done(r) => *r,
        other => panic!("expected the change to be done, got {other:?}"),
    }
}

/// Channels are read back as written, listed oldest first, and tenant b
/// sees, rotates and deletes none of tenant a's.
async fn channels_are_kept_per_tenant(env: &Env) {
    let (a, b) = (tenant(env, "a").await, tenant(env, "b").await);
    let hook = channel(env, a, &webhook("ops hook", "whsec_one")).await;
    let mail = channel(env, a, &email("ops mail")).await;
    assert_eq!(hook.tenant, a);
    assert_eq!(hook.fields, webhook("ops hook", "whsec_one"));
    assert_eq!(mail.fields, email("ops mail"));
    assert_eq!(
        (hook.previous_secret.as_deref(), hook.previous_until),
        (None, None)
    );
    assert_eq!(hook.created_at, hook.updated_at);
    assert_eq!(
        env.api.channel(a, hook.id).await.expect("read"),
        Some(hook.clone())
    );
    assert_eq!(
        env.api.channels(a).await.expect("list"),
        [hook.clone(), mail.clone()],
        "oldest first"
    );

    assert_eq!(env.api.channels(b).await.expect("list"), []);
    assert_eq!(env.api.channel(b, hook.id).await.expect("read"), None);
    assert_eq!(
        env.api
            .rotate_channel_secret(b, hook.id, "whsec_theirs", at("2030-01-01T00:00:00Z"))
            .await
            .expect("rotate"),
        None
    );
    assert_eq!(
        env.api.delete_channel(b, hook.id).await.expect("delete"),
        ChannelDeleted::NotFound
    );
    assert!(
        matches!(
            env.api.insert_channel(b, &email("")).await,
            Err(StoreError::Invalid(_))
        ),
        "a channel needs a name"
    );
    let theirs = channel(env, b, &email("theirs")).await;
    assert_eq!(env.api.channels(b).await.expect("list"), [theirs]);
    assert_eq!(
        env.api.channel(a, hook.id).await.expect("read"),
        Some(hook),
        "untouched by b"
    );
}

/// A rotation keeps the secret it replaces, and until when it signs; the
/// next rotation replaces both.
async fn a_webhook_secret_rotates_with_an_overlap(env: &Env) {
    let a = tenant(env, "a").await;
    let hook = channel(env, a, &webhook("hook", "whsec_one")).await;
    let until = at("2030-01-02T03:04:05.123456Z");
    let once = env
        .api
        .rotate_channel_secret(a, hook.id, "whsec_two", until)
        .await
        .expect("rotate")
        .expect("rotated");
    assert_eq!(once.fields.secret.as_deref(), Some("whsec_two"));
    assert_eq!(once.previous_secret.as_deref(), Some("whsec_one"));
    assert_eq!(once.previous_until, Some(until));
    assert_eq!(once.created_at, hook.created_at);
    assert!(once.updated_at >= hook.updated_at);
    assert_eq!(
        (&once.fields.name, &once.fields.target, once.fields.kind),
        (&hook.fields.name, &hook.fields.target, hook.fields.kind),
        "only the secrets change"
    );
    assert_eq!(
        env.api.channel(a, hook.id).await.expect("read"),
        Some(once.clone())
    );

    let later = at("2030-02-01T00:00:00Z");
    let twice = env
        .api
        .rotate_channel_secret(a, hook.id, "whsec_three", later)
        .await
        .expect("rotate")
        .expect("rotated");
    assert_eq!(twice.fields.secret.as_deref(), Some("whsec_three"));
    assert_eq!(twice.previous_secret.as_deref(), Some("whsec_two"));
    assert_eq!(twice.previous_until, Some(later));
    assert_eq!(
        env.api
            .rotate_channel_secret(a, Uuid::now_v7(), "whsec_x", later)
            .await
            .expect("rotate"),
        None,
        "no such channel"
    );
}

/// A channel is deleted only once no rule of its tenant lists it; the
/// refusal names the rules, in id order, and deletes nothing.
async fn a_channel_a_rule_notifies_is_not_deleted(env: &Env) {
    let (a, b) = (tenant(env, "a").await, tenant(env, "b").await);
    let x = channel(env, a, &email("x")).await;
    let y = channel(env, a, &email("y")).await;
    let r1 = rule(env, a, &ctr_rule("one", &[x.id, y.id])).await;
    let r2 = rule(env, a, &ctr_rule("two", &[x.id])).await;
    let _unrelated = rule(env, a, &ctr_rule("three", &[])).await;
    // A rule of another tenant naming a's channel does not hold it.
    rule(env, b, &ctr_rule("b's", &[y.id])).await;

    assert_eq!(
        env.api.delete_channel(a, x.id).await.expect("delete"),
        ChannelDeleted::InUse(vec![r1.id, r2.id])
    );
    assert_eq!(
        env.api.delete_channel(a, y.id).await.expect("delete"),
        ChannelDeleted::InUse(vec![r1.id])
    );
    assert_eq!(
        env.api.channels(a).await.expect("list"),
        [x.clone(), y.clone()],
        "nothing deleted"
    );

    changed(
        env.api
            .update_rule(a, r1.id, 1, &ctr_rule("one", &[]))
            .await
            .expect("update"),
    );
    assert_eq!(
        env.api.delete_channel(a, y.id).await.expect("delete"),
        ChannelDeleted::Done
    );
    assert_eq!(
        env.api.delete_channel(a, x.id).await.expect("delete"),
        ChannelDeleted::InUse(vec![r2.id])
    );
    changed(env.api.delete_rule(a, r2.id, 1).await.expect("delete rule"));
    assert_eq!(
        env.api.delete_channel(a, x.id).await.expect("delete"),
        ChannelDeleted::Done
    );
    assert_eq!(env.api.channel(a, x.id).await.expect("read"), None);
    assert_eq!(env.api.channels(a).await.expect("list"), []);
    assert_eq!(
        env.api.delete_channel(a, x.id).await.expect("delete"),
        ChannelDeleted::NotFound
    );
}

/// Rules of every scope are read back as written at version 1, listed in
/// id order a page at a time (`after` exclusive), and only their tenant's.
async fn rules_read_back_and_page_in_id_order(env: &Env) {
    let (a, b) = (tenant(env, "a").await, tenant(env, "b").await);
    let campaign = Uuid::now_v7();
    let specs = [
        ctr_rule("plain", &[]),
        spec(json!({
            "name": "one campaign",
            "campaign_id": campaign,
            "condition": {"all": [
                {"metric": "ctr", "over": "today", "op": "<", "value": 0.5},
                {"metric": "ctr", "over": "today", "op": ">=", "value": 0.1},
            ]},
            "for_secs": 300,
            "cooldown_secs": 0,
            "message_template": "{{ rule.name }} is {{ state }}",
            "channel_ids": [Uuid::now_v7(), Uuid::now_v7()],
            "enabled": false,
        })),
        spec(json!({
            "name": "a brand",
            "brand_id": "acme",
            "condition": {"any": [{"metric": "ctr", "over": "today", "op": "<", "value": 2}]},
        })),
        ctr_rule("four", &[]),
        ctr_rule("five", &[]),
    ];
    assert_eq!(
        specs[1].scope,
        Scope::Campaign(CampaignId::from_uuid(campaign))
    );
    assert_eq!(specs[2].scope, Scope::Brand("acme".into()));
    let mut made = Vec::new();
    for s in &specs {
        let r = rule(env, a, s).await;
        assert_eq!((r.tenant, &r.spec, r.version), (a, s, 1));
        assert_eq!(r.created_at, r.updated_at);
        assert_eq!(env.api.rule(a, r.id).await.expect("read"), Some(r.clone()));
        made.push(r);
    }
    rule(env, b, &ctr_rule("b's", &[])).await;
    made.sort_by_key(|r| r.id);

    let all = env.api.rules(a, None, 100).await.expect("rules");
    assert_eq!(all, made, "every rule of a, in id order");
    let mut paged = Vec::new();
    let mut after = None;
    loop {
        let page = env.api.rules(a, after, 2).await.expect("page");
        assert!(page.len() <= 2);
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        paged.extend(page);
    }
    assert_eq!(paged, made, "pages of 2 make the same list");
    assert_eq!(
        env.api.rules(a, Some(made[1].id), 2).await.expect("page"),
        made[2..4],
        "after is exclusive"
    );
    assert_eq!(env.api.rules(a, None, 0).await.expect("page"), []);
    assert_eq!(env.api.rules(b, None, 100).await.expect("rules").len(), 1);
}

/// An update at the read version replaces the spec and bumps the version;
/// a stale version conflicts with the current one, an unknown rule is not
/// found; deletion is conditional the same way.
async fn rules_change_only_at_their_version(env: &Env) {
    let a = tenant(env, "a").await;
    let r = rule(env, a, &ctr_rule("first", &[])).await;
    let second = spec(json!({
        "name": "second",
        "brand_id": "acme",
        "condition": {"metric": "ctr", "over": "today", "op": ">", "value": 3},
        "cooldown_secs": 60,
        "enabled": false,
    }));
    let v2 = changed(
        env.api
            .update_rule(a, r.id, 1, &second)
            .await
            .expect("update"),
    );
    assert_eq!((v2.id, v2.version, &v2.spec), (r.id, 2, &second));
    assert_eq!(v2.created_at, r.created_at);
    assert!(v2.updated_at >= r.updated_at);
    assert_eq!(env.api.rule(a, r.id).await.expect("read"), Some(v2.clone()));

    assert_eq!(
        env.api
            .update_rule(a, r.id, 1, &ctr_rule("stale", &[]))
            .await
            .expect("update"),
        Updated::Conflict(2)
    );
    assert_eq!(
        env.api
            .update_rule(a, Uuid::now_v7(), 1, &second)
            .await
            .expect("update"),
        Updated::NotFound
    );
    let v3 = changed(
        env.api
            .update_rule(a, r.id, 2, &ctr_rule("third", &[]))
            .await
            .expect("update"),
    );
    assert_eq!((v3.version, v3.spec.name.as_str()), (3, "third"));

    assert_eq!(
        env.api.delete_rule(a, r.id, 2).await.expect("delete"),
        Updated::Conflict(3)
    );
    assert_eq!(
        env.api.rule(a, r.id).await.expect("read"),
        Some(v3),
        "a stale delete deletes nothing"
    );
    assert_eq!(
        env.api.delete_rule(a, r.id, 3).await.expect("delete"),
        Updated::Done(Box::new(()))
    );
    assert_eq!(env.api.rule(a, r.id).await.expect("read"), None);
    assert_eq!(
        env.api.delete_rule(a, r.id, 3).await.expect("delete"),
        Updated::NotFound
    );
    assert_eq!(
        env.api
            .update_rule(a, r.id, 3, &second)
            .await
            .expect("update"),
        Updated::NotFound
    );
    assert_eq!(env.api.rules(a, None, 100).await.expect("rules"), []);
}

/// Tenant b can neither read, list, change nor delete a's rule, whatever
/// version it names.
async fn another_tenant_cannot_reach_a_rule(env: &Env) {
    let (a, b) = (tenant(env, "a").await, tenant(env, "b").await);
    let r = rule(env, a, &ctr_rule("a's", &[])).await;
    assert_eq!(env.api.rule(b, r.id).await.expect("read"), None);
    assert_eq!(env.api.rules(b, None, 100).await.expect("rules"), []);
    assert_eq!(
        env.api
            .update_rule(b, r.id, 1, &ctr_rule("hijacked", &[]))
            .await
            .expect("update"),
        Updated::NotFound
    );
    assert_eq!(
        env.api.delete_rule(b, r.id, 1).await.expect("delete"),
        Updated::NotFound
    );
    assert_eq!(
        env.api.rule(a, r.id).await.expect("read"),
        Some(r),
        "unchanged"
    );
}
