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
use crate::extract::{ApiJson, ApiPath, OptionalJson, Org};
use crate::wire::each;
use crate::wire::ids::{MemberId, OrgId, WorkgroupId};
use crate::wire::people::{
    CreateWorkgroup, SetWorkgroupMember, UpdateWorkgroup, Workgroup, WorkgroupDetail,
};

/// The organization's workgroups.
#[utoipa::path(get, path = "/orgs/{org_id}/workgroups", tag = "workgroups", params(("org_id" = OrgId, Path)),
    responses((status = 200, body = Vec<Workgroup>)))]
pub async fn list_workgroups(
    State(state): State<WebState>,
    Org(actor): Org,
) -> ApiResult<Json<Vec<Workgroup>>> {
    Ok(Json(each(
        state.app.people().list_workgroups(&actor).await?,
    )))
}

/// Create a workgroup.
#[utoipa::path(post, path = "/orgs/{org_id}/workgroups", tag = "workgroups", params(("org_id" = OrgId, Path)),
    request_body = CreateWorkgroup,
    responses((status = 201, body = Workgroup)),
    extensions(("x-errors" = json!(errors(&[E::InvalidField, E::NameTaken])))))]
pub async fn create_workgroup(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiJson(input): ApiJson<CreateWorkgroup>,
) -> ApiResult<Response> {
    Ok(created(Workgroup::from(
        state
            .app
            .people()
            .create_workgroup(&actor, input.into())
            .await?,
    )))
}

/// A workgroup with its members and moderators.
#[utoipa::path(get, path = "/orgs/{org_id}/workgroups/{workgroup_id}", tag = "workgroups",
    params(("org_id" = OrgId, Path), ("workgroup_id" = WorkgroupId, Path)),
    responses((status = 200, body = WorkgroupDetail)))]
pub async fn get_workgroup(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, WorkgroupId)>,
) -> ApiResult<Json<WorkgroupDetail>> {
    let id = ids.1.into();
    Ok(Json(
        state.app.people().get_workgroup(&actor, id).await?.into(),
    ))
}

/// Rename a workgroup or change its description.
#[utoipa::path(patch, path = "/orgs/{org_id}/workgroups/{workgroup_id}", tag = "workgroups",
    params(("org_id" = OrgId, Path), ("workgroup_id" = WorkgroupId, Path)), request_body = UpdateWorkgroup,
    responses((status = 200, body = Workgroup)),
    extensions(("x-errors" = json!(errors(&[E::InvalidField, E::NameTaken])))))]
pub async fn update_workgroup(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, WorkgroupId)>,
    ApiJson(input): ApiJson<UpdateWorkgroup>,
) -> ApiResult<Json<Workgroup>> {
    let id = ids.1.into();
    Ok(Json(
        state
            .app
            .people()
            .update_workgroup(&actor, id, input.into())
            .await?
            .into(),
    ))
}

/// Delete a workgroup (its members stay in the organization).
#[utoipa::path(delete, path = "/orgs/{org_id}/workgroups/{workgroup_id}", tag = "workgroups",
    params(("org_id" = OrgId, Path), ("workgroup_id" = WorkgroupId, Path)),
    responses((status = 204)))]
pub async fn delete_workgroup(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, WorkgroupId)>,
) -> ApiResult<StatusCode> {
    let id = ids.1.into();
    state.app.people().delete_workgroup(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Put a member in a workgroup, as moderator or not. Workgroup managers may do anything;
/// a workgroup's moderators may add ordinary members.
#[utoipa::path(put, path = "/orgs/{org_id}/workgroups/{workgroup_id}/members/{member_id}", tag = "workgroups",
    params(("org_id" = OrgId, Path), ("workgroup_id" = WorkgroupId, Path), ("member_id" = MemberId, Path)),
    request_body(content = Option<SetWorkgroupMember>),
    responses((status = 200, body = WorkgroupDetail)),
    extensions(("x-errors" = json!(errors(&[E::CannotGrant, E::InsufficientSeniority])))))]
pub async fn set_member(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, WorkgroupId, MemberId)>,
    OptionalJson(input): OptionalJson<SetWorkgroupMember>,
) -> ApiResult<Json<WorkgroupDetail>> {
    let (_, id, member) = ids;
    Ok(Json(
        state
            .app
            .people()
            .set_workgroup_member(
                &actor,
                id.into(),
                member.into(),
                input.unwrap_or_default().into(),
            )
            .await?
            .into(),
    ))
}

/// Take a member out of a workgroup.
#[utoipa::path(delete, path = "/orgs/{org_id}/workgroups/{workgroup_id}/members/{member_id}", tag = "workgroups",
    params(("org_id" = OrgId, Path), ("workgroup_id" = WorkgroupId, Path), ("member_id" = MemberId, Path)),
    responses((status = 204)),
    extensions(("x-errors" = json!(errors(&[E::InsufficientSeniority])))))]
pub async fn remove_member(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, WorkgroupId, MemberId)>,
) -> ApiResult<StatusCode> {
    let (_, id, member) = ids;
    state
        .app
        .people()
        .remove_workgroup_member(&actor, id.into(), member.into())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// This module's operations and what each requires.
pub(super) fn routes(api: ApiRoutes) -> ApiRoutes {
    api.permission(P::WorkgroupsView, routes!(list_workgroups))
        .permission(P::WorkgroupsManage, routes!(create_workgroup))
        .permission(P::WorkgroupsView, routes!(get_workgroup))
        .permission(P::WorkgroupsManage, routes!(update_workgroup))
        .permission(P::WorkgroupsManage, routes!(delete_workgroup))
        .permission_also(
            P::WorkgroupsView,
            &[P::WorkgroupsManage],
            routes!(set_member),
        )
        .permission_also(
            P::WorkgroupsView,
            &[P::WorkgroupsManage],
            routes!(remove_member),
        )
}
