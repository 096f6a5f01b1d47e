//! HTTP helpers shared by the endpoints: JSON bodies that name the field
//! at fault, query strings, ETags, and the security headers every response
//! carries.

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};
use serde::de::DeserializeOwned;

use crate::error::{ApiError, ErrorBody, FieldProblem};

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
/// NUL characters are refused anywhere (Postgres text cannot hold them).
pub fn from_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    if body.windows(6).any(|w| w.eq_ignore_ascii_case(b"\\u0000")) {
        return Err(ApiError::Invalid(vec![FieldProblem::new(
            "",
            "NUL characters are not allowed",
        )]));
    }
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
    let raw = raw.unwrap_or("");
    if raw.contains("%00") || raw.contains('\0') {
        return Err(ApiError::BadRequest(
            "NUL characters are not allowed".into(),
        ));
    }
    serde_urlencoded::from_str(raw)
        .map_err(|e| ApiError::BadRequest(format!("invalid query string: {e}")))
}

/// The ETag of a resource at `version`.
pub fn etag(version: i64) -> String {
    format!("\"{version}\"")
}

/// The version an `If-Match` header names (`*` names the current one);
/// 428 without one, 412 if it is not an ETag of ours.
pub fn if_match(headers: &HeaderMap, current: i64) -> Result<i64, ApiError> {
    let failed = || ApiError::PreconditionFailed {
        current: etag(current),
    };
    let value = headers
        .get(header::IF_MATCH)
        .ok_or(ApiError::PreconditionRequired)?
        .to_str()
        .map_err(|_| failed())?
        .trim();
    if value == "*" {
        return Ok(current);
    }
    value
        .trim_start_matches("W/")
        .trim_matches('"')
        .parse()
        .map_err(|_| failed())
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

/// Limits the bodies of `router`'s routes to `max` bytes: a body that
/// declares more (`Content-Length`) is refused 413 before a byte of it is
/// read, instead of waiting for a gigabyte that may never come; one that
/// streams past `max` is cut off there (axum's `DefaultBodyLimit`, which
/// the body extractors read). Both are route layers, so a group of routes
/// keeps its own limit whatever router it is merged into.
pub fn body_limit<S: Clone + Send + Sync + 'static>(router: Router<S>, max: usize) -> Router<S> {
    router.route_layer(DefaultBodyLimit::max(max)).route_layer(
        axum::middleware::from_fn_with_state(max, refuse_declared_over),
    )
}

async fn refuse_declared_over(State(max): State<usize>, request: Request, next: Next) -> Response {
    match adpulse_http::declared_length(request.headers()) {
        Some(declared) if declared > max as u64 => ApiError::TooLarge(format!(
            "the body declares {declared} bytes, over the limit of {max}"
        ))
        .into_response(),
        _ => next.run(request).await,
    }
}

/// Adds the headers every API response carries: no sniffing, no framing,
/// no referrer, nothing to execute, and no caching unless set.
pub async fn security_headers(request: Request, next: Next) -> Response {
    // The docs page runs its own (bundled) scripts and styles, and so does
    // the console (every path outside the API's).
    let path = request.uri().path();
    let docs = path.starts_with("/api/v1/docs");
    let console = adpulse_console::owns(request.method(), path);
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
        HeaderValue::from_static(if docs {
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; frame-ancestors 'none'"
        } else if console {
            adpulse_console::CSP
        } else {
            "default-src 'none'; frame-ancestors 'none'"
        }),
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
    // JSON errors are the handlers' own; an HTML page is the console's
    // (its "not built" page).
    let is_own = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json") || v.starts_with("text/html"));
    if !(status.is_client_error() || status.is_server_error()) || is_own {
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
    let mut out = ErrorBody::new(code, message, Vec::new()).into_response(status);
    for name in [header::ALLOW, header::RETRY_AFTER] {
        if let Some(v) = response.headers().get(&name) {
            out.headers_mut().insert(name, v.clone());
        }
    }
    out
}

/// The CORS allow-list and the v1 deprecation notice, applied to every
/// response.
#[derive(Clone, Debug, Default)]
pub struct Policies {
    /// Origins allowed to call the API from a browser (exact matches).
    pub cors_origins: Vec<String>,
    /// `Sunset` value (an HTTP date) when v1 is deprecated.
    pub sunset: Option<HeaderValue>,
}

impl Policies {
    /// From the configuration; fails on a `v1_sunset` that is not RFC 3339.
    pub fn new(cfg: &adpulse_config::ApiConfig) -> Result<Self, String> {
        let sunset = cfg
            .v1_sunset
            .as_deref()
            .map(|s| {
                chrono::DateTime::parse_from_rfc3339(s)
                    .map_err(|e| format!("api.v1_sunset {s:?}: {e}"))
                    .and_then(|t| {
                        HeaderValue::from_str(
                            &t.with_timezone(&chrono::Utc)
                                .format("%a, %d %b %Y %H:%M:%S GMT")
                                .to_string(),
                        )
                        .map_err(|e| e.to_string())
                    })
            })
            .transpose()?;
        Ok(Self {
            cors_origins: cfg.cors_origins.clone(),
            sunset,
        })
    }
}

/// CORS for the allowed origins (preflights answered here, with 204) and
/// the deprecation headers on `/api/v1` while a sunset is configured.
pub async fn policies(
    axum::extract::State(p): axum::extract::State<std::sync::Arc<Policies>>,
    request: Request,
    next: Next,
) -> Response {
    let origin = request
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .filter(|o| p.cors_origins.iter().any(|allowed| allowed == o))
        .map(str::to_owned);
    let v1 = request.uri().path().starts_with("/api/v1");
    let preflight = request.method() == axum::http::Method::OPTIONS
        && request
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let mut response = if preflight {
        axum::http::StatusCode::NO_CONTENT.into_response()
    } else {
        next.run(request).await
    };
    let h = response.headers_mut();
    if let Some(origin) = origin.and_then(|o| HeaderValue::from_str(&o).ok()) {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        h.insert(header::VARY, HeaderValue::from_static("Origin"));
        h.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("ETag, Location, Retry-After, Sunset, Deprecation, Link"),
        );
        if preflight {
            h.insert(
                header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static("GET, POST, PUT, PATCH, DELETE"),
            );
            h.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static("Authorization, Content-Type, If-Match, If-None-Match"),
            );
            h.insert(
                header::ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from_static("600"),
            );
        }
    }
    if v1 && let Some(sunset) = &p.sunset {
        h.insert("deprecation", HeaderValue::from_static("true"));
        h.insert("sunset", sunset.clone());
        h.insert(
            header::LINK,
            HeaderValue::from_static("</api/v2>; rel=\"successor-version\""),
        );
    }
    response
}
