//! Authentication against real Postgres: login, refresh rotation and
//! reuse detection, logout, and every kind of bad token.

mod common;

use adpulse_domain::Role;
use base64::Engine as _;
use common::{Api, PASSWORD, SECRET};
use serde_json::json;

fn b64(v: &serde_json::Value) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
}

fn hs256(header: &serde_json::Value, claims: &serde_json::Value, key: &[u8]) -> String {
    use jsonwebtoken::{EncodingKey, Header};
    let mut h: Header = serde_json::from_value(header.clone()).expect("header");
    h.alg = jsonwebtoken::Algorithm::HS256;
    jsonwebtoken::encode(&h, claims, &EncodingKey::from_secret(key).expect("key")).expect("sign")
}

#[tokio::test]
async fn login_refresh_rotation_reuse_and_logout() {
    let api = Api::start().await;
    let email = api.a.email(Role::Admin).to_owned();

    // Wrong password and unknown address: the same 401.
    let wrong = api.login(&email, "nope nope nope").await;
    let unknown = api.login("nobody@nowhere.example", PASSWORD).await;
    assert_eq!((wrong.status, wrong.code()), (401, "invalid_credentials"));
    assert_eq!(
        (unknown.status, unknown.code()),
        (401, "invalid_credentials")
    );
    assert_eq!(
        wrong.body["error"]["message"],
        unknown.body["error"]["message"]
    );

    let first = api.login(&email.to_uppercase(), PASSWORD).await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.headers["cache-control"], "no-store");
    assert_eq!(first.body["token_type"], "Bearer");
    assert_eq!(first.body["expires_in"], 900);
    let access = first.body["access_token"].as_str().expect("access");
    let r1 = first.body["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_owned();
    let list = api
        .call("GET", "/api/v1/campaigns", Some(access), &[], None)
        .await;
    assert_eq!(list.status, 200, "{}", list.body);

    // Rotation: r1 gives r2; r2 gives r3.
    let refresh = |t: String| {
        let api = &api;
        async move {
            api.call(
                "POST",
                "/api/v1/auth/refresh",
                None,
                &[],
                Some(&json!({"refresh_token": t})),
            )
            .await
        }
    };
    let second = refresh(r1.clone()).await;
    assert_eq!(second.status, 200, "{}", second.body);
    let r2 = second.body["refresh_token"]
        .as_str()
        .expect("r2")
        .to_owned();
    assert_ne!(r1, r2);
    let third = refresh(r2.clone()).await;
    assert_eq!(third.status, 200);
    let r3 = third.body["refresh_token"].as_str().expect("r3").to_owned();

    // r1 again (stolen and replayed): refused, and the whole family dies,
    // r3 included.
    let replay = refresh(r1).await;
    assert_eq!((replay.status, replay.code()), (401, "refresh_reused"));
    let after = refresh(r3).await;
    assert_eq!((after.status, after.code()), (401, "refresh_reused"));

    // Another login is another family; logout revokes it.
    let other = api.login(&email, PASSWORD).await;
    let r = other.body["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_owned();
    let out = api
        .call(
            "POST",
            "/api/v1/auth/logout",
            None,
            &[],
            Some(&json!({"refresh_token": r})),
        )
        .await;
    assert_eq!(out.status, 204);
    let dead = refresh(r).await;
    assert_eq!(dead.status, 401);
    let garbage = refresh("adr_nothing".into()).await;
    assert_eq!((garbage.status, garbage.code()), (401, "invalid_token"));
    api.stop().await;
}

/// The claims of a signed token, decoded without checking the signature.
fn claims_of(t: &str) -> serde_json::Value {
    let part = t.split('.').nth(1).expect("claims");
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .expect("b64"),
    )
    .expect("json")
}

/// Tokens forged from a good one of tenant A: (what, token, expected code).
fn forged_tokens(good: &str, other_tenant_id: &str) -> Vec<(&'static str, String, &'static str)> {
    let claims = claims_of(good);
    let now = chrono::Utc::now().timestamp();
    let hdr = json!({"alg": "HS256", "typ": "JWT"});

    let mut expired = claims.clone();
    expired["exp"] = json!(now - 60);
    expired["iat"] = json!(now - 1000);
    let mut other_tenant = claims.clone();
    other_tenant["tid"] = json!(other_tenant_id);
    let (h, _, s) = {
        let mut it = good.split('.');
        (
            it.next().expect("header"),
            it.next().expect("claims"),
            it.next().expect("signature"),
        )
    };
    vec![
        (
            "expired",
            hs256(&hdr, &expired, SECRET.as_bytes()),
            "token_expired",
        ),
        (
            "wrong key",
            hs256(&hdr, &claims, b"another-secret-another-secret-0000"),
            "invalid_token",
        ),
        // Claims changed (another tenant) under the original signature.
        (
            "tampered",
            format!("{h}.{}.{s}", b64(&other_tenant)),
            "invalid_token",
        ),
        (
            "alg none",
            format!(
                "{}.{}.",
                b64(&json!({"alg": "none", "typ": "JWT"})),
                b64(&claims)
            ),
            "invalid_token",
        ),
        (
            "alg HS512",
            {
                use jsonwebtoken::{EncodingKey, Header};
                jsonwebtoken::encode(
                    &Header::new(jsonwebtoken::Algorithm::HS512),
                    &claims,
                    &EncodingKey::from_secret(SECRET.as_bytes()).expect("k"),
                )
                .expect("sign")
            },
            "invalid_token",
        ),
        ("garbage", "not.a.token".into(), "invalid_token"),
    ]
}

#[tokio::test]
async fn bad_access_tokens_are_refused() {
    let api = Api::start().await;
    let good = api.token(&api.a, Role::Admin).await;
    for (what, token, code) in forged_tokens(&good, &api.b.id.to_string()) {
        let r = api
            .call("GET", "/api/v1/campaigns", Some(&token), &[], None)
            .await;
        assert_eq!((r.status, r.code()), (401, code), "{what}: {}", r.body);
        assert_eq!(r.headers["www-authenticate"], "Bearer", "{what}");
    }
    schemes_and_login_fields_are_checked(&api, &good).await;
    api.stop().await;
}

/// The scheme is case-insensitive, a missing or Basic one is 401, and odd
/// login fields are 422.
async fn schemes_and_login_fields_are_checked(api: &Api, good: &str) {
    // The scheme is case-insensitive.
    let lower = api
        .call(
            "GET",
            "/api/v1/campaigns",
            None,
            &[("authorization", &format!("bearer {good}"))],
            None,
        )
        .await;
    assert_eq!(lower.status, 200);
    // A NUL in a login field, or an absurdly long address: 422, not 500.
    let nul = api.login("a\u{0}b@x.example", "whatever password").await;
    assert_eq!(nul.status, 422, "{}", nul.body);
    let long = api.login(&"x".repeat(300), "whatever password").await;
    assert_eq!(long.status, 422);
    let none = api.call("GET", "/api/v1/campaigns", None, &[], None).await;
    assert_eq!((none.status, none.code()), (401, "unauthorized"));
    let basic = api
        .call(
            "GET",
            "/api/v1/campaigns",
            None,
            &[("authorization", "Basic YTpi")],
            None,
        )
        .await;
    assert_eq!(basic.status, 401);
}

#[tokio::test]
async fn logins_are_limited_per_account() {
    let cfg = adpulse_config::ApiConfig {
        login_per_account_per_minute: 3,
        ..common::api_config()
    };
    let api = Api::start_with(cfg).await;
    let email = api.a.email(Role::Analyst).to_owned();
    for _ in 0..3 {
        assert_eq!(api.login(&email, "wrong password!").await.status, 401);
    }
    let limited = api.login(&email, PASSWORD).await;
    assert_eq!((limited.status, limited.code()), (429, "rate_limited"));
    assert!(limited.headers["retry-after"].parse::<u64>().expect("secs") >= 1);
    // Another account is not affected.
    assert_eq!(
        api.login(api.a.email(Role::Admin), PASSWORD).await.status,
        200
    );
    api.stop().await;
}
