//! The nouns of the foundation, as the rest of the system reads them.

use authz::{AccessLevel, MemberScope, OutOfScope, PermissionSet, PrinterScope, Seniority};
use serde::Serialize;

use crate::audit::ActorKind;
use crate::{
    AuditEventId, GrantId, InvitationId, MemberId, OrgId, PrinterGroupId, PrinterId,
    PrinterModelId, RankId, SiteId, Timestamp, TokenId, UserId, WorkgroupId,
};

/// A login identity.
#[derive(Debug, Clone)]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub name: String,
    /// Set after an administrator reset the password: the user must choose a new one.
    pub must_change_password: bool,
    pub created_at: Timestamp,
}

/// The tenant: nothing crosses organizations.
#[derive(Debug, Clone)]
pub struct Organization {
    pub id: OrgId,
    pub name: String,
    pub time_zone: String,
    pub currency: String,
    /// Who may confirm a clear build plate: members with print access, or with any access.
    pub bed_clear_access: authz::BedClearAccess,
    /// Jobs of members whose rank lacks `approval.skip` wait for an approver.
    pub approval_required: bool,
    /// G-code upload is disabled for members without `files.upload_gcode` (3DPrinterOS).
    pub gcode_upload_restricted: bool,
    /// Among jobs of equal priority, the dispatcher takes first the job of whoever has had the
    /// least printing time over the last `fair_share_window_days` days (else: oldest first).
    pub fair_share: bool,
    pub fair_share_window_days: i32,
    pub created_at: Timestamp,
}

/// How far back fair share looks, in days.
pub const FAIR_SHARE_WINDOW_DAYS: std::ops::RangeInclusive<i32> = 1..=90;

/// A named bundle of permissions with a seniority position (lower is more senior), a printer
/// scope, and the permissions members may be individually allowed or denied (tri-state).
#[derive(Debug, Clone)]
pub struct Rank {
    pub id: RankId,
    pub name: String,
    pub description: String,
    pub position: i32,
    pub is_owner: bool,
    pub permissions: PermissionSet,
    pub tri_state: PermissionSet,
    pub scope: PrinterScope,
    pub out_of_scope: OutOfScope,
    pub member_scope: MemberScope,
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
    /// The rank as authorization sees it.
    pub fn to_model(&self) -> authz::Rank {
        authz::Rank {
            id: self.id,
            name: self.name.clone(),
            position: self.position,
            is_owner: self.is_owner,
            permissions: self.permissions,
            tri_state: self.tri_state,
            scope: self.scope.clone(),
            out_of_scope: self.out_of_scope,
            member_scope: self.member_scope,
        }
    }
}

/// A kind of printer: what it can build and how fast it moves.
// Serialize: the audit record stores it whole (not the API, which has its own type).
#[derive(Debug, Clone, Serialize)]
pub struct PrinterModel {
    pub id: PrinterModelId,
    pub name: String,
    pub description: String,
    /// Build volume X, Y, Z, mm (0 where unknown).
    pub build_volume_mm: [f64; 3],
    pub nozzle_diameter_mm: f64,
    /// Materials it may print; empty means any.
    pub materials: Vec<String>,
    /// Motion limits for the G-code estimator: fields of the estimator's printer profile that
    /// differ from its default (`max_feedrate`, `print_acceleration`, `firmware`, `klipper`, …).
    pub motion: serde_json::Value,
    /// Price of an hour of machine time, in minor units of the organization's currency.
    pub hourly_rate_minor: i64,
    pub created_at: Timestamp,
}

/// How Farmhand talks to a printer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DriverKind {
    /// Farmhand's built-in simulated printer (demos, tests, training).
    Simulated,
    Octoprint,
    Moonraker,
}

impl DriverKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Simulated => "simulated",
            Self::Octoprint => "octoprint",
            Self::Moonraker => "moonraker",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "simulated" => Self::Simulated,
            "octoprint" => Self::Octoprint,
            "moonraker" => Self::Moonraker,
            _ => return None,
        })
    }
}

/// A printer's connection as the API shows it: never the credential itself.
#[derive(Debug, Clone)]
pub struct PrinterConnection {
    pub driver: DriverKind,
    /// Base URL of OctoPrint or Moonraker; empty for the simulator.
    pub url: String,
    /// Whether a credential (API key, token) is stored, encrypted.
    pub has_credential: bool,
    /// Driver settings that are not secret (the simulator's speed, …).
    pub settings: serde_json::Value,
}

/// A named set of printers, for access grants and job targets.
// Serialize: the audit record stores it whole (not the API, which has its own type).
#[derive(Debug, Clone, Serialize)]
pub struct PrinterGroup {
    pub id: PrinterGroupId,
    pub name: String,
    pub description: String,
    pub created_at: Timestamp,
}

/// A printer of the organization.
#[derive(Debug, Clone)]
pub struct Printer {
    pub id: PrinterId,
    pub name: String,
    pub site_id: SiteId,
    pub model_id: Option<PrinterModelId>,
    pub group_ids: Vec<PrinterGroupId>,
    pub connection: PrinterConnection,
    /// The last persisted state (the live one is kept in memory by the fleet supervisor).
    pub state: crate::PrinterState,
    /// The error message, when the state is `error`.
    pub state_detail: String,
    pub state_since: Timestamp,
    /// Out of service (set by someone allowed to).
    pub maintenance: bool,
    /// A print ended and nobody has confirmed the build plate is clear yet.
    pub bed_clear_pending: bool,
    /// The dispatcher starts the jobs it matches to the printer; off, they wait `assigned`
    /// until someone starts them.
    pub auto_start: bool,
    pub created_at: Timestamp,
}

impl Printer {
    pub fn to_model(&self) -> authz::Printer {
        authz::Printer {
            id: self.id,
            site: self.site_id,
            model: self.model_id,
            groups: self.group_ids.clone(),
        }
    }
}

/// One attempt at printing a file on a printer.
#[derive(Debug, Clone)]
pub struct Print {
    pub id: crate::PrintId,
    pub printer_id: PrinterId,
    pub file_name: String,
    /// SHA-256 of the file, hex; empty for prints started at the printer.
    pub file_sha256: String,
    pub file_size: i64,
    /// Farmhand's estimate, s.
    pub estimated_s: f64,
    /// Who started it through Farmhand; `None` for a print started at the printer.
    pub started_by: Option<MemberId>,
    /// False for prints Farmhand found running that it did not start.
    pub managed: bool,
    pub state: crate::PrintState,
    pub detail: String,
    pub started_at: Timestamp,
    pub ended_at: Option<Timestamp>,
}

/// A recorded change of a printer's state.
#[derive(Debug, Clone)]
pub struct PrinterStateEvent {
    pub from: crate::PrinterState,
    pub to: crate::PrinterState,
    pub detail: String,
    pub print_id: Option<crate::PrintId>,
    pub occurred_at: Timestamp,
}

/// Who a printer access grant is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum GrantSubject {
    Rank(RankId),
    Workgroup(WorkgroupId),
    Member(MemberId),
}

/// Which printers a grant covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum GrantTarget {
    AllPrinters,
    Site(SiteId),
    Group(PrinterGroupId),
    Model(PrinterModelId),
    Printer(PrinterId),
}

/// Access to some printers at a level, for a rank, a workgroup or a member.
#[derive(Debug, Clone)]
pub struct PrinterGrant {
    pub id: GrantId,
    pub subject: GrantSubject,
    pub target: GrantTarget,
    pub level: AccessLevel,
    pub created_at: Timestamp,
}

impl PrinterGrant {
    pub fn to_model(&self) -> authz::Grant {
        authz::Grant {
            subject: self.subject.to_model(),
            target: self.target.to_model(),
            level: self.level,
        }
    }
}

impl GrantSubject {
    pub fn to_model(self) -> authz::Subject {
        match self {
            GrantSubject::Rank(id) => authz::Subject::Rank(id),
            GrantSubject::Workgroup(id) => authz::Subject::Workgroup(id),
            GrantSubject::Member(id) => authz::Subject::Member(id),
        }
    }
    pub fn kind(self) -> &'static str {
        match self {
            GrantSubject::Rank(_) => "rank",
            GrantSubject::Workgroup(_) => "workgroup",
            GrantSubject::Member(_) => "member",
        }
    }
    pub fn id(self) -> i64 {
        match self {
            GrantSubject::Rank(id) => id.get(),
            GrantSubject::Workgroup(id) => id.get(),
            GrantSubject::Member(id) => id.get(),
        }
    }
    pub fn from_stored(kind: &str, id: i64) -> Option<GrantSubject> {
        Some(match kind {
            "rank" => GrantSubject::Rank(RankId(id)),
            "workgroup" => GrantSubject::Workgroup(WorkgroupId(id)),
            "member" => GrantSubject::Member(MemberId(id)),
            _ => return None,
        })
    }
}

impl GrantTarget {
    pub fn to_model(self) -> authz::Target {
        match self {
            GrantTarget::AllPrinters => authz::Target::AllPrinters,
            GrantTarget::Site(id) => authz::Target::Site(id),
            GrantTarget::Group(id) => authz::Target::Group(id),
            GrantTarget::Model(id) => authz::Target::Model(id),
            GrantTarget::Printer(id) => authz::Target::Printer(id),
        }
    }
    pub fn kind(self) -> &'static str {
        match self {
            GrantTarget::AllPrinters => "all",
            GrantTarget::Site(_) => "site",
            GrantTarget::Group(_) => "group",
            GrantTarget::Model(_) => "model",
            GrantTarget::Printer(_) => "printer",
        }
    }
    pub fn id(self) -> i64 {
        match self {
            GrantTarget::AllPrinters => 0,
            GrantTarget::Site(id) => id.get(),
            GrantTarget::Group(id) => id.get(),
            GrantTarget::Model(id) => id.get(),
            GrantTarget::Printer(id) => id.get(),
        }
    }
    pub fn from_stored(kind: &str, id: i64) -> Option<GrantTarget> {
        Some(match kind {
            "all" => GrantTarget::AllPrinters,
            "site" => GrantTarget::Site(SiteId(id)),
            "group" => GrantTarget::Group(PrinterGroupId(id)),
            "model" => GrantTarget::Model(PrinterModelId(id)),
            "printer" => GrantTarget::Printer(PrinterId(id)),
            _ => return None,
        })
    }
}

/// A location or factory inside an organization.
#[derive(Debug, Clone)]
pub struct Site {
    pub id: SiteId,
    pub name: String,
    pub description: String,
    pub time_zone: Option<String>,
    /// When someone is there to clear a finished print's plate.
    pub staffed_hours: crate::StaffedHours,
    /// How long after a staffed period ends a job may still end.
    pub staffed_grace_minutes: u32,
    pub created_at: Timestamp,
}

/// Longest grace period after staffed hours, in minutes (12 hours).
pub const MAX_STAFFED_GRACE_MINUTES: u32 = 720;

/// A user's membership in an organization.
#[derive(Debug, Clone)]
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
#[derive(Debug, Clone)]
pub struct MembershipSummary {
    pub member_id: MemberId,
    pub org_id: OrgId,
    pub org_name: String,
    pub rank_name: String,
    pub permissions: PermissionSet,
}

/// A set of members with moderators.
#[derive(Debug, Clone)]
pub struct Workgroup {
    pub id: WorkgroupId,
    pub name: String,
    pub description: String,
    pub member_count: i64,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone)]
pub struct WorkgroupMember {
    pub member_id: MemberId,
    pub name: String,
    pub email: String,
    pub is_moderator: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InvitationStatus {
    Pending,
    Accepted,
    /// Withdrawn by the organization (or because the inviter can no longer give the rank).
    Revoked,
    /// Turned down by the person invited.
    Declined,
    Expired,
}

/// An invitation by link. The link's secret is shown once, at creation.
#[derive(Debug, Clone)]
pub struct Invitation {
    pub id: InvitationId,
    pub org_id: OrgId,
    pub email: String,
    /// The rank the invitation gives; absent once a settled invitation's rank was deleted.
    pub rank_id: Option<RankId>,
    pub rank_name: Option<String>,
    /// The home site the member will have, if the inviter chose one.
    pub site_id: Option<SiteId>,
    pub invited_by: MemberId,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub accepted_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
    pub declined_at: Option<Timestamp>,
    pub status: InvitationStatus,
}

impl Invitation {
    pub fn status_at(
        now: Timestamp,
        expires_at: Timestamp,
        accepted_at: Option<Timestamp>,
        revoked_at: Option<Timestamp>,
        declined_at: Option<Timestamp>,
    ) -> InvitationStatus {
        match (accepted_at, revoked_at, declined_at) {
            (Some(_), _, _) => InvitationStatus::Accepted,
            (None, Some(_), _) => InvitationStatus::Revoked,
            (None, None, Some(_)) => InvitationStatus::Declined,
            (None, None, None) if now >= expires_at => InvitationStatus::Expired,
            (None, None, None) => InvitationStatus::Pending,
        }
    }
}

/// An API token's public record. The secret is shown once, at creation.
#[derive(Debug, Clone)]
pub struct ApiToken {
    pub id: TokenId,
    pub member_id: MemberId,
    pub name: String,
    /// The subset of permissions the token is limited to; `null` means all of its owner's.
    pub permissions: Option<PermissionSet>,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

/// One audit event as the API shows it.
#[derive(Debug, Clone)]
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
    pub before: Option<Box<serde_json::value::RawValue>>,
    /// A summary of the target after the change.
    pub after: Option<Box<serde_json::value::RawValue>>,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    pub hash: String,
}

/// Whom a printer is reserved for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReservationFor {
    Member(MemberId),
    Workgroup(crate::WorkgroupId),
}

/// A printer reserved for a member or a workgroup over a time window: meanwhile the dispatcher
/// sends it only their jobs.
#[derive(Debug, Clone, PartialEq)]
pub struct Reservation {
    pub id: crate::ReservationId,
    pub printer_id: PrinterId,
    pub reserved_for: ReservationFor,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub note: String,
    pub created_by: Option<MemberId>,
    pub created_at: Timestamp,
}

impl Reservation {
    /// Whether it holds the printer at `now`.
    pub fn is_active(&self, now: Timestamp) -> bool {
        self.starts_at <= now && now < self.ends_at
    }
}
