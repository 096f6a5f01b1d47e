//! The worker against real Kafka, Cassandra, Postgres and Redis: what it
//! writes equals a reference computed from the events sent, resends count
//! once, and a restarted worker (dedup rebuilt from Kafka) stays exact.

mod common;

use adpulse_domain::ports::prelude::*;
use std::collections::BTreeSet;
use std::time::Duration;

use adpulse_cql::RawEvent;
use adpulse_domain::aggregate::AggregateBatch;
use adpulse_domain::{CampaignId, Event, TenantId};
use adpulse_kafka::Consumer;
use adpulse_kafka::partition::partition_for;
use adpulse_postgres::Commit;
use adpulse_testkit::Server;
use common::worker::{Env, Reference, env, env_embedded, env_on};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aggregates_match_the_reference_and_resends_count_once_across_restarts() {
    let env = env().await;
    let mut rng = fastrand::Rng::with_seed(7);
    let mut reference = Reference::default();
    let (sent, mut records) =
        round_1_with_duplicates_and_refusals(&env, &mut rng, &mut reference).await;
    env.run_worker_until(records).await;
    env.check(&reference).await;

    records += round_2_resends_to_a_new_worker(&env, &mut rng, &mut reference, &sent).await;
    env.run_worker_until(records).await;
    env.check(&reference).await;

    records += round_3_a_commit_without_its_redis_write(&env, &mut rng, &mut reference).await;
    env.run_worker_until(records).await;
    env.check(&reference).await;

    env.check_window_results(&reference).await;
    refused_records_are_rejected_with_reasons(&env).await;
    env.cleanup().await;
}

/// Round 1: distinct events, some sent twice, a record that is no event and
/// one older than retention; returns the events and the records sent.
async fn round_1_with_duplicates_and_refusals(
    env: &Env,
    rng: &mut fastrand::Rng,
    reference: &mut Reference,
) -> (Vec<Value>, i64) {
    let mut records = 0;

    // Round 1: 1,200 distinct events, 10% of them sent twice, plus a record
    // that is no event and one older than retention.
    let mut sent = Vec::new();
    for _ in 0..1_200 {
        let e = env.event(rng);
        env.send(&e).await;
        records += 1;
        if rng.u32(0..10) == 0 {
            env.send(&e).await;
            records += 1;
        }
        reference
            .events
            .insert(e["event_id"].as_str().expect("id").to_owned(), e.clone());
        sent.push(e);
    }
    let mut old = env.event(rng);
    old["occurred_at"] = json!((chrono::Utc::now() - chrono::Duration::days(40)).to_rfc3339());
    env.send(&old).await;
    records += 1;
    env.producer
        .send(
            &env.cfg.kafka.events_topic,
            env.campaigns[0].to_string().as_bytes(),
            b"not json",
            &[],
        )
        .await
        .expect("produce");
    records += 1;
    (sent, records)
}

/// Round 2: new events and resends of round 1's, for a new worker whose
/// dedup set is rebuilt; returns the records sent.
async fn round_2_resends_to_a_new_worker(
    env: &Env,
    rng: &mut fastrand::Rng,
    reference: &mut Reference,
    sent: &[Value],
) -> i64 {
    let mut records = 0;
    // Round 2, a new worker process: more events, and resends of round-1
    // events (inside the dedup horizon, so the rebuilt set must catch them).
    for _ in 0..300 {
        let e = env.event(rng);
        env.send(&e).await;
        records += 1;
        reference
            .events
            .insert(e["event_id"].as_str().expect("id").to_owned(), e);
    }
    for e in sent.iter().take(100) {
        env.send(e).await;
        records += 1;
    }
    records
}

/// Round 3: an event committed to Postgres and CQL but not Redis, which the
/// partition's next owner must repair; returns the records sent.
async fn round_3_a_commit_without_its_redis_write(
    env: &Env,
    rng: &mut fastrand::Rng,
    reference: &mut Reference,
) -> i64 {
    let mut records = 0;
    // Round 3: a worker that died after its Postgres commit and before its
    // Redis write. Simulated: one more event committed to Postgres (and CQL)
    // for campaign `stale` without touching Redis. The next owner of that
    // partition must repair the counters, though `stale` gets no new event
    // (only `busy`, on the same partition, does).
    let partition_of =
        |c: &CampaignId| partition_for(c.to_string().as_bytes(), common::worker::PARTITIONS);
    let (busy, stale) = env
        .campaigns
        .iter()
        .flat_map(|a| env.campaigns.iter().map(move |b| (*a, *b)))
        .find(|(a, b)| a != b && partition_of(a) == partition_of(b))
        .expect("two campaigns share a partition");
    let mut lost = env.event(rng);
    lost["campaign_id"] = json!(stale.to_string());
    // Recent, so the repair must also rewrite its live-series point.
    lost["occurred_at"] = json!(
        (chrono::Utc::now() - chrono::Duration::seconds(10))
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    );
    let event: Event = serde_json::from_value(lost.clone()).expect("event");
    let tenant = TenantId::from_uuid(env.tenant);
    let mut claim = env
        .db
        .claim_partition(
            &env.cfg.worker.group_id,
            &env.cfg.kafka.events_topic,
            partition_of(&stale),
        )
        .await
        .expect("claim");
    let mut batch = AggregateBatch::default();
    batch
        .add(&event, tenant, chrono_tz::Tz::UTC)
        .expect("sums fit");
    let next = claim.next_offset;
    assert!(matches!(
        env.db
            .commit_batch(&mut claim, next, &batch)
            .await
            .expect("commit"),
        Commit::Applied(_)
    ));
    let writer = env.cql.raw_event_writer().await.expect("writer");
    let raw = RawEvent {
        event,
        tenant,
        ingested_at: chrono::Utc::now(),
    };
    env.cql
        .write_raw_events(&writer, &[raw], 3600, 1)
        .await
        .expect("raw row");
    reference
        .events
        .insert(lost["event_id"].as_str().expect("id").to_owned(), lost);
    let mut nudge = env.event(rng);
    nudge["campaign_id"] = json!(busy.to_string());
    env.send(&nudge).await;
    records += 1;
    reference
        .events
        .insert(nudge["event_id"].as_str().expect("id").to_owned(), nudge);
    records
}

/// The refused records are on the rejected topic with their reasons.
async fn refused_records_are_rejected_with_reasons(env: &Env) {
    // The refused records are on the rejected topic with their reasons.
    let consumer = Consumer::from_beginning(&env.cfg.kafka, &env.cfg.kafka.rejected_topic, 1)
        .expect("consumer");
    let mut codes = BTreeSet::new();
    while codes.len() < 2 {
        let r = consumer
            .recv(Duration::from_secs(30))
            .await
            .expect("consume")
            .expect("a rejected row");
        let v: Value = serde_json::from_slice(r.payload.as_deref().expect("value")).expect("json");
        codes.insert(v["code"].as_str().expect("code").to_owned());
    }
    assert_eq!(
        codes,
        BTreeSet::from(["too_old".to_owned(), "undecodable".to_owned()])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_counters_and_series_are_exact_on_a_redis_cluster() {
    let env = env_on(Server::RedisCluster).await;
    assert!(env.redis.is_cluster());
    let mut rng = fastrand::Rng::with_seed(11);
    let (mut reference, mut records) = (Reference::default(), 0i64);
    // Five people seen with a device and a login: the worker teaches
    // frequency capping that each device is that person (within the
    // tenant).
    for i in 0..5 {
        let mut e = env.event(&mut rng);
        e["user"] = json!({"device_id": format!("linked-d-{i}"), "login_id": format!("u-{i}")});
        env.send(&e).await;
        records += 1;
        reference
            .events
            .insert(e["event_id"].as_str().expect("id").to_owned(), e);
    }
    for _ in 0..600 {
        let e = env.event(&mut rng);
        env.send(&e).await;
        records += 1;
        if rng.u32(0..10) == 0 {
            env.send(&e).await;
            records += 1;
        }
        reference
            .events
            .insert(e["event_id"].as_str().expect("id").to_owned(), e);
    }
    env.run_worker_until(records).await;
    env.check(&reference).await;
    let weak: Vec<String> = (0..5)
        .map(|i| format!("d:linked-d-{i}#{}", env.tenant))
        .chain([format!("d:d-1#{}", env.tenant)])
        .collect();
    let linked = env.redis.linked(&weak).await.expect("links");
    let expected: Vec<Option<String>> = (0..5)
        .map(|i| Some(format!("l:u-{i}#{}", env.tenant)))
        .chain([None])
        .collect();
    assert_eq!(linked, expected, "links learned from ingested events");
    env.cleanup().await;
}

/// The same worker reading the embedded event log (`LocalSource`) into the
/// same sinks: exact, resends counted once, and a restarted worker resumes
/// from the hints it left in the log's folder.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worker_on_the_embedded_log_is_exact_across_restarts() {
    let env = env_embedded().await;
    let mut rng = fastrand::Rng::with_seed(11);
    let mut reference = Reference::default();
    let mut records = 0i64;
    for round in 0..2 {
        for _ in 0..600 {
            let e = env.event(&mut rng);
            env.send(&e).await;
            records += 1;
            if rng.u32(0..10) == 0 {
                env.send(&e).await;
                records += 1;
            }
            reference
                .events
                .insert(e["event_id"].as_str().expect("id").to_owned(), e.clone());
        }
        env.run_worker_until(records).await;
        env.check(&reference).await;
        assert_eq!(env.applied_offsets().await, records, "round {round}");
    }
    if let Some((_, dir)) = &env.local {
        let _ = std::fs::remove_dir_all(dir);
    }
}
