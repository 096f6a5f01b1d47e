//! `adpulse up`: the gateway, a stream worker and the API in one process,
//! on the embedded adapters, with everything kept in one data folder:
//!
//! | what | where in the folder | production counterpart |
//! |---|---|---|
//! | event log | `log/` (segment files) | Kafka |
//! | tenants … aggregates | `adpulse.sqlite` | Postgres |
//! | raw events | `raw.sqlite` | ScyllaDB |
//! | creatives | `assets/` | object storage |
//! | live counters | memory (rebuilt from the store) | Redis |
//!
//! The first start creates a demo tenant, campaign, admin user and ingest
//! key and keeps them (and the API's signing key) in `welcome.json`;
//! every start prints how to use them. A lock on `adpulse.lock` keeps a
//! second process off the same folder.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use adpulse_alerter::Alerter;
use adpulse_config::{CappingBackend, Config, Secret};
use adpulse_domain::ports::Stream;
use adpulse_domain::ports::{EventLog, Store};
use adpulse_domain::{Role, TenantId};
use adpulse_embedded::{LocalLog, LocalLogConfig, LocalSource, MemoryLive};
use adpulse_gateway::Gateway;
use adpulse_gateway::capping::Capping;
use adpulse_sqlite::{Lite, LiteArchive};
use adpulse_worker::{Sinks, Worker};
use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

mod demo;

/// `adpulse up` options.
#[derive(clap::Args)]
pub struct Args {
    /// The data folder (created if missing).
    #[arg(long, env = "ADPULSE_DATA", default_value = "./adpulse-data")]
    pub data: PathBuf,
    /// Also send a gentle stream of demo events (about 50 a second)
    /// through the gateway, so live numbers move at once.
    #[arg(long)]
    pub demo: bool,
}

/// What the first start created, kept in `welcome.json` (readable by the
/// owner only: it holds the admin's password and the ingest key).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Welcome {
    /// The demo tenant.
    pub tenant: uuid::Uuid,
    /// Its campaign.
    pub campaign: uuid::Uuid,
    /// An ingest key of the tenant (the bearer secret).
    pub ingest_key: String,
    /// The tenant's admin.
    pub admin_email: String,
    /// Their password.
    pub admin_password: String,
    /// The API's token signing key.
    pub jwt_secret: String,
}

const WELCOME: &str = "welcome.json";
const LOCK: &str = "adpulse.lock";
const ADMIN_EMAIL: &str = "admin@demo.example";

/// Runs until SIGTERM or Ctrl-C, then stops the gateway (finishing its
/// requests and syncing the log), the worker (flushing what it holds) and
/// the API, in that order.
pub async fn run(mut config: Config, args: Args) -> anyhow::Result<()> {
    let data = args.data;
    std::fs::create_dir_all(&data)
        .with_context(|| format!("creating the data folder {}", data.display()))?;
    let _lock = lock(&data)?;
    let adapters = Embedded::open(&data).await?;
    let welcome = bootstrap(&*adapters.store, &data).await?;
    embed(&mut config, &data, &welcome);

    let gateway_listener = bind(&config.gateway.listen, "gateway").await?;
    let api_listener = bind(&config.api.listen, "api").await?;
    let worker_listener = bind(&config.worker.listen, "worker").await?;
    let alerter_listener = bind(&config.alerts.listen, "alerter").await?;
    let gateway_addr = gateway_listener.local_addr()?;
    let api_addr = api_listener.local_addr()?;
    let switches = crate::switches::follow(
        Arc::clone(&adapters.store) as Arc<dyn adpulse_domain::ports::Switches>,
        std::time::Duration::from_millis(config.ops.switch_poll_ms),
    )
    .await;
    let (gateway, worker, alerter, state) = adapters.compose(&config, &data, &switches)?;
    let running = Running::start(
        &config,
        (gateway, gateway_listener),
        (worker, worker_listener),
        (alerter, alerter_listener),
        (state, api_listener),
    );

    let retention = tokio::spawn(prune_unconsumed(adapters.log.clone()));
    print_welcome(&welcome, &data, gateway_addr, api_addr);
    let demo = args.demo.then(|| {
        tokio::spawn(demo::run(
            gateway_addr,
            welcome.ingest_key.clone(),
            welcome.campaign,
        ))
    });

    crate::shutdown_signal().await;
    retention.abort();
    if let Some(demo) = demo {
        demo.abort();
    }
    let stopped = running.stop().await;
    adapters.store.close().await;
    stopped?;
    tracing::info!("stopped");
    Ok(())
}

/// The embedded adapters, all in the data folder (and memory).
struct Embedded {
    store: Arc<dyn Store>,
    archive: Arc<LiteArchive>,
    log: LocalLog,
    live: Arc<MemoryLive>,
}

impl Embedded {
    async fn open(data: &Path) -> anyhow::Result<Self> {
        let lite = Lite::open(data)
            .await
            .context("opening the embedded database")?;
        let archive = LiteArchive::open(data)
            .await
            .context("opening the embedded raw-event archive")?;
        let log = LocalLog::open(&LocalLogConfig::new(data.join("log")))
            .context("opening the embedded event log")?;
        Ok(Self {
            store: Arc::new(lite),
            archive: Arc::new(archive),
            log,
            live: Arc::new(MemoryLive::new()),
        })
    }

    /// The gateway, a worker and the API on these adapters.
    fn compose(
        &self,
        config: &Config,
        data: &Path,
        switches: &adpulse_domain::switch::Switchboard,
    ) -> anyhow::Result<(Gateway, Worker, Alerter, adpulse_api::AppState)> {
        let events: Arc<dyn EventLog> = Arc::new(self.log.clone());
        let capping = Capping::from_config(&config.capping, None).map_err(anyhow::Error::msg)?;
        let gateway = Gateway::new(
            config.gateway.clone(),
            config.limits.limits(),
            Arc::clone(&events),
            self.store.clone(),
        )
        .map_err(anyhow::Error::msg)?
        .with_directory_breaker(crate::open::breaker(
            config,
            config.ops.directory_timeout_ms,
        ))
        .with_capping(capping)
        .with_switches(switches.clone());
        let source = LocalSource::new(&self.log, data.join("log"), &config.worker.group_id)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let sinks = Sinks {
            db: self.store.clone(),
            archive: self.archive.clone(),
            live: self.live.clone(),
            links: None,
            log: events,
        };
        let worker =
            Worker::new(config.clone(), Box::new(source), sinks).with_switches(switches.clone());
        let results = LocalSource::of(
            &self.log,
            Stream::CampaignMetrics,
            data.join("log"),
            &config.alerts.group_id,
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        let alerter = Alerter::new(
            config.alerts.clone(),
            &config.kafka.metrics_topic,
            Box::new(results),
            self.store.clone(),
        )?;
        let state = adpulse_api::AppState::new(&config.api, self.store.clone())?
            .with_live(self.live.clone())
            .with_archive(self.archive.clone())
            .with_alerts(config.alerts.clone())
            .with_ops(
                switches.clone(),
                config.ops.token.as_ref().map(|t| t.expose().as_str()),
            );
        Ok((gateway, worker, alerter, state))
    }
}

/// The three services running, each with the switch that stops it.
struct Running {
    gateway: Task<std::io::Result<()>>,
    worker: Task<Result<(), adpulse_worker::WorkerError>>,
    alerter: Task<Result<(), adpulse_alerter::AlerterError>>,
    api: Task<Result<(), adpulse_api::ApiStartError>>,
}

/// A spawned service and the sender that tells it to stop.
type Task<T> = (oneshot::Sender<()>, tokio::task::JoinHandle<T>);

impl Running {
    fn start(
        config: &Config,
        (gateway, gateway_listener): (Gateway, TcpListener),
        (worker, worker_listener): (Worker, TcpListener),
        (alerter, alerter_listener): (Alerter, TcpListener),
        (state, api_listener): (adpulse_api::AppState, TcpListener),
    ) -> Self {
        let (alerter_stop, alerter_stopped) = oneshot::channel::<()>();
        let (gateway_stop, gateway_stopped) = oneshot::channel::<()>();
        let (worker_stop, worker_stopped) = oneshot::channel::<()>();
        let (api_stop, api_stopped) = oneshot::channel::<()>();
        let http = config.http;
        let gateway_task = tokio::spawn(adpulse_gateway::serve(
            gateway,
            gateway_listener,
            http,
            async {
                let _ = gateway_stopped.await;
            },
        ));
        let worker_task = tokio::spawn(adpulse_worker::serve(worker, worker_listener, async {
            let _ = worker_stopped.await;
        }));
        let alerter_task = tokio::spawn(adpulse_alerter::serve(
            alerter,
            alerter_listener,
            http,
            async {
                let _ = alerter_stopped.await;
            },
        ));
        let api_cfg = config.api.clone();
        let api_task = tokio::spawn(async move {
            adpulse_api::serve(&api_cfg, state, api_listener, http, async {
                let _ = api_stopped.await;
            })
            .await
        });
        Self {
            gateway: (gateway_stop, gateway_task),
            worker: (worker_stop, worker_task),
            alerter: (alerter_stop, alerter_task),
            api: (api_stop, api_task),
        }
    }

    /// Stops the gateway first (no new events), then the worker (it
    /// flushes what it holds), then the alerter (it commits what it
    /// evaluated and finishes the deliveries in flight), then the API;
    /// each waits for the one before.
    async fn stop(self) -> anyhow::Result<()> {
        let _ = self.gateway.0.send(());
        let gateway = self.gateway.1.await;
        let _ = self.worker.0.send(());
        let worker = self.worker.1.await;
        let _ = self.alerter.0.send(());
        let alerter = self.alerter.1.await;
        let _ = self.api.0.send(());
        let api = self.api.1.await;
        gateway?.context("gateway")?;
        worker?.context("stream worker")?;
        alerter?.context("alerter")?;
        api?.context("api")?;
        Ok(())
    }
}

/// How long the stream nobody in the process reads (rejected events) is
/// kept, as Kafka's default retention keeps it.
const UNCONSUMED_RETENTION: std::time::Duration = std::time::Duration::from_secs(7 * 86_400);

/// Hourly, deletes segments of the unconsumed stream past its retention
/// (the events stream's consumed segments go as the worker moves on, the
/// window results' as the alerter does).
async fn prune_unconsumed(log: LocalLog) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(3_600));
    loop {
        tick.tick().await;
        for stream in [Stream::Rejected] {
            let log = log.clone();
            let done = tokio::task::spawn_blocking(move || {
                log.delete_older_than(stream, UNCONSUMED_RETENTION)
            })
            .await;
            match done {
                Ok(Ok(0)) => {}
                Ok(Ok(n)) => {
                    tracing::info!(?stream, segments = n, "event log: old segments deleted")
                }
                Ok(Err(e)) => {
                    tracing::warn!(?stream, error = %e, "event log: old segments not deleted")
                }
                Err(e) => tracing::warn!(error = %e, "event log pruning stopped"),
            }
        }
    }
}

/// Takes the folder's lock, held for the process's life (the OS drops it
/// when the process dies, however it dies).
fn lock(data: &Path) -> anyhow::Result<File> {
    let file = File::create(data.join(LOCK))
        .with_context(|| format!("creating {}", data.join(LOCK).display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => anyhow::bail!(
            "another adpulse is running on {} (it holds {LOCK}); stop it or pass --data",
            data.display()
        ),
        Err(std::fs::TryLockError::Error(e)) => Err(e).context("locking the data folder"),
    }
}

/// The worker's batch size in embedded mode, unless configured: every
/// partition's commit goes through the one SQLite writer, so fewer, larger
/// commits carry more events (20,000-event batches sustained 59k events/s
/// end to end where 5,000 sustained 42k; docs/benchmarks.md). A partition
/// still flushes after `max_batch_wait_ms` whatever its size.
const EMBEDDED_BATCH_EVENTS: usize = 20_000;

/// The configuration as embedded mode runs it: capping in process (no
/// Redis), creatives in the data folder unless configured elsewhere, the
/// signing key from `welcome.json` unless configured, larger worker
/// batches unless configured.
fn embed(config: &mut Config, data: &Path, welcome: &Welcome) {
    if config.worker.max_batch_events == adpulse_config::WorkerConfig::default().max_batch_events {
        config.worker.max_batch_events = EMBEDDED_BATCH_EVENTS;
    }
    if config.capping.backend == CappingBackend::Redis {
        config.capping.backend = CappingBackend::Memory;
    }
    if config.api.asset_store == adpulse_config::ApiConfig::default().asset_store {
        config.api.asset_store = data.join("assets").display().to_string();
    }
    if config.api.jwt_secret.is_none() {
        config.api.jwt_secret = Some(Secret::new(welcome.jwt_secret.clone()));
    }
    // One process on one host: no load balancer to notice readiness
    // failing, so Ctrl-C stops at once unless draining is asked for.
    if config.http.drain_ms == adpulse_config::HttpConfig::default().drain_ms {
        config.http.drain_ms = 0;
    }
}

async fn bind(addr: &str, what: &str) -> anyhow::Result<TcpListener> {
    // The alerter's settings are the `[alerts]` section.
    let section = if what == "alerter" { "alerts" } else { what };
    TcpListener::bind(addr).await.with_context(|| {
        format!(
            "binding the {what}'s address {addr} (set ADPULSE__{}__LISTEN to move it)",
            section.to_uppercase()
        )
    })
}

/// Reads `welcome.json`, or creates the demo tenant, campaign, admin and
/// key and writes it (atomically: a crash leaves no half-written file).
async fn bootstrap(store: &dyn Store, data: &Path) -> anyhow::Result<Welcome> {
    let path = data.join(WELCOME);
    if let Ok(bytes) = std::fs::read(&path) {
        return serde_json::from_slice(&bytes)
            .with_context(|| format!("reading {} (delete it to start over)", path.display()));
    }
    let tenant: TenantId = store.create_tenant("Demo tenant").await?;
    let campaign = store.create_campaign(tenant, "Demo campaign", None).await?;
    let admin_password = random_token(18)?;
    let hash = adpulse_api::auth::hash_password(admin_password.clone())
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    store
        .create_user(tenant, ADMIN_EMAIL, &hash, Role::Admin)
        .await?;
    let mut random = [0u8; 32];
    getrandom::fill(&mut random).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    let key = store.create_ingest_key(tenant, "demo", random).await?;
    let welcome = Welcome {
        tenant: *tenant.as_uuid(),
        campaign: *campaign.as_uuid(),
        ingest_key: key.secret,
        admin_email: ADMIN_EMAIL.to_owned(),
        admin_password,
        jwt_secret: random_token(48)?,
    };
    let tmp = data.join(format!("{WELCOME}.tmp"));
    std::fs::write(&tmp, serde_json::to_vec_pretty(&welcome)?)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))?;
    }
    std::fs::rename(&tmp, &path)?;
    Ok(welcome)
}

/// `bytes` random bytes as URL-safe text.
fn random_token(bytes: usize) -> anyhow::Result<String> {
    let mut b = vec![0u8; bytes];
    getrandom::fill(&mut b).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

fn print_welcome(
    w: &Welcome,
    data: &Path,
    gateway: std::net::SocketAddr,
    api: std::net::SocketAddr,
) {
    let data = std::fs::canonicalize(data).unwrap_or_else(|_| data.to_owned());
    eprintln!(
        r#"
adpulse is up: gateway, stream worker and API in this process, data in {data}

  console    http://{api}/   (log in as the admin below){console}
  ingest     http://{gateway}/v1/events   (batches: /v1/events/batch)
  API        http://{api}/api/v1
  API docs   http://{api}/api/v1/docs
  metrics    http://{api}/metrics

Demo tenant {tenant}, campaign {campaign}
Admin {email}, password {password}  (both kept in {data}/welcome.json)

Send an event:

  curl -s http://{gateway}/v1/events -H 'authorization: Bearer {key}' \
    -H 'content-type: application/json' -d '{{"event_id":"'$(cat /proc/sys/kernel/random/uuid)'",
    "type":"impression","campaign_id":"{campaign}","ad_id":"creative-42","channel":"display",
    "occurred_at":"'$(date -u +%Y-%m-%dT%H:%M:%SZ)'","cost_micros":1250}}'

See it in the realtime report:

  token=$(curl -s http://{api}/api/v1/auth/login -H 'content-type: application/json' \
    -d '{{"email":"{email}","password":"{password}"}}' | sed 's/.*"access_token":"\([^"]*\)".*/\1/')
  curl -s http://{api}/api/v1/campaigns/{campaign}/realtime -H "authorization: Bearer $token"

Ctrl-C stops it; `adpulse up` again resumes from the same folder.
"#,
        data = data.display(),
        console = if adpulse_api::console_built() {
            ""
        } else {
            "\n             (not in this build: scripts/web, then rebuild)"
        },
        tenant = w.tenant,
        campaign = w.campaign,
        email = w.admin_email,
        password = w.admin_password,
        key = w.ingest_key,
    );
}
