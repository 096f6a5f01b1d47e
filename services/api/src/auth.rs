//! Authentication: `POST /auth/login`, `/auth/refresh`, `/auth/logout`,
//! the access tokens they issue, and [`Caller`], the extractor every other
//! endpoint uses.
//!
//! Access tokens are HS256 JWTs (15 minutes by default) carrying the user,
//! tenant and role; only HS256 is accepted, so `alg: none` and key-type
//! confusion fail. Refresh tokens are 256 random bits stored as SHA-256,
//! one family per login, rotated on every use; a used token presented again
//! revokes its family. Passwords are argon2id, hashed and verified on the
//! blocking pool. Logins are limited per account and per client address.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use adpulse_domain::store::{Rotation, UserRecord};
use adpulse_domain::{Role, TenantId};
use argon2::Argon2;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use chrono::Utc;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

use crate::AppState;
use crate::error::{ApiError, FieldProblem};
use crate::http::json_body;
use crate::openapi::responses as r;

const ISSUER: &str = "adpulse";
const AUDIENCE: &str = "adpulse-api";
const REFRESH_PREFIX: &str = "adr_";

/// Signs and checks access tokens, and holds the login limits.
pub struct Auth {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    access_ttl: Duration,
    refresh_ttl: Duration,
    per_account: DefaultKeyedRateLimiter<String>,
    per_ip: DefaultKeyedRateLimiter<IpAddr>,
    per_user: DefaultKeyedRateLimiter<Uuid>,
    /// A real hash to verify against when the address is unknown, so an
    /// unknown address takes as long as a wrong password.
    decoy_hash: String,
}

/// The claims of an access token.
#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: Uuid,
    tid: Uuid,
    role: Role,
    iss: String,
    aud: String,
    iat: i64,
    exp: i64,
    jti: Uuid,
}

impl Auth {
    /// From the API configuration; fails without a usable secret.
    pub fn new(cfg: &adpulse_config::ApiConfig) -> Result<Self, String> {
        let secret = cfg
            .jwt_secret
            .as_ref()
            .map(|s| s.expose().clone())
            .ok_or("api.jwt_secret is not set (ADPULSE__API__JWT_SECRET, 32 bytes or more)")?;
        if secret.len() < 32 {
            return Err("api.jwt_secret must be at least 32 bytes".into());
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.leeway = 5;
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        let per_minute =
            |n: u32| Quota::per_minute(NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN));
        let per_second = Quota::per_second(
            NonZeroU32::new(cfg.requests_per_user_per_second.max(1)).unwrap_or(NonZeroU32::MIN),
        );
        Ok(Self {
            encoding: EncodingKey::from_secret(secret.as_bytes()).map_err(|e| e.to_string())?,
            decoding: DecodingKey::from_secret(secret.as_bytes()).map_err(|e| e.to_string())?,
            validation,
            access_ttl: Duration::from_secs(cfg.access_ttl_secs),
            refresh_ttl: Duration::from_secs(cfg.refresh_ttl_secs),
            per_account: RateLimiter::keyed(per_minute(cfg.login_per_account_per_minute)),
            per_ip: RateLimiter::keyed(per_minute(cfg.login_per_ip_per_minute)),
            per_user: RateLimiter::keyed(per_second),
            decoy_hash: hash_password_now("adpulse decoy password")?,
        })
    }

    /// How long an access token lives.
    pub(crate) fn access_ttl(&self) -> Duration {
        self.access_ttl
    }

    /// How long a refresh token lives.
    pub(crate) fn refresh_ttl(&self) -> Duration {
        self.refresh_ttl
    }

    /// An access token for `user`.
    fn access_token(&self, user: Uuid, tenant: TenantId, role: Role) -> Result<String, ApiError> {
        let now = Utc::now().timestamp();
        let claims = Claims {
            sub: user,
            tid: *tenant.as_uuid(),
            role,
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            iat: now,
            exp: now + i64::try_from(self.access_ttl.as_secs()).unwrap_or(900),
            jti: Uuid::new_v4(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| ApiError::Internal(e.to_string()))
    }

    /// The caller an access token names, if it is valid.
    fn verify(&self, token: &str) -> Result<Caller, ApiError> {
        match jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation) {
            Ok(data) => Ok(Caller {
                user_id: data.claims.sub,
                tenant: TenantId::from_uuid(data.claims.tid),
                role: data.claims.role,
            }),
            Err(e) => match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => Err(ApiError::unauthorized(
                    "token_expired",
                    "the access token expired; refresh it",
                )),
                _ => Err(ApiError::unauthorized(
                    "invalid_token",
                    "the access token is not valid",
                )),
            },
        }
    }

    /// Applies the per-user request limit.
    fn admit(&self, user: Uuid) -> Result<(), ApiError> {
        self.per_user
            .check_key(&user)
            .map_err(|not_until| ApiError::TooManyRequests(retry_after(&not_until)))
    }
}

fn retry_after(not_until: &governor::NotUntil<governor::clock::QuantaInstant>) -> u64 {
    use governor::clock::Clock as _;
    not_until
        .wait_time_from(governor::clock::DefaultClock::default().now())
        .as_secs()
        .max(1)
}

fn hash_password_now(password: &str) -> Result<String, String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// Hashes `password` with argon2id on the blocking pool (it takes tens of
/// milliseconds of CPU by design).
pub async fn hash_password(password: String) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || hash_password_now(&password))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(ApiError::Internal)
}

async fn verify_password(password: String, hash: String) -> Result<bool, ApiError> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .verify_password(password.as_bytes(), hash.as_str())
            .is_ok()
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))
}

/// The authenticated caller of a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Caller {
    /// Who.
    pub user_id: Uuid,
    /// Their tenant: every query of the request is confined to it.
    pub tenant: TenantId,
    /// What they may do.
    pub role: Role,
}

impl Caller {
    /// Fails with 403 unless the role manages campaigns.
    pub fn must_manage_campaigns(&self) -> Result<(), ApiError> {
        if self.role.manages_campaigns() {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "the {} role cannot change campaigns",
                self.role
            )))
        }
    }

    /// Fails with 403 unless the role administers the tenant.
    pub fn must_administer(&self) -> Result<(), ApiError> {
        if self.role.administers() {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "the {} role cannot manage users or keys",
                self.role
            )))
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let value = parts.headers.get(header::AUTHORIZATION).ok_or_else(|| {
            ApiError::unauthorized("unauthorized", "send Authorization: Bearer <access token>")
        })?;
        let token = value
            .to_str()
            .ok()
            .and_then(|v| {
                let (scheme, token) = v.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then_some(token)
            })
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                ApiError::unauthorized(
                    "unauthorized",
                    "the Authorization header must be Bearer <access token>",
                )
            })?;
        let caller = state.auth.verify(token)?;
        state.auth.admit(caller.user_id)?;
        Ok(caller)
    }
}

/// Credentials.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub(crate) email: String,
    pub(crate) password: String,
}

/// A refresh token (to rotate, or to revoke at logout).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    refresh_token: String,
}

/// Tokens for a login.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TokenPair {
    /// Send as `Authorization: Bearer …`.
    access_token: String,
    /// Always `Bearer`.
    token_type: &'static str,
    /// Seconds the access token lives.
    expires_in: u64,
    /// Single use: `POST /auth/refresh` trades it for a new pair.
    refresh_token: String,
    /// Seconds the refresh token lives.
    refresh_expires_in: u64,
}

fn new_refresh_token() -> Result<(String, [u8; 32]), ApiError> {
    let mut random = [0u8; 32];
    getrandom::fill(&mut random).map_err(|e| ApiError::Internal(e.to_string()))?;
    let token = format!(
        "{REFRESH_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random)
    );
    let hash = refresh_hash(&token);
    Ok((token, hash))
}

fn refresh_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// The tokens of one login or rotation.
pub(crate) struct Issued {
    /// A fresh access token.
    pub access_token: String,
    /// The refresh token stored for it.
    pub refresh_token: String,
}

/// Signs an access token for `user` and stores a new refresh token of
/// `family`, unless a rotation already stored `refresh`.
pub(crate) async fn issue_tokens(
    state: &AppState,
    user: Uuid,
    tenant: TenantId,
    role: Role,
    family: Uuid,
    refresh: Option<(String, [u8; 32])>,
) -> Result<Issued, ApiError> {
    let access_token = state.auth.access_token(user, tenant, role)?;
    let refresh_token = match refresh {
        // Already stored by the rotation.
        Some((token, _)) => token,
        None => {
            let (token, hash) = new_refresh_token()?;
            let expires =
                Utc::now() + chrono::Duration::from_std(state.auth.refresh_ttl).unwrap_or_default();
            state
                .db
                .store_refresh_token(tenant, user, family, &hash, expires)
                .await?;
            token
        }
    };
    Ok(Issued {
        access_token,
        refresh_token,
    })
}

async fn issue(
    state: &AppState,
    user: &UserRecord,
    family: Uuid,
    refresh: Option<(String, [u8; 32])>,
) -> Result<Response, ApiError> {
    let t = issue_tokens(state, user.id, user.tenant_id, user.role, family, refresh).await?;
    let body = TokenPair {
        access_token: t.access_token,
        token_type: "Bearer",
        expires_in: state.auth.access_ttl.as_secs(),
        refresh_token: t.refresh_token,
        refresh_expires_in: state.auth.refresh_ttl.as_secs(),
    };
    Ok(([(header::CACHE_CONTROL, "no-store")], axum::Json(body)).into_response())
}

/// `POST /auth/login`: e-mail and password for a token pair.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, description = "logged in", body = TokenPair),
        r::BadRequest, r::Unauthorized, r::PayloadTooLarge, r::Unprocessable, r::TooManyRequests, r::Unavailable))]
pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let req: LoginRequest = json_body(&headers, &body)?;
    let user = check_credentials(&state, peer.ip(), req).await?;
    issue(&state, &user, Uuid::now_v7(), None).await
}

/// The active user whose e-mail and password `req` gives, within the login
/// limits (per client address and per account); 401 for anything else.
pub(crate) async fn check_credentials(
    state: &AppState,
    peer: IpAddr,
    req: LoginRequest,
) -> Result<UserRecord, ApiError> {
    if req.email.len() > 254 || req.password.len() > 1024 {
        return Err(ApiError::Invalid(vec![FieldProblem::new(
            if req.email.len() > 254 {
                "email"
            } else {
                "password"
            },
            "too long",
        )]));
    }
    let email = req.email.trim().to_lowercase();
    // Keyed limiters keep a cell per key seen: forget idle ones now and then.
    if state.auth.per_account.len() > 10_000 || state.auth.per_ip.len() > 10_000 {
        state.auth.per_account.retain_recent();
        state.auth.per_ip.retain_recent();
    }
    if let Err(not_until) = state.auth.per_ip.check_key(&peer) {
        crate::metrics::login("limited");
        return Err(ApiError::TooManyRequests(retry_after(&not_until)));
    }
    if let Err(not_until) = state.auth.per_account.check_key(&email) {
        crate::metrics::login("limited");
        return Err(ApiError::TooManyRequests(retry_after(&not_until)));
    }
    let user = state.db.user_by_email(&email).await?;
    let hash = user.as_ref().map_or_else(
        || state.auth.decoy_hash.clone(),
        |u| u.password_hash.clone(),
    );
    let matches = verify_password(req.password, hash).await?;
    match user {
        Some(u) if matches && u.deactivated_at.is_none() => {
            crate::metrics::login("ok");
            Ok(u)
        }
        _ => {
            crate::metrics::login("refused");
            Err(ApiError::unauthorized(
                "invalid_credentials",
                "wrong e-mail or password",
            ))
        }
    }
}

/// `POST /auth/refresh`: a refresh token for a new pair; the presented
/// token is used up.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses((status = 200, description = "a new pair", body = TokenPair),
        r::BadRequest, r::Unauthorized, r::PayloadTooLarge, r::Unprocessable, r::Unavailable))]
pub async fn refresh(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let req: RefreshRequest = json_body(&headers, &body)?;
    let (user, family, next) = rotate(&state, req.refresh_token.trim()).await?;
    issue(&state, &user, family, Some(next)).await
}

/// Uses up the refresh token `presented` and stores its successor: the
/// active user it belongs to, its login (family), and the successor (token
/// and hash). A token used before revokes its whole login (401
/// `refresh_reused`); an unknown or expired one is 401 `invalid_token`.
pub(crate) async fn rotate(
    state: &AppState,
    presented: &str,
) -> Result<(UserRecord, Uuid, (String, [u8; 32])), ApiError> {
    let presented = refresh_hash(presented);
    let (next_token, next_hash) = new_refresh_token()?;
    let expires =
        Utc::now() + chrono::Duration::from_std(state.auth.refresh_ttl).unwrap_or_default();
    match state
        .db
        .rotate_refresh_token(&presented, &next_hash, expires)
        .await?
    {
        Rotation::Rotated {
            user_id,
            tenant_id,
            family_id,
        } => match state.db.active_user(tenant_id, user_id).await? {
            Some(user) => Ok((user, family_id, (next_token, next_hash))),
            None => Err(ApiError::unauthorized(
                "invalid_token",
                "the account is deactivated",
            )),
        },
        Rotation::Reused => Err(ApiError::unauthorized(
            "refresh_reused",
            "this refresh token was already used: every token of its login is now revoked; log in again",
        )),
        Rotation::Invalid => Err(ApiError::unauthorized(
            "invalid_token",
            "the refresh token is unknown or expired",
        )),
    }
}

/// `POST /auth/logout`: revokes the refresh token's whole login.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", request_body = RefreshRequest,
    responses((status = 204, description = "revoked"),
        r::BadRequest, r::PayloadTooLarge, r::Unprocessable, r::Unavailable))]
pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<StatusCode, ApiError> {
    let req: RefreshRequest = json_body(&headers, &body)?;
    revoke(&state, req.refresh_token.trim()).await?;
    // The same answer whether or not the token existed.
    Ok(StatusCode::NO_CONTENT)
}

/// Revokes every token of the login `presented` belongs to.
pub(crate) async fn revoke(state: &AppState, presented: &str) -> Result<(), ApiError> {
    state
        .db
        .revoke_refresh_family(&refresh_hash(presented))
        .await?;
    Ok(())
}

/// Shared between the app state and tests.
pub type SharedAuth = Arc<Auth>;
