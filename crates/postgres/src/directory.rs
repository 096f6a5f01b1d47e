//! Ownership lookups for ingestion ([`Directory`]) and the admin writes that
//! create what they look up (tenants, campaigns, ingest keys) until the
//! campaign API owns them.

use crate::pg;
use adpulse_domain::budget::StoppedCampaign;
use adpulse_domain::ports::TenantAdmin;
use adpulse_domain::ports::{CampaignFacts, Directory, KeyStatus, PortError};
use adpulse_domain::store::StoreError;
use adpulse_domain::{CampaignId, TenantId, ingest_key};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use adpulse_domain::store::{IngestKeyInfo, NewIngestKey};

use crate::{Database, PgError};

impl From<PgError> for PortError {
    fn from(e: PgError) -> Self {
        Self::caused_by(e.is_retryable(), e)
    }
}

#[async_trait::async_trait]
impl Directory for Database {
    async fn ping(&self) -> Result<(), PortError> {
        Ok(adpulse_domain::ports::Connected::ping(self).await?)
    }

    async fn key_status(&self, key_hash: [u8; 32]) -> Result<KeyStatus, PortError> {
        let row: Option<(Uuid, bool)> = sqlx::query_as(
            "SELECT tenant_id, revoked_at IS NOT NULL FROM ingest_keys WHERE key_hash = $1",
        )
        .bind(&key_hash[..])
        .fetch_optional(self.pool())
        .await
        .map_err(PgError::from)?;
        Ok(match row {
            None => KeyStatus::Unknown,
            Some((_, true)) => KeyStatus::Revoked,
            Some((tenant, false)) => KeyStatus::Active(TenantId::from_uuid(tenant)),
        })
    }

    async fn campaign_facts(
        &self,
        campaign: CampaignId,
    ) -> Result<Option<CampaignFacts>, PortError> {
        let row: Option<(Uuid, String, Option<String>)> = sqlx::query_as(
            "SELECT tenant_id, timezone, (targeting->'frequency_cap')::text FROM campaigns \
             WHERE id = $1 AND deleted_at IS NULL",
        )
        .bind(campaign.as_uuid())
        .fetch_optional(self.pool())
        .await
        .map_err(PgError::from)?;
        Ok(row.map(|(tenant, timezone, cap)| CampaignFacts {
            tenant: TenantId::from_uuid(tenant),
            timezone,
            // The API validated the cap before storing it; a cap this build
            // cannot read is logged and treated as none.
            frequency_cap: cap.filter(|v| v != "null").and_then(|v| {
                serde_json::from_str(&v)
                    .inspect_err(
                        |e| tracing::warn!(%campaign, error = %e, "unreadable frequency cap"),
                    )
                    .ok()
            }),
        }))
    }

    async fn budget_stops(&self) -> Result<Vec<StoppedCampaign>, PortError> {
        Ok(crate::alerts::budget::in_force(self).await?)
    }
}

#[async_trait::async_trait]
impl TenantAdmin for Database {
    async fn create_tenant(&self, name: &str) -> Result<TenantId, StoreError> {
        pg(async move {
            let id = Uuid::now_v7();
            sqlx::query("INSERT INTO tenants (id, name) VALUES ($1, $2)")
                .bind(id)
                .bind(name)
                .execute(self.pool())
                .await?;
            Ok(TenantId::from_uuid(id))
        })
        .await
    }

    async fn create_campaign(
        &self,
        tenant: TenantId,
        name: &str,
        id: Option<Uuid>,
    ) -> Result<CampaignId, StoreError> {
        pg(async move {
            let id = id.unwrap_or_else(Uuid::now_v7);
            sqlx::query(
                "INSERT INTO campaigns (id, tenant_id, name, status) VALUES ($1, $2, $3, 'active')",
            )
            .bind(id)
            .bind(tenant.as_uuid())
            .bind(name)
            .execute(self.pool())
            .await?;
            Ok(CampaignId::from_uuid(id))
        })
        .await
    }

    async fn set_campaign_zones(&self, zone: &str, campaigns: &[Uuid]) -> Result<u64, StoreError> {
        pg(async move {
            let r = sqlx::query("UPDATE campaigns SET timezone = $1 WHERE id = ANY($2)")
                .bind(zone)
                .bind(campaigns)
                .execute(self.pool())
                .await?;
            Ok(r.rows_affected())
        })
        .await
    }

    async fn delete_campaign(&self, campaign: CampaignId) -> Result<bool, StoreError> {
        pg(async move {
            let r = sqlx::query(
                "UPDATE campaigns SET deleted_at = now() WHERE id = $1 AND deleted_at IS NULL",
            )
            .bind(campaign.as_uuid())
            .execute(self.pool())
            .await?;
            Ok(r.rows_affected() == 1)
        })
        .await
    }

    async fn create_ingest_key(
        &self,
        tenant: TenantId,
        name: &str,
        random: [u8; 32],
    ) -> Result<NewIngestKey, StoreError> {
        pg(async move {
            let secret = ingest_key::format_key(random);
            let id = Uuid::now_v7();
            let mut tx = self.tenant_tx(tenant).await?;
            sqlx::query("INSERT INTO ingest_keys (id, tenant_id, name, prefix, key_hash) VALUES ($1, $2, $3, $4, $5)")
                .bind(id)
                .bind(tenant.as_uuid())
                .bind(name)
                .bind(ingest_key::display_prefix(&secret))
                .bind(&ingest_key::hash(&secret)[..])
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(NewIngestKey { id, secret })
        })
        .await
    }

    async fn ingest_keys(&self, tenant: TenantId) -> Result<Vec<IngestKeyInfo>, StoreError> {
        pg(async move {
            let mut tx = self.tenant_tx(tenant).await?;
            type Row = (Uuid, String, String, DateTime<Utc>, Option<DateTime<Utc>>);
            let rows: Vec<Row> = sqlx::query_as(
                "SELECT id, name, prefix, created_at, revoked_at FROM ingest_keys WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC",
            )
            .bind(tenant.as_uuid())
            .fetch_all(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(rows
                .into_iter()
                .map(|(id, name, prefix, created_at, revoked_at)| IngestKeyInfo {
                    id,
                    name,
                    prefix,
                    created_at,
                    revoked_at,
                })
                .collect())
        })
        .await
    }

    async fn revoke_tenant_ingest_key(
        &self,
        tenant: TenantId,
        id: Uuid,
    ) -> Result<bool, StoreError> {
        pg(async move {
            let mut tx = self.tenant_tx(tenant).await?;
            let r = sqlx::query(
                "UPDATE ingest_keys SET revoked_at = now() WHERE id = $1 AND tenant_id = $2 AND revoked_at IS NULL",
            )
            .bind(id)
            .bind(tenant.as_uuid())
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(r.rows_affected() == 1)
        })
        .await
    }

    async fn revoke_ingest_key(&self, id: Uuid) -> Result<bool, StoreError> {
        pg(async move {
            let r = sqlx::query(
                "UPDATE ingest_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL",
            )
            .bind(id)
            .execute(self.pool())
            .await?;
            Ok(r.rows_affected() == 1)
        })
        .await
    }
}
