//! Tenants never see each other's rows; racing writers change a campaign
//! once.

use adpulse_domain::ingest_key;
use adpulse_domain::ports::KeyStatus;
use adpulse_domain::store::{CreativeFilter, NewIngestKey};

use crate::support::*;

conformance!("rel", Some(3);
    tenants_never_see_each_other,
    racing_writers_change_once,
);

async fn tenants_never_see_each_other(env: &Env) {
    let a = tenant(env, "a").await;
    let b = tenant(env, "b").await;
    let mine = env
        .api
        .insert_campaign(a, &named("A's campaign"))
        .await
        .expect("campaign");
    let art = env
        .api
        .insert_creative(a, &creative(mine.id, "a.png"))
        .await
        .expect("creative")
        .expect("stored");
    let (ann, _) = user(env, a, Role::Admin).await;
    let key = env
        .api
        .create_ingest_key(a, "a's key", [0x42; 32])
        .await
        .expect("key");
    let (bea, _) = user(env, b, Role::Admin).await;
    let theirs = env
        .api
        .insert_campaign(b, &named("B's campaign"))
        .await
        .expect("campaign");
    b_cannot_reach_a_s_campaigns(env, (a, b), &mine, &theirs).await;
    b_cannot_reach_a_s_creatives(env, (a, b), &mine, &art).await;
    b_cannot_reach_a_s_users(env, (a, b), ann, bea).await;
    b_cannot_reach_a_s_keys(env, (a, b), &key).await;
}

/// Campaigns: B can neither read nor change A's, lists only its own in
/// every sort, even from a cursor made of A's campaign.
async fn b_cannot_reach_a_s_campaigns(
    env: &Env,
    (a, b): (TenantId, TenantId),
    mine: &CampaignRecord,
    theirs: &CampaignRecord,
) {
    assert_eq!(env.api.campaign(b, mine.id).await.expect("read"), None);
    assert_eq!(
        env.api
            .update_campaign(b, mine.id, 1, &named("hijacked"))
            .await
            .expect("update"),
        Updated::NotFound
    );
    assert_eq!(
        env.api
            .set_campaign_status(b, mine.id, 1, CampaignStatus::Active)
            .await
            .expect("status"),
        Updated::NotFound
    );
    assert_eq!(
        env.api.campaign_targeting(b, mine.id).await.expect("read"),
        None
    );
    assert_eq!(
        env.api
            .set_campaign_targeting(b, mine.id, 1, "{}")
            .await
            .expect("targeting"),
        Updated::NotFound
    );
    assert_eq!(
        env.api
            .delete_campaign_at(b, mine.id, 1)
            .await
            .expect("delete"),
        Updated::NotFound
    );
    for sort in CampaignSort::ALL {
        let (rows, total) = list(
            env,
            b,
            &CampaignFilter::default(),
            sort,
            false,
            &Page::Offset(0),
            100,
        )
        .await;
        assert_eq!(total, 1);
        assert_eq!(
            rows.iter().map(|c| c.id).collect::<Vec<_>>(),
            vec![theirs.id]
        );
    }
    let (rows, _) = list(
        env,
        b,
        &CampaignFilter::default(),
        CampaignSort::CreatedAt,
        false,
        &Page::After {
            value: CampaignSort::CreatedAt.value_of(mine),
            id: mine.id,
        },
        100,
    )
    .await;
    assert!(
        rows.iter().all(|c| c.tenant_id == b),
        "a cursor from A shows B only B's"
    );
    assert_eq!(
        env.api.campaign(a, mine.id).await.expect("read"),
        Some(mine.clone()),
        "untouched"
    );
}

/// Creatives: B can neither add to, read, list nor delete A's.
async fn b_cannot_reach_a_s_creatives(
    env: &Env,
    (a, b): (TenantId, TenantId),
    mine: &CampaignRecord,
    art: &CreativeRecord,
) {
    assert_eq!(
        env.api
            .insert_creative(b, &creative(mine.id, "b.png"))
            .await
            .expect("insert"),
        None
    );
    assert_eq!(
        env.api.creative(b, mine.id, art.id).await.expect("read"),
        None
    );
    assert_eq!(
        env.api
            .creatives(b, &CreativeFilter::campaign(mine.id), None, 10)
            .await
            .expect("creatives"),
        (Vec::new(), 0)
    );
    assert!(
        !env.api
            .delete_creative(b, mine.id, art.id)
            .await
            .expect("delete")
    );
    assert_eq!(
        env.api
            .creatives(a, &CreativeFilter::campaign(mine.id), None, 10)
            .await
            .expect("creatives"),
        (vec![art.clone()], 1)
    );
}

/// Users: B lists only its own and can neither see nor deactivate A's.
async fn b_cannot_reach_a_s_users(env: &Env, (a, b): (TenantId, TenantId), ann: Uuid, bea: Uuid) {
    let theirs_users: Vec<Uuid> = env
        .api
        .users(b)
        .await
        .expect("users")
        .into_iter()
        .map(|u| u.id)
        .collect();
    assert_eq!(theirs_users, vec![bea]);
    assert!(env.api.active_user(b, ann).await.expect("active").is_none());
    assert!(
        env.api
            .deactivate_user(b, ann)
            .await
            .expect("deactivate")
            .is_none()
    );
    assert!(env.api.active_user(a, ann).await.expect("active").is_some());
}

/// Keys: B lists none of A's and cannot revoke them.
async fn b_cannot_reach_a_s_keys(env: &Env, (a, b): (TenantId, TenantId), key: &NewIngestKey) {
    let theirs_keys = env.api.ingest_keys(b).await.expect("keys");
    assert!(theirs_keys.is_empty());
    assert!(
        !env.api
            .revoke_tenant_ingest_key(b, key.id)
            .await
            .expect("revoke")
    );
    assert_eq!(
        env.store
            .key_status(ingest_key::hash(&key.secret))
            .await
            .expect("status"),
        KeyStatus::Active(a)
    );
}

async fn racing_writers_change_once(env: &Env) {
    let a = tenant(env, "a").await;
    let (u, _) = user(env, a, Role::Admin).await;
    let expires = Utc::now() + Duration::hours(1);
    for round in 0..5u8 {
        let presented = token(round);
        env.api
            .store_refresh_token(a, u, Uuid::now_v7(), &presented, expires)
            .await
            .expect("store");
        let (next_x, next_y) = (token(100 + round), token(200 + round));
        let (x, y) = tokio::join!(
            env.api.rotate_refresh_token(&presented, &next_x, expires),
            env.api.rotate_refresh_token(&presented, &next_y, expires),
        );
        let mut outcomes = [x.expect("rotate"), y.expect("rotate")];
        outcomes.sort_by_key(|o| matches!(o, Rotation::Reused));
        assert!(
            matches!(outcomes, [Rotation::Rotated { .. }, Rotation::Reused]),
            "one use rotates, the other is reuse: {outcomes:?}"
        );

        let c = env
            .api
            .insert_campaign(a, &named("raced"))
            .await
            .expect("campaign");
        let first = named("first");
        let (x, y) = tokio::join!(
            env.api.update_campaign(a, c.id, 1, &first),
            env.api
                .set_campaign_status(a, c.id, 1, CampaignStatus::Active),
        );
        let mut outcomes = [x.expect("update"), y.expect("status")];
        outcomes.sort_by_key(|o| matches!(o, Updated::Conflict(_)));
        assert!(
            matches!(&outcomes, [Updated::Done(d), Updated::Conflict(2)] if d.version == 2),
            "one change wins at a version: {outcomes:?}"
        );
    }
}
