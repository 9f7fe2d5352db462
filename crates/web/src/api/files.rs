//! The file library: uploads (the raw file as the body, streamed), files with their analysis
//! and thumbnails, and library projects with their shares.

use authz::Permission as P;
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::TryStreamExt;
use utoipa_axum::routes;

use super::{ApiRoutes, created};
use crate::WebState;
use crate::api::errors::errors;
use crate::error::{ApiError, ApiResult, ErrorCode as E};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Org, content_length};
use crate::wire::each;
use crate::wire::files::{
    CreateProject, File, FileDestination, FileListQuery, FilePage, OrgFilePage, Project, RawFile,
    RenameProject, ShareProject, UploadQuery,
};
use crate::wire::ids::{FileId, JobId, MemberId, OrgId, ProjectId, WorkgroupId};

/// Upload a G-code file or a model to slice (STL, 3MF, OBJ; the raw request body) into the
/// library. It streams to disk as it arrives; G-code is analysed (time, filament, layers,
/// bounds, slicer metadata, thumbnails), a model checked (format, facets, objects, size: its
/// `model`); both are stored once per organization by their SHA-256. One larger than the limit
/// is refused with 413 `file_too_large` — at once when `Content-Length` says so; one that is
/// neither with 422 `unsupported_file_type` naming what it is (`found`) and what is accepted
/// (`accepted`); a model that cannot be sliced with 422 `invalid_model` saying why, or
/// `does_not_fit` when it is larger than every printer you may queue on. A name ending in
/// `.stl`, `.3mf` or `.obj` is read as that model. With the organization's G-code restriction
/// on, members without `files.upload_gcode` get 403 for G-code (models are always taken).
#[utoipa::path(post, path = "/orgs/{org_id}/files", tag = "files",
    params(("org_id" = OrgId, Path), UploadQuery),
    request_body(content = RawFile, content_type = "application/octet-stream", description = "The G-code file or model."),
    responses((status = 201, body = File)),
    extensions(("x-errors" = json!(errors(&[E::InvalidField, E::FileTooLarge, E::UnreadableBody, E::UnsupportedFileType, E::InvalidModel, E::DoesNotFit, E::ProjectReadOnly])))))]
pub async fn upload(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiQuery(query): ApiQuery<UploadQuery>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let limit = state.app.settings().max_library_file_bytes;
    // Limits before bytes: a body announced too large is refused unread.
    if content_length(&headers).is_some_and(|length| length > limit) {
        return Err(ApiError::from(app::AppError::FileTooLarge { limit }));
    }
    let file = state
        .app
        .files()
        .upload(&actor, query.into(), body.into_data_stream())
        .await?;
    Ok(created(File::of(actor.org(), file)))
}

/// The files you may see, newest first: your own, those in projects shared with you, or all
/// with `files.view.all`.
#[utoipa::path(get, path = "/orgs/{org_id}/files", tag = "files",
    params(("org_id" = OrgId, Path), FileListQuery),
    responses((status = 200, body = FilePage)),
    extensions(("x-errors" = json!(errors(&[E::InvalidField])))))]
pub async fn list_files(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiQuery(query): ApiQuery<FileListQuery>,
) -> ApiResult<Json<FilePage>> {
    let page = state.app.files().list(&actor, query.into()).await?;
    Ok(Json(FilePage::from(OrgFilePage {
        org: actor.org(),
        page,
    })))
}

/// A file with its analysis.
#[utoipa::path(get, path = "/orgs/{org_id}/files/{file_id}", tag = "files",
    params(("org_id" = OrgId, Path), ("file_id" = FileId, Path)),
    responses((status = 200, body = File)))]
pub async fn get_file(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, FileId)>,
) -> ApiResult<Json<File>> {
    let (_, id) = ids;
    let id = id.into();
    let file = state.app.files().get(&actor, id).await?;
    Ok(Json(File::of(actor.org(), file)))
}

/// A thumbnail embedded in the file, with its content type (`image/png`, `image/jpeg` or
/// `image/qoi`).
#[utoipa::path(get, path = "/orgs/{org_id}/files/{file_id}/thumbnails/{n}", tag = "files",
    params(("org_id" = OrgId, Path), ("file_id" = FileId, Path), ("n" = u32, Path, description = "The thumbnail's number, from 0.")),
    responses((status = 200, description = "The image.", content(
        (Vec<u8> = "image/png"), (Vec<u8> = "image/jpeg"), (Vec<u8> = "image/qoi")))))]
pub async fn thumbnail(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, FileId, u32)>,
) -> ApiResult<Response> {
    let (_, id, n) = ids;
    let id = id.into();
    let image = state.app.files().thumbnail(&actor, id, n).await?;
    Ok((
        [
            (header::CONTENT_TYPE, image.content_type),
            // Content-addressed: a file's thumbnails never change.
            (header::CACHE_CONTROL, "private, max-age=86400"),
        ],
        image.data,
    )
        .into_response())
}

/// The file's content, streamed.
#[utoipa::path(get, path = "/orgs/{org_id}/files/{file_id}/content", tag = "files",
    params(("org_id" = OrgId, Path), ("file_id" = FileId, Path)),
    responses((status = 200, description = "The file.", content((Vec<u8> = "application/octet-stream")))))]
pub async fn content(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, FileId)>,
) -> ApiResult<Response> {
    let (_, id) = ids;
    let id = id.into();
    let content = state.app.files().content(&actor, id).await?;
    let stream = content.stream.map_err(std::io::Error::other);
    let mut response = Body::from_stream(stream).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(content.size));
    if let Ok(value) = HeaderValue::from_str(&format!(
        "attachment; filename=\"{}\"",
        ascii_file_name(&content.file.name)
    )) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// The name as plain ASCII for `Content-Disposition` (anything else becomes `_`).
fn ascii_file_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || " .-_()".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Delete a file: yours, one in a project shared with you at edit, or any with
/// `files.manage.all`. Its content goes with the last file naming it.
#[utoipa::path(delete, path = "/orgs/{org_id}/files/{file_id}", tag = "files",
    params(("org_id" = OrgId, Path), ("file_id" = FileId, Path)),
    responses((status = 204)),
    extensions(("x-errors" = json!(errors(&[E::ProjectReadOnly])))))]
pub async fn delete_file(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, FileId)>,
) -> ApiResult<StatusCode> {
    let (_, id) = ids;
    let id = id.into();
    state.app.files().delete(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Move a file you may change into a project you may edit, or (`project_id: null`) back to
/// its owner's personal space.
#[utoipa::path(post, path = "/orgs/{org_id}/files/{file_id}/move", tag = "files",
    params(("org_id" = OrgId, Path), ("file_id" = FileId, Path)),
    request_body = FileDestination,
    responses((status = 200, body = File)),
    extensions(("x-errors" = json!(errors(&[E::ProjectReadOnly])))))]
pub async fn move_file(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, FileId)>,
    ApiJson(to): ApiJson<FileDestination>,
) -> ApiResult<Json<File>> {
    let (_, id) = ids;
    let id = id.into();
    let file = state.app.files().move_file(&actor, id, to.into()).await?;
    Ok(Json(File::of(actor.org(), file)))
}

/// Copy a file you may see into a project you may edit, or (`project_id: null`) your personal
/// space: a new file of yours with the same content (nothing is stored twice).
#[utoipa::path(post, path = "/orgs/{org_id}/files/{file_id}/copy", tag = "files",
    params(("org_id" = OrgId, Path), ("file_id" = FileId, Path)),
    request_body = FileDestination,
    responses((status = 201, body = File)),
    extensions(("x-errors" = json!(errors(&[E::ProjectReadOnly])))))]
pub async fn copy_file(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, FileId)>,
    ApiJson(to): ApiJson<FileDestination>,
) -> ApiResult<Response> {
    let (_, id) = ids;
    let id = id.into();
    let file = state.app.files().copy_file(&actor, id, to.into()).await?;
    Ok(created(File::of(actor.org(), file)))
}

/// Copy the file of a job you may see into a project you may edit, or (`project_id: null`) your
/// personal space, even when the file's own project is hidden from you.
#[utoipa::path(post, path = "/orgs/{org_id}/jobs/{job_id}/copy-file", tag = "files",
    params(("org_id" = OrgId, Path), ("job_id" = JobId, Path)),
    request_body = FileDestination,
    responses((status = 201, body = File)),
    extensions(("x-errors" = json!(errors(&[E::ProjectReadOnly])))))]
pub async fn copy_job_file(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, JobId)>,
    ApiJson(to): ApiJson<FileDestination>,
) -> ApiResult<Response> {
    let (_, job) = ids;
    let files = state.app.files();
    let file = files.copy_job_file(&actor, job.into(), to.into()).await?;
    Ok(created(File::of(actor.org(), file)))
}

/// The library projects you may see: yours, those shared with you (directly or through a
/// workgroup), or all with `files.view.all`.
#[utoipa::path(get, path = "/orgs/{org_id}/projects", tag = "files",
    params(("org_id" = OrgId, Path)),
    responses((status = 200, body = Vec<Project>)))]
pub async fn list_projects(
    State(state): State<WebState>,
    Org(actor): Org,
) -> ApiResult<Json<Vec<Project>>> {
    Ok(Json(each(state.app.files().list_projects(&actor).await?)))
}

/// Create a library project that you own.
#[utoipa::path(post, path = "/orgs/{org_id}/projects", tag = "files",
    params(("org_id" = OrgId, Path)),
    request_body = CreateProject,
    responses((status = 201, body = Project)),
    extensions(("x-errors" = json!(errors(&[E::InvalidField, E::NameTaken])))))]
pub async fn create_project(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiJson(input): ApiJson<CreateProject>,
) -> ApiResult<Response> {
    let project = state
        .app
        .files()
        .create_project(&actor, input.into())
        .await?;
    Ok(created(Project::from(project)))
}

/// A library project with its shares.
#[utoipa::path(get, path = "/orgs/{org_id}/projects/{project_id}", tag = "files",
    params(("org_id" = OrgId, Path), ("project_id" = ProjectId, Path)),
    responses((status = 200, body = Project)))]
pub async fn get_project(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, ProjectId)>,
) -> ApiResult<Json<Project>> {
    let (_, id) = ids;
    let id = id.into();
    Ok(Json(
        state.app.files().get_project(&actor, id).await?.into(),
    ))
}

/// Rename a project you own (or any, with `files.manage.all`).
#[utoipa::path(patch, path = "/orgs/{org_id}/projects/{project_id}", tag = "files",
    params(("org_id" = OrgId, Path), ("project_id" = ProjectId, Path)),
    request_body = RenameProject,
    responses((status = 200, body = Project)),
    extensions(("x-errors" = json!(errors(&[E::InvalidField, E::NameTaken])))))]
pub async fn rename_project(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, ProjectId)>,
    ApiJson(input): ApiJson<RenameProject>,
) -> ApiResult<Json<Project>> {
    let (_, id) = ids;
    let id = id.into();
    let files = state.app.files();
    let project = files.rename_project(&actor, id, input.into()).await?;
    Ok(Json(project.into()))
}

/// Delete an empty project you own (or any, with `files.manage.all`).
#[utoipa::path(delete, path = "/orgs/{org_id}/projects/{project_id}", tag = "files",
    params(("org_id" = OrgId, Path), ("project_id" = ProjectId, Path)),
    responses((status = 204)),
    extensions(("x-errors" = json!(errors(&[E::ProjectNotEmpty])))))]
pub async fn delete_project(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, ProjectId)>,
) -> ApiResult<StatusCode> {
    let (_, id) = ids;
    let id = id.into();
    state.app.files().delete_project(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Share a project you own (or any, with `files.manage.all`) with a member or a workgroup at
/// `view` or `edit`, replacing any share they had.
#[utoipa::path(put, path = "/orgs/{org_id}/projects/{project_id}/shares", tag = "files",
    params(("org_id" = OrgId, Path), ("project_id" = ProjectId, Path)),
    request_body = ShareProject,
    responses((status = 200, body = Project)),
    extensions(("x-errors" = json!(errors(&[E::InvalidField])))))]
pub async fn share_project(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, ProjectId)>,
    ApiJson(input): ApiJson<ShareProject>,
) -> ApiResult<Json<Project>> {
    let (_, id) = ids;
    let id = id.into();
    let files = state.app.files();
    let project = files.share_project(&actor, id, input.into()).await?;
    Ok(Json(project.into()))
}

/// Stop sharing a project with a member.
#[utoipa::path(delete, path = "/orgs/{org_id}/projects/{project_id}/shares/members/{member_id}", tag = "files",
    params(("org_id" = OrgId, Path), ("project_id" = ProjectId, Path), ("member_id" = MemberId, Path)),
    responses((status = 200, body = Project)))]
pub async fn unshare_member(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, ProjectId, MemberId)>,
) -> ApiResult<Json<Project>> {
    let (_, id, member) = ids;
    let id = id.into();
    let subject = domain::ShareSubject::Member(member.into());
    let files = state.app.files();
    let project = files.unshare_project(&actor, id, subject).await?;
    Ok(Json(project.into()))
}

/// Stop sharing a project with a workgroup.
#[utoipa::path(delete, path = "/orgs/{org_id}/projects/{project_id}/shares/workgroups/{workgroup_id}", tag = "files",
    params(("org_id" = OrgId, Path), ("project_id" = ProjectId, Path), ("workgroup_id" = WorkgroupId, Path)),
    responses((status = 200, body = Project)))]
pub async fn unshare_workgroup(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, ProjectId, WorkgroupId)>,
) -> ApiResult<Json<Project>> {
    let (_, id, group) = ids;
    let id = id.into();
    let subject = domain::ShareSubject::Workgroup(group.into());
    let files = state.app.files();
    let project = files.unshare_project(&actor, id, subject).await?;
    Ok(Json(project.into()))
}

/// This module's operations and what each requires. Beyond the route's permission, the file
/// or project itself decides (ownership, shares); `.all` permissions reach everyone's.
pub(super) fn routes(api: ApiRoutes) -> ApiRoutes {
    let view_or_all = &[P::FilesViewAll, P::FilesManageAll];
    let change_or_all = &[P::FilesManageAll];
    api.permission_also(P::FilesUpload, &[P::FilesUploadGcode], routes!(upload))
        .permission_also(P::FilesView, view_or_all, routes!(list_files))
        .permission_also(P::FilesView, view_or_all, routes!(get_file))
        .permission_also(P::FilesView, view_or_all, routes!(thumbnail))
        .permission_also(P::FilesView, view_or_all, routes!(content))
        .permission_also(P::FilesView, change_or_all, routes!(delete_file))
        .permission_also(P::FilesView, change_or_all, routes!(move_file))
        .permission_also(P::FilesView, view_or_all, routes!(copy_file))
        .permission_also(P::FilesView, view_or_all, routes!(copy_job_file))
        .permission_also(P::FilesView, view_or_all, routes!(list_projects))
        .permission(P::ProjectsCreate, routes!(create_project))
        .permission_also(P::FilesView, view_or_all, routes!(get_project))
        .permission_also(P::FilesView, change_or_all, routes!(rename_project))
        .permission_also(P::FilesView, change_or_all, routes!(delete_project))
        .permission_also(P::FilesView, change_or_all, routes!(share_project))
        .permission_also(P::FilesView, change_or_all, routes!(unshare_member))
        .permission_also(P::FilesView, change_or_all, routes!(unshare_workgroup))
}
