//! Alert rules and their notification channels. Every statement names the
//! tenant: there is no row-level security behind these filters.
//!
//! A rule is stored as the JSON text of [`RuleBody::of`] and validated
//! again when read back, so a stored rule this build cannot read is an
//! error ([`StoreError::Config`]) rather than a rule that silently
//! changed. Changes are conditional on the version the caller read, as
//! campaigns'; a channel's deletion checks the rules that list it in the
//! same write transaction.
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
use sqlx::{Sqlite, Transaction};
use uuid::Uuid;

use crate::{Lite, failed, instant, micros, write_tx};

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
    previous_until: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<ChannelRow> for ChannelRecord {
    type Error = StoreError;

    fn try_from(r: ChannelRow) -> Result<Self, StoreError> {
        Ok(Self {
            id: r.id,
            tenant: TenantId::from_uuid(r.tenant_id),
            fields: ChannelWrite {
                name: r.name,
                kind: r.kind.parse().map_err(|()| {
                    StoreError::Config(format!("unknown alert channel kind {:?}", r.kind).into())
                })?,
                target: r.target,
                secret: r.secret,
            },
            previous_secret: r.previous_secret,
            previous_until: r.previous_until.map(instant),
            created_at: instant(r.created_at),
            updated_at: instant(r.updated_at),
        })
    }
}

const RULE_COLUMNS: &str = "id, tenant_id, spec, version, created_at, updated_at";

#[derive(sqlx::FromRow)]
struct RuleRow {
    id: Uuid,
    tenant_id: Uuid,
    spec: String,
    version: i64,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<RuleRow> for RuleRecord {
    type Error = StoreError;

    fn try_from(r: RuleRow) -> Result<Self, StoreError> {
        let unreadable = |why: String| {
            StoreError::Config(
                format!("unreadable alert_rules.spec of rule {}: {why}", r.id).into(),
            )
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
            created_at: instant(r.created_at),
            updated_at: instant(r.updated_at),
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
    fn of(spec: &RuleSpec) -> Result<Self, StoreError> {
        let json = serde_json::to_string(&RuleBody::of(spec))
            .map_err(|e| StoreError::Invalid(Box::new(e)))?;
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
    tx: &mut Transaction<'static, Sqlite>,
    tenant: TenantId,
    id: Uuid,
) -> Result<Updated<T>, StoreError> {
    let current: Option<(i64,)> =
        sqlx::query_as("SELECT version FROM alert_rules WHERE id = ?1 AND tenant_id = ?2")
            .bind(id)
            .bind(tenant.as_uuid())
            .fetch_optional(&mut **tx)
            .await
            .map_err(failed)?;
    Ok(current.map_or(Updated::NotFound, |(v,)| Updated::Conflict(v)))
}

#[async_trait::async_trait]
impl AlertStore for Lite {
    async fn insert_channel(
        &self,
        tenant: TenantId,
        w: &ChannelWrite,
    ) -> Result<ChannelRecord, StoreError> {
        let now = micros(Utc::now());
        let row: ChannelRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "INSERT INTO alert_channels (id, tenant_id, name, kind, target, secret, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)
             RETURNING {CHANNEL_COLUMNS}"
        )))
        .bind(Uuid::now_v7())
        .bind(tenant.as_uuid())
        .bind(&w.name)
        .bind(w.kind.as_str())
        .bind(&w.target)
        .bind(&w.secret)
        .bind(now)
        .fetch_one(self.writer())
        .await
        .map_err(failed)?;
        row.try_into()
    }

    async fn channels(&self, tenant: TenantId) -> Result<Vec<ChannelRecord>, StoreError> {
        let rows: Vec<ChannelRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {CHANNEL_COLUMNS} FROM alert_channels
             WHERE tenant_id = ?1 ORDER BY created_at, id"
        )))
        .bind(tenant.as_uuid())
        .fetch_all(self.pool())
        .await
        .map_err(failed)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn channel(
        &self,
        tenant: TenantId,
        id: Uuid,
    ) -> Result<Option<ChannelRecord>, StoreError> {
        let row: Option<ChannelRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {CHANNEL_COLUMNS} FROM alert_channels WHERE id = ?1 AND tenant_id = ?2"
        )))
        .bind(id)
        .bind(tenant.as_uuid())
        .fetch_optional(self.pool())
        .await
        .map_err(failed)?;
        row.map(TryInto::try_into).transpose()
    }

    async fn rotate_channel_secret(
        &self,
        tenant: TenantId,
        id: Uuid,
        secret: &str,
        previous_until: DateTime<Utc>,
    ) -> Result<Option<ChannelRecord>, StoreError> {
        // The right-hand `secret` is the row's value before the update.
        let row: Option<ChannelRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "UPDATE alert_channels
             SET previous_secret = secret, previous_until = ?3, secret = ?4, updated_at = ?5
             WHERE id = ?1 AND tenant_id = ?2
             RETURNING {CHANNEL_COLUMNS}"
        )))
        .bind(id)
        .bind(tenant.as_uuid())
        .bind(micros(previous_until))
        .bind(secret)
        .bind(micros(Utc::now()))
        .fetch_optional(self.writer())
        .await
        .map_err(failed)?;
        row.map(TryInto::try_into).transpose()
    }

    async fn delete_channel(
        &self,
        tenant: TenantId,
        id: Uuid,
    ) -> Result<ChannelDeleted, StoreError> {
        let mut tx = write_tx(self.writer()).await?;
        let exists: Option<(Uuid,)> =
            sqlx::query_as("SELECT id FROM alert_channels WHERE id = ?1 AND tenant_id = ?2")
                .bind(id)
                .bind(tenant.as_uuid())
                .fetch_optional(&mut *tx)
                .await
                .map_err(failed)?;
        if exists.is_none() {
            tx.commit().await.map_err(failed)?;
            return Ok(ChannelDeleted::NotFound);
        }
        // The spec holds ids as text, as serde writes them.
        let users: Vec<(Uuid,)> = sqlx::query_as(
            "SELECT id FROM alert_rules
             WHERE tenant_id = ?1
               AND EXISTS (SELECT 1 FROM json_each(spec, '$.channel_ids') WHERE value = ?2)
             ORDER BY id",
        )
        .bind(tenant.as_uuid())
        .bind(id.to_string())
        .fetch_all(&mut *tx)
        .await
        .map_err(failed)?;
        let outcome = if users.is_empty() {
            sqlx::query("DELETE FROM alert_channels WHERE id = ?1 AND tenant_id = ?2")
                .bind(id)
                .bind(tenant.as_uuid())
                .execute(&mut *tx)
                .await
                .map_err(failed)?;
            ChannelDeleted::Done
        } else {
            ChannelDeleted::InUse(users.into_iter().map(|(r,)| r).collect())
        };
        tx.commit().await.map_err(failed)?;
        Ok(outcome)
    }

    async fn insert_rule(
        &self,
        tenant: TenantId,
        spec: &RuleSpec,
    ) -> Result<RuleRecord, StoreError> {
        let c = RuleColumns::of(spec)?;
        let row: RuleRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "INSERT INTO alert_rules (id, tenant_id, name, enabled, campaign_id, brand_id, spec,
                                      created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)
             RETURNING {RULE_COLUMNS}"
        )))
        .bind(Uuid::now_v7())
        .bind(tenant.as_uuid())
        .bind(&c.name)
        .bind(c.enabled)
        .bind(c.campaign_id)
        .bind(&c.brand_id)
        .bind(&c.spec)
        .bind(micros(Utc::now()))
        .fetch_one(self.writer())
        .await
        .map_err(failed)?;
        row.try_into()
    }

    async fn rule(&self, tenant: TenantId, id: Uuid) -> Result<Option<RuleRecord>, StoreError> {
        let row: Option<RuleRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {RULE_COLUMNS} FROM alert_rules WHERE id = ?1 AND tenant_id = ?2"
        )))
        .bind(id)
        .bind(tenant.as_uuid())
        .fetch_optional(self.pool())
        .await
        .map_err(failed)?;
        row.map(TryInto::try_into).transpose()
    }

    async fn rules(
        &self,
        tenant: TenantId,
        after: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<RuleRecord>, StoreError> {
        // SQLite reads a negative LIMIT as none; Postgres refuses it.
        if limit < 0 {
            return Err(StoreError::Invalid("LIMIT must not be negative".into()));
        }
        let rows: Vec<RuleRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {RULE_COLUMNS} FROM alert_rules
             WHERE tenant_id = ?1 AND (?2 IS NULL OR id > ?2)
             ORDER BY id LIMIT ?3"
        )))
        .bind(tenant.as_uuid())
        .bind(after)
        .bind(limit)
        .fetch_all(self.pool())
        .await
        .map_err(failed)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn update_rule(
        &self,
        tenant: TenantId,
        id: Uuid,
        version: i64,
        spec: &RuleSpec,
    ) -> Result<Updated<RuleRecord>, StoreError> {
        let c = RuleColumns::of(spec)?;
        let mut tx = write_tx(self.writer()).await?;
        let row: Option<RuleRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "UPDATE alert_rules
             SET name = ?4, enabled = ?5, campaign_id = ?6, brand_id = ?7, spec = ?8,
                 version = version + 1, updated_at = ?9
             WHERE id = ?1 AND tenant_id = ?2 AND version = ?3
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
        .bind(micros(Utc::now()))
        .fetch_optional(&mut *tx)
        .await
        .map_err(failed)?;
        let outcome = match row {
            Some(row) => Updated::Done(Box::new(row.try_into()?)),
            None => missed(&mut tx, tenant, id).await?,
        };
        tx.commit().await.map_err(failed)?;
        Ok(outcome)
    }

    async fn delete_rule(
        &self,
        tenant: TenantId,
        id: Uuid,
        version: i64,
    ) -> Result<Updated<()>, StoreError> {
        let mut tx = write_tx(self.writer()).await?;
        let r = sqlx::query(
            "DELETE FROM alert_rules WHERE id = ?1 AND tenant_id = ?2 AND version = ?3",
        )
        .bind(id)
        .bind(tenant.as_uuid())
        .bind(version)
        .execute(&mut *tx)
        .await
        .map_err(failed)?;
        let outcome = if r.rows_affected() == 1 {
            Updated::Done(Box::new(()))
        } else {
            missed(&mut tx, tenant, id).await?
        };
        tx.commit().await.map_err(failed)?;
        Ok(outcome)
    }

    async fn deliveries(
        &self,
        tenant: TenantId,
        rule: Option<Uuid>,
        status: Option<DeliveryStatus>,
        before: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<DeliveryRecord>, StoreError> {
        log::deliveries(self, tenant, (rule, status), before, limit).await
    }

    async fn delivery(
        &self,
        tenant: TenantId,
        id: Uuid,
    ) -> Result<Option<(DeliveryRecord, Vec<Attempt>)>, StoreError> {
        log::delivery(self, tenant, id).await
    }

    async fn replay_delivery(&self, tenant: TenantId, id: Uuid) -> Result<Replayed, StoreError> {
        log::replay(self, tenant, id).await
    }

    async fn firings(
        &self,
        tenant: TenantId,
        rule: Uuid,
        before: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<FiringRecord>, StoreError> {
        log::firings(self, tenant, rule, before, limit).await
    }

    async fn budget_stop(
        &self,
        tenant: TenantId,
        campaign: CampaignId,
    ) -> Result<Option<StoppedCampaign>, StoreError> {
        budget::tenants(self, tenant, campaign).await
    }
}
