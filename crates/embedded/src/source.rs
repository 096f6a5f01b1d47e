//! [`EventSource`] on a [`LocalLog`]: the embedded worker is the only
//! member of its group, so it owns every partition of the events stream
//! from the start and nothing is ever revoked. Hints live in the log's
//! folder (`groups/<group>/<partition>`), written atomically; segments
//! wholly below a hint are deleted then (the log serves one group, whose
//! next start reads from the hint).

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use adpulse_domain::ports::{ConsumedRecord, EventSource, PortError, Stream};

use crate::log::{LocalLog, LogError, Reader};

/// Records read ahead of the worker, per call into the files.
const READ_AHEAD: usize = 512;

/// The events stream of a [`LocalLog`], read as one group member.
pub struct LocalSource {
    log: LocalLog,
    hints: PathBuf,
    state: Mutex<State>,
}

struct State {
    /// One reader per partition (taken out while a read is in flight).
    readers: Vec<Option<Reader>>,
    /// Read ahead, in partition order per batch.
    buffered: VecDeque<ConsumedRecord>,
    /// The partition to read next (round robin).
    turn: usize,
    /// Whether the partitions were handed out yet.
    assigned: bool,
}

impl From<LogError> for PortError {
    fn from(e: LogError) -> Self {
        Self::retryable(e.to_string())
    }
}

impl LocalSource {
    /// Joins `group` on `log`'s events stream: each partition is read from
    /// the group's hint, or from the start.
    pub fn new(log: &LocalLog, dir: impl Into<PathBuf>, group: &str) -> Result<Self, PortError> {
        let hints = dir.into().join("groups").join(group);
        std::fs::create_dir_all(&hints)
            .map_err(|e| PortError::permanent(format!("{}: {e}", hints.display())))?;
        let mut readers = Vec::new();
        for p in 0..log.partitions(Stream::Events) {
            let from = std::fs::read_to_string(hints.join(p.to_string()))
                .ok()
                .and_then(|s| s.trim().parse::<u64>().ok())
                .unwrap_or(0);
            readers.push(Some(log.reader(Stream::Events, p, from)?));
        }
        Ok(Self {
            log: log.clone(),
            hints,
            state: Mutex::new(State {
                readers,
                buffered: VecDeque::new(),
                turn: 0,
                assigned: false,
            }),
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes out the reader of the next partition with unread records.
    fn next_ready(&self) -> Option<(usize, Reader)> {
        let mut st = self.state();
        let n = st.readers.len();
        for i in 0..n {
            let p = (st.turn + i) % n;
            let ready = st.readers[p].as_ref().is_some_and(|r| {
                u32::try_from(p)
                    .ok()
                    .and_then(|p| self.log.end_offset(Stream::Events, p).ok())
                    .is_some_and(|end| end > r.position())
            });
            if ready && let Some(r) = st.readers[p].take() {
                st.turn = (p + 1) % n;
                return Some((p, r));
            }
        }
        None
    }
}

impl EventSource for LocalSource {
    async fn recv(&self, timeout: Duration) -> Result<Option<ConsumedRecord>, PortError> {
        let until = Instant::now() + timeout;
        loop {
            if let Some(r) = self.state().buffered.pop_front() {
                return Ok(Some(r));
            }
            if let Some((p, mut reader)) = self.next_ready() {
                let (reader, read) = tokio::task::spawn_blocking(move || {
                    let read = reader.read(READ_AHEAD);
                    (reader, read)
                })
                .await
                .map_err(|e| PortError::retryable(format!("event log read task: {e}")))?;
                let mut st = self.state();
                st.readers[p] = Some(reader);
                let partition = i32::try_from(p).unwrap_or(i32::MAX);
                st.buffered
                    .extend(read?.into_iter().map(|r| ConsumedRecord {
                        partition,
                        offset: i64::try_from(r.offset).unwrap_or(i64::MAX),
                        key: Some(r.key),
                        payload: Some(r.payload),
                        headers: r.headers,
                        timestamp_ms: Some(r.appended_at_ms),
                    }));
                continue;
            }
            let now = Instant::now();
            if now >= until {
                return Ok(None);
            }
            tokio::time::sleep((until - now).min(Duration::from_millis(2))).await;
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
        (0..st.readers.len())
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
            match self.log.delete_before(Stream::Events, p, at) {
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
        let end = self.log.end_offset(Stream::Events, p).ok()?;
        i64::try_from(end).ok()
    }

    fn partition_count(&self) -> Option<i32> {
        i32::try_from(self.log.partitions(Stream::Events)).ok()
    }

    fn leave(&self) {}
}
