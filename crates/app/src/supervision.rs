//! The live fleet: one supervised connection per printer, its state in memory, and every state
//! transition persisted and audited.
//!
//! A supervisor task per printer connects (retrying with backoff), then polls on an interval or
//! as soon as the driver has pushed news. Each observation goes through [`App::observe`], which
//! keeps Farmhand's side of the story straight: prints it did not start are recorded as
//! unmanaged, a print that loses its printer becomes `unknown` and is settled when the printer
//! answers again (finished, still printing, or failed — never silently dropped or restarted),
//! and a print that ends leaves the printer awaiting a bed-clear confirmation.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use domain::audit::{Chain, NewAuditEvent};
use domain::printer_state::{Holds, Observation, derive_state};
use domain::{
    OrgId, Print, PrintId, PrintState, Printer, PrinterId, PrinterModel, PrinterState, Timestamp,
};
use printers::{AnyDriver, Driver, DriverError, JobPhase, RemoteStatus, Snapshot};
use serde_json::json;
use tokio::sync::broadcast;

use crate::App;
use crate::actor::console_event;
use crate::actor::with_change;
use crate::error::AppResult;

/// How the supervisors behave.
#[derive(Debug, Clone)]
pub struct LiveSettings {
    /// How often a printer is asked for its state when it pushes nothing.
    pub poll_interval: Duration,
    /// Longest a single call to a printer may take.
    pub call_timeout: Duration,
    /// Longest wait between reconnection attempts (the wait doubles from one second).
    pub max_backoff: Duration,
}

impl Default for LiveSettings {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_secs(1),
            call_timeout: Duration::from_secs(10),
            max_backoff: Duration::from_secs(60),
        }
    }
}

/// What a printer is printing, live.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveJob {
    /// The print Farmhand recorded for it.
    pub print_id: Option<PrintId>,
    pub file_name: String,
    /// 0.0 ..= 1.0
    pub progress: f64,
    pub elapsed_s: f64,
    pub remaining_s: Option<f64>,
}

/// Heater temperatures, °C.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LiveTemperatures {
    pub tool_actual: Option<f64>,
    pub tool_target: Option<f64>,
    pub bed_actual: Option<f64>,
    pub bed_target: Option<f64>,
}

/// A printer's live state.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveStatus {
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

/// A change of a printer's live state, for server-sent events.
#[derive(Debug, Clone)]
pub struct LiveUpdate {
    pub org: OrgId,
    pub status: LiveStatus,
}

/// The print a printer is working on, as Farmhand recorded it.
#[derive(Debug, Clone)]
pub(crate) struct TrackedPrint {
    pub id: PrintId,
    pub file_name: String,
    pub state: PrintState,
    pub started_by: Option<domain::MemberId>,
    /// Until the printer first reports the job, when Farmhand asked it to start (printers take
    /// a moment between "start" and reporting the job).
    pub awaiting_start: Option<tokio::time::Instant>,
}

/// How long a printer may take to report a print Farmhand started before it counts as failed.
const START_GRACE: Duration = Duration::from_secs(30);

/// Mutable per-printer facts, changed only under [`LivePrinter::track`].
#[derive(Debug)]
pub(crate) struct Track {
    pub status: LiveStatus,
    pub print: Option<TrackedPrint>,
}

/// One printer under supervision.
pub struct LivePrinter {
    pub org: OrgId,
    pub id: PrinterId,
    pub(crate) driver: AnyDriver,
    /// The printer model's motion limits, to estimate the prints started on it.
    pub(crate) profile: gcode::Profile,
    /// Serializes observations and control actions on this printer.
    pub(crate) track: tokio::sync::Mutex<Track>,
    /// A copy of the status for readers that must not wait (listings, SSE start).
    pub(crate) latest: Mutex<LiveStatus>,
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl LivePrinter {
    pub fn status(&self) -> LiveStatus {
        lock(&self.latest).clone()
    }

    pub fn driver(&self) -> &AnyDriver {
        &self.driver
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic elsewhere cannot leave a status half-written (it is replaced whole), so a
    // poisoned lock is still safe to use.
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// All supervised printers.
pub struct Supervisors {
    printers: RwLock<HashMap<PrinterId, Arc<LivePrinter>>>,
    updates: broadcast::Sender<LiveUpdate>,
    pub settings: LiveSettings,
}

impl Supervisors {
    pub fn new(settings: LiveSettings) -> Self {
        Self {
            printers: RwLock::new(HashMap::new()),
            updates: broadcast::channel(4096).0,
            settings,
        }
    }

    pub fn get(&self, id: PrinterId) -> Option<Arc<LivePrinter>> {
        self.printers
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&id)
            .cloned()
    }

    pub fn status(&self, id: PrinterId) -> Option<LiveStatus> {
        self.get(id).map(|p| p.status())
    }

    pub fn len(&self) -> usize {
        self.printers
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Live updates of every printer; receivers filter by what their reader may see.
    pub fn subscribe(&self) -> broadcast::Receiver<LiveUpdate> {
        self.updates.subscribe()
    }

    fn insert(&self, printer: Arc<LivePrinter>) -> Option<Arc<LivePrinter>> {
        self.printers
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(printer.id, printer)
    }

    fn remove(&self, id: PrinterId) -> Option<Arc<LivePrinter>> {
        self.printers
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&id)
    }

    /// Stops every supervisor (server shutdown).
    pub fn stop_all(&self) {
        let printers: Vec<_> = self
            .printers
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .drain()
            .map(|(_, p)| p)
            .collect();
        for printer in printers {
            stop(&printer);
        }
    }
}

fn stop(printer: &LivePrinter) {
    if let Some(task) = lock(&printer.task).take() {
        task.abort();
    }
}

fn initial_status(printer: &Printer) -> LiveStatus {
    LiveStatus {
        printer_id: printer.id,
        state: printer.state,
        detail: printer.state_detail.clone(),
        since: printer.state_since,
        job: None,
        temperatures: None,
        maintenance: printer.maintenance,
        bed_clear_pending: printer.bed_clear_pending,
    }
}

fn observation(snapshot: &Result<Snapshot, DriverError>) -> (Observation, String) {
    match snapshot {
        Err(e) => (Observation::Unreachable, e.to_string()),
        Ok(s) => match &s.status {
            RemoteStatus::Ready => (Observation::Ready, String::new()),
            RemoteStatus::Printing => (Observation::Printing, String::new()),
            RemoteStatus::Paused => (Observation::Paused, String::new()),
            RemoteStatus::Error { message } => (Observation::Error, message.clone()),
        },
    }
}

fn temperatures(snapshot: &Snapshot) -> LiveTemperatures {
    let t = snapshot.temperatures;
    LiveTemperatures {
        tool_actual: t.tool.map(|h| h.actual),
        tool_target: t.tool.map(|h| h.target),
        bed_actual: t.bed.map(|h| h.actual),
        bed_target: t.bed.map(|h| h.target),
    }
}

/// What happened to the tracked print, decided from one observation.
enum PrintEvent {
    None,
    /// A print Farmhand did not start is running.
    Unmanaged {
        file_name: String,
    },
    /// The print goes on in a new state (running ⇄ paused, or found again after a disconnect).
    Continues(PrintState),
    /// The print ended.
    Ended(PrintState, String),
    /// Contact lost while printing.
    Lost,
}

fn print_event(track: &Track, snapshot: &Result<Snapshot, DriverError>) -> PrintEvent {
    let tracked = track.print.as_ref();
    let snapshot = match snapshot {
        Err(_) => {
            return match tracked {
                Some(p) if p.state != PrintState::Unknown => PrintEvent::Lost,
                _ => PrintEvent::None,
            };
        }
        Ok(s) => s,
    };
    let job = snapshot.job.as_ref();
    let same_file = |p: &TrackedPrint| job.is_some_and(|j| j.file_name == p.file_name);
    let starting = |p: &TrackedPrint| {
        p.awaiting_start
            .is_some_and(|asked| asked.elapsed() < START_GRACE)
    };
    match (tracked, job) {
        // Just started: the printer may still report its previous job, or none.
        (Some(p), _) if starting(p) && !same_file(p) => PrintEvent::None,
        (Some(p), Some(j))
            if same_file(p)
                && starting(p)
                && matches!(
                    j.phase,
                    JobPhase::Completed | JobPhase::Cancelled | JobPhase::Failed
                )
                && j.progress < 1e-9 =>
        {
            // A finished job of the same name from before: ours has not begun yet.
            PrintEvent::None
        }
        (Some(p), Some(j)) if same_file(p) => {
            let now = match j.phase {
                JobPhase::Running => PrintState::Printing,
                JobPhase::Paused => PrintState::Paused,
                JobPhase::Completed => {
                    return PrintEvent::Ended(PrintState::Completed, String::new());
                }
                JobPhase::Cancelled => {
                    return PrintEvent::Ended(PrintState::Cancelled, "cancelled".into());
                }
                JobPhase::Failed => {
                    let detail = match &snapshot.status {
                        RemoteStatus::Error { message } => message.clone(),
                        _ => "the printer reports the print failed".into(),
                    };
                    return PrintEvent::Ended(PrintState::Failed, detail);
                }
            };
            if now == p.state {
                PrintEvent::None
            } else {
                PrintEvent::Continues(now)
            }
        }
        // The printer is on another file, or on none: the tracked print is gone.
        (Some(_), _) => PrintEvent::Ended(
            PrintState::Failed,
            "the printer no longer reports this print".into(),
        ),
        (None, Some(j)) if matches!(j.phase, JobPhase::Running | JobPhase::Paused) => {
            PrintEvent::Unmanaged {
                file_name: j.file_name.clone(),
            }
        }
        (None, _) => PrintEvent::None,
    }
}

/// Printers whose supervisors start per second when the server starts.
const FLEET_STARTS_PER_SECOND: f64 = 2_000.0;

impl App {
    /// The printers' supervisors and their live state.
    pub fn supervisors(&self) -> &Supervisors {
        &self.inner.supervisors
    }

    /// Starts supervising every printer in the database (server start-up), with what the
    /// supervisors need read in a few queries for the whole fleet.
    pub async fn start_fleet(&self) -> AppResult<()> {
        let start = store::fleet_start(&mut *self.store().read().await?).await?;
        let mut active_prints = start.active_prints;
        for (i, (org, printer, credential)) in start.printers.into_iter().enumerate() {
            let model = printer.model_id.and_then(|id| start.models.get(&id));
            let print = active_prints.remove(&printer.id);
            // First connections spread out: each records a state change, and all of them at
            // once would queue for the database (10,000 printers waited over 2 s for a
            // connection when they started together).
            let delay = Duration::from_secs_f64(i as f64 / FLEET_STARTS_PER_SECOND);
            self.start_supervisor(org, &printer, credential, model, print, delay);
        }
        Ok(())
    }

    /// Builds the driver for a printer as stored and (re)starts its supervisor.
    pub(crate) async fn supervise(&self, org: OrgId, printer: &Printer) -> AppResult<()> {
        let (credential, model, print) = {
            let mut conn = self.store().read().await?;
            let credential = store::printer_credential(&mut conn, org, printer.id).await?;
            let model = match printer.model_id {
                Some(id) => store::get_printer_model(&mut conn, org, id).await?,
                None => None,
            };
            let print = store::active_print(&mut conn, org, printer.id).await?;
            (credential, model, print)
        };
        self.start_supervisor(
            org,
            printer,
            credential,
            model.as_ref(),
            print,
            Duration::ZERO,
        );
        Ok(())
    }

    /// (Re)starts a printer's supervisor, after `delay`, from what is stored about it: its
    /// sealed credential, its model (for the estimator's limits) and the print under way, if any.
    fn start_supervisor(
        &self,
        org: OrgId,
        printer: &Printer,
        credential: Option<String>,
        model: Option<&PrinterModel>,
        print: Option<Print>,
        delay: Duration,
    ) {
        let connection = self.connection(org, printer, credential, model);
        let profile = connection.profile.clone();
        let driver = match AnyDriver::new(connection) {
            Ok(driver) => driver,
            Err(e) => {
                // Settings that cannot work are shown as an offline printer with the reason.
                tracing::warn!(printer = %printer.id, error = %e, "printer cannot be driven");
                return;
            }
        };
        let status = initial_status(printer);
        let live = Arc::new(LivePrinter {
            org,
            id: printer.id,
            driver,
            profile,
            track: tokio::sync::Mutex::new(Track {
                status: status.clone(),
                print: print.map(|p| TrackedPrint {
                    id: p.id,
                    file_name: p.file_name,
                    state: p.state,
                    started_by: p.started_by,
                    awaiting_start: None,
                }),
            }),
            latest: Mutex::new(status),
            task: Mutex::new(None),
        });
        let app = self.clone();
        let supervised = live.clone();
        *lock(&live.task) = Some(tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            app.supervisor(supervised).await;
        }));
        if let Some(old) = self.supervisors().insert(live) {
            stop(&old);
        }
    }

    /// Stops supervising a removed printer.
    pub(crate) fn unsupervise(&self, id: PrinterId) {
        if let Some(old) = self.supervisors().remove(id) {
            stop(&old);
        }
    }

    fn connection(
        &self,
        org: OrgId,
        printer: &Printer,
        credential: Option<String>,
        model: Option<&PrinterModel>,
    ) -> printers::Connection {
        let secret = match credential {
            Some(sealed) => match self.vault().open(org, &sealed) {
                Ok(secret) => Some(printers::Secret::new(secret)),
                Err(e) => {
                    tracing::warn!(printer = %printer.id, error = %e, "printer credential unusable");
                    None
                }
            },
            None => None,
        };
        let profile = model
            .and_then(|model| model.motion.as_object())
            .and_then(|motion| crate::fleet::motion_profile(motion).ok())
            .unwrap_or_default();
        let simulation =
            serde_json::from_value(printer.connection.settings.clone()).unwrap_or_default();
        printers::Connection {
            kind: printer.connection.driver,
            url: (!printer.connection.url.is_empty()).then(|| printer.connection.url.clone()),
            secret,
            timeout: self.supervisors().settings.call_timeout,
            profile,
            simulation,
        }
    }

    async fn supervisor(&self, printer: Arc<LivePrinter>) {
        let settings = self.supervisors().settings.clone();
        let mut backoff = Duration::from_secs(1);
        loop {
            let connected = call(&settings, printer.driver.connect()).await;
            let ok = connected.is_ok();
            self.observe_logged(&printer, connected).await;
            if !ok {
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(settings.max_backoff);
                continue;
            }
            backoff = Duration::from_secs(1);
            loop {
                tokio::select! {
                    () = tokio::time::sleep(settings.poll_interval) => {}
                    () = printer.driver.changed() => {}
                }
                let snapshot = call(&settings, printer.driver.snapshot()).await;
                let lost = snapshot.is_err();
                self.observe_logged(&printer, snapshot).await;
                if lost {
                    break;
                }
            }
        }
    }

    /// Takes one observation of the printer now, as its supervisor's next poll would, and
    /// answers the live state it leads to: so that the answer to an action shows its effect, and
    /// so that tests can drive supervision a step at a time instead of waiting for a poll.
    pub async fn observe_now(&self, printer: &LivePrinter) -> AppResult<LiveStatus> {
        let settings = &self.supervisors().settings;
        let snapshot = call(settings, printer.driver.snapshot()).await;
        self.observe(printer, snapshot).await?;
        Ok(printer.status())
    }

    /// [`App::observe_now`] for a printer by its ID; `None` when nobody supervises it.
    pub async fn observe_printer_now(&self, id: PrinterId) -> AppResult<Option<LiveStatus>> {
        match self.supervisors().get(id) {
            Some(printer) => self.observe_now(&printer).await.map(Some),
            None => Ok(None),
        }
    }

    async fn observe_logged(&self, printer: &LivePrinter, snapshot: Result<Snapshot, DriverError>) {
        if let Err(e) = self.observe(printer, snapshot).await {
            // The database being briefly unavailable must not stop supervision; the next
            // observation retries the same transition.
            tracing::warn!(printer = %printer.id, error = %e, "could not record a printer observation");
        }
    }

    /// Takes one observation of a printer: updates its live state and records transitions.
    pub(crate) async fn observe(
        &self,
        printer: &LivePrinter,
        snapshot: Result<Snapshot, DriverError>,
    ) -> AppResult<()> {
        let mut track = printer.track.lock().await;
        let event = print_event(&track, &snapshot);
        self.apply_print_event(printer, &mut track, event).await?;
        if let (Some(print), Ok(s)) = (track.print.as_mut(), &snapshot)
            && s.job.as_ref().is_some_and(|j| {
                j.file_name == print.file_name
                    && matches!(j.phase, JobPhase::Running | JobPhase::Paused)
            })
        {
            print.awaiting_start = None;
        }
        let (observed, detail) = observation(&snapshot);
        let holds = Holds {
            maintenance: track.status.maintenance,
            bed_clear_pending: track.status.bed_clear_pending,
        };
        let state = derive_state(observed, holds);
        let mut status = track.status.clone();
        if let Ok(s) = &snapshot {
            status.temperatures = Some(temperatures(s));
            status.job = s
                .job
                .as_ref()
                .filter(|j| matches!(j.phase, JobPhase::Running | JobPhase::Paused))
                .map(|j| LiveJob {
                    print_id: track.print.as_ref().map(|p| p.id),
                    file_name: j.file_name.clone(),
                    progress: j.progress.clamp(0.0, 1.0),
                    elapsed_s: j.elapsed_s,
                    remaining_s: j.remaining_s,
                });
        }
        let detail = match state {
            PrinterState::Offline | PrinterState::Error => detail,
            _ => String::new(),
        };
        if state != status.state || detail != status.detail {
            let now = self.now();
            self.record_state(
                printer,
                &status,
                state,
                &detail,
                track.print.as_ref().map(|p| p.id),
                now,
            )
            .await?;
            status.state = state;
            status.detail = detail;
            status.since = now;
        }
        self.publish(printer, &mut track, status);
        Ok(())
    }

    /// Makes `status` the printer's live state and tells subscribers if it changed.
    pub(crate) fn publish(&self, printer: &LivePrinter, track: &mut Track, status: LiveStatus) {
        if status == track.status {
            return;
        }
        track.status = status.clone();
        *lock(&printer.latest) = status.clone();
        // No subscriber is fine.
        let _ = self.supervisors().updates.send(LiveUpdate {
            org: printer.org,
            status,
        });
    }

    async fn record_state(
        &self,
        printer: &LivePrinter,
        before: &LiveStatus,
        to: PrinterState,
        detail: &str,
        print: Option<PrintId>,
        now: Timestamp,
    ) -> AppResult<()> {
        let mut uow = self.begin_unattributed().await?;
        store::record_printer_state(
            uow.conn(),
            printer.org,
            &store::StateChange {
                printer: printer.id,
                from: before.state,
                to,
                detail,
                print,
                at: now,
            },
        )
        .await?;
        let event = with_change(
            system_event(printer, now, "printer.state_change"),
            Some(json!({ "state": before.state, "detail": before.detail })),
            Some(json!({ "state": to, "detail": detail, "print_id": print })),
        );
        uow.audit_event(event);
        uow.commit().await?;
        Ok(())
    }

    async fn apply_print_event(
        &self,
        printer: &LivePrinter,
        track: &mut Track,
        event: PrintEvent,
    ) -> AppResult<()> {
        let now = self.now();
        match event {
            PrintEvent::None => Ok(()),
            PrintEvent::Unmanaged { file_name } => {
                let mut uow = self.begin_unattributed().await?;
                let id = store::insert_print(
                    uow.conn(),
                    printer.org,
                    &store::NewPrint {
                        printer: printer.id,
                        file_name: &file_name,
                        file_sha256: "",
                        file_size: 0,
                        estimated_s: 0.0,
                        started_by: None,
                        managed: false,
                        state: PrintState::Printing,
                        started_at: now,
                    },
                )
                .await?;
                let event = with_change(
                    system_event(printer, now, "print.unmanaged_detected"),
                    None,
                    Some(json!({ "print_id": id, "file_name": file_name })),
                );
                uow.audit_event(event);
                uow.commit().await?;
                track.print = Some(TrackedPrint {
                    id,
                    file_name,
                    state: PrintState::Printing,
                    started_by: None,
                    awaiting_start: None,
                });
                Ok(())
            }
            PrintEvent::Continues(state) => {
                let Some(print) = track.print.as_mut() else {
                    return Ok(());
                };
                let mut uow = self.begin_unattributed().await?;
                store::update_print_state(uow.conn(), printer.org, print.id, state, "", None)
                    .await?;
                if print.state == PrintState::Unknown {
                    let event = with_change(
                        system_event(printer, now, "print.reconciled"),
                        Some(json!({ "print_id": print.id, "state": print.state })),
                        Some(json!({ "print_id": print.id, "state": state })),
                    );
                    uow.audit_event(event);
                }
                uow.commit().await?;
                print.state = state;
                Ok(())
            }
            PrintEvent::Lost => {
                let Some(print) = track.print.as_mut() else {
                    return Ok(());
                };
                let mut uow = self.begin_unattributed().await?;
                let detail = "contact with the printer was lost while printing";
                store::update_print_state(
                    uow.conn(),
                    printer.org,
                    print.id,
                    PrintState::Unknown,
                    detail,
                    None,
                )
                .await?;
                let event = with_change(
                    system_event(printer, now, "print.contact_lost"),
                    Some(json!({ "print_id": print.id, "state": print.state })),
                    Some(json!({ "print_id": print.id, "state": PrintState::Unknown })),
                );
                uow.audit_event(event);
                uow.commit().await?;
                print.state = PrintState::Unknown;
                Ok(())
            }
            PrintEvent::Ended(state, detail) => {
                let Some(print) = track.print.take() else {
                    return Ok(());
                };
                let mut uow = self.begin_unattributed().await?;
                store::update_print_state(
                    uow.conn(),
                    printer.org,
                    print.id,
                    state,
                    &detail,
                    Some(now),
                )
                .await?;
                // Whatever is left on the plate must be cleared before the next job.
                store::set_printer_holds(
                    uow.conn(),
                    printer.org,
                    printer.id,
                    track.status.maintenance,
                    true,
                )
                .await?;
                let event = with_change(
                    system_event(printer, now, "print.ended"),
                    Some(json!({ "print_id": print.id, "state": print.state })),
                    Some(json!({ "print_id": print.id, "state": state, "detail": detail })),
                );
                uow.audit_event(event);
                uow.commit().await?;
                track.status.bed_clear_pending = true;
                Ok(())
            }
        }
    }
}

async fn call<T>(
    settings: &LiveSettings,
    future: impl std::future::Future<Output = Result<T, DriverError>>,
) -> Result<T, DriverError> {
    match tokio::time::timeout(settings.call_timeout, future).await {
        Ok(result) => result,
        Err(_) => Err(DriverError::Timeout(settings.call_timeout)),
    }
}

fn system_event(printer: &LivePrinter, now: Timestamp, action: &str) -> NewAuditEvent {
    let mut event = console_event(
        Chain::Org(printer.org),
        now,
        action,
        "printer",
        printer.id.to_string(),
    );
    event.actor_label = "fleet supervisor".into();
    event
}
