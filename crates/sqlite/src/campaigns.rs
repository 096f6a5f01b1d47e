//! Campaigns as the API manages them. Every statement names the tenant:
//! there is no row-level security behind these filters.
//!
//! Changes are conditional on the version the caller read (the ETag): the
//! update runs first and, when it matched nothing, the same transaction
//! tells a stale version ([`Updated::Conflict`]) from a missing campaign.

use adpulse_domain::ports::CampaignStore;
use adpulse_domain::store::{
    CampaignFilter, CampaignRecord, CampaignSort, CampaignWrite, Page, StoreError, Updated,
};
use adpulse_domain::{CampaignId, CampaignStatus, TenantId};
use chrono::{DateTime, Utc};
use sqlx::{QueryBuilder, Sqlite};
use uuid::Uuid;

use crate::{Lite, instant, micros};
use crate::{failed, fold_case, write_tx};

/// The SQL expression a sort orders by; its values compare as
/// [`CampaignSort::value_of`] says (name: lower-cased as Postgres does,
/// stored as `name_key`; budget: none as -1).
fn sort_expr(s: CampaignSort) -> &'static str {
    match s {
        CampaignSort::CreatedAt => "created_at",
        CampaignSort::UpdatedAt => "updated_at",
        CampaignSort::Name => "name_key",
        CampaignSort::Budget => "coalesce(budget_total_micros, -1)",
    }
}

/// A cursor's sort value as the column holds it.
enum Key {
    Int(i64),
    Text(String),
}

/// Reads back a cursor's text ([`CampaignSort::value_of`]); refused, as
/// Postgres refuses a cast, when it is not a value of that sort.
fn cursor_key(s: CampaignSort, value: &str) -> Result<Key, StoreError> {
    let bad = |e: &dyn std::fmt::Display| {
        StoreError::Invalid(format!("cursor value {value:?} of {}: {e}", s.as_str()).into())
    };
    Ok(match s {
        CampaignSort::CreatedAt | CampaignSort::UpdatedAt => Key::Int(micros(
            DateTime::parse_from_rfc3339(value)
                .map_err(|e| bad(&e))?
                .with_timezone(&Utc),
        )),
        CampaignSort::Name => Key::Text(value.to_owned()),
        CampaignSort::Budget => Key::Int(value.parse().map_err(|e| bad(&e))?),
    })
}

const COLUMNS: &str = "id, tenant_id, status, name, brand_id, budget_total_micros, budget_currency,
    budget_daily_cap_micros, schedule_start, schedule_end, timezone, objectives, channels,
    created_at, updated_at, version";

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    tenant_id: Uuid,
    status: String,
    name: String,
    brand_id: Option<String>,
    budget_total_micros: Option<i64>,
    budget_currency: Option<String>,
    budget_daily_cap_micros: Option<i64>,
    schedule_start: Option<i64>,
    schedule_end: Option<i64>,
    timezone: String,
    objectives: String,
    channels: String,
    created_at: i64,
    updated_at: i64,
    version: i64,
}

/// A JSON array of text, as `objectives` and `channels` hold.
fn strings(column: &str, json: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(json).map_err(|e| {
        StoreError::Config(format!("unreadable campaigns.{column} {json:?}: {e}").into())
    })
}

fn json_array(values: &[String]) -> String {
    // A list of strings always serialises.
    serde_json::to_string(values).unwrap_or_else(|_| "[]".to_owned())
}

impl TryFrom<Row> for CampaignRecord {
    type Error = StoreError;

    fn try_from(r: Row) -> Result<Self, StoreError> {
        Ok(Self {
            id: CampaignId::from_uuid(r.id),
            tenant_id: TenantId::from_uuid(r.tenant_id),
            status: r.status.parse().map_err(|()| {
                StoreError::Config(format!("unknown campaign status {:?}", r.status).into())
            })?,
            fields: CampaignWrite {
                name: r.name,
                brand_id: r.brand_id,
                budget_total_micros: r.budget_total_micros,
                budget_currency: r.budget_currency,
                budget_daily_cap_micros: r.budget_daily_cap_micros,
                schedule_start: r.schedule_start.map(instant),
                schedule_end: r.schedule_end.map(instant),
                timezone: r.timezone,
                objectives: strings("objectives", &r.objectives)?,
                channels: strings("channels", &r.channels)?,
            },
            created_at: instant(r.created_at),
            updated_at: instant(r.updated_at),
            version: r.version,
        })
    }
}

const FIELD_NAMES: [&str; 11] = [
    "name",
    "name_key",
    "brand_id",
    "budget_total_micros",
    "budget_currency",
    "budget_daily_cap_micros",
    "schedule_start",
    "schedule_end",
    "timezone",
    "objectives",
    "channels",
];

/// Binds the writable fields in [`FIELD_NAMES`] order, each after `sep(i)`.
fn push_fields(q: &mut QueryBuilder<Sqlite>, w: &CampaignWrite, sep: impl Fn(usize) -> String) {
    q.push(sep(0)).push_bind(w.name.clone());
    q.push(sep(1)).push_bind(fold_case(&w.name));
    q.push(sep(2)).push_bind(w.brand_id.clone());
    q.push(sep(3)).push_bind(w.budget_total_micros);
    q.push(sep(4)).push_bind(w.budget_currency.clone());
    q.push(sep(5)).push_bind(w.budget_daily_cap_micros);
    q.push(sep(6)).push_bind(w.schedule_start.map(micros));
    q.push(sep(7)).push_bind(w.schedule_end.map(micros));
    q.push(sep(8)).push_bind(w.timezone.clone());
    q.push(sep(9)).push_bind(json_array(&w.objectives));
    q.push(sep(10)).push_bind(json_array(&w.channels));
}

fn records(rows: Vec<Row>) -> Result<Vec<CampaignRecord>, StoreError> {
    rows.into_iter().map(TryInto::try_into).collect()
}

impl Lite {
    /// Finishes `q` (`UPDATE campaigns SET …`): bumps the version, sets the
    /// change time to `now`, applies it to the tenant's live campaign at `version`,
    /// and says what became of it.
    async fn conditional(
        &self,
        tenant: TenantId,
        id: CampaignId,
        version: i64,
        mut q: QueryBuilder<Sqlite>,
        now: i64,
    ) -> Result<Updated, StoreError> {
        q.push(", version = version + 1, updated_at = ")
            .push_bind(now)
            .push(" WHERE id = ")
            .push_bind(*id.as_uuid())
            .push(" AND tenant_id = ")
            .push_bind(*tenant.as_uuid())
            .push(" AND deleted_at IS NULL AND version = ")
            .push_bind(version)
            .push(format!(" RETURNING {COLUMNS}"));
        let mut tx = write_tx(self.writer()).await?;
        let row: Option<Row> = q
            .build_query_as()
            .fetch_optional(&mut *tx)
            .await
            .map_err(failed)?;
        let outcome = match row {
            Some(row) => Updated::Done(Box::new(row.try_into()?)),
            None => {
                let current: Option<(i64,)> = sqlx::query_as(
                    "SELECT version FROM campaigns
                     WHERE id = ?1 AND tenant_id = ?2 AND deleted_at IS NULL",
                )
                .bind(id.as_uuid())
                .bind(tenant.as_uuid())
                .fetch_optional(&mut *tx)
                .await
                .map_err(failed)?;
                current.map_or(Updated::NotFound, |(v,)| Updated::Conflict(v))
            }
        };
        tx.commit().await.map_err(failed)?;
        Ok(outcome)
    }
}

#[async_trait::async_trait]
impl CampaignStore for Lite {
    async fn insert_campaign(
        &self,
        tenant: TenantId,
        w: &CampaignWrite,
    ) -> Result<CampaignRecord, StoreError> {
        let now = micros(Utc::now());
        let mut q = QueryBuilder::<Sqlite>::new(format!(
            "INSERT INTO campaigns (id, tenant_id, created_at, updated_at, {}) VALUES (",
            FIELD_NAMES.join(", ")
        ));
        q.push_bind(Uuid::now_v7())
            .push(", ")
            .push_bind(*tenant.as_uuid())
            .push(", ")
            .push_bind(now)
            .push(", ")
            .push_bind(now);
        push_fields(&mut q, w, |_| ", ".to_owned());
        q.push(format!(") RETURNING {COLUMNS}"));
        let row: Row = q
            .build_query_as()
            .fetch_one(self.pool())
            .await
            .map_err(failed)?;
        row.try_into()
    }

    async fn campaign(
        &self,
        tenant: TenantId,
        id: CampaignId,
    ) -> Result<Option<CampaignRecord>, StoreError> {
        let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM campaigns WHERE id = ?1 AND tenant_id = ?2 AND deleted_at IS NULL"
        )))
        .bind(id.as_uuid())
        .bind(tenant.as_uuid())
        .fetch_optional(self.pool())
        .await
        .map_err(failed)?;
        row.map(TryInto::try_into).transpose()
    }

    async fn update_campaign(
        &self,
        tenant: TenantId,
        id: CampaignId,
        version: i64,
        w: &CampaignWrite,
    ) -> Result<Updated, StoreError> {
        let mut q = QueryBuilder::<Sqlite>::new("UPDATE campaigns SET ");
        push_fields(&mut q, w, |i| {
            format!("{}{} = ", if i == 0 { "" } else { ", " }, FIELD_NAMES[i])
        });
        self.conditional(tenant, id, version, q, micros(Utc::now()))
            .await
    }

    async fn set_campaign_status(
        &self,
        tenant: TenantId,
        id: CampaignId,
        version: i64,
        to: CampaignStatus,
    ) -> Result<Updated, StoreError> {
        let mut q = QueryBuilder::<Sqlite>::new("UPDATE campaigns SET status = ");
        q.push_bind(to.as_str());
        self.conditional(tenant, id, version, q, micros(Utc::now()))
            .await
    }

    async fn campaign_targeting(
        &self,
        tenant: TenantId,
        id: CampaignId,
    ) -> Result<Option<(String, i64)>, StoreError> {
        sqlx::query_as(
            "SELECT targeting, version FROM campaigns
             WHERE id = ?1 AND tenant_id = ?2 AND deleted_at IS NULL",
        )
        .bind(id.as_uuid())
        .bind(tenant.as_uuid())
        .fetch_optional(self.pool())
        .await
        .map_err(failed)
    }

    async fn set_campaign_targeting(
        &self,
        tenant: TenantId,
        id: CampaignId,
        version: i64,
        targeting: &str,
    ) -> Result<Updated, StoreError> {
        let mut q = QueryBuilder::<Sqlite>::new("UPDATE campaigns SET targeting = json(");
        q.push_bind(targeting.to_owned()).push(")");
        self.conditional(tenant, id, version, q, micros(Utc::now()))
            .await
    }

    async fn delete_campaign_at(
        &self,
        tenant: TenantId,
        id: CampaignId,
        version: i64,
    ) -> Result<Updated, StoreError> {
        let now = micros(Utc::now());
        let mut q = QueryBuilder::<Sqlite>::new("UPDATE campaigns SET deleted_at = ");
        q.push_bind(now);
        self.conditional(tenant, id, version, q, now).await
    }

    async fn list_campaigns(
        &self,
        tenant: TenantId,
        filter: &CampaignFilter,
        sort: CampaignSort,
        descending: bool,
        page: &Page,
        limit: i64,
    ) -> Result<(Vec<CampaignRecord>, i64), StoreError> {
        // SQLite reads a negative limit as none and a negative offset as
        // zero; Postgres refuses both.
        if limit < 0 || matches!(page, Page::Offset(n) if *n < 0) {
            return Err(StoreError::Invalid(
                "LIMIT and OFFSET must not be negative".into(),
            ));
        }
        let after = match page {
            Page::After { value, id } => Some((cursor_key(sort, value)?, *id.as_uuid())),
            Page::Offset(_) => None,
        };
        let needle = filter.name.as_deref().map(fold_case);
        let mut count = QueryBuilder::<Sqlite>::new("SELECT count(*)");
        push_filter(&mut count, tenant, filter, needle.as_deref());

        let mut q = QueryBuilder::<Sqlite>::new(format!("SELECT {COLUMNS}"));
        push_filter(&mut q, tenant, filter, needle.as_deref());
        push_page(&mut q, (sort, descending), after, page, limit);

        let mut tx = self.pool().begin().await.map_err(failed)?;
        let (total,): (i64,) = count
            .build_query_as()
            .fetch_one(&mut *tx)
            .await
            .map_err(failed)?;
        let rows: Vec<Row> = q
            .build_query_as()
            .fetch_all(&mut *tx)
            .await
            .map_err(failed)?;
        tx.commit().await.map_err(failed)?;
        Ok((records(rows)?, total))
    }
}

/// `FROM campaigns WHERE …`: the tenant's live campaigns that pass
/// `filter`; `needle` is the name filter already case-folded.
fn push_filter(
    q: &mut QueryBuilder<Sqlite>,
    tenant: TenantId,
    filter: &CampaignFilter,
    needle: Option<&str>,
) {
    q.push(" FROM campaigns WHERE tenant_id = ")
        .push_bind(*tenant.as_uuid())
        .push(" AND deleted_at IS NULL");
    if !filter.statuses.is_empty() {
        q.push(" AND status IN (");
        let mut s = q.separated(", ");
        for status in &filter.statuses {
            s.push_bind(status.as_str());
        }
        q.push(")");
    }
    if let Some(b) = &filter.brand_id {
        q.push(" AND brand_id = ").push_bind(b.clone());
    }
    // Case-insensitive "contains": the lower-cased needle in the
    // lower-cased name, taken literally (no wildcards).
    if let Some(n) = needle {
        q.push(" AND instr(name_key, ")
            .push_bind(n.to_owned())
            .push(") > 0");
    }
    if let Some(from) = filter.from {
        q.push(" AND (schedule_end IS NULL OR schedule_end >= ")
            .push_bind(micros(from))
            .push(")");
    }
    if let Some(to) = filter.to {
        q.push(" AND (schedule_start IS NULL OR schedule_start < ")
            .push_bind(micros(to))
            .push(")");
    }
}

/// Continues after the cursor's (value, id) when there is one, orders by
/// the sort's value then id (both the same way, so the pair is a total
/// order a cursor can resume), and cuts the page.
fn push_page(
    q: &mut QueryBuilder<Sqlite>,
    (sort, descending): (CampaignSort, bool),
    after: Option<(Key, Uuid)>,
    page: &Page,
    limit: i64,
) {
    let (cmp, dir) = if descending {
        ("<", "DESC")
    } else {
        (">", "ASC")
    };
    if let Some((key, id)) = after {
        q.push(format!(" AND ({}, id) {cmp} (", sort_expr(sort)));
        match key {
            Key::Int(v) => q.push_bind(v),
            Key::Text(v) => q.push_bind(v),
        };
        q.push(", ").push_bind(id).push(")");
    }
    q.push(format!(
        " ORDER BY {} {dir}, id {dir} LIMIT ",
        sort_expr(sort)
    ))
    .push_bind(limit);
    if let Page::Offset(n) = page {
        q.push(" OFFSET ").push_bind(*n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_read_back_what_value_of_writes() {
        let t = DateTime::parse_from_rfc3339("2026-11-30T01:02:03.456789+00:00")
            .expect("time")
            .with_timezone(&Utc);
        assert!(matches!(
            cursor_key(CampaignSort::CreatedAt, &t.to_rfc3339()),
            Ok(Key::Int(v)) if v == micros(t)
        ));
        assert!(matches!(
            cursor_key(CampaignSort::Budget, "-1"),
            Ok(Key::Int(-1))
        ));
        assert!(matches!(cursor_key(CampaignSort::Name, "x"), Ok(Key::Text(v)) if v == "x"));
        assert!(matches!(
            cursor_key(CampaignSort::UpdatedAt, "yesterday"),
            Err(StoreError::Invalid(_))
        ));
        assert!(matches!(
            cursor_key(CampaignSort::Budget, "1.5"),
            Err(StoreError::Invalid(_))
        ));
    }

    #[test]
    fn lists_are_json_arrays_both_ways() {
        let v = vec!["a\"b".to_owned(), "ü".to_owned()];
        assert_eq!(strings("x", &json_array(&v)).expect("read"), v);
        assert!(matches!(strings("x", "{}"), Err(StoreError::Config(_))));
    }
}
