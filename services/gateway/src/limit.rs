//! Rate limits: events per second per tenant (with per-tenant overrides) and
//! requests per second per client IP for requests without a valid key
//! (guessing keys, or a misconfigured sender hammering with a dead one).
//!
//! GCRA from the `governor` crate, in memory: each replica enforces its share.
//! A tenant's limit across N replicas behind a balancer is therefore about N
//! times the configured rate; configure per replica.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use adpulse_config::GatewayConfig;
use adpulse_domain::TenantId;
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};

type Keyed<K> = RateLimiter<K, DefaultKeyedStateStore<K>, DefaultClock, StateInformationMiddleware>;
type Direct = RateLimiter<NotKeyed, InMemoryState, DefaultClock, StateInformationMiddleware>;

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

/// All the gateway's limiters.
pub struct Limiter {
    clock: DefaultClock,
    tenant_rate: u32,
    tenants: Keyed<TenantId>,
    overrides: HashMap<TenantId, (Direct, u32)>,
    ip_rate: u32,
    ips: Keyed<IpAddr>,
}

fn nz(v: u32) -> NonZeroU32 {
    NonZeroU32::new(v).unwrap_or(NonZeroU32::MIN)
}

impl Limiter {
    /// Limiters with the configured quotas. Overrides whose key is not a
    /// tenant id are reported as an error.
    pub fn new(cfg: &GatewayConfig) -> Result<Self, String> {
        let clock = DefaultClock::default();
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
            ip_rate: cfg.unauthenticated_per_ip_per_sec,
            ips: RateLimiter::dashmap_with_clock(
                quota(
                    cfg.unauthenticated_per_ip_per_sec,
                    cfg.unauthenticated_per_ip_per_sec.saturating_mul(2),
                ),
                clock.clone(),
            )
            .with_middleware::<StateInformationMiddleware>(),
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

    /// Takes one request from `ip`'s unauthenticated quota.
    pub fn unauthenticated(&self, ip: IpAddr) -> Decision {
        self.decide(self.ips.check_key_n(&ip, NonZeroU32::MIN), self.ip_rate)
    }

    fn decide(
        &self,
        r: Result<
            Result<
                governor::middleware::StateSnapshot,
                governor::NotUntil<<DefaultClock as Clock>::Instant>,
            >,
            governor::InsufficientCapacity,
        >,
        limit: u32,
    ) -> Decision {
        match r {
            Ok(Ok(s)) => Decision::Allowed {
                limit,
                remaining: s.remaining_burst_capacity(),
            },
            Ok(Err(not_until)) => Decision::Limited {
                limit,
                retry_after: not_until.wait_time_from(self.clock.now()),
            },
            Err(governor::InsufficientCapacity(burst)) => Decision::TooLarge { burst },
        }
    }

    /// Forgets idle keys; call periodically so the IP table stays bounded.
    pub fn sweep(&self) {
        self.tenants.retain_recent();
        self.ips.retain_recent();
        self.tenants.shrink_to_fit();
        self.ips.shrink_to_fit();
    }
}
