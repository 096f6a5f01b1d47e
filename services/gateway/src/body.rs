//! Reading request bodies within limits: content type, optional gzip (with
//! a cap on the inflated size, against decompression bombs), and splitting a
//! batch into the raw bytes of each event.

use std::io::Read as _;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, StatusCode, header};
use serde_json::value::RawValue;

use crate::error::ApiError;

/// How a body holds its events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `application/json`: one object, or for batches an array of them.
    Json,
    /// `application/x-ndjson`: one object per line (batches only).
    Ndjson,
}

/// The format the `Content-Type` names, if the route accepts it.
pub fn format(headers: &HeaderMap, batch: bool) -> Result<Format, ApiError> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let media = ct
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match media.as_str() {
        "application/json" => Ok(Format::Json),
        "application/x-ndjson" | "application/ndjson" | "application/jsonl" if batch => {
            Ok(Format::Ndjson)
        }
        _ => {
            let accepted = if batch {
                "application/json (an array) or application/x-ndjson"
            } else {
                "application/json"
            };
            let got = if ct.is_empty() {
                "none".to_owned()
            } else {
                format!("{ct:?}")
            };
            Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                format!("content type {got} is not accepted here; send {accepted}"),
            ))
        }
    }
}

/// The body, decompressed if `Content-Encoding: gzip`, within the limits.
/// A body that declares more than `max_body` is refused before a byte of it
/// is read (a client declaring a gigabyte and sending seven bytes is not
/// waited for); one that arrives too slowly is 408 (the listener's body
/// timeout, `adpulse_http`).
pub async fn read(
    body: Body,
    headers: &HeaderMap,
    max_body: usize,
    max_inflated: usize,
) -> Result<Bytes, ApiError> {
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("the request body exceeds {max_body} bytes"),
        )
    };
    if adpulse_http::declared_length(headers).is_some_and(|n| n > max_body as u64) {
        return Err(too_large());
    }
    let raw = axum::body::to_bytes(body, max_body).await.map_err(|e| {
        let over = std::error::Error::source(&e)
            .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
        if over {
            too_large()
        } else if adpulse_http::is_body_timeout(&e) {
            ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "body_timeout",
                "the request body did not arrive in time",
            )
        } else {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "unreadable_body",
                format!("could not read the body: {e}"),
            )
        }
    })?;
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_ascii_lowercase());
    match encoding.as_deref() {
        None | Some("identity") => Ok(raw),
        Some("gzip") => inflate(&raw, max_inflated),
        Some(other) => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_encoding",
            format!("content encoding {other:?} is not accepted; send gzip or none"),
        )),
    }
}

/// Gunzips at most `max` bytes; more is a bomb, or just too much.
fn inflate(gz: &[u8], max: usize) -> Result<Bytes, ApiError> {
    let mut out = Vec::with_capacity(gz.len().saturating_mul(4).min(max));
    let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
    flate2::read::MultiGzDecoder::new(gz)
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_gzip",
                format!("the body is not valid gzip: {e}"),
            )
        })?;
    if out.len() > max {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "decompressed_too_large",
            format!("the body inflates to more than {max} bytes"),
        ));
    }
    Ok(Bytes::from(out))
}

/// The raw bytes of each event of a batch body.
pub fn split(body: &[u8], format: Format) -> Result<Vec<&[u8]>, ApiError> {
    match format {
        Format::Ndjson => Ok(body
            .split(|b| *b == b'\n')
            .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
            .filter(|line| !line.iter().all(u8::is_ascii_whitespace))
            .collect()),
        Format::Json => {
            let items: Vec<&RawValue> = serde_json::from_slice(body).map_err(|e| {
                let message = if e.classify() == serde_json::error::Category::Data {
                    format!("a batch is a JSON array of events: {e}")
                } else {
                    format!("invalid JSON: {e}")
                };
                ApiError::new(StatusCode::BAD_REQUEST, "invalid_json", message)
            })?;
            Ok(items.into_iter().map(|r| r.get().as_bytes()).collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).expect("write");
        e.finish().expect("finish")
    }

    #[test]
    fn gzip_round_trip_and_bomb() {
        let data = vec![b'a'; 10_000];
        assert_eq!(inflate(&gzip(&data), 10_000).expect("fits").len(), 10_000);
        let err = inflate(&gzip(&data), 9_999).expect_err("bomb");
        assert_eq!(err.code, "decompressed_too_large");
        assert_eq!(
            inflate(b"not gzip", 100).expect_err("bad").code,
            "invalid_gzip"
        );
    }

    #[test]
    fn ndjson_lines_skip_blanks_and_crlf() {
        let items = split(b"{\"a\":1}\r\n\n  \n{\"b\":2}", Format::Ndjson).expect("split");
        assert_eq!(items, [&b"{\"a\":1}"[..], &b"{\"b\":2}"[..]]);
    }

    #[test]
    fn json_arrays_keep_raw_elements() {
        let items = split(b"[{\"a\":1}, {\"b\":[2]}]", Format::Json).expect("split");
        assert_eq!(items, [&b"{\"a\":1}"[..], &b"{\"b\":[2]}"[..]]);
        assert_eq!(
            split(b"{\"a\":1}", Format::Json).expect_err("object").code,
            "invalid_json"
        );
        assert!(
            split(b"[{\"a\":", Format::Json)
                .expect_err("cut")
                .message
                .contains("column")
        );
    }

    #[test]
    fn content_types() {
        let mut h = HeaderMap::new();
        assert_eq!(
            format(&h, false).expect_err("none").status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        );
        h.insert(
            header::CONTENT_TYPE,
            "application/json; charset=utf-8".parse().expect("h"),
        );
        assert_eq!(format(&h, false).expect("json"), Format::Json);
        h.insert(
            header::CONTENT_TYPE,
            "application/x-ndjson".parse().expect("h"),
        );
        assert_eq!(format(&h, true).expect("ndjson"), Format::Ndjson);
        assert!(format(&h, false).is_err(), "single events are JSON only");
        h.insert(header::CONTENT_TYPE, "text/plain".parse().expect("h"));
        assert!(format(&h, true).is_err());
    }
}
