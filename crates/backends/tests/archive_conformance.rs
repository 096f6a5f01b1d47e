//! The raw-event archive port on both adapters, with the same assertions:
//! a CQL keyspace on the local stack's Cassandra and the embedded SQLite
//! file. Rows come back newest first per campaign and UTC day, pages
//! continue from a cursor without gaps or repeats, a replayed write
//! changes nothing, and expired rows are gone.

use std::collections::BTreeMap;

use std::sync::Arc;

use adpulse_domain::ports::RawArchive;

/// The archive as the services hold it.
type Archive = Arc<dyn RawArchive>;
use adpulse_domain::archive::{ArchivedEvent, EventCursor, RawEvent};
use adpulse_domain::{CampaignId, Event, TenantId};
use chrono::{DateTime, Duration, NaiveDate, Utc};

/// A fresh, empty archive of each kind.
mod make {
    use super::*;

    pub async fn cql() -> (Archive, Option<adpulse_cql::Cql>) {
        use adpulse_testkit::{Server, unique_name};
        let cfg = adpulse_config::CqlConfig {
            nodes: vec![Server::Cql.require()],
            keyspace: unique_name("archive"),
            ..adpulse_config::CqlConfig::default()
        };
        let cql = match adpulse_cql::Cql::connect(&cfg).await {
            Ok(c) => c,
            Err(e) => Server::Cql.absent(&e.to_string()),
        };
        cql.migrate(1).await.expect("migrate");
        let cleanup = adpulse_cql::Cql::connect(&cfg)
            .await
            .expect("second session");
        (
            Arc::new(adpulse_cql::CqlArchive::new(cql).await.expect("prepare")),
            Some(cleanup),
        )
    }

    pub async fn sqlite() -> (Archive, Option<adpulse_cql::Cql>) {
        let dir = std::env::temp_dir().join(format!("adpulse-archive-{}", uuid::Uuid::new_v4()));
        let a = adpulse_sqlite::LiteArchive::open(&dir).await.expect("open");
        (Arc::new(a), None)
    }
}

fn event(campaign: CampaignId, at: DateTime<Utc>, user: &str, cost: i64) -> Event {
    let json = serde_json::json!({
        "event_id": uuid::Uuid::now_v7().to_string(), "type": "click",
        "campaign_id": campaign.to_string(), "ad_id": "creative-7", "channel": "search",
        "occurred_at": at.to_rfc3339(), "user": {"device_id": user, "login_id": format!("l-{user}")},
        "cost_micros": cost, "attributes": {"placement": "top", "page": "3"},
    });
    serde_json::from_value(json).expect("event")
}

fn raw(event: Event, tenant: TenantId, ingested_at: DateTime<Utc>) -> RawEvent {
    RawEvent {
        event,
        tenant,
        ingested_at,
    }
}

async fn pages_newest_first_per_day(archive: &Archive) {
    let tenant = TenantId::from_uuid(uuid::Uuid::new_v4());
    let campaign = CampaignId::from_uuid(uuid::Uuid::new_v4());
    let other = CampaignId::from_uuid(uuid::Uuid::new_v4());
    // Recent days, so nothing is past its retention.
    let day = Utc::now().date_naive() - Duration::days(1);
    let base = day.and_hms_opt(0, 0, 0).expect("midnight").and_utc();
    let sent = written_twice(archive, (tenant, campaign, other), base).await;
    let mut expected: Vec<&RawEvent> = sent[..25].iter().collect();
    expected.sort_by(|a, b| {
        (b.event.occurred_at, b.event.event_id.as_uuid())
            .cmp(&(a.event.occurred_at, a.event.event_id.as_uuid()))
    });
    let seen = every_page_of(archive, campaign, day).await;
    assert_eq!(
        seen.len(),
        25,
        "every event of the day once, replays included"
    );
    for (got, want) in seen.iter().zip(&expected) {
        assert_archived_as_written(got, want, tenant);
    }
    let next_day = archive
        .campaign_events(campaign, day + Duration::days(1), None, 10)
        .await
        .expect("next day");
    assert_eq!(next_day.len(), 1);
    let empty: NaiveDate = day - Duration::days(1);
    assert!(
        archive
            .campaign_events(campaign, empty, None, 10)
            .await
            .expect("empty day")
            .is_empty()
    );
}

/// Writes 25 events of `campaign` on the day starting at `base`, one on the
/// next day and one of `other`, then replays the first ten; returns what
/// was sent, the day's 25 first.
async fn written_twice(
    archive: &Archive,
    (tenant, campaign, other): (TenantId, CampaignId, CampaignId),
    base: DateTime<Utc>,
) -> Vec<RawEvent> {
    let mut sent = Vec::new();
    for i in 0..25 {
        // Two events share each instant: ties are broken by event id.
        let when = base + Duration::minutes(i / 2 * 7);
        sent.push(raw(
            event(campaign, when, &format!("u{i}"), 100 + i),
            tenant,
            when + Duration::seconds(1),
        ));
    }
    // The next day and another campaign: never on this day's pages.
    sent.push(raw(
        event(campaign, base + Duration::days(1), "late", 1),
        tenant,
        Utc::now(),
    ));
    sent.push(raw(event(other, base, "x", 1), tenant, Utc::now()));
    archive.write(&sent, 86_400 * 30, 4).await.expect("write");
    // A replay writes the same rows again.
    archive
        .write(&sent[..10], 86_400 * 30, 4)
        .await
        .expect("replay");
    sent
}

/// Reads `campaign`'s `day` in pages of 10, each continuing from the last.
async fn every_page_of(
    archive: &Archive,
    campaign: CampaignId,
    day: NaiveDate,
) -> Vec<ArchivedEvent> {
    let mut seen = Vec::new();
    let mut after: Option<EventCursor> = None;
    loop {
        let page = archive
            .campaign_events(campaign, day, after, 10)
            .await
            .expect("page");
        assert!(page.len() <= 10);
        if let Some(last) = page.last() {
            after = Some(EventCursor {
                occurred_at: last.occurred_at,
                event_id: last.event_id,
            });
        }
        let done = page.len() < 10;
        seen.extend(page);
        if done {
            break;
        }
    }
    seen
}

/// Every field of an archived row is the event as written.
fn assert_archived_as_written(got: &ArchivedEvent, want: &RawEvent, tenant: TenantId) {
    let e = &want.event;
    assert_eq!(got.event_id, *e.event_id.as_uuid());
    assert_eq!(got.tenant_id, *tenant.as_uuid());
    assert_eq!(got.occurred_at, e.occurred_at);
    assert_eq!(
        got.ingested_at.map(|t| t.timestamp_millis()),
        Some(want.ingested_at.timestamp_millis())
    );
    assert_eq!(
        (
            got.event_type.as_str(),
            got.channel.as_str(),
            got.ad_id.as_str()
        ),
        ("click", "search", "creative-7")
    );
    assert_eq!(
        got.device_id.as_deref(),
        e.user.as_ref().and_then(|u| u.device_id.as_deref())
    );
    assert_eq!(
        got.login_id.as_deref(),
        e.user.as_ref().and_then(|u| u.login_id.as_deref())
    );
    assert_eq!(
        (got.cookie_id.as_deref(), got.email_sha256.as_deref()),
        (None, None)
    );
    assert_eq!(
        (got.cost_micros, got.revenue_micros),
        (e.cost_micros.get(), 0)
    );
    let attrs: BTreeMap<String, String> = [("page", "3"), ("placement", "top")]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    assert_eq!(got.attributes, attrs);
}

async fn expired_rows_are_gone(archive: &Archive) {
    let tenant = TenantId::from_uuid(uuid::Uuid::new_v4());
    let campaign = CampaignId::from_uuid(uuid::Uuid::new_v4());
    let now = Utc::now();
    let kept = raw(
        event(campaign, now - Duration::seconds(5), "kept", 1),
        tenant,
        now,
    );
    archive.write(&[kept], 3_600, 1).await.expect("write kept");
    let brief = raw(
        event(campaign, now - Duration::seconds(4), "brief", 1),
        tenant,
        now,
    );
    archive.write(&[brief], 1, 1).await.expect("write brief");
    // A TTL counts from the write (CQL) or from the later of occurrence and
    // ingestion (SQLite): either way, gone after a few seconds.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let page = archive
            .campaign_events(campaign, now.date_naive(), None, 10)
            .await
            .expect("page");
        if page.len() == 1 {
            assert_eq!(page[0].device_id.as_deref(), Some("kept"));
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the expired row is still there: {page:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
}

macro_rules! conformance {
    ($adapter:ident) => {
        mod $adapter {
            #[tokio::test]
            async fn pages_newest_first_per_day() {
                let (archive, cleanup) = super::make::$adapter().await;
                super::pages_newest_first_per_day(&archive).await;
                if let Some(c) = cleanup {
                    c.drop_keyspace().await.expect("drop");
                }
            }

            #[tokio::test]
            async fn expired_rows_are_gone() {
                let (archive, cleanup) = super::make::$adapter().await;
                super::expired_rows_are_gone(&archive).await;
                if let Some(c) = cleanup {
                    c.drop_keyspace().await.expect("drop");
                }
            }
        }
    };
}

conformance!(cql);
conformance!(sqlite);
