//! Targeting through the API: validated whole, versioned with its campaign,
//! read back exactly.

mod common;

use adpulse_domain::Role;
use common::Api;
use serde_json::{Value, json};

#[tokio::test]
async fn targeting_is_validated_versioned_and_read_back() {
    let api = Api::start().await;
    let t = api.token(&api.a, Role::CampaignManager).await;
    let tok = Some(t.as_str());
    let c = api
        .call(
            "POST",
            "/api/v1/campaigns",
            tok,
            &[],
            Some(&json!({"name": "t"})),
        )
        .await;
    let id = c.body["id"].as_str().expect("id").to_owned();
    let path = format!("/api/v1/campaigns/{id}/targeting");

    a_new_campaign_s_targeting_is_empty(&api, tok, &path).await;
    a_targeting_is_stored_whole_and_versioned(&api, tok, &id, &path).await;
    bad_targeting_is_refused_naming_each_field(&api, tok, &path).await;
    analysts_read_but_do_not_write(&api, &path).await;
    api.stop().await;
}

/// A targeting with every kind of rule.
fn good() -> Value {
    json!({
        "countries": ["DE", "AT", "CH"],
        "device_types": ["mobile", "tablet"],
        "audience_segments": ["sports-fans"],
        "dayparting": [{"days": ["mon", "tue", "wed", "thu", "fri"], "start": "07:00", "end": "22:00"}],
        "frequency_cap": {"max": 3, "per": "day", "scope": "ad", "window": "calendar"}
    })
}

/// A new campaign's targeting is empty, at the campaign's version 1.
async fn a_new_campaign_s_targeting_is_empty(api: &Api, tok: Option<&str>, path: &str) {
    let empty = api.call("GET", path, tok, &[], None).await;
    assert_eq!(empty.status, 200, "{}", empty.body);
    assert_eq!(empty.body["countries"], json!([]));
    assert!(empty.body["frequency_cap"].is_null());
    assert_eq!(empty.headers["etag"], "\"1\"");
}

/// PUT needs If-Match; the targeting is read back field for field, the
/// campaign's ETag moves to 2 with it, and a stale If-Match is 412.
async fn a_targeting_is_stored_whole_and_versioned(
    api: &Api,
    tok: Option<&str>,
    id: &str,
    path: &str,
) {
    let good = good();
    let missing = api.call("PUT", path, tok, &[], Some(&good)).await;
    assert_eq!(missing.status, 428);
    let put = api
        .call("PUT", path, tok, &[("if-match", "\"1\"")], Some(&good))
        .await;
    assert_eq!(put.status, 200, "{}", put.body);
    assert_eq!(put.headers["etag"], "\"2\"");
    let got = api.call("GET", path, tok, &[], None).await;
    for field in [
        "countries",
        "device_types",
        "audience_segments",
        "dayparting",
        "frequency_cap",
    ] {
        assert_eq!(got.body[field], good[field], "{field}");
    }
    // The campaign's ETag moved with it.
    let campaign = api
        .call("GET", &format!("/api/v1/campaigns/{id}"), tok, &[], None)
        .await;
    assert_eq!(campaign.headers["etag"], "\"2\"");
    let stale = api
        .call("PUT", path, tok, &[("if-match", "\"1\"")], Some(&good))
        .await;
    assert_eq!(stale.status, 412);
}

/// Invalid values are 422 naming each field in order; an unknown period
/// and an unknown rule are 422 too.
async fn bad_targeting_is_refused_naming_each_field(api: &Api, tok: Option<&str>, path: &str) {
    let bad = json!({
        "countries": ["de", "ZZ"],
        "device_types": ["toaster"],
        "dayparting": [{"days": ["someday"], "start": "25:00", "end": "10:00"}],
        "frequency_cap": {"max": 0, "per": "day"}
    });
    let r = api
        .call("PUT", path, tok, &[("if-match", "\"2\"")], Some(&bad))
        .await;
    assert_eq!((r.status, r.code()), (422, "validation_failed"));
    let fields: Vec<&str> = r.body["error"]["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["field"].as_str().expect("f"))
        .collect();
    assert_eq!(
        fields,
        [
            "countries[0]",
            "countries[1]",
            "device_types[0]",
            "dayparting[0].days[0]",
            "dayparting[0].start",
            "frequency_cap.max"
        ]
    );
    let shape = api
        .call(
            "PUT",
            path,
            tok,
            &[("if-match", "\"2\"")],
            Some(&json!({"frequency_cap": {"max": 2, "per": "fortnight"}})),
        )
        .await;
    assert_eq!(
        (
            shape.status,
            shape.body["error"]["errors"][0]["field"].as_str()
        ),
        (422, Some("frequency_cap.per"))
    );
    let unknown = api
        .call(
            "PUT",
            path,
            tok,
            &[("if-match", "\"2\"")],
            Some(&json!({"postcodes": ["10115"]})),
        )
        .await;
    assert_eq!(unknown.status, 422);
}

/// Analysts read the targeting but get 403 writing it.
async fn analysts_read_but_do_not_write(api: &Api, path: &str) {
    let good = good();
    let analyst = api.token(&api.a, Role::Analyst).await;
    assert_eq!(
        api.call("GET", path, Some(&analyst), &[], None)
            .await
            .status,
        200
    );
    assert_eq!(
        api.call(
            "PUT",
            path,
            Some(&analyst),
            &[("if-match", "\"2\"")],
            Some(&good)
        )
        .await
        .status,
        403
    );
}
