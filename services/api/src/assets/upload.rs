//! `POST /campaigns/{id}/assets`: a creative uploaded as the multipart
//! field `file`, counted while it streams (413 past `api.max_asset_bytes`,
//! before it is all in memory), decoded and thumbnailed on the blocking
//! pool, stored bytes first and catalogue second, so a catalogue entry
//! never points at nothing.

use std::sync::Arc;

use adpulse_domain::CampaignId;
use adpulse_domain::store::CreativeRecord;
use axum::extract::multipart::MultipartError;
use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

use super::thumbnails::{Processed, THUMBNAIL_WIDTHS, process};
use super::{AssetOut, AssetStore, storage, view};
use crate::AppState;
use crate::auth::Caller;
use crate::campaigns::campaign_id;
use crate::error::{ApiError, FieldProblem};
use crate::openapi::responses as r;

/// A multipart upload.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct UploadForm {
    /// The image (PNG, JPEG, GIF or WebP).
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

#[utoipa::path(post, path = "/api/v1/campaigns/{id}/assets", operation_id = "upload_asset", tag = "creatives", security(("bearer" = [])),
    params(("id" = String, Path, description = "the campaign")),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses((status = 201, description = "stored, with thumbnails", body = AssetOut),
        r::BadRequest, r::Unauthorized, r::Forbidden, r::NotFound, r::PayloadTooLarge,
        r::Unprocessable, r::TooManyRequests, r::Unavailable))]
/// `POST /campaigns/{id}/assets`: uploads a creative.
pub async fn upload(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    mut multipart: Multipart,
) -> Result<Response, ApiError> {
    caller.must_manage_campaigns()?;
    let campaign = campaign_id(&id)?;
    if state.db.campaign(caller.tenant, campaign).await?.is_none() {
        return Err(ApiError::NotFound("campaign"));
    }
    let (filename, bytes) = read_file(&mut multipart, state.max_asset_bytes).await?;
    let bytes = Arc::new(bytes);
    let work = Arc::clone(&bytes);
    // Decoding may take hundreds of MiB: a few at a time.
    let _permit = state
        .decodes
        .acquire()
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let Processed {
        format,
        width,
        height,
        thumbs,
    } = tokio::task::spawn_blocking(move || process(&work))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))??;
    let record = CreativeRecord {
        id: Uuid::now_v7(),
        campaign_id: campaign,
        filename,
        content_type: format.to_mime_type().to_owned(),
        size_bytes: i64::try_from(bytes.len()).unwrap_or(i64::MAX),
        sha256: Sha256::digest(bytes.as_slice()).to_vec(),
        width: i32::try_from(width).unwrap_or(i32::MAX),
        height: i32::try_from(height).unwrap_or(i32::MAX),
        created_at: Utc::now(),
    };
    // Bytes first: a catalogue entry never points at nothing. An upload
    // that fails after this leaves unreferenced objects, never the reverse.
    put_all(&state.assets, campaign, record.id, bytes.to_vec(), thumbs).await?;
    let saved = state
        .db
        .insert_creative(caller.tenant, &record)
        .await?
        .ok_or(ApiError::NotFound("campaign"))?;
    metrics::counter!("adpulse_api_assets_uploaded_total").increment(1);
    let out = view(&state, caller.tenant, &saved)?;
    let location = HeaderValue::from_str(&out.links.this);
    let mut r = (StatusCode::CREATED, axum::Json(out)).into_response();
    if let Ok(v) = location {
        r.headers_mut().insert(header::LOCATION, v);
    }
    Ok(r)
}

/// The multipart field `file`: its name (cleaned) and bytes, at most `max`
/// of them (counted as they arrive, so a large upload is refused before
/// it is all in memory).
async fn read_file(multipart: &mut Multipart, max: usize) -> Result<(String, Vec<u8>), ApiError> {
    let too_large = || ApiError::TooLarge(format!("the file is larger than {max} bytes"));
    let bad = |e: MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge(format!("the body is larger than {max} bytes"))
        } else {
            ApiError::BadRequest(format!("unreadable multipart body: {}", e.body_text()))
        }
    };
    let mut upload = None;
    while let Some(mut field) = multipart.next_field().await.map_err(bad)? {
        if field.name() != Some("file") {
            continue;
        }
        let filename = field
            .file_name()
            .map(clean_filename)
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "upload".to_owned());
        let mut bytes = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(bad)? {
            if bytes.len() + chunk.len() > max {
                return Err(too_large());
            }
            bytes.extend_from_slice(&chunk);
        }
        upload = Some((filename.chars().take(255).collect::<String>(), bytes));
        break;
    }
    let Some((filename, bytes)) = upload else {
        return Err(ApiError::Invalid(vec![FieldProblem::new(
            "file",
            "send the image as the multipart field `file`",
        )]));
    };
    if bytes.is_empty() {
        return Err(ApiError::Invalid(vec![FieldProblem::new("file", "empty")]));
    }
    Ok((filename, bytes))
}

/// A client's file name as shown back: its last path segment (browsers on
/// Windows send `C:\…`), without control characters.
fn clean_filename(n: &str) -> String {
    n.rsplit(['/', '\\'])
        .next()
        .unwrap_or(n)
        .chars()
        .filter(|c| !c.is_control())
        .collect::<String>()
        .trim()
        .to_owned()
}

/// Stores the original and the thumbnails (named `w<width>`).
async fn put_all(
    store: &AssetStore,
    campaign: CampaignId,
    creative: Uuid,
    original: Vec<u8>,
    thumbs: Vec<Vec<u8>>,
) -> Result<(), ApiError> {
    store
        .put(campaign, creative, "original", original)
        .await
        .map_err(storage)?;
    for (width, thumb) in THUMBNAIL_WIDTHS.iter().zip(thumbs) {
        store
            .put(campaign, creative, &format!("w{width}"), thumb)
            .await
            .map_err(storage)?;
    }
    Ok(())
}
