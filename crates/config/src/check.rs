//! Checks of what the types cannot say: a port that is a number, a topic
//! name Kafka accepts, a secret long enough to sign with.
//!
//! Loading (`Config::load`) already refuses unknown keys and wrong types;
//! [`Config::check`] refuses values that would only fail later, after a
//! process connected to its backends, where the error would be about
//! something else. Every subcommand checks before it opens a connection,
//! and every problem is reported at once, each naming its key and the
//! environment variable that sets it.

use std::fmt;

use crate::{CappingBackend, Config, SmtpTls};

/// What a process is about to do with the configuration: some settings are
/// required only by some roles (the API's signing key by `adpulse api`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// `adpulse up`: everything in one process on embedded backends (it
    /// generates its own signing key).
    Up,
    /// `adpulse migrate`.
    Migrate,
    /// `adpulse gateway`.
    Gateway,
    /// `adpulse worker`.
    Worker,
    /// `adpulse api`.
    Api,
    /// `adpulse alerter`.
    Alerter,
    /// `adpulse admin` and `adpulse config`.
    Admin,
}

/// One setting that cannot work.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The dotted key, like `api.jwt_secret`.
    pub key: String,
    /// What is wrong with it, and what would do.
    pub message: String,
}

impl Problem {
    /// The environment variable that sets this key.
    pub fn env(&self) -> String {
        format!(
            "{}{}",
            crate::ENV_PREFIX,
            self.key.to_uppercase().replace('.', "__")
        )
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.key, self.env(), self.message)
    }
}

/// Every problem a configuration has, in key order.
#[derive(Debug, thiserror::Error)]
pub struct Problems(pub Vec<Problem>);

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        write!(
            f,
            "invalid configuration ({n} problem{}):",
            if n == 1 { "" } else { "s" }
        )?;
        for p in &self.0 {
            write!(f, "\n  {p}")?;
        }
        Ok(())
    }
}

/// Collects problems as sections are checked.
#[derive(Default)]
pub(crate) struct Checker(Vec<Problem>);

impl Checker {
    pub(crate) fn fail(&mut self, key: &str, message: impl Into<String>) {
        self.0.push(Problem {
            key: key.to_owned(),
            message: message.into(),
        });
    }

    pub(crate) fn require(&mut self, ok: bool, key: &str, message: &str) {
        if !ok {
            self.fail(key, message);
        }
    }

    pub(crate) fn positive(&mut self, value: u64, key: &str) {
        self.require(value > 0, key, "must be greater than 0");
    }

    /// `host:port`, as a listener binds or a client connects.
    fn address(&mut self, value: &str, key: &str) {
        let ok = value
            .rsplit_once(':')
            .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
        if !ok {
            self.fail(
                key,
                format!("{value:?} is not host:port (for example 127.0.0.1:8080)"),
            );
        }
    }

    fn url(&mut self, value: &str, schemes: &[&str], key: &str) {
        let ok = schemes.iter().any(|s| {
            value
                .strip_prefix(s)
                .and_then(|rest| rest.strip_prefix("://"))
                .is_some_and(|rest| !rest.is_empty())
        });
        if !ok {
            self.fail(key, format!("must be a {} URL", schemes.join(" or ")));
        }
    }
}

/// Kafka's rule for topic names.
fn kafka_topic_name(name: &str) -> bool {
    (1..=249).contains(&name.len())
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// An unquoted identifier both CQL (keyspaces, 48 characters) and Postgres
/// (schemas, 63) take as written.
fn identifier(name: &str, max: usize) -> bool {
    (1..=max).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

impl Config {
    /// Every problem of this configuration for `role`, or `Ok`. Cheap and
    /// without IO: run it before connecting to anything.
    pub fn check(&self, role: Role) -> Result<(), Problems> {
        let mut c = Checker::default();
        self.check_limits(&mut c);
        self.check_kafka(&mut c);
        self.check_stores(&mut c);
        self.check_gateway(&mut c);
        self.check_worker(&mut c);
        self.check_alerts(&mut c);
        self.check_api(&mut c, role);
        self.check_capping(&mut c);
        self.check_http(&mut c);
        self.ops.check(&mut c);
        if let Some(endpoint) = &self.telemetry.otlp_endpoint {
            c.url(endpoint, &["http", "https"], "telemetry.otlp_endpoint");
        }
        let mut problems = c.0;
        problems.sort_by(|a, b| a.key.cmp(&b.key));
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Problems(problems))
        }
    }

    fn check_limits(&self, c: &mut Checker) {
        let l = &self.limits;
        c.require(
            l.max_event_bytes >= 256,
            "limits.max_event_bytes",
            "must be at least 256 (the smallest valid event is about 200 bytes)",
        );
        c.positive(l.retention_days, "limits.retention_days");
        c.require(
            l.retention_days <= 3_650,
            "limits.retention_days",
            "must be at most 3650 (ten years)",
        );
    }

    fn check_kafka(&self, c: &mut Checker) {
        let k = &self.kafka;
        if k.brokers.split(',').all(|b| b.trim().is_empty()) {
            c.fail("kafka.brokers", "names no broker");
        }
        for b in k.brokers.split(',').filter(|b| !b.trim().is_empty()) {
            c.address(b.trim(), "kafka.brokers");
        }
        for (key, topic) in [
            ("kafka.events_topic", &k.events_topic),
            ("kafka.rejected_topic", &k.rejected_topic),
            ("kafka.metrics_topic", &k.metrics_topic),
        ] {
            c.require(
                kafka_topic_name(topic),
                key,
                "is not a Kafka topic name (1 to 249 of a-z A-Z 0-9 . _ -)",
            );
        }
        c.require(k.partitions >= 1, "kafka.partitions", "must be at least 1");
        c.require(
            k.replication_factor >= 1,
            "kafka.replication_factor",
            "must be at least 1",
        );
        c.require(
            ["none", "gzip", "snappy", "lz4", "zstd"].contains(&k.compression.as_str()),
            "kafka.compression",
            "must be one of none, gzip, snappy, lz4, zstd",
        );
        c.positive(k.request_timeout_ms, "kafka.request_timeout_ms");
        // librdkafka refuses a producer whose delivery timeout cannot cover
        // one linger and one request.
        c.require(
            k.delivery_timeout_ms >= k.linger_ms.saturating_add(k.request_timeout_ms),
            "kafka.delivery_timeout_ms",
            "must be at least linger_ms + request_timeout_ms",
        );
    }

    fn check_stores(&self, c: &mut Checker) {
        let q = &self.cql;
        c.require(
            !q.nodes.is_empty(),
            "cql.nodes",
            "names no node (host:port)",
        );
        for n in &q.nodes {
            c.address(n, "cql.nodes");
        }
        c.require(
            identifier(&q.keyspace, 48),
            "cql.keyspace",
            "must be 1 to 48 of a-z 0-9 _, starting with a letter or _",
        );
        c.require(
            q.replication_factor >= 1,
            "cql.replication_factor",
            "must be at least 1",
        );
        c.positive(q.connect_timeout_ms, "cql.connect_timeout_ms");
        c.positive(q.request_timeout_ms, "cql.request_timeout_ms");

        let p = &self.postgres;
        c.url(p.url.expose(), &["postgres", "postgresql"], "postgres.url");
        if let Some(schema) = &p.schema {
            c.require(
                identifier(schema, 63),
                "postgres.schema",
                "must be 1 to 63 of a-z 0-9 _, starting with a letter or _",
            );
        }
        c.positive(u64::from(p.max_connections), "postgres.max_connections");
        c.positive(p.acquire_timeout_ms, "postgres.acquire_timeout_ms");
        c.positive(p.statement_timeout_ms, "postgres.statement_timeout_ms");
        c.positive(p.export_timeout_ms, "postgres.export_timeout_ms");

        let r = &self.redis;
        c.url(r.url.expose(), &["redis", "rediss"], "redis.url");
        c.positive(r.timeout_ms, "redis.timeout_ms");
    }

    fn check_gateway(&self, c: &mut Checker) {
        let g = &self.gateway;
        c.address(&g.listen, "gateway.listen");
        c.positive(g.max_body_bytes as u64, "gateway.max_body_bytes");
        c.require(
            g.max_decompressed_bytes >= g.max_body_bytes,
            "gateway.max_decompressed_bytes",
            "must be at least gateway.max_body_bytes",
        );
        c.positive(g.max_batch_events as u64, "gateway.max_batch_events");
        c.positive(g.budget_poll_ms, "gateway.budget_poll_ms");
        c.positive(
            u64::from(g.tenant_events_per_sec),
            "gateway.tenant_events_per_sec",
        );
        c.positive(
            u64::from(g.unauthenticated_per_ip_per_sec),
            "gateway.unauthenticated_per_ip_per_sec",
        );
        c.positive(u64::from(g.tenant_burst), "gateway.tenant_burst");
        c.positive(
            u64::from(g.tenant_refusals_per_sec),
            "gateway.tenant_refusals_per_sec",
        );
        c.positive(
            u64::from(g.tenant_refusal_burst),
            "gateway.tenant_refusal_burst",
        );
        for (tenant, rate) in &g.tenant_quotas {
            if !is_uuid(tenant) {
                c.fail(
                    "gateway.tenant_quotas",
                    format!("{tenant:?} is not a tenant id (a UUID)"),
                );
            }
            if *rate == 0 {
                c.fail(
                    "gateway.tenant_quotas",
                    format!("the rate of {tenant} must be greater than 0"),
                );
            }
        }
    }

    fn check_worker(&self, c: &mut Checker) {
        let w = &self.worker;
        c.address(&w.listen, "worker.listen");
        c.require(
            !w.group_id.is_empty(),
            "worker.group_id",
            "must not be empty",
        );
        c.positive(w.max_batch_events as u64, "worker.max_batch_events");
        c.positive(w.max_batch_wait_ms, "worker.max_batch_wait_ms");
        c.positive(w.cql_concurrency as u64, "worker.cql_concurrency");
        c.positive(w.max_retry_backoff_ms, "worker.max_retry_backoff_ms");
    }

    fn check_alerts(&self, c: &mut Checker) {
        let a = &self.alerts;
        c.address(&a.listen, "alerts.listen");
        c.require(
            !a.group_id.is_empty(),
            "alerts.group_id",
            "must not be empty",
        );
        c.positive(a.cache_ms, "alerts.cache_ms");
        c.positive(a.tick_ms, "alerts.tick_ms");
        c.positive(u64::from(a.max_attempts), "alerts.max_attempts");
        c.positive(a.retry_base_ms, "alerts.retry_base_ms");
        c.require(
            a.retry_max_ms >= a.retry_base_ms,
            "alerts.retry_max_ms",
            "must be at least alerts.retry_base_ms",
        );
        c.positive(a.request_timeout_ms, "alerts.request_timeout_ms");
        c.positive(u64::from(a.breaker_failures), "alerts.breaker_failures");
        c.positive(a.breaker_open_ms, "alerts.breaker_open_ms");
        c.positive(a.max_in_flight as u64, "alerts.max_in_flight");
        let relay = a.smtp_relay().unwrap_or_else(|e| {
            c.fail("alerts.smtp_url", e);
            None
        });
        if let Err(e) = a.mail_from_address() {
            c.fail("alerts.mail_from", e);
        }
        match (&a.smtp_username, &a.smtp_password) {
            (Some(_), None) => c.fail("alerts.smtp_password", "is not set, but smtp_username is"),
            (None, Some(_)) => c.fail("alerts.smtp_username", "is not set, but smtp_password is"),
            (Some(_), Some(_)) if a.smtp_url.is_none() => {
                c.fail(
                    "alerts.smtp_url",
                    "is not set, but the relay's credentials are",
                );
            }
            _ => {}
        }
        // A password sent in clear is a password given away, unless the
        // relay is on this host.
        if let Some(r) = relay.filter(|r| r.tls == SmtpTls::None && !r.is_loopback())
            && a.smtp_password.is_some()
        {
            c.fail(
                "alerts.smtp_url",
                format!(
                    "would send the password to {} unencrypted: use smtps:// or ?tls=starttls",
                    r.host
                ),
            );
        }
    }

    fn check_api(&self, c: &mut Checker, role: Role) {
        let a = &self.api;
        c.address(&a.listen, "api.listen");
        match (&a.jwt_secret, role) {
            (None, Role::Api) => c.fail(
                "api.jwt_secret",
                "is not set: the API signs access tokens with it (32 bytes or more, the same on every replica)",
            ),
            (Some(s), _) if s.expose().len() < 32 => {
                c.fail("api.jwt_secret", "must be at least 32 bytes");
            }
            _ => {}
        }
        c.positive(a.max_body_bytes as u64, "api.max_body_bytes");
        c.positive(a.max_asset_bytes as u64, "api.max_asset_bytes");
        c.positive(a.access_ttl_secs, "api.access_ttl_secs");
        // Lifetimes are added to the clock: bounded so that can never
        // leave chrono's range (a year is more than any session needs).
        c.require(
            a.access_ttl_secs <= 86_400,
            "api.access_ttl_secs",
            "must be at most 86400 (a day)",
        );
        c.require(
            a.refresh_ttl_secs <= 366 * 86_400,
            "api.refresh_ttl_secs",
            "must be at most 31622400 (a year)",
        );
        c.require(
            a.refresh_ttl_secs >= a.access_ttl_secs,
            "api.refresh_ttl_secs",
            "must be at least api.access_ttl_secs",
        );
        c.require(
            !a.asset_store.trim().is_empty(),
            "api.asset_store",
            "must name a folder or an s3://bucket",
        );
        if let Some(sunset) = &a.v1_sunset
            && chrono::DateTime::parse_from_rfc3339(sunset).is_err()
        {
            c.fail(
                "api.v1_sunset",
                format!("{sunset:?} is not an RFC 3339 time (2027-06-30T00:00:00Z)"),
            );
        }
        for origin in &a.cors_origins {
            c.url(origin, &["http", "https"], "api.cors_origins");
        }
    }

    fn check_capping(&self, c: &mut Checker) {
        let k = &self.capping;
        c.positive(u64::from(k.link_ttl_days), "capping.link_ttl_days");
        c.require(
            k.link_ttl_days <= 3_650,
            "capping.link_ttl_days",
            "must be at most 3650 (ten years)",
        );
        c.positive(k.max_candidates as u64, "capping.max_candidates");
        if k.backend == CappingBackend::Sketch {
            c.require(
                k.sketch_over_cap_rate > 0.0 && k.sketch_over_cap_rate < 1.0,
                "capping.sketch_over_cap_rate",
                "must be between 0 and 1 (exclusive)",
            );
            c.positive(k.sketch_expected_pairs, "capping.sketch_expected_pairs");
            c.require(
                k.sketch_expected_pairs <= 10_000_000_000,
                "capping.sketch_expected_pairs",
                "must be at most 10000000000 (the sketch's memory grows with it)",
            );
        }
    }
}

impl Config {
    fn check_http(&self, c: &mut Checker) {
        let h = &self.http;
        // Zero would close every connection at once.
        c.positive(h.header_timeout_ms, "http.header_timeout_ms");
        c.positive(h.idle_timeout_ms, "http.idle_timeout_ms");
        c.positive(h.body_timeout_ms, "http.body_timeout_ms");
        // Zero would never accept a connection.
        c.positive(u64::from(h.max_connections), "http.max_connections");
    }
}

/// A UUID in its hyphenated text form.
fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, ch)| match i {
            8 | 13 | 18 | 23 => ch == '-',
            _ => ch.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Secret;

    fn keys(r: Result<(), Problems>) -> Vec<String> {
        r.err()
            .map(|p| p.0.into_iter().map(|p| p.key).collect())
            .unwrap_or_default()
    }

    #[test]
    fn defaults_pass_for_every_role_but_the_api_which_needs_a_secret() {
        let c = Config::default();
        for role in [
            Role::Up,
            Role::Migrate,
            Role::Gateway,
            Role::Worker,
            Role::Alerter,
            Role::Admin,
        ] {
            assert!(c.check(role).is_ok(), "{role:?}");
        }
        assert_eq!(keys(c.check(Role::Api)), ["api.jwt_secret"]);
        let mut c = Config::default();
        c.api.jwt_secret = Some(Secret::new("x".repeat(32)));
        assert!(c.check(Role::Api).is_ok());
    }

    #[test]
    fn every_problem_is_reported_at_once_with_its_variable() {
        let mut c = Config::default();
        c.api.jwt_secret = Some(Secret::new("short".into()));
        c.kafka.compression = "brotli".into();
        c.kafka.events_topic = "events topic".into();
        c.cql.keyspace = "Bad-Name".into();
        c.postgres.url = Secret::new("mysql://x".into());
        c.gateway.listen = "8080".into();
        c.gateway.tenant_quotas.insert("acme".into(), 0);
        c.api.v1_sunset = Some("next year".into());
        let problems = c.check(Role::Gateway).expect_err("refused");
        let keys: Vec<&str> = problems.0.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "api.jwt_secret",
                "api.v1_sunset",
                "cql.keyspace",
                "gateway.listen",
                "gateway.tenant_quotas",
                "gateway.tenant_quotas",
                "kafka.compression",
                "kafka.events_topic",
                "postgres.url",
            ]
        );
        let text = problems.to_string();
        assert!(
            text.starts_with("invalid configuration (9 problems):"),
            "{text}"
        );
        assert!(
            text.contains("api.jwt_secret (ADPULSE__API__JWT_SECRET): must be at least 32 bytes")
        );
        assert!(
            !text.contains("short"),
            "a secret's value never appears: {text}"
        );
    }

    #[test]
    fn listener_limits_and_lifetimes_must_be_usable() {
        let mut c = Config::default();
        c.http.max_connections = 0;
        c.http.header_timeout_ms = 0;
        c.gateway.tenant_refusals_per_sec = 0;
        c.capping.link_ttl_days = u32::MAX;
        c.api.refresh_ttl_secs = u64::MAX;
        assert_eq!(
            keys(c.check(Role::Up)),
            [
                "api.refresh_ttl_secs",
                "capping.link_ttl_days",
                "gateway.tenant_refusals_per_sec",
                "http.header_timeout_ms",
                "http.max_connections",
            ]
        );
    }

    #[test]
    fn names_and_addresses() {
        assert!(kafka_topic_name("adpulse.events.v1"));
        assert!(!kafka_topic_name(""));
        assert!(!kafka_topic_name(".."));
        assert!(!kafka_topic_name(&"a".repeat(250)));
        assert!(identifier("adpulse_test_1", 48));
        assert!(!identifier("1abc", 48));
        assert!(!identifier(&"a".repeat(49), 48));
        assert!(is_uuid("6c0a3f8e-0d7e-4a43-b8e5-6f0c2a9d1b77"));
        assert!(!is_uuid("6c0a3f8e0d7e4a43b8e56f0c2a9d1b77----"));
        let mut c = Checker::default();
        c.address("[::1]:8080", "a");
        c.address("localhost:0", "b");
        c.address("localhost", "c");
        c.address("host:99999", "d");
        let failed: Vec<_> = c.0.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(failed, ["c", "d"]);
    }
}
