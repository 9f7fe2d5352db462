//! The JSON API under `/api/v1`. Every operation is documented with `#[utoipa::path]` and
//! added by its module's `routes` with what it requires (published as `x-permission`). Handlers
//! take and return only the wire types of [`crate::wire`], never domain or app types.

mod access;
mod audit;
pub(crate) mod auth;
mod billing;
mod displays;
pub mod errors;
mod files;
mod fleet;
mod jobs;
mod members;
mod orgs;
pub(crate) mod printer_control;
mod quotas;
mod ranks;
mod slicing;
mod tokens;
mod workgroups;

use authz::Permission;
use axum::Router;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::openapi::{OpenApi, PathItem};
use utoipa::{OpenApi as _, ToSchema};
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter};

use crate::WebState;
use crate::routes::{Declaration, Requires, carrying};

/// The error body every failing operation returns.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code, e.g. `permission_denied`; each operation lists the codes
    /// it can answer with under each status.
    pub code: String,
    /// What went wrong, for people.
    pub message: String,
    /// Quote it when reporting a problem: the server's log has the details under it.
    pub request_id: Option<String>,
    /// With `permission_denied`: the missing permission's key.
    pub permission: Option<String>,
    /// With `permission_denied`: the missing permission's title.
    pub title: Option<String>,
    /// With `permission_denied`: members who could grant it.
    pub ask: Option<Vec<String>>,
    /// With `permission_denied` on a printer: the access level the permission needs there.
    pub needed_access: Option<crate::wire::access::AccessLevel>,
    /// With `invalid_field`: the field at fault.
    pub field: Option<String>,
    /// With `too_many_attempts`: as the `Retry-After` header.
    pub retry_after_seconds: Option<u64>,
    /// With `unsupported_file_type`: what the file is (`empty`, `png`, `jpeg`, `text`,
    /// `binary`).
    pub found: Option<String>,
    /// With `unsupported_file_type`: the kinds of file accepted.
    pub accepted: Option<Vec<String>>,
    /// With `permission_denied` for a slicer setting: the setting's PrusaSlicer key.
    pub setting: Option<String>,
}

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Farmhand API",
        description = "Share a fleet of 3D printers safely. Every operation names the access it needs in `x-permission`: `public`, `authenticated`, or a permission key.",
    ),
    // Schemas only parameters refer to (the derive registers those of bodies and responses).
    components(schemas(ErrorBody, crate::wire::values::PrintFileName, crate::wire::values::PermissionKey, crate::wire::ids::Timestamp, crate::wire::jobs::AnswerValue)),
    modifiers(&SecuritySchemes),
    tags(
        (name = "auth", description = "Signing in, sessions, passwords"),
        (name = "organizations", description = "Organizations and sites"),
        (name = "ranks", description = "Ranks, the permission catalog and printer access"),
        (name = "printers", description = "Printers, printer models and printer groups"),
        (name = "members", description = "Members and invitations"),
        (name = "workgroups", description = "Workgroups and moderators"),
        (name = "api-tokens", description = "Personal API tokens"),
        (name = "audit", description = "The tamper-evident audit log"),
        (name = "jobs", description = "Print jobs: submission, the queue, history and timelines; submission questions"),
        (name = "approval", description = "Approving, rejecting and sending back jobs"),
        (name = "files", description = "The file library: uploads, analysis, thumbnails and library projects"),
        (name = "quotas", description = "Allowances of the organization, workgroups and members; usage; custom periods; quota requests"),
        (name = "billing", description = "Balances and their ledger, prices, billing settings"),
        (name = "displays", description = "Wall display links: one site's printers live on a screen"),
        (name = "slicing", description = "Slicing models on the server with PrusaSlicer: slices, the settings your rank may change, the organization's slicing profiles"),
    )
)]
struct ApiDoc;

struct SecuritySchemes;

impl utoipa::Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut OpenApi) {
        use utoipa::openapi::security::{
            ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme,
        };
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(crate::SESSION_COOKIE))),
        );
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Where the API lives.
pub const PREFIX: &str = "/api/v1";

/// The API's operations being declared: each added with what it requires, one at a time, so
/// no operation can exist without a declaration.
pub(crate) struct ApiRoutes {
    router: OpenApiRouter<WebState>,
    declarations: Vec<Declaration>,
    problems: Vec<String>,
}

impl ApiRoutes {
    fn new() -> ApiRoutes {
        ApiRoutes {
            router: OpenApiRouter::new(),
            declarations: Vec::new(),
            problems: Vec::new(),
        }
    }

    pub(crate) fn public(self, operation: UtoipaMethodRouter<WebState>) -> ApiRoutes {
        self.add(Requires::Public, &[], operation)
    }

    pub(crate) fn authenticated(self, operation: UtoipaMethodRouter<WebState>) -> ApiRoutes {
        self.add(Requires::Authenticated, &[], operation)
    }

    pub(crate) fn permission(
        self,
        permission: Permission,
        operation: UtoipaMethodRouter<WebState>,
    ) -> ApiRoutes {
        self.add(Requires::Permission(permission), &[], operation)
    }

    /// An operation that requires `permission` and checks `also` on the resource it touches.
    pub(crate) fn permission_also(
        self,
        permission: Permission,
        also: &[Permission],
        operation: UtoipaMethodRouter<WebState>,
    ) -> ApiRoutes {
        self.add(Requires::Permission(permission), also, operation)
    }

    fn add(
        mut self,
        requires: Requires,
        also: &[Permission],
        (schemas, paths, method_router): UtoipaMethodRouter<WebState>,
    ) -> ApiRoutes {
        let operations: Vec<(Method, String)> = paths
            .paths
            .iter()
            .flat_map(|(path, item)| {
                methods(item)
                    .into_iter()
                    .map(move |method| (method, format!("{PREFIX}{path}")))
            })
            .collect();
        if operations.len() != 1 {
            self.problems.push(format!(
                "declare operations one at a time, not {operations:?} together"
            ));
        }
        for (method, path) in operations {
            self.declarations.push(Declaration {
                method,
                path,
                requires,
                also: also.to_vec(),
            });
        }
        self.router = self
            .router
            .routes((schemas, paths, carrying(method_router, requires)));
        self
    }

    /// The router under [`PREFIX`], the OpenAPI document with each operation's declaration and
    /// failures written in, the declarations, and what is wrong with them (the server refuses
    /// to start with any).
    fn finish(self) -> (Router<WebState>, OpenApi, Vec<Declaration>, Vec<String>) {
        let (router, mut doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
            .nest(PREFIX, self.router)
            .split_for_parts();
        let mut problems = self.problems;
        problems.extend(errors::document(&mut doc, &self.declarations));
        (router, doc, self.declarations, problems)
    }
}

/// The methods a path item has operations for.
pub(crate) fn methods(item: &PathItem) -> Vec<Method> {
    [
        (Method::GET, &item.get),
        (Method::POST, &item.post),
        (Method::PUT, &item.put),
        (Method::PATCH, &item.patch),
        (Method::DELETE, &item.delete),
    ]
    .into_iter()
    .filter(|(_, operation)| operation.is_some())
    .map(|(method, _)| method)
    .collect()
}

/// The API's routes (paths already under [`PREFIX`]), their OpenAPI document, their
/// declarations, and what is wrong with the declarations.
pub fn routes() -> (Router<WebState>, OpenApi, Vec<Declaration>, Vec<String>) {
    let api = ApiRoutes::new();
    let api = auth::routes(api);
    let api = members::routes(api);
    let api = orgs::routes(api);
    let api = workgroups::routes(api);
    let api = tokens::routes(api);
    let api = audit::routes(api);
    let api = ranks::routes(api);
    let api = access::routes(api);
    let api = fleet::routes(api);
    let api = printer_control::routes(api);
    let api = jobs::routes(api);
    let api = files::routes(api);
    let api = quotas::routes(api);
    let api = billing::routes(api);
    let api = slicing::routes(api);
    let api = displays::routes(api);
    api.finish()
}

/// 201 with the created resource.
pub(crate) fn created<T: Serialize>(body: T) -> Response {
    (StatusCode::CREATED, axum::Json(body)).into_response()
}

/// A CSV export streamed as a download named `file_name`. An error mid-stream can no longer
/// change the status (headers are gone): the client sees a truncated body and the log names
/// `what` failed, with the cause.
pub(crate) fn csv_download<S, E>(stream: S, what: &'static str, file_name: String) -> Response
where
    S: futures::Stream<Item = Result<Vec<u8>, E>> + Send + 'static,
    E: std::fmt::Display,
{
    use futures::TryStreamExt as _;
    let stream = stream.map_err(move |error| {
        tracing::error!(%error, "{what} failed mid-stream");
        std::io::Error::other(format!("{what} failed"))
    });
    (
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/csv; charset=utf-8".to_string(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file_name}\""),
            ),
        ],
        axum::body::Body::from_stream(stream),
    )
        .into_response()
}
