//! Ranks: create from scratch, clone, edit, reorder, delete (once empty), import a preset, and
//! preview who would gain or lose what before saving. A change applies to every member of the
//! rank at once.

use authz::{
    AccessLevel, MemberScope, OutOfScope, Permission, PermissionSet, Policy, Preset, PrinterScope,
    Seniority,
};
use domain::{Name, OrgId, PrinterId, Rank, RankId, parse_description};
use serde_json::json;

use super::Access;
use crate::actor::OrgActor;
use crate::error::{AppError, AppResult, ErrorCode, on_conflict};
use crate::unit_of_work::{Audit, Changes, Found, UnitOfWork};

/// The fields of a rank to change (absent or null fields stay as they are).
#[derive(Debug, Default, Clone)]
pub struct RankChange {
    pub name: Option<String>,
    pub description: Option<String>,
    /// Seniority position: lower is more senior; must stay below your own rank.
    pub position: Option<i32>,
    /// Permission keys the rank bundles.
    pub permissions: Option<Vec<String>>,
    /// Permission keys members of the rank may be individually allowed or denied.
    pub tri_state: Option<Vec<String>>,
    /// Printers the rank's access grants apply to; every site, group, model and printer named
    /// must exist in the organization (404 otherwise).
    pub scope: Option<PrinterScope>,
    pub out_of_scope: Option<OutOfScope>,
    pub member_scope: Option<MemberScope>,
}

/// A new rank: a name, and the fields of [`RankChange`] that differ from a blank rank (no
/// permissions, all printers in scope, out-of-scope printers hidden, manages everyone junior).
#[derive(Debug, Clone)]
pub struct NewRank {
    pub name: String,
    pub description: Option<String>,
    /// Seniority position: lower is more senior; must stay below your own rank. Default: below
    /// every existing rank.
    pub position: Option<i32>,
    /// Permission keys the rank bundles.
    pub permissions: Option<Vec<String>>,
    /// Permission keys members of the rank may be individually allowed or denied.
    pub tri_state: Option<Vec<String>>,
    /// Printers the rank's access grants apply to; every site, group, model and printer named
    /// must exist in the organization (404 otherwise).
    pub scope: Option<PrinterScope>,
    pub out_of_scope: Option<OutOfScope>,
    pub member_scope: Option<MemberScope>,
}

impl From<NewRank> for RankChange {
    fn from(new: NewRank) -> RankChange {
        RankChange {
            name: Some(new.name),
            description: new.description,
            position: new.position,
            permissions: new.permissions,
            tri_state: new.tri_state,
            scope: new.scope,
            out_of_scope: new.out_of_scope,
            member_scope: new.member_scope,
        }
    }
}

#[derive(Debug)]
pub struct CloneRank {
    pub name: String,
    /// Default: below every existing rank.
    pub position: Option<i32>,
}

#[derive(Debug)]
pub struct ReorderRanks {
    /// The ranks junior to yours (all ranks for owners), each once, most senior first. A list
    /// that is not exactly those ranks as they are now is refused with 409.
    pub rank_ids: Vec<RankId>,
}

#[derive(Debug)]
pub struct ImportPreset {
    pub preset: String,
}

/// A change of access to one printer.
#[derive(Debug, Clone)]
pub struct AccessChange {
    pub printer_id: PrinterId,
    pub from: AccessLevel,
    pub to: AccessLevel,
}

/// What one member would gain and lose.
#[derive(Debug, Clone)]
pub struct MemberImpact {
    pub member_id: domain::MemberId,
    pub name: String,
    pub gained: Vec<&'static str>,
    pub lost: Vec<&'static str>,
    pub access_changes: Vec<AccessChange>,
}

/// The what-if answer: who would gain or lose which rights, and whether you may save it.
#[derive(Debug)]
pub struct RankPreview {
    pub rank: Rank,
    pub members: Vec<MemberImpact>,
    /// Why you could not save this change, if you could not.
    pub refused: Option<String>,
}

fn parse_permissions(field: &'static str, keys: &[String]) -> AppResult<PermissionSet> {
    PermissionSet::from_keys(keys.iter().map(String::as_str)).map_err(|key| {
        AppError::Invalid(domain::Invalid::new(
            field,
            format!("unknown permission {key:?}"),
        ))
    })
}

pub(crate) fn rank_summary(rank: &Rank) -> serde_json::Value {
    json!({
        "name": rank.name,
        "position": rank.position,
        "is_owner": rank.is_owner,
        "permissions": rank.permissions.keys(),
        "tri_state": rank.tri_state.keys(),
        "scope": rank.scope,
        "out_of_scope": rank.out_of_scope,
        "member_scope": rank.member_scope,
    })
}

/// Applies a change to a rank, validating every field.
fn apply(mut rank: Rank, change: &RankChange) -> AppResult<Rank> {
    if let Some(name) = &change.name {
        rank.name = Name::parse("name", name)?.into_string();
    }
    if let Some(description) = &change.description {
        rank.description = parse_description("description", description)?;
    }
    if let Some(position) = change.position {
        rank.position = checked_position(position)?;
    }
    if let Some(keys) = &change.permissions {
        rank.permissions = parse_permissions("permissions", keys)?;
    }
    if let Some(keys) = &change.tri_state {
        rank.tri_state = parse_permissions("tri_state", keys)?;
    }
    if let Some(scope) = &change.scope {
        rank.scope = scope.clone();
    }
    if let Some(out_of_scope) = change.out_of_scope {
        rank.out_of_scope = out_of_scope;
    }
    if let Some(member_scope) = change.member_scope {
        rank.member_scope = member_scope;
    }
    Ok(rank)
}

fn checked_position(position: i32) -> AppResult<i32> {
    if Seniority::valid_position(position) {
        Ok(position)
    } else {
        Err(AppError::Invalid(domain::Invalid::new(
            "position",
            format!("must be between 1 and {}", Seniority::MAX_POSITION),
        )))
    }
}

fn no_room() -> AppError {
    AppError::conflict(
        ErrorCode::NoRoomForRanks,
        format!(
            "no position is left below the most junior rank (positions end at {}); \
             reorder the ranks (PUT …/rank-order) to close the gaps",
            Seniority::MAX_POSITION
        ),
    )
}

/// Positions for a preset's ranks in a new organization.
pub(crate) fn preset_positions(preset: Preset) -> AppResult<Vec<i32>> {
    Seniority::positions_after(0, preset.ranks().len()).ok_or_else(no_room)
}

fn new_rank_fields(rank: &Rank) -> store::NewRank<'_> {
    store::NewRank {
        name: &rank.name,
        description: &rank.description,
        position: rank.position,
        is_owner: rank.is_owner,
        permissions: rank.permissions,
        tri_state: rank.tri_state,
        scope: &rank.scope,
        out_of_scope: rank.out_of_scope,
        member_scope: rank.member_scope,
    }
}

/// Who would gain or lose what if `policy`'s facts became `after`, as `viewer` may see it:
/// printers the viewer cannot see are left out.
pub(crate) fn impact(
    policy: &Policy,
    after: &Policy,
    viewer: authz::MemberIx,
) -> Vec<MemberImpact> {
    let viewer_rights = policy.rights(viewer);
    let mut impacts = Vec::new();
    for member in &policy.org().members {
        let (Some(a), Some(b)) = (policy.member_ix(member.id), after.member_ix(member.id)) else {
            continue;
        };
        let (before_rights, after_rights) = (policy.rights(a), after.rights(b));
        let gained = after_rights
            .permissions
            .difference(before_rights.permissions)
            .keys();
        let lost = before_rights
            .permissions
            .difference(after_rights.permissions)
            .keys();
        let mut access_changes = Vec::new();
        for printer in &policy.org().printers {
            let (Some(p1), Some(p2)) =
                (policy.printer_ix(printer.id), after.printer_ix(printer.id))
            else {
                continue;
            };
            if viewer_rights.level(p1) == AccessLevel::None {
                continue;
            }
            let (from, to) = (before_rights.level(p1), after_rights.level(p2));
            if from != to {
                access_changes.push(AccessChange {
                    printer_id: printer.id,
                    from,
                    to,
                });
            }
        }
        if !gained.is_empty() || !lost.is_empty() || !access_changes.is_empty() {
            impacts.push(MemberImpact {
                member_id: member.id,
                name: member.name.clone(),
                gained,
                lost,
                access_changes,
            });
        }
    }
    impacts
}

impl Access<'_> {
    pub async fn list_ranks(&self, actor: &OrgActor) -> AppResult<Vec<Rank>> {
        actor.require(Permission::RanksView)?;
        let mut conn = self.app.store().read().await?;
        Ok(store::list_ranks(&mut conn, actor.org()).await?)
    }

    pub async fn get_rank(&self, actor: &OrgActor, id: RankId) -> AppResult<Rank> {
        actor.require(Permission::RanksView)?;
        let mut conn = self.app.store().read().await?;
        store::get_rank(&mut conn, actor.org(), id)
            .await
            .found("rank")
    }

    /// Creates a rank from scratch, junior to the actor's and with only permissions they hold.
    pub async fn create_rank(&self, actor: &OrgActor, new: NewRank) -> AppResult<Rank> {
        let change = RankChange::from(new);
        let mut uow = self.app.begin(actor, Changes::Rights).await?;
        uow.actor().require(Permission::RanksManage)?;
        let position = match change.position {
            Some(p) => p,
            None => next_position(uow.conn(), actor).await?,
        };
        let blank = Rank {
            id: RankId(0),
            name: change.name.clone().unwrap_or_default(),
            description: String::new(),
            position,
            is_owner: false,
            permissions: PermissionSet::EMPTY,
            tri_state: PermissionSet::EMPTY,
            scope: PrinterScope::all(),
            out_of_scope: OutOfScope::Hidden,
            member_scope: MemberScope::Everyone,
        };
        let rank = apply(blank, &change)?;
        save_new_rank(uow, rank, "rank.create", None).await
    }

    /// Copies a rank's permissions, tri-state set and scopes under a new name.
    pub async fn clone_rank(
        &self,
        actor: &OrgActor,
        id: RankId,
        input: CloneRank,
    ) -> AppResult<Rank> {
        let name = Name::parse("name", &input.name)?.into_string();
        let mut uow = self.app.begin(actor, Changes::Rights).await?;
        uow.actor().require(Permission::RanksManage)?;
        let source = store::get_rank(uow.conn(), actor.org(), id)
            .await
            .found("rank")?;
        let position = match input.position {
            Some(p) => checked_position(p)?,
            None => next_position(uow.conn(), actor).await?,
        };
        let copy = Rank {
            id: RankId(0),
            name,
            position,
            is_owner: false,
            ..source.clone()
        };
        save_new_rank(uow, copy, "rank.clone", Some(&source)).await
    }

    /// Edits a rank; every member of the rank is affected at once.
    pub async fn update_rank(
        &self,
        actor: &OrgActor,
        id: RankId,
        change: RankChange,
    ) -> AppResult<Rank> {
        let mut uow = self.app.begin(actor, Changes::Rights).await?;
        uow.actor().require(Permission::RanksManage)?;
        let before = store::get_rank(uow.conn(), actor.org(), id)
            .await
            .found("rank")?;
        let after = apply(before.clone(), &change)?;
        check_scope(uow.conn(), actor.org(), &after.scope).await?;
        let (was, will_be) = (before.to_model(), after.to_model());
        uow.authorize(|a| a.policy.may_write_rank(a.acting(), Some(&was), &will_be))?;
        store::update_rank(uow.conn(), actor.org(), id, &new_rank_fields(&after))
            .await
            .map_err(rank_conflict)?;
        uow.rights_changed();
        uow.audit(
            Audit::of("rank.update", "rank", id)
                .before(rank_summary(&before))
                .after(rank_summary(&after)),
        );
        uow.commit().await?;
        Ok(after)
    }

    /// What would change for whom if `change` were saved, without saving it.
    pub async fn preview_rank(
        &self,
        actor: &OrgActor,
        id: RankId,
        change: RankChange,
    ) -> AppResult<RankPreview> {
        actor.require(Permission::RanksView)?;
        let before = {
            let mut conn = self.app.store().read().await?;
            store::get_rank(&mut conn, actor.org(), id)
                .await
                .found("rank")?
        };
        let after = apply(before.clone(), &change)?;
        let refused = actor
            .policy
            .may_write_rank(actor.acting(), Some(&before.to_model()), &after.to_model())
            .err()
            .map(|r| r.to_string());
        let mut facts = actor.policy.org().clone();
        if let Some(slot) = facts.ranks.iter_mut().find(|r| r.id == id) {
            *slot = after.to_model();
        }
        let members = impact(&actor.policy, &Policy::new(facts), actor.ix);
        Ok(RankPreview {
            rank: after,
            members,
            refused,
        })
    }

    /// Sets the seniority order of the ranks junior to the actor (all ranks, for owners).
    pub async fn reorder_ranks(
        &self,
        actor: &OrgActor,
        input: ReorderRanks,
    ) -> AppResult<Vec<Rank>> {
        let mut uow = self.app.begin(actor, Changes::Rights).await?;
        uow.actor().require(Permission::RanksManage)?;
        let org = actor.org();
        let ranks = store::list_ranks(uow.conn(), org).await?;
        let mine = uow.actor().seniority();
        let movable: Vec<&Rank> = ranks
            .iter()
            .filter(|r| mine.outranks(r.seniority()))
            .collect();
        check_order(&input.rank_ids, &movable)?;
        let base = if mine.is_owner { 0 } else { mine.position };
        let positions =
            Seniority::positions_after(base, input.rank_ids.len()).ok_or_else(no_room)?;
        // Positions are unique: park the moving ranks first (at -1, -2, …), then place them.
        for (parking, id) in (1..).map(|n: i32| -n).zip(&input.rank_ids) {
            store::set_rank_position(uow.conn(), org, *id, parking).await?;
        }
        for (id, position) in input.rank_ids.iter().zip(positions) {
            store::set_rank_position(uow.conn(), org, *id, position).await?;
        }
        let placed =
            |rank: &Rank| json!({ "id": rank.id, "name": rank.name, "position": rank.position });
        let before: Vec<_> = movable.iter().map(|r| placed(r)).collect();
        let after_ranks = store::list_ranks(uow.conn(), org).await?;
        let after: Vec<_> = after_ranks
            .iter()
            .filter(|r| input.rank_ids.contains(&r.id))
            .map(placed)
            .collect();
        uow.rights_changed();
        uow.audit(
            Audit::of("rank.reorder", "organization", org)
                .before(json!(before))
                .after(json!(after)),
        );
        uow.commit().await?;
        Ok(after_ranks)
    }

    /// Deletes a rank that has no members left.
    pub async fn delete_rank(&self, actor: &OrgActor, id: RankId) -> AppResult<()> {
        let mut uow = self.app.begin(actor, Changes::Rights).await?;
        uow.actor().require(Permission::RanksManage)?;
        let (org, now) = (actor.org(), uow.now());
        let before = store::get_rank(uow.conn(), org, id).await.found("rank")?;
        uow.authorize(|a| a.policy.may_delete_rank(a.acting(), id))?;
        let waiting = store::list_invitations(uow.conn(), org, now)
            .await?
            .into_iter()
            .filter(|i| i.rank_id == Some(id) && i.status == domain::InvitationStatus::Pending)
            .count();
        if waiting > 0 {
            return Err(AppError::conflict(
                ErrorCode::RankInUse,
                format!("{waiting} pending invitation(s) use this rank; revoke them first"),
            ));
        }
        let locks = store::count_slicer_locks_below(uow.conn(), org, id).await?;
        if locks > 0 {
            return Err(AppError::conflict(
                ErrorCode::RankInUse,
                format!(
                    "{locks} slicer setting lock(s) apply below this rank; move them to another rank or remove them first"
                ),
            ));
        }
        store::delete_rank(uow.conn(), org, id)
            .await
            .map_err(on_conflict(
                ErrorCode::RankInUse,
                "the rank is still in use",
            ))?;
        uow.rights_changed();
        uow.audit(Audit::of("rank.delete", "rank", id).before(rank_summary(&before)));
        uow.commit().await
    }

    /// Adds a preset's ranks below the existing ones.
    pub async fn import_preset(
        &self,
        actor: &OrgActor,
        input: ImportPreset,
    ) -> AppResult<Vec<Rank>> {
        let preset = Preset::parse(&input.preset).ok_or_else(|| {
            let known: Vec<_> = Preset::ALL.iter().map(|p| p.key()).collect();
            AppError::Invalid(domain::Invalid::new(
                "preset",
                format!("must be one of {}", known.join(", ")),
            ))
        })?;
        let mut uow = self.app.begin(actor, Changes::Rights).await?;
        uow.actor().require(Permission::RanksManage)?;
        for template in preset.ranks() {
            uow.authorize(|a| a.policy.may_import_rank(a.acting(), &template))?;
        }
        let (org, now) = (actor.org(), uow.now());
        let last = store::last_rank_position(uow.conn(), org).await?;
        let positions =
            Seniority::positions_after(last, preset.ranks().len()).ok_or_else(no_room)?;
        let created = store::insert_preset_ranks(uow.conn(), org, preset, &positions, now)
            .await
            .map_err(on_conflict(
                ErrorCode::RankConflict,
                "the organization already has a rank with one of the preset's names",
            ))?;
        let mut ranks = Vec::new();
        for (_, id) in &created {
            ranks.push(store::get_rank(uow.conn(), org, *id).await.found("rank")?);
        }
        uow.rights_changed();
        uow.audit(
            Audit::of("rank.import_preset", "organization", org).after(json!({
                "preset": preset.key(),
                "ranks": ranks.iter().map(|r| &r.name).collect::<Vec<_>>(),
            })),
        );
        uow.commit().await?;
        Ok(ranks)
    }
}

/// Inserts a new rank the actor may write, audited as `action`.
async fn save_new_rank(
    mut uow: UnitOfWork,
    rank: Rank,
    action: &'static str,
    from: Option<&Rank>,
) -> AppResult<Rank> {
    let model = rank.to_model();
    uow.authorize(|a| a.policy.may_write_rank(a.acting(), None, &model))?;
    let org = uow.actor().org();
    check_scope(uow.conn(), org, &rank.scope).await?;
    let id = store::insert_rank(uow.conn(), org, &new_rank_fields(&rank))
        .await
        .map_err(rank_conflict)?;
    let created = store::get_rank(uow.conn(), org, id).await.found("rank")?;
    let mut after = rank_summary(&created);
    if let Some(from) = from {
        after["cloned_from"] = json!(from.id);
    }
    uow.rights_changed();
    uow.audit(Audit::of(action, "rank", id).after(after));
    uow.commit().await?;
    Ok(created)
}

/// Every site, group, model and printer a scope names must belong to the organization (like
/// every other reference in a request, one that does not exist is "not found").
async fn check_scope(conn: &mut store::Conn, org: OrgId, scope: &PrinterScope) -> AppResult<()> {
    for id in &scope.sites {
        store::get_site(conn, org, *id).await.found("site")?;
    }
    for id in &scope.groups {
        store::get_printer_group(conn, org, *id)
            .await
            .found("printer group")?;
    }
    for id in &scope.models {
        store::get_printer_model(conn, org, *id)
            .await
            .found("printer model")?;
    }
    for id in &scope.printers {
        store::get_printer(conn, org, *id).await.found("printer")?;
    }
    Ok(())
}

/// The new order must name exactly the ranks junior to the actor, each once.
fn check_order(wanted: &[RankId], movable: &[&Rank]) -> AppResult<()> {
    let mut wanted = wanted.to_vec();
    wanted.sort();
    if wanted.windows(2).any(|pair| pair.first() == pair.get(1)) {
        return Err(AppError::Invalid(domain::Invalid::new(
            "rank_ids",
            "must list each rank once",
        )));
    }
    let mut expected: Vec<RankId> = movable.iter().map(|r| r.id).collect();
    expected.sort();
    if wanted != expected {
        // Well formed, but not the ranks as they are now (someone else may have changed them).
        return Err(AppError::conflict(
            ErrorCode::RankOrderMismatch,
            "list exactly the ranks junior to yours, each once, most senior first",
        ));
    }
    Ok(())
}

async fn next_position(conn: &mut store::Conn, actor: &OrgActor) -> AppResult<i32> {
    let last = store::last_rank_position(conn, actor.org()).await?;
    Seniority::positions_after(last, 1)
        .and_then(|p| p.first().copied())
        .ok_or_else(no_room)
}

fn rank_conflict(error: store::StoreError) -> AppError {
    on_conflict(
        ErrorCode::RankConflict,
        "a rank with this name or position already exists",
    )(error)
}
