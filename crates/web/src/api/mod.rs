//! The JSON API under `/api/v1`. Every operation is documented with `#[utoipa::path]` and
//! declares its required access in the `x-permission` extension.

mod access;
mod audit;
mod auth;
pub mod errors;
mod fleet;
mod members;
mod orgs;
mod printer_control;
mod ranks;
mod tokens;
mod workgroups;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::openapi::OpenApi;
use utoipa::{OpenApi as _, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::WebState;

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
    pub needed_access: Option<authz::AccessLevel>,
    /// With `invalid_field`: the field at fault.
    pub field: Option<String>,
    /// With `too_many_attempts`: as the `Retry-After` header.
    pub retry_after_seconds: Option<u64>,
}

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Farmhand API",
        description = "Share a fleet of 3D printers safely. Every operation names the access it needs in `x-permission`: `public`, `authenticated`, or a permission key.",
    ),
    // Schemas only parameters refer to (the derive registers those of bodies and responses).
    components(schemas(ErrorBody, app::PrintFileName, authz::schema::PermissionKey, domain::Timestamp)),
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

/// The API's routes (paths already under `/api/v1`), their OpenAPI document, and what is wrong
/// with the routes' declarations (the server refuses to start with any).
pub fn router_and_doc() -> (Router<WebState>, OpenApi, Vec<String>) {
    let v1 = OpenApiRouter::new()
        .routes(routes!(auth::sign_in))
        .routes(routes!(auth::sign_out))
        .routes(routes!(auth::me))
        .routes(routes!(auth::change_password))
        .routes(routes!(members::preview_invitation))
        .routes(routes!(members::accept_invitation))
        .routes(routes!(members::my_invitations))
        .routes(routes!(members::accept_my_invitation))
        .routes(routes!(members::decline_my_invitation))
        .routes(routes!(orgs::get_org, orgs::update_org))
        .routes(routes!(orgs::list_sites, orgs::create_site))
        .routes(routes!(
            orgs::get_site,
            orgs::update_site,
            orgs::delete_site
        ))
        .routes(routes!(orgs::list_ranks))
        .routes(routes!(members::list_members, members::add_member))
        .routes(routes!(members::get_member, members::update_member))
        .routes(routes!(members::deactivate_member))
        .routes(routes!(members::reactivate_member))
        .routes(routes!(
            members::list_invitations,
            members::create_invitation
        ))
        .routes(routes!(members::revoke_invitation))
        .routes(routes!(
            workgroups::list_workgroups,
            workgroups::create_workgroup
        ))
        .routes(routes!(
            workgroups::get_workgroup,
            workgroups::update_workgroup,
            workgroups::delete_workgroup
        ))
        .routes(routes!(workgroups::set_member, workgroups::remove_member))
        .routes(routes!(tokens::list_tokens, tokens::create_token))
        .routes(routes!(tokens::revoke_token))
        .routes(routes!(audit::list_events))
        .routes(routes!(audit::export_events))
        .routes(routes!(ranks::catalog))
        .routes(routes!(ranks::create_rank))
        .routes(routes!(
            ranks::get_rank,
            ranks::update_rank,
            ranks::delete_rank
        ))
        .routes(routes!(ranks::clone_rank))
        .routes(routes!(ranks::preview_rank))
        .routes(routes!(ranks::reorder_ranks))
        .routes(routes!(ranks::import_preset))
        .routes(routes!(access::list_grants, access::create_grant))
        .routes(routes!(access::delete_grant))
        .routes(routes!(access::member_rights))
        .routes(routes!(access::set_override, access::clear_override))
        .routes(routes!(access::explain))
        .routes(routes!(fleet::list_printers, fleet::create_printer))
        .routes(routes!(
            fleet::get_printer,
            fleet::update_printer,
            fleet::delete_printer
        ))
        .routes(routes!(printer_control::live))
        .routes(routes!(printer_control::prints, printer_control::start))
        .routes(routes!(printer_control::history))
        .routes(routes!(printer_control::pause))
        .routes(routes!(printer_control::resume))
        .routes(routes!(printer_control::cancel))
        .routes(routes!(printer_control::emergency_stop))
        .routes(routes!(printer_control::confirm_bed_clear))
        .routes(routes!(printer_control::send_gcode))
        .routes(routes!(printer_control::preheat))
        .routes(routes!(printer_control::maintenance))
        .routes(routes!(printer_control::simulate_fault))
        .routes(routes!(printer_control::events))
        .routes(routes!(fleet::list_models, fleet::create_model))
        .routes(routes!(fleet::update_model, fleet::delete_model))
        .routes(routes!(fleet::list_groups, fleet::create_group))
        .routes(routes!(fleet::update_group, fleet::delete_group));
    let (router, mut doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .nest("/api/v1", v1)
        .split_for_parts();
    let problems = errors::document(&mut doc);
    (router, doc, problems)
}

/// 201 with the created resource.
pub(crate) fn created<T: Serialize>(body: T) -> Response {
    (StatusCode::CREATED, axum::Json(body)).into_response()
}
