//! Smoke test against the real Postgres of the local stack: migrations apply
//! into a fresh schema, and the tables and the hll extension answer.

use adpulse_config::{PostgresConfig, Secret};
use adpulse_domain::ports::prelude::*;
use adpulse_postgres::Database;
use adpulse_testkit::{Server, unique_name};

#[tokio::test]
async fn migrations_apply_and_tables_answer() {
    let cfg = PostgresConfig {
        url: Secret::new(Server::Postgres.require()),
        ..PostgresConfig::default()
    };
    let schema = unique_name("smoke");
    let db = match Database::connect_in_schema(&cfg, &schema).await {
        Ok(db) => db,
        Err(e) => Server::Postgres.absent(&e.to_string()),
    };

    let ran = db.migrate().await.expect("migrations apply");
    assert!(ran >= 1, "a fresh schema runs every migration");
    assert_eq!(
        db.migrate().await.expect("second run"),
        0,
        "migrations are idempotent"
    );
    assert!(!db.applied().await.expect("versions").is_empty());

    let id = uuid::Uuid::new_v4();
    sqlx::query("INSERT INTO tenants (id, name) VALUES ($1, $2)")
        .bind(id)
        .bind("Acme Media")
        .execute(db.pool())
        .await
        .expect("insert");
    let (name,): (String,) = sqlx::query_as("SELECT name FROM tenants WHERE id = $1")
        .bind(id)
        .fetch_one(db.pool())
        .await
        .expect("select");
    assert_eq!(name, "Acme Media");

    let err = sqlx::query("INSERT INTO tenants (id, name) VALUES ($1, '')")
        .bind(uuid::Uuid::new_v4())
        .execute(db.pool())
        .await
        .expect_err("empty name violates the check");
    assert!(err.to_string().contains("tenants_name_check"), "{err}");

    // 10,000 distinct ids, 3 times each: a sketch counts them once, within
    // hll's ~2% standard error.
    let (reach,): (f64,) = sqlx::query_as(
        "SELECT hll_cardinality(hll_add_agg(hll_hash_text((i % 10000)::text))) FROM generate_series(1, 30000) i",
    )
    .fetch_one(db.pool())
    .await
    .expect("hll answers");
    assert!((reach - 10_000.0).abs() < 500.0, "reach estimate {reach}");

    db.drop_schema().await.expect("cleanup");
    db.close().await;
}
