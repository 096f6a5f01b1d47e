//! The gateway's metrics, named once. Exposed at `/metrics`.

use std::time::Duration;

use adpulse_domain::ErrorCode;

/// `adpulse_gateway_requests_total{route,status}` and the request duration.
/// Labels are static strings, so the hot path allocates nothing for them.
pub fn request(route: &'static str, status: u16, took: Duration) {
    metrics::counter!("adpulse_gateway_requests_total", "route" => route, "status" => status_label(status)).increment(1);
    metrics::histogram!("adpulse_gateway_request_duration_seconds", "route" => route)
        .record(took.as_secs_f64());
}

/// The route label of a matched path: one of the gateway's routes, so label
/// values stay a small fixed set.
pub fn route_label(path: Option<&str>) -> &'static str {
    match path {
        Some("/v1/events") => "/v1/events",
        Some("/v1/events/batch") => "/v1/events/batch",
        Some("/v1/frequency/decide") => "/v1/frequency/decide",
        Some("/v1/frequency/decide/batch") => "/v1/frequency/decide/batch",
        Some("/v1/frequency/release") => "/v1/frequency/release",
        Some("/health/live") => "/health/live",
        Some("/health/ready") => "/health/ready",
        Some("/metrics") => "/metrics",
        Some(_) => "other",
        None => "unmatched",
    }
}

fn status_label(status: u16) -> &'static str {
    match status {
        200 => "200",
        202 => "202",
        400 => "400",
        401 => "401",
        404 => "404",
        405 => "405",
        408 => "408",
        413 => "413",
        415 => "415",
        422 => "422",
        429 => "429",
        500 => "500",
        503 => "503",
        _ => match status / 100 {
            1 => "1xx",
            2 => "2xx",
            3 => "3xx",
            4 => "4xx",
            _ => "5xx",
        },
    }
}

/// `adpulse_gateway_events_total{outcome="accepted"}`.
pub fn accepted(n: usize) {
    metrics::counter!("adpulse_gateway_events_total", "outcome" => "accepted", "reason" => "")
        .increment(n as u64);
}

/// `adpulse_gateway_events_total{outcome="rejected",reason=…}`.
pub fn rejected(reason: &'static str) {
    metrics::counter!("adpulse_gateway_events_total", "outcome" => "rejected", "reason" => reason)
        .increment(1);
}

/// A rejection reason as a label.
pub fn reason(code: ErrorCode) -> &'static str {
    code.as_str()
}

/// How long the event log took to acknowledge one request's records.
pub fn produce(took: Duration, ok: bool) {
    metrics::histogram!("adpulse_gateway_produce_duration_seconds", "result" => if ok { "ok" } else { "error" })
        .record(took.as_secs_f64());
}

/// Records handed to the producer and not yet acknowledged.
pub fn in_flight(n: usize) {
    metrics::gauge!("adpulse_gateway_producer_in_flight").set(n as f64);
}

/// A bad row that could not be written to the rejected topic.
pub fn bad_row_lost() {
    metrics::counter!("adpulse_gateway_bad_rows_lost_total").increment(1);
}

/// A row written to the rejected stream:
/// `adpulse_gateway_bad_rows_total{reason,kind}` (`kind`: `full`, one
/// refusal, or `summary`, a minute's count) and
/// `adpulse_gateway_bad_row_bytes_total{reason}` (its value's bytes).
/// Reasons are codes, a closed set; tenants are not labels (unbounded).
pub fn bad_row_written(reason: &'static str, kind: &'static str, bytes: usize) {
    metrics::counter!("adpulse_gateway_bad_rows_total", "reason" => reason, "kind" => kind)
        .increment(1);
    metrics::counter!("adpulse_gateway_bad_row_bytes_total", "reason" => reason)
        .increment(bytes as u64);
}

/// `adpulse_gateway_bad_rows_summarized_total{reason}`: a refusal past its
/// tenant's bound, counted in a summary row instead of kept.
pub fn bad_row_summarized(reason: &'static str) {
    metrics::counter!("adpulse_gateway_bad_rows_summarized_total", "reason" => reason).increment(1);
}

/// HELP text for every series the gateway (and its capping decisions) writes.
pub fn describe() {
    // Descriptions given before the registry exists would be lost.
    let _ = adpulse_telemetry::prometheus();
    adpulse_resilience::describe();
    metrics::describe_counter!(
        "adpulse_gateway_directory_stale_total",
        "Ingest keys (what=key) and campaigns (what=campaign) answered from the last directory answer seen, expired, because the directory failed or its breaker is open."
    );
    metrics::describe_counter!(
        "adpulse_gateway_requests_total",
        "Requests answered, by route and status."
    );
    metrics::describe_histogram!(
        "adpulse_gateway_request_duration_seconds",
        metrics::Unit::Seconds,
        "Time from a request's arrival to its answer, by route."
    );
    metrics::describe_counter!(
        "adpulse_gateway_events_total",
        "Events accepted (acknowledged by the event log) or rejected, by reason."
    );
    metrics::describe_histogram!(
        "adpulse_gateway_produce_duration_seconds",
        metrics::Unit::Seconds,
        "Time the event log took to acknowledge one request's records, by result."
    );
    metrics::describe_gauge!(
        "adpulse_gateway_producer_in_flight",
        "Records handed to the event log's producer and not yet acknowledged."
    );
    metrics::describe_counter!(
        "adpulse_gateway_bad_rows_lost_total",
        "Refused rows that could not be written to the rejected stream."
    );
    metrics::describe_counter!(
        "adpulse_gateway_bad_rows_total",
        "Refused rows written to the rejected stream, by reason and kind."
    );
    metrics::describe_counter!(
        "adpulse_gateway_bad_row_bytes_total",
        metrics::Unit::Bytes,
        "Bytes of refused rows written to the rejected stream, by reason."
    );
    metrics::describe_counter!(
        "adpulse_gateway_bad_rows_summarized_total",
        "Refused rows counted in a summary instead of written one by one (a tenant over its bound), by reason."
    );
    metrics::describe_gauge!(
        "adpulse_gateway_budget_stops",
        "Campaigns stopped by their budget, as last read."
    );
    metrics::describe_counter!(
        "adpulse_capping_decisions_total",
        "Frequency-capping decisions, by reason and whether they allowed the impression."
    );
    metrics::describe_counter!(
        "adpulse_capping_releases_total",
        "Capping reservations given back."
    );
    metrics::describe_counter!(
        "adpulse_capping_store_errors_total",
        "Failed calls to the capping counters' store, by operation."
    );
    metrics::describe_histogram!(
        "adpulse_capping_store_seconds",
        metrics::Unit::Seconds,
        "Time the capping counters' store took, by operation."
    );
    metrics::describe_counter!(
        "adpulse_capping_links_learned_total",
        "Identity links (a device id known to be a person's) written."
    );
}
