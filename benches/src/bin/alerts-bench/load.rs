//! What the ad servers send: batches of impressions through the gateway,
//! round robin over the tenants (each request one tenant's, with its key),
//! as fast as the gateway answers or on a fixed schedule; single events
//! and capping decisions for the probes.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use adpulse_domain::CampaignId;
use bytes::Bytes;
use chrono::{SecondsFormat, Utc};
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

use crate::err;
use crate::seed::TenantSeed;

pub struct Load {
    client: Client<HttpConnector, Full<Bytes>>,
    gateway: String,
    pub tenants: Vec<TenantSeed>,
    batch: usize,
    /// Events the gateway accepted so far.
    pub accepted: AtomicU64,
}

/// Requests sent and what came of them.
#[derive(Default, Clone, Copy)]
pub struct Sent {
    pub requests: u64,
    /// Events accepted (202).
    pub events: u64,
    /// Requests not answered 202.
    pub refused: u64,
}

impl Sent {
    fn add(&mut self, r: Result<u64, String>) {
        match r {
            Ok(n) => self.events += n,
            Err(_) => self.refused += 1,
        }
    }
}

fn now_str() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn write_event(
    out: &mut String,
    kind: &str,
    campaign: CampaignId,
    cost: i64,
    rng: &mut fastrand::Rng,
    now: &str,
) {
    use std::fmt::Write as _;
    let id = uuid::Uuid::from_u128(rng.u128(..) & !(0xf << 76) | (0x4 << 76));
    let _ = write!(
        out,
        r#"{{"event_id":"{id}","type":"{kind}","campaign_id":"{campaign}","ad_id":"creative-{}","channel":"display","occurred_at":"{now}","user":{{"device_id":"d-{}"}},"cost_micros":{cost},"revenue_micros":0,"attributes":{{"country":"GB"}}}}"#,
        rng.u32(1..20),
        rng.u32(0..100_000),
    );
}

impl Load {
    pub fn new(gateway: &str, tenants: Vec<TenantSeed>, batch: usize) -> Self {
        Self {
            client: Client::builder(TokioExecutor::new())
                .pool_max_idle_per_host(1024)
                .build_http(),
            gateway: gateway.to_owned(),
            tenants,
            batch,
            accepted: AtomicU64::new(0),
        }
    }

    async fn post(
        &self,
        path: &str,
        key: &str,
        ctype: &str,
        body: Bytes,
    ) -> Result<(u16, Bytes), String> {
        let req = hyper::Request::post(format!("{}{path}", self.gateway))
            .header("authorization", format!("Bearer {key}"))
            .header("content-type", ctype)
            .body(Full::new(body))
            .map_err(err)?;
        let resp = self.client.request(req).await.map_err(err)?;
        let status = resp.status().as_u16();
        let body = resp.into_body().collect().await.map_err(err)?.to_bytes();
        Ok((status, body))
    }

    /// `batch` impressions of tenant `t`'s background campaign, NDJSON.
    fn batch_body(&self, t: usize, rng: &mut fastrand::Rng) -> Bytes {
        let now = now_str();
        let mut out = String::with_capacity(330 * self.batch);
        for _ in 0..self.batch {
            let cost = rng.i64(200..3_000);
            write_event(
                &mut out,
                "impression",
                self.tenants[t].background,
                cost,
                rng,
                &now,
            );
            out.push('\n');
        }
        Bytes::from(out)
    }

    /// One batch of tenant `t`: events accepted.
    async fn send_batch(&self, t: usize, body: Bytes) -> Result<u64, String> {
        let key = &self.tenants[t].key;
        let (status, answer) = self
            .post("/v1/events/batch", key, "application/x-ndjson", body)
            .await?;
        if status != 202 {
            return Err(format!("{status} {}", String::from_utf8_lossy(&answer)));
        }
        self.accepted
            .fetch_add(self.batch as u64, Ordering::Relaxed);
        Ok(self.batch as u64)
    }

    /// One event of `kind` for `campaign` of tenant `t`.
    pub async fn send_one(
        &self,
        t: usize,
        kind: &str,
        campaign: CampaignId,
        cost: i64,
    ) -> Result<(), String> {
        let mut body = String::new();
        write_event(
            &mut body,
            kind,
            campaign,
            cost,
            &mut fastrand::Rng::new(),
            &now_str(),
        );
        let key = &self.tenants[t].key;
        let (status, answer) = self
            .post("/v1/events", key, "application/json", body.into())
            .await?;
        if status != 202 {
            return Err(format!("{status} {}", String::from_utf8_lossy(&answer)));
        }
        self.accepted.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// A capping decision for `campaign` of tenant `t`: (allow, reason).
    pub async fn decide(&self, t: usize, campaign: CampaignId) -> Result<(bool, String), String> {
        let body = json!({"campaign_id": campaign, "user": {"device_id": format!("d-{}", fastrand::u32(..))}});
        let key = &self.tenants[t].key;
        let (status, answer) = self
            .post(
                "/v1/frequency/decide",
                key,
                "application/json",
                body.to_string().into(),
            )
            .await?;
        if status != 200 {
            return Err(format!(
                "decide: {status} {}",
                String::from_utf8_lossy(&answer)
            ));
        }
        let v: Value = serde_json::from_slice(&answer).map_err(err)?;
        let reason = v["reason"].as_str().unwrap_or("").to_owned();
        Ok((v["allow"].as_bool().unwrap_or(false), reason))
    }
}

/// Batches round robin over the tenants on `connections` connections, as
/// fast as the gateway answers, for `seconds`.
pub async fn closed_loop(load: &Arc<Load>, connections: usize, seconds: f64) -> Sent {
    let next = Arc::new(AtomicUsize::new(0));
    let end = Instant::now() + Duration::from_secs_f64(seconds);
    let mut tasks = Vec::new();
    for c in 0..connections {
        let (load, next) = (Arc::clone(load), Arc::clone(&next));
        tasks.push(tokio::spawn(async move {
            let mut rng = fastrand::Rng::with_seed(c as u64);
            let mut sent = Sent::default();
            while Instant::now() < end {
                let t = next.fetch_add(1, Ordering::Relaxed) % load.tenants.len();
                let body = load.batch_body(t, &mut rng);
                sent.requests += 1;
                sent.add(load.send_batch(t, body).await);
            }
            sent
        }));
    }
    let mut all = Sent::default();
    for t in tasks {
        // A panicked task counts nothing.
        let s = t.await.unwrap_or_default();
        all.requests += s.requests;
        all.events += s.events;
        all.refused += s.refused;
    }
    all
}

/// Batches round robin over the tenants at `rate` events per second for
/// `seconds`, on a fixed schedule with at most `in_flight` requests at
/// once; also how many were sent more than 100 ms after their time.
pub async fn fixed_rate(load: Arc<Load>, rate: f64, seconds: f64, in_flight: usize) -> (Sent, u64) {
    let interval = Duration::from_secs_f64(load.batch as f64 / rate);
    let slots = Arc::new(tokio::sync::Semaphore::new(in_flight));
    let start = Instant::now();
    let end = start + Duration::from_secs_f64(seconds);
    let (mut next, mut t, mut late) = (start, 0usize, 0u64);
    let mut rng = fastrand::Rng::with_seed(7);
    let mut flying = tokio::task::JoinSet::new();
    let mut sent = Sent::default();
    while next < end {
        tokio::time::sleep_until(next.into()).await;
        while next <= Instant::now() && next < end {
            let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
                break;
            };
            late += u64::from(next.elapsed() > Duration::from_millis(100));
            let (body, sender, tenant) = (load.batch_body(t, &mut rng), Arc::clone(&load), t);
            flying.spawn(async move {
                let r = sender.send_batch(tenant, body).await;
                drop(slot);
                r
            });
            sent.requests += 1;
            t = (t + 1) % load.tenants.len();
            next += interval;
        }
        while let Some(r) = flying.try_join_next() {
            sent.add(r.unwrap_or_else(|e| Err(e.to_string())));
        }
    }
    while let Some(r) = flying.join_next().await {
        sent.add(r.unwrap_or_else(|e| Err(e.to_string())));
    }
    (sent, late)
}
