//! The whole platform as real processes of the built `adpulse` binary, for
//! end-to-end tests that must hold in both ways of running it:
//!
//! - embedded: one `adpulse up` on a fresh data folder, on free loopback
//!   ports;
//! - distributed: `adpulse migrate`, then `adpulse gateway`, `worker` and
//!   `api` on the local stack, with a Postgres schema, Kafka topics, a CQL
//!   keyspace, a Redis prefix and a consumer group of their own (dropped
//!   again when the platform is).
//!
//! Tenants, campaigns, keys and users are made with `adpulse admin`, as an
//! operator would; everything after that goes over HTTP. The children's
//! output goes to files in the platform's temporary folder, and their tails
//! are printed when a test fails (the folder is kept then).

#![allow(dead_code, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{Read as _, Seek as _, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use adpulse_testkit::{Server, unique_name};
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;

use super::http::{Http, Reply};

/// Event partitions in both modes (the embedded log's default, and the
/// distributed platform's topics).
pub const PARTITIONS: i32 = 4;

/// The API's token signing key in every mode.
pub const JWT_SECRET: &str = "e2e-signing-key-e2e-signing-key-0123456789";
/// The password of every tenant's admin.
pub const PASSWORD: &str = "an end-to-end password";

/// How the platform runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `adpulse up`: one process, embedded backends.
    Embedded,
    /// `adpulse gateway`, `worker` and `api` on the local stack.
    Distributed,
}

/// The listen ports of the three roles.
#[derive(Clone, Copy, Debug)]
struct Ports {
    gateway: u16,
    api: u16,
    worker: u16,
}

impl Ports {
    /// Three ports nothing listens on now (bound on port 0 together, so
    /// they differ, then released).
    fn free() -> Self {
        let listeners: Vec<std::net::TcpListener> = (0..3)
            .map(|_| std::net::TcpListener::bind("127.0.0.1:0").expect("a free port"))
            .collect();
        let port = |i: usize| listeners[i].local_addr().expect("its address").port();
        Self {
            gateway: port(0),
            api: port(1),
            worker: port(2),
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

/// A tenant made through `adpulse admin`, and its admin's access token.
#[derive(Clone, Debug)]
pub struct Tenant {
    /// The tenant's id.
    pub id: String,
    /// Its campaigns, in creation order.
    pub campaigns: Vec<String>,
    /// An ingest key (the bearer secret).
    pub key: String,
    /// The admin's login.
    pub email: String,
    /// The admin's access token.
    pub token: String,
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
        ];
        let env = env.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
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
        for role in ["gateway", "worker", "api"] {
            p.spawn(role, &[role]);
        }
        p.wait_ready(Duration::from_secs(120)).await;
        p
    }

    fn new(mode: Mode, mut env: Vec<(String, String)>, owned: Option<Owned>) -> Self {
        let dir = std::env::temp_dir().join(unique_name("e2e"));
        std::fs::create_dir_all(&dir).expect("temp folder");
        env.extend(
            [
                ("ADPULSE__API__JWT_SECRET", JWT_SECRET),
                ("ADPULSE__TELEMETRY__LOG_FILTER", "warn"),
                // The tests poll several reports at once.
                ("ADPULSE__API__REQUESTS_PER_USER_PER_SECOND", "10000"),
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
    async fn admin(&self, args: &[&str], password: Option<&str>) -> String {
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
        self.starts += 1;
        let log = self.dir.join(format!("{name}-{}.log", self.starts));
        let out = File::create(&log).expect("log file");
        let err = out.try_clone().expect("log file");
        let child = self
            .command()
            .args(args)
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
    }

    async fn wait_ready(&mut self, within: Duration) {
        if let Err(why) = self.try_ready(within).await {
            panic!("the platform did not get ready: {why}\n{}", self.logs());
        }
    }

    /// Waits until the gateway, the API and the worker answer
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
        self.start_up().await;
    }

    /// A tenant with `campaigns` campaigns, an ingest key and an admin, all
    /// made with `adpulse admin`, and the admin's access token from
    /// `POST /api/v1/auth/login`.
    pub async fn tenant(&self, name: &str, campaigns: usize) -> Tenant {
        let id = self.admin(&["create-tenant", "--name", name], None).await;
        assert!(id.parse::<uuid::Uuid>().is_ok(), "a tenant id: {id}");
        let mut ids = Vec::new();
        for i in 0..campaigns {
            let c = self
                .admin(
                    &[
                        "create-campaign",
                        "--tenant",
                        &id,
                        "--name",
                        &format!("{name} campaign {i}"),
                    ],
                    None,
                )
                .await;
            assert!(c.parse::<uuid::Uuid>().is_ok(), "a campaign id: {c}");
            ids.push(c);
        }
        let out = self
            .admin(&["create-key", "--tenant", &id, "--name", "e2e"], None)
            .await;
        let key = out
            .lines()
            .find_map(|l| l.strip_prefix("secret"))
            .map(|s| s.trim().to_owned())
            .unwrap_or_else(|| panic!("create-key prints the secret: {out}"));
        let email = format!("{}@{}.example", unique_name("admin"), unique_name("t"));
        let user = self
            .admin(
                &[
                    "create-user",
                    "--tenant",
                    &id,
                    "--email",
                    &email,
                    "--role",
                    "admin",
                ],
                Some(PASSWORD),
            )
            .await;
        assert!(user.parse::<uuid::Uuid>().is_ok(), "a user id: {user}");
        let token = self.login(&email, PASSWORD).await;
        Tenant {
            id,
            campaigns: ids,
            key,
            email,
            token,
        }
    }

    /// A new campaign of `tenant` (made with `adpulse admin create-campaign
    /// --id`) whose events share a partition with `campaign`'s: the
    /// neighbour a hostile sender could reach through a shared batch,
    /// dedup set or commit.
    pub async fn campaign_beside(&self, tenant: &Tenant, campaign: &str) -> String {
        let target = adpulse_domain::partition::partition_for(campaign.as_bytes(), PARTITIONS);
        let id = loop {
            let id = uuid::Uuid::now_v7().to_string();
            if adpulse_domain::partition::partition_for(id.as_bytes(), PARTITIONS) == target {
                break id;
            }
        };
        let made = self
            .admin(
                &[
                    "create-campaign",
                    "--tenant",
                    &tenant.id,
                    "--name",
                    "neighbour",
                    "--id",
                    &id,
                ],
                None,
            )
            .await;
        assert_eq!(made, id, "the campaign has the id asked for");
        id
    }

    /// An access token for `email`.
    pub async fn login(&self, email: &str, password: &str) -> String {
        let r = self
            .api
            .send(
                "POST",
                "/api/v1/auth/login",
                &[("content-type", "application/json")],
                json!({"email": email, "password": password}).to_string(),
            )
            .await;
        assert_eq!(r.status, 200, "login: {}", String::from_utf8_lossy(&r.body));
        r.json()["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }

    /// `GET path` on the API as the holder of `token`.
    pub async fn get(&self, token: &str, path: &str) -> Reply {
        let auth = format!("Bearer {token}");
        self.api
            .send("GET", path, &[("authorization", &auth)], "")
            .await
    }

    /// `POST path` on the gateway with ingest key `key`.
    pub async fn ingest(&self, key: &str, path: &str, content_type: &str, body: String) -> Reply {
        let auth = format!("Bearer {key}");
        self.gateway
            .send(
                "POST",
                path,
                &[("authorization", &auth), ("content-type", content_type)],
                body,
            )
            .await
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

/// Impressions, clicks, conversions, spend and revenue (micros), as the
/// API prints them.
pub type Counts = [i64; 5];

/// [`Counts`] and unique users.
pub type Row = [i64; 6];

/// A day report by (period, channel), and its totals.
pub type DayReport = (BTreeMap<(String, String), Row>, Row);

fn counts_of(m: &serde_json::Value) -> Counts {
    let n = |k: &str| {
        m[k].as_i64()
            .unwrap_or_else(|| panic!("{k} is a number in {m}"))
    };
    [
        n("impressions"),
        n("clicks"),
        n("conversions"),
        n("spend_micros"),
        n("revenue_micros"),
    ]
}

fn row_of(m: &serde_json::Value) -> Row {
    let [a, b, c, d, e] = counts_of(m);
    [
        a,
        b,
        c,
        d,
        e,
        m["unique_users"].as_i64().expect("unique_users"),
    ]
}

impl Platform {
    /// A campaign's live totals.
    pub async fn realtime(&self, token: &str, campaign: &str) -> Counts {
        let r = self
            .get(token, &format!("/api/v1/campaigns/{campaign}/realtime"))
            .await;
        assert_eq!(
            r.status,
            200,
            "realtime: {}",
            String::from_utf8_lossy(&r.body)
        );
        counts_of(&r.json()["totals"])
    }

    /// A campaign's day report by channel over `[start, end]`.
    pub async fn day_report(
        &self,
        token: &str,
        campaign: &str,
        start: NaiveDate,
        end: NaiveDate,
    ) -> DayReport {
        let r = self
            .get(
                token,
                &format!(
                    "/api/v1/campaigns/{campaign}/reports?start_date={start}&end_date={end}&granularity=day&breakdown=channel"
                ),
            )
            .await;
        assert_eq!(
            r.status,
            200,
            "report: {}",
            String::from_utf8_lossy(&r.body)
        );
        let v = r.json();
        let rows = v["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .map(|row| {
                let key = (
                    row["period"].as_str().expect("period").to_owned(),
                    row["channel"].as_str().expect("channel").to_owned(),
                );
                (key, row_of(row))
            })
            .collect();
        (rows, row_of(&v["totals"]))
    }

    /// The tenant's ranking for `query` (after `?`): campaign ids and
    /// their rows, best first.
    pub async fn top(&self, token: &str, query: &str) -> Vec<(String, Row)> {
        let r = self
            .get(token, &format!("/api/v1/reports/campaigns?{query}"))
            .await;
        assert_eq!(r.status, 200, "top: {}", String::from_utf8_lossy(&r.body));
        r.json()["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .map(|row| {
                (
                    row["campaign_id"].as_str().expect("id").to_owned(),
                    row_of(row),
                )
            })
            .collect()
    }

    /// Every raw event of a campaign on a UTC day, paging `limit` at a
    /// time: what the events are (as [`raw_key`] of each), in the order
    /// listed; fails if the listing is not newest first.
    pub async fn raw_events(
        &self,
        token: &str,
        campaign: &str,
        date: NaiveDate,
        limit: usize,
    ) -> Vec<String> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        let mut last: Option<String> = None;
        for _page in 0..10_000 {
            let mut path = format!("/api/v1/campaigns/{campaign}/events?date={date}&limit={limit}");
            if let Some(c) = &cursor {
                path.push_str(&format!("&cursor={c}"));
            }
            let r = self.get(token, &path).await;
            assert_eq!(
                r.status,
                200,
                "events: {}",
                String::from_utf8_lossy(&r.body)
            );
            let v = r.json();
            let events = v["events"].as_array().expect("events");
            assert!(events.len() <= limit, "a page holds at most {limit}");
            for e in events {
                let at = e["occurred_at"].as_str().expect("occurred_at").to_owned();
                if let Some(prev) = &last {
                    assert!(at <= *prev, "newest first: {at} after {prev}");
                }
                last = Some(at);
                out.push(raw_key(e));
            }
            match v["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => return out,
            }
        }
        panic!("the listing of {campaign} on {date} does not end");
    }
}

/// What identifies an event and what was said about it, in one line:
/// `event_id type channel ad_id occurred_at device_id cost revenue`. The
/// same for an event as sent and as the raw listing shows it.
pub fn raw_key(e: &serde_json::Value) -> String {
    format!(
        "{} {} {} {} {} {} {} {}",
        e["event_id"].as_str().unwrap_or("?"),
        e["type"].as_str().unwrap_or("?"),
        e["channel"].as_str().unwrap_or("?"),
        e["ad_id"].as_str().unwrap_or("?"),
        e["occurred_at"].as_str().unwrap_or("?"),
        e["user"]["device_id"].as_str().unwrap_or("-"),
        e["cost_micros"].as_i64().unwrap_or(0),
        e["revenue_micros"].as_i64().unwrap_or(0),
    )
}

/// Reads with `read` until it gives `want` or `within` passes, then asserts
/// equality (so a failure shows the last reading next to `want`). `check`
/// sees every reading (to assert what must hold all along, such as never
/// counting more than was sent).
pub async fn until<T, F, Fut>(
    what: &str,
    within: Duration,
    want: &T,
    mut read: F,
    check: impl Fn(&T),
) -> T
where
    T: PartialEq + std::fmt::Debug,
    F: FnMut() -> Fut,
    Fut: Future<Output = T>,
{
    let deadline = Instant::now() + within;
    loop {
        let have = read().await;
        check(&have);
        if have == *want || Instant::now() > deadline {
            assert_eq!(have, *want, "{what} (after waiting up to {within:?})");
            return have;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The distinct events sent (by id), and what the API must say about them.
#[derive(Default, Clone)]
pub struct Reference {
    /// Every distinct event, by event id.
    pub events: BTreeMap<String, serde_json::Value>,
}

impl Reference {
    /// Records events as sent (a resend changes nothing).
    pub fn add<'a>(&mut self, events: impl IntoIterator<Item = &'a serde_json::Value>) {
        for e in events {
            let id = e["event_id"].as_str().expect("event_id").to_owned();
            if let Some(old) = self.events.insert(id, e.clone()) {
                assert_eq!(old, *e, "an event id is resent with the same event");
            }
        }
    }

    fn of<'a>(&'a self, campaign: &'a str) -> impl Iterator<Item = &'a serde_json::Value> + 'a {
        self.events
            .values()
            .filter(move |e| e["campaign_id"] == campaign)
    }

    /// A campaign's lifetime totals.
    pub fn realtime(&self, campaign: &str) -> Counts {
        let mut c = [0; 5];
        for e in self.of(campaign) {
            add(&mut c, e);
        }
        c
    }

    /// A campaign's day report by channel (UTC days).
    pub fn day_report(&self, campaign: &str) -> DayReport {
        let mut rows: BTreeMap<(String, String), (Counts, BTreeSet<String>)> = BTreeMap::new();
        let mut all: (Counts, BTreeSet<String>) = Default::default();
        for e in self.of(campaign) {
            let day = e["occurred_at"].as_str().expect("occurred_at")[..10].to_owned();
            let channel = e["channel"].as_str().expect("channel").to_owned();
            for (counts, users) in [rows.entry((day, channel)).or_default(), &mut all] {
                add(counts, e);
                if let Some(u) = e["user"]["device_id"].as_str() {
                    users.insert(u.to_owned());
                }
            }
        }
        let row = |(c, u): &(Counts, BTreeSet<String>)| -> Row {
            [c[0], c[1], c[2], c[3], c[4], u.len() as i64]
        };
        (
            rows.iter().map(|(k, v)| (k.clone(), row(v))).collect(),
            row(&all),
        )
    }

    /// A campaign's raw events on a UTC day, as [`raw_key`]s, sorted.
    pub fn raw_events(&self, campaign: &str, date: NaiveDate) -> Vec<String> {
        let day = date.to_string();
        let mut out: Vec<String> = self
            .of(campaign)
            .filter(|e| {
                e["occurred_at"]
                    .as_str()
                    .is_some_and(|t| t.starts_with(&day))
            })
            .map(raw_key)
            .collect();
        out.sort();
        out
    }
}

fn add(c: &mut Counts, e: &serde_json::Value) {
    match e["type"].as_str().expect("type") {
        "impression" => c[0] += 1,
        "click" => c[1] += 1,
        "conversion" => c[2] += 1,
        other => panic!("not a type: {other}"),
    }
    c[3] += e["cost_micros"].as_i64().unwrap_or(0);
    c[4] += e["revenue_micros"].as_i64().unwrap_or(0);
}

/// A valid event of `campaign` at a random time on `day` (UTC), random
/// otherwise (type, channel, creative, one of `users` device ids, cost or
/// revenue).
pub fn event(
    rng: &mut fastrand::Rng,
    campaign: &str,
    day: NaiveDate,
    users: u32,
) -> serde_json::Value {
    let at = at_on(rng, day);
    let kind = [
        "impression",
        "impression",
        "impression",
        "click",
        "conversion",
    ][rng.usize(..5)];
    let channel = ["display", "social", "search", "video"][rng.usize(..4)];
    let country = ["GB", "US", "DE"][rng.usize(..3)];
    json!({
        "event_id": uuid::Uuid::now_v7().to_string(),
        "type": kind,
        "campaign_id": campaign,
        "ad_id": format!("creative-{}", rng.u32(1..4)),
        "channel": channel,
        "occurred_at": at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "user": { "device_id": format!("d-{}", rng.u32(0..users)) },
        "cost_micros": if kind == "conversion" { 0 } else { rng.i64(100..5_000) },
        "revenue_micros": if kind == "conversion" { rng.i64(1_000_000..9_000_000) } else { 0 },
        "attributes": { "country": country },
    })
}

/// A random time on `day` (UTC), clear of its edges.
fn at_on(rng: &mut fastrand::Rng, day: NaiveDate) -> DateTime<Utc> {
    let midnight = day.and_hms_opt(0, 0, 0).expect("midnight").and_utc();
    midnight + chrono::Duration::milliseconds(rng.i64(3_600_000..23 * 3_600_000))
}
