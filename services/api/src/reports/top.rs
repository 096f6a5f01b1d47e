//! `GET /reports/campaigns`: the tenant's campaigns ranked over a range by
//! a sum (spend, revenue, impressions, clicks or conversions), with reach
//! computed for the ranked campaigns only (the sketch unions are the
//! costly part; see `crates/postgres/src/reports.rs`).

use adpulse_domain::store::RankedCampaign;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Serialize;

use super::query::{TopAsk, top_query};
use super::render::{Metrics, cached_json};
use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::openapi::responses as r;

/// Most campaigns in a JSON ranking.
const MAX_TOP: i64 = 1_000;

/// One ranked campaign.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RankedOut {
    /// The campaign.
    pub campaign_id: String,
    /// Its name.
    pub name: String,
    /// Its status.
    pub status: String,
    /// Its brand.
    pub brand_id: Option<String>,
    /// Counts, sums and ratios over the range.
    #[serde(flatten)]
    pub metrics: Metrics,
    /// Distinct people over the range.
    pub unique_users: i64,
}

impl RankedOut {
    pub(super) fn of(r: &RankedCampaign) -> Self {
        Self {
            campaign_id: r.id.to_string(),
            name: r.name.clone(),
            status: r.status.clone(),
            brand_id: r.brand_id.clone(),
            metrics: Metrics::from(&r.counts),
            unique_users: r.unique_users,
        }
    }
}

/// The tenant's top campaigns.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TopOut {
    /// First day.
    pub start_date: String,
    /// Last day (inclusive).
    pub end_date: String,
    /// The zone the days are local to.
    pub timezone: String,
    /// The sort applied.
    pub sort: String,
    /// The campaigns, best first.
    pub rows: Vec<RankedOut>,
}

/// `GET /reports/campaigns`: the tenant's campaigns ranked over a range.
#[utoipa::path(get, path = "/api/v1/reports/campaigns", tag = "reports", security(("bearer" = [])),
    params(("start_date" = String, Query, description = "first day, YYYY-MM-DD"),
        ("end_date" = String, Query, description = "last day (inclusive)"),
        ("status" = Option<String>, Query, description = "only campaigns in this status"),
        ("brand_id" = Option<String>, Query, description = "only campaigns of this brand"),
        ("sort" = Option<String>, Query, description = "spend, revenue, impressions, clicks or conversions; - for descending (default -spend)"),
        ("limit" = Option<i64>, Query, description = "1 to 1000, default 100"),
        ("tz" = Option<String>, Query, description = "IANA zone of the days; UTC by default")),
    responses((status = 200, description = "the ranking", body = TopOut),
        (status = 304, description = "unchanged since the ETag in If-None-Match"),
        r::BadRequest, r::Unauthorized, r::Unprocessable, r::Unavailable))]
pub async fn top_campaigns(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let TopAsk {
        top: q,
        range,
        sort,
        ..
    } = top_query(raw.as_deref(), MAX_TOP)?;
    let rows = state.db.top_campaigns(caller.tenant, &q).await?;
    let out = TopOut {
        start_date: range.start.to_string(),
        end_date: range.end.to_string(),
        timezone: range.tz.name().to_owned(),
        sort,
        rows: rows.iter().map(RankedOut::of).collect(),
    };
    cached_json(&headers, &out, range.is_live())
}
