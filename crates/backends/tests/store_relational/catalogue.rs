//! Creatives per live campaign, tenants and ingest keys, and the
//! gateway's `Directory` port over them.

use adpulse_domain::ingest_key;
use adpulse_domain::ports::KeyStatus;
use adpulse_domain::store::{CreativeFilter, NewIngestKey};
use adpulse_domain::targeting::FrequencyCap;

use crate::support::*;

conformance!("rel", Some(3);
    creatives_are_catalogued_per_live_campaign,
    a_tenant_s_creatives_filter_by_campaign_type_and_name,
    tenants_keys_and_the_directory,
);

async fn creatives_are_catalogued_per_live_campaign(env: &Env) {
    let a = tenant(env, "a").await;
    let c = env
        .api
        .insert_campaign(a, &named("with art"))
        .await
        .expect("campaign");
    let other = env
        .api
        .insert_campaign(a, &named("other"))
        .await
        .expect("campaign");
    let made = five_creatives_stored_as_given(env, a, &c).await;
    read_back_and_paged_newest_first(env, a, &c, &other, &made).await;
    deleted_alone_and_with_their_campaign(env, a, &c, &other, &made).await;
}

/// The tenant-wide listing (the console's library): every creative of the
/// tenant and no other's, narrowed by campaign, type and a case-blind part
/// of the name in which `%` and `_` are plain characters, paged the same.
async fn a_tenant_s_creatives_filter_by_campaign_type_and_name(env: &Env) {
    let (a, c1, c2) = four_creatives_of_a_and_one_of_b(env).await;
    filters_narrow_the_listing(env, a, c1, c2).await;
    paged_one_at_a_time_the_same_newest_first(env, a).await;
}

/// Tenant a's four creatives in two campaigns (`Summer_Banner.png` and
/// `winter%.jpg` in the first, `summer-tall.webp` and `autumn.gif` in the
/// second), and one of tenant b's named like them.
async fn four_creatives_of_a_and_one_of_b(env: &Env) -> (TenantId, CampaignId, CampaignId) {
    let (a, b) = (tenant(env, "a").await, tenant(env, "b").await);
    let c1 = env
        .api
        .insert_campaign(a, &named("one"))
        .await
        .expect("campaign");
    let c2 = env
        .api
        .insert_campaign(a, &named("two"))
        .await
        .expect("campaign");
    let theirs = env
        .api
        .insert_campaign(b, &named("theirs"))
        .await
        .expect("campaign");
    for (campaign, tenant, name, kind) in [
        (c1.id, a, "Summer_Banner.png", "image/png"),
        (c1.id, a, "winter%.jpg", "image/jpeg"),
        (c2.id, a, "summer-tall.webp", "image/webp"),
        (c2.id, a, "autumn.gif", "image/gif"),
        (theirs.id, b, "summer-b.png", "image/png"),
    ] {
        let mut c = creative(campaign, name);
        c.content_type = kind.to_owned();
        env.api
            .insert_creative(tenant, &c)
            .await
            .expect("insert")
            .expect("live");
    }
    (a, c1.id, c2.id)
}

async fn filters_narrow_the_listing(env: &Env, a: TenantId, c1: CampaignId, c2: CampaignId) {
    let names = |filter: CreativeFilter| async move {
        let (rows, total) = env
            .api
            .creatives(a, &filter, None, 100)
            .await
            .expect("creatives");
        assert_eq!(usize::try_from(total).ok(), Some(rows.len()), "{filter:?}");
        let mut names: Vec<String> = rows.into_iter().map(|r| r.filename).collect();
        names.sort();
        names
    };
    let all = CreativeFilter::default();
    assert_eq!(
        names(all.clone()).await,
        [
            "Summer_Banner.png",
            "autumn.gif",
            "summer-tall.webp",
            "winter%.jpg"
        ]
    );
    assert_eq!(
        names(CreativeFilter::campaign(c2)).await,
        ["autumn.gif", "summer-tall.webp"]
    );
    let of_type = |t: &str| CreativeFilter {
        content_type: Some(t.into()),
        ..all.clone()
    };
    assert_eq!(names(of_type("image/webp")).await, ["summer-tall.webp"]);
    let named_like = |n: &str| CreativeFilter {
        name: Some(n.into()),
        ..all.clone()
    };
    assert_eq!(
        names(named_like("SUMMER")).await,
        ["Summer_Banner.png", "summer-tall.webp"]
    );
    assert_eq!(
        names(named_like("%")).await,
        ["winter%.jpg"],
        "% is a character"
    );
    assert_eq!(
        names(named_like("_")).await,
        ["Summer_Banner.png"],
        "_ is a character"
    );
    let both = CreativeFilter {
        name: Some("summer".into()),
        ..CreativeFilter::campaign(c1)
    };
    assert_eq!(names(both).await, ["Summer_Banner.png"]);
}

async fn paged_one_at_a_time_the_same_newest_first(env: &Env, a: TenantId) {
    let all = CreativeFilter::default();
    let (every, _) = env
        .api
        .creatives(a, &all, None, 100)
        .await
        .expect("creatives");
    let mut paged = Vec::new();
    let mut after = None;
    loop {
        let (rows, total) = env.api.creatives(a, &all, after, 1).await.expect("page");
        assert_eq!(total, 4);
        let Some(last) = rows.last() else { break };
        after = Some((last.created_at, last.id));
        paged.extend(rows);
    }
    assert_eq!(paged, every);
}

/// Five creatives stored as given but for the time; a duplicate and one
/// for no campaign refused.
async fn five_creatives_stored_as_given(
    env: &Env,
    a: TenantId,
    c: &CampaignRecord,
) -> Vec<CreativeRecord> {
    let mut made = Vec::new();
    for i in 0..5 {
        let want = creative(c.id, &format!("banner-{i}.png"));
        let got = env
            .api
            .insert_creative(a, &want)
            .await
            .expect("insert")
            .expect("a live campaign of the tenant");
        assert_eq!(
            CreativeRecord {
                created_at: want.created_at,
                ..got.clone()
            },
            want,
            "stored as given but for the time"
        );
        assert!(got.created_at > DateTime::<Utc>::default());
        made.push(got);
    }
    let dup = env.api.insert_creative(a, &made[0]).await;
    assert!(matches!(dup, Err(StoreError::Duplicate(_))), "{dup:?}");
    let nowhere = creative(CampaignId::from_uuid(Uuid::now_v7()), "x.png");
    assert_eq!(
        env.api.insert_creative(a, &nowhere).await.expect("insert"),
        None
    );
    made
}

/// Each creative reads back under its own campaign only, and pages come
/// newest first with the total.
async fn read_back_and_paged_newest_first(
    env: &Env,
    a: TenantId,
    c: &CampaignRecord,
    other: &CampaignRecord,
    made: &[CreativeRecord],
) {
    assert_eq!(
        env.api.creative(a, c.id, made[1].id).await.expect("read"),
        Some(made[1].clone())
    );
    assert_eq!(
        env.api
            .creative(a, other.id, made[1].id)
            .await
            .expect("read"),
        None,
        "another campaign's"
    );

    let mut newest_first = made.to_vec();
    newest_first.sort_by_key(|r| std::cmp::Reverse((r.created_at, r.id)));
    let mut paged = Vec::new();
    let mut after = None;
    loop {
        let (rows, total) = env
            .api
            .creatives(a, &CreativeFilter::campaign(c.id), after, 2)
            .await
            .expect("creatives");
        assert_eq!(total, 5);
        let Some(last) = rows.last() else { break };
        after = Some((last.created_at, last.id));
        paged.extend(rows);
    }
    assert_eq!(paged, newest_first);
    assert_eq!(
        env.api
            .creatives(a, &CreativeFilter::campaign(other.id), None, 10)
            .await
            .expect("creatives"),
        (Vec::new(), 0)
    );
}

/// A creative is deleted once, under its own campaign; deleting the
/// campaign takes its creatives and refuses new ones.
async fn deleted_alone_and_with_their_campaign(
    env: &Env,
    a: TenantId,
    c: &CampaignRecord,
    other: &CampaignRecord,
    made: &[CreativeRecord],
) {
    assert!(
        !env.api
            .delete_creative(a, other.id, made[0].id)
            .await
            .expect("delete"),
        "named with the wrong campaign"
    );
    assert!(
        env.api
            .delete_creative(a, c.id, made[0].id)
            .await
            .expect("delete")
    );
    assert!(
        !env.api
            .delete_creative(a, c.id, made[0].id)
            .await
            .expect("delete"),
        "already gone"
    );
    assert_eq!(
        env.api.creative(a, c.id, made[0].id).await.expect("read"),
        None
    );
    let (rows, total) = env
        .api
        .creatives(a, &CreativeFilter::campaign(c.id), None, 10)
        .await
        .expect("creatives");
    assert_eq!(total, 4);
    assert!(rows.iter().all(|r| r.id != made[0].id));

    done(
        env.api
            .delete_campaign_at(a, c.id, c.version)
            .await
            .expect("delete campaign"),
    );
    assert_eq!(
        env.api.creative(a, c.id, made[1].id).await.expect("read"),
        None,
        "gone with its campaign"
    );
    assert!(
        !env.api
            .delete_creative(a, c.id, made[1].id)
            .await
            .expect("delete")
    );
    assert_eq!(
        env.api
            .insert_creative(a, &creative(c.id, "late.png"))
            .await
            .expect("insert"),
        None
    );
}

async fn tenants_keys_and_the_directory(env: &Env) {
    let a = tenant(env, "a").await;
    let b = tenant(env, "b").await;
    assert_ne!(a, b);
    let (first, second) = ingest_keys_listed_newest_first(env, a, b).await;
    ingest_keys_revoked_once(env, a, &first, &second).await;
    let (chosen, c) = admin_campaigns_reach_the_directory(env, a, b).await;
    frequency_cap_reaches_the_facts(env, a, c).await;
    admin_delete_hides_the_campaign(env, a, c, chosen).await;
}

/// Keys are formatted, resolved to their tenant, unique across tenants and
/// listed newest first to their tenant only.
async fn ingest_keys_listed_newest_first(
    env: &Env,
    a: TenantId,
    b: TenantId,
) -> (NewIngestKey, NewIngestKey) {
    let random = [0x5a; 32];
    let first = env
        .api
        .create_ingest_key(a, "web", random)
        .await
        .expect("key");
    assert_eq!(first.secret, ingest_key::format_key(random));
    assert!(ingest_key::well_formed(&first.secret));
    let second = env
        .api
        .create_ingest_key(a, "app", [0x17; 32])
        .await
        .expect("key");
    assert_eq!(
        env.store
            .key_status(ingest_key::hash(&first.secret))
            .await
            .expect("status"),
        KeyStatus::Active(a)
    );
    assert_eq!(
        env.store.key_status([0; 32]).await.expect("status"),
        KeyStatus::Unknown
    );
    let dup = env
        .api
        .create_ingest_key(b, "same bytes", random)
        .await
        .err();
    assert!(matches!(dup, Some(StoreError::Duplicate(_))), "{dup:?}");

    let keys = env.api.ingest_keys(a).await.expect("keys");
    let listed: Vec<(Uuid, &str, &str, bool)> = keys
        .iter()
        .map(|k| {
            (
                k.id,
                k.name.as_str(),
                k.prefix.as_str(),
                k.revoked_at.is_some(),
            )
        })
        .collect();
    let prefix = |s: &str| ingest_key::display_prefix(s).to_owned();
    assert_eq!(
        listed,
        vec![
            (second.id, "app", prefix(&second.secret).as_str(), false),
            (first.id, "web", prefix(&first.secret).as_str(), false),
        ],
        "newest first"
    );
    assert!(
        keys.iter()
            .all(|k| k.created_at > DateTime::<Utc>::default())
    );
    assert!(env.api.ingest_keys(b).await.expect("keys").is_empty());
    (first, second)
}

/// A key is revoked once, by its tenant or by the admin tools, and then
/// resolves as revoked.
async fn ingest_keys_revoked_once(
    env: &Env,
    a: TenantId,
    first: &NewIngestKey,
    second: &NewIngestKey,
) {
    let hash = ingest_key::hash(&first.secret);
    assert!(
        env.api
            .revoke_tenant_ingest_key(a, first.id)
            .await
            .expect("revoke")
    );
    assert!(
        !env.api
            .revoke_tenant_ingest_key(a, first.id)
            .await
            .expect("revoke"),
        "already revoked"
    );
    assert_eq!(
        env.store.key_status(hash).await.expect("status"),
        KeyStatus::Revoked
    );
    let keys = env.api.ingest_keys(a).await.expect("keys");
    assert!(
        keys.iter()
            .any(|k| k.id == first.id && k.revoked_at.is_some())
    );
    assert!(
        env.store
            .revoke_ingest_key(second.id)
            .await
            .expect("revoke")
    );
    assert!(
        !env.store
            .revoke_ingest_key(second.id)
            .await
            .expect("revoke")
    );
    assert!(
        !env.store
            .revoke_ingest_key(Uuid::now_v7())
            .await
            .expect("revoke")
    );
    assert_eq!(
        env.store
            .key_status(ingest_key::hash(&second.secret))
            .await
            .expect("status"),
        KeyStatus::Revoked
    );
}

/// Campaigns made by the admin tools are visible to their tenant and take
/// a time zone in bulk.
async fn admin_campaigns_reach_the_directory(
    env: &Env,
    a: TenantId,
    b: TenantId,
) -> (Uuid, CampaignId) {
    // Campaigns made by the admin tools: active, in UTC, no cap.
    let chosen = Uuid::now_v7();
    let c = env
        .store
        .create_campaign(a, "Admin Made", Some(chosen))
        .await
        .expect("campaign");
    assert_eq!(*c.as_uuid(), chosen);
    let made = env
        .store
        .create_campaign(b, "Admin Made Too", None)
        .await
        .expect("campaign");
    let facts = env
        .store
        .campaign_facts(c)
        .await
        .expect("facts")
        .expect("a campaign");
    assert_eq!(
        (facts.tenant, facts.timezone.as_str(), facts.frequency_cap),
        (a, "UTC", None)
    );
    let record = env
        .api
        .campaign(a, c)
        .await
        .expect("read")
        .expect("visible to its tenant");
    assert_eq!(record.status, CampaignStatus::Active);
    assert_eq!(record.fields.name, "Admin Made");
    assert_eq!(record.version, 1);

    assert_eq!(
        env.store
            .set_campaign_zones(
                "America/New_York",
                &[chosen, *made.as_uuid(), Uuid::now_v7()]
            )
            .await
            .expect("zones"),
        2
    );
    assert_eq!(
        env.store
            .set_campaign_zones("UTC", &[])
            .await
            .expect("zones"),
        0
    );
    let facts = env
        .store
        .campaign_facts(made)
        .await
        .expect("facts")
        .expect("a campaign");
    assert_eq!(
        (facts.tenant, facts.timezone.as_str()),
        (b, "America/New_York")
    );
    (chosen, c)
}

/// A frequency cap set in the targeting reaches the gateway's facts, and
/// clearing it removes it.
async fn frequency_cap_reaches_the_facts(env: &Env, a: TenantId, c: CampaignId) {
    let v = done(
        env.api
            .set_campaign_targeting(
                a,
                c,
                1,
                r#"{"frequency_cap": {"max": 2, "per": "hour", "scope": "campaign", "window": "rolling"}}"#,
            )
            .await
            .expect("targeting"),
    );
    assert_eq!(v.version, 2);
    let facts = env
        .store
        .campaign_facts(c)
        .await
        .expect("facts")
        .expect("a campaign");
    let cap: FrequencyCap = serde_json::from_str(
        r#"{"max": 2, "per": "hour", "scope": "campaign", "window": "rolling"}"#,
    )
    .expect("cap");
    assert_eq!(facts.frequency_cap, Some(cap));
    assert_eq!(facts.timezone, "America/New_York");
    done(
        env.api
            .set_campaign_targeting(a, c, 2, r#"{"frequency_cap": null}"#)
            .await
            .expect("targeting"),
    );
    assert_eq!(
        env.store
            .campaign_facts(c)
            .await
            .expect("facts")
            .expect("a campaign")
            .frequency_cap,
        None
    );
}

/// The admin tools delete a campaign once; its id cannot be reused.
async fn admin_delete_hides_the_campaign(env: &Env, a: TenantId, c: CampaignId, chosen: Uuid) {
    assert!(env.store.delete_campaign(c).await.expect("delete"));
    assert!(!env.store.delete_campaign(c).await.expect("delete"), "once");
    assert_eq!(env.store.campaign_facts(c).await.expect("facts"), None);
    assert_eq!(env.api.campaign(a, c).await.expect("read"), None);
    assert_eq!(
        env.store
            .campaign_facts(CampaignId::from_uuid(Uuid::now_v7()))
            .await
            .expect("facts"),
        None
    );
    let dup = env.store.create_campaign(a, "same id", Some(chosen)).await;
    assert!(matches!(dup, Err(StoreError::Duplicate(_))), "{dup:?}");
}
