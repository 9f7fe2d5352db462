//! Slicing administration: the organization's slicing profiles (a name, a printer model, a
//! material and PrusaSlicer settings, edited with the inputs the settings table gives each
//! setting, grouped by tier) and its setting locks (a setting held at a value for every rank
//! below a chosen one). The app checks every value and who may do what; a refused value comes
//! back in the form, next to its field, with the app's words.

use std::collections::BTreeMap;

use app::slicing::settings::find as find_setting;
use app::slicing::{SETTINGS, Setting, SettingKind, Tier};
use app::{AppError, ErrorCode};
use askama::Template;
use authz::Permission as P;
use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use domain::{PrinterModelId, RankId, SlicerProfile, SlicerProfileId};
use serde_json::Value;

use super::{Done, Page, back_to, checked_fields, framed, id_of};
use crate::WebState;
use crate::routes::{PlainRoutes, Requires};
use crate::ui::error::{UiError, render};
use crate::ui::jobs::Choice;
use crate::ui::pages::capitalized;
use crate::ui::session::InOrg;
use crate::ui::views::Layout;

pub(super) fn routes(routes: PlainRoutes) -> PlainRoutes {
    let profiles = Requires::Permission(P::SlicerManageProfiles);
    let locks = Requires::Permission(P::SlicerLockSettings);
    let base = "/orgs/{org_id}/manage/slicer-profiles";
    routes
        .get(profiles, base, profiles_page)
        .post(profiles, base, create_profile)
        .get(profiles, &format!("{base}/new"), new_profile)
        .get(profiles, &format!("{base}/{{profile_id}}"), profile_page)
        .post(profiles, &format!("{base}/{{profile_id}}"), update_profile)
        .post(profiles, &format!("{base}/{{profile_id}}/delete"), delete)
        .get(locks, "/orgs/{org_id}/manage/slicer-locks", locks_page)
        .post(locks, "/orgs/{org_id}/manage/slicer-locks", set_lock)
        .post(
            locks,
            "/orgs/{org_id}/manage/slicer-locks/{setting}/delete",
            remove_lock,
        )
}

/// The words for a tier, with the permission a member needs to change its settings.
fn tier_title(tier: Tier) -> String {
    let name = match tier {
        Tier::Basic => "Basic settings",
        Tier::Advanced => "Advanced settings",
        Tier::Expert => "Expert settings",
    };
    format!(
        "{name} (members change them with {})",
        tier.permission().key()
    )
}

/// What values a setting takes, in words.
fn bounds(kind: SettingKind) -> String {
    match kind {
        SettingKind::Float { min, max, unit } => format!("a number from {min} to {max} {unit}"),
        SettingKind::Int { min, max } => format!("a whole number from {min} to {max}"),
        SettingKind::Percent { min, max } => format!("a percentage from {min} to {max}"),
        SettingKind::Bool => "yes or no".into(),
        SettingKind::Choice(words) => format!("one of {}", words.join(", ")),
    }
}

/// A value typed into a form as the app takes it (the JSON type the setting declares). Text
/// that is not of that type is passed as text, for the app to refuse in its own words.
fn typed_value(kind: SettingKind, text: &str) -> Value {
    let text = text.trim();
    match kind {
        SettingKind::Float { .. } | SettingKind::Int { .. } | SettingKind::Percent { .. } => text
            .trim_end_matches('%')
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map_or_else(|| Value::String(text.to_string()), Value::Number),
        SettingKind::Bool => match text.to_ascii_lowercase().as_str() {
            "1" | "yes" | "true" | "on" => Value::Bool(true),
            "0" | "no" | "false" | "off" => Value::Bool(false),
            _ => Value::String(text.to_string()),
        },
        SettingKind::Choice(_) => Value::String(text.to_string()),
    }
}

/// A stored value as the form shows it: percentages without `%`.
fn shown(value: &str) -> String {
    value.trim_end_matches('%').to_string()
}

/// A refusal in the app's words, as a sentence.
fn sentence(text: &str) -> String {
    let text = capitalized(text.trim());
    if text.ends_with(['.', '!', '?']) {
        text
    } else {
        format!("{text}.")
    }
}

/// A refusal shown in its form: the field it concerns (empty: the whole form), the words and
/// the status. What the form cannot show (a missing permission, an internal failure) is
/// `Err`, for the error page.
struct InForm {
    field: String,
    message: String,
    status: StatusCode,
}

impl InForm {
    fn none() -> InForm {
        InForm {
            field: String::new(),
            message: String::new(),
            status: StatusCode::OK,
        }
    }

    fn at(field: impl Into<String>, error: &AppError, message: &str) -> InForm {
        InForm {
            field: field.into(),
            message: sentence(message),
            status: crate::error::status(error.code()),
        }
    }

    /// The words for `field`, empty when the refusal is about another.
    fn on(&self, field: &str) -> String {
        if self.field == field {
            self.message.clone()
        } else {
            String::new()
        }
    }
}

// ---- profiles ----

struct ProfileLine {
    id: i64,
    name: String,
    material: String,
    settings: usize,
    locked: usize,
    is_default: bool,
}

struct ModelProfiles {
    name: String,
    profiles: Vec<ProfileLine>,
}

#[derive(Template)]
#[template(path = "admin/slicer_profiles.html")]
struct ProfilesPage {
    layout: Layout,
    org_id: i64,
    models: Vec<ModelProfiles>,
    notice: &'static str,
}

/// The printer models as `(id, name)`, in the organization's order.
async fn printer_models(state: &WebState, member: &InOrg) -> Result<Vec<(i64, String)>, UiError> {
    let models = state.app.fleet().list_printer_models(&member.actor).await;
    Ok(models
        .map_err(framed(member))?
        .into_iter()
        .map(|m| (m.id.get(), m.name))
        .collect())
}

/// The default profile of each printer model: its first (the slicing use case's rule).
fn is_default(profile: &SlicerProfile, all: &[SlicerProfile]) -> bool {
    all.iter()
        .filter(|p| p.printer_model_id == profile.printer_model_id)
        .map(|p| p.id)
        .min()
        == Some(profile.id)
}

/// The organization's profiles, by printer model.
async fn profiles_page(
    State(state): State<WebState>,
    member: InOrg,
    Query(done): Query<Done>,
) -> Page {
    let all = state.app.slicing().list_profiles(&member.actor, None).await;
    let all = all.map_err(framed(&member))?;
    let models = printer_models(&state, &member)
        .await?
        .into_iter()
        .map(|(id, name)| ModelProfiles {
            name,
            profiles: all
                .iter()
                .filter(|p| p.printer_model_id.get() == id)
                .map(|p| ProfileLine {
                    id: p.id.get(),
                    name: p.name.clone(),
                    material: p.material.clone(),
                    settings: p.settings.len(),
                    locked: p.locked.len(),
                    is_default: is_default(p, &all),
                })
                .collect(),
        })
        .collect();
    let page = ProfilesPage {
        layout: Layout::in_org(&member, "Slicing profiles", "manage"),
        org_id: member.actor.org().get(),
        models,
        notice: match done.done.as_str() {
            "deleted" => "The slicing profile was deleted.",
            _ => "",
        },
    };
    Ok(render(StatusCode::OK, &page))
}

/// One setting's input on the profile form.
struct SettingInput {
    key: &'static str,
    title: &'static str,
    /// `number` or `select`.
    input: &'static str,
    min: String,
    max: String,
    step: &'static str,
    unit: &'static str,
    /// What was entered or stored; empty: not in the profile (PrusaSlicer's default applies).
    value: String,
    /// For a select: the choices, the first one "PrusaSlicer's default".
    choices: Vec<Choice>,
    default: String,
    locked: bool,
    problem: String,
}

struct TierInputs {
    title: String,
    settings: Vec<SettingInput>,
}

/// The choices of a select: PrusaSlicer's default (not in the profile), then each value.
fn select_choices(setting: &Setting, value: &str) -> Vec<Choice> {
    let values: Vec<(String, String)> = match setting.kind {
        SettingKind::Bool => vec![("1".into(), "Yes".into()), ("0".into(), "No".into())],
        SettingKind::Choice(words) => words
            .iter()
            .map(|w| ((*w).to_string(), (*w).to_string()))
            .collect(),
        _ => Vec::new(),
    };
    let mut choices = vec![Choice {
        value: String::new(),
        label: format!("PrusaSlicer's default ({})", default_words(setting)),
        selected: value.is_empty(),
    }];
    choices.extend(values.into_iter().map(|(v, label)| Choice {
        selected: v == value,
        value: v,
        label,
    }));
    choices
}

fn default_words(setting: &Setting) -> String {
    match setting.kind {
        SettingKind::Bool if setting.default == "1" => "yes".into(),
        SettingKind::Bool => "no".into(),
        _ => setting.default.to_string(),
    }
}

fn setting_input(
    setting: &'static Setting,
    entered: &ProfileEntered,
    problem: String,
) -> SettingInput {
    let value = entered
        .settings
        .get(setting.key)
        .cloned()
        .unwrap_or_default();
    let (input, min, max, step, unit) = match setting.kind {
        SettingKind::Float { min, max, unit } => {
            ("number", min.to_string(), max.to_string(), "any", unit)
        }
        SettingKind::Int { min, max } => ("number", min.to_string(), max.to_string(), "1", ""),
        SettingKind::Percent { min, max } => {
            ("number", min.to_string(), max.to_string(), "any", "%")
        }
        SettingKind::Bool | SettingKind::Choice(_) => {
            ("select", String::new(), String::new(), "", "")
        }
    };
    SettingInput {
        key: setting.key,
        title: setting.title,
        input,
        min,
        max,
        step,
        unit,
        choices: select_choices(setting, &value),
        default: shown(setting.default),
        locked: entered.locked.iter().any(|k| k == setting.key),
        value,
        problem,
    }
}

/// What the profile form holds: the stored profile, or what was entered.
#[derive(Default)]
struct ProfileEntered {
    name: String,
    printer_model: String,
    material: String,
    /// Setting key → the text entered (only those given).
    settings: BTreeMap<String, String>,
    locked: Vec<String>,
}

impl ProfileEntered {
    fn of(profile: &SlicerProfile) -> ProfileEntered {
        ProfileEntered {
            name: profile.name.clone(),
            printer_model: profile.printer_model_id.get().to_string(),
            material: profile.material.clone(),
            settings: profile
                .settings
                .iter()
                .map(|(k, v)| (k.clone(), shown(v)))
                .collect(),
            locked: profile.locked.clone(),
        }
    }

    /// The form's fields: `s.<key>` a setting's value (empty: not in the profile), `lock.<key>`
    /// ticked to lock it.
    fn read(fields: Vec<(String, String)>) -> ProfileEntered {
        let mut entered = ProfileEntered::default();
        for (name, value) in fields {
            match name.as_str() {
                "name" => entered.name = value,
                "printer_model" => entered.printer_model = value,
                "material" => entered.material = value,
                other => {
                    if let Some(key) = other.strip_prefix("s.") {
                        if !value.trim().is_empty() {
                            entered.settings.insert(key.to_string(), value);
                        }
                    } else if let Some(key) = other.strip_prefix("lock.") {
                        entered.locked.push(key.to_string());
                    }
                }
            }
        }
        entered
    }

    /// The settings as the app takes them, typed by the table (unknown keys as text, for the
    /// app to refuse).
    fn values(&self) -> BTreeMap<String, Value> {
        self.settings
            .iter()
            .map(|(key, text)| {
                let value = match find_setting(key) {
                    Some(setting) => typed_value(setting.kind, text),
                    None => Value::String(text.clone()),
                };
                (key.clone(), value)
            })
            .collect()
    }

    fn input(&self) -> Result<app::ProfileInput, InForm> {
        let model = self
            .printer_model
            .trim()
            .parse::<i64>()
            .map_err(|_| InForm {
                field: "printer_model".into(),
                message: "Choose the printer model of the profile.".into(),
                status: StatusCode::UNPROCESSABLE_ENTITY,
            })?;
        Ok(app::ProfileInput {
            name: self.name.clone(),
            printer_model_id: PrinterModelId(model),
            material: self.material.clone(),
            settings: self.values(),
            locked: self.locked.clone(),
        })
    }

    /// The setting the app's refusal of `settings` is about: the first (in the order the app
    /// checks them) that is unknown or whose value does not fit.
    fn refused_setting(&self) -> Option<String> {
        self.values().into_iter().find_map(|(key, value)| {
            let fits = find_setting(&key).is_some_and(|s| s.normalize(&value).is_ok());
            (!fits).then_some(key)
        })
    }

    /// Where the form shows an app refusal; `Err` for what only the error page can show.
    fn refusal(&self, error: AppError) -> Result<InForm, AppError> {
        let field = match &error {
            AppError::Invalid(invalid) => match invalid.field {
                "name" | "material" => invalid.field.to_string(),
                "settings" => self
                    .refused_setting()
                    .map_or_else(String::new, |key| format!("s.{key}")),
                _ => String::new(),
            },
            AppError::NotFound {
                what: "printer model",
            } => "printer_model".into(),
            other if other.code() == ErrorCode::NameTaken => "name".into(),
            _ => return Err(error),
        };
        let message = match &error {
            AppError::Invalid(invalid) if invalid.field == "settings" => invalid.message.clone(),
            AppError::Invalid(invalid) => format!("{}: {}", invalid.field, invalid.message),
            other => other.to_string(),
        };
        Ok(InForm::at(field, &error, &message))
    }
}

#[derive(Template)]
#[template(path = "admin/slicer_profile.html")]
struct ProfilePage {
    layout: Layout,
    org_id: i64,
    /// 0: a profile to create.
    id: i64,
    name: String,
    material: String,
    models: Vec<Choice>,
    tiers: Vec<TierInputs>,
    is_default: bool,
    name_problem: String,
    model_problem: String,
    material_problem: String,
    /// A refusal about the whole form.
    problem: String,
    notice: &'static str,
}

async fn profile_form(
    state: &WebState,
    member: &InOrg,
    id: Option<SlicerProfileId>,
    entered: &ProfileEntered,
    refused: &InForm,
) -> Result<ProfilePage, UiError> {
    let models = printer_models(state, member).await?;
    let is_default = match id {
        Some(id) => {
            let all = state.app.slicing().list_profiles(&member.actor, None).await;
            let all = all.map_err(framed(member))?;
            all.iter().any(|p| p.id == id && is_default(p, &all))
        }
        None => false,
    };
    let tiers = [Tier::Basic, Tier::Advanced, Tier::Expert]
        .into_iter()
        .map(|tier| TierInputs {
            title: tier_title(tier),
            settings: SETTINGS
                .iter()
                .filter(|s| s.tier == tier)
                .map(|s| setting_input(s, entered, refused.on(&format!("s.{}", s.key))))
                .collect(),
        })
        .collect();
    let whole = ["name", "printer_model", "material"].contains(&refused.field.as_str())
        || refused.field.starts_with("s.");
    Ok(ProfilePage {
        layout: Layout::in_org(
            member,
            if id.is_some() {
                entered.name.as_str()
            } else {
                "New slicing profile"
            },
            "manage",
        ),
        org_id: member.actor.org().get(),
        id: id.map_or(0, SlicerProfileId::get),
        name: entered.name.clone(),
        material: entered.material.clone(),
        models: models
            .into_iter()
            .map(|(value, label)| Choice {
                selected: value.to_string() == entered.printer_model,
                value: value.to_string(),
                label,
            })
            .collect(),
        tiers,
        is_default,
        name_problem: refused.on("name"),
        model_problem: refused.on("printer_model"),
        material_problem: refused.on("material"),
        problem: if whole {
            String::new()
        } else {
            refused.message.clone()
        },
        notice: "",
    })
}

/// The form of a new profile.
async fn new_profile(State(state): State<WebState>, member: InOrg) -> Page {
    let page = profile_form(
        &state,
        &member,
        None,
        &ProfileEntered::default(),
        &InForm::none(),
    )
    .await?;
    Ok(render(StatusCode::OK, &page))
}

fn profile_in_path(segment: &str) -> Result<SlicerProfileId, UiError> {
    Ok(SlicerProfileId(id_of(segment)?))
}

/// A profile's form, with its settings.
async fn profile_page(
    State(state): State<WebState>,
    member: InOrg,
    Path((_, profile_id)): Path<(String, String)>,
    Query(done): Query<Done>,
) -> Page {
    let id = profile_in_path(&profile_id)?;
    let profile = state.app.slicing().get_profile(&member.actor, id).await;
    let profile = profile.map_err(framed(&member))?;
    let entered = ProfileEntered::of(&profile);
    let mut page = profile_form(&state, &member, Some(id), &entered, &InForm::none()).await?;
    page.notice = match done.done.as_str() {
        "created" => "The slicing profile was created.",
        "saved" => "The slicing profile was saved.",
        _ => "",
    };
    Ok(render(StatusCode::OK, &page))
}

/// Creates (`id` none) or saves a profile; a refused value comes back in the form.
async fn save_profile(
    state: &WebState,
    member: &InOrg,
    id: Option<SlicerProfileId>,
    request: Request,
) -> Page {
    let fields = checked_fields(&member.viewer, request).await?;
    let entered = ProfileEntered::read(fields);
    let slicing = state.app.slicing();
    let refused = match entered.input() {
        Err(refused) => refused,
        Ok(input) => {
            let saved = match id {
                Some(id) => slicing.update_profile(&member.actor, id, input).await,
                None => slicing.create_profile(&member.actor, input).await,
            };
            match saved {
                Ok(profile) => {
                    let done = if id.is_some() { "saved" } else { "created" };
                    let path = format!("slicer-profiles/{}", profile.id.get());
                    return Ok(back_to(member, &path, done));
                }
                Err(error) => entered.refusal(error).map_err(framed(member))?,
            }
        }
    };
    let page = profile_form(state, member, id, &entered, &refused).await?;
    Ok(render(refused.status, &page))
}

async fn create_profile(State(state): State<WebState>, member: InOrg, request: Request) -> Page {
    save_profile(&state, &member, None, request).await
}

async fn update_profile(
    State(state): State<WebState>,
    member: InOrg,
    Path((_, profile_id)): Path<(String, String)>,
    request: Request,
) -> Page {
    let id = profile_in_path(&profile_id)?;
    save_profile(&state, &member, Some(id), request).await
}

async fn delete(
    State(state): State<WebState>,
    member: InOrg,
    Path((_, profile_id)): Path<(String, String)>,
    request: Request,
) -> Page {
    let _ = checked_fields(&member.viewer, request).await?;
    let id = profile_in_path(&profile_id)?;
    let deleted = state.app.slicing().delete_profile(&member.actor, id).await;
    deleted.map_err(framed(&member))?;
    Ok(back_to(&member, "slicer-profiles", "deleted"))
}

// ---- locks ----

struct LockLine {
    key: &'static str,
    title: &'static str,
    value: String,
    below_rank: String,
}

/// A setting of the table, with what values it takes.
struct CatalogLine {
    key: &'static str,
    title: &'static str,
    bounds: String,
}

struct CatalogTier {
    title: String,
    settings: Vec<CatalogLine>,
}

#[derive(Template)]
#[template(path = "admin/slicer_locks.html")]
struct LocksPage {
    layout: Layout,
    org_id: i64,
    locks: Vec<LockLine>,
    catalog: Vec<CatalogTier>,
    ranks: Vec<Choice>,
    /// The setting and value entered, shown again after a refusal.
    setting: String,
    value: String,
    setting_problem: String,
    value_problem: String,
    rank_problem: String,
    problem: String,
    notice: &'static str,
}

/// What the lock form holds.
#[derive(Default)]
struct LockEntered {
    setting: String,
    value: String,
    below_rank: String,
}

/// The ranks the member may lock settings below: their own and the junior ones (owners: any),
/// most senior first.
fn lockable_ranks(member: &InOrg, chosen: &str) -> Vec<Choice> {
    let me = member.actor.seniority();
    let mut ranks: Vec<&authz::Rank> = member
        .actor
        .policy
        .org()
        .ranks
        .iter()
        .filter(|r| me.is_owner || (!r.is_owner && r.position >= me.position))
        .collect();
    ranks.sort_by_key(|r| (!r.is_owner, r.position));
    ranks
        .into_iter()
        .map(|r| Choice {
            value: r.id.get().to_string(),
            label: r.name.clone(),
            selected: r.id.get().to_string() == chosen,
        })
        .collect()
}

async fn locks_form(
    state: &WebState,
    member: &InOrg,
    entered: &LockEntered,
    refused: &InForm,
) -> Result<LocksPage, UiError> {
    let locks = state.app.slicing().list_locks(&member.actor).await;
    let locks = locks.map_err(framed(member))?;
    let catalog = [Tier::Basic, Tier::Advanced, Tier::Expert]
        .into_iter()
        .map(|tier| CatalogTier {
            title: tier_title(tier),
            settings: SETTINGS
                .iter()
                .filter(|s| s.tier == tier)
                .map(|s| CatalogLine {
                    key: s.key,
                    title: s.title,
                    bounds: bounds(s.kind),
                })
                .collect(),
        })
        .collect();
    let whole = !["setting", "value", "below_rank"].contains(&refused.field.as_str());
    Ok(LocksPage {
        layout: Layout::in_org(member, "Slicer setting locks", "manage"),
        org_id: member.actor.org().get(),
        locks: locks
            .into_iter()
            .map(|l| LockLine {
                key: l.setting.key,
                title: l.setting.title,
                value: l.lock.value,
                below_rank: l.below_rank,
            })
            .collect(),
        catalog,
        ranks: lockable_ranks(member, &entered.below_rank),
        setting: entered.setting.trim().to_string(),
        value: entered.value.clone(),
        setting_problem: refused.on("setting"),
        value_problem: refused.on("value"),
        rank_problem: refused.on("below_rank"),
        problem: if whole {
            refused.message.clone()
        } else {
            String::new()
        },
        notice: "",
    })
}

/// The organization's locks, and the form to lock a setting.
async fn locks_page(
    State(state): State<WebState>,
    member: InOrg,
    Query(done): Query<Done>,
) -> Page {
    let mut page = locks_form(&state, &member, &LockEntered::default(), &InForm::none()).await?;
    page.notice = match done.done.as_str() {
        "locked" => "The setting is locked.",
        "removed" => "The lock was removed.",
        _ => "",
    };
    Ok(render(StatusCode::OK, &page))
}

/// Where the lock form shows an app refusal; `Err` for what only the error page can show.
fn lock_refusal(error: AppError) -> Result<InForm, AppError> {
    let field = match &error {
        AppError::Invalid(invalid) if ["setting", "value"].contains(&invalid.field) => {
            invalid.field
        }
        AppError::NotFound { what: "rank" } => "below_rank",
        other if other.code() == ErrorCode::InsufficientSeniority => "below_rank",
        _ => return Err(error),
    };
    let message = match &error {
        AppError::Invalid(invalid) => invalid.message.clone(),
        other => other.to_string(),
    };
    Ok(InForm::at(field, &error, &message))
}

async fn set_lock(State(state): State<WebState>, member: InOrg, request: Request) -> Page {
    let fields = checked_fields(&member.viewer, request).await?;
    let mut entered = LockEntered::default();
    for (name, value) in fields {
        match name.as_str() {
            "setting" => entered.setting = value,
            "value" => entered.value = value,
            "below_rank" => entered.below_rank = value,
            _ => {}
        }
    }
    let value = match find_setting(entered.setting.trim()) {
        Some(setting) => typed_value(setting.kind, &entered.value),
        None => Value::String(entered.value.clone()),
    };
    let refused = match entered.below_rank.trim().parse::<i64>() {
        Err(_) => InForm {
            field: "below_rank".into(),
            message: "Choose the rank below which the lock applies.".into(),
            status: StatusCode::UNPROCESSABLE_ENTITY,
        },
        Ok(rank) => {
            let locked = state
                .app
                .slicing()
                .set_lock(&member.actor, entered.setting.trim(), &value, RankId(rank))
                .await;
            match locked {
                Ok(_) => return Ok(back_to(&member, "slicer-locks", "locked")),
                Err(error) => lock_refusal(error).map_err(framed(&member))?,
            }
        }
    };
    let page = locks_form(&state, &member, &entered, &refused).await?;
    Ok(render(refused.status, &page))
}

async fn remove_lock(
    State(state): State<WebState>,
    member: InOrg,
    Path((_, setting)): Path<(String, String)>,
    request: Request,
) -> Page {
    let _ = checked_fields(&member.viewer, request).await?;
    let removed = state
        .app
        .slicing()
        .remove_lock(&member.actor, &setting)
        .await;
    removed.map_err(framed(&member))?;
    Ok(back_to(&member, "slicer-locks", "removed"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_text_is_typed_as_the_setting_declares() {
        let int = SettingKind::Int { min: 0, max: 10 };
        assert_eq!(typed_value(int, " 3 "), serde_json::json!(3.0));
        assert_eq!(typed_value(int, "three"), serde_json::json!("three"));
        let percent = SettingKind::Percent {
            min: 0.0,
            max: 100.0,
        };
        assert_eq!(typed_value(percent, "15%"), serde_json::json!(15.0));
        assert_eq!(typed_value(SettingKind::Bool, "Yes"), Value::Bool(true));
        assert_eq!(typed_value(SettingKind::Bool, "0"), Value::Bool(false));
        assert_eq!(
            typed_value(SettingKind::Bool, "maybe"),
            serde_json::json!("maybe")
        );
    }

    #[test]
    fn a_refused_setting_is_found_in_the_order_the_app_checks() {
        let entered = ProfileEntered {
            settings: [
                ("perimeters".to_string(), "3".to_string()),
                ("layer_height".to_string(), "5".to_string()),
                ("fill_density".to_string(), "200".to_string()),
            ]
            .into_iter()
            .collect(),
            ..ProfileEntered::default()
        };
        assert_eq!(entered.refused_setting().as_deref(), Some("fill_density"));
    }
}
