//! The browser's session: `POST /session` (log in), `POST /session/refresh`
//! and `DELETE /session` (log out), for the web console.
//!
//! The same logins and rotating refresh tokens as `/auth/*`, but the
//! refresh token travels only in an `HttpOnly`, `SameSite=Strict` cookie
//! scoped to `/api/v1/session` (and `Secure` behind TLS), so no script of
//! the page can read it; the page keeps only the short-lived access token,
//! in memory. Cross-site request forgery is refused twice over: the cookie
//! is never sent cross-site (`SameSite=Strict`), and every session request
//! must carry the header `X-Adpulse-CSRF`, which a cross-origin page cannot
//! set without a CORS preflight that the API never grants; a request whose
//! `Origin` names another host is refused as well.

use std::net::SocketAddr;

use adpulse_domain::Role;
use adpulse_domain::store::UserRecord;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use uuid::Uuid;

use crate::AppState;
use crate::auth::{self, LoginRequest};
use crate::error::ApiError;
use crate::http::json_body;
use crate::openapi::responses as r;

/// The cookie that holds the refresh token.
pub const COOKIE: &str = "adpulse_session";
/// The header every session request carries.
pub const CSRF_HEADER: &str = "x-adpulse-csrf";
/// Where the cookie is sent: the session endpoints only.
const COOKIE_PATH: &str = "/api/v1/session";

/// A session's access token and who it is for.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SessionOut {
    /// Send as `Authorization: Bearer …`; keep it in memory only.
    access_token: String,
    /// Always `Bearer`.
    token_type: &'static str,
    /// Seconds the access token lives: renew before, with
    /// `POST /session/refresh`.
    expires_in: u64,
    /// Who is logged in.
    user: SessionUser,
}

/// The logged-in user.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SessionUser {
    id: Uuid,
    email: String,
    role: Role,
    tenant_id: Uuid,
}

/// Refuses a request that lacks the CSRF header or comes from a page of
/// another origin (403 `forbidden`).
fn same_site(headers: &HeaderMap) -> Result<(), ApiError> {
    if !headers.contains_key(CSRF_HEADER) {
        return Err(ApiError::Forbidden(
            "session requests must carry the X-Adpulse-CSRF header".into(),
        ));
    }
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin_host = origin
            .to_str()
            .ok()
            .and_then(|o| o.split_once("://"))
            .map(|(_, rest)| rest);
        if origin_host.is_none() || origin_host != host {
            return Err(ApiError::Forbidden(
                "session requests are accepted from the console's own origin only".into(),
            ));
        }
    }
    Ok(())
}

/// Whether the browser reached us over TLS (directly or through a proxy
/// that says so), which makes the cookie `Secure`.
fn over_tls(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|p| p.eq_ignore_ascii_case("https"))
}

/// The `Set-Cookie` value carrying `token` for `max_age` seconds (0
/// clears it).
fn cookie(token: &str, max_age: u64, secure: bool) -> Result<HeaderValue, ApiError> {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE}={token}; Path={COOKIE_PATH}; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}"
    ))
    .map_err(|e| ApiError::Internal(e.to_string()))
}

/// The refresh token in the request's cookies, if any.
fn presented(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_owned())
        .filter(|v| !v.is_empty())
}

/// The answer of a login or renewal: the access token and user in the
/// body, the refresh token in the cookie.
async fn open(
    state: &AppState,
    headers: &HeaderMap,
    user: &UserRecord,
    family: Uuid,
    refresh: Option<(String, [u8; 32])>,
) -> Result<Response, ApiError> {
    let t = auth::issue_tokens(state, user.id, user.tenant_id, user.role, family, refresh).await?;
    let set = cookie(
        &t.refresh_token,
        state.auth.refresh_ttl().as_secs(),
        over_tls(headers),
    )?;
    let body = SessionOut {
        access_token: t.access_token,
        token_type: "Bearer",
        expires_in: state.auth.access_ttl().as_secs(),
        user: SessionUser {
            id: user.id,
            email: user.email.clone(),
            role: user.role,
            tenant_id: *user.tenant_id.as_uuid(),
        },
    };
    Ok((
        [
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (header::SET_COOKIE, set),
        ],
        axum::Json(body),
    )
        .into_response())
}

/// `POST /session`: e-mail and password for a session.
#[utoipa::path(post, path = "/api/v1/session", tag = "auth", request_body = LoginRequest,
    params(("X-Adpulse-CSRF" = String, Header, description = "any value; required")),
    responses((status = 200, description = "logged in; the refresh token is in the `adpulse_session` cookie (HttpOnly)", body = SessionOut),
        r::BadRequest, r::Unauthorized, r::Forbidden, r::PayloadTooLarge, r::Unprocessable, r::TooManyRequests, r::Unavailable))]
pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    same_site(&headers)?;
    let req: LoginRequest = json_body(&headers, &body)?;
    let user = auth::check_credentials(&state, peer.ip(), req).await?;
    open(&state, &headers, &user, Uuid::now_v7(), None).await
}

/// `POST /session/refresh`: a new access token for the session's cookie,
/// which is rotated.
#[utoipa::path(post, path = "/api/v1/session/refresh", tag = "auth",
    params(("X-Adpulse-CSRF" = String, Header, description = "any value; required")),
    responses((status = 200, description = "renewed; the cookie is rotated", body = SessionOut),
        r::Unauthorized, r::Forbidden, r::Unavailable))]
pub async fn refresh(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    same_site(&headers)?;
    let Some(token) = presented(&headers) else {
        return Err(ApiError::unauthorized(
            "no_session",
            "there is no session: log in",
        ));
    };
    let (user, family, next) = auth::rotate(&state, &token).await?;
    open(&state, &headers, &user, family, Some(next)).await
}

/// `DELETE /session`: logs out (every token of this login is revoked) and
/// clears the cookie.
#[utoipa::path(delete, path = "/api/v1/session", tag = "auth",
    params(("X-Adpulse-CSRF" = String, Header, description = "any value; required")),
    responses((status = 204, description = "logged out"), r::Forbidden, r::Unavailable))]
pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    same_site(&headers)?;
    if let Some(token) = presented(&headers) {
        auth::revoke(&state, &token).await?;
    }
    // The same answer whether or not there was a session.
    Ok((
        StatusCode::NO_CONTENT,
        [(header::SET_COOKIE, cookie("", 0, over_tls(&headers))?)],
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).expect("value"));
        }
        h
    }

    #[test]
    fn the_csrf_header_is_required_and_another_origin_refused() {
        assert!(same_site(&headers(&[("host", "a:1")])).is_err());
        assert!(same_site(&headers(&[("host", "a:1"), (CSRF_HEADER, "1")])).is_ok());
        let same = [
            ("host", "a:1"),
            (CSRF_HEADER, "1"),
            ("origin", "http://a:1"),
        ];
        assert!(same_site(&headers(&same)).is_ok());
        let other = [
            ("host", "a:1"),
            (CSRF_HEADER, "1"),
            ("origin", "http://evil:1"),
        ];
        assert!(same_site(&headers(&other)).is_err());
        let null = [("host", "a:1"), (CSRF_HEADER, "1"), ("origin", "null")];
        assert!(same_site(&headers(&null)).is_err());
    }

    #[test]
    fn the_refresh_token_is_read_from_its_cookie_among_others() {
        let h = headers(&[("cookie", "a=1; adpulse_session=adr_x; b=2")]);
        assert_eq!(presented(&h).as_deref(), Some("adr_x"));
        assert_eq!(presented(&headers(&[("cookie", "adpulse_session=")])), None);
        assert_eq!(presented(&headers(&[])), None);
    }

    #[test]
    fn the_cookie_is_http_only_strict_scoped_and_secure_behind_tls() {
        let c = cookie("t", 60, false).expect("cookie");
        let c = c.to_str().expect("ascii");
        assert!(
            c.contains("HttpOnly") && c.contains("SameSite=Strict"),
            "{c}"
        );
        assert!(
            c.contains("Path=/api/v1/session") && !c.contains("Secure"),
            "{c}"
        );
        let tls = headers(&[("x-forwarded-proto", "https")]);
        assert!(over_tls(&tls));
        let c = cookie("t", 60, over_tls(&tls)).expect("cookie");
        assert!(c.to_str().expect("ascii").ends_with("; Secure"));
    }
}
