//! The alerter's side of Postgres ([`AlertLedger`]): its claims on the
//! window-result stream, what it reads to evaluate a campaign, its fenced
//! commits of states, history and new deliveries, and the outbox's leases.
//!
//! Budget stops and the day split of a campaign's totals are in
//! [`super::budget`].
//!
//! Everything here spans tenants, on the pool's own sessions: the alerter
//! connects as the stream worker does (`Database::connect`, a system
//! session that row-level security lets through), and a commit is fenced
//! by the same `consumer_offsets` row update as the worker's
//! ([`move_offset`]).

use std::collections::BTreeMap;

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
use sqlx::PgConnection;
use uuid::Uuid;

use super::budget;
use super::log::{DELIVERY_COLUMNS, DeliveryRow};
use super::{RULE_COLUMNS, RuleRow};
use crate::aggregates::move_offset;
use crate::{Database, PgError, pg};

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
    type Error = PgError;

    fn try_from(r: CampaignRow) -> Result<Self, PgError> {
        Ok(Self {
            id: CampaignId::from_uuid(r.id),
            tenant: TenantId::from_uuid(r.tenant_id),
            status: r.status.parse().map_err(|()| {
                PgError::Config(format!("unknown campaign status {:?}", r.status).into())
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

/// A leased delivery and its channel.
#[derive(sqlx::FromRow)]
struct DueRow {
    #[sqlx(flatten)]
    delivery: DeliveryRow,
    kind: String,
    target: String,
    secret: Option<String>,
    previous_secret: Option<String>,
    previous_until: Option<DateTime<Utc>>,
}

impl DueRow {
    /// What sending needs at `now`: the previous secret only while its
    /// overlap lasts.
    fn due(self, now: DateTime<Utc>) -> Result<DueDelivery, PgError> {
        let kind = self.kind.parse().map_err(|()| {
            PgError::Config(format!("unknown alert channel kind {:?}", self.kind).into())
        })?;
        let mut secrets: Vec<String> = self.secret.into_iter().collect();
        if let (Some(previous), Some(until)) = (self.previous_secret, self.previous_until)
            && until > now
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

/// Pending, due at `$1` and not leased.
const DUE: &str = "d.status = 'pending' AND d.next_attempt_at <= $1
    AND (d.leased_until IS NULL OR d.leased_until < $1)";

/// Upserts states, the last write of a rule and campaign winning (one
/// statement cannot change a row twice).
async fn upsert_states(tx: &mut PgConnection, states: &[StateWrite]) -> Result<(), PgError> {
    let last: BTreeMap<(Uuid, Uuid), &StateWrite> = states
        .iter()
        .map(|s| ((s.rule, *s.campaign.as_uuid()), s))
        .collect();
    if last.is_empty() {
        return Ok(());
    }
    let (mut rule, mut campaign, mut tenant, mut state) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for s in last.into_values() {
        rule.push(s.rule);
        campaign.push(*s.campaign.as_uuid());
        tenant.push(*s.tenant.as_uuid());
        state.push(serde_json::to_string(&s.state).map_err(|e| PgError::Invalid(Box::new(e)))?);
    }
    sqlx::query(
        "INSERT INTO alert_states (rule_id, campaign_id, tenant_id, state, updated_at)
         SELECT r, c, t, s::jsonb, now()
         FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[]) AS x(r, c, t, s)
         ON CONFLICT (rule_id, campaign_id)
         DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
    )
    .bind(rule)
    .bind(campaign)
    .bind(tenant)
    .bind(state)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

async fn insert_firings(tx: &mut PgConnection, firings: &[FiringRecord]) -> Result<(), PgError> {
    if firings.is_empty() {
        return Ok(());
    }
    let mut ids: [Vec<Uuid>; 4] = Default::default();
    let (mut kind, mut at, mut notified, mut message, mut seen) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for f in firings {
        ids[0].push(f.id);
        ids[1].push(f.rule);
        ids[2].push(*f.campaign.as_uuid());
        ids[3].push(*f.tenant.as_uuid());
        kind.push(f.kind.as_str());
        at.push(f.at);
        notified.push(f.notified);
        message.push(f.message.as_str());
        seen.push(f.values.to_string());
    }
    let [id, rule, campaign, tenant] = ids;
    sqlx::query(
        r#"INSERT INTO alert_firings
               (id, rule_id, campaign_id, tenant_id, kind, at, notified, message, "values")
           SELECT i, r, c, t, k, a, n, m, v::jsonb
           FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::text[],
                       $6::timestamptz[], $7::boolean[], $8::text[], $9::text[])
               AS x(i, r, c, t, k, a, n, m, v)"#,
    )
    .bind(id)
    .bind(rule)
    .bind(campaign)
    .bind(tenant)
    .bind(kind)
    .bind(at)
    .bind(notified)
    .bind(message)
    .bind(seen)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Inserts new deliveries: pending, without attempts, due at their
/// `next_attempt_at` (at their creation if it has none).
async fn insert_deliveries(
    tx: &mut PgConnection,
    deliveries: &[DeliveryRecord],
) -> Result<(), PgError> {
    if deliveries.is_empty() {
        return Ok(());
    }
    let mut ids: [Vec<Uuid>; 5] = Default::default();
    let mut times: [Vec<DateTime<Utc>>; 3] = Default::default();
    let mut payload = Vec::new();
    for d in deliveries {
        ids[0].push(d.id);
        ids[1].push(d.firing);
        ids[2].push(d.rule);
        ids[3].push(d.channel);
        ids[4].push(*d.tenant.as_uuid());
        times[0].push(d.next_attempt_at.unwrap_or(d.created_at));
        times[1].push(d.created_at);
        times[2].push(d.updated_at);
        payload.push(d.payload.to_string());
    }
    let [id, firing, rule, channel, tenant] = ids;
    let [due, created, updated] = times;
    sqlx::query(
        "INSERT INTO alert_deliveries (id, firing_id, rule_id, channel_id, tenant_id, status,
                                       attempts, next_attempt_at, payload, created_at, updated_at)
         SELECT i, f, r, ch, t, 'pending', 0, n, p::jsonb, c, u
         FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::uuid[],
                     $6::timestamptz[], $7::text[], $8::timestamptz[], $9::timestamptz[])
             AS x(i, f, r, ch, t, n, p, c, u)",
    )
    .bind(id)
    .bind(firing)
    .bind(rule)
    .bind(channel)
    .bind(tenant)
    .bind(due)
    .bind(payload)
    .bind(created)
    .bind(updated)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Marks dead the due deliveries whose channel is gone (deleted after its
/// rule was evaluated), so no lease returns them again.
async fn bury_orphans(tx: &mut PgConnection, now: DateTime<Utc>) -> Result<(), PgError> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE alert_deliveries
         SET status = 'dead', last_error = 'channel deleted', next_attempt_at = NULL,
             leased_until = NULL, updated_at = now()
         WHERE id IN (
             SELECT d.id FROM alert_deliveries AS d
             WHERE {DUE}
               AND NOT EXISTS (SELECT 1 FROM alert_channels AS c
                               WHERE c.id = d.channel_id AND c.tenant_id = d.tenant_id)
             FOR UPDATE SKIP LOCKED)"
    )))
    .bind(now)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

#[async_trait::async_trait]
impl AlertLedger for Database {
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
        pg(async move {
            let rows: Vec<CampaignRow> = sqlx::query_as(
                "SELECT id, tenant_id, name, brand_id, timezone, budget_total_micros,
                        budget_daily_cap_micros, status
                 FROM campaigns WHERE id = ANY($1) AND deleted_at IS NULL ORDER BY id",
            )
            .bind(&ids)
            .fetch_all(self.pool())
            .await?;
            rows.into_iter().map(TryInto::try_into).collect()
        })
        .await
    }

    async fn enabled_rules(&self, tenants: &[TenantId]) -> Result<Vec<RuleRecord>, StoreError> {
        let tenants: Vec<Uuid> = tenants.iter().map(|t| *t.as_uuid()).collect();
        pg(async move {
            let rows: Vec<RuleRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {RULE_COLUMNS} FROM alert_rules
                 WHERE tenant_id = ANY($1) AND enabled ORDER BY tenant_id, id"
            )))
            .bind(&tenants)
            .fetch_all(self.pool())
            .await?;
            rows.into_iter().map(TryInto::try_into).collect()
        })
        .await
    }

    async fn day_base(
        &self,
        campaign: CampaignId,
        zone: &str,
        day_start: DateTime<Utc>,
    ) -> Result<DayBase, StoreError> {
        pg(budget::day_base(self, campaign, zone, day_start)).await
    }

    async fn recorded_stop(
        &self,
        campaign: CampaignId,
    ) -> Result<Option<StoppedCampaign>, StoreError> {
        pg(budget::recorded(self, campaign)).await
    }

    async fn alert_states(
        &self,
        campaign: CampaignId,
    ) -> Result<Vec<(Uuid, AlertState)>, StoreError> {
        pg(async move {
            let rows: Vec<(Uuid, String)> = sqlx::query_as(
                "SELECT rule_id, state::text FROM alert_states WHERE campaign_id = $1 ORDER BY rule_id",
            )
            .bind(campaign.as_uuid())
            .fetch_all(self.pool())
            .await?;
            rows.into_iter()
                .map(|(rule, state)| {
                    let state = serde_json::from_str(&state).map_err(|e| {
                        PgError::Config(
                            format!("unreadable alert state of rule {rule} on {campaign}: {e}")
                                .into(),
                        )
                    })?;
                    Ok((rule, state))
                })
                .collect()
        })
        .await
    }

    async fn commit_alerts(
        &self,
        claim: &mut Claim,
        next_offset: i64,
        commit: &AlertCommit,
    ) -> Result<bool, StoreError> {
        pg(async move {
            let mut tx = self.pool().begin().await?;
            if !move_offset(&mut tx, claim, next_offset).await? {
                tx.rollback().await?;
                return Ok(false);
            }
            budget::write_stops(&mut tx, &commit.stops).await?;
            upsert_states(&mut tx, &commit.states).await?;
            // Firings first: deliveries reference them.
            insert_firings(&mut tx, &commit.firings).await?;
            insert_deliveries(&mut tx, &commit.deliveries).await?;
            tx.commit().await?;
            claim.next_offset = next_offset;
            Ok(true)
        })
        .await
    }

    async fn lease_deliveries(
        &self,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<DueDelivery>, StoreError> {
        pg(async move {
            let mut tx = self.pool().begin().await?;
            bury_orphans(&mut tx, now).await?;
            // SKIP LOCKED: rows another alerter is leasing right now are
            // passed over, not waited for (and its lease then hides them).
            let rows: Vec<DueRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "WITH due AS (
                     SELECT d.id FROM alert_deliveries AS d
                     WHERE {DUE}
                     ORDER BY d.next_attempt_at, d.id LIMIT $3
                     FOR UPDATE SKIP LOCKED)
                 UPDATE alert_deliveries AS d SET leased_until = $2
                 FROM due, alert_channels AS c
                 WHERE d.id = due.id AND c.id = d.channel_id AND c.tenant_id = d.tenant_id
                 RETURNING {DELIVERY_COLUMNS}, c.kind, c.target, c.secret, c.previous_secret,
                           c.previous_until"
            )))
            .bind(now)
            .bind(until)
            .bind(limit)
            .fetch_all(&mut *tx)
            .await?;
            tx.commit().await?;
            let mut due = rows
                .into_iter()
                .map(|r| r.due(now))
                .collect::<Result<Vec<_>, _>>()?;
            due.sort_by_key(|d| (d.delivery.next_attempt_at, d.delivery.id));
            Ok(due)
        })
        .await
    }

    async fn record_attempt(
        &self,
        id: Uuid,
        attempt: &Attempt,
        next: NextStep,
    ) -> Result<(), StoreError> {
        let (status, next_at) = match next {
            NextStep::Sent => ("sent", None),
            NextStep::RetryAt(at) => ("pending", Some(at)),
            NextStep::Dead => ("dead", None),
        };
        pg(async move {
            let mut tx = self.pool().begin().await?;
            sqlx::query(
                "INSERT INTO alert_delivery_attempts
                     (delivery_id, number, tenant_id, at, status_code, error, duration_ms)
                 SELECT id, $2, tenant_id, $3, $4, $5, $6 FROM alert_deliveries WHERE id = $1",
            )
            .bind(id)
            .bind(attempt.number)
            .bind(attempt.at)
            .bind(attempt.status_code)
            .bind(&attempt.error)
            .bind(attempt.duration_ms)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "UPDATE alert_deliveries
                 SET attempts = $2, last_error = $3, status = $4, next_attempt_at = $5,
                     leased_until = NULL, updated_at = now()
                 WHERE id = $1",
            )
            .bind(id)
            .bind(attempt.number)
            .bind(&attempt.error)
            .bind(status)
            .bind(next_at)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(())
        })
        .await
    }
}
