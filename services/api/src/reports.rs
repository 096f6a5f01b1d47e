//! Reports for campaign managers and analysts (every role reads them), one
//! module per endpoint family:
//!
//! - [`realtime`]: `GET /campaigns/{id}/realtime`, live totals and the
//!   5-second series of the last hour, from the live counters (Redis);
//! - [`stream`]: `GET /campaigns/{id}/realtime/stream`, the same as
//!   Server-Sent Events, pushed within half a second of a change;
//! - [`campaign`]: `GET /campaigns/{id}/reports`, counts, sums, ratios and
//!   unique users by local hour or day or in total, by channel and/or
//!   event type, in the campaign's time zone unless `tz` names another;
//! - [`top`]: `GET /reports/campaigns`, the tenant's campaigns ranked over
//!   a range;
//! - [`export`]: `…/export?format=csv`, either report as a streamed CSV
//!   file;
//! - [`events`]: `GET /campaigns/{id}/events`, raw events of one day from
//!   the archive;
//!
//! and what they share: `query` parses and checks the query strings (the
//! JSON reports and their exports accept the same ones), `render` holds the
//! row shapes and the cached JSON answer.
//!
//! Unique users are a union of HyperLogLog sketches over each row's span,
//! never a sum of smaller spans' counts. Ratios whose denominator is zero
//! are null. Answers carry an ETag; ranges that include today are cacheable
//! for one second (the live freshness), past ranges for a minute (late
//! events can still land).

pub mod campaign;
pub mod events;
pub mod export;
mod query;
pub mod realtime;
pub mod render;
pub mod stream;
pub mod top;

use adpulse_domain::{CampaignId, TenantId};

use crate::AppState;
use crate::auth::Caller;
use crate::campaigns::campaign_id;
use crate::error::ApiError;

/// The caller's campaign `raw_id`; 404 when it is not theirs (or does not
/// exist: the two look the same).
async fn owned(state: &AppState, caller: &Caller, raw_id: &str) -> Result<CampaignId, ApiError> {
    owned_by(state, caller.tenant, raw_id).await
}

/// The campaign `raw_id` if `tenant` has it; 404 otherwise.
async fn owned_by(
    state: &AppState,
    tenant: TenantId,
    raw_id: &str,
) -> Result<CampaignId, ApiError> {
    Ok(state
        .db
        .campaign(tenant, campaign_id(raw_id)?)
        .await?
        .ok_or(ApiError::NotFound("campaign"))?
        .id)
}
