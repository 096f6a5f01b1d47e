//! Kill switches on Postgres ([`Switches`]): one row per switch in force,
//! and the audit trail appended in the same transaction as each change.

use adpulse_domain::ports::Switches;
use adpulse_domain::store::StoreError;
use adpulse_domain::switch::{Switch, SwitchAction, SwitchAudit, SwitchRecord};
use chrono::{DateTime, Utc};

use crate::{Database, PgError, pg};

type Row = (sqlx::types::Json<Switch>, String, String, DateTime<Utc>);

fn record((switch, actor, reason, set_at): Row) -> SwitchRecord {
    SwitchRecord {
        switch: switch.0,
        actor,
        reason,
        set_at,
    }
}

#[async_trait::async_trait]
impl Switches for Database {
    async fn switches(&self) -> Result<Vec<SwitchRecord>, StoreError> {
        pg(async move {
            let rows: Vec<Row> = sqlx::query_as(
                "SELECT switch, actor, reason, set_at FROM kill_switches ORDER BY key",
            )
            .fetch_all(self.pool())
            .await?;
            Ok(rows.into_iter().map(record).collect())
        })
        .await
    }

    async fn set_switch(
        &self,
        switch: &Switch,
        actor: &str,
        reason: &str,
    ) -> Result<SwitchRecord, StoreError> {
        pg(async move {
            let mut tx = self.pool().begin().await?;
            let key = switch.key();
            let row: Row = sqlx::query_as(
                "INSERT INTO kill_switches (key, switch, actor, reason) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (key) DO UPDATE SET switch = excluded.switch, actor = excluded.actor,
                     reason = excluded.reason, set_at = now()
                 RETURNING switch, actor, reason, set_at",
            )
            .bind(&key)
            .bind(sqlx::types::Json(switch))
            .bind(actor)
            .bind(reason)
            .fetch_one(&mut *tx)
            .await?;
            audit(&mut tx, &key, switch, SwitchAction::Set, actor, reason).await?;
            tx.commit().await?;
            Ok(record(row))
        })
        .await
    }

    async fn clear_switch(
        &self,
        key: &str,
        actor: &str,
        reason: &str,
    ) -> Result<Option<SwitchRecord>, StoreError> {
        pg(async move {
            let mut tx = self.pool().begin().await?;
            let row: Option<Row> = sqlx::query_as(
                "DELETE FROM kill_switches WHERE key = $1 RETURNING switch, actor, reason, set_at",
            )
            .bind(key)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(row) = row else {
                return Ok(None);
            };
            audit(&mut tx, key, &row.0.0, SwitchAction::Cleared, actor, reason).await?;
            tx.commit().await?;
            Ok(Some(record(row)))
        })
        .await
    }

    async fn switch_audit(
        &self,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<SwitchAudit>, StoreError> {
        type AuditRow = (
            i64,
            String,
            sqlx::types::Json<Switch>,
            String,
            String,
            String,
            DateTime<Utc>,
        );
        let rows: Vec<AuditRow> = pg(async move {
            Ok(sqlx::query_as(
                "SELECT seq, key, switch, action, actor, reason, at FROM kill_switch_audit
                 WHERE seq < $1 ORDER BY seq DESC LIMIT $2",
            )
            .bind(before.unwrap_or(i64::MAX))
            .bind(i64::from(limit))
            .fetch_all(self.pool())
            .await?)
        })
        .await?;
        rows.into_iter()
            .map(|(seq, key, switch, action, actor, reason, at)| {
                Ok(SwitchAudit {
                    seq,
                    key,
                    switch: switch.0,
                    action: SwitchAction::parse(&action).ok_or_else(|| {
                        StoreError::Config(format!("unknown switch action {action:?}").into())
                    })?,
                    actor,
                    reason,
                    at,
                })
            })
            .collect()
    }
}

async fn audit(
    tx: &mut sqlx::PgConnection,
    key: &str,
    switch: &Switch,
    action: SwitchAction,
    actor: &str,
    reason: &str,
) -> Result<(), PgError> {
    sqlx::query(
        "INSERT INTO kill_switch_audit (key, switch, action, actor, reason)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(key)
    .bind(sqlx::types::Json(switch))
    .bind(action.as_str())
    .bind(actor)
    .bind(reason)
    .execute(tx)
    .await?;
    Ok(())
}
