//! Decision benchmark on one organization of 1,000 members, 100 ranks and 10,000 printers
//! (with sites, printer groups, models, overrides and grants):
//! - (a) a single `Policy::check` with the member's rights compiled (warm), and the number of
//!   allocations during 1,000,000 such checks (counted by a `stats_alloc` global allocator);
//! - (b) listing the printers a member can see out of 10,000;
//! - (c) the same single decision through cedar-policy (the member's slice of the policies,
//!   `tests/common/cedar.rs`) and through casbin (the RBAC model below), with the ratios to
//!   Farmhand's check.
//!
//! The figures are printed first (median of timed batches), then criterion measures the same
//! operations. `cargo bench -p authz --bench decisions`
//!
//! The casbin model, in two parts asked one after the other (both must allow):
//! - held permissions (`r`/`p`/`e`/`m`, deny overrides): `g` puts each active member in their
//!   rank, workgroups and `everyone`; `g3` puts each action in `perms:<rank>` for the ranks
//!   holding it (owners' ranks: `perms:all`, every action), in `allow:<member>` for the
//!   member's allow overrides and in `deny:<member>` for their deny overrides (both limited
//!   here to the rank's tri-state permissions, and no deny for owners); rows `p, rank:r,
//!   perms:r, allow`, `p, member:m, allow:m, allow`, `p, member:m, deny:m, deny`;
//! - printer access (`r2`/`p2`/`e2`/`m2`, asked only when a printer is named): `g3` also puts
//!   each action in the access level it needs (`level:none` .. `level:manage`, a chain so
//!   that a level covers the ones below); `g2` puts each printer in its site, groups, model and
//!   `printers`, and each site, group, model or printer of a rank's scope in `scope:<rank>`;
//!   one row per grant `p2, <subject>, <target>, level:<level>, <scope>, <cond>` where a
//!   rank's grant requires the printer in `scope:<rank>` (`in`), a visible-but-locked rank
//!   has `p2, rank:r, printers, level:view, scope:r, out`, owners' ranks `p2, rank:r,
//!   printers, level:manage, -, any`, and `p2, everyone, printers, level:none, -, any` lets
//!   through the permissions that need no access.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/common/cedar.rs"]
mod cedar;
#[path = "../tests/common/generate.rs"]
mod generate;

use std::alloc::System;
use std::collections::BTreeSet;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use authz::{
    AccessLevel, BedClearAccess, MemberIx, Org, OutOfScope, Permission, Policy, PrinterIx, Subject,
    Target,
};
use casbin::{CoreApi, DefaultModel, EnforceContext, Enforcer, MemoryAdapter, MgmtApi};
use cedar::CedarOrg;
use criterion::Criterion;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const SEED: u64 = 0x4245_4e43_484d_4152; // "BENCHMAR"

const CASBIN_MODEL: &str = r#"
[request_definition]
r = sub, act
r2 = sub, obj, act

[policy_definition]
p = sub, act, eft
p2 = sub, obj, act, scope, cond

[role_definition]
g = _, _
g2 = _, _
g3 = _, _

[policy_effect]
e = some(where (p.eft == allow)) && !some(where (p.eft == deny))
e2 = some(where (p.eft == allow))

[matchers]
m = g(r.sub, p.sub) && g3(r.act, p.act)
m2 = g(r2.sub, p2.sub) && g3(r2.act, p2.act) && g2(r2.obj, p2.obj) && (p2.cond == "any" || (p2.cond == "in" && g2(r2.obj, p2.scope)) || (p2.cond == "out" && !g2(r2.obj, p2.scope)))
"#;

/// Runs a future that never waits (casbin's set-up with an in-memory adapter).
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..1_000 {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
    panic!("casbin set-up waited on something");
}

fn needed(org: &Org, permission: Permission) -> AccessLevel {
    if permission == Permission::PrinterControlConfirmBedClear
        && org.settings.bed_clear == BedClearAccess::AnyAccess
    {
        AccessLevel::View
    } else {
        permission.printer_access()
    }
}

fn target_object(target: Target) -> String {
    match target {
        Target::AllPrinters => "printers".into(),
        Target::Site(s) => format!("site:{s}"),
        Target::Group(g) => format!("group:{g}"),
        Target::Model(m) => format!("model:{m}"),
        Target::Printer(p) => format!("printer:{p}"),
    }
}

fn subject(subject: Subject) -> String {
    match subject {
        Subject::Rank(r) => format!("rank:{r}"),
        Subject::Workgroup(w) => format!("wg:{w}"),
        Subject::Member(m) => format!("member:{m}"),
    }
}

fn row(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

struct Casbin {
    enforcer: Enforcer,
    rows: usize,
    links: usize,
}

fn casbin(org: &Org) -> Casbin {
    let (mut p, mut p2, mut g, mut g2, mut g3) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for level in AccessLevel::ALL.windows(2) {
        g3.push(row(&[
            &format!("level:{}", level[0].key()),
            &format!("level:{}", level[1].key()),
        ]));
    }
    for permission in Permission::ALL {
        g3.push(row(&[
            permission.key(),
            &format!("level:{}", needed(org, permission).key()),
        ]));
        g3.push(row(&[permission.key(), "perms:all"]));
    }
    p2.push(row(&["everyone", "printers", "level:none", "-", "any"]));
    for rank in &org.ranks {
        let r = format!("rank:{}", rank.id);
        let scope = format!("scope:{}", rank.id);
        if rank.is_owner {
            p.push(row(&[&r, "perms:all", "allow"]));
            p2.push(row(&[&r, "printers", "level:manage", "-", "any"]));
            continue;
        }
        let perms = format!("perms:{}", rank.id);
        p.push(row(&[&r, &perms, "allow"]));
        g3.extend(rank.permissions.iter().map(|k| row(&[k.key(), &perms])));
        if !rank.scope.all {
            let s = &rank.scope;
            let members = s.sites.iter().map(|x| format!("site:{x}"));
            let members = members.chain(s.groups.iter().map(|x| format!("group:{x}")));
            let members = members.chain(s.models.iter().map(|x| format!("model:{x}")));
            let members: BTreeSet<String> = members
                .chain(s.printers.iter().map(|x| format!("printer:{x}")))
                .collect();
            g2.extend(members.iter().map(|m| row(&[m, &scope])));
            if rank.out_of_scope == OutOfScope::VisibleLocked {
                p2.push(row(&[&r, "printers", "level:view", &scope, "out"]));
            }
        }
    }
    for member in org.members.iter().filter(|m| m.active) {
        let m = format!("member:{}", member.id);
        let rank = org
            .ranks
            .iter()
            .find(|r| r.id == member.rank)
            .expect("the member's rank");
        g.push(row(&[&m, &format!("rank:{}", rank.id)]));
        g.push(row(&[&m, "everyone"]));
        g.extend(
            member
                .workgroups
                .iter()
                .map(|w| row(&[&m, &format!("wg:{w}")])),
        );
        if rank.is_owner {
            continue;
        }
        for (set, group, effect) in [
            (member.allow, "allow", "allow"),
            (member.deny, "deny", "deny"),
        ] {
            let set = set.intersection(rank.tri_state);
            if !set.is_empty() {
                let group = format!("{group}:{}", member.id);
                p.push(row(&[&m, &group, effect]));
                g3.extend(set.iter().map(|k| row(&[k.key(), &group])));
            }
        }
    }
    for grant in &org.grants {
        let (scope, cond) = match grant.subject {
            Subject::Rank(r) => match org.ranks.iter().find(|rank| rank.id == r) {
                Some(rank) if !rank.scope.all => (format!("scope:{r}"), "in"),
                _ => ("-".to_string(), "any"),
            },
            _ => ("-".to_string(), "any"),
        };
        let level = format!("level:{}", grant.level.key());
        p2.push(row(&[
            &subject(grant.subject),
            &target_object(grant.target),
            &level,
            &scope,
            cond,
        ]));
    }
    for printer in &org.printers {
        let pr = format!("printer:{}", printer.id);
        g2.push(row(&[&pr, "printers"]));
        g2.push(row(&[&pr, &format!("site:{}", printer.site)]));
        g2.extend(
            printer
                .groups
                .iter()
                .map(|x| row(&[&pr, &format!("group:{x}")])),
        );
        g2.extend(printer.model.map(|x| row(&[&pr, &format!("model:{x}")])));
    }
    let (rows, links) = (p.len() + p2.len(), g.len() + g2.len() + g3.len());
    let enforcer = block_on(async {
        let model = DefaultModel::from_str(CASBIN_MODEL)
            .await
            .expect("casbin model");
        let mut e = Enforcer::new(model, MemoryAdapter::default())
            .await
            .expect("casbin enforcer");
        e.add_named_policies("p", p).await.expect("p rows");
        e.add_named_policies("p2", p2).await.expect("p2 rows");
        e.add_named_grouping_policies("g", g)
            .await
            .expect("g links");
        e.add_named_grouping_policies("g2", g2)
            .await
            .expect("g2 links");
        e.add_named_grouping_policies("g3", g3)
            .await
            .expect("g3 links");
        e
    });
    Casbin {
        enforcer,
        rows,
        links,
    }
}

impl Casbin {
    fn allows(&self, member: &str, permission: &str, printer: Option<&str>) -> bool {
        let held = self
            .enforcer
            .enforce((member, permission))
            .expect("casbin enforce");
        held && match printer {
            None => true,
            Some(printer) => self
                .enforcer
                .enforce_with_context(EnforceContext::new("2"), (member, printer, permission))
                .expect("casbin enforce"),
        }
    }
}

/// Median nanoseconds per call over 15 timed batches of about 40 ms each.
fn per_call(mut f: impl FnMut()) -> f64 {
    let start = Instant::now();
    let mut calls = 0u64;
    while start.elapsed() < Duration::from_millis(40) {
        f();
        calls += 1;
    }
    let mut samples: Vec<f64> = (0..15)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..calls {
                f();
            }
            t.elapsed().as_nanos() as f64 / calls as f64
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn main() {
    let mut rng = StdRng::seed_from_u64(SEED);
    let t = Instant::now();
    let org = generate::random_org(&mut rng, &generate::Shape::large());
    println!(
        "organization: {} members, {} ranks, {} printers, {} grants (generated in {:.1?})",
        org.members.len(),
        org.ranks.len(),
        org.printers.len(),
        org.grants.len(),
        t.elapsed()
    );

    // Farmhand: compile every member's rights up front (the warm state).
    let cold = Policy::new(org.clone());
    let t = Instant::now();
    let _ = black_box(cold.rights(cold.member_ix(org.members[0].id).expect("member")));
    println!(
        "farmhand: compiling one member's rights (cold): {:.1?}",
        t.elapsed()
    );
    let policy = Policy::new(org.clone());
    let t = Instant::now();
    let members: Vec<MemberIx> = org
        .members
        .iter()
        .map(|m| policy.member_ix(m.id).expect("member"))
        .collect();
    for ix in &members {
        black_box(policy.rights(*ix));
    }
    println!(
        "farmhand: compiling all 1,000 members' rights: {:.1?}",
        t.elapsed()
    );

    // The request: a non-owner member holding a printer permission who may use it on a
    // printer, so that the check takes its whole path (permission bit, level read).
    let scoped = generate::printer_scoped();
    let printers: Vec<PrinterIx> = org
        .printers
        .iter()
        .map(|p| policy.printer_ix(p.id).expect("printer"))
        .collect();
    let (ix, permission, pix) = members
        .iter()
        .filter(|ix| {
            policy.member(**ix).active && !policy.rank_of(**ix).is_some_and(|r| r.is_owner)
        })
        .find_map(|ix| {
            let permission = scoped.iter().copied().find(|p| {
                policy.rights(*ix).permissions.contains(*p)
                    && policy.needed_level(*p) >= AccessLevel::Queue
            })?;
            let visible = policy.visible_printers(*ix).count();
            if !(500..9_000).contains(&visible) {
                return None;
            }
            let pix = printers
                .iter()
                .copied()
                .find(|p| policy.check(*ix, permission, Some(*p)))?;
            Some((*ix, permission, pix))
        })
        .expect("a member who may use a printer permission on some printer");
    let member = policy.member(ix).clone();
    let printer = policy.printer(pix).clone();
    assert!(
        policy
            .decide(member.id, permission, Some(printer.id))
            .is_allowed()
    );
    println!(
        "request: member {} (rank {}), {} (needs {}) on printer {}: allowed",
        member.id,
        member.rank,
        permission.key(),
        policy.needed_level(permission),
        printer.id
    );

    // Cedar and casbin, checked against Farmhand on sampled requests before timing them.
    let t = Instant::now();
    let cedar = CedarOrg::new(&org);
    let slices: Vec<cedar_policy::PolicySet> = org.members.iter().map(|m| cedar.slice(m)).collect();
    let slice = &slices[org
        .members
        .iter()
        .position(|m| m.id == member.id)
        .expect("member")];
    println!(
        "cedar: {} policies in all, {} in the member's slice, {} entities (built in {:.1?})",
        cedar.policies.len(),
        slice.policies().count(),
        org.members.len() + org.printers.len() + org.ranks.len(),
        t.elapsed()
    );
    let t = Instant::now();
    let casbin = casbin(&org);
    println!(
        "casbin: {} policy rows, {} role links (built in {:.1?})",
        casbin.rows,
        casbin.links,
        t.elapsed()
    );
    let (mut sampled, mut agreed_allowed) = (0, 0);
    for _ in 0..500 {
        let m = org.members.choose(&mut rng).expect("members");
        let mix = policy.member_ix(m.id).expect("member");
        let p = if rand::Rng::random_bool(&mut rng, 0.5) {
            *scoped.choose(&mut rng).expect("scoped")
        } else {
            *Permission::ALL.choose(&mut rng).expect("permissions")
        };
        let pr = org.printers.choose(&mut rng).expect("printers").id;
        let farmhand = policy.check(mix, p, policy.printer_ix(pr));
        let member_slice = &slices[org
            .members
            .iter()
            .position(|x| x.id == m.id)
            .expect("member")];
        let by_cedar = cedar.allows(member_slice, &cedar.request(m.id, p, Some(pr)));
        let by_casbin = casbin.allows(
            &format!("member:{}", m.id),
            p.key(),
            Some(&format!("printer:{pr}")),
        );
        assert_eq!(
            (by_cedar, by_casbin),
            (farmhand, farmhand),
            "member {} {} printer {pr}",
            m.id,
            p.key()
        );
        sampled += 1;
        agreed_allowed += usize::from(farmhand);
    }
    println!(
        "cedar and casbin agree with farmhand on {sampled} sampled requests ({agreed_allowed} allowed)"
    );

    let member_uid = cedar::uid("Member", member.id);
    let printer_uid = cedar::uid("Printer", printer.id);
    let casbin_member = format!("member:{}", member.id);
    let casbin_printer = format!("printer:{}", printer.id);
    assert!(cedar.allows(
        slice,
        &cedar.request_for(member_uid.clone(), permission, printer_uid.clone())
    ));
    assert!(casbin.allows(&casbin_member, permission.key(), Some(&casbin_printer)));

    // (a) The warm check, and its allocations.
    let farmhand_check =
        || black_box(policy.check(black_box(ix), black_box(permission), black_box(Some(pix))));
    let region = Region::new(GLOBAL);
    for _ in 0..1_000_000 {
        farmhand_check();
    }
    let change = region.change();
    let allocations = change.allocations + change.reallocations;
    let farmhand = per_call(|| {
        farmhand_check();
    });
    // Random members and printers, each with a printer permission the member holds (when
    // they hold one), so that most checks read the access level: 10 MB of levels, mostly
    // out of cache.
    let mixed: Vec<(MemberIx, Permission, PrinterIx)> = (0..4096)
        .map(|_| {
            let m = *members.choose(&mut rng).expect("members");
            let held: Vec<Permission> = scoped
                .iter()
                .copied()
                .filter(|p| policy.rights(m).permissions.contains(*p))
                .collect();
            let p = held.choose(&mut rng).copied().unwrap_or(scoped[0]);
            (m, p, *printers.choose(&mut rng).expect("printers"))
        })
        .collect();
    let mixed_allowed = mixed
        .iter()
        .filter(|(m, p, pr)| policy.check(*m, *p, Some(*pr)))
        .count();
    let mut next = 0;
    let farmhand_mixed = per_call(|| {
        next = (next + 1) & 4095;
        let (m, p, pr) = mixed[next];
        black_box(policy.check(black_box(m), p, Some(pr)));
    });

    // (b) Visible printers.
    let visible = policy.visible_printers(ix).count();
    let list_count = per_call(|| {
        black_box(policy.visible_printers(black_box(ix)).count());
    });
    let list_collect = per_call(|| {
        black_box(policy.visible_printers(black_box(ix)).collect::<Vec<_>>());
    });

    // (c) The same decision through Cedar and casbin.
    let cedar_decide = || {
        cedar.allows(
            slice,
            &cedar.request_for(member_uid.clone(), permission, printer_uid.clone()),
        )
    };
    let casbin_decide = || casbin.allows(&casbin_member, permission.key(), Some(&casbin_printer));
    let by_cedar = per_call(|| {
        black_box(cedar_decide());
    });
    let by_casbin = per_call(|| {
        black_box(casbin_decide());
    });
    // For comparison: Cedar with the whole organization's policies, unsliced.
    let by_cedar_unsliced = per_call(|| {
        black_box(cedar.allows(
            &cedar.all,
            &cedar.request_for(member_uid.clone(), permission, printer_uid.clone()),
        ));
    });

    println!();
    println!("== figures (median of 15 timed batches) ==");
    println!("(a) farmhand check, warm, single request: {farmhand:.2} ns (target <= 10 ns)");
    println!(
        "    farmhand check, warm, 4,096 random requests ({mixed_allowed} allowed): {farmhand_mixed:.2} ns per check"
    );
    println!("    allocations during 1,000,000 warm checks:  {allocations}");
    println!(
        "(b) visible printers of member {} ({visible} of {}): {:.2} µs iterated (count), {:.2} µs collected (target <= 50 µs)",
        member.id,
        org.printers.len(),
        list_count / 1e3,
        list_collect / 1e3
    );
    println!(
        "(c) cedar-policy, sliced policies + entities: {:.2} µs",
        by_cedar / 1e3
    );
    println!(
        "    cedar-policy, all {} policies (unsliced): {:.2} µs",
        cedar.policies.len(),
        by_cedar_unsliced / 1e3
    );
    println!(
        "    casbin (RBAC, two enforce calls): {:.2} µs",
        by_casbin / 1e3
    );
    println!("ratio cedar/farmhand: {:.0}x", by_cedar / farmhand);
    println!("ratio casbin/farmhand: {:.0}x", by_casbin / farmhand);
    println!();
    assert_eq!(allocations, 0, "warm checks must not allocate");

    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    let mut group = c.benchmark_group("decision");
    group.bench_function("farmhand check (warm)", |b| b.iter(farmhand_check));
    group.bench_function("cedar-policy (sliced)", |b| b.iter(cedar_decide));
    group.sample_size(20);
    group.bench_function("casbin", |b| b.iter(casbin_decide));
    group.finish();
    let mut group = c.benchmark_group("visible printers of 10,000");
    group.bench_function("count", |b| {
        b.iter(|| policy.visible_printers(black_box(ix)).count())
    });
    group.bench_function("collect", |b| {
        b.iter(|| policy.visible_printers(black_box(ix)).collect::<Vec<_>>())
    });
    group.finish();
    c.final_summary();
}
