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

use adpulse_domain::ports::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use adpulse_config::{ApiConfig, Secret};
use adpulse_domain::Role;
use adpulse_gateway::{Gateway, serve};
use adpulse_kafka::KafkaEventLog;
use adpulse_postgres::Database;
use adpulse_testkit::unique_name;
use chrono::{DateTime, Duration as Span, NaiveDate, TimeZone as _, Utc};
use chrono_tz::Tz;
use common::http::Http;
use common::worker::env;
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery staple";

/// One event as sent, for the reference.
#[derive(Clone)]
struct Sent {
    campaign: usize,
    at: DateTime<Utc>,
    kind: &'static str,
    channel: &'static str,
    user: u32,
    cost: i64,
    revenue: i64,
}

/// What a report row holds, computed from the events sent.
#[derive(Debug, Default, Clone, PartialEq)]
struct Expected {
    impressions: i64,
    clicks: i64,
    conversions: i64,
    cost: i64,
    revenue: i64,
    users: BTreeSet<u32>,
}

/// The rows a report over `[from, to)` should have, keyed by (period,
/// channel, event type) as the API prints them.
fn reference(
    events: &[Sent],
    campaign: usize,
    tz: Tz,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    granularity: &str,
    breakdown: (bool, bool),
) -> BTreeMap<(String, String, String), Expected> {
    let mut out: BTreeMap<(String, String, String), Expected> = BTreeMap::new();
    for e in events
        .iter()
        .filter(|e| e.campaign == campaign && e.at >= from && e.at < to)
    {
        let local = e.at.with_timezone(&tz);
        let period = match granularity {
            "day" => local.date_naive().to_string(),
            "hour" => {
                let start = e.at
                    - Span::minutes(i64::from(chrono::Timelike::minute(&local)))
                    - Span::seconds(i64::from(chrono::Timelike::second(&local)))
                    - Span::nanoseconds(i64::from(chrono::Timelike::nanosecond(&local)));
                start
                    .with_timezone(&tz)
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            }
            _ => String::new(),
        };
        let key = (
            period,
            if breakdown.0 {
                e.channel.to_owned()
            } else {
                String::new()
            },
            if breakdown.1 {
                e.kind.to_owned()
            } else {
                String::new()
            },
        );
        let x = out.entry(key).or_default();
        match e.kind {
            "impression" => x.impressions += 1,
            "click" => x.clicks += 1,
            _ => x.conversions += 1,
        }
        x.cost += e.cost;
        x.revenue += e.revenue;
        x.users.insert(e.user);
    }
    out
}

fn local_midnight(tz: Tz, day: NaiveDate) -> DateTime<Utc> {
    (0..=3)
        .find_map(|h| {
            tz.from_local_datetime(&day.and_hms_opt(h, 0, 0).expect("time"))
                .earliest()
        })
        .expect("a local time exists that day")
        .with_timezone(&Utc)
}

/// Compares a report's rows with the reference: the same rows, equal
/// counts and sums, unique users within 2% (HyperLogLog; exact while
/// small).
fn check(report: &Value, want: &BTreeMap<(String, String, String), Expected>, what: &str) {
    let rows = report["rows"].as_array().expect("rows");
    let got: BTreeMap<(String, String, String), &Value> = rows
        .iter()
        .map(|r| {
            let s = |k: &str| r[k].as_str().unwrap_or_default().to_owned();
            ((s("period"), s("channel"), s("event_type")), r)
        })
        .collect();
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>(),
        "{what}: the same rows"
    );
    for (key, w) in want {
        let r = got[key];
        let n = |k: &str| r[k].as_i64().expect("number");
        assert_eq!(
            (
                n("impressions"),
                n("clicks"),
                n("conversions"),
                n("spend_micros"),
                n("revenue_micros")
            ),
            (w.impressions, w.clicks, w.conversions, w.cost, w.revenue),
            "{what}: {key:?}"
        );
        let exact = w.users.len() as f64;
        let est = n("unique_users") as f64;
        assert!(
            (est - exact).abs() <= (exact * 0.02).max(1.0),
            "{what}: {key:?} unique users {est} vs exact {exact}"
        );
        let ctr = r["ctr"].as_f64();
        if w.impressions == 0 {
            assert_eq!(ctr, None, "{what}: CTR without impressions is null");
        } else {
            let want_ctr = w.clicks as f64 / w.impressions as f64;
            assert!(
                ctr.is_some_and(|c| (c - want_ctr).abs() < 1e-9),
                "{what}: CTR"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_equal_a_reference_through_the_pipeline() {
    let env = Arc::new(env().await);
    let db = &env.db;
    let tenant = db.create_tenant("reports").await.expect("tenant");
    let other = db.create_tenant("other").await.expect("tenant");
    let zones = ["Europe/Berlin", "Asia/Kolkata", "America/New_York"];
    let mut campaigns = Vec::new();
    for (i, tz) in zones.iter().enumerate() {
        let c = db
            .create_campaign(tenant, &format!("campaign {i}"), None)
            .await
            .expect("campaign");
        sqlx::query("UPDATE campaigns SET timezone = $1 WHERE id = $2")
            .bind(*tz)
            .bind(c.as_uuid())
            .execute(db.pool())
            .await
            .expect("zone");
        campaigns.push(c);
    }
    let hash = adpulse_api::auth::hash_password(PASSWORD.into())
        .await
        .expect("hash");
    for (t, email) in [(tenant, "analyst@a.example"), (other, "analyst@b.example")] {
        db.create_user(t, email, &hash, Role::Analyst)
            .await
            .expect("user");
    }
    let mut random = [0u8; 32];
    random[0] = 7;
    random[31] = fastrand::u8(..);
    let key = db
        .create_ingest_key(tenant, "reports", random)
        .await
        .expect("key")
        .secret;

    // The gateway, the worker and the API, in process, on the real stack.
    let gateway_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let gateway = Http::new(&format!(
        "http://{}",
        gateway_listener.local_addr().expect("addr")
    ));
    let gw = Gateway::new(
        env.cfg.gateway.clone(),
        env.cfg.limits.limits(),
        Arc::new(KafkaEventLog::new(&env.cfg.kafka).expect("producer")),
        Arc::new(db.clone()),
    )
    .expect("gateway");
    let (gw_stop, gw_stopped) = tokio::sync::oneshot::channel::<()>();
    let gw_task = tokio::spawn(serve(gw, gateway_listener, env.cfg.http, async {
        let _ = gw_stopped.await;
    }));
    let worker = env.start_worker().await;
    let api_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let api = Http::new(&format!(
        "http://{}/api/v1",
        api_listener.local_addr().expect("addr")
    ));
    let api_cfg = ApiConfig {
        jwt_secret: Some(Secret::new("reports-test-secret-0123456789abcdef".into())),
        asset_store: std::env::temp_dir()
            .join(unique_name("assets"))
            .display()
            .to_string(),
        requests_per_user_per_second: 10_000,
        ..ApiConfig::default()
    };
    let api_db = Database::connect_for_tenants(&env.cfg.postgres)
        .await
        .expect("api db");
    let (api_stop, api_stopped) = tokio::sync::oneshot::channel::<()>();
    let archive =
        adpulse_cql::CqlArchive::new(adpulse_cql::Cql::connect(&env.cfg.cql).await.expect("cql"))
            .await
            .expect("archive");
    let state = adpulse_api::AppState::new(&api_cfg, Arc::new(api_db))
        .expect("api")
        .with_live(Arc::new(env.redis.clone()))
        .with_archive(Arc::new(archive));
    let http = env.cfg.http;
    let api_task = tokio::spawn(async move {
        adpulse_api::serve(&api_cfg, state, api_listener, http, async {
            let _ = api_stopped.await;
        })
        .await
    });

    // 12,000 people, each coming back on several of the last 29 days:
    // 40,000 events over three campaigns.
    let mut rng = fastrand::Rng::with_seed(61);
    let now = Utc::now();
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
    let auth = format!("Bearer {key}");
    for chunk in lines.chunks(1_000) {
        let r = gateway
            .send(
                "POST",
                "/v1/events/batch",
                &[
                    ("authorization", &auth),
                    ("content-type", "application/x-ndjson"),
                ],
                chunk.join("\n"),
            )
            .await;
        assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
    }
    env.wait_applied(40_000, Duration::from_secs(120)).await;

    let login = |email: &'static str| {
        let api = api.clone();
        async move {
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
    };
    let token = login("analyst@a.example").await;
    let get = |path: String| {
        let (api, token) = (api.clone(), token.clone());
        async move {
            api.send("GET", &path, &[("authorization", &token)], "")
                .await
        }
    };

    // Several ranges, zones, granularities and breakdowns.
    let today = now.date_naive();
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
        let tz: Tz = tz_override.unwrap_or(zones[c]).parse().expect("zone");
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
        let r = get(path.clone()).await;
        assert_eq!(
            r.status,
            200,
            "{path}: {}",
            String::from_utf8_lossy(&r.body)
        );
        let body = r.json();
        assert_eq!(body["timezone"], tz.name());
        let want = reference(
            &sent,
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
                &[("authorization", &token), ("if-none-match", &etag)],
                "",
            )
            .await;
        assert_eq!(again.status, 304, "{path}");
    }

    // Reach over the month: a union of sketches within 2% of the exact
    // count; the naive sum of daily uniques is far off.
    let tz: Tz = zones[0].parse().expect("zone");
    let (start, end) = (
        now.with_timezone(&tz).date_naive() - Span::days(29),
        now.with_timezone(&tz).date_naive(),
    );
    let r = get(format!(
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

    // The top campaigns over the month (UTC days), by spend.
    let (start, end) = (today - Span::days(29), today);
    let r = get(format!(
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
    let r = get(format!(
        "/campaigns/{}/reports/export?format=csv&start_date={start}&end_date={end}&breakdown=channel",
        campaigns[0]
    ))
    .await;
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").starts_with("text/csv"));
    assert!(r.header("content-disposition").contains(".csv\""));
    let csv = String::from_utf8(r.body.to_vec()).expect("utf-8");
    let json_rows = get(format!(
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

    // Live numbers: lifetime totals per campaign; the stream pushes a new
    // view when an event arrives.
    for (c, campaign) in campaigns.iter().enumerate() {
        let r = get(format!("/campaigns/{campaign}/realtime")).await.json();
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
    let stream = api
        .open(
            &format!("/campaigns/{}/realtime/stream", campaigns[0]),
            &[("authorization", &token)],
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
                ("authorization", &auth),
                ("content-type", "application/json"),
            ],
            one.to_string(),
        )
        .await;
    assert_eq!(r.status, 202);
    let after = read_update(&mut seen).await;
    assert_eq!(after["totals"]["impressions"].as_i64(), Some(before + 1));
    drop(body);

    // Raw events of one UTC day, newest first, page by page: each event
    // of the campaign that day exactly once.
    let day = (now - Span::days(3)).date_naive();
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
        let page = get(path).await.json();
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
    let r = get(format!("/campaigns/{}/events?cursor=bogus", campaigns[0])).await;
    assert_eq!(r.status, 422);

    // Another tenant's analyst sees none of it.
    let outsider = login("analyst@b.example").await;
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
        let r = get(format!("/campaigns/{}/reports?{query}", campaigns[0])).await;
        assert_eq!(r.status, 422, "{query}");
        assert_eq!(r.json()["error"]["errors"][0]["field"], field, "{query}");
    }
    let _ = api_stop.send(());
    api_task.await.expect("join").expect("api");
    let _ = gw_stop.send(());
    gw_task.await.expect("join").expect("gateway");
    worker.stop().await;
    Arc::into_inner(env).expect("one owner").cleanup().await;
}
