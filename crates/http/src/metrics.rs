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
