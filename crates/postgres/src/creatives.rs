//! The catalogue of creatives (their bytes are in object storage), within
//! one tenant's transactions.

use adpulse_domain::{CampaignId, TenantId};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use adpulse_domain::store::CreativeRecord;

use crate::{Database, PgError};

type Row = (
    Uuid,
    Uuid,
    String,
    String,
    i64,
    Vec<u8>,
    i32,
    i32,
    DateTime<Utc>,
);

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
        created_at,
    }
}

const COLUMNS: &str =
    "id, campaign_id, filename, content_type, size_bytes, sha256, width, height, created_at";

impl Database {
    /// Records a creative of one of the tenant's live campaigns; `None` if
    /// the campaign is not the tenant's (or deleted).
    pub async fn insert_creative(
        &self,
        tenant: TenantId,
        c: &CreativeRecord,
    ) -> Result<Option<CreativeRecord>, PgError> {
        let mut tx = self.tenant_tx(tenant).await?;
        let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "INSERT INTO creatives (id, tenant_id, campaign_id, filename, content_type, size_bytes, sha256, width, height)
             SELECT $1, $2, id, $4, $5, $6, $7, $8, $9 FROM campaigns
             WHERE id = $3 AND tenant_id = $2 AND deleted_at IS NULL
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
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(row.map(record))
    }

    /// One creative of the tenant's campaign.
    pub async fn creative(
        &self,
        tenant: TenantId,
        campaign: CampaignId,
        id: Uuid,
    ) -> Result<Option<CreativeRecord>, PgError> {
        let mut tx = self.tenant_tx(tenant).await?;
        let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM creatives
             WHERE id = $1 AND campaign_id = $2 AND tenant_id = $3 AND deleted_at IS NULL
               AND EXISTS (SELECT 1 FROM campaigns c WHERE c.id = campaign_id AND c.deleted_at IS NULL)"
        )))
        .bind(id)
        .bind(campaign.as_uuid())
        .bind(tenant.as_uuid())
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(row.map(record))
    }

    /// A page of the campaign's creatives, newest first, after the given
    /// (created_at, id) if any; and how many there are in all.
    pub async fn creatives(
        &self,
        tenant: TenantId,
        campaign: CampaignId,
        after: Option<(DateTime<Utc>, Uuid)>,
        limit: i64,
    ) -> Result<(Vec<CreativeRecord>, i64), PgError> {
        let mut tx = self.tenant_tx(tenant).await?;
        let (total,): (i64,) = sqlx::query_as(
            "SELECT count(*) FROM creatives WHERE campaign_id = $1 AND tenant_id = $2 AND deleted_at IS NULL",
        )
        .bind(campaign.as_uuid())
        .bind(tenant.as_uuid())
        .fetch_one(&mut *tx)
        .await?;
        let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM creatives
             WHERE campaign_id = $1 AND tenant_id = $2 AND deleted_at IS NULL
               AND ($3::timestamptz IS NULL OR (created_at, id) < ($3, $4))
             ORDER BY created_at DESC, id DESC LIMIT $5"
        )))
        .bind(campaign.as_uuid())
        .bind(tenant.as_uuid())
        .bind(after.map(|a| a.0))
        .bind(after.map(|a| a.1))
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok((rows.into_iter().map(record).collect(), total))
    }

    /// Removes a creative from the catalogue; false if there was none.
    pub async fn delete_creative(
        &self,
        tenant: TenantId,
        campaign: CampaignId,
        id: Uuid,
    ) -> Result<bool, PgError> {
        let mut tx = self.tenant_tx(tenant).await?;
        let r = sqlx::query(
            "UPDATE creatives SET deleted_at = now()
             WHERE id = $1 AND campaign_id = $2 AND tenant_id = $3 AND deleted_at IS NULL
               AND EXISTS (SELECT 1 FROM campaigns c WHERE c.id = campaign_id AND c.deleted_at IS NULL)",
        )
        .bind(id)
        .bind(campaign.as_uuid())
        .bind(tenant.as_uuid())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(r.rows_affected() == 1)
    }
}
