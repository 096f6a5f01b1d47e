//! The ports: the small interfaces through which services reach the outside
//! world. Each has a production adapter (Kafka, Postgres, …) in its own
//! crate and, where useful, an in-process one; services depend only on these
//! traits, so routing and policy stay in the service and adapters stay
//! mechanism.

use std::error::Error;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::ids::{CampaignId, TenantId};

/// A failure of an outside system, as a service needs to see it: whether
/// a retry may help, and what went wrong. An adapter passes its own error
/// as the cause ([`PortError::caused_by`]) rather than its text, so the
/// chain of causes (a driver error, the I/O error under it) reaches the
/// logs; the port error says what its cause says and its
/// [`source`](Error::source) is the cause's own source, so no text is
/// repeated along the chain.
#[derive(Clone, Debug)]
pub struct PortError {
    /// Whether retrying later may succeed (unreachable, timed out, overloaded)
    /// as opposed to a request the system will always refuse.
    pub retryable: bool,
    cause: Cause,
}

/// What a [`PortError`] says. `Arc`, not `Box`, so the error stays `Clone`
/// (the event log hands one failure to every record of a batch).
#[derive(Clone, Debug)]
enum Cause {
    Message(String),
    Error(Arc<dyn Error + Send + Sync>),
}

impl PortError {
    /// A failure a later retry may not see.
    pub fn retryable(message: impl Into<String>) -> Self {
        Self {
            retryable: true,
            cause: Cause::Message(message.into()),
        }
    }

    /// A failure that will repeat.
    pub fn permanent(message: impl Into<String>) -> Self {
        Self {
            retryable: false,
            cause: Cause::Message(message.into()),
        }
    }

    /// A failure caused by `source`, an adapter's error.
    pub fn caused_by(retryable: bool, source: impl Into<Box<dyn Error + Send + Sync>>) -> Self {
        Self {
            retryable,
            cause: Cause::Error(Arc::from(source.into())),
        }
    }

    /// The adapter's error that caused this one, if any (to downcast).
    pub fn cause(&self) -> Option<&(dyn Error + Send + Sync + 'static)> {
        match &self.cause {
            Cause::Message(_) => None,
            Cause::Error(e) => Some(e.as_ref()),
        }
    }
}

impl fmt::Display for PortError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.cause {
            Cause::Message(m) => f.write_str(m),
            Cause::Error(e) => fmt::Display::fmt(e, f),
        }
    }
}

impl Error for PortError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match &self.cause {
            Cause::Message(_) => None,
            Cause::Error(e) => e.source(),
        }
    }
}

/// Two failures are equal when they say the same and agree on retrying
/// (causes are compared by what they say: errors are rarely comparable).
impl PartialEq for PortError {
    fn eq(&self, other: &Self) -> bool {
        self.retryable == other.retryable && self.to_string() == other.to_string()
    }
}

impl Eq for PortError {}

/// Which stream of the event log a record belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Stream {
    /// Accepted events, keyed by campaign id.
    Events,
    /// Refused input kept for operators, with the reason.
    Rejected,
    /// Window results: per campaign and flush, totals today and lifetime.
    CampaignMetrics,
}

/// One record to append to the event log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogRecord {
    /// Which stream.
    pub stream: Stream,
    /// Partitioning key (the campaign id for events).
    pub key: Vec<u8>,
    /// The value.
    pub payload: Vec<u8>,
    /// Metadata carried beside the value (tenant id, ingest time, trace context).
    pub headers: Vec<(&'static str, Vec<u8>)>,
}

/// The durable, partitioned event log (Kafka in production).
pub trait EventLog: Send + Sync + 'static {
    /// Appends `records`, resolving once each one is durable (replicated as
    /// configured) or has failed; results are in input order. Nothing may be
    /// reported `Ok` that the log could still lose.
    fn append(
        &self,
        records: Vec<LogRecord>,
    ) -> impl Future<Output = Vec<Result<(), PortError>>> + Send;

    /// Whether the log answers right now (for readiness probes).
    fn ready(&self) -> impl Future<Output = bool> + Send;

    /// Records handed over but not yet resolved.
    fn in_flight(&self) -> usize;

    /// Waits up to `timeout` for in-flight records to resolve.
    fn flush(&self, timeout: Duration) -> impl Future<Output = Result<(), PortError>> + Send;
}

/// One record as read back from a partition of the event log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsumedRecord {
    /// The partition it was read from.
    pub partition: i32,
    /// Its offset there.
    pub offset: i64,
    /// The key, if any.
    pub key: Option<Vec<u8>>,
    /// The value, if any.
    pub payload: Option<Vec<u8>>,
    /// Headers in order.
    pub headers: Vec<(String, Vec<u8>)>,
    /// When the record was written, in ms since the epoch.
    pub timestamp_ms: Option<i64>,
}

impl ConsumedRecord {
    /// The value of header `name`, if present.
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_slice())
    }
}

/// The events stream as the stream worker reads it: a member of a group,
/// handed partitions (and having them taken away) by the log. Offsets it is
/// told to remember are hints of where to resume reading, not the position
/// that counts (the worker keeps that with its results).
pub trait EventSource: Send + Sync + 'static {
    /// The next record of an assigned partition, or `None` if none arrives
    /// within `timeout`.
    fn recv(
        &self,
        timeout: Duration,
    ) -> impl Future<Output = Result<Option<ConsumedRecord>, PortError>> + Send;

    /// Partitions taken away since the last call.
    fn take_revoked(&self) -> Vec<i32>;

    /// Partitions given to this member since the last call; each is read
    /// from its hint (from the start without one).
    fn take_assigned(&self) -> Vec<i32>;

    /// Remembers `offset` as where to read `partition` from after a
    /// restart or a rebalance (losing it only means reading more).
    fn commit_hint(&self, partition: i32, offset: i64) -> Result<(), PortError>;

    /// The partition's end offset as last known, without waiting.
    fn high_watermark(&self, partition: i32) -> Option<i64>;

    /// How many partitions the stream has.
    fn partition_count(&self) -> Option<i32>;

    /// Leaves the group; partitions go to other members at once.
    fn leave(&self);
}

/// What a campaign's live counters hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveView {
    /// Lifetime totals, if written and not expired.
    pub totals: Option<LiveTotals>,
    /// The series' points of the last hour, oldest first.
    pub series: Vec<crate::aggregate::LivePoint>,
}

/// Lifetime totals as the live counters hold them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveTotals {
    /// The counts.
    pub counts: crate::aggregate::Counts,
    /// The version written with them.
    pub version: i64,
    /// When they were written.
    pub updated_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Live counters and the 5-second live series (Redis in production),
/// always written from committed state, never incremented.
pub trait LiveCounters: Send + Sync + 'static {
    /// Writes `totals` (each only if `version` is newer than the stored
    /// one) and the `series` points of the same campaigns (each only if it
    /// counts more events than the stored one); drops points older than the
    /// live window from `now`; totals expire `ttl` after their last write.
    /// Returns how many campaigns' totals were written.
    fn write_live(
        &self,
        totals: &[crate::aggregate::CampaignTotals],
        series: &[crate::aggregate::LivePoint],
        version: i64,
        now: chrono::DateTime<chrono::Utc>,
        ttl: Duration,
    ) -> impl Future<Output = Result<usize, PortError>> + Send;

    /// A campaign's live counters and its series of the last hour before
    /// `now`.
    fn read_live(
        &self,
        campaign: CampaignId,
        now: chrono::DateTime<chrono::Utc>,
    ) -> impl Future<Output = Result<LiveView, PortError>> + Send;
}

/// What an ingest key hash refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyStatus {
    /// No such key.
    Unknown,
    /// The key was revoked.
    Revoked,
    /// A live key of this tenant.
    Active(TenantId),
}

/// Who owns what: the lookups ingestion needs on every request (served from
/// a cache; see the gateway's `auth` module).
pub trait Directory: Send + Sync + 'static {
    /// The status of the ingest key with this SHA-256 hash.
    fn key_status(
        &self,
        key_hash: [u8; 32],
    ) -> impl Future<Output = Result<KeyStatus, PortError>> + Send;

    /// What ingestion and capping need of `campaign`, if it exists and is
    /// not deleted.
    fn campaign(
        &self,
        campaign: CampaignId,
    ) -> impl Future<Output = Result<Option<CampaignFacts>, PortError>> + Send;
}

/// What the gateway needs to know of a campaign: its owner (every event and
/// decision is checked against the key's tenant), and for frequency capping
/// its time zone and cap.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CampaignFacts {
    /// The owner.
    pub tenant: TenantId,
    /// IANA time zone name; calendar cap windows are local to it.
    pub timezone: String,
    /// The cap from the campaign's targeting, if any.
    pub frequency_cap: Option<crate::targeting::FrequencyCap>,
}
