//! A stream-worker test environment on the local stack: its own topics,
//! Postgres schema, CQL keyspace, Redis prefix and consumer group; a
//! producer of random events; a reference of what the sinks must hold; and
//! the checks that compare them.

#![allow(dead_code, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use adpulse_config::{Config, Secret};
use adpulse_cql::{Cql, CqlArchive};
use adpulse_domain::CampaignId;
use adpulse_domain::aggregate::{Counts, live_point_start};
use adpulse_domain::ports::EventSource;
use adpulse_domain::ports::prelude::*;
use adpulse_kafka::{Admin, KafkaEventLog, Producer};
use adpulse_postgres::Database;
use adpulse_redis::Redis;
use adpulse_testkit::{Server, unique_name};
use adpulse_worker::{IdentityLinks, Sinks, Worker};
use serde_json::{Value, json};

pub const PARTITIONS: i32 = 4;

pub struct Env {
    pub cfg: Config,
    pub db: Database,
    pub cql: Cql,
    pub redis: Redis,
    pub tenant: uuid::Uuid,
    pub campaigns: Vec<CampaignId>,
    pub producer: Producer,
    /// When set, events go to this embedded log (and its folder) instead of
    /// Kafka, and workers read it through `LocalSource`.
    pub local: Option<(adpulse_embedded::LocalLog, std::path::PathBuf)>,
}

/// An environment whose events stream is the embedded log (the sinks are
/// the same servers).
pub async fn env_embedded() -> Env {
    let mut env = env().await;
    let dir = std::env::temp_dir().join(unique_name("wk-log"));
    let log = adpulse_embedded::LocalLog::open(&adpulse_embedded::LocalLogConfig {
        partitions: PARTITIONS as u32,
        ..adpulse_embedded::LocalLogConfig::new(&dir)
    })
    .expect("embedded log");
    env.local = Some((log, dir));
    env
}

pub async fn env() -> Env {
    env_on(Server::Redis).await
}

/// An environment whose live counters go to `redis`: [`Server::Redis`] or
/// [`Server::RedisCluster`].
pub async fn env_on(redis: Server) -> Env {
    // Worker warnings (sink failures and retries) in the test output.
    let logs = adpulse_config::TelemetryConfig {
        log_filter: "warn,adpulse_worker=info".into(),
        ..adpulse_config::TelemetryConfig::default()
    };
    let _ =
        adpulse_telemetry::init(&logs, "worker-test").map(adpulse_telemetry::Telemetry::shutdown);
    let mut cfg = Config::default();
    cfg.kafka.brokers = Server::Kafka.require();
    let base = unique_name("wk").replace('_', ".");
    cfg.kafka.events_topic = format!("{base}.events");
    cfg.kafka.rejected_topic = format!("{base}.rejected");
    cfg.kafka.metrics_topic = format!("{base}.metrics");
    cfg.kafka.client_id = unique_name("wk");
    cfg.postgres.url = Secret::new(Server::Postgres.require());
    cfg.postgres.schema = Some(unique_name("wk"));
    cfg.cql.nodes = vec![Server::Cql.require()];
    cfg.cql.keyspace = unique_name("wk");
    cfg.redis.url = Secret::new(redis.require());
    cfg.redis.cluster = redis == Server::RedisCluster;
    cfg.redis.key_prefix = unique_name("wk");
    cfg.worker.group_id = unique_name("wk");
    cfg.worker.max_batch_wait_ms = 50;
    cfg.worker.max_batch_events = 400;

    let admin = Admin::new(&cfg.kafka).expect("admin");
    if let Err(e) = admin
        .ensure_topic(&cfg.kafka.events_topic, PARTITIONS, 1)
        .await
    {
        Server::Kafka.absent(&e.to_string());
    }
    admin
        .ensure_topic(&cfg.kafka.rejected_topic, 1, 1)
        .await
        .expect("topic");
    let db = Database::connect(&cfg.postgres)
        .await
        .unwrap_or_else(|e| Server::Postgres.absent(&e.to_string()));
    db.migrate().await.expect("migrate");
    let cql = Cql::connect(&cfg.cql)
        .await
        .unwrap_or_else(|e| Server::Cql.absent(&e.to_string()));
    cql.migrate(1).await.expect("cql schema");
    let redis = Redis::connect(&cfg.redis)
        .await
        .unwrap_or_else(|e| redis.absent(&e.to_string()));
    let producer = Producer::new(&cfg.kafka).expect("producer");
    Env {
        campaigns: (0..12)
            .map(|_| CampaignId::from_uuid(uuid::Uuid::now_v7()))
            .collect(),
        tenant: uuid::Uuid::now_v7(),
        cfg,
        db,
        cql,
        redis,
        producer,
        local: None,
    }
}

/// An in-process worker started by [`Env::start_worker`].
pub struct RunningWorker {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), adpulse_worker::WorkerError>>,
}

impl RunningWorker {
    /// Stops it gracefully (it flushes and leaves its group).
    pub async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.expect("join").expect("worker ran");
    }
}

/// A background load on `env`: `events` distinct events, each tenth also
/// resent later (a random earlier one), pausing `pause` every 20 events.
/// Resolves to the reference and the number of records sent.
pub fn spawn_load(
    env: &std::sync::Arc<Env>,
    events: usize,
    seed: u64,
    pause: Duration,
) -> tokio::task::JoinHandle<(Reference, i64)> {
    let env = std::sync::Arc::clone(env);
    tokio::spawn(async move {
        let mut rng = fastrand::Rng::with_seed(seed);
        let (mut reference, mut sent, mut earlier) = (Reference::default(), 0i64, Vec::new());
        for i in 0..events {
            let e = env.event(&mut rng);
            env.send(&e).await;
            sent += 1;
            reference
                .events
                .insert(e["event_id"].as_str().expect("id").to_owned(), e.clone());
            earlier.push(e);
            if rng.u32(0..10) == 0 {
                env.send(&earlier[rng.usize(..earlier.len())]).await;
                sent += 1;
            }
            if i % 20 == 0 {
                tokio::time::sleep(pause).await;
            }
        }
        (reference, sent)
    })
}

/// Impressions, clicks, conversions, cost, revenue, distinct users.
type Expected = (i64, i64, i64, i64, i64, BTreeSet<String>);

/// The reference: what the sinks must hold, from the distinct events sent.
#[derive(Default)]
pub struct Reference {
    pub events: BTreeMap<String, Value>,
}

impl Reference {
    /// The live-series points of events since `since`, per campaign and
    /// point start (Unix seconds).
    pub fn live_points(
        &self,
        since: chrono::DateTime<chrono::Utc>,
    ) -> BTreeMap<(String, i64), Counts> {
        let mut out: BTreeMap<(String, i64), Counts> = BTreeMap::new();
        for e in self.events.values() {
            let event: adpulse_domain::Event = serde_json::from_value(e.clone()).expect("event");
            let start = live_point_start(event.occurred_at);
            if start >= since {
                let c = out
                    .entry((event.campaign_id.to_string(), start.timestamp()))
                    .or_default();
                *c = c.plus(&event).expect("sums fit");
            }
        }
        out
    }

    pub fn per_campaign(&self) -> BTreeMap<String, Expected> {
        let mut out: BTreeMap<String, Expected> = BTreeMap::new();
        for e in self.events.values() {
            let t = out
                .entry(e["campaign_id"].as_str().expect("c").to_owned())
                .or_default();
            match e["type"].as_str().expect("type") {
                "impression" => t.0 += 1,
                "click" => t.1 += 1,
                _ => t.2 += 1,
            }
            t.3 += e["cost_micros"].as_i64().expect("cost");
            t.4 += e["revenue_micros"].as_i64().expect("revenue");
            t.5.insert(e["user"]["device_id"].as_str().expect("user").to_owned());
        }
        out
    }
}

impl Env {
    pub fn event(&self, rng: &mut fastrand::Rng) -> Value {
        let kinds = [
            "impression",
            "impression",
            "impression",
            "click",
            "conversion",
        ];
        let kind = kinds[rng.usize(..kinds.len())];
        // A third in the last ten minutes (the live series), the rest over
        // three days (late events, several day buckets).
        let back = if rng.u32(0..3) == 0 {
            rng.i64(0..600)
        } else {
            rng.i64(0..3 * 86_400)
        };
        let at = chrono::Utc::now() - chrono::Duration::seconds(back);
        let channel = ["display", "social", "search"][rng.usize(..3)];
        let country = ["GB", "US", "DE"][rng.usize(..3)];
        json!({
            "event_id": uuid::Uuid::now_v7().to_string(),
            "type": kind,
            "campaign_id": self.campaigns[rng.usize(..self.campaigns.len())].to_string(),
            "ad_id": format!("creative-{}", rng.u32(1..5)),
            "channel": channel,
            "occurred_at": at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "user": { "device_id": format!("d-{}", rng.u32(0..40)) },
            "cost_micros": if kind == "conversion" { 0 } else { rng.i64(100..5_000) },
            "revenue_micros": if kind == "conversion" { rng.i64(1_000_000..9_000_000) } else { 0 },
            "attributes": { "country": country },
        })
    }

    pub async fn send(&self, e: &Value) {
        let tenant = self.tenant.to_string();
        let now = chrono::Utc::now().timestamp_millis().to_string();
        if let Some((log, _)) = &self.local {
            use adpulse_domain::ports::{EventLog as _, LogRecord, Stream};
            let record = LogRecord {
                stream: Stream::Events,
                key: e["campaign_id"].as_str().expect("c").as_bytes().to_vec(),
                payload: e.to_string().into_bytes(),
                headers: vec![
                    ("tenant_id", tenant.into_bytes()),
                    ("ingested_at", now.into_bytes()),
                ],
            };
            let results = log.append(vec![record]).await;
            assert!(results.iter().all(Result::is_ok), "{results:?}");
            return;
        }
        self.producer
            .send(
                &self.cfg.kafka.events_topic,
                e["campaign_id"].as_str().expect("c").as_bytes(),
                e.to_string().as_bytes(),
                &[
                    ("tenant_id", tenant.as_bytes()),
                    ("ingested_at", now.as_bytes()),
                ],
            )
            .await
            .expect("produce");
    }

    /// Records applied so far (0 while Postgres does not answer: outage
    /// tests poll this through the outage).
    pub async fn applied_offsets(&self) -> i64 {
        self.db
            .applied_offsets(&self.cfg.worker.group_id, &self.cfg.kafka.events_topic)
            .await
            .unwrap_or(0)
    }

    /// The production sinks on this environment, as `adpulse worker`
    /// composes them (Postgres, the CQL archive, Redis, Kafka).
    pub async fn sinks(&self, cql: Cql) -> Sinks {
        let links =
            (self.cfg.capping.backend == adpulse_config::CappingBackend::Redis).then(|| {
                let r = Arc::new(self.redis.clone());
                IdentityLinks {
                    links: r.clone(),
                    counters: r,
                }
            });
        Sinks {
            db: Arc::new(self.db.clone()),
            archive: Arc::new(CqlArchive::new(cql).await.expect("archive")),
            live: Arc::new(self.redis.clone()),
            links,
            log: Arc::new(KafkaEventLog::new(&self.cfg.kafka).expect("producer")),
        }
    }

    /// Starts an in-process worker on this environment.
    pub async fn start_worker(&self) -> RunningWorker {
        let cql = Cql::connect(&self.cfg.cql).await.expect("cql");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let stopped = async {
            let _ = stopped.await;
        };
        let sinks = self.sinks(cql).await;
        let source: Box<dyn EventSource> = if let Some((log, dir)) = &self.local {
            let source = adpulse_embedded::LocalSource::new(log, dir, &self.cfg.worker.group_id)
                .expect("source");
            Box::new(source)
        } else {
            let k = &self.cfg.kafka;
            let source =
                adpulse_kafka::GroupConsumer::new(k, &self.cfg.worker.group_id, &k.events_topic)
                    .expect("consumer");
            Box::new(source)
        };
        let worker = Worker::new(self.cfg.clone(), source, sinks);
        let task = tokio::spawn(worker.run(stopped));
        RunningWorker { stop, task }
    }

    /// Runs an in-process worker until it has applied `records` records, then stops it.
    pub async fn run_worker_until(&self, records: i64) {
        let worker = self.start_worker().await;
        self.wait_applied(records, Duration::from_secs(90)).await;
        worker.stop().await;
    }

    /// Every store holds exactly what the reference says: Postgres' grains
    /// and totals, the reach, Redis' live counters and series, CQL's rows.
    pub async fn check(&self, reference: &Reference) {
        let want = reference.per_campaign();
        self.check_grains(reference, &want).await;
        self.check_totals_reach_and_live_counters(&want).await;
        self.check_live_series(reference).await;
        self.check_raw_rows(reference).await;
    }

    /// Postgres: every grain sums to the distinct events and their cost.
    async fn check_grains(&self, reference: &Reference, want: &BTreeMap<String, Expected>) {
        // Postgres: every grain sums to the distinct events.
        for grain in ["minute", "hour", "day"] {
            let (n, cost): (Option<i64>, Option<i64>) = sqlx::query_as(
                "SELECT sum(events)::bigint, sum(cost_micros)::bigint FROM campaign_aggregates WHERE grain = $1",
            )
            .bind(grain)
            .fetch_one(self.db.pool())
            .await
            .expect("sums");
            assert_eq!(
                n.unwrap_or(0) as usize,
                reference.events.len(),
                "{grain} events"
            );
            assert_eq!(
                cost.unwrap_or(0),
                want.values().map(|t| t.3).sum::<i64>(),
                "{grain} cost"
            );
        }
    }

    /// Postgres' totals, the union of reach sketches and Redis' live
    /// counters equal the reference per campaign.
    async fn check_totals_reach_and_live_counters(&self, want: &BTreeMap<String, Expected>) {
        let ids: Vec<CampaignId> = want
            .keys()
            .map(|c| CampaignId::from_uuid(c.parse().expect("uuid")))
            .collect();
        let totals = self.db.campaign_totals(&ids).await.expect("totals");
        assert_eq!(totals.len(), want.len());
        let mut conn = self.redis.connection();
        for t in totals {
            let w = &want[&t.campaign_id.to_string()];
            assert_eq!(
                (
                    t.impressions,
                    t.clicks,
                    t.conversions,
                    t.cost_micros,
                    t.revenue_micros
                ),
                (w.0, w.1, w.2, w.3, w.4)
            );
            // Unique users: a union of sketches (exact at this size).
            let (reach,): (f64,) = sqlx::query_as(
                "SELECT hll_cardinality(hll_union_agg(users)) FROM campaign_aggregates WHERE grain = 'hour' AND campaign_id = $1",
            )
            .bind(t.campaign_id.as_uuid())
            .fetch_one(self.db.pool())
            .await
            .expect("reach");
            assert_eq!(
                reach.round() as usize,
                w.5.len(),
                "unique users of {}",
                t.campaign_id
            );
            // Redis: the live counters equal the exact totals.
            let live: HashMap<String, i64> = redis::cmd("HGETALL")
                .arg(self.redis.realtime_key(t.campaign_id))
                .query_async(&mut conn)
                .await
                .expect("live counters");
            assert_eq!(
                (
                    live["impressions"],
                    live["clicks"],
                    live["conversions"],
                    live["spend_micros"],
                    live["revenue_micros"]
                ),
                (w.0, w.1, w.2, w.3, w.4),
                "live counters of {}",
                t.campaign_id
            );
        }
    }

    /// Redis: the live series of the last hour equals the reference's points.
    async fn check_live_series(&self, reference: &Reference) {
        // Redis: the live series of the last hour (50 minutes here, clear
        // of the window's edge) equals the reference's points exactly.
        let now = chrono::Utc::now();
        let since = now - chrono::Duration::minutes(50);
        let want = reference.live_points(since);
        let mut have = BTreeMap::new();
        for c in &self.campaigns {
            let view = self.redis.read_live(*c, now).await.expect("live view");
            for p in view.series.into_iter().filter(|p| p.start >= since) {
                have.insert((c.to_string(), p.start.timestamp()), p.counts);
            }
        }
        assert!(!want.is_empty(), "the load has recent events");
        assert_eq!(have, want, "live series");
    }

    /// CQL: the raw rows are exactly the distinct events.
    async fn check_raw_rows(&self, reference: &Reference) {
        // CQL: one raw row per distinct event.
        let rows = self
            .cql
            .session()
            .query_unpaged(
                format!(
                    "SELECT event_id FROM {}.campaign_events",
                    self.cfg.cql.keyspace
                ),
                (),
            )
            .await
            .expect("select")
            .into_rows_result()
            .expect("rows");
        let stored: BTreeSet<String> = rows
            .rows::<(uuid::Uuid,)>()
            .expect("typed")
            .map(|r| r.expect("row").0.to_string())
            .collect();
        let sent: BTreeSet<String> = reference.events.keys().cloned().collect();
        assert_eq!(stored, sent, "raw rows are exactly the distinct events");
    }

    /// Waits until `records` records are applied, failing after `within`.
    pub async fn wait_applied(&self, records: i64, within: Duration) {
        let deadline = Instant::now() + within;
        while self.applied_offsets().await < records {
            assert!(
                Instant::now() < deadline,
                "applied {} of {records} records in {within:?}",
                self.applied_offsets().await
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The newest window result per campaign on the metrics topic matches
    /// the reference: lifetime totals, and today's (UTC) totals.
    pub async fn check_window_results(&self, reference: &Reference) {
        let want = reference.per_campaign();
        let today = chrono::Utc::now().date_naive().to_string();
        let consumer = adpulse_kafka::Consumer::from_beginning(
            &self.cfg.kafka,
            &self.cfg.kafka.metrics_topic,
            1,
        )
        .expect("consumer");
        let mut newest: BTreeMap<String, Value> = BTreeMap::new();
        while let Some(r) = consumer
            .recv(Duration::from_secs(3))
            .await
            .expect("consume")
        {
            let v: Value =
                serde_json::from_slice(r.payload.as_deref().expect("value")).expect("json");
            let c = v["campaign_id"].as_str().expect("campaign").to_owned();
            if newest
                .get(&c)
                .is_none_or(|old| old["version"].as_i64() <= v["version"].as_i64())
            {
                newest.insert(c, v);
            }
        }
        assert_eq!(
            newest.len(),
            want.len(),
            "a window result for every campaign"
        );
        for (c, w) in &want {
            let v = &newest[c];
            let l = &v["lifetime"];
            assert_eq!(
                (
                    l["impressions"].as_i64(),
                    l["clicks"].as_i64(),
                    l["conversions"].as_i64(),
                    l["cost_micros"].as_i64()
                ),
                (Some(w.0), Some(w.1), Some(w.2), Some(w.3)),
                "lifetime of {c}"
            );
            let today_events = reference
                .events
                .values()
                .filter(|e| {
                    e["campaign_id"] == c.as_str()
                        && e["occurred_at"]
                            .as_str()
                            .is_some_and(|t| t.starts_with(&today))
                })
                .count() as i64;
            let d = &v["today"];
            let today_total = d["impressions"].as_i64().unwrap_or(0)
                + d["clicks"].as_i64().unwrap_or(0)
                + d["conversions"].as_i64().unwrap_or(0);
            if v["day"] == today.as_str() {
                assert_eq!(today_total, today_events, "today's events of {c}");
            }
        }
    }

    pub async fn cleanup(self) {
        let admin = Admin::new(&self.cfg.kafka).expect("admin");
        let _ = admin.delete_topic(&self.cfg.kafka.events_topic).await;
        let _ = admin.delete_topic(&self.cfg.kafka.rejected_topic).await;
        let _ = admin.delete_topic(&self.cfg.kafka.metrics_topic).await;
        let _ = self.cql.drop_keyspace().await;
        let _ = self.redis.delete_prefix().await;
        self.db.drop_schema().await.expect("drop schema");
    }
}
