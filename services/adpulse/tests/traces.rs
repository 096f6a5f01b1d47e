//! Traces cross the event log: with an OTLP endpoint configured, the
//! distributed platform exports a gateway `request` span that continues the
//! ad server's trace, a worker `process` span that is that request span's
//! child (its context carried in the Kafka record's `traceparent` header),
//! and an API `request` span per call. The receiver is a real OTLP/HTTP
//! endpoint on loopback that decodes what the services' own exporters send
//! (`ExportTraceServiceRequest`, protobuf).

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use chrono::{SecondsFormat, Utc};
use common::platform::Platform;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use prost::Message as _;
use serde_json::json;

/// One exported span, as the receiver decoded it.
#[derive(Clone, Debug)]
struct Span {
    service: String,
    name: String,
    trace_id: Vec<u8>,
    span_id: Vec<u8>,
    parent: Vec<u8>,
    attributes: Vec<(String, String)>,
}

impl Span {
    fn attr(&self, key: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

fn text(v: Option<&opentelemetry_proto::tonic::common::v1::AnyValue>) -> String {
    match v.and_then(|v| v.value.as_ref()) {
        Some(AnyValue::StringValue(s)) => s.clone(),
        Some(AnyValue::IntValue(i)) => i.to_string(),
        Some(AnyValue::BoolValue(b)) => b.to_string(),
        Some(AnyValue::DoubleValue(d)) => d.to_string(),
        _ => String::new(),
    }
}

/// An OTLP/HTTP receiver on a free loopback port: its traces URL and the
/// spans it was sent.
async fn receiver() -> (String, Arc<Mutex<Vec<Span>>>) {
    let spans = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&spans);
    let app = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |body: Bytes| {
            let sink = Arc::clone(&sink);
            async move {
                let Ok(req) = ExportTraceServiceRequest::decode(body) else {
                    return axum::http::StatusCode::BAD_REQUEST;
                };
                let mut out = sink.lock().expect("spans");
                for rs in req.resource_spans {
                    let service = rs
                        .resource
                        .iter()
                        .flat_map(|r| &r.attributes)
                        .find(|a| a.key == "service.name")
                        .map(|a| text(a.value.as_ref()))
                        .unwrap_or_default();
                    for s in rs.scope_spans.into_iter().flat_map(|ss| ss.spans) {
                        out.push(Span {
                            service: service.clone(),
                            name: s.name,
                            trace_id: s.trace_id,
                            span_id: s.span_id,
                            parent: s.parent_span_id,
                            attributes: s
                                .attributes
                                .iter()
                                .map(|a| (a.key.clone(), text(a.value.as_ref())))
                                .collect(),
                        });
                    }
                }
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/v1/traces"), spans)
}

/// Waits (up to 30 s: spans leave in batches) for a span `pick` accepts.
async fn wait_for(spans: &Mutex<Vec<Span>>, what: &str, pick: impl Fn(&Span) -> bool) -> Span {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(s) = spans.lock().expect("spans").iter().find(|s| pick(s)) {
            return s.clone();
        }
        assert!(
            Instant::now() < deadline,
            "no {what} span arrived; got: {:#?}",
            spans.lock().expect("spans")
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trace_runs_from_the_ad_server_through_the_gateway_and_kafka_into_the_worker() {
    let (url, spans) = receiver().await;
    let p = Platform::distributed_with(&[("ADPULSE__TELEMETRY__OTLP_ENDPOINT", &url)]).await;
    let t = p.tenant("traced", 1).await;

    // The ad server's own trace, as it would send it.
    let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let sender_span = "00f067aa0ba902b7";
    let event = json!({
        "event_id": uuid::Uuid::now_v7().to_string(),
        "type": "impression",
        "campaign_id": t.campaigns[0],
        "ad_id": "creative-1",
        "channel": "display",
        "occurred_at": Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
    });
    let auth = format!("Bearer {}", t.key);
    let parent = format!("00-{trace}-{sender_span}-01");
    let r = p
        .gateway
        .send(
            "POST",
            "/v1/events",
            &[
                ("authorization", &auth),
                ("content-type", "application/json"),
                ("traceparent", &parent),
            ],
            event.to_string(),
        )
        .await;
    assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));

    let request = wait_for(&spans, "gateway request", |s| {
        s.service == "gateway" && s.name == "request" && hex(&s.trace_id) == trace
    })
    .await;
    assert_eq!(
        hex(&request.parent),
        sender_span,
        "the gateway continues the sender's trace"
    );

    let process = wait_for(&spans, "worker process", |s| {
        s.service == "worker" && s.name == "process" && hex(&s.trace_id) == trace
    })
    .await;
    assert_eq!(
        process.parent, request.span_id,
        "the worker's span is a child of the gateway's request span"
    );
    assert_eq!(process.attr("event_id"), event["event_id"].as_str());
    assert_eq!(process.attr("outcome"), Some("applied"));

    // The API: a read with the campaign manager's own trace.
    let api_trace = "0af7651916cd43dd8448eb211c80319c";
    let auth = format!("Bearer {}", t.token);
    let path = format!("/api/v1/campaigns/{}/realtime", t.campaigns[0]);
    let r = p
        .api
        .send(
            "GET",
            &path,
            &[
                ("authorization", &auth),
                (
                    "traceparent",
                    &format!("00-{api_trace}-b7ad6b7169203331-01"),
                ),
            ],
            "",
        )
        .await;
    assert_eq!(r.status, 200);
    let api = wait_for(&spans, "API request", |s| {
        s.service == "api" && s.name == "request" && hex(&s.trace_id) == api_trace
    })
    .await;
    assert_eq!(hex(&api.parent), "b7ad6b7169203331");
    assert_eq!(api.attr("route"), Some("/api/v1/campaigns/{id}/realtime"));
    assert_eq!(api.attr("status"), Some("200"));
}
