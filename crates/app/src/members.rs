//! Members, adding existing users, invitations by link, rank changes and deactivation.

use authz::Permission;
use domain::audit::Chain;
use domain::{
    Email, Invitation, InvitationId, InvitationStatus, Member, MemberId, Name, OrgId, Password,
    Rank, RankId, SiteId, Timestamp,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::App;
use crate::actor::{Credential, OrgActor, Principal, RequestMeta, with_change};
use crate::error::{AppError, AppResult, on_conflict};
use crate::secrets::{hash_secret, new_secret};
use crate::sessions::SignedIn;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddMember {
    /// The email of an existing Farmhand user.
    #[schema(value_type = Email)]
    pub email: String,
    pub rank_id: RankId,
    pub site_id: Option<SiteId>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMember {
    pub rank_id: Option<RankId>,
    /// The member's home site; `null` clears it.
    #[serde(default, deserialize_with = "crate::double_option")]
    #[schema(value_type = Option<SiteId>)]
    pub site_id: Option<Option<SiteId>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateInvitation {
    #[schema(value_type = Email)]
    pub email: String,
    pub rank_id: RankId,
    /// How long the link stays valid, at most 30 days; defaults to the server's setting (7 days
    /// unless configured otherwise).
    #[schema(minimum = 1, maximum = 720)]
    pub expires_in_hours: Option<i64>,
}

/// The longest an invitation link may stay valid (the documented `maximum` of
/// `expires_in_hours`).
pub const MAX_INVITATION_TTL_HOURS: i64 = 30 * 24;

/// A new invitation and its secret link token, shown only this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedInvitation {
    pub invitation: Invitation,
    /// The secret to put in the invitation link; it is not stored and cannot be shown again.
    pub token: String,
}

/// What someone holding an invitation link may see before accepting.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationPreview {
    pub org_name: String,
    pub email: String,
    pub rank_name: String,
    pub expires_at: Timestamp,
    pub status: InvitationStatus,
    /// Whether an account with this email exists (then sign in to accept).
    pub account_exists: bool,
}

/// To accept without being signed in, a new account's name and password.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptInvitation {
    /// Your name; required unless you are signed in.
    #[schema(value_type = Option<Name>)]
    pub name: Option<String>,
    /// Your password; required unless you are signed in.
    #[schema(value_type = Option<Password>)]
    pub password: Option<String>,
}

fn member_summary(member: &Member) -> serde_json::Value {
    json!({ "email": member.email, "rank": member.rank_name, "site_id": member.site_id, "active": member.active })
}

impl App {
    pub async fn list_members(&self, actor: &OrgActor) -> AppResult<Vec<Member>> {
        self.require(actor, Permission::MembersView).await?;
        let mut conn = self.store().read().await?;
        Ok(store::list_members(&mut conn, actor.org()).await?)
    }

    pub async fn get_member(&self, actor: &OrgActor, member: MemberId) -> AppResult<Member> {
        if member != actor.member_id() {
            self.require(actor, Permission::MembersView).await?;
        }
        let mut conn = self.store().read().await?;
        store::get_member(&mut conn, actor.org(), member)
            .await?
            .ok_or(AppError::not_found("member"))
    }

    /// Checks that the actor may hand out `rank`: strictly junior, with only permissions and
    /// printer access they hold themselves.
    async fn assignable_rank(
        &self,
        conn: &mut store::Conn,
        actor: &OrgActor,
        rank: RankId,
        member: Option<MemberId>,
    ) -> AppResult<Rank> {
        let rank = store::get_rank(conn, actor.org(), rank)
            .await?
            .ok_or(AppError::not_found("rank"))?;
        actor
            .policy
            .may_assign_rank(actor.member_id(), rank.id, member)
            .map_err(|r| self.refused(actor, r))?;
        Ok(rank)
    }

    async fn check_site(
        &self,
        conn: &mut store::Conn,
        org: OrgId,
        site: Option<SiteId>,
    ) -> AppResult<()> {
        if let Some(site) = site {
            store::get_site(conn, org, site)
                .await?
                .ok_or(AppError::not_found("site"))?;
        }
        Ok(())
    }

    /// Adds an existing user to the organization with a rank junior to the actor's.
    pub async fn add_member(&self, actor: &OrgActor, input: AddMember) -> AppResult<Member> {
        self.require(actor, Permission::MembersInvite).await?;
        let email = Email::parse("email", &input.email)?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        let rank = self
            .assignable_rank(&mut tx, actor, input.rank_id, None)
            .await?;
        self.check_site(&mut tx, actor.org(), input.site_id).await?;
        let account = store::find_user_by_email(&mut tx, email.as_str())
            .await?
            .ok_or_else(|| {
                AppError::conflict(
                    "user_not_found",
                    "no user has this email; send an invitation instead",
                )
            })?;
        let id = store::insert_member(
            &mut tx,
            actor.org(),
            account.user.id,
            rank.id,
            input.site_id,
            now,
        )
        .await
        .map_err(on_conflict(
            "already_member",
            "this user is already a member of the organization",
        ))?;
        let member = store::get_member(&mut tx, actor.org(), id)
            .await?
            .ok_or(AppError::not_found("member"))?;
        store::bump_authz_version(&mut tx, actor.org()).await?;
        let event = actor.event(now, "member.add", "member", id);
        store::append_audit(
            &mut tx,
            with_change(event, None, Some(member_summary(&member))),
        )
        .await?;
        tx.commit().await?;
        Ok(member)
    }

    /// Loads a member the actor may manage: someone else, whose rank is junior to theirs.
    async fn manageable_member(
        &self,
        conn: &mut store::Conn,
        actor: &OrgActor,
        member: MemberId,
    ) -> AppResult<Member> {
        let target = store::get_member(conn, actor.org(), member)
            .await?
            .ok_or(AppError::not_found("member"))?;
        actor
            .policy
            .may_manage_member(actor.member_id(), member)
            .map_err(|r| self.refused(actor, r))?;
        Ok(target)
    }

    pub async fn update_member(
        &self,
        actor: &OrgActor,
        member: MemberId,
        input: UpdateMember,
    ) -> AppResult<Member> {
        self.require(actor, Permission::MembersManage).await?;
        let mut tx = self.store().write().await?;
        let before = self.manageable_member(&mut tx, actor, member).await?;
        if let Some(rank) = input.rank_id {
            let rank = self
                .assignable_rank(&mut tx, actor, rank, Some(member))
                .await?;
            store::set_member_rank(&mut tx, actor.org(), member, rank.id).await?;
        }
        if let Some(site) = input.site_id {
            self.check_site(&mut tx, actor.org(), site).await?;
            // A site-scoped manager cannot move members out of the sites they manage.
            let rank = &actor.member.rank;
            if !actor.is_owner()
                && rank.member_scope == authz::MemberScope::ScopedSites
                && !site.is_some_and(|s| rank.scope.all || rank.scope.sites.contains(&s))
            {
                return Err(AppError::Refused(authz::Refusal::OutsideMemberScope(
                    "the sites your rank covers",
                )));
            }
            store::set_member_site(&mut tx, actor.org(), member, site).await?;
        }
        let after = store::get_member(&mut tx, actor.org(), member)
            .await?
            .ok_or(AppError::not_found("member"))?;
        store::bump_authz_version(&mut tx, actor.org()).await?;
        let event = actor.event(self.now(), "member.update", "member", member);
        store::append_audit(
            &mut tx,
            with_change(
                event,
                Some(member_summary(&before)),
                Some(member_summary(&after)),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Deactivates a member: their API tokens are revoked and their sessions signed out; their
    /// membership and history stay.
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
        self.require(actor, Permission::MembersManage).await?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        let before = self.manageable_member(&mut tx, actor, member).await?;
        if active {
            // Reactivation hands the rank's rights back: only someone who could assign it.
            actor
                .policy
                .may_assign_rank(actor.member_id(), before.rank_id, Some(member))
                .map_err(|r| self.refused(actor, r))?;
        }
        if before.active == active {
            let state = if active { "active" } else { "deactivated" };
            return Err(AppError::conflict(
                "no_change",
                format!("the member is already {state}"),
            ));
        }
        store::set_member_active(&mut tx, actor.org(), member, active, now).await?;
        let (mut tokens, mut sessions) = (0, 0);
        if !active {
            tokens = store::revoke_member_tokens(&mut tx, member, now).await?;
            sessions = store::revoke_user_sessions(&mut tx, before.user_id, None, now).await?;
        }
        let after = store::get_member(&mut tx, actor.org(), member)
            .await?
            .ok_or(AppError::not_found("member"))?;
        let action = if active {
            "member.reactivate"
        } else {
            "member.deactivate"
        };
        let mut summary = member_summary(&after);
        if !active {
            summary["tokens_revoked"] = json!(tokens);
            summary["sessions_revoked"] = json!(sessions);
        }
        store::bump_authz_version(&mut tx, actor.org()).await?;
        let event = actor.event(now, action, "member", member);
        store::append_audit(
            &mut tx,
            with_change(event, Some(member_summary(&before)), Some(summary)),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    // ---- invitations ----

    pub async fn create_invitation(
        &self,
        actor: &OrgActor,
        input: CreateInvitation,
    ) -> AppResult<CreatedInvitation> {
        self.require(actor, Permission::MembersInvite).await?;
        let email = Email::parse("email", &input.email)?;
        let settings = self.settings();
        let ttl = match input.expires_in_hours.map(|h| (h, h.checked_mul(3600))) {
            None => settings.default_invitation_ttl_secs,
            Some((hours, Some(secs))) if hours >= 1 && secs <= settings.max_invitation_ttl_secs => {
                secs
            }
            Some(_) => {
                return Err(AppError::Invalid(domain::Invalid::new(
                    "expires_in_hours",
                    format!(
                        "must be between 1 and {}",
                        settings.max_invitation_ttl_secs / 3600
                    ),
                )));
            }
        };
        let now = self.now();
        let token = new_secret();
        let mut tx = self.store().write().await?;
        let rank = self
            .assignable_rank(&mut tx, actor, input.rank_id, None)
            .await?;
        let id = store::insert_invitation(
            &mut tx,
            &store::NewInvitation {
                org: actor.org(),
                email: email.as_str(),
                rank: rank.id,
                token_hash: &hash_secret(&token),
                invited_by: actor.member_id(),
                expires_at: now.plus_seconds(ttl),
            },
            now,
        )
        .await?;
        let invitation = store::get_invitation(&mut tx, actor.org(), id, now)
            .await?
            .ok_or(AppError::not_found("invitation"))?;
        let event = actor.event(now, "invitation.create", "invitation", id);
        let after = json!({ "email": invitation.email, "rank": invitation.rank_name, "expires_at": invitation.expires_at });
        store::append_audit(&mut tx, with_change(event, None, Some(after))).await?;
        tx.commit().await?;
        Ok(CreatedInvitation { invitation, token })
    }

    pub async fn list_invitations(&self, actor: &OrgActor) -> AppResult<Vec<Invitation>> {
        self.require(actor, Permission::MembersInvite).await?;
        let mut conn = self.store().read().await?;
        Ok(store::list_invitations(&mut conn, actor.org(), self.now()).await?)
    }

    pub async fn revoke_invitation(
        &self,
        actor: &OrgActor,
        id: InvitationId,
    ) -> AppResult<Invitation> {
        self.require(actor, Permission::MembersInvite).await?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        let invitation = store::get_invitation(&mut tx, actor.org(), id, now)
            .await?
            .ok_or(AppError::not_found("invitation"))?;
        if !store::revoke_invitation(&mut tx, actor.org(), id, now).await? {
            return Err(AppError::InvitationUnusable(invitation.status));
        }
        let event = actor.event(now, "invitation.revoke", "invitation", id);
        store::append_audit(
            &mut tx,
            with_change(event, Some(json!({ "email": invitation.email })), None),
        )
        .await?;
        let revoked = store::get_invitation(&mut tx, actor.org(), id, now)
            .await?
            .ok_or(AppError::not_found("invitation"))?;
        tx.commit().await?;
        Ok(revoked)
    }

    pub async fn preview_invitation(&self, token: &str) -> AppResult<InvitationPreview> {
        let mut conn = self.store().read().await?;
        let found = store::find_invitation_by_token(&mut conn, &hash_secret(token), self.now())
            .await?
            .ok_or(AppError::not_found("invitation"))?;
        let account_exists = store::find_user_by_email(&mut conn, &found.invitation.email)
            .await?
            .is_some();
        let i = found.invitation;
        Ok(InvitationPreview {
            org_name: found.org_name,
            email: i.email,
            rank_name: i.rank_name.unwrap_or_default(),
            expires_at: i.expires_at,
            status: i.status,
            account_exists,
        })
    }

    /// Accepts an invitation: as the signed-in user whose email it names, or, when not signed
    /// in, by creating that account (then signed in). Returns the new member and any session.
    pub async fn accept_invitation(
        &self,
        token: &str,
        principal: Option<&Principal>,
        input: AcceptInvitation,
        meta: &RequestMeta,
    ) -> AppResult<(Member, Option<SignedIn>)> {
        let now = self.now();
        let found = {
            let mut conn = self.store().read().await?;
            store::find_invitation_by_token(&mut conn, &hash_secret(token), now)
                .await?
                .ok_or(AppError::not_found("invitation"))?
        };
        let invitation = found.invitation;
        if invitation.status != InvitationStatus::Pending {
            return Err(AppError::InvitationUnusable(invitation.status));
        }
        // Pending invitations keep their rank (deleting it is refused), so this is belt and braces.
        let rank_id = invitation
            .rank_id
            .ok_or(AppError::InvitationUnusable(InvitationStatus::Revoked))?;
        // A new account needs a name and password, validated and hashed before the transaction.
        let new_account = match principal {
            Some(p) => {
                if matches!(p.credential, Credential::Token { .. }) {
                    return Err(AppError::SessionRequired);
                }
                if p.user.email != invitation.email {
                    return Err(AppError::conflict(
                        "invitation_email_mismatch",
                        "this invitation is for another email address; sign in with that account",
                    ));
                }
                None
            }
            None => {
                let name = Name::parse("name", input.name.as_deref().unwrap_or_default())?;
                let password =
                    Password::parse("password", input.password.as_deref().unwrap_or_default())?;
                Some((name, self.hasher().hash(password.expose()).await?))
            }
        };

        let mut tx = self.store().write().await?;
        let user = match (principal, &new_account) {
            (Some(p), _) => p.user.id,
            (None, Some((name, hash))) => {
                store::insert_user(&mut tx, &invitation.email, name.as_str(), hash, false, now)
                    .await
                    .map_err(on_conflict(
                        "sign_in_required",
                        "an account with this email exists; sign in, then accept",
                    ))?
            }
            (None, None) => return Err(AppError::Unauthenticated),
        };
        if !store::accept_invitation(&mut tx, invitation.id, user, now).await? {
            return Err(AppError::InvitationUnusable(InvitationStatus::Accepted));
        }
        let member = store::insert_member(&mut tx, invitation.org_id, user, rank_id, None, now)
            .await
            .map_err(on_conflict(
                "already_member",
                "you are already a member of this organization",
            ))?;
        let account = store::get_user(&mut tx, user)
            .await?
            .ok_or(AppError::not_found("user"))?;
        let signed_in = match new_account {
            Some(_) => Some(self.open_session(&mut tx, &account.user, meta, now).await?),
            None => None,
        };
        let credential = match (principal, &signed_in) {
            (Some(p), _) => p.credential.clone(),
            (None, Some(session)) => Credential::Session(session.session_id),
            (None, None) => return Err(AppError::Unauthenticated),
        };
        let acting = Principal {
            user: account.user.clone(),
            credential,
        };
        store::bump_authz_version(&mut tx, invitation.org_id).await?;
        let chain = Chain::Org(invitation.org_id);
        let event = acting.event(
            chain,
            meta,
            now,
            "invitation.accept",
            ("invitation", Some(invitation.id.to_string())),
        );
        let after = json!({
            "email": invitation.email,
            "rank": invitation.rank_name,
            "member_id": member,
            "new_account": signed_in.is_some(),
        });
        store::append_audit(&mut tx, with_change(event, None, Some(after))).await?;
        let created = store::get_member(&mut tx, invitation.org_id, member)
            .await?
            .ok_or(AppError::not_found("member"))?;
        tx.commit().await?;
        Ok((created, signed_in))
    }
}
