//! Writing raw events: prepared inserts, bounded concurrency, a TTL of the
//! retention horizon, idempotent by primary key (a replay rewrites the same
//! rows).

use std::collections::BTreeMap;

use adpulse_domain::{Event, TenantId};
use chrono::{DateTime, NaiveDate, Utc};
use futures_util::{StreamExt as _, TryStreamExt as _};
use scylla::SerializeRow;
use scylla::statement::prepared::PreparedStatement;
use uuid::Uuid;

use crate::{Cql, CqlError};

/// One `raw_events` row.
#[derive(SerializeRow)]
struct Row<'a> {
    campaign_id: Uuid,
    event_date: NaiveDate,
    event_id: Uuid,
    tenant_id: Uuid,
    event_type: &'a str,
    channel: &'a str,
    ad_id: &'a str,
    occurred_at: DateTime<Utc>,
    ingested_at: DateTime<Utc>,
    device_id: Option<&'a str>,
    cookie_id: Option<&'a str>,
    login_id: Option<&'a str>,
    email_sha256: Option<&'a str>,
    cost_micros: i64,
    revenue_micros: i64,
    attributes: &'a BTreeMap<String, String>,
    ttl: i32,
}

/// An event to archive, with its tenant and when adpulse received it.
pub struct RawEvent {
    /// The event.
    pub event: Event,
    /// Its tenant.
    pub tenant: TenantId,
    /// When the gateway accepted it.
    pub ingested_at: DateTime<Utc>,
}

/// A prepared writer of raw event rows.
pub struct RawEventWriter {
    insert: PreparedStatement,
}

impl Cql {
    /// Prepares the insert into this keyspace's `raw_events`.
    pub async fn raw_event_writer(&self) -> Result<RawEventWriter, CqlError> {
        let insert = self
            .session()
            .prepare(format!(
                "INSERT INTO {}.raw_events (campaign_id, event_date, event_id, tenant_id, event_type, channel, ad_id, \
                 occurred_at, ingested_at, device_id, cookie_id, login_id, email_sha256, cost_micros, revenue_micros, \
                 attributes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) USING TTL ?",
                self.keyspace()
            ))
            .await
            .map_err(|e| CqlError::Refused(e.to_string()))?;
        Ok(RawEventWriter { insert })
    }

    /// Writes `events`, at most `concurrency` at a time, each living
    /// `ttl_secs`; fails if any write fails (all may be retried).
    pub async fn write_raw_events(
        &self,
        writer: &RawEventWriter,
        events: &[RawEvent],
        ttl_secs: i32,
        concurrency: usize,
    ) -> Result<(), CqlError> {
        futures_util::stream::iter(events.iter().map(|r| {
            let e = &r.event;
            let user = e.user.as_ref();
            let row = Row {
                campaign_id: *e.campaign_id.as_uuid(),
                event_date: e.occurred_at.date_naive(),
                event_id: *e.event_id.as_uuid(),
                tenant_id: *r.tenant.as_uuid(),
                event_type: e.event_type.as_str(),
                channel: e.channel.as_str(),
                ad_id: e.ad_id.as_str(),
                occurred_at: e.occurred_at,
                ingested_at: r.ingested_at,
                device_id: user.and_then(|u| u.device_id.as_deref()),
                cookie_id: user.and_then(|u| u.cookie_id.as_deref()),
                login_id: user.and_then(|u| u.login_id.as_deref()),
                email_sha256: user.and_then(|u| u.email_sha256.as_deref()),
                cost_micros: e.cost_micros.get(),
                revenue_micros: e.revenue_micros.get(),
                attributes: &e.attributes,
                ttl: ttl_secs,
            };
            async move { self.session().execute_unpaged(&writer.insert, row).await }
        }))
        .buffer_unordered(concurrency.max(1))
        .map_err(CqlError::from)
        .try_for_each(|_| async { Ok(()) })
        .await
    }
}
