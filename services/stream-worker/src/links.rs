//! Which identity links the worker hands to its flushes. Every event that
//! carries a weak id (device, cookie) beside a strong one (login, e-mail)
//! teaches frequency capping a link; writing each link once an hour is
//! plenty (each write pushes its expiry out), so the worker remembers what
//! it handed over and skips repeats.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use adpulse_capping::identity::Ids;
use adpulse_domain::{TenantId, UserIds};

/// How often the worker forgets which links it wrote.
const RELEARN_AFTER: Duration = Duration::from_secs(3_600);
/// Most links remembered as written.
const MAX_TAUGHT: usize = 1_000_000;

/// Links handed to a flush lately (weak → strong), not handed again until
/// the map is cleared (hourly, or when it grows large).
pub(crate) struct Taught {
    /// Whether links are kept at all (capping keeps shared counters).
    enabled: bool,
    links: HashMap<String, String>,
    since: Instant,
}

impl Taught {
    pub fn new(enabled: bool) -> Self {
        Self {
            enabled,
            links: HashMap::new(),
            since: Instant::now(),
        }
    }

    /// The links `user` teaches within `tenant` that were not handed over
    /// lately; from now on they count as handed over.
    pub fn fresh(&mut self, user: Option<&UserIds>, tenant: TenantId) -> Vec<(String, String)> {
        let Some(user) = user.filter(|_| self.enabled) else {
            return Vec::new();
        };
        let scope = tenant.to_string();
        let ids = Ids {
            device_id: user.device_id.as_deref(),
            cookie_id: user.cookie_id.as_deref(),
            login_id: user.login_id.as_deref(),
            email_sha256: user.email_sha256.as_deref(),
            scope: Some(&scope),
        };
        if !ids.teaches() {
            return Vec::new();
        }
        if self.since.elapsed() >= RELEARN_AFTER || self.links.len() >= MAX_TAUGHT {
            self.links.clear();
            self.since = Instant::now();
        }
        let mut fresh = Vec::new();
        for (weak, strong) in ids.links() {
            if self.links.get(&weak) != Some(&strong) {
                self.links.insert(weak.clone(), strong.clone());
                fresh.push((weak, strong));
            }
        }
        fresh
    }
}
