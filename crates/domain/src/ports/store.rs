//! The relational store, split by capability: what the stream worker
//! commits ([`AggregateSink`]), what reports read ([`ReportSource`]), what
//! the API manages ([`UserStore`], [`CampaignStore`], [`CreativeStore`])
//! and what the admin tools create ([`TenantAdmin`]). Postgres implements
//! every one in production (row-level security per tenant), SQLite in
//! `adpulse up`; the conformance suites in `crates/backends/tests` hold both
//! to the same answers.
//!
//! A service holds only the capabilities it uses: the worker an
//! `Arc<dyn AggregateSink>`, the gateway an `Arc<dyn Directory>`, the API
//! the whole [`Store`].

use std::future::Future;
use std::ops::ControlFlow;
use std::pin::Pin;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{AlertLedger, AlertStore, Directory};
use crate::aggregate::{AggregateBatch, CampaignTotals, LivePoint};
use crate::report::ReportRow;
use crate::store::{
    CampaignFilter, CampaignRecord, CampaignReport, CampaignSort, CampaignWrite, Claim, Commit,
    CreativeFilter, CreativeRecord, IngestKeyInfo, NewIngestKey, Page, RankedCampaign, Rotation,
    StoreError, TopCampaigns, Updated, UserRecord,
};
use crate::{CampaignId, CampaignStatus, Role, TenantId};

/// Where a streamed read hands its rows, one at a time; the future it
/// returns is awaited before the next row is read (so a slow consumer holds
/// the query back), and [`ControlFlow::Break`] ends the read early.
pub type Each<'a, T> =
    &'a mut (dyn FnMut(T) -> Pin<Box<dyn Future<Output = ControlFlow<()>> + Send>> + Send);

/// A connection pool that can be checked and closed.
#[async_trait::async_trait]
pub trait Connected: Send + Sync {
    /// Whether the store answers (for readiness probes).
    async fn ping(&self) -> Result<(), StoreError>;

    /// Closes every connection (waits for those in use).
    async fn close(&self);
}

/// What the stream worker commits: partition claims, aggregates with their
/// offsets in one transaction, and the totals live counters are rebuilt
/// from.
#[async_trait::async_trait]
pub trait AggregateSink: Connected {
    /// Takes ownership of `partition` of `topic` for consumer `group`,
    /// fencing every earlier owner (its epoch is bumped), and says where to
    /// resume.
    async fn claim_partition(
        &self,
        group: &str,
        topic: &str,
        partition: i32,
    ) -> Result<Claim, StoreError>;

    /// Applies `batch` and moves the claim's offset to `next_offset`, in
    /// one transaction that fails with [`Commit::Fenced`] if another owner
    /// claimed the partition since.
    async fn commit_batch(
        &self,
        claim: &mut Claim,
        next_offset: i64,
        batch: &AggregateBatch,
    ) -> Result<Commit, StoreError>;

    /// Records applied so far over every partition of `topic`.
    async fn applied_offsets(&self, group: &str, topic: &str) -> Result<i64, StoreError>;

    /// Campaigns with events in day buckets from `since` on.
    async fn campaigns_active_since(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<CampaignId>, StoreError>;

    /// Lifetime and today's (campaign's zone) totals of `campaigns`.
    async fn campaign_totals(
        &self,
        campaigns: &[CampaignId],
    ) -> Result<Vec<CampaignTotals>, StoreError>;

    /// The live series of `campaigns` from `since` on.
    async fn live_series(
        &self,
        campaigns: &[CampaignId],
        since: DateTime<Utc>,
    ) -> Result<Vec<LivePoint>, StoreError>;

    /// Deletes live-series points older than `before`; how many.
    async fn prune_live_series(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;
}

/// Historical reports, always within one tenant.
#[async_trait::async_trait]
pub trait ReportSource: Send + Sync {
    /// One campaign's report rows.
    async fn campaign_report(
        &self,
        tenant: TenantId,
        q: &CampaignReport,
    ) -> Result<Vec<ReportRow>, StoreError>;

    /// [`ReportSource::campaign_report`] handed to `each` row by row
    /// (constant memory on Postgres, which streams; SQLite hands over rows
    /// it read).
    async fn campaign_report_each(
        &self,
        tenant: TenantId,
        q: &CampaignReport,
        each: Each<'_, ReportRow>,
    ) -> Result<(), StoreError>;

    /// The tenant's campaigns ranked over a range.
    async fn top_campaigns(
        &self,
        tenant: TenantId,
        q: &TopCampaigns,
    ) -> Result<Vec<RankedCampaign>, StoreError>;

    /// [`ReportSource::top_campaigns`] handed to `each` one at a time.
    async fn top_campaigns_each(
        &self,
        tenant: TenantId,
        q: &TopCampaigns,
        each: Each<'_, RankedCampaign>,
    ) -> Result<(), StoreError>;
}

/// Users and their sessions (refresh tokens, rotated on every use).
#[async_trait::async_trait]
pub trait UserStore: Send + Sync {
    /// Creates a user (password already hashed); fails with
    /// [`StoreError::Duplicate`] if the address is taken.
    async fn create_user(
        &self,
        tenant: TenantId,
        email: &str,
        password_hash: &str,
        role: Role,
    ) -> Result<Uuid, StoreError>;

    /// The user with this address, in any tenant (login).
    async fn user_by_email(&self, email: &str) -> Result<Option<UserRecord>, StoreError>;

    /// The tenant's user, unless deactivated.
    async fn active_user(
        &self,
        tenant: TenantId,
        id: Uuid,
    ) -> Result<Option<UserRecord>, StoreError>;

    /// Stores a refresh token's hash, first of a new family.
    async fn store_refresh_token(
        &self,
        tenant: TenantId,
        user_id: Uuid,
        family_id: Uuid,
        token_hash: &[u8; 32],
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Uses a refresh token once, storing its successor; a token used twice
    /// revokes its family ([`Rotation::Reused`]).
    async fn rotate_refresh_token(
        &self,
        presented: &[u8; 32],
        next: &[u8; 32],
        next_expires_at: DateTime<Utc>,
    ) -> Result<Rotation, StoreError>;

    /// Revokes the family of a presented token; whether there was one.
    async fn revoke_refresh_family(&self, presented: &[u8; 32]) -> Result<bool, StoreError>;

    /// The tenant's users.
    async fn users(&self, tenant: TenantId) -> Result<Vec<UserRecord>, StoreError>;

    /// Deactivates a user and revokes their sessions.
    async fn deactivate_user(
        &self,
        tenant: TenantId,
        id: Uuid,
    ) -> Result<Option<UserRecord>, StoreError>;
}

/// Campaigns as the API manages them: versioned, every write conditional on
/// the version the caller read (optimistic concurrency, `ETag`).
#[async_trait::async_trait]
pub trait CampaignStore: Send + Sync {
    /// Creates a campaign.
    async fn insert_campaign(
        &self,
        tenant: TenantId,
        w: &CampaignWrite,
    ) -> Result<CampaignRecord, StoreError>;

    /// One of the tenant's campaigns, unless deleted.
    async fn campaign(
        &self,
        tenant: TenantId,
        id: CampaignId,
    ) -> Result<Option<CampaignRecord>, StoreError>;

    /// Replaces a campaign's fields if it is at `version`.
    async fn update_campaign(
        &self,
        tenant: TenantId,
        id: CampaignId,
        version: i64,
        w: &CampaignWrite,
    ) -> Result<Updated, StoreError>;

    /// Moves a campaign to another status if it is at `version`.
    async fn set_campaign_status(
        &self,
        tenant: TenantId,
        id: CampaignId,
        version: i64,
        to: CampaignStatus,
    ) -> Result<Updated, StoreError>;

    /// A campaign's targeting document and version.
    async fn campaign_targeting(
        &self,
        tenant: TenantId,
        id: CampaignId,
    ) -> Result<Option<(String, i64)>, StoreError>;

    /// Replaces a campaign's targeting if it is at `version`.
    async fn set_campaign_targeting(
        &self,
        tenant: TenantId,
        id: CampaignId,
        version: i64,
        targeting: &str,
    ) -> Result<Updated, StoreError>;

    /// Soft-deletes a campaign if it is at `version`.
    async fn delete_campaign_at(
        &self,
        tenant: TenantId,
        id: CampaignId,
        version: i64,
    ) -> Result<Updated, StoreError>;

    /// A page of the tenant's campaigns matching `filter`, and how many
    /// match in all.
    async fn list_campaigns(
        &self,
        tenant: TenantId,
        filter: &CampaignFilter,
        sort: CampaignSort,
        descending: bool,
        page: &Page,
        limit: i64,
    ) -> Result<(Vec<CampaignRecord>, i64), StoreError>;
}

/// Creatives' entries (their bytes live in object storage).
#[async_trait::async_trait]
pub trait CreativeStore: Send + Sync {
    /// Records a creative of one of the tenant's live campaigns; `None` if
    /// there is no such campaign.
    async fn insert_creative(
        &self,
        tenant: TenantId,
        c: &CreativeRecord,
    ) -> Result<Option<CreativeRecord>, StoreError>;

    /// One creative.
    async fn creative(
        &self,
        tenant: TenantId,
        campaign: CampaignId,
        id: Uuid,
    ) -> Result<Option<CreativeRecord>, StoreError>;

    /// A page of the tenant's creatives that `filter` lets through (one
    /// campaign's, or all of them), newest first, after `after` (created
    /// at, id), and how many pass the filter in all.
    async fn creatives(
        &self,
        tenant: TenantId,
        filter: &CreativeFilter,
        after: Option<(DateTime<Utc>, Uuid)>,
        limit: i64,
    ) -> Result<(Vec<CreativeRecord>, i64), StoreError>;

    /// Deletes a creative's entry; whether there was one.
    async fn delete_creative(
        &self,
        tenant: TenantId,
        campaign: CampaignId,
        id: Uuid,
    ) -> Result<bool, StoreError>;
}

/// Tenants and ingest keys: the admin tools, and the API's key endpoints.
#[async_trait::async_trait]
pub trait TenantAdmin: Send + Sync {
    /// Creates a tenant.
    async fn create_tenant(&self, name: &str) -> Result<TenantId, StoreError>;

    /// Creates a campaign with just a name (admin tools, tests).
    async fn create_campaign(
        &self,
        tenant: TenantId,
        name: &str,
        id: Option<Uuid>,
    ) -> Result<CampaignId, StoreError>;

    /// Sets the time zone of `campaigns`; how many changed.
    async fn set_campaign_zones(&self, zone: &str, campaigns: &[Uuid]) -> Result<u64, StoreError>;

    /// Deletes a campaign (soft: its rows stay, it stops counting).
    async fn delete_campaign(&self, campaign: CampaignId) -> Result<bool, StoreError>;

    /// Creates an ingest key from 32 random bytes.
    async fn create_ingest_key(
        &self,
        tenant: TenantId,
        name: &str,
        random: [u8; 32],
    ) -> Result<NewIngestKey, StoreError>;

    /// The tenant's ingest keys.
    async fn ingest_keys(&self, tenant: TenantId) -> Result<Vec<IngestKeyInfo>, StoreError>;

    /// Revokes one of the tenant's keys; whether there was one.
    async fn revoke_tenant_ingest_key(
        &self,
        tenant: TenantId,
        id: Uuid,
    ) -> Result<bool, StoreError>;

    /// Revokes a key in any tenant (admin).
    async fn revoke_ingest_key(&self, id: Uuid) -> Result<bool, StoreError>;
}

/// Every capability of the relational store, as the API and the admin tools
/// hold it.
pub trait Store:
    Connected
    + AggregateSink
    + ReportSource
    + UserStore
    + CampaignStore
    + CreativeStore
    + TenantAdmin
    + AlertStore
    + AlertLedger
    + Directory
    + super::Switches
{
}

impl<T> Store for T where
    T: Connected
        + AggregateSink
        + ReportSource
        + UserStore
        + CampaignStore
        + CreativeStore
        + TenantAdmin
        + AlertStore
        + AlertLedger
        + Directory
        + super::Switches
{
}
