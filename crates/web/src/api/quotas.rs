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
use crate::extract::{ApiJson, ApiJsonList, ApiPath, OptionalJson, Org};
use crate::wire::ids::{MemberId, OrgId, QuotaRequestId, WorkgroupId};
use crate::wire::quotas::{
    Allowance, ApproveQuotaRequest, CreateCustomPeriod, CreateQuotaRequest, CustomPeriod,
    DeclineQuotaRequest, MemberUsage, QuotaRequest,
};

/// One level's allowances, as the wire shows them.
async fn read_level(
    state: &WebState,
    actor: &app::OrgActor,
    level: app::QuotaLevel,
) -> ApiResult<Json<Vec<Allowance>>> {
    let list = state.app.quotas().allowances(actor, level).await?;
    Ok(Json(list.into_iter().map(Into::into).collect()))
}

/// Replaces one level's allowances with `list`; answers the list as set.
async fn replace_level(
    state: &WebState,
    actor: &app::OrgActor,
    level: app::QuotaLevel,
    list: Vec<Allowance>,
) -> ApiResult<Json<Vec<Allowance>>> {
    let list = list.into_iter().map(Into::into).collect();
    let set = state
        .app
        .quotas()
        .set_allowances(actor, level, list)
        .await?;
    Ok(Json(set.into_iter().map(Into::into).collect()))
}

/// The organization's default allowances: they apply to every member who has no own value
/// of that kind and period (nor one from a workgroup).
#[utoipa::path(get, path = "/orgs/{org_id}/quotas", tag = "quotas",
    params(("org_id" = OrgId, Path)),
    responses((status = 200, body = Vec<Allowance>)))]
pub async fn get_org_quotas(
    State(state): State<WebState>,
    Org(actor): Org,
) -> ApiResult<Json<Vec<Allowance>>> {
    read_level(&state, &actor, app::QuotaLevel::Organization).await
}

/// Replace the organization's default allowances (the whole list; at most 50, one per kind
/// and period). Audited with the list before and after.
#[utoipa::path(put, path = "/orgs/{org_id}/quotas", tag = "quotas",
    params(("org_id" = OrgId, Path)), request_body = Vec<Allowance>,
    responses((status = 200, body = Vec<Allowance>)),
    extensions(("x-errors" = json!(errors(&[E::InvalidField])))))]
pub async fn put_org_quotas(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiJsonList(list): ApiJsonList<Allowance>,
) -> ApiResult<Json<Vec<Allowance>>> {
    replace_level(&state, &actor, app::QuotaLevel::Organization, list).await
}

/// A workgroup's own allowances: they apply to its members who have no own value of that
/// kind and period (a member in several workgroups gets the most generous).
#[utoipa::path(get, path = "/orgs/{org_id}/workgroups/{workgroup_id}/quotas", tag = "quotas",
    params(("org_id" = OrgId, Path), ("workgroup_id" = WorkgroupId, Path)),
    responses((status = 200, body = Vec<Allowance>)))]
pub async fn get_workgroup_quotas(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, WorkgroupId)>,
) -> ApiResult<Json<Vec<Allowance>>> {
    read_level(&state, &actor, app::QuotaLevel::Workgroup(ids.1.into())).await
}

/// Replace a workgroup's allowances.
#[utoipa::path(put, path = "/orgs/{org_id}/workgroups/{workgroup_id}/quotas", tag = "quotas",
    params(("org_id" = OrgId, Path), ("workgroup_id" = WorkgroupId, Path)),
    request_body = Vec<Allowance>,
    responses((status = 200, body = Vec<Allowance>)),
    extensions(("x-errors" = json!(errors(&[E::InvalidField])))))]
pub async fn put_workgroup_quotas(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, WorkgroupId)>,
    ApiJsonList(list): ApiJsonList<Allowance>,
) -> ApiResult<Json<Vec<Allowance>>> {
    replace_level(
        &state,
        &actor,
        app::QuotaLevel::Workgroup(ids.1.into()),
        list,
    )
    .await
}

/// A member's own allowances (the most specific level): your own, or anyone's with "See
/// everyone's quotas".
#[utoipa::path(get, path = "/orgs/{org_id}/members/{member_id}/quotas", tag = "quotas",
    params(("org_id" = OrgId, Path), ("member_id" = MemberId, Path)),
    responses((status = 200, body = Vec<Allowance>)))]
pub async fn get_member_quotas(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, MemberId)>,
) -> ApiResult<Json<Vec<Allowance>>> {
    read_level(&state, &actor, app::QuotaLevel::Member(ids.1.into())).await
}

/// Replace a member's own allowances: only for members strictly junior to you and in your
/// member scope (never your own).
#[utoipa::path(put, path = "/orgs/{org_id}/members/{member_id}/quotas", tag = "quotas",
    params(("org_id" = OrgId, Path), ("member_id" = MemberId, Path)),
    request_body = Vec<Allowance>,
    responses((status = 200, body = Vec<Allowance>)),
    extensions(("x-errors" = json!(errors(&[E::InvalidField, E::InsufficientSeniority])))))]
pub async fn put_member_quotas(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, MemberId)>,
    ApiJsonList(list): ApiJsonList<Allowance>,
) -> ApiResult<Json<Vec<Allowance>>> {
    replace_level(&state, &actor, app::QuotaLevel::Member(ids.1.into()), list).await
}

/// Each allowance that applies to a member: what they used of it in the current period, its
/// limit, where it comes from and when it resets. Your own, or anyone's with "See everyone's
/// quotas".
#[utoipa::path(get, path = "/orgs/{org_id}/members/{member_id}/usage", tag = "quotas",
    params(("org_id" = OrgId, Path), ("member_id" = MemberId, Path)),
    responses((status = 200, body = MemberUsage)))]
pub async fn member_usage(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, MemberId)>,
) -> ApiResult<Json<MemberUsage>> {
    Ok(Json(
        state.app.quotas().usage(&actor, ids.1.into()).await?.into(),
    ))
}

/// The organization's custom periods (semesters), which allowances may count over.
#[utoipa::path(get, path = "/orgs/{org_id}/quota-periods", tag = "quotas",
    params(("org_id" = OrgId, Path)),
    responses((status = 200, body = Vec<CustomPeriod>)))]
pub async fn list_periods(
    State(state): State<WebState>,
    Org(actor): Org,
) -> ApiResult<Json<Vec<CustomPeriod>>> {
    let periods = state.app.quotas().periods(&actor).await?;
    Ok(Json(periods.into_iter().map(Into::into).collect()))
}

/// Add a custom period: a name and two calendar dates (both included) in the organization's
/// time zone.
#[utoipa::path(post, path = "/orgs/{org_id}/quota-periods", tag = "quotas",
    params(("org_id" = OrgId, Path)), request_body = CreateCustomPeriod,
    responses((status = 201, body = CustomPeriod)),
    extensions(("x-errors" = json!(errors(&[E::InvalidField, E::NameTaken])))))]
pub async fn create_period(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiJson(body): ApiJson<CreateCustomPeriod>,
) -> ApiResult<Response> {
    let period = state
        .app
        .quotas()
        .create_period(&actor, body.into())
        .await?;
    Ok(created(CustomPeriod::from(period)))
}

/// Ask for more of an allowance, with a reason; someone with "Approve quota requests" answers.
#[utoipa::path(post, path = "/orgs/{org_id}/quota-requests", tag = "quotas",
    params(("org_id" = OrgId, Path)), request_body = CreateQuotaRequest,
    responses((status = 201, body = QuotaRequest)),
    extensions(("x-errors" = json!(errors(&[E::InvalidField])))))]
pub async fn create_request(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiJson(body): ApiJson<CreateQuotaRequest>,
) -> ApiResult<Response> {
    let request = state.app.quotas().request(&actor, body.into()).await?;
    Ok(created(QuotaRequest::from(request)))
}

/// Quota requests, newest first (at most 500): your own, or everyone's with "Approve quota
/// requests".
#[utoipa::path(get, path = "/orgs/{org_id}/quota-requests", tag = "quotas",
    params(("org_id" = OrgId, Path)),
    responses((status = 200, body = Vec<QuotaRequest>)))]
pub async fn list_requests(
    State(state): State<WebState>,
    Org(actor): Org,
) -> ApiResult<Json<Vec<QuotaRequest>>> {
    let requests = state.app.quotas().requests(&actor).await?;
    Ok(Json(requests.into_iter().map(Into::into).collect()))
}

/// One quota request and its answer.
#[utoipa::path(get, path = "/orgs/{org_id}/quota-requests/{request_id}", tag = "quotas",
    params(("org_id" = OrgId, Path), ("request_id" = QuotaRequestId, Path)),
    responses((status = 200, body = QuotaRequest)))]
pub async fn get_request(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, QuotaRequestId)>,
) -> ApiResult<Json<QuotaRequest>> {
    let request = state.app.quotas().get_request(&actor, ids.1.into()).await?;
    Ok(Json(request.into()))
}

/// Approve a request, for what was asked or less: the member's own allowance of that kind and
/// period becomes the granted limit.
#[utoipa::path(post, path = "/orgs/{org_id}/quota-requests/{request_id}/approve", tag = "quotas",
    params(("org_id" = OrgId, Path), ("request_id" = QuotaRequestId, Path)),
    request_body(content = Option<ApproveQuotaRequest>, description = "Optional: grant less than asked, and a word for the member."),
    responses((status = 200, body = QuotaRequest)),
    extensions(("x-errors" = json!(errors(&[E::InvalidField, E::AlreadyDecided, E::InsufficientSeniority])))))]
pub async fn approve_request(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, QuotaRequestId)>,
    OptionalJson(body): OptionalJson<ApproveQuotaRequest>,
) -> ApiResult<Json<QuotaRequest>> {
    let (limit, reason) = body.map_or((None, None), |b| (b.limit, b.reason));
    let decision = app::DecideQuotaRequest {
        approve: true,
        limit,
        reason: reason.unwrap_or_default(),
    };
    let request = state
        .app
        .quotas()
        .decide(&actor, ids.1.into(), decision)
        .await?;
    Ok(Json(request.into()))
}

/// Decline a request, with a reason the member sees.
#[utoipa::path(post, path = "/orgs/{org_id}/quota-requests/{request_id}/decline", tag = "quotas",
    params(("org_id" = OrgId, Path), ("request_id" = QuotaRequestId, Path)),
    request_body = DeclineQuotaRequest,
    responses((status = 200, body = QuotaRequest)),
    extensions(("x-errors" = json!(errors(&[E::InvalidField, E::AlreadyDecided, E::InsufficientSeniority])))))]
pub async fn decline_request(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, QuotaRequestId)>,
    ApiJson(body): ApiJson<DeclineQuotaRequest>,
) -> ApiResult<Json<QuotaRequest>> {
    let decision = app::DecideQuotaRequest {
        approve: false,
        limit: None,
        reason: body.reason,
    };
    let request = state
        .app
        .quotas()
        .decide(&actor, ids.1.into(), decision)
        .await?;
    Ok(Json(request.into()))
}

/// This module's operations and what each requires.
pub(super) fn routes(api: ApiRoutes) -> ApiRoutes {
    // Your own allowances and usage are yours to see whenever you may submit jobs.
    let own_or_all = &[P::QuotasViewAll];
    api.permission(P::QuotasViewAll, routes!(get_org_quotas))
        .permission(P::QuotasManage, routes!(put_org_quotas))
        .permission(P::QuotasViewAll, routes!(get_workgroup_quotas))
        .permission(P::QuotasManage, routes!(put_workgroup_quotas))
        .permission_also(P::QueueSubmit, own_or_all, routes!(get_member_quotas))
        .permission_also(P::QuotasManage, &[], routes!(put_member_quotas))
        .permission_also(P::QueueSubmit, own_or_all, routes!(member_usage))
        .permission(P::OrganizationView, routes!(list_periods))
        .permission(P::QuotasManage, routes!(create_period))
        .permission(P::QueueSubmit, routes!(create_request))
        .permission_also(
            P::QueueSubmit,
            &[P::QuotasApproveRequests],
            routes!(list_requests),
        )
        .permission_also(
            P::QueueSubmit,
            &[P::QuotasApproveRequests],
            routes!(get_request),
        )
        .permission(P::QuotasApproveRequests, routes!(approve_request))
        .permission(P::QuotasApproveRequests, routes!(decline_request))
}
