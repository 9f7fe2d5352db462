//! Slicing: a model of the library turned into G-code by PrusaSlicer on the server, with the
//! settings the member's rank may touch, and the organization's slicing profiles.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{FileId, MemberId, OrgId, PrinterModelId, RankId, SliceId, SlicerProfileId, Timestamp};

/// Where a slice is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SliceState {
    /// Waiting for a place in the slicing pool.
    Queued,
    /// PrusaSlicer is running on it.
    Slicing,
    /// Sliced: the G-code is in the library.
    Done,
    /// The slicer failed, crashed, ran out of time or memory (the message says which).
    Failed,
    /// Cancelled by its owner (or someone managing everyone's files).
    Cancelled,
}

impl SliceState {
    pub fn key(self) -> &'static str {
        match self {
            SliceState::Queued => "queued",
            SliceState::Slicing => "slicing",
            SliceState::Done => "done",
            SliceState::Failed => "failed",
            SliceState::Cancelled => "cancelled",
        }
    }

    pub fn parse(key: &str) -> Option<SliceState> {
        [
            SliceState::Queued,
            SliceState::Slicing,
            SliceState::Done,
            SliceState::Failed,
            SliceState::Cancelled,
        ]
        .into_iter()
        .find(|s| s.key() == key)
    }

    /// Done, failed or cancelled: nothing more happens to it.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            SliceState::Done | SliceState::Failed | SliceState::Cancelled
        )
    }
}

/// How the model is placed on the plate before slicing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Placement {
    /// Copies of the model, arranged on the plate.
    pub copies: u32,
    /// Scale, percent (100: as modelled).
    pub scale_percent: f64,
    /// Rotation about Z, degrees.
    pub rotate_z_deg: f64,
    /// Turned first so that its largest flat face lies on the bed (computed when sliced).
    #[serde(default)]
    pub auto_rotate: bool,
}

impl Default for Placement {
    fn default() -> Self {
        Placement {
            copies: 1,
            scale_percent: 100.0,
            rotate_z_deg: 0.0,
            auto_rotate: false,
        }
    }
}

/// A slice of a model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Slice {
    pub id: SliceId,
    pub org_id: OrgId,
    pub owner_member_id: MemberId,
    pub model_file_id: FileId,
    pub model_name: String,
    pub model_sha256: String,
    /// `stl`, `3mf` or `obj`.
    pub model_kind: String,
    pub printer_model_id: PrinterModelId,
    pub profile_id: Option<SlicerProfileId>,
    /// Every option given to PrusaSlicer.
    pub settings: BTreeMap<String, String>,
    /// The options the member asked for (a subset of `settings`).
    pub requested: BTreeMap<String, String>,
    pub placement: Placement,
    pub state: SliceState,
    /// 0 to 100.
    pub progress: u8,
    /// Why it failed or was cancelled.
    pub message: Option<String>,
    pub gcode_file_id: Option<FileId>,
    pub created_at: Timestamp,
    pub started_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
}

/// An organization's slicing profile: PrusaSlicer options for one printer model (and
/// optionally one material).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SlicerProfile {
    pub id: SlicerProfileId,
    pub org_id: OrgId,
    pub name: String,
    pub printer_model_id: PrinterModelId,
    /// The material it is for (`PLA`, `PETG`, …); empty: any.
    pub material: String,
    pub settings: BTreeMap<String, String>,
    /// Settings locked at the profile's value: only members holding `slicer.override_locks`
    /// change them, whatever their tier permissions.
    pub locked: Vec<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A setting the organization locks to a value for every member whose rank is below
/// `below_rank_id` in the seniority order (owners are never bound). Members it binds slice
/// with that value and cannot change it unless they hold `slicer.override_locks`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SlicerLock {
    pub org_id: OrgId,
    /// PrusaSlicer's option key.
    pub setting: String,
    /// The value, as PrusaSlicer reads it.
    pub value: String,
    pub below_rank_id: RankId,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}
