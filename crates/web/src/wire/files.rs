//! The file library: files with their analysis and thumbnails, uploads and listings, and
//! library projects with their shares.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::each;
use super::ids::{
    FileId, MemberId, PrinterModelId, ProjectId, SliceId, SlicerProfileId, Timestamp, WorkgroupId,
};
use super::values::{Name, PrintFileName};
use crate::api::PREFIX;

/// What a file is: G-code to print, or a model to slice (`stl`, `3mf`, `obj`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    Gcode,
    Stl,
    #[serde(rename = "3mf")]
    ThreeMf,
    Obj,
}

impl From<domain::FileKind> for FileKind {
    fn from(kind: domain::FileKind) -> FileKind {
        match kind {
            domain::FileKind::Gcode => FileKind::Gcode,
            domain::FileKind::Stl => FileKind::Stl,
            domain::FileKind::ThreeMf => FileKind::ThreeMf,
            domain::FileKind::Obj => FileKind::Obj,
        }
    }
}

/// What the model checks found in a model (STL, 3MF, OBJ).
#[derive(Debug, Serialize, ToSchema)]
pub struct ModelFacts {
    /// `stl_binary`, `stl_ascii`, `obj` or `3mf`.
    pub format: String,
    /// Triangles over every object.
    pub facets: u64,
    /// Objects with a mesh.
    pub objects: u32,
    /// Around every vertex, in the file's coordinates, mm.
    pub bounds: FileBounds,
    /// The largest object's width, depth and height, mm: what must fit a build volume.
    #[schema(min_items = 3, max_items = 3)]
    pub size_mm: [f64; 3],
}

impl From<domain::ModelFacts> for ModelFacts {
    fn from(facts: domain::ModelFacts) -> ModelFacts {
        let domain::ModelFacts {
            format,
            facets,
            objects,
            bounds,
            size_mm,
        } = facts;
        ModelFacts {
            format,
            facets,
            objects,
            bounds: bounds.into(),
            size_mm,
        }
    }
}

/// Which model and settings made G-code that Farmhand sliced.
#[derive(Debug, Serialize, ToSchema)]
pub struct SlicedFrom {
    pub slice_id: SliceId,
    pub model_file_id: FileId,
    pub model_name: String,
    /// SHA-256 of the model's content.
    pub model_sha256: String,
    pub printer_model_id: PrinterModelId,
    pub profile_id: Option<SlicerProfileId>,
    /// Every PrusaSlicer option Farmhand set (the printer model's, the profile's, the member's).
    pub settings: std::collections::BTreeMap<String, String>,
}

impl From<domain::SlicedFrom> for SlicedFrom {
    fn from(origin: domain::SlicedFrom) -> SlicedFrom {
        let domain::SlicedFrom {
            slice_id,
            model_file_id,
            model_name,
            model_sha256,
            printer_model_id,
            profile_id,
            settings,
        } = origin;
        SlicedFrom {
            slice_id: slice_id.into(),
            model_file_id: model_file_id.into(),
            model_name,
            model_sha256,
            printer_model_id: printer_model_id.into(),
            profile_id: profile_id.map(Into::into),
            settings,
        }
    }
}

/// Filament one extruder uses.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExtruderFilament {
    pub length_mm: f64,
    pub weight_g: f64,
}

impl From<domain::ExtruderFilament> for ExtruderFilament {
    fn from(extruder: domain::ExtruderFilament) -> ExtruderFilament {
        let domain::ExtruderFilament {
            length_mm,
            weight_g,
        } = extruder;
        ExtruderFilament {
            length_mm,
            weight_g,
        }
    }
}

/// An axis-aligned box around everything the file extrudes, mm.
#[derive(Debug, Serialize, ToSchema)]
pub struct FileBounds {
    #[schema(min_items = 3, max_items = 3)]
    pub min: [f64; 3],
    #[schema(min_items = 3, max_items = 3)]
    pub max: [f64; 3],
}

impl From<domain::FileBounds> for FileBounds {
    fn from(bounds: domain::FileBounds) -> FileBounds {
        let domain::FileBounds { min, max } = bounds;
        FileBounds { min, max }
    }
}

/// What the slicer wrote about the file (every field optional: slicers differ).
#[derive(Debug, Serialize, ToSchema)]
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

impl From<domain::FileMetadata> for FileMetadata {
    fn from(metadata: domain::FileMetadata) -> FileMetadata {
        let domain::FileMetadata {
            slicer,
            slicer_estimated_time_s,
            filament_type,
            nozzle_diameter_mm,
            layer_height_mm,
            printer_model,
        } = metadata;
        FileMetadata {
            slicer,
            slicer_estimated_time_s,
            filament_type,
            nozzle_diameter_mm,
            layer_height_mm,
            printer_model,
        }
    }
}

/// One thumbnail embedded in the file, and where to fetch it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Thumbnail {
    pub n: u32,
    /// `png`, `jpeg` or `qoi`.
    pub format: String,
    pub width: u32,
    pub height: u32,
    /// Bytes.
    pub size: u64,
    /// The image, served with its content type.
    pub url: String,
}

/// A thumbnail of the file at `files_url` (the file's own URL).
struct FileThumbnail<'a> {
    files_url: &'a str,
    info: domain::ThumbnailInfo,
}

impl From<FileThumbnail<'_>> for Thumbnail {
    fn from(thumbnail: FileThumbnail<'_>) -> Thumbnail {
        let FileThumbnail { files_url, info } = thumbnail;
        let domain::ThumbnailInfo {
            n,
            format,
            width,
            height,
            size,
        } = info;
        Thumbnail {
            n,
            format,
            width,
            height,
            size,
            url: format!("{files_url}/thumbnails/{n}"),
        }
    }
}

/// What the analysis of a file found.
#[derive(Debug, Serialize, ToSchema)]
pub struct FileAnalysis {
    /// With the named printer model's motion limits, or the default's, s.
    pub estimated_time_s: f64,
    pub filament_length_mm: f64,
    pub filament_weight_g: f64,
    /// Per extruder, by tool number.
    pub extruders: Vec<ExtruderFilament>,
    pub layers: u64,
    /// Around everything extruded; `null` when nothing is.
    pub bounds: Option<FileBounds>,
    pub metadata: FileMetadata,
    pub thumbnails: Vec<Thumbnail>,
    /// The printer model whose motion limits timed it; `null`: the default profile.
    pub printer_model_id: Option<PrinterModelId>,
    pub warning_count: u64,
}

/// The analysis of the file at `files_url`.
struct AnalysisOf<'a> {
    files_url: &'a str,
    analysis: domain::FileAnalysis,
}

impl From<AnalysisOf<'_>> for FileAnalysis {
    fn from(of: AnalysisOf<'_>) -> FileAnalysis {
        let AnalysisOf {
            files_url,
            analysis,
        } = of;
        let domain::FileAnalysis {
            estimated_time_s,
            filament_length_mm,
            filament_weight_g,
            extruders,
            layers,
            bounds,
            metadata,
            thumbnails,
            printer_model_id,
            warning_count,
        } = analysis;
        FileAnalysis {
            estimated_time_s,
            filament_length_mm,
            filament_weight_g,
            extruders: each(extruders),
            layers,
            bounds: bounds.map(Into::into),
            metadata: metadata.into(),
            thumbnails: thumbnails
                .into_iter()
                .map(|info| Thumbnail::from(FileThumbnail { files_url, info }))
                .collect(),
            printer_model_id: printer_model_id.map(Into::into),
            warning_count,
        }
    }
}

/// A file in the library.
#[derive(Debug, Serialize, ToSchema)]
pub struct File {
    pub id: FileId,
    pub name: String,
    /// SHA-256 of the content, lowercase hex.
    pub sha256: String,
    /// Bytes.
    pub size: u64,
    pub kind: FileKind,
    pub owner_member_id: MemberId,
    /// Its project; `null`: its owner's personal space.
    pub project_id: Option<ProjectId>,
    /// G-code's analysis; `null` until it is ready, and for models.
    pub analysis: Option<FileAnalysis>,
    /// For a model: what the model checks found; `null` for G-code.
    pub model: Option<ModelFacts>,
    /// For G-code Farmhand sliced: the model and settings that made it; otherwise `null`.
    pub sliced_from: Option<SlicedFrom>,
    pub created_at: Timestamp,
}

/// A file of an organization's library (its thumbnails' links name the organization).
pub struct OrgFile {
    pub org: domain::OrgId,
    pub file: domain::LibraryFile,
}

impl From<OrgFile> for File {
    fn from(org_file: OrgFile) -> File {
        let OrgFile { org, file } = org_file;
        let domain::LibraryFile {
            id,
            name,
            sha256,
            size,
            kind,
            owner_member_id,
            project_id,
            analysis,
            model,
            sliced_from,
            created_at,
        } = file;
        let files_url = format!("{PREFIX}/orgs/{org}/files/{id}");
        File {
            id: id.into(),
            name,
            sha256: sha256.to_string(),
            size,
            kind: kind.into(),
            owner_member_id: owner_member_id.into(),
            project_id: project_id.map(Into::into),
            analysis: analysis.map(|analysis| {
                FileAnalysis::from(AnalysisOf {
                    files_url: &files_url,
                    analysis,
                })
            }),
            model: model.map(Into::into),
            sliced_from: sliced_from.map(Into::into),
            created_at: created_at.into(),
        }
    }
}

impl File {
    /// The file as the API shows it in `org`'s library.
    pub fn of(org: domain::OrgId, file: domain::LibraryFile) -> File {
        File::from(OrgFile { org, file })
    }
}

/// A page of files, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct FilePage {
    pub files: Vec<File>,
    /// Pass as `cursor` for the next page; `null` on the last.
    pub next_cursor: Option<FileId>,
}

/// A page of an organization's files.
pub struct OrgFilePage {
    pub org: domain::OrgId,
    pub page: app::FilePage,
}

impl From<OrgFilePage> for FilePage {
    fn from(org_page: OrgFilePage) -> FilePage {
        let OrgFilePage { org, page } = org_page;
        let app::FilePage { files, next_cursor } = page;
        FilePage {
            files: files.into_iter().map(|file| File::of(org, file)).collect(),
            next_cursor: next_cursor.map(Into::into),
        }
    }
}

/// Where an upload goes and how it is named.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UploadQuery {
    /// The file's name: at most 200 characters; once surrounding whitespace is trimmed, not
    /// blank, no slashes or control characters, not starting with a dot.
    #[param(value_type = PrintFileName)]
    pub name: String,
    /// A project you may edit; absent: your personal space.
    pub project_id: Option<ProjectId>,
    /// The printer model whose motion limits time the file; absent: the default profile.
    pub printer_model_id: Option<PrinterModelId>,
}

impl From<UploadQuery> for app::UploadFile {
    fn from(query: UploadQuery) -> app::UploadFile {
        let UploadQuery {
            name,
            project_id,
            printer_model_id,
        } = query;
        app::UploadFile {
            name,
            project_id: project_id.map(Into::into),
            printer_model_id: printer_model_id.map(Into::into),
        }
    }
}

/// Which files to list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FileListQuery {
    /// Only this project's files.
    pub project_id: Option<ProjectId>,
    /// Only your personal space (your files in no project); not with `project_id`.
    pub personal: Option<bool>,
    /// The previous page's `next_cursor`.
    pub cursor: Option<FileId>,
    /// Page size, 1 to 500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
}

impl From<FileListQuery> for app::FileListQuery {
    fn from(query: FileListQuery) -> app::FileListQuery {
        let FileListQuery {
            project_id,
            personal,
            cursor,
            limit,
        } = query;
        app::FileListQuery {
            project_id: project_id.map(Into::into),
            personal: personal.unwrap_or(false),
            cursor: cursor.map(Into::into),
            limit,
        }
    }
}

/// Where to move or copy a file.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FileDestination {
    /// A project the actor may edit; `null`: the file owner's personal space (for a copy, the
    /// actor's own).
    pub project_id: Option<ProjectId>,
}

impl From<FileDestination> for app::FileDestination {
    fn from(destination: FileDestination) -> app::FileDestination {
        let FileDestination { project_id } = destination;
        app::FileDestination {
            project_id: project_id.map(Into::into),
        }
    }
}

/// How far a share of a project reaches: see its files, or also add, move and remove them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ShareLevel {
    View,
    Edit,
}

impl From<domain::ShareLevel> for ShareLevel {
    fn from(level: domain::ShareLevel) -> ShareLevel {
        match level {
            domain::ShareLevel::View => ShareLevel::View,
            domain::ShareLevel::Edit => ShareLevel::Edit,
        }
    }
}

impl From<ShareLevel> for domain::ShareLevel {
    fn from(level: ShareLevel) -> domain::ShareLevel {
        match level {
            ShareLevel::View => domain::ShareLevel::View,
            ShareLevel::Edit => domain::ShareLevel::Edit,
        }
    }
}

/// Who a project is shared with.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ShareSubject {
    Member(MemberId),
    Workgroup(WorkgroupId),
}

impl From<domain::ShareSubject> for ShareSubject {
    fn from(subject: domain::ShareSubject) -> ShareSubject {
        match subject {
            domain::ShareSubject::Member(id) => ShareSubject::Member(id.into()),
            domain::ShareSubject::Workgroup(id) => ShareSubject::Workgroup(id.into()),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProjectShare {
    pub subject: ShareSubject,
    pub level: ShareLevel,
}

impl From<domain::ProjectShare> for ProjectShare {
    fn from(share: domain::ProjectShare) -> ProjectShare {
        let domain::ProjectShare { subject, level } = share;
        ProjectShare {
            subject: subject.into(),
            level: level.into(),
        }
    }
}

/// A library project: a named folder of files with an owner, shared with members or
/// workgroups.
#[derive(Debug, Serialize, ToSchema)]
pub struct Project {
    pub id: ProjectId,
    pub name: String,
    pub owner_member_id: MemberId,
    pub shares: Vec<ProjectShare>,
    pub file_count: i64,
    pub created_at: Timestamp,
}

impl From<domain::Project> for Project {
    fn from(project: domain::Project) -> Project {
        let domain::Project {
            id,
            name,
            owner_member_id,
            shares,
            file_count,
            created_at,
        } = project;
        Project {
            id: id.into(),
            name,
            owner_member_id: owner_member_id.into(),
            shares: each(shares),
            file_count,
            created_at: created_at.into(),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProject {
    #[schema(value_type = Name)]
    pub name: String,
}

impl From<CreateProject> for app::CreateProject {
    fn from(create_project: CreateProject) -> app::CreateProject {
        let CreateProject { name } = create_project;
        app::CreateProject { name }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenameProject {
    #[schema(value_type = Name)]
    pub name: String,
}

impl From<RenameProject> for app::RenameProject {
    fn from(rename_project: RenameProject) -> app::RenameProject {
        let RenameProject { name } = rename_project;
        app::RenameProject { name }
    }
}

/// Share a project with a member or a workgroup (exactly one of them), replacing any share
/// they had.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShareProject {
    pub member_id: Option<MemberId>,
    pub workgroup_id: Option<WorkgroupId>,
    pub level: ShareLevel,
}

impl From<ShareProject> for app::ShareProject {
    fn from(share_project: ShareProject) -> app::ShareProject {
        let ShareProject {
            member_id,
            workgroup_id,
            level,
        } = share_project;
        app::ShareProject {
            member_id: member_id.map(Into::into),
            workgroup_id: workgroup_id.map(Into::into),
            level: level.into(),
        }
    }
}

/// The raw file of an upload: G-code, 1 byte up to the server's limit.
pub struct RawFile;

impl utoipa::PartialSchema for RawFile {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
            .description(Some(
                "The G-code file: up to the server's limit (512 MiB unless configured otherwise). \
                 Anything else (STL, 3MF, images, empty files) is refused with 422 \
                 `unsupported_file_type`.",
            ))
            .into()
    }
}

impl ToSchema for RawFile {}
