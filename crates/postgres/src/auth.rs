//! Users and refresh tokens for the API's authentication.
//!
//! Lookups by e-mail and by refresh-token hash come before the caller's
//! tenant is known, so they run in a system transaction; everything after
//! runs in the user's tenant.

use crate::pg;
use adpulse_domain::ports::UserStore;
use adpulse_domain::store::StoreError;
use adpulse_domain::{Role, TenantId};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use adpulse_domain::store::{Rotation, UserRecord};

use crate::{Database, PgError};

const USER_COLUMNS: &str = "id, tenant_id, email, password_hash, role, deactivated_at";

type UserRow = (Uuid, Uuid, String, String, String, Option<DateTime<Utc>>);

fn user(row: UserRow) -> Result<UserRecord, PgError> {
    let (id, tenant, email, password_hash, role, deactivated_at) = row;
    Ok(UserRecord {
        id,
        tenant_id: TenantId::from_uuid(tenant),
        email,
        password_hash,
        role: role
            .parse()
            .map_err(|()| PgError::Config(format!("unknown role {role:?} in users").into()))?,
        deactivated_at,
    })
}

async fn insert_refresh(
    tx: &mut sqlx::PgConnection,
    family_id: Uuid,
    user_id: Uuid,
    tenant: Uuid,
    token_hash: &[u8; 32],
    expires_at: DateTime<Utc>,
) -> Result<(), PgError> {
    sqlx::query(
        "INSERT INTO refresh_tokens (id, family_id, user_id, tenant_id, token_hash, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(Uuid::now_v7())
    .bind(family_id)
    .bind(user_id)
    .bind(tenant)
    .bind(&token_hash[..])
    .bind(expires_at)
    .execute(tx)
    .await?;
    Ok(())
}

async fn revoke_family(tx: &mut sqlx::PgConnection, family: Uuid) -> Result<(), PgError> {
    sqlx::query(
        "UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL",
    )
    .bind(family)
    .execute(tx)
    .await?;
    Ok(())
}

#[async_trait::async_trait]
impl UserStore for Database {
    async fn create_user(
        &self,
        tenant: TenantId,
        email: &str,
        password_hash: &str,
        role: Role,
    ) -> Result<Uuid, StoreError> {
        pg(async move {
            let id = Uuid::now_v7();
            let mut tx = self.tenant_tx(tenant).await?;
            sqlx::query(
                "INSERT INTO users (id, tenant_id, email, password_hash, role) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(id)
            .bind(tenant.as_uuid())
            .bind(email)
            .bind(password_hash)
            .bind(role.as_str())
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(id)
        })
        .await
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<UserRecord>, StoreError> {
        pg(async move {
            let mut tx = self.system_tx().await?;
            let row: Option<UserRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {USER_COLUMNS} FROM users WHERE lower(email) = lower($1)"
            )))
            .bind(email)
            .fetch_optional(&mut *tx)
            .await?;
            tx.commit().await?;
            row.map(user).transpose()
        })
        .await
    }

    async fn active_user(
        &self,
        tenant: TenantId,
        id: Uuid,
    ) -> Result<Option<UserRecord>, StoreError> {
        pg(async move {
            let mut tx = self.tenant_tx(tenant).await?;
            let row: Option<UserRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {USER_COLUMNS} FROM users
                 WHERE id = $1 AND deactivated_at IS NULL"
            )))
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
            tx.commit().await?;
            row.map(user).transpose()
        })
        .await
    }

    async fn store_refresh_token(
        &self,
        tenant: TenantId,
        user_id: Uuid,
        family_id: Uuid,
        token_hash: &[u8; 32],
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        pg(async move {
            let mut tx = self.tenant_tx(tenant).await?;
            insert_refresh(
                &mut tx,
                family_id,
                user_id,
                *tenant.as_uuid(),
                token_hash,
                expires_at,
            )
            .await?;
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    async fn rotate_refresh_token(
        &self,
        presented: &[u8; 32],
        next: &[u8; 32],
        next_expires_at: DateTime<Utc>,
    ) -> Result<Rotation, StoreError> {
        pg(async move {
            let mut tx = self.system_tx().await?;
            let used: Option<(Uuid, Uuid, Uuid)> = sqlx::query_as(
                "UPDATE refresh_tokens SET used_at = now()
                 WHERE token_hash = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > now()
                 RETURNING user_id, tenant_id, family_id",
            )
            .bind(&presented[..])
            .fetch_optional(&mut *tx)
            .await?;
            if let Some((user_id, tenant, family_id)) = used {
                insert_refresh(&mut tx, family_id, user_id, tenant, next, next_expires_at).await?;
                tx.commit().await?;
                return Ok(Rotation::Rotated {
                    user_id,
                    tenant_id: TenantId::from_uuid(tenant),
                    family_id,
                });
            }
            let known: Option<(Uuid, bool)> = sqlx::query_as(
                "SELECT family_id, (used_at IS NOT NULL OR revoked_at IS NOT NULL) FROM refresh_tokens WHERE token_hash = $1",
            )
            .bind(&presented[..])
            .fetch_optional(&mut *tx)
            .await?;
            let outcome = match known {
                Some((family, true)) => {
                    revoke_family(&mut tx, family).await?;
                    Rotation::Reused
                }
                _ => Rotation::Invalid,
            };
            tx.commit().await?;
            Ok(outcome)
        })
        .await
    }

    async fn revoke_refresh_family(&self, presented: &[u8; 32]) -> Result<bool, StoreError> {
        pg(async move {
            let mut tx = self.system_tx().await?;
            let family: Option<(Uuid,)> =
                sqlx::query_as("SELECT family_id FROM refresh_tokens WHERE token_hash = $1")
                    .bind(&presented[..])
                    .fetch_optional(&mut *tx)
                    .await?;
            if let Some((family,)) = family {
                revoke_family(&mut tx, family).await?;
            }
            tx.commit().await?;
            Ok(family.is_some())
        })
        .await
    }

    async fn users(&self, tenant: TenantId) -> Result<Vec<UserRecord>, StoreError> {
        pg(async move {
            let mut tx = self.tenant_tx(tenant).await?;
            let rows: Vec<UserRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {USER_COLUMNS} FROM users
                 WHERE tenant_id = $1 ORDER BY created_at, id"
            )))
            .bind(tenant.as_uuid())
            .fetch_all(&mut *tx)
            .await?;
            tx.commit().await?;
            rows.into_iter().map(user).collect()
        })
        .await
    }

    async fn deactivate_user(
        &self,
        tenant: TenantId,
        id: Uuid,
    ) -> Result<Option<UserRecord>, StoreError> {
        pg(async move {
            let mut tx = self.tenant_tx(tenant).await?;
            let row: Option<UserRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "UPDATE users SET deactivated_at = coalesce(deactivated_at, now())
                 WHERE id = $1 AND tenant_id = $2
                 RETURNING {USER_COLUMNS}"
            )))
            .bind(id)
            .bind(tenant.as_uuid())
            .fetch_optional(&mut *tx)
            .await?;
            if row.is_some() {
                sqlx::query(
                    "UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL",
                )
                .bind(id)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            row.map(user).transpose()
        })
        .await
    }
}
