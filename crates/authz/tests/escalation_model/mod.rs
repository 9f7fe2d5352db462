//! The model behind `no_escalation.rs`: random organizations, random administrative actions
//! by non-owner members, each applied to the facts only when the matching `Policy::may_*`
//! check (on the policy compiled from the current facts) says yes, and every member's rights
//! as a snapshot to compare before and after.

use std::fmt::Write as _;

use authz::ids::{
    MemberId, PrinterGroupId, PrinterId, PrinterModelId, RankId, SiteId, WorkgroupId,
};
use authz::{
    AccessLevel, Grant, Member, MemberScope, Org, OutOfScope, Permission, PermissionSet, Policy,
    Printer, PrinterScope, Rank, Refusal, Subject, Target,
};
use proptest::prelude::*;
use proptest::sample::{Index, select, subsequence};

/// The permissions the random ranks and overrides draw from: the four that hand out power
/// (members.manage, members.override, ranks.manage, printer_access.manage), the two that the
/// model also gates on, and a few ordinary ones, some printer-scoped. Every permission outside
/// the pool behaves like the ordinary ones in `admin.rs`; owners hold them all.
pub const POOL: [Permission; 12] = [
    Permission::MembersManage,
    Permission::MembersOverride,
    Permission::RanksManage,
    Permission::PrinterAccessManage,
    Permission::ApiTokensCreateOwn,
    Permission::WorkgroupsManage,
    Permission::PrinterControlStart,
    Permission::PrinterControlSendGcode,
    Permission::QueueSubmit,
    Permission::PrintersView,
    Permission::AuditView,
    Permission::BillingManage,
];
const POOL_MASK: u16 = (1 << POOL.len()) - 1;
/// The first six permissions of the pool: the ones administration needs.
const ADMIN_MASK: u16 = 0b11_1111;

const SITES: i64 = 3;
const GROUPS: i64 = 3;
const MODELS: i64 = 2;
const WORKGROUPS: i64 = 3;
const MAX_PRINTERS: i64 = 6;
const OWNER_RANK: RankId = RankId(1);

pub fn set_of(mask: u16) -> PermissionSet {
    POOL.iter()
        .enumerate()
        .filter(|(i, _)| mask & (1 << i) != 0)
        .map(|(_, p)| *p)
        .collect()
}

fn mask_of(set: PermissionSet) -> u16 {
    POOL.iter()
        .enumerate()
        .filter(|(_, p)| set.contains(**p))
        .fold(0, |m, (i, _)| m | (1 << i))
}

// ---- strategies -------------------------------------------------------------------------

fn ids(max: i64, size: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = Vec<i64>> {
    subsequence((1..=max).collect::<Vec<_>>(), size)
}

fn level() -> impl Strategy<Value = AccessLevel> {
    select(AccessLevel::ALL.to_vec())
}

fn scope() -> impl Strategy<Value = PrinterScope> {
    (
        prop::bool::weighted(0.2),
        ids(SITES, 0..=2),
        ids(GROUPS, 0..=1),
        ids(MODELS, 0..=1),
        ids(MAX_PRINTERS, 0..=2),
    )
        .prop_map(|(all, sites, groups, models, printers)| PrinterScope {
            all,
            sites: sites.into_iter().map(SiteId).collect(),
            groups: groups.into_iter().map(PrinterGroupId).collect(),
            models: models.into_iter().map(PrinterModelId).collect(),
            printers: printers.into_iter().map(PrinterId).collect(),
        })
}

fn out_of_scope() -> impl Strategy<Value = OutOfScope> {
    select(vec![OutOfScope::Hidden, OutOfScope::VisibleLocked])
}

fn member_scope() -> impl Strategy<Value = MemberScope> {
    select(vec![
        MemberScope::Everyone,
        MemberScope::ModeratedWorkgroups,
        MemberScope::ScopedSites,
    ])
}

fn target() -> impl Strategy<Value = Target> {
    prop_oneof![
        Just(Target::AllPrinters),
        (1..=SITES).prop_map(|s| Target::Site(SiteId(s))),
        (1..=GROUPS).prop_map(|g| Target::Group(PrinterGroupId(g))),
        (1..=MODELS).prop_map(|m| Target::Model(PrinterModelId(m))),
        (1..=MAX_PRINTERS).prop_map(|p| Target::Printer(PrinterId(p))),
    ]
}

/// A permission set drawn from the pool; `within_actor` intersects it with the acting
/// member's own permissions when the action is applied (so that many drafts pass the checks
/// and the accepted actions are the interesting ones), otherwise it is taken as it is.
#[derive(Debug, Clone, Copy)]
pub struct Perms {
    pub mask: u16,
    pub within_actor: bool,
}

fn perms(sparse: bool) -> impl Strategy<Value = Perms> {
    (any::<u16>(), any::<u16>(), prop::bool::weighted(0.7)).prop_map(move |(a, b, within_actor)| {
        Perms {
            // Dense sets hold each of the six administrative permissions three times in four.
            mask: if sparse {
                a & b & POOL_MASK
            } else {
                (a | (b & ADMIN_MASK)) & POOL_MASK
            },
            within_actor,
        }
    })
}

impl Perms {
    fn resolve(self, actor: PermissionSet) -> PermissionSet {
        let mask = if self.within_actor {
            self.mask & mask_of(actor)
        } else {
            self.mask
        };
        set_of(mask)
    }
}

#[derive(Debug, Clone)]
pub struct RankDraft {
    pub permissions: Perms,
    pub tri_state: Perms,
    pub scope: PrinterScope,
    pub out_of_scope: OutOfScope,
    pub member_scope: MemberScope,
    /// Offset from the acting member's own position (0 and below: not junior).
    pub position: i32,
}

fn rank_draft() -> impl Strategy<Value = RankDraft> {
    (
        perms(false),
        perms(true),
        scope(),
        out_of_scope(),
        member_scope(),
        -10..=40i32,
    )
        .prop_map(
            |(permissions, tri_state, scope, out_of_scope, member_scope, position)| RankDraft {
                permissions,
                tri_state,
                scope,
                out_of_scope,
                member_scope,
                position,
            },
        )
}

#[derive(Debug, Clone)]
pub enum SubjectDraft {
    Rank(Index),
    Workgroup(i64),
    Member(Index),
}

#[derive(Debug, Clone)]
pub struct GrantDraft {
    pub subject: SubjectDraft,
    pub target: Target,
    pub level: AccessLevel,
}

fn grant_draft() -> impl Strategy<Value = GrantDraft> {
    let subject = prop_oneof![
        any::<Index>().prop_map(SubjectDraft::Rank),
        (1..=WORKGROUPS).prop_map(SubjectDraft::Workgroup),
        any::<Index>().prop_map(SubjectDraft::Member),
    ];
    (subject, target(), level()).prop_map(|(subject, target, level)| GrantDraft {
        subject,
        target,
        level,
    })
}

impl GrantDraft {
    fn resolve(&self, org: &Org, ranks: &[usize], members: &[usize]) -> Grant {
        let subject = match &self.subject {
            SubjectDraft::Rank(i) => Subject::Rank(org.ranks[ranks[i.index(ranks.len())]].id),
            SubjectDraft::Workgroup(w) => Subject::Workgroup(WorkgroupId(*w)),
            SubjectDraft::Member(i) => {
                Subject::Member(org.members[members[i.index(members.len())]].id)
            }
        };
        Grant {
            subject,
            target: self.target,
            level: self.level,
        }
    }
}

/// A printer: site, model and groups.
type PrinterDraft = (i64, Option<i64>, Vec<i64>);

/// Printers, ranks (with whether to nest each in the rank just senior), positions, members and
/// grants, as generated.
type OrgDraft = (
    Vec<PrinterDraft>,
    Vec<(RankDraft, bool)>,
    Vec<i32>,
    Vec<MemberDraft>,
    Vec<GrantDraft>,
);

type MemberDraft = (
    Index,
    u16,
    u16,
    u16,
    Vec<i64>,
    Option<i64>,
    Option<i64>,
    bool,
);

fn member_draft() -> impl Strategy<Value = MemberDraft> {
    (
        any::<Index>(),
        any::<u16>(),
        any::<u16>(),
        any::<u16>(),
        ids(WORKGROUPS, 0..=2),
        prop::option::weighted(0.35, 1..=WORKGROUPS),
        prop::option::weighted(0.8, 1..=SITES),
        prop::bool::weighted(0.85),
    )
}

/// A random organization: an owner rank and 3–5 non-owner ranks at distinct positions (each
/// non-owner rank's permissions usually a subset of the next senior one's, as organizations
/// tend to be built), 3–6 printers over 3 sites, 3 groups and 2 models, 6–15 members (some
/// moderating workgroups, some inactive, some owners) and up to 10 grants.
pub fn org() -> impl Strategy<Value = Org> {
    let printers = prop::collection::vec(
        (1..=SITES, prop::option::of(1..=MODELS), ids(GROUPS, 0..=2)),
        3..=6,
    );
    let ranks = prop::collection::vec((rank_draft(), prop::bool::weighted(0.7)), 3..=5);
    let positions = subsequence((1..=9).map(|p| p * 10).collect::<Vec<i32>>(), 5).prop_shuffle();
    let members = prop::collection::vec(member_draft(), 6..=15);
    let grants = prop::collection::vec(grant_draft(), 0..=10);
    (printers, ranks, positions, members, grants).prop_map(build_org)
}

fn build_org((printers, ranks, positions, members, grants): OrgDraft) -> Org {
    let printers = printers
        .into_iter()
        .enumerate()
        .map(|(i, (site, model, groups))| Printer {
            id: PrinterId(i as i64 + 1),
            site: SiteId(site),
            model: model.map(PrinterModelId),
            groups: groups.into_iter().map(PrinterGroupId).collect(),
        })
        .collect();
    let mut org_ranks = vec![Rank {
        id: OWNER_RANK,
        name: "owner".into(),
        position: 0,
        is_owner: true,
        permissions: PermissionSet::all(),
        tri_state: PermissionSet::EMPTY,
        scope: PrinterScope::all(),
        out_of_scope: OutOfScope::Hidden,
        member_scope: MemberScope::Everyone,
    }];
    for (i, ((draft, _), position)) in ranks.iter().zip(&positions).enumerate() {
        org_ranks.push(Rank {
            id: RankId(i as i64 + 2),
            name: format!("r{}", i + 2),
            position: *position,
            is_owner: false,
            permissions: set_of(draft.permissions.mask),
            tri_state: set_of(draft.tri_state.mask),
            scope: draft.scope.clone(),
            out_of_scope: draft.out_of_scope,
            member_scope: draft.member_scope,
        });
    }
    // Nest: a rank flagged so keeps only permissions of the rank just senior to it.
    let mut order: Vec<usize> = (1..org_ranks.len()).collect();
    order.sort_by_key(|i| org_ranks[*i].position);
    for pair in order.windows(2) {
        let (senior, junior) = (pair[0], pair[1]);
        if ranks[junior - 1].1 {
            let above = org_ranks[senior].permissions;
            org_ranks[junior].permissions = org_ranks[junior].permissions.intersection(above);
            org_ranks[junior].tri_state = org_ranks[junior].tri_state.intersection(above);
        }
    }
    let members = members
        .into_iter()
        .enumerate()
        .map(
            |(i, (rank, allow, deny1, deny2, workgroups, moderates, site, active))| Member {
                id: MemberId(i as i64 + 1),
                name: format!("m{}", i + 1),
                rank: org_ranks[rank.index(org_ranks.len())].id,
                allow: set_of(allow & deny1 & POOL_MASK),
                deny: set_of(deny1 & deny2 & !allow & POOL_MASK),
                workgroups: workgroups.into_iter().map(WorkgroupId).collect(),
                moderates: moderates.into_iter().map(WorkgroupId).collect(),
                site: site.map(SiteId),
                active,
            },
        )
        .collect();
    let mut org = Org {
        ranks: org_ranks,
        members,
        printers,
        ..Org::default()
    };
    let ranks: Vec<usize> = (0..org.ranks.len()).collect();
    let members: Vec<usize> = (0..org.members.len()).collect();
    org.grants = grants
        .iter()
        .map(|g| g.resolve(&org, &ranks, &members))
        .collect();
    org
}

// ---- actions ----------------------------------------------------------------------------

#[derive(Debug, Clone)]
pub enum RankEdit {
    Permissions(Perms),
    TriState(Perms),
    Scope(PrinterScope),
    OutOfScope(OutOfScope),
    MemberScope(MemberScope),
    /// New position, as an offset from the acting member's own.
    Position(i32),
    /// Every field at once.
    Everything(RankDraft),
    /// Turn the rank into an owner rank (only owners may).
    MakeOwner,
}

#[derive(Debug, Clone, Copy)]
pub enum OverrideKind {
    Allow,
    Deny,
    /// Remove the member's override either way. Clearing a deny gives the rank's permission
    /// back, so it is checked as an allow; clearing an allow as a deny.
    Clear,
}

#[derive(Debug, Clone)]
pub enum Action {
    ChangeRank {
        target: Index,
        rank: Index,
    },
    CreateRank {
        draft: RankDraft,
        owner: bool,
    },
    EditRank {
        rank: Index,
        edit: RankEdit,
    },
    /// Clone a rank's permissions, scope and settings into a new rank (`into` = None, at an
    /// offset from the actor's position) or into an existing one (keeping its ID, name and
    /// position).
    CloneRank {
        source: Index,
        into: Option<Index>,
        position: i32,
    },
    DeleteRank {
        rank: Index,
    },
    Override {
        target: Index,
        permission: Index,
        kind: OverrideKind,
    },
    AddGrant {
        grant: GrantDraft,
    },
    RemoveGrant {
        grant: Index,
    },
    JoinWorkgroup {
        member: Index,
        workgroup: i64,
    },
    LeaveWorkgroup {
        member: Index,
        workgroup: i64,
    },
    CreateToken {
        permissions: Perms,
        level: AccessLevel,
    },
}

/// Names of the action kinds, for the statistics.
pub const KINDS: [&str; 11] = [
    "change rank",
    "create rank",
    "edit rank",
    "clone rank",
    "delete rank",
    "override",
    "add grant",
    "remove grant",
    "join workgroup",
    "leave workgroup",
    "create token",
];

impl Action {
    /// The permission the action needs, if any, for focused steps.
    fn needs(&self) -> Option<Permission> {
        match self {
            Action::ChangeRank { .. } => Some(Permission::MembersManage),
            Action::CreateRank { .. }
            | Action::EditRank { .. }
            | Action::CloneRank { .. }
            | Action::DeleteRank { .. } => Some(Permission::RanksManage),
            Action::Override { .. } => Some(Permission::MembersOverride),
            Action::AddGrant { .. } | Action::RemoveGrant { .. } => {
                Some(Permission::PrinterAccessManage)
            }
            Action::JoinWorkgroup { .. } | Action::LeaveWorkgroup { .. } => None,
            Action::CreateToken { .. } => Some(Permission::ApiTokensCreateOwn),
        }
    }

    pub fn kind(&self) -> usize {
        match self {
            Action::ChangeRank { .. } => 0,
            Action::CreateRank { .. } => 1,
            Action::EditRank { .. } => 2,
            Action::CloneRank { .. } => 3,
            Action::DeleteRank { .. } => 4,
            Action::Override { .. } => 5,
            Action::AddGrant { .. } => 6,
            Action::RemoveGrant { .. } => 7,
            Action::JoinWorkgroup { .. } => 8,
            Action::LeaveWorkgroup { .. } => 9,
            Action::CreateToken { .. } => 10,
        }
    }
}

fn rank_edit() -> impl Strategy<Value = RankEdit> {
    prop_oneof![
        3 => perms(false).prop_map(RankEdit::Permissions),
        2 => perms(true).prop_map(RankEdit::TriState),
        3 => scope().prop_map(RankEdit::Scope),
        1 => out_of_scope().prop_map(RankEdit::OutOfScope),
        1 => member_scope().prop_map(RankEdit::MemberScope),
        2 => (-10..=40i32).prop_map(RankEdit::Position),
        2 => rank_draft().prop_map(RankEdit::Everything),
        1 => Just(RankEdit::MakeOwner),
    ]
}

fn action() -> impl Strategy<Value = Action> {
    let override_kind = select(vec![
        OverrideKind::Allow,
        OverrideKind::Deny,
        OverrideKind::Clear,
    ]);
    prop_oneof![
        4 => (any::<Index>(), any::<Index>()).prop_map(|(target, rank)| Action::ChangeRank { target, rank }),
        2 => (rank_draft(), prop::bool::weighted(0.05)).prop_map(|(draft, owner)| Action::CreateRank { draft, owner }),
        4 => (any::<Index>(), rank_edit()).prop_map(|(rank, edit)| Action::EditRank { rank, edit }),
        1 => (any::<Index>(), prop::option::of(any::<Index>()), -10..=40i32)
            .prop_map(|(source, into, position)| Action::CloneRank { source, into, position }),
        1 => any::<Index>().prop_map(|rank| Action::DeleteRank { rank }),
        3 => (any::<Index>(), any::<Index>(), override_kind)
            .prop_map(|(target, permission, kind)| Action::Override { target, permission, kind }),
        4 => grant_draft().prop_map(|grant| Action::AddGrant { grant }),
        1 => any::<Index>().prop_map(|grant| Action::RemoveGrant { grant }),
        3 => (any::<Index>(), 1..=WORKGROUPS).prop_map(|(member, workgroup)| Action::JoinWorkgroup { member, workgroup }),
        1 => (any::<Index>(), 1..=WORKGROUPS).prop_map(|(member, workgroup)| Action::LeaveWorkgroup { member, workgroup }),
        1 => (perms(false), level()).prop_map(|(permissions, level)| Action::CreateToken { permissions, level }),
    ]
}

/// One action and who performs it (an index into the active non-owner members at the time).
///
/// A focused step picks its actor among those holding the permission the action needs, its
/// member and rank targets among those junior to the actor and the permission it overrides
/// among the target rank's tri-state ones, so that more steps reach the checks that matter;
/// the `may_*` checks still decide. An unfocused step picks among everyone and everything.
#[derive(Debug, Clone)]
pub struct Step {
    pub actor: Index,
    pub focus: bool,
    pub action: Action,
}

pub fn steps(max: usize) -> impl Strategy<Value = Vec<Step>> {
    prop::collection::vec(
        (any::<Index>(), prop::bool::weighted(0.75), action()).prop_map(
            |(actor, focus, action)| Step {
                actor,
                focus,
                action,
            },
        ),
        1..=max,
    )
}

// ---- state and application --------------------------------------------------------------

/// An API token: what its owner asked for. At use it is narrowed to the owner's current
/// rights, so it never exceeds them.
#[derive(Debug, Clone)]
pub struct Token {
    pub owner: MemberId,
    pub requested: PermissionSet,
    pub level: AccessLevel,
}

#[derive(Debug, Clone)]
pub struct State {
    pub org: Org,
    pub tokens: Vec<Token>,
    next_rank: i64,
}

impl State {
    pub fn new(org: Org) -> State {
        let next_rank = org.ranks.iter().map(|r| r.id.get()).max().unwrap_or(0) + 1;
        State {
            org,
            tokens: Vec::new(),
            next_rank,
        }
    }
}

/// What happened to a step.
#[derive(Debug)]
pub struct Report {
    /// The acting member, as an index into `org.members`.
    pub actor: usize,
    pub kind: usize,
    /// The action as applied (or refused), resolved against the facts.
    pub description: String,
    pub outcome: Result<(), Refusal>,
}

/// Applies `step` to the state if the policy compiled from the current facts allows it.
/// `None` when there is no one to act or nothing to act on.
pub fn apply(state: &mut State, step: &Step) -> Option<Report> {
    let policy = Policy::new(state.org.clone());
    let org = policy.org();
    let actors: Vec<usize> = org
        .members
        .iter()
        .enumerate()
        .filter(|(_, m)| m.active && policy.rank(m.rank).is_some_and(|r| !r.is_owner))
        .map(|(i, _)| i)
        .collect();
    if actors.is_empty() {
        return None;
    }
    let holds = |i: &usize, p: Permission| {
        policy
            .member_ix(org.members[*i].id)
            .is_some_and(|ix| policy.check(ix, p, None))
    };
    let focused: Vec<usize> = match step.action.needs() {
        Some(p) if step.focus => actors.iter().copied().filter(|i| holds(i, p)).collect(),
        _ => Vec::new(),
    };
    let actors = if focused.is_empty() { actors } else { focused };
    let actor_i = actors[step.actor.index(actors.len())];
    let actor = &org.members[actor_i];
    let actor_id = actor.id;
    let actor_ix = policy.member_ix(actor_id)?;
    let actor_perms = policy.rights(actor_ix).permissions;
    let actor_rank = policy.rank(actor.rank)?;
    let actor_position = actor_rank.position;
    let who = format!("m{} ({})", actor_id, actor_rank.name);
    let focus = |all: Vec<usize>, junior: &dyn Fn(usize) -> bool| {
        let some: Vec<usize> = all.iter().copied().filter(|i| junior(*i)).collect();
        if step.focus && !some.is_empty() {
            some
        } else {
            all
        }
    };
    let outranks = |rank: RankId| {
        policy
            .rank(rank)
            .is_some_and(|r| actor_rank.seniority().outranks(r.seniority()))
    };
    let members = focus((0..org.members.len()).collect(), &|i| {
        outranks(org.members[i].rank)
    });
    let ranks = focus((0..org.ranks.len()).collect(), &|i| {
        outranks(org.ranks[i].id)
    });
    // Members the actor may manage, among the junior ones (the `may_*` checks still decide
    // the rest of the action).
    let managed = focus(members.clone(), &|i| {
        policy
            .may_manage_member(actor_id, org.members[i].id)
            .is_ok()
    });
    let pick_member = |i: &Index| members[i.index(members.len())];
    let pick_managed = |i: &Index| managed[i.index(managed.len())];
    let pick_rank = |i: &Index| ranks[i.index(ranks.len())];

    let report = |description: String, outcome: Result<(), Refusal>| Report {
        actor: actor_i,
        kind: step.action.kind(),
        description: format!("{who} {description}"),
        outcome,
    };

    let mut next = state.org.clone();
    let (description, outcome) = match &step.action {
        Action::ChangeRank { target, rank } => {
            let t = pick_managed(target);
            let assignable = focus(ranks.clone(), &|r| {
                policy
                    .may_assign_rank(actor_id, org.ranks[r].id, None)
                    .is_ok()
            });
            let rank = &org.ranks[assignable[rank.index(assignable.len())]];
            let target = &org.members[t];
            let outcome = policy
                .may_manage_member(actor_id, target.id)
                .and_then(|()| policy.may_assign_rank(actor_id, rank.id, Some(target.id)));
            next.members[t].rank = rank.id;
            (
                format!(
                    "changes the rank of m{} from #{} to #{}",
                    target.id, target.rank, rank.id
                ),
                outcome,
            )
        }
        Action::CreateRank { draft, owner } => {
            let id = RankId(state.next_rank);
            let after = Rank {
                id,
                name: format!("r{id}"),
                position: actor_position.saturating_add(draft.position),
                is_owner: *owner,
                permissions: draft.permissions.resolve(actor_perms),
                tri_state: draft.tri_state.resolve(actor_perms),
                scope: draft.scope.clone(),
                out_of_scope: draft.out_of_scope,
                member_scope: draft.member_scope,
            };
            let outcome = policy.may_write_rank(actor_id, None, &after);
            let description = format!("creates {}", describe_rank(&after));
            if outcome.is_ok() {
                state.next_rank += 1;
            }
            next.ranks.push(after);
            (description, outcome)
        }
        Action::EditRank { rank, edit } => {
            let r = pick_rank(rank);
            let before = &org.ranks[r];
            let mut after = before.clone();
            match edit {
                RankEdit::Permissions(p) => after.permissions = p.resolve(actor_perms),
                RankEdit::TriState(p) => after.tri_state = p.resolve(actor_perms),
                RankEdit::Scope(s) => after.scope = s.clone(),
                RankEdit::OutOfScope(o) => after.out_of_scope = *o,
                RankEdit::MemberScope(m) => after.member_scope = *m,
                RankEdit::Position(offset) => {
                    after.position = actor_position.saturating_add(*offset)
                }
                RankEdit::Everything(d) => {
                    after.permissions = d.permissions.resolve(actor_perms);
                    after.tri_state = d.tri_state.resolve(actor_perms);
                    after.scope = d.scope.clone();
                    after.out_of_scope = d.out_of_scope;
                    after.member_scope = d.member_scope;
                    after.position = actor_position.saturating_add(d.position);
                }
                RankEdit::MakeOwner => after.is_owner = true,
            }
            let outcome = policy.may_write_rank(actor_id, Some(before), &after);
            let description = format!(
                "edits {} into {}",
                describe_rank(before),
                describe_rank(&after)
            );
            next.ranks[r] = after;
            (description, outcome)
        }
        Action::CloneRank {
            source,
            into,
            position,
        } => {
            let source = &org.ranks[source.index(org.ranks.len())];
            let (before, mut after, slot) = match into {
                Some(into) => {
                    let r = pick_rank(into);
                    (Some(&org.ranks[r]), org.ranks[r].clone(), Some(r))
                }
                None => {
                    let id = RankId(state.next_rank);
                    let after = Rank {
                        id,
                        name: format!("r{id}"),
                        position: actor_position.saturating_add(*position),
                        ..source.clone()
                    };
                    (None, after, None)
                }
            };
            after.is_owner = source.is_owner;
            after.permissions = source.permissions;
            after.tri_state = source.tri_state;
            after.scope = source.scope.clone();
            after.out_of_scope = source.out_of_scope;
            after.member_scope = source.member_scope;
            let outcome = policy.may_write_rank(actor_id, before, &after);
            let description = match before {
                Some(before) => format!(
                    "clones #{} into {} giving {}",
                    source.id,
                    describe_rank(before),
                    describe_rank(&after)
                ),
                None => format!("clones #{} as {}", source.id, describe_rank(&after)),
            };
            match slot {
                Some(r) => next.ranks[r] = after,
                None => {
                    if outcome.is_ok() {
                        state.next_rank += 1;
                    }
                    next.ranks.push(after);
                }
            }
            (description, outcome)
        }
        Action::DeleteRank { rank } => {
            let r = pick_rank(rank);
            let id = org.ranks[r].id;
            let outcome = policy.may_delete_rank(actor_id, id);
            next.ranks.remove(r);
            next.grants.retain(|g| g.subject != Subject::Rank(id));
            (format!("deletes rank #{id} (and its grants)"), outcome)
        }
        Action::Override {
            target,
            permission,
            kind,
        } => {
            // Members the actor may override something for.
            let overridable = focus(members.clone(), &|i| {
                let m = &org.members[i];
                policy.rank(m.rank).is_some_and(|r| {
                    r.tri_state
                        .iter()
                        .any(|p| policy.may_override(actor_id, m.id, p, false).is_ok())
                })
            });
            let t = overridable[target.index(overridable.len())];
            let target = &org.members[t];
            let tri: Vec<Permission> = policy
                .rank(target.rank)
                .map(|r| {
                    POOL.iter()
                        .copied()
                        .filter(|p| r.tri_state.contains(*p))
                        .collect()
                })
                .unwrap_or_default();
            let p = if step.focus && !tri.is_empty() {
                tri[permission.index(tri.len())]
            } else {
                POOL[permission.index(POOL.len())]
            };
            let allow = match kind {
                OverrideKind::Allow => true,
                OverrideKind::Deny => false,
                OverrideKind::Clear => target.deny.contains(p),
            };
            let outcome = policy.may_override(actor_id, target.id, p, allow);
            let m = &mut next.members[t];
            match kind {
                OverrideKind::Allow => {
                    m.allow.insert(p);
                    m.deny.remove(p);
                }
                OverrideKind::Deny => {
                    m.deny.insert(p);
                    m.allow.remove(p);
                }
                OverrideKind::Clear => {
                    m.allow.remove(p);
                    m.deny.remove(p);
                }
            }
            (
                format!("{kind:?} override of {} for m{}", p.key(), target.id),
                outcome,
            )
        }
        Action::AddGrant { grant } => {
            let grant = grant.resolve(org, &ranks, &members);
            let outcome = policy.may_change_grant(actor_id, &grant, true);
            next.grants.push(grant);
            (format!("adds grant {}", describe_grant(&grant)), outcome)
        }
        Action::RemoveGrant { grant } => {
            if org.grants.is_empty() {
                return None;
            }
            let g = grant.index(org.grants.len());
            let grant = org.grants[g];
            let outcome = policy.may_change_grant(actor_id, &grant, false);
            next.grants.remove(g);
            (format!("removes grant {}", describe_grant(&grant)), outcome)
        }
        Action::JoinWorkgroup { member, workgroup } => {
            let t = pick_member(member);
            let w = WorkgroupId(*workgroup);
            let target = &org.members[t];
            if target.workgroups.contains(&w) {
                return None;
            }
            // Moderators choose their workgroup's ordinary members, workgroup managers any:
            // always someone junior within the actor's member scope, and the workgroup's
            // access must be the actor's.
            let outcome = policy.may_change_workgroup_member(actor_id, w, target.id, true, false);
            next.members[t].workgroups.push(w);
            (format!("puts m{} into workgroup {w}", target.id), outcome)
        }
        Action::LeaveWorkgroup { member, workgroup } => {
            let t = pick_member(member);
            let w = WorkgroupId(*workgroup);
            let target = &org.members[t];
            if !target.workgroups.contains(&w) {
                return None;
            }
            let moderator = target.moderates.contains(&w);
            let outcome =
                policy.may_change_workgroup_member(actor_id, w, target.id, false, moderator);
            next.members[t].workgroups.retain(|x| *x != w);
            (
                format!("takes m{} out of workgroup {w}", target.id),
                outcome,
            )
        }
        Action::CreateToken { permissions, level } => {
            let token = Token {
                owner: actor_id,
                requested: permissions.resolve(actor_perms),
                level: *level,
            };
            let outcome = if policy.check(actor_ix, Permission::ApiTokensCreateOwn, None) {
                Ok(())
            } else {
                Err(Refusal::MissingPermission(Permission::ApiTokensCreateOwn))
            };
            let description = format!(
                "creates a token for [{}] up to {}",
                token.requested.keys().join(" "),
                token.level
            );
            if outcome.is_ok() {
                state.tokens.push(token);
            }
            (description, outcome)
        }
    };
    if outcome.is_ok() {
        state.org = next;
    }
    Some(report(description, outcome))
}

// ---- rights -----------------------------------------------------------------------------

/// What a member can do: their effective permissions, their access level on each printer (in
/// the organization's order) and what their tokens can do (narrowed at use).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rights {
    pub permissions: PermissionSet,
    pub levels: Vec<AccessLevel>,
}

/// A token's rights at use: what it asked for, within what its owner holds now.
pub fn token_rights(policy: &Policy, token: &Token) -> Option<Rights> {
    let owner = policy.rights(policy.member_ix(token.owner)?);
    Some(Rights {
        permissions: token.requested.intersection(owner.permissions),
        levels: policy
            .org()
            .printers
            .iter()
            .map(|p| {
                policy
                    .printer_ix(p.id)
                    .map_or(AccessLevel::None, |ix| owner.level(ix))
                    .min(token.level)
            })
            .collect(),
    })
}

/// Every member's rights, their own and their tokens', indexed like `org.members`.
pub fn rights(state: &State) -> Vec<Rights> {
    let policy = Policy::new(state.org.clone());
    let org = policy.org();
    org.members
        .iter()
        .map(|m| {
            let Some(ix) = policy.member_ix(m.id) else {
                return Rights {
                    permissions: PermissionSet::EMPTY,
                    levels: vec![AccessLevel::None; org.printers.len()],
                };
            };
            let compiled = policy.rights(ix);
            let mut rights = Rights {
                permissions: compiled.permissions,
                levels: org
                    .printers
                    .iter()
                    .map(|p| {
                        policy
                            .printer_ix(p.id)
                            .map_or(AccessLevel::None, |p| compiled.level(p))
                    })
                    .collect(),
            };
            for token in state.tokens.iter().filter(|t| t.owner == m.id) {
                if let Some(t) = token_rights(&policy, token) {
                    rights.permissions = rights.permissions.union(t.permissions);
                    for (level, token_level) in rights.levels.iter_mut().zip(t.levels) {
                        *level = (*level).max(token_level);
                    }
                }
            }
            rights
        })
        .collect()
}

/// Tokens never exceed their owner's current rights.
pub fn check_tokens(state: &State) -> Result<(), String> {
    let policy = Policy::new(state.org.clone());
    for token in &state.tokens {
        let Some(ix) = policy.member_ix(token.owner) else {
            continue;
        };
        let owner = policy.rights(ix);
        let Some(t) = token_rights(&policy, token) else {
            continue;
        };
        let extra = t.permissions.difference(owner.permissions);
        if !extra.is_empty() {
            return Err(format!(
                "token of m{} exceeds its owner: [{}]",
                token.owner,
                extra.keys().join(" ")
            ));
        }
        for (p, level) in policy.org().printers.iter().zip(&t.levels) {
            let have = policy
                .printer_ix(p.id)
                .map_or(AccessLevel::None, |p| owner.level(p));
            if *level > have {
                return Err(format!(
                    "token of m{} has {level} on printer {} (owner: {have})",
                    token.owner, p.id
                ));
            }
        }
    }
    Ok(())
}

/// The first right some member holds after an accepted action by `actor` that neither they nor
/// the actor held before: `after[m] ⊆ before[m] ∪ before[actor]`, levels by maximum.
pub fn escalation(org: &Org, before: &[Rights], after: &[Rights], actor: usize) -> Option<String> {
    let a = &before[actor];
    for (m, (was, now)) in before.iter().zip(after).enumerate() {
        let who = format!("m{}", org.members[m].id);
        let role = if m == actor { " (the actor)" } else { "" };
        let gained = now
            .permissions
            .difference(was.permissions.union(a.permissions));
        if !gained.is_empty() {
            return Some(format!(
                "{who}{role} gained permission(s) [{}]",
                gained.keys().join(" ")
            ));
        }
        if m == actor && !now.permissions.is_subset_of(was.permissions) {
            return Some(format!(
                "the actor {who} gained [{}]",
                now.permissions.difference(was.permissions).keys().join(" ")
            ));
        }
        for (p, printer) in org.printers.iter().enumerate() {
            let bound = was.levels[p].max(a.levels[p]);
            if now.levels[p] > bound {
                return Some(format!(
                    "{who}{role} gained {} on printer {} (had {}, actor had {})",
                    now.levels[p], printer.id, was.levels[p], a.levels[p]
                ));
            }
        }
    }
    None
}

// ---- descriptions -----------------------------------------------------------------------

fn keys(set: PermissionSet) -> String {
    if set == PermissionSet::all() {
        "ALL".into()
    } else {
        set.keys().join(" ")
    }
}

fn describe_scope(s: &PrinterScope) -> String {
    if s.all {
        return "all".into();
    }
    let mut out = Vec::new();
    if !s.sites.is_empty() {
        out.push(format!(
            "sites {:?}",
            s.sites.iter().map(|x| x.get()).collect::<Vec<_>>()
        ));
    }
    if !s.groups.is_empty() {
        out.push(format!(
            "groups {:?}",
            s.groups.iter().map(|x| x.get()).collect::<Vec<_>>()
        ));
    }
    if !s.models.is_empty() {
        out.push(format!(
            "models {:?}",
            s.models.iter().map(|x| x.get()).collect::<Vec<_>>()
        ));
    }
    if !s.printers.is_empty() {
        out.push(format!(
            "printers {:?}",
            s.printers.iter().map(|x| x.get()).collect::<Vec<_>>()
        ));
    }
    if out.is_empty() {
        "none".into()
    } else {
        out.join(", ")
    }
}

pub fn describe_rank(r: &Rank) -> String {
    if r.is_owner {
        return format!("#{} {:?} OWNER pos {}", r.id, r.name, r.position);
    }
    format!(
        "#{} {:?} pos {} perms [{}] tri [{}] scope {{{}}} {} members:{}",
        r.id,
        r.name,
        r.position,
        keys(r.permissions),
        keys(r.tri_state),
        describe_scope(&r.scope),
        r.out_of_scope.key(),
        r.member_scope.key()
    )
}

pub fn describe_grant(g: &Grant) -> String {
    let subject = match g.subject {
        Subject::Rank(r) => format!("rank #{r}"),
        Subject::Workgroup(w) => format!("workgroup {w}"),
        Subject::Member(m) => format!("member m{m}"),
    };
    let target = match g.target {
        Target::AllPrinters => "all printers".to_string(),
        Target::Site(s) => format!("site {s}"),
        Target::Group(x) => format!("group {x}"),
        Target::Model(x) => format!("model {x}"),
        Target::Printer(x) => format!("printer {x}"),
    };
    format!("{subject} -> {target} @ {}", g.level)
}

/// The facts, compactly, for a counterexample.
pub fn describe(org: &Org) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "  printers:");
    for p in &org.printers {
        let _ = writeln!(
            out,
            "    p{} site {} model {:?} groups {:?}",
            p.id,
            p.site,
            p.model.map(|m| m.get()),
            p.groups.iter().map(|g| g.get()).collect::<Vec<_>>()
        );
    }
    let _ = writeln!(out, "  ranks:");
    for r in &org.ranks {
        let _ = writeln!(out, "    {}", describe_rank(r));
    }
    let _ = writeln!(out, "  members:");
    for m in &org.members {
        let _ = writeln!(
            out,
            "    m{} rank #{}{} allow [{}] deny [{}] workgroups {:?} moderates {:?} site {:?}",
            m.id,
            m.rank,
            if m.active { "" } else { " INACTIVE" },
            keys(m.allow),
            keys(m.deny),
            m.workgroups.iter().map(|w| w.get()).collect::<Vec<_>>(),
            m.moderates.iter().map(|w| w.get()).collect::<Vec<_>>(),
            m.site.map(|s| s.get())
        );
    }
    let _ = writeln!(out, "  grants:");
    for g in &org.grants {
        let _ = writeln!(out, "    {}", describe_grant(g));
    }
    out
}
