//! `GET /creatives`: the tenant's whole creative library, newest first, a
//! page at a time, narrowed by campaign, type or part of the file name:
//! what the console's creatives page scrolls through (10,000 and more).

use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::catalogue::{AssetPage, decode_cursor, page};
use crate::AppState;
use crate::auth::Caller;
use crate::campaigns::campaign_id;
use crate::error::{ApiError, FieldProblem};
use crate::http::query;
use crate::openapi::responses as r;
use adpulse_domain::store::CreativeFilter;

/// The image types a creative can have (the `type` filter's values).
#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ImageType {
    /// `image/png`.
    Png,
    /// `image/jpeg`.
    Jpeg,
    /// `image/gif`.
    Gif,
    /// `image/webp`.
    Webp,
}

/// The query of the library.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LibraryQuery {
    /// 1 to 200 (default 50).
    limit: Option<i64>,
    /// `next_cursor` of the previous page (with the same filters).
    cursor: Option<String>,
    /// One campaign's creatives only.
    campaign_id: Option<String>,
    /// `png`, `jpeg`, `gif` or `webp` only (another value is a 422 on
    /// the field, not a 400).
    #[serde(rename = "type")]
    #[param(value_type = Option<ImageType>)]
    kind: Option<String>,
    /// File names containing this (ignoring case), 1 to 255 characters.
    name: Option<String>,
}

/// The filter `q` asks for, or the fields it got wrong.
fn filter(q: &LibraryQuery) -> Result<CreativeFilter, ApiError> {
    let mut problems = Vec::new();
    let campaign = match q.campaign_id.as_deref().map(campaign_id).transpose() {
        Ok(c) => c,
        Err(_) => {
            problems.push(FieldProblem::new("campaign_id", "must be a campaign id"));
            None
        }
    };
    let content_type = match q.kind.as_deref() {
        None => None,
        Some(k @ ("png" | "jpeg" | "gif" | "webp")) => Some(format!("image/{k}")),
        Some(_) => {
            problems.push(FieldProblem::new("type", "must be png, jpeg, gif or webp"));
            None
        }
    };
    if q.name
        .as_ref()
        .is_some_and(|n| n.is_empty() || n.chars().count() > 255)
    {
        problems.push(FieldProblem::new("name", "must be 1 to 255 characters"));
    }
    if q.limit.is_some_and(|l| !(1..=200).contains(&l)) {
        problems.push(FieldProblem::new("limit", "must be 1 to 200"));
    }
    if !problems.is_empty() {
        return Err(ApiError::Invalid(problems));
    }
    Ok(CreativeFilter {
        campaign,
        content_type,
        name: q.name.clone(),
    })
}

#[utoipa::path(get, path = "/api/v1/creatives", operation_id = "list_library", tag = "creatives", security(("bearer" = [])),
    params(LibraryQuery),
    responses((status = 200, description = "a page of the tenant's creatives, newest first", body = AssetPage),
        r::BadRequest, r::Unauthorized, r::Unprocessable, r::TooManyRequests, r::Unavailable))]
/// `GET /creatives`.
pub async fn library(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let q: LibraryQuery = query(raw.as_deref())?;
    let filter = filter(&q)?;
    let limit = q.limit.unwrap_or(50);
    let after = q.cursor.as_deref().map(decode_cursor).transpose()?;
    let (rows, total) = state
        .db
        .creatives(caller.tenant, &filter, after, limit)
        .await?;
    Ok(axum::Json(page(&state, caller.tenant, &rows, total, limit)?).into_response())
}
