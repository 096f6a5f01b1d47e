//! `/campaigns`: list, create, read, replace, patch, delete (soft), the
//! status state machine and targeting, all confined to the caller's tenant,
//! with ETags for optimistic concurrency. One module per concern:
//!
//! - [`list`]: the listing, with `filters` (its query, checks, sort and
//!   pagination);
//! - [`resource`]: create, read, replace, merge-patch, delete;
//! - [`body`]: the campaign as clients write it, and its validation;
//! - [`view`]: the campaign as the API answers it;
//! - [`status`]: lifecycle steps;
//! - [`targeting`]: who a campaign reaches.
//!
//! What every change shares is here: the role check, the read of the
//! current version and its `If-Match`, whether the campaign may still be
//! edited, and what the store's conditional update came to.

pub mod body;
mod filters;
pub mod list;
pub mod resource;
pub mod status;
pub mod targeting;
pub mod view;

use adpulse_domain::CampaignId;
use adpulse_domain::store::{CampaignRecord, Updated};
use axum::http::HeaderMap;

pub use body::OBJECTIVES;

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::http::{etag, if_match};

/// A campaign id from a path; one that is not a UUID names no campaign
/// (404, like any other unknown id).
pub(crate) fn campaign_id(raw: &str) -> Result<CampaignId, ApiError> {
    raw.parse::<uuid::Uuid>()
        .map(CampaignId::from_uuid)
        .map_err(|_| ApiError::NotFound("campaign"))
}

/// What a conditional change came to: the changed campaign, 404, or 412
/// with the current ETag when another change got there first.
fn updated(u: Updated) -> Result<CampaignRecord, ApiError> {
    match u {
        Updated::Done(c) => Ok(*c),
        Updated::NotFound => Err(ApiError::NotFound("campaign")),
        Updated::Conflict(current) => Err(ApiError::PreconditionFailed {
            current: etag(current),
        }),
    }
}

async fn current(
    state: &AppState,
    caller: &Caller,
    id: CampaignId,
) -> Result<CampaignRecord, ApiError> {
    state
        .db
        .campaign(caller.tenant, id)
        .await?
        .ok_or(ApiError::NotFound("campaign"))
}

/// The campaign a change targets, read for the caller (whose role is
/// checked first), and the version its `If-Match` names.
async fn to_change(
    state: &AppState,
    caller: &Caller,
    raw_id: &str,
    headers: &HeaderMap,
) -> Result<(CampaignRecord, i64), ApiError> {
    caller.must_manage_campaigns()?;
    let c = current(state, caller, campaign_id(raw_id)?).await?;
    let version = if_match(headers, c.version)?;
    Ok((c, version))
}

/// 409 `not_editable` for a completed or archived campaign.
fn editable(c: &CampaignRecord) -> Result<(), ApiError> {
    if c.status.editable() {
        Ok(())
    } else {
        Err(ApiError::Conflict {
            code: "not_editable",
            message: format!("a {} campaign cannot be edited", c.status),
            errors: Vec::new(),
        })
    }
}
