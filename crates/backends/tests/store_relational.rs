//! Conformance of the relational store's API side: one set of assertions,
//! run on Postgres (`mod postgres`) and on SQLite (`mod sqlite`) through
//! [`Store`], so embedded mode answers every call as production does.
//!
//! Covered: users and sessions (refresh rotation, reuse, deactivation),
//! campaigns (versions, conflicts, status, targeting, soft delete),
//! listings (filters, every sort both ways, offset and cursor pages,
//! totals), creatives, tenants and ingest keys (through the `Directory`
//! port too), tenant isolation, and racing writers.
//!
//! On Postgres the API's calls go through a tenant-scoped connection (as
//! the API connects: row-level security on) and the admin and gateway calls
//! through a system one, in a private schema dropped at the end. SQLite has
//! one connection kind; both roles share it, in a fresh data folder.

use std::sync::Arc;

use std::path::PathBuf;

/// The relational store as the services hold it.
type Store = Arc<dyn adpulse_domain::ports::Store>;
use adpulse_config::{PostgresConfig, Secret};
use adpulse_domain::ports::KeyStatus;
use adpulse_domain::store::{
    CampaignFilter, CampaignRecord, CampaignSort, CampaignWrite, CreativeRecord, Page, Rotation,
    StoreError, Updated,
};
use adpulse_domain::targeting::{CapPeriod, FrequencyCap};
use adpulse_domain::{CampaignId, CampaignStatus, Role, TenantId, ingest_key};
use adpulse_postgres::Database;
use adpulse_sqlite::Lite;
use adpulse_testkit::{Server, unique_name};
use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

/// One adapter, as the services hold it.
struct Env {
    /// What the API calls (tenant-scoped on Postgres).
    api: Store,
    /// What the admin tools and the gateway call (system scope on Postgres).
    admin: Store,
    /// The Postgres system session, whose schema is dropped at the end.
    pg: Option<Database>,
    /// SQLite's data folder, removed on drop.
    dir: Option<PathBuf>,
}

impl Env {
    async fn postgres() -> Self {
        let cfg = PostgresConfig {
            url: Secret::new(Server::Postgres.require()),
            schema: Some(unique_name("rel")),
            max_connections: 3,
            ..PostgresConfig::default()
        };
        let admin = match Database::connect(&cfg).await {
            Ok(db) => db,
            Err(e) => Server::Postgres.absent(&e.to_string()),
        };
        admin.migrate().await.expect("migrate");
        let api = Database::connect_for_tenants(&cfg)
            .await
            .expect("tenant-scoped connection");
        Self {
            api: Arc::new(api),
            admin: Arc::new(admin.clone()),
            pg: Some(admin),
            dir: None,
        }
    }

    async fn sqlite() -> Self {
        let dir = std::env::temp_dir().join(unique_name("adpulse_rel"));
        let lite = Lite::open(&dir).await.expect("open sqlite");
        Self {
            api: Arc::new(lite.clone()),
            admin: Arc::new(lite),
            pg: None,
            dir: Some(dir),
        }
    }

    /// Closes the connections and drops the test's schema (a failed test
    /// leaves it for a look).
    async fn finish(self) {
        self.api.close().await;
        if let Some(db) = &self.pg {
            db.drop_schema().await.expect("drop schema");
        }
        self.admin.close().await;
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Instantiates every conformance test for one adapter.
macro_rules! conformance {
    ($adapter:ident, $make:expr) => {
        mod $adapter {
            use super::*;

            conformance!(@tests $make;
                users_are_unique_by_address_and_deactivation_ends_sessions,
                refresh_tokens_rotate_once_and_reuse_revokes_the_family,
                campaigns_change_only_at_their_version,
                campaign_constraints_refuse_bad_values,
                listings_filter_sort_and_page_alike,
                name_cursors_fold_case_as_the_sort_does,
                creatives_are_catalogued_per_live_campaign,
                tenants_keys_and_the_directory,
                tenants_never_see_each_other,
                racing_writers_change_once,
            );
        }
    };
    (@tests $make:expr; $($test:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $test() {
                let env: Env = $make.await;
                super::$test(&env).await;
                env.finish().await;
            }
        )*
    };
}

conformance!(postgres, Env::postgres());
conformance!(sqlite, Env::sqlite());

// ---------------------------------------------------------------- helpers

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("rfc 3339 time")
        .with_timezone(&Utc)
}

fn named(name: &str) -> CampaignWrite {
    CampaignWrite {
        name: name.to_owned(),
        timezone: "UTC".to_owned(),
        ..CampaignWrite::default()
    }
}

fn done(u: Updated) -> CampaignRecord {
    match u {
        Updated::Done(c) => *c,
        other => panic!("expected the change to be done, got {other:?}"),
    }
}

fn token(n: u8) -> [u8; 32] {
    let mut t = [n; 32];
    t[..16].copy_from_slice(Uuid::new_v4().as_bytes());
    t
}

fn creative(campaign: CampaignId, name: &str) -> CreativeRecord {
    CreativeRecord {
        id: Uuid::now_v7(),
        campaign_id: campaign,
        filename: name.to_owned(),
        content_type: "image/png".to_owned(),
        size_bytes: 1234,
        sha256: vec![7; 32],
        width: 300,
        height: 250,
        created_at: DateTime::<Utc>::default(),
    }
}

async fn tenant(env: &Env, name: &str) -> TenantId {
    env.admin.create_tenant(name).await.expect("tenant")
}

async fn user(env: &Env, tenant: TenantId, role: Role) -> (Uuid, String) {
    let email = format!("{}@{}.example", unique_name("user"), role.as_str());
    let id = env
        .api
        .create_user(tenant, &email, "$argon2id$v=19$fake", role)
        .await
        .expect("user");
    (id, email)
}

// ---------------------------------------------------------------- users

async fn users_are_unique_by_address_and_deactivation_ends_sessions(env: &Env) {
    let a = tenant(env, "a").await;
    let b = tenant(env, "b").await;
    let email = format!("Ann.{}@Example.COM", unique_name("x"));
    let ann = env
        .api
        .create_user(a, &email, "hash-1", Role::Admin)
        .await
        .expect("create");

    for (t, other) in [(a, email.to_lowercase()), (b, email.to_uppercase())] {
        let dup = env.api.create_user(t, &other, "h", Role::Analyst).await;
        assert!(
            matches!(dup, Err(StoreError::Duplicate(_))),
            "an address in another case, in any tenant, is taken: {dup:?}"
        );
    }

    let found = env
        .api
        .user_by_email(&email.to_lowercase())
        .await
        .expect("by email")
        .expect("found in any case");
    assert_eq!(found.id, ann);
    assert_eq!(found.tenant_id, a);
    assert_eq!(found.email, email, "kept as written");
    assert_eq!(found.password_hash, "hash-1");
    assert_eq!(found.role, Role::Admin);
    assert_eq!(found.deactivated_at, None);
    // Case folding is Unicode-aware, as Postgres' lower() is.
    let umlaut = format!("ÄNNE.{}@BEISPIEL.DE", unique_name("x"));
    let anne = env
        .api
        .create_user(b, &umlaut, "hash-2", Role::Analyst)
        .await
        .expect("create");
    let dup = env
        .api
        .create_user(a, &umlaut.to_lowercase(), "h", Role::Analyst)
        .await;
    assert!(matches!(dup, Err(StoreError::Duplicate(_))), "{dup:?}");
    let found = env
        .api
        .user_by_email(&umlaut.to_lowercase())
        .await
        .expect("by email")
        .expect("found");
    assert_eq!((found.id, found.tenant_id), (anne, b));
    assert!(
        env.api
            .user_by_email("nobody@example.com")
            .await
            .expect("by email")
            .is_none()
    );

    let active = env.api.active_user(a, ann).await.expect("active");
    assert_eq!(active.map(|u| u.id), Some(ann));
    assert!(env.api.active_user(b, ann).await.expect("active").is_none());
    assert!(
        env.api
            .active_user(a, Uuid::now_v7())
            .await
            .expect("active")
            .is_none()
    );

    let (bob, _) = user(env, a, Role::Analyst).await;
    let listed: Vec<(Uuid, Role)> = env
        .api
        .users(a)
        .await
        .expect("users")
        .into_iter()
        .map(|u| (u.id, u.role))
        .collect();
    assert_eq!(
        listed,
        vec![(ann, Role::Admin), (bob, Role::Analyst)],
        "oldest first"
    );
    assert_eq!(
        env.api
            .users(b)
            .await
            .expect("users")
            .into_iter()
            .map(|u| u.id)
            .collect::<Vec<_>>(),
        vec![anne]
    );

    let family = Uuid::now_v7();
    let t1 = token(1);
    let expires = Utc::now() + Duration::hours(1);
    env.api
        .store_refresh_token(a, ann, family, &t1, expires)
        .await
        .expect("store token");
    let (bob_family, bob_token) = (Uuid::now_v7(), token(2));
    env.api
        .store_refresh_token(a, bob, bob_family, &bob_token, expires)
        .await
        .expect("store token");

    let gone = env.api.deactivate_user(a, ann).await.expect("deactivate");
    let gone = gone.expect("the user");
    assert_eq!(gone.id, ann);
    let when = gone.deactivated_at.expect("deactivated");
    assert!(env.api.active_user(a, ann).await.expect("active").is_none());
    let by_mail = env
        .api
        .user_by_email(&email)
        .await
        .expect("by email")
        .expect("still there");
    assert_eq!(by_mail.deactivated_at, Some(when));
    assert_eq!(
        env.api
            .rotate_refresh_token(&t1, &token(3), expires)
            .await
            .expect("rotate"),
        Rotation::Reused,
        "deactivation revoked the session"
    );
    assert!(
        matches!(
            env.api.rotate_refresh_token(&bob_token, &token(4), expires).await,
            Ok(Rotation::Rotated { user_id, .. }) if user_id == bob
        ),
        "other users keep theirs"
    );

    let again = env
        .api
        .deactivate_user(a, ann)
        .await
        .expect("deactivate")
        .expect("the user");
    assert_eq!(again.deactivated_at, Some(when), "the first time stays");
    assert!(
        env.api
            .deactivate_user(a, Uuid::now_v7())
            .await
            .expect("deactivate")
            .is_none()
    );
}

async fn refresh_tokens_rotate_once_and_reuse_revokes_the_family(env: &Env) {
    let a = tenant(env, "a").await;
    let (u, _) = user(env, a, Role::CampaignManager).await;
    let expires = Utc::now() + Duration::hours(1);
    let family = Uuid::now_v7();
    let (t1, t2, t3) = (token(1), token(2), token(3));
    env.api
        .store_refresh_token(a, u, family, &t1, expires)
        .await
        .expect("store");

    let rotated = Rotation::Rotated {
        user_id: u,
        tenant_id: a,
        family_id: family,
    };
    assert_eq!(
        env.api
            .rotate_refresh_token(&t1, &t2, expires)
            .await
            .expect("rotate"),
        rotated
    );
    assert_eq!(
        env.api
            .rotate_refresh_token(&t2, &t3, expires)
            .await
            .expect("rotate"),
        rotated,
        "the successor is current"
    );
    assert_eq!(
        env.api
            .rotate_refresh_token(&t1, &token(4), expires)
            .await
            .expect("rotate"),
        Rotation::Reused,
        "a used token presented again"
    );
    assert_eq!(
        env.api
            .rotate_refresh_token(&t3, &token(5), expires)
            .await
            .expect("rotate"),
        Rotation::Reused,
        "reuse revoked the whole family, the current token too"
    );
    assert_eq!(
        env.api
            .rotate_refresh_token(&token(6), &token(7), expires)
            .await
            .expect("rotate"),
        Rotation::Invalid,
        "unknown"
    );

    let expired = token(8);
    env.api
        .store_refresh_token(
            a,
            u,
            Uuid::now_v7(),
            &expired,
            Utc::now() - Duration::seconds(1),
        )
        .await
        .expect("store");
    for _ in 0..2 {
        assert_eq!(
            env.api
                .rotate_refresh_token(&expired, &token(9), expires)
                .await
                .expect("rotate"),
            Rotation::Invalid,
            "expired, and not used by trying"
        );
    }

    let (logout, next) = (token(10), token(11));
    let other_family = Uuid::now_v7();
    env.api
        .store_refresh_token(a, u, other_family, &logout, expires)
        .await
        .expect("store");
    assert!(
        env.api
            .revoke_refresh_family(&logout)
            .await
            .expect("revoke")
    );
    assert_eq!(
        env.api
            .rotate_refresh_token(&logout, &next, expires)
            .await
            .expect("rotate"),
        Rotation::Reused,
        "a logged-out token is revoked"
    );
    assert!(
        !env.api
            .revoke_refresh_family(&token(12))
            .await
            .expect("revoke")
    );
}

// ---------------------------------------------------------------- campaigns

async fn campaigns_change_only_at_their_version(env: &Env) {
    let a = tenant(env, "a").await;
    let first = CampaignWrite {
        name: "Spring Sale".into(),
        brand_id: Some("acme".into()),
        budget_total_micros: Some(5_000_000),
        budget_currency: Some("EUR".into()),
        budget_daily_cap_micros: Some(250_000),
        schedule_start: Some(at("2026-12-01T00:00:00Z")),
        schedule_end: Some(at("2026-12-31T23:00:00Z")),
        timezone: "Europe/Berlin".into(),
        objectives: vec!["awareness".into(), "clicks".into()],
        channels: vec!["search".into(), "social".into()],
    };
    let c = env.api.insert_campaign(a, &first).await.expect("insert");
    assert_eq!(c.tenant_id, a);
    assert_eq!(c.status, CampaignStatus::Draft);
    assert_eq!(c.version, 1);
    assert_eq!(c.fields, first);
    assert_eq!(c.created_at, c.updated_at);
    assert_eq!(
        env.api.campaign(a, c.id).await.expect("read"),
        Some(c.clone())
    );

    let second = CampaignWrite {
        name: "Spring Sale (extended)".into(),
        objectives: vec![],
        channels: vec!["display".into()],
        ..named("x")
    };
    let v2 = done(
        env.api
            .update_campaign(a, c.id, 1, &second)
            .await
            .expect("update"),
    );
    assert_eq!(v2.version, 2);
    assert_eq!(v2.fields, second, "replaced whole, cleared fields too");
    assert_eq!(v2.created_at, c.created_at);
    assert!(v2.updated_at >= c.updated_at);
    assert_eq!(
        env.api.campaign(a, c.id).await.expect("read"),
        Some(v2.clone())
    );
    assert_eq!(
        env.api
            .update_campaign(a, c.id, 1, &first)
            .await
            .expect("update"),
        Updated::Conflict(2)
    );

    let v3 = done(
        env.api
            .set_campaign_status(a, c.id, 2, CampaignStatus::Active)
            .await
            .expect("status"),
    );
    assert_eq!((v3.status, v3.version), (CampaignStatus::Active, 3));
    assert_eq!(v3.fields, second);
    assert_eq!(
        env.api
            .set_campaign_status(a, c.id, 2, CampaignStatus::Paused)
            .await
            .expect("status"),
        Updated::Conflict(3)
    );

    let (doc, version) = env
        .api
        .campaign_targeting(a, c.id)
        .await
        .expect("targeting")
        .expect("a campaign");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&doc).expect("json"),
        serde_json::json!({})
    );
    assert_eq!(version, 3);
    let targeting = serde_json::json!({
        "countries": ["DE", "AT"],
        "device_types": ["mobile"],
        "dayparting": [{"days": ["mon", "tue"], "start": "08:00", "end": "18:30"}],
        "frequency_cap": {"max": 3, "per": "day"},
    });
    let v4 = done(
        env.api
            .set_campaign_targeting(a, c.id, 3, &targeting.to_string())
            .await
            .expect("targeting"),
    );
    assert_eq!(v4.version, 4);
    let (doc, version) = env
        .api
        .campaign_targeting(a, c.id)
        .await
        .expect("targeting")
        .expect("a campaign");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&doc).expect("json"),
        targeting,
        "the same document back"
    );
    assert_eq!(version, 4);
    assert_eq!(
        env.api
            .set_campaign_targeting(a, c.id, 3, "{}")
            .await
            .expect("targeting"),
        Updated::Conflict(4)
    );
    assert!(matches!(
        env.api.set_campaign_targeting(a, c.id, 4, "not json").await,
        Err(StoreError::Invalid(_))
    ));
    let facts = env
        .admin
        .campaign_facts(c.id)
        .await
        .expect("facts")
        .expect("a campaign");
    assert_eq!(facts.tenant, a);
    assert_eq!(facts.timezone, "UTC");
    assert_eq!(
        facts.frequency_cap.map(|f| (f.max, f.per)),
        Some((3, CapPeriod::Day))
    );

    assert_eq!(
        env.api
            .delete_campaign_at(a, c.id, 3)
            .await
            .expect("delete"),
        Updated::Conflict(4),
        "nothing changed by the refused targeting"
    );
    let deleted = done(
        env.api
            .delete_campaign_at(a, c.id, 4)
            .await
            .expect("delete"),
    );
    assert_eq!(deleted.version, 5);
    assert_eq!(env.api.campaign(a, c.id).await.expect("read"), None);
    assert_eq!(
        env.api.campaign_targeting(a, c.id).await.expect("read"),
        None
    );
    assert_eq!(env.admin.campaign_facts(c.id).await.expect("facts"), None);
    assert_eq!(
        env.api
            .update_campaign(a, c.id, 5, &first)
            .await
            .expect("update"),
        Updated::NotFound
    );
    assert_eq!(
        env.api
            .set_campaign_status(a, c.id, 5, CampaignStatus::Paused)
            .await
            .expect("status"),
        Updated::NotFound
    );
    assert_eq!(
        env.api
            .set_campaign_targeting(a, c.id, 5, "{}")
            .await
            .expect("targeting"),
        Updated::NotFound
    );
    assert_eq!(
        env.api
            .delete_campaign_at(a, c.id, 5)
            .await
            .expect("delete"),
        Updated::NotFound
    );
    let nobody = CampaignId::from_uuid(Uuid::now_v7());
    assert_eq!(
        env.api
            .update_campaign(a, nobody, 1, &first)
            .await
            .expect("update"),
        Updated::NotFound
    );
    assert_eq!(env.api.campaign(a, nobody).await.expect("read"), None);
}

async fn campaign_constraints_refuse_bad_values(env: &Env) {
    let a = tenant(env, "a").await;
    let bad = [
        named(""),
        named(&"x".repeat(201)),
        CampaignWrite {
            budget_currency: Some("eur".into()),
            ..named("lower-case currency")
        },
        CampaignWrite {
            budget_total_micros: Some(-1),
            ..named("negative budget")
        },
        CampaignWrite {
            schedule_start: Some(at("2026-12-02T00:00:00Z")),
            schedule_end: Some(at("2026-12-01T00:00:00Z")),
            ..named("ends before it starts")
        },
    ];
    for w in &bad {
        let r = env.api.insert_campaign(a, w).await;
        assert!(
            matches!(r, Err(StoreError::Invalid(_))),
            "{:?}: {r:?}",
            w.name
        );
    }
    let ok = env
        .api
        .insert_campaign(a, &named(&"x".repeat(200)))
        .await
        .expect("200 characters");
    let r = env.api.update_campaign(a, ok.id, 1, &bad[2]).await;
    assert!(matches!(r, Err(StoreError::Invalid(_))), "{r:?}");
    assert_eq!(
        env.api
            .campaign(a, ok.id)
            .await
            .expect("read")
            .map(|c| c.version),
        Some(1)
    );
    let listed = env
        .api
        .list_campaigns(
            a,
            &CampaignFilter::default(),
            CampaignSort::CreatedAt,
            true,
            &Page::Offset(0),
            10,
        )
        .await
        .expect("list");
    assert_eq!(listed.1, 1, "only the valid one was stored");
}

/// What a listing must return, computed here from the records.
fn expected(
    all: &[CampaignRecord],
    f: &CampaignFilter,
    sort: CampaignSort,
    descending: bool,
) -> Vec<CampaignId> {
    #[derive(PartialEq, Eq, PartialOrd, Ord)]
    enum K {
        T(DateTime<Utc>),
        S(String),
        I(i64),
    }
    let key = |c: &CampaignRecord| match sort {
        CampaignSort::CreatedAt => K::T(c.created_at),
        CampaignSort::UpdatedAt => K::T(c.updated_at),
        CampaignSort::Name => K::S(c.fields.name.to_lowercase()),
        CampaignSort::Budget => K::I(c.fields.budget_total_micros.unwrap_or(-1)),
    };
    let mut rows: Vec<&CampaignRecord> = all
        .iter()
        .filter(|c| f.statuses.is_empty() || f.statuses.contains(&c.status))
        .filter(|c| f.brand_id.is_none() || c.fields.brand_id == f.brand_id)
        .filter(|c| {
            f.name
                .as_ref()
                .is_none_or(|n| c.fields.name.to_lowercase().contains(&n.to_lowercase()))
        })
        .filter(|c| {
            f.from
                .is_none_or(|from| c.fields.schedule_end.is_none_or(|e| e >= from))
        })
        .filter(|c| {
            f.to.is_none_or(|to| c.fields.schedule_start.is_none_or(|s| s < to))
        })
        .collect();
    rows.sort_by(|x, y| (key(x), x.id.as_uuid()).cmp(&(key(y), y.id.as_uuid())));
    if descending {
        rows.reverse();
    }
    rows.into_iter().map(|c| c.id).collect()
}

async fn list(
    env: &Env,
    t: TenantId,
    f: &CampaignFilter,
    sort: CampaignSort,
    descending: bool,
    page: &Page,
    limit: i64,
) -> (Vec<CampaignRecord>, i64) {
    env.api
        .list_campaigns(t, f, sort, descending, page, limit)
        .await
        .expect("list")
}

/// A listed campaign: name, brand, budget, schedule (start, end).
type Spec = (
    &'static str,
    Option<&'static str>,
    Option<i64>,
    Option<(&'static str, &'static str)>,
);

async fn listings_filter_sort_and_page_alike(env: &Env) {
    let a = tenant(env, "a").await;
    let b = tenant(env, "b").await;
    // Names in mixed case (the name sort and filter ignore it), equal
    // budgets (the id breaks ties), wildcards taken literally.
    let specs: [Spec; 10] = [
        (
            "alpha",
            Some("acme"),
            Some(300),
            Some(("2026-12-01T00:00:00Z", "2026-12-10T00:00:00Z")),
        ),
        ("Bravo SALE", Some("acme"), None, None),
        (
            "charlie",
            Some("zeta"),
            Some(100),
            Some(("2026-12-05T00:00:00Z", "2026-12-20T00:00:00Z")),
        ),
        (
            "delta sale",
            None,
            Some(300),
            Some(("2027-01-01T00:00:00Z", "2027-02-01T00:00:00Z")),
        ),
        ("Echo", Some("zeta"), Some(0), None),
        (
            "deal 50% off",
            Some("acme"),
            Some(100),
            Some(("2026-11-01T00:00:00Z", "2026-11-20T00:00:00Z")),
        ),
        ("deal 500 off", None, None, None),
        ("under_score", None, Some(999), None),
        ("underXscore", Some("acme"), Some(1), None),
        ("Ärger", Some("zeta"), Some(50), None),
    ];
    let mut all = Vec::new();
    for (name, brand, budget, schedule) in specs {
        let w = CampaignWrite {
            brand_id: brand.map(str::to_owned),
            budget_total_micros: budget,
            schedule_start: schedule.map(|s| at(s.0)),
            schedule_end: schedule.map(|s| at(s.1)),
            ..named(name)
        };
        all.push(env.api.insert_campaign(a, &w).await.expect("insert"));
    }
    // Statuses, and changes so updated_at differs from created_at order.
    for (i, to) in [
        (4, CampaignStatus::Active),
        (1, CampaignStatus::Active),
        (7, CampaignStatus::Scheduled),
        (2, CampaignStatus::Active),
    ] {
        all[i] = done(
            env.api
                .set_campaign_status(a, all[i].id, all[i].version, to)
                .await
                .expect("status"),
        );
    }
    all[2] = done(
        env.api
            .set_campaign_status(a, all[2].id, all[2].version, CampaignStatus::Paused)
            .await
            .expect("status"),
    );
    // A deleted campaign and another tenant's are never listed.
    let gone = env
        .api
        .insert_campaign(a, &named("alpha gone"))
        .await
        .expect("insert");
    done(
        env.api
            .delete_campaign_at(a, gone.id, 1)
            .await
            .expect("delete"),
    );
    let theirs = env
        .api
        .insert_campaign(b, &named("alpha b"))
        .await
        .expect("insert");

    let everything = CampaignFilter::default();
    for sort in CampaignSort::ALL {
        for descending in [false, true] {
            let want = expected(&all, &everything, sort, descending);
            assert_eq!(want.len(), 10);
            let what = format!("{} descending={descending}", sort.as_str());

            let mut by_offset = Vec::new();
            for offset in [0, 4, 8, 12] {
                let (rows, total) = list(
                    env,
                    a,
                    &everything,
                    sort,
                    descending,
                    &Page::Offset(offset),
                    4,
                )
                .await;
                assert_eq!(total, 10, "{what}");
                by_offset.extend(rows.iter().map(|c| c.id));
            }
            assert_eq!(by_offset, want, "offset pages, {what}");

            let (mut rows, total) =
                list(env, a, &everything, sort, descending, &Page::Offset(0), 2).await;
            assert_eq!(total, 10);
            let mut by_cursor: Vec<CampaignId> = rows.iter().map(|c| c.id).collect();
            while let Some(last) = rows.last() {
                let page = Page::After {
                    value: sort.value_of(last),
                    id: last.id,
                };
                let (next, total) = list(env, a, &everything, sort, descending, &page, 2).await;
                assert_eq!(total, 10, "the total ignores the cursor, {what}");
                by_cursor.extend(next.iter().map(|c| c.id));
                rows = next;
            }
            assert_eq!(by_cursor, want, "cursor pages, {what}");
        }
    }

    // Whole records come back as stored.
    let (rows, _) = list(
        env,
        a,
        &everything,
        CampaignSort::CreatedAt,
        false,
        &Page::Offset(0),
        100,
    )
    .await;
    let mut stored = all.clone();
    stored.sort_by_key(|c| (c.created_at, *c.id.as_uuid()));
    assert_eq!(rows, stored);

    let filters = [
        CampaignFilter {
            statuses: vec![CampaignStatus::Active, CampaignStatus::Paused],
            ..CampaignFilter::default()
        },
        CampaignFilter {
            statuses: vec![CampaignStatus::Draft],
            ..CampaignFilter::default()
        },
        CampaignFilter {
            brand_id: Some("acme".into()),
            ..CampaignFilter::default()
        },
        CampaignFilter {
            name: Some("SaLe".into()),
            ..CampaignFilter::default()
        },
        CampaignFilter {
            name: Some("50%".into()),
            ..CampaignFilter::default()
        },
        CampaignFilter {
            name: Some("r_s".into()),
            ..CampaignFilter::default()
        },
        CampaignFilter {
            name: Some("äRG".into()),
            ..CampaignFilter::default()
        },
        CampaignFilter {
            name: Some(String::new()),
            ..CampaignFilter::default()
        },
        CampaignFilter {
            from: Some(at("2026-12-10T00:00:00Z")),
            ..CampaignFilter::default()
        },
        CampaignFilter {
            to: Some(at("2026-12-05T00:00:00Z")),
            ..CampaignFilter::default()
        },
        CampaignFilter {
            from: Some(at("2026-12-06T00:00:00Z")),
            to: Some(at("2027-01-01T00:00:00Z")),
            ..CampaignFilter::default()
        },
        CampaignFilter {
            statuses: vec![CampaignStatus::Active],
            brand_id: Some("acme".into()),
            name: Some("bra".into()),
            ..CampaignFilter::default()
        },
        CampaignFilter {
            brand_id: Some("nobody".into()),
            ..CampaignFilter::default()
        },
    ];
    let sizes: Vec<usize> = filters
        .iter()
        .map(|f| expected(&all, f, CampaignSort::Name, false).len())
        .collect();
    assert_eq!(
        sizes,
        [3, 6, 4, 2, 1, 1, 1, 10, 9, 8, 8, 1, 0],
        "the fixture exercises every filter"
    );
    for (i, f) in filters.iter().enumerate() {
        let want = expected(&all, f, CampaignSort::Name, false);
        let (rows, total) = list(env, a, f, CampaignSort::Name, false, &Page::Offset(0), 2).await;
        assert_eq!(total, want.len() as i64, "filter {i}: {f:?}");
        let got: Vec<CampaignId> = rows.iter().map(|c| c.id).collect();
        assert_eq!(
            got,
            want.iter().take(2).copied().collect::<Vec<_>>(),
            "filter {i}: {f:?}"
        );
    }

    let (rows, total) = list(
        env,
        b,
        &everything,
        CampaignSort::Name,
        false,
        &Page::Offset(0),
        100,
    )
    .await;
    assert_eq!(total, 1);
    assert_eq!(
        rows.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![theirs.id]
    );

    let bad_cursor = Page::After {
        // (Postgres would read "yesterday" as a time; the API accepts only
        // RFC 3339 in cursors, as SQLite does.)
        value: "not a time".into(),
        id: all[0].id,
    };
    let r = env
        .api
        .list_campaigns(
            a,
            &everything,
            CampaignSort::CreatedAt,
            false,
            &bad_cursor,
            10,
        )
        .await;
    assert!(matches!(r, Err(StoreError::Invalid(_))), "{r:?}");
}

// ---------------------------------------------------------------- creatives

/// Paging by name one campaign at a time visits each exactly once, also
/// for names whose lower case differs between one-character folding (the
/// sort) and `str::to_lowercase` (a final `Σ`, a dotted `İ`).
async fn name_cursors_fold_case_as_the_sort_does(env: &Env) {
    let t = tenant(env, "fold").await;
    let names = ["ΟΔΟΣ", "οδοσ b", "İSTANBUL", "istanbul b", "Zeta", "ΟΔΟΣ a"];
    let mut ids = std::collections::BTreeSet::new();
    for n in names {
        ids.insert(
            env.api
                .insert_campaign(t, &named(n))
                .await
                .expect("insert")
                .id,
        );
    }
    for descending in [false, true] {
        let mut seen = Vec::new();
        let mut page = Page::Offset(0);
        loop {
            let (rows, total) = list(
                env,
                t,
                &CampaignFilter::default(),
                CampaignSort::Name,
                descending,
                &page,
                1,
            )
            .await;
            assert_eq!(total, 6);
            let Some(last) = rows.last() else { break };
            seen.push(last.id);
            page = Page::After {
                value: CampaignSort::Name.value_of(last),
                id: last.id,
            };
            assert!(seen.len() <= 6, "paging repeats: {seen:?}");
        }
        assert_eq!(
            seen.iter()
                .copied()
                .collect::<std::collections::BTreeSet<_>>(),
            ids,
            "every campaign once (descending: {descending})"
        );
    }
}

async fn creatives_are_catalogued_per_live_campaign(env: &Env) {
    let a = tenant(env, "a").await;
    let c = env
        .api
        .insert_campaign(a, &named("with art"))
        .await
        .expect("campaign");
    let other = env
        .api
        .insert_campaign(a, &named("other"))
        .await
        .expect("campaign");

    let mut made = Vec::new();
    for i in 0..5 {
        let want = creative(c.id, &format!("banner-{i}.png"));
        let got = env
            .api
            .insert_creative(a, &want)
            .await
            .expect("insert")
            .expect("a live campaign of the tenant");
        assert_eq!(
            CreativeRecord {
                created_at: want.created_at,
                ..got.clone()
            },
            want,
            "stored as given but for the time"
        );
        assert!(got.created_at > DateTime::<Utc>::default());
        made.push(got);
    }
    let dup = env.api.insert_creative(a, &made[0]).await;
    assert!(matches!(dup, Err(StoreError::Duplicate(_))), "{dup:?}");
    let nowhere = creative(CampaignId::from_uuid(Uuid::now_v7()), "x.png");
    assert_eq!(
        env.api.insert_creative(a, &nowhere).await.expect("insert"),
        None
    );

    assert_eq!(
        env.api.creative(a, c.id, made[1].id).await.expect("read"),
        Some(made[1].clone())
    );
    assert_eq!(
        env.api
            .creative(a, other.id, made[1].id)
            .await
            .expect("read"),
        None,
        "another campaign's"
    );

    let mut newest_first = made.clone();
    newest_first.sort_by_key(|r| std::cmp::Reverse((r.created_at, r.id)));
    let mut paged = Vec::new();
    let mut after = None;
    loop {
        let (rows, total) = env
            .api
            .creatives(a, c.id, after, 2)
            .await
            .expect("creatives");
        assert_eq!(total, 5);
        let Some(last) = rows.last() else { break };
        after = Some((last.created_at, last.id));
        paged.extend(rows);
    }
    assert_eq!(paged, newest_first);
    assert_eq!(
        env.api
            .creatives(a, other.id, None, 10)
            .await
            .expect("creatives"),
        (Vec::new(), 0)
    );

    assert!(
        !env.api
            .delete_creative(a, other.id, made[0].id)
            .await
            .expect("delete"),
        "named with the wrong campaign"
    );
    assert!(
        env.api
            .delete_creative(a, c.id, made[0].id)
            .await
            .expect("delete")
    );
    assert!(
        !env.api
            .delete_creative(a, c.id, made[0].id)
            .await
            .expect("delete"),
        "already gone"
    );
    assert_eq!(
        env.api.creative(a, c.id, made[0].id).await.expect("read"),
        None
    );
    let (rows, total) = env
        .api
        .creatives(a, c.id, None, 10)
        .await
        .expect("creatives");
    assert_eq!(total, 4);
    assert!(rows.iter().all(|r| r.id != made[0].id));

    done(
        env.api
            .delete_campaign_at(a, c.id, c.version)
            .await
            .expect("delete campaign"),
    );
    assert_eq!(
        env.api.creative(a, c.id, made[1].id).await.expect("read"),
        None,
        "gone with its campaign"
    );
    assert!(
        !env.api
            .delete_creative(a, c.id, made[1].id)
            .await
            .expect("delete")
    );
    assert_eq!(
        env.api
            .insert_creative(a, &creative(c.id, "late.png"))
            .await
            .expect("insert"),
        None
    );
}

// ---------------------------------------------------------------- admin

async fn tenants_keys_and_the_directory(env: &Env) {
    let a = tenant(env, "a").await;
    let b = tenant(env, "b").await;
    assert_ne!(a, b);

    let random = [0x5a; 32];
    let first = env
        .api
        .create_ingest_key(a, "web", random)
        .await
        .expect("key");
    assert_eq!(first.secret, ingest_key::format_key(random));
    assert!(ingest_key::well_formed(&first.secret));
    let second = env
        .api
        .create_ingest_key(a, "app", [0x17; 32])
        .await
        .expect("key");
    let hash = ingest_key::hash(&first.secret);
    assert_eq!(
        env.admin.key_status(hash).await.expect("status"),
        KeyStatus::Active(a)
    );
    assert_eq!(
        env.admin.key_status([0; 32]).await.expect("status"),
        KeyStatus::Unknown
    );
    let dup = env
        .api
        .create_ingest_key(b, "same bytes", random)
        .await
        .err();
    assert!(matches!(dup, Some(StoreError::Duplicate(_))), "{dup:?}");

    let keys = env.api.ingest_keys(a).await.expect("keys");
    let listed: Vec<(Uuid, &str, &str, bool)> = keys
        .iter()
        .map(|k| {
            (
                k.id,
                k.name.as_str(),
                k.prefix.as_str(),
                k.revoked_at.is_some(),
            )
        })
        .collect();
    let prefix = |s: &str| ingest_key::display_prefix(s).to_owned();
    assert_eq!(
        listed,
        vec![
            (second.id, "app", prefix(&second.secret).as_str(), false),
            (first.id, "web", prefix(&first.secret).as_str(), false),
        ],
        "newest first"
    );
    assert!(
        keys.iter()
            .all(|k| k.created_at > DateTime::<Utc>::default())
    );
    assert!(env.api.ingest_keys(b).await.expect("keys").is_empty());

    assert!(
        env.api
            .revoke_tenant_ingest_key(a, first.id)
            .await
            .expect("revoke")
    );
    assert!(
        !env.api
            .revoke_tenant_ingest_key(a, first.id)
            .await
            .expect("revoke"),
        "already revoked"
    );
    assert_eq!(
        env.admin.key_status(hash).await.expect("status"),
        KeyStatus::Revoked
    );
    let keys = env.api.ingest_keys(a).await.expect("keys");
    assert!(
        keys.iter()
            .any(|k| k.id == first.id && k.revoked_at.is_some())
    );
    assert!(
        env.admin
            .revoke_ingest_key(second.id)
            .await
            .expect("revoke")
    );
    assert!(
        !env.admin
            .revoke_ingest_key(second.id)
            .await
            .expect("revoke")
    );
    assert!(
        !env.admin
            .revoke_ingest_key(Uuid::now_v7())
            .await
            .expect("revoke")
    );
    assert_eq!(
        env.admin
            .key_status(ingest_key::hash(&second.secret))
            .await
            .expect("status"),
        KeyStatus::Revoked
    );

    // Campaigns made by the admin tools: active, in UTC, no cap.
    let chosen = Uuid::now_v7();
    let c = env
        .admin
        .create_campaign(a, "Admin Made", Some(chosen))
        .await
        .expect("campaign");
    assert_eq!(*c.as_uuid(), chosen);
    let made = env
        .admin
        .create_campaign(b, "Admin Made Too", None)
        .await
        .expect("campaign");
    let facts = env
        .admin
        .campaign_facts(c)
        .await
        .expect("facts")
        .expect("a campaign");
    assert_eq!(
        (facts.tenant, facts.timezone.as_str(), facts.frequency_cap),
        (a, "UTC", None)
    );
    let record = env
        .api
        .campaign(a, c)
        .await
        .expect("read")
        .expect("visible to its tenant");
    assert_eq!(record.status, CampaignStatus::Active);
    assert_eq!(record.fields.name, "Admin Made");
    assert_eq!(record.version, 1);

    assert_eq!(
        env.admin
            .set_campaign_zones(
                "America/New_York",
                &[chosen, *made.as_uuid(), Uuid::now_v7()]
            )
            .await
            .expect("zones"),
        2
    );
    assert_eq!(
        env.admin
            .set_campaign_zones("UTC", &[])
            .await
            .expect("zones"),
        0
    );
    let facts = env
        .admin
        .campaign_facts(made)
        .await
        .expect("facts")
        .expect("a campaign");
    assert_eq!(
        (facts.tenant, facts.timezone.as_str()),
        (b, "America/New_York")
    );

    let v = done(
        env.api
            .set_campaign_targeting(
                a,
                c,
                1,
                r#"{"frequency_cap": {"max": 2, "per": "hour", "scope": "campaign", "window": "rolling"}}"#,
            )
            .await
            .expect("targeting"),
    );
    assert_eq!(v.version, 2);
    let facts = env
        .admin
        .campaign_facts(c)
        .await
        .expect("facts")
        .expect("a campaign");
    let cap: FrequencyCap = serde_json::from_str(
        r#"{"max": 2, "per": "hour", "scope": "campaign", "window": "rolling"}"#,
    )
    .expect("cap");
    assert_eq!(facts.frequency_cap, Some(cap));
    assert_eq!(facts.timezone, "America/New_York");
    done(
        env.api
            .set_campaign_targeting(a, c, 2, r#"{"frequency_cap": null}"#)
            .await
            .expect("targeting"),
    );
    assert_eq!(
        env.admin
            .campaign_facts(c)
            .await
            .expect("facts")
            .expect("a campaign")
            .frequency_cap,
        None
    );

    assert!(env.admin.delete_campaign(c).await.expect("delete"));
    assert!(!env.admin.delete_campaign(c).await.expect("delete"), "once");
    assert_eq!(env.admin.campaign_facts(c).await.expect("facts"), None);
    assert_eq!(env.api.campaign(a, c).await.expect("read"), None);
    assert_eq!(
        env.admin
            .campaign_facts(CampaignId::from_uuid(Uuid::now_v7()))
            .await
            .expect("facts"),
        None
    );
    let dup = env.admin.create_campaign(a, "same id", Some(chosen)).await;
    assert!(matches!(dup, Err(StoreError::Duplicate(_))), "{dup:?}");
}

// ---------------------------------------------------------------- isolation

async fn tenants_never_see_each_other(env: &Env) {
    let a = tenant(env, "a").await;
    let b = tenant(env, "b").await;
    let mine = env
        .api
        .insert_campaign(a, &named("A's campaign"))
        .await
        .expect("campaign");
    let art = env
        .api
        .insert_creative(a, &creative(mine.id, "a.png"))
        .await
        .expect("creative")
        .expect("stored");
    let (ann, _) = user(env, a, Role::Admin).await;
    let key = env
        .api
        .create_ingest_key(a, "a's key", [0x42; 32])
        .await
        .expect("key");
    let (bea, _) = user(env, b, Role::Admin).await;
    let theirs = env
        .api
        .insert_campaign(b, &named("B's campaign"))
        .await
        .expect("campaign");

    // Campaigns.
    assert_eq!(env.api.campaign(b, mine.id).await.expect("read"), None);
    assert_eq!(
        env.api
            .update_campaign(b, mine.id, 1, &named("hijacked"))
            .await
            .expect("update"),
        Updated::NotFound
    );
    assert_eq!(
        env.api
            .set_campaign_status(b, mine.id, 1, CampaignStatus::Active)
            .await
            .expect("status"),
        Updated::NotFound
    );
    assert_eq!(
        env.api.campaign_targeting(b, mine.id).await.expect("read"),
        None
    );
    assert_eq!(
        env.api
            .set_campaign_targeting(b, mine.id, 1, "{}")
            .await
            .expect("targeting"),
        Updated::NotFound
    );
    assert_eq!(
        env.api
            .delete_campaign_at(b, mine.id, 1)
            .await
            .expect("delete"),
        Updated::NotFound
    );
    for sort in CampaignSort::ALL {
        let (rows, total) = list(
            env,
            b,
            &CampaignFilter::default(),
            sort,
            false,
            &Page::Offset(0),
            100,
        )
        .await;
        assert_eq!(total, 1);
        assert_eq!(
            rows.iter().map(|c| c.id).collect::<Vec<_>>(),
            vec![theirs.id]
        );
    }
    let (rows, _) = list(
        env,
        b,
        &CampaignFilter::default(),
        CampaignSort::CreatedAt,
        false,
        &Page::After {
            value: CampaignSort::CreatedAt.value_of(&mine),
            id: mine.id,
        },
        100,
    )
    .await;
    assert!(
        rows.iter().all(|c| c.tenant_id == b),
        "a cursor from A shows B only B's"
    );
    assert_eq!(
        env.api.campaign(a, mine.id).await.expect("read"),
        Some(mine.clone()),
        "untouched"
    );

    // Creatives.
    assert_eq!(
        env.api
            .insert_creative(b, &creative(mine.id, "b.png"))
            .await
            .expect("insert"),
        None
    );
    assert_eq!(
        env.api.creative(b, mine.id, art.id).await.expect("read"),
        None
    );
    assert_eq!(
        env.api
            .creatives(b, mine.id, None, 10)
            .await
            .expect("creatives"),
        (Vec::new(), 0)
    );
    assert!(
        !env.api
            .delete_creative(b, mine.id, art.id)
            .await
            .expect("delete")
    );
    assert_eq!(
        env.api
            .creatives(a, mine.id, None, 10)
            .await
            .expect("creatives"),
        (vec![art.clone()], 1)
    );

    // Users.
    let theirs_users: Vec<Uuid> = env
        .api
        .users(b)
        .await
        .expect("users")
        .into_iter()
        .map(|u| u.id)
        .collect();
    assert_eq!(theirs_users, vec![bea]);
    assert!(env.api.active_user(b, ann).await.expect("active").is_none());
    assert!(
        env.api
            .deactivate_user(b, ann)
            .await
            .expect("deactivate")
            .is_none()
    );
    assert!(env.api.active_user(a, ann).await.expect("active").is_some());

    // Keys.
    let theirs_keys = env.api.ingest_keys(b).await.expect("keys");
    assert!(theirs_keys.is_empty());
    assert!(
        !env.api
            .revoke_tenant_ingest_key(b, key.id)
            .await
            .expect("revoke")
    );
    assert_eq!(
        env.admin
            .key_status(ingest_key::hash(&key.secret))
            .await
            .expect("status"),
        KeyStatus::Active(a)
    );
}

// ---------------------------------------------------------------- races

async fn racing_writers_change_once(env: &Env) {
    let a = tenant(env, "a").await;
    let (u, _) = user(env, a, Role::Admin).await;
    let expires = Utc::now() + Duration::hours(1);
    for round in 0..5u8 {
        let presented = token(round);
        env.api
            .store_refresh_token(a, u, Uuid::now_v7(), &presented, expires)
            .await
            .expect("store");
        let (next_x, next_y) = (token(100 + round), token(200 + round));
        let (x, y) = tokio::join!(
            env.api.rotate_refresh_token(&presented, &next_x, expires),
            env.api.rotate_refresh_token(&presented, &next_y, expires),
        );
        let mut outcomes = [x.expect("rotate"), y.expect("rotate")];
        outcomes.sort_by_key(|o| matches!(o, Rotation::Reused));
        assert!(
            matches!(outcomes, [Rotation::Rotated { .. }, Rotation::Reused]),
            "one use rotates, the other is reuse: {outcomes:?}"
        );

        let c = env
            .api
            .insert_campaign(a, &named("raced"))
            .await
            .expect("campaign");
        let first = named("first");
        let (x, y) = tokio::join!(
            env.api.update_campaign(a, c.id, 1, &first),
            env.api
                .set_campaign_status(a, c.id, 1, CampaignStatus::Active),
        );
        let mut outcomes = [x.expect("update"), y.expect("status")];
        outcomes.sort_by_key(|o| matches!(o, Updated::Conflict(_)));
        assert!(
            matches!(&outcomes, [Updated::Done(d), Updated::Conflict(2)] if d.version == 2),
            "one change wins at a version: {outcomes:?}"
        );
    }
}
