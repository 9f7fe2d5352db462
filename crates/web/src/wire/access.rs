//! Ranks, the permission catalog, printer access grants, overrides and explained decisions.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::each;
use super::ids::{
    GrantId, MemberId, PrinterGroupId, PrinterId, PrinterModelId, RankId, SiteId, Timestamp,
    WorkgroupId,
};
use super::values::{DescriptionText, Name, PermissionKey, PresetKey};
use utoipa::IntoParams;

/// Access to a printer, in increasing order: see it, queue jobs on it, print on it (start,
/// pause, resume), manage it (settings, maintenance, raw G-code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccessLevel {
    None,
    View,
    Queue,
    Print,
    Manage,
}

impl From<authz::AccessLevel> for AccessLevel {
    fn from(level: authz::AccessLevel) -> AccessLevel {
        match level {
            authz::AccessLevel::None => AccessLevel::None,
            authz::AccessLevel::View => AccessLevel::View,
            authz::AccessLevel::Queue => AccessLevel::Queue,
            authz::AccessLevel::Print => AccessLevel::Print,
            authz::AccessLevel::Manage => AccessLevel::Manage,
        }
    }
}

impl From<AccessLevel> for authz::AccessLevel {
    fn from(level: AccessLevel) -> authz::AccessLevel {
        match level {
            AccessLevel::None => authz::AccessLevel::None,
            AccessLevel::View => authz::AccessLevel::View,
            AccessLevel::Queue => authz::AccessLevel::Queue,
            AccessLevel::Print => authz::AccessLevel::Print,
            AccessLevel::Manage => authz::AccessLevel::Manage,
        }
    }
}

/// A set of printers, by any mix of sites, printer groups, printer models and printers.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct PrinterScope {
    /// Every printer of the organization.
    pub all: bool,
    pub sites: Vec<SiteId>,
    pub groups: Vec<PrinterGroupId>,
    pub models: Vec<PrinterModelId>,
    pub printers: Vec<PrinterId>,
}

impl From<authz::PrinterScope> for PrinterScope {
    fn from(scope: authz::PrinterScope) -> PrinterScope {
        let authz::PrinterScope {
            all,
            sites,
            groups,
            models,
            printers,
        } = scope;
        PrinterScope {
            all,
            sites: each(sites),
            groups: each(groups),
            models: each(models),
            printers: each(printers),
        }
    }
}

impl From<PrinterScope> for authz::PrinterScope {
    fn from(scope: PrinterScope) -> authz::PrinterScope {
        let PrinterScope {
            all,
            sites,
            groups,
            models,
            printers,
        } = scope;
        authz::PrinterScope {
            all,
            sites: each(sites),
            groups: each(groups),
            models: each(models),
            printers: each(printers),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OutOfScope {
    /// Printers outside the scope do not exist for the rank's members (404).
    Hidden,
    /// Printers outside the scope are visible but locked: view only.
    VisibleLocked,
}

impl From<authz::OutOfScope> for OutOfScope {
    fn from(scope: authz::OutOfScope) -> OutOfScope {
        match scope {
            authz::OutOfScope::Hidden => OutOfScope::Hidden,
            authz::OutOfScope::VisibleLocked => OutOfScope::VisibleLocked,
        }
    }
}

impl From<OutOfScope> for authz::OutOfScope {
    fn from(scope: OutOfScope) -> authz::OutOfScope {
        match scope {
            OutOfScope::Hidden => authz::OutOfScope::Hidden,
            OutOfScope::VisibleLocked => authz::OutOfScope::VisibleLocked,
        }
    }
}

/// Whose membership a rank's members may manage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MemberScope {
    /// Any junior member.
    Everyone,
    /// Junior members of the workgroups they moderate (3DPrinterOS Workgroup Moderator).
    ModeratedWorkgroups,
    /// Junior members whose home site is in the rank's printer scope (Print&Go Factory manager).
    ScopedSites,
}

impl From<authz::MemberScope> for MemberScope {
    fn from(scope: authz::MemberScope) -> MemberScope {
        match scope {
            authz::MemberScope::Everyone => MemberScope::Everyone,
            authz::MemberScope::ModeratedWorkgroups => MemberScope::ModeratedWorkgroups,
            authz::MemberScope::ScopedSites => MemberScope::ScopedSites,
        }
    }
}

impl From<MemberScope> for authz::MemberScope {
    fn from(scope: MemberScope) -> authz::MemberScope {
        match scope {
            MemberScope::Everyone => authz::MemberScope::Everyone,
            MemberScope::ModeratedWorkgroups => authz::MemberScope::ModeratedWorkgroups,
            MemberScope::ScopedSites => authz::MemberScope::ScopedSites,
        }
    }
}

/// A named bundle of permissions with a seniority position (lower is more senior), a printer
/// scope, and the permissions members may be individually allowed or denied (tri-state).
#[derive(Debug, Serialize, ToSchema)]
pub struct Rank {
    pub id: RankId,
    pub name: String,
    pub description: String,
    pub position: i32,
    pub is_owner: bool,
    pub permissions: Vec<&'static str>,
    pub tri_state: Vec<&'static str>,
    pub scope: PrinterScope,
    pub out_of_scope: OutOfScope,
    pub member_scope: MemberScope,
}

impl From<domain::Rank> for Rank {
    fn from(rank: domain::Rank) -> Rank {
        let domain::Rank {
            id,
            name,
            description,
            position,
            is_owner,
            permissions,
            tri_state,
            scope,
            out_of_scope,
            member_scope,
        } = rank;
        Rank {
            id: id.into(),
            name,
            description,
            position,
            is_owner,
            permissions: permissions.keys(),
            tri_state: tri_state.keys(),
            scope: scope.into(),
            out_of_scope: out_of_scope.into(),
            member_scope: member_scope.into(),
        }
    }
}

/// The fields of a rank to change (absent or null fields stay as they are).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RankChange {
    #[schema(value_type = Option<Name>)]
    pub name: Option<String>,
    #[schema(value_type = Option<DescriptionText>)]
    pub description: Option<String>,
    /// Seniority position: lower is more senior; must stay below your own rank.
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub position: Option<i32>,
    /// Permission keys the rank bundles.
    #[schema(value_type = Option<Vec<PermissionKey>>)]
    pub permissions: Option<Vec<String>>,
    /// Permission keys members of the rank may be individually allowed or denied.
    #[schema(value_type = Option<Vec<PermissionKey>>)]
    pub tri_state: Option<Vec<String>>,
    /// Printers the rank's access grants apply to; every site, group, model and printer named
    /// must exist in the organization (404 otherwise).
    pub scope: Option<PrinterScope>,
    pub out_of_scope: Option<OutOfScope>,
    pub member_scope: Option<MemberScope>,
}

impl From<RankChange> for app::RankChange {
    fn from(rank_change: RankChange) -> app::RankChange {
        let RankChange {
            name,
            description,
            position,
            permissions,
            tri_state,
            scope,
            out_of_scope,
            member_scope,
        } = rank_change;
        app::RankChange {
            name,
            description,
            position,
            permissions,
            tri_state,
            scope: scope.map(Into::into),
            out_of_scope: out_of_scope.map(Into::into),
            member_scope: member_scope.map(Into::into),
        }
    }
}

/// A new rank: a name, and the fields of [`RankChange`] that differ from a blank rank (no
/// permissions, all printers in scope, out-of-scope printers hidden, manages everyone junior).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRank {
    #[schema(value_type = Name)]
    pub name: String,
    #[schema(value_type = Option<DescriptionText>)]
    pub description: Option<String>,
    /// Seniority position: lower is more senior; must stay below your own rank. Default: below
    /// every existing rank.
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub position: Option<i32>,
    /// Permission keys the rank bundles.
    #[schema(value_type = Option<Vec<PermissionKey>>)]
    pub permissions: Option<Vec<String>>,
    /// Permission keys members of the rank may be individually allowed or denied.
    #[schema(value_type = Option<Vec<PermissionKey>>)]
    pub tri_state: Option<Vec<String>>,
    /// Printers the rank's access grants apply to; every site, group, model and printer named
    /// must exist in the organization (404 otherwise).
    pub scope: Option<PrinterScope>,
    pub out_of_scope: Option<OutOfScope>,
    pub member_scope: Option<MemberScope>,
}

impl From<NewRank> for app::NewRank {
    fn from(new_rank: NewRank) -> app::NewRank {
        let NewRank {
            name,
            description,
            position,
            permissions,
            tri_state,
            scope,
            out_of_scope,
            member_scope,
        } = new_rank;
        app::NewRank {
            name,
            description,
            position,
            permissions,
            tri_state,
            scope: scope.map(Into::into),
            out_of_scope: out_of_scope.map(Into::into),
            member_scope: member_scope.map(Into::into),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloneRank {
    #[schema(value_type = Name)]
    pub name: String,
    /// Default: below every existing rank.
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub position: Option<i32>,
}

impl From<CloneRank> for app::CloneRank {
    fn from(clone_rank: CloneRank) -> app::CloneRank {
        let CloneRank { name, position } = clone_rank;
        app::CloneRank { name, position }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReorderRanks {
    /// The ranks junior to yours (all ranks for owners), each once, most senior first. A list
    /// that is not exactly those ranks as they are now is refused with 409.
    #[schema(schema_with = rank_ids_schema)]
    pub rank_ids: Vec<RankId>,
}

impl From<ReorderRanks> for app::ReorderRanks {
    fn from(reorder_ranks: ReorderRanks) -> app::ReorderRanks {
        let ReorderRanks { rank_ids } = reorder_ranks;
        app::ReorderRanks {
            rank_ids: each(rank_ids),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportPreset {
    #[schema(value_type = PresetKey)]
    pub preset: String,
}

impl From<ImportPreset> for app::ImportPreset {
    fn from(import_preset: ImportPreset) -> app::ImportPreset {
        let ImportPreset { preset } = import_preset;
        app::ImportPreset { preset }
    }
}

/// A change of access to one printer.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccessChange {
    pub printer_id: PrinterId,
    pub from: AccessLevel,
    pub to: AccessLevel,
}

impl From<app::AccessChange> for AccessChange {
    fn from(access_change: app::AccessChange) -> AccessChange {
        let app::AccessChange {
            printer_id,
            from,
            to,
        } = access_change;
        AccessChange {
            printer_id: printer_id.into(),
            from: from.into(),
            to: to.into(),
        }
    }
}

/// What one member would gain and lose.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberImpact {
    pub member_id: MemberId,
    pub name: String,
    pub gained: Vec<&'static str>,
    pub lost: Vec<&'static str>,
    pub access_changes: Vec<AccessChange>,
}

impl From<app::MemberImpact> for MemberImpact {
    fn from(member_impact: app::MemberImpact) -> MemberImpact {
        let app::MemberImpact {
            member_id,
            name,
            gained,
            lost,
            access_changes,
        } = member_impact;
        MemberImpact {
            member_id: member_id.into(),
            name,
            gained,
            lost,
            access_changes: each(access_changes),
        }
    }
}

/// The what-if answer: who would gain or lose which rights, and whether you may save it.
#[derive(Debug, Serialize, ToSchema)]
pub struct RankPreview {
    pub rank: Rank,
    pub members: Vec<MemberImpact>,
    /// Why you could not save this change, if you could not.
    pub refused: Option<String>,
}

impl From<app::RankPreview> for RankPreview {
    fn from(rank_preview: app::RankPreview) -> RankPreview {
        let app::RankPreview {
            rank,
            members,
            refused,
        } = rank_preview;
        RankPreview {
            rank: rank.into(),
            members: each(members),
            refused,
        }
    }
}

/// One permission as the permission matrix shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CatalogPermission {
    pub key: &'static str,
    pub title: &'static str,
    /// The tooltip: what exactly it controls.
    pub description: &'static str,
    pub dangerous: bool,
    /// The access a member also needs on the printer: none, view, queue, print or manage.
    pub printer_access: AccessLevel,
    /// The feature that will enforce it, when that feature is not built yet.
    pub planned: Option<&'static str>,
}

impl From<app::CatalogPermission> for CatalogPermission {
    fn from(catalog_permission: app::CatalogPermission) -> CatalogPermission {
        let app::CatalogPermission {
            key,
            title,
            description,
            dangerous,
            printer_access,
            planned,
        } = catalog_permission;
        CatalogPermission {
            key,
            title,
            description,
            dangerous,
            printer_access: printer_access.into(),
            planned,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CatalogDomain {
    pub key: &'static str,
    pub title: &'static str,
    pub permissions: Vec<CatalogPermission>,
}

impl From<app::CatalogDomain> for CatalogDomain {
    fn from(catalog_domain: app::CatalogDomain) -> CatalogDomain {
        let app::CatalogDomain {
            key,
            title,
            permissions,
        } = catalog_domain;
        CatalogDomain {
            key,
            title,
            permissions: each(permissions),
        }
    }
}

/// Who a printer access grant is for.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum GrantSubject {
    Rank(RankId),
    Workgroup(WorkgroupId),
    Member(MemberId),
}

/// Which printers a grant covers.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum GrantTarget {
    AllPrinters,
    Site(SiteId),
    Group(PrinterGroupId),
    Model(PrinterModelId),
    Printer(PrinterId),
}

impl From<domain::GrantSubject> for GrantSubject {
    fn from(subject: domain::GrantSubject) -> GrantSubject {
        match subject {
            domain::GrantSubject::Rank(id) => GrantSubject::Rank(id.into()),
            domain::GrantSubject::Workgroup(id) => GrantSubject::Workgroup(id.into()),
            domain::GrantSubject::Member(id) => GrantSubject::Member(id.into()),
        }
    }
}

impl From<GrantSubject> for domain::GrantSubject {
    fn from(subject: GrantSubject) -> domain::GrantSubject {
        match subject {
            GrantSubject::Rank(id) => domain::GrantSubject::Rank(id.into()),
            GrantSubject::Workgroup(id) => domain::GrantSubject::Workgroup(id.into()),
            GrantSubject::Member(id) => domain::GrantSubject::Member(id.into()),
        }
    }
}

impl From<domain::GrantTarget> for GrantTarget {
    fn from(target: domain::GrantTarget) -> GrantTarget {
        match target {
            domain::GrantTarget::AllPrinters => GrantTarget::AllPrinters,
            domain::GrantTarget::Site(id) => GrantTarget::Site(id.into()),
            domain::GrantTarget::Group(id) => GrantTarget::Group(id.into()),
            domain::GrantTarget::Model(id) => GrantTarget::Model(id.into()),
            domain::GrantTarget::Printer(id) => GrantTarget::Printer(id.into()),
        }
    }
}

impl From<GrantTarget> for domain::GrantTarget {
    fn from(target: GrantTarget) -> domain::GrantTarget {
        match target {
            GrantTarget::AllPrinters => domain::GrantTarget::AllPrinters,
            GrantTarget::Site(id) => domain::GrantTarget::Site(id.into()),
            GrantTarget::Group(id) => domain::GrantTarget::Group(id.into()),
            GrantTarget::Model(id) => domain::GrantTarget::Model(id.into()),
            GrantTarget::Printer(id) => domain::GrantTarget::Printer(id.into()),
        }
    }
}

/// Access to some printers at a level, for a rank, a workgroup or a member.
#[derive(Debug, Serialize, ToSchema)]
pub struct PrinterGrant {
    pub id: GrantId,
    pub subject: GrantSubject,
    pub target: GrantTarget,
    pub level: AccessLevel,
    pub created_at: Timestamp,
}

impl From<domain::PrinterGrant> for PrinterGrant {
    fn from(printer_grant: domain::PrinterGrant) -> PrinterGrant {
        let domain::PrinterGrant {
            id,
            subject,
            target,
            level,
            created_at,
        } = printer_grant;
        PrinterGrant {
            id: id.into(),
            subject: subject.into(),
            target: target.into(),
            level: level.into(),
            created_at: created_at.into(),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateGrant {
    pub subject: GrantSubject,
    pub target: GrantTarget,
    #[schema(schema_with = grant_level_schema)]
    pub level: AccessLevel,
}

impl From<CreateGrant> for app::CreateGrant {
    fn from(create_grant: CreateGrant) -> app::CreateGrant {
        let CreateGrant {
            subject,
            target,
            level,
        } = create_grant;
        app::CreateGrant {
            subject: subject.into(),
            target: target.into(),
            level: level.into(),
        }
    }
}

/// The access levels a grant can give: all but `none`.
fn grant_level_schema() -> utoipa::openapi::schema::ObjectBuilder {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(
            authz::AccessLevel::ALL
                .iter()
                .filter(|l| **l > authz::AccessLevel::None)
                .map(|l| l.key()),
        ))
        .description(Some(
            "Access to the printers: see them, queue jobs, print, manage.",
        ))
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OverrideEffect {
    Allow,
    Deny,
}

impl From<OverrideEffect> for app::OverrideEffect {
    fn from(effect: OverrideEffect) -> app::OverrideEffect {
        match effect {
            OverrideEffect::Allow => app::OverrideEffect::Allow,
            OverrideEffect::Deny => app::OverrideEffect::Deny,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetOverride {
    pub effect: OverrideEffect,
}

impl From<SetOverride> for app::SetOverride {
    fn from(set_override: SetOverride) -> app::SetOverride {
        let SetOverride { effect } = set_override;
        app::SetOverride {
            effect: effect.into(),
        }
    }
}

/// One permission of a member, with where it comes from.
#[derive(Debug, Serialize, ToSchema)]
pub struct HeldPermission {
    pub key: &'static str,
    /// `owner`, `rank` or `allow_override`.
    pub source: &'static str,
}

impl From<app::HeldPermission> for HeldPermission {
    fn from(held_permission: app::HeldPermission) -> HeldPermission {
        let app::HeldPermission { key, source } = held_permission;
        HeldPermission { key, source }
    }
}

/// A member's access to one printer.
#[derive(Debug, Serialize, ToSchema)]
pub struct PrinterAccess {
    pub printer_id: PrinterId,
    pub level: AccessLevel,
}

impl From<app::PrinterAccess> for PrinterAccess {
    fn from(printer_access: app::PrinterAccess) -> PrinterAccess {
        let app::PrinterAccess { printer_id, level } = printer_access;
        PrinterAccess {
            printer_id: printer_id.into(),
            level: level.into(),
        }
    }
}

/// A member's effective rights.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberRights {
    pub member_id: MemberId,
    pub rank: String,
    pub permissions: Vec<HeldPermission>,
    /// Tri-state permissions individually denied.
    pub denied: Vec<&'static str>,
    /// Printers the member can see, with their access level.
    pub printers: Vec<PrinterAccess>,
}

impl From<app::MemberRights> for MemberRights {
    fn from(member_rights: app::MemberRights) -> MemberRights {
        let app::MemberRights {
            member_id,
            rank,
            permissions,
            denied,
            printers,
        } = member_rights;
        MemberRights {
            member_id: member_id.into(),
            rank,
            permissions: each(permissions),
            denied,
            printers: each(printers),
        }
    }
}

/// An explained decision.
#[derive(Debug, Serialize, ToSchema)]
pub struct Explanation {
    pub allowed: bool,
    pub member_id: MemberId,
    pub permission: &'static str,
    pub printer_id: Option<PrinterId>,
    /// `owner`, `rank`, `allow_override`, `denied_by_override`, `not_in_rank`,
    /// `printer_hidden` or `insufficient_access`.
    pub reason: &'static str,
    /// The whole story in one sentence.
    pub message: String,
    pub access: Option<AccessLevel>,
    pub needed_access: Option<AccessLevel>,
    /// Grants that give the member their access to the printer.
    pub access_from: Vec<String>,
    /// Members who could grant what is missing, most senior first.
    pub ask: Vec<String>,
}

impl From<app::Explanation> for Explanation {
    fn from(explanation: app::Explanation) -> Explanation {
        let app::Explanation {
            allowed,
            member_id,
            permission,
            printer_id,
            reason,
            message,
            access,
            needed_access,
            access_from,
            ask,
        } = explanation;
        Explanation {
            allowed,
            member_id: member_id.into(),
            permission,
            printer_id: printer_id.map(Into::into),
            reason,
            message,
            access: access.map(Into::into),
            needed_access: needed_access.map(Into::into),
            access_from,
            ask,
        }
    }
}

fn rank_ids_schema() -> utoipa::openapi::schema::ArrayBuilder {
    crate::wire::schema::array(crate::wire::schema::reference::<RankId>(), None, None)
        .unique_items(true)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ExplainQuery {
    /// The member the decision is for.
    pub member_id: MemberId,
    /// The permission key, e.g. `printer_control.start`.
    #[param(value_type = PermissionKey)]
    pub permission: String,
    /// The printer, for printer-scoped permissions.
    pub printer_id: Option<PrinterId>,
}
