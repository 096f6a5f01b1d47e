//! Any frequency-capping request is answered with a 2xx or a specific 4xx,
//! never a 5xx or a dropped connection: property tests through the real
//! gateway (caps and zones in real Postgres), in process and on real
//! Redis. The requests mix well-formed decisions, batches and releases of
//! campaigns with every kind of cap in zones whose clocks jump by half an
//! hour, skip a day or sit 14 hours from UTC, with `reserved_at` in any
//! year and offset RFC 3339 allows, unknown and foreign campaigns, and
//! junk in every field.

mod common;

use adpulse_capping::CapStore;
use adpulse_capping::identity::LinkStore;
use adpulse_capping::identity::MemoryLinks;
use adpulse_capping::memory::MemoryStore;
use adpulse_config::{CappingConfig, RedisConfig, Secret};
use adpulse_domain::CampaignId;
use adpulse_gateway::NullEventLog;
use adpulse_gateway::capping::Capping;
use adpulse_redis::Redis;
use adpulse_testkit::{Server, unique_name};
use common::{Harness, config};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Value, json};
use std::sync::Arc;

/// Zones with odd clocks, and campaigns of tenant A capped in each way.
const ZONES: [&str; 6] = [
    "Australia/Lord_Howe",
    "Pacific/Apia",
    "Pacific/Kiritimati",
    "Etc/GMT+12",
    "Asia/Kathmandu",
    "Europe/Berlin",
];

fn caps() -> Vec<Value> {
    let mut out = Vec::new();
    for per in ["hour", "day", "week"] {
        for window in ["calendar", "rolling"] {
            for scope in ["campaign", "ad"] {
                out.push(json!({"max": 2, "per": per, "window": window, "scope": scope}));
            }
        }
    }
    out.push(json!({"max": 1000, "per": "week"}));
    out
}

/// An RFC 3339 timestamp in any year and offset, or junk.
fn instant() -> BoxedStrategy<Value> {
    prop_oneof![
        4 => (0u32..=9999, 1u32..=12, 1u32..=28, 0u32..=23, -1439i32..=1439).prop_map(
            |(y, mo, d, h, off)| {
                json!(format!(
                    "{y:04}-{mo:02}-{d:02}T{h:02}:59:59.999{}{:02}:{:02}",
                    if off < 0 { '-' } else { '+' },
                    off.abs() / 60,
                    off.abs() % 60
                ))
            }
        ),
        1 => Just(json!(chrono::Utc::now().to_rfc3339())),
        1 => prop_oneof![
            Just(json!(i64::MAX)),
            Just(json!(-1)),
            Just(json!("2026-02-30T00:00:00Z")),
            Just(json!("+275760-09-13T00:00:00Z")),
            "[ -~]{0,30}".prop_map(Value::from),
        ],
    ]
    .boxed()
}

fn user() -> BoxedStrategy<Value> {
    let id = || {
        proptest::option::weighted(
            0.5,
            prop_oneof![30 => "[a-z0-9-]{1,12}", 1 => "\\PC{0,200}"],
        )
    };
    prop_oneof![
        30 => (id(), id(), id(), proptest::option::weighted(0.1, "[0-9a-fA-F]{64}|[0-9a-f]{63,65}")).prop_map(
            |(d, c, l, e)| {
                let mut u = serde_json::Map::new();
                for (k, v) in [("device_id", d), ("cookie_id", c), ("login_id", l), ("email_sha256", e)] {
                    if let Some(v) = v {
                        u.insert(k.into(), v.into());
                    }
                }
                Value::Object(u)
            }
        ),
        1 => Just(json!({})),
        1 => Just(json!(42)),
    ]
    .boxed()
}

fn campaign(known: Vec<CampaignId>) -> BoxedStrategy<Value> {
    prop_oneof![
        60 => proptest::sample::select(known).prop_map(|c| json!(c.to_string())),
        1 => any::<u128>().prop_map(|n| json!(uuid::Uuid::from_u128(n).to_string())),
        1 => prop_oneof![Just(json!(null)), Just(json!(7)), "[ -~]{0,40}".prop_map(Value::from)],
    ]
    .boxed()
}

fn ad() -> BoxedStrategy<Option<Value>> {
    proptest::option::weighted(
        0.7,
        prop_oneof![
            40 => "[a-z0-9-]{1,8}".prop_map(Value::from),
            1 => "\\PC{0,80}".prop_map(Value::from),
            1 => Just(json!(1)),
        ],
    )
    .boxed()
}

/// One request: (path, body).
fn request(known: Vec<CampaignId>) -> BoxedStrategy<(&'static str, Value)> {
    let single = (campaign(known.clone()), ad(), user(), instant(), 0u8..4).prop_map(
        |(c, ad, user, at, kind)| {
            let mut b = json!({"campaign_id": c, "user": user});
            if let Some(ad) = ad {
                b["ad_id"] = ad;
            }
            match kind {
                0 | 1 => ("/v1/frequency/decide", b),
                2 => {
                    b["reserved_at"] = at;
                    ("/v1/frequency/release", b)
                }
                _ => {
                    // A field this call does not take.
                    b["reserved_at"] = at;
                    ("/v1/frequency/decide", b)
                }
            }
        },
    );
    let batch = (
        prop_oneof![
            9 => proptest::collection::vec((campaign(known.clone()), ad()), 1..8),
            1 => proptest::collection::vec((campaign(known), ad()), 0..70),
        ],
        user(),
    )
        .prop_map(|(cands, user)| {
            let candidates: Vec<Value> = cands
                .into_iter()
                .map(|(c, ad)| match ad {
                    Some(ad) => json!({"campaign_id": c, "ad_id": ad}),
                    None => json!({"campaign_id": c}),
                })
                .collect();
            (
                "/v1/frequency/decide/batch",
                json!({"user": user, "candidates": candidates}),
            )
        });
    prop_oneof![6 => single, 3 => batch].boxed()
}

async fn probe(counters: Arc<dyn CapStore>, links: Arc<dyn LinkStore>, name: &str) {
    let capping = Capping::new(counters, links, &CappingConfig::default());
    let h = Harness::start_full(config(), NullEventLog, Some(capping)).await;
    let mut known = Vec::new();
    for (i, zone) in ZONES.iter().enumerate() {
        for (j, cap) in caps().into_iter().enumerate() {
            let c =
                h.db.create_campaign(h.a.id, &format!("capped {i}.{j}"), None)
                    .await
                    .expect("campaign");
            let (_, version) =
                h.db.campaign_targeting(h.a.id, c)
                    .await
                    .expect("read")
                    .expect("campaign");
            h.db.set_campaign_targeting(
                h.a.id,
                c,
                version,
                &json!({ "frequency_cap": cap }).to_string(),
            )
            .await
            .expect("targeting");
            h.db.set_campaign_zones(zone, &[*c.as_uuid()])
                .await
                .expect("zone");
            known.push(c);
        }
    }
    known.extend(h.a.campaigns.iter().copied());
    known.extend(h.b.campaigns.iter().copied());

    let handle = tokio::runtime::Handle::current();
    let auth = format!("Bearer {}", h.a.key);
    let result = tokio::task::block_in_place(|| {
        let mut runner = TestRunner::new(Config {
            cases: 300,
            failure_persistence: None,
            ..Config::default()
        });
        runner.run(&request(known), |(path, body)| {
            let r = handle.block_on(h.post(
                path,
                &[
                    ("authorization", &auth),
                    ("content-type", "application/json"),
                ],
                body.to_string(),
            ));
            prop_assert!(
                r.status < 500,
                "{name}: {path} {body} -> {} {}",
                r.status,
                r.body
            );
            if r.status >= 400 {
                prop_assert!(!r.code().is_empty(), "{name}: {path} {body} -> {}", r.body);
            }
            Ok(())
        })
    });
    if let Err(e) = result {
        panic!("{name}: {e}");
    }
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_capping_request_in_process_is_2xx_or_4xx() {
    probe(
        Arc::new(MemoryStore::new()),
        Arc::new(MemoryLinks::new()),
        "memory",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_capping_request_on_redis_is_2xx_or_4xx() {
    let cfg = RedisConfig {
        url: Secret::new(Server::Redis.require()),
        key_prefix: unique_name("gwprobe"),
        ..RedisConfig::default()
    };
    let r = Redis::connect(&cfg)
        .await
        .unwrap_or_else(|e| Server::Redis.absent(&e.to_string()));
    probe(Arc::new(r.clone()), Arc::new(r.clone()), "redis").await;
    r.delete_prefix().await.expect("cleanup");
}
