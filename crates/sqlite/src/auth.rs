//! Users and refresh tokens for the API's authentication.
//!
//! Lookups by e-mail and by refresh-token hash come before the caller's
//! tenant is known and search every tenant; everything after names the
//! user's tenant in its `WHERE` clause (Postgres has row-level security
//! behind that filter; here the filter is all there is).
//!
//! Addresses are unique case-insensitively across tenants: `email_key` is
//! the address lower-cased here in Rust ([`fold_case`]: Unicode-aware, as
//! Postgres' `lower()` is and SQLite's is not).

use adpulse_domain::ports::UserStore;
use adpulse_domain::store::{Rotation, StoreError, UserRecord};
use adpulse_domain::{Role, TenantId};
use chrono::{DateTime, Utc};
use sqlx::SqliteConnection;
use uuid::Uuid;

use crate::{Lite, instant, micros};
use crate::{failed, fold_case, write_tx};

const USER_COLUMNS: &str = "id, tenant_id, email, password_hash, role, deactivated_at";

type UserRow = (Uuid, Uuid, String, String, String, Option<i64>);

fn user(row: UserRow) -> Result<UserRecord, StoreError> {
    let (id, tenant, email, password_hash, role, deactivated_at) = row;
    Ok(UserRecord {
        id,
        tenant_id: TenantId::from_uuid(tenant),
        email,
        password_hash,
        role: role
            .parse()
            .map_err(|()| StoreError::Config(format!("unknown role {role:?} in users").into()))?,
        deactivated_at: deactivated_at.map(instant),
    })
}

/// The key an address is unique by and looked up by.
fn email_key(email: &str) -> String {
    fold_case(email)
}

async fn insert_refresh(
    conn: &mut SqliteConnection,
    family_id: Uuid,
    user_id: Uuid,
    tenant: Uuid,
    token_hash: &[u8; 32],
    expires_at: DateTime<Utc>,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO refresh_tokens (id, family_id, user_id, tenant_id, token_hash, expires_at, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )
    .bind(Uuid::now_v7())
    .bind(family_id)
    .bind(user_id)
    .bind(tenant)
    .bind(&token_hash[..])
    .bind(micros(expires_at))
    .bind(now)
    .execute(conn)
    .await
    .map_err(failed)?;
    Ok(())
}

async fn revoke_family(
    conn: &mut SqliteConnection,
    family: Uuid,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE refresh_tokens SET revoked_at = ?1 WHERE family_id = ?2 AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(family)
    .execute(conn)
    .await
    .map_err(failed)?;
    Ok(())
}

#[async_trait::async_trait]
impl UserStore for Lite {
    async fn create_user(
        &self,
        tenant: TenantId,
        email: &str,
        password_hash: &str,
        role: Role,
    ) -> Result<Uuid, StoreError> {
        let id = Uuid::now_v7();
        sqlx::query(
            "INSERT INTO users (id, tenant_id, email, email_key, password_hash, role, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )
        .bind(id)
        .bind(tenant.as_uuid())
        .bind(email)
        .bind(email_key(email))
        .bind(password_hash)
        .bind(role.as_str())
        .bind(micros(Utc::now()))
        .execute(self.writer())
        .await
        .map_err(failed)?;
        Ok(id)
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<UserRecord>, StoreError> {
        let row: Option<UserRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users WHERE email_key = ?1"
        )))
        .bind(email_key(email))
        .fetch_optional(self.pool())
        .await
        .map_err(failed)?;
        row.map(user).transpose()
    }

    async fn active_user(
        &self,
        tenant: TenantId,
        id: Uuid,
    ) -> Result<Option<UserRecord>, StoreError> {
        let row: Option<UserRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users
             WHERE id = ?1 AND tenant_id = ?2 AND deactivated_at IS NULL"
        )))
        .bind(id)
        .bind(tenant.as_uuid())
        .fetch_optional(self.pool())
        .await
        .map_err(failed)?;
        row.map(user).transpose()
    }

    async fn store_refresh_token(
        &self,
        tenant: TenantId,
        user_id: Uuid,
        family_id: Uuid,
        token_hash: &[u8; 32],
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut conn = self.pool().acquire().await.map_err(failed)?;
        insert_refresh(
            &mut conn,
            family_id,
            user_id,
            *tenant.as_uuid(),
            token_hash,
            expires_at,
            micros(Utc::now()),
        )
        .await
    }

    async fn rotate_refresh_token(
        &self,
        presented: &[u8; 32],
        next: &[u8; 32],
        next_expires_at: DateTime<Utc>,
    ) -> Result<Rotation, StoreError> {
        let now = micros(Utc::now());
        let mut tx = write_tx(self.writer()).await?;
        let used: Option<(Uuid, Uuid, Uuid)> = sqlx::query_as(
            "UPDATE refresh_tokens SET used_at = ?1
             WHERE token_hash = ?2 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ?1
             RETURNING user_id, tenant_id, family_id",
        )
        .bind(now)
        .bind(&presented[..])
        .fetch_optional(&mut *tx)
        .await
        .map_err(failed)?;
        if let Some((user_id, tenant, family_id)) = used {
            insert_refresh(
                &mut tx,
                family_id,
                user_id,
                tenant,
                next,
                next_expires_at,
                now,
            )
            .await?;
            tx.commit().await.map_err(failed)?;
            return Ok(Rotation::Rotated {
                user_id,
                tenant_id: TenantId::from_uuid(tenant),
                family_id,
            });
        }
        let known: Option<(Uuid, bool)> = sqlx::query_as(
            "SELECT family_id, (used_at IS NOT NULL OR revoked_at IS NOT NULL)
             FROM refresh_tokens WHERE token_hash = ?1",
        )
        .bind(&presented[..])
        .fetch_optional(&mut *tx)
        .await
        .map_err(failed)?;
        let outcome = match known {
            Some((family, true)) => {
                revoke_family(&mut tx, family, now).await?;
                Rotation::Reused
            }
            _ => Rotation::Invalid,
        };
        tx.commit().await.map_err(failed)?;
        Ok(outcome)
    }

    async fn revoke_refresh_family(&self, presented: &[u8; 32]) -> Result<bool, StoreError> {
        let mut tx = write_tx(self.writer()).await?;
        let family: Option<(Uuid,)> =
            sqlx::query_as("SELECT family_id FROM refresh_tokens WHERE token_hash = ?1")
                .bind(&presented[..])
                .fetch_optional(&mut *tx)
                .await
                .map_err(failed)?;
        if let Some((family,)) = family {
            revoke_family(&mut tx, family, micros(Utc::now())).await?;
        }
        tx.commit().await.map_err(failed)?;
        Ok(family.is_some())
    }

    async fn users(&self, tenant: TenantId) -> Result<Vec<UserRecord>, StoreError> {
        let rows: Vec<UserRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users WHERE tenant_id = ?1 ORDER BY created_at, id"
        )))
        .bind(tenant.as_uuid())
        .fetch_all(self.pool())
        .await
        .map_err(failed)?;
        rows.into_iter().map(user).collect()
    }

    async fn deactivate_user(
        &self,
        tenant: TenantId,
        id: Uuid,
    ) -> Result<Option<UserRecord>, StoreError> {
        let now = micros(Utc::now());
        let mut tx = write_tx(self.writer()).await?;
        let row: Option<UserRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "UPDATE users SET deactivated_at = coalesce(deactivated_at, ?1)
             WHERE id = ?2 AND tenant_id = ?3
             RETURNING {USER_COLUMNS}"
        )))
        .bind(now)
        .bind(id)
        .bind(tenant.as_uuid())
        .fetch_optional(&mut *tx)
        .await
        .map_err(failed)?;
        if row.is_some() {
            sqlx::query(
                "UPDATE refresh_tokens SET revoked_at = ?1
                 WHERE user_id = ?2 AND tenant_id = ?3 AND revoked_at IS NULL",
            )
            .bind(now)
            .bind(id)
            .bind(tenant.as_uuid())
            .execute(&mut *tx)
            .await
            .map_err(failed)?;
        }
        tx.commit().await.map_err(failed)?;
        row.map(user).transpose()
    }
}
