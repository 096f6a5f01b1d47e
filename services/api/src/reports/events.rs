//! `GET /campaigns/{id}/events`: a campaign's raw events of one UTC day
//! from the archive (CQL `campaign_events`, one partition per campaign and
//! day, newest first), a page at a time.
//!
//! Pages continue from the last row's `(occurred_at, event_id)`, a keyset
//! within the day's partition: a forged cursor can only move within the
//! caller's own campaign and day, never into another partition.

use adpulse_domain::archive::EventCursor;
use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::owned;
use super::query::day;
use crate::AppState;
use crate::auth::Caller;
use crate::cursor::{self, Listing};
use crate::error::{ApiError, FieldProblem};
use crate::http::query;
use crate::openapi::responses as r;

/// One raw event.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EventOut {
    /// The sender's id.
    pub event_id: String,
    /// Impression, click or conversion.
    #[serde(rename = "type")]
    pub event_type: String,
    /// The channel.
    pub channel: String,
    /// The creative.
    pub ad_id: String,
    /// When it happened.
    pub occurred_at: String,
    /// When adpulse received it.
    pub ingested_at: Option<String>,
    /// The user's ids as sent (absent ones omitted).
    pub user: serde_json::Map<String, serde_json::Value>,
    /// Cost (micros).
    pub cost_micros: i64,
    /// Revenue (micros).
    pub revenue_micros: i64,
    /// Free-form dimensions.
    pub attributes: std::collections::BTreeMap<String, String>,
}

/// A page of raw events.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EventsOut {
    /// The UTC day listed.
    pub date: String,
    /// Newest first.
    pub events: Vec<EventOut>,
    /// Pass as `cursor` for the next page; null on the last.
    pub next_cursor: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EventsQuery {
    date: Option<String>,
    limit: Option<i32>,
    cursor: Option<String>,
}

/// The cursor after `c`: its time in milliseconds (the archive's
/// precision) and its id.
fn encode_cursor(c: &EventCursor) -> String {
    cursor::encode(
        Listing::Events,
        (c.occurred_at.timestamp_millis(), c.event_id),
    )
}

fn decode_cursor(raw: &str) -> Option<EventCursor> {
    let (ms, event_id): (i64, Uuid) = cursor::decode(Listing::Events, raw)?;
    Some(EventCursor {
        occurred_at: DateTime::from_timestamp_millis(ms)?,
        event_id,
    })
}

/// A checked query: the day, the page size, and where to continue.
struct Ask {
    date: NaiveDate,
    limit: i32,
    after: Option<EventCursor>,
}

/// Checks every parameter, all problems at once.
fn ask(q: EventsQuery) -> Result<Ask, ApiError> {
    let mut problems = Vec::new();
    let date = match q.date.as_deref() {
        None => Utc::now().date_naive(),
        Some(s) => day(s).unwrap_or_else(|| {
            problems.push(FieldProblem::new("date", "must be a date, YYYY-MM-DD"));
            NaiveDate::default()
        }),
    };
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        problems.push(FieldProblem::new("limit", "must be 1 to 1000"));
    }
    let after = match q.cursor.as_deref() {
        None => None,
        Some(c) => {
            let after = decode_cursor(c);
            if after.is_none() {
                problems.push(cursor::problem());
            }
            after
        }
    };
    if !problems.is_empty() {
        return Err(ApiError::Invalid(problems));
    }
    Ok(Ask { date, limit, after })
}

fn event_out(e: adpulse_domain::archive::ArchivedEvent) -> EventOut {
    let mut user = serde_json::Map::new();
    for (k, v) in [
        ("device_id", e.device_id),
        ("cookie_id", e.cookie_id),
        ("login_id", e.login_id),
        ("email_sha256", e.email_sha256),
    ] {
        if let Some(v) = v {
            user.insert(k.into(), v.into());
        }
    }
    EventOut {
        event_id: e.event_id.to_string(),
        event_type: e.event_type,
        channel: e.channel,
        ad_id: e.ad_id,
        occurred_at: e.occurred_at.to_rfc3339_opts(SecondsFormat::Millis, true),
        ingested_at: e
            .ingested_at
            .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true)),
        user,
        cost_micros: e.cost_micros,
        revenue_micros: e.revenue_micros,
        attributes: e.attributes,
    }
}

/// `GET /campaigns/{id}/events`: raw events of one UTC day from the
/// archive, newest first, a page at a time.
#[utoipa::path(get, path = "/api/v1/campaigns/{id}/events", tag = "reports", security(("bearer" = [])),
    params(("id" = String, Path, description = "the campaign"),
        ("date" = Option<String>, Query, description = "the UTC day, YYYY-MM-DD; today by default"),
        ("limit" = Option<i32>, Query, description = "1 to 1000, default 100"),
        ("cursor" = Option<String>, Query, description = "next_cursor of the previous page")),
    responses((status = 200, description = "a page of events", body = EventsOut),
        r::BadRequest, r::Unauthorized, r::NotFound, r::Unprocessable, r::Unavailable))]
pub async fn events(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let q: EventsQuery = query(raw.as_deref())?;
    let campaign = owned(&state, &caller, &id).await?;
    let Ask { date, limit, after } = ask(q)?;
    let archive = state.archive.as_ref().ok_or(ApiError::Unavailable)?;
    let page = archive
        .campaign_events(campaign, date, after, limit)
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "archive read failed");
            ApiError::Unavailable
        })?;
    // A full page may have more after it; a short one is the last.
    let next_cursor = (page.len() == usize::try_from(limit).unwrap_or(0))
        .then(|| page.last())
        .flatten()
        .map(|e| {
            encode_cursor(&EventCursor {
                occurred_at: e.occurred_at,
                event_id: e.event_id,
            })
        });
    let tenant = *caller.tenant.as_uuid();
    let events = page
        .into_iter()
        // The campaign is the caller's (checked above); rows name their
        // tenant too, and only those are shown.
        .filter(|e| e.tenant_id == tenant)
        .map(event_out)
        .collect();
    Ok((
        [(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-store"),
        )],
        Json(EventsOut {
            date: date.to_string(),
            events,
            next_cursor,
        }),
    )
        .into_response())
}
