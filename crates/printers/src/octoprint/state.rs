//! What OctoPrint says (REST `/api/job` + `/api/printer`, or a push `current` message) as a
//! [`Reading`], and a reading plus what the driver remembers as a [`Snapshot`].

use serde::Deserialize;

use crate::{DriverError, Heater, JobPhase, RemoteJob, RemoteStatus, Snapshot, Temperatures};

/// One look at OctoPrint, in its own terms.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Reading {
    /// `Printing`, `Operational`, `Offline after error`, …
    pub state: String,
    pub error: Option<String>,
    /// The selected file's path in local storage.
    pub file: Option<String>,
    /// Percent of the file's bytes sent.
    pub completion: Option<f64>,
    pub print_time: Option<f64>,
    pub print_time_left: Option<f64>,
    pub temperatures: Temperatures,
}

/// A job outcome OctoPrint does not keep: cancelled or failed (it shows them as a plain
/// `Operational`), or completed as told by a `PrintDone` event.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Outcome {
    pub file: String,
    pub phase: JobPhase,
}

/// What the driver remembers between looks.
#[derive(Debug, Default)]
pub(super) struct Memory {
    pub outcome: Option<Outcome>,
    /// The last job seen running or paused, to show where an ended one stopped.
    pub last_active: Option<RemoteJob>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Class {
    Printing,
    Paused,
    Cancelling,
    Operational,
    Error,
    Disconnected,
}

/// OctoPrint's state texts (1.11, `comm.getStateString`).
fn classify(state: &str) -> Option<Class> {
    Some(match state {
        "Operational" => Class::Operational,
        "Pausing" | "Paused" => Class::Paused,
        "Cancelling" => Class::Cancelling,
        "Offline"
        | "Closed"
        | "Opening serial connection"
        | "Detecting serial connection"
        | "Connecting" => Class::Disconnected,
        s if s.contains("rror") => Class::Error,
        s if [
            "Printing",
            "Starting",
            "Resuming",
            "Finishing",
            "Sending",
            "Transfer",
        ]
        .iter()
        .any(|p| s.starts_with(p)) =>
        {
            Class::Printing
        }
        _ => return None,
    })
}

/// True when OctoPrint talks to the printer (so `connect` need not ask it to).
pub(super) fn is_connected(state: &str) -> bool {
    !matches!(
        classify(state),
        Some(Class::Disconnected | Class::Error) | None
    )
}

impl Memory {
    /// The snapshot for a reading; remembers an active job for later.
    pub fn snapshot(&mut self, reading: &Reading) -> Result<Snapshot, DriverError> {
        let class = classify(&reading.state).ok_or_else(|| {
            DriverError::Protocol(format!("unknown OctoPrint state {:?}", reading.state))
        })?;
        let (status, job) = match class {
            Class::Disconnected => {
                return Err(DriverError::Unreachable(format!(
                    "OctoPrint is not connected to the printer ({})",
                    reading.state
                )));
            }
            Class::Printing => (
                RemoteStatus::Printing,
                Some(self.active(reading, JobPhase::Running)),
            ),
            Class::Paused => (
                RemoteStatus::Paused,
                Some(self.active(reading, JobPhase::Paused)),
            ),
            // Still busy winding down; the job is over.
            Class::Cancelling => (
                RemoteStatus::Printing,
                Some(self.ended(reading, JobPhase::Cancelled)),
            ),
            Class::Operational => (RemoteStatus::Ready, self.finished(reading)),
            Class::Error => {
                let message = reading
                    .error
                    .clone()
                    .filter(|e| !e.is_empty())
                    .unwrap_or_else(|| reading.state.clone());
                (
                    RemoteStatus::Error { message },
                    self.remembered(reading.file.as_deref()),
                )
            }
        };
        Ok(Snapshot {
            status,
            job,
            temperatures: reading.temperatures,
        })
    }

    fn active(&mut self, reading: &Reading, phase: JobPhase) -> RemoteJob {
        let job = RemoteJob {
            job_id: None,
            message: String::new(),
            file_name: reading.file.clone().unwrap_or_default(),
            phase,
            progress: percent(reading.completion),
            elapsed_s: reading.print_time.unwrap_or(0.0),
            remaining_s: reading.print_time_left,
        };
        self.last_active = Some(job.clone());
        job
    }

    /// An ended job: where it was last seen, or what the reading says.
    fn ended(&self, reading: &Reading, phase: JobPhase) -> RemoteJob {
        let file = reading.file.clone().unwrap_or_default();
        match &self.last_active {
            Some(last) if last.file_name == file || reading.file.is_none() => RemoteJob {
                phase,
                remaining_s: None,
                ..last.clone()
            },
            _ => RemoteJob {
                job_id: None,
                message: String::new(),
                file_name: file,
                phase,
                progress: percent(reading.completion),
                elapsed_s: reading.print_time.unwrap_or(0.0),
                remaining_s: None,
            },
        }
    }

    /// Operational: the selected file finished (completion 100), ended as remembered, or
    /// stopped part-way for a reason nobody told us; or no job at all.
    fn finished(&self, reading: &Reading) -> Option<RemoteJob> {
        let Some(file) = &reading.file else {
            return self.remembered(None);
        };
        if reading.completion.is_some_and(|c| c >= 100.0) {
            return Some(RemoteJob {
                job_id: None,
                message: String::new(),
                file_name: file.clone(),
                phase: JobPhase::Completed,
                progress: 1.0,
                elapsed_s: reading.print_time.unwrap_or(0.0),
                remaining_s: Some(0.0),
            });
        }
        if let Some(job) = self.remembered(Some(file)) {
            return Some(job);
        }
        match reading.completion {
            Some(c) if c > 0.0 => Some(self.ended(reading, JobPhase::Failed)),
            // Selected but not printed (or cancelled where we could not see it).
            _ => None,
        }
    }

    /// The remembered outcome, for this file (or any file when OctoPrint shows none).
    fn remembered(&self, file: Option<&str>) -> Option<RemoteJob> {
        let outcome = self.outcome.as_ref()?;
        if file.is_some_and(|f| f != outcome.file) {
            return None;
        }
        let last = self
            .last_active
            .as_ref()
            .filter(|j| j.file_name == outcome.file);
        let (progress, elapsed_s) = match (outcome.phase, last) {
            (JobPhase::Completed, last) => (1.0, last.map_or(0.0, |j| j.elapsed_s)),
            (_, Some(last)) => (last.progress, last.elapsed_s),
            (_, None) => (0.0, 0.0),
        };
        Some(RemoteJob {
            job_id: None,
            message: String::new(),
            file_name: outcome.file.clone(),
            phase: outcome.phase,
            progress,
            elapsed_s,
            remaining_s: (outcome.phase == JobPhase::Completed).then_some(0.0),
        })
    }

    /// Records how the job on `file` ended (our cancel, an emergency stop, an event).
    pub fn ended_as(&mut self, file: Option<String>, phase: JobPhase) {
        let file = file.or_else(|| self.last_active.as_ref().map(|j| j.file_name.clone()));
        if let Some(file) = file {
            self.outcome = Some(Outcome { file, phase });
        }
    }

    /// A new job starts: nothing remembered applies any more.
    pub fn started(&mut self) {
        self.outcome = None;
        self.last_active = None;
    }
}

fn percent(completion: Option<f64>) -> f64 {
    completion
        .filter(|c| c.is_finite())
        .map_or(0.0, |c| (c / 100.0).clamp(0.0, 1.0))
}

// ---- What OctoPrint sends --------------------------------------------------------------------

/// `GET /api/job`.
#[derive(Debug, Deserialize)]
pub(super) struct JobAnswer {
    pub state: String,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub job: Option<JobInfo>,
    #[serde(default)]
    pub progress: Option<Progress>,
}

#[derive(Debug, Deserialize)]
pub(super) struct JobInfo {
    #[serde(default)]
    pub file: Option<FileInfo>,
}

#[derive(Debug, Deserialize)]
pub(super) struct FileInfo {
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct Progress {
    #[serde(default)]
    pub completion: Option<f64>,
    #[serde(default, rename = "printTime")]
    pub print_time: Option<f64>,
    #[serde(default, rename = "printTimeLeft")]
    pub print_time_left: Option<f64>,
}

/// `GET /api/printer` (only the temperatures are used).
#[derive(Debug, Deserialize)]
pub(super) struct PrinterAnswer {
    #[serde(default)]
    pub temperature: Option<HeaterSample>,
}

/// Heaters by name (`tool0`, `bed`), in `/api/printer` and in a push's `temps` entries.
#[derive(Debug, Default, Deserialize)]
pub(super) struct HeaterSample {
    #[serde(default)]
    pub tool0: Option<HeaterReading>,
    #[serde(default)]
    pub bed: Option<HeaterReading>,
}

#[derive(Debug, Deserialize)]
pub(super) struct HeaterReading {
    #[serde(default)]
    pub actual: Option<f64>,
    #[serde(default)]
    pub target: Option<f64>,
}

/// The push channel's `current` and `history` messages.
#[derive(Debug, Deserialize)]
pub(super) struct Current {
    pub state: StateInfo,
    #[serde(default)]
    pub job: Option<JobInfo>,
    #[serde(default)]
    pub progress: Option<Progress>,
    #[serde(default)]
    pub temps: Option<Vec<HeaterSample>>,
}

#[derive(Debug, Deserialize)]
pub(super) struct StateInfo {
    pub text: String,
    #[serde(default)]
    pub error: Option<String>,
}

impl HeaterSample {
    pub fn temperatures(&self) -> Temperatures {
        Temperatures {
            tool: self.tool0.as_ref().and_then(HeaterReading::heater),
            bed: self.bed.as_ref().and_then(HeaterReading::heater),
        }
    }
}

impl HeaterReading {
    fn heater(&self) -> Option<Heater> {
        Some(Heater {
            actual: self.actual.filter(|v| v.is_finite())?,
            target: self.target.filter(|v| v.is_finite()).unwrap_or(0.0),
        })
    }
}

fn file_of(job: Option<&JobInfo>) -> Option<String> {
    let file = job?.file.as_ref()?;
    file.path.clone().or_else(|| file.name.clone())
}

impl Reading {
    pub fn from_rest(job: JobAnswer, temperatures: Temperatures) -> Self {
        let progress = job.progress.unwrap_or_default();
        Self {
            file: file_of(job.job.as_ref()),
            state: job.state,
            error: job.error,
            completion: progress.completion,
            print_time: progress.print_time,
            print_time_left: progress.print_time_left,
            temperatures,
        }
    }

    pub fn from_push(current: Current) -> Self {
        let progress = current.progress.unwrap_or_default();
        let temperatures = current
            .temps
            .as_ref()
            .and_then(|t| t.last())
            .map(HeaterSample::temperatures)
            .unwrap_or_default();
        Self {
            file: file_of(current.job.as_ref()),
            state: current.state.text,
            error: current.state.error,
            completion: progress.completion,
            print_time: progress.print_time,
            print_time_left: progress.print_time_left,
            temperatures,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(state: &str, file: Option<&str>, completion: Option<f64>) -> Reading {
        Reading {
            state: state.into(),
            file: file.map(Into::into),
            completion,
            print_time: completion.map(|_| 10.0),
            print_time_left: completion.map(|_| 30.0),
            ..Reading::default()
        }
    }

    #[test]
    fn states_map_to_status_and_phase() {
        let mut memory = Memory::default();
        let cases = [
            ("Printing", RemoteStatus::Printing, JobPhase::Running),
            ("Starting", RemoteStatus::Printing, JobPhase::Running),
            ("Finishing", RemoteStatus::Printing, JobPhase::Running),
            ("Pausing", RemoteStatus::Paused, JobPhase::Paused),
            ("Paused", RemoteStatus::Paused, JobPhase::Paused),
            ("Cancelling", RemoteStatus::Printing, JobPhase::Cancelled),
        ];
        for (state, status, phase) in cases {
            let s = memory
                .snapshot(&reading(state, Some("a.gcode"), Some(25.0)))
                .unwrap();
            assert_eq!(s.status, status, "{state}");
            let job = s.job.unwrap();
            assert_eq!(job.phase, phase, "{state}");
            assert_eq!((job.progress, job.elapsed_s), (0.25, 10.0), "{state}");
        }
        for state in ["Offline", "Closed", "Connecting"] {
            let s = memory.snapshot(&reading(state, None, None));
            assert!(matches!(s, Err(DriverError::Unreachable(_))), "{state}");
        }
        let s = memory.snapshot(&reading("Who knows", None, None));
        assert!(matches!(s, Err(DriverError::Protocol(_))));
    }

    #[test]
    fn a_finished_job_is_told_apart_from_a_cancelled_one() {
        let mut memory = Memory::default();
        let done = memory
            .snapshot(&reading("Operational", Some("a.gcode"), Some(100.0)))
            .unwrap();
        assert_eq!(done.status, RemoteStatus::Ready);
        assert_eq!(done.job.unwrap().phase, JobPhase::Completed);

        // Never printed: no job.
        let idle = memory
            .snapshot(&reading("Operational", Some("a.gcode"), None))
            .unwrap();
        assert_eq!(idle.job, None);

        // Printing, then cancelled by us: OctoPrint drops the progress, we remember.
        memory.started();
        memory
            .snapshot(&reading("Printing", Some("a.gcode"), Some(40.0)))
            .unwrap();
        memory.ended_as(None, JobPhase::Cancelled);
        let s = memory
            .snapshot(&reading("Operational", Some("a.gcode"), None))
            .unwrap();
        let job = s.job.unwrap();
        assert_eq!((job.phase, job.progress), (JobPhase::Cancelled, 0.4));

        // Stopped part-way without a word: failed.
        let mut memory = Memory::default();
        let s = memory
            .snapshot(&reading("Operational", Some("b.gcode"), Some(60.0)))
            .unwrap();
        assert_eq!(s.job.unwrap().phase, JobPhase::Failed);
    }

    #[test]
    fn errors_carry_octoprints_message_and_the_remembered_job() {
        let mut memory = Memory::default();
        memory
            .snapshot(&reading("Printing", Some("a.gcode"), Some(10.0)))
            .unwrap();
        memory.ended_as(None, JobPhase::Failed);
        let mut r = reading("Offline after error", None, None);
        r.error = Some("Closing serial port due to emergency stop M112.".into());
        let s = memory.snapshot(&r).unwrap();
        assert_eq!(
            s.status,
            RemoteStatus::Error {
                message: "Closing serial port due to emergency stop M112.".into()
            }
        );
        assert_eq!(s.job.unwrap().phase, JobPhase::Failed);
        assert!(!is_connected("Offline after error"));
        assert!(is_connected("Operational") && is_connected("Printing"));
    }

    #[test]
    fn push_messages_parse_with_the_latest_temperatures() {
        let current: Current = serde_json::from_str(
            r#"{"state": {"text": "Printing", "flags": {}, "error": ""},
                "job": {"file": {"name": "a.gcode", "path": "a.gcode", "size": 10}},
                "progress": {"completion": 50.0, "printTime": 5, "printTimeLeft": 5},
                "temps": [{"time": 1, "tool0": {"actual": 20.0, "target": 0.0}},
                          {"time": 2, "tool0": {"actual": 30.0, "target": 200.0}, "bed": {"actual": 25.0, "target": 60.0}}],
                "logs": [], "messages": []}"#,
        )
        .unwrap();
        let r = Reading::from_push(current);
        assert_eq!(r.file.as_deref(), Some("a.gcode"));
        assert_eq!(
            r.temperatures.tool,
            Some(Heater {
                actual: 30.0,
                target: 200.0
            })
        );
        assert_eq!(r.temperatures.bed.unwrap().target, 60.0);
        let s = Memory::default().snapshot(&r).unwrap();
        assert_eq!(s.job.unwrap().remaining_s, Some(5.0));
    }
}
