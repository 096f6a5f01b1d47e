//! What a partition consumed since its last flush, waiting to be flushed.

use std::time::Instant;

use adpulse_domain::aggregate::{AggregateBatch, SumOverflow};
use adpulse_domain::archive::RawEvent;

/// What a partition consumed since its last flush was handed off: the
/// events to count, in offset order (three columns of one list).
#[derive(Default)]
pub(crate) struct Pending {
    pub raw: Vec<RawEvent>,
    /// Each event's offset.
    pub offsets: Vec<i64>,
    /// Each event's campaign's time zone.
    pub zones: Vec<chrono_tz::Tz>,
    /// Identity links (weak → strong id, scoped by tenant) the batch's
    /// events teach frequency capping.
    pub links: Vec<(String, String)>,
    /// When the first record of this batch was consumed.
    pub oldest: Option<Instant>,
    /// A `process` span for each traced event (a child of the gateway's
    /// request span), open until the batch's flush ends.
    pub spans: Vec<tracing::Span>,
}

impl Pending {
    /// Events held.
    pub fn len(&self) -> usize {
        self.raw.len()
    }

    /// Keeps the events `keep` says to, in order.
    pub(crate) fn retain(&mut self, keep: &[bool]) {
        let mut i = 0..;
        self.raw.retain(|_| keep[i.next().unwrap_or(0)]);
        let mut i = 0..;
        self.offsets.retain(|_| keep[i.next().unwrap_or(0)]);
        let mut i = 0..;
        self.zones.retain(|_| keep[i.next().unwrap_or(0)]);
    }

    /// Drops the first `n` events (committed or dead-lettered).
    pub(crate) fn drain_front(&mut self, n: usize) {
        self.raw.drain(..n);
        self.offsets.drain(..n);
        self.zones.drain(..n);
    }

    /// The batch of the first `n` events.
    pub(crate) fn batch_of(&self, n: usize) -> Result<AggregateBatch, SumOverflow> {
        let mut batch = AggregateBatch::default();
        for (r, zone) in self.raw.iter().zip(&self.zones).take(n) {
            batch.add(&r.event, r.tenant, *zone)?;
        }
        Ok(batch)
    }
}
