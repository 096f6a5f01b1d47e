//! Hostile and broken senders: malformed requests cost a budget (per tenant,
//! and per address without a valid key), and the rejected stream keeps a
//! bounded amount per tenant. The gateway runs on real Postgres (keys,
//! campaigns); its event log is an in-process double that keeps every row
//! written to the rejected stream, so their number and bytes are exact.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use adpulse_domain::ports::{EventLog, LogRecord, PortError, Stream};
use common::{Harness, Reply, config, event};
use serde_json::{Value, json};

/// The most a bad row takes besides its payload (`ROW_OVERHEAD_BYTES`).
const ROW_OVERHEAD: usize = 2048 + 512;

/// Acknowledges everything and keeps the values written to the rejected
/// stream.
#[derive(Clone, Default)]
struct RecordingLog {
    rejected: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl RecordingLog {
    fn rows(&self) -> Vec<Value> {
        self.rejected
            .lock()
            .expect("lock")
            .iter()
            .map(|v| serde_json::from_slice(v).expect("a bad row is JSON"))
            .collect()
    }

    fn bytes(&self) -> usize {
        self.rejected
            .lock()
            .expect("lock")
            .iter()
            .map(Vec::len)
            .sum()
    }
}

#[async_trait::async_trait]
impl EventLog for RecordingLog {
    async fn append(&self, records: Vec<LogRecord>) -> Vec<Result<(), PortError>> {
        let mut rejected = self.rejected.lock().expect("lock");
        records
            .into_iter()
            .map(|r| {
                if r.stream == Stream::Rejected {
                    rejected.push(r.payload);
                }
                Ok(())
            })
            .collect()
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

/// A ~5 kB body that is not JSON (a string never closed).
fn invalid_json() -> String {
    format!("[{{\"event_id\": \"{}", "x".repeat(5_000))
}

/// `n` POSTs from `workers` concurrent senders; the replies, in no order.
async fn flood(
    h: &Harness,
    n: usize,
    workers: usize,
    path: &'static str,
    headers: impl Fn(usize) -> Vec<(&'static str, String)> + Send + Sync + 'static,
    body: String,
) -> Vec<Reply> {
    let headers = Arc::new(headers);
    let mut tasks = Vec::new();
    for w in 0..workers {
        let (client, headers, body) = (h.client(), Arc::clone(&headers), body.clone());
        tasks.push(tokio::spawn(async move {
            let mut replies = Vec::new();
            for i in (w..n).step_by(workers) {
                let hs = headers(i);
                let hs: Vec<(&str, &str)> = hs.iter().map(|(k, v)| (*k, v.as_str())).collect();
                replies.push(client.post(path, &hs, body.clone()).await);
            }
            replies
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("sender"));
    }
    all
}

fn header<'a>(r: &'a Reply, name: &str) -> &'a str {
    r.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

fn count(replies: &[Reply], status: u16) -> usize {
    replies.iter().filter(|r| r.status == status).count()
}

/// Every 429 says when to come back, in the gateway's error body.
fn assert_limited(r: &Reply) {
    assert_eq!((r.status, r.code()), (429, "rate_limited"), "{}", r.body);
    let secs: u64 = header(r, "retry-after")
        .parse()
        .expect("Retry-After seconds");
    assert!(secs >= 1, "{secs}");
    assert!(
        !r.body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .is_empty()
    );
}

/// UTC minutes since the epoch, now.
fn minute() -> i64 {
    chrono::Utc::now().timestamp().div_euclid(60)
}

#[tokio::test]
async fn a_flood_of_invalid_json_from_one_key_gets_429_once_over_budget_and_leaves_bounded_rows() {
    // One a second: once closed, a tenant stays closed for a second, ample
    // for the checks after the flood.
    let (rate, burst) = (1, 20);
    let mut cfg = config();
    cfg.gateway.tenant_refusals_per_sec = rate;
    cfg.gateway.tenant_refusal_burst = burst;
    cfg.gateway.rejected_rows_per_tenant_per_minute = 1_000; // the budget is what bounds here
    let payload_max = cfg.gateway.rejected_payload_bytes;
    let log = RecordingLog::default();
    let h = Harness::start_with(cfg, log.clone()).await;
    let auth = format!("Bearer {}", h.a.key);
    let bomb = {
        use std::io::Write as _;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(&vec![b' '; 20 * 1024 * 1024]).expect("write");
        e.finish().expect("gzip")
    };

    let started = Instant::now();
    let replies = {
        let auth = auth.clone();
        flood(
            &h,
            1_000,
            8,
            "/v1/events/batch",
            move |_| {
                vec![
                    ("authorization", auth.clone()),
                    ("content-type", "application/json".into()),
                ]
            },
            invalid_json(),
        )
        .await
    };
    let took = started.elapsed().as_secs_f64();

    // Within budget: the refusal itself; past it: 429, nothing else.
    let refused = count(&replies, 400);
    assert_eq!(refused + count(&replies, 429), 1_000, "only 400 and 429");
    for r in &replies {
        match r.status {
            400 => assert_eq!(r.code(), "invalid_json", "{}", r.body),
            _ => assert_limited(r),
        }
    }
    let budget = f64::from(burst) + f64::from(rate) * took;
    assert!(
        refused >= burst as usize && refused as f64 <= budget + 1.0,
        "{refused} refusals answered in {took:.2} s; the budget allows {budget:.0}"
    );

    // Each refusal within budget left one full row, each past it nothing.
    let rows = log.rows();
    assert_eq!(rows.len(), refused, "one bad row per 400, none per 429");
    assert!(
        rows.iter()
            .all(|r| r["kind"] == "full" && r["code"] == "invalid_json")
    );
    assert!(rows.iter().all(|r| r["tenant_id"] == h.a.id.to_string()));
    assert!(log.bytes() <= refused * (payload_max + ROW_OVERHEAD));

    // Over budget, the tenant's next requests are 429 before their body is
    // read: a valid event, and a gzip bomb that is never inflated (413
    // otherwise), leave nothing.
    let r = h.send(&h.a, &event(h.a.campaigns[0], "click")).await;
    assert_limited(&r);
    let r = h
        .post(
            "/v1/events/batch",
            &[
                ("authorization", &auth),
                ("content-type", "application/json"),
                ("content-encoding", "gzip"),
            ],
            bomb,
        )
        .await;
    assert_limited(&r);
    assert_eq!(log.rows().len(), refused);

    // Another tenant is not affected.
    let r = h.send(&h.b, &event(h.b.campaigns[0], "click")).await;
    assert_eq!(r.status, 202, "{}", r.body);
    h.stop().await;
}

#[tokio::test]
async fn past_n_rows_a_minute_a_tenants_refusals_are_counted_in_summary_rows() {
    let per_minute = 25;
    let mut cfg = config();
    cfg.gateway.tenant_refusals_per_sec = 100_000; // the row bound is what bounds here
    cfg.gateway.tenant_refusal_burst = 100_000;
    cfg.gateway.rejected_rows_per_tenant_per_minute = per_minute;
    let payload_max = cfg.gateway.rejected_payload_bytes;
    let log = RecordingLog::default();
    let h = Harness::start_with(cfg, log.clone()).await;
    let first_minute = minute();
    three_hundred_requests_and_three_hundred_events_are_refused(&h).await;
    let minutes = usize::try_from(minute() - first_minute + 1).expect("minutes");
    while_it_runs_full_rows_are_bounded_per_minute(&log, per_minute as usize, minutes);

    // At shutdown the current minute is summarised too: every refusal is
    // either a full row or counted in a summary row of its reason.
    let tenant = Value::from(h.a.id.to_string());
    h.stop().await;
    every_refusal_is_a_full_row_or_counted_in_a_summary(&log, &tenant, minutes, payload_max);
}

/// The full rows among `rows`.
fn full(rows: &[Value]) -> usize {
    rows.iter().filter(|r| r["kind"] == "full").count()
}

/// Tenant A sends 300 malformed requests (each 400) and 10 batches of 30
/// events missing fields (each 422, all 30 rejected).
async fn three_hundred_requests_and_three_hundred_events_are_refused(h: &Harness) {
    let auth = format!("Bearer {}", h.a.key);
    // 300 malformed requests, and 10 batches of 30 events missing fields.
    let replies = {
        let auth = auth.clone();
        flood(
            h,
            300,
            8,
            "/v1/events/batch",
            move |_| {
                vec![
                    ("authorization", auth.clone()),
                    ("content-type", "application/json".into()),
                ]
            },
            invalid_json(),
        )
        .await
    };
    assert_eq!(count(&replies, 400), 300);
    let missing: String = (0..30)
        .map(|_| json!({"type": "click"}).to_string() + "\n")
        .collect();
    for _ in 0..10 {
        let r = h
            .post(
                "/v1/events/batch",
                &[
                    ("authorization", &auth),
                    ("content-type", "application/x-ndjson"),
                ],
                missing.clone(),
            )
            .await;
        assert_eq!((r.status, r.body["rejected"].as_u64()), (422, Some(30)));
    }
}

/// While it runs: at most `per_minute` full rows per minute it spanned
/// (`minutes`), plus the summaries of minutes that ended.
fn while_it_runs_full_rows_are_bounded_per_minute(
    log: &RecordingLog,
    per_minute: usize,
    minutes: usize,
) {
    let during = log.rows();
    assert!(full(&during) <= per_minute * minutes, "{}", full(&during));
    assert!(full(&during) >= per_minute);
}

/// After shutdown, every row is `tenant`'s, full or a summary; they count
/// all 300 of each reason, with at most one summary per reason and
/// minute, in bounded bytes.
fn every_refusal_is_a_full_row_or_counted_in_a_summary(
    log: &RecordingLog,
    tenant: &Value,
    minutes: usize,
    payload_max: usize,
) {
    let rows = log.rows();
    let mut counted = std::collections::BTreeMap::<String, u64>::new();
    for r in &rows {
        let n = match r["kind"].as_str() {
            Some("full") => 1,
            Some("summary") => {
                assert!(r["count"].as_u64() > Some(0));
                assert!(r["until"].is_string() && r["received_at"].is_string());
                r["count"].as_u64().expect("count")
            }
            other => panic!("row of kind {other:?}"),
        };
        assert_eq!(&r["tenant_id"], tenant);
        *counted
            .entry(r["code"].as_str().expect("code").into())
            .or_default() += n;
    }
    assert_eq!(counted.get("invalid_json"), Some(&300));
    assert_eq!(counted.get("missing_field"), Some(&300));
    let summaries = rows.len() - full(&rows);
    assert!(
        summaries <= 2 * minutes,
        "one per reason and minute: {summaries}"
    );
    assert!(
        log.bytes() <= full(&rows) * (payload_max + ROW_OVERHEAD) + summaries * 512,
        "{} bytes",
        log.bytes()
    );
}

#[tokio::test]
async fn a_flood_without_a_valid_key_gets_429_per_address_and_leaves_no_rows() {
    let rate = 5;
    let mut cfg = config();
    cfg.gateway.unauthenticated_per_ip_per_sec = rate;
    let log = RecordingLog::default();
    let h = Harness::start_with(cfg, log.clone()).await;
    // Tenant A's key is used (and cached) before the flood.
    let r = h.send(&h.a, &event(h.a.campaigns[0], "click")).await;
    assert_eq!(r.status, 202, "{}", r.body);

    let started = Instant::now();
    let replies = flood(
        &h,
        300,
        8,
        "/v1/events/batch",
        |i| {
            // Well-formed keys nobody issued, each different (each would
            // need a directory lookup), and no key at all.
            let auth = match i % 3 {
                0 => None,
                _ => Some(format!("Bearer adp_{i:064x}")),
            };
            let mut hs = vec![("content-type", "application/json".to_owned())];
            hs.extend(auth.map(|a| ("authorization", a)));
            hs
        },
        invalid_json(),
    )
    .await;
    let took = started.elapsed().as_secs_f64();
    let unauthorized = count(&replies, 401);
    assert_eq!(unauthorized + count(&replies, 429), 300, "only 401 and 429");
    for r in replies.iter().filter(|r| r.status == 429) {
        assert_limited(r);
    }
    let budget = 2.0 * f64::from(rate) + f64::from(rate) * took;
    assert!(
        unauthorized >= 2 * rate as usize && unauthorized as f64 <= budget + 1.0,
        "{unauthorized} answered 401 in {took:.2} s; the budget allows {budget:.0}"
    );
    assert!(log.rows().is_empty(), "no tenant, no bad row");

    // A key already known good still works from the closed address.
    let r = h.send(&h.a, &event(h.a.campaigns[1], "click")).await;
    assert_eq!(r.status, 202, "{}", r.body);
    h.stop().await;
}

#[tokio::test]
async fn a_tenant_with_occasional_bad_events_keeps_every_bad_row_and_its_202s() {
    let mut cfg = config();
    // The smallest refusal budget: bad events are not malformed requests.
    cfg.gateway.tenant_refusals_per_sec = 1;
    cfg.gateway.tenant_refusal_burst = 1;
    let log = RecordingLog::default();
    let h = Harness::start_with(cfg, log.clone()).await;
    let auth = format!("Bearer {}", h.a.key);

    for _ in 0..40 {
        let mut batch: Vec<Value> = (0..9)
            .map(|_| event(h.a.campaigns[0], "impression"))
            .collect();
        batch.push(json!({"type": "click"}));
        let r = h
            .post(
                "/v1/events/batch",
                &[
                    ("authorization", &auth),
                    ("content-type", "application/json"),
                ],
                Value::from(batch).to_string(),
            )
            .await;
        assert_eq!(r.status, 202, "{}", r.body);
        assert_eq!(
            (r.body["accepted"].as_u64(), r.body["rejected"].as_u64()),
            (Some(9), Some(1))
        );
    }
    for _ in 0..10 {
        let mut e = event(h.a.campaigns[0], "click");
        e["campaign_id"] = json!(h.b.campaigns[0].to_string());
        let r = h.send(&h.a, &e).await;
        assert_eq!(
            (r.status, r.code()),
            (422, "unknown_campaign"),
            "{}",
            r.body
        );
    }
    let r = h.send(&h.a, &event(h.a.campaigns[0], "click")).await;
    assert_eq!(r.status, 202, "{}", r.body);

    h.stop().await;
    let rows = log.rows();
    assert_eq!(rows.len(), 50, "every bad event kept, no summary");
    assert!(rows.iter().all(|r| r["kind"] == "full"));
    assert_eq!(
        rows.iter().filter(|r| r["code"] == "missing_field").count(),
        40
    );
    assert_eq!(
        rows.iter()
            .filter(|r| r["code"] == "unknown_campaign")
            .count(),
        10
    );
}
