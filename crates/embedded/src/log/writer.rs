//! One partition's writer thread: group commit (every append queued behind
//! the first shares its `fdatasync`) and rolling segments.

use std::fs::{File, OpenOptions};
use std::io::{self, Write as _};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;

use super::Pending;
use super::frame::{encode, segment_path};

/// One partition's writer thread.
pub(super) struct Writer {
    pub(super) dir: PathBuf,
    pub(super) file: File,
    pub(super) segment_len: u64,
    pub(super) next_offset: u64,
    pub(super) segment_bytes: u64,
    pub(super) durable: Arc<AtomicU64>,
    pub(super) stopped: Arc<AtomicBool>,
}

impl Writer {
    pub(super) fn run(mut self, queue: &mpsc::Receiver<Pending>) {
        let mut buf = Vec::with_capacity(1 << 20);
        while let Ok(first) = queue.recv() {
            // Everything queued behind the first append shares its sync.
            let mut batch = vec![first];
            while batch.len() < 4096 {
                match queue.try_recv() {
                    Ok(p) => batch.push(p),
                    Err(_) => break,
                }
            }
            if self.stopped.load(Ordering::Acquire) {
                for p in batch {
                    let _ = p.done.send(Err("event log partition stopped".to_owned()));
                }
                continue;
            }
            let now_ms = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
            buf.clear();
            let mut offset = self.next_offset;
            for p in &batch {
                for r in &p.records {
                    encode(&mut buf, offset, now_ms, r);
                    offset += 1;
                }
            }
            match self.write(&buf) {
                Ok(()) => {
                    self.next_offset = offset;
                    self.durable.store(offset, Ordering::Release);
                    // Roll before acknowledging, so that once an append
                    // returns the partition's files are settled (retention
                    // and tests count them); the batch is durable either way.
                    if self.segment_len >= self.segment_bytes
                        && let Err(e) = self.roll()
                    {
                        tracing::error!(error = %e, "event log: cannot start a new segment");
                        self.stopped.store(true, Ordering::Release);
                    }
                    for p in batch {
                        let _ = p.done.send(Ok(()));
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "event log: write failed");
                    // Undo the partial write so the next append starts on a
                    // frame boundary; if even that fails, stop taking appends.
                    if self.file.set_len(self.segment_len).is_err() {
                        self.stopped.store(true, Ordering::Release);
                    }
                    for p in batch {
                        let _ = p.done.send(Err(format!("event log write failed: {e}")));
                    }
                }
            }
        }
    }

    fn write(&mut self, buf: &[u8]) -> io::Result<()> {
        self.file.write_all(buf)?;
        self.file.sync_data()?;
        self.segment_len += buf.len() as u64;
        Ok(())
    }

    fn roll(&mut self) -> io::Result<()> {
        let path = segment_path(&self.dir, self.next_offset);
        self.file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(path)?;
        self.segment_len = 0;
        // The new file's name must survive a crash too.
        File::open(&self.dir)?.sync_all()
    }
}
