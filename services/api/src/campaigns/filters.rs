//! The query of `GET /campaigns` and its checks: filters, the sort
//! allow-list, and pagination by page or by cursor. Every problem is
//! reported at once, and nothing reaches the store that it cannot read: a
//! page whose offset would overflow, or a cursor value (cursors are not
//! signed and can be forged) that is not of its sort's type and range.

use adpulse_domain::store::{CampaignFilter, CampaignSort, Page};
use adpulse_domain::{CampaignId, CampaignStatus};
use chrono::{DateTime, Datelike as _, NaiveDate, Utc};
use serde::Deserialize;
use uuid::Uuid;

use crate::cursor::{self, Listing};
use crate::error::{ApiError, FieldProblem};

/// The query of `GET /campaigns`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Page number, from 1 (not with `cursor`).
    pub(super) page: Option<i64>,
    /// Items per page, 1 to 100 (default 20).
    pub(super) limit: Option<i64>,
    /// `next_cursor` of the previous page, for cursor pagination.
    pub(super) cursor: Option<String>,
    /// Statuses, comma-separated.
    pub(super) status: Option<String>,
    /// Brand.
    pub(super) brand_id: Option<String>,
    /// Name contains (case-insensitive).
    pub(super) q: Option<String>,
    /// Scheduled to run on or after this day.
    pub(super) start_date: Option<NaiveDate>,
    /// Scheduled to run on or before this day.
    pub(super) end_date: Option<NaiveDate>,
    /// created_at, updated_at, name or budget; `-` for descending (default -created_at).
    pub(super) sort: Option<String>,
}

/// A checked listing query, as the store takes it.
pub(super) struct Selection {
    pub(super) filter: CampaignFilter,
    pub(super) sort: CampaignSort,
    /// The sort as the client wrote it (`-created_at`): cursors and links
    /// carry it.
    pub(super) sort_raw: String,
    pub(super) descending: bool,
    pub(super) page: Page,
    pub(super) limit: i64,
}

/// Checks every parameter of `q`, all problems at once.
pub(super) fn check(q: &ListQuery) -> Result<Selection, ApiError> {
    let mut problems = Vec::new();
    let limit = q.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        problems.push(FieldProblem::new("limit", "must be 1 to 100"));
    }
    let sort_raw = q.sort.clone().unwrap_or_else(|| "-created_at".into());
    let (descending, key) = match sort_raw.strip_prefix('-') {
        Some(k) => (true, k),
        None => (false, sort_raw.as_str()),
    };
    let sort = CampaignSort::ALL.into_iter().find(|s| s.as_str() == key);
    if sort.is_none() {
        problems.push(FieldProblem::new(
            "sort",
            "must be one of created_at, updated_at, name, budget, each optionally prefixed with -",
        ));
    }
    let statuses = statuses(q.status.as_deref(), &mut problems);
    check_dates(q.start_date, q.end_date, &mut problems);
    let page = page(q, &sort_raw, key, limit, &mut problems);
    let Some(sort) = sort else {
        return Err(ApiError::Invalid(problems));
    };
    if !problems.is_empty() {
        return Err(ApiError::Invalid(problems));
    }
    Ok(Selection {
        filter: filter(q, statuses),
        sort,
        descending,
        sort_raw,
        page,
        limit,
    })
}

fn statuses(raw: Option<&str>, problems: &mut Vec<FieldProblem>) -> Vec<CampaignStatus> {
    let mut statuses = Vec::new();
    for s in raw.iter().flat_map(|s| s.split(',')) {
        match s.trim().parse::<CampaignStatus>() {
            Ok(v) => statuses.push(v),
            Err(()) => problems.push(FieldProblem::new("status", format!("unknown status {s:?}"))),
        }
    }
    statuses
}

fn check_dates(start: Option<NaiveDate>, end: Option<NaiveDate>, problems: &mut Vec<FieldProblem>) {
    for (field, d) in [("start_date", start), ("end_date", end)] {
        if d.is_some_and(|d| !(1970..=9999).contains(&d.year())) {
            problems.push(FieldProblem::new(field, "must be between 1970 and 9999"));
        }
    }
    if let (Some(a), Some(b)) = (start, end)
        && b < a
    {
        problems.push(FieldProblem::new(
            "end_date",
            "must not be before start_date",
        ));
    }
}

/// Which page: after a cursor, or by number (the first by default). A
/// cursor keeps the sort it was made for: its value means nothing in
/// another order.
fn page(
    q: &ListQuery,
    sort_raw: &str,
    key: &str,
    limit: i64,
    problems: &mut Vec<FieldProblem>,
) -> Page {
    match (&q.cursor, q.page) {
        (Some(_), Some(_)) => {
            problems.push(FieldProblem::new(
                "cursor",
                "use either cursor or page, not both",
            ));
            Page::Offset(0)
        }
        (Some(raw), None) => decode_cursor(raw, sort_raw, key).unwrap_or_else(|| {
            problems.push(cursor::problem());
            Page::Offset(0)
        }),
        (None, p) => {
            let p = p.unwrap_or(1);
            let per_page = limit.clamp(1, 100);
            // The rows skipped must fit in an i64 (the stores' OFFSET).
            let last_page = (i64::MAX / per_page).saturating_add(1);
            if !(1..=last_page).contains(&p) {
                problems.push(FieldProblem::new(
                    "page",
                    format!("must be 1 to {last_page} at {per_page} per page"),
                ));
            }
            Page::Offset((p.clamp(1, last_page) - 1) * per_page)
        }
    }
}

fn filter(q: &ListQuery, statuses: Vec<CampaignStatus>) -> CampaignFilter {
    CampaignFilter {
        statuses,
        brand_id: q.brand_id.clone(),
        name: q.q.clone().filter(|s| !s.is_empty()),
        from: q
            .start_date
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|d| d.and_utc()),
        to: q
            .end_date
            .and_then(|d| d.succ_opt())
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|d| d.and_utc()),
    }
}

/// The cursor after a row whose sort value (`sort_raw`'s key) is `value`.
pub(super) fn encode_cursor(sort_raw: &str, value: String, id: CampaignId) -> String {
    cursor::encode(Listing::Campaigns, (sort_raw, value, *id.as_uuid()))
}

/// The page after a cursor of this sort, if `raw` is one this listing
/// could have given.
fn decode_cursor(raw: &str, sort_raw: &str, key: &str) -> Option<Page> {
    let (sort, value, id): (String, String, Uuid) = cursor::decode(Listing::Campaigns, raw)?;
    if sort != sort_raw {
        return None;
    }
    Some(Page::After {
        value: cursor_value(key, &value)?,
        id: CampaignId::from_uuid(id),
    })
}

/// A cursor's sort value as the stores read it back, if it is one this
/// listing could have given: an instant (in UTC, between 1970 and 9999:
/// Postgres refuses the year 0 and offsets past 15:59 that RFC 3339
/// allows), a budget, or a name.
fn cursor_value(key: &str, value: &str) -> Option<String> {
    match key {
        "created_at" | "updated_at" => DateTime::parse_from_rfc3339(value)
            .ok()
            .map(|t| t.with_timezone(&Utc))
            .filter(|t| (1970..=9999).contains(&t.year()))
            .map(|t| t.to_rfc3339()),
        "budget" => value.parse::<i64>().ok().map(|n| n.to_string()),
        _ => Some(value.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_values_are_ones_both_stores_read() {
        let t = |v: &str| cursor_value("created_at", v);
        assert_eq!(
            t("2026-11-29T10:00:00.5+02:00").as_deref(),
            Some("2026-11-29T08:00:00.500+00:00")
        );
        // RFC 3339 allows these; Postgres refuses them.
        assert_eq!(t("0000-01-01T00:00:00Z"), None);
        assert_eq!(
            t("2026-01-01T00:00:00-23:59"),
            Some("2026-01-01T23:59:00+00:00".into())
        );
        assert_eq!(t("9999-12-31T23:59:59-23:59"), None, "year 10000 in UTC");
        assert_eq!(cursor_value("budget", "+0042").as_deref(), Some("42"));
        assert_eq!(cursor_value("budget", "9223372036854775808"), None);
    }

    #[test]
    fn a_cursor_continues_only_its_own_sort() {
        let id = CampaignId::from_uuid(Uuid::now_v7());
        let c = encode_cursor("-budget", "42".into(), id);
        assert!(matches!(
            decode_cursor(&c, "-budget", "budget"),
            Some(Page::After { value, .. }) if value == "42"
        ));
        assert!(decode_cursor(&c, "budget", "budget").is_none());
        assert!(decode_cursor(&c, "-name", "name").is_none());
    }
}
