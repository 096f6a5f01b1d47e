//! Names and records the relational suites share; `use
//! crate::support::*` brings them and the types every suite uses.

pub(crate) use adpulse_domain::store::{
    CampaignFilter, CampaignRecord, CampaignSort, CampaignWrite, CreativeRecord, Page, Rotation,
    StoreError, Updated,
};
pub(crate) use adpulse_domain::{CampaignId, CampaignStatus, Role, TenantId};
pub(crate) use adpulse_testkit::unique_name;
pub(crate) use chrono::{DateTime, Duration, Utc};
pub(crate) use uuid::Uuid;

pub(crate) use crate::common::{Env, conformance};

pub(crate) fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("rfc 3339 time")
        .with_timezone(&Utc)
}

pub(crate) fn named(name: &str) -> CampaignWrite {
    CampaignWrite {
        name: name.to_owned(),
        timezone: "UTC".to_owned(),
        ..CampaignWrite::default()
    }
}

pub(crate) fn done(u: Updated) -> CampaignRecord {
    match u {
        Updated::Done(c) => *c,
        other => panic!("expected the change to be done, got {other:?}"),
    }
}

pub(crate) fn token(n: u8) -> [u8; 32] {
    let mut t = [n; 32];
    t[..16].copy_from_slice(Uuid::new_v4().as_bytes());
    t
}

pub(crate) fn creative(campaign: CampaignId, name: &str) -> CreativeRecord {
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

pub(crate) async fn tenant(env: &Env, name: &str) -> TenantId {
    env.store.create_tenant(name).await.expect("tenant")
}

pub(crate) async fn user(env: &Env, tenant: TenantId, role: Role) -> (Uuid, String) {
    let email = format!("{}@{}.example", unique_name("user"), role.as_str());
    let id = env
        .api
        .create_user(tenant, &email, "$argon2id$v=19$fake", role)
        .await
        .expect("user");
    (id, email)
}

/// What a listing must return, computed here from the records.
pub(crate) fn expected(
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

pub(crate) async fn list(
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
pub(crate) type Spec = (
    &'static str,
    Option<&'static str>,
    Option<i64>,
    Option<(&'static str, &'static str)>,
);
