//! `reports-bench`: history for the reporting benchmark.
//!
//! `load` fills a Postgres schema with `--events` events over
//! `--campaigns` campaigns and `--days` days, through the stream worker's
//! own aggregation path (`AggregateBatch` → `Database::commit_batch`, under
//! a partition claim like the worker's), and reports how long it took and
//! how many bytes the aggregates take per event. Events are deterministic
//! for a seed: 90% impressions, 9% clicks, 1% conversions; each campaign
//! has a main channel (70%); people are drawn from a pool with Zipf skew,
//! so they come back across days; events arrive in time order over the
//! range, up to five minutes late, as a stream delivers them.
//!
//! Prints one JSON line on stdout.

use adpulse_domain::ports::prelude::*;
use std::sync::Arc;
use std::time::Instant;

use adpulse_config::Config;
use adpulse_domain::aggregate::AggregateBatch;
use adpulse_domain::{AdId, Channel, Event, EventId, EventType, Micros, UserIds};
use adpulse_postgres::Database;
use chrono::{Duration, Utc};
use clap::{Parser, Subcommand};
use sqlx::postgres::PgPoolCopyExt as _;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Fill a schema with history.
    Load {
        /// The Postgres schema (created; must not exist).
        #[arg(long)]
        schema: String,
        #[arg(long, default_value_t = 10_000)]
        campaigns: usize,
        #[arg(long, default_value_t = 90)]
        days: i64,
        #[arg(long, default_value_t = 50_000_000)]
        events: u64,
        /// Distinct people.
        #[arg(long, default_value_t = 5_000_000)]
        people: u64,
        /// Events per committed batch.
        #[arg(long, default_value_t = 20_000)]
        batch: usize,
        /// Partitions loaded at once (campaigns split among them, one
        /// claim and one commit stream each, as the worker's partitions).
        #[arg(long, default_value_t = 2)]
        partitions: usize,
        #[arg(long, default_value_t = 90)]
        seed: u64,
    },
    /// Time reports against the users' own design on the same Postgres.
    Measure {
        /// The schema `load` filled.
        #[arg(long)]
        schema: String,
        /// Repetitions of each fast query.
        #[arg(long, default_value_t = 200)]
        reps: usize,
        /// Repetitions of the users' original query (slow).
        #[arg(long, default_value_t = 5)]
        slow_reps: usize,
        #[arg(long, default_value_t = 90)]
        days: i64,
    },
}

const CHANNELS: [Channel; 5] = [
    Channel::Display,
    Channel::Social,
    Channel::Search,
    Channel::Video,
    Channel::Native,
];
const ZONES: [&str; 6] = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Asia/Tokyo",
    "Europe/London",
    "America/Los_Angeles",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let out = runtime.block_on(async {
        match args.command {
            Command::Load {
                schema,
                campaigns,
                days,
                events,
                people,
                batch,
                partitions,
                seed,
            } => {
                let shape = Shape {
                    days,
                    events,
                    people,
                    batch,
                    partitions: partitions.max(1),
                };
                load(&schema, campaigns, shape, seed).await
            }
            Command::Measure {
                schema,
                reps,
                slow_reps,
                days,
            } => measure(&schema, reps, slow_reps, days).await,
        }
    })?;
    #[allow(clippy::print_stdout)]
    {
        println!("{out}");
    }
    Ok(())
}

/// What `load` generates.
#[derive(Clone, Copy)]
struct Shape {
    days: i64,
    events: u64,
    people: u64,
    batch: usize,
    partitions: usize,
}

type Res<T> = Result<T, Box<dyn std::error::Error>>;

async fn load(
    schema: &str,
    campaigns: usize,
    shape: Shape,
    seed: u64,
) -> Result<serde_json::Value, Box<dyn std::error::Error>> {
    let Shape { days, events, .. } = shape;
    let cfg = Config::load(None)?;
    let db = Database::connect_in_schema(&cfg.postgres, schema).await?;
    db.migrate().await?;
    let (tenant, ids) = create_campaigns(&db, campaigns).await?;
    let mut rng = fastrand::Rng::with_seed(seed);
    let main_channel: Vec<Channel> = (0..campaigns)
        .map(|_| CHANNELS[rng.usize(..CHANNELS.len())])
        .collect();
    let end = Utc::now()
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .ok_or("midnight")?
        .and_utc();
    fill_baseline_campaigns(&db, campaigns).await?;
    let started = Instant::now();
    let ids = std::sync::Arc::new(ids);
    let main_channel = std::sync::Arc::new(main_channel);
    let mut tasks = tokio::task::JoinSet::new();
    for p in 0..shape.partitions {
        let (db, ids, main_channel, schema) = (
            db.clone(),
            ids.clone(),
            main_channel.clone(),
            schema.to_owned(),
        );
        tasks.spawn(async move {
            load_partition(
                &db,
                &schema,
                p,
                &ids,
                &main_channel,
                tenant,
                end,
                shape,
                seed,
            )
            .await
            .map_err(|e| e.to_string())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    let secs = started.elapsed().as_secs_f64();
    let sizes = build_baseline_and_measure(&db).await?;
    Ok(serde_json::json!({
        "schema": schema,
        "tenant": tenant.to_string(),
        "campaigns": campaigns,
        "days": days,
        "events": events,
        "partitions": shape.partitions,
        "seconds": secs,
        "events_per_sec": events as f64 / secs,
        "aggregate_rows": sizes.rows,
        "aggregate_bytes": sizes.bytes,
        "bytes_per_event": sizes.bytes as f64 / events as f64,
        "baseline_bytes": sizes.baseline_bytes,
        "baseline_index_secs": sizes.baseline_index_secs,
        "baseline_view_secs": sizes.baseline_view_secs,
    }))
}

/// A tenant and `campaigns` campaigns, their zones taken from [`ZONES`] in turn.
async fn create_campaigns(
    db: &Database,
    campaigns: usize,
) -> Res<(adpulse_domain::TenantId, Vec<adpulse_domain::CampaignId>)> {
    let tenant = db.create_tenant("reports bench").await?;
    let mut ids = Vec::with_capacity(campaigns);
    for i in 0..campaigns {
        let c = db
            .create_campaign(tenant, &format!("campaign {i}"), None)
            .await?;
        ids.push(c);
    }
    for (i, zone) in ZONES.iter().enumerate() {
        let these: Vec<uuid::Uuid> = ids
            .iter()
            .skip(i)
            .step_by(ZONES.len())
            .map(|c| *c.as_uuid())
            .collect();
        db.set_campaign_zones(zone, &these).await?;
    }
    Ok((tenant, ids))
}

/// The users' design, with its campaigns numbered like adpulse's.
async fn fill_baseline_campaigns(db: &Database, campaigns: usize) -> Res<()> {
    // The users' design, filled with the same impressions.
    sqlx::raw_sql(BASELINE_SCHEMA).execute(db.pool()).await?;
    let mut lines = String::with_capacity(1 << 20);
    for c in 0..campaigns {
        use std::fmt::Write as _;
        let _ = writeln!(lines, "{}", c + 1);
    }
    let mut camp_copy = db
        .pool()
        .copy_in_raw("COPY bl_campaigns (id) FROM STDIN")
        .await?;
    camp_copy.send(lines.as_bytes()).await?;
    camp_copy.finish().await?;
    Ok(())
}

/// What the load left, and what the users' design cost to finish.
struct Sizes {
    rows: i64,
    bytes: i64,
    baseline_bytes: i64,
    baseline_index_secs: f64,
    baseline_view_secs: f64,
}

/// Builds the users' indexes and view (timed), vacuums, and measures both
/// designs' sizes.
async fn build_baseline_and_measure(db: &Database) -> Res<Sizes> {
    let t = Instant::now();
    sqlx::raw_sql(BASELINE_INDEXES).execute(db.pool()).await?;
    let baseline_index_secs = t.elapsed().as_secs_f64();
    let t = Instant::now();
    sqlx::raw_sql(BASELINE_VIEW).execute(db.pool()).await?;
    let baseline_view_secs = t.elapsed().as_secs_f64();
    // What autovacuum does in production: statistics, and the visibility
    // map index-only scans need (for both designs).
    sqlx::raw_sql("VACUUM (ANALYZE)").execute(db.pool()).await?;
    let mut bytes = 0;
    for table in [
        "campaign_aggregates",
        "campaign_running_totals",
        "campaign_lifetime_totals",
        "campaign_day_reach",
        "campaign_week_reach",
    ] {
        bytes += db.relation_bytes(table).await?;
    }
    let baseline_bytes = db.relation_bytes("impressions").await?;
    let rows = db.aggregate_rows().await?;
    Ok(Sizes {
        rows,
        bytes,
        baseline_bytes,
        baseline_index_secs,
        baseline_view_secs,
    })
}

/// Loads one partition's share of the events: its campaigns, its claim,
/// its commits, in time order over the range.
#[allow(clippy::too_many_arguments)]
async fn load_partition(
    db: &Database,
    schema: &str,
    partition: usize,
    ids: &[adpulse_domain::CampaignId],
    main_channel: &[Channel],
    tenant: adpulse_domain::TenantId,
    end: chrono::DateTime<Utc>,
    shape: Shape,
    seed: u64,
) -> Result<(), Box<dyn std::error::Error>> {
    let span_ms = shape.days * 86_400_000;
    let mut claim = db
        .claim_partition("reports-bench", schema, i32::try_from(partition)?)
        .await?;
    let mut rng = fastrand::Rng::with_seed(seed + 1 + partition as u64);
    let mut lines = String::with_capacity(1 << 20);
    let started = Instant::now();
    let mut batch = AggregateBatch::default();
    let mut offset = claim.next_offset;
    let mut sent = 0u64;
    let ad: AdId = serde_json::from_value(serde_json::json!("creative-1"))?;
    // This partition's campaigns: every `partitions`-th from `partition`.
    let mine = (ids.len() - partition).div_ceil(shape.partitions);
    let events = shape.events / shape.partitions as u64
        + u64::from(partition == 0) * (shape.events % shape.partitions as u64);
    let history = History {
        partition,
        partitions: shape.partitions,
        mine,
        ids,
        main_channel,
        ad,
        end,
        span_ms,
        events,
        people: shape.people,
    };
    let batch_events = shape.batch;
    while sent < events {
        let (c, person, event) = history.event(&mut rng, sent);
        let event_type = event.event_type;
        // The zone `load` gave the campaign (as the gateway would tell).
        let zone: chrono_tz::Tz = ZONES[c % ZONES.len()].parse().unwrap_or(chrono_tz::Tz::UTC);
        batch
            .add(&event, tenant, zone)
            .map_err(|e| format!("generating history: {e}"))?;
        if event_type == EventType::Impression {
            use std::fmt::Write as _;
            let cost = event.cost_micros.get();
            let _ = writeln!(
                lines,
                "{}\t{}\t{}.{:06}\t{person}",
                c + 1,
                event.occurred_at.date_naive(),
                cost / 1_000_000,
                cost % 1_000_000
            );
            if lines.len() >= 4 << 20 {
                copy_impressions(db, &mut lines).await?;
            }
        }
        sent += 1;
        if batch.events() >= batch_events || sent == events {
            offset += batch.events() as i64;
            match db.commit_batch(&mut claim, offset, &batch).await? {
                adpulse_postgres::Commit::Applied(_) => {}
                adpulse_postgres::Commit::Fenced => return Err("fenced".into()),
            }
            batch = AggregateBatch::default();
            if sent % 1_000_000 < batch_events as u64 {
                eprintln!(
                    "reports-bench: {sent} events in {:.0} s",
                    started.elapsed().as_secs_f64()
                );
            }
        }
    }
    copy_impressions(db, &mut lines).await?;
    Ok(())
}

/// What one partition's events are drawn from.
struct History<'a> {
    partition: usize,
    partitions: usize,
    /// How many of the campaigns are this partition's.
    mine: usize,
    ids: &'a [adpulse_domain::CampaignId],
    main_channel: &'a [Channel],
    ad: AdId,
    end: chrono::DateTime<Utc>,
    span_ms: i64,
    /// The partition's events in all.
    events: u64,
    people: u64,
}

impl History<'_> {
    /// The event numbered `sent`: its campaign's index, its person and the
    /// event itself.
    fn event(&self, rng: &mut fastrand::Rng, sent: u64) -> (usize, u64, Event) {
        let Self {
            partition,
            partitions,
            mine,
            ids,
            main_channel,
            end,
            span_ms,
            events,
            people,
            ..
        } = *self;
        let ad = &self.ad;
        let c = partition + partitions * rng.usize(..mine);
        let roll = rng.u32(0..100);
        let event_type = match roll {
            0..=89 => EventType::Impression,
            90..=98 => EventType::Click,
            _ => EventType::Conversion,
        };
        // Zipf-like people: a power of a uniform number skews toward the
        // pool's start, so the same people come back.
        let person = ((rng.f64().powi(3)) * people as f64) as u64;
        let event = Event {
            event_id: EventId::from_uuid(uuid::Uuid::from_u128(rng.u128(..))),
            event_type,
            campaign_id: ids[c],
            ad_id: ad.clone(),
            channel: if rng.u32(0..10) < 7 {
                main_channel[c]
            } else {
                CHANNELS[rng.usize(..CHANNELS.len())]
            },
            // In time order, as a stream delivers history, up to five
            // minutes late.
            occurred_at: end
                - Duration::milliseconds(
                    (span_ms - (span_ms as f64 * sent as f64 / events as f64) as i64
                        + rng.i64(0..300_000))
                    .clamp(1, span_ms),
                ),
            user: Some(UserIds {
                device_id: Some(format!("p{person}")),
                ..UserIds::default()
            }),
            cost_micros: Micros::new(if event_type == EventType::Conversion {
                0
            } else {
                rng.i64(100..5_000)
            })
            .unwrap_or_default(),
            revenue_micros: Micros::new(if event_type == EventType::Conversion {
                rng.i64(1_000_000..90_000_000)
            } else {
                0
            })
            .unwrap_or_default(),
            attributes: std::collections::BTreeMap::new(),
        };
        (c, person, event)
    }
}

/// Appends `lines` (tab-separated impressions) to the users' table, one
/// COPY per chunk (a statement stays under the pool's timeout).
async fn copy_impressions(
    db: &Database,
    lines: &mut String,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut copy = db
        .pool()
        .copy_in_raw("COPY impressions (campaign_id, impression_date, cost, user_id) FROM STDIN")
        .await?;
    copy.send(lines.as_bytes()).await?;
    copy.finish().await?;
    lines.clear();
    Ok(())
}

/// The users' design (their tables, named as they named them; campaigns
/// numbered like adpulse's, in creation order).
const BASELINE_SCHEMA: &str = "
CREATE TABLE bl_campaigns (id bigint PRIMARY KEY, campaign_name text NOT NULL DEFAULT '',
    status text NOT NULL DEFAULT 'active', start_date date NOT NULL DEFAULT '2025-01-01');
CREATE TABLE impressions (id bigserial, campaign_id bigint, impression_date date,
    cost numeric(10,2), user_id bigint);
";

/// Their indexes (step 2), built after the load.
const BASELINE_INDEXES: &str = "
UPDATE bl_campaigns SET campaign_name = 'campaign ' || (id - 1);
CREATE INDEX idx_campaigns_active ON bl_campaigns (status, start_date) WHERE status = 'active';
CREATE INDEX idx_impressions_campaign_date ON impressions (campaign_id, impression_date) INCLUDE (cost, user_id);
";

/// Their materialized view (step 4).
const BASELINE_VIEW: &str = "
CREATE MATERIALIZED VIEW daily_campaign_stats AS
SELECT campaign_id, impression_date AS day, COUNT(*) AS impressions, SUM(cost) AS spend,
       COUNT(DISTINCT user_id) AS unique_users
FROM impressions GROUP BY campaign_id, impression_date;
CREATE UNIQUE INDEX ON daily_campaign_stats (campaign_id, day);
";

/// Their original query over a range.
const ORIGINAL: &str = "
SELECT c.campaign_name, COUNT(i.id) AS impressions, SUM(i.cost) AS spend,
       COUNT(DISTINCT i.user_id) AS unique_users
FROM bl_campaigns c LEFT JOIN impressions i ON c.id = i.campaign_id
WHERE c.status = 'active' AND i.impression_date BETWEEN $1 AND $2
GROUP BY c.id, c.campaign_name ORDER BY spend DESC LIMIT 100";

/// Their materialized-view rewrite.
const VIEW_TOP: &str = "
SELECT c.campaign_name, SUM(dcs.impressions) AS impressions, SUM(dcs.spend) AS spend,
       SUM(dcs.unique_users) AS unique_users
FROM bl_campaigns c JOIN daily_campaign_stats dcs ON c.id = dcs.campaign_id
WHERE c.status = 'active' AND dcs.day BETWEEN $1 AND $2
GROUP BY c.id, c.campaign_name ORDER BY spend DESC LIMIT 100";

/// One campaign by day on their covering index.
const INDEX_CAMPAIGN: &str = "
SELECT impression_date, COUNT(*), SUM(cost), COUNT(DISTINCT user_id) FROM impressions
WHERE campaign_id = $1 AND impression_date BETWEEN $2 AND $3 GROUP BY impression_date ORDER BY 1";

fn percentiles(mut ms: Vec<f64>) -> serde_json::Value {
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[((ms.len() as f64 - 1.0) * q).round() as usize];
    serde_json::json!({"n": ms.len(), "p50_ms": at(0.5), "p99_ms": at(0.99), "max_ms": at(1.0)})
}

/// The client `measure` calls the API with.
type Client = hyper_util::client::legacy::Client<
    hyper_util::client::legacy::connect::HttpConnector,
    http_body_util::Full<bytes::Bytes>,
>;

/// One request; its status and body.
async fn call(
    client: &Client,
    method: &'static str,
    url: String,
    token: Option<String>,
    body: String,
) -> Res<(u16, bytes::Bytes)> {
    use http_body_util::BodyExt as _;
    let mut req = hyper::Request::builder().method(method).uri(url);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let req = req
        .header("content-type", "application/json")
        .body(http_body_util::Full::new(bytes::Bytes::from(body)))?;
    let res = client.request(req).await?;
    let status = res.status().as_u16();
    let body = res.into_body().collect().await?.to_bytes();
    Ok::<_, Box<dyn std::error::Error>>((status, body))
}

/// Random 30-day windows ending at least a day before `today`.
struct Windows {
    today: chrono::NaiveDate,
    days: i64,
    rng: fastrand::Rng,
}

impl Windows {
    fn next_window(&mut self) -> (chrono::NaiveDate, chrono::NaiveDate) {
        let end = self.today - Duration::days(self.rng.i64(1..=(self.days - 30).max(1)));
        (end - Duration::days(29), end)
    }
}

async fn measure(
    schema: &str,
    reps: usize,
    slow_reps: usize,
    days: i64,
) -> Result<serde_json::Value, Box<dyn std::error::Error>> {
    let mut cfg = Config::load(None)?;
    cfg.postgres.schema = Some(schema.to_owned());
    let db = Database::connect(&cfg.postgres).await?;
    let (tenant,): (uuid::Uuid,) = sqlx::query_as("SELECT id FROM tenants LIMIT 1")
        .fetch_one(db.pool())
        .await?;
    let campaigns: Vec<(uuid::Uuid,)> = sqlx::query_as("SELECT id FROM campaigns ORDER BY id")
        .fetch_all(db.pool())
        .await?;
    let (client, base, token) = start_api_and_log_in(&cfg, &db, tenant).await?;

    let today = Utc::now().date_naive();
    let mut windows = Windows {
        today,
        days,
        rng: fastrand::Rng::with_seed(7),
    };
    let mut pick = fastrand::Rng::with_seed(8);
    let mut timed = Vec::new();
    let (report, export, top) = time_http(
        &client,
        &base,
        &token,
        &campaigns,
        &mut windows,
        &mut pick,
        reps,
    )
    .await?;
    let (original, view, by_index) = time_baseline(
        &db,
        campaigns.len(),
        &mut windows,
        &mut pick,
        reps,
        slow_reps,
    )
    .await?;
    timed.push((
        "adpulse: 30-day campaign report by day, by channel (HTTP)",
        percentiles(report),
    ));
    timed.push((
        "adpulse: top 100 campaigns over 30 days (HTTP)",
        percentiles(top),
    ));
    timed.push((
        "adpulse: 30-day campaign CSV export (HTTP)",
        percentiles(export),
    ));
    timed.push(("users: original top-100 query", percentiles(original)));
    timed.push(("users: materialized-view top-100 query", percentiles(view)));
    timed.push((
        "users: one campaign by day on their covering index",
        percentiles(by_index),
    ));
    Ok(serde_json::json!(
        timed
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect::<serde_json::Map<_, _>>()
    ))
}

/// An analyst of `tenant`, the API serving on a free port, and the
/// analyst's access token: the client, the API's base URL and the token.
async fn start_api_and_log_in(
    cfg: &Config,
    db: &Database,
    tenant: uuid::Uuid,
) -> Res<(Client, String, String)> {
    let email = format!("analyst-{}@bench.example", uuid::Uuid::new_v4().simple());
    let password = "reports bench password";
    let hash = adpulse_api::auth::hash_password(password.into()).await?;
    db.create_user(
        adpulse_domain::TenantId::from_uuid(tenant),
        &email,
        &hash,
        adpulse_domain::Role::Analyst,
    )
    .await?;
    let api_cfg = adpulse_config::ApiConfig {
        jwt_secret: Some(adpulse_config::Secret::new(
            "reports-bench-secret-0123456789abcdef".into(),
        )),
        requests_per_user_per_second: 1_000_000,
        asset_store: std::env::temp_dir()
            .join("reports-bench-assets")
            .display()
            .to_string(),
        ..adpulse_config::ApiConfig::default()
    };
    let api_db = Database::connect_for_tenants(&cfg.postgres).await?;
    let state = adpulse_api::AppState::new(&api_cfg, Arc::new(api_db))?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}/api/v1", listener.local_addr()?);
    let http = cfg.http;
    tokio::spawn(async move {
        let _ = adpulse_api::serve(&api_cfg, state, listener, http, std::future::pending()).await;
    });
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Full<bytes::Bytes>>();
    let (status, body) = call(
        &client,
        "POST",
        format!("{base}/auth/login"),
        None,
        serde_json::json!({"email": email, "password": password}).to_string(),
    )
    .await?;
    if status != 200 {
        return Err(format!("login: {status}").into());
    }
    let token = serde_json::from_slice::<serde_json::Value>(&body)?["access_token"]
        .as_str()
        .ok_or("no token")?
        .to_owned();
    Ok((client, base, token))
}

/// Times adpulse over HTTP: `reps` campaign reports and CSV exports, and a
/// quarter as many top-100 rankings (milliseconds each).
async fn time_http(
    client: &Client,
    base: &str,
    token: &str,
    campaigns: &[(uuid::Uuid,)],
    windows: &mut Windows,
    pick: &mut fastrand::Rng,
    reps: usize,
) -> Res<(Vec<f64>, Vec<f64>, Vec<f64>)> {
    let token = token.to_owned();
    let mut report = Vec::new();
    let mut top = Vec::new();
    let mut export = Vec::new();
    for _ in 0..reps {
        let (start, end) = windows.next_window();
        let c = campaigns[pick.usize(..campaigns.len())].0;
        let t = Instant::now();
        let (s, _) = call(client, "GET", format!("{base}/campaigns/{c}/reports?start_date={start}&end_date={end}&granularity=day&breakdown=channel"), Some(token.clone()), String::new()).await?;
        report.push(t.elapsed().as_secs_f64() * 1e3);
        if s != 200 {
            return Err(format!("report: {s}").into());
        }
        let t = Instant::now();
        let (s, _) = call(client, "GET", format!("{base}/campaigns/{c}/reports/export?format=csv&start_date={start}&end_date={end}&granularity=day&breakdown=channel"), Some(token.clone()), String::new()).await?;
        export.push(t.elapsed().as_secs_f64() * 1e3);
        if s != 200 {
            return Err(format!("export: {s}").into());
        }
    }
    for _ in 0..reps.div_ceil(4) {
        let (start, end) = windows.next_window();
        let t = Instant::now();
        let (s, _) = call(
            client,
            "GET",
            format!(
                "{base}/reports/campaigns?start_date={start}&end_date={end}&sort=-spend&limit=100"
            ),
            Some(token.clone()),
            String::new(),
        )
        .await?;
        top.push(t.elapsed().as_secs_f64() * 1e3);
        if s != 200 {
            return Err(format!("top: {s}").into());
        }
    }
    Ok((report, export, top))
}

/// Times the users' design in SQL: `slow_reps` original queries, a quarter
/// of `reps` view queries and `reps` covering-index queries.
async fn time_baseline(
    db: &Database,
    campaigns: usize,
    windows: &mut Windows,
    pick: &mut fastrand::Rng,
    reps: usize,
    slow_reps: usize,
) -> Res<(Vec<f64>, Vec<f64>, Vec<f64>)> {
    let (mut original, mut view, mut by_index) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..slow_reps {
        let (start, end) = windows.next_window();
        let t = Instant::now();
        sqlx::query(ORIGINAL)
            .bind(start)
            .bind(end)
            .fetch_all(db.pool())
            .await?;
        original.push(t.elapsed().as_secs_f64() * 1e3);
    }
    for _ in 0..reps.div_ceil(4) {
        let (start, end) = windows.next_window();
        let t = Instant::now();
        sqlx::query(VIEW_TOP)
            .bind(start)
            .bind(end)
            .fetch_all(db.pool())
            .await?;
        view.push(t.elapsed().as_secs_f64() * 1e3);
    }
    for _ in 0..reps {
        let (start, end) = windows.next_window();
        let c = pick.i64(1..=campaigns as i64);
        let t = Instant::now();
        sqlx::query(INDEX_CAMPAIGN)
            .bind(c)
            .bind(start)
            .bind(end)
            .fetch_all(db.pool())
            .await?;
        by_index.push(t.elapsed().as_secs_f64() * 1e3);
    }
    Ok((original, view, by_index))
}
