use authz::Permission as P;
use axum::Json;
use axum::extract::State;
use axum::response::Response;
use utoipa_axum::routes;

use super::ApiRoutes;
use crate::WebState;
use crate::api::errors::errors;
use crate::error::ApiResult;
use crate::error::ErrorCode as E;
use crate::extract::{ApiQuery, Org};
use crate::wire::audit::{AuditPageBody, AuditQuery};
use crate::wire::ids::OrgId;

/// The organization's audit log, newest first, filtered and cursor-paginated.
#[utoipa::path(get, path = "/orgs/{org_id}/audit-events", tag = "audit", params(("org_id" = OrgId, Path), AuditQuery),
    responses((status = 200, body = AuditPageBody)),
    extensions(("x-errors" = json!(errors(&[E::InvalidField])))))]
pub async fn list_events(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> ApiResult<Json<AuditPageBody>> {
    let query = app::AuditQuery::from(query);
    let page = state.app.audit_log().list_audit(&actor, &query).await?;
    Ok(Json(page.into()))
}

/// Export the audit log as CSV, oldest first, streamed in constant memory. The export is
/// itself audited. It takes the list's query string: `cursor` and `limit` are checked the same
/// way but do not apply.
#[utoipa::path(get, path = "/orgs/{org_id}/audit-events/export.csv", tag = "audit", params(("org_id" = OrgId, Path), AuditQuery),
    responses((status = 200, content_type = "text/csv", body = String)),
    extensions(("x-errors" = json!(errors(&[E::InvalidField])))))]
pub async fn export_events(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> ApiResult<Response> {
    let stream = state
        .app
        .audit_log()
        .export_audit_csv(&actor, &query.into())
        .await?;
    let file_name = format!("farmhand-audit-org{}.csv", actor.org());
    Ok(super::csv_download(stream, "audit export", file_name))
}

/// This module's operations and what each requires.
pub(super) fn routes(api: ApiRoutes) -> ApiRoutes {
    api.permission(P::AuditView, routes!(list_events))
        .permission(P::AuditExport, routes!(export_events))
}
