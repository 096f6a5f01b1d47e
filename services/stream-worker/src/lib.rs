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
//! 4. **flushes** a batch: raw rows to CQL (idempotent by key), then the
//!    aggregate deltas and the new next offset in one fenced Postgres
//!    transaction, then the touched campaigns' totals, read back from
//!    Postgres, to Redis as absolute values guarded by a version that only
//!    grows, and publishes them (lifetime and today) as window results on
//!    the campaign-metrics topic. A crash anywhere replays from the
//!    committed offset and converges to the same state; nothing is counted
//!    twice.

mod dedup;
mod metrics;

use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use adpulse_config::Config;
use adpulse_cql::{Cql, RawEvent, RawEventWriter};
use adpulse_domain::aggregate::{AggregateBatch, LIVE_WINDOW_SECS, LivePoint};
use adpulse_domain::ports::{EventLog as _, LogRecord, Stream};
use adpulse_domain::{CampaignId, Event, TenantId};
use adpulse_kafka::{GroupConsumer, KafkaEventLog, Record};
use adpulse_postgres::{Claim, Commit, Database};
use adpulse_redis::Redis;
use chrono::{DateTime, Utc};

use crate::dedup::Dedup;

/// A worker that cannot start or had to stop.
#[derive(Debug, thiserror::Error)]
#[error("stream worker: {0}")]
pub struct WorkerError(String);

fn err(e: impl std::fmt::Display) -> WorkerError {
    WorkerError(e.to_string())
}

/// What one owned partition holds between flushes.
struct Part {
    claim: Claim,
    /// The offset after the last record consumed (≥ `claim.next_offset`).
    next: i64,
    batch: AggregateBatch,
    raw: Vec<RawEvent>,
    ingested_ms: Vec<i64>,
    dedup: Dedup,
    oldest: Option<Instant>,
    /// Campaigns whose live counters could not be written since their last
    /// commit (Redis down); retried until written.
    stale_live: BTreeSet<CampaignId>,
}

/// The external systems the worker writes to.
struct Sinks {
    db: Database,
    cql: Arc<Cql>,
    raw: RawEventWriter,
    redis: Redis,
    /// The rejected and campaign-metrics topics.
    log: KafkaEventLog,
}

/// A running stream worker.
pub struct Worker {
    cfg: Config,
    consumer: GroupConsumer,
    sinks: Sinks,
    parts: HashMap<i32, Part>,
    backoff: Duration,
}

impl Worker {
    /// Connects to everything the configuration names and joins the
    /// consumer group.
    pub async fn connect(cfg: Config) -> Result<Self, WorkerError> {
        let db = Database::connect(&cfg.postgres).await.map_err(err)?;
        let cql = Cql::connect(&cfg.cql).await.map_err(err)?;
        let redis = Redis::connect(&cfg.redis).await.map_err(err)?;
        Self::new(cfg, db, cql, redis).await
    }

    /// A worker on these connections (Kafka from `cfg`); joins the group.
    pub async fn new(
        cfg: Config,
        db: Database,
        cql: Cql,
        redis: Redis,
    ) -> Result<Self, WorkerError> {
        let raw = cql.raw_event_writer().await.map_err(err)?;
        let log = KafkaEventLog::new(&cfg.kafka).map_err(err)?;
        let consumer =
            GroupConsumer::new(&cfg.kafka, &cfg.worker.group_id, &cfg.kafka.events_topic)
                .map_err(err)?;
        Ok(Self {
            cfg,
            consumer,
            sinks: Sinks {
                db,
                cql: Arc::new(cql),
                raw,
                redis,
                log,
            },
            parts: HashMap::new(),
            backoff: Duration::ZERO,
        })
    }

    /// A handle answering whether the worker's dependencies respond.
    pub fn health(&self) -> Health {
        Health {
            db: self.sinks.db.clone(),
            cql: Arc::clone(&self.sinks.cql),
            redis: self.sinks.redis.clone(),
            kafka: self.sinks.log.clone(),
        }
    }

    /// Processes until `shutdown` resolves, then flushes what it holds and
    /// leaves the group.
    pub async fn run(mut self, shutdown: impl Future<Output = ()>) -> Result<(), WorkerError> {
        tokio::pin!(shutdown);
        let poll = Duration::from_millis(self.cfg.worker.max_batch_wait_ms.clamp(10, 100));
        // Once a second: retry stale live counters; every fifth: lag.
        let (mut last_tick, mut ticks) = (Instant::now(), 0u32);
        let mut last_prune = Instant::now();
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                r = self.consumer.recv(poll) => match r {
                    Ok(Some(record)) => self.on_record(record).await?,
                    Ok(None) => {}
                    Err(e) => tracing::warn!(error = %e, "kafka consume failed"),
                },
            }
            for p in self.consumer.take_revoked() {
                // Best effort: the new owner's claim fences anything we
                // could not commit in time, and it replays from there.
                let _ = self.flush(p).await;
                self.parts.remove(&p);
                tracing::info!(partition = p, "partition revoked");
            }
            self.flush_due().await;
            if last_tick.elapsed() >= Duration::from_secs(1) {
                last_tick = Instant::now();
                ticks += 1;
                for part in self.parts.values_mut() {
                    if !part.stale_live.is_empty() {
                        write_stale_live(&self.sinks, part, self.cfg.worker.live_ttl_secs).await;
                    }
                }
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
        let owned: Vec<i32> = self.parts.keys().copied().collect();
        for p in owned {
            if let Err(e) = self.flush(p).await {
                tracing::warn!(partition = p, error = %e, "could not flush at shutdown; the next owner replays it");
            }
        }
        self.consumer.leave();
        tracing::info!("stream worker stopped");
        Ok(())
    }

    async fn on_record(&mut self, record: Record) -> Result<(), WorkerError> {
        let p = record.partition;
        if !self.parts.contains_key(&p) {
            let claim = self.claim(p).await?;
            tracing::info!(
                partition = p,
                epoch = claim.epoch,
                next_offset = claim.next_offset,
                "partition claimed"
            );
            self.repair_live(p, &claim).await;
            let horizon = i64::try_from(self.cfg.worker.dedup_horizon_secs.saturating_mul(1000))
                .unwrap_or(i64::MAX);
            self.parts.insert(
                p,
                Part {
                    next: claim.next_offset,
                    claim,
                    batch: AggregateBatch::default(),
                    raw: Vec::new(),
                    ingested_ms: Vec::new(),
                    dedup: Dedup::new(horizon),
                    oldest: None,
                    stale_live: BTreeSet::new(),
                },
            );
        }
        let Some(part) = self.parts.get_mut(&p) else {
            return Ok(());
        };
        let now = Utc::now();
        let ts_ms = record
            .timestamp_ms
            .unwrap_or_else(|| now.timestamp_millis());
        let decoded = decode(&record);

        if record.offset < part.claim.next_offset {
            // Already applied: only rebuild the dedup set.
            if let Ok((event, _, _)) = &decoded {
                part.dedup.insert(event.event_id, ts_ms, record.offset);
            }
            return Ok(());
        }
        if record.offset < part.next {
            return Ok(()); // delivered again after a reconnect; already in the batch
        }
        part.next = record.offset + 1;
        part.oldest.get_or_insert_with(Instant::now);

        let (event, tenant, ingested_at) = match decoded {
            Ok(d) => d,
            Err(reason) => {
                metrics::rejected("undecodable");
                let row = rejected_row(&record, reason, now);
                reject(&self.sinks.log, row).await;
                return Ok(());
            }
        };
        if !part.dedup.insert(event.event_id, ts_ms, record.offset) {
            metrics::duplicate();
            return Ok(());
        }
        let retention = chrono::Duration::days(
            i64::try_from(self.cfg.limits.retention_days).unwrap_or(i64::MAX / 86_400_000),
        );
        if event.occurred_at < now - retention {
            metrics::rejected("too_old");
            let row = rejected_row(&record, "too_old: older than the retention horizon", now);
            reject(&self.sinks.log, row).await;
            return Ok(());
        }
        part.batch.add(&event, tenant);
        part.ingested_ms.push(ingested_at.timestamp_millis());
        part.raw.push(RawEvent {
            event,
            tenant,
            ingested_at,
        });
        if part.batch.events() >= self.cfg.worker.max_batch_events {
            self.flush_with_retry(p).await;
        }
        Ok(())
    }

    /// Rewrites the live counters of this partition's recent campaigns from
    /// the committed state: the previous owner may have died between its
    /// Postgres commit and its Redis write. Best effort (logged on failure):
    /// the next batch of each campaign rewrites its counters anyway.
    async fn repair_live(&self, p: i32, claim: &Claim) {
        let Some(partitions) = self.consumer.partition_count() else {
            return;
        };
        let ttl = Duration::from_secs(self.cfg.worker.live_ttl_secs);
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
                    adpulse_kafka::partition::partition_for(c.to_string().as_bytes(), partitions)
                        == p
                })
                .collect();
            let version = (claim.epoch << 40) | claim.next_offset;
            write_live(&self.sinks, &campaigns, None, version, ttl).await
        }
        .await;
        match repaired {
            Ok(n) => tracing::debug!(partition = p, campaigns = n, "live counters repaired"),
            Err(e) => tracing::warn!(partition = p, error = %e, "live counters not repaired"),
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

    /// Flushes, all at once, the partitions whose oldest unflushed event
    /// waited long enough (one slow partition does not delay the others'
    /// freshness); a failed one is then retried alone with backoff.
    async fn flush_due(&mut self) {
        let wait = Duration::from_millis(self.cfg.worker.max_batch_wait_ms);
        let (sinks, cfg) = (&self.sinks, &self.cfg);
        let flushes = self
            .parts
            .iter_mut()
            .filter(|(_, part)| part.oldest.is_some_and(|t| t.elapsed() >= wait))
            .map(|(p, part)| {
                let p = *p;
                async move { (p, flush_part(sinks, cfg, part).await) }
            });
        let results = futures_util::future::join_all(flushes).await;
        for (p, result) in results {
            match result {
                Ok(outcome) => self.after_flush(p, outcome),
                Err(e) => {
                    tracing::warn!(partition = p, error = %e, "flush failed");
                    self.flush_with_retry(p).await;
                }
            }
        }
    }

    /// Flushes, and on a sink failure waits (backing off) and tries again,
    /// holding the batch: consumption pauses while a sink is down.
    async fn flush_with_retry(&mut self, p: i32) {
        loop {
            match self.flush(p).await {
                Ok(()) => {
                    self.backoff = Duration::ZERO;
                    return;
                }
                Err(e) => {
                    self.backoff = (self.backoff * 2)
                        .max(Duration::from_millis(100))
                        .min(Duration::from_millis(self.cfg.worker.max_retry_backoff_ms));
                    tracing::warn!(partition = p, error = %e, retry_in_ms = self.backoff.as_millis() as u64, "flush failed");
                    tokio::time::sleep(self.backoff).await;
                }
            }
        }
    }

    async fn flush(&mut self, p: i32) -> Result<(), WorkerError> {
        let Some(part) = self.parts.get_mut(&p) else {
            return Ok(());
        };
        let outcome = flush_part(&self.sinks, &self.cfg, part).await?;
        self.after_flush(p, outcome);
        Ok(())
    }

    /// Drops a fenced partition, or records where a rebalance should start.
    fn after_flush(&mut self, p: i32, outcome: Flushed) {
        match outcome {
            Flushed::Nothing => {}
            Flushed::Fenced => {
                self.parts.remove(&p);
            }
            Flushed::Applied { hint } => {
                if let Err(e) = self.consumer.commit_hint(p, hint) {
                    tracing::debug!(partition = p, error = %e, "offset hint not committed");
                }
            }
        }
    }
}

/// What flushing one partition did.
enum Flushed {
    /// Nothing was pending.
    Nothing,
    /// Applied; reading from `hint` after a rebalance rebuilds the dedup set.
    Applied {
        /// Where a later owner should start reading.
        hint: i64,
    },
    /// Another worker owns the partition now.
    Fenced,
}

/// A flush slower than this is logged with where its time went.
const SLOW_FLUSH: Duration = Duration::from_millis(500);

/// Flushes one partition's batch: raw rows to CQL, then aggregates and the
/// offset in one fenced Postgres transaction, then live counters.
async fn flush_part(s: &Sinks, cfg: &Config, part: &mut Part) -> Result<Flushed, WorkerError> {
    if part.next == part.claim.next_offset {
        part.oldest = None;
        return Ok(Flushed::Nothing);
    }
    let p = part.claim.partition;
    let ttl = i32::try_from(cfg.limits.retention_days.saturating_mul(86_400)).unwrap_or(i32::MAX);

    let started = Instant::now();
    let waited = part.oldest.map(|t| t.elapsed()).unwrap_or_default();
    let t = Instant::now();
    let r = s
        .cql
        .write_raw_events(&s.raw, &part.raw, ttl, cfg.worker.cql_concurrency)
        .await;
    let cql_took = t.elapsed();
    metrics::sink("cql", cql_took, r.is_ok());
    r.map_err(err)?;

    let t = Instant::now();
    let r =
        s.db.commit_batch(&mut part.claim, part.next, &part.batch)
            .await;
    let pg_took = t.elapsed();
    metrics::sink("postgres", pg_took, r.is_ok());
    let points = match r.map_err(err)? {
        Commit::Applied(points) => points,
        Commit::Fenced => {
            metrics::fenced(p);
            tracing::warn!(
                partition = p,
                epoch = part.claim.epoch,
                "fenced: another worker owns the partition"
            );
            return Ok(Flushed::Fenced);
        }
    };
    metrics::batch(part.batch.events());

    // Live counters and series from the exact state just committed. A
    // failure here loses nothing: the campaigns are remembered and rewritten
    // (with the then-current totals and the last hour of series) once Redis
    // answers again.
    let campaigns = part.batch.campaigns();
    let version = (part.claim.epoch << 40) | part.claim.next_offset;
    let ttl_live = Duration::from_secs(cfg.worker.live_ttl_secs);
    let t = Instant::now();
    let live = write_live(s, &campaigns, Some(points), version, ttl_live).await;
    let live_took = t.elapsed();
    metrics::sink("redis", live_took, live.is_ok());
    if started.elapsed() >= SLOW_FLUSH {
        tracing::warn!(
            partition = p,
            events = part.batch.events(),
            campaigns = campaigns.len(),
            waited_ms = waited.as_millis() as u64,
            cql_ms = cql_took.as_millis() as u64,
            postgres_ms = pg_took.as_millis() as u64,
            live_ms = live_took.as_millis() as u64,
            "slow flush"
        );
    }
    if let Err(e) = &live {
        tracing::warn!(partition = p, campaigns = campaigns.len(), error = %e, "live counters not updated; will retry");
        part.stale_live.extend(campaigns);
    }
    if live.is_ok()
        && (part.stale_live.is_empty() || write_stale_live(s, part, cfg.worker.live_ttl_secs).await)
    {
        let now_ms = Utc::now().timestamp_millis();
        for ingested in &part.ingested_ms {
            metrics::freshness((now_ms - ingested) as f64 / 1000.0);
        }
    }
    let hint = part
        .dedup
        .oldest_offset()
        .unwrap_or(part.next)
        .min(part.next);
    part.batch = AggregateBatch::default();
    part.raw.clear();
    part.ingested_ms.clear();
    part.oldest = None;
    Ok(Flushed::Applied { hint })
}

/// Whether the worker's dependencies answer (for `/health/ready`).
#[derive(Clone)]
pub struct Health {
    db: Database,
    cql: Arc<Cql>,
    redis: Redis,
    kafka: KafkaEventLog,
}

impl Health {
    /// True while Postgres, the CQL cluster, Redis and Kafka all answer.
    pub async fn ready(&self) -> bool {
        let (db, cql, redis, kafka) = tokio::join!(
            self.db.ping(),
            self.cql.ping(),
            self.redis.ping(),
            self.kafka.ready()
        );
        db.is_ok() && cql.is_ok() && redis.is_ok() && kafka
    }

    /// `/health/live`, `/health/ready` and `/metrics`.
    pub fn router(self) -> axum::Router {
        use axum::http::StatusCode;
        use axum::routing::get;
        axum::Router::new()
            .route("/health/live", get(|| async { "ok" }))
            .route(
                "/health/ready",
                get(
                    |axum::extract::State(h): axum::extract::State<Self>| async move {
                        if h.ready().await {
                            (StatusCode::OK, "ready")
                        } else {
                            (
                                StatusCode::SERVICE_UNAVAILABLE,
                                "a dependency does not answer",
                            )
                        }
                    },
                ),
            )
            .merge(adpulse_telemetry::metrics_router())
            .with_state(self)
    }
}

/// Runs `worker` and its health endpoints on `listener` until `shutdown`,
/// then stops both (the worker flushes and leaves its group).
pub async fn serve(
    worker: Worker,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), WorkerError> {
    let (tx, rx) = tokio::sync::watch::channel(false);
    let stop = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stopped| *stopped).await;
    };
    let http =
        axum::serve(listener, worker.health().router()).with_graceful_shutdown(stop(rx.clone()));
    let signal = async move {
        shutdown.await;
        let _ = tx.send(true);
    };
    let (http, run, ()) = tokio::join!(http.into_future(), worker.run(stop(rx)), signal);
    http.map_err(err)?;
    run
}

/// Writes the live counters of `part`'s stale campaigns from the committed
/// state; true if all were written (the set is then empty).
async fn write_stale_live(s: &Sinks, part: &mut Part, ttl_secs: u64) -> bool {
    let t = Instant::now();
    let campaigns: Vec<CampaignId> = part.stale_live.iter().copied().collect();
    let version = (part.claim.epoch << 40) | part.claim.next_offset;
    let live = write_live(s, &campaigns, None, version, Duration::from_secs(ttl_secs)).await;
    metrics::sink("redis", t.elapsed(), live.is_ok());
    match live {
        Ok(_) => {
            part.stale_live.clear();
            true
        }
        Err(e) => {
            tracing::warn!(partition = part.claim.partition, campaigns = campaigns.len(), error = %e, "live counters not updated; will retry");
            false
        }
    }
}

/// Writes the exact totals of `campaigns` to the live counters with the
/// `points` of their live series a commit just returned (or, given none,
/// their whole last hour read back), then publishes the totals as window
/// results (best effort: a consumer of the metrics topic takes the newest
/// `version` per campaign, and the next flush of the campaign publishes
/// again).
async fn write_live(
    s: &Sinks,
    campaigns: &[CampaignId],
    points: Option<Vec<LivePoint>>,
    version: i64,
    ttl: Duration,
) -> Result<usize, WorkerError> {
    let now = Utc::now();
    let totals = s.db.campaign_totals(campaigns).await.map_err(err)?;
    let points = match points {
        Some(points) => points,
        None => {
            let since = now - chrono::Duration::seconds(LIVE_WINDOW_SECS);
            s.db.live_series(campaigns, since).await.map_err(err)?
        }
    };
    let written = s
        .redis
        .write_live(&totals, &points, version, now, ttl)
        .await
        .map_err(err)?;
    let results: Vec<LogRecord> = totals
        .iter()
        .map(|t| {
            let body = serde_json::json!({
                "campaign_id": t.campaign_id,
                "version": version,
                "at": now,
                "day": now.date_naive(),
                "lifetime": {
                    "impressions": t.impressions, "clicks": t.clicks, "conversions": t.conversions,
                    "cost_micros": t.cost_micros, "revenue_micros": t.revenue_micros,
                },
                "today": t.today,
            });
            LogRecord {
                stream: Stream::CampaignMetrics,
                key: t.campaign_id.to_string().into_bytes(),
                payload: serde_json::to_vec(&body).unwrap_or_default(),
                headers: Vec::new(),
            }
        })
        .collect();
    // Not awaited: the flush (and the partition's freshness) does not wait
    // for the acknowledgement of a best-effort publication.
    let log = s.log.clone();
    tokio::spawn(async move {
        for r in log.append(results).await {
            if let Err(e) = r {
                tracing::warn!(error = %e, "window result not published");
            }
        }
    });
    Ok(written)
}

/// The event, its tenant and ingest time from a record the gateway wrote.
fn decode(record: &Record) -> Result<(Event, TenantId, DateTime<Utc>), &'static str> {
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
    Ok((event, tenant, ingested_at))
}

fn rejected_row(record: &Record, reason: &str, now: DateTime<Utc>) -> LogRecord {
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

async fn reject(log: &KafkaEventLog, row: LogRecord) {
    for r in log.append(vec![row]).await {
        if let Err(e) = r {
            tracing::warn!(error = %e, "rejected row not kept");
        }
    }
}
