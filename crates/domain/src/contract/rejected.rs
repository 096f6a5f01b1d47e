//! A row of the rejected stream: what was refused, why, whose and when, so
//! a tenant and its operators can see what senders get wrong.
//!
//! Three writers share the one row type, each filling its own fields:
//!
//! - the gateway keeps a refusal in **full** (`kind: "full"`): the payload
//!   cut to a bound, the field errors, the tenant;
//! - past a tenant's bound it writes one **summary** per reason and minute
//!   (`kind: "summary"`): how many refusals and bytes it counted;
//! - the worker keeps a record it cannot count (no `kind`): the payload,
//!   where it was read (`partition`, `offset`) and a message.
//!
//! Absent fields are left out of the JSON, so every writer's rows keep the
//! shape they always had. Rows are written with [`RejectedRow::to_record`].

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::reason::RejectionCode;
use super::sorted_json;
use crate::error::FieldError;
use crate::ids::TenantId;
use crate::ports::{LogRecord, Stream};

/// Which of the gateway's rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RowKind {
    /// One refusal, kept.
    Full,
    /// A minute's refusals of one tenant and reason, counted.
    Summary,
}

impl RowKind {
    /// The string form (the `kind` metric label too).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Full => "full",
            Self::Summary => "summary",
        }
    }
}

/// A row of the rejected stream. Start from [`RejectedRow::new`] and set
/// the fields the writer has.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectedRow {
    /// Which gateway row; absent on the worker's rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<RowKind>,
    /// When the refusal happened (a summary: the start of its minute).
    /// Always written, `null` only for a time chrono cannot represent.
    pub received_at: Option<DateTime<Utc>>,
    /// A summary's end of minute, exclusive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<DateTime<Utc>>,
    /// Whose input it was, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<TenantId>,
    /// Why.
    pub code: RejectionCode,
    /// The worker's explanation, for humans.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The field problems, when the refusal is about an event's content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
    /// Whether field problems were left out to bound the row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors_truncated: Option<bool>,
    /// How many refusals a summary counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// The events-stream partition the worker read the record from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<i32>,
    /// Its offset there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<i64>,
    /// What arrived, as text (invalid UTF-8 replaced), cut to a bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
    /// The bytes that arrived (a summary: for all the refusals it counts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload_bytes: Option<u64>,
    /// Whether `payload` is cut.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub truncated: Option<bool>,
}

impl RejectedRow {
    /// A row refused for `code` at `received_at`, with no other field set.
    pub fn new(code: RejectionCode, received_at: Option<DateTime<Utc>>) -> Self {
        Self {
            kind: None,
            received_at,
            until: None,
            tenant_id: None,
            code,
            message: None,
            errors: None,
            errors_truncated: None,
            count: None,
            partition: None,
            offset: None,
            payload: None,
            payload_bytes: None,
            truncated: None,
        }
    }

    /// The row as JSON, keys sorted (see [`super`]).
    pub fn to_json(&self) -> Vec<u8> {
        sorted_json(self)
    }

    /// The row as a record of the rejected stream, keyed by `key` (the
    /// tenant's id when known, so a tenant's rows stay in order).
    pub fn to_record(&self, key: Vec<u8>) -> LogRecord {
        LogRecord {
            stream: Stream::Rejected,
            key,
            payload: self.to_json(),
            headers: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    fn at(s: &str) -> Option<DateTime<Utc>> {
        Some(s.parse().expect("time"))
    }

    fn tenant() -> TenantId {
        TenantId::from_uuid(uuid::Uuid::nil())
    }

    /// A row of each writer: the gateway's full and summary rows, the
    /// worker's.
    fn rows() -> [RejectedRow; 3] {
        let full = RejectedRow {
            kind: Some(RowKind::Full),
            tenant_id: Some(tenant()),
            errors: Some(vec![FieldError {
                field: "type".into(),
                code: ErrorCode::UnknownEventType,
                message: "not \"x\"".into(),
            }]),
            errors_truncated: Some(false),
            payload: Some("{\"type\":\"x\"}".into()),
            payload_bytes: Some(12),
            truncated: Some(false),
            ..RejectedRow::new(
                ErrorCode::UnknownEventType.into(),
                at("2025-06-01T12:00:00.5Z"),
            )
        };
        let summary = RejectedRow {
            kind: Some(RowKind::Summary),
            until: at("2025-06-01T12:01:00Z"),
            tenant_id: Some(tenant()),
            count: Some(7),
            payload_bytes: Some(35_000),
            ..RejectedRow::new(RejectionCode::BodyTooLarge, at("2025-06-01T12:00:00Z"))
        };
        let worker = RejectedRow {
            message: Some("undecodable: no value".into()),
            partition: Some(3),
            offset: Some(42),
            payload: Some(String::new()),
            truncated: Some(false),
            ..RejectedRow::new(RejectionCode::Undecodable, at("2025-06-01T12:00:00Z"))
        };
        [full, summary, worker]
    }

    /// The bytes each writer's rows always had: keys sorted, field errors
    /// included.
    #[test]
    fn every_writers_rows_keep_their_bytes() {
        let pinned = [
            r#"{"code":"unknown_event_type","errors":[{"code":"unknown_event_type","field":"type","message":"not \"x\""}],"errors_truncated":false,"kind":"full","payload":"{\"type\":\"x\"}","payload_bytes":12,"received_at":"2025-06-01T12:00:00.500Z","tenant_id":"00000000-0000-0000-0000-000000000000","truncated":false}"#,
            r#"{"code":"body_too_large","count":7,"kind":"summary","payload_bytes":35000,"received_at":"2025-06-01T12:00:00Z","tenant_id":"00000000-0000-0000-0000-000000000000","until":"2025-06-01T12:01:00Z"}"#,
            r#"{"code":"undecodable","message":"undecodable: no value","offset":42,"partition":3,"payload":"","received_at":"2025-06-01T12:00:00Z","truncated":false}"#,
        ];
        for (row, pinned) in rows().iter().zip(pinned) {
            assert_eq!(String::from_utf8(row.to_json()).expect("utf-8"), pinned);
            let back: RejectedRow = serde_json::from_slice(&row.to_json()).expect("row");
            assert_eq!(&back, row);
        }
    }

    /// The same bytes as the inline `json!` the gateway and the worker
    /// wrote before this type existed, verbatim.
    #[test]
    fn the_rows_are_the_ones_json_wrote() {
        let [full, summary, worker] = rows();
        let before = [
            serde_json::json!({
                "kind": "full",
                "received_at": full.received_at,
                "tenant_id": tenant(),
                "code": "unknown_event_type",
                "errors": full.errors,
                "payload": "{\"type\":\"x\"}",
                "payload_bytes": 12_usize,
                "truncated": false,
                "errors_truncated": false,
            }),
            serde_json::json!({
                "kind": "summary",
                "received_at": summary.received_at,
                "until": summary.until,
                "tenant_id": tenant(),
                "code": "body_too_large",
                "count": 7_u64,
                "payload_bytes": 35_000_u64,
            }),
            serde_json::json!({
                "received_at": worker.received_at.expect("time"),
                "code": "undecodable",
                "message": "undecodable: no value",
                "partition": 3,
                "offset": 42_i64,
                "payload": "",
                "truncated": false,
            }),
        ];
        for (row, before) in [full, summary, worker].iter().zip(before) {
            assert_eq!(row.to_json(), serde_json::to_vec(&before).expect("json"));
        }
    }

    #[test]
    fn a_row_is_a_record_of_the_rejected_stream() {
        let row = RejectedRow::new(RejectionCode::SumOverflow, None);
        let r = row.to_record(b"k".to_vec());
        assert_eq!((r.stream, r.key.as_slice()), (Stream::Rejected, &b"k"[..]));
        assert_eq!(r.payload, br#"{"code":"sum_overflow","received_at":null}"#);
        assert!(r.headers.is_empty());
    }
}
