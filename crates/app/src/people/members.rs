//! Members: their rank, home site and whether they are active (adding someone is an invitation,
//! see `invitations`).

use authz::Permission;
use domain::{Member, MemberId, OrgId, Rank, RankId, SiteId};
use serde_json::json;

use super::People;
use super::invitations::{CreateInvitation, CreatedInvitation};
use crate::actor::OrgActor;
use crate::error::{AppError, AppResult, ErrorCode};
use crate::unit_of_work::{Audit, Changes, Found, UnitOfWork};

/// Adds someone by email. Nobody becomes a member without consent: this makes an invitation
/// the person accepts (from its link, or from their own list when they already have an
/// account), and the answer is the same whether or not an account exists.
#[derive(Debug)]
pub struct AddMember {
    pub email: String,
    pub rank_id: RankId,
    pub site_id: Option<SiteId>,
}

#[derive(Debug)]
pub struct UpdateMember {
    pub rank_id: Option<RankId>,
    /// The member's home site; `null` clears it.
    pub site_id: Option<Option<SiteId>>,
}

fn member_summary(member: &Member) -> serde_json::Value {
    json!({ "email": member.email, "rank": member.rank_name, "site_id": member.site_id, "active": member.active })
}

impl People<'_> {
    pub async fn list_members(&self, actor: &OrgActor) -> AppResult<Vec<Member>> {
        actor.require(Permission::MembersView)?;
        let mut conn = self.app.store().read().await?;
        Ok(store::list_members(&mut conn, actor.org()).await?)
    }

    pub async fn get_member(&self, actor: &OrgActor, member: MemberId) -> AppResult<Member> {
        if member != actor.member_id() {
            actor.require(Permission::MembersView)?;
        }
        let mut conn = self.app.store().read().await?;
        store::get_member(&mut conn, actor.org(), member)
            .await
            .found("member")
    }

    /// Invites someone by email with a rank junior to the actor's (see [`AddMember`]).
    pub async fn add_member(
        &self,
        actor: &OrgActor,
        input: AddMember,
    ) -> AppResult<CreatedInvitation> {
        let invitation = CreateInvitation {
            email: input.email,
            rank_id: input.rank_id,
            site_id: input.site_id,
            expires_in_hours: None,
        };
        self.create_invitation(actor, invitation).await
    }

    pub async fn update_member(
        &self,
        actor: &OrgActor,
        member: MemberId,
        input: UpdateMember,
    ) -> AppResult<Member> {
        let mut uow = self.app.begin(actor, Changes::Rights).await?;
        uow.actor().require(Permission::MembersManage)?;
        let before = manageable_member(&mut uow, member).await?;
        let org = actor.org();
        if let Some(rank) = input.rank_id {
            let rank = assignable_rank(&mut uow, rank, Some(member)).await?;
            store::set_member_rank(uow.conn(), org, member, rank.id).await?;
        }
        if let Some(site) = input.site_id {
            check_site(uow.conn(), org, site).await?;
            uow.authorize(|a| a.policy.may_move_member(a.acting(), member, site))?;
            store::set_member_site(uow.conn(), org, member, site).await?;
        }
        let after = store::get_member(uow.conn(), org, member)
            .await
            .found("member")?;
        uow.rights_changed();
        uow.audit(
            Audit::of("member.update", "member", member)
                .before(member_summary(&before))
                .after(member_summary(&after)),
        );
        uow.commit().await?;
        Ok(after)
    }

    /// Deactivates a member: their access to this organization ends (its API tokens and the
    /// invitations they sent are revoked); their membership and history stay, and their
    /// account and other organizations are untouched.
    pub async fn deactivate_member(&self, actor: &OrgActor, member: MemberId) -> AppResult<Member> {
        self.set_member_active(actor, member, false).await
    }

    pub async fn reactivate_member(&self, actor: &OrgActor, member: MemberId) -> AppResult<Member> {
        self.set_member_active(actor, member, true).await
    }

    async fn set_member_active(
        &self,
        actor: &OrgActor,
        member: MemberId,
        active: bool,
    ) -> AppResult<Member> {
        let mut uow = self.app.begin(actor, Changes::Rights).await?;
        uow.actor().require(Permission::MembersManage)?;
        let before = manageable_member(&mut uow, member).await?;
        if active {
            // Reactivation hands the rank's rights back: only someone who could assign it.
            let rank = before.rank_id;
            uow.authorize(|a| a.policy.may_assign_rank(a.acting(), rank, Some(member)))?;
        }
        if before.active == active {
            let state = if active { "active" } else { "deactivated" };
            return Err(AppError::conflict(
                ErrorCode::NoChange,
                format!("the member is already {state}"),
            ));
        }
        let (org, now) = (actor.org(), uow.now());
        store::set_member_active(uow.conn(), org, member, active, now).await?;
        let mut revoked = None;
        if !active {
            let tokens = store::revoke_member_tokens(uow.conn(), member, now).await?;
            let invitations = store::revoke_invitations_sent_by(uow.conn(), member, now).await?;
            revoked = Some((tokens, invitations));
        }
        let after = store::get_member(uow.conn(), org, member)
            .await
            .found("member")?;
        let mut summary = member_summary(&after);
        if let Some((tokens, invitations)) = revoked {
            summary["tokens_revoked"] = json!(tokens);
            summary["invitations_revoked"] = json!(invitations);
        }
        let action = if active {
            "member.reactivate"
        } else {
            "member.deactivate"
        };
        uow.rights_changed();
        uow.audit(
            Audit::of(action, "member", member)
                .before(member_summary(&before))
                .after(summary),
        );
        uow.commit().await?;
        Ok(after)
    }
}

/// Checks that the actor may hand out `rank`: strictly junior, with only permissions and
/// printer access they hold themselves.
pub(super) async fn assignable_rank(
    uow: &mut UnitOfWork,
    rank: RankId,
    member: Option<MemberId>,
) -> AppResult<Rank> {
    let org = uow.actor().org();
    let rank = store::get_rank(uow.conn(), org, rank).await.found("rank")?;
    uow.authorize(|a| a.policy.may_assign_rank(a.acting(), rank.id, member))?;
    Ok(rank)
}

/// A site named in a change must be one of the organization's.
pub(super) async fn check_site(
    conn: &mut store::Conn,
    org: OrgId,
    site: Option<SiteId>,
) -> AppResult<()> {
    if let Some(site) = site {
        store::get_site(conn, org, site).await.found("site")?;
    }
    Ok(())
}

/// Loads a member the actor may manage: someone else, whose rank is junior to theirs.
async fn manageable_member(uow: &mut UnitOfWork, member: MemberId) -> AppResult<Member> {
    let org = uow.actor().org();
    let target = store::get_member(uow.conn(), org, member)
        .await
        .found("member")?;
    uow.authorize(|a| a.policy.may_manage_member(a.acting(), member))?;
    Ok(target)
}
