//! `GET /campaigns/{id}/reports`: one campaign's counts, sums, ratios and
//! unique users by local hour or day or in total, optionally by channel
//! and event type, with totals over the whole range.
//!
//! The totals are a second query, not a sum of the rows: unique users over
//! a range are a union of sketches, and a sum of the rows' counts would
//! count a person once per period they were seen in.

use adpulse_domain::aggregate::Counts;
use adpulse_domain::report::{Breakdown, Granularity};
use adpulse_domain::store::CampaignReport;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Serialize;

use super::query::{CampaignAsk, campaign_query};
use super::render::{Metrics, RowOut, cached_json};
use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::openapi::responses as r;

/// A campaign report.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReportOut {
    /// The campaign.
    pub campaign_id: String,
    /// First local day.
    pub start_date: String,
    /// Last local day (inclusive).
    pub end_date: String,
    /// The zone the periods are local to.
    pub timezone: String,
    /// `hour`, `day` or `total`.
    pub granularity: String,
    /// The rows, in period order; periods without events are absent.
    pub rows: Vec<RowOut>,
    /// The whole range, unique users over all of it.
    pub totals: RowOut,
}

/// `GET /campaigns/{id}/reports`.
#[utoipa::path(get, path = "/api/v1/campaigns/{id}/reports", tag = "reports", security(("bearer" = [])),
    params(("id" = String, Path, description = "the campaign"),
        ("start_date" = String, Query, description = "first local day, YYYY-MM-DD"),
        ("end_date" = String, Query, description = "last local day (inclusive), YYYY-MM-DD; at most 400 days (62 hourly)"),
        ("granularity" = Option<String>, Query, description = "hour, day (default) or total"),
        ("breakdown" = Option<String>, Query, description = "channel, event_type, or channel,event_type"),
        ("tz" = Option<String>, Query, description = "IANA time zone of the periods; the campaign's by default")),
    responses((status = 200, description = "the report", body = ReportOut),
        (status = 304, description = "unchanged since the ETag in If-None-Match"),
        r::BadRequest, r::Unauthorized, r::NotFound, r::Unprocessable, r::Unavailable))]
pub async fn campaign_report(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let CampaignAsk {
        report: q, range, ..
    } = campaign_query(&state, &caller, &id, raw.as_deref()).await?;
    let total_q = CampaignReport {
        granularity: Granularity::Total,
        breakdown: Breakdown::default(),
        grain: range.grain(Granularity::Total),
        ..q.clone()
    };
    let (rows, total) = tokio::try_join!(
        state.db.campaign_report(caller.tenant, &q),
        state.db.campaign_report(caller.tenant, &total_q)
    )?;
    // A range without events has no total row: zeros, not an error.
    let totals = total.first().map_or_else(
        || RowOut {
            period: None,
            channel: None,
            event_type: None,
            metrics: Metrics::from(&Counts::default()),
            unique_users: 0,
        },
        |t| RowOut::of(t, range.tz),
    );
    let out = ReportOut {
        campaign_id: q.campaign.to_string(),
        start_date: range.start.to_string(),
        end_date: range.end.to_string(),
        timezone: range.tz.name().to_owned(),
        granularity: q.granularity.as_str().to_owned(),
        rows: rows.iter().map(|r| RowOut::of(r, range.tz)).collect(),
        totals,
    };
    cached_json(&headers, &out, range.is_live())
}
