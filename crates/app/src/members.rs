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
use crate::organizations::console_event;
use crate::secrets::{hash_secret, new_secret};
use crate::sessions::SignedIn;

/// Adds someone by email. Nobody becomes a member without consent: this makes an invitation
/// the person accepts (from its link, or from their own list when they already have an
/// account), and the answer is the same whether or not an account exists.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddMember {
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
    /// The home site the member will have.
    pub site_id: Option<SiteId>,
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
}

/// An invitation waiting for the signed-in person, in their own list.
#[derive(Debug, Serialize, ToSchema)]
pub struct PendingInvitation {
    pub id: InvitationId,
    pub org_id: OrgId,
    pub org_name: String,
    pub rank_name: String,
    pub expires_at: Timestamp,
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
        actor.require(Permission::MembersView)?;
        let mut conn = self.store().read().await?;
        Ok(store::list_members(&mut conn, actor.org()).await?)
    }

    pub async fn get_member(&self, actor: &OrgActor, member: MemberId) -> AppResult<Member> {
        if member != actor.member_id() {
            actor.require(Permission::MembersView)?;
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
            .may_assign_rank(actor.acting(), rank.id, member)
            .map_err(|r| actor.refused(r))?;
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
            .may_manage_member(actor.acting(), member)
            .map_err(|r| actor.refused(r))?;
        Ok(target)
    }

    pub async fn update_member(
        &self,
        actor: &OrgActor,
        member: MemberId,
        input: UpdateMember,
    ) -> AppResult<Member> {
        actor.require(Permission::MembersManage)?;
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
            actor
                .policy
                .may_move_member(actor.acting(), member, site)
                .map_err(|r| actor.refused(r))?;
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
        actor.require(Permission::MembersManage)?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        let before = self.manageable_member(&mut tx, actor, member).await?;
        if active {
            // Reactivation hands the rank's rights back: only someone who could assign it.
            actor
                .policy
                .may_assign_rank(actor.acting(), before.rank_id, Some(member))
                .map_err(|r| actor.refused(r))?;
        }
        if before.active == active {
            let state = if active { "active" } else { "deactivated" };
            return Err(AppError::conflict(
                "no_change",
                format!("the member is already {state}"),
            ));
        }
        store::set_member_active(&mut tx, actor.org(), member, active, now).await?;
        let (mut tokens, mut invitations) = (0, 0);
        if !active {
            tokens = store::revoke_member_tokens(&mut tx, member, now).await?;
            invitations = store::revoke_invitations_sent_by(&mut tx, member, now).await?;
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
            summary["invitations_revoked"] = json!(invitations);
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
        actor.require(Permission::MembersInvite)?;
        let email = Email::parse("email", &input.email)?;
        let settings = self.settings();
        let max_hours = settings.max_invitation_ttl_secs / 3600;
        let ttl = match input.expires_in_hours {
            None => settings.default_invitation_ttl_secs,
            // Compared in hours, so no multiplication of the input can overflow.
            Some(hours) if (1..=max_hours).contains(&hours) => hours * 3600,
            Some(_) => {
                return Err(AppError::Invalid(domain::Invalid::new(
                    "expires_in_hours",
                    format!("must be between 1 and {max_hours}"),
                )));
            }
        };
        let now = self.now();
        let token = new_secret();
        let mut tx = self.store().write().await?;
        let rank = self
            .assignable_rank(&mut tx, actor, input.rank_id, None)
            .await?;
        self.check_site(&mut tx, actor.org(), input.site_id).await?;
        let id = store::insert_invitation(
            &mut tx,
            &store::NewInvitation {
                org: actor.org(),
                email: email.as_str(),
                rank: rank.id,
                site: input.site_id,
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
        let after = json!({ "email": invitation.email, "rank": invitation.rank_name,
            "site_id": invitation.site_id, "expires_at": invitation.expires_at });
        store::append_audit(&mut tx, with_change(event, None, Some(after))).await?;
        tx.commit().await?;
        Ok(CreatedInvitation { invitation, token })
    }

    pub async fn list_invitations(&self, actor: &OrgActor) -> AppResult<Vec<Invitation>> {
        actor.require(Permission::MembersInvite)?;
        let mut conn = self.store().read().await?;
        Ok(store::list_invitations(&mut conn, actor.org(), self.now()).await?)
    }

    pub async fn revoke_invitation(
        &self,
        actor: &OrgActor,
        id: InvitationId,
    ) -> AppResult<Invitation> {
        actor.require(Permission::MembersInvite)?;
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
        let i = found.invitation;
        Ok(InvitationPreview {
            org_name: found.org_name,
            email: i.email,
            rank_name: i.rank_name.unwrap_or_default(),
            expires_at: i.expires_at,
            status: i.status,
        })
    }

    /// Accepts an invitation by its link: as the signed-in user whose email it names, or, when
    /// not signed in, by creating that account (then signed in). Returns the new member and any
    /// session.
    pub async fn accept_invitation(
        &self,
        token: &str,
        principal: Option<&Principal>,
        input: AcceptInvitation,
        meta: &RequestMeta,
    ) -> AppResult<(Member, Option<SignedIn>)> {
        let found = {
            let mut conn = self.store().read().await?;
            store::find_invitation_by_token(&mut conn, &hash_secret(token), self.now())
                .await?
                .ok_or(AppError::not_found("invitation"))?
        };
        self.accept(found.invitation, principal, input, meta).await
    }

    /// The signed-in person's pending invitations, across organizations.
    pub async fn my_invitations(&self, principal: &Principal) -> AppResult<Vec<PendingInvitation>> {
        let mut conn = self.store().read().await?;
        let found =
            store::pending_invitations_for_email(&mut conn, &principal.user.email, self.now())
                .await?;
        Ok(found
            .into_iter()
            .map(|f| PendingInvitation {
                id: f.invitation.id,
                org_id: f.invitation.org_id,
                org_name: f.org_name,
                rank_name: f.invitation.rank_name.unwrap_or_default(),
                expires_at: f.invitation.expires_at,
            })
            .collect())
    }

    /// One of the signed-in person's own invitations; anyone else's is "not found".
    async fn own_invitation(
        &self,
        principal: &Principal,
        id: InvitationId,
    ) -> AppResult<Invitation> {
        if matches!(principal.credential, Credential::Token { .. }) {
            return Err(AppError::SessionRequired);
        }
        let mut conn = self.store().read().await?;
        store::find_invitation(&mut conn, id, self.now())
            .await?
            .map(|f| f.invitation)
            .filter(|i| i.email == principal.user.email)
            .ok_or(AppError::not_found("invitation"))
    }

    /// Accepts one of the signed-in person's invitations from their own list.
    pub async fn accept_my_invitation(
        &self,
        principal: &Principal,
        id: InvitationId,
        meta: &RequestMeta,
    ) -> AppResult<Member> {
        let invitation = self.own_invitation(principal, id).await?;
        let (member, _) = self
            .accept(
                invitation,
                Some(principal),
                AcceptInvitation::default(),
                meta,
            )
            .await?;
        Ok(member)
    }

    /// Turns down one of the signed-in person's invitations.
    pub async fn decline_my_invitation(
        &self,
        principal: &Principal,
        id: InvitationId,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        let invitation = self.own_invitation(principal, id).await?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        if !store::decline_invitation(&mut tx, id, now).await? {
            return Err(AppError::InvitationUnusable(invitation.status));
        }
        let event = principal.event(
            Chain::Org(invitation.org_id),
            meta,
            now,
            "invitation.decline",
            ("invitation", Some(id.to_string())),
        );
        let before = json!({ "email": invitation.email, "rank": invitation.rank_name });
        store::append_audit(&mut tx, with_change(event, Some(before), None)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// An invitation is only as good as its sender: whoever sent it must still be an active
    /// member who may invite and may give its rank. Otherwise it is revoked now (audited) and
    /// refused.
    async fn check_inviter(
        &self,
        invitation: &Invitation,
        rank: RankId,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        let policy = self.current_policy(invitation.org_id).await?;
        let inviter_may = policy.member_ix(invitation.invited_by).is_some_and(|ix| {
            policy
                .rights(ix)
                .permissions
                .contains(Permission::MembersInvite)
        }) && policy
            .may_assign_rank(invitation.invited_by, rank, None)
            .is_ok();
        if inviter_may {
            return Ok(());
        }
        let now = self.now();
        let mut tx = self.store().write().await?;
        if store::revoke_invitation(&mut tx, invitation.org_id, invitation.id, now).await? {
            let mut event = console_event(
                Chain::Org(invitation.org_id),
                now,
                "invitation.revoke",
                "invitation",
                invitation.id.to_string(),
            );
            event.client_ip = meta.client_ip.clone();
            event.request_id = meta.request_id.clone();
            let before = json!({ "email": invitation.email, "rank": invitation.rank_name,
                "reason": "the inviter can no longer give this rank" });
            store::append_audit(&mut tx, with_change(event, Some(before), None)).await?;
        }
        tx.commit().await?;
        Err(AppError::InvitationWithdrawn)
    }

    async fn accept(
        &self,
        invitation: Invitation,
        principal: Option<&Principal>,
        input: AcceptInvitation,
        meta: &RequestMeta,
    ) -> AppResult<(Member, Option<SignedIn>)> {
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
        self.check_inviter(&invitation, rank_id, meta).await?;

        let now = self.now();
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
        let member = store::insert_member(
            &mut tx,
            invitation.org_id,
            user,
            rank_id,
            invitation.site_id,
            now,
        )
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
            "site_id": invitation.site_id,
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
