//! `GET /campaigns/{id}/assets/{asset}/content`: a creative's bytes, the
//! original or a WebP thumbnail. A creative's bytes never change under its
//! id, so they are served `immutable` and cacheable for a year, with an
//! ETag of their hash and variant.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::{content_path, find, hex, storage};
use crate::AppState;
use crate::auth::Caller;
use crate::campaigns::campaign_id;
use crate::error::{ApiError, FieldProblem};
use crate::http::{not_modified, query};
use crate::openapi::responses as r;
use crate::signed::Signature;
use uuid::Uuid;

/// Which bytes of a creative, and the signature of a signed URL.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ContentQuery {
    /// `original` (default), `w150` or `w300` (WebP thumbnails).
    variant: Option<String>,
    /// Signed URLs (the creative's `_links`): the tenant they were issued to.
    tenant: Option<Uuid>,
    /// Signed URLs: unix seconds after which the URL stops working.
    exp: Option<i64>,
    /// Signed URLs: the signature.
    sig: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/campaigns/{id}/assets/{asset}/content", operation_id = "asset_content", tag = "creatives", security(("bearer" = [])),
    params(("id" = String, Path, description = "the campaign"), ("asset" = String, Path, description = "the creative"), ContentQuery),
    responses((status = 200, description = "the bytes, immutable",
            content(("image/png"), ("image/jpeg"), ("image/gif"), ("image/webp"))),
        (status = 304, description = "unchanged since the ETag in If-None-Match"),
        r::BadRequest, r::Unauthorized, r::NotFound, r::Unprocessable, r::TooManyRequests,
        r::Unavailable))]
/// `GET /campaigns/{id}/assets/{asset}/content`: the original or a
/// thumbnail, cacheable for a year (a creative's bytes never change).
pub async fn content(
    State(state): State<AppState>,
    caller: Result<Caller, ApiError>,
    Path((id, asset)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let q: ContentQuery = query(raw.as_deref())?;
    let variant = q.variant.unwrap_or_else(|| "original".into());
    // Thumbnails are always WebP; the original's type is in the catalogue.
    let content_type = match variant.as_str() {
        "original" => None,
        "w150" | "w300" => Some("image/webp"),
        _ => {
            return Err(ApiError::Invalid(vec![FieldProblem::new(
                "variant",
                "must be original, w150 or w300",
            )]));
        }
    };
    // A signed URL names its tenant; without one the caller's token does.
    let tenant = match (q.tenant, q.exp, q.sig) {
        (Some(tenant), Some(exp), Some(sig)) => {
            let path = content_path(
                campaign_id(&id)?,
                asset.parse().map_err(|_| ApiError::NotFound("asset"))?,
            );
            let signature = Signature { tenant, exp, sig };
            state.signer.check(&path, &variant, &signature)?
        }
        _ => caller?.tenant,
    };
    let c = find(&state, tenant, &id, &asset).await?;
    let etag = format!("\"{}-{variant}\"", &hex(&c.sha256)[..16]);
    if not_modified(&headers, &etag) {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response());
    }
    let bytes = state
        .assets
        .get(c.campaign_id, c.id, &variant)
        .await
        .map_err(storage)?;
    let content_type = content_type.unwrap_or(c.content_type.as_str()).to_owned();
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (
                header::CACHE_CONTROL,
                "private, max-age=31536000, immutable".to_owned(),
            ),
            (header::ETAG, etag),
        ],
        bytes,
    )
        .into_response())
}
