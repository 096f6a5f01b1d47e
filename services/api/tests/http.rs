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
    errors_have_one_json_shape(&api, &token).await;
    v1_answers_carry_security_and_deprecation_headers(&api, &token).await;
    cors_answers_allowed_origins_only(&api, &token).await;
    requests_are_counted_by_route_template(&api).await;
    api.stop().await;
}

/// An unknown path, a wrong method, an oversized body and a wrong content
/// type each get their status and the same JSON error shape.
async fn errors_have_one_json_shape(api: &Api, token: &str) {
    // Unknown path, wrong method, oversized body: the same JSON shape.
    let r = api
        .call("GET", "/api/v1/nothing-here", Some(token), &[], None)
        .await;
    assert_eq!((r.status, r.code()), (404, "not_found"));
    let r = api
        .call("DELETE", "/api/v1/campaigns", Some(token), &[], None)
        .await;
    assert_eq!((r.status, r.code()), (405, "method_not_allowed"));
    let big = serde_json::json!({"name": "x".repeat(5000)});
    let r = api
        .call("POST", "/api/v1/campaigns", Some(token), &[], Some(&big))
        .await;
    assert_eq!((r.status, r.code()), (413, "payload_too_large"));
    let r = api
        .call(
            "POST",
            "/api/v1/campaigns",
            Some(token),
            &[("content-type", "text/plain")],
            None,
        )
        .await;
    assert_eq!(r.status, 400);
}

/// Every v1 answer has the security headers and the deprecation notice.
async fn v1_answers_carry_security_and_deprecation_headers(api: &Api, token: &str) {
    // Security headers and the deprecation notice on every v1 answer.
    let r = api
        .call("GET", "/api/v1/campaigns", Some(token), &[], None)
        .await;
    assert_eq!(r.headers["x-content-type-options"], "nosniff");
    assert_eq!(r.headers["x-frame-options"], "DENY");
    assert_eq!(r.headers["cache-control"], "no-store");
    assert_eq!(r.headers["deprecation"], "true");
    assert_eq!(r.headers["sunset"], "Wed, 30 Jun 2027 00:00:00 GMT");
    assert_eq!(r.headers["link"], "</api/v2>; rel=\"successor-version\"");
}

/// The allowed origin gets CORS headers (its preflight too, with the
/// methods and headers the API takes); another origin gets none.
async fn cors_answers_allowed_origins_only(api: &Api, token: &str) {
    // CORS: the allowed origin gets its headers (preflight too), others none.
    let r = api
        .call(
            "GET",
            "/api/v1/campaigns",
            Some(token),
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
            Some(token),
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
}

/// `/metrics` counts requests by route template and counts logins.
async fn requests_are_counted_by_route_template(api: &Api) {
    // Requests are counted by route template, not by raw path.
    let metrics = raw_get(&api.url, "/metrics").await;
    assert!(
        metrics.contains(
            r#"adpulse_api_requests_total{route="/api/v1/campaigns",method="GET",status="200"}"#
        ),
        "{metrics}"
    );
    assert!(metrics.contains("adpulse_api_logins_total"), "{metrics}");
}

#[tokio::test]
async fn the_openapi_document_and_an_offline_docs_page_are_served() {
    let api = Api::start().await;
    let doc = api
        .call("GET", "/api/v1/openapi.json", None, &[], None)
        .await;
    assert_eq!(doc.status, 200);
    assert!(
        doc.body["openapi"]
            .as_str()
            .expect("version")
            .starts_with("3.1")
    );
    let paths = doc.body["paths"].as_object().expect("paths");
    for p in [
        "/api/v1/auth/login",
        "/api/v1/auth/refresh",
        "/api/v1/auth/logout",
        "/api/v1/campaigns",
        "/api/v1/campaigns/{id}",
        "/api/v1/campaigns/{id}/status",
        "/api/v1/campaigns/{id}/targeting",
        "/api/v1/ingest-keys",
        "/api/v1/ingest-keys/{id}",
        "/api/v1/users",
        "/api/v1/users/{id}/deactivate",
    ] {
        assert!(paths.contains_key(p), "{p} documented");
    }
    assert_eq!(
        doc.body["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    // The page and its scripts come from this server, not a CDN.
    let page = raw_get(&api.url, "/api/v1/docs/").await;
    assert!(page.contains("swagger"), "{page}");
    assert!(!page.contains("https://"), "no external assets: {page}");
    let init = raw_get(&api.url, "/api/v1/docs/swagger-initializer.js").await;
    assert!(init.contains("/api/v1/openapi.json"), "{init}");
    api.stop().await;
}

async fn raw_get(base: &str, path: &str) -> String {
    use http_body_util::BodyExt as _;
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Full<bytes::Bytes>>();
    let res = client
        .get(format!("{base}{path}").parse().expect("uri"))
        .await
        .expect("get");
    assert_eq!(res.status().as_u16(), 200, "{path}");
    String::from_utf8_lossy(&res.into_body().collect().await.expect("body").to_bytes()).into_owned()
}
