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
use crate::wire::each;
use crate::wire::fleet::{
    AutoStart, NamedInput, Printer, PrinterGroup, PrinterInput, PrinterModel, PrinterModelInput,
    PrinterPage, PrinterQuery, Reservation, ReservePrinter, VisiblePrinter,
};
use crate::wire::ids::{OrgId, PrinterGroupId, PrinterId, PrinterModelId, ReservationId};

/// The printers you can see, with your access to each and their live state: filtered by site,
/// group or name, in ID order, a page at a time.
#[utoipa::path(get, path = "/orgs/{org_id}/printers", tag = "printers",
    params(("org_id" = OrgId, Path), PrinterQuery),
    responses((status = 200, body = PrinterPage)),
    extensions(("x-errors" = json!(errors(&[E::InvalidField])))))]
pub async fn list_printers(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiQuery(query): ApiQuery<PrinterQuery>,
) -> ApiResult<Json<PrinterPage>> {
    Ok(Json(
        state
            .app
            .fleet()
            .list_printers(&actor, &query.into())
            .await?
            .into(),
    ))
}

/// Add a printer where you will manage it.
#[utoipa::path(post, path = "/orgs/{org_id}/printers", tag = "printers", params(("org_id" = OrgId, Path)),
    request_body = PrinterInput,
    responses((status = 201, body = Printer)),
    extensions(("x-errors" = json!(errors(&[E::InvalidField, E::NameTaken, E::CannotGrant])))))]
pub async fn create_printer(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiJson(input): ApiJson<PrinterInput>,
) -> ApiResult<Response> {
    Ok(created(Printer::from(
        state
            .app
            .fleet()
            .create_printer(&actor, input.into())
            .await?,
    )))
}

/// One printer. A printer you cannot see answers 404, like one that does not exist.
#[utoipa::path(get, path = "/orgs/{org_id}/printers/{printer_id}", tag = "printers",
    params(("org_id" = OrgId, Path), ("printer_id" = PrinterId, Path)),
    responses((status = 200, body = VisiblePrinter)))]
pub async fn get_printer(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, PrinterId)>,
) -> ApiResult<Json<VisiblePrinter>> {
    Ok(Json(
        state
            .app
            .fleet()
            .get_printer(&actor, ids.1.into())
            .await?
            .into(),
    ))
}

/// Rename a printer or move it to another site, model or groups (needs manage access before
/// and after).
#[utoipa::path(put, path = "/orgs/{org_id}/printers/{printer_id}", tag = "printers",
    params(("org_id" = OrgId, Path), ("printer_id" = PrinterId, Path)), request_body = PrinterInput,
    responses((status = 200, body = Printer)),
    extensions(("x-errors" = json!(errors(&[E::InvalidField, E::NameTaken, E::CannotGrant])))))]
pub async fn update_printer(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, PrinterId)>,
    ApiJson(input): ApiJson<PrinterInput>,
) -> ApiResult<Json<Printer>> {
    Ok(Json(
        state
            .app
            .fleet()
            .update_printer(&actor, ids.1.into(), input.into())
            .await?
            .into(),
    ))
}

/// Remove a printer. Refused while unfinished jobs aim at it; finished jobs forget it.
#[utoipa::path(delete, path = "/orgs/{org_id}/printers/{printer_id}", tag = "printers",
    params(("org_id" = OrgId, Path), ("printer_id" = PrinterId, Path)),
    responses((status = 204)),
    extensions(("x-errors" = json!(errors(&[E::TargetInUse])))))]
pub async fn delete_printer(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, PrinterId)>,
) -> ApiResult<StatusCode> {
    state
        .app
        .fleet()
        .delete_printer(&actor, ids.1.into())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Printer models.
#[utoipa::path(get, path = "/orgs/{org_id}/printer-models", tag = "printers", params(("org_id" = OrgId, Path)),
    responses((status = 200, body = Vec<PrinterModel>)))]
pub async fn list_models(
    State(state): State<WebState>,
    Org(actor): Org,
) -> ApiResult<Json<Vec<PrinterModel>>> {
    Ok(Json(each(
        state.app.fleet().list_printer_models(&actor).await?,
    )))
}

/// Add a printer model.
#[utoipa::path(post, path = "/orgs/{org_id}/printer-models", tag = "printers", params(("org_id" = OrgId, Path)),
    request_body = PrinterModelInput,
    responses((status = 201, body = PrinterModel)),
    extensions(("x-errors" = json!(errors(&[E::InvalidField, E::NameTaken])))))]
pub async fn create_model(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiJson(input): ApiJson<PrinterModelInput>,
) -> ApiResult<Response> {
    Ok(created(PrinterModel::from(
        state
            .app
            .fleet()
            .create_printer_model(&actor, input.into())
            .await?,
    )))
}

/// Remove a printer model (its printers keep working without one). Refused while unfinished
/// jobs aim at it.
#[utoipa::path(delete, path = "/orgs/{org_id}/printer-models/{model_id}", tag = "printers",
    params(("org_id" = OrgId, Path), ("model_id" = PrinterModelId, Path)),
    responses((status = 204)),
    extensions(("x-errors" = json!(errors(&[E::TargetInUse])))))]
pub async fn delete_model(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, PrinterModelId)>,
) -> ApiResult<StatusCode> {
    state
        .app
        .fleet()
        .delete_printer_model(&actor, ids.1.into())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Printer groups.
#[utoipa::path(get, path = "/orgs/{org_id}/printer-groups", tag = "printers", params(("org_id" = OrgId, Path)),
    responses((status = 200, body = Vec<PrinterGroup>)))]
pub async fn list_groups(
    State(state): State<WebState>,
    Org(actor): Org,
) -> ApiResult<Json<Vec<PrinterGroup>>> {
    Ok(Json(each(
        state.app.fleet().list_printer_groups(&actor).await?,
    )))
}

/// Add a printer group.
#[utoipa::path(post, path = "/orgs/{org_id}/printer-groups", tag = "printers", params(("org_id" = OrgId, Path)),
    request_body = NamedInput,
    responses((status = 201, body = PrinterGroup)),
    extensions(("x-errors" = json!(errors(&[E::InvalidField, E::NameTaken])))))]
pub async fn create_group(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiJson(input): ApiJson<NamedInput>,
) -> ApiResult<Response> {
    Ok(created(PrinterGroup::from(
        state
            .app
            .fleet()
            .create_printer_group(&actor, input.into())
            .await?,
    )))
}

/// Change a printer model; its printers' estimates follow.
#[utoipa::path(put, path = "/orgs/{org_id}/printer-models/{model_id}", tag = "printers",
    params(("org_id" = OrgId, Path), ("model_id" = PrinterModelId, Path)),
    request_body = PrinterModelInput,
    responses((status = 200, body = PrinterModel)),
    extensions(("x-errors" = json!(errors(&[E::InvalidField, E::NameTaken])))))]
pub async fn update_model(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, PrinterModelId)>,
    ApiJson(input): ApiJson<PrinterModelInput>,
) -> ApiResult<Json<PrinterModel>> {
    Ok(Json(
        state
            .app
            .fleet()
            .update_printer_model(&actor, ids.1.into(), input.into())
            .await?
            .into(),
    ))
}

/// Rename a printer group or change its description.
#[utoipa::path(put, path = "/orgs/{org_id}/printer-groups/{group_id}", tag = "printers",
    params(("org_id" = OrgId, Path), ("group_id" = PrinterGroupId, Path)),
    request_body = NamedInput,
    responses((status = 200, body = PrinterGroup)),
    extensions(("x-errors" = json!(errors(&[E::InvalidField, E::NameTaken])))))]
pub async fn update_group(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, PrinterGroupId)>,
    ApiJson(input): ApiJson<NamedInput>,
) -> ApiResult<Json<PrinterGroup>> {
    Ok(Json(
        state
            .app
            .fleet()
            .update_printer_group(&actor, ids.1.into(), input.into())
            .await?
            .into(),
    ))
}

/// Remove a printer group and the access granted through it. Refused while unfinished jobs
/// aim at it.
#[utoipa::path(delete, path = "/orgs/{org_id}/printer-groups/{group_id}", tag = "printers",
    params(("org_id" = OrgId, Path), ("group_id" = PrinterGroupId, Path)),
    responses((status = 204)),
    extensions(("x-errors" = json!(errors(&[E::TargetInUse])))))]
pub async fn delete_group(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, PrinterGroupId)>,
) -> ApiResult<StatusCode> {
    state
        .app
        .fleet()
        .delete_printer_group(&actor, ids.1.into())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// This module's operations and what each requires.
/// Whether the dispatcher starts the jobs it matches to this printer by itself, or they wait
/// `assigned` until someone starts them (`POST …/jobs/{job_id}/start`).
#[utoipa::path(put, path = "/orgs/{org_id}/printers/{printer_id}/auto-start", tag = "printers",
    params(("org_id" = OrgId, Path), ("printer_id" = PrinterId, Path)),
    request_body = AutoStart,
    responses((status = 200, body = VisiblePrinter)))]
pub async fn set_auto_start(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, PrinterId)>,
    ApiJson(input): ApiJson<AutoStart>,
) -> ApiResult<Json<VisiblePrinter>> {
    let fleet = state.app.fleet();
    let printer = fleet.set_auto_start(&actor, ids.1.into(), input.on).await?;
    Ok(Json(printer.into()))
}

/// Reserve the printer for a member or a workgroup over a time window: meanwhile the
/// dispatcher sends it only their jobs. Refused when another reservation overlaps.
#[utoipa::path(post, path = "/orgs/{org_id}/printers/{printer_id}/reservations", tag = "printers",
    params(("org_id" = OrgId, Path), ("printer_id" = PrinterId, Path)),
    request_body = ReservePrinter,
    responses((status = 201, body = Reservation)),
    extensions(("x-errors" = json!(errors(&[E::InvalidField, E::ReservationOverlaps])))))]
pub async fn reserve_printer(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, PrinterId)>,
    ApiJson(input): ApiJson<ReservePrinter>,
) -> ApiResult<Response> {
    let fleet = state.app.fleet();
    let reservation = fleet.reserve(&actor, ids.1.into(), input.into()).await?;
    Ok(created(Reservation::from(reservation)))
}

/// The printer's reservations that have not ended, earliest first.
#[utoipa::path(get, path = "/orgs/{org_id}/printers/{printer_id}/reservations", tag = "printers",
    params(("org_id" = OrgId, Path), ("printer_id" = PrinterId, Path)),
    responses((status = 200, body = Vec<Reservation>)))]
pub async fn list_reservations(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, PrinterId)>,
) -> ApiResult<Json<Vec<Reservation>>> {
    let reservations = state.app.fleet().reservations(&actor, ids.1.into()).await?;
    Ok(Json(each(reservations)))
}

/// Cancel a reservation of the printer.
#[utoipa::path(delete, path = "/orgs/{org_id}/printers/{printer_id}/reservations/{reservation_id}", tag = "printers",
    params(("org_id" = OrgId, Path), ("printer_id" = PrinterId, Path), ("reservation_id" = ReservationId, Path)),
    responses((status = 204)))]
pub async fn cancel_reservation(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, PrinterId, ReservationId)>,
) -> ApiResult<StatusCode> {
    let (_, printer, id) = ids;
    let fleet = state.app.fleet();
    fleet
        .cancel_reservation(&actor, printer.into(), id.into())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(super) fn routes(api: ApiRoutes) -> ApiRoutes {
    api.permission(P::PrintersView, routes!(list_printers))
        .permission(P::PrintersAdd, routes!(create_printer))
        .permission(P::PrintersView, routes!(get_printer))
        .permission_also(
            P::PrintersEdit,
            &[P::PrintersSettings],
            routes!(update_printer),
        )
        .permission(P::PrintersRemove, routes!(delete_printer))
        .permission(P::PrintersSettings, routes!(set_auto_start))
        .permission(P::PrintersReserve, routes!(reserve_printer))
        .permission(P::PrintersView, routes!(list_reservations))
        .permission(P::PrintersReserve, routes!(cancel_reservation))
        .permission(P::PrintersView, routes!(list_models))
        .permission(P::PrinterModelsAdd, routes!(create_model))
        .permission(P::PrinterModelsEdit, routes!(update_model))
        .permission(P::PrinterModelsRemove, routes!(delete_model))
        .permission(P::PrintersView, routes!(list_groups))
        .permission(P::PrinterGroupsAdd, routes!(create_group))
        .permission(P::PrinterGroupsEdit, routes!(update_group))
        .permission(P::PrinterGroupsRemove, routes!(delete_group))
}
