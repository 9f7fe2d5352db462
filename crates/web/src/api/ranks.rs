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
use crate::wire::access::{
    CatalogDomain, CloneRank, ImportPreset, NewRank, Rank, RankChange, RankPreview, ReorderRanks,
};
use crate::wire::each;
use crate::wire::ids::{OrgId, RankId};

/// The permission catalog, grouped by domain: the rows of the permission matrix.
#[utoipa::path(get, path = "/orgs/{org_id}/permissions", tag = "ranks", params(("org_id" = OrgId, Path)),
    responses((status = 200, body = Vec<CatalogDomain>)))]
pub async fn catalog(State(state): State<WebState>, Org(_actor): Org) -> Json<Vec<CatalogDomain>> {
    Json(each(state.app.access().catalog()))
}

/// Create a rank from scratch, junior to yours and with only permissions you hold.
#[utoipa::path(post, path = "/orgs/{org_id}/ranks", tag = "ranks", params(("org_id" = OrgId, Path)),
    request_body = NewRank,
    responses((status = 201, body = Rank)),
    extensions(("x-errors" = json!(errors(&[E::InvalidField, E::InsufficientSeniority, E::CannotGrant, E::RankConflict, E::NoRoomForRanks])))))]
pub async fn create_rank(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiJson(input): ApiJson<NewRank>,
) -> ApiResult<Response> {
    Ok(created(Rank::from(
        state.app.access().create_rank(&actor, input.into()).await?,
    )))
}

/// One rank.
#[utoipa::path(get, path = "/orgs/{org_id}/ranks/{rank_id}", tag = "ranks",
    params(("org_id" = OrgId, Path), ("rank_id" = RankId, Path)),
    responses((status = 200, body = Rank)))]
pub async fn get_rank(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, RankId)>,
) -> ApiResult<Json<Rank>> {
    Ok(Json(
        state
            .app
            .access()
            .get_rank(&actor, ids.1.into())
            .await?
            .into(),
    ))
}

/// Edit a rank junior to yours; every member of the rank is affected at once.
#[utoipa::path(patch, path = "/orgs/{org_id}/ranks/{rank_id}", tag = "ranks",
    params(("org_id" = OrgId, Path), ("rank_id" = RankId, Path)), request_body = RankChange,
    responses((status = 200, body = Rank)),
    extensions(("x-errors" = json!(errors(&[E::InvalidField, E::InsufficientSeniority, E::CannotGrant, E::RankConflict])))))]
pub async fn update_rank(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, RankId)>,
    ApiJson(input): ApiJson<RankChange>,
) -> ApiResult<Json<Rank>> {
    Ok(Json(
        state
            .app
            .access()
            .update_rank(&actor, ids.1.into(), input.into())
            .await?
            .into(),
    ))
}

/// Delete a rank junior to yours that no member holds any more.
#[utoipa::path(delete, path = "/orgs/{org_id}/ranks/{rank_id}", tag = "ranks",
    params(("org_id" = OrgId, Path), ("rank_id" = RankId, Path)),
    responses((status = 204)),
    extensions(("x-errors" = json!(errors(&[E::InsufficientSeniority, E::RankInUse])))))]
pub async fn delete_rank(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, RankId)>,
) -> ApiResult<StatusCode> {
    state.app.access().delete_rank(&actor, ids.1.into()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Clone a rank under a new name.
#[utoipa::path(post, path = "/orgs/{org_id}/ranks/{rank_id}/clone", tag = "ranks",
    params(("org_id" = OrgId, Path), ("rank_id" = RankId, Path)), request_body = CloneRank,
    responses((status = 201, body = Rank)),
    extensions(("x-errors" = json!(errors(&[E::InvalidField, E::InsufficientSeniority, E::CannotGrant, E::RankConflict, E::NoRoomForRanks])))))]
pub async fn clone_rank(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, RankId)>,
    ApiJson(input): ApiJson<CloneRank>,
) -> ApiResult<Response> {
    Ok(created(Rank::from(
        state
            .app
            .access()
            .clone_rank(&actor, ids.1.into(), input.into())
            .await?,
    )))
}

/// What if: who would gain or lose which rights if this change were saved (nothing is saved).
#[utoipa::path(post, path = "/orgs/{org_id}/ranks/{rank_id}/preview", tag = "ranks",
    params(("org_id" = OrgId, Path), ("rank_id" = RankId, Path)), request_body = RankChange,
    responses((status = 200, body = RankPreview)),
    extensions(("x-errors" = json!(errors(&[E::InvalidField])))))]
pub async fn preview_rank(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, RankId)>,
    ApiJson(input): ApiJson<RankChange>,
) -> ApiResult<Json<RankPreview>> {
    Ok(Json(
        state
            .app
            .access()
            .preview_rank(&actor, ids.1.into(), input.into())
            .await?
            .into(),
    ))
}

/// Set the seniority order of the ranks junior to yours (all ranks, for owners).
#[utoipa::path(put, path = "/orgs/{org_id}/rank-order", tag = "ranks", params(("org_id" = OrgId, Path)),
    request_body = ReorderRanks,
    responses((status = 200, body = Vec<Rank>)),
    extensions(("x-errors" = json!(errors(&[E::InvalidField, E::RankOrderMismatch, E::RankConflict, E::NoRoomForRanks])))))]
pub async fn reorder_ranks(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiJson(input): ApiJson<ReorderRanks>,
) -> ApiResult<Json<Vec<Rank>>> {
    Ok(Json(each(
        state
            .app
            .access()
            .reorder_ranks(&actor, input.into())
            .await?,
    )))
}

/// Import a preset's ranks (3DPrinterOS, Print&Go, UltiMaker, SimplyPrint templates…) below
/// the existing ones.
#[utoipa::path(post, path = "/orgs/{org_id}/rank-presets", tag = "ranks", params(("org_id" = OrgId, Path)),
    request_body = ImportPreset,
    responses((status = 201, body = Vec<Rank>)),
    extensions(("x-errors" = json!(errors(&[E::InvalidField, E::InsufficientSeniority, E::CannotGrant, E::RankConflict, E::NoRoomForRanks])))))]
pub async fn import_preset(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiJson(input): ApiJson<ImportPreset>,
) -> ApiResult<Response> {
    Ok(created(each::<_, Rank>(
        state
            .app
            .access()
            .import_preset(&actor, input.into())
            .await?,
    )))
}

/// This module's operations and what each requires.
pub(super) fn routes(api: ApiRoutes) -> ApiRoutes {
    api.permission(P::OrganizationView, routes!(catalog))
        .permission(P::RanksManage, routes!(create_rank))
        .permission(P::RanksView, routes!(get_rank))
        .permission(P::RanksManage, routes!(update_rank))
        .permission(P::RanksManage, routes!(delete_rank))
        .permission(P::RanksManage, routes!(clone_rank))
        .permission(P::RanksView, routes!(preview_rank))
        .permission(P::RanksManage, routes!(reorder_ranks))
        .permission(P::RanksManage, routes!(import_preset))
}
