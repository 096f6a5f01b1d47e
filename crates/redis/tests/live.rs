//! The live-counters port's conformance suite, run on real Redis (one
//! server and a three-node cluster) and on the in-process adapter of
//! `adpulse up`, with the same assertions: writes apply only when newer,
//! points only grow, the window is pruned, campaigns keep their own state.

use std::time::Duration;

use adpulse_config::{RedisConfig, Secret};
use adpulse_domain::CampaignId;
use adpulse_domain::aggregate::{CampaignTotals, Counts, LIVE_WINDOW_SECS, LivePoint};
use adpulse_domain::ports::LiveCounters;
use adpulse_redis::Redis;
use adpulse_testkit::{Server, unique_name};
use chrono::{DateTime, Duration as Span, Utc};

async fn connect(server: Server) -> Redis {
    let cfg = RedisConfig {
        url: Secret::new(server.require()),
        key_prefix: unique_name("live"),
        cluster: server == Server::RedisCluster,
        ..RedisConfig::default()
    };
    match Redis::connect(&cfg).await {
        Ok(r) => r,
        Err(e) => server.absent(&e.to_string()),
    }
}

fn totals(campaign: CampaignId, impressions: i64) -> CampaignTotals {
    CampaignTotals {
        campaign_id: campaign,
        impressions,
        clicks: 1,
        conversions: 0,
        cost_micros: 10 * impressions,
        revenue_micros: 0,
        today: Counts::default(),
    }
}

fn point(campaign: CampaignId, start: DateTime<Utc>, impressions: i64) -> LivePoint {
    LivePoint {
        campaign_id: campaign,
        start,
        counts: Counts {
            impressions,
            cost_micros: 10 * impressions,
            ..Counts::default()
        },
    }
}

async fn live_writes_apply_only_when_newer(redis: &impl LiveCounters) -> Vec<CampaignId> {
    let ttl = Duration::from_secs(600);
    let now = Utc::now();
    let t0 = adpulse_domain::aggregate::live_point_start(now);
    // Many campaigns, so a cluster spreads them over all three nodes.
    let campaigns: Vec<CampaignId> = (0..30)
        .map(|_| CampaignId::from_uuid(uuid::Uuid::now_v7()))
        .collect();
    for c in &campaigns {
        let series = [point(*c, t0 - Span::seconds(10), 4), point(*c, t0, 2)];
        let written = redis
            .write_live(&[totals(*c, 6)], &series, 100, now, ttl)
            .await
            .expect("write");
        assert_eq!(written, 1);
    }
    let c = campaigns[0];

    // An older version (a fenced owner, a replay) changes nothing, and a
    // point that counts fewer events does not replace the stored one.
    let stale = [point(c, t0, 1)];
    assert_eq!(
        redis
            .write_live(&[totals(c, 3)], &stale, 99, now, ttl)
            .await
            .expect("write"),
        0
    );
    let view = redis.read_live(c, now).await.expect("read");
    let live = view.totals.expect("totals");
    assert_eq!((live.counts.impressions, live.version), (6, 100));
    assert_eq!(
        view.series,
        [point(c, t0 - Span::seconds(10), 4), point(c, t0, 2)]
    );

    // A newer version and a point that grew replace them; a point from
    // before the window is not kept, and older points fall out of it.
    let later = now + Span::seconds(LIVE_WINDOW_SECS - 5);
    let series = [
        point(c, t0, 3),
        point(c, t0 - Span::seconds(LIVE_WINDOW_SECS + 60), 9),
        point(c, adpulse_domain::aggregate::live_point_start(later), 1),
    ];
    assert_eq!(
        redis
            .write_live(&[totals(c, 8)], &series, 101, later, ttl)
            .await
            .expect("write"),
        1
    );
    let view = redis.read_live(c, later).await.expect("read");
    assert_eq!(view.totals.expect("totals").counts.impressions, 8);
    assert_eq!(
        view.series,
        [
            point(c, t0, 3),
            point(c, adpulse_domain::aggregate::live_point_start(later), 1)
        ],
        "the point 10 s before t0 left the window; the one before it never entered"
    );

    // Every other campaign kept its own state.
    for other in &campaigns[1..] {
        let v = redis.read_live(*other, now).await.expect("read");
        assert_eq!(v.totals.expect("totals").counts.impressions, 6);
        assert_eq!(v.series.len(), 2);
    }
    // A campaign never written reads empty.
    let unknown = CampaignId::from_uuid(uuid::Uuid::now_v7());
    let v = redis.read_live(unknown, now).await.expect("read");
    assert_eq!((v.totals, v.series.len()), (None, 0));
    campaigns
}

/// On Redis, also: each campaign's two keys, and nothing else, under the
/// prefix.
async fn on_redis(server: Server) {
    let redis = connect(server).await;
    let campaigns = live_writes_apply_only_when_newer(&redis).await;
    assert_eq!(
        redis.delete_prefix().await.expect("cleanup"),
        2 * campaigns.len() as u64
    );
    let now = Utc::now();
    assert_eq!(
        redis
            .read_live(campaigns[0], now)
            .await
            .expect("read")
            .totals,
        None
    );
}

#[tokio::test]
async fn live_writes_apply_only_when_newer_on_one_server() {
    on_redis(Server::Redis).await;
}

#[tokio::test]
async fn live_writes_apply_only_when_newer_on_a_cluster() {
    let redis = connect(Server::RedisCluster).await;
    assert!(redis.is_cluster());
    on_redis(Server::RedisCluster).await;
}

#[tokio::test]
async fn live_writes_apply_only_when_newer_in_process() {
    let live = adpulse_embedded::MemoryLive::new();
    let campaigns = live_writes_apply_only_when_newer(&live).await;
    assert_eq!(campaigns.len(), 30);
}

/// In process, totals expire after their time to live like Redis keys do.
#[tokio::test]
async fn live_totals_expire_in_process() {
    let live = adpulse_embedded::MemoryLive::new();
    let c = CampaignId::from_uuid(uuid::Uuid::now_v7());
    let now = Utc::now();
    live.write_live(&[totals(c, 1)], &[], 1, now, Duration::from_millis(50))
        .await
        .expect("write");
    assert!(live.read_live(c, now).await.expect("read").totals.is_some());
    tokio::time::sleep(Duration::from_millis(80)).await;
    assert_eq!(live.read_live(c, now).await.expect("read").totals, None);
    // An expired version no longer guards: an older one may write again.
    assert_eq!(
        live.write_live(&[totals(c, 2)], &[], 0, now, Duration::from_secs(5))
            .await
            .expect("write"),
        1
    );
}
