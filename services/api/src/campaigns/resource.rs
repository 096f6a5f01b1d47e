//! The campaign resource: create (a draft), read (with ETags and 304),
//! replace, merge-patch and soft-delete. Every change names the version it
//! read in `If-Match`, and the store applies it only to that version, so
//! two editors cannot silently overwrite each other.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::body::CampaignBody;
use super::view::{CampaignOut, respond, respond_with};
use super::{campaign_id, editable, to_change, updated};
use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::http::{etag, from_json, json_body, not_modified};
use crate::openapi::responses as r;

/// `POST /campaigns`: a new draft.
#[utoipa::path(post, path = "/api/v1/campaigns", tag = "campaigns", security(("bearer" = [])), request_body = CampaignBody,
    responses((status = 201, description = "created, as a draft", body = CampaignOut),
        r::BadRequest, r::Unauthorized, r::Forbidden, r::PayloadTooLarge, r::Unprocessable,
        r::TooManyRequests, r::Unavailable))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    caller.must_manage_campaigns()?;
    let write = json_body::<CampaignBody>(&headers, &body)?.validate()?;
    let c = state.db.insert_campaign(caller.tenant, &write).await?;
    Ok(respond(StatusCode::CREATED, &c))
}

/// `GET /campaigns/{id}` (304 when `If-None-Match` holds its ETag).
#[utoipa::path(get, path = "/api/v1/campaigns/{id}", tag = "campaigns", security(("bearer" = [])), params(("id" = String, Path, description = "the resource id")),
    responses((status = 200, description = "the campaign", body = CampaignOut),
        (status = 304, description = "unchanged since the ETag in If-None-Match"),
        r::Unauthorized, r::NotFound, r::TooManyRequests, r::Unavailable))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let c = state
        .db
        .campaign(caller.tenant, campaign_id(&id)?)
        .await?
        .ok_or(ApiError::NotFound("campaign"))?;
    let tag = etag(c.version);
    if not_modified(&headers, &tag) {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, tag)]).into_response());
    }
    let stop = state
        .db
        .budget_stop(caller.tenant, c.id)
        .await?
        .filter(|s| s.in_force(chrono::Utc::now()));
    Ok(respond_with(StatusCode::OK, &c, stop))
}

/// `PUT /campaigns/{id}`: replaces every writable field (`If-Match`).
#[utoipa::path(put, path = "/api/v1/campaigns/{id}", tag = "campaigns", security(("bearer" = [])), params(("id" = String, Path, description = "the resource id"), ("If-Match" = String, Header, description = "the ETag you read")), request_body = CampaignBody,
    responses((status = 200, description = "replaced", body = CampaignOut),
        r::BadRequest, r::Unauthorized, r::Forbidden, r::NotFound, r::Conflict,
        r::PreconditionFailed, r::PayloadTooLarge, r::Unprocessable, r::PreconditionRequired,
        r::TooManyRequests, r::Unavailable))]
pub async fn replace(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let (c, version) = to_change(&state, &caller, &id, &headers).await?;
    let id = c.id;
    editable(&c)?;
    let write = json_body::<CampaignBody>(&headers, &body)?.validate()?;
    let c = updated(
        state
            .db
            .update_campaign(caller.tenant, id, version, &write)
            .await?,
    )?;
    Ok(respond(StatusCode::OK, &c))
}

/// `PATCH /campaigns/{id}`: a JSON merge patch (RFC 7396) of the writable
/// fields (`If-Match`).
#[utoipa::path(patch, path = "/api/v1/campaigns/{id}", tag = "campaigns", security(("bearer" = [])), params(("id" = String, Path, description = "the resource id"), ("If-Match" = String, Header, description = "the ETag you read")),
    request_body(content = Object, description = "a JSON merge patch of the campaign's fields", content_type = "application/merge-patch+json"),
    responses((status = 200, description = "patched", body = CampaignOut),
        r::BadRequest, r::Unauthorized, r::Forbidden, r::NotFound, r::Conflict,
        r::PreconditionFailed, r::PayloadTooLarge, r::Unprocessable, r::PreconditionRequired,
        r::TooManyRequests, r::Unavailable))]
pub async fn patch(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let (c, version) = to_change(&state, &caller, &id, &headers).await?;
    let id = c.id;
    editable(&c)?;
    let patch: Value = json_body(&headers, &body)?;
    if !patch.is_object() {
        return Err(ApiError::BadRequest(
            "a merge patch is a JSON object".into(),
        ));
    }
    // The patch applies to the campaign as clients write it, and the
    // result is validated whole, exactly as a PUT of it would be.
    let mut doc = serde_json::to_value(CampaignBody::of(&c.fields))
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    merge_patch(&mut doc, patch);
    let merged = serde_json::to_vec(&doc).map_err(|e| ApiError::Internal(e.to_string()))?;
    let write = from_json::<CampaignBody>(&merged)?.validate()?;
    let c = updated(
        state
            .db
            .update_campaign(caller.tenant, id, version, &write)
            .await?,
    )?;
    Ok(respond(StatusCode::OK, &c))
}

/// RFC 7396: objects merge key by key, `null` removes, anything else
/// replaces.
fn merge_patch(target: &mut Value, patch: Value) {
    match patch {
        Value::Object(fields) => {
            if !target.is_object() {
                *target = Value::Object(serde_json::Map::new());
            }
            if let Value::Object(t) = target {
                for (k, v) in fields {
                    if v.is_null() {
                        t.remove(&k);
                    } else {
                        merge_patch(t.entry(k).or_insert(Value::Null), v);
                    }
                }
            }
        }
        other => *target = other,
    }
}

/// `DELETE /campaigns/{id}`: soft delete (`If-Match`).
#[utoipa::path(delete, path = "/api/v1/campaigns/{id}", tag = "campaigns", security(("bearer" = [])), params(("id" = String, Path, description = "the resource id"), ("If-Match" = String, Header, description = "the ETag you read")),
    responses((status = 204, description = "deleted"),
        r::Unauthorized, r::Forbidden, r::NotFound, r::PreconditionFailed,
        r::PreconditionRequired, r::TooManyRequests, r::Unavailable))]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let (c, version) = to_change(&state, &caller, &id, &headers).await?;
    let id = c.id;
    updated(
        state
            .db
            .delete_campaign_at(caller.tenant, id, version)
            .await?,
    )?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn merge_patch_follows_rfc_7396() {
        let mut doc = json!({"a": 1, "b": {"c": 2, "d": 3}, "e": [1]});
        merge_patch(
            &mut doc,
            json!({"a": null, "b": {"c": 9}, "e": [2, 3], "f": "x"}),
        );
        assert_eq!(doc, json!({"b": {"c": 9, "d": 3}, "e": [2, 3], "f": "x"}));
    }
}
