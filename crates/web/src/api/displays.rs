//! Wall display links through the API, with the permission and use cases the pages use.

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
use crate::wire::displays::{CreateDisplayLink, CreatedDisplayLink, DisplayLink};
use crate::wire::each;
use crate::wire::ids::{DisplayLinkId, OrgId};

/// The organization's wall display links, newest first, revoked ones included. Secrets are
/// never shown again.
#[utoipa::path(get, path = "/orgs/{org_id}/displays", tag = "displays", params(("org_id" = OrgId, Path)),
    responses((status = 200, body = Vec<DisplayLink>)))]
pub async fn list_displays(
    State(state): State<WebState>,
    Org(actor): Org,
) -> ApiResult<Json<Vec<DisplayLink>>> {
    Ok(Json(each(state.app.display_links(&actor).await?)))
}

/// Make a display link for a site: whoever opens it sees that site's printers live, without
/// an account. The secret is in this response only.
#[utoipa::path(post, path = "/orgs/{org_id}/displays", tag = "displays", params(("org_id" = OrgId, Path)),
    request_body = CreateDisplayLink,
    responses((status = 201, body = CreatedDisplayLink)),
    extensions(("x-errors" = json!(errors(&[E::InvalidField])))))]
pub async fn create_display(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiJson(input): ApiJson<CreateDisplayLink>,
) -> ApiResult<Response> {
    let link = state
        .app
        .create_display_link(&actor, input.site_id.into(), &input.name)
        .await?;
    Ok(created(CreatedDisplayLink::from(link)))
}

/// Revoke a display link: screens showing it stop at once.
#[utoipa::path(delete, path = "/orgs/{org_id}/displays/{display_id}", tag = "displays",
    params(("org_id" = OrgId, Path), ("display_id" = DisplayLinkId, Path)),
    responses((status = 204)),
    extensions(("x-errors" = json!(errors(&[E::AlreadyRevoked])))))]
pub async fn revoke_display(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, DisplayLinkId)>,
) -> ApiResult<StatusCode> {
    state.app.revoke_display_link(&actor, ids.1.into()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// This module's operations and what each requires.
pub(super) fn routes(api: ApiRoutes) -> ApiRoutes {
    api.permission(P::SitesManage, routes!(list_displays))
        .permission(P::SitesManage, routes!(create_display))
        .permission(P::SitesManage, routes!(revoke_display))
}
