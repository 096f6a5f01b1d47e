//! The Redis adapter: the only crate that speaks the redis client.
//!
//! One multiplexed, auto-reconnecting connection per process, with the
//! configured timeouts, and every key under the configured prefix so several
//! deployments (or tests) can share one server.

mod capping;
mod live;

pub use capping::{CapOutcome, CapRequest, CapWindow};
pub use live::{LiveTotals, LiveView};

use std::time::Duration;

use adpulse_config::RedisConfig;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;

/// A Redis operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum RedisError {
    /// The URL is invalid.
    #[error("invalid redis settings: {0}")]
    Config(String),
    /// The server is unreachable or did not answer in time; retry later.
    #[error("redis unavailable: {0}")]
    Unavailable(String),
    /// The server refused the command.
    #[error("redis refused: {0}")]
    Refused(String),
}

impl RedisError {
    /// Whether the same operation may succeed if retried later.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}

impl From<redis::RedisError> for RedisError {
    fn from(e: redis::RedisError) -> Self {
        if e.is_io_error()
            || e.is_timeout()
            || e.is_connection_dropped()
            || e.is_connection_refusal()
        {
            Self::Unavailable(e.to_string())
        } else {
            Self::Refused(e.to_string())
        }
    }
}

/// A connection to one Redis server or to a Redis Cluster. Everything
/// above this crate is the same for both: every multi-key operation keeps
/// its keys in one hash slot (`{campaign_id}` tags).
#[derive(Clone)]
pub enum Connection {
    /// One server (auto-reconnecting, multiplexed).
    Single(ConnectionManager),
    /// A cluster (routes each command to its slot's node, follows moves).
    Cluster(ClusterConnection),
}

impl redis::aio::ConnectionLike for Connection {
    fn req_packed_command<'a>(
        &'a mut self,
        cmd: &'a redis::Cmd,
    ) -> redis::RedisFuture<'a, redis::Value> {
        match self {
            Self::Single(c) => c.req_packed_command(cmd),
            Self::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> redis::RedisFuture<'a, Vec<redis::Value>> {
        match self {
            Self::Single(c) => c.req_packed_commands(pipeline, offset, count),
            Self::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(c) => c.get_db(),
            Self::Cluster(c) => c.get_db(),
        }
    }
}

/// A connection to Redis and the key namespace of this deployment.
#[derive(Clone)]
pub struct Redis {
    conn: Connection,
    prefix: String,
}

impl Redis {
    /// Connects; fails if the server (or, for a cluster, the node named)
    /// does not answer within the timeout.
    pub async fn connect(cfg: &RedisConfig) -> Result<Self, RedisError> {
        let url = cfg.url.expose().as_str();
        let timeout = Duration::from_millis(cfg.timeout_ms);
        let conn = if cfg.cluster {
            let client = ClusterClient::builder([url])
                .connection_timeout(timeout)
                .response_timeout(timeout)
                .retries(2)
                .build()
                .map_err(|e| RedisError::Config(e.to_string()))?;
            Connection::Cluster(client.get_async_connection().await?)
        } else {
            let client = redis::Client::open(url).map_err(|e| RedisError::Config(e.to_string()))?;
            let mgr_cfg = ConnectionManagerConfig::new()
                .set_connection_timeout(Some(timeout))
                .set_response_timeout(Some(timeout))
                .set_number_of_retries(2);
            Connection::Single(ConnectionManager::new_with_config(client, mgr_cfg).await?)
        };
        Ok(Self {
            conn,
            prefix: cfg.key_prefix.clone(),
        })
    }

    /// Whether this is a cluster connection.
    pub fn is_cluster(&self) -> bool {
        matches!(self.conn, Connection::Cluster(_))
    }

    /// `prefix:suffix`: the full name of a key of this deployment.
    pub fn key(&self, suffix: &str) -> String {
        format!("{}:{suffix}", self.prefix)
    }

    /// The key prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Round-trips a PING.
    pub async fn ping(&self) -> Result<(), RedisError> {
        let mut c = self.conn.clone();
        let _: String = redis::cmd("PING").query_async(&mut c).await?;
        Ok(())
    }

    /// Deletes every key under this deployment's prefix (tests clean up with
    /// it; never call it on a shared production prefix).
    pub async fn delete_prefix(&self) -> Result<u64, RedisError> {
        let mut c = self.conn.clone();
        let pattern = format!("{}:*", self.prefix);
        if self.is_cluster() {
            // KEYS goes to every primary and the answers are combined; a
            // cluster SCAN has no cursor across nodes.
            let keys: Vec<String> = redis::cmd("KEYS").arg(&pattern).query_async(&mut c).await?;
            let mut deleted = 0;
            for key in keys {
                let n: u64 = redis::cmd("UNLINK").arg(key).query_async(&mut c).await?;
                deleted += n;
            }
            return Ok(deleted);
        }
        let mut cursor: u64 = 0;
        let mut deleted = 0;
        loop {
            let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(500)
                .query_async(&mut c)
                .await?;
            if !keys.is_empty() {
                let n: u64 = redis::cmd("UNLINK").arg(&keys).query_async(&mut c).await?;
                deleted += n;
            }
            if next == 0 {
                return Ok(deleted);
            }
            cursor = next;
        }
    }

    /// A clone of the connection, for stores inside this crate.
    #[doc(hidden)]
    pub fn connection(&self) -> Connection {
        self.conn.clone()
    }
}
