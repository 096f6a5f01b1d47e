//! Parsing and checking the query strings of the reports: the range of
//! local days and its zone, granularity, breakdown, sort and limit. Each
//! report's parser collects every problem before answering, so a client
//! fixes a bad query in one round trip (422 listing each field), and the
//! JSON report and its CSV export share one parser, so they accept exactly
//! the same queries.

use adpulse_domain::aggregate::{Grain, local_midnight};
use adpulse_domain::report::{Breakdown, Granularity, RankBy};
use adpulse_domain::store::{CampaignReport, TopCampaigns};
use chrono::{DateTime, NaiveDate, Offset as _, TimeZone as _, Utc};
use chrono_tz::Tz;
use serde::Deserialize;

use crate::AppState;
use crate::auth::Caller;
use crate::campaigns::campaign_id;
use crate::error::{ApiError, FieldProblem};
use crate::http::query;

/// Longest range of one report, in days.
const MAX_DAYS: i64 = 400;
/// Longest range of an hourly report, in days.
const MAX_HOURLY_DAYS: i64 = 62;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReportQuery {
    start_date: Option<String>,
    end_date: Option<String>,
    granularity: Option<String>,
    breakdown: Option<String>,
    tz: Option<String>,
    format: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TopQuery {
    start_date: Option<String>,
    end_date: Option<String>,
    status: Option<String>,
    brand_id: Option<String>,
    sort: Option<String>,
    limit: Option<i64>,
    tz: Option<String>,
    format: Option<String>,
}

/// A validated range of local days: the days as asked, and the instants
/// that bound them in `tz`.
pub(super) struct Range {
    pub(super) start: NaiveDate,
    pub(super) end: NaiveDate,
    pub(super) tz: Tz,
    pub(super) from: DateTime<Utc>,
    pub(super) to: DateTime<Utc>,
}

impl Range {
    fn parse(
        start: Option<&str>,
        end: Option<&str>,
        tz: Tz,
        problems: &mut Vec<FieldProblem>,
    ) -> Option<Self> {
        let date = |field: &str, v: Option<&str>, problems: &mut Vec<FieldProblem>| match v {
            None => {
                problems.push(FieldProblem::new(field, "required (YYYY-MM-DD)"));
                None
            }
            Some(s) => {
                let d = day(s);
                if d.is_none() {
                    problems.push(FieldProblem::new(field, "must be a date, YYYY-MM-DD"));
                }
                d
            }
        };
        // Both dates are read before either can fail, so both are reported.
        let (start, end) = (
            date("start_date", start, problems),
            date("end_date", end, problems),
        );
        let (start, end) = (start?, end?);
        if end < start {
            problems.push(FieldProblem::new(
                "end_date",
                "must not be before start_date",
            ));
            return None;
        }
        if (end - start).num_days() >= MAX_DAYS {
            problems.push(FieldProblem::new(
                "end_date",
                format!("a report covers at most {MAX_DAYS} days"),
            ));
            return None;
        }
        Some(Self {
            start,
            end,
            tz,
            from: local_midnight(tz, start),
            to: local_midnight(tz, end.succ_opt().unwrap_or(end)),
        })
    }

    /// The stored buckets whose sums make every local period exactly.
    pub(super) fn grain(&self, granularity: Granularity) -> Grain {
        // The zone's offset at midnight and noon of every day of the range
        // (and the day after, where the last period ends): a zone that is
        // UTC throughout can read day rows, one on whole hours hour rows,
        // and only a half- or quarter-hour zone needs minute rows.
        let mut day = self.start;
        let (mut whole_hours, mut utc) = (true, true);
        while day <= self.end.succ_opt().unwrap_or(self.end) {
            for hour in [0, 12] {
                let at = Utc.from_utc_datetime(&day.and_hms_opt(hour, 0, 0).unwrap_or_default());
                let offset = self
                    .tz
                    .offset_from_utc_datetime(&at.naive_utc())
                    .fix()
                    .local_minus_utc();
                whole_hours &= offset % 3600 == 0;
                utc &= offset == 0;
            }
            day = match day.succ_opt() {
                Some(d) => d,
                None => break,
            };
        }
        match (utc && granularity != Granularity::Hour, whole_hours) {
            (true, _) => Grain::Day,
            (false, true) => Grain::Hour,
            (false, false) => Grain::Minute,
        }
    }

    /// Whether the range reaches today (its numbers still move).
    pub(super) fn is_live(&self) -> bool {
        self.to > Utc::now()
    }
}

/// A `YYYY-MM-DD` date in the years timestamps can hold (1970 to 9999).
pub(super) fn day(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .filter(|d| (1970..=9999).contains(&chrono::Datelike::year(d)))
}

fn zone(raw: Option<&str>, default: &str, problems: &mut Vec<FieldProblem>) -> Tz {
    let name = raw.unwrap_or(default);
    name.parse().unwrap_or_else(|_| {
        problems.push(FieldProblem::new(
            "tz",
            "must be an IANA time zone, like Europe/Berlin",
        ));
        chrono_tz::UTC
    })
}

fn csv_wanted(format: Option<&str>, problems: &mut Vec<FieldProblem>) {
    if format.is_some_and(|f| f != "csv") {
        problems.push(FieldProblem::new("format", "must be csv"));
    }
}

/// An export's `format`, which the JSON report leaves out: 422 without it.
pub(super) fn require_csv(format: Option<&str>) -> Result<(), ApiError> {
    match format {
        Some(_) => Ok(()),
        None => Err(ApiError::Invalid(vec![FieldProblem::new(
            "format",
            "required: csv",
        )])),
    }
}

fn granularity(raw: Option<&str>, problems: &mut Vec<FieldProblem>) -> Granularity {
    match raw {
        None => Granularity::Day,
        Some(g) => Granularity::parse(g).unwrap_or_else(|| {
            problems.push(FieldProblem::new(
                "granularity",
                "must be hour, day or total",
            ));
            Granularity::Day
        }),
    }
}

fn breakdown(raw: Option<&str>, problems: &mut Vec<FieldProblem>) -> Breakdown {
    Breakdown::parse(raw.unwrap_or("")).unwrap_or_else(|d| {
        problems.push(FieldProblem::new(
            "breakdown",
            format!("unknown dimension {d:?}: channel, event_type or both"),
        ));
        Breakdown::default()
    })
}

/// A campaign report asked for, its range, and the `format` it named.
pub(super) struct CampaignAsk {
    pub(super) report: CampaignReport,
    pub(super) range: Range,
    pub(super) format: Option<String>,
}

/// The report a query asks of the caller's campaign `raw_id` (404 when it
/// is not theirs), in the campaign's zone unless `tz` names another.
pub(super) async fn campaign_query(
    state: &AppState,
    caller: &Caller,
    raw_id: &str,
    raw_query: Option<&str>,
) -> Result<CampaignAsk, ApiError> {
    let q: ReportQuery = query(raw_query)?;
    let campaign = state
        .db
        .campaign(caller.tenant, campaign_id(raw_id)?)
        .await?
        .ok_or(ApiError::NotFound("campaign"))?;
    let mut problems = Vec::new();
    let tz = zone(q.tz.as_deref(), &campaign.fields.timezone, &mut problems);
    let granularity = granularity(q.granularity.as_deref(), &mut problems);
    let breakdown = breakdown(q.breakdown.as_deref(), &mut problems);
    csv_wanted(q.format.as_deref(), &mut problems);
    let range = Range::parse(
        q.start_date.as_deref(),
        q.end_date.as_deref(),
        tz,
        &mut problems,
    );
    if let Some(r) = &range
        && granularity == Granularity::Hour
        && (r.end - r.start).num_days() >= MAX_HOURLY_DAYS
    {
        problems.push(FieldProblem::new(
            "end_date",
            format!("an hourly report covers at most {MAX_HOURLY_DAYS} days"),
        ));
    }
    let range = match range {
        Some(r) if problems.is_empty() => r,
        _ => return Err(ApiError::Invalid(problems)),
    };
    Ok(CampaignAsk {
        report: CampaignReport {
            campaign: campaign.id,
            from: range.from,
            to: range.to,
            grain: range.grain(granularity),
            tz: tz.name().to_owned(),
            granularity,
            breakdown,
        },
        range,
        format: q.format,
    })
}

/// A ranking asked for, its range, the sort as written, and the `format`
/// it named.
pub(super) struct TopAsk {
    pub(super) top: TopCampaigns,
    pub(super) range: Range,
    pub(super) sort: String,
    pub(super) format: Option<String>,
}

/// The ranking a query asks for, of at most `max` campaigns; days are UTC
/// unless `tz` names a zone.
pub(super) fn top_query(raw: Option<&str>, max: i64) -> Result<TopAsk, ApiError> {
    let q: TopQuery = query(raw)?;
    let mut problems = Vec::new();
    let tz = zone(q.tz.as_deref(), "UTC", &mut problems);
    let sort = q.sort.unwrap_or_else(|| "-spend".into());
    let (by, desc) = RankBy::parse(&sort).unwrap_or_else(|| {
        problems.push(FieldProblem::new(
            "sort",
            format!("must be one of {}", RankBy::KEYS),
        ));
        (RankBy::Spend, true)
    });
    let limit = q.limit.unwrap_or(100);
    if !(1..=max).contains(&limit) {
        problems.push(FieldProblem::new("limit", format!("must be 1 to {max}")));
    }
    if let Some(s) = &q.status
        && s.parse::<adpulse_domain::CampaignStatus>().is_err()
    {
        problems.push(FieldProblem::new("status", "not a campaign status"));
    }
    csv_wanted(q.format.as_deref(), &mut problems);
    let range = Range::parse(
        q.start_date.as_deref(),
        q.end_date.as_deref(),
        tz,
        &mut problems,
    );
    let range = match range {
        Some(r) if problems.is_empty() => r,
        _ => return Err(ApiError::Invalid(problems)),
    };
    Ok(TopAsk {
        top: TopCampaigns {
            from: range.from,
            to: range.to,
            grain: range.grain(Granularity::Day),
            status: q.status,
            brand_id: q.brand_id,
            by,
            desc,
            limit,
        },
        range,
        sort,
        format: q.format,
    })
}
