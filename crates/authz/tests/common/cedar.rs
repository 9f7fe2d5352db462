//! Farmhand's facts ([`Org`]) written as Cedar entities and policies, straight from the facts
//! and independently of `Policy`'s algorithm, so that Cedar can cross-check its decisions.
//!
//! Entities:
//! - `Member::"id"`: parents its `Rank::"id"` and its `Workgroup::"id"`s; attributes
//!   `active`, `rank` (the rank entity) and `allow` / `deny` (sets of actions: the member's
//!   overrides as stored, tri-state or not).
//! - `Rank::"id"`: attributes `owner`, `permissions` and `tri_state` (sets of actions).
//! - `Printer::"id"`: parents its `Site`, its `Group`s and its `Model`.
//! - `Org::"org"`: the resource of requests that name no printer.
//! - `Action::"<permission key>"`: one per permission, whose parent is the action group of
//!   the access level it needs on a printer: `Action::"access:view"` and so on (the bed-clear
//!   confirmation's depends on the organization's setting). The groups form a chain,
//!   `access:none` in `access:view` in `access:queue` in `access:print` in `access:manage`,
//!   so `action in Action::"access:print"` means "needs at most print access".
//!
//! Policies (Cedar allows when some permit and no forbid is satisfied):
//! - forbid unless the member is active; forbid unless the permission is held (owner rank,
//!   in the rank's permissions, or allowed individually and tri-state in the rank); forbid
//!   when denied individually and tri-state in the rank (owners excepted);
//! - permit requests on the organization (no printer) and actions needing no access;
//! - permit owners' ranks on every printer;
//! - one permit per grant: its subject (`principal in Rank` / `in Workgroup` / `==
//!   Member`), its level's action group, its target (`resource is Printer`, `in Site`, `in
//!   Group`, `in Model`, `== Printer`) and, for a rank's grant, `when` the printer is in the
//!   rank's scope;
//! - per visible-but-locked rank: permit view-level actions `unless` the printer is in the
//!   rank's scope.
//!
//! Since Cedar has no max(), "some grant at a level that reaches the needed level" is the
//! disjunction of the grant permits, each matching the actions its level is enough for.

// Shared by the differential test and the benchmark, which each use a part.
#![allow(dead_code)]

use std::collections::{HashMap, HashSet};
use std::str::FromStr;

use authz::ids::MemberId;
use authz::ids::PrinterId;
use authz::{
    AccessLevel, BedClearAccess, Member, Org, OutOfScope, Permission, PermissionSet, PrinterScope,
    Subject, Target,
};
use cedar_policy::{
    Authorizer, Context, Decision, Entities, Entity, EntityId, EntityTypeName, EntityUid, Policy,
    PolicyId, PolicySet, Request, Response, RestrictedExpression,
};

pub fn uid(kind: &str, id: impl ToString) -> EntityUid {
    let kind = EntityTypeName::from_str(kind).expect("a valid entity type name");
    EntityUid::from_type_name_and_id(kind, EntityId::new(id.to_string()))
}

fn level_group(level: AccessLevel) -> EntityUid {
    uid("Action", format!("access:{}", level.key()))
}

/// One Cedar policy, with the grant subject it concerns (`None`: everyone) for slicing.
#[derive(Debug, Clone)]
pub struct CedarPolicy {
    pub id: String,
    pub text: String,
    pub subject: Option<Subject>,
    pub parsed: Policy,
}

/// An organization in Cedar: its entities and its policies.
pub struct CedarOrg {
    pub entities: Entities,
    pub policies: Vec<CedarPolicy>,
    /// Every policy of the organization.
    pub all: PolicySet,
    actions: Vec<EntityUid>,
    org: EntityUid,
    authorizer: Authorizer,
}

fn actions_expr(set: PermissionSet) -> RestrictedExpression {
    RestrictedExpression::new_set(
        set.iter()
            .map(|p| RestrictedExpression::new_entity_uid(uid("Action", p.key()))),
    )
}

/// `true` when the printer (`resource`) is in the scope, as a Cedar condition; `None` for a
/// scope of every printer.
fn scope_condition(scope: &PrinterScope) -> Option<String> {
    if scope.all {
        return None;
    }
    let mut parts: Vec<String> = Vec::new();
    parts.extend(
        scope
            .sites
            .iter()
            .map(|s| format!("resource in Site::\"{s}\"")),
    );
    parts.extend(
        scope
            .groups
            .iter()
            .map(|g| format!("resource in Group::\"{g}\"")),
    );
    parts.extend(
        scope
            .models
            .iter()
            .map(|m| format!("resource in Model::\"{m}\"")),
    );
    parts.extend(
        scope
            .printers
            .iter()
            .map(|p| format!("resource == Printer::\"{p}\"")),
    );
    Some(if parts.is_empty() {
        "false".to_string()
    } else {
        parts.join(" || ")
    })
}

fn entities(org: &Org) -> Vec<Entity> {
    let mut out = Vec::new();
    // Actions and their access-level groups.
    let chain = AccessLevel::ALL;
    for (i, level) in chain.iter().enumerate() {
        let parents: HashSet<EntityUid> = chain
            .get(i + 1)
            .map(|up| level_group(*up))
            .into_iter()
            .collect();
        out.push(Entity::new_no_attrs(level_group(*level), parents));
    }
    for permission in Permission::ALL {
        let needs = if permission == Permission::PrinterControlConfirmBedClear
            && org.settings.bed_clear == BedClearAccess::AnyAccess
        {
            AccessLevel::View
        } else {
            permission.printer_access()
        };
        out.push(Entity::new_no_attrs(
            uid("Action", permission.key()),
            HashSet::from([level_group(needs)]),
        ));
    }
    out.push(Entity::new_no_attrs(uid("Org", "org"), HashSet::new()));
    for rank in &org.ranks {
        let attrs = HashMap::from([
            (
                "owner".to_string(),
                RestrictedExpression::new_bool(rank.is_owner),
            ),
            ("permissions".to_string(), actions_expr(rank.permissions)),
            ("tri_state".to_string(), actions_expr(rank.tri_state)),
        ]);
        out.push(Entity::new(uid("Rank", rank.id), attrs, HashSet::new()).expect("rank entity"));
    }
    for member in &org.members {
        let attrs = HashMap::from([
            (
                "active".to_string(),
                RestrictedExpression::new_bool(member.active),
            ),
            (
                "rank".to_string(),
                RestrictedExpression::new_entity_uid(uid("Rank", member.rank)),
            ),
            ("allow".to_string(), actions_expr(member.allow)),
            ("deny".to_string(), actions_expr(member.deny)),
        ]);
        let mut parents = HashSet::from([uid("Rank", member.rank)]);
        parents.extend(member.workgroups.iter().map(|w| uid("Workgroup", w)));
        out.push(Entity::new(uid("Member", member.id), attrs, parents).expect("member entity"));
    }
    for printer in &org.printers {
        let mut parents = HashSet::from([uid("Site", printer.site)]);
        parents.extend(printer.groups.iter().map(|g| uid("Group", g)));
        parents.extend(printer.model.map(|m| uid("Model", m)));
        out.push(Entity::new_no_attrs(uid("Printer", printer.id), parents));
    }
    out
}

fn policies(org: &Org) -> Vec<CedarPolicy> {
    policy_texts(org)
        .into_iter()
        .map(|(id, text, subject)| {
            let parsed = Policy::parse(Some(PolicyId::new(&id)), &text)
                .unwrap_or_else(|e| panic!("Cedar policy {id} does not parse: {e}\n{text}"));
            CedarPolicy {
                id,
                text,
                subject,
                parsed,
            }
        })
        .collect()
}

/// The policies' IDs and texts, with the subject each concerns.
fn policy_texts(org: &Org) -> Vec<(String, String, Option<Subject>)> {
    let everyone = |id: &str, text: &str| (id.to_string(), text.to_string(), None);
    let mut out = vec![
        everyone(
            "active",
            "forbid(principal, action, resource) unless { principal has active && principal.active };",
        ),
        everyone(
            "held",
            "forbid(principal, action, resource) unless { principal has rank && (principal.rank.owner \
             || action in principal.rank.permissions \
             || (action in principal.rank.tri_state && action in principal.allow)) };",
        ),
        everyone(
            "denied",
            "forbid(principal, action, resource) when { principal has rank && !principal.rank.owner \
             && action in principal.rank.tri_state && action in principal.deny };",
        ),
        everyone("no-printer", "permit(principal, action, resource is Org);"),
        everyone(
            "no-access-needed",
            "permit(principal, action in Action::\"access:none\", resource);",
        ),
    ];
    for rank in &org.ranks {
        let subject = Some(Subject::Rank(rank.id));
        let r = rank.id;
        if rank.is_owner {
            out.push((
                format!("owner:rank{r}"),
                format!("permit(principal in Rank::\"{r}\", action, resource is Printer);"),
                subject,
            ));
        }
        if rank.out_of_scope == OutOfScope::VisibleLocked
            && let Some(cond) = scope_condition(&rank.scope)
        {
            out.push((
                format!("visible-locked:rank{r}"),
                format!(
                    "permit(principal in Rank::\"{r}\", action in Action::\"access:view\", resource is Printer) \
                     unless {{ {cond} }};"
                ),
                subject,
            ));
        }
    }
    for (i, grant) in org.grants.iter().enumerate() {
        let (principal, when) = match grant.subject {
            Subject::Rank(r) => {
                let scope = org
                    .ranks
                    .iter()
                    .find(|rank| rank.id == r)
                    .and_then(|rank| scope_condition(&rank.scope));
                (
                    format!("principal in Rank::\"{r}\""),
                    scope
                        .map(|c| format!(" when {{ {c} }}"))
                        .unwrap_or_default(),
                )
            }
            Subject::Workgroup(w) => (format!("principal in Workgroup::\"{w}\""), String::new()),
            Subject::Member(m) => (format!("principal == Member::\"{m}\""), String::new()),
        };
        let resource = match grant.target {
            Target::AllPrinters => "resource is Printer".to_string(),
            Target::Site(s) => format!("resource is Printer in Site::\"{s}\""),
            Target::Group(g) => format!("resource is Printer in Group::\"{g}\""),
            Target::Model(m) => format!("resource is Printer in Model::\"{m}\""),
            Target::Printer(p) => format!("resource == Printer::\"{p}\""),
        };
        let level = grant.level.key();
        out.push((
            format!("grant{i}"),
            format!("permit({principal}, action in Action::\"access:{level}\", {resource}){when};"),
            Some(grant.subject),
        ));
    }
    out
}

fn policy_set<'a>(policies: impl IntoIterator<Item = &'a CedarPolicy>) -> PolicySet {
    let mut set = PolicySet::new();
    for p in policies {
        set.add(p.parsed.clone()).expect("unique policy ids");
    }
    set
}

impl CedarOrg {
    pub fn new(org: &Org) -> CedarOrg {
        let entities = Entities::from_entities(entities(org), None).expect("consistent entities");
        let policies = policies(org);
        let all = policy_set(&policies);
        CedarOrg {
            entities,
            policies,
            all,
            actions: Permission::ALL
                .iter()
                .map(|p| uid("Action", p.key()))
                .collect(),
            org: uid("Org", "org"),
            authorizer: Authorizer::new(),
        }
    }

    /// The policies that can concern `member`: those for everyone, and those whose principal
    /// is their rank, one of their workgroups or themselves.
    pub fn slice(&self, member: &Member) -> PolicySet {
        policy_set(self.policies.iter().filter(|p| match p.subject {
            None => true,
            Some(Subject::Rank(r)) => r == member.rank,
            Some(Subject::Workgroup(w)) => member.workgroups.contains(&w),
            Some(Subject::Member(m)) => m == member.id,
        }))
    }

    pub fn request(
        &self,
        member: MemberId,
        permission: Permission,
        printer: Option<PrinterId>,
    ) -> Request {
        let resource = match printer {
            Some(p) => uid("Printer", p),
            None => self.org.clone(),
        };
        self.request_for(uid("Member", member), permission, resource)
    }

    /// A request with entity UIDs made beforehand (the benchmark's hot path).
    pub fn request_for(
        &self,
        member: EntityUid,
        permission: Permission,
        resource: EntityUid,
    ) -> Request {
        Request::new(
            member,
            self.actions[permission as usize].clone(),
            resource,
            Context::empty(),
            None,
        )
        .expect("a request without a schema")
    }

    pub fn authorize(&self, policies: &PolicySet, request: &Request) -> Response {
        self.authorizer
            .is_authorized(request, policies, &self.entities)
    }

    pub fn allows(&self, policies: &PolicySet, request: &Request) -> bool {
        self.authorize(policies, request).decision() == Decision::Allow
    }

    /// The text of a policy, by ID.
    pub fn text(&self, id: &str) -> &str {
        self.policies
            .iter()
            .find(|p| p.id == id)
            .map_or("?", |p| p.text.as_str())
    }
}
