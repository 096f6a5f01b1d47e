//! Alerting's store: rules, channels and the delivery log as the API
//! manages them ([`AlertStore`], confined to one tenant; Postgres enforces
//! it with row-level security as for campaigns), and what the alerter
//! reads and records across tenants ([`AlertLedger`]).

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::alert::ledger::{
    AlertCampaign, AlertCommit, Attempt, DayBase, DeliveryRecord, DeliveryStatus, DueDelivery,
    FiringRecord, NextStep,
};
use crate::alert::{AlertState, ChannelDeleted, ChannelRecord, ChannelWrite, RuleRecord, RuleSpec};
use crate::budget::StoppedCampaign;
use crate::store::{Claim, StoreError, Updated};
use crate::{CampaignId, TenantId};

/// Rules and channels.
#[async_trait::async_trait]
pub trait AlertStore: Send + Sync {
    /// Creates a channel.
    async fn insert_channel(
        &self,
        tenant: TenantId,
        w: &ChannelWrite,
    ) -> Result<ChannelRecord, StoreError>;

    /// The tenant's channels, oldest first.
    async fn channels(&self, tenant: TenantId) -> Result<Vec<ChannelRecord>, StoreError>;

    /// One channel.
    async fn channel(
        &self,
        tenant: TenantId,
        id: Uuid,
    ) -> Result<Option<ChannelRecord>, StoreError>;

    /// Replaces a webhook's secret with `secret`, keeping the current one
    /// as the previous secret until `previous_until`; `None` if there is
    /// no such channel.
    async fn rotate_channel_secret(
        &self,
        tenant: TenantId,
        id: Uuid,
        secret: &str,
        previous_until: DateTime<Utc>,
    ) -> Result<Option<ChannelRecord>, StoreError>;

    /// Deletes a channel no rule notifies.
    async fn delete_channel(
        &self,
        tenant: TenantId,
        id: Uuid,
    ) -> Result<ChannelDeleted, StoreError>;

    /// Creates a rule (version 1).
    async fn insert_rule(
        &self,
        tenant: TenantId,
        spec: &RuleSpec,
    ) -> Result<RuleRecord, StoreError>;

    /// One rule.
    async fn rule(&self, tenant: TenantId, id: Uuid) -> Result<Option<RuleRecord>, StoreError>;

    /// A page of the tenant's rules in id order, after `after`.
    async fn rules(
        &self,
        tenant: TenantId,
        after: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<RuleRecord>, StoreError>;

    /// Replaces a rule's settings if it is at `version`.
    async fn update_rule(
        &self,
        tenant: TenantId,
        id: Uuid,
        version: i64,
        spec: &RuleSpec,
    ) -> Result<Updated<RuleRecord>, StoreError>;

    /// Deletes a rule if it is at `version`.
    async fn delete_rule(
        &self,
        tenant: TenantId,
        id: Uuid,
        version: i64,
    ) -> Result<Updated<()>, StoreError>;

    /// A page of the tenant's deliveries, newest first (ids are
    /// time-ordered), before `before`, of one rule and one status if
    /// given.
    async fn deliveries(
        &self,
        tenant: TenantId,
        rule: Option<Uuid>,
        status: Option<DeliveryStatus>,
        before: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<DeliveryRecord>, StoreError>;

    /// One delivery and its attempts, oldest first.
    async fn delivery(
        &self,
        tenant: TenantId,
        id: Uuid,
    ) -> Result<Option<(DeliveryRecord, Vec<Attempt>)>, StoreError>;

    /// Makes a dead delivery pending again, due now, with the same id (so
    /// a receiver that got it after all can tell); what it was before if
    /// it was not dead.
    async fn replay_delivery(&self, tenant: TenantId, id: Uuid) -> Result<Replayed, StoreError>;

    /// A page of a rule's firings and resolutions, newest first, before
    /// `before`.
    async fn firings(
        &self,
        tenant: TenantId,
        rule: Uuid,
        before: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<FiringRecord>, StoreError>;

    /// The campaign's budget stop, if one was recorded (in force or
    /// not: see [`StoppedCampaign::in_force`]).
    async fn budget_stop(
        &self,
        tenant: TenantId,
        campaign: CampaignId,
    ) -> Result<Option<StoppedCampaign>, StoreError>;
}

/// What became of a replay.
#[derive(Clone, Debug, PartialEq)]
pub enum Replayed {
    /// Pending again.
    Done(Box<DeliveryRecord>),
    /// No such delivery in the tenant.
    NotFound,
    /// Not a dead letter: its status.
    NotDead(DeliveryStatus),
}

/// What the alerter reads and records, across tenants (a system
/// session on Postgres).
#[async_trait::async_trait]
pub trait AlertLedger: super::Connected {
    /// Takes ownership of `partition` of the window-result `topic` for
    /// `group`, fencing earlier owners, and says where to resume (the
    /// worker's claims, in the same table).
    async fn claim_alerts(
        &self,
        group: &str,
        topic: &str,
        partition: i32,
    ) -> Result<Claim, StoreError>;

    /// The campaigns among `ids` as alerting sees them, in one read
    /// (deleted and unknown ones absent).
    async fn alert_campaigns(&self, ids: &[CampaignId]) -> Result<Vec<AlertCampaign>, StoreError>;

    /// The enabled rules of `tenants`, in one read, ordered by tenant and
    /// id.
    async fn enabled_rules(&self, tenants: &[TenantId]) -> Result<Vec<RuleRecord>, StoreError>;

    /// `campaign`'s lifetime totals and those of the local day of `zone`
    /// that starts at `day_start`, in one snapshot.
    async fn day_base(
        &self,
        campaign: CampaignId,
        zone: &str,
        day_start: DateTime<Utc>,
    ) -> Result<DayBase, StoreError>;

    /// The campaign's live-series points (5 seconds, by event time) from
    /// `since` on: what trailing spans are measured from when the
    /// alerter first sees a campaign.
    async fn recent_points(
        &self,
        campaign: CampaignId,
        since: DateTime<Utc>,
    ) -> Result<Vec<crate::aggregate::LivePoint>, StoreError>;

    /// The campaign's recorded budget stop, if any.
    async fn recorded_stop(
        &self,
        campaign: CampaignId,
    ) -> Result<Option<StoppedCampaign>, StoreError>;

    /// Every rule's stored state on `campaign`.
    async fn alert_states(
        &self,
        campaign: CampaignId,
    ) -> Result<Vec<(Uuid, AlertState)>, StoreError>;

    /// Writes `commit` (budget stops set or lifted too) and moves the claim's offset to `next_offset` (the
    /// same offset for a tick between results), in one transaction that
    /// writes nothing and answers `false` if another owner claimed the
    /// partition since.
    async fn commit_alerts(
        &self,
        claim: &mut Claim,
        next_offset: i64,
        commit: &AlertCommit,
    ) -> Result<bool, StoreError>;

    /// Up to `limit` pending deliveries due at `now` and not leased,
    /// leased until `until` to this caller (two alerters never send the
    /// same one at once; a lease that runs out makes it due again).
    async fn lease_deliveries(
        &self,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<DueDelivery>, StoreError>;

    /// Records an attempt of a leased delivery and what it leads to, and
    /// ends the lease.
    async fn record_attempt(
        &self,
        id: Uuid,
        attempt: &Attempt,
        next: NextStep,
    ) -> Result<(), StoreError>;
}
