//! The delivery log: every notification to every channel (pending,
//! sent, dead), each attempt with its answer, the dead letters and their
//! replay, and each rule's firings and resolutions.

use adpulse_domain::alert::ledger::{
    Attempt, DeliveryRecord, DeliveryStatus, FiringKind, FiringRecord,
};
use adpulse_domain::ports::Replayed;
use axum::Json;
use axum::extract::{Path, RawQuery, State};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::{page, paging, path_id};
use crate::AppState;
use crate::auth::Caller;
use crate::cursor::Listing;
use crate::error::{ApiError, FieldProblem};
use crate::http::query;
use crate::openapi::responses as r;

/// A notification to one channel.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeliveryOut {
    /// Also the `webhook-id` receivers see (the same on every attempt).
    id: Uuid,
    firing_id: Uuid,
    rule_id: Uuid,
    channel_id: Uuid,
    status: DeliveryStatus,
    attempts: i32,
    /// When the next attempt is due (pending only).
    next_attempt_at: Option<DateTime<Utc>>,
    last_error: Option<String>,
    /// What is sent (webhooks; Slack gets `data.message`).
    #[schema(value_type = Object)]
    payload: Value,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// A delivery and every attempt.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeliveryDetail {
    #[serde(flatten)]
    delivery: DeliveryOut,
    /// Oldest first.
    attempt_log: Vec<Attempt>,
}

/// A page of deliveries.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeliveryPage {
    data: Vec<DeliveryOut>,
    next_cursor: Option<String>,
}

/// A firing or a resolution.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FiringOut {
    id: Uuid,
    campaign_id: Uuid,
    kind: FiringKind,
    at: DateTime<Utc>,
    /// False within the rule's cooldown (recorded, not sent).
    notified: bool,
    message: String,
    /// Every comparison's value then: `{metric, over, op, threshold,
    /// value}` (`value` null when undefined).
    #[schema(value_type = Vec<Object>)]
    values: Value,
}

/// A page of firings.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FiringPage {
    data: Vec<FiringOut>,
    next_cursor: Option<String>,
}

/// The delivery listing's query.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeliveryQuery {
    /// One rule's only.
    rule_id: Option<String>,
    /// `pending`, `sent` or `dead` (the dead letters) only.
    #[param(value_type = Option<DeliveryStatus>)]
    status: Option<String>,
    /// 1 to 200 (default 50).
    limit: Option<i64>,
    /// `next_cursor` of the previous page (with the same filters).
    cursor: Option<String>,
}

/// A page query.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// 1 to 200 (default 50).
    limit: Option<i64>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

fn view(d: &DeliveryRecord) -> DeliveryOut {
    DeliveryOut {
        id: d.id,
        firing_id: d.firing,
        rule_id: d.rule,
        channel_id: d.channel,
        status: d.status,
        attempts: d.attempts,
        next_attempt_at: d.next_attempt_at,
        last_error: d.last_error.clone(),
        payload: d.payload.clone(),
        created_at: d.created_at,
        updated_at: d.updated_at,
    }
}

/// `GET /alert-deliveries`: the tenant's deliveries, newest first;
/// `status=dead` lists the dead letters.
#[utoipa::path(get, path = "/api/v1/alert-deliveries", tag = "alerts", security(("bearer" = [])), params(DeliveryQuery),
    responses((status = 200, description = "a page of deliveries, newest first", body = DeliveryPage),
        r::BadRequest, r::Unauthorized, r::Unprocessable, r::TooManyRequests, r::Unavailable))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<DeliveryPage>, ApiError> {
    let q: DeliveryQuery = query(raw.as_deref())?;
    let mut problems = Vec::new();
    let rule = q.rule_id.as_deref().and_then(|r| {
        let id = r.parse::<Uuid>().ok();
        if id.is_none() {
            problems.push(FieldProblem::new("rule_id", "must be a rule id"));
        }
        id
    });
    let status = q.status.as_deref().and_then(|s| {
        let st = s.parse::<DeliveryStatus>().ok();
        if st.is_none() {
            problems.push(FieldProblem::new(
                "status",
                "must be one of pending, sent, dead",
            ));
        }
        st
    });
    let (limit, before) = paging(
        Listing::AlertDeliveries,
        q.limit,
        q.cursor.as_deref(),
        &mut problems,
    );
    if !problems.is_empty() {
        return Err(ApiError::Invalid(problems));
    }
    let rows = state
        .db
        .deliveries(caller.tenant, rule, status, before, limit + 1)
        .await?;
    let (rows, next_cursor) = page(rows, limit, Listing::AlertDeliveries, |d| d.id);
    Ok(Json(DeliveryPage {
        data: rows.iter().map(view).collect(),
        next_cursor,
    }))
}

/// `GET /alert-deliveries/{id}`: one delivery and every attempt.
#[utoipa::path(get, path = "/api/v1/alert-deliveries/{id}", tag = "alerts", security(("bearer" = [])), params(("id" = String, Path, description = "the resource id")),
    responses((status = 200, description = "the delivery and its attempts", body = DeliveryDetail),
        r::Unauthorized, r::NotFound, r::TooManyRequests, r::Unavailable))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<DeliveryDetail>, ApiError> {
    let (d, attempts) = state
        .db
        .delivery(caller.tenant, path_id(&id, "delivery")?)
        .await?
        .ok_or(ApiError::NotFound("delivery"))?;
    Ok(Json(DeliveryDetail {
        delivery: view(&d),
        attempt_log: attempts,
    }))
}

/// `POST /alert-deliveries/{id}/replay`: a dead letter sent again, with
/// the same id (receivers that got it after all can tell).
#[utoipa::path(post, path = "/api/v1/alert-deliveries/{id}/replay", tag = "alerts", security(("bearer" = [])), params(("id" = String, Path, description = "the resource id")),
    responses((status = 200, description = "pending again, due now", body = DeliveryOut),
        r::Unauthorized, r::Forbidden, r::NotFound, r::Conflict, r::TooManyRequests, r::Unavailable))]
pub async fn replay(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<DeliveryOut>, ApiError> {
    caller.must_manage_campaigns()?;
    match state
        .db
        .replay_delivery(caller.tenant, path_id(&id, "delivery")?)
        .await?
    {
        Replayed::Done(d) => Ok(Json(view(&d))),
        Replayed::NotFound => Err(ApiError::NotFound("delivery")),
        Replayed::NotDead(s) => Err(ApiError::Conflict {
            code: "not_dead",
            message: format!(
                "only dead letters are replayed; this delivery is {}",
                s.as_str()
            ),
            errors: Vec::new(),
        }),
    }
}

/// `GET /alert-rules/{id}/firings`: the rule's firings and resolutions,
/// newest first (notified or within a cooldown).
#[utoipa::path(get, path = "/api/v1/alert-rules/{id}/firings", tag = "alerts", security(("bearer" = [])), params(("id" = String, Path, description = "the resource id"), PageQuery),
    responses((status = 200, description = "a page of firings, newest first", body = FiringPage),
        r::BadRequest, r::Unauthorized, r::NotFound, r::Unprocessable, r::TooManyRequests, r::Unavailable))]
pub async fn firings(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<FiringPage>, ApiError> {
    let rule = path_id(&id, "rule")?;
    let q: PageQuery = query(raw.as_deref())?;
    let mut problems = Vec::new();
    let (limit, before) = paging(
        Listing::AlertFirings,
        q.limit,
        q.cursor.as_deref(),
        &mut problems,
    );
    if !problems.is_empty() {
        return Err(ApiError::Invalid(problems));
    }
    if state.db.rule(caller.tenant, rule).await?.is_none() {
        return Err(ApiError::NotFound("rule"));
    }
    let rows = state
        .db
        .firings(caller.tenant, rule, before, limit + 1)
        .await?;
    let (rows, next_cursor) = page(rows, limit, Listing::AlertFirings, |f| f.id);
    Ok(Json(FiringPage {
        data: rows.iter().map(firing).collect(),
        next_cursor,
    }))
}

fn firing(f: &FiringRecord) -> FiringOut {
    FiringOut {
        id: f.id,
        campaign_id: *f.campaign.as_uuid(),
        kind: f.kind,
        at: f.at,
        notified: f.notified,
        message: f.message.clone(),
        values: f.values.clone(),
    }
}
