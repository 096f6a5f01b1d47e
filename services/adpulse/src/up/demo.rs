//! `adpulse up --demo`: a gentle, endless stream of plausible events sent
//! through the gateway's HTTP endpoint like any ad server's, so the whole
//! path (authentication, validation, log, worker, live counters, reports)
//! moves as soon as the platform is up.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// Events per request.
const BATCH: usize = 10;
/// Between requests (about 50 events a second).
const EVERY: Duration = Duration::from_millis(200);
const CHANNELS: [&str; 5] = ["search", "display", "social", "video", "native"];

/// Sends batches to `gateway` with `key` for `campaign` until aborted.
pub async fn run(gateway: SocketAddr, key: String, campaign: uuid::Uuid) {
    tracing::info!(%gateway, "demo events: about 50 a second");
    let mut tick = tokio::time::interval(EVERY);
    let mut warned = false;
    loop {
        tick.tick().await;
        let body = batch(campaign);
        match post(gateway, &key, &body).await {
            Ok(status) if (200..300).contains(&status) => warned = false,
            Ok(status) if !warned => {
                tracing::warn!(status, "demo batch refused");
                warned = true;
            }
            Err(e) if !warned => {
                tracing::warn!(error = %e, "demo batch not sent");
                warned = true;
            }
            _ => {}
        }
    }
}

fn batch(campaign: uuid::Uuid) -> String {
    let now = chrono::Utc::now();
    let events: Vec<serde_json::Value> = (0..BATCH)
        .map(|_| {
            let roll = fastrand::u32(0..100);
            let (kind, cost, revenue) = match roll {
                0..2 => ("conversion", 0, fastrand::i64(5_000_000..50_000_000)),
                2..10 => ("click", fastrand::i64(200_000..900_000), 0),
                _ => ("impression", fastrand::i64(500..3_000), 0),
            };
            serde_json::json!({
                "event_id": uuid::Uuid::new_v4(),
                "type": kind,
                "campaign_id": campaign,
                "ad_id": format!("creative-{}", fastrand::u8(1..6)),
                "channel": CHANNELS[fastrand::usize(..CHANNELS.len())],
                "occurred_at": now,
                "user": {"device_id": format!("demo-device-{}", fastrand::u32(0..2_000))},
                "cost_micros": cost,
                "revenue_micros": revenue,
            })
        })
        .collect();
    serde_json::Value::Array(events).to_string()
}

/// One `POST /v1/events/batch`; returns the status code.
async fn post(gateway: SocketAddr, key: &str, body: &str) -> std::io::Result<u16> {
    let mut s = TcpStream::connect(gateway).await?;
    let head = format!(
        "POST /v1/events/batch HTTP/1.1\r\nhost: {gateway}\r\nauthorization: Bearer {key}\r\n\
         content-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await?;
    s.write_all(body.as_bytes()).await?;
    let mut answer = Vec::new();
    s.read_to_end(&mut answer).await?;
    let line = String::from_utf8_lossy(&answer[..answer.len().min(32)]).into_owned();
    line.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("not an HTTP answer: {line:?}")))
}
