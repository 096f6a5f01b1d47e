//! Creatives: `POST /campaigns/{id}/assets` (multipart, field `file`),
//! list, read, content, delete, one module per concern:
//!
//! - [`upload`]: the upload, streamed under its size limit;
//! - `thumbnails`: sniffing the type, decoding under limits, thumbnails;
//! - [`store`]: object storage (a folder or S3-compatible);
//! - [`catalogue`]: the listing, one entry, deletion;
//! - [`library`]: every creative of the tenant, filtered (the console's
//!   library);
//! - [`content`]: the bytes, immutable and long cached.
//!
//! The type is sniffed from the bytes (PNG, JPEG, GIF, WebP), never taken
//! from the upload's header; the image is decoded under size limits (a
//! decompression bomb fails, it does not exhaust memory); WebP thumbnails
//! 150 and 300 px wide are made on the blocking pool; the original and the
//! thumbnails go to object storage (a local folder, or S3-compatible), and
//! are served immutable, with long caching.

pub mod catalogue;
pub mod content;
pub mod library;
pub mod store;
mod thumbnails;
pub mod upload;

use adpulse_domain::store::CreativeRecord;
use adpulse_domain::{CampaignId, TenantId};
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

pub use store::{AssetError, AssetStore};
pub use thumbnails::THUMBNAIL_WIDTHS;

use crate::AppState;
use crate::campaigns::campaign_id;
use crate::error::ApiError;

/// Object storage's failure as the client sees it: missing bytes are 404,
/// anything else 503 (logged; the client gets no details).
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

/// Where a creative's bytes are. `original`, `w150` and `w300` are signed
/// URLs (an hour or two) that work without an `Authorization` header, so a
/// browser can put them in `<img src>` as they are.
#[derive(Serialize, utoipa::ToSchema)]
pub struct AssetLinks {
    #[serde(rename = "self")]
    this: String,
    original: String,
    /// The WebP thumbnails, by width.
    w150: String,
    w300: String,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The path of a creative's bytes, as signed URLs name it.
fn content_path(campaign: CampaignId, asset: Uuid) -> String {
    format!("/api/v1/campaigns/{campaign}/assets/{asset}/content")
}

/// The creative `c` of `tenant` as the API answers it, its links signed.
fn view(state: &AppState, tenant: TenantId, c: &CreativeRecord) -> Result<AssetOut, ApiError> {
    let link = format!("/api/v1/campaigns/{}/assets/{}", c.campaign_id, c.id);
    let content = content_path(c.campaign_id, c.id);
    let exp = crate::signed::asset_expiry();
    let signed = |variant| state.signer.sign(&content, variant, tenant, exp);
    Ok(AssetOut {
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
            original: signed(Some("original"))?,
            w150: signed(Some("w150"))?,
            w300: signed(Some("w300"))?,
            this: link,
        },
    })
}

/// The caller's creative `asset` of campaign `id`; 404 when either is not
/// theirs or is not an id at all.
async fn find(
    state: &AppState,
    tenant: TenantId,
    id: &str,
    asset: &str,
) -> Result<CreativeRecord, ApiError> {
    let campaign = campaign_id(id)?;
    let asset: Uuid = asset.parse().map_err(|_| ApiError::NotFound("asset"))?;
    state
        .db
        .creative(tenant, campaign, asset)
        .await?
        .ok_or(ApiError::NotFound("asset"))
}
