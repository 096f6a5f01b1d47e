//! `[ops]`: what operators reach while the platform runs: the kill
//! switches (`adpulse_domain::switch`) and the token of their API, and the
//! circuit breakers around dependencies (`adpulse_resilience`).

use serde::Deserialize;

use crate::Secret;
use crate::check::Checker;

/// Kill switches: how often every process reads them, and who may change
/// them through the API.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OpsConfig {
    /// How often each process reads the switches in force, in
    /// milliseconds: a switch takes effect on every replica within it.
    pub switch_poll_ms: u64,
    /// The bearer token of `/api/v1/ops/*` (the kill switches through the
    /// API). Unset: those routes answer 404 and switches change through
    /// `adpulse admin switch` only. At least 32 characters.
    pub token: Option<Secret<String>>,
    /// Failures in a row that open a dependency's circuit breaker (Redis
    /// for capping and live numbers, object storage, the directory).
    pub breaker_failures: u32,
    /// How long an open breaker refuses calls before one trial, in
    /// milliseconds.
    pub breaker_open_ms: u64,
    /// The longest the gateway waits for one directory lookup (an ingest
    /// key, a campaign) before its breaker counts a failure, in
    /// milliseconds.
    pub directory_timeout_ms: u64,
    /// The longest one object-storage call (a creative's bytes) may take,
    /// in milliseconds.
    pub object_storage_timeout_ms: u64,
}

impl Default for OpsConfig {
    fn default() -> Self {
        Self {
            switch_poll_ms: 1_000,
            token: None,
            breaker_failures: 5,
            breaker_open_ms: 5_000,
            directory_timeout_ms: 1_000,
            object_storage_timeout_ms: 10_000,
        }
    }
}

impl OpsConfig {
    pub(crate) fn check(&self, c: &mut Checker) {
        c.positive(self.switch_poll_ms, "ops.switch_poll_ms");
        if let Some(t) = &self.token {
            c.require(
                t.expose().len() >= 32,
                "ops.token",
                "must be at least 32 characters",
            );
        }
        c.positive(u64::from(self.breaker_failures), "ops.breaker_failures");
        c.positive(self.breaker_open_ms, "ops.breaker_open_ms");
        c.positive(self.directory_timeout_ms, "ops.directory_timeout_ms");
        c.positive(
            self.object_storage_timeout_ms,
            "ops.object_storage_timeout_ms",
        );
    }
}
