//! Flushing one partition's batch to the sinks, as a task of its own so the
//! worker keeps consuming meanwhile (at most one flush per partition is in
//! flight: each commit moves the partition's offset from where the previous
//! one left it).
//!
//! A flush first admits the batch's events: one that would take its
//! campaign's lifetime sums out of the stored range is refused to the
//! rejected stream ([`admit`]). It writes raw rows to the archive
//! (idempotent by key), then the aggregate deltas, the live-series points
//! and the new next offset in one fenced store transaction, then the
//! touched campaigns' live counters and series from the state just
//! committed, and publishes their totals as window results. A sink failure
//! a retry may cure is retried with backoff, holding the batch, until it
//! succeeds, the partition turns out to be fenced, or the worker gives the
//! partition up (shutdown, rebalance); values the store refuses are
//! isolated instead ([`isolate`]), so no record blocks its partition.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use adpulse_capping::CapStore;
use adpulse_capping::identity::{LinkStore, TeachError, teach};
use adpulse_config::Config;
use adpulse_domain::CampaignId;
use adpulse_domain::aggregate::{AggregateBatch, Headroom, LIVE_WINDOW_SECS};
use adpulse_domain::contract::window::WindowResult;
use adpulse_domain::ports::{
    AggregateSink, EventLog, LiveCounters, LogRecord, PortError, RawArchive,
};
use adpulse_domain::store::{Applied, Claim, Commit, StoreError};
use chrono::Utc;

pub(crate) use crate::pending::Pending;
use crate::records::{self, Refusal};
use crate::{WorkerError, err, metrics};

/// A flush slower than this is logged with where its time went.
const SLOW_FLUSH: Duration = Duration::from_millis(500);

/// The ports the worker writes to: the production adapters (Postgres, a
/// CQL cluster, Redis, Kafka) or the embedded ones (`adpulse up`), as the
/// composition root opened them.
#[derive(Clone)]
pub struct Sinks {
    /// Claims, aggregates, the live series.
    pub db: Arc<dyn AggregateSink>,
    /// Raw events.
    pub archive: Arc<dyn RawArchive>,
    /// Live counters.
    pub live: Arc<dyn LiveCounters>,
    /// Where identity links for frequency capping go (when capping keeps
    /// shared counters); none: links are not kept.
    pub links: Option<IdentityLinks>,
    /// The rejected and campaign-metrics streams.
    pub log: Arc<dyn EventLog>,
}

/// Frequency capping's link and counter stores, which events teach who is
/// who (see `adpulse_capping::identity::teach`).
#[derive(Clone)]
pub struct IdentityLinks {
    /// Weak id → strong id.
    pub links: Arc<dyn LinkStore>,
    /// The counters whose counts move when a link is new.
    pub counters: Arc<dyn CapStore>,
}

/// One flush to run: the batch of offsets `[claim.next_offset, end)`.
pub(crate) struct Job {
    pub claim: Claim,
    pub end: i64,
    pub pending: Pending,
    /// Where a later owner should start reading (rebuilds the dedup set).
    pub hint: i64,
    /// Set when the partition is given up: stop retrying.
    pub give_up: Arc<AtomicBool>,
    /// The partition's campaigns' lifetime sums, handed from flush to flush.
    pub headroom: Headroom,
    /// What the admitted events add, once [`admit`] ran.
    pub admitted: Option<Admitted>,
    /// While isolating an event the store refuses: how many events the
    /// next commit tries.
    pub isolating: Option<usize>,
    /// A kill switch holds the live counters: skip them (the campaigns
    /// come back as stale).
    pub skip_live: bool,
}

impl Job {
    /// A flush of `pending` up to `end` from `claim`.
    pub fn new(
        claim: Claim,
        end: i64,
        pending: Pending,
        hint: i64,
        give_up: Arc<AtomicBool>,
        headroom: Headroom,
    ) -> Self {
        Self {
            claim,
            end,
            pending,
            hint,
            give_up,
            headroom,
            admitted: None,
            isolating: None,
            skip_live: false,
        }
    }
}

/// The admitted events' batch and what the flush reports of them.
pub(crate) struct Admitted {
    batch: AggregateBatch,
    campaigns: Vec<CampaignId>,
    ingested_ms: Vec<i64>,
}

/// What became of a flush.
pub(crate) enum Outcome {
    /// Applied: the claim now starts at the batch's end. `stale` lists the
    /// campaigns whose live counters could not be written (Redis down);
    /// they are retried until written.
    Applied {
        claim: Claim,
        hint: i64,
        stale: Vec<CampaignId>,
        headroom: Headroom,
    },
    /// Another worker owns the partition now.
    Fenced,
    /// Not applied, and given up (shutdown or rebalance): the next owner
    /// replays it.
    GaveUp,
}

/// Runs `job` until it is applied, fenced, or given up.
///
/// A failure a retry may cure (a store unreachable, a timeout) is retried
/// with backoff, holding the batch. A commit the store refuses for its
/// values cannot pass by retrying: the flush then commits the events a
/// few at a time ([`isolate`]) to find the ones refused alone, keeps each
/// on the rejected stream and moves on, so that no record can hold its
/// partition (and, once enough queue behind it, the whole worker) back.
pub(crate) async fn run(sinks: Arc<Sinks>, cfg: Arc<Config>, mut job: Job) -> (i32, Outcome) {
    let p = job.claim.partition;
    let mut retries = 0u32;
    loop {
        let attempt = async {
            if job.admitted.is_none() {
                admit(&sinks, &mut job).await?;
            }
            if job.isolating.is_some() {
                isolate(&sinks, &cfg, &mut job).await
            } else {
                flush_once(&sinks, &cfg, &mut job).await
            }
        };
        match attempt.await {
            Ok(outcome) => {
                let what = match &outcome {
                    Outcome::Applied { .. } => "applied",
                    Outcome::Fenced => "fenced",
                    Outcome::GaveUp => "given_up",
                };
                for span in &job.pending.spans {
                    span.record("outcome", what);
                }
                return (p, outcome);
            }
            Err(Failure::Refused(e)) if job.isolating.is_none() => {
                tracing::warn!(partition = p, events = job.pending.len(), error = %e, "store refuses the batch's values; isolating the events it refuses");
                metrics::isolations();
                job.isolating = Some((job.pending.len() / 2).max(1));
            }
            Err(e) if job.give_up.load(Ordering::Relaxed) => {
                tracing::warn!(partition = p, error = %e, "flush failed; partition given up, the next owner replays it");
                return (p, Outcome::GaveUp);
            }
            Err(e) => {
                // Safe to repeat: raw rows are written by key and the
                // commit is one fenced transaction. Jittered, so partitions
                // that failed together do not retry together.
                let wait = adpulse_resilience::backoff(
                    retries,
                    Duration::from_millis(100),
                    Duration::from_millis(cfg.worker.max_retry_backoff_ms),
                );
                retries += 1;
                tracing::warn!(partition = p, error = %e, retry_in_ms = wait.as_millis() as u64, "flush failed");
                tokio::time::sleep(wait).await;
            }
        }
    }
}

/// Why a flush attempt failed.
#[derive(Debug, thiserror::Error)]
enum Failure {
    /// The store refused the values of the batch (see [`isolate`]).
    #[error("{0}")]
    Refused(StoreError),
    /// Anything else: retried with backoff.
    #[error("{0}")]
    Other(String),
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Invalid(_) => Self::Refused(e),
            e => Self::Other(e.to_string()),
        }
    }
}

impl From<PortError> for Failure {
    fn from(e: PortError) -> Self {
        Self::Other(e.to_string())
    }
}

impl From<WorkerError> for Failure {
    fn from(e: WorkerError) -> Self {
        Self::Other(e.to_string())
    }
}

/// Refuses, to the rejected stream, each event that would take its
/// campaign's lifetime sums past [`CAMPAIGN_MAX_MICROS`] or a sum of the
/// batch past `i64`, and builds the batch of the others. Deterministic
/// given the committed state, so a replay refuses the same events.
///
/// [`CAMPAIGN_MAX_MICROS`]: adpulse_domain::aggregate::CAMPAIGN_MAX_MICROS
async fn admit(s: &Sinks, job: &mut Job) -> Result<(), Failure> {
    let p = job.claim.partition;
    let mut unknown: Vec<CampaignId> = job
        .pending
        .raw
        .iter()
        .map(|r| r.event.campaign_id)
        .filter(|c| !job.headroom.knows(*c))
        .collect();
    unknown.sort_unstable();
    unknown.dedup();
    if !unknown.is_empty() {
        let totals = s.db.campaign_totals(&unknown).await?;
        for c in unknown {
            job.headroom
                .learn(c, totals.iter().find(|t| t.campaign_id == c));
        }
    }
    let mut headroom = job.headroom.clone();
    let mut batch = AggregateBatch::default();
    let mut keep = Vec::with_capacity(job.pending.len());
    let mut refused = Vec::new();
    for (i, (r, zone)) in job.pending.raw.iter().zip(&job.pending.zones).enumerate() {
        let refusal = match headroom.admit(&r.event) {
            Err(e) => Some(Refusal::CampaignTotalExceeded(e)),
            Ok(()) => batch
                .add(&r.event, r.tenant, *zone)
                .err()
                .map(|_| Refusal::SumOverflow),
        };
        if let Some(reason) = &refusal {
            metrics::rejected(reason.code());
            refused.push(records::event_row((p, job.pending.offsets[i]), r, reason));
        }
        keep.push(refusal.is_none());
    }
    if !refused.is_empty() {
        tracing::warn!(
            partition = p,
            events = refused.len(),
            "events refused: their sums would leave the stored range"
        );
        records::keep(&*s.log, refused).await?;
        job.pending.retain(&keep);
    }
    job.headroom = headroom;
    job.admitted = Some(Admitted {
        campaigns: batch.campaigns(),
        ingested_ms: job
            .pending
            .raw
            .iter()
            .map(|r| r.ingested_at.timestamp_millis())
            .collect(),
        batch,
    });
    Ok(())
}

async fn flush_once(s: &Sinks, cfg: &Config, job: &mut Job) -> Result<Outcome, Failure> {
    let p = job.claim.partition;
    let started = Instant::now();
    let t = Instant::now();
    let r = s
        .archive
        .write(&job.pending.raw, ttl(cfg), cfg.worker.cql_concurrency)
        .await;
    let archive_took = t.elapsed();
    metrics::sink("archive", archive_took, r.is_ok());
    r?;

    let t = Instant::now();
    let mut claim = job.claim.clone();
    let empty = AggregateBatch::default();
    let batch = job.admitted.as_ref().map_or(&empty, |a| &a.batch);
    let r = s.db.commit_batch(&mut claim, job.end, batch).await;
    let store_took = t.elapsed();
    metrics::sink("store", store_took, r.is_ok());
    let applied = match r? {
        Commit::Applied(applied) => applied,
        Commit::Fenced => return Ok(fenced(&claim)),
    };
    metrics::batch(batch.events());
    job.claim = claim;
    let (stale, live_took) = finish(s, cfg, job, Some(applied)).await;
    if started.elapsed() >= SLOW_FLUSH {
        tracing::warn!(
            partition = p,
            events = job.pending.len(),
            waited_ms = job
                .pending
                .oldest
                .map(|t| t.elapsed())
                .unwrap_or_default()
                .as_millis() as u64,
            archive_ms = archive_took.as_millis() as u64,
            store_ms = store_took.as_millis() as u64,
            live_ms = live_took.as_millis() as u64,
            "slow flush"
        );
    }
    Ok(Outcome::Applied {
        claim: job.claim.clone(),
        hint: job.hint,
        stale,
        headroom: std::mem::take(&mut job.headroom),
    })
}

/// Commits the job's events in runs that halve while the store refuses
/// them and double while it accepts them, so that `k` refused events among
/// `n` cost about `k·log n` commits. An event refused alone is kept on the
/// rejected stream (`unstorable`) and the partition moves past it. Every
/// commit is fenced like any other; the job remembers how far it got, so a
/// retryable failure resumes here. (A refused event's raw row, written
/// before its batch's commit failed, may stay in the archive.)
async fn isolate(s: &Sinks, cfg: &Config, job: &mut Job) -> Result<Outcome, Failure> {
    let p = job.claim.partition;
    while !job.pending.raw.is_empty() {
        let n = job.pending.len();
        let take = job.isolating.unwrap_or(1).clamp(1, n);
        let end = |k: usize| job.pending.offsets.get(k).copied().unwrap_or(job.end);
        let batch = job
            .pending
            .batch_of(take)
            .map_err(|e| Failure::Other(e.to_string()))?;
        s.archive
            .write(
                &job.pending.raw[..take],
                ttl(cfg),
                cfg.worker.cql_concurrency,
            )
            .await?;
        let mut claim = job.claim.clone();
        match s.db.commit_batch(&mut claim, end(take), &batch).await {
            Ok(Commit::Applied(_)) => {
                metrics::batch(batch.events());
                job.claim = claim;
                job.pending.drain_front(take);
                job.isolating = Some(take.saturating_mul(2));
            }
            Ok(Commit::Fenced) => return Ok(fenced(&claim)),
            Err(StoreError::Invalid(why)) if take == 1 => {
                let raw = &job.pending.raw[0];
                let reason = Refusal::Unstorable(why);
                tracing::warn!(partition = p, offset = job.pending.offsets[0], event_id = %raw.event.event_id, code = reason.code(), "event refused by the store; kept on the rejected stream");
                records::keep(
                    &*s.log,
                    vec![records::event_row(
                        (p, job.pending.offsets[0]),
                        raw,
                        &reason,
                    )],
                )
                .await?;
                let campaign = raw.event.campaign_id;
                match s
                    .db
                    .commit_batch(&mut claim, end(1), &AggregateBatch::default())
                    .await?
                {
                    Commit::Applied(_) => {}
                    Commit::Fenced => return Ok(fenced(&claim)),
                }
                metrics::rejected(reason.code());
                job.claim = claim;
                job.pending.drain_front(1);
                job.headroom.forget(campaign);
                job.isolating = Some(2);
            }
            Err(StoreError::Invalid(_)) => job.isolating = Some(take / 2),
            Err(e) => return Err(e.into()),
        }
    }
    if job.claim.next_offset < job.end {
        // Nothing left to count, the offsets up to the end still move.
        let mut claim = job.claim.clone();
        if let Commit::Fenced =
            s.db.commit_batch(&mut claim, job.end, &AggregateBatch::default())
                .await?
        {
            return Ok(fenced(&claim));
        }
        job.claim = claim;
    }
    // The points of several commits: read the last hour back instead.
    let (stale, _) = finish(s, cfg, job, None).await;
    Ok(Outcome::Applied {
        claim: job.claim.clone(),
        hint: job.hint,
        stale,
        headroom: std::mem::take(&mut job.headroom),
    })
}

fn fenced(claim: &Claim) -> Outcome {
    metrics::fenced(claim.partition);
    tracing::warn!(
        partition = claim.partition,
        epoch = claim.epoch,
        "fenced: another worker owns the partition"
    );
    Outcome::Fenced
}

fn ttl(cfg: &Config) -> i32 {
    i32::try_from(cfg.limits.retention_days.saturating_mul(86_400)).unwrap_or(i32::MAX)
}

/// After the commit: live counters and series from the exact state just
/// committed, and the identity links learnt. A live failure loses
/// nothing: the campaigns are handed back as stale and rewritten (with
/// the then-current totals and the last hour of series) once the live
/// store answers again.
async fn finish(
    s: &Sinks,
    cfg: &Config,
    job: &Job,
    committed: Option<Applied>,
) -> (Vec<CampaignId>, Duration) {
    let p = job.claim.partition;
    let (campaigns, ingested) = job
        .admitted
        .as_ref()
        .map(|a| (a.campaigns.clone(), a.ingested_ms.as_slice()))
        .unwrap_or_default();
    if job.skip_live {
        // A kill switch holds the live counters: written again from the
        // committed totals once it is cleared.
        return (campaigns, Duration::ZERO);
    }
    let t = Instant::now();
    let live = write_live(s, &campaigns, committed, version(&job.claim), live_ttl(cfg)).await;
    let live_took = t.elapsed();
    metrics::sink("live", live_took, live.is_ok());
    let stale = match live {
        Ok(_) => {
            let now_ms = Utc::now().timestamp_millis();
            for ingested in ingested {
                metrics::freshness((now_ms - ingested) as f64 / 1000.0);
            }
            Vec::new()
        }
        Err(e) => {
            tracing::warn!(partition = p, campaigns = campaigns.len(), error = %e, "live counters not updated; will retry");
            campaigns
        }
    };
    if let Some(ids) = s.links.as_ref().filter(|_| !job.pending.links.is_empty()) {
        let ttl = chrono::Duration::days(i64::from(cfg.capping.link_ttl_days.max(1)));
        tokio::spawn(learn_links(ids.clone(), job.pending.links.clone(), ttl));
    }
    (stale, live_took)
}

/// Teaches frequency capping the batch's identity links. Best effort, off
/// the flush's path: later events (and decisions) teach a lost link again.
async fn learn_links(ids: IdentityLinks, links: Vec<(String, String)>, ttl: chrono::Duration) {
    let now = Utc::now();
    match teach(&*ids.links, &*ids.counters, &links, now + ttl, now).await {
        Ok(_) => metrics::links_learned(links.len()),
        Err(e @ TeachError::Learn(_)) => {
            tracing::warn!(links = links.len(), error = %e, "identity links not stored");
        }
        Err(e @ TeachError::Merge(_)) => {
            metrics::links_learned(links.len());
            tracing::warn!(links = links.len(), error = %e, "counts under newly linked ids not merged");
        }
    }
}

/// The version live writes of a partition carry: it only grows, across
/// owners (epoch) and batches (offset).
pub(crate) fn version(claim: &Claim) -> i64 {
    (claim.epoch << 40) | claim.next_offset
}

pub(crate) fn live_ttl(cfg: &Config) -> Duration {
    Duration::from_secs(cfg.worker.live_ttl_secs)
}

/// Writes the exact totals of `campaigns` to the live counters with the
/// points of their live series, both as a commit just returned them (or,
/// given none, read back: the totals, and the series' whole last hour),
/// then publishes the totals as window results (best effort: a consumer of the metrics topic takes the newest
/// `version` per campaign, and the next flush of the campaign publishes
/// again).
pub(crate) async fn write_live(
    s: &Sinks,
    campaigns: &[CampaignId],
    committed: Option<Applied>,
    version: i64,
    ttl: Duration,
) -> Result<usize, WorkerError> {
    let now = Utc::now();
    let (totals, points) = match committed {
        Some(Applied { points, totals }) => (totals, points),
        None => {
            let since = now - chrono::Duration::seconds(LIVE_WINDOW_SECS);
            let totals = s.db.campaign_totals(campaigns).await.map_err(err)?;
            (
                totals,
                s.db.live_series(campaigns, since).await.map_err(err)?,
            )
        }
    };
    let written = s
        .live
        .write_live(&totals, &points, version, now, ttl)
        .await
        .map_err(err)?;
    let results: Vec<LogRecord> = totals
        .iter()
        .map(|t| WindowResult::new(t, version, now).to_record())
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
