//! Creatives: `POST /campaigns/{id}/assets` (multipart, field `file`),
//! list, read, content, delete.
//!
//! The type is sniffed from the bytes (PNG, JPEG, GIF, WebP), never taken
//! from the upload's header; the image is decoded under size limits (a
//! decompression bomb fails, it does not exhaust memory); WebP thumbnails
//! 150 and 300 px wide are made on the blocking pool; the original and the
//! thumbnails go to object storage (a local folder, or S3-compatible), and
//! are served immutable, with long caching.

use std::io::Cursor;
use std::sync::Arc;

use adpulse_domain::CampaignId;
use adpulse_domain::store::CreativeRecord;
use axum::body::Bytes;
use axum::extract::{Multipart, Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use chrono::{DateTime, Utc};
use futures_util::TryStreamExt as _;
use image::{DynamicImage, ImageFormat, ImageReader};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt as _, PutPayload};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, FieldProblem};
use crate::http::query;
use crate::openapi::responses as r;

/// Thumbnail widths, in pixels.
pub const THUMBNAIL_WIDTHS: [u32; 2] = [150, 300];
/// Largest width or height accepted.
const MAX_SIDE: u32 = 10_000;

/// Where creatives' bytes are kept: one object per creative and variant,
/// named `<prefix>/<campaign>/<creative>/<variant>`, in a folder or an S3
/// bucket. The calls below behave the same on both (the conformance suite,
/// `tests/assets_conformance.rs`, runs one set of assertions on each).
#[derive(Clone)]
pub struct AssetStore {
    store: Arc<dyn ObjectStore>,
    prefix: ObjectPath,
}

/// Why object storage did not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum AssetError {
    /// No object by that name.
    #[error("no such object")]
    NotFound,
    /// The storage failed, refused the request or did not answer (the API
    /// answers 503).
    #[error("object storage failed: {0}")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl From<object_store::Error> for AssetError {
    fn from(e: object_store::Error) -> Self {
        match e {
            object_store::Error::NotFound { .. } => Self::NotFound,
            e => Self::Unavailable(Box::new(e)),
        }
    }
}

impl AssetStore {
    /// From `api.asset_store`: a folder, or `s3://bucket/prefix` (configured
    /// from the `AWS_*` environment variables).
    pub fn open(location: &str) -> Result<Self, String> {
        Self::open_with(location, &[])
    }

    /// [`open`](Self::open), with S3 settings given here taking precedence
    /// over the environment: `object_store`'s names for them, as in
    /// `("aws_endpoint", "http://127.0.0.1:9000")` or
    /// `("aws_access_key_id", …)`. Ignored for a folder.
    pub fn open_with(location: &str, s3_options: &[(&str, &str)]) -> Result<Self, String> {
        if let Some(rest) = location.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            let mut builder =
                object_store::aws::AmazonS3Builder::from_env().with_bucket_name(bucket);
            for (key, value) in s3_options {
                let key = key
                    .parse()
                    .map_err(|e| format!("api.asset_store {location:?}: {e}"))?;
                builder = builder.with_config(key, *value);
            }
            let store = builder
                .build()
                .map_err(|e| format!("api.asset_store {location:?}: {e}"))?;
            return Ok(Self {
                store: Arc::new(store),
                prefix: ObjectPath::from(prefix),
            });
        }
        let dir = location.strip_prefix("file://").unwrap_or(location);
        std::fs::create_dir_all(dir).map_err(|e| format!("api.asset_store {dir:?}: {e}"))?;
        let store = object_store::local::LocalFileSystem::new_with_prefix(dir)
            .map_err(|e| format!("api.asset_store {dir:?}: {e}"))?;
        Ok(Self {
            store: Arc::new(store),
            prefix: ObjectPath::from(""),
        })
    }

    fn campaign_path(&self, campaign: CampaignId) -> ObjectPath {
        self.prefix.clone().join(campaign.to_string())
    }

    fn path(&self, campaign: CampaignId, creative: Uuid, variant: &str) -> ObjectPath {
        self.campaign_path(campaign)
            .join(creative.to_string())
            .join(variant)
    }

    /// Stores `bytes` as `variant` of a creative, replacing what was there.
    pub async fn put(
        &self,
        campaign: CampaignId,
        creative: Uuid,
        variant: &str,
        bytes: Vec<u8>,
    ) -> Result<(), AssetError> {
        self.store
            .put(
                &self.path(campaign, creative, variant),
                PutPayload::from(bytes),
            )
            .await?;
        Ok(())
    }

    /// The bytes of `variant` of a creative; [`AssetError::NotFound`] if
    /// none were stored (or they were deleted).
    pub async fn get(
        &self,
        campaign: CampaignId,
        creative: Uuid,
        variant: &str,
    ) -> Result<Bytes, AssetError> {
        Ok(self
            .store
            .get(&self.path(campaign, creative, variant))
            .await?
            .bytes()
            .await?)
    }

    /// Deletes `variant` of a creative. Deleting what is not there succeeds
    /// (S3 answers so; a folder's `NotFound` is taken as done), so a retried
    /// or repeated delete is not an error.
    pub async fn delete(
        &self,
        campaign: CampaignId,
        creative: Uuid,
        variant: &str,
    ) -> Result<(), AssetError> {
        match self
            .store
            .delete(&self.path(campaign, creative, variant))
            .await
        {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Every object stored for a campaign, as (creative, variant), sorted.
    /// Only this campaign's: not another campaign's, nor another prefix's
    /// in the same bucket.
    pub async fn list(&self, campaign: CampaignId) -> Result<Vec<(Uuid, String)>, AssetError> {
        let base = self.campaign_path(campaign);
        let depth = base.parts().count();
        let metas: Vec<_> = self.store.list(Some(&base)).try_collect().await?;
        let mut out = Vec::with_capacity(metas.len());
        for meta in metas {
            let parts: Vec<_> = meta.location.parts().skip(depth).collect();
            let [creative, variant] = parts.as_slice() else {
                continue;
            };
            let Ok(creative) = creative.as_ref().parse::<Uuid>() else {
                continue;
            };
            out.push((creative, variant.as_ref().to_owned()));
        }
        out.sort();
        Ok(out)
    }
}

fn storage(e: AssetError) -> ApiError {
    match e {
        AssetError::NotFound => ApiError::NotFound("asset content"),
        e => {
            tracing::warn!(error = %e, "object storage failed");
            ApiError::Unavailable
        }
    }
}

/// A creative as the API answers it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct AssetOut {
    id: Uuid,
    campaign_id: Uuid,
    filename: String,
    /// Sniffed from the bytes.
    content_type: String,
    size_bytes: i64,
    /// Hex SHA-256 of the original.
    sha256: String,
    width: i32,
    height: i32,
    created_at: DateTime<Utc>,
    #[serde(rename = "_links")]
    links: AssetLinks,
}

/// Where a creative's bytes are.
#[derive(Serialize, utoipa::ToSchema)]
pub struct AssetLinks {
    #[serde(rename = "self")]
    this: String,
    original: String,
    /// The WebP thumbnails, by width.
    w150: String,
    w300: String,
}

/// A page of creatives, newest first.
#[derive(Serialize, utoipa::ToSchema)]
pub struct AssetPage {
    data: Vec<AssetOut>,
    total: i64,
    /// For the next page; null on the last.
    next_cursor: Option<String>,
}

/// A multipart upload.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct UploadForm {
    /// The image (PNG, JPEG, GIF or WebP).
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn view(c: &CreativeRecord) -> AssetOut {
    let link = format!("/api/v1/campaigns/{}/assets/{}", c.campaign_id, c.id);
    AssetOut {
        id: c.id,
        campaign_id: *c.campaign_id.as_uuid(),
        filename: c.filename.clone(),
        content_type: c.content_type.clone(),
        size_bytes: c.size_bytes,
        sha256: hex(&c.sha256),
        width: c.width,
        height: c.height,
        created_at: c.created_at,
        links: AssetLinks {
            original: format!("{link}/content"),
            w150: format!("{link}/content?variant=w150"),
            w300: format!("{link}/content?variant=w300"),
            this: link,
        },
    }
}

fn campaign_id(raw: &str) -> Result<CampaignId, ApiError> {
    raw.parse()
        .map(CampaignId::from_uuid)
        .map_err(|_| ApiError::NotFound("campaign"))
}

/// A decoded upload: its sniffed format, size, and WebP thumbnails (in
/// [`THUMBNAIL_WIDTHS`] order).
struct Processed {
    format: ImageFormat,
    width: u32,
    height: u32,
    thumbs: Vec<Vec<u8>>,
}

/// Decodes (under limits) and makes the thumbnails.
fn process(bytes: &[u8]) -> Result<Processed, ApiError> {
    let unsupported = || {
        ApiError::Invalid(vec![FieldProblem::new(
            "file",
            "not a PNG, JPEG, GIF or WebP image (the type is read from the bytes)",
        )])
    };
    let format = image::guess_format(bytes).map_err(|_| unsupported())?;
    if !matches!(
        format,
        ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::Gif | ImageFormat::WebP
    ) {
        return Err(unsupported());
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(256 * 1024 * 1024);
    reader.limits(limits);
    let img = reader.decode().map_err(|e| {
        ApiError::Invalid(vec![FieldProblem::new(
            "file",
            format!("the image cannot be decoded: {e}"),
        )])
    })?;
    let (w, h) = (img.width(), img.height());
    if w == 0 || h == 0 {
        return Err(ApiError::Invalid(vec![FieldProblem::new(
            "file",
            "the image has no pixels",
        )]));
    }
    let mut thumbs = Vec::new();
    for width in THUMBNAIL_WIDTHS {
        let tw = width.min(w);
        let th = ((u64::from(h) * u64::from(tw)) / u64::from(w)).max(1);
        let th = u32::try_from(th).unwrap_or(u32::MAX);
        let thumb = DynamicImage::ImageRgba8(
            img.resize_exact(tw, th, image::imageops::FilterType::Triangle)
                .to_rgba8(),
        );
        let mut out = Vec::new();
        thumb
            .write_to(&mut Cursor::new(&mut out), ImageFormat::WebP)
            .map_err(|e| ApiError::Internal(format!("webp encoding: {e}")))?;
        thumbs.push(out);
    }
    Ok(Processed {
        format,
        width: w,
        height: h,
        thumbs,
    })
}

#[utoipa::path(post, path = "/api/v1/campaigns/{id}/assets", operation_id = "upload_asset", tag = "creatives", security(("bearer" = [])),
    params(("id" = String, Path, description = "the campaign")),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses((status = 201, description = "stored, with thumbnails", body = AssetOut),
        r::BadRequest, r::Unauthorized, r::Forbidden, r::NotFound, r::PayloadTooLarge, r::Unprocessable, r::TooManyRequests, r::Unavailable))]
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
    let max = state.max_asset_bytes;
    let too_large = || ApiError::TooLarge(format!("the file is larger than {max} bytes"));
    let bad = |e: axum::extract::multipart::MultipartError| {
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
            .map(|n| {
                n.rsplit(['/', '\\'])
                    .next()
                    .unwrap_or(n)
                    .chars()
                    .filter(|c| !c.is_control())
                    .collect::<String>()
                    .trim()
                    .to_owned()
            })
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
    let store = &state.assets;
    store
        .put(campaign, record.id, "original", bytes.to_vec())
        .await
        .map_err(storage)?;
    for (width, thumb) in THUMBNAIL_WIDTHS.iter().zip(thumbs) {
        store
            .put(campaign, record.id, &format!("w{width}"), thumb)
            .await
            .map_err(storage)?;
    }
    let saved = state
        .db
        .insert_creative(caller.tenant, &record)
        .await?
        .ok_or(ApiError::NotFound("campaign"))?;
    metrics::counter!("adpulse_api_assets_uploaded_total").increment(1);
    let mut r = (StatusCode::CREATED, axum::Json(view(&saved))).into_response();
    if let Ok(v) = HeaderValue::from_str(&view(&saved).links.this) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    Ok(r)
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

#[utoipa::path(get, path = "/api/v1/campaigns/{id}/assets", operation_id = "list_assets", tag = "creatives", security(("bearer" = [])),
    params(("id" = String, Path, description = "the campaign"), AssetQuery),
    responses((status = 200, description = "a page, newest first", body = AssetPage),
        r::BadRequest, r::Unauthorized, r::NotFound, r::Unprocessable, r::TooManyRequests, r::Unavailable))]
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
    let after = match &q.cursor {
        None => None,
        Some(c) => Some(decode_cursor(c).ok_or_else(|| {
            ApiError::Invalid(vec![FieldProblem::new(
                "cursor",
                "not a cursor of this listing",
            )])
        })?),
    };
    if state.db.campaign(caller.tenant, campaign).await?.is_none() {
        return Err(ApiError::NotFound("campaign"));
    }
    let (rows, total) = state
        .db
        .creatives(caller.tenant, campaign, after, limit)
        .await?;
    let next_cursor = (rows.len() as i64 == limit)
        .then(|| rows.last())
        .flatten()
        .map(|c| encode_cursor(c.created_at, c.id));
    Ok(axum::Json(AssetPage {
        data: rows.iter().map(view).collect(),
        total,
        next_cursor,
    })
    .into_response())
}

fn encode_cursor(at: DateTime<Utc>, id: Uuid) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{}|{id}", at.to_rfc3339()))
}

fn decode_cursor(raw: &str) -> Option<(DateTime<Utc>, Uuid)> {
    let text = String::from_utf8(
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(raw)
            .ok()?,
    )
    .ok()?;
    let (at, id) = text.split_once('|')?;
    Some((
        DateTime::parse_from_rfc3339(at).ok()?.with_timezone(&Utc),
        id.parse().ok()?,
    ))
}

async fn find(
    state: &AppState,
    caller: &Caller,
    id: &str,
    asset: &str,
) -> Result<CreativeRecord, ApiError> {
    let campaign = campaign_id(id)?;
    let asset: Uuid = asset.parse().map_err(|_| ApiError::NotFound("asset"))?;
    state
        .db
        .creative(caller.tenant, campaign, asset)
        .await?
        .ok_or(ApiError::NotFound("asset"))
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
    let c = find(&state, &caller, &id, &asset).await?;
    Ok(axum::Json(view(&c)).into_response())
}

/// Which bytes of a creative.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ContentQuery {
    /// `original` (default), `w150` or `w300` (WebP thumbnails).
    variant: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/campaigns/{id}/assets/{asset}/content", operation_id = "asset_content", tag = "creatives", security(("bearer" = [])),
    params(("id" = String, Path, description = "the campaign"), ("asset" = String, Path, description = "the creative"), ContentQuery),
    responses((status = 200, description = "the bytes, immutable",
            content(("image/png"), ("image/jpeg"), ("image/gif"), ("image/webp"))),
        (status = 304, description = "unchanged since the ETag in If-None-Match"),
        r::BadRequest, r::Unauthorized, r::NotFound, r::Unprocessable, r::TooManyRequests, r::Unavailable))]
/// `GET /campaigns/{id}/assets/{asset}/content`: the original or a
/// thumbnail, cacheable for a year (a creative's bytes never change).
pub async fn content(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, asset)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
    headers: axum::http::HeaderMap,
) -> Result<Response, ApiError> {
    let q: ContentQuery = query(raw.as_deref())?;
    let variant = q.variant.unwrap_or_else(|| "original".into());
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
    let c = find(&state, &caller, &id, &asset).await?;
    let etag = format!("\"{}-{variant}\"", &hex(&c.sha256)[..16]);
    if crate::http::not_modified(&headers, &etag) {
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
    let c = find(&state, &caller, &id, &asset).await?;
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
