//! Every refusal the gateway gives, in the one error body of adpulse's
//! HTTP services ([`adpulse_http::error::ErrorBody`]):
//! `{"error":{"code","message","errors":[{"field","code","message"}]}}`,
//! each field problem with the domain's code for it.

use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use adpulse_domain::{ErrorCode, FieldError, RejectReason};
use adpulse_http::error::{ErrorBody, FieldProblem};

/// A refused request: status, stable code, message, field problems and any
/// extra headers (`Retry-After`, `RateLimit-*`).
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code.
    pub code: &'static str,
    /// For humans.
    pub message: String,
    /// Field problems, when the refusal is about an event's content.
    pub errors: Vec<FieldError>,
    /// Extra response headers.
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

impl ApiError {
    /// An error without field details.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            errors: Vec::new(),
            headers: Vec::new(),
        }
    }

    /// Adds `Retry-After: secs`.
    pub fn retry_after(mut self, secs: u64) -> Self {
        self.headers
            .push((header::RETRY_AFTER, HeaderValue::from(secs.max(1))));
        self
    }

    /// A body the domain refused: 400 when it is not a JSON object, 413 when
    /// too large, else 422, with every field problem listed; `what` names
    /// the body in the message ("event", "request").
    pub fn rejected(reason: RejectReason, what: &str) -> Self {
        let status = match reason.code() {
            ErrorCode::InvalidJson | ErrorCode::NotAnObject => StatusCode::BAD_REQUEST,
            ErrorCode::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        };
        let message = match reason.errors.len() {
            1 => reason.to_string(),
            n => format!("the {what} has {n} problems; each is listed in errors"),
        };
        let mut e = Self::new(status, reason.code().as_str(), message);
        e.errors = reason.errors;
        e
    }

    /// 503: a dependency cannot take the request now.
    pub fn unavailable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, code, message).retry_after(1)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let errors = self
            .errors
            .into_iter()
            .map(|e| FieldProblem::with_code(e.field, e.code.as_str(), e.message))
            .collect();
        let mut response =
            ErrorBody::new(self.code, self.message, errors).into_response(self.status);
        response.headers_mut().extend(self.headers);
        response
    }
}
