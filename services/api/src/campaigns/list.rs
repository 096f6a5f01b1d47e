//! `GET /campaigns`: a page of the tenant's campaigns, filtered and sorted
//! (the query and its checks are in `filters`), with its position
//! (`page`/`total_pages`, or `next_cursor`) and links to the pages around
//! it that repeat the query, so a client can follow them without
//! rebuilding it.

use adpulse_domain::store::Page;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::filters::{self, ListQuery, Selection, encode_cursor};
use super::view::{CampaignOut, view};
use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::http::query;
use crate::openapi::responses as r;

/// One page of campaigns.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CampaignPage {
    data: Vec<CampaignOut>,
    pagination: Pagination,
    #[serde(rename = "_links")]
    links: PageLinks,
}

/// Where a page is.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Pagination {
    /// With page/limit pagination.
    #[serde(skip_serializing_if = "Option::is_none")]
    page: Option<i64>,
    limit: i64,
    /// Campaigns matching in all.
    total: i64,
    /// With page/limit pagination.
    #[serde(skip_serializing_if = "Option::is_none")]
    total_pages: Option<i64>,
    /// For the next page by cursor; null on the last page.
    next_cursor: Option<String>,
}

/// Links between pages.
#[derive(Serialize, utoipa::ToSchema)]
pub struct PageLinks {
    #[serde(rename = "self")]
    this: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prev: Option<String>,
}

/// `GET /campaigns`: filters `status` (comma-separated), `brand_id`, `q`
/// (name contains), `start_date`/`end_date` (scheduled within); `sort`
/// from created_at, updated_at, name, budget (`-` for descending; default
/// `-created_at`); `page` and `limit` (≤ 100), or `cursor` from a previous
/// page's `next_cursor`.
#[utoipa::path(get, path = "/api/v1/campaigns", tag = "campaigns", security(("bearer" = [])), params(ListQuery),
    responses((status = 200, description = "a page", body = CampaignPage),
        r::BadRequest, r::Unauthorized, r::Unprocessable, r::TooManyRequests, r::Unavailable))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let q: ListQuery = query(raw.as_deref())?;
    let Selection {
        filter,
        sort,
        sort_raw,
        descending,
        page,
        limit,
    } = filters::check(&q)?;
    let (rows, total) = state
        .db
        .list_campaigns(caller.tenant, &filter, sort, descending, &page, limit)
        .await?;
    let at = At {
        q: &q,
        sort_raw: &sort_raw,
        page: &page,
        limit,
    };
    // A full page may have more after it; a short one is the last.
    let next_cursor = (rows.len() as i64 == limit)
        .then(|| rows.last())
        .flatten()
        .map(|last| encode_cursor(&sort_raw, sort.value_of(last), last.id));
    let (pagination, links) = at.position(total, next_cursor);
    let data = rows.iter().map(view).collect();
    Ok(axum::Json(CampaignPage {
        data,
        pagination,
        links,
    })
    .into_response())
}

/// A page's place in the listing: the query that made it and how it was
/// paged.
struct At<'a> {
    q: &'a ListQuery,
    sort_raw: &'a str,
    page: &'a Page,
    limit: i64,
}

impl At<'_> {
    /// Where the page is among `total` campaigns, and the links around it.
    fn position(&self, total: i64, next_cursor: Option<String>) -> (Pagination, PageLinks) {
        let limit = self.limit;
        match self.page {
            Page::Offset(skipped) => {
                let page_no = skipped / limit + 1;
                let pages = (total + limit - 1) / limit;
                let page = |n: i64| self.link(&[("page", n.to_string())]);
                (
                    Pagination {
                        page: Some(page_no),
                        limit,
                        total,
                        total_pages: Some(pages),
                        next_cursor,
                    },
                    PageLinks {
                        this: page(page_no),
                        next: (page_no < pages).then(|| page(page_no + 1)),
                        prev: (page_no > 1).then(|| page(page_no - 1)),
                    },
                )
            }
            Page::After { .. } => (
                Pagination {
                    page: None,
                    limit,
                    total,
                    total_pages: None,
                    next_cursor: next_cursor.clone(),
                },
                PageLinks {
                    this: self.link(&[("cursor", self.q.cursor.clone().unwrap_or_default())]),
                    next: next_cursor.map(|c| self.link(&[("cursor", c)])),
                    prev: None,
                },
            ),
        }
    }

    /// The listing with the query's filters, sort and limit, and `extra`.
    fn link(&self, extra: &[(&str, String)]) -> String {
        let q = self.q;
        let mut pairs: Vec<(&str, String)> = Vec::new();
        for (k, v) in [
            ("status", q.status.clone()),
            ("brand_id", q.brand_id.clone()),
            ("q", q.q.clone()),
            ("start_date", q.start_date.map(|d| d.to_string())),
            ("end_date", q.end_date.map(|d| d.to_string())),
        ] {
            if let Some(v) = v {
                pairs.push((k, v));
            }
        }
        pairs.push(("sort", self.sort_raw.to_owned()));
        pairs.push(("limit", self.limit.to_string()));
        pairs.extend(extra.iter().cloned());
        format!(
            "/api/v1/campaigns?{}",
            serde_urlencoded::to_string(&pairs).unwrap_or_default()
        )
    }
}
