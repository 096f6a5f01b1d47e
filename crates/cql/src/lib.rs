//! The CQL adapter (ScyllaDB in production, Apache Cassandra 5 in local runs
//! and tests): the only crate that speaks the scylla driver.
//!
//! It opens sessions with the configured timeouts and applies the schema in
//! `migrations/cql/`, compiled into the binary and recorded per keyspace in a
//! `schema_migrations` table, like the Postgres migrations.

mod archive;
mod raw;

use std::time::Duration;

use adpulse_config::CqlConfig;
use scylla::client::execution_profile::ExecutionProfile;
use scylla::client::session::Session;
use scylla::client::session_builder::SessionBuilder;
use scylla::errors::{ExecutionError, NewSessionError};

pub use archive::CqlArchive;
pub use raw::{ArchivedEvent, EventCursor, RawEvent, RawEventWriter};

/// The CQL migrations, in order: (version, description, statements).
const MIGRATIONS: &[(i32, &str, &str)] = &[
    (
        1,
        "raw_events",
        include_str!("../../../migrations/cql/0001_raw_events.cql"),
    ),
    (
        2,
        "campaign_events",
        include_str!("../../../migrations/cql/0002_campaign_events.cql"),
    ),
];

/// A CQL operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum CqlError {
    /// A setting is invalid (a keyspace name, a node address).
    #[error("invalid cql settings: {0}")]
    Config(String),
    /// No node answered in time; retry later.
    #[error("cql cluster unavailable: {0}")]
    Unavailable(String),
    /// The cluster refused the statement; retrying will not help.
    #[error("cql cluster refused: {0}")]
    Refused(String),
}

impl CqlError {
    /// Whether the same operation may succeed if retried later.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}

impl From<NewSessionError> for CqlError {
    fn from(e: NewSessionError) -> Self {
        Self::Unavailable(e.to_string())
    }
}

impl From<ExecutionError> for CqlError {
    fn from(e: ExecutionError) -> Self {
        match e {
            ExecutionError::ConnectionPoolError(_)
            | ExecutionError::RequestTimeout(_)
            | ExecutionError::EmptyPlan => Self::Unavailable(e.to_string()),
            _ => Self::Refused(e.to_string()),
        }
    }
}

/// A session bound to the adpulse keyspace.
pub struct Cql {
    session: Session,
    keyspace: String,
}

impl Cql {
    /// Connects to the configured nodes. The keyspace need not exist yet:
    /// [`Cql::migrate`] creates it.
    pub async fn connect(cfg: &CqlConfig) -> Result<Self, CqlError> {
        check_identifier(&cfg.keyspace)?;
        let profile = ExecutionProfile::builder()
            .request_timeout(Some(Duration::from_millis(cfg.request_timeout_ms)))
            .build();
        let session = SessionBuilder::new()
            .known_nodes(&cfg.nodes)
            .connection_timeout(Duration::from_millis(cfg.connect_timeout_ms))
            .default_execution_profile_handle(profile.into_handle())
            .build()
            .await?;
        Ok(Self {
            session,
            keyspace: cfg.keyspace.clone(),
        })
    }

    /// The keyspace this session works in.
    pub fn keyspace(&self) -> &str {
        &self.keyspace
    }

    /// Creates the keyspace (SimpleStrategy with `replication_factor`) if
    /// absent, switches to it and applies the migrations not yet applied;
    /// returns how many ran.
    pub async fn migrate(&self, replication_factor: u32) -> Result<usize, CqlError> {
        let ks = &self.keyspace;
        self.session
            .query_unpaged(
                format!(
                    "CREATE KEYSPACE IF NOT EXISTS {ks} WITH replication = \
                     {{'class': 'SimpleStrategy', 'replication_factor': {replication_factor}}}"
                ),
                (),
            )
            .await?;
        self.session
            .use_keyspace(ks.as_str(), false)
            .await
            .map_err(|e| CqlError::Refused(e.to_string()))?;
        self.session
            .query_unpaged(
                "CREATE TABLE IF NOT EXISTS schema_migrations \
                 (version int PRIMARY KEY, description text, applied_at timestamp)",
                (),
            )
            .await?;
        let applied = self.applied().await?;
        let mut ran = 0;
        for (version, description, cql) in MIGRATIONS {
            if applied.contains(version) {
                continue;
            }
            for statement in statements(cql) {
                self.session.query_unpaged(statement, ()).await?;
            }
            self.session
                .query_unpaged(
                    "INSERT INTO schema_migrations (version, description, applied_at) \
                     VALUES (?, ?, toTimestamp(now()))",
                    (version, description),
                )
                .await?;
            tracing::info!(keyspace = %ks, version, description, "cql migration applied");
            ran += 1;
        }
        Ok(ran)
    }

    /// Versions of the migrations applied so far, ascending.
    pub async fn applied(&self) -> Result<Vec<i32>, CqlError> {
        let rows = self
            .session
            .query_unpaged(
                format!("SELECT version FROM {}.schema_migrations", self.keyspace),
                (),
            )
            .await?
            .into_rows_result()
            .map_err(|e| CqlError::Refused(e.to_string()))?;
        let mut versions = rows
            .rows::<(i32,)>()
            .map_err(|e| CqlError::Refused(e.to_string()))?
            .map(|r| r.map(|(v,)| v))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| CqlError::Refused(e.to_string()))?;
        versions.sort_unstable();
        Ok(versions)
    }

    /// Round-trips a query to the cluster.
    pub async fn ping(&self) -> Result<(), CqlError> {
        self.session
            .query_unpaged("SELECT release_version FROM system.local", ())
            .await?;
        Ok(())
    }

    /// Drops the keyspace and everything in it (tests clean up with it).
    pub async fn drop_keyspace(&self) -> Result<(), CqlError> {
        self.session
            .query_unpaged(format!("DROP KEYSPACE IF EXISTS {}", self.keyspace), ())
            .await?;
        Ok(())
    }

    /// The driver session, for stores inside this crate.
    #[doc(hidden)]
    pub fn session(&self) -> &Session {
        &self.session
    }
}

/// CQL identifiers adpulse creates: lowercase, digits, underscore, at most 48
/// characters (Cassandra's keyspace name limit), starting with a letter.
fn check_identifier(name: &str) -> Result<(), CqlError> {
    let ok = !name.is_empty()
        && name.len() <= 48
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(CqlError::Config(format!(
            "keyspace {name:?} must be 1-48 of [a-z0-9_], starting with a letter"
        )))
    }
}

/// The statements of a migration file: `--` comments dropped, split on `;`.
fn statements(cql: &str) -> impl Iterator<Item = String> + '_ {
    let code: String = cql
        .lines()
        .map(|l| l.split_once("--").map_or(l, |(code, _)| code))
        .collect::<Vec<_>>()
        .join("\n");
    code.split(';')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .into_iter()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migration_files_split_into_statements() {
        let all: Vec<_> = MIGRATIONS
            .iter()
            .flat_map(|(_, _, c)| statements(c))
            .collect();
        assert!(!all.is_empty());
        for s in &all {
            assert!(
                ["CREATE", "ALTER", "DROP"].iter().any(|k| s.starts_with(k)),
                "{s}"
            );
            assert!(!s.contains("--"));
        }
        assert_eq!(
            statements("-- c\nA;\n\nB ; -- x\n").collect::<Vec<_>>(),
            ["A", "B"]
        );
    }

    #[test]
    fn versions_ascend() {
        assert!(MIGRATIONS.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn keyspace_names_are_checked() {
        assert!(check_identifier("adpulse").is_ok());
        assert!(check_identifier("smoke_0a1b").is_ok());
        for bad in ["", "Adpulse", "1abc", "a-b", "a;drop", &"a".repeat(49)] {
            assert!(check_identifier(bad).is_err(), "{bad}");
        }
    }
}
