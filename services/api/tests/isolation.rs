//! Tenant isolation and roles: every endpoint and method with another
//! tenant's token on a tenant's campaign (404 or 403, no data, nothing
//! changed), row-level security alone (no application filter), and the
//! three roles against every campaign endpoint.

mod common;

use adpulse_domain::{Role, TenantId};
use adpulse_postgres::Database;
use common::Api;
use serde_json::{Value, json};

fn campaign() -> Value {
    json!({"name": "A's secret launch", "brand_id": "a-brand", "channels": ["search"]})
}

/// Every campaign endpoint and method: (method, path suffix, body).
fn endpoints(id: &str) -> Vec<(&'static str, String, Option<Value>)> {
    let p = format!("/api/v1/campaigns/{id}");
    vec![
        ("GET", p.clone(), None),
        ("PUT", p.clone(), Some(campaign())),
        ("PATCH", p.clone(), Some(json!({"name": "pwned"}))),
        ("GET", format!("{p}/targeting"), None),
        (
            "PUT",
            format!("{p}/targeting"),
            Some(json!({"countries": ["DE"]})),
        ),
        ("DELETE", p.clone(), None),
        (
            "PATCH",
            format!("{p}/status"),
            Some(json!({"status": "active"})),
        ),
    ]
}

#[tokio::test]
async fn another_tenant_gets_404_or_403_and_nothing_changes() {
    let api = Api::start().await;
    let owner = api.token(&api.a, Role::Admin).await;
    let (id, key_id, user_id) = a_campaign_key_and_user_of_a(&api, &owner).await;
    let targets = cross_tenant_targets(&id, &key_id, &user_id);
    let mut tried = 0;
    for role in Role::ALL {
        tried += intruder_of_b_reaches_nothing(&api, role, &targets).await;
    }
    a_s_data_is_unchanged(&api, &owner, &id).await;
    eprintln!("cross-tenant matrix: {tried} requests, none reached tenant A's data");
    api.stop().await;
}

/// Tenant A's admin makes a campaign and an ingest key; returns their ids
/// and the id of one of A's users.
async fn a_campaign_key_and_user_of_a(api: &Api, owner: &str) -> (String, String, String) {
    let made = api
        .call(
            "POST",
            "/api/v1/campaigns",
            Some(owner),
            &[],
            Some(&campaign()),
        )
        .await;
    assert_eq!(made.status, 201);
    let id = made.body["id"].as_str().expect("id").to_owned();
    let key = api
        .call(
            "POST",
            "/api/v1/ingest-keys",
            Some(owner),
            &[],
            Some(&json!({"name": "A's secret launch key"})),
        )
        .await;
    let key_id = key.body["id"].as_str().expect("key").to_owned();
    let users = api
        .call("GET", "/api/v1/users", Some(owner), &[], None)
        .await;
    let user_id = users.body["data"][0]["id"]
        .as_str()
        .expect("user")
        .to_owned();
    (id, key_id, user_id)
}

/// Every endpoint of A's campaign `id`, its creatives, key and user, as
/// another tenant would try them: (method, path, body).
fn cross_tenant_targets(
    id: &str,
    key_id: &str,
    user_id: &str,
) -> Vec<(&'static str, String, Option<Value>)> {
    let mut targets = endpoints(id);
    targets.push(("DELETE", format!("/api/v1/ingest-keys/{key_id}"), None));
    targets.push(("GET", format!("/api/v1/campaigns/{id}/assets"), None));
    targets.push((
        "GET",
        format!("/api/v1/campaigns/{id}/assets/{}", uuid::Uuid::new_v4()),
        None,
    ));
    targets.push((
        "GET",
        format!(
            "/api/v1/campaigns/{id}/assets/{}/content",
            uuid::Uuid::new_v4()
        ),
        None,
    ));
    targets.push((
        "DELETE",
        format!("/api/v1/campaigns/{id}/assets/{}", uuid::Uuid::new_v4()),
        None,
    ));
    targets.push(("POST", format!("/api/v1/users/{user_id}/deactivate"), None));
    targets
}

/// `role` of tenant B gets 404 or 403 and none of A's data from every
/// target, and its own listings hold nothing of A's; returns the number
/// of requests made.
async fn intruder_of_b_reaches_nothing(
    api: &Api,
    role: Role,
    targets: &[(&'static str, String, Option<Value>)],
) -> usize {
    let mut tried = 0;
    let intruder = api.token(&api.b, role).await;
    for (method, path, body) in targets.iter().cloned() {
        let r = api
            .call(
                method,
                &path,
                Some(&intruder),
                &[("if-match", "\"1\"")],
                body.as_ref(),
            )
            .await;
        tried += 1;
        assert!(
            r.status == 404 || r.status == 403,
            "{role} of B: {method} {path} gave {}: {}",
            r.status,
            r.body
        );
        let text = r.body.to_string();
        assert!(
            !text.contains("secret launch") && !text.contains("a-brand"),
            "{method} {path} leaked: {text}"
        );
    }
    let list = api
        .call(
            "GET",
            "/api/v1/campaigns?limit=100",
            Some(&intruder),
            &[],
            None,
        )
        .await;
    tried += 1;
    assert_eq!(
        list.body["pagination"]["total"], 0,
        "{role} of B lists A's campaigns"
    );
    for path in ["/api/v1/ingest-keys", "/api/v1/users"] {
        let r = api.call("GET", path, Some(&intruder), &[], None).await;
        tried += 1;
        let text = r.body.to_string();
        assert!(
            !text.contains("secret launch") && !text.contains("@a.example"),
            "{role} of B: {path} leaked {text}"
        );
    }
    tried
}

/// A's key is still live, its users active, its campaign unchanged.
async fn a_s_data_is_unchanged(api: &Api, owner: &str, id: &str) {
    let keys = api
        .call("GET", "/api/v1/ingest-keys", Some(owner), &[], None)
        .await;
    assert!(
        keys.body["data"][0]["revoked_at"].is_null(),
        "A's key still live"
    );
    let users = api
        .call("GET", "/api/v1/users", Some(owner), &[], None)
        .await;
    assert!(
        users.body["data"]
            .as_array()
            .expect("users")
            .iter()
            .all(|u| u["deactivated_at"].is_null()),
        "A's users still active"
    );
    // Unchanged, for its owner.
    let still = api
        .call(
            "GET",
            &format!("/api/v1/campaigns/{id}"),
            Some(owner),
            &[],
            None,
        )
        .await;
    assert_eq!(
        (still.body["name"].as_str(), still.body["version"].as_i64()),
        (Some("A's secret launch"), Some(1))
    );
}

#[tokio::test]
async fn row_level_security_alone_confines_queries_without_any_filter() {
    let api = Api::start().await;
    for (t, n) in [(&api.a, 3), (&api.b, 2)] {
        let tok = api.token(t, Role::CampaignManager).await;
        for i in 0..n {
            let r = api
                .call(
                    "POST",
                    "/api/v1/campaigns",
                    Some(&tok),
                    &[],
                    Some(&json!({"name": format!("c{i}")})),
                )
                .await;
            assert_eq!(r.status, 201);
        }
    }
    // The API's kind of session: tenant-scoped.
    let db = Database::connect_for_tenants(api.postgres().0)
        .await
        .expect("connect");
    the_policy_alone_counts_each_tenant_s_rows(&api, &db).await;
    totals_and_reach_rows_are_their_tenant_s_alone(&api, &db).await;
    without_a_tenant_every_table_is_empty(&db).await;
    rows_cannot_be_written_into_another_tenant(&api, &db).await;
    api.stop().await;
}

/// The rows `sql` counts, in a transaction of `tenant` (of no tenant if
/// `None`).
async fn count(db: &Database, sql: &'static str, tenant: Option<TenantId>) -> i64 {
    let mut tx = match tenant {
        Some(t) => db.tenant_tx(t).await.expect("tx"),
        None => db.pool().begin().await.expect("tx"),
    };
    let (n,): (i64,) = sqlx::query_as(sql)
        .fetch_one(&mut *tx)
        .await
        .expect("count");
    n
}

/// Counts without a WHERE clause see A's 3 campaigns, B's 2, B's users
/// and B's tenant only.
async fn the_policy_alone_counts_each_tenant_s_rows(api: &Api, db: &Database) {
    // No WHERE clause at all: the policy alone decides.
    assert_eq!(
        count(db, "SELECT count(*) FROM campaigns", Some(api.b.id)).await,
        2
    );
    assert_eq!(
        count(db, "SELECT count(*) FROM campaigns", Some(api.a.id)).await,
        3
    );
    assert_eq!(
        count(db, "SELECT count(*) FROM users", Some(api.b.id)).await,
        3
    );
    assert_eq!(
        count(db, "SELECT count(*) FROM tenants", Some(api.b.id)).await,
        1
    );
}

/// Running totals, lifetime totals and reach rows written for A are
/// counted for A and not for B.
async fn totals_and_reach_rows_are_their_tenant_s_alone(api: &Api, db: &Database) {
    // The ranking totals and reach: A's row is A's alone.
    let mut tx = db.tenant_tx(api.a.id).await.expect("tx");
    for sql in [
        "INSERT INTO campaign_running_totals VALUES ($1, current_date, $2, 1, 0, 0, 10, 0)",
        "INSERT INTO campaign_lifetime_totals VALUES ($1, $2, current_date, current_date, 1, 0, 0, 10, 0)",
        "INSERT INTO campaign_day_reach VALUES ($2, current_date, $1, hll_empty(14, 5))",
        "INSERT INTO campaign_week_reach VALUES ($2, date_trunc('week', now())::date, $1, hll_empty(14, 5))",
    ] {
        sqlx::query(sql)
            .bind(api.a.id.as_uuid())
            .bind(uuid::Uuid::now_v7())
            .execute(&mut *tx)
            .await
            .expect("totals row");
    }
    tx.commit().await.expect("commit");
    for table in [
        "SELECT count(*) FROM campaign_running_totals",
        "SELECT count(*) FROM campaign_lifetime_totals",
        "SELECT count(*) FROM campaign_day_reach",
        "SELECT count(*) FROM campaign_week_reach",
    ] {
        assert_eq!(count(db, table, Some(api.a.id)).await, 1, "{table} for A");
        assert_eq!(count(db, table, Some(api.b.id)).await, 0, "{table} for B");
    }
}

/// A transaction with no tenant set sees nothing in any tenant table.
async fn without_a_tenant_every_table_is_empty(db: &Database) {
    // No tenant set: nothing, in every tenant table.
    for table in [
        "SELECT count(*) FROM campaign_running_totals",
        "SELECT count(*) FROM campaign_lifetime_totals",
        "SELECT count(*) FROM campaign_day_reach",
        "SELECT count(*) FROM campaign_week_reach",
        "SELECT count(*) FROM campaigns",
        "SELECT count(*) FROM users",
        "SELECT count(*) FROM tenants",
        "SELECT count(*) FROM refresh_tokens",
        "SELECT count(*) FROM ingest_keys",
        "SELECT count(*) FROM campaign_aggregates",
        "SELECT count(*) FROM campaign_live_series",
        "SELECT count(*) FROM creatives",
    ] {
        assert_eq!(count(db, table, None).await, 0, "{table} without a tenant");
    }
}

/// B can neither insert a row of A nor move its own campaigns to A.
async fn rows_cannot_be_written_into_another_tenant(api: &Api, db: &Database) {
    // Writing another tenant's row is refused by the policy's check.
    let mut tx = db.tenant_tx(api.b.id).await.expect("tx");
    let err =
        sqlx::query("INSERT INTO campaigns (id, tenant_id, name) VALUES ($1, $2, 'smuggled')")
            .bind(uuid::Uuid::now_v7())
            .bind(api.a.id.as_uuid())
            .execute(&mut *tx)
            .await
            .expect_err("a row of tenant A from tenant B's transaction");
    assert!(err.to_string().contains("row-level security"), "{err}");
    drop(tx);
    // And B cannot move its own campaign to A.
    let mut tx = db.tenant_tx(api.b.id).await.expect("tx");
    let err = sqlx::query("UPDATE campaigns SET tenant_id = $1")
        .bind(api.a.id.as_uuid())
        .execute(&mut *tx)
        .await
        .expect_err("moved to A");
    assert!(err.to_string().contains("row-level security"), "{err}");
    drop(tx);
}

#[tokio::test]
async fn roles_decide_what_each_endpoint_allows() {
    let api = Api::start().await;
    let mut checked = 0;
    for role in Role::ALL {
        let tok = api.token(&api.a, role).await;
        let admin = api.token(&api.a, Role::Admin).await;
        checked += campaign_endpoints_follow_the_role(&api, role, &tok, &admin).await;
        checked += administration_is_for_admins_only(&api, role, &tok).await;
        checked += creatives_are_read_by_all_written_by_managers(&api, role, &tok, &admin).await;
    }
    eprintln!("role matrix: {checked} requests");
    api.stop().await;
}

/// `role` lists campaigns, creates one if it manages campaigns, and gets
/// what its role allows from every endpoint of a fresh campaign made by
/// `admin`; returns the number of requests checked.
async fn campaign_endpoints_follow_the_role(
    api: &Api,
    role: Role,
    tok: &str,
    admin: &str,
) -> usize {
    let mut checked = 0;
    let writes = role.manages_campaigns();
    // A campaign per role to act on (made by an admin).
    let c = api
        .call(
            "POST",
            "/api/v1/campaigns",
            Some(admin),
            &[],
            Some(&campaign()),
        )
        .await;
    let id = c.body["id"].as_str().expect("id").to_owned();

    let list = api
        .call("GET", "/api/v1/campaigns", Some(tok), &[], None)
        .await;
    let create = api
        .call(
            "POST",
            "/api/v1/campaigns",
            Some(tok),
            &[],
            Some(&campaign()),
        )
        .await;
    assert_eq!(list.status, 200, "{role} list");
    assert_eq!(
        create.status,
        if writes { 201 } else { 403 },
        "{role} create"
    );
    checked += 2;
    for (method, path, body) in endpoints(&id) {
        // Version 1 each time: the DELETE last, on a fresh campaign.
        let r = api
            .call(
                method,
                &path,
                Some(tok),
                &[("if-match", "\"1\"")],
                body.as_ref(),
            )
            .await;
        checked += 1;
        let want: &[u16] = match (method, writes) {
            ("GET", _) => &[200],
            (_, false) => &[403],
            // Earlier writes moved the version: 412 proves the role got
            // past the check.
            (_, true) => &[200, 204, 412],
        };
        assert!(
            want.contains(&r.status),
            "{role} {method} {path}: {} {}",
            r.status,
            r.body
        );
        if r.status == 403 {
            assert_eq!(r.code(), "forbidden");
            assert!(
                r.body["error"]["message"]
                    .as_str()
                    .expect("m")
                    .contains(role.as_str())
            );
        }
    }
    checked
}

/// Tenant administration: admins only; returns the number of requests
/// checked.
async fn administration_is_for_admins_only(api: &Api, role: Role, tok: &str) -> usize {
    let mut checked = 0;
    // Tenant administration: admins only.
    let admin_only = [
        ("GET", "/api/v1/ingest-keys".to_owned(), None, 200),
        (
            "POST",
            "/api/v1/ingest-keys".to_owned(),
            Some(json!({"name": "k"})),
            201,
        ),
        ("GET", "/api/v1/users".to_owned(), None, 200),
        (
            "POST",
            "/api/v1/users".to_owned(),
            Some(
                json!({"email": format!("{}@a.example", uuid::Uuid::new_v4()), "password": "long enough password", "role": "analyst"}),
            ),
            201,
        ),
        (
            "DELETE",
            format!("/api/v1/ingest-keys/{}", uuid::Uuid::new_v4()),
            None,
            404,
        ),
        (
            "POST",
            format!("/api/v1/users/{}/deactivate", uuid::Uuid::new_v4()),
            None,
            404,
        ),
    ];
    for (method, path, body, ok) in admin_only {
        let r = api.call(method, &path, Some(tok), &[], body.as_ref()).await;
        checked += 1;
        let want = if role.administers() { ok } else { 403 };
        assert_eq!(r.status, want, "{role} {method} {path}: {}", r.body);
    }
    checked
}

/// Creatives of a fresh campaign: everyone reads; managers and admins
/// write. Returns the number of requests checked.
async fn creatives_are_read_by_all_written_by_managers(
    api: &Api,
    role: Role,
    tok: &str,
    admin: &str,
) -> usize {
    let writes = role.manages_campaigns();
    // Creatives: everyone reads; managers and admins write.
    let fresh = api
        .call(
            "POST",
            "/api/v1/campaigns",
            Some(admin),
            &[],
            Some(&campaign()),
        )
        .await;
    let fresh_assets = format!(
        "/api/v1/campaigns/{}/assets",
        fresh.body["id"].as_str().expect("id")
    );
    let list = api.call("GET", &fresh_assets, Some(tok), &[], None).await;
    assert_eq!(list.status, 200, "{role} list assets");
    let (status, _, _) = api
        .raw(
            "POST",
            &fresh_assets,
            Some(tok),
            &[],
            Some("multipart/form-data; boundary=b"),
            b"--b--\r\n".to_vec(),
        )
        .await;
    assert_eq!(
        status,
        if writes { 422 } else { 403 },
        "{role} upload (an empty form gets past the role check as 422)"
    );
    let gone = format!("{fresh_assets}/{}", uuid::Uuid::new_v4());
    let r = api.call("DELETE", &gone, Some(tok), &[], None).await;
    assert_eq!(
        r.status,
        if writes { 404 } else { 403 },
        "{role} delete asset"
    );
    5
}
