use authz::Permission as P;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;
use utoipa_axum::routes;

use super::{ApiRoutes, created};
use crate::WebState;
use crate::api::errors::errors;
use crate::error::ApiResult;
use crate::error::ErrorCode as E;
use crate::extract::{ApiJson, ApiPath, Auth, MaybeAuth, Meta, OptionalJson, Org};
use crate::wire::each;
use crate::wire::ids::{InvitationId, MemberId, OrgId};
use crate::wire::people::{
    AcceptInvitation, AddMember, CreateInvitation, CreatedInvitation, Invitation,
    InvitationPreview, Member, PendingInvitation, UpdateMember,
};

/// The organization's members, active and deactivated.
#[utoipa::path(get, path = "/orgs/{org_id}/members", tag = "members", params(("org_id" = OrgId, Path)),
    responses((status = 200, body = Vec<Member>)))]
pub async fn list_members(
    State(state): State<WebState>,
    Org(actor): Org,
) -> ApiResult<Json<Vec<Member>>> {
    Ok(Json(each(state.app.people().list_members(&actor).await?)))
}

/// Add someone by email, with a rank junior to yours. Nobody becomes a member without consent:
/// this creates an invitation (the same answer whether or not the email has an account) that
/// the person accepts from its link or, with an account, from their own list (`/me/invitations`).
#[utoipa::path(post, path = "/orgs/{org_id}/members", tag = "members", params(("org_id" = OrgId, Path)),
    request_body = AddMember,
    responses((status = 201, body = CreatedInvitation)),
    extensions(("x-errors" = json!(errors(&[E::InvalidField, E::InsufficientSeniority, E::CannotGrant])))))]
pub async fn add_member(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiJson(input): ApiJson<AddMember>,
) -> ApiResult<Response> {
    Ok(created(CreatedInvitation::from(
        state.app.people().add_member(&actor, input.into()).await?,
    )))
}

/// One member.
#[utoipa::path(get, path = "/orgs/{org_id}/members/{member_id}", tag = "members",
    params(("org_id" = OrgId, Path), ("member_id" = MemberId, Path)),
    responses((status = 200, body = Member)))]
pub async fn get_member(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, MemberId)>,
) -> ApiResult<Json<Member>> {
    let member = ids.1.into();
    Ok(Json(
        state.app.people().get_member(&actor, member).await?.into(),
    ))
}

/// Change a junior member's rank or home site.
#[utoipa::path(patch, path = "/orgs/{org_id}/members/{member_id}", tag = "members",
    params(("org_id" = OrgId, Path), ("member_id" = MemberId, Path)), request_body = UpdateMember,
    responses((status = 200, body = Member)),
    extensions(("x-errors" = json!(errors(&[E::InsufficientSeniority, E::CannotGrant])))))]
pub async fn update_member(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, MemberId)>,
    ApiJson(input): ApiJson<UpdateMember>,
) -> ApiResult<Json<Member>> {
    let member = ids.1.into();
    Ok(Json(
        state
            .app
            .people()
            .update_member(&actor, member, input.into())
            .await?
            .into(),
    ))
}

/// Deactivate a junior member: ends their access to this organization (revokes their API tokens
/// here and the invitations they sent), keeps their history; their account and other
/// organizations are untouched.
#[utoipa::path(post, path = "/orgs/{org_id}/members/{member_id}/deactivate", tag = "members",
    params(("org_id" = OrgId, Path), ("member_id" = MemberId, Path)),
    responses((status = 200, body = Member)),
    extensions(("x-errors" = json!(errors(&[E::InsufficientSeniority, E::CannotGrant, E::NoChange])))))]
pub async fn deactivate_member(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, MemberId)>,
) -> ApiResult<Json<Member>> {
    let member = ids.1.into();
    Ok(Json(
        state
            .app
            .people()
            .deactivate_member(&actor, member)
            .await?
            .into(),
    ))
}

/// Reactivate a deactivated member.
#[utoipa::path(post, path = "/orgs/{org_id}/members/{member_id}/reactivate", tag = "members",
    params(("org_id" = OrgId, Path), ("member_id" = MemberId, Path)),
    responses((status = 200, body = Member)),
    extensions(("x-errors" = json!(errors(&[E::InsufficientSeniority, E::CannotGrant, E::NoChange])))))]
pub async fn reactivate_member(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, MemberId)>,
) -> ApiResult<Json<Member>> {
    let member = ids.1.into();
    Ok(Json(
        state
            .app
            .people()
            .reactivate_member(&actor, member)
            .await?
            .into(),
    ))
}

/// Invitations, newest first, with their status.
#[utoipa::path(get, path = "/orgs/{org_id}/invitations", tag = "members", params(("org_id" = OrgId, Path)),
    responses((status = 200, body = Vec<Invitation>)))]
pub async fn list_invitations(
    State(state): State<WebState>,
    Org(actor): Org,
) -> ApiResult<Json<Vec<Invitation>>> {
    Ok(Json(each(
        state.app.people().list_invitations(&actor).await?,
    )))
}

/// Invite someone by link, with a rank junior to yours. The link token is shown only once.
#[utoipa::path(post, path = "/orgs/{org_id}/invitations", tag = "members", params(("org_id" = OrgId, Path)),
    request_body = CreateInvitation,
    responses((status = 201, body = CreatedInvitation)),
    extensions(("x-errors" = json!(errors(&[E::InvalidField, E::InsufficientSeniority, E::CannotGrant])))))]
pub async fn create_invitation(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiJson(input): ApiJson<CreateInvitation>,
) -> ApiResult<Response> {
    Ok(created(CreatedInvitation::from(
        state
            .app
            .people()
            .create_invitation(&actor, input.into())
            .await?,
    )))
}

/// Revoke a pending invitation.
#[utoipa::path(delete, path = "/orgs/{org_id}/invitations/{invitation_id}", tag = "members",
    params(("org_id" = OrgId, Path), ("invitation_id" = InvitationId, Path)),
    responses((status = 200, body = Invitation)),
    extensions(("x-errors" = json!(errors(&[E::InvitationUsed, E::InvitationDeclined, E::InvitationExpired, E::InvitationRevoked])))))]
pub async fn revoke_invitation(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, InvitationId)>,
) -> ApiResult<Json<Invitation>> {
    let invitation = ids.1.into();
    Ok(Json(
        state
            .app
            .people()
            .revoke_invitation(&actor, invitation)
            .await?
            .into(),
    ))
}

/// What an invitation link offers, before accepting it.
#[utoipa::path(get, path = "/invitations/{token}", tag = "members", params(("token" = String, Path)),
    responses((status = 200, body = InvitationPreview)),
    extensions(("x-errors" = json!(errors(&[E::NotFound])))))]
pub async fn preview_invitation(
    State(state): State<WebState>,
    ApiPath(token): ApiPath<String>,
) -> ApiResult<Json<InvitationPreview>> {
    Ok(Json(
        state.app.people().preview_invitation(&token).await?.into(),
    ))
}

/// Accept an invitation: signed in as the invited email, or by creating that account (then
/// signed in, with a session cookie).
#[utoipa::path(post, path = "/invitations/{token}/accept", tag = "members", params(("token" = String, Path)),
    request_body(content = Option<AcceptInvitation>, description = "For a new account: name and password"),
    responses((status = 201, body = Member)),
    extensions(("x-errors" = json!(errors(&[E::Unauthenticated, E::InvalidToken, E::CrossOriginRequest, E::SessionRequired, E::NotFound, E::InvitationUsed, E::InvitationEmailMismatch, E::SignInRequired, E::AlreadyMember, E::InvitationDeclined, E::InvitationExpired, E::InvitationRevoked, E::InvalidField])))))]
pub async fn accept_invitation(
    State(state): State<WebState>,
    Meta(meta): Meta,
    MaybeAuth(principal): MaybeAuth,
    ApiPath(token): ApiPath<String>,
    OptionalJson(input): OptionalJson<AcceptInvitation>,
) -> ApiResult<Response> {
    let input = input.unwrap_or_default();
    let (member, signed_in) = state
        .app
        .people()
        .accept_invitation(&token, principal.as_ref(), input.into(), &meta)
        .await?;
    let member = Member::from(member);
    Ok(match signed_in {
        Some(signed_in) => {
            super::auth::with_session(&state, &signed_in, StatusCode::CREATED, json!(member))
        }
        None => created(member),
    })
}

/// Invitations waiting for you (addressed to your email), in every organization.
#[utoipa::path(get, path = "/me/invitations", tag = "members",
    responses((status = 200, body = Vec<PendingInvitation>)))]
pub async fn my_invitations(
    State(state): State<WebState>,
    Auth(principal): Auth,
) -> ApiResult<Json<Vec<PendingInvitation>>> {
    Ok(Json(each(
        state.app.people().my_invitations(&principal).await?,
    )))
}

/// Accept one of your invitations (signed in with a session).
#[utoipa::path(post, path = "/me/invitations/{invitation_id}/accept", tag = "members",
    params(("invitation_id" = InvitationId, Path)),
    responses((status = 201, body = Member)),
    extensions(("x-errors" = json!(errors(&[E::SessionRequired, E::NotFound, E::AlreadyMember,
            E::InvitationUsed, E::InvitationDeclined, E::InvitationExpired, E::InvitationRevoked])))))]
pub async fn accept_my_invitation(
    State(state): State<WebState>,
    Meta(meta): Meta,
    Auth(principal): Auth,
    ApiPath(invitation): ApiPath<InvitationId>,
) -> ApiResult<Response> {
    let member = state
        .app
        .people()
        .accept_my_invitation(&principal, invitation.into(), &meta)
        .await?;
    Ok(created(Member::from(member)))
}

/// Turn down one of your invitations.
#[utoipa::path(post, path = "/me/invitations/{invitation_id}/decline", tag = "members",
    params(("invitation_id" = InvitationId, Path)),
    responses((status = 204)),
    extensions(("x-errors" = json!(errors(&[E::SessionRequired, E::NotFound, E::InvitationUsed,
            E::InvitationDeclined, E::InvitationExpired, E::InvitationRevoked])))))]
pub async fn decline_my_invitation(
    State(state): State<WebState>,
    Meta(meta): Meta,
    Auth(principal): Auth,
    ApiPath(invitation): ApiPath<InvitationId>,
) -> ApiResult<StatusCode> {
    state
        .app
        .people()
        .decline_my_invitation(&principal, invitation.into(), &meta)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// This module's operations and what each requires.
pub(super) fn routes(api: ApiRoutes) -> ApiRoutes {
    api.public(routes!(preview_invitation))
        .public(routes!(accept_invitation))
        .authenticated(routes!(my_invitations))
        .authenticated(routes!(accept_my_invitation))
        .authenticated(routes!(decline_my_invitation))
        .permission(P::MembersView, routes!(list_members))
        .permission(P::MembersInvite, routes!(add_member))
        .permission(P::MembersView, routes!(get_member))
        .permission(P::MembersManage, routes!(update_member))
        .permission(P::MembersManage, routes!(deactivate_member))
        .permission(P::MembersManage, routes!(reactivate_member))
        .permission(P::MembersInvite, routes!(list_invitations))
        .permission(P::MembersInvite, routes!(create_invitation))
        .permission(P::MembersInvite, routes!(revoke_invitation))
}
