//! A campaign as the API answers it: its fields, its state and where it
//! may go next, links to what acts on it, and its version as the ETag
//! clients send back in `If-Match`.

use adpulse_domain::CampaignStatus;
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
    #[serde(rename = "_links")]
    links: CampaignLinks,
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
    let mut r = (status, axum::Json(view(c))).into_response();
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
