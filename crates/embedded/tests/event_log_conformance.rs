//! One suite for the event log's two ports (`EventLog` to append,
//! `EventSource` to consume as a group member), run against Kafka (on the
//! local stack) and against the embedded log. The same assertions must hold
//! on both: every append is answered per record in input order; every
//! record comes back exactly once, each key's records in append order and
//! on one partition; the end offsets count what was appended; a new member
//! resumes at the hints the previous one left.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use adpulse_domain::ports::{ConsumedRecord, EventLog, EventSource, LogRecord, Stream};

fn record(key: &str, payload: String) -> LogRecord {
    LogRecord {
        stream: Stream::Events,
        key: key.as_bytes().to_vec(),
        payload: payload.into_bytes(),
        headers: vec![("tenant_id", b"t".to_vec())],
    }
}

/// Reads until `want` records came or 30 s passed, taking the assignment.
async fn consume(source: &impl EventSource, want: usize) -> Vec<ConsumedRecord> {
    let mut got = Vec::new();
    let until = Instant::now() + Duration::from_secs(30);
    while got.len() < want && Instant::now() < until {
        if let Some(r) = source.recv(Duration::from_millis(200)).await.expect("recv") {
            got.push(r);
        }
        source.take_assigned();
    }
    got
}

/// The suite, on a fresh log (`log`, `first`) and a way to start a second
/// member of the same group after the first left (`second`).
async fn suite<L, S, F, Fut>(log: L, first: S, second: F)
where
    L: EventLog,
    S: EventSource,
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = S>,
{
    // 300 records over 12 keys, in 3 appends.
    let mut sent = 0;
    for round in 0..3 {
        let batch: Vec<_> = (0..100)
            .map(|i| record(&format!("campaign-{}", i % 12), format!("r{round}-{i}")))
            .collect();
        let results = log.append(batch).await;
        assert_eq!(results.len(), 100);
        assert!(results.iter().all(Result::is_ok), "{results:?}");
        sent += 100;
    }
    assert!(log.ready().await);
    log.flush(Duration::from_secs(10)).await.expect("flush");
    assert_eq!(log.in_flight(), 0);

    let got = consume(&first, sent).await;
    assert_eq!(got.len(), sent, "every record, once");
    let partitions = first.partition_count().expect("partition count");
    assert!(partitions >= 2);
    let mut by_key: BTreeMap<Vec<u8>, (i32, Vec<String>)> = BTreeMap::new();
    let mut last_offset: BTreeMap<i32, i64> = BTreeMap::new();
    for r in &got {
        let e = by_key
            .entry(r.key.clone().expect("key"))
            .or_insert((r.partition, Vec::new()));
        assert_eq!(e.0, r.partition, "a key on one partition");
        e.1.push(String::from_utf8(r.payload.clone().expect("payload")).expect("utf8"));
        assert_eq!(r.header("tenant_id"), Some(&b"t"[..]));
        // Offsets grow within a partition.
        if let Some(prev) = last_offset.insert(r.partition, r.offset) {
            assert!(r.offset > prev, "partition {} offsets", r.partition);
        }
    }
    for k in 0..12 {
        let (_, payloads) = &by_key[format!("campaign-{k}").as_bytes()];
        let want: Vec<String> = (0..3)
            .flat_map(|round| {
                (0..100)
                    .filter(move |i| i % 12 == k)
                    .map(move |i| format!("r{round}-{i}"))
            })
            .collect();
        assert_eq!(payloads, &want, "campaign-{k} in append order");
    }
    // End offsets: within a few seconds, every partition's end is past its
    // last record (a member learns them while it polls, as a worker does).
    let until = Instant::now() + Duration::from_secs(15);
    loop {
        assert!(
            first
                .recv(Duration::from_millis(100))
                .await
                .expect("recv")
                .is_none(),
            "nothing more to read"
        );
        let caught_up = last_offset
            .iter()
            .all(|(p, last)| first.high_watermark(*p).is_some_and(|h| h > *last));
        if caught_up || Instant::now() > until {
            assert!(caught_up, "end offsets known");
            break;
        }
    }

    // Hints: the first member remembers the position after its records on
    // one partition and leaves; a new member resumes there.
    let (hinted, _) = last_offset
        .iter()
        .next()
        .map(|(p, o)| (*p, *o))
        .expect("a partition");
    for (p, last) in &last_offset {
        first.commit_hint(*p, last + 1).expect("hint");
    }
    // Kafka commits hints asynchronously; give them a moment to land.
    tokio::time::sleep(Duration::from_secs(1)).await;
    first.leave();
    drop(first);
    let batch = vec![record("campaign-0", "after".into())];
    assert!(log.append(batch).await[0].is_ok());
    let second = second().await;
    let again = consume(&second, 1).await;
    assert_eq!(again.len(), 1, "only what came after the hints");
    assert_eq!(again[0].payload.as_deref(), Some(&b"after"[..]));
    let _ = hinted;
    second.leave();
}

mod embedded {
    use super::suite;
    use adpulse_embedded::{LocalLog, LocalLogConfig, LocalSource};

    #[tokio::test]
    async fn event_log_conformance() {
        let dir = std::env::temp_dir().join(format!(
            "adpulse-conformance-{}-{}",
            std::process::id(),
            adpulse_testkit::unique_name("log")
        ));
        let log = LocalLog::open(&LocalLogConfig::new(&dir)).expect("open");
        let first = LocalSource::new(&log, &dir, "workers").expect("source");
        let (log2, dir2) = (log.clone(), dir.clone());
        suite(log.clone(), first, move || async move {
            LocalSource::new(&log2, &dir2, "workers").expect("source")
        })
        .await;
        drop(log);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

mod kafka {
    use super::suite;
    use adpulse_config::KafkaConfig;
    use adpulse_kafka::{Admin, GroupConsumer, KafkaEventLog};
    use adpulse_testkit::{Server, unique_name};

    #[tokio::test]
    async fn event_log_conformance() {
        let cfg = KafkaConfig {
            brokers: Server::Kafka.require(),
            events_topic: unique_name("conformance"),
            ..KafkaConfig::default()
        };
        let admin = Admin::new(&cfg).expect("admin");
        if let Err(e) = admin.ensure_topic(&cfg.events_topic, 4, 1).await {
            Server::Kafka.absent(&e.to_string());
        }
        let log = KafkaEventLog::new(&cfg).expect("producer");
        let group = unique_name("workers");
        let first = GroupConsumer::new(&cfg, &group, &cfg.events_topic).expect("consumer");
        let cfg2 = cfg.clone();
        suite(log, first, move || async move {
            GroupConsumer::new(&cfg2, &group, &cfg2.events_topic).expect("consumer")
        })
        .await;
        let _ = admin.delete_topic(&cfg.events_topic).await;
    }
}
