//! Reading a partition forward, never past what the writer has synced.

use std::fs::File;
use std::io::BufReader;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::frame::{read_frame, segment_path, segments};
use super::{LogError, StoredRecord, io_err};

/// Reads one partition forward from an offset, up to what is synced.
pub struct Reader {
    dir: PathBuf,
    durable: Arc<AtomicU64>,
    file: BufReader<File>,
    path: PathBuf,
    pos: u64,
    next: u64,
}

impl Reader {
    pub(super) fn open(dir: PathBuf, durable: Arc<AtomicU64>, from: u64) -> Result<Self, LogError> {
        let bases = segments(&dir)?;
        // The segment holding `from`; the oldest one kept when `from` is
        // below it (older segments were deleted: see `delete_before`).
        let base = bases
            .iter()
            .rev()
            .find(|b| **b <= from)
            .or(bases.first())
            .copied()
            .unwrap_or(0);
        let path = segment_path(&dir, base);
        let file = File::open(&path).map_err(io_err(&path))?;
        let mut reader = Self {
            dir,
            durable,
            file: BufReader::new(file),
            path,
            pos: 0,
            next: base,
        };
        // Skip to `from` (a scan of one segment, once).
        while reader.next < from.min(reader.durable.load(Ordering::Acquire)) {
            if reader.read_one()?.is_none() {
                break;
            }
        }
        Ok(reader)
    }

    /// The offset the next record read will have.
    pub fn position(&self) -> u64 {
        self.next
    }

    /// Up to `max` records from the current position, only synced ones;
    /// empty when the reader is at the end.
    pub fn read(&mut self, max: usize) -> Result<Vec<StoredRecord>, LogError> {
        let mut out = Vec::new();
        while out.len() < max {
            match self.read_one()? {
                Some(r) => out.push(r),
                None => break,
            }
        }
        Ok(out)
    }

    fn read_one(&mut self) -> Result<Option<StoredRecord>, LogError> {
        let durable = self.durable.load(Ordering::Acquire);
        if self.next >= durable {
            return Ok(None);
        }
        match read_frame(&mut self.file, &self.path, self.pos)? {
            Some((record, len)) => {
                if record.offset != self.next {
                    return Err(LogError::Corrupt {
                        path: self.path.clone(),
                        at: self.pos,
                        why: "offset out of sequence",
                    });
                }
                self.pos += len;
                self.next += 1;
                Ok(Some(record))
            }
            None => {
                // The segment ended below the synced offset: the writer
                // rolled; the next segment starts at our offset.
                let path = segment_path(&self.dir, self.next);
                let file = File::open(&path).map_err(io_err(&path))?;
                self.file = BufReader::new(file);
                self.path = path;
                self.pos = 0;
                self.read_one()
            }
        }
    }
}
