//! The file library: the member's own files and the projects they may see, each project's
//! files and shares, and one file with its analysis (or model checks), thumbnail and what can be
//! done with it (submit it, slice it, move, copy or delete it). Uploads stream into the library
//! like the API's; every change goes through the library's use cases, which decide who may.

use app::{AppError, OrgActor};
use askama::Template;
use authz::Permission as P;
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use domain::{FileId, FileKind, LibraryFile, Project, ProjectId, ShareLevel, ShareSubject};
use serde::Deserialize;

use super::error::{UiError, render};
use super::jobs::{Choice, FleetNames, member_name, project_field, thumbnail_url};
use super::pages::{NoFields, NoticeQuery, notice};
use super::session::{InOrg, checked_form};
use super::views::{self, Layout};
use crate::WebState;
use crate::extract::content_length;

type Page = Result<Response, UiError>;

/// How many files a list shows (newest first).
const FILES_SHOWN: u32 = 100;

/// A size for people: "812 B", "14.2 KiB", "3.1 MiB".
fn size_words(bytes: u64) -> String {
    #[allow(clippy::cast_precision_loss)] // Shown to one decimal: precision is not needed.
    let b = bytes as f64;
    if bytes < 1024 {
        format!("{bytes} B")
    } else if bytes < 1024 * 1024 {
        format!("{:.1} KiB", b / 1024.0)
    } else {
        format!("{:.1} MiB", b / (1024.0 * 1024.0))
    }
}

fn kind_words(kind: FileKind) -> &'static str {
    match kind {
        FileKind::Gcode => "G-code",
        FileKind::Stl => "STL model",
        FileKind::ThreeMf => "3MF model",
        FileKind::Obj => "OBJ model",
    }
}

/// A file as a line of a list.
struct FileRow {
    id: i64,
    name: String,
    kind: &'static str,
    size: String,
    owner: String,
    created: String,
    thumbnail: String,
}

fn file_row(actor: &OrgActor, file: &LibraryFile) -> FileRow {
    FileRow {
        id: file.id.get(),
        name: file.name.clone(),
        kind: kind_words(file.kind),
        size: size_words(file.size),
        owner: member_name(actor, file.owner_member_id),
        created: views::when(file.created_at),
        thumbnail: thumbnail_url(actor.org(), file),
    }
}

/// A project as a line of a list.
struct ProjectRow {
    id: i64,
    name: String,
    owner: String,
    files: i64,
    shared: String,
}

/// Who a project is shared with, in words.
fn shares_words(actor: &OrgActor, project: &Project, groups: &[domain::Workgroup]) -> String {
    project
        .shares
        .iter()
        .map(|share| {
            format!(
                "{} ({})",
                subject_name(actor, share.subject, groups),
                level_words(share.level)
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn subject_name(actor: &OrgActor, subject: ShareSubject, groups: &[domain::Workgroup]) -> String {
    match subject {
        ShareSubject::Member(member) => member_name(actor, member),
        ShareSubject::Workgroup(group) => groups.iter().find(|g| g.id == group).map_or_else(
            || format!("workgroup {group}"),
            |g| format!("workgroup {}", g.name),
        ),
    }
}

fn level_words(level: ShareLevel) -> &'static str {
    match level {
        ShareLevel::View => "may view",
        ShareLevel::Edit => "may add and remove files",
    }
}

/// The organization's workgroups, when the member may see them (else none to name or share with).
async fn workgroups(state: &WebState, actor: &OrgActor) -> Result<Vec<domain::Workgroup>, UiError> {
    match state.app.people().list_workgroups(actor).await {
        Ok(groups) => Ok(groups),
        Err(AppError::PermissionDenied { .. }) => Ok(Vec::new()),
        Err(other) => Err(other.into()),
    }
}

/// Whether the member may put files in the project (its owner, an edit share, or everyone's).
fn may_edit(actor: &OrgActor, project: &Project) -> bool {
    let groups = actor
        .policy
        .member_ix(actor.member_id())
        .map(|ix| actor.policy.member(ix).workgroups.clone())
        .unwrap_or_default();
    actor.holds(P::FilesManageAll)
        || project.level_for(actor.member_id(), &groups) == Some(ShareLevel::Edit)
}

/// Whether the member may rename, share or delete the project (its owner, or everyone's).
fn may_manage(actor: &OrgActor, project: &Project) -> bool {
    project.owner_member_id == actor.member_id() || actor.holds(P::FilesManageAll)
}

/// The projects a file may be uploaded, moved or copied into ("" first: the member's own space).
fn destinations(projects: &[Project], actor: &OrgActor, chosen: Option<ProjectId>) -> Vec<Choice> {
    let mut choices = vec![Choice {
        value: String::new(),
        label: "My own files".into(),
        selected: chosen.is_none(),
    }];
    choices.extend(
        projects
            .iter()
            .filter(|p| may_edit(actor, p))
            .map(|p| Choice {
                value: p.id.to_string(),
                label: format!("Project “{}”", p.name),
                selected: chosen == Some(p.id),
            }),
    );
    choices
}

#[derive(Template)]
#[template(path = "library.html")]
struct LibraryPage {
    layout: Layout,
    org_id: i64,
    files: Vec<FileRow>,
    projects: Vec<ProjectRow>,
    may_upload: bool,
    may_create: bool,
    upload_to: Vec<Choice>,
    notice: String,
    problem: String,
    /// The form the problem is about: `upload` or `create`.
    problem_form: &'static str,
    project_name: String,
}

async fn library_page(
    state: &WebState,
    member: &InOrg,
    done: Option<&str>,
    problem: (String, &'static str),
    project_name: String,
) -> Result<LibraryPage, UiError> {
    let actor = &member.actor;
    let files = state.app.files();
    let own = files
        .list(
            actor,
            app::FileListQuery {
                personal: true,
                limit: Some(FILES_SHOWN),
                ..Default::default()
            },
        )
        .await?;
    let projects = files.list_projects(actor).await?;
    let groups = workgroups(state, actor).await?;
    Ok(LibraryPage {
        layout: Layout::in_org(member, "Library", "library"),
        org_id: actor.org().get(),
        files: own.files.iter().map(|f| file_row(actor, f)).collect(),
        upload_to: destinations(&projects, actor, None),
        projects: projects
            .iter()
            .map(|p| ProjectRow {
                id: p.id.get(),
                name: p.name.clone(),
                owner: member_name(actor, p.owner_member_id),
                files: p.file_count,
                shared: shares_words(actor, p, &groups),
            })
            .collect(),
        may_upload: actor.holds(P::FilesUpload),
        may_create: actor.holds(P::ProjectsCreate),
        notice: notice(done),
        problem: problem.0,
        problem_form: problem.1,
        project_name,
    })
}

/// The library: the member's own files, the projects they may see, an upload form and a form to
/// start a project.
pub(crate) async fn library(
    State(state): State<WebState>,
    member: InOrg,
    Query(query): Query<NoticeQuery>,
) -> Page {
    let page = library_page(
        &state,
        &member,
        query.done.as_deref(),
        (String::new(), ""),
        String::new(),
    )
    .await?;
    Ok(render(StatusCode::OK, &page))
}

/// A refusal a page shows next to its form, in words (an internal error is the error page).
fn problem_words(error: AppError) -> Result<(StatusCode, String), UiError> {
    let status = crate::error::status(error.code());
    match error {
        AppError::NotFound { .. } => Err(UiError::NotFound),
        AppError::Internal(source) => Err(AppError::Internal(source).into()),
        AppError::PermissionDenied {
            permission, ask, ..
        } => {
            let ask = if ask.is_empty() {
                String::new()
            } else {
                format!(" Ask {} for it.", ask.join(", "))
            };
            Ok((
                status,
                format!(
                    "Your rank does not allow “{}” ({}).{ask}",
                    permission.title(),
                    permission.key()
                ),
            ))
        }
        AppError::Invalid(invalid) => Ok((
            status,
            super::pages::capitalized(&format!("{}: {}.", invalid.field, invalid.message)),
        )),
        other => Ok((status, super::pages::capitalized(&format!("{other}.")))),
    }
}

#[derive(Deserialize)]
pub(crate) struct NameForm {
    #[serde(default)]
    name: String,
}

/// Starts a project of the member's.
pub(crate) async fn create_project(
    State(state): State<WebState>,
    member: InOrg,
    request: Request,
) -> Page {
    let form: NameForm = checked_form(&member.viewer, request).await?;
    let input = app::CreateProject {
        name: form.name.clone(),
    };
    match state.app.files().create_project(&member.actor, input).await {
        Ok(project) => Ok(Redirect::to(&format!(
            "/orgs/{}/library/projects/{}?done=project-created",
            member.actor.org(),
            project.id
        ))
        .into_response()),
        Err(error) => {
            let (status, message) = problem_words(error)?;
            let page = library_page(&state, &member, None, (message, "create"), form.name).await?;
            Ok(render(status, &page))
        }
    }
}

/// A multipart form that carries a file for the library. Limits before bytes: a body announced
/// larger than a library file may be is refused unread (with room for the form's other fields).
pub(crate) async fn file_form(
    state: &WebState,
    request: Request,
) -> Result<axum::extract::Multipart, UiError> {
    let limit = state.app.settings().max_library_file_bytes;
    if content_length(request.headers())
        .is_some_and(|length| length > limit.saturating_add(1 << 20))
    {
        return Err(AppError::FileTooLarge { limit }.into());
    }
    axum::extract::Multipart::from_request(request, state)
        .await
        .map_err(|e| UiError::BadForm(e.body_text()))
}

/// Uploads a file (G-code or a model) into the member's space or a project, from a multipart
/// form whose CSRF token comes first; the file streams into the library as it arrives.
pub(crate) async fn upload(State(state): State<WebState>, member: InOrg, request: Request) -> Page {
    let actor = &member.actor;
    let mut form = file_form(&state, request).await?;
    let unreadable = |e: axum::extract::multipart::MultipartError| UiError::BadForm(e.body_text());
    let mut checked = false;
    let mut project: Option<ProjectId> = None;
    let mut uploaded: Option<Result<LibraryFile, AppError>> = None;
    while let Some(field) = form.next_field().await.map_err(unreadable)? {
        let name = field.name().unwrap_or_default().to_string();
        if !checked {
            if name != super::session::CSRF_FIELD {
                return Err(UiError::Csrf);
            }
            let token = field.text().await.map_err(unreadable)?;
            member.viewer.check_csrf(Some(&token))?;
            checked = true;
            continue;
        }
        match name.as_str() {
            // The project comes before the file in the form: the file goes straight there.
            "project" => project = project_field(&field.text().await.map_err(unreadable)?)?,
            "upload" => {
                let file_name = field.file_name().unwrap_or_default().to_string();
                if file_name.is_empty() || uploaded.is_some() {
                    let _ = field.bytes().await.map_err(unreadable)?;
                    continue;
                }
                let input = app::UploadFile {
                    name: file_name,
                    project_id: project,
                    printer_model_id: None,
                };
                uploaded = Some(state.app.files().upload(actor, input, field).await);
            }
            _ => {
                let _ = field.bytes().await.map_err(unreadable)?;
            }
        }
    }
    if !checked {
        return Err(UiError::Csrf);
    }
    let outcome = uploaded.unwrap_or_else(|| {
        Err(AppError::Invalid(domain::Invalid::new(
            "file",
            "choose a file to upload",
        )))
    });
    match outcome {
        Ok(file) => Ok(Redirect::to(&format!(
            "/orgs/{}/files/{}?done=uploaded",
            actor.org(),
            file.id
        ))
        .into_response()),
        Err(error) => {
            let (status, message) = problem_words(error)?;
            let page = match project {
                Some(project) => {
                    let page = project_page(&state, &member, project, None, message).await?;
                    return Ok(render(status, &page));
                }
                None => {
                    library_page(&state, &member, None, (message, "upload"), String::new()).await?
                }
            };
            Ok(render(status, &page))
        }
    }
}

struct ShareRow {
    subject: String,
    /// `member:ID` or `workgroup:ID`: what the remove form names.
    key: String,
    level: &'static str,
}

#[derive(Template)]
#[template(path = "project.html")]
struct ProjectPage {
    layout: Layout,
    org_id: i64,
    project_id: i64,
    name: String,
    owner: String,
    files: Vec<FileRow>,
    shares: Vec<ShareRow>,
    may_edit: bool,
    may_manage: bool,
    members: Vec<Choice>,
    groups: Vec<Choice>,
    notice: String,
    problem: String,
}

fn project_in_path(path: &(String, String)) -> Result<ProjectId, UiError> {
    path.1.parse::<ProjectId>().map_err(|_| UiError::NotFound)
}

async fn project_page(
    state: &WebState,
    member: &InOrg,
    id: ProjectId,
    done: Option<&str>,
    problem: String,
) -> Result<ProjectPage, UiError> {
    let actor = &member.actor;
    let files = state.app.files();
    let project = files.get_project(actor, id).await?;
    let listed = files
        .list(
            actor,
            app::FileListQuery {
                project_id: Some(id),
                limit: Some(FILES_SHOWN),
                ..Default::default()
            },
        )
        .await?;
    let groups = workgroups(state, actor).await?;
    let manage = may_manage(actor, &project);
    let members = if manage {
        actor
            .policy
            .org()
            .members
            .iter()
            .filter(|m| m.id != project.owner_member_id)
            .map(|m| Choice {
                value: m.id.to_string(),
                label: m.name.clone(),
                selected: false,
            })
            .collect()
    } else {
        Vec::new()
    };
    let group_choices = if manage {
        groups
            .iter()
            .map(|g| Choice {
                value: g.id.to_string(),
                label: g.name.clone(),
                selected: false,
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(ProjectPage {
        layout: Layout::in_org(member, &format!("Project {}", project.name), "library"),
        org_id: actor.org().get(),
        project_id: id.get(),
        owner: member_name(actor, project.owner_member_id),
        files: listed.files.iter().map(|f| file_row(actor, f)).collect(),
        shares: project
            .shares
            .iter()
            .map(|share| ShareRow {
                subject: subject_name(actor, share.subject, &groups),
                key: match share.subject {
                    ShareSubject::Member(m) => format!("member:{m}"),
                    ShareSubject::Workgroup(g) => format!("workgroup:{g}"),
                },
                level: level_words(share.level),
            })
            .collect(),
        may_edit: may_edit(actor, &project) && actor.holds(P::FilesUpload),
        may_manage: manage,
        members,
        groups: group_choices,
        name: project.name,
        notice: notice(done),
        problem,
    })
}

/// One project: its files, an upload form for those who may add to it, and for its owner (or
/// whoever manages everyone's files) renaming, sharing and deleting it.
pub(crate) async fn project(
    State(state): State<WebState>,
    member: InOrg,
    Path(path): Path<(String, String)>,
    Query(query): Query<NoticeQuery>,
) -> Page {
    let id = project_in_path(&path)?;
    let page = project_page(&state, &member, id, query.done.as_deref(), String::new()).await?;
    Ok(render(StatusCode::OK, &page))
}

/// After a change to a project: back to it with the notice, or the page again with the refusal.
async fn project_outcome<T>(
    state: &WebState,
    member: &InOrg,
    id: ProjectId,
    outcome: Result<T, AppError>,
    done: &str,
) -> Page {
    match outcome {
        Ok(_) => Ok(Redirect::to(&format!(
            "/orgs/{}/library/projects/{id}?done={done}",
            member.actor.org()
        ))
        .into_response()),
        Err(error) => {
            let (status, message) = problem_words(error)?;
            let page = project_page(state, member, id, None, message).await?;
            Ok(render(status, &page))
        }
    }
}

pub(crate) async fn rename_project(
    State(state): State<WebState>,
    member: InOrg,
    Path(path): Path<(String, String)>,
    request: Request,
) -> Page {
    let form: NameForm = checked_form(&member.viewer, request).await?;
    let id = project_in_path(&path)?;
    let input = app::RenameProject { name: form.name };
    let outcome = state
        .app
        .files()
        .rename_project(&member.actor, id, input)
        .await;
    project_outcome(&state, &member, id, outcome, "renamed").await
}

pub(crate) async fn delete_project(
    State(state): State<WebState>,
    member: InOrg,
    Path(path): Path<(String, String)>,
    request: Request,
) -> Page {
    let NoFields {} = checked_form(&member.viewer, request).await?;
    let id = project_in_path(&path)?;
    match state.app.files().delete_project(&member.actor, id).await {
        Ok(()) => Ok(Redirect::to(&format!(
            "/orgs/{}/library?done=project-deleted",
            member.actor.org()
        ))
        .into_response()),
        Err(error) => project_outcome::<()>(&state, &member, id, Err(error), "").await,
    }
}

#[derive(Deserialize)]
pub(crate) struct ShareForm {
    /// `member:ID` or `workgroup:ID`.
    #[serde(default)]
    with: String,
    #[serde(default)]
    level: String,
}

fn share_subject(text: &str) -> Result<ShareSubject, UiError> {
    let bad = || UiError::BadForm("choose a member or a workgroup of the list".into());
    match text.split_once(':') {
        Some(("member", id)) => Ok(ShareSubject::Member(id.parse().map_err(|_| bad())?)),
        Some(("workgroup", id)) => Ok(ShareSubject::Workgroup(id.parse().map_err(|_| bad())?)),
        _ => Err(bad()),
    }
}

/// Shares the project with a member or a workgroup, to view it or also to add and remove files.
pub(crate) async fn share_project(
    State(state): State<WebState>,
    member: InOrg,
    Path(path): Path<(String, String)>,
    request: Request,
) -> Page {
    let form: ShareForm = checked_form(&member.viewer, request).await?;
    let id = project_in_path(&path)?;
    let level = match form.level.as_str() {
        "view" => ShareLevel::View,
        "edit" => ShareLevel::Edit,
        _ => return Err(UiError::BadForm("choose view or edit".into())),
    };
    let input = match share_subject(&form.with)? {
        ShareSubject::Member(m) => app::ShareProject {
            member_id: Some(m),
            workgroup_id: None,
            level,
        },
        ShareSubject::Workgroup(g) => app::ShareProject {
            member_id: None,
            workgroup_id: Some(g),
            level,
        },
    };
    let outcome = state
        .app
        .files()
        .share_project(&member.actor, id, input)
        .await;
    project_outcome(&state, &member, id, outcome, "shared").await
}

/// Stops sharing the project with a member or a workgroup.
pub(crate) async fn unshare_project(
    State(state): State<WebState>,
    member: InOrg,
    Path(path): Path<(String, String)>,
    request: Request,
) -> Page {
    let form: ShareForm = checked_form(&member.viewer, request).await?;
    let id = project_in_path(&path)?;
    let subject = share_subject(&form.with)?;
    let outcome = state
        .app
        .files()
        .unshare_project(&member.actor, id, subject)
        .await;
    project_outcome(&state, &member, id, outcome, "unshared").await
}

#[derive(Template)]
#[template(path = "file.html")]
struct FilePage {
    layout: Layout,
    org_id: i64,
    file: FileRow,
    project: String,
    project_id: i64,
    facts: Vec<(String, String)>,
    may_submit: bool,
    may_slice: bool,
    may_change: bool,
    move_to: Vec<Choice>,
    copy_to: Vec<Choice>,
    sliced_from: Option<(i64, String)>,
    notice: String,
    problem: String,
}

fn file_in_path(path: &(String, String)) -> Result<FileId, UiError> {
    path.1.parse::<FileId>().map_err(|_| UiError::NotFound)
}

/// What the analysis (G-code) or the model checks say, as labelled lines.
fn file_facts(file: &LibraryFile, names: &FleetNames) -> Vec<(String, String)> {
    let mut facts = Vec::new();
    if let Some(a) = &file.analysis {
        facts.push(("Printing time".into(), views::duration(a.estimated_time_s)));
        facts.push((
            "Material".into(),
            format!(
                "{:.1} g ({:.2} m){}",
                a.filament_weight_g,
                a.filament_length_mm / 1000.0,
                a.metadata
                    .filament_type
                    .first()
                    .map(|m| format!(" of {m}"))
                    .unwrap_or_default()
            ),
        ));
        facts.push(("Layers".into(), a.layers.to_string()));
        if let Some(b) = &a.bounds {
            facts.push((
                "Size".into(),
                format!(
                    "{:.0} × {:.0} × {:.0} mm",
                    b.max[0] - b.min[0],
                    b.max[1] - b.min[1],
                    b.max[2] - b.min[2]
                ),
            ));
        }
        if let Some(model) = a.printer_model_id {
            facts.push(("Timed for".into(), names.model(model)));
        }
    } else if file.kind == FileKind::Gcode {
        facts.push(("Analysis".into(), "Still being analyzed.".into()));
    }
    if let Some(m) = &file.model {
        facts.push((
            "Size".into(),
            format!(
                "{:.0} × {:.0} × {:.0} mm",
                m.size_mm[0], m.size_mm[1], m.size_mm[2]
            ),
        ));
        facts.push(("Objects".into(), m.objects.to_string()));
        facts.push(("Facets".into(), m.facets.to_string()));
    }
    facts
}

async fn file_page(
    state: &WebState,
    member: &InOrg,
    id: FileId,
    done: Option<&str>,
    problem: String,
) -> Result<FilePage, UiError> {
    let actor = &member.actor;
    let files = state.app.files();
    let file = files.get(actor, id).await?;
    let projects = files.list_projects(actor).await?;
    let project = file
        .project_id
        .and_then(|p| projects.iter().find(|x| x.id == p));
    let names = FleetNames::load(state, actor).await?;
    let may_change = file.owner_member_id == actor.member_id()
        || actor.holds(P::FilesManageAll)
        || project.is_some_and(|p| may_edit(actor, p));
    let gcode = file.kind == FileKind::Gcode;
    Ok(FilePage {
        layout: Layout::in_org(member, &file.name, "library"),
        org_id: actor.org().get(),
        project: project.map(|p| p.name.clone()).unwrap_or_default(),
        project_id: project.map_or(0, |p| p.id.get()),
        facts: file_facts(&file, &names),
        may_submit: gcode && actor.holds(P::QueueSubmit),
        may_slice: !gcode && actor.holds(P::SlicerUse),
        may_change,
        move_to: destinations(&projects, actor, file.project_id),
        copy_to: destinations(&projects, actor, None),
        sliced_from: file
            .sliced_from
            .as_ref()
            .map(|s| (s.model_file_id.get(), s.model_name.clone())),
        file: file_row(actor, &file),
        notice: notice(done),
        problem,
    })
}

/// One file: its analysis or model checks and thumbnail; submitting (G-code) or slicing (a
/// model); moving, copying and deleting it for those who may.
pub(crate) async fn file(
    State(state): State<WebState>,
    member: InOrg,
    Path(path): Path<(String, String)>,
    Query(query): Query<NoticeQuery>,
) -> Page {
    let id = file_in_path(&path)?;
    let page = file_page(&state, &member, id, query.done.as_deref(), String::new()).await?;
    Ok(render(StatusCode::OK, &page))
}

#[derive(Deserialize)]
pub(crate) struct DestinationForm {
    #[serde(default)]
    project: String,
}

/// After a change to a file: on to `to`, or the file's page again with the refusal.
async fn file_outcome(
    state: &WebState,
    member: &InOrg,
    id: FileId,
    outcome: Result<String, AppError>,
) -> Page {
    match outcome {
        Ok(to) => Ok(Redirect::to(&to).into_response()),
        Err(error) => {
            let (status, message) = problem_words(error)?;
            let page = file_page(state, member, id, None, message).await?;
            Ok(render(status, &page))
        }
    }
}

pub(crate) async fn move_file(
    State(state): State<WebState>,
    member: InOrg,
    Path(path): Path<(String, String)>,
    request: Request,
) -> Page {
    relocate(&state, &member, &path, request, Relocation::Move).await
}

pub(crate) async fn copy_file(
    State(state): State<WebState>,
    member: InOrg,
    Path(path): Path<(String, String)>,
    request: Request,
) -> Page {
    relocate(&state, &member, &path, request, Relocation::Copy).await
}

/// What the move and copy forms do with a file.
#[derive(Clone, Copy)]
enum Relocation {
    Move,
    Copy,
}

/// Moves or copies the file in the path into the project the form names (or the member's own
/// space), then shows the file that results.
async fn relocate(
    state: &WebState,
    member: &InOrg,
    path: &(String, String),
    request: Request,
    how: Relocation,
) -> Page {
    let form: DestinationForm = checked_form(&member.viewer, request).await?;
    let id = file_in_path(path)?;
    let to = app::FileDestination {
        project_id: project_field(&form.project)?,
    };
    let org = member.actor.org();
    let files = state.app.files();
    let (result, done) = match how {
        Relocation::Move => (files.move_file(&member.actor, id, to).await, "moved"),
        Relocation::Copy => (files.copy_file(&member.actor, id, to).await, "copied"),
    };
    let outcome = result.map(|f| format!("/orgs/{org}/files/{}?done={done}", f.id));
    file_outcome(state, member, id, outcome).await
}

pub(crate) async fn delete_file(
    State(state): State<WebState>,
    member: InOrg,
    Path(path): Path<(String, String)>,
    request: Request,
) -> Page {
    let NoFields {} = checked_form(&member.viewer, request).await?;
    let id = file_in_path(&path)?;
    let org = member.actor.org();
    let outcome = state
        .app
        .files()
        .delete(&member.actor, id)
        .await
        .map(|()| format!("/orgs/{org}/library?done=file-deleted"));
    file_outcome(&state, &member, id, outcome).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_people_say_them() {
        assert_eq!(size_words(812), "812 B");
        assert_eq!(size_words(14_540), "14.2 KiB");
        assert_eq!(size_words(3 * 1024 * 1024 + 100_000), "3.1 MiB");
    }
}
