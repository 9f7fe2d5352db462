//! Members (invite, revoke invitations, change rank and home site, deactivate, reactivate,
//! allow or deny single tri-state permissions) and workgroups (create, rename, delete, add
//! and remove members, moderators).

use askama::Template;
use authz::Permission as P;
use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use domain::{InvitationId, InvitationStatus, MemberId, RankId, SiteId, WorkgroupId};
use serde::Deserialize;

use super::{Done, Page, back_to, framed, given, id_of};
use crate::WebState;
use crate::routes::{PlainRoutes, Requires};
use crate::ui::error::{UiError, render};
use crate::ui::session::{InOrg, checked_form};
use crate::ui::views::{self, Layout};

pub(super) fn routes(routes: PlainRoutes) -> PlainRoutes {
    let org = Requires::Permission;
    routes
        .get(
            org(P::MembersView),
            "/orgs/{org_id}/manage/members",
            members,
        )
        .post(
            org(P::MembersInvite),
            "/orgs/{org_id}/manage/invitations",
            invite,
        )
        .post(
            org(P::MembersInvite),
            "/orgs/{org_id}/manage/invitations/{invitation_id}/revoke",
            revoke,
        )
        .get(
            org(P::MembersView),
            "/orgs/{org_id}/manage/members/{member_id}",
            member_page,
        )
        .post(
            org(P::MembersManage),
            "/orgs/{org_id}/manage/members/{member_id}",
            update_member,
        )
        .post(
            org(P::MembersManage),
            "/orgs/{org_id}/manage/members/{member_id}/deactivate",
            deactivate,
        )
        .post(
            org(P::MembersManage),
            "/orgs/{org_id}/manage/members/{member_id}/reactivate",
            reactivate,
        )
        .post(
            org(P::MembersOverride),
            "/orgs/{org_id}/manage/members/{member_id}/overrides",
            set_override,
        )
        .get(
            org(P::WorkgroupsView),
            "/orgs/{org_id}/manage/workgroups",
            workgroups,
        )
        .post(
            org(P::WorkgroupsManage),
            "/orgs/{org_id}/manage/workgroups",
            create_workgroup,
        )
        .post(
            org(P::WorkgroupsManage),
            "/orgs/{org_id}/manage/workgroups/{workgroup_id}",
            update_workgroup,
        )
        .post(
            org(P::WorkgroupsManage),
            "/orgs/{org_id}/manage/workgroups/{workgroup_id}/delete",
            delete_workgroup,
        )
        .post_also(
            org(P::WorkgroupsView),
            &[P::WorkgroupsManage],
            "/orgs/{org_id}/manage/workgroups/{workgroup_id}/members",
            add_to_workgroup,
        )
        .post_also(
            org(P::WorkgroupsView),
            &[P::WorkgroupsManage],
            "/orgs/{org_id}/manage/workgroups/{workgroup_id}/members/{member_id}/remove",
            remove_from_workgroup,
        )
}

/// A choice of a menu: its value and what it says.
pub(super) struct Option_ {
    pub value: i64,
    pub label: String,
}

struct MemberLine {
    id: i64,
    name: String,
    email: String,
    rank: String,
    active: bool,
    since: String,
}

struct InvitationLine {
    id: i64,
    email: String,
    rank: String,
    status: &'static str,
    pending: bool,
    expires: String,
}

#[derive(Template)]
#[template(path = "admin/members.html")]
struct MembersPage {
    layout: Layout,
    org_id: i64,
    members: Vec<MemberLine>,
    may_invite: bool,
    invitations: Vec<InvitationLine>,
    /// Ranks the member may give (junior to theirs).
    ranks: Vec<Option_>,
    sites: Vec<Option_>,
    /// The link of an invitation just created, shown this once.
    link: String,
    notice: &'static str,
}

fn status_label(status: InvitationStatus) -> &'static str {
    match status {
        InvitationStatus::Pending => "Waiting",
        InvitationStatus::Accepted => "Accepted",
        InvitationStatus::Revoked => "Revoked",
        InvitationStatus::Declined => "Declined",
        InvitationStatus::Expired => "Expired",
    }
}

/// The ranks junior to the member's own: the ones they may give.
async fn junior_ranks(state: &WebState, member: &InOrg) -> Vec<Option_> {
    let mine = member.actor.seniority();
    match state.app.access().list_ranks(&member.actor).await {
        Ok(ranks) => ranks
            .into_iter()
            .filter(|r| mine.outranks(r.seniority()))
            .map(|r| Option_ {
                value: r.id.get(),
                label: r.name,
            })
            .collect(),
        Err(_) => Vec::new(),
    }
}

async fn site_options(state: &WebState, member: &InOrg) -> Vec<Option_> {
    state
        .app
        .people()
        .list_sites(&member.actor)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|s| Option_ {
            value: s.id.get(),
            label: s.name,
        })
        .collect()
}

async fn members_page(
    state: &WebState,
    member: &InOrg,
    link: String,
    notice: &'static str,
) -> Page {
    let members = state.app.people().list_members(&member.actor).await;
    let mut members = members.map_err(framed(member))?;
    members.sort_by(|a, b| {
        (!a.active, a.name.to_lowercase()).cmp(&(!b.active, b.name.to_lowercase()))
    });
    let may_invite = member.actor.holds(P::MembersInvite);
    let invitations = if may_invite {
        let list = state.app.people().list_invitations(&member.actor).await;
        list.map_err(framed(member))?
    } else {
        Vec::new()
    };
    let page = MembersPage {
        layout: Layout::in_org(member, "Members and invitations", "manage"),
        org_id: member.actor.org().get(),
        members: members
            .iter()
            .map(|m| MemberLine {
                id: m.id.get(),
                name: m.name.clone(),
                email: m.email.clone(),
                rank: m.rank_name.clone(),
                active: m.active,
                since: views::when(m.deactivated_at.unwrap_or(m.created_at)),
            })
            .collect(),
        may_invite,
        invitations: invitations
            .into_iter()
            .map(|i| InvitationLine {
                id: i.id.get(),
                email: i.email,
                rank: i.rank_name.unwrap_or_default(),
                status: status_label(i.status),
                pending: i.status == InvitationStatus::Pending,
                expires: views::when(i.expires_at),
            })
            .collect(),
        ranks: junior_ranks(state, member).await,
        sites: site_options(state, member).await,
        link,
        notice,
    };
    Ok(render(StatusCode::OK, &page))
}

/// Every member, with a link to manage each; the invitation form and the invitations sent.
async fn members(State(state): State<WebState>, member: InOrg, Query(done): Query<Done>) -> Page {
    let notice = match done.done.as_str() {
        "revoked" => "The invitation was revoked; its link no longer works.",
        _ => "",
    };
    members_page(&state, &member, String::new(), notice).await
}

#[derive(Deserialize)]
struct InviteForm {
    email: String,
    rank_id: String,
    #[serde(default)]
    site_id: String,
}

/// Invites someone by email with a rank; shows the invitation link this once.
async fn invite(State(state): State<WebState>, member: InOrg, request: Request) -> Page {
    let form: InviteForm = checked_form(&member.viewer, request).await?;
    let rank_id = form
        .rank_id
        .trim()
        .parse::<i64>()
        .map_err(|_| UiError::BadForm("choose the rank the person will have".into()))?;
    let site_id = super::optional_number::<i64>("the home site", &form.site_id)?;
    let input = app::CreateInvitation {
        email: form.email,
        rank_id: RankId(rank_id),
        site_id: site_id.map(SiteId),
        expires_in_hours: None,
    };
    let created = state
        .app
        .people()
        .create_invitation(&member.actor, input)
        .await;
    let created = created.map_err(framed(&member))?;
    let link = format!("/invitations/{}", created.token);
    members_page(
        &state,
        &member,
        link,
        "The invitation was created. Send the person this link; it is shown only now.",
    )
    .await
}

/// Revokes a pending invitation: its link stops working.
async fn revoke(
    State(state): State<WebState>,
    member: InOrg,
    Path((_, invitation)): Path<(String, String)>,
    request: Request,
) -> Page {
    let _: Vec<(String, String)> = checked_form(&member.viewer, request).await?;
    let id = InvitationId(id_of(&invitation)?);
    let revoked = state
        .app
        .people()
        .revoke_invitation(&member.actor, id)
        .await;
    revoked.map_err(framed(&member))?;
    Ok(back_to(&member, "members", "revoked"))
}

/// One tri-state permission of the member's rank, and how it is decided for them.
struct OverrideLine {
    key: &'static str,
    title: &'static str,
    description: &'static str,
    /// `allow`, `deny` or `inherit`.
    effect: &'static str,
    rank_default: &'static str,
}

#[derive(Template)]
#[template(path = "admin/member.html")]
struct MemberPage {
    layout: Layout,
    org_id: i64,
    id: i64,
    name: String,
    email: String,
    rank_id: i64,
    rank: String,
    site_id: i64,
    active: bool,
    since: String,
    ranks: Vec<Option_>,
    /// The member's own rank is among `ranks` (else it is shown first, as it is).
    rank_offered: bool,
    sites: Vec<Option_>,
    may_manage: bool,
    may_override: bool,
    overrides: Vec<OverrideLine>,
    /// The permissions the member holds, by title, with where each comes from.
    holds: Vec<String>,
    notice: &'static str,
}

/// A member: rank and home site, deactivation, tri-state overrides and effective rights.
async fn member_page(
    State(state): State<WebState>,
    member: InOrg,
    Path((_, member_id)): Path<(String, String)>,
    Query(done): Query<Done>,
) -> Page {
    let id = MemberId(id_of(&member_id)?);
    let people = state.app.people();
    let target = people.get_member(&member.actor, id).await;
    let target = target.map_err(framed(&member))?;
    let access = state.app.access();
    // A deactivated member has no rights left to show; their page still shows who they were.
    let rights = access.member_rights(&member.actor, id).await.ok();
    let rank = access.get_rank(&member.actor, target.rank_id).await.ok();
    let overrides = match (&rank, &rights) {
        (Some(rank), Some(rights)) => override_lines(rank, rights),
        _ => Vec::new(),
    };
    let ranks = junior_ranks(&state, &member).await;
    let page = MemberPage {
        layout: Layout::in_org(&member, &target.name, "manage"),
        org_id: member.actor.org().get(),
        id: id.get(),
        rank_offered: ranks.iter().any(|r| r.value == target.rank_id.get()),
        ranks,
        sites: site_options(&state, &member).await,
        may_manage: member.actor.holds(P::MembersManage),
        may_override: member.actor.holds(P::MembersOverride),
        overrides,
        holds: rights
            .iter()
            .flat_map(|r| r.permissions.iter())
            .map(|p| {
                let title = P::from_key(p.key).map_or(p.key, P::title);
                match p.source {
                    "allow_override" => format!("{title} (allowed to them individually)"),
                    _ => title.to_string(),
                }
            })
            .collect(),
        name: target.name,
        email: target.email,
        rank_id: target.rank_id.get(),
        rank: target.rank_name,
        site_id: target.site_id.map_or(0, |s| s.get()),
        active: target.active,
        since: views::when(target.deactivated_at.unwrap_or(target.created_at)),
        notice: match done.done.as_str() {
            "saved" => "The member's rank and home site were saved.",
            "deactivated" => {
                "The member was deactivated: their access here ended, their history stays."
            }
            "reactivated" => "The member was reactivated.",
            "override" => "The permission was set for this member.",
            _ => "",
        },
    };
    Ok(render(StatusCode::OK, &page))
}

/// The rank's tri-state permissions, each as the member has it: allowed, denied or as the rank.
fn override_lines(rank: &domain::Rank, rights: &app::MemberRights) -> Vec<OverrideLine> {
    let allowed: Vec<&str> = rights
        .permissions
        .iter()
        .filter(|p| p.source == "allow_override")
        .map(|p| p.key)
        .collect();
    rank.tri_state
        .iter()
        .map(|p| OverrideLine {
            key: p.key(),
            title: p.title(),
            description: p.description(),
            effect: if allowed.contains(&p.key()) {
                "allow"
            } else if rights.denied.contains(&p.key()) {
                "deny"
            } else {
                "inherit"
            },
            rank_default: if rank.permissions.contains(p) {
                "allowed"
            } else {
                "denied"
            },
        })
        .collect()
}

#[derive(Deserialize)]
struct MemberForm {
    rank_id: String,
    #[serde(default)]
    site_id: String,
}

/// Changes a junior member's rank and home site.
async fn update_member(
    State(state): State<WebState>,
    member: InOrg,
    Path((_, member_id)): Path<(String, String)>,
    request: Request,
) -> Page {
    let form: MemberForm = checked_form(&member.viewer, request).await?;
    let id = MemberId(id_of(&member_id)?);
    let rank = form
        .rank_id
        .trim()
        .parse::<i64>()
        .map_err(|_| UiError::BadForm("choose a rank".into()))?;
    let site = super::optional_number::<i64>("the home site", &form.site_id)?;
    let input = app::UpdateMember {
        rank_id: Some(RankId(rank)),
        site_id: Some(site.map(SiteId)),
    };
    let updated = state
        .app
        .people()
        .update_member(&member.actor, id, input)
        .await;
    updated.map_err(framed(&member))?;
    Ok(back_to(&member, &format!("members/{}", id.get()), "saved"))
}

async fn deactivate(
    State(state): State<WebState>,
    member: InOrg,
    Path((_, member_id)): Path<(String, String)>,
    request: Request,
) -> Page {
    set_active(&state, member, &member_id, request, false).await
}

async fn reactivate(
    State(state): State<WebState>,
    member: InOrg,
    Path((_, member_id)): Path<(String, String)>,
    request: Request,
) -> Page {
    set_active(&state, member, &member_id, request, true).await
}

/// Deactivates or reactivates a member and goes back to their page.
async fn set_active(
    state: &WebState,
    member: InOrg,
    member_id: &str,
    request: Request,
    active: bool,
) -> Page {
    let _: Vec<(String, String)> = checked_form(&member.viewer, request).await?;
    let id = MemberId(id_of(member_id)?);
    let people = state.app.people();
    let done = if active {
        people.reactivate_member(&member.actor, id).await
    } else {
        people.deactivate_member(&member.actor, id).await
    };
    done.map_err(framed(&member))?;
    let notice = if active { "reactivated" } else { "deactivated" };
    Ok(back_to(&member, &format!("members/{}", id.get()), notice))
}

#[derive(Deserialize)]
struct OverrideForm {
    permission: String,
    /// `allow`, `deny` or `inherit`.
    effect: String,
}

/// Allows, denies, or hands back to the rank one tri-state permission of a member.
async fn set_override(
    State(state): State<WebState>,
    member: InOrg,
    Path((_, member_id)): Path<(String, String)>,
    request: Request,
) -> Page {
    let form: OverrideForm = checked_form(&member.viewer, request).await?;
    let id = MemberId(id_of(&member_id)?);
    let effect = match form.effect.as_str() {
        "allow" => Some(app::OverrideEffect::Allow),
        "deny" => Some(app::OverrideEffect::Deny),
        "inherit" => None,
        _ => return Err(UiError::BadForm("allow, deny or as the rank says".into())),
    };
    let set = state
        .app
        .access()
        .set_override(&member.actor, id, &form.permission, effect)
        .await;
    set.map_err(framed(&member))?;
    Ok(back_to(
        &member,
        &format!("members/{}", id.get()),
        "override",
    ))
}

struct WorkgroupMemberLine {
    id: i64,
    name: String,
    moderator: bool,
}

struct WorkgroupLine {
    id: i64,
    name: String,
    description: String,
    members: Vec<WorkgroupMemberLine>,
}

#[derive(Template)]
#[template(path = "admin/workgroups.html")]
struct WorkgroupsPage {
    layout: Layout,
    org_id: i64,
    groups: Vec<WorkgroupLine>,
    /// Everyone who could be added (for those who see the members).
    people: Vec<Option_>,
    may_manage: bool,
    notice: &'static str,
}

/// Every workgroup with its members and moderators, and the forms to change them.
async fn workgroups(
    State(state): State<WebState>,
    member: InOrg,
    Query(done): Query<Done>,
) -> Page {
    let people = state.app.people();
    let list = people.list_workgroups(&member.actor).await;
    let list = list.map_err(framed(&member))?;
    let mut groups = Vec::with_capacity(list.len());
    for group in list {
        let detail = people.get_workgroup(&member.actor, group.id).await;
        let detail = detail.map_err(framed(&member))?;
        groups.push(WorkgroupLine {
            id: group.id.get(),
            name: group.name,
            description: group.description,
            members: detail
                .members
                .into_iter()
                .map(|m| WorkgroupMemberLine {
                    id: m.member_id.get(),
                    name: m.name,
                    moderator: m.is_moderator,
                })
                .collect(),
        });
    }
    let everyone = if member.actor.holds(P::MembersView) {
        people.list_members(&member.actor).await.unwrap_or_default()
    } else {
        Vec::new()
    };
    let page = WorkgroupsPage {
        layout: Layout::in_org(&member, "Workgroups", "manage"),
        org_id: member.actor.org().get(),
        groups,
        people: everyone
            .into_iter()
            .filter(|m| m.active)
            .map(|m| Option_ {
                value: m.id.get(),
                label: format!("{} ({})", m.name, m.email),
            })
            .collect(),
        may_manage: member.actor.holds(P::WorkgroupsManage),
        notice: match done.done.as_str() {
            "created" => "The workgroup was created.",
            "saved" => "The workgroup was saved.",
            "deleted" => "The workgroup was deleted; its members stay in the organization.",
            "added" => "The member was added to the workgroup.",
            "removed" => "The member was taken out of the workgroup.",
            _ => "",
        },
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Deserialize)]
struct WorkgroupForm {
    name: String,
    #[serde(default)]
    description: String,
}

async fn create_workgroup(State(state): State<WebState>, member: InOrg, request: Request) -> Page {
    let form: WorkgroupForm = checked_form(&member.viewer, request).await?;
    let input = app::CreateWorkgroup {
        name: form.name,
        description: form.description,
    };
    let created = state
        .app
        .people()
        .create_workgroup(&member.actor, input)
        .await;
    created.map_err(framed(&member))?;
    Ok(back_to(&member, "workgroups", "created"))
}

async fn update_workgroup(
    State(state): State<WebState>,
    member: InOrg,
    Path((_, workgroup)): Path<(String, String)>,
    request: Request,
) -> Page {
    let form: WorkgroupForm = checked_form(&member.viewer, request).await?;
    let id = WorkgroupId(id_of(&workgroup)?);
    let input = app::UpdateWorkgroup {
        name: given(&form.name),
        description: Some(form.description),
    };
    let updated = state
        .app
        .people()
        .update_workgroup(&member.actor, id, input)
        .await;
    updated.map_err(framed(&member))?;
    Ok(back_to(&member, "workgroups", "saved"))
}

async fn delete_workgroup(
    State(state): State<WebState>,
    member: InOrg,
    Path((_, workgroup)): Path<(String, String)>,
    request: Request,
) -> Page {
    let _: Vec<(String, String)> = checked_form(&member.viewer, request).await?;
    let id = WorkgroupId(id_of(&workgroup)?);
    let deleted = state.app.people().delete_workgroup(&member.actor, id).await;
    deleted.map_err(framed(&member))?;
    Ok(back_to(&member, "workgroups", "deleted"))
}

#[derive(Deserialize)]
struct AddForm {
    member_id: String,
    #[serde(default)]
    moderator: Option<String>,
}

/// Puts a member in a workgroup (as moderator, for workgroup managers).
async fn add_to_workgroup(
    State(state): State<WebState>,
    member: InOrg,
    Path((_, workgroup)): Path<(String, String)>,
    request: Request,
) -> Page {
    let form: AddForm = checked_form(&member.viewer, request).await?;
    let id = WorkgroupId(id_of(&workgroup)?);
    let who = form
        .member_id
        .trim()
        .parse::<i64>()
        .map_err(|_| UiError::BadForm("choose a member".into()))?;
    let input = app::SetWorkgroupMember {
        moderator: form.moderator.is_some(),
    };
    let set = state
        .app
        .people()
        .set_workgroup_member(&member.actor, id, MemberId(who), input)
        .await;
    set.map_err(framed(&member))?;
    Ok(back_to(&member, "workgroups", "added"))
}

async fn remove_from_workgroup(
    State(state): State<WebState>,
    member: InOrg,
    Path((_, workgroup, who)): Path<(String, String, String)>,
    request: Request,
) -> Page {
    let _: Vec<(String, String)> = checked_form(&member.viewer, request).await?;
    let id = WorkgroupId(id_of(&workgroup)?);
    let who = MemberId(id_of(&who)?);
    let removed = state
        .app
        .people()
        .remove_workgroup_member(&member.actor, id, who)
        .await;
    removed.map_err(framed(&member))?;
    Ok(back_to(&member, "workgroups", "removed"))
}
