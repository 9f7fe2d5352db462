//! Who is acting, through what, from where.

use std::sync::Arc;

use authz::{AccessLevel, MemberIx, Permission, PermissionSet, Policy, Refusal, Seniority};
use domain::audit::{ActorKind, Chain, NewAuditEvent};
use domain::{MemberAuth, MemberId, OrgId, PrinterId, SessionId, Timestamp, TokenId, User};
use serde_json::Value;

use crate::App;
use crate::error::{AppError, AppResult, ErrorCode};
use crate::policies::Versioned;

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

    /// The permissions the credential is limited to: a token's subset, if it has one.
    fn token_scope(&self) -> Option<PermissionSet> {
        match self.credential {
            Credential::Session(_) => None,
            Credential::Token { permissions, .. } => permissions,
        }
    }

    pub fn is_token(&self) -> bool {
        matches!(self.credential, Credential::Token { .. })
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

/// A principal acting inside one organization, with the organization's compiled policy and
/// their effective permissions there (narrowed by the token's scope when acting through one).
#[derive(Debug, Clone)]
pub struct OrgActor {
    pub principal: Principal,
    pub member: MemberAuth,
    pub permissions: PermissionSet,
    pub meta: RequestMeta,
    pub policy: Arc<Policy>,
    /// The authorization version `policy` was compiled at.
    pub version: i64,
    pub ix: MemberIx,
}

/// Refuses principals that may not act in `org` at all: a one-time password not yet changed, or
/// a token of another organization.
fn check_principal(principal: &Principal, org: OrgId) -> AppResult<()> {
    if principal.user.must_change_password {
        return Err(AppError::PasswordChangeRequired);
    }
    match &principal.credential {
        Credential::Token { org: token_org, .. } if *token_org != org => {
            Err(AppError::not_found("organization"))
        }
        _ => Ok(()),
    }
}

impl OrgActor {
    /// The member's rights from `policy`, narrowed by their token's scope when acting through
    /// one.
    fn new(
        principal: Principal,
        member: MemberAuth,
        meta: RequestMeta,
        policy: Versioned,
    ) -> AppResult<OrgActor> {
        let ix = policy
            .policy
            .member_ix(member.member_id)
            .ok_or(AppError::not_found("organization"))?;
        let rights = policy.policy.rights(ix).permissions;
        let permissions = principal
            .token_scope()
            .map_or(rights, |scope| rights.intersection(scope));
        Ok(OrgActor {
            principal,
            member,
            permissions,
            meta,
            policy: policy.policy,
            version: policy.version,
            ix,
        })
    }

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

    /// The actor as administrative checks see them: the member, limited to their token's
    /// permissions when acting through one, so a token never hands out more than it carries.
    pub fn acting(&self) -> authz::Acting {
        authz::Acting {
            member: self.member_id(),
            scope: self.principal.token_scope(),
        }
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
        check_principal(&principal, org)?;
        let (member, version) = {
            let mut conn = self.store().read().await?;
            store::member_auth_for_user(&mut conn, org, principal.user.id)
                .await?
                .filter(|(m, _)| m.active)
                .ok_or(AppError::not_found("organization"))?
        };
        let policy = self.policy(org, version).await?;
        OrgActor::new(principal, member, meta, policy)
    }

    /// The same principal acting in the same organization, resolved again from what `conn`
    /// sees: inside a write transaction, after rights moved since `actor` was resolved.
    pub(crate) async fn reauthorize(
        &self,
        conn: &mut store::Conn,
        actor: &OrgActor,
    ) -> AppResult<OrgActor> {
        let (member, _) = store::member_auth_for_user(conn, actor.org(), actor.principal.user.id)
            .await?
            .filter(|(m, _)| m.active)
            .ok_or(AppError::not_found("organization"))?;
        let policy = self.compile_policy(conn, actor.org()).await?;
        OrgActor::new(actor.principal.clone(), member, actor.meta.clone(), policy)
    }
}

impl OrgActor {
    /// Refuses unless the actor holds `permission`, naming who could grant it.
    pub fn require(&self, permission: Permission) -> AppResult<()> {
        if self.holds(permission) {
            return Ok(());
        }
        Err(self.denied(permission, None, None))
    }

    /// Whether the actor may see the printer at all (any access level).
    pub fn can_see_printer(&self, printer: PrinterId) -> bool {
        self.policy
            .printer_ix(printer)
            .is_some_and(|p| self.policy.rights(self.ix).level(p) > AccessLevel::None)
    }

    /// The actor's access level to the printer (`None` for one they cannot see).
    pub fn access_to(&self, printer: PrinterId) -> AccessLevel {
        self.policy
            .printer_ix(printer)
            .map_or(AccessLevel::None, |p| self.policy.rights(self.ix).level(p))
    }

    /// Whether the actor holds `permission` and enough access to `printer`: what
    /// [`OrgActor::require_on_printer`] checks, as a yes or no (nothing to refuse with).
    pub fn may_on_printer(&self, permission: Permission, printer: PrinterId) -> bool {
        self.policy.printer_ix(printer).is_some_and(|p| {
            let have = self.policy.rights(self.ix).level(p);
            have > AccessLevel::None
                && self.holds(permission)
                && have >= self.policy.needed_level(permission)
        })
    }

    /// Refuses unless the actor holds `permission` and enough access to `printer`. A printer
    /// the actor cannot see is "not found", exactly like one that does not exist.
    pub fn require_on_printer(&self, permission: Permission, printer: PrinterId) -> AppResult<()> {
        let Some(p) = self.policy.printer_ix(printer) else {
            return Err(AppError::not_found("printer"));
        };
        let have = self.policy.rights(self.ix).level(p);
        if have == AccessLevel::None {
            return Err(AppError::not_found("printer"));
        }
        if !self.holds(permission) {
            return Err(self.denied(permission, Some(printer), None));
        }
        let need = self.policy.needed_level(permission);
        if have < need {
            return Err(self.denied(permission, Some(printer), Some(need)));
        }
        Ok(())
    }

    fn denied(
        &self,
        permission: Permission,
        printer: Option<PrinterId>,
        need: Option<AccessLevel>,
    ) -> AppError {
        let policy = &self.policy;
        let ask = policy
            .who_could_grant(self.member_id(), permission, printer)
            .into_iter()
            .filter_map(|id| {
                policy
                    .member_ix(id)
                    .map(|ix| policy.member(ix).name.clone())
            })
            .collect();
        AppError::PermissionDenied {
            permission,
            ask,
            need_access: need,
        }
    }

    /// Turns an administrative refusal into the API's error.
    pub(crate) fn refused(&self, refusal: Refusal) -> AppError {
        match refusal {
            Refusal::MissingPermission(permission) => self.denied(permission, None, None),
            Refusal::UnknownMember => AppError::not_found("member"),
            Refusal::UnknownRank => AppError::not_found("rank"),
            Refusal::RankInUse(_) => AppError::conflict(ErrorCode::RankInUse, refusal.to_string()),
            refusal => AppError::Refused(refusal),
        }
    }

    /// Refuses unless `member`'s rank is strictly junior to the actor's.
    pub(crate) fn require_outranks(&self, member: MemberId, what: &'static str) -> AppResult<()> {
        let target = self
            .policy
            .member_ix(member)
            .and_then(|ix| self.policy.seniority(ix));
        match target {
            Some(target) if self.seniority().outranks(target) => Ok(()),
            Some(_) => Err(AppError::Refused(Refusal::NotJunior(what))),
            None => Err(AppError::not_found("member")),
        }
    }
}

/// An audit event done at the server's console (or by Farmhand itself), not by a member.
pub(crate) fn console_event(
    chain: Chain,
    now: Timestamp,
    action: &str,
    target_type: &str,
    target_id: String,
) -> NewAuditEvent {
    let meta = RequestMeta::console();
    NewAuditEvent {
        chain,
        occurred_at: now,
        actor_kind: ActorKind::System,
        actor_user_id: None,
        actor_token_id: None,
        actor_label: "console".into(),
        action: action.into(),
        target_type: target_type.into(),
        target_id: Some(target_id),
        before: None,
        after: None,
        client_ip: meta.client_ip,
        user_agent: meta.user_agent,
        request_id: meta.request_id,
    }
}
