//! Printers, printer models and printer groups.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::control::LiveStatus;
use super::each;
use super::ids::{
    MemberId, PrinterGroupId, PrinterId, PrinterModelId, ReservationId, SiteId, Timestamp,
    WorkgroupId,
};
use super::values::{DescriptionText, Name};

/// How Farmhand talks to a printer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DriverKind {
    /// Farmhand's built-in simulated printer (demos, tests, training).
    Simulated,
    Octoprint,
    Moonraker,
}

impl From<domain::DriverKind> for DriverKind {
    fn from(kind: domain::DriverKind) -> DriverKind {
        match kind {
            domain::DriverKind::Simulated => DriverKind::Simulated,
            domain::DriverKind::Octoprint => DriverKind::Octoprint,
            domain::DriverKind::Moonraker => DriverKind::Moonraker,
        }
    }
}

impl From<DriverKind> for domain::DriverKind {
    fn from(kind: DriverKind) -> domain::DriverKind {
        match kind {
            DriverKind::Simulated => domain::DriverKind::Simulated,
            DriverKind::Octoprint => domain::DriverKind::Octoprint,
            DriverKind::Moonraker => domain::DriverKind::Moonraker,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PrinterState {
    /// Not reachable (or not connected yet).
    Offline,
    /// Ready for a job.
    Idle,
    Printing,
    Paused,
    /// A print ended; the plate must be cleared before the next job.
    AwaitingBedClear,
    /// The printer reports an error.
    Error,
    /// Out of service, set by someone allowed to.
    Maintenance,
}

impl From<domain::PrinterState> for PrinterState {
    fn from(state: domain::PrinterState) -> PrinterState {
        match state {
            domain::PrinterState::Offline => PrinterState::Offline,
            domain::PrinterState::Idle => PrinterState::Idle,
            domain::PrinterState::Printing => PrinterState::Printing,
            domain::PrinterState::Paused => PrinterState::Paused,
            domain::PrinterState::AwaitingBedClear => PrinterState::AwaitingBedClear,
            domain::PrinterState::Error => PrinterState::Error,
            domain::PrinterState::Maintenance => PrinterState::Maintenance,
        }
    }
}

/// A printer's connection as the API shows it: never the credential itself.
#[derive(Debug, Serialize, ToSchema)]
pub struct PrinterConnection {
    pub driver: DriverKind,
    /// Base URL of OctoPrint or Moonraker; empty for the simulator.
    pub url: String,
    /// Whether a credential (API key, token) is stored, encrypted.
    pub has_credential: bool,
    /// Driver settings that are not secret (the simulator's speed, …).
    #[schema(value_type = Object)]
    pub settings: serde_json::Value,
}

impl From<domain::PrinterConnection> for PrinterConnection {
    fn from(connection: domain::PrinterConnection) -> PrinterConnection {
        let domain::PrinterConnection {
            driver,
            url,
            has_credential,
            settings,
        } = connection;
        PrinterConnection {
            driver: driver.into(),
            url,
            has_credential,
            settings,
        }
    }
}

/// A printer of the organization.
#[derive(Debug, Serialize, ToSchema)]
pub struct Printer {
    pub id: PrinterId,
    pub name: String,
    pub site_id: SiteId,
    pub model_id: Option<PrinterModelId>,
    pub group_ids: Vec<PrinterGroupId>,
    /// How Farmhand reaches the printer: only for members who may edit the printer
    /// (`printers.edit`) or change its settings (`printers.settings`); absent for the others.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = PrinterConnection, required = false)]
    pub connection: Option<PrinterConnection>,
    /// The last persisted state (the live one is kept in memory by the fleet supervisor).
    pub state: PrinterState,
    /// The error message, when the state is `error`.
    pub state_detail: String,
    pub state_since: Timestamp,
    /// Out of service (set by someone allowed to).
    pub maintenance: bool,
    /// A print ended and nobody has confirmed the build plate is clear yet.
    pub bed_clear_pending: bool,
    /// The dispatcher starts the jobs it matches to this printer; off, a matched job waits
    /// `assigned` until someone starts it (`POST …/jobs/{job_id}/start`).
    pub auto_start: bool,
    pub created_at: Timestamp,
}

/// A printer just added or changed, by someone who may edit it: with its connection.
impl From<domain::Printer> for Printer {
    fn from(printer: domain::Printer) -> Printer {
        let domain::Printer {
            id,
            name,
            site_id,
            model_id,
            group_ids,
            connection,
            state,
            state_detail,
            state_since,
            maintenance,
            bed_clear_pending,
            auto_start,
            created_at,
        } = printer;
        Printer {
            id: id.into(),
            name,
            site_id: site_id.into(),
            model_id: model_id.map(Into::into),
            group_ids: each(group_ids),
            connection: Some(connection.into()),
            state: state.into(),
            state_detail,
            state_since: state_since.into(),
            maintenance,
            bed_clear_pending,
            auto_start,
            created_at: created_at.into(),
        }
    }
}

/// A printer with the caller's access to it.
#[derive(Debug, Serialize, ToSchema)]
pub struct VisiblePrinter {
    #[serde(flatten)]
    pub printer: Printer,
    /// Your access: view, queue, print or manage.
    pub access: super::access::AccessLevel,
    /// What it is doing now (absent when Farmhand has no working connection to it).
    pub live: Option<LiveStatus>,
}

impl From<app::VisiblePrinter> for VisiblePrinter {
    fn from(visible: app::VisiblePrinter) -> VisiblePrinter {
        let app::VisiblePrinter {
            id,
            name,
            site_id,
            model_id,
            group_ids,
            connection,
            state,
            state_detail,
            state_since,
            maintenance,
            bed_clear_pending,
            auto_start,
            created_at,
            access,
            live,
        } = visible;
        VisiblePrinter {
            printer: Printer {
                id: id.into(),
                name,
                site_id: site_id.into(),
                model_id: model_id.map(Into::into),
                group_ids: each(group_ids),
                connection: connection.map(Into::into),
                state: state.into(),
                state_detail,
                state_since: state_since.into(),
                maintenance,
                bed_clear_pending,
                auto_start,
                created_at: created_at.into(),
            },
            access: access.into(),
            live: live.map(Into::into),
        }
    }
}

/// One page of the printers you can see.
#[derive(Debug, Serialize, ToSchema)]
pub struct PrinterPage {
    pub printers: Vec<VisiblePrinter>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<PrinterId>,
}

impl From<app::PrinterPage> for PrinterPage {
    fn from(page: app::PrinterPage) -> PrinterPage {
        let app::PrinterPage {
            printers,
            next_cursor,
        } = page;
        PrinterPage {
            printers: each(printers),
            next_cursor: next_cursor.map(Into::into),
        }
    }
}

/// Filters and page of the printer list, as given in the query string.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PrinterQuery {
    /// Only printers on this site.
    pub site_id: Option<SiteId>,
    /// Only printers in this group.
    pub group_id: Option<PrinterGroupId>,
    /// Only printers whose name contains this text (ASCII letters in either case; surrounding
    /// whitespace is ignored).
    #[param(max_length = 200)]
    pub q: Option<String>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<PrinterId>,
    /// Page size, 1 to 500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
}

impl From<PrinterQuery> for app::PrinterQuery {
    fn from(query: PrinterQuery) -> app::PrinterQuery {
        let PrinterQuery {
            site_id,
            group_id,
            q,
            cursor,
            limit,
        } = query;
        app::PrinterQuery {
            site_id: site_id.map(Into::into),
            group_id: group_id.map(Into::into),
            q,
            cursor: cursor.map(Into::into),
            limit,
        }
    }
}

/// A printer as written by the API. Its schema is written out below: the URL and credential
/// rules depend on the driver.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrinterInput {
    pub name: String,
    pub site_id: SiteId,
    pub model_id: Option<PrinterModelId>,
    #[serde(default)]
    pub group_ids: Vec<PrinterGroupId>,
    /// How Farmhand reaches the printer (default: the built-in simulator).
    #[serde(default = "simulated")]
    pub driver: DriverKind,
    /// OctoPrint's or Moonraker's base URL, `http://host:port`.
    #[serde(default)]
    pub url: String,
    /// Driver settings that are not secret (see the schema below).
    #[serde(default)]
    pub settings: serde_json::Map<String, serde_json::Value>,
    /// A string stores it (encrypted), `null` removes it, leaving it out keeps what is stored.
    #[serde(default, deserialize_with = "super::double_option")]
    pub credential: Option<Option<String>>,
}

fn simulated() -> DriverKind {
    DriverKind::Simulated
}

impl From<PrinterInput> for app::PrinterInput {
    fn from(input: PrinterInput) -> app::PrinterInput {
        let PrinterInput {
            name,
            site_id,
            model_id,
            group_ids,
            driver,
            url,
            settings,
            credential,
        } = input;
        app::PrinterInput {
            name,
            site_id: site_id.into(),
            model_id: model_id.map(Into::into),
            group_ids: each(group_ids),
            driver: driver.into(),
            url,
            settings,
            credential,
        }
    }
}

/// Longest printer URL accepted, in characters as sent.
const MAX_URL_CHARS: usize = app::MAX_PRINTER_URL_CHARS;
/// Longest printer credential accepted, in characters as sent.
const MAX_CREDENTIAL_CHARS: usize = app::MAX_PRINTER_CREDENTIAL_CHARS;

impl utoipa::PartialSchema for PrinterInput {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use crate::wire::schema::{array, nullable, reference, string, string_or_null};
        use utoipa::openapi::schema::{AllOfBuilder, ObjectBuilder, OneOfBuilder, Type};
        let fields = ObjectBuilder::new()
            .property("name", reference::<Name>())
            .required("name")
            .property("site_id", reference::<SiteId>())
            .required("site_id")
            .property("model_id", nullable(reference::<PrinterModelId>()))
            .property(
                "group_ids",
                array(reference::<PrinterGroupId>(), None, None),
            )
            .property(
                "driver",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some(["simulated", "octoprint", "moonraker"]))
                    .description(Some(
                        "How Farmhand reaches the printer (default: `simulated`, the built-in \
                         simulator).",
                    )),
            )
            .property(
                "url",
                string(None, Some(MAX_URL_CHARS), None).description(Some(
                    "OctoPrint's or Moonraker's base URL, `http://host:port`; none for the \
                     simulator.",
                )),
            )
            .property(
                "settings",
                ObjectBuilder::new().description(Some(
                    "Driver settings that are not secret (the simulator's `speed`, \
                     `heat_up_s`). Settings a driver cannot use leave the printer unconnected.",
                )),
            )
            .property(
                "credential",
                ObjectBuilder::new()
                    .schema_type(string_or_null())
                    .max_length(Some(MAX_CREDENTIAL_CHARS))
                    .description(Some(
                        "OctoPrint's or Moonraker's API key: a string stores it (encrypted), \
                         `null` removes it, leaving it out keeps what is stored. It is never \
                         returned.",
                    )),
            )
            .additional_properties(Some(
                utoipa::openapi::schema::AdditionalProperties::FreeForm(false),
            ));
        let time_scale = ObjectBuilder::new()
            .schema_type(Type::Number)
            .exclusive_minimum(Some(0.0))
            .maximum(Some(app::MAX_SIMULATION_SPEED))
            .description(Some(
                "Time scale: 60 runs a one-hour print in a minute (default 1).",
            ));
        let heat_up = ObjectBuilder::new()
            .schema_type(Type::Number)
            .minimum(Some(0.0))
            .maximum(Some(app::MAX_SIMULATION_HEAT_UP_S))
            .description(Some(
                "Simulated seconds to heat up before a print moves (default 0).",
            ));
        let simulation = ObjectBuilder::new()
            .property("speed", time_scale)
            .property("heat_up_s", heat_up)
            .additional_properties(Some(
                utoipa::openapi::schema::AdditionalProperties::FreeForm(false),
            ));
        let simulator = ObjectBuilder::new()
            .description(Some(
                "The simulator: no URL (blank at most), no credential, and only the simulator's \
                 settings.",
            ))
            .property("settings", simulation)
            .property(
                "driver",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some(["simulated"])),
            )
            .property("url", string(None, None, Some(app::SIMULATOR_URL_PATTERN)))
            .property("credential", ObjectBuilder::new().schema_type(Type::Null));
        let networked = ObjectBuilder::new()
            .description(Some(
                "OctoPrint or Moonraker: an `http://` or `https://` URL without whitespace or \
                 control characters (surrounding whitespace is trimmed), and a credential that \
                 is not blank and has no control characters.",
            ))
            .property(
                "driver",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some(["octoprint", "moonraker"])),
            )
            .required("driver")
            .property("url", string(None, None, Some(app::PRINTER_URL_PATTERN)))
            .required("url")
            .property(
                "credential",
                ObjectBuilder::new()
                    .schema_type(string_or_null())
                    .pattern(Some(app::PRINTER_CREDENTIAL_PATTERN)),
            );
        AllOfBuilder::new()
            .description(Some("A printer as written by the API."))
            .item(fields)
            .item(OneOfBuilder::new().item(simulator).item(networked))
            .into()
    }
}

impl utoipa::ToSchema for PrinterInput {
    fn schemas(schemas: &mut crate::wire::schema::Schemas) {
        crate::wire::schema::register::<Name>(schemas);
        crate::wire::schema::register::<SiteId>(schemas);
        crate::wire::schema::register::<PrinterModelId>(schemas);
        crate::wire::schema::register::<PrinterGroupId>(schemas);
    }
}

/// A kind of printer: what it can build and how fast it moves.
#[derive(Debug, Serialize, ToSchema)]
pub struct PrinterModel {
    pub id: PrinterModelId,
    pub name: String,
    pub description: String,
    /// Build volume X, Y, Z, mm (0 where unknown).
    pub build_volume_mm: [f64; 3],
    pub nozzle_diameter_mm: f64,
    /// Materials it may print; empty means any.
    pub materials: Vec<String>,
    /// Motion limits for the G-code estimator: fields of the estimator's printer profile that
    /// differ from its default (`max_feedrate`, `print_acceleration`, `firmware`, `klipper`, …).
    #[schema(value_type = Object)]
    pub motion: serde_json::Value,
    /// Price of an hour of machine time, in minor units of the organization's currency.
    pub hourly_rate_minor: i64,
    pub created_at: Timestamp,
}

impl From<domain::PrinterModel> for PrinterModel {
    fn from(model: domain::PrinterModel) -> PrinterModel {
        let domain::PrinterModel {
            id,
            name,
            description,
            build_volume_mm,
            nozzle_diameter_mm,
            materials,
            motion,
            hourly_rate_minor,
            created_at,
        } = model;
        PrinterModel {
            id: id.into(),
            name,
            description,
            build_volume_mm,
            nozzle_diameter_mm,
            materials,
            motion,
            hourly_rate_minor,
            created_at: created_at.into(),
        }
    }
}

/// A printer model as written by the API.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PrinterModelInput {
    #[schema(value_type = Name)]
    pub name: String,
    #[serde(default)]
    #[schema(value_type = DescriptionText)]
    pub description: String,
    /// Build volume X, Y, Z in mm, each 0 to 10,000 (0 where unknown).
    #[serde(default)]
    #[schema(schema_with = build_volume_schema)]
    pub build_volume_mm: [f64; 3],
    /// Default 0.4.
    #[serde(default = "default_nozzle")]
    #[schema(minimum = 0.05, maximum = 5.0)]
    pub nozzle_diameter_mm: f64,
    /// Materials it may print, at most 50; empty means any.
    #[serde(default)]
    #[schema(schema_with = materials_schema)]
    pub materials: Vec<String>,
    /// Motion limits for the G-code estimator: fields of its printer profile, e.g.
    /// `{"firmware": "klipper", "klipper": {"max_accel": 5000}}` or `{"print_acceleration": 1500}`.
    /// Every limit must be a finite number in range: accelerations above 0 and at most
    /// 1,000,000 mm/s², speed limits above 0 and at most 10,000 mm/s, jerk and corner speeds
    /// 0 to 1,000 mm/s, junction deviation above 0 and at most 5 mm, minimum cruise ratio from
    /// 0 to below 1 (422 on `motion`, the message naming the limit).
    #[serde(default)]
    #[schema(value_type = gcode::Profile)]
    pub motion: serde_json::Map<String, serde_json::Value>,
    /// Price of an hour of machine time in minor units of the organization's currency.
    #[serde(default)]
    #[schema(minimum = 0)]
    pub hourly_rate_minor: i64,
}

fn build_volume_schema() -> utoipa::openapi::schema::ArrayBuilder {
    crate::wire::schema::array(crate::wire::schema::number(0.0, 10_000.0), Some(3), Some(3))
}

fn materials_schema() -> utoipa::openapi::schema::ArrayBuilder {
    crate::wire::schema::array(
        crate::wire::schema::string(None, Some(40), Some(domain::schema::NOT_BLANK_PATTERN))
            .description(Some("A material: 1 to 40 characters, not blank.")),
        None,
        Some(50),
    )
}

fn default_nozzle() -> f64 {
    0.4
}

impl From<PrinterModelInput> for app::PrinterModelInput {
    fn from(input: PrinterModelInput) -> app::PrinterModelInput {
        let PrinterModelInput {
            name,
            description,
            build_volume_mm,
            nozzle_diameter_mm,
            materials,
            motion,
            hourly_rate_minor,
        } = input;
        app::PrinterModelInput {
            name,
            description,
            build_volume_mm,
            nozzle_diameter_mm,
            materials,
            motion,
            hourly_rate_minor,
        }
    }
}

/// A named set of printers, for access grants and job targets.
#[derive(Debug, Serialize, ToSchema)]
pub struct PrinterGroup {
    pub id: PrinterGroupId,
    pub name: String,
    pub description: String,
    pub created_at: Timestamp,
}

impl From<domain::PrinterGroup> for PrinterGroup {
    fn from(group: domain::PrinterGroup) -> PrinterGroup {
        let domain::PrinterGroup {
            id,
            name,
            description,
            created_at,
        } = group;
        PrinterGroup {
            id: id.into(),
            name,
            description,
            created_at: created_at.into(),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NamedInput {
    #[schema(value_type = Name)]
    pub name: String,
    #[serde(default)]
    #[schema(value_type = DescriptionText)]
    pub description: String,
}

impl From<NamedInput> for app::NamedInput {
    fn from(input: NamedInput) -> app::NamedInput {
        let NamedInput { name, description } = input;
        app::NamedInput { name, description }
    }
}

/// Whether the dispatcher starts the jobs it matches to a printer by itself.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AutoStart {
    /// On: jobs start as soon as the printer is free. Off: a matched job waits `assigned`
    /// until someone starts it.
    pub on: bool,
}

/// A printer reserved for a member or a workgroup over a time window: meanwhile the
/// dispatcher sends it only their jobs.
#[derive(Debug, Serialize, ToSchema)]
pub struct Reservation {
    pub id: ReservationId,
    pub printer_id: PrinterId,
    /// The member it is reserved for (or `workgroup_id`).
    pub member_id: Option<MemberId>,
    /// The workgroup it is reserved for (or `member_id`).
    pub workgroup_id: Option<WorkgroupId>,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub note: String,
    pub created_by: Option<MemberId>,
    pub created_at: Timestamp,
}

impl From<domain::Reservation> for Reservation {
    fn from(reservation: domain::Reservation) -> Reservation {
        let domain::Reservation {
            id,
            printer_id,
            reserved_for,
            starts_at,
            ends_at,
            note,
            created_by,
            created_at,
        } = reservation;
        let (member_id, workgroup_id) = match reserved_for {
            domain::ReservationFor::Member(m) => (Some(m.into()), None),
            domain::ReservationFor::Workgroup(w) => (None, Some(w.into())),
        };
        Reservation {
            id: id.into(),
            printer_id: printer_id.into(),
            member_id,
            workgroup_id,
            starts_at: starts_at.into(),
            ends_at: ends_at.into(),
            note,
            created_by: created_by.map(Into::into),
            created_at: created_at.into(),
        }
    }
}

/// Reserve a printer for exactly one of a member and a workgroup, from `starts_at` to
/// `ends_at` (after `starts_at`, in the future, at most 90 days later).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReservePrinter {
    pub member_id: Option<MemberId>,
    pub workgroup_id: Option<WorkgroupId>,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    /// Why, for whoever wonders (at most 500 characters).
    #[serde(default)]
    #[schema(max_length = 500)]
    pub note: String,
}

impl From<ReservePrinter> for app::ReservePrinter {
    fn from(input: ReservePrinter) -> app::ReservePrinter {
        let ReservePrinter {
            member_id,
            workgroup_id,
            starts_at,
            ends_at,
            note,
        } = input;
        app::ReservePrinter {
            member_id: member_id.map(Into::into),
            workgroup_id: workgroup_id.map(Into::into),
            starts_at: starts_at.0,
            ends_at: ends_at.0,
            note,
        }
    }
}
