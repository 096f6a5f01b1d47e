//! The running and lifetime totals of campaigns (what ranking campaigns
//! reads): per campaign one row per day from its first event to its last,
//! each holding the totals up to that day, and one lifetime row.

use std::collections::BTreeMap;

use adpulse_domain::aggregate::{AggregateBatch, Counts, Grain};
use chrono::NaiveDate;
use uuid::Uuid;

use crate::PgError;

/// A campaign as its running totals are keyed: (tenant, campaign).
type Owned = (Uuid, Uuid);

/// What the campaign's lifetime row holds: first and last day, totals.
type Lifetime = (NaiveDate, NaiveDate, Counts);

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
pub(super) async fn upsert_running_totals(
    tx: &mut sqlx::PgConnection,
    batch: &AggregateBatch,
) -> Result<(), PgError> {
    let deltas = day_deltas(batch);
    if deltas.is_empty() {
        return Ok(());
    }
    let known = lifetimes(tx, deltas.keys()).await?;
    let mut plan = RunningPlan::default();
    for (owner, days) in &deltas {
        plan.campaign(*owner, days, known.get(owner));
    }
    plan.write(tx).await
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

/// The lifetime rows of `owners` that exist.
async fn lifetimes(
    tx: &mut sqlx::PgConnection,
    owners: impl Iterator<Item = &Owned>,
) -> Result<BTreeMap<Owned, Lifetime>, PgError> {
    let (tenants, campaigns): (Vec<Uuid>, Vec<Uuid>) = owners.copied().unzip();
    type Row = (Uuid, Uuid, NaiveDate, NaiveDate, i64, i64, i64, i64, i64);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT l.tenant_id, l.campaign_id, l.first_day, l.last_day,
                l.impressions, l.clicks, l.conversions, l.cost_micros, l.revenue_micros
         FROM campaign_lifetime_totals l
         JOIN unnest($1::uuid[], $2::uuid[]) AS k(tenant_id, campaign_id)
           ON l.tenant_id = k.tenant_id AND l.campaign_id = k.campaign_id",
    )
    .bind(&tenants)
    .bind(&campaigns)
    .fetch_all(&mut *tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(t, c, first, last, impressions, clicks, conversions, cost, revenue)| {
                let counts = Counts {
                    impressions,
                    clicks,
                    conversions,
                    cost_micros: cost,
                    revenue_micros: revenue,
                };
                ((t, c), (first, last, counts))
            },
        )
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
        let first = old.map_or(lo, |o| o.0.min(lo));
        let last = old.map_or(hi, |o| o.1.max(hi));
        // From the batch's earliest day, or from the day after the last
        // known when the batch starts after a gap (the gap's days are
        // filled with the lifetime totals); earlier days are untouched.
        let mut added = Counts::default();
        let start = old.map_or(lo, |o| lo.min(o.1.succ_opt().unwrap_or(o.1)));
        for day in start.iter_days().take_while(|d| *d <= last) {
            if let Some(d) = days.get(&day) {
                added = added.sum(*d);
            }
            match old {
                // A day the campaign's rows already hold: add to it.
                Some((f, l, _)) if day >= *f && day <= *l => {
                    self.updates.push(tenant, day, campaign, added);
                }
                // Before the first event known: from zero.
                Some((f, _, _)) if day < *f => self.inserts.push(tenant, day, campaign, added),
                // After the last: from the lifetime totals.
                Some((_, _, life)) => self.inserts.push(tenant, day, campaign, life.sum(added)),
                None => self.inserts.push(tenant, day, campaign, added),
            }
        }
        let life = old.map_or(Counts::default(), |o| o.2).sum(added);
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
