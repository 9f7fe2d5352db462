//! API tokens: created by a member for themselves, shown once, stored hashed, optionally
//! expiring and limited to a subset of permissions. A token never carries more than its
//! owner's current rights: the intersection is taken at every use.

use authz::{Permission, PermissionSet};
use domain::{ApiToken, Name, Timestamp, TokenId};
use serde_json::json;

use super::Identity;
use crate::actor::OrgActor;
use crate::error::{AppError, AppResult, ErrorCode};
use crate::identity::{hash_secret, new_api_token};
use crate::unit_of_work::{Audit, Changes, Found};

#[derive(Debug)]
pub struct CreateToken {
    pub name: String,
    /// When the token stops working, in the future; absent or null means never.
    pub expires_at: Option<Timestamp>,
    /// Permission keys the token is limited to, each one you hold; absent or null means all
    /// of yours.
    pub permissions: Option<Vec<String>>,
}

#[derive(Debug)]
pub struct CreatedToken {
    pub token: ApiToken,
    /// The secret, shown only this once. Send it as `Authorization: Bearer <secret>`.
    pub secret: String,
}

fn summary(token: &ApiToken) -> serde_json::Value {
    json!({
        "name": token.name,
        "member_id": token.member_id,
        "permissions": token.permissions.map(PermissionSet::keys),
        "expires_at": token.expires_at,
    })
}

fn cannot_carry(missing: PermissionSet) -> AppError {
    AppError::Seniority(format!(
        "a token cannot carry permissions you do not hold: {}",
        missing.keys().join(", ")
    ))
}

impl Identity<'_> {
    pub async fn create_token(
        &self,
        actor: &OrgActor,
        input: CreateToken,
    ) -> AppResult<CreatedToken> {
        actor.require(Permission::ApiTokensCreateOwn)?;
        // Tokens are minted by a person in a signed-in session, never by another token: a
        // leaked token cannot spread into tokens that outlive its revocation or its expiry.
        if actor.principal.is_token() {
            return Err(AppError::SessionRequired);
        }
        let name = Name::parse("name", &input.name)?;
        let now = self.app.now();
        if input.expires_at.is_some_and(|t| t <= now) {
            return Err(AppError::Invalid(domain::Invalid::new(
                "expires_at",
                "must be in the future",
            )));
        }
        let scope = input
            .permissions
            .map(|keys| {
                PermissionSet::from_keys(keys.iter().map(String::as_str)).map_err(|key| {
                    domain::Invalid::new("permissions", format!("unknown permission {key:?}"))
                })
            })
            .transpose()?;
        let secret = new_api_token();
        let mut uow = self.app.begin(actor, Changes::Data).await?;
        // Within the rights the actor has now (the check above ran before the transaction).
        if let Some(scope) = scope {
            let missing = scope.difference(uow.actor().permissions);
            if !missing.is_empty() {
                return Err(cannot_carry(missing));
            }
        }
        let new = store::NewToken {
            member: actor.member_id(),
            name: name.as_str(),
            token_hash: &hash_secret(&secret),
            permissions: scope,
            expires_at: input.expires_at,
        };
        let id = store::insert_token(uow.conn(), &new, now).await?;
        let token = store::get_token(uow.conn(), actor.org(), id)
            .await
            .found("API token")?;
        uow.audit(Audit::of("api_token.create", "api_token", id).after(summary(&token)));
        uow.commit().await?;
        Ok(CreatedToken { token, secret })
    }

    /// The actor's own tokens; with `everyone` (and the permission for it), the organization's.
    pub async fn list_tokens(&self, actor: &OrgActor, everyone: bool) -> AppResult<Vec<ApiToken>> {
        let permission = if everyone {
            Permission::ApiTokensManageAll
        } else {
            Permission::ApiTokensCreateOwn
        };
        actor.require(permission)?;
        let mut conn = self.app.store().read().await?;
        let member = if everyone {
            None
        } else {
            Some(actor.member_id())
        };
        Ok(store::list_tokens(&mut conn, actor.org(), member).await?)
    }

    /// Revokes one of the actor's tokens, or another member's with the permission and seniority.
    pub async fn revoke_token(&self, actor: &OrgActor, id: TokenId) -> AppResult<ApiToken> {
        let mut uow = self.app.begin(actor, Changes::Data).await?;
        uow.actor().require(Permission::ApiTokensCreateOwn)?;
        let token = store::get_token(uow.conn(), actor.org(), id)
            .await
            .found("API token")?;
        if token.member_id != actor.member_id() {
            if !uow.actor().holds(Permission::ApiTokensManageAll) {
                // Someone else's token is invisible without the permission to manage it.
                return Err(AppError::not_found("API token"));
            }
            uow.actor()
                .require_outranks(token.member_id, "revoke tokens of members")?;
        }
        let now = uow.now();
        if !store::revoke_token(uow.conn(), id, now).await? {
            return Err(AppError::conflict(
                ErrorCode::AlreadyRevoked,
                "this token is already revoked",
            ));
        }
        let revoked = store::get_token(uow.conn(), actor.org(), id)
            .await
            .found("API token")?;
        uow.audit(Audit::of("api_token.revoke", "api_token", id).before(summary(&token)));
        uow.commit().await?;
        Ok(revoked)
    }
}
