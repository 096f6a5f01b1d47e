//! Events, expected rows and queries the aggregate suites share.

use adpulse_domain::aggregate::{AggregateBatch, Counts, Grain};
use adpulse_domain::report::{Breakdown, Granularity, RankBy, ReportRow};
use adpulse_domain::store::{CampaignReport, Commit, TopCampaigns};
use adpulse_domain::{CampaignId, Event, TenantId};
use adpulse_testkit::unique_name;
use chrono::{DateTime, NaiveDate, Utc};

use crate::common::Store;

pub(crate) fn at(s: &str) -> DateTime<Utc> {
    s.parse().expect("time")
}

pub(crate) fn event_at(campaign: CampaignId, kind: &str, user: &str, cost: i64, at: &str) -> Event {
    event(campaign, kind, "search", user, cost, 0, at)
}

pub(crate) fn event(
    campaign: CampaignId,
    kind: &str,
    channel: &str,
    user: &str,
    cost: i64,
    revenue: i64,
    at: &str,
) -> Event {
    let json = serde_json::json!({
        "event_id": uuid::Uuid::now_v7().to_string(), "type": kind, "campaign_id": campaign.to_string(),
        "ad_id": "a", "channel": channel, "occurred_at": at,
        "user": {"device_id": user}, "cost_micros": cost, "revenue_micros": revenue,
    });
    serde_json::from_value(json).expect("event")
}

/// Commits `events` of `tenant` (counted in `zone`'s local days) as one
/// batch on a fresh claim of its own partition.
pub(crate) async fn load(store: &Store, tenant: TenantId, zone: chrono_tz::Tz, events: &[Event]) {
    let mut batch = AggregateBatch::default();
    for e in events {
        batch.add(e, tenant, zone).expect("sums fit");
    }
    let mut claim = store
        .claim_partition("load", &unique_name("t"), 0)
        .await
        .expect("claim");
    let n = events.len() as i64;
    assert!(matches!(
        store
            .commit_batch(&mut claim, n, &batch)
            .await
            .expect("commit"),
        Commit::Applied(_)
    ));
}

pub(crate) fn counts(c: [i64; 5]) -> Counts {
    Counts {
        impressions: c[0],
        clicks: c[1],
        conversions: c[2],
        cost_micros: c[3],
        revenue_micros: c[4],
    }
}

pub(crate) fn row(
    period_start: Option<&str>,
    day: Option<(i32, u32, u32)>,
    channel: Option<&str>,
    event_type: Option<&str>,
    c: [i64; 5],
    unique_users: i64,
) -> ReportRow {
    ReportRow {
        period_start: period_start.map(at),
        day: day.map(|(y, m, d)| NaiveDate::from_ymd_opt(y, m, d).expect("day")),
        channel: channel.map(str::to_owned),
        event_type: event_type.map(str::to_owned),
        counts: counts(c),
        unique_users,
    }
}

pub(crate) fn report_query(
    campaign: CampaignId,
    (from, to): (&str, &str),
    grain: Grain,
    tz: &str,
    granularity: Granularity,
    breakdown: Breakdown,
) -> CampaignReport {
    CampaignReport {
        campaign,
        from: at(from),
        to: at(to),
        grain,
        tz: tz.into(),
        granularity,
        breakdown,
    }
}

pub(crate) fn top_query(
    from: &str,
    to: &str,
    grain: Grain,
    by: RankBy,
    desc: bool,
    limit: i64,
) -> TopCampaigns {
    TopCampaigns {
        from: at(from),
        to: at(to),
        grain,
        status: None,
        brand_id: None,
        by,
        desc,
        limit,
    }
}

pub(crate) const BY_CHANNEL: Breakdown = Breakdown {
    channel: true,
    event_type: false,
};
pub(crate) const BY_TYPE: Breakdown = Breakdown {
    channel: false,
    event_type: true,
};
pub(crate) const BY_BOTH: Breakdown = Breakdown {
    channel: true,
    event_type: true,
};

/// `(type, channel, user, cost, revenue, occurred_at)` of one event.
pub(crate) type EventRow<'a> = (&'a str, &'a str, &'a str, i64, i64, &'a str);

/// The events of `campaign` given as a table, one [`EventRow`] each.
pub(crate) fn events(campaign: CampaignId, table: &[EventRow<'_>]) -> Vec<Event> {
    table
        .iter()
        .map(|(kind, channel, user, cost, revenue, at)| {
            event(campaign, kind, channel, user, *cost, *revenue, at)
        })
        .collect()
}

/// `(period_start, day, channel, event_type, counts, unique_users)`: the
/// arguments of [`row`].
pub(crate) type RowSpec<'a> = (
    Option<&'a str>,
    Option<(i32, u32, u32)>,
    Option<&'a str>,
    Option<&'a str>,
    [i64; 5],
    i64,
);

/// Expected report rows given as a table, one [`RowSpec`] each.
pub(crate) fn rows(table: &[RowSpec<'_>]) -> Vec<ReportRow> {
    table
        .iter()
        .map(|(start, day, channel, kind, c, users)| row(*start, *day, *channel, *kind, *c, *users))
        .collect()
}
