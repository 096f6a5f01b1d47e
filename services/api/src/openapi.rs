//! The API's OpenAPI 3.1 description, generated from the handlers'
//! annotations and the request and response types, served at
//! `/api/v1/openapi.json`, with Swagger UI at `/api/v1/docs` (its assets
//! are compiled into the binary: no CDN, works offline).

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::{admin, auth, campaigns, error};

/// The description.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "adpulse campaign API",
        version = "1",
        description = "Campaign management for adpulse tenants. Errors always have the shape {\"error\":{\"code\",\"message\",\"errors\":[{\"field\",\"message\"}]}}."
    ),
    paths(
        auth::login,
        auth::refresh,
        auth::logout,
        campaigns::list,
        campaigns::create,
        campaigns::get,
        campaigns::replace,
        campaigns::patch,
        campaigns::delete,
        campaigns::set_status,
        campaigns::get_targeting,
        campaigns::put_targeting,
        admin::list_keys,
        admin::create_key,
        admin::revoke_key,
        admin::list_users,
        admin::create_user,
        admin::deactivate_user,
    ),
    components(schemas(error::ErrorBody, error::ErrorDetail, error::FieldProblem)),
    modifiers(&Bearer),
    tags(
        (name = "auth", description = "Login, token refresh, logout"),
        (name = "campaigns", description = "Campaigns, their lifecycle and targeting"),
        (name = "admin", description = "Ingest keys and users (admins only)"),
    )
)]
pub struct ApiDoc;

struct Bearer;

impl Modify for Bearer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}
