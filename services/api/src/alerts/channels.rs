//! `/alert-channels`: where a rule's notifications go.
//!
//! A webhook channel gets a signing secret (`whsec_` and 32 random bytes
//! in base64, the Standard Webhooks form), answered once, when the
//! channel is created or its secret rotated, and never again. A rotation
//! keeps the previous secret signing for 24 hours (every delivery carries
//! both signatures meanwhile), so a receiver can switch without losing a
//! notification. Slack webhook URLs are credentials too: listings show
//! only their host and last characters.

use adpulse_domain::alert::{
    ChannelDeleted, ChannelKind, ChannelRecord, ChannelWrite, check_target,
};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::path_id;
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, FieldProblem};
use crate::http::json_body;
use crate::openapi::responses as r;

/// How long a rotated-out secret keeps signing.
const ROTATION_OVERLAP: TimeDelta = TimeDelta::hours(24);

/// A channel as clients write it.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelBody {
    /// For people; 1 to 200 characters.
    name: String,
    /// `webhook`, `slack` or `email`.
    #[schema(value_type = ChannelKind)]
    kind: String,
    /// The URL (webhook, slack) or the e-mail address. Loopback, private
    /// and reserved addresses are refused unless the operator allows
    /// them.
    target: String,
}

/// A channel as the API answers it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ChannelOut {
    id: Uuid,
    name: String,
    kind: ChannelKind,
    /// The target; a Slack URL is masked (it is a credential).
    target: String,
    /// Whether deliveries are signed (webhooks).
    signed: bool,
    /// Only when created or rotated: the signing secret. Keep it; it is
    /// not shown again.
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
    /// Until when the previous secret also signs (after a rotation).
    previous_secret_until: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// The tenant's channels.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ChannelList {
    data: Vec<ChannelOut>,
}

fn view(c: &ChannelRecord, with_secret: bool) -> ChannelOut {
    let target = match c.fields.kind {
        ChannelKind::Slack => mask(&c.fields.target),
        ChannelKind::Webhook | ChannelKind::Email => c.fields.target.clone(),
    };
    ChannelOut {
        id: c.id,
        name: c.fields.name.clone(),
        kind: c.fields.kind,
        target,
        signed: c.fields.kind.signed(),
        secret: if with_secret {
            c.fields.secret.clone()
        } else {
            None
        },
        previous_secret_until: c.previous_until.filter(|_| c.previous_secret.is_some()),
        created_at: c.created_at,
        updated_at: c.updated_at,
    }
}

/// `https://hooks.slack.com/services/T0/B0/abcdef` → `https://hooks.slack.com/…cdef`.
fn mask(url: &str) -> String {
    let host_end = url
        .find("://")
        .and_then(|s| url[s + 3..].find('/').map(|e| s + 3 + e))
        .unwrap_or(url.len());
    let tail: String = {
        let rest = &url[host_end..];
        let n = rest.chars().count();
        rest.chars().skip(n.saturating_sub(4)).collect()
    };
    format!("{}/…{tail}", &url[..host_end])
}

/// A fresh signing secret.
fn secret() -> Result<String, ApiError> {
    let mut random = [0_u8; 32];
    getrandom::fill(&mut random).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(format!("whsec_{}", STANDARD.encode(random)))
}

impl ChannelBody {
    fn validate(self, allow_private: bool) -> Result<ChannelWrite, ApiError> {
        let mut problems = Vec::new();
        let name = self.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 200 {
            problems.push(FieldProblem::new("name", "must be 1 to 200 characters"));
        }
        let kind = self.kind.parse::<ChannelKind>().ok();
        let target = match kind {
            None => {
                problems.push(FieldProblem::new(
                    "kind",
                    "must be one of webhook, slack, email",
                ));
                None
            }
            Some(k) => match check_target(k, &self.target, allow_private) {
                Ok(t) => Some(t),
                Err(m) => {
                    problems.push(FieldProblem::new("target", m));
                    None
                }
            },
        };
        match (kind, target) {
            (Some(kind), Some(target)) if problems.is_empty() => Ok(ChannelWrite {
                name,
                kind,
                target,
                secret: if kind.signed() { Some(secret()?) } else { None },
            }),
            _ => Err(ApiError::Invalid(problems)),
        }
    }
}

/// `POST /alert-channels`.
#[utoipa::path(post, path = "/api/v1/alert-channels", tag = "alerts", security(("bearer" = [])), request_body = ChannelBody,
    responses((status = 201, description = "created; a webhook's `secret` is in this answer only", body = ChannelOut),
        r::BadRequest, r::Unauthorized, r::Forbidden, r::PayloadTooLarge, r::Unprocessable,
        r::TooManyRequests, r::Unavailable))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    caller.must_manage_campaigns()?;
    let w = json_body::<ChannelBody>(&headers, &body)?
        .validate(state.alerts.allow_private_destinations)?;
    let c = state.db.insert_channel(caller.tenant, &w).await?;
    Ok((StatusCode::CREATED, Json(view(&c, true))).into_response())
}

/// `GET /alert-channels`.
#[utoipa::path(get, path = "/api/v1/alert-channels", tag = "alerts", security(("bearer" = [])),
    responses((status = 200, description = "the tenant's channels, oldest first", body = ChannelList),
        r::Unauthorized, r::TooManyRequests, r::Unavailable))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<ChannelList>, ApiError> {
    let data = state.db.channels(caller.tenant).await?;
    Ok(Json(ChannelList {
        data: data.iter().map(|c| view(c, false)).collect(),
    }))
}

/// `GET /alert-channels/{id}`.
#[utoipa::path(get, path = "/api/v1/alert-channels/{id}", tag = "alerts", security(("bearer" = [])), params(("id" = String, Path, description = "the resource id")),
    responses((status = 200, description = "the channel", body = ChannelOut),
        r::Unauthorized, r::NotFound, r::TooManyRequests, r::Unavailable))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ChannelOut>, ApiError> {
    let c = state
        .db
        .channel(caller.tenant, path_id(&id, "channel")?)
        .await?
        .ok_or(ApiError::NotFound("channel"))?;
    Ok(Json(view(&c, false)))
}

/// `POST /alert-channels/{id}/rotate-secret`: a new signing secret; the
/// previous one keeps signing for 24 hours.
#[utoipa::path(post, path = "/api/v1/alert-channels/{id}/rotate-secret", tag = "alerts", security(("bearer" = [])), params(("id" = String, Path, description = "the resource id")),
    responses((status = 200, description = "rotated; the new `secret` is in this answer only", body = ChannelOut),
        r::Unauthorized, r::Forbidden, r::NotFound, r::Conflict, r::TooManyRequests, r::Unavailable))]
pub async fn rotate(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ChannelOut>, ApiError> {
    caller.must_manage_campaigns()?;
    let id = path_id(&id, "channel")?;
    let c = state
        .db
        .channel(caller.tenant, id)
        .await?
        .ok_or(ApiError::NotFound("channel"))?;
    if !c.fields.kind.signed() {
        return Err(ApiError::Conflict {
            code: "not_signed",
            message: format!(
                "{} channels are not signed; only webhooks have a secret",
                c.fields.kind.as_str()
            ),
            errors: Vec::new(),
        });
    }
    let c = state
        .db
        .rotate_channel_secret(caller.tenant, id, &secret()?, Utc::now() + ROTATION_OVERLAP)
        .await?
        .ok_or(ApiError::NotFound("channel"))?;
    Ok(Json(view(&c, true)))
}

/// `DELETE /alert-channels/{id}`: only once no rule notifies it.
#[utoipa::path(delete, path = "/api/v1/alert-channels/{id}", tag = "alerts", security(("bearer" = [])), params(("id" = String, Path, description = "the resource id")),
    responses((status = 204, description = "deleted"),
        r::Unauthorized, r::Forbidden, r::NotFound, r::Conflict, r::TooManyRequests, r::Unavailable))]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.must_manage_campaigns()?;
    match state
        .db
        .delete_channel(caller.tenant, path_id(&id, "channel")?)
        .await?
    {
        ChannelDeleted::Done => Ok(StatusCode::NO_CONTENT),
        ChannelDeleted::NotFound => Err(ApiError::NotFound("channel")),
        ChannelDeleted::InUse(rules) => Err(ApiError::Conflict {
            code: "channel_in_use",
            message: format!(
                "{} rule(s) still notify this channel; remove it from them first",
                rules.len()
            ),
            errors: rules
                .iter()
                .map(|r| FieldProblem::new("rules", format!("rule {r} notifies it")))
                .collect(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slack_urls_are_masked() {
        assert_eq!(
            mask("https://hooks.slack.com/services/T000/B000/abcdefgh"),
            "https://hooks.slack.com/…efgh"
        );
        assert_eq!(mask("http://127.0.0.1:9/x"), "http://127.0.0.1:9/…/x");
    }

    #[test]
    fn secrets_are_standard_webhooks_secrets() {
        let s = secret().expect("secret");
        let raw = STANDARD
            .decode(s.strip_prefix("whsec_").expect("prefix"))
            .expect("base64");
        assert_eq!(raw.len(), 32);
        assert_ne!(secret().expect("secret"), s);
    }
}
