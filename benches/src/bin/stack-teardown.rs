//! `stack-teardown`: removes what a benchmark's throwaway deployment of the
//! distributed services left on the local stack: its Kafka topics, CQL
//! keyspace, Postgres schema and Redis keys, all named by the same
//! `ADPULSE__…` variables the services ran with (`benches/up.sh` uses it).
//!
//! Refuses to touch the default names (`adpulse`, the public schema, the
//! default topics), so a deployment someone keeps can never be the target.
//! Tries every step even when one fails, and fails if any did.

use adpulse_config::Config;
use adpulse_cql::Cql;
use adpulse_domain::ports::prelude::*;
use adpulse_kafka::Admin;
use adpulse_postgres::Database;
use adpulse_redis::Redis;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cfg = Config::load(None)?;
    let defaults = Config::default();
    let k = &cfg.kafka;
    let dk = &defaults.kafka;
    let throwaway = cfg.postgres.schema.is_some()
        && cfg.cql.keyspace != defaults.cql.keyspace
        && cfg.redis.key_prefix != defaults.redis.key_prefix
        && k.events_topic != dk.events_topic
        && k.rejected_topic != dk.rejected_topic
        && k.metrics_topic != dk.metrics_topic;
    if !throwaway {
        return Err(
            "set a Postgres schema and non-default topics, keyspace and Redis prefix \
                    (ADPULSE__POSTGRES__SCHEMA, ADPULSE__KAFKA__*_TOPIC, ADPULSE__CQL__KEYSPACE, \
                    ADPULSE__REDIS__KEY_PREFIX): stack-teardown only removes throwaway deployments"
                .into(),
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let failed = runtime.block_on(teardown(&cfg));
    if failed > 0 {
        return Err(format!("{failed} teardown step(s) failed").into());
    }
    Ok(())
}

/// Runs every step; returns how many failed (each is reported on stderr).
async fn teardown(cfg: &Config) -> usize {
    let mut failed = 0;
    let mut report = |what: &str, r: Result<(), String>| {
        if let Err(e) = r {
            eprintln!("stack-teardown: {what}: {e}");
            failed += 1;
        }
    };
    let k = &cfg.kafka;
    match Admin::new(k) {
        Ok(admin) => {
            for topic in [&k.events_topic, &k.rejected_topic, &k.metrics_topic] {
                let r = admin.delete_topic(topic).await.map_err(|e| e.to_string());
                report(&format!("deleting topic {topic}"), r);
            }
        }
        Err(e) => report("connecting to kafka", Err(e.to_string())),
    }
    let r = match Cql::connect(&cfg.cql).await {
        Ok(cql) => cql.drop_keyspace().await.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    report(&format!("dropping keyspace {}", cfg.cql.keyspace), r);
    let r = match Redis::connect(&cfg.redis).await {
        Ok(redis) => redis
            .delete_prefix()
            .await
            .map(|_| ())
            .map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    report(
        &format!("deleting redis keys {}:*", cfg.redis.key_prefix),
        r,
    );
    let r = match Database::connect(&cfg.postgres).await {
        Ok(db) => {
            let r = db.drop_schema().await.map_err(|e| e.to_string());
            db.close().await;
            r
        }
        Err(e) => Err(e.to_string()),
    };
    report("dropping the postgres schema", r);
    failed
}
