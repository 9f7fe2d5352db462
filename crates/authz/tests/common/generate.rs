//! Seeded random organizations: sites, printer groups and models, printers, ranks with
//! scopes and tri-state permissions, members with overrides and workgroups, and access
//! grants. Shared by the Cedar differential test and the decisions benchmark.

// Each user takes a part.
#![allow(dead_code)]

use authz::ids::{
    MemberId, PrinterGroupId, PrinterId, PrinterModelId, RankId, SiteId, WorkgroupId,
};
use authz::{
    AccessLevel, BedClearAccess, Grant, Member, MemberScope, Org, OrgSettings, OutOfScope,
    Permission, PermissionSet, Printer, PrinterScope, Rank, Subject, Target,
};
use rand::Rng;
use rand::seq::IndexedRandom;

/// How big an organization to make.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub sites: usize,
    pub groups: usize,
    pub models: usize,
    pub printers: usize,
    pub ranks: usize,
    pub members: usize,
    pub workgroups: usize,
    pub grants: usize,
}

impl Shape {
    /// A small organization of random size, for differential testing: small enough that
    /// every rank, grant and override matters to some requests.
    pub fn small(rng: &mut impl Rng) -> Shape {
        Shape {
            sites: rng.random_range(1..=4),
            groups: rng.random_range(0..=5),
            models: rng.random_range(0..=4),
            printers: rng.random_range(1..=24),
            ranks: rng.random_range(1..=7),
            members: rng.random_range(1..=16),
            workgroups: rng.random_range(0..=4),
            grants: rng.random_range(0..=24),
        }
    }

    /// The benchmark's organization: 1,000 members, 100 ranks, 10,000 printers.
    pub fn large() -> Shape {
        Shape {
            sites: 20,
            groups: 200,
            models: 30,
            printers: 10_000,
            ranks: 100,
            members: 1_000,
            workgroups: 50,
            grants: 600,
        }
    }
}

/// Permissions that need some access to the printer (with the default settings).
pub fn printer_scoped() -> Vec<Permission> {
    Permission::ALL
        .into_iter()
        .filter(|p| {
            p.printer_access() > AccessLevel::None
                || *p == Permission::PrinterControlConfirmBedClear
        })
        .collect()
}

/// A random set where each permission is in with probability `density`.
pub fn random_set(rng: &mut impl Rng, density: f64) -> PermissionSet {
    Permission::ALL
        .into_iter()
        .filter(|_| rng.random_bool(density))
        .collect()
}

/// Up to `max` permissions, mostly (but not only) picked from `prefer`.
fn overrides(rng: &mut impl Rng, prefer: PermissionSet, max: usize) -> PermissionSet {
    let preferred: Vec<Permission> = prefer.iter().collect();
    let mut set = PermissionSet::EMPTY;
    for _ in 0..rng.random_range(0..=max) {
        let pick = match preferred.choose(rng) {
            Some(p) if rng.random_bool(0.7) => *p,
            _ => Permission::ALL[rng.random_range(0..Permission::ALL.len())],
        };
        set.insert(pick);
    }
    set
}

/// IDs `1..=count`, plus now and then one that names nothing (as stale facts may).
fn id(rng: &mut impl Rng, count: usize) -> i64 {
    if count == 0 || rng.random_bool(0.03) {
        (count + 1) as i64
    } else {
        rng.random_range(1..=count as i64)
    }
}

fn pick_some<T>(rng: &mut impl Rng, max: usize, count: usize, make: impl Fn(i64) -> T) -> Vec<T> {
    (0..rng.random_range(0..=max))
        .map(|_| make(id(rng, count)))
        .collect()
}

fn random_scope(rng: &mut impl Rng, shape: &Shape) -> PrinterScope {
    if rng.random_bool(0.25) {
        return PrinterScope::all();
    }
    PrinterScope {
        all: false,
        sites: pick_some(rng, 2, shape.sites, SiteId),
        groups: pick_some(rng, 2, shape.groups, PrinterGroupId),
        models: pick_some(rng, 2, shape.models, PrinterModelId),
        printers: pick_some(rng, 3, shape.printers, PrinterId),
    }
}

fn random_target(rng: &mut impl Rng, shape: &Shape) -> Target {
    match rng.random_range(0..5) {
        0 => Target::AllPrinters,
        1 => Target::Site(SiteId(id(rng, shape.sites))),
        2 => Target::Group(PrinterGroupId(id(rng, shape.groups))),
        3 => Target::Model(PrinterModelId(id(rng, shape.models))),
        _ => Target::Printer(PrinterId(id(rng, shape.printers))),
    }
}

/// A random organization of the given shape. Every member's rank exists; grants, scopes and
/// overrides may name things that do not.
pub fn random_org(rng: &mut impl Rng, shape: &Shape) -> Org {
    let printers = (1..=shape.printers as i64)
        .map(|i| {
            let mut groups: Vec<PrinterGroupId> = Vec::new();
            if shape.groups > 0 {
                for _ in 0..rng.random_range(0..=3) {
                    let g = PrinterGroupId(rng.random_range(1..=shape.groups as i64));
                    if !groups.contains(&g) {
                        groups.push(g);
                    }
                }
            }
            Printer {
                id: PrinterId(i),
                site: SiteId(rng.random_range(1..=shape.sites.max(1) as i64)),
                model: (shape.models > 0 && rng.random_bool(0.8))
                    .then(|| PrinterModelId(rng.random_range(1..=shape.models as i64))),
                groups,
            }
        })
        .collect();

    let ranks: Vec<Rank> = (1..=shape.ranks.max(1) as i64)
        .map(|i| {
            let density = [0.0, 0.1, 0.3, 0.5, 0.8, 1.0][rng.random_range(0..6)];
            let permissions = random_set(rng, density);
            let tri_density = rng.random_range(0.0..0.6);
            let tri_state = random_set(rng, tri_density);
            Rank {
                id: RankId(i),
                name: format!("rank {i}"),
                position: rng.random_range(-3..40),
                is_owner: rng.random_bool(0.12),
                permissions,
                tri_state,
                scope: random_scope(rng, shape),
                out_of_scope: if rng.random_bool(0.5) {
                    OutOfScope::VisibleLocked
                } else {
                    OutOfScope::Hidden
                },
                member_scope: [
                    MemberScope::Everyone,
                    MemberScope::ModeratedWorkgroups,
                    MemberScope::ScopedSites,
                ][rng.random_range(0..3)],
            }
        })
        .collect();

    let members = (1..=shape.members.max(1) as i64)
        .map(|i| {
            let rank = &ranks[rng.random_range(0..ranks.len())];
            let mut workgroups = Vec::new();
            if shape.workgroups > 0 {
                for _ in 0..rng.random_range(0..=3) {
                    let w = WorkgroupId(rng.random_range(1..=shape.workgroups as i64));
                    if !workgroups.contains(&w) {
                        workgroups.push(w);
                    }
                }
            }
            let mut allow = overrides(rng, rank.tri_state, 4);
            let deny = overrides(rng, rank.tri_state, 3);
            // Now and then the same permission both allowed and denied.
            if let Some(p) = deny.iter().next().filter(|_| rng.random_bool(0.2)) {
                allow.insert(p);
            }
            Member {
                id: MemberId(i),
                name: format!("member {i}"),
                rank: rank.id,
                allow,
                deny,
                moderates: workgroups
                    .iter()
                    .copied()
                    .filter(|_| rng.random_bool(0.3))
                    .collect(),
                workgroups,
                site: rng.random_bool(0.5).then(|| SiteId(id(rng, shape.sites))),
                active: rng.random_bool(0.9),
            }
        })
        .collect();

    let grants = (0..shape.grants)
        .map(|_| {
            let subject = match rng.random_range(0..3) {
                0 => Subject::Rank(RankId(id(rng, shape.ranks))),
                1 => Subject::Workgroup(WorkgroupId(id(rng, shape.workgroups))),
                _ => Subject::Member(MemberId(id(rng, shape.members))),
            };
            Grant {
                subject,
                target: random_target(rng, shape),
                level: AccessLevel::ALL[rng.random_range(0..AccessLevel::ALL.len())],
            }
        })
        .collect();

    let bed_clear = if rng.random_bool(0.5) {
        BedClearAccess::AnyAccess
    } else {
        BedClearAccess::PrintAccess
    };
    Org {
        ranks,
        members,
        printers,
        grants,
        settings: OrgSettings { bed_clear },
    }
}
