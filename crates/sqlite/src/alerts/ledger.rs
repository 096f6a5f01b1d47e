//! The alerter's side of SQLite ([`AlertLedger`]): its claims on the
//! window-result stream, what it reads to evaluate a campaign, its fenced
//! commits of states, history and new deliveries, and the outbox's leases.
//!
//! Budget stops and the day split of a campaign's totals are in
//! [`super::budget`].
//!
//! A commit is fenced by the same `consumer_offsets` row update as the
//! stream worker's ([`move_offset`]). Writes take the write lock first
//! (`BEGIN IMMEDIATE`), so a lease is one alerter's alone without the
//! row locks Postgres needs.

use adpulse_domain::alert::ledger::{
    AlertCampaign, AlertCommit, Attempt, DayBase, DeliveryRecord, DueDelivery, FiringRecord,
    NextStep, StateWrite,
};
use adpulse_domain::alert::{AlertState, RuleRecord};
use adpulse_domain::budget::{BudgetLimits, StoppedCampaign};
use adpulse_domain::ports::{AggregateSink, AlertLedger};
use adpulse_domain::store::{Claim, StoreError};
use adpulse_domain::{CampaignId, TenantId};
use chrono::{DateTime, Utc};
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

/// Ids bound in one statement, at most (SQLite's limit is 32,766).
const IDS_PER_STATEMENT: usize = 5_000;
use uuid::Uuid;

use super::budget;
use super::log::{DELIVERY_COLUMNS, DeliveryRow};
use super::{RULE_COLUMNS, RuleRow};
use crate::aggregates::move_offset;
use crate::{Lite, failed, instant, micros, write_tx};

#[derive(sqlx::FromRow)]
struct CampaignRow {
    id: Uuid,
    tenant_id: Uuid,
    name: String,
    brand_id: Option<String>,
    timezone: String,
    budget_total_micros: Option<i64>,
    budget_daily_cap_micros: Option<i64>,
    status: String,
}

impl TryFrom<CampaignRow> for AlertCampaign {
    type Error = StoreError;

    fn try_from(r: CampaignRow) -> Result<Self, StoreError> {
        Ok(Self {
            id: CampaignId::from_uuid(r.id),
            tenant: TenantId::from_uuid(r.tenant_id),
            status: r.status.parse().map_err(|()| {
                StoreError::Config(format!("unknown campaign status {:?}", r.status).into())
            })?,
            name: r.name,
            brand_id: r.brand_id,
            timezone: r.timezone,
            budget: BudgetLimits {
                total_micros: r.budget_total_micros,
                daily_cap_micros: r.budget_daily_cap_micros,
            },
        })
    }
}

/// A due delivery and its channel.
#[derive(sqlx::FromRow)]
struct DueRow {
    #[sqlx(flatten)]
    delivery: DeliveryRow,
    kind: String,
    target: String,
    secret: Option<String>,
    previous_secret: Option<String>,
    previous_until: Option<i64>,
}

impl DueRow {
    /// What sending needs at `now`: the previous secret only while its
    /// overlap lasts.
    fn due(self, now: DateTime<Utc>) -> Result<DueDelivery, StoreError> {
        let kind = self.kind.parse().map_err(|()| {
            StoreError::Config(format!("unknown alert channel kind {:?}", self.kind).into())
        })?;
        let mut secrets: Vec<String> = self.secret.into_iter().collect();
        if let (Some(previous), Some(until)) = (self.previous_secret, self.previous_until)
            && instant(until) > now
        {
            secrets.push(previous);
        }
        Ok(DueDelivery {
            delivery: self.delivery.try_into()?,
            kind,
            target: self.target,
            secrets,
        })
    }
}

/// Pending, due at `?1` and not leased.
const DUE: &str = "d.status = 'pending' AND d.next_attempt_at <= ?1
    AND (d.leased_until IS NULL OR d.leased_until < ?1)";

/// Upserts states in order (a later write of a rule and campaign wins).
async fn upsert_states(
    tx: &mut SqliteConnection,
    states: &[StateWrite],
    now: i64,
) -> Result<(), StoreError> {
    for s in states {
        let state =
            serde_json::to_string(&s.state).map_err(|e| StoreError::Invalid(Box::new(e)))?;
        sqlx::query(
            "INSERT INTO alert_states (rule_id, campaign_id, tenant_id, state, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (rule_id, campaign_id)
             DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
        )
        .bind(s.rule)
        .bind(s.campaign.as_uuid())
        .bind(s.tenant.as_uuid())
        .bind(state)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(failed)?;
    }
    Ok(())
}

async fn insert_firings(
    tx: &mut SqliteConnection,
    firings: &[FiringRecord],
) -> Result<(), StoreError> {
    for f in firings {
        sqlx::query(
            r#"INSERT INTO alert_firings
                   (id, rule_id, campaign_id, tenant_id, kind, at, notified, message, "values")
               VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"#,
        )
        .bind(f.id)
        .bind(f.rule)
        .bind(f.campaign.as_uuid())
        .bind(f.tenant.as_uuid())
        .bind(f.kind.as_str())
        .bind(micros(f.at))
        .bind(f.notified)
        .bind(&f.message)
        .bind(f.values.to_string())
        .execute(&mut *tx)
        .await
        .map_err(failed)?;
    }
    Ok(())
}

/// Inserts new deliveries: pending, without attempts, due at their
/// `next_attempt_at` (at their creation if it has none).
async fn insert_deliveries(
    tx: &mut SqliteConnection,
    deliveries: &[DeliveryRecord],
) -> Result<(), StoreError> {
    for d in deliveries {
        sqlx::query(
            "INSERT INTO alert_deliveries (id, firing_id, rule_id, channel_id, tenant_id, status,
                                           attempts, next_attempt_at, payload, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, 'pending', 0, ?6, ?7, ?8, ?9)",
        )
        .bind(d.id)
        .bind(d.firing)
        .bind(d.rule)
        .bind(d.channel)
        .bind(d.tenant.as_uuid())
        .bind(micros(d.next_attempt_at.unwrap_or(d.created_at)))
        .bind(d.payload.to_string())
        .bind(micros(d.created_at))
        .bind(micros(d.updated_at))
        .execute(&mut *tx)
        .await
        .map_err(failed)?;
    }
    Ok(())
}

/// Marks dead the due deliveries whose channel is gone (deleted after its
/// rule was evaluated), so no lease returns them again.
async fn bury_orphans(tx: &mut SqliteConnection, now: DateTime<Utc>) -> Result<(), StoreError> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE alert_deliveries
         SET status = 'dead', last_error = 'channel deleted', next_attempt_at = NULL,
             leased_until = NULL, updated_at = ?2
         WHERE id IN (
             SELECT d.id FROM alert_deliveries AS d
             WHERE {DUE}
               AND NOT EXISTS (SELECT 1 FROM alert_channels AS c
                               WHERE c.id = d.channel_id AND c.tenant_id = d.tenant_id))"
    )))
    .bind(micros(now))
    .bind(micros(Utc::now()))
    .execute(&mut *tx)
    .await
    .map_err(failed)?;
    Ok(())
}

#[async_trait::async_trait]
impl AlertLedger for Lite {
    async fn recent_points(
        &self,
        campaign: CampaignId,
        since: DateTime<Utc>,
    ) -> Result<Vec<adpulse_domain::aggregate::LivePoint>, StoreError> {
        adpulse_domain::ports::AggregateSink::live_series(self, &[campaign], since).await
    }

    async fn claim_alerts(
        &self,
        group: &str,
        topic: &str,
        partition: i32,
    ) -> Result<Claim, StoreError> {
        AggregateSink::claim_partition(self, group, topic, partition).await
    }

    async fn alert_campaigns(&self, ids: &[CampaignId]) -> Result<Vec<AlertCampaign>, StoreError> {
        let ids: Vec<Uuid> = ids.iter().map(|c| *c.as_uuid()).collect();
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(IDS_PER_STATEMENT) {
            let mut b: QueryBuilder<Sqlite> = QueryBuilder::new(
                "SELECT id, tenant_id, name, brand_id, timezone, budget_total_micros,
                        budget_daily_cap_micros, status
                 FROM campaigns WHERE deleted_at IS NULL AND id IN (",
            );
            let mut list = b.separated(", ");
            for id in chunk {
                list.push_bind(*id);
            }
            b.push(") ORDER BY id");
            let rows: Vec<CampaignRow> = b
                .build_query_as()
                .fetch_all(self.pool())
                .await
                .map_err(failed)?;
            for row in rows {
                out.push(row.try_into()?);
            }
        }
        Ok(out)
    }

    async fn enabled_rules(&self, tenants: &[TenantId]) -> Result<Vec<RuleRecord>, StoreError> {
        let tenants: Vec<Uuid> = tenants.iter().map(|t| *t.as_uuid()).collect();
        let mut out = Vec::new();
        for chunk in tenants.chunks(IDS_PER_STATEMENT) {
            let mut b: QueryBuilder<Sqlite> = QueryBuilder::new(format!(
                "SELECT {RULE_COLUMNS} FROM alert_rules WHERE enabled = 1 AND tenant_id IN ("
            ));
            let mut list = b.separated(", ");
            for t in chunk {
                list.push_bind(*t);
            }
            b.push(") ORDER BY tenant_id, id");
            let rows: Vec<RuleRow> = b
                .build_query_as()
                .fetch_all(self.pool())
                .await
                .map_err(failed)?;
            for row in rows {
                out.push(row.try_into()?);
            }
        }
        Ok(out)
    }

    async fn day_base(
        &self,
        campaign: CampaignId,
        zone: &str,
        day_start: DateTime<Utc>,
    ) -> Result<DayBase, StoreError> {
        budget::day_base(self, campaign, zone, day_start).await
    }

    async fn recorded_stop(
        &self,
        campaign: CampaignId,
    ) -> Result<Option<StoppedCampaign>, StoreError> {
        budget::recorded(self, campaign).await
    }

    async fn alert_states(
        &self,
        campaign: CampaignId,
    ) -> Result<Vec<(Uuid, AlertState)>, StoreError> {
        let rows: Vec<(Uuid, String)> = sqlx::query_as(
            "SELECT rule_id, state FROM alert_states WHERE campaign_id = ?1 ORDER BY rule_id",
        )
        .bind(campaign.as_uuid())
        .fetch_all(self.pool())
        .await
        .map_err(failed)?;
        rows.into_iter()
            .map(|(rule, state)| {
                let state = serde_json::from_str(&state).map_err(|e| {
                    StoreError::Config(
                        format!("unreadable alert state of rule {rule} on {campaign}: {e}").into(),
                    )
                })?;
                Ok((rule, state))
            })
            .collect()
    }

    async fn commit_alerts(
        &self,
        claim: &mut Claim,
        next_offset: i64,
        commit: &AlertCommit,
    ) -> Result<bool, StoreError> {
        let now = Utc::now();
        let mut tx = write_tx(self.writer()).await?;
        if !move_offset(&mut tx, claim, next_offset, now).await? {
            tx.rollback().await.map_err(failed)?;
            return Ok(false);
        }
        budget::write_stops(&mut tx, &commit.stops, micros(now)).await?;
        upsert_states(&mut tx, &commit.states, micros(now)).await?;
        // Firings first: deliveries reference them.
        insert_firings(&mut tx, &commit.firings).await?;
        insert_deliveries(&mut tx, &commit.deliveries).await?;
        tx.commit().await.map_err(failed)?;
        claim.next_offset = next_offset;
        Ok(true)
    }

    async fn lease_deliveries(
        &self,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<DueDelivery>, StoreError> {
        if limit < 0 {
            return Err(StoreError::Invalid("LIMIT must not be negative".into()));
        }
        let mut tx = write_tx(self.writer()).await?;
        bury_orphans(&mut tx, now).await?;
        let rows: Vec<DueRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {DELIVERY_COLUMNS}, c.kind, c.target, c.secret, c.previous_secret,
                    c.previous_until
             FROM alert_deliveries AS d
             JOIN alert_channels AS c ON c.id = d.channel_id AND c.tenant_id = d.tenant_id
             WHERE {DUE}
             ORDER BY d.next_attempt_at, d.id LIMIT ?2"
        )))
        .bind(micros(now))
        .bind(limit)
        .fetch_all(&mut *tx)
        .await
        .map_err(failed)?;
        let due = rows
            .into_iter()
            .map(|r| r.due(now))
            .collect::<Result<Vec<_>, _>>()?;
        for d in &due {
            sqlx::query("UPDATE alert_deliveries SET leased_until = ?2 WHERE id = ?1")
                .bind(d.delivery.id)
                .bind(micros(until))
                .execute(&mut *tx)
                .await
                .map_err(failed)?;
        }
        tx.commit().await.map_err(failed)?;
        Ok(due)
    }

    async fn record_attempt(
        &self,
        id: Uuid,
        attempt: &Attempt,
        next: NextStep,
    ) -> Result<(), StoreError> {
        let (status, next_at) = match next {
            NextStep::Sent => ("sent", None),
            NextStep::RetryAt(at) => ("pending", Some(micros(at))),
            NextStep::Dead => ("dead", None),
        };
        let mut tx = write_tx(self.writer()).await?;
        sqlx::query(
            "INSERT INTO alert_delivery_attempts
                 (delivery_id, number, tenant_id, at, status_code, error, duration_ms)
             SELECT id, ?2, tenant_id, ?3, ?4, ?5, ?6 FROM alert_deliveries WHERE id = ?1",
        )
        .bind(id)
        .bind(attempt.number)
        .bind(micros(attempt.at))
        .bind(attempt.status_code)
        .bind(&attempt.error)
        .bind(attempt.duration_ms)
        .execute(&mut *tx)
        .await
        .map_err(failed)?;
        sqlx::query(
            "UPDATE alert_deliveries
             SET attempts = ?2, last_error = ?3, status = ?4, next_attempt_at = ?5,
                 leased_until = NULL, updated_at = ?6
             WHERE id = ?1",
        )
        .bind(id)
        .bind(attempt.number)
        .bind(&attempt.error)
        .bind(status)
        .bind(next_at)
        .bind(micros(Utc::now()))
        .execute(&mut *tx)
        .await
        .map_err(failed)?;
        tx.commit().await.map_err(failed)?;
        Ok(())
    }
}
