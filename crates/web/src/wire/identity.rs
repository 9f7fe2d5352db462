//! Signing in, the signed-in user, passwords and API tokens.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::each;
use super::ids::{MemberId, OrgId, Timestamp, TokenId, UserId};
use super::values::{Name, Password, PermissionKey};

/// A login identity.
#[derive(Debug, Serialize, ToSchema)]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub name: String,
    /// Set after an administrator reset the password: the user must choose a new one.
    pub must_change_password: bool,
    pub created_at: Timestamp,
}

impl From<domain::User> for User {
    fn from(user: domain::User) -> User {
        let domain::User {
            id,
            email,
            name,
            must_change_password,
            created_at,
        } = user;
        User {
            id: id.into(),
            email,
            name,
            must_change_password,
            created_at: created_at.into(),
        }
    }
}

/// One of a user's memberships, for the "my organizations" list.
#[derive(Debug, Serialize, ToSchema)]
pub struct MembershipSummary {
    pub member_id: MemberId,
    pub org_id: OrgId,
    pub org_name: String,
    pub rank_name: String,
    pub permissions: Vec<&'static str>,
}

impl From<domain::MembershipSummary> for MembershipSummary {
    fn from(membership_summary: domain::MembershipSummary) -> MembershipSummary {
        let domain::MembershipSummary {
            member_id,
            org_id,
            org_name,
            rank_name,
            permissions,
        } = membership_summary;
        MembershipSummary {
            member_id: member_id.into(),
            org_id: org_id.into(),
            org_name,
            rank_name,
            permissions: permissions.keys(),
        }
    }
}

/// The signed-in user and the organizations they belong to.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    pub user: User,
    pub memberships: Vec<MembershipSummary>,
    /// "session" or "token".
    pub authenticated_by: &'static str,
}

impl From<app::Me> for Me {
    fn from(me: app::Me) -> Me {
        let app::Me {
            user,
            memberships,
            authenticated_by,
        } = me;
        Me {
            user: user.into(),
            memberships: each(memberships),
            authenticated_by,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    pub email: String,
    pub password: String,
}

impl From<SignIn> for app::SignIn {
    fn from(sign_in: SignIn) -> app::SignIn {
        let SignIn { email, password } = sign_in;
        app::SignIn { email, password }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    pub current_password: String,
    /// Must differ from the current one.
    #[schema(value_type = Password)]
    pub new_password: String,
}

impl From<ChangePassword> for app::ChangePassword {
    fn from(change_password: ChangePassword) -> app::ChangePassword {
        let ChangePassword {
            current_password,
            new_password,
        } = change_password;
        app::ChangePassword {
            current_password,
            new_password,
        }
    }
}

// The answer to signing in (the session itself is in the cookie); no doc comment, which
// would change the published schema.
#[derive(Serialize, ToSchema)]
pub struct SignedInBody {
    pub user: User,
    pub expires_at: Timestamp,
}

/// An API token's public record. The secret is shown once, at creation.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiToken {
    pub id: TokenId,
    pub member_id: MemberId,
    pub name: String,
    /// The subset of permissions the token is limited to; `null` means all of its owner's.
    pub permissions: Option<Vec<&'static str>>,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

impl From<domain::ApiToken> for ApiToken {
    fn from(api_token: domain::ApiToken) -> ApiToken {
        let domain::ApiToken {
            id,
            member_id,
            name,
            permissions,
            created_at,
            expires_at,
            last_used_at,
            revoked_at,
        } = api_token;
        ApiToken {
            id: id.into(),
            member_id: member_id.into(),
            name,
            permissions: permissions.map(authz::PermissionSet::keys),
            created_at: created_at.into(),
            expires_at: expires_at.map(Into::into),
            last_used_at: last_used_at.map(Into::into),
            revoked_at: revoked_at.map(Into::into),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    #[schema(value_type = Name)]
    pub name: String,
    /// When the token stops working, in the future; absent or null means never.
    pub expires_at: Option<Timestamp>,
    /// Permission keys the token is limited to, each one you hold; absent or null means all
    /// of yours.
    #[schema(value_type = Option<Vec<PermissionKey>>)]
    pub permissions: Option<Vec<String>>,
}

impl From<CreateToken> for app::CreateToken {
    fn from(create_token: CreateToken) -> app::CreateToken {
        let CreateToken {
            name,
            expires_at,
            permissions,
        } = create_token;
        app::CreateToken {
            name,
            expires_at: expires_at.map(Into::into),
            permissions,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedToken {
    pub token: ApiToken,
    /// The secret, shown only this once. Send it as `Authorization: Bearer <secret>`.
    pub secret: String,
}

impl From<app::CreatedToken> for CreatedToken {
    fn from(created_token: app::CreatedToken) -> CreatedToken {
        let app::CreatedToken { token, secret } = created_token;
        CreatedToken {
            token: token.into(),
            secret,
        }
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TokenListQuery {
    /// List every member's tokens (needs `api_tokens.manage.all`).
    #[serde(default)]
    pub all: bool,
}
