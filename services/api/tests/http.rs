//! HTTP-level behaviour: one error shape for everything, security headers,
//! CORS for allowed origins only, and the v1 deprecation notice.

mod common;

use common::Api;

#[tokio::test]
async fn errors_headers_cors_and_deprecation() {
    let cfg = adpulse_config::ApiConfig {
        cors_origins: vec!["https://app.example".into()],
        v1_sunset: Some("2027-06-30T00:00:00Z".into()),
        max_body_bytes: 1024,
        ..common::api_config()
    };
    let api = Api::start_with(cfg).await;
    let token = api.token(&api.a, adpulse_domain::Role::Admin).await;

    // Unknown path, wrong method, oversized body: the same JSON shape.
    let r = api
        .call("GET", "/api/v1/nothing-here", Some(&token), &[], None)
        .await;
    assert_eq!((r.status, r.code()), (404, "not_found"));
    let r = api
        .call("DELETE", "/api/v1/campaigns", Some(&token), &[], None)
        .await;
    assert_eq!((r.status, r.code()), (405, "method_not_allowed"));
    let big = serde_json::json!({"name": "x".repeat(5000)});
    let r = api
        .call("POST", "/api/v1/campaigns", Some(&token), &[], Some(&big))
        .await;
    assert_eq!((r.status, r.code()), (413, "payload_too_large"));
    let r = api
        .call(
            "POST",
            "/api/v1/campaigns",
            Some(&token),
            &[("content-type", "text/plain")],
            None,
        )
        .await;
    assert_eq!(r.status, 400);

    // Security headers and the deprecation notice on every v1 answer.
    let r = api
        .call("GET", "/api/v1/campaigns", Some(&token), &[], None)
        .await;
    assert_eq!(r.headers["x-content-type-options"], "nosniff");
    assert_eq!(r.headers["x-frame-options"], "DENY");
    assert_eq!(r.headers["cache-control"], "no-store");
    assert_eq!(r.headers["deprecation"], "true");
    assert_eq!(r.headers["sunset"], "Wed, 30 Jun 2027 00:00:00 GMT");
    assert_eq!(r.headers["link"], "</api/v2>; rel=\"successor-version\"");

    // CORS: the allowed origin gets its headers (preflight too), others none.
    let r = api
        .call(
            "GET",
            "/api/v1/campaigns",
            Some(&token),
            &[("origin", "https://app.example")],
            None,
        )
        .await;
    assert_eq!(
        r.headers["access-control-allow-origin"],
        "https://app.example"
    );
    let r = api
        .call(
            "GET",
            "/api/v1/campaigns",
            Some(&token),
            &[("origin", "https://evil.example")],
            None,
        )
        .await;
    assert!(!r.headers.contains_key("access-control-allow-origin"));
    let r = api
        .call(
            "OPTIONS",
            "/api/v1/campaigns",
            None,
            &[
                ("origin", "https://app.example"),
                ("access-control-request-method", "POST"),
            ],
            None,
        )
        .await;
    assert_eq!(r.status, 204);
    assert!(r.headers["access-control-allow-methods"].contains("PATCH"));
    assert!(r.headers["access-control-allow-headers"].contains("If-Match"));
    api.stop().await;
}
