//! `GET /campaigns/{id}/realtime`: a campaign's lifetime totals and the
//! last hour in 5-second points, read from the live counters (Redis) at
//! each request, never cached (`no-store`): this is the freshest number
//! adpulse has. Without live counters configured, or when they do not
//! answer, 503.

use adpulse_domain::CampaignId;
use adpulse_domain::aggregate::Counts;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::{SecondsFormat, Utc};
use serde::Serialize;

use super::owned;
use super::render::Metrics;
use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::openapi::responses as r;

/// One 5-second point of the live series.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LivePointOut {
    /// The point's start.
    pub t: String,
    /// Impressions.
    pub impressions: i64,
    /// Clicks.
    pub clicks: i64,
    /// Conversions.
    pub conversions: i64,
    /// Cost (micros).
    pub spend_micros: i64,
    /// Revenue (micros).
    pub revenue_micros: i64,
}

/// A campaign's live numbers.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RealtimeOut {
    /// The campaign.
    pub campaign_id: String,
    /// Lifetime totals (zero before the first event).
    pub totals: Metrics,
    /// Increases with every update.
    pub version: i64,
    /// When the counters were last written.
    pub updated_at: Option<String>,
    /// The last hour in 5-second points, oldest first.
    pub series: Vec<LivePointOut>,
}

/// The live view of `campaign` now (503 without live counters).
pub(super) async fn live(state: &AppState, campaign: CampaignId) -> Result<RealtimeOut, ApiError> {
    let live = state.live.as_ref().ok_or(ApiError::Unavailable)?;
    let view = live.read_live(campaign, Utc::now()).await.map_err(|e| {
        tracing::warn!(error = %e, "live counters unavailable");
        ApiError::Unavailable
    })?;
    let (counts, version, updated_at) = view.totals.map_or((Counts::default(), 0, None), |t| {
        (t.counts, t.version, t.updated_at)
    });
    Ok(RealtimeOut {
        campaign_id: campaign.to_string(),
        totals: Metrics::from(&counts),
        version,
        updated_at: updated_at.map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true)),
        series: view
            .series
            .iter()
            .map(|p| LivePointOut {
                t: p.start.to_rfc3339_opts(SecondsFormat::Secs, true),
                impressions: p.counts.impressions,
                clicks: p.counts.clicks,
                conversions: p.counts.conversions,
                spend_micros: p.counts.cost_micros,
                revenue_micros: p.counts.revenue_micros,
            })
            .collect(),
    })
}

/// `GET /campaigns/{id}/realtime`.
#[utoipa::path(get, path = "/api/v1/campaigns/{id}/realtime", tag = "reports", security(("bearer" = [])),
    params(("id" = String, Path, description = "the campaign")),
    responses((status = 200, description = "live totals and the last hour's 5-second series", body = RealtimeOut),
        r::Unauthorized, r::NotFound, r::Unavailable))]
pub async fn realtime(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let campaign = owned(&state, &caller, &id).await?;
    let out = live(&state, campaign).await?;
    Ok((
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        Json(out),
    )
        .into_response())
}
