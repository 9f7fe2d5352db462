//! Decisions in words: why a member may or may not use a permission (on a printer), in one
//! sentence, with where their access comes from and who could grant what is missing. The
//! wording lives here, beside the rules it explains.

use crate::ids::{MemberId, PrinterId};
use crate::model::{Subject, Target};
use crate::policy::{AccessSource, Decision, PermissionSource, Policy};
use crate::{AccessLevel, Permission};

/// Why a decision falls as it does, as a stable key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    Owner,
    Rank,
    AllowOverride,
    DeniedByOverride,
    NotInRank,
    PrinterHidden,
    InsufficientAccess,
}

impl Reason {
    pub fn key(self) -> &'static str {
        match self {
            Reason::Owner => "owner",
            Reason::Rank => "rank",
            Reason::AllowOverride => "allow_override",
            Reason::DeniedByOverride => "denied_by_override",
            Reason::NotInRank => "not_in_rank",
            Reason::PrinterHidden => "printer_hidden",
            Reason::InsufficientAccess => "insufficient_access",
        }
    }
}

/// An explained decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    pub allowed: bool,
    pub reason: Reason,
    /// The whole story in one sentence.
    pub message: String,
    /// The member's access to the printer, when a printer was asked about.
    pub access: Option<AccessLevel>,
    /// The access the permission needs on a printer, when it needs any.
    pub needed_access: Option<AccessLevel>,
    /// The grants that give the member their access to the printer, in words.
    pub access_from: Vec<String>,
    /// Members who could grant what is missing, most senior first (empty when allowed).
    pub ask: Vec<MemberId>,
}

impl Policy {
    /// Explains the decision for `member`, `permission` and optionally a printer; `None` when
    /// the member (or printer) is unknown.
    pub fn explain(
        &self,
        member: MemberId,
        permission: Permission,
        printer: Option<PrinterId>,
    ) -> Option<Explanation> {
        let name = &self.member(self.member_ix(member)?).name;
        let key = permission.key();
        let needed_access = printer
            .map(|_| self.needed_level(permission))
            .filter(|l| *l > AccessLevel::None);
        let (allowed, reason, message, access, access_from) = match self
            .decide(member, permission, printer)
        {
            Decision::Allowed {
                permission: source,
                access,
            } => {
                let (reason, why) = permission_words(&source, permission);
                let (from, text, level) = match access {
                    Some((level, source)) => {
                        let (from, text) = self.access_words(&source);
                        (from, format!(", and {text}"), Some(level))
                    }
                    None => (Vec::new(), String::new(), None),
                };
                (
                    true,
                    reason,
                    format!("{name} may: {why}{text}."),
                    level,
                    from,
                )
            }
            Decision::MissingPermission { permission: source } => {
                let (reason, why) = permission_words(&source, permission);
                let message = format!("{name} may not: {why}.");
                (false, reason, message, None, Vec::new())
            }
            Decision::PrinterHidden { access } => {
                let (from, text) = self.access_words(&access);
                let message = format!("{name} cannot see this printer: {text}.");
                let level = Some(AccessLevel::None);
                (false, Reason::PrinterHidden, message, level, from)
            }
            Decision::InsufficientAccess { have, need, access } => {
                let (from, text) = self.access_words(&access);
                let message = format!(
                    "{name} holds {key} but it needs {need} access to this printer and they have {have}: {text}."
                );
                (false, Reason::InsufficientAccess, message, Some(have), from)
            }
            Decision::Unknown => return None,
        };
        let ask = if allowed {
            Vec::new()
        } else {
            self.who_could_grant(member, permission, printer)
        };
        Some(Explanation {
            allowed,
            reason,
            message,
            access,
            needed_access,
            access_from,
            ask,
        })
    }

    fn access_words(&self, source: &AccessSource) -> (Vec<String>, String) {
        match source {
            AccessSource::Owner => (vec!["owner".into()], "owners manage every printer".into()),
            AccessSource::Grants(grants) => {
                let list: Vec<String> = grants
                    .iter()
                    .map(|g| {
                        format!(
                            "{} on {} ({})",
                            self.describe_subject(g.subject),
                            describe_target(g.target),
                            g.level
                        )
                    })
                    .collect();
                let text = format!("access comes from {}", list.join(" and "));
                (list, text)
            }
            AccessSource::VisibleOutOfScope => (
                Vec::new(),
                "the printer is outside their rank's scope and shown locked (view only)".into(),
            ),
            AccessSource::Nothing { out_of_scope: true } => (
                Vec::new(),
                "the printer is outside their rank's printer scope".into(),
            ),
            AccessSource::Nothing {
                out_of_scope: false,
            } => (Vec::new(), "no grant gives them access to it".into()),
        }
    }

    fn describe_subject(&self, subject: Subject) -> String {
        match subject {
            Subject::Rank(id) => format!("rank {}", self.rank(id).map_or("?", |r| r.name.as_str())),
            Subject::Workgroup(id) => format!("workgroup {id}"),
            Subject::Member(id) => {
                let name = self
                    .member_ix(id)
                    .map(|ix| self.member(ix).name.as_str())
                    .unwrap_or_default();
                format!("member {name}")
            }
        }
    }
}

fn describe_target(target: Target) -> String {
    match target {
        Target::AllPrinters => "all printers".into(),
        Target::Site(id) => format!("site {id}"),
        Target::Group(id) => format!("printer group {id}"),
        Target::Model(id) => format!("printer model {id}"),
        Target::Printer(id) => format!("printer {id}"),
    }
}

fn permission_words(source: &PermissionSource, permission: Permission) -> (Reason, String) {
    let key = permission.key();
    match source {
        PermissionSource::Owner => (
            Reason::Owner,
            "as an owner they hold every permission".into(),
        ),
        PermissionSource::Rank { rank } => {
            (Reason::Rank, format!("their rank {rank} includes {key}"))
        }
        PermissionSource::AllowOverride { rank } => (
            Reason::AllowOverride,
            format!("{key} is allowed for them individually (tri-state in rank {rank})"),
        ),
        PermissionSource::DeniedByOverride { rank } => (
            Reason::DeniedByOverride,
            format!("{key} is denied for them individually (tri-state in rank {rank})"),
        ),
        PermissionSource::NotInRank { rank } => (
            Reason::NotInRank,
            format!("their rank {rank} does not include {key}"),
        ),
    }
}
