//! The live fleet: one supervised connection per printer, its state in memory, and every state
//! transition persisted and audited.
//!
//! A supervisor task per printer connects (retrying with backoff), then polls on an interval or
//! as soon as the driver has pushed news. Each observation goes through [`App::observe`], which
//! keeps Farmhand's side of the story straight: prints it did not start are recorded as
//! unmanaged, a print that loses its printer becomes `unknown` and is settled when the printer
//! answers again (finished, still printing, or failed — never silently dropped or restarted),
//! and a print that ends leaves the printer awaiting a bed-clear confirmation.
//!
//! Printers that keep a record of their jobs (Moonraker's job history) give each job an ID.
//! Farmhand ties its prints to those IDs, so that a new print of a file is never taken for the
//! printer's last job of the same name (whose status Klipper keeps), and reads the record from
//! where it left off (the printer's job cursor, stored) whenever the printer shows a job it does
//! not know: prints made while Farmhand was away, or too short to be seen running, are recorded
//! with the outcome and times the printer gives.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use domain::audit::{Chain, NewAuditEvent};
use domain::printer_state::{Holds, Observation, derive_state};
use domain::{
    OrgId, Print, PrintId, PrintState, Printer, PrinterId, PrinterModel, PrinterState, Timestamp,
};
use printers::{
    AnyDriver, Driver, DriverError, JobPhase, PastJob, RemoteJob, RemoteStatus, Snapshot,
};
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
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LiveJob {
    /// The print Farmhand recorded for it.
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

/// Heater temperatures, °C.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LiveTemperatures {
    pub tool_actual: Option<f64>,
    pub tool_target: Option<f64>,
    pub bed_actual: Option<f64>,
    pub bed_target: Option<f64>,
}

/// A printer's live state.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
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
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
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
    /// The printer's ID for this job, once it gave one.
    pub job_id: Option<String>,
    /// The ID of the job the printer reported just before Farmhand started this print: a report
    /// of it describes the previous job (perhaps of the same file), not this one.
    pub before_job: Option<String>,
}

/// How far Farmhand has read the printer's own record of its jobs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum JobCursor {
    /// Never read: the first reading only marks where the record stands.
    Unread,
    /// Read through the job with this ID (`""`: the record was empty).
    After(String),
    /// The printer keeps no job record (the simulator, OctoPrint).
    NoRecord,
}

impl JobCursor {
    fn stored(cursor: Option<String>) -> JobCursor {
        cursor.map_or(JobCursor::Unread, JobCursor::After)
    }

    /// Whether the printer's job IDs can be relied on to tell its jobs apart.
    fn has_ids(&self) -> bool {
        matches!(self, JobCursor::After(_))
    }
}

/// How long a printer may take to report a print Farmhand started before it counts as failed.
const START_GRACE: Duration = Duration::from_secs(30);

/// Mutable per-printer facts, changed only under [`LivePrinter::track`].
#[derive(Debug)]
pub(crate) struct Track {
    pub status: LiveStatus,
    pub print: Option<TrackedPrint>,
    pub cursor: JobCursor,
    /// The ID of the job the printer showed at the last observation, if it gave one.
    pub last_job_id: Option<String>,
    /// When the newest observation taken into account was asked for: one asked for earlier
    /// and answered later (a poll under way while an action observed the printer) is stale.
    pub observed_asked: Option<tokio::time::Instant>,
}

impl Track {
    /// The printer's ID of its latest job as far as Farmhand knows: a new print's
    /// [`TrackedPrint::before_job`].
    pub fn latest_job_id(&self) -> Option<String> {
        let accounted = match &self.cursor {
            JobCursor::After(id) if !id.is_empty() => Some(id.clone()),
            _ => None,
        };
        self.last_job_id.clone().or(accounted)
    }
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
    /// Live states of printers other instances supervise, as they report them.
    remote: RwLock<HashMap<PrinterId, LiveStatus>>,
    updates: broadcast::Sender<LiveUpdate>,
    pub settings: LiveSettings,
}

impl Supervisors {
    pub fn new(settings: LiveSettings) -> Self {
        Self {
            printers: RwLock::new(HashMap::new()),
            remote: RwLock::new(HashMap::new()),
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

    /// The printer's live state: from its supervisor here, or as the instance supervising it
    /// last reported.
    pub fn status(&self, id: PrinterId) -> Option<LiveStatus> {
        match self.get(id) {
            Some(printer) => Some(printer.status()),
            None => self
                .remote
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .get(&id)
                .cloned(),
        }
    }

    /// A live state another instance reported: kept, and told to this instance's subscribers.
    pub(crate) fn remote_update(&self, update: LiveUpdate) {
        self.remote
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(update.status.printer_id, update.status.clone());
        // No subscriber is fine.
        let _ = self.updates.send(update);
    }

    /// Every supervised printer.
    pub(crate) fn all(&self) -> Vec<Arc<LivePrinter>> {
        self.printers
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .values()
            .cloned()
            .collect()
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
        self.remote
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&printer.id);
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
        job_id: Option<String>,
    },
    /// The print goes on in a new state (running ⇄ paused, or found again after a disconnect).
    Continues(PrintState),
    /// The print ended (as the printer's job with this ID, when it gave one).
    Ended(PrintState, String, Option<String>),
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
        // The printer's last job, not this one, or an ended job it has not said which it is.
        (Some(p), Some(j)) if same_file(p) && !is_this_job(p, j, &track.cursor) => {
            if p.awaiting_start.is_some() && !starting(p) {
                PrintEvent::Ended(
                    PrintState::Failed,
                    "the printer never started this print".into(),
                    None,
                )
            } else {
                PrintEvent::None
            }
        }
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
            let job_id = j.job_id.clone();
            let now = match j.phase {
                JobPhase::Running => PrintState::Printing,
                JobPhase::Paused => PrintState::Paused,
                JobPhase::Completed => {
                    return PrintEvent::Ended(PrintState::Completed, String::new(), job_id);
                }
                JobPhase::Cancelled => {
                    return PrintEvent::Ended(PrintState::Cancelled, "cancelled".into(), job_id);
                }
                JobPhase::Failed => {
                    let detail = failure_detail(&snapshot.status, &j.message);
                    return PrintEvent::Ended(PrintState::Failed, detail, job_id);
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
            None,
        ),
        (None, Some(j)) if matches!(j.phase, JobPhase::Running | JobPhase::Paused) => {
            PrintEvent::Unmanaged {
                file_name: j.file_name.clone(),
                job_id: j.job_id.clone(),
            }
        }
        (None, _) => PrintEvent::None,
    }
}

/// Whether the printer's job of the tracked print's file is that print. With job IDs: not the
/// job the printer showed before this print started, and an ended job only once the printer
/// says which one it is (Klipper keeps the last job's file and progress, so an ended job of the
/// same file may be the previous one). A running job is this one: one job runs at a time, and
/// this print was started on an idle printer.
fn is_this_job(print: &TrackedPrint, job: &RemoteJob, cursor: &JobCursor) -> bool {
    let running = matches!(job.phase, JobPhase::Running | JobPhase::Paused);
    match (&job.job_id, &print.job_id) {
        (Some(id), Some(ours)) => id == ours,
        (Some(id), None) => print.before_job.as_ref() != Some(id),
        (None, _) => running || !cursor.has_ids(),
    }
}

/// Why a print failed, in the printer's own words when it gave any.
fn failure_detail(status: &RemoteStatus, job_message: &str) -> String {
    match status {
        RemoteStatus::Error { message } => message.clone(),
        _ if !job_message.is_empty() => job_message.to_owned(),
        _ => "the printer reports the print failed".into(),
    }
}

/// How a job of the printer's record ended, as a print's state; `None` while it runs.
fn ended_state(job: &PastJob) -> Option<PrintState> {
    match job.phase {
        JobPhase::Running | JobPhase::Paused => None,
        JobPhase::Completed => Some(PrintState::Completed),
        JobPhase::Cancelled => Some(PrintState::Cancelled),
        JobPhase::Failed => Some(PrintState::Failed),
    }
}

/// Whether the printer shows a job Farmhand has not accounted for, so its record is read.
fn record_needed(track: &Track, snapshot: &Snapshot) -> bool {
    let shown = snapshot.job.as_ref().and_then(|j| j.job_id.as_deref());
    match &track.cursor {
        JobCursor::Unread => true,
        JobCursor::NoRecord => false,
        // A job neither accounted for nor followed live; or the tracked print's own job after
        // contact was lost, so that it is settled with the time the printer says it ended.
        JobCursor::After(cursor) => shown.is_some_and(|id| {
            let tracked = track.print.as_ref();
            let followed = tracked.and_then(|p| p.job_id.as_deref()) == Some(id);
            let lost = tracked.is_some_and(|p| p.state == PrintState::Unknown);
            id != cursor && (!followed || lost)
        }),
    }
}

/// What is stored about a printer that its supervisor starts from: its sealed credential, its
/// model (for the estimator's limits), the print under way and how far its job record was read.
struct Stored<'a> {
    credential: Option<String>,
    model: Option<&'a PrinterModel>,
    print: Option<Print>,
    cursor: JobCursor,
}

/// Printers whose supervisors start per second when the server starts.
const FLEET_STARTS_PER_SECOND: f64 = 2_000.0;

impl App {
    /// The printers' supervisors and their live state.
    pub fn supervisors(&self) -> &Supervisors {
        &self.inner.supervisors
    }

    /// (Re)starts supervising `printers` (`None`: every printer in the database), with what
    /// the supervisors need read in a few queries for all of them. Those no longer in the
    /// database stop being supervised.
    pub(crate) async fn start_supervisors(&self, printers: Option<&[PrinterId]>) -> AppResult<()> {
        let start = store::fleet_start(&mut *self.store().read().await?, printers).await?;
        for id in printers.unwrap_or_default() {
            if !start
                .printers
                .iter()
                .any(|(_, printer, _)| printer.id == *id)
            {
                self.unsupervise(*id);
            }
        }
        let mut active_prints = start.active_prints;
        let mut cursors = start.job_cursors;
        for (i, (org, printer, credential)) in start.printers.into_iter().enumerate() {
            let model = printer.model_id.and_then(|id| start.models.get(&id));
            let print = active_prints.remove(&printer.id);
            let cursor = JobCursor::stored(cursors.remove(&printer.id));
            // First connections spread out: each records a state change, and all of them at
            // once would queue for the database (10,000 printers waited over 2 s for a
            // connection when they started together).
            let delay = Duration::from_secs_f64(i as f64 / FLEET_STARTS_PER_SECOND);
            let stored = Stored {
                credential,
                model,
                print,
                cursor,
            };
            self.start_supervisor(org, &printer, stored, delay);
        }
        Ok(())
    }

    /// Builds the driver for a printer as stored and (re)starts its supervisor.
    /// Another instance holding the printer's lease is told to do it instead.
    pub(crate) async fn supervise(&self, org: OrgId, printer: &Printer) -> AppResult<()> {
        if !self.take_lease(printer.id).await? {
            return Ok(());
        }
        let mut conn = self.store().read().await?;
        let credential = store::printer_credential(&mut conn, org, printer.id).await?;
        let model = match printer.model_id {
            Some(id) => store::get_printer_model(&mut conn, org, id).await?,
            None => None,
        };
        let print = store::active_print(&mut conn, org, printer.id).await?;
        let cursor = store::printer_job_cursor(&mut conn, org, printer.id).await?;
        drop(conn);
        let stored = Stored {
            credential,
            model: model.as_ref(),
            print,
            cursor: JobCursor::stored(cursor),
        };
        self.start_supervisor(org, printer, stored, Duration::ZERO);
        Ok(())
    }

    /// (Re)starts a printer's supervisor, after `delay`, from what is stored about it.
    fn start_supervisor(&self, org: OrgId, printer: &Printer, stored: Stored<'_>, delay: Duration) {
        let Stored {
            credential,
            model,
            print,
            cursor,
        } = stored;
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
                    job_id: None,
                    before_job: None,
                }),
                cursor,
                last_job_id: None,
                observed_asked: None,
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
            let asked = tokio::time::Instant::now();
            let connected = call(&settings, printer.driver.connect()).await;
            let ok = connected.is_ok();
            self.observe_logged(&printer, connected, asked).await;
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
                let asked = tokio::time::Instant::now();
                let snapshot = call(&settings, printer.driver.snapshot()).await;
                let lost = snapshot.is_err();
                self.observe_logged(&printer, snapshot, asked).await;
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
        let asked = tokio::time::Instant::now();
        let snapshot = call(settings, printer.driver.snapshot()).await;
        self.observe(printer, snapshot, asked).await?;
        Ok(printer.status())
    }

    /// [`App::observe_now`] for a printer by its ID; `None` when nobody supervises it.
    pub async fn observe_printer_now(&self, id: PrinterId) -> AppResult<Option<LiveStatus>> {
        match self.supervisors().get(id) {
            Some(printer) => self.observe_now(&printer).await.map(Some),
            None => Ok(None),
        }
    }

    async fn observe_logged(
        &self,
        printer: &LivePrinter,
        snapshot: Result<Snapshot, DriverError>,
        asked: tokio::time::Instant,
    ) {
        if let Err(error) = &snapshot {
            self.metrics().count_driver_error(error);
        }
        if let Err(e) = self.observe(printer, snapshot, asked).await {
            // The database being briefly unavailable must not stop supervision; the next
            // observation retries the same transition.
            tracing::warn!(printer = %printer.id, error = %e, "could not record a printer observation");
        }
    }

    /// Takes one observation of a printer, asked for at `asked`: updates its live state and
    /// records transitions. An observation older than one already taken into account is
    /// dropped: it would show the printer as it was before (a print just started as not yet
    /// there).
    pub(crate) async fn observe(
        &self,
        printer: &LivePrinter,
        snapshot: Result<Snapshot, DriverError>,
        asked: tokio::time::Instant,
    ) -> AppResult<()> {
        let mut track = printer.track.lock().await;
        if track.observed_asked.is_some_and(|newest| asked < newest) {
            return Ok(());
        }
        track.observed_asked = Some(asked);
        self.observe_in(printer, &mut track, snapshot).await
    }

    /// [`App::observe`] for whoever holds the printer's track already (a control action).
    pub(crate) async fn observe_in(
        &self,
        printer: &LivePrinter,
        track: &mut Track,
        snapshot: Result<Snapshot, DriverError>,
    ) -> AppResult<()> {
        if let Ok(s) = &snapshot
            && record_needed(track, s)
        {
            self.read_job_record(printer, track, s).await?;
        }
        let event = print_event(track, &snapshot);
        self.apply_print_event(printer, track, event).await?;
        if let Ok(s) = &snapshot {
            track.last_job_id = s.job.as_ref().and_then(|j| j.job_id.clone());
        }
        if let (Some(print), Ok(s)) = (track.print.as_mut(), &snapshot)
            && let Some(j) = s.job.as_ref().filter(|j| j.file_name == print.file_name)
            && is_this_job(print, j, &track.cursor)
        {
            if matches!(j.phase, JobPhase::Running | JobPhase::Paused) {
                print.awaiting_start = None;
            }
            if print.job_id.is_none() {
                print.job_id = j.job_id.clone();
            }
        }
        let (observed, detail) = observation(&snapshot);
        let holds = Holds {
            maintenance: track.status.maintenance,
            bed_clear_pending: track.status.bed_clear_pending,
        };
        let state = derive_state(observed, holds);
        let mut status = track.status.clone();
        match &snapshot {
            Ok(s) => {
                let seen_at = self.now();
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
                        seen_at,
                        last_known: false,
                    });
            }
            // The printer does not answer: its job is shown as it was last seen, and says so.
            Err(_) => {
                if let Some(job) = status.job.as_mut() {
                    job.last_known = true;
                }
            }
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
        self.publish(printer, track, status);
        Ok(())
    }

    /// Makes `status` the printer's live state and tells subscribers if it changed.
    pub(crate) fn publish(&self, printer: &LivePrinter, track: &mut Track, status: LiveStatus) {
        if status == track.status {
            return;
        }
        track.status = status.clone();
        *lock(&printer.latest) = status.clone();
        let update = LiveUpdate {
            org: printer.org,
            status,
        };
        self.instance().share_live(&update);
        // No subscriber is fine.
        let _ = self.supervisors().updates.send(update);
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
            PrintEvent::Unmanaged { file_name, job_id } => {
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
                        job: None,
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
                    job_id,
                    before_job: None,
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
                if print.state != state {
                    crate::jobs::follow_print_state(&mut uow, printer.org, print.id, state).await?;
                }
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
                let unknown = PrintState::Unknown;
                crate::jobs::follow_print_state(&mut uow, printer.org, print.id, unknown).await?;
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
            PrintEvent::Ended(state, detail, job_id) => {
                let Some(print) = track.print.take() else {
                    return Ok(());
                };
                let job_id = job_id.filter(|_| track.cursor.has_ids());
                let mut uow = self.begin_unattributed().await?;
                let end = PrintEnd {
                    print: print.id,
                    state,
                    detail: &detail,
                    ended_at: now,
                    job_id: job_id.as_deref(),
                };
                record_end(&mut uow, printer, track, &end).await?;
                let event = with_change(
                    system_event(printer, now, "print.ended"),
                    Some(json!({ "print_id": print.id, "state": print.state })),
                    Some(json!({ "print_id": print.id, "state": state, "detail": detail })),
                );
                uow.audit_event(event);
                uow.commit().await?;
                ended(track, job_id);
                Ok(())
            }
        }
    }
}

impl App {
    /// Reads the printer's record of its jobs from where Farmhand left off and accounts for
    /// each ended job in turn: the tracked print's (settled as the printer says it ended) or
    /// one Farmhand did not see (recorded as an unmanaged print). The first reading of a printer
    /// only marks where its record stands. A printer that does not answer is read next time.
    async fn read_job_record(
        &self,
        printer: &LivePrinter,
        track: &mut Track,
        snapshot: &Snapshot,
    ) -> AppResult<()> {
        let after = match &track.cursor {
            JobCursor::After(id) if !id.is_empty() => Some(id.clone()),
            _ => None,
        };
        let settings = &self.supervisors().settings;
        let jobs = match call(settings, printer.driver.job_history(after.as_deref())).await {
            Ok(Some(jobs)) => jobs,
            Ok(None) => {
                track.cursor = JobCursor::NoRecord;
                return Ok(());
            }
            Err(e) => {
                tracing::debug!(printer = %printer.id, error = %e, "could not read the printer's job record");
                return Ok(());
            }
        };
        if track.cursor == JobCursor::Unread {
            let newest = jobs.last().map_or_else(String::new, |j| j.job_id.clone());
            let mut uow = self.begin_unattributed().await?;
            store::set_printer_job_cursor(uow.conn(), printer.org, printer.id, &newest).await?;
            uow.commit().await?;
            track.cursor = JobCursor::After(newest);
            return Ok(());
        }
        for job in &jobs {
            if !self.account_for_job(printer, track, snapshot, job).await? {
                break;
            }
        }
        Ok(())
    }

    /// Records one job of the printer's record; false when it is still running (it and what
    /// follows are the live observations' to follow).
    async fn account_for_job(
        &self,
        printer: &LivePrinter,
        track: &mut Track,
        snapshot: &Snapshot,
        job: &PastJob,
    ) -> AppResult<bool> {
        let ours = track.print.as_ref().is_some_and(|p| is_past_job(p, job));
        let Some(state) = ended_state(job) else {
            if let Some(print) = track.print.as_mut().filter(|_| ours) {
                print.job_id = Some(job.job_id.clone());
            }
            return Ok(false);
        };
        let detail = past_job_detail(state, job, snapshot);
        let ended_at = job.ended_at.unwrap_or_else(|| self.now());
        let mut uow = self.begin_unattributed().await?;
        let (print_id, before) = match track.print.as_ref().filter(|_| ours) {
            Some(print) => (print.id, print.state),
            None => {
                let id = store::insert_print(
                    uow.conn(),
                    printer.org,
                    &store::NewPrint {
                        printer: printer.id,
                        file_name: &job.file_name,
                        file_sha256: "",
                        file_size: 0,
                        estimated_s: 0.0,
                        started_by: None,
                        managed: false,
                        state: PrintState::Printing,
                        started_at: job.started_at,
                        job: None,
                    },
                )
                .await?;
                let found =
                    json!({ "print_id": id, "file_name": job.file_name, "job_id": job.job_id });
                // Audit events are in Farmhand's time, whatever the printer's clock says.
                let event = system_event(printer, self.now(), "print.unmanaged_detected");
                uow.audit_event(with_change(event, None, Some(found)));
                (id, PrintState::Printing)
            }
        };
        let end = PrintEnd {
            print: print_id,
            state,
            detail: &detail,
            ended_at,
            job_id: Some(&job.job_id),
        };
        record_end(&mut uow, printer, track, &end).await?;
        let event = with_change(
            system_event(printer, self.now(), "print.ended"),
            Some(json!({ "print_id": print_id, "state": before })),
            Some(
                json!({ "print_id": print_id, "state": state, "detail": detail,
                "ended_at": ended_at, "job_id": job.job_id }),
            ),
        );
        uow.audit_event(event);
        uow.commit().await?;
        if ours {
            track.print = None;
        }
        ended(track, Some(job.job_id.clone()));
        Ok(true)
    }
}

/// How a print ended, to record.
struct PrintEnd<'a> {
    print: PrintId,
    state: PrintState,
    detail: &'a str,
    ended_at: Timestamp,
    /// The printer's job it was, when the printer keeps a record: accounted for from now on.
    job_id: Option<&'a str>,
}

/// Records a print's end in `uow`: its state, the plate to clear before the next job and, with
/// a job ID, that the printer's record is read from after that job.
async fn record_end<A>(
    uow: &mut crate::unit_of_work::UnitOfWork<A>,
    printer: &LivePrinter,
    track: &Track,
    end: &PrintEnd<'_>,
) -> AppResult<()> {
    let (org, conn) = (printer.org, uow.conn());
    store::update_print_state(
        conn,
        org,
        end.print,
        end.state,
        end.detail,
        Some(end.ended_at),
    )
    .await?;
    store::set_printer_holds(conn, org, printer.id, track.status.maintenance, true).await?;
    if let Some(id) = end.job_id {
        store::set_printer_job_cursor(conn, org, printer.id, id).await?;
    }
    crate::jobs::follow_print_end(uow, org, end.print, end.state, end.detail).await
}

/// After [`record_end`] committed: the same in memory.
fn ended(track: &mut Track, job_id: Option<String>) {
    track.status.bed_clear_pending = true;
    if let Some(id) = job_id {
        track.cursor = JobCursor::After(id);
    }
}

/// Whether a job of the printer's record is the tracked print: its ID once known, else the
/// first job of its file after the one the printer showed before it started.
fn is_past_job(print: &TrackedPrint, job: &PastJob) -> bool {
    match &print.job_id {
        Some(id) => *id == job.job_id,
        None => job.file_name == print.file_name && print.before_job.as_ref() != Some(&job.job_id),
    }
}

/// The detail of an ended job of the record: the printer's words when it still shows the job.
fn past_job_detail(state: PrintState, job: &PastJob, snapshot: &Snapshot) -> String {
    let shown = snapshot
        .job
        .as_ref()
        .filter(|j| j.job_id.as_deref() == Some(job.job_id.as_str()));
    match (state, shown) {
        (PrintState::Failed, Some(j)) => failure_detail(&snapshot.status, &j.message),
        (PrintState::Failed, None) => failure_detail(&RemoteStatus::Ready, &job.message),
        (PrintState::Cancelled, _) => "cancelled".into(),
        _ => String::new(),
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
