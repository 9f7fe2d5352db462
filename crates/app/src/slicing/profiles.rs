//! The organization's slicing profiles: PrusaSlicer settings (from the same table members'
//! settings come from, so a profile can never carry an option like `post_process`) for one
//! printer model and optionally one material, some of them locked.

use std::collections::BTreeMap;

use authz::Permission;
use domain::{Invalid, PrinterModelId, SlicerProfile, SlicerProfileId};
use serde_json::{Value, json};

use super::{Slicing, settings};
use crate::actor::OrgActor;
use crate::error::{AppError, AppResult, ErrorCode};
use crate::unit_of_work::{Audit, Changes, Found};

/// Longest material name, characters.
pub const MAX_MATERIAL_CHARS: usize = 40;

/// A profile to create, or the new content of one.
#[derive(Debug, Clone)]
pub struct ProfileInput {
    pub name: String,
    pub printer_model_id: PrinterModelId,
    /// `PLA`, `PETG`, …; empty: any.
    pub material: String,
    pub settings: BTreeMap<String, Value>,
    pub locked: Vec<String>,
}

struct Checked {
    name: String,
    material: String,
    settings: BTreeMap<String, String>,
    locked: Vec<String>,
}

fn check(input: &ProfileInput) -> AppResult<Checked> {
    let name = domain::Name::parse("name", &input.name)?;
    let name = name.as_str();
    let material = input.material.trim();
    if material.chars().count() > MAX_MATERIAL_CHARS
        || !material
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || " +-_.".contains(c))
    {
        return Err(AppError::Invalid(Invalid::new(
            "material",
            "at most 40 letters, digits, spaces and + - _ .",
        )));
    }
    let mut settings = BTreeMap::new();
    for (key, value) in &input.settings {
        let spec = settings::find(key).ok_or_else(|| {
            AppError::Invalid(Invalid::new(
                "settings",
                format!(
                    "{:?} is not a PrusaSlicer setting Farmhand keeps in profiles",
                    key.chars().take(60).collect::<String>()
                ),
            ))
        })?;
        let value = spec.normalize(value).map_err(|why| {
            AppError::Invalid(Invalid::new("settings", format!("{:?} {why}", spec.key)))
        })?;
        settings.insert(spec.key.to_string(), value);
    }
    let mut locked = Vec::new();
    for key in &input.locked {
        let spec = settings::find(key).ok_or_else(|| {
            AppError::Invalid(Invalid::new(
                "locked",
                format!(
                    "{:?} is not a PrusaSlicer setting members may change",
                    key.chars().take(60).collect::<String>()
                ),
            ))
        })?;
        if !locked.iter().any(|k| k == spec.key) {
            locked.push(spec.key.to_string());
        }
    }
    Ok(Checked {
        name: name.to_string(),
        material: material.to_string(),
        settings,
        locked,
    })
}

fn summary(profile: &SlicerProfile) -> Value {
    json!({
        "name": profile.name, "printer_model_id": profile.printer_model_id,
        "material": profile.material, "settings": profile.settings, "locked": profile.locked,
    })
}

fn name_taken(name: &str) -> AppError {
    AppError::conflict(
        ErrorCode::NameTaken,
        format!("the organization has a slicing profile named {name:?} already"),
    )
}

impl Slicing<'_> {
    pub async fn create_profile(
        &self,
        actor: &OrgActor,
        input: ProfileInput,
    ) -> AppResult<SlicerProfile> {
        actor.require(Permission::SlicerManageProfiles)?;
        let checked = check(&input)?;
        let mut uow = self.app.begin(actor, Changes::Data).await?;
        uow.actor().require(Permission::SlicerManageProfiles)?;
        let org = actor.org();
        store::get_printer_model(uow.conn(), org, input.printer_model_id)
            .await
            .found("printer model")?;
        let new = store::NewSlicerProfile {
            name: &checked.name,
            printer_model_id: input.printer_model_id,
            material: &checked.material,
            settings: &checked.settings,
            locked: &checked.locked,
        };
        let now = uow.now();
        let id = store::insert_slicer_profile(uow.conn(), org, &new, now)
            .await?
            .ok_or_else(|| name_taken(&checked.name))?;
        let profile = store::get_slicer_profile(uow.conn(), org, id)
            .await
            .found("slicing profile")?;
        uow.audit(
            Audit::of("slicer_profile.create", "slicer_profile", id).after(summary(&profile)),
        );
        uow.commit().await?;
        Ok(profile)
    }

    pub async fn update_profile(
        &self,
        actor: &OrgActor,
        id: SlicerProfileId,
        input: ProfileInput,
    ) -> AppResult<SlicerProfile> {
        actor.require(Permission::SlicerManageProfiles)?;
        let checked = check(&input)?;
        let mut uow = self.app.begin(actor, Changes::Data).await?;
        uow.actor().require(Permission::SlicerManageProfiles)?;
        let org = actor.org();
        let before = store::get_slicer_profile(uow.conn(), org, id)
            .await
            .found("slicing profile")?;
        store::get_printer_model(uow.conn(), org, input.printer_model_id)
            .await
            .found("printer model")?;
        let new = store::NewSlicerProfile {
            name: &checked.name,
            printer_model_id: input.printer_model_id,
            material: &checked.material,
            settings: &checked.settings,
            locked: &checked.locked,
        };
        let now = uow.now();
        if !store::update_slicer_profile(uow.conn(), org, id, &new, now).await? {
            return Err(name_taken(&checked.name));
        }
        let profile = store::get_slicer_profile(uow.conn(), org, id)
            .await
            .found("slicing profile")?;
        uow.audit(
            Audit::of("slicer_profile.update", "slicer_profile", id)
                .before(summary(&before))
                .after(summary(&profile)),
        );
        uow.commit().await?;
        Ok(profile)
    }

    pub async fn delete_profile(&self, actor: &OrgActor, id: SlicerProfileId) -> AppResult<()> {
        actor.require(Permission::SlicerManageProfiles)?;
        let mut uow = self.app.begin(actor, Changes::Data).await?;
        uow.actor().require(Permission::SlicerManageProfiles)?;
        let org = actor.org();
        let before = store::get_slicer_profile(uow.conn(), org, id)
            .await
            .found("slicing profile")?;
        store::delete_slicer_profile(uow.conn(), org, id).await?;
        uow.audit(
            Audit::of("slicer_profile.delete", "slicer_profile", id).before(summary(&before)),
        );
        uow.commit().await
    }

    /// The organization's profiles (of one printer model when given), by name.
    pub async fn list_profiles(
        &self,
        actor: &OrgActor,
        model: Option<PrinterModelId>,
    ) -> AppResult<Vec<SlicerProfile>> {
        actor.require(Permission::SlicerUse)?;
        let mut conn = self.app.store().read().await?;
        Ok(store::list_slicer_profiles(&mut conn, actor.org(), model).await?)
    }

    pub async fn get_profile(
        &self,
        actor: &OrgActor,
        id: SlicerProfileId,
    ) -> AppResult<SlicerProfile> {
        actor.require(Permission::SlicerUse)?;
        let mut conn = self.app.store().read().await?;
        store::get_slicer_profile(&mut conn, actor.org(), id)
            .await
            .found("slicing profile")
    }
}
