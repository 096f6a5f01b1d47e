//! `…/export?format=csv`: a campaign report or a ranking as a CSV file,
//! streamed as the store yields rows.
//!
//! A task reads the rows (a Postgres cursor) and hands 60 KB chunks
//! through a channel of 8, so a slow client holds the query back instead
//! of the API buffering the file: memory stays constant whatever the
//! export's size (`tests/export_memory.rs`). An error after the first
//! chunk can only end the download early; the status line has gone.

use std::future::Future;
use std::ops::ControlFlow;
use std::pin::Pin;

use adpulse_domain::report::ReportRow;
use adpulse_domain::store::RankedCampaign;

use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::query::{CampaignAsk, TopAsk, campaign_query, require_csv, top_query};
use super::render::{Metrics, RowOut};
use super::top::RankedOut;
use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::openapi::responses as r;

/// Most campaigns in a streamed ranking.
const MAX_TOP_EXPORT: i64 = 1_000_000;

const CSV_HEADER: &str = "period,channel,event_type,impressions,clicks,conversions,spend_micros,revenue_micros,ctr,cpc_micros,cpm_micros,cpa_micros,roas,unique_users,saturated\n";

const TOP_CSV_HEADER: &str = "campaign_id,name,status,brand_id,impressions,clicks,conversions,spend_micros,revenue_micros,ctr,cpc_micros,cpm_micros,cpa_micros,roas,unique_users,saturated\n";

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
    let CampaignAsk {
        report: q,
        range,
        format,
    } = campaign_query(&state, &caller, &id, raw.as_deref()).await?;
    require_csv(format.as_deref())?;
    let name = format!("campaign-{}-{}-{}.csv", q.campaign, range.start, range.end);
    let (db, tenant, tz) = (state.db.clone(), caller.tenant, range.tz);
    Ok(csv_response(&name, CSV_HEADER, move |sink| async move {
        let mut each = sink.rows(move |r: ReportRow| {
            let o = RowOut::of(&r, tz);
            format!(
                "{},{},{},{},{},{}\n",
                o.period.as_deref().map(csv_field).unwrap_or_default(),
                o.channel.as_deref().map(csv_field).unwrap_or_default(),
                o.event_type.as_deref().map(csv_field).unwrap_or_default(),
                metrics_csv(&o.metrics),
                o.unique_users,
                o.metrics.saturated
            )
        });
        Ok(db.campaign_report_each(tenant, &q, &mut each).await?)
    }))
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
    let TopAsk {
        top: q,
        range,
        format,
        ..
    } = top_query(raw.as_deref(), MAX_TOP_EXPORT)?;
    require_csv(format.as_deref())?;
    let name = format!("top-campaigns-{}-{}.csv", range.start, range.end);
    let (db, tenant) = (state.db.clone(), caller.tenant);
    Ok(csv_response(
        &name,
        TOP_CSV_HEADER,
        move |sink| async move {
            let mut each = sink.rows(|r: RankedCampaign| {
                let r = RankedOut::of(&r);
                format!(
                    "{},{},{},{},{},{},{}\n",
                    r.campaign_id,
                    csv_field(&r.name),
                    r.status,
                    r.brand_id.as_deref().map(csv_field).unwrap_or_default(),
                    metrics_csv(&r.metrics),
                    r.unique_users,
                    r.metrics.saturated
                )
            });
            Ok(db.top_campaigns_each(tenant, &q, &mut each).await?)
        },
    ))
}

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

/// Where an export's task writes its lines: 60 KB chunks into a channel of
/// 8, so a slow client holds the query back (constant memory).
#[derive(Clone)]
struct CsvSink {
    /// The body's chunks; an error ends the response as failed.
    tx: tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>,
    chunk: std::sync::Arc<tokio::sync::Mutex<String>>,
}

impl CsvSink {
    /// A store's row callback writing each row as the line `render` makes;
    /// it stops the read once the client is gone.
    fn rows<T>(
        &self,
        render: impl Fn(T) -> String + Send,
    ) -> impl FnMut(T) -> Pin<Box<dyn Future<Output = ControlFlow<()>> + Send>> + Send {
        let sink = self.clone();
        move |row| {
            let line = sink.line(render(row));
            Box::pin(async move {
                match line.await {
                    Ok(()) => ControlFlow::Continue(()),
                    Err(_) => ControlFlow::Break(()),
                }
            })
        }
    }

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
                    .send(Ok(Bytes::from(std::mem::take(&mut *chunk))))
                    .await
                    .map_err(|_| ExportStop::ClientGone)?;
            }
            Ok(())
        }
    }
}

/// A streamed CSV download named `name`: `columns`, then what `fill`
/// writes to the sink, produced by a task of its own. An error after the
/// response has started aborts it (the connection closes without the
/// body's end), so a client sees a failed download, never a short file
/// that looks complete.
fn csv_response<F, Fut>(name: &str, columns: &'static str, fill: F) -> Response
where
    F: FnOnce(CsvSink) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<(), ExportStop>> + Send,
{
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(8);
    let sink = CsvSink {
        tx,
        chunk: std::sync::Arc::new(tokio::sync::Mutex::new(String::with_capacity(64 * 1024))),
    };
    tokio::spawn(async move {
        if sink
            .tx
            .send(Ok(Bytes::from_static(columns.as_bytes())))
            .await
            .is_err()
        {
            return;
        }
        let filled = fill(sink.clone()).await;
        // The rest of the last chunk goes out only when the export
        // completed.
        let rest = std::mem::take(&mut *sink.chunk.lock().await);
        match filled {
            Ok(()) if !rest.is_empty() => {
                let _ = sink.tx.send(Ok(Bytes::from(rest))).await;
            }
            Ok(()) | Err(ExportStop::ClientGone) => {}
            Err(ExportStop::Db(e)) => {
                tracing::warn!(error = %e, "export failed mid-stream: aborting the download");
                let _ = sink
                    .tx
                    .send(Err(std::io::Error::other("the export failed mid-stream")))
                    .await;
            }
        }
    });
    let stream =
        futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|b| (b, rx)) });
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
