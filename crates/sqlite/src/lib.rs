//! The SQLite adapter: what `adpulse up` keeps in its data folder instead of
//! Postgres (tenants, users, campaigns, creatives, ingest keys, the stream
//! worker's claims and aggregates, the live series).
//!
//! It answers the same calls with the same records as the Postgres adapter
//! (`adpulse_domain::store`), so the services cannot tell them apart; the
//! conformance suite in `crates/backends/tests` runs one set of assertions
//! on both. Where Postgres has features SQLite lacks, the adapter does the
//! work itself:
//! - row-level security: every tenant-scoped statement names the tenant in
//!   its `WHERE` clause;
//! - the `hll` extension: unique users are [`adpulse_domain::reach::Sketch`]
//!   blobs, merged here in Rust;
//! - arrays and JSON: text columns holding JSON.
//!
//! Instants are stored as integer microseconds since the Unix epoch (they
//! sort and compare as numbers), ids as 16-byte blobs.

mod aggregates;
mod alerts;
mod archive;
mod auth;
mod campaigns;
mod creatives;
mod directory;
mod reports;
mod switches;

use adpulse_domain::ports::Connected;
use std::path::{Path, PathBuf};
use std::time::Duration;

use adpulse_domain::store::StoreError;
pub(crate) use adpulse_domain::store::fold_case;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Sqlite, Transaction};

pub use archive::{ARCHIVE_FILE_NAME, LiteArchive};

/// The migrations of `migrations/sqlite/`, embedded at build time.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/sqlite");

/// The database file's name inside the data folder.
pub const FILE_NAME: &str = "adpulse.sqlite";

/// A sqlx error as the services see it.
#[derive(Debug)]
pub(crate) struct LiteError(pub(crate) StoreError);

impl From<sqlx::Error> for LiteError {
    fn from(e: sqlx::Error) -> Self {
        Self(match e {
            sqlx::Error::Configuration(_) => StoreError::Config(e.into()),
            sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => {
                StoreError::Unavailable(e.into())
            }
            sqlx::Error::Database(ref d) if d.is_unique_violation() => {
                StoreError::Duplicate(e.into())
            }
            // SQLITE_BUSY / SQLITE_LOCKED after the busy timeout: another
            // writer held the file; a retry may pass.
            sqlx::Error::Database(ref d)
                if matches!(d.code().as_deref(), Some("5" | "6" | "517" | "262")) =>
            {
                StoreError::Unavailable(e.into())
            }
            // A constraint (CHECK, NOT NULL, FOREIGN KEY; unique is above),
            // a value too big or of the wrong type, or a sum that left the
            // 64-bit range, or text json() cannot read: the values are
            // refused, not the statement.
            sqlx::Error::Database(ref d)
                if d.code()
                    .as_deref()
                    .and_then(|c| c.parse::<i32>().ok())
                    .is_some_and(|c| (18..=20).contains(&(c & 0xff)))
                    || d.message().contains("integer overflow")
                    || d.message().contains("malformed JSON") =>
            {
                StoreError::Invalid(e.into())
            }
            _ => StoreError::Refused(e.into()),
        })
    }
}

impl From<StoreError> for LiteError {
    fn from(e: StoreError) -> Self {
        Self(e)
    }
}

impl From<LiteError> for StoreError {
    fn from(e: LiteError) -> Self {
        e.0
    }
}

/// The embedded database: one SQLite file in WAL mode.
#[derive(Clone, Debug)]
pub struct Lite {
    pool: SqlitePool,
    writer: SqlitePool,
    path: PathBuf,
}

impl Lite {
    /// Opens (creating if needed) `dir/adpulse.sqlite` and applies the
    /// migrations.
    ///
    /// Every commit is synced (`synchronous = FULL`): what the API
    /// acknowledged survives a power cut, not only a crash. Readers never
    /// wait for the writer (WAL). Writes go through a pool of one
    /// connection, so this process's writers queue in order for it instead
    /// of meeting SQLite's lock (whose busy handler sleeps up to 100 ms
    /// between tries); another process writing the file (`adpulse admin`)
    /// is waited for up to five seconds before a call fails as retryable.
    pub async fn open(dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| {
            StoreError::Config(format!("cannot create data folder {}: {e}", dir.display()).into())
        })?;
        let path = dir.join(FILE_NAME);
        let opts = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(true);
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(opts.clone())
            .await
            .map_err(|e| StoreError::from(LiteError::from(e)))?;
        MIGRATOR
            .run(&writer)
            .await
            .map_err(|e| StoreError::Migration(e.into()))?;
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(opts)
            .await
            .map_err(|e| StoreError::from(LiteError::from(e)))?;
        let lite = Self { pool, writer, path };
        Ok(lite)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The readers' pool, for this crate's modules and for tests that
    /// inspect rows.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// The one connection every write goes through.
    pub(crate) fn writer(&self) -> &SqlitePool {
        &self.writer
    }
}

/// A sqlx error as the services see it (`.map_err(failed)?`).
pub(crate) fn failed(e: sqlx::Error) -> StoreError {
    LiteError::from(e).into()
}

/// A transaction that takes the write lock at `BEGIN` (`BEGIN IMMEDIATE`).
///
/// A deferred transaction that reads and then writes must upgrade its read
/// lock; of two such transactions at the same time, SQLite fails one with
/// `SQLITE_BUSY` without waiting (each holds what the other needs). Taking
/// the lock first makes writers queue on the busy timeout instead.
pub(crate) async fn write_tx(
    pool: &SqlitePool,
) -> Result<Transaction<'static, Sqlite>, StoreError> {
    pool.begin_with("BEGIN IMMEDIATE").await.map_err(failed)
}

/// Microseconds since the Unix epoch, as instants are stored.
pub(crate) fn micros(t: chrono::DateTime<chrono::Utc>) -> i64 {
    t.timestamp_micros()
}

/// The instant `us` microseconds after the Unix epoch.
pub(crate) fn instant(us: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_micros(us).unwrap_or_default()
}

#[async_trait::async_trait]
impl Connected for Lite {
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(LiteError::from)?;
        Ok(())
    }

    async fn close(&self) {
        self.pool.close().await;
        self.writer.close().await;
    }
}
