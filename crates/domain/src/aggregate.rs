//! Aggregation by event time: which buckets an event counts in, and the
//! deltas a batch of events adds to them. Pure: the stream worker feeds it
//! events and hands the result to the aggregate store.

use std::collections::HashMap;

use std::borrow::Cow;

use chrono::{DateTime, DurationRound as _, NaiveDate, TimeDelta, TimeZone as _, Utc};
use chrono_tz::Tz;

use crate::event::{Channel, Event, EventType};
use crate::ids::{CampaignId, TenantId};

/// The time grains aggregates are kept at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Grain {
    /// One-minute buckets.
    Minute,
    /// One-hour buckets.
    Hour,
    /// One-day buckets (UTC days).
    Day,
    /// Days local to a zone (the campaign's, as the gateway knew it when
    /// the event arrived), each starting at its [`local_midnight`]: what a
    /// report by day in that zone reads, one row per day instead of 24
    /// hour rows. Stored as `day@<zone>`, so rows written before a change of
    /// zone never mix with the new zone's.
    LocalDay(&'static str),
}

impl Grain {
    /// The UTC grains (every event counts once in each, and once in the
    /// local day of its campaign's zone).
    pub const ALL: [Self; 3] = [Self::Minute, Self::Hour, Self::Day];

    /// The days local to `zone`.
    pub fn local_day(zone: Tz) -> Self {
        Self::LocalDay(zone.name())
    }

    /// The stored name.
    pub fn stored(self) -> Cow<'static, str> {
        match self {
            Self::Minute => Cow::Borrowed("minute"),
            Self::Hour => Cow::Borrowed("hour"),
            Self::Day => Cow::Borrowed("day"),
            Self::LocalDay(zone) => Cow::Owned(format!("day@{zone}")),
        }
    }

    /// The start of the bucket holding `t`.
    pub fn bucket_start(self, t: DateTime<Utc>) -> DateTime<Utc> {
        let width = match self {
            Self::Minute => TimeDelta::minutes(1),
            Self::Hour => TimeDelta::hours(1),
            Self::Day => TimeDelta::days(1),
            Self::LocalDay(zone) => {
                let zone: Tz = zone.parse().unwrap_or(Tz::UTC);
                return local_midnight(zone, t.with_timezone(&zone).date_naive());
            }
        };
        // Truncation to a whole minute/hour/day since the epoch cannot fail
        // for any timestamp chrono represents; fall back to `t` regardless.
        t.duration_trunc(width).unwrap_or(t)
    }
}

/// The first instant of local `day` in `zone` (where midnight is skipped,
/// the first local hour that exists).
pub fn local_midnight(zone: Tz, day: NaiveDate) -> DateTime<Utc> {
    (0..=3)
        .find_map(|h| {
            zone.from_local_datetime(&day.and_hms_opt(h, 0, 0).unwrap_or_default())
                .earliest()
        })
        .map_or_else(
            || Utc.from_utc_datetime(&day.and_hms_opt(0, 0, 0).unwrap_or_default()),
            |t| t.with_timezone(&Utc),
        )
}

/// One aggregate row's identity.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AggregateKey {
    /// The campaign.
    pub campaign_id: CampaignId,
    /// Its tenant.
    pub tenant_id: TenantId,
    /// The grain.
    pub grain: Grain,
    /// The bucket's start.
    pub bucket_start: DateTime<Utc>,
    /// The channel.
    pub channel: Channel,
    /// The event type.
    pub event_type: EventType,
}

/// What a batch adds to one aggregate row.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AggregateDelta {
    /// Events counted.
    pub events: i64,
    /// Sum of `cost_micros`.
    pub cost_micros: i64,
    /// Sum of `revenue_micros`.
    pub revenue_micros: i64,
    /// The users seen (their strongest id), for the unique-users sketch.
    pub users: Vec<String>,
}

/// The most one campaign's lifetime cost, and its lifetime revenue, may
/// sum to: 10^18 micros, a trillion units of its currency.
///
/// One event carries at most [`crate::Micros::MAX`] (10^15, a billion
/// units: generous in dollars, a few thousand dollars' worth in the
/// currencies with the smallest units), so about 9,223 events at that
/// bound would wrap an `i64` sum. Every stored sum of a campaign (any
/// grain, bucket, channel or type, running and live totals) is a part of
/// its lifetime sum, so keeping the lifetime under this bound keeps every
/// row in range, with room for nine campaigns at the bound to be added up
/// in an `i64` (reports across campaigns widen beyond that). The stream
/// worker refuses an event that would cross it (`campaign_total_exceeded`)
/// instead of committing a sum that cannot be stored.
pub const CAMPAIGN_MAX_MICROS: i64 = 1_000_000_000_000_000_000;

/// A sum of a batch would leave its type: the event was not added.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("a sum of the batch would overflow")]
pub struct SumOverflow;

/// An event would take its campaign's lifetime cost or revenue past
/// [`CAMPAIGN_MAX_MICROS`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the campaign's lifetime {what} would exceed {CAMPAIGN_MAX_MICROS} micros")]
pub struct CampaignTotalExceeded {
    /// `cost` or `revenue`.
    pub what: &'static str,
}

/// What each campaign has summed to so far (its committed lifetime totals
/// plus what was admitted since), to refuse the event that would cross
/// [`CAMPAIGN_MAX_MICROS`]. Exact while one writer owns the campaign (the
/// partition's owner), so a replay admits exactly what the first run did.
#[derive(Clone, Debug, Default)]
pub struct Headroom {
    used: HashMap<CampaignId, (i64, i64)>,
}

impl Headroom {
    /// Whether `campaign`'s totals are known.
    pub fn knows(&self, campaign: CampaignId) -> bool {
        self.used.contains_key(&campaign)
    }

    /// Takes `campaign`'s committed totals (`None`: nothing committed yet).
    pub fn learn(&mut self, campaign: CampaignId, totals: Option<&CampaignTotals>) {
        let used = totals.map_or((0, 0), |t| (t.cost_micros, t.revenue_micros));
        self.used.insert(campaign, used);
    }

    /// Forgets `campaign` (its committed totals must be read again).
    pub fn forget(&mut self, campaign: CampaignId) {
        self.used.remove(&campaign);
    }

    /// Counts `event` against its campaign's bound, or refuses it (and
    /// counts nothing). A campaign not learnt counts from zero.
    pub fn admit(&mut self, event: &Event) -> Result<(), CampaignTotalExceeded> {
        let (cost, revenue) = self.used.get(&event.campaign_id).copied().unwrap_or((0, 0));
        let within = |used: i64, add: i64| {
            used.checked_add(add)
                .filter(|sum| *sum <= CAMPAIGN_MAX_MICROS)
        };
        let cost =
            within(cost, event.cost_micros.get()).ok_or(CampaignTotalExceeded { what: "cost" })?;
        let revenue = within(revenue, event.revenue_micros.get())
            .ok_or(CampaignTotalExceeded { what: "revenue" })?;
        self.used.insert(event.campaign_id, (cost, revenue));
        Ok(())
    }
}

/// The deltas of a batch of events, per aggregate row.
#[derive(Clone, Debug, Default)]
pub struct AggregateBatch {
    deltas: HashMap<AggregateKey, AggregateDelta>,
    live: HashMap<(CampaignId, TenantId, DateTime<Utc>), Counts>,
    events: usize,
}

impl AggregateBatch {
    /// Counts `event` of `tenant` in its minute, hour and day buckets and
    /// in its day local to `zone` (its campaign's), or, if any sum it
    /// touches would overflow, counts it nowhere.
    pub fn add(&mut self, event: &Event, tenant: TenantId, zone: Tz) -> Result<(), SumOverflow> {
        let local = Grain::local_day(zone);
        let keys = Grain::ALL
            .map(|g| (g, g.bucket_start(event.occurred_at)))
            .into_iter()
            .chain([(
                local,
                local_midnight(zone, event.occurred_at.with_timezone(&zone).date_naive()),
            )])
            .map(|(grain, bucket_start)| AggregateKey {
                campaign_id: event.campaign_id,
                tenant_id: tenant,
                grain,
                bucket_start,
                channel: event.channel,
                event_type: event.event_type,
            });
        let live_key = (
            event.campaign_id,
            tenant,
            live_point_start(event.occurred_at),
        );
        // Every new sum first, so that an event either counts everywhere or
        // nowhere.
        let mut sums = Vec::with_capacity(4);
        for key in keys {
            let d = self.deltas.get(&key);
            let add = |f: fn(&AggregateDelta) -> i64, n: i64| {
                d.map_or(Some(n), |d| f(d).checked_add(n))
                    .ok_or(SumOverflow)
            };
            sums.push((
                key,
                add(|d| d.events, 1)?,
                add(|d| d.cost_micros, event.cost_micros.get())?,
                add(|d| d.revenue_micros, event.revenue_micros.get())?,
            ));
        }
        let point = self
            .live
            .get(&live_key)
            .copied()
            .unwrap_or_default()
            .plus(event)
            .ok_or(SumOverflow)?;
        let events = self.events.checked_add(1).ok_or(SumOverflow)?;

        let user = event.user.as_ref().and_then(|u| u.primary());
        for (key, n, cost, revenue) in sums {
            let d = self.deltas.entry(key).or_default();
            (d.events, d.cost_micros, d.revenue_micros) = (n, cost, revenue);
            if let Some(u) = user {
                d.users.push(u.to_owned());
            }
        }
        self.live.insert(live_key, point);
        self.events = events;
        Ok(())
    }

    /// What the batch adds to each live-series point, per campaign and
    /// tenant. The store keeps only the last `LIVE_WINDOW_SECS` of them.
    pub fn live_points(&self) -> impl Iterator<Item = (TenantId, LivePoint)> + '_ {
        self.live.iter().map(|((c, t, start), counts)| {
            (
                *t,
                LivePoint {
                    campaign_id: *c,
                    start: *start,
                    counts: *counts,
                },
            )
        })
    }

    /// Events added.
    pub fn events(&self) -> usize {
        self.events
    }

    /// Whether nothing was added.
    pub fn is_empty(&self) -> bool {
        self.events == 0
    }

    /// The rows and their deltas.
    pub fn rows(&self) -> impl Iterator<Item = (&AggregateKey, &AggregateDelta)> {
        self.deltas.iter()
    }

    /// The campaigns touched.
    pub fn campaigns(&self) -> Vec<CampaignId> {
        let mut c: Vec<_> = self.deltas.keys().map(|k| k.campaign_id).collect();
        c.sort_unstable();
        c.dedup();
        c
    }
}

/// Lifetime totals of one campaign, as live counters show them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CampaignTotals {
    /// The campaign.
    pub campaign_id: CampaignId,
    /// Impressions.
    pub impressions: i64,
    /// Clicks.
    pub clicks: i64,
    /// Conversions.
    pub conversions: i64,
    /// Sum of cost.
    pub cost_micros: i64,
    /// Sum of revenue.
    pub revenue_micros: i64,
    /// The same counts for today (UTC) only.
    pub today: Counts,
}

impl Counts {
    /// These counts with `event` counted in, unless a sum would overflow.
    #[must_use]
    pub fn plus(self, event: &Event) -> Option<Self> {
        let mut c = self;
        let n = match event.event_type {
            EventType::Impression => &mut c.impressions,
            EventType::Click => &mut c.clicks,
            EventType::Conversion => &mut c.conversions,
        };
        *n = n.checked_add(1)?;
        c.cost_micros = c.cost_micros.checked_add(event.cost_micros.get())?;
        c.revenue_micros = c.revenue_micros.checked_add(event.revenue_micros.get())?;
        Some(c)
    }

    /// Events counted, of every type.
    pub fn events(&self) -> i64 {
        self.impressions + self.clicks + self.conversions
    }

    /// `events` events of `kind` costing `cost_micros` and earning
    /// `revenue_micros` in all.
    pub fn of(kind: EventType, events: i64, cost_micros: i64, revenue_micros: i64) -> Self {
        let mut c = Self {
            cost_micros,
            revenue_micros,
            ..Self::default()
        };
        match kind {
            EventType::Impression => c.impressions = events,
            EventType::Click => c.clicks = events,
            EventType::Conversion => c.conversions = events,
        }
        c
    }

    /// `other` taken from these counts, each difference saturating.
    #[must_use]
    pub fn less(self, other: Self) -> Self {
        Self {
            impressions: self.impressions.saturating_sub(other.impressions),
            clicks: self.clicks.saturating_sub(other.clicks),
            conversions: self.conversions.saturating_sub(other.conversions),
            cost_micros: self.cost_micros.saturating_sub(other.cost_micros),
            revenue_micros: self.revenue_micros.saturating_sub(other.revenue_micros),
        }
    }

    /// Both counts added, each sum saturating at `i64::MAX` (admission
    /// keeps a campaign's sums far below it, see [`Headroom`]).
    #[must_use]
    pub fn sum(self, other: Self) -> Self {
        Self {
            impressions: self.impressions.saturating_add(other.impressions),
            clicks: self.clicks.saturating_add(other.clicks),
            conversions: self.conversions.saturating_add(other.conversions),
            cost_micros: self.cost_micros.saturating_add(other.cost_micros),
            revenue_micros: self.revenue_micros.saturating_add(other.revenue_micros),
        }
    }
}

/// Width of one point of a campaign's live series, in seconds.
pub const LIVE_STEP_SECS: i64 = 5;
/// How far back the live series reaches, in seconds (the live charts show
/// the last hour).
pub const LIVE_WINDOW_SECS: i64 = 3600;

/// The start of the live-series point holding `t`.
pub fn live_point_start(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(TimeDelta::seconds(LIVE_STEP_SECS))
        .unwrap_or(t)
}

/// One point of a campaign's live series: what happened in the
/// `LIVE_STEP_SECS` from `start`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct LivePoint {
    /// The campaign.
    pub campaign_id: CampaignId,
    /// The point's start.
    pub start: DateTime<Utc>,
    /// Its counts.
    pub counts: Counts,
}

/// Counts and sums of a campaign over some span: a day, a live-series point.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Counts {
    /// Impressions.
    pub impressions: i64,
    /// Clicks.
    pub clicks: i64,
    /// Conversions.
    pub conversions: i64,
    /// Sum of cost.
    pub cost_micros: i64,
    /// Sum of revenue.
    pub revenue_micros: i64,
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;
    use proptest::prelude::*;

    use super::*;
    use crate::{AdId, EventId, Micros, UserIds};

    fn event(campaign: u128, t: DateTime<Utc>, kind: EventType, cost: i64, user: &str) -> Event {
        Event {
            event_id: EventId::from_uuid(uuid::Uuid::new_v4()),
            event_type: kind,
            campaign_id: CampaignId::from_uuid(uuid::Uuid::from_u128(campaign)),
            ad_id: AdId::new_unchecked("a".into()),
            channel: Channel::Display,
            occurred_at: t,
            user: Some(UserIds {
                device_id: Some(user.into()),
                ..UserIds::default()
            }),
            cost_micros: Micros::new(cost).expect("in range"),
            revenue_micros: Micros::ZERO,
            attributes: Default::default(),
        }
    }

    #[test]
    fn buckets_truncate_to_their_grain() {
        let t = Utc
            .with_ymd_and_hms(2026, 11, 29, 10, 31, 17)
            .single()
            .expect("time");
        assert_eq!(
            Grain::Minute.bucket_start(t),
            Utc.with_ymd_and_hms(2026, 11, 29, 10, 31, 0)
                .single()
                .expect("t")
        );
        assert_eq!(
            Grain::Hour.bucket_start(t),
            Utc.with_ymd_and_hms(2026, 11, 29, 10, 0, 0)
                .single()
                .expect("t")
        );
        assert_eq!(
            Grain::Day.bucket_start(t),
            Utc.with_ymd_and_hms(2026, 11, 29, 0, 0, 0)
                .single()
                .expect("t")
        );
    }

    #[test]
    fn each_event_counts_once_per_grain() {
        let t = Utc
            .with_ymd_and_hms(2026, 11, 29, 10, 31, 17)
            .single()
            .expect("time");
        let tenant = TenantId::from_uuid(uuid::Uuid::from_u128(9));
        let mut b = AggregateBatch::default();
        let zone = chrono_tz::Asia::Kolkata;
        b.add(&event(1, t, EventType::Click, 10, "u1"), tenant, zone)
            .expect("sums fit");
        b.add(
            &event(1, t + TimeDelta::seconds(30), EventType::Click, 5, "u2"),
            tenant,
            zone,
        )
        .expect("sums fit");
        b.add(&event(1, t, EventType::Impression, 1, "u1"), tenant, zone)
            .expect("sums fit");
        assert_eq!(b.events(), 3);
        let clicks_day: Vec<_> = b
            .rows()
            .filter(|(k, _)| k.grain == Grain::Day && k.event_type == EventType::Click)
            .collect();
        assert_eq!(clicks_day.len(), 1);
        assert_eq!(clicks_day[0].1.events, 2);
        assert_eq!(clicks_day[0].1.cost_micros, 15);
        assert_eq!(clicks_day[0].1.users, ["u1", "u2"]);
        // 10:31:17 and 10:31:47 share a minute; the click minute row holds both
        assert_eq!(
            b.rows().filter(|(k, _)| k.grain == Grain::Minute).count(),
            2
        );
        // The local day: 29 November in Kolkata began at 18:30 UTC the day
        // before, stored under the zone's name.
        let local: Vec<_> = b
            .rows()
            .filter(|(k, _)| k.grain == Grain::local_day(zone))
            .collect();
        assert_eq!(local.len(), 2);
        assert!(local.iter().all(|(k, _)| {
            k.bucket_start
                == Utc
                    .with_ymd_and_hms(2026, 11, 28, 18, 30, 0)
                    .single()
                    .expect("t")
        }));
        assert_eq!(Grain::local_day(zone).stored(), "day@Asia/Kolkata");
    }

    #[test]
    fn local_days_start_at_local_midnight_across_dst() {
        let berlin = chrono_tz::Europe::Berlin;
        let at = |s: &str| s.parse::<DateTime<Utc>>().expect("time");
        // The 25-hour day of 25 October 2026: from 22:00 UTC the day before
        // to 23:00 UTC on the day.
        let g = Grain::local_day(berlin);
        assert_eq!(
            g.bucket_start(at("2026-10-25T22:59:59Z")),
            at("2026-10-24T22:00:00Z")
        );
        assert_eq!(
            g.bucket_start(at("2026-10-25T23:00:00Z")),
            at("2026-10-25T23:00:00Z")
        );
        // Havana skips midnight into DST (8 March 2026): the day starts at 01:00.
        let havana = chrono_tz::America::Havana;
        assert_eq!(
            local_midnight(havana, NaiveDate::from_ymd_opt(2026, 3, 8).expect("d")),
            at("2026-03-08T05:00:00Z")
        );
    }

    proptest! {
        #[test]
        fn every_grain_sums_to_the_batch(
            events in proptest::collection::vec((0u128..5, 0i64..200_000, 0usize..3, 0i64..1_000_000), 1..200)
        ) {
            let t0 = Utc.with_ymd_and_hms(2026, 11, 27, 0, 0, 0).single().expect("time");
            let tenant = TenantId::from_uuid(uuid::Uuid::from_u128(9));
            let mut b = AggregateBatch::default();
            let mut cost = 0;
            for (c, secs, kind, micros) in &events {
                b.add(&event(*c + 1, t0 + TimeDelta::seconds(*secs), EventType::ALL[*kind], *micros, "u"), tenant, chrono_tz::America::New_York).expect("sums fit");
                cost += micros;
            }
            for g in Grain::ALL.into_iter().chain([Grain::local_day(chrono_tz::America::New_York)]) {
                let (n, c) = b.rows().filter(|(k, _)| k.grain == g).fold((0, 0), |(n, c), (_, d)| (n + d.events, c + d.cost_micros));
                prop_assert_eq!(n as usize, events.len());
                prop_assert_eq!(c, cost);
            }
            for (k, _) in b.rows() {
                prop_assert_eq!(k.grain.bucket_start(k.bucket_start), k.bucket_start);
            }
            let (mut n, mut c) = (0, 0);
            for (_, p) in b.live_points() {
                prop_assert_eq!(live_point_start(p.start), p.start);
                n += p.counts.events();
                c += p.counts.cost_micros;
            }
            prop_assert_eq!(n as usize, events.len());
            prop_assert_eq!(c, cost);
        }
    }
}
