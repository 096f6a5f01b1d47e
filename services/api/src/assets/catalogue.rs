//! A campaign's creatives in the catalogue: the listing (newest first, a
//! page at a time after a `(created_at, id)` cursor), one entry, and
//! deletion (the catalogue entry first, then the bytes, best effort: once
//! the entry is gone nothing serves them).

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{AssetOut, find, view};
use crate::AppState;
use crate::auth::Caller;
use crate::campaigns::campaign_id;
use crate::cursor::{self, Listing};
use crate::error::{ApiError, FieldProblem};
use crate::http::query;
use crate::openapi::responses as r;
use adpulse_domain::TenantId;
use adpulse_domain::store::{CreativeFilter, CreativeRecord};

/// A page of creatives, newest first.
#[derive(Serialize, utoipa::ToSchema)]
pub struct AssetPage {
    data: Vec<AssetOut>,
    total: i64,
    /// For the next page; null on the last.
    next_cursor: Option<String>,
}

/// The query of the creatives listing.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AssetQuery {
    /// 1 to 100 (default 20).
    limit: Option<i64>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// The cursor after a creative made at `at`: the time as RFC 3339 at full
/// precision, since the store compares it exactly with the stored time.
fn encode_cursor(at: DateTime<Utc>, id: Uuid) -> String {
    cursor::encode(Listing::Creatives, (at.to_rfc3339(), id))
}

pub(super) fn decode_cursor(raw: &str) -> Result<(DateTime<Utc>, Uuid), ApiError> {
    let (at, id): (String, Uuid) = cursor::decode_or_422(Listing::Creatives, raw)?;
    let at = DateTime::parse_from_rfc3339(&at)
        .map_err(|_| ApiError::Invalid(vec![cursor::problem()]))?;
    Ok((at.with_timezone(&Utc), id))
}

#[utoipa::path(get, path = "/api/v1/campaigns/{id}/assets", operation_id = "list_assets", tag = "creatives", security(("bearer" = [])),
    params(("id" = String, Path, description = "the campaign"), AssetQuery),
    responses((status = 200, description = "a page, newest first", body = AssetPage),
        r::BadRequest, r::Unauthorized, r::NotFound, r::Unprocessable, r::TooManyRequests,
        r::Unavailable))]
/// `GET /campaigns/{id}/assets`.
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let campaign = campaign_id(&id)?;
    let q: AssetQuery = query(raw.as_deref())?;
    let limit = q.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::Invalid(vec![FieldProblem::new(
            "limit",
            "must be 1 to 100",
        )]));
    }
    let after = q.cursor.as_deref().map(decode_cursor).transpose()?;
    if state.db.campaign(caller.tenant, campaign).await?.is_none() {
        return Err(ApiError::NotFound("campaign"));
    }
    let (rows, total) = state
        .db
        .creatives(
            caller.tenant,
            &CreativeFilter::campaign(campaign),
            after,
            limit,
        )
        .await?;
    Ok(axum::Json(page(&state, caller.tenant, &rows, total, limit)?).into_response())
}

/// A page of `tenant`'s creatives `rows` (asked for `limit`, `total` in
/// all), its links signed and its cursor after the last row.
pub(super) fn page(
    state: &AppState,
    tenant: TenantId,
    rows: &[CreativeRecord],
    total: i64,
    limit: i64,
) -> Result<AssetPage, ApiError> {
    // A full page may have more after it; a short one is the last.
    let next_cursor = (usize::try_from(limit).ok() == Some(rows.len()))
        .then(|| rows.last())
        .flatten()
        .map(|c| encode_cursor(c.created_at, c.id));
    Ok(AssetPage {
        data: rows
            .iter()
            .map(|c| view(state, tenant, c))
            .collect::<Result<_, _>>()?,
        total,
        next_cursor,
    })
}

#[utoipa::path(get, path = "/api/v1/campaigns/{id}/assets/{asset}", operation_id = "get_asset", tag = "creatives", security(("bearer" = [])),
    params(("id" = String, Path, description = "the campaign"), ("asset" = String, Path, description = "the creative")),
    responses((status = 200, description = "the creative", body = AssetOut),
        r::Unauthorized, r::NotFound, r::TooManyRequests, r::Unavailable))]
/// `GET /campaigns/{id}/assets/{asset}`: the catalogue entry.
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, asset)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let c = find(&state, caller.tenant, &id, &asset).await?;
    Ok(axum::Json(view(&state, caller.tenant, &c)?).into_response())
}

#[utoipa::path(delete, path = "/api/v1/campaigns/{id}/assets/{asset}", operation_id = "delete_asset", tag = "creatives", security(("bearer" = [])),
    params(("id" = String, Path, description = "the campaign"), ("asset" = String, Path, description = "the creative")),
    responses((status = 204, description = "deleted"),
        r::Unauthorized, r::Forbidden, r::NotFound, r::TooManyRequests, r::Unavailable))]
/// `DELETE /campaigns/{id}/assets/{asset}`: out of the catalogue, then its
/// bytes out of storage (best effort: the catalogue is what serves them).
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, asset)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    caller.must_manage_campaigns()?;
    let c = find(&state, caller.tenant, &id, &asset).await?;
    if !state
        .db
        .delete_creative(caller.tenant, c.campaign_id, c.id)
        .await?
    {
        return Err(ApiError::NotFound("asset"));
    }
    for variant in ["original", "w150", "w300"] {
        if let Err(e) = state.assets.delete(c.campaign_id, c.id, variant).await {
            tracing::warn!(asset = %c.id, variant, error = %e, "asset bytes not deleted");
        }
    }
    Ok(StatusCode::NO_CONTENT)
}
