//! `PATCH /campaigns/{id}/status`: one step of the campaign lifecycle
//! (`adpulse_domain::campaign`'s state machine). A step the machine does
//! not allow is 409 `illegal_transition` naming the steps that are, so a
//! client can offer them instead of guessing.

use adpulse_domain::CampaignStatus;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use super::view::{CampaignOut, respond};
use super::{to_change, updated};
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, FieldProblem};
use crate::http::{etag, json_body};
use crate::openapi::responses as r;

/// A lifecycle step.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusChange {
    /// draft, scheduled, active, paused, completed or archived.
    #[schema(value_type = CampaignStatus)]
    status: String,
}

/// `PATCH /campaigns/{id}/status`: one step of the lifecycle (`If-Match`);
/// 409 names the allowed steps.
#[utoipa::path(patch, path = "/api/v1/campaigns/{id}/status", tag = "campaigns", security(("bearer" = [])), params(("id" = String, Path, description = "the resource id"), ("If-Match" = String, Header, description = "the ETag you read")), request_body = StatusChange,
    responses((status = 200, description = "moved", body = CampaignOut),
        r::BadRequest, r::Unauthorized, r::Forbidden, r::NotFound, r::Conflict,
        r::PreconditionFailed, r::PayloadTooLarge, r::Unprocessable, r::PreconditionRequired,
        r::TooManyRequests, r::Unavailable))]
pub async fn set_status(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let (c, version) = to_change(&state, &caller, &id, &headers).await?;
    let id = c.id;
    let req: StatusChange = json_body(&headers, &body)?;
    let to: CampaignStatus = req.status.parse().map_err(|()| {
        ApiError::Invalid(vec![FieldProblem::new(
            "status",
            "must be one of draft, scheduled, active, paused, completed, archived",
        )])
    })?;
    // Checked here, before the transition, so a stale client learns that
    // its view is stale (412) rather than that a step it saw as allowed is
    // not (409).
    if version != c.version {
        return Err(ApiError::PreconditionFailed {
            current: etag(c.version),
        });
    }
    if !c.status.can_become(to) {
        return Err(illegal(c.status, to));
    }
    let c = updated(
        state
            .db
            .set_campaign_status(caller.tenant, id, version, to)
            .await?,
    )?;
    Ok(respond(StatusCode::OK, &c))
}

/// 409 for a step from `from` to `to`, naming the steps allowed from `from`.
fn illegal(from: CampaignStatus, to: CampaignStatus) -> ApiError {
    let allowed: Vec<&str> = from.next().iter().map(|s| s.as_str()).collect();
    let allowed = if allowed.is_empty() {
        "none".to_owned()
    } else {
        allowed.join(", ")
    };
    ApiError::Conflict {
        code: "illegal_transition",
        message: format!("a {from} campaign cannot become {to}; allowed: {allowed}"),
        errors: vec![FieldProblem::new("status", format!("allowed: {allowed}"))],
    }
}
