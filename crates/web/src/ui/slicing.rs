//! Slicing a model from the library: a page with only the settings the member may change (by
//! tier, with their bounds; locked ones shown with their value), starting the slice, its
//! progress (live through the slice's server-sent events, or by refreshing), cancelling it, and
//! "submit this G-code" once it is done.

use std::collections::BTreeMap;

use app::slicing::{SettingKind, Tier};
use app::{AppError, OrgActor, SettingView};
use askama::Template;
use authz::Permission as P;
use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use domain::{FileId, Placement, PrinterModelId, SliceId, SliceState, SlicerProfileId};
use serde::Deserialize;
use serde_json::Value;

use super::error::{UiError, render};
use super::jobs::{Choice, FleetNames};
use super::pages::{NoFields, NoticeQuery, notice};
use super::session::{InOrg, checked_form};
use super::views::Layout;
use crate::WebState;

type Page = Result<Response, UiError>;

/// One setting's input on the form.
struct SettingField {
    /// The form field's name: `s.` and PrusaSlicer's key.
    name: String,
    key: &'static str,
    title: &'static str,
    value: String,
    locked: bool,
    /// `number`, `checkbox` or `select`.
    input: &'static str,
    min: String,
    max: String,
    step: &'static str,
    unit: &'static str,
    choices: Vec<Choice>,
    checked: bool,
}

struct TierGroup {
    title: &'static str,
    settings: Vec<SettingField>,
}

fn tier_title(tier: Tier) -> &'static str {
    match tier {
        Tier::Basic => "Basic settings",
        Tier::Advanced => "Advanced settings",
        Tier::Expert => "Expert settings",
    }
}

/// The value as the form shows it: numbers and percentages bare, booleans as 0/1.
fn shown_value(value: &str) -> String {
    value.trim_end_matches('%').to_string()
}

fn setting_field(view: &SettingView, entered: Option<&String>) -> SettingField {
    let setting = view.setting;
    let value = entered
        .filter(|_| !view.locked)
        .cloned()
        .unwrap_or_else(|| shown_value(&view.value));
    let (input, min, max, step, unit, choices) = match setting.kind {
        SettingKind::Float { min, max, unit } => (
            "number",
            min.to_string(),
            max.to_string(),
            "any",
            unit,
            Vec::new(),
        ),
        SettingKind::Int { min, max } => (
            "number",
            min.to_string(),
            max.to_string(),
            "1",
            "",
            Vec::new(),
        ),
        SettingKind::Percent { min, max } => (
            "number",
            min.to_string(),
            max.to_string(),
            "any",
            "%",
            Vec::new(),
        ),
        SettingKind::Bool => ("checkbox", String::new(), String::new(), "", "", Vec::new()),
        SettingKind::Choice(words) => (
            "select",
            String::new(),
            String::new(),
            "",
            "",
            words
                .iter()
                .map(|w| Choice {
                    value: (*w).to_string(),
                    label: (*w).to_string(),
                    selected: *w == value,
                })
                .collect(),
        ),
    };
    SettingField {
        name: format!("s.{}", setting.key),
        key: setting.key,
        title: setting.title,
        checked: value == "1",
        value,
        locked: view.locked,
        input,
        min,
        max,
        step,
        unit,
        choices,
    }
}

/// A value from the form as the slicer use case takes it (the type the setting declares).
fn form_value(kind: SettingKind, text: &str) -> Value {
    let text = text.trim();
    match kind {
        SettingKind::Float { .. } | SettingKind::Int { .. } | SettingKind::Percent { .. } => text
            .trim_end_matches('%')
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map_or_else(|| Value::String(text.to_string()), Value::Number),
        SettingKind::Bool => Value::Bool(text == "1"),
        SettingKind::Choice(_) => Value::String(text.to_string()),
    }
}

/// Whether the member's value is the one already in force (then it is not sent as a change).
fn unchanged(view: &SettingView, value: &Value) -> bool {
    view.setting
        .normalize(value)
        .is_ok_and(|normalized| normalized == view.value)
}

#[derive(Template)]
#[template(path = "slice_new.html")]
struct SlicePage {
    layout: Layout,
    org_id: i64,
    file_id: i64,
    file_name: String,
    size: String,
    models: Vec<Choice>,
    printer_model_id: i64,
    profile: String,
    /// The printer model's profiles to pick from (empty without `slicer.change_profile`).
    profiles: Vec<Choice>,
    /// The profile picked (0: the printer model's default).
    profile_id: i64,
    tiers: Vec<TierGroup>,
    copies: String,
    scale: String,
    rotate: String,
    auto_rotate: bool,
    may_arrange: bool,
    may_scale: bool,
    may_rotate: bool,
    may_auto_rotate: bool,
    problem: String,
}

/// What the member entered on the slice form, to show it again after a refusal.
#[derive(Default)]
struct SliceEntered {
    /// The profile picked; `None`: the printer model's default.
    profile: Option<SlicerProfileId>,
    settings: BTreeMap<String, String>,
    copies: String,
    scale: String,
    rotate: String,
    auto_rotate: bool,
}

fn file_in_path(text: &str) -> Result<FileId, UiError> {
    text.parse::<FileId>().map_err(|_| UiError::NotFound)
}

/// The printer models the member may slice for: those of printers they may queue on (else every
/// model of the organization they can see).
fn model_choices(
    names: &FleetNames,
    actor: &OrgActor,
    chosen: Option<PrinterModelId>,
) -> Vec<Choice> {
    let mut models: Vec<PrinterModelId> = names
        .printers
        .iter()
        .filter(|p| actor.may_on_printer(P::QueueSubmit, p.id))
        .filter_map(|p| p.model_id)
        .collect();
    models.sort();
    models.dedup();
    let chosen = chosen.or_else(|| models.first().copied());
    models
        .into_iter()
        .map(|m| Choice {
            value: m.to_string(),
            label: names.model(m),
            selected: Some(m) == chosen,
        })
        .collect()
}

async fn slice_page(
    state: &WebState,
    member: &InOrg,
    file: FileId,
    model: Option<PrinterModelId>,
    entered: SliceEntered,
    problem: String,
) -> Result<SlicePage, UiError> {
    let actor = &member.actor;
    let found = state.app.files().get(actor, file).await?;
    let Some(facts) = found.model.clone() else {
        return Err(UiError::Refused {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            message: format!(
                "{} is G-code, not a model: it is ready to submit as it is.",
                found.name
            ),
            frame: None,
        }
        .framed(member));
    };
    let names = FleetNames::load(state, actor).await?;
    let models = model_choices(&names, actor, model);
    let chosen: Option<PrinterModelId> = models
        .iter()
        .find(|c| c.selected)
        .and_then(|c| c.value.parse().ok());
    let Some(chosen) = chosen else {
        return Err(UiError::Refused {
            status: StatusCode::CONFLICT,
            message: "None of the printers you may queue on has a printer model to slice for."
                .into(),
            frame: None,
        }
        .framed(member));
    };
    let (profiles, picked) = profile_choices(state, actor, chosen, entered.profile).await?;
    let view = state.app.slicing().settings(actor, chosen, picked).await?;
    let mut tiers: Vec<TierGroup> = Vec::new();
    for tier in [Tier::Basic, Tier::Advanced, Tier::Expert] {
        let settings: Vec<SettingField> = view
            .settings
            .iter()
            .filter(|s| s.setting.tier == tier)
            .map(|s| setting_field(s, entered.settings.get(s.setting.key)))
            .collect();
        if !settings.is_empty() {
            tiers.push(TierGroup {
                title: tier_title(tier),
                settings,
            });
        }
    }
    let or = |text: String, default: &str| {
        if text.is_empty() {
            default.to_string()
        } else {
            text
        }
    };
    Ok(SlicePage {
        layout: Layout::in_org(member, &format!("Slice {}", found.name), "library"),
        org_id: actor.org().get(),
        file_id: file.get(),
        size: format!(
            "{:.0} × {:.0} × {:.0} mm",
            facts.size_mm[0], facts.size_mm[1], facts.size_mm[2]
        ),
        file_name: found.name,
        models,
        printer_model_id: chosen.get(),
        profile: view.profile.map(|p| p.name).unwrap_or_default(),
        profiles,
        profile_id: picked.map_or(0, SlicerProfileId::get),
        tiers,
        copies: or(entered.copies, "1"),
        scale: or(entered.scale, "100"),
        rotate: or(entered.rotate, "0"),
        auto_rotate: entered.auto_rotate,
        may_arrange: actor.holds(P::SlicerArrange),
        may_scale: actor.holds(P::SlicerScale),
        may_rotate: actor.holds(P::SlicerRotate),
        may_auto_rotate: actor.holds(P::SlicerAutoRotate),
        problem,
    })
}

/// The printer model's profiles a member holding `slicer.change_profile` picks from (none
/// for others: the default applies), and the one picked if it is the model's (a profile of
/// another model, left from a change of model, falls back to the default).
async fn profile_choices(
    state: &WebState,
    actor: &OrgActor,
    model: PrinterModelId,
    wanted: Option<SlicerProfileId>,
) -> Result<(Vec<Choice>, Option<SlicerProfileId>), UiError> {
    if !actor.holds(P::SlicerChangeProfile) {
        return Ok((Vec::new(), None));
    }
    let profiles = state
        .app
        .slicing()
        .list_profiles(actor, Some(model))
        .await?;
    let default = profiles.iter().map(|p| p.id).min();
    let picked = wanted.filter(|id| profiles.iter().any(|p| p.id == *id));
    let shown = picked.or(default);
    let choices = profiles
        .into_iter()
        .map(|p| Choice {
            value: p.id.get().to_string(),
            label: if Some(p.id) == default {
                format!("{} (default)", p.name)
            } else {
                p.name
            },
            selected: Some(p.id) == shown,
        })
        .collect();
    Ok((choices, picked))
}

#[derive(Deserialize, Default)]
pub(crate) struct ModelQuery {
    #[serde(default)]
    printer_model: String,
    #[serde(default)]
    profile: String,
}

fn profile_field(text: &str) -> Result<Option<SlicerProfileId>, UiError> {
    match text.trim() {
        "" => Ok(None),
        id => id
            .parse()
            .map(Some)
            .map_err(|_| UiError::BadForm("the slicing profile is not one of the list".into())),
    }
}

fn model_field(text: &str) -> Result<Option<PrinterModelId>, UiError> {
    match text.trim() {
        "" => Ok(None),
        id => id
            .parse()
            .map(Some)
            .map_err(|_| UiError::BadForm("the printer model is not one of the list".into())),
    }
}

/// The slice form for a model of the library.
pub(crate) async fn slice_form(
    State(state): State<WebState>,
    member: InOrg,
    Path(path): Path<(String, String)>,
    Query(query): Query<ModelQuery>,
) -> Page {
    let file = file_in_path(&path.1)?;
    let model = model_field(&query.printer_model)?;
    let entered = SliceEntered {
        profile: profile_field(&query.profile)?,
        ..SliceEntered::default()
    };
    let page = slice_page(&state, &member, file, model, entered, String::new()).await?;
    Ok(render(StatusCode::OK, &page))
}

/// Starts a slice with the settings the member changed (only those differing from the values in
/// force are sent: the use case refuses a change the member may not make, naming it).
pub(crate) async fn start(
    State(state): State<WebState>,
    member: InOrg,
    Path(path): Path<(String, String)>,
    request: Request,
) -> Page {
    let fields: Vec<(String, String)> = checked_form(&member.viewer, request).await?;
    let actor = &member.actor;
    let file = file_in_path(&path.1)?;
    let mut model_text = String::new();
    let mut entered = SliceEntered::default();
    for (name, value) in fields {
        match name.as_str() {
            "printer_model" => model_text = value,
            "profile" => entered.profile = profile_field(&value)?,
            "copies" => entered.copies = value,
            "scale" => entered.scale = value,
            "rotate" => entered.rotate = value,
            "auto_rotate" => entered.auto_rotate = value == "1",
            other => {
                if let Some(key) = other.strip_prefix("s.") {
                    // A checkbox follows its hidden "0": the last value is the one chosen.
                    entered.settings.insert(key.to_string(), value);
                }
            }
        }
    }
    let model = model_field(&model_text)?
        .ok_or_else(|| UiError::BadForm("choose a printer model".into()))?;
    // The profile as the member sent it: the use case refuses one they may not pick.
    let view = state
        .app
        .slicing()
        .settings(actor, model, entered.profile)
        .await;
    let view = view.map_err(|e| UiError::from(e).framed(&member))?;
    let mut settings = BTreeMap::new();
    for (key, text) in &entered.settings {
        match view.settings.iter().find(|s| s.setting.key == key) {
            Some(shown) => {
                let value = form_value(shown.setting.kind, text);
                if !unchanged(shown, &value) {
                    settings.insert(key.clone(), value);
                }
            }
            // Not on the member's form (another tier, or no such setting): sent as it came, for
            // the use case to refuse naming the setting, whatever the client sent.
            None => {
                let value = match app::slicing::settings::find(key) {
                    Some(setting) => form_value(setting.kind, text),
                    None => Value::String(text.clone()),
                };
                settings.insert(key.clone(), value);
            }
        }
    }
    let number = |text: &str, default: f64| match text.trim() {
        "" => Ok(default),
        t => t
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite())
            .ok_or_else(|| UiError::BadForm("copies, scale and rotation are numbers".into())),
    };
    let copies = number(&entered.copies, 1.0)?;
    let placement = Placement {
        copies: if (1.0..=1000.0).contains(&copies) && copies.fract() == 0.0 {
            copies as u32
        } else {
            return Err(UiError::BadForm("copies is a whole number from 1".into()));
        },
        scale_percent: number(&entered.scale, 100.0)?,
        rotate_z_deg: number(&entered.rotate, 0.0)?,
        auto_rotate: entered.auto_rotate,
    };
    let input = app::StartSlice {
        file_id: file,
        printer_model_id: model,
        profile_id: entered.profile,
        settings,
        placement,
    };
    match state.app.slicing().start(actor, input).await {
        Ok(slice) => Ok(Redirect::to(&format!(
            "/orgs/{}/files/{file}/slices/{}",
            actor.org(),
            slice.id
        ))
        .into_response()),
        Err(AppError::Internal(source)) => Err(AppError::Internal(source).into()),
        Err(AppError::NotFound { .. }) => Err(UiError::NotFound),
        Err(error) => {
            let status = crate::error::status(error.code());
            let message = super::pages::capitalized(&format!("{error}."));
            let page = slice_page(&state, &member, file, Some(model), entered, message).await?;
            Ok(render(status, &page))
        }
    }
}

#[derive(Template)]
#[template(path = "slice.html")]
struct SliceStatusPage {
    layout: Layout,
    org_id: i64,
    file_id: i64,
    slice_id: i64,
    model_name: String,
    printer_model: String,
    state: &'static str,
    progress: u8,
    running: bool,
    done: bool,
    message: String,
    gcode_file_id: i64,
    changed: Vec<(String, String)>,
    may_submit: bool,
    notice: String,
}

fn slice_state_words(state: SliceState) -> &'static str {
    match state {
        SliceState::Queued => "Waiting for the slicer",
        SliceState::Slicing => "Slicing",
        SliceState::Done => "Done",
        SliceState::Failed => "Failed",
        SliceState::Cancelled => "Cancelled",
    }
}

fn slice_in_path(path: &(String, String, String)) -> Result<(FileId, SliceId), UiError> {
    Ok((
        file_in_path(&path.1)?,
        path.2.parse::<SliceId>().map_err(|_| UiError::NotFound)?,
    ))
}

/// A slice: its state and progress (live with the script), cancelling it while it runs, and
/// "submit this G-code" once it is done.
pub(crate) async fn slice(
    State(state): State<WebState>,
    member: InOrg,
    Path(path): Path<(String, String, String)>,
    Query(query): Query<NoticeQuery>,
) -> Page {
    let actor = &member.actor;
    let (file, id) = slice_in_path(&path)?;
    let slice = state.app.slicing().get(actor, file, id).await?;
    let names = FleetNames::load(&state, actor).await?;
    let page = SliceStatusPage {
        layout: Layout::in_org(
            &member,
            &format!("Slice of {}", slice.model_name),
            "library",
        ),
        org_id: actor.org().get(),
        file_id: file.get(),
        slice_id: id.get(),
        printer_model: names.model(slice.printer_model_id),
        model_name: slice.model_name,
        state: slice_state_words(slice.state),
        progress: slice.progress.min(100),
        running: !slice.state.is_final(),
        done: slice.state == SliceState::Done,
        message: slice.message.unwrap_or_default(),
        gcode_file_id: slice.gcode_file_id.map_or(0, |f| f.get()),
        changed: slice.requested.into_iter().collect(),
        may_submit: actor.holds(P::QueueSubmit),
        notice: notice(query.done.as_deref()),
    };
    Ok(render(StatusCode::OK, &page))
}

/// Cancels a slice that is waiting or running.
pub(crate) async fn cancel(
    State(state): State<WebState>,
    member: InOrg,
    Path(path): Path<(String, String, String)>,
    request: Request,
) -> Page {
    let NoFields {} = checked_form(&member.viewer, request).await?;
    let (file, id) = slice_in_path(&path)?;
    if let Err(error) = state.app.slicing().cancel(&member.actor, file, id).await {
        return Err(UiError::from(error).framed(&member));
    }
    Ok(Redirect::to(&format!(
        "/orgs/{}/files/{file}/slices/{id}?done=slice-cancelled",
        member.actor.org()
    ))
    .into_response())
}
