//! The API's metrics, named once. Exposed at `/metrics`.

use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;

/// One request: its route template (not the raw path, so ids do not
/// multiply series), method and status class.
fn record(route: String, method: String, status: u16, took: Duration) {
    metrics::histogram!(
        "adpulse_api_request_duration_seconds",
        "route" => route.clone(),
        "method" => method.clone()
    )
    .record(took.as_secs_f64());
    metrics::counter!(
        "adpulse_api_requests_total",
        "route" => route,
        "method" => method,
        "status" => status.to_string()
    )
    .increment(1);
}

/// A login attempt (`outcome`: ok, refused, limited).
pub fn login(outcome: &'static str) {
    metrics::counter!("adpulse_api_logins_total", "outcome" => outcome).increment(1);
}

/// Records every request's route, method, status and duration, in a span
/// per request (continuing the caller's trace when it sends one).
pub async fn track(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let span = tracing::info_span!(
        "request",
        method = %method,
        route = %route,
        status = tracing::field::Empty
    );
    adpulse_telemetry::adopt_remote_parent(&span, request.headers());
    let response = tracing::Instrument::instrument(next.run(request), span.clone()).await;
    span.record("status", response.status().as_u16());
    record(route, method, response.status().as_u16(), started.elapsed());
    response
}

/// HELP text for every series the API writes.
pub fn describe() {
    // Descriptions given before the registry exists would be lost.
    let _ = adpulse_telemetry::prometheus();
    adpulse_resilience::describe();
    metrics::describe_counter!(
        "adpulse_api_requests_total",
        "Requests answered, by route template, method and status code."
    );
    metrics::describe_histogram!(
        "adpulse_api_request_duration_seconds",
        metrics::Unit::Seconds,
        "Time from a request's arrival to its answer, by route template and method."
    );
    metrics::describe_counter!(
        "adpulse_api_logins_total",
        "Login attempts, by outcome (ok, refused, limited)."
    );
    metrics::describe_counter!(
        "adpulse_api_assets_uploaded_total",
        "Creative files stored."
    );
}
