//! Topic administration.

use std::time::Duration;

use adpulse_config::KafkaConfig;
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::types::RDKafkaErrorCode;

use crate::KafkaError;

/// Creates, inspects and deletes topics.
pub struct Admin {
    client: AdminClient<DefaultClientContext>,
    timeout: Duration,
}

impl Admin {
    /// An admin client for the configured cluster.
    pub fn new(cfg: &KafkaConfig) -> Result<Self, KafkaError> {
        let client = ClientConfig::new()
            .set("bootstrap.servers", &cfg.brokers)
            .set("client.id", &cfg.client_id)
            .set("socket.timeout.ms", cfg.request_timeout_ms.to_string())
            .create()?;
        Ok(Self {
            client,
            timeout: Duration::from_millis(cfg.request_timeout_ms),
        })
    }

    /// Creates `topic` with `partitions` partitions unless it exists.
    pub async fn ensure_topic(
        &self,
        topic: &str,
        partitions: i32,
        replication: i32,
    ) -> Result<(), KafkaError> {
        let new = NewTopic::new(topic, partitions, TopicReplication::Fixed(replication));
        let opts = AdminOptions::new().operation_timeout(Some(self.timeout));
        for result in self.client.create_topics([&new], &opts).await? {
            match result {
                Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((name, code)) => {
                    return Err(KafkaError::Refused(format!(
                        "cannot create topic {name}: {code}"
                    )));
                }
            }
        }
        Ok(())
    }

    /// Deletes `topic`; a missing topic is not an error.
    pub async fn delete_topic(&self, topic: &str) -> Result<(), KafkaError> {
        let opts = AdminOptions::new().operation_timeout(Some(self.timeout));
        for result in self.client.delete_topics(&[topic], &opts).await? {
            match result {
                Ok(_) | Err((_, RDKafkaErrorCode::UnknownTopicOrPartition)) => {}
                Err((name, code)) => {
                    return Err(KafkaError::Refused(format!(
                        "cannot delete topic {name}: {code}"
                    )));
                }
            }
        }
        Ok(())
    }

    /// How many partitions `topic` has, as the cluster's metadata says.
    /// Blocks the calling thread for up to the request timeout: an admin
    /// call, never for a request path.
    pub fn partition_count(&self, topic: &str) -> Result<i32, KafkaError> {
        let md = self
            .client
            .inner()
            .fetch_metadata(Some(topic), self.timeout)?;
        let t = md
            .topics()
            .iter()
            .find(|t| t.name() == topic)
            .ok_or_else(|| KafkaError::Refused(format!("topic {topic} not in metadata")))?;
        if let Some(e) = t.error() {
            return Err(KafkaError::Refused(format!("topic {topic}: {e:?}")));
        }
        i32::try_from(t.partitions().len())
            .map_err(|_| KafkaError::Refused("partition count overflow".into()))
    }
}
