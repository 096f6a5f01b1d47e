//! The catalogue of creatives (their bytes are in the asset store). Every
//! statement names the tenant; a creative of a deleted campaign is gone
//! with it.

use adpulse_domain::ports::CreativeStore;
use adpulse_domain::store::{CreativeFilter, CreativeRecord, StoreError};
use adpulse_domain::{CampaignId, TenantId};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::failed;
use crate::{Lite, instant, micros};

type Row = (Uuid, Uuid, String, String, i64, Vec<u8>, i32, i32, i64);

fn record(r: Row) -> CreativeRecord {
    let (id, campaign, filename, content_type, size_bytes, sha256, width, height, created_at) = r;
    CreativeRecord {
        id,
        campaign_id: CampaignId::from_uuid(campaign),
        filename,
        content_type,
        size_bytes,
        sha256,
        width,
        height,
        created_at: instant(created_at),
    }
}

const COLUMNS: &str =
    "id, campaign_id, filename, content_type, size_bytes, sha256, width, height, created_at";

#[async_trait::async_trait]
impl CreativeStore for Lite {
    async fn insert_creative(
        &self,
        tenant: TenantId,
        c: &CreativeRecord,
    ) -> Result<Option<CreativeRecord>, StoreError> {
        let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "INSERT INTO creatives (id, tenant_id, campaign_id, filename, content_type, size_bytes,
                                    sha256, width, height, created_at)
             SELECT ?1, ?2, id, ?4, ?5, ?6, ?7, ?8, ?9, ?10 FROM campaigns
             WHERE id = ?3 AND tenant_id = ?2 AND deleted_at IS NULL
             RETURNING {COLUMNS}"
        )))
        .bind(c.id)
        .bind(tenant.as_uuid())
        .bind(c.campaign_id.as_uuid())
        .bind(&c.filename)
        .bind(&c.content_type)
        .bind(c.size_bytes)
        .bind(&c.sha256)
        .bind(c.width)
        .bind(c.height)
        .bind(micros(Utc::now()))
        .fetch_optional(self.pool())
        .await
        .map_err(failed)?;
        Ok(row.map(record))
    }

    async fn creative(
        &self,
        tenant: TenantId,
        campaign: CampaignId,
        id: Uuid,
    ) -> Result<Option<CreativeRecord>, StoreError> {
        let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM creatives
             WHERE id = ?1 AND campaign_id = ?2 AND tenant_id = ?3 AND deleted_at IS NULL
               AND EXISTS (SELECT 1 FROM campaigns c
                           WHERE c.id = ?2 AND c.tenant_id = ?3 AND c.deleted_at IS NULL)"
        )))
        .bind(id)
        .bind(campaign.as_uuid())
        .bind(tenant.as_uuid())
        .fetch_optional(self.pool())
        .await
        .map_err(failed)?;
        Ok(row.map(record))
    }

    async fn creatives(
        &self,
        tenant: TenantId,
        filter: &CreativeFilter,
        after: Option<(DateTime<Utc>, Uuid)>,
        limit: i64,
    ) -> Result<(Vec<CreativeRecord>, i64), StoreError> {
        if limit < 0 {
            return Err(StoreError::Invalid("LIMIT must not be negative".into()));
        }
        let campaign = filter.campaign.map(|c| *c.as_uuid());
        let name = filter.name_pattern();
        // Each filter is a parameter that is either null (no filter) or
        // compared: one statement whatever the combination. SQLite's LIKE
        // ignores the case of ASCII letters only.
        const FILTERED: &str = "tenant_id = ?1 AND deleted_at IS NULL
            AND (?2 IS NULL OR campaign_id = ?2)
            AND (?3 IS NULL OR content_type = ?3)
            AND (?4 IS NULL OR filename LIKE ?4 ESCAPE '\\')";
        let mut tx = self.pool().begin().await.map_err(failed)?;
        let (total,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT count(*) FROM creatives WHERE {FILTERED}"
        )))
        .bind(tenant.as_uuid())
        .bind(campaign)
        .bind(&filter.content_type)
        .bind(&name)
        .fetch_one(&mut *tx)
        .await
        .map_err(failed)?;
        let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM creatives
             WHERE {FILTERED}
               AND (?5 IS NULL OR (created_at, id) < (?5, ?6))
             ORDER BY created_at DESC, id DESC LIMIT ?7"
        )))
        .bind(tenant.as_uuid())
        .bind(campaign)
        .bind(&filter.content_type)
        .bind(&name)
        .bind(after.map(|a| micros(a.0)))
        .bind(after.map(|a| a.1))
        .bind(limit)
        .fetch_all(&mut *tx)
        .await
        .map_err(failed)?;
        tx.commit().await.map_err(failed)?;
        Ok((rows.into_iter().map(record).collect(), total))
    }

    async fn delete_creative(
        &self,
        tenant: TenantId,
        campaign: CampaignId,
        id: Uuid,
    ) -> Result<bool, StoreError> {
        let r = sqlx::query(
            "UPDATE creatives SET deleted_at = ?4
             WHERE id = ?1 AND campaign_id = ?2 AND tenant_id = ?3 AND deleted_at IS NULL
               AND EXISTS (SELECT 1 FROM campaigns c
                           WHERE c.id = ?2 AND c.tenant_id = ?3 AND c.deleted_at IS NULL)",
        )
        .bind(id)
        .bind(campaign.as_uuid())
        .bind(tenant.as_uuid())
        .bind(micros(Utc::now()))
        .execute(self.writer())
        .await
        .map_err(failed)?;
        Ok(r.rows_affected() == 1)
    }
}
