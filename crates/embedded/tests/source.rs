//! `LocalSource::recv` may be dropped half way (the worker selects on it
//! beside finished flushes and ticks): no record is lost or handed twice
//! however often that happens.

use std::collections::BTreeSet;
use std::time::Duration;

use adpulse_domain::ports::{EventLog as _, EventSource as _, LogRecord, Stream};
use adpulse_embedded::{LocalLog, LocalLogConfig, LocalSource};

#[tokio::test]
async fn a_dropped_recv_loses_nothing() {
    let dir = std::env::temp_dir().join(format!("adpulse-source-{}", uuid_like()));
    let log = LocalLog::open(&LocalLogConfig::new(&dir)).expect("open");
    let source = LocalSource::new(&log, &dir, "g").expect("source");
    let total = 6_000usize;
    // Records arrive while the worker side reads, so recv often has to
    // wait for the next batch (and is dropped then).
    let producer = {
        let log = log.clone();
        tokio::spawn(async move {
            for chunk in 0..(total / 250) {
                let batch: Vec<LogRecord> = (0..250)
                    .map(|i| LogRecord {
                        stream: Stream::Events,
                        key: format!("campaign-{}", (chunk * 250 + i) % 37).into_bytes(),
                        payload: format!("{}", chunk * 250 + i).into_bytes(),
                        headers: Vec::new(),
                    })
                    .collect();
                assert!(log.append(batch).await.iter().all(Result::is_ok));
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        })
    };
    let mut seen = BTreeSet::new();
    let mut interrupted = 0u32;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while seen.len() < total {
        assert!(
            std::time::Instant::now() < deadline,
            "only {} of {total} records came",
            seen.len()
        );
        // A competing branch ready on its second poll: whenever recv has to
        // wait, it is dropped half way.
        tokio::select! {
            biased;
            r = source.recv(Duration::from_millis(200)) => {
                if let Some(r) = r.expect("recv") {
                    assert!(seen.insert((r.partition, r.offset)), "handed twice: {r:?}");
                }
            }
            () = tokio::task::yield_now() => interrupted += 1,
        }
    }
    producer.await.expect("producer");
    assert!(interrupted > 0, "the test must actually drop some calls");
    assert_eq!(seen.len(), total);
    assert!(
        source
            .recv(Duration::from_millis(50))
            .await
            .expect("recv")
            .is_none()
    );
    drop(source);
    drop(log);
    let _ = std::fs::remove_dir_all(&dir);
}

fn uuid_like() -> String {
    format!(
        "{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    )
}
