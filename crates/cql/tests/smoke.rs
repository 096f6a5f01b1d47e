//! Smoke test against the real CQL database of the local stack (Cassandra 5):
//! a fresh keyspace is created and migrated, a raw event row is written and
//! read back, and the keyspace is dropped.

use adpulse_config::CqlConfig;
use adpulse_cql::Cql;
use adpulse_testkit::{Server, unique_name};
use chrono::{NaiveDate, TimeZone, Utc};
use uuid::Uuid;

#[tokio::test]
async fn keyspace_migrated_written_and_read() {
    let cfg = CqlConfig {
        nodes: vec![Server::Cql.require()],
        keyspace: unique_name("smoke"),
        ..CqlConfig::default()
    };
    let cql = match Cql::connect(&cfg).await {
        Ok(c) => c,
        Err(e) => Server::Cql.absent(&e.to_string()),
    };
    assert_eq!(cql.migrate(1).await.expect("migrate"), 2);
    assert_eq!(
        cql.migrate(1).await.expect("second run"),
        0,
        "migrations are idempotent"
    );
    assert_eq!(cql.applied().await.expect("versions"), [1, 2]);

    let campaign = Uuid::new_v4();
    let day = NaiveDate::from_ymd_opt(2026, 11, 29).expect("date");
    let at = Utc
        .with_ymd_and_hms(2026, 11, 29, 10, 30, 0)
        .single()
        .expect("time");
    let ids = [Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7()];
    for (i, id) in ids.iter().enumerate() {
        cql.session()
            .query_unpaged(
                "INSERT INTO campaign_events (campaign_id, event_date, event_id, event_type, channel, ad_id, \
                 occurred_at, cost_micros) VALUES (?, ?, ?, 'impression', 'display', 'creative-42', ?, ?) \
                 USING TTL 86400",
                (campaign, day, id, at, 1250_i64 * (i as i64 + 1)),
            )
            .await
            .expect("insert");
    }
    // Writing the same primary key again is an overwrite, not a new row.
    cql.session()
        .query_unpaged(
            "INSERT INTO campaign_events (campaign_id, event_date, event_id, occurred_at, event_type, cost_micros) \
             VALUES (?, ?, ?, ?, 'impression', 1250)",
            (campaign, day, ids[0], at),
        )
        .await
        .expect("idempotent rewrite");

    let rows = cql
        .session()
        .query_unpaged(
            "SELECT event_id, cost_micros FROM campaign_events WHERE campaign_id = ? AND event_date = ?",
            (campaign, day),
        )
        .await
        .expect("select")
        .into_rows_result()
        .expect("rows");
    let got: Vec<(Uuid, i64)> = rows
        .rows::<(Uuid, i64)>()
        .expect("typed rows")
        .collect::<Result<_, _>>()
        .expect("decode");
    let newest_first: Vec<Uuid> = ids.iter().rev().copied().collect();
    assert_eq!(
        got.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
        newest_first
    );
    assert_eq!(got.iter().map(|(_, c)| *c).sum::<i64>(), 1250 + 2500 + 3750);

    cql.drop_keyspace().await.expect("cleanup");
}
