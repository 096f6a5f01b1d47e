//! Frequency-capping decisions over HTTP, with caps read from the
//! campaigns' targeting in real Postgres, on real Redis, on the three-node
//! Redis Cluster and on the in-process store, with the same assertions:
//! one person's devices never pass the cap together once linked, a batch
//! decides every candidate, releases give back, windows end where the
//! campaign's calendar says, and bad requests get their specific errors.

mod common;

use adpulse_capping::CapStore;
use adpulse_capping::identity::LinkStore;
use adpulse_capping::identity::MemoryLinks;
use adpulse_capping::memory::MemoryStore;
use adpulse_config::{CappingConfig, RedisConfig, Secret};
use adpulse_domain::ports::Store;
use adpulse_domain::{CampaignId, TenantId};
use adpulse_gateway::NullEventLog;
use adpulse_gateway::capping::Capping;
use adpulse_redis::Redis;
use adpulse_testkit::{Server, unique_name};
use chrono::{Duration, TimeZone, Utc};
use common::{Harness, Reply, config};
use serde_json::{Value, json};
use std::sync::Arc;

async fn redis(server: Server) -> Redis {
    let cfg = RedisConfig {
        url: Secret::new(server.require()),
        key_prefix: unique_name("gwcap"),
        cluster: server == Server::RedisCluster,
        ..RedisConfig::default()
    };
    Redis::connect(&cfg)
        .await
        .unwrap_or_else(|e| server.absent(&e.to_string()))
}

async fn set_cap(db: &dyn Store, tenant: TenantId, campaign: CampaignId, cap: Value) {
    let (_, version) = db
        .campaign_targeting(tenant, campaign)
        .await
        .expect("read")
        .expect("campaign");
    db.set_campaign_targeting(
        tenant,
        campaign,
        version,
        &json!({ "frequency_cap": cap }).to_string(),
    )
    .await
    .expect("targeting");
}

async fn decide(h: &Harness, key: &str, path: &str, body: Value) -> Reply {
    let auth = format!("Bearer {key}");
    h.post(
        path,
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
        ],
        body.to_string(),
    )
    .await
}

/// The whole suite against one backend.
async fn suite(counters: Arc<dyn CapStore>, links: Arc<dyn LinkStore>, name: &str) {
    let capping = Capping::new(counters, links, &CappingConfig::default());
    let h = Harness::start_full(config(), NullEventLog, Some(capping)).await;
    caps_are_set(&h).await;
    linked_devices_count_as_one_person(&h, name).await;
    concurrent_devices_pass_the_cap_once(&h, name).await;
    let decided_at = a_batch_decides_every_candidate(&h, name).await;
    a_release_frees_one_place(&h, &decided_at, name).await;
    tenants_have_their_own_counters_and_links(&h, name).await;
    refusals_have_their_codes(&h, name).await;
    h.stop().await;
}

/// The single decision's path.
const ONE: &str = "/v1/frequency/decide";

/// Tenant A's campaigns capped per day (4), per ad and hour (2), and not.
fn campaigns(h: &Harness) -> [CampaignId; 3] {
    [h.a.campaigns[0], h.a.campaigns[1], h.a.campaigns[2]]
}

/// Caps in the campaigns' targeting: A's 4 a day and 2 per ad an hour,
/// B's first campaign 1 a day.
async fn caps_are_set(h: &Harness) {
    let (a, b) = (&h.a, &h.b);
    let [day, per_ad, _] = campaigns(h);
    set_cap(h.db.as_ref(), a.id, day, json!({"max": 4, "per": "day"})).await;
    set_cap(
        h.db.as_ref(),
        a.id,
        per_ad,
        json!({"max": 2, "per": "hour", "scope": "ad"}),
    )
    .await;
    set_cap(
        h.db.as_ref(),
        b.id,
        b.campaigns[0],
        json!({"max": 1, "per": "day"}),
    )
    .await;
}

/// The laptop, before anyone knows whose it is; then the phone and the
/// laptop, each seen with the login: both devices are linked to the
/// person (3 impressions), and the day window ends at midnight UTC.
async fn linked_devices_count_as_one_person(h: &Harness, name: &str) {
    let [day, _, _] = campaigns(h);
    // The laptop, before anyone knows whose it is; then the phone and the
    // laptop, each seen with the login: both devices are now linked to the
    // person, and the laptop's first impression joined the person's.
    let r = decide(
        h,
        &h.a.key,
        ONE,
        json!({"campaign_id": day, "user": {"cookie_id": "laptop"}}),
    )
    .await;
    assert_eq!(
        (r.status, &r.body["count"]),
        (200, &json!(1)),
        "{name}: {}",
        r.body
    );
    let r = decide(
        h,
        &h.a.key,
        ONE,
        json!({"campaign_id": day, "user": {"device_id": "phone", "login_id": "u-1"}}),
    )
    .await;
    assert_eq!(r.status, 200, "{name}: {}", r.body);
    assert_eq!(
        (
            &r.body["allow"],
            &r.body["count"],
            &r.body["cap"],
            &r.body["reason"]
        ),
        (&json!(true), &json!(1), &json!(4), &json!("reserved")),
        "{name}"
    );
    let midnight = Utc
        .from_utc_datetime(
            &(Utc::now().date_naive() + Duration::days(1))
                .and_hms_opt(0, 0, 0)
                .expect("midnight"),
        )
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    // (A decision made in the last instant of the day may see the next.)
    let ends = r.body["window_ends_at"].as_str().expect("ends").to_owned();
    assert!(
        ends >= midnight,
        "{name}: day window ends at midnight UTC: {ends}"
    );
    let r = decide(
        h,
        &h.a.key,
        ONE,
        json!({"campaign_id": day, "user": {"cookie_id": "laptop", "email_sha256": null, "login_id": "u-1"}}),
    )
    .await;
    assert_eq!(
        (r.status, &r.body["count"]),
        (200, &json!(3)),
        "{name}: the laptop's earlier impression counts: {}",
        r.body
    );
}

/// 40 concurrent requests from the devices alone: exactly one passes the
/// cap; a stranger's device is someone else.
async fn concurrent_devices_pass_the_cap_once(h: &Harness, name: &str) {
    let [day, _, _] = campaigns(h);
    // 40 concurrent requests from the devices alone: exactly one passes.
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let user = if i % 2 == 0 {
                json!({"device_id": "phone"})
            } else {
                json!({"cookie_id": "laptop"})
            };
            let body = json!({"campaign_id": day, "user": user}).to_string();
            let client = h.client();
            let auth = format!("Bearer {}", h.a.key);
            tokio::spawn(async move {
                client
                    .post(
                        ONE,
                        &[
                            ("authorization", auth.as_str()),
                            ("content-type", "application/json"),
                        ],
                        body,
                    )
                    .await
            })
        })
        .collect();
    let mut allowed = 0;
    for t in tasks {
        let r = t.await.expect("task");
        assert_eq!(r.status, 200, "{name}: {}", r.body);
        assert!(r.body["count"].as_u64().expect("count") <= 4, "{name}");
        allowed += u32::from(r.body["allow"] == json!(true));
    }
    assert_eq!(allowed, 1, "{name}: the cap of 4 holds across devices");

    // A stranger's device is someone else.
    let r = decide(
        h,
        &h.a.key,
        ONE,
        json!({"campaign_id": day, "user": {"device_id": "tablet"}}),
    )
    .await;
    assert_eq!(
        (&r.body["allow"], &r.body["count"]),
        (&json!(true), &json!(1)),
        "{name}"
    );
}

/// One ad request ranking five candidates gets a decision each; ad-7's
/// cap of 2 an hour holds on the third. Returns the first's decision time.
async fn a_batch_decides_every_candidate(h: &Harness, name: &str) -> String {
    let [day, per_ad, uncapped] = campaigns(h);
    // One ad request ranking five candidates.
    let batch = json!({
        "user": {"device_id": "phone"},
        "candidates": [
            {"campaign_id": day},
            {"campaign_id": per_ad},
            {"campaign_id": per_ad, "ad_id": "ad-7"},
            {"campaign_id": uncapped},
            {"campaign_id": h.b.campaigns[0]},
        ]
    });
    let r = decide(h, &h.a.key, "/v1/frequency/decide/batch", batch.clone()).await;
    assert_eq!(r.status, 200, "{name}: {}", r.body);
    let reasons: Vec<(&str, bool)> = r.body["decisions"]
        .as_array()
        .expect("decisions")
        .iter()
        .map(|d| {
            (
                d["reason"].as_str().expect("reason"),
                d["allow"] == json!(true),
            )
        })
        .collect();
    assert_eq!(
        reasons,
        [
            ("capped", false),
            ("invalid", false),
            ("reserved", true),
            ("uncapped", true),
            ("unknown_campaign", false)
        ],
        "{name}"
    );
    let decided_at = r.body["decided_at"]
        .as_str()
        .expect("decided_at")
        .to_owned();
    let r = decide(h, &h.a.key, "/v1/frequency/decide/batch", batch.clone()).await;
    assert_eq!(r.body["decisions"][2]["count"], 2, "{name}");
    let r = decide(h, &h.a.key, "/v1/frequency/decide/batch", batch.clone()).await;
    assert_eq!(
        (
            &r.body["decisions"][2]["allow"],
            &r.body["decisions"][2]["reason"]
        ),
        (&json!(false), &json!("capped")),
        "{name}: 2 per hour for ad-7"
    );

    decided_at
}

/// Releasing the unserved reservation made at `decided_at` frees one
/// place for ad-7.
async fn a_release_frees_one_place(h: &Harness, decided_at: &str, name: &str) {
    let [_, per_ad, _] = campaigns(h);
    // Releasing the unserved reservation frees one place.
    let r = decide(
        h,
        &h.a.key,
        "/v1/frequency/release",
        json!({"campaign_id": per_ad, "ad_id": "ad-7", "user": {"login_id": "u-1"}, "reserved_at": decided_at}),
    )
    .await;
    assert_eq!(r.status, 204, "{name}: {}", r.body);
    let r = decide(
        h,
        &h.a.key,
        ONE,
        json!({"campaign_id": per_ad, "ad_id": "ad-7", "user": {"cookie_id": "laptop"}}),
    )
    .await;
    assert_eq!(
        (&r.body["allow"], &r.body["count"]),
        (&json!(true), &json!(2)),
        "{name}: {}",
        r.body
    );
}

/// Tenant B's login u-1 is not tenant A's: its own counters and links.
async fn tenants_have_their_own_counters_and_links(h: &Harness, name: &str) {
    let [day, _, _] = campaigns(h);
    // Tenant B's login u-1 is not tenant A's: its own counters and links.
    let r = decide(
        h,
        &h.b.key,
        ONE,
        json!({"campaign_id": h.b.campaigns[0], "user": {"device_id": "phone"}}),
    )
    .await;
    assert_eq!(
        (&r.body["allow"], &r.body["count"]),
        (&json!(true), &json!(1)),
        "{name}"
    );
    // B linking the same device to its own login does not move A's person.
    let r = decide(
        h,
        &h.b.key,
        ONE,
        json!({"campaign_id": h.b.campaigns[0], "user": {"device_id": "phone", "login_id": "u-2"}}),
    )
    .await;
    assert_eq!(r.status, 200, "{name}: {}", r.body);
    let r = decide(
        h,
        &h.a.key,
        ONE,
        json!({"campaign_id": day, "user": {"device_id": "phone"}}),
    )
    .await;
    assert_eq!(
        (&r.body["allow"], &r.body["count"]),
        (&json!(false), &json!(4)),
        "{name}: A's phone is still A's u-1"
    );
}

/// Bad requests, a wrong key and too many candidates each get their code.
async fn refusals_have_their_codes(h: &Harness, name: &str) {
    let [day, per_ad, _] = campaigns(h);
    // Refusals, each with its code.
    let refusals = [
        (json!({"campaign_id": day}), 422, "missing_field"),
        (json!({"campaign_id": day, "user": {}}), 422, "empty"),
        (
            json!({"campaign_id": "nope", "user": {"device_id": "d"}}),
            422,
            "invalid_uuid",
        ),
        (
            json!({"campaign_id": per_ad, "user": {"device_id": "d"}}),
            422,
            "ad_required",
        ),
        (
            json!({"campaign_id": h.b.campaigns[0], "user": {"device_id": "d"}}),
            404,
            "unknown_campaign",
        ),
        (
            json!({"campaign_id": day, "user": {"device_id": "d"}, "extra": 1}),
            422,
            "unknown_field",
        ),
        (json!([1, 2]), 400, "not_an_object"),
    ];
    for (body, status, code) in refusals {
        let r = decide(h, &h.a.key, ONE, body.clone()).await;
        assert_eq!(
            (r.status, r.code()),
            (status, code),
            "{name}: {body}: {}",
            r.body
        );
    }
    let r = decide(h, "adp_wrong", ONE, json!({})).await;
    assert_eq!((r.status, r.code()), (401, "invalid_key"), "{name}");
    let many: Vec<Value> = (0..101).map(|_| json!({"campaign_id": day})).collect();
    let r = decide(
        h,
        &h.a.key,
        "/v1/frequency/decide/batch",
        json!({"user": {"device_id": "d"}, "candidates": many}),
    )
    .await;
    assert_eq!((r.status, r.code()), (422, "too_many_candidates"), "{name}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capping_over_http_on_redis() {
    let r = redis(Server::Redis).await;
    suite(Arc::new(r.clone()), Arc::new(r.clone()), "redis").await;
    r.delete_prefix().await.expect("cleanup");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capping_over_http_on_redis_cluster() {
    let r = redis(Server::RedisCluster).await;
    suite(Arc::new(r.clone()), Arc::new(r.clone()), "redis cluster").await;
    r.delete_prefix().await.expect("cleanup");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capping_over_http_in_process() {
    suite(
        Arc::new(MemoryStore::new()),
        Arc::new(MemoryLinks::new()),
        "memory",
    )
    .await;
}

#[tokio::test]
async fn capping_off_answers_404() {
    let h = Harness::start_with(config(), NullEventLog).await;
    let r = decide(&h, &h.a.key, "/v1/frequency/decide", json!({})).await;
    assert_eq!((r.status, r.code()), (404, "capping_disabled"));
    h.stop().await;
}
