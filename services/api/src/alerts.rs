//! Alerting's resources: `/alert-channels` (where notifications go) and
//! `/alert-rules` (what fires them), both confined to the caller's tenant
//! and changed only by roles that manage campaigns.
//!
//! - [`channels`]: webhooks (Standard Webhooks signing, with a secret
//!   shown once and rotated with an overlap), Slack incoming webhooks and
//!   e-mail addresses; targets are checked against SSRF;
//! - [`rules`]: the rules, with ETags, validated by the domain
//!   (`adpulse_domain::alert`) and their message template compiled;
//! - [`deliveries`]: the delivery log (every attempt), dead letters and
//!   their replay, and each rule's firings.

pub mod channels;
pub mod deliveries;
pub mod rules;

use adpulse_domain::alert::Problem;
use axum::Router;
use axum::routing::{get, post};

use crate::AppState;
use crate::error::{ApiError, FieldProblem};

/// The domain's problems as the API's 422.
fn invalid(problems: Vec<Problem>) -> ApiError {
    ApiError::Invalid(
        problems
            .into_iter()
            .map(|p| FieldProblem::new(p.field, p.message))
            .collect(),
    )
}

/// An id from a path; one that is not a UUID names nothing (404).
fn path_id(raw: &str, what: &'static str) -> Result<uuid::Uuid, ApiError> {
    raw.parse().map_err(|_| ApiError::NotFound(what))
}

/// The routes of `/alert-channels` and `/alert-rules`.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/alert-channels",
            get(channels::list).post(channels::create),
        )
        .route(
            "/alert-channels/{id}",
            get(channels::get).delete(channels::delete),
        )
        .route("/alert-channels/{id}/rotate-secret", post(channels::rotate))
        .route("/alert-rules", get(rules::list).post(rules::create))
        .route(
            "/alert-rules/{id}",
            get(rules::get).put(rules::replace).delete(rules::delete),
        )
        .route("/alert-rules/{id}/firings", get(deliveries::firings))
        .route("/alert-deliveries", get(deliveries::list))
        .route("/alert-deliveries/{id}", get(deliveries::get))
        .route("/alert-deliveries/{id}/replay", post(deliveries::replay))
}
