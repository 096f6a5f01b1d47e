//! The alerter's metrics, one function per event (names and labels in
//! one place).
//!
//! - `adpulse_alerter_results_total{outcome}`: window results read
//!   (`evaluated`, `stale`, `replayed`, `undecodable`, `unknown_campaign`);
//! - `adpulse_alerter_evaluations_total`: rule evaluations;
//! - `adpulse_alerter_transitions_total{kind}`: firings and resolutions;
//! - `adpulse_alerter_commit_seconds`, `adpulse_alerter_fenced_total`;
//! - `adpulse_alerter_refresh_seconds`: one refresh of what is known of
//!   the watched campaigns (beside the evaluating loop);
//! - `adpulse_alerter_deliveries_total{channel,outcome}` (`sent`, `retry`,
//!   `dead`, `held_by_breaker`), `adpulse_alerter_delivery_seconds{channel}`,
//!   `adpulse_alerter_breaker_opened_total{channel}`.

use std::time::Duration;

use adpulse_domain::alert::ChannelKind;
use adpulse_domain::alert::ledger::NextStep;

use crate::evaluate::Pass;

/// A window result read, and what became of it.
pub fn result(outcome: &'static str) {
    metrics::counter!("adpulse_alerter_results_total", "outcome" => outcome).increment(1);
}

/// One pass over a campaign's rules.
pub fn pass(p: Pass) {
    metrics::counter!("adpulse_alerter_evaluations_total").increment(p.evaluated);
    metrics::counter!("adpulse_alerter_transitions_total", "kind" => "fired").increment(p.fired);
    metrics::counter!("adpulse_alerter_transitions_total", "kind" => "resolved")
        .increment(p.resolved);
}

/// A commit of states, history and deliveries.
pub fn commit(took: Duration, fenced: bool) {
    metrics::histogram!("adpulse_alerter_commit_seconds").record(took.as_secs_f64());
    if fenced {
        metrics::counter!("adpulse_alerter_fenced_total").increment(1);
    }
}

/// One refresh of the watched campaigns, their rules and day bases.
pub fn refresh(took: Duration) {
    metrics::histogram!("adpulse_alerter_refresh_seconds").record(took.as_secs_f64());
}

/// One delivery attempt.
pub fn attempt(kind: ChannelKind, next: &NextStep, took: Duration) {
    let outcome = match next {
        NextStep::Sent => "sent",
        NextStep::RetryAt(_) => "retry",
        NextStep::Dead => "dead",
    };
    metrics::counter!("adpulse_alerter_deliveries_total", "channel" => kind.as_str(), "outcome" => outcome)
        .increment(1);
    metrics::histogram!("adpulse_alerter_delivery_seconds", "channel" => kind.as_str())
        .record(took.as_secs_f64());
}

/// A delivery not attempted because its destination's breaker is open.
pub fn held_by_breaker(kind: ChannelKind) {
    metrics::counter!("adpulse_alerter_deliveries_total", "channel" => kind.as_str(), "outcome" => "held_by_breaker")
        .increment(1);
}

/// A destination's breaker opened.
pub fn breaker_opened(kind: ChannelKind) {
    metrics::counter!("adpulse_alerter_breaker_opened_total", "channel" => kind.as_str())
        .increment(1);
}

/// HELP text for every series the alerter writes.
pub fn describe() {
    // Descriptions given before the registry exists would be lost.
    let _ = adpulse_telemetry::prometheus();
    metrics::describe_counter!(
        "adpulse_alerter_results_total",
        "Window results read, by outcome (evaluated, stale, replayed, undecodable, unknown_campaign)."
    );
    metrics::describe_counter!("adpulse_alerter_evaluations_total", "Rule evaluations.");
    metrics::describe_counter!(
        "adpulse_alerter_transitions_total",
        "Alert firings and resolutions, by kind."
    );
    metrics::describe_histogram!(
        "adpulse_alerter_commit_seconds",
        metrics::Unit::Seconds,
        "Time one commit of states, history and deliveries took."
    );
    metrics::describe_counter!(
        "adpulse_alerter_fenced_total",
        "Commits refused because another alerter owns the partition now."
    );
    metrics::describe_histogram!(
        "adpulse_alerter_refresh_seconds",
        metrics::Unit::Seconds,
        "Time one refresh of the watched campaigns, their rules and day bases took."
    );
    metrics::describe_counter!(
        "adpulse_alerter_deliveries_total",
        "Notification delivery attempts, by channel and outcome (sent, retry, dead, held_by_breaker)."
    );
    metrics::describe_histogram!(
        "adpulse_alerter_delivery_seconds",
        metrics::Unit::Seconds,
        "Time one delivery attempt took, by channel."
    );
    metrics::describe_counter!(
        "adpulse_alerter_breaker_opened_total",
        "Times a destination's circuit breaker opened, by channel."
    );
}
