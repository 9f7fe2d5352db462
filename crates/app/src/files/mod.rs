//! The file library: uploads (streamed to the staging directory, sniffed, analysed off the
//! runtime, stored once per organization by SHA-256 in the blob store), their thumbnails and
//! contents, and library projects with their shares.
//!
//! Who sees what: other organizations never see anything (every query is by organization); a
//! member sees their own files, the projects they own or that are shared with them (directly or
//! through a workgroup) with the files in them, and everything with `files.view.all` or
//! `files.manage.all`. What a member cannot see answers "not found", exactly like what does
//! not exist. Changing a file (moving, deleting) needs its ownership, edit on its project, or
//! `files.manage.all`; changing a project (renaming, sharing, deleting) its ownership or
//! `files.manage.all`.

pub(crate) mod analysis;
mod projects;
mod sniff;

pub use projects::{CreateProject, RenameProject, ShareProject};
pub use sniff::FoundKind;

use authz::Permission;
use bytes::Bytes;
use domain::{
    ContentHash, FileId, FileKind, JobId, LibraryFile, MemberId, PrinterModelId, Project,
    ProjectId, ShareLevel, WorkgroupId,
};
use futures::Stream;
use serde_json::json;
use store::{FilePlace, FileQuery, Visibility};

use crate::App;
use crate::actor::OrgActor;
use crate::error::{AppError, AppResult};
use crate::unit_of_work::{Audit, Changes, Found, UnitOfWork};

/// Largest file accepted in the library unless configured otherwise.
pub const MAX_LIBRARY_FILE_BYTES: u64 = 512 * 1024 * 1024;

/// The use cases of the file library.
#[derive(Clone, Copy)]
pub struct Files<'a> {
    pub(crate) app: &'a App,
}

impl App {
    pub fn files(&self) -> Files<'_> {
        Files { app: self }
    }
}

/// How an upload is named and placed.
#[derive(Debug, Clone, Default)]
pub struct UploadFile {
    pub name: String,
    /// The project to put it in (one the uploader may edit); `None`: their personal space.
    pub project_id: Option<ProjectId>,
    /// The printer model whose motion limits time it; `None`: the default profile.
    pub printer_model_id: Option<PrinterModelId>,
}

/// Where to move or copy a file.
#[derive(Debug, Clone)]
pub struct FileDestination {
    /// A project the actor may edit; `null`: the file owner's personal space (for a copy, the
    /// actor's own).
    pub project_id: Option<ProjectId>,
}

/// Which files to list.
#[derive(Debug, Clone, Default)]
pub struct FileListQuery {
    /// Only this project's files.
    pub project_id: Option<ProjectId>,
    /// Only the actor's personal space (files of theirs in no project).
    pub personal: bool,
    pub cursor: Option<FileId>,
    pub limit: Option<u32>,
}

/// A page of files, newest first.
#[derive(Debug, Clone)]
pub struct FilePage {
    pub files: Vec<LibraryFile>,
    /// Pass as `cursor` for the next page; `None` on the last.
    pub next_cursor: Option<FileId>,
}

/// A thumbnail's image.
#[derive(Debug, Clone)]
pub struct Thumbnail {
    pub content_type: &'static str,
    pub data: Vec<u8>,
}

/// A file's content as it is read from the blob store.
pub struct FileContent {
    pub file: LibraryFile,
    pub size: u64,
    pub stream: futures::stream::BoxStream<'static, Result<Bytes, store::StoreError>>,
}

fn file_summary(file: &LibraryFile) -> serde_json::Value {
    json!({
        "name": file.name, "sha256": file.sha256, "size": file.size, "kind": file.kind.key(),
        "owner_member_id": file.owner_member_id, "project_id": file.project_id,
    })
}

/// What the actor may do with something in the library.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Reach {
    None,
    View,
    Edit,
}

impl From<Option<ShareLevel>> for Reach {
    fn from(level: Option<ShareLevel>) -> Reach {
        match level {
            None => Reach::None,
            Some(ShareLevel::View) => Reach::View,
            Some(ShareLevel::Edit) => Reach::Edit,
        }
    }
}

/// The actor as the library sees them: who they are, their workgroups, and what their rank
/// lets them see and change beyond their own.
pub(crate) struct Viewer {
    member: MemberId,
    workgroups: Vec<WorkgroupId>,
    view_all: bool,
    manage_all: bool,
}

impl Viewer {
    pub(crate) async fn of(conn: &mut store::Conn, actor: &OrgActor) -> AppResult<Viewer> {
        Ok(Viewer {
            member: actor.member_id(),
            workgroups: store::workgroups_of_member(conn, actor.member_id()).await?,
            view_all: actor.holds(Permission::FilesViewAll),
            manage_all: actor.holds(Permission::FilesManageAll),
        })
    }

    fn visibility(&self) -> Visibility {
        if self.view_all || self.manage_all {
            Visibility::All
        } else {
            Visibility::Member(self.member)
        }
    }

    pub(crate) fn project_reach(&self, project: &Project) -> Reach {
        if self.manage_all {
            return Reach::Edit;
        }
        let shared = Reach::from(project.level_for(self.member, &self.workgroups));
        if self.view_all {
            shared.max(Reach::View)
        } else {
            shared
        }
    }

    /// What the actor may do with `file`, in `project` (its project, if any).
    fn file_reach(&self, file: &LibraryFile, project: Option<&Project>) -> Reach {
        if self.manage_all || file.owner_member_id == self.member {
            return Reach::Edit;
        }
        let through_project = project.map_or(Reach::None, |p| self.project_reach(p));
        if self.view_all {
            through_project.max(Reach::View)
        } else {
            through_project
        }
    }
}

/// Loads a file and what the actor may do with it; one they cannot see is "not found".
pub(crate) async fn reachable_file(
    conn: &mut store::Conn,
    viewer: &Viewer,
    org: domain::OrgId,
    id: FileId,
) -> AppResult<(LibraryFile, Reach)> {
    let file = store::get_file(conn, org, id).await.found("file")?;
    let project = match file.project_id {
        Some(project) => store::get_project(conn, org, project).await?,
        None => None,
    };
    match viewer.file_reach(&file, project.as_ref()) {
        Reach::None => Err(AppError::not_found("file")),
        reach => Ok((file, reach)),
    }
}

/// Loads a project the actor may see; one they cannot see is "not found".
pub(crate) async fn reachable_project(
    conn: &mut store::Conn,
    viewer: &Viewer,
    org: domain::OrgId,
    id: ProjectId,
) -> AppResult<(Project, Reach)> {
    let project = store::get_project(conn, org, id).await.found("project")?;
    match viewer.project_reach(&project) {
        Reach::None => Err(AppError::not_found("project")),
        reach => Ok((project, reach)),
    }
}

/// Refuses unless the actor may put files in `project` (`None`: their personal space).
async fn require_destination(
    conn: &mut store::Conn,
    viewer: &Viewer,
    org: domain::OrgId,
    project: Option<ProjectId>,
) -> AppResult<()> {
    let Some(project) = project else {
        return Ok(());
    };
    let (project, reach) = reachable_project(conn, viewer, org, project).await?;
    if reach < Reach::Edit {
        return Err(read_only_project(&project));
    }
    Ok(())
}

fn read_only_project(project: &Project) -> AppError {
    AppError::conflict(
        crate::error::ErrorCode::ProjectReadOnly,
        format!(
            "the project {:?} is shared with you to view only; ask its owner for edit",
            project.name
        ),
    )
}

fn read_only_file(file: &LibraryFile) -> AppError {
    AppError::conflict(
        crate::error::ErrorCode::ProjectReadOnly,
        format!(
            "the file {:?} is in a project shared with you to view only; ask its owner for edit",
            file.name
        ),
    )
}

impl Files<'_> {
    /// Receives a file (the request body, streamed to the staging directory) into the
    /// library. Everything that can be refused without the file is refused before a byte of
    /// it is read; what is not G-code is refused once its first bytes are in; nothing is
    /// recorded or stored unless the whole file arrived.
    pub async fn upload<S, E>(
        &self,
        actor: &OrgActor,
        input: UploadFile,
        body: S,
    ) -> AppResult<LibraryFile>
    where
        S: Stream<Item = Result<Bytes, E>> + Send,
        E: std::fmt::Display,
    {
        actor.require(Permission::FilesUpload)?;
        let name = crate::control::check_file_name(&input.name)?;
        let named_model = model_extension(&name);
        let profile = {
            let mut conn = self.app.store().read().await?;
            if named_model.is_none() {
                require_gcode_upload(&mut conn, actor).await?;
            }
            let viewer = Viewer::of(&mut conn, actor).await?;
            require_destination(&mut conn, &viewer, actor.org(), input.project_id).await?;
            self.profile(&mut conn, actor, input.printer_model_id)
                .await?
        };
        let limit = self.app.settings().max_library_file_bytes;
        let staged = self.app.stage_upload(body, limit).await?;
        let path = staged.file().path().to_owned();
        let size = staged.size();
        let found = {
            let path = path.clone();
            tokio::task::spawn_blocking(move || sniff::sniff_file(&path, size))
                .await
                .map_err(AppError::internal)?
                .map_err(AppError::internal)?
        };
        let kind = match (named_model, found) {
            (Some(kind), _) => kind,
            (None, FoundKind::StlAscii | FoundKind::StlBinary) => FileKind::Stl,
            (None, FoundKind::ThreeMfOrZip) => FileKind::ThreeMf,
            (None, FoundKind::Obj) => FileKind::Obj,
            (None, FoundKind::Gcode) => FileKind::Gcode,
            (None, other) => return Err(AppError::UnsupportedFile(other)),
        };
        let (analysed, model) = if kind.is_model() {
            let facts = check_model(path.clone(), kind, size).await?;
            let models = {
                let mut conn = self.app.store().read().await?;
                store::list_printer_models(&mut conn, actor.org()).await?
            };
            crate::slicing::fits_some_printer(actor, &models, &facts.size_mm)
                .map_err(|why| AppError::conflict(crate::error::ErrorCode::DoesNotFit, why))?;
            (None, Some(facts))
        } else {
            let analysed =
                analysis::analyse_file(path.clone(), profile, input.printer_model_id).await?;
            (Some(analysed), None)
        };
        let hash = ContentHash::from_digest(*staged.file().sha256());
        let blobs = &self.app.settings().blobs;
        if !blobs.contains(actor.org(), &hash).await? {
            blobs.put_file(actor.org(), &hash, &path).await?;
        }
        let mut uow = self.app.begin(actor, Changes::Data).await?;
        // Rights and places may have moved while the file arrived.
        let now_actor = uow.actor().clone();
        now_actor.require(Permission::FilesUpload)?;
        if !kind.is_model() {
            require_gcode_upload(uow.conn(), &now_actor).await?;
        }
        let viewer = Viewer::of(uow.conn(), &now_actor).await?;
        require_destination(uow.conn(), &viewer, actor.org(), input.project_id).await?;
        let thumbnails: Vec<store::NewThumbnail<'_>> = analysed
            .iter()
            .flat_map(|a| a.analysis.thumbnails.iter().zip(&a.images))
            .map(|(info, data)| store::NewThumbnail {
                format: &info.format,
                width: info.width,
                height: info.height,
                data,
            })
            .collect();
        let now = uow.now();
        store::insert_blob(uow.conn(), actor.org(), &hash, size, &thumbnails, now).await?;
        let new = store::NewFile {
            name: &name,
            sha256: &hash,
            size,
            kind,
            owner: actor.member_id(),
            project: input.project_id,
            analysis: analysed.as_ref().map(|a| &a.analysis),
            model: model.as_ref(),
            sliced_from: None,
        };
        let id = store::insert_file(uow.conn(), actor.org(), &new, now).await?;
        let file = store::get_file(uow.conn(), actor.org(), id)
            .await
            .found("file")?;
        uow.audit(Audit::of("file.upload", "file", id).after(file_summary(&file)));
        uow.commit().await?;
        // A deletion of the last other copy may have removed the bytes between the check
        // above and this commit (it removes them inside its own transaction, which this one
        // waited for): put them back. The staged file is still here.
        if !blobs.contains(actor.org(), &hash).await? {
            blobs.put_file(actor.org(), &hash, &path).await?;
        }
        Ok(file)
    }

    /// The motion profile of the printer model named (one of the organization's), or the
    /// default.
    async fn profile(
        &self,
        conn: &mut store::Conn,
        actor: &OrgActor,
        model: Option<PrinterModelId>,
    ) -> AppResult<gcode::Profile> {
        let Some(model) = model else {
            return Ok(gcode::Profile::default());
        };
        let model = store::get_printer_model(conn, actor.org(), model)
            .await
            .found("printer model")?;
        let motion = model.motion.as_object().cloned().unwrap_or_default();
        // A model's limits were checked when they were saved; a profile that no longer
        // checks out (an older rule) falls back to the default rather than failing uploads.
        Ok(crate::fleet::motion_profile(&motion).unwrap_or_default())
    }

    pub async fn get(&self, actor: &OrgActor, id: FileId) -> AppResult<LibraryFile> {
        actor.require(Permission::FilesView)?;
        let mut conn = self.app.store().read().await?;
        let viewer = Viewer::of(&mut conn, actor).await?;
        Ok(reachable_file(&mut conn, &viewer, actor.org(), id).await?.0)
    }

    /// The files the actor may see, newest first, a page at a time.
    pub async fn list(&self, actor: &OrgActor, query: FileListQuery) -> AppResult<FilePage> {
        actor.require(Permission::FilesView)?;
        let limit = crate::paging::page_size(query.limit)?;
        let mut conn = self.app.store().read().await?;
        let viewer = Viewer::of(&mut conn, actor).await?;
        let place = match (query.project_id, query.personal) {
            (Some(_), true) => {
                return Err(AppError::Invalid(domain::Invalid::new(
                    "personal",
                    "cannot be combined with project_id",
                )));
            }
            (Some(project), false) => {
                reachable_project(&mut conn, &viewer, actor.org(), project).await?;
                FilePlace::Project(project)
            }
            (None, true) => FilePlace::PersonalSpace(actor.member_id()),
            (None, false) => FilePlace::Anywhere,
        };
        let visibility = match place {
            // Whoever sees a project sees every file in it.
            FilePlace::Project(_) => Visibility::All,
            _ => viewer.visibility(),
        };
        let files = store::list_files(
            &mut conn,
            actor.org(),
            &FileQuery {
                visibility,
                place,
                before: query.cursor,
                limit,
            },
        )
        .await?;
        let full = files.len() == usize::try_from(limit).unwrap_or(usize::MAX);
        let next_cursor = if full {
            files.last().map(|f| f.id)
        } else {
            None
        };
        Ok(FilePage { files, next_cursor })
    }

    /// Thumbnail `n` of a file the actor may see.
    pub async fn thumbnail(&self, actor: &OrgActor, id: FileId, n: u32) -> AppResult<Thumbnail> {
        let file = self.get(actor, id).await?;
        let info = file
            .analysis
            .as_ref()
            .and_then(|a| a.thumbnails.iter().find(|t| t.n == n))
            .ok_or(AppError::not_found("thumbnail"))?;
        let mut conn = self.app.store().read().await?;
        let image = store::get_thumbnail(&mut conn, actor.org(), &file.sha256, n)
            .await
            .found("thumbnail")?;
        Ok(Thumbnail {
            content_type: info.content_type(),
            data: image.data,
        })
    }

    /// The content of a file the actor may see, streamed from the blob store.
    pub async fn content(&self, actor: &OrgActor, id: FileId) -> AppResult<FileContent> {
        let file = self.get(actor, id).await?;
        let reader = self
            .app
            .settings()
            .blobs
            .read(actor.org(), &file.sha256)
            .await?;
        Ok(FileContent {
            file,
            size: reader.size,
            stream: reader.stream,
        })
    }

    /// Deletes a file the actor may change. A file that jobs print from only leaves the
    /// library (the jobs, their history and reprints keep it); content goes with the last file
    /// naming it.
    pub async fn delete(&self, actor: &OrgActor, id: FileId) -> AppResult<()> {
        let mut uow = self.app.begin(actor, Changes::Data).await?;
        uow.actor().require(Permission::FilesView)?;
        let file = self.editable_file(&mut uow, id).await?;
        let (org, now) = (actor.org(), uow.now());
        let removal = store::remove_file(uow.conn(), org, id, now).await?;
        if removal == store::FileRemoval::Deleted
            && !store::blob_in_use(uow.conn(), org, &file.sha256).await?
        {
            store::delete_blob(uow.conn(), org, &file.sha256).await?;
            // Inside the transaction: an upload of the same content waits for it, then finds
            // the bytes gone and puts them back (see `upload`).
            self.app.settings().blobs.delete(org, &file.sha256).await?;
        }
        uow.audit(Audit::of("file.delete", "file", id).before(file_summary(&file)));
        uow.commit().await
    }

    /// Moves a file the actor may change into a project they may edit, or (with `None`) to
    /// its owner's personal space.
    pub async fn move_file(
        &self,
        actor: &OrgActor,
        id: FileId,
        to: FileDestination,
    ) -> AppResult<LibraryFile> {
        let mut uow = self.app.begin(actor, Changes::Data).await?;
        uow.actor().require(Permission::FilesView)?;
        let before = self.editable_file(&mut uow, id).await?;
        let now_actor = uow.actor().clone();
        let viewer = Viewer::of(uow.conn(), &now_actor).await?;
        require_destination(uow.conn(), &viewer, actor.org(), to.project_id).await?;
        store::set_file_project(uow.conn(), actor.org(), id, to.project_id).await?;
        let file = store::get_file(uow.conn(), actor.org(), id)
            .await
            .found("file")?;
        uow.audit(
            Audit::of("file.move", "file", id)
                .before(json!({ "project_id": before.project_id }))
                .after(json!({ "project_id": file.project_id })),
        );
        uow.commit().await?;
        Ok(file)
    }

    /// Copies a file the actor may see into a project they may edit, or (with `None`) their
    /// personal space: a new file of theirs naming the same content (nothing is duplicated).
    pub async fn copy_file(
        &self,
        actor: &OrgActor,
        id: FileId,
        to: FileDestination,
    ) -> AppResult<LibraryFile> {
        let mut uow = self.app.begin(actor, Changes::Data).await?;
        uow.actor().require(Permission::FilesView)?;
        let now_actor = uow.actor().clone();
        let viewer = Viewer::of(uow.conn(), &now_actor).await?;
        let (source, _) = reachable_file(uow.conn(), &viewer, actor.org(), id).await?;
        require_destination(uow.conn(), &viewer, actor.org(), to.project_id).await?;
        let copy = copy_into(&mut uow, &source, to, json!({ "from_file_id": id })).await?;
        uow.commit().await?;
        Ok(copy)
    }

    /// Copies the file of a job the actor may see into the library (UltiMaker: "copy to
    /// library"), even when the file's own project is hidden from them: an approver keeps what
    /// they approved.
    pub async fn copy_job_file(
        &self,
        actor: &OrgActor,
        job: JobId,
        to: FileDestination,
    ) -> AppResult<LibraryFile> {
        let mut uow = self.app.begin(actor, Changes::Data).await?;
        uow.actor().require(Permission::FilesView)?;
        let now_actor = uow.actor().clone();
        let job = crate::jobs::visible_job(uow.conn(), &now_actor, job).await?;
        let viewer = Viewer::of(uow.conn(), &now_actor).await?;
        require_destination(uow.conn(), &viewer, actor.org(), to.project_id).await?;
        let source = store::get_job_file_entry(uow.conn(), actor.org(), job.file_id)
            .await
            .found("file")?;
        let origin = json!({ "from_file_id": job.file_id, "from_job_id": job.id });
        let copy = copy_into(&mut uow, &source, to, origin).await?;
        uow.commit().await?;
        Ok(copy)
    }

    /// Loads a file the actor may change inside the unit of work.
    async fn editable_file(
        &self,
        uow: &mut UnitOfWork<OrgActor>,
        id: FileId,
    ) -> AppResult<LibraryFile> {
        let actor = uow.actor().clone();
        let viewer = Viewer::of(uow.conn(), &actor).await?;
        let (file, reach) = reachable_file(uow.conn(), &viewer, actor.org(), id).await?;
        if reach < Reach::Edit {
            return Err(read_only_file(&file));
        }
        Ok(file)
    }
}

/// A new library entry for the same bytes (content-addressed: nothing is stored twice), owned
/// by the actor, in `to`.
async fn copy_into(
    uow: &mut UnitOfWork<OrgActor>,
    source: &LibraryFile,
    to: FileDestination,
    origin: serde_json::Value,
) -> AppResult<LibraryFile> {
    let (org, owner, now) = (uow.actor().org(), uow.actor().member_id(), uow.now());
    let new = store::NewFile {
        name: &source.name,
        sha256: &source.sha256,
        size: source.size,
        kind: source.kind,
        owner,
        project: to.project_id,
        analysis: source.analysis.as_ref(),
        model: source.model.as_ref(),
        sliced_from: source.sliced_from.as_ref(),
    };
    let copy_id = store::insert_file(uow.conn(), org, &new, now).await?;
    let copy = store::get_file(uow.conn(), org, copy_id)
        .await
        .found("file")?;
    let mut after = origin;
    after["file"] = file_summary(&copy);
    uow.audit(Audit::of("file.copy", "file", copy_id).after(after));
    Ok(copy)
}

/// The model kind a file name says (`.stl`, `.3mf`, `.obj`, any case).
fn model_extension(name: &str) -> Option<FileKind> {
    let (_, extension) = name.rsplit_once('.')?;
    match extension.to_ascii_lowercase().as_str() {
        "stl" => Some(FileKind::Stl),
        "3mf" => Some(FileKind::ThreeMf),
        "obj" => Some(FileKind::Obj),
        _ => None,
    }
}

/// Reads a model with the model checks, off the runtime: its facets, objects and size, or a
/// refusal saying what is wrong with it.
async fn check_model(
    path: std::path::PathBuf,
    kind: FileKind,
    size: u64,
) -> AppResult<domain::ModelFacts> {
    let read = tokio::task::spawn_blocking(move || {
        let file = std::io::BufReader::new(std::fs::File::open(path)?);
        let read = match kind {
            FileKind::ThreeMf => mesh::read_3mf(file),
            FileKind::Obj => mesh::read_obj(file),
            _ => mesh::read_stl(file, size),
        };
        Ok::<_, std::io::Error>(read)
    })
    .await
    .map_err(AppError::internal)?
    .map_err(AppError::internal)?;
    let info = match read {
        Ok(info) => info,
        Err(mesh::Error::Io(e)) => return Err(AppError::internal(std::io::Error::other(e))),
        Err(e) => return Err(AppError::InvalidModel(e.to_string())),
    };
    Ok(domain::ModelFacts {
        format: info.format.key().to_string(),
        facets: info.facets,
        objects: info.objects,
        bounds: domain::FileBounds {
            min: info.bounds.min,
            max: info.bounds.max,
        },
        size_mm: info.size,
    })
}

/// With the organization's G-code restriction on, only members holding `files.upload_gcode`
/// upload G-code (3DPrinterOS: "Disable GCODE file upload for Regular Users").
async fn require_gcode_upload(conn: &mut store::Conn, actor: &OrgActor) -> AppResult<()> {
    let org = store::get_org(conn, actor.org())
        .await
        .found("organization")?;
    if org.gcode_upload_restricted {
        actor.require(Permission::FilesUploadGcode)?;
    }
    Ok(())
}
