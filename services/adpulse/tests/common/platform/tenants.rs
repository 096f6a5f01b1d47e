//! Tenants made as an operator would (`adpulse admin`), and the HTTP calls
//! a tenant's admin and its ad server make.

use adpulse_testkit::unique_name;
use serde_json::json;

use super::super::http::Reply;
use super::{PARTITIONS, PASSWORD, Platform};

/// A tenant made through `adpulse admin`, and its admin's access token.
#[derive(Clone, Debug)]
pub struct Tenant {
    /// The tenant's id.
    pub id: String,
    /// Its campaigns, in creation order.
    pub campaigns: Vec<String>,
    /// An ingest key (the bearer secret).
    pub key: String,
    /// The admin's login.
    pub email: String,
    /// The admin's access token.
    pub token: String,
}

impl Platform {
    /// A tenant with `campaigns` campaigns, an ingest key and an admin, all
    /// made with `adpulse admin`, and the admin's access token from
    /// `POST /api/v1/auth/login`.
    pub async fn tenant(&self, name: &str, campaigns: usize) -> Tenant {
        let id = self.admin(&["create-tenant", "--name", name], None).await;
        assert!(id.parse::<uuid::Uuid>().is_ok(), "a tenant id: {id}");
        let mut ids = Vec::new();
        for i in 0..campaigns {
            let c = self
                .admin(
                    &[
                        "create-campaign",
                        "--tenant",
                        &id,
                        "--name",
                        &format!("{name} campaign {i}"),
                    ],
                    None,
                )
                .await;
            assert!(c.parse::<uuid::Uuid>().is_ok(), "a campaign id: {c}");
            ids.push(c);
        }
        let out = self
            .admin(&["create-key", "--tenant", &id, "--name", "e2e"], None)
            .await;
        let key = out
            .lines()
            .find_map(|l| l.strip_prefix("secret"))
            .map(|s| s.trim().to_owned())
            .unwrap_or_else(|| panic!("create-key prints the secret: {out}"));
        let email = format!("{}@{}.example", unique_name("admin"), unique_name("t"));
        let user = self
            .admin(
                &[
                    "create-user",
                    "--tenant",
                    &id,
                    "--email",
                    &email,
                    "--role",
                    "admin",
                ],
                Some(PASSWORD),
            )
            .await;
        assert!(user.parse::<uuid::Uuid>().is_ok(), "a user id: {user}");
        let token = self.login(&email, PASSWORD).await;
        Tenant {
            id,
            campaigns: ids,
            key,
            email,
            token,
        }
    }

    /// A new campaign of `tenant` (made with `adpulse admin create-campaign
    /// --id`) whose events share a partition with `campaign`'s: the
    /// neighbour a hostile sender could reach through a shared batch,
    /// dedup set or commit.
    pub async fn campaign_beside(&self, tenant: &Tenant, campaign: &str) -> String {
        let target = adpulse_domain::partition::partition_for(campaign.as_bytes(), PARTITIONS);
        let id = loop {
            let id = uuid::Uuid::now_v7().to_string();
            if adpulse_domain::partition::partition_for(id.as_bytes(), PARTITIONS) == target {
                break id;
            }
        };
        let made = self
            .admin(
                &[
                    "create-campaign",
                    "--tenant",
                    &tenant.id,
                    "--name",
                    "neighbour",
                    "--id",
                    &id,
                ],
                None,
            )
            .await;
        assert_eq!(made, id, "the campaign has the id asked for");
        id
    }

    /// An access token for `email`.
    pub async fn login(&self, email: &str, password: &str) -> String {
        let r = self
            .api
            .send(
                "POST",
                "/api/v1/auth/login",
                &[("content-type", "application/json")],
                json!({"email": email, "password": password}).to_string(),
            )
            .await;
        assert_eq!(r.status, 200, "login: {}", String::from_utf8_lossy(&r.body));
        r.json()["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }

    /// `GET path` on the API as the holder of `token`.
    pub async fn get(&self, token: &str, path: &str) -> Reply {
        let auth = format!("Bearer {token}");
        self.api
            .send("GET", path, &[("authorization", &auth)], "")
            .await
    }

    /// `POST path` on the gateway with ingest key `key`.
    pub async fn ingest(&self, key: &str, path: &str, content_type: &str, body: String) -> Reply {
        let auth = format!("Bearer {key}");
        self.gateway
            .send(
                "POST",
                path,
                &[("authorization", &auth), ("content-type", content_type)],
                body,
            )
            .await
    }
}
