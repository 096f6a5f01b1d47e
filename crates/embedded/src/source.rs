//! [`EventSource`] on a [`LocalLog`]: the embedded worker (on the events
//! stream) and the embedded alerter (on the window results) are each the
//! only member of their group, so each owns every partition of its stream
//! from the start and nothing is ever revoked. Hints live in the log's
//! folder (`groups/<group>/<partition>`), written atomically; segments
//! wholly below a hint are deleted then (the log serves one group, whose
//! next start reads from the hint).

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use adpulse_domain::ports::{ConsumedRecord, EventSource, PortError, Stream};
use tokio::sync::mpsc;

use crate::log::{LocalLog, LogError, Reader};

/// Records read per partition per turn.
const READ_AHEAD: usize = 512;
/// Batches the reader thread may hold ready for the worker.
const BATCHES_AHEAD: usize = 8;
/// How long the reader thread waits when every partition is read to its
/// end.
const IDLE: Duration = Duration::from_millis(1);

/// The events stream of a [`LocalLog`], read as one group member.
///
/// A thread reads the partitions in turn, `READ_AHEAD` records at a time,
/// and hands batches over a bounded channel: [`EventSource::recv`] only
/// takes from the channel, so dropping a `recv` half way (the worker
/// selects on it beside other work) loses nothing.
pub struct LocalSource {
    log: LocalLog,
    stream: Stream,
    hints: PathBuf,
    partitions: usize,
    batches: tokio::sync::Mutex<mpsc::Receiver<Result<Vec<ConsumedRecord>, PortError>>>,
    state: Mutex<State>,
}

struct State {
    /// Received, not yet handed to the worker.
    buffered: VecDeque<ConsumedRecord>,
    /// Whether the partitions were handed out yet.
    assigned: bool,
}

impl From<LogError> for PortError {
    fn from(e: LogError) -> Self {
        Self::caused_by(true, e)
    }
}

impl LocalSource {
    /// Joins `group` on `log`'s events stream: each partition is read from
    /// the group's hint, or from the start.
    pub fn new(log: &LocalLog, dir: impl Into<PathBuf>, group: &str) -> Result<Self, PortError> {
        Self::of(log, Stream::Events, dir, group)
    }

    /// Joins `group` on `stream` of `log`.
    pub fn of(
        log: &LocalLog,
        stream: Stream,
        dir: impl Into<PathBuf>,
        group: &str,
    ) -> Result<Self, PortError> {
        let hints = dir.into().join("groups").join(group);
        std::fs::create_dir_all(&hints)
            .map_err(|e| PortError::permanent(format!("{}: {e}", hints.display())))?;
        let mut readers = Vec::new();
        for p in 0..log.partitions(stream) {
            let from = std::fs::read_to_string(hints.join(p.to_string()))
                .ok()
                .and_then(|s| s.trim().parse::<u64>().ok())
                .unwrap_or(0);
            readers.push(log.reader(stream, p, from)?);
        }
        let partitions = readers.len();
        let (tx, rx) = mpsc::channel(BATCHES_AHEAD);
        let reading = log.clone();
        std::thread::Builder::new()
            .name(format!("log-read-{group}"))
            .spawn(move || read_ahead(&reading, stream, readers, &tx))
            .map_err(|e| PortError::permanent(format!("event log reader thread: {e}")))?;
        Ok(Self {
            log: log.clone(),
            stream,
            hints,
            partitions,
            batches: tokio::sync::Mutex::new(rx),
            state: Mutex::new(State {
                buffered: VecDeque::new(),
                assigned: false,
            }),
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The reader thread: every partition with unread synced records in turn,
/// until the source is dropped. A read error is handed over (the worker
/// logs it) and the partition is tried again after a pause.
fn read_ahead(
    log: &LocalLog,
    stream: Stream,
    mut readers: Vec<Reader>,
    tx: &mpsc::Sender<Result<Vec<ConsumedRecord>, PortError>>,
) {
    loop {
        if tx.is_closed() {
            return;
        }
        let mut read_any = false;
        for (p, reader) in readers.iter_mut().enumerate() {
            let end = u32::try_from(p)
                .ok()
                .and_then(|p| log.end_offset(stream, p).ok())
                .unwrap_or(0);
            if end <= reader.position() {
                continue;
            }
            let partition = i32::try_from(p).unwrap_or(i32::MAX);
            let batch = reader
                .read(READ_AHEAD)
                .map_err(PortError::from)
                .map(|records| {
                    records
                        .into_iter()
                        .map(|r| ConsumedRecord {
                            partition,
                            offset: i64::try_from(r.offset).unwrap_or(i64::MAX),
                            key: Some(r.key),
                            payload: Some(r.payload),
                            headers: r.headers,
                            timestamp_ms: Some(r.appended_at_ms),
                        })
                        .collect::<Vec<_>>()
                });
            let failed = batch.is_err();
            read_any |= batch.as_ref().is_ok_and(|b| !b.is_empty());
            if tx.blocking_send(batch).is_err() {
                return;
            }
            if failed {
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        if !read_any {
            std::thread::sleep(IDLE);
        }
    }
}

#[async_trait::async_trait]
impl EventSource for LocalSource {
    async fn recv(&self, timeout: Duration) -> Result<Option<ConsumedRecord>, PortError> {
        if let Some(r) = self.state().buffered.pop_front() {
            return Ok(Some(r));
        }
        let mut batches = self.batches.lock().await;
        // Receiving from the channel is cancel-safe: a batch is either
        // taken whole or left for the next call.
        loop {
            match tokio::time::timeout(timeout, batches.recv()).await {
                Err(_) => return Ok(None),
                Ok(None) => {
                    return Err(PortError::permanent("the event log reader thread stopped"));
                }
                Ok(Some(Err(e))) => return Err(e),
                Ok(Some(Ok(batch))) => {
                    let mut st = self.state();
                    st.buffered.extend(batch);
                    if let Some(r) = st.buffered.pop_front() {
                        return Ok(Some(r));
                    }
                }
            }
        }
    }

    fn take_revoked(&self) -> Vec<i32> {
        Vec::new()
    }

    fn take_assigned(&self) -> Vec<i32> {
        let mut st = self.state();
        if std::mem::replace(&mut st.assigned, true) {
            return Vec::new();
        }
        (0..self.partitions)
            .map(|p| i32::try_from(p).unwrap_or(i32::MAX))
            .collect()
    }

    fn commit_hint(&self, partition: i32, offset: i64) -> Result<(), PortError> {
        let path = self.hints.join(partition.to_string());
        let tmp = self.hints.join(format!("{partition}.tmp"));
        std::fs::write(&tmp, offset.to_string())
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(|e| PortError::retryable(format!("{}: {e}", path.display())))?;
        // Records below the hint are never read again (the next start reads
        // from it): their whole segments go.
        if let (Ok(p), Ok(at)) = (u32::try_from(partition), u64::try_from(offset)) {
            match self.log.delete_before(self.stream, p, at) {
                Ok(0) => {}
                Ok(n) => tracing::info!(
                    partition,
                    segments = n,
                    "event log: consumed segments deleted"
                ),
                Err(e) => {
                    tracing::warn!(partition, error = %e, "event log: consumed segments not deleted")
                }
            }
        }
        Ok(())
    }

    fn high_watermark(&self, partition: i32) -> Option<i64> {
        let p = u32::try_from(partition).ok()?;
        let end = self.log.end_offset(self.stream, p).ok()?;
        i64::try_from(end).ok()
    }

    fn partition_count(&self) -> Option<i32> {
        i32::try_from(self.log.partitions(self.stream)).ok()
    }

    fn leave(&self) {}
}
