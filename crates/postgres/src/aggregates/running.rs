//! The running and lifetime totals of campaigns (what ranking campaigns
//! reads): per campaign one row per day from its first event to its last,
//! each holding the totals up to that day, and one lifetime row.

use std::collections::BTreeMap;

use adpulse_domain::aggregate::{AggregateBatch, CampaignTotals, Counts, Grain};
use chrono::NaiveDate;
use uuid::Uuid;

use crate::PgError;

/// A campaign as its running totals are keyed: (tenant, campaign).
type Owned = (Uuid, Uuid);

/// What the campaign's lifetime row holds: first and last day, totals;
/// and its running row of the day before `today`, if it has one (what
/// today's totals are measured from).
struct Lifetime {
    first: NaiveDate,
    last: NaiveDate,
    totals: Counts,
    before_today: Option<Counts>,
}

/// Adds the batch's day-grain deltas, summed over channels and event types,
/// to the running and lifetime totals (what ranking campaigns reads).
///
/// A campaign's running totals have a row for every day from its first
/// event to its last: a batch first reads the campaign's lifetime row
/// (first and last day, totals), inserts the days it extends the span by
/// (before: from zero; after: from the lifetime totals), adds to every
/// existing row from its earliest day on what the batch adds up to that
/// day, and writes the new lifetime row. One writer per campaign: the
/// partition's claim (the offset update that opens the transaction) orders
/// every commit of a campaign's partition.
///
/// Returns the batch's campaigns' totals as committed (lifetime, and since
/// the start of `today`, UTC), computed from what the transaction read and
/// wrote, so the flush needs no read after its commit.
pub(super) async fn upsert_running_totals(
    tx: &mut sqlx::PgConnection,
    batch: &AggregateBatch,
    today: NaiveDate,
) -> Result<Vec<CampaignTotals>, PgError> {
    let deltas = day_deltas(batch);
    if deltas.is_empty() {
        return Ok(Vec::new());
    }
    let known = lifetimes(tx, deltas.keys(), today).await?;
    let mut plan = RunningPlan::default();
    let mut totals = Vec::with_capacity(deltas.len());
    for (owner, days) in &deltas {
        let old = known.get(owner);
        plan.campaign(*owner, days, old);
        totals.push(committed(*owner, days, old, today));
    }
    plan.write(tx).await?;
    totals.sort_by_key(|t| t.campaign_id);
    Ok(totals)
}

/// A campaign's totals once `days` are added to its lifetime row `old`:
/// today's are the new lifetime totals less the running row of the day
/// before `today` (which exists for every day from the first to the last;
/// before the first it is zero, after the last it is the lifetime row).
fn committed(
    (_, campaign): Owned,
    days: &BTreeMap<NaiveDate, Counts>,
    old: Option<&Lifetime>,
    today: NaiveDate,
) -> CampaignTotals {
    let added = days.values().fold(Counts::default(), |a, d| a.sum(*d));
    let life = old.map_or(Counts::default(), |o| o.totals).sum(added);
    let yesterday = today.pred_opt().unwrap_or(today);
    let before = match old {
        Some(o) if yesterday >= o.last => o.totals,
        Some(o) if yesterday >= o.first => o.before_today.unwrap_or_default(),
        _ => Counts::default(),
    };
    let added_before = days
        .range(..today)
        .fold(Counts::default(), |a, (_, d)| a.sum(*d));
    let today_counts = life.less(before.sum(added_before));
    CampaignTotals {
        campaign_id: adpulse_domain::CampaignId::from_uuid(campaign),
        impressions: life.impressions,
        clicks: life.clicks,
        conversions: life.conversions,
        cost_micros: life.cost_micros,
        revenue_micros: life.revenue_micros,
        today: today_counts,
    }
}

/// Per campaign, per UTC day: what the batch adds.
fn day_deltas(batch: &AggregateBatch) -> BTreeMap<Owned, BTreeMap<NaiveDate, Counts>> {
    let mut deltas: BTreeMap<Owned, BTreeMap<NaiveDate, Counts>> = BTreeMap::new();
    for (k, d) in batch.rows().filter(|(k, _)| k.grain == Grain::Day) {
        let day = deltas
            .entry((*k.tenant_id.as_uuid(), *k.campaign_id.as_uuid()))
            .or_default()
            .entry(k.bucket_start.date_naive())
            .or_default();
        *day = day.sum(Counts::of(
            k.event_type,
            d.events,
            d.cost_micros,
            d.revenue_micros,
        ));
    }
    deltas
}

/// The lifetime rows of `owners` that exist, each with its running row of
/// the day before `today` (one query, at the start of the transaction).
async fn lifetimes(
    tx: &mut sqlx::PgConnection,
    owners: impl Iterator<Item = &Owned>,
    today: NaiveDate,
) -> Result<BTreeMap<Owned, Lifetime>, PgError> {
    let (tenants, campaigns): (Vec<Uuid>, Vec<Uuid>) = owners.copied().unzip();
    #[derive(sqlx::FromRow)]
    struct Raw {
        tenant_id: Uuid,
        campaign_id: Uuid,
        first_day: NaiveDate,
        last_day: NaiveDate,
        impressions: i64,
        clicks: i64,
        conversions: i64,
        cost_micros: i64,
        revenue_micros: i64,
        y_impressions: Option<i64>,
        y_clicks: Option<i64>,
        y_conversions: Option<i64>,
        y_cost_micros: Option<i64>,
        y_revenue_micros: Option<i64>,
    }
    let rows: Vec<Raw> = sqlx::query_as(
        "SELECT l.tenant_id, l.campaign_id, l.first_day, l.last_day,
                l.impressions, l.clicks, l.conversions, l.cost_micros, l.revenue_micros,
                y.impressions AS y_impressions, y.clicks AS y_clicks,
                y.conversions AS y_conversions, y.cost_micros AS y_cost_micros,
                y.revenue_micros AS y_revenue_micros
         FROM campaign_lifetime_totals l
         JOIN unnest($1::uuid[], $2::uuid[]) AS k(tenant_id, campaign_id)
           ON l.tenant_id = k.tenant_id AND l.campaign_id = k.campaign_id
         LEFT JOIN campaign_running_totals y
           ON y.tenant_id = l.tenant_id AND y.campaign_id = l.campaign_id
          AND y.day = $3::date - 1",
    )
    .bind(&tenants)
    .bind(&campaigns)
    .bind(today)
    .fetch_all(&mut *tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let before_today = r.y_impressions.map(|impressions| Counts {
                impressions,
                clicks: r.y_clicks.unwrap_or(0),
                conversions: r.y_conversions.unwrap_or(0),
                cost_micros: r.y_cost_micros.unwrap_or(0),
                revenue_micros: r.y_revenue_micros.unwrap_or(0),
            });
            let totals = Counts {
                impressions: r.impressions,
                clicks: r.clicks,
                conversions: r.conversions,
                cost_micros: r.cost_micros,
                revenue_micros: r.revenue_micros,
            };
            let lifetime = Lifetime {
                first: r.first_day,
                last: r.last_day,
                totals,
                before_today,
            };
            ((r.tenant_id, r.campaign_id), lifetime)
        })
        .collect())
}

/// The running-total rows a batch inserts and updates, and the lifetime
/// rows it writes.
#[derive(Default)]
struct RunningPlan {
    inserts: RunningRows,
    updates: RunningRows,
    lifetimes: RunningRows,
    firsts: Vec<NaiveDate>,
}

impl RunningPlan {
    /// Plans `owner`'s rows for what `days` add, given its lifetime row.
    fn campaign(
        &mut self,
        (tenant, campaign): Owned,
        days: &BTreeMap<NaiveDate, Counts>,
        old: Option<&Lifetime>,
    ) {
        let (Some((&lo, _)), Some((&hi, _))) = (days.first_key_value(), days.last_key_value())
        else {
            return;
        };
        let first = old.map_or(lo, |o| o.first.min(lo));
        let last = old.map_or(hi, |o| o.last.max(hi));
        // From the batch's earliest day, or from the day after the last
        // known when the batch starts after a gap (the gap's days are
        // filled with the lifetime totals); earlier days are untouched.
        let mut added = Counts::default();
        let start = old.map_or(lo, |o| lo.min(o.last.succ_opt().unwrap_or(o.last)));
        for day in start.iter_days().take_while(|d| *d <= last) {
            if let Some(d) = days.get(&day) {
                added = added.sum(*d);
            }
            match old {
                // A day the campaign's rows already hold: add to it.
                Some(o) if day >= o.first && day <= o.last => {
                    self.updates.push(tenant, day, campaign, added);
                }
                // Before the first event known: from zero.
                Some(o) if day < o.first => self.inserts.push(tenant, day, campaign, added),
                // After the last: from the lifetime totals.
                Some(o) => self
                    .inserts
                    .push(tenant, day, campaign, o.totals.sum(added)),
                None => self.inserts.push(tenant, day, campaign, added),
            }
        }
        let life = old.map_or(Counts::default(), |o| o.totals).sum(added);
        self.lifetimes.push(tenant, last, campaign, life);
        self.firsts.push(first);
    }

    async fn write(self, tx: &mut sqlx::PgConnection) -> Result<(), PgError> {
        if !self.inserts.is_empty() {
            self.inserts
                .bind(sqlx::query(
                    "INSERT INTO campaign_running_totals
                         (tenant_id, day, campaign_id, impressions, clicks, conversions, cost_micros, revenue_micros)
                     SELECT * FROM unnest($1::uuid[], $2::date[], $3::uuid[], $4::bigint[], $5::bigint[],
                                          $6::bigint[], $7::bigint[], $8::bigint[])",
                ))
                .execute(&mut *tx)
                .await?;
        }
        if !self.updates.is_empty() {
            self.updates
                .bind(sqlx::query(
                    "UPDATE campaign_running_totals AS r SET
                         impressions = r.impressions + u.impressions,
                         clicks = r.clicks + u.clicks,
                         conversions = r.conversions + u.conversions,
                         cost_micros = r.cost_micros + u.cost_micros,
                         revenue_micros = r.revenue_micros + u.revenue_micros
                     FROM unnest($1::uuid[], $2::date[], $3::uuid[], $4::bigint[], $5::bigint[],
                                 $6::bigint[], $7::bigint[], $8::bigint[])
                         AS u(tenant_id, day, campaign_id, impressions, clicks, conversions, cost_micros, revenue_micros)
                     WHERE r.tenant_id = u.tenant_id AND r.day = u.day AND r.campaign_id = u.campaign_id",
                ))
                .execute(&mut *tx)
                .await?;
        }
        self.lifetimes
            .bind(sqlx::query(
                "INSERT INTO campaign_lifetime_totals AS l
                     (tenant_id, last_day, campaign_id, impressions, clicks, conversions, cost_micros, revenue_micros, first_day)
                 SELECT * FROM unnest($1::uuid[], $2::date[], $3::uuid[], $4::bigint[], $5::bigint[],
                                      $6::bigint[], $7::bigint[], $8::bigint[], $9::date[])
                 ON CONFLICT (tenant_id, campaign_id) DO UPDATE SET
                     first_day = excluded.first_day, last_day = excluded.last_day,
                     impressions = excluded.impressions, clicks = excluded.clicks,
                     conversions = excluded.conversions, cost_micros = excluded.cost_micros,
                     revenue_micros = excluded.revenue_micros",
            ))
            .bind(self.firsts)
            .execute(&mut *tx)
            .await?;
        Ok(())
    }
}

/// Rows of running or lifetime totals as bind arrays.
#[derive(Default)]
struct RunningRows {
    tenant: Vec<Uuid>,
    day: Vec<NaiveDate>,
    campaign: Vec<Uuid>,
    impressions: Vec<i64>,
    clicks: Vec<i64>,
    conversions: Vec<i64>,
    cost: Vec<i64>,
    revenue: Vec<i64>,
}

impl RunningRows {
    fn push(&mut self, tenant: Uuid, day: NaiveDate, campaign: Uuid, c: Counts) {
        self.tenant.push(tenant);
        self.day.push(day);
        self.campaign.push(campaign);
        self.impressions.push(c.impressions);
        self.clicks.push(c.clicks);
        self.conversions.push(c.conversions);
        self.cost.push(c.cost_micros);
        self.revenue.push(c.revenue_micros);
    }

    fn is_empty(&self) -> bool {
        self.tenant.is_empty()
    }

    /// Binds tenant, day, campaign and the five sums, in that order.
    fn bind(
        self,
        q: sqlx::query::Query<'_, sqlx::Postgres, sqlx::postgres::PgArguments>,
    ) -> sqlx::query::Query<'_, sqlx::Postgres, sqlx::postgres::PgArguments> {
        q.bind(self.tenant)
            .bind(self.day)
            .bind(self.campaign)
            .bind(self.impressions)
            .bind(self.clicks)
            .bind(self.conversions)
            .bind(self.cost)
            .bind(self.revenue)
    }
}
