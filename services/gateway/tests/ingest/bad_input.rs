//! Every kind of bad input gets its own status and code, never a 5xx, and
//! every refusal after authentication leaves a bad row with its code.

use adpulse_domain::ports::Stream;
use serde_json::{Value, json};

use crate::common::{Harness, config, event};
use crate::gzip;

const JSON_CT: (&str, &str) = ("content-type", "application/json");

/// One bad request and what it must get.
struct Case {
    name: &'static str,
    path: &'static str,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
    status: u16,
    code: &'static str,
}

#[tokio::test]
async fn every_bad_input_gets_its_own_status_and_code_and_a_bad_row() {
    let h = Harness::start(config()).await;
    let auth = format!("Bearer {}", h.a.key);
    let revoked = revoked_key(&h).await;
    let mut cases = malformed_event_cases(&h, &auth);
    cases.extend(out_of_bounds_event_cases(&h, &auth));
    cases.extend(bad_body_cases(&h, &auth));
    cases.extend(bad_batch_cases(&h, &auth));
    cases.extend(bad_key_cases(&h, revoked));

    let mut event_level = each_case_gets_its_status_and_code(&h, &cases).await;
    event_level.push(a_partly_bad_batch_accepts_the_good_events(&h, &auth).await);
    every_refused_event_is_a_bad_row(&h, &event_level).await;
    h.stop().await;
}

/// A valid click of tenant A.
fn ok(h: &Harness) -> Value {
    event(h.a.campaigns[0], "click")
}

/// A valid click of tenant A with `field` set to `v`, as JSON text.
fn with(h: &Harness, field: &str, v: Value) -> String {
    let mut e = ok(h);
    e[field] = v;
    e.to_string()
}

/// A single event POSTed as JSON with tenant A's key.
fn single(auth: &str, name: &'static str, body: String, status: u16, code: &'static str) -> Case {
    Case {
        name,
        path: "/v1/events",
        headers: vec![
            ("authorization", auth.to_owned()),
            (JSON_CT.0, JSON_CT.1.into()),
        ],
        body: body.into_bytes(),
        status,
        code,
    }
}

/// The authorization header of a key of tenant A, revoked.
async fn revoked_key(h: &Harness) -> String {
    let mut random = [7u8; 32];
    getrandom::fill(&mut random).expect("random");
    let k =
        h.db.create_ingest_key(h.a.id, "to revoke", random)
            .await
            .expect("key");
    h.db.revoke_ingest_key(k.id).await.expect("revoke");
    format!("Bearer {}", k.secret)
}

/// Events that are not JSON, not an object, or of a wrong type or value.
fn malformed_event_cases(h: &Harness, auth: &str) -> Vec<Case> {
    vec![
        single(
            auth,
            "malformed JSON",
            "{\"event_id\": ".into(),
            400,
            "invalid_json",
        ),
        single(auth, "not an object", "[1, 2]".into(), 400, "not_an_object"),
        single(
            auth,
            "wrong type",
            with(h, "cost_micros", json!("12")),
            422,
            "invalid_type",
        ),
        single(auth, "missing fields", "{}".into(), 422, "missing_field"),
        single(
            auth,
            "unknown type",
            with(h, "type", json!("view")),
            422,
            "unknown_event_type",
        ),
        single(
            auth,
            "unknown channel",
            with(h, "channel", json!("tv")),
            422,
            "unknown_channel",
        ),
        single(
            auth,
            "bad uuid",
            with(h, "event_id", json!("e-1")),
            422,
            "invalid_uuid",
        ),
        single(
            auth,
            "negative money",
            with(h, "cost_micros", json!(-1)),
            422,
            "negative_amount",
        ),
        single(
            auth,
            "unknown field",
            with(h, "campain", json!("x")),
            422,
            "unknown_field",
        ),
    ]
}

/// Events too large, too early or late, or of a campaign not the tenant's.
fn out_of_bounds_event_cases(h: &Harness, auth: &str) -> Vec<Case> {
    let future = (chrono::Utc::now() + chrono::Duration::hours(2)).to_rfc3339();
    let old = (chrono::Utc::now() - chrono::Duration::days(400)).to_rfc3339();
    vec![
        single(
            auth,
            "oversize event",
            with(h, "ad_id", json!("x".repeat(20_000))),
            413,
            "too_large",
        ),
        single(
            auth,
            "far future",
            with(h, "occurred_at", json!(future)),
            422,
            "too_far_in_future",
        ),
        single(
            auth,
            "too old",
            with(h, "occurred_at", json!(old)),
            422,
            "too_old",
        ),
        single(
            auth,
            "another tenant's campaign",
            with(h, "campaign_id", json!(h.b.campaigns[0].to_string())),
            422,
            "unknown_campaign",
        ),
        single(
            auth,
            "no such campaign",
            with(h, "campaign_id", json!(uuid::Uuid::new_v4().to_string())),
            422,
            "unknown_campaign",
        ),
    ]
}

/// Bodies too large, inflating too large, or in an encoding not taken.
fn bad_body_cases(h: &Harness, auth: &str) -> Vec<Case> {
    let bomb = gzip(&vec![b' '; 20 * 1024 * 1024]);
    vec![
        Case {
            name: "oversize body",
            path: "/v1/events/batch",
            headers: vec![
                ("authorization", auth.to_owned()),
                ("content-type", "application/x-ndjson".into()),
            ],
            body: vec![b'\n'; 2 * 1024 * 1024],
            status: 413,
            code: "body_too_large",
        },
        Case {
            name: "gzip bomb",
            path: "/v1/events/batch",
            headers: vec![
                ("authorization", auth.to_owned()),
                ("content-type", "application/x-ndjson".into()),
                ("content-encoding", "gzip".into()),
            ],
            body: bomb,
            status: 413,
            code: "decompressed_too_large",
        },
        Case {
            name: "not gzip",
            path: "/v1/events/batch",
            headers: vec![
                ("authorization", auth.to_owned()),
                (JSON_CT.0, JSON_CT.1.into()),
                ("content-encoding", "gzip".into()),
            ],
            body: b"plain".to_vec(),
            status: 400,
            code: "invalid_gzip",
        },
        Case {
            name: "unsupported encoding",
            path: "/v1/events",
            headers: vec![
                ("authorization", auth.to_owned()),
                (JSON_CT.0, JSON_CT.1.into()),
                ("content-encoding", "br".into()),
            ],
            body: ok(h).to_string().into_bytes(),
            status: 415,
            code: "unsupported_encoding",
        },
    ]
}

/// Batches that are not arrays, too long, empty, or of the wrong type.
fn bad_batch_cases(h: &Harness, auth: &str) -> Vec<Case> {
    let too_many: String = (0..1001).map(|_| ok(h).to_string() + "\n").collect();
    vec![
        Case {
            name: "batch not an array",
            path: "/v1/events/batch",
            headers: vec![
                ("authorization", auth.to_owned()),
                (JSON_CT.0, JSON_CT.1.into()),
            ],
            body: ok(h).to_string().into_bytes(),
            status: 400,
            code: "invalid_json",
        },
        Case {
            name: "too many events",
            path: "/v1/events/batch",
            headers: vec![
                ("authorization", auth.to_owned()),
                ("content-type", "application/x-ndjson".into()),
            ],
            body: too_many.into_bytes(),
            status: 413,
            code: "too_many_events",
        },
        Case {
            name: "empty batch",
            path: "/v1/events/batch",
            headers: vec![
                ("authorization", auth.to_owned()),
                (JSON_CT.0, JSON_CT.1.into()),
            ],
            body: b"[]".to_vec(),
            status: 400,
            code: "empty_batch",
        },
        Case {
            name: "wrong content type",
            path: "/v1/events",
            headers: vec![
                ("authorization", auth.to_owned()),
                ("content-type", "text/plain".into()),
            ],
            body: ok(h).to_string().into_bytes(),
            status: 415,
            code: "unsupported_media_type",
        },
    ]
}

/// Keys missing, unknown, malformed or revoked (`revoked`): 401s.
fn bad_key_cases(h: &Harness, revoked: String) -> Vec<Case> {
    vec![
        Case {
            name: "missing key",
            path: "/v1/events",
            headers: vec![(JSON_CT.0, JSON_CT.1.into())],
            body: ok(h).to_string().into_bytes(),
            status: 401,
            code: "missing_key",
        },
        Case {
            name: "bad key",
            path: "/v1/events",
            headers: vec![
                ("authorization", format!("Bearer adp_{}", "0".repeat(64))),
                (JSON_CT.0, JSON_CT.1.into()),
            ],
            body: ok(h).to_string().into_bytes(),
            status: 401,
            code: "invalid_key",
        },
        Case {
            name: "malformed key",
            path: "/v1/events",
            headers: vec![
                ("authorization", "Bearer hunter2".into()),
                (JSON_CT.0, JSON_CT.1.into()),
            ],
            body: ok(h).to_string().into_bytes(),
            status: 401,
            code: "invalid_key",
        },
        Case {
            name: "revoked key",
            path: "/v1/events",
            headers: vec![("authorization", revoked), (JSON_CT.0, JSON_CT.1.into())],
            body: ok(h).to_string().into_bytes(),
            status: 401,
            code: "revoked_key",
        },
    ]
}

/// Each case gets its status, code and a message (a position for bad
/// JSON), never a 5xx; returns the codes of the refusals after
/// authentication, each of which leaves a bad row.
async fn each_case_gets_its_status_and_code(h: &Harness, cases: &[Case]) -> Vec<&'static str> {
    // Every refusal after authentication leaves one bad row with its code.
    let mut event_level = Vec::new();
    for c in cases {
        let headers: Vec<(&str, &str)> = c.headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = h.post(c.path, &headers, c.body.clone()).await;
        assert!(r.status < 500, "{}: got {} {}", c.name, r.status, r.body);
        assert_eq!(
            (r.status, r.code()),
            (c.status, c.code),
            "{}: {}",
            c.name,
            r.body
        );
        assert!(
            !r.body["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .is_empty(),
            "{}",
            c.name
        );
        if c.code == "invalid_json" && c.path == "/v1/events" {
            assert!(
                r.body["error"]["message"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("column"),
                "position given"
            );
        }
        if c.status != 401 {
            event_level.push(c.code);
        }
    }

    event_level
}

/// A partly bad batch: the good events are accepted, the bad one
/// explained; returns the bad one's code.
async fn a_partly_bad_batch_accepts_the_good_events(h: &Harness, auth: &str) -> &'static str {
    // A partly bad batch: the good events are accepted, each bad one explained.
    let mixed = vec![ok(h), json!({"type": "view"}), ok(h)];
    let r = h
        .post(
            "/v1/events/batch",
            &[("authorization", auth), JSON_CT],
            Value::from(mixed).to_string(),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(
        (r.body["accepted"].as_u64(), r.body["rejected"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(r.body["results"][1]["status"], "rejected");
    assert_eq!(r.body["results"][1]["code"], "missing_field");
    assert_eq!(r.body["results"][0]["status"], "accepted");

    "missing_field"
}

/// Every refused event of the known tenant is a bad row with its reason:
/// the codes of the rows are `event_level`'s.
async fn every_refused_event_is_a_bad_row(h: &Harness, event_level: &[&str]) {
    // Every refused event of the known tenant is a bad row with its reason.
    let rows = h.consume(Stream::Rejected, event_level.len()).await;
    let mut codes: Vec<String> = rows
        .iter()
        .map(|r| {
            let v: Value =
                serde_json::from_slice(r.payload.as_deref().expect("value")).expect("json");
            assert_eq!(v["tenant_id"], h.a.id.to_string());
            assert!(v["received_at"].is_string());
            assert!(v["payload_bytes"].is_u64());
            v["code"].as_str().expect("code").to_owned()
        })
        .collect();
    codes.sort();
    let mut want: Vec<String> = event_level.iter().map(|c| (*c).to_owned()).collect();
    want.sort();
    assert_eq!(codes, want);
}
