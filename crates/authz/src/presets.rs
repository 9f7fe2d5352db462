//! Rank presets: Farmhand's defaults and the role models of the systems organizations move
//! from, reproduced so that each role can do what its product documents say and no more.

use crate::model::{MemberScope, OutOfScope, PrinterScope};
use crate::{AccessLevel, Permission, PermissionSet};

/// A rank as a preset describes it; positions follow the order of the preset's list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RankTemplate {
    pub name: &'static str,
    pub description: &'static str,
    pub is_owner: bool,
    pub permissions: PermissionSet,
    pub tri_state: PermissionSet,
    pub scope: PrinterScope,
    pub out_of_scope: OutOfScope,
    pub member_scope: MemberScope,
    /// Access the rank's members get on every printer in scope (a rank grant on all
    /// printers); `None` when access comes from workgroup or member grants instead.
    pub access: AccessLevel,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// Owner, Admin, Manager, Operator, Member, Guest, Viewer.
    Farmhand,
    /// Organization Admin, Workgroup Moderator, Advanced, Regular.
    ThreeDPrinterOs,
    /// Master, Factory manager, Designer, Operator.
    PrintAndGo,
    /// Admin, Member, Guest.
    UltiMaker,
    /// Read-only stakeholder, Queue approver, Filament admin, Trusted operator, Restricted
    /// slicer student: templates to add to an organization's ranks (no owner rank).
    SimplyPrintTemplates,
}

fn set(permissions: &[Permission]) -> PermissionSet {
    permissions.iter().copied().collect()
}

use Permission as P;

const READ_ORG: &[Permission] = &[
    P::OrganizationView,
    P::SitesView,
    P::WorkgroupsView,
    P::PrintersView,
];

/// The 3DPrinterOS "advanced user" rights.
pub const ADVANCED_RIGHTS: &[Permission] = &[
    P::SlicerAdvancedTab,
    P::SlicerExpertTab,
    P::QueueUnlimitedJobs,
    P::QuotasExemptPrintingTime,
    P::QuotasExemptMaxJobDuration,
    P::SubmissionsViewAllAnswers,
    P::PrintersSettings,
    P::PrinterControlConfirmBedClear,
    P::BillingPrintOnInsufficientBalance,
    P::FilesUploadGcode,
];

const SUBMITTER: &[Permission] = &[
    P::QueueSubmit,
    P::QueueViewOwn,
    P::QueueEditOwn,
    P::QueueCancelOwn,
    P::QueueMoveOwn,
    P::QueueHistoryOwn,
    P::QueueReviveOwn,
    P::QueueReprint,
    P::PrinterControlCancelOwn,
    P::FilesView,
    P::FilesUpload,
    P::ProjectsCreate,
    P::SlicerUse,
    P::ApiTokensCreateOwn,
];

/// Placing a model on the plate as one would at home: turned onto a flat face, rotated about
/// the vertical axis, scaled. (Several copies at once, which multiply the material, stay
/// with the ranks that run printers.)
pub const SLICER_PLACEMENT: &[Permission] = &[P::SlicerAutoRotate, P::SlicerRotate, P::SlicerScale];

/// What those who run printers change when slicing: the advanced tab, the other profiles of the
/// organization, several copies on the plate.
pub const SLICER_ADVANCED: &[Permission] = &[
    P::SlicerAdvancedTab,
    P::SlicerChangeProfile,
    P::SlicerArrange,
];

/// What those who keep the organization's slicing keep: the expert tab, the profiles, the
/// locks and their exceptions.
pub const SLICER_STAFF: &[Permission] = &[
    P::SlicerExpertTab,
    P::SlicerManageProfiles,
    P::SlicerLockSettings,
    P::SlicerOverrideLocks,
];

/// Adding, editing and removing printers, printer models and printer groups.
pub const MANAGE_FLEET: &[Permission] = &[
    P::PrintersAdd,
    P::PrintersEdit,
    P::PrintersRemove,
    P::PrinterModelsAdd,
    P::PrinterModelsEdit,
    P::PrinterModelsRemove,
    P::PrinterGroupsAdd,
    P::PrinterGroupsEdit,
    P::PrinterGroupsRemove,
];

const RUN_PRINTERS: &[Permission] = &[
    P::PrinterControlStart,
    P::PrinterControlPauseResume,
    P::PrinterControlCancelAll,
    P::PrinterControlCancelOwn,
    P::PrinterControlEmergencyStop,
    P::PrinterControlPreheat,
    P::PrinterControlConfirmBedClear,
    P::QueueViewAll,
    P::QueueViewOwn,
    P::QueueHistoryAll,
    P::QueueHistoryOwn,
    P::QueueAssignPrinter,
    P::QueueOutsideStaffedHours,
    P::PrintersReserve,
];

struct Spec {
    name: &'static str,
    description: &'static str,
    permissions: PermissionSet,
    access: AccessLevel,
}

fn rank(spec: Spec) -> RankTemplate {
    RankTemplate {
        name: spec.name,
        description: spec.description,
        is_owner: false,
        permissions: spec.permissions,
        tri_state: PermissionSet::EMPTY,
        scope: PrinterScope::all(),
        out_of_scope: OutOfScope::Hidden,
        member_scope: MemberScope::Everyone,
        access: spec.access,
    }
}

fn owner(name: &'static str, description: &'static str) -> RankTemplate {
    RankTemplate {
        is_owner: true,
        ..rank(Spec {
            name,
            description,
            permissions: PermissionSet::all(),
            access: AccessLevel::Manage,
        })
    }
}

fn union(parts: &[&[Permission]]) -> PermissionSet {
    parts.iter().flat_map(|p| p.iter().copied()).collect()
}

impl Preset {
    pub const ALL: [Preset; 5] = [
        Preset::Farmhand,
        Preset::ThreeDPrinterOs,
        Preset::PrintAndGo,
        Preset::UltiMaker,
        Preset::SimplyPrintTemplates,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Preset::Farmhand => "farmhand",
            Preset::ThreeDPrinterOs => "3dprinteros",
            Preset::PrintAndGo => "printandgo",
            Preset::UltiMaker => "ultimaker",
            Preset::SimplyPrintTemplates => "simplyprint_templates",
        }
    }

    pub fn parse(key: &str) -> Option<Preset> {
        Preset::ALL.into_iter().find(|p| p.key() == key)
    }

    pub fn title(self) -> &'static str {
        match self {
            Preset::Farmhand => "Farmhand defaults",
            Preset::ThreeDPrinterOs => "3DPrinterOS roles",
            Preset::PrintAndGo => "Print&Go roles",
            Preset::UltiMaker => "UltiMaker Digital Factory roles",
            Preset::SimplyPrintTemplates => "SimplyPrint rank templates",
        }
    }

    /// Whether the preset can found an organization (it has an owner rank).
    pub fn has_owner(self) -> bool {
        self.ranks().iter().any(|r| r.is_owner)
    }

    /// The preset's ranks, most senior first.
    pub fn ranks(self) -> Vec<RankTemplate> {
        match self {
            Preset::Farmhand => farmhand(),
            Preset::ThreeDPrinterOs => three_d_printer_os(),
            Preset::PrintAndGo => print_and_go(),
            Preset::UltiMaker => ultimaker(),
            Preset::SimplyPrintTemplates => simplyprint_templates(),
        }
    }
}

fn farmhand() -> Vec<RankTemplate> {
    let viewer = union(&[
        READ_ORG,
        &[
            P::MembersView,
            P::RanksView,
            P::QueueViewAll,
            P::QueueViewOwn,
            P::QueueHistoryAll,
            P::QueueHistoryOwn,
            P::FilamentView,
            P::MaintenanceView,
        ],
    ]);
    let member = union(&[
        READ_ORG,
        SUBMITTER,
        SLICER_PLACEMENT,
        &[P::FilamentView, P::MaintenanceView],
    ]);
    let operator = union(&[
        &member.iter().collect::<Vec<_>>(),
        RUN_PRINTERS,
        SLICER_ADVANCED,
        &[
            P::MembersView,
            P::RanksView,
            P::QueueReorder,
            P::FilamentManage,
            P::MaintenanceManage,
            P::PrinterControlMaintenance,
        ],
    ]);
    let manager = union(&[
        &operator.iter().collect::<Vec<_>>(),
        SLICER_STAFF,
        &[
            P::MembersInvite,
            P::MembersManage,
            P::MembersOverride,
            P::WorkgroupsManage,
            P::PrinterAccessManage,
            P::QueueEditAll,
            P::QueueCancelAll,
            P::QueueMoveAll,
            P::QueueReviveAll,
            P::QueueExport,
            P::ApprovalReview,
            P::ApprovalSkip,
            P::QuotasViewAll,
            P::QuotasManage,
            P::QuotasApproveRequests,
            P::BillingViewAll,
            P::SubmissionsViewAllAnswers,
            P::SubmissionsManageQuestions,
            P::FilesManageAll,
            P::FilesViewAll,
            P::AuditView,
        ],
    ]);
    let mut member_rank = rank(Spec {
        name: "Member",
        description: "Submits and follows their own work.",
        permissions: member,
        access: AccessLevel::Queue,
    });
    member_rank.tri_state = set(ADVANCED_RIGHTS);
    vec![
        owner("Owner", "Owns the organization; above every rank."),
        rank(Spec {
            name: "Admin",
            description: "Runs the organization: everything except ownership.",
            permissions: PermissionSet::all(),
            access: AccessLevel::Manage,
        }),
        rank(Spec {
            name: "Manager",
            description: "Runs a site: members, workgroups, approvals and quotas.",
            permissions: manager,
            access: AccessLevel::Manage,
        }),
        rank(Spec {
            name: "Operator",
            description: "Runs printers day to day.",
            permissions: operator,
            access: AccessLevel::Print,
        }),
        member_rank,
        rank(Spec {
            name: "Guest",
            description: "Occasional user: submits jobs, which need approval.",
            permissions: union(&[
                &[P::OrganizationView, P::SitesView, P::PrintersView],
                SUBMITTER,
            ]),
            access: AccessLevel::Queue,
        }),
        rank(Spec {
            name: "Viewer",
            description: "Read-only stakeholder.",
            permissions: viewer,
            access: AccessLevel::View,
        }),
    ]
}

fn three_d_printer_os() -> Vec<RankTemplate> {
    let regular = union(&[READ_ORG, SUBMITTER]);
    let mut advanced = rank(Spec {
        name: "Advanced",
        description: "Same as Regular until an administrator switches on advanced rights for the rank or a member.",
        permissions: regular,
        access: AccessLevel::None,
    });
    advanced.tri_state = set(ADVANCED_RIGHTS);
    let mut moderator = rank(Spec {
        name: "Workgroup Moderator",
        description: "Manages the members, quotas and approvals of the workgroups they moderate.",
        permissions: union(&[
            &regular.iter().collect::<Vec<_>>(),
            &[
                P::MembersView,
                P::MembersManage,
                P::QueueViewAll,
                P::QueueViewOwn,
                P::QueueHistoryAll,
                P::QueueHistoryOwn,
                P::QueueEditAll,
                P::QueueCancelAll,
                P::QueueMoveAll,
                P::QueueReviveAll,
                P::QueueExport,
                P::ApprovalReview,
                P::QuotasViewAll,
                P::QuotasManage,
                P::QuotasApproveRequests,
                P::SubmissionsViewAllAnswers,
            ],
        ]),
        access: AccessLevel::None,
    });
    moderator.member_scope = MemberScope::ModeratedWorkgroups;
    vec![
        owner(
            "Organization Admin",
            "Manages users, workgroups, printers and settings of the whole organization.",
        ),
        moderator,
        advanced,
        rank(Spec {
            name: "Regular",
            description: "Uploads and prints on the printers their workgroups give them.",
            permissions: regular,
            access: AccessLevel::None,
        }),
    ]
}

fn print_and_go() -> Vec<RankTemplate> {
    let mut factory_manager = rank(Spec {
        name: "Factory manager",
        description: "Highest in their own factory: authorizes production of the Designers' projects and runs the factory.",
        permissions: union(&[
            READ_ORG,
            SUBMITTER,
            RUN_PRINTERS,
            MANAGE_FLEET,
            SLICER_PLACEMENT,
            SLICER_ADVANCED,
            SLICER_STAFF,
            &[
                P::MembersView,
                P::MembersInvite,
                P::MembersManage,
                P::PrintersSettings,
                P::PrinterAccessManage,
                P::QueueEditAll,
                P::QueueCancelAll,
                P::QueueMoveAll,
                P::QueueReviveAll,
                P::QueueExport,
                P::QueueReorder,
                P::ApprovalReview,
                P::ApprovalSkip,
                P::FilesManageAll,
                P::FilesViewAll,
                P::PrinterControlSendGcode,
                P::PrinterControlMaintenance,
            ],
        ]),
        access: AccessLevel::Manage,
    });
    factory_manager.member_scope = MemberScope::ScopedSites;
    vec![
        owner("Master", "Administers the whole platform in all factories."),
        factory_manager,
        rank(Spec {
            name: "Designer",
            description: "Creates and modifies projects, uploads and requests printing, deletes and cancels their own.",
            permissions: union(&[READ_ORG, SUBMITTER, SLICER_PLACEMENT, SLICER_ADVANCED]),
            access: AccessLevel::Queue,
        }),
        rank(Spec {
            name: "Operator",
            description: "Runs the prints the Factory manager authorized: starts, removes, resumes after failure, preheats and configures printers.",
            permissions: union(&[READ_ORG, RUN_PRINTERS, &[P::PrintersSettings]]),
            access: AccessLevel::Print,
        }),
    ]
}

fn ultimaker() -> Vec<RankTemplate> {
    vec![
        owner(
            "Admin",
            "Manages the organization and turns print job approval on or off.",
        ),
        rank(Spec {
            name: "Member",
            description: "Prints directly and approves or rejects guests' print jobs.",
            permissions: union(&[
                READ_ORG,
                SUBMITTER,
                SLICER_PLACEMENT,
                SLICER_ADVANCED,
                &[
                    P::ApprovalReview,
                    P::ApprovalSkip,
                    P::QueueViewAll,
                    P::QueueViewOwn,
                    P::QueueHistoryAll,
                    P::QueueHistoryOwn,
                    P::PrinterControlStart,
                    P::FilesManageAll,
                    P::FilesViewAll,
                ],
            ]),
            access: AccessLevel::Print,
        }),
        rank(Spec {
            name: "Guest",
            description: "Sends print jobs, which are held until a Member or Admin approves them.",
            permissions: union(&[READ_ORG, SUBMITTER]),
            access: AccessLevel::Queue,
        }),
    ]
}

fn simplyprint_templates() -> Vec<RankTemplate> {
    vec![
        rank(Spec {
            name: "Read-only stakeholder",
            description: "Sees printers, the queue and print history; cannot start, cancel or change anything.",
            permissions: set(&[
                P::OrganizationView,
                P::SitesView,
                P::PrintersView,
                P::QueueViewAll,
                P::QueueViewOwn,
                P::QueueHistoryAll,
                P::QueueHistoryOwn,
            ]),
            access: AccessLevel::View,
        }),
        rank(Spec {
            name: "Queue approver",
            description: "Approves and reorders the queue, sees all queued items and starts prints; no printer settings, no user management.",
            permissions: set(&[
                P::OrganizationView,
                P::PrintersView,
                P::ApprovalReview,
                P::QueueReorder,
                P::QueueViewAll,
                P::QueueViewOwn,
                P::QueueHistoryAll,
                P::QueueHistoryOwn,
                P::PrinterControlStart,
            ]),
            access: AccessLevel::Print,
        }),
        rank(Spec {
            name: "Filament admin",
            description: "Full filament inventory access; printers and queue only to view.",
            permissions: set(&[
                P::OrganizationView,
                P::PrintersView,
                P::QueueViewAll,
                P::QueueViewOwn,
                P::QueueHistoryAll,
                P::QueueHistoryOwn,
                P::FilamentView,
                P::FilamentManage,
            ]),
            access: AccessLevel::View,
        }),
        rank(Spec {
            name: "Trusted operator",
            description: "Everything a daily print-farm operator needs, without account administration or billing.",
            permissions: union(&[
                &[
                    P::OrganizationView,
                    P::SitesView,
                    P::PrintersView,
                    P::QueueSubmit,
                    P::QueueReorder,
                    P::QueueEditAll,
                    P::QueueCancelAll,
                    P::QueueMoveAll,
                    P::QueueReviveAll,
                    P::QueueExport,
                ],
                RUN_PRINTERS,
                &[P::FilamentView, P::FilamentManage],
            ]),
            access: AccessLevel::Print,
        }),
        rank(Spec {
            name: "Restricted slicer student",
            description: "Slices with preset profiles only and queues prints, but cannot start them.",
            permissions: set(&[
                P::OrganizationView,
                P::PrintersView,
                P::SlicerUse,
                P::QueueSubmit,
                P::QueueEditOwn,
                P::FilesUpload,
            ]),
            access: AccessLevel::Queue,
        }),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn founding_presets_have_one_owner_rank_first() {
        for preset in Preset::ALL {
            let ranks = preset.ranks();
            let owners: Vec<_> = ranks.iter().filter(|r| r.is_owner).collect();
            if preset == Preset::SimplyPrintTemplates {
                assert!(owners.is_empty());
            } else {
                assert_eq!(owners.len(), 1, "{preset:?}");
                assert!(ranks[0].is_owner, "{preset:?}");
            }
            let mut names: Vec<_> = ranks.iter().map(|r| r.name).collect();
            names.dedup();
            assert_eq!(
                names.len(),
                ranks.len(),
                "{preset:?}: rank names are unique"
            );
            assert_eq!(Preset::parse(preset.key()), Some(preset));
        }
    }

    #[test]
    fn slicing_opens_up_with_the_rank() {
        let ranks = Preset::Farmhand.ranks();
        let holds = |name: &str, p: Permission| {
            ranks
                .iter()
                .find(|r| r.name == name)
                .is_some_and(|r| r.permissions.contains(p))
        };
        // Guests slice with the basic settings only; members also place the model; operators
        // get the advanced tab, other profiles and copies; managers the expert tab and keep the
        // profiles and locks.
        let tiers = [
            P::SlicerUse,
            P::SlicerAutoRotate,
            P::SlicerAdvancedTab,
            P::SlicerExpertTab,
            P::SlicerManageProfiles,
        ];
        for (rank, highest) in [
            ("Guest", 0),
            ("Member", 1),
            ("Operator", 2),
            ("Manager", 4),
            ("Admin", 4),
        ] {
            for (i, p) in tiers.iter().enumerate() {
                assert_eq!(holds(rank, *p), i <= highest, "{rank}: {p}");
            }
        }
        assert!(!holds("Viewer", P::SlicerUse));
        assert!(
            holds("Manager", P::SlicerLockSettings) && !holds("Operator", P::SlicerLockSettings)
        );
        // Members may be given the advanced and expert tabs one by one.
        let member = ranks.iter().find(|r| r.name == "Member").unwrap();
        assert!(member.tri_state.contains(P::SlicerAdvancedTab));
        assert!(member.tri_state.contains(P::SlicerExpertTab));
    }

    #[test]
    fn farmhand_ranks_narrow_as_they_go_down() {
        let ranks = Preset::Farmhand.ranks();
        let names: Vec<_> = ranks.iter().map(|r| r.name).collect();
        assert_eq!(
            names,
            [
                "Owner", "Admin", "Manager", "Operator", "Member", "Guest", "Viewer"
            ]
        );
        for pair in ranks[1..5].windows(2) {
            assert!(
                pair[1].permissions.is_subset_of(pair[0].permissions),
                "{} ⊆ {}",
                pair[1].name,
                pair[0].name
            );
            assert!(pair[1].access <= pair[0].access);
        }
    }
}
