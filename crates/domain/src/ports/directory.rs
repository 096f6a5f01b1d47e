//! The directory: who owns an ingest key and a campaign, looked up by
//! ingestion and capping on every request (behind a cache).

use super::PortError;
use crate::budget::StoppedCampaign;
use crate::ids::{CampaignId, TenantId};

/// What an ingest key hash refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyStatus {
    /// No such key.
    Unknown,
    /// The key was revoked.
    Revoked,
    /// A live key of this tenant.
    Active(TenantId),
}

/// Who owns what: the lookups ingestion needs on every request (served from
/// a cache; see the gateway's `auth` module).
#[async_trait::async_trait]
pub trait Directory: Send + Sync {
    /// The status of the ingest key with this SHA-256 hash.
    async fn key_status(&self, key_hash: [u8; 32]) -> Result<KeyStatus, PortError>;

    /// What ingestion and capping need of `campaign`, if it exists and is
    /// not deleted.
    async fn campaign_facts(
        &self,
        campaign: CampaignId,
    ) -> Result<Option<CampaignFacts>, PortError>;

    /// Every campaign a budget stops now (across tenants; the gateway
    /// polls it, so it must stay cheap: one indexed read of a small
    /// table).
    async fn budget_stops(&self) -> Result<Vec<StoppedCampaign>, PortError>;

    /// Whether the directory answers (for readiness).
    async fn ping(&self) -> Result<(), PortError>;
}

/// What the gateway needs to know of a campaign: its owner (every event and
/// decision is checked against the key's tenant), and for frequency capping
/// its time zone and cap.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CampaignFacts {
    /// The owner.
    pub tenant: TenantId,
    /// IANA time zone name; calendar cap windows are local to it.
    pub timezone: String,
    /// The cap from the campaign's targeting, if any.
    pub frequency_cap: Option<crate::targeting::FrequencyCap>,
}
