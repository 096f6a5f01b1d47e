//! Rate limits per tenant and per address, and keys and campaigns that
//! stop working once revoked or deleted.

use serde_json::Value;

use crate::common::{Harness, config, event};
use crate::header;

#[tokio::test]
async fn tenants_are_limited_to_their_quota_and_only_theirs() {
    let mut cfg = config();
    cfg.gateway.tenant_events_per_sec = 10;
    cfg.gateway.tenant_burst = 10;
    cfg.gateway.unauthenticated_per_ip_per_sec = 2;
    let h = Harness::start(cfg).await;
    let auth = format!("Bearer {}", h.a.key);
    let ten: Vec<Value> = (0..10)
        .map(|_| event(h.a.campaigns[0], "impression"))
        .collect();
    let r = h
        .post(
            "/v1/events/batch",
            &[
                ("authorization", &auth),
                ("content-type", "application/json"),
            ],
            Value::from(ten).to_string(),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.body);

    let r = h.send(&h.a, &event(h.a.campaigns[0], "click")).await;
    assert_eq!((r.status, r.code()), (429, "rate_limited"), "{}", r.body);
    assert!(
        header(&r, "retry-after")
            .parse::<u64>()
            .expect("Retry-After seconds")
            >= 1
    );
    assert_eq!(header(&r, "ratelimit-limit"), "10");
    assert_eq!(header(&r, "ratelimit-remaining"), "0");

    let r = h.send(&h.b, &event(h.b.campaigns[0], "click")).await;
    assert_eq!(r.status, 202, "tenant B is unaffected: {}", r.body);

    // A batch larger than the burst can never fit.
    let big: Vec<Value> = (0..11)
        .map(|_| event(h.b.campaigns[0], "impression"))
        .collect();
    let bauth = format!("Bearer {}", h.b.key);
    let r = h
        .post(
            "/v1/events/batch",
            &[
                ("authorization", &bauth),
                ("content-type", "application/json"),
            ],
            Value::from(big).to_string(),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (413, "batch_exceeds_quota"),
        "{}",
        r.body
    );

    // Without a valid key, an address gets a few tries, then 429.
    let mut statuses = Vec::new();
    for _ in 0..8 {
        let r = h
            .post(
                "/v1/events",
                &[
                    ("authorization", "Bearer nope"),
                    ("content-type", "application/json"),
                ],
                "{}",
            )
            .await;
        statuses.push(r.status);
    }
    assert_eq!(statuses[0], 401);
    assert!(statuses.contains(&429), "{statuses:?}");
    h.stop().await;
}

#[tokio::test]
async fn a_revoked_key_stops_working_and_a_deleted_campaign_too() {
    let mut cfg = config();
    cfg.gateway.auth_cache_ttl_secs = 0; // no staleness: revocation is immediate
    let h = Harness::start(cfg).await;
    assert_eq!(
        h.send(&h.a, &event(h.a.campaigns[0], "click")).await.status,
        202
    );
    assert!(
        h.db.delete_campaign(h.a.campaigns[0])
            .await
            .expect("delete")
    );
    let r = h.send(&h.a, &event(h.a.campaigns[0], "click")).await;
    assert_eq!(
        (r.status, r.code()),
        (422, "unknown_campaign"),
        "{}",
        r.body
    );
    assert!(h.db.revoke_ingest_key(h.a.key_id).await.expect("revoke"));
    let r = h.send(&h.a, &event(h.a.campaigns[1], "click")).await;
    assert_eq!((r.status, r.code()), (401, "revoked_key"), "{}", r.body);
    h.stop().await;
}
