//! Logs, traces and metrics for every adpulse process.
//!
//! [`init`] installs one `tracing` subscriber: human-readable lines on a
//! terminal, JSON lines otherwise, and OTLP trace export when an endpoint is
//! configured. Metrics go through the `metrics` facade into one Prometheus
//! registry per process, rendered by [`metrics_router`] at `/metrics`
//! with every series' HELP text (each service describes its own), the
//! process's own figures and `adpulse_build_info` (`process`).

mod process;

use std::io::IsTerminal;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use adpulse_config::{LogFormat, TelemetryConfig};
use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Telemetry that could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// The log filter does not parse.
    #[error("invalid log filter {filter:?}: {source}")]
    Filter {
        /// The configured directives.
        filter: String,
        /// Why they do not parse.
        source: tracing_subscriber::filter::ParseError,
    },
    /// The OTLP exporter could not be built (a bad endpoint URL).
    #[error("cannot export traces to {endpoint}: {source}")]
    Otlp {
        /// The configured endpoint.
        endpoint: String,
        /// The exporter's complaint.
        source: opentelemetry_otlp::ExporterBuildError,
    },
    /// Another global subscriber was installed first.
    #[error("a tracing subscriber is already installed: {0}")]
    AlreadyInstalled(#[from] tracing_subscriber::util::TryInitError),
}

/// Keeps trace export alive; flushes it on [`Telemetry::shutdown`].
#[must_use = "dropping it does not flush traces; call shutdown"]
pub struct Telemetry {
    tracer: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Flushes and stops trace export. Call once, at the end of `main`.
    pub fn shutdown(self) {
        if let Some(tracer) = self.tracer
            && let Err(e) = tracer.shutdown()
        {
            tracing::warn!(error = %e, "trace exporter did not shut down cleanly");
        }
    }
}

/// The process's name in traces and in `adpulse_build_info`.
static SERVICE: OnceLock<&'static str> = OnceLock::new();

/// Installs the global subscriber for `service` (its name in traces).
pub fn init(cfg: &TelemetryConfig, service: &'static str) -> Result<Telemetry, TelemetryError> {
    let _ = SERVICE.set(service);
    let filter = EnvFilter::try_new(&cfg.log_filter).map_err(|source| TelemetryError::Filter {
        filter: cfg.log_filter.clone(),
        source,
    })?;
    let json = match cfg.log_format {
        LogFormat::Json => true,
        LogFormat::Pretty => false,
        LogFormat::Auto => !std::io::stderr().is_terminal(),
    };
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let fmt: Box<dyn Layer<_> + Send + Sync> = if json {
        fmt.json()
            .flatten_event(true)
            .with_current_span(true)
            .boxed()
    } else {
        fmt.boxed()
    };

    let tracer = cfg
        .otlp_endpoint
        .as_deref()
        .map(|endpoint| otlp_provider(endpoint, service))
        .transpose()?;
    // Spans at info and above are exported whatever the log filter says: a
    // quiet log must not cut traces.
    let otel = tracer.as_ref().map(|p| {
        tracing_opentelemetry::layer()
            .with_tracer(p.tracer(service))
            .with_filter(tracing_subscriber::filter::LevelFilter::INFO)
    });
    EXPORTING.store(tracer.is_some(), Ordering::Relaxed);

    // Metrics recorded before the registry exists would be lost.
    let _ = prometheus();
    tracing_subscriber::registry()
        .with(fmt.with_filter(filter))
        .with(otel)
        .try_init()?;
    Ok(Telemetry { tracer })
}

/// OTLP over HTTP/protobuf. The blocking client runs on the batch
/// processor's own thread, so export needs no async runtime and never
/// competes with request handling.
fn otlp_provider(
    endpoint: &str,
    service: &'static str,
) -> Result<SdkTracerProvider, TelemetryError> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(endpoint)
        .with_timeout(std::time::Duration::from_secs(5))
        .build()
        .map_err(|source| TelemetryError::Otlp {
            endpoint: endpoint.to_owned(),
            source,
        })?;
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(Resource::builder().with_service_name(service).build())
        .build())
}

/// Makes `span` a child of the W3C trace context (`traceparent`) in
/// `headers`, so a sender's trace continues through adpulse. A no-op when
/// trace export is off or the headers carry no context.
pub fn adopt_remote_parent(span: &tracing::Span, headers: &axum::http::HeaderMap) {
    use opentelemetry::propagation::{Extractor, TextMapPropagator as _};
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;

    struct Headers<'a>(&'a axum::http::HeaderMap);
    impl Extractor for Headers<'_> {
        fn get(&self, key: &str) -> Option<&str> {
            self.0.get(key).and_then(|v| v.to_str().ok())
        }
        fn keys(&self) -> Vec<&str> {
            self.0.keys().map(axum::http::HeaderName::as_str).collect()
        }
    }
    if headers.contains_key("traceparent") {
        let cx = opentelemetry_sdk::propagation::TraceContextPropagator::new()
            .extract(&Headers(headers));
        let _ = span.set_parent(cx);
    }
}

/// Whether spans are exported (an OTLP endpoint is configured).
static EXPORTING: AtomicBool = AtomicBool::new(false);

/// Whether this process exports traces: work that only makes spans for
/// export (one per event, say) can skip it when not.
pub fn exporting() -> bool {
    EXPORTING.load(Ordering::Relaxed)
}

/// Makes `span` a child of the W3C trace context `traceparent` (as carried
/// in a Kafka record's header), so a trace continues across the event
/// log. A no-op when the text is not a valid context.
pub fn continue_trace(span: &tracing::Span, traceparent: &str) {
    use opentelemetry::propagation::{Extractor, TextMapPropagator as _};
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;

    struct One<'a>(&'a str);
    impl Extractor for One<'_> {
        fn get(&self, key: &str) -> Option<&str> {
            (key == "traceparent").then_some(self.0)
        }
        fn keys(&self) -> Vec<&str> {
            vec!["traceparent"]
        }
    }
    let cx =
        opentelemetry_sdk::propagation::TraceContextPropagator::new().extract(&One(traceparent));
    let _ = span.set_parent(cx);
}

/// The W3C `traceparent` of `span` when it is being traced, to carry the
/// trace across Kafka into the workers.
pub fn traceparent(span: &tracing::Span) -> Option<String> {
    use opentelemetry::trace::TraceContextExt as _;
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;

    let cx = span.context();
    let sc = cx.span().span_context().clone();
    sc.is_valid().then(|| {
        format!(
            "00-{}-{}-{:02x}",
            sc.trace_id(),
            sc.span_id(),
            sc.trace_flags().to_u8()
        )
    })
}

/// The process's Prometheus registry, installed as the `metrics` recorder on
/// first use. One per process: every server started in it shares it.
pub fn prometheus() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            // Latency histograms in seconds: 0.1 ms to 10 s.
            let buckets = [
                0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                0.5, 1.0, 2.5, 5.0, 10.0,
            ];
            let recorder = match PrometheusBuilder::new().set_buckets(&buckets) {
                Ok(b) => b.build_recorder(),
                Err(_) => PrometheusBuilder::new().build_recorder(),
            };
            let handle = recorder.handle();
            // Fails only if another recorder was installed first; metrics
            // then go there and this registry stays empty, which is visible.
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("another metrics recorder is installed; /metrics will be empty");
            }
            handle
        })
        .clone()
}

/// `GET /metrics` in the Prometheus text format. Installs the registry now,
/// so metrics recorded from here on are kept.
pub fn metrics_router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    let _ = prometheus();
    Router::new().route("/metrics", get(render))
}

async fn render() -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        prometheus().render() + &process::exposition(SERVICE.get().copied().unwrap_or("adpulse")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_filter_is_a_clear_error() {
        let cfg = TelemetryConfig {
            log_filter: "info,[".into(),
            ..TelemetryConfig::default()
        };
        let err = init(&cfg, "test").err().expect("rejected");
        assert!(err.to_string().contains("invalid log filter"), "{err}");
    }

    #[tokio::test]
    async fn metrics_route_serves_the_prometheus_text_format() {
        use tower::ServiceExt as _;
        let router = metrics_router::<()>();
        metrics::counter!("adpulse_telemetry_route_total").increment(1);
        let response = router
            .oneshot(
                axum::http::Request::get("/metrics")
                    .body(axum::body::Body::empty())
                    .expect("request"),
            )
            .await
            .expect("infallible");
        assert_eq!(response.status(), axum::http::StatusCode::OK);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "text/plain; version=0.0.4; charset=utf-8"
        );
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .expect("body");
        let text = String::from_utf8(body.to_vec()).expect("utf-8");
        assert!(text.contains("adpulse_telemetry_route_total 1"), "{text}");
    }

    #[test]
    fn counters_appear_in_the_rendered_registry() {
        let handle = prometheus();
        metrics::counter!("adpulse_telemetry_selftest_total", "kind" => "unit").increment(3);
        let text = handle.render();
        assert!(
            text.contains("adpulse_telemetry_selftest_total{kind=\"unit\"} 3"),
            "{text}"
        );
    }
}
