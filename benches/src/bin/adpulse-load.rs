//! `adpulse-load`: an HTTP load generator for adpulse ingestion, reusable for
//! the whole pipeline.
//!
//! - realistic events: Zipf-skewed campaigns and users, a typical mix of
//!   impressions, clicks and conversions, fresh `event_id`s;
//! - closed-loop (`--rate 0`: each connection sends as fast as answers come)
//!   or fixed-rate (`--rate R`: requests are scheduled at fixed intervals and
//!   latency is measured from the scheduled time, so a stalled server is
//!   charged for the requests it delayed: no coordinated omission);
//! - HDR-histogram latency percentiles, a progress line per second, and a
//!   hard bound on duration. Loopback targets only.
//!
//! Prints one JSON summary line on stdout.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Parser;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt as _, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

#[derive(Parser, Clone)]
#[command(about = "Load generator for adpulse ingestion (loopback only)")]
struct Args {
    /// Target address (must be on loopback).
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Ingest key sent as the bearer token.
    #[arg(long, default_value = "")]
    key: String,
    /// File with one campaign id per line (Zipf-ranked in file order).
    #[arg(long)]
    campaigns: Option<std::path::PathBuf>,
    /// Events per request: 1 posts to /v1/events, more to /v1/events/batch as NDJSON.
    #[arg(long, default_value_t = 1)]
    batch: usize,
    /// Concurrent connections.
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// Requests per second in total; 0 = as fast as the server answers.
    #[arg(long, default_value_t = 0.0)]
    rate: f64,
    /// Seconds to measure (at most 300).
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Seconds of warm-up before measuring.
    #[arg(long, default_value_t = 2)]
    warmup: u64,
    /// Zipf exponent for campaigns and users.
    #[arg(long, default_value_t = 1.1)]
    zipf: f64,
    /// Distinct users.
    #[arg(long, default_value_t = 100_000)]
    users: usize,
    /// No progress lines.
    #[arg(long)]
    quiet: bool,
    /// `events` (ingestion) or `decide` (frequency-capping decisions).
    #[arg(long, default_value = "events")]
    mode: String,
    /// Decide mode: the campaigns' cap, to count violations (0: no check).
    #[arg(long, default_value_t = 0)]
    cap: u32,
}

/// Samples ranks 0..n with probability proportional to 1/(rank+1)^s.
struct Zipf {
    cdf: Vec<f64>,
}

impl Zipf {
    fn new(n: usize, s: f64) -> Self {
        let mut cdf = Vec::with_capacity(n.max(1));
        let mut total = 0.0;
        for k in 1..=n.max(1) {
            total += 1.0 / (k as f64).powf(s);
            cdf.push(total);
        }
        for c in &mut cdf {
            *c /= total;
        }
        Self { cdf }
    }

    fn sample(&self, rng: &mut fastrand::Rng) -> usize {
        let u = rng.f64();
        self.cdf.partition_point(|c| *c < u).min(self.cdf.len() - 1)
    }
}

/// Makes event bodies.
struct Events {
    campaigns: Vec<String>,
    campaign_zipf: Zipf,
    user_zipf: Zipf,
}

const CHANNELS: [&str; 5] = ["display", "social", "search", "video", "native"];
const COUNTRIES: [&str; 6] = ["GB", "US", "DE", "FR", "JP", "BR"];
const DEVICES: [&str; 3] = ["mobile", "desktop", "tablet"];

impl Events {
    /// A decision request for one person and campaign; returns the
    /// (person, campaign) pair's index.
    fn write_decide(&self, out: &mut String, rng: &mut fastrand::Rng) -> usize {
        let c = self.campaign_zipf.sample(rng);
        let campaign = &self.campaigns[c];
        let user = self.user_zipf.sample(rng);
        let _ = write!(
            out,
            r#"{{"campaign_id":"{campaign}","user":{{"device_id":"d-{user}","login_id":"u-{user}"}}}}"#
        );
        user * self.campaigns.len() + c
    }

    fn write(&self, out: &mut String, rng: &mut fastrand::Rng, now: &str) {
        let campaign = &self.campaigns[self.campaign_zipf.sample(rng)];
        let user = self.user_zipf.sample(rng);
        let roll = rng.u32(0..1000);
        let (kind, cost, revenue) = match roll {
            0..=899 => ("impression", rng.i64(200..3_000), 0),
            900..=989 => ("click", rng.i64(10_000..900_000), 0),
            _ => ("conversion", 0, rng.i64(1_000_000..90_000_000)),
        };
        let id = uuid::Uuid::from_u128(rng.u128(..) & !(0xf << 76) | (0x4 << 76));
        let _ = write!(
            out,
            r#"{{"event_id":"{id}","type":"{kind}","campaign_id":"{campaign}","ad_id":"creative-{}","channel":"{}","occurred_at":"{now}","user":{{"device_id":"d-{user}","login_id":"u-{user}"}},"cost_micros":{cost},"revenue_micros":{revenue},"attributes":{{"country":"{}","device":"{}"}}}}"#,
            rng.u32(1..40),
            CHANNELS[rng.usize(..CHANNELS.len())],
            COUNTRIES[rng.usize(..COUNTRIES.len())],
            DEVICES[rng.usize(..DEVICES.len())],
        );
    }
}

#[derive(Default)]
struct Counters {
    /// Decide mode: impressions allowed per (person, campaign).
    allowed: Vec<std::sync::atomic::AtomicU32>,
    requests: AtomicU64,
    events: AtomicU64,
    errors: AtomicU64,
    non_2xx: AtomicU64,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    if !args.addr.ip().is_loopback() {
        return Err("adpulse-load only targets loopback addresses".into());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(args))
}

/// The campaign ids of `--campaigns` (one a line), or one made up.
fn campaigns(args: &Args) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let campaigns: Vec<String> = match &args.campaigns {
        Some(p) => std::fs::read_to_string(p)?
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect(),
        None => vec![uuid::Uuid::new_v4().to_string()],
    };
    if campaigns.is_empty() {
        return Err("the campaigns file is empty".into());
    }
    Ok(campaigns)
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let campaigns = campaigns(&args)?;
    let events = Arc::new(Events {
        campaign_zipf: Zipf::new(campaigns.len(), args.zipf),
        user_zipf: Zipf::new(args.users, args.zipf),
        campaigns,
    });
    let decide = match args.mode.as_str() {
        "events" => false,
        "decide" => true,
        other => return Err(format!("--mode is events or decide, not {other}").into()),
    };
    let counters = Arc::new(Counters {
        allowed: if decide && args.cap > 0 {
            (0..args.users * events.campaigns.len())
                .map(|_| Default::default())
                .collect()
        } else {
            Vec::new()
        },
        ..Counters::default()
    });
    let measuring = Arc::new(AtomicBool::new(false));
    let duration = Duration::from_secs(args.duration.min(300));
    let start = Instant::now();
    let measure_from = start + Duration::from_secs(args.warmup);
    let end = measure_from + duration;

    let mut tasks = Vec::new();
    for i in 0..args.connections.max(1) {
        let (args, events, counters, measuring) = (
            args.clone(),
            Arc::clone(&events),
            Arc::clone(&counters),
            Arc::clone(&measuring),
        );
        tasks.push(tokio::spawn(async move {
            connection(i, args, events, counters, measuring, end).await
        }));
    }

    let progress = spawn_progress(Arc::clone(&counters), args.quiet, start);

    tokio::time::sleep_until(measure_from.into()).await;
    counters.requests.store(0, Ordering::Relaxed);
    counters.events.store(0, Ordering::Relaxed);
    counters.errors.store(0, Ordering::Relaxed);
    counters.non_2xx.store(0, Ordering::Relaxed);
    measuring.store(true, Ordering::Relaxed);
    let measured_at = Instant::now();

    let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    for t in tasks {
        hist.add(t.await??)?;
    }
    let secs = measured_at
        .elapsed()
        .as_secs_f64()
        .min(duration.as_secs_f64().max(0.001));
    progress.abort();
    print_summary(&args, &counters, &hist, secs);
    Ok(())
}

/// Prints the requests, events, errors and non-2xx answers of each second
/// on stderr (unless `quiet`), until aborted.
fn spawn_progress(
    counters: Arc<Counters>,
    quiet: bool,
    start: Instant,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut last = (0, 0);
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.tick().await;
        loop {
            tick.tick().await;
            let (r, e) = (
                counters.requests.load(Ordering::Relaxed),
                counters.events.load(Ordering::Relaxed),
            );
            if !quiet {
                eprintln!(
                    "[{:>4.0}s] {:>8} req/s {:>9} events/s  errors {}  non-2xx {}",
                    start.elapsed().as_secs_f64(),
                    r - last.0,
                    e - last.1,
                    counters.errors.load(Ordering::Relaxed),
                    counters.non_2xx.load(Ordering::Relaxed)
                );
            }
            last = (r, e);
        }
    })
}

/// The measured run as one JSON line on stdout.
fn print_summary(args: &Args, counters: &Counters, hist: &Histogram<u64>, secs: f64) {
    let (requests, events_n) = (
        counters.requests.load(Ordering::Relaxed),
        counters.events.load(Ordering::Relaxed),
    );
    let summary = serde_json::json!({
        "requests": requests,
        "events": events_n,
        "seconds": secs,
        "requests_per_sec": requests as f64 / secs,
        "events_per_sec": events_n as f64 / secs,
        "errors": counters.errors.load(Ordering::Relaxed),
        "non_2xx": counters.non_2xx.load(Ordering::Relaxed),
        "p50_ms": hist.value_at_quantile(0.50) as f64 / 1000.0,
        "p99_ms": hist.value_at_quantile(0.99) as f64 / 1000.0,
        "p999_ms": hist.value_at_quantile(0.999) as f64 / 1000.0,
        "max_ms": hist.max() as f64 / 1000.0,
        "batch": args.batch,
        "mode": args.mode,
        "allowed": counters.allowed.iter().map(|a| u64::from(a.load(Ordering::Relaxed))).sum::<u64>(),
        "violations": counters.allowed.iter().filter(|a| args.cap > 0 && a.load(Ordering::Relaxed) > args.cap).count(),
        "connections": args.connections,
        "rate": args.rate,
    });
    #[allow(clippy::print_stdout)]
    {
        println!("{summary}");
    }
}

/// One keep-alive connection sending requests until `end`; returns its
/// latency histogram (microseconds, measured from the scheduled send time).
async fn connection(
    index: usize,
    args: Args,
    events: Arc<Events>,
    counters: Arc<Counters>,
    measuring: Arc<AtomicBool>,
    end: Instant,
) -> Result<Histogram<u64>, String> {
    let mut hist =
        Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).map_err(|e| e.to_string())?;
    let mut rng = fastrand::Rng::with_seed(0x5eed ^ index as u64);
    let decide = args.mode == "decide";
    let (path, content_type) = if decide {
        ("/v1/frequency/decide", "application/json")
    } else if args.batch > 1 {
        ("/v1/events/batch", "application/x-ndjson")
    } else {
        ("/v1/events", "application/json")
    };
    let auth = format!("Bearer {}", args.key);
    let interval = (args.rate > 0.0)
        .then(|| Duration::from_secs_f64(args.connections.max(1) as f64 / args.rate));
    let mut next = Instant::now()
        + interval.map_or(Duration::ZERO, |i| {
            i.mul_f64(index as f64 / args.connections.max(1) as f64)
        });
    let mut sender = None;
    let mut body = String::with_capacity(512 * args.batch);
    while Instant::now() < end {
        let scheduled = match interval {
            Some(i) => {
                tokio::time::sleep_until(next.into()).await;
                let s = next;
                next += i;
                s
            }
            None => Instant::now(),
        };
        if sender.is_none() {
            sender = connect(args.addr).await.ok();
            if sender.is_none() {
                counters.errors.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        }
        let person = write_body(&events, &mut body, &mut rng, decide, args.batch);
        let req = Request::post(path)
            .header("host", args.addr.to_string())
            .header("content-type", content_type)
            .header("authorization", &auth)
            .body(Full::new(Bytes::from(body.clone())))
            .map_err(|e| e.to_string())?;
        let Some(s) = sender.as_mut() else { continue };
        let outcome = async {
            s.ready().await?;
            let resp = s.send_request(req).await?;
            let status = resp.status();
            let body = resp.into_body().collect().await?.to_bytes();
            Ok::<_, hyper::Error>((status, body))
        }
        .await;
        let counted = measuring.load(Ordering::Relaxed);
        match outcome {
            Ok((status, answer)) => {
                let measured = counted.then_some((scheduled, &mut hist));
                count_answer(&counters, person, status, &answer, measured, args.batch);
            }
            Err(_) => {
                sender = None;
                if counted {
                    counters.errors.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }
    Ok(hist)
}

/// Writes the next request's body into `body`: a decide request (returning
/// its person) or `batch` events, one a line.
fn write_body(
    events: &Events,
    body: &mut String,
    rng: &mut fastrand::Rng,
    decide: bool,
    batch: usize,
) -> Option<usize> {
    body.clear();
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let mut person = None;
    if decide {
        person = Some(events.write_decide(body, rng));
    } else {
        for n in 0..batch {
            if n > 0 {
                body.push('\n');
            }
            events.write(body, rng, &now);
        }
    }
    person
}

/// Counts one answer: an allowed impression always; while measuring
/// (`measured` holds the scheduled send time and the histogram), its
/// latency, the request and its events or its non-2xx status.
fn count_answer(
    counters: &Counters,
    person: Option<usize>,
    status: hyper::StatusCode,
    answer: &[u8],
    measured: Option<(Instant, &mut Histogram<u64>)>,
    batch: usize,
) {
    // Every allowed impression counts, measured or not.
    if let Some(p) = person
        && let Some(slot) = counters.allowed.get(p)
        && answer.windows(12).any(|w| w == b"\"allow\":true")
    {
        slot.fetch_add(1, Ordering::Relaxed);
    }
    if let Some((scheduled, hist)) = measured {
        let us = u64::try_from(scheduled.elapsed().as_micros())
            .unwrap_or(u64::MAX)
            .max(1);
        let _ = hist.record(us.min(60_000_000));
        counters.requests.fetch_add(1, Ordering::Relaxed);
        if status.is_success() {
            counters.events.fetch_add(batch as u64, Ordering::Relaxed);
        } else {
            counters.non_2xx.fetch_add(1, Ordering::Relaxed);
        }
    }
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

async fn connect(addr: SocketAddr) -> Result<Sender, Box<dyn std::error::Error + Send + Sync>> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    Ok(sender)
}
