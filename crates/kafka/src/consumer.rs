//! Reading records back, partition by partition.

use std::time::Duration;

use adpulse_config::KafkaConfig;
use rdkafka::consumer::{Consumer as _, StreamConsumer};
use rdkafka::message::{Headers as _, Message as _};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

use crate::KafkaError;

/// One record as read from a partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// The partition it was read from.
    pub partition: i32,
    /// Its offset there.
    pub offset: i64,
    /// The key, if any.
    pub key: Option<Vec<u8>>,
    /// The value, if any.
    pub payload: Option<Vec<u8>>,
    /// Headers in order.
    pub headers: Vec<(String, Vec<u8>)>,
}

/// A consumer with an explicit assignment (no group rebalancing, no offset
/// commits): the caller decides where each partition starts.
pub struct Consumer {
    inner: StreamConsumer,
}

impl Consumer {
    /// Reads every partition of `topic` from its first offset.
    pub fn from_beginning(
        cfg: &KafkaConfig,
        topic: &str,
        partitions: i32,
    ) -> Result<Self, KafkaError> {
        let inner: StreamConsumer = ClientConfig::new()
            .set("bootstrap.servers", &cfg.brokers)
            .set("client.id", &cfg.client_id)
            .set("group.id", format!("{}-reader", cfg.client_id))
            .set("enable.auto.commit", "false")
            .set("isolation.level", "read_committed")
            .set("socket.timeout.ms", cfg.request_timeout_ms.to_string())
            .create()?;
        let mut tpl = TopicPartitionList::with_capacity(usize::try_from(partitions).unwrap_or(0));
        for p in 0..partitions {
            tpl.add_partition_offset(topic, p, Offset::Beginning)?;
        }
        inner.assign(&tpl)?;
        Ok(Self { inner })
    }

    /// The next record, or `None` if none arrives within `timeout`.
    pub async fn recv(&self, timeout: Duration) -> Result<Option<Record>, KafkaError> {
        let msg = match tokio::time::timeout(timeout, self.inner.recv()).await {
            Err(_) => return Ok(None),
            Ok(m) => m?,
        };
        let headers = msg
            .headers()
            .map(|hs| {
                hs.iter()
                    .map(|h| {
                        (
                            h.key.to_owned(),
                            h.value.map(<[u8]>::to_vec).unwrap_or_default(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(Some(Record {
            partition: msg.partition(),
            offset: msg.offset(),
            key: msg.key().map(<[u8]>::to_vec),
            payload: msg.payload().map(<[u8]>::to_vec),
            headers,
        }))
    }
}
