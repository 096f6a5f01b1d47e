//! Frequency-capping decisions for ad servers, authenticated by the same
//! ingest keys as events:
//!
//! - `POST /v1/frequency/decide` `{campaign_id, ad_id?, user}` →
//!   `{allow, count, cap, window_ends_at, reason, decided_at}`; `allow`
//!   reserved the impression (check and increment in one step);
//! - `POST /v1/frequency/decide/batch` `{user, candidates: [...]}`: every
//!   candidate campaign of one ad request, decided in one store call;
//! - `POST /v1/frequency/release` `{campaign_id, ad_id?, user, reserved_at}`:
//!   gives back a reservation that was not served (`reserved_at` is the
//!   decision's `decided_at`, so the same window is released).
//!
//! Caps and time zones come from the campaigns' targeting through the
//! gateway's cached directory. The person is resolved across devices by the
//! identity links (learned from these requests and from ingested events),
//! within the key's tenant. When the counter store fails, the configured
//! policy answers (deny by default) with `reason: "store_unavailable"`.
//! Decisions count against the tenant's rate limit, one per candidate.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use adpulse_capping::CapStore;
use adpulse_capping::decide::{Candidate, Decider, OnFailure, Outcome, Reason, ReleaseError};
use adpulse_capping::identity::{Ids, LinkStore, MemoryLinks, TeachError, resolve, teach};
use adpulse_capping::memory::MemoryStore;
use adpulse_capping::sketch::{SketchSize, SketchStore};
use adpulse_config::{CappingBackend, CappingConfig, CappingFailurePolicy};
use adpulse_domain::switch::CappingMode;
use adpulse_domain::{CampaignId, CapCall, CapQuery, TenantId, parse_cap_query};
use axum::Json;
use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use crate::auth::TtlCache;
use crate::error::ApiError;
use crate::ingest::quota_headers;
use crate::{Gateway, body};

/// How long a link this gateway wrote is not written again (each write
/// pushes the link's expiry out; once an hour per link is plenty).
const RELEARN_AFTER: Duration = Duration::from_secs(3_600);

/// The decision service the gateway serves.
pub struct Capping {
    decider: Decider,
    links: Arc<dyn LinkStore>,
    link_ttl: chrono::Duration,
    max_candidates: usize,
    /// Links written lately (weak → strong), not written again for a while.
    taught: TtlCache<String, String>,
}

impl Capping {
    /// Decisions on `counters` and `links` as `cfg` says.
    pub fn new(
        counters: Arc<dyn CapStore>,
        links: Arc<dyn LinkStore>,
        cfg: &CappingConfig,
    ) -> Self {
        let on_failure = match cfg.on_failure {
            CappingFailurePolicy::Deny => OnFailure::Deny,
            CappingFailurePolicy::Allow => OnFailure::Allow,
        };
        Self {
            decider: Decider::new(counters, on_failure),
            links,
            link_ttl: chrono::Duration::days(i64::from(cfg.link_ttl_days.max(1))),
            max_candidates: cfg.max_candidates.max(1),
            taught: TtlCache::new(),
        }
    }

    /// Trips the counters' circuit breaker on `cfg` instead of the
    /// defaults.
    #[must_use]
    pub fn with_breaker(mut self, cfg: adpulse_resilience::BreakerConfig) -> Self {
        self.decider = self.decider.with_breaker(cfg);
        self
    }

    /// The counters' store (for readiness).
    pub fn counters(&self) -> Arc<dyn CapStore> {
        self.decider.shared_store()
    }

    /// The backend `cfg` names: the `shared` stores (Redis, required then,
    /// opened by the caller), or counters in this process. `None` when
    /// capping is off.
    pub fn from_config(
        cfg: &CappingConfig,
        shared: Option<(Arc<dyn CapStore>, Arc<dyn LinkStore>)>,
    ) -> Result<Option<Self>, String> {
        let (counters, links): (Arc<dyn CapStore>, Arc<dyn LinkStore>) = match cfg.backend {
            CappingBackend::Off => return Ok(None),
            CappingBackend::Redis => {
                shared.ok_or("capping.backend = redis needs a Redis connection")?
            }
            CappingBackend::Memory => (Arc::new(MemoryStore::new()), Arc::new(MemoryLinks::new())),
            CappingBackend::Sketch => {
                if !(cfg.sketch_over_cap_rate > 0.0 && cfg.sketch_over_cap_rate < 1.0) {
                    return Err("capping.sketch_over_cap_rate must be between 0 and 1".into());
                }
                let size = SketchSize::for_pairs(
                    cfg.sketch_expected_pairs.max(1),
                    cfg.sketch_over_cap_rate,
                );
                tracing::info!(
                    width = size.width,
                    depth = size.depth,
                    bytes_per_window = size.bytes(),
                    "capping sketch sized"
                );
                (
                    Arc::new(SketchStore::new(size)),
                    Arc::new(MemoryLinks::new()),
                )
            }
        };
        Ok(Some(Self::new(counters, links, cfg)))
    }

    /// Writes the links `ids` teaches, unless this gateway wrote them
    /// lately, and merges what was counted under a newly linked id into the
    /// person, before the decision (so it counts them: a person first seen
    /// as a cookie and now logging in is not shown the ad again).
    async fn teach(&self, ids: &Ids<'_>) {
        if !ids.teaches() {
            return;
        }
        let now = Instant::now();
        let fresh: Vec<(String, String)> = ids
            .links()
            .into_iter()
            .filter(|(weak, strong)| self.taught.get(weak, now).as_ref() != Some(strong))
            .collect();
        if fresh.is_empty() {
            return;
        }
        let now_utc = Utc::now();
        let until = now_utc + self.link_ttl;
        match teach(&*self.links, self.decider.store(), &fresh, until, now_utc).await {
            Ok(_) => {
                for (weak, strong) in fresh.iter() {
                    self.taught
                        .insert(weak.clone(), strong.clone(), now + RELEARN_AFTER);
                }
                metrics::counter!("adpulse_capping_links_learned_total")
                    .increment(fresh.len() as u64);
            }
            // Learned again with the next request that carries them; counts
            // not merged stay under the weak id.
            Err(e) => {
                tracing::warn!(error = %e, "identity links not learned");
                let op = match e {
                    TeachError::Learn(_) => "learn",
                    TeachError::Merge(_) => "merge",
                };
                metrics::counter!("adpulse_capping_store_errors_total", "op" => op).increment(1);
            }
        }
    }
}

/// One decision as answered.
#[derive(Serialize)]
struct Answer {
    campaign_id: CampaignId,
    #[serde(skip_serializing_if = "Option::is_none")]
    ad_id: Option<String>,
    allow: bool,
    count: u32,
    cap: Option<u32>,
    window_ends_at: Option<String>,
    reason: &'static str,
}

#[derive(Serialize)]
struct Single {
    #[serde(flatten)]
    answer: Answer,
    decided_at: String,
}

#[derive(Serialize)]
struct Batch {
    decided_at: String,
    decisions: Vec<Answer>,
}

fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn answer(o: &Outcome, ad: Option<String>) -> Answer {
    Answer {
        campaign_id: o.campaign,
        ad_id: ad,
        allow: o.allow,
        count: o.count,
        cap: o.cap,
        window_ends_at: o.window_ends_at.map(timestamp),
        reason: o.reason.as_str(),
    }
}

/// `POST /v1/frequency/decide`.
pub async fn decide(
    State(gw): State<Arc<Gateway>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    serve(&gw, peer, &headers, body, CapCall::Decide).await
}

/// `POST /v1/frequency/decide/batch`.
pub async fn decide_batch(
    State(gw): State<Arc<Gateway>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    serve(&gw, peer, &headers, body, CapCall::DecideBatch).await
}

/// `POST /v1/frequency/release`.
pub async fn release(
    State(gw): State<Arc<Gateway>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    serve(&gw, peer, &headers, body, CapCall::Release).await
}

async fn serve(
    gw: &Gateway,
    peer: SocketAddr,
    headers: &HeaderMap,
    body: Body,
    call: CapCall,
) -> Result<Response, ApiError> {
    let Some(capping) = gw.capping.as_ref() else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "capping_disabled",
            "frequency capping is not enabled on this gateway (capping.backend = off)",
        ));
    };
    let tenant = gw.authenticate(headers, peer).await?;
    let bytes = body::read(
        body,
        headers,
        gw.cfg.max_body_bytes,
        gw.cfg.max_decompressed_bytes,
    )
    .await?;
    let query = parse_cap_query(&bytes, call, capping.max_candidates)
        .map_err(|reason| ApiError::rejected(reason, "request"))?;
    let quota = gw.take_quota(
        tenant,
        u32::try_from(query.candidates.len()).unwrap_or(u32::MAX),
    )?;
    let now = Utc::now();
    let candidates = candidates(gw, tenant, &query, now).await?;
    if let Some(mode) = gw.switches.now().capping() {
        let mut response = without_store(call, candidates, mode, now)?;
        quota_headers(response.headers_mut(), quota);
        return Ok(response);
    }
    let scope = tenant.to_string();
    let u = &query.user;
    let ids = Ids {
        device_id: u.device_id.as_deref(),
        cookie_id: u.cookie_id.as_deref(),
        login_id: u.login_id.as_deref(),
        email_sha256: u.email_sha256.as_deref(),
        scope: Some(&scope),
    };
    // Parsing guaranteed at least one id.
    let (person, ()) = tokio::join!(resolve(&ids, &*capping.links, now), capping.teach(&ids));
    let person = person.unwrap_or_default();

    let mut response = match call {
        CapCall::Release => {
            let at = query.reserved_at.unwrap_or(now);
            release_one(capping, &person, single(candidates)?.0, at).await?
        }
        CapCall::Decide => match single(candidates)? {
            (c, true) => Json(Single {
                answer: exhausted(&c),
                decided_at: timestamp(now),
            })
            .into_response(),
            (c, false) => decide_one(capping, &person, &ids, c, now).await?,
        },
        CapCall::DecideBatch => decide_many(capping, &person, candidates, now).await,
    };
    quota_headers(response.headers_mut(), quota);
    Ok(response)
}

/// The answers while a kill switch takes the counters' store (and the
/// identity links) out: decisions as the switch says, budget stops and
/// unknown campaigns as always, releases done (nothing was reserved).
fn without_store(
    call: CapCall,
    candidates: Vec<Looked>,
    mode: CappingMode,
    now: DateTime<Utc>,
) -> Result<Response, ApiError> {
    Ok(match call {
        CapCall::Release => StatusCode::NO_CONTENT.into_response(),
        CapCall::Decide => {
            let (c, stopped) = single(candidates)?;
            Json(Single {
                answer: if stopped {
                    exhausted(&c)
                } else {
                    switched(&c, mode)
                },
                decided_at: timestamp(now),
            })
            .into_response()
        }
        CapCall::DecideBatch => Json(Batch {
            decided_at: timestamp(now),
            decisions: candidates
                .into_iter()
                .map(|c| match c {
                    Looked::Known(c) => switched(&c, mode),
                    Looked::Stopped(c) => exhausted(&c),
                    Looked::Unknown(campaign, ad) => unknown(campaign, ad),
                })
                .collect(),
        })
        .into_response(),
    })
}

/// Gives back a reservation made at `at`: 204, or why not.
async fn release_one(
    capping: &Capping,
    person: &str,
    c: Candidate,
    at: DateTime<Utc>,
) -> Result<Response, ApiError> {
    match capping.decider.release(person, &c, at).await {
        Ok(()) => Ok(StatusCode::NO_CONTENT.into_response()),
        Err(ReleaseError::Plan(e)) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "ad_required",
            e.to_string(),
        )),
        Err(ReleaseError::Store(e)) => {
            tracing::warn!(error = %e, "release failed");
            Err(ApiError::unavailable(
                "store_unavailable",
                "the counter store does not answer; retry the release",
            ))
        }
    }
}

/// One decision (learning the request's links meanwhile).
async fn decide_one(
    capping: &Capping,
    person: &str,
    ids: &Ids<'_>,
    c: Candidate,
    now: DateTime<Utc>,
) -> Result<Response, ApiError> {
    let ad = c.ad.clone();
    let (outcomes, ()) = tokio::join!(
        capping
            .decider
            .decide(person, std::slice::from_ref(&c), now),
        capping.teach(ids)
    );
    let outcome = outcomes
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::unavailable("store_unavailable", "no decision"))?;
    if outcome.reason == Reason::Invalid {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "ad_required",
            "the campaign caps each ad: send ad_id",
        ));
    }
    Ok(Json(Single {
        answer: answer(&outcome, ad),
        decided_at: timestamp(now),
    })
    .into_response())
}

/// A decision per candidate, in order; unknown campaigns are refused in
/// place, the known ones decided in one store call.
async fn decide_many(
    capping: &Capping,
    person: &str,
    candidates: Vec<Looked>,
    now: DateTime<Utc>,
) -> Response {
    let known: Vec<Candidate> = candidates
        .iter()
        .filter_map(|c| match c {
            Looked::Known(c) => Some(c.clone()),
            Looked::Stopped(_) | Looked::Unknown(..) => None,
        })
        .collect();
    let mut outcomes = capping
        .decider
        .decide(person, &known, now)
        .await
        .into_iter();
    let decisions = candidates
        .into_iter()
        .map(|c| match c {
            Looked::Known(c) => outcomes
                .next()
                .map(|o| answer(&o, c.ad))
                .unwrap_or_else(|| unknown(c.campaign, None)),
            Looked::Stopped(c) => exhausted(&c),
            Looked::Unknown(campaign, ad) => unknown(campaign, ad),
        })
        .collect();
    Json(Batch {
        decided_at: timestamp(now),
        decisions,
    })
    .into_response()
}

fn unknown(campaign: CampaignId, ad: Option<String>) -> Answer {
    Answer {
        campaign_id: campaign,
        ad_id: ad,
        allow: false,
        count: 0,
        cap: None,
        window_ends_at: None,
        reason: "unknown_campaign",
    }
}

/// A decision a kill switch makes (capping without its store): allowed
/// (fail-open) or refused (fail-closed), nothing counted.
fn switched(c: &Candidate, mode: CappingMode) -> Answer {
    let allow = mode == CappingMode::FailOpen;
    metrics::counter!("adpulse_capping_decisions_total", "reason" => "kill_switch", "allow" => if allow { "true" } else { "false" })
        .increment(1);
    Answer {
        campaign_id: c.campaign,
        ad_id: c.ad.clone(),
        allow,
        count: 0,
        cap: None,
        window_ends_at: None,
        reason: "kill_switch",
    }
}

/// A campaign whose budget stops it: refused, nothing counted.
fn exhausted(c: &Candidate) -> Answer {
    metrics::counter!("adpulse_capping_decisions_total", "reason" => "budget_exhausted", "allow" => "false")
        .increment(1);
    Answer {
        campaign_id: c.campaign,
        ad_id: c.ad.clone(),
        allow: false,
        count: 0,
        cap: None,
        window_ends_at: None,
        reason: "budget_exhausted",
    }
}

/// A candidate as looked up.
enum Looked {
    /// The tenant's, to decide.
    Known(Candidate),
    /// The tenant's, stopped by its budget.
    Stopped(Candidate),
    /// Not a campaign of the tenant.
    Unknown(CampaignId, Option<String>),
}

/// The query's candidates with their caps and zones, or the ones that are
/// not campaigns of `tenant`.
async fn candidates(
    gw: &Gateway,
    tenant: TenantId,
    query: &CapQuery,
    now: DateTime<Utc>,
) -> Result<Vec<Looked>, ApiError> {
    let mut out = Vec::with_capacity(query.candidates.len());
    for (campaign, ad) in &query.candidates {
        let ad = ad.as_ref().map(|a| a.as_str().to_owned());
        let facts = gw.auth.campaign(*campaign).await.map_err(|e| {
            tracing::warn!(error = %e, "campaign lookup failed");
            ApiError::unavailable(
                "directory_unavailable",
                "cannot check the campaign right now; retry",
            )
        })?;
        out.push(match facts {
            Some(f) if f.tenant == tenant => known(gw, now, Candidate {
                campaign: *campaign,
                ad,
                timezone: f.timezone.parse().unwrap_or_else(|_| {
                    tracing::warn!(%campaign, timezone = %f.timezone, "unknown time zone; capping in UTC");
                    chrono_tz::UTC
                }),
                cap: f.frequency_cap,
            }),
            _ => Looked::Unknown(*campaign, ad),
        });
    }
    Ok(out)
}

/// `c`, stopped if its budget stops it at `now`.
fn known(gw: &Gateway, now: DateTime<Utc>, c: Candidate) -> Looked {
    if gw.stops.stopped(c.campaign, now).is_some() {
        Looked::Stopped(c)
    } else {
        Looked::Known(c)
    }
}

/// The one candidate of a single decision or release and whether its
/// budget stops it, or 404.
fn single(mut candidates: Vec<Looked>) -> Result<(Candidate, bool), ApiError> {
    match candidates.pop() {
        Some(Looked::Known(c)) => Ok((c, false)),
        Some(Looked::Stopped(c)) => Ok((c, true)),
        _ => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_campaign",
            "campaign_id is not a campaign of this key's tenant",
        )),
    }
}
