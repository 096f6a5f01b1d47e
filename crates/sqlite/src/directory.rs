//! Ownership lookups for ingestion ([`Directory`]) and the admin writes that
//! create what they look up (tenants, campaigns, ingest keys).

use adpulse_domain::budget::StoppedCampaign;
use adpulse_domain::ports::TenantAdmin;
use adpulse_domain::ports::{CampaignFacts, Directory, KeyStatus, PortError};
use adpulse_domain::store::{IngestKeyInfo, NewIngestKey, StoreError};
use adpulse_domain::targeting::FrequencyCap;
use adpulse_domain::{CampaignId, TenantId, ingest_key};
use chrono::Utc;
use sqlx::{QueryBuilder, Sqlite};
use uuid::Uuid;

use crate::{Lite, failed, fold_case, instant, micros, write_tx};

/// Ids per statement when a call names many (well under SQLite's limit of
/// bound parameters).
const IDS_PER_STATEMENT: usize = 5_000;

#[async_trait::async_trait]
impl Directory for Lite {
    async fn ping(&self) -> Result<(), PortError> {
        Ok(adpulse_domain::ports::Connected::ping(self).await?)
    }

    async fn key_status(&self, key_hash: [u8; 32]) -> Result<KeyStatus, PortError> {
        let row: Option<(Uuid, bool)> = sqlx::query_as(
            "SELECT tenant_id, revoked_at IS NOT NULL FROM ingest_keys WHERE key_hash = ?1",
        )
        .bind(&key_hash[..])
        .fetch_optional(self.pool())
        .await
        .map_err(failed)?;
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
        let row: Option<(Uuid, String, String)> = sqlx::query_as(
            "SELECT tenant_id, timezone, targeting FROM campaigns WHERE id = ?1 AND deleted_at IS NULL",
        )
        .bind(campaign.as_uuid())
        .fetch_optional(self.pool())
        .await
        .map_err(failed)?;
        Ok(row.map(|(tenant, timezone, targeting)| CampaignFacts {
            tenant: TenantId::from_uuid(tenant),
            timezone,
            frequency_cap: frequency_cap(campaign, &targeting),
        }))
    }

    async fn budget_stops(&self) -> Result<Vec<StoppedCampaign>, PortError> {
        Ok(crate::alerts::budget::in_force(self, Utc::now()).await?)
    }
}

/// The cap in a stored targeting document. The API validated it before
/// storing it; a cap this build cannot read is logged and treated as none
/// (as the Postgres adapter does).
fn frequency_cap(campaign: CampaignId, targeting: &str) -> Option<FrequencyCap> {
    let doc: serde_json::Value = serde_json::from_str(targeting)
        .inspect_err(|e| tracing::warn!(%campaign, error = %e, "unreadable targeting"))
        .ok()?;
    let cap = doc.get("frequency_cap").filter(|v| !v.is_null())?;
    serde_json::from_value(cap.clone())
        .inspect_err(|e| tracing::warn!(%campaign, error = %e, "unreadable frequency cap"))
        .ok()
}

#[async_trait::async_trait]
impl TenantAdmin for Lite {
    async fn create_tenant(&self, name: &str) -> Result<TenantId, StoreError> {
        let id = Uuid::now_v7();
        sqlx::query("INSERT INTO tenants (id, name, created_at) VALUES (?1, ?2, ?3)")
            .bind(id)
            .bind(name)
            .bind(micros(Utc::now()))
            .execute(self.writer())
            .await
            .map_err(failed)?;
        Ok(TenantId::from_uuid(id))
    }

    async fn create_campaign(
        &self,
        tenant: TenantId,
        name: &str,
        id: Option<Uuid>,
    ) -> Result<CampaignId, StoreError> {
        let id = id.unwrap_or_else(Uuid::now_v7);
        let now = micros(Utc::now());
        sqlx::query(
            "INSERT INTO campaigns (id, tenant_id, name, name_key, status, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, 'active', ?5, ?5)",
        )
        .bind(id)
        .bind(tenant.as_uuid())
        .bind(name)
        .bind(fold_case(name))
        .bind(now)
        .execute(self.writer())
        .await
        .map_err(failed)?;
        Ok(CampaignId::from_uuid(id))
    }

    async fn set_campaign_zones(&self, zone: &str, campaigns: &[Uuid]) -> Result<u64, StoreError> {
        let mut tx = write_tx(self.writer()).await?;
        let mut changed = 0;
        for chunk in campaigns.chunks(IDS_PER_STATEMENT) {
            let mut q = QueryBuilder::<Sqlite>::new("UPDATE campaigns SET timezone = ");
            q.push_bind(zone.to_owned()).push(" WHERE id IN (");
            let mut ids = q.separated(", ");
            for id in chunk {
                ids.push_bind(*id);
            }
            q.push(")");
            changed += q
                .build()
                .execute(&mut *tx)
                .await
                .map_err(failed)?
                .rows_affected();
        }
        tx.commit().await.map_err(failed)?;
        Ok(changed)
    }

    async fn delete_campaign(&self, campaign: CampaignId) -> Result<bool, StoreError> {
        let r = sqlx::query(
            "UPDATE campaigns SET deleted_at = ?1 WHERE id = ?2 AND deleted_at IS NULL",
        )
        .bind(micros(Utc::now()))
        .bind(campaign.as_uuid())
        .execute(self.writer())
        .await
        .map_err(failed)?;
        Ok(r.rows_affected() == 1)
    }

    async fn create_ingest_key(
        &self,
        tenant: TenantId,
        name: &str,
        random: [u8; 32],
    ) -> Result<NewIngestKey, StoreError> {
        let secret = ingest_key::format_key(random);
        let id = Uuid::now_v7();
        sqlx::query(
            "INSERT INTO ingest_keys (id, tenant_id, name, prefix, key_hash, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .bind(id)
        .bind(tenant.as_uuid())
        .bind(name)
        .bind(ingest_key::display_prefix(&secret).to_owned())
        .bind(&ingest_key::hash(&secret)[..])
        .bind(micros(Utc::now()))
        .execute(self.writer())
        .await
        .map_err(failed)?;
        Ok(NewIngestKey { id, secret })
    }

    async fn ingest_keys(&self, tenant: TenantId) -> Result<Vec<IngestKeyInfo>, StoreError> {
        type Row = (Uuid, String, String, i64, Option<i64>);
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT id, name, prefix, created_at, revoked_at FROM ingest_keys
             WHERE tenant_id = ?1 ORDER BY created_at DESC, id DESC",
        )
        .bind(tenant.as_uuid())
        .fetch_all(self.pool())
        .await
        .map_err(failed)?;
        Ok(rows
            .into_iter()
            .map(|(id, name, prefix, created_at, revoked_at)| IngestKeyInfo {
                id,
                name,
                prefix,
                created_at: instant(created_at),
                revoked_at: revoked_at.map(instant),
            })
            .collect())
    }

    async fn revoke_tenant_ingest_key(
        &self,
        tenant: TenantId,
        id: Uuid,
    ) -> Result<bool, StoreError> {
        let r = sqlx::query(
            "UPDATE ingest_keys SET revoked_at = ?1
             WHERE id = ?2 AND tenant_id = ?3 AND revoked_at IS NULL",
        )
        .bind(micros(Utc::now()))
        .bind(id)
        .bind(tenant.as_uuid())
        .execute(self.writer())
        .await
        .map_err(failed)?;
        Ok(r.rows_affected() == 1)
    }

    async fn revoke_ingest_key(&self, id: Uuid) -> Result<bool, StoreError> {
        let r = sqlx::query(
            "UPDATE ingest_keys SET revoked_at = ?1 WHERE id = ?2 AND revoked_at IS NULL",
        )
        .bind(micros(Utc::now()))
        .bind(id)
        .execute(self.writer())
        .await
        .map_err(failed)?;
        Ok(r.rows_affected() == 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_folds_one_character_at_a_time_as_postgres_does() {
        assert_eq!(
            fold_case("ÄNN.Élodie@EXAMPLE.com"),
            "änn.élodie@example.com"
        );
        assert_eq!(fold_case("İSTANBUL"), "istanbul");
        assert_eq!(fold_case("ΣΑΣ"), "σασ");
    }

    #[test]
    fn caps_are_read_from_targeting_and_absent_or_null_is_none() {
        let c = CampaignId::from_uuid(Uuid::nil());
        assert_eq!(frequency_cap(c, "{}"), None);
        assert_eq!(frequency_cap(c, r#"{"frequency_cap":null}"#), None);
        assert_eq!(frequency_cap(c, "not json"), None);
        assert_eq!(frequency_cap(c, r#"{"frequency_cap":{"max":"x"}}"#), None);
        let cap = frequency_cap(
            c,
            r#"{"countries":["US"],"frequency_cap":{"max":3,"per":"day"}}"#,
        )
        .expect("cap");
        assert_eq!(cap.max, 3);
    }
}
