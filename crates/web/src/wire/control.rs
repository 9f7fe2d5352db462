//! Printer control: live state, prints, state history and commands.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::fleet::PrinterState;
use super::ids::{MemberId, PrintId, PrinterId, Timestamp};
use super::values::PrintFileName;

/// What a printer is printing, live.
#[derive(Debug, Serialize, ToSchema)]
pub struct LiveJob {
    /// The print Farmhand recorded for it.
    #[schema(value_type = Option<i64>)]
    pub print_id: Option<PrintId>,
    pub file_name: String,
    /// 0.0 ..= 1.0
    pub progress: f64,
    pub elapsed_s: f64,
    pub remaining_s: Option<f64>,
    /// When the printer last reported the job.
    pub seen_at: Timestamp,
    /// True while the printer does not answer: the job is as it was last known (at `seen_at`),
    /// not live.
    pub last_known: bool,
}

impl From<app::LiveJob> for LiveJob {
    fn from(live_job: app::LiveJob) -> LiveJob {
        let app::LiveJob {
            print_id,
            file_name,
            progress,
            elapsed_s,
            remaining_s,
            seen_at,
            last_known,
        } = live_job;
        LiveJob {
            print_id: print_id.map(Into::into),
            file_name,
            progress,
            elapsed_s,
            remaining_s,
            seen_at: seen_at.into(),
            last_known,
        }
    }
}

/// Heater temperatures, °C.
#[derive(Debug, Serialize, ToSchema)]
pub struct LiveTemperatures {
    pub tool_actual: Option<f64>,
    pub tool_target: Option<f64>,
    pub bed_actual: Option<f64>,
    pub bed_target: Option<f64>,
}

impl From<app::LiveTemperatures> for LiveTemperatures {
    fn from(live_temperatures: app::LiveTemperatures) -> LiveTemperatures {
        let app::LiveTemperatures {
            tool_actual,
            tool_target,
            bed_actual,
            bed_target,
        } = live_temperatures;
        LiveTemperatures {
            tool_actual,
            tool_target,
            bed_actual,
            bed_target,
        }
    }
}

/// A printer's live state.
#[derive(Debug, Serialize, ToSchema)]
pub struct LiveStatus {
    #[schema(value_type = i64)]
    pub printer_id: PrinterId,
    pub state: PrinterState,
    /// The error message, or why the printer is offline.
    pub detail: String,
    /// When the state last changed.
    pub since: Timestamp,
    pub job: Option<LiveJob>,
    pub temperatures: Option<LiveTemperatures>,
    pub maintenance: bool,
    pub bed_clear_pending: bool,
}

impl From<app::LiveStatus> for LiveStatus {
    fn from(live_status: app::LiveStatus) -> LiveStatus {
        let app::LiveStatus {
            printer_id,
            state,
            detail,
            since,
            job,
            temperatures,
            maintenance,
            bed_clear_pending,
        } = live_status;
        LiveStatus {
            printer_id: printer_id.into(),
            state: state.into(),
            detail,
            since: since.into(),
            job: job.map(Into::into),
            temperatures: temperatures.map(Into::into),
            maintenance,
            bed_clear_pending,
        }
    }
}

/// Where a print (one attempt at printing a file on a printer) is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PrintState {
    Printing,
    Paused,
    Completed,
    Failed,
    Cancelled,
    /// The printer dropped off while printing; settled when it comes back.
    Unknown,
}

impl From<domain::PrintState> for PrintState {
    fn from(state: domain::PrintState) -> PrintState {
        match state {
            domain::PrintState::Printing => PrintState::Printing,
            domain::PrintState::Paused => PrintState::Paused,
            domain::PrintState::Completed => PrintState::Completed,
            domain::PrintState::Failed => PrintState::Failed,
            domain::PrintState::Cancelled => PrintState::Cancelled,
            domain::PrintState::Unknown => PrintState::Unknown,
        }
    }
}

/// One attempt at printing a file on a printer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Print {
    pub id: PrintId,
    pub printer_id: PrinterId,
    pub file_name: String,
    /// SHA-256 of the file, hex; empty for prints started at the printer.
    pub file_sha256: String,
    pub file_size: i64,
    /// Farmhand's estimate, s.
    pub estimated_s: f64,
    /// Who started it through Farmhand; `None` for a print started at the printer.
    pub started_by: Option<MemberId>,
    /// False for prints Farmhand found running that it did not start.
    pub managed: bool,
    pub state: PrintState,
    pub detail: String,
    pub started_at: Timestamp,
    pub ended_at: Option<Timestamp>,
}

impl From<domain::Print> for Print {
    fn from(print: domain::Print) -> Print {
        let domain::Print {
            id,
            printer_id,
            file_name,
            file_sha256,
            file_size,
            estimated_s,
            started_by,
            managed,
            state,
            detail,
            started_at,
            ended_at,
        } = print;
        Print {
            id: id.into(),
            printer_id: printer_id.into(),
            file_name,
            file_sha256,
            file_size,
            estimated_s,
            started_by: started_by.map(Into::into),
            managed,
            state: state.into(),
            detail,
            started_at: started_at.into(),
            ended_at: ended_at.map(Into::into),
        }
    }
}

/// A recorded change of a printer's state.
#[derive(Debug, Serialize, ToSchema)]
pub struct PrinterStateEvent {
    pub from: PrinterState,
    pub to: PrinterState,
    pub detail: String,
    pub print_id: Option<PrintId>,
    pub occurred_at: Timestamp,
}

impl From<domain::PrinterStateEvent> for PrinterStateEvent {
    fn from(printer_state_event: domain::PrinterStateEvent) -> PrinterStateEvent {
        let domain::PrinterStateEvent {
            from,
            to,
            detail,
            print_id,
            occurred_at,
        } = printer_state_event;
        PrinterStateEvent {
            from: from.into(),
            to: to.into(),
            detail,
            print_id: print_id.map(Into::into),
            occurred_at: occurred_at.into(),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendGcode {
    /// 1 to 200 lines, each at most 256 characters without control characters.
    #[schema(schema_with = gcode_lines_schema)]
    pub lines: Vec<String>,
}

impl From<SendGcode> for app::SendGcode {
    fn from(send_gcode: SendGcode) -> app::SendGcode {
        let SendGcode { lines } = send_gcode;
        app::SendGcode { lines }
    }
}

fn gcode_lines_schema() -> utoipa::openapi::schema::ArrayBuilder {
    crate::wire::schema::array(
        crate::wire::schema::string(
            None,
            Some(app::MAX_GCODE_LINE_CHARS),
            Some(domain::schema::NO_CONTROL_PATTERN),
        ),
        Some(1),
        Some(app::MAX_GCODE_LINES),
    )
}

/// Heater targets; at least one of them. The schema is written out below: the derive cannot
/// say "at least one".
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preheat {
    /// Nozzle target, °C (0 turns it off).
    pub tool: Option<f64>,
    /// Bed target, °C (0 turns it off).
    pub bed: Option<f64>,
}

impl From<Preheat> for app::Preheat {
    fn from(preheat: Preheat) -> app::Preheat {
        let Preheat { tool, bed } = preheat;
        app::Preheat { tool, bed }
    }
}

impl utoipa::PartialSchema for Preheat {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use crate::wire::schema::number;
        use utoipa::openapi::schema::{
            AllOfBuilder, AnyOfBuilder, ObjectBuilder, SchemaType, Type,
        };
        let target = |what: &str| {
            number(0.0, app::MAX_TEMPERATURE_C)
                .schema_type(SchemaType::Array(vec![Type::Number, Type::Null]))
                .description(Some(format!("{what} target, °C (0 turns it off).")))
        };
        let given = |field: &str| {
            ObjectBuilder::new()
                .property(field, ObjectBuilder::new().schema_type(Type::Number))
                .required(field)
        };
        AllOfBuilder::new()
            .description(Some(
                "Heater targets: a tool or a bed temperature, or both.",
            ))
            .item(
                ObjectBuilder::new()
                    .property("tool", target("Nozzle"))
                    .property("bed", target("Bed"))
                    .additional_properties(Some(
                        utoipa::openapi::schema::AdditionalProperties::FreeForm(false),
                    )),
            )
            .item(AnyOfBuilder::new().item(given("tool")).item(given("bed")))
            .into()
    }
}

impl utoipa::ToSchema for Preheat {}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetMaintenance {
    pub on: bool,
}

impl From<SetMaintenance> for app::SetMaintenance {
    fn from(set_maintenance: SetMaintenance) -> app::SetMaintenance {
        let SetMaintenance { on } = set_maintenance;
        app::SetMaintenance { on }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StartQuery {
    /// The file's name on the printer: at most 200 characters; once surrounding whitespace is
    /// trimmed, not blank, no slashes or control characters, not starting with a dot.
    #[param(value_type = PrintFileName)]
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
                        <PrintFileName as utoipa::PartialSchema>::schema(),
                    ),
                    ("duration_s", seconds(true, app::MAX_FAULT_LOCAL_PRINT_S)),
                ],
            ))
            .into()
    }
}

impl ToSchema for SimulatedFault {}
