//! OctoPrint's REST API (`X-Api-Key`), with its push socket (`/sockjs/websocket`) for fresher
//! snapshots and `changed()`.
//!
//! OctoPrint shows a finished, a cancelled and a failed print alike as `Operational`; the
//! driver tells them apart by completion (100 % is finished), by what it did itself (a cancel,
//! an emergency stop) and, while the push socket is up, by the `PrintDone`, `PrintFailed` and
//! `PrintCancelled` events. What it remembers is lost with the driver: after a restart an
//! ended print is seen only if it completed. OctoPrint keeps no record of past jobs (only
//! per-file counts), so prints made while Farmhand was away are not found afterwards.
//!
//! What real OctoPrint (1.11) does that shapes this driver:
//! - Pushes come every half second or so: the snapshot right after a command is read over REST,
//!   whatever push arrives in between, so it shows what the command led to.
//! - Uploads whose name lacks a G-code extension (`.gcode`, `.gco`, `.g`, any case) are refused
//!   (415): they are named so that OctoPrint takes them.
//! - A rotated key is refused over REST (403, or 400 "CSRF validation failed" for a POST)
//!   while the push socket logged in with it keeps working: a refused key closes the socket.

mod state;
mod websocket;

use std::sync::atomic::{AtomicBool, Ordering};
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

/// The extensions OctoPrint takes for G-code, compared without case.
const GCODE_EXTENSIONS: [&str; 3] = ["gcode", "gco", "g"];

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
    /// Set by a command: the next snapshot is read over REST, not from a push that may predate
    /// the command.
    rest_next: AtomicBool,
    /// Bumped to make the push task drop its socket (the key was refused).
    hangup: watch::Sender<u64>,
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
                rest_next: AtomicBool::new(false),
                hangup: watch::Sender::new(0),
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

    /// After a command the pushed reading is stale: the next snapshot comes over REST (a push
    /// arriving meanwhile may have left OctoPrint before the command).
    fn forget_push(&self) {
        *self.shared.pushed.lock().unwrap_or_else(|p| p.into_inner()) = None;
        self.shared.rest_next.store(true, Ordering::SeqCst);
    }

    async fn post(&self, path: &str, body: Value) -> Result<(), DriverError> {
        let request = self.shared.http.post_json(path, &body)?;
        let sent = self.shared.http.send_ok(request).await;
        self.shared.checked(sent).map(drop)
    }

    async fn connection_state(&self) -> Result<String, DriverError> {
        let sent = self
            .shared
            .http
            .send_ok(self.shared.http.get("api/connection")?)
            .await;
        let answer = self.shared.checked(sent)?;
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
        self.forget_push();
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

    /// A REST answer, noticing a refused key: OctoPrint answers 403, or for a POST without a
    /// key it accepts, 400 "CSRF validation failed" (it takes the request for a browser's). The
    /// push socket logged in with that key goes too, so that nothing shows the printer as fine.
    fn checked<T>(&self, result: Result<T, DriverError>) -> Result<T, DriverError> {
        let result = match result {
            Err(DriverError::Refused(message)) if message.contains("CSRF") => {
                Err(DriverError::Unauthorized)
            }
            other => other,
        };
        if matches!(result, Err(DriverError::Unauthorized)) {
            *self.pushed.lock().unwrap_or_else(|p| p.into_inner()) = None;
            self.live.send_replace(false);
            self.hangup.send_modify(|n| *n = n.wrapping_add(1));
            self.changes.bump();
        }
        result
    }

    /// `/api/job`, then `/api/printer` for temperatures while OctoPrint talks to the printer.
    async fn read_rest(&self) -> Result<Reading, DriverError> {
        let sent = self.http.send_ok(self.http.get("api/job")?).await;
        let job: JobAnswer = self.checked(sent)?.json()?;
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
            return self.checked(Err(crate::http::status_error(&answer)));
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
        if self.shared.rest_next.swap(false, Ordering::SeqCst) {
            return self.poll().await;
        }
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
    /// is stored (`done: true` for local storage). Stored as `name`, with `.gcode` added when
    /// it lacks an extension OctoPrint takes for G-code.
    async fn upload(&self, name: &str, file: &UploadFile) -> Result<String, DriverError> {
        if name.is_empty() {
            return Err(DriverError::Refused("a file needs a name".into()));
        }
        let name = gcode_name(name);
        let name = name.as_str();
        let fields = [("select", "false"), ("print", "false")];
        let sent = self
            .shared
            .http
            .upload_file("api/files/local", &fields, name, file)
            .await;
        let body: Value = self.shared.checked(sent)?.json()?;
        let stored = body
            .pointer("/files/local/path")
            .or_else(|| body.pointer("/files/local/name"))
            .and_then(Value::as_str);
        match stored {
            // OctoPrint may sanitise a name: the one it stored is the one to start and to see.
            Some(path) => Ok(path.to_owned()),
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
        let answer = self.shared.checked(http.send(request).await)?;
        match answer.status.as_u16() {
            200..=299 => {
                self.shared.memory().started();
                self.forget_push();
                Ok(())
            }
            404 => Err(DriverError::Refused(format!(
                "no file named {name:?} on OctoPrint"
            ))),
            _ => self.shared.checked(Err(crate::http::status_error(&answer))),
        }
    }

    /// `DELETE /api/files/local/NAME`.
    async fn remove_file(&self, name: &str) -> Result<(), DriverError> {
        let http = &self.shared.http;
        let url = http.url_with_segment("api/files/local", name)?;
        let sent = http
            .send_ok(http.request(reqwest::Method::DELETE, url))
            .await;
        self.shared.checked(sent).map(drop)
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
        self.forget_push();
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

/// `name`, or `name.gcode` when its extension is not one OctoPrint takes for G-code.
fn gcode_name(name: &str) -> String {
    let takes = name.rsplit_once('.').is_some_and(|(stem, ext)| {
        !stem.is_empty() && GCODE_EXTENSIONS.iter().any(|g| ext.eq_ignore_ascii_case(g))
    });
    if takes {
        name.to_owned()
    } else {
        format!("{name}.gcode")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uploads_are_named_so_that_octoprint_takes_them() {
        for (given, stored) in [
            ("part.gcode", "part.gcode"),
            ("UPPER.GCODE", "UPPER.GCODE"),
            ("part.GCO", "part.GCO"),
            ("part", "part.gcode"),
            ("part.txt", "part.txt.gcode"),
        ] {
            assert_eq!(gcode_name(given), stored, "{given}");
        }
    }

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
