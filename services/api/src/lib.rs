//! The campaign management API (`adpulse api`), under `/api/v1`.
//!
//! - `auth`: login, refresh rotation, logout; the [`auth::Caller`]
//!   extractor that authenticates every other request;
//! - `campaigns`: the campaign resource, its listing, lifecycle and
//!   targeting;
//! - `admin`: the tenant's ingest keys and users (admins only);
//! - `alerts`: alert rules and their notification channels;
//! - `assets`: creatives (upload, thumbnails, object storage);
//! - `reports`: live numbers, historical reports, top campaigns, exports;
//! - `error`: the API's errors, in the one error body of adpulse;
//! - `cursor`: the one codec of every listing's pagination cursor;
//! - `http`: JSON bodies, query strings, ETags, security headers;
//! - `openapi`: the OpenAPI 3.1 description and the docs page, with the
//!   error responses declared once;
//! - `session`: the web console's login, with the refresh token in an
//!   HttpOnly cookie; `signed`: short-lived signed URLs for thumbnails and
//!   the live stream, which a browser fetches without headers.
//!
//! Every other GET path is the web console (`adpulse_console`), served at
//! `/` from files compiled into the binary.
//!
//! Every request runs its queries in a transaction confined to the caller's
//! tenant; Postgres row-level security enforces the same confinement (the
//! API's composition root connects with `Database::connect_for_tenants`).

pub mod admin;
pub mod alerts;
pub mod assets;
pub mod auth;
pub mod campaigns;
mod cursor;
pub mod error;
pub mod http;
mod metrics;
pub mod openapi;
pub mod ops;
pub mod reports;
pub mod session;
pub mod signed;

use std::future::Future;
use std::sync::Arc;

use adpulse_config::{AlertsConfig, ApiConfig, HttpConfig};
use adpulse_domain::ports::{LiveCounters, RawArchive, Store};
use adpulse_domain::switch::Switchboard;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::routing::{get, patch, post};

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The relational store (tenant-scoped Postgres, or SQLite embedded).
    pub db: Arc<dyn Store>,
    /// Token signing and the login limits.
    pub auth: Arc<auth::Auth>,
    /// Signed URLs for what a browser fetches without headers.
    pub signer: Arc<signed::Signer>,
    /// CORS and deprecation.
    pub policies: http::Policies,
    /// Where creatives' bytes are kept.
    pub assets: assets::AssetStore,
    /// Largest creative upload.
    pub max_asset_bytes: usize,
    /// Image decodes allowed at once (each may take up to 256 MiB).
    pub decodes: Arc<tokio::sync::Semaphore>,
    /// The live counters (realtime reports answer 503 without them).
    pub live: Option<Arc<dyn LiveCounters>>,
    /// The raw-event archive (the events listing answers 503 without it).
    pub archive: Option<Arc<dyn RawArchive>>,
    /// How alert channels are checked.
    pub alerts: AlertsConfig,
    /// The kill switches in force (none unless the caller follows them).
    pub switches: Switchboard,
    /// The operators' bearer token (`/ops/*`); `None`: those routes 404.
    pub ops_token: Option<Arc<str>>,
    /// Set when the process starts to shut down: live streams end then
    /// (the browser reconnects through the balancer to a replica that
    /// stays), so they never hold a drain until its grace runs out.
    pub closing: Arc<tokio::sync::watch::Sender<bool>>,
}

/// An API that cannot start.
#[derive(Debug, thiserror::Error)]
#[error("api: {0}")]
pub struct ApiStartError(String);

impl AppState {
    /// State for `cfg` on `db` (a Postgres connection should be
    /// tenant-scoped: `Database::connect_for_tenants`).
    pub fn new(cfg: &ApiConfig, db: Arc<dyn Store>) -> Result<Self, ApiStartError> {
        Ok(Self {
            db,
            auth: Arc::new(auth::Auth::new(cfg).map_err(ApiStartError)?),
            signer: Arc::new(
                signed::Signer::new(
                    cfg.jwt_secret
                        .as_ref()
                        .map(|s| s.expose().as_bytes())
                        .unwrap_or_default(),
                )
                .map_err(ApiStartError)?,
            ),
            policies: http::Policies::new(cfg).map_err(ApiStartError)?,
            assets: assets::AssetStore::open(&cfg.asset_store).map_err(ApiStartError)?,
            max_asset_bytes: cfg.max_asset_bytes,
            decodes: Arc::new(tokio::sync::Semaphore::new(2)),
            live: None,
            archive: None,
            alerts: AlertsConfig::default(),
            switches: Switchboard::default(),
            ops_token: None,
            closing: Arc::new(tokio::sync::watch::Sender::new(false)),
        })
    }

    /// Follows the kill switches of `board` (a read-only API) and opens
    /// the operators' routes to holders of `token`.
    #[must_use]
    pub fn with_ops(mut self, board: Switchboard, token: Option<&str>) -> Self {
        self.switches = board;
        self.ops_token = token.map(Arc::from);
        self
    }

    /// Lists raw events from `archive`.
    #[must_use]
    pub fn with_archive(mut self, archive: Arc<dyn RawArchive>) -> Self {
        self.archive = Some(archive);
        self
    }

    /// Checks alert channels' targets by `alerts` (the default refuses
    /// private destinations).
    #[must_use]
    pub fn with_alerts(mut self, alerts: AlertsConfig) -> Self {
        self.alerts = alerts;
        self
    }

    /// Reads live numbers from `live`.
    #[must_use]
    pub fn with_live(mut self, live: Arc<dyn LiveCounters>) -> Self {
        self.live = Some(live);
        self
    }
}

/// Every `/api/v1` route but the creatives upload, which has a body limit
/// of its own.
fn v1_routes() -> Router<AppState> {
    Router::new()
        .route("/auth/login", post(auth::login))
        .route("/auth/refresh", post(auth::refresh))
        .route("/auth/logout", post(auth::logout))
        .route("/session", post(session::login).delete(session::logout))
        .route("/session/refresh", post(session::refresh))
        .route(
            "/campaigns",
            get(campaigns::list::list).post(campaigns::resource::create),
        )
        .route(
            "/campaigns/{id}",
            get(campaigns::resource::get)
                .put(campaigns::resource::replace)
                .patch(campaigns::resource::patch)
                .delete(campaigns::resource::delete),
        )
        .route(
            "/campaigns/{id}/status",
            patch(campaigns::status::set_status),
        )
        .route(
            "/campaigns/{id}/targeting",
            get(campaigns::targeting::get_targeting).put(campaigns::targeting::put_targeting),
        )
        .route(
            "/ingest-keys",
            get(admin::list_keys).post(admin::create_key),
        )
        .route(
            "/ingest-keys/{id}",
            axum::routing::delete(admin::revoke_key),
        )
        .route("/users", get(admin::list_users).post(admin::create_user))
        .route("/users/{id}/deactivate", post(admin::deactivate_user))
        .route(
            "/campaigns/{id}/assets/{asset}",
            get(assets::catalogue::get).delete(assets::catalogue::delete),
        )
        .route("/creatives", get(assets::library::library))
        .merge(alerts::routes())
        .route(
            "/campaigns/{id}/assets/{asset}/content",
            get(assets::content::content),
        )
        .route("/campaigns/{id}/realtime", get(reports::realtime::realtime))
        .route(
            "/campaigns/{id}/realtime/stream",
            get(reports::stream::realtime_stream),
        )
        .route(
            "/campaigns/{id}/realtime/stream-url",
            post(reports::stream::stream_url),
        )
        .route(
            "/campaigns/{id}/reports",
            get(reports::campaign::campaign_report),
        )
        .route(
            "/campaigns/{id}/reports/export",
            get(reports::export::campaign_export),
        )
        .route("/campaigns/{id}/events", get(reports::events::events))
        .route("/reports/campaigns", get(reports::top::top_campaigns))
        .route(
            "/reports/campaigns/export",
            get(reports::export::top_export),
        )
        .route("/ops/switches", get(ops::list).post(ops::set))
        .route("/ops/switches/audit", get(ops::audit))
        .route("/ops/switches/{key}", axum::routing::delete(ops::clear))
}

/// Readiness: the store is required; object storage (creatives), the live
/// counters (realtime reports) and the raw-event archive (the events
/// listing) are not: without them those routes answer 503 and the rest
/// serves on.
pub fn health(state: &AppState) -> adpulse_http::Health {
    let db = Arc::clone(&state.db);
    let assets = state.assets.clone();
    let mut h = adpulse_http::Health::new("api")
        .require("store", move || {
            let db = Arc::clone(&db);
            async move {
                adpulse_domain::ports::Connected::ping(&*db)
                    .await
                    .map_err(|e| e.to_string())
            }
        })
        .prefer("object_storage", move || {
            let a = assets.clone();
            async move { a.ping().await.map_err(|e| e.to_string()) }
        });
    if let Some(live) = &state.live {
        let live = Arc::clone(live);
        h = h.prefer("live_counters", move || {
            let l = Arc::clone(&live);
            async move { l.ping().await.map_err(|e| e.to_string()) }
        });
    }
    if let Some(archive) = &state.archive {
        let archive = Arc::clone(archive);
        h = h.prefer("archive", move || {
            let a = Arc::clone(&archive);
            async move { a.ping().await.map_err(|e| e.to_string()) }
        });
    }
    h
}

/// The routes, with body limits, security headers and the uniform error
/// shape.
pub fn router(state: AppState, cfg: &ApiConfig) -> Router {
    let h = health(&state);
    routes(state, cfg, &h)
}

fn routes(state: AppState, cfg: &ApiConfig, health: &adpulse_http::Health) -> Router {
    metrics::describe();
    let v1 = v1_routes();
    // Creatives are the one upload: their limit is the file's plus room
    // for the multipart framing.
    let uploads = Router::new().route(
        "/campaigns/{id}/assets",
        get(assets::catalogue::list).post(assets::upload::upload),
    );
    let v1 = http::body_limit(v1, cfg.max_body_bytes)
        .merge(http::body_limit(
            uploads,
            cfg.max_asset_bytes.saturating_add(64 * 1024),
        ))
        .route_layer(axum::middleware::from_fn(metrics::track))
        .route_layer(axum::middleware::from_fn_with_state(
            state.switches.clone(),
            ops::read_only,
        ));
    let health = health.router().merge(adpulse_telemetry::metrics_router());
    let policies = Arc::new(state.policies.clone());
    let docs: Router = utoipa_swagger_ui::SwaggerUi::new("/api/v1/docs")
        .url(
            "/api/v1/openapi.json",
            <openapi::ApiDoc as utoipa::OpenApi>::openapi(),
        )
        .into();
    Router::new()
        .nest("/api/v1", v1.with_state(state))
        .merge(docs)
        .merge(health)
        .fallback(console)
        .layer(DefaultBodyLimit::max(cfg.max_body_bytes))
        .layer(axum::middleware::from_fn(http::uniform_errors))
        .layer(axum::middleware::from_fn_with_state(
            policies,
            http::policies,
        ))
        .layer(axum::middleware::from_fn(http::security_headers))
}

/// Whether the web console's files are compiled into this binary.
pub fn console_built() -> bool {
    adpulse_console::is_built()
}

/// Every path no route has: the web console's pages and files, or 404
/// (in the one error shape, by `uniform_errors`).
async fn console(request: axum::extract::Request) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    if adpulse_console::owns(request.method(), request.uri().path()) {
        adpulse_console::serve(request.uri().path(), request.headers())
    } else {
        StatusCode::NOT_FOUND.into_response()
    }
}

/// Serves the API on `listener` with the listener defences of `http` until
/// `shutdown`, then finishes in-flight requests.
pub async fn serve(
    cfg: &ApiConfig,
    state: AppState,
    listener: tokio::net::TcpListener,
    http: HttpConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ApiStartError> {
    let health = health(&state);
    let closing = Arc::clone(&state.closing);
    let app = routes(state, cfg, &health);
    let shutdown = async move {
        shutdown.await;
        closing.send_replace(true);
    };
    let shutdown = health.drain(shutdown, std::time::Duration::from_millis(http.drain_ms));
    adpulse_http::serve(listener, app, "api", http, shutdown)
        .await
        .map_err(|e| ApiStartError(e.to_string()))
}
