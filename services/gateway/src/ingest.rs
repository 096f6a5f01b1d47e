//! `POST /v1/events` and `POST /v1/events/batch`.
//!
//! Every event is parsed and validated by the domain, checked to belong to
//! the key's tenant, and appended to the event log. The answer is 202 only
//! after the log acknowledged every accepted event of the request; if any
//! append fails, the whole request is 503 and the sender retries it (events
//! that did land are counted once downstream: `event_id` is the idempotency
//! key). Refused events go to the rejected stream as bad rows, best effort
//! and bounded per tenant; malformed requests cost the tenant's refusal
//! budget (see [`crate::rejected`]).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use adpulse_domain::contract::envelope::{self, SharedHeaders};
use adpulse_domain::ports::LogRecord;
use adpulse_domain::{ErrorCode, Event, RejectReason, TenantId, parse_event};
use axum::Json;
use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::auth::AuthFailure;
use crate::body;
use crate::error::ApiError;
use crate::limit::Decision;
use crate::{Gateway, metrics};

/// What a paused tenant's sender is told to wait before retrying.
const PAUSED_RETRY_SECS: u64 = 30;

/// The reply to one accepted event.
#[derive(Serialize)]
struct Accepted {
    status: &'static str,
    event_id: String,
}

/// One event's outcome in a batch reply.
#[derive(Serialize)]
struct ItemResult<'a> {
    index: usize,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    event_id: Option<adpulse_domain::EventId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<&'a [adpulse_domain::FieldError]>,
}

/// `POST /v1/events`: one event.
pub async fn one(
    State(gw): State<Arc<Gateway>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let tenant = gw.authenticate(&headers, peer).await?;
    gw.refusal_gate(tenant)?;
    gw.paused_gate(tenant)?;
    if let Err(e) = body::format(&headers, false) {
        return Err(gw.refuse(b"", e, tenant).await);
    }
    let bytes = gw.read_body(body, &headers, tenant).await?;
    let quota = gw.take_quota(tenant, 1)?;
    let now = Utc::now();
    match gw.check(&bytes, tenant, now).await? {
        Ok((event, zone)) => {
            let event_id = event.event_id.to_string();
            gw.append(
                vec![envelope::encode(
                    &event,
                    &zone,
                    &SharedHeaders::new(tenant, now, trace_header(&headers)),
                )],
                1,
            )
            .await?;
            metrics::accepted(1);
            let mut r = (
                StatusCode::ACCEPTED,
                Json(Accepted {
                    status: "accepted",
                    event_id,
                }),
            )
                .into_response();
            quota_headers(r.headers_mut(), quota);
            Ok(r)
        }
        Err(reason) => Err(gw
            .refuse(&bytes, ApiError::rejected(reason, "event"), tenant)
            .await),
    }
}

/// `POST /v1/events/batch`: a JSON array or NDJSON of events.
pub async fn batch(
    State(gw): State<Arc<Gateway>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let tenant = gw.authenticate(&headers, peer).await?;
    gw.refusal_gate(tenant)?;
    gw.paused_gate(tenant)?;
    let format = match body::format(&headers, true) {
        Ok(f) => f,
        Err(e) => return Err(gw.refuse(b"", e, tenant).await),
    };
    let bytes = gw.read_body(body, &headers, tenant).await?;
    let now = Utc::now();
    let items = match body::split(&bytes, format) {
        Ok(items) => items,
        Err(e) => return Err(gw.refuse(&bytes, e, tenant).await),
    };
    let max = gw.cfg.max_batch_events;
    if items.is_empty() {
        let e = ApiError::new(
            StatusCode::BAD_REQUEST,
            "empty_batch",
            "the batch holds no events",
        );
        return Err(gw.refuse(&bytes, e, tenant).await);
    }
    if items.len() > max {
        let e = ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_many_events",
            format!("the batch holds {} events, the limit is {max}", items.len()),
        );
        return Err(gw.refuse(&bytes, e, tenant).await);
    }
    let quota = match gw.take_quota(tenant, u32::try_from(items.len()).unwrap_or(u32::MAX)) {
        Ok(q) => q,
        // More events than the burst can ever hold is bad input; 429 is not
        // (the sender retries later), so it leaves no bad row.
        Err(e) if e.status == StatusCode::PAYLOAD_TOO_LARGE => {
            return Err(gw.refuse(&bytes, e, tenant).await);
        }
        Err(e) => return Err(e),
    };
    let common = SharedHeaders::new(tenant, now, trace_header(&headers));

    let mut outcomes = Vec::with_capacity(items.len());
    let mut records = Vec::with_capacity(items.len());
    let mut bad_rows = Vec::new();
    for raw in &items {
        let outcome = gw.check(raw, tenant, now).await?;
        match &outcome {
            Ok((event, zone)) => records.push(envelope::encode(event, zone, &common)),
            Err(reason) => {
                metrics::rejected(metrics::reason(reason.code()));
                gw.keep(
                    &mut bad_rows,
                    raw,
                    reason.code().into(),
                    &reason.errors,
                    tenant,
                    now,
                );
            }
        }
        outcomes.push(outcome);
    }
    let accepted = records.len();
    let (appended, ()) = tokio::join!(
        async {
            if records.is_empty() {
                Ok(())
            } else {
                gw.append(records, accepted).await
            }
        },
        gw.write_bad_rows(bad_rows)
    );
    appended?;
    metrics::accepted(accepted);
    Ok(batch_reply(&outcomes, accepted, quota))
}

/// The answer to a batch whose events were all checked: 202 when any was
/// accepted, else 422, listing each event's outcome.
fn batch_reply(
    outcomes: &[Result<(Event, String), RejectReason>],
    accepted: usize,
    quota: Decision,
) -> Response {
    let results: Vec<ItemResult<'_>> = outcomes
        .iter()
        .enumerate()
        .map(|(index, o)| match o {
            Ok((e, _)) => ItemResult {
                index,
                status: "accepted",
                event_id: Some(e.event_id),
                code: None,
                message: None,
                errors: None,
            },
            Err(r) => ItemResult {
                index,
                status: "rejected",
                event_id: None,
                code: Some(r.code().as_str()),
                message: Some(r.to_string()),
                errors: Some(&r.errors),
            },
        })
        .collect();
    let status = if accepted > 0 {
        StatusCode::ACCEPTED
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let rejected = outcomes.len() - accepted;
    let body = serde_json::json!({"accepted": accepted, "rejected": rejected, "results": results});
    let mut r = (status, Json(body)).into_response();
    quota_headers(r.headers_mut(), quota);
    r
}

impl Gateway {
    /// The tenant of the request's key, or the refusal (401, or 429 when an
    /// IP keeps failing, or 503 when the directory cannot answer).
    pub(crate) async fn authenticate(
        &self,
        headers: &HeaderMap,
        peer: SocketAddr,
    ) -> Result<TenantId, ApiError> {
        // An address over its budget costs no directory lookup: only a key
        // already cached as valid gets through (a sender behind the same
        // NAT as a bad one, whose key is not cached, waits `Retry-After`).
        let outcome = match self.limiter.unauthenticated_closed(peer.ip()) {
            Some(wait) => match self.auth.cached(headers) {
                Some(Ok(t)) => return Ok(t),
                _ => {
                    return Err(limited(
                        self.limiter.unauthenticated_rate(),
                        wait.as_secs() + 1,
                        "too many unauthenticated requests from this address",
                    ));
                }
            },
            None => self.auth.tenant(headers).await.map_err(|e| {
                tracing::warn!(error = %e, "ingest key lookup failed");
                ApiError::unavailable(
                    "directory_unavailable",
                    "cannot check the ingest key right now; retry",
                )
            })?,
        };
        let failure = match outcome {
            Ok(t) => return Ok(t),
            Err(f) => f,
        };
        // Every refusal before a key is accepted is charged to the address.
        if let Decision::Limited { limit, retry_after } = self.limiter.unauthenticated(peer.ip()) {
            return Err(limited(
                limit,
                retry_after.as_secs() + 1,
                "too many unauthenticated requests from this address",
            ));
        }
        metrics::rejected(match failure {
            AuthFailure::Missing => "missing_key",
            AuthFailure::Invalid => "invalid_key",
            AuthFailure::Revoked => "revoked_key",
        });
        let (code, message) = match failure {
            AuthFailure::Missing => (
                "missing_key",
                "send the ingest key as `Authorization: Bearer <key>`",
            ),
            AuthFailure::Invalid => ("invalid_key", "the ingest key is not valid"),
            AuthFailure::Revoked => ("revoked_key", "the ingest key was revoked"),
        };
        let mut e = ApiError::new(StatusCode::UNAUTHORIZED, code, message);
        e.headers.push((
            axum::http::header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer"),
        ));
        Err(e)
    }

    /// The body within limits. A refused body is kept as a bad row with the
    /// reason (and no payload: it was not, or not fully, read).
    async fn read_body(
        &self,
        body: Body,
        headers: &HeaderMap,
        tenant: TenantId,
    ) -> Result<axum::body::Bytes, ApiError> {
        match body::read(
            body,
            headers,
            self.cfg.max_body_bytes,
            self.cfg.max_decompressed_bytes,
        )
        .await
        {
            Ok(b) => Ok(b),
            Err(e) => Err(self.refuse(b"", e, tenant).await),
        }
    }

    /// 503 with `Retry-After` while a kill switch pauses the tenant's
    /// ingestion: not accepted, so the sender keeps the events and
    /// retries.
    pub(crate) fn paused_gate(&self, tenant: TenantId) -> Result<(), ApiError> {
        if self.switches.now().ingest_paused(tenant) {
            metrics::rejected("ingest_paused");
            return Err(ApiError::unavailable(
                "ingest_paused",
                "an operator paused this tenant's ingestion; retry later (nothing was accepted)",
            )
            .retry_after(PAUSED_RETRY_SECS));
        }
        Ok(())
    }

    pub(crate) fn take_quota(&self, tenant: TenantId, n: u32) -> Result<Decision, ApiError> {
        match self.limiter.tenant(tenant, n) {
            d @ Decision::Allowed { .. } => Ok(d),
            Decision::Limited { limit, retry_after } => {
                metrics::rejected("rate_limited");
                Err(limited(
                    limit,
                    retry_after.as_secs() + 1,
                    "the tenant's event rate limit is reached",
                ))
            }
            Decision::TooLarge { burst } => Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "batch_exceeds_quota",
                format!("{n} events can never fit the tenant's burst of {burst}; split the batch"),
            )),
        }
    }

    /// Validates one event and checks its campaign belongs to `tenant`;
    /// an accepted event comes with its campaign's time zone. The outer
    /// error is a dependency failure (503), the inner the reason the event
    /// is refused.
    async fn check(
        &self,
        raw: &[u8],
        tenant: TenantId,
        now: DateTime<Utc>,
    ) -> Result<Result<(Event, String), RejectReason>, ApiError> {
        let event = match parse_event(raw, &self.limits, now) {
            Ok(e) => e,
            Err(r) => return Ok(Err(r)),
        };
        let facts = self.auth.campaign(event.campaign_id).await.map_err(|e| {
            tracing::warn!(error = %e, "campaign lookup failed");
            ApiError::unavailable(
                "directory_unavailable",
                "cannot check the campaign right now; retry",
            )
        })?;
        match facts {
            Some(f) if f.tenant == tenant => Ok(Ok((event, f.timezone.clone()))),
            _ => Ok(Err(RejectReason::one(
                "campaign_id",
                ErrorCode::UnknownCampaign,
                format!(
                    "campaign {} does not exist in this ingest key's tenant",
                    event.campaign_id
                ),
            ))),
        }
    }

    /// Appends accepted events; any failure fails the request with 503.
    async fn append(&self, records: Vec<LogRecord>, n: usize) -> Result<(), ApiError> {
        let started = Instant::now();
        let results = self.log.append(records).await;
        metrics::in_flight(self.log.in_flight());
        let failed = results.iter().filter_map(|r| r.as_ref().err()).next();
        metrics::produce(started.elapsed(), failed.is_none());
        match failed {
            None => Ok(()),
            Some(e) => {
                tracing::warn!(error = %e, events = n, "event log did not acknowledge; answering 503");
                metrics::rejected("log_unavailable");
                Err(ApiError::unavailable(
                    "log_unavailable",
                    "the event log cannot take events right now; nothing was acknowledged, retry the request",
                ))
            }
        }
    }
}

/// The trace context to carry into the log: the current span's when traces
/// are exported, else whatever `traceparent` the sender gave.
fn trace_header(headers: &HeaderMap) -> Option<String> {
    adpulse_telemetry::traceparent(&tracing::Span::current()).or_else(|| {
        headers
            .get("traceparent")
            .and_then(|v| v.to_str().ok())
            .filter(|v| v.len() <= 128)
            .map(str::to_owned)
    })
}

/// 429 `rate_limited` with `Retry-After` and `RateLimit-*` headers.
pub(crate) fn limited(limit: u32, retry_after: u64, message: &str) -> ApiError {
    let mut e = ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", message)
        .retry_after(retry_after);
    e.headers.push((RATELIMIT_LIMIT, HeaderValue::from(limit)));
    e.headers.push((RATELIMIT_REMAINING, HeaderValue::from(0)));
    e.headers
        .push((RATELIMIT_RESET, HeaderValue::from(retry_after)));
    e
}

pub(crate) fn quota_headers(h: &mut HeaderMap, d: Decision) {
    if let Decision::Allowed { limit, remaining } = d {
        h.insert(RATELIMIT_LIMIT, HeaderValue::from(limit));
        h.insert(RATELIMIT_REMAINING, HeaderValue::from(remaining));
    }
}

const RATELIMIT_LIMIT: axum::http::HeaderName =
    axum::http::HeaderName::from_static("ratelimit-limit");
const RATELIMIT_REMAINING: axum::http::HeaderName =
    axum::http::HeaderName::from_static("ratelimit-remaining");
const RATELIMIT_RESET: axum::http::HeaderName =
    axum::http::HeaderName::from_static("ratelimit-reset");

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};
    use std::sync::atomic::{AtomicUsize, Ordering};

    use adpulse_config::GatewayConfig;
    use adpulse_domain::ports::{CampaignFacts, KeyStatus, PortError};
    use adpulse_domain::{CampaignId, Limits, ingest_key};

    use super::*;
    use crate::NullEventLog;

    /// Knows one key; counts lookups.
    struct Counting {
        key: [u8; 32],
        tenant: TenantId,
        lookups: Arc<AtomicUsize>,
    }

    #[async_trait::async_trait]
    impl adpulse_domain::ports::Directory for Counting {
        async fn key_status(&self, key_hash: [u8; 32]) -> Result<KeyStatus, PortError> {
            self.lookups.fetch_add(1, Ordering::SeqCst);
            Ok(if key_hash == self.key {
                KeyStatus::Active(self.tenant)
            } else {
                KeyStatus::Unknown
            })
        }
        async fn campaign_facts(&self, _: CampaignId) -> Result<Option<CampaignFacts>, PortError> {
            Ok(None)
        }
        async fn budget_stops(
            &self,
        ) -> Result<Vec<adpulse_domain::budget::StoppedCampaign>, PortError> {
            Ok(Vec::new())
        }
        async fn ping(&self) -> Result<(), PortError> {
            Ok(())
        }
    }

    fn bearer(key: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            axum::http::header::AUTHORIZATION,
            format!("Bearer {key}").parse().expect("header"),
        );
        h
    }

    /// The budget closes for a second (rate 1/s); the test takes
    /// microseconds, and asks nothing of the clock.
    #[tokio::test]
    async fn an_address_over_its_budget_costs_no_directory_lookup() {
        let good = format!("adp_{}", "a".repeat(64));
        let tenant = TenantId::from_uuid(uuid::Uuid::new_v4());
        let lookups = Arc::new(AtomicUsize::new(0));
        let cfg = GatewayConfig {
            unauthenticated_per_ip_per_sec: 1,
            ..GatewayConfig::default()
        };
        let directory = Counting {
            key: ingest_key::hash(&good),
            tenant,
            lookups: Arc::clone(&lookups),
        };
        let gw = Gateway::new(
            cfg,
            Limits::default(),
            Arc::new(NullEventLog),
            Arc::new(directory),
        )
        .expect("gateway");
        let peer = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)), 4000);
        let bad = |i: u32| bearer(&format!("adp_{i:064x}"));
        let status = |r: Result<TenantId, ApiError>| r.map_err(|e| e.status.as_u16());

        assert_eq!(
            status(gw.authenticate(&bearer(&good), peer).await),
            Ok(tenant)
        );
        // A burst of two refusals, then the third does not fit: 429.
        assert_eq!(status(gw.authenticate(&bad(1), peer).await), Err(401));
        assert_eq!(status(gw.authenticate(&bad(2), peer).await), Err(401));
        assert_eq!(status(gw.authenticate(&bad(3), peer).await), Err(429));
        assert_eq!(lookups.load(Ordering::SeqCst), 4);
        // Closed: an unknown key and no key are 429 without asking the
        // directory; the valid key, cached, passes.
        assert_eq!(status(gw.authenticate(&bad(4), peer).await), Err(429));
        assert_eq!(
            status(gw.authenticate(&HeaderMap::new(), peer).await),
            Err(429)
        );
        assert_eq!(
            status(gw.authenticate(&bearer(&good), peer).await),
            Ok(tenant)
        );
        assert_eq!(lookups.load(Ordering::SeqCst), 4);
        // Another address is not closed.
        let other = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)), 4000);
        assert_eq!(status(gw.authenticate(&bad(5), other).await), Err(401));
        assert_eq!(lookups.load(Ordering::SeqCst), 5);
    }
}
