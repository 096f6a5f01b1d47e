//! Smoke test against the real Redis of the local stack: set and get under a
//! fresh key prefix, then clean the prefix away.

use adpulse_config::{RedisConfig, Secret};
use adpulse_redis::Redis;
use adpulse_testkit::{Server, unique_name};

#[tokio::test]
async fn set_get_under_a_private_prefix() {
    let cfg = RedisConfig {
        url: Secret::new(Server::Redis.require()),
        key_prefix: unique_name("smoke"),
        ..RedisConfig::default()
    };
    let redis = match Redis::connect(&cfg).await {
        Ok(r) => r,
        Err(e) => Server::Redis.absent(&e.to_string()),
    };
    redis.ping().await.expect("ping");

    let mut c = redis.connection();
    let key = redis.key("campaign:c1:realtime");
    assert!(key.starts_with(&cfg.key_prefix));
    let () = redis::cmd("HSET")
        .arg(&key)
        .arg("impressions")
        .arg(3)
        .arg("clicks")
        .arg(1)
        .query_async(&mut c)
        .await
        .map(|_: i64| ())
        .expect("hset");
    let (imps, clicks): (i64, i64) = redis::cmd("HMGET")
        .arg(&key)
        .arg("impressions")
        .arg("clicks")
        .query_async(&mut c)
        .await
        .expect("hmget");
    assert_eq!((imps, clicks), (3, 1));

    assert_eq!(redis.delete_prefix().await.expect("cleanup"), 1);
    let exists: bool = redis::cmd("EXISTS")
        .arg(&key)
        .query_async(&mut c)
        .await
        .expect("exists");
    assert!(!exists);
}
