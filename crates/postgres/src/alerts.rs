//! Alert rules and their notification channels, within one tenant's
//! transactions (row-level security backs every tenant filter here).
//!
//! A rule is stored as the JSON of [`RuleBody::of`] and validated again
//! when read back, so a stored rule this build cannot read is an error
//! ([`StoreError::Config`]) rather than a rule that silently changed.
//! Changes are conditional on the version the caller read, as campaigns'.
//!
//! The delivery log and firing history the API reads are in [`log`]; what
//! the alerter reads and records across tenants in [`ledger`]; budget
//! stops and the totals they are decided on in [`budget`].

pub(crate) mod budget;
mod ledger;
mod log;

use adpulse_domain::alert::ledger::{Attempt, DeliveryRecord, DeliveryStatus, FiringRecord};
use adpulse_domain::alert::{
    ChannelDeleted, ChannelRecord, ChannelWrite, RuleBody, RuleRecord, RuleSpec,
};
use adpulse_domain::budget::StoppedCampaign;
use adpulse_domain::ports::{AlertStore, Replayed};
use adpulse_domain::store::{StoreError, Updated};
use adpulse_domain::{CampaignId, TenantId};
use chrono::{DateTime, Utc};
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use crate::{Database, PgError, pg};

const CHANNEL_COLUMNS: &str = "id, tenant_id, name, kind, target, secret, previous_secret,
    previous_until, created_at, updated_at";

#[derive(sqlx::FromRow)]
struct ChannelRow {
    id: Uuid,
    tenant_id: Uuid,
    name: String,
    kind: String,
    target: String,
    secret: Option<String>,
    previous_secret: Option<String>,
    previous_until: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<ChannelRow> for ChannelRecord {
    type Error = PgError;

    fn try_from(r: ChannelRow) -> Result<Self, PgError> {
        Ok(Self {
            id: r.id,
            tenant: TenantId::from_uuid(r.tenant_id),
            fields: ChannelWrite {
                name: r.name,
                kind: r.kind.parse().map_err(|()| {
                    PgError::Config(format!("unknown alert channel kind {:?}", r.kind).into())
                })?,
                target: r.target,
                secret: r.secret,
            },
            previous_secret: r.previous_secret,
            previous_until: r.previous_until,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

const RULE_COLUMNS: &str = "id, tenant_id, spec::text AS spec, version, created_at, updated_at";

#[derive(sqlx::FromRow)]
struct RuleRow {
    id: Uuid,
    tenant_id: Uuid,
    spec: String,
    version: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<RuleRow> for RuleRecord {
    type Error = PgError;

    fn try_from(r: RuleRow) -> Result<Self, PgError> {
        let unreadable = |why: String| {
            PgError::Config(format!("unreadable alert_rules.spec of rule {}: {why}", r.id).into())
        };
        let body: RuleBody =
            serde_json::from_str(&r.spec).map_err(|e| unreadable(e.to_string()))?;
        let spec = body.validate().map_err(|problems| {
            let list: Vec<String> = problems
                .iter()
                .map(|p| format!("{}: {}", p.field, p.message))
                .collect();
            unreadable(list.join("; "))
        })?;
        Ok(Self {
            id: r.id,
            tenant: TenantId::from_uuid(r.tenant_id),
            spec,
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

/// What a rule's row holds besides its id and tenant: the spec's JSON and
/// the columns lookups use.
struct RuleColumns {
    name: String,
    enabled: bool,
    campaign_id: Option<Uuid>,
    brand_id: Option<String>,
    spec: String,
}

impl RuleColumns {
    fn of(spec: &RuleSpec) -> Result<Self, PgError> {
        let json = serde_json::to_string(&RuleBody::of(spec))
            .map_err(|e| PgError::Invalid(Box::new(e)))?;
        Ok(Self {
            name: spec.name.clone(),
            enabled: spec.enabled,
            campaign_id: spec.scope.campaign().map(|c| *c.as_uuid()),
            brand_id: spec.scope.brand().map(str::to_owned),
            spec: json,
        })
    }
}

/// What became of a conditional change of a rule that matched no row, in
/// its transaction: a stale version ([`Updated::Conflict`]), or no such
/// rule.
async fn missed<T>(
    tx: &mut Transaction<'static, Postgres>,
    tenant: TenantId,
    id: Uuid,
) -> Result<Updated<T>, PgError> {
    let current: Option<(i64,)> =
        sqlx::query_as("SELECT version FROM alert_rules WHERE id = $1 AND tenant_id = $2")
            .bind(id)
            .bind(tenant.as_uuid())
            .fetch_optional(&mut **tx)
            .await?;
    Ok(current.map_or(Updated::NotFound, |(v,)| Updated::Conflict(v)))
}

#[async_trait::async_trait]
impl AlertStore for Database {
    async fn insert_channel(
        &self,
        tenant: TenantId,
        w: &ChannelWrite,
    ) -> Result<ChannelRecord, StoreError> {
        pg(async move {
            let mut tx = self.tenant_tx(tenant).await?;
            let row: ChannelRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "INSERT INTO alert_channels (id, tenant_id, name, kind, target, secret)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 RETURNING {CHANNEL_COLUMNS}"
            )))
            .bind(Uuid::now_v7())
            .bind(tenant.as_uuid())
            .bind(&w.name)
            .bind(w.kind.as_str())
            .bind(&w.target)
            .bind(&w.secret)
            .fetch_one(&mut *tx)
            .await?;
            tx.commit().await?;
            row.try_into()
        })
        .await
    }

    async fn channels(&self, tenant: TenantId) -> Result<Vec<ChannelRecord>, StoreError> {
        pg(async move {
            let mut tx = self.tenant_tx(tenant).await?;
            let rows: Vec<ChannelRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {CHANNEL_COLUMNS} FROM alert_channels
                 WHERE tenant_id = $1 ORDER BY created_at, id"
            )))
            .bind(tenant.as_uuid())
            .fetch_all(&mut *tx)
            .await?;
            tx.commit().await?;
            rows.into_iter().map(TryInto::try_into).collect()
        })
        .await
    }

    async fn channel(
        &self,
        tenant: TenantId,
        id: Uuid,
    ) -> Result<Option<ChannelRecord>, StoreError> {
        pg(async move {
            let mut tx = self.tenant_tx(tenant).await?;
            let row: Option<ChannelRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {CHANNEL_COLUMNS} FROM alert_channels WHERE id = $1 AND tenant_id = $2"
            )))
            .bind(id)
            .bind(tenant.as_uuid())
            .fetch_optional(&mut *tx)
            .await?;
            tx.commit().await?;
            row.map(TryInto::try_into).transpose()
        })
        .await
    }

    async fn rotate_channel_secret(
        &self,
        tenant: TenantId,
        id: Uuid,
        secret: &str,
        previous_until: DateTime<Utc>,
    ) -> Result<Option<ChannelRecord>, StoreError> {
        pg(async move {
            let mut tx = self.tenant_tx(tenant).await?;
            // The right-hand `secret` is the row's value before the update.
            let row: Option<ChannelRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "UPDATE alert_channels
                 SET previous_secret = secret, previous_until = $3, secret = $4, updated_at = now()
                 WHERE id = $1 AND tenant_id = $2
                 RETURNING {CHANNEL_COLUMNS}"
            )))
            .bind(id)
            .bind(tenant.as_uuid())
            .bind(previous_until)
            .bind(secret)
            .fetch_optional(&mut *tx)
            .await?;
            tx.commit().await?;
            row.map(TryInto::try_into).transpose()
        })
        .await
    }

    async fn delete_channel(
        &self,
        tenant: TenantId,
        id: Uuid,
    ) -> Result<ChannelDeleted, StoreError> {
        pg(async move {
            let mut tx = self.tenant_tx(tenant).await?;
            // The channel's row is locked first, so two deletions (or a
            // deletion and a rotation) of it take turns.
            let exists: Option<(Uuid,)> = sqlx::query_as(
                "SELECT id FROM alert_channels WHERE id = $1 AND tenant_id = $2 FOR UPDATE",
            )
            .bind(id)
            .bind(tenant.as_uuid())
            .fetch_optional(&mut *tx)
            .await?;
            if exists.is_none() {
                tx.commit().await?;
                return Ok(ChannelDeleted::NotFound);
            }
            let users: Vec<(Uuid,)> = sqlx::query_as(
                "SELECT id FROM alert_rules
                 WHERE tenant_id = $1 AND spec->'channel_ids' ? $2::text
                 ORDER BY id",
            )
            .bind(tenant.as_uuid())
            .bind(id)
            .fetch_all(&mut *tx)
            .await?;
            let outcome = if users.is_empty() {
                sqlx::query("DELETE FROM alert_channels WHERE id = $1 AND tenant_id = $2")
                    .bind(id)
                    .bind(tenant.as_uuid())
                    .execute(&mut *tx)
                    .await?;
                ChannelDeleted::Done
            } else {
                ChannelDeleted::InUse(users.into_iter().map(|(r,)| r).collect())
            };
            tx.commit().await?;
            Ok(outcome)
        })
        .await
    }

    async fn insert_rule(
        &self,
        tenant: TenantId,
        spec: &RuleSpec,
    ) -> Result<RuleRecord, StoreError> {
        pg(async move {
            let c = RuleColumns::of(spec)?;
            let mut tx = self.tenant_tx(tenant).await?;
            let row: RuleRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "INSERT INTO alert_rules (id, tenant_id, name, enabled, campaign_id, brand_id, spec)
                 VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)
                 RETURNING {RULE_COLUMNS}"
            )))
            .bind(Uuid::now_v7())
            .bind(tenant.as_uuid())
            .bind(&c.name)
            .bind(c.enabled)
            .bind(c.campaign_id)
            .bind(&c.brand_id)
            .bind(&c.spec)
            .fetch_one(&mut *tx)
            .await?;
            tx.commit().await?;
            row.try_into()
        })
        .await
    }

    async fn rule(&self, tenant: TenantId, id: Uuid) -> Result<Option<RuleRecord>, StoreError> {
        pg(async move {
            let mut tx = self.tenant_tx(tenant).await?;
            let row: Option<RuleRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {RULE_COLUMNS} FROM alert_rules WHERE id = $1 AND tenant_id = $2"
            )))
            .bind(id)
            .bind(tenant.as_uuid())
            .fetch_optional(&mut *tx)
            .await?;
            tx.commit().await?;
            row.map(TryInto::try_into).transpose()
        })
        .await
    }

    async fn rules(
        &self,
        tenant: TenantId,
        after: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<RuleRecord>, StoreError> {
        pg(async move {
            let mut tx = self.tenant_tx(tenant).await?;
            let rows: Vec<RuleRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {RULE_COLUMNS} FROM alert_rules
                 WHERE tenant_id = $1 AND ($2::uuid IS NULL OR id > $2)
                 ORDER BY id LIMIT $3"
            )))
            .bind(tenant.as_uuid())
            .bind(after)
            .bind(limit)
            .fetch_all(&mut *tx)
            .await?;
            tx.commit().await?;
            rows.into_iter().map(TryInto::try_into).collect()
        })
        .await
    }

    async fn update_rule(
        &self,
        tenant: TenantId,
        id: Uuid,
        version: i64,
        spec: &RuleSpec,
    ) -> Result<Updated<RuleRecord>, StoreError> {
        pg(async move {
            let c = RuleColumns::of(spec)?;
            let mut tx = self.tenant_tx(tenant).await?;
            let row: Option<RuleRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "UPDATE alert_rules
                 SET name = $4, enabled = $5, campaign_id = $6, brand_id = $7, spec = $8::jsonb,
                     version = version + 1, updated_at = now()
                 WHERE id = $1 AND tenant_id = $2 AND version = $3
                 RETURNING {RULE_COLUMNS}"
            )))
            .bind(id)
            .bind(tenant.as_uuid())
            .bind(version)
            .bind(&c.name)
            .bind(c.enabled)
            .bind(c.campaign_id)
            .bind(&c.brand_id)
            .bind(&c.spec)
            .fetch_optional(&mut *tx)
            .await?;
            let outcome = match row {
                Some(row) => Updated::Done(Box::new(row.try_into()?)),
                None => missed(&mut tx, tenant, id).await?,
            };
            tx.commit().await?;
            Ok(outcome)
        })
        .await
    }

    async fn delete_rule(
        &self,
        tenant: TenantId,
        id: Uuid,
        version: i64,
    ) -> Result<Updated<()>, StoreError> {
        pg(async move {
            let mut tx = self.tenant_tx(tenant).await?;
            let r = sqlx::query(
                "DELETE FROM alert_rules WHERE id = $1 AND tenant_id = $2 AND version = $3",
            )
            .bind(id)
            .bind(tenant.as_uuid())
            .bind(version)
            .execute(&mut *tx)
            .await?;
            let outcome = if r.rows_affected() == 1 {
                Updated::Done(Box::new(()))
            } else {
                missed(&mut tx, tenant, id).await?
            };
            tx.commit().await?;
            Ok(outcome)
        })
        .await
    }

    async fn deliveries(
        &self,
        tenant: TenantId,
        rule: Option<Uuid>,
        status: Option<DeliveryStatus>,
        before: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<DeliveryRecord>, StoreError> {
        pg(log::deliveries(self, tenant, (rule, status), before, limit)).await
    }

    async fn delivery(
        &self,
        tenant: TenantId,
        id: Uuid,
    ) -> Result<Option<(DeliveryRecord, Vec<Attempt>)>, StoreError> {
        pg(log::delivery(self, tenant, id)).await
    }

    async fn replay_delivery(&self, tenant: TenantId, id: Uuid) -> Result<Replayed, StoreError> {
        pg(log::replay(self, tenant, id)).await
    }

    async fn firings(
        &self,
        tenant: TenantId,
        rule: Uuid,
        before: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<FiringRecord>, StoreError> {
        pg(log::firings(self, tenant, rule, before, limit)).await
    }

    async fn budget_stop(
        &self,
        tenant: TenantId,
        campaign: CampaignId,
    ) -> Result<Option<StoppedCampaign>, StoreError> {
        pg(budget::tenants(self, tenant, campaign)).await
    }
}
