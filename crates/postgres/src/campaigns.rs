//! Campaigns as the API manages them, always within one tenant's
//! transaction (row-level security backs every tenant filter here).

use crate::pg;
use adpulse_domain::ports::CampaignStore;
use adpulse_domain::store::StoreError;
use adpulse_domain::{CampaignId, CampaignStatus, TenantId};
use chrono::{DateTime, Utc};
use sqlx::{Postgres, QueryBuilder};
use uuid::Uuid;

use adpulse_domain::store::{
    CampaignFilter, CampaignRecord, CampaignSort, CampaignWrite, Page, Updated,
};

use crate::{Database, PgError};

/// The SQL expression a sort orders by.
fn sort_expr(s: CampaignSort) -> &'static str {
    match s {
        CampaignSort::CreatedAt => "created_at",
        CampaignSort::UpdatedAt => "updated_at",
        CampaignSort::Name => "lower(name)",
        CampaignSort::Budget => "coalesce(budget_total_micros, -1)",
    }
}

/// The cast that turns a cursor's text back into the sort value.
fn sort_cast(s: CampaignSort) -> &'static str {
    match s {
        CampaignSort::CreatedAt | CampaignSort::UpdatedAt => "::timestamptz",
        CampaignSort::Name => "::text",
        CampaignSort::Budget => "::bigint",
    }
}

const COLUMNS: &str = "id, tenant_id, status, name, brand_id, budget_total_micros, budget_currency,
    budget_daily_cap_micros, schedule_start, schedule_end, timezone, objectives, channels,
    created_at, updated_at, version";

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    tenant_id: Uuid,
    status: String,
    name: String,
    brand_id: Option<String>,
    budget_total_micros: Option<i64>,
    budget_currency: Option<String>,
    budget_daily_cap_micros: Option<i64>,
    schedule_start: Option<DateTime<Utc>>,
    schedule_end: Option<DateTime<Utc>>,
    timezone: String,
    objectives: Vec<String>,
    channels: Vec<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    version: i64,
}

impl TryFrom<Row> for CampaignRecord {
    type Error = PgError;

    fn try_from(r: Row) -> Result<Self, PgError> {
        Ok(Self {
            id: CampaignId::from_uuid(r.id),
            tenant_id: TenantId::from_uuid(r.tenant_id),
            status: r.status.parse().map_err(|()| {
                PgError::Config(format!("unknown campaign status {:?}", r.status).into())
            })?,
            fields: CampaignWrite {
                name: r.name,
                brand_id: r.brand_id,
                budget_total_micros: r.budget_total_micros,
                budget_currency: r.budget_currency,
                budget_daily_cap_micros: r.budget_daily_cap_micros,
                schedule_start: r.schedule_start,
                schedule_end: r.schedule_end,
                timezone: r.timezone,
                objectives: r.objectives,
                channels: r.channels,
            },
            created_at: r.created_at,
            updated_at: r.updated_at,
            version: r.version,
        })
    }
}

fn push_fields(q: &mut QueryBuilder<Postgres>, w: &CampaignWrite) {
    let mut s = q.separated(", ");
    s.push_bind(&w.name)
        .push_bind(&w.brand_id)
        .push_bind(w.budget_total_micros)
        .push_bind(&w.budget_currency)
        .push_bind(w.budget_daily_cap_micros)
        .push_bind(w.schedule_start)
        .push_bind(w.schedule_end)
        .push_bind(&w.timezone)
        .push_bind(&w.objectives)
        .push_bind(&w.channels);
}

const FIELD_NAMES: &str =
    "name, brand_id, budget_total_micros, budget_currency, budget_daily_cap_micros,
    schedule_start, schedule_end, timezone, objectives, channels";

impl Database {
    async fn conditional(
        &self,
        tenant: TenantId,
        id: CampaignId,
        version: i64,
        mut q: QueryBuilder<Postgres>,
    ) -> Result<Updated, PgError> {
        q.push(" WHERE id = ")
            .push_bind(*id.as_uuid())
            .push(" AND tenant_id = ")
            .push_bind(*tenant.as_uuid())
            .push(" AND deleted_at IS NULL AND version = ")
            .push_bind(version)
            .push(format!(" RETURNING {COLUMNS}"));
        let mut tx = self.tenant_tx(tenant).await?;
        let row: Option<Row> = q.build_query_as().fetch_optional(&mut *tx).await?;
        let outcome = match row {
            Some(row) => Updated::Done(Box::new(row.try_into()?)),
            None => {
                let current: Option<(i64,)> = sqlx::query_as(
                    "SELECT version FROM campaigns WHERE id = $1 AND tenant_id = $2 AND deleted_at IS NULL",
                )
                .bind(id.as_uuid())
                .bind(tenant.as_uuid())
                .fetch_optional(&mut *tx)
                .await?;
                current.map_or(Updated::NotFound, |(v,)| Updated::Conflict(v))
            }
        };
        tx.commit().await?;
        Ok(outcome)
    }
}

#[async_trait::async_trait]
impl CampaignStore for Database {
    async fn insert_campaign(
        &self,
        tenant: TenantId,
        w: &CampaignWrite,
    ) -> Result<CampaignRecord, StoreError> {
        pg(async move {
            let id = Uuid::now_v7();
            let mut q = QueryBuilder::new(format!(
                "INSERT INTO campaigns (id, tenant_id, {FIELD_NAMES}) VALUES ("
            ));
            q.push_bind(id)
                .push(", ")
                .push_bind(*tenant.as_uuid())
                .push(", ");
            push_fields(&mut q, w);
            q.push(format!(") RETURNING {COLUMNS}"));
            let mut tx = self.tenant_tx(tenant).await?;
            let row: Row = q.build_query_as().fetch_one(&mut *tx).await?;
            tx.commit().await?;
            row.try_into()
        })
        .await
    }

    async fn campaign(
        &self,
        tenant: TenantId,
        id: CampaignId,
    ) -> Result<Option<CampaignRecord>, StoreError> {
        pg(async move {
            let mut tx = self.tenant_tx(tenant).await?;
            let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM campaigns WHERE id = $1 AND tenant_id = $2 AND deleted_at IS NULL"
            )))
            .bind(id.as_uuid())
            .bind(tenant.as_uuid())
            .fetch_optional(&mut *tx)
            .await?;
            tx.commit().await?;
            row.map(TryInto::try_into).transpose()
        })
        .await
    }

    async fn update_campaign(
        &self,
        tenant: TenantId,
        id: CampaignId,
        version: i64,
        w: &CampaignWrite,
    ) -> Result<Updated, StoreError> {
        pg(async move {
            let mut q = QueryBuilder::new(format!("UPDATE campaigns SET ({FIELD_NAMES}) = ROW("));
            push_fields(&mut q, w);
            q.push("), version = version + 1, updated_at = now()");
            self.conditional(tenant, id, version, q).await
        })
        .await
    }

    async fn set_campaign_status(
        &self,
        tenant: TenantId,
        id: CampaignId,
        version: i64,
        to: CampaignStatus,
    ) -> Result<Updated, StoreError> {
        pg(async move {
            let mut q = QueryBuilder::new("UPDATE campaigns SET status = ");
            q.push_bind(to.as_str())
                .push(", version = version + 1, updated_at = now()");
            self.conditional(tenant, id, version, q).await
        })
        .await
    }

    async fn campaign_targeting(
        &self,
        tenant: TenantId,
        id: CampaignId,
    ) -> Result<Option<(String, i64)>, StoreError> {
        pg(async move {
            let mut tx = self.tenant_tx(tenant).await?;
            let row: Option<(String, i64)> = sqlx::query_as(
                "SELECT targeting::text, version FROM campaigns WHERE id = $1 AND tenant_id = $2 AND deleted_at IS NULL",
            )
            .bind(id.as_uuid())
            .bind(tenant.as_uuid())
            .fetch_optional(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(row)
        })
        .await
    }

    async fn set_campaign_targeting(
        &self,
        tenant: TenantId,
        id: CampaignId,
        version: i64,
        targeting: &str,
    ) -> Result<Updated, StoreError> {
        pg(async move {
            let mut q = QueryBuilder::new("UPDATE campaigns SET targeting = ");
            q.push_bind(targeting.to_owned())
                .push("::jsonb, version = version + 1, updated_at = now()");
            self.conditional(tenant, id, version, q).await
        })
        .await
    }

    async fn delete_campaign_at(
        &self,
        tenant: TenantId,
        id: CampaignId,
        version: i64,
    ) -> Result<Updated, StoreError> {
        pg(async move {
            let q = QueryBuilder::new(
                "UPDATE campaigns SET deleted_at = now(), version = version + 1, updated_at = now()",
            );
            self.conditional(tenant, id, version, q).await
        })
        .await
    }

    async fn list_campaigns(
        &self,
        tenant: TenantId,
        filter: &CampaignFilter,
        sort: CampaignSort,
        descending: bool,
        page: &Page,
        limit: i64,
    ) -> Result<(Vec<CampaignRecord>, i64), StoreError> {
        pg(async move {
            let statuses: Vec<&str> = filter.statuses.iter().map(|s| s.as_str()).collect();
            let pattern = filter.name.as_ref().map(|n| {
                let escaped = n
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_");
                format!("%{escaped}%")
            });
            let where_clause = |q: &mut QueryBuilder<Postgres>| {
                q.push(" FROM campaigns WHERE tenant_id = ")
                    .push_bind(*tenant.as_uuid())
                    .push(" AND deleted_at IS NULL");
                if !statuses.is_empty() {
                    q.push(" AND status = ANY(")
                        .push_bind(statuses.clone())
                        .push(")");
                }
                if let Some(b) = &filter.brand_id {
                    q.push(" AND brand_id = ").push_bind(b.clone());
                }
                if let Some(p) = &pattern {
                    q.push(" AND name ILIKE ").push_bind(p.clone());
                }
                if let Some(from) = filter.from {
                    q.push(" AND (schedule_end IS NULL OR schedule_end >= ")
                        .push_bind(from)
                        .push(")");
                }
                if let Some(to) = filter.to {
                    q.push(" AND (schedule_start IS NULL OR schedule_start < ")
                        .push_bind(to)
                        .push(")");
                }
            };
            let mut tx = self.tenant_tx(tenant).await?;
            let mut count = QueryBuilder::new("SELECT count(*)");
            where_clause(&mut count);
            let (total,): (i64,) = count.build_query_as().fetch_one(&mut *tx).await?;

            let mut q = QueryBuilder::new(format!("SELECT {COLUMNS}"));
            where_clause(&mut q);
            let (cmp, dir) = if descending {
                ("<", "DESC")
            } else {
                (">", "ASC")
            };
            if let Page::After { value, id } = page {
                q.push(format!(" AND ({}, id) {cmp} (", sort_expr(sort)))
                    .push_bind(value.clone())
                    .push(sort_cast(sort))
                    .push(", ")
                    .push_bind(*id.as_uuid())
                    .push(")");
            }
            q.push(format!(
                " ORDER BY {} {dir}, id {dir} LIMIT ",
                sort_expr(sort)
            ))
            .push_bind(limit);
            if let Page::Offset(n) = page {
                q.push(" OFFSET ").push_bind(*n);
            }
            let rows: Vec<Row> = q.build_query_as().fetch_all(&mut *tx).await?;
            tx.commit().await?;
            let campaigns = rows
                .into_iter()
                .map(TryInto::try_into)
                .collect::<Result<_, _>>()?;
            Ok((campaigns, total))
        })
        .await
    }
}
