//! The delivery log and the firing history as the API reads them (every
//! statement names the tenant), and the rows both this and the alerter's
//! ledger read back.
//!
//! Ids of firings and deliveries are time-ordered (v7), so newest first
//! is `id DESC` (16-byte blobs compare as the uuids do) and a page
//! continues `before` the last id it showed.

use adpulse_domain::alert::ledger::{
    Attempt, DeliveryRecord, DeliveryStatus, FiringKind, FiringRecord,
};
use adpulse_domain::ports::Replayed;
use adpulse_domain::store::StoreError;
use adpulse_domain::{CampaignId, TenantId};
use chrono::Utc;
use uuid::Uuid;

use crate::{Lite, failed, instant, micros, write_tx};

/// A delivery's columns, of `alert_deliveries AS d`.
pub(super) const DELIVERY_COLUMNS: &str = "d.id, d.firing_id, d.rule_id, d.channel_id, d.tenant_id,
    d.status, d.attempts, d.next_attempt_at, d.last_error, d.payload, d.created_at, d.updated_at";

#[derive(sqlx::FromRow)]
pub(super) struct DeliveryRow {
    id: Uuid,
    firing_id: Uuid,
    rule_id: Uuid,
    channel_id: Uuid,
    tenant_id: Uuid,
    status: String,
    attempts: i32,
    next_attempt_at: Option<i64>,
    last_error: Option<String>,
    payload: String,
    created_at: i64,
    updated_at: i64,
}

/// A stored value this build cannot read.
fn unreadable(what: &str, id: Uuid, why: impl std::fmt::Display) -> StoreError {
    StoreError::Config(format!("unreadable {what} of {id}: {why}").into())
}

fn status(id: Uuid, s: &str) -> Result<DeliveryStatus, StoreError> {
    s.parse()
        .map_err(|()| unreadable("alert_deliveries.status", id, format!("{s:?}")))
}

impl TryFrom<DeliveryRow> for DeliveryRecord {
    type Error = StoreError;

    fn try_from(r: DeliveryRow) -> Result<Self, StoreError> {
        Ok(Self {
            id: r.id,
            firing: r.firing_id,
            rule: r.rule_id,
            channel: r.channel_id,
            tenant: TenantId::from_uuid(r.tenant_id),
            status: status(r.id, &r.status)?,
            attempts: r.attempts,
            next_attempt_at: r.next_attempt_at.map(instant),
            last_error: r.last_error,
            payload: serde_json::from_str(&r.payload)
                .map_err(|e| unreadable("alert_deliveries.payload", r.id, e))?,
            created_at: instant(r.created_at),
            updated_at: instant(r.updated_at),
        })
    }
}

const FIRING_COLUMNS: &str =
    r#"id, rule_id, campaign_id, tenant_id, kind, at, notified, message, "values" AS seen"#;

#[derive(sqlx::FromRow)]
struct FiringRow {
    id: Uuid,
    rule_id: Uuid,
    campaign_id: Uuid,
    tenant_id: Uuid,
    kind: String,
    at: i64,
    notified: bool,
    message: String,
    seen: String,
}

impl TryFrom<FiringRow> for FiringRecord {
    type Error = StoreError;

    fn try_from(r: FiringRow) -> Result<Self, StoreError> {
        let kind = [FiringKind::Fired, FiringKind::Resolved]
            .into_iter()
            .find(|k| k.as_str() == r.kind)
            .ok_or_else(|| unreadable("alert_firings.kind", r.id, format!("{:?}", r.kind)))?;
        Ok(Self {
            id: r.id,
            rule: r.rule_id,
            campaign: CampaignId::from_uuid(r.campaign_id),
            tenant: TenantId::from_uuid(r.tenant_id),
            kind,
            at: instant(r.at),
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
    at: i64,
    status_code: Option<i32>,
    error: Option<String>,
    duration_ms: i64,
}

impl From<AttemptRow> for Attempt {
    fn from(r: AttemptRow) -> Self {
        Self {
            number: r.number,
            at: instant(r.at),
            status_code: r.status_code,
            error: r.error,
            duration_ms: r.duration_ms,
        }
    }
}

/// SQLite reads a negative LIMIT as none; Postgres refuses it.
fn checked(limit: i64) -> Result<i64, StoreError> {
    if limit < 0 {
        return Err(StoreError::Invalid("LIMIT must not be negative".into()));
    }
    Ok(limit)
}

/// `AlertStore::deliveries`.
pub(super) async fn deliveries(
    lite: &Lite,
    tenant: TenantId,
    (rule, status): (Option<Uuid>, Option<DeliveryStatus>),
    before: Option<Uuid>,
    limit: i64,
) -> Result<Vec<DeliveryRecord>, StoreError> {
    let rows: Vec<DeliveryRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {DELIVERY_COLUMNS} FROM alert_deliveries AS d
         WHERE d.tenant_id = ?1 AND (?2 IS NULL OR d.rule_id = ?2)
           AND (?3 IS NULL OR d.status = ?3) AND (?4 IS NULL OR d.id < ?4)
         ORDER BY d.id DESC LIMIT ?5"
    )))
    .bind(tenant.as_uuid())
    .bind(rule)
    .bind(status.map(DeliveryStatus::as_str))
    .bind(before)
    .bind(checked(limit)?)
    .fetch_all(lite.pool())
    .await
    .map_err(failed)?;
    rows.into_iter().map(TryInto::try_into).collect()
}

/// `AlertStore::delivery`: one read transaction, so the attempts match
/// the record.
pub(super) async fn delivery(
    lite: &Lite,
    tenant: TenantId,
    id: Uuid,
) -> Result<Option<(DeliveryRecord, Vec<Attempt>)>, StoreError> {
    let mut tx = lite.pool().begin().await.map_err(failed)?;
    let row: Option<DeliveryRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {DELIVERY_COLUMNS} FROM alert_deliveries AS d WHERE d.id = ?1 AND d.tenant_id = ?2"
    )))
    .bind(id)
    .bind(tenant.as_uuid())
    .fetch_optional(&mut *tx)
    .await
    .map_err(failed)?;
    let Some(row) = row else {
        return Ok(None);
    };
    let attempts: Vec<AttemptRow> = sqlx::query_as(
        "SELECT number, at, status_code, error, duration_ms FROM alert_delivery_attempts
         WHERE delivery_id = ?1 AND tenant_id = ?2 ORDER BY number",
    )
    .bind(id)
    .bind(tenant.as_uuid())
    .fetch_all(&mut *tx)
    .await
    .map_err(failed)?;
    tx.commit().await.map_err(failed)?;
    Ok(Some((
        row.try_into()?,
        attempts.into_iter().map(Attempt::from).collect(),
    )))
}

/// `AlertStore::replay_delivery`.
pub(super) async fn replay(
    lite: &Lite,
    tenant: TenantId,
    id: Uuid,
) -> Result<Replayed, StoreError> {
    let now = micros(Utc::now());
    let mut tx = write_tx(lite.writer()).await?;
    let current: Option<(String,)> =
        sqlx::query_as("SELECT status FROM alert_deliveries WHERE id = ?1 AND tenant_id = ?2")
            .bind(id)
            .bind(tenant.as_uuid())
            .fetch_optional(&mut *tx)
            .await
            .map_err(failed)?;
    let outcome = match current {
        None => Replayed::NotFound,
        Some((s,)) if s != DeliveryStatus::Dead.as_str() => Replayed::NotDead(status(id, &s)?),
        Some(_) => {
            sqlx::query(
                "UPDATE alert_deliveries
                 SET status = 'pending', next_attempt_at = ?3, leased_until = NULL, updated_at = ?3
                 WHERE id = ?1 AND tenant_id = ?2",
            )
            .bind(id)
            .bind(tenant.as_uuid())
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(failed)?;
            let row: DeliveryRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {DELIVERY_COLUMNS} FROM alert_deliveries AS d WHERE d.id = ?1"
            )))
            .bind(id)
            .fetch_one(&mut *tx)
            .await
            .map_err(failed)?;
            Replayed::Done(Box::new(row.try_into()?))
        }
    };
    tx.commit().await.map_err(failed)?;
    Ok(outcome)
}

/// `AlertStore::firings`.
pub(super) async fn firings(
    lite: &Lite,
    tenant: TenantId,
    rule: Uuid,
    before: Option<Uuid>,
    limit: i64,
) -> Result<Vec<FiringRecord>, StoreError> {
    let rows: Vec<FiringRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {FIRING_COLUMNS} FROM alert_firings
         WHERE tenant_id = ?1 AND rule_id = ?2 AND (?3 IS NULL OR id < ?3)
         ORDER BY id DESC LIMIT ?4"
    )))
    .bind(tenant.as_uuid())
    .bind(rule)
    .bind(before)
    .bind(checked(limit)?)
    .fetch_all(lite.pool())
    .await
    .map_err(failed)?;
    rows.into_iter().map(TryInto::try_into).collect()
}
