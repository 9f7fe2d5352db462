//! Signing in and out, sessions, API-token authentication and passwords.

use domain::audit::{ActorKind, Chain, NewAuditEvent};
use domain::{Email, MembershipSummary, Password, SessionId, Timestamp, User};
use serde_json::json;

use super::Identity;
use crate::actor::{Credential, Principal, RequestMeta, with_change};
use crate::error::{AppError, AppResult};
use crate::identity::{TOKEN_PREFIX, hash_secret, new_secret};
use crate::unit_of_work::UnitOfWork;

/// Last-seen and last-used times are written at most this often, so reads stay reads.
const TOUCH_EVERY_SECS: i64 = 60;

#[derive(Debug)]
pub struct SignIn {
    pub email: String,
    pub password: String,
}

/// A new session: the secret goes into the cookie and is never shown again.
#[derive(Debug)]
pub struct SignedIn {
    pub user: User,
    pub session_id: SessionId,
    pub session_secret: String,
    pub expires_at: Timestamp,
}

#[derive(Debug)]
pub struct ChangePassword {
    pub current_password: String,
    /// Must differ from the current one.
    pub new_password: String,
}

/// The signed-in user and the organizations they belong to.
#[derive(Debug)]
pub struct Me {
    pub user: User,
    pub memberships: Vec<MembershipSummary>,
    /// "session" or "token".
    pub authenticated_by: &'static str,
}

/// Why a sign-in was refused, as the audit log records it.
#[derive(Debug, Clone, Copy)]
enum FailedSignIn {
    WrongPassword,
    /// Too many failures: attempts are refused for a while (recorded once per throttling).
    Throttled,
}

impl FailedSignIn {
    fn action(self) -> &'static str {
        match self {
            FailedSignIn::WrongPassword => "auth.sign_in_failed",
            FailedSignIn::Throttled => "auth.sign_in_throttled",
        }
    }

    fn reason(self) -> &'static str {
        match self {
            FailedSignIn::WrongPassword => "wrong email or password",
            FailedSignIn::Throttled => "too many failed attempts; sign-in refused for a while",
        }
    }
}

fn anonymous_event(meta: &RequestMeta, now: Timestamp, action: &str, email: &str) -> NewAuditEvent {
    NewAuditEvent {
        chain: Chain::Instance,
        occurred_at: now,
        actor_kind: ActorKind::Anonymous,
        actor_user_id: None,
        actor_token_id: None,
        actor_label: email.to_string(),
        action: action.to_string(),
        target_type: "user".into(),
        target_id: None,
        before: None,
        after: None,
        client_ip: meta.client_ip.clone(),
        user_agent: meta.user_agent.clone(),
        request_id: meta.request_id.clone(),
    }
}

impl Identity<'_> {
    /// Signs in with email and password. A wrong email and a wrong password get the same
    /// answer and take the same time; attempts past the throttle are refused before any
    /// password is checked. Every attempt is audited.
    pub async fn sign_in(&self, input: SignIn, meta: &RequestMeta) -> AppResult<SignedIn> {
        let now = self.app.now();
        // An unparseable email is simply an unknown account: same answer as a wrong password.
        let email = Email::parse("email", &input.email)
            .map(Email::into_string)
            .unwrap_or_else(|_| {
                input
                    .email
                    .trim()
                    .to_lowercase()
                    .chars()
                    .take(254)
                    .collect()
            });
        let address = meta.client_ip.as_deref();

        if let Some(throttled) = self.app.inner.throttle.check(&email, address, now) {
            if throttled.first {
                let account = self.account_by_email(&email).await?;
                self.audit_failed_sign_in(
                    meta,
                    now,
                    &email,
                    account.as_ref(),
                    FailedSignIn::Throttled,
                )
                .await?;
            }
            return Err(AppError::Throttled {
                retry_after_secs: throttled.retry_after_secs,
            });
        }

        let account = self.account_by_email(&email).await?;
        let hash = account.as_ref().map(|a| a.password_hash.as_str());
        if !self.app.hasher().verify(&input.password, hash).await? {
            self.app.inner.throttle.record_failure(&email, address, now);
            self.audit_failed_sign_in(
                meta,
                now,
                &email,
                account.as_ref(),
                FailedSignIn::WrongPassword,
            )
            .await?;
            return Err(AppError::InvalidCredentials);
        }
        let Some(account) = account else {
            return Err(AppError::InvalidCredentials);
        };
        self.app.inner.throttle.record_success(&email);

        let mut uow = self.app.begin_unattributed().await?;
        let signed_in = self.open_session(&mut uow, &account.user, meta).await?;
        uow.commit().await?;
        Ok(signed_in)
    }

    /// Opens a session for `user` in the caller's unit of work and audits the sign-in.
    pub(crate) async fn open_session(
        &self,
        uow: &mut UnitOfWork<()>,
        user: &User,
        meta: &RequestMeta,
    ) -> AppResult<SignedIn> {
        let now = uow.now();
        let secret = new_secret();
        let expires_at = now.plus_seconds(self.app.settings().session_ttl_secs);
        let new = store::NewSession {
            user: user.id,
            token_hash: &hash_secret(&secret),
            expires_at,
            client_ip: meta.client_ip.as_deref(),
            user_agent: meta.user_agent.as_deref(),
        };
        let session_id = store::insert_session(uow.conn(), &new, now).await?;
        let principal = Principal {
            user: user.clone(),
            credential: Credential::Session(session_id),
        };
        let subject = ("user", Some(user.id.to_string()));
        uow.audit_event(principal.event(Chain::Instance, meta, now, "auth.sign_in", subject));
        Ok(SignedIn {
            user: user.clone(),
            session_id,
            session_secret: secret,
            expires_at,
        })
    }

    async fn account_by_email(&self, email: &str) -> AppResult<Option<store::UserCredentials>> {
        let mut conn = self.app.store().read().await?;
        Ok(store::find_user_by_email(&mut conn, email).await?)
    }

    /// Records a refused sign-in in the server's own chain and, when the email is an account,
    /// in the chain of each organization it is an active member of: owners see attempts on
    /// their members' accounts (and nothing about other organizations).
    async fn audit_failed_sign_in(
        &self,
        meta: &RequestMeta,
        now: Timestamp,
        email: &str,
        account: Option<&store::UserCredentials>,
        failure: FailedSignIn,
    ) -> AppResult<()> {
        let mut uow = self.app.begin_unattributed().await?;
        let memberships = match account {
            Some(account) => store::memberships_of_user(uow.conn(), account.user.id).await?,
            None => Vec::new(),
        };
        let mut event = anonymous_event(meta, now, failure.action(), email);
        event.target_id = account.map(|a| a.user.id.to_string());
        event.after = Some(json!({ "reason": failure.reason() }));
        uow.audit_event(event);
        for membership in memberships {
            let mut event = anonymous_event(meta, now, failure.action(), email);
            event.chain = Chain::Org(membership.org_id);
            event.target_type = "member".into();
            event.target_id = Some(membership.member_id.to_string());
            event.after = Some(json!({ "reason": failure.reason() }));
            uow.audit_event(event);
        }
        uow.commit().await
    }

    /// The principal behind a session cookie's secret, if it is live.
    pub async fn authenticate_session(&self, secret: &str) -> AppResult<Option<Principal>> {
        let now = self.app.now();
        let mut conn = self.app.store().read().await?;
        let Some(session) = store::find_session(&mut conn, &hash_secret(secret), now).await? else {
            return Ok(None);
        };
        let Some(account) = store::get_user(&mut conn, session.user_id).await? else {
            return Ok(None);
        };
        drop(conn);
        if session.last_seen_at.seconds_until(now) >= TOUCH_EVERY_SECS {
            let mut uow = self.app.begin_unattributed().await?;
            store::touch_session(uow.conn(), session.session_id, now).await?;
            uow.commit().await?;
        }
        Ok(Some(Principal {
            user: account.user,
            credential: Credential::Session(session.session_id),
        }))
    }

    /// The principal behind an API token, if it is live and its member is active.
    pub async fn authenticate_token(&self, secret: &str) -> AppResult<Option<Principal>> {
        if !secret.starts_with(TOKEN_PREFIX) {
            return Ok(None);
        }
        let now = self.app.now();
        let mut conn = self.app.store().read().await?;
        let Some(token) = store::find_token(&mut conn, &hash_secret(secret), now).await? else {
            return Ok(None);
        };
        let Some(account) = store::get_user(&mut conn, token.user_id).await? else {
            return Ok(None);
        };
        drop(conn);
        if token
            .last_used_at
            .is_none_or(|t| t.seconds_until(now) >= TOUCH_EVERY_SECS)
        {
            let mut uow = self.app.begin_unattributed().await?;
            store::touch_token(uow.conn(), token.token_id, now).await?;
            uow.commit().await?;
        }
        Ok(Some(Principal {
            user: account.user,
            credential: Credential::Token {
                id: token.token_id,
                org: token.org_id,
                member: token.member_id,
                permissions: token.permissions,
            },
        }))
    }

    /// Whether the credential a principal was authenticated with still works (for long-lived
    /// answers such as event streams, which authenticate once).
    pub async fn still_signed_in(&self, principal: &Principal) -> AppResult<bool> {
        let now = self.app.now();
        let mut conn = self.app.store().read().await?;
        Ok(match principal.credential {
            Credential::Session(id) => store::session_live(&mut conn, id, now).await?,
            Credential::Token { id, .. } => store::token_live(&mut conn, id, now).await?,
        })
    }

    pub async fn sign_out(&self, principal: &Principal, meta: &RequestMeta) -> AppResult<()> {
        let Credential::Session(session) = principal.credential else {
            return Err(AppError::SessionRequired);
        };
        let mut uow = self.app.begin_unattributed().await?;
        let now = uow.now();
        store::revoke_session(uow.conn(), session, now).await?;
        let subject = ("user", Some(principal.user.id.to_string()));
        uow.audit_event(principal.event(Chain::Instance, meta, now, "auth.sign_out", subject));
        uow.commit().await
    }

    pub async fn me(&self, principal: &Principal) -> AppResult<Me> {
        let mut memberships = {
            let mut conn = self.app.store().read().await?;
            store::memberships_of_user(&mut conn, principal.user.id).await?
        };
        // Effective permissions, overrides included, come from each organization's policy.
        for membership in &mut memberships {
            let policy = self.app.current_policy(membership.org_id).await?;
            if let Some(ix) = policy.member_ix(membership.member_id) {
                membership.permissions = policy.rights(ix).permissions;
            }
        }
        let authenticated_by = match &principal.credential {
            Credential::Session(_) => "session",
            Credential::Token {
                org, permissions, ..
            } => {
                // A token sees only its own organization, with its narrowed rights.
                memberships.retain(|m| m.org_id == *org);
                if let Some(scope) = permissions {
                    for m in &mut memberships {
                        m.permissions = m.permissions.intersection(*scope);
                    }
                }
                "token"
            }
        };
        Ok(Me {
            user: principal.user.clone(),
            memberships,
            authenticated_by,
        })
    }

    /// Changes the password after checking the current one; other sessions are signed out.
    pub async fn change_password(
        &self,
        principal: &Principal,
        input: ChangePassword,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        let Credential::Session(session) = principal.credential else {
            return Err(AppError::SessionRequired);
        };
        let new_password = Password::parse("new_password", &input.new_password)?;
        let account = {
            let mut conn = self.app.store().read().await?;
            store::get_user(&mut conn, principal.user.id)
                .await?
                .ok_or(AppError::Unauthenticated)?
        };
        if !self
            .app
            .hasher()
            .verify(&input.current_password, Some(&account.password_hash))
            .await?
        {
            return Err(AppError::WrongCurrentPassword);
        }
        if input.current_password == input.new_password {
            return Err(AppError::Invalid(domain::Invalid::new(
                "new_password",
                "must differ from the current password",
            )));
        }
        let hash = self.app.hasher().hash(new_password.expose()).await?;
        let mut uow = self.app.begin_unattributed().await?;
        let (user, now) = (principal.user.id, uow.now());
        store::set_password(uow.conn(), user, &hash, false, now).await?;
        let revoked = store::revoke_user_sessions(uow.conn(), user, Some(session), now).await?;
        let subject = ("user", Some(user.to_string()));
        let event = principal.event(Chain::Instance, meta, now, "auth.password_change", subject);
        uow.audit_event(with_change(
            event,
            None,
            Some(json!({ "other_sessions_revoked": revoked })),
        ));
        uow.commit().await
    }
}
