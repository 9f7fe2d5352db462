//! Klipper printers through Moonraker: JSON-RPC 2.0 over `ws://host/websocket`, with a
//! subscription to the printer objects a snapshot needs; plain HTTP when the websocket is down.
//!
//! A background task (started by the first call) keeps the websocket: it authenticates with a
//! one-shot token when an API key is set, subscribes to `print_stats`, `virtual_sdcard`,
//! `extruder`, `heater_bed` and `webhooks`, merges `notify_status_update` notifications into
//! its copy of those objects and wakes `changed()`. Commands travel over the websocket while it
//! is up and as `POST /printer/…` otherwise; both carry the same method and parameters.

mod status;
mod websocket;

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot, watch};

use crate::commands::{is_emergency_stop, temperatures};
use crate::http::Http;
use crate::push::{Changes, Task};
use crate::{Connection, Driver, DriverError, DriverKind, RemoteStatus, Snapshot, UploadFile};

use status::snapshot_from_status;

/// The printer objects a snapshot is made of.
const OBJECTS: [&str; 5] = [
    "print_stats",
    "virtual_sdcard",
    "extruder",
    "heater_bed",
    "webhooks",
];

/// A Moonraker printer. Cheap to build; connects on first use.
pub struct Moonraker {
    shared: Arc<Shared>,
    task: Task,
}

struct Shared {
    http: Http,
    has_key: bool,
    /// The subscribed objects, kept current by notifications; `None` while the websocket is down
    /// or not subscribed.
    status: Mutex<Option<Value>>,
    /// Where calls go while the websocket is up.
    rpc: Mutex<Option<mpsc::Sender<Call>>>,
    /// True while the websocket is up and subscribed.
    live: watch::Sender<bool>,
    changes: Changes,
}

/// A JSON-RPC call handed to the websocket task.
struct Call {
    method: &'static str,
    params: Value,
    reply: oneshot::Sender<Result<Value, DriverError>>,
}

impl Moonraker {
    pub fn new(connection: Connection) -> Result<Self, DriverError> {
        let http = Http::new(&connection, "Moonraker")?;
        Ok(Self {
            shared: Arc::new(Shared {
                http,
                has_key: connection.secret.is_some(),
                status: Mutex::new(None),
                rpc: Mutex::new(None),
                live: watch::Sender::new(false),
                changes: Changes::new(),
            }),
            task: Task::new(),
        })
    }

    /// True while the websocket is up and subscribed (snapshots come from it).
    pub fn push_connected(&self) -> bool {
        *self.shared.live.borrow()
    }

    /// A snapshot over HTTP (`/printer/objects/query`), whatever the websocket's state.
    pub async fn poll(&self) -> Result<Snapshot, DriverError> {
        snapshot_from_status(&self.shared.query().await?)
    }

    fn ensure_task(&self) {
        self.task
            .ensure(|| tokio::spawn(websocket::run(self.shared.clone())).abort_handle());
    }

    /// The objects from the subscription, or over HTTP when there is none.
    async fn status(&self) -> Result<Value, DriverError> {
        self.ensure_task();
        match self.shared.cached_status() {
            Some(status) => Ok(status),
            None => self.shared.query().await,
        }
    }

    async fn call(&self, method: &'static str, params: Value) -> Result<Value, DriverError> {
        self.ensure_task();
        self.shared.call(method, params).await
    }

    /// Refuses a command the printer's current state does not allow, as OctoPrint would
    /// (Klipper itself answers "ok" to a pause when idle). Asks over HTTP: a push may lag a
    /// command sent a moment ago.
    async fn require(&self, allowed: &[RemoteStatus], refusal: &str) -> Result<(), DriverError> {
        self.ensure_task();
        let status = snapshot_from_status(&self.shared.query().await?)?.status;
        if allowed.contains(&status) {
            Ok(())
        } else {
            Err(DriverError::Refused(refusal.to_owned()))
        }
    }

    /// Waits (at most the call timeout) for the websocket to come up.
    async fn wait_live(&self) {
        let mut live = self.shared.live.subscribe();
        let _ = tokio::time::timeout(self.shared.http.timeout(), live.wait_for(|up| *up)).await;
    }
}

impl Shared {
    fn cached_status(&self) -> Option<Value> {
        self.status
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn set_status(&self, status: Option<Value>) {
        *self.status.lock().unwrap_or_else(|p| p.into_inner()) = status;
    }

    fn rpc(&self) -> Option<mpsc::Sender<Call>> {
        self.rpc.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn set_rpc(&self, sender: Option<mpsc::Sender<Call>>) {
        *self.rpc.lock().unwrap_or_else(|p| p.into_inner()) = sender;
    }

    /// `GET /printer/objects/query?print_stats&…` → the `status` object.
    async fn query(&self) -> Result<Value, DriverError> {
        let mut url = self.http.url("printer/objects/query")?;
        url.set_query(Some(&OBJECTS.join("&")));
        let answer = self
            .http
            .send_ok(self.http.request(reqwest::Method::GET, url))
            .await
            .map_err(klippy_error)?;
        let mut body: Value = answer.json()?;
        match body.pointer_mut("/result/status").map(Value::take) {
            Some(status @ Value::Object(_)) => Ok(status),
            _ => Err(DriverError::Protocol(
                "an object query answer without result.status".into(),
            )),
        }
    }

    /// A JSON-RPC call over the websocket when it is up, else over HTTP.
    async fn call(&self, method: &'static str, params: Value) -> Result<Value, DriverError> {
        let timeout = self.http.timeout();
        if let Some(rpc) = self.rpc() {
            let (reply, answer) = oneshot::channel();
            let call = Call {
                method,
                params: params.clone(),
                reply,
            };
            // A closed channel means the websocket just went down: the call was not sent.
            if rpc.send(call).await.is_ok() {
                return match tokio::time::timeout(timeout, answer).await {
                    Ok(Ok(result)) => result,
                    Ok(Err(_)) => Err(DriverError::Unreachable(
                        "the connection to Moonraker closed before it answered".into(),
                    )),
                    Err(_) => Err(DriverError::Timeout(timeout)),
                };
            }
        }
        self.call_http(method, params).await
    }

    /// `printer.print.start` → `POST /printer/print/start` with the parameters as JSON.
    async fn call_http(&self, method: &str, params: Value) -> Result<Value, DriverError> {
        let path = method.replace('.', "/");
        let request = self.http.post_json(&path, &params)?;
        let answer = self.http.send_ok(request).await.map_err(klippy_error)?;
        let mut body: Value = answer.json()?;
        body.get_mut("result")
            .map(Value::take)
            .ok_or_else(|| DriverError::Protocol(format!("{method}: an answer without result")))
    }
}

/// A JSON-RPC error object → a driver error.
fn rpc_error(error: &Value) -> DriverError {
    let message = error
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("Moonraker refused the request")
        .chars()
        .take(300)
        .collect::<String>();
    match error.get("code").and_then(Value::as_i64) {
        Some(401 | 403) => DriverError::Unauthorized,
        Some(503) => DriverError::Unreachable(message),
        _ => DriverError::Refused(message),
    }
}

/// Moonraker answers 503 while Klipper is not connected to it: the printer is unreachable.
fn klippy_error(error: DriverError) -> DriverError {
    match error {
        DriverError::Protocol(message) if message.starts_with("HTTP 503") => {
            DriverError::Unreachable(message)
        }
        other => other,
    }
}

impl Driver for Moonraker {
    fn kind(&self) -> DriverKind {
        DriverKind::Moonraker
    }

    /// Starts the websocket and waits briefly for it; a printer in Klipper's `shutdown` state
    /// (after an emergency stop) gets a firmware restart, Moonraker's way of resetting it.
    async fn connect(&self) -> Result<Snapshot, DriverError> {
        self.ensure_task();
        // Over HTTP first, so a wrong key or a dead host fails at once.
        let mut status = self.shared.query().await?;
        self.wait_live().await;
        if let Some(pushed) = self.shared.cached_status() {
            status = pushed;
        }
        if status::klippy_state(&status) != Some("shutdown") {
            return snapshot_from_status(&status);
        }
        self.call("printer.firmware_restart", json!({})).await?;
        let deadline = tokio::time::Instant::now() + self.shared.http.timeout();
        loop {
            let status = self.shared.query().await;
            let state = status.as_ref().ok().and_then(|s| status::klippy_state(s));
            if state == Some("ready") || tokio::time::Instant::now() >= deadline {
                return snapshot_from_status(&status?);
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }

    async fn snapshot(&self) -> Result<Snapshot, DriverError> {
        snapshot_from_status(&self.status().await?)
    }

    async fn changed(&self) {
        self.ensure_task();
        self.shared.changes.changed().await;
    }

    async fn upload(&self, name: &str, file: &UploadFile) -> Result<(), DriverError> {
        if name.is_empty() {
            return Err(DriverError::Refused("a file needs a name".into()));
        }
        let fields = [("root", "gcodes"), ("print", "false")];
        let body: Value = self
            .shared
            .http
            .upload_file("server/files/upload", &fields, name, file)
            .await?
            .json()?;
        // Moonraker wraps answers in `result`; versions before 0.8 did not for uploads.
        let result = body.get("result").unwrap_or(&body);
        let stored = result.pointer("/item/path").and_then(Value::as_str);
        match stored {
            Some(path) if path == name => Ok(()),
            Some(path) => Err(DriverError::Refused(format!(
                "Moonraker stored the file as {path:?}, not {name:?}"
            ))),
            None => Err(DriverError::Protocol(
                "an upload answer without item.path".into(),
            )),
        }
    }

    async fn start(&self, name: &str) -> Result<(), DriverError> {
        self.require(&[RemoteStatus::Ready], "the printer is busy or not ready")
            .await?;
        self.call("printer.print.start", json!({ "filename": name }))
            .await
            .map(drop)
    }

    async fn pause(&self) -> Result<(), DriverError> {
        self.require(
            &[RemoteStatus::Printing, RemoteStatus::Paused],
            "the printer is not printing",
        )
        .await?;
        self.call("printer.print.pause", json!({})).await.map(drop)
    }

    async fn resume(&self) -> Result<(), DriverError> {
        self.require(&[RemoteStatus::Paused], "the printer is not paused")
            .await?;
        self.call("printer.print.resume", json!({})).await.map(drop)
    }

    async fn cancel(&self) -> Result<(), DriverError> {
        self.require(
            &[RemoteStatus::Printing, RemoteStatus::Paused],
            "the printer is neither printing nor paused",
        )
        .await?;
        self.call("printer.print.cancel", json!({})).await.map(drop)
    }

    async fn emergency_stop(&self) -> Result<(), DriverError> {
        self.call("printer.emergency_stop", json!({}))
            .await
            .map(drop)
    }

    /// An `M112` among the lines triggers Moonraker's emergency stop at once, as its docs ask:
    /// through `gcode.script` it would wait behind the queued moves.
    async fn send_gcode(&self, lines: &[String]) -> Result<(), DriverError> {
        if lines.iter().any(|l| is_emergency_stop(l)) {
            return self.emergency_stop().await;
        }
        let script = lines.join("\n");
        self.call("printer.gcode.script", json!({ "script": script }))
            .await
            .map(drop)
    }

    async fn preheat(&self, tool: Option<f64>, bed: Option<f64>) -> Result<(), DriverError> {
        let (tool, bed) = temperatures(tool, bed)?;
        let mut lines = Vec::new();
        if let Some(t) = tool {
            lines.push(format!("M104 S{t}"));
        }
        if let Some(t) = bed {
            lines.push(format!("M140 S{t}"));
        }
        if lines.is_empty() {
            return Ok(());
        }
        self.send_gcode(&lines).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_rpc_errors_map_to_driver_errors() {
        let refused = rpc_error(&json!({"code": 400, "message": "Must home axis first"}));
        assert_eq!(refused, DriverError::Refused("Must home axis first".into()));
        assert_eq!(rpc_error(&json!({"code": 401})), DriverError::Unauthorized);
        assert!(matches!(
            rpc_error(&json!({"code": 503, "message": "Klippy Disconnected"})),
            DriverError::Unreachable(_)
        ));
        assert!(matches!(rpc_error(&json!("junk")), DriverError::Refused(_)));
    }
}
