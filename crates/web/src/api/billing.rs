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
use crate::extract::{ApiJson, ApiJsonList, ApiPath, ApiQuery, Org};
use crate::wire::billing::{
    Balance, BillingSettings, LedgerEntry, LedgerPage, LedgerQuery, Movement, Price, Refund,
    Report, ReportQuery, UpdateBillingSettings,
};
use crate::wire::ids::{MemberId, OrgId};

/// A member's balance, what is held for their jobs, and what is available: your own, or
/// anyone's with "See everyone's balance".
#[utoipa::path(get, path = "/orgs/{org_id}/members/{member_id}/balance", tag = "billing",
    params(("org_id" = OrgId, Path), ("member_id" = MemberId, Path)),
    responses((status = 200, body = Balance)))]
pub async fn get_balance(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, MemberId)>,
) -> ApiResult<Json<Balance>> {
    let (balance, currency) = state.app.billing().balance(&actor, ids.1.into()).await?;
    Ok(Json(Balance::new(balance, currency)))
}

/// A member's ledger, newest first: every top-up, hold, charge, release, refund and
/// adjustment with who made it, why and for which job. The balance is its sum.
#[utoipa::path(get, path = "/orgs/{org_id}/members/{member_id}/ledger", tag = "billing",
    params(("org_id" = OrgId, Path), ("member_id" = MemberId, Path), LedgerQuery),
    responses((status = 200, body = LedgerPage)),
    extensions(("x-errors" = json!(errors(&[E::InvalidField])))))]
pub async fn get_ledger(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, MemberId)>,
    ApiQuery(query): ApiQuery<LedgerQuery>,
) -> ApiResult<Json<LedgerPage>> {
    let page = state
        .app
        .billing()
        .ledger(
            &actor,
            ids.1.into(),
            query.cursor.map(Into::into),
            query.limit,
        )
        .await?;
    Ok(Json(page.into()))
}

/// Add money to a member's balance (members strictly junior to you, in your member scope).
#[utoipa::path(post, path = "/orgs/{org_id}/members/{member_id}/balance/top-ups", tag = "billing",
    params(("org_id" = OrgId, Path), ("member_id" = MemberId, Path)),
    request_body = Movement,
    responses((status = 201, body = LedgerEntry)),
    extensions(("x-errors" = json!(errors(&[E::InvalidField, E::InsufficientSeniority])))))]
pub async fn top_up(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, MemberId)>,
    ApiJson(body): ApiJson<Movement>,
) -> ApiResult<Response> {
    let entry = state
        .app
        .billing()
        .top_up(&actor, ids.1.into(), body.into())
        .await?;
    Ok(created(LedgerEntry::from(entry)))
}

/// Correct a member's balance up (positive) or down (negative), with a reason.
#[utoipa::path(post, path = "/orgs/{org_id}/members/{member_id}/balance/adjustments", tag = "billing",
    params(("org_id" = OrgId, Path), ("member_id" = MemberId, Path)),
    request_body = Movement,
    responses((status = 201, body = LedgerEntry)),
    extensions(("x-errors" = json!(errors(&[E::InvalidField, E::InsufficientSeniority])))))]
pub async fn adjust(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, MemberId)>,
    ApiJson(body): ApiJson<Movement>,
) -> ApiResult<Response> {
    let entry = state
        .app
        .billing()
        .adjust(&actor, ids.1.into(), body.into())
        .await?;
    Ok(created(LedgerEntry::from(entry)))
}

/// Give a member back money charged for one of their jobs (at most what is left of its
/// charge).
#[utoipa::path(post, path = "/orgs/{org_id}/members/{member_id}/balance/refunds", tag = "billing",
    params(("org_id" = OrgId, Path), ("member_id" = MemberId, Path)),
    request_body = Refund,
    responses((status = 201, body = LedgerEntry)),
    extensions(("x-errors" = json!(errors(&[E::InvalidField, E::InsufficientSeniority])))))]
pub async fn refund(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, MemberId)>,
    ApiJson(body): ApiJson<Refund>,
) -> ApiResult<Response> {
    let entry = state
        .app
        .billing()
        .refund(&actor, ids.1.into(), body.into())
        .await?;
    Ok(created(LedgerEntry::from(entry)))
}

/// The organization's prices, in its currency's minor units.
#[utoipa::path(get, path = "/orgs/{org_id}/prices", tag = "billing",
    params(("org_id" = OrgId, Path)),
    responses((status = 200, body = Vec<Price>)))]
pub async fn get_prices(
    State(state): State<WebState>,
    Org(actor): Org,
) -> ApiResult<Json<Vec<Price>>> {
    let (prices, _) = state.app.billing().prices(&actor).await?;
    Ok(Json(prices.into_iter().map(Into::into).collect()))
}

/// Replace the organization's prices (the whole list; at most 200, one per printer model and
/// material). Audited with the list before and after.
#[utoipa::path(put, path = "/orgs/{org_id}/prices", tag = "billing",
    params(("org_id" = OrgId, Path)), request_body = Vec<Price>,
    responses((status = 200, body = Vec<Price>)),
    extensions(("x-errors" = json!(errors(&[E::InvalidField])))))]
pub async fn put_prices(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiJsonList(list): ApiJsonList<Price>,
) -> ApiResult<Json<Vec<Price>>> {
    let prices = list.into_iter().map(Into::into).collect();
    let set = state.app.billing().set_prices(&actor, prices).await?;
    Ok(Json(set.into_iter().map(Into::into).collect()))
}

/// How the organization bills: what a failed print is charged, and how far below zero a
/// balance may go.
#[utoipa::path(get, path = "/orgs/{org_id}/settings/billing", tag = "billing",
    params(("org_id" = OrgId, Path)),
    responses((status = 200, body = BillingSettings)))]
pub async fn get_settings(
    State(state): State<WebState>,
    Org(actor): Org,
) -> ApiResult<Json<BillingSettings>> {
    Ok(Json(state.app.billing().settings(&actor).await?.into()))
}

/// Change how the organization bills.
#[utoipa::path(patch, path = "/orgs/{org_id}/settings/billing", tag = "billing",
    params(("org_id" = OrgId, Path)), request_body = UpdateBillingSettings,
    responses((status = 200, body = BillingSettings)),
    extensions(("x-errors" = json!(errors(&[E::InvalidField])))))]
pub async fn update_settings(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiJson(body): ApiJson<UpdateBillingSettings>,
) -> ApiResult<Json<BillingSettings>> {
    let settings = state
        .app
        .billing()
        .update_settings(&actor, body.into())
        .await?;
    Ok(Json(settings.into()))
}

/// Usage and spend per member, workgroup, printer or printer model, over a stretch of time
/// (default: this month), optionally per day, week or month. A job counts in the
/// period of its submission: its estimate while it waits, what printed once it ended.
#[utoipa::path(get, path = "/orgs/{org_id}/reports/usage", tag = "billing",
    params(("org_id" = OrgId, Path), ReportQuery),
    responses((status = 200, body = Report)),
    extensions(("x-errors" = json!(errors(&[E::InvalidField])))))]
pub async fn usage_report(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiQuery(query): ApiQuery<ReportQuery>,
) -> ApiResult<Json<Report>> {
    Ok(Json(
        state.app.usage_report(&actor, query.into()).await?.into(),
    ))
}

/// The usage and spend report as CSV (`group,id,name,period_start,jobs,prints,printing_hours,
/// material_grams,cost_minor`); the export is audited.
#[utoipa::path(get, path = "/orgs/{org_id}/reports/usage.csv", tag = "billing",
    params(("org_id" = OrgId, Path), ReportQuery),
    responses((status = 200, content_type = "text/csv", body = String)),
    extensions(("x-errors" = json!(errors(&[E::InvalidField])))))]
pub async fn usage_report_csv(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiQuery(query): ApiQuery<ReportQuery>,
) -> ApiResult<Response> {
    let bytes = state.app.usage_report_csv(&actor, query.into()).await?;
    let stream = futures::stream::once(async move { Ok::<_, std::io::Error>(bytes) });
    let file_name = format!("farmhand-usage-org{}.csv", actor.org());
    Ok(super::csv_download(
        stream,
        "usage report export",
        file_name,
    ))
}

/// This module's operations and what each requires.
pub(super) fn routes(api: ApiRoutes) -> ApiRoutes {
    // Your own balance and ledger are yours to see whenever you may submit jobs.
    let own_or_all = &[P::BillingViewAll];
    api.permission_also(P::QueueSubmit, own_or_all, routes!(get_balance))
        .permission_also(P::QueueSubmit, own_or_all, routes!(get_ledger))
        .permission(P::BillingManage, routes!(top_up))
        .permission(P::BillingManage, routes!(adjust))
        .permission(P::BillingRefund, routes!(refund))
        .permission(P::OrganizationView, routes!(get_prices))
        .permission(P::BillingManagePrices, routes!(put_prices))
        .permission(P::OrganizationView, routes!(get_settings))
        .permission(P::BillingManagePrices, routes!(update_settings))
        .permission(P::BillingViewReports, routes!(usage_report))
        .permission(P::BillingViewReports, routes!(usage_report_csv))
}
