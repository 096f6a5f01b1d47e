//! Test support shared by every integration test: where the local stack's
//! servers are, unique names so tests never share state, and a clear failure
//! (naming the command that starts the server) when a server is absent.
//!
//! Addresses come from `ADPULSE_TEST_KAFKA`, `ADPULSE_TEST_CQL`,
//! `ADPULSE_TEST_POSTGRES`, `ADPULSE_TEST_REDIS`,
//! `ADPULSE_TEST_REDIS_CLUSTER` and `ADPULSE_TEST_S3` (with
//! `ADPULSE_TEST_S3_BUCKET`, `ADPULSE_TEST_S3_ACCESS_KEY_ID` and
//! `ADPULSE_TEST_S3_SECRET_ACCESS_KEY`), defaulting to the ports and the
//! test credentials `deploy/local/stack` uses (`deploy/local/stack env`
//! prints them).
//!
//! [`hostile`] has raw-socket HTTP clients that misbehave, for the
//! listeners' timeouts and connection cap.

#![allow(clippy::panic)]

pub mod hostile;

use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// Whether the HTTP suites run on the embedded adapters instead of the
/// local servers (`ADPULSE_TEST_ADAPTERS=embedded`, as the fast tier
/// `scripts/test --fast` sets it).
pub fn embedded_adapters() -> bool {
    std::env::var("ADPULSE_TEST_ADAPTERS").as_deref() == Ok("embedded")
}

/// A server of the local stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Server {
    /// Apache Kafka.
    Kafka,
    /// Cassandra or ScyllaDB.
    Cql,
    /// PostgreSQL.
    Postgres,
    /// Redis.
    Redis,
    /// A three-node Redis Cluster (its first node's URL).
    RedisCluster,
    /// An S3-compatible object store (its endpoint URL; see [`S3Account`]).
    S3,
}

impl Server {
    fn env(self) -> &'static str {
        match self {
            Self::Kafka => "ADPULSE_TEST_KAFKA",
            Self::Cql => "ADPULSE_TEST_CQL",
            Self::Postgres => "ADPULSE_TEST_POSTGRES",
            Self::Redis => "ADPULSE_TEST_REDIS",
            Self::RedisCluster => "ADPULSE_TEST_REDIS_CLUSTER",
            Self::S3 => "ADPULSE_TEST_S3",
        }
    }

    fn default_addr(self) -> &'static str {
        match self {
            Self::Kafka => "127.0.0.1:9092",
            Self::Cql => "127.0.0.1:9042",
            Self::Postgres => "postgres://adpulse:adpulse@127.0.0.1:5432/adpulse",
            Self::Redis => "redis://127.0.0.1:6379",
            Self::RedisCluster => "redis://127.0.0.1:7001",
            Self::S3 => "http://127.0.0.1:9000",
        }
    }

    /// The name `deploy/local/stack` knows it by.
    pub fn stack_name(self) -> &'static str {
        match self {
            Self::Kafka => "kafka",
            Self::Cql => "cassandra",
            Self::Postgres => "postgres",
            Self::Redis => "redis",
            Self::RedisCluster => "redis_cluster",
            Self::S3 => "s3",
        }
    }

    /// Where the test server is: a `host:port` for Kafka and CQL, a URL for
    /// Postgres, Redis and S3.
    pub fn addr(self) -> String {
        std::env::var(self.env()).unwrap_or_else(|_| self.default_addr().to_owned())
    }

    /// The server's address after checking that something listens there;
    /// panics with the command that starts it otherwise.
    pub fn require(self) -> String {
        let addr = self.addr();
        let host_port = host_port(&addr);
        let reachable = host_port
            .to_socket_addrs()
            .ok()
            .and_then(|mut a| a.next())
            .is_some_and(|sa| TcpStream::connect_timeout(&sa, Duration::from_secs(2)).is_ok());
        if !reachable {
            self.absent(&format!("nothing listens on {host_port}"));
        }
        addr
    }

    /// Runs `deploy/local/stack ACTION` for this server (`stop` or `up`),
    /// for tests that take a real server away and bring it back.
    pub fn stack(self, action: &str) {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy/local/stack");
        let out = std::process::Command::new(script)
            .args([action, self.stack_name()])
            .output()
            .expect("run deploy/local/stack");
        assert!(
            out.status.success(),
            "deploy/local/stack {action} {} failed:\n{}",
            self.stack_name(),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Fails the test, saying the server is unusable and how to start it.
    pub fn absent(self, why: &str) -> ! {
        panic!(
            "{:?} test server at {} is not usable: {why}\n\
             start it with `deploy/local/stack up {}` (or point {} at one)",
            self,
            host_port(&self.addr()),
            self.stack_name(),
            self.env(),
        )
    }
}

/// An account on the test S3 server: the endpoint, a bucket that exists,
/// and a key that may write to it. Tests keep to a prefix of their own
/// ([`unique_name`]) in the shared bucket.
#[derive(Clone, Debug)]
pub struct S3Account {
    /// The endpoint URL, `http://host:port`.
    pub endpoint: String,
    /// A bucket the stack created.
    pub bucket: String,
    /// The access key id.
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: String,
    /// The region requests are signed for (`ADPULSE_TEST_S3_REGION`,
    /// default `us-east-1`; the stack's server accepts any).
    pub region: String,
}

impl S3Account {
    /// The stack's account (`ADPULSE_TEST_S3*`, defaulting to what
    /// `deploy/local/stack` configures) after checking that something
    /// listens on the endpoint; panics with the command that starts it
    /// otherwise.
    pub fn require() -> Self {
        let var =
            |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.into());
        Self {
            endpoint: Server::S3.require(),
            bucket: var("ADPULSE_TEST_S3_BUCKET", "adpulse"),
            access_key_id: var("ADPULSE_TEST_S3_ACCESS_KEY_ID", "adpulse"),
            secret_access_key: var("ADPULSE_TEST_S3_SECRET_ACCESS_KEY", "adpulse-secret"),
            region: var("ADPULSE_TEST_S3_REGION", "us-east-1"),
        }
    }
}

/// `host:port` of an address or URL (`scheme://user:pass@host:port/path`).
fn host_port(addr: &str) -> String {
    let rest = addr.split_once("://").map_or(addr, |(_, r)| r);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    rest.split(['/', '?']).next().unwrap_or(rest).to_owned()
}

/// A name no other test uses: `prefix` and 12 random hex digits, lowercase
/// and underscore-separated so it is valid as a topic, keyspace, schema or
/// key prefix.
pub fn unique_name(prefix: &str) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}_{}", &id[..12])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_port_of_urls_and_addresses() {
        assert_eq!(host_port("127.0.0.1:9092"), "127.0.0.1:9092");
        assert_eq!(host_port("postgres://a:b@db:5432/x?y=1"), "db:5432");
        assert_eq!(host_port("redis://127.0.0.1:6379"), "127.0.0.1:6379");
        assert_eq!(host_port("http://127.0.0.1:9000"), "127.0.0.1:9000");
    }

    #[test]
    fn unique_names_differ_and_are_identifiers() {
        let a = unique_name("t");
        assert_ne!(a, unique_name("t"));
        assert!(
            a.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        );
    }
}
