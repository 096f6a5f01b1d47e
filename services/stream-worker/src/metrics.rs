//! The worker's metrics, named once. Exposed at `/metrics`.

use std::time::Duration;

/// Events applied to the sinks, per partition batch.
pub fn batch(events: usize) {
    metrics::histogram!("adpulse_worker_batch_events").record(events as f64);
    metrics::counter!("adpulse_worker_events_total", "outcome" => "applied")
        .increment(events as u64);
}

/// An event dropped as a resend of one already counted.
pub fn duplicate() {
    metrics::counter!("adpulse_worker_events_total", "outcome" => "duplicate").increment(1);
}

/// An event sent to the rejected topic (`reason`: a `Refusal` code:
/// too_old, undecodable, campaign_total_exceeded, sum_overflow,
/// unstorable).
pub fn rejected(reason: &'static str) {
    metrics::counter!("adpulse_worker_events_total", "outcome" => "rejected", "reason" => reason)
        .increment(1);
}

/// How long one sink took for one batch.
pub fn sink(name: &'static str, took: Duration, ok: bool) {
    metrics::histogram!("adpulse_worker_sink_duration_seconds", "sink" => name, "result" => if ok { "ok" } else { "error" })
        .record(took.as_secs_f64());
}

/// From the gateway accepting an event to its live counter being written.
pub fn freshness(seconds: f64) {
    metrics::histogram!("adpulse_worker_freshness_seconds").record(seconds);
}

/// A commit refused because another worker owns the partition now.
pub fn fenced(partition: i32) {
    metrics::counter!("adpulse_worker_fenced_total", "partition" => partition.to_string())
        .increment(1);
}

/// Records behind the partition's end.
pub fn lag(partition: i32, records: i64) {
    metrics::gauge!("adpulse_worker_lag_records", "partition" => partition.to_string())
        .set(records as f64);
}

/// Identity links written for frequency capping.
pub fn links_learned(n: usize) {
    metrics::counter!("adpulse_worker_links_learned_total").increment(n as u64);
}

/// A batch whose values the store refused, searched for the events it
/// refuses alone.
pub fn isolations() {
    metrics::counter!("adpulse_worker_isolations_total").increment(1);
}

/// HELP text for every series the stream worker writes.
pub fn describe() {
    // Descriptions given before the registry exists would be lost.
    let _ = adpulse_telemetry::prometheus();
    adpulse_resilience::describe();
    metrics::describe_histogram!(
        "adpulse_worker_batch_events",
        "Events applied to the sinks per partition batch."
    );
    metrics::describe_counter!(
        "adpulse_worker_events_total",
        "Events read, by outcome (applied, duplicate, rejected) and reason."
    );
    metrics::describe_histogram!(
        "adpulse_worker_sink_duration_seconds",
        metrics::Unit::Seconds,
        "Time one sink took for one batch, by sink and result."
    );
    metrics::describe_histogram!(
        "adpulse_worker_freshness_seconds",
        metrics::Unit::Seconds,
        "Time from the gateway accepting an event to its live counter being written."
    );
    metrics::describe_counter!(
        "adpulse_worker_fenced_total",
        "Commits refused because another worker owns the partition now."
    );
    metrics::describe_gauge!(
        "adpulse_worker_lag_records",
        "Records behind the end of each owned partition of the events stream."
    );
    metrics::describe_counter!(
        "adpulse_worker_links_learned_total",
        "Identity links written for frequency capping."
    );
    metrics::describe_counter!(
        "adpulse_worker_isolations_total",
        "Batches whose values the store refused, searched for the events it refuses alone."
    );
}
