//! One probe: the event that crosses a threshold, sent on its own, and the
//! times from its 202 to what follows from it.
//!
//! - Click probe: the campaign's first click makes its tenant's "first
//!   click" rule fire (the background load sends only impressions): → the
//!   receiver has the webhook naming the campaign; → (baseline) the live
//!   counter in Redis shows the click (the worker's freshness); → the
//!   time of the window result carrying it (the payload's `timestamp`).
//! - Budget probe: the impression whose cost reaches the campaign's
//!   `budget.total` → `POST /v1/frequency/decide`, asked every 20 ms,
//!   answers `budget_exhausted`; → the "budget exhausted" rule's webhook;
//!   → (baseline) the live counter shows the spend.

use std::sync::Arc;
use std::time::{Duration, Instant};

use adpulse_domain::CampaignId;
use adpulse_redis::Redis;
use chrono::Utc;
use serde_json::{Value, json};

use crate::load::Load;
use crate::receiver::Receiver;
use crate::seed::{BUDGET, Kind, ProbeSeed};

/// How often a budget probe asks for a decision.
const DECIDE_EVERY: Duration = Duration::from_millis(20);
/// How long a probe waits for anything.
const PROBE_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Clone, Debug, Default)]
pub struct ProbeResult {
    pub kind: &'static str,
    pub campaign: String,
    /// 202 → the live counter in Redis shows the event.
    pub live_ms: Option<f64>,
    /// 202 → the time of the window result that carried it (the webhook
    /// payload's `timestamp`: the worker's clock as it starts writing the
    /// live counters, before it publishes; wall clocks, ms precision).
    pub published_ms: Option<f64>,
    /// 202 → the webhook received.
    pub webhook_ms: Option<f64>,
    /// 202 → a decision answered `budget_exhausted` (budget probes).
    pub stopped_ms: Option<f64>,
    /// Decisions asked after the 202.
    pub decisions: u32,
    pub error: Option<String>,
}

impl ProbeResult {
    pub fn to_json(&self) -> Value {
        json!({"kind": self.kind, "campaign": self.campaign, "live_ms": self.live_ms,
               "published_ms": self.published_ms, "webhook_ms": self.webhook_ms,
               "stopped_ms": self.stopped_ms, "decisions": self.decisions, "error": self.error})
    }
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Polls the campaign's live counter `field` every 2 ms until it reaches
/// `at_least`; the time since `since`.
async fn live_reaches(
    redis: &Redis,
    campaign: CampaignId,
    field: &str,
    at_least: i64,
    since: Instant,
) -> Option<f64> {
    let key = redis.realtime_key(campaign);
    let mut conn = redis.connection();
    loop {
        let v: Option<i64> = redis::cmd("HGET")
            .arg(&key)
            .arg(field)
            .query_async(&mut conn)
            .await
            .ok()
            .flatten();
        if v.unwrap_or(0) >= at_least {
            return Some(ms(since.elapsed()));
        }
        if since.elapsed() > PROBE_TIMEOUT {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Asks for a decision every [`DECIDE_EVERY`] until one answers
/// `budget_exhausted`: the time since `since` (when that answer came) and
/// the decisions asked.
async fn until_stopped(load: &Load, p: &ProbeSeed, since: Instant) -> (Option<f64>, u32) {
    let deadline = since + PROBE_TIMEOUT;
    let (mut asked, mut next) = (0, Instant::now());
    while Instant::now() < deadline {
        asked += 1;
        if let Ok((false, reason)) = load.decide(p.tenant, p.campaign).await
            && reason == "budget_exhausted"
        {
            return (Some(ms(since.elapsed())), asked);
        }
        next += DECIDE_EVERY;
        tokio::time::sleep_until(next.into()).await;
    }
    (None, asked)
}

/// Sends the probe's event; when its 202 came (monotonic and wall clock).
async fn cross(load: &Load, p: &ProbeSeed) -> Result<(Instant, chrono::DateTime<Utc>), String> {
    if p.kind == Kind::Budget {
        let (allow, reason) = load.decide(p.tenant, p.campaign).await?;
        if !allow {
            return Err(format!("refused before the crossing: {reason}"));
        }
    }
    let (kind, cost) = match p.kind {
        Kind::Click => ("click", 1_000),
        Kind::Budget => ("impression", BUDGET - BUDGET / 10),
    };
    load.send_one(p.tenant, kind, p.campaign, cost).await?;
    Ok((Instant::now(), Utc::now()))
}

pub async fn probe(
    load: Arc<Load>,
    redis: Redis,
    receiver: Arc<Receiver>,
    p: ProbeSeed,
) -> ProbeResult {
    let mut r = ProbeResult {
        kind: if p.kind == Kind::Click {
            "click"
        } else {
            "budget"
        },
        campaign: p.campaign.to_string(),
        ..ProbeResult::default()
    };
    let (sent, sent_wall) = match cross(&load, &p).await {
        Ok(at) => at,
        Err(e) => {
            r.error = Some(e);
            return r;
        }
    };
    let (field, at_least, rule) = match p.kind {
        Kind::Click => ("clicks", 1, "first click"),
        Kind::Budget => ("spend_micros", BUDGET, "budget exhausted"),
    };
    let live = live_reaches(&redis, p.campaign, field, at_least, sent);
    let hook = receiver.wait(p.campaign, rule, sent + PROBE_TIMEOUT);
    let stopped = async {
        if p.kind == Kind::Budget {
            until_stopped(&load, &p, sent).await
        } else {
            (None, 0)
        }
    };
    let (live, hook, (stopped, asked)) = tokio::join!(live, hook, stopped);
    (r.live_ms, r.stopped_ms, r.decisions) = (live, stopped, asked);
    if let Some(g) = hook {
        r.webhook_ms = Some(ms(g.at.saturating_duration_since(sent)));
        r.published_ms = g
            .published
            .map(|at| (at - sent_wall).num_microseconds().unwrap_or(0) as f64 / 1000.0);
    }
    let missing: Vec<&str> = [
        ("live counter", r.live_ms.is_none()),
        ("webhook", r.webhook_ms.is_none()),
        (
            "budget_exhausted",
            p.kind == Kind::Budget && r.stopped_ms.is_none(),
        ),
    ]
    .into_iter()
    .filter_map(|(what, none)| none.then_some(what))
    .collect();
    if !missing.is_empty() {
        r.error = Some(format!(
            "no {} within {PROBE_TIMEOUT:?}",
            missing.join(", ")
        ));
    }
    r
}
