//! Trace export end to end: with an endpoint configured, spans reach an OTLP
//! collector as HTTP/protobuf POSTs. The collector here is a bare TCP
//! listener on loopback that records what it is sent (the receiving end is
//! the thing under observation, not a double of adpulse code).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::Duration;

use adpulse_config::{LogFormat, TelemetryConfig};

#[test]
fn spans_are_exported_to_the_configured_endpoint() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut request_line = String::new();
            reader.read_line(&mut request_line).expect("request line");
            let mut headers = Vec::new();
            let mut len = 0usize;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).expect("header");
                let line = line.trim_end().to_owned();
                if line.is_empty() {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().expect("length");
                }
                headers.push(line);
            }
            let mut body = vec![0; len];
            reader.read_exact(&mut body).expect("body");
            stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n")
                .expect("reply");
            tx.send((request_line, headers, body)).ok();
        }
    });

    let cfg = TelemetryConfig {
        log_format: LogFormat::Json,
        log_filter: "info".into(),
        otlp_endpoint: Some(format!("http://{addr}/v1/traces")),
    };
    let telemetry = adpulse_telemetry::init(&cfg, "otlp-test").expect("telemetry");
    tracing::info_span!("ingest_batch", events = 3).in_scope(|| tracing::info!("inside a span"));
    telemetry.shutdown();

    let (request_line, headers, body) = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("a span export arrived");
    assert!(
        request_line.starts_with("POST /v1/traces "),
        "{request_line}"
    );
    assert!(
        headers
            .iter()
            .any(|h| h.eq_ignore_ascii_case("content-type: application/x-protobuf")),
        "{headers:?}"
    );
    let has = |needle: &[u8]| body.windows(needle.len()).any(|w| w == needle);
    assert!(has(b"ingest_batch"), "span name in the payload");
    assert!(has(b"otlp-test"), "service name in the payload");
}
