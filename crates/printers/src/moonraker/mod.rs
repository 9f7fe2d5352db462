//! Klipper printers through Moonraker: JSON-RPC 2.0 over `ws://host/websocket`, with a
//! subscription to the printer objects a snapshot needs; plain HTTP when the websocket is down.
//!
//! A background task (started by the first call) keeps the websocket: it authenticates with a
//! one-shot token when an API key is set, subscribes to `print_stats`, `virtual_sdcard`,
//! `extruder`, `heater_bed` and `webhooks`, merges `notify_status_update` notifications into
//! its copy of those objects, follows the newest job of Moonraker's history
//! (`notify_history_changed`) and wakes `changed()`. Commands travel over the websocket while it
//! is up and as `POST /printer/…` otherwise; both carry the same method and parameters.
//!
//! What real Moonraker and Klipper do that shapes this driver:
//! - Pushes come every 250 ms, so the copy lags a command: after each command the driver reads
//!   the objects over HTTP, and snapshots show what the command led to.
//! - Klipper keeps the last job's file name and progress (1.0 after `complete`): a new job of
//!   the same file is told from the last one by Moonraker's job ID, carried in each snapshot.
//! - Klipper opens only `.gcode`, `.g` and `.gco` files (case-sensitive), while Moonraker stores
//!   any name: uploads are named so that Klipper opens them.
//! - A rotated key is refused (401) on every HTTP call while an open websocket keeps working:
//!   a refused key drops the websocket, so snapshots fail with the refusal too.

mod status;
mod websocket;

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot, watch};

use crate::commands::{is_emergency_stop, temperatures};
use crate::http::Http;
use crate::push::{Changes, Task};
use crate::{
    Connection, Driver, DriverError, DriverKind, PastJob, RemoteStatus, Snapshot, UploadFile,
};

use status::{HISTORY_PAGE, past_job, snapshot_from_status};

/// A call the websocket task answers itself: subscribe again and take the answer as the copy.
const RESUBSCRIBE: &str = "printer.objects.subscribe";

/// The extensions Klipper's virtual SD card opens, compared case-sensitively.
const KLIPPER_EXTENSIONS: [&str; 3] = ["gcode", "g", "gco"];
/// Most history pages read looking for the last job Farmhand knows.
const HISTORY_PAGES: usize = 4;

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
    /// Moonraker's newest history job as the websocket last heard of it.
    latest_job: Mutex<Option<PastJob>>,
    /// Bumped to make the websocket task drop its connection (the key was refused).
    hangup: watch::Sender<u64>,

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
                latest_job: Mutex::new(None),
                hangup: watch::Sender::new(0),

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

    /// A snapshot over HTTP (`/printer/objects/query` and the newest history job), whatever
    /// the websocket's state.
    pub async fn poll(&self) -> Result<Snapshot, DriverError> {
        let status = self.shared.query().await?;
        let latest = self.shared.newest_job().await?;
        snapshot_from_status(&status, latest.as_ref())
    }

    fn ensure_task(&self) {
        self.task
            .ensure(|| tokio::spawn(websocket::run(self.shared.clone())).abort_handle());
    }

    async fn call(&self, method: &'static str, params: Value) -> Result<Value, DriverError> {
        self.ensure_task();
        self.shared.call(method, params).await
    }

    /// A command, then a new subscription while the websocket is up: its answer is the objects
    /// as they are after the command, so the next snapshot shows what the command led to rather
    /// than the pushed copy from before it (pushes come every 250 ms). Moonraker pushes only
    /// what changed since its last push on that subscription, so the copy is only ever replaced
    /// by a subscription's answer, never by a look over HTTP: a change the copy missed would
    /// never be pushed again.
    async fn command(&self, method: &'static str, params: Value) -> Result<(), DriverError> {
        self.call(method, params).await?;
        if let Some(rpc) = self.shared.rpc() {
            let (reply, answer) = oneshot::channel();
            let resubscribe = Call {
                method: RESUBSCRIBE,
                params: Value::Null,
                reply,
            };
            let timeout = self.shared.http.timeout();
            // The command went through; a copy that could not be renewed is renewed by the next
            // push or reconnection, so failures here are not the command's.
            if rpc.send(resubscribe).await.is_ok()
                && let Ok(Ok(Err(error))) = tokio::time::timeout(timeout, answer).await
            {
                tracing::debug!(%error, "Moonraker did not renew the subscription after a command");
            }
        }
        Ok(())
    }

    /// Refuses a command the printer's current state does not allow, as OctoPrint would
    /// (Klipper itself answers "ok" to a pause when idle). Asks over HTTP: a push may lag a
    /// command sent a moment ago.
    async fn require(&self, allowed: &[RemoteStatus], refusal: &str) -> Result<(), DriverError> {
        self.ensure_task();
        let status = snapshot_from_status(&self.shared.query().await?, None)?.status;
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

    fn cached_latest_job(&self) -> Option<PastJob> {
        self.latest_job
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn set_latest_job(&self, job: Option<PastJob>) {
        *self.latest_job.lock().unwrap_or_else(|p| p.into_inner()) = job;
    }

    /// A snapshot from the websocket's copy while it is up, else over HTTP.
    async fn snapshot(&self) -> Result<Snapshot, DriverError> {
        match self.cached_status() {
            Some(status) => snapshot_from_status(&status, self.cached_latest_job().as_ref()),
            None => {
                let status = self.query().await?;
                let latest = self.newest_job().await?;
                snapshot_from_status(&status, latest.as_ref())
            }
        }
    }

    /// The key was refused: whatever the websocket still hears was said to the old key, so it
    /// goes, and every look goes over HTTP (and is refused) until the key works again.
    fn credentials_refused(&self) {
        self.set_rpc(None);
        self.set_status(None);
        self.live.send_replace(false);
        self.hangup.send_modify(|n| *n = n.wrapping_add(1));
        self.changes.bump();
    }

    /// An HTTP call's result, noticing a refused key.
    fn checked<T>(&self, result: Result<T, DriverError>) -> Result<T, DriverError> {
        if matches!(result, Err(DriverError::Unauthorized)) {
            self.credentials_refused();
        }
        result
    }

    /// `GET /server/history/list` with these query parameters → its `jobs`, as they come;
    /// `None` when Moonraker runs without its history component (404).
    async fn history_page(&self, query: &str) -> Result<Option<Vec<Value>>, DriverError> {
        let mut url = self.http.url("server/history/list")?;
        url.set_query(Some(query));
        let answer = self
            .http
            .send(self.http.request(reqwest::Method::GET, url))
            .await;
        let answer = self.checked(answer)?;
        if answer.status.as_u16() == 404 {
            return Ok(None);
        }
        if !answer.status.is_success() {
            return self.checked(Err(klippy_error(crate::http::status_error(&answer))));
        }
        let mut body: Value = answer.json()?;
        match body.pointer_mut("/result/jobs").map(Value::take) {
            Some(Value::Array(jobs)) => Ok(Some(jobs)),
            _ => Err(DriverError::Protocol(
                "a history answer without result.jobs".into(),
            )),
        }
    }

    /// Moonraker's newest history job, if it has any.
    async fn newest_job(&self) -> Result<Option<PastJob>, DriverError> {
        let jobs = self.history_page("limit=1&order=desc").await?;
        Ok(jobs.unwrap_or_default().first().and_then(past_job))
    }

    /// The history after the job `after` (all of it, up to a bound, when `None`), oldest
    /// first; `None` without a history component.
    async fn jobs_after(&self, after: Option<&str>) -> Result<Option<Vec<PastJob>>, DriverError> {
        let mut found = Vec::new();
        for page in 0..HISTORY_PAGES {
            let offset = page * HISTORY_PAGE;
            let query = format!("limit={HISTORY_PAGE}&start={offset}&order=desc");
            let Some(jobs) = self.history_page(&query).await? else {
                return Ok(None);
            };
            let last_page = jobs.len() < HISTORY_PAGE;
            for job in jobs.iter().filter_map(past_job) {
                if after == Some(job.job_id.as_str()) {
                    found.reverse();
                    return Ok(Some(found));
                }
                found.push(job);
            }
            if last_page {
                break;
            }
        }
        if let Some(after) = after {
            // The known job is gone from the record (someone deleted it) or lies beyond the
            // pages read. Moonraker numbers its jobs in hex, in order: keep those numbered after
            // it, rather than take the whole record for new.
            found.retain(|job| is_later_job(&job.job_id, after));
        }
        found.reverse();
        Ok(Some(found))
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
        let sent = self
            .http
            .send_ok(self.http.request(reqwest::Method::GET, url))
            .await
            .map_err(klippy_error);
        let mut body: Value = self.checked(sent)?.json()?;
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
        let sent = self.http.send_ok(request).await.map_err(klippy_error);
        let mut body: Value = self.checked(sent)?.json()?;
        body.get_mut("result")
            .map(Value::take)
            .ok_or_else(|| DriverError::Protocol(format!("{method}: an answer without result")))
    }
}

/// Whether Moonraker numbered job `id` after job `known` (its IDs count in hex, `"0000A1"`);
/// false when either is not such a number.
fn is_later_job(id: &str, known: &str) -> bool {
    match (u64::from_str_radix(id, 16), u64::from_str_radix(known, 16)) {
        (Ok(id), Ok(known)) => id > known,
        _ => false,
    }
}

/// `name`, or `name.gcode` when Klipper would not open `name` (see [`KLIPPER_EXTENSIONS`]).
fn klipper_name(name: &str) -> String {
    let opens = name
        .rsplit_once('.')
        .is_some_and(|(stem, ext)| !stem.is_empty() && KLIPPER_EXTENSIONS.contains(&ext));
    if opens {
        name.to_owned()
    } else {
        format!("{name}.gcode")
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
        let status = self.shared.query().await?;
        self.wait_live().await;
        if status::klippy_state(&status) != Some("shutdown") {
            return self.shared.snapshot().await;
        }
        self.call("printer.firmware_restart", json!({})).await?;
        let deadline = tokio::time::Instant::now() + self.shared.http.timeout();
        loop {
            let status = self.shared.query().await;
            let state = status.as_ref().ok().and_then(|s| status::klippy_state(s));
            if state == Some("ready") || tokio::time::Instant::now() >= deadline {
                return snapshot_from_status(&status?, None);
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }

    async fn snapshot(&self) -> Result<Snapshot, DriverError> {
        self.ensure_task();
        self.shared.snapshot().await
    }

    async fn changed(&self) {
        self.ensure_task();
        self.shared.changes.changed().await;
    }

    /// Stored under a name Klipper opens: `name` itself when it ends in `.gcode`, `.g` or
    /// `.gco`, else `name` with `.gcode` added (`part` → `part.gcode`, `UPPER.GCODE` →
    /// `UPPER.GCODE.gcode`).
    async fn upload(&self, name: &str, file: &UploadFile) -> Result<String, DriverError> {
        if name.is_empty() {
            return Err(DriverError::Refused("a file needs a name".into()));
        }
        let name = klipper_name(name);
        let fields = [("root", "gcodes"), ("print", "false")];
        let sent = self
            .shared
            .http
            .upload_file("server/files/upload", &fields, &name, file)
            .await;
        let body: Value = self.shared.checked(sent)?.json()?;
        // Moonraker wraps answers in `result`; versions before 0.8 did not for uploads.
        let result = body.get("result").unwrap_or(&body);
        let stored = result.pointer("/item/path").and_then(Value::as_str);
        match stored {
            Some(path) if path == name => Ok(name),
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
        self.command("printer.print.start", json!({ "filename": name }))
            .await
    }

    /// `DELETE /server/files/gcodes/NAME`. Moonraker answers 403 for a file in use: that is
    /// no refused key, so it does not drop the websocket.
    async fn remove_file(&self, name: &str) -> Result<(), DriverError> {
        let http = &self.shared.http;
        let url = http.url_with_segment("server/files/gcodes", name)?;
        http.send_ok(http.request(reqwest::Method::DELETE, url))
            .await
            .map(drop)
    }

    async fn job_history(&self, after: Option<&str>) -> Result<Option<Vec<PastJob>>, DriverError> {
        self.shared.jobs_after(after).await
    }

    async fn pause(&self) -> Result<(), DriverError> {
        self.require(
            &[RemoteStatus::Printing, RemoteStatus::Paused],
            "the printer is not printing",
        )
        .await?;
        self.command("printer.print.pause", json!({})).await
    }

    async fn resume(&self) -> Result<(), DriverError> {
        self.require(&[RemoteStatus::Paused], "the printer is not paused")
            .await?;
        self.command("printer.print.resume", json!({})).await
    }

    async fn cancel(&self) -> Result<(), DriverError> {
        self.require(
            &[RemoteStatus::Printing, RemoteStatus::Paused],
            "the printer is neither printing nor paused",
        )
        .await?;
        self.command("printer.print.cancel", json!({})).await
    }

    /// Klipper shuts down at once and says so on the websocket: nothing to renew.
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
        self.command("printer.gcode.script", json!({ "script": script }))
            .await
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

    #[test]
    fn job_ids_count_in_hex() {
        assert!(is_later_job("00000A", "000009"));
        assert!(!is_later_job("000009", "00000A"));
        assert!(!is_later_job("00000A", "00000A"));
        assert!(!is_later_job("zz", "000001"));
        assert!(!is_later_job("000002", "gone"));
    }

    #[test]
    fn uploads_are_named_so_that_klipper_opens_them() {
        for (given, stored) in [
            ("part.gcode", "part.gcode"),
            ("part.g", "part.g"),
            ("part.gco", "part.gco"),
            ("part", "part.gcode"),
            ("part.txt", "part.txt.gcode"),
            ("UPPER.GCODE", "UPPER.GCODE.gcode"),
            ("two.dots.gcode", "two.dots.gcode"),
            ("trailing.", "trailing..gcode"),
        ] {
            assert_eq!(klipper_name(given), stored, "{given}");
        }
    }
}
