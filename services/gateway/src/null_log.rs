//! An [`EventLog`] that acknowledges everything at once and keeps nothing:
//! for measuring the gateway alone (the benchmark's "null sink"). Never for
//! serving real traffic.

use std::time::Duration;

use adpulse_domain::ports::{EventLog, LogRecord, PortError};

/// Acknowledges and drops every record.
#[derive(Clone, Copy, Debug, Default)]
pub struct NullEventLog;

#[async_trait::async_trait]
impl EventLog for NullEventLog {
    async fn append(&self, records: Vec<LogRecord>) -> Vec<Result<(), PortError>> {
        records.iter().map(|_| Ok(())).collect()
    }

    async fn ready(&self) -> bool {
        true
    }

    fn in_flight(&self) -> usize {
        0
    }

    async fn flush(&self, _timeout: Duration) -> Result<(), PortError> {
        Ok(())
    }
}
