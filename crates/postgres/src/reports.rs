//! Reports from `campaign_aggregates`, inside the caller's tenant
//! (row-level security applies): one campaign's rows by local hour or day
//! or in total, optionally by channel and event type, with unique users as
//! a union of HyperLogLog sketches over each row's span; and the tenant's
//! campaigns ranked over a range.
//!
//! The caller picks the source grain: `day` rows when local days are UTC
//! days, `hour` rows when the zone's offsets are whole hours, `minute` rows
//! otherwise (India, Nepal, …), so every local period is an exact sum of
//! stored buckets. A report by day or in total reads the campaign's days
//! local to the report's zone instead whenever they hold the whole range
//! (see `with_local_days`).
//!
//! Sums never fail: `sum(bigint)` is `numeric` in Postgres, and a sum
//! past the `bigint` range is shown as the bound it passed (see
//! [`adpulse_domain::report::clamp_sum`]) instead of failing the cast.

use crate::pg;
use adpulse_domain::aggregate::{Counts, Grain};
use adpulse_domain::ports::{Each, ReportSource};
use adpulse_domain::report::{Granularity, RankBy, ReportRow};
use adpulse_domain::store::StoreError;
use adpulse_domain::{CampaignId, TenantId};
use chrono::{DateTime, NaiveDate, Utc};
use futures_util::TryStreamExt as _;
use sqlx::{FromRow, QueryBuilder};
use uuid::Uuid;

pub use adpulse_domain::store::{CampaignReport, RankedCampaign, TopCampaigns};

use crate::{Database, PgError};

#[derive(FromRow)]
struct Ranked {
    campaign_id: Uuid,
    name: String,
    status: String,
    brand_id: Option<String>,
    impressions: i64,
    clicks: i64,
    conversions: i64,
    cost: i64,
    revenue: i64,
    users: i64,
}

impl From<Ranked> for RankedCampaign {
    fn from(r: Ranked) -> Self {
        Self {
            id: CampaignId::from_uuid(r.campaign_id),
            name: r.name,
            status: r.status,
            brand_id: r.brand_id,
            counts: Counts {
                impressions: r.impressions,
                clicks: r.clicks,
                conversions: r.conversions,
                cost_micros: r.cost,
                revenue_micros: r.revenue,
            },
            unique_users: r.users,
        }
    }
}

/// Ranks by sums, then unions sketches for the ranked rows only.
///
/// Over UTC days the sums are differences of running totals: at the
/// range's last day (the lifetime totals when the campaign's last event is
/// before it) minus at the day before the range (two narrow rows per
/// campaign, whatever the range's length; see migration 12); reach from
/// the campaign's Monday-week and day sketches (about 12 for 30 days).
/// Over other grains both come from the aggregate rows.
fn top_query(tenant: TenantId, q: &TopCampaigns) -> QueryBuilder<sqlx::Postgres> {
    let order = match q.by {
        RankBy::Spend => "cost",
        RankBy::Revenue => "revenue",
        RankBy::Impressions => "impressions",
        RankBy::Clicks => "clicks",
        RankBy::Conversions => "conversions",
    };
    let dir = if q.desc { "DESC" } else { "ASC" };
    let tenant = *tenant.as_uuid();
    let days = (q.grain == Grain::Day).then(|| (q.from.date_naive(), q.to.date_naive()));
    let mut b = QueryBuilder::new("WITH sums AS (SELECT ");
    match days {
        Some(days) => push_running_total_sums(&mut b, tenant, days),
        None => push_bucket_sums(&mut b, tenant, q),
    }
    // Both leave the builder at `… WHERE c.tenant_id = `.
    b.push_bind(tenant).push(" AND c.deleted_at IS NULL");
    if let Some(s) = &q.status {
        b.push(" AND c.status = ").push_bind(s.clone());
    }
    if let Some(brand) = &q.brand_id {
        b.push(" AND c.brand_id = ").push_bind(brand.clone());
    }
    b.push(" ORDER BY s.")
        .push(order)
        .push(" ")
        .push(dir)
        .push(", s.campaign_id LIMIT ")
        .push_bind(q.limit)
        .push(
            ") SELECT r.campaign_id, r.name, r.status, r.brand_id, r.impressions, r.clicks, r.conversions, r.cost, r.revenue, \
             (SELECT coalesce(hll_cardinality(hll_union_agg(u.users)), 0)::bigint FROM (",
        );
    push_reach_sketches(&mut b, q, days);
    b.push(") AS u) AS users FROM ranked r ORDER BY r.")
        .push(order)
        .push(" ")
        .push(dir)
        .push(", r.campaign_id");
    b
}

/// The `sums` of UTC days `[from, to)`: differences of running totals,
/// then the start of `ranked` up to `WHERE … c.tenant_id = `.
fn push_running_total_sums(
    b: &mut QueryBuilder<sqlx::Postgres>,
    tenant: Uuid,
    (from, to): (NaiveDate, NaiveDate),
) {
    let last = to.pred_opt().unwrap_or(to);
    let before = from.pred_opt().unwrap_or(from);
    for (column, name) in [
        ("impressions", "impressions"),
        ("clicks", "clicks"),
        ("conversions", "conversions"),
        ("cost_micros", "cost"),
        ("revenue_micros", "revenue"),
    ] {
        // A difference of running totals, in numeric, clamped to
        // bigint (NULL, without a running total that day, stays NULL).
        let diff = |b: &mut QueryBuilder<sqlx::Postgres>| {
            b.push("((CASE WHEN l.last_day <= ")
                .push_bind(last)
                .push(format_args!(
                    " THEN l.{column} ELSE e.{column} END)::numeric - coalesce(s.{column}, 0))"
                ));
        };
        b.push("CASE WHEN ");
        diff(b);
        b.push(" IS NULL THEN NULL ELSE least(greatest(");
        diff(b);
        b.push(format_args!(
            ", {I64_MIN}), {I64_MAX})::bigint END AS {name}, "
        ));
    }
    b.push(
        "l.campaign_id FROM campaign_lifetime_totals l \
         LEFT JOIN campaign_running_totals e ON e.tenant_id = l.tenant_id AND e.campaign_id = l.campaign_id AND e.day = ",
    )
    .push_bind(last)
    .push(
        " LEFT JOIN campaign_running_totals s ON s.tenant_id = l.tenant_id AND s.campaign_id = l.campaign_id AND s.day = ",
    )
    .push_bind(before)
    .push(" WHERE l.tenant_id = ")
    .push_bind(tenant)
    .push(" AND l.last_day >= ")
    .push_bind(from)
    .push(" AND l.first_day <= ")
    .push_bind(last)
    .push("), ranked AS (SELECT s.*, c.name, c.status, c.brand_id FROM sums s JOIN campaigns c ON c.id = s.campaign_id \
           WHERE s.impressions::numeric + s.clicks + s.conversions > 0 AND c.tenant_id = ");
}

/// The `sums` of the aggregate rows at the query's grain, then the start
/// of `ranked` up to `WHERE c.tenant_id = `.
fn push_bucket_sums(b: &mut QueryBuilder<sqlx::Postgres>, tenant: Uuid, q: &TopCampaigns) {
    b.push("campaign_id, ")
        .push(SUMS.as_str())
        .push(" FROM campaign_aggregates WHERE tenant_id = ")
        .push_bind(tenant)
        .push(" AND grain = ")
        .push_bind(q.grain.stored().into_owned())
        .push(" AND bucket_start >= ")
        .push_bind(q.from)
        .push(" AND bucket_start < ")
        .push_bind(q.to)
        .push(
            " GROUP BY campaign_id), ranked AS (SELECT s.*, c.name, c.status, c.brand_id \
             FROM sums s JOIN campaigns c ON c.id = s.campaign_id WHERE c.tenant_id = ",
        );
}

/// The sketches a ranked campaign's reach is the union of: whole
/// Monday-weeks plus the days at either end over UTC days, else the
/// aggregate rows at the query's grain.
fn push_reach_sketches(
    b: &mut QueryBuilder<sqlx::Postgres>,
    q: &TopCampaigns,
    days: Option<(NaiveDate, NaiveDate)>,
) {
    let reach_weeks = days.map(|(from, to)| {
        let first_week = crate::aggregates::week_of(from + chrono::Days::new(6));
        let last_week = crate::aggregates::week_of(to);
        (from, to, first_week, last_week)
    });
    match reach_weeks {
        Some((from, to, first_week, last_week)) if first_week < last_week => {
            b.push("SELECT users FROM campaign_week_reach WHERE campaign_id = r.campaign_id AND week >= ")
                .push_bind(first_week)
                .push(" AND week < ")
                .push_bind(last_week)
                .push(" UNION ALL SELECT users FROM campaign_day_reach WHERE campaign_id = r.campaign_id AND ((day >= ")
                .push_bind(from)
                .push(" AND day < ")
                .push_bind(first_week)
                .push(") OR (day >= ")
                .push_bind(last_week)
                .push(" AND day < ")
                .push_bind(to)
                .push("))");
        }
        Some((from, to, ..)) => {
            b.push("SELECT users FROM campaign_day_reach WHERE campaign_id = r.campaign_id AND day >= ")
                .push_bind(from)
                .push(" AND day < ")
                .push_bind(to);
        }
        None => {
            b.push("SELECT users FROM campaign_aggregates WHERE campaign_id = r.campaign_id AND grain = ")
                .push_bind(q.grain.stored().into_owned())
                .push(" AND bucket_start >= ")
                .push_bind(q.from)
                .push(" AND bucket_start < ")
                .push_bind(q.to);
        }
    }
}

#[derive(FromRow)]
struct Row {
    period_ts: Option<DateTime<Utc>>,
    period_day: Option<NaiveDate>,
    channel: Option<String>,
    event_type: Option<String>,
    impressions: i64,
    clicks: i64,
    conversions: i64,
    cost: i64,
    revenue: i64,
    users: i64,
}

impl From<Row> for ReportRow {
    fn from(r: Row) -> Self {
        Self {
            period_start: r.period_ts,
            day: r.period_day,
            channel: r.channel,
            event_type: r.event_type,
            counts: Counts {
                impressions: r.impressions,
                clicks: r.clicks,
                conversions: r.conversions,
                cost_micros: r.cost,
                revenue_micros: r.revenue,
            },
            unique_users: r.users,
        }
    }
}

/// The bounds of `bigint`, as SQL literals.
const I64_MIN: &str = "-9223372036854775808";
const I64_MAX: &str = "9223372036854775807";

/// The sums every report row carries, each clamped to `bigint`.
static SUMS: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    [
        (
            "coalesce(sum(events) FILTER (WHERE event_type = 'impression'), 0)",
            "impressions",
        ),
        (
            "coalesce(sum(events) FILTER (WHERE event_type = 'click'), 0)",
            "clicks",
        ),
        (
            "coalesce(sum(events) FILTER (WHERE event_type = 'conversion'), 0)",
            "conversions",
        ),
        ("coalesce(sum(cost_micros), 0)", "cost"),
        ("coalesce(sum(revenue_micros), 0)", "revenue"),
    ]
    .map(|(sum, name)| format!("least(greatest({sum}, {I64_MIN}), {I64_MAX})::bigint AS {name}"))
    .join(", ")
});

/// The report's statement. It names the tenant too: row-level security
/// already hides other tenants' rows from a tenant session, and this keeps
/// a system session (tools, tests) from reading them by campaign id.
fn campaign_query(tenant: TenantId, q: &CampaignReport) -> QueryBuilder<sqlx::Postgres> {
    let mut b = QueryBuilder::new("SELECT ");
    match q.granularity {
        // The UTC instant the local hour starts: distinct for the hour a
        // DST change repeats.
        Granularity::Hour => {
            b.push("date_trunc('minute', bucket_start) - make_interval(mins => extract(minute FROM bucket_start AT TIME ZONE ")
                .push_bind(q.tz.clone())
                .push(")::int) AS period_ts, NULL::date AS period_day, ");
        }
        Granularity::Day => {
            b.push("NULL::timestamptz AS period_ts, (bucket_start AT TIME ZONE ")
                .push_bind(q.tz.clone())
                .push(")::date AS period_day, ");
        }
        Granularity::Total => {
            b.push("NULL::timestamptz AS period_ts, NULL::date AS period_day, ");
        }
    }
    b.push(if q.breakdown.channel {
        "channel, "
    } else {
        "NULL::text AS channel, "
    });
    b.push(if q.breakdown.event_type {
        "event_type, "
    } else {
        "NULL::text AS event_type, "
    });
    b.push(SUMS.as_str())
        .push(", coalesce(hll_cardinality(hll_union_agg(users)), 0)::bigint AS users FROM campaign_aggregates WHERE campaign_id = ")
        .push_bind(*q.campaign.as_uuid())
        .push(" AND tenant_id = ")
        .push_bind(*tenant.as_uuid())
        .push(" AND grain = ")
        .push_bind(q.grain.stored().into_owned())
        .push(" AND bucket_start >= ")
        .push_bind(q.from)
        .push(" AND bucket_start < ")
        .push_bind(q.to)
        .push(" GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4");
    b
}

/// `q` reading the campaign's days local to `q.tz` when it can: a report
/// by day or in total, and no local-day rows of another zone (written
/// before the campaign's zone changed, or by records without a zone)
/// within a day of the range, so every event of the range is in a local
/// day of `q.tz` and each such day lies inside one period.
async fn with_local_days(
    tx: &mut sqlx::PgConnection,
    q: &CampaignReport,
) -> Result<CampaignReport, PgError> {
    let zone = q.tz.parse::<chrono_tz::Tz>().ok();
    let (Some(zone), false, false) = (
        zone,
        q.granularity == Granularity::Hour,
        q.grain == Grain::Day,
    ) else {
        return Ok(q.clone());
    };
    let local = Grain::local_day(zone);
    let (others,): (bool,) = sqlx::query_as(
        "SELECT EXISTS (SELECT 1 FROM campaign_aggregates WHERE campaign_id = $1
             AND ((grain >= 'day@' AND grain < $2) OR (grain > $2 AND grain < 'day@~'))
             AND bucket_start > $3 - interval '2 days' AND bucket_start < $4 + interval '2 days')",
    )
    .bind(q.campaign.as_uuid())
    .bind(local.stored().as_ref())
    .bind(q.from)
    .bind(q.to)
    .fetch_one(&mut *tx)
    .await?;
    Ok(if others {
        q.clone()
    } else {
        CampaignReport {
            grain: local,
            ..q.clone()
        }
    })
}

impl Database {
    /// Runs `query` in `tenant`'s transaction and hands its rows to `each`
    /// as they arrive (constant memory whatever the report's size: `each`
    /// awaiting a slow reader holds the next rows back).
    async fn each_row<R, T>(
        &self,
        tenant: TenantId,
        mut query: QueryBuilder<sqlx::Postgres>,
        each: Each<'_, T>,
    ) -> Result<(), PgError>
    where
        R: for<'r> FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin,
        T: From<R>,
    {
        let mut tx = self.streaming_tx(tenant).await?;
        {
            let mut rows = query.build_query_as::<R>().fetch(&mut *tx);
            while let Some(r) = rows.try_next().await? {
                if each(T::from(r)).await.is_break() {
                    break;
                }
            }
        }
        tx.commit().await?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl ReportSource for Database {
    async fn campaign_report(
        &self,
        tenant: TenantId,
        q: &CampaignReport,
    ) -> Result<Vec<ReportRow>, StoreError> {
        pg(async move {
            let mut tx = self.tenant_tx(tenant).await?;
            let q = with_local_days(&mut tx, q).await?;
            let rows: Vec<Row> = campaign_query(tenant, &q)
                .build_query_as()
                .fetch_all(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(rows.into_iter().map(ReportRow::from).collect())
        })
        .await
    }

    async fn top_campaigns(
        &self,
        tenant: TenantId,
        q: &TopCampaigns,
    ) -> Result<Vec<RankedCampaign>, StoreError> {
        pg(async move {
            let mut tx = self.tenant_tx(tenant).await?;
            let rows: Vec<Ranked> = top_query(tenant, q)
                .build_query_as()
                .fetch_all(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(rows.into_iter().map(RankedCampaign::from).collect())
        })
        .await
    }

    async fn campaign_report_each(
        &self,
        tenant: TenantId,
        q: &CampaignReport,
        each: Each<'_, ReportRow>,
    ) -> Result<(), StoreError> {
        pg(async move {
            let q = {
                let mut tx = self.tenant_tx(tenant).await?;
                let q = with_local_days(&mut tx, q).await?;
                tx.commit().await?;
                q
            };
            self.each_row::<Row, ReportRow>(tenant, campaign_query(tenant, &q), each)
                .await
        })
        .await
    }

    async fn top_campaigns_each(
        &self,
        tenant: TenantId,
        q: &TopCampaigns,
        each: Each<'_, RankedCampaign>,
    ) -> Result<(), StoreError> {
        pg(self.each_row::<Ranked, RankedCampaign>(tenant, top_query(tenant, q), each)).await
    }
}
