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
//!   [`row::ROW_OVERHEAD_BYTES`]: the payload is cut to `rejected_payload_bytes`
//!   of JSON text (escapes count, so control bytes cannot make it six times
//!   longer), the field errors to [`row::ERRORS_BYTES`] (whole entries, each
//!   message and field cut first: a message may quote the bad value).
//!
//! The parts: [`bound`] decides which refusals are kept and counts the
//! rest, [`row`] builds the rows (the domain's
//! [`RejectedRow`](adpulse_domain::contract::rejected::RejectedRow)), and
//! this module charges budgets and writes rows.
//!
//! The volume is in metrics by reason, a closed set of codes:
//! `adpulse_gateway_bad_rows_total{reason,kind}` (rows written, `kind`
//! `full` or `summary`), `adpulse_gateway_bad_row_bytes_total{reason}`
//! (their bytes) and `adpulse_gateway_bad_rows_summarized_total{reason}`
//! (refusals counted in a summary instead of kept). Tenants are unbounded,
//! so they are no label; the log line `tenant over its bad-row bound` (once
//! per tenant and minute) names the tenant.

mod bound;
mod row;

use adpulse_domain::contract::reason::RejectionCode;

use adpulse_domain::{FieldError, TenantId};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};

pub(crate) use self::bound::RowBound;
use self::bound::Verdict;
pub(crate) use self::row::BadRow;
use self::row::{full_row, summary_row};
use crate::error::ApiError;
use crate::limit::Decision;
use crate::{Gateway, ingest, metrics};

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
        // Every code a refusal that reaches here can carry is a rejection
        // code; one that is not is a bug, and its row would say nothing a
        // reader could match on.
        let Ok(code) = e.code.parse::<RejectionCode>() else {
            debug_assert!(false, "{} is no rejection code", e.code);
            tracing::error!(
                code = e.code,
                "refusal without a rejection code; no bad row kept"
            );
            return e;
        };
        let mut rows = Vec::new();
        self.keep(&mut rows, raw, code, &e.errors, tenant, Utc::now());
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
        reason: RejectionCode,
        errors: &[FieldError],
        tenant: TenantId,
        now: DateTime<Utc>,
    ) {
        let mut due = Vec::new();
        let verdict = self.rows.admit(tenant, reason, raw.len(), now, &mut due);
        rows.extend(due.iter().map(summary_row));
        match verdict {
            Verdict::Keep => rows.push(full_row(
                raw,
                reason,
                errors,
                tenant,
                now,
                self.cfg.rejected_payload_bytes,
            )),
            Verdict::Count { first } => {
                metrics::bad_row_summarized(reason.as_str());
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
            .map(|r| (r.reason.as_str(), r.kind.as_str(), r.record.payload.len()))
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
