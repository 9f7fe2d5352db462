//! Live printer state, prints, control actions and the live event stream.

use authz::Permission as P;
use std::convert::Infallible;
use std::time::Duration;
use utoipa_axum::routes;

use app::App;
use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;

use super::ApiRoutes;
use crate::WebState;
use crate::api::errors::errors;
use crate::error::ErrorCode as E;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Org, content_length};
use crate::wire::control::{
    GcodeFile, LiveStatus, Preheat, Print, PrinterStateEvent, SendGcode, SetMaintenance,
    SimulatedFault, StartQuery,
};
use crate::wire::each;
use crate::wire::ids::{OrgId, PrinterId};

/// What a call to the printer itself can end in.
const DRIVER: &[E] = &[
    E::PrinterRefused,
    E::PrinterCredentialsRefused,
    E::PrinterError,
    E::PrinterUnreachable,
];

/// The `x-errors` of an operation that calls the printer: `codes` and the driver's.
fn with_driver(codes: &[E]) -> serde_json::Value {
    errors(&[codes, DRIVER].concat())
}

/// A printer's live state: what it is doing now, its job's progress and temperatures.
#[utoipa::path(get, path = "/orgs/{org_id}/printers/{printer_id}/live", tag = "printer control",
    params(("org_id" = OrgId, Path), ("printer_id" = PrinterId, Path)),
    responses((status = 200, body = LiveStatus)),
    extensions(("x-errors" = json!(errors(&[E::PrinterNotConnected])))))]
pub async fn live(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, PrinterId)>,
) -> ApiResult<Json<LiveStatus>> {
    Ok(Json(
        state
            .app
            .control()
            .printer_live(&actor, ids.1.into())?
            .into(),
    ))
}

/// The printer's prints, newest first (managed ones and those started at the printer).
#[utoipa::path(get, path = "/orgs/{org_id}/printers/{printer_id}/prints", tag = "printer control",
    params(("org_id" = OrgId, Path), ("printer_id" = PrinterId, Path)),
    responses((status = 200, body = Vec<Print>)))]
pub async fn prints(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, PrinterId)>,
) -> ApiResult<Json<Vec<Print>>> {
    Ok(Json(each(
        state
            .app
            .control()
            .list_prints(&actor, ids.1.into())
            .await?,
    )))
}

/// The printer's recorded state changes, newest first.
#[utoipa::path(get, path = "/orgs/{org_id}/printers/{printer_id}/history", tag = "printer control",
    params(("org_id" = OrgId, Path), ("printer_id" = PrinterId, Path)),
    responses((status = 200, body = Vec<PrinterStateEvent>)))]
pub async fn history(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, PrinterId)>,
) -> ApiResult<Json<Vec<PrinterStateEvent>>> {
    Ok(Json(each(
        state
            .app
            .control()
            .printer_history(&actor, ids.1.into())
            .await?,
    )))
}

/// Start printing a G-code file (the request body) on an idle printer. The file streams to
/// disk as it arrives; one larger than the limit is refused with 413 `file_too_large` — at once
/// when `Content-Length` says so, before any of it is read.
#[utoipa::path(post, path = "/orgs/{org_id}/printers/{printer_id}/prints", tag = "printer control",
    params(("org_id" = OrgId, Path), ("printer_id" = PrinterId, Path), StartQuery),
    request_body(content = GcodeFile, content_type = "application/octet-stream", description = "The G-code file."),
    responses((status = 201, body = Print)),
    extensions(("x-errors" = json!(with_driver(&[E::InvalidField, E::FileTooLarge, E::UnreadableBody, E::PrinterNotConnected, E::InstanceUnavailable, E::PrinterNotReady])))))]
pub async fn start(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, PrinterId)>,
    ApiQuery(query): ApiQuery<StartQuery>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> ApiResult<axum::response::Response> {
    let limit = state.app.settings().max_print_file_bytes;
    // Limits before bytes: a body announced too large is refused unread.
    if content_length(&headers).is_some_and(|length| length > limit) {
        return Err(ApiError::from(app::AppError::FileTooLarge { limit }));
    }
    let print = state
        .app
        .control()
        .start_print(
            &actor,
            ids.1.into(),
            &query.file_name,
            body.into_data_stream(),
        )
        .await?;
    Ok(super::created(Print::from(print)))
}

macro_rules! command {
    ($name:ident, $path:literal, $doc:literal, $call:ident, $errors:expr) => {
        #[doc = $doc]
        #[utoipa::path(post, path = $path, tag = "printer control",
                            params(("org_id" = OrgId, Path), ("printer_id" = PrinterId, Path)),
                            responses((status = 200, body = LiveStatus)),
                            extensions(("x-errors" = json!($errors))))]
        pub async fn $name(
            State(state): State<WebState>,
            Org(actor): Org,
            ApiPath(ids): ApiPath<(OrgId, PrinterId)>,
        ) -> ApiResult<Json<LiveStatus>> {
            Ok(Json(
                state
                    .app
                    .control()
                    .$call(&actor, ids.1.into())
                    .await?
                    .into(),
            ))
        }
    };
}

command!(
    pause,
    "/orgs/{org_id}/printers/{printer_id}/pause",
    "Pause the running print.",
    pause_print,
    with_driver(&[
        E::PrinterNotConnected,
        E::InstanceUnavailable,
        E::PrinterNotReady
    ])
);
command!(
    resume,
    "/orgs/{org_id}/printers/{printer_id}/resume",
    "Resume a paused print.",
    resume_print,
    with_driver(&[
        E::PrinterNotConnected,
        E::InstanceUnavailable,
        E::PrinterNotReady
    ])
);
command!(
    emergency_stop,
    "/orgs/{org_id}/printers/{printer_id}/emergency-stop",
    "Stop the printer at once (M112); the print is lost.",
    emergency_stop,
    with_driver(&[
        E::PrinterNotConnected,
        E::InstanceUnavailable,
        E::PrinterNotReady
    ])
);
command!(
    confirm_bed_clear,
    "/orgs/{org_id}/printers/{printer_id}/bed-clear",
    "Confirm the build plate is clear so the printer takes the next job.",
    confirm_bed_clear,
    errors(&[
        E::PrinterNotConnected,
        E::InstanceUnavailable,
        E::BedNotAwaitingClear
    ])
);

/// Cancel the running print: your own with "cancel your own prints", anyone's with "cancel
/// anyone's prints".
#[utoipa::path(post, path = "/orgs/{org_id}/printers/{printer_id}/cancel", tag = "printer control",
    params(("org_id" = OrgId, Path), ("printer_id" = PrinterId, Path)),
    responses((status = 200, body = LiveStatus)),
    extensions(("x-errors" = json!(with_driver(&[E::PrinterNotConnected, E::InstanceUnavailable, E::PrinterNotReady])))))]
pub async fn cancel(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, PrinterId)>,
) -> ApiResult<Json<LiveStatus>> {
    Ok(Json(
        state
            .app
            .control()
            .cancel_print(&actor, ids.1.into())
            .await?
            .into(),
    ))
}

/// Send G-code lines to the printer as they are.
#[utoipa::path(post, path = "/orgs/{org_id}/printers/{printer_id}/gcode", tag = "printer control",
    params(("org_id" = OrgId, Path), ("printer_id" = PrinterId, Path)), request_body = SendGcode,
    responses((status = 200, body = LiveStatus)),
    extensions(("x-errors" = json!(with_driver(&[E::InvalidField, E::PrinterNotConnected, E::InstanceUnavailable, E::PrinterNotReady])))))]
pub async fn send_gcode(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, PrinterId)>,
    ApiJson(input): ApiJson<SendGcode>,
) -> ApiResult<Json<LiveStatus>> {
    Ok(Json(
        state
            .app
            .control()
            .send_gcode(&actor, ids.1.into(), input.into())
            .await?
            .into(),
    ))
}

/// Set heater targets.
#[utoipa::path(post, path = "/orgs/{org_id}/printers/{printer_id}/preheat", tag = "printer control",
    params(("org_id" = OrgId, Path), ("printer_id" = PrinterId, Path)), request_body = Preheat,
    responses((status = 200, body = LiveStatus)),
    extensions(("x-errors" = json!(with_driver(&[E::InvalidField, E::PrinterNotConnected, E::InstanceUnavailable, E::PrinterNotReady])))))]
pub async fn preheat(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, PrinterId)>,
    ApiJson(input): ApiJson<Preheat>,
) -> ApiResult<Json<LiveStatus>> {
    Ok(Json(
        state
            .app
            .control()
            .preheat(&actor, ids.1.into(), input.into())
            .await?
            .into(),
    ))
}

/// Take the printer out of service, or bring it back.
#[utoipa::path(put, path = "/orgs/{org_id}/printers/{printer_id}/maintenance", tag = "printer control",
    params(("org_id" = OrgId, Path), ("printer_id" = PrinterId, Path)), request_body = SetMaintenance,
    responses((status = 200, body = LiveStatus)),
    extensions(("x-errors" = json!(errors(&[E::PrinterNotConnected, E::InstanceUnavailable])))))]
pub async fn maintenance(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, PrinterId)>,
    ApiJson(input): ApiJson<SetMaintenance>,
) -> ApiResult<Json<LiveStatus>> {
    Ok(Json(
        state
            .app
            .control()
            .set_maintenance(&actor, ids.1.into(), input.into())
            .await?
            .into(),
    ))
}

/// Make a simulated printer misbehave (demos, training, tests).
#[utoipa::path(post, path = "/orgs/{org_id}/printers/{printer_id}/simulation/faults", tag = "printer control",
    params(("org_id" = OrgId, Path), ("printer_id" = PrinterId, Path)), request_body = SimulatedFault,
    responses((status = 200, body = LiveStatus)),
    extensions(("x-errors" = json!(errors(&[E::InvalidField, E::PrinterNotConnected, E::InstanceUnavailable, E::NotSimulated])))))]
pub async fn simulate_fault(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, PrinterId)>,
    ApiJson(input): ApiJson<SimulatedFault>,
) -> ApiResult<Json<LiveStatus>> {
    use app::Fault;
    let fault = match input {
        SimulatedFault::Fail { message } => Fault::Fail { message },
        SimulatedFault::Disconnect { for_s } => Fault::Disconnect { for_s },
        SimulatedFault::Pause {} => Fault::Pause,
        SimulatedFault::StartLocal {
            file_name,
            duration_s,
        } => Fault::StartLocal {
            file_name,
            duration_s,
        },
    };
    Ok(Json(
        state
            .app
            .control()
            .simulate_fault(&actor, ids.1.into(), fault)
            .await?
            .into(),
    ))
}

/// How long one event stream lasts; the browser's EventSource reconnects by itself, and each
/// connection starts from current rights and a full snapshot.
const STREAM_LIFETIME: Duration = Duration::from_secs(300);
const RIGHTS_RECHECK: Duration = Duration::from_secs(5);

/// Server-sent events: first the state of every printer you can see (`printer` events), then
/// each change as it happens. Only printers you can see, only in this organization.
#[utoipa::path(get, path = "/orgs/{org_id}/printer-events", tag = "printer control",
    params(("org_id" = OrgId, Path)),
    responses((status = 200, content_type = "text/event-stream", description = "`printer` events whose data is a LiveStatus")))]
pub async fn events(
    State(state): State<WebState>,
    Org(actor): Org,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let app: App = state.app.clone();
    let visible = app.fleet().all_visible_printers(&actor).await?;
    let mut updates = app.supervisors().subscribe();
    let initial: Vec<app::LiveStatus> = visible
        .iter()
        .filter_map(|p| app.supervisors().status(p.id))
        .collect();
    let org = actor.org();
    let stream = async_stream::stream! {
        let mut actor = actor;
        for status in initial {
            yield Ok(event(&status));
        }
        let deadline = tokio::time::sleep(STREAM_LIFETIME);
        tokio::pin!(deadline);
        // Rights are looked at again every few seconds: a member signed out, deactivated or
        // moved out of a printer's reach stops hearing about it, without waiting for the
        // stream to end.
        let mut recheck = tokio::time::interval(RIGHTS_RECHECK);
        recheck.tick().await;
        loop {
            tokio::select! {
                () = &mut deadline => break,
                _ = recheck.tick() => {
                    if !matches!(app.identity().still_signed_in(&actor.principal).await, Ok(true)) {
                        break;
                    }
                    let principal = actor.principal.clone();
                    match app.org_actor(principal, org, actor.meta.clone()).await {
                        Ok(current) => actor = current,
                        Err(_) => break,
                    }
                }
                update = updates.recv() => match update {
                    Ok(update) if update.org == org
                        && actor.can_see_printer(update.status.printer_id) => {
                        yield Ok(event(&update.status));
                    }
                    Ok(_) => {}
                    // A slow reader missed updates: the next ones still arrive.
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                },
            }
        }
    };
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

pub(crate) fn event(status: &app::LiveStatus) -> Event {
    Event::default()
        .event("printer")
        .id(status.printer_id.to_string())
        .json_data(LiveStatus::from(status.clone()))
        .unwrap_or_else(|_| Event::default().event("printer"))
}

/// This module's operations and what each requires.
pub(super) fn routes(api: ApiRoutes) -> ApiRoutes {
    api.permission(P::PrintersView, routes!(live))
        .permission(P::PrintersView, routes!(prints))
        .permission(P::PrinterControlStart, routes!(start))
        .permission(P::PrintersView, routes!(history))
        .permission(P::PrinterControlPauseResume, routes!(pause))
        .permission(P::PrinterControlPauseResume, routes!(resume))
        .permission_also(
            P::PrintersView,
            &[P::PrinterControlCancelOwn, P::PrinterControlCancelAll],
            routes!(cancel),
        )
        .permission(P::PrinterControlEmergencyStop, routes!(emergency_stop))
        .permission(P::PrinterControlConfirmBedClear, routes!(confirm_bed_clear))
        .permission(P::PrinterControlSendGcode, routes!(send_gcode))
        .permission(P::PrinterControlPreheat, routes!(preheat))
        .permission(P::PrinterControlMaintenance, routes!(maintenance))
        .permission(P::PrintersEdit, routes!(simulate_fault))
        .permission(P::PrintersView, routes!(events))
}
