//! An organization's facts compiled for decisions: each member's effective permissions and
//! their access level on every printer, computed once on first use and kept until the facts
//! change (the caller builds a new `Policy` then). A check is then a bit test and an array read.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::ids::{MemberId, PrinterId, RankId};
use crate::model::{
    BedClearAccess, Grant, Member, Org, OutOfScope, Printer, Rank, Subject, Target,
};
use crate::{AccessLevel, Permission, PermissionSet, Seniority};

/// A member's position in a [`Policy`], resolved once per request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MemberIx(u32);

/// A printer's position in a [`Policy`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PrinterIx(u32);

impl MemberIx {
    /// The member at position `i` of the policy's facts.
    pub(crate) fn at(i: usize) -> MemberIx {
        MemberIx(i as u32)
    }
}

impl PrinterIx {
    /// The printer at position `i` of the policy's facts.
    pub(crate) fn at(i: usize) -> PrinterIx {
        PrinterIx(i as u32)
    }
}

/// What a member may do, compiled.
#[derive(Debug)]
pub struct MemberRights {
    pub permissions: PermissionSet,
    /// Access level per printer, indexed by [`PrinterIx`].
    levels: Box<[AccessLevel]>,
}

impl MemberRights {
    pub fn level(&self, printer: PrinterIx) -> AccessLevel {
        self.levels
            .get(printer.0 as usize)
            .copied()
            .unwrap_or_default()
    }
}

/// The compiled policy of one organization.
#[derive(Debug)]
pub struct Policy {
    org: Org,
    ranks: HashMap<RankId, usize>,
    members: HashMap<MemberId, u32>,
    printers: HashMap<PrinterId, u32>,
    grants_by_subject: HashMap<Subject, Vec<usize>>,
    rights: Vec<OnceLock<MemberRights>>,
}

/// Why a permission is held, or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PermissionSource {
    /// Owners hold every permission.
    Owner,
    /// The member's rank includes it.
    Rank { rank: String },
    /// Allowed individually on a tri-state permission of the rank.
    AllowOverride { rank: String },
    /// Denied individually (tri-state), which wins over the rank and any allow.
    DeniedByOverride { rank: String },
    /// The rank does not include it.
    NotInRank { rank: String },
}

/// Where a member's access to a printer comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessSource {
    Owner,
    /// The best grants that apply (each with its level).
    Grants(Vec<Grant>),
    /// Outside the rank's printer scope and shown visible-but-locked.
    VisibleOutOfScope,
    /// Outside the rank's scope (and hidden) or no grant covers it.
    Nothing {
        out_of_scope: bool,
    },
}

/// The outcome of a decision, with the facts behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Allowed {
        permission: PermissionSource,
        access: Option<(AccessLevel, AccessSource)>,
    },
    /// The member does not hold the permission.
    MissingPermission { permission: PermissionSource },
    /// The member cannot see the printer at all: answer as if it did not exist.
    PrinterHidden { access: AccessSource },
    /// The member sees the printer but their access level is too low.
    InsufficientAccess {
        have: AccessLevel,
        need: AccessLevel,
        access: AccessSource,
    },
    /// No such (active) member or printer in this organization.
    Unknown,
}

impl Decision {
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allowed { .. })
    }
}

impl Policy {
    pub fn new(org: Org) -> Policy {
        let ranks = org
            .ranks
            .iter()
            .enumerate()
            .map(|(i, r)| (r.id, i))
            .collect();
        let members = org
            .members
            .iter()
            .enumerate()
            .map(|(i, m)| (m.id, i as u32))
            .collect();
        let printers = org
            .printers
            .iter()
            .enumerate()
            .map(|(i, p)| (p.id, i as u32))
            .collect();
        let mut grants_by_subject: HashMap<Subject, Vec<usize>> = HashMap::new();
        for (i, grant) in org.grants.iter().enumerate() {
            grants_by_subject.entry(grant.subject).or_default().push(i);
        }
        let rights = (0..org.members.len()).map(|_| OnceLock::new()).collect();
        Policy {
            org,
            ranks,
            members,
            printers,
            grants_by_subject,
            rights,
        }
    }

    pub fn org(&self) -> &Org {
        &self.org
    }

    pub fn member_ix(&self, id: MemberId) -> Option<MemberIx> {
        self.members.get(&id).map(|i| MemberIx(*i))
    }

    pub fn printer_ix(&self, id: PrinterId) -> Option<PrinterIx> {
        self.printers.get(&id).map(|i| PrinterIx(*i))
    }

    pub fn member(&self, ix: MemberIx) -> &Member {
        &self.org.members[ix.0 as usize]
    }

    pub fn printer(&self, ix: PrinterIx) -> &Printer {
        &self.org.printers[ix.0 as usize]
    }

    pub fn rank(&self, id: RankId) -> Option<&Rank> {
        self.ranks.get(&id).map(|i| &self.org.ranks[*i])
    }

    pub fn rank_of(&self, ix: MemberIx) -> Option<&Rank> {
        self.rank(self.member(ix).rank)
    }

    pub fn seniority(&self, ix: MemberIx) -> Option<Seniority> {
        self.rank_of(ix).map(Rank::seniority)
    }

    /// The compiled rights of a member (computed on first use).
    pub fn rights(&self, ix: MemberIx) -> &MemberRights {
        self.rights[ix.0 as usize].get_or_init(|| self.compile(ix))
    }

    /// The access level a permission needs on a printer, given the organization's settings.
    pub fn needed_level(&self, permission: Permission) -> AccessLevel {
        if permission == Permission::PrinterControlConfirmBedClear
            && self.org.settings.bed_clear == BedClearAccess::AnyAccess
        {
            return AccessLevel::View;
        }
        permission.printer_access()
    }

    /// The fast check: does the member hold `permission` and, for a printer-scoped
    /// permission, enough access to `printer`? No allocation, no lookup beyond two array reads.
    #[inline]
    pub fn check(
        &self,
        member: MemberIx,
        permission: Permission,
        printer: Option<PrinterIx>,
    ) -> bool {
        let rights = self.rights(member);
        if !rights.permissions.contains(permission) {
            return false;
        }
        let need = self.needed_level(permission);
        match printer {
            Some(p) if need > AccessLevel::None => rights.level(p) >= need,
            _ => true,
        }
    }

    /// Printers the member can see (hidden ones left out), in the organization's order.
    pub fn visible_printers(
        &self,
        member: MemberIx,
    ) -> impl Iterator<Item = (PrinterIx, AccessLevel)> + '_ {
        let levels = &self.rights(member).levels;
        levels
            .iter()
            .enumerate()
            .filter(|(_, level)| **level >= AccessLevel::View)
            .map(|(i, level)| (PrinterIx(i as u32), *level))
    }

    /// The decision with its reasons. Printer-scoped permissions checked without a printer
    /// only need the permission itself (for example listing printers).
    pub fn decide(
        &self,
        member: MemberId,
        permission: Permission,
        printer: Option<PrinterId>,
    ) -> Decision {
        let Some(ix) = self.member_ix(member).filter(|ix| self.member(*ix).active) else {
            return Decision::Unknown;
        };
        let printer_ix = match printer {
            Some(id) => match self.printer_ix(id) {
                Some(p) => Some(p),
                None => return Decision::Unknown,
            },
            None => None,
        };
        let source = self.permission_source(ix, permission);
        let held = matches!(
            source,
            PermissionSource::Owner
                | PermissionSource::Rank { .. }
                | PermissionSource::AllowOverride { .. }
        );
        // Printer access matters only to permissions that need some.
        let need = self.needed_level(permission);
        let access = printer_ix
            .filter(|_| need > AccessLevel::None)
            .map(|p| (self.rights(ix).level(p), self.access_source(ix, p)));
        // A printer the member cannot see stays invisible, whatever they hold.
        if let Some((AccessLevel::None, source)) = &access {
            return Decision::PrinterHidden {
                access: source.clone(),
            };
        }
        if !held {
            return Decision::MissingPermission { permission: source };
        }
        match access {
            Some((have, source)) if have < need => Decision::InsufficientAccess {
                have,
                need,
                access: source,
            },
            access => Decision::Allowed {
                permission: source,
                access,
            },
        }
    }

    fn permission_source(&self, ix: MemberIx, permission: Permission) -> PermissionSource {
        let member = self.member(ix);
        let Some(rank) = self.rank(member.rank) else {
            return PermissionSource::NotInRank {
                rank: String::new(),
            };
        };
        let name = rank.name.clone();
        if rank.is_owner {
            return PermissionSource::Owner;
        }
        let tri = rank.tri_state.contains(permission);
        // A deny wins over both the rank and an allow.
        if tri && member.deny.contains(permission) {
            PermissionSource::DeniedByOverride { rank: name }
        } else if rank.permissions.contains(permission) {
            PermissionSource::Rank { rank: name }
        } else if tri && member.allow.contains(permission) {
            PermissionSource::AllowOverride { rank: name }
        } else {
            PermissionSource::NotInRank { rank: name }
        }
    }

    /// Grants that apply to a member: their rank's (within the rank's scope), their
    /// workgroups' and their own.
    fn grants_for<'a>(
        &'a self,
        member: &'a Member,
    ) -> impl Iterator<Item = (&'a Grant, bool)> + 'a {
        let rank = std::iter::once(Subject::Rank(member.rank)).map(|s| (s, true));
        let others = member
            .workgroups
            .iter()
            .map(|w| (Subject::Workgroup(*w), false))
            .chain(std::iter::once((Subject::Member(member.id), false)));
        rank.chain(others).flat_map(move |(subject, scoped)| {
            self.grants_by_subject
                .get(&subject)
                .into_iter()
                .flatten()
                .map(move |i| (&self.org.grants[*i], scoped))
        })
    }

    fn access_source(&self, ix: MemberIx, printer: PrinterIx) -> AccessSource {
        let member = self.member(ix);
        let Some(rank) = self.rank(member.rank) else {
            return AccessSource::Nothing {
                out_of_scope: false,
            };
        };
        if rank.is_owner {
            return AccessSource::Owner;
        }
        let p = self.printer(printer);
        let in_scope = rank.scope.covers(p);
        let have = self.rights(ix).level(printer);
        let best: Vec<Grant> = self
            .grants_for(member)
            .filter(|(g, scoped)| g.target.covers(p) && (in_scope || !scoped) && g.level == have)
            .map(|(g, _)| *g)
            .collect();
        if !best.is_empty() && have > AccessLevel::None {
            AccessSource::Grants(best)
        } else if have == AccessLevel::View
            && !in_scope
            && rank.out_of_scope == OutOfScope::VisibleLocked
        {
            AccessSource::VisibleOutOfScope
        } else {
            AccessSource::Nothing {
                out_of_scope: !in_scope,
            }
        }
    }

    /// The effective permissions of a member: the rank's, with tri-state overrides applied.
    pub fn effective_permissions(&self, member: &Member) -> PermissionSet {
        let Some(rank) = self.rank(member.rank) else {
            return PermissionSet::EMPTY;
        };
        if rank.is_owner {
            return PermissionSet::all();
        }
        let allowed = member.allow.intersection(rank.tri_state);
        let denied = member.deny.intersection(rank.tri_state);
        rank.permissions.union(allowed).difference(denied)
    }

    fn compile(&self, ix: MemberIx) -> MemberRights {
        let member = self.member(ix);
        let count = self.org.printers.len();
        let Some(rank) = self.rank(member.rank).filter(|_| member.active) else {
            return MemberRights {
                permissions: PermissionSet::EMPTY,
                levels: vec![AccessLevel::None; count].into(),
            };
        };
        let permissions = self.effective_permissions(member);
        if rank.is_owner {
            return MemberRights {
                permissions,
                levels: vec![AccessLevel::Manage; count].into(),
            };
        }
        let in_scope: Vec<bool> = self
            .org
            .printers
            .iter()
            .map(|p| rank.scope.covers(p))
            .collect();
        let mut levels = vec![AccessLevel::None; count];
        for (grant, scoped) in self.grants_for(member) {
            self.for_covered(grant.target, |i| {
                if (!scoped || in_scope[i]) && levels[i] < grant.level {
                    levels[i] = grant.level;
                }
            });
        }
        if rank.out_of_scope == OutOfScope::VisibleLocked {
            for (i, level) in levels.iter_mut().enumerate() {
                if !in_scope[i] && *level < AccessLevel::View {
                    *level = AccessLevel::View;
                }
            }
        }
        MemberRights {
            permissions,
            levels: levels.into(),
        }
    }

    fn for_covered(&self, target: Target, mut f: impl FnMut(usize)) {
        match target {
            Target::Printer(id) => {
                if let Some(i) = self.printers.get(&id) {
                    f(*i as usize);
                }
            }
            target => {
                for (i, printer) in self.org.printers.iter().enumerate() {
                    if target.covers(printer) {
                        f(i);
                    }
                }
            }
        }
    }
}

impl Rank {
    pub fn seniority(&self) -> Seniority {
        Seniority {
            position: self.position,
            is_owner: self.is_owner,
        }
    }

    /// Whether the rank's printer scope names `site` (or all printers): the sites a
    /// site-scoped rank manages members of.
    pub fn covers_site(&self, site: crate::ids::SiteId) -> bool {
        self.scope.all || self.scope.sites.contains(&site)
    }
}
