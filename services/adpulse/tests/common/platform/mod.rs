//! The whole platform as real processes of the built `adpulse` binary, for
//! end-to-end tests that must hold in both ways of running it:
//!
//! - embedded: one `adpulse up` on a fresh data folder, on free loopback
//!   ports;
//! - distributed: `adpulse migrate`, then `adpulse gateway`, `worker`,
//!   `api` and `alerter` on the local stack, with a Postgres schema, Kafka topics, a CQL
//!   keyspace, a Redis prefix and a consumer group of their own (dropped
//!   again when the platform is).
//!
//! Tenants, campaigns, keys and users are made with `adpulse admin`, as an
//! operator would; everything after that goes over HTTP. The children's
//! output goes to files in the platform's temporary folder, and their tails
//! are printed when a test fails (the folder is kept then).

#![allow(dead_code, clippy::panic)]

use std::fs::File;
use std::io::{Read as _, Seek as _, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use adpulse_testkit::{Server, unique_name};
use serde_json::json;

use super::http::Http;

mod reads;
mod reference;
mod replicas;
mod tenants;

// Each test binary uses part of these.
#[allow(unused_imports)]
pub use reads::{Counts, DayReport, Row};
#[allow(unused_imports)]
pub use reference::{Reference, event, raw_key, until};
#[allow(unused_imports)]
pub use tenants::Tenant;

/// Event partitions in both modes (the embedded log's default, and the
/// distributed platform's topics).
pub const PARTITIONS: i32 = 4;

/// The API's token signing key in every mode.
pub const JWT_SECRET: &str = "e2e-signing-key-e2e-signing-key-0123456789";
/// The password of every tenant's admin.
pub const PASSWORD: &str = "an end-to-end password";
/// The operators' token (`ops.token`).
pub const OPS_TOKEN: &str = "e2e-operator-token-e2e-operator-token-0123";

/// How the platform runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `adpulse up`: one process, embedded backends.
    Embedded,
    /// `adpulse gateway`, `worker` and `api` on the local stack.
    Distributed,
}

/// The listen ports of the four roles.
#[derive(Clone, Copy, Debug)]
struct Ports {
    gateway: u16,
    api: u16,
    worker: u16,
    alerter: u16,
}

impl Ports {
    /// Four ports nothing listens on now (bound on port 0 together, so
    /// they differ, then released).
    fn free() -> Self {
        let listeners: Vec<std::net::TcpListener> = (0..4)
            .map(|_| std::net::TcpListener::bind("127.0.0.1:0").expect("a free port"))
            .collect();
        let port = |i: usize| listeners[i].local_addr().expect("its address").port();
        Self {
            gateway: port(0),
            api: port(1),
            worker: port(2),
            alerter: port(3),
        }
    }
}

/// A child process and the file its output goes to.
struct Proc {
    name: String,
    child: Child,
    log: PathBuf,
}

/// The stack names the distributed platform owns, for the cleanup.
struct Owned {
    postgres: String,
    schema: String,
    cql: String,
    keyspace: String,
    brokers: String,
    topics: [String; 3],
    redis: String,
    prefix: String,
}

/// A running platform and its base URLs.
pub struct Platform {
    /// How it runs.
    pub mode: Mode,
    /// Logs, and the data folder in embedded mode.
    dir: PathBuf,
    /// The configuration every child gets (`ADPULSE__…`).
    env: Vec<(String, String)>,
    ports: Ports,
    procs: Vec<Proc>,
    owned: Option<Owned>,
    /// Starts so far (numbers the log files).
    starts: usize,
    /// The gateway (`/v1/events`).
    pub gateway: Http,
    /// The API (`/api/v1`).
    pub api: Http,
    /// The worker's health and metrics.
    pub worker: Http,
    /// The alerter's health and metrics.
    pub alerter: Http,
}

impl Platform {
    /// `adpulse up` on a fresh data folder.
    pub async fn embedded() -> Self {
        let mut p = Self::new(Mode::Embedded, Vec::new(), None);
        std::fs::create_dir_all(p.data()).expect("data folder");
        p.start_up().await;
        p
    }

    /// Gateway, worker and API on the local stack, each in its own process.
    pub async fn distributed() -> Self {
        Self::distributed_with(&[]).await
    }

    /// [`Platform::distributed`] with `extra` settings (`ADPULSE__…`) over
    /// the platform's.
    pub async fn distributed_with(extra: &[(&str, &str)]) -> Self {
        let brokers = Server::Kafka.require();
        let cql = Server::Cql.require();
        let postgres = Server::Postgres.require();
        let redis = Server::Redis.require();
        let base = unique_name("e2e");
        let topics = [
            format!("{base}.events"),
            format!("{base}.rejected"),
            format!("{base}.metrics"),
        ];
        let owned = Owned {
            postgres,
            schema: base.clone(),
            cql,
            keyspace: base.clone(),
            brokers,
            topics,
            redis,
            prefix: base.clone(),
        };
        let env = vec![
            ("ADPULSE__KAFKA__BROKERS", owned.brokers.clone()),
            ("ADPULSE__KAFKA__EVENTS_TOPIC", owned.topics[0].clone()),
            ("ADPULSE__KAFKA__REJECTED_TOPIC", owned.topics[1].clone()),
            ("ADPULSE__KAFKA__METRICS_TOPIC", owned.topics[2].clone()),
            ("ADPULSE__KAFKA__PARTITIONS", PARTITIONS.to_string()),
            ("ADPULSE__KAFKA__CLIENT_ID", base.clone()),
            ("ADPULSE__POSTGRES__URL", owned.postgres.clone()),
            ("ADPULSE__POSTGRES__SCHEMA", owned.schema.clone()),
            ("ADPULSE__CQL__NODES", json!([owned.cql]).to_string()),
            ("ADPULSE__CQL__KEYSPACE", owned.keyspace.clone()),
            ("ADPULSE__REDIS__URL", owned.redis.clone()),
            ("ADPULSE__REDIS__KEY_PREFIX", owned.prefix.clone()),
            ("ADPULSE__WORKER__GROUP_ID", base.clone()),
            ("ADPULSE__ALERTS__GROUP_ID", format!("{base}.alerter")),
        ];
        let env = env
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .chain(
                extra
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
            )
            .collect();
        let mut p = Self::new(Mode::Distributed, env, Some(owned));
        let migrate = p.run(&["migrate"], None).await;
        if !migrate.status.success() {
            let why = String::from_utf8_lossy(&migrate.stderr).into_owned();
            // Which server failed is in the message; name the likeliest.
            if why.contains("cql") {
                Server::Cql.absent(&why);
            }
            Server::Postgres.absent(&why);
        }
        p.start_roles().await;
        p
    }

    /// Starts the four roles and waits until they are ready; when one of
    /// their ports was taken meanwhile (free ports are only free when
    /// picked: another test's connection may get one), moves to new ones.
    async fn start_roles(&mut self) {
        for _ in 0..3 {
            for role in ["gateway", "worker", "api", "alerter"] {
                self.spawn(role, &[role]);
            }
            match self.try_ready(Duration::from_secs(120)).await {
                Ok(()) => return,
                Err(why) if why.contains("binding") => {
                    self.kill();
                    self.move_ports();
                }
                Err(why) => panic!("the platform did not get ready: {why}\n{}", self.logs()),
            }
        }
        panic!("the platform could not bind its ports\n{}", self.logs());
    }

    fn new(mode: Mode, mut env: Vec<(String, String)>, owned: Option<Owned>) -> Self {
        let dir = std::env::temp_dir().join(unique_name("e2e"));
        std::fs::create_dir_all(&dir).expect("temp folder");
        env.extend(
            [
                ("ADPULSE__API__JWT_SECRET", JWT_SECRET),
                ("ADPULSE__OPS__TOKEN", OPS_TOKEN),
                ("ADPULSE__TELEMETRY__LOG_FILTER", "warn"),
                // The tests poll several reports at once.
                ("ADPULSE__API__REQUESTS_PER_USER_PER_SECOND", "10000"),
                // Webhook receivers run on loopback; retries and breakers
                // on a test's time scale; rule changes seen at once.
                ("ADPULSE__ALERTS__ALLOW_PRIVATE_DESTINATIONS", "true"),
                ("ADPULSE__ALERTS__RETRY_BASE_MS", "200"),
                ("ADPULSE__ALERTS__RETRY_MAX_MS", "800"),
                ("ADPULSE__ALERTS__MAX_ATTEMPTS", "4"),
                ("ADPULSE__ALERTS__REQUEST_TIMEOUT_MS", "1500"),
                ("ADPULSE__ALERTS__BREAKER_FAILURES", "3"),
                ("ADPULSE__ALERTS__BREAKER_OPEN_MS", "1000"),
                ("ADPULSE__ALERTS__CACHE_MS", "100"),
                ("ADPULSE__ALERTS__TICK_MS", "200"),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned())),
        );
        let ports = Ports::free();
        Self {
            mode,
            dir,
            env,
            ports,
            procs: Vec::new(),
            owned,
            starts: 0,
            gateway: Http::new(&format!("http://127.0.0.1:{}", ports.gateway)),
            api: Http::new(&format!("http://127.0.0.1:{}", ports.api)),
            worker: Http::new(&format!("http://127.0.0.1:{}", ports.worker)),
            alerter: Http::new(&format!("http://127.0.0.1:{}", ports.alerter)),
        }
    }

    /// The embedded data folder.
    pub fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// The `adpulse` command with this platform's configuration and none
    /// from the environment the tests run in.
    fn command(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_adpulse"));
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("ADPULSE") {
                c.env_remove(k);
            }
        }
        c.envs(self.env.iter().map(|(k, v)| (k, v)))
            .env("ADPULSE__GATEWAY__LISTEN", self.addr(self.ports.gateway))
            .env("ADPULSE__API__LISTEN", self.addr(self.ports.api))
            .env("ADPULSE__WORKER__LISTEN", self.addr(self.ports.worker))
            .env("ADPULSE__ALERTS__LISTEN", self.addr(self.ports.alerter))
            .stdin(Stdio::null());
        c
    }

    fn addr(&self, port: u16) -> String {
        format!("127.0.0.1:{port}")
    }

    /// Runs `adpulse ARGS` to completion (off the runtime's threads).
    async fn run(&self, args: &[&str], password: Option<&str>) -> std::process::Output {
        let mut c = self.command();
        c.args(args);
        if let Some(p) = password {
            c.env("ADPULSE_PASSWORD", p);
        }
        tokio::task::spawn_blocking(move || c.output().expect("run adpulse"))
            .await
            .expect("join")
    }

    /// `adpulse admin [--data DIR] ARGS`; its output (fails the test if it
    /// fails).
    pub async fn admin(&self, args: &[&str], password: Option<&str>) -> String {
        let data = self.data().display().to_string();
        let mut all = vec!["admin"];
        if self.mode == Mode::Embedded {
            all.extend(["--data", &data]);
        }
        all.extend(args);
        let out = self.run(&all, password).await;
        assert!(
            out.status.success(),
            "adpulse {} failed: {}",
            all.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// Starts `adpulse ARGS` in the background, its output into a file.
    fn spawn(&mut self, name: &str, args: &[&str]) {
        self.spawn_with(name, args, &[]);
    }

    /// [`Platform::spawn`] with `env` over the platform's configuration.
    fn spawn_with(&mut self, name: &str, args: &[&str], env: &[(&str, &str)]) {
        self.starts += 1;
        let log = self.dir.join(format!("{name}-{}.log", self.starts));
        let out = File::create(&log).expect("log file");
        let err = out.try_clone().expect("log file");
        let child = self
            .command()
            .args(args)
            .envs(env.iter().copied())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("spawn adpulse");
        self.procs.push(Proc {
            name: name.to_owned(),
            child,
            log,
        });
    }

    /// Starts `adpulse up` on the data folder and waits until it is ready;
    /// when its ports were taken meanwhile, moves to new ones.
    async fn start_up(&mut self) {
        let data = self.data().display().to_string();
        for _ in 0..3 {
            self.spawn("up", &["up", "--data", &data]);
            match self.try_ready(Duration::from_secs(60)).await {
                Ok(()) => return,
                Err(why) if why.contains("binding") => {
                    self.procs.clear();
                    self.move_ports();
                }
                Err(why) => panic!("adpulse up did not get ready: {why}\n{}", self.logs()),
            }
        }
        panic!("adpulse up could not bind its ports\n{}", self.logs());
    }

    fn move_ports(&mut self) {
        self.ports = Ports::free();
        self.gateway = Http::new(&format!("http://127.0.0.1:{}", self.ports.gateway));
        self.api = Http::new(&format!("http://127.0.0.1:{}", self.ports.api));
        self.worker = Http::new(&format!("http://127.0.0.1:{}", self.ports.worker));
        self.alerter = Http::new(&format!("http://127.0.0.1:{}", self.ports.alerter));
    }

    async fn wait_ready(&mut self, within: Duration) {
        if let Err(why) = self.try_ready(within).await {
            panic!("the platform did not get ready: {why}\n{}", self.logs());
        }
    }

    /// Waits until the gateway, the API, the worker and the alerter answer
    /// `/health/ready` with 200; an error when a child exits first (with
    /// its output) or `within` passes.
    async fn try_ready(&mut self, within: Duration) -> Result<(), String> {
        let deadline = Instant::now() + within;
        let mut last = String::new();
        loop {
            for p in &mut self.procs {
                if let Some(status) = p.child.try_wait().expect("try_wait") {
                    return Err(format!(
                        "{} exited ({status}) before it was ready:\n{}",
                        p.name,
                        tail(&p.log, 40)
                    ));
                }
            }
            let mut ready = true;
            for (what, http) in [
                ("gateway", &self.gateway),
                ("api", &self.api),
                ("worker", &self.worker),
                ("alerter", &self.alerter),
            ] {
                match http.try_send("GET", "/health/ready", &[], "").await {
                    Ok(r) if r.status == 200 => {}
                    Ok(r) => {
                        ready = false;
                        last = format!("{what}: {} {}", r.status, String::from_utf8_lossy(&r.body));
                    }
                    Err(e) => {
                        ready = false;
                        last = format!("{what}: {e}");
                    }
                }
            }
            if ready {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!("not ready in {within:?}; last: {last}"));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The process id of the (first) `adpulse up`.
    pub fn pid(&self) -> u32 {
        self.procs.first().expect("a running process").child.id()
    }

    /// SIGKILL to every child, waiting until each is gone.
    pub fn kill(&mut self) {
        for p in &mut self.procs {
            let _ = p.child.kill();
            let _ = p.child.wait();
        }
        self.procs.clear();
    }

    /// Starts `adpulse up` again on the same data folder (on the same
    /// ports when they are free), with fresh clients, and waits until it
    /// is ready.
    pub async fn restart(&mut self) {
        assert_eq!(self.mode, Mode::Embedded, "restart is for adpulse up");
        self.kill();
        // New clients: the old ones pool connections to the dead process.
        self.gateway = Http::new(&format!("http://127.0.0.1:{}", self.ports.gateway));
        self.api = Http::new(&format!("http://127.0.0.1:{}", self.ports.api));
        self.worker = Http::new(&format!("http://127.0.0.1:{}", self.ports.worker));
        self.alerter = Http::new(&format!("http://127.0.0.1:{}", self.ports.alerter));
        self.start_up().await;
    }

    /// SIGKILLs the alerter and starts it again: in embedded mode the
    /// whole `adpulse up` (the alerter is part of it), in the distributed
    /// platform only the `adpulse alerter` process. Waits until ready.
    pub async fn crash_alerter(&mut self) {
        if self.mode == Mode::Embedded {
            self.restart().await;
            return;
        }
        for p in self.procs.iter_mut().filter(|p| p.name == "alerter") {
            let _ = p.child.kill();
            let _ = p.child.wait();
        }
        self.procs.retain(|p| p.name != "alerter");
        self.alerter = Http::new(&format!("http://127.0.0.1:{}", self.ports.alerter));
        self.spawn("alerter", &["alerter"]);
        self.wait_ready(Duration::from_secs(60)).await;
    }

    /// The last lines of every child's output.
    pub fn logs(&self) -> String {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .map(|d| {
                d.filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "log"))
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        files
            .iter()
            .map(|f| format!("---- {} ----\n{}", f.display(), tail(f, 40)))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for Platform {
    fn drop(&mut self) {
        self.kill();
        let failed = std::thread::panicking();
        if failed {
            eprintln!(
                "{} platform output (kept in {}):\n{}",
                match self.mode {
                    Mode::Embedded => "embedded",
                    Mode::Distributed => "distributed",
                },
                self.dir.display(),
                self.logs()
            );
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
        if let Some(owned) = self.owned.take() {
            // Its own runtime on its own thread: drop may run inside a
            // test's runtime, which cannot be blocked on.
            let _ = std::thread::spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return;
                };
                rt.block_on(cleanup(owned));
            })
            .join();
        }
    }
}

/// Drops what a distributed platform made on the stack (best effort).
async fn cleanup(o: Owned) {
    use adpulse_config::{CqlConfig, KafkaConfig, PostgresConfig, RedisConfig, Secret};
    let kafka = KafkaConfig {
        brokers: o.brokers,
        ..KafkaConfig::default()
    };
    if let Ok(admin) = adpulse_kafka::Admin::new(&kafka) {
        for t in &o.topics {
            let _ = admin.delete_topic(t).await;
        }
    }
    let cql = CqlConfig {
        nodes: vec![o.cql],
        keyspace: o.keyspace,
        ..CqlConfig::default()
    };
    if let Ok(cql) = adpulse_cql::Cql::connect(&cql).await {
        let _ = cql.drop_keyspace().await;
    }
    let redis = RedisConfig {
        url: Secret::new(o.redis),
        key_prefix: o.prefix,
        ..RedisConfig::default()
    };
    if let Ok(redis) = adpulse_redis::Redis::connect(&redis).await {
        let _ = redis.delete_prefix().await;
    }
    let pg = PostgresConfig {
        url: Secret::new(o.postgres),
        schema: Some(o.schema),
        ..PostgresConfig::default()
    };
    if let Ok(db) = adpulse_postgres::Database::connect(&pg).await {
        let _ = db.drop_schema().await;
    }
}

/// The last `lines` lines of a file.
fn tail(path: &Path, lines: usize) -> String {
    let Ok(mut f) = File::open(path) else {
        return String::new();
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = f.seek(SeekFrom::Start(len.saturating_sub(16 * 1024)));
    let mut bytes = Vec::new();
    let _ = f.read_to_end(&mut bytes);
    let s = String::from_utf8_lossy(&bytes);
    let all: Vec<&str> = s.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
