//! Object storage behind its circuit breaker, on a real S3 client: an
//! endpoint that refuses connections fails calls until the breaker opens,
//! after which calls fail at once (the API answers 503 without waiting out
//! the client's retries); "no such object" from the stack's real S3 server
//! is an answer and never opens it.

mod common;

use std::time::{Duration, Instant};

use adpulse_api::assets::{AssetError, AssetStore};
use adpulse_domain::CampaignId;
use adpulse_resilience::BreakerConfig;
use common::assets::AssetPlace;
use uuid::Uuid;

const BREAKER: BreakerConfig = BreakerConfig {
    failures: 3,
    open_for: Duration::from_secs(60),
    timeout: Duration::from_secs(2),
};

fn campaign() -> CampaignId {
    CampaignId::from_uuid(Uuid::new_v4())
}

#[tokio::test]
async fn storage_that_refuses_connections_opens_the_breaker_and_calls_then_fail_at_once() {
    // Nothing listens on a port bound and released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let store = AssetStore::open_with(
        "s3://adpulse-breaker/assets",
        &[
            ("aws_endpoint", endpoint.as_str()),
            ("aws_access_key_id", "key"),
            ("aws_secret_access_key", "secret"),
            ("aws_region", "us-east-1"),
            ("aws_allow_http", "true"),
        ],
    )
    .expect("a store")
    .with_breaker(BREAKER);
    let (c, a) = (campaign(), Uuid::now_v7());
    for _ in 0..3 {
        let r = store.get(c, a, "original").await;
        assert!(matches!(r, Err(AssetError::Unavailable(_))), "{r:?}");
    }
    for _ in 0..20 {
        let started = Instant::now();
        let r = store.put(c, a, "original", vec![1, 2, 3]).await;
        let Err(AssetError::Unavailable(why)) = r else {
            panic!("refused while open: {r:?}");
        };
        assert!(why.to_string().contains("circuit open"), "{why}");
        assert!(
            started.elapsed() < Duration::from_millis(50),
            "at once: {:?}",
            started.elapsed()
        );
    }
    assert!(
        store.ping().await.is_err(),
        "readiness still asks the storage itself"
    );
}

#[tokio::test]
async fn missing_objects_on_a_real_server_are_answers_not_failures() {
    let place = AssetPlace::s3();
    let store = place.open().with_breaker(BREAKER);
    let c = campaign();
    for _ in 0..10 {
        let r = store.get(c, Uuid::now_v7(), "original").await;
        assert!(matches!(r, Err(AssetError::NotFound)), "{r:?}");
    }
    let a = Uuid::now_v7();
    store
        .put(c, a, "original", vec![7; 16])
        .await
        .expect("the breaker stayed closed");
    assert_eq!(
        store.get(c, a, "original").await.expect("stored").as_ref(),
        &[7; 16]
    );
    store.delete(c, a, "original").await.expect("delete");
}
