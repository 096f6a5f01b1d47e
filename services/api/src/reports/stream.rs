//! `GET /campaigns/{id}/realtime/stream`: the realtime view as Server-Sent
//! Events, an `update` within half a second of a change.
//!
//! A browser's `EventSource` cannot send an `Authorization` header, so the
//! stream also opens with a signed URL (`POST …/realtime/stream-url`, five
//! minutes to connect); a stream opened that way ends after
//! [`SIGNED_STREAM_LIFETIME`] and the page reconnects with a fresh URL, so
//! a revoked login stops streaming within that time.
//!
//! The stream polls the live counters twice a second rather than
//! subscribing to them: a read is cheap, the counters have no change feed,
//! and polling keeps a stream's cost bounded whatever the event rate. An
//! unchanged view (same version, same number of points) sends nothing; a
//! comment every 15 seconds keeps proxies from closing an idle connection.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, RawQuery, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};

use futures_util::StreamExt as _;
use serde::Serialize;

use super::realtime::live;
use super::{owned, owned_by};
use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::http::query;
use crate::openapi::responses as r;
use crate::signed::{self, Signature};

/// How often the event stream looks for new numbers.
const STREAM_POLL: Duration = Duration::from_millis(500);

/// How long a stream opened with a signed URL lasts.
pub const SIGNED_STREAM_LIFETIME: Duration = Duration::from_secs(15 * 60);

/// The path of a campaign's live stream, as signed URLs name it.
fn stream_path(campaign: adpulse_domain::CampaignId) -> String {
    format!("/api/v1/campaigns/{campaign}/realtime/stream")
}

/// A signed URL to open a campaign's live stream with.
#[derive(Serialize, utoipa::ToSchema)]
pub struct StreamUrl {
    /// Open it with `EventSource`; no header needed.
    url: String,
    /// Seconds the URL can be used to connect.
    expires_in: u64,
}

/// `POST /campaigns/{id}/realtime/stream-url`: a signed URL for the live
/// stream, for browsers (an `EventSource` sends no `Authorization`).
#[utoipa::path(post, path = "/api/v1/campaigns/{id}/realtime/stream-url", tag = "reports", security(("bearer" = [])),
    params(("id" = String, Path, description = "the campaign")),
    responses((status = 200, description = "a signed URL of the live stream", body = StreamUrl),
        r::Unauthorized, r::NotFound, r::TooManyRequests, r::Unavailable))]
pub async fn stream_url(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let campaign = owned(&state, &caller, &id).await?;
    let url = state.signer.sign(
        &stream_path(campaign),
        None,
        caller.tenant,
        signed::stream_expiry(),
    )?;
    Ok((
        [(axum::http::header::CACHE_CONTROL, "no-store")],
        axum::Json(StreamUrl {
            url,
            expires_in: signed::STREAM_URL_TTL.as_secs(),
        }),
    )
        .into_response())
}

/// `GET /campaigns/{id}/realtime/stream`: `update` events with the live
/// view whenever it changes (looked at twice a second), and a comment every
/// 15 seconds to keep the connection open.
#[utoipa::path(get, path = "/api/v1/campaigns/{id}/realtime/stream", tag = "reports", security(("bearer" = [])),
    params(("id" = String, Path, description = "the campaign"), Signature),
    responses((status = 200, description = "Server-Sent Events; each `update` carries a realtime view", content_type = "text/event-stream"),
        r::Unauthorized, r::NotFound, r::Unavailable))]
pub async fn realtime_stream(
    State(state): State<AppState>,
    caller: Result<Caller, ApiError>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    // A signed URL (from `stream-url`) names its tenant; otherwise the
    // caller's token does.
    let (tenant, lifetime) = match raw.as_deref().filter(|q| !q.is_empty()) {
        Some(q) => {
            let s: Signature = query(Some(q))?;
            let path = stream_path(crate::campaigns::campaign_id(&id)?);
            (
                state.signer.check(&path, "", &s)?,
                Some(SIGNED_STREAM_LIFETIME),
            )
        }
        None => (caller?.tenant, None),
    };
    let campaign = owned_by(&state, tenant, &id).await?;
    if state.live.is_none() {
        return Err(ApiError::Unavailable);
    }
    // The stream's state: the app, the last view sent (its version and
    // length), and whether to wait before the next look (not before the
    // first, so a new subscriber gets the current view at once).
    let state_closing = std::sync::Arc::clone(&state.closing);
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
    // A signed stream ends after its lifetime, and every stream when the
    // process shuts down; the page reconnects.
    let mut closing = state_closing.subscribe();
    let ends = async move {
        let lived = async {
            match lifetime {
                Some(d) => tokio::time::sleep(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = lived => {}
            _ = closing.wait_for(|c| *c) => {}
        }
    };
    Ok(Sse::new(stream.take_until(ends))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response())
}
