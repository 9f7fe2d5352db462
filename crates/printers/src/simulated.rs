//! A built-in printer for demos and tests: deterministic, time-scaled by
//! [`SimulationSettings::speed`], and cheap enough to run ten thousand in one process.
//!
//! Nothing runs in the background: every call computes the state from the time of the call
//! (`tokio::time::Instant`, so tests under `tokio::time::pause()` are exact). A printer keeps only
//! the names, estimates and heater targets of its files, a few dozen bytes each.
//!
//! Timeline of a print, in simulated seconds: `heat_up_s` of heating (heaters ramp to their
//! targets, progress stays 0), then the file's estimated time of printing; then the job is
//! `Completed` and stays in the snapshot as the last job until another starts.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::{
    Connection, Driver, DriverError, DriverKind, Heater, JobPhase, RemoteJob, RemoteStatus,
    Snapshot, Temperatures, UploadFile,
};

/// Files remembered per printer; the oldest is forgotten beyond this.
const MAX_FILES: usize = 256;
/// G-code lines kept for [`SimulatedPrinter::sent_gcode`]; older ones are dropped.
const MAX_SENT_LINES: usize = 1000;
/// Lines scanned at the top of an upload for its heater targets.
const TEMPERATURE_SCAN_LINES: usize = 5000;

/// Something to make the simulated printer do that Farmhand did not ask for.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// The printer reports an error: the job fails and the status is `Error { message }` until
    /// `connect()`.
    Fail { message: String },
    /// Every call answers `Unreachable` for this many simulated seconds; the job keeps running
    /// (and may finish) meanwhile.
    Disconnect { for_s: f64 },
    /// The printer pauses itself (a filament runout, a button). Ignored unless printing.
    Pause,
    /// A print started at the printer itself, lasting `duration_s` simulated seconds after the
    /// heat-up. Ignored unless the printer is ready (not printing, paused or in error).
    StartLocal { file_name: String, duration_s: f64 },
}

/// The simulated printer. See the module documentation.
pub struct SimulatedPrinter {
    speed: f64,
    heat_up_s: f64,
    // Boxed: `AnyDriver` stays small whichever driver it holds.
    profile: Box<gcode::Profile>,
    state: Box<Mutex<State>>,
}

struct State {
    files: VecDeque<StoredFile>,
    job: Option<Job>,
    /// The error the printer reports until `connect()` (emergency stop, injected failure).
    error: Option<String>,
    /// Calls fail as `Unreachable` until then.
    offline_until: Option<Instant>,
    tool: Ramp,
    bed: Ramp,
    sent: VecDeque<String>,
}

struct StoredFile {
    name: Box<str>,
    estimate_s: f64,
    tool_c: Option<f64>,
    bed_c: Option<f64>,
}

struct Job {
    file_name: Box<str>,
    /// Simulated seconds of printing after the heat-up.
    estimate_s: f64,
    phase: JobPhase,
    /// Simulated seconds run (heating and printing) before `running_since`.
    run_s: f64,
    /// When the current running stretch began; `None` unless `phase` is `Running`.
    running_since: Option<Instant>,
}

/// A heater moving linearly from `from` towards `target` since `since`.
#[derive(Clone, Copy)]
struct Ramp {
    from: f64,
    target: f64,
    since: Instant,
    /// °C per simulated second.
    rate: f64,
    /// Nothing cools below this.
    ambient: f64,
}

impl SimulatedPrinter {
    pub fn new(connection: Connection) -> Result<Self, DriverError> {
        let settings = &connection.simulation;
        settings.check().map_err(|(field, expected)| {
            DriverError::Config(format!("the simulation's {field} must be {expected}"))
        })?;
        let now = Instant::now();
        let ambient = connection.profile.ambient_temperature;
        Ok(Self {
            speed: settings.speed,
            heat_up_s: settings.heat_up_s,
            state: Box::new(Mutex::new(State {
                files: VecDeque::new(),
                job: None,
                error: None,
                offline_until: None,
                tool: Ramp::idle(ambient, now),
                bed: Ramp::idle(ambient, now),
                sent: VecDeque::new(),
            })),
            profile: Box::new(connection.profile),
        })
    }

    /// Makes the printer misbehave; see [`Fault`].
    pub fn inject(&self, fault: Fault) {
        let now = Instant::now();
        let mut state = self.lock(now);
        match fault {
            Fault::Fail { message } => {
                if let Some(job) = state.job.as_mut().filter(|j| j.is_active()) {
                    job.stop(JobPhase::Failed, now, self.speed);
                }
                state.error = Some(message);
            }
            Fault::Disconnect { for_s } => {
                let real = self.real_duration(for_s);
                // Never past what an Instant can hold: `+` would panic there.
                state.offline_until = now
                    .checked_add(real)
                    .or_else(|| now.checked_add(FOREVER))
                    .or(Some(now));
            }
            Fault::Pause => {
                if let Some(job) = state.job.as_mut().filter(|j| j.phase == JobPhase::Running) {
                    job.stop(JobPhase::Paused, now, self.speed);
                }
            }
            Fault::StartLocal {
                file_name,
                duration_s,
            } => {
                if state.error.is_none() && !state.job.as_ref().is_some_and(Job::is_active) {
                    let estimate_s = positive_or_one(duration_s);
                    self.begin(&mut state, &file_name, estimate_s, (None, None), now);
                } else {
                    tracing::debug!("simulated printer busy: local start of {file_name} ignored");
                }
            }
        }
    }

    /// The G-code lines sent to this printer (by `send_gcode` and `preheat`), oldest first; the
    /// last 1,000 are kept.
    pub fn sent_gcode(&self) -> Vec<String> {
        let state = self.lock(Instant::now());
        state.sent.iter().cloned().collect()
    }

    /// The estimate (simulated seconds of printing, without the heat-up) of an uploaded file.
    pub fn estimate_s(&self, file_name: &str) -> Option<f64> {
        let state = self.lock(Instant::now());
        state.file(file_name).map(|f| f.estimate_s)
    }

    /// Locks the state and brings it up to `now` (a print that ran out is completed).
    fn lock(&self, now: Instant) -> std::sync::MutexGuard<'_, State> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        self.settle(&mut state, now);
        state
    }

    /// Like `lock`, but refuses while a simulated disconnect lasts.
    fn reach(&self, now: Instant) -> Result<std::sync::MutexGuard<'_, State>, DriverError> {
        let mut state = self.lock(now);
        match state.offline_until {
            Some(until) if now < until => Err(DriverError::Unreachable(
                "the simulated printer is disconnected".into(),
            )),
            Some(_) => {
                state.offline_until = None;
                Ok(state)
            }
            None => Ok(state),
        }
    }

    fn settle(&self, state: &mut State, now: Instant) {
        let Some(job) = state.job.as_mut() else {
            return;
        };
        let Some(since) = job.running_since else {
            return;
        };
        let total = self.heat_up_s + job.estimate_s;
        if job.run_time(now, self.speed) < total {
            return;
        }
        // Completed at the moment the run time reached the total, not at this call.
        let done_at = since
            .checked_add(self.real_duration(total - job.run_s))
            .unwrap_or(now)
            .min(now);
        job.phase = JobPhase::Completed;
        job.run_s = total;
        job.running_since = None;
        self.heaters_off(state, done_at);
    }

    fn snapshot_of(&self, state: &State, now: Instant) -> Snapshot {
        let status = match (&state.error, state.job.as_ref().map(|j| j.phase)) {
            (Some(message), _) => RemoteStatus::Error {
                message: message.clone(),
            },
            (None, Some(JobPhase::Running)) => RemoteStatus::Printing,
            (None, Some(JobPhase::Paused)) => RemoteStatus::Paused,
            (None, _) => RemoteStatus::Ready,
        };
        Snapshot {
            status,
            job: state.job.as_ref().map(|j| self.remote_job(j, now)),
            temperatures: Temperatures {
                tool: Some(state.tool.heater(now, self.speed)),
                bed: Some(state.bed.heater(now, self.speed)),
            },
        }
    }

    fn remote_job(&self, job: &Job, now: Instant) -> RemoteJob {
        let elapsed_s = (job.run_time(now, self.speed) - self.heat_up_s).clamp(0.0, job.estimate_s);
        let remaining_s = match job.phase {
            JobPhase::Running | JobPhase::Paused | JobPhase::Completed => {
                Some(job.estimate_s - elapsed_s)
            }
            JobPhase::Cancelled | JobPhase::Failed => None,
        };
        RemoteJob {
            job_id: None,
            file_name: job.file_name.to_string(),
            phase: job.phase,
            progress: (elapsed_s / job.estimate_s).clamp(0.0, 1.0),
            elapsed_s,
            remaining_s,
            message: String::new(),
        }
    }

    /// Starts a job; the heaters ramp to the file's targets (or keep theirs) during the heat-up.
    fn begin(
        &self,
        state: &mut State,
        file_name: &str,
        estimate_s: f64,
        targets: (Option<f64>, Option<f64>),
        now: Instant,
    ) {
        let tool = targets.0.unwrap_or(state.tool.target);
        let bed = targets.1.unwrap_or(state.bed.target);
        state.tool.ramp_over(tool, self.heat_up_s, now, self.speed);
        state.bed.ramp_over(bed, self.heat_up_s, now, self.speed);
        state.job = Some(Job {
            file_name: file_name.into(),
            estimate_s,
            phase: JobPhase::Running,
            run_s: 0.0,
            running_since: Some(now),
        });
    }

    fn heaters_off(&self, state: &mut State, at: Instant) {
        state
            .tool
            .set_target(0.0, self.profile.hotend_heating_rate, at, self.speed);
        state
            .bed
            .set_target(0.0, self.profile.bed_heating_rate, at, self.speed);
    }

    fn set_targets(&self, state: &mut State, tool: Option<f64>, bed: Option<f64>, now: Instant) {
        if let Some(t) = tool {
            let rate = self.profile.hotend_heating_rate;
            state.tool.set_target(t, rate, now, self.speed);
        }
        if let Some(t) = bed {
            let rate = self.profile.bed_heating_rate;
            state.bed.set_target(t, rate, now, self.speed);
        }
    }

    fn emergency_stop_now(&self, state: &mut State, now: Instant) {
        if let Some(job) = state.job.as_mut().filter(|j| j.is_active()) {
            job.stop(JobPhase::Failed, now, self.speed);
        }
        state.error = Some("emergency stop".into());
        self.heaters_off(state, now);
    }

    /// Real time for simulated seconds (negative or NaN counts as none).
    fn real_duration(&self, simulated_s: f64) -> Duration {
        let real = simulated_s / self.speed;
        if real.is_nan() || real <= 0.0 {
            Duration::ZERO
        } else {
            Duration::try_from_secs_f64(real).unwrap_or(FOREVER)
        }
    }
}

/// Stands in for "longer than any test or demo".
const FOREVER: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

fn positive_or_one(seconds: f64) -> f64 {
    if seconds.is_finite() && seconds > 0.0 {
        seconds
    } else {
        1.0
    }
}

fn refuse_if_error(state: &State) -> Result<(), DriverError> {
    match &state.error {
        Some(message) => Err(DriverError::Refused(format!(
            "the printer reports an error ({message}); reconnect to reset it"
        ))),
        None => Ok(()),
    }
}

impl State {
    fn file(&self, name: &str) -> Option<&StoredFile> {
        self.files.iter().find(|f| &*f.name == name)
    }

    fn active_job(&mut self) -> Option<&mut Job> {
        self.job.as_mut().filter(|j| j.is_active())
    }

    fn record_sent(&mut self, line: &str) {
        if self.sent.len() == MAX_SENT_LINES {
            self.sent.pop_front();
        }
        self.sent.push_back(line.to_owned());
    }
}

impl Job {
    fn is_active(&self) -> bool {
        matches!(self.phase, JobPhase::Running | JobPhase::Paused)
    }

    fn run_time(&self, now: Instant, speed: f64) -> f64 {
        let running = self
            .running_since
            .map_or(0.0, |since| now.duration_since(since).as_secs_f64() * speed);
        self.run_s + running
    }

    /// Ends the running stretch (pause, cancel, failure) at `now`.
    fn stop(&mut self, phase: JobPhase, now: Instant, speed: f64) {
        self.run_s = self.run_time(now, speed);
        self.running_since = None;
        self.phase = phase;
    }
}

impl Ramp {
    fn idle(ambient: f64, now: Instant) -> Self {
        Self {
            from: ambient,
            target: 0.0,
            since: now,
            rate: f64::INFINITY,
            ambient,
        }
    }

    /// Actual temperature: moving from `from` towards the goal at `rate`.
    fn actual(&self, now: Instant, speed: f64) -> f64 {
        let t = now.saturating_duration_since(self.since).as_secs_f64() * speed;
        let step = self.rate * t;
        let goal = self.goal();
        if goal >= self.from {
            (self.from + step).min(goal)
        } else {
            (self.from - step).max(goal)
        }
    }

    /// Where the heater is heading: its target, or the room when that is below it (off).
    fn goal(&self) -> f64 {
        self.target.max(self.ambient)
    }

    fn heater(&self, now: Instant, speed: f64) -> Heater {
        Heater {
            actual: self.actual(now, speed),
            target: self.target,
        }
    }

    fn set_target(&mut self, target: f64, rate: f64, at: Instant, speed: f64) {
        self.from = self.actual(at, speed);
        self.target = target.max(0.0);
        self.since = at;
        self.rate = if rate.is_finite() && rate > 0.0 {
            rate
        } else {
            f64::INFINITY
        };
    }

    /// Targets `target`, reaching it exactly `seconds` (simulated) from `now`.
    fn ramp_over(&mut self, target: f64, seconds: f64, now: Instant, speed: f64) {
        let from = self.actual(now, speed);
        let rate = if seconds > 0.0 {
            (target.max(0.0) - from).abs() / seconds
        } else {
            f64::INFINITY
        };
        self.set_target(target, rate, now, speed);
    }
}

impl Driver for SimulatedPrinter {
    fn kind(&self) -> DriverKind {
        DriverKind::Simulated
    }

    async fn connect(&self) -> Result<Snapshot, DriverError> {
        let now = Instant::now();
        let mut state = self.reach(now)?;
        state.error = None;
        Ok(self.snapshot_of(&state, now))
    }

    async fn snapshot(&self) -> Result<Snapshot, DriverError> {
        let now = Instant::now();
        let state = self.reach(now)?;
        Ok(self.snapshot_of(&state, now))
    }

    async fn changed(&self) {
        // Polling only: the state is computed on each call.
        std::future::pending().await
    }

    async fn upload(&self, name: &str, file: &UploadFile) -> Result<String, DriverError> {
        if name.is_empty() {
            return Err(DriverError::Refused("a file needs a name".into()));
        }
        drop(self.reach(Instant::now())?);
        let profile = (*self.profile).clone();
        let path = file.path().to_owned();
        // Analysis is CPU work and reads the disk: off the async runtime.
        let analysed = tokio::task::spawn_blocking(move || {
            std::fs::File::open(&path).and_then(|f| analyse(f, &profile))
        })
        .await;
        let (estimate_s, targets) = match analysed {
            Ok(Ok(found)) => found,
            Ok(Err(e)) => return Err(DriverError::LocalFile(e.kind().to_string())),
            // The analysis panicked: a real printer would still take the file.
            Err(_) => (1.0, FirstTargets::default()),
        };
        let mut state = self.reach(Instant::now())?;
        state.files.retain(|f| &*f.name != name);
        if state.files.len() == MAX_FILES {
            state.files.pop_front();
        }
        state.files.push_back(StoredFile {
            name: name.into(),
            estimate_s,
            tool_c: targets.tool,
            bed_c: targets.bed,
        });
        Ok(name.to_owned())
    }

    async fn start(&self, name: &str) -> Result<(), DriverError> {
        let now = Instant::now();
        let mut state = self.reach(now)?;
        refuse_if_error(&state)?;
        if let Some(job) = state.active_job() {
            return Err(DriverError::Refused(format!(
                "the printer is busy with {}",
                job.file_name
            )));
        }
        let file = state.file(name).ok_or_else(|| {
            DriverError::Refused(format!("no file named {name:?} on the printer"))
        })?;
        let (estimate_s, targets) = (file.estimate_s, (file.tool_c, file.bed_c));
        self.begin(&mut state, name, estimate_s, targets, now);
        Ok(())
    }

    async fn pause(&self) -> Result<(), DriverError> {
        let now = Instant::now();
        let mut state = self.reach(now)?;
        refuse_if_error(&state)?;
        match state.job.as_mut() {
            Some(job) if job.phase == JobPhase::Running => {
                job.stop(JobPhase::Paused, now, self.speed);
                Ok(())
            }
            Some(job) if job.phase == JobPhase::Paused => Ok(()),
            _ => Err(DriverError::Refused("the printer is not printing".into())),
        }
    }

    async fn resume(&self) -> Result<(), DriverError> {
        let now = Instant::now();
        let mut state = self.reach(now)?;
        refuse_if_error(&state)?;
        match state.job.as_mut() {
            Some(job) if job.phase == JobPhase::Paused => {
                job.phase = JobPhase::Running;
                job.running_since = Some(now);
                Ok(())
            }
            _ => Err(DriverError::Refused("the printer is not paused".into())),
        }
    }

    async fn cancel(&self) -> Result<(), DriverError> {
        let now = Instant::now();
        let mut state = self.reach(now)?;
        refuse_if_error(&state)?;
        let speed = self.speed;
        let Some(job) = state.active_job() else {
            return Err(DriverError::Refused(
                "the printer is neither printing nor paused".into(),
            ));
        };
        job.stop(JobPhase::Cancelled, now, speed);
        self.heaters_off(&mut state, now);
        Ok(())
    }

    async fn emergency_stop(&self) -> Result<(), DriverError> {
        let now = Instant::now();
        let mut state = self.reach(now)?;
        self.emergency_stop_now(&mut state, now);
        Ok(())
    }

    async fn send_gcode(&self, lines: &[String]) -> Result<(), DriverError> {
        let now = Instant::now();
        let mut state = self.reach(now)?;
        refuse_if_error(&state)?;
        for line in lines {
            state.record_sent(line);
            match heater_command(line) {
                Some(HeaterCommand::Tool(t)) => self.set_targets(&mut state, Some(t), None, now),
                Some(HeaterCommand::Bed(t)) => self.set_targets(&mut state, None, Some(t), now),
                Some(HeaterCommand::EmergencyStop) => {
                    self.emergency_stop_now(&mut state, now);
                    break;
                }
                None => {}
            }
        }
        Ok(())
    }

    async fn preheat(&self, tool: Option<f64>, bed: Option<f64>) -> Result<(), DriverError> {
        let now = Instant::now();
        let mut state = self.reach(now)?;
        refuse_if_error(&state)?;
        let (tool, bed) = crate::commands::temperatures(tool, bed)?;
        if let Some(t) = tool {
            state.record_sent(&format!("M104 S{t}"));
        }
        if let Some(t) = bed {
            state.record_sent(&format!("M140 S{t}"));
        }
        self.set_targets(&mut state, tool, bed, now);
        Ok(())
    }
}

/// The estimate (≥ 1 s) and the first tool and bed targets of a file, read once from start to
/// end in constant memory (lines are capped as the profile says).
fn analyse(
    reader: impl std::io::Read,
    profile: &gcode::Profile,
) -> std::io::Result<(f64, FirstTargets)> {
    let reader = std::io::BufReader::with_capacity(1 << 18, reader);
    let mut lines = gcode::lexer::LineReader::new(reader, profile.max_line_length);
    let mut analyzer = gcode::Analyzer::new(profile);
    let mut targets = FirstTargets::default();
    lines.for_each_line(|bytes, truncated| {
        targets.line(bytes);
        analyzer.push_line(bytes, truncated);
    })?;
    let estimate = positive_or_one(analyzer.finish().estimated_time_s);
    Ok((estimate, targets))
}

/// The first tool and bed targets among the first lines of a file.
#[derive(Default)]
struct FirstTargets {
    lines: usize,
    tool: Option<f64>,
    bed: Option<f64>,
}

impl FirstTargets {
    fn line(&mut self, line: &[u8]) {
        if self.lines >= TEMPERATURE_SCAN_LINES || (self.tool.is_some() && self.bed.is_some()) {
            return;
        }
        self.lines += 1;
        let Ok(line) = std::str::from_utf8(line) else {
            return;
        };
        match heater_command(line) {
            Some(HeaterCommand::Tool(t)) if self.tool.is_none() => self.tool = Some(t),
            Some(HeaterCommand::Bed(t)) if self.bed.is_none() => self.bed = Some(t),
            _ => {}
        }
    }
}

#[derive(Debug, PartialEq)]
enum HeaterCommand {
    Tool(f64),
    Bed(f64),
    EmergencyStop,
}

/// `M104`/`M109 S…` (tool), `M140`/`M190 S…` (bed) and `M112`, ignoring comments and case.
fn heater_command(line: &str) -> Option<HeaterCommand> {
    if crate::commands::is_emergency_stop(line) {
        return Some(HeaterCommand::EmergencyStop);
    }
    let code = line.split(';').next().unwrap_or_default().trim();
    let mut words = code.split_ascii_whitespace();
    let command = words.next()?.to_ascii_uppercase();
    let is_tool = matches!(command.as_str(), "M104" | "M109");
    let is_bed = matches!(command.as_str(), "M140" | "M190");
    if !is_tool && !is_bed {
        return None;
    }
    let target = words
        .find_map(|w| w.strip_prefix(['S', 's']))
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|t| t.is_finite() && *t >= 0.0)?;
    Some(if is_tool {
        HeaterCommand::Tool(target)
    } else {
        HeaterCommand::Bed(target)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heater_commands_are_read_from_gcode_lines() {
        assert_eq!(
            heater_command("M104 S200"),
            Some(HeaterCommand::Tool(200.0))
        );
        assert_eq!(
            heater_command("m109 s215 ; wait"),
            Some(HeaterCommand::Tool(215.0))
        );
        assert_eq!(heater_command("M140 S60"), Some(HeaterCommand::Bed(60.0)));
        assert_eq!(
            heater_command("M190 R55 S60"),
            Some(HeaterCommand::Bed(60.0))
        );
        assert_eq!(heater_command("M112"), Some(HeaterCommand::EmergencyStop));
        assert_eq!(heater_command("; M104 S200"), None);
        assert_eq!(heater_command("M104 Sabc"), None);
        assert_eq!(heater_command("G1 X10"), None);
        assert_eq!(heater_command(""), None);
    }

    #[test]
    fn first_targets_come_from_the_start_gcode() {
        let gcode = b"G90\nM140 S60\nM104 S200\nM109 S210\nG1 X1\nM104 S0\n";
        let targets = |gcode: &[u8]| {
            let (_, found) = analyse(gcode, &gcode::Profile::default()).unwrap();
            (found.tool, found.bed)
        };
        assert_eq!(targets(gcode), (Some(200.0), Some(60.0)));
        assert_eq!(targets(b"G1 X1\n"), (None, None));
        // Only the first lines are looked at.
        let late = format!("{}M104 S200\n", "G1 X1\n".repeat(TEMPERATURE_SCAN_LINES));
        assert_eq!(targets(late.as_bytes()), (None, None));
    }
}
