//! The file library: uploaded files (stored once per organization by content hash), what their
//! analysis found, and library projects — named folders with an owner, shared with members or
//! workgroups at view or edit.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{FileId, Invalid, MemberId, ProjectId, Timestamp, WorkgroupId};

/// A SHA-256 digest as 64 lowercase hexadecimal digits: the address of a stored file.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct ContentHash(String);

impl ContentHash {
    pub fn from_digest(digest: [u8; 32]) -> ContentHash {
        ContentHash(hex::encode(digest))
    }

    pub fn parse(field: &'static str, raw: &str) -> Result<ContentHash, Invalid> {
        let valid = raw.len() == 64
            && raw
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if valid {
            Ok(ContentHash(raw.to_string()))
        } else {
            Err(Invalid::new(
                field,
                "must be a SHA-256 digest: 64 lowercase hexadecimal digits",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a file is: G-code to print, or a model to slice (STL, 3MF, OBJ).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    Gcode,
    Stl,
    #[serde(rename = "3mf")]
    ThreeMf,
    Obj,
}

impl FileKind {
    pub fn key(self) -> &'static str {
        match self {
            FileKind::Gcode => "gcode",
            FileKind::Stl => "stl",
            FileKind::ThreeMf => "3mf",
            FileKind::Obj => "obj",
        }
    }

    pub fn parse(key: &str) -> Option<FileKind> {
        match key {
            "gcode" => Some(FileKind::Gcode),
            "stl" => Some(FileKind::Stl),
            "3mf" => Some(FileKind::ThreeMf),
            "obj" => Some(FileKind::Obj),
            _ => None,
        }
    }

    /// A model to slice, not G-code to print.
    pub fn is_model(self) -> bool {
        self != FileKind::Gcode
    }
}

/// What the model checks found in a model file (STL, 3MF, OBJ).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelFacts {
    /// `stl_binary`, `stl_ascii`, `obj` or `3mf`.
    pub format: String,
    /// Triangles over every object.
    pub facets: u64,
    /// Objects with a mesh.
    pub objects: u32,
    /// The box around every vertex, in the file's coordinates, mm.
    pub bounds: FileBounds,
    /// The largest object's width, depth and height, mm: what must fit a build volume.
    pub size_mm: [f64; 3],
}

/// Which model and settings made a G-code file that Farmhand sliced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlicedFrom {
    pub slice_id: crate::SliceId,
    pub model_file_id: FileId,
    pub model_name: String,
    pub model_sha256: String,
    pub printer_model_id: crate::PrinterModelId,
    pub profile_id: Option<crate::SlicerProfileId>,
    /// Every PrusaSlicer option Farmhand set (the profile's, the printer model's, the member's).
    pub settings: std::collections::BTreeMap<String, String>,
}

/// Filament one extruder uses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExtruderFilament {
    pub length_mm: f64,
    pub weight_g: f64,
}

/// An axis-aligned box around everything the file extrudes, mm.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FileBounds {
    pub min: [f64; 3],
    pub max: [f64; 3],
}

/// What the slicer wrote about the file (every field optional: slicers differ).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FileMetadata {
    pub slicer: Option<String>,
    /// The slicer's own time estimate, s.
    pub slicer_estimated_time_s: Option<f64>,
    /// Material per extruder (`PLA`, `PETG`, …).
    pub filament_type: Vec<String>,
    pub nozzle_diameter_mm: Option<f64>,
    pub layer_height_mm: Option<f64>,
    pub printer_model: Option<String>,
}

/// One thumbnail embedded in the file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThumbnailInfo {
    /// Its number, from 0, in the order the file holds them.
    pub n: u32,
    /// `png`, `jpeg` or `qoi`.
    pub format: String,
    pub width: u32,
    pub height: u32,
    pub size: u64,
}

impl ThumbnailInfo {
    /// The media type it is served with.
    pub fn content_type(&self) -> &'static str {
        match self.format.as_str() {
            "png" => "image/png",
            "jpeg" => "image/jpeg",
            _ => "image/qoi",
        }
    }
}

/// What the analysis of a file found: time with a printer model's motion limits (or the
/// default), filament, layers, bounds, the slicer's metadata and the thumbnails.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileAnalysis {
    pub estimated_time_s: f64,
    pub filament_length_mm: f64,
    pub filament_weight_g: f64,
    /// Per extruder, by tool number.
    pub extruders: Vec<ExtruderFilament>,
    pub layers: u64,
    /// `None` when nothing is extruded.
    pub bounds: Option<FileBounds>,
    pub metadata: FileMetadata,
    pub thumbnails: Vec<ThumbnailInfo>,
    /// The printer model whose motion limits timed it; `None`: the default profile.
    pub printer_model_id: Option<crate::PrinterModelId>,
    pub warning_count: u64,
}

/// A file in an organization's library: one member's upload (or copy) of stored content.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LibraryFile {
    pub id: FileId,
    pub name: String,
    pub sha256: ContentHash,
    pub size: u64,
    pub kind: FileKind,
    pub owner_member_id: MemberId,
    /// The project it is in; `None`: its owner's personal space.
    pub project_id: Option<ProjectId>,
    /// `None` until the analysis is ready (and for models, which have `model` instead).
    pub analysis: Option<FileAnalysis>,
    /// For a model: what the model checks found.
    pub model: Option<ModelFacts>,
    /// For G-code Farmhand sliced: the model and settings that made it.
    pub sliced_from: Option<SlicedFrom>,
    pub created_at: Timestamp,
}

/// How far a share of a project reaches: see its files, or also add, move and remove them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShareLevel {
    View,
    Edit,
}

impl ShareLevel {
    pub fn key(self) -> &'static str {
        match self {
            ShareLevel::View => "view",
            ShareLevel::Edit => "edit",
        }
    }

    pub fn parse(key: &str) -> Option<ShareLevel> {
        match key {
            "view" => Some(ShareLevel::View),
            "edit" => Some(ShareLevel::Edit),
            _ => None,
        }
    }
}

/// Who a project is shared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ShareSubject {
    Member(MemberId),
    Workgroup(WorkgroupId),
}

impl ShareSubject {
    pub fn kind(self) -> &'static str {
        match self {
            ShareSubject::Member(_) => "member",
            ShareSubject::Workgroup(_) => "workgroup",
        }
    }

    pub fn id(self) -> i64 {
        match self {
            ShareSubject::Member(id) => id.get(),
            ShareSubject::Workgroup(id) => id.get(),
        }
    }

    pub fn from_parts(kind: &str, id: i64) -> Option<ShareSubject> {
        match kind {
            "member" => Some(ShareSubject::Member(MemberId(id))),
            "workgroup" => Some(ShareSubject::Workgroup(WorkgroupId(id))),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProjectShare {
    pub subject: ShareSubject,
    pub level: ShareLevel,
}

/// A library project: a named folder of files with an owner, shared with members or
/// workgroups.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Project {
    pub id: ProjectId,
    pub name: String,
    pub owner_member_id: MemberId,
    pub shares: Vec<ProjectShare>,
    pub file_count: i64,
    pub created_at: Timestamp,
}

impl Project {
    /// The level at which the project reaches `member` (who is in `workgroups`) through its
    /// shares: the highest of them; its owner edits.
    pub fn level_for(&self, member: MemberId, workgroups: &[WorkgroupId]) -> Option<ShareLevel> {
        if self.owner_member_id == member {
            return Some(ShareLevel::Edit);
        }
        self.shares
            .iter()
            .filter(|share| match share.subject {
                ShareSubject::Member(m) => m == member,
                ShareSubject::Workgroup(w) => workgroups.contains(&w),
            })
            .map(|share| share.level)
            .max()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_hashes_are_64_lowercase_hex_digits() {
        let good = "a".repeat(64);
        assert_eq!(ContentHash::parse("sha256", &good).unwrap().as_str(), good);
        for bad in [
            "",
            "A".repeat(64).as_str(),
            "g".repeat(64).as_str(),
            "a".repeat(63).as_str(),
        ] {
            assert!(ContentHash::parse("sha256", bad).is_err(), "{bad}");
        }
        assert_eq!(
            ContentHash::from_digest([0xab; 32]).as_str(),
            "ab".repeat(32)
        );
    }

    #[test]
    fn a_project_reaches_a_member_at_the_highest_of_their_shares() {
        let project = Project {
            id: ProjectId(1),
            name: "Bracket".into(),
            owner_member_id: MemberId(1),
            shares: vec![
                ProjectShare {
                    subject: ShareSubject::Workgroup(WorkgroupId(7)),
                    level: ShareLevel::Edit,
                },
                ProjectShare {
                    subject: ShareSubject::Member(MemberId(2)),
                    level: ShareLevel::View,
                },
            ],
            file_count: 0,
            created_at: Timestamp::from_micros(0),
        };
        assert_eq!(project.level_for(MemberId(1), &[]), Some(ShareLevel::Edit));
        assert_eq!(project.level_for(MemberId(2), &[]), Some(ShareLevel::View));
        assert_eq!(
            project.level_for(MemberId(2), &[WorkgroupId(7)]),
            Some(ShareLevel::Edit)
        );
        assert_eq!(project.level_for(MemberId(3), &[WorkgroupId(8)]), None);
    }
}
