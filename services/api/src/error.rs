//! Every API error: a stable code per kind and the status that goes with
//! it, answered in the one error body of adpulse's HTTP services
//! ([`adpulse_http::error::ErrorBody`]):
//! `{"error":{"code","message","errors":[{"field","message"}]}}`.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

pub use adpulse_http::error::{ErrorBody, FieldProblem};

/// An error answered to the client.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request cannot be read (malformed JSON, bad query string).
    #[error("{0}")]
    BadRequest(String),
    /// 422: readable, but values are invalid.
    #[error("the request has invalid fields")]
    Invalid(Vec<FieldProblem>),
    /// 401: no valid credentials (`code` says which: `unauthorized`,
    /// `token_expired`, `invalid_token`, `invalid_credentials`,
    /// `refresh_reused`).
    #[error("{message}")]
    Unauthorized {
        /// The stable code.
        code: &'static str,
        /// For people.
        message: String,
    },
    /// 403: authenticated, but the role does not allow it.
    #[error("{0}")]
    Forbidden(String),
    /// 404: no such resource in the caller's tenant (another tenant's looks
    /// exactly the same).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// 409: the change conflicts with the resource's state.
    #[error("{message}")]
    Conflict {
        /// The stable code.
        code: &'static str,
        /// For people.
        message: String,
        /// Details per field.
        errors: Vec<FieldProblem>,
    },
    /// 413: a body or upload over its limit.
    #[error("{0}")]
    TooLarge(String),
    /// 412: `If-Match` names a version that is no longer current.
    #[error("the resource changed since it was read (current ETag {current})")]
    PreconditionFailed {
        /// The current ETag.
        current: String,
    },
    /// 428: a change without `If-Match`.
    #[error("send If-Match with the ETag of the version you read")]
    PreconditionRequired,
    /// 429: too many requests; retry after this many seconds.
    #[error("too many requests; retry in {0} s")]
    TooManyRequests(u64),
    /// 503: a dependency does not answer; retry later.
    #[error("temporarily unavailable; retry later")]
    Unavailable,
    /// 503: an operator made the API read-only (a kill switch); reads
    /// work, changes are refused until it is cleared.
    #[error("the API is read-only for maintenance: nothing was changed; retry later")]
    ReadOnly,
    /// 500: a bug. Logged; the client gets no details.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            Self::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            Self::Unauthorized { code, .. } => (StatusCode::UNAUTHORIZED, code),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Self::Conflict { code, .. } => (StatusCode::CONFLICT, code),
            Self::PreconditionFailed { .. } => {
                (StatusCode::PRECONDITION_FAILED, "precondition_failed")
            }
            Self::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            Self::PreconditionRequired => {
                (StatusCode::PRECONDITION_REQUIRED, "precondition_required")
            }
            Self::TooManyRequests(_) => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            Self::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            Self::ReadOnly => (StatusCode::SERVICE_UNAVAILABLE, "read_only"),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }

    /// A 401 with `code`.
    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> Self {
        Self::Unauthorized {
            code,
            message: message.into(),
        }
    }
}

impl From<adpulse_domain::store::StoreError> for ApiError {
    fn from(e: adpulse_domain::store::StoreError) -> Self {
        if let adpulse_domain::store::StoreError::Duplicate(_) = e {
            return Self::Conflict {
                code: "already_exists",
                message: "a resource with that unique value already exists".into(),
                errors: Vec::new(),
            };
        }
        if let adpulse_domain::store::StoreError::Invalid(_) = e {
            // The API validates what it writes; a value the store still
            // refuses is the request's, not the server's, fault.
            return Self::Invalid(vec![FieldProblem::new(
                "request",
                "a value cannot be stored (out of range or not allowed)",
            )]);
        }
        if e.is_retryable() {
            tracing::warn!(error = %e, "postgres unavailable");
            Self::Unavailable
        } else {
            Self::Internal(e.to_string())
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        if let Self::Internal(detail) = &self {
            tracing::error!(error = %detail, "internal error");
        }
        let message = self.to_string();
        let mut headers = HeaderMap::new();
        match &self {
            Self::TooManyRequests(secs) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*secs));
            }
            Self::Unavailable => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(1u64));
            }
            Self::ReadOnly => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(30u64));
            }
            Self::PreconditionFailed { current } => {
                if let Ok(v) = HeaderValue::from_str(current) {
                    headers.insert(header::ETAG, v);
                }
            }
            Self::Unauthorized { .. } => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            _ => {}
        }
        let errors = match self {
            Self::Invalid(e) | Self::Conflict { errors: e, .. } => e,
            _ => Vec::new(),
        };
        let mut response = ErrorBody::new(code, message, errors).into_response(status);
        response.headers_mut().extend(headers);
        response
    }
}
