//! Accepted events: single, JSON-array, NDJSON and gzipped NDJSON, each
//! on its campaign's partition with its tenant, arrival time and trace.

use adpulse_domain::ports::Stream;
use adpulse_kafka::partition::partition_for;
use std::collections::HashMap;

use serde_json::Value;

use crate::common::{Harness, PARTITIONS, config, event};
use crate::{gzip, header};

/// A sender's W3C trace context.
const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

#[tokio::test]
async fn accepted_events_land_on_their_campaigns_partition_with_headers() {
    let h = Harness::start(config()).await;
    let auth = format!("Bearer {}", h.a.key);
    let mut sent: HashMap<String, String> = HashMap::new(); // event_id -> campaign
    let traced_id = a_traced_event_is_accepted(&h, &auth, &mut sent).await;
    single_events_are_accepted(&h, &mut sent).await;
    batches_of_every_format_are_accepted(&h, &auth, &mut sent).await;
    every_event_lands_keyed_on_its_campaign_s_partition(&h, &sent, &traced_id).await;
    h.stop().await;
}

/// An event sent with a `traceparent` is accepted; returns its id.
async fn a_traced_event_is_accepted(
    h: &Harness,
    auth: &str,
    sent: &mut HashMap<String, String>,
) -> String {
    // A sender's trace context travels with its event.
    let traced = event(h.a.campaigns[0], "impression");
    let r = h
        .post(
            "/v1/events",
            &[
                ("authorization", auth),
                ("content-type", "application/json"),
                ("traceparent", TRACEPARENT),
            ],
            traced.to_string(),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    let traced_id = traced["event_id"].as_str().expect("id").to_owned();
    sent.insert(
        traced_id.clone(),
        traced["campaign_id"].as_str().expect("c").into(),
    );

    traced_id
}

/// 9 single events over 3 campaigns are accepted, each echoing its id.
async fn single_events_are_accepted(h: &Harness, sent: &mut HashMap<String, String>) {
    // 9 single events over 3 campaigns
    for i in 0..9 {
        let e = event(
            h.a.campaigns[i % 3],
            ["impression", "click", "conversion"][i % 3],
        );
        let r = h.send(&h.a, &e).await;
        assert_eq!(r.status, 202, "{}", r.body);
        assert_eq!(r.body["event_id"], e["event_id"]);
        sent.insert(
            e["event_id"].as_str().expect("id").into(),
            e["campaign_id"].as_str().expect("c").into(),
        );
    }
}

/// A JSON-array, an NDJSON and a gzipped NDJSON batch of 10 are each
/// accepted whole, with the rate-limit headers.
async fn batches_of_every_format_are_accepted(
    h: &Harness,
    auth: &str,
    sent: &mut HashMap<String, String>,
) {
    // a JSON-array batch, an NDJSON batch and a gzipped NDJSON batch
    let batch: Vec<Value> = (0..30)
        .map(|i| event(h.a.campaigns[i % 3], "impression"))
        .collect();
    let (array, rest) = batch.split_at(10);
    let (ndjson, gz) = rest.split_at(10);
    let lines = |evs: &[Value]| {
        evs.iter()
            .map(Value::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    };
    let replies = [
        h.post(
            "/v1/events/batch",
            &[
                ("authorization", auth),
                ("content-type", "application/json"),
            ],
            Value::from(array.to_vec()).to_string(),
        )
        .await,
        h.post(
            "/v1/events/batch",
            &[
                ("authorization", auth),
                ("content-type", "application/x-ndjson"),
            ],
            lines(ndjson),
        )
        .await,
        h.post(
            "/v1/events/batch",
            &[
                ("authorization", auth),
                ("content-type", "application/x-ndjson"),
                ("content-encoding", "gzip"),
            ],
            gzip(lines(gz).as_bytes()),
        )
        .await,
    ];
    for r in &replies {
        assert_eq!(r.status, 202, "{}", r.body);
        assert_eq!(r.body["accepted"], 10);
        assert_eq!(r.body["rejected"], 0);
        assert!(!header(r, "ratelimit-remaining").is_empty());
    }
    for e in &batch {
        sent.insert(
            e["event_id"].as_str().expect("id").into(),
            e["campaign_id"].as_str().expect("c").into(),
        );
    }
}

/// Every event sent is in the events topic once, keyed by its campaign on
/// that key's murmur2 partition, with its tenant, a recent arrival time
/// and (for the traced one) its trace context.
async fn every_event_lands_keyed_on_its_campaign_s_partition(
    h: &Harness,
    sent: &HashMap<String, String>,
    traced_id: &str,
) {
    let records = h.consume(Stream::Events, sent.len()).await;
    let mut seen = 0;
    for r in records {
        let key = String::from_utf8(r.key.clone().expect("keyed")).expect("utf-8");
        let value: Value = serde_json::from_slice(&r.payload.expect("value")).expect("json");
        let id = value["event_id"].as_str().expect("event_id");
        assert_eq!(sent.get(id), Some(&key), "event {id} keyed by its campaign");
        assert_eq!(
            r.partition,
            partition_for(key.as_bytes(), PARTITIONS),
            "murmur2 placement"
        );
        let headers: HashMap<_, _> = r.headers.into_iter().collect();
        assert_eq!(headers["tenant_id"], h.a.id.to_string().into_bytes());
        let ingested: i64 = String::from_utf8(headers["ingested_at"].clone())
            .expect("utf-8")
            .parse()
            .expect("millis");
        assert!((chrono::Utc::now().timestamp_millis() - ingested).abs() < 600_000);
        if id == traced_id {
            assert_eq!(
                headers.get("traceparent").map(Vec::as_slice),
                Some(TRACEPARENT.as_bytes())
            );
        }
        seen += 1;
    }
    assert_eq!(seen, sent.len());
}
