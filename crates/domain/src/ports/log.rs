//! The event log: appended to by the gateway (and the worker, for refused
//! and window results), consumed by the stream worker.

use std::time::Duration;

use super::PortError;

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
#[async_trait::async_trait]
pub trait EventLog: Send + Sync {
    /// Appends `records`, resolving once each one is durable (replicated as
    /// configured) or has failed; results are in input order. Nothing may be
    /// reported `Ok` that the log could still lose.
    async fn append(&self, records: Vec<LogRecord>) -> Vec<Result<(), PortError>>;

    /// Whether the log answers right now (for readiness probes).
    async fn ready(&self) -> bool;

    /// Records handed over but not yet resolved.
    fn in_flight(&self) -> usize;

    /// Waits up to `timeout` for in-flight records to resolve.
    async fn flush(&self, timeout: Duration) -> Result<(), PortError>;
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
#[async_trait::async_trait]
pub trait EventSource: Send + Sync {
    /// The next record of an assigned partition, or `None` if none arrives
    /// within `timeout`.
    async fn recv(&self, timeout: Duration) -> Result<Option<ConsumedRecord>, PortError>;

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
