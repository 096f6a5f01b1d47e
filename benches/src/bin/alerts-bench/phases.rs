//! The run's phases: warm-up and capacity, the alerter catching up, then
//! the steady load with the probes, the lag samples and the evaluator's
//! store reads timed (first sight, then one bulk refresh).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use adpulse_alerter::facts::Facts;
use adpulse_config::Config;
use adpulse_domain::{CampaignId, TenantId};
use adpulse_postgres::Database;
use adpulse_redis::Redis;
use chrono::Utc;
use tokio::task::JoinHandle;

use crate::load::{Load, Sent, closed_loop, fixed_rate};
use crate::observe::{TopicCount, cpu_delta, cpu_snapshot};
use crate::probe::{ProbeResult, ms, probe};
use crate::receiver::Receiver;
use crate::seed::{BUDGET, Kind, ProbeSeed};
use crate::{Args, Res, applied, drained, report};

pub struct Bench<'a> {
    pub args: &'a Args,
    pub cfg: &'a Config,
    pub db: &'a Database,
    pub redis: &'a Redis,
    pub load: Arc<Load>,
    pub receiver: Arc<Receiver>,
    pub probes: Vec<ProbeSeed>,
    /// Window results published so far.
    pub results: TopicCount,
}

/// The closed-loop burst.
pub struct Capacity {
    pub gateway_rate: f64,
    pub end_to_end: f64,
    pub refused: u64,
}

/// The evaluator's store reads, timed: the first sight of every campaign
/// (campaign, tenant's rules, today's base: serial, once per campaign),
/// then one refresh of them all (beside the loop, every `cache_ms`).
pub struct Refresh {
    pub campaigns: usize,
    pub tenants: usize,
    pub first_campaigns_ms: f64,
    pub first_rules_ms: f64,
    pub first_days_ms: f64,
    pub bulk_ms: f64,
}

/// The steady phase.
pub struct Steady {
    pub rate: f64,
    pub sent: Sent,
    /// Requests sent more than 100 ms after their scheduled time.
    pub late: u64,
    pub wall: f64,
    /// The services' metrics at its start and end.
    pub metrics: (String, String),
    pub cpu: Vec<(String, f64)>,
    pub webhooks: u64,
    /// (worker, alerter) lag, records, every second.
    pub lags: Vec<(i64, i64)>,
    pub probes: Vec<ProbeResult>,
    pub refresh: Refresh,
}

impl Bench<'_> {
    pub async fn all(self, seed_secs: f64) -> Res<()> {
        let outcome = self.phases(seed_secs).await;
        self.results.stop().await;
        outcome
    }

    async fn phases(&self, seed_secs: f64) -> Res<()> {
        let capacity = self.capacity().await?;
        let rate = if self.args.rate > 0.0 {
            self.args.rate
        } else {
            capacity.end_to_end / 2.0
        };
        self.catch_up().await;
        let steady = self.steady(rate).await?;
        report::print(self.args, self.cfg, seed_secs, &capacity, &steady);
        if let Some(path) = &self.args.out {
            report::write_json(path, self.args, seed_secs, &capacity, &steady)?;
        }
        Ok(())
    }

    /// 3 s of warm-up (JITs, caches, connections, every tenant's key and
    /// campaign), then the burst: gateway rate, and end to end until the
    /// worker has applied it all.
    async fn capacity(&self) -> Res<Capacity> {
        let (args, cfg, db) = (self.args, self.cfg, self.db);
        eprintln!("warming up (3 s closed loop)");
        let warm = closed_loop(&self.load, args.connections, 3.0).await;
        drained(db, cfg, warm.events as i64, Duration::from_secs(180)).await?;
        eprintln!(
            "capacity: closed loop for {} s on {} connections",
            args.capacity_seconds, args.connections
        );
        let before = applied(db, &cfg.worker.group_id, &cfg.kafka.events_topic).await;
        let t0 = Instant::now();
        let burst = closed_loop(&self.load, args.connections, args.capacity_seconds as f64).await;
        let gateway_secs = t0.elapsed().as_secs_f64();
        let done = drained(
            db,
            cfg,
            before + burst.events as i64,
            Duration::from_secs(300),
        )
        .await?;
        let c = Capacity {
            gateway_rate: burst.events as f64 / gateway_secs,
            end_to_end: burst.events as f64 / done.duration_since(t0).as_secs_f64(),
            refused: burst.refused,
        };
        eprintln!(
            "capacity: gateway accepted {:.0} events/s ({} refused requests); end to end {:.0} events/s",
            c.gateway_rate, c.refused, c.end_to_end
        );
        Ok(c)
    }

    /// Waits (up to 2 min) until the alerter's position reaches every
    /// result published, the count read twice alike.
    async fn catch_up(&self) {
        let topic = &self.cfg.kafka.metrics_topic;
        let started = Instant::now();
        let mut seen = -1;
        loop {
            let end = self.results.get();
            let pos = applied(self.db, &self.cfg.alerts.group_id, topic).await;
            if (pos >= end && end == seen) || started.elapsed() > Duration::from_secs(120) {
                let secs = started.elapsed().as_secs_f64();
                eprintln!(
                    "alerter caught up with the burst in {secs:.1} s ({pos} of {end} results)"
                );
                return;
            }
            seen = end;
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }

    /// One impression for every probe campaign, so the alerter watches it
    /// (and holds its state) before its probe, as for a running campaign.
    async fn warm_probes(&self) -> Res<()> {
        for p in &self.probes {
            let cost = if p.kind == Kind::Budget {
                BUDGET / 10
            } else {
                500
            };
            self.load
                .send_one(p.tenant, "impression", p.campaign, cost)
                .await
                .map_err(|e| format!("warming a probe campaign: {e}"))?;
        }
        Ok(())
    }

    /// (worker, alerter) lag every second until `running` is false: events
    /// accepted − applied, results published − the alerter's committed
    /// position (committed at least every second).
    fn lag_sampler(&self, running: &Arc<AtomicBool>) -> JoinHandle<Vec<(i64, i64)>> {
        let (db, cfg, running) = (self.db.clone(), self.cfg.clone(), Arc::clone(running));
        let (load, published) = (Arc::clone(&self.load), Arc::clone(&self.results.records));
        tokio::spawn(async move {
            let mut samples = Vec::new();
            while running.load(Ordering::Relaxed) {
                let k = &cfg.kafka;
                let accepted = i64::try_from(load.accepted.load(Ordering::Relaxed)).unwrap_or(0);
                let published = i64::try_from(published.load(Ordering::Relaxed)).unwrap_or(0);
                let w = applied(&db, &cfg.worker.group_id, &k.events_topic).await;
                let a = applied(&db, &cfg.alerts.group_id, &k.metrics_topic).await;
                samples.push((accepted - w, published - a));
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            samples
        })
    }

    /// After `after` s, the evaluator's reads of every campaign as it
    /// first sees them, then one bulk refresh, timed (on the bench's own
    /// pool, with a `Facts` of its own).
    fn refresh_timer(&self, after: f64) -> JoinHandle<Refresh> {
        let facts = Facts::new(Arc::new(self.db.clone()));
        let tenants: Vec<TenantId> = self.load.tenants.iter().map(|t| t.id).collect();
        let campaigns: Vec<CampaignId> = (self.load.tenants.iter().map(|t| t.background))
            .chain(self.probes.iter().map(|p| p.campaign))
            .collect();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs_f64(after)).await;
            let t = Instant::now();
            let mut found = Vec::new();
            for c in &campaigns {
                found.extend(facts.campaign(*c).await);
            }
            let first_campaigns_ms = ms(t.elapsed());
            let t = Instant::now();
            for tenant in &tenants {
                let _ = facts.rules(*tenant).await;
            }
            let first_rules_ms = ms(t.elapsed());
            let t = Instant::now();
            for a in &found {
                let _ = facts.before_today(a, Utc::now()).await;
            }
            let first_days_ms = ms(t.elapsed());
            let t = Instant::now();
            facts.refresh().await;
            Refresh {
                campaigns: campaigns.len(),
                tenants: tenants.len(),
                first_campaigns_ms,
                first_rules_ms,
                first_days_ms,
                bulk_ms: ms(t.elapsed()),
            }
        })
    }

    /// The probes, the two kinds interleaved, evenly over the phase but
    /// its first and last seconds.
    async fn run_probes(&self, start: Instant) -> Vec<JoinHandle<ProbeResult>> {
        let seconds = self.args.seconds as f64;
        let first = (seconds / 6.0).min(5.0);
        let last = (seconds - 3.0).max(first + 1.0);
        let mut order: Vec<(f64, ProbeSeed)> = Vec::new();
        for kind in [Kind::Click, Kind::Budget] {
            let of: Vec<&ProbeSeed> = self.probes.iter().filter(|p| p.kind == kind).collect();
            for (i, p) in of.iter().enumerate() {
                order.push(((i as f64 + 0.5) / of.len() as f64, (*p).clone()));
            }
        }
        order.sort_by(|a, b| a.0.total_cmp(&b.0));
        let gap = (last - first) / order.len().max(1) as f64;
        let mut running = Vec::new();
        for (i, (_, p)) in order.into_iter().enumerate() {
            let at = start + Duration::from_secs_f64(first + gap * i as f64);
            tokio::time::sleep_until(at.into()).await;
            let (load, redis, receiver) = (
                Arc::clone(&self.load),
                self.redis.clone(),
                Arc::clone(&self.receiver),
            );
            running.push(tokio::spawn(probe(load, redis, receiver, p)));
        }
        running
    }

    async fn steady(&self, rate: f64) -> Res<Steady> {
        let (args, seconds) = (self.args, self.args.seconds as f64);
        eprintln!(
            "steady load: {rate:.0} events/s for {} s, {} click and {} budget probes",
            args.seconds, args.probes, args.budget_probes
        );
        self.warm_probes().await?;
        let (m0, cpu0, hooks0) = (render(), cpu_snapshot(), self.receiver.total());
        let start = Instant::now();
        let in_flight = args.connections * 4;
        let load = tokio::spawn(fixed_rate(Arc::clone(&self.load), rate, seconds, in_flight));
        let sampling = Arc::new(AtomicBool::new(true));
        let lags = self.lag_sampler(&sampling);
        let refresh = self.refresh_timer(seconds / 2.0);
        let running = self.run_probes(start).await;
        let (sent, late) = load.await?;
        let wall = start.elapsed().as_secs_f64();
        let (m1, cpu1, hooks1) = (render(), cpu_snapshot(), self.receiver.total());
        sampling.store(false, Ordering::Relaxed);
        let mut probes = Vec::new();
        for r in running {
            probes.push(r.await?);
        }
        eprintln!(
            "steady: {} requests, {} events accepted, {} refused, {late} sent >100 ms late",
            sent.requests, sent.events, sent.refused
        );
        for r in probes.iter().filter(|r| r.error.is_some()) {
            eprintln!(
                "probe {} {}: {}",
                r.kind,
                r.campaign,
                r.error.as_deref().unwrap_or("")
            );
        }
        Ok(Steady {
            rate,
            sent,
            late,
            wall,
            metrics: (m0, m1),
            cpu: cpu_delta(&cpu1, &cpu0),
            webhooks: hooks1 - hooks0,
            lags: lags.await?,
            probes,
            refresh: refresh.await?,
        })
    }
}

/// The services' metrics now (Prometheus text).
fn render() -> String {
    adpulse_telemetry::prometheus().render()
}
