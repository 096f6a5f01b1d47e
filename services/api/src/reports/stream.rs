//! `GET /campaigns/{id}/realtime/stream`: the realtime view as Server-Sent
//! Events, an `update` within half a second of a change.
//!
//! The stream polls the live counters twice a second rather than
//! subscribing to them: a read is cheap, the counters have no change feed,
//! and polling keeps a stream's cost bounded whatever the event rate. An
//! unchanged view (same version, same number of points) sends nothing; a
//! comment every 15 seconds keeps proxies from closing an idle connection.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};

use super::owned;
use super::realtime::live;
use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::openapi::responses as r;

/// How often the event stream looks for new numbers.
const STREAM_POLL: Duration = Duration::from_millis(500);

/// `GET /campaigns/{id}/realtime/stream`: `update` events with the live
/// view whenever it changes (looked at twice a second), and a comment every
/// 15 seconds to keep the connection open.
#[utoipa::path(get, path = "/api/v1/campaigns/{id}/realtime/stream", tag = "reports", security(("bearer" = [])),
    params(("id" = String, Path, description = "the campaign")),
    responses((status = 200, description = "Server-Sent Events; each `update` carries a realtime view", content_type = "text/event-stream"),
        r::Unauthorized, r::NotFound, r::Unavailable))]
pub async fn realtime_stream(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let campaign = owned(&state, &caller, &id).await?;
    if state.live.is_none() {
        return Err(ApiError::Unavailable);
    }
    // The stream's state: the app, the last view sent (its version and
    // length), and whether to wait before the next look (not before the
    // first, so a new subscriber gets the current view at once).
    let stream = futures_util::stream::unfold(
        (state, None::<(i64, usize)>, false),
        move |(state, last, wait_first)| async move {
            let mut wait = wait_first;
            loop {
                if wait {
                    tokio::time::sleep(STREAM_POLL).await;
                }
                wait = true;
                let Ok(view) = live(&state, campaign).await else {
                    // Redis is away: say so, and keep trying.
                    let event = Event::default()
                        .event("unavailable")
                        .data("live counters unavailable");
                    return Some((Ok::<_, Infallible>(event), (state, last, true)));
                };
                let mark = (view.version, view.series.len());
                if last == Some(mark) {
                    continue;
                }
                let data = serde_json::to_string(&view).unwrap_or_default();
                let event = Event::default()
                    .event("update")
                    .id(view.version.to_string())
                    .data(data);
                return Some((Ok(event), (state, Some(mark), true)));
            }
        },
    );
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response())
}
