//! Reports from `campaign_aggregates`: one campaign's rows by local hour
//! or day or in total, optionally by channel and event type, with unique
//! users as a union of sketches over each row's span; and the tenant's
//! campaigns ranked over a range. The same rows as the Postgres adapter's
//! `reports` for the same data.
//!
//! SQLite has no row-level security: every statement names the tenant.
//! Periods are cut in Rust: the stored buckets of the request's grain in
//! `[from, to)` are read in key order, a page at a time, and each is added
//! to the local hour or day (or the total) that holds it in the request's
//! zone, its sketch merged into the period's. The caller picks the grain
//! so that every local period is an exact sum of buckets; a report by day
//! or in total reads the campaign's days local to the report's zone
//! instead whenever they hold the whole range, as Postgres does.
//!
//! Sums never fail or wrap: SQLite's `sum()` fails on integer overflow,
//! so rows are summed in Rust in `i128`, and the ranking sums each value's
//! high and low 32 bits apart (see `top_query`); a sum past the `i64`
//! range is shown as the bound it passed
//! ([`adpulse_domain::report::clamp_sum`]).
//!
//! Where a statement names the campaign, its tenant filter is written
//! `+tenant_id` so that SQLite seeks by the campaign's key and only checks
//! the tenant, instead of scanning the whole tenant's rows by the ranking
//! index.

use adpulse_domain::ports::{Each, ReportSource};
use std::collections::BTreeMap;

use adpulse_domain::aggregate::{Counts, Grain};
use adpulse_domain::reach::Sketch;
use adpulse_domain::report::{Granularity, RankBy, ReportRow, clamp_sum};
use adpulse_domain::store::{CampaignReport, RankedCampaign, StoreError, TopCampaigns};
use adpulse_domain::{CampaignId, EventType, TenantId};
use chrono::{DateTime, DurationRound as _, NaiveDate, TimeDelta, Timelike as _, Utc};
use chrono_tz::Tz;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};
use uuid::Uuid;

use crate::aggregates::{EMPTY_SKETCH, sketch};
use crate::failed;
use crate::{Lite, instant, micros};

/// Aggregate rows read per statement: bounds memory whatever the range.
const PAGE: i64 = 4_096;

/// One report row being summed: its key, in output order.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Period {
    start: Option<DateTime<Utc>>,
    day: Option<NaiveDate>,
    channel: Option<String>,
    event_type: Option<String>,
}

/// Counts and people of one report row or ranked campaign, summed in
/// `i128` (no number of `i64` rows can pass it).
#[derive(Default)]
struct Sum {
    impressions: i128,
    clicks: i128,
    conversions: i128,
    cost: i128,
    revenue: i128,
    users: Sketch,
}

impl Sum {
    fn add(&mut self, event_type: &str, events: i64, cost: i64, revenue: i64) {
        let events = i128::from(events);
        match event_type {
            "impression" => self.impressions += events,
            "click" => self.clicks += events,
            "conversion" => self.conversions += events,
            _ => {}
        }
        self.cost += i128::from(cost);
        self.revenue += i128::from(revenue);
    }

    /// The sums as a report shows them (clamped to `i64`).
    fn counts(&self) -> Counts {
        Counts {
            impressions: clamp_sum(self.impressions),
            clicks: clamp_sum(self.clicks),
            conversions: clamp_sum(self.conversions),
            cost_micros: clamp_sum(self.cost),
            revenue_micros: clamp_sum(self.revenue),
        }
    }

    /// Merges a stored sketch in (skipping the decode of empty ones).
    fn add_users(&mut self, bytes: &[u8]) -> Result<(), StoreError> {
        if bytes != EMPTY_SKETCH {
            self.users.merge(&sketch(bytes)?);
        }
        Ok(())
    }
}

/// The zone of a report whose periods need one; refused, as Postgres
/// refuses `AT TIME ZONE` with a zone it does not know.
fn zone(tz: &str) -> Result<Tz, StoreError> {
    tz.parse()
        .map_err(|_| StoreError::Invalid(format!("time zone \"{tz}\" not recognized").into()))
}

/// The UTC instant the local hour holding `t` starts (distinct for the
/// hour a DST change repeats), as Postgres's
/// `date_trunc('minute', t) - extract(minute FROM t AT TIME ZONE tz)`.
fn local_hour(t: DateTime<Utc>, zone: Tz) -> DateTime<Utc> {
    let minute = t.with_timezone(&zone).minute();
    t.duration_trunc(TimeDelta::minutes(1)).unwrap_or(t) - TimeDelta::minutes(i64::from(minute))
}

/// The grain `q` reads: the campaign's days local to `q.tz` when it can (a
/// report by day or in total, not already on UTC days, and no local-day
/// rows of another zone, written before the campaign's zone changed,
/// within two days of the range), so every event of the range is in a
/// local day of `q.tz` and each such day lies inside one period.
async fn report_grain(
    conn: &mut SqliteConnection,
    tenant: TenantId,
    q: &CampaignReport,
) -> Result<Grain, StoreError> {
    let Ok(zone) = q.tz.parse::<Tz>() else {
        return Ok(q.grain);
    };
    if q.granularity == Granularity::Hour || q.grain == Grain::Day {
        return Ok(q.grain);
    }
    let local = Grain::local_day(zone);
    let (others,): (bool,) = sqlx::query_as(
        "SELECT EXISTS (SELECT 1 FROM campaign_aggregates WHERE campaign_id = ?1 AND +tenant_id = ?2
             AND ((grain >= 'day@' AND grain < ?3) OR (grain > ?3 AND grain < 'day@~'))
             AND bucket_start > ?4 AND bucket_start < ?5)",
    )
    .bind(q.campaign.as_uuid())
    .bind(tenant.as_uuid())
    .bind(local.stored().as_ref())
    .bind(micros(q.from - TimeDelta::days(2)))
    .bind(micros(q.to + TimeDelta::days(2)))
    .fetch_one(&mut *conn)
    .await
    .map_err(failed)?;
    Ok(if others { q.grain } else { local })
}

type AggregateRow = (i64, String, String, i64, i64, i64, Vec<u8>);

/// Reads the rows of `q` (at `grain`) in key order and sums them into
/// their periods.
async fn report_rows(
    conn: &mut SqliteConnection,
    tenant: TenantId,
    q: &CampaignReport,
    grain: Grain,
) -> Result<Vec<ReportRow>, StoreError> {
    let zone = match q.granularity {
        Granularity::Total => None,
        Granularity::Hour | Granularity::Day => Some(zone(&q.tz)?),
    };
    let grain = grain.stored();
    let mut periods: BTreeMap<Period, Sum> = BTreeMap::new();
    let mut after: Option<(i64, String, String)> = None;
    loop {
        let mut b: QueryBuilder<Sqlite> = QueryBuilder::new(
            "SELECT bucket_start, channel, event_type, events, cost_micros, revenue_micros, users
             FROM campaign_aggregates WHERE campaign_id = ",
        );
        b.push_bind(*q.campaign.as_uuid())
            .push(" AND +tenant_id = ")
            .push_bind(*tenant.as_uuid())
            .push(" AND grain = ")
            .push_bind(grain.as_ref())
            .push(" AND bucket_start >= ")
            .push_bind(micros(q.from))
            .push(" AND bucket_start < ")
            .push_bind(micros(q.to));
        if let Some((bucket, channel, kind)) = &after {
            b.push(" AND (bucket_start, channel, event_type) > (")
                .push_bind(*bucket)
                .push(", ")
                .push_bind(channel.as_str())
                .push(", ")
                .push_bind(kind.as_str())
                .push(")");
        }
        b.push(" ORDER BY bucket_start, channel, event_type LIMIT ")
            .push_bind(PAGE);
        let rows: Vec<AggregateRow> = b
            .build_query_as()
            .fetch_all(&mut *conn)
            .await
            .map_err(failed)?;
        let full = rows.len() as i64 == PAGE;
        for (bucket, channel, kind, events, cost, revenue, users) in rows {
            let t = instant(bucket);
            let key = Period {
                start: match (q.granularity, zone) {
                    (Granularity::Hour, Some(z)) => Some(local_hour(t, z)),
                    _ => None,
                },
                day: match (q.granularity, zone) {
                    (Granularity::Day, Some(z)) => Some(t.with_timezone(&z).date_naive()),
                    _ => None,
                },
                channel: q.breakdown.channel.then(|| channel.clone()),
                event_type: q.breakdown.event_type.then(|| kind.clone()),
            };
            let sum = periods.entry(key).or_default();
            sum.add(&kind, events, cost, revenue);
            sum.add_users(&users)?;
            after = Some((bucket, channel, kind));
        }
        if !full {
            break;
        }
    }
    Ok(periods
        .into_iter()
        .map(|(p, s)| ReportRow {
            period_start: p.start,
            day: p.day,
            channel: p.channel,
            event_type: p.event_type,
            counts: s.counts(),
            unique_users: s.users.count(),
        })
        .collect())
}

/// The range `q` ranks over: over UTC days, the whole days from `q.from`'s
/// to the day before `q.to`'s (as Postgres's running totals count them),
/// otherwise the buckets in `[from, to)`.
fn rank_range(q: &TopCampaigns) -> (DateTime<Utc>, DateTime<Utc>) {
    if q.grain == Grain::Day {
        (
            Grain::Day.bucket_start(q.from),
            Grain::Day.bucket_start(q.to),
        )
    } else {
        (q.from, q.to)
    }
}

#[derive(sqlx::FromRow)]
struct Ranked {
    campaign_id: Uuid,
    name: String,
    status: String,
    brand_id: Option<String>,
    impressions_hi: i64,
    impressions_lo: i64,
    clicks_hi: i64,
    clicks_lo: i64,
    conversions_hi: i64,
    conversions_lo: i64,
    cost_hi: i64,
    cost_lo: i64,
    revenue_hi: i64,
    revenue_lo: i64,
}

/// A sum of values from its sums of their high 32 bits (`v >> 32`, signed)
/// and low 32 bits (`v & 0xFFFFFFFF`): `v = hi·2³² + lo` for every `i64`.
fn joined(hi: i64, lo: i64) -> i64 {
    clamp_sum((i128::from(hi) << 32) + i128::from(lo))
}

impl Ranked {
    fn counts(&self) -> Counts {
        Counts {
            impressions: joined(self.impressions_hi, self.impressions_lo),
            clicks: joined(self.clicks_hi, self.clicks_lo),
            conversions: joined(self.conversions_hi, self.conversions_lo),
            cost_micros: joined(self.cost_hi, self.cost_lo),
            revenue_micros: joined(self.revenue_hi, self.revenue_lo),
        }
    }
}

/// Ranks by sums (read from the covering index, no sketches), joined to
/// the tenant's live campaigns.
///
/// SQLite's `sum()` fails when an integer sum leaves the `i64` range, and
/// 9,223 events at the largest amount a single event may carry already
/// do. So each value is summed as its high 32 bits and its low 32 bits:
/// each such sum stays within `i64` for up to 2³¹ rows, the two together
/// are the exact sum (put together in Rust, in `i128`), and the ranking
/// orders by `hi + (lo >> 32)`, then `lo & 0xFFFFFFFF`, which is the
/// order of the exact sums.
fn top_query(tenant: TenantId, q: &TopCampaigns) -> QueryBuilder<Sqlite> {
    let order = match q.by {
        RankBy::Spend => "cost",
        RankBy::Revenue => "revenue",
        RankBy::Impressions => "impressions",
        RankBy::Clicks => "clicks",
        RankBy::Conversions => "conversions",
    };
    let dir = if q.desc { "DESC" } else { "ASC" };
    let (from, to) = rank_range(q);
    let tenant = *tenant.as_uuid();
    let mut b = QueryBuilder::new("WITH sums AS (SELECT campaign_id, max(events) AS most, ");
    for (kind, name) in [
        (EventType::Impression, "impressions"),
        (EventType::Click, "clicks"),
        (EventType::Conversion, "conversions"),
    ] {
        let only = format!("FILTER (WHERE event_type = '{}')", kind.as_str());
        b.push(format_args!(
            "coalesce(sum(events >> 32) {only}, 0) AS {name}_hi, \
             coalesce(sum(events & 4294967295) {only}, 0) AS {name}_lo, "
        ));
    }
    b.push(
        "sum(cost_micros >> 32) AS cost_hi, sum(cost_micros & 4294967295) AS cost_lo, \
         sum(revenue_micros >> 32) AS revenue_hi, sum(revenue_micros & 4294967295) AS revenue_lo \
         FROM campaign_aggregates WHERE tenant_id = ",
    )
    .push_bind(tenant)
    .push(" AND grain = ")
    .push_bind(q.grain.stored().into_owned())
    .push(" AND bucket_start >= ")
    .push_bind(micros(from))
    .push(" AND bucket_start < ")
    .push_bind(micros(to))
    .push(
        " GROUP BY campaign_id) \
             SELECT s.*, c.name, c.status, c.brand_id \
             FROM sums s JOIN campaigns c ON c.id = s.campaign_id \
             WHERE s.most > 0 AND c.deleted_at IS NULL AND c.tenant_id = ",
    )
    .push_bind(tenant);
    if let Some(s) = &q.status {
        b.push(" AND c.status = ").push_bind(s.clone());
    }
    if let Some(brand) = &q.brand_id {
        b.push(" AND c.brand_id = ").push_bind(brand.clone());
    }
    b.push(format_args!(
        " ORDER BY s.{order}_hi + (s.{order}_lo >> 32) {dir}, s.{order}_lo & 4294967295 {dir}, s.campaign_id LIMIT "
    ))
    .push_bind(q.limit);
    b
}

/// The distinct people of one ranked campaign over the range.
async fn reach(
    conn: &mut SqliteConnection,
    tenant: TenantId,
    campaign: Uuid,
    q: &TopCampaigns,
) -> Result<i64, StoreError> {
    let (from, to) = rank_range(q);
    let rows: Vec<(Vec<u8>,)> = sqlx::query_as(
        "SELECT users FROM campaign_aggregates
         WHERE campaign_id = ?1 AND +tenant_id = ?2 AND grain = ?3 AND bucket_start >= ?4 AND bucket_start < ?5",
    )
    .bind(campaign)
    .bind(tenant.as_uuid())
    .bind(q.grain.stored().as_ref())
    .bind(micros(from))
    .bind(micros(to))
    .fetch_all(&mut *conn)
    .await
    .map_err(failed)?;
    let mut sum = Sum::default();
    for (bytes,) in rows {
        sum.add_users(&bytes)?;
    }
    Ok(sum.users.count())
}

#[async_trait::async_trait]
impl ReportSource for Lite {
    async fn campaign_report(
        &self,
        tenant: TenantId,
        q: &CampaignReport,
    ) -> Result<Vec<ReportRow>, StoreError> {
        // One read transaction: the grain check and the pages see one
        // snapshot.
        let mut tx = self.pool().begin().await.map_err(failed)?;
        let grain = report_grain(&mut tx, tenant, q).await?;
        let rows = report_rows(&mut tx, tenant, q, grain).await?;
        tx.commit().await.map_err(failed)?;
        Ok(rows)
    }

    async fn top_campaigns(
        &self,
        tenant: TenantId,
        q: &TopCampaigns,
    ) -> Result<Vec<RankedCampaign>, StoreError> {
        if q.limit < 0 {
            return Err(StoreError::Invalid("LIMIT must not be negative".into()));
        }
        let mut tx = self.pool().begin().await.map_err(failed)?;
        let ranked: Vec<Ranked> = top_query(tenant, q)
            .build_query_as()
            .fetch_all(&mut *tx)
            .await
            .map_err(failed)?;
        let mut out = Vec::with_capacity(ranked.len());
        for r in ranked {
            let unique_users = reach(&mut tx, tenant, r.campaign_id, q).await?;
            let counts = r.counts();
            out.push(RankedCampaign {
                id: CampaignId::from_uuid(r.campaign_id),
                name: r.name,
                status: r.status,
                brand_id: r.brand_id,
                counts,
                unique_users,
            });
        }
        tx.commit().await.map_err(failed)?;
        Ok(out)
    }

    // The rows are computed first (a row's unique users are known only
    // when its last bucket is read), then handed over.
    async fn campaign_report_each(
        &self,
        tenant: TenantId,
        q: &CampaignReport,
        each: Each<'_, ReportRow>,
    ) -> Result<(), StoreError> {
        for row in self.campaign_report(tenant, q).await? {
            if each(row).await.is_break() {
                break;
            }
        }
        Ok(())
    }

    async fn top_campaigns_each(
        &self,
        tenant: TenantId,
        q: &TopCampaigns,
        each: Each<'_, RankedCampaign>,
    ) -> Result<(), StoreError> {
        for r in self.top_campaigns(tenant, q).await? {
            if each(r).await.is_break() {
                break;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn high_and_low_halves_put_every_sum_back_together() {
        let halves = |vs: &[i64]| {
            vs.iter().fold((0i64, 0i64), |(h, l), v| {
                (h + (v >> 32), l + (v & 0xFFFF_FFFF))
            })
        };
        for vs in [
            &[0, 1, 4_294_967_295, 4_294_967_296][..],
            &[i64::MAX, i64::MAX, i64::MAX],
            &[i64::MIN, -1, i64::MAX],
            &[-5, 3],
        ] {
            let exact: i128 = vs.iter().map(|v| i128::from(*v)).sum();
            let (h, l) = halves(vs);
            assert_eq!(joined(h, l), clamp_sum(exact), "{vs:?}");
        }
    }

    #[test]
    fn local_hours_start_at_the_zone_s_hour() {
        let at = |s: &str| s.parse::<DateTime<Utc>>().expect("time");
        let kolkata: Tz = "Asia/Kolkata".parse().expect("zone");
        // 10:31 UTC is 16:01 in Kolkata: its hour began at 10:30 UTC.
        assert_eq!(
            local_hour(at("2026-11-29T10:31:00Z"), kolkata),
            at("2026-11-29T10:30:00Z")
        );
        assert_eq!(
            local_hour(at("2026-11-29T10:29:00Z"), kolkata),
            at("2026-11-29T09:30:00Z")
        );
        // Berlin's repeated hour on 25 October 2026: two periods.
        let berlin: Tz = "Europe/Berlin".parse().expect("zone");
        assert_ne!(
            local_hour(at("2026-10-25T00:10:00Z"), berlin),
            local_hour(at("2026-10-25T01:10:00Z"), berlin)
        );
    }
}
