//! The Postgres adapter: the only crate that speaks sqlx.
//!
//! It opens pools with the configured timeouts and applies the migrations in
//! `migrations/postgres/`, which are compiled into the binary.

mod aggregates;
mod alerts;
mod auth;
mod campaigns;
mod creatives;
mod directory;
pub mod reports;
mod switches;

use adpulse_domain::ports::Connected;

use std::str::FromStr;
use std::time::Duration;

use adpulse_config::PostgresConfig;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use adpulse_domain::store::Cause;
pub use adpulse_domain::store::{
    CampaignFilter, CampaignRecord, CampaignSort, CampaignWrite, Claim, Commit, CreativeRecord,
    IngestKeyInfo, NewIngestKey, Page, Rotation, StoreError, Updated, UserRecord,
};

/// The migrations of `migrations/postgres/`, embedded at build time.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/postgres");

/// A Postgres operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    /// The URL or an option is invalid.
    #[error("invalid postgres settings: {0}")]
    Config(#[source] Cause),
    /// The server is unreachable or did not answer in time; retry later.
    #[error("postgres unavailable: {0}")]
    Unavailable(#[source] Cause),
    /// The server refused the statement; retrying will not help.
    #[error("postgres refused: {0}")]
    Refused(#[source] Cause),
    /// The server refused the values (SQLSTATE class 22, data exception,
    /// or a check, not-null or foreign-key violation).
    #[error("postgres refused the values: {0}")]
    Invalid(#[source] Cause),
    /// A migration failed.
    #[error("postgres migration failed: {0}")]
    Migration(#[source] Cause),
    /// A row with the same unique value exists (an e-mail address, say).
    #[error("already exists: {0}")]
    Duplicate(#[source] Cause),
}

impl PgError {
    /// Whether the same operation may succeed if retried later.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}

impl From<PgError> for StoreError {
    fn from(e: PgError) -> Self {
        match e {
            PgError::Config(m) => Self::Config(m),
            PgError::Unavailable(m) => Self::Unavailable(m),
            PgError::Refused(m) => Self::Refused(m),
            PgError::Invalid(m) => Self::Invalid(m),
            PgError::Migration(m) => Self::Migration(m),
            PgError::Duplicate(m) => Self::Duplicate(m),
        }
    }
}

/// Runs an operation written against [`PgError`] (so `?` takes sqlx's
/// errors) and hands its result over as a port's [`StoreError`].
pub(crate) async fn pg<T>(
    op: impl std::future::Future<Output = Result<T, PgError>>,
) -> Result<T, StoreError> {
    op.await.map_err(StoreError::from)
}

impl From<sqlx::Error> for PgError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::Configuration(_) => Self::Config(e.into()),
            sqlx::Error::Io(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Tls(_) => Self::Unavailable(e.into()),
            sqlx::Error::Database(ref d) if d.is_unique_violation() => Self::Duplicate(e.into()),
            sqlx::Error::Database(ref d) => match d.code().as_deref().unwrap_or("") {
                // Data exceptions, and the constraints a value can break.
                c if c.starts_with("22") || matches!(c, "23502" | "23503" | "23514") => {
                    Self::Invalid(e.into())
                }
                // Connection lost, serialization failure or deadlock, out
                // of resources, statement timeout or shutdown, lock not
                // available, I/O: the same statement may pass later.
                c if ["08", "40", "53", "57", "58"]
                    .iter()
                    .any(|p| c.starts_with(p))
                    || c == "55P03" =>
                {
                    Self::Unavailable(e.into())
                }
                _ => Self::Refused(e.into()),
            },
            _ => Self::Refused(e.into()),
        }
    }
}

/// Which rows a session may see (row-level security, migration 5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scope {
    /// Every tenant's: services whose work spans tenants.
    System,
    /// Only the tenant each transaction sets.
    Tenant,
}

/// A connection pool to the adpulse database.
#[derive(Clone, Debug)]
pub struct Database {
    pool: PgPool,
    /// The private schema, when connected with [`Database::connect_in_schema`].
    schema: Option<String>,
    /// Where the migrations ledger lives: `_sqlx_migrations`, qualified with
    /// the private schema when there is one (else an unqualified name would
    /// find `public`'s ledger through the search path).
    ledger: String,
    /// `statement_timeout` of streamed reads, in milliseconds.
    export_timeout_ms: u64,
}

impl Database {
    /// Connects with the configured pool size and timeouts (in the
    /// configured schema, if any).
    pub async fn connect(cfg: &PostgresConfig) -> Result<Self, PgError> {
        match &cfg.schema {
            Some(schema) => Self::connect_in_schema(cfg, schema).await,
            None => Self::connect_with(cfg, None).await,
        }
    }

    /// Connects with `schema` first on the search path (then `public`, where
    /// the hll extension lives), creating the schema if needed. Tests use a
    /// fresh schema each, so they never see each other's rows.
    pub async fn connect_in_schema(cfg: &PostgresConfig, schema: &str) -> Result<Self, PgError> {
        if !schema
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(PgError::Config(
                format!("schema name {schema:?} must be [a-z0-9_]").into(),
            ));
        }
        let admin = Self::connect_with(cfg, None).await?;
        // The name was checked to be a plain identifier above.
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE SCHEMA IF NOT EXISTS {schema}"
        )))
        .execute(&admin.pool)
        .await?;
        admin.pool.close().await;
        Self::connect_with(cfg, Some(schema)).await
    }

    async fn connect_with(cfg: &PostgresConfig, schema: Option<&str>) -> Result<Self, PgError> {
        Self::connect_scoped(cfg, schema, Scope::System).await
    }

    /// Connects for serving tenants: sessions see no tenant's rows until a
    /// transaction names its tenant ([`Database::tenant_tx`]); row-level
    /// security enforces it. The API uses this; the gateway, the worker and
    /// the admin tools use [`Database::connect`] (system sessions).
    pub async fn connect_for_tenants(cfg: &PostgresConfig) -> Result<Self, PgError> {
        let schema = cfg.schema.as_deref();
        if let Some(schema) = schema {
            // Creates the schema if needed (and checks its name).
            Self::connect_in_schema(cfg, schema).await?.close().await;
        }
        Self::connect_scoped(cfg, schema, Scope::Tenant).await
    }

    async fn connect_scoped(
        cfg: &PostgresConfig,
        schema: Option<&str>,
        scope: Scope,
    ) -> Result<Self, PgError> {
        let mut opts = PgConnectOptions::from_str(cfg.url.expose())?
            .application_name("adpulse")
            .options([("statement_timeout", cfg.statement_timeout_ms.to_string())])
            // Every query here is short and index-driven: compiling it
            // (Postgres starts past an estimated cost of 100,000, which a
            // ranking over a large tenant reaches) costs tens of
            // milliseconds and never pays back.
            .options([("jit", "off")]);
        if scope == Scope::System {
            opts = opts.options([("adpulse.scope", "system")]);
        }
        if let Some(schema) = schema {
            opts = opts.options([("search_path", format!("{schema},public"))]);
        }
        let pool = PgPoolOptions::new()
            .max_connections(cfg.max_connections)
            .acquire_timeout(Duration::from_millis(cfg.acquire_timeout_ms))
            .connect_with(opts)
            .await?;
        let ledger = schema.map_or_else(
            || "_sqlx_migrations".to_owned(),
            |s| format!("{s}._sqlx_migrations"),
        );
        Ok(Self {
            pool,
            ledger,
            schema: schema.map(str::to_owned),
            export_timeout_ms: cfg.export_timeout_ms,
        })
    }

    /// A transaction that sees and writes `tenant`'s rows only (row-level
    /// security; on a system session it also sees everything else, so
    /// queries still filter by tenant themselves).
    pub async fn tenant_tx(
        &self,
        tenant: adpulse_domain::TenantId,
    ) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, PgError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT set_config('adpulse.tenant_id', $1, true)")
            .bind(tenant.to_string())
            .execute(&mut *tx)
            .await?;
        Ok(tx)
    }

    /// `tenant_tx` for a streamed read: its statements may run for
    /// `postgres.export_timeout_ms`, since a slow client holds them open.
    pub(crate) async fn streaming_tx(
        &self,
        tenant: adpulse_domain::TenantId,
    ) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, PgError> {
        let mut tx = self.tenant_tx(tenant).await?;
        sqlx::query("SELECT set_config('statement_timeout', $1, true)")
            .bind(self.export_timeout_ms.to_string())
            .execute(&mut *tx)
            .await?;
        Ok(tx)
    }

    /// A transaction that sees every tenant's rows: only for lookups that
    /// come before the tenant is known (login by address, refresh tokens).
    pub async fn system_tx(&self) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, PgError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT set_config('adpulse.scope', 'system', true)")
            .execute(&mut *tx)
            .await?;
        Ok(tx)
    }

    /// Applies every migration not yet applied; returns how many ran.
    pub async fn migrate(&self) -> Result<usize, PgError> {
        let before = self.applied().await.unwrap_or_default().len();
        let mut migrator =
            sqlx::migrate::Migrator::with_migrations(MIGRATOR.iter().cloned().collect());
        migrator.dangerous_set_table_name(self.ledger.clone());
        migrator
            .run(&self.pool)
            .await
            .map_err(|e| PgError::Migration(e.into()))?;
        Ok(self.applied().await?.len().saturating_sub(before))
    }

    /// Versions of the migrations applied so far, in order.
    pub async fn applied(&self) -> Result<Vec<i64>, PgError> {
        let sql = format!(
            "SELECT version FROM {} WHERE success ORDER BY version",
            self.ledger
        );
        // The ledger name is ours: a constant or a checked schema name.
        let rows: Vec<(i64,)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().map(|(v,)| v).collect())
    }

    /// Drops the private schema and everything in it (tests clean up with
    /// it); a no-op for a connection without one.
    pub async fn drop_schema(&self) -> Result<(), PgError> {
        if let Some(schema) = &self.schema {
            // The name was checked to be a plain identifier on connect.
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP SCHEMA IF EXISTS {schema} CASCADE"
            )))
            .execute(&self.pool)
            .await?;
        }
        Ok(())
    }

    /// The pool, for repositories inside this crate.
    #[doc(hidden)]
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Bytes `table` takes on disk with its indexes and TOAST.
    pub async fn relation_bytes(&self, table: &str) -> Result<i64, PgError> {
        let (n,): (i64,) = sqlx::query_as("SELECT pg_total_relation_size(to_regclass($1))")
            .bind(table)
            .fetch_one(&self.pool)
            .await?;
        Ok(n)
    }

    /// Rows of `campaign_aggregates` (exact count; every tenant).
    pub async fn aggregate_rows(&self) -> Result<i64, PgError> {
        let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM campaign_aggregates")
            .fetch_one(&self.pool)
            .await?;
        Ok(n)
    }
}

#[async_trait::async_trait]
impl Connected for Database {
    async fn ping(&self) -> Result<(), StoreError> {
        pg(async move {
            sqlx::query("SELECT 1").execute(&self.pool).await?;
            Ok(())
        })
        .await
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}
