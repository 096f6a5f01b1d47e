//! Tenant administration (admins only): ingest keys (`/ingest-keys`) and
//! users (`/users`).
//!
//! An ingest key's secret is returned once, at creation; only its SHA-256 is
//! kept. Revoking a key stops the gateway accepting it within its key-cache
//! lifetime. Deactivating a user revokes their refresh tokens at once;
//! access tokens they hold expire within their lifetime.

use adpulse_domain::Role;
use adpulse_domain::store::{IngestKeyInfo, UserRecord};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::AppState;
use crate::auth::{Caller, hash_password};
use crate::error::{ApiError, FieldProblem};
use crate::http::json_body;
use crate::openapi::responses as r;

/// A key to create.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKey {
    /// What the key is for (1 to 200 characters).
    #[schema(min_length = 1, max_length = 200)]
    name: String,
}

/// An ingest key (never its secret).
#[derive(Serialize, utoipa::ToSchema)]
pub struct KeyOut {
    id: Uuid,
    name: String,
    /// The secret's first characters, to tell keys apart.
    prefix: String,
    created_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
    #[serde(rename = "_links")]
    links: SelfLink,
}

/// A key just created: the only answer that carries its secret.
#[derive(Serialize, utoipa::ToSchema)]
pub struct KeyCreated {
    #[serde(flatten)]
    key: KeyOut,
    /// The bearer secret for ad servers; shown this once.
    secret: String,
}

/// The tenant's keys.
#[derive(Serialize, utoipa::ToSchema)]
pub struct KeyList {
    data: Vec<KeyOut>,
}

/// A link to the resource itself.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SelfLink {
    #[serde(rename = "self")]
    this: String,
}

fn key_view(k: &IngestKeyInfo) -> KeyOut {
    KeyOut {
        id: k.id,
        name: k.name.clone(),
        prefix: k.prefix.clone(),
        created_at: k.created_at,
        revoked_at: k.revoked_at,
        links: SelfLink {
            this: format!("/api/v1/ingest-keys/{}", k.id),
        },
    }
}

fn id(raw: &str, what: &'static str) -> Result<Uuid, ApiError> {
    raw.parse().map_err(|_| ApiError::NotFound(what))
}

fn name(raw: &str) -> Result<String, ApiError> {
    let n = raw.trim();
    if n.is_empty() || n.chars().count() > 200 {
        return Err(ApiError::Invalid(vec![FieldProblem::new(
            "name",
            "must be 1 to 200 characters",
        )]));
    }
    Ok(n.to_owned())
}

/// `POST /ingest-keys`: a new key; the secret is in this answer only.
#[utoipa::path(post, path = "/api/v1/ingest-keys", tag = "admin", security(("bearer" = [])), request_body = NewKey,
    responses((status = 201, description = "created; the secret is shown once", body = KeyCreated),
        r::BadRequest, r::Unauthorized, r::Forbidden, r::PayloadTooLarge, r::Unprocessable, r::TooManyRequests, r::Unavailable))]
pub async fn create_key(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    caller.must_administer()?;
    let req: NewKey = json_body(&headers, &body)?;
    let name = name(&req.name)?;
    let mut random = [0u8; 32];
    getrandom::fill(&mut random).map_err(|e| ApiError::Internal(e.to_string()))?;
    let key = state
        .db
        .create_ingest_key(caller.tenant, &name, random)
        .await?;
    let info = state
        .db
        .ingest_keys(caller.tenant)
        .await?
        .into_iter()
        .find(|k| k.id == key.id)
        .ok_or_else(|| ApiError::Internal("created key not found".into()))?;
    let body = KeyCreated {
        key: key_view(&info),
        secret: key.secret,
    };
    Ok((StatusCode::CREATED, axum::Json(body)).into_response())
}

/// `GET /ingest-keys`: every key of the tenant, revoked ones included.
#[utoipa::path(get, path = "/api/v1/ingest-keys", tag = "admin", security(("bearer" = [])),
    responses((status = 200, description = "the tenant's keys", body = KeyList),
        r::Unauthorized, r::Forbidden, r::TooManyRequests, r::Unavailable))]
pub async fn list_keys(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Response, ApiError> {
    caller.must_administer()?;
    let keys = state.db.ingest_keys(caller.tenant).await?;
    let data = keys.iter().map(key_view).collect();
    Ok(axum::Json(KeyList { data }).into_response())
}

/// `DELETE /ingest-keys/{id}`: revokes the key.
#[utoipa::path(delete, path = "/api/v1/ingest-keys/{id}", tag = "admin", security(("bearer" = [])), params(("id" = String, Path, description = "the resource id")),
    responses((status = 204, description = "revoked"),
        r::Unauthorized, r::Forbidden, r::NotFound, r::TooManyRequests, r::Unavailable))]
pub async fn revoke_key(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.must_administer()?;
    let key = id(&raw, "ingest key")?;
    if state
        .db
        .revoke_tenant_ingest_key(caller.tenant, key)
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound("ingest key"))
    }
}

/// A user to create.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    /// Login address (unique across tenants).
    #[schema(format = "email")]
    email: String,
    /// At least 12 characters.
    #[schema(min_length = 12)]
    password: String,
    role: Role,
}

/// A user (never their password hash).
#[derive(Serialize, utoipa::ToSchema)]
pub struct UserOut {
    id: Uuid,
    email: String,
    role: Role,
    deactivated_at: Option<DateTime<Utc>>,
    #[serde(rename = "_links")]
    links: SelfLink,
}

/// The tenant's users.
#[derive(Serialize, utoipa::ToSchema)]
pub struct UserList {
    data: Vec<UserOut>,
}

fn user_view(u: &UserRecord) -> UserOut {
    UserOut {
        id: u.id,
        email: u.email.clone(),
        role: u.role,
        deactivated_at: u.deactivated_at,
        links: SelfLink {
            this: format!("/api/v1/users/{}", u.id),
        },
    }
}

/// `POST /users`: a user of the caller's tenant.
#[utoipa::path(post, path = "/api/v1/users", tag = "admin", security(("bearer" = [])), request_body = NewUser,
    responses((status = 201, description = "created", body = UserOut),
        r::BadRequest, r::Unauthorized, r::Forbidden, r::Conflict, r::PayloadTooLarge, r::Unprocessable, r::TooManyRequests, r::Unavailable))]
pub async fn create_user(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    caller.must_administer()?;
    let req: NewUser = json_body(&headers, &body)?;
    let email = req.email.trim().to_owned();
    let mut problems = Vec::new();
    let plausible = email.len() <= 254
        && email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'));
    if !plausible {
        problems.push(FieldProblem::new("email", "must be an e-mail address"));
    }
    if req.password.chars().count() < 12 {
        problems.push(FieldProblem::new(
            "password",
            "must be at least 12 characters",
        ));
    }
    if !problems.is_empty() {
        return Err(ApiError::Invalid(problems));
    }
    let hash = hash_password(req.password).await?;
    let id = state
        .db
        .create_user(caller.tenant, &email, &hash, req.role)
        .await?;
    let user = state
        .db
        .users(caller.tenant)
        .await?
        .into_iter()
        .find(|u| u.id == id)
        .ok_or_else(|| ApiError::Internal("created user not found".into()))?;
    Ok((StatusCode::CREATED, axum::Json(user_view(&user))).into_response())
}

/// `GET /users`: the tenant's users.
#[utoipa::path(get, path = "/api/v1/users", tag = "admin", security(("bearer" = [])),
    responses((status = 200, description = "the tenant's users", body = UserList),
        r::Unauthorized, r::Forbidden, r::TooManyRequests, r::Unavailable))]
pub async fn list_users(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Response, ApiError> {
    caller.must_administer()?;
    let users = state.db.users(caller.tenant).await?;
    let data = users.iter().map(user_view).collect();
    Ok(axum::Json(UserList { data }).into_response())
}

/// `POST /users/{id}/deactivate`: no more logins or refreshes.
#[utoipa::path(post, path = "/api/v1/users/{id}/deactivate", tag = "admin", security(("bearer" = [])), params(("id" = String, Path, description = "the resource id")),
    responses((status = 200, description = "deactivated", body = UserOut),
        r::Unauthorized, r::Forbidden, r::NotFound, r::Conflict, r::TooManyRequests, r::Unavailable))]
pub async fn deactivate_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<Response, ApiError> {
    caller.must_administer()?;
    let user = id(&raw, "user")?;
    if user == caller.user_id {
        return Err(ApiError::Conflict {
            code: "self_deactivation",
            message: "an admin cannot deactivate themselves".into(),
            errors: Vec::new(),
        });
    }
    let u = state
        .db
        .deactivate_user(caller.tenant, user)
        .await?
        .ok_or(ApiError::NotFound("user"))?;
    Ok(axum::Json(user_view(&u)).into_response())
}
