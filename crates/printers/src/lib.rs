//! Printer drivers: one [`Driver`] trait, three implementations — a built-in [`simulated`]
//! printer, [`octoprint`] and [`moonraker`] — and [`AnyDriver`] to hold whichever a printer uses.
//!
//! A driver only reports what the printer says and passes commands on. What Farmhand makes of it
//! (awaiting bed clear, maintenance, reconciling jobs after a disconnect, unmanaged prints) is
//! decided above, in `app`. Every call has a timeout; no call panics on what a peer sends.
//!
//! With the `fake-moonraker` feature, [`fake_moonraker::FakeMoonraker`] serves Moonraker's API
//! in-process for tests; [`simulated::SimulatedPrinter::inject`] makes the simulator misbehave.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

mod commands;
#[cfg(feature = "fake-moonraker")]
pub mod fake_moonraker;
mod http;
pub mod moonraker;
pub mod octoprint;
#[cfg(feature = "octoprint-harness")]
pub mod octoprint_harness;
mod push;
pub mod simulated;

/// Which driver a printer uses (one definition, with the printer it belongs to).
pub use domain::DriverKind;

/// A credential (API key, token, password) in memory. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value, for the one place that sends it to the printer.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// How the simulated printer behaves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimulationSettings {
    /// Time scale: 60 runs a one-hour print in a minute. Must be > 0.
    pub speed: f64,
    /// Seconds (simulated) to heat up before a print starts moving.
    pub heat_up_s: f64,
}

impl SimulationSettings {
    /// Fastest time scale accepted.
    pub const MAX_SPEED: f64 = 10_000.0;
    /// Longest simulated heat-up accepted, s.
    pub const MAX_HEAT_UP_S: f64 = 3_600.0;

    /// Checks the settings can drive a simulator: `speed` finite, above 0 and at most
    /// [`Self::MAX_SPEED`]; `heat_up_s` finite, 0 to [`Self::MAX_HEAT_UP_S`]. The error names
    /// the field (`speed`, `heat_up_s`) and what it must be.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        if !(self.speed.is_finite() && self.speed > 0.0 && self.speed <= Self::MAX_SPEED) {
            return Err((
                "speed",
                format!(
                    "a number above 0 and at most {} (not {})",
                    Self::MAX_SPEED,
                    self.speed
                ),
            ));
        }
        if !(self.heat_up_s.is_finite()
            && self.heat_up_s >= 0.0
            && self.heat_up_s <= Self::MAX_HEAT_UP_S)
        {
            return Err((
                "heat_up_s",
                format!(
                    "a number of seconds from 0 to {} (not {})",
                    Self::MAX_HEAT_UP_S,
                    self.heat_up_s
                ),
            ));
        }
        Ok(())
    }
}

impl Default for SimulationSettings {
    fn default() -> Self {
        Self {
            speed: 1.0,
            heat_up_s: 0.0,
        }
    }
}

/// A file on local disk to send to a printer: where it is, how many bytes it holds and their
/// SHA-256, all known before any driver sees it. Drivers stream it from disk, so memory does not
/// grow with the file. Whoever made it (a staged upload, later the blob store) owns the file and
/// keeps it until the upload returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadFile {
    path: PathBuf,
    size: u64,
    sha256: [u8; 32],
}

impl UploadFile {
    /// Describes a file whose size and hash the caller has established (by writing it).
    pub fn new(path: impl Into<PathBuf>, size: u64, sha256: [u8; 32]) -> Self {
        Self {
            path: path.into(),
            size,
            sha256,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes in the file.
    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn sha256(&self) -> &[u8; 32] {
        &self.sha256
    }
}

/// Where and how to reach a printer. The secret arrives decrypted and is never logged.
#[derive(Debug, Clone)]
pub struct Connection {
    pub kind: DriverKind,
    /// Base URL (`http://host:port`) for OctoPrint and Moonraker; unused by the simulator.
    pub url: Option<String>,
    /// OctoPrint: the API key. Moonraker: an API key, or none when it trusts this host.
    pub secret: Option<Secret>,
    /// Longest any one call to the printer may take (uploads get this per MB on top).
    pub timeout: Duration,
    /// Motion limits used by the simulator to time prints (the printer model's profile).
    pub profile: gcode::Profile,
    pub simulation: SimulationSettings,
}

/// What the printer itself is doing, as it reports it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum RemoteStatus {
    /// Connected and not printing.
    Ready,
    Printing,
    Paused,
    /// The printer (or its host software) reports an error.
    Error {
        message: String,
    },
}

/// Where the printer's current or last job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobPhase {
    Running,
    Paused,
    Completed,
    Cancelled,
    Failed,
}

/// The printer's current or last job, as it reports it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RemoteJob {
    /// The printer's own identity for this job, when it keeps one (Moonraker's job history):
    /// it tells a new job from the last one of the same file, whose status Klipper keeps
    /// (`None` while the printer has not said, and for printers that keep no such record).
    pub job_id: Option<String>,
    /// The file's name on the printer.
    pub file_name: String,
    pub phase: JobPhase,
    /// 0.0 ..= 1.0
    pub progress: f64,
    /// Seconds printing so far (wall clock of the printer; simulated seconds for the simulator).
    pub elapsed_s: f64,
    /// The printer's estimate of what is left, when it has one.
    pub remaining_s: Option<f64>,
    /// The printer's own words about the job, such as why it failed (Klipper's
    /// `print_stats.message`); empty when it says nothing.
    pub message: String,
}

/// A job from the printer's own record of the jobs it ran (Moonraker's job history), so that
/// what happened while Farmhand was not watching is known afterwards.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PastJob {
    /// The printer's identity for the job, unique on that printer.
    pub job_id: String,
    pub file_name: String,
    /// `Running` while it is in progress; else how it ended.
    pub phase: JobPhase,
    /// When the printer says the job started and ended (its own clock).
    pub started_at: domain::Timestamp,
    pub ended_at: Option<domain::Timestamp>,
    /// Seconds spent printing.
    pub elapsed_s: f64,
    /// What the record says beyond the phase (an unusual ending, such as a Klipper shutdown).
    pub message: String,
}

/// Actual and target temperature, °C.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Heater {
    pub actual: f64,
    pub target: f64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Temperatures {
    pub tool: Option<Heater>,
    pub bed: Option<Heater>,
}

/// Everything a poll (or a push) tells about a printer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Snapshot {
    pub status: RemoteStatus,
    /// The current job, or the last one until another starts (so a finished job is seen).
    pub job: Option<RemoteJob>,
    pub temperatures: Temperatures,
}

/// Why a call to a printer failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DriverError {
    /// Nothing answers (refused, reset, DNS, host software down, printer disconnected from it).
    #[error("the printer cannot be reached: {0}")]
    Unreachable(String),
    #[error("the printer did not answer within {0:?}")]
    Timeout(Duration),
    /// The credential was refused.
    #[error("the printer refused the credentials")]
    Unauthorized,
    /// The printer understood and said no (busy, not operational, no such file).
    #[error("the printer refused: {0}")]
    Refused(String),
    /// The printer answered something this driver does not understand.
    #[error("unexpected answer from the printer: {0}")]
    Protocol(String),
    /// The connection settings cannot work (no URL, bad URL, missing key).
    #[error("invalid connection settings: {0}")]
    Config(String),
    /// The local file to upload could not be read (Farmhand's side, not the printer's).
    #[error("cannot read the file to upload: {0}")]
    LocalFile(String),
}

/// What every driver does. Implementations keep their own connection state; all methods take
/// `&self` so one driver can be shared by the supervisor and by API requests.
pub trait Driver: Send + Sync {
    fn kind(&self) -> DriverKind;

    /// Connects if needed (for OctoPrint: tells it to connect to its serial port) and returns
    /// what the printer reports.
    fn connect(&self) -> impl Future<Output = Result<Snapshot, DriverError>> + Send;

    /// What the printer reports now. Drivers with a push channel answer from it while it is up.
    fn snapshot(&self) -> impl Future<Output = Result<Snapshot, DriverError>> + Send;

    /// Resolves when pushed news arrived since the last call (never, for polling-only drivers),
    /// so the supervisor can look sooner than its next poll.
    fn changed(&self) -> impl Future<Output = ()> + Send;

    /// Stores a file on the printer for `name` without starting it, streaming it from disk;
    /// returns once the upload is complete, with the name the printer stored it under (which
    /// may differ, so that the printer will open it), the name `start` takes and snapshots show.
    fn upload(
        &self,
        name: &str,
        file: &UploadFile,
    ) -> impl Future<Output = Result<String, DriverError>> + Send;

    /// Selects an uploaded file and starts printing it.
    fn start(&self, name: &str) -> impl Future<Output = Result<(), DriverError>> + Send;

    /// Removes an uploaded file from the printer (one sent for a start the printer refused).
    /// Drivers whose printers keep no files of their own need not.
    fn remove_file(&self, name: &str) -> impl Future<Output = Result<(), DriverError>> + Send {
        let _ = name;
        async { Ok(()) }
    }

    /// The printer's record of its jobs after the one with ID `after` (all it keeps, up to a
    /// bound, when `None`), oldest first. `Ok(None)`: this printer keeps no job record.
    fn job_history(
        &self,
        after: Option<&str>,
    ) -> impl Future<Output = Result<Option<Vec<PastJob>>, DriverError>> + Send {
        let _ = after;
        async { Ok(None) }
    }

    fn pause(&self) -> impl Future<Output = Result<(), DriverError>> + Send;
    fn resume(&self) -> impl Future<Output = Result<(), DriverError>> + Send;
    fn cancel(&self) -> impl Future<Output = Result<(), DriverError>> + Send;

    /// Stops everything at once (M112 or the host's emergency stop); the printer needs a reset.
    fn emergency_stop(&self) -> impl Future<Output = Result<(), DriverError>> + Send;

    /// Sends G-code lines as they are.
    fn send_gcode(&self, lines: &[String]) -> impl Future<Output = Result<(), DriverError>> + Send;

    /// Sets heater targets (None leaves a heater as it is).
    fn preheat(
        &self,
        tool: Option<f64>,
        bed: Option<f64>,
    ) -> impl Future<Output = Result<(), DriverError>> + Send;
}

/// The driver a printer uses.
pub enum AnyDriver {
    Simulated(simulated::SimulatedPrinter),
    Octoprint(octoprint::OctoPrint),
    Moonraker(moonraker::Moonraker),
}

impl AnyDriver {
    /// Builds the driver for a connection (no I/O yet).
    pub fn new(connection: Connection) -> Result<Self, DriverError> {
        Ok(match connection.kind {
            DriverKind::Simulated => Self::Simulated(simulated::SimulatedPrinter::new(connection)?),
            DriverKind::Octoprint => Self::Octoprint(octoprint::OctoPrint::new(connection)?),
            DriverKind::Moonraker => Self::Moonraker(moonraker::Moonraker::new(connection)?),
        })
    }

    /// The simulator, to inject faults in demos and tests.
    pub fn as_simulated(&self) -> Option<&simulated::SimulatedPrinter> {
        match self {
            Self::Simulated(s) => Some(s),
            _ => None,
        }
    }
}

macro_rules! delegate {
    ($self:ident, $d:ident => $call:expr) => {
        match $self {
            AnyDriver::Simulated($d) => $call,
            AnyDriver::Octoprint($d) => $call,
            AnyDriver::Moonraker($d) => $call,
        }
    };
}

impl Driver for AnyDriver {
    fn kind(&self) -> DriverKind {
        delegate!(self, d => d.kind())
    }
    async fn connect(&self) -> Result<Snapshot, DriverError> {
        delegate!(self, d => d.connect().await)
    }
    async fn snapshot(&self) -> Result<Snapshot, DriverError> {
        delegate!(self, d => d.snapshot().await)
    }
    async fn changed(&self) {
        delegate!(self, d => d.changed().await)
    }
    async fn upload(&self, name: &str, file: &UploadFile) -> Result<String, DriverError> {
        delegate!(self, d => d.upload(name, file).await)
    }
    async fn start(&self, name: &str) -> Result<(), DriverError> {
        delegate!(self, d => d.start(name).await)
    }
    async fn remove_file(&self, name: &str) -> Result<(), DriverError> {
        delegate!(self, d => d.remove_file(name).await)
    }
    async fn job_history(&self, after: Option<&str>) -> Result<Option<Vec<PastJob>>, DriverError> {
        delegate!(self, d => d.job_history(after).await)
    }
    async fn pause(&self) -> Result<(), DriverError> {
        delegate!(self, d => d.pause().await)
    }
    async fn resume(&self) -> Result<(), DriverError> {
        delegate!(self, d => d.resume().await)
    }
    async fn cancel(&self) -> Result<(), DriverError> {
        delegate!(self, d => d.cancel().await)
    }
    async fn emergency_stop(&self) -> Result<(), DriverError> {
        delegate!(self, d => d.emergency_stop().await)
    }
    async fn send_gcode(&self, lines: &[String]) -> Result<(), DriverError> {
        delegate!(self, d => d.send_gcode(lines).await)
    }
    async fn preheat(&self, tool: Option<f64>, bed: Option<f64>) -> Result<(), DriverError> {
        delegate!(self, d => d.preheat(tool, bed).await)
    }
}
