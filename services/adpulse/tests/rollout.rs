//! Zero-downtime rollouts on a host without Kubernetes
//! (`deploy/host/adpulse-host` behind a real HAProxy), under steady load:
//!
//! - two gateways and two APIs, each restarted in turn onto a new build:
//!   no request fails, and every accepted event is counted exactly once;
//!   then a rolling restart of the two workers: the counts stay exact and
//!   the rollout's own freshness gate (p99 at most 5 s) holds;
//! - a build made to fail is rolled back by the script itself when the
//!   error rate crosses 1% during its watch, and nothing accepted is lost.
//!
//! The figures (requests, failures, events sent and counted, freshness)
//! are printed; `docs/benchmarks.md` records them.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use common::http::Http;
use common::platform::{Platform, Reference, Tenant, event, until};
use common::site::{APIS, GATEWAYS, Site, WORKERS, p99_bound};
use serde_json::Value;

/// One platform at a time: each runs six replicas and a load.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// How a rollout is watched here: short, on the users' thresholds.
const SETTINGS: &str = "WATCH_SECONDS=5\nREADY_SECONDS=90\nMAX_ERROR_RATE=0.01\nMAX_P99_SECONDS=1\nMAX_FRESHNESS_P99_SECONDS=5";

/// What a load saw.
#[derive(Default)]
struct Tally {
    /// Ingest requests sent.
    sent: u64,
    /// Events answered 202.
    accepted: Vec<Value>,
    /// API reads answered 200.
    reads: u64,
    /// Every other answer or failed request: when (since the load began)
    /// and what.
    failed: Vec<(Duration, String)>,
}

/// Steady load through HAProxy: ingest on four connections, API reads on
/// two, until stopped.
struct Load {
    stop: Arc<AtomicBool>,
    began: Instant,
    tasks: Vec<tokio::task::JoinHandle<Tally>>,
}

impl Load {
    fn start(site: &Site, t: &Tenant) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let began = Instant::now();
        let mut tasks = Vec::new();
        for i in 0..4u64 {
            let (gw, stop, t) = (site.gateway.clone(), Arc::clone(&stop), t.clone());
            tasks.push(tokio::spawn(ingest(gw, t, stop, began, i)));
        }
        for _ in 0..2 {
            let (api, stop, t) = (site.api.clone(), Arc::clone(&stop), t.clone());
            tasks.push(tokio::spawn(read(api, t, stop, began)));
        }
        Self { stop, began, tasks }
    }

    /// Stops the load; what it saw, and how long it ran.
    async fn finish(self) -> (Tally, Duration) {
        self.stop.store(true, Ordering::Relaxed);
        let mut all = Tally::default();
        for task in self.tasks {
            let t = task.await.expect("load task");
            all.sent += t.sent;
            all.accepted.extend(t.accepted);
            all.reads += t.reads;
            all.failed.extend(t.failed);
        }
        all.failed.sort_by_key(|f| f.0);
        (all, self.began.elapsed())
    }
}

async fn ingest(gw: Http, t: Tenant, stop: Arc<AtomicBool>, began: Instant, seed: u64) -> Tally {
    let mut rng = fastrand::Rng::with_seed(seed);
    let auth = format!("Bearer {}", t.key);
    // Yesterday: every time of it is in the past.
    let day = Utc::now().date_naive() - chrono::Days::new(1);
    let mut tally = Tally::default();
    while !stop.load(Ordering::Relaxed) {
        let campaign = &t.campaigns[rng.usize(..t.campaigns.len())];
        let e = event(&mut rng, campaign, day, 50);
        tally.sent += 1;
        let headers = [
            ("authorization", auth.as_str()),
            ("content-type", "application/json"),
        ];
        match gw
            .try_send("POST", "/v1/events", &headers, e.to_string())
            .await
        {
            Ok(r) if r.status == 202 => tally.accepted.push(e),
            Ok(r) => tally.failed.push((
                began.elapsed(),
                format!("ingest {} {}", r.status, String::from_utf8_lossy(&r.body)),
            )),
            Err(e) => tally.failed.push((began.elapsed(), format!("ingest {e}"))),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tally
}

async fn read(api: Http, t: Tenant, stop: Arc<AtomicBool>, began: Instant) -> Tally {
    let auth = format!("Bearer {}", t.token);
    let mut tally = Tally::default();
    while !stop.load(Ordering::Relaxed) {
        let path = format!("/api/v1/campaigns/{}/realtime", t.campaigns[0]);
        match api
            .try_send("GET", &path, &[("authorization", &auth)], "")
            .await
        {
            Ok(r) if r.status == 200 => tally.reads += 1,
            Ok(r) => tally.failed.push((
                began.elapsed(),
                format!("read {} {}", r.status, String::from_utf8_lossy(&r.body)),
            )),
            Err(e) => tally.failed.push((began.elapsed(), format!("read {e}"))),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tally
}

/// A distributed platform whose gateways, APIs and workers are a site's,
/// and a tenant with four campaigns; reads go through the site's HAProxy.
async fn setup() -> (Platform, Site, Tenant) {
    let mut p = Platform::distributed().await;
    let t = p.tenant("rollout", 4).await;
    for role in ["gateway", "api", "worker"] {
        p.stop_own(role);
    }
    let site = Site::start(&p, SETTINGS).await;
    p.api = site.api.clone();
    p.gateway = site.gateway.clone();
    (p, site, t)
}

/// Every accepted event counted once, on every campaign: the live totals
/// equal the reference (never more, waiting up to a minute for fewer).
async fn assert_counted(p: &Platform, t: &Tenant, reference: &Reference) {
    for c in &t.campaigns {
        let want = reference.realtime(c);
        until(
            &format!("campaign {c} counts every accepted event once"),
            Duration::from_secs(60),
            &want,
            || p.realtime(&t.token, c),
            |have| {
                assert!(
                    have[0] <= want[0],
                    "counted more than accepted: {have:?} > {want:?}"
                )
            },
        )
        .await;
    }
}

fn assert_none_failed(tally: &Tally, what: &str) {
    assert!(
        tally.failed.is_empty(),
        "{} requests failed during {what}; the first: {:?}",
        tally.failed.len(),
        &tally.failed[..tally.failed.len().min(5)]
    );
}

fn figures(what: &str, tally: &Tally, took: Duration) {
    eprintln!(
        "rollout figures ({what}): {took:.1?} of load; ingest requests {}, accepted {}, \
         API reads {}, failed {}",
        tally.sent,
        tally.accepted.len(),
        tally.reads,
        tally.failed.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rolling_out_gateways_apis_and_workers_under_load_fails_no_request_and_loses_no_event() {
    let _one = SERIAL.lock().await;
    let (p, site, t) = setup().await;
    let v2 = Site::release(&site.dir, "v2");
    let v2s = v2.display().to_string();

    let load = Load::start(&site, &t);
    tokio::time::sleep(Duration::from_secs(2)).await;
    for role in ["gateway", "api"] {
        let (ok, out) = site.host(&["rollout", role, &v2s]).await;
        assert!(ok, "the {role} rollout failed:\n{out}\n{}", site.logs());
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (tally, took) = load.finish().await;
    figures("gateways and APIs", &tally, took);
    for name in GATEWAYS.iter().chain(&APIS) {
        assert_eq!(site.build_of(name), v2, "{name} runs the new build");
    }
    assert_none_failed(&tally, "the gateway and API rollouts");
    assert!(
        !tally.accepted.is_empty() && tally.reads > 0,
        "the load ran"
    );
    let mut reference = Reference::default();
    reference.add(&tally.accepted);
    assert_counted(&p, &t, &reference).await;

    // The workers, under load; the rollout's gate holds freshness.
    let load = Load::start(&site, &t);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (ok, out) = site.host(&["rollout", "worker", &v2s]).await;
    assert!(ok, "the worker rollout failed:\n{out}\n{}", site.logs());
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (tally, took) = load.finish().await;
    figures("workers", &tally, took);
    for name in WORKERS {
        assert_eq!(site.build_of(name), v2, "{name} runs the new build");
    }
    assert_none_failed(&tally, "the worker rollout");
    reference.add(&tally.accepted);
    assert_counted(&p, &t, &reference).await;
    let mut texts = Vec::new();
    for w in WORKERS {
        texts.push(site.metrics(w).await);
    }
    let p99 = p99_bound(&texts, "adpulse_worker_freshness_seconds");
    eprintln!(
        "rollout figures (all): {} events accepted, each counted once (live totals equal \
         them); freshness p99 at most {p99:?} s on the new workers",
        reference.events.len()
    );
    assert!(p99.is_some(), "the new workers measured freshness");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_build_made_to_fail_is_rolled_back_by_the_rollout_itself() {
    let _one = SERIAL.lock().await;
    let (p, site, t) = setup().await;
    // The test build shipped with a configuration that breaks it: its
    // directory reads an empty schema, so every ingest key lookup fails
    // (503) while the process stays ready.
    let broken = adpulse_testkit::unique_name("broken");
    let v1 = site.build_of("g1");
    let bad = site.dir.join("releases/bad/adpulse");
    std::fs::create_dir_all(bad.parent().expect("folder")).expect("folder");
    std::fs::write(
        &bad,
        format!(
            "#!/bin/sh\nADPULSE__POSTGRES__SCHEMA={broken} exec {} \"$@\"\n",
            v1.display()
        ),
    )
    .expect("the bad build");
    std::fs::set_permissions(&bad, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");

    let load = Load::start(&site, &t);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (ok, out) = site
        .host(&["rollout", "gateway", &bad.display().to_string()])
        .await;
    let rolled_back = load.began.elapsed();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (tally, took) = load.finish().await;
    figures("a failing build", &tally, took);
    drop_schema(&p, &broken).await;

    assert!(
        !ok,
        "the rollout of a failing build reports failure:\n{out}"
    );
    assert!(
        out.contains("error rate"),
        "it names the error rate:\n{out}"
    );
    assert!(out.contains("rolling back g1"), "it rolls g1 back:\n{out}");
    for name in GATEWAYS {
        assert_eq!(site.build_of(name), v1, "{name} runs the old build again");
    }
    assert_eq!(
        std::fs::read_link(site.dir.join("current/gateway")).expect("current"),
        v1,
        "the role's build is unchanged"
    );
    assert!(
        !tally.failed.is_empty(),
        "the failing build failed requests"
    );
    for (at, what) in &tally.failed {
        assert!(
            what.starts_with("ingest 503"),
            "a specific refusal, not a broken one: {what}"
        );
        assert!(
            *at < rolled_back,
            "no request fails after the rollback: {what} at {at:?}"
        );
    }
    let mut reference = Reference::default();
    reference.add(&tally.accepted);
    assert_counted(&p, &t, &reference).await;
}

/// Drops the schema the failing build made.
async fn drop_schema(p: &Platform, schema: &str) {
    let url = p
        .config()
        .iter()
        .find(|(k, _)| k == "ADPULSE__POSTGRES__URL")
        .map(|(_, v)| v.clone())
        .expect("the platform's Postgres");
    let cfg = adpulse_config::PostgresConfig {
        url: adpulse_config::Secret::new(url),
        schema: Some(schema.to_owned()),
        ..adpulse_config::PostgresConfig::default()
    };
    if let Ok(db) = adpulse_postgres::Database::connect(&cfg).await {
        let _ = db.drop_schema().await;
    }
}
