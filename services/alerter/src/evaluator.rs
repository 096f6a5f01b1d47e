//! The evaluating side: a member of the alerters' group on the
//! window-result stream (keyed by campaign, so each campaign's results and
//! rule states belong to one alerter at a time), evaluating every rule of
//! a campaign at each of its results and, every `tick_ms`, again without
//! one (a `for` duration running out, a trailing span moving on).
//!
//! Per partition, as the worker does: the first record claims it in the
//! store (fencing the previous owner), records before the claimed offset
//! were applied already, and what a stretch of records changed (states,
//! history, deliveries) is committed in one transaction with the next
//! offset. A crash loses only what was not committed, and the next owner
//! evaluates those results again from the same stored states: no
//! notification is lost, none is repeated. A failed commit drops the
//! partition's memory and claims it again.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use adpulse_config::AlertsConfig;
use adpulse_domain::CampaignId;
use adpulse_domain::aggregate::Counts;
use adpulse_domain::alert::ledger::{AlertCampaign, AlertCommit, StopWrite};
use adpulse_domain::alert::{AlertState, RuleRecord, Sample};
use adpulse_domain::budget::StoppedCampaign;
use adpulse_domain::contract::window::WindowResult;
use adpulse_domain::ports::{AlertLedger, ConsumedRecord, EventSource};
use adpulse_domain::store::Claim;
use chrono::{DateTime, Utc};
use tokio::sync::Notify;
use uuid::Uuid;

use crate::budget::stop_for;
use crate::evaluate::evaluate;
use crate::facts::Facts;
use crate::metrics;
use crate::recent::Trail;

/// Records between two commits of a partition, at most.
const MAX_PENDING: usize = 200;
/// How long a partition's changes wait for more before being committed.
const LINGER: Duration = Duration::from_millis(20);
/// How often a partition's position is committed when nothing changed.
const POSITION_EVERY: Duration = Duration::from_secs(1);

/// A watched campaign.
#[derive(Default)]
struct Watched {
    /// Rule → state, as committed plus what `pending` holds.
    states: HashMap<Uuid, AlertState>,
    /// The newest result.
    last: Option<WindowResult>,
    trail: Trail,
    /// Its budget stop, as committed plus what `pending` holds.
    stop: Option<StoppedCampaign>,
}

/// An owned partition.
struct Part {
    claim: Claim,
    campaigns: HashMap<CampaignId, Watched>,
    /// Not yet committed: the changes, the offset after them, how many
    /// records, since when.
    pending: AlertCommit,
    next_offset: i64,
    records: usize,
    since: Option<Instant>,
    committed_at: Instant,
}

/// The evaluator.
pub struct Evaluator {
    cfg: Arc<AlertsConfig>,
    topic: String,
    source: Box<dyn EventSource>,
    ledger: Arc<dyn AlertLedger>,
    parts: HashMap<i32, Part>,
    fenced: HashSet<i32>,
    facts: Arc<Facts>,
    wake: Arc<Notify>,
}

impl Evaluator {
    /// An evaluator of `source` (a member of the alerters' group on
    /// `topic`), reading its campaigns from `facts` (which the caller
    /// keeps refreshing), recording in `ledger`, waking the deliverer
    /// through `wake`.
    pub fn new(
        cfg: Arc<AlertsConfig>,
        topic: String,
        source: Box<dyn EventSource>,
        ledger: Arc<dyn AlertLedger>,
        facts: Arc<Facts>,
        wake: Arc<Notify>,
    ) -> Self {
        Self {
            cfg,
            topic,
            source,
            ledger,
            parts: HashMap::new(),
            fenced: HashSet::new(),
            facts,
            wake,
        }
    }

    /// Evaluates until `shutdown`, commits what it holds, and leaves the
    /// group.
    pub async fn run(mut self, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut tick = tokio::time::interval(Duration::from_millis(self.cfg.tick_ms.max(10)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            self.rebalance();
            tokio::select! {
                () = &mut shutdown => break,
                _ = tick.tick() => self.tick(Utc::now()).await,
                got = self.source.recv(LINGER) => match got {
                    Ok(Some(r)) => self.record(r).await,
                    Ok(None) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "reading window results failed");
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                },
            }
            self.commit_due(false).await;
        }
        self.commit_due(true).await;
        self.source.leave();
    }

    fn rebalance(&mut self) {
        for p in self.source.take_revoked() {
            if let Some(part) = self.parts.remove(&p) {
                self.facts.forget(part.campaigns.into_keys());
            }
        }
        for p in self.source.take_assigned() {
            self.fenced.remove(&p);
        }
    }

    async fn record(&mut self, r: ConsumedRecord) {
        let p = r.partition;
        if self.fenced.contains(&p) {
            return;
        }
        if !self.parts.contains_key(&p) {
            match self
                .ledger
                .claim_alerts(&self.cfg.group_id, &self.topic, p)
                .await
            {
                Ok(claim) => {
                    tracing::info!(partition = p, from = claim.next_offset, "claimed");
                    let _ = self.source.commit_hint(p, claim.next_offset);
                    self.parts.insert(p, part(claim));
                }
                Err(e) => {
                    tracing::warn!(partition = p, error = %e, "claiming a partition failed");
                    return;
                }
            }
        }
        let Some(part) = self.parts.get(&p) else {
            return;
        };
        if r.offset < part.claim.next_offset {
            metrics::result("replayed");
            return;
        }
        let result = r
            .payload
            .as_deref()
            .and_then(|b| serde_json::from_slice::<WindowResult>(b).ok());
        if let Some(result) = result {
            self.evaluate_result(p, result).await;
        } else {
            metrics::result("undecodable");
        }
        if let Some(part) = self.parts.get_mut(&p) {
            part.next_offset = r.offset + 1;
            part.records += 1;
            part.since.get_or_insert_with(Instant::now);
        }
    }

    async fn evaluate_result(&mut self, p: i32, result: WindowResult) {
        let id = result.campaign_id;
        let Some(campaign) = self.facts.campaign(id).await else {
            metrics::result("unknown_campaign");
            return;
        };
        let rules = self.facts.rules(campaign.tenant).await;
        let before = self.facts.before_today(&campaign, result.at).await;
        if let Err(e) = self.watch(p, id).await {
            tracing::warn!(partition = p, error = %e, "reading alert states failed");
            self.parts.remove(&p);
            return;
        }
        let Some(part) = self.parts.get_mut(&p) else {
            return;
        };
        let Some(w) = part.campaigns.get_mut(&id) else {
            return;
        };
        if w.last.as_ref().is_some_and(|l| l.version >= result.version) {
            metrics::result("stale");
            return;
        }
        if w.last.is_none() {
            let since = result.at - chrono::TimeDelta::minutes(61);
            match self.ledger.recent_points(id, since).await {
                Ok(points) => w.trail = Trail::seeded(result.at, result.lifetime, &points),
                Err(e) => {
                    tracing::warn!(campaign = %id, error = %e, "reading the live series failed")
                }
            }
        }
        w.trail.push(result.at, result.lifetime);
        let sample = sample(&result, before, &w.trail, &rules, &campaign, result.at);
        let pass = evaluate(
            &campaign,
            &rules,
            &mut w.states,
            &sample,
            result.at,
            &mut part.pending,
        );
        stop(&campaign, &sample, result.at, w, &mut part.pending);
        w.last = Some(result);
        metrics::result("evaluated");
        metrics::pass(pass);
    }

    /// Loads a campaign's stored states the first time a partition sees
    /// it.
    async fn watch(&mut self, p: i32, id: CampaignId) -> Result<(), String> {
        let Some(part) = self.parts.get(&p) else {
            return Ok(());
        };
        if part.campaigns.contains_key(&id) {
            return Ok(());
        }
        let stored = self
            .ledger
            .alert_states(id)
            .await
            .map_err(|e| e.to_string())?;
        let stop = self
            .ledger
            .recorded_stop(id)
            .await
            .map_err(|e| e.to_string())?;
        if let Some(part) = self.parts.get_mut(&p) {
            let w = part.campaigns.entry(id).or_default();
            w.states = stored.into_iter().collect();
            w.stop = stop;
        }
        Ok(())
    }

    /// Every watched campaign evaluated again at `now`, on its newest
    /// result.
    async fn tick(&mut self, now: DateTime<Utc>) {
        let watched: Vec<(i32, CampaignId)> = self
            .parts
            .iter()
            .flat_map(|(p, part)| part.campaigns.keys().map(move |c| (*p, *c)))
            .collect();
        for (p, id) in watched {
            let Some(campaign) = self.facts.campaign(id).await else {
                continue;
            };
            let rules = self.facts.rules(campaign.tenant).await;
            let before = self.facts.before_today(&campaign, now).await;
            let Some(part) = self.parts.get_mut(&p) else {
                continue;
            };
            let Some(w) = part.campaigns.get_mut(&id) else {
                continue;
            };
            let Some(last) = w.last.clone() else {
                continue;
            };
            let sample = sample(&last, before, &w.trail, &rules, &campaign, now);
            let quiet = part.pending.is_empty();
            metrics::pass(evaluate(
                &campaign,
                &rules,
                &mut w.states,
                &sample,
                now,
                &mut part.pending,
            ));
            stop(&campaign, &sample, now, w, &mut part.pending);
            if quiet && !part.pending.is_empty() {
                part.since.get_or_insert_with(Instant::now);
            }
        }
    }

    /// Commits partitions whose changes have waited long enough (all of
    /// them when `all`), and positions not committed for a while.
    async fn commit_due(&mut self, all: bool) {
        let due: Vec<i32> = self
            .parts
            .iter()
            .filter(|(_, part)| {
                let changed = !part.pending.is_empty()
                    && (all
                        || part.records >= MAX_PENDING
                        || part.since.is_some_and(|s| s.elapsed() >= LINGER));
                let moved = part.next_offset > part.claim.next_offset
                    && (all || part.committed_at.elapsed() >= POSITION_EVERY);
                changed || moved
            })
            .map(|(p, _)| *p)
            .collect();
        for p in due {
            self.commit(p).await;
        }
    }

    async fn commit(&mut self, p: i32) {
        let Some(part) = self.parts.get_mut(&p) else {
            return;
        };
        let started = Instant::now();
        let deliveries = !part.pending.deliveries.is_empty();
        let outcome = self
            .ledger
            .commit_alerts(&mut part.claim, part.next_offset, &part.pending)
            .await;
        metrics::commit(started.elapsed(), matches!(outcome, Ok(false)));
        match outcome {
            Ok(true) => {
                part.pending = AlertCommit::default();
                part.records = 0;
                part.since = None;
                part.committed_at = Instant::now();
                let _ = self.source.commit_hint(p, part.next_offset);
                if deliveries {
                    self.wake.notify_one();
                }
            }
            Ok(false) => {
                tracing::warn!(partition = p, "fenced: another alerter owns the partition");
                self.parts.remove(&p);
                self.fenced.insert(p);
            }
            Err(e) => {
                // Memory is ahead of the store: forget it and start again
                // from what was committed.
                tracing::warn!(partition = p, error = %e, "committing alerts failed; reclaiming");
                self.parts.remove(&p);
            }
        }
    }
}

fn part(claim: Claim) -> Part {
    Part {
        next_offset: claim.next_offset,
        claim,
        campaigns: HashMap::new(),
        pending: AlertCommit::default(),
        records: 0,
        since: None,
        committed_at: Instant::now(),
    }
}

/// Records the budget stop `sample` calls for, if it differs from the
/// campaign's current one.
fn stop(
    campaign: &AlertCampaign,
    sample: &Sample,
    now: DateTime<Utc>,
    w: &mut Watched,
    out: &mut AlertCommit,
) {
    let want = stop_for(campaign, sample, now, w.stop.as_ref());
    if want != w.stop {
        out.stops.push(StopWrite {
            campaign: campaign.id,
            tenant: campaign.tenant,
            stop: want,
        });
        w.stop = want;
    }
}

/// The sample of `result` at `now`, with the trailing spans `rules` read.
/// Today's counts are the lifetime less what occurred `before` the local
/// day began (the campaign's zone); without that, those of the result's
/// UTC day (zero once that day is over).
fn sample(
    result: &WindowResult,
    before: Option<Counts>,
    trail: &Trail,
    rules: &[RuleRecord],
    campaign: &AlertCampaign,
    now: DateTime<Utc>,
) -> Sample {
    let mut spans = Vec::new();
    for r in rules {
        r.spec.condition.recent_spans(&mut spans);
    }
    spans.sort_unstable();
    spans.dedup();
    Sample {
        lifetime: result.lifetime,
        today: match before {
            Some(b) => result.lifetime.less(b),
            None if now.date_naive() > result.day => Counts::default(),
            None => result.today,
        },
        recent: spans
            .into_iter()
            .filter_map(|m| trail.last(now, m).map(|c| (m, c)))
            .collect(),
        budget: campaign.budget,
    }
}
