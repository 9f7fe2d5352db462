use authz::Permission as P;
use axum::Json;
use axum::extract::State;
use axum::response::Response;
use utoipa_axum::routes;

use super::{ApiRoutes, created};
use crate::WebState;
use crate::api::errors::errors;
use crate::error::ApiResult;
use crate::error::ErrorCode as E;
use crate::extract::{ApiJson, ApiPath, ApiQuery, Org};
use crate::wire::each;
use crate::wire::identity::{ApiToken, CreateToken, CreatedToken, TokenListQuery};
use crate::wire::ids::{OrgId, TokenId};

/// Your API tokens (or everyone's, with `all=true`). Secrets are never shown again.
#[utoipa::path(get, path = "/orgs/{org_id}/api-tokens", tag = "api-tokens", params(("org_id" = OrgId, Path), TokenListQuery),
    responses((status = 200, body = Vec<ApiToken>)))]
pub async fn list_tokens(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiQuery(query): ApiQuery<TokenListQuery>,
) -> ApiResult<Json<Vec<ApiToken>>> {
    Ok(Json(each(
        state.app.identity().list_tokens(&actor, query.all).await?,
    )))
}

/// Create an API token, optionally expiring and limited to some of your permissions. The
/// secret is in this response only.
#[utoipa::path(post, path = "/orgs/{org_id}/api-tokens", tag = "api-tokens", params(("org_id" = OrgId, Path)),
    request_body = CreateToken,
    responses((status = 201, body = CreatedToken)),
    extensions(("x-errors" = json!(errors(&[E::InvalidField, E::InsufficientSeniority, E::SessionRequired])))))]
pub async fn create_token(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiJson(input): ApiJson<CreateToken>,
) -> ApiResult<Response> {
    Ok(created(CreatedToken::from(
        state
            .app
            .identity()
            .create_token(&actor, input.into())
            .await?,
    )))
}

/// Revoke a token: yours, or a junior member's with `api_tokens.manage.all`.
#[utoipa::path(delete, path = "/orgs/{org_id}/api-tokens/{token_id}", tag = "api-tokens",
    params(("org_id" = OrgId, Path), ("token_id" = TokenId, Path)),
    responses((status = 200, body = ApiToken)),
    extensions(("x-errors" = json!(errors(&[E::InsufficientSeniority, E::AlreadyRevoked])))))]
pub async fn revoke_token(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, TokenId)>,
) -> ApiResult<Json<ApiToken>> {
    let id = ids.1.into();
    Ok(Json(
        state.app.identity().revoke_token(&actor, id).await?.into(),
    ))
}

/// This module's operations and what each requires.
pub(super) fn routes(api: ApiRoutes) -> ApiRoutes {
    api.permission_also(
        P::ApiTokensCreateOwn,
        &[P::ApiTokensManageAll],
        routes!(list_tokens),
    )
    .permission(P::ApiTokensCreateOwn, routes!(create_token))
    .permission_also(
        P::ApiTokensCreateOwn,
        &[P::ApiTokensManageAll],
        routes!(revoke_token),
    )
}
