//! The Kafka adapter: the only crate that speaks rdkafka.
//!
//! It turns [`adpulse_config::KafkaConfig`] into correctly configured clients
//! (idempotent producer with `acks=all`, Java-compatible key placement) and
//! maps librdkafka's errors to [`KafkaError`], which says whether a retry can
//! help. Policy (what to send where, what to do on failure) is the caller's.

mod admin;
mod consumer;
mod error;
mod event_log;
mod producer;

pub use admin::Admin;
/// Which partition a key lands on (the function lives in the domain: the
/// embedded log places keys the same way).
pub use adpulse_domain::partition;
pub use consumer::{Consumer, GroupConsumer, Record};
pub use error::KafkaError;
pub use event_log::KafkaEventLog;
pub use producer::{Delivery, Producer};
