//! Campaigns through the API against real Postgres: CRUD, validation,
//! filters, sorts, both paginations, the lifecycle and ETag conflicts.

mod common;

use std::collections::BTreeSet;

use adpulse_domain::Role;
use base64::Engine as _;
use common::Api;
use serde_json::{Value, json};

fn body(name: &str, brand: &str, budget: i64) -> Value {
    json!({
        "name": name,
        "brand_id": brand,
        "budget": {"total_micros": budget, "currency": "EUR", "daily_cap_micros": budget / 10},
        "schedule": {"start": "2026-12-01T00:00:00Z", "end": "2026-12-31T00:00:00Z", "timezone": "Europe/Berlin"},
        "objectives": ["awareness"],
        "channels": ["display", "video"],
    })
}

#[tokio::test]
async fn create_read_replace_patch_delete_with_etags() {
    let api = Api::start().await;
    let t = api.token(&api.a, Role::CampaignManager).await;
    let tok = Some(t.as_str());
    let path = created_draft_is_read_back_and_cached(&api, tok).await;
    changes_need_a_current_if_match(&api, tok, &path).await;
    invalid_values_are_refused_naming_each_field(&api, tok, &path).await;

    let deleted = api
        .call("DELETE", &path, tok, &[("if-match", "\"3\"")], None)
        .await;
    assert_eq!(deleted.status, 204);
    assert_eq!(api.call("GET", &path, tok, &[], None).await.status, 404);
    api.stop().await;
}

/// A new campaign is a draft at version 1 with its location, read back by
/// id and answered 304 for its ETag; returns its path.
async fn created_draft_is_read_back_and_cached(api: &Api, tok: Option<&str>) -> String {
    let created = api
        .call(
            "POST",
            "/api/v1/campaigns",
            tok,
            &[],
            Some(&body("Winter sale", "acme", 5_000_000)),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().expect("id").to_owned();
    assert_eq!(
        created.headers["location"],
        format!("/api/v1/campaigns/{id}")
    );
    assert_eq!(created.headers["etag"], "\"1\"");
    assert_eq!(created.body["status"], "draft");
    assert_eq!(created.body["schedule"]["timezone"], "Europe/Berlin");
    assert_eq!(
        created.body["allowed_transitions"],
        json!(["scheduled", "active"])
    );
    let path = format!("/api/v1/campaigns/{id}");

    let got = api.call("GET", &path, tok, &[], None).await;
    assert_eq!(
        (got.status, got.body["name"].clone()),
        (200, json!("Winter sale"))
    );
    let cached = api
        .call("GET", &path, tok, &[("if-none-match", "\"1\"")], None)
        .await;
    assert_eq!(cached.status, 304);

    path
}

/// PATCH without If-Match is 428, with the current one applies (null
/// removes, untouched fields stay), with a stale one is 412 naming the
/// current ETag; PUT replaces at version 2, leaving version 3.
async fn changes_need_a_current_if_match(api: &Api, tok: Option<&str>, path: &str) {
    // Changes need If-Match; a stale one is 412 with the current ETag.
    let patch = json!({"name": "Winter sale II", "brand_id": null});
    let missing = api.call("PATCH", path, tok, &[], Some(&patch)).await;
    assert_eq!(
        (missing.status, missing.code()),
        (428, "precondition_required")
    );
    let patched = api
        .call("PATCH", path, tok, &[("if-match", "\"1\"")], Some(&patch))
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert_eq!(patched.body["name"], "Winter sale II");
    assert_eq!(patched.body["brand_id"], Value::Null, "null removes");
    assert_eq!(
        patched.body["budget"]["total_micros"], 5_000_000,
        "untouched fields stay"
    );
    assert_eq!(patched.headers["etag"], "\"2\"");
    let stale = api
        .call(
            "PATCH",
            path,
            tok,
            &[("if-match", "\"1\"")],
            Some(&json!({"name": "x"})),
        )
        .await;
    assert_eq!((stale.status, stale.code()), (412, "precondition_failed"));
    assert_eq!(stale.headers["etag"], "\"2\"");

    let replaced = api
        .call(
            "PUT",
            path,
            tok,
            &[("if-match", "\"2\"")],
            Some(&body("Spring", "acme", 7)),
        )
        .await;
    assert_eq!(
        (replaced.status, replaced.body["name"].clone()),
        (200, json!("Spring"))
    );
}

/// Invalid values are 422 naming each field, unknown fields and wrong
/// types too; a body that is not JSON is 400.
async fn invalid_values_are_refused_naming_each_field(api: &Api, tok: Option<&str>, path: &str) {
    // Invalid values: 422 naming each field; unknown fields are refused.
    let bad = api
        .call(
            "PUT",
            path,
            tok,
            &[("if-match", "\"3\"")],
            Some(&json!({"name": "", "channels": ["tv"]})),
        )
        .await;
    assert_eq!((bad.status, bad.code()), (422, "validation_failed"));
    let fields: BTreeSet<&str> = bad.body["error"]["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["field"].as_str().expect("field"))
        .collect();
    assert_eq!(fields, BTreeSet::from(["name", "channels[0]"]));
    let unknown = api
        .call(
            "PATCH",
            path,
            tok,
            &[("if-match", "\"3\"")],
            Some(&json!({"status": "active"})),
        )
        .await;
    assert_eq!(
        unknown.status, 422,
        "status changes only through /status: {}",
        unknown.body
    );
    let typed = api
        .call(
            "POST",
            "/api/v1/campaigns",
            tok,
            &[],
            Some(&json!({"name": "n", "budget": {"total_micros": "lots", "currency": "EUR"}})),
        )
        .await;
    assert_eq!(
        (
            typed.status,
            typed.body["error"]["errors"][0]["field"].clone()
        ),
        (422, json!("budget.total_micros"))
    );
    let broken = api
        .call(
            "POST",
            "/api/v1/campaigns",
            tok,
            &[("content-type", "application/json")],
            None,
        )
        .await;
    assert_eq!(broken.status, 400);
}

#[tokio::test]
async fn the_lifecycle_is_a_state_machine() {
    let api = Api::start().await;
    let t = api.token(&api.a, Role::Admin).await;
    let tok = Some(t.as_str());
    let c = api
        .call(
            "POST",
            "/api/v1/campaigns",
            tok,
            &[],
            Some(&body("c", "b", 1)),
        )
        .await;
    let id = c.body["id"].as_str().expect("id").to_owned();
    let status_path = format!("/api/v1/campaigns/{id}/status");
    async fn step(
        api: &Api,
        path: &str,
        tok: Option<&str>,
        version: i64,
        to: &str,
        expect: u16,
    ) -> common::Reply {
        let r = api
            .call(
                "PATCH",
                path,
                tok,
                &[("if-match", &format!("\"{version}\""))],
                Some(&json!({"status": to})),
            )
            .await;
        assert_eq!(r.status, expect, "{to}: {}", r.body);
        r
    }
    let mut version = 1;
    let illegal = step(&api, &status_path, tok, version, "completed", 409).await;
    assert_eq!(illegal.code(), "illegal_transition");
    assert!(
        illegal.body["error"]["message"]
            .as_str()
            .expect("m")
            .contains("allowed: scheduled, active")
    );
    for to in ["active", "paused", "active", "completed"] {
        step(&api, &status_path, tok, version, to, 200).await;
        version += 1;
    }
    // Completed: no more edits; only archiving.
    let edit = api
        .call(
            "PATCH",
            &format!("/api/v1/campaigns/{id}"),
            tok,
            &[("if-match", &format!("\"{version}\""))],
            Some(&json!({"name": "late"})),
        )
        .await;
    assert_eq!((edit.status, edit.code()), (409, "not_editable"));
    let back = step(&api, &status_path, tok, version, "active", 409).await;
    assert!(
        back.body["error"]["message"]
            .as_str()
            .expect("m")
            .contains("allowed: archived")
    );
    step(&api, &status_path, tok, version, "archived", 200).await;
    version += 1;
    let done = step(&api, &status_path, tok, version, "draft", 409).await;
    assert!(
        done.body["error"]["message"]
            .as_str()
            .expect("m")
            .contains("allowed: none")
    );
    let unknown = step(&api, &status_path, tok, version, "deleted", 422).await;
    assert_eq!(unknown.code(), "validation_failed");
    let stale = step(&api, &status_path, tok, version - 1, "draft", 412).await;
    assert_eq!(stale.code(), "precondition_failed");
    api.stop().await;
}

#[tokio::test]
async fn listing_filters_sorts_and_paginates_both_ways() {
    let api = Api::start().await;
    let t = api.token(&api.a, Role::CampaignManager).await;
    let tok = Some(t.as_str());
    for i in 0..23 {
        let brand = if i % 2 == 0 { "even" } else { "odd" };
        let r = api
            .call(
                "POST",
                "/api/v1/campaigns",
                tok,
                &[],
                Some(&body(
                    &format!("Campaign {i:02} 50%_off"),
                    brand,
                    1000 * (i % 7),
                )),
            )
            .await;
        assert_eq!(r.status, 201);
    }
    pages_have_totals_and_links(&api, tok).await;
    cursors_walk_everything_once_for_every_sort(&api, tok).await;
    filters_count_what_they_match(&api, tok).await;
    bad_parameters_are_4xx_never_5xx(&api, tok).await;
    forged_and_foreign_cursors_are_refused(&api, tok).await;
    api.stop().await;
}

/// The campaign listing with query `q`.
async fn list(api: &Api, tok: Option<&str>, q: String) -> common::Reply {
    api.call("GET", &format!("/api/v1/campaigns?{q}"), tok, &[], None)
        .await
}

/// The names of a listing's campaigns, in order.
fn names(r: &common::Reply) -> Vec<String> {
    r.body["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|c| c["name"].as_str().expect("n").to_owned())
        .collect()
}

/// Page/limit over the 23 campaigns: totals, the first by name, links.
async fn pages_have_totals_and_links(api: &Api, tok: Option<&str>) {
    // Page/limit with totals and links.
    let p1 = list(api, tok, "limit=10&sort=name".into()).await;
    assert_eq!(p1.status, 200, "{}", p1.body);
    assert_eq!(p1.body["pagination"]["total"], 23);
    assert_eq!(p1.body["pagination"]["total_pages"], 3);
    assert_eq!(names(&p1)[0], "Campaign 00 50%_off");
    let next = p1.body["_links"]["next"].as_str().expect("next").to_owned();
    let p3 = list(api, tok, "limit=10&sort=name&page=3".into()).await;
    assert_eq!(names(&p3).len(), 3);
    assert!(p3.body["_links"]["next"].is_null());
    assert!(next.contains("page=2"));
}

/// Cursor pagination returns all 23 once, in order, for every sort.
async fn cursors_walk_everything_once_for_every_sort(api: &Api, tok: Option<&str>) {
    // Cursor pagination walks everything once, in order, for every sort.
    for sort in [
        "name",
        "-name",
        "budget",
        "-budget",
        "created_at",
        "-created_at",
        "updated_at",
    ] {
        let mut seen = Vec::new();
        let mut q = format!("limit=4&sort={sort}");
        loop {
            let r = list(api, tok, q.clone()).await;
            assert_eq!(r.status, 200, "{sort}: {}", r.body);
            seen.extend(names(&r));
            match r.body["pagination"]["next_cursor"].as_str() {
                Some(c) => q = format!("limit=4&sort={sort}&cursor={c}"),
                None => break,
            }
            assert!(seen.len() <= 23, "{sort}: cursor loops");
        }
        let distinct: BTreeSet<_> = seen.iter().collect();
        assert_eq!((seen.len(), distinct.len()), (23, 23), "{sort}");
        if sort == "name" {
            let mut sorted = seen.clone();
            sorted.sort();
            assert_eq!(seen, sorted);
        }
    }
}

/// Brand, name search (wildcards literal), status and date filters.
async fn filters_count_what_they_match(api: &Api, tok: Option<&str>) {
    // Filters: brand, name search (wildcards literal), status, dates.
    assert_eq!(
        list(api, tok, "brand_id=even&limit=100".into()).await.body["pagination"]["total"],
        12
    );
    assert_eq!(
        list(api, tok, "q=campaign%2001&limit=100".into())
            .await
            .body["pagination"]["total"],
        1
    );
    assert_eq!(
        list(api, tok, "q=50%25_off&limit=100".into()).await.body["pagination"]["total"],
        23
    );
    assert_eq!(
        list(api, tok, "q=5__off".into()).await.body["pagination"]["total"],
        0,
        "_ is literal"
    );
    assert_eq!(
        list(api, tok, "status=active,paused".into()).await.body["pagination"]["total"],
        0
    );
    assert_eq!(
        list(api, tok, "status=draft".into()).await.body["pagination"]["total"],
        23
    );
    assert_eq!(
        list(api, tok, "start_date=2027-01-01".into()).await.body["pagination"]["total"],
        0
    );
    assert_eq!(
        list(api, tok, "start_date=2026-12-30&end_date=2027-02-01".into())
            .await
            .body["pagination"]["total"],
        23
    );
}

/// Each bad parameter gets its 422 or 400 with an error code.
async fn bad_parameters_are_4xx_never_5xx(api: &Api, tok: Option<&str>) {
    // Bad parameters: 422 or 400, never 5xx.
    for (q, status) in [
        ("sort=password", 422),
        ("limit=0", 422),
        ("limit=101", 422),
        ("page=0", 422),
        ("status=deleted", 422),
        ("cursor=garbage", 422),
        ("page=2&cursor=x", 422),
        ("start_date=2026-12-05&end_date=2026-12-01", 422),
        ("start_date=yesterday", 400),
        ("limit=ten", 400),
        ("colour=red", 400),
        ("q=%00", 400),
        ("start_date=-10000-01-01", 422),
    ] {
        let r = list(api, tok, q.into()).await;
        assert_eq!(r.status, status, "{q}: {}", r.body);
        assert!(r.body["error"]["code"].is_string(), "{q}");
    }
}

/// A forged cursor and a cursor of another sort are 422.
async fn forged_and_foreign_cursors_are_refused(api: &Api, tok: Option<&str>) {
    // A forged cursor whose value does not fit its sort is refused, not a 500.
    let forged = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(
        json!({"v": 1, "l": "campaigns", "k": ["-created_at", "x", uuid::Uuid::nil()]}).to_string(),
    );
    assert_eq!(list(api, tok, format!("cursor={forged}")).await.status, 422);
    // A cursor of another sort is refused.
    let c = list(api, tok, "limit=2&sort=name".into()).await.body["pagination"]["next_cursor"]
        .as_str()
        .expect("c")
        .to_owned();
    assert_eq!(
        list(api, tok, format!("limit=2&sort=budget&cursor={c}"))
            .await
            .status,
        422
    );
}
