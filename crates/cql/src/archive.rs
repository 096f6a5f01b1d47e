//! [`CqlArchive`]: the raw-event archive port on a CQL keyspace.

use std::sync::Arc;

use adpulse_domain::CampaignId;
use adpulse_domain::archive::{ArchivedEvent, EventCursor, RawEvent};
use adpulse_domain::ports::{PortError, RawArchive};
use chrono::NaiveDate;

use crate::{Cql, CqlError, RawEventWriter};

/// A keyspace's `campaign_events`, with the prepared insert its writes use.
#[derive(Clone)]
pub struct CqlArchive {
    cql: Arc<Cql>,
    writer: Arc<RawEventWriter>,
}

impl CqlArchive {
    /// The archive of `cql`'s keyspace (prepares the insert).
    pub async fn new(cql: Cql) -> Result<Self, CqlError> {
        let writer = cql.raw_event_writer().await?;
        Ok(Self {
            cql: Arc::new(cql),
            writer: Arc::new(writer),
        })
    }
}

impl From<CqlError> for PortError {
    fn from(e: CqlError) -> Self {
        Self::caused_by(e.is_retryable(), e)
    }
}

#[async_trait::async_trait]
impl RawArchive for CqlArchive {
    async fn write(
        &self,
        events: &[RawEvent],
        ttl_secs: i32,
        concurrency: usize,
    ) -> Result<(), PortError> {
        Ok(self
            .cql
            .write_raw_events(&self.writer, events, ttl_secs, concurrency)
            .await?)
    }

    async fn campaign_events(
        &self,
        campaign: CampaignId,
        day: NaiveDate,
        after: Option<EventCursor>,
        limit: i32,
    ) -> Result<Vec<ArchivedEvent>, PortError> {
        Ok(self
            .cql
            .campaign_events(campaign, day, after, limit)
            .await?)
    }

    async fn ping(&self) -> Result<(), PortError> {
        Ok(self.cql.ping().await?)
    }
}
