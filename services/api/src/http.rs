//! HTTP helpers shared by the endpoints: JSON bodies that name the field
//! at fault, query strings, ETags, and the security headers every response
//! carries.

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};
use serde::de::DeserializeOwned;

use crate::error::{ApiError, FieldProblem};

/// Reads a JSON body: 415 without a JSON content type is answered as 400
/// here (one error shape), and a body that does not fit names its field.
pub fn json_body<T: DeserializeOwned>(headers: &HeaderMap, body: &[u8]) -> Result<T, ApiError> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            let v = v.trim().to_ascii_lowercase();
            v == "application/json"
                || v.starts_with("application/json;")
                || v.starts_with("application/merge-patch+json")
        });
    if !json {
        return Err(ApiError::BadRequest(
            "send the body as JSON (Content-Type: application/json)".into(),
        ));
    }
    from_json(body)
}

/// Deserializes `body`, naming the field a type or shape error is at.
pub fn from_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Ok(v) => v,
        Err(e) => {
            let path = e.path().to_string();
            let inner = e.into_inner();
            return Err(if inner.is_syntax() || inner.is_eof() {
                ApiError::BadRequest(format!("the body is not valid JSON: {inner}"))
            } else if path == "." || path.is_empty() {
                ApiError::Invalid(vec![FieldProblem::new("", inner.to_string())])
            } else {
                ApiError::Invalid(vec![FieldProblem::new(path, inner.to_string())])
            });
        }
    };
    de.end()
        .map_err(|e| ApiError::BadRequest(format!("the body is not valid JSON: {e}")))?;
    Ok(value)
}

/// Reads a query string into `T` (which should deny unknown fields).
pub fn query<T: DeserializeOwned>(raw: Option<&str>) -> Result<T, ApiError> {
    serde_urlencoded::from_str(raw.unwrap_or(""))
        .map_err(|e| ApiError::BadRequest(format!("invalid query string: {e}")))
}

/// The ETag of a resource at `version`.
pub fn etag(version: i64) -> String {
    format!("\"{version}\"")
}

/// The version an `If-Match` header names; 428 without one, 412 if it is
/// not an ETag of ours.
pub fn if_match(headers: &HeaderMap, current_hint: impl Fn() -> String) -> Result<i64, ApiError> {
    let value = headers
        .get(header::IF_MATCH)
        .ok_or(ApiError::PreconditionRequired)?
        .to_str()
        .map_err(|_| ApiError::PreconditionFailed {
            current: current_hint(),
        })?;
    value
        .trim()
        .trim_start_matches("W/")
        .trim_matches('"')
        .parse()
        .map_err(|_| ApiError::PreconditionFailed {
            current: current_hint(),
        })
}

/// Whether `If-None-Match` already names `etag`.
pub fn not_modified(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim().trim_start_matches("W/") == etag)
        })
}

/// Adds the headers every API response carries: no sniffing, no framing,
/// no referrer, nothing to execute, and no caching unless set.
pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
    );
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

/// Rewrites error answers produced outside the handlers (unknown path,
/// wrong method, body over the limit, rejected extractors) into the one
/// error shape; the handlers' own errors already have it.
pub async fn uniform_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (code, message) = match status.as_u16() {
        404 => ("not_found", "no such endpoint".to_owned()),
        405 => (
            "method_not_allowed",
            "this endpoint does not take that method".to_owned(),
        ),
        413 => (
            "payload_too_large",
            "the body is larger than the limit".to_owned(),
        ),
        415 => ("unsupported_media_type", "send the body as JSON".to_owned()),
        s if s >= 500 => ("internal", "internal error".to_owned()),
        _ => ("bad_request", "the request cannot be read".to_owned()),
    };
    let mut out = (
        status,
        axum::Json(serde_json::json!({"error": {"code": code, "message": message, "errors": []}})),
    )
        .into_response();
    for name in [header::ALLOW, header::RETRY_AFTER] {
        if let Some(v) = response.headers().get(&name) {
            out.headers_mut().insert(name, v.clone());
        }
    }
    out
}
