//! `/alert-rules`: what fires notifications. A rule is validated whole
//! (every problem at once, with the path of its field: see
//! `adpulse_domain::alert::condition`), its template is compiled and
//! rendered once on an example, and its campaign and channels must be the
//! caller's tenant's. Changes name the version they read (`If-Match`).

use adpulse_domain::alert::{RuleBody, RuleRecord, RuleSpec, message};
use adpulse_domain::store::Updated;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{invalid, page, paging, path_id};
use crate::AppState;
use crate::auth::Caller;
use crate::cursor::Listing;
use crate::error::{ApiError, FieldProblem};
use crate::http::{etag, if_match, json_body, not_modified, query};
use crate::openapi::responses as r;

/// A rule as the API answers it: what was written, with defaults filled
/// in.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RuleOut {
    id: Uuid,
    #[serde(flatten)]
    body: RuleBody,
    /// Grows with every change; the ETag.
    version: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// A page of rules.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RulePage {
    data: Vec<RuleOut>,
    /// Pass back as `cursor` for the next page; absent on the last.
    next_cursor: Option<String>,
}

/// The listing's query.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RuleQuery {
    /// 1 to 200 (default 50).
    limit: Option<i64>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

fn view(r: &RuleRecord) -> RuleOut {
    RuleOut {
        id: r.id,
        body: RuleBody::of(&r.spec),
        version: r.version,
        created_at: r.created_at,
        updated_at: r.updated_at,
    }
}

fn respond(status: StatusCode, r: &RuleRecord) -> Response {
    let mut out = (status, Json(view(r))).into_response();
    if let Ok(v) = HeaderValue::from_str(&etag(r.version)) {
        out.headers_mut().insert(header::ETAG, v);
    }
    if status == StatusCode::CREATED
        && let Ok(v) = HeaderValue::from_str(&format!("/api/v1/alert-rules/{}", r.id))
    {
        out.headers_mut().insert(header::LOCATION, v);
    }
    out
}

/// The body validated, its template rendered once, and its campaign and
/// channels found in the caller's tenant.
async fn spec(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<RuleSpec, ApiError> {
    let spec = json_body::<RuleBody>(headers, body)?
        .validate()
        .map_err(invalid)?;
    let mut problems = Vec::new();
    if let Err(m) = message::check(&spec.message_template) {
        problems.push(FieldProblem::new("message_template", m));
    }
    if let Some(c) = spec.scope.campaign()
        && state.db.campaign(caller.tenant, c).await?.is_none()
    {
        problems.push(FieldProblem::new("campaign_id", "no such campaign"));
    }
    if !spec.channel_ids.is_empty() {
        let known = state.db.channels(caller.tenant).await?;
        for id in spec
            .channel_ids
            .iter()
            .filter(|id| !known.iter().any(|k| k.id == **id))
        {
            problems.push(FieldProblem::new(
                "channel_ids",
                format!("no such channel: {id}"),
            ));
        }
    }
    if problems.is_empty() {
        Ok(spec)
    } else {
        Err(ApiError::Invalid(problems))
    }
}

fn updated<T>(u: Updated<T>) -> Result<T, ApiError> {
    match u {
        Updated::Done(v) => Ok(*v),
        Updated::NotFound => Err(ApiError::NotFound("rule")),
        Updated::Conflict(current) => Err(ApiError::PreconditionFailed {
            current: etag(current),
        }),
    }
}

async fn current(state: &AppState, caller: &Caller, raw: &str) -> Result<RuleRecord, ApiError> {
    state
        .db
        .rule(caller.tenant, path_id(raw, "rule")?)
        .await?
        .ok_or(ApiError::NotFound("rule"))
}

/// `POST /alert-rules`.
#[utoipa::path(post, path = "/api/v1/alert-rules", tag = "alerts", security(("bearer" = [])), request_body = RuleBody,
    responses((status = 201, description = "created", body = RuleOut),
        r::BadRequest, r::Unauthorized, r::Forbidden, r::PayloadTooLarge, r::Unprocessable,
        r::TooManyRequests, r::Unavailable))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    caller.must_manage_campaigns()?;
    let spec = spec(&state, &caller, &headers, &body).await?;
    let r = state.db.insert_rule(caller.tenant, &spec).await?;
    Ok(respond(StatusCode::CREATED, &r))
}

/// `GET /alert-rules`: the tenant's rules, a page at a time.
#[utoipa::path(get, path = "/api/v1/alert-rules", tag = "alerts", security(("bearer" = [])), params(RuleQuery),
    responses((status = 200, description = "a page of rules, in id order", body = RulePage),
        r::BadRequest, r::Unauthorized, r::Unprocessable, r::TooManyRequests, r::Unavailable))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<RulePage>, ApiError> {
    let q: RuleQuery = query(raw.as_deref())?;
    let mut problems = Vec::new();
    let (limit, after) = paging(
        Listing::AlertRules,
        q.limit,
        q.cursor.as_deref(),
        &mut problems,
    );
    if !problems.is_empty() {
        return Err(ApiError::Invalid(problems));
    }
    let rows = state.db.rules(caller.tenant, after, limit + 1).await?;
    let (rows, next_cursor) = page(rows, limit, Listing::AlertRules, |r| r.id);
    Ok(Json(RulePage {
        data: rows.iter().map(view).collect(),
        next_cursor,
    }))
}

/// `GET /alert-rules/{id}` (304 when `If-None-Match` holds its ETag).
#[utoipa::path(get, path = "/api/v1/alert-rules/{id}", tag = "alerts", security(("bearer" = [])), params(("id" = String, Path, description = "the resource id")),
    responses((status = 200, description = "the rule", body = RuleOut),
        (status = 304, description = "unchanged since the ETag in If-None-Match"),
        r::Unauthorized, r::NotFound, r::TooManyRequests, r::Unavailable))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let r = current(&state, &caller, &id).await?;
    let tag = etag(r.version);
    if not_modified(&headers, &tag) {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, tag)]).into_response());
    }
    Ok(respond(StatusCode::OK, &r))
}

/// `PUT /alert-rules/{id}`: replaces the rule (`If-Match`).
#[utoipa::path(put, path = "/api/v1/alert-rules/{id}", tag = "alerts", security(("bearer" = [])), params(("id" = String, Path, description = "the resource id"), ("If-Match" = String, Header, description = "the ETag you read")), request_body = RuleBody,
    responses((status = 200, description = "replaced", body = RuleOut),
        r::BadRequest, r::Unauthorized, r::Forbidden, r::NotFound, r::PreconditionFailed,
        r::PayloadTooLarge, r::Unprocessable, r::PreconditionRequired, r::TooManyRequests, r::Unavailable))]
pub async fn replace(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    caller.must_manage_campaigns()?;
    let r = current(&state, &caller, &id).await?;
    let version = if_match(&headers, r.version)?;
    let spec = spec(&state, &caller, &headers, &body).await?;
    let r = updated(
        state
            .db
            .update_rule(caller.tenant, r.id, version, &spec)
            .await?,
    )?;
    Ok(respond(StatusCode::OK, &r))
}

/// `DELETE /alert-rules/{id}` (`If-Match`).
#[utoipa::path(delete, path = "/api/v1/alert-rules/{id}", tag = "alerts", security(("bearer" = [])), params(("id" = String, Path, description = "the resource id"), ("If-Match" = String, Header, description = "the ETag you read")),
    responses((status = 204, description = "deleted"),
        r::Unauthorized, r::Forbidden, r::NotFound, r::PreconditionFailed, r::PreconditionRequired,
        r::TooManyRequests, r::Unavailable))]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    caller.must_manage_campaigns()?;
    let r = current(&state, &caller, &id).await?;
    let version = if_match(&headers, r.version)?;
    updated(state.db.delete_rule(caller.tenant, r.id, version).await?)?;
    Ok(StatusCode::NO_CONTENT)
}
