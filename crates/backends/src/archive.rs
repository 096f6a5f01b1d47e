//! [`Archive`]: the raw-event archive.

use std::sync::Arc;

use adpulse_cql::{Cql, RawEventWriter};
use adpulse_domain::CampaignId;
use adpulse_domain::archive::{ArchivedEvent, EventCursor, RawEvent};
use adpulse_domain::ports::PortError;
use adpulse_sqlite::RawArchive;
use chrono::NaiveDate;

/// The raw-event archive: a CQL cluster in production (ScyllaDB, or
/// Cassandra locally), a SQLite file embedded.
#[derive(Clone)]
pub enum Archive {
    /// A keyspace, with the prepared insert its writes use.
    Cql {
        /// The session.
        cql: Arc<Cql>,
        /// The prepared insert (batches per size).
        writer: Arc<RawEventWriter>,
    },
    /// `raw.sqlite` in the data folder.
    Sqlite(RawArchive),
}

fn port(e: impl std::fmt::Display, retryable: bool) -> PortError {
    if retryable {
        PortError::retryable(e.to_string())
    } else {
        PortError::permanent(e.to_string())
    }
}

impl Archive {
    /// The CQL archive of `cql`'s keyspace (prepares the insert).
    pub async fn cql(cql: Cql) -> Result<Self, PortError> {
        let writer = cql
            .raw_event_writer()
            .await
            .map_err(|e| port(&e, e.is_retryable()))?;
        Ok(Self::Cql {
            cql: Arc::new(cql),
            writer: Arc::new(writer),
        })
    }

    /// Writes `events`, each kept `ttl_secs`; idempotent by event (a
    /// replay writes the same rows). `concurrency` bounds the requests in
    /// flight where the archive is remote.
    pub async fn write(
        &self,
        events: &[RawEvent],
        ttl_secs: i32,
        concurrency: usize,
    ) -> Result<(), PortError> {
        match self {
            Self::Cql { cql, writer } => cql
                .write_raw_events(writer, events, ttl_secs, concurrency)
                .await
                .map_err(|e| port(&e, e.is_retryable())),
            Self::Sqlite(a) => a
                .write(events, i64::from(ttl_secs))
                .await
                .map_err(|e| port(&e, e.is_retryable())),
        }
    }

    /// Up to `limit` events of `campaign` on UTC day `day`, newest first,
    /// after `after`.
    pub async fn campaign_events(
        &self,
        campaign: CampaignId,
        day: NaiveDate,
        after: Option<EventCursor>,
        limit: i32,
    ) -> Result<Vec<ArchivedEvent>, PortError> {
        match self {
            Self::Cql { cql, .. } => cql
                .campaign_events(campaign, day, after, limit)
                .await
                .map_err(|e| port(&e, e.is_retryable())),
            Self::Sqlite(a) => a
                .campaign_events(campaign, day, after, limit)
                .await
                .map_err(|e| port(&e, e.is_retryable())),
        }
    }

    /// Whether the archive answers.
    pub async fn ping(&self) -> Result<(), PortError> {
        match self {
            Self::Cql { cql, .. } => cql.ping().await.map_err(|e| port(&e, e.is_retryable())),
            Self::Sqlite(a) => a.ping().await.map_err(|e| port(&e, e.is_retryable())),
        }
    }
}
