//! One conformance suite for every frequency-capping store: the exact
//! in-memory store, the sketch, Redis and Redis Cluster run the same
//! assertions (the sketch where it is exact at this load; it may deny
//! early, never late, and cannot release or count rolling windows). The
//! identity-link stores (memory, Redis, Redis Cluster) share a suite too.

use std::sync::Arc;

use adpulse_capping::identity::{Ids, LinkStore, MemoryLinks, resolve};
use adpulse_capping::memory::MemoryStore;
use adpulse_capping::plan::{Planned, plan};
use adpulse_capping::sketch::{SketchSize, SketchStore};
use adpulse_capping::{CapStore, StoreError};
use adpulse_config::{RedisConfig, Secret};
use adpulse_domain::CampaignId;
use adpulse_domain::targeting::{CapPeriod, CapScope, CapWindow, FrequencyCap};
use adpulse_redis::Redis;
use adpulse_testkit::{Server, unique_name};
use chrono::{DateTime, Duration, Utc};

fn daily(campaign: u128, max: u32, now: DateTime<Utc>) -> Planned {
    let cap = FrequencyCap {
        max,
        per: CapPeriod::Day,
        scope: CapScope::Campaign,
        window: CapWindow::Calendar,
    };
    plan(
        &cap,
        chrono_tz::Europe::Berlin,
        CampaignId::from_uuid(uuid::Uuid::from_u128(campaign)),
        None,
        now,
    )
    .expect("plan")
}

fn rolling_hour(max: u32, now: DateTime<Utc>) -> Planned {
    let cap = FrequencyCap {
        max,
        per: CapPeriod::Hour,
        scope: CapScope::Ad,
        window: CapWindow::Rolling,
    };
    plan(
        &cap,
        chrono_tz::UTC,
        CampaignId::from_uuid(uuid::Uuid::from_u128(99)),
        Some("ad-1"),
        now,
    )
    .expect("plan")
}

async fn conformance<S: CapStore + 'static>(store: Arc<S>, name: &str, exact: bool) {
    let now = Utc::now();
    let person = unique_name("person");
    concurrent_reservations_stop_at_the_cap(&store, name, &person, now).await;
    batches_and_separate_counters(store.as_ref(), name, &person, now).await;
    if exact {
        release_gives_one_back(store.as_ref(), name, &person, now).await;
        rolling_windows_slide(store.as_ref(), name, &person, now).await;
        merged_ids_share_their_counts(store.as_ref(), name, now).await;
    } else {
        let err = store.reserve(&person, &[rolling_hour(2, now)], now).await;
        assert!(
            matches!(err, Err(StoreError::Unsupported(_))),
            "{name}: rolling"
        );
    }
}

/// 64 concurrent reservations for one person: exactly the cap of 4 allowed.
async fn concurrent_reservations_stop_at_the_cap<S: CapStore + 'static>(
    store: &Arc<S>,
    name: &str,
    person: &str,
    now: DateTime<Utc>,
) {
    // Concurrent reservations for one person: never past the cap.
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let (store, person) = (Arc::clone(store), person.to_owned());
            tokio::spawn(async move {
                store
                    .reserve(&person, &[daily(1, 4, now)], now)
                    .await
                    .expect("reserve")[0]
                    .allow
            })
        })
        .collect();
    let mut allowed = 0;
    for t in tasks {
        allowed += usize::from(t.await.expect("join"));
    }
    assert_eq!(allowed, 4, "{name}: concurrent reservations");
}

/// A batch is decided in order; another person and the next day count apart.
async fn batches_and_separate_counters<S: CapStore>(
    store: &S,
    name: &str,
    person: &str,
    now: DateTime<Utc>,
) {
    // A batch, in order.
    let batch = [daily(1, 4, now), daily(2, 1, now), daily(3, 2, now)];
    let out = store.reserve(person, &batch, now).await.expect("batch");
    let got: Vec<(bool, u32)> = out.iter().map(|d| (d.allow, d.count)).collect();
    assert_eq!(got, [(false, 4), (true, 1), (true, 1)], "{name}: batch");

    // Another person and the next day are separate counters.
    let other = unique_name("person");
    assert!(
        store
            .reserve(&other, &[daily(2, 1, now)], now)
            .await
            .expect("r")[0]
            .allow,
        "{name}"
    );
    let tomorrow = now + Duration::days(1);
    assert!(
        store
            .reserve(person, &[daily(2, 1, tomorrow)], tomorrow)
            .await
            .expect("r")[0]
            .allow,
        "{name}"
    );
}

/// A release gives one reservation back (exact stores only).
async fn release_gives_one_back<S: CapStore>(
    store: &S,
    name: &str,
    person: &str,
    now: DateTime<Utc>,
) {
    // Release gives one back.
    store
        .release(person, &daily(2, 1, now))
        .await
        .expect("release");
    assert!(
        store
            .reserve(person, &[daily(2, 1, now)], now)
            .await
            .expect("r")[0]
            .allow,
        "{name}: release"
    );
}

/// Rolling windows count the last hour, not the calendar one (exact stores only).
async fn rolling_windows_slide<S: CapStore>(
    store: &S,
    name: &str,
    person: &str,
    now: DateTime<Utc>,
) {
    // Rolling windows: two per hour; the first leaves after an hour.
    let t0 = now;
    for (dt, allow) in [(0, true), (30, true), (59, false), (61, true)] {
        let t = t0 + Duration::minutes(dt);
        let d = store
            .reserve(person, &[rolling_hour(2, t)], t)
            .await
            .expect("rolling")[0];
        assert_eq!(d.allow, allow, "{name}: rolling at +{dt} min");
    }
}

/// Merging two ids adds their counts to the survivor, once per merge
/// (exact stores only).
async fn merged_ids_share_their_counts<S: CapStore>(store: &S, name: &str, now: DateTime<Utc>) {
    // Two ids found to be one person: the laptop's two impressions
    // join the login's one, so the cap of 4 leaves one more; the
    // laptop alone starts afresh.
    let (laptop, login) = (unique_name("d"), unique_name("l"));
    for _ in 0..2 {
        store
            .reserve(&laptop, &[daily(7, 4, now)], now)
            .await
            .expect("r");
    }
    store
        .reserve(&login, &[daily(7, 4, now)], now)
        .await
        .expect("r");
    store.merge(&laptop, &login, now).await.expect("merge");
    let got: Vec<(bool, u32)> = store
        .reserve(&login, &[daily(7, 4, now), daily(7, 4, now)], now)
        .await
        .expect("r")
        .iter()
        .map(|d| (d.allow, d.count))
        .collect();
    assert_eq!(got, [(true, 4), (false, 4)], "{name}: merged");
    let d = store
        .reserve(&laptop, &[daily(7, 4, now)], now)
        .await
        .expect("r")[0];
    assert_eq!(d.count, 1, "{name}: the merged counts left the laptop");
    store
        .merge(&laptop, &login, now)
        .await
        .expect("merge again");
    let d = store
        .reserve(&login, &[daily(7, 4, now)], now)
        .await
        .expect("r")[0];
    assert_eq!(
        (d.allow, d.count),
        (false, 5),
        "{name}: merged again, one more"
    );
}

/// Links learned from a request carrying a login make the devices alone
/// resolve to the login; unknown devices stay themselves; links expire.
async fn links_conform<L: LinkStore>(links: &L, name: &str) {
    let now = Utc::now();
    let phone = Ids {
        device_id: Some("phone-1"),
        login_id: Some("u-1"),
        ..Ids::default()
    };
    let laptop = Ids {
        cookie_id: Some("laptop-1"),
        email_sha256: Some("e-1"),
        ..Ids::default()
    };
    links
        .learn(&phone.links(), now + Duration::days(30))
        .await
        .expect("learn");
    links
        .learn(&laptop.links(), now + Duration::seconds(1))
        .await
        .expect("learn");
    let device = |d| Ids {
        device_id: Some(d),
        ..Ids::default()
    };
    let cookie = Ids {
        cookie_id: Some("laptop-1"),
        ..Ids::default()
    };
    assert_eq!(
        resolve(&device("phone-1"), links, now).await.as_deref(),
        Some("l:u-1"),
        "{name}"
    );
    assert_eq!(
        resolve(&device("tablet-9"), links, now).await.as_deref(),
        Some("d:tablet-9"),
        "{name}"
    );
    assert_eq!(
        resolve(&cookie, links, now).await.as_deref(),
        Some("e:e-1"),
        "{name}"
    );
    // A device linked to a login wins over a cookie linked to an e-mail.
    let both = Ids {
        device_id: Some("phone-1"),
        cookie_id: Some("laptop-1"),
        ..Ids::default()
    };
    assert_eq!(
        resolve(&both, links, now).await.as_deref(),
        Some("l:u-1"),
        "{name}"
    );
    tokio::time::sleep(std::time::Duration::from_millis(2_100)).await;
    assert_eq!(
        resolve(&cookie, links, Utc::now()).await.as_deref(),
        Some("c:laptop-1"),
        "{name}: the link expired"
    );
}

async fn redis(server: Server) -> Arc<Redis> {
    let cfg = RedisConfig {
        url: Secret::new(server.require()),
        key_prefix: unique_name("capconf"),
        cluster: server == Server::RedisCluster,
        ..RedisConfig::default()
    };
    Arc::new(
        Redis::connect(&cfg)
            .await
            .unwrap_or_else(|e| server.absent(&e.to_string())),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_store_conforms() {
    conformance(Arc::new(MemoryStore::new()), "memory", true).await;
    links_conform(&MemoryLinks::new(), "memory links").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sketch_store_conforms() {
    let size = SketchSize::for_pairs(10_000, 0.001);
    conformance(Arc::new(SketchStore::new(size)), "sketch", false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_store_conforms() {
    let r = redis(Server::Redis).await;
    conformance(Arc::clone(&r), "redis", true).await;
    links_conform(r.as_ref(), "redis links").await;
    r.delete_prefix().await.expect("cleanup");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_cluster_store_conforms() {
    let r = redis(Server::RedisCluster).await;
    conformance(Arc::clone(&r), "redis cluster", true).await;
    links_conform(r.as_ref(), "redis cluster links").await;
    r.delete_prefix().await.expect("cleanup");
}
