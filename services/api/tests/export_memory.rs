//! A large CSV export streams with flat memory: 200,000 campaigns ranked
//! and exported (about 30 MB of CSV) while this process's peak resident
//! memory, which holds the API, grows by a small fraction of that. The
//! test reads the body as it streams and keeps none of it. One test in
//! its own binary, so nothing else moves the peak.

mod common;

use adpulse_domain::Role;
use bytes::Bytes;
use common::Api;
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

const CAMPAIGNS: i64 = 200_000;

/// This process's peak resident set, in bytes (Linux).
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .expect("VmHWM")
        * 1024
}

/// Streams `path`, counting bytes and lines without keeping them.
async fn stream(api: &Api, path: &str, token: &str) -> (u16, u64, u64, Option<String>) {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let req = hyper::Request::get(format!("{}{path}", api.url))
        .header("authorization", format!("Bearer {token}"))
        .body(Full::new(Bytes::new()))
        .expect("request");
    let res = client.request(req).await.expect("response");
    let status = res.status().as_u16();
    let disposition = res
        .headers()
        .get("content-disposition")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut body = res.into_body();
    let (mut bytes, mut lines) = (0u64, 0u64);
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.expect("frame").into_data() {
            bytes += data.len() as u64;
            lines += data.iter().filter(|b| **b == b'\n').count() as u64;
        }
    }
    (status, bytes, lines, disposition)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_export_streams_with_flat_memory() {
    let api = Api::start().await;
    let tenant = api.a.id;
    // 200,000 campaigns with one day of numbers each, written by SQL (the
    // aggregate rows and the ranking totals the worker would write).
    sqlx::query(
        "INSERT INTO campaigns (id, tenant_id, name, status) \
         SELECT gen_random_uuid(), $1, 'bulk campaign ' || i, 'active' FROM generate_series(1, $2) AS i",
    )
    .bind(tenant.as_uuid())
    .bind(CAMPAIGNS)
    .execute(api.postgres().1.pool())
    .await
    .expect("campaigns");
    sqlx::query(
        "INSERT INTO campaign_aggregates \
           (campaign_id, tenant_id, grain, bucket_start, channel, event_type, events, cost_micros, revenue_micros, users) \
         SELECT id, tenant_id, 'day', date_trunc('day', now()) - interval '1 day', 'display', 'impression', \
                (abs(hashtext(id::text)) % 1000) + 1, abs(hashtext(id::text)) % 100000, 0, \
                hll_add(hll_empty(14, 5), hll_hash_text(id::text)) \
         FROM campaigns WHERE tenant_id = $1",
    )
    .bind(tenant.as_uuid())
    .execute(api.postgres().1.pool())
    .await
    .expect("aggregates");
    for sql in [
        "INSERT INTO campaign_running_totals \
         SELECT tenant_id, (bucket_start AT TIME ZONE 'UTC')::date, campaign_id, events, 0, 0, cost_micros, 0 \
         FROM campaign_aggregates WHERE tenant_id = $1 AND grain = 'day'",
        "INSERT INTO campaign_lifetime_totals \
         SELECT tenant_id, campaign_id, (bucket_start AT TIME ZONE 'UTC')::date, (bucket_start AT TIME ZONE 'UTC')::date, \
                events, 0, 0, cost_micros, 0 \
         FROM campaign_aggregates WHERE tenant_id = $1 AND grain = 'day'",
    ] {
        sqlx::query(sql)
            .bind(tenant.as_uuid())
            .execute(api.postgres().1.pool())
            .await
            .expect("ranking totals");
    }

    let token = api.token(&api.a, Role::Analyst).await;
    let day = (chrono::Utc::now() - chrono::Duration::days(1)).date_naive();
    let path = |limit: i64| {
        format!(
            "/api/v1/reports/campaigns/export?format=csv&start_date={day}&end_date={day}&sort=-spend&limit={limit}"
        )
    };
    // A small export first, so the client and server are warmed up.
    let (status, _, lines, _) = stream(&api, &path(10), &token).await;
    assert_eq!((status, lines), (200, 11));

    let before = peak_rss();
    let (status, bytes, lines, disposition) = stream(&api, &path(1_000_000), &token).await;
    let grew = peak_rss().saturating_sub(before);
    assert_eq!(status, 200);
    assert_eq!(lines, CAMPAIGNS as u64 + 1, "a header and every campaign");
    assert!(
        disposition.is_some_and(|d| d.contains("top-campaigns-") && d.ends_with(".csv\"")),
        "a proper filename"
    );
    println!(
        "exported {} MB of CSV; peak resident memory grew by {:.1} MB",
        bytes / 1_000_000,
        grew as f64 / 1e6
    );
    assert!(bytes > 20_000_000, "a large export: {bytes} bytes");
    assert!(
        grew < bytes / 4,
        "memory stays flat: peak grew {grew} bytes for a {bytes}-byte export"
    );
    api.stop().await;
}
