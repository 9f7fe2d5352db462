//! Slicing on the server: slices of models in the library, the settings a member may change,
//! and the organization's slicing profiles.

use authz::Permission as P;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::Stream;
use std::convert::Infallible;
use std::time::Duration;
use utoipa_axum::routes;

use super::{ApiRoutes, created};
use crate::WebState;
use crate::api::errors::errors;
use crate::error::ApiResult;
use crate::error::ErrorCode as E;
use crate::extract::{ApiJson, ApiPath, ApiQuery, Org};
use crate::wire::each;
use crate::wire::ids::{FileId, OrgId, SliceId, SlicerProfileId};
use crate::wire::slicing::{
    LockInput, ProfileInput, ProfileQuery, SettingsQuery, Slice, SliceAccepted, SlicerLock,
    SlicerProfile, SlicerSettings, StartSlice,
};

/// Slice a model (STL, 3MF or OBJ) you may see into G-code for a printer model, with PrusaSlicer
/// on the server. The slice is queued in the slicing pool: follow it with `GET …/slices/{id}`
/// (`queued`, `slicing` with `progress`, then `done` with `gcode_file_id`, `failed` with a
/// `message`, or `cancelled`). A setting you may not change is 403 naming the setting and the
/// permission it needs; an unknown setting or a value out of bounds is 422; a model that, as
/// placed, is larger than the printer model's build volume is 422 `does_not_fit` with both
/// sizes (with `auto_rotate`, the size as turned is only known when it is sliced: a model that
/// does not fit then ends its slice `failed` with both sizes).
#[utoipa::path(post, path = "/orgs/{org_id}/files/{file_id}/slices", tag = "slicing",
    params(("org_id" = OrgId, Path), ("file_id" = FileId, Path)),
    request_body = StartSlice,
    responses((status = 202, body = SliceAccepted)),
    extensions(("x-errors" = json!(errors(&[E::InvalidField, E::DoesNotFit])))))]
pub async fn start_slice(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, FileId)>,
    ApiJson(input): ApiJson<StartSlice>,
) -> ApiResult<Response> {
    let (_, file) = ids;
    let StartSlice {
        printer_model_id,
        profile_id,
        settings,
        copies,
        scale_percent,
        rotate_z_deg,
        auto_rotate,
    } = input;
    let defaults = domain::Placement::default();
    let slice = state
        .app
        .slicing()
        .start(
            &actor,
            app::StartSlice {
                file_id: file.into(),
                printer_model_id: printer_model_id.into(),
                profile_id: profile_id.map(Into::into),
                settings,
                placement: domain::Placement {
                    copies: copies.unwrap_or(defaults.copies),
                    scale_percent: scale_percent.unwrap_or(defaults.scale_percent),
                    rotate_z_deg: rotate_z_deg.unwrap_or(defaults.rotate_z_deg),
                    auto_rotate: auto_rotate.unwrap_or(defaults.auto_rotate),
                },
            },
        )
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(SliceAccepted {
            id: slice.id.into(),
            state: slice.state.into(),
        }),
    )
        .into_response())
}

/// A slice of the model: your own, or any with `files.view.all`.
#[utoipa::path(get, path = "/orgs/{org_id}/files/{file_id}/slices/{slice_id}", tag = "slicing",
    params(("org_id" = OrgId, Path), ("file_id" = FileId, Path), ("slice_id" = SliceId, Path)),
    responses((status = 200, body = Slice)))]
pub async fn get_slice(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, FileId, SliceId)>,
) -> ApiResult<Json<Slice>> {
    let (_, file, id) = ids;
    let slice = state
        .app
        .slicing()
        .get(&actor, file.into(), id.into())
        .await?;
    Ok(Json(slice.into()))
}

/// How long one slice event stream lasts at most; a client reconnects for more.
const STREAM_LIFETIME: Duration = Duration::from_secs(300);
/// How often the slice is looked at for a change.
const STREAM_POLL: Duration = Duration::from_millis(250);

/// Server-sent events of a slice: a `slice` event (its data a Slice) now, then one at each
/// change of its state or progress; the stream ends after the one that says `done`, `failed`
/// or `cancelled` (or after five minutes: reconnect for more).
#[utoipa::path(get, path = "/orgs/{org_id}/files/{file_id}/slices/{slice_id}/events", tag = "slicing",
    params(("org_id" = OrgId, Path), ("file_id" = FileId, Path), ("slice_id" = SliceId, Path)),
    responses((status = 200, content_type = "text/event-stream", description = "`slice` events whose data is a Slice")))]
pub async fn slice_events(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, FileId, SliceId)>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let (_, file, id) = ids;
    let (file, id): (domain::FileId, domain::SliceId) = (file.into(), id.into());
    let app = state.app.clone();
    let first = app.slicing().get(&actor, file, id).await?;
    let stream = async_stream::stream! {
        let deadline = tokio::time::sleep(STREAM_LIFETIME);
        tokio::pin!(deadline);
        let mut last = (first.state, first.progress);
        let finished = first.state.is_final();
        yield Ok(slice_event(first));
        if !finished {
            let mut poll = tokio::time::interval(STREAM_POLL);
            loop {
                tokio::select! {
                    () = &mut deadline => break,
                    _ = poll.tick() => {
                        // Read with the rights the stream started with; a slice that can no
                        // longer be read ends the stream.
                        let Ok(slice) = app.slicing().get(&actor, file, id).await else {
                            break;
                        };
                        if (slice.state, slice.progress) == last {
                            continue;
                        }
                        last = (slice.state, slice.progress);
                        let finished = slice.state.is_final();
                        yield Ok(slice_event(slice));
                        if finished {
                            break;
                        }
                    }
                }
            }
        }
    };
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

fn slice_event(slice: domain::Slice) -> Event {
    let body = serde_json::to_string(&Slice::from(slice)).unwrap_or_else(|_| "{}".into());
    Event::default().event("slice").data(body)
}

/// Cancel a slice that is queued or slicing (PrusaSlicer is stopped): your own, or any with
/// `files.manage.all`. One already done, failed or cancelled is 409 `slice_finished`.
#[utoipa::path(post, path = "/orgs/{org_id}/files/{file_id}/slices/{slice_id}/cancel", tag = "slicing",
    params(("org_id" = OrgId, Path), ("file_id" = FileId, Path), ("slice_id" = SliceId, Path)),
    responses((status = 200, body = Slice)),
    extensions(("x-errors" = json!(errors(&[E::SliceFinished])))))]
pub async fn cancel_slice(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, FileId, SliceId)>,
) -> ApiResult<Json<Slice>> {
    let (_, file, id) = ids;
    let slice = state
        .app
        .slicing()
        .cancel(&actor, file.into(), id.into())
        .await?;
    Ok(Json(slice.into()))
}

/// The slicer settings you may change for a printer model (and profile), with their tier
/// (`basic`, `advanced`, `expert`), type, bounds, PrusaSlicer's default and the value they
/// have now. Only the tiers your permissions open are listed.
#[utoipa::path(get, path = "/orgs/{org_id}/slicer/settings", tag = "slicing",
    params(("org_id" = OrgId, Path), SettingsQuery),
    responses((status = 200, body = SlicerSettings)),
    extensions(("x-errors" = json!(errors(&[E::InvalidField])))))]
pub async fn slicer_settings(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiQuery(query): ApiQuery<SettingsQuery>,
) -> ApiResult<Json<SlicerSettings>> {
    let view = state
        .app
        .slicing()
        .settings(
            &actor,
            query.printer_model_id.into(),
            query.profile_id.map(Into::into),
        )
        .await?;
    Ok(Json(view.into()))
}

/// The organization's slicing profiles, by name (one printer model's with `printer_model_id`).
#[utoipa::path(get, path = "/orgs/{org_id}/slicer/profiles", tag = "slicing",
    params(("org_id" = OrgId, Path), ProfileQuery),
    responses((status = 200, body = Vec<SlicerProfile>)))]
pub async fn list_profiles(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiQuery(query): ApiQuery<ProfileQuery>,
) -> ApiResult<Json<Vec<SlicerProfile>>> {
    let profiles = state
        .app
        .slicing()
        .list_profiles(&actor, query.printer_model_id.map(Into::into))
        .await?;
    Ok(Json(each(profiles)))
}

/// A slicing profile.
#[utoipa::path(get, path = "/orgs/{org_id}/slicer/profiles/{profile_id}", tag = "slicing",
    params(("org_id" = OrgId, Path), ("profile_id" = SlicerProfileId, Path)),
    responses((status = 200, body = SlicerProfile)))]
pub async fn get_profile(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, SlicerProfileId)>,
) -> ApiResult<Json<SlicerProfile>> {
    let (_, id) = ids;
    let profile = state.app.slicing().get_profile(&actor, id.into()).await?;
    Ok(Json(profile.into()))
}

/// Create a slicing profile for a printer model: PrusaSlicer settings (those of
/// `GET …/slicer/settings`), optionally for one material, some locked. The first profile of a
/// printer model is its default.
#[utoipa::path(post, path = "/orgs/{org_id}/slicer/profiles", tag = "slicing",
    params(("org_id" = OrgId, Path)),
    request_body = ProfileInput,
    responses((status = 201, body = SlicerProfile)),
    extensions(("x-errors" = json!(errors(&[E::InvalidField, E::NameTaken])))))]
pub async fn create_profile(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiJson(input): ApiJson<ProfileInput>,
) -> ApiResult<Response> {
    let profile = state
        .app
        .slicing()
        .create_profile(&actor, input.into())
        .await?;
    Ok(created(SlicerProfile::from(profile)))
}

/// Replace a slicing profile's content.
#[utoipa::path(put, path = "/orgs/{org_id}/slicer/profiles/{profile_id}", tag = "slicing",
    params(("org_id" = OrgId, Path), ("profile_id" = SlicerProfileId, Path)),
    request_body = ProfileInput,
    responses((status = 200, body = SlicerProfile)),
    extensions(("x-errors" = json!(errors(&[E::InvalidField, E::NameTaken])))))]
pub async fn update_profile(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, SlicerProfileId)>,
    ApiJson(input): ApiJson<ProfileInput>,
) -> ApiResult<Json<SlicerProfile>> {
    let (_, id) = ids;
    let profile = state
        .app
        .slicing()
        .update_profile(&actor, id.into(), input.into())
        .await?;
    Ok(Json(profile.into()))
}

/// Delete a slicing profile (slices made with it keep their settings).
#[utoipa::path(delete, path = "/orgs/{org_id}/slicer/profiles/{profile_id}", tag = "slicing",
    params(("org_id" = OrgId, Path), ("profile_id" = SlicerProfileId, Path)),
    responses((status = 204)))]
pub async fn delete_profile(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, SlicerProfileId)>,
) -> ApiResult<StatusCode> {
    let (_, id) = ids;
    state
        .app
        .slicing()
        .delete_profile(&actor, id.into())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The organization's setting locks, by setting: each locks a setting to a value for every
/// member whose rank is below `below_rank_id`.
#[utoipa::path(get, path = "/orgs/{org_id}/slicer/locks", tag = "slicing",
    params(("org_id" = OrgId, Path)),
    responses((status = 200, body = Vec<SlicerLock>)))]
pub async fn list_locks(
    State(state): State<WebState>,
    Org(actor): Org,
) -> ApiResult<Json<Vec<SlicerLock>>> {
    let locks = state.app.slicing().list_locks(&actor).await?;
    Ok(Json(each(locks)))
}

/// Lock a setting (a key of `GET …/slicer/settings`) to a value for every member whose rank
/// is below `below_rank_id` (owners are never bound), replacing its lock if it has one. Those
/// members slice with that value; a slice that changes it is 403 naming the setting and
/// `slicer.override_locks`. You may only lock below your own rank or a junior one (403
/// `insufficient_seniority`), and only replace or remove such locks.
#[utoipa::path(put, path = "/orgs/{org_id}/slicer/locks/{setting}", tag = "slicing",
    params(("org_id" = OrgId, Path), ("setting" = String, Path, description = "PrusaSlicer's option key")),
    request_body = LockInput,
    responses((status = 200, body = SlicerLock)),
    extensions(("x-errors" = json!(errors(&[E::InvalidField, E::InsufficientSeniority])))))]
pub async fn set_lock(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, String)>,
    ApiJson(input): ApiJson<LockInput>,
) -> ApiResult<Json<SlicerLock>> {
    let (_, setting) = ids;
    let lock = state
        .app
        .slicing()
        .set_lock(&actor, &setting, &input.value, input.below_rank_id.into())
        .await?;
    Ok(Json(lock.into()))
}

/// Remove a setting's lock (one below your own rank or a junior one); 404 when that setting
/// has no lock (or there is no such setting).
#[utoipa::path(delete, path = "/orgs/{org_id}/slicer/locks/{setting}", tag = "slicing",
    params(("org_id" = OrgId, Path), ("setting" = String, Path, description = "PrusaSlicer's option key")),
    responses((status = 204)),
    extensions(("x-errors" = json!(errors(&[E::InsufficientSeniority])))))]
pub async fn remove_lock(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, String)>,
) -> ApiResult<StatusCode> {
    let (_, setting) = ids;
    state.app.slicing().remove_lock(&actor, &setting).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(super) fn routes(api: ApiRoutes) -> ApiRoutes {
    let slice_also = &[
        P::SlicerAdvancedTab,
        P::SlicerExpertTab,
        P::SlicerChangeProfile,
        P::SlicerOverrideLocks,
        P::SlicerArrange,
        P::SlicerScale,
        P::SlicerRotate,
        P::SlicerAutoRotate,
        P::FilesViewAll,
        P::FilesManageAll,
    ];
    let tiers = &[
        P::SlicerAdvancedTab,
        P::SlicerExpertTab,
        P::SlicerChangeProfile,
        P::SlicerOverrideLocks,
    ];
    api.permission_also(P::SlicerUse, slice_also, routes!(start_slice))
        .permission_also(
            P::SlicerUse,
            &[P::FilesViewAll, P::FilesManageAll],
            routes!(get_slice),
        )
        .permission_also(
            P::SlicerUse,
            &[P::FilesViewAll, P::FilesManageAll],
            routes!(cancel_slice),
        )
        .permission_also(
            P::SlicerUse,
            &[P::FilesViewAll, P::FilesManageAll],
            routes!(slice_events),
        )
        .permission_also(P::SlicerUse, tiers, routes!(slicer_settings))
        .permission(P::SlicerUse, routes!(list_profiles))
        .permission(P::SlicerUse, routes!(get_profile))
        .permission(P::SlicerManageProfiles, routes!(create_profile))
        .permission(P::SlicerManageProfiles, routes!(update_profile))
        .permission(P::SlicerManageProfiles, routes!(delete_profile))
        .permission(P::SlicerLockSettings, routes!(list_locks))
        .permission(P::SlicerLockSettings, routes!(set_lock))
        .permission(P::SlicerLockSettings, routes!(remove_lock))
}
