//! Publishing with the guarantee the gateway's 202 depends on: a send
//! resolves only when every in-sync replica has the record.

use std::time::Duration;

use adpulse_config::KafkaConfig;
use rdkafka::ClientConfig;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer as _};
use rdkafka::util::Timeout;

use crate::KafkaError;

/// Where an acknowledged record was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// The partition the key was placed on.
    pub partition: i32,
    /// The record's offset in it.
    pub offset: i64,
}

/// An idempotent, `acks=all` producer placing keys like the Java client.
#[derive(Clone)]
pub struct Producer {
    pub(crate) inner: FutureProducer,
    delivery_timeout: Duration,
}

impl Producer {
    /// A producer for the configured cluster.
    pub fn new(cfg: &KafkaConfig) -> Result<Self, KafkaError> {
        let inner: FutureProducer = ClientConfig::new()
            .set("bootstrap.servers", &cfg.brokers)
            .set("client.id", &cfg.client_id)
            // No duplicates or reordering on internal retries; every replica
            // in sync must have the record before it counts as sent.
            .set("enable.idempotence", "true")
            .set("acks", "all")
            // The Java client's placement for keyed records.
            .set("partitioner", "murmur2_random")
            .set("message.timeout.ms", cfg.delivery_timeout_ms.to_string())
            .set("request.timeout.ms", cfg.request_timeout_ms.to_string())
            .set("socket.timeout.ms", cfg.request_timeout_ms.to_string())
            // Throughput: batch for a few milliseconds, compress batches.
            .set("linger.ms", cfg.linger_ms.to_string())
            .set("compression.type", &cfg.compression)
            .create()?;
        Ok(Self {
            inner,
            delivery_timeout: Duration::from_millis(cfg.delivery_timeout_ms),
        })
    }

    /// Sends one record and waits until the cluster acknowledged it.
    pub async fn send(
        &self,
        topic: &str,
        key: &[u8],
        payload: &[u8],
        headers: &[(&str, &[u8])],
    ) -> Result<Delivery, KafkaError> {
        let mut h = OwnedHeaders::new_with_capacity(headers.len());
        for (k, v) in headers {
            h = h.insert(Header {
                key: k,
                value: Some(*v),
            });
        }
        let record = FutureRecord::to(topic).key(key).payload(payload).headers(h);
        match self
            .inner
            .send(record, Timeout::After(self.delivery_timeout))
            .await
        {
            Ok(d) => Ok(Delivery {
                partition: d.partition,
                offset: d.offset,
            }),
            Err((e, _)) => Err(e.into()),
        }
    }

    /// Waits for in-flight records, up to `timeout`.
    pub fn flush(&self, timeout: Duration) -> Result<(), KafkaError> {
        self.inner
            .flush(Timeout::After(timeout))
            .map_err(Into::into)
    }
}
