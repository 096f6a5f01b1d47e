//! `/ops/*`: the kill switches, for operators rather than tenants.
//!
//! Behind the operator token (`ops.token`, a bearer token compared in
//! constant time), not a tenant's login: a switch acts across tenants.
//! Without a configured token these routes answer 404, as if absent, and
//! switches change through `adpulse admin switch` only. Every change is
//! written with its audit line in one transaction and logged
//! (`target: "audit"`); the actor is who the caller says they are (the
//! token is shared), recorded as `<actor> (api)`.

use adpulse_domain::switch::{Switch, SwitchAudit, SwitchRecord, Switchboard};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, RawQuery, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::error::{ApiError, FieldProblem};
use crate::http::{json_body, query};
use crate::openapi::responses as r;

/// While the read-only switch holds: every change answered 503
/// `read_only` (with `Retry-After`); reads, logins, sessions, signed
/// stream URLs and the operators' own routes pass.
pub async fn read_only(State(board): State<Switchboard>, request: Request, next: Next) -> Response {
    let passes = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) || {
        // Under `/api/v1` (nested: the prefix is stripped here).
        let path = request.uri().path();
        let path = path.strip_prefix("/api/v1").unwrap_or(path);
        ["/auth/", "/session", "/ops/"]
            .iter()
            .any(|p| path.starts_with(p))
            || path.ends_with("/stream-url")
    };
    if passes || !board.now().read_only_api() {
        return next.run(request).await;
    }
    ApiError::ReadOnly.into_response()
}

/// A caller holding the operator token.
pub struct Operator;

impl FromRequestParts<AppState> for Operator {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some(token) = &state.ops_token else {
            return Err(ApiError::NotFound("route"));
        };
        let given = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if constant_time_eq(given.as_bytes(), token.as_bytes()) {
            Ok(Self)
        } else {
            Err(ApiError::unauthorized(
                "invalid_token",
                "send the operator token as a bearer token",
            ))
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A switch to turn on.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetBody {
    /// The switch.
    switch: Switch,
    /// Who sets it; 1 to 200 characters.
    actor: String,
    /// Why; 1 to 1,000 characters.
    reason: String,
}

/// Who clears a switch, and why.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClearBody {
    /// Who; 1 to 200 characters.
    actor: String,
    /// Why; 1 to 1,000 characters.
    reason: String,
}

/// The switches in force.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SwitchList {
    data: Vec<SwitchRecord>,
}

/// A page of the audit trail, newest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditPage {
    data: Vec<SwitchAudit>,
    /// Pass as `before` for the next page; absent on the last.
    next_before: Option<i64>,
}

/// Paging of the audit trail.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct AuditQuery {
    /// Lines older than this `seq`.
    before: Option<i64>,
    /// 1 to 500; default 100.
    limit: Option<u32>,
}

fn who(actor: &str, reason: &str) -> Result<(String, String), ApiError> {
    let mut problems = Vec::new();
    let (actor, reason) = (actor.trim(), reason.trim());
    if actor.is_empty() || actor.chars().count() > 200 {
        problems.push(FieldProblem::new("actor", "must be 1 to 200 characters"));
    }
    if reason.is_empty() || reason.chars().count() > 1_000 {
        problems.push(FieldProblem::new("reason", "must be 1 to 1000 characters"));
    }
    if problems.is_empty() {
        Ok((format!("{actor} (api)"), reason.to_owned()))
    } else {
        Err(ApiError::Invalid(problems))
    }
}

/// `GET /ops/switches`.
#[utoipa::path(get, path = "/api/v1/ops/switches", tag = "ops", security(("operator" = [])),
    responses((status = 200, description = "the switches in force", body = SwitchList),
        r::Unauthorized, r::NotFound, r::Unavailable))]
pub async fn list(
    State(state): State<AppState>,
    _: Operator,
) -> Result<Json<SwitchList>, ApiError> {
    Ok(Json(SwitchList {
        data: state.db.switches().await?,
    }))
}

/// `POST /ops/switches`: turns a switch on (replacing the one in its
/// slot); every replica follows within `ops.switch_poll_ms`.
#[utoipa::path(post, path = "/api/v1/ops/switches", tag = "ops", security(("operator" = [])), request_body = SetBody,
    responses((status = 200, description = "the switch in force", body = SwitchRecord),
        r::BadRequest, r::Unauthorized, r::NotFound, r::Unprocessable, r::Unavailable))]
pub async fn set(
    State(state): State<AppState>,
    _: Operator,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<SwitchRecord>, ApiError> {
    let b = json_body::<SetBody>(&headers, &body)?;
    let (actor, reason) = who(&b.actor, &b.reason)?;
    let r = state.db.set_switch(&b.switch, &actor, &reason).await?;
    tracing::info!(target: "audit", key = %b.switch.key(), switch = ?b.switch, %actor, %reason, "kill switch set");
    Ok(Json(r))
}

/// `DELETE /ops/switches/{key}`: turns the switch in slot `key` off.
#[utoipa::path(delete, path = "/api/v1/ops/switches/{key}", tag = "ops", security(("operator" = [])),
    params(("key" = String, Path, description = "the switch's slot, as listed (`pause_ingest:<tenant>`, `capping`, `pause_sink:live`, `read_only_api`)")),
    request_body = ClearBody,
    responses((status = 200, description = "the switch cleared", body = SwitchRecord),
        r::BadRequest, r::Unauthorized, r::NotFound, r::Unprocessable, r::Unavailable))]
pub async fn clear(
    State(state): State<AppState>,
    _: Operator,
    Path(key): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<SwitchRecord>, ApiError> {
    let b = json_body::<ClearBody>(&headers, &body)?;
    let (actor, reason) = who(&b.actor, &b.reason)?;
    let r = state
        .db
        .clear_switch(&key, &actor, &reason)
        .await?
        .ok_or(ApiError::NotFound("switch"))?;
    tracing::info!(target: "audit", %key, %actor, %reason, "kill switch cleared");
    Ok(Json(r))
}

/// `GET /ops/switches/audit`: every change, newest first.
#[utoipa::path(get, path = "/api/v1/ops/switches/audit", tag = "ops", security(("operator" = [])), params(AuditQuery),
    responses((status = 200, description = "a page of the audit trail", body = AuditPage),
        r::BadRequest, r::Unauthorized, r::NotFound, r::Unavailable))]
pub async fn audit(
    State(state): State<AppState>,
    _: Operator,
    RawQuery(raw): RawQuery,
) -> Result<Json<AuditPage>, ApiError> {
    let q: AuditQuery = query(raw.as_deref())?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::Invalid(vec![FieldProblem::new(
            "limit",
            "must be 1 to 500",
        )]));
    }
    let data = state.db.switch_audit(q.before, limit).await?;
    let next_before = (data.len() == limit as usize)
        .then(|| data.last().map(|a| a.seq))
        .flatten();
    Ok(Json(AuditPage { data, next_before }))
}
