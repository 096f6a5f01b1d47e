//! The Redis adapter: the only crate that speaks the redis client.
//!
//! One multiplexed, auto-reconnecting connection per process, with the
//! configured timeouts, and every key under the configured prefix so several
//! deployments (or tests) can share one server.

mod live;

use std::time::Duration;

use adpulse_config::RedisConfig;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

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

/// A connection to Redis and the key namespace of this deployment.
#[derive(Clone)]
pub struct Redis {
    conn: ConnectionManager,
    prefix: String,
}

impl Redis {
    /// Connects; fails if the server does not answer within the timeout.
    pub async fn connect(cfg: &RedisConfig) -> Result<Self, RedisError> {
        let client = redis::Client::open(cfg.url.expose().as_str())
            .map_err(|e| RedisError::Config(e.to_string()))?;
        let timeout = Duration::from_millis(cfg.timeout_ms);
        let mgr_cfg = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(2);
        let conn = ConnectionManager::new_with_config(client, mgr_cfg).await?;
        Ok(Self {
            conn,
            prefix: cfg.key_prefix.clone(),
        })
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
    pub fn connection(&self) -> ConnectionManager {
        self.conn.clone()
    }
}
