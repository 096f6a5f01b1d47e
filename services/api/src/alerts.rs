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
use uuid::Uuid;

use crate::AppState;
use crate::cursor::{self, Listing};
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

/// A listing's limit (1 to 200, default 50) and the id its cursor
/// continues from, adding the fields it got wrong to `problems`.
pub(crate) fn paging(
    listing: Listing,
    limit: Option<i64>,
    cursor: Option<&str>,
    problems: &mut Vec<FieldProblem>,
) -> (i64, Option<Uuid>) {
    let limit = limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        problems.push(FieldProblem::new("limit", "must be 1 to 200"));
    }
    let before = cursor.and_then(|c| {
        let k = cursor::decode::<Uuid>(listing, c);
        if k.is_none() {
            problems.push(cursor::problem());
        }
        k
    });
    (limit, before)
}

/// `rows` (one more than `limit` asked) as a page and its next cursor.
pub(crate) fn page<T>(
    mut rows: Vec<T>,
    limit: i64,
    listing: Listing,
    id: impl Fn(&T) -> Uuid,
) -> (Vec<T>, Option<String>) {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let more = rows.len() > limit;
    rows.truncate(limit);
    let next = more
        .then(|| rows.last().map(|r| cursor::encode(listing, id(r))))
        .flatten();
    (rows, next)
}
