//! Differential test: Farmhand's decisions against Cedar's, on random organizations.
//!
//! Each seeded random organization is written in Cedar straight from its facts
//! (`common/cedar.rs`, independent of `Policy`'s algorithm), and random (member, permission,
//! printer-or-none) requests are decided by both. Farmhand's `decide` (the explained
//! decision) and `check` (the compiled fast path) must each agree with Cedar on allow or
//! deny. A disagreement is shrunk to a small organization and reported with everything
//! needed to reproduce it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/cedar.rs"]
mod cedar;
#[path = "common/generate.rs"]
mod generate;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Instant;

use authz::ids::{MemberId, PrinterId};
use authz::{Org, OrgSettings, Permission, PermissionSet, Policy, PrinterScope};
use cedar::CedarOrg;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};

const SEED: u64 = 0x4641_524d_4841_4e44; // "FARMHAND"
const ORGS: usize = 600;
const REQUESTS_PER_ORG: usize = 200;

#[derive(Debug, Clone, Copy)]
struct Ask {
    member: MemberId,
    permission: Permission,
    printer: Option<PrinterId>,
}

fn random_ask(rng: &mut StdRng, org: &Org, scoped: &[Permission]) -> Ask {
    let member = match org.members.choose(rng) {
        Some(m) if rng.random_bool(0.98) => m.id,
        _ => MemberId(1_000_000), // nobody
    };
    let permission = match scoped.choose(rng) {
        Some(p) if rng.random_bool(0.5) => *p,
        _ => Permission::ALL[rng.random_range(0..Permission::ALL.len())],
    };
    let printer = org
        .printers
        .choose(rng)
        .filter(|_| rng.random_bool(0.85))
        .map(|p| p.id);
    Ask {
        member,
        permission,
        printer,
    }
}

/// Both engines' answers to one request.
struct Answers {
    decide: authz::Decision,
    check: bool,
    cedar: bool,
    cedar_reasons: Vec<String>,
    cedar_errors: Vec<String>,
}

impl Answers {
    /// `None` when all agree, else what kind of disagreement this is: which of Farmhand's
    /// answers differ from Cedar's, and the shape of the explained decision.
    fn disagreement(&self) -> Option<String> {
        let decide = self.decide.is_allowed() != self.cedar;
        let check = self.check != self.cedar;
        if !decide && !check && self.cedar_errors.is_empty() {
            return None;
        }
        let variant: String = format!("{:?}", self.decide)
            .chars()
            .take_while(|c| c.is_alphanumeric())
            .collect();
        let source = match &self.decide {
            authz::Decision::Allowed { permission, .. }
            | authz::Decision::MissingPermission { permission } => format!("{permission:?}")
                .chars()
                .take_while(|c| c.is_alphanumeric())
                .collect(),
            _ => String::new(),
        };
        Some(format!(
            "Cedar {}; decide {} ({variant} {source}); check {}{}",
            if self.cedar { "allows" } else { "denies" },
            if decide { "disagrees" } else { "agrees" },
            if check { "disagrees" } else { "agrees" },
            if self.cedar_errors.is_empty() {
                ""
            } else {
                "; Cedar errors"
            },
        ))
    }
}

fn answers(
    policy: &Policy,
    cedar: &CedarOrg,
    policies: &cedar_policy::PolicySet,
    ask: Ask,
) -> Answers {
    let decide = policy.decide(ask.member, ask.permission, ask.printer);
    let check = match policy.member_ix(ask.member) {
        Some(ix) => policy.check(
            ix,
            ask.permission,
            ask.printer.and_then(|p| policy.printer_ix(p)),
        ),
        None => false,
    };
    let response = cedar.authorize(
        policies,
        &cedar.request(ask.member, ask.permission, ask.printer),
    );
    let diagnostics = response.diagnostics();
    Answers {
        decide,
        check,
        cedar: response.decision() == cedar_policy::Decision::Allow,
        cedar_reasons: diagnostics
            .reason()
            .map(|id| format!("{id}: {}", cedar.text(id.as_ref())))
            .collect(),
        cedar_errors: diagnostics.errors().map(|e| e.to_string()).collect(),
    }
}

fn disagreement(org: &Org, ask: Ask) -> Option<String> {
    let cedar = CedarOrg::new(org);
    answers(&Policy::new(org.clone()), &cedar, &cedar.all, ask).disagreement()
}

/// Greedily simplifies the organization (and the request's printer) while the same kind of
/// disagreement persists.
fn shrink(mut org: Org, mut ask: Ask) -> (Org, Ask) {
    let kind = disagreement(&org, ask);
    let keep = |set: PermissionSet| -> PermissionSet {
        if set.contains(ask.permission) {
            [ask.permission].into_iter().collect()
        } else {
            PermissionSet::EMPTY
        }
    };
    if ask.printer.is_some()
        && disagreement(
            &org,
            Ask {
                printer: None,
                ..ask
            },
        ) == kind
    {
        ask.printer = None;
    }
    loop {
        let mut candidates: Vec<Org> = Vec::new();
        for i in 0..org.grants.len() {
            let mut o = org.clone();
            o.grants.remove(i);
            candidates.push(o);
        }
        for (i, m) in org.members.iter().enumerate() {
            if m.id != ask.member {
                let mut o = org.clone();
                o.members.remove(i);
                candidates.push(o);
            }
        }
        for (i, p) in org.printers.iter().enumerate() {
            if Some(p.id) != ask.printer {
                let mut o = org.clone();
                o.printers.remove(i);
                candidates.push(o);
            }
        }
        for (i, r) in org.ranks.iter().enumerate() {
            if org.members.iter().all(|m| m.rank != r.id) {
                let mut o = org.clone();
                o.ranks.remove(i);
                candidates.push(o);
            }
        }
        if org.settings != OrgSettings::default() {
            candidates.push(Org {
                settings: OrgSettings::default(),
                ..org.clone()
            });
        }
        for i in 0..org.members.len() {
            let edits: [fn(&mut authz::Member); 4] = [
                |m| m.workgroups.clear(),
                |m| m.moderates.clear(),
                |m| m.site = None,
                |m| m.name = String::new(),
            ];
            for edit in edits {
                let mut o = org.clone();
                edit(&mut o.members[i]);
                candidates.push(o);
            }
            for w in 0..org.members[i].workgroups.len() {
                let mut o = org.clone();
                o.members[i].workgroups.remove(w);
                candidates.push(o);
            }
            let mut o = org.clone();
            o.members[i].allow = keep(o.members[i].allow);
            o.members[i].deny = keep(o.members[i].deny);
            candidates.push(o);
            let mut o = org.clone();
            o.members[i].allow = PermissionSet::EMPTY;
            candidates.push(o);
            let mut o = org.clone();
            o.members[i].deny = PermissionSet::EMPTY;
            candidates.push(o);
        }
        for i in 0..org.ranks.len() {
            let mut o = org.clone();
            o.ranks[i].permissions = keep(o.ranks[i].permissions);
            o.ranks[i].tri_state = keep(o.ranks[i].tri_state);
            candidates.push(o);
            let mut o = org.clone();
            o.ranks[i].tri_state = PermissionSet::EMPTY;
            candidates.push(o);
            let mut o = org.clone();
            o.ranks[i].name = String::new();
            o.ranks[i].position = 0;
            o.ranks[i].member_scope = authz::MemberScope::default();
            candidates.push(o);
            let mut o = org.clone();
            o.ranks[i].is_owner = false;
            candidates.push(o);
            let mut o = org.clone();
            o.ranks[i].out_of_scope = authz::OutOfScope::Hidden;
            candidates.push(o);
            // Only ever towards one of the two simplest scopes, so that shrinking ends.
            if org.ranks[i].scope != PrinterScope::all()
                && org.ranks[i].scope != PrinterScope::default()
            {
                for scope in [PrinterScope::all(), PrinterScope::default()] {
                    let mut o = org.clone();
                    o.ranks[i].scope = scope;
                    candidates.push(o);
                }
            }
        }
        for i in 0..org.printers.len() {
            let mut o = org.clone();
            o.printers[i].groups.clear();
            candidates.push(o);
            let mut o = org.clone();
            o.printers[i].model = None;
            candidates.push(o);
        }
        match candidates
            .into_iter()
            .find(|o| *o != org && disagreement(o, ask) == kind)
        {
            Some(smaller) => org = smaller,
            None => return (org, ask),
        }
    }
}

fn dump(org: &Org, ask: Ask) -> String {
    let cedar = CedarOrg::new(org);
    let policy = Policy::new(org.clone());
    let a = answers(&policy, &cedar, &cedar.all, ask);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "request: member {}, permission {} (catalog needs {}, Farmhand needs {}), printer {:?}",
        ask.member,
        ask.permission.key(),
        ask.permission.printer_access(),
        policy.needed_level(ask.permission),
        ask.printer.map(|p| p.0)
    );
    let _ = writeln!(
        out,
        "Farmhand decide: allowed = {}: {:?}",
        a.decide.is_allowed(),
        a.decide
    );
    let _ = writeln!(out, "Farmhand check:  allowed = {}", a.check);
    let _ = writeln!(out, "Cedar:           allowed = {}", a.cedar);
    for r in &a.cedar_reasons {
        let _ = writeln!(out, "  determined by {r}");
    }
    for e in &a.cedar_errors {
        let _ = writeln!(out, "  Cedar error: {e}");
    }
    let _ = writeln!(
        out,
        "organization (shrunk): {} ranks, {} members, {} printers, {} grants, {:?}",
        org.ranks.len(),
        org.members.len(),
        org.printers.len(),
        org.grants.len(),
        org.settings
    );
    for r in &org.ranks {
        let _ = writeln!(
            out,
            "  rank {}: owner {}, permissions {:?}, tri-state {:?}, scope {:?}, out of scope {:?}",
            r.id,
            r.is_owner,
            r.permissions.keys(),
            r.tri_state.keys(),
            r.scope,
            r.out_of_scope
        );
    }
    for m in &org.members {
        let _ = writeln!(
            out,
            "  member {}: rank {}, active {}, allow {:?}, deny {:?}, workgroups {:?}",
            m.id,
            m.rank,
            m.active,
            m.allow.keys(),
            m.deny.keys(),
            m.workgroups
        );
    }
    for p in &org.printers {
        let _ = writeln!(
            out,
            "  printer {}: site {}, model {:?}, groups {:?}",
            p.id, p.site, p.model, p.groups
        );
    }
    for g in &org.grants {
        let _ = writeln!(
            out,
            "  grant: {:?} on {:?} at {}",
            g.subject, g.target, g.level
        );
    }
    let _ = writeln!(out, "Cedar policies:");
    for p in &cedar.policies {
        let _ = writeln!(out, "  {}: {}", p.id, p.text);
    }
    out
}

#[test]
fn cedar_agrees_with_farmhand_on_random_organizations() {
    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(SEED);
    let scoped = generate::printer_scoped();
    let (mut compared, mut allowed, mut with_printer, mut sliced) =
        (0usize, 0usize, 0usize, 0usize);
    // Kind of disagreement -> (count, first example).
    let mut disagreements: BTreeMap<String, (usize, Org, Ask)> = BTreeMap::new();
    for _ in 0..ORGS {
        let shape = generate::Shape::small(&mut rng);
        let org = generate::random_org(&mut rng, &shape);
        let policy = Policy::new(org.clone());
        let cedar = CedarOrg::new(&org);
        let slices: Vec<cedar_policy::PolicySet> =
            org.members.iter().map(|m| cedar.slice(m)).collect();
        for i in 0..REQUESTS_PER_ORG {
            let ask = random_ask(&mut rng, &org, &scoped);
            let a = answers(&policy, &cedar, &cedar.all, ask);
            if let Some(kind) = a.disagreement() {
                disagreements
                    .entry(kind)
                    .or_insert_with(|| (0, org.clone(), ask))
                    .0 += 1;
            }
            // The benchmark decides with per-member slices of the policies: they must agree
            // with the whole set.
            if i % 4 == 0
                && let Some(m) = org.members.iter().position(|m| m.id == ask.member)
            {
                let request = cedar.request(ask.member, ask.permission, ask.printer);
                let sliced_allows = cedar.allows(&slices[m], &request);
                assert_eq!(
                    sliced_allows,
                    a.cedar,
                    "sliced policies disagree on {ask:?}\n{}",
                    dump(&org, ask)
                );
                sliced += 1;
            }
            compared += 1;
            allowed += usize::from(a.cedar);
            with_printer += usize::from(ask.printer.is_some());
        }
    }
    println!(
        "cedar differential: compared {compared} requests on {ORGS} organizations ({allowed} allowed by Cedar, \
         {with_printer} naming a printer; {sliced} also on sliced policies) in {:.1?}",
        started.elapsed()
    );
    if !disagreements.is_empty() {
        let mut report = format!(
            "Cedar and Farmhand disagree on {} kinds of request:\n",
            disagreements.len()
        );
        for (kind, (count, org, ask)) in disagreements {
            let (org, ask) = shrink(org, ask);
            let _ = writeln!(
                report,
                "\n=== {kind}: {count} of {compared} requests; the first, shrunk:"
            );
            report.push_str(&dump(&org, ask));
        }
        panic!("{report}");
    }
    assert!(compared >= 100_000);
    // Both outcomes must be well represented for the comparison to mean anything.
    assert!(
        allowed > compared / 10 && allowed < compared * 9 / 10,
        "{allowed} of {compared} allowed"
    );
}
