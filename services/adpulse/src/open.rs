//! Opening the production adapters a role needs, each as the port its
//! service holds. The roles' modules (`api`, `gateway`, `worker`) compose
//! from these; `up` opens the embedded adapters itself. Nothing outside
//! this binary names an adapter crate.

use std::sync::Arc;

use adpulse_capping::CapStore;
use adpulse_capping::identity::LinkStore;
use adpulse_config::{CappingBackend, Config};
use adpulse_cql::{Cql, CqlArchive};
use adpulse_domain::ports::{LiveCounters, RawArchive};
use adpulse_redis::Redis;
use anyhow::Context as _;

/// A dependency's circuit breaker as `[ops]` sets it, with `timeout_ms`
/// for one call.
pub fn breaker(config: &Config, timeout_ms: u64) -> adpulse_resilience::BreakerConfig {
    adpulse_resilience::BreakerConfig {
        failures: config.ops.breaker_failures,
        open_for: std::time::Duration::from_millis(config.ops.breaker_open_ms),
        timeout: std::time::Duration::from_millis(timeout_ms),
    }
}

/// The CQL archive of raw events (its insert prepared).
pub async fn archive(config: &Config) -> anyhow::Result<Arc<dyn RawArchive>> {
    let cql = Cql::connect(&config.cql)
        .await
        .context("connecting to the CQL archive (raw events)")?;
    let archive = CqlArchive::new(cql)
        .await
        .context("preparing the CQL archive's statements")?;
    Ok(Arc::new(archive))
}

/// Redis, for what `purpose` says.
pub async fn redis(config: &Config, purpose: &str) -> anyhow::Result<Redis> {
    Redis::connect(&config.redis)
        .await
        .with_context(|| format!("connecting to redis ({purpose})"))
}

/// Live counters in Redis, behind a circuit breaker (`guarded`).
pub async fn live(config: &Config) -> anyhow::Result<Arc<dyn LiveCounters>> {
    let redis = redis(config, "the live counters behind realtime reports").await?;
    Ok(Arc::new(crate::guarded::GuardedLive::new(
        Arc::new(redis),
        breaker(config, config.redis.timeout_ms),
    )))
}

/// Frequency capping's shared counter and link stores: Redis when
/// `capping.backend = redis`, none otherwise (the gateway then keeps
/// counters in process, or caps nothing).
pub async fn capping(
    config: &Config,
) -> anyhow::Result<Option<(Arc<dyn CapStore>, Arc<dyn LinkStore>)>> {
    if config.capping.backend != CappingBackend::Redis {
        return Ok(None);
    }
    let redis = Arc::new(
        redis(
            config,
            "frequency capping; capping.backend = off runs without it",
        )
        .await?,
    );
    Ok(Some((redis.clone(), redis)))
}
