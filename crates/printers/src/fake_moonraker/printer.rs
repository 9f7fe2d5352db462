//! The fake's Klipper: print state, heaters and files, and the JSON-RPC methods Farmhand uses,
//! answering with the shapes Moonraker's documentation shows.
//!
//! Quirks of the real peers it keeps, because Farmhand must cope with them:
//! - After `complete` Klipper keeps `print_stats.filename` and leaves `virtual_sdcard.progress`
//!   at 1.0; after `error` it stays where the print stopped; only `cancelled` (Klipper's
//!   `SDCARD_RESET_FILE`) puts it back to 0. A reprint of the same file therefore starts from a
//!   status that looks like the end of the previous one.
//! - `print_stats.message` carries the reason of an `error`.
//! - Klipper's virtual SD card opens only `.gcode`, `.g` and `.gco` files (case-sensitive);
//!   Moonraker stores uploads of any name.
//! - Moonraker's job history (`server.history.list`, `notify_history_changed`) records every
//!   job with a `job_id` of its own, also the ones nobody watched.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use tokio::time::Instant;

const SHUTDOWN_MESSAGE: &str = "Shutdown due to webhooks request\nOnce the underlying issue is corrected, use the\n\"FIRMWARE_RESTART\" command to reset the firmware, reload the\nconfig, and restart the host software.\nPrinter is shutdown";
const AMBIENT: f64 = 22.0;

/// A JSON-RPC error: code and message.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct RpcError {
    pub code: i64,
    pub message: String,
}

impl RpcError {
    fn new(code: i64, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

/// What a call changed that websocket clients hear about besides status updates.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Event {
    KlippyShutdown,
    KlippyRestarted,
    /// `notify_history_changed`'s parameter: `{"action": "added" | "finished", "job": {…}}`.
    History(Value),
}

/// The extensions Klipper's virtual SD card lists and opens (`VALID_GCODE_EXTS`), compared
/// case-sensitively.
const KLIPPER_EXTENSIONS: [&str; 3] = ["gcode", "g", "gco"];

/// Whether Klipper would open a file of this name.
fn klipper_opens(name: &str) -> bool {
    name.rsplit_once('.')
        .is_some_and(|(_, ext)| KLIPPER_EXTENSIONS.contains(&ext))
}

/// One entry of Moonraker's job history.
#[derive(Debug, Clone)]
struct HistoryJob {
    job_id: String,
    filename: String,
    /// `in_progress`, `completed`, `cancelled`, `error`, `klippy_shutdown`.
    status: &'static str,
    start_time: f64,
    end_time: Option<f64>,
    print_duration: f64,
}

impl HistoryJob {
    fn to_json(&self) -> Value {
        let total = self.end_time.map_or(0.0, |end| end - self.start_time);
        json!({
            "job_id": self.job_id,
            "exists": true,
            "end_time": self.end_time,
            "filament_used": self.print_duration * 10.0,
            "filename": self.filename,
            "metadata": {},
            "print_duration": self.print_duration,
            "status": self.status,
            "start_time": self.start_time,
            "total_duration": total,
        })
    }
}

pub(super) struct Printer {
    klippy_ready: bool,
    print_state: &'static str,
    filename: String,
    message: String,
    /// Seconds a print takes (real time).
    pub duration_s: f64,
    /// Printing seconds before `running_since`.
    printed_s: f64,
    running_since: Option<Instant>,
    started_at: Option<Instant>,
    files: BTreeMap<String, usize>,
    extruder_target: f64,
    bed_target: f64,
    pub scripts: Vec<String>,
    /// Moonraker's job history, oldest first; it outlives Klipper restarts.
    jobs: Vec<HistoryJob>,
    next_job_id: u64,
    /// What websocket clients are to hear, collected under the lock and sent after it.
    pub events: Vec<Event>,
}

impl Printer {
    pub fn new() -> Self {
        Self {
            klippy_ready: true,
            print_state: "standby",
            filename: String::new(),
            message: String::new(),
            duration_s: 10.0,
            printed_s: 0.0,
            running_since: None,
            started_at: None,
            files: BTreeMap::new(),
            extruder_target: 0.0,
            bed_target: 0.0,
            scripts: Vec::new(),
            jobs: Vec::new(),
            next_job_id: 1,
            events: Vec::new(),
        }
    }

    pub fn remove_file(&mut self, path: &str) -> bool {
        self.files.remove(path).is_some()
    }

    /// The job history as `server.history.list` shows it, oldest first.
    pub fn history(&self) -> Vec<Value> {
        self.jobs.iter().map(HistoryJob::to_json).collect()
    }

    pub fn add_file(&mut self, path: String, size: usize) {
        self.files.insert(path, size);
    }

    pub fn file_size(&self, path: &str) -> Option<usize> {
        self.files.get(path).copied()
    }

    pub fn file_names(&self) -> Vec<String> {
        self.files.keys().cloned().collect()
    }

    /// Runs one method; `Ok` is the `result`.
    pub fn call(&mut self, method: &str, params: &Value) -> Result<Value, RpcError> {
        let ok = || Ok(json!("ok"));
        match method {
            "server.info" => Ok(self.server_info()),
            "printer.info" => Ok(self.printer_info()),
            "printer.objects.list" => Ok(json!({"objects": OBJECT_NAMES})),
            "printer.objects.query" => Ok(json!({
                "eventtime": eventtime(),
                "status": self.status(requested(params))
            })),
            "printer.print.start" => self.start(params).and_then(|()| ok()),
            "printer.print.pause" => self.ready().map(|()| self.pause()).and_then(|()| ok()),
            "printer.print.resume" => self.ready().map(|()| self.resume()).and_then(|()| ok()),
            "printer.print.cancel" => self.ready().map(|()| self.cancel()).and_then(|()| ok()),
            "printer.emergency_stop" => {
                self.emergency_stop();
                ok()
            }
            "printer.firmware_restart" | "printer.restart" => {
                self.restart();
                ok()
            }
            "printer.gcode.script" => self.script(params).and_then(|()| ok()),
            "server.history.list" => Ok(self.list_history(params)),
            "server.files.delete_file" => self.delete_file(params),
            _ => Err(RpcError::new(-32601, "Method not found")),
        }
    }

    /// Completes a print whose time ran out, as of the moment it did (history included).
    fn settle(&mut self, now: Instant) {
        let printed = self.printed(now);
        if self.print_state == "printing" && printed >= self.duration_s {
            let overdue = printed - self.duration_s;
            self.print_state = "complete";
            self.printed_s = self.duration_s;
            self.running_since = None;
            self.finish_job("completed", eventtime() - overdue);
        }
    }

    /// A new history entry for the print that just started.
    fn add_job(&mut self) {
        let job = HistoryJob {
            job_id: format!("{:06X}", self.next_job_id),
            filename: self.filename.clone(),
            status: "in_progress",
            start_time: eventtime(),
            end_time: None,
            print_duration: 0.0,
        };
        self.next_job_id += 1;
        let notice = json!({"action": "added", "job": job.to_json()});
        self.jobs.push(job);
        self.events.push(Event::History(notice));
    }

    /// Closes the history entry of the current job.
    fn finish_job(&mut self, status: &'static str, end_time: f64) {
        let printed = self.printed_s;
        let Some(job) = self.jobs.last_mut().filter(|j| j.status == "in_progress") else {
            return;
        };
        job.status = status;
        job.end_time = Some(end_time);
        job.print_duration = printed;
        let notice = json!({"action": "finished", "job": job.to_json()});
        self.events.push(Event::History(notice));
    }

    /// `server.history.list`: `limit` (default 50), `start` (offset), `since`/`before` (start
    /// times), `order` (`desc` by default).
    fn list_history(&self, params: &Value) -> Value {
        let number = |name: &str| {
            params.get(name).and_then(|v| {
                v.as_f64()
                    .or_else(|| v.as_str().and_then(|s| s.parse::<f64>().ok()))
            })
        };
        let limit = number("limit").map_or(50, |n| n.max(0.0) as usize);
        let offset = number("start").map_or(0, |n| n.max(0.0) as usize);
        let since = number("since").unwrap_or(f64::NEG_INFINITY);
        let before = number("before").unwrap_or(f64::INFINITY);
        let ascending = params.get("order").and_then(Value::as_str) == Some("asc");
        let mut jobs: Vec<&HistoryJob> = self
            .jobs
            .iter()
            .filter(|j| j.start_time > since && j.start_time < before)
            .collect();
        if !ascending {
            jobs.reverse();
        }
        let count = jobs.len();
        let page: Vec<Value> = jobs
            .into_iter()
            .skip(offset)
            .take(limit)
            .map(HistoryJob::to_json)
            .collect();
        json!({"count": count, "jobs": page})
    }

    /// `server.files.delete_file` with `path` = `gcodes/NAME`.
    fn delete_file(&mut self, params: &Value) -> Result<Value, RpcError> {
        let path = params
            .get("path")
            .and_then(Value::as_str)
            .ok_or_else(|| RpcError::new(400, "No data for argument: path"))?;
        let Some(name) = path.strip_prefix("gcodes/") else {
            return Err(RpcError::new(400, format!("Invalid root request: {path}")));
        };
        if self.filename == name && matches!(self.print_state, "printing" | "paused") {
            return Err(RpcError::new(
                403,
                format!("File {name} is currently being printed"),
            ));
        }
        if !self.remove_file(name) {
            return Err(RpcError::new(404, format!("File {path} does not exist")));
        }
        Ok(json!({
            "item": {"path": name, "root": "gcodes", "size": 0, "modified": 0, "permissions": ""},
            "action": "delete_file"
        }))
    }

    fn printed(&self, now: Instant) -> f64 {
        self.printed_s
            + self
                .running_since
                .map_or(0.0, |since| now.duration_since(since).as_secs_f64())
    }

    pub fn finish(&mut self) {
        if matches!(self.print_state, "printing" | "paused") {
            self.print_state = "complete";
            self.printed_s = self.duration_s;
            self.running_since = None;
            self.finish_job("completed", eventtime());
        }
    }

    pub fn fail(&mut self, message: &str) {
        self.settle(Instant::now());
        if matches!(self.print_state, "printing" | "paused") {
            self.stop("error");
            self.message = message.to_owned();
            self.finish_job("error", eventtime());
        }
    }

    /// A print started at the printer itself (its screen, a macro, another client): the file
    /// is put there first when missing.
    pub fn start_directly(&mut self, name: &str) -> Result<(), RpcError> {
        if !self.files.contains_key(name) {
            self.files.insert(name.to_owned(), 100);
        }
        self.start(&json!({ "filename": name }))
    }

    /// The full objects (all of them, or those asked for, with the fields asked for).
    pub fn status(&mut self, wanted: Option<Map<String, Value>>) -> Value {
        let now = Instant::now();
        self.settle(now);
        let all = self.objects(now);
        let Some(wanted) = wanted else {
            return Value::Object(all);
        };
        let mut out = Map::new();
        for (name, fields) in wanted {
            let Some(Value::Object(object)) = all.get(&name) else {
                continue; // Unknown objects are left out, as Moonraker does.
            };
            let picked = match fields.as_array() {
                Some(fields) => object
                    .iter()
                    .filter(|(k, _)| fields.iter().any(|f| f.as_str() == Some(k.as_str())))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
                None => object.clone(),
            };
            out.insert(name, Value::Object(picked));
        }
        Value::Object(out)
    }

    fn objects(&self, now: Instant) -> Map<String, Value> {
        let printed = self.printed(now).min(self.duration_s);
        let total = self
            .started_at
            .map_or(0.0, |s| now.duration_since(s).as_secs_f64());
        // Klipper leaves the card's position where the file ended (`complete`: 1.0) or stopped
        // (`error`); `standby` and `cancelled` (`SDCARD_RESET_FILE`) have none.
        let positioned = matches!(
            self.print_state,
            "printing" | "paused" | "complete" | "error"
        );
        let progress = if positioned && self.duration_s > 0.0 {
            (printed / self.duration_s).min(1.0)
        } else if positioned {
            1.0
        } else {
            0.0
        };
        // The file stays open while printing, paused or failed; it closes at the end and on reset.
        let open = matches!(self.print_state, "printing" | "paused" | "error");
        let file_size = self.files.get(&self.filename).copied().unwrap_or(0);
        let (state, state_message) = if self.klippy_ready {
            ("ready", "Printer is ready")
        } else {
            ("shutdown", SHUTDOWN_MESSAGE)
        };
        let mut objects = Map::new();
        objects.insert(
            "webhooks".into(),
            json!({"state": state, "state_message": state_message}),
        );
        objects.insert(
            "print_stats".into(),
            json!({
                "filename": self.filename,
                "total_duration": total,
                "print_duration": printed,
                "filament_used": printed * 10.0,
                "state": self.print_state,
                "message": self.message,
                "info": {"total_layer": null, "current_layer": null}
            }),
        );
        objects.insert(
            "virtual_sdcard".into(),
            json!({
                "file_path": if open { json!(format!("/home/pi/printer_data/gcodes/{}", self.filename)) } else { Value::Null },
                "progress": progress,
                "is_active": self.print_state == "printing",
                "file_position": (progress * file_size as f64).round(),
                "file_size": file_size
            }),
        );
        objects.insert(
            "extruder".into(),
            json!({
                "temperature": self.extruder_target.max(AMBIENT),
                "target": self.extruder_target,
                "power": 0.0,
                "can_extrude": self.extruder_target >= 170.0,
                "pressure_advance": 0.0,
                "smooth_time": 0.04
            }),
        );
        objects.insert(
            "heater_bed".into(),
            json!({
                "temperature": self.bed_target.max(AMBIENT),
                "target": self.bed_target,
                "power": 0.0
            }),
        );
        objects
    }

    fn ready(&self) -> Result<(), RpcError> {
        if self.klippy_ready {
            Ok(())
        } else {
            Err(RpcError::new(400, "Printer is shutdown"))
        }
    }

    fn start(&mut self, params: &Value) -> Result<(), RpcError> {
        self.ready()?;
        let name = params
            .get("filename")
            .and_then(Value::as_str)
            .ok_or_else(|| RpcError::new(400, "No data for argument: filename"))?;
        self.settle(Instant::now());
        if matches!(self.print_state, "printing" | "paused") {
            return Err(RpcError::new(400, "SD busy"));
        }
        if !self.files.contains_key(name) || !klipper_opens(name) {
            return Err(RpcError::new(
                400,
                format!("Unable to open file \"{name}\""),
            ));
        }
        let now = Instant::now();
        self.print_state = "printing";
        self.filename = name.to_owned();
        self.message.clear();
        self.printed_s = 0.0;
        self.running_since = Some(now);
        self.started_at = Some(now);
        self.add_job();
        Ok(())
    }

    /// Klipper answers "ok" to PAUSE, RESUME and CANCEL_PRINT whatever the state.
    fn pause(&mut self) {
        self.settle(Instant::now());
        if self.print_state == "printing" {
            self.stop("paused");
        }
    }

    fn resume(&mut self) {
        if self.print_state == "paused" {
            self.print_state = "printing";
            self.running_since = Some(Instant::now());
        }
    }

    fn cancel(&mut self) {
        self.settle(Instant::now());
        if matches!(self.print_state, "printing" | "paused") {
            self.stop("cancelled");
            self.extruder_target = 0.0;
            self.bed_target = 0.0;
            self.finish_job("cancelled", eventtime());
        }
    }

    fn stop(&mut self, state: &'static str) {
        self.printed_s = self.printed(Instant::now());
        self.running_since = None;
        self.print_state = state;
    }

    fn emergency_stop(&mut self) {
        self.settle(Instant::now());
        if matches!(self.print_state, "printing" | "paused") {
            self.stop("error");
            self.message = "Shutdown due to webhooks request".into();
            self.finish_job("klippy_shutdown", eventtime());
        }
        self.klippy_ready = false;
        self.extruder_target = 0.0;
        self.bed_target = 0.0;
        self.events.push(Event::KlippyShutdown);
    }

    /// A firmware restart: Klipper comes back ready with no print loaded; Moonraker's files and
    /// job history stay.
    fn restart(&mut self) {
        let kept = Self {
            files: std::mem::take(&mut self.files),
            duration_s: self.duration_s,
            scripts: std::mem::take(&mut self.scripts),
            jobs: std::mem::take(&mut self.jobs),
            next_job_id: self.next_job_id,
            events: std::mem::take(&mut self.events),
            ..Self::new()
        };
        *self = kept;
        self.events.push(Event::KlippyRestarted);
    }

    fn script(&mut self, params: &Value) -> Result<(), RpcError> {
        let script = params
            .get("script")
            .and_then(Value::as_str)
            .ok_or_else(|| RpcError::new(400, "No data for argument: script"))?;
        self.ready()?;
        for line in script.lines() {
            self.scripts.push(line.to_owned());
            let code = line.split(';').next().unwrap_or_default();
            let mut words = code.split_ascii_whitespace();
            let command = words.next().unwrap_or_default().to_ascii_uppercase();
            let value = words
                .find_map(|w| w.strip_prefix(['S', 's']))
                .and_then(|v| v.parse::<f64>().ok());
            match (command.as_str(), value) {
                ("M104" | "M109", Some(t)) => self.extruder_target = t,
                ("M140" | "M190", Some(t)) => self.bed_target = t,
                ("M112", _) => {
                    self.emergency_stop();
                    break;
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn server_info(&self) -> Value {
        json!({
            "klippy_connected": true,
            "klippy_state": if self.klippy_ready { "ready" } else { "shutdown" },
            "components": ["klippy_connection", "file_manager", "authorization", "websockets"],
            "failed_components": [],
            "registered_directories": ["config", "logs", "gcodes"],
            "warnings": [],
            "websocket_count": 0,
            "moonraker_version": "v0.9.3-fake",
            "api_version": [1, 5, 0],
            "api_version_string": "1.5.0"
        })
    }

    fn printer_info(&self) -> Value {
        let (state, message) = if self.klippy_ready {
            ("ready", "Printer is ready")
        } else {
            ("shutdown", SHUTDOWN_MESSAGE)
        };
        json!({
            "state": state,
            "state_message": message,
            "hostname": "fake-moonraker",
            "software_version": "v0.12.0-fake",
            "cpu_info": "fake"
        })
    }
}

const OBJECT_NAMES: [&str; 5] = [
    "webhooks",
    "print_stats",
    "virtual_sdcard",
    "extruder",
    "heater_bed",
];

/// `{"objects": {...}}` from the parameters, if any.
pub(super) fn requested(params: &Value) -> Option<Map<String, Value>> {
    params.get("objects").and_then(Value::as_object).cloned()
}

/// Klipper's monotonic clock, roughly.
pub(super) fn eventtime() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// The fields of `new` that differ from `old`, object by object (what a status update carries).
pub(super) fn changes(old: &Value, new: &Value) -> Map<String, Value> {
    let mut out = Map::new();
    let Some(new) = new.as_object() else {
        return out;
    };
    for (name, fields) in new {
        let before = old.get(name);
        let Some(fields) = fields.as_object() else {
            continue;
        };
        let changed: Map<String, Value> = fields
            .iter()
            .filter(|(k, v)| before.and_then(|b| b.get(k.as_str())) != Some(*v))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if !changed.is_empty() {
            out.insert(name.clone(), Value::Object(changed));
        }
    }
    out
}
