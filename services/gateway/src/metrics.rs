//! The gateway's metrics, named once. Exposed at `/metrics`.

use std::time::Duration;

use adpulse_domain::ErrorCode;

/// `adpulse_gateway_requests_total{route,status}` and the request duration.
pub fn request(route: &str, status: u16, took: Duration) {
    metrics::counter!("adpulse_gateway_requests_total", "route" => route.to_owned(), "status" => status.to_string())
        .increment(1);
    metrics::histogram!("adpulse_gateway_request_duration_seconds", "route" => route.to_owned())
        .record(took.as_secs_f64());
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
