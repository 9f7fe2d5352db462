//! Invitations: the only way into an organization. An inviter names an email and a rank junior
//! to theirs; the person accepts from the link or, with an account, from their own list. An
//! invitation is only as good as its sender's rights when it is accepted.

use authz::Permission;
use domain::audit::Chain;
use domain::{
    Email, Invitation, InvitationId, InvitationStatus, Member, MemberId, Name, OrgId, Password,
    RankId, SiteId, Timestamp,
};
use serde_json::json;
use store::RightsLock;

use super::People;
use super::members::{assignable_rank, check_site};
use crate::actor::{Credential, OrgActor, Principal, RequestMeta, console_event, with_change};
use crate::error::{AppError, AppResult, ErrorCode, on_conflict};
use crate::identity::{SignedIn, hash_secret, new_secret};
use crate::unit_of_work::{Audit, Changes, Found, UnitOfWork};

#[derive(Debug)]
pub struct CreateInvitation {
    pub email: String,
    pub rank_id: RankId,
    /// The home site the member will have.
    pub site_id: Option<SiteId>,
    /// How long the link stays valid, at most 30 days; defaults to the server's setting (7 days
    /// unless configured otherwise).
    pub expires_in_hours: Option<i64>,
}

/// The longest an invitation link may stay valid (the documented `maximum` of
/// `expires_in_hours`).
pub const MAX_INVITATION_TTL_HOURS: i64 = 30 * 24;

/// A new invitation and its secret link token, shown only this once.
#[derive(Debug)]
pub struct CreatedInvitation {
    pub invitation: Invitation,
    /// The secret to put in the invitation link; it is not stored and cannot be shown again.
    pub token: String,
}

/// What someone holding an invitation link may see before accepting.
#[derive(Debug)]
pub struct InvitationPreview {
    pub org_name: String,
    pub email: String,
    pub rank_name: String,
    pub expires_at: Timestamp,
    pub status: InvitationStatus,
}

/// An invitation waiting for the signed-in person, in their own list.
#[derive(Debug)]
pub struct PendingInvitation {
    pub id: InvitationId,
    pub org_id: OrgId,
    pub org_name: String,
    pub rank_name: String,
    pub expires_at: Timestamp,
}

/// To accept without being signed in, a new account's name and password.
#[derive(Debug, Default)]
pub struct AcceptInvitation {
    /// Your name; required unless you are signed in.
    pub name: Option<String>,
    /// Your password; required unless you are signed in.
    pub password: Option<String>,
}

impl People<'_> {
    pub async fn create_invitation(
        &self,
        actor: &OrgActor,
        input: CreateInvitation,
    ) -> AppResult<CreatedInvitation> {
        let email = Email::parse("email", &input.email)?;
        let ttl = self.invitation_lifetime(input.expires_in_hours)?;
        let token = new_secret();
        let mut uow = self.app.begin(actor, Changes::Data).await?;
        uow.actor().require(Permission::MembersInvite)?;
        let (org, now) = (actor.org(), uow.now());
        let rank = assignable_rank(&mut uow, input.rank_id, None).await?;
        check_site(uow.conn(), org, input.site_id).await?;
        let new = store::NewInvitation {
            org,
            email: email.as_str(),
            rank: rank.id,
            site: input.site_id,
            token_hash: &hash_secret(&token),
            invited_by: actor.member_id(),
            expires_at: now.plus_seconds(ttl),
        };
        let id = store::insert_invitation(uow.conn(), &new, now).await?;
        let invitation = store::get_invitation(uow.conn(), org, id, now)
            .await
            .found("invitation")?;
        uow.audit(
            Audit::of("invitation.create", "invitation", id).after(json!({
                "email": invitation.email, "rank": invitation.rank_name,
                "site_id": invitation.site_id, "expires_at": invitation.expires_at,
            })),
        );
        uow.commit().await?;
        Ok(CreatedInvitation { invitation, token })
    }

    /// How long a new invitation lives, in seconds: the server's default, or the hours asked
    /// for within the server's limit (compared in hours, so no multiplication can overflow).
    fn invitation_lifetime(&self, hours: Option<i64>) -> AppResult<i64> {
        let settings = self.app.settings();
        let max_hours = settings.max_invitation_ttl_secs / 3600;
        match hours {
            None => Ok(settings.default_invitation_ttl_secs),
            Some(hours) if (1..=max_hours).contains(&hours) => Ok(hours * 3600),
            Some(_) => Err(AppError::Invalid(domain::Invalid::new(
                "expires_in_hours",
                format!("must be between 1 and {max_hours}"),
            ))),
        }
    }

    pub async fn list_invitations(&self, actor: &OrgActor) -> AppResult<Vec<Invitation>> {
        actor.require(Permission::MembersInvite)?;
        let mut conn = self.app.store().read().await?;
        Ok(store::list_invitations(&mut conn, actor.org(), self.app.now()).await?)
    }

    pub async fn revoke_invitation(
        &self,
        actor: &OrgActor,
        id: InvitationId,
    ) -> AppResult<Invitation> {
        let mut uow = self.app.begin(actor, Changes::Data).await?;
        uow.actor().require(Permission::MembersInvite)?;
        let (org, now) = (actor.org(), uow.now());
        let invitation = store::get_invitation(uow.conn(), org, id, now)
            .await
            .found("invitation")?;
        if !store::revoke_invitation(uow.conn(), org, id, now).await? {
            return Err(AppError::InvitationUnusable(invitation.status));
        }
        let revoked = store::get_invitation(uow.conn(), org, id, now)
            .await
            .found("invitation")?;
        uow.audit(
            Audit::of("invitation.revoke", "invitation", id)
                .before(json!({ "email": invitation.email })),
        );
        uow.commit().await?;
        Ok(revoked)
    }

    pub async fn preview_invitation(&self, token: &str) -> AppResult<InvitationPreview> {
        let mut conn = self.app.store().read().await?;
        let found = store::find_invitation_by_token(&mut conn, &hash_secret(token), self.app.now())
            .await
            .found("invitation")?;
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
            let mut conn = self.app.store().read().await?;
            store::find_invitation_by_token(&mut conn, &hash_secret(token), self.app.now())
                .await
                .found("invitation")?
        };
        self.accept(found.invitation, principal, input, meta).await
    }

    /// The signed-in person's pending invitations, across organizations.
    pub async fn my_invitations(&self, principal: &Principal) -> AppResult<Vec<PendingInvitation>> {
        let mut conn = self.app.store().read().await?;
        let found =
            store::pending_invitations_for_email(&mut conn, &principal.user.email, self.app.now())
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
        if principal.is_token() {
            return Err(AppError::SessionRequired);
        }
        let mut conn = self.app.store().read().await?;
        store::find_invitation(&mut conn, id, self.app.now())
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
        let no_account = AcceptInvitation::default();
        let (member, _) = self
            .accept(invitation, Some(principal), no_account, meta)
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
        let mut uow = self.app.begin_unattributed().await?;
        let now = uow.now();
        if !store::decline_invitation(uow.conn(), id, now).await? {
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
        uow.audit_event(with_change(event, Some(before), None));
        uow.commit().await
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
        let new_account = self.new_account(&invitation, principal, input).await?;

        let mut uow = self.app.begin_unattributed().await?;
        let (org, now) = (invitation.org_id, uow.now());
        // The sender's rights as they are now, held until this commits.
        uow.lock_rights(org, RightsLock::Change).await?;
        let policy = self.app.compile_policy(uow.conn(), org).await?.policy;
        if !inviter_may_give(&policy, invitation.invited_by, rank_id) {
            return self.withdraw(uow, &invitation, meta).await;
        }
        let user = match (principal, &new_account) {
            (Some(p), _) => p.user.id,
            (None, Some((name, hash))) => store::insert_user(
                uow.conn(),
                &invitation.email,
                name.as_str(),
                hash,
                false,
                now,
            )
            .await
            .map_err(on_conflict(
                ErrorCode::SignInRequired,
                "an account with this email exists; sign in, then accept",
            ))?,
            (None, None) => return Err(AppError::Unauthenticated),
        };
        if !store::accept_invitation(uow.conn(), invitation.id, user, now).await? {
            return Err(AppError::InvitationUnusable(InvitationStatus::Accepted));
        }
        let site = invitation.site_id;
        let member = store::insert_member(uow.conn(), org, user, rank_id, site, now)
            .await
            .map_err(on_conflict(
                ErrorCode::AlreadyMember,
                "you are already a member of this organization",
            ))?;
        let account = store::get_user(uow.conn(), user).await.found("user")?;
        let signed_in = match new_account {
            Some(_) => Some(
                self.app
                    .identity()
                    .open_session(&mut uow, &account.user, meta)
                    .await?,
            ),
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
        let event = acting.event(
            Chain::Org(org),
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
        uow.audit_event(with_change(event, None, Some(after)));
        uow.rights_changed_in(org);
        let created = store::get_member(uow.conn(), org, member)
            .await
            .found("member")?;
        uow.commit().await?;
        Ok((created, signed_in))
    }

    /// Someone signed in accepts as themselves; someone who is not creates the invited
    /// account: its name and password are checked and hashed before any transaction.
    async fn new_account(
        &self,
        invitation: &Invitation,
        principal: Option<&Principal>,
        input: AcceptInvitation,
    ) -> AppResult<Option<(Name, String)>> {
        match principal {
            Some(p) if p.is_token() => Err(AppError::SessionRequired),
            Some(p) if p.user.email != invitation.email => Err(AppError::conflict(
                ErrorCode::InvitationEmailMismatch,
                "this invitation is for another email address; sign in with that account",
            )),
            Some(_) => Ok(None),
            None => {
                let name = Name::parse("name", input.name.as_deref().unwrap_or_default())?;
                let password =
                    Password::parse("password", input.password.as_deref().unwrap_or_default())?;
                Ok(Some((
                    name,
                    self.app.hasher().hash(password.expose()).await?,
                )))
            }
        }
    }

    /// Revokes an invitation whose sender can no longer give its rank (audited) and refuses it.
    async fn withdraw<T>(
        &self,
        mut uow: UnitOfWork<()>,
        invitation: &Invitation,
        meta: &RequestMeta,
    ) -> AppResult<T> {
        let (org, now) = (invitation.org_id, uow.now());
        if store::revoke_invitation(uow.conn(), org, invitation.id, now).await? {
            let mut event = console_event(
                Chain::Org(org),
                now,
                "invitation.revoke",
                "invitation",
                invitation.id.to_string(),
            );
            event.client_ip = meta.client_ip.clone();
            event.request_id = meta.request_id.clone();
            let before = json!({ "email": invitation.email, "rank": invitation.rank_name,
                "reason": "the inviter can no longer give this rank" });
            uow.audit_event(with_change(event, Some(before), None));
        }
        uow.commit().await?;
        Err(AppError::InvitationWithdrawn)
    }
}

/// An invitation is only as good as its sender: whoever sent it must still be an active member
/// who may invite and may give its rank.
fn inviter_may_give(policy: &authz::Policy, inviter: MemberId, rank: RankId) -> bool {
    let may_invite = policy.member_ix(inviter).is_some_and(|ix| {
        policy
            .rights(ix)
            .permissions
            .contains(Permission::MembersInvite)
    });
    may_invite && policy.may_assign_rank(inviter, rank, None).is_ok()
}
