//! Alert channels and rules over HTTP, on Postgres (row-level security)
//! or SQLite: validation with a path per problem, SSRF refused, secrets
//! shown once and rotated, ETags, paging, roles, and one tenant never
//! seeing or touching another's.

mod common;

use adpulse_domain::Role;
use common::{Api, Reply};
use serde_json::{Value, json};

fn fields(r: &Reply) -> Vec<String> {
    let errors = r.body["error"]["errors"].as_array().cloned();
    errors
        .unwrap_or_default()
        .iter()
        .map(|e| e["field"].as_str().unwrap_or("").to_owned())
        .collect()
}

fn id(v: &Value) -> String {
    v["id"].as_str().expect("id").to_owned()
}

async fn post(api: &Api, token: &str, path: &str, body: &Value) -> Reply {
    api.call("POST", path, Some(token), &[], Some(body)).await
}

async fn created(api: &Api, token: &str, path: &str, body: Value) -> Value {
    let r = post(api, token, path, &body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body
}

async fn channel(api: &Api, token: &str, kind: &str, target: &str) -> Value {
    let body = json!({"name": kind, "kind": kind, "target": target});
    created(api, token, "/api/v1/alert-channels", body).await
}

async fn webhook(api: &Api, token: &str) -> String {
    id(&channel(api, token, "webhook", "https://hooks.example.com/a").await)
}

async fn campaign(api: &Api, token: &str) -> String {
    id(&created(api, token, "/api/v1/campaigns", json!({"name": "spring"})).await)
}

#[tokio::test]
async fn a_webhook_secret_is_shown_once_and_rotates_with_an_overlap() {
    let api = Api::start().await;
    let mgr = api.token(&api.a, Role::CampaignManager).await;
    let hook = channel(&api, &mgr, "webhook", "https://hooks.example.com/adpulse").await;
    let secret = hook["secret"].as_str().expect("secret").to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");
    let path = format!("/api/v1/alert-channels/{}", id(&hook));
    let got = api.call("GET", &path, Some(&mgr), &[], None).await;
    assert_eq!(
        (got.status, got.body.get("secret")),
        (200, None),
        "{}",
        got.body
    );

    let rotated = post(&api, &mgr, &format!("{path}/rotate-secret"), &json!({})).await;
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    assert_ne!(rotated.body["secret"].as_str().expect("secret"), secret);
    assert!(rotated.body["previous_secret_until"].is_string());
    // Only webhooks are signed.
    let mail = channel(&api, &mgr, "email", "boss@example.com").await;
    let path = format!("/api/v1/alert-channels/{}/rotate-secret", id(&mail));
    let r = post(&api, &mgr, &path, &json!({})).await;
    assert_eq!((r.status, r.code()), (409, "not_signed"), "{}", r.body);
    api.stop().await;
}

#[tokio::test]
async fn listings_mask_slack_urls_and_show_no_secret() {
    let api = Api::start().await;
    let mgr = api.token(&api.a, Role::CampaignManager).await;
    let analyst = api.token(&api.a, Role::Analyst).await;
    channel(&api, &mgr, "webhook", "https://hooks.example.com/a").await;
    let slack = "https://hooks.slack.com/services/T0/B0/abcdefgh";
    let s = channel(&api, &mgr, "slack", slack).await;
    assert_eq!(
        (s["target"].as_str(), s.get("secret")),
        (Some("https://hooks.slack.com/…efgh"), None)
    );
    channel(&api, &mgr, "email", "boss@example.com").await;
    let list = api
        .call("GET", "/api/v1/alert-channels", Some(&analyst), &[], None)
        .await;
    let data = list.body["data"].as_array().expect("data");
    let kinds: Vec<_> = data
        .iter()
        .map(|c| c["kind"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(kinds, ["webhook", "slack", "email"]);
    assert!(data.iter().all(|c| c.get("secret").is_none()));
    assert_eq!(data[1]["target"], "https://hooks.slack.com/…efgh");
    api.stop().await;
}

#[tokio::test]
async fn internal_targets_and_bad_channels_are_refused_on_their_fields() {
    let api = Api::start().await;
    let mgr = api.token(&api.a, Role::CampaignManager).await;
    for target in [
        "http://127.0.0.1:6379/",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.1.2.3/hook",
        "http://localhost:8082/api/v1/users",
        "http://[::1]/",
        "http://db.internal/",
    ] {
        let body = json!({"name": "x", "kind": "webhook", "target": target});
        let r = post(&api, &mgr, "/api/v1/alert-channels", &body).await;
        assert_eq!(
            (r.status, fields(&r)),
            (422, vec!["target".to_owned()]),
            "{target}"
        );
    }
    let body = json!({"name": "", "kind": "pager", "target": "x"});
    let r = post(&api, &mgr, "/api/v1/alert-channels", &body).await;
    assert_eq!(
        (r.status, fields(&r)),
        (422, vec!["name".into(), "kind".into()])
    );
    // Analysts read; they do not change.
    let analyst = api.token(&api.a, Role::Analyst).await;
    let body = json!({"name": "x", "kind": "email", "target": "a@example.com"});
    let r = post(&api, &analyst, "/api/v1/alert-channels", &body).await;
    assert_eq!(r.status, 403, "{}", r.body);
    api.stop().await;
}

#[tokio::test]
async fn another_tenant_neither_sees_nor_touches_channels() {
    let api = Api::start().await;
    let mgr = api.token(&api.a, Role::CampaignManager).await;
    let other = api.token(&api.b, Role::Admin).await;
    let hook = webhook(&api, &mgr).await;
    let list = api
        .call("GET", "/api/v1/alert-channels", Some(&other), &[], None)
        .await;
    assert_eq!(list.body["data"], json!([]));
    let path = format!("/api/v1/alert-channels/{hook}");
    for (method, path) in [
        ("GET", path.clone()),
        ("POST", format!("{path}/rotate-secret")),
        ("DELETE", path.clone()),
    ] {
        let r = api.call(method, &path, Some(&other), &[], None).await;
        assert_eq!(r.status, 404, "{method} {path}: {}", r.body);
    }
    let r = api.call("DELETE", &path, Some(&mgr), &[], None).await;
    assert_eq!(r.status, 204, "{}", r.body);
    api.stop().await;
}

#[tokio::test]
async fn a_rule_reports_every_problem_at_its_path() {
    let api = Api::start().await;
    let mgr = api.token(&api.a, Role::CampaignManager).await;
    let bad = json!({
        "name": "",
        "condition": {"any": [
            {"metric": "ctr", "over": "today", "op": "<<", "value": 1},
            {"all": [{"metric": "spend", "over": "last_90m", "op": ">", "value": 1}]},
            {"budget_exhausted": "weekly"}
        ]},
        "cooldown_secs": 999_999_999,
    });
    let r = post(&api, &mgr, "/api/v1/alert-rules", &bad).await;
    assert_eq!(r.status, 422, "{}", r.body);
    let want = [
        "name",
        "condition.any[0].op",
        "condition.any[1].all[0].over",
    ];
    let want = [
        &want[..],
        &["condition.any[2].budget_exhausted", "cooldown_secs"],
    ]
    .concat();
    assert_eq!(fields(&r), want);

    // A template that does not compile, another tenant's campaign and
    // channel: refused on their fields.
    let other = api.token(&api.b, Role::Admin).await;
    let body = json!({
        "name": "r",
        "campaign_id": campaign(&api, &other).await,
        "condition": {"metric": "clicks", "over": "lifetime", "op": ">=", "value": 10},
        "message_template": "{{ campaign.nmae }}",
        "channel_ids": [webhook(&api, &other).await],
    });
    let r = post(&api, &mgr, "/api/v1/alert-rules", &body).await;
    assert_eq!(
        fields(&r),
        ["message_template", "campaign_id", "channel_ids"],
        "{}",
        r.body
    );
    api.stop().await;
}

#[tokio::test]
async fn rules_change_only_at_the_version_read() {
    let api = Api::start().await;
    let mgr = api.token(&api.a, Role::CampaignManager).await;
    let camp = campaign(&api, &mgr).await;
    let good = json!({
        "name": "CTR low or budget spent",
        "campaign_id": camp,
        "condition": {"any": [
            {"metric": "ctr", "over": "last_15m", "op": "<", "value": 0.5},
            {"budget_exhausted": "either"}
        ]},
        "for_secs": 60,
        "channel_ids": [webhook(&api, &mgr).await],
    });
    let r = post(&api, &mgr, "/api/v1/alert-rules", &good).await;
    assert_eq!(
        (r.status, r.headers.get("etag").map(String::as_str)),
        (201, Some("\"1\""))
    );
    let path = format!("/api/v1/alert-rules/{}", id(&r.body));
    assert_eq!(r.headers.get("location"), Some(&path));
    assert_eq!(
        (&r.body["cooldown_secs"], &r.body["enabled"]),
        (&json!(900), &json!(true))
    );
    assert_eq!(r.body["condition"]["any"][0]["over"], "last_15m");

    let changed =
        json!({"name": "renamed", "condition": {"budget_exhausted": "total"}, "enabled": false});
    let put = |headers: &'static [(&'static str, &'static str)]| {
        api.call("PUT", &path, Some(&mgr), headers, Some(&changed))
    };
    assert_eq!(put(&[]).await.status, 428);
    assert_eq!(put(&[("if-match", "\"7\"")]).await.status, 412);
    let r = put(&[("if-match", "\"1\"")]).await;
    assert_eq!(
        (r.status, &r.body["version"], &r.body["name"]),
        (200, &json!(2), &json!("renamed"))
    );
    assert_eq!(
        (&r.body["channel_ids"], &r.body["campaign_id"]),
        (&json!([]), &Value::Null)
    );

    for (tag, status) in [("\"1\"", 412), ("\"2\"", 204)] {
        let r = api
            .call("DELETE", &path, Some(&mgr), &[("if-match", tag)], None)
            .await;
        assert_eq!(r.status, status, "{}", r.body);
    }
    assert_eq!(
        api.call("GET", &path, Some(&mgr), &[], None).await.status,
        404
    );
    api.stop().await;
}

#[tokio::test]
async fn a_channel_a_rule_notifies_cannot_be_deleted() {
    let api = Api::start().await;
    let mgr = api.token(&api.a, Role::CampaignManager).await;
    let hook = webhook(&api, &mgr).await;
    let body = json!({"name": "hooked", "condition": {"budget_exhausted": "daily"}, "channel_ids": [hook]});
    let rule = created(&api, &mgr, "/api/v1/alert-rules", body).await;
    let channel = format!("/api/v1/alert-channels/{hook}");
    let r = api.call("DELETE", &channel, Some(&mgr), &[], None).await;
    assert_eq!((r.status, r.code()), (409, "channel_in_use"), "{}", r.body);
    let path = format!("/api/v1/alert-rules/{}", id(&rule));
    let r = api
        .call("DELETE", &path, Some(&mgr), &[("if-match", "*")], None)
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = api.call("DELETE", &channel, Some(&mgr), &[], None).await;
    assert_eq!(r.status, 204, "{}", r.body);
    api.stop().await;
}

#[tokio::test]
async fn rules_page_in_id_order_and_stay_in_their_tenant() {
    let api = Api::start().await;
    let mgr = api.token(&api.a, Role::CampaignManager).await;
    let analyst = api.token(&api.a, Role::Analyst).await;
    let other = api.token(&api.b, Role::Admin).await;
    let cond = json!({"metric": "impressions", "over": "today", "op": ">", "value": 1000});
    for (n, scope) in [
        ("one", json!({})),
        ("two", json!({"brand_id": "acme"})),
        ("three", json!({})),
    ] {
        let mut body = json!({"name": n, "condition": cond});
        body.as_object_mut()
            .expect("object")
            .extend(scope.as_object().expect("object").clone());
        created(&api, &mgr, "/api/v1/alert-rules", body).await;
    }
    let (mut seen, mut next) = (Vec::new(), None::<String>);
    loop {
        let q = next.map_or("?limit=2".to_owned(), |c| format!("?limit=2&cursor={c}"));
        let r = api
            .call(
                "GET",
                &format!("/api/v1/alert-rules{q}"),
                Some(&analyst),
                &[],
                None,
            )
            .await;
        seen.extend(r.body["data"].as_array().expect("data").iter().map(id));
        next = r.body["next_cursor"].as_str().map(str::to_owned);
        if next.is_none() {
            break;
        }
    }
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!((seen.len(), &seen), (3, &sorted));
    let r = api
        .call(
            "GET",
            "/api/v1/alert-rules?cursor=bm9wZQ",
            Some(&mgr),
            &[],
            None,
        )
        .await;
    assert_eq!((r.status, fields(&r)), (422, vec!["cursor".to_owned()]));

    // Analysts read only; another tenant sees nothing and touches nothing.
    let body = json!({"name": "x", "condition": cond});
    assert_eq!(
        post(&api, &analyst, "/api/v1/alert-rules", &body)
            .await
            .status,
        403
    );
    let r = api
        .call("GET", "/api/v1/alert-rules", Some(&other), &[], None)
        .await;
    assert_eq!(r.body["data"], json!([]));
    let path = format!("/api/v1/alert-rules/{}", seen[0]);
    for method in ["GET", "PUT", "DELETE"] {
        let r = api
            .call(
                method,
                &path,
                Some(&other),
                &[("if-match", "*")],
                Some(&body),
            )
            .await;
        assert_eq!(r.status, 404, "{method}: {}", r.body);
    }
    api.stop().await;
}

/// A fired rule with one delivery per channel, written as the alerter
/// writes them (through the ledger), the first one dead after two
/// attempts.
async fn fired(api: &Api, token: &str) -> (String, Vec<String>) {
    use adpulse_domain::alert::ledger::{
        AlertCommit, Attempt, DeliveryRecord, DeliveryStatus, FiringKind, FiringRecord, NextStep,
    };
    let camp = campaign(api, token).await;
    let channels = [webhook(api, token).await, webhook(api, token).await];
    let body =
        json!({"name": "r", "condition": {"budget_exhausted": "either"}, "channel_ids": channels});
    let rule: uuid::Uuid = id(&created(api, token, "/api/v1/alert-rules", body).await)
        .parse()
        .expect("id");
    let (now, firing) = (chrono::Utc::now(), uuid::Uuid::now_v7());
    let campaign = adpulse_domain::CampaignId::from_uuid(camp.parse().expect("id"));
    let delivery = |channel: &String| DeliveryRecord {
        id: uuid::Uuid::now_v7(),
        firing,
        rule,
        channel: channel.parse().expect("id"),
        tenant: api.a.id,
        status: DeliveryStatus::Pending,
        attempts: 0,
        next_attempt_at: Some(now),
        last_error: None,
        payload: json!({"type": "alert.fired"}),
        created_at: now,
        updated_at: now,
    };
    let commit = AlertCommit {
        stops: Vec::new(),
        states: Vec::new(),
        firings: vec![FiringRecord {
            id: firing,
            rule,
            campaign,
            tenant: api.a.id,
            kind: FiringKind::Fired,
            at: now,
            notified: true,
            message: "r: firing".into(),
            values: json!([]),
        }],
        deliveries: channels.iter().map(delivery).collect(),
    };
    let mut claim = api
        .db
        .claim_alerts(&unique(), "results", 0)
        .await
        .expect("claim");
    assert!(
        api.db
            .commit_alerts(&mut claim, 1, &commit)
            .await
            .expect("commit")
    );
    let dead = commit.deliveries[0].id;
    for (n, next) in [(1, NextStep::RetryAt(now)), (2, NextStep::Dead)] {
        let a = Attempt {
            number: n,
            at: now,
            status_code: Some(500),
            error: Some("answered 500".into()),
            duration_ms: 3,
        };
        api.db
            .record_attempt(dead, &a, next)
            .await
            .expect("attempt");
    }
    (
        rule.to_string(),
        commit.deliveries.iter().map(|d| d.id.to_string()).collect(),
    )
}

fn unique() -> String {
    adpulse_testkit::unique_name("alerter")
}

#[tokio::test]
async fn the_delivery_log_lists_dead_letters_and_replays_them_once() {
    let api = Api::start().await;
    let mgr = api.token(&api.a, Role::CampaignManager).await;
    let (rule, ids) = fired(&api, &mgr).await;
    let (apir, mgr) = (&api, mgr.as_str());
    let get = |path: String| async move { apir.call("GET", &path, Some(mgr), &[], None).await };
    let dead = get("/api/v1/alert-deliveries?status=dead".into()).await;
    assert_eq!(
        dead.body["data"].as_array().map(Vec::len),
        Some(1),
        "{}",
        dead.body
    );
    assert_eq!(
        (
            &dead.body["data"][0]["id"],
            &dead.body["data"][0]["attempts"]
        ),
        (&json!(ids[0]), &json!(2))
    );
    let all = get(format!("/api/v1/alert-deliveries?rule_id={rule}&limit=1")).await;
    assert!(all.body["next_cursor"].is_string(), "{}", all.body);
    let detail = get(format!("/api/v1/alert-deliveries/{}", ids[0])).await;
    let log = detail.body["attempt_log"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        (log.len(), &log[1]["status_code"]),
        (2, &json!(500)),
        "{}",
        detail.body
    );
    let firings = get(format!("/api/v1/alert-rules/{rule}/firings")).await;
    assert_eq!(firings.body["data"][0]["kind"], "fired", "{}", firings.body);

    // Replay: the dead letter is pending again; anything else is 409.
    let replay = |id: String| async move {
        let path = format!("/api/v1/alert-deliveries/{id}/replay");
        apir.call("POST", &path, Some(mgr), &[], None).await
    };
    let r = replay(ids[0].clone()).await;
    assert_eq!(
        (r.status, &r.body["status"]),
        (200, &json!("pending")),
        "{}",
        r.body
    );
    let r = replay(ids[0].clone()).await;
    assert_eq!((r.status, r.code()), (409, "not_dead"), "{}", r.body);
    let analyst = api.token(&api.a, Role::Analyst).await;
    let path = format!("/api/v1/alert-deliveries/{}/replay", ids[1]);
    assert_eq!(
        api.call("POST", &path, Some(&analyst), &[], None)
            .await
            .status,
        403
    );
    api.stop().await;
}

#[tokio::test]
async fn the_delivery_log_refuses_bad_queries_and_stays_in_its_tenant() {
    let api = Api::start().await;
    let mgr = api.token(&api.a, Role::CampaignManager).await;
    let other = api.token(&api.b, Role::Admin).await;
    let (rule, ids) = fired(&api, &mgr).await;
    let r = api
        .call(
            "GET",
            "/api/v1/alert-deliveries?status=lost&rule_id=x&cursor=bm9wZQ&limit=0",
            Some(&mgr),
            &[],
            None,
        )
        .await;
    assert_eq!(
        (r.status, fields(&r)),
        (
            422,
            vec![
                "rule_id".into(),
                "status".into(),
                "limit".into(),
                "cursor".into()
            ]
        )
    );
    for path in [
        "/api/v1/alert-deliveries".to_owned(),
        "/api/v1/alert-deliveries?status=dead".to_owned(),
    ] {
        let r = api.call("GET", &path, Some(&other), &[], None).await;
        assert_eq!(r.body["data"], json!([]), "{path}: {}", r.body);
    }
    for (method, path) in [
        ("GET", format!("/api/v1/alert-deliveries/{}", ids[0])),
        (
            "POST",
            format!("/api/v1/alert-deliveries/{}/replay", ids[0]),
        ),
        ("GET", format!("/api/v1/alert-rules/{rule}/firings")),
    ] {
        let r = api.call(method, &path, Some(&other), &[], None).await;
        assert_eq!(r.status, 404, "{method} {path}: {}", r.body);
    }
    api.stop().await;
}
