//! `[ops]`: what operators reach while the platform runs: the kill
//! switches (`adpulse_domain::switch`) and the token of their API.

use serde::Deserialize;

use crate::Secret;

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
}

impl Default for OpsConfig {
    fn default() -> Self {
        Self {
            switch_poll_ms: 1_000,
            token: None,
        }
    }
}
