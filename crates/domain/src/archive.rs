//! The raw-event archive's records, whichever adapter keeps them (a CQL
//! cluster in production, a SQLite file embedded): what the stream worker
//! writes and what the API pages through.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{Event, TenantId};

/// An event to archive, with its tenant and when adpulse received it.
pub struct RawEvent {
    /// The event.
    pub event: Event,
    /// Its tenant.
    pub tenant: TenantId,
    /// When the gateway accepted it.
    pub ingested_at: DateTime<Utc>,
}

/// One archived event, as read back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArchivedEvent {
    /// The sender's id.
    pub event_id: Uuid,
    /// Its tenant.
    pub tenant_id: Uuid,
    /// Impression, click or conversion.
    pub event_type: String,
    /// The channel.
    pub channel: String,
    /// The creative.
    pub ad_id: String,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// When adpulse received it.
    pub ingested_at: Option<DateTime<Utc>>,
    /// The user's ids, as sent.
    pub device_id: Option<String>,
    /// A browser cookie id.
    pub cookie_id: Option<String>,
    /// The publisher's login id.
    pub login_id: Option<String>,
    /// SHA-256 of the e-mail address.
    pub email_sha256: Option<String>,
    /// Cost.
    pub cost_micros: i64,
    /// Revenue.
    pub revenue_micros: i64,
    /// Free-form dimensions.
    pub attributes: BTreeMap<String, String>,
}

/// Where a page of events starts: just after this event (newest first).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventCursor {
    /// The last event's time.
    pub occurred_at: DateTime<Utc>,
    /// The last event's id.
    pub event_id: Uuid,
}
