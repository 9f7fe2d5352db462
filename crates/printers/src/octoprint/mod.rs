//! OctoPrint's REST API (`X-Api-Key`), with its push socket (`/sockjs/websocket`) for fresher
//! snapshots and `changed()`.
//!
//! OctoPrint shows a finished, a cancelled and a failed print alike as `Operational`; the
//! driver tells them apart by completion (100 % is finished), by what it did itself (a cancel,
//! an emergency stop) and, while the push socket is up, by the `PrintDone`, `PrintFailed` and
//! `PrintCancelled` events. What it remembers is lost with the driver: after a restart an
//! ended print is seen only if it completed.

mod state;
mod websocket;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::commands::{is_emergency_stop, temperatures};
use crate::http::Http;
use crate::push::{Changes, Task};
use crate::{
    Connection, Driver, DriverError, DriverKind, JobPhase, Snapshot, Temperatures, UploadFile,
};
use state::{JobAnswer, Memory, PrinterAnswer, Reading};

/// Longest `connect` waits for OctoPrint to reach the printer over serial (and `resume` for a
/// pause to settle).
const CONNECT_WAIT: Duration = Duration::from_secs(15);
const CONNECT_POLL: Duration = Duration::from_millis(200);

/// An OctoPrint server. Cheap to build; connects on first use.
pub struct OctoPrint {
    shared: Arc<Shared>,
    task: Task,
}

struct Shared {
    http: Http,
    /// The latest push reading; `None` while the socket is down or since a command.
    pushed: Mutex<Option<Reading>>,
    memory: Mutex<Memory>,
    /// True while the push socket is up and authenticated.
    live: watch::Sender<bool>,
    changes: Changes,
}

impl OctoPrint {
    pub fn new(connection: Connection) -> Result<Self, DriverError> {
        if connection.secret.is_none() {
            return Err(DriverError::Config("OctoPrint needs an API key".into()));
        }
        Ok(Self {
            shared: Arc::new(Shared {
                http: Http::new(&connection, "OctoPrint")?,
                pushed: Mutex::new(None),
                memory: Mutex::new(Memory::default()),
                live: watch::Sender::new(false),
                changes: Changes::new(),
            }),
            task: Task::new(),
        })
    }

    /// True while the push socket is up (snapshots come from it).
    pub fn push_connected(&self) -> bool {
        *self.shared.live.borrow()
    }

    /// A snapshot over REST (`/api/job` and `/api/printer`), whatever the push socket's state.
    pub async fn poll(&self) -> Result<Snapshot, DriverError> {
        let reading = self.shared.read_rest().await?;
        self.shared.memory().snapshot(&reading)
    }

    fn ensure_task(&self) {
        self.task
            .ensure(|| tokio::spawn(websocket::run(self.shared.clone())).abort_handle());
    }

    /// After a command the pushed reading is stale until the next push: REST answers until then.
    fn forget_push(&self) {
        *self.shared.pushed.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    async fn post(&self, path: &str, body: Value) -> Result<(), DriverError> {
        let request = self.shared.http.post_json(path, &body)?;
        self.shared.http.send_ok(request).await?;
        Ok(())
    }

    async fn connection_state(&self) -> Result<String, DriverError> {
        let answer = self
            .shared
            .http
            .send_ok(self.shared.http.get("api/connection")?)
            .await?;
        let body: Value = answer.json()?;
        body.pointer("/current/state")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| DriverError::Protocol("a connection answer without a state".into()))
    }

    /// Sends G-code; an `M112` among it is an emergency stop, and the job it ends is failed.
    async fn send_commands(&self, lines: &[String]) -> Result<(), DriverError> {
        self.post("api/printer/command", json!({ "commands": lines }))
            .await?;
        if lines.iter().any(|l| is_emergency_stop(l)) {
            self.shared.memory().ended_as(None, JobPhase::Failed);
            self.forget_push();
        }
        Ok(())
    }
}

impl Shared {
    fn memory(&self) -> std::sync::MutexGuard<'_, Memory> {
        self.memory.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn pushed(&self) -> Option<Reading> {
        self.pushed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// `/api/job`, then `/api/printer` for temperatures while OctoPrint talks to the printer.
    async fn read_rest(&self) -> Result<Reading, DriverError> {
        let job: JobAnswer = self.http.send_ok(self.http.get("api/job")?).await?.json()?;
        let temperatures = if state::is_connected(&job.state) {
            self.temperatures().await?
        } else {
            Temperatures::default()
        };
        Ok(Reading::from_rest(job, temperatures))
    }

    async fn temperatures(&self) -> Result<Temperatures, DriverError> {
        let answer = self
            .http
            .send(self.http.get("api/printer?exclude=sd")?)
            .await?;
        if answer.status.as_u16() == 409 {
            return Err(DriverError::Unreachable(answer.error_message()));
        }
        if !answer.status.is_success() {
            return Err(crate::http::status_error(&answer));
        }
        let printer: PrinterAnswer = answer.json()?;
        Ok(printer
            .temperature
            .map(|t| t.temperatures())
            .unwrap_or_default())
    }
}

impl Driver for OctoPrint {
    fn kind(&self) -> DriverKind {
        DriverKind::Octoprint
    }

    /// Asks OctoPrint to open its serial connection (with its saved port and baud rate) when it
    /// is closed, and waits until it is operational (at most 15 s).
    async fn connect(&self) -> Result<Snapshot, DriverError> {
        self.ensure_task();
        if !state::is_connected(&self.connection_state().await?) {
            self.post("api/connection", json!({"command": "connect"}))
                .await?;
            let deadline = Instant::now() + CONNECT_WAIT;
            while Instant::now() < deadline {
                tokio::time::sleep(CONNECT_POLL).await;
                if state::is_connected(&self.connection_state().await?) {
                    break;
                }
            }
        }
        self.forget_push();
        self.poll().await
    }

    async fn snapshot(&self) -> Result<Snapshot, DriverError> {
        self.ensure_task();
        match self.shared.pushed() {
            Some(reading) => self.shared.memory().snapshot(&reading),
            None => self.poll().await,
        }
    }

    async fn changed(&self) {
        self.ensure_task();
        self.shared.changes.changed().await;
    }

    /// `POST /api/files/local` without selecting or printing; OctoPrint answers once the file
    /// is stored (`done: true` for local storage).
    async fn upload(&self, name: &str, file: &UploadFile) -> Result<String, DriverError> {
        if name.is_empty() {
            return Err(DriverError::Refused("a file needs a name".into()));
        }
        let fields = [("select", "false"), ("print", "false")];
        let body: Value = self
            .shared
            .http
            .upload_file("api/files/local", &fields, name, file)
            .await?
            .json()?;
        let stored = body
            .pointer("/files/local/path")
            .or_else(|| body.pointer("/files/local/name"))
            .and_then(Value::as_str);
        match stored {
            Some(path) if path == name => Ok(path.to_owned()),
            // OctoPrint sanitises names (spaces become underscores): `start(name)` would miss.
            Some(path) => Err(DriverError::Refused(format!(
                "OctoPrint stored the file as {path:?}, not {name:?}; use a name of letters, digits, '.', '_' and '-'"
            ))),
            None => Err(DriverError::Protocol(
                "an upload answer without files.local.path".into(),
            )),
        }
    }

    async fn start(&self, name: &str) -> Result<(), DriverError> {
        let http = &self.shared.http;
        let url = http.url_with_segment("api/files/local", name)?;
        let request = http
            .request(reqwest::Method::POST, url)
            .json(&json!({"command": "select", "print": true}));
        let answer = http.send(request).await?;
        match answer.status.as_u16() {
            200..=299 => {
                self.shared.memory().started();
                self.forget_push();
                Ok(())
            }
            404 => Err(DriverError::Refused(format!(
                "no file named {name:?} on OctoPrint"
            ))),
            _ => Err(crate::http::status_error(&answer)),
        }
    }

    async fn pause(&self) -> Result<(), DriverError> {
        self.post("api/job", json!({"command": "pause", "action": "pause"}))
            .await?;
        self.forget_push();
        Ok(())
    }

    /// OctoPrint ignores a resume while it is still pausing: wait for `Paused` first.
    async fn resume(&self) -> Result<(), DriverError> {
        let deadline = Instant::now() + CONNECT_WAIT;
        while self.shared.read_rest().await?.state == "Pausing" && Instant::now() < deadline {
            tokio::time::sleep(CONNECT_POLL).await;
        }
        self.post("api/job", json!({"command": "pause", "action": "resume"}))
            .await?;
        self.forget_push();
        Ok(())
    }

    async fn cancel(&self) -> Result<(), DriverError> {
        // Where the job is: OctoPrint forgets its progress as soon as it cancels.
        let before = self.poll().await?;
        self.post("api/job", json!({"command": "cancel"})).await?;
        let file = before.job.map(|j| j.file_name);
        self.shared.memory().ended_as(file, JobPhase::Cancelled);
        self.forget_push();
        Ok(())
    }

    async fn emergency_stop(&self) -> Result<(), DriverError> {
        self.send_commands(&["M112".to_owned()]).await
    }

    async fn send_gcode(&self, lines: &[String]) -> Result<(), DriverError> {
        self.send_commands(lines).await
    }

    async fn preheat(&self, tool: Option<f64>, bed: Option<f64>) -> Result<(), DriverError> {
        let (tool, bed) = temperatures(tool, bed)?;
        if let Some(t) = tool {
            self.post(
                "api/printer/tool",
                json!({"command": "target", "targets": {"tool0": t}}),
            )
            .await?;
        }
        if let Some(t) = bed {
            self.post("api/printer/bed", json!({"command": "target", "target": t}))
                .await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_api_key_is_required() {
        let connection = Connection {
            kind: DriverKind::Octoprint,
            url: Some("http://127.0.0.1:5000".into()),
            secret: None,
            timeout: Duration::from_secs(5),
            profile: gcode::Profile::default(),
            simulation: crate::SimulationSettings::default(),
        };
        assert!(matches!(
            OctoPrint::new(connection),
            Err(DriverError::Config(_))
        ));
    }
}
