//! Event parsing: adpulse's validated parse against plain serde_json on the
//! same bytes. Validation (per-field checks, error collection, time bounds)
//! should cost little over decoding itself, since the gateway does it for
//! every event.

use std::time::Duration;

use adpulse_benches::{Case, compare};
use adpulse_domain::{Event, Limits, parse_event};
use chrono::Utc;

fn main() {
    let now = Utc::now();
    let body = format!(
        r#"{{"event_id":"0192f8a4-7c1e-7b3a-9f4e-2d1c5b6a7e80","type":"impression",
        "campaign_id":"6c0a3f8e-0d7e-4a43-b8e5-6f0c2a9d1b77","ad_id":"creative-42","channel":"display",
        "occurred_at":"{}","user":{{"device_id":"d-77","login_id":"u-1234"}},
        "cost_micros":1250,"revenue_micros":0,"attributes":{{"country":"GB","device":"mobile"}}}}"#,
        now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    );
    let bytes = body.as_bytes();
    let bad = body.replace("impression", "view");
    let limits = Limits::default();

    // Correct before fast: each case must do what its name says.
    assert!(parse_event(bytes, &limits, now).is_ok());
    assert!(parse_event(bad.as_bytes(), &limits, now).is_err());
    assert!(serde_json::from_slice::<Event>(bytes).is_ok());

    let event = parse_event(bytes, &limits, now).expect("valid");
    let mut cases = [
        Case::new("serde_json -> Value (baseline)", || {
            serde_json::from_slice::<serde_json::Value>(bytes).ok()
        }),
        Case::new("serde_json -> Event, no validation", || {
            serde_json::from_slice::<Event>(bytes).ok()
        }),
        Case::new("adpulse parse_event (validated)", || {
            parse_event(bytes, &limits, now).ok()
        }),
        Case::new("adpulse parse_event, rejected (bad type)", || {
            parse_event(bad.as_bytes(), &limits, now).err()
        }),
        Case::new("Event::to_json (Kafka value)", || event.to_json()),
    ];
    eprintln!("event body: {} bytes", bytes.len());
    compare(
        "event parsing (per event)",
        &mut cases,
        15,
        Duration::from_millis(200),
    );
}
