//! The error answers of the API, each declared once as a response
//! component (`#/components/responses/NotFound`, …) with the one error
//! body, and listed by handlers by name: `responses((status = 200, …),
//! r::Unauthorized, r::NotFound)`.
//!
//! Each type is both a [`ToResponse`] (the component: its description is
//! the doc comment, its body [`ErrorBody`]) and an [`IntoResponses`] that
//! puts a reference to that component under its status, so a handler's
//! annotation names each error once, and a status cannot be paired with
//! the wrong description. [`ApiDoc`](super::ApiDoc) registers them all;
//! its tests check that every reference resolves.

use std::collections::BTreeMap;

use adpulse_http::error::ErrorBody;
use utoipa::openapi::{Ref, RefOr, Response};
use utoipa::{IntoResponses, ToResponse};

/// `status`, answered with the component `R`.
fn at<'a, R: ToResponse<'a>>(status: u16) -> BTreeMap<String, RefOr<Response>> {
    BTreeMap::from([(
        status.to_string(),
        RefOr::Ref(Ref::from_response_name(R::response().0)),
    )])
}

/// The request cannot be read: malformed JSON, query string or multipart
/// body, or an unknown parameter.
#[derive(ToResponse)]
pub struct BadRequest(pub ErrorBody);

impl IntoResponses for BadRequest {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        at::<Self>(400)
    }
}

/// No valid credentials: no token, or an expired, tampered or revoked one,
/// or a wrong password.
#[derive(ToResponse)]
pub struct Unauthorized(pub ErrorBody);

impl IntoResponses for Unauthorized {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        at::<Self>(401)
    }
}

/// Authenticated, but the role does not allow it.
#[derive(ToResponse)]
pub struct Forbidden(pub ErrorBody);

impl IntoResponses for Forbidden {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        at::<Self>(403)
    }
}

/// No such resource in the caller's tenant (another tenant's answers the
/// same).
#[derive(ToResponse)]
pub struct NotFound(pub ErrorBody);

impl IntoResponses for NotFound {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        at::<Self>(404)
    }
}

/// The change conflicts with the resource's current state (a lifecycle
/// step not allowed, a value already taken, a campaign no longer editable).
#[derive(ToResponse)]
pub struct Conflict(pub ErrorBody);

impl IntoResponses for Conflict {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        at::<Self>(409)
    }
}

/// `If-Match` is not the current ETag (the answer carries the current one).
#[derive(ToResponse)]
pub struct PreconditionFailed(pub ErrorBody);

impl IntoResponses for PreconditionFailed {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        at::<Self>(412)
    }
}

/// The body or the uploaded file is over its limit.
#[derive(ToResponse)]
pub struct PayloadTooLarge(pub ErrorBody);

impl IntoResponses for PayloadTooLarge {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        at::<Self>(413)
    }
}

/// Readable, but values are invalid: each is listed in `errors`.
#[derive(ToResponse)]
pub struct Unprocessable(pub ErrorBody);

impl IntoResponses for Unprocessable {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        at::<Self>(422)
    }
}

/// A change without `If-Match`.
#[derive(ToResponse)]
pub struct PreconditionRequired(pub ErrorBody);

impl IntoResponses for PreconditionRequired {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        at::<Self>(428)
    }
}

/// Rate limited: retry after `Retry-After` seconds.
#[derive(ToResponse)]
pub struct TooManyRequests(pub ErrorBody);

impl IntoResponses for TooManyRequests {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        at::<Self>(429)
    }
}

/// A dependency (the store, the live counters, the archive, object
/// storage) does not answer: retry later.
#[derive(ToResponse)]
pub struct Unavailable(pub ErrorBody);

impl IntoResponses for Unavailable {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        at::<Self>(503)
    }
}
