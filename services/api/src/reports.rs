//! Reports for campaign managers and analysts (every role reads them):
//!
//! - `GET /campaigns/{id}/realtime`: live totals and the 5-second series
//!   of the last hour, from the live counters (Redis);
//! - `GET /campaigns/{id}/realtime/stream`: the same as Server-Sent
//!   Events, pushed within half a second of a change;
//! - `GET /campaigns/{id}/reports`: counts, sums, ratios and unique users
//!   by local hour or day or in total, by channel and/or event type, in the
//!   campaign's time zone unless `tz` names another;
//! - `GET /reports/campaigns`: the tenant's campaigns ranked over a range;
//! - `…/export?format=csv`: either report as a streamed CSV file.
//!
//! Unique users are a union of HyperLogLog sketches over each row's span,
//! never a sum of smaller spans' counts. Ratios whose denominator is zero
//! are null. Answers carry an ETag; ranges that include today are cacheable
//! for one second (the live freshness), past ranges for a minute (late
//! events can still land).

use std::convert::Infallible;
use std::time::Duration;

use adpulse_domain::CampaignId;
use adpulse_domain::aggregate::{Counts, Grain, local_midnight};
use adpulse_domain::report::{Breakdown, Granularity, RankBy, Ratios, ReportRow, saturated};
use adpulse_domain::store::{CampaignReport, RankedCampaign, TopCampaigns};
use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Offset as _, SecondsFormat, TimeZone as _, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::AppState;
use crate::auth::Caller;
use crate::campaigns::campaign_id;
use crate::error::{ApiError, FieldProblem};
use crate::http::{not_modified, query};
use crate::openapi::responses as r;

/// Longest range of one report, in days.
const MAX_DAYS: i64 = 400;
/// Longest range of an hourly report, in days.
const MAX_HOURLY_DAYS: i64 = 62;
/// How often the event stream looks for new numbers.
const STREAM_POLL: Duration = Duration::from_millis(500);

/// Metrics of a row, a total or a live view.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Metrics {
    /// Impressions.
    pub impressions: i64,
    /// Clicks.
    pub clicks: i64,
    /// Conversions.
    pub conversions: i64,
    /// Cost, in millionths of the currency unit.
    pub spend_micros: i64,
    /// Revenue, in millionths of the currency unit.
    pub revenue_micros: i64,
    /// Clicks per impression; null without impressions.
    pub ctr: Option<f64>,
    /// Cost per click (micros); null without clicks.
    pub cpc_micros: Option<f64>,
    /// Cost per thousand impressions (micros); null without impressions.
    pub cpm_micros: Option<f64>,
    /// Cost per conversion (micros); null without conversions.
    pub cpa_micros: Option<f64>,
    /// Revenue per unit of cost; null without cost.
    pub roas: Option<f64>,
    /// A count or sum did not fit in a 64-bit integer: it shows the
    /// bound it passed (9223372036854775807), a floor of the true value,
    /// and the ratios are of the shown numbers.
    pub saturated: bool,
}

impl From<&Counts> for Metrics {
    fn from(c: &Counts) -> Self {
        let r = Ratios::of(c);
        Self {
            impressions: c.impressions,
            clicks: c.clicks,
            conversions: c.conversions,
            spend_micros: c.cost_micros,
            revenue_micros: c.revenue_micros,
            ctr: r.ctr,
            cpc_micros: r.cpc_micros,
            cpm_micros: r.cpm_micros,
            cpa_micros: r.cpa_micros,
            roas: r.roas,
            saturated: saturated(c),
        }
    }
}

/// One row of a campaign report.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RowOut {
    /// The local period: a date (day), a local time with offset (hour), or
    /// null (total).
    pub period: Option<String>,
    /// The channel, when broken down by channel.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// The event type, when broken down by event type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_type: Option<String>,
    /// Counts, sums and ratios.
    #[serde(flatten)]
    pub metrics: Metrics,
    /// Distinct people in the row's span (a union of sketches, about 1%
    /// error).
    pub unique_users: i64,
}

/// A campaign report.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReportOut {
    /// The campaign.
    pub campaign_id: String,
    /// First local day.
    pub start_date: String,
    /// Last local day (inclusive).
    pub end_date: String,
    /// The zone the periods are local to.
    pub timezone: String,
    /// `hour`, `day` or `total`.
    pub granularity: String,
    /// The rows, in period order; periods without events are absent.
    pub rows: Vec<RowOut>,
    /// The whole range, unique users over all of it.
    pub totals: RowOut,
}

/// One ranked campaign.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RankedOut {
    /// The campaign.
    pub campaign_id: String,
    /// Its name.
    pub name: String,
    /// Its status.
    pub status: String,
    /// Its brand.
    pub brand_id: Option<String>,
    /// Counts, sums and ratios over the range.
    #[serde(flatten)]
    pub metrics: Metrics,
    /// Distinct people over the range.
    pub unique_users: i64,
}

/// The tenant's top campaigns.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TopOut {
    /// First day.
    pub start_date: String,
    /// Last day (inclusive).
    pub end_date: String,
    /// The zone the days are local to.
    pub timezone: String,
    /// The sort applied.
    pub sort: String,
    /// The campaigns, best first.
    pub rows: Vec<RankedOut>,
}

/// One 5-second point of the live series.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LivePointOut {
    /// The point's start.
    pub t: String,
    /// Impressions.
    pub impressions: i64,
    /// Clicks.
    pub clicks: i64,
    /// Conversions.
    pub conversions: i64,
    /// Cost (micros).
    pub spend_micros: i64,
    /// Revenue (micros).
    pub revenue_micros: i64,
}

/// A campaign's live numbers.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RealtimeOut {
    /// The campaign.
    pub campaign_id: String,
    /// Lifetime totals (zero before the first event).
    pub totals: Metrics,
    /// Increases with every update.
    pub version: i64,
    /// When the counters were last written.
    pub updated_at: Option<String>,
    /// The last hour in 5-second points, oldest first.
    pub series: Vec<LivePointOut>,
}

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

/// A validated range of local days.
struct Range {
    start: NaiveDate,
    end: NaiveDate,
    tz: Tz,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
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
    fn grain(&self, granularity: Granularity) -> Grain {
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
    fn is_live(&self) -> bool {
        self.to > Utc::now()
    }
}

/// A `YYYY-MM-DD` date in the years timestamps can hold (1970 to 9999).
fn day(s: &str) -> Option<NaiveDate> {
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

fn row_out(r: &ReportRow, tz: Tz) -> RowOut {
    RowOut {
        period: match (r.day, r.period_start) {
            (Some(d), _) => Some(d.to_string()),
            (None, Some(t)) => Some(
                t.with_timezone(&tz)
                    .to_rfc3339_opts(SecondsFormat::Secs, true),
            ),
            (None, None) => None,
        },
        channel: r.channel.clone(),
        event_type: r.event_type.clone(),
        metrics: Metrics::from(&r.counts),
        unique_users: r.unique_users,
    }
}

/// The report a query asks of `campaign`, and its range.
async fn campaign_query(
    state: &AppState,
    caller: &Caller,
    raw_id: &str,
    raw_query: Option<&str>,
) -> Result<(CampaignReport, Range, Option<String>), ApiError> {
    let q: ReportQuery = query(raw_query)?;
    let campaign = state
        .db
        .campaign(caller.tenant, campaign_id(raw_id)?)
        .await?
        .ok_or(ApiError::NotFound("campaign"))?;
    let mut problems = Vec::new();
    let tz = zone(q.tz.as_deref(), &campaign.fields.timezone, &mut problems);
    let granularity = match q.granularity.as_deref() {
        None => Granularity::Day,
        Some(g) => Granularity::parse(g).unwrap_or_else(|| {
            problems.push(FieldProblem::new(
                "granularity",
                "must be hour, day or total",
            ));
            Granularity::Day
        }),
    };
    let breakdown = Breakdown::parse(q.breakdown.as_deref().unwrap_or("")).unwrap_or_else(|d| {
        problems.push(FieldProblem::new(
            "breakdown",
            format!("unknown dimension {d:?}: channel, event_type or both"),
        ));
        Breakdown::default()
    });
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
    Ok((
        CampaignReport {
            campaign: campaign.id,
            from: range.from,
            to: range.to,
            grain: range.grain(granularity),
            tz: tz.name().to_owned(),
            granularity,
            breakdown,
        },
        range,
        q.format,
    ))
}

/// A JSON answer with an ETag of its bytes (304 when `If-None-Match`
/// holds it) and a cache lifetime that suits the range.
fn cached_json(
    headers: &HeaderMap,
    value: &impl Serialize,
    live: bool,
) -> Result<Response, ApiError> {
    let body = serde_json::to_vec(value).map_err(|e| ApiError::Internal(e.to_string()))?;
    let tag = format!("\"r-{}\"", hex16(&Sha256::digest(&body)));
    let cache = if live {
        "private, max-age=1"
    } else {
        "private, max-age=60"
    };
    if not_modified(headers, &tag) {
        return Ok((
            StatusCode::NOT_MODIFIED,
            [
                (header::ETAG, tag),
                (header::CACHE_CONTROL, cache.to_owned()),
            ],
        )
            .into_response());
    }
    Ok((
        StatusCode::OK,
        [
            (header::ETAG, tag),
            (header::CACHE_CONTROL, cache.to_owned()),
            (header::CONTENT_TYPE, "application/json".to_owned()),
        ],
        body,
    )
        .into_response())
}

fn hex16(bytes: &[u8]) -> String {
    bytes.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// `GET /campaigns/{id}/reports`.
#[utoipa::path(get, path = "/api/v1/campaigns/{id}/reports", tag = "reports", security(("bearer" = [])),
    params(("id" = String, Path, description = "the campaign"),
        ("start_date" = String, Query, description = "first local day, YYYY-MM-DD"),
        ("end_date" = String, Query, description = "last local day (inclusive), YYYY-MM-DD; at most 400 days (62 hourly)"),
        ("granularity" = Option<String>, Query, description = "hour, day (default) or total"),
        ("breakdown" = Option<String>, Query, description = "channel, event_type, or channel,event_type"),
        ("tz" = Option<String>, Query, description = "IANA time zone of the periods; the campaign's by default")),
    responses((status = 200, description = "the report", body = ReportOut),
        (status = 304, description = "unchanged since the ETag in If-None-Match"),
        r::BadRequest, r::Unauthorized, r::NotFound, r::Unprocessable, r::Unavailable))]
pub async fn campaign_report(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (q, range, _) = campaign_query(&state, &caller, &id, raw.as_deref()).await?;
    let total_q = CampaignReport {
        granularity: Granularity::Total,
        breakdown: Breakdown::default(),
        grain: range.grain(Granularity::Total),
        ..q.clone()
    };
    let (rows, total) = tokio::try_join!(
        state.db.campaign_report(caller.tenant, &q),
        state.db.campaign_report(caller.tenant, &total_q)
    )?;
    let totals = total.first().map_or_else(
        || RowOut {
            period: None,
            channel: None,
            event_type: None,
            metrics: Metrics::from(&Counts::default()),
            unique_users: 0,
        },
        |t| row_out(t, range.tz),
    );
    let out = ReportOut {
        campaign_id: q.campaign.to_string(),
        start_date: range.start.to_string(),
        end_date: range.end.to_string(),
        timezone: range.tz.name().to_owned(),
        granularity: q.granularity.as_str().to_owned(),
        rows: rows.iter().map(|r| row_out(r, range.tz)).collect(),
        totals,
    };
    cached_json(&headers, &out, range.is_live())
}

const CSV_HEADER: &str = "period,channel,event_type,impressions,clicks,conversions,spend_micros,revenue_micros,ctr,cpc_micros,cpm_micros,cpa_micros,roas,unique_users,saturated\n";

fn num(v: Option<f64>) -> String {
    v.map(|x| format!("{x}")).unwrap_or_default()
}

/// A CSV field, quoted when it holds a separator, a quote or a newline;
/// one starting with `=`, `+`, `-` or `@` is prefixed with `'` so
/// spreadsheets do not run it as a formula.
fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

fn metrics_csv(m: &Metrics) -> String {
    format!(
        "{},{},{},{},{},{},{},{},{},{}",
        m.impressions,
        m.clicks,
        m.conversions,
        m.spend_micros,
        m.revenue_micros,
        num(m.ctr),
        num(m.cpc_micros),
        num(m.cpm_micros),
        num(m.cpa_micros),
        num(m.roas)
    )
}

fn attachment(name: &str) -> HeaderValue {
    HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
        .unwrap_or(HeaderValue::from_static("attachment"))
}

/// `GET /campaigns/{id}/reports/export?format=csv`: the report's rows as
/// CSV, streamed from Postgres as they come (constant memory).
#[utoipa::path(get, path = "/api/v1/campaigns/{id}/reports/export", tag = "reports", security(("bearer" = [])),
    params(("id" = String, Path, description = "the campaign"),
        ("format" = String, Query, description = "csv"),
        ("start_date" = String, Query, description = "first local day, YYYY-MM-DD"),
        ("end_date" = String, Query, description = "last local day (inclusive)"),
        ("granularity" = Option<String>, Query, description = "hour, day (default) or total"),
        ("breakdown" = Option<String>, Query, description = "channel, event_type, or both"),
        ("tz" = Option<String>, Query, description = "IANA time zone; the campaign's by default")),
    responses((status = 200, description = "CSV, one row per report row", content_type = "text/csv"),
        r::BadRequest, r::Unauthorized, r::NotFound, r::Unprocessable))]
pub async fn campaign_export(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let (q, range, format) = campaign_query(&state, &caller, &id, raw.as_deref()).await?;
    if format.is_none() {
        return Err(ApiError::Invalid(vec![FieldProblem::new(
            "format",
            "required: csv",
        )]));
    }
    let name = format!("campaign-{}-{}-{}.csv", q.campaign, range.start, range.end);
    let (db, tenant, tz) = (state.db.clone(), caller.tenant, range.tz);
    Ok(csv_response(&name, CSV_HEADER, move |sink| async move {
        db.campaign_report_each::<ExportStop, _, _>(tenant, &q, |r| {
            let o = row_out(&r, tz);
            sink.line(format!(
                "{},{},{},{},{},{}\n",
                o.period.as_deref().map(csv_field).unwrap_or_default(),
                o.channel.as_deref().map(csv_field).unwrap_or_default(),
                o.event_type.as_deref().map(csv_field).unwrap_or_default(),
                metrics_csv(&o.metrics),
                o.unique_users,
                o.metrics.saturated
            ))
        })
        .await
    }))
}

const TOP_CSV_HEADER: &str = "campaign_id,name,status,brand_id,impressions,clicks,conversions,spend_micros,revenue_micros,ctr,cpc_micros,cpm_micros,cpa_micros,roas,unique_users,saturated\n";

/// Where an export's task writes its lines: 60 KB chunks into a channel of
/// 8, so a slow client holds the query back (constant memory).
#[derive(Clone)]
struct CsvSink {
    tx: tokio::sync::mpsc::Sender<Bytes>,
    chunk: std::sync::Arc<tokio::sync::Mutex<String>>,
}

impl CsvSink {
    /// Adds a line; hands a full chunk on, waiting while the client reads.
    fn line(
        &self,
        line: String,
    ) -> impl std::future::Future<Output = Result<(), ExportStop>> + use<> {
        let sink = self.clone();
        async move {
            let mut chunk = sink.chunk.lock().await;
            chunk.push_str(&line);
            if chunk.len() >= 60 * 1024 {
                sink.tx
                    .send(Bytes::from(std::mem::take(&mut *chunk)))
                    .await
                    .map_err(|_| ExportStop::ClientGone)?;
            }
            Ok(())
        }
    }
}

/// A streamed CSV download named `name`: `columns`, then what `fill`
/// writes to the sink, produced by a task of its own. An error after the
/// response has started can only end it early (a truncated download).
fn csv_response<F, Fut>(name: &str, columns: &'static str, fill: F) -> Response
where
    F: FnOnce(CsvSink) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<(), ExportStop>> + Send,
{
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(8);
    let sink = CsvSink {
        tx,
        chunk: std::sync::Arc::new(tokio::sync::Mutex::new(String::with_capacity(64 * 1024))),
    };
    tokio::spawn(async move {
        if sink
            .tx
            .send(Bytes::from_static(columns.as_bytes()))
            .await
            .is_err()
        {
            return;
        }
        let filled = fill(sink.clone()).await;
        let rest = std::mem::take(&mut *sink.chunk.lock().await);
        match filled {
            Ok(()) if !rest.is_empty() => {
                let _ = sink.tx.send(Bytes::from(rest)).await;
            }
            Ok(()) | Err(ExportStop::ClientGone) => {}
            Err(ExportStop::Db(e)) => tracing::warn!(error = %e, "export failed mid-stream"),
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|b| (Ok::<_, Infallible>(b), rx))
    });
    (
        StatusCode::OK,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            ),
            (header::CONTENT_DISPOSITION, attachment(name)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, no-store"),
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response()
}

/// Why an export stopped early.
enum ExportStop {
    ClientGone,
    Db(adpulse_domain::store::StoreError),
}

impl From<adpulse_domain::store::StoreError> for ExportStop {
    fn from(e: adpulse_domain::store::StoreError) -> Self {
        Self::Db(e)
    }
}

/// Most campaigns in a ranking: as JSON, and as a streamed export.
const MAX_TOP: i64 = 1_000;
const MAX_TOP_EXPORT: i64 = 1_000_000;

async fn top_query(
    raw: Option<&str>,
    max: i64,
) -> Result<(TopCampaigns, Range, String, Option<String>), ApiError> {
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
    Ok((
        TopCampaigns {
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
        q.format,
    ))
}

fn ranked_out(r: &RankedCampaign) -> RankedOut {
    RankedOut {
        campaign_id: r.id.to_string(),
        name: r.name.clone(),
        status: r.status.clone(),
        brand_id: r.brand_id.clone(),
        metrics: Metrics::from(&r.counts),
        unique_users: r.unique_users,
    }
}

/// `GET /reports/campaigns`: the tenant's campaigns ranked over a range.
#[utoipa::path(get, path = "/api/v1/reports/campaigns", tag = "reports", security(("bearer" = [])),
    params(("start_date" = String, Query, description = "first day, YYYY-MM-DD"),
        ("end_date" = String, Query, description = "last day (inclusive)"),
        ("status" = Option<String>, Query, description = "only campaigns in this status"),
        ("brand_id" = Option<String>, Query, description = "only campaigns of this brand"),
        ("sort" = Option<String>, Query, description = "spend, revenue, impressions, clicks or conversions; - for descending (default -spend)"),
        ("limit" = Option<i64>, Query, description = "1 to 1000, default 100"),
        ("tz" = Option<String>, Query, description = "IANA zone of the days; UTC by default")),
    responses((status = 200, description = "the ranking", body = TopOut),
        (status = 304, description = "unchanged since the ETag in If-None-Match"),
        r::BadRequest, r::Unauthorized, r::Unprocessable, r::Unavailable))]
pub async fn top_campaigns(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (q, range, sort, _) = top_query(raw.as_deref(), MAX_TOP).await?;
    let rows = state.db.top_campaigns(caller.tenant, &q).await?;
    let out = TopOut {
        start_date: range.start.to_string(),
        end_date: range.end.to_string(),
        timezone: range.tz.name().to_owned(),
        sort,
        rows: rows.iter().map(ranked_out).collect(),
    };
    cached_json(&headers, &out, range.is_live())
}

/// `GET /reports/campaigns/export?format=csv`.
#[utoipa::path(get, path = "/api/v1/reports/campaigns/export", tag = "reports", security(("bearer" = [])),
    params(("format" = String, Query, description = "csv"),
        ("start_date" = String, Query, description = "first day, YYYY-MM-DD"),
        ("end_date" = String, Query, description = "last day (inclusive)"),
        ("status" = Option<String>, Query, description = "only campaigns in this status"),
        ("brand_id" = Option<String>, Query, description = "only campaigns of this brand"),
        ("sort" = Option<String>, Query, description = "as for the report"),
        ("limit" = Option<i64>, Query, description = "1 to 1,000,000, default 100"),
        ("tz" = Option<String>, Query, description = "IANA zone of the days; UTC by default")),
    responses((status = 200, description = "CSV, one row per campaign, streamed", content_type = "text/csv"),
        r::BadRequest, r::Unauthorized, r::Unprocessable))]
pub async fn top_export(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let (q, range, _, format) = top_query(raw.as_deref(), MAX_TOP_EXPORT).await?;
    if format.is_none() {
        return Err(ApiError::Invalid(vec![FieldProblem::new(
            "format",
            "required: csv",
        )]));
    }
    let name = format!("top-campaigns-{}-{}.csv", range.start, range.end);
    let (db, tenant) = (state.db.clone(), caller.tenant);
    Ok(csv_response(
        &name,
        TOP_CSV_HEADER,
        move |sink| async move {
            db.top_campaigns_each::<ExportStop, _, _>(tenant, &q, |r| {
                let r = ranked_out(&r);
                sink.line(format!(
                    "{},{},{},{},{},{},{}\n",
                    r.campaign_id,
                    csv_field(&r.name),
                    r.status,
                    r.brand_id.as_deref().map(csv_field).unwrap_or_default(),
                    metrics_csv(&r.metrics),
                    r.unique_users,
                    r.metrics.saturated
                ))
            })
            .await
        },
    ))
}

async fn live(state: &AppState, campaign: CampaignId) -> Result<RealtimeOut, ApiError> {
    let live = state.live.as_ref().ok_or(ApiError::Unavailable)?;
    let view = adpulse_domain::ports::LiveCounters::read_live(live, campaign, Utc::now())
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "live counters unavailable");
            ApiError::Unavailable
        })?;
    let (counts, version, updated_at) = view.totals.map_or((Counts::default(), 0, None), |t| {
        (t.counts, t.version, t.updated_at)
    });
    Ok(RealtimeOut {
        campaign_id: campaign.to_string(),
        totals: Metrics::from(&counts),
        version,
        updated_at: updated_at.map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true)),
        series: view
            .series
            .iter()
            .map(|p| LivePointOut {
                t: p.start.to_rfc3339_opts(SecondsFormat::Secs, true),
                impressions: p.counts.impressions,
                clicks: p.counts.clicks,
                conversions: p.counts.conversions,
                spend_micros: p.counts.cost_micros,
                revenue_micros: p.counts.revenue_micros,
            })
            .collect(),
    })
}

async fn owned(state: &AppState, caller: &Caller, raw_id: &str) -> Result<CampaignId, ApiError> {
    Ok(state
        .db
        .campaign(caller.tenant, campaign_id(raw_id)?)
        .await?
        .ok_or(ApiError::NotFound("campaign"))?
        .id)
}

/// `GET /campaigns/{id}/realtime`.
#[utoipa::path(get, path = "/api/v1/campaigns/{id}/realtime", tag = "reports", security(("bearer" = [])),
    params(("id" = String, Path, description = "the campaign")),
    responses((status = 200, description = "live totals and the last hour's 5-second series", body = RealtimeOut),
        r::Unauthorized, r::NotFound, r::Unavailable))]
pub async fn realtime(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let campaign = owned(&state, &caller, &id).await?;
    let out = live(&state, campaign).await?;
    Ok((
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        Json(out),
    )
        .into_response())
}

/// `GET /campaigns/{id}/realtime/stream`: `update` events with the live
/// view whenever it changes (looked at twice a second), and a comment every
/// 15 seconds to keep the connection open.
#[utoipa::path(get, path = "/api/v1/campaigns/{id}/realtime/stream", tag = "reports", security(("bearer" = [])),
    params(("id" = String, Path, description = "the campaign")),
    responses((status = 200, description = "Server-Sent Events; each `update` carries a realtime view", content_type = "text/event-stream"),
        r::Unauthorized, r::NotFound, r::Unavailable))]
pub async fn realtime_stream(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let campaign = owned(&state, &caller, &id).await?;
    if state.live.is_none() {
        return Err(ApiError::Unavailable);
    }
    let stream = futures_util::stream::unfold(
        (state, None::<(i64, usize)>, false),
        move |(state, last, wait_first)| async move {
            let mut wait = wait_first;
            loop {
                if wait {
                    tokio::time::sleep(STREAM_POLL).await;
                }
                wait = true;
                let Ok(view) = live(&state, campaign).await else {
                    // Redis is away: say so, and keep trying.
                    let event = Event::default()
                        .event("unavailable")
                        .data("live counters unavailable");
                    return Some((Ok::<_, Infallible>(event), (state, last, true)));
                };
                let mark = (view.version, view.series.len());
                if last == Some(mark) {
                    continue;
                }
                let data = serde_json::to_string(&view).unwrap_or_default();
                let event = Event::default()
                    .event("update")
                    .id(view.version.to_string())
                    .data(data);
                return Some((Ok(event), (state, Some(mark), true)));
            }
        },
    );
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response())
}

/// One raw event.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EventOut {
    /// The sender's id.
    pub event_id: String,
    /// Impression, click or conversion.
    #[serde(rename = "type")]
    pub event_type: String,
    /// The channel.
    pub channel: String,
    /// The creative.
    pub ad_id: String,
    /// When it happened.
    pub occurred_at: String,
    /// When adpulse received it.
    pub ingested_at: Option<String>,
    /// The user's ids as sent (absent ones omitted).
    pub user: serde_json::Map<String, serde_json::Value>,
    /// Cost (micros).
    pub cost_micros: i64,
    /// Revenue (micros).
    pub revenue_micros: i64,
    /// Free-form dimensions.
    pub attributes: std::collections::BTreeMap<String, String>,
}

/// A page of raw events.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EventsOut {
    /// The UTC day listed.
    pub date: String,
    /// Newest first.
    pub events: Vec<EventOut>,
    /// Pass as `cursor` for the next page; null on the last.
    pub next_cursor: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EventsQuery {
    date: Option<String>,
    limit: Option<i32>,
    cursor: Option<String>,
}

fn encode_cursor(c: &adpulse_domain::archive::EventCursor) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!(
        "{}.{}",
        c.occurred_at.timestamp_millis(),
        c.event_id
    ))
}

fn decode_cursor(raw: &str) -> Option<adpulse_domain::archive::EventCursor> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(raw)
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (ms, id) = text.split_once('.')?;
    Some(adpulse_domain::archive::EventCursor {
        occurred_at: DateTime::from_timestamp_millis(ms.parse().ok()?)?,
        event_id: id.parse().ok()?,
    })
}

/// `GET /campaigns/{id}/events`: raw events of one UTC day from the
/// archive, newest first, a page at a time.
#[utoipa::path(get, path = "/api/v1/campaigns/{id}/events", tag = "reports", security(("bearer" = [])),
    params(("id" = String, Path, description = "the campaign"),
        ("date" = Option<String>, Query, description = "the UTC day, YYYY-MM-DD; today by default"),
        ("limit" = Option<i32>, Query, description = "1 to 1000, default 100"),
        ("cursor" = Option<String>, Query, description = "next_cursor of the previous page")),
    responses((status = 200, description = "a page of events", body = EventsOut),
        r::BadRequest, r::Unauthorized, r::NotFound, r::Unprocessable, r::Unavailable))]
pub async fn events(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let q: EventsQuery = query(raw.as_deref())?;
    let campaign = owned(&state, &caller, &id).await?;
    let mut problems = Vec::new();
    let date = match q.date.as_deref() {
        None => Utc::now().date_naive(),
        Some(s) => day(s).unwrap_or_else(|| {
            problems.push(FieldProblem::new("date", "must be a date, YYYY-MM-DD"));
            NaiveDate::default()
        }),
    };
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        problems.push(FieldProblem::new("limit", "must be 1 to 1000"));
    }
    let after = match q.cursor.as_deref() {
        None => None,
        Some(c) => {
            let cursor = decode_cursor(c);
            if cursor.is_none() {
                problems.push(FieldProblem::new("cursor", "not a cursor this API gave"));
            }
            cursor
        }
    };
    if !problems.is_empty() {
        return Err(ApiError::Invalid(problems));
    }
    let archive = state.archive.as_ref().ok_or(ApiError::Unavailable)?;
    let page = archive
        .campaign_events(campaign, date, after, limit)
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "archive read failed");
            ApiError::Unavailable
        })?;
    let next_cursor = (page.len() == usize::try_from(limit).unwrap_or(0))
        .then(|| page.last())
        .flatten()
        .map(|e| {
            encode_cursor(&adpulse_domain::archive::EventCursor {
                occurred_at: e.occurred_at,
                event_id: e.event_id,
            })
        });
    let tenant = *caller.tenant.as_uuid();
    let events = page
        .into_iter()
        // The campaign is the caller's (checked above); rows name their
        // tenant too, and only those are shown.
        .filter(|e| e.tenant_id == tenant)
        .map(|e| {
            let mut user = serde_json::Map::new();
            for (k, v) in [
                ("device_id", e.device_id),
                ("cookie_id", e.cookie_id),
                ("login_id", e.login_id),
                ("email_sha256", e.email_sha256),
            ] {
                if let Some(v) = v {
                    user.insert(k.into(), v.into());
                }
            }
            EventOut {
                event_id: e.event_id.to_string(),
                event_type: e.event_type,
                channel: e.channel,
                ad_id: e.ad_id,
                occurred_at: e.occurred_at.to_rfc3339_opts(SecondsFormat::Millis, true),
                ingested_at: e
                    .ingested_at
                    .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true)),
                user,
                cost_micros: e.cost_micros,
                revenue_micros: e.revenue_micros,
                attributes: e.attributes,
            }
        })
        .collect();
    Ok((
        [(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-store"),
        )],
        Json(EventsOut {
            date: date.to_string(),
            events,
            next_cursor,
        }),
    )
        .into_response())
}
