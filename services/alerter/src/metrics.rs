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
