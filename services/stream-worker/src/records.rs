//! Reading the gateway's records, and refusing the ones that cannot count.

use adpulse_backends::Log;
use adpulse_domain::ports::{EventLog as _, LogRecord, Stream};
use adpulse_domain::{Event, TenantId};
use adpulse_kafka::Record;
use chrono::{DateTime, Utc};

/// What the gateway wrote: the event, its tenant, when it arrived, and its
/// campaign's time zone.
pub(crate) struct Decoded {
    pub event: Event,
    pub tenant: TenantId,
    pub ingested_at: DateTime<Utc>,
    /// UTC when the record has none (written before the gateway sent it) or
    /// names no zone: the event's local day is then a UTC one, which
    /// reports in another zone never read.
    pub zone: chrono_tz::Tz,
}

/// Reads a record the gateway wrote.
pub(crate) fn decode(record: &Record) -> Result<Decoded, &'static str> {
    let payload = record.payload.as_deref().ok_or("undecodable: no value")?;
    let event: Event = serde_json::from_slice(payload).map_err(|_| "undecodable: not an event")?;
    let tenant = record
        .header("tenant_id")
        .and_then(|v| std::str::from_utf8(v).ok())
        .and_then(|s| s.parse::<uuid::Uuid>().ok())
        .map(TenantId::from_uuid)
        .ok_or("undecodable: no tenant_id header")?;
    let ingested_at = record
        .header("ingested_at")
        .and_then(|v| std::str::from_utf8(v).ok())
        .and_then(|s| s.parse::<i64>().ok())
        .and_then(DateTime::from_timestamp_millis)
        .unwrap_or_else(Utc::now);
    let zone = record
        .header("campaign_timezone")
        .and_then(|v| std::str::from_utf8(v).ok())
        .and_then(|s| s.parse().ok())
        .unwrap_or(chrono_tz::Tz::UTC);
    Ok(Decoded {
        event,
        tenant,
        ingested_at,
        zone,
    })
}

pub(crate) fn rejected_row(record: &Record, reason: &str, now: DateTime<Utc>) -> LogRecord {
    let payload = record.payload.as_deref().unwrap_or_default();
    let cut = payload.len().min(4096);
    let row = serde_json::json!({
        "received_at": now,
        "code": reason.split(':').next().unwrap_or(reason),
        "message": reason,
        "partition": record.partition,
        "offset": record.offset,
        "payload": String::from_utf8_lossy(&payload[..cut]),
        "truncated": cut < payload.len(),
    });
    LogRecord {
        stream: Stream::Rejected,
        key: record
            .header("tenant_id")
            .map(<[u8]>::to_vec)
            .unwrap_or_default(),
        payload: serde_json::to_vec(&row).unwrap_or_default(),
        headers: Vec::new(),
    }
}

pub(crate) async fn reject(log: &Log, row: LogRecord) {
    for r in log.append(vec![row]).await {
        if let Err(e) = r {
            tracing::warn!(error = %e, "rejected row not kept");
        }
    }
}
