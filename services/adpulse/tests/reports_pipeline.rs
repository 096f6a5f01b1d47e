//! Reports against a reference, through the whole pipeline: events posted
//! to the gateway (HTTP → Kafka), counted by the worker (Kafka → Postgres,
//! Cassandra, Redis), read back through the API's reports (HTTP) by an
//! analyst, for several ranges, time zones (one with a half-hour and one
//! with a 45-minute offset), granularities and breakdowns. Unique users
//! over the whole month are within 2% of the exact distinct count, on
//! people who come back on many days; the naive sum of daily uniques is
//! printed next to it. Also: live numbers and their event stream, the top
//! campaigns, the CSV export, and another tenant seeing none of it.

mod common;
#[path = "reports_pipeline/reference.rs"]
mod reference;
#[path = "reports_pipeline/services.rs"]
mod services;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use adpulse_domain::CampaignId;
use chrono::{DateTime, Duration as Span, Utc};
use chrono_tz::Tz;
use common::http::{Http, Reply};
use common::worker::{Env, env};
use reference::{Sent, check, local_midnight, reference};
use serde_json::{Value, json};
use services::{PASSWORD, Services, ZONES, fixture};

/// What the phases share: the running services, the analyst's session
/// and the events sent.
struct Run {
    gateway: Http,
    api: Http,
    /// The gateway's `authorization` header (the ingest key).
    auth: String,
    /// The analyst's `authorization` header.
    token: String,
    campaigns: Vec<CampaignId>,
    sent: Vec<Sent>,
    /// When the events were made; ranges count back from it.
    now: DateTime<Utc>,
}

impl Run {
    /// `GET path` on the API as the analyst.
    async fn get(&self, path: String) -> Reply {
        self.api
            .send("GET", &path, &[("authorization", &self.token)], "")
            .await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_equal_a_reference_through_the_pipeline() {
    let env = Arc::new(env().await);
    let fx = fixture(&env.db).await;
    let services = Services::start(&env).await;
    let now = Utc::now();
    let auth = format!("Bearer {}", fx.key);
    let sent = send_a_month_of_events(&env, &services.gateway, &auth, &fx.campaigns, now).await;
    let run = Run {
        gateway: services.gateway.clone(),
        api: services.api.clone(),
        token: login(&services.api, "analyst@a.example").await,
        auth,
        campaigns: fx.campaigns,
        sent,
        now,
    };
    reports_match_for_every_range_zone_and_breakdown(&run).await;
    reach_over_the_month_is_within_2_percent(&run).await;
    top_campaigns_and_the_csv_export(&run).await;
    live_totals_per_campaign(&run).await;
    the_stream_pushes_a_view_per_new_event(&run).await;
    raw_events_page_by_page_once_each(&run).await;
    another_tenant_sees_none_of_it(&run).await;
    bad_parameters_name_their_field(&run).await;
    services.stop().await;
    Arc::into_inner(env).expect("one owner").cleanup().await;
}

/// Sends the month's events through the gateway and waits until the worker
/// applied them all; returns them as sent.
async fn send_a_month_of_events(
    env: &Env,
    gateway: &Http,
    auth: &str,
    campaigns: &[CampaignId],
    now: DateTime<Utc>,
) -> Vec<Sent> {
    let (sent, lines) = a_month_of_events(campaigns, now);
    for chunk in lines.chunks(1_000) {
        let r = gateway
            .send(
                "POST",
                "/v1/events/batch",
                &[
                    ("authorization", auth),
                    ("content-type", "application/x-ndjson"),
                ],
                chunk.join("\n"),
            )
            .await;
        assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
    }
    env.wait_applied(40_000, Duration::from_secs(120)).await;
    sent
}

/// The month's events, as sent and as NDJSON lines.
fn a_month_of_events(campaigns: &[CampaignId], now: DateTime<Utc>) -> (Vec<Sent>, Vec<String>) {
    // 12,000 people, each coming back on several of the last 29 days:
    // 40,000 events over three campaigns.
    let mut rng = fastrand::Rng::with_seed(61);
    let kinds = [
        "impression",
        "impression",
        "impression",
        "impression",
        "click",
        "conversion",
    ];
    let channels = ["display", "social", "search", "video", "native"];
    let mut sent = Vec::new();
    let mut lines = Vec::new();
    for i in 0..40_000u32 {
        let user = if i < 12_000 { i } else { rng.u32(0..12_000) };
        let at = now - Span::seconds(rng.i64(60..29 * 86_400));
        let kind = kinds[rng.usize(..kinds.len())];
        let e = Sent {
            campaign: rng.usize(..3),
            at,
            kind,
            channel: channels[rng.usize(..channels.len())],
            user,
            cost: if kind == "conversion" {
                0
            } else {
                rng.i64(100..5_000)
            },
            revenue: if kind == "conversion" {
                rng.i64(1_000_000..9_000_000)
            } else {
                0
            },
        };
        lines.push(
            json!({
                "event_id": uuid::Uuid::new_v4().to_string(),
                "type": e.kind,
                "campaign_id": campaigns[e.campaign].to_string(),
                "ad_id": "creative-1",
                "channel": e.channel,
                "occurred_at": e.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                "user": {"device_id": format!("person-{}", e.user)},
                "cost_micros": e.cost,
                "revenue_micros": e.revenue,
            })
            .to_string(),
        );
        sent.push(e);
    }
    (sent, lines)
}

/// Logs `email` in; returns its `authorization` header.
async fn login(api: &Http, email: &str) -> String {
    let r = api
        .send(
            "POST",
            "/auth/login",
            &[("content-type", "application/json")],
            json!({"email": email, "password": PASSWORD}).to_string(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    format!(
        "Bearer {}",
        r.json()["access_token"].as_str().expect("token")
    )
}

/// Several ranges, zones, granularities and breakdowns each equal the
/// reference; the same answer again is 304 with its ETag.
async fn reports_match_for_every_range_zone_and_breakdown(run: &Run) {
    let Run {
        campaigns,
        sent,
        now,
        api,
        token,
        ..
    } = run;
    // Several ranges, zones, granularities and breakdowns.
    let cases = [
        // (campaign, tz override, first day back, last day back, granularity, breakdown)
        (0, None, 28, 0, "day", "channel"),
        (1, None, 10, 2, "day", ""),
        (2, None, 29, 26, "hour", "event_type"),
        (0, Some("UTC"), 29, 0, "total", "channel,event_type"),
        (0, Some("Asia/Kathmandu"), 7, 1, "day", "channel"),
        (1, Some("America/New_York"), 3, 0, "hour", ""),
        (1, None, 2, 0, "hour", "channel"),
    ];
    for (c, tz_override, first, last, granularity, breakdown) in cases {
        let tz: Tz = tz_override.unwrap_or(ZONES[c]).parse().expect("zone");
        let local_today = now.with_timezone(&tz).date_naive();
        let (start, end) = (
            local_today - Span::days(first),
            local_today - Span::days(last),
        );
        let mut path = format!(
            "/campaigns/{}/reports?start_date={start}&end_date={end}&granularity={granularity}&breakdown={breakdown}",
            campaigns[c]
        );
        if let Some(z) = tz_override {
            path.push_str(&format!("&tz={z}"));
        }
        let r = run.get(path.clone()).await;
        assert_eq!(
            r.status,
            200,
            "{path}: {}",
            String::from_utf8_lossy(&r.body)
        );
        let body = r.json();
        assert_eq!(body["timezone"], tz.name());
        let want = reference(
            sent,
            c,
            tz,
            local_midnight(tz, start),
            local_midnight(tz, end + Span::days(1)),
            granularity,
            (
                breakdown.contains("channel"),
                breakdown.contains("event_type"),
            ),
        );
        check(&body, &want, &path);

        // The same answer again is 304 with its ETag.
        let etag = r.header("etag").to_owned();
        let again = api
            .send(
                "GET",
                &path,
                &[("authorization", token.as_str()), ("if-none-match", &etag)],
                "",
            )
            .await;
        assert_eq!(again.status, 304, "{path}");
    }
}

/// Reach over the month: a union of sketches within 2% of the exact count.
// Prints the sketch next to the naive sum, for whoever reads the test log
// (allowed in test functions, and this is the test's own phase).
#[allow(clippy::print_stdout)]
async fn reach_over_the_month_is_within_2_percent(run: &Run) {
    let Run {
        campaigns,
        sent,
        now,
        ..
    } = run;
    // Reach over the month: a union of sketches within 2% of the exact
    // count; the naive sum of daily uniques is far off.
    let tz: Tz = ZONES[0].parse().expect("zone");
    let (start, end) = (
        now.with_timezone(&tz).date_naive() - Span::days(29),
        now.with_timezone(&tz).date_naive(),
    );
    let r = run
        .get(format!(
            "/campaigns/{}/reports?start_date={start}&end_date={end}&granularity=day",
            campaigns[0]
        ))
        .await
        .json();
    let exact: BTreeSet<u32> = sent
        .iter()
        .filter(|e| e.campaign == 0)
        .map(|e| e.user)
        .collect();
    let reach = r["totals"]["unique_users"].as_i64().expect("reach");
    let naive: i64 = r["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|d| d["unique_users"].as_i64().expect("daily"))
        .sum();
    let error = (reach as f64 - exact.len() as f64).abs() / exact.len() as f64;
    println!(
        "30-day reach: sketch union {reach}, exact {}, error {:.2}%; naive sum of daily uniques {naive} ({:.0}% too many)",
        exact.len(),
        error * 100.0,
        (naive as f64 / exact.len() as f64 - 1.0) * 100.0
    );
    assert!(error <= 0.02, "reach within 2%: {reach} vs {}", exact.len());
    assert!(
        naive as f64 > exact.len() as f64 * 1.5,
        "people return across days"
    );
}

/// The top campaigns by spend, and the CSV export with the report's rows.
async fn top_campaigns_and_the_csv_export(run: &Run) {
    let Run {
        campaigns,
        sent,
        now,
        ..
    } = run;
    let today = now.date_naive();
    // The top campaigns over the month (UTC days), by spend.
    let (start, end) = (today - Span::days(29), today);
    let r = run
        .get(format!(
            "/reports/campaigns?start_date={start}&end_date={end}&sort=-spend&limit=2"
        ))
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let mut spend: Vec<(i64, String)> = (0..3)
        .map(|c| {
            (
                sent.iter()
                    .filter(|e| e.campaign == c)
                    .map(|e| e.cost)
                    .sum(),
                campaigns[c].to_string(),
            )
        })
        .collect();
    spend.sort_by(|a, b| b.cmp(a));
    let top: Vec<(i64, String)> = r.json()["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|x| {
            (
                x["spend_micros"].as_i64().expect("spend"),
                x["campaign_id"].as_str().expect("id").to_owned(),
            )
        })
        .collect();
    assert_eq!(top, spend[..2].to_vec(), "top 2 by spend");

    // The CSV export has the report's rows.
    let r = run.get(format!(
        "/campaigns/{}/reports/export?format=csv&start_date={start}&end_date={end}&breakdown=channel",
        campaigns[0]
    ))
    .await;
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").starts_with("text/csv"));
    assert!(r.header("content-disposition").contains(".csv\""));
    let csv = String::from_utf8(r.body.to_vec()).expect("utf-8");
    let json_rows = run
        .get(format!(
            "/campaigns/{}/reports?start_date={start}&end_date={end}&breakdown=channel",
            campaigns[0]
        ))
        .await
        .json()["rows"]
        .as_array()
        .expect("rows")
        .len();
    assert_eq!(
        csv.lines().count(),
        json_rows + 1,
        "a header and one line per row"
    );
}

/// Live numbers: lifetime totals per campaign.
async fn live_totals_per_campaign(run: &Run) {
    let Run {
        campaigns, sent, ..
    } = run;
    // Live numbers: lifetime totals per campaign; the stream pushes a new
    // view when an event arrives.
    for (c, campaign) in campaigns.iter().enumerate() {
        let r = run
            .get(format!("/campaigns/{campaign}/realtime"))
            .await
            .json();
        let mine: Vec<&Sent> = sent.iter().filter(|e| e.campaign == c).collect();
        assert_eq!(
            r["totals"]["impressions"].as_i64(),
            Some(mine.iter().filter(|e| e.kind == "impression").count() as i64)
        );
        assert_eq!(
            r["totals"]["spend_micros"].as_i64(),
            Some(mine.iter().map(|e| e.cost).sum::<i64>())
        );
    }
}

/// The live stream pushes a new view when an event arrives.
async fn the_stream_pushes_a_view_per_new_event(run: &Run) {
    let Run {
        campaigns,
        api,
        gateway,
        auth,
        token,
        ..
    } = run;
    let stream = api
        .open(
            &format!("/campaigns/{}/realtime/stream", campaigns[0]),
            &[("authorization", token.as_str())],
        )
        .await;
    assert_eq!(stream.status(), 200);
    let mut body = stream.into_body();
    let mut seen = String::new();
    let next_update = |seen: &mut String| {
        let start = seen.find("event: update")?;
        let rest = &seen[start..];
        let end = rest.find("\n\n")?;
        let event = rest[..end].to_owned();
        *seen = rest[end + 2..].to_owned();
        let data = event.lines().find_map(|l| l.strip_prefix("data: "))?;
        serde_json::from_str::<Value>(data).ok()
    };
    let mut read_update = async |seen: &mut String| loop {
        if let Some(v) = next_update(seen) {
            return v;
        }
        let frame = tokio::time::timeout(
            Duration::from_secs(10),
            http_body_util::BodyExt::frame(&mut body),
        )
        .await
        .expect("an update within 10 s")
        .expect("stream open")
        .expect("frame");
        if let Ok(data) = frame.into_data() {
            seen.push_str(&String::from_utf8_lossy(&data));
        }
    };
    let first = read_update(&mut seen).await;
    let before = first["totals"]["impressions"]
        .as_i64()
        .expect("impressions");
    let one = json!({
        "event_id": uuid::Uuid::new_v4().to_string(), "type": "impression",
        "campaign_id": campaigns[0].to_string(), "ad_id": "creative-1", "channel": "display",
        "occurred_at": Utc::now().to_rfc3339(), "user": {"device_id": "late-comer"},
    });
    let r = gateway
        .send(
            "POST",
            "/v1/events",
            &[
                ("authorization", auth.as_str()),
                ("content-type", "application/json"),
            ],
            one.to_string(),
        )
        .await;
    assert_eq!(r.status, 202);
    let after = read_update(&mut seen).await;
    assert_eq!(after["totals"]["impressions"].as_i64(), Some(before + 1));
    drop(body);
}

/// Raw events of one UTC day, page by page: each event once.
async fn raw_events_page_by_page_once_each(run: &Run) {
    let Run {
        campaigns,
        sent,
        now,
        ..
    } = run;
    // Raw events of one UTC day, newest first, page by page: each event
    // of the campaign that day exactly once.
    let day = (*now - Span::days(3)).date_naive();
    let want: BTreeSet<(i64, i64)> = sent
        .iter()
        .filter(|e| e.campaign == 0 && e.at.date_naive() == day)
        .map(|e| (e.at.timestamp_millis(), e.cost))
        .collect();
    let (mut got, mut cursor, mut pages) = (Vec::new(), None::<String>, 0);
    loop {
        let mut path = format!("/campaigns/{}/events?date={day}&limit=50", campaigns[0]);
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let page = run.get(path).await.json();
        for e in page["events"].as_array().expect("events") {
            let at = DateTime::parse_from_rfc3339(e["occurred_at"].as_str().expect("at"))
                .expect("time")
                .timestamp_millis();
            got.push((at, e["cost_micros"].as_i64().expect("cost")));
        }
        pages += 1;
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert!(pages > 1, "several pages");
    assert!(got.windows(2).all(|w| w[0].0 >= w[1].0), "newest first");
    assert_eq!(got.len(), want.len(), "each event once");
    assert_eq!(got.into_iter().collect::<BTreeSet<_>>(), want);
    let r = run
        .get(format!("/campaigns/{}/events?cursor=bogus", campaigns[0]))
        .await;
    assert_eq!(r.status, 422);
}

/// Another tenant's analyst sees none of it.
async fn another_tenant_sees_none_of_it(run: &Run) {
    let Run {
        campaigns,
        now,
        api,
        ..
    } = run;
    let today = now.date_naive();
    let (start, end) = (today - Span::days(29), today);
    // Another tenant's analyst sees none of it.
    let outsider = login(api, "analyst@b.example").await;
    for path in [
        format!(
            "/campaigns/{}/reports?start_date={start}&end_date={end}",
            campaigns[0]
        ),
        format!("/campaigns/{}/realtime", campaigns[0]),
        format!(
            "/campaigns/{}/reports/export?format=csv&start_date={start}&end_date={end}",
            campaigns[0]
        ),
    ] {
        let r = api
            .send("GET", &path, &[("authorization", &outsider)], "")
            .await;
        assert_eq!(r.status, 404, "{path}");
    }
    let r = api
        .send(
            "GET",
            &format!("/reports/campaigns?start_date={start}&end_date={end}"),
            &[("authorization", &outsider)],
            "",
        )
        .await;
    assert_eq!(
        r.json()["rows"],
        json!([]),
        "no campaigns of A in B's ranking"
    );
}

/// Bad parameters are 422 with the field named.
async fn bad_parameters_name_their_field(run: &Run) {
    let campaigns = &run.campaigns;
    // Bad parameters are 422 with the field named.
    for (query, field) in [
        ("start_date=2026-13-01&end_date=2026-12-01", "start_date"),
        ("start_date=2026-11-02&end_date=2026-11-01", "end_date"),
        (
            "start_date=2026-11-01&end_date=2026-11-02&granularity=week",
            "granularity",
        ),
        (
            "start_date=2026-11-01&end_date=2026-11-02&breakdown=country",
            "breakdown",
        ),
        (
            "start_date=2026-11-01&end_date=2026-11-02&tz=Mars/Olympus",
            "tz",
        ),
        ("start_date=2020-01-01&end_date=2026-11-02", "end_date"),
    ] {
        let r = run
            .get(format!("/campaigns/{}/reports?{query}", campaigns[0]))
            .await;
        assert_eq!(r.status, 422, "{query}");
        assert_eq!(r.json()["error"]["errors"][0]["field"], field, "{query}");
    }
}
