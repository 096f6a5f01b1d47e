//! The embedded event log on real files: order and partitioning, segments,
//! reopening, a torn tail cut on recovery, and kill -9 in the middle of a
//! load losing no acknowledged record.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead as _, Write as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use adpulse_domain::ports::{EventLog, LogRecord, Stream};
use adpulse_embedded::log::{LocalLog, LocalLogConfig, partition_for};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "adpulse-log-{name}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    ));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn record(key: &str, payload: &str) -> LogRecord {
    LogRecord {
        stream: Stream::Events,
        key: key.as_bytes().to_vec(),
        payload: payload.as_bytes().to_vec(),
        headers: vec![("tenant", b"t-1".to_vec())],
    }
}

fn small(dir: &Path) -> LocalLogConfig {
    LocalLogConfig {
        dir: dir.to_owned(),
        partitions: 3,
        segment_bytes: 1024,
    }
}

/// Every record of every events partition, by partition, checking offsets
/// run from 0 without gaps.
fn read_all(log: &LocalLog) -> BTreeMap<u32, Vec<(String, String)>> {
    let mut out = BTreeMap::new();
    for p in 0..log.partitions(Stream::Events) {
        let mut reader = log.reader(Stream::Events, p, 0).expect("reader");
        let mut rows = Vec::new();
        loop {
            let batch = reader.read(1000).expect("read");
            if batch.is_empty() {
                break;
            }
            for r in batch {
                assert_eq!(r.offset, rows.len() as u64, "partition {p} offsets");
                rows.push((
                    String::from_utf8(r.key).expect("key"),
                    String::from_utf8(r.payload).expect("payload"),
                ));
            }
        }
        assert_eq!(
            reader.position(),
            log.end_offset(Stream::Events, p).expect("end")
        );
        out.insert(p, rows);
    }
    out
}

#[tokio::test]
async fn records_keep_their_key_order_across_segments_and_reopening() {
    let dir = scratch("order");
    {
        let log = LocalLog::open(&small(&dir)).expect("open");
        for round in 0..20 {
            let batch: Vec<_> = (0..30)
                .map(|i| record(&format!("c{}", i % 7), &format!("r{round}-{i}")))
                .collect();
            let results = log.append(batch).await;
            assert!(results.iter().all(Result::is_ok), "{results:?}");
        }
        assert_eq!(log.in_flight(), 0);
    }
    // 600 records of ~70 bytes in 1 KiB segments: several per partition.
    let segments = std::fs::read_dir(dir.join("events/0"))
        .expect("partition dir")
        .count();
    assert!(segments > 2, "{segments} segments");
    // Reopened: everything reads back, each key in one partition, in order.
    let log = LocalLog::open(&small(&dir)).expect("reopen");
    let all = read_all(&log);
    assert_eq!(all.values().map(Vec::len).sum::<usize>(), 600);
    for (p, rows) in &all {
        for (key, _) in rows {
            assert_eq!(partition_for(key.as_bytes(), 3), *p, "{key}");
        }
    }
    let c3: Vec<&str> = all
        .values()
        .flatten()
        .filter(|(k, _)| k == "c3")
        .map(|(_, v)| v.as_str())
        .collect();
    let mut want = Vec::new();
    for round in 0..20 {
        for i in (0..30).filter(|i| i % 7 == 3) {
            want.push(format!("r{round}-{i}"));
        }
    }
    assert_eq!(c3, want.iter().map(String::as_str).collect::<Vec<_>>());
    // Appends continue after the last offset.
    assert!(log.append(vec![record("c3", "after")]).await[0].is_ok());
    let p = partition_for(b"c3", 3);
    let mut reader = log.reader(Stream::Events, p, 0).expect("reader");
    let before = all[&p].len() as u64;
    let mut last = None;
    loop {
        let batch = reader.read(100).expect("read");
        if batch.is_empty() {
            break;
        }
        last = batch.last().cloned();
    }
    let last = last.expect("records");
    assert_eq!((last.offset, last.payload), (before, b"after".to_vec()));
    // A reader from the middle starts exactly there.
    let mut mid = log.reader(Stream::Events, p, 17).expect("reader");
    assert_eq!(mid.read(1).expect("read")[0].offset, 17);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_torn_tail_is_cut_and_the_log_goes_on() {
    let dir = scratch("torn");
    let cfg = LocalLogConfig {
        dir: dir.clone(),
        partitions: 1,
        segment_bytes: 1 << 20,
    };
    {
        let log = LocalLog::open(&cfg).expect("open");
        let batch: Vec<_> = (0..10).map(|i| record("k", &format!("v{i}"))).collect();
        assert!(log.append(batch).await.iter().all(Result::is_ok));
    }
    let segment = dir.join("events/0/00000000000000000000.seg");
    let whole = std::fs::metadata(&segment).expect("segment").len();
    // A crash in the middle of the next write: half a frame at the end.
    {
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&segment)
            .expect("segment");
        f.write_all(&[40, 0, 0, 0, 1, 2, 3, 4, 9, 9, 9])
            .expect("torn write");
    }
    let log = LocalLog::open(&cfg).expect("reopen");
    assert_eq!(
        std::fs::metadata(&segment).expect("segment").len(),
        whole,
        "cut back to the last whole frame"
    );
    assert_eq!(log.end_offset(Stream::Events, 0).expect("end"), 10);
    assert!(log.append(vec![record("k", "v10")]).await[0].is_ok());
    let rows = read_all(&log);
    let payloads: Vec<&str> = rows[&0].iter().map(|(_, v)| v.as_str()).collect();
    let want: Vec<String> = (0..11).map(|i| format!("v{i}")).collect();
    assert_eq!(
        payloads,
        want.iter().map(String::as_str).collect::<Vec<_>>()
    );
    // A flipped byte inside the last frame is caught by its checksum.
    drop(log);
    let mut bytes = std::fs::read(&segment).expect("read");
    let n = bytes.len();
    bytes[n - 2] ^= 0xff;
    std::fs::write(&segment, &bytes).expect("write");
    let log = LocalLog::open(&cfg).expect("reopen");
    assert_eq!(log.end_offset(Stream::Events, 0).expect("end"), 10);
    let _ = std::fs::remove_dir_all(&dir);
}

const CHILD: &str = "ADPULSE_LOG_CRASH_CHILD";

/// As the child (this same test binary, started with `CHILD` set): four
/// tasks append batches as fast as they are acknowledged and print what
/// was acknowledged. As the parent: kill -9 the child mid-load, reopen the
/// log, and find every acknowledged record exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_load_loses_no_acknowledged_record() {
    if let Ok(dir) = std::env::var(CHILD) {
        let log = LocalLog::open(&small(Path::new(&dir))).expect("open");
        let mut tasks = Vec::new();
        for t in 0..4 {
            let log = log.clone();
            tasks.push(tokio::spawn(async move {
                for b in 0u64.. {
                    let batch: Vec<_> = (0..25)
                        .map(|i| record(&format!("c{}", (b + i) % 11), &format!("t{t}-b{b}-{i}")))
                        .collect();
                    if log.append(batch).await.iter().all(Result::is_ok) {
                        let mut out = std::io::stdout().lock();
                        let _ = writeln!(out, "acked t{t}-b{b}");
                        let _ = out.flush();
                    }
                }
            }));
        }
        for t in tasks {
            let _ = t.await;
        }
        return;
    }
    let dir = scratch("kill9");
    let mut child = std::process::Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "kill_9_mid_load_loses_no_acknowledged_record",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, &dir)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("child");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(batch) = line.strip_prefix("acked ") {
                let _ = tx.send(batch.to_owned());
            }
        }
    });
    let mut acked = BTreeSet::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while acked.len() < 1000 && std::time::Instant::now() < deadline {
        if let Ok(b) = rx.recv_timeout(Duration::from_millis(100)) {
            acked.insert(b);
        }
    }
    assert!(
        acked.len() >= 1000,
        "the child acknowledged only {} batches",
        acked.len()
    );
    child.kill().expect("kill -9");
    let _ = child.wait();
    // Acknowledgements printed before the kill landed still count.
    while let Ok(b) = rx.try_recv() {
        acked.insert(b);
    }

    let log = LocalLog::open(&small(&dir)).expect("reopen after kill");
    let all = read_all(&log);
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for (_, payload) in all.values().flatten() {
        *seen.entry(payload.clone()).or_default() += 1;
    }
    assert!(seen.values().all(|n| *n == 1), "a record is stored twice");
    for batch in &acked {
        for i in 0..25 {
            assert!(
                seen.contains_key(&format!("{batch}-{i}")),
                "acknowledged {batch}-{i} lost"
            );
        }
    }
    // Still appendable after recovery.
    assert!(log.append(vec![record("c1", "after")]).await[0].is_ok());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn consumed_segments_are_deleted_and_readers_start_at_the_oldest_kept() {
    let dir = scratch("retention");
    let log = LocalLog::open(&LocalLogConfig {
        dir: dir.clone(),
        partitions: 1,
        segment_bytes: 1024,
    })
    .expect("open");
    for round in 0..20 {
        let batch: Vec<_> = (0..10)
            .map(|i| record("c", &format!("r{round}-{i}-{}", "x".repeat(40))))
            .collect();
        assert!(log.append(batch).await.iter().all(Result::is_ok));
    }
    let end = log.end_offset(Stream::Events, 0).expect("end");
    assert_eq!(end, 200);
    let segments = |d: &Path| {
        std::fs::read_dir(d.join("events").join("0"))
            .expect("dir")
            .count()
    };
    let before = segments(&dir);
    assert!(before > 3, "small segments roll: {before}");

    // Nothing below offset 0: nothing goes.
    assert_eq!(log.delete_before(Stream::Events, 0, 0).expect("none"), 0);
    let deleted = log.delete_before(Stream::Events, 0, 150).expect("delete");
    assert!(deleted > 0);
    assert_eq!(segments(&dir), before - deleted);
    // Every record from 150 on is still there, in order.
    let mut reader = log.reader(Stream::Events, 0, 150).expect("reader");
    let rest = reader.read(1000).expect("read");
    assert_eq!(rest.first().map(|r| r.offset), Some(150));
    assert_eq!(rest.len(), 50);
    // A reader asked for a deleted offset starts at the oldest record kept,
    // which is at or below 150 (only whole segments go).
    let mut from_zero = log.reader(Stream::Events, 0, 0).expect("reader");
    let first = from_zero.read(1).expect("read");
    let oldest = first.first().map(|r| r.offset).expect("a record");
    assert!(oldest > 0 && oldest <= 150, "oldest kept {oldest}");

    // Everything consumed: all but the segment being written go, and
    // appending goes on at the next offset.
    log.delete_before(Stream::Events, 0, end).expect("all");
    assert_eq!(segments(&dir), 1);
    assert!(log.append(vec![record("c", "after")]).await[0].is_ok());
    let mut tail = log.reader(Stream::Events, 0, end).expect("reader");
    assert_eq!(tail.read(10).expect("read")[0].offset, end);

    // Streams nobody consumes go by age.
    for i in 0..30 {
        let mut r = record("k", &format!("{i}-{}", "y".repeat(60)));
        r.stream = Stream::Rejected;
        assert!(log.append(vec![r]).await[0].is_ok());
    }
    let rejected = || {
        std::fs::read_dir(dir.join("rejected").join("0"))
            .expect("dir")
            .count()
    };
    let closed = rejected() - 1;
    assert!(closed > 0);
    assert_eq!(
        log.delete_older_than(Stream::Rejected, Duration::from_secs(3600))
            .expect("young"),
        0
    );
    assert_eq!(
        log.delete_older_than(Stream::Rejected, Duration::ZERO)
            .expect("old"),
        closed
    );
    assert_eq!(rejected(), 1);
    drop(log);
    let _ = std::fs::remove_dir_all(&dir);
}
