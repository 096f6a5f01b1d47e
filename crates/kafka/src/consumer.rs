//! Reading records: an explicitly assigned reader (tests, tools) and a
//! consumer-group member (the stream worker).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use adpulse_config::KafkaConfig;
use adpulse_domain::ports::{ConsumedRecord, EventSource, PortError};
use rdkafka::client::ClientContext;
use rdkafka::consumer::{
    BaseConsumer, CommitMode, Consumer as _, ConsumerContext, Rebalance, StreamConsumer,
};
use rdkafka::message::{Headers as _, Message};
use rdkafka::statistics::Statistics;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

use crate::KafkaError;

/// One record as read from a partition (the port's type).
pub type Record = ConsumedRecord;

fn record_of<M: Message>(msg: &M) -> Record {
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
    Record {
        partition: msg.partition(),
        offset: msg.offset(),
        key: msg.key().map(<[u8]>::to_vec),
        payload: msg.payload().map(<[u8]>::to_vec),
        headers,
        timestamp_ms: msg.timestamp().to_millis(),
    }
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
        match tokio::time::timeout(timeout, self.inner.recv()).await {
            Err(_) => Ok(None),
            Ok(m) => Ok(Some(record_of(&m?))),
        }
    }
}

/// Notes which partitions a rebalance takes away or gives, for the owner
/// of the partition state to drop or reset them, and the partitions' end
/// offsets from the client's statistics.
///
/// `revoked` is written by librdkafka's rebalance callback (on the thread
/// polling the consumer) and drained by the worker loop; the lock is held
/// only to push or swap the list.
#[derive(Default)]
pub struct GroupContext {
    revoked: Arc<Mutex<Vec<i32>>>,
    assigned: Arc<Mutex<Vec<i32>>>,
    /// Per partition of the topic, the end offset from the client's last
    /// statistics (librdkafka learns it from fetch responses).
    high: Arc<Mutex<HashMap<i32, i64>>>,
    topic: String,
}

impl ClientContext for GroupContext {
    fn stats(&self, statistics: Statistics) {
        let Some(topic) = statistics.topics.get(&self.topic) else {
            return;
        };
        let mut high = self.high.lock().unwrap_or_else(PoisonError::into_inner);
        // Partition -1 is librdkafka's internal "unassigned" queue.
        for p in topic.partitions.values().filter(|p| p.partition >= 0) {
            if p.hi_offset >= 0 {
                high.insert(p.partition, p.hi_offset);
            }
        }
    }
}

impl ConsumerContext for GroupContext {
    fn pre_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Revoke(tpl) => {
                let mut revoked = self.revoked.lock().unwrap_or_else(PoisonError::into_inner);
                revoked.extend(tpl.elements().iter().map(|e| e.partition()));
            }
            Rebalance::Assign(tpl) => {
                let mut assigned = self.assigned.lock().unwrap_or_else(PoisonError::into_inner);
                assigned.extend(tpl.elements().iter().map(|e| e.partition()));
            }
            Rebalance::Error(_) => {}
        }
    }
}

/// A member of a consumer group on one topic. Offsets committed to Kafka are
/// only hints of where to start reading after a rebalance; the position that
/// counts is the one the caller keeps with its results.
pub struct GroupConsumer {
    inner: StreamConsumer<GroupContext>,
    topic: String,
    revoked: Arc<Mutex<Vec<i32>>>,
    assigned: Arc<Mutex<Vec<i32>>>,
    high: Arc<Mutex<HashMap<i32, i64>>>,
    partitions: OnceLock<i32>,
}

impl GroupConsumer {
    /// Joins `group` and subscribes to `topic`. Partitions without a
    /// committed offset start from the earliest record.
    pub fn new(cfg: &KafkaConfig, group: &str, topic: &str) -> Result<Self, KafkaError> {
        let context = GroupContext {
            topic: topic.to_owned(),
            ..GroupContext::default()
        };
        let revoked = Arc::clone(&context.revoked);
        let assigned = Arc::clone(&context.assigned);
        let high = Arc::clone(&context.high);
        let inner: StreamConsumer<GroupContext> = ClientConfig::new()
            .set("bootstrap.servers", &cfg.brokers)
            .set("client.id", &cfg.client_id)
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .set("auto.offset.reset", "earliest")
            .set("isolation.level", "read_committed")
            .set("socket.timeout.ms", cfg.request_timeout_ms.to_string())
            // The broker's minimum: a crashed member's partitions move on
            // after 6 s.
            .set("session.timeout.ms", "6000")
            .set("heartbeat.interval.ms", "1000")
            // End offsets for the lag metric, without a blocking request.
            .set("statistics.interval.ms", "5000")
            .create_with_context(context)?;
        inner.subscribe(&[topic])?;
        Ok(Self {
            inner,
            topic: topic.to_owned(),
            revoked,
            assigned,
            high,
            partitions: OnceLock::new(),
        })
    }

    /// The next record, or `None` if none arrives within `timeout`.
    pub async fn recv(&self, timeout: Duration) -> Result<Option<Record>, KafkaError> {
        match tokio::time::timeout(timeout, self.inner.recv()).await {
            Err(_) => Ok(None),
            Ok(m) => Ok(Some(record_of(&m?))),
        }
    }

    /// Partitions taken away since the last call.
    pub fn take_revoked(&self) -> Vec<i32> {
        std::mem::take(&mut *self.revoked.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Partitions given to this member since the last call (each starts
    /// from its committed offset).
    pub fn take_assigned(&self) -> Vec<i32> {
        std::mem::take(&mut *self.assigned.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Records `offset` as where `partition` should be read from after a
    /// rebalance (asynchronously; losing it only means reading more).
    pub fn commit_hint(&self, partition: i32, offset: i64) -> Result<(), KafkaError> {
        let mut tpl = TopicPartitionList::with_capacity(1);
        tpl.add_partition_offset(&self.topic, partition, Offset::Offset(offset))?;
        self.inner.commit(&tpl, CommitMode::Async)?;
        Ok(())
    }

    /// The partition's end offset as of the client's last statistics
    /// (every 5 s; never blocks). Lag is this minus the next offset to
    /// apply.
    pub fn high_watermark(&self, partition: i32) -> Option<i64> {
        self.high
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&partition)
            .copied()
    }

    /// How many partitions the topic has. Asked of the broker once (that
    /// call blocks, up to 2 s), then remembered: adding partitions to the
    /// topic moves campaigns to other partitions, which the dedup state and
    /// the offsets kept per partition cannot follow; it takes a restart of
    /// every worker, like any repartitioning.
    pub fn partition_count(&self) -> Option<i32> {
        if let Some(n) = self.partitions.get() {
            return Some(*n);
        }
        let md = self
            .inner
            .fetch_metadata(Some(&self.topic), Duration::from_secs(2))
            .ok()?;
        let t = md.topics().iter().find(|t| t.name() == self.topic)?;
        let n = i32::try_from(t.partitions().len())
            .ok()
            .filter(|n| *n > 0)?;
        Some(*self.partitions.get_or_init(|| n))
    }

    /// Leaves the group (partitions go to the other members at once).
    pub fn leave(&self) {
        self.inner.unsubscribe();
    }
}

#[async_trait::async_trait]
impl EventSource for GroupConsumer {
    async fn recv(&self, timeout: Duration) -> Result<Option<ConsumedRecord>, PortError> {
        Ok(GroupConsumer::recv(self, timeout).await?)
    }

    fn take_revoked(&self) -> Vec<i32> {
        GroupConsumer::take_revoked(self)
    }

    fn take_assigned(&self) -> Vec<i32> {
        GroupConsumer::take_assigned(self)
    }

    fn commit_hint(&self, partition: i32, offset: i64) -> Result<(), PortError> {
        Ok(GroupConsumer::commit_hint(self, partition, offset)?)
    }

    fn high_watermark(&self, partition: i32) -> Option<i64> {
        GroupConsumer::high_watermark(self, partition)
    }

    fn partition_count(&self) -> Option<i32> {
        GroupConsumer::partition_count(self)
    }

    fn leave(&self) {
        GroupConsumer::leave(self);
    }
}
