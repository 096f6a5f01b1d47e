//! Users and sessions: unique addresses, deactivation ending sessions,
//! refresh tokens that rotate once and revoke their family on reuse.

use crate::support::*;

conformance!("rel", Some(3);
    users_are_unique_by_address_and_deactivation_ends_sessions,
    refresh_tokens_rotate_once_and_reuse_revokes_the_family,
);

async fn users_are_unique_by_address_and_deactivation_ends_sessions(env: &Env) {
    let a = tenant(env, "a").await;
    let b = tenant(env, "b").await;
    let (email, ann, anne) = addresses_are_unique_in_any_case(env, a, b).await;
    let bob = users_are_active_and_listed_per_tenant(env, (a, b), ann, anne).await;
    deactivation_ends_only_the_user_s_sessions(env, a, (ann, &email), bob).await;
}

/// An address is taken in any case (Unicode-aware) in every tenant and
/// found in any case, kept as written; returns it and the two users made.
async fn addresses_are_unique_in_any_case(
    env: &Env,
    a: TenantId,
    b: TenantId,
) -> (String, Uuid, Uuid) {
    let email = format!("Ann.{}@Example.COM", unique_name("x"));
    let ann = env
        .api
        .create_user(a, &email, "hash-1", Role::Admin)
        .await
        .expect("create");

    for (t, other) in [(a, email.to_lowercase()), (b, email.to_uppercase())] {
        let dup = env.api.create_user(t, &other, "h", Role::Analyst).await;
        assert!(
            matches!(dup, Err(StoreError::Duplicate(_))),
            "an address in another case, in any tenant, is taken: {dup:?}"
        );
    }

    let found = env
        .api
        .user_by_email(&email.to_lowercase())
        .await
        .expect("by email")
        .expect("found in any case");
    assert_eq!(found.id, ann);
    assert_eq!(found.tenant_id, a);
    assert_eq!(found.email, email, "kept as written");
    assert_eq!(found.password_hash, "hash-1");
    assert_eq!(found.role, Role::Admin);
    assert_eq!(found.deactivated_at, None);
    // Case folding is Unicode-aware, as Postgres' lower() is.
    let umlaut = format!("ÄNNE.{}@BEISPIEL.DE", unique_name("x"));
    let anne = env
        .api
        .create_user(b, &umlaut, "hash-2", Role::Analyst)
        .await
        .expect("create");
    let dup = env
        .api
        .create_user(a, &umlaut.to_lowercase(), "h", Role::Analyst)
        .await;
    assert!(matches!(dup, Err(StoreError::Duplicate(_))), "{dup:?}");
    let found = env
        .api
        .user_by_email(&umlaut.to_lowercase())
        .await
        .expect("by email")
        .expect("found");
    assert_eq!((found.id, found.tenant_id), (anne, b));
    assert!(
        env.api
            .user_by_email("nobody@example.com")
            .await
            .expect("by email")
            .is_none()
    );
    (email, ann, anne)
}

/// A user is active in their own tenant only; users are listed oldest
/// first per tenant. Returns a second user of `a`.
async fn users_are_active_and_listed_per_tenant(
    env: &Env,
    (a, b): (TenantId, TenantId),
    ann: Uuid,
    anne: Uuid,
) -> Uuid {
    let active = env.api.active_user(a, ann).await.expect("active");
    assert_eq!(active.map(|u| u.id), Some(ann));
    assert!(env.api.active_user(b, ann).await.expect("active").is_none());
    assert!(
        env.api
            .active_user(a, Uuid::now_v7())
            .await
            .expect("active")
            .is_none()
    );

    let (bob, _) = user(env, a, Role::Analyst).await;
    let listed: Vec<(Uuid, Role)> = env
        .api
        .users(a)
        .await
        .expect("users")
        .into_iter()
        .map(|u| (u.id, u.role))
        .collect();
    assert_eq!(
        listed,
        vec![(ann, Role::Admin), (bob, Role::Analyst)],
        "oldest first"
    );
    assert_eq!(
        env.api
            .users(b)
            .await
            .expect("users")
            .into_iter()
            .map(|u| u.id)
            .collect::<Vec<_>>(),
        vec![anne]
    );
    bob
}

/// Deactivation revokes the user's sessions, keeps the first time and
/// leaves other users' sessions alone.
async fn deactivation_ends_only_the_user_s_sessions(
    env: &Env,
    a: TenantId,
    (ann, email): (Uuid, &str),
    bob: Uuid,
) {
    let family = Uuid::now_v7();
    let t1 = token(1);
    let expires = Utc::now() + Duration::hours(1);
    env.api
        .store_refresh_token(a, ann, family, &t1, expires)
        .await
        .expect("store token");
    let (bob_family, bob_token) = (Uuid::now_v7(), token(2));
    env.api
        .store_refresh_token(a, bob, bob_family, &bob_token, expires)
        .await
        .expect("store token");

    let gone = env.api.deactivate_user(a, ann).await.expect("deactivate");
    let gone = gone.expect("the user");
    assert_eq!(gone.id, ann);
    let when = gone.deactivated_at.expect("deactivated");
    assert!(env.api.active_user(a, ann).await.expect("active").is_none());
    let by_mail = env
        .api
        .user_by_email(email)
        .await
        .expect("by email")
        .expect("still there");
    assert_eq!(by_mail.deactivated_at, Some(when));
    assert_eq!(
        env.api
            .rotate_refresh_token(&t1, &token(3), expires)
            .await
            .expect("rotate"),
        Rotation::Reused,
        "deactivation revoked the session"
    );
    assert!(
        matches!(
            env.api.rotate_refresh_token(&bob_token, &token(4), expires).await,
            Ok(Rotation::Rotated { user_id, .. }) if user_id == bob
        ),
        "other users keep theirs"
    );

    let again = env
        .api
        .deactivate_user(a, ann)
        .await
        .expect("deactivate")
        .expect("the user");
    assert_eq!(again.deactivated_at, Some(when), "the first time stays");
    assert!(
        env.api
            .deactivate_user(a, Uuid::now_v7())
            .await
            .expect("deactivate")
            .is_none()
    );
}

async fn refresh_tokens_rotate_once_and_reuse_revokes_the_family(env: &Env) {
    let a = tenant(env, "a").await;
    let (u, _) = user(env, a, Role::CampaignManager).await;
    let expires = Utc::now() + Duration::hours(1);
    reuse_revokes_the_family(env, a, u, expires).await;
    expired_tokens_are_invalid(env, a, u, expires).await;
    logout_revokes_the_family(env, a, u, expires).await;
}

/// A token rotates once; presenting a used one revokes its whole family.
async fn reuse_revokes_the_family(env: &Env, a: TenantId, u: Uuid, expires: DateTime<Utc>) {
    let family = Uuid::now_v7();
    let (t1, t2, t3) = (token(1), token(2), token(3));
    env.api
        .store_refresh_token(a, u, family, &t1, expires)
        .await
        .expect("store");

    let rotated = Rotation::Rotated {
        user_id: u,
        tenant_id: a,
        family_id: family,
    };
    assert_eq!(
        env.api
            .rotate_refresh_token(&t1, &t2, expires)
            .await
            .expect("rotate"),
        rotated
    );
    assert_eq!(
        env.api
            .rotate_refresh_token(&t2, &t3, expires)
            .await
            .expect("rotate"),
        rotated,
        "the successor is current"
    );
    assert_eq!(
        env.api
            .rotate_refresh_token(&t1, &token(4), expires)
            .await
            .expect("rotate"),
        Rotation::Reused,
        "a used token presented again"
    );
    assert_eq!(
        env.api
            .rotate_refresh_token(&t3, &token(5), expires)
            .await
            .expect("rotate"),
        Rotation::Reused,
        "reuse revoked the whole family, the current token too"
    );
    assert_eq!(
        env.api
            .rotate_refresh_token(&token(6), &token(7), expires)
            .await
            .expect("rotate"),
        Rotation::Invalid,
        "unknown"
    );
}

/// An expired token is invalid, and trying it does not use it up.
async fn expired_tokens_are_invalid(env: &Env, a: TenantId, u: Uuid, expires: DateTime<Utc>) {
    let expired = token(8);
    env.api
        .store_refresh_token(
            a,
            u,
            Uuid::now_v7(),
            &expired,
            Utc::now() - Duration::seconds(1),
        )
        .await
        .expect("store");
    for _ in 0..2 {
        assert_eq!(
            env.api
                .rotate_refresh_token(&expired, &token(9), expires)
                .await
                .expect("rotate"),
            Rotation::Invalid,
            "expired, and not used by trying"
        );
    }
}

/// Logging out revokes the token's family; an unknown token revokes nothing.
async fn logout_revokes_the_family(env: &Env, a: TenantId, u: Uuid, expires: DateTime<Utc>) {
    let (logout, next) = (token(10), token(11));
    let other_family = Uuid::now_v7();
    env.api
        .store_refresh_token(a, u, other_family, &logout, expires)
        .await
        .expect("store");
    assert!(
        env.api
            .revoke_refresh_family(&logout)
            .await
            .expect("revoke")
    );
    assert_eq!(
        env.api
            .rotate_refresh_token(&logout, &next, expires)
            .await
            .expect("rotate"),
        Rotation::Reused,
        "a logged-out token is revoked"
    );
    assert!(
        !env.api
            .revoke_refresh_family(&token(12))
            .await
            .expect("revoke")
    );
}
