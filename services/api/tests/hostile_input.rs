//! Numbers and times from requests that once reached arithmetic, a cast or
//! a database conversion that failed, through the real API on real
//! Postgres: report sums past the 64-bit range, listing cursors and page
//! numbers that do not fit, and property tests that any query string of
//! the report, ranking, raw-event and listing endpoints is answered with a
//! 2xx or a specific 4xx, never a 5xx (creatives' listing too).

mod common;

use adpulse_domain::{CampaignId, Role, TenantId};
use base64::Engine as _;
use common::Api;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::json;

/// Aggregate rows of `campaign` whose sums across buckets pass `i64::MAX`
/// (each row fits, as the worker keeps them): at each UTC grain, three
/// channels of 2^62 impressions, cost and revenue each.
async fn overflowing_rows(api: &Api, tenant: TenantId, campaign: CampaignId) {
    let half = i64::MAX / 2 + 1;
    for (grain, at) in [
        ("minute", "2026-11-29T10:00:00Z"),
        ("hour", "2026-11-29T10:00:00Z"),
        ("day", "2026-11-29T00:00:00Z"),
    ] {
        for channel in ["display", "social", "search"] {
            sqlx::query(
                "INSERT INTO campaign_aggregates (campaign_id, tenant_id, grain, bucket_start, channel, event_type, events, cost_micros, revenue_micros, users)
                 VALUES ($1, $2, $3, $4::timestamptz, $5, 'impression', $6, $6, $6, hll_empty(14, 5))",
            )
            .bind(campaign.as_uuid())
            .bind(tenant.as_uuid())
            .bind(grain)
            .bind(at)
            .bind(channel)
            .bind(half)
            .execute(api.postgres().1.pool())
            .await
            .expect("insert aggregate row");
        }
    }
}

/// A new campaign of the caller's tenant, created through the API.
async fn new_campaign(api: &Api, token: &str) -> CampaignId {
    let r = api
        .call(
            "POST",
            "/api/v1/campaigns",
            Some(token),
            &[],
            Some(&json!({"name": "probed", "schedule": {"timezone": "UTC"}})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    CampaignId::from_uuid(r.body["id"].as_str().expect("id").parse().expect("uuid"))
}

#[tokio::test]
async fn report_sums_past_64_bits_are_shown_saturated_not_a_500() {
    let api = Api::start().await;
    let token = api.token(&api.a, Role::CampaignManager).await;
    let tok = Some(token.as_str());
    let campaign = new_campaign(&api, &token).await;
    overflowing_rows(&api, api.a.id, campaign).await;
    let day = "start_date=2026-11-29&end_date=2026-11-29";

    for granularity in ["total", "day", "hour"] {
        let r = api
            .call(
                "GET",
                &format!("/api/v1/campaigns/{campaign}/reports?{day}&granularity={granularity}"),
                tok,
                &[],
                None,
            )
            .await;
        assert_eq!(r.status, 200, "{granularity}: {}", r.body);
        let row = &r.body["rows"][0];
        assert_eq!(row["spend_micros"], i64::MAX, "{granularity}");
        assert_eq!(row["impressions"], i64::MAX, "{granularity}");
        assert_eq!(row["saturated"], true, "{granularity}");
        assert_eq!(r.body["totals"]["saturated"], true, "{granularity}");
        assert!(row["cpc_micros"].is_null(), "no clicks: no cost per click");
        assert_eq!(row["ctr"], 0.0);
    }

    // The ranking over minutes (a half-hour zone) and the CSV exports.
    let r = api
        .call(
            "GET",
            &format!("/api/v1/reports/campaigns?{day}&tz=Asia/Kolkata"),
            tok,
            &[],
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["rows"][0]["spend_micros"], i64::MAX);
    assert_eq!(r.body["rows"][0]["saturated"], true);
    for path in [
        format!("/api/v1/campaigns/{campaign}/reports/export?{day}&format=csv"),
        format!("/api/v1/reports/campaigns/export?{day}&tz=Asia/Kolkata&format=csv"),
    ] {
        let (status, _, body) = api.raw("GET", &path, tok, &[], None, Vec::new()).await;
        assert_eq!(status, 200, "{path}");
        let csv = String::from_utf8(body.to_vec()).expect("utf-8");
        let mut lines = csv.lines();
        assert!(
            lines.next().is_some_and(|h| h.ends_with(",saturated")),
            "{csv}"
        );
        let row = lines.next().expect("a row");
        assert!(
            row.contains(&i64::MAX.to_string()) && row.ends_with(",true"),
            "{row}"
        );
    }
    api.stop().await;
}

/// A campaign listing cursor as a client could forge one (the format of
/// `src/cursor.rs`).
fn cursor(sort: &str, value: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(
        json!({"v": 1, "l": "campaigns", "k": [sort, value, uuid::Uuid::now_v7()]}).to_string(),
    )
}

#[tokio::test]
async fn listing_cursors_and_pages_the_stores_cannot_read_are_422() {
    let api = Api::start().await;
    let token = api.token(&api.a, Role::CampaignManager).await;
    let tok = Some(token.as_str());
    new_campaign(&api, &token).await;
    let list = |q: String| {
        let api = &api;
        async move {
            api.call("GET", &format!("/api/v1/campaigns?{q}"), tok, &[], None)
                .await
        }
    };
    // RFC 3339 reads these; Postgres refused them with a 500.
    for value in [
        "0000-01-01T00:00:00Z",
        "1969-12-31T23:59:59Z",
        "9999-12-31T23:59:59-23:59",
    ] {
        let r = list(format!(
            "sort=-created_at&cursor={}",
            cursor("-created_at", value)
        ))
        .await;
        assert_eq!(r.status, 422, "{value}: {}", r.body);
        assert_eq!(r.body["error"]["errors"][0]["field"], "cursor", "{value}");
    }
    // An offset Postgres refuses, of an instant it can hold: read in UTC.
    let r = list(format!(
        "sort=-created_at&cursor={}",
        cursor("-created_at", "2026-01-01T00:00:00-23:59")
    ))
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = list(format!("sort=budget&cursor={}", cursor("budget", "+12"))).await;
    assert_eq!(r.status, 200, "{}", r.body);

    // Pages whose first row's offset passes i64: 422, not a saturated offset
    // that names another page.
    let r = list(format!("limit=20&page={}", i64::MAX)).await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.body["error"]["errors"][0]["field"], "page");
    let last = i64::MAX / 20 + 1;
    let r = list(format!("limit=20&page={last}")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["pagination"]["page"], last);
    assert_eq!(r.body["data"], json!([]));
    api.stop().await;
}

/// A query value: often a plausible one, sometimes an edge or junk.
fn value(plausible: impl Strategy<Value = String> + 'static) -> BoxedStrategy<String> {
    prop_oneof![
        4 => plausible,
        1 => prop_oneof![
            any::<i64>().prop_map(|n| n.to_string()),
            any::<u64>().prop_map(|n| n.to_string()),
            Just(i64::MIN.to_string()),
            Just("99999999999999999999999".to_owned()),
            Just("1e3".to_owned()),
            Just("-0".to_owned()),
            Just(String::new()),
            "[ -~]{0,12}",
            "\\PC{0,6}",
        ],
    ]
    .boxed()
}

fn date() -> BoxedStrategy<String> {
    value(
        (
            prop_oneof![
                1 => 0i32..=12_000,
                1 => -300_000i32..=300_000,
                8 => 1965i32..=2030,
                1 => 9990i32..=10_010,
            ],
            1u32..=12,
            1u32..=31,
        )
            .prop_map(|(y, m, d)| format!("{y:04}-{m:02}-{d:02}")),
    )
}

fn zone() -> BoxedStrategy<String> {
    value(proptest::sample::select(
        chrono_tz::TZ_VARIANTS
            .iter()
            .map(|z| z.name().to_owned())
            .collect::<Vec<_>>(),
    ))
}

/// `key=value` pairs (each maybe absent), percent-encoded.
fn query(pairs: Vec<(&'static str, Option<String>)>) -> String {
    let present: Vec<(&str, String)> = pairs
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect();
    serde_urlencoded::to_string(present).unwrap_or_default()
}

fn opt(s: BoxedStrategy<String>) -> BoxedStrategy<Option<String>> {
    proptest::option::weighted(0.8, s).boxed()
}

/// Runs `cases` of `strategy` against `check` on this runtime (the test
/// is multi-threaded, so a case may block on the runtime's other thread).
type Case<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), TestCaseError>> + 'a>>;

fn run_http<'a, S: Strategy>(
    name: &str,
    cases: u32,
    strategy: S,
    check: impl Fn(S::Value) -> Case<'a>,
) {
    let handle = tokio::runtime::Handle::current();
    tokio::task::block_in_place(|| {
        let mut runner = TestRunner::new(Config {
            cases,
            failure_persistence: None,
            ..Config::default()
        });
        if let Err(e) = runner.run(&strategy, |v| handle.block_on(check(v))) {
            panic!("{name}: {e}");
        }
    });
}

fn no_5xx(what: &str, status: u16, body: &serde_json::Value) -> Result<(), TestCaseError> {
    prop_assert!(status < 500, "{what}: {status} {body}");
    if status >= 400 {
        prop_assert!(
            body["error"]["code"]
                .as_str()
                .is_some_and(|c| !c.is_empty()),
            "{what}: {status} without an error code: {body}"
        );
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_report_ranking_events_or_listing_query_is_2xx_or_4xx() {
    let (live, archive) = common::live_and_archive().await;
    let api = Api::start_full(
        common::api_config(),
        Some(std::sync::Arc::new(live)),
        Some(archive),
    )
    .await;
    let token = api.token(&api.a, Role::CampaignManager).await;
    let campaign = new_campaign(&api, &token).await;
    overflowing_rows(&api, api.a.id, campaign).await;
    campaign_reports_answer_any_query(&api, &token, campaign);
    top_campaigns_answer_any_query(&api, &token);
    raw_events_answer_any_query(&api, &token, campaign);
    campaign_listings_answer_any_query(&api, &token);
    creatives_listings_answer_any_query(&api, &token, campaign);
    api.stop().await;
}

/// GET `path` as `token`: the status, the body as JSON (null if it is
/// not), and the path, to name the case.
async fn get_json(api: &Api, token: &str, path: String) -> (u16, serde_json::Value, String) {
    let (status, _, body) = api
        .raw("GET", &path, Some(token), &[], None, Vec::new())
        .await;
    let json = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    (status, json, path)
}

/// One of `w`, or sometimes an edge or junk value.
fn words(w: &'static [&'static str]) -> BoxedStrategy<String> {
    value(proptest::sample::select(w).prop_map(str::to_owned))
}

/// The campaign report and its CSV export answer any query without a 5xx.
fn campaign_reports_answer_any_query(api: &Api, token: &str, campaign: CampaignId) {
    let report = (
        opt(date()),
        opt(date()),
        opt(words(&["hour", "day", "total", "week"])),
        opt(words(&[
            "channel",
            "event_type",
            "channel,event_type",
            "country",
        ])),
        opt(zone()),
        proptest::bool::weighted(0.3),
    );
    run_http(
        "campaign report",
        150,
        report,
        |(start, end, g, b, tz, csv)| {
            let q = query(vec![
                ("start_date", start),
                ("end_date", end),
                ("granularity", g),
                ("breakdown", b),
                ("tz", tz),
                ("format", csv.then(|| "csv".to_owned())),
            ]);
            let path = if csv { "reports/export" } else { "reports" };
            Box::pin(async move {
                let (status, body, path) = get_json(
                    api,
                    token,
                    format!("/api/v1/campaigns/{campaign}/{path}?{q}"),
                )
                .await;
                no_5xx(&path, status, &body)
            })
        },
    );
}

/// The top-campaigns ranking and its CSV export answer any query without
/// a 5xx.
fn top_campaigns_answer_any_query(api: &Api, token: &str) {
    let top = (
        opt(date()),
        opt(date()),
        opt(words(&["spend", "-spend", "revenue", "-clicks", "ctr"])),
        opt(value((-5i64..=1_100_000).prop_map(|n| n.to_string()))),
        opt(words(&["active", "draft", "gone"])),
        opt(zone()),
        proptest::bool::weighted(0.3),
    );
    run_http(
        "top campaigns",
        150,
        top,
        |(start, end, sort, limit, status, tz, csv)| {
            let q = query(vec![
                ("start_date", start),
                ("end_date", end),
                ("sort", sort),
                ("limit", limit),
                ("status", status),
                ("tz", tz),
                ("format", csv.then(|| "csv".to_owned())),
            ]);
            let path = if csv { "campaigns/export" } else { "campaigns" };
            Box::pin(async move {
                let (status, body, path) =
                    get_json(api, token, format!("/api/v1/reports/{path}?{q}")).await;
                no_5xx(&path, status, &body)
            })
        },
    );
}

/// The raw-event listing answers any date, limit and cursor without a 5xx.
fn raw_events_answer_any_query(api: &Api, token: &str, campaign: CampaignId) {
    let cursor_text = prop_oneof![
        (any::<i64>(), any::<u128>()).prop_map(|(ms, id)| {
            json!({"v": 1, "l": "events", "k": [ms, uuid::Uuid::from_u128(id)]}).to_string()
        }),
        "[ -~]{0,40}",
    ]
    .prop_map(|t| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(t));
    let events = (
        opt(date()),
        opt(value((-5i64..=1_100).prop_map(|n| n.to_string()))),
        opt(value(cursor_text)),
    );
    run_http("raw events", 100, events, |(date, limit, cursor)| {
        let q = query(vec![("date", date), ("limit", limit), ("cursor", cursor)]);
        Box::pin(async move {
            let (status, body, path) = get_json(
                api,
                token,
                format!("/api/v1/campaigns/{campaign}/events?{q}"),
            )
            .await;
            no_5xx(&path, status, &body)
        })
    });
}

/// The campaign listing answers any page, limit, cursor and dates without
/// a 5xx.
fn campaign_listings_answer_any_query(api: &Api, token: &str) {
    let listing_cursor = (
        proptest::sample::select(vec!["-created_at", "updated_at", "budget", "name"]),
        prop_oneof![
            date().prop_map(|d| format!("{d}T00:00:00Z")),
            (any::<i64>()).prop_map(|n| n.to_string()),
            (0u32..=9999, -1439i32..=1439).prop_map(|(y, off)| format!(
                "{y:04}-06-01T12:00:00{}{:02}:{:02}",
                if off < 0 { '-' } else { '+' },
                off.abs() / 60,
                off.abs() % 60
            )),
            "[ -~]{0,20}",
        ],
    )
        .prop_map(|(sort, v)| (sort, cursor(sort, &v)));
    let listing = (
        opt(value((-5i64..=200).prop_map(|n| n.to_string()))),
        opt(value((-5i64..=200).prop_map(|n| n.to_string()))),
        proptest::option::of(listing_cursor),
        opt(date()),
        opt(date()),
    );
    run_http(
        "campaign listing",
        150,
        listing,
        |(page, limit, cursor, start, end)| {
            let (sort, cursor) =
                cursor.map_or((None, None), |(s, c)| (Some(s.to_owned()), Some(c)));
            let q = query(vec![
                ("page", page),
                ("limit", limit),
                ("sort", sort),
                ("cursor", cursor),
                ("start_date", start),
                ("end_date", end),
            ]);
            Box::pin(async move {
                let (status, body, path) =
                    get_json(api, token, format!("/api/v1/campaigns?{q}")).await;
                no_5xx(&path, status, &body)
            })
        },
    );
}

/// The creatives listing answers any limit and cursor without a 5xx.
fn creatives_listings_answer_any_query(api: &Api, token: &str, campaign: CampaignId) {
    let asset_cursor = (0u32..=9999, -1439i32..=1439, any::<u128>()).prop_map(|(y, off, id)| {
        let at = format!(
            "{y:04}-01-01T00:00:00{}{:02}:{:02}",
            if off < 0 { '-' } else { '+' },
            off.abs() / 60,
            off.abs() % 60,
        );
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(
            json!({"v": 1, "l": "creatives", "k": [at, uuid::Uuid::from_u128(id)]}).to_string(),
        )
    });
    let assets = (
        opt(value((-5i64..=200).prop_map(|n| n.to_string()))),
        opt(value(asset_cursor)),
    );
    run_http("creatives listing", 100, assets, |(limit, cursor)| {
        let q = query(vec![("limit", limit), ("cursor", cursor)]);
        Box::pin(async move {
            let (status, body, path) = get_json(
                api,
                token,
                format!("/api/v1/campaigns/{campaign}/assets?{q}"),
            )
            .await;
            no_5xx(&path, status, &body)
        })
    });
}
