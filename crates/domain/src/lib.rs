//! The adpulse domain model: what an ad event is, which values are valid, and
//! the precise reasons one is not.
//!
//! This crate is pure: no IO, no clock of its own (callers pass `now`), no
//! vendor types. Every service and adapter speaks these types, so a rule
//! about what an event may contain lives here exactly once.

pub mod aggregate;
pub mod alert;
pub mod archive;
pub mod budget;
pub mod campaign;
pub mod contract;
pub mod error;
pub mod event;
pub mod ids;
pub mod ingest_key;
pub mod limits;
mod parse;
pub mod partition;
pub mod ports;
pub mod reach;
pub mod report;
pub mod store;
pub mod switch;
pub mod targeting;
pub mod time;

pub use campaign::{CampaignStatus, Role};
pub use error::{ErrorCode, FieldError, RejectReason};
pub use event::{Channel, Event, EventType, Micros, UserIds};
pub use ids::{AdId, CampaignId, EventId, TenantId};
pub use limits::Limits;
pub use parse::{CapCall, CapQuery, parse_cap_query, parse_event};
