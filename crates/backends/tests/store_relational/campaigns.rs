//! Campaigns change only at the version the caller read; constraints
//! refuse bad values.

use adpulse_domain::targeting::CapPeriod;

use crate::support::*;

conformance!("rel", Some(3);
    campaigns_change_only_at_their_version,
    campaign_constraints_refuse_bad_values,
);

async fn campaigns_change_only_at_their_version(env: &Env) {
    let a = tenant(env, "a").await;
    let (c, first) = inserted_as_draft(env, a).await;
    let second = replaced_whole_at_version_2(env, a, &c, &first).await;
    status_changes_at_version_3(env, a, &c, &second).await;
    targeting_replaced_at_version_4(env, a, &c).await;
    deleted_at_version_5_then_not_found(env, a, &c, &first).await;
}

/// A new campaign is a draft at version 1, read back as written.
async fn inserted_as_draft(env: &Env, a: TenantId) -> (CampaignRecord, CampaignWrite) {
    let first = CampaignWrite {
        name: "Spring Sale".into(),
        brand_id: Some("acme".into()),
        budget_total_micros: Some(5_000_000),
        budget_currency: Some("EUR".into()),
        budget_daily_cap_micros: Some(250_000),
        schedule_start: Some(at("2026-12-01T00:00:00Z")),
        schedule_end: Some(at("2026-12-31T23:00:00Z")),
        timezone: "Europe/Berlin".into(),
        objectives: vec!["awareness".into(), "clicks".into()],
        channels: vec!["search".into(), "social".into()],
    };
    let c = env.api.insert_campaign(a, &first).await.expect("insert");
    assert_eq!(c.tenant_id, a);
    assert_eq!(c.status, CampaignStatus::Draft);
    assert_eq!(c.version, 1);
    assert_eq!(c.fields, first);
    assert_eq!(c.created_at, c.updated_at);
    assert_eq!(
        env.api.campaign(a, c.id).await.expect("read"),
        Some(c.clone())
    );
    (c, first)
}

/// An update at the read version replaces every field; a stale one conflicts.
async fn replaced_whole_at_version_2(
    env: &Env,
    a: TenantId,
    c: &CampaignRecord,
    first: &CampaignWrite,
) -> CampaignWrite {
    let second = CampaignWrite {
        name: "Spring Sale (extended)".into(),
        objectives: vec![],
        channels: vec!["display".into()],
        ..named("x")
    };
    let v2 = done(
        env.api
            .update_campaign(a, c.id, 1, &second)
            .await
            .expect("update"),
    );
    assert_eq!(v2.version, 2);
    assert_eq!(v2.fields, second, "replaced whole, cleared fields too");
    assert_eq!(v2.created_at, c.created_at);
    assert!(v2.updated_at >= c.updated_at);
    assert_eq!(
        env.api.campaign(a, c.id).await.expect("read"),
        Some(v2.clone())
    );
    assert_eq!(
        env.api
            .update_campaign(a, c.id, 1, first)
            .await
            .expect("update"),
        Updated::Conflict(2)
    );
    second
}

/// A status change bumps the version and keeps the fields; a stale one conflicts.
async fn status_changes_at_version_3(
    env: &Env,
    a: TenantId,
    c: &CampaignRecord,
    second: &CampaignWrite,
) {
    let v3 = done(
        env.api
            .set_campaign_status(a, c.id, 2, CampaignStatus::Active)
            .await
            .expect("status"),
    );
    assert_eq!((v3.status, v3.version), (CampaignStatus::Active, 3));
    assert_eq!(&v3.fields, second);
    assert_eq!(
        env.api
            .set_campaign_status(a, c.id, 2, CampaignStatus::Paused)
            .await
            .expect("status"),
        Updated::Conflict(3)
    );
}

/// Targeting starts empty, is replaced whole at its version, refuses
/// invalid JSON and reaches the gateway's facts.
async fn targeting_replaced_at_version_4(env: &Env, a: TenantId, c: &CampaignRecord) {
    let (doc, version) = env
        .api
        .campaign_targeting(a, c.id)
        .await
        .expect("targeting")
        .expect("a campaign");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&doc).expect("json"),
        serde_json::json!({})
    );
    assert_eq!(version, 3);
    let targeting = serde_json::json!({
        "countries": ["DE", "AT"],
        "device_types": ["mobile"],
        "dayparting": [{"days": ["mon", "tue"], "start": "08:00", "end": "18:30"}],
        "frequency_cap": {"max": 3, "per": "day"},
    });
    let v4 = done(
        env.api
            .set_campaign_targeting(a, c.id, 3, &targeting.to_string())
            .await
            .expect("targeting"),
    );
    assert_eq!(v4.version, 4);
    let (doc, version) = env
        .api
        .campaign_targeting(a, c.id)
        .await
        .expect("targeting")
        .expect("a campaign");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&doc).expect("json"),
        targeting,
        "the same document back"
    );
    assert_eq!(version, 4);
    assert_eq!(
        env.api
            .set_campaign_targeting(a, c.id, 3, "{}")
            .await
            .expect("targeting"),
        Updated::Conflict(4)
    );
    assert!(matches!(
        env.api.set_campaign_targeting(a, c.id, 4, "not json").await,
        Err(StoreError::Invalid(_))
    ));
    let facts = env
        .store
        .campaign_facts(c.id)
        .await
        .expect("facts")
        .expect("a campaign");
    assert_eq!(facts.tenant, a);
    assert_eq!(facts.timezone, "UTC");
    assert_eq!(
        facts.frequency_cap.map(|f| (f.max, f.per)),
        Some((3, CapPeriod::Day))
    );
}

/// A delete at the read version hides the campaign from every read and
/// every later change answers not found.
async fn deleted_at_version_5_then_not_found(
    env: &Env,
    a: TenantId,
    c: &CampaignRecord,
    first: &CampaignWrite,
) {
    assert_eq!(
        env.api
            .delete_campaign_at(a, c.id, 3)
            .await
            .expect("delete"),
        Updated::Conflict(4),
        "nothing changed by the refused targeting"
    );
    let deleted = done(
        env.api
            .delete_campaign_at(a, c.id, 4)
            .await
            .expect("delete"),
    );
    assert_eq!(deleted.version, 5);
    assert_eq!(env.api.campaign(a, c.id).await.expect("read"), None);
    assert_eq!(
        env.api.campaign_targeting(a, c.id).await.expect("read"),
        None
    );
    assert_eq!(env.store.campaign_facts(c.id).await.expect("facts"), None);
    assert_eq!(
        env.api
            .update_campaign(a, c.id, 5, first)
            .await
            .expect("update"),
        Updated::NotFound
    );
    assert_eq!(
        env.api
            .set_campaign_status(a, c.id, 5, CampaignStatus::Paused)
            .await
            .expect("status"),
        Updated::NotFound
    );
    assert_eq!(
        env.api
            .set_campaign_targeting(a, c.id, 5, "{}")
            .await
            .expect("targeting"),
        Updated::NotFound
    );
    assert_eq!(
        env.api
            .delete_campaign_at(a, c.id, 5)
            .await
            .expect("delete"),
        Updated::NotFound
    );
    let nobody = CampaignId::from_uuid(Uuid::now_v7());
    assert_eq!(
        env.api
            .update_campaign(a, nobody, 1, first)
            .await
            .expect("update"),
        Updated::NotFound
    );
    assert_eq!(env.api.campaign(a, nobody).await.expect("read"), None);
}

async fn campaign_constraints_refuse_bad_values(env: &Env) {
    let a = tenant(env, "a").await;
    let bad = [
        named(""),
        named(&"x".repeat(201)),
        CampaignWrite {
            budget_currency: Some("eur".into()),
            ..named("lower-case currency")
        },
        CampaignWrite {
            budget_total_micros: Some(-1),
            ..named("negative budget")
        },
        CampaignWrite {
            schedule_start: Some(at("2026-12-02T00:00:00Z")),
            schedule_end: Some(at("2026-12-01T00:00:00Z")),
            ..named("ends before it starts")
        },
    ];
    for w in &bad {
        let r = env.api.insert_campaign(a, w).await;
        assert!(
            matches!(r, Err(StoreError::Invalid(_))),
            "{:?}: {r:?}",
            w.name
        );
    }
    let ok = env
        .api
        .insert_campaign(a, &named(&"x".repeat(200)))
        .await
        .expect("200 characters");
    let r = env.api.update_campaign(a, ok.id, 1, &bad[2]).await;
    assert!(matches!(r, Err(StoreError::Invalid(_))), "{r:?}");
    assert_eq!(
        env.api
            .campaign(a, ok.id)
            .await
            .expect("read")
            .map(|c| c.version),
        Some(1)
    );
    let listed = env
        .api
        .list_campaigns(
            a,
            &CampaignFilter::default(),
            CampaignSort::CreatedAt,
            true,
            &Page::Offset(0),
            10,
        )
        .await
        .expect("list");
    assert_eq!(listed.1, 1, "only the valid one was stored");
}
