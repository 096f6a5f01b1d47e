//! The rejected stream: what a refusal leaves behind, and how much of it.
//!
//! A refusal after authentication leaves a bad row on the rejected stream
//! (Kafka `adpulse.events.rejected.v1`, the embedded log's `rejected` stream
//! in `adpulse up`), so a tenant can see what its senders get wrong. Without
//! a bound that stream was a disk any key holder could fill at line rate:
//! 1,000 batches of 5 kB invalid JSON in 2.4 s left 4.3 MB, fsynced and kept
//! seven days by the embedded log. Three bounds now:
//!
//! - **Malformed requests cost a budget.** A request answered 400, 413 or
//!   415 (it never got as far as well-formed events) is charged to its
//!   tenant's refusal budget (`tenant_refusals_per_sec`, burst
//!   `tenant_refusal_burst`, see [`crate::limit`]). A sender that works
//!   never sends one, so the budget is small; over it the request is
//!   answered 429 and leaves no row, and the tenant's next requests are
//!   answered 429 before their body is read. Events with invalid fields
//!   (422, alone or in a batch) are not charged here: they were charged to
//!   the tenant's event rate before they were parsed, like accepted ones,
//!   and they are what a tenant that mostly works sends now and then (a
//!   campaign deleted while ad servers still show it), so a 202 batch with a
//!   bad event in it never costs refusal budget.
//! - **Rows per tenant and minute.** The first
//!   `rejected_rows_per_tenant_per_minute` refusals of a tenant in a UTC
//!   minute are kept in full; the rest are counted by reason, and when the
//!   minute is over one summary row per reason says how many there were and
//!   how many bytes arrived. Counting rather than sampling: every refusal
//!   stays accounted for in one small row, and the kept rows already are the
//!   examples to debug with. Per tenant and minute the stream thus holds at
//!   most N full rows plus one summary per reason (a closed set of codes).
//!   Summaries are written when the tenant's next refusal falls in a later
//!   minute, by the gateway's housekeeping (every minute, so a flood that
//!   stopped is summarised too), and at shutdown. Windows are per replica,
//!   like the rate limits.
//! - **Bytes per row.** A row is at most `rejected_payload_bytes` +
//!   [`ROW_OVERHEAD_BYTES`]: the payload is cut to `rejected_payload_bytes`
//!   of JSON text (escapes count, so control bytes cannot make it six times
//!   longer), the field errors to [`ERRORS_BYTES`] (whole entries, each
//!   message and field cut first: a message may quote the bad value).
//!
//! The volume is in metrics by reason, a closed set of codes:
//! `adpulse_gateway_bad_rows_total{reason,kind}` (rows written, `kind`
//! `full` or `summary`), `adpulse_gateway_bad_row_bytes_total{reason}`
//! (their bytes) and `adpulse_gateway_bad_rows_summarized_total{reason}`
//! (refusals counted in a summary instead of kept). Tenants are unbounded,
//! so they are no label; the log line `tenant over its bad-row bound` (once
//! per tenant and minute) names the tenant.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use adpulse_domain::ports::{LogRecord, Stream};
use adpulse_domain::{FieldError, TenantId};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};

use crate::error::ApiError;
use crate::limit::Decision;
use crate::{Gateway, ingest, metrics};

/// The most a bad row's field errors take, as JSON text.
pub const ERRORS_BYTES: usize = 2048;
/// The most a bad row takes besides its payload: the field errors and the
/// envelope (times, tenant, code, sizes, flags; about 250 bytes).
pub const ROW_OVERHEAD_BYTES: usize = ERRORS_BYTES + 512;
/// A field error's message or field path in a bad row, at most.
const ERROR_TEXT_BYTES: usize = 256;

/// Whether a refusal is of a malformed request, charged to the refusal
/// budget: the body is not JSON, not readable, too large, or of a type or
/// encoding the route does not take.
fn malformed(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::BAD_REQUEST
            | StatusCode::PAYLOAD_TOO_LARGE
            | StatusCode::UNSUPPORTED_MEDIA_TYPE
    )
}

/// How many bad rows one tenant keeps in full per minute, and the count of
/// the rest.
pub(crate) struct RowBound {
    per_minute: u32,
    /// Each tenant's current minute. One lock for all tenants, taken by
    /// refusals (rare in traffic that works) and housekeeping, held for a
    /// few map operations and never across an `.await`.
    minutes: Mutex<HashMap<TenantId, Minute>>,
}

/// One tenant's current minute.
struct Minute {
    /// Minutes since the Unix epoch, UTC.
    index: i64,
    kept: u32,
    /// Refusals past the bound, by reason (a handful at most).
    counted: Vec<(&'static str, Tally)>,
}

/// Refusals counted instead of kept.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Tally {
    /// How many.
    pub rows: u64,
    /// The bytes that arrived for them.
    pub payload_bytes: u64,
}

/// The refusals of one tenant, reason and minute that were counted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Summary {
    pub tenant: TenantId,
    pub reason: &'static str,
    /// Minutes since the Unix epoch, UTC.
    pub minute: i64,
    pub tally: Tally,
}

/// What to do with one refusal's bad row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Write it.
    Keep,
    /// Count it into the minute's summary; `first` when it is the tenant's
    /// first such refusal this minute.
    Count { first: bool },
}

fn minute_of(t: DateTime<Utc>) -> i64 {
    t.timestamp().div_euclid(60)
}

impl Minute {
    fn new(index: i64) -> Self {
        Self {
            index,
            kept: 0,
            counted: Vec::new(),
        }
    }

    fn close(&mut self, tenant: TenantId, due: &mut Vec<Summary>) {
        due.extend(self.counted.drain(..).map(|(reason, tally)| Summary {
            tenant,
            reason,
            minute: self.index,
            tally,
        }));
    }
}

impl RowBound {
    /// Keeps `per_minute` rows per tenant and minute.
    pub(crate) fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            minutes: Mutex::new(HashMap::new()),
        }
    }

    /// Decides for one refusal of `tenant` at `now` with `payload_bytes` of
    /// input. When the tenant's previous minute is over, its summaries are
    /// added to `due`.
    pub(crate) fn admit(
        &self,
        tenant: TenantId,
        reason: &'static str,
        payload_bytes: usize,
        now: DateTime<Utc>,
        due: &mut Vec<Summary>,
    ) -> Verdict {
        let index = minute_of(now);
        let mut minutes = self.minutes.lock().unwrap_or_else(PoisonError::into_inner);
        let m = minutes.entry(tenant).or_insert_with(|| Minute::new(index));
        // A clock stepped back stays in the later minute: the bound holds.
        if index > m.index {
            m.close(tenant, due);
            *m = Minute::new(index);
        }
        if m.kept < self.per_minute {
            m.kept += 1;
            return Verdict::Keep;
        }
        let first = m.counted.is_empty();
        let i = match m.counted.iter().position(|(r, _)| *r == reason) {
            Some(i) => i,
            None => {
                m.counted.push((reason, Tally::default()));
                m.counted.len() - 1
            }
        };
        let tally = &mut m.counted[i].1;
        tally.rows += 1;
        tally.payload_bytes += payload_bytes as u64;
        Verdict::Count { first }
    }

    /// The summaries of every minute over at `now` (of every minute, ended
    /// or not, when `all`), forgetting those minutes: the map holds only
    /// tenants refused this minute.
    pub(crate) fn drain(&self, now: DateTime<Utc>, all: bool) -> Vec<Summary> {
        let index = minute_of(now);
        let mut due = Vec::new();
        self.minutes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|tenant, m| {
                let over = all || m.index < index;
                if over {
                    m.close(*tenant, &mut due);
                }
                !over
            });
        due
    }
}

/// A bad row on its way to the rejected stream, with its metric labels.
pub(crate) struct BadRow {
    reason: &'static str,
    kind: &'static str,
    record: LogRecord,
}

impl Gateway {
    /// 429 when `tenant` is over its refusal budget: checked before any of
    /// the request is read, as reading it is the work a refusal wastes.
    pub(crate) fn refusal_gate(&self, tenant: TenantId) -> Result<(), ApiError> {
        match self.limiter.refusals_closed(tenant) {
            None => Ok(()),
            Some(wait) => {
                metrics::rejected("refusals_limited");
                Err(over_refusal_budget(self.limiter.refusal_rate(), wait))
            }
        }
    }

    /// A whole request refused with `e`, having read `raw` of it. A
    /// malformed request is charged to the tenant's refusal budget; over it,
    /// the answer is 429 and nothing is kept. Otherwise the refusal is
    /// counted and leaves a bad row (within the tenant's bound), and the
    /// answer is `e`.
    pub(crate) async fn refuse(&self, raw: &[u8], e: ApiError, tenant: TenantId) -> ApiError {
        if malformed(e.status)
            && let Decision::Limited { limit, retry_after } = self.limiter.refusal(tenant)
        {
            metrics::rejected("refusals_limited");
            return over_refusal_budget(limit, retry_after);
        }
        metrics::rejected(e.code);
        let mut rows = Vec::new();
        self.keep(&mut rows, raw, e.code, &e.errors, tenant, Utc::now());
        self.write_bad_rows(rows).await;
        e
    }

    /// Adds one refusal's bad row to `rows` if the tenant's minute has room,
    /// else counts it; the summaries of the tenant's previous minute, when
    /// it just ended, go along.
    pub(crate) fn keep(
        &self,
        rows: &mut Vec<BadRow>,
        raw: &[u8],
        reason: &'static str,
        errors: &[FieldError],
        tenant: TenantId,
        now: DateTime<Utc>,
    ) {
        let mut due = Vec::new();
        let verdict = self.rows.admit(tenant, reason, raw.len(), now, &mut due);
        rows.extend(due.iter().map(summary_row));
        match verdict {
            Verdict::Keep => rows.push(BadRow {
                reason,
                kind: "full",
                record: LogRecord {
                    stream: Stream::Rejected,
                    key: tenant.to_string().into_bytes(),
                    payload: full_row(
                        raw,
                        reason,
                        errors,
                        tenant,
                        now,
                        self.cfg.rejected_payload_bytes,
                    ),
                    headers: Vec::new(),
                },
            }),
            Verdict::Count { first } => {
                metrics::bad_row_summarized(reason);
                if first {
                    tracing::warn!(
                        tenant = %tenant,
                        per_minute = self.cfg.rejected_rows_per_tenant_per_minute,
                        "tenant over its bad-row bound; counting the rest of this minute's refusals"
                    );
                }
            }
        }
    }

    /// Appends bad rows; a failure is logged and counted, never fails the
    /// reply.
    pub(crate) async fn write_bad_rows(&self, rows: Vec<BadRow>) {
        if rows.is_empty() {
            return;
        }
        let labels: Vec<_> = rows
            .iter()
            .map(|r| (r.reason, r.kind, r.record.payload.len()))
            .collect();
        let records = rows.into_iter().map(|r| r.record).collect();
        for (result, (reason, kind, bytes)) in
            self.log.append(records).await.into_iter().zip(labels)
        {
            match result {
                Ok(()) => metrics::bad_row_written(reason, kind, bytes),
                Err(e) => {
                    tracing::warn!(error = %e, "bad row not kept on the rejected stream");
                    metrics::bad_row_lost();
                }
            }
        }
    }

    /// Writes the summaries of the minutes that are over (of all of them,
    /// at shutdown) and forgets the limiters' idle keys. The server calls it
    /// every minute.
    pub(crate) async fn housekeeping(&self, shutdown: bool) {
        if !shutdown {
            self.limiter.sweep();
        }
        let rows = self
            .rows
            .drain(Utc::now(), shutdown)
            .iter()
            .map(summary_row)
            .collect();
        self.write_bad_rows(rows).await;
    }
}

fn over_refusal_budget(limit: u32, wait: std::time::Duration) -> ApiError {
    ingest::limited(
        limit,
        wait.as_secs() + 1,
        "this tenant sent too many malformed requests; fix the sender, then retry",
    )
}

/// A summary row: how many refusals of one tenant and reason a minute
/// counted instead of keeping, and the bytes that arrived for them.
fn summary_row(s: &Summary) -> BadRow {
    let at = |minute: i64| DateTime::<Utc>::from_timestamp(minute.saturating_mul(60), 0);
    let row = serde_json::json!({
        "kind": "summary",
        "received_at": at(s.minute),
        "until": at(s.minute + 1),
        "tenant_id": s.tenant,
        "code": s.reason,
        "count": s.tally.rows,
        "payload_bytes": s.tally.payload_bytes,
    });
    BadRow {
        reason: s.reason,
        kind: "summary",
        record: LogRecord {
            stream: Stream::Rejected,
            key: s.tenant.to_string().into_bytes(),
            payload: serde_json::to_vec(&row).unwrap_or_default(),
            headers: Vec::new(),
        },
    }
}

/// A full bad row: what arrived (cut to `max_payload` bytes of JSON text),
/// why it was refused, whose it was and when. At most `max_payload` +
/// [`ROW_OVERHEAD_BYTES`] bytes.
fn full_row(
    raw: &[u8],
    code: &str,
    errors: &[FieldError],
    tenant: TenantId,
    now: DateTime<Utc>,
    max_payload: usize,
) -> Vec<u8> {
    let (payload, used) = cut(raw, max_payload);
    let (errors, errors_truncated) = cut_errors(errors);
    let row = serde_json::json!({
        "kind": "full",
        "received_at": now,
        "tenant_id": tenant,
        "code": code,
        "errors": errors,
        "payload": payload,
        "payload_bytes": raw.len(),
        "truncated": used < raw.len(),
        "errors_truncated": errors_truncated,
    });
    let row = serde_json::to_vec(&row).unwrap_or_default();
    debug_assert!(row.len() <= max_payload + ROW_OVERHEAD_BYTES);
    row
}

/// The longest prefix of `raw` whose JSON string text (invalid UTF-8
/// replaced, escapes counted) takes at most `max` bytes, and how many bytes
/// of `raw` it covers.
fn cut(raw: &[u8], max: usize) -> (String, usize) {
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
    fn a_tenant_keeps_n_rows_a_minute_and_counts_the_rest_by_reason() {
        let bound = RowBound::new(3);
        let (t, other) = (tenant(), tenant());
        let mut due = Vec::new();
        let verdicts: Vec<_> = (0..6)
            .map(|i| {
                let reason = if i % 2 == 0 {
                    "invalid_json"
                } else {
                    "too_old"
                };
                bound.admit(t, reason, 100, at(i), &mut due)
            })
            .collect();
        assert_eq!(
            verdicts,
            [
                Verdict::Keep,
                Verdict::Keep,
                Verdict::Keep,
                Verdict::Count { first: true },
                Verdict::Count { first: false },
                Verdict::Count { first: false },
            ]
        );
        assert_eq!(
            bound.admit(other, "invalid_json", 1, at(59), &mut due),
            Verdict::Keep,
            "per tenant"
        );
        assert!(due.is_empty(), "the minute is not over");

        // The next minute's first refusal closes the last one: one summary
        // per reason, with counts and bytes.
        assert_eq!(
            bound.admit(t, "invalid_json", 100, at(60), &mut due),
            Verdict::Keep
        );
        due.sort_by_key(|s| s.reason);
        assert_eq!(
            due,
            [
                Summary {
                    tenant: t,
                    reason: "invalid_json",
                    minute: minute_of(at(0)),
                    tally: Tally {
                        rows: 1,
                        payload_bytes: 100
                    },
                },
                Summary {
                    tenant: t,
                    reason: "too_old",
                    minute: minute_of(at(0)),
                    tally: Tally {
                        rows: 2,
                        payload_bytes: 200
                    },
                },
            ]
        );
    }

    #[test]
    fn minutes_are_utc_minutes_and_a_clock_stepping_back_stays_bounded() {
        let bound = RowBound::new(1);
        let t = tenant();
        let mut due = Vec::new();
        // 12:00:59 and 12:01:00 are different minutes.
        assert_eq!(bound.admit(t, "x", 1, at(59), &mut due), Verdict::Keep);
        assert_eq!(bound.admit(t, "x", 1, at(60), &mut due), Verdict::Keep);
        // Back to 12:00:30: still the later minute, whose row is taken.
        assert_eq!(
            bound.admit(t, "x", 1, at(30), &mut due),
            Verdict::Count { first: true }
        );
        assert!(due.is_empty());
    }

    #[test]
    fn housekeeping_summarises_minutes_that_are_over_and_forgets_them() {
        let bound = RowBound::new(0);
        let (quiet, busy) = (tenant(), tenant());
        let mut due = Vec::new();
        bound.admit(quiet, "too_old", 10, at(5), &mut due);
        bound.admit(busy, "too_old", 10, at(5), &mut due);
        bound.admit(busy, "too_old", 10, at(65), &mut due);
        assert_eq!(due.len(), 1, "busy's first minute closed by its refusal");
        assert!(bound.drain(at(59), false).is_empty(), "nothing is over yet");
        let over = bound.drain(at(70), false);
        assert_eq!(over.len(), 1);
        assert_eq!((over[0].tenant, over[0].tally.rows), (quiet, 1));
        assert!(bound.drain(at(70), false).is_empty(), "written once");
        // At shutdown the current minute goes too, and nothing is left.
        let last = bound.drain(at(70), true);
        assert_eq!((last[0].tenant, last[0].tally.rows), (busy, 1));
        assert!(bound.minutes.lock().expect("lock").is_empty());
    }

    #[test]
    fn a_minute_without_counted_refusals_leaves_no_summary() {
        let bound = RowBound::new(5);
        let t = tenant();
        let mut due = Vec::new();
        bound.admit(t, "x", 1, at(0), &mut due);
        bound.admit(t, "x", 1, at(61), &mut due);
        assert!(due.is_empty());
        assert!(bound.drain(at(600), true).is_empty());
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
        let row: serde_json::Value = serde_json::from_slice(&full_row(
            &[b'x'; 5000],
            "unknown_event_type",
            &errors,
            t,
            at(0),
            4096,
        ))
        .expect("json");
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
            reason: "invalid_json",
            minute: minute_of(at(30)),
            tally: Tally {
                rows: 7,
                payload_bytes: 35_000,
            },
        });
        assert_eq!((row.reason, row.kind), ("invalid_json", "summary"));
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
            let row = full_row(&raw, "too_large", &errors, tenant(), Utc::now(), max);
            prop_assert!(row.len() <= max + ROW_OVERHEAD_BYTES, "{} > {}", row.len(), max + ROW_OVERHEAD_BYTES);
        }
    }
}
