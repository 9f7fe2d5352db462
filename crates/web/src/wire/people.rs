//! Organizations, sites, members, invitations and workgroups.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::each;
use super::ids::{InvitationId, MemberId, OrgId, RankId, SiteId, Timestamp, UserId, WorkgroupId};
use super::values::{CurrencyCode, DescriptionText, Email, Name, Password, TimeZoneName};

/// The tenant: nothing crosses organizations.
#[derive(Debug, Serialize, ToSchema)]
pub struct Organization {
    pub id: OrgId,
    pub name: String,
    pub time_zone: String,
    pub currency: String,
    /// Who may confirm a clear build plate: members with print access, or with any access.
    pub bed_clear_access: BedClearAccess,
    /// Jobs of members whose rank lacks `approval.skip` wait for an approver (changed at
    /// `PUT …/settings/approval`).
    pub approval_required: bool,
    /// G-code upload is disabled for members without `files.upload_gcode` (3DPrinterOS).
    pub gcode_upload_restricted: bool,
    /// Among jobs of equal priority, the dispatcher takes first the job of whoever has had the
    /// least printing time over the last `fair_share_window_days` days (off: oldest first).
    pub fair_share: bool,
    pub fair_share_window_days: i32,
    pub created_at: Timestamp,
}

impl From<domain::Organization> for Organization {
    fn from(organization: domain::Organization) -> Organization {
        let domain::Organization {
            id,
            name,
            time_zone,
            currency,
            bed_clear_access,
            approval_required,
            gcode_upload_restricted,
            fair_share,
            fair_share_window_days,
            created_at,
        } = organization;
        Organization {
            id: id.into(),
            name,
            time_zone,
            currency,
            bed_clear_access: bed_clear_access.into(),
            approval_required,
            gcode_upload_restricted,
            fair_share,
            fair_share_window_days,
            created_at: created_at.into(),
        }
    }
}

/// Who may confirm that a finished printer's build plate is clear.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BedClearAccess {
    /// Needs print access to the printer (3DPrinterOS "only with Can print access").
    PrintAccess,
    /// Any access to the printer will do (3DPrinterOS "with any type of access").
    AnyAccess,
}

impl From<authz::BedClearAccess> for BedClearAccess {
    fn from(access: authz::BedClearAccess) -> BedClearAccess {
        match access {
            authz::BedClearAccess::PrintAccess => BedClearAccess::PrintAccess,
            authz::BedClearAccess::AnyAccess => BedClearAccess::AnyAccess,
        }
    }
}

impl From<BedClearAccess> for authz::BedClearAccess {
    fn from(access: BedClearAccess) -> authz::BedClearAccess {
        match access {
            BedClearAccess::PrintAccess => authz::BedClearAccess::PrintAccess,
            BedClearAccess::AnyAccess => authz::BedClearAccess::AnyAccess,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateOrg {
    #[schema(value_type = Option<Name>)]
    pub name: Option<String>,
    /// IANA time zone, e.g. `Europe/Berlin`.
    #[schema(value_type = Option<TimeZoneName>)]
    pub time_zone: Option<String>,
    /// ISO 4217 code, e.g. `EUR`.
    #[schema(value_type = Option<CurrencyCode>)]
    pub currency: Option<String>,
    /// Who may confirm a clear build plate: `print_access` or `any_access`.
    pub bed_clear_access: Option<BedClearAccess>,
    /// Disable G-code upload for members without `files.upload_gcode` (changing it needs
    /// `files.restrict_gcode_upload`).
    pub gcode_upload_restricted: Option<bool>,
    /// Fair share between members in the dispatcher's order.
    pub fair_share: Option<bool>,
    /// How far back fair share looks, in days.
    #[schema(minimum = 1, maximum = 90)]
    pub fair_share_window_days: Option<i32>,
}

impl From<UpdateOrg> for app::UpdateOrg {
    fn from(update_org: UpdateOrg) -> app::UpdateOrg {
        let UpdateOrg {
            name,
            time_zone,
            currency,
            bed_clear_access,
            gcode_upload_restricted,
            fair_share,
            fair_share_window_days,
        } = update_org;
        app::UpdateOrg {
            name,
            time_zone,
            currency,
            bed_clear_access: bed_clear_access.map(Into::into),
            gcode_upload_restricted,
            fair_share,
            fair_share_window_days,
        }
    }
}

/// A location or factory inside an organization.
#[derive(Debug, Serialize, ToSchema)]
pub struct Site {
    pub id: SiteId,
    pub name: String,
    pub description: String,
    pub time_zone: Option<String>,
    /// When someone is there to clear a finished print's plate, in the site's time zone (else
    /// the organization's): the dispatcher starts a job only if it would end within these
    /// hours. Empty: always staffed.
    pub staffed_hours: Vec<StaffedPeriod>,
    /// How long after a staffed period ends a job may still end, in minutes.
    pub staffed_grace_minutes: u32,
    pub created_at: Timestamp,
}

impl From<domain::Site> for Site {
    fn from(site: domain::Site) -> Site {
        let domain::Site {
            id,
            name,
            description,
            time_zone,
            staffed_hours,
            staffed_grace_minutes,
            created_at,
        } = site;
        Site {
            id: id.into(),
            name,
            description,
            time_zone,
            staffed_hours: each(staffed_hours.periods().to_vec()),
            staffed_grace_minutes,
            created_at: created_at.into(),
        }
    }
}

/// A day of the week.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Weekday {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

impl From<Weekday> for domain::Weekday {
    fn from(day: Weekday) -> domain::Weekday {
        match day {
            Weekday::Mon => domain::Weekday::Mon,
            Weekday::Tue => domain::Weekday::Tue,
            Weekday::Wed => domain::Weekday::Wed,
            Weekday::Thu => domain::Weekday::Thu,
            Weekday::Fri => domain::Weekday::Fri,
            Weekday::Sat => domain::Weekday::Sat,
            Weekday::Sun => domain::Weekday::Sun,
        }
    }
}

impl From<domain::Weekday> for Weekday {
    fn from(day: domain::Weekday) -> Weekday {
        match day {
            domain::Weekday::Mon => Weekday::Mon,
            domain::Weekday::Tue => Weekday::Tue,
            domain::Weekday::Wed => Weekday::Wed,
            domain::Weekday::Thu => Weekday::Thu,
            domain::Weekday::Fri => Weekday::Fri,
            domain::Weekday::Sat => Weekday::Sat,
            domain::Weekday::Sun => Weekday::Sun,
        }
    }
}

/// A staffed period on each of its days, from one local time to another (`HH:MM`, up to
/// `24:00`); one whose end is not after its start runs past midnight.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffedPeriod {
    #[schema(min_items = 1, max_items = 7)]
    pub days: Vec<Weekday>,
    #[schema(value_type = String, pattern = r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$", example = "08:00")]
    pub from: domain::TimeOfDay,
    #[schema(value_type = String, pattern = r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$", example = "18:00")]
    pub to: domain::TimeOfDay,
}

impl From<domain::StaffedPeriod> for StaffedPeriod {
    fn from(period: domain::StaffedPeriod) -> StaffedPeriod {
        StaffedPeriod {
            days: each(period.days),
            from: period.from,
            to: period.to,
        }
    }
}

impl From<StaffedPeriod> for domain::StaffedPeriod {
    fn from(period: StaffedPeriod) -> domain::StaffedPeriod {
        domain::StaffedPeriod {
            days: each(period.days),
            from: period.from,
            to: period.to,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSite {
    #[schema(value_type = Name)]
    pub name: String,
    #[serde(default)]
    #[schema(value_type = DescriptionText)]
    pub description: String,
    /// The site's own time zone if it differs from the organization's.
    #[schema(value_type = Option<TimeZoneName>)]
    pub time_zone: Option<String>,
    /// When someone is there to clear plates; absent or empty: always.
    #[serde(default)]
    #[schema(max_items = 28)]
    pub staffed_hours: Vec<StaffedPeriod>,
    /// How long after a staffed period a job may still end, in minutes (0 to 720).
    #[serde(default)]
    #[schema(maximum = 720)]
    pub staffed_grace_minutes: u32,
}

impl From<CreateSite> for app::CreateSite {
    fn from(create_site: CreateSite) -> app::CreateSite {
        let CreateSite {
            name,
            description,
            time_zone,
            staffed_hours,
            staffed_grace_minutes,
        } = create_site;
        app::CreateSite {
            name,
            description,
            time_zone,
            staffed_hours: each(staffed_hours),
            staffed_grace_minutes,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateSite {
    #[schema(value_type = Option<Name>)]
    pub name: Option<String>,
    #[schema(value_type = Option<DescriptionText>)]
    pub description: Option<String>,
    /// `null` clears the site's own time zone.
    #[serde(default, deserialize_with = "super::double_option")]
    #[schema(value_type = Option<TimeZoneName>)]
    pub time_zone: Option<Option<String>>,
    /// Replaces the staffed hours; empty: always staffed.
    #[schema(max_items = 28)]
    pub staffed_hours: Option<Vec<StaffedPeriod>>,
    #[schema(maximum = 720)]
    pub staffed_grace_minutes: Option<u32>,
}

impl From<UpdateSite> for app::UpdateSite {
    fn from(update_site: UpdateSite) -> app::UpdateSite {
        let UpdateSite {
            name,
            description,
            time_zone,
            staffed_hours,
            staffed_grace_minutes,
        } = update_site;
        app::UpdateSite {
            name,
            description,
            time_zone,
            staffed_hours: staffed_hours.map(each),
            staffed_grace_minutes,
        }
    }
}

/// A user's membership in an organization.
#[derive(Debug, Serialize, ToSchema)]
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

impl From<domain::Member> for Member {
    fn from(member: domain::Member) -> Member {
        let domain::Member {
            id,
            user_id,
            email,
            name,
            rank_id,
            rank_name,
            site_id,
            active,
            created_at,
            deactivated_at,
        } = member;
        Member {
            id: id.into(),
            user_id: user_id.into(),
            email,
            name,
            rank_id: rank_id.into(),
            rank_name,
            site_id: site_id.map(Into::into),
            active,
            created_at: created_at.into(),
            deactivated_at: deactivated_at.map(Into::into),
        }
    }
}

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

impl From<AddMember> for app::AddMember {
    fn from(add_member: AddMember) -> app::AddMember {
        let AddMember {
            email,
            rank_id,
            site_id,
        } = add_member;
        app::AddMember {
            email,
            rank_id: rank_id.into(),
            site_id: site_id.map(Into::into),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMember {
    pub rank_id: Option<RankId>,
    /// The member's home site; `null` clears it.
    #[serde(default, deserialize_with = "super::double_option")]
    #[schema(value_type = Option<SiteId>)]
    pub site_id: Option<Option<SiteId>>,
}

impl From<UpdateMember> for app::UpdateMember {
    fn from(update_member: UpdateMember) -> app::UpdateMember {
        let UpdateMember { rank_id, site_id } = update_member;
        app::UpdateMember {
            rank_id: rank_id.map(Into::into),
            site_id: site_id.map(|v| v.map(Into::into)),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
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

impl From<domain::InvitationStatus> for InvitationStatus {
    fn from(status: domain::InvitationStatus) -> InvitationStatus {
        match status {
            domain::InvitationStatus::Pending => InvitationStatus::Pending,
            domain::InvitationStatus::Accepted => InvitationStatus::Accepted,
            domain::InvitationStatus::Revoked => InvitationStatus::Revoked,
            domain::InvitationStatus::Declined => InvitationStatus::Declined,
            domain::InvitationStatus::Expired => InvitationStatus::Expired,
        }
    }
}

/// An invitation by link. The link's secret is shown once, at creation.
#[derive(Debug, Serialize, ToSchema)]
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

impl From<domain::Invitation> for Invitation {
    fn from(invitation: domain::Invitation) -> Invitation {
        let domain::Invitation {
            id,
            org_id,
            email,
            rank_id,
            rank_name,
            site_id,
            invited_by,
            created_at,
            expires_at,
            accepted_at,
            revoked_at,
            declined_at,
            status,
        } = invitation;
        Invitation {
            id: id.into(),
            org_id: org_id.into(),
            email,
            rank_id: rank_id.map(Into::into),
            rank_name,
            site_id: site_id.map(Into::into),
            invited_by: invited_by.into(),
            created_at: created_at.into(),
            expires_at: expires_at.into(),
            accepted_at: accepted_at.map(Into::into),
            revoked_at: revoked_at.map(Into::into),
            declined_at: declined_at.map(Into::into),
            status: status.into(),
        }
    }
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

impl From<CreateInvitation> for app::CreateInvitation {
    fn from(create_invitation: CreateInvitation) -> app::CreateInvitation {
        let CreateInvitation {
            email,
            rank_id,
            site_id,
            expires_in_hours,
        } = create_invitation;
        app::CreateInvitation {
            email,
            rank_id: rank_id.into(),
            site_id: site_id.map(Into::into),
            expires_in_hours,
        }
    }
}

/// A new invitation and its secret link token, shown only this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedInvitation {
    pub invitation: Invitation,
    /// The secret to put in the invitation link; it is not stored and cannot be shown again.
    pub token: String,
}

impl From<app::CreatedInvitation> for CreatedInvitation {
    fn from(created_invitation: app::CreatedInvitation) -> CreatedInvitation {
        let app::CreatedInvitation { invitation, token } = created_invitation;
        CreatedInvitation {
            invitation: invitation.into(),
            token,
        }
    }
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

impl From<app::InvitationPreview> for InvitationPreview {
    fn from(invitation_preview: app::InvitationPreview) -> InvitationPreview {
        let app::InvitationPreview {
            org_name,
            email,
            rank_name,
            expires_at,
            status,
        } = invitation_preview;
        InvitationPreview {
            org_name,
            email,
            rank_name,
            expires_at: expires_at.into(),
            status: status.into(),
        }
    }
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

impl From<app::PendingInvitation> for PendingInvitation {
    fn from(pending_invitation: app::PendingInvitation) -> PendingInvitation {
        let app::PendingInvitation {
            id,
            org_id,
            org_name,
            rank_name,
            expires_at,
        } = pending_invitation;
        PendingInvitation {
            id: id.into(),
            org_id: org_id.into(),
            org_name,
            rank_name,
            expires_at: expires_at.into(),
        }
    }
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

impl From<AcceptInvitation> for app::AcceptInvitation {
    fn from(accept_invitation: AcceptInvitation) -> app::AcceptInvitation {
        let AcceptInvitation { name, password } = accept_invitation;
        app::AcceptInvitation { name, password }
    }
}

/// A set of members with moderators.
#[derive(Debug, Serialize, ToSchema)]
pub struct Workgroup {
    pub id: WorkgroupId,
    pub name: String,
    pub description: String,
    pub member_count: i64,
    pub created_at: Timestamp,
}

impl From<domain::Workgroup> for Workgroup {
    fn from(workgroup: domain::Workgroup) -> Workgroup {
        let domain::Workgroup {
            id,
            name,
            description,
            member_count,
            created_at,
        } = workgroup;
        Workgroup {
            id: id.into(),
            name,
            description,
            member_count,
            created_at: created_at.into(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WorkgroupMember {
    pub member_id: MemberId,
    pub name: String,
    pub email: String,
    pub is_moderator: bool,
}

impl From<domain::WorkgroupMember> for WorkgroupMember {
    fn from(workgroup_member: domain::WorkgroupMember) -> WorkgroupMember {
        let domain::WorkgroupMember {
            member_id,
            name,
            email,
            is_moderator,
        } = workgroup_member;
        WorkgroupMember {
            member_id: member_id.into(),
            name,
            email,
            is_moderator,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WorkgroupDetail {
    #[serde(flatten)]
    pub workgroup: Workgroup,
    pub members: Vec<WorkgroupMember>,
}

impl From<app::WorkgroupDetail> for WorkgroupDetail {
    fn from(workgroup_detail: app::WorkgroupDetail) -> WorkgroupDetail {
        let app::WorkgroupDetail { workgroup, members } = workgroup_detail;
        WorkgroupDetail {
            workgroup: workgroup.into(),
            members: each(members),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWorkgroup {
    #[schema(value_type = Name)]
    pub name: String,
    #[serde(default)]
    #[schema(value_type = DescriptionText)]
    pub description: String,
}

impl From<CreateWorkgroup> for app::CreateWorkgroup {
    fn from(create_workgroup: CreateWorkgroup) -> app::CreateWorkgroup {
        let CreateWorkgroup { name, description } = create_workgroup;
        app::CreateWorkgroup { name, description }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateWorkgroup {
    #[schema(value_type = Option<Name>)]
    pub name: Option<String>,
    #[schema(value_type = Option<DescriptionText>)]
    pub description: Option<String>,
}

impl From<UpdateWorkgroup> for app::UpdateWorkgroup {
    fn from(update_workgroup: UpdateWorkgroup) -> app::UpdateWorkgroup {
        let UpdateWorkgroup { name, description } = update_workgroup;
        app::UpdateWorkgroup { name, description }
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetWorkgroupMember {
    /// Whether the member moderates the workgroup. Only workgroup managers may set it.
    #[serde(default)]
    pub moderator: bool,
}

impl From<SetWorkgroupMember> for app::SetWorkgroupMember {
    fn from(set_workgroup_member: SetWorkgroupMember) -> app::SetWorkgroupMember {
        let SetWorkgroupMember { moderator } = set_workgroup_member;
        app::SetWorkgroupMember { moderator }
    }
}
