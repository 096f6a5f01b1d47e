//! Building bad rows: a refusal kept in full, cut to its bound, or a
//! minute's summary, as records of the rejected stream (the row format is
//! the domain's [`RejectedRow`]; the bounds are the gateway's, see
//! [`super`]).

use adpulse_domain::contract::reason::RejectionCode;
use adpulse_domain::contract::rejected::{RejectedRow, RowKind};
use adpulse_domain::ports::LogRecord;
use adpulse_domain::{FieldError, TenantId};
use chrono::{DateTime, Utc};

use super::bound::Summary;

/// The most a bad row's field errors take, as JSON text.
pub const ERRORS_BYTES: usize = 2048;
/// The most a bad row takes besides its payload: the field errors and the
/// envelope (times, tenant, code, sizes, flags; about 250 bytes).
pub const ROW_OVERHEAD_BYTES: usize = ERRORS_BYTES + 512;
/// A field error's message or field path in a bad row, at most.
const ERROR_TEXT_BYTES: usize = 256;

/// A bad row on its way to the rejected stream, with its metric labels.
pub(crate) struct BadRow {
    pub(super) reason: RejectionCode,
    pub(super) kind: RowKind,
    pub(super) record: LogRecord,
}

/// A summary row: how many refusals of one tenant and reason a minute
/// counted instead of keeping, and the bytes that arrived for them.
pub(super) fn summary_row(s: &Summary) -> BadRow {
    let at = |minute: i64| DateTime::<Utc>::from_timestamp(minute.saturating_mul(60), 0);
    let row = RejectedRow {
        kind: Some(RowKind::Summary),
        until: at(s.minute + 1),
        tenant_id: Some(s.tenant),
        count: Some(s.tally.rows),
        payload_bytes: Some(s.tally.payload_bytes),
        ..RejectedRow::new(s.reason, at(s.minute))
    };
    BadRow {
        reason: s.reason,
        kind: RowKind::Summary,
        record: row.to_record(s.tenant.to_string().into_bytes()),
    }
}

/// A full bad row: what arrived (cut to `max_payload` bytes of JSON text),
/// why it was refused, whose it was and when. At most `max_payload` +
/// [`ROW_OVERHEAD_BYTES`] bytes.
pub(super) fn full_row(
    raw: &[u8],
    code: RejectionCode,
    errors: &[FieldError],
    tenant: TenantId,
    now: DateTime<Utc>,
    max_payload: usize,
) -> BadRow {
    let (payload, used) = cut(raw, max_payload);
    let (errors, errors_truncated) = cut_errors(errors);
    let row = RejectedRow {
        kind: Some(RowKind::Full),
        tenant_id: Some(tenant),
        errors: Some(errors),
        errors_truncated: Some(errors_truncated),
        payload: Some(payload),
        payload_bytes: Some(raw.len() as u64),
        truncated: Some(used < raw.len()),
        ..RejectedRow::new(code, Some(now))
    };
    let record = row.to_record(tenant.to_string().into_bytes());
    debug_assert!(record.payload.len() <= max_payload + ROW_OVERHEAD_BYTES);
    BadRow {
        reason: code,
        kind: RowKind::Full,
        record,
    }
}

/// The longest prefix of `raw` whose JSON string text (invalid UTF-8
/// replaced, escapes counted) takes at most `max` bytes, and how many bytes
/// of `raw` it covers.
pub(super) fn cut(raw: &[u8], max: usize) -> (String, usize) {
    let mut out = String::with_capacity(raw.len().min(max));
    let (mut text, mut covered) = (0, 0);
    for chunk in raw.utf8_chunks() {
        for c in chunk.valid().chars() {
            let w = escaped_len(c);
            if text + w > max {
                return (out, covered);
            }
            out.push(c);
            text += w;
            covered += c.len_utf8();
        }
        if !chunk.invalid().is_empty() {
            let w = char::REPLACEMENT_CHARACTER.len_utf8();
            if text + w > max {
                return (out, covered);
            }
            out.push(char::REPLACEMENT_CHARACTER);
            text += w;
            covered += chunk.invalid().len();
        }
    }
    (out, covered)
}

/// The bytes `c` takes inside a JSON string as `serde_json` writes it.
fn escaped_len(c: char) -> usize {
    match c {
        '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
        c if u32::from(c) < 0x20 => 6,
        c => c.len_utf8(),
    }
}

/// Field errors within [`ERRORS_BYTES`] of JSON text, each message and field
/// cut to [`ERROR_TEXT_BYTES`] first; whether any were left out.
fn cut_errors(errors: &[FieldError]) -> (Vec<FieldError>, bool) {
    let mut out = Vec::new();
    let mut text: usize = 2; // []
    for e in errors {
        let e = FieldError {
            field: cut(e.field.as_bytes(), ERROR_TEXT_BYTES).0,
            code: e.code,
            message: cut(e.message.as_bytes(), ERROR_TEXT_BYTES).0,
        };
        let w = serde_json::to_vec(&e).map_or(usize::MAX, |v| v.len() + 1);
        if text.saturating_add(w) > ERRORS_BYTES {
            return (out, true);
        }
        text += w;
        out.push(e);
    }
    (out, false)
}
#[cfg(test)]
mod tests {
    use adpulse_domain::ErrorCode;
    use chrono::TimeZone as _;
    use proptest::prelude::*;

    use super::super::bound::{Tally, minute_of};
    use super::*;

    fn tenant() -> TenantId {
        TenantId::from_uuid(uuid::Uuid::new_v4())
    }

    /// 12:00:00 UTC plus `secs`.
    fn at(secs: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 6, 1, 12, 0, 0)
            .single()
            .expect("time")
            + chrono::Duration::seconds(secs)
    }

    #[test]
    fn payloads_are_cut_as_json_text() {
        assert_eq!(cut(b"abcdef", 4), ("abcd".to_owned(), 4));
        assert_eq!(cut(b"ab", 4), ("ab".to_owned(), 2));
        // A control byte is six bytes of JSON text; a quote two.
        assert_eq!(cut(b"a\x01b", 6), ("a".to_owned(), 1));
        assert_eq!(cut(b"\"\"\"", 5), ("\"\"".to_owned(), 2));
        // Invalid UTF-8 becomes U+FFFD (3 bytes) and covers what it replaced.
        assert_eq!(
            cut(b"a\xff\xfeb", 100),
            ("a\u{fffd}\u{fffd}b".to_owned(), 4)
        );
        // A character is never split.
        assert_eq!(cut("é".as_bytes(), 1), (String::new(), 0));
    }

    #[test]
    fn a_row_says_what_arrived_and_whether_it_was_cut() {
        let t = tenant();
        let errors = [FieldError {
            field: "type".into(),
            code: ErrorCode::UnknownEventType,
            message: format!("not {:?}", "v".repeat(1000)),
        }];
        let row = full_row(
            &[b'x'; 5000],
            ErrorCode::UnknownEventType.into(),
            &errors,
            t,
            at(0),
            4096,
        );
        assert_eq!(
            (row.reason.as_str(), row.kind),
            ("unknown_event_type", RowKind::Full)
        );
        assert_eq!(row.record.key, t.to_string().into_bytes());
        let row: serde_json::Value = serde_json::from_slice(&row.record.payload).expect("json");
        assert_eq!(row["kind"], "full");
        assert_eq!(row["tenant_id"], t.to_string());
        assert_eq!(row["payload"].as_str().map(str::len), Some(4096));
        assert_eq!(row["payload_bytes"], 5000);
        assert_eq!(row["truncated"], true);
        assert_eq!(row["errors_truncated"], false);
        assert_eq!(row["errors"][0]["code"], "unknown_event_type");
        assert!(row["errors"][0]["message"].as_str().expect("message").len() <= 256);

        let many: Vec<FieldError> = (0..100)
            .map(|i| FieldError {
                field: format!("attributes.k{i}"),
                code: ErrorCode::InvalidType,
                message: "m".repeat(300),
            })
            .collect();
        let (kept, cut_short) = cut_errors(&many);
        assert!(cut_short && !kept.is_empty() && kept.len() < 100);
    }

    #[test]
    fn a_summary_row_counts_a_minute() {
        let t = tenant();
        let row = summary_row(&Summary {
            tenant: t,
            reason: ErrorCode::InvalidJson.into(),
            minute: minute_of(at(30)),
            tally: Tally {
                rows: 7,
                payload_bytes: 35_000,
            },
        });
        assert_eq!(
            (row.reason.as_str(), row.kind),
            ("invalid_json", RowKind::Summary)
        );
        let v: serde_json::Value = serde_json::from_slice(&row.record.payload).expect("json");
        assert_eq!(v["kind"], "summary");
        assert_eq!(v["count"], 7);
        assert_eq!(v["payload_bytes"], 35_000);
        assert_eq!(v["received_at"], "2025-06-01T12:00:00Z");
        assert_eq!(v["until"], "2025-06-01T12:01:00Z");
        assert_eq!(row.record.key, t.to_string().into_bytes());
    }

    fn field_error() -> impl Strategy<Value = FieldError> {
        (any::<String>(), any::<String>()).prop_map(|(field, message)| FieldError {
            field,
            code: ErrorCode::InvalidType,
            message,
        })
    }

    proptest! {
        #[test]
        fn the_cut_is_exact_json_text(raw in proptest::collection::vec(any::<u8>(), 0..600), max in 0usize..700) {
            let (s, covered) = cut(&raw, max);
            let json = serde_json::to_string(&s).expect("json");
            prop_assert!(json.len() - 2 <= max);
            prop_assert_eq!(json.len() - 2, s.chars().map(escaped_len).sum::<usize>());
            prop_assert_eq!(s, String::from_utf8_lossy(&raw[..covered]).into_owned());
        }

        #[test]
        fn no_input_makes_a_row_longer_than_the_bound(
            raw in proptest::collection::vec(any::<u8>(), 0..3000),
            errors in proptest::collection::vec(field_error(), 0..40),
            max in 0usize..2000,
        ) {
            let row = full_row(&raw, ErrorCode::TooLarge.into(), &errors, tenant(), Utc::now(), max).record.payload;
            prop_assert!(row.len() <= max + ROW_OVERHEAD_BYTES, "{} > {}", row.len(), max + ROW_OVERHEAD_BYTES);
        }
    }
}
