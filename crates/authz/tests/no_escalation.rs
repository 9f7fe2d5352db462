//! No administrative action lets anyone gain a right they did not have.
//!
//! The property: random sequences of administrative actions by non-owner members against a
//! random organization, each applied only when the `Policy::may_*` check on the policy
//! compiled from the current facts allows it. After every accepted action by actor A, every
//! member M has only rights that M or A had before: `permissions_after(M) ⊆
//! permissions_before(M) ∪ permissions_before(A)` and, on every printer,
//! `level_after(M) ≤ max(level_before(M), level_before(A))`, counting the rights of M's API
//! tokens too. In particular A's own rights never grow, whether directly or through a rank, an
//! override, a token, a grant or a workgroup. The targeted tests below show specific
//! escalation attempts being refused, with the reason.
//!
//! The actions (see `escalation_model`), each by a random active non-owner member:
//! - change a member's rank: `may_manage_member` and `may_assign_rank`;
//! - create, edit (permissions, tri-state set, scope, out-of-scope visibility, member scope,
//!   position, all at once, or into an owner rank), clone (into a new rank or into an
//!   existing one) and delete ranks: `may_write_rank(before, after)`, `may_delete_rank`
//!   (deleting a rank drops its grants);
//! - allow, deny or clear a tri-state override: `may_override`; clearing a deny gives the
//!   rank's permission back, so it is checked as an allow;
//! - add and remove grants for ranks, workgroups and members: `may_change_grant`;
//! - put a member into, or take them out of, a workgroup: `may_change_workgroup_member` (the
//!   actor moderates the workgroup or holds `workgroups.manage`, the member is junior and in
//!   the actor's member scope, and joining hands out only access the actor has);
//! - create an API token (with `api_tokens.create.own`): it asks for permissions and a
//!   level and is narrowed to its owner's current rights at every use; `check_tokens` makes
//!   sure no token ever exceeds its owner.
//!
//! Failures shrink to a short sequence and print the facts before the offending step, the
//! accepted steps and the right gained. `PROPTEST_CASES` overrides the number of cases.

mod escalation_model;

use std::cell::RefCell;
use std::collections::BTreeMap;

use authz::ids::{MemberId, PrinterGroupId, PrinterId, RankId, SiteId, WorkgroupId};
use authz::{
    AccessLevel, Grant, Member, MemberScope, Org, OutOfScope, Permission, PermissionSet, Policy,
    Printer, PrinterScope, Rank, Refusal, Subject, Target,
};
use escalation_model::{
    KINDS, State, apply, check_tokens, describe, escalation, org, rights, steps,
};
use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};

const CASES: u32 = 1024;
const MAX_STEPS: usize = 30;

#[derive(Default)]
struct Stats {
    applied: [usize; KINDS.len()],
    refused: [usize; KINDS.len()],
    reasons: BTreeMap<String, usize>,
}

#[test]
fn no_administrative_action_escalates_rights() {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(CASES);
    let config = Config {
        cases,
        failure_persistence: None,
        // Shrinking a failing run of 30 steps takes a few thousand cheap iterations.
        max_shrink_iters: 100_000,
        max_shrink_time: 120_000,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let stats = RefCell::new(Stats::default());
    let result = runner.run(&(org(), steps(MAX_STEPS)), |(org, steps)| {
        let mut state = State::new(org);
        let mut before = rights(&state);
        let mut trace = Vec::new();
        for (n, step) in steps.iter().enumerate() {
            let facts = state.org.clone();
            let Some(report) = apply(&mut state, step) else {
                continue;
            };
            let mut stats = stats.borrow_mut();
            match &report.outcome {
                Ok(()) => stats.applied[report.kind] += 1,
                Err(refusal) => {
                    stats.refused[report.kind] += 1;
                    let reason = format!("{refusal:?}");
                    let reason = reason
                        .split(['(', ' '])
                        .next()
                        .unwrap_or_default()
                        .to_string();
                    *stats
                        .reasons
                        .entry(format!("{}: {reason}", KINDS[report.kind]))
                        .or_default() += 1;
                    continue;
                }
            }
            trace.push(format!("  step {n}: {}", report.description));
            check_tokens(&state).map_err(TestCaseError::fail)?;
            let after = rights(&state);
            if let Some(gain) = escalation(&state.org, &before, &after, report.actor) {
                return Err(TestCaseError::fail(format!(
                    "escalation at step {n}: {}\n  {gain}\nfacts before the step:\n{}\
                     accepted steps so far:\n{}",
                    report.description,
                    describe(&facts),
                    trace.join("\n")
                )));
            }
            before = after;
        }
        Ok(())
    });
    match result {
        Ok(()) => {}
        Err(TestError::Fail(reason, (org, steps))) => {
            panic!(
                "{reason}\nminimal input: {} step(s) from\n{}",
                steps.len(),
                describe(&org)
            )
        }
        Err(e) => panic!("{e}"),
    }
    let stats = stats.into_inner();
    for (i, kind) in KINDS.iter().enumerate() {
        println!(
            "{kind:>16}: {:>5} applied {:>5} refused",
            stats.applied[i], stats.refused[i]
        );
    }
    for (reason, count) in &stats.reasons {
        println!("  refused {reason}: {count}");
    }
    // The property only means something if every kind of action does get through sometimes.
    for (i, kind) in KINDS.iter().enumerate() {
        assert!(
            cases < 64 || stats.applied[i] > 0,
            "no {kind} action was ever applied: the generators need tuning"
        );
    }
}

// ---- targeted escalation attempts -------------------------------------------------------

use Permission as P;

fn set(permissions: &[Permission]) -> PermissionSet {
    permissions.iter().copied().collect()
}

const OWNER: RankId = RankId(1);
const ADMIN: RankId = RankId(2);
const MANAGER: RankId = RankId(3);
const MEMBER: RankId = RankId(4);
const AUDITOR: RankId = RankId(5);

const ALICE: MemberId = MemberId(2); // admin
const BOB: MemberId = MemberId(3); // manager
const CAROL: MemberId = MemberId(4); // member
const DAN: MemberId = MemberId(5); // auditor

const W1: WorkgroupId = WorkgroupId(1);
const W2: WorkgroupId = WorkgroupId(2);

fn rank(id: RankId, position: i32, permissions: &[Permission], tri_state: &[Permission]) -> Rank {
    Rank {
        id,
        name: format!("rank {id}"),
        position,
        is_owner: false,
        permissions: set(permissions),
        tri_state: set(tri_state),
        scope: PrinterScope {
            sites: vec![SiteId(1)],
            ..PrinterScope::default()
        },
        out_of_scope: OutOfScope::Hidden,
        member_scope: MemberScope::Everyone,
    }
}

fn member(
    id: MemberId,
    rank: RankId,
    workgroups: &[WorkgroupId],
    moderates: &[WorkgroupId],
) -> Member {
    Member {
        id,
        name: format!("member {id}"),
        rank,
        allow: PermissionSet::EMPTY,
        deny: PermissionSet::EMPTY,
        workgroups: workgroups.to_vec(),
        moderates: moderates.to_vec(),
        site: Some(SiteId(1)),
        active: true,
    }
}

/// Site 1 has printers 1 and 2, site 2 has printer 3. Alice (admin) can print on site 1 only
/// and lacks audit.view (tri-state in Dan's auditor rank); she is in workgroup 1 and moderates workgroups 1 and 2. Workgroup 2
/// manages printer 3.
fn fixture() -> Policy {
    let admin_powers = [
        P::MembersManage,
        P::MembersOverride,
        P::RanksManage,
        P::PrinterAccessManage,
        P::QueueSubmit,
        P::PrinterControlStart,
    ];
    let mut owner = rank(OWNER, 0, &[], &[]);
    owner.is_owner = true;
    let org = Org {
        ranks: vec![
            owner,
            rank(ADMIN, 10, &admin_powers, &[]),
            rank(
                MANAGER,
                20,
                &[P::QueueSubmit, P::PrinterControlStart],
                &[P::QueueSubmit, P::PrinterControlStart],
            ),
            rank(MEMBER, 30, &[P::QueueSubmit], &[P::PrinterControlStart]),
            rank(AUDITOR, 40, &[], &[P::AuditView]),
        ],
        members: vec![
            member(MemberId(1), OWNER, &[], &[]),
            member(ALICE, ADMIN, &[W1], &[W1, W2]),
            member(BOB, MANAGER, &[W1], &[]),
            member(CAROL, MEMBER, &[], &[]),
            member(DAN, AUDITOR, &[W2], &[]),
        ],
        printers: vec![
            Printer {
                id: PrinterId(1),
                site: SiteId(1),
                model: None,
                groups: vec![PrinterGroupId(1)],
            },
            Printer {
                id: PrinterId(2),
                site: SiteId(1),
                model: None,
                groups: vec![],
            },
            Printer {
                id: PrinterId(3),
                site: SiteId(2),
                model: None,
                groups: vec![],
            },
        ],
        grants: vec![
            Grant {
                subject: Subject::Rank(ADMIN),
                target: Target::Site(SiteId(1)),
                level: AccessLevel::Print,
            },
            Grant {
                subject: Subject::Rank(MANAGER),
                target: Target::AllPrinters,
                level: AccessLevel::Queue,
            },
            Grant {
                subject: Subject::Rank(MEMBER),
                target: Target::Printer(PrinterId(1)),
                level: AccessLevel::View,
            },
            Grant {
                subject: Subject::Workgroup(W2),
                target: Target::Printer(PrinterId(3)),
                level: AccessLevel::Manage,
            },
        ],
        ..Org::default()
    };
    Policy::new(org)
}

fn rank_of(policy: &Policy, id: RankId) -> Rank {
    policy
        .rank(id)
        .cloned()
        .unwrap_or_else(|| panic!("no rank {id}"))
}

#[test]
fn fixture_allows_legitimate_administration() {
    let policy = fixture();
    assert_eq!(policy.may_manage_member(ALICE, BOB), Ok(()));
    assert_eq!(policy.may_assign_rank(ALICE, MEMBER, None), Ok(()));
    assert_eq!(
        policy.may_override(ALICE, CAROL, P::PrinterControlStart, true),
        Ok(())
    );
    let grant = Grant {
        subject: Subject::Member(CAROL),
        target: Target::Site(SiteId(1)),
        level: AccessLevel::Print,
    };
    assert_eq!(policy.may_change_grant(ALICE, &grant, true), Ok(()));
    let mut member_rank = rank_of(&policy, MEMBER);
    member_rank.permissions.insert(P::PrinterControlStart);
    assert_eq!(
        policy.may_write_rank(ALICE, Some(&rank_of(&policy, MEMBER)), &member_rank),
        Ok(())
    );
}

#[test]
fn grants_to_oneself_are_refused() {
    let policy = fixture();
    let queue_site1 = |subject| Grant {
        subject,
        target: Target::Site(SiteId(1)),
        level: AccessLevel::Queue,
    };
    // Her own workgroup: she is a member of it.
    assert_eq!(
        policy.may_change_grant(ALICE, &queue_site1(Subject::Workgroup(W1)), true),
        Err(Refusal::SelfChange)
    );
    assert_eq!(
        policy.may_change_grant(ALICE, &queue_site1(Subject::Member(ALICE)), true),
        Err(Refusal::SelfChange)
    );
    assert!(matches!(
        policy.may_change_grant(ALICE, &queue_site1(Subject::Rank(ADMIN)), true),
        Err(Refusal::NotJunior(_))
    ));
    // Access she does not have herself, to a junior.
    let view_p3 = Grant {
        subject: Subject::Member(CAROL),
        target: Target::Printer(PrinterId(3)),
        level: AccessLevel::View,
    };
    assert_eq!(
        policy.may_change_grant(ALICE, &view_p3, true),
        Err(Refusal::CannotGrantAccess {
            printer: PrinterId(3),
            need: AccessLevel::View,
            have: AccessLevel::None
        })
    );
}

#[test]
fn ranks_equal_or_above_ones_own_cannot_be_assigned() {
    let policy = fixture();
    assert!(matches!(
        policy.may_assign_rank(ALICE, ADMIN, None),
        Err(Refusal::NotJunior(_))
    ));
    assert!(matches!(
        policy.may_assign_rank(ALICE, OWNER, None),
        Err(Refusal::NotJunior(_))
    ));
    // A tri-state permission alone grants nothing to a newcomer...
    assert_eq!(policy.may_assign_rank(ALICE, AUDITOR, None), Ok(()));
    // ...but a member already allowed it individually would gain it with the rank.
    let mut facts = policy.org().clone();
    facts
        .members
        .iter_mut()
        .filter(|m| m.id == BOB)
        .for_each(|m| m.allow = set(&[P::AuditView]));
    let policy = Policy::new(facts);
    assert_eq!(
        policy.may_assign_rank(ALICE, AUDITOR, Some(BOB)),
        Err(Refusal::CannotGrant(set(&[P::AuditView])))
    );
    // A junior rank bundling a permission she lacks.
    let mut facts = policy.org().clone();
    facts
        .ranks
        .iter_mut()
        .filter(|r| r.id == AUDITOR)
        .for_each(|r| r.permissions = set(&[P::AuditView]));
    let policy = Policy::new(facts);
    assert_eq!(
        policy.may_assign_rank(ALICE, AUDITOR, None),
        Err(Refusal::CannotGrant(set(&[P::AuditView])))
    );
    // Nor can she change her own rank, or a peer's.
    assert_eq!(
        policy.may_manage_member(ALICE, ALICE),
        Err(Refusal::SelfChange)
    );
}

#[test]
fn overrides_cannot_raise_oneself_or_hand_out_what_one_lacks() {
    let policy = fixture();
    assert_eq!(
        policy.may_override(ALICE, ALICE, P::AuditView, true),
        Err(Refusal::SelfChange)
    );
    assert_eq!(
        policy.may_override(ALICE, DAN, P::AuditView, true),
        Err(Refusal::CannotGrant(set(&[P::AuditView])))
    );
    assert_eq!(
        policy.may_override(ALICE, CAROL, P::RanksManage, true),
        Err(Refusal::NotTriState("ranks.manage"))
    );
    // Denying is fine: it only takes away.
    assert_eq!(policy.may_override(ALICE, DAN, P::AuditView, false), Ok(()));
}

#[test]
fn ones_own_rank_and_owner_ranks_cannot_be_written() {
    let policy = fixture();
    let admin = rank_of(&policy, ADMIN);
    let mut more = admin.clone();
    more.permissions.insert(P::AuditView);
    assert!(matches!(
        policy.may_write_rank(ALICE, Some(&admin), &more),
        Err(Refusal::NotJunior(_))
    ));
    let mut wider = admin.clone();
    wider.scope = PrinterScope::all();
    assert!(matches!(
        policy.may_write_rank(ALICE, Some(&admin), &wider),
        Err(Refusal::NotJunior(_))
    ));
    // Moving a junior rank up to her own position.
    let mut peer = rank_of(&policy, MANAGER);
    peer.position = admin.position;
    assert!(matches!(
        policy.may_write_rank(ALICE, Some(&rank_of(&policy, MANAGER)), &peer),
        Err(Refusal::NotJunior(_))
    ));
    // Creating an owner rank, or a junior rank with a permission she lacks.
    let mut owner = rank(RankId(9), 50, &[], &[]);
    owner.is_owner = true;
    assert_eq!(
        policy.may_write_rank(ALICE, None, &owner),
        Err(Refusal::OwnerRank)
    );
    let auditor_like = rank(RankId(9), 50, &[], &[P::AuditView]);
    assert_eq!(
        policy.may_write_rank(ALICE, None, &auditor_like),
        Err(Refusal::CannotGrant(set(&[P::AuditView])))
    );
}

#[test]
fn junior_ranks_cannot_be_widened_beyond_ones_own_access() {
    let policy = fixture();
    // Managers queue on all printers, but only within their scope (site 1). Widening the
    // scope to everything would give them printer 3, which Alice cannot see.
    let manager = rank_of(&policy, MANAGER);
    let mut wider = manager.clone();
    wider.scope = PrinterScope::all();
    assert_eq!(
        policy.may_write_rank(ALICE, Some(&manager), &wider),
        Err(Refusal::CannotGrantAccess {
            printer: PrinterId(3),
            need: AccessLevel::Queue,
            have: AccessLevel::None
        })
    );
    // Showing out-of-scope printers (view only) is also access she lacks on printer 3.
    let member = rank_of(&policy, MEMBER);
    let mut visible = member.clone();
    visible.out_of_scope = OutOfScope::VisibleLocked;
    assert_eq!(
        policy.may_write_rank(ALICE, Some(&member), &visible),
        Err(Refusal::CannotGrantAccess {
            printer: PrinterId(3),
            need: AccessLevel::View,
            have: AccessLevel::None
        })
    );
    // Nor can a junior rank's grant go beyond her own level.
    let manage = Grant {
        subject: Subject::Rank(MANAGER),
        target: Target::Site(SiteId(1)),
        level: AccessLevel::Manage,
    };
    assert_eq!(
        policy.may_change_grant(ALICE, &manage, true),
        Err(Refusal::CannotGrantAccess {
            printer: PrinterId(1),
            need: AccessLevel::Manage,
            have: AccessLevel::Print
        })
    );
}

#[test]
fn joining_a_workgroup_with_more_access_is_refused() {
    let policy = fixture();
    // Alice moderates workgroup 2, which manages printer 3; she cannot put herself (or anyone)
    // into it, since that would hand out access she does not have.
    assert_eq!(
        policy.may_join_workgroup(ALICE, W2),
        Err(Refusal::CannotGrantAccess {
            printer: PrinterId(3),
            need: AccessLevel::Manage,
            have: AccessLevel::None
        })
    );
    // Workgroup 1 has no grants: joining it gives nothing.
    assert_eq!(policy.may_join_workgroup(ALICE, W1), Ok(()));
}

#[test]
fn workgroup_membership_follows_seniority_and_member_scope() {
    let mut facts = fixture().org().clone();
    // Carol (member rank) moderates workgroup 1; Bob (manager, more senior) is in it.
    facts.members[3].moderates = vec![W1];
    facts.members[3].workgroups = vec![W1];
    let policy = Policy::new(facts.clone());
    // A moderator cannot take a more senior member out of their workgroup, nor add one.
    assert_eq!(
        policy.may_change_workgroup_member(CAROL, W1, BOB, false, false),
        Err(Refusal::NotJunior("manage members"))
    );
    assert_eq!(
        policy.may_change_workgroup_member(CAROL, W1, DAN, true, false),
        Ok(()),
        "Dan's auditor rank is junior to Carol's"
    );
    // Nor touch moderators, nor act on workgroups they do not moderate.
    assert_eq!(
        policy.may_change_workgroup_member(CAROL, W1, DAN, true, true),
        Err(Refusal::MissingPermission(P::WorkgroupsManage))
    );
    assert_eq!(
        policy.may_change_workgroup_member(CAROL, W2, DAN, false, false),
        Err(Refusal::MissingPermission(P::WorkgroupsManage))
    );
    // Nobody changes their own workgroup membership; the owner stays above everyone.
    assert_eq!(
        policy.may_change_workgroup_member(CAROL, W1, CAROL, false, false),
        Err(Refusal::SelfChange)
    );
    assert_eq!(
        policy.may_change_workgroup_member(ALICE, W1, MemberId(1), true, false),
        Err(Refusal::NotJunior("manage members"))
    );

    // A rank that manages only members of the workgroups it moderates cannot pull someone
    // into its workgroup to bring them into its scope.
    facts.ranks[1].member_scope = MemberScope::ModeratedWorkgroups;
    facts.members[1].moderates = vec![W1];
    facts.ranks[1].permissions = facts.ranks[1]
        .permissions
        .union(set(&[P::WorkgroupsManage]));
    let policy = Policy::new(facts);
    assert_eq!(
        policy.may_change_workgroup_member(ALICE, W1, DAN, true, false),
        Err(Refusal::OutsideMemberScope("the workgroups you moderate"))
    );
    assert_eq!(
        policy.may_manage_member(ALICE, DAN),
        Err(Refusal::OutsideMemberScope("the workgroups you moderate"))
    );
    // Bob is already in workgroup 1, which Alice moderates: within her scope.
    assert_eq!(
        policy.may_change_workgroup_member(ALICE, W1, BOB, false, false),
        Ok(())
    );
}

#[test]
fn a_narrowed_credential_hands_out_only_what_it_carries() {
    let policy = fixture();
    let through_token = |scope: &[Permission]| authz::Acting {
        member: ALICE,
        scope: Some(set(scope)),
    };
    // Alice holds queue.submit and may hand it out; a token limited to members.manage may not.
    assert_eq!(policy.may_assign_rank(ALICE, MEMBER, None), Ok(()));
    assert_eq!(
        policy.may_assign_rank(through_token(&[P::MembersManage]), MEMBER, None),
        Err(Refusal::CannotGrant(set(&[P::QueueSubmit])))
    );
    assert_eq!(
        policy.may_manage_member(through_token(&[P::QueueSubmit]), BOB),
        Err(Refusal::MissingPermission(P::MembersManage))
    );
    // Owners are limited by their token's scope too.
    let owner_token = authz::Acting {
        member: MemberId(1),
        scope: Some(set(&[P::RanksManage])),
    };
    let mut rank = rank_of(&policy, MEMBER);
    rank.id = RankId(99);
    rank.position = 50;
    assert_eq!(
        policy.may_write_rank(owner_token, None, &rank),
        Err(Refusal::CannotGrant(set(&[
            P::QueueSubmit,
            P::PrinterControlStart
        ])))
    );
    assert_eq!(policy.may_write_rank(MemberId(1), None, &rank), Ok(()));
}
