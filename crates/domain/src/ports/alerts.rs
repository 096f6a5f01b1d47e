//! Alert rules and their notification channels, as the API manages them
//! (and, from the next slice on, what the alerter reads and records).
//! Everything is confined to one tenant; Postgres enforces it with
//! row-level security as for campaigns.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::TenantId;
use crate::alert::{ChannelDeleted, ChannelRecord, ChannelWrite, RuleRecord, RuleSpec};
use crate::store::{StoreError, Updated};

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
}
