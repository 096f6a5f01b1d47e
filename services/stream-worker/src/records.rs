//! Reading the gateway's records, and refusing the ones that cannot count.

use adpulse_domain::archive::RawEvent;
use adpulse_domain::contract::envelope::{self, DecodeError};
use adpulse_domain::contract::reason::RejectionCode;
use adpulse_domain::contract::rejected::RejectedRow;
use adpulse_domain::ports::ConsumedRecord as Record;
use adpulse_domain::ports::{EventLog, LogRecord, PortError};
use adpulse_domain::{ErrorCode, Event, TenantId};
use chrono::{DateTime, Utc};

/// What the gateway wrote: the event, its tenant, when it arrived, and its
/// campaign's time zone.
pub(crate) struct Decoded {
    pub event: Event,
    pub tenant: TenantId,
    /// Now when the record does not say.
    pub ingested_at: DateTime<Utc>,
    /// UTC when the record has none (written before the gateway sent it) or
    /// names no zone: the event's local day is then a UTC one, which
    /// reports in another zone never read.
    pub zone: chrono_tz::Tz,
    /// The trace the gateway's request span was in, if it was traced.
    pub traceparent: Option<String>,
}

/// Reads a record the gateway wrote.
pub(crate) fn decode(record: &Record) -> Result<Decoded, Refusal> {
    let e = envelope::decode(record).map_err(Refusal::Undecodable)?;
    Ok(Decoded {
        event: e.event,
        tenant: e.tenant,
        ingested_at: e.ingested_at.unwrap_or_else(Utc::now),
        zone: e.zone.unwrap_or(chrono_tz::Tz::UTC),
        traceparent: e.traceparent,
    })
}

/// Why the worker refused a record the gateway had accepted. Each kind is
/// kept on the rejected stream with its `code`, so ops can see, replay or
/// delete it; none blocks the partition.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// The record is not what the gateway writes.
    Undecodable(DecodeError),
    /// `occurred_at` fell behind the retention horizon while it waited.
    TooOld,
    /// It would take its campaign's lifetime cost or revenue past
    /// [`adpulse_domain::aggregate::CAMPAIGN_MAX_MICROS`].
    CampaignTotalExceeded(adpulse_domain::aggregate::CampaignTotalExceeded),
    /// A sum of its batch would leave `i64`.
    SumOverflow,
    /// The store refuses its values, alone (found by isolating it).
    Unstorable(adpulse_domain::store::Cause),
}

impl Refusal {
    /// The stable code of the rejected row.
    pub fn reason(&self) -> RejectionCode {
        match self {
            Self::Undecodable(_) => RejectionCode::Undecodable,
            Self::TooOld => RejectionCode::Event(ErrorCode::TooOld),
            Self::CampaignTotalExceeded(_) => RejectionCode::CampaignTotalExceeded,
            Self::SumOverflow => RejectionCode::SumOverflow,
            Self::Unstorable(_) => RejectionCode::Unstorable,
        }
    }

    /// The code as the metric's label.
    pub fn code(&self) -> &'static str {
        self.reason().as_str()
    }

    fn message(&self) -> String {
        match self {
            Self::Undecodable(why) => format!("undecodable: {why}"),
            Self::TooOld => "older than the retention horizon".into(),
            Self::CampaignTotalExceeded(e) => e.to_string(),
            Self::SumOverflow => "a sum of its batch would overflow".into(),
            Self::Unstorable(why) => format!("the store refuses its values: {why}"),
        }
    }
}

/// The rejected-stream row for `payload` (cut to 4 kB) read at `partition`
/// and `offset`, refused for `reason`; keyed by its tenant when known.
pub(crate) fn rejected_row(
    at: (i32, i64),
    payload: &[u8],
    tenant: Option<&[u8]>,
    reason: &Refusal,
    now: DateTime<Utc>,
) -> LogRecord {
    let cut = payload.len().min(4096);
    let row = RejectedRow {
        message: Some(reason.message()),
        partition: Some(at.0),
        offset: Some(at.1),
        payload: Some(String::from_utf8_lossy(&payload[..cut]).into_owned()),
        truncated: Some(cut < payload.len()),
        ..RejectedRow::new(reason.reason(), Some(now))
    };
    row.to_record(tenant.map(<[u8]>::to_vec).unwrap_or_default())
}

/// The rejected-stream row of a record as read.
pub(crate) fn record_row(record: &Record, reason: &Refusal, now: DateTime<Utc>) -> LogRecord {
    rejected_row(
        (record.partition, record.offset),
        record.payload.as_deref().unwrap_or_default(),
        record.header(envelope::header::TENANT_ID),
        reason,
        now,
    )
}

/// The rejected-stream row of a decoded event at `at`, in its canonical
/// form.
pub(crate) fn event_row(at: (i32, i64), raw: &RawEvent, reason: &Refusal) -> LogRecord {
    let tenant = raw.tenant.to_string();
    rejected_row(
        at,
        &raw.event.to_json(),
        Some(tenant.as_bytes()),
        reason,
        Utc::now(),
    )
}

/// Appends `rows` to the rejected stream, best effort: for refusals made
/// before an event joins a batch, which a replay makes again.
pub(crate) async fn reject(log: &dyn EventLog, row: LogRecord) {
    if let Err(e) = keep(log, vec![row]).await {
        tracing::warn!(error = %e, "rejected row not kept");
    }
}

/// Appends `rows` to the rejected stream; fails unless every one was
/// acknowledged. A flush that dead-letters an event moves past it only
/// after this succeeded, so an acknowledged event is counted or kept.
pub(crate) async fn keep(log: &dyn EventLog, rows: Vec<LogRecord>) -> Result<(), PortError> {
    for r in log.append(rows).await {
        r?;
    }
    Ok(())
}
