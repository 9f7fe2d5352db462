//! Who may change authorization itself. The rules that keep anyone from raising their own
//! rights: an actor acts only on ranks and members strictly junior to their own rank (owners
//! excepted), hands out only permissions they hold, and grants only printer access they have.

use crate::ids::{MemberId, PrinterId, RankId, SiteId, WorkgroupId};
use crate::model::{Grant, MemberScope, OutOfScope, Rank, Subject};
use crate::policy::{MemberIx, Policy, PrinterIx};
use crate::presets::RankTemplate;
use crate::{AccessLevel, Permission, PermissionSet, Seniority};

/// Who performs an administrative action: a member, and the permissions the credential they
/// act through is limited to (an API token's scope). A delegated credential never exceeds its
/// source: with a scope, the actor holds and may hand out only what is in it, owners included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Acting {
    pub member: MemberId,
    pub scope: Option<PermissionSet>,
}

impl From<MemberId> for Acting {
    fn from(member: MemberId) -> Acting {
        Acting {
            member,
            scope: None,
        }
    }
}

/// The acting member resolved in a policy: their place, rank and the permissions they hold
/// through this credential.
struct Actor<'p> {
    ix: MemberIx,
    rank: &'p Rank,
    held: PermissionSet,
    /// Unlimited: an owner acting without a narrowed credential.
    unlimited: bool,
}

/// Why an administrative action is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("you need the permission {:?} ({})", .0.key(), .0.title())]
    MissingPermission(Permission),
    #[error("you can only {0} strictly junior to your own rank")]
    NotJunior(&'static str),
    #[error("you cannot change your own membership, rank or access; ask someone senior")]
    SelfChange,
    #[error("you cannot grant permissions you do not hold: {}", .0.keys().join(", "))]
    CannotGrant(PermissionSet),
    #[error("you cannot grant {need} access to printer {printer}: your own access there is {have}")]
    CannotGrantAccess {
        printer: PrinterId,
        need: AccessLevel,
        have: AccessLevel,
    },
    #[error("your rank lets you manage only members of {0}")]
    OutsideMemberScope(&'static str),
    #[error(
        "{0:?} is not a tri-state permission of this member's rank, so it cannot be overridden"
    )]
    NotTriState(&'static str),
    #[error("only owners can create or edit owner ranks")]
    OwnerRank,
    #[error("the rank still has {0} member(s); move them to another rank first")]
    RankInUse(usize),
    #[error("no such member in this organization")]
    UnknownMember,
    #[error("no such rank in this organization")]
    UnknownRank,
}

impl Policy {
    fn actor(&self, acting: impl Into<Acting>) -> Result<Actor<'_>, Refusal> {
        let acting = acting.into();
        let ix = self
            .member_ix(acting.member)
            .filter(|ix| self.member(*ix).active)
            .ok_or(Refusal::UnknownMember)?;
        let rank = self.rank_of(ix).ok_or(Refusal::UnknownRank)?;
        let rights = self.rights(ix).permissions;
        Ok(Actor {
            ix,
            rank,
            held: acting
                .scope
                .map_or(rights, |scope| rights.intersection(scope)),
            unlimited: rank.is_owner && acting.scope.is_none(),
        })
    }

    fn require(&self, actor: &Actor<'_>, permission: Permission) -> Result<(), Refusal> {
        if actor.held.contains(permission) {
            Ok(())
        } else {
            Err(Refusal::MissingPermission(permission))
        }
    }

    fn outranks(&self, actor: &Rank, target: &Rank, what: &'static str) -> Result<(), Refusal> {
        if actor.seniority().outranks(target.seniority()) {
            Ok(())
        } else {
            Err(Refusal::NotJunior(what))
        }
    }

    /// Refuses permissions in `set` the actor does not hold (owners hold all, unless acting
    /// through a narrowed credential).
    fn grantable(&self, actor: &Actor<'_>, set: PermissionSet) -> Result<(), Refusal> {
        if actor.unlimited {
            return Ok(());
        }
        let missing = set.difference(actor.held);
        if missing.is_empty() {
            Ok(())
        } else {
            Err(Refusal::CannotGrant(missing))
        }
    }

    /// The actor's access must reach `level` on every printer `covered` says yes to.
    fn access_grantable(
        &self,
        actor: &Actor<'_>,
        level_on: impl Fn(&crate::model::Printer) -> AccessLevel,
    ) -> Result<(), Refusal> {
        if actor.rank.is_owner {
            return Ok(());
        }
        let rights = self.rights(actor.ix);
        for (i, printer) in self.org().printers.iter().enumerate() {
            let need = level_on(printer);
            let have = rights.level(PrinterIx::at(i));
            if need > have {
                return Err(Refusal::CannotGrantAccess {
                    printer: printer.id,
                    need,
                    have,
                });
            }
        }
        Ok(())
    }

    /// Whether `actor` may manage `target`'s membership (rank, site, activity, overrides).
    pub fn may_manage_member(
        &self,
        actor: impl Into<Acting>,
        target: MemberId,
    ) -> Result<(), Refusal> {
        let actor = self.actor(actor)?;
        self.require(&actor, Permission::MembersManage)?;
        self.manageable(&actor, target)
    }

    /// Whether `actor` may use `permission` on `target`'s account (their allowances, their
    /// money): they hold it, and `target` is someone else, strictly junior and in their member
    /// scope, as for managing the membership.
    pub fn may_manage_member_with(
        &self,
        actor: impl Into<Acting>,
        permission: Permission,
        target: MemberId,
    ) -> Result<(), Refusal> {
        let actor = self.actor(actor)?;
        self.require(&actor, permission)?;
        self.manageable(&actor, target)
    }

    /// The target is someone else, strictly junior to the actor, and within the actor's
    /// member scope as things stand (before the change being checked).
    fn manageable(&self, actor: &Actor<'_>, target: MemberId) -> Result<(), Refusal> {
        if self.member(actor.ix).id == target {
            return Err(Refusal::SelfChange);
        }
        let target_ix = self.member_ix(target).ok_or(Refusal::UnknownMember)?;
        let target_member = self.member(target_ix);
        let target_rank = self.rank(target_member.rank).ok_or(Refusal::UnknownRank)?;
        self.outranks(actor.rank, target_rank, "manage members")?;
        if actor.rank.is_owner {
            return Ok(());
        }
        match actor.rank.member_scope {
            MemberScope::Everyone => Ok(()),
            MemberScope::ModeratedWorkgroups => {
                let moderates = &self.member(actor.ix).moderates;
                if target_member
                    .workgroups
                    .iter()
                    .any(|w| moderates.contains(w))
                {
                    Ok(())
                } else {
                    Err(Refusal::OutsideMemberScope("the workgroups you moderate"))
                }
            }
            MemberScope::ScopedSites => {
                if target_member
                    .site
                    .is_some_and(|s| actor.rank.covers_site(s))
                {
                    Ok(())
                } else {
                    Err(Refusal::OutsideMemberScope("the sites your rank covers"))
                }
            }
        }
    }

    /// Whether `actor` may move `target` to `site` (or clear it): the same as managing them,
    /// and a rank that manages only the sites it covers cannot move anyone out of them.
    pub fn may_move_member(
        &self,
        actor: impl Into<Acting>,
        target: MemberId,
        site: Option<SiteId>,
    ) -> Result<(), Refusal> {
        let actor = self.actor(actor)?;
        self.require(&actor, Permission::MembersManage)?;
        self.manageable(&actor, target)?;
        let site_scoped =
            !actor.rank.is_owner && actor.rank.member_scope == MemberScope::ScopedSites;
        if site_scoped && !site.is_some_and(|s| actor.rank.covers_site(s)) {
            return Err(Refusal::OutsideMemberScope("the sites your rank covers"));
        }
        Ok(())
    }

    /// Whether `actor` may give `rank` to `member` (an existing member whose rank changes or
    /// who is reactivated), or to someone new (`None`): the rank must be strictly junior, and
    /// the rights the member would have with it — its permissions with the member's own
    /// overrides applied — and its printer access must be within the actor's own.
    pub fn may_assign_rank(
        &self,
        actor: impl Into<Acting>,
        rank: RankId,
        member: Option<MemberId>,
    ) -> Result<(), Refusal> {
        let actor = self.actor(actor)?;
        let rank = self.rank(rank).ok_or(Refusal::UnknownRank)?;
        self.outranks(actor.rank, rank, "assign ranks")?;
        let mut granted = rank.permissions;
        if let Some(target) = member.and_then(|id| self.member_ix(id)) {
            let target = self.member(target);
            granted = granted
                .union(target.allow.intersection(rank.tri_state))
                .difference(target.deny.intersection(rank.tri_state));
        }
        self.grantable(&actor, granted)?;
        self.access_grantable(&actor, |p| self.rank_level(rank, p))
    }

    /// The access a rank's own grants (and out-of-scope visibility) give on a printer.
    fn rank_level(&self, rank: &Rank, printer: &crate::model::Printer) -> AccessLevel {
        let in_scope = rank.scope.covers(printer);
        let mut level = if !in_scope && rank.out_of_scope == OutOfScope::VisibleLocked {
            AccessLevel::View
        } else {
            AccessLevel::None
        };
        if in_scope {
            for grant in self
                .org()
                .grants
                .iter()
                .filter(|g| g.subject == Subject::Rank(rank.id))
            {
                if grant.target.covers(printer) && grant.level > level {
                    level = grant.level;
                }
            }
        }
        level
    }

    /// Whether `actor` may create (`before` = None), edit, clone into or reorder a rank so that
    /// it becomes `after`.
    pub fn may_write_rank(
        &self,
        actor: impl Into<Acting>,
        before: Option<&Rank>,
        after: &Rank,
    ) -> Result<(), Refusal> {
        let actor = self.actor(actor)?;
        self.require(&actor, Permission::RanksManage)?;
        if (after.is_owner || before.is_some_and(|b| b.is_owner)) && !actor.rank.is_owner {
            return Err(Refusal::OwnerRank);
        }
        if let Some(before) = before {
            self.outranks(actor.rank, before, "edit ranks")?;
        }
        self.outranks(actor.rank, after, "place ranks")?;
        self.grantable(&actor, after.permissions.union(after.tri_state))?;
        self.access_grantable(&actor, |p| self.rank_level(after, p))
    }

    /// Whether `actor` may put a printer where `placed` says (added, or moved to another site,
    /// model or groups): nobody adds or moves a printer to where they would not manage it.
    pub fn may_place_printer(
        &self,
        actor: impl Into<Acting>,
        placed: &crate::model::Printer,
    ) -> Result<(), Refusal> {
        let acting = actor.into();
        let actor = self.actor(acting)?;
        if actor.rank.is_owner {
            return Ok(());
        }
        let mut facts = self.org().clone();
        facts.printers.retain(|p| p.id != placed.id);
        facts.printers.push(placed.clone());
        let after = Policy::new(facts);
        let have = match (after.member_ix(acting.member), after.printer_ix(placed.id)) {
            (Some(m), Some(p)) => after.rights(m).level(p),
            _ => AccessLevel::None,
        };
        if have >= AccessLevel::Manage {
            Ok(())
        } else {
            Err(Refusal::CannotGrantAccess {
                printer: placed.id,
                need: AccessLevel::Manage,
                have,
            })
        }
    }

    /// Whether `actor` may import a preset's rank: written like any new rank placed below every
    /// other, and the access the preset grants it on every printer must be the actor's.
    pub fn may_import_rank(
        &self,
        actor: impl Into<Acting>,
        template: &RankTemplate,
    ) -> Result<(), Refusal> {
        let acting = actor.into();
        let model = Rank {
            id: RankId(0),
            name: template.name.to_string(),
            position: Seniority::MAX_POSITION,
            is_owner: template.is_owner,
            permissions: template.permissions,
            tri_state: template.tri_state,
            scope: template.scope.clone(),
            out_of_scope: template.out_of_scope,
            member_scope: template.member_scope,
        };
        self.may_write_rank(acting, None, &model)?;
        let actor = self.actor(acting)?;
        self.access_grantable(&actor, |_| template.access)
    }

    pub fn may_delete_rank(&self, actor: impl Into<Acting>, rank: RankId) -> Result<(), Refusal> {
        let actor = self.actor(actor)?;
        self.require(&actor, Permission::RanksManage)?;
        let rank = self.rank(rank).ok_or(Refusal::UnknownRank)?;
        self.outranks(actor.rank, rank, "delete ranks")?;
        let members = self
            .org()
            .members
            .iter()
            .filter(|m| m.rank == rank.id)
            .count();
        if members > 0 {
            Err(Refusal::RankInUse(members))
        } else {
            Ok(())
        }
    }

    /// Whether `actor` may allow (`allow`) or deny a tri-state permission for `target`.
    pub fn may_override(
        &self,
        actor: impl Into<Acting>,
        target: MemberId,
        permission: Permission,
        allow: bool,
    ) -> Result<(), Refusal> {
        let actor = self.actor(actor)?;
        self.require(&actor, Permission::MembersOverride)?;
        self.manageable(&actor, target)?;
        let target_ix = self.member_ix(target).ok_or(Refusal::UnknownMember)?;
        let target_rank = self.rank_of(target_ix).ok_or(Refusal::UnknownRank)?;
        if !target_rank.tri_state.contains(permission) {
            return Err(Refusal::NotTriState(permission.key()));
        }
        if allow {
            self.grantable(&actor, [permission].into_iter().collect())?;
        }
        Ok(())
    }

    /// Whether `actor` may add or remove a printer access grant. Adding needs the actor's own
    /// access at the grant's level on every printer it covers; both need every member it
    /// affects to be strictly junior.
    pub fn may_change_grant(
        &self,
        actor: impl Into<Acting>,
        grant: &Grant,
        adding: bool,
    ) -> Result<(), Refusal> {
        let actor = self.actor(actor)?;
        self.require(&actor, Permission::PrinterAccessManage)?;
        match grant.subject {
            Subject::Rank(rank) => {
                let rank = self.rank(rank).ok_or(Refusal::UnknownRank)?;
                self.outranks(actor.rank, rank, "grant access to ranks")?;
            }
            Subject::Member(member) => self.junior_member(&actor, member)?,
            Subject::Workgroup(workgroup) => {
                for member in self.workgroup_members(workgroup) {
                    self.junior_member(&actor, member)?;
                }
            }
        }
        if adding {
            self.access_grantable(&actor, |p| {
                if grant.target.covers(p) {
                    grant.level
                } else {
                    AccessLevel::None
                }
            })?;
        }
        Ok(())
    }

    fn junior_member(&self, actor: &Actor<'_>, member: MemberId) -> Result<(), Refusal> {
        if self.member(actor.ix).id == member {
            return Err(Refusal::SelfChange);
        }
        let target = self.member_ix(member).ok_or(Refusal::UnknownMember)?;
        let rank = self.rank_of(target).ok_or(Refusal::UnknownRank)?;
        self.outranks(actor.rank, rank, "grant access to members")
    }

    fn workgroup_members(&self, workgroup: WorkgroupId) -> impl Iterator<Item = MemberId> + '_ {
        self.org()
            .members
            .iter()
            .filter(move |m| m.workgroups.contains(&workgroup))
            .map(|m| m.id)
    }

    /// Whether `actor` may add `target` to `workgroup`, remove them, or change whether they
    /// moderate it (`touches_moderator`: the change sets or clears the moderator flag, or
    /// removes a moderator). Workgroup managers may do all of it; the workgroup's own
    /// moderators only add and remove ordinary members. Either way it is a change to a member:
    /// the target must be someone else, strictly junior to the actor and already within the
    /// actor's member scope (pulling someone into your scope is itself outside it). Joining
    /// hands out the workgroup's printer access, which must be within the actor's own.
    pub fn may_change_workgroup_member(
        &self,
        actor: impl Into<Acting>,
        workgroup: WorkgroupId,
        target: MemberId,
        joining: bool,
        touches_moderator: bool,
    ) -> Result<(), Refusal> {
        let actor = self.actor(actor)?;
        if !actor.held.contains(Permission::WorkgroupsManage) {
            let moderates = self.member(actor.ix).moderates.contains(&workgroup);
            if !moderates || touches_moderator {
                return Err(Refusal::MissingPermission(Permission::WorkgroupsManage));
            }
        }
        self.manageable(&actor, target)?;
        if joining {
            self.workgroup_access_grantable(&actor, workgroup)?;
        }
        Ok(())
    }

    /// Whether `actor` may put anyone into `workgroup` as far as printer access goes: the
    /// workgroup's access must be within the actor's own (part of
    /// [`Policy::may_change_workgroup_member`]).
    pub fn may_join_workgroup(
        &self,
        actor: impl Into<Acting>,
        workgroup: WorkgroupId,
    ) -> Result<(), Refusal> {
        let actor = self.actor(actor)?;
        self.workgroup_access_grantable(&actor, workgroup)
    }

    /// The workgroup's printer access must be within the actor's own, so joining never hands
    /// out more than the actor has.
    fn workgroup_access_grantable(
        &self,
        actor: &Actor<'_>,
        workgroup: WorkgroupId,
    ) -> Result<(), Refusal> {
        let grants: Vec<&Grant> = self
            .org()
            .grants
            .iter()
            .filter(|g| g.subject == Subject::Workgroup(workgroup))
            .collect();
        self.access_grantable(actor, |p| {
            grants
                .iter()
                .filter(|g| g.target.covers(p))
                .map(|g| g.level)
                .max()
                .unwrap_or_default()
        })
    }

    /// Active members who could give `member` what a refused decision lacked: `permission`
    /// (by rank change, override or rank edit), or access to `printer` at the level needed.
    /// Most senior first.
    pub fn who_could_grant(
        &self,
        member: MemberId,
        permission: Permission,
        printer: Option<PrinterId>,
    ) -> Vec<MemberId> {
        let Some(target) = self.member_ix(member) else {
            return Vec::new();
        };
        let Some(target_rank) = self.rank_of(target) else {
            return Vec::new();
        };
        let target_id = self.member(target).id;
        let needs_permission = !self.rights(target).permissions.contains(permission);
        let printer_need = printer.and_then(|p| self.printer_ix(p)).and_then(|p| {
            let need = self.needed_level(permission).max(AccessLevel::View);
            (self.rights(target).level(p) < need).then_some((p, need))
        });
        let mut candidates: Vec<(&Rank, MemberId)> = Vec::new();
        for (i, m) in self.org().members.iter().enumerate() {
            if !m.active || m.id == target_id {
                continue;
            }
            let ix = MemberIx::at(i);
            let Some(rank) = self.rank_of(ix) else {
                continue;
            };
            if !rank.seniority().outranks(target_rank.seniority()) {
                continue;
            }
            let rights = self.rights(ix);
            let holds = |p: Permission| rights.permissions.contains(p);
            let can_permission = !needs_permission
                || (holds(permission)
                    && (holds(Permission::MembersManage)
                        || holds(Permission::RanksManage)
                        || (holds(Permission::MembersOverride)
                            && target_rank.tri_state.contains(permission))));
            let can_access = match printer_need {
                None => true,
                Some((p, need)) => {
                    holds(Permission::PrinterAccessManage) && rights.level(p) >= need
                }
            };
            if can_permission && can_access {
                candidates.push((rank, m.id));
            }
        }
        candidates.sort_by_key(|(rank, _)| (!rank.is_owner, rank.position));
        candidates.into_iter().map(|(_, id)| id).collect()
    }
}
