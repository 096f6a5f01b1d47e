//! The gateway against real Kafka and Postgres: where accepted events land,
//! what every kind of bad input gets, rate limits, revocation, and 503 when
//! the log fails.

mod common;

use adpulse_domain::ports::prelude::*;
use std::collections::HashMap;
use std::io::Write as _;
use std::time::Duration;

use adpulse_domain::ports::{EventLog, LogRecord, PortError};
use adpulse_kafka::partition::partition_for;
use common::{Harness, PARTITIONS, config, event};
use serde_json::{Value, json};

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).expect("write");
    e.finish().expect("finish")
}

fn header<'a>(r: &'a common::Reply, name: &str) -> &'a str {
    r.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

#[tokio::test]
async fn accepted_events_land_on_their_campaigns_partition_with_headers() {
    let h = Harness::start(config()).await;
    let auth = format!("Bearer {}", h.a.key);
    let mut sent: HashMap<String, String> = HashMap::new(); // event_id -> campaign

    // A sender's trace context travels with its event.
    let traced = event(h.a.campaigns[0], "impression");
    let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let r = h
        .post(
            "/v1/events",
            &[
                ("authorization", &auth),
                ("content-type", "application/json"),
                ("traceparent", traceparent),
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
                ("authorization", &auth),
                ("content-type", "application/json"),
            ],
            Value::from(array.to_vec()).to_string(),
        )
        .await,
        h.post(
            "/v1/events/batch",
            &[
                ("authorization", &auth),
                ("content-type", "application/x-ndjson"),
            ],
            lines(ndjson),
        )
        .await,
        h.post(
            "/v1/events/batch",
            &[
                ("authorization", &auth),
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

    let records = h
        .consume(&h.kafka.events_topic, PARTITIONS, sent.len())
        .await;
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
                Some(traceparent.as_bytes())
            );
        }
        seen += 1;
    }
    assert_eq!(seen, sent.len());
    h.stop().await;
}

#[tokio::test]
async fn every_bad_input_gets_its_own_status_and_code_and_a_bad_row() {
    let h = Harness::start(config()).await;
    let auth = format!("Bearer {}", h.a.key);
    let json_ct = ("content-type", "application/json");
    let ok = || event(h.a.campaigns[0], "click");
    let with = |field: &str, v: Value| {
        let mut e = ok();
        e[field] = v;
        e.to_string()
    };
    let future = (chrono::Utc::now() + chrono::Duration::hours(2)).to_rfc3339();
    let old = (chrono::Utc::now() - chrono::Duration::days(400)).to_rfc3339();
    let bomb = gzip(&vec![b' '; 20 * 1024 * 1024]);
    let too_many: String = (0..1001).map(|_| ok().to_string() + "\n").collect();
    let revoked = {
        let mut random = [7u8; 32];
        getrandom::fill(&mut random).expect("random");
        let k =
            h.db.create_ingest_key(h.a.id, "to revoke", random)
                .await
                .expect("key");
        h.db.revoke_ingest_key(k.id).await.expect("revoke");
        format!("Bearer {}", k.secret)
    };

    struct Case {
        name: &'static str,
        path: &'static str,
        headers: Vec<(&'static str, String)>,
        body: Vec<u8>,
        status: u16,
        code: &'static str,
    }
    let single = |name, body: String, status, code| Case {
        name,
        path: "/v1/events",
        headers: vec![
            ("authorization", auth.clone()),
            (json_ct.0, json_ct.1.into()),
        ],
        body: body.into_bytes(),
        status,
        code,
    };
    let cases = vec![
        single(
            "malformed JSON",
            "{\"event_id\": ".into(),
            400,
            "invalid_json",
        ),
        single("not an object", "[1, 2]".into(), 400, "not_an_object"),
        single(
            "wrong type",
            with("cost_micros", json!("12")),
            422,
            "invalid_type",
        ),
        single("missing fields", "{}".into(), 422, "missing_field"),
        single(
            "unknown type",
            with("type", json!("view")),
            422,
            "unknown_event_type",
        ),
        single(
            "unknown channel",
            with("channel", json!("tv")),
            422,
            "unknown_channel",
        ),
        single(
            "bad uuid",
            with("event_id", json!("e-1")),
            422,
            "invalid_uuid",
        ),
        single(
            "negative money",
            with("cost_micros", json!(-1)),
            422,
            "negative_amount",
        ),
        single(
            "unknown field",
            with("campain", json!("x")),
            422,
            "unknown_field",
        ),
        single(
            "oversize event",
            with("ad_id", json!("x".repeat(20_000))),
            413,
            "too_large",
        ),
        single(
            "far future",
            with("occurred_at", json!(future)),
            422,
            "too_far_in_future",
        ),
        single("too old", with("occurred_at", json!(old)), 422, "too_old"),
        single(
            "another tenant's campaign",
            with("campaign_id", json!(h.b.campaigns[0].to_string())),
            422,
            "unknown_campaign",
        ),
        single(
            "no such campaign",
            with("campaign_id", json!(uuid::Uuid::new_v4().to_string())),
            422,
            "unknown_campaign",
        ),
        Case {
            name: "oversize body",
            path: "/v1/events/batch",
            headers: vec![
                ("authorization", auth.clone()),
                ("content-type", "application/x-ndjson".into()),
            ],
            body: vec![b'\n'; 2 * 1024 * 1024],
            status: 413,
            code: "body_too_large",
        },
        Case {
            name: "gzip bomb",
            path: "/v1/events/batch",
            headers: vec![
                ("authorization", auth.clone()),
                ("content-type", "application/x-ndjson".into()),
                ("content-encoding", "gzip".into()),
            ],
            body: bomb,
            status: 413,
            code: "decompressed_too_large",
        },
        Case {
            name: "not gzip",
            path: "/v1/events/batch",
            headers: vec![
                ("authorization", auth.clone()),
                (json_ct.0, json_ct.1.into()),
                ("content-encoding", "gzip".into()),
            ],
            body: b"plain".to_vec(),
            status: 400,
            code: "invalid_gzip",
        },
        Case {
            name: "unsupported encoding",
            path: "/v1/events",
            headers: vec![
                ("authorization", auth.clone()),
                (json_ct.0, json_ct.1.into()),
                ("content-encoding", "br".into()),
            ],
            body: ok().to_string().into_bytes(),
            status: 415,
            code: "unsupported_encoding",
        },
        Case {
            name: "batch not an array",
            path: "/v1/events/batch",
            headers: vec![
                ("authorization", auth.clone()),
                (json_ct.0, json_ct.1.into()),
            ],
            body: ok().to_string().into_bytes(),
            status: 400,
            code: "invalid_json",
        },
        Case {
            name: "too many events",
            path: "/v1/events/batch",
            headers: vec![
                ("authorization", auth.clone()),
                ("content-type", "application/x-ndjson".into()),
            ],
            body: too_many.into_bytes(),
            status: 413,
            code: "too_many_events",
        },
        Case {
            name: "empty batch",
            path: "/v1/events/batch",
            headers: vec![
                ("authorization", auth.clone()),
                (json_ct.0, json_ct.1.into()),
            ],
            body: b"[]".to_vec(),
            status: 400,
            code: "empty_batch",
        },
        Case {
            name: "wrong content type",
            path: "/v1/events",
            headers: vec![
                ("authorization", auth.clone()),
                ("content-type", "text/plain".into()),
            ],
            body: ok().to_string().into_bytes(),
            status: 415,
            code: "unsupported_media_type",
        },
        Case {
            name: "missing key",
            path: "/v1/events",
            headers: vec![(json_ct.0, json_ct.1.into())],
            body: ok().to_string().into_bytes(),
            status: 401,
            code: "missing_key",
        },
        Case {
            name: "bad key",
            path: "/v1/events",
            headers: vec![
                ("authorization", format!("Bearer adp_{}", "0".repeat(64))),
                (json_ct.0, json_ct.1.into()),
            ],
            body: ok().to_string().into_bytes(),
            status: 401,
            code: "invalid_key",
        },
        Case {
            name: "malformed key",
            path: "/v1/events",
            headers: vec![
                ("authorization", "Bearer hunter2".into()),
                (json_ct.0, json_ct.1.into()),
            ],
            body: ok().to_string().into_bytes(),
            status: 401,
            code: "invalid_key",
        },
        Case {
            name: "revoked key",
            path: "/v1/events",
            headers: vec![("authorization", revoked), (json_ct.0, json_ct.1.into())],
            body: ok().to_string().into_bytes(),
            status: 401,
            code: "revoked_key",
        },
    ];

    // Every refusal after authentication leaves one bad row with its code.
    let mut event_level = Vec::new();
    for c in &cases {
        let headers: Vec<(&str, &str)> = c.headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = h.post(c.path, &headers, c.body.clone()).await;
        assert!(r.status < 500, "{}: got {} {}", c.name, r.status, r.body);
        assert_eq!(
            (r.status, r.code()),
            (c.status, c.code),
            "{}: {}",
            c.name,
            r.body
        );
        assert!(
            !r.body["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .is_empty(),
            "{}",
            c.name
        );
        if c.code == "invalid_json" && c.path == "/v1/events" {
            assert!(
                r.body["error"]["message"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("column"),
                "position given"
            );
        }
        if c.status != 401 {
            event_level.push(c.code);
        }
    }

    // A partly bad batch: the good events are accepted, each bad one explained.
    let mixed = vec![ok(), json!({"type": "view"}), ok()];
    let r = h
        .post(
            "/v1/events/batch",
            &[("authorization", &auth), json_ct],
            Value::from(mixed).to_string(),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(
        (r.body["accepted"].as_u64(), r.body["rejected"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(r.body["results"][1]["status"], "rejected");
    assert_eq!(r.body["results"][1]["code"], "missing_field");
    assert_eq!(r.body["results"][0]["status"], "accepted");
    event_level.push("missing_field");

    // Every refused event of the known tenant is a bad row with its reason.
    let rows = h
        .consume(&h.kafka.rejected_topic, 1, event_level.len())
        .await;
    let mut codes: Vec<String> = rows
        .iter()
        .map(|r| {
            let v: Value =
                serde_json::from_slice(r.payload.as_deref().expect("value")).expect("json");
            assert_eq!(v["tenant_id"], h.a.id.to_string());
            assert!(v["received_at"].is_string());
            assert!(v["payload_bytes"].is_u64());
            v["code"].as_str().expect("code").to_owned()
        })
        .collect();
    codes.sort();
    let mut want: Vec<String> = event_level.iter().map(|c| (*c).to_owned()).collect();
    want.sort();
    assert_eq!(codes, want);
    h.stop().await;
}

#[tokio::test]
async fn tenants_are_limited_to_their_quota_and_only_theirs() {
    let mut cfg = config();
    cfg.gateway.tenant_events_per_sec = 10;
    cfg.gateway.tenant_burst = 10;
    cfg.gateway.unauthenticated_per_ip_per_sec = 2;
    let h = Harness::start(cfg).await;
    let auth = format!("Bearer {}", h.a.key);
    let ten: Vec<Value> = (0..10)
        .map(|_| event(h.a.campaigns[0], "impression"))
        .collect();
    let r = h
        .post(
            "/v1/events/batch",
            &[
                ("authorization", &auth),
                ("content-type", "application/json"),
            ],
            Value::from(ten).to_string(),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.body);

    let r = h.send(&h.a, &event(h.a.campaigns[0], "click")).await;
    assert_eq!((r.status, r.code()), (429, "rate_limited"), "{}", r.body);
    assert!(
        header(&r, "retry-after")
            .parse::<u64>()
            .expect("Retry-After seconds")
            >= 1
    );
    assert_eq!(header(&r, "ratelimit-limit"), "10");
    assert_eq!(header(&r, "ratelimit-remaining"), "0");

    let r = h.send(&h.b, &event(h.b.campaigns[0], "click")).await;
    assert_eq!(r.status, 202, "tenant B is unaffected: {}", r.body);

    // A batch larger than the burst can never fit.
    let big: Vec<Value> = (0..11)
        .map(|_| event(h.b.campaigns[0], "impression"))
        .collect();
    let bauth = format!("Bearer {}", h.b.key);
    let r = h
        .post(
            "/v1/events/batch",
            &[
                ("authorization", &bauth),
                ("content-type", "application/json"),
            ],
            Value::from(big).to_string(),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (413, "batch_exceeds_quota"),
        "{}",
        r.body
    );

    // Without a valid key, an address gets a few tries, then 429.
    let mut statuses = Vec::new();
    for _ in 0..8 {
        let r = h
            .post(
                "/v1/events",
                &[
                    ("authorization", "Bearer nope"),
                    ("content-type", "application/json"),
                ],
                "{}",
            )
            .await;
        statuses.push(r.status);
    }
    assert_eq!(statuses[0], 401);
    assert!(statuses.contains(&429), "{statuses:?}");
    h.stop().await;
}

#[tokio::test]
async fn a_revoked_key_stops_working_and_a_deleted_campaign_too() {
    let mut cfg = config();
    cfg.gateway.auth_cache_ttl_secs = 0; // no staleness: revocation is immediate
    let h = Harness::start(cfg).await;
    assert_eq!(
        h.send(&h.a, &event(h.a.campaigns[0], "click")).await.status,
        202
    );
    assert!(
        h.db.delete_campaign(h.a.campaigns[0])
            .await
            .expect("delete")
    );
    let r = h.send(&h.a, &event(h.a.campaigns[0], "click")).await;
    assert_eq!(
        (r.status, r.code()),
        (422, "unknown_campaign"),
        "{}",
        r.body
    );
    assert!(h.db.revoke_ingest_key(h.a.key_id).await.expect("revoke"));
    let r = h.send(&h.a, &event(h.a.campaigns[1], "click")).await;
    assert_eq!((r.status, r.code()), (401, "revoked_key"), "{}", r.body);
    h.stop().await;
}

/// An event log that has lost its cluster: every append fails, retryably.
struct DownLog;

#[async_trait::async_trait]
impl EventLog for DownLog {
    async fn append(&self, records: Vec<LogRecord>) -> Vec<Result<(), PortError>> {
        records
            .iter()
            .map(|_| Err(PortError::retryable("injected: all brokers down")))
            .collect()
    }
    async fn ready(&self) -> bool {
        false
    }
    fn in_flight(&self) -> usize {
        0
    }
    async fn flush(&self, _: Duration) -> Result<(), PortError> {
        Ok(())
    }
}

#[tokio::test]
async fn a_failing_log_gets_503_with_retry_after_never_202() {
    let h = Harness::start_with(config(), DownLog).await;
    let r = h.send(&h.a, &event(h.a.campaigns[0], "impression")).await;
    assert_eq!((r.status, r.code()), (503, "log_unavailable"), "{}", r.body);
    assert_eq!(header(&r, "retry-after"), "1");
    let auth = format!("Bearer {}", h.a.key);
    let two = Value::from(vec![
        event(h.a.campaigns[0], "click"),
        event(h.a.campaigns[1], "click"),
    ])
    .to_string();
    let r = h
        .post(
            "/v1/events/batch",
            &[
                ("authorization", &auth),
                ("content-type", "application/json"),
            ],
            two,
        )
        .await;
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(h.get("/health/ready").await.0, 503);
    assert_eq!(h.get("/health/live").await.0, 200);
    h.stop().await;
}

#[tokio::test]
async fn health_and_metrics_are_served() {
    let h = Harness::start(config()).await;
    assert_eq!(h.get("/health/live").await.0, 200);
    assert_eq!(h.get("/health/ready").await.0, 200);
    assert_eq!(
        h.send(&h.a, &event(h.a.campaigns[0], "click")).await.status,
        202
    );
    let (status, text) = h.get("/metrics").await;
    assert_eq!(status, 200);
    for name in [
        "adpulse_gateway_requests_total",
        "adpulse_gateway_events_total",
        "adpulse_gateway_produce_duration_seconds",
        "adpulse_gateway_producer_in_flight",
    ] {
        assert!(text.contains(name), "{name} missing from /metrics");
    }
    h.stop().await;
}

/// An event log that holds each append until the test releases it, to
/// catch a request in flight at shutdown without timing guesses.
#[derive(Clone, Default)]
struct HeldLog {
    entered: std::sync::Arc<tokio::sync::Notify>,
    release: std::sync::Arc<tokio::sync::Notify>,
}

#[async_trait::async_trait]
impl EventLog for HeldLog {
    async fn append(&self, records: Vec<LogRecord>) -> Vec<Result<(), PortError>> {
        self.entered.notify_one();
        self.release.notified().await;
        records.iter().map(|_| Ok(())).collect()
    }
    async fn ready(&self) -> bool {
        true
    }
    fn in_flight(&self) -> usize {
        0
    }
    async fn flush(&self, _: Duration) -> Result<(), PortError> {
        Ok(())
    }
}

#[tokio::test]
async fn shutdown_lets_in_flight_requests_finish_then_stops_accepting() {
    let log = HeldLog::default();
    let h = Harness::start_with(config(), log.clone()).await;
    let (client, key, e) = (
        h.client(),
        h.a.key.clone(),
        event(h.a.campaigns[0], "click"),
    );
    let in_flight = tokio::spawn(async move { client.send_with(&key, &e).await });
    log.entered.notified().await; // the request is waiting on the log
    let addr = h.url.trim_start_matches("http://").to_owned();
    let stopping = tokio::spawn(h.stop());
    // Shutdown has begun: new connections are refused while the request waits.
    let mut refused = false;
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(&addr).await.is_err() {
            refused = true;
            break;
        }
        tokio::task::yield_now().await;
    }
    assert!(
        refused,
        "no longer accepting connections once shutdown began"
    );
    log.release.notify_one();
    let r = in_flight.await.expect("request task");
    assert_eq!(r.status, 202, "the in-flight request completes: {}", r.body);
    stopping.await.expect("clean stop");
}
