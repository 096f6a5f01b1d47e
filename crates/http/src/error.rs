//! The one error body of every adpulse HTTP service:
//! `{"error":{"code","message","errors":[{"field","code","message"}]}}`.
//!
//! Each service keeps its own error type, because which failures it has and
//! which status each gets are its own business, but renders it through
//! [`ErrorBody`], so a client reads one shape whichever service (or this
//! crate's listener, for a body that timed out) answered. `errors` is always
//! there, empty when no field is at fault, so clients never have to tell a
//! missing list from an empty one. A field problem carries a `code` only
//! where the service classifies field problems (the gateway's event
//! validation does; the API's messages stand alone), and omits it
//! otherwise.
//!
//! With the `openapi` feature the types describe themselves for utoipa, so
//! a service's OpenAPI document states the shape it actually sends.

use std::borrow::Cow;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// One problem with one field of a request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldProblem {
    /// The field, as a path (`budget.currency`, `user.email_sha256`);
    /// empty when the problem is the whole body.
    pub field: String,
    /// The kind of problem, for programs, where the service classifies
    /// them (`missing_field`, `too_long`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<Cow<'static, str>>,
    /// What is wrong with it, for people.
    pub message: String,
}

impl FieldProblem {
    /// A problem with `field`, described by `message` alone.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            code: None,
            message: message.into(),
        }
    }

    /// A problem with `field` of the kind `code`.
    pub fn with_code(
        field: impl Into<String>,
        code: impl Into<Cow<'static, str>>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            field: field.into(),
            code: Some(code.into()),
            message: message.into(),
        }
    }
}

/// The body of every error answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorDetail {
    /// Stable, for programs (`validation_failed`, `not_found`, …).
    pub code: Cow<'static, str>,
    /// For people.
    pub message: String,
    /// Per field, when fields are at fault; empty otherwise.
    pub errors: Vec<FieldProblem>,
}

impl ErrorBody {
    /// A body with the stable `code`, a `message` for people and the
    /// problems per field (empty when no field is at fault).
    pub fn new(
        code: impl Into<Cow<'static, str>>,
        message: impl Into<String>,
        errors: Vec<FieldProblem>,
    ) -> Self {
        Self {
            error: ErrorDetail {
                code: code.into(),
                message: message.into(),
                errors,
            },
        }
    }

    /// The JSON text of the body.
    #[must_use]
    pub fn to_json(&self) -> Vec<u8> {
        // Strings, a list of strings: serializing cannot fail, and if it
        // somehow did an empty body beats a panic in an error path.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// The answer: `status` with this body as `application/json`.
    pub fn into_response(self, status: StatusCode) -> Response {
        (
            status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            self.to_json(),
        )
            .into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_is_the_documented_shape() {
        let body = ErrorBody::new(
            "validation_failed",
            "the request has invalid fields",
            vec![
                FieldProblem::new("name", "must be 1 to 200 characters"),
                FieldProblem::with_code("user.email_sha256", "invalid_sha256", "not hex"),
            ],
        );
        assert_eq!(
            String::from_utf8(body.to_json()).expect("utf-8"),
            r#"{"error":{"code":"validation_failed","message":"the request has invalid fields","errors":[{"field":"name","message":"must be 1 to 200 characters"},{"field":"user.email_sha256","code":"invalid_sha256","message":"not hex"}]}}"#
        );
        let empty = ErrorBody::new("not_found", "campaign not found", Vec::new());
        assert_eq!(
            String::from_utf8(empty.to_json()).expect("utf-8"),
            r#"{"error":{"code":"not_found","message":"campaign not found","errors":[]}}"#
        );
    }
}
