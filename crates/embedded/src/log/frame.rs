//! The log's file format: a partition is a folder of segments named by
//! their first offset, each a run of frames `[body length u32][CRC-32C of
//! body u32][body]`; recovery cuts a segment at its first torn frame.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, Read as _};
use std::path::{Path, PathBuf};

use adpulse_domain::ports::LogRecord;

use super::{LogError, StoredRecord, io_err};

const CRC: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISCSI);
/// Frame header: body length and checksum.
const HEADER: usize = 8;
/// No frame body is larger (a record is at most a few hundred kilobytes).
const MAX_BODY: u32 = 64 << 20;

pub(super) fn segment_path(dir: &Path, base: u64) -> PathBuf {
    dir.join(format!("{base:020}.seg"))
}

/// The segments of a partition folder, by base offset.
pub(super) fn segments(dir: &Path) -> Result<Vec<u64>, LogError> {
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

pub(super) struct Tail {
    pub(super) file: File,
    pub(super) len: u64,
    pub(super) next_offset: u64,
}

/// Opens the last segment for appending after cutting a torn tail.
pub(super) fn recover(dir: &Path) -> Result<Tail, LogError> {
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
pub(super) fn read_frame(
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

pub(super) fn encode(out: &mut Vec<u8>, offset: u64, now_ms: i64, r: &LogRecord) {
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

#[cfg(test)]
mod tests {
    use adpulse_domain::ports::Stream;

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
}
