//! The facts authorization decides on: an organization's ranks, members, printers, access
//! grants and settings, as the store loads them.

use crate::ids::{
    MemberId, PrinterGroupId, PrinterId, PrinterModelId, RankId, SiteId, WorkgroupId,
};
use crate::{AccessLevel, PermissionSet};

/// A named bundle of permissions with a place in the organization's seniority order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rank {
    pub id: RankId,
    pub name: String,
    /// Lower is more senior. Owners stand above every position.
    pub position: i32,
    pub is_owner: bool,
    pub permissions: PermissionSet,
    /// The permissions members of this rank may be individually allowed or denied.
    pub tri_state: PermissionSet,
    /// Printers the rank's own access grants apply to.
    pub scope: PrinterScope,
    /// What members see of printers outside the scope.
    pub out_of_scope: OutOfScope,
    /// Whose membership a member of this rank may manage (with `members.manage`).
    pub member_scope: MemberScope,
}

/// A set of printers, by any mix of sites, printer groups, printer models and printers.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PrinterScope {
    /// Every printer of the organization.
    pub all: bool,
    pub sites: Vec<SiteId>,
    pub groups: Vec<PrinterGroupId>,
    pub models: Vec<PrinterModelId>,
    pub printers: Vec<PrinterId>,
}

impl PrinterScope {
    pub fn all() -> PrinterScope {
        PrinterScope {
            all: true,
            ..PrinterScope::default()
        }
    }

    pub fn covers(&self, printer: &Printer) -> bool {
        self.all
            || self.printers.contains(&printer.id)
            || self.sites.contains(&printer.site)
            || printer.model.is_some_and(|m| self.models.contains(&m))
            || printer.groups.iter().any(|g| self.groups.contains(g))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutOfScope {
    /// Printers outside the scope do not exist for the rank's members (404).
    #[default]
    Hidden,
    /// Printers outside the scope are visible but locked: view only.
    VisibleLocked,
}

impl OutOfScope {
    pub fn key(self) -> &'static str {
        match self {
            OutOfScope::Hidden => "hidden",
            OutOfScope::VisibleLocked => "visible_locked",
        }
    }
    pub fn parse(key: &str) -> Option<OutOfScope> {
        match key {
            "hidden" => Some(OutOfScope::Hidden),
            "visible_locked" => Some(OutOfScope::VisibleLocked),
            _ => None,
        }
    }
}

/// Whose membership a rank's members may manage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberScope {
    /// Any junior member.
    #[default]
    Everyone,
    /// Junior members of the workgroups they moderate (3DPrinterOS Workgroup Moderator).
    ModeratedWorkgroups,
    /// Junior members whose home site is in the rank's printer scope (Print&Go Factory manager).
    ScopedSites,
}

impl MemberScope {
    pub fn key(self) -> &'static str {
        match self {
            MemberScope::Everyone => "everyone",
            MemberScope::ModeratedWorkgroups => "moderated_workgroups",
            MemberScope::ScopedSites => "scoped_sites",
        }
    }
    pub fn parse(key: &str) -> Option<MemberScope> {
        match key {
            "everyone" => Some(MemberScope::Everyone),
            "moderated_workgroups" => Some(MemberScope::ModeratedWorkgroups),
            "scoped_sites" => Some(MemberScope::ScopedSites),
            _ => None,
        }
    }
}

/// A member of the organization as authorization sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub id: MemberId,
    pub name: String,
    pub rank: RankId,
    /// Tri-state overrides: allowed and denied permissions (only those tri-state in the rank
    /// take effect).
    pub allow: PermissionSet,
    pub deny: PermissionSet,
    pub workgroups: Vec<WorkgroupId>,
    pub moderates: Vec<WorkgroupId>,
    pub site: Option<SiteId>,
    pub active: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Printer {
    pub id: PrinterId,
    pub site: SiteId,
    pub model: Option<PrinterModelId>,
    pub groups: Vec<PrinterGroupId>,
}

/// Who a printer access grant is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Subject {
    Rank(RankId),
    Workgroup(WorkgroupId),
    Member(MemberId),
}

/// Which printers a grant covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    AllPrinters,
    Site(SiteId),
    Group(PrinterGroupId),
    Model(PrinterModelId),
    Printer(PrinterId),
}

impl Target {
    pub fn covers(self, printer: &Printer) -> bool {
        match self {
            Target::AllPrinters => true,
            Target::Site(site) => printer.site == site,
            Target::Group(group) => printer.groups.contains(&group),
            Target::Model(model) => printer.model == Some(model),
            Target::Printer(id) => printer.id == id,
        }
    }
}

/// Access to the printers of `target` at `level`, for `subject`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Grant {
    pub subject: Subject,
    pub target: Target,
    pub level: AccessLevel,
}

/// Who may confirm that a finished printer's build plate is clear.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BedClearAccess {
    /// Needs print access to the printer (3DPrinterOS "only with Can print access").
    #[default]
    PrintAccess,
    /// Any access to the printer will do (3DPrinterOS "with any type of access").
    AnyAccess,
}

impl BedClearAccess {
    pub fn key(self) -> &'static str {
        match self {
            BedClearAccess::PrintAccess => "print_access",
            BedClearAccess::AnyAccess => "any_access",
        }
    }
    pub fn parse(key: &str) -> Option<BedClearAccess> {
        match key {
            "print_access" => Some(BedClearAccess::PrintAccess),
            "any_access" => Some(BedClearAccess::AnyAccess),
            _ => None,
        }
    }
}

/// Organization settings that change decisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OrgSettings {
    pub bed_clear: BedClearAccess,
}

/// Everything authorization knows about one organization.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Org {
    pub ranks: Vec<Rank>,
    pub members: Vec<Member>,
    pub printers: Vec<Printer>,
    pub grants: Vec<Grant>,
    pub settings: OrgSettings,
}
