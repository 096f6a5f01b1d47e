//! Smoke test against the real Kafka of the local stack: a keyed round trip
//! through a fresh topic proves records land where the Java client would put
//! them.

use std::collections::HashMap;
use std::time::Duration;

use adpulse_config::KafkaConfig;
use adpulse_kafka::partition::partition_for;
use adpulse_kafka::{Admin, Consumer, Producer};
use adpulse_testkit::{Server, unique_name};

const PARTITIONS: i32 = 8;

#[tokio::test]
async fn keyed_round_trip_lands_on_the_java_clients_partition() {
    let cfg = KafkaConfig {
        brokers: Server::Kafka.require(),
        client_id: unique_name("smoke"),
        ..KafkaConfig::default()
    };
    let topic = unique_name("smoke").replace('_', ".");
    let admin = Admin::new(&cfg).expect("admin client");
    if let Err(e) = admin.ensure_topic(&topic, PARTITIONS, 1).await {
        Server::Kafka.absent(&format!("cannot create a topic: {e}"));
    }
    assert_eq!(admin.partition_count(&topic).expect("metadata"), PARTITIONS);

    let producer = Producer::new(&cfg).expect("producer");
    let mut sent = HashMap::new();
    for i in 0..64 {
        let campaign = uuid::Uuid::new_v4().to_string();
        let payload = format!("{{\"n\":{i}}}");
        let d = producer
            .send(
                &topic,
                campaign.as_bytes(),
                payload.as_bytes(),
                &[("tenant_id", b"t-1")],
            )
            .await
            .expect("acknowledged");
        assert_eq!(
            d.partition,
            partition_for(campaign.as_bytes(), PARTITIONS),
            "{campaign}"
        );
        sent.insert(campaign, (d.partition, payload));
    }
    let used: std::collections::HashSet<_> = sent.values().map(|(p, _)| *p).collect();
    assert!(
        used.len() > 1,
        "64 random keys should spread over partitions"
    );

    let consumer = Consumer::from_beginning(&cfg, &topic, PARTITIONS).expect("consumer");
    let mut seen = 0;
    while seen < sent.len() {
        let r = consumer
            .recv(Duration::from_secs(20))
            .await
            .expect("consume")
            .unwrap_or_else(|| panic!("only {seen} of {} records came back", sent.len()));
        let key = String::from_utf8(r.key.expect("keyed")).expect("utf-8 key");
        let (partition, payload) = &sent[&key];
        assert_eq!(r.partition, *partition);
        assert_eq!(r.payload.as_deref(), Some(payload.as_bytes()));
        assert_eq!(r.headers, [("tenant_id".to_owned(), b"t-1".to_vec())]);
        seen += 1;
    }
    admin.delete_topic(&topic).await.expect("cleanup");
}
