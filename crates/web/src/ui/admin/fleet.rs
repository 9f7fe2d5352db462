//! The fleet: printers, printer models, printer groups, sites and printer access grants.

use std::collections::BTreeMap;

use askama::Template;
use authz::{AccessLevel, Permission as P};
use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use domain::{
    DriverKind, GrantId, GrantSubject, GrantTarget, MemberId, PrinterGroupId, PrinterId,
    PrinterModelId, RankId, SiteId, StaffedPeriod, TimeOfDay, Weekday, WorkgroupId,
};
use serde::Deserialize;

use super::members::Option_;
use super::motion::{self, MotionForm};
use super::{Done, Page, back_to, checked_fields, framed, given, id_of};
use crate::WebState;
use crate::routes::{PlainRoutes, Requires};
use crate::ui::error::{UiError, render};
use crate::ui::session::{InOrg, checked_form};
use crate::ui::views::Layout;

pub(super) fn routes(routes: PlainRoutes) -> PlainRoutes {
    let org = Requires::Permission;
    routes
        .get(
            org(P::PrintersView),
            "/orgs/{org_id}/manage/printers",
            printers,
        )
        .post(
            org(P::PrintersAdd),
            "/orgs/{org_id}/manage/printers",
            create_printer,
        )
        .get(
            org(P::PrintersView),
            "/orgs/{org_id}/manage/printers/{printer_id}",
            printer_page,
        )
        .post_also(
            org(P::PrintersEdit),
            &[P::PrintersSettings],
            "/orgs/{org_id}/manage/printers/{printer_id}",
            update_printer,
        )
        .post(
            org(P::PrintersRemove),
            "/orgs/{org_id}/manage/printers/{printer_id}/delete",
            delete_printer,
        )
        .get(
            org(P::PrintersView),
            "/orgs/{org_id}/manage/printer-models",
            models,
        )
        .post(
            org(P::PrinterModelsAdd),
            "/orgs/{org_id}/manage/printer-models",
            create_model,
        )
        .get(
            org(P::PrintersView),
            "/orgs/{org_id}/manage/printer-models/{model_id}",
            model_page,
        )
        .post(
            org(P::PrinterModelsEdit),
            "/orgs/{org_id}/manage/printer-models/{model_id}",
            update_model,
        )
        .post(
            org(P::PrinterModelsRemove),
            "/orgs/{org_id}/manage/printer-models/{model_id}/delete",
            delete_model,
        )
        .post(
            org(P::PrinterGroupsAdd),
            "/orgs/{org_id}/manage/printer-groups",
            create_group,
        )
        .post(
            org(P::PrinterGroupsEdit),
            "/orgs/{org_id}/manage/printer-groups/{group_id}",
            update_group,
        )
        .post(
            org(P::PrinterGroupsRemove),
            "/orgs/{org_id}/manage/printer-groups/{group_id}/delete",
            delete_group,
        )
        .get(org(P::SitesView), "/orgs/{org_id}/manage/sites", sites)
        .post(
            org(P::SitesManage),
            "/orgs/{org_id}/manage/sites",
            create_site,
        )
        .post(
            org(P::SitesManage),
            "/orgs/{org_id}/manage/sites/{site_id}",
            update_site,
        )
        .post(
            org(P::SitesManage),
            "/orgs/{org_id}/manage/sites/{site_id}/delete",
            delete_site,
        )
        .get(
            org(P::RanksView),
            "/orgs/{org_id}/manage/printer-access",
            grants,
        )
        .post(
            org(P::PrinterAccessManage),
            "/orgs/{org_id}/manage/printer-access",
            create_grant,
        )
        .post(
            org(P::PrinterAccessManage),
            "/orgs/{org_id}/manage/printer-access/{grant_id}/delete",
            delete_grant,
        )
}

/// The names of the organization's sites, models and groups, for lists and menus.
struct Names {
    sites: Vec<Option_>,
    models: Vec<Option_>,
    groups: Vec<Option_>,
}

impl Names {
    async fn load(state: &WebState, member: &InOrg) -> Names {
        let fleet = state.app.fleet();
        let option = |value: i64, label: String| Option_ { value, label };
        Names {
            sites: state
                .app
                .people()
                .list_sites(&member.actor)
                .await
                .unwrap_or_default()
                .into_iter()
                .map(|s| option(s.id.get(), s.name))
                .collect(),
            models: fleet
                .list_printer_models(&member.actor)
                .await
                .unwrap_or_default()
                .into_iter()
                .map(|m| option(m.id.get(), m.name))
                .collect(),
            groups: fleet
                .list_printer_groups(&member.actor)
                .await
                .unwrap_or_default()
                .into_iter()
                .map(|g| option(g.id.get(), g.name))
                .collect(),
        }
    }

    fn name(list: &[Option_], id: i64) -> String {
        list.iter()
            .find(|o| o.value == id)
            .map_or_else(|| format!("#{id}"), |o| o.label.clone())
    }
}

struct PrinterLine {
    id: i64,
    name: String,
    site: String,
    model: String,
    groups: String,
}

#[derive(Template)]
#[template(path = "admin/printers.html")]
struct PrintersPage {
    layout: Layout,
    org_id: i64,
    printers: Vec<PrinterLine>,
    sites: Vec<Option_>,
    models: Vec<Option_>,
    groups: Vec<Option_>,
    may_add: bool,
    notice: &'static str,
}

/// Every printer the member can see, and the form to add one.
async fn printers(State(state): State<WebState>, member: InOrg, Query(done): Query<Done>) -> Page {
    let list = state.app.fleet().all_visible_printers(&member.actor).await;
    let list = list.map_err(framed(&member))?;
    let names = Names::load(&state, &member).await;
    let page = PrintersPage {
        layout: Layout::in_org(&member, "Printers", "manage"),
        org_id: member.actor.org().get(),
        printers: list
            .into_iter()
            .map(|p| PrinterLine {
                id: p.id.get(),
                site: Names::name(&names.sites, p.site_id.get()),
                model: p
                    .model_id
                    .map(|m| Names::name(&names.models, m.get()))
                    .unwrap_or_default(),
                groups: p
                    .group_ids
                    .iter()
                    .map(|g| Names::name(&names.groups, g.get()))
                    .collect::<Vec<_>>()
                    .join(", "),
                name: p.name,
            })
            .collect(),
        sites: names.sites,
        models: names.models,
        groups: names.groups,
        may_add: member.actor.holds(P::PrintersAdd),
        notice: match done.done.as_str() {
            "created" => "The printer was added.",
            "deleted" => "The printer was removed.",
            _ => "",
        },
    };
    Ok(render(StatusCode::OK, &page))
}

/// The printer form's fields: `group` repeats, one per ticked group.
fn printer_input(
    fields: &[(String, String)],
    settings: serde_json::Map<String, serde_json::Value>,
) -> Result<app::PrinterInput, UiError> {
    let get = |name: &str| {
        fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    };
    let site = get("site_id")
        .trim()
        .parse::<i64>()
        .map_err(|_| UiError::BadForm("choose the printer's site".into()))?;
    let model = super::optional_number::<i64>("the printer model", get("model_id"))?;
    let groups = fields
        .iter()
        .filter(|(n, _)| n == "group")
        .map(|(_, v)| v.parse::<i64>().map(PrinterGroupId))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| UiError::BadForm("choose groups from the list".into()))?;
    let driver = DriverKind::parse(get("driver"))
        .ok_or_else(|| UiError::BadForm("choose how Farmhand talks to the printer".into()))?;
    let credential = if get("remove_credential") == "on" {
        Some(None)
    } else {
        given(get("credential")).map(Some)
    };
    Ok(app::PrinterInput {
        name: get("name").to_string(),
        site_id: SiteId(site),
        model_id: model.map(PrinterModelId),
        group_ids: groups,
        driver,
        url: get("url").trim().to_string(),
        settings,
        credential,
    })
}

async fn create_printer(State(state): State<WebState>, member: InOrg, request: Request) -> Page {
    let fields = checked_fields(&member.viewer, request).await?;
    let input = printer_input(&fields, serde_json::Map::new())?;
    let created = state.app.fleet().create_printer(&member.actor, input).await;
    let printer = created.map_err(framed(&member))?;
    Ok(back_to(
        &member,
        &format!("printers/{}", printer.id.get()),
        "created",
    ))
}

/// A choice of a list that may be ticked (checkboxes, selected options).
struct Tick {
    value: i64,
    label: String,
    checked: bool,
}

#[derive(Template)]
#[template(path = "admin/printer.html")]
struct PrinterPage {
    layout: Layout,
    org_id: i64,
    id: i64,
    name: String,
    sites: Vec<Tick>,
    models: Vec<Tick>,
    groups: Vec<Tick>,
    /// Empty when the member may not see how Farmhand reaches the printer.
    driver: &'static str,
    url: String,
    has_credential: bool,
    may_edit: bool,
    may_remove: bool,
    notice: &'static str,
}

fn ticks(list: Vec<Option_>, checked: impl Fn(i64) -> bool) -> Vec<Tick> {
    list.into_iter()
        .map(|o| Tick {
            checked: checked(o.value),
            value: o.value,
            label: o.label,
        })
        .collect()
}

/// One printer: its site, model, groups and connection, to edit or remove.
async fn printer_page(
    State(state): State<WebState>,
    member: InOrg,
    Path((_, printer_id)): Path<(String, String)>,
    Query(done): Query<Done>,
) -> Page {
    let id = PrinterId(id_of(&printer_id)?);
    let printer = state.app.fleet().get_printer(&member.actor, id).await;
    let printer = printer.map_err(framed(&member))?;
    let names = Names::load(&state, &member).await;
    let connection = printer.connection.as_ref();
    let page = PrinterPage {
        layout: Layout::in_org(&member, &printer.name, "manage"),
        org_id: member.actor.org().get(),
        id: id.get(),
        sites: ticks(names.sites, |s| s == printer.site_id.get()),
        models: ticks(names.models, |m| {
            printer.model_id.is_some_and(|id| id.get() == m)
        }),
        groups: ticks(names.groups, |g| {
            printer.group_ids.iter().any(|id| id.get() == g)
        }),
        driver: connection.map_or("", |c| c.driver.as_str()),
        url: connection.map(|c| c.url.clone()).unwrap_or_default(),
        has_credential: connection.is_some_and(|c| c.has_credential),
        may_edit: connection.is_some() && member.actor.may_on_printer(P::PrintersEdit, id),
        may_remove: member.actor.may_on_printer(P::PrintersRemove, id),
        name: printer.name,
        notice: match done.done.as_str() {
            "created" => "The printer was added.",
            "saved" => "The printer was saved.",
            _ => "",
        },
    };
    Ok(render(StatusCode::OK, &page))
}

async fn update_printer(
    State(state): State<WebState>,
    member: InOrg,
    Path((_, printer_id)): Path<(String, String)>,
    request: Request,
) -> Page {
    let fields = checked_fields(&member.viewer, request).await?;
    let id = PrinterId(id_of(&printer_id)?);
    let fleet = state.app.fleet();
    let current = fleet
        .get_printer(&member.actor, id)
        .await
        .map_err(framed(&member))?;
    // The driver's settings (the simulator's speed, …) are kept as they are.
    let settings = current
        .connection
        .and_then(|c| c.settings.as_object().cloned())
        .unwrap_or_default();
    let input = printer_input(&fields, settings)?;
    let updated = fleet.update_printer(&member.actor, id, input).await;
    updated.map_err(framed(&member))?;
    Ok(back_to(&member, &format!("printers/{}", id.get()), "saved"))
}

async fn delete_printer(
    State(state): State<WebState>,
    member: InOrg,
    Path((_, printer_id)): Path<(String, String)>,
    request: Request,
) -> Page {
    let _ = checked_fields(&member.viewer, request).await?;
    let id = PrinterId(id_of(&printer_id)?);
    let deleted = state.app.fleet().delete_printer(&member.actor, id).await;
    deleted.map_err(framed(&member))?;
    Ok(back_to(&member, "printers", "deleted"))
}

struct ModelLine {
    id: i64,
    name: String,
    volume: String,
    materials: String,
}

struct GroupLine {
    id: i64,
    name: String,
    description: String,
}

#[derive(Template)]
#[template(path = "admin/models.html")]
struct ModelsPage {
    layout: Layout,
    org_id: i64,
    models: Vec<ModelLine>,
    groups: Vec<GroupLine>,
    may_add_model: bool,
    may_add_group: bool,
    may_edit_group: bool,
    may_remove_group: bool,
    notice: &'static str,
}

fn volume(mm: [f64; 3]) -> String {
    format!("{} × {} × {} mm", mm[0], mm[1], mm[2])
}

/// Printer models and printer groups.
async fn models(State(state): State<WebState>, member: InOrg, Query(done): Query<Done>) -> Page {
    let fleet = state.app.fleet();
    let models = fleet.list_printer_models(&member.actor).await;
    let models = models.map_err(framed(&member))?;
    let groups = fleet.list_printer_groups(&member.actor).await;
    let groups = groups.map_err(framed(&member))?;
    let holds = |p| member.actor.holds(p);
    let page = ModelsPage {
        layout: Layout::in_org(&member, "Printer models and groups", "manage"),
        org_id: member.actor.org().get(),
        models: models
            .into_iter()
            .map(|m| ModelLine {
                id: m.id.get(),
                volume: volume(m.build_volume_mm),
                materials: if m.materials.is_empty() {
                    "any".into()
                } else {
                    m.materials.join(", ")
                },
                name: m.name,
            })
            .collect(),
        groups: groups
            .into_iter()
            .map(|g| GroupLine {
                id: g.id.get(),
                name: g.name,
                description: g.description,
            })
            .collect(),
        may_add_model: holds(P::PrinterModelsAdd),
        may_add_group: holds(P::PrinterGroupsAdd),
        may_edit_group: holds(P::PrinterGroupsEdit),
        may_remove_group: holds(P::PrinterGroupsRemove),
        notice: match done.done.as_str() {
            "model-deleted" => "The printer model was removed.",
            "group-created" => "The printer group was created.",
            "group-saved" => "The printer group was saved.",
            "group-deleted" => "The printer group was deleted.",
            _ => "",
        },
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Deserialize, Clone)]
struct ModelForm {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    x: String,
    #[serde(default)]
    y: String,
    #[serde(default)]
    z: String,
    #[serde(default)]
    nozzle: String,
    /// Comma-separated; empty: any material.
    #[serde(default)]
    materials: String,
    #[serde(default)]
    hourly_rate: String,
    /// The estimator's settings (`motion.…`, see [`super::motion`]), and the form token.
    #[serde(flatten)]
    rest: BTreeMap<String, String>,
}

fn decimal(label: &str, text: &str, default: f64) -> Result<f64, UiError> {
    match text.trim() {
        "" => Ok(default),
        text => text
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| UiError::BadForm(format!("{label} must be a number such as 0.4"))),
    }
}

async fn model_input(
    state: &WebState,
    member: &InOrg,
    form: ModelForm,
    motion: serde_json::Map<String, serde_json::Value>,
) -> Result<app::PrinterModelInput, UiError> {
    let hourly_rate_minor = match form.hourly_rate.trim() {
        "" => 0,
        text => super::settings::money_of(state, member, "the hourly rate", text).await?,
    };
    Ok(app::PrinterModelInput {
        name: form.name,
        description: form.description,
        build_volume_mm: [
            decimal("the width", &form.x, 0.0)?,
            decimal("the depth", &form.y, 0.0)?,
            decimal("the height", &form.z, 0.0)?,
        ],
        nozzle_diameter_mm: decimal("the nozzle diameter", &form.nozzle, 0.4)?,
        materials: form
            .materials
            .split(',')
            .map(str::trim)
            .filter(|m| !m.is_empty())
            .map(str::to_string)
            .collect(),
        motion,
        hourly_rate_minor,
    })
}

async fn create_model(State(state): State<WebState>, member: InOrg, request: Request) -> Page {
    let form: ModelForm = checked_form(&member.viewer, request).await?;
    let input = model_input(&state, &member, form, serde_json::Map::new()).await?;
    let created = state
        .app
        .fleet()
        .create_printer_model(&member.actor, input)
        .await;
    let model = created.map_err(framed(&member))?;
    Ok(back_to(
        &member,
        &format!("printer-models/{}", model.id.get()),
        "created",
    ))
}

#[derive(Template)]
#[template(path = "admin/model.html")]
struct ModelPage {
    layout: Layout,
    org_id: i64,
    id: i64,
    name: String,
    description: String,
    x: String,
    y: String,
    z: String,
    nozzle: String,
    materials: String,
    hourly_rate: String,
    motion: MotionForm,
    /// What kept the form from being saved, when it is not one estimator setting's.
    problem: String,
    may_edit: bool,
    may_remove: bool,
    notice: &'static str,
}

async fn model_page(
    State(state): State<WebState>,
    member: InOrg,
    Path((_, model_id)): Path<(String, String)>,
    Query(done): Query<Done>,
) -> Page {
    let id = PrinterModelId(id_of(&model_id)?);
    let models = state.app.fleet().list_printer_models(&member.actor).await;
    let model = models
        .map_err(framed(&member))?
        .into_iter()
        .find(|m| m.id == id)
        .ok_or(UiError::NotFound)?;
    let org = state.app.people().get_org(&member.actor).await;
    let currency = org.map_err(framed(&member))?.currency;
    let page = ModelPage {
        layout: Layout::in_org(&member, &model.name, "manage"),
        org_id: member.actor.org().get(),
        id: id.get(),
        description: model.description,
        x: model.build_volume_mm[0].to_string(),
        y: model.build_volume_mm[1].to_string(),
        z: model.build_volume_mm[2].to_string(),
        nozzle: model.nozzle_diameter_mm.to_string(),
        materials: model.materials.join(", "),
        hourly_rate: super::settings::money_field(model.hourly_rate_minor, &currency),
        motion: motion::shown(model.motion.as_object().unwrap_or(&Default::default())),
        problem: String::new(),
        name: model.name,
        may_edit: member.actor.holds(P::PrinterModelsEdit),
        may_remove: member.actor.holds(P::PrinterModelsRemove),
        notice: match done.done.as_str() {
            "created" => "The printer model was added.",
            "saved" => "The printer model was saved.",
            _ => "",
        },
    };
    Ok(render(StatusCode::OK, &page))
}

async fn update_model(
    State(state): State<WebState>,
    member: InOrg,
    Path((_, model_id)): Path<(String, String)>,
    request: Request,
) -> Page {
    let form: ModelForm = checked_form(&member.viewer, request).await?;
    let id = PrinterModelId(id_of(&model_id)?);
    let fleet = state.app.fleet();
    let models = fleet.list_printer_models(&member.actor).await;
    let current = models
        .map_err(framed(&member))?
        .into_iter()
        .find(|m| m.id == id)
        .ok_or(UiError::NotFound)?;
    let stored = current.motion.as_object().cloned().unwrap_or_default();
    let (shown, motion) = motion::read(&stored, &form.rest);
    let Some(motion) = motion else {
        return model_again(&member, current.name, id, form, shown, String::new());
    };
    let input = model_input(&state, &member, form.clone(), motion).await?;
    match fleet.update_printer_model(&member.actor, id, input).await {
        Ok(_) => Ok(back_to(
            &member,
            &format!("printer-models/{}", id.get()),
            "saved",
        )),
        Err(app::AppError::Invalid(invalid)) => {
            let problem = format!(
                "The {} {}.",
                invalid.field.replace('_', " "),
                invalid.message
            );
            model_again(&member, current.name, id, form, shown, problem)
        }
        Err(other) => Err(framed(&member)(other)),
    }
}

/// The model's form again, as it was sent, with what is wrong (422).
fn model_again(
    member: &InOrg,
    title: String,
    id: PrinterModelId,
    form: ModelForm,
    motion: MotionForm,
    problem: String,
) -> Page {
    let page = ModelPage {
        layout: Layout::in_org(member, &title, "manage"),
        org_id: member.actor.org().get(),
        id: id.get(),
        name: form.name,
        description: form.description,
        x: form.x,
        y: form.y,
        z: form.z,
        nozzle: form.nozzle,
        materials: form.materials,
        hourly_rate: form.hourly_rate,
        motion,
        problem,
        may_edit: true,
        may_remove: member.actor.holds(P::PrinterModelsRemove),
        notice: "",
    };
    Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

async fn delete_model(
    State(state): State<WebState>,
    member: InOrg,
    Path((_, model_id)): Path<(String, String)>,
    request: Request,
) -> Page {
    let _ = checked_fields(&member.viewer, request).await?;
    let id = PrinterModelId(id_of(&model_id)?);
    let deleted = state
        .app
        .fleet()
        .delete_printer_model(&member.actor, id)
        .await;
    deleted.map_err(framed(&member))?;
    Ok(back_to(&member, "printer-models", "model-deleted"))
}

#[derive(Deserialize)]
struct NamedForm {
    name: String,
    #[serde(default)]
    description: String,
}

impl From<NamedForm> for app::NamedInput {
    fn from(form: NamedForm) -> app::NamedInput {
        app::NamedInput {
            name: form.name,
            description: form.description,
        }
    }
}

async fn create_group(State(state): State<WebState>, member: InOrg, request: Request) -> Page {
    let form: NamedForm = checked_form(&member.viewer, request).await?;
    let created = state
        .app
        .fleet()
        .create_printer_group(&member.actor, form.into())
        .await;
    created.map_err(framed(&member))?;
    Ok(back_to(&member, "printer-models", "group-created"))
}

async fn update_group(
    State(state): State<WebState>,
    member: InOrg,
    Path((_, group_id)): Path<(String, String)>,
    request: Request,
) -> Page {
    let form: NamedForm = checked_form(&member.viewer, request).await?;
    let id = PrinterGroupId(id_of(&group_id)?);
    let updated = state
        .app
        .fleet()
        .update_printer_group(&member.actor, id, form.into())
        .await;
    updated.map_err(framed(&member))?;
    Ok(back_to(&member, "printer-models", "group-saved"))
}

async fn delete_group(
    State(state): State<WebState>,
    member: InOrg,
    Path((_, group_id)): Path<(String, String)>,
    request: Request,
) -> Page {
    let _ = checked_fields(&member.viewer, request).await?;
    let id = PrinterGroupId(id_of(&group_id)?);
    let deleted = state
        .app
        .fleet()
        .delete_printer_group(&member.actor, id)
        .await;
    deleted.map_err(framed(&member))?;
    Ok(back_to(&member, "printer-models", "group-deleted"))
}

struct SiteLine {
    id: i64,
    name: String,
    description: String,
    time_zone: String,
    staffed: String,
    /// The staffed periods as the form takes them, one a line.
    staffed_lines: String,
    grace: u32,
}

const WEEKDAYS: [(Weekday, &str); 7] = [
    (Weekday::Mon, "Mon"),
    (Weekday::Tue, "Tue"),
    (Weekday::Wed, "Wed"),
    (Weekday::Thu, "Thu"),
    (Weekday::Fri, "Fri"),
    (Weekday::Sat, "Sat"),
    (Weekday::Sun, "Sun"),
];

/// `Mon, Tue 08:00-17:00`: one staffed period as a line of the site form.
fn period_line(period: &StaffedPeriod) -> String {
    let days: Vec<&str> = period
        .days
        .iter()
        .filter_map(|day| {
            WEEKDAYS
                .iter()
                .find(|(d, _)| d == day)
                .map(|(_, name)| *name)
        })
        .collect();
    format!("{} {}-{}", days.join(", "), period.from, period.to)
}

/// The site form's staffed periods, one a line (`Mon, Tue 08:00-17:00`); none: always staffed.
fn parse_periods(text: &str) -> Result<Vec<StaffedPeriod>, UiError> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(|line| {
            let bad = || {
                UiError::BadForm(format!(
                    "{line:?} is not a staffed period such as \"Mon, Tue 08:00-17:00\""
                ))
            };
            let (days, times) = line.rsplit_once(' ').ok_or_else(bad)?;
            let (from, to) = times
                .split_once('-')
                .or_else(|| times.split_once('–'))
                .ok_or_else(bad)?;
            let days = days
                .split(',')
                .map(|day| {
                    let day = day.trim();
                    WEEKDAYS
                        .iter()
                        .find(|(_, name)| name.eq_ignore_ascii_case(day))
                        .map(|(d, _)| *d)
                        .ok_or_else(bad)
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(StaffedPeriod {
                days,
                from: TimeOfDay::parse(from.trim()).ok_or_else(bad)?,
                to: TimeOfDay::parse(to.trim()).ok_or_else(bad)?,
            })
        })
        .collect()
}

#[derive(Template)]
#[template(path = "admin/sites.html")]
struct SitesPage {
    layout: Layout,
    org_id: i64,
    sites: Vec<SiteLine>,
    may_manage: bool,
    notice: &'static str,
}

async fn sites(State(state): State<WebState>, member: InOrg, Query(done): Query<Done>) -> Page {
    let list = state.app.people().list_sites(&member.actor).await;
    let list = list.map_err(framed(&member))?;
    let page = SitesPage {
        layout: Layout::in_org(&member, "Sites", "manage"),
        org_id: member.actor.org().get(),
        sites: list
            .into_iter()
            .map(|s| SiteLine {
                id: s.id.get(),
                staffed: if s.staffed_hours.always() {
                    "Always".into()
                } else {
                    format!("{}, {} min grace", s.staffed_hours, s.staffed_grace_minutes)
                },
                staffed_lines: s
                    .staffed_hours
                    .periods()
                    .iter()
                    .map(period_line)
                    .collect::<Vec<_>>()
                    .join("\n"),
                grace: s.staffed_grace_minutes,
                name: s.name,
                description: s.description,
                time_zone: s.time_zone.unwrap_or_default(),
            })
            .collect(),
        may_manage: member.actor.holds(P::SitesManage),
        notice: match done.done.as_str() {
            "created" => "The site was created.",
            "saved" => "The site was saved.",
            "deleted" => "The site was deleted.",
            _ => "",
        },
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Deserialize)]
struct SiteForm {
    name: String,
    #[serde(default)]
    description: String,
    /// Empty: the organization's.
    #[serde(default)]
    time_zone: String,
    /// One period a line; empty: always staffed.
    #[serde(default)]
    staffed: String,
    #[serde(default)]
    grace_minutes: String,
}

async fn create_site(State(state): State<WebState>, member: InOrg, request: Request) -> Page {
    let form: SiteForm = checked_form(&member.viewer, request).await?;
    let input = app::CreateSite {
        name: form.name,
        description: form.description,
        time_zone: given(&form.time_zone),
        staffed_hours: parse_periods(&form.staffed)?,
        staffed_grace_minutes: super::optional_number("the grace period", &form.grace_minutes)?
            .unwrap_or(0),
    };
    let created = state.app.people().create_site(&member.actor, input).await;
    created.map_err(framed(&member))?;
    Ok(back_to(&member, "sites", "created"))
}

async fn update_site(
    State(state): State<WebState>,
    member: InOrg,
    Path((_, site_id)): Path<(String, String)>,
    request: Request,
) -> Page {
    let form: SiteForm = checked_form(&member.viewer, request).await?;
    let id = SiteId(id_of(&site_id)?);
    let input = app::UpdateSite {
        name: Some(form.name),
        description: Some(form.description),
        time_zone: Some(given(&form.time_zone)),
        staffed_hours: Some(parse_periods(&form.staffed)?),
        staffed_grace_minutes: Some(
            super::optional_number("the grace period", &form.grace_minutes)?.unwrap_or(0),
        ),
    };
    let updated = state
        .app
        .people()
        .update_site(&member.actor, id, input)
        .await;
    updated.map_err(framed(&member))?;
    Ok(back_to(&member, "sites", "saved"))
}

async fn delete_site(
    State(state): State<WebState>,
    member: InOrg,
    Path((_, site_id)): Path<(String, String)>,
    request: Request,
) -> Page {
    let _ = checked_fields(&member.viewer, request).await?;
    let id = SiteId(id_of(&site_id)?);
    let deleted = state.app.people().delete_site(&member.actor, id).await;
    deleted.map_err(framed(&member))?;
    Ok(back_to(&member, "sites", "deleted"))
}

struct GrantLine {
    id: i64,
    who: String,
    what: String,
    level: &'static str,
}

#[derive(Template)]
#[template(path = "admin/grants.html")]
struct GrantsPage {
    layout: Layout,
    org_id: i64,
    grants: Vec<GrantLine>,
    /// `rank:<id>`, `workgroup:<id>`, `member:<id>`.
    subjects: Vec<(String, String)>,
    /// `all`, `site:<id>`, `group:<id>`, `model:<id>`, `printer:<id>`.
    targets: Vec<(String, String)>,
    levels: Vec<&'static str>,
    may_manage: bool,
    notice: &'static str,
}

/// Who has which access to which printers, and the form to grant more.
async fn grants(State(state): State<WebState>, member: InOrg, Query(done): Query<Done>) -> Page {
    let list = state.app.access().list_grants(&member.actor).await;
    let list = list.map_err(framed(&member))?;
    let names = Names::load(&state, &member).await;
    let ranks = state
        .app
        .access()
        .list_ranks(&member.actor)
        .await
        .unwrap_or_default();
    let workgroups = state
        .app
        .people()
        .list_workgroups(&member.actor)
        .await
        .unwrap_or_default();
    let people = if member.actor.holds(P::MembersView) {
        state
            .app
            .people()
            .list_members(&member.actor)
            .await
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let printers = state
        .app
        .fleet()
        .all_visible_printers(&member.actor)
        .await
        .unwrap_or_default();
    let mut subjects: Vec<(String, String)> = ranks
        .iter()
        .map(|r| (format!("rank:{}", r.id.get()), format!("Rank {}", r.name)))
        .collect();
    subjects.extend(workgroups.iter().map(|w| {
        (
            format!("workgroup:{}", w.id.get()),
            format!("Workgroup {}", w.name),
        )
    }));
    subjects.extend(people.iter().filter(|m| m.active).map(|m| {
        (
            format!("member:{}", m.id.get()),
            format!("Member {}", m.name),
        )
    }));
    let mut targets = vec![("all".to_string(), "Every printer".to_string())];
    targets.extend(
        names
            .sites
            .iter()
            .map(|s| (format!("site:{}", s.value), format!("Site {}", s.label))),
    );
    targets.extend(
        names
            .groups
            .iter()
            .map(|g| (format!("group:{}", g.value), format!("Group {}", g.label))),
    );
    targets.extend(
        names
            .models
            .iter()
            .map(|m| (format!("model:{}", m.value), format!("Model {}", m.label))),
    );
    targets.extend(printers.iter().map(|p| {
        (
            format!("printer:{}", p.id.get()),
            format!("Printer {}", p.name),
        )
    }));
    let subject_name = |subject: GrantSubject| {
        let key = match subject {
            GrantSubject::Rank(id) => format!("rank:{}", id.get()),
            GrantSubject::Workgroup(id) => format!("workgroup:{}", id.get()),
            GrantSubject::Member(id) => format!("member:{}", id.get()),
        };
        subjects
            .iter()
            .find(|(k, _)| *k == key)
            .map_or(key.clone(), |(_, label)| label.clone())
    };
    let target_name = |target: GrantTarget| {
        let key = match target {
            GrantTarget::AllPrinters => "all".to_string(),
            GrantTarget::Site(id) => format!("site:{}", id.get()),
            GrantTarget::Group(id) => format!("group:{}", id.get()),
            GrantTarget::Model(id) => format!("model:{}", id.get()),
            GrantTarget::Printer(id) => format!("printer:{}", id.get()),
        };
        targets
            .iter()
            .find(|(k, _)| *k == key)
            .map_or(key.clone(), |(_, label)| label.clone())
    };
    let page = GrantsPage {
        layout: Layout::in_org(&member, "Printer access", "manage"),
        org_id: member.actor.org().get(),
        grants: list
            .iter()
            .map(|g| GrantLine {
                id: g.id.get(),
                who: subject_name(g.subject),
                what: target_name(g.target),
                level: g.level.key(),
            })
            .collect(),
        levels: AccessLevel::ALL
            .into_iter()
            .filter(|l| *l != AccessLevel::None)
            .map(AccessLevel::key)
            .collect(),
        subjects,
        targets,
        may_manage: member.actor.holds(P::PrinterAccessManage),
        notice: match done.done.as_str() {
            "created" => "The access was granted.",
            "deleted" => "The grant was revoked.",
            _ => "",
        },
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Deserialize)]
struct GrantForm {
    subject: String,
    target: String,
    level: String,
}

fn parse_subject(key: &str) -> Option<GrantSubject> {
    let (kind, id) = key.split_once(':')?;
    let id = id.parse::<i64>().ok()?;
    match kind {
        "rank" => Some(GrantSubject::Rank(RankId(id))),
        "workgroup" => Some(GrantSubject::Workgroup(WorkgroupId(id))),
        "member" => Some(GrantSubject::Member(MemberId(id))),
        _ => None,
    }
}

fn parse_target(key: &str) -> Option<GrantTarget> {
    if key == "all" {
        return Some(GrantTarget::AllPrinters);
    }
    let (kind, id) = key.split_once(':')?;
    let id = id.parse::<i64>().ok()?;
    match kind {
        "site" => Some(GrantTarget::Site(SiteId(id))),
        "group" => Some(GrantTarget::Group(PrinterGroupId(id))),
        "model" => Some(GrantTarget::Model(PrinterModelId(id))),
        "printer" => Some(GrantTarget::Printer(PrinterId(id))),
        _ => None,
    }
}

async fn create_grant(State(state): State<WebState>, member: InOrg, request: Request) -> Page {
    let form: GrantForm = checked_form(&member.viewer, request).await?;
    let input = app::CreateGrant {
        subject: parse_subject(&form.subject)
            .ok_or_else(|| UiError::BadForm("choose a rank, workgroup or member".into()))?,
        target: parse_target(&form.target)
            .ok_or_else(|| UiError::BadForm("choose which printers".into()))?,
        level: AccessLevel::parse(&form.level)
            .filter(|l| *l != AccessLevel::None)
            .ok_or_else(|| UiError::BadForm("choose view, queue, print or manage".into()))?,
    };
    let created = state.app.access().create_grant(&member.actor, input).await;
    created.map_err(framed(&member))?;
    Ok(back_to(&member, "printer-access", "created"))
}

async fn delete_grant(
    State(state): State<WebState>,
    member: InOrg,
    Path((_, grant_id)): Path<(String, String)>,
    request: Request,
) -> Page {
    let _ = checked_fields(&member.viewer, request).await?;
    let id = GrantId(id_of(&grant_id)?);
    let deleted = state.app.access().delete_grant(&member.actor, id).await;
    deleted.map_err(framed(&member))?;
    Ok(back_to(&member, "printer-access", "deleted"))
}
