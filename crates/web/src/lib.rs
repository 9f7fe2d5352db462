//! Farmhand's HTTP interface.

mod api;
mod error;
mod extract;
mod forward;
mod origin;
pub mod routes;
mod ui;
pub mod wire;

use std::sync::Arc;
use std::time::Duration;

use app::App;
use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use utoipa::openapi::OpenApi;

use crate::routes::PlainRoutes;

pub use api::errors::ERRORS_EXTENSION;
pub use error::{ApiError, ErrorCode};
pub use routes::{Declaration, Requires};
pub use ui::CONTENT_SECURITY_POLICY;

pub const SESSION_COOKIE: &str = "farmhand_session";
const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Web-facing settings.
#[derive(Debug, Clone, Default)]
pub struct WebSettings {
    /// Mark the session cookie `Secure` (serve behind TLS).
    pub secure_cookies: bool,
    /// Take the client address from `X-Forwarded-For` (only behind a trusted proxy).
    pub trust_forwarded_for: bool,
    /// Who may read `/metrics`.
    pub metrics: app::MetricsAccess,
}

/// What handlers share.
#[derive(Clone)]
pub struct WebState {
    pub app: App,
    pub secure_cookies: bool,
    pub trust_forwarded_for: bool,
    pub openapi: Arc<serde_json::Value>,
    pub metrics: app::MetricsAccess,
    /// Hands requests on to the instance that supervises their printer.
    pub forwarder: reqwest::Client,
}

pub(crate) fn request_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// The OpenAPI document of every API operation.
pub fn openapi() -> OpenApi {
    api::routes().1
}

/// Every route's declared requirement: the API's operations and the plain routes.
pub fn declarations() -> Vec<Declaration> {
    let (_, _, mut declarations, _) = api::routes();
    declarations.extend(plain_routes().into_parts().1);
    declarations.extend(ui::routes().into_parts().1);
    declarations
}

/// Routes outside the API document.
fn plain_routes() -> PlainRoutes {
    PlainRoutes::new()
        .get(Requires::Public, "/healthz", healthz)
        .get(Requires::Public, "/readyz", readyz)
        .get(Requires::Public, "/api/v1/openapi.json", openapi_json)
        // Public as a route; the server's configuration decides (see `metrics`).
        .get(Requires::Public, "/metrics", metrics)
}

/// Builds the whole HTTP application. Fails if any API operation lacks a declared requirement,
/// or declares its errors wrongly.
pub fn router(app: App, settings: WebSettings) -> Result<Router, String> {
    let (api_router, doc, _, problems) = api::routes();
    if !problems.is_empty() {
        return Err(problems.join("; "));
    }
    let doc_json = serde_json::to_value(&doc).map_err(|e| e.to_string())?;
    let state = WebState {
        app,
        secure_cookies: settings.secure_cookies,
        trust_forwarded_for: settings.trust_forwarded_for,
        openapi: Arc::new(doc_json),
        metrics: settings.metrics,
        forwarder: forward::client(),
    };
    let (plain_router, _) = plain_routes().into_parts();
    let (ui_router, _) = ui::routes().into_parts();
    let ui_router = ui_router
        .layer(axum::middleware::from_fn(ui::security_headers))
        .layer(axum::middleware::from_fn(ui::compress));
    let router = Router::new()
        .merge(plain_router)
        .merge(ui_router)
        .merge(api_router)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            origin::refuse_cross_site,
        ))
        // What buffering extractors (JSON) read at most; uploads stream and have their own.
        .layer(axum::extract::DefaultBodyLimit::max(
            extract::MAX_JSON_BODY_BYTES,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            forward::to_supervising_instance,
        ))
        .with_state(state)
        .layer(axum::middleware::from_fn(error::add_request_id))
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &Request| {
                // Spans are keyed by the route template, never the raw URL (IDs, tokens).
                let route = request
                    .extensions()
                    .get::<MatchedPath>()
                    .map_or("unmatched", |p| p.as_str());
                let id = request_id(request.headers()).unwrap_or_default();
                tracing::info_span!("request", method = %request.method(), route, request_id = %id)
            }),
        )
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid));
    Ok(router)
}

async fn openapi_json(State(state): State<WebState>) -> Response {
    axum::Json(state.openapi.as_ref().clone()).into_response()
}

/// The metrics in Prometheus's text format, for whoever the configuration lets read them.
async fn metrics(State(state): State<WebState>, headers: HeaderMap) -> Response {
    let bearer = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match state.metrics.decide(bearer) {
        app::MetricsDecision::Off => (
            StatusCode::NOT_FOUND,
            "metrics are off: set metrics_token (or metrics_public) in the configuration\n",
        )
            .into_response(),
        app::MetricsDecision::Refused => (
            StatusCode::UNAUTHORIZED,
            [(axum::http::header::WWW_AUTHENTICATE, "Bearer")],
            "send the configured metrics token as a bearer token\n",
        )
            .into_response(),
        app::MetricsDecision::Allowed => match state.app.metrics_text().await {
            Ok(text) => (
                [(
                    axum::http::header::CONTENT_TYPE,
                    "text/plain; version=0.0.4; charset=utf-8",
                )],
                text,
            )
                .into_response(),
            Err(error) => {
                tracing::error!(%error, "cannot gather the metrics");
                (StatusCode::INTERNAL_SERVER_ERROR, "metrics unavailable\n").into_response()
            }
        },
    }
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(state): State<WebState>) -> Response {
    let ping = tokio::time::timeout(Duration::from_secs(3), state.app.store().ping()).await;
    match ping {
        Ok(Ok(())) => "ready".into_response(),
        Ok(Err(error)) => {
            tracing::warn!(%error, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "database did not answer in time",
        )
            .into_response(),
    }
}

/// No such route: the API's JSON error under `/api/`, the web interface's "not found" page
/// elsewhere.
async fn not_found(uri: axum::http::Uri) -> Response {
    if uri.path().starts_with("/api/") {
        ApiError::new(
            ErrorCode::RouteNotFound,
            "no such route; the API is described at /api/v1/openapi.json",
        )
        .into_response()
    } else {
        ui::html_not_found()
    }
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        ErrorCode::MethodNotAllowed,
        "this route does not accept that method",
    )
}
