//! Who may change authorization itself. The rules that keep anyone from raising their own
//! rights: an actor acts only on ranks and members strictly junior to their own rank (owners
//! excepted), hands out only permissions they hold, and grants only printer access they have.

use crate::ids::{MemberId, PrinterId, RankId, WorkgroupId};
use crate::model::{Grant, MemberScope, OutOfScope, Rank, Subject};
use crate::policy::{MemberIx, Policy, PrinterIx};
use crate::{AccessLevel, Permission, PermissionSet};

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
    fn actor(&self, actor: MemberId) -> Result<(MemberIx, &Rank), Refusal> {
        let ix = self
            .member_ix(actor)
            .filter(|ix| self.member(*ix).active)
            .ok_or(Refusal::UnknownMember)?;
        let rank = self.rank_of(ix).ok_or(Refusal::UnknownRank)?;
        Ok((ix, rank))
    }

    fn require(&self, ix: MemberIx, permission: Permission) -> Result<(), Refusal> {
        if self.rights(ix).permissions.contains(permission) {
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

    /// Permissions in `set` the actor does not hold (empty for owners).
    fn grantable(&self, ix: MemberIx, set: PermissionSet) -> Result<(), Refusal> {
        if self.rank_of(ix).is_some_and(|r| r.is_owner) {
            return Ok(());
        }
        let missing = set.difference(self.rights(ix).permissions);
        if missing.is_empty() {
            Ok(())
        } else {
            Err(Refusal::CannotGrant(missing))
        }
    }

    /// The actor's access must reach `level` on every printer `covered` says yes to.
    fn access_grantable(
        &self,
        ix: MemberIx,
        level_on: impl Fn(&crate::model::Printer) -> AccessLevel,
    ) -> Result<(), Refusal> {
        if self.rank_of(ix).is_some_and(|r| r.is_owner) {
            return Ok(());
        }
        let rights = self.rights(ix);
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
    pub fn may_manage_member(&self, actor: MemberId, target: MemberId) -> Result<(), Refusal> {
        let (ix, actor_rank) = self.actor(actor)?;
        self.require(ix, Permission::MembersManage)?;
        self.manageable(ix, actor_rank, target)
    }

    fn manageable(&self, ix: MemberIx, actor_rank: &Rank, target: MemberId) -> Result<(), Refusal> {
        if self.member(ix).id == target {
            return Err(Refusal::SelfChange);
        }
        let target_ix = self.member_ix(target).ok_or(Refusal::UnknownMember)?;
        let target_member = self.member(target_ix);
        let target_rank = self.rank(target_member.rank).ok_or(Refusal::UnknownRank)?;
        self.outranks(actor_rank, target_rank, "manage members")?;
        if actor_rank.is_owner {
            return Ok(());
        }
        match actor_rank.member_scope {
            MemberScope::Everyone => Ok(()),
            MemberScope::ModeratedWorkgroups => {
                let actor = self.member(ix);
                if target_member
                    .workgroups
                    .iter()
                    .any(|w| actor.moderates.contains(w))
                {
                    Ok(())
                } else {
                    Err(Refusal::OutsideMemberScope("the workgroups you moderate"))
                }
            }
            MemberScope::ScopedSites => {
                if target_member
                    .site
                    .is_some_and(|s| actor_rank.scope.all || actor_rank.scope.sites.contains(&s))
                {
                    Ok(())
                } else {
                    Err(Refusal::OutsideMemberScope("the sites your rank covers"))
                }
            }
        }
    }

    /// Whether `actor` may give `rank` to `member` (an existing member whose rank changes or
    /// who is reactivated), or to someone new (`None`): the rank must be strictly junior, and
    /// the rights the member would have with it — its permissions with the member's own
    /// overrides applied — and its printer access must be within the actor's own.
    pub fn may_assign_rank(
        &self,
        actor: MemberId,
        rank: RankId,
        member: Option<MemberId>,
    ) -> Result<(), Refusal> {
        let (ix, actor_rank) = self.actor(actor)?;
        let rank = self.rank(rank).ok_or(Refusal::UnknownRank)?;
        self.outranks(actor_rank, rank, "assign ranks")?;
        let mut granted = rank.permissions;
        if let Some(target) = member.and_then(|id| self.member_ix(id)) {
            let target = self.member(target);
            granted = granted
                .union(target.allow.intersection(rank.tri_state))
                .difference(target.deny.intersection(rank.tri_state));
        }
        self.grantable(ix, granted)?;
        self.access_grantable(ix, |p| self.rank_level(rank, p))
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
        actor: MemberId,
        before: Option<&Rank>,
        after: &Rank,
    ) -> Result<(), Refusal> {
        let (ix, actor_rank) = self.actor(actor)?;
        self.require(ix, Permission::RanksManage)?;
        if (after.is_owner || before.is_some_and(|b| b.is_owner)) && !actor_rank.is_owner {
            return Err(Refusal::OwnerRank);
        }
        if let Some(before) = before {
            self.outranks(actor_rank, before, "edit ranks")?;
        }
        self.outranks(actor_rank, after, "place ranks")?;
        self.grantable(ix, after.permissions.union(after.tri_state))?;
        self.access_grantable(ix, |p| self.rank_level(after, p))
    }

    pub fn may_delete_rank(&self, actor: MemberId, rank: RankId) -> Result<(), Refusal> {
        let (ix, actor_rank) = self.actor(actor)?;
        self.require(ix, Permission::RanksManage)?;
        let rank = self.rank(rank).ok_or(Refusal::UnknownRank)?;
        self.outranks(actor_rank, rank, "delete ranks")?;
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
        actor: MemberId,
        target: MemberId,
        permission: Permission,
        allow: bool,
    ) -> Result<(), Refusal> {
        let (ix, actor_rank) = self.actor(actor)?;
        self.require(ix, Permission::MembersOverride)?;
        self.manageable(ix, actor_rank, target)?;
        let target_ix = self.member_ix(target).ok_or(Refusal::UnknownMember)?;
        let target_rank = self.rank_of(target_ix).ok_or(Refusal::UnknownRank)?;
        if !target_rank.tri_state.contains(permission) {
            return Err(Refusal::NotTriState(permission.key()));
        }
        if allow {
            self.grantable(ix, [permission].into_iter().collect())?;
        }
        Ok(())
    }

    /// Whether `actor` may add or remove a printer access grant. Adding needs the actor's own
    /// access at the grant's level on every printer it covers; both need every member it
    /// affects to be strictly junior.
    pub fn may_change_grant(
        &self,
        actor: MemberId,
        grant: &Grant,
        adding: bool,
    ) -> Result<(), Refusal> {
        let (ix, actor_rank) = self.actor(actor)?;
        self.require(ix, Permission::PrinterAccessManage)?;
        match grant.subject {
            Subject::Rank(rank) => {
                let rank = self.rank(rank).ok_or(Refusal::UnknownRank)?;
                self.outranks(actor_rank, rank, "grant access to ranks")?;
            }
            Subject::Member(member) => self.junior_member(ix, actor_rank, member)?,
            Subject::Workgroup(workgroup) => {
                for member in self.workgroup_members(workgroup) {
                    self.junior_member(ix, actor_rank, member)?;
                }
            }
        }
        if adding {
            self.access_grantable(ix, |p| {
                if grant.target.covers(p) {
                    grant.level
                } else {
                    AccessLevel::None
                }
            })?;
        }
        Ok(())
    }

    fn junior_member(
        &self,
        ix: MemberIx,
        actor_rank: &Rank,
        member: MemberId,
    ) -> Result<(), Refusal> {
        if self.member(ix).id == member {
            return Err(Refusal::SelfChange);
        }
        let target = self.member_ix(member).ok_or(Refusal::UnknownMember)?;
        let rank = self.rank_of(target).ok_or(Refusal::UnknownRank)?;
        self.outranks(actor_rank, rank, "grant access to members")
    }

    fn workgroup_members(&self, workgroup: WorkgroupId) -> impl Iterator<Item = MemberId> + '_ {
        self.org()
            .members
            .iter()
            .filter(move |m| m.workgroups.contains(&workgroup))
            .map(|m| m.id)
    }

    /// Whether `actor` may put `member` into `workgroup`: the workgroup's printer access must
    /// be within the actor's own, so joining never hands out more than the actor has.
    pub fn may_join_workgroup(
        &self,
        actor: MemberId,
        workgroup: WorkgroupId,
    ) -> Result<(), Refusal> {
        let (ix, _) = self.actor(actor)?;
        let grants: Vec<&Grant> = self
            .org()
            .grants
            .iter()
            .filter(|g| g.subject == Subject::Workgroup(workgroup))
            .collect();
        self.access_grantable(ix, |p| {
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
