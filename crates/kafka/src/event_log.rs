//! [`EventLog`] on Kafka: accepted events to the events topic keyed by
//! campaign, refused input to the rejected topic.

use std::time::Duration;

use adpulse_config::KafkaConfig;
use adpulse_domain::ports::{EventLog, LogRecord, PortError, Stream};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureRecord, Producer as _};
use rdkafka::util::Timeout;

use crate::{KafkaError, Producer};

impl From<KafkaError> for PortError {
    fn from(e: KafkaError) -> Self {
        Self::caused_by(e.is_retryable(), e)
    }
}

/// The event log of the configured cluster and topics.
#[derive(Clone)]
pub struct KafkaEventLog {
    producer: Producer,
    events_topic: String,
    rejected_topic: String,
    metrics_topic: String,
}

impl KafkaEventLog {
    /// A log writing through a new producer.
    pub fn new(cfg: &KafkaConfig) -> Result<Self, KafkaError> {
        Ok(Self {
            producer: Producer::new(cfg)?,
            events_topic: cfg.events_topic.clone(),
            rejected_topic: cfg.rejected_topic.clone(),
            metrics_topic: cfg.metrics_topic.clone(),
        })
    }

    fn topic(&self, stream: Stream) -> &str {
        match stream {
            Stream::Events => &self.events_topic,
            Stream::Rejected => &self.rejected_topic,
            Stream::CampaignMetrics => &self.metrics_topic,
        }
    }
}

#[async_trait::async_trait]
impl EventLog for KafkaEventLog {
    async fn append(&self, records: Vec<LogRecord>) -> Vec<Result<(), PortError>> {
        // Enqueue everything first (non-blocking; a full local queue fails at
        // once), then await the acknowledgements, which arrive in parallel.
        let pending: Vec<_> = records
            .iter()
            .map(|r| {
                let mut headers = OwnedHeaders::new_with_capacity(r.headers.len());
                for (k, v) in &r.headers {
                    headers = headers.insert(Header {
                        key: k,
                        value: Some(v.as_slice()),
                    });
                }
                let record = FutureRecord::to(self.topic(r.stream))
                    .key(&r.key)
                    .payload(&r.payload)
                    .headers(headers);
                self.producer
                    .inner
                    .send_result(record)
                    .map_err(|(e, _)| PortError::from(KafkaError::from(e)))
            })
            .collect();
        let mut out = Vec::with_capacity(pending.len());
        for p in pending {
            out.push(match p {
                Err(e) => Err(e),
                Ok(delivery) => match delivery.await {
                    Ok(Ok(_)) => Ok(()),
                    Ok(Err((e, _))) => Err(KafkaError::from(e).into()),
                    Err(_) => Err(PortError::retryable(
                        "kafka producer shut down before delivery",
                    )),
                },
            });
        }
        out
    }

    async fn ready(&self) -> bool {
        let client = self.producer.inner.clone();
        let topic = self.events_topic.clone();
        tokio::task::spawn_blocking(move || {
            client
                .client()
                .fetch_metadata(Some(&topic), Duration::from_secs(1))
                .is_ok_and(|md| {
                    md.topics()
                        .iter()
                        .any(|t| t.name() == topic && t.error().is_none())
                })
        })
        .await
        .unwrap_or(false)
    }

    fn in_flight(&self) -> usize {
        usize::try_from(self.producer.inner.in_flight_count()).unwrap_or(0)
    }

    async fn flush(&self, timeout: Duration) -> Result<(), PortError> {
        let client = self.producer.inner.clone();
        tokio::task::spawn_blocking(move || client.flush(Timeout::After(timeout)))
            .await
            .map_err(|e| PortError::retryable(format!("flush task failed: {e}")))?
            .map_err(|e| KafkaError::from(e).into())
    }
}
