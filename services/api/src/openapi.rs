//! The API's OpenAPI 3.1 description, generated from the handlers'
//! annotations and the request and response types, served at
//! `/api/v1/openapi.json`, with Swagger UI at `/api/v1/docs` (its assets
//! are compiled into the binary: no CDN, works offline).
//!
//! The error answers are response components declared once in
//! [`responses`] and referenced by name from each handler's annotation.

pub mod responses;

use utoipa::openapi::link::LinkBuilder;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{RefOr, Response};
use utoipa::{Modify, OpenApi};

use adpulse_http::error::{ErrorBody, ErrorDetail, FieldProblem};

use crate::{admin, alerts, assets, auth, campaigns, ops, reports, session};

/// The API's OpenAPI document, served at `/api/v1/openapi.json`.
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
        session::login,
        session::refresh,
        session::logout,
        campaigns::list::list,
        campaigns::resource::create,
        campaigns::resource::get,
        campaigns::resource::replace,
        campaigns::resource::patch,
        campaigns::resource::delete,
        campaigns::status::set_status,
        campaigns::targeting::get_targeting,
        campaigns::targeting::put_targeting,
        admin::list_keys,
        admin::create_key,
        admin::revoke_key,
        admin::list_users,
        admin::create_user,
        admin::deactivate_user,
        assets::upload::upload,
        assets::catalogue::list,
        assets::library::library,
        assets::catalogue::get,
        assets::content::content,
        assets::catalogue::delete,
        reports::campaign::campaign_report,
        reports::export::campaign_export,
        reports::top::top_campaigns,
        reports::export::top_export,
        reports::realtime::realtime,
        reports::stream::realtime_stream,
        reports::stream::stream_url,
        reports::events::events,
        alerts::channels::create,
        alerts::channels::list,
        alerts::channels::get,
        alerts::channels::rotate,
        alerts::channels::delete,
        alerts::rules::create,
        alerts::rules::list,
        alerts::rules::get,
        alerts::rules::replace,
        alerts::rules::delete,
        alerts::deliveries::firings,
        alerts::deliveries::list,
        alerts::deliveries::get,
        alerts::deliveries::replay,
        ops::list,
        ops::set,
        ops::clear,
        ops::audit,
    ),
    components(
        schemas(ErrorBody, ErrorDetail, FieldProblem, assets::library::ImageType),
        responses(
            responses::BadRequest,
            responses::Unauthorized,
            responses::Forbidden,
            responses::NotFound,
            responses::Conflict,
            responses::PreconditionFailed,
            responses::PayloadTooLarge,
            responses::Unprocessable,
            responses::PreconditionRequired,
            responses::TooManyRequests,
            responses::Unavailable,
        )
    ),
    modifiers(&Bearer, &Links),
    tags(
        (name = "auth", description = "Login, token refresh, logout; the browser session (cookie) of the web console"),
        (name = "campaigns", description = "Campaigns, their lifecycle and targeting"),
        (name = "admin", description = "Ingest keys and users (admins only)"),
        (name = "creatives", description = "Images of a campaign, with thumbnails"),
        (name = "reports", description = "Live numbers, historical reports, top campaigns, CSV exports"),
        (name = "alerts", description = "Alert rules and the channels they notify"),
        (name = "ops", description = "Kill switches, for operators (the `ops.token` bearer token, not a tenant login)"),
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
        components.add_security_scheme(
            "operator",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Links from what creates a resource to what acts on it (the new id, and
/// its ETag for `If-Match`), so clients and fuzzers can follow them.
struct Links;

impl Links {
    fn add(
        openapi: &mut utoipa::openapi::OpenApi,
        path: &str,
        status: &str,
        targets: &[(&str, bool)],
    ) {
        let Some(item) = openapi.paths.paths.get_mut(path) else {
            return;
        };
        let Some(op) = item.post.as_mut() else {
            return;
        };
        let Some(RefOr::T(response)) = op.responses.responses.get_mut(status) else {
            return;
        };
        let response: &mut Response = response;
        for (operation, if_match) in targets {
            let mut link = LinkBuilder::new()
                .operation_id(*operation)
                .parameter("id", "$response.body#/id");
            if *if_match {
                link = link.parameter("header.If-Match", "$response.header.ETag");
            }
            response
                .links
                .insert((*operation).to_owned(), RefOr::T(link.build()));
        }
    }
}

impl Modify for Links {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        Self::add(
            openapi,
            "/api/v1/campaigns",
            "201",
            &[
                ("get", false),
                ("replace", true),
                ("patch", true),
                ("delete", true),
                ("set_status", true),
                ("get_targeting", false),
                ("put_targeting", true),
                ("list_assets", false),
            ],
        );
        Self::add(
            openapi,
            "/api/v1/users",
            "201",
            &[("deactivate_user", false)],
        );
        Self::add(
            openapi,
            "/api/v1/ingest-keys",
            "201",
            &[("revoke_key", false)],
        );
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(r)) = m.get("$ref") {
                    out.push(r);
                }
                m.values().for_each(|v| refs(v, out));
            }
            Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }

    #[test]
    fn every_reference_in_the_document_resolves() {
        let doc = serde_json::to_value(ApiDoc::openapi()).expect("json");
        let mut found = Vec::new();
        refs(&doc, &mut found);
        assert!(
            found.contains(&"#/components/responses/NotFound"),
            "the error responses are shared components"
        );
        for r in found {
            let path = r.strip_prefix("#/").expect("a local reference");
            let target = path.split('/').fold(&doc, |v, key| &v[key]);
            assert!(!target.is_null(), "{r} does not resolve");
        }
    }

    #[test]
    fn every_error_status_answers_the_error_body() {
        let doc = serde_json::to_value(ApiDoc::openapi()).expect("json");
        for (name, response) in doc["components"]["responses"]
            .as_object()
            .expect("responses")
        {
            assert_eq!(
                response["content"]["application/json"]["schema"]["$ref"],
                "#/components/schemas/ErrorBody",
                "{name}"
            );
            assert!(response["description"].is_string(), "{name}");
        }
    }

    #[test]
    fn error_answers_are_the_shared_components_never_inline() {
        let doc = serde_json::to_value(ApiDoc::openapi()).expect("json");
        let paths = doc["paths"].as_object().expect("paths");
        for (path, item) in paths {
            for (method, op) in item.as_object().expect("operations") {
                for (status, response) in op["responses"].as_object().into_iter().flatten() {
                    if status.starts_with('4') || status.starts_with('5') {
                        assert!(
                            response["$ref"].is_string(),
                            "{method} {path} {status}: declare it in openapi::responses"
                        );
                    }
                }
            }
        }
    }

    /// The console's API types are generated from `web/openapi.json`
    /// (`npm run gen:api`): it must be this document. After an API change,
    /// `ADPULSE_WRITE_OPENAPI=1 cargo test -p adpulse-api --lib openapi`
    /// rewrites it; then regenerate the types.
    #[test]
    fn the_console_s_copy_of_the_document_is_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web/openapi.json");
        let doc = serde_json::to_value(ApiDoc::openapi()).expect("json");
        let current = serde_json::to_string_pretty(&doc).expect("json") + "\n";
        if std::env::var_os("ADPULSE_WRITE_OPENAPI").is_some() {
            std::fs::write(&path, &current).expect("write web/openapi.json");
        }
        let copy = std::fs::read_to_string(&path).expect("web/openapi.json");
        let copy: Value = serde_json::from_str(&copy).expect("web/openapi.json is JSON");
        assert!(
            copy == doc,
            "web/openapi.json is not the API's document: run \
             ADPULSE_WRITE_OPENAPI=1 cargo test -p adpulse-api --lib openapi, \
             then npm run gen:api in web/"
        );
    }
}
