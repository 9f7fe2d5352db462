//! Live printer state, prints, control actions and the live event stream.

use authz::Permission as P;
use std::convert::Infallible;
use std::time::Duration;
use utoipa_axum::routes;

use app::{App, LiveStatus, Preheat, SendGcode, SetMaintenance};
use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use domain::{OrgId, Print, PrinterId, PrinterStateEvent};
use futures::Stream;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::ApiRoutes;
use crate::WebState;
use crate::api::errors::errors;
use crate::error::ErrorCode as E;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Org, content_length};

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
    Ok(Json(state.app.control().printer_live(&actor, ids.1)?))
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
    Ok(Json(state.app.control().list_prints(&actor, ids.1).await?))
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
    Ok(Json(
        state.app.control().printer_history(&actor, ids.1).await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StartQuery {
    /// The file's name on the printer: at most 200 characters; once surrounding whitespace is
    /// trimmed, not blank, no slashes or control characters, not starting with a dot.
    #[param(value_type = app::PrintFileName)]
    pub file_name: String,
}

/// The G-code file of a print: the raw bytes, at least one.
pub struct GcodeFile;

impl utoipa::PartialSchema for GcodeFile {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
            .min_length(Some(1))
            .description(Some(
                "The G-code file: 1 byte up to the server's limit (512 MiB unless configured otherwise).",
            ))
            .into()
    }
}

impl ToSchema for GcodeFile {}

/// Start printing a G-code file (the request body) on an idle printer. The file streams to
/// disk as it arrives; one larger than the limit is refused with 413 `file_too_large` — at once
/// when `Content-Length` says so, before any of it is read.
#[utoipa::path(post, path = "/orgs/{org_id}/printers/{printer_id}/prints", tag = "printer control",
    params(("org_id" = OrgId, Path), ("printer_id" = PrinterId, Path), StartQuery),
    request_body(content = GcodeFile, content_type = "application/octet-stream", description = "The G-code file."),
    responses((status = 201, body = Print)),
    extensions(("x-errors" = json!(with_driver(&[E::InvalidField, E::FileTooLarge, E::UnreadableBody, E::PrinterNotConnected, E::PrinterNotReady])))))]
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
        .start_print(&actor, ids.1, &query.file_name, body.into_data_stream())
        .await?;
    Ok(super::created(print))
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
            Ok(Json(state.app.control().$call(&actor, ids.1).await?))
        }
    };
}

command!(
    pause,
    "/orgs/{org_id}/printers/{printer_id}/pause",
    "Pause the running print.",
    pause_print,
    with_driver(&[E::PrinterNotConnected, E::PrinterNotReady])
);
command!(
    resume,
    "/orgs/{org_id}/printers/{printer_id}/resume",
    "Resume a paused print.",
    resume_print,
    with_driver(&[E::PrinterNotConnected, E::PrinterNotReady])
);
command!(
    emergency_stop,
    "/orgs/{org_id}/printers/{printer_id}/emergency-stop",
    "Stop the printer at once (M112); the print is lost.",
    emergency_stop,
    with_driver(&[E::PrinterNotConnected, E::PrinterNotReady])
);
command!(
    confirm_bed_clear,
    "/orgs/{org_id}/printers/{printer_id}/bed-clear",
    "Confirm the build plate is clear so the printer takes the next job.",
    confirm_bed_clear,
    errors(&[E::PrinterNotConnected, E::BedNotAwaitingClear])
);

/// Cancel the running print: your own with "cancel your own prints", anyone's with "cancel
/// anyone's prints".
#[utoipa::path(post, path = "/orgs/{org_id}/printers/{printer_id}/cancel", tag = "printer control",
    params(("org_id" = OrgId, Path), ("printer_id" = PrinterId, Path)),
    responses((status = 200, body = LiveStatus)),
    extensions(("x-errors" = json!(with_driver(&[E::PrinterNotConnected, E::PrinterNotReady])))))]
pub async fn cancel(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, PrinterId)>,
) -> ApiResult<Json<LiveStatus>> {
    Ok(Json(state.app.control().cancel_print(&actor, ids.1).await?))
}

/// Send G-code lines to the printer as they are.
#[utoipa::path(post, path = "/orgs/{org_id}/printers/{printer_id}/gcode", tag = "printer control",
    params(("org_id" = OrgId, Path), ("printer_id" = PrinterId, Path)), request_body = SendGcode,
    responses((status = 200, body = LiveStatus)),
    extensions(("x-errors" = json!(with_driver(&[E::InvalidField, E::PrinterNotConnected, E::PrinterNotReady])))))]
pub async fn send_gcode(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, PrinterId)>,
    ApiJson(input): ApiJson<SendGcode>,
) -> ApiResult<Json<LiveStatus>> {
    Ok(Json(
        state.app.control().send_gcode(&actor, ids.1, input).await?,
    ))
}

/// Set heater targets.
#[utoipa::path(post, path = "/orgs/{org_id}/printers/{printer_id}/preheat", tag = "printer control",
    params(("org_id" = OrgId, Path), ("printer_id" = PrinterId, Path)), request_body = Preheat,
    responses((status = 200, body = LiveStatus)),
    extensions(("x-errors" = json!(with_driver(&[E::InvalidField, E::PrinterNotConnected, E::PrinterNotReady])))))]
pub async fn preheat(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, PrinterId)>,
    ApiJson(input): ApiJson<Preheat>,
) -> ApiResult<Json<LiveStatus>> {
    Ok(Json(
        state.app.control().preheat(&actor, ids.1, input).await?,
    ))
}

/// Take the printer out of service, or bring it back.
#[utoipa::path(put, path = "/orgs/{org_id}/printers/{printer_id}/maintenance", tag = "printer control",
    params(("org_id" = OrgId, Path), ("printer_id" = PrinterId, Path)), request_body = SetMaintenance,
    responses((status = 200, body = LiveStatus)),
    extensions(("x-errors" = json!(errors(&[E::PrinterNotConnected])))))]
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
            .set_maintenance(&actor, ids.1, input)
            .await?,
    ))
}

/// A fault to inject into a simulated printer. (Its schema is written out below: the derive
/// does not say that a variant takes no other fields.)
#[derive(Debug, Deserialize)]
#[serde(tag = "fault", rename_all = "snake_case", deny_unknown_fields)]
pub enum SimulatedFault {
    /// The printer reports an error; the print fails.
    Fail {
        /// What the printer says: 1 to 500 characters, no control characters.
        message: String,
    },
    /// The printer stops answering for this many simulated seconds (the print goes on).
    Disconnect {
        /// 0 to 86,400 simulated seconds.
        for_s: f64,
    },
    /// The printer pauses itself (filament runout). (A struct variant: serde refuses unknown
    /// fields only for those.)
    Pause {},
    /// Someone starts a print at the printer itself.
    StartLocal {
        /// Like any print's file name: 1 to 200 characters, no slashes or leading dot.
        file_name: String,
        /// Above 0 and at most 2,592,000 simulated seconds (30 days).
        duration_s: f64,
    },
}

impl utoipa::PartialSchema for SimulatedFault {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::RefOr;
        use utoipa::openapi::schema::{
            AdditionalProperties, ObjectBuilder, OneOfBuilder, Schema, Type,
        };
        let variant = |fault: &str, description: &str, fields: Vec<(&str, RefOr<Schema>)>| {
            let mut object = ObjectBuilder::new()
                .description(Some(description))
                .property(
                    "fault",
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .enum_values(Some([fault])),
                )
                .required("fault")
                .additional_properties(Some(AdditionalProperties::FreeForm(false)));
            for (name, schema) in fields {
                object = object.property(name, schema).required(name);
            }
            object
        };
        let seconds = |exclusive: bool, max: f64| -> RefOr<Schema> {
            let number = ObjectBuilder::new()
                .schema_type(Type::Number)
                .maximum(Some(max));
            let number = if exclusive {
                number.exclusive_minimum(Some(0.0))
            } else {
                number.minimum(Some(0.0))
            };
            number.into()
        };
        let message = ObjectBuilder::new()
            .schema_type(Type::String)
            .min_length(Some(1))
            .max_length(Some(app::MAX_FAULT_MESSAGE_CHARS))
            .pattern(Some(app::FAULT_MESSAGE_PATTERN))
            .into();
        OneOfBuilder::new()
            .description(Some("A fault to inject into a simulated printer."))
            .item(variant(
                "fail",
                "The printer reports an error; the print fails. The message: 1 to 500 \
                 characters, not blank, no control characters.",
                vec![("message", message)],
            ))
            .item(variant(
                "disconnect",
                "The printer stops answering for this many simulated seconds, at most a day \
                 (the print goes on).",
                vec![("for_s", seconds(false, app::MAX_FAULT_DISCONNECT_S))],
            ))
            .item(variant(
                "pause",
                "The printer pauses itself (filament runout).",
                Vec::new(),
            ))
            .item(variant(
                "start_local",
                "Someone starts a print at the printer itself, of at most 30 days.",
                vec![
                    (
                        "file_name",
                        <app::PrintFileName as utoipa::PartialSchema>::schema(),
                    ),
                    ("duration_s", seconds(true, app::MAX_FAULT_LOCAL_PRINT_S)),
                ],
            ))
            .into()
    }
}

impl ToSchema for SimulatedFault {}

/// Make a simulated printer misbehave (demos, training, tests).
#[utoipa::path(post, path = "/orgs/{org_id}/printers/{printer_id}/simulation/faults", tag = "printer control",
    params(("org_id" = OrgId, Path), ("printer_id" = PrinterId, Path)), request_body = SimulatedFault,
    responses((status = 200, body = LiveStatus)),
    extensions(("x-errors" = json!(errors(&[E::InvalidField, E::PrinterNotConnected, E::NotSimulated])))))]
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
            .simulate_fault(&actor, ids.1, fault)
            .await?,
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
    let initial: Vec<LiveStatus> = visible
        .iter()
        .filter_map(|p| app.supervisors().status(p.printer.id))
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

fn event(status: &LiveStatus) -> Event {
    Event::default()
        .event("printer")
        .id(status.printer_id.to_string())
        .json_data(status)
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
