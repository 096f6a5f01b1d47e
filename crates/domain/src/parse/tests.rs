use chrono::{TimeZone, Utc};
use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 29, 12, 0, 0)
        .single()
        .expect("valid date")
}

fn sample() -> Value {
    json!({
        "event_id": "0192f8a4-7c1e-7b3a-9f4e-2d1c5b6a7e80",
        "type": "impression",
        "campaign_id": "6c0a3f8e-0d7e-4a43-b8e5-6f0c2a9d1b77",
        "ad_id": "creative-42",
        "channel": "display",
        "occurred_at": "2026-11-29T10:30:00.123Z",
        "user": { "device_id": "d-77", "login_id": "u-1234" },
        "cost_micros": 1250,
        "revenue_micros": 0,
        "attributes": { "country": "GB", "device": "mobile" }
    })
}

fn parse(v: &Value) -> Result<Event, RejectReason> {
    parse_event(v.to_string().as_bytes(), &Limits::default(), now())
}

fn codes(v: &Value) -> Vec<(String, ErrorCode)> {
    parse(v)
        .expect_err("should be rejected")
        .errors
        .into_iter()
        .map(|e| (e.field, e.code))
        .collect()
}

fn with(field: &str, value: Value) -> Value {
    let mut v = sample();
    v[field] = value;
    v
}

#[test]
fn design_example_parses() {
    let e = parse(&sample()).expect("valid");
    assert_eq!(e.event_type, EventType::Impression);
    assert_eq!(e.channel, Channel::Display);
    assert_eq!(e.cost_micros.get(), 1250);
    assert_eq!(e.ad_id.as_str(), "creative-42");
    assert_eq!(e.user.as_ref().and_then(UserIds::primary), Some("u-1234"));
    assert_eq!(e.attributes.get("country").map(String::as_str), Some("GB"));
    assert_eq!(e.occurred_at.timestamp_subsec_millis(), 123);
}

#[test]
fn optional_fields_default() {
    let mut v = sample();
    let o = v.as_object_mut().expect("object");
    for k in ["user", "cost_micros", "revenue_micros", "attributes"] {
        o.remove(k);
    }
    let e = parse(&v).expect("valid");
    assert_eq!(e.user, None);
    assert_eq!(e.cost_micros, Micros::ZERO);
    assert!(e.attributes.is_empty());
}

#[test]
fn every_missing_required_field_is_named() {
    let v = json!({});
    let got: Vec<_> = codes(&v).into_iter().map(|(f, _)| f).collect();
    assert_eq!(
        got,
        [
            "event_id",
            "type",
            "campaign_id",
            "ad_id",
            "channel",
            "occurred_at"
        ]
    );
    assert!(codes(&v).iter().all(|(_, c)| *c == ErrorCode::MissingField));
}

#[test]
fn null_is_missing() {
    assert_eq!(
        codes(&with("ad_id", Value::Null)),
        [("ad_id".into(), ErrorCode::MissingField)]
    );
}

#[test]
fn value_errors_carry_field_and_code() {
    let cases = [
        ("event_id", json!("not-a-uuid"), ErrorCode::InvalidUuid),
        (
            "event_id",
            json!("00000000-0000-0000-0000-000000000000"),
            ErrorCode::NilUuid,
        ),
        ("type", json!("view"), ErrorCode::UnknownEventType),
        ("channel", json!("tv"), ErrorCode::UnknownChannel),
        (
            "occurred_at",
            json!("yesterday"),
            ErrorCode::InvalidTimestamp,
        ),
        (
            "occurred_at",
            json!("2026-11-29T10:30:00"),
            ErrorCode::InvalidTimestamp,
        ),
        (
            "occurred_at",
            json!("2026-11-29T12:06:00Z"),
            ErrorCode::TooFarInFuture,
        ),
        (
            "occurred_at",
            json!("2026-10-01T00:00:00Z"),
            ErrorCode::TooOld,
        ),
        ("cost_micros", json!(-1), ErrorCode::NegativeAmount),
        (
            "revenue_micros",
            json!(Micros::MAX.get() + 1),
            ErrorCode::AmountTooLarge,
        ),
        ("ad_id", json!(""), ErrorCode::Empty),
        ("ad_id", json!("x".repeat(129)), ErrorCode::TooLong),
        ("ad_id", json!("a\u{7}b"), ErrorCode::InvalidCharacter),
    ];
    for (field, value, code) in cases {
        assert_eq!(
            codes(&with(field, value.clone())),
            [(field.to_owned(), code)],
            "{field} = {value}"
        );
    }
}

#[test]
fn type_errors_name_the_field() {
    assert_eq!(
        codes(&with("cost_micros", json!("12"))),
        [("cost_micros".into(), ErrorCode::InvalidType)]
    );
    assert_eq!(
        codes(&with("cost_micros", json!(1.5))),
        [("cost_micros".into(), ErrorCode::InvalidType)]
    );
    assert_eq!(
        codes(&with("cost_micros", json!(u64::MAX))),
        [("cost_micros".into(), ErrorCode::AmountTooLarge)]
    );
    assert_eq!(
        codes(&with("ad_id", json!(42))),
        [("ad_id".into(), ErrorCode::InvalidType)]
    );
    assert_eq!(
        codes(&with("attributes", json!({"country": 1}))),
        [("attributes.country".into(), ErrorCode::InvalidType)]
    );
}

#[test]
fn unknown_fields_are_named() {
    assert_eq!(
        codes(&with("campain_id", json!("x"))),
        [("campain_id".into(), ErrorCode::UnknownField)]
    );
    assert_eq!(
        codes(&with("user", json!({"ip": "1.2.3.4"}))),
        [("user.ip".into(), ErrorCode::UnknownField)]
    );
}

#[test]
fn whole_body_problems() {
    let l = Limits::default();
    let code = |b: &[u8]| parse_event(b, &l, now()).expect_err("rejected").code();
    assert_eq!(code(b"{"), ErrorCode::InvalidJson);
    assert_eq!(code(b"[1,2]"), ErrorCode::NotAnObject);
    assert_eq!(code(b"\"event\""), ErrorCode::NotAnObject);
    assert_eq!(code(b"\xff\xfe"), ErrorCode::InvalidJson);
    let mut big = sample();
    big["ad_id"] = json!("x".repeat(l.max_event_bytes));
    assert_eq!(code(big.to_string().as_bytes()), ErrorCode::TooLarge);
    let r = parse_event(b"{\"event_id\": ]", &l, now()).expect_err("rejected");
    assert!(r.errors[0].message.contains("line 1 column 14"), "{r}");
    let twice = format!("{}{}", sample(), sample());
    assert_eq!(code(twice.as_bytes()), ErrorCode::InvalidJson);
}

#[test]
fn all_value_problems_are_reported_together() {
    let mut v = sample();
    v["type"] = json!("view");
    v["channel"] = json!("tv");
    v["cost_micros"] = json!(-5);
    let fields: Vec<_> = codes(&v).into_iter().map(|(f, _)| f).collect();
    assert_eq!(fields, ["type", "channel", "cost_micros"]);
}

#[test]
fn user_block_rules() {
    assert_eq!(
        codes(&with("user", json!({}))),
        [("user".into(), ErrorCode::Empty)]
    );
    assert_eq!(
        codes(&with("user", json!({"email_sha256": "abc"}))),
        [("user.email_sha256".into(), ErrorCode::InvalidSha256)]
    );
    let upper = "A".repeat(64);
    let e = parse(&with("user", json!({ "email_sha256": upper }))).expect("valid");
    assert_eq!(e.user.and_then(|u| u.email_sha256), Some("a".repeat(64)));
}

#[test]
fn attribute_limits() {
    let many: serde_json::Map<String, Value> = (0..=Event::MAX_ATTRIBUTES)
        .map(|i| (format!("k{i}"), json!("v")))
        .collect();
    assert_eq!(
        codes(&with("attributes", Value::Object(many))),
        [("attributes".into(), ErrorCode::TooManyAttributes)]
    );
    assert_eq!(
        codes(&with("attributes", json!({"k": "v".repeat(257)}))),
        [("attributes.k".into(), ErrorCode::TooLong)]
    );
}

#[test]
fn reject_reason_display_is_readable() {
    let r = parse(&with("type", json!("view"))).expect_err("rejected");
    assert_eq!(
        r.to_string(),
        "type (unknown_event_type): type must be impression, click or conversion, not \"view\""
    );
}

fn text(max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[a-zA-Z0-9 _.:/é€-]{{1,{}}}", max / 3)).expect("regex")
}

prop_compose! {
    fn arb_user()(
        device_id in proptest::option::of(text(128)),
        cookie_id in proptest::option::of(text(128)),
        login_id in proptest::option::of(text(128)),
        email_sha256 in proptest::option::of("[0-9a-f]{64}"),
    ) -> Option<UserIds> {
        let u = UserIds { device_id, cookie_id, login_id, email_sha256 };
        (u != UserIds::default()).then_some(u)
    }
}

prop_compose! {
    fn arb_event()(
        event_id in any::<u128>().prop_filter("not nil", |v| *v != 0),
        campaign_id in any::<u128>().prop_filter("not nil", |v| *v != 0),
        t in 0usize..3,
        c in 0usize..5,
        ad_id in text(128),
        offset_ms in -(29 * 86_400_000i64)..=299_000,
        nanos in 0u32..1_000_000,
        user in arb_user(),
        cost in 0..=Micros::MAX.get(),
        revenue in 0..=Micros::MAX.get(),
        attributes in proptest::collection::btree_map(text(64), "[ -~]{0,40}", 0..8),
    ) -> Event {
        Event {
            event_id: EventId::from_uuid(Uuid::from_u128(event_id)),
            event_type: EventType::ALL[t],
            campaign_id: CampaignId::from_uuid(Uuid::from_u128(campaign_id)),
            ad_id: AdId::new_unchecked(ad_id),
            channel: Channel::ALL[c],
            occurred_at: now() + chrono::Duration::milliseconds(offset_ms) + chrono::Duration::nanoseconds(i64::from(nanos)),
            user,
            cost_micros: Micros::new(cost).expect("in range"),
            revenue_micros: Micros::new(revenue).expect("in range"),
            attributes,
        }
    }
}

proptest! {
    #[test]
    fn every_valid_event_round_trips(e in arb_event()) {
        let back = parse_event(&e.to_json(), &Limits::default(), now());
        prop_assert_eq!(back, Ok(e));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_event(&bytes, &Limits::default(), now());
    }

    #[test]
    fn any_field_replaced_by_any_json_is_valid_or_named(
        field in proptest::sample::select(vec![
            "event_id", "type", "campaign_id", "ad_id", "channel", "occurred_at",
            "user", "cost_micros", "revenue_micros", "attributes", "extra",
        ]),
        value in arb_json(),
    ) {
        if let Err(r) = parse(&with(field, value)) {
            prop_assert!(!r.errors.is_empty());
            for e in &r.errors {
                prop_assert!(e.field.starts_with(field), "{} does not name {}", e.field, field);
            }
        }
    }
}

/// A JSON number as text: integers of any size and sign, fractions and
/// exponents (a `Value` cannot hold the ones past 64 bits).
fn arb_number() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
        (0..=Micros::MAX.get()).prop_map(|n| n.to_string()),
        (Micros::MAX.get() - 2..=Micros::MAX.get() + 2).prop_map(|n| n.to_string()),
        "-?[1-9][0-9]{18,40}",
        "-?[0-9]{1,6}\\.[0-9]{1,4}",
        "-?[1-9][eE][+-]?[0-9]{1,3}",
    ]
}

proptest! {
    #[test]
    fn no_amount_outside_zero_to_the_per_event_bound_is_accepted(
        field in proptest::sample::select(vec!["cost_micros", "revenue_micros"]),
        number in arb_number(),
    ) {
        let body = with(field, json!("placeholder"))
            .to_string()
            .replace("\"placeholder\"", &number);
        match parse_event(body.as_bytes(), &Limits::default(), now()) {
            Ok(e) => {
                let got = if field == "cost_micros" { e.cost_micros } else { e.revenue_micros };
                prop_assert!((0..=Micros::MAX.get()).contains(&got.get()));
                prop_assert_eq!(got.get().to_string(), number);
            }
            Err(r) => {
                prop_assert_eq!(r.errors.len(), 1);
                prop_assert_eq!(r.errors[0].field.as_str(), field);
                // Past f64's range serde_json stops reading ("number out of
                // range"): invalid JSON, still at the field.
                prop_assert!(
                    [
                        ErrorCode::AmountTooLarge,
                        ErrorCode::NegativeAmount,
                        ErrorCode::InvalidType,
                        ErrorCode::InvalidJson,
                    ]
                    .contains(&r.errors[0].code),
                    "{:?}", r.errors[0]
                );
            }
        }
    }

    #[test]
    fn no_timestamp_clock_or_limit_makes_the_parser_panic(
        year in 0u32..=9999,
        offset_minutes in -(24 * 60 - 1)..=(24 * 60 - 1i32),
        now_secs in DateTime::<Utc>::MIN_UTC.timestamp()..=DateTime::<Utc>::MAX_UTC.timestamp(),
        skew_secs in any::<u64>(),
        retention_secs in any::<u64>(),
    ) {
        let sign = if offset_minutes < 0 { '-' } else { '+' };
        let (h, m) = (offset_minutes.abs() / 60, offset_minutes.abs() % 60);
        let at = format!("{year:04}-12-31T23:59:59.999999999{sign}{h:02}:{m:02}");
        let limits = Limits {
            max_future_skew: std::time::Duration::from_secs(skew_secs),
            retention: std::time::Duration::from_secs(retention_secs),
            ..Limits::default()
        };
        let now = DateTime::from_timestamp(now_secs, 0).unwrap_or_default();
        let body = with("occurred_at", json!(at)).to_string();
        let _ = parse_event(body.as_bytes(), &limits, now);
    }
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,20}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            proptest::collection::btree_map("[a-z_]{1,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

mod cap_queries {
    use super::super::{CapCall, parse_cap_query};
    use crate::ErrorCode;

    const C: &str = "6c0a3f8e-0d7e-4a43-b8e5-6f0c2a9d1b77";

    fn codes(body: &str, call: CapCall) -> Vec<(String, ErrorCode)> {
        parse_cap_query(body.as_bytes(), call, 3)
            .expect_err("refused")
            .errors
            .into_iter()
            .map(|e| (e.field, e.code))
            .collect()
    }

    #[test]
    fn the_three_shapes_parse() {
        let one = parse_cap_query(
            format!(
                r#"{{"campaign_id":"{C}","ad_id":"a1","user":{{"device_id":"d","login_id":"u"}}}}"#
            )
            .as_bytes(),
            CapCall::Decide,
            3,
        )
        .expect("decide");
        assert_eq!(one.candidates.len(), 1);
        assert_eq!(one.user.login_id.as_deref(), Some("u"));
        let batch = parse_cap_query(
            format!(r#"{{"user":{{"cookie_id":"c"}},"candidates":[{{"campaign_id":"{C}"}},{{"campaign_id":"{C}","ad_id":"x"}}]}}"#)
                .as_bytes(),
            CapCall::DecideBatch,
            3,
        )
        .expect("batch");
        assert_eq!(batch.candidates.len(), 2);
        let release = parse_cap_query(
            format!(r#"{{"campaign_id":"{C}","user":{{"cookie_id":"c"}},"reserved_at":"2026-11-29T10:00:00Z"}}"#)
                .as_bytes(),
            CapCall::Release,
            3,
        )
        .expect("release");
        assert!(release.reserved_at.is_some());
    }

    #[test]
    fn every_problem_is_named() {
        assert_eq!(
            codes(r#"{"campaign_id":"x"}"#, CapCall::Decide),
            [
                ("user".to_owned(), ErrorCode::MissingField),
                ("campaign_id".to_owned(), ErrorCode::InvalidUuid)
            ]
        );
        assert_eq!(
            codes(
                &format!(r#"{{"campaign_id":"{C}","user":{{}}}}"#),
                CapCall::Decide
            ),
            [("user".to_owned(), ErrorCode::Empty)]
        );
        assert_eq!(
            codes(
                &format!(
                    r#"{{"campaign_id":"{C}","user":{{"email_sha256":"zz"}},"candidates":[]}}"#
                ),
                CapCall::Decide
            ),
            [
                ("candidates".to_owned(), ErrorCode::UnknownField),
                ("user.email_sha256".to_owned(), ErrorCode::InvalidSha256)
            ]
        );
        let four = format!(r#"{{"campaign_id":"{C}"}}"#)
            .repeat(4)
            .replace("}{", "},{");
        assert_eq!(
            codes(
                &format!(r#"{{"user":{{"device_id":"d"}},"candidates":[{four}]}}"#),
                CapCall::DecideBatch
            ),
            [("candidates".to_owned(), ErrorCode::TooManyCandidates)]
        );
        assert_eq!(
            codes(
                r#"{"user":{"device_id":"d"},"candidates":[{"campaign_id":"00000000-0000-0000-0000-000000000000"}]}"#,
                CapCall::DecideBatch
            ),
            [("candidates[0].campaign_id".to_owned(), ErrorCode::NilUuid)]
        );
        assert_eq!(
            codes(
                &format!(
                    r#"{{"campaign_id":"{C}","user":{{"device_id":"d"}},"reserved_at":"yesterday"}}"#
                ),
                CapCall::Release
            ),
            [("reserved_at".to_owned(), ErrorCode::InvalidTimestamp)]
        );
        assert_eq!(
            codes(r#"{"user":{"device_id":"d"},"extra":1}"#, CapCall::Decide),
            [("extra".to_owned(), ErrorCode::UnknownField)]
        );
        assert_eq!(
            codes("[1]", CapCall::Decide),
            [(String::new(), ErrorCode::NotAnObject)]
        );
    }
}

/// A leap second is accepted and folded into the millisecond before it,
/// so the event's day is the same in every store and report (and its
/// canonical form, as written to the log, carries the folded instant).
#[test]
fn a_leap_second_is_folded_into_its_day() {
    let e = parse(&with("occurred_at", json!("2026-11-28T23:59:60.500Z"))).expect("accepted");
    assert_eq!(
        e.occurred_at,
        Utc.with_ymd_and_hms(2026, 11, 28, 23, 59, 59)
            .single()
            .expect("t")
            + chrono::Duration::milliseconds(999)
    );
    let back: Event = serde_json::from_slice(&e.to_json()).expect("canonical form");
    assert_eq!(back.occurred_at.date_naive(), e.occurred_at.date_naive());
    assert_eq!(
        back.occurred_at.timestamp_millis(),
        e.occurred_at.timestamp_millis()
    );
}
