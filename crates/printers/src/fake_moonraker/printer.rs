//! The fake's Klipper: print state, heaters and files, and the JSON-RPC methods Farmhand uses,
//! answering with the shapes Moonraker's documentation shows.

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
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Event {
    KlippyShutdown,
    KlippyRestarted,
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
        }
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
    pub fn call(
        &mut self,
        method: &str,
        params: &Value,
        events: &mut Vec<Event>,
    ) -> Result<Value, RpcError> {
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
                self.emergency_stop(events);
                ok()
            }
            "printer.firmware_restart" | "printer.restart" => {
                self.restart(events);
                ok()
            }
            "printer.gcode.script" => self.script(params, events).and_then(|()| ok()),
            _ => Err(RpcError::new(-32601, "Method not found")),
        }
    }

    /// Completes a print whose time ran out.
    fn settle(&mut self, now: Instant) {
        if self.print_state == "printing" && self.printed(now) >= self.duration_s {
            self.print_state = "complete";
            self.printed_s = self.duration_s;
            self.running_since = None;
        }
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
        }
    }

    pub fn fail(&mut self, message: &str) {
        self.settle(Instant::now());
        if matches!(self.print_state, "printing" | "paused") {
            self.stop("error");
            self.message = message.to_owned();
        }
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
        let active = matches!(self.print_state, "printing" | "paused" | "complete");
        let progress = if active && self.duration_s > 0.0 {
            (printed / self.duration_s).min(1.0)
        } else if active {
            1.0
        } else {
            0.0
        };
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
                "file_path": if self.filename.is_empty() { Value::Null } else { json!(format!("/home/pi/printer_data/gcodes/{}", self.filename)) },
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
        if !self.files.contains_key(name) {
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
        }
    }

    fn stop(&mut self, state: &'static str) {
        self.printed_s = self.printed(Instant::now());
        self.running_since = None;
        self.print_state = state;
    }

    fn emergency_stop(&mut self, events: &mut Vec<Event>) {
        self.settle(Instant::now());
        if matches!(self.print_state, "printing" | "paused") {
            self.stop("error");
            self.message = "Shutdown due to webhooks request".into();
        }
        self.klippy_ready = false;
        self.extruder_target = 0.0;
        self.bed_target = 0.0;
        events.push(Event::KlippyShutdown);
    }

    /// A firmware restart: Klipper comes back ready with no print loaded.
    fn restart(&mut self, events: &mut Vec<Event>) {
        let (files, duration_s, scripts) = (
            std::mem::take(&mut self.files),
            self.duration_s,
            std::mem::take(&mut self.scripts),
        );
        *self = Self {
            files,
            duration_s,
            scripts,
            ..Self::new()
        };
        events.push(Event::KlippyRestarted);
    }

    fn script(&mut self, params: &Value, events: &mut Vec<Event>) -> Result<(), RpcError> {
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
                    self.emergency_stop(events);
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
