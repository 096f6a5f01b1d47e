//! What the alerter records: rules' states per campaign, the history of
//! firings and resolutions, and the outbox of deliveries with every
//! attempt. States, history and new deliveries are written in one
//! transaction with the alerter's position on the window-result stream
//! (fenced like the worker's commits), so a restarted or rebalanced
//! alerter neither repeats nor loses a notification.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::destination::ChannelKind;
use super::state::AlertState;
use crate::aggregate::Counts;
use crate::budget::{BudgetLimits, StoppedCampaign};
use crate::{CampaignId, CampaignStatus, TenantId};

/// What the alerter needs to know of a campaign.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertCampaign {
    /// The campaign.
    pub id: CampaignId,
    /// Its tenant.
    pub tenant: TenantId,
    /// Its name, for messages.
    pub name: String,
    /// Its brand, for brand-scoped rules.
    pub brand_id: Option<String>,
    /// IANA zone of its days.
    pub timezone: String,
    /// Its budget.
    pub budget: BudgetLimits,
    /// Its status.
    pub status: CampaignStatus,
}

/// A rule's new state on a campaign.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateWrite {
    /// The rule.
    pub rule: Uuid,
    /// The campaign.
    pub campaign: CampaignId,
    /// The tenant (both belong to it).
    pub tenant: TenantId,
    /// The state.
    pub state: AlertState,
}

/// A firing or a resolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FiringKind {
    /// The rule fired.
    Fired,
    /// It resolved.
    Resolved,
}

impl FiringKind {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fired => "fired",
            Self::Resolved => "resolved",
        }
    }
}

/// One firing or resolution, kept as history whether notified or not.
#[derive(Clone, Debug, PartialEq)]
pub struct FiringRecord {
    /// Its id (time-ordered).
    pub id: Uuid,
    /// The rule.
    pub rule: Uuid,
    /// The campaign.
    pub campaign: CampaignId,
    /// The tenant.
    pub tenant: TenantId,
    /// Fired or resolved.
    pub kind: FiringKind,
    /// When (the window result's time, or the evaluator's clock).
    pub at: DateTime<Utc>,
    /// Whether it was notified (not within a cooldown).
    pub notified: bool,
    /// The rendered message.
    pub message: String,
    /// The values seen: `[{metric, over, op, threshold, value}]`.
    pub values: serde_json::Value,
}

/// Where a delivery stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Waiting for its first attempt or its next retry.
    Pending,
    /// The destination accepted it.
    Sent,
    /// Every attempt failed; kept as a dead letter until replayed.
    Dead,
}

impl DeliveryStatus {
    /// Every status.
    pub const ALL: [Self; 3] = [Self::Pending, Self::Sent, Self::Dead];

    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sent => "sent",
            Self::Dead => "dead",
        }
    }
}

impl std::str::FromStr for DeliveryStatus {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        Self::ALL.into_iter().find(|k| k.as_str() == s).ok_or(())
    }
}

/// A notification to one channel (the outbox row). Its id is the
/// idempotency key receivers see (`webhook-id`): retries and replays send
/// the same one.
#[derive(Clone, Debug, PartialEq)]
pub struct DeliveryRecord {
    /// The idempotency key.
    pub id: Uuid,
    /// What it notifies.
    pub firing: Uuid,
    /// The rule.
    pub rule: Uuid,
    /// The channel.
    pub channel: Uuid,
    /// The tenant.
    pub tenant: TenantId,
    /// Where it stands.
    pub status: DeliveryStatus,
    /// Attempts made.
    pub attempts: i32,
    /// When the next attempt is due (pending only).
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The last attempt's error.
    pub last_error: Option<String>,
    /// The JSON sent (webhooks; Slack and e-mail are made from it).
    pub payload: serde_json::Value,
    /// Created (with its firing).
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// A delivery due now, leased to one alerter, with what sending needs.
#[derive(Clone, Debug, PartialEq)]
pub struct DueDelivery {
    /// The delivery.
    pub delivery: DeliveryRecord,
    /// The channel's kind.
    pub kind: ChannelKind,
    /// Its target.
    pub target: String,
    /// Signing secrets, current first (webhooks; the previous one while
    /// its overlap lasts).
    pub secrets: Vec<String>,
}

/// How one attempt went.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Attempt {
    /// Which (1 for the first).
    pub number: i32,
    /// When it started.
    pub at: DateTime<Utc>,
    /// The HTTP status, if one came back.
    pub status_code: Option<i32>,
    /// Why it failed; `None` if it was accepted.
    pub error: Option<String>,
    /// How long it took.
    pub duration_ms: i64,
}

/// What an attempt leads to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NextStep {
    /// Accepted: done.
    Sent,
    /// Try again at this time.
    RetryAt(DateTime<Utc>),
    /// No more tries: a dead letter.
    Dead,
}

/// A campaign's budget stop set or lifted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StopWrite {
    /// The campaign.
    pub campaign: CampaignId,
    /// Its tenant.
    pub tenant: TenantId,
    /// The stop, or `None`: lifted.
    pub stop: Option<StoppedCampaign>,
}

/// A campaign's totals split at the start of a local day, read in one
/// snapshot: today's counts are then the lifetime counts less `before`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DayBase {
    /// Lifetime totals.
    pub lifetime: Counts,
    /// The totals of the local day (events that occurred in it).
    pub day: Counts,
}

impl DayBase {
    /// What occurred before the day.
    pub fn before(&self) -> Counts {
        self.lifetime.less(self.day)
    }
}

/// What one evaluation step writes, with the stream position, in one
/// transaction.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AlertCommit {
    /// Budget stops set or lifted.
    pub stops: Vec<StopWrite>,
    /// New states.
    pub states: Vec<StateWrite>,
    /// History.
    pub firings: Vec<FiringRecord>,
    /// New deliveries (status pending, due now).
    pub deliveries: Vec<DeliveryRecord>,
}

impl AlertCommit {
    /// Whether there is nothing to write but the position.
    pub fn is_empty(&self) -> bool {
        self.stops.is_empty()
            && self.states.is_empty()
            && self.firings.is_empty()
            && self.deliveries.is_empty()
    }
}
