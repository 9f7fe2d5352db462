//! Ranks: the permission matrix (ranks as columns, permissions as rows grouped by domain), a
//! rank's own page with its printer scope, creating, cloning, importing a preset, reordering
//! seniority and deleting. Saving a change always goes through the what-if preview first: the
//! form posts to a page that says who gains or loses what, and only its confirm button saves.

use askama::Template;
use authz::{AccessLevel, MemberScope, OutOfScope, Permission as P, Preset, PrinterScope};
use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use domain::{PrinterGroupId, PrinterId, PrinterModelId, Rank, RankId, SiteId};

use super::{Done, Page, back_to, checked_fields, framed, id_of};
use crate::WebState;
use crate::routes::{PlainRoutes, Requires};
use crate::ui::error::{UiError, render};
use crate::ui::session::InOrg;
use crate::ui::views::Layout;

pub(super) fn routes(routes: PlainRoutes) -> PlainRoutes {
    let org = Requires::Permission;
    routes
        .get(org(P::RanksView), "/orgs/{org_id}/manage/ranks", matrix)
        .post(org(P::RanksManage), "/orgs/{org_id}/manage/ranks", create)
        .post(
            org(P::RanksManage),
            "/orgs/{org_id}/manage/rank-presets",
            import_preset,
        )
        .post(
            org(P::RanksManage),
            "/orgs/{org_id}/manage/rank-order",
            reorder,
        )
        .get(
            org(P::RanksView),
            "/orgs/{org_id}/manage/ranks/{rank_id}",
            rank_page,
        )
        .post(
            org(P::RanksView),
            "/orgs/{org_id}/manage/ranks/{rank_id}/preview",
            preview,
        )
        .post(
            org(P::RanksManage),
            "/orgs/{org_id}/manage/ranks/{rank_id}",
            save,
        )
        .post(
            org(P::RanksManage),
            "/orgs/{org_id}/manage/ranks/{rank_id}/clone",
            clone,
        )
        .post(
            org(P::RanksManage),
            "/orgs/{org_id}/manage/ranks/{rank_id}/delete",
            delete,
        )
}

/// How a rank holds one permission: the four tri-state markers of the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Holding {
    /// Not in the rank, and no member of it may be allowed it.
    No,
    /// In the rank, for every member of it.
    Yes,
    /// Not in the rank, but a member of it may be allowed it individually.
    Allowable,
    /// In the rank, but a member of it may be denied it individually.
    Deniable,
}

impl Holding {
    const ALL: [Holding; 4] = [
        Holding::No,
        Holding::Yes,
        Holding::Allowable,
        Holding::Deniable,
    ];

    fn of(rank: &Rank, permission: P) -> Holding {
        let held = rank.is_owner || rank.permissions.contains(permission);
        match (held, rank.tri_state.contains(permission)) {
            (false, false) => Holding::No,
            (true, false) => Holding::Yes,
            (false, true) => Holding::Allowable,
            (true, true) => Holding::Deniable,
        }
    }

    fn key(self) -> &'static str {
        match self {
            Holding::No => "no",
            Holding::Yes => "yes",
            Holding::Allowable => "allowable",
            Holding::Deniable => "deniable",
        }
    }

    fn parse(key: &str) -> Option<Holding> {
        Holding::ALL.into_iter().find(|h| h.key() == key)
    }

    /// The marker in the matrix: a symbol and words, so it reads without colour or hovering.
    fn marker(self) -> &'static str {
        match self {
            Holding::No => "— No",
            Holding::Yes => "✓ Yes",
            Holding::Allowable => "± No, may be allowed",
            Holding::Deniable => "± Yes, may be denied",
        }
    }

    fn held(self) -> bool {
        matches!(self, Holding::Yes | Holding::Deniable)
    }

    fn tri_state(self) -> bool {
        matches!(self, Holding::Allowable | Holding::Deniable)
    }
}

/// One choice of a matrix cell's menu.
struct Choice {
    key: &'static str,
    label: &'static str,
}

fn choices() -> Vec<Choice> {
    Holding::ALL
        .into_iter()
        .map(|h| Choice {
            key: h.key(),
            label: h.marker(),
        })
        .collect()
}

/// A rank as a column of the matrix.
struct RankColumn {
    id: i64,
    name: String,
    description: String,
    /// The signed-in member may change it (junior to them, not the owner rank).
    editable: bool,
    is_owner: bool,
}

struct Cell {
    rank_id: i64,
    rank_name: String,
    holding: &'static str,
    marker: &'static str,
    editable: bool,
}

struct PermissionRow {
    key: &'static str,
    title: &'static str,
    description: &'static str,
    dangerous: bool,
    /// "needs print access to the printer", when the permission is limited by the printer scope.
    printer_access: String,
    cells: Vec<Cell>,
}

struct DomainRows {
    title: &'static str,
    rows: Vec<PermissionRow>,
}

fn printer_access_note(level: AccessLevel) -> String {
    match level {
        AccessLevel::None => String::new(),
        level => format!("on printers in the rank's scope, with {level} access"),
    }
}

/// The permission rows for `ranks`, grouped by domain in catalog order.
fn domain_rows(member: &InOrg, ranks: &[Rank], may_manage: bool) -> Vec<DomainRows> {
    let mine = member.actor.seniority();
    authz::Domain::ALL
        .iter()
        .map(|domain| DomainRows {
            title: domain.title(),
            rows: P::ALL
                .iter()
                .filter(|p| p.domain() == *domain)
                .map(|p| PermissionRow {
                    key: p.key(),
                    title: p.title(),
                    description: p.description(),
                    dangerous: p.dangerous(),
                    printer_access: printer_access_note(p.printer_access()),
                    cells: ranks
                        .iter()
                        .map(|rank| {
                            let holding = Holding::of(rank, *p);
                            Cell {
                                rank_id: rank.id.get(),
                                rank_name: rank.name.clone(),
                                holding: holding.key(),
                                marker: holding.marker(),
                                editable: may_manage
                                    && !rank.is_owner
                                    && mine.outranks(rank.seniority()),
                            }
                        })
                        .collect(),
                })
                .collect(),
        })
        .collect()
}

fn rank_column(member: &InOrg, rank: &Rank, may_manage: bool) -> RankColumn {
    RankColumn {
        id: rank.id.get(),
        name: rank.name.clone(),
        description: rank.description.clone(),
        editable: may_manage
            && !rank.is_owner
            && member.actor.seniority().outranks(rank.seniority()),
        is_owner: rank.is_owner,
    }
}

struct PresetChoice {
    key: &'static str,
    title: &'static str,
}

#[derive(Template)]
#[template(path = "admin/ranks.html")]
struct MatrixPage {
    layout: Layout,
    org_id: i64,
    ranks: Vec<RankColumn>,
    /// The ranks the member may reorder (junior to them), most senior first.
    movable: Vec<RankColumn>,
    domains: Vec<DomainRows>,
    choices: Vec<Choice>,
    may_manage: bool,
    presets: Vec<PresetChoice>,
    notice: &'static str,
}

/// The permission matrix: every rank a column, every permission a row, in one scrollable view.
async fn matrix(State(state): State<WebState>, member: InOrg, Query(done): Query<Done>) -> Page {
    let ranks = state.app.access().list_ranks(&member.actor).await;
    let mut ranks = ranks.map_err(framed(&member))?;
    // Most senior first: the owner rank stands above every other, whatever its position.
    ranks.sort_by_key(|r| (!r.is_owner, r.position));
    let may_manage = member.actor.holds(P::RanksManage);
    let mine = member.actor.seniority();
    let page = MatrixPage {
        layout: Layout::in_org(&member, "Ranks and permissions", "manage"),
        org_id: member.actor.org().get(),
        movable: ranks
            .iter()
            .filter(|r| may_manage && mine.outranks(r.seniority()))
            .map(|r| rank_column(&member, r, may_manage))
            .collect(),
        domains: domain_rows(&member, &ranks, may_manage),
        ranks: ranks
            .iter()
            .map(|r| rank_column(&member, r, may_manage))
            .collect(),
        choices: choices(),
        may_manage,
        presets: Preset::ALL
            .iter()
            .map(|p| PresetChoice {
                key: p.key(),
                title: p.title(),
            })
            .collect(),
        notice: match done.done.as_str() {
            "saved" => "The rank was saved; its members have the new rights now.",
            "created" => "The rank was created.",
            "imported" => "The preset's ranks were added below the existing ones.",
            "reordered" => "The seniority order was saved.",
            "deleted" => "The rank was deleted.",
            _ => "",
        },
    };
    Ok(render(StatusCode::OK, &page))
}

/// A printer, site, group or model the scope editor offers, ticked when in the scope.
struct ScopeOption {
    id: i64,
    name: String,
    checked: bool,
}

#[derive(Template)]
#[template(path = "admin/rank.html")]
struct RankPage {
    layout: Layout,
    org_id: i64,
    rank: RankColumn,
    domains: Vec<DomainRows>,
    choices: Vec<Choice>,
    scope_all: bool,
    sites: Vec<ScopeOption>,
    groups: Vec<ScopeOption>,
    models: Vec<ScopeOption>,
    printers: Vec<ScopeOption>,
    out_of_scope: &'static str,
    member_scope: &'static str,
    may_manage: bool,
    /// The active members who hold the rank (for those who see the members): id and name.
    holders: Vec<(i64, String)>,
}

/// One rank: its permissions (the matrix's column), its printer scope, what members see of
/// printers outside it, whose membership it manages; clone and delete.
async fn rank_page(
    State(state): State<WebState>,
    member: InOrg,
    Path((_, rank_id)): Path<(String, String)>,
) -> Page {
    let id = RankId(id_of(&rank_id)?);
    let rank = state.app.access().get_rank(&member.actor, id).await;
    let rank = rank.map_err(framed(&member))?;
    let may_manage = member.actor.holds(P::RanksManage);
    let app = &state.app;
    let sites = app
        .people()
        .list_sites(&member.actor)
        .await
        .unwrap_or_default();
    let groups = app.fleet().list_printer_groups(&member.actor).await;
    let models = app.fleet().list_printer_models(&member.actor).await;
    let printers = app.fleet().all_visible_printers(&member.actor).await;
    let holders = if member.actor.holds(P::MembersView) {
        let everyone = app
            .people()
            .list_members(&member.actor)
            .await
            .unwrap_or_default();
        everyone
            .into_iter()
            .filter(|m| m.active && m.rank_id == id)
            .map(|m| (m.id.get(), m.name))
            .collect()
    } else {
        Vec::new()
    };
    let scope = &rank.scope;
    let page = RankPage {
        holders,
        layout: Layout::in_org(&member, &format!("Rank {}", rank.name), "manage"),
        org_id: member.actor.org().get(),
        domains: domain_rows(&member, std::slice::from_ref(&rank), may_manage),
        choices: choices(),
        scope_all: scope.all,
        sites: sites
            .into_iter()
            .map(|s| ScopeOption {
                id: s.id.get(),
                checked: scope.sites.contains(&s.id),
                name: s.name,
            })
            .collect(),
        groups: groups
            .unwrap_or_default()
            .into_iter()
            .map(|g| ScopeOption {
                id: g.id.get(),
                checked: scope.groups.contains(&g.id),
                name: g.name,
            })
            .collect(),
        models: models
            .unwrap_or_default()
            .into_iter()
            .map(|m| ScopeOption {
                id: m.id.get(),
                checked: scope.models.contains(&m.id),
                name: m.name,
            })
            .collect(),
        printers: printers
            .unwrap_or_default()
            .into_iter()
            .map(|p| ScopeOption {
                id: p.id.get(),
                checked: scope.printers.contains(&p.id),
                name: p.name,
            })
            .collect(),
        out_of_scope: rank.out_of_scope.key(),
        member_scope: rank.member_scope.key(),
        rank: rank_column(&member, &rank, may_manage),
        may_manage,
    };
    Ok(render(StatusCode::OK, &page))
}

/// Ids of the form's `field` values (the scope editor's ticked boxes).
fn ids<T>(fields: &[(String, String)], field: &str, make: fn(i64) -> T) -> Result<Vec<T>, UiError> {
    fields
        .iter()
        .filter(|(name, _)| name == field)
        .map(|(_, value)| {
            value
                .parse::<i64>()
                .map(make)
                .map_err(|_| UiError::BadForm(format!("{field} must name one of the choices")))
        })
        .collect()
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// The change a rank form asks for. The matrix column sends every permission's holding
/// (`perm.<key>`, with `permissions=1`), the rank page also its scope (`scope=1`), name,
/// description and scopes; what a form does not send stays as it is.
fn rank_change(fields: &[(String, String)]) -> Result<app::RankChange, UiError> {
    let mut change = app::RankChange {
        name: field(fields, "name").map(str::to_string),
        description: field(fields, "description").map(str::to_string),
        ..Default::default()
    };
    if field(fields, "permissions") == Some("1") {
        let (mut held, mut tri_state) = (Vec::new(), Vec::new());
        for (name, value) in fields {
            let Some(key) = name.strip_prefix("perm.") else {
                continue;
            };
            let holding = Holding::parse(value).ok_or_else(|| {
                UiError::BadForm(format!("{key}: choose one of the four markers"))
            })?;
            if holding.held() {
                held.push(key.to_string());
            }
            if holding.tri_state() {
                tri_state.push(key.to_string());
            }
        }
        change.permissions = Some(held);
        change.tri_state = Some(tri_state);
    }
    if field(fields, "scope") == Some("1") {
        change.scope = Some(PrinterScope {
            all: field(fields, "scope_all") == Some("on"),
            sites: ids(fields, "scope_site", SiteId)?,
            groups: ids(fields, "scope_group", PrinterGroupId)?,
            models: ids(fields, "scope_model", PrinterModelId)?,
            printers: ids(fields, "scope_printer", PrinterId)?,
        });
    }
    if let Some(key) = field(fields, "out_of_scope") {
        change.out_of_scope = Some(OutOfScope::parse(key).ok_or_else(|| {
            UiError::BadForm("printers outside the scope are hidden or visible but locked".into())
        })?);
    }
    if let Some(key) = field(fields, "member_scope") {
        change.member_scope =
            Some(MemberScope::parse(key).ok_or_else(|| {
                UiError::BadForm("choose whose membership the rank manages".into())
            })?);
    }
    Ok(change)
}

/// A line of the preview: one member and what changes for them.
struct ImpactLine {
    name: String,
    gained: Vec<&'static str>,
    lost: Vec<&'static str>,
    access: Vec<String>,
}

/// A hidden field of the confirm form: the change exactly as previewed.
struct Carried {
    name: String,
    value: String,
}

#[derive(Template)]
#[template(path = "admin/rank_preview.html")]
struct PreviewPage {
    layout: Layout,
    org_id: i64,
    rank_id: i64,
    rank_name: String,
    added: Vec<&'static str>,
    removed: Vec<&'static str>,
    tri_state_added: Vec<&'static str>,
    tri_state_removed: Vec<&'static str>,
    scope_changed: bool,
    renamed: String,
    members: Vec<ImpactLine>,
    refused: String,
    may_save: bool,
    carried: Vec<Carried>,
}

fn titles(set: authz::PermissionSet) -> Vec<&'static str> {
    set.iter().map(P::title).collect()
}

fn key_titles(keys: &[&'static str]) -> Vec<&'static str> {
    keys.iter()
        .map(|key| P::from_key(key).map_or(*key, P::title))
        .collect()
}

/// The what-if page: who would gain or lose which rights, with a confirm button that saves
/// exactly this change (nothing is saved before).
async fn preview(
    State(state): State<WebState>,
    member: InOrg,
    Path((_, rank_id)): Path<(String, String)>,
    request: Request,
) -> Page {
    let fields = checked_fields(&member.viewer, request).await?;
    let id = RankId(id_of(&rank_id)?);
    let change = rank_change(&fields).map_err(|e| e.framed(&member))?;
    let access = state.app.access();
    let before = access.get_rank(&member.actor, id).await;
    let before = before.map_err(framed(&member))?;
    let preview = access.preview_rank(&member.actor, id, change).await;
    let preview = preview.map_err(framed(&member))?;
    let after = &preview.rank;
    let printers: std::collections::HashMap<i64, String> = state
        .app
        .fleet()
        .all_visible_printers(&member.actor)
        .await
        .map_err(framed(&member))?
        .into_iter()
        .map(|p| (p.id.get(), p.name))
        .collect();
    let page = PreviewPage {
        layout: Layout::in_org(&member, "What would change", "manage"),
        org_id: member.actor.org().get(),
        rank_id: id.get(),
        rank_name: before.name.clone(),
        added: titles(after.permissions.difference(before.permissions)),
        removed: titles(before.permissions.difference(after.permissions)),
        tri_state_added: titles(after.tri_state.difference(before.tri_state)),
        tri_state_removed: titles(before.tri_state.difference(after.tri_state)),
        scope_changed: after.scope != before.scope
            || after.out_of_scope != before.out_of_scope
            || after.member_scope != before.member_scope,
        renamed: if after.name == before.name {
            String::new()
        } else {
            after.name.clone()
        },
        members: preview
            .members
            .iter()
            .map(|m| ImpactLine {
                name: m.name.clone(),
                gained: key_titles(&m.gained),
                lost: key_titles(&m.lost),
                access: m
                    .access_changes
                    .iter()
                    .map(|c| {
                        let printer = printers
                            .get(&c.printer_id.get())
                            .cloned()
                            .unwrap_or_else(|| format!("printer {}", c.printer_id.get()));
                        format!("{printer}: {} → {}", c.from, c.to)
                    })
                    .collect(),
            })
            .collect(),
        may_save: preview.refused.is_none() && member.actor.holds(P::RanksManage),
        refused: preview.refused.unwrap_or_default(),
        carried: fields
            .into_iter()
            .filter(|(name, _)| name != "csrf")
            .map(|(name, value)| Carried { name, value })
            .collect(),
    };
    Ok(render(StatusCode::OK, &page))
}

/// Saves a previewed change (the confirm button of the preview page).
async fn save(
    State(state): State<WebState>,
    member: InOrg,
    Path((_, rank_id)): Path<(String, String)>,
    request: Request,
) -> Page {
    let fields = checked_fields(&member.viewer, request).await?;
    let id = RankId(id_of(&rank_id)?);
    let change = rank_change(&fields).map_err(|e| e.framed(&member))?;
    let saved = state
        .app
        .access()
        .update_rank(&member.actor, id, change)
        .await;
    saved.map_err(framed(&member))?;
    Ok(back_to(&member, "ranks", "saved"))
}

#[derive(serde::Deserialize)]
struct NameForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
}

/// A new, empty rank below every other; its permissions are then set in the matrix.
async fn create(State(state): State<WebState>, member: InOrg, request: Request) -> Page {
    let form: NameForm = crate::ui::session::checked_form(&member.viewer, request).await?;
    let new = app::NewRank {
        name: form.name,
        description: super::given(&form.description),
        position: None,
        permissions: None,
        tri_state: None,
        scope: None,
        out_of_scope: None,
        member_scope: None,
    };
    let created = state.app.access().create_rank(&member.actor, new).await;
    let rank = created.map_err(framed(&member))?;
    Ok(back_to(
        &member,
        &format!("ranks/{}", rank.id.get()),
        "created",
    ))
}

/// A copy of a rank (permissions, tri-state markers, scopes) under a new name.
async fn clone(
    State(state): State<WebState>,
    member: InOrg,
    Path((_, rank_id)): Path<(String, String)>,
    request: Request,
) -> Page {
    let form: NameForm = crate::ui::session::checked_form(&member.viewer, request).await?;
    let id = RankId(id_of(&rank_id)?);
    let input = app::CloneRank {
        name: form.name,
        position: None,
    };
    let cloned = state
        .app
        .access()
        .clone_rank(&member.actor, id, input)
        .await;
    let rank = cloned.map_err(framed(&member))?;
    Ok(back_to(
        &member,
        &format!("ranks/{}", rank.id.get()),
        "created",
    ))
}

/// Deletes a rank nobody holds any more.
async fn delete(
    State(state): State<WebState>,
    member: InOrg,
    Path((_, rank_id)): Path<(String, String)>,
    request: Request,
) -> Page {
    let _: Vec<(String, String)> = checked_fields(&member.viewer, request).await?;
    let id = RankId(id_of(&rank_id)?);
    let deleted = state.app.access().delete_rank(&member.actor, id).await;
    deleted.map_err(framed(&member))?;
    Ok(back_to(&member, "ranks", "deleted"))
}

#[derive(serde::Deserialize)]
struct PresetForm {
    preset: String,
}

/// Adds a preset's ranks (3DPrinterOS, Print&Go, UltiMaker, SimplyPrint…) below the others.
async fn import_preset(State(state): State<WebState>, member: InOrg, request: Request) -> Page {
    let form: PresetForm = crate::ui::session::checked_form(&member.viewer, request).await?;
    let input = app::ImportPreset {
        preset: form.preset,
    };
    let imported = state.app.access().import_preset(&member.actor, input).await;
    imported.map_err(framed(&member))?;
    Ok(back_to(&member, "ranks", "imported"))
}

/// Sets the seniority order from the numbers given to each rank (`order.<id>`; ties keep
/// the present order).
async fn reorder(State(state): State<WebState>, member: InOrg, request: Request) -> Page {
    let fields = checked_fields(&member.viewer, request).await?;
    let mut order = Vec::new();
    for (index, (name, value)) in fields.iter().enumerate() {
        let Some(id) = name.strip_prefix("order.") else {
            continue;
        };
        let id = id
            .parse::<i64>()
            .map_err(|_| UiError::BadForm("the form names a rank that does not exist".into()))?;
        let place = value.trim().parse::<i64>().map_err(|_| {
            UiError::BadForm("each rank's place must be a whole number".into()).framed(&member)
        })?;
        order.push((place, index, RankId(id)));
    }
    order.sort();
    let input = app::ReorderRanks {
        rank_ids: order.into_iter().map(|(_, _, id)| id).collect(),
    };
    let reordered = state.app.access().reorder_ranks(&member.actor, input).await;
    reordered.map_err(framed(&member))?;
    Ok(back_to(&member, "ranks", "reordered"))
}
