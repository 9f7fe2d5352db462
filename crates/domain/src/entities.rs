//! The nouns of the foundation, as the rest of the system reads them.

use authz::{PermissionSet, Seniority};
use serde::{Serialize, Serializer};
use utoipa::ToSchema;

use crate::audit::ActorKind;
use crate::{
    AuditEventId, InvitationId, MemberId, OrgId, RankId, SiteId, Timestamp, TokenId, UserId,
    WorkgroupId,
};

fn permission_keys<S: Serializer>(set: &PermissionSet, s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(set.keys())
}

fn optional_permission_keys<S: Serializer>(
    set: &Option<PermissionSet>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match set {
        Some(set) => s.collect_seq(set.keys()),
        None => s.serialize_none(),
    }
}

/// A login identity.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub name: String,
    /// Set after an administrator reset the password: the user must choose a new one.
    pub must_change_password: bool,
    pub created_at: Timestamp,
}

/// The tenant: nothing crosses organizations.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Organization {
    pub id: OrgId,
    pub name: String,
    pub time_zone: String,
    pub currency: String,
    pub created_at: Timestamp,
}

/// A named bundle of permissions with a seniority position (lower is more senior).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Rank {
    pub id: RankId,
    pub name: String,
    pub description: String,
    pub position: i32,
    pub is_owner: bool,
    #[serde(serialize_with = "permission_keys")]
    #[schema(value_type = Vec<String>)]
    pub permissions: PermissionSet,
}

impl Rank {
    pub fn seniority(&self) -> Seniority {
        Seniority {
            position: self.position,
            is_owner: self.is_owner,
        }
    }
    /// Owners hold every permission, whatever their stored set says.
    pub fn effective_permissions(&self) -> PermissionSet {
        if self.is_owner {
            PermissionSet::all()
        } else {
            self.permissions
        }
    }
}

/// A location or factory inside an organization.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Site {
    pub id: SiteId,
    pub name: String,
    pub description: String,
    pub time_zone: Option<String>,
    pub created_at: Timestamp,
}

/// A user's membership in an organization.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Member {
    pub id: MemberId,
    pub user_id: UserId,
    pub email: String,
    pub name: String,
    pub rank_id: RankId,
    pub rank_name: String,
    pub site_id: Option<SiteId>,
    pub active: bool,
    pub created_at: Timestamp,
    pub deactivated_at: Option<Timestamp>,
}

/// A member as authorization sees them: their rank and effective permissions.
#[derive(Debug, Clone)]
pub struct MemberAuth {
    pub member_id: MemberId,
    pub org_id: OrgId,
    pub user_id: UserId,
    pub active: bool,
    pub rank: Rank,
}

/// One of a user's memberships, for the "my organizations" list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MembershipSummary {
    pub member_id: MemberId,
    pub org_id: OrgId,
    pub org_name: String,
    pub rank_name: String,
    #[serde(serialize_with = "permission_keys")]
    #[schema(value_type = Vec<String>)]
    pub permissions: PermissionSet,
}

/// A set of members with moderators.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Workgroup {
    pub id: WorkgroupId,
    pub name: String,
    pub description: String,
    pub member_count: i64,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WorkgroupMember {
    pub member_id: MemberId,
    pub name: String,
    pub email: String,
    pub is_moderator: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InvitationStatus {
    Pending,
    Accepted,
    Revoked,
    Expired,
}

/// An invitation by link. The link's secret is shown once, at creation.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Invitation {
    pub id: InvitationId,
    pub org_id: OrgId,
    pub email: String,
    pub rank_id: RankId,
    pub rank_name: String,
    pub invited_by: MemberId,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub accepted_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
    pub status: InvitationStatus,
}

impl Invitation {
    pub fn status_at(
        now: Timestamp,
        expires_at: Timestamp,
        accepted_at: Option<Timestamp>,
        revoked_at: Option<Timestamp>,
    ) -> InvitationStatus {
        match (accepted_at, revoked_at) {
            (Some(_), _) => InvitationStatus::Accepted,
            (None, Some(_)) => InvitationStatus::Revoked,
            (None, None) if now >= expires_at => InvitationStatus::Expired,
            (None, None) => InvitationStatus::Pending,
        }
    }
}

/// An API token's public record. The secret is shown once, at creation.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApiToken {
    pub id: TokenId,
    pub member_id: MemberId,
    pub name: String,
    /// The subset of permissions the token is limited to; `null` means all of its owner's.
    #[serde(serialize_with = "optional_permission_keys")]
    #[schema(value_type = Option<Vec<String>>)]
    pub permissions: Option<PermissionSet>,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

/// One audit event as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditEvent {
    pub id: AuditEventId,
    pub seq: i64,
    pub occurred_at: Timestamp,
    pub actor_kind: ActorKind,
    pub actor_user_id: Option<UserId>,
    pub actor_token_id: Option<TokenId>,
    pub actor_label: String,
    pub action: String,
    pub target_type: String,
    pub target_id: Option<String>,
    /// A summary of the target before the change, as stored (kept as raw JSON text).
    #[schema(value_type = Option<Object>)]
    pub before: Option<Box<serde_json::value::RawValue>>,
    /// A summary of the target after the change.
    #[schema(value_type = Option<Object>)]
    pub after: Option<Box<serde_json::value::RawValue>>,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    pub hash: String,
}
