//! Kill switches on SQLite ([`Switches`]): the same answers as the
//! Postgres adapter's, the switch kept as JSON text, each change and its
//! audit line written under the one write lock.

use adpulse_domain::ports::Switches;
use adpulse_domain::store::StoreError;
use adpulse_domain::switch::{Switch, SwitchAction, SwitchAudit, SwitchRecord};
use chrono::Utc;
use sqlx::SqliteConnection;

use crate::{Lite, failed, instant, micros, write_tx};

type Row = (String, String, String, i64);

fn record((switch, actor, reason, set_at): Row) -> Result<SwitchRecord, StoreError> {
    Ok(SwitchRecord {
        switch: decode(&switch)?,
        actor,
        reason,
        set_at: instant(set_at),
    })
}

fn decode(json: &str) -> Result<Switch, StoreError> {
    serde_json::from_str(json)
        .map_err(|e| StoreError::Config(format!("unreadable kill switch {json:?}: {e}").into()))
}

fn encode(switch: &Switch) -> Result<String, StoreError> {
    serde_json::to_string(switch).map_err(|e| StoreError::Config(e.to_string().into()))
}

#[async_trait::async_trait]
impl Switches for Lite {
    async fn switches(&self) -> Result<Vec<SwitchRecord>, StoreError> {
        let rows: Vec<Row> =
            sqlx::query_as("SELECT switch, actor, reason, set_at FROM kill_switches ORDER BY key")
                .fetch_all(self.pool())
                .await
                .map_err(failed)?;
        rows.into_iter().map(record).collect()
    }

    async fn set_switch(
        &self,
        switch: &Switch,
        actor: &str,
        reason: &str,
    ) -> Result<SwitchRecord, StoreError> {
        let key = switch.key();
        let json = encode(switch)?;
        let now = micros(Utc::now());
        let mut tx = write_tx(self.writer()).await?;
        sqlx::query(
            "INSERT INTO kill_switches (key, switch, actor, reason, set_at) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (key) DO UPDATE SET switch = excluded.switch, actor = excluded.actor,
                 reason = excluded.reason, set_at = excluded.set_at",
        )
        .bind(&key)
        .bind(&json)
        .bind(actor)
        .bind(reason)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(failed)?;
        audit(&mut tx, &key, &json, SwitchAction::Set, actor, reason, now).await?;
        tx.commit().await.map_err(failed)?;
        Ok(SwitchRecord {
            switch: switch.clone(),
            actor: actor.to_owned(),
            reason: reason.to_owned(),
            set_at: instant(now),
        })
    }

    async fn clear_switch(
        &self,
        key: &str,
        actor: &str,
        reason: &str,
    ) -> Result<Option<SwitchRecord>, StoreError> {
        let mut tx = write_tx(self.writer()).await?;
        let row: Option<Row> = sqlx::query_as(
            "DELETE FROM kill_switches WHERE key = ?1 RETURNING switch, actor, reason, set_at",
        )
        .bind(key)
        .fetch_optional(&mut *tx)
        .await
        .map_err(failed)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let now = micros(Utc::now());
        audit(
            &mut tx,
            key,
            &row.0,
            SwitchAction::Cleared,
            actor,
            reason,
            now,
        )
        .await?;
        tx.commit().await.map_err(failed)?;
        record(row).map(Some)
    }

    async fn switch_audit(
        &self,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<SwitchAudit>, StoreError> {
        type AuditRow = (i64, String, String, String, String, String, i64);
        let rows: Vec<AuditRow> = sqlx::query_as(
            "SELECT seq, key, switch, action, actor, reason, at FROM kill_switch_audit
             WHERE seq < ?1 ORDER BY seq DESC LIMIT ?2",
        )
        .bind(before.unwrap_or(i64::MAX))
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await
        .map_err(failed)?;
        rows.into_iter()
            .map(|(seq, key, switch, action, actor, reason, at)| {
                Ok(SwitchAudit {
                    seq,
                    key,
                    switch: decode(&switch)?,
                    action: SwitchAction::parse(&action).ok_or_else(|| {
                        StoreError::Config(format!("unknown switch action {action:?}").into())
                    })?,
                    actor,
                    reason,
                    at: instant(at),
                })
            })
            .collect()
    }
}

async fn audit(
    tx: &mut SqliteConnection,
    key: &str,
    json: &str,
    action: SwitchAction,
    actor: &str,
    reason: &str,
    at: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO kill_switch_audit (key, switch, action, actor, reason, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .bind(key)
    .bind(json)
    .bind(action.as_str())
    .bind(actor)
    .bind(reason)
    .bind(at)
    .execute(tx)
    .await
    .map_err(failed)?;
    Ok(())
}
