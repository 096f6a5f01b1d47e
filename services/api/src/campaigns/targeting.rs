//! `GET/PUT /campaigns/{id}/targeting`: who a campaign reaches (countries,
//! devices, segments, dayparting, frequency cap). The rules and their
//! validation are the domain's (`adpulse_domain::targeting`); here they are
//! read and replaced whole, stored as one JSON value with the campaign and
//! versioned with it, so its ETag is the campaign's.

use adpulse_domain::targeting::Targeting;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::{campaign_id, editable, to_change, updated};
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, FieldProblem};
use crate::http::{etag, json_body};
use crate::openapi::responses as r;

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
        r::BadRequest, r::Unauthorized, r::Forbidden, r::NotFound, r::Conflict,
        r::PreconditionFailed, r::PayloadTooLarge, r::Unprocessable, r::PreconditionRequired,
        r::TooManyRequests, r::Unavailable))]
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
