//! The stream worker: turns the event log into exact aggregates, the raw
//! event archive and live counters.
//!
//! A member of a Kafka consumer group; partitions are processed
//! independently. For each partition it owns, the worker
//!
//! 1. **claims** it in Postgres (bumping its epoch, which fences any previous
//!    owner) and learns the next offset to apply;
//! 2. reads from Kafka's committed offset (a hint kept at or before the
//!    oldest event id still inside the dedup horizon), so records before the
//!    next offset only **rebuild the dedup set**;
//! 3. decodes, drops resends of an `event_id` already counted, refuses
//!    events older than retention (to the rejected topic), and adds the rest
//!    to a batch;
//! 4. hands a batch that is full or old enough to a **flush** task
//!    ([`flush`]) and goes on consuming: CQL rows, then one fenced Postgres
//!    transaction (aggregates, live series, next offset), then Redis from
//!    the committed state. One flush per partition is in flight at a time.
//!
//! A crash anywhere replays from the committed offset and converges to the
//! same state; nothing is counted twice.

mod dedup;
mod flush;
mod health;
mod links;
mod metrics;
mod pending;
mod records;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use adpulse_config::Config;
use adpulse_domain::CampaignId;
use adpulse_domain::aggregate::{Headroom, LIVE_WINDOW_SECS};
use adpulse_domain::archive::RawEvent;
use adpulse_domain::ports::{ConsumedRecord as Record, EventSource};
use adpulse_domain::store::Claim;
use adpulse_domain::switch::{Sink, Switchboard};
use chrono::Utc;
use tokio::task::JoinSet;

use crate::dedup::Dedup;
pub use crate::flush::{IdentityLinks, Sinks};
use crate::flush::{Job, Outcome, Pending};
pub use crate::health::serve;
use crate::links::Taught;

/// A worker that cannot start or had to stop, with the error that made it.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// A system the worker needs failed, or refused what it was given.
    #[error("stream worker: {0}")]
    Dependency(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A flush task panicked or was cancelled: a bug.
    #[error("stream worker: a flush task failed: {0}")]
    FlushTask(#[source] tokio::task::JoinError),
}

fn err(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> WorkerError {
    WorkerError::Dependency(e.into())
}

/// What one owned partition holds.
struct Part {
    /// The committed position (as of the last flush that completed).
    claim: Claim,
    /// The offset after the last record consumed (≥ `claim.next_offset`).
    next: i64,
    /// Consumed since the last hand-off to a flush.
    pending: Pending,
    dedup: Dedup,
    /// Set while a flush of this partition runs; raising it makes the
    /// flush stop retrying.
    in_flight: Option<Arc<AtomicBool>>,
    /// Campaigns whose live counters could not be written since their last
    /// commit (Redis down); retried until written.
    stale_live: BTreeSet<CampaignId>,
    /// The lifetime sums of the partition's campaigns; lent to the flush
    /// in flight (`None` meanwhile), which hands it back updated.
    headroom: Option<Headroom>,
}

/// A running stream worker: a member of the worker group of the events
/// stream, writing to its sinks.
pub struct Worker {
    cfg: Arc<Config>,
    consumer: Box<dyn EventSource>,
    sinks: Arc<Sinks>,
    parts: HashMap<i32, Part>,
    flushes: JoinSet<(i32, Outcome)>,
    /// Partitions another member claimed from us, until a rebalance.
    fenced: HashSet<i32>,
    /// Identity links handed to a flush lately.
    taught: Taught,
    /// Events older than this are refused (`too_old`).
    retention: chrono::Duration,
    health: adpulse_http::Health,
    /// The kill switches in force (none unless the caller follows them).
    switches: Switchboard,
}

impl Worker {
    /// A worker reading `source` (already a member of the worker group)
    /// into `sinks`.
    pub fn new(cfg: Config, source: Box<dyn EventSource>, sinks: Sinks) -> Self {
        metrics::describe();
        let taught = Taught::new(sinks.links.is_some());
        let retention = chrono::Duration::days(
            i64::try_from(cfg.limits.retention_days).unwrap_or(i64::MAX / 86_400_000),
        );
        let sinks = Arc::new(sinks);
        Self {
            switches: Switchboard::default(),
            health: health::health(&sinks),
            cfg: Arc::new(cfg),
            consumer: source,
            sinks,
            parts: HashMap::new(),
            flushes: JoinSet::new(),
            fenced: HashSet::new(),
            taught,
            retention,
        }
    }

    /// Follows the kill switches of `board` (pausing the live counters).
    #[must_use]
    pub fn with_switches(mut self, board: Switchboard) -> Self {
        self.switches = board;
        self
    }

    fn live_paused(&self) -> bool {
        self.switches.now().sink_paused(Sink::Live)
    }

    /// Its readiness (every clone shares the draining flag).
    pub fn health(&self) -> adpulse_http::Health {
        self.health.clone()
    }

    /// Processes until `shutdown` resolves, then flushes what it holds and
    /// leaves the group.
    pub async fn run(mut self, shutdown: impl Future<Output = ()>) -> Result<(), WorkerError> {
        tokio::pin!(shutdown);
        let poll = Duration::from_millis(self.cfg.worker.max_batch_wait_ms.clamp(10, 100));
        // Once a second: retry stale live counters; every fifth: lag;
        // every minute: prune the live series.
        let (mut last_tick, mut ticks) = (Instant::now(), 0u32);
        let mut last_prune = Instant::now();
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                Some(done) = self.flushes.join_next(), if !self.flushes.is_empty() => {
                    self.flushed(done)?;
                }
                r = self.consumer.recv(poll) => match r {
                    Ok(Some(record)) => self.on_record(record).await?,
                    Ok(None) => {}
                    Err(e) => tracing::warn!(error = %e, "event log consume failed"),
                },
            }
            for p in self.consumer.take_revoked() {
                self.give_up(p).await?;
                tracing::info!(partition = p, "partition revoked");
            }
            for p in self.consumer.take_assigned() {
                self.fenced.remove(&p);
            }
            self.start_due_flushes();
            if last_tick.elapsed() >= Duration::from_secs(1) {
                last_tick = Instant::now();
                ticks += 1;
                self.retry_stale_live().await;
            }
            if last_prune.elapsed() >= Duration::from_secs(60) {
                last_prune = Instant::now();
                self.prune_live_series().await;
            }
            if ticks >= 5 {
                ticks = 0;
                for (p, part) in &self.parts {
                    if let Some(high) = self.consumer.high_watermark(*p) {
                        metrics::lag(*p, (high - part.next).max(0));
                    }
                }
            }
        }
        let stopped = self.stop().await;
        self.consumer.leave();
        stopped?;
        tracing::info!("stream worker stopped");
        Ok(())
    }

    /// One record of the events stream: claims its partition on first
    /// sight, skips what is applied or already batched (rebuilding the
    /// dedup set from the first), refuses what cannot be counted, and adds
    /// the rest to the partition's batch, handing a full batch to a flush.
    async fn on_record(&mut self, record: Record) -> Result<(), WorkerError> {
        let p = record.partition;
        if self.fenced.contains(&p) {
            return Ok(());
        }
        if !self.parts.contains_key(&p) {
            self.adopt(p).await?;
        }
        let Some(part) = self.parts.get_mut(&p) else {
            return Ok(());
        };
        let now = Utc::now();
        let ts_ms = record
            .timestamp_ms
            .unwrap_or_else(|| now.timestamp_millis());
        let decoded = records::decode(&record);

        if record.offset < part.claim.next_offset {
            // Already applied: only rebuild the dedup set.
            if let Ok(d) = &decoded {
                let key = (d.event.campaign_id, d.event.event_id);
                part.dedup.insert(key, ts_ms, record.offset);
            }
            return Ok(());
        }
        if record.offset < part.next {
            return Ok(()); // delivered again after a reconnect; already in a batch
        }
        part.next = record.offset + 1;
        part.pending.oldest.get_or_insert_with(Instant::now);

        let d = match decoded {
            Ok(d) => d,
            Err(reason) => return self.refuse(&record, &reason, now).await,
        };
        if !part.dedup.insert(
            (d.event.campaign_id, d.event.event_id),
            ts_ms,
            record.offset,
        ) {
            metrics::duplicate();
            return Ok(());
        }
        if d.event.occurred_at < now - self.retention {
            return self.refuse(&record, &records::Refusal::TooOld, now).await;
        }
        if let Some(parent) = d.traceparent.as_deref()
            && adpulse_telemetry::exporting()
        {
            let span = tracing::info_span!(
                "process",
                partition = p,
                offset = record.offset,
                event_id = %d.event.event_id,
                outcome = tracing::field::Empty
            );
            adpulse_telemetry::continue_trace(&span, parent);
            part.pending.spans.push(span);
        }
        part.pending.offsets.push(record.offset);
        part.pending.zones.push(d.zone);
        let links = self.taught.fresh(d.event.user.as_ref(), d.tenant);
        part.pending.links.extend(links);
        part.pending.raw.push(RawEvent {
            event: d.event,
            tenant: d.tenant,
            ingested_at: d.ingested_at,
        });
        if part.pending.len() >= self.cfg.worker.max_batch_events {
            // Full: hand it off, first waiting for the partition's previous
            // flush (this is where consumption slows to the sinks' pace,
            // and pauses while a sink is down).
            self.wait_for_flush(p).await?;
            self.start_flush(p);
        }
        Ok(())
    }

    /// Takes partition `p` on: claims it (fencing its previous owner),
    /// repairs its campaigns' live counters and starts its state.
    async fn adopt(&mut self, p: i32) -> Result<(), WorkerError> {
        let claim = self.claim(p).await?;
        tracing::info!(
            partition = p,
            epoch = claim.epoch,
            next_offset = claim.next_offset,
            "partition claimed"
        );
        let stale_live = self.repair_live(p, &claim).await;
        let horizon = i64::try_from(self.cfg.worker.dedup_horizon_secs.saturating_mul(1000))
            .unwrap_or(i64::MAX);
        self.parts.insert(
            p,
            Part {
                next: claim.next_offset,
                claim,
                pending: Pending::default(),
                dedup: Dedup::new(horizon),
                in_flight: None,
                stale_live,
                headroom: Some(Headroom::default()),
            },
        );
        Ok(())
    }

    /// Keeps `record` on the rejected stream with `reason`.
    async fn refuse(
        &self,
        record: &Record,
        reason: &records::Refusal,
        now: chrono::DateTime<Utc>,
    ) -> Result<(), WorkerError> {
        metrics::rejected(reason.code());
        let row = records::record_row(record, reason, now);
        records::reject(&*self.sinks.log, row).await;
        Ok(())
    }

    /// Hands every partition whose oldest unflushed record waited long
    /// enough (and has no flush running) to a flush task.
    fn start_due_flushes(&mut self) {
        let wait = Duration::from_millis(self.cfg.worker.max_batch_wait_ms);
        let due: Vec<i32> = self
            .parts
            .iter()
            .filter(|(_, part)| part.pending.oldest.is_some_and(|t| t.elapsed() >= wait))
            .map(|(p, _)| *p)
            .collect();
        for p in due {
            self.start_flush(p);
        }
    }

    /// Starts a flush of what `p` consumed, unless one is running or there
    /// is nothing to commit.
    fn start_flush(&mut self, p: i32) {
        let skip_live = self.live_paused();
        let Some(part) = self.parts.get_mut(&p) else {
            return;
        };
        if part.in_flight.is_some() || part.next == part.claim.next_offset {
            return;
        }
        let give_up = Arc::new(AtomicBool::new(false));
        part.in_flight = Some(Arc::clone(&give_up));
        let mut job = Job::new(
            part.claim.clone(),
            part.next,
            std::mem::take(&mut part.pending),
            part.dedup
                .oldest_offset()
                .unwrap_or(part.next)
                .min(part.next),
            give_up,
            part.headroom.take().unwrap_or_default(),
        );
        job.skip_live = skip_live;
        self.flushes.spawn(flush::run(
            Arc::clone(&self.sinks),
            Arc::clone(&self.cfg),
            job,
        ));
    }

    /// Waits until `p` has no flush running (handling every flush that
    /// completes meanwhile).
    async fn wait_for_flush(&mut self, p: i32) -> Result<(), WorkerError> {
        while self
            .parts
            .get(&p)
            .is_some_and(|part| part.in_flight.is_some())
        {
            match self.flushes.join_next().await {
                Some(done) => self.flushed(done)?,
                None => break,
            }
        }
        Ok(())
    }

    /// Takes in the result of a flush task. A flush task that panicked is a
    /// bug: the worker stops (its replacement replays from the committed
    /// offsets) rather than guess what that flush did.
    fn flushed(
        &mut self,
        done: Result<(i32, Outcome), tokio::task::JoinError>,
    ) -> Result<(), WorkerError> {
        let (p, outcome) = done.map_err(WorkerError::FlushTask)?;
        match outcome {
            Outcome::Applied {
                claim,
                hint,
                stale,
                headroom,
            } => {
                if let Some(part) = self.parts.get_mut(&p) {
                    part.claim = claim;
                    part.in_flight = None;
                    part.stale_live.extend(stale);
                    part.headroom = Some(headroom);
                }
                if let Err(e) = self.consumer.commit_hint(p, hint) {
                    tracing::debug!(partition = p, error = %e, "offset hint not committed");
                }
            }
            Outcome::GaveUp => {
                // Whatever was consumed after the batch cannot commit before
                // it: drop the partition; its next owner replays from the
                // committed offset.
                self.parts.remove(&p);
            }
            Outcome::Fenced => {
                // Another member owns it: ignore its records until a
                // rebalance gives it back (reading from the committed
                // offset again), or we would claim it back and fence them.
                self.parts.remove(&p);
                self.fenced.insert(p);
            }
        }
        Ok(())
    }

    /// Gives a partition up (rebalance): lets its running flush finish or
    /// fail once, flushes the rest once if that one applied, and drops it.
    async fn give_up(&mut self, p: i32) -> Result<(), WorkerError> {
        for round in 0..2 {
            if round == 1 {
                self.start_flush(p);
            }
            if let Some(flag) = self.parts.get(&p).and_then(|part| part.in_flight.clone()) {
                flag.store(true, Ordering::Relaxed);
            }
            self.wait_for_flush(p).await?;
        }
        self.parts.remove(&p);
        // The partition's lag is its new owner's to report now: a last
        // value left here would be summed with the owner's.
        metrics::lag(p, 0);
        Ok(())
    }

    /// Shutdown: every running flush finishes or fails once, then what is
    /// left is flushed once; failures are left for the next owner.
    async fn stop(&mut self) -> Result<(), WorkerError> {
        let owned: Vec<i32> = self.parts.keys().copied().collect();
        for p in owned {
            self.give_up(p).await?;
        }
        Ok(())
    }

    /// Rewrites the live counters of campaigns whose write failed, from the
    /// then-current committed state.
    async fn retry_stale_live(&mut self) {
        if self.live_paused() {
            return;
        }
        let ttl = flush::live_ttl(&self.cfg);
        for part in self.parts.values_mut() {
            if part.stale_live.is_empty() || part.in_flight.is_some() {
                continue;
            }
            let campaigns: Vec<CampaignId> = part.stale_live.iter().copied().collect();
            let t = Instant::now();
            let live = flush::write_live(
                &self.sinks,
                &campaigns,
                None,
                flush::version(&part.claim),
                ttl,
            )
            .await;
            metrics::sink("redis", t.elapsed(), live.is_ok());
            match live {
                Ok(_) => part.stale_live.clear(),
                Err(e) => {
                    tracing::warn!(partition = part.claim.partition, campaigns = campaigns.len(), error = %e, "live counters not updated; will retry");
                }
            }
        }
    }

    /// Rewrites the live counters of this partition's recent campaigns from
    /// the committed state: the previous owner may have died between its
    /// Postgres commit and its Redis write. Best effort (logged on failure):
    /// the next batch of each campaign rewrites its counters anyway. While
    /// a kill switch holds the live counters, the campaigns are answered
    /// instead, to be written once it is cleared.
    async fn repair_live(&self, p: i32, claim: &Claim) -> BTreeSet<CampaignId> {
        let Some(partitions) = self.consumer.partition_count() else {
            return BTreeSet::new();
        };
        let held = self.live_paused();
        let ttl = flush::live_ttl(&self.cfg);
        let since =
            Utc::now() - chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::days(7));
        let repaired = async {
            let campaigns: Vec<_> = self
                .sinks
                .db
                .campaigns_active_since(since)
                .await
                .map_err(err)?
                .into_iter()
                .filter(|c| {
                    adpulse_domain::partition::partition_for(c.to_string().as_bytes(), partitions)
                        == p
                })
                .collect();
            if held {
                return Ok(campaigns);
            }
            flush::write_live(&self.sinks, &campaigns, None, flush::version(claim), ttl)
                .await
                .map(|_| Vec::new())
        }
        .await;
        match repaired {
            Ok(stale) => {
                tracing::debug!(partition = p, held, "live counters repaired");
                stale.into_iter().collect()
            }
            Err(e) => {
                tracing::warn!(partition = p, error = %e, "live counters not repaired");
                BTreeSet::new()
            }
        }
    }

    /// Drops live-series points past the live window (with a margin for
    /// clock skew between workers) from Postgres; best effort, as any
    /// worker does it.
    async fn prune_live_series(&self) {
        let before = Utc::now() - chrono::Duration::seconds(LIVE_WINDOW_SECS + 300);
        match self.sinks.db.prune_live_series(before).await {
            Ok(n) => tracing::debug!(points = n, "live series pruned"),
            Err(e) => tracing::warn!(error = %e, "live series not pruned"),
        }
    }

    async fn claim(&self, p: i32) -> Result<Claim, WorkerError> {
        let mut backoff = Duration::from_millis(100);
        loop {
            match self
                .sinks
                .db
                .claim_partition(&self.cfg.worker.group_id, &self.cfg.kafka.events_topic, p)
                .await
            {
                Ok(c) => return Ok(c),
                Err(e) if e.is_retryable() => {
                    tracing::warn!(partition = p, error = %e, "claim failed; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2)
                        .min(Duration::from_millis(self.cfg.worker.max_retry_backoff_ms));
                }
                Err(e) => return Err(err(e)),
            }
        }
    }
}
