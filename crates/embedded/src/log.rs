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
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use adpulse_domain::ports::{EventLog, LogRecord, PortError, Stream};

const CRC: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISCSI);
/// Frame header: body length and checksum.
const HEADER: usize = 8;
/// No frame body is larger (a record is at most a few hundred kilobytes).
const MAX_BODY: u32 = 64 << 20;
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

fn segment_path(dir: &Path, base: u64) -> PathBuf {
    dir.join(format!("{base:020}.seg"))
}

/// The segments of a partition folder, by base offset.
fn segments(dir: &Path) -> Result<Vec<u64>, LogError> {
    let mut bases = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_err(dir))? {
        let entry = entry.map_err(io_err(dir))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if let Some(base) = name.strip_suffix(".seg").and_then(|b| b.parse().ok()) {
            bases.push(base);
        }
    }
    bases.sort_unstable();
    Ok(bases)
}

struct Tail {
    file: File,
    len: u64,
    next_offset: u64,
}

/// Opens the last segment for appending after cutting a torn tail.
fn recover(dir: &Path) -> Result<Tail, LogError> {
    let base = segments(dir)?.last().copied().unwrap_or(0);
    let path = segment_path(dir, base);
    let file = OpenOptions::new()
        .create(true)
        .read(true)
        .append(true)
        .open(&path)
        .map_err(io_err(&path))?;
    let size = file.metadata().map_err(io_err(&path))?.len();
    let mut reader = BufReader::new(file.try_clone().map_err(io_err(&path))?);
    let mut at = 0u64;
    let mut next = base;
    loop {
        match read_frame(&mut reader, &path, at) {
            Ok(Some((record, len))) if record.offset == next => {
                at += len;
                next += 1;
            }
            Ok(None) => break,
            // A frame short, failing its checksum or out of sequence at the
            // end: the write a crash interrupted.
            Ok(Some(_)) | Err(LogError::Corrupt { .. }) => break,
            Err(e) => return Err(e),
        }
    }
    if at < size {
        tracing::warn!(
            segment = %path.display(),
            cut_bytes = size - at,
            "event log: cutting a torn tail left by a crash"
        );
        file.set_len(at).map_err(io_err(&path))?;
        file.sync_all().map_err(io_err(&path))?;
    }
    Ok(Tail {
        file,
        len: at,
        next_offset: next,
    })
}

/// Reads one frame at the reader's position: `None` at a clean end (no
/// bytes left), `Corrupt` for a short or damaged frame.
fn read_frame(
    r: &mut BufReader<File>,
    path: &Path,
    at: u64,
) -> Result<Option<(StoredRecord, u64)>, LogError> {
    let corrupt = |why| LogError::Corrupt {
        path: path.to_owned(),
        at,
        why,
    };
    let mut header = [0u8; HEADER];
    let mut got = 0;
    while got < HEADER {
        let n = r.read(&mut header[got..]).map_err(io_err(path))?;
        if n == 0 {
            return if got == 0 {
                Ok(None)
            } else {
                Err(corrupt("short header"))
            };
        }
        got += n;
    }
    let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
    let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
    if len > MAX_BODY {
        return Err(corrupt("length out of range"));
    }
    let mut body = vec![0u8; len as usize];
    r.read_exact(&mut body).map_err(|e| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            corrupt("short body")
        } else {
            io_err(path)(e)
        }
    })?;
    if CRC.checksum(&body) != crc {
        return Err(corrupt("checksum mismatch"));
    }
    let record = decode(&body).ok_or_else(|| corrupt("malformed body"))?;
    Ok(Some((record, HEADER as u64 + u64::from(len))))
}

fn encode(out: &mut Vec<u8>, offset: u64, now_ms: i64, r: &LogRecord) {
    let start = out.len();
    out.extend_from_slice(&[0u8; HEADER]);
    out.extend_from_slice(&offset.to_le_bytes());
    out.extend_from_slice(&now_ms.to_le_bytes());
    put_bytes(out, &r.key);
    out.extend_from_slice(&u32::try_from(r.headers.len()).unwrap_or(0).to_le_bytes());
    for (k, v) in &r.headers {
        put_bytes(out, k.as_bytes());
        put_bytes(out, v);
    }
    put_bytes(out, &r.payload);
    let body = &out[start + HEADER..];
    let len = u32::try_from(body.len()).unwrap_or(u32::MAX).to_le_bytes();
    let crc = CRC.checksum(body).to_le_bytes();
    out[start..start + 4].copy_from_slice(&len);
    out[start + 4..start + HEADER].copy_from_slice(&crc);
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(&u32::try_from(b.len()).unwrap_or(0).to_le_bytes());
    out.extend_from_slice(b);
}

/// Reads a frame body front to back; `None` past its end.
struct Cursor<'a> {
    body: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.body.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(s)
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }

    fn bytes(&mut self) -> Option<Vec<u8>> {
        let n = self.u32()? as usize;
        self.take(n).map(<[u8]>::to_vec)
    }
}

fn decode(body: &[u8]) -> Option<StoredRecord> {
    let mut c = Cursor { body, at: 0 };
    let offset = c.u64()?;
    let appended_at_ms = i64::from_le_bytes(c.u64()?.to_le_bytes());
    let key = c.bytes()?;
    let count = c.u32()?;
    let mut headers = Vec::with_capacity(count.min(64) as usize);
    for _ in 0..count {
        let k = String::from_utf8(c.bytes()?).ok()?;
        headers.push((k, c.bytes()?));
    }
    let payload = c.bytes()?;
    (c.at == body.len()).then_some(StoredRecord {
        offset,
        appended_at_ms,
        key,
        headers,
        payload,
    })
}

/// One partition's writer thread.
struct Writer {
    dir: PathBuf,
    file: File,
    segment_len: u64,
    next_offset: u64,
    segment_bytes: u64,
    durable: Arc<AtomicU64>,
    stopped: Arc<AtomicBool>,
}

impl Writer {
    fn run(mut self, queue: &mpsc::Receiver<Pending>) {
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
                    for p in batch {
                        let _ = p.done.send(Ok(()));
                    }
                    if self.segment_len >= self.segment_bytes
                        && let Err(e) = self.roll()
                    {
                        tracing::error!(error = %e, "event log: cannot start a new segment");
                        self.stopped.store(true, Ordering::Release);
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
    fn open(dir: PathBuf, durable: Arc<AtomicU64>, from: u64) -> Result<Self, LogError> {
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
    fn frames_round_trip() {
        let r = LogRecord {
            stream: Stream::Events,
            key: b"campaign".to_vec(),
            payload: b"{\"x\":1}".to_vec(),
            headers: vec![
                ("tenant", b"t-1".to_vec()),
                ("ingested_at", b"123".to_vec()),
            ],
        };
        let mut buf = Vec::new();
        encode(&mut buf, 42, 7, &r);
        let body = &buf[HEADER..];
        let got = decode(body).expect("decodes");
        assert_eq!(got.offset, 42);
        assert_eq!(got.appended_at_ms, 7);
        assert_eq!(got.key, r.key);
        assert_eq!(got.payload, r.payload);
        assert_eq!(
            got.headers,
            vec![
                ("tenant".to_owned(), b"t-1".to_vec()),
                ("ingested_at".to_owned(), b"123".to_vec())
            ]
        );
        // Any cut body is refused, never misread.
        for cut in 0..body.len() {
            assert!(decode(&body[..cut]).is_none(), "cut at {cut}");
        }
    }

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
