//! Slicing on the server: a member asks for a model of the library to be sliced for a printer
//! model, with an organization profile and the settings their rank may touch; the slice waits
//! in the slicing pool, PrusaSlicer runs on it in a subprocess (time and memory limits, no
//! network), and the G-code lands in the member's library with its analysis and a record of
//! the model and settings that made it.
//!
//! Who may change what is decided here, whatever the client shows: each setting has a tier
//! (basic, advanced, expert) that needs `slicer.use`, `slicer.advanced_tab` or
//! `slicer.expert_tab`; a profile may lock settings, and the organization may lock a setting
//! to a value for the ranks below a chosen one (then `slicer.override_locks` is needed);
//! another profile than the printer model's default needs `slicer.change_profile`; copies,
//! scale, rotation and auto-rotation need `slicer.arrange`, `slicer.scale`, `slicer.rotate` and
//! `slicer.auto_rotate`.

mod locks;
mod pool;
mod profiles;
pub(crate) mod runner;
pub mod settings;

use std::collections::BTreeMap;

use authz::Permission;
use domain::{
    FileId, Invalid, Placement, PrinterModel, PrinterModelId, Slice, SliceId, SliceState,
    SlicerProfile, SlicerProfileId,
};
use serde_json::{Value, json};

use crate::App;
use crate::actor::OrgActor;
use crate::error::{AppError, AppResult, ErrorCode};
use crate::unit_of_work::{Audit, Changes, Found};

pub use locks::LockView;
pub use pool::{Phase as SlicingPhase, Pool};
pub use profiles::ProfileInput;
pub use runner::SlicerSettings;
pub use settings::{Kind as SettingKind, SETTINGS, Setting, Tier};

/// Most copies of a model in one slice.
pub const MAX_COPIES: u32 = 50;
/// Scale bounds, percent.
pub const MIN_SCALE_PERCENT: f64 = 1.0;
pub const MAX_SCALE_PERCENT: f64 = 1000.0;

/// The use cases of slicing.
#[derive(Clone, Copy)]
pub struct Slicing<'a> {
    pub(crate) app: &'a App,
}

impl App {
    pub fn slicing(&self) -> Slicing<'_> {
        Slicing { app: self }
    }
}

/// A slice to start.
#[derive(Debug, Clone)]
pub struct StartSlice {
    pub file_id: FileId,
    pub printer_model_id: PrinterModelId,
    /// `None`: the printer model's default profile (the organization's first for it), if any.
    pub profile_id: Option<SlicerProfileId>,
    /// PrusaSlicer option key → value (numbers, booleans, words).
    pub settings: BTreeMap<String, Value>,
    pub placement: Placement,
}

/// A setting as the caller sees it: its definition, the value it has now (an organization
/// lock's, the profile's or PrusaSlicer's default) and whether it is locked for them.
#[derive(Debug, Clone)]
pub struct SettingView {
    pub setting: &'static Setting,
    pub value: String,
    pub locked: bool,
}

/// A setting the organization locks for the caller's rank.
#[derive(Debug, Clone)]
pub struct LockedForYou {
    pub setting: &'static Setting,
    pub value: String,
    pub below_rank_id: domain::RankId,
    pub below_rank: String,
    /// The caller holds `slicer.override_locks`: the value is their default, not a lock.
    pub overridable: bool,
}

/// What the caller may change when slicing for a printer model.
#[derive(Debug, Clone)]
pub struct SettingsView {
    pub printer_model_id: PrinterModelId,
    /// The profile the values come from (the model's default unless one was named).
    pub profile: Option<SlicerProfile>,
    pub settings: Vec<SettingView>,
    /// The organization's locks that bind the caller, whatever their tiers.
    pub locks: Vec<LockedForYou>,
}

fn slice_summary(slice: &Slice) -> Value {
    json!({
        "model_file_id": slice.model_file_id, "model_name": slice.model_name,
        "printer_model_id": slice.printer_model_id, "profile_id": slice.profile_id,
        "requested": slice.requested, "placement": slice.placement, "state": slice.state.key(),
    })
}

impl Slicing<'_> {
    /// Queues a slice of a model the actor may see.
    pub async fn start(&self, actor: &OrgActor, input: StartSlice) -> AppResult<Slice> {
        actor.require(Permission::SlicerUse)?;
        check_placement(&input.placement)?;
        let mut uow = self.app.begin(actor, Changes::Data).await?;
        let actor = uow.actor().clone();
        actor.require(Permission::SlicerUse)?;
        let viewer = crate::files::Viewer::of(uow.conn(), &actor).await?;
        let (file, _) =
            crate::files::reachable_file(uow.conn(), &viewer, actor.org(), input.file_id).await?;
        let Some(facts) = file.model.clone().filter(|_| file.kind.is_model()) else {
            return Err(AppError::Invalid(Invalid::new(
                "file_id",
                "is G-code, not a model: only models (STL, 3MF, OBJ) are sliced",
            )));
        };
        let model = store::get_printer_model(uow.conn(), actor.org(), input.printer_model_id)
            .await
            .found("printer model")?;
        let profile = chosen_profile(uow.conn(), &actor, &model, input.profile_id).await?;
        let bindings = locks::binding(
            &actor,
            store::list_slicer_locks(uow.conn(), actor.org()).await?,
        );
        let base = base_settings(&model, profile.as_ref(), &bindings);
        let requested =
            requested_settings(&actor, &base, profile.as_ref(), &bindings, &input.settings)?;
        require_placement(&actor, &input.placement)?;
        if input.placement.auto_rotate {
            if file.kind == domain::FileKind::ThreeMf {
                return Err(AppError::Invalid(Invalid::new(
                    "auto_rotate",
                    "works on STL and OBJ models: a 3MF package places its objects itself",
                )));
            }
            // The size as turned is known when the pool slices it (which checks the fit then).
        } else {
            check_fit(&facts.size_mm, &input.placement, &model)?;
        }
        let mut settings = base;
        settings.extend(requested.clone());
        let new = store::NewSlice {
            owner: actor.member_id(),
            model_file_id: file.id,
            model_name: &file.name,
            model_sha256: file.sha256.as_str(),
            model_kind: file.kind.key(),
            printer_model_id: model.id,
            profile_id: profile.as_ref().map(|p| p.id),
            settings: &settings,
            requested: &requested,
            placement: &input.placement,
        };
        let now = uow.now();
        let id = store::insert_slice(uow.conn(), actor.org(), &new, now).await?;
        let slice = store::get_slice(uow.conn(), actor.org(), id)
            .await
            .found("slice")?;
        uow.audit(Audit::of("slice.start", "slice", id).after(slice_summary(&slice)));
        uow.commit().await?;
        self.app.wake_slicer();
        Ok(slice)
    }

    /// A slice the actor may see: their own, or any with `files.view.all`.
    pub async fn get(&self, actor: &OrgActor, file: FileId, id: SliceId) -> AppResult<Slice> {
        actor.require(Permission::SlicerUse)?;
        let mut conn = self.app.store().read().await?;
        let slice = store::get_slice(&mut conn, actor.org(), id)
            .await
            .found("slice")?;
        visible(actor, file, slice)
    }

    /// Cancels a slice that is queued or slicing (PrusaSlicer is killed): the actor's own, or
    /// any with `files.manage.all`.
    pub async fn cancel(&self, actor: &OrgActor, file: FileId, id: SliceId) -> AppResult<Slice> {
        let mut uow = self.app.begin(actor, Changes::Data).await?;
        let actor = uow.actor().clone();
        actor.require(Permission::SlicerUse)?;
        let slice = store::get_slice(uow.conn(), actor.org(), id)
            .await
            .found("slice")?;
        let slice = visible(&actor, file, slice)?;
        if slice.owner_member_id != actor.member_id() {
            actor.require(Permission::FilesManageAll)?;
        }
        if slice.state.is_final() {
            return Err(AppError::conflict(
                ErrorCode::SliceFinished,
                format!(
                    "the slice is {} already; only a queued or slicing slice can be cancelled",
                    slice.state.key()
                ),
            ));
        }
        let now = uow.now();
        let message = "cancelled".to_string();
        let changed = store::finish_slice(
            uow.conn(),
            id,
            slice.state,
            SliceState::Cancelled,
            Some(&message),
            None,
            now,
        )
        .await?;
        if !changed {
            // The pool moved it on meanwhile (it started or ended): refuse with what it is now.
            return Err(AppError::conflict(
                ErrorCode::SliceFinished,
                "the slice changed state meanwhile; look at it again",
            ));
        }
        uow.audit(
            Audit::of("slice.cancel", "slice", id)
                .before(json!({ "state": slice.state.key() }))
                .after(json!({ "state": "cancelled" })),
        );
        uow.commit().await?;
        self.app.slicer_pool().cancel(id);
        let mut conn = self.app.store().read().await?;
        store::get_slice(&mut conn, actor.org(), id)
            .await
            .found("slice")
    }

    /// The settings the actor may change when slicing for `printer_model_id` (with `profile_id`,
    /// or the model's default profile), with their tier, type, bounds and current value.
    pub async fn settings(
        &self,
        actor: &OrgActor,
        printer_model_id: PrinterModelId,
        profile_id: Option<SlicerProfileId>,
    ) -> AppResult<SettingsView> {
        actor.require(Permission::SlicerUse)?;
        let mut conn = self.app.store().read().await?;
        let model = store::get_printer_model(&mut conn, actor.org(), printer_model_id)
            .await
            .found("printer model")?;
        let profile = chosen_profile(&mut conn, actor, &model, profile_id).await?;
        let bindings = locks::binding(
            actor,
            store::list_slicer_locks(&mut conn, actor.org()).await?,
        );
        let base = base_settings(&model, profile.as_ref(), &bindings);
        let settings = SETTINGS
            .iter()
            .filter(|s| actor.holds(s.tier.permission()))
            .map(|s| SettingView {
                setting: s,
                value: base
                    .get(s.key)
                    .cloned()
                    .unwrap_or_else(|| s.default.to_string()),
                locked: lock_on(actor, profile.as_ref(), &bindings, s.key).is_some(),
            })
            .collect();
        let overridable = actor.holds(Permission::SlicerOverrideLocks);
        let locks = bindings
            .into_iter()
            .filter_map(|b| {
                Some(LockedForYou {
                    setting: settings::find(&b.setting)?,
                    value: b.value,
                    below_rank_id: b.below_rank_id,
                    below_rank: b.below_rank,
                    overridable,
                })
            })
            .collect();
        Ok(SettingsView {
            printer_model_id,
            profile,
            settings,
            locks,
        })
    }
}

/// A slice of `file` the actor may see ("not found" otherwise).
fn visible(actor: &OrgActor, file: FileId, slice: Slice) -> AppResult<Slice> {
    if slice.model_file_id != file {
        return Err(AppError::not_found("slice"));
    }
    if slice.owner_member_id == actor.member_id()
        || actor.holds(Permission::FilesViewAll)
        || actor.holds(Permission::FilesManageAll)
    {
        Ok(slice)
    } else {
        Err(AppError::not_found("slice"))
    }
}

fn check_placement(placement: &Placement) -> AppResult<()> {
    if !(1..=MAX_COPIES).contains(&placement.copies) {
        return Err(AppError::Invalid(Invalid::new(
            "copies",
            "must be from 1 to 50",
        )));
    }
    let scale = placement.scale_percent;
    if !(scale.is_finite() && (MIN_SCALE_PERCENT..=MAX_SCALE_PERCENT).contains(&scale)) {
        return Err(AppError::Invalid(Invalid::new(
            "scale_percent",
            "must be from 1 to 1000",
        )));
    }
    let rotate = placement.rotate_z_deg;
    if !(rotate.is_finite() && (-360.0..=360.0).contains(&rotate)) {
        return Err(AppError::Invalid(Invalid::new(
            "rotate_z_deg",
            "must be from -360 to 360",
        )));
    }
    Ok(())
}

fn require_placement(actor: &OrgActor, placement: &Placement) -> AppResult<()> {
    if placement.copies > 1 {
        actor.require(Permission::SlicerArrange)?;
    }
    if placement.scale_percent != 100.0 {
        actor.require(Permission::SlicerScale)?;
    }
    if placement.rotate_z_deg != 0.0 {
        actor.require(Permission::SlicerRotate)?;
    }
    if placement.auto_rotate {
        actor.require(Permission::SlicerAutoRotate)?;
    }
    Ok(())
}

/// The profile a slice uses: the one named (the model's default, or another with
/// `slicer.change_profile`), else the model's default, else none.
async fn chosen_profile(
    conn: &mut store::Conn,
    actor: &OrgActor,
    model: &PrinterModel,
    named: Option<SlicerProfileId>,
) -> AppResult<Option<SlicerProfile>> {
    let default = store::list_slicer_profiles(conn, actor.org(), Some(model.id))
        .await?
        .into_iter()
        .min_by_key(|p| p.id);
    let Some(id) = named else {
        return Ok(default);
    };
    let profile = store::get_slicer_profile(conn, actor.org(), id)
        .await
        .found("slicing profile")?;
    if profile.printer_model_id != model.id {
        // Not one of this printer model's profiles: as if it did not exist.
        return Err(AppError::not_found("slicing profile of that printer model"));
    }
    if default.as_ref().map(|d| d.id) != Some(profile.id) {
        actor.require(Permission::SlicerChangeProfile)?;
    }
    Ok(Some(profile))
}

/// The table's defaults, what Farmhand sets itself from the printer model (bed, height,
/// nozzle: the same the job checks and the estimator use), then the profile's settings, then
/// the values of the organization's locks that bind the member.
fn base_settings(
    model: &PrinterModel,
    profile: Option<&SlicerProfile>,
    bindings: &[locks::Binding],
) -> BTreeMap<String, String> {
    // Every setting of the table at its default, so that a slice's record names each value
    // that made it, whatever PrusaSlicer version runs it.
    let mut out: BTreeMap<String, String> = SETTINGS
        .iter()
        .map(|s| (s.key.to_string(), s.default.to_string()))
        .collect();
    let [x, y, z] = model.build_volume_mm;
    if x > 0.0 && y > 0.0 {
        out.insert(
            "bed_shape".into(),
            format!("0x0,{x}x0,{x}x{y},0x{y}", x = number(x), y = number(y)),
        );
    }
    if z > 0.0 {
        out.insert("max_print_height".into(), number(z));
    }
    if model.nozzle_diameter_mm > 0.0 {
        out.insert("nozzle_diameter".into(), number(model.nozzle_diameter_mm));
    }
    // Marlin-style G-code that the estimator and the printers read; one thread per slice
    // (the pool's size is the parallelism); the printer model's name in the file.
    out.insert("gcode_flavor".into(), "marlin2".into());
    out.insert("threads".into(), "1".into());
    out.insert("printer_model".into(), printer_model_word(&model.name));
    if let Some(profile) = profile {
        out.extend(profile.settings.clone());
        if !profile.material.is_empty() {
            out.insert("filament_type".into(), profile.material.clone());
        }
    }
    for lock in bindings {
        out.insert(lock.setting.clone(), lock.value.clone());
    }
    out
}

/// A printer model's name as a PrusaSlicer option value: one line, plain characters.
fn printer_model_word(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_ascii_alphanumeric() || " -_.".contains(*c))
        .take(100)
        .collect()
}

fn number(v: f64) -> String {
    let text = format!("{v:.4}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Why `key` is locked for the actor (an organization lock on their rank, or the profile's),
/// `None` when it is not (or they hold `slicer.override_locks`).
fn lock_on(
    actor: &OrgActor,
    profile: Option<&SlicerProfile>,
    bindings: &[locks::Binding],
    key: &str,
) -> Option<String> {
    if actor.holds(Permission::SlicerOverrideLocks) {
        return None;
    }
    if let Some(lock) = bindings.iter().find(|b| b.setting == key) {
        return Some(lock.reason());
    }
    profile
        .filter(|p| p.locked.iter().any(|k| k == key))
        .map(|p| format!("the profile {:?} locks it", p.name))
}

/// The settings the request changes, checked: known keys (422 otherwise), the tier and lock
/// permissions for each one that differs from its value now (403 naming the setting and the
/// permission), values in bounds (422).
fn requested_settings(
    actor: &OrgActor,
    base: &BTreeMap<String, String>,
    profile: Option<&SlicerProfile>,
    bindings: &[locks::Binding],
    asked: &BTreeMap<String, Value>,
) -> AppResult<BTreeMap<String, String>> {
    let mut specs = Vec::with_capacity(asked.len());
    for (key, value) in asked {
        let Some(spec) = settings::find(key) else {
            return Err(AppError::Invalid(Invalid::new(
                "settings",
                format!(
                    "{:?} is not a PrusaSlicer setting members may change (GET …/slicer/settings lists them)",
                    key.chars().take(60).collect::<String>()
                ),
            )));
        };
        specs.push((spec, value));
    }
    let mut out = BTreeMap::new();
    for (spec, value) in specs {
        let now = base
            .get(spec.key)
            .cloned()
            .unwrap_or_else(|| spec.default.to_string());
        let normalized = spec.normalize(value);
        if normalized.as_deref() == Ok(now.as_str()) {
            // Not a change: the value it has anyway.
            continue;
        }
        let needed = spec.tier.permission();
        if !actor.holds(needed) {
            return Err(setting_denied(actor, spec.key, needed, None));
        }
        if let Some(reason) = lock_on(actor, profile, bindings, spec.key) {
            return Err(setting_denied(
                actor,
                spec.key,
                Permission::SlicerOverrideLocks,
                Some(reason),
            ));
        }
        let normalized = normalized.map_err(|why| {
            AppError::Invalid(Invalid::new("settings", format!("{:?} {why}", spec.key)))
        })?;
        out.insert(spec.key.to_string(), normalized);
    }
    Ok(out)
}

fn setting_denied(
    actor: &OrgActor,
    setting: &str,
    permission: Permission,
    locked: Option<String>,
) -> AppError {
    let ask = match actor.require(permission) {
        Err(AppError::PermissionDenied { ask, .. }) => ask,
        _ => Vec::new(),
    };
    AppError::SettingDenied {
        setting: setting.to_string(),
        permission,
        locked,
        ask,
    }
}

/// Refuses a model that, as placed, is larger than the printer model's build volume.
fn check_fit(size: &[f64; 3], placement: &Placement, model: &PrinterModel) -> AppResult<()> {
    let volume = model.build_volume_mm;
    if !volume.iter().all(|v| *v > 0.0) {
        return Ok(());
    }
    let scale = placement.scale_percent / 100.0;
    let (w, d, h) = (size[0] * scale, size[1] * scale, size[2] * scale);
    let angle = placement.rotate_z_deg.to_radians();
    let (sin, cos) = (angle.sin().abs(), angle.cos().abs());
    let (w2, d2) = (w * cos + d * sin, w * sin + d * cos);
    // A hundredth of a millimetre of slack for rounding.
    if w2 > volume[0] + 0.01 || d2 > volume[1] + 0.01 || h > volume[2] + 0.01 {
        return Err(AppError::conflict(
            ErrorCode::DoesNotFit,
            format!(
                "the model is {w2:.1} × {d2:.1} × {h:.1} mm as placed, larger than the {:.0} × {:.0} × {:.0} mm build volume of {}",
                volume[0], volume[1], volume[2], model.name
            ),
        ));
    }
    Ok(())
}

/// Whether a model of `size` fits some printer the actor may queue on (those of no declared
/// model or volume take anything). A member who may queue nowhere is not refused here.
pub(crate) fn fits_some_printer(
    actor: &OrgActor,
    models: &[PrinterModel],
    size: &[f64; 3],
) -> Result<(), String> {
    let mut volumes = Vec::new();
    for printer in &actor.policy.org().printers {
        if actor
            .require_on_printer(Permission::QueueSubmit, printer.id)
            .is_err()
        {
            continue;
        }
        let Some(model) = printer
            .model
            .and_then(|id| models.iter().find(|m| m.id == id))
        else {
            return Ok(());
        };
        let v = model.build_volume_mm;
        if !v.iter().all(|x| *x > 0.0) {
            return Ok(());
        }
        let flat = size[2] <= v[2] + 0.01;
        let straight = size[0] <= v[0] + 0.01 && size[1] <= v[1] + 0.01;
        let turned = size[1] <= v[0] + 0.01 && size[0] <= v[1] + 0.01;
        if flat && (straight || turned) {
            return Ok(());
        }
        volumes.push(format!(
            "{:.0} × {:.0} × {:.0} mm ({})",
            v[0], v[1], v[2], model.name
        ));
    }
    if volumes.is_empty() {
        return Ok(());
    }
    volumes.sort();
    volumes.dedup();
    Err(format!(
        "the model is {:.1} × {:.1} × {:.1} mm, larger than every printer you may use: {}",
        size[0],
        size[1],
        size[2],
        volumes.join(", ")
    ))
}

/// The file a slice's G-code is named: the model's name with `.gcode` for its extension.
pub(crate) fn gcode_name_of(name: &str) -> String {
    let stem = match name.rsplit_once('.') {
        Some((stem, _)) if !stem.is_empty() => stem,
        _ => name,
    };
    let stem: String = stem.chars().take(190).collect();
    format!("{stem}.gcode")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(volume: [f64; 3]) -> PrinterModel {
        PrinterModel {
            id: PrinterModelId(1),
            name: "Mini".into(),
            description: String::new(),
            build_volume_mm: volume,
            nozzle_diameter_mm: 0.4,
            materials: vec![],
            motion: json!({}),
            hourly_rate_minor: 0,
            created_at: domain::Timestamp::from_micros(0),
        }
    }

    #[test]
    fn fit_counts_scale_and_rotation() {
        let mini = model([180.0, 180.0, 180.0]);
        let p = Placement::default();
        assert!(check_fit(&[170.0, 20.0, 20.0], &p, &mini).is_ok());
        let big = Placement {
            scale_percent: 200.0,
            ..Placement::default()
        };
        let refusal = check_fit(&[170.0, 20.0, 20.0], &big, &mini).unwrap_err();
        assert_eq!(refusal.code(), ErrorCode::DoesNotFit);
        assert!(
            refusal.to_string().contains("340.0 × 40.0 × 40.0"),
            "{refusal}"
        );
        assert!(refusal.to_string().contains("180 × 180 × 180"), "{refusal}");
        let turned = Placement {
            rotate_z_deg: 45.0,
            ..Placement::default()
        };
        assert!(check_fit(&[170.0, 170.0, 20.0], &turned, &mini).is_err());
        assert!(check_fit(&[500.0; 3], &p, &model([0.0; 3])).is_ok());
    }

    #[test]
    fn base_settings_come_from_the_printer_model() {
        let base = base_settings(&model([250.0, 210.0, 220.0]), None, &[]);
        assert_eq!(base["bed_shape"], "0x0,250x0,250x210,0x210");
        assert_eq!(base["max_print_height"], "220");
        assert_eq!(base["nozzle_diameter"], "0.4");
    }

    #[test]
    fn gcode_names() {
        assert_eq!(gcode_name_of("cube.stl"), "cube.gcode");
        assert_eq!(gcode_name_of("a.b.3mf"), "a.b.gcode");
        assert_eq!(gcode_name_of("noext"), "noext.gcode");
    }
}
