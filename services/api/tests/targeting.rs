//! Targeting through the API: validated whole, versioned with its campaign,
//! read back exactly.

mod common;

use adpulse_domain::Role;
use common::Api;
use serde_json::json;

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

    let empty = api.call("GET", &path, tok, &[], None).await;
    assert_eq!(empty.status, 200, "{}", empty.body);
    assert_eq!(empty.body["countries"], json!([]));
    assert!(empty.body["frequency_cap"].is_null());
    assert_eq!(empty.headers["etag"], "\"1\"");

    let good = json!({
        "countries": ["DE", "AT", "CH"],
        "device_types": ["mobile", "tablet"],
        "audience_segments": ["sports-fans"],
        "dayparting": [{"days": ["mon", "tue", "wed", "thu", "fri"], "start": "07:00", "end": "22:00"}],
        "frequency_cap": {"max": 3, "per": "day", "scope": "ad", "window": "calendar"}
    });
    let missing = api.call("PUT", &path, tok, &[], Some(&good)).await;
    assert_eq!(missing.status, 428);
    let put = api
        .call("PUT", &path, tok, &[("if-match", "\"1\"")], Some(&good))
        .await;
    assert_eq!(put.status, 200, "{}", put.body);
    assert_eq!(put.headers["etag"], "\"2\"");
    let got = api.call("GET", &path, tok, &[], None).await;
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
        .call("PUT", &path, tok, &[("if-match", "\"1\"")], Some(&good))
        .await;
    assert_eq!(stale.status, 412);

    let bad = json!({
        "countries": ["de", "ZZ"],
        "device_types": ["toaster"],
        "dayparting": [{"days": ["someday"], "start": "25:00", "end": "10:00"}],
        "frequency_cap": {"max": 0, "per": "day"}
    });
    let r = api
        .call("PUT", &path, tok, &[("if-match", "\"2\"")], Some(&bad))
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
            &path,
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
            &path,
            tok,
            &[("if-match", "\"2\"")],
            Some(&json!({"postcodes": ["10115"]})),
        )
        .await;
    assert_eq!(unknown.status, 422);

    // Analysts read, but do not write.
    let analyst = api.token(&api.a, Role::Analyst).await;
    assert_eq!(
        api.call("GET", &path, Some(&analyst), &[], None)
            .await
            .status,
        200
    );
    assert_eq!(
        api.call(
            "PUT",
            &path,
            Some(&analyst),
            &[("if-match", "\"2\"")],
            Some(&good)
        )
        .await
        .status,
        403
    );
    api.stop().await;
}
