//! Ingest keys and users through the API: admins only, confined to their
//! tenant; a key's secret shown once; a deactivated user can neither log in
//! nor refresh.

mod common;

use adpulse_domain::Role;
use adpulse_domain::ports::KeyStatus;
use common::{Api, PASSWORD};
use serde_json::json;

#[tokio::test]
async fn ingest_keys_are_created_once_listed_and_revoked() {
    let api = Api::start().await;
    let admin = api.token(&api.a, Role::Admin).await;
    let tok = Some(admin.as_str());
    let (secret, id) = admin_creates_a_key(&api, tok).await;
    another_tenant_cannot_revoke(&api, &id).await;
    revoking_is_once_and_the_gateway_sees_it(&api, tok, &secret, &id).await;
    keys_are_for_admins_only_and_named(&api, tok).await;
    api.stop().await;
}

/// An admin of tenant A creates a key: its secret is shown once, it
/// authenticates tenant A, and it is listed without the secret. Returns
/// the secret and the key's id.
async fn admin_creates_a_key(api: &Api, tok: Option<&str>) -> (String, String) {
    let made = api
        .call(
            "POST",
            "/api/v1/ingest-keys",
            tok,
            &[],
            Some(&json!({"name": "ad server 1"})),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    let secret = made.body["secret"].as_str().expect("secret").to_owned();
    assert!(
        secret.starts_with("adp_")
            && secret.starts_with(made.body["prefix"].as_str().expect("prefix"))
    );
    let id = made.body["id"].as_str().expect("id").to_owned();

    // The gateway's view: the key authenticates tenant A.
    let status = api
        .db
        .key_status(adpulse_domain::ingest_key::hash(&secret))
        .await
        .expect("status");
    assert_eq!(status, KeyStatus::Active(api.a.id));

    let listed = api.call("GET", "/api/v1/ingest-keys", tok, &[], None).await;
    assert_eq!(listed.body["data"].as_array().expect("data").len(), 1);
    assert!(
        !listed.body.to_string().contains(&secret),
        "the secret is never listed"
    );
    (secret, id)
}

/// Another tenant's admin gets 404 revoking key `id` and sees no keys.
async fn another_tenant_cannot_revoke(api: &Api, id: &str) {
    let other = api.token(&api.b, Role::Admin).await;
    let r = api
        .call(
            "DELETE",
            &format!("/api/v1/ingest-keys/{id}"),
            Some(&other),
            &[],
            None,
        )
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(
        api.call("GET", "/api/v1/ingest-keys", Some(&other), &[], None)
            .await
            .body["data"],
        json!([])
    );
}

/// The owner revokes the key (204, then 404 the second time), and the
/// gateway's view of it is `Revoked`: the key stayed live until then.
async fn revoking_is_once_and_the_gateway_sees_it(
    api: &Api,
    tok: Option<&str>,
    secret: &str,
    id: &str,
) {
    assert_eq!(
        api.call(
            "DELETE",
            &format!("/api/v1/ingest-keys/{id}"),
            tok,
            &[],
            None
        )
        .await
        .status,
        204
    );
    assert_eq!(
        api.call(
            "DELETE",
            &format!("/api/v1/ingest-keys/{id}"),
            tok,
            &[],
            None
        )
        .await
        .status,
        404
    );
    let status = api
        .db
        .key_status(adpulse_domain::ingest_key::hash(secret))
        .await
        .expect("status");
    assert_eq!(status, KeyStatus::Revoked);
}

/// Managers and analysts get 403 on keys; a blank name is 422.
async fn keys_are_for_admins_only_and_named(api: &Api, tok: Option<&str>) {
    for role in [Role::CampaignManager, Role::Analyst] {
        let t = api.token(&api.a, role).await;
        assert_eq!(
            api.call("GET", "/api/v1/ingest-keys", Some(&t), &[], None)
                .await
                .status,
            403
        );
        assert_eq!(
            api.call(
                "POST",
                "/api/v1/ingest-keys",
                Some(&t),
                &[],
                Some(&json!({"name": "x"}))
            )
            .await
            .status,
            403
        );
    }
    let bad = api
        .call(
            "POST",
            "/api/v1/ingest-keys",
            tok,
            &[],
            Some(&json!({"name": "  "})),
        )
        .await;
    assert_eq!((bad.status, bad.code()), (422, "validation_failed"));
}

#[tokio::test]
async fn users_are_created_listed_and_deactivated() {
    let api = Api::start().await;
    let admin = api.token(&api.a, Role::Admin).await;
    let tok = Some(admin.as_str());
    let id = admin_creates_a_validated_user(&api, tok).await;
    a_deactivated_user_can_neither_log_in_nor_refresh(&api, tok, &id).await;
    users_are_listed_and_admins_cannot_deactivate_themselves(&api, tok).await;
    let _ = PASSWORD;
    api.stop().await;
}

/// An admin creates an analyst (no password hash shown); the same address
/// again is 409 and bad fields are 422 naming each. Returns the user's id.
async fn admin_creates_a_validated_user(api: &Api, tok: Option<&str>) -> String {
    let new = json!({"email": "new.analyst@a.example", "password": "a fine long password", "role": "analyst"});
    let made = api
        .call("POST", "/api/v1/users", tok, &[], Some(&new))
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    assert!(made.body.get("password_hash").is_none());
    let id = made.body["id"].as_str().expect("id").to_owned();
    let dup = api
        .call("POST", "/api/v1/users", tok, &[], Some(&new))
        .await;
    assert_eq!((dup.status, dup.code()), (409, "already_exists"));
    let bad = api
        .call(
            "POST",
            "/api/v1/users",
            tok,
            &[],
            Some(&json!({"email": "nope", "password": "short", "role": "analyst"})),
        )
        .await;
    assert_eq!(bad.status, 422);
    assert_eq!(
        bad.body["error"]["errors"]
            .as_array()
            .expect("errors")
            .len(),
        2
    );
    let role = api.call("POST", "/api/v1/users", tok, &[], Some(&json!({"email": "x@a.example", "password": "a fine long password", "role": "root"}))).await;
    assert_eq!(
        (
            role.status,
            role.body["error"]["errors"][0]["field"].as_str()
        ),
        (422, Some("role"))
    );
    id
}

/// The new user logs in and holds a refresh token; another tenant's admin
/// cannot deactivate it, its own can, and then neither its password nor
/// its refresh token works.
async fn a_deactivated_user_can_neither_log_in_nor_refresh(api: &Api, tok: Option<&str>, id: &str) {
    let login = api
        .login("new.analyst@a.example", "a fine long password")
        .await;
    assert_eq!(login.status, 200);
    let refresh = login.body["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_owned();
    let other = api.token(&api.b, Role::Admin).await;
    let cross = api
        .call(
            "POST",
            &format!("/api/v1/users/{id}/deactivate"),
            Some(&other),
            &[],
            None,
        )
        .await;
    assert_eq!(cross.status, 404, "another tenant's admin");
    let done = api
        .call(
            "POST",
            &format!("/api/v1/users/{id}/deactivate"),
            tok,
            &[],
            None,
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body["deactivated_at"].is_string());
    assert_eq!(
        api.login("new.analyst@a.example", "a fine long password")
            .await
            .status,
        401
    );
    let r = api
        .call(
            "POST",
            "/api/v1/auth/refresh",
            None,
            &[],
            Some(&json!({"refresh_token": refresh})),
        )
        .await;
    assert_eq!(r.status, 401, "refresh after deactivation");
}

/// The tenant's four users are listed; an admin deactivating itself is
/// 409; analysts cannot list users.
async fn users_are_listed_and_admins_cannot_deactivate_themselves(api: &Api, tok: Option<&str>) {
    let listed = api.call("GET", "/api/v1/users", tok, &[], None).await;
    assert_eq!(listed.body["data"].as_array().expect("data").len(), 4);
    let me = api.call("GET", "/api/v1/users", tok, &[], None).await.body["data"]
        .as_array()
        .expect("data")
        .iter()
        .find(|u| u["email"] == api.a.email(Role::Admin))
        .expect("me")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let selfie = api
        .call(
            "POST",
            &format!("/api/v1/users/{me}/deactivate"),
            tok,
            &[],
            None,
        )
        .await;
    assert_eq!((selfie.status, selfie.code()), (409, "self_deactivation"));
    let analyst = api.token(&api.a, Role::Analyst).await;
    assert_eq!(
        api.call("GET", "/api/v1/users", Some(&analyst), &[], None)
            .await
            .status,
        403
    );
}
