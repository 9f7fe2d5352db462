//! Slicing on the server: slices, the settings a member may change, slicing profiles.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::ids::{FileId, MemberId, PrinterModelId, RankId, SliceId, SlicerProfileId, Timestamp};

/// A slice to start.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartSlice {
    /// The printer model to slice for: its bed, height and nozzle.
    pub printer_model_id: PrinterModelId,
    /// One of the organization's profiles for that printer model (another model's answers
    /// 404); absent: its default profile (the first created for it), if it has one. Another
    /// than the default needs `slicer.change_profile`.
    pub profile_id: Option<SlicerProfileId>,
    /// PrusaSlicer option key → value (`{"layer_height": 0.2, "fill_density": 15,
    /// "support_material": true}`). Only settings of `GET …/slicer/settings`; each one changed
    /// needs its tier's permission (basic `slicer.use`, advanced `slicer.advanced_tab`, expert
    /// `slicer.expert_tab`), and `slicer.override_locks` when the profile locks it. An unknown
    /// key is 422; a value equal to the current one is no change.
    #[serde(default)]
    #[schema(schema_with = settings_schema)]
    pub settings: BTreeMap<String, serde_json::Value>,
    /// Copies arranged on the plate (1 to 50; more than 1 needs `slicer.arrange`).
    #[schema(minimum = 1, maximum = 50)]
    pub copies: Option<u32>,
    /// Scale, percent (1 to 1000; other than 100 needs `slicer.scale`).
    #[schema(minimum = 1, maximum = 1000)]
    pub scale_percent: Option<f64>,
    /// Rotation about the vertical axis, degrees (-360 to 360; other than 0 needs
    /// `slicer.rotate`).
    #[schema(minimum = -360, maximum = 360)]
    pub rotate_z_deg: Option<f64>,
    /// Turn the model first so that its largest flat face lies on the bed (STL and OBJ models;
    /// needs `slicer.auto_rotate`). The rotation about the vertical axis comes after it.
    pub auto_rotate: Option<bool>,
}

/// A slice, as `POST …/slices` answers: where to follow it.
#[derive(Debug, Serialize, ToSchema)]
pub struct SliceAccepted {
    pub id: SliceId,
    pub state: SliceState,
}

/// Where a slice is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SliceState {
    Queued,
    Slicing,
    Done,
    Failed,
    Cancelled,
}

impl From<domain::SliceState> for SliceState {
    fn from(state: domain::SliceState) -> SliceState {
        match state {
            domain::SliceState::Queued => SliceState::Queued,
            domain::SliceState::Slicing => SliceState::Slicing,
            domain::SliceState::Done => SliceState::Done,
            domain::SliceState::Failed => SliceState::Failed,
            domain::SliceState::Cancelled => SliceState::Cancelled,
        }
    }
}

/// A slice of a model.
#[derive(Debug, Serialize, ToSchema)]
pub struct Slice {
    pub id: SliceId,
    pub state: SliceState,
    /// 0 to 100, as PrusaSlicer reports it.
    pub progress: u8,
    /// The G-code in the library, once `done`.
    pub gcode_file_id: Option<FileId>,
    /// Why it failed or was cancelled.
    pub message: Option<String>,
    pub owner_member_id: MemberId,
    pub model_file_id: FileId,
    pub model_name: String,
    pub printer_model_id: PrinterModelId,
    pub profile_id: Option<SlicerProfileId>,
    /// The settings the request changed, as PrusaSlicer reads them.
    pub settings: BTreeMap<String, String>,
    pub copies: u32,
    pub scale_percent: f64,
    pub rotate_z_deg: f64,
    /// Turned onto its largest flat face before slicing.
    pub auto_rotate: bool,
    pub created_at: Timestamp,
    pub started_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
}

impl From<domain::Slice> for Slice {
    fn from(slice: domain::Slice) -> Slice {
        let domain::Slice {
            id,
            org_id: _,
            owner_member_id,
            model_file_id,
            model_name,
            model_sha256: _,
            model_kind: _,
            printer_model_id,
            profile_id,
            settings: _,
            requested,
            placement,
            state,
            progress,
            message,
            gcode_file_id,
            created_at,
            started_at,
            finished_at,
        } = slice;
        Slice {
            id: id.into(),
            state: state.into(),
            progress,
            gcode_file_id: gcode_file_id.map(Into::into),
            message,
            owner_member_id: owner_member_id.into(),
            model_file_id: model_file_id.into(),
            model_name,
            printer_model_id: printer_model_id.into(),
            profile_id: profile_id.map(Into::into),
            settings: requested,
            copies: placement.copies,
            scale_percent: placement.scale_percent,
            rotate_z_deg: placement.rotate_z_deg,
            auto_rotate: placement.auto_rotate,
            created_at: created_at.into(),
            started_at: started_at.map(Into::into),
            finished_at: finished_at.map(Into::into),
        }
    }
}

/// Which settings to list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SettingsQuery {
    /// The printer model to slice for.
    pub printer_model_id: PrinterModelId,
    /// The profile whose values to show (one of that printer model's; another model's answers
    /// 404); absent: the printer model's default profile.
    pub profile_id: Option<SlicerProfileId>,
}

/// Who may change a setting: `basic` (`slicer.use`), `advanced` (`slicer.advanced_tab`),
/// `expert` (`slicer.expert_tab`).
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    Basic,
    Advanced,
    Expert,
}

impl From<app::slicing::Tier> for Tier {
    fn from(tier: app::slicing::Tier) -> Tier {
        match tier {
            app::slicing::Tier::Basic => Tier::Basic,
            app::slicing::Tier::Advanced => Tier::Advanced,
            app::slicing::Tier::Expert => Tier::Expert,
        }
    }
}

/// A value type of a setting.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SettingType {
    Float,
    Int,
    Percent,
    Bool,
    Enum,
}

/// A setting you may change.
#[derive(Debug, Serialize, ToSchema)]
pub struct SlicerSetting {
    /// PrusaSlicer's option key.
    pub key: String,
    pub title: String,
    pub tier: Tier,
    #[serde(rename = "type")]
    pub kind: SettingType,
    /// Smallest value (numbers and percentages).
    pub min: Option<f64>,
    /// Largest value (numbers and percentages).
    pub max: Option<f64>,
    /// Unit of numbers (`mm`, `mm/s`).
    pub unit: Option<String>,
    /// The words an `enum` takes.
    pub choices: Option<Vec<String>>,
    /// PrusaSlicer's default, as PrusaSlicer writes it.
    pub default: String,
    /// The value it has for this printer model and profile, as PrusaSlicer writes it.
    pub value: String,
    /// Locked for you (by the profile, or by the organization for your rank): changing it
    /// needs `slicer.override_locks`.
    pub locked: bool,
}

impl From<app::SettingView> for SlicerSetting {
    fn from(view: app::SettingView) -> SlicerSetting {
        let app::SettingView {
            setting,
            value,
            locked,
        } = view;
        use app::slicing::SettingKind as K;
        let (kind, min, max, unit, choices) = match setting.kind {
            K::Float { min, max, unit } => (
                SettingType::Float,
                Some(min),
                Some(max),
                Some(unit.to_string()),
                None,
            ),
            #[allow(clippy::cast_precision_loss)]
            K::Int { min, max } => (
                SettingType::Int,
                Some(min as f64),
                Some(max as f64),
                None,
                None,
            ),
            K::Percent { min, max } => (SettingType::Percent, Some(min), Some(max), None, None),
            K::Bool => (SettingType::Bool, None, None, None, None),
            K::Choice(words) => (
                SettingType::Enum,
                None,
                None,
                None,
                Some(words.iter().map(|w| w.to_string()).collect()),
            ),
        };
        SlicerSetting {
            key: setting.key.to_string(),
            title: setting.title.to_string(),
            tier: setting.tier.into(),
            kind,
            min,
            max,
            unit,
            choices,
            default: setting.default.to_string(),
            value,
            locked,
        }
    }
}

/// The settings you may change when slicing for a printer model, basic first.
#[derive(Debug, Serialize, ToSchema)]
pub struct SlicerSettings {
    pub printer_model_id: PrinterModelId,
    /// The profile the values come from; `null`: none (PrusaSlicer's defaults).
    pub profile_id: Option<SlicerProfileId>,
    pub settings: Vec<SlicerSetting>,
    /// The settings the organization locks for your rank, with their value (whatever tier
    /// they are in): your slices use that value.
    pub locks: Vec<LockedSetting>,
}

impl From<app::SettingsView> for SlicerSettings {
    fn from(view: app::SettingsView) -> SlicerSettings {
        let app::SettingsView {
            printer_model_id,
            profile,
            settings,
            locks,
        } = view;
        SlicerSettings {
            printer_model_id: printer_model_id.into(),
            profile_id: profile.map(|p| p.id.into()),
            settings: super::each(settings),
            locks: super::each(locks),
        }
    }
}

/// A setting the organization locks for your rank.
#[derive(Debug, Serialize, ToSchema)]
pub struct LockedSetting {
    /// PrusaSlicer's option key.
    pub setting: String,
    pub title: String,
    pub tier: Tier,
    /// The value your slices use, as PrusaSlicer writes it.
    pub value: String,
    /// The lock binds every rank below this one.
    pub below_rank_id: RankId,
    pub below_rank: String,
    /// You hold `slicer.override_locks`: you may change it all the same.
    pub overridable: bool,
}

impl From<app::LockedForYou> for LockedSetting {
    fn from(lock: app::LockedForYou) -> LockedSetting {
        let app::LockedForYou {
            setting,
            value,
            below_rank_id,
            below_rank,
            overridable,
        } = lock;
        LockedSetting {
            setting: setting.key.to_string(),
            title: setting.title.to_string(),
            tier: setting.tier.into(),
            value,
            below_rank_id: below_rank_id.into(),
            below_rank,
            overridable,
        }
    }
}

/// A setting lock to set.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LockInput {
    /// The value, of the setting's type in `GET …/slicer/settings` (a number, a percentage
    /// as a number, a boolean, or one of its words), within its bounds.
    #[schema(schema_with = lock_value_schema)]
    pub value: serde_json::Value,
    /// The lock binds every member whose rank is below this one (owners never). At most
    /// your own rank: nobody locks settings for their seniors.
    pub below_rank_id: RankId,
}

/// A setting the organization locks to a value for the ranks below one.
#[derive(Debug, Serialize, ToSchema)]
pub struct SlicerLock {
    /// PrusaSlicer's option key.
    pub setting: String,
    pub title: String,
    pub tier: Tier,
    /// The value, as PrusaSlicer writes it.
    pub value: String,
    pub below_rank_id: RankId,
    pub below_rank: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl From<app::LockView> for SlicerLock {
    fn from(view: app::LockView) -> SlicerLock {
        let app::LockView {
            lock,
            setting,
            below_rank,
        } = view;
        SlicerLock {
            setting: setting.key.to_string(),
            title: setting.title.to_string(),
            tier: setting.tier.into(),
            value: lock.value,
            below_rank_id: lock.below_rank_id.into(),
            below_rank,
            created_at: lock.created_at.into(),
            updated_at: lock.updated_at.into(),
        }
    }
}

/// Which profiles to list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ProfileQuery {
    /// Only this printer model's profiles.
    pub printer_model_id: Option<PrinterModelId>,
}

/// A slicing profile to create, or its new content.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileInput {
    /// Unique in the organization.
    #[schema(value_type = super::values::Name)]
    pub name: String,
    pub printer_model_id: PrinterModelId,
    /// The material it is for (`PLA`, `PETG`, …): at most 40 letters, digits, spaces and
    /// `+ - _ .`; empty or absent: any.
    #[serde(default)]
    #[schema(max_length = 40, pattern = "^[A-Za-z0-9 +_.-]*$")]
    pub material: String,
    /// PrusaSlicer option key → value, among the settings of `GET …/slicer/settings`.
    #[serde(default)]
    #[schema(schema_with = settings_schema)]
    pub settings: BTreeMap<String, serde_json::Value>,
    /// Settings locked at the profile's value for everyone without `slicer.override_locks`.
    #[serde(default)]
    #[schema(schema_with = setting_keys_schema)]
    pub locked: Vec<String>,
}

impl From<ProfileInput> for app::ProfileInput {
    fn from(input: ProfileInput) -> app::ProfileInput {
        let ProfileInput {
            name,
            printer_model_id,
            material,
            settings,
            locked,
        } = input;
        app::ProfileInput {
            name,
            printer_model_id: printer_model_id.into(),
            material,
            settings,
            locked,
        }
    }
}

/// An organization's slicing profile.
#[derive(Debug, Serialize, ToSchema)]
pub struct SlicerProfile {
    pub id: SlicerProfileId,
    pub name: String,
    pub printer_model_id: PrinterModelId,
    pub material: String,
    /// PrusaSlicer option key → value, as PrusaSlicer reads it.
    pub settings: BTreeMap<String, String>,
    pub locked: Vec<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl From<domain::SlicerProfile> for SlicerProfile {
    fn from(profile: domain::SlicerProfile) -> SlicerProfile {
        let domain::SlicerProfile {
            id,
            org_id: _,
            name,
            printer_model_id,
            material,
            settings,
            locked,
            created_at,
            updated_at,
        } = profile;
        SlicerProfile {
            id: id.into(),
            name,
            printer_model_id: printer_model_id.into(),
            material,
            settings,
            locked,
            created_at: created_at.into(),
            updated_at: updated_at.into(),
        }
    }
}

/// A setting's value: a number, a boolean or a word, as its type in the settings table says.
fn lock_value_schema() -> utoipa::openapi::schema::ObjectBuilder {
    use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
    ObjectBuilder::new().schema_type(SchemaType::Array(vec![
        Type::Number,
        Type::Boolean,
        Type::String,
    ]))
}

/// The settings members may change, each with its type and bounds: the server's own table
/// (`app::slicing::SETTINGS`), so the document and the checks cannot disagree.
fn settings_schema() -> utoipa::openapi::schema::ObjectBuilder {
    use app::slicing::SettingKind as K;
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    let mut object = ObjectBuilder::new()
        .schema_type(Type::Object)
        .additional_properties(Some(
            utoipa::openapi::schema::AdditionalProperties::FreeForm(false),
        ));
    for setting in app::slicing::SETTINGS {
        #[allow(clippy::cast_precision_loss)]
        let schema = match setting.kind {
            K::Float { min, max, .. } | K::Percent { min, max } => super::schema::number(min, max),
            K::Int { min, max } => ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(min as f64))
                .maximum(Some(max as f64)),
            K::Bool => ObjectBuilder::new().schema_type(Type::Boolean),
            K::Choice(words) => ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(words.iter().copied())),
        };
        let described = schema.description(Some(format!(
            "{} ({} tier; default {})",
            setting.title,
            setting.tier.key(),
            setting.default
        )));
        object = object.property(setting.key, described);
    }
    object
}

/// Keys of the settings members may change.
fn setting_keys_schema() -> utoipa::openapi::schema::ArrayBuilder {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    super::schema::array(
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(app::slicing::SETTINGS.iter().map(|s| s.key))),
        None,
        Some(app::slicing::SETTINGS.len()),
    )
}
