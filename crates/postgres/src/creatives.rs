//! The catalogue of creatives (their bytes are in object storage), within
//! one tenant's transactions.

use crate::pg;
use adpulse_domain::ports::CreativeStore;
use adpulse_domain::store::StoreError;
use adpulse_domain::{CampaignId, TenantId};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use adpulse_domain::store::{CreativeFilter, CreativeRecord};

use crate::Database;

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

#[async_trait::async_trait]
impl CreativeStore for Database {
    async fn insert_creative(
        &self,
        tenant: TenantId,
        c: &CreativeRecord,
    ) -> Result<Option<CreativeRecord>, StoreError> {
        pg(async move {
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
        })
        .await
    }

    async fn creative(
        &self,
        tenant: TenantId,
        campaign: CampaignId,
        id: Uuid,
    ) -> Result<Option<CreativeRecord>, StoreError> {
        pg(async move {
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
        })
        .await
    }

    async fn creatives(
        &self,
        tenant: TenantId,
        filter: &CreativeFilter,
        after: Option<(DateTime<Utc>, Uuid)>,
        limit: i64,
    ) -> Result<(Vec<CreativeRecord>, i64), StoreError> {
        let campaign = filter.campaign.map(|c| *c.as_uuid());
        let content_type = filter.content_type.clone();
        let name = filter.name_pattern();
        pg(async move {
            let mut tx = self.tenant_tx(tenant).await?;
            // Each filter is a parameter that is either null (no filter) or
            // compared: one statement whatever the combination.
            const FILTERED: &str = "tenant_id = $1 AND deleted_at IS NULL
                AND ($2::uuid IS NULL OR campaign_id = $2)
                AND ($3::text IS NULL OR content_type = $3)
                AND ($4::text IS NULL OR filename ILIKE $4 ESCAPE '\\')";
            let (total,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT count(*) FROM creatives WHERE {FILTERED}"
            )))
            .bind(tenant.as_uuid())
            .bind(campaign)
            .bind(&content_type)
            .bind(&name)
            .fetch_one(&mut *tx)
            .await?;
            let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM creatives
                 WHERE {FILTERED}
                   AND ($5::timestamptz IS NULL OR (created_at, id) < ($5, $6))
                 ORDER BY created_at DESC, id DESC LIMIT $7"
            )))
            .bind(tenant.as_uuid())
            .bind(campaign)
            .bind(&content_type)
            .bind(&name)
            .bind(after.map(|a| a.0))
            .bind(after.map(|a| a.1))
            .bind(limit)
            .fetch_all(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok((rows.into_iter().map(record).collect(), total))
        })
        .await
    }

    async fn delete_creative(
        &self,
        tenant: TenantId,
        campaign: CampaignId,
        id: Uuid,
    ) -> Result<bool, StoreError> {
        pg(async move {
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
        })
        .await
    }
}
