//! [`Store`]: the relational store (tenants, users, campaigns, creatives,
//! ingest keys, the stream worker's claims and aggregates, reports).

use std::future::Future;

use adpulse_domain::aggregate::{AggregateBatch, CampaignTotals, LivePoint};
use adpulse_domain::ports::{CampaignFacts, Directory, KeyStatus, PortError};
use adpulse_domain::report::ReportRow;
use adpulse_domain::store::{
    CampaignFilter, CampaignRecord, CampaignReport, CampaignSort, CampaignWrite, Claim, Commit,
    CreativeRecord, IngestKeyInfo, NewIngestKey, Page, RankedCampaign, Rotation, StoreError,
    TopCampaigns, Updated, UserRecord,
};
use adpulse_domain::{CampaignId, CampaignStatus, Role, TenantId};
use adpulse_postgres::Database;
use adpulse_sqlite::Lite;
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// The relational store: Postgres in production, SQLite embedded.
#[derive(Clone, Debug)]
pub enum Store {
    /// Postgres (row-level security per tenant).
    Postgres(Database),
    /// One SQLite file in the data folder.
    Sqlite(Lite),
}

impl From<Database> for Store {
    fn from(db: Database) -> Self {
        Self::Postgres(db)
    }
}

impl From<Lite> for Store {
    fn from(db: Lite) -> Self {
        Self::Sqlite(db)
    }
}

/// Forwards each listed method to the adapter, mapping its error.
macro_rules! forward {
    ($(
        $(#[$doc:meta])*
        fn $name:ident(&self $(, $arg:ident: $ty:ty)*) -> $out:ty;
    )*) => {
        impl Store {
            $(
                $(#[$doc])*
                pub async fn $name(&self $(, $arg: $ty)*) -> Result<$out, StoreError> {
                    match self {
                        Self::Postgres(db) => db.$name($($arg),*).await.map_err(StoreError::from),
                        Self::Sqlite(db) => db.$name($($arg),*).await,
                    }
                }
            )*
        }
    };
}

forward! {
    // The stream worker.
    /// Takes ownership of a partition, fencing every earlier owner.
    fn claim_partition(&self, group: &str, topic: &str, partition: i32) -> Claim;
    /// Applies a batch and moves the claim's offset, in one transaction.
    fn commit_batch(&self, claim: &mut Claim, next_offset: i64, batch: &AggregateBatch) -> Commit;
    /// Records applied so far over every partition of `topic`.
    fn applied_offsets(&self, group: &str, topic: &str) -> i64;
    /// Campaigns with events in day buckets from `since` on.
    fn campaigns_active_since(&self, since: DateTime<Utc>) -> Vec<CampaignId>;
    /// Lifetime and today's totals of `campaigns`.
    fn campaign_totals(&self, campaigns: &[CampaignId]) -> Vec<CampaignTotals>;
    /// The live series of `campaigns` from `since` on.
    fn live_series(&self, campaigns: &[CampaignId], since: DateTime<Utc>) -> Vec<LivePoint>;
    /// Deletes live-series points older than `before`.
    fn prune_live_series(&self, before: DateTime<Utc>) -> u64;

    // Reports.
    /// One campaign's report rows.
    fn campaign_report(&self, tenant: TenantId, q: &CampaignReport) -> Vec<ReportRow>;
    /// The tenant's campaigns ranked over a range.
    fn top_campaigns(&self, tenant: TenantId, q: &TopCampaigns) -> Vec<RankedCampaign>;

    // Users and sessions.
    /// Creates a user (password already hashed).
    fn create_user(&self, tenant: TenantId, email: &str, password_hash: &str, role: Role) -> Uuid;
    /// The user with this address, in any tenant.
    fn user_by_email(&self, email: &str) -> Option<UserRecord>;
    /// The tenant's user, unless deactivated.
    fn active_user(&self, tenant: TenantId, id: Uuid) -> Option<UserRecord>;
    /// Stores a refresh token's hash.
    fn store_refresh_token(&self, tenant: TenantId, user_id: Uuid, family_id: Uuid, token_hash: &[u8; 32], expires_at: DateTime<Utc>) -> ();
    /// Uses a refresh token once, storing its successor.
    fn rotate_refresh_token(&self, presented: &[u8; 32], next: &[u8; 32], next_expires_at: DateTime<Utc>) -> Rotation;
    /// Revokes the family of a presented token.
    fn revoke_refresh_family(&self, presented: &[u8; 32]) -> bool;
    /// The tenant's users.
    fn users(&self, tenant: TenantId) -> Vec<UserRecord>;
    /// Deactivates a user and revokes their sessions.
    fn deactivate_user(&self, tenant: TenantId, id: Uuid) -> Option<UserRecord>;

    // Campaigns.
    /// Creates a campaign.
    fn insert_campaign(&self, tenant: TenantId, w: &CampaignWrite) -> CampaignRecord;
    /// One of the tenant's campaigns.
    fn campaign(&self, tenant: TenantId, id: CampaignId) -> Option<CampaignRecord>;
    /// Replaces a campaign's fields if it is at `version`.
    fn update_campaign(&self, tenant: TenantId, id: CampaignId, version: i64, w: &CampaignWrite) -> Updated;
    /// Moves a campaign to another status if it is at `version`.
    fn set_campaign_status(&self, tenant: TenantId, id: CampaignId, version: i64, to: CampaignStatus) -> Updated;
    /// A campaign's targeting document and version.
    fn campaign_targeting(&self, tenant: TenantId, id: CampaignId) -> Option<(String, i64)>;
    /// Replaces a campaign's targeting if it is at `version`.
    fn set_campaign_targeting(&self, tenant: TenantId, id: CampaignId, version: i64, targeting: &str) -> Updated;
    /// Soft-deletes a campaign if it is at `version`.
    fn delete_campaign_at(&self, tenant: TenantId, id: CampaignId, version: i64) -> Updated;
    /// A page of the tenant's campaigns and the total matching.
    fn list_campaigns(&self, tenant: TenantId, filter: &CampaignFilter, sort: CampaignSort, descending: bool, page: &Page, limit: i64) -> (Vec<CampaignRecord>, i64);

    // Creatives.
    /// Records a creative of one of the tenant's live campaigns.
    fn insert_creative(&self, tenant: TenantId, c: &CreativeRecord) -> Option<CreativeRecord>;
    /// One creative.
    fn creative(&self, tenant: TenantId, campaign: CampaignId, id: Uuid) -> Option<CreativeRecord>;
    /// A page of a campaign's creatives, newest first, after `after`
    /// (created at, id), and how many the campaign has.
    fn creatives(&self, tenant: TenantId, campaign: CampaignId, after: Option<(DateTime<Utc>, Uuid)>, limit: i64) -> (Vec<CreativeRecord>, i64);
    /// Deletes a creative's entry.
    fn delete_creative(&self, tenant: TenantId, campaign: CampaignId, id: Uuid) -> bool;

    // Tenants and ingest keys (admin).
    /// Creates a tenant.
    fn create_tenant(&self, name: &str) -> TenantId;
    /// Creates a campaign with just a name (admin tools, tests).
    fn create_campaign(&self, tenant: TenantId, name: &str, id: Option<Uuid>) -> CampaignId;
    /// Sets the time zone of `campaigns`.
    fn set_campaign_zones(&self, zone: &str, campaigns: &[Uuid]) -> u64;
    /// Deletes a campaign (soft: its rows stay, it stops counting).
    fn delete_campaign(&self, campaign: CampaignId) -> bool;
    /// Creates an ingest key from 32 random bytes.
    fn create_ingest_key(&self, tenant: TenantId, name: &str, random: [u8; 32]) -> NewIngestKey;
    /// The tenant's ingest keys.
    fn ingest_keys(&self, tenant: TenantId) -> Vec<IngestKeyInfo>;
    /// Revokes one of the tenant's keys.
    fn revoke_tenant_ingest_key(&self, tenant: TenantId, id: Uuid) -> bool;
    /// Revokes a key in any tenant (admin).
    fn revoke_ingest_key(&self, id: Uuid) -> bool;

    // Health.
    /// Whether the store answers.
    fn ping(&self) -> ();
}

impl Store {
    /// [`Store::campaign_report`] handed to `each` row by row (constant
    /// memory on Postgres, which streams; SQLite hands over rows it read).
    pub async fn campaign_report_each<E, F, Fut>(
        &self,
        tenant: TenantId,
        q: &CampaignReport,
        each: F,
    ) -> Result<(), E>
    where
        E: From<StoreError>,
        F: FnMut(ReportRow) -> Fut,
        Fut: Future<Output = Result<(), E>>,
    {
        match self {
            Self::Postgres(db) => db.campaign_report_each(tenant, q, each).await,
            Self::Sqlite(db) => db.campaign_report_each(tenant, q, each).await,
        }
    }

    /// [`Store::top_campaigns`] handed to `each` one at a time.
    pub async fn top_campaigns_each<E, F, Fut>(
        &self,
        tenant: TenantId,
        q: &TopCampaigns,
        each: F,
    ) -> Result<(), E>
    where
        E: From<StoreError>,
        F: FnMut(RankedCampaign) -> Fut,
        Fut: Future<Output = Result<(), E>>,
    {
        match self {
            Self::Postgres(db) => db.top_campaigns_each(tenant, q, each).await,
            Self::Sqlite(db) => db.top_campaigns_each(tenant, q, each).await,
        }
    }

    /// Closes every connection.
    pub async fn close(&self) {
        match self {
            Self::Postgres(db) => db.close().await,
            Self::Sqlite(db) => db.close().await,
        }
    }
}

impl Directory for Store {
    async fn key_status(&self, key_hash: [u8; 32]) -> Result<KeyStatus, PortError> {
        match self {
            Self::Postgres(db) => db.key_status(key_hash).await,
            Self::Sqlite(db) => db.key_status(key_hash).await,
        }
    }

    async fn campaign(&self, campaign: CampaignId) -> Result<Option<CampaignFacts>, PortError> {
        match self {
            Self::Postgres(db) => Directory::campaign(db, campaign).await,
            Self::Sqlite(db) => Directory::campaign(db, campaign).await,
        }
    }
}
