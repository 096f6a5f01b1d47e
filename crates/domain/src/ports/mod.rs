//! The ports: the small interfaces through which services reach the outside
//! world, one trait per capability. Each has a production adapter (Kafka,
//! Postgres, CQL, Redis) in its own crate and an embedded one (files,
//! SQLite, memory) for `adpulse up`; services hold them as `Arc<dyn Port>`
//! and never name an adapter, so routing and policy stay in the service and
//! adapters stay mechanism. The composition root (`services/adpulse`)
//! opens the adapters and hands them over.
//!
//! | capability | trait | production | embedded |
//! |---|---|---|---|
//! | append events | [`EventLog`] | Kafka | segment files |
//! | consume events | [`EventSource`] | Kafka group | segment files |
//! | ingest keys, campaign owners | [`Directory`] | Postgres | SQLite |
//! | partition claims, aggregates | [`AggregateSink`] | Postgres | SQLite |
//! | reports | [`ReportSource`] | Postgres | SQLite |
//! | users and sessions | [`UserStore`] | Postgres | SQLite |
//! | campaigns | [`CampaignStore`] | Postgres | SQLite |
//! | creatives | [`CreativeStore`] | Postgres | SQLite |
//! | tenants, ingest keys | [`TenantAdmin`] | Postgres | SQLite |
//! | alert rules, channels, delivery log | [`AlertStore`] | Postgres | SQLite |
//! | alert states, history, outbox | [`AlertLedger`] | Postgres | SQLite |
//! | kill switches and their audit | [`Switches`] | Postgres | SQLite |
//! | all of the relational store | [`Store`] | Postgres | SQLite |
//! | raw events | [`RawArchive`] | CQL | SQLite |
//! | live counters | [`LiveCounters`] | Redis | memory |
//!
//! Frequency capping's counter and link stores are ports of the capping
//! crate (`adpulse_capping::{CapStore, LinkStore}`): they speak its types.
//!
//! Every trait is object-safe (`#[async_trait]`): one boxed future per call
//! costs nothing next to the network round trip behind it, and it spares
//! every service a type parameter per port and a delegating type per
//! runtime choice.

mod alerts;
mod archive;
mod directory;
mod live;
mod log;
mod store;
mod switches;

pub use alerts::{AlertLedger, AlertStore, Replayed};
pub use archive::RawArchive;
pub use directory::{CampaignFacts, Directory, KeyStatus};
pub use live::{LiveCounters, LiveTotals, LiveView};
pub use log::{ConsumedRecord, EventLog, EventSource, LogRecord, Stream};
use std::error::Error;
use std::fmt;
use std::sync::Arc;

pub use store::{
    AggregateSink, CampaignStore, Connected, CreativeStore, Each, ReportSource, Store, TenantAdmin,
    UserStore,
};
pub use switches::Switches;

/// A failure of an outside system, as a service needs to see it: whether
/// a retry may help, and what went wrong. An adapter passes its own error
/// as the cause ([`PortError::caused_by`]) rather than its text, so the
/// chain of causes (a driver error, the I/O error under it) reaches the
/// logs; the port error says what its cause says and its
/// [`source`](Error::source) is the cause's own source, so no text is
/// repeated along the chain.
#[derive(Clone, Debug)]
pub struct PortError {
    /// Whether retrying later may succeed (unreachable, timed out, overloaded)
    /// as opposed to a request the system will always refuse.
    pub retryable: bool,
    cause: Cause,
}

/// What a [`PortError`] says. `Arc`, not `Box`, so the error stays `Clone`
/// (the event log hands one failure to every record of a batch).
#[derive(Clone, Debug)]
enum Cause {
    Message(String),
    Error(Arc<dyn Error + Send + Sync>),
}

impl PortError {
    /// A failure a later retry may not see.
    pub fn retryable(message: impl Into<String>) -> Self {
        Self {
            retryable: true,
            cause: Cause::Message(message.into()),
        }
    }

    /// A failure that will repeat.
    pub fn permanent(message: impl Into<String>) -> Self {
        Self {
            retryable: false,
            cause: Cause::Message(message.into()),
        }
    }

    /// A failure caused by `source`, an adapter's error.
    pub fn caused_by(retryable: bool, source: impl Into<Box<dyn Error + Send + Sync>>) -> Self {
        Self {
            retryable,
            cause: Cause::Error(Arc::from(source.into())),
        }
    }

    /// The adapter's error that caused this one, if any (to downcast).
    pub fn cause(&self) -> Option<&(dyn Error + Send + Sync + 'static)> {
        match &self.cause {
            Cause::Message(_) => None,
            Cause::Error(e) => Some(e.as_ref()),
        }
    }
}

impl fmt::Display for PortError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.cause {
            Cause::Message(m) => f.write_str(m),
            Cause::Error(e) => fmt::Display::fmt(e, f),
        }
    }
}

impl Error for PortError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match &self.cause {
            Cause::Message(_) => None,
            Cause::Error(e) => e.source(),
        }
    }
}

/// Two failures are equal when they say the same and agree on retrying
/// (causes are compared by what they say: errors are rarely comparable).
impl PartialEq for PortError {
    fn eq(&self, other: &Self) -> bool {
        self.retryable == other.retryable && self.to_string() == other.to_string()
    }
}

impl Eq for PortError {}

/// Every port trait, imported anonymously (`use adpulse_domain::ports::prelude::*;`)
/// so an adapter's port methods can be called on it directly (tests,
/// benchmarks and the composition root do).
pub mod prelude {
    pub use super::{
        AggregateSink as _, CampaignStore as _, Connected as _, CreativeStore as _, Directory as _,
        EventLog as _, EventSource as _, LiveCounters as _, RawArchive as _, ReportSource as _,
        TenantAdmin as _, UserStore as _,
    };
}
