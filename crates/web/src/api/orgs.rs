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
use crate::extract::{ApiJson, ApiPath, Org};
use crate::wire::access::Rank;
use crate::wire::each;
use crate::wire::ids::{OrgId, SiteId};
use crate::wire::people::{CreateSite, Organization, Site, UpdateOrg, UpdateSite};

/// The organization and its settings.
#[utoipa::path(get, path = "/orgs/{org_id}", tag = "organizations", params(("org_id" = OrgId, Path)),
    responses((status = 200, body = Organization)))]
pub async fn get_org(
    State(state): State<WebState>,
    Org(actor): Org,
) -> ApiResult<Json<Organization>> {
    Ok(Json(state.app.people().get_org(&actor).await?.into()))
}

/// Change the organization's name, time zone or currency.
#[utoipa::path(patch, path = "/orgs/{org_id}", tag = "organizations", params(("org_id" = OrgId, Path)),
    request_body = UpdateOrg,
    responses((status = 200, body = Organization)),
    extensions(("x-errors" = json!(errors(&[E::InvalidField])))))]
pub async fn update_org(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiJson(input): ApiJson<UpdateOrg>,
) -> ApiResult<Json<Organization>> {
    Ok(Json(
        state
            .app
            .people()
            .update_org(&actor, input.into())
            .await?
            .into(),
    ))
}

/// The organization's sites.
#[utoipa::path(get, path = "/orgs/{org_id}/sites", tag = "organizations", params(("org_id" = OrgId, Path)),
    responses((status = 200, body = Vec<Site>)))]
pub async fn list_sites(
    State(state): State<WebState>,
    Org(actor): Org,
) -> ApiResult<Json<Vec<Site>>> {
    Ok(Json(each(state.app.people().list_sites(&actor).await?)))
}

/// Create a site.
#[utoipa::path(post, path = "/orgs/{org_id}/sites", tag = "organizations", params(("org_id" = OrgId, Path)),
    request_body = CreateSite,
    responses((status = 201, body = Site)),
    extensions(("x-errors" = json!(errors(&[E::InvalidField, E::NameTaken])))))]
pub async fn create_site(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiJson(input): ApiJson<CreateSite>,
) -> ApiResult<Response> {
    Ok(created(Site::from(
        state.app.people().create_site(&actor, input.into()).await?,
    )))
}

/// One site.
#[utoipa::path(get, path = "/orgs/{org_id}/sites/{site_id}", tag = "organizations",
    params(("org_id" = OrgId, Path), ("site_id" = SiteId, Path)),
    responses((status = 200, body = Site)))]
pub async fn get_site(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, SiteId)>,
) -> ApiResult<Json<Site>> {
    let site = ids.1.into();
    Ok(Json(
        state.app.people().get_site(&actor, site).await?.into(),
    ))
}

/// Rename a site or change its description or time zone.
#[utoipa::path(patch, path = "/orgs/{org_id}/sites/{site_id}", tag = "organizations",
    params(("org_id" = OrgId, Path), ("site_id" = SiteId, Path)), request_body = UpdateSite,
    responses((status = 200, body = Site)),
    extensions(("x-errors" = json!(errors(&[E::InvalidField, E::NameTaken])))))]
pub async fn update_site(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, SiteId)>,
    ApiJson(input): ApiJson<UpdateSite>,
) -> ApiResult<Json<Site>> {
    let site = ids.1.into();
    Ok(Json(
        state
            .app
            .people()
            .update_site(&actor, site, input.into())
            .await?
            .into(),
    ))
}

/// Delete a site. Members whose home site it was keep their membership without one.
#[utoipa::path(delete, path = "/orgs/{org_id}/sites/{site_id}", tag = "organizations",
    params(("org_id" = OrgId, Path), ("site_id" = SiteId, Path)),
    responses((status = 204)),
    extensions(("x-errors" = json!(errors(&[E::SiteInUse, E::TargetInUse])))))]
pub async fn delete_site(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, SiteId)>,
) -> ApiResult<StatusCode> {
    let site = ids.1.into();
    state.app.people().delete_site(&actor, site).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The organization's ranks, most senior first.
#[utoipa::path(get, path = "/orgs/{org_id}/ranks", tag = "organizations", params(("org_id" = OrgId, Path)),
    responses((status = 200, body = Vec<Rank>)))]
pub async fn list_ranks(
    State(state): State<WebState>,
    Org(actor): Org,
) -> ApiResult<Json<Vec<Rank>>> {
    Ok(Json(each(state.app.access().list_ranks(&actor).await?)))
}

/// This module's operations and what each requires.
pub(super) fn routes(api: ApiRoutes) -> ApiRoutes {
    api.permission(P::OrganizationView, routes!(get_org))
        .permission_also(
            P::OrganizationManage,
            &[P::FilesRestrictGcodeUpload],
            routes!(update_org),
        )
        .permission(P::SitesView, routes!(list_sites))
        .permission(P::SitesManage, routes!(create_site))
        .permission(P::SitesView, routes!(get_site))
        .permission(P::SitesManage, routes!(update_site))
        .permission(P::SitesManage, routes!(delete_site))
        .permission(P::RanksView, routes!(list_ranks))
}
