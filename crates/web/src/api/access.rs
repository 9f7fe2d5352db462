use authz::Permission as P;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use utoipa_axum::routes;

use super::{ApiRoutes, created};
use crate::WebState;
use crate::api::errors::errors;
use crate::error::ApiResult;
use crate::error::ErrorCode as E;
use crate::extract::{ApiJson, ApiPath, ApiQuery, Org};
use crate::wire::access::{
    CreateGrant, ExplainQuery, Explanation, MemberRights, PrinterGrant, SetOverride,
};
use crate::wire::each;
use crate::wire::ids::{GrantId, MemberId, OrgId};
use crate::wire::values::PermissionKey;

/// Printer access grants: who has which access to which printers.
#[utoipa::path(get, path = "/orgs/{org_id}/printer-access", tag = "ranks", params(("org_id" = OrgId, Path)),
    responses((status = 200, body = Vec<PrinterGrant>)))]
pub async fn list_grants(
    State(state): State<WebState>,
    Org(actor): Org,
) -> ApiResult<Json<Vec<PrinterGrant>>> {
    Ok(Json(each(state.app.access().list_grants(&actor).await?)))
}

/// Grant access (view < queue < print < manage) over all printers, a site, a group, a model or
/// one printer, to a rank, workgroup or member junior to you, up to your own access.
#[utoipa::path(post, path = "/orgs/{org_id}/printer-access", tag = "ranks", params(("org_id" = OrgId, Path)),
    request_body = CreateGrant,
    responses((status = 201, body = PrinterGrant)),
    extensions(("x-errors" = json!(errors(&[E::InvalidField, E::InsufficientSeniority, E::CannotGrant, E::GrantExists])))))]
pub async fn create_grant(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiJson(input): ApiJson<CreateGrant>,
) -> ApiResult<Response> {
    Ok(created(PrinterGrant::from(
        state
            .app
            .access()
            .create_grant(&actor, input.into())
            .await?,
    )))
}

/// Revoke a printer access grant.
#[utoipa::path(delete, path = "/orgs/{org_id}/printer-access/{grant_id}", tag = "ranks",
    params(("org_id" = OrgId, Path), ("grant_id" = GrantId, Path)),
    responses((status = 204)),
    extensions(("x-errors" = json!(errors(&[E::InsufficientSeniority, E::CannotGrant])))))]
pub async fn delete_grant(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, GrantId)>,
) -> ApiResult<StatusCode> {
    state
        .app
        .access()
        .delete_grant(&actor, ids.1.into())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A member's effective rights: permissions with their source, denied tri-state permissions,
/// and the printers they can see with their access. Yours always; others' with `members.view`.
#[utoipa::path(get, path = "/orgs/{org_id}/members/{member_id}/rights", tag = "members",
    params(("org_id" = OrgId, Path), ("member_id" = MemberId, Path)),
    responses((status = 200, body = MemberRights)))]
pub async fn member_rights(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, MemberId)>,
) -> ApiResult<Json<MemberRights>> {
    Ok(Json(
        state
            .app
            .access()
            .member_rights(&actor, ids.1.into())
            .await?
            .into(),
    ))
}

/// Allow or deny a member one of their rank's tri-state permissions.
#[utoipa::path(put, path = "/orgs/{org_id}/members/{member_id}/overrides/{permission}", tag = "members",
    params(("org_id" = OrgId, Path), ("member_id" = MemberId, Path), ("permission" = PermissionKey, Path)),
    request_body = SetOverride,
    responses((status = 200, body = MemberRights)),
    extensions(("x-errors" = json!(errors(&[E::InvalidField, E::NotTriState, E::InsufficientSeniority, E::CannotGrant])))))]
pub async fn set_override(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, MemberId, String)>,
    ApiJson(input): ApiJson<SetOverride>,
) -> ApiResult<Json<MemberRights>> {
    Ok(Json(
        state
            .app
            .access()
            .set_override(&actor, ids.1.into(), &ids.2, Some(input.effect.into()))
            .await?
            .into(),
    ))
}

/// Remove a member's override: the rank decides again.
#[utoipa::path(delete, path = "/orgs/{org_id}/members/{member_id}/overrides/{permission}", tag = "members",
    params(("org_id" = OrgId, Path), ("member_id" = MemberId, Path), ("permission" = PermissionKey, Path)),
    responses((status = 200, body = MemberRights)),
    extensions(("x-errors" = json!(errors(&[E::InvalidField, E::NotTriState, E::InsufficientSeniority, E::CannotGrant])))))]
pub async fn clear_override(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, MemberId, String)>,
) -> ApiResult<Json<MemberRights>> {
    Ok(Json(
        state
            .app
            .access()
            .set_override(&actor, ids.1.into(), &ids.2, None)
            .await?
            .into(),
    ))
}

/// Explain a decision: allowed because of which rank, override or grant; denied for lack of
/// which permission or access, and who could grant it.
#[utoipa::path(get, path = "/orgs/{org_id}/explain", tag = "members", params(("org_id" = OrgId, Path), ExplainQuery),
    responses((status = 200, body = Explanation)),
    extensions(("x-errors" = json!(errors(&[E::InvalidField])))))]
pub async fn explain(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiQuery(query): ApiQuery<ExplainQuery>,
) -> ApiResult<Json<Explanation>> {
    Ok(Json(
        state
            .app
            .access()
            .explain(
                &actor,
                query.member_id.into(),
                &query.permission,
                query.printer_id.map(Into::into),
            )
            .await?
            .into(),
    ))
}

/// This module's operations and what each requires.
pub(super) fn routes(api: ApiRoutes) -> ApiRoutes {
    api.permission(P::RanksView, routes!(list_grants))
        .permission(P::PrinterAccessManage, routes!(create_grant))
        .permission(P::PrinterAccessManage, routes!(delete_grant))
        .permission_also(
            P::OrganizationView,
            &[P::MembersView],
            routes!(member_rights),
        )
        .permission(P::MembersOverride, routes!(set_override))
        .permission(P::MembersOverride, routes!(clear_override))
        .permission_also(P::OrganizationView, &[P::MembersView], routes!(explain))
}
