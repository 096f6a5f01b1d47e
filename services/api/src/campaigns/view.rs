//! A campaign as the API answers it: its fields, its state and where it
//! may go next, links to what acts on it, and its version as the ETag
//! clients send back in `If-Match`.

use adpulse_domain::CampaignStatus;
use adpulse_domain::budget::{BudgetStop, StoppedCampaign};
use adpulse_domain::store::CampaignRecord;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::body::{Budget, CampaignBody, Schedule};
use crate::http::etag;

/// A campaign as the API answers it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CampaignOut {
    id: uuid::Uuid,
    status: CampaignStatus,
    name: String,
    brand_id: Option<String>,
    budget: Option<Budget>,
    schedule: Option<Schedule>,
    objectives: Vec<String>,
    channels: Vec<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    /// Bumped by every change; the ETag.
    version: i64,
    /// Where `PATCH …/status` may take it next.
    allowed_transitions: Vec<CampaignStatus>,
    /// Present when its budget stops it now (on `GET /campaigns/{id}`):
    /// capping decisions answer `budget_exhausted` for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    budget_stop: Option<BudgetStopOut>,
    #[serde(rename = "_links")]
    links: CampaignLinks,
}

/// Why a campaign's budget stops it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct BudgetStopOut {
    /// `total`: the lifetime budget is spent (until it is raised);
    /// `daily`: today's cap is spent.
    stop: BudgetStop,
    /// Since when.
    since: DateTime<Utc>,
    /// When a daily stop lifts: the campaign's next local midnight.
    until: Option<DateTime<Utc>>,
}

/// Links of a campaign.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CampaignLinks {
    #[serde(rename = "self")]
    this: String,
    status: String,
    targeting: String,
}

pub(super) fn view(c: &CampaignRecord) -> CampaignOut {
    let body = CampaignBody::of(&c.fields);
    let link = format!("/api/v1/campaigns/{}", c.id);
    CampaignOut {
        id: *c.id.as_uuid(),
        status: c.status,
        name: body.name,
        brand_id: body.brand_id,
        budget: body.budget,
        schedule: body.schedule,
        objectives: body.objectives,
        channels: body.channels,
        created_at: c.created_at,
        updated_at: c.updated_at,
        version: c.version,
        allowed_transitions: c.status.next().to_vec(),
        budget_stop: None,
        links: CampaignLinks {
            status: format!("{link}/status"),
            targeting: format!("{link}/targeting"),
            this: link,
        },
    }
}

/// `c` answered with `status`, its ETag, and (when created) its
/// `Location`.
pub(super) fn respond(status: StatusCode, c: &CampaignRecord) -> Response {
    respond_with(status, c, None)
}

/// [`respond`], saying why the budget stops the campaign if `stop` does.
pub(super) fn respond_with(
    status: StatusCode,
    c: &CampaignRecord,
    stop: Option<StoppedCampaign>,
) -> Response {
    let mut out = view(c);
    out.budget_stop = stop.map(|s| BudgetStopOut {
        stop: s.stop,
        since: s.since,
        until: s.until,
    });
    let mut r = (status, axum::Json(out)).into_response();
    if let Ok(v) = HeaderValue::from_str(&etag(c.version)) {
        r.headers_mut().insert(header::ETAG, v);
    }
    if status == StatusCode::CREATED
        && let Ok(v) = HeaderValue::from_str(&format!("/api/v1/campaigns/{}", c.id))
    {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}
