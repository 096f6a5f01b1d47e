//! Who is sending: the bearer ingest key resolved to a tenant, and which
//! tenant owns a campaign (with its time zone and frequency cap), both
//! answered from memory on the hot path.
//!
//! Answers are cached for `auth_cache_ttl_secs` (bounded staleness: a revoked
//! key or a deleted campaign stops working within that time); negative
//! answers for a shorter time, so a freshly created key or campaign works
//! quickly while a flood of bad keys still cannot reach the database.
//!
//! Lookups go through a circuit breaker with a timeout
//! (`ops.directory_timeout_ms`). While the directory fails or the breaker
//! is open, the last answer seen for a key or campaign is used even when
//! expired (`adpulse_gateway_directory_stale_total` counts it), so ingestion
//! of known senders goes on through a database outage; a key or campaign
//! never seen is refused with 503. The price: a key revoked during the
//! outage keeps working until the directory answers again.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use std::sync::Arc;

use adpulse_domain::ports::{CampaignFacts, Directory, KeyStatus, PortError};
use adpulse_domain::{CampaignId, TenantId, ingest_key};
use adpulse_resilience::{Breaker, BreakerConfig, Refused};
use axum::http::{HeaderMap, header};

/// How long a negative answer (unknown key, unknown campaign) is trusted.
const NEGATIVE_TTL: Duration = Duration::from_secs(2);
/// Entries per cache before expired ones are swept (and, failing that, all).
const MAX_ENTRIES: usize = 1_000_000;

/// Why a request is not authenticated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthFailure {
    /// No `Authorization: Bearer …` header.
    Missing,
    /// Not a key, or no such key.
    Invalid,
    /// The key was revoked.
    Revoked,
}

/// A small map with per-entry expiry. The lock is never held across an
/// `.await`: readers copy the value out.
pub(crate) struct TtlCache<K, V> {
    map: RwLock<HashMap<K, (V, Instant)>>,
}

impl<K: Eq + Hash, V: Clone> TtlCache<K, V> {
    pub(crate) fn new() -> Self {
        Self {
            map: RwLock::new(HashMap::new()),
        }
    }

    pub(crate) fn get(&self, k: &K, now: Instant) -> Option<V> {
        let map = self
            .map
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.get(k)
            .filter(|(_, exp)| *exp > now)
            .map(|(v, _)| v.clone())
    }

    /// The entry for `k`, expired or not: the fallback while the
    /// directory cannot answer.
    pub(crate) fn stale(&self, k: &K) -> Option<V> {
        let map = self
            .map
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.get(k).map(|(v, _)| v.clone())
    }

    pub(crate) fn insert(&self, k: K, v: V, expires: Instant) {
        let mut map = self
            .map
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() >= MAX_ENTRIES {
            let now = Instant::now();
            map.retain(|_, (_, exp)| *exp > now);
            if map.len() >= MAX_ENTRIES {
                map.clear();
            }
        }
        map.insert(k, (v, expires));
    }
}

/// The cached view of a [`Directory`].
pub struct Auth {
    directory: Arc<dyn Directory>,
    ttl: Duration,
    keys: TtlCache<[u8; 32], KeyStatus>,
    campaigns: TtlCache<CampaignId, Option<Arc<CampaignFacts>>>,
    breaker: Arc<Breaker>,
}

/// The directory breaker's settings unless the composition root gives
/// others (`ops.*`).
pub const DIRECTORY_BREAKER: BreakerConfig = BreakerConfig {
    failures: 5,
    open_for: Duration::from_secs(5),
    timeout: Duration::from_secs(1),
};

/// The last answer seen, `stale`, when the directory could not give one;
/// without one, why it could not.
fn stale_or<T>(
    why: Refused<PortError>,
    stale: Option<T>,
    what: &'static str,
) -> Result<T, PortError> {
    let Some(v) = stale else {
        return Err(why.into_error(PortError::retryable));
    };
    metrics::counter!("adpulse_gateway_directory_stale_total", "what" => what).increment(1);
    Ok(v)
}

impl Auth {
    /// Caches `directory`'s answers for `ttl`.
    pub fn new(directory: Arc<dyn Directory>, ttl: Duration) -> Self {
        Self {
            directory,
            ttl,
            keys: TtlCache::new(),
            campaigns: TtlCache::new(),
            breaker: Arc::new(Breaker::new("directory", DIRECTORY_BREAKER)),
        }
    }

    /// Trips the directory's breaker on `cfg` instead of the defaults.
    #[must_use]
    pub fn with_breaker(mut self, cfg: BreakerConfig) -> Self {
        self.breaker = Arc::new(Breaker::new("directory", cfg));
        self
    }

    /// The tenant of the request's bearer key.
    pub async fn tenant(
        &self,
        headers: &HeaderMap,
    ) -> Result<Result<TenantId, AuthFailure>, PortError> {
        let now = Instant::now();
        let hash = match self.local(headers, now) {
            Ok(answer) => return Ok(answer),
            Err(hash) => hash,
        };
        let status = match self.breaker.call(self.directory.key_status(hash)).await {
            Ok(status) => status,
            Err(why) => return stale_or(why, self.keys.stale(&hash), "key").map(answer),
        };
        let ttl = if matches!(status, KeyStatus::Unknown) {
            NEGATIVE_TTL.min(self.ttl)
        } else {
            self.ttl
        };
        self.keys.insert(hash, status, now + ttl);
        Ok(answer(status))
    }

    /// The answer for the request's key when it needs no directory lookup
    /// (no key, a malformed one, or one cached); `None` when it would.
    pub fn cached(&self, headers: &HeaderMap) -> Option<Result<TenantId, AuthFailure>> {
        self.local(headers, Instant::now()).ok()
    }

    /// The answer known without the directory, or the key hash to ask it.
    fn local(
        &self,
        headers: &HeaderMap,
        now: Instant,
    ) -> Result<Result<TenantId, AuthFailure>, [u8; 32]> {
        let Some(key) = bearer(headers) else {
            return Ok(Err(AuthFailure::Missing));
        };
        if !ingest_key::well_formed(key) {
            return Ok(Err(AuthFailure::Invalid));
        }
        let hash = ingest_key::hash(key);
        self.keys.get(&hash, now).map(answer).ok_or(hash)
    }

    /// What the gateway needs of `campaign`, if it exists.
    pub async fn campaign(
        &self,
        campaign: CampaignId,
    ) -> Result<Option<Arc<CampaignFacts>>, PortError> {
        let now = Instant::now();
        if let Some(c) = self.campaigns.get(&campaign, now) {
            return Ok(c);
        }
        let c = match self
            .breaker
            .call(self.directory.campaign_facts(campaign))
            .await
        {
            Ok(c) => c.map(Arc::new),
            Err(why) => return stale_or(why, self.campaigns.stale(&campaign), "campaign"),
        };
        let ttl = if c.is_none() {
            NEGATIVE_TTL.min(self.ttl)
        } else {
            self.ttl
        };
        self.campaigns.insert(campaign, c.clone(), now + ttl);
        Ok(c)
    }
}

fn answer(status: KeyStatus) -> Result<TenantId, AuthFailure> {
    match status {
        KeyStatus::Active(t) => Ok(t),
        KeyStatus::Revoked => Err(AuthFailure::Revoked),
        KeyStatus::Unknown => Err(AuthFailure::Invalid),
    }
}

/// The token of `Authorization: Bearer <token>`.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer(&h), None);
        h.insert(
            header::AUTHORIZATION,
            "Bearer adp_x".parse().expect("header"),
        );
        assert_eq!(bearer(&h), Some("adp_x"));
        h.insert(
            header::AUTHORIZATION,
            "bearer  adp_y ".parse().expect("header"),
        );
        assert_eq!(bearer(&h), Some("adp_y"));
        h.insert(header::AUTHORIZATION, "Basic abc".parse().expect("header"));
        assert_eq!(bearer(&h), None);
        h.insert(header::AUTHORIZATION, "Bearer ".parse().expect("header"));
        assert_eq!(bearer(&h), None);
    }

    /// A directory that knows one key and one campaign, and fails on
    /// demand (failure injection); it counts the lookups that reach it.
    struct Flaky {
        tenant: TenantId,
        down: std::sync::atomic::AtomicBool,
        lookups: std::sync::atomic::AtomicU32,
    }

    #[async_trait::async_trait]
    impl Directory for Flaky {
        async fn key_status(&self, _: [u8; 32]) -> Result<KeyStatus, PortError> {
            self.lookups
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if self.down.load(std::sync::atomic::Ordering::Relaxed) {
                return Err(PortError::retryable("injected: the directory is down"));
            }
            Ok(KeyStatus::Active(self.tenant))
        }
        async fn campaign_facts(&self, _: CampaignId) -> Result<Option<CampaignFacts>, PortError> {
            self.lookups
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if self.down.load(std::sync::atomic::Ordering::Relaxed) {
                return Err(PortError::retryable("injected: the directory is down"));
            }
            Ok(Some(CampaignFacts {
                tenant: self.tenant,
                timezone: "UTC".into(),
                frequency_cap: None,
            }))
        }
        async fn budget_stops(
            &self,
        ) -> Result<Vec<adpulse_domain::budget::StoppedCampaign>, PortError> {
            Ok(Vec::new())
        }
        async fn ping(&self) -> Result<(), PortError> {
            Ok(())
        }
    }

    fn with_key(key: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            format!("Bearer {key}").parse().expect("header"),
        );
        h
    }

    #[tokio::test]
    async fn a_directory_outage_serves_known_senders_from_stale_answers_behind_an_open_breaker() {
        let tenant = TenantId::from_uuid(uuid::Uuid::now_v7());
        let dir = Arc::new(Flaky {
            tenant,
            down: false.into(),
            lookups: 0.into(),
        });
        // Answers expire at once, so every request asks the directory.
        let auth = Auth::new(Arc::clone(&dir) as Arc<dyn Directory>, Duration::ZERO).with_breaker(
            BreakerConfig {
                failures: 3,
                open_for: Duration::from_secs(60),
                timeout: Duration::from_secs(1),
            },
        );
        let known = ingest_key::format_key([7; 32]);
        let stranger = ingest_key::format_key([9; 32]);
        let campaign = CampaignId::from_uuid(uuid::Uuid::now_v7());
        assert_eq!(
            auth.tenant(&with_key(&known)).await.expect("up"),
            Ok(tenant)
        );
        assert!(auth.campaign(campaign).await.expect("up").is_some());

        dir.down.store(true, std::sync::atomic::Ordering::Relaxed);
        for _ in 0..3 {
            assert_eq!(
                auth.tenant(&with_key(&known))
                    .await
                    .expect("the last answer seen"),
                Ok(tenant)
            );
        }
        let lookups = dir.lookups.load(std::sync::atomic::Ordering::Relaxed);
        // Open now: the directory is not asked, known senders still pass.
        for _ in 0..10 {
            assert_eq!(
                auth.tenant(&with_key(&known)).await.expect("stale"),
                Ok(tenant)
            );
            assert!(auth.campaign(campaign).await.expect("stale").is_some());
        }
        assert_eq!(
            dir.lookups.load(std::sync::atomic::Ordering::Relaxed),
            lookups,
            "an open breaker does not call the directory"
        );
        // A sender never seen has no fallback: refused (the gateway answers 503).
        assert!(auth.tenant(&with_key(&stranger)).await.is_err());
    }

    #[test]
    fn cache_entries_expire() {
        let c = TtlCache::new();
        let t0 = Instant::now();
        c.insert(1, 'a', t0 + Duration::from_secs(1));
        assert_eq!(c.get(&1, t0), Some('a'));
        assert_eq!(c.get(&1, t0 + Duration::from_secs(2)), None);
        assert_eq!(c.get(&2, t0), None);
    }
}
