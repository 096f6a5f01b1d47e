//! The bad-input scenario's phases: each refusal of the gateway and the
//! API is a specific 4xx with its code (and the fields it names), never a
//! 5xx.

use serde_json::{Value, json};

use crate::common::http::Reply;
use crate::common::platform::{Platform, Tenant};

/// Status and error code of a gateway or API refusal.
fn refusal(r: &Reply) -> (u16, String) {
    (
        r.status,
        r.json()["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

/// The fields an error body names, in order.
fn fields(r: &Reply) -> Vec<String> {
    r.json()["error"]["errors"]
        .as_array()
        .map(|es| {
            es.iter()
                .map(|e| e["field"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The gateway: a missing or unknown key, a wrong media type, broken JSON,
/// invalid fields, a future time and an empty or invalid batch.
pub async fn gateway_refuses_bad_requests(p: &Platform, t: &Tenant, good: &Value) {
    // The gateway.
    let auth = format!("Bearer {}", t.key);
    let json_ct = ("content-type", "application/json");
    let r = p
        .gateway
        .send("POST", "/v1/events", &[json_ct], good.to_string())
        .await;
    assert_eq!(refusal(&r), (401, "missing_key".into()));
    let r = p
        .ingest(
            "adp_0000000000000000000000000000000000000000000000000000000000000000",
            "/v1/events",
            "application/json",
            good.to_string(),
        )
        .await;
    assert_eq!(refusal(&r), (401, "invalid_key".into()));
    let r = p
        .gateway
        .send(
            "POST",
            "/v1/events",
            &[("authorization", &auth), ("content-type", "text/plain")],
            good.to_string(),
        )
        .await;
    assert_eq!(refusal(&r), (415, "unsupported_media_type".into()));
    let r = p
        .ingest(
            &t.key,
            "/v1/events",
            "application/json",
            r#"{"event_id":"#.into(),
        )
        .await;
    assert_eq!(refusal(&r), (400, "invalid_json".into()));
    let mut bad = good.clone();
    bad["type"] = json!("view");
    bad["cost_micros"] = json!(-5);
    let r = p
        .ingest(&t.key, "/v1/events", "application/json", bad.to_string())
        .await;
    assert_eq!(r.status, 422, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(fields(&r), ["type", "cost_micros"]);
    let mut future = good.clone();
    future["occurred_at"] = json!("2999-01-01T00:00:00Z");
    let r = p
        .ingest(&t.key, "/v1/events", "application/json", future.to_string())
        .await;
    assert_eq!(refusal(&r), (422, "too_far_in_future".into()));
    let r = p
        .ingest(&t.key, "/v1/events/batch", "application/json", "[]".into())
        .await;
    assert_eq!(refusal(&r), (400, "empty_batch".into()));
    let r = p
        .ingest(
            &t.key,
            "/v1/events/batch",
            "application/json",
            json!([bad]).to_string(),
        )
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(r.json()["results"][0]["code"], "unknown_event_type");
}

/// The API: no token, a malformed token, a wrong password, a broken login body.
pub async fn api_refuses_bad_credentials(p: &Platform, t: &Tenant) {
    let json_ct = ("content-type", "application/json");
    // The API.
    let r = p.api.send("GET", "/api/v1/campaigns", &[], "").await;
    assert_eq!(refusal(&r), (401, "unauthorized".into()));
    let r = p.get("not.a.token", "/api/v1/campaigns").await;
    assert_eq!(refusal(&r), (401, "invalid_token".into()));
    let r = p
        .api
        .send(
            "POST",
            "/api/v1/auth/login",
            &[json_ct],
            json!({"email": t.email, "password": "not the password at all"}).to_string(),
        )
        .await;
    assert_eq!(refusal(&r), (401, "invalid_credentials".into()));
    let r = p
        .api
        .send("POST", "/api/v1/auth/login", &[json_ct], "{\"email\":")
        .await;
    assert_eq!(refusal(&r), (400, "bad_request".into()));
}

/// The API: each invalid report, listing and ranking query names its
/// field; an id that is no UUID is not found.
pub async fn api_refuses_bad_queries(p: &Platform, t: &Tenant) {
    let c = &t.campaigns[0];
    let report = format!("/api/v1/campaigns/{c}/reports");
    for (query, status, field) in [
        ("start_date=2026-02-02&end_date=2026-02-01", 422, "end_date"),
        (
            "start_date=2026-02-30&end_date=2026-03-01",
            422,
            "start_date",
        ),
        (
            "start_date=2026-02-01&end_date=2026-02-02&breakdown=country",
            422,
            "breakdown",
        ),
        (
            "start_date=2026-02-01&end_date=2026-02-02&tz=Mars/Olympus",
            422,
            "tz",
        ),
        (
            "start_date=2026-02-01&end_date=2026-02-02&colour=red",
            400,
            "",
        ),
    ] {
        let r = p.get(&t.token, &format!("{report}?{query}")).await;
        assert_eq!(
            r.status,
            status,
            "{query}: {}",
            String::from_utf8_lossy(&r.body)
        );
        if status == 422 {
            assert_eq!(refusal(&r).1, "validation_failed", "{query}");
            assert_eq!(fields(&r), [field], "{query}");
        } else {
            assert_eq!(refusal(&r).1, "bad_request", "{query}");
        }
    }
    let events = format!("/api/v1/campaigns/{c}/events");
    for (query, field) in [
        ("date=2026-13-01", "date"),
        ("limit=0", "limit"),
        ("cursor=bm90IGEgY3Vyc29y", "cursor"),
    ] {
        let r = p.get(&t.token, &format!("{events}?{query}")).await;
        assert_eq!(refusal(&r), (422, "validation_failed".into()), "{query}");
        assert_eq!(fields(&r), [field], "{query}");
    }
    let r = p
        .get(
            &t.token,
            "/api/v1/reports/campaigns?start_date=2026-02-01&end_date=2026-02-02&sort=luck",
        )
        .await;
    assert_eq!(refusal(&r), (422, "validation_failed".into()));
    assert_eq!(fields(&r), ["sort"]);
    let r = p
        .get(&t.token, "/api/v1/campaigns/not-a-uuid/realtime")
        .await;
    assert_eq!(refusal(&r), (404, "not_found".into()));
}
