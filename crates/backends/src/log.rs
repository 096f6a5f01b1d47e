//! [`Log`]: the event log a service appends to.

use std::time::Duration;

use adpulse_domain::ports::{EventLog, LogRecord, PortError};
use adpulse_embedded::LocalLog;
use adpulse_kafka::KafkaEventLog;

/// The event log: Kafka in production, segment files embedded.
#[derive(Clone)]
pub enum Log {
    /// Kafka.
    Kafka(KafkaEventLog),
    /// Files in the data folder.
    Local(LocalLog),
}

impl EventLog for Log {
    async fn append(&self, records: Vec<LogRecord>) -> Vec<Result<(), PortError>> {
        match self {
            Self::Kafka(l) => l.append(records).await,
            Self::Local(l) => l.append(records).await,
        }
    }

    async fn ready(&self) -> bool {
        match self {
            Self::Kafka(l) => l.ready().await,
            Self::Local(l) => l.ready().await,
        }
    }

    fn in_flight(&self) -> usize {
        match self {
            Self::Kafka(l) => l.in_flight(),
            Self::Local(l) => l.in_flight(),
        }
    }

    async fn flush(&self, timeout: Duration) -> Result<(), PortError> {
        match self {
            Self::Kafka(l) => l.flush(timeout).await,
            Self::Local(l) => l.flush(timeout).await,
        }
    }
}
