//! One typed configuration for every adpulse service.
//!
//! Layers, later wins: built-in defaults, then a TOML file, then environment
//! variables named `ADPULSE__SECTION__KEY` (for example
//! `ADPULSE__KAFKA__BROKERS=10.0.0.5:9092`). Unknown keys in any layer are an
//! error that names the key, so a typo never silently falls back to a default.
//! The config is a plain value handed to whoever needs it; there is no global.

mod alerts;
mod check;
mod ops;
mod secret;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use adpulse_domain::Limits;
use figment::Figment;
use figment::providers::{Env, Format, Toml};
use serde::Deserialize;

pub use alerts::{AlertsConfig, SmtpRelay, SmtpTls};
pub use check::{Problem, Problems, Role};
pub use ops::OpsConfig;
pub use secret::Secret;

/// The prefix of every environment variable the config reads.
pub const ENV_PREFIX: &str = "ADPULSE__";

/// The whole configuration. Every section has working defaults for the local
/// stack (`deploy/local/stack up`).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// What an event may contain.
    pub limits: LimitsConfig,
    /// The event log.
    pub kafka: KafkaConfig,
    /// The raw-event archive (ScyllaDB or Cassandra).
    pub cql: CqlConfig,
    /// Campaigns, tenants, aggregates.
    pub postgres: PostgresConfig,
    /// Live counters.
    pub redis: RedisConfig,
    /// Logs, traces and metrics.
    pub telemetry: TelemetryConfig,
    /// The ingestion gateway.
    pub gateway: GatewayConfig,
    /// The stream worker.
    pub worker: WorkerConfig,
    /// The campaign and reporting API.
    pub api: ApiConfig,
    /// Frequency-capping decisions (served by the gateway).
    pub capping: CappingConfig,
    /// Alert rules and their notifications.
    pub alerts: AlertsConfig,
    /// Timeouts and the connection cap of every HTTP listener.
    pub http: HttpConfig,
    /// Kill switches.
    pub ops: OpsConfig,
}

/// A configuration that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(#[from] Box<figment::Error>);

impl Config {
    /// Reads defaults, then `file` if given, then the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::figment(file)
            .extract()
            .map_err(|e| ConfigError(Box::new(e)))
    }

    /// The layered sources, for callers that add their own.
    pub fn figment(file: Option<&Path>) -> Figment {
        let mut f = Figment::new();
        if let Some(path) = file {
            f = f.merge(Toml::file_exact(path));
        }
        f.merge(Env::prefixed(ENV_PREFIX).split("__"))
    }
}

/// Bounds on accepted events; see [`adpulse_domain::Limits`].
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Largest accepted event body, in bytes.
    pub max_event_bytes: usize,
    /// How far into the future `occurred_at` may be, in seconds.
    pub max_future_skew_secs: u64,
    /// How old an event may be, in days; also the raw-event retention.
    pub retention_days: u64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        let l = Limits::default();
        Self {
            max_event_bytes: l.max_event_bytes,
            max_future_skew_secs: l.max_future_skew.as_secs(),
            retention_days: l.retention.as_secs() / 86_400,
        }
    }
}

impl LimitsConfig {
    /// The domain's view of these settings.
    pub fn limits(&self) -> Limits {
        Limits {
            max_event_bytes: self.max_event_bytes,
            max_future_skew: Duration::from_secs(self.max_future_skew_secs),
            retention: Duration::from_secs(self.retention_days.saturating_mul(86_400)),
        }
    }
}

/// Kafka connection and topics.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KafkaConfig {
    /// Bootstrap servers, comma separated.
    pub brokers: String,
    /// Accepted events, keyed by campaign id.
    pub events_topic: String,
    /// Refused events with the reason, for ops.
    pub rejected_topic: String,
    /// Window results of the stream workers (per campaign and flush).
    pub metrics_topic: String,
    /// Partitions when adpulse creates the topics itself.
    pub partitions: i32,
    /// Replication factor when adpulse creates the topics itself.
    pub replication_factor: i32,
    /// Client id reported to the brokers.
    pub client_id: String,
    /// How long a produce may take end to end before it counts as failed.
    pub delivery_timeout_ms: u64,
    /// Timeout of one request to a broker.
    pub request_timeout_ms: u64,
    /// How long the producer waits to fill a batch.
    pub linger_ms: u64,
    /// Batch compression: none, gzip, snappy, lz4 or zstd.
    pub compression: String,
}

impl Default for KafkaConfig {
    fn default() -> Self {
        Self {
            brokers: "127.0.0.1:9092".into(),
            events_topic: "adpulse.events.v1".into(),
            rejected_topic: "adpulse.events.rejected.v1".into(),
            metrics_topic: "adpulse.campaign-metrics.v1".into(),
            partitions: 12,
            replication_factor: 1,
            client_id: "adpulse".into(),
            delivery_timeout_ms: 5_000,
            request_timeout_ms: 3_000,
            linger_ms: 1,
            compression: "lz4".into(),
        }
    }
}

/// The CQL cluster that keeps raw events.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CqlConfig {
    /// Contact points, `host:port`.
    pub nodes: Vec<String>,
    /// The keyspace; created by `adpulse migrate` when absent.
    pub keyspace: String,
    /// Replication factor used when the keyspace is created.
    pub replication_factor: u32,
    /// Timeout to establish a connection.
    pub connect_timeout_ms: u64,
    /// Timeout of one request.
    pub request_timeout_ms: u64,
}

impl Default for CqlConfig {
    fn default() -> Self {
        Self {
            nodes: vec!["127.0.0.1:9042".into()],
            keyspace: "adpulse".into(),
            replication_factor: 1,
            connect_timeout_ms: 5_000,
            request_timeout_ms: 5_000,
        }
    }
}

/// The Postgres database.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PostgresConfig {
    /// Connection URL; holds the password, so it is a secret.
    pub url: Secret<String>,
    /// A schema to keep adpulse's tables in (created if missing), first on
    /// the search path; none uses the database's default (`public`).
    pub schema: Option<String>,
    /// Pool size.
    pub max_connections: u32,
    /// How long to wait for a pooled connection.
    pub acquire_timeout_ms: u64,
    /// Server-side limit on one statement.
    pub statement_timeout_ms: u64,
    /// Server-side limit on one streamed read (CSV exports): it includes
    /// the time the client takes to read, so it is longer.
    pub export_timeout_ms: u64,
}

impl Default for PostgresConfig {
    fn default() -> Self {
        Self {
            url: Secret::new("postgres://adpulse:adpulse@127.0.0.1:5432/adpulse".into()),
            schema: None,
            max_connections: 10,
            acquire_timeout_ms: 5_000,
            statement_timeout_ms: 10_000,
            export_timeout_ms: 600_000,
        }
    }
}

/// The Redis server.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RedisConfig {
    /// Connection URL; may hold a password, so it is a secret.
    pub url: Secret<String>,
    /// Prepended to every key, so several deployments can share a server.
    pub key_prefix: String,
    /// Timeout of one command and of connecting.
    pub timeout_ms: u64,
    /// Whether `url` names a node of a Redis Cluster (the client then
    /// discovers the others and routes each key to its slot's node).
    pub cluster: bool,
}

impl Default for RedisConfig {
    fn default() -> Self {
        Self {
            url: Secret::new("redis://127.0.0.1:6379".into()),
            key_prefix: "adpulse".into(),
            timeout_ms: 1_000,
            cluster: false,
        }
    }
}

/// The campaign and reporting API (`adpulse api`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiConfig {
    /// Address to listen on.
    pub listen: String,
    /// HMAC key signing access tokens (HS256), at least 32 bytes; every
    /// replica needs the same one. Unset, the API refuses to start.
    pub jwt_secret: Option<Secret<String>>,
    /// Access-token lifetime.
    pub access_ttl_secs: u64,
    /// Refresh-token lifetime.
    pub refresh_ttl_secs: u64,
    /// Largest JSON request body, in bytes.
    pub max_body_bytes: usize,
    /// Failed logins allowed per account per minute.
    pub login_per_account_per_minute: u32,
    /// Logins allowed per client address per minute.
    pub login_per_ip_per_minute: u32,
    /// Requests per authenticated user per second.
    pub requests_per_user_per_second: u32,
    /// Origins allowed by CORS (exact matches); empty, none.
    pub cors_origins: Vec<String>,
    /// Where creatives are stored: a local folder (the default,
    /// `./adpulse-data/assets`) or `s3://bucket/prefix` for any
    /// S3-compatible store (credentials and endpoint from the usual
    /// `AWS_*` environment variables).
    pub asset_store: String,
    /// Largest creative upload, in bytes.
    pub max_asset_bytes: usize,
    /// When `/api/v1` is to be retired (RFC 3339); set, every v1 response
    /// carries `Deprecation`, `Sunset` and a `Link` to its successor.
    pub v1_sunset: Option<String>,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8082".into(),
            jwt_secret: None,
            access_ttl_secs: 15 * 60,
            refresh_ttl_secs: 7 * 86_400,
            max_body_bytes: 256 * 1024,
            login_per_account_per_minute: 5,
            login_per_ip_per_minute: 30,
            requests_per_user_per_second: 50,
            cors_origins: Vec::new(),
            asset_store: "./adpulse-data/assets".into(),
            max_asset_bytes: 10 * 1024 * 1024,
            v1_sunset: None,
        }
    }
}

/// The ingestion gateway (`adpulse gateway`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GatewayConfig {
    /// Address to listen on.
    pub listen: String,
    /// Largest request body as sent (compressed or not), in bytes.
    pub max_body_bytes: usize,
    /// Largest body after gzip decompression (guards against bombs).
    pub max_decompressed_bytes: usize,
    /// Most events in one batch request.
    pub max_batch_events: usize,
    /// How stale the cached key → tenant and campaign → tenant answers may
    /// be: a revoked key or deleted campaign stops working within this.
    pub auth_cache_ttl_secs: u64,
    /// How often the campaigns stopped by their budget are read again
    /// (capping decisions answer `budget_exhausted` within about this).
    pub budget_poll_ms: u64,
    /// Events per second each tenant may send (sustained).
    pub tenant_events_per_sec: u32,
    /// Events a tenant may send in a burst above the sustained rate.
    pub tenant_burst: u32,
    /// Per-tenant overrides of `tenant_events_per_sec` (tenant id → rate);
    /// the burst scales with the rate.
    pub tenant_quotas: BTreeMap<String, u32>,
    /// Requests per second one client IP may make without a valid key
    /// (burst: twice that). Past it the address is answered 429, without a
    /// directory lookup unless its key is already cached as valid.
    pub unauthenticated_per_ip_per_sec: u32,
    /// Malformed requests (answered 400, 413 or 415) per second each tenant
    /// may make, sustained. Past its budget a tenant's requests are answered
    /// 429 before their body is read, and leave no bad row. Events with
    /// invalid fields (422) are charged to `tenant_events_per_sec` instead,
    /// like accepted ones.
    pub tenant_refusals_per_sec: u32,
    /// Malformed requests a tenant may make in a burst above the sustained
    /// rate.
    pub tenant_refusal_burst: u32,
    /// How much of a refused payload the rejected topic keeps, in bytes (as
    /// JSON text, so escapes count).
    pub rejected_payload_bytes: usize,
    /// Bad rows per tenant and UTC minute kept in full on the rejected
    /// topic. Past it the minute's refusals are counted instead: one summary
    /// row per tenant, reason and minute with how many there were. 0 keeps
    /// summaries only.
    pub rejected_rows_per_tenant_per_minute: u32,
    /// How long shutdown waits for in-flight produces.
    pub shutdown_grace_secs: u64,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            max_body_bytes: 1024 * 1024,
            max_decompressed_bytes: 8 * 1024 * 1024,
            max_batch_events: 1_000,
            auth_cache_ttl_secs: 30,
            budget_poll_ms: 500,
            tenant_events_per_sec: 50_000,
            tenant_burst: 100_000,
            tenant_quotas: BTreeMap::new(),
            unauthenticated_per_ip_per_sec: 20,
            // A sender that works never sends a malformed request; these
            // allow a broken one to be noticed (100 answers that say what
            // is wrong) without letting it cost more than a trickle.
            tenant_refusals_per_sec: 20,
            tenant_refusal_burst: 100,
            rejected_payload_bytes: 4 * 1024,
            // One a second on average, all usable at once: enough examples to
            // debug a sender. A tenant refused nonstop keeps 86,400 rows a
            // day: ~380 MB at the 4.4 kB of a 4 KiB payload, 575 MB at the
            // largest row (payload + 2.5 KiB), where unbounded it was ~1.8 MB/s.
            rejected_rows_per_tenant_per_minute: 60,
            shutdown_grace_secs: 10,
        }
    }
}

/// The stream worker (`adpulse worker`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorkerConfig {
    /// Address of `/health/*` and `/metrics`.
    pub listen: String,
    /// Kafka consumer group; workers in one group split the partitions.
    pub group_id: String,
    /// A partition's batch is flushed at this many events...
    pub max_batch_events: usize,
    /// ...or when its oldest event waited this long.
    pub max_batch_wait_ms: u64,
    /// How long an `event_id` is remembered to drop resends.
    pub dedup_horizon_secs: u64,
    /// How long live counters live after their last update.
    pub live_ttl_secs: u64,
    /// Raw-event writes in flight at once.
    pub cql_concurrency: usize,
    /// Longest wait between retries of a failing sink.
    pub max_retry_backoff_ms: u64,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8081".into(),
            group_id: "adpulse-worker".into(),
            max_batch_events: 5_000,
            max_batch_wait_ms: 200,
            dedup_horizon_secs: 600,
            live_ttl_secs: 7 * 86_400,
            cql_concurrency: 64,
            max_retry_backoff_ms: 5_000,
        }
    }
}

/// Where frequency-capping counters live.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CappingBackend {
    /// Exact counters in Redis (the `redis` section), shared by every
    /// gateway replica.
    #[default]
    Redis,
    /// Exact counters in this process (one replica only: `adpulse up`).
    Memory,
    /// A count-min sketch in this process, sized from `sketch_expected_pairs`
    /// and `sketch_over_cap_rate`: bounded memory, may over-cap, never
    /// under-caps; one replica only; no rolling windows.
    Sketch,
    /// No decision API (the gateway answers 404 on `/v1/frequency/*`).
    Off,
}

/// What a decision answers when its counter store does not.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CappingFailurePolicy {
    /// Refuse the impression (never over-serve an advertiser's cap).
    #[default]
    Deny,
    /// Allow it (never lose reach while the store is down).
    Allow,
}

/// Frequency capping (`POST /v1/frequency/decide` on the gateway).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CappingConfig {
    /// Where counters live.
    pub backend: CappingBackend,
    /// What to answer when the store fails.
    pub on_failure: CappingFailurePolicy,
    /// How long a learned identity link (device or cookie → login or
    /// e-mail) is kept after it was last seen, in days.
    pub link_ttl_days: u32,
    /// Most candidate campaigns in one batch decision.
    pub max_candidates: usize,
    /// Sketch backend: active (person, campaign) pairs to size for.
    pub sketch_expected_pairs: u64,
    /// Sketch backend: the over-cap rate to size for (0.01 = 1%).
    pub sketch_over_cap_rate: f64,
}

impl Default for CappingConfig {
    fn default() -> Self {
        Self {
            backend: CappingBackend::Redis,
            on_failure: CappingFailurePolicy::Deny,
            link_ttl_days: 30,
            max_candidates: 100,
            sketch_expected_pairs: 10_000_000,
            sketch_over_cap_rate: 0.01,
        }
    }
}

/// The defences of every HTTP listener (the gateway, the API, the stream
/// worker's health and metrics), distributed and under `adpulse up`, against
/// clients that hold connections without finishing requests. Each listener
/// applies them on its own: the cap is per listener.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// How long a client may take to send a request line and its headers,
    /// in milliseconds: from connecting, for a connection's first request,
    /// and from the first byte of each later one. A slower client's
    /// connection is closed without an answer (slow-loris).
    pub header_timeout_ms: u64,
    /// How long a request body may take once the server starts reading it,
    /// in milliseconds, before the allowance below; a body that is late is
    /// answered 408 and its connection closed.
    pub body_timeout_ms: u64,
    /// Each this-many bytes of body received extend the body's deadline by
    /// one second: a body that keeps up this average rate never times out,
    /// one that stalls does once it falls behind. 0: no allowance, the
    /// whole body within `body_timeout_ms`.
    pub body_min_bytes_per_sec: u64,
    /// How long a keep-alive connection may wait for its next request, in
    /// milliseconds, before it is closed.
    pub idle_timeout_ms: u64,
    /// Most connections a listener holds open at once. At the cap it stops
    /// accepting: new connections wait in the kernel's listen backlog until
    /// one closes. Keep (listeners × this) well under the process's open
    /// file limit (`ulimit -n`): files are shared with log segments and
    /// SQLite.
    pub max_connections: u32,
    /// How long a listener keeps serving after the shutdown signal with
    /// its readiness failing (`/health/ready` answers 503 `draining`), in
    /// milliseconds, so a load balancer stops sending it requests before
    /// it stops accepting; then requests in flight finish and it exits.
    /// 0: stop accepting at once. Keep the load balancer's (or
    /// Kubernetes') time to notice under it.
    pub drain_ms: u64,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            header_timeout_ms: 10_000,
            body_timeout_ms: 10_000,
            body_min_bytes_per_sec: 8 * 1024,
            idle_timeout_ms: 60_000,
            max_connections: 1_024,
            drain_ms: 3_000,
        }
    }
}

/// How logs look on stderr.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// Human-readable on a terminal, JSON otherwise.
    #[default]
    Auto,
    /// One JSON object per line.
    Json,
    /// Human-readable.
    Pretty,
}

/// Logs, traces and metrics.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelemetryConfig {
    /// Log format.
    pub log_format: LogFormat,
    /// `tracing` filter directives, like `info,adpulse_kafka=debug`.
    pub log_filter: String,
    /// OTLP/HTTP (protobuf) endpoint for traces, the whole URL
    /// (`http://collector:4318/v1/traces`); none, no export.
    pub otlp_endpoint: Option<String>,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        Self {
            log_format: LogFormat::Auto,
            log_filter: "info".into(),
            otlp_endpoint: None,
        }
    }
}

#[cfg(test)]
mod tests;
