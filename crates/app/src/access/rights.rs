//! The permission catalog, printer access grants, tri-state overrides, members' effective
//! rights and explanations of single decisions.

use authz::{AccessLevel, Domain, Permission};
use domain::{GrantId, GrantSubject, GrantTarget, MemberId, PrinterGrant, PrinterId};
use serde_json::json;

use super::Access;
use crate::actor::OrgActor;
use crate::error::{AppError, AppResult, ErrorCode, on_conflict};
use crate::unit_of_work::{Audit, Changes, Found};

/// One permission as the permission matrix shows it.
#[derive(Debug)]
pub struct CatalogPermission {
    pub key: &'static str,
    pub title: &'static str,
    /// The tooltip: what exactly it controls.
    pub description: &'static str,
    pub dangerous: bool,
    /// The access a member also needs on the printer: none, view, queue, print or manage.
    pub printer_access: AccessLevel,
    /// The feature that will enforce it, when that feature is not built yet.
    pub planned: Option<&'static str>,
}

#[derive(Debug)]
pub struct CatalogDomain {
    pub key: &'static str,
    pub title: &'static str,
    pub permissions: Vec<CatalogPermission>,
}

#[derive(Debug)]
pub struct CreateGrant {
    pub subject: GrantSubject,
    pub target: GrantTarget,
    pub level: AccessLevel,
}

/// Stored in the audit record as `allow` or `deny`.
#[derive(Debug, Clone, Copy, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OverrideEffect {
    Allow,
    Deny,
}

#[derive(Debug)]
pub struct SetOverride {
    pub effect: OverrideEffect,
}

/// One permission of a member, with where it comes from.
#[derive(Debug)]
pub struct HeldPermission {
    pub key: &'static str,
    /// `owner`, `rank` or `allow_override`.
    pub source: &'static str,
}

/// A member's access to one printer.
#[derive(Debug)]
pub struct PrinterAccess {
    pub printer_id: PrinterId,
    pub level: AccessLevel,
}

/// A member's effective rights.
#[derive(Debug)]
pub struct MemberRights {
    pub member_id: MemberId,
    pub rank: String,
    pub permissions: Vec<HeldPermission>,
    /// Tri-state permissions individually denied.
    pub denied: Vec<&'static str>,
    /// Printers the member can see, with their access level.
    pub printers: Vec<PrinterAccess>,
}

/// An explained decision.
#[derive(Debug)]
pub struct Explanation {
    pub allowed: bool,
    pub member_id: MemberId,
    pub permission: &'static str,
    pub printer_id: Option<PrinterId>,
    /// `owner`, `rank`, `allow_override`, `denied_by_override`, `not_in_rank`,
    /// `printer_hidden` or `insufficient_access`.
    pub reason: &'static str,
    /// The whole story in one sentence.
    pub message: String,
    pub access: Option<AccessLevel>,
    pub needed_access: Option<AccessLevel>,
    /// Grants that give the member their access to the printer.
    pub access_from: Vec<String>,
    /// Members who could grant what is missing, most senior first.
    pub ask: Vec<String>,
}

fn grant_summary(grant: &PrinterGrant) -> serde_json::Value {
    json!({ "subject": grant.subject, "target": grant.target, "level": grant.level })
}

impl Access<'_> {
    /// The whole catalog grouped by domain, in matrix order.
    pub fn catalog(&self) -> Vec<CatalogDomain> {
        Domain::ALL
            .iter()
            .map(|domain| CatalogDomain {
                key: domain.key(),
                title: domain.title(),
                permissions: Permission::ALL
                    .iter()
                    .filter(|p| p.domain() == *domain)
                    .map(|p| CatalogPermission {
                        key: p.key(),
                        title: p.title(),
                        description: p.description(),
                        dangerous: p.dangerous(),
                        printer_access: p.printer_access(),
                        planned: p.planned(),
                    })
                    .collect(),
            })
            .collect()
    }

    /// The organization's printer access grants; a grant on one printer the actor cannot see
    /// is left out, as that printer does not exist for them.
    pub async fn list_grants(&self, actor: &OrgActor) -> AppResult<Vec<PrinterGrant>> {
        actor.require(Permission::RanksView)?;
        let mut conn = self.app.store().read().await?;
        let mut grants = store::list_grants(&mut conn, actor.org()).await?;
        grants.retain(|g| match g.target {
            GrantTarget::Printer(printer) => actor.can_see_printer(printer),
            _ => true,
        });
        Ok(grants)
    }

    /// Grants access to printers: for subjects strictly junior to the actor, up to the
    /// actor's own access on every printer covered.
    pub async fn create_grant(
        &self,
        actor: &OrgActor,
        input: CreateGrant,
    ) -> AppResult<PrinterGrant> {
        if input.level == AccessLevel::None {
            return Err(AppError::Invalid(domain::Invalid::new(
                "level",
                "must be view, queue, print or manage",
            )));
        }
        let mut uow = self.app.begin(actor, Changes::Rights).await?;
        uow.actor().require(Permission::PrinterAccessManage)?;
        let (org, now) = (actor.org(), uow.now());
        check_grant_references(uow.conn(), org, &input).await?;
        let model = authz::Grant {
            subject: input.subject.to_model(),
            target: input.target.to_model(),
            level: input.level,
        };
        uow.authorize(|a| a.policy.may_change_grant(a.acting(), &model, true))?;
        let id = store::insert_grant(
            uow.conn(),
            org,
            input.subject,
            input.target,
            input.level,
            now,
        )
        .await
        .map_err(on_conflict(
            ErrorCode::GrantExists,
            "this subject already has a grant on these printers; remove it first",
        ))?;
        let grant = store::get_grant(uow.conn(), org, id).await.found("grant")?;
        uow.rights_changed();
        uow.audit(
            Audit::of("printer_access.grant", "printer_grant", id).after(grant_summary(&grant)),
        );
        uow.commit().await?;
        Ok(grant)
    }

    pub async fn delete_grant(&self, actor: &OrgActor, id: GrantId) -> AppResult<()> {
        let mut uow = self.app.begin(actor, Changes::Rights).await?;
        uow.actor().require(Permission::PrinterAccessManage)?;
        let grant = store::get_grant(uow.conn(), actor.org(), id)
            .await
            .found("grant")?;
        let model = grant.to_model();
        uow.authorize(|a| a.policy.may_change_grant(a.acting(), &model, false))?;
        store::delete_grant(uow.conn(), actor.org(), id).await?;
        uow.rights_changed();
        uow.audit(
            Audit::of("printer_access.revoke", "printer_grant", id).before(grant_summary(&grant)),
        );
        uow.commit().await
    }

    /// Allows or denies one of the member's rank's tri-state permissions (`None` clears it).
    pub async fn set_override(
        &self,
        actor: &OrgActor,
        member: MemberId,
        key: &str,
        effect: Option<OverrideEffect>,
    ) -> AppResult<MemberRights> {
        let permission = Permission::from_key(key).ok_or_else(|| {
            AppError::Invalid(domain::Invalid::new(
                "permission",
                format!("unknown permission {key:?}"),
            ))
        })?;
        let mut uow = self.app.begin(actor, Changes::Rights).await?;
        uow.actor().require(Permission::MembersOverride)?;
        store::get_member(uow.conn(), actor.org(), member)
            .await
            .found("member")?;
        let (allowed, denied) = store::member_overrides(uow.conn(), member).await?;
        // Clearing a deny hands the rank's permission back, so it is checked as an allow.
        let grants = match effect {
            Some(OverrideEffect::Allow) => true,
            Some(OverrideEffect::Deny) => false,
            None => denied.contains(permission),
        };
        uow.authorize(|a| {
            a.policy
                .may_override(a.acting(), member, permission, grants)
        })?;
        let before = if allowed.contains(permission) {
            Some("allow")
        } else if denied.contains(permission) {
            Some("deny")
        } else {
            None
        };
        let allow = effect.map(|e| matches!(e, OverrideEffect::Allow));
        store::set_override(uow.conn(), member, permission, allow).await?;
        uow.rights_changed();
        uow.audit(
            Audit::of("member.override", "member", member)
                .before(json!({ "permission": key, "effect": before }))
                .after(effect.map(|e| json!({ "permission": key, "effect": e }))),
        );
        uow.commit().await?;
        let policy = self.app.current_policy(actor.org()).await?;
        let viewer = policy
            .member_ix(actor.member_id())
            .ok_or(AppError::not_found("member"))?;
        rights_of(&policy, member, viewer)
    }

    /// A member's effective rights: yours always; others' with `members.view`.
    pub async fn member_rights(
        &self,
        actor: &OrgActor,
        member: MemberId,
    ) -> AppResult<MemberRights> {
        if member != actor.member_id() {
            actor.require(Permission::MembersView)?;
        }
        rights_of(&actor.policy, member, actor.ix)
    }

    /// Explains a decision for any member of the organization (yourself, or others with
    /// `members.view`).
    pub async fn explain(
        &self,
        actor: &OrgActor,
        member: MemberId,
        key: &str,
        printer: Option<PrinterId>,
    ) -> AppResult<Explanation> {
        if member != actor.member_id() {
            actor.require(Permission::MembersView)?;
        }
        let permission = Permission::from_key(key).ok_or_else(|| {
            AppError::Invalid(domain::Invalid::new(
                "permission",
                format!("unknown permission {key:?}"),
            ))
        })?;
        let policy = &actor.policy;
        policy
            .member_ix(member)
            .ok_or(AppError::not_found("member"))?;
        // The printer must be one the asker can see; otherwise it does not exist for them.
        if printer.is_some_and(|p| !actor.can_see_printer(p)) {
            return Err(AppError::not_found("printer"));
        }
        let explained = policy
            .explain(member, permission, printer)
            .ok_or(AppError::not_found("member"))?;
        let ask = explained
            .ask
            .iter()
            .filter_map(|id| {
                policy
                    .member_ix(*id)
                    .map(|ix| policy.member(ix).name.clone())
            })
            .collect();
        Ok(Explanation {
            allowed: explained.allowed,
            member_id: member,
            permission: permission.key(),
            printer_id: printer,
            reason: explained.reason.key(),
            message: explained.message,
            access: explained.access,
            needed_access: explained.needed_access,
            access_from: explained.access_from,
            ask,
        })
    }
}

/// A member's rights as `viewer` may see them: printers the viewer cannot see are left out,
/// as if they did not exist.
fn rights_of(
    policy: &authz::Policy,
    member: MemberId,
    viewer: authz::MemberIx,
) -> AppResult<MemberRights> {
    let ix = policy
        .member_ix(member)
        .ok_or(AppError::not_found("member"))?;
    let facts = policy.member(ix);
    let rank = policy.rank_of(ix).ok_or(AppError::not_found("rank"))?;
    let held = policy.rights(ix).permissions;
    let permissions = held
        .iter()
        .map(|p| HeldPermission {
            key: p.key(),
            source: if rank.is_owner {
                "owner"
            } else if rank.permissions.contains(p) {
                "rank"
            } else {
                "allow_override"
            },
        })
        .collect();
    let denied = facts
        .deny
        .intersection(rank.tri_state)
        .intersection(rank.permissions)
        .keys();
    let viewer_rights = policy.rights(viewer);
    let printers = policy
        .visible_printers(ix)
        .filter(|(p, _)| viewer_rights.level(*p) > AccessLevel::None)
        .map(|(p, level)| PrinterAccess {
            printer_id: policy.printer(p).id,
            level,
        })
        .collect();
    Ok(MemberRights {
        member_id: member,
        rank: rank.name.clone(),
        permissions,
        denied,
        printers,
    })
}

/// The subject and the printers a grant names must be the organization's.
async fn check_grant_references(
    conn: &mut store::Conn,
    org: domain::OrgId,
    input: &CreateGrant,
) -> AppResult<()> {
    let exists = match input.subject {
        GrantSubject::Rank(id) => store::get_rank(conn, org, id).await?.is_some(),
        GrantSubject::Workgroup(id) => store::get_workgroup(conn, org, id).await?.is_some(),
        GrantSubject::Member(id) => store::get_member(conn, org, id).await?.is_some(),
    };
    if !exists {
        return Err(AppError::not_found(input.subject.kind()));
    }
    let exists = match input.target {
        GrantTarget::AllPrinters => true,
        GrantTarget::Site(id) => store::get_site(conn, org, id).await?.is_some(),
        GrantTarget::Group(id) => store::get_printer_group(conn, org, id).await?.is_some(),
        GrantTarget::Model(id) => store::get_printer_model(conn, org, id).await?.is_some(),
        GrantTarget::Printer(id) => store::get_printer(conn, org, id).await?.is_some(),
    };
    if !exists {
        return Err(AppError::not_found("grant target"));
    }
    Ok(())
}
