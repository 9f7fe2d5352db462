//! The rank presets do what the product documents they reproduce say (the seeds in
//! `/work/shared/seeds`): each preset is loaded into an organization the way an organization
//! founded from it looks (ranks 1.. at positions 10, 20, …, each rank's access as a rank grant
//! on all printers, two sites with printers, one member per rank plus the extras a test
//! needs), and the roles are checked through `Policy::decide` (cross-checked against the fast
//! `Policy::check`) and the administrative checks.
//!
//! - 000 (3DPrinterOS): Advanced users are Regular users until an administrator switches
//!   advanced rights on, for the rank or one user; even then they need access to a printer;
//!   confirming the build tray is clear needs "Can print" access or "any type of access".
//! - 001 (3DPrinterOS): Regular, Advanced, Workgroup Moderator, Organization Admin; only
//!   Organization Admins manage workgroups and create accounts.
//! - 002 (Print&Go): Master, Factory manager, Designer, Operator, in that hierarchy.
//! - 003 (SimplyPrint): the rank templates customers build, tri-state overrides, seniority.
//! - 004 (UltiMaker Digital Factory): Guests' jobs are held for approval by a Member or an
//!   Admin; only an Admin turns approval on.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use authz::ids::{MemberId, PrinterId, RankId, SiteId, WorkgroupId};
use authz::presets::{ADVANCED_RIGHTS, MANAGE_FLEET, RankTemplate};
use authz::{
    AccessLevel, AccessSource, BedClearAccess, Decision, Domain, Grant, Member, Org, Permission,
    PermissionSet, PermissionSource, Policy, Preset, Printer, PrinterScope, Rank, Refusal, Subject,
    Target,
};

use Permission as P;

const SITE_A: SiteId = SiteId(1);
const SITE_B: SiteId = SiteId(2);
/// Two printers at site A, one at site B.
const PRINTER_A: PrinterId = PrinterId(1);
const PRINTER_A2: PrinterId = PrinterId(2);
const PRINTER_B: PrinterId = PrinterId(3);
const WG_A: WorkgroupId = WorkgroupId(1);
const WG_B: WorkgroupId = WorkgroupId(2);

// ---- fixture ----

/// An organization built from rank templates.
struct Fixture {
    org: Org,
}

impl Fixture {
    /// Ranks from `templates` with ids 1.. and positions 10, 20, …; a rank grant on all
    /// printers at the template's access; printers at two sites; one member per rank, named
    /// after the rank, at site A.
    fn new(templates: Vec<RankTemplate>) -> Fixture {
        let mut org = Org::default();
        for (i, template) in templates.into_iter().enumerate() {
            let id = RankId(i as i64 + 1);
            if template.access > AccessLevel::None {
                org.grants.push(Grant {
                    subject: Subject::Rank(id),
                    target: Target::AllPrinters,
                    level: template.access,
                });
            }
            org.ranks.push(Rank {
                id,
                name: template.name.to_string(),
                position: 10 * (i as i32 + 1),
                is_owner: template.is_owner,
                permissions: template.permissions,
                tri_state: template.tri_state,
                scope: template.scope,
                out_of_scope: template.out_of_scope,
                member_scope: template.member_scope,
            });
        }
        org.printers = [
            (PRINTER_A, SITE_A),
            (PRINTER_A2, SITE_A),
            (PRINTER_B, SITE_B),
        ]
        .into_iter()
        .map(|(id, site)| Printer {
            id,
            site,
            model: None,
            groups: Vec::new(),
        })
        .collect();
        let names: Vec<String> = org.ranks.iter().map(|r| r.name.clone()).collect();
        let mut fixture = Fixture { org };
        for name in &names {
            fixture.add_member(name, name, SITE_A);
        }
        fixture
    }

    fn preset(preset: Preset) -> Fixture {
        Fixture::new(preset.ranks())
    }

    fn add_member(&mut self, name: &str, rank: &str, site: SiteId) -> MemberId {
        assert!(
            self.org.members.iter().all(|m| m.name != name),
            "duplicate member {name}"
        );
        let id = MemberId(self.org.members.len() as i64 + 1);
        let rank = self.rank_id(rank);
        self.org.members.push(Member {
            id,
            name: name.to_string(),
            rank,
            allow: PermissionSet::EMPTY,
            deny: PermissionSet::EMPTY,
            workgroups: Vec::new(),
            moderates: Vec::new(),
            site: Some(site),
            active: true,
        });
        id
    }

    fn rank_id(&self, name: &str) -> RankId {
        self.rank(name).id
    }

    fn rank(&self, name: &str) -> &Rank {
        self.org
            .ranks
            .iter()
            .find(|r| r.name == name)
            .unwrap_or_else(|| panic!("no rank {name}"))
    }

    fn rank_mut(&mut self, name: &str) -> &mut Rank {
        self.org
            .ranks
            .iter_mut()
            .find(|r| r.name == name)
            .unwrap_or_else(|| panic!("no rank {name}"))
    }

    fn member(&self, name: &str) -> MemberId {
        self.org
            .members
            .iter()
            .find(|m| m.name == name)
            .unwrap_or_else(|| panic!("no member {name}"))
            .id
    }

    fn member_mut(&mut self, name: &str) -> &mut Member {
        self.org
            .members
            .iter_mut()
            .find(|m| m.name == name)
            .unwrap_or_else(|| panic!("no member {name}"))
    }

    fn grant(&mut self, subject: Subject, target: Target, level: AccessLevel) {
        self.org.grants.push(Grant {
            subject,
            target,
            level,
        });
    }

    fn policy(&self) -> Policy {
        Policy::new(self.org.clone())
    }
}

fn set(permissions: &[Permission]) -> PermissionSet {
    permissions.iter().copied().collect()
}

// ---- decisions ----

fn name(policy: &Policy, member: MemberId) -> String {
    let ix = policy.member_ix(member).expect("member in the fixture");
    policy.member(ix).name.clone()
}

/// `Policy::decide`, checked against `Policy::check`.
#[track_caller]
fn decide(
    policy: &Policy,
    member: MemberId,
    permission: Permission,
    printer: Option<PrinterId>,
) -> Decision {
    let decision = policy.decide(member, permission, printer);
    let ix = policy.member_ix(member).expect("member in the fixture");
    let printer_ix = printer.map(|p| policy.printer_ix(p).expect("printer in the fixture"));
    assert_eq!(
        policy.check(ix, permission, printer_ix),
        decision.is_allowed(),
        "check and decide disagree for {} / {permission} / {printer:?}: {decision:?}",
        policy.member(ix).name
    );
    decision
}

#[track_caller]
fn assert_allowed(
    policy: &Policy,
    member: MemberId,
    permissions: &[Permission],
    printer: Option<PrinterId>,
) {
    for &permission in permissions {
        let decision = decide(policy, member, permission, printer);
        assert!(
            decision.is_allowed(),
            "{} should be allowed {permission} (printer {printer:?}): {decision:?}",
            name(policy, member)
        );
    }
}

/// The member sees the printer (if any) but does not hold the permission.
#[track_caller]
fn assert_missing(
    policy: &Policy,
    member: MemberId,
    permissions: &[Permission],
    printer: Option<PrinterId>,
) {
    for &permission in permissions {
        let decision = decide(policy, member, permission, printer);
        assert!(
            matches!(decision, Decision::MissingPermission { .. }),
            "{} should lack {permission} (printer {printer:?}): {decision:?}",
            name(policy, member)
        );
    }
}

#[track_caller]
fn assert_hidden(policy: &Policy, member: MemberId, permission: Permission, printer: PrinterId) {
    let decision = decide(policy, member, permission, Some(printer));
    assert!(
        matches!(decision, Decision::PrinterHidden { .. }),
        "printer {printer} should be hidden from {} ({permission}): {decision:?}",
        name(policy, member)
    );
}

#[track_caller]
fn assert_insufficient(
    policy: &Policy,
    member: MemberId,
    permission: Permission,
    printer: PrinterId,
    have: AccessLevel,
    need: AccessLevel,
) {
    let decision = decide(policy, member, permission, Some(printer));
    assert!(
        matches!(
            decision,
            Decision::InsufficientAccess { have: h, need: n, .. } if h == have && n == need
        ),
        "{} on printer {printer} ({permission}) should have {have} access where {need} is needed: {decision:?}",
        name(policy, member)
    );
}

/// The permission's source in an allowed decision.
#[track_caller]
fn allowed_source(
    policy: &Policy,
    member: MemberId,
    permission: Permission,
    printer: Option<PrinterId>,
) -> PermissionSource {
    match decide(policy, member, permission, printer) {
        Decision::Allowed { permission, .. } => permission,
        other => panic!(
            "{} should be allowed {permission}: {other:?}",
            name(policy, member)
        ),
    }
}

// ---- all presets ----

#[test]
fn decide_and_check_agree_for_every_preset_member_permission_and_printer() {
    for preset in Preset::ALL {
        let fixture = Fixture::preset(preset);
        let policy = fixture.policy();
        for member in &fixture.org.members {
            for permission in Permission::ALL {
                decide(&policy, member.id, permission, None);
                for printer in [PRINTER_A, PRINTER_A2, PRINTER_B] {
                    decide(&policy, member.id, permission, Some(printer));
                }
            }
        }
    }
}

#[test]
fn founding_presets_owner_is_above_every_rank_and_no_rank_reaches_it() {
    for preset in Preset::ALL.into_iter().filter(|p| p.has_owner()) {
        let fixture = Fixture::preset(preset);
        let policy = fixture.policy();
        let owner = &fixture.org.ranks[0];
        assert!(owner.is_owner, "{preset:?}");
        let founder = fixture.member(&owner.name);
        for rank in &fixture.org.ranks[1..] {
            assert!(!rank.is_owner, "{preset:?}: {}", rank.name);
            let member = fixture.member(&rank.name);
            assert_eq!(
                policy.may_assign_rank(founder, rank.id, None),
                Ok(()),
                "{preset:?}: the owner assigns {}",
                rank.name
            );
            assert_eq!(
                policy.may_manage_member(founder, member),
                Ok(()),
                "{preset:?}"
            );
            assert_eq!(
                policy.may_assign_rank(member, owner.id, Some(member)),
                Err(Refusal::NotJunior("assign ranks")),
                "{preset:?}: {} cannot become owner",
                rank.name
            );
            if policy
                .effective_permissions(&fixture.org.members[member.0 as usize - 1])
                .contains(P::MembersManage)
            {
                assert_eq!(
                    policy.may_manage_member(member, founder),
                    Err(Refusal::NotJunior("manage members")),
                    "{preset:?}: {}",
                    rank.name
                );
            }
        }
        for permission in Permission::ALL {
            assert_eq!(
                allowed_source(&policy, founder, permission, Some(PRINTER_B)),
                PermissionSource::Owner,
                "{preset:?}"
            );
        }
    }
}

// ---- 3DPrinterOS (seeds 000, 001) ----

const ORG_ADMIN: &str = "Organization Admin";
const MODERATOR: &str = "Workgroup Moderator";
const ADVANCED: &str = "Advanced";
const REGULAR: &str = "Regular";

/// The 3DPrinterOS preset with two workgroups: WG_A prints on site A ("Can print"), WG_B
/// queues on site B. The preset's members are in no workgroup.
fn three_d_printer_os() -> Fixture {
    let mut f = Fixture::preset(Preset::ThreeDPrinterOs);
    f.grant(
        Subject::Workgroup(WG_A),
        Target::Site(SITE_A),
        AccessLevel::Print,
    );
    f.grant(
        Subject::Workgroup(WG_B),
        Target::Site(SITE_B),
        AccessLevel::Queue,
    );
    f
}

#[test]
fn threedprinteros_ranks_are_the_four_user_types() {
    let names: Vec<_> = Preset::ThreeDPrinterOs
        .ranks()
        .iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(names, [ORG_ADMIN, MODERATOR, ADVANCED, REGULAR]);
    let f = three_d_printer_os();
    assert!(f.rank(ORG_ADMIN).is_owner);
    // Regular and Advanced users get printers through workgroups, not through their type.
    for rank in [MODERATOR, ADVANCED, REGULAR] {
        let id = f.rank_id(rank);
        assert!(
            f.org.grants.iter().all(|g| g.subject != Subject::Rank(id)),
            "{rank} has no printer access of its own"
        );
    }
}

#[test]
fn threedprinteros_advanced_users_have_the_same_permissions_as_regular_by_default() {
    let mut f = three_d_printer_os();
    f.add_member("Advanced 2", ADVANCED, SITE_A);
    let advanced = f.rank(ADVANCED);
    let regular = f.rank(REGULAR);
    assert_eq!(advanced.permissions, regular.permissions);
    assert_eq!(advanced.tri_state, set(ADVANCED_RIGHTS));
    assert!(regular.tri_state.is_empty());

    let policy = f.policy();
    let m = |name: &str| f.org.members.iter().find(|m| m.name == name).unwrap();
    assert_eq!(
        policy.effective_permissions(m(ADVANCED)),
        policy.effective_permissions(m(REGULAR))
    );
    for member in [ADVANCED, "Advanced 2", REGULAR] {
        assert_missing(&policy, f.member(member), ADVANCED_RIGHTS, None);
        // Both upload and print (on the printers their workgroups give them).
        assert_allowed(
            &policy,
            f.member(member),
            &[P::FilesUpload, P::SlicerUse, P::QueueEditOwn],
            None,
        );
    }
}

#[test]
fn threedprinteros_switching_an_advanced_right_on_gives_it_to_every_advanced_user_only() {
    let mut f = three_d_printer_os();
    f.add_member("Advanced 2", ADVANCED, SITE_A);
    let admin = f.member(ORG_ADMIN);
    let moderator = f.member(MODERATOR);

    // Organization Admin → Settings → Advanced Users: an edit of the Advanced rank.
    let before = f.rank(ADVANCED).clone();
    let mut after = before.clone();
    after.permissions.insert(P::SlicerExpertTab);
    after.permissions.insert(P::QueueUnlimitedJobs);
    after.permissions.insert(P::PrintersSettings);
    let policy = f.policy();
    assert_eq!(policy.may_write_rank(admin, Some(&before), &after), Ok(()));
    assert_eq!(
        policy.may_write_rank(moderator, Some(&before), &after),
        Err(Refusal::MissingPermission(P::RanksManage))
    );

    *f.rank_mut(ADVANCED) = after;
    let policy = f.policy();
    for member in [ADVANCED, "Advanced 2"] {
        for right in [P::SlicerExpertTab, P::QueueUnlimitedJobs] {
            assert_eq!(
                allowed_source(&policy, f.member(member), right, None),
                PermissionSource::Rank {
                    rank: ADVANCED.into()
                },
                "{member}: {right}"
            );
        }
        // Rights not switched on stay off.
        assert_missing(
            &policy,
            f.member(member),
            &[P::SlicerAdvancedTab, P::FilesUploadGcode],
            None,
        );
    }
    assert_missing(
        &policy,
        f.member(REGULAR),
        &[
            P::SlicerExpertTab,
            P::QueueUnlimitedJobs,
            P::PrintersSettings,
        ],
        None,
    );

    // Making a user Advanced now hands out the switched-on rights: the Organization Admin
    // can; a Workgroup Moderator, who lacks them, cannot.
    f.member_mut(REGULAR).workgroups = vec![WG_A];
    f.member_mut(MODERATOR).moderates = vec![WG_A];
    let policy = f.policy();
    let advanced_rank = f.rank_id(ADVANCED);
    let regular = f.member(REGULAR);
    assert_eq!(
        policy.may_assign_rank(admin, advanced_rank, Some(regular)),
        Ok(())
    );
    assert_eq!(policy.may_manage_member(moderator, regular), Ok(()));
    assert_eq!(
        policy.may_assign_rank(moderator, advanced_rank, Some(regular)),
        Err(Refusal::CannotGrant(set(&[
            P::QueueUnlimitedJobs,
            P::PrintersSettings,
            P::SlicerExpertTab,
        ])))
    );
}

#[test]
fn threedprinteros_an_advanced_right_can_be_allowed_or_denied_for_one_advanced_user() {
    let mut f = three_d_printer_os();
    f.add_member("Advanced 2", ADVANCED, SITE_A);
    for member in [ADVANCED, "Advanced 2", REGULAR] {
        f.member_mut(member).workgroups = vec![WG_A];
    }
    f.member_mut(MODERATOR).moderates = vec![WG_A];
    let admin = f.member(ORG_ADMIN);
    let moderator = f.member(MODERATOR);
    let advanced = f.member(ADVANCED);
    let advanced2 = f.member("Advanced 2");
    let regular = f.member(REGULAR);

    let policy = f.policy();
    for &right in ADVANCED_RIGHTS {
        assert_eq!(policy.may_override(admin, advanced, right, true), Ok(()));
        assert_eq!(policy.may_override(admin, advanced, right, false), Ok(()));
        // A Regular user has no advanced rights to switch on.
        assert_eq!(
            policy.may_override(admin, regular, right, true),
            Err(Refusal::NotTriState(right.key()))
        );
        // Only Organization Admins set advanced rights.
        assert_eq!(
            policy.may_override(moderator, advanced, right, true),
            Err(Refusal::MissingPermission(P::MembersOverride))
        );
    }

    // One Advanced user gets G-code upload; the rank gets unlimited jobs, denied for another.
    f.member_mut(ADVANCED).allow.insert(P::FilesUploadGcode);
    f.member_mut(REGULAR).allow.insert(P::FilesUploadGcode); // no effect: not tri-state
    f.rank_mut(ADVANCED)
        .permissions
        .insert(P::QueueUnlimitedJobs);
    f.member_mut("Advanced 2")
        .deny
        .insert(P::QueueUnlimitedJobs);
    let policy = f.policy();
    assert_eq!(
        allowed_source(&policy, advanced, P::FilesUploadGcode, None),
        PermissionSource::AllowOverride {
            rank: ADVANCED.into()
        }
    );
    assert_missing(&policy, advanced2, &[P::FilesUploadGcode], None);
    assert_eq!(
        decide(&policy, regular, P::FilesUploadGcode, None),
        Decision::MissingPermission {
            permission: PermissionSource::NotInRank {
                rank: REGULAR.into()
            }
        }
    );
    assert_allowed(&policy, advanced, &[P::QueueUnlimitedJobs], None);
    assert_eq!(
        decide(&policy, advanced2, P::QueueUnlimitedJobs, None),
        Decision::MissingPermission {
            permission: PermissionSource::DeniedByOverride {
                rank: ADVANCED.into()
            }
        }
    );
}

#[test]
fn threedprinteros_advanced_users_still_need_access_to_the_printer() {
    let mut f = three_d_printer_os();
    f.rank_mut(ADVANCED).permissions.insert(P::PrintersSettings);
    let advanced = f.member(ADVANCED);
    let regular = f.member(REGULAR);

    // No workgroup, no printers: they cannot see queues, submit jobs or change settings.
    let policy = f.policy();
    assert_allowed(&policy, advanced, &[P::PrintersSettings], None);
    assert_eq!(
        policy
            .visible_printers(policy.member_ix(advanced).unwrap())
            .count(),
        0
    );
    for printer in [PRINTER_A, PRINTER_A2, PRINTER_B] {
        for permission in [P::PrintersSettings, P::QueueSubmit, P::PrintersView] {
            assert_hidden(&policy, advanced, permission, printer);
        }
    }

    // A workgroup that can print on site A gives access there and nowhere else.
    f.member_mut(ADVANCED).workgroups = vec![WG_A];
    f.member_mut(REGULAR).workgroups = vec![WG_A];
    let policy = f.policy();
    let wg_grant = Grant {
        subject: Subject::Workgroup(WG_A),
        target: Target::Site(SITE_A),
        level: AccessLevel::Print,
    };
    assert_eq!(
        decide(&policy, advanced, P::PrintersSettings, Some(PRINTER_A)),
        Decision::Allowed {
            permission: PermissionSource::Rank {
                rank: ADVANCED.into()
            },
            access: Some((AccessLevel::Print, AccessSource::Grants(vec![wg_grant]))),
        }
    );
    assert_allowed(
        &policy,
        advanced,
        &[P::PrintersSettings, P::QueueSubmit, P::PrintersView],
        Some(PRINTER_A2),
    );
    assert_hidden(&policy, advanced, P::PrintersSettings, PRINTER_B);
    // The Regular user in the same workgroup prints but cannot change settings.
    assert_allowed(&policy, regular, &[P::QueueSubmit], Some(PRINTER_A));
    assert_missing(&policy, regular, &[P::PrintersSettings], Some(PRINTER_A));

    // Queue access is not enough to change printer settings.
    f.member_mut(ADVANCED).workgroups = vec![WG_B];
    let policy = f.policy();
    assert_allowed(&policy, advanced, &[P::QueueSubmit], Some(PRINTER_B));
    assert_insufficient(
        &policy,
        advanced,
        P::PrintersSettings,
        PRINTER_B,
        AccessLevel::Queue,
        AccessLevel::Print,
    );
}

#[test]
fn threedprinteros_build_tray_confirmation_needs_print_access_or_any_access() {
    let mut f = three_d_printer_os();
    f.rank_mut(ADVANCED)
        .permissions
        .insert(P::PrinterControlConfirmBedClear);
    f.add_member("Advanced printer", ADVANCED, SITE_A);
    f.member_mut("Advanced printer").workgroups = vec![WG_A];
    // "Advanced": queue access on site B (WG_B) and view access on PRINTER_A only.
    f.member_mut(ADVANCED).workgroups = vec![WG_B];
    let advanced = f.member(ADVANCED);
    f.grant(
        Subject::Member(advanced),
        Target::Printer(PRINTER_A),
        AccessLevel::View,
    );
    f.member_mut(REGULAR).workgroups = vec![WG_A];
    let printer_user = f.member("Advanced printer");
    let regular = f.member(REGULAR);
    let confirm = P::PrinterControlConfirmBedClear;

    // "Only with Can print access" (the default).
    assert_eq!(f.org.settings.bed_clear, BedClearAccess::PrintAccess);
    let policy = f.policy();
    assert_allowed(&policy, printer_user, &[confirm], Some(PRINTER_A));
    let (queue, view, print) = (AccessLevel::Queue, AccessLevel::View, AccessLevel::Print);
    assert_insufficient(&policy, advanced, confirm, PRINTER_B, queue, print);
    assert_insufficient(&policy, advanced, confirm, PRINTER_A, view, print);
    assert_hidden(&policy, advanced, confirm, PRINTER_A2);
    assert_missing(&policy, regular, &[confirm], Some(PRINTER_A));

    // "With any type of access".
    f.org.settings.bed_clear = BedClearAccess::AnyAccess;
    let policy = f.policy();
    assert_allowed(&policy, printer_user, &[confirm], Some(PRINTER_A));
    assert_allowed(&policy, advanced, &[confirm], Some(PRINTER_B));
    assert_allowed(&policy, advanced, &[confirm], Some(PRINTER_A));
    assert_hidden(&policy, advanced, confirm, PRINTER_A2);
    assert_missing(&policy, regular, &[confirm], Some(PRINTER_A));

    // The choice is an organization setting: the Organization Admin's alone.
    assert_allowed(&policy, f.member(ORG_ADMIN), &[P::OrganizationManage], None);
    for member in [MODERATOR, ADVANCED, REGULAR] {
        assert_missing(&policy, f.member(member), &[P::OrganizationManage], None);
    }
}

#[test]
fn threedprinteros_workgroup_moderator_manages_only_the_workgroups_they_moderate() {
    let mut f = three_d_printer_os();
    f.add_member("Regular in A", REGULAR, SITE_A);
    f.add_member("Advanced in A", ADVANCED, SITE_A);
    f.add_member("Regular in B", REGULAR, SITE_B);
    f.add_member("Moderator of B", MODERATOR, SITE_B);
    f.member_mut(MODERATOR).workgroups = vec![WG_A];
    f.member_mut(MODERATOR).moderates = vec![WG_A];
    f.member_mut("Regular in A").workgroups = vec![WG_A];
    f.member_mut("Advanced in A").workgroups = vec![WG_A];
    f.member_mut("Regular in B").workgroups = vec![WG_B];
    f.member_mut("Moderator of B").workgroups = vec![WG_B];
    f.member_mut("Moderator of B").moderates = vec![WG_B];
    let policy = f.policy();
    let moderator = f.member(MODERATOR);
    let outside = Err(Refusal::OutsideMemberScope("the workgroups you moderate"));

    assert_eq!(
        policy.may_manage_member(moderator, f.member("Regular in A")),
        Ok(())
    );
    assert_eq!(
        policy.may_manage_member(moderator, f.member("Advanced in A")),
        Ok(())
    );
    assert_eq!(
        policy.may_manage_member(moderator, f.member("Regular in B")),
        outside
    );
    // Members in no workgroup are not theirs either.
    assert_eq!(
        policy.may_manage_member(moderator, f.member(REGULAR)),
        outside
    );
    assert_eq!(
        policy.may_manage_member(moderator, f.member("Moderator of B")),
        Err(Refusal::NotJunior("manage members"))
    );
    assert_eq!(
        policy.may_manage_member(moderator, f.member(ORG_ADMIN)),
        Err(Refusal::NotJunior("manage members"))
    );
    assert_eq!(
        policy.may_manage_member(moderator, moderator),
        Err(Refusal::SelfChange)
    );
    let other = f.member("Moderator of B");
    assert_eq!(
        policy.may_manage_member(other, f.member("Regular in B")),
        Ok(())
    );
    assert_eq!(
        policy.may_manage_member(other, f.member("Regular in A")),
        outside
    );

    // They review their workgroup's jobs on the printers the workgroup uses.
    assert_allowed(
        &policy,
        moderator,
        &[P::ApprovalReview, P::QueueViewAll],
        Some(PRINTER_A),
    );
    assert_hidden(&policy, moderator, P::ApprovalReview, PRINTER_B);

    // Managing workgroups and creating accounts is the Organization Admin's alone.
    let exclusive = [
        P::WorkgroupsManage,
        P::MembersInvite,
        P::RanksManage,
        P::OrganizationManage,
    ];
    assert_missing(&policy, moderator, &exclusive, None);
    assert_allowed(&policy, f.member(ORG_ADMIN), &exclusive, None);

    // Regular and Advanced users manage nobody.
    for member in [REGULAR, ADVANCED] {
        assert_eq!(
            policy.may_manage_member(f.member(member), f.member("Regular in A")),
            Err(Refusal::MissingPermission(P::MembersManage))
        );
    }
}

#[test]
fn threedprinteros_organization_admin_can_do_everything() {
    let mut f = three_d_printer_os();
    f.add_member("Regular in B", REGULAR, SITE_B);
    f.member_mut("Regular in B").workgroups = vec![WG_B];
    f.member_mut(MODERATOR).moderates = vec![WG_A];
    let policy = f.policy();
    let admin = f.member(ORG_ADMIN);
    for printer in [None, Some(PRINTER_A), Some(PRINTER_B)] {
        for permission in Permission::ALL {
            assert_eq!(
                allowed_source(&policy, admin, permission, printer),
                PermissionSource::Owner
            );
        }
    }
    for member in [MODERATOR, ADVANCED, REGULAR, "Regular in B"] {
        assert_eq!(policy.may_manage_member(admin, f.member(member)), Ok(()));
    }
    for rank in [MODERATOR, ADVANCED, REGULAR] {
        assert_eq!(
            policy.may_assign_rank(admin, f.rank_id(rank), Some(f.member("Regular in B"))),
            Ok(())
        );
    }
    let grant = Grant {
        subject: Subject::Workgroup(WG_B),
        target: Target::Site(SITE_A),
        level: AccessLevel::Print,
    };
    assert_eq!(policy.may_change_grant(admin, &grant, true), Ok(()));
    assert_eq!(policy.may_join_workgroup(admin, WG_A), Ok(()));
    assert_eq!(
        policy.may_change_grant(f.member(MODERATOR), &grant, true),
        Err(Refusal::MissingPermission(P::PrinterAccessManage))
    );
}

// ---- Print&Go (seed 002) ----

const MASTER: &str = "Master";
const FACTORY_MANAGER: &str = "Factory manager";
const DESIGNER: &str = "Designer";
const OPERATOR: &str = "Operator";

/// The Print&Go preset with two factories (sites A and B); the Factory manager rank covers
/// factory A. Extra members at factory B.
fn print_and_go() -> Fixture {
    let mut f = Fixture::preset(Preset::PrintAndGo);
    f.rank_mut(FACTORY_MANAGER).scope = PrinterScope {
        sites: vec![SITE_A],
        ..PrinterScope::default()
    };
    f.add_member("Designer at B", DESIGNER, SITE_B);
    f.add_member("Operator at B", OPERATOR, SITE_B);
    f.add_member("Factory manager 2", FACTORY_MANAGER, SITE_A);
    f
}

#[test]
fn printandgo_ranks_follow_the_hierarchy() {
    let names: Vec<_> = Preset::PrintAndGo.ranks().iter().map(|r| r.name).collect();
    assert_eq!(names, [MASTER, FACTORY_MANAGER, DESIGNER, OPERATOR]);
    let f = print_and_go();
    assert!(f.rank(MASTER).is_owner);
    assert_eq!(
        f.rank(FACTORY_MANAGER).member_scope,
        authz::MemberScope::ScopedSites
    );
}

#[test]
fn printandgo_factory_manager_authorizes_the_designers_projects() {
    let f = print_and_go();
    let policy = f.policy();
    let manager = f.member(FACTORY_MANAGER);
    let designer = f.member(DESIGNER);
    let operator = f.member(OPERATOR);

    // The Designer requests printing; the request waits for authorization.
    assert_allowed(&policy, designer, &[P::QueueSubmit], Some(PRINTER_A));
    assert_missing(&policy, designer, &[P::ApprovalSkip], None);
    assert_missing(&policy, designer, &[P::ApprovalReview], Some(PRINTER_A));

    // The Factory manager accepts or denies it and has full control of the queue, in their
    // own factory.
    assert_allowed(
        &policy,
        manager,
        &[
            P::ApprovalReview,
            P::ApprovalSkip,
            P::QueueViewAll,
            P::QueueEditAll,
            P::QueueReorder,
        ],
        Some(PRINTER_A),
    );
    assert_hidden(&policy, manager, P::ApprovalReview, PRINTER_B);

    // The Operator runs what was authorized but does not authorize.
    assert_missing(&policy, operator, &[P::ApprovalReview], Some(PRINTER_A));

    // The Master, in all factories.
    assert_allowed(
        &policy,
        f.member(MASTER),
        &[P::ApprovalReview],
        Some(PRINTER_B),
    );
}

#[test]
fn printandgo_designer_creates_requests_and_cancels_their_own_but_does_not_run_printers() {
    let f = print_and_go();
    let policy = f.policy();
    let designer = f.member(DESIGNER);
    assert_allowed(
        &policy,
        designer,
        &[
            P::FilesUpload,
            P::QueueSubmit,
            P::QueueEditOwn,
            P::PrinterControlCancelOwn,
        ],
        Some(PRINTER_A),
    );
    assert_allowed(
        &policy,
        f.member("Designer at B"),
        &[P::QueueSubmit, P::PrinterControlCancelOwn],
        Some(PRINTER_B),
    );
    assert_missing(
        &policy,
        designer,
        &[
            P::PrinterControlStart,
            P::PrinterControlPauseResume,
            P::PrinterControlPreheat,
            P::PrinterControlCancelAll,
            P::PrintersSettings,
            P::QueueEditAll,
            P::FilesManageAll,
            P::MembersManage,
        ],
        Some(PRINTER_A),
    );
}

#[test]
fn printandgo_operator_runs_removes_resumes_preheats_and_configures() {
    let f = print_and_go();
    let policy = f.policy();
    let run = [
        P::PrinterControlStart,
        P::QueueAssignPrinter,
        P::PrinterControlCancelAll,
        P::PrinterControlConfirmBedClear,
        P::PrinterControlPauseResume,
        P::PrinterControlPreheat,
        P::PrintersSettings,
        P::QueueViewAll,
    ];
    for (operator, printer) in [(OPERATOR, PRINTER_A), ("Operator at B", PRINTER_B)] {
        let operator = f.member(operator);
        assert_allowed(&policy, operator, &run, Some(printer));
        assert_missing(
            &policy,
            operator,
            &[
                MANAGE_FLEET,
                &[P::ApprovalReview, P::MembersManage, P::RanksManage],
            ]
            .concat(),
            Some(printer),
        );
    }
}

#[test]
fn printandgo_factory_manager_is_highest_only_in_their_own_factory() {
    let f = print_and_go();
    let policy = f.policy();
    let manager = f.member(FACTORY_MANAGER);
    let master = f.member(MASTER);
    let outside = Err(Refusal::OutsideMemberScope("the sites your rank covers"));

    assert_eq!(
        policy.may_manage_member(manager, f.member(DESIGNER)),
        Ok(())
    );
    assert_eq!(
        policy.may_manage_member(manager, f.member(OPERATOR)),
        Ok(())
    );
    assert_eq!(
        policy.may_manage_member(manager, f.member("Designer at B")),
        outside
    );
    assert_eq!(
        policy.may_manage_member(manager, f.member("Operator at B")),
        outside
    );
    assert_eq!(
        policy.may_manage_member(manager, f.member("Factory manager 2")),
        Err(Refusal::NotJunior("manage members"))
    );
    assert_eq!(
        policy.may_manage_member(manager, master),
        Err(Refusal::NotJunior("manage members"))
    );

    // Their factory's printers, not the other factory's.
    assert_allowed(
        &policy,
        manager,
        &[MANAGE_FLEET, &[P::PrinterControlStart, P::PrintersSettings]].concat(),
        Some(PRINTER_A),
    );
    assert_hidden(&policy, manager, P::PrintersView, PRINTER_B);

    // The Master administers everything in all factories.
    for member in [
        FACTORY_MANAGER,
        "Factory manager 2",
        DESIGNER,
        "Designer at B",
        "Operator at B",
    ] {
        assert_eq!(policy.may_manage_member(master, f.member(member)), Ok(()));
    }
    for printer in [PRINTER_A, PRINTER_B] {
        for permission in Permission::ALL {
            assert_eq!(
                allowed_source(&policy, master, permission, Some(printer)),
                PermissionSource::Owner
            );
        }
    }

    // Designers and Operators restrict nobody.
    for member in [DESIGNER, OPERATOR] {
        assert_eq!(
            policy.may_manage_member(f.member(member), f.member("Operator at B")),
            Err(Refusal::MissingPermission(P::MembersManage))
        );
    }
}

// ---- UltiMaker Digital Factory (seed 004) ----

#[test]
fn ultimaker_guest_jobs_are_held_until_a_member_or_admin_approves_them() {
    let f = Fixture::preset(Preset::UltiMaker);
    let names: Vec<_> = f.org.ranks.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["Admin", "Member", "Guest"]);
    let policy = f.policy();
    let admin = f.member("Admin");
    let member = f.member("Member");
    let guest = f.member("Guest");

    // Guests send jobs, which wait for approval; they cannot approve or print directly.
    assert_allowed(
        &policy,
        guest,
        &[P::QueueSubmit, P::QueueReprint],
        Some(PRINTER_A),
    );
    assert_missing(
        &policy,
        guest,
        &[P::ApprovalSkip, P::ApprovalReview, P::PrinterControlStart],
        Some(PRINTER_A),
    );

    // Members just print, see the jobs waiting and approve (to the chosen printer) or
    // reject them; a reprint of a held job becomes theirs.
    assert_allowed(
        &policy,
        member,
        &[
            P::QueueSubmit,
            P::ApprovalSkip,
            P::ApprovalReview,
            P::QueueViewAll,
            P::PrinterControlStart,
            P::QueueReprint,
        ],
        Some(PRINTER_B),
    );

    // Admins too.
    assert_allowed(
        &policy,
        admin,
        &[P::ApprovalReview, P::ApprovalSkip],
        Some(PRINTER_B),
    );
}

#[test]
fn ultimaker_only_admins_turn_print_job_approval_on() {
    let f = Fixture::preset(Preset::UltiMaker);
    let policy = f.policy();
    assert!(f.rank("Admin").is_owner);
    assert_allowed(&policy, f.member("Admin"), &[P::OrganizationManage], None);
    for member in ["Member", "Guest"] {
        assert_missing(
            &policy,
            f.member(member),
            &[P::OrganizationManage, P::RanksManage, P::MembersManage],
            None,
        );
    }
}

// ---- SimplyPrint rank templates (seed 003) ----

/// The SimplyPrint templates below a Farmhand owner.
fn simplyprint() -> Fixture {
    let templates = Preset::SimplyPrintTemplates.ranks();
    assert!(templates.iter().all(|t| !t.is_owner));
    assert!(!Preset::SimplyPrintTemplates.has_owner());
    let mut ranks = vec![Preset::Farmhand.ranks()[0].clone()];
    assert!(ranks[0].is_owner);
    ranks.extend(templates);
    Fixture::new(ranks)
}

const STAKEHOLDER: &str = "Read-only stakeholder";
const APPROVER: &str = "Queue approver";
const FILAMENT_ADMIN: &str = "Filament admin";
const TRUSTED_OPERATOR: &str = "Trusted operator";
const STUDENT: &str = "Restricted slicer student";

#[test]
fn simplyprint_templates_sit_below_the_owner() {
    let f = simplyprint();
    let names: Vec<_> = f.org.ranks[1..].iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        [
            STAKEHOLDER,
            APPROVER,
            FILAMENT_ADMIN,
            TRUSTED_OPERATOR,
            STUDENT
        ]
    );
    let policy = f.policy();
    let owner = f.member("Owner");
    for rank in &names {
        assert_eq!(policy.may_assign_rank(owner, f.rank_id(rank), None), Ok(()));
        // No template manages users or ranks.
        let perms = f.rank(rank).permissions;
        assert!(
            !perms.contains(P::MembersManage) && !perms.contains(P::RanksManage),
            "{rank}"
        );
    }
}

/// What one of SimplyPrint's rank templates promises, on a printer its members can reach.
struct TemplatePromise {
    rank: &'static str,
    printer: PrinterId,
    allowed: &'static [Permission],
    /// Refused on that printer (several lists, concatenated).
    missing: &'static [&'static [Permission]],
    /// Domains the rank holds nothing of.
    holds_nothing_of: &'static [Domain],
    /// Domains the rank only views in.
    only_views_in: &'static [Domain],
}

const SIMPLYPRINT_PROMISES: &[TemplatePromise] = &[
    // "Read-only stakeholder": sees but cannot start, cancel or change anything.
    TemplatePromise {
        rank: STAKEHOLDER,
        printer: PRINTER_B,
        allowed: &[P::PrintersView, P::QueueViewAll],
        missing: &[
            MANAGE_FLEET,
            &[
                P::PrinterControlStart,
                P::PrinterControlCancelOwn,
                P::PrinterControlCancelAll,
                P::PrinterControlPauseResume,
                P::PrinterControlEmergencyStop,
                P::QueueSubmit,
                P::QueueEditOwn,
                P::QueueEditAll,
                P::QueueReorder,
                P::PrintersSettings,
                P::FilamentManage,
            ],
        ],
        holds_nothing_of: &[],
        only_views_in: Domain::ALL,
    },
    // "Queue approver": approves, reorders and starts, but no settings or users.
    TemplatePromise {
        rank: APPROVER,
        printer: PRINTER_A,
        allowed: &[
            P::ApprovalReview,
            P::QueueReorder,
            P::QueueViewAll,
            P::PrinterControlStart,
        ],
        missing: &[
            MANAGE_FLEET,
            &[
                P::PrintersSettings,
                P::MembersManage,
                P::MembersInvite,
                P::MembersOverride,
                P::RanksManage,
            ],
        ],
        holds_nothing_of: &[Domain::Members, Domain::Ranks],
        only_views_in: &[],
    },
    // "Filament admin": manages filament, only views printers and the queue.
    TemplatePromise {
        rank: FILAMENT_ADMIN,
        printer: PRINTER_A,
        allowed: &[
            P::FilamentView,
            P::FilamentManage,
            P::PrintersView,
            P::QueueViewAll,
        ],
        missing: &[
            MANAGE_FLEET,
            &[
                P::PrintersSettings,
                P::PrinterControlStart,
                P::PrinterControlCancelAll,
                P::QueueSubmit,
                P::QueueReorder,
                P::ApprovalReview,
            ],
        ],
        holds_nothing_of: &[],
        only_views_in: &[
            Domain::Printers,
            Domain::PrinterControl,
            Domain::Queue,
            Domain::Approval,
        ],
    },
    // "Trusted operator": runs the farm without account administration or billing ("the
    // intern who clears beds shouldn't be able to send raw G-code").
    TemplatePromise {
        rank: TRUSTED_OPERATOR,
        printer: PRINTER_B,
        allowed: &[
            P::PrinterControlStart,
            P::PrinterControlCancelAll,
            P::PrinterControlCancelOwn,
            P::PrinterControlPauseResume,
            P::PrinterControlConfirmBedClear,
            P::QueueSubmit,
            P::QueueReorder,
            P::QueueEditAll,
            P::QueueAssignPrinter,
            P::QueueViewAll,
            P::FilamentManage,
        ],
        missing: &[&[
            P::PrinterControlSendGcode,
            P::OrganizationManage,
            P::ApiTokensManageAll,
            P::MembersManage,
            P::BillingManage,
            P::BillingViewAll,
        ]],
        holds_nothing_of: &[Domain::Members, Domain::Ranks, Domain::Billing],
        only_views_in: &[],
    },
    // "Restricted slicer student": slices with presets and queues, but cannot start.
    TemplatePromise {
        rank: STUDENT,
        printer: PRINTER_A,
        allowed: &[P::SlicerUse, P::QueueSubmit],
        missing: &[&[
            P::SlicerChangeProfile,
            P::SlicerManageProfiles,
            P::SlicerAdvancedTab,
            P::SlicerExpertTab,
            P::PrinterControlStart,
        ]],
        holds_nothing_of: &[],
        only_views_in: &[],
    },
];

/// Whether a permission only lets its holder read: see things, or see finished jobs (the
/// queue's history).
fn only_reads(key: &str) -> bool {
    key.contains(".view") || key.starts_with("queue.history.")
}

#[test]
fn simplyprint_templates_hold_what_their_names_promise() {
    let f = simplyprint();
    let policy = f.policy();
    for promise in SIMPLYPRINT_PROMISES {
        let (rank, member) = (promise.rank, f.member(promise.rank));
        let printer = Some(promise.printer);
        assert_allowed(&policy, member, promise.allowed, printer);
        assert_missing(&policy, member, &promise.missing.concat(), printer);
        for p in f.rank(rank).permissions.iter() {
            assert!(
                !promise.holds_nothing_of.contains(&p.domain()),
                "{rank} holds {p}"
            );
            if promise.only_views_in.contains(&p.domain()) {
                assert!(only_reads(p.key()), "{rank} holds {p}");
            }
        }
    }
}

// ---- Farmhand defaults ----

#[test]
fn farmhand_ranks_narrow_down_the_list() {
    let f = Fixture::preset(Preset::Farmhand);
    let names: Vec<_> = f.org.ranks.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Owner", "Admin", "Manager", "Operator", "Member", "Guest", "Viewer"
        ]
    );
    let templates = Preset::Farmhand.ranks();
    assert!(templates[0].is_owner && templates[1..].iter().all(|t| !t.is_owner));
    // Owner ⊇ Admin ⊇ Manager ⊇ Operator ⊇ Member ⊇ Guest.
    for pair in templates[..6].windows(2) {
        assert!(
            pair[1].permissions.is_subset_of(pair[0].permissions),
            "{} ⊆ {}: extra {:?}",
            pair[1].name,
            pair[0].name,
            pair[1].permissions.difference(pair[0].permissions).keys()
        );
    }
    // Printer access never grows going down, Viewer included.
    for pair in templates.windows(2) {
        assert!(
            pair[1].access <= pair[0].access,
            "{} ≤ {}",
            pair[1].name,
            pair[0].name
        );
    }
    // The Viewer reads what an Operator reads.
    assert!(
        templates[6]
            .permissions
            .is_subset_of(templates[3].permissions)
    );

    // Decisions follow.
    let policy = f.policy();
    let admin = f.member("Admin");
    let manager = f.member("Manager");
    let operator = f.member("Operator");
    let member = f.member("Member");
    let guest = f.member("Guest");
    assert_allowed(
        &policy,
        manager,
        &[P::ApprovalReview, P::MembersManage, P::PrinterControlStart],
        Some(PRINTER_A),
    );
    assert_allowed(
        &policy,
        operator,
        &[P::PrinterControlStart, P::PrinterControlPauseResume],
        Some(PRINTER_A),
    );
    assert_missing(
        &policy,
        operator,
        &[P::ApprovalReview, P::MembersManage],
        Some(PRINTER_A),
    );
    for submitter in [member, guest] {
        assert_allowed(&policy, submitter, &[P::QueueSubmit], Some(PRINTER_A));
        assert_missing(
            &policy,
            submitter,
            &[P::ApprovalSkip, P::PrinterControlStart],
            Some(PRINTER_A),
        );
    }
    // Members may be given the advanced rights individually, within what the giver holds.
    assert_eq!(
        policy.may_override(admin, member, P::PrintersSettings, true),
        Ok(())
    );
    assert_eq!(
        policy.may_override(manager, member, P::PrintersSettings, true),
        Err(Refusal::CannotGrant(set(&[P::PrintersSettings])))
    );
    assert_eq!(
        policy.may_override(admin, guest, P::PrintersSettings, true),
        Err(Refusal::NotTriState("printers.settings"))
    );
}

#[test]
fn farmhand_viewer_only_reads() {
    let f = Fixture::preset(Preset::Farmhand);
    let viewer_rank = f.rank("Viewer");
    assert!(!viewer_rank.permissions.is_empty());
    for key in viewer_rank.permissions.keys() {
        assert!(only_reads(key), "Viewer holds {key}");
    }
    let policy = f.policy();
    let viewer = f.member("Viewer");
    assert_allowed(
        &policy,
        viewer,
        &[P::PrintersView, P::QueueViewAll],
        Some(PRINTER_B),
    );
    for permission in Permission::ALL {
        if !viewer_rank.permissions.contains(permission) {
            assert_missing(&policy, viewer, &[permission], Some(PRINTER_B));
        }
    }
    assert!(Permission::ALL.iter().all(|p| {
        viewer_rank.permissions.contains(*p) == (decide(&policy, viewer, *p, None).is_allowed())
    }));
}
