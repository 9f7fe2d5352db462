//! Who is acting, through what, from where.

use authz::{Permission, PermissionSet, Seniority};
use domain::audit::{ActorKind, Chain, NewAuditEvent};
use domain::{MemberAuth, MemberId, OrgId, SessionId, Timestamp, TokenId, User};
use serde_json::Value;

use crate::App;
use crate::error::{AppError, AppResult};

/// Where a request came from, recorded with every audit event.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
}

impl RequestMeta {
    /// For commands run at the server's console.
    pub fn console() -> RequestMeta {
        RequestMeta {
            client_ip: None,
            user_agent: Some("farmhand-cli".into()),
            request_id: None,
        }
    }
}

/// How a principal proved who they are.
#[derive(Debug, Clone)]
pub enum Credential {
    Session(SessionId),
    Token {
        id: TokenId,
        org: OrgId,
        member: MemberId,
        permissions: Option<PermissionSet>,
    },
}

/// An authenticated person.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user: User,
    pub credential: Credential,
}

impl Principal {
    fn actor_kind(&self) -> ActorKind {
        match self.credential {
            Credential::Session(_) => ActorKind::User,
            Credential::Token { .. } => ActorKind::Token,
        }
    }

    fn token_id(&self) -> Option<TokenId> {
        match self.credential {
            Credential::Session(_) => None,
            Credential::Token { id, .. } => Some(id),
        }
    }

    pub(crate) fn event(
        &self,
        chain: Chain,
        meta: &RequestMeta,
        now: Timestamp,
        action: &str,
        target: (&str, Option<String>),
    ) -> NewAuditEvent {
        NewAuditEvent {
            chain,
            occurred_at: now,
            actor_kind: self.actor_kind(),
            actor_user_id: Some(self.user.id),
            actor_token_id: self.token_id(),
            actor_label: self.user.email.clone(),
            action: action.to_string(),
            target_type: target.0.to_string(),
            target_id: target.1,
            before: None,
            after: None,
            client_ip: meta.client_ip.clone(),
            user_agent: meta.user_agent.clone(),
            request_id: meta.request_id.clone(),
        }
    }
}

/// A principal acting inside one organization, with their effective permissions there: the
/// rank's, narrowed by the token's scope when acting through a token.
#[derive(Debug, Clone)]
pub struct OrgActor {
    pub principal: Principal,
    pub member: MemberAuth,
    pub permissions: PermissionSet,
    pub meta: RequestMeta,
}

impl OrgActor {
    pub fn org(&self) -> OrgId {
        self.member.org_id
    }

    pub fn member_id(&self) -> MemberId {
        self.member.member_id
    }

    pub fn seniority(&self) -> Seniority {
        self.member.rank.seniority()
    }

    pub fn is_owner(&self) -> bool {
        self.member.rank.is_owner
    }

    pub fn holds(&self, permission: Permission) -> bool {
        self.permissions.contains(permission)
    }

    /// An audit event in this organization's chain, attributed to this actor.
    pub(crate) fn event(
        &self,
        now: Timestamp,
        action: &str,
        target_type: &str,
        target_id: impl ToString,
    ) -> NewAuditEvent {
        self.principal.event(
            Chain::Org(self.org()),
            &self.meta,
            now,
            action,
            (target_type, Some(target_id.to_string())),
        )
    }
}

/// Adds before/after summaries to an event.
pub(crate) fn with_change(
    mut event: NewAuditEvent,
    before: Option<Value>,
    after: Option<Value>,
) -> NewAuditEvent {
    event.before = before;
    event.after = after;
    event
}

impl App {
    /// Resolves the principal's membership in `org` and their effective permissions. Someone
    /// who is not an active member gets "not found", exactly as for an organization that
    /// does not exist; a token only works in its own organization.
    pub async fn org_actor(
        &self,
        principal: Principal,
        org: OrgId,
        meta: RequestMeta,
    ) -> AppResult<OrgActor> {
        if principal.user.must_change_password {
            return Err(AppError::PasswordChangeRequired);
        }
        let token_scope = match &principal.credential {
            Credential::Session(_) => None,
            Credential::Token {
                org: token_org,
                permissions,
                ..
            } => {
                if *token_org != org {
                    return Err(AppError::not_found("organization"));
                }
                Some(*permissions)
            }
        };
        let mut conn = self.store().read().await?;
        let member = store::member_auth_for_user(&mut conn, org, principal.user.id)
            .await?
            .filter(|m| m.active)
            .ok_or(AppError::not_found("organization"))?;
        let rank_permissions = member.rank.effective_permissions();
        let permissions = match token_scope {
            Some(Some(scope)) => rank_permissions.intersection(scope),
            _ => rank_permissions,
        };
        Ok(OrgActor {
            principal,
            member,
            permissions,
            meta,
        })
    }

    /// Refuses unless the actor holds `permission`, naming who could grant it.
    pub async fn require(&self, actor: &OrgActor, permission: Permission) -> AppResult<()> {
        if actor.holds(permission) {
            return Ok(());
        }
        let mut conn = self.store().read().await?;
        // Those who could grant it: members who hold it and can manage members.
        let needed: PermissionSet = [permission, Permission::MembersManage]
            .into_iter()
            .collect();
        let ask = store::members_holding(&mut conn, actor.org(), needed).await?;
        Err(AppError::PermissionDenied { permission, ask })
    }

    /// Refuses unless the actor outranks `target` (strictly junior, owners above all).
    pub(crate) fn require_seniority(
        &self,
        actor: &OrgActor,
        target: Seniority,
        what: &str,
    ) -> AppResult<()> {
        if actor.seniority().outranks(target) {
            Ok(())
        } else {
            Err(AppError::Seniority(format!(
                "you can only {what} ranks junior to your own"
            )))
        }
    }

    /// Refuses unless every permission in `granted` is one the actor holds (owners excepted).
    pub(crate) fn require_grantable(
        &self,
        actor: &OrgActor,
        granted: PermissionSet,
    ) -> AppResult<()> {
        if actor.is_owner() {
            return Ok(());
        }
        let missing = granted.difference(actor.permissions);
        if missing == PermissionSet::EMPTY {
            Ok(())
        } else {
            Err(AppError::Seniority(format!(
                "you cannot grant permissions you do not hold: {}",
                missing.keys().join(", ")
            )))
        }
    }
}
