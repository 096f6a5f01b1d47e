//! Kafka failures, classified for the caller's retry policy.

use rdkafka::error::{KafkaError as RdError, RDKafkaErrorCode as Code};

/// A Kafka operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum KafkaError {
    /// The client could not be created (a bad setting).
    #[error("kafka client configuration rejected: {0}")]
    Config(String),
    /// The cluster did not answer in time or is unreachable; retrying later
    /// may succeed.
    #[error("kafka unavailable: {0}")]
    Unavailable(String),
    /// The cluster refused the operation; retrying the same will fail again.
    #[error("kafka refused the request: {0}")]
    Refused(String),
}

impl KafkaError {
    /// Whether the same operation may succeed if retried later.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}

impl From<RdError> for KafkaError {
    fn from(e: RdError) -> Self {
        let msg = e.to_string();
        match e {
            RdError::ClientCreation(_) | RdError::ClientConfig(..) => Self::Config(msg),
            _ => match e.rdkafka_error_code() {
                Some(
                    Code::MessageTimedOut
                    | Code::QueueFull
                    | Code::BrokerTransportFailure
                    | Code::AllBrokersDown
                    | Code::OperationTimedOut
                    | Code::RequestTimedOut
                    | Code::NotEnoughReplicas
                    | Code::NotEnoughReplicasAfterAppend
                    | Code::LeaderNotAvailable
                    | Code::NotLeaderForPartition
                    | Code::NetworkException
                    | Code::CoordinatorLoadInProgress
                    | Code::CoordinatorNotAvailable,
                )
                | None => Self::Unavailable(msg),
                Some(_) => Self::Refused(msg),
            },
        }
    }
}
