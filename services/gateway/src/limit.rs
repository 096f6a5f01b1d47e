//! Rate limits: events per second per tenant (with per-tenant overrides),
//! malformed requests per second per tenant, and requests per second per
//! client IP for requests without a valid key (guessing keys, or a
//! misconfigured sender hammering with a dead one).
//!
//! GCRA from the `governor` crate, in memory: each replica enforces its share.
//! A tenant's limit across N replicas behind a balancer is therefore about N
//! times the configured rate; configure per replica.
//!
//! The two refusal budgets (malformed requests per tenant, unauthenticated
//! requests per IP) are charged only once a request turned out refused, but
//! asked before the work that refusal would waste: a tenant already over its
//! budget is answered 429 before its body is read, an address already over
//! its budget before its key is looked up in the directory. `governor` has
//! no "would one more fit" question that takes nothing, so a [`Budget`]
//! remembers, when a charge does not fit, the instant the next one would:
//! until then the key is closed. That is exactly GCRA's answer (nothing was
//! taken in between, so nothing refilled sooner), kept beside it.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{PoisonError, RwLock};
use std::time::Duration;

use adpulse_config::GatewayConfig;
use adpulse_domain::TenantId;
use governor::clock::{Clock, DefaultClock, Reference};
use governor::middleware::{StateInformationMiddleware, StateSnapshot};
use governor::state::keyed::DefaultKeyedStateStore;
use governor::state::{InMemoryState, NotKeyed};
use governor::{InsufficientCapacity, NotUntil, Quota, RateLimiter};

type Keyed<K, C> = RateLimiter<K, DefaultKeyedStateStore<K>, C, StateInformationMiddleware>;
type Direct<C> = RateLimiter<NotKeyed, InMemoryState, C, StateInformationMiddleware>;
type Checked<C> =
    Result<Result<StateSnapshot, NotUntil<<C as Clock>::Instant>>, InsufficientCapacity>;

/// The outcome of asking for `n` units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Go ahead.
    Allowed {
        /// The sustained rate per second.
        limit: u32,
        /// Units left in the current burst.
        remaining: u32,
    },
    /// Not now.
    Limited {
        /// The sustained rate per second.
        limit: u32,
        /// When the request would fit.
        retry_after: Duration,
    },
    /// More units than the burst can ever hold: never fits as one request.
    TooLarge {
        /// The burst size.
        burst: u32,
    },
}

/// A keyed quota of refusals that can also say, without taking a unit,
/// whether a key is closed (its last charge did not fit and the time it
/// would has not come).
struct Budget<K: Hash + Eq + Clone, C: Clock> {
    rate: u32,
    limiter: Keyed<K, C>,
    /// Closed keys and the instant their next unit fits. Written by a charge
    /// that does not fit and by `sweep`; read by `closed`. Never held across
    /// an `.await` (no method here is async).
    closed: RwLock<HashMap<K, C::Instant>>,
}

impl<K: Hash + Eq + Clone, C: Clock> Budget<K, C> {
    fn new(rate: u32, burst: u32, clock: &C) -> Self
    where
        C: Clone,
    {
        Self {
            rate,
            limiter: RateLimiter::dashmap_with_clock(
                Quota::per_second(nz(rate)).allow_burst(nz(burst)),
                clock.clone(),
            )
            .with_middleware::<StateInformationMiddleware>(),
            closed: RwLock::new(HashMap::new()),
        }
    }

    /// Takes one unit for `key`; when it does not fit, closes the key until
    /// it would.
    fn charge(&self, key: &K, now: C::Instant) -> Decision {
        match self.limiter.check_key(key) {
            Ok(s) => Decision::Allowed {
                limit: self.rate,
                remaining: s.remaining_burst_capacity(),
            },
            Err(not_until) => {
                let until = not_until.earliest_possible();
                self.closed
                    .write()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(key.clone(), until);
                Decision::Limited {
                    limit: self.rate,
                    retry_after: not_until.wait_time_from(now),
                }
            }
        }
    }

    /// How long `key` stays closed, if it is.
    fn closed(&self, key: &K, now: C::Instant) -> Option<Duration> {
        let closed = self.closed.read().unwrap_or_else(PoisonError::into_inner);
        closed
            .get(key)
            .filter(|until| **until > now)
            .map(|until| until.duration_since(now).into())
    }

    /// Forgets keys that reopened and buckets that are full again.
    fn sweep(&self, now: C::Instant) {
        self.closed
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|_, until| *until > now);
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }
}

/// All the gateway's limiters, on clock `C` (a fake one in tests).
pub struct Limiter<C: Clock = DefaultClock> {
    clock: C,
    tenant_rate: u32,
    tenants: Keyed<TenantId, C>,
    overrides: HashMap<TenantId, (Direct<C>, u32)>,
    refusals: Budget<TenantId, C>,
    ips: Budget<IpAddr, C>,
}

fn nz(v: u32) -> NonZeroU32 {
    NonZeroU32::new(v).unwrap_or(NonZeroU32::MIN)
}

impl Limiter {
    /// Limiters with the configured quotas. Overrides whose key is not a
    /// tenant id are reported as an error.
    pub fn new(cfg: &GatewayConfig) -> Result<Self, String> {
        Self::with_clock(cfg, DefaultClock::default())
    }
}

impl<C: Clock + Clone> Limiter<C> {
    /// [`Limiter::new`] on `clock`.
    pub fn with_clock(cfg: &GatewayConfig, clock: C) -> Result<Self, String> {
        let burst_ratio =
            f64::from(cfg.tenant_burst.max(1)) / f64::from(cfg.tenant_events_per_sec.max(1));
        let quota = |rate: u32, burst: u32| Quota::per_second(nz(rate)).allow_burst(nz(burst));
        let mut overrides = HashMap::new();
        for (tenant, rate) in &cfg.tenant_quotas {
            let id = tenant
                .parse::<uuid::Uuid>()
                .map_err(|_| format!("gateway.tenant_quotas: {tenant:?} is not a tenant id"))?;
            let burst = (f64::from(*rate) * burst_ratio).round() as u32;
            let limiter = RateLimiter::direct_with_clock(quota(*rate, burst), clock.clone())
                .with_middleware::<StateInformationMiddleware>();
            overrides.insert(TenantId::from_uuid(id), (limiter, *rate));
        }
        Ok(Self {
            tenant_rate: cfg.tenant_events_per_sec,
            tenants: RateLimiter::dashmap_with_clock(
                quota(cfg.tenant_events_per_sec, cfg.tenant_burst),
                clock.clone(),
            )
            .with_middleware::<StateInformationMiddleware>(),
            overrides,
            refusals: Budget::new(
                cfg.tenant_refusals_per_sec,
                cfg.tenant_refusal_burst,
                &clock,
            ),
            ips: Budget::new(
                cfg.unauthenticated_per_ip_per_sec,
                cfg.unauthenticated_per_ip_per_sec.saturating_mul(2),
                &clock,
            ),
            clock,
        })
    }

    /// Takes `n` events from `tenant`'s quota.
    pub fn tenant(&self, tenant: TenantId, n: u32) -> Decision {
        let n = nz(n);
        match self.overrides.get(&tenant) {
            Some((l, rate)) => self.decide(l.check_n(n), *rate),
            None => self.decide(self.tenants.check_key_n(&tenant, n), self.tenant_rate),
        }
    }

    /// Charges one malformed request to `tenant`'s refusal budget.
    pub fn refusal(&self, tenant: TenantId) -> Decision {
        self.refusals.charge(&tenant, self.clock.now())
    }

    /// How long `tenant` stays over its refusal budget, if it is.
    pub fn refusals_closed(&self, tenant: TenantId) -> Option<Duration> {
        self.refusals.closed(&tenant, self.clock.now())
    }

    /// The sustained rate of the refusal budget.
    pub fn refusal_rate(&self) -> u32 {
        self.refusals.rate
    }

    /// Charges one request without a valid key to `ip`'s budget.
    pub fn unauthenticated(&self, ip: IpAddr) -> Decision {
        self.ips.charge(&ip, self.clock.now())
    }

    /// How long `ip` stays over its unauthenticated budget, if it is.
    pub fn unauthenticated_closed(&self, ip: IpAddr) -> Option<Duration> {
        self.ips.closed(&ip, self.clock.now())
    }

    /// The sustained rate of the unauthenticated budget.
    pub fn unauthenticated_rate(&self) -> u32 {
        self.ips.rate
    }

    fn decide(&self, r: Checked<C>, limit: u32) -> Decision {
        match r {
            Ok(Ok(s)) => Decision::Allowed {
                limit,
                remaining: s.remaining_burst_capacity(),
            },
            Ok(Err(not_until)) => Decision::Limited {
                limit,
                retry_after: not_until.wait_time_from(self.clock.now()),
            },
            Err(InsufficientCapacity(burst)) => Decision::TooLarge { burst },
        }
    }

    /// Forgets idle keys; call periodically so the IP tables stay bounded.
    pub fn sweep(&self) {
        let now = self.clock.now();
        self.tenants.retain_recent();
        self.tenants.shrink_to_fit();
        self.refusals.sweep(now);
        self.ips.sweep(now);
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use governor::clock::FakeRelativeClock;

    use super::*;

    fn limiter(
        refusals: u32,
        burst: u32,
        ip: u32,
    ) -> (Limiter<FakeRelativeClock>, FakeRelativeClock) {
        let cfg = GatewayConfig {
            tenant_refusals_per_sec: refusals,
            tenant_refusal_burst: burst,
            unauthenticated_per_ip_per_sec: ip,
            ..GatewayConfig::default()
        };
        let clock = FakeRelativeClock::default();
        clock.advance(Duration::from_secs(1));
        (
            Limiter::with_clock(&cfg, clock.clone()).expect("limiter"),
            clock,
        )
    }

    fn tenant() -> TenantId {
        TenantId::from_uuid(uuid::Uuid::new_v4())
    }

    #[test]
    fn a_tenant_is_open_until_a_refusal_does_not_fit_then_closed_until_it_would() {
        let (l, clock) = limiter(2, 3, 20);
        let (t, other) = (tenant(), tenant());
        for _ in 0..3 {
            assert_eq!(l.refusals_closed(t), None, "asking takes nothing");
            assert!(matches!(l.refusal(t), Decision::Allowed { .. }));
        }
        // The burst is spent, but nothing was refused yet: still open.
        assert_eq!(l.refusals_closed(t), None);
        let Decision::Limited { retry_after, limit } = l.refusal(t) else {
            panic!("the fourth refusal in an instant is over a burst of 3");
        };
        assert_eq!((limit, retry_after), (2, Duration::from_millis(500)));
        assert_eq!(l.refusals_closed(t), Some(Duration::from_millis(500)));
        assert_eq!(l.refusals_closed(other), None, "per tenant");
        clock.advance(Duration::from_millis(499));
        assert_eq!(l.refusals_closed(t), Some(Duration::from_millis(1)));
        clock.advance(Duration::from_millis(1));
        assert_eq!(l.refusals_closed(t), None, "reopens when a unit fits");
        assert!(matches!(l.refusal(t), Decision::Allowed { .. }));
        assert!(matches!(l.refusal(t), Decision::Limited { .. }));
        assert!(l.refusals_closed(t).is_some());
    }

    #[test]
    fn sustained_refusals_get_the_rate_and_no_more() {
        let (l, clock) = limiter(10, 5, 20);
        let t = tenant();
        // A sender refused every millisecond for 10 s, asking first as the
        // gateway does: 5 (burst) + 10/s × 10 s get through.
        let mut allowed = 0;
        for _ in 0..10_000 {
            if l.refusals_closed(t).is_none() && matches!(l.refusal(t), Decision::Allowed { .. }) {
                allowed += 1;
            }
            clock.advance(Duration::from_millis(1));
        }
        assert!((104..=106).contains(&allowed), "{allowed}");
    }

    #[test]
    fn addresses_without_a_key_close_after_twice_their_rate() {
        let (l, clock) = limiter(20, 100, 3);
        let ip = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7));
        let other = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 8));
        let allowed = (0..10)
            .filter(|_| matches!(l.unauthenticated(ip), Decision::Allowed { .. }))
            .count();
        assert_eq!(allowed, 6);
        assert!(l.unauthenticated_closed(ip).is_some());
        assert_eq!(l.unauthenticated_closed(other), None);
        clock.advance(Duration::from_secs(1));
        assert_eq!(l.unauthenticated_closed(ip), None);
    }

    #[test]
    fn sweep_forgets_reopened_keys() {
        let (l, clock) = limiter(1, 1, 1);
        let t = tenant();
        l.refusal(t);
        l.refusal(t);
        assert_eq!(l.refusals.closed.read().expect("lock").len(), 1);
        l.sweep();
        assert_eq!(
            l.refusals.closed.read().expect("lock").len(),
            1,
            "still closed"
        );
        clock.advance(Duration::from_secs(5));
        l.sweep();
        assert!(l.refusals.closed.read().expect("lock").is_empty());
    }
}
