//! Slicing on the server: slices of models in the library, the settings a member may change,
//! and the organization's slicing profiles.

use authz::Permission as P;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
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
    ProfileInput, ProfileQuery, SettingsQuery, Slice, SliceAccepted, SlicerProfile, SlicerSettings,
    StartSlice,
};

/// Slice a model (STL, 3MF or OBJ) you may see into G-code for a printer model, with PrusaSlicer
/// on the server. The slice is queued in the slicing pool: follow it with `GET …/slices/{id}`
/// (`queued`, `slicing` with `progress`, then `done` with `gcode_file_id`, `failed` with a
/// `message`, or `cancelled`). A setting you may not change is 403 naming the setting and the
/// permission it needs; an unknown setting or a value out of bounds is 422; a model that, as
/// placed, is larger than the printer model's build volume is 422 `does_not_fit` with both
/// sizes.
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

pub(super) fn routes(api: ApiRoutes) -> ApiRoutes {
    let slice_also = &[
        P::SlicerAdvancedTab,
        P::SlicerExpertTab,
        P::SlicerChangeProfile,
        P::SlicerOverrideLocks,
        P::SlicerArrange,
        P::SlicerScale,
        P::SlicerRotate,
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
        .permission_also(P::SlicerUse, tiers, routes!(slicer_settings))
        .permission(P::SlicerUse, routes!(list_profiles))
        .permission(P::SlicerUse, routes!(get_profile))
        .permission(P::SlicerManageProfiles, routes!(create_profile))
        .permission(P::SlicerManageProfiles, routes!(update_profile))
        .permission(P::SlicerManageProfiles, routes!(delete_profile))
}
