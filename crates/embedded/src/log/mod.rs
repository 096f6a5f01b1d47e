//! The embedded event log: Kafka's guarantees for one process, in files.
//!
//! Each stream (events, rejected, campaign metrics) has partitions; a
//! record goes to the partition its key hashes to (as Kafka places it), so
//! one campaign's events stay in order. A partition is a folder of segment files named by
//! the offset of their first record (`00000000000000000000.seg`), rolled
//! past [`LocalLogConfig::segment_bytes`].
//!
//! **Durability**: one writer thread per partition takes every append
//! waiting for it, writes their frames, calls `fdatasync` once and only
//! then resolves them (group commit: the cost of a sync is shared by
//! everything that queued behind it). Readers see records up to the last
//! synced offset, never further, so nothing is processed that a crash
//! could take back.
//!
//! **Recovery**: each frame is `[body length u32][CRC-32C of body u32]
//! [body]`, the body carrying its own offset. On open, the last segment of
//! each partition is scanned and cut at the first frame that is short,
//! fails its checksum or breaks the offset sequence: a write torn by a
//! crash. Everything acknowledged was synced before it, so it survives.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use adpulse_domain::ports::{EventLog, LogRecord, PortError, Stream};

use frame::{recover, segment_path, segments};
pub use reader::Reader;
use writer::Writer;

// The file format (frames, segments, recovery), the writer threads and the
// readers each have a module; this one is the log as the ports see it.
mod frame;
mod reader;
mod writer;

const STREAMS: [Stream; 3] = [Stream::Events, Stream::Rejected, Stream::CampaignMetrics];

/// Where the log lives and how it is cut.
#[derive(Clone, Debug)]
pub struct LocalLogConfig {
    /// The log's folder (created if missing).
    pub dir: PathBuf,
    /// Partitions of the events stream (the others have one). Fixed once
    /// the log exists: a different number would move keys.
    pub partitions: u32,
    /// A segment is closed and a new one started past this size.
    pub segment_bytes: u64,
}

impl LocalLogConfig {
    /// Defaults for `dir`: 4 event partitions, 128 MiB segments.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            partitions: 4,
            segment_bytes: 128 << 20,
        }
    }
}

/// What can go wrong with the log's files.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// Reading or writing a file failed.
    #[error("event log {path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// A synced frame does not read back (not a torn tail: damage).
    #[error("event log {path}: damaged frame at byte {at}: {why}")]
    Corrupt {
        /// The segment.
        path: PathBuf,
        /// Byte position of the frame.
        at: u64,
        /// What did not match.
        why: &'static str,
    },
    /// No such stream partition.
    #[error("event log has no partition {partition} in {stream}")]
    NoPartition {
        /// The stream's folder name.
        stream: &'static str,
        /// The partition asked for.
        partition: u32,
    },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> LogError + '_ {
    move |source| LogError::Io {
        path: path.to_owned(),
        source,
    }
}

/// A record as stored, with its place in the partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredRecord {
    /// Position in the partition, from 0, without gaps.
    pub offset: u64,
    /// Milliseconds since the epoch when the record was appended.
    pub appended_at_ms: i64,
    /// The partitioning key.
    pub key: Vec<u8>,
    /// Headers, in the order given.
    pub headers: Vec<(String, Vec<u8>)>,
    /// The value.
    pub payload: Vec<u8>,
}

/// The embedded event log. Cheap to clone; the writer threads stop when
/// the last clone is dropped, after finishing what was queued.
#[derive(Clone)]
pub struct LocalLog {
    inner: Arc<Inner>,
}

struct Inner {
    streams: Vec<Vec<Partition>>,
    in_flight: AtomicUsize,
    writers: Vec<JoinHandle<()>>,
}

struct Partition {
    dir: PathBuf,
    name: String,
    queue: Option<mpsc::Sender<Pending>>,
    /// Every offset below this is synced.
    durable: Arc<AtomicU64>,
    stopped: Arc<AtomicBool>,
}

struct Pending {
    records: Vec<LogRecord>,
    done: tokio::sync::oneshot::Sender<Result<(), String>>,
}

fn stream_dir(stream: Stream) -> &'static str {
    match stream {
        Stream::Events => "events",
        Stream::Rejected => "rejected",
        Stream::CampaignMetrics => "campaign-metrics",
    }
}

fn stream_index(stream: Stream) -> usize {
    match stream {
        Stream::Events => 0,
        Stream::Rejected => 1,
        Stream::CampaignMetrics => 2,
    }
}

/// The partition `key` belongs to: Kafka's placement
/// ([`adpulse_domain::partition`]), so a campaign has the same partition
/// number in both modes.
pub fn partition_for(key: &[u8], partitions: u32) -> u32 {
    let n = i32::try_from(partitions.max(1)).unwrap_or(i32::MAX);
    u32::try_from(adpulse_domain::partition::partition_for(key, n)).unwrap_or(0)
}

impl LocalLog {
    /// Opens (or creates) the log in `cfg.dir`, cutting any torn tail, and
    /// starts one writer thread per partition.
    pub fn open(cfg: &LocalLogConfig) -> Result<Self, LogError> {
        let mut streams = Vec::with_capacity(STREAMS.len());
        let mut writers = Vec::new();
        for stream in STREAMS {
            let count = if stream == Stream::Events {
                cfg.partitions.max(1)
            } else {
                1
            };
            let mut parts = Vec::with_capacity(count as usize);
            for p in 0..count {
                let dir = cfg.dir.join(stream_dir(stream)).join(p.to_string());
                fs::create_dir_all(&dir).map_err(io_err(&dir))?;
                let tail = recover(&dir)?;
                let durable = Arc::new(AtomicU64::new(tail.next_offset));
                let stopped = Arc::new(AtomicBool::new(false));
                let (tx, rx) = mpsc::channel();
                let name = format!("{}/{p}", stream_dir(stream));
                let writer = Writer {
                    dir: dir.clone(),
                    file: tail.file,
                    segment_len: tail.len,
                    next_offset: tail.next_offset,
                    segment_bytes: cfg.segment_bytes,
                    durable: durable.clone(),
                    stopped: stopped.clone(),
                };
                let handle = std::thread::Builder::new()
                    .name(format!("log-{}-{p}", stream_dir(stream)))
                    .spawn(move || writer.run(&rx))
                    .map_err(io_err(&dir))?;
                writers.push(handle);
                parts.push(Partition {
                    dir,
                    name,
                    queue: Some(tx),
                    durable,
                    stopped,
                });
            }
            streams.push(parts);
        }
        Ok(Self {
            inner: Arc::new(Inner {
                streams,
                in_flight: AtomicUsize::new(0),
                writers,
            }),
        })
    }

    /// Partitions of `stream`.
    pub fn partitions(&self, stream: Stream) -> u32 {
        u32::try_from(self.inner.streams[stream_index(stream)].len()).unwrap_or(u32::MAX)
    }

    fn partition(&self, stream: Stream, partition: u32) -> Result<&Partition, LogError> {
        self.inner.streams[stream_index(stream)]
            .get(partition as usize)
            .ok_or(LogError::NoPartition {
                stream: stream_dir(stream),
                partition,
            })
    }

    /// The offset the next synced record of a partition will have: every
    /// record below it can be read.
    pub fn end_offset(&self, stream: Stream, partition: u32) -> Result<u64, LogError> {
        Ok(self
            .partition(stream, partition)?
            .durable
            .load(Ordering::Acquire))
    }

    /// Deletes the closed segments of a partition that hold only records
    /// below `offset` (the consumer no longer needs them); the segment being
    /// written is always kept. Returns how many were deleted. Blocking file
    /// IO. A reader still inside a deleted segment reads it to its end (the
    /// file lives on while open).
    pub fn delete_before(
        &self,
        stream: Stream,
        partition: u32,
        offset: u64,
    ) -> Result<usize, LogError> {
        let dir = &self.partition(stream, partition)?.dir;
        let bases = segments(dir)?;
        let mut deleted = 0;
        // A segment ends where the next one starts.
        for pair in bases.windows(2) {
            if pair[1] <= offset {
                let path = segment_path(dir, pair[0]);
                fs::remove_file(&path).map_err(io_err(&path))?;
                deleted += 1;
            }
        }
        Ok(deleted)
    }

    /// Deletes the closed segments of every partition of `stream` last
    /// written more than `age` ago (streams nobody in the process
    /// consumes: rejected events, window results). Blocking file IO.
    pub fn delete_older_than(&self, stream: Stream, age: Duration) -> Result<usize, LogError> {
        let mut deleted = 0;
        for p in &self.inner.streams[stream_index(stream)] {
            let bases = segments(&p.dir)?;
            for base in bases.iter().take(bases.len().saturating_sub(1)) {
                let path = segment_path(&p.dir, *base);
                let modified = fs::metadata(&path)
                    .and_then(|m| m.modified())
                    .map_err(io_err(&path))?;
                if modified.elapsed().is_ok_and(|e| e > age) {
                    fs::remove_file(&path).map_err(io_err(&path))?;
                    deleted += 1;
                }
            }
        }
        Ok(deleted)
    }

    /// A reader of one partition from `from` on (blocking file IO: call it
    /// off the async runtime, e.g. in `spawn_blocking`).
    pub fn reader(&self, stream: Stream, partition: u32, from: u64) -> Result<Reader, LogError> {
        let p = self.partition(stream, partition)?;
        Reader::open(p.dir.clone(), p.durable.clone(), from)
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        for stream in &mut self.streams {
            for p in stream {
                p.queue.take();
            }
        }
        for w in self.writers.drain(..) {
            let _ = w.join();
        }
    }
}

#[async_trait::async_trait]
impl EventLog for LocalLog {
    async fn append(&self, records: Vec<LogRecord>) -> Vec<Result<(), PortError>> {
        let n = records.len();
        // Group by partition, remembering each record's place in the input.
        let mut groups: BTreeMap<(usize, u32), (Vec<usize>, Vec<LogRecord>)> = BTreeMap::new();
        for (i, r) in records.into_iter().enumerate() {
            let s = stream_index(r.stream);
            let count = u32::try_from(self.inner.streams[s].len()).unwrap_or(1);
            let g = groups.entry((s, partition_for(&r.key, count))).or_default();
            g.0.push(i);
            g.1.push(r);
        }
        self.inner.in_flight.fetch_add(n, Ordering::AcqRel);
        let mut waits = Vec::with_capacity(groups.len());
        for ((s, p), (places, recs)) in groups {
            let part = &self.inner.streams[s][p as usize];
            let count = recs.len();
            let (done, wait) = tokio::sync::oneshot::channel();
            let sent = part.queue.as_ref().map(|q| {
                q.send(Pending {
                    records: recs,
                    done,
                })
            });
            waits.push((places, count, part.name.clone(), sent, wait));
        }
        let mut out: Vec<Result<(), PortError>> = (0..n).map(|_| Ok(())).collect();
        for (places, count, name, sent, wait) in waits {
            let result = match sent {
                Some(Ok(())) => match wait.await {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(e)) => Err(PortError::retryable(e)),
                    Err(_) => Err(PortError::retryable(format!(
                        "event log partition {name} stopped before syncing"
                    ))),
                },
                _ => Err(PortError::retryable(format!(
                    "event log partition {name} is closed"
                ))),
            };
            self.inner.in_flight.fetch_sub(count, Ordering::AcqRel);
            for i in places {
                out[i] = result.clone();
            }
        }
        out
    }

    async fn ready(&self) -> bool {
        self.inner
            .streams
            .iter()
            .flatten()
            .all(|p| !p.stopped.load(Ordering::Acquire))
    }

    fn in_flight(&self) -> usize {
        self.inner.in_flight.load(Ordering::Acquire)
    }

    async fn flush(&self, timeout: Duration) -> Result<(), PortError> {
        let until = Instant::now() + timeout;
        while self.in_flight() > 0 {
            if Instant::now() >= until {
                return Err(PortError::retryable(format!(
                    "{} records still unsynced after {timeout:?}",
                    self.in_flight()
                )));
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        Ok(())
    }
}

impl std::fmt::Debug for LocalLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalLog")
            .field("in_flight", &self.in_flight())
            .finish_non_exhaustive()
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_spread_and_stay() {
        assert_eq!(partition_for(b"abc", 4), partition_for(b"abc", 4));
        let mut seen = [0; 4];
        for i in 0..1000 {
            seen[partition_for(format!("campaign-{i}").as_bytes(), 4) as usize] += 1;
        }
        assert!(seen.iter().all(|n| *n > 150), "{seen:?}");
    }
}
