//! Alerts: rules that watch campaigns' metrics and notify people.
//!
//! - [`condition`]: what a rule watches (metrics over spans, AND/OR
//!   groups, the budget stop), read from JSON with a path per problem;
//! - [`sample`]: a campaign's counts at one moment, and the metrics
//!   derived from them;
//! - [`state`]: pending, firing, resolved, and the cooldown;
//! - [`rule`]: a rule as its owner writes it;
//! - [`message`]: the message template, sandboxed;
//! - [`ledger`]: what the alerter records (states, history, the outbox);
//! - [`destination`]: channels' targets, and the addresses notifications
//!   may never reach.
//!
//! Pure, like the rest of the domain: the evaluator (`adpulse alerter`)
//! feeds it samples and a clock and persists what it returns.

pub mod condition;
pub mod destination;
pub mod ledger;
pub mod message;
pub mod record;
pub mod rule;
pub mod sample;
pub mod state;

pub use condition::{Comparison, Condition, Metric, Observed, Op, Over, StopKind};
pub use destination::{ChannelKind, check_ip, check_target};
pub use record::{ChannelDeleted, ChannelRecord, ChannelWrite, RuleRecord};
pub use rule::{RuleBody, RuleSpec, Scope};
pub use sample::Sample;
pub use state::{AlertState, Phase, Timing, Transition};

/// A problem with one field of a rule or channel, for the API's error
/// body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The field's path (`condition.any[1].op`).
    pub field: String,
    /// What is wrong, for people.
    pub message: String,
}

impl Problem {
    /// A problem with `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}
