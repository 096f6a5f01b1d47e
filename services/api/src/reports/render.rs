//! What every report's rows are made of ([`Metrics`], [`RowOut`]) and how
//! a JSON report is answered: with an ETag of its bytes, so a dashboard
//! polling an unchanged report gets a 304 and no body, and a cache lifetime
//! that suits its range (one second while it reaches today, the live
//! freshness; a minute for past ranges, where late events can still land).

use adpulse_domain::aggregate::Counts;
use adpulse_domain::report::{Ratios, ReportRow, saturated};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::SecondsFormat;
use chrono_tz::Tz;
use serde::Serialize;
use sha2::{Digest as _, Sha256};

use crate::error::ApiError;
use crate::http::not_modified;

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

impl RowOut {
    /// A stored row, its period shown in `tz`.
    pub(super) fn of(r: &ReportRow, tz: Tz) -> Self {
        Self {
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
}

/// A JSON answer with an ETag of its bytes (304 when `If-None-Match`
/// holds it) and a cache lifetime that suits the range.
pub(super) fn cached_json(
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

/// The first 8 bytes in hex: 64 bits tell a report's versions apart.
fn hex16(bytes: &[u8]) -> String {
    bytes.iter().take(8).map(|b| format!("{b:02x}")).collect()
}
