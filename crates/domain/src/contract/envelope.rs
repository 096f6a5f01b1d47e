//! An accepted event as a record of the events stream: keyed by its
//! campaign (so one campaign's events stay in order on one partition), the
//! event's canonical JSON as the value, and in headers what the worker needs
//! besides the event: its tenant, when the gateway took it, its campaign's
//! time zone (local days are aggregated in it) and the trace context.
//!
//! The gateway writes records with [`encode`], the worker reads them with
//! [`decode`]; the header names are the constants of [`header`], here only.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::event::Event;
use crate::ids::TenantId;
use crate::ports::{ConsumedRecord, LogRecord, Stream};

/// The names of an event record's headers.
pub mod header {
    /// The tenant that owns the event (a UUID, hyphenated).
    pub const TENANT_ID: &str = "tenant_id";
    /// When the gateway took the event, in ms since the Unix epoch.
    pub const INGESTED_AT: &str = "ingested_at";
    /// The IANA name of the campaign's time zone.
    pub const CAMPAIGN_TIMEZONE: &str = "campaign_timezone";
    /// The W3C trace context, when the request had one.
    pub const TRACEPARENT: &str = "traceparent";
}

/// The headers every event of one request shares, formatted once per
/// request rather than once per event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SharedHeaders {
    tenant: Vec<u8>,
    ingested_at: Vec<u8>,
    traceparent: Option<Vec<u8>>,
}

impl SharedHeaders {
    /// The headers of events of `tenant` taken at `ingested_at` (kept to
    /// the millisecond), in the trace `traceparent`.
    pub fn new(tenant: TenantId, ingested_at: DateTime<Utc>, traceparent: Option<String>) -> Self {
        Self {
            tenant: tenant.to_string().into_bytes(),
            ingested_at: ingested_at.timestamp_millis().to_string().into_bytes(),
            traceparent: traceparent.map(String::into_bytes),
        }
    }
}

/// The record of an accepted `event` whose campaign is local to `zone`.
pub fn encode(event: &Event, zone: &str, shared: &SharedHeaders) -> LogRecord {
    let mut headers = Vec::with_capacity(4);
    headers.push((header::TENANT_ID, shared.tenant.clone()));
    headers.push((header::INGESTED_AT, shared.ingested_at.clone()));
    headers.push((header::CAMPAIGN_TIMEZONE, zone.as_bytes().to_vec()));
    if let Some(t) = &shared.traceparent {
        headers.push((header::TRACEPARENT, t.clone()));
    }
    LogRecord {
        stream: Stream::Events,
        key: event.campaign_id.to_string().into_bytes(),
        payload: event.to_json(),
        headers,
    }
}

/// An event record as read back.
#[derive(Clone, Debug, PartialEq)]
pub struct EventEnvelope {
    /// The event.
    pub event: Event,
    /// Its tenant.
    pub tenant: TenantId,
    /// When the gateway took it; `None` when the header is absent or not a
    /// time.
    pub ingested_at: Option<DateTime<Utc>>,
    /// Its campaign's time zone; `None` when the header is absent (records
    /// written before the gateway sent it) or names no zone.
    pub zone: Option<Tz>,
    /// The trace context, if any.
    pub traceparent: Option<String>,
}

/// Why a record is not an event record. The texts are the ones the worker's
/// rejected rows always said after `undecodable: `.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The record has no value.
    #[error("no value")]
    NoValue,
    /// The value is not an event's JSON.
    #[error("not an event")]
    NotAnEvent(#[source] serde_json::Error),
    /// The tenant header is absent or not a UUID.
    #[error("no tenant_id header")]
    NoTenant,
}

/// Reads an event record the gateway wrote.
pub fn decode(record: &ConsumedRecord) -> Result<EventEnvelope, DecodeError> {
    let payload = record.payload.as_deref().ok_or(DecodeError::NoValue)?;
    let event: Event = serde_json::from_slice(payload).map_err(DecodeError::NotAnEvent)?;
    let text = |name| {
        record
            .header(name)
            .and_then(|v| std::str::from_utf8(v).ok())
    };
    let tenant = text(header::TENANT_ID)
        .and_then(|s| s.parse::<uuid::Uuid>().ok())
        .map(TenantId::from_uuid)
        .ok_or(DecodeError::NoTenant)?;
    let ingested_at = text(header::INGESTED_AT)
        .and_then(|s| s.parse::<i64>().ok())
        .and_then(DateTime::from_timestamp_millis);
    Ok(EventEnvelope {
        event,
        tenant,
        ingested_at,
        zone: text(header::CAMPAIGN_TIMEZONE).and_then(|s| s.parse().ok()),
        traceparent: text(header::TRACEPARENT).map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Limits, parse_event};

    fn event() -> Event {
        let body = serde_json::json!({
            "event_id": "0190a6b8-0000-7000-8000-000000000001",
            "campaign_id": "0190a6b8-0000-7000-8000-000000000002",
            "ad_id": "ad-1",
            "type": "click",
            "channel": "search",
            "occurred_at": "2025-06-01T12:00:00Z",
            "cost_micros": 1500,
        });
        let now = "2025-06-01T12:00:01Z".parse().expect("time");
        parse_event(body.to_string().as_bytes(), &Limits::default(), now).expect("event")
    }

    fn consumed(r: LogRecord) -> ConsumedRecord {
        ConsumedRecord {
            partition: 0,
            offset: 7,
            key: Some(r.key),
            payload: Some(r.payload),
            headers: r
                .headers
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
            timestamp_ms: None,
        }
    }

    #[test]
    fn a_record_reads_back_as_what_was_written() {
        let e = event();
        let tenant = TenantId::from_uuid(uuid::Uuid::new_v4());
        let at = DateTime::from_timestamp_millis(1_748_779_200_123).expect("time");
        let trace = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        let shared = SharedHeaders::new(tenant, at, Some(trace.to_owned()));
        let record = encode(&e, "Europe/Berlin", &shared);
        assert_eq!(record.stream, Stream::Events);
        assert_eq!(record.key, e.campaign_id.to_string().into_bytes());
        let back = decode(&consumed(record)).expect("decoded");
        assert_eq!(
            back,
            EventEnvelope {
                event: e,
                tenant,
                ingested_at: Some(at),
                zone: Some(chrono_tz::Europe::Berlin),
                traceparent: Some(trace.to_owned()),
            }
        );
    }

    /// The headers on the wire: names, order and value formats.
    #[test]
    fn the_headers_are_the_ones_the_events_stream_always_carried() {
        let tenant = TenantId::from_uuid(uuid::Uuid::nil());
        let at = DateTime::from_timestamp_millis(1_748_779_200_123).expect("time");
        let record = encode(&event(), "UTC", &SharedHeaders::new(tenant, at, None));
        let headers: Vec<(&str, &[u8])> = record
            .headers
            .iter()
            .map(|(k, v)| (*k, v.as_slice()))
            .collect();
        assert_eq!(
            headers,
            [
                ("tenant_id", &b"00000000-0000-0000-0000-000000000000"[..]),
                ("ingested_at", b"1748779200123"),
                ("campaign_timezone", b"UTC"),
            ]
        );
    }

    #[test]
    fn what_the_gateway_does_not_write_is_refused_or_left_out() {
        let tenant = TenantId::from_uuid(uuid::Uuid::new_v4());
        let good = consumed(encode(
            &event(),
            "Mars/Olympus",
            &SharedHeaders::new(tenant, Utc::now(), None),
        ));
        let d = decode(&good).expect("decoded");
        assert_eq!((d.zone, d.traceparent), (None, None));

        let mut r = good.clone();
        r.payload = None;
        assert!(matches!(decode(&r), Err(DecodeError::NoValue)));
        r.payload = Some(b"{}".to_vec());
        assert!(matches!(decode(&r), Err(DecodeError::NotAnEvent(_))));
        let mut r = good.clone();
        r.headers.retain(|(k, _)| k != header::TENANT_ID);
        assert_eq!(
            decode(&r).map(|_| ()).map_err(|e| e.to_string()),
            Err("no tenant_id header".to_owned())
        );
        let mut r = good;
        r.headers.retain(|(k, _)| k != header::INGESTED_AT);
        assert_eq!(decode(&r).expect("decoded").ingested_at, None);
    }
}
