//! The listeners' metrics, named once. Exposed at each service's
//! `/metrics`; `listener` is `gateway`, `api` or `worker`.

/// A connection accepted: `adpulse_http_connections_total{listener}`.
pub(crate) fn accepted(listener: &'static str) {
    metrics::counter!("adpulse_http_connections_total", "listener" => listener).increment(1);
}

/// The listener was full and stopped accepting until a connection closed
/// (new ones waited in the kernel's backlog):
/// `adpulse_http_connection_cap_reached_total{listener}`.
pub(crate) fn cap_reached(listener: &'static str) {
    metrics::counter!("adpulse_http_connection_cap_reached_total", "listener" => listener)
        .increment(1);
}

/// A connection closed, or a body refused, for being too slow:
/// `adpulse_http_timeouts_total{listener,phase}` (`header`, `idle`, `body`).
pub(crate) fn timed_out(listener: &'static str, phase: &'static str) {
    metrics::counter!("adpulse_http_timeouts_total", "listener" => listener, "phase" => phase)
        .increment(1);
}

/// One open connection, counted in
/// `adpulse_http_connections_open{listener}` while it lives.
pub(crate) struct Open(&'static str);

impl Open {
    pub(crate) fn new(listener: &'static str) -> Self {
        metrics::gauge!("adpulse_http_connections_open", "listener" => listener).increment(1.0);
        Self(listener)
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        metrics::gauge!("adpulse_http_connections_open", "listener" => self.0).decrement(1.0);
    }
}

/// A dependency checked by readiness:
/// `adpulse_dependency_up{service,dependency,required}` (1 or 0) and
/// `adpulse_dependency_check_seconds{service,dependency}`.
pub(crate) fn dependency(
    service: &'static str,
    dependency: &'static str,
    required: bool,
    up: bool,
    took: std::time::Duration,
) {
    let required = if required { "true" } else { "false" };
    metrics::gauge!("adpulse_dependency_up", "service" => service, "dependency" => dependency, "required" => required)
        .set(if up { 1.0 } else { 0.0 });
    metrics::histogram!("adpulse_dependency_check_seconds", "service" => service, "dependency" => dependency)
        .record(took.as_secs_f64());
}

/// The service started draining: `adpulse_draining{service}` is 1 from
/// then on.
pub(crate) fn draining(service: &'static str) {
    metrics::gauge!("adpulse_draining", "service" => service).set(1.0);
}

/// HELP text for the listeners' and readiness series.
pub(crate) fn describe() {
    metrics::describe_counter!(
        "adpulse_http_connections_total",
        "Connections accepted, by listener."
    );
    metrics::describe_counter!(
        "adpulse_http_connection_cap_reached_total",
        "Times a listener was full and stopped accepting until a connection closed."
    );
    metrics::describe_counter!(
        "adpulse_http_timeouts_total",
        "Connections closed or bodies refused for being too slow, by listener and phase (header, idle, body)."
    );
    metrics::describe_gauge!(
        "adpulse_http_connections_open",
        "Connections open, by listener."
    );
    metrics::describe_gauge!(
        "adpulse_dependency_up",
        "1 if the dependency answered the last readiness check, else 0, by service, dependency and whether the service is ready without it."
    );
    metrics::describe_histogram!(
        "adpulse_dependency_check_seconds",
        metrics::Unit::Seconds,
        "Time a dependency took to answer a readiness check."
    );
    metrics::describe_gauge!(
        "adpulse_draining",
        "1 once the service is shutting down (readiness fails)."
    );
}
