//! The delivery log and the firing history as the API reads them, within
//! one tenant's transactions (row-level security backs every tenant
//! filter), and the rows both this and the alerter's ledger read back.
//!
//! Ids of firings and deliveries are time-ordered (v7), so newest first
//! is `id DESC` and a page continues `before` the last id it showed.

use adpulse_domain::alert::ledger::{
    Attempt, DeliveryRecord, DeliveryStatus, FiringKind, FiringRecord,
};
use adpulse_domain::ports::Replayed;
use adpulse_domain::{CampaignId, TenantId};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{Database, PgError};

/// A delivery's columns, of `alert_deliveries AS d`.
pub(super) const DELIVERY_COLUMNS: &str = "d.id, d.firing_id, d.rule_id, d.channel_id, d.tenant_id,
    d.status, d.attempts, d.next_attempt_at, d.last_error, d.payload::text AS payload,
    d.created_at, d.updated_at";

#[derive(sqlx::FromRow)]
pub(super) struct DeliveryRow {
    id: Uuid,
    firing_id: Uuid,
    rule_id: Uuid,
    channel_id: Uuid,
    tenant_id: Uuid,
    status: String,
    attempts: i32,
    next_attempt_at: Option<DateTime<Utc>>,
    last_error: Option<String>,
    payload: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// A stored value this build cannot read.
fn unreadable(what: &str, id: Uuid, why: impl std::fmt::Display) -> PgError {
    PgError::Config(format!("unreadable {what} of {id}: {why}").into())
}

impl TryFrom<DeliveryRow> for DeliveryRecord {
    type Error = PgError;

    fn try_from(r: DeliveryRow) -> Result<Self, PgError> {
        Ok(Self {
            id: r.id,
            firing: r.firing_id,
            rule: r.rule_id,
            channel: r.channel_id,
            tenant: TenantId::from_uuid(r.tenant_id),
            status: r.status.parse().map_err(|()| {
                unreadable("alert_deliveries.status", r.id, format!("{:?}", r.status))
            })?,
            attempts: r.attempts,
            next_attempt_at: r.next_attempt_at,
            last_error: r.last_error,
            payload: serde_json::from_str(&r.payload)
                .map_err(|e| unreadable("alert_deliveries.payload", r.id, e))?,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

const FIRING_COLUMNS: &str =
    r#"id, rule_id, campaign_id, tenant_id, kind, at, notified, message, "values"::text AS seen"#;

#[derive(sqlx::FromRow)]
struct FiringRow {
    id: Uuid,
    rule_id: Uuid,
    campaign_id: Uuid,
    tenant_id: Uuid,
    kind: String,
    at: DateTime<Utc>,
    notified: bool,
    message: String,
    seen: String,
}

/// A firing kind as stored.
fn firing_kind(s: &str) -> Option<FiringKind> {
    [FiringKind::Fired, FiringKind::Resolved]
        .into_iter()
        .find(|k| k.as_str() == s)
}

impl TryFrom<FiringRow> for FiringRecord {
    type Error = PgError;

    fn try_from(r: FiringRow) -> Result<Self, PgError> {
        Ok(Self {
            id: r.id,
            rule: r.rule_id,
            campaign: CampaignId::from_uuid(r.campaign_id),
            tenant: TenantId::from_uuid(r.tenant_id),
            kind: firing_kind(&r.kind)
                .ok_or_else(|| unreadable("alert_firings.kind", r.id, format!("{:?}", r.kind)))?,
            at: r.at,
            notified: r.notified,
            message: r.message,
            values: serde_json::from_str(&r.seen)
                .map_err(|e| unreadable("alert_firings.values", r.id, e))?,
        })
    }
}

#[derive(sqlx::FromRow)]
struct AttemptRow {
    number: i32,
    at: DateTime<Utc>,
    status_code: Option<i32>,
    error: Option<String>,
    duration_ms: i64,
}

impl From<AttemptRow> for Attempt {
    fn from(r: AttemptRow) -> Self {
        Self {
            number: r.number,
            at: r.at,
            status_code: r.status_code,
            error: r.error,
            duration_ms: r.duration_ms,
        }
    }
}

/// `AlertStore::deliveries`.
pub(super) async fn deliveries(
    db: &Database,
    tenant: TenantId,
    (rule, status): (Option<Uuid>, Option<DeliveryStatus>),
    before: Option<Uuid>,
    limit: i64,
) -> Result<Vec<DeliveryRecord>, PgError> {
    let mut tx = db.tenant_tx(tenant).await?;
    let rows: Vec<DeliveryRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {DELIVERY_COLUMNS} FROM alert_deliveries AS d
         WHERE d.tenant_id = $1 AND ($2::uuid IS NULL OR d.rule_id = $2)
           AND ($3::text IS NULL OR d.status = $3) AND ($4::uuid IS NULL OR d.id < $4)
         ORDER BY d.id DESC LIMIT $5"
    )))
    .bind(tenant.as_uuid())
    .bind(rule)
    .bind(status.map(DeliveryStatus::as_str))
    .bind(before)
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    rows.into_iter().map(TryInto::try_into).collect()
}

/// `AlertStore::delivery`.
pub(super) async fn delivery(
    db: &Database,
    tenant: TenantId,
    id: Uuid,
) -> Result<Option<(DeliveryRecord, Vec<Attempt>)>, PgError> {
    let mut tx = db.tenant_tx(tenant).await?;
    let row: Option<DeliveryRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {DELIVERY_COLUMNS} FROM alert_deliveries AS d WHERE d.id = $1 AND d.tenant_id = $2"
    )))
    .bind(id)
    .bind(tenant.as_uuid())
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        tx.commit().await?;
        return Ok(None);
    };
    let attempts: Vec<AttemptRow> = sqlx::query_as(
        "SELECT number, at, status_code, error, duration_ms FROM alert_delivery_attempts
         WHERE delivery_id = $1 AND tenant_id = $2 ORDER BY number",
    )
    .bind(id)
    .bind(tenant.as_uuid())
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some((
        row.try_into()?,
        attempts.into_iter().map(Attempt::from).collect(),
    )))
}

/// `AlertStore::replay_delivery`.
pub(super) async fn replay(db: &Database, tenant: TenantId, id: Uuid) -> Result<Replayed, PgError> {
    let mut tx = db.tenant_tx(tenant).await?;
    let row: Option<DeliveryRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE alert_deliveries AS d
         SET status = 'pending', next_attempt_at = now(), leased_until = NULL, updated_at = now()
         WHERE d.id = $1 AND d.tenant_id = $2 AND d.status = 'dead'
         RETURNING {DELIVERY_COLUMNS}"
    )))
    .bind(id)
    .bind(tenant.as_uuid())
    .fetch_optional(&mut *tx)
    .await?;
    let outcome =
        match row {
            Some(row) => Replayed::Done(Box::new(row.try_into()?)),
            None => {
                let status: Option<(String,)> = sqlx::query_as(
                    "SELECT status FROM alert_deliveries WHERE id = $1 AND tenant_id = $2",
                )
                .bind(id)
                .bind(tenant.as_uuid())
                .fetch_optional(&mut *tx)
                .await?;
                match status {
                    None => Replayed::NotFound,
                    Some((s,)) => Replayed::NotDead(s.parse().map_err(|()| {
                        unreadable("alert_deliveries.status", id, format!("{s:?}"))
                    })?),
                }
            }
        };
    tx.commit().await?;
    Ok(outcome)
}

/// `AlertStore::firings`.
pub(super) async fn firings(
    db: &Database,
    tenant: TenantId,
    rule: Uuid,
    before: Option<Uuid>,
    limit: i64,
) -> Result<Vec<FiringRecord>, PgError> {
    let mut tx = db.tenant_tx(tenant).await?;
    let rows: Vec<FiringRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {FIRING_COLUMNS} FROM alert_firings
         WHERE tenant_id = $1 AND rule_id = $2 AND ($3::uuid IS NULL OR id < $3)
         ORDER BY id DESC LIMIT $4"
    )))
    .bind(tenant.as_uuid())
    .bind(rule)
    .bind(before)
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    rows.into_iter().map(TryInto::try_into).collect()
}
