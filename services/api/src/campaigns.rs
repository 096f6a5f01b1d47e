//! `/campaigns`: list, create, read, replace, patch, delete (soft) and the
//! status state machine, all confined to the caller's tenant, with ETags
//! for optimistic concurrency.

use adpulse_domain::store::{
    CampaignFilter, CampaignRecord, CampaignSort, CampaignWrite, Page, Updated,
};
use adpulse_domain::targeting::Targeting;
use adpulse_domain::{CampaignId, CampaignStatus, Channel};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use chrono::{DateTime, Datelike as _, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, FieldProblem};
use crate::http::{etag, from_json, if_match, json_body, not_modified, query};
use crate::openapi::responses as r;

/// Objectives a campaign may pursue.
pub const OBJECTIVES: [&str; 6] = [
    "awareness",
    "reach",
    "traffic",
    "engagement",
    "consideration",
    "conversions",
];

/// A campaign as clients write it (create and replace; patch merges into
/// it).
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignBody {
    #[schema(min_length = 1, max_length = 200)]
    name: String,
    #[serde(default)]
    brand_id: Option<String>,
    #[serde(default)]
    budget: Option<Budget>,
    #[serde(default)]
    schedule: Option<Schedule>,
    #[serde(default)]
    objectives: Vec<String>,
    #[serde(default)]
    channels: Vec<String>,
}

/// Budget in micros of `currency` (ISO 4217).
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Budget {
    #[schema(minimum = 0)]
    total_micros: i64,
    #[schema(pattern = "^[A-Z]{3}$")]
    currency: String,
    #[serde(default)]
    daily_cap_micros: Option<i64>,
}

/// When the campaign runs, and the time zone of its days (IANA).
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    #[serde(default)]
    start: Option<DateTime<Utc>>,
    #[serde(default)]
    end: Option<DateTime<Utc>>,
    #[serde(default = "utc")]
    timezone: String,
}

fn utc() -> String {
    "UTC".into()
}

impl CampaignBody {
    /// Checks every field; all problems at once.
    fn validate(self) -> Result<CampaignWrite, ApiError> {
        let mut problems = Vec::new();
        let name = self.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 200 {
            problems.push(FieldProblem::new("name", "must be 1 to 200 characters"));
        }
        let brand_id = self.brand_id.map(|b| b.trim().to_owned());
        if brand_id
            .as_ref()
            .is_some_and(|b| b.is_empty() || b.chars().count() > 100)
        {
            problems.push(FieldProblem::new("brand_id", "must be 1 to 100 characters"));
        }
        if let Some(b) = &self.budget {
            if b.total_micros < 0 {
                problems.push(FieldProblem::new(
                    "budget.total_micros",
                    "must not be negative",
                ));
            }
            if !(b.currency.len() == 3 && b.currency.bytes().all(|c| c.is_ascii_uppercase())) {
                problems.push(FieldProblem::new(
                    "budget.currency",
                    "must be an ISO 4217 code like EUR",
                ));
            }
            match b.daily_cap_micros {
                Some(cap) if cap < 0 => problems.push(FieldProblem::new(
                    "budget.daily_cap_micros",
                    "must not be negative",
                )),
                Some(cap) if cap > b.total_micros => problems.push(FieldProblem::new(
                    "budget.daily_cap_micros",
                    "must not exceed the total budget",
                )),
                _ => {}
            }
        }
        let schedule = self.schedule.unwrap_or(Schedule {
            start: None,
            end: None,
            timezone: utc(),
        });
        if let (Some(start), Some(end)) = (schedule.start, schedule.end)
            && end <= start
        {
            problems.push(FieldProblem::new(
                "schedule.end",
                "must be after schedule.start",
            ));
        }
        for (field, t) in [
            ("schedule.start", schedule.start),
            ("schedule.end", schedule.end),
        ] {
            if t.is_some_and(|t| !(1970..=9999).contains(&t.year())) {
                problems.push(FieldProblem::new(field, "must be between 1970 and 9999"));
            }
        }
        if schedule.timezone.parse::<chrono_tz::Tz>().is_err() {
            problems.push(FieldProblem::new(
                "schedule.timezone",
                "must be an IANA time zone like Europe/Berlin",
            ));
        }
        for (i, o) in self.objectives.iter().enumerate() {
            if !OBJECTIVES.contains(&o.as_str()) {
                problems.push(FieldProblem::new(
                    format!("objectives[{i}]"),
                    format!("must be one of {}", OBJECTIVES.join(", ")),
                ));
            } else if self.objectives[..i].contains(o) {
                problems.push(FieldProblem::new(format!("objectives[{i}]"), "repeated"));
            }
        }
        for (i, c) in self.channels.iter().enumerate() {
            if serde_json::from_value::<Channel>(Value::String(c.clone())).is_err() {
                problems.push(FieldProblem::new(
                    format!("channels[{i}]"),
                    "must be one of display, social, search, video, native",
                ));
            } else if self.channels[..i].contains(c) {
                problems.push(FieldProblem::new(format!("channels[{i}]"), "repeated"));
            }
        }
        if !problems.is_empty() {
            return Err(ApiError::Invalid(problems));
        }
        Ok(CampaignWrite {
            name,
            brand_id,
            budget_total_micros: self.budget.as_ref().map(|b| b.total_micros),
            budget_currency: self.budget.as_ref().map(|b| b.currency.clone()),
            budget_daily_cap_micros: self.budget.as_ref().and_then(|b| b.daily_cap_micros),
            schedule_start: schedule.start,
            schedule_end: schedule.end,
            timezone: schedule.timezone,
            objectives: self.objectives,
            channels: self.channels,
        })
    }

    fn of(w: &CampaignWrite) -> Self {
        Self {
            name: w.name.clone(),
            brand_id: w.brand_id.clone(),
            budget: match (w.budget_total_micros, &w.budget_currency) {
                (Some(total), Some(currency)) => Some(Budget {
                    total_micros: total,
                    currency: currency.clone(),
                    daily_cap_micros: w.budget_daily_cap_micros,
                }),
                _ => None,
            },
            schedule: Some(Schedule {
                start: w.schedule_start,
                end: w.schedule_end,
                timezone: w.timezone.clone(),
            }),
            objectives: w.objectives.clone(),
            channels: w.channels.clone(),
        }
    }
}

/// A campaign as the API answers it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CampaignOut {
    id: uuid::Uuid,
    status: CampaignStatus,
    name: String,
    brand_id: Option<String>,
    budget: Option<Budget>,
    schedule: Option<Schedule>,
    objectives: Vec<String>,
    channels: Vec<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    /// Bumped by every change; the ETag.
    version: i64,
    /// Where `PATCH …/status` may take it next.
    allowed_transitions: Vec<CampaignStatus>,
    #[serde(rename = "_links")]
    links: CampaignLinks,
}

/// Links of a campaign.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CampaignLinks {
    #[serde(rename = "self")]
    this: String,
    status: String,
    targeting: String,
}

fn view(c: &CampaignRecord) -> CampaignOut {
    let body = CampaignBody::of(&c.fields);
    let link = format!("/api/v1/campaigns/{}", c.id);
    CampaignOut {
        id: *c.id.as_uuid(),
        status: c.status,
        name: body.name,
        brand_id: body.brand_id,
        budget: body.budget,
        schedule: body.schedule,
        objectives: body.objectives,
        channels: body.channels,
        created_at: c.created_at,
        updated_at: c.updated_at,
        version: c.version,
        allowed_transitions: c.status.next().to_vec(),
        links: CampaignLinks {
            status: format!("{link}/status"),
            targeting: format!("{link}/targeting"),
            this: link,
        },
    }
}

fn respond(status: StatusCode, c: &CampaignRecord) -> Response {
    let mut r = (status, axum::Json(view(c))).into_response();
    if let Ok(v) = HeaderValue::from_str(&etag(c.version)) {
        r.headers_mut().insert(header::ETAG, v);
    }
    if status == StatusCode::CREATED
        && let Ok(v) = HeaderValue::from_str(&format!("/api/v1/campaigns/{}", c.id))
    {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

pub(crate) fn campaign_id(raw: &str) -> Result<CampaignId, ApiError> {
    raw.parse::<uuid::Uuid>()
        .map(CampaignId::from_uuid)
        .map_err(|_| ApiError::NotFound("campaign"))
}

fn updated(u: Updated) -> Result<CampaignRecord, ApiError> {
    match u {
        Updated::Done(c) => Ok(*c),
        Updated::NotFound => Err(ApiError::NotFound("campaign")),
        Updated::Conflict(current) => Err(ApiError::PreconditionFailed {
            current: etag(current),
        }),
    }
}

/// `POST /campaigns`: a new draft.
#[utoipa::path(post, path = "/api/v1/campaigns", tag = "campaigns", security(("bearer" = [])), request_body = CampaignBody,
    responses((status = 201, description = "created, as a draft", body = CampaignOut),
        r::BadRequest, r::Unauthorized, r::Forbidden, r::PayloadTooLarge, r::Unprocessable, r::TooManyRequests, r::Unavailable))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    caller.must_manage_campaigns()?;
    let write = json_body::<CampaignBody>(&headers, &body)?.validate()?;
    let c = state.db.insert_campaign(caller.tenant, &write).await?;
    Ok(respond(StatusCode::CREATED, &c))
}

/// `GET /campaigns/{id}` (304 when `If-None-Match` holds its ETag).
#[utoipa::path(get, path = "/api/v1/campaigns/{id}", tag = "campaigns", security(("bearer" = [])), params(("id" = String, Path, description = "the resource id")),
    responses((status = 200, description = "the campaign", body = CampaignOut),
        (status = 304, description = "unchanged since the ETag in If-None-Match"),
        r::Unauthorized, r::NotFound, r::TooManyRequests, r::Unavailable))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let c = state
        .db
        .campaign(caller.tenant, campaign_id(&id)?)
        .await?
        .ok_or(ApiError::NotFound("campaign"))?;
    let tag = etag(c.version);
    if not_modified(&headers, &tag) {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, tag)]).into_response());
    }
    Ok(respond(StatusCode::OK, &c))
}

async fn current(
    state: &AppState,
    caller: &Caller,
    id: CampaignId,
) -> Result<CampaignRecord, ApiError> {
    state
        .db
        .campaign(caller.tenant, id)
        .await?
        .ok_or(ApiError::NotFound("campaign"))
}

/// The campaign a change targets, read for the caller (whose role is
/// checked first), and the version its `If-Match` names.
async fn to_change(
    state: &AppState,
    caller: &Caller,
    raw_id: &str,
    headers: &HeaderMap,
) -> Result<(CampaignRecord, i64), ApiError> {
    caller.must_manage_campaigns()?;
    let c = current(state, caller, campaign_id(raw_id)?).await?;
    let version = if_match(headers, c.version)?;
    Ok((c, version))
}

fn editable(c: &CampaignRecord) -> Result<(), ApiError> {
    if c.status.editable() {
        Ok(())
    } else {
        Err(ApiError::Conflict {
            code: "not_editable",
            message: format!("a {} campaign cannot be edited", c.status),
            errors: Vec::new(),
        })
    }
}

/// `PUT /campaigns/{id}`: replaces every writable field (`If-Match`).
#[utoipa::path(put, path = "/api/v1/campaigns/{id}", tag = "campaigns", security(("bearer" = [])), params(("id" = String, Path, description = "the resource id"), ("If-Match" = String, Header, description = "the ETag you read")), request_body = CampaignBody,
    responses((status = 200, description = "replaced", body = CampaignOut),
        r::BadRequest, r::Unauthorized, r::Forbidden, r::NotFound, r::Conflict, r::PreconditionFailed, r::PayloadTooLarge, r::Unprocessable, r::PreconditionRequired, r::TooManyRequests, r::Unavailable))]
pub async fn replace(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let (c, version) = to_change(&state, &caller, &id, &headers).await?;
    let id = c.id;
    editable(&c)?;
    let write = json_body::<CampaignBody>(&headers, &body)?.validate()?;
    let c = updated(
        state
            .db
            .update_campaign(caller.tenant, id, version, &write)
            .await?,
    )?;
    Ok(respond(StatusCode::OK, &c))
}

/// `PATCH /campaigns/{id}`: a JSON merge patch (RFC 7396) of the writable
/// fields (`If-Match`).
#[utoipa::path(patch, path = "/api/v1/campaigns/{id}", tag = "campaigns", security(("bearer" = [])), params(("id" = String, Path, description = "the resource id"), ("If-Match" = String, Header, description = "the ETag you read")),
    request_body(content = Object, description = "a JSON merge patch of the campaign's fields", content_type = "application/merge-patch+json"),
    responses((status = 200, description = "patched", body = CampaignOut),
        r::BadRequest, r::Unauthorized, r::Forbidden, r::NotFound, r::Conflict, r::PreconditionFailed, r::PayloadTooLarge, r::Unprocessable, r::PreconditionRequired, r::TooManyRequests, r::Unavailable))]
pub async fn patch(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let (c, version) = to_change(&state, &caller, &id, &headers).await?;
    let id = c.id;
    editable(&c)?;
    let patch: Value = json_body(&headers, &body)?;
    if !patch.is_object() {
        return Err(ApiError::BadRequest(
            "a merge patch is a JSON object".into(),
        ));
    }
    let mut doc = serde_json::to_value(CampaignBody::of(&c.fields))
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    merge_patch(&mut doc, patch);
    let merged = serde_json::to_vec(&doc).map_err(|e| ApiError::Internal(e.to_string()))?;
    let write = from_json::<CampaignBody>(&merged)?.validate()?;
    let c = updated(
        state
            .db
            .update_campaign(caller.tenant, id, version, &write)
            .await?,
    )?;
    Ok(respond(StatusCode::OK, &c))
}

/// RFC 7396: objects merge key by key, `null` removes, anything else
/// replaces.
fn merge_patch(target: &mut Value, patch: Value) {
    match patch {
        Value::Object(fields) => {
            if !target.is_object() {
                *target = Value::Object(serde_json::Map::new());
            }
            if let Value::Object(t) = target {
                for (k, v) in fields {
                    if v.is_null() {
                        t.remove(&k);
                    } else {
                        merge_patch(t.entry(k).or_insert(Value::Null), v);
                    }
                }
            }
        }
        other => *target = other,
    }
}

/// `DELETE /campaigns/{id}`: soft delete (`If-Match`).
#[utoipa::path(delete, path = "/api/v1/campaigns/{id}", tag = "campaigns", security(("bearer" = [])), params(("id" = String, Path, description = "the resource id"), ("If-Match" = String, Header, description = "the ETag you read")),
    responses((status = 204, description = "deleted"),
        r::Unauthorized, r::Forbidden, r::NotFound, r::PreconditionFailed, r::PreconditionRequired, r::TooManyRequests, r::Unavailable))]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let (c, version) = to_change(&state, &caller, &id, &headers).await?;
    let id = c.id;
    updated(
        state
            .db
            .delete_campaign_at(caller.tenant, id, version)
            .await?,
    )?;
    Ok(StatusCode::NO_CONTENT)
}

/// A lifecycle step.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusChange {
    /// draft, scheduled, active, paused, completed or archived.
    #[schema(value_type = CampaignStatus)]
    status: String,
}

/// `PATCH /campaigns/{id}/status`: one step of the lifecycle (`If-Match`);
/// 409 names the allowed steps.
#[utoipa::path(patch, path = "/api/v1/campaigns/{id}/status", tag = "campaigns", security(("bearer" = [])), params(("id" = String, Path, description = "the resource id"), ("If-Match" = String, Header, description = "the ETag you read")), request_body = StatusChange,
    responses((status = 200, description = "moved", body = CampaignOut),
        r::BadRequest, r::Unauthorized, r::Forbidden, r::NotFound, r::Conflict, r::PreconditionFailed, r::PayloadTooLarge, r::Unprocessable, r::PreconditionRequired, r::TooManyRequests, r::Unavailable))]
pub async fn set_status(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let (c, version) = to_change(&state, &caller, &id, &headers).await?;
    let id = c.id;
    let req: StatusChange = json_body(&headers, &body)?;
    let to: CampaignStatus = req.status.parse().map_err(|()| {
        ApiError::Invalid(vec![FieldProblem::new(
            "status",
            "must be one of draft, scheduled, active, paused, completed, archived",
        )])
    })?;
    if version != c.version {
        return Err(ApiError::PreconditionFailed {
            current: etag(c.version),
        });
    }
    if !c.status.can_become(to) {
        let allowed: Vec<&str> = c.status.next().iter().map(|s| s.as_str()).collect();
        let allowed = if allowed.is_empty() {
            "none".to_owned()
        } else {
            allowed.join(", ")
        };
        return Err(ApiError::Conflict {
            code: "illegal_transition",
            message: format!(
                "a {} campaign cannot become {to}; allowed: {allowed}",
                c.status
            ),
            errors: vec![FieldProblem::new("status", format!("allowed: {allowed}"))],
        });
    }
    let c = updated(
        state
            .db
            .set_campaign_status(caller.tenant, id, version, to)
            .await?,
    )?;
    Ok(respond(StatusCode::OK, &c))
}

fn targeting_response(json: &str, version: i64) -> Result<Response, ApiError> {
    let targeting: Targeting =
        serde_json::from_str(json).map_err(|e| ApiError::Internal(e.to_string()))?;
    let mut r = axum::Json(targeting).into_response();
    if let Ok(v) = HeaderValue::from_str(&etag(version)) {
        r.headers_mut().insert(header::ETAG, v);
    }
    Ok(r)
}

/// `GET /campaigns/{id}/targeting` (the ETag is the campaign's).
#[utoipa::path(get, path = "/api/v1/campaigns/{id}/targeting", tag = "campaigns", security(("bearer" = [])), params(("id" = String, Path, description = "the resource id")),
    responses((status = 200, description = "the targeting", body = Targeting),
        r::Unauthorized, r::NotFound, r::TooManyRequests, r::Unavailable))]
pub async fn get_targeting(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = campaign_id(&id)?;
    let (json, version) = state
        .db
        .campaign_targeting(caller.tenant, id)
        .await?
        .ok_or(ApiError::NotFound("campaign"))?;
    targeting_response(&json, version)
}

/// `PUT /campaigns/{id}/targeting`: replaces it whole (`If-Match` with the
/// campaign's ETag).
#[utoipa::path(put, path = "/api/v1/campaigns/{id}/targeting", tag = "campaigns", security(("bearer" = [])), params(("id" = String, Path, description = "the resource id"), ("If-Match" = String, Header, description = "the ETag you read")), request_body = Targeting,
    responses((status = 200, description = "replaced", body = Targeting),
        r::BadRequest, r::Unauthorized, r::Forbidden, r::NotFound, r::Conflict, r::PreconditionFailed, r::PayloadTooLarge, r::Unprocessable, r::PreconditionRequired, r::TooManyRequests, r::Unavailable))]
pub async fn put_targeting(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let (c, version) = to_change(&state, &caller, &id, &headers).await?;
    let id = c.id;
    editable(&c)?;
    let targeting: Targeting = json_body(&headers, &body)?;
    let problems = targeting.validate();
    if !problems.is_empty() {
        return Err(ApiError::Invalid(
            problems
                .into_iter()
                .map(|(f, m)| FieldProblem::new(f, m))
                .collect(),
        ));
    }
    let json = serde_json::to_string(&targeting).map_err(|e| ApiError::Internal(e.to_string()))?;
    let c = updated(
        state
            .db
            .set_campaign_targeting(caller.tenant, id, version, &json)
            .await?,
    )?;
    targeting_response(&json, c.version)
}

/// The query of `GET /campaigns`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Page number, from 1 (not with `cursor`).
    page: Option<i64>,
    /// Items per page, 1 to 100 (default 20).
    limit: Option<i64>,
    /// `next_cursor` of the previous page, for cursor pagination.
    cursor: Option<String>,
    /// Statuses, comma-separated.
    status: Option<String>,
    /// Brand.
    brand_id: Option<String>,
    /// Name contains (case-insensitive).
    q: Option<String>,
    /// Scheduled to run on or after this day.
    start_date: Option<NaiveDate>,
    /// Scheduled to run on or before this day.
    end_date: Option<NaiveDate>,
    /// created_at, updated_at, name or budget; `-` for descending (default -created_at).
    sort: Option<String>,
}

/// One page of campaigns.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CampaignPage {
    data: Vec<CampaignOut>,
    pagination: Pagination,
    #[serde(rename = "_links")]
    links: PageLinks,
}

/// Where a page is.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Pagination {
    /// With page/limit pagination.
    #[serde(skip_serializing_if = "Option::is_none")]
    page: Option<i64>,
    limit: i64,
    /// Campaigns matching in all.
    total: i64,
    /// With page/limit pagination.
    #[serde(skip_serializing_if = "Option::is_none")]
    total_pages: Option<i64>,
    /// For the next page by cursor; null on the last page.
    next_cursor: Option<String>,
}

/// Links between pages.
#[derive(Serialize, utoipa::ToSchema)]
pub struct PageLinks {
    #[serde(rename = "self")]
    this: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prev: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct Cursor {
    sort: String,
    value: String,
    id: uuid::Uuid,
}

fn encode_cursor(c: &Cursor) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(serde_json::to_vec(c).unwrap_or_default())
}

/// A cursor's sort value as the stores read it back, if it is one this
/// listing could have given: an instant (in UTC, between 1970 and 9999:
/// Postgres refuses the year 0 and offsets past 15:59 that RFC 3339
/// allows), a budget, or a name.
fn cursor_value(key: &str, value: &str) -> Option<String> {
    match key {
        "created_at" | "updated_at" => DateTime::parse_from_rfc3339(value)
            .ok()
            .map(|t| t.with_timezone(&Utc))
            .filter(|t| (1970..=9999).contains(&t.year()))
            .map(|t| t.to_rfc3339()),
        "budget" => value.parse::<i64>().ok().map(|n| n.to_string()),
        _ => Some(value.to_owned()),
    }
}

fn decode_cursor(raw: &str) -> Option<Cursor> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(raw)
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// `GET /campaigns`: filters `status` (comma-separated), `brand_id`, `q`
/// (name contains), `start_date`/`end_date` (scheduled within); `sort`
/// from created_at, updated_at, name, budget (`-` for descending; default
/// `-created_at`); `page` and `limit` (≤ 100), or `cursor` from a previous
/// page's `next_cursor`.
#[utoipa::path(get, path = "/api/v1/campaigns", tag = "campaigns", security(("bearer" = [])), params(ListQuery),
    responses((status = 200, description = "a page", body = CampaignPage),
        r::BadRequest, r::Unauthorized, r::Unprocessable, r::TooManyRequests, r::Unavailable))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let q: ListQuery = query(raw.as_deref())?;
    let mut problems = Vec::new();
    let limit = q.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        problems.push(FieldProblem::new("limit", "must be 1 to 100"));
    }
    let sort_raw = q.sort.clone().unwrap_or_else(|| "-created_at".into());
    let (descending, key) = match sort_raw.strip_prefix('-') {
        Some(k) => (true, k),
        None => (false, sort_raw.as_str()),
    };
    let sort = CampaignSort::ALL.into_iter().find(|s| s.as_str() == key);
    if sort.is_none() {
        problems.push(FieldProblem::new(
            "sort",
            "must be one of created_at, updated_at, name, budget, each optionally prefixed with -",
        ));
    }
    let mut statuses = Vec::new();
    for s in q.status.iter().flat_map(|s| s.split(',')) {
        match s.trim().parse::<CampaignStatus>() {
            Ok(v) => statuses.push(v),
            Err(()) => problems.push(FieldProblem::new("status", format!("unknown status {s:?}"))),
        }
    }
    for (field, d) in [("start_date", q.start_date), ("end_date", q.end_date)] {
        if d.is_some_and(|d| !(1970..=9999).contains(&d.year())) {
            problems.push(FieldProblem::new(field, "must be between 1970 and 9999"));
        }
    }
    if let (Some(a), Some(b)) = (q.start_date, q.end_date)
        && b < a
    {
        problems.push(FieldProblem::new(
            "end_date",
            "must not be before start_date",
        ));
    }
    let page = match (&q.cursor, q.page) {
        (Some(_), Some(_)) => {
            problems.push(FieldProblem::new(
                "cursor",
                "use either cursor or page, not both",
            ));
            Page::Offset(0)
        }
        (Some(raw), None) => match decode_cursor(raw)
            .filter(|c| c.sort == sort_raw)
            .and_then(|c| Some((cursor_value(key, &c.value)?, c.id)))
        {
            Some((value, id)) => Page::After {
                value,
                id: CampaignId::from_uuid(id),
            },
            _ => {
                problems.push(FieldProblem::new(
                    "cursor",
                    "not a cursor of this listing (cursors keep their sort)",
                ));
                Page::Offset(0)
            }
        },
        (None, p) => {
            let p = p.unwrap_or(1);
            let per_page = limit.clamp(1, 100);
            // The rows skipped must fit in an i64 (the stores' OFFSET).
            let last_page = (i64::MAX / per_page).saturating_add(1);
            if !(1..=last_page).contains(&p) {
                problems.push(FieldProblem::new(
                    "page",
                    format!("must be 1 to {last_page} at {per_page} per page"),
                ));
            }
            Page::Offset((p.clamp(1, last_page) - 1) * per_page)
        }
    };
    let Some(sort) = sort else {
        return Err(ApiError::Invalid(problems));
    };
    if !problems.is_empty() {
        return Err(ApiError::Invalid(problems));
    }
    let filter = CampaignFilter {
        statuses,
        brand_id: q.brand_id.clone(),
        name: q.q.clone().filter(|s| !s.is_empty()),
        from: q
            .start_date
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|d| d.and_utc()),
        to: q
            .end_date
            .and_then(|d| d.succ_opt())
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|d| d.and_utc()),
    };
    let (rows, total) = state
        .db
        .list_campaigns(caller.tenant, &filter, sort, descending, &page, limit)
        .await?;
    let next_cursor = (rows.len() as i64 == limit)
        .then(|| rows.last())
        .flatten()
        .map(|last| {
            encode_cursor(&Cursor {
                sort: sort_raw.clone(),
                value: sort.value_of(last),
                id: *last.id.as_uuid(),
            })
        });
    let base = |extra: &[(&str, String)]| {
        let mut pairs: Vec<(&str, String)> = Vec::new();
        for (k, v) in [
            ("status", q.status.clone()),
            ("brand_id", q.brand_id.clone()),
            ("q", q.q.clone()),
            ("start_date", q.start_date.map(|d| d.to_string())),
            ("end_date", q.end_date.map(|d| d.to_string())),
        ] {
            if let Some(v) = v {
                pairs.push((k, v));
            }
        }
        pairs.push(("sort", sort_raw.clone()));
        pairs.push(("limit", limit.to_string()));
        pairs.extend(extra.iter().cloned());
        format!(
            "/api/v1/campaigns?{}",
            serde_urlencoded::to_string(&pairs).unwrap_or_default()
        )
    };
    let (pagination, links) = match &page {
        Page::Offset(skipped) => {
            let page_no = skipped / limit + 1;
            let pages = (total + limit - 1) / limit;
            (
                Pagination {
                    page: Some(page_no),
                    limit,
                    total,
                    total_pages: Some(pages),
                    next_cursor: next_cursor.clone(),
                },
                PageLinks {
                    this: base(&[("page", page_no.to_string())]),
                    next: (page_no < pages).then(|| base(&[("page", (page_no + 1).to_string())])),
                    prev: (page_no > 1).then(|| base(&[("page", (page_no - 1).to_string())])),
                },
            )
        }
        Page::After { .. } => (
            Pagination {
                page: None,
                limit,
                total,
                total_pages: None,
                next_cursor: next_cursor.clone(),
            },
            PageLinks {
                this: base(&[("cursor", q.cursor.clone().unwrap_or_default())]),
                next: next_cursor.as_ref().map(|c| base(&[("cursor", c.clone())])),
                prev: None,
            },
        ),
    };
    let data = rows.iter().map(view).collect();
    Ok(axum::Json(CampaignPage {
        data,
        pagination,
        links,
    })
    .into_response())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn cursor_values_are_ones_both_stores_read() {
        let t = |v: &str| cursor_value("created_at", v);
        assert_eq!(
            t("2026-11-29T10:00:00.5+02:00").as_deref(),
            Some("2026-11-29T08:00:00.500+00:00")
        );
        // RFC 3339 allows these; Postgres refuses them.
        assert_eq!(t("0000-01-01T00:00:00Z"), None);
        assert_eq!(
            t("2026-01-01T00:00:00-23:59"),
            Some("2026-01-01T23:59:00+00:00".into())
        );
        assert_eq!(t("9999-12-31T23:59:59-23:59"), None, "year 10000 in UTC");
        assert_eq!(cursor_value("budget", "+0042").as_deref(), Some("42"));
        assert_eq!(cursor_value("budget", "9223372036854775808"), None);
    }

    #[test]
    fn merge_patch_follows_rfc_7396() {
        let mut doc = json!({"a": 1, "b": {"c": 2, "d": 3}, "e": [1]});
        merge_patch(
            &mut doc,
            json!({"a": null, "b": {"c": 9}, "e": [2, 3], "f": "x"}),
        );
        assert_eq!(doc, json!({"b": {"c": 9, "d": 3}, "e": [2, 3], "f": "x"}));
    }

    #[test]
    fn validation_names_every_bad_field() {
        let body: CampaignBody = serde_json::from_value(json!({
            "name": " ",
            "budget": {"total_micros": 10, "currency": "eur", "daily_cap_micros": 20},
            "schedule": {"start": "2026-12-02T00:00:00Z", "end": "2026-12-01T00:00:00Z", "timezone": "Mars/Base"},
            "objectives": ["reach", "reach", "fame"],
            "channels": ["tv"]
        }))
        .expect("shape");
        let Err(ApiError::Invalid(problems)) = body.validate() else {
            panic!("invalid");
        };
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "name",
                "budget.currency",
                "budget.daily_cap_micros",
                "schedule.end",
                "schedule.timezone",
                "objectives[1]",
                "objectives[2]",
                "channels[0]"
            ]
        );
    }
}
