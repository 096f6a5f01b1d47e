//! Flushing one partition's batch to the sinks, as a task of its own so the
//! worker keeps consuming meanwhile (at most one flush per partition is in
//! flight: each commit moves the partition's offset from where the previous
//! one left it).
//!
//! A flush writes raw rows to the archive (idempotent by key), then the
//! aggregate deltas, the live-series points and the new next offset in one
//! fenced store transaction, then the touched campaigns' live counters and
//! series from the state just committed, and publishes their
//! totals as window results. A sink failure is retried with backoff,
//! holding the batch, until it succeeds, the partition turns out to be
//! fenced, or the worker gives the partition up (shutdown, rebalance).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use adpulse_backends::{Archive, Live, Log, Store};
use adpulse_config::Config;
use adpulse_domain::CampaignId;
use adpulse_domain::aggregate::{AggregateBatch, LIVE_WINDOW_SECS, LivePoint};
use adpulse_domain::archive::RawEvent;
use adpulse_domain::ports::{EventLog as _, LiveCounters as _, LogRecord, Stream};
use adpulse_domain::store::{Claim, Commit};
use adpulse_redis::Redis;
use chrono::Utc;

use crate::{WorkerError, err, metrics};

/// A flush slower than this is logged with where its time went.
const SLOW_FLUSH: Duration = Duration::from_millis(500);

/// The systems the worker writes to: the production ones (Postgres, a
/// CQL cluster, Redis, Kafka) or the embedded ones (`adpulse up`).
#[derive(Clone)]
pub struct Sinks {
    /// Claims, aggregates, the live series.
    pub db: Store,
    /// Raw events.
    pub archive: Archive,
    /// Live counters.
    pub live: Live,
    /// Where identity links for frequency capping go (when capping runs
    /// on Redis); none: links are not kept.
    pub links: Option<Redis>,
    /// The rejected and campaign-metrics streams.
    pub log: Log,
}

/// What a partition consumed since its last flush was handed off.
#[derive(Default)]
pub(crate) struct Pending {
    pub batch: AggregateBatch,
    pub raw: Vec<RawEvent>,
    pub ingested_ms: Vec<i64>,
    /// Identity links (weak → strong id, scoped by tenant) the batch's
    /// events teach frequency capping.
    pub links: Vec<(String, String)>,
    /// When the first record of this batch was consumed.
    pub oldest: Option<Instant>,
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
    },
    /// Another worker owns the partition now.
    Fenced,
    /// Not applied, and given up (shutdown or rebalance): the next owner
    /// replays it.
    GaveUp,
}

/// Runs `job` until it is applied, fenced, or given up.
pub(crate) async fn run(sinks: Arc<Sinks>, cfg: Arc<Config>, mut job: Job) -> (i32, Outcome) {
    let p = job.claim.partition;
    let mut backoff = Duration::ZERO;
    loop {
        match flush_once(&sinks, &cfg, &mut job).await {
            Ok(outcome) => return (p, outcome),
            Err(e) if job.give_up.load(Ordering::Relaxed) => {
                tracing::warn!(partition = p, error = %e, "flush failed; partition given up, the next owner replays it");
                return (p, Outcome::GaveUp);
            }
            Err(e) => {
                backoff = (backoff * 2)
                    .max(Duration::from_millis(100))
                    .min(Duration::from_millis(cfg.worker.max_retry_backoff_ms));
                tracing::warn!(partition = p, error = %e, retry_in_ms = backoff.as_millis() as u64, "flush failed");
                tokio::time::sleep(backoff).await;
            }
        }
    }
}

async fn flush_once(s: &Sinks, cfg: &Config, job: &mut Job) -> Result<Outcome, WorkerError> {
    let p = job.claim.partition;
    let pending = &job.pending;
    let ttl = i32::try_from(cfg.limits.retention_days.saturating_mul(86_400)).unwrap_or(i32::MAX);
    let started = Instant::now();
    let waited = pending.oldest.map(|t| t.elapsed()).unwrap_or_default();

    let t = Instant::now();
    let r = s
        .archive
        .write(&pending.raw, ttl, cfg.worker.cql_concurrency)
        .await;
    let archive_took = t.elapsed();
    metrics::sink("archive", archive_took, r.is_ok());
    r.map_err(err)?;

    let t = Instant::now();
    let mut claim = job.claim.clone();
    let r = s.db.commit_batch(&mut claim, job.end, &pending.batch).await;
    let store_took = t.elapsed();
    metrics::sink("store", store_took, r.is_ok());
    let points = match r.map_err(err)? {
        Commit::Applied(points) => points,
        Commit::Fenced => {
            metrics::fenced(p);
            tracing::warn!(
                partition = p,
                epoch = claim.epoch,
                "fenced: another worker owns the partition"
            );
            return Ok(Outcome::Fenced);
        }
    };
    metrics::batch(pending.batch.events());

    // Live counters and series from the exact state just committed. A
    // failure here loses nothing: the campaigns are handed back as stale
    // and rewritten (with the then-current totals and the last hour of
    // series) once Redis answers again.
    let campaigns = pending.batch.campaigns();
    let t = Instant::now();
    let live = write_live(s, &campaigns, Some(points), version(&claim), live_ttl(cfg)).await;
    let live_took = t.elapsed();
    metrics::sink("live", live_took, live.is_ok());
    let stale = match live {
        Ok(_) => {
            let now_ms = Utc::now().timestamp_millis();
            for ingested in &pending.ingested_ms {
                metrics::freshness((now_ms - ingested) as f64 / 1000.0);
            }
            Vec::new()
        }
        Err(e) => {
            tracing::warn!(partition = p, campaigns = campaigns.len(), error = %e, "live counters not updated; will retry");
            campaigns
        }
    };
    if let Some(redis) = s.links.as_ref().filter(|_| !pending.links.is_empty()) {
        let ttl = u64::from(cfg.capping.link_ttl_days.max(1)) * 86_400;
        tokio::spawn(learn_links(redis.clone(), pending.links.clone(), ttl));
    }
    if started.elapsed() >= SLOW_FLUSH {
        tracing::warn!(
            partition = p,
            events = pending.batch.events(),
            waited_ms = waited.as_millis() as u64,
            archive_ms = archive_took.as_millis() as u64,
            store_ms = store_took.as_millis() as u64,
            live_ms = live_took.as_millis() as u64,
            "slow flush"
        );
    }
    Ok(Outcome::Applied {
        claim,
        hint: job.hint,
        stale,
    })
}

/// Stores identity links for frequency capping and merges what was counted
/// under each newly linked id into its person. Best effort, off the
/// flush's path: later events (and decisions) teach a lost link again.
async fn learn_links(redis: Redis, links: Vec<(String, String)>, ttl_secs: u64) {
    let new = match redis.learn_links(&links, ttl_secs).await {
        Ok(new) => new,
        Err(e) => {
            tracing::warn!(links = links.len(), error = %e, "identity links not stored");
            return;
        }
    };
    metrics::links_learned(links.len());
    let moved: Vec<(String, String)> = links
        .into_iter()
        .zip(new)
        .filter_map(|(l, new)| new.then_some(l))
        .collect();
    if let Err(e) = redis
        .merge_many(&moved, Utc::now().timestamp_millis())
        .await
    {
        tracing::warn!(links = moved.len(), error = %e, "counts under newly linked ids not merged");
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
/// `points` of their live series a commit just returned (or, given none,
/// their whole last hour read back), then publishes the totals as window
/// results (best effort: a consumer of the metrics topic takes the newest
/// `version` per campaign, and the next flush of the campaign publishes
/// again).
pub(crate) async fn write_live(
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
        .live
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
