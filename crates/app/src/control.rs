//! What people do to printers: start a print, pause, resume, cancel, emergency stop, send
//! G-code, preheat, maintenance mode and confirming the build plate is clear. Each action has
//! its own permission and printer access level, is audited, and is refused with a clear 409
//! when the printer's state does not allow it.

use std::sync::Arc;

use authz::Permission;
use bytes::Bytes;
use domain::printer_state::Holds;
use domain::{Print, PrintId, PrintState, PrinterId, PrinterState, PrinterStateEvent};
use futures::Stream;
use printers::Driver;
use serde_json::json;

use crate::App;
use crate::actor::OrgActor;
use crate::error::{AppError, AppResult, ErrorCode};
use crate::supervision::{LivePrinter, LiveStatus, Track, TrackedPrint};
use crate::unit_of_work::{Audit, Changes};

/// Who starts a print: a member, a file by hand; or for a job, the dispatcher or (`by`) a
/// member starting it on the printer it waits for.
#[derive(Clone, Copy)]
enum Starter<'a> {
    Member(&'a OrgActor),
    Job {
        job: &'a domain::Job,
        by: Option<&'a OrgActor>,
    },
    /// Another copy of a job already printing elsewhere, claimed by the dispatcher.
    Copy(&'a domain::Job),
}

impl<'a> Starter<'a> {
    /// Whom the print is started for: the member, or the job's owner.
    fn member(self) -> domain::MemberId {
        match self {
            Starter::Member(actor) => actor.member_id(),
            Starter::Job { job, .. } | Starter::Copy(job) => job.owner_member_id,
        }
    }

    fn job(self) -> Option<&'a domain::Job> {
        match self {
            Starter::Member(_) => None,
            Starter::Job { job, .. } | Starter::Copy(job) => Some(job),
        }
    }
}

/// The name a job's copy is stored under on the printer: its own, so that the printer's report
/// of one copy (printers without job IDs tell their jobs apart by file name) is never taken
/// for another's, e.g. `job12-2-bracket.gcode`.
fn printer_file_name(job: &domain::Job, library_name: &str) -> String {
    let name: String = library_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let name = name.trim_start_matches('.');
    let name = if name.to_ascii_lowercase().ends_with(".gcode") {
        name.to_string()
    } else {
        format!("{name}.gcode")
    };
    format!("job{}-{}-{name}", job.id, job.copies_done + 1)
}

/// Largest G-code file a print may be started with, unless configured otherwise.
pub const MAX_PRINT_FILE_BYTES: u64 = 512 * 1024 * 1024;
/// Most G-code lines sent at once.
pub const MAX_GCODE_LINES: usize = 200;

#[derive(Debug)]
pub struct SendGcode {
    /// 1 to 200 lines, each at most 256 characters without control characters.
    pub lines: Vec<String>,
}

/// Longest G-code line accepted, in characters.
pub const MAX_GCODE_LINE_CHARS: usize = 256;

/// Heater targets; at least one of them.
#[derive(Debug)]
pub struct Preheat {
    /// Nozzle target, °C (0 turns it off).
    pub tool: Option<f64>,
    /// Bed target, °C (0 turns it off).
    pub bed: Option<f64>,
}

/// Highest heater target accepted, °C.
pub const MAX_TEMPERATURE_C: f64 = 500.0;

#[derive(Debug)]
pub struct SetMaintenance {
    pub on: bool,
}

/// What someone tells a printer to do to its print.
#[derive(Debug, Clone, Copy)]
enum Command {
    Pause,
    Resume,
    Cancel,
    EmergencyStop,
}

impl Command {
    fn allowed_in(self, state: PrinterState) -> bool {
        match self {
            Command::Pause => state == PrinterState::Printing,
            Command::Resume => state == PrinterState::Paused,
            Command::Cancel => matches!(state, PrinterState::Printing | PrinterState::Paused),
            Command::EmergencyStop => state != PrinterState::Offline,
        }
    }

    /// For "cannot … : the printer is …".
    fn doing(self) -> &'static str {
        match self {
            Command::Pause => "pause",
            Command::Resume => "resume",
            Command::Cancel => "cancel",
            Command::EmergencyStop => "emergency stop",
        }
    }

    fn action(self) -> &'static str {
        match self {
            Command::Pause => "printer.pause",
            Command::Resume => "printer.resume",
            Command::Cancel => "printer.cancel",
            Command::EmergencyStop => "printer.emergency_stop",
        }
    }
}

fn not_ready(state: PrinterState, doing: &str) -> AppError {
    let hint = match state {
        PrinterState::AwaitingBedClear => "; confirm the build plate is clear first",
        PrinterState::Maintenance => "; take it out of maintenance first",
        PrinterState::Offline => "; it does not answer",
        _ => "",
    };
    AppError::conflict(
        ErrorCode::PrinterNotReady,
        format!("cannot {doing}: the printer is {}{hint}", state.as_str()),
    )
}

/// A driver's error as the client should see it: a local file that cannot be read is
/// Farmhand's own failure (500, details in the log), not the printer's.
fn driver_error(error: printers::DriverError) -> AppError {
    match error {
        printers::DriverError::LocalFile(message) => AppError::Internal(message.into()),
        other => AppError::Printer(other),
    }
}

/// Longest file name accepted, in characters as sent.
pub const MAX_FILE_NAME_CHARS: usize = 200;

/// What [`check_file_name`] accepts besides the length: once trimmed, not blank, no control
/// characters or slashes, and no leading dot.
pub const FILE_NAME_PATTERN: &str = concat!(
    "^[",
    domain::whitespace_class!(),
    r"]*[^./\\",
    domain::control_or_whitespace_class!(),
    r"](?:[^/\\",
    domain::control_class!(),
    r"]*[^/\\",
    domain::control_or_whitespace_class!(),
    "])?[",
    domain::whitespace_class!(),
    "]*$"
);

pub(crate) fn check_file_name(raw: &str) -> AppResult<String> {
    let name = raw.trim();
    if name.is_empty()
        || raw.chars().count() > MAX_FILE_NAME_CHARS
        || name
            .chars()
            .any(|c| c.is_control() || c == '/' || c == '\\')
        || name.starts_with('.')
    {
        return Err(AppError::Invalid(domain::Invalid::new(
            "file_name",
            "at most 200 characters, not blank, no slashes, control characters or leading dot",
        )));
    }
    Ok(name.to_string())
}

/// Longest message of an injected failure, in characters.
pub const MAX_FAULT_MESSAGE_CHARS: usize = 500;
/// What [`check_fault`] accepts in a fault's message besides the length: not blank, no
/// control characters.
pub const FAULT_MESSAGE_PATTERN: &str = concat!(
    "^[^",
    domain::control_class!(),
    "]*[^",
    domain::control_or_whitespace_class!(),
    "][^",
    domain::control_class!(),
    "]*$"
);
/// Longest injected disconnect, simulated seconds.
pub const MAX_FAULT_DISCONNECT_S: f64 = 86_400.0;
/// Longest injected local print, simulated seconds.
pub const MAX_FAULT_LOCAL_PRINT_S: f64 = 30.0 * 86_400.0;

/// An injected fault must be one a real printer could report: a short printable message, a
/// file name like any other, durations that are finite and bounded.
fn check_fault(fault: &printers::simulated::Fault) -> AppResult<()> {
    use printers::simulated::Fault;
    let invalid = |field: &'static str, message: String| {
        AppError::Invalid(domain::Invalid::new(field, message))
    };
    match fault {
        Fault::Fail { message } => {
            if message.trim().is_empty()
                || message.chars().count() > MAX_FAULT_MESSAGE_CHARS
                || message.chars().any(char::is_control)
            {
                return Err(invalid(
                    "message",
                    format!("1 to {MAX_FAULT_MESSAGE_CHARS} characters, no control characters"),
                ));
            }
        }
        Fault::Disconnect { for_s } => {
            if !(for_s.is_finite() && (0.0..=MAX_FAULT_DISCONNECT_S).contains(for_s)) {
                return Err(invalid(
                    "for_s",
                    format!("a number of seconds from 0 to {MAX_FAULT_DISCONNECT_S}"),
                ));
            }
        }
        Fault::Pause => {}
        Fault::StartLocal {
            file_name,
            duration_s,
        } => {
            check_file_name(file_name)?;
            if !(duration_s.is_finite()
                && *duration_s > 0.0
                && *duration_s <= MAX_FAULT_LOCAL_PRINT_S)
            {
                return Err(invalid(
                    "duration_s",
                    format!("a number of seconds above 0 and at most {MAX_FAULT_LOCAL_PRINT_S}"),
                ));
            }
        }
    }
    Ok(())
}

/// What people do to printers.
#[derive(Clone, Copy)]
pub struct Control<'a> {
    pub(crate) app: &'a App,
}

impl App {
    pub fn control(&self) -> Control<'_> {
        Control { app: self }
    }
}

impl Control<'_> {
    /// The printer's supervisor here; when another instance supervises it, the request is
    /// that instance's to answer ([`AppError::Elsewhere`]).
    pub(crate) async fn live_printer(&self, id: PrinterId) -> AppResult<Arc<LivePrinter>> {
        if let Some(printer) = self.app.supervisors().get(id) {
            return Ok(printer);
        }
        if let Some(address) = self.app.printer_elsewhere(id).await? {
            return Err(AppError::Elsewhere { address });
        }
        Err(AppError::conflict(
            ErrorCode::PrinterNotConnected,
            "Farmhand has no working connection to this printer; check its driver settings",
        ))
    }

    /// The printer's live state.
    pub fn printer_live(&self, actor: &OrgActor, id: PrinterId) -> AppResult<LiveStatus> {
        actor.require_on_printer(Permission::PrintersView, id)?;
        self.app.supervisors().status(id).ok_or_else(|| {
            AppError::conflict(
                ErrorCode::PrinterNotConnected,
                "Farmhand has no working connection to this printer; check its driver settings",
            )
        })
    }

    /// The printer's prints, newest first.
    pub async fn list_prints(&self, actor: &OrgActor, id: PrinterId) -> AppResult<Vec<Print>> {
        actor.require_on_printer(Permission::PrintersView, id)?;
        let mut conn = self.app.store().read().await?;
        Ok(store::list_prints(&mut conn, actor.org(), id, 100).await?)
    }

    /// The printer's recorded state changes, newest first.
    pub async fn printer_history(
        &self,
        actor: &OrgActor,
        id: PrinterId,
    ) -> AppResult<Vec<PrinterStateEvent>> {
        actor.require_on_printer(Permission::PrintersView, id)?;
        let mut conn = self.app.store().read().await?;
        Ok(store::list_printer_state_events(&mut conn, actor.org(), id, 200).await?)
    }

    /// Receives a G-code file (the request body, streamed to disk) and starts it on an idle
    /// printer. Everything that can be refused without the file is refused before a byte of it
    /// is read; the file is removed once the printer has it, or on any error.
    pub async fn start_print<S, E>(
        &self,
        actor: &OrgActor,
        id: PrinterId,
        file_name: &str,
        body: S,
    ) -> AppResult<Print>
    where
        S: Stream<Item = Result<Bytes, E>> + Send,
        E: std::fmt::Display,
    {
        actor.require_on_printer(Permission::PrinterControlStart, id)?;
        let file_name = check_file_name(file_name)?;
        let printer = self.live_printer(id).await?;
        let state = printer.status().state;
        if state != PrinterState::Idle {
            return Err(not_ready(state, "start a print"));
        }
        let limit = self.app.settings().max_print_file_bytes;
        let staged = self.app.stage_upload(body, limit).await?;
        if staged.size() == 0 {
            return Err(AppError::Invalid(domain::Invalid::new(
                "file",
                format!("a G-code file of 1 byte to {limit} bytes"),
            )));
        }
        self.dispatch_print(Starter::Member(actor), &printer, &file_name, staged.file())
            .await
    }

    /// Sends the file of a job the dispatcher assigned to this printer, from the blob store,
    /// and starts it: the print is recorded for the job, which is then `printing`.
    pub(crate) async fn start_job_print(
        &self,
        printer: &LivePrinter,
        job: &domain::Job,
        by: Option<&OrgActor>,
    ) -> AppResult<Print> {
        self.start_for_job(printer, job, Starter::Job { job, by })
            .await
    }

    /// Starts another copy of a printing job on a second printer (the copy claimed already).
    pub(crate) async fn start_copy_print(
        &self,
        printer: &LivePrinter,
        job: &domain::Job,
    ) -> AppResult<Print> {
        self.start_for_job(printer, job, Starter::Copy(job)).await
    }

    /// Fetches the job's file from the library and starts it on the printer.
    async fn start_for_job(
        &self,
        printer: &LivePrinter,
        job: &domain::Job,
        starter: Starter<'_>,
    ) -> AppResult<Print> {
        let file = store::get_job_file_entry(
            &mut *self.app.store().read().await?,
            job.org_id,
            job.file_id,
        )
        .await?
        .ok_or(AppError::not_found("file"))?;
        let blob = self
            .app
            .settings()
            .blobs
            .read(job.org_id, &file.sha256)
            .await?;
        let limit = self.app.settings().max_print_file_bytes;
        let staged = self.app.stage_upload(blob.stream, limit).await?;
        let name = printer_file_name(job, &file.name);
        self.dispatch_print(starter, printer, &name, staged.file())
            .await
    }

    /// Sends a local file of known size and hash to an idle printer and starts it: the
    /// estimate, the upload, the print's record and audit event, the start.
    async fn dispatch_print(
        &self,
        starter: Starter<'_>,
        printer: &LivePrinter,
        file_name: &str,
        file: &printers::UploadFile,
    ) -> AppResult<Print> {
        let id = printer.id;
        let sha256 = hex::encode(file.sha256());
        let size = file.size();
        let estimate = {
            // Timed with the printer model's limits, as the printer will run it; reading and
            // analysing hundreds of megabytes is blocking work.
            let profile = printer.profile.clone();
            let path = file.path().to_owned();
            tokio::task::spawn_blocking(move || {
                let reader = std::fs::File::open(path)?;
                gcode::analyze_read(reader, &profile).map_err(std::io::Error::other)
            })
            .await
            .map_err(AppError::internal)?
            .map_err(AppError::internal)?
            .estimated_time_s
        };
        // A model's odd limits must not make the estimate a NaN.
        let estimate = if estimate.is_finite() { estimate } else { 0.0 };
        let mut track = printer.track.lock().await;
        if track.status.state != PrinterState::Idle {
            return Err(not_ready(track.status.state, "start a print"));
        }
        if track.print.is_some() {
            // Another start got here first and the printer has not reported it yet.
            return Err(not_ready(PrinterState::Printing, "start a print"));
        }
        // The printer may store the file under another name, one it will open; the print is
        // recorded under that name, the one the printer reports.
        let file_name = match printer.driver().upload(file_name, file).await {
            Ok(stored) => stored,
            Err(e) => {
                self.note_refusal(printer, &mut track, &e).await?;
                return Err(driver_error(e));
            }
        };
        let file_name = file_name.as_str();
        let new = store::NewPrint {
            printer: id,
            file_name,
            file_sha256: &sha256,
            file_size: i64::try_from(size).unwrap_or(i64::MAX),
            estimated_s: estimate,
            started_by: Some(starter.member()),
            managed: true,
            state: PrintState::Printing,
            started_at: self.app.now(),
            job: starter.job().map(|job| job.id),
        };
        let started = json!({
            "file_name": file_name, "sha256": sha256, "size": size, "estimated_s": estimate,
        });
        let print_id = self.record_start(starter, printer, &new, started).await?;
        let before_job = track.latest_job_id();
        track.print = Some(TrackedPrint {
            id: print_id,
            file_name: file_name.to_owned(),
            state: PrintState::Printing,
            started_by: Some(starter.member()),
            awaiting_start: Some(tokio::time::Instant::now()),
            job_id: None,
            before_job,
        });
        if let Err(e) = printer.driver().start(file_name).await {
            // The file was sent for this start only: it does not stay on the printer. Best
            // effort: the refusal is what the client needs to hear.
            if let Err(error) = printer.driver().remove_file(file_name).await {
                tracing::debug!(printer = %id, %error, "could not remove a refused file");
            }
            // Nothing is printing: record the print as failed rather than leave it hanging.
            track.print = None;
            let mut uow = self.app.begin_unattributed().await?;
            let (failed, now) = (PrintState::Failed, Some(uow.now()));
            let detail = e.to_string();
            let org = printer.org;
            store::update_print_state(uow.conn(), org, print_id, failed, &detail, now).await?;
            crate::jobs::follow_print_end(&mut uow, org, print_id, failed, &detail).await?;
            uow.commit().await?;
            self.note_refusal(printer, &mut track, &e).await?;
            return Err(AppError::Printer(e));
        }
        drop(track);
        self.app.observe_now(printer).await?;
        let mut conn = self.app.store().read().await?;
        store::get_print(&mut conn, printer.org, print_id)
            .await?
            .ok_or(AppError::not_found("print"))
    }

    /// Records a print that is about to start, with its audit event: attributed to the member
    /// who starts it, or for a job, to Farmhand, with the job moving to `printing` in the same
    /// unit of work.
    async fn record_start(
        &self,
        starter: Starter<'_>,
        printer: &LivePrinter,
        new: &store::NewPrint<'_>,
        mut started: serde_json::Value,
    ) -> AppResult<PrintId> {
        match starter {
            Starter::Member(actor) => {
                let mut uow = self.app.begin(actor, Changes::Data).await?;
                self.app.fence(&mut uow, printer.id).await?;
                let print_id = store::insert_print(uow.conn(), printer.org, new).await?;
                started["print_id"] = json!(print_id);
                uow.audit(Audit::of("print.start", "printer", printer.id).after(started));
                uow.commit().await?;
                Ok(print_id)
            }
            Starter::Job { job, .. } | Starter::Copy(job) => {
                let (step, from, by) = match starter {
                    Starter::Job { by, .. } => {
                        (domain::JobStep::Started, domain::JobState::Assigned, by)
                    }
                    _ => (
                        domain::JobStep::CopyStarted,
                        domain::JobState::Printing,
                        None,
                    ),
                };
                let mut uow = self.app.begin_unattributed().await?;
                self.app.fence(&mut uow, printer.id).await?;
                let print_id = store::insert_print(uow.conn(), printer.org, new).await?;
                let step = crate::jobs::SystemStep {
                    job: job.id,
                    step,
                    from,
                    to: domain::JobState::Printing,
                    reason: None,
                    printer: Some(printer.id),
                    detail: json!({ "print_id": print_id, "printer_id": printer.id }),
                    by,
                };
                if !crate::jobs::take_system_step(&mut uow, printer.org, &step).await? {
                    // Cancelled or moved while its file was on the way: it does not start.
                    return Err(AppError::conflict(
                        ErrorCode::InvalidTransition,
                        "the job changed while its file was sent to the printer",
                    ));
                }
                started["print_id"] = json!(print_id);
                started["job_id"] = json!(job.id);
                let event = match by {
                    Some(actor) => actor.event(uow.now(), "print.start", "printer", printer.id),
                    None => {
                        let mut event = crate::actor::console_event(
                            domain::audit::Chain::Org(printer.org),
                            uow.now(),
                            "print.start",
                            "printer",
                            printer.id.to_string(),
                        );
                        event.actor_label = "dispatcher".into();
                        event
                    }
                };
                uow.audit_event(crate::actor::with_change(event, None, Some(started)));
                uow.commit().await?;
                Ok(print_id)
            }
        }
    }

    pub async fn pause_print(&self, actor: &OrgActor, id: PrinterId) -> AppResult<LiveStatus> {
        let permission = Permission::PrinterControlPauseResume;
        self.printer_command(actor, id, permission, Command::Pause)
            .await
    }

    pub async fn resume_print(&self, actor: &OrgActor, id: PrinterId) -> AppResult<LiveStatus> {
        let permission = Permission::PrinterControlPauseResume;
        self.printer_command(actor, id, permission, Command::Resume)
            .await
    }

    /// Cancels the running print: your own with "cancel your own prints", anyone's with
    /// "cancel anyone's prints".
    pub async fn cancel_print(&self, actor: &OrgActor, id: PrinterId) -> AppResult<LiveStatus> {
        actor.require_on_printer(Permission::PrintersView, id)?;
        let printer = self.live_printer(id).await?;
        let own = {
            let track = printer.track.lock().await;
            track
                .print
                .as_ref()
                .is_some_and(|p| p.started_by == Some(actor.member_id()))
        };
        let permission = if own {
            Permission::PrinterControlCancelOwn
        } else {
            Permission::PrinterControlCancelAll
        };
        self.printer_command(actor, id, permission, Command::Cancel)
            .await
    }

    pub async fn emergency_stop(&self, actor: &OrgActor, id: PrinterId) -> AppResult<LiveStatus> {
        let permission = Permission::PrinterControlEmergencyStop;
        self.printer_command(actor, id, permission, Command::EmergencyStop)
            .await
    }

    pub async fn send_gcode(
        &self,
        actor: &OrgActor,
        id: PrinterId,
        input: SendGcode,
    ) -> AppResult<LiveStatus> {
        actor.require_on_printer(Permission::PrinterControlSendGcode, id)?;
        if input.lines.is_empty()
            || input.lines.len() > MAX_GCODE_LINES
            || input.lines.iter().any(|l| {
                l.chars().count() > MAX_GCODE_LINE_CHARS || l.chars().any(char::is_control)
            })
        {
            return Err(AppError::Invalid(domain::Invalid::new(
                "lines",
                format!(
                    "1 to {MAX_GCODE_LINES} lines of at most {MAX_GCODE_LINE_CHARS} characters without control characters"
                ),
            )));
        }
        let printer = self.live_printer(id).await?;
        {
            let mut track = printer.track.lock().await;
            if track.status.state == PrinterState::Offline {
                return Err(not_ready(track.status.state, "send G-code"));
            }
            let sent = printer.driver().send_gcode(&input.lines).await;
            self.checked(&printer, &mut track, sent).await?;
            self.audit_printer_action(
                actor,
                id,
                "printer.send_gcode",
                json!({ "lines": input.lines }),
            )
            .await?;
        }
        self.app.observe_now(&printer).await
    }

    pub async fn preheat(
        &self,
        actor: &OrgActor,
        id: PrinterId,
        input: Preheat,
    ) -> AppResult<LiveStatus> {
        actor.require_on_printer(Permission::PrinterControlPreheat, id)?;
        for (field, value) in [("tool", input.tool), ("bed", input.bed)] {
            if value.is_some_and(|t| !(0.0..=MAX_TEMPERATURE_C).contains(&t)) {
                return Err(AppError::Invalid(domain::Invalid::new(
                    field,
                    "a temperature between 0 and 500 °C",
                )));
            }
        }
        if input.tool.is_none() && input.bed.is_none() {
            return Err(AppError::Invalid(domain::Invalid::new(
                "tool",
                "give a tool or a bed temperature",
            )));
        }
        let printer = self.live_printer(id).await?;
        {
            let mut track = printer.track.lock().await;
            if track.status.state == PrinterState::Offline {
                return Err(not_ready(track.status.state, "preheat"));
            }
            let heated = printer.driver().preheat(input.tool, input.bed).await;
            self.checked(&printer, &mut track, heated).await?;
            self.audit_printer_action(
                actor,
                id,
                "printer.preheat",
                json!({ "tool": input.tool, "bed": input.bed }),
            )
            .await?;
        }
        self.app.observe_now(&printer).await
    }

    /// Takes a printer out of service or brings it back.
    pub async fn set_maintenance(
        &self,
        actor: &OrgActor,
        id: PrinterId,
        input: SetMaintenance,
    ) -> AppResult<LiveStatus> {
        actor.require_on_printer(Permission::PrinterControlMaintenance, id)?;
        let printer = self.live_printer(id).await?;
        {
            let mut track = printer.track.lock().await;
            let holds = Holds {
                maintenance: input.on,
                bed_clear_pending: track.status.bed_clear_pending,
            };
            self.set_holds(actor, id, &mut track, holds, "printer.maintenance")
                .await?;
        }
        self.app.observe_now(&printer).await
    }

    /// Confirms the build plate is clear, so the printer takes the next job.
    pub async fn confirm_bed_clear(
        &self,
        actor: &OrgActor,
        id: PrinterId,
    ) -> AppResult<LiveStatus> {
        actor.require_on_printer(Permission::PrinterControlConfirmBedClear, id)?;
        let printer = self.live_printer(id).await?;
        {
            let mut track = printer.track.lock().await;
            if !track.status.bed_clear_pending {
                return Err(AppError::conflict(
                    ErrorCode::BedNotAwaitingClear,
                    format!(
                        "there is nothing to confirm: the printer is {}",
                        track.status.state.as_str()
                    ),
                ));
            }
            let holds = Holds {
                maintenance: track.status.maintenance,
                bed_clear_pending: false,
            };
            self.set_holds(actor, id, &mut track, holds, "printer.bed_cleared")
                .await?;
        }
        self.app.observe_now(&printer).await
    }

    /// Persists and audits Farmhand's holds on a printer, then applies them to its live state.
    async fn set_holds(
        &self,
        actor: &OrgActor,
        id: PrinterId,
        track: &mut Track,
        holds: Holds,
        action: &'static str,
    ) -> AppResult<()> {
        let before = json!({ "maintenance": track.status.maintenance,
            "bed_clear_pending": track.status.bed_clear_pending });
        let after = json!({ "maintenance": holds.maintenance,
            "bed_clear_pending": holds.bed_clear_pending });
        let mut uow = self.app.begin(actor, Changes::Data).await?;
        let (maintenance, bed_clear_pending) = (holds.maintenance, holds.bed_clear_pending);
        store::set_printer_holds(uow.conn(), actor.org(), id, maintenance, bed_clear_pending)
            .await?;
        uow.audit(Audit::of(action, "printer", id).before(before).after(after));
        uow.commit().await?;
        track.status.maintenance = holds.maintenance;
        track.status.bed_clear_pending = holds.bed_clear_pending;
        self.app.wake_dispatcher();
        Ok(())
    }

    /// Injects a fault into a simulated printer (demos, training and tests).
    pub async fn simulate_fault(
        &self,
        actor: &OrgActor,
        id: PrinterId,
        fault: printers::simulated::Fault,
    ) -> AppResult<LiveStatus> {
        actor.require_on_printer(Permission::PrintersEdit, id)?;
        check_fault(&fault)?;
        let printer = self.live_printer(id).await?;
        let Some(simulator) = printer.driver().as_simulated() else {
            return Err(AppError::conflict(
                ErrorCode::NotSimulated,
                "only a simulated printer takes injected faults",
            ));
        };
        simulator.inject(fault.clone());
        self.audit_printer_action(
            actor,
            id,
            "printer.simulated_fault",
            json!({ "fault": format!("{fault:?}") }),
        )
        .await?;
        self.app.observe_now(&printer).await
    }

    /// Pause, resume, cancel or emergency stop: permission, state check, driver call, audit.
    async fn printer_command(
        &self,
        actor: &OrgActor,
        id: PrinterId,
        permission: Permission,
        command: Command,
    ) -> AppResult<LiveStatus> {
        actor.require_on_printer(permission, id)?;
        let printer = self.live_printer(id).await?;
        {
            let mut track = printer.track.lock().await;
            let state = track.status.state;
            if !command.allowed_in(state) {
                return Err(not_ready(state, command.doing()));
            }
            let driver = printer.driver();
            let result = match command {
                Command::Pause => driver.pause().await,
                Command::Resume => driver.resume().await,
                Command::Cancel => driver.cancel().await,
                Command::EmergencyStop => driver.emergency_stop().await,
            };
            self.checked(&printer, &mut track, result).await?;
            let print: Option<PrintId> = track.print.as_ref().map(|p| p.id);
            self.audit_printer_action(actor, id, command.action(), json!({ "print_id": print }))
                .await?;
        }
        self.app.observe_now(&printer).await
    }

    /// A driver call's result as the client sees it, after [`Self::note_refusal`].
    async fn checked(
        &self,
        printer: &LivePrinter,
        track: &mut Track,
        result: Result<(), printers::DriverError>,
    ) -> AppResult<()> {
        if let Err(e) = result {
            self.note_refusal(printer, track, &e).await?;
            return Err(AppError::Printer(e));
        }
        Ok(())
    }

    /// A refused credential puts the printer offline with the reason at once: a push channel
    /// opened with the old key may go on showing it as it was.
    async fn note_refusal(
        &self,
        printer: &LivePrinter,
        track: &mut Track,
        error: &printers::DriverError,
    ) -> AppResult<()> {
        self.app.metrics().count_driver_error(error);
        if *error == printers::DriverError::Unauthorized {
            let refused = Err(printers::DriverError::Unauthorized);
            self.app.observe_in(printer, track, refused).await?;
        }
        Ok(())
    }

    /// Records what the actor did to a printer. The printer was told first: a command cannot
    /// wait in a transaction for a printer's answer (on SQLite that would hold every writer).
    async fn audit_printer_action(
        &self,
        actor: &OrgActor,
        id: PrinterId,
        action: &'static str,
        after: serde_json::Value,
    ) -> AppResult<()> {
        let mut uow = self.app.begin(actor, Changes::Data).await?;
        uow.audit(Audit::of(action, "printer", id).after(after));
        uow.commit().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{edge_strings, fits};

    #[test]
    fn file_names_are_documented_as_checked() {
        for text in edge_strings() {
            assert_eq!(
                check_file_name(&text).is_ok(),
                fits(&text, FILE_NAME_PATTERN, MAX_FILE_NAME_CHARS),
                "{text:?}"
            );
        }
    }
}
