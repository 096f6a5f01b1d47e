//! Frequency-capping counters against real Redis, on one server and on the
//! three-node cluster with the same assertions: many concurrent
//! reservations for one person never pass the cap, a batch of campaigns is
//! decided at once, windows expire, rolling windows forget old
//! impressions, and releases give one back.

use adpulse_config::{RedisConfig, Secret};
use adpulse_redis::{CapRequest, CapWindow, Redis};
use adpulse_testkit::{Server, unique_name};

async fn connect(server: Server) -> Redis {
    let cfg = RedisConfig {
        url: Secret::new(server.require()),
        key_prefix: unique_name("cap"),
        cluster: server == Server::RedisCluster,
        ..RedisConfig::default()
    };
    Redis::connect(&cfg)
        .await
        .unwrap_or_else(|e| server.absent(&e.to_string()))
}

fn daily(field: &str, cap: u32, now_ms: i64) -> CapRequest {
    CapRequest {
        field: field.into(),
        cap,
        window: CapWindow::Calendar {
            end_ms: (now_ms / 86_400_000 + 1) * 86_400_000,
        },
    }
}

async fn caps_hold(server: Server) {
    let redis = connect(server).await;
    let now = chrono::Utc::now().timestamp_millis();
    concurrent_reservations_stop_at_the_cap(&redis, server, now).await;
    batches_decide_at_once_and_release_gives_back(&redis, now).await;
    counters_are_per_person_and_day_and_expire(&redis, now).await;
    ended_windows_are_pruned(&redis, now).await;
    rolling_windows_forget_old_impressions(&redis, now).await;
    redis.delete_prefix().await.expect("cleanup");
}

/// 200 concurrent reservations for one person: exactly the cap pass.
async fn concurrent_reservations_stop_at_the_cap(redis: &Redis, server: Server, now: i64) {
    // 200 concurrent reservations of one person (phone, laptop, ...) for
    // one campaign with a cap of 7: exactly 7 pass.
    let tasks: Vec<_> = (0..200)
        .map(|_| {
            let redis = redis.clone();
            tokio::spawn(async move {
                redis
                    .reserve_caps("person-1", &[daily("c1", 7, now)], now)
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
    assert_eq!(allowed, 7, "{server:?}");
}

/// A batch of campaigns is decided in one call; a release gives one back.
async fn batches_decide_at_once_and_release_gives_back(redis: &Redis, now: i64) {
    // A batch: several campaigns for one person in one call.
    let batch = [
        daily("c1", 7, now),
        daily("c2", 1, now),
        daily("c3:ad9", 2, now),
    ];
    let out = redis
        .reserve_caps("person-1", &batch, now)
        .await
        .expect("batch");
    assert_eq!(
        out.iter().map(|o| (o.allow, o.count)).collect::<Vec<_>>(),
        [(false, 7), (true, 1), (true, 1)]
    );
    let again = redis
        .reserve_caps("person-1", &batch[1..], now)
        .await
        .expect("batch");
    assert_eq!(
        again.iter().map(|o| o.allow).collect::<Vec<_>>(),
        [false, true]
    );

    // Release gives one back.
    redis
        .release_cap("person-1", &daily("c2", 1, now))
        .await
        .expect("release");
    assert!(
        redis
            .reserve_caps("person-1", &[daily("c2", 1, now)], now)
            .await
            .expect("r")[0]
            .allow
    );
}

/// Another person and the next day count apart; the person's hash expires
/// with its furthest window.
async fn counters_are_per_person_and_day_and_expire(redis: &Redis, now: i64) {
    // Another person is not affected; the next day starts from zero.
    assert!(
        redis
            .reserve_caps("person-2", &[daily("c1", 7, now)], now)
            .await
            .expect("r")[0]
            .allow
    );
    let tomorrow = now + 86_400_000;
    assert_eq!(
        redis
            .reserve_caps("person-1", &[daily("c1", 7, tomorrow)], tomorrow)
            .await
            .expect("r")[0]
            .count,
        1
    );

    // The person's hash expires at its furthest window's end (tomorrow's).
    let hash = redis.key(&format!(
        "fc{{{}}}",
        adpulse_capping::identity::compact_person("person-1"),
    ));
    let ttl: i64 = redis::cmd("PTTL")
        .arg(&hash)
        .query_async(&mut redis.connection())
        .await
        .expect("pttl");
    let furthest = (tomorrow / 86_400_000 + 1) * 86_400_000 - chrono::Utc::now().timestamp_millis();
    assert!(
        (ttl - furthest).abs() < 5_000,
        "expires at the end of tomorrow: {ttl} vs {furthest}"
    );
}

/// Ended windows' fields are pruned once the hash grows.
async fn ended_windows_are_pruned(redis: &Redis, now: i64) {
    // Ended windows' fields are pruned once the hash holds more than 8.
    let short = |field: String, at: i64| CapRequest {
        field,
        cap: 5,
        window: CapWindow::Calendar { end_ms: at + 1_000 },
    };
    let batch: Vec<CapRequest> = (0..9).map(|i| short(format!("s{i}"), now)).collect();
    redis
        .reserve_caps("person-3", &batch, now)
        .await
        .expect("r");
    let later = now + 3_000;
    redis
        .reserve_caps("person-3", &[short("s-late".into(), later)], later)
        .await
        .expect("r");
    let fields: i64 = redis::cmd("HLEN")
        .arg(redis.key(&format!(
            "fc{{{}}}",
            adpulse_capping::identity::compact_person("person-3"),
        )))
        .query_async(&mut redis.connection())
        .await
        .expect("hlen");
    assert_eq!(fields, 1, "the nine ended windows were pruned");
}

/// A rolling window forgets impressions older than its length.
async fn rolling_windows_forget_old_impressions(redis: &Redis, now: i64) {
    // Rolling hour: two per hour, the oldest leaves after an hour.
    let rolling = |cap| CapRequest {
        field: "c9".into(),
        cap,
        window: CapWindow::Rolling {
            length_ms: 3_600_000,
        },
    };
    let t0 = now;
    assert!(
        redis
            .reserve_caps("p3", &[rolling(2)], t0)
            .await
            .expect("r")[0]
            .allow
    );
    assert!(
        redis
            .reserve_caps("p3", &[rolling(2)], t0 + 1_800_000)
            .await
            .expect("r")[0]
            .allow
    );
    assert!(
        !redis
            .reserve_caps("p3", &[rolling(2)], t0 + 3_000_000)
            .await
            .expect("r")[0]
            .allow
    );
    let later = redis
        .reserve_caps("p3", &[rolling(2)], t0 + 3_700_000)
        .await
        .expect("r")[0];
    assert_eq!((later.allow, later.count), (true, 2));
}

#[tokio::test]
async fn caps_hold_on_one_server() {
    caps_hold(Server::Redis).await;
}

#[tokio::test]
async fn caps_hold_on_a_cluster() {
    caps_hold(Server::RedisCluster).await;
}
