//! Klipper's printer objects (`webhooks`, `print_stats`, `virtual_sdcard`, `extruder`,
//! `heater_bed`) and Moonraker's latest history job → a [`Snapshot`]; merging the partial
//! updates Moonraker pushes; history jobs → [`PastJob`]s.

use serde_json::{Map, Value};

use crate::{
    DriverError, Heater, JobPhase, PastJob, RemoteJob, RemoteStatus, Snapshot, Temperatures,
};

/// Klipper's own state (`webhooks.state`): ready, startup, shutdown, error.
pub(super) fn klippy_state(status: &Value) -> Option<&str> {
    status.pointer("/webhooks/state").and_then(Value::as_str)
}

/// Folds a `notify_status_update` (only the fields that changed) into the full objects.
pub(super) fn merge(status: &mut Value, update: &Value) {
    let (Some(status), Some(update)) = (status.as_object_mut(), update.as_object()) else {
        return;
    };
    for (object, fields) in update {
        match (status.get_mut(object), fields) {
            (Some(Value::Object(current)), Value::Object(fields)) => {
                for (field, value) in fields {
                    current.insert(field.clone(), value.clone());
                }
            }
            _ => {
                status.insert(object.clone(), fields.clone());
            }
        }
    }
}

/// What the objects say, as a snapshot; the job carries the ID of `latest`, Moonraker's newest
/// history job, when both describe the same job. Klipper not ready: `Error` (shutdown, error)
/// or `Unreachable` (starting, disconnected).
pub fn snapshot_from_status(
    status: &Value,
    latest: Option<&PastJob>,
) -> Result<Snapshot, DriverError> {
    let Some(objects) = status.as_object() else {
        return Err(DriverError::Protocol(
            "printer status is not an object".into(),
        ));
    };
    let webhooks = object(objects, "webhooks")
        .ok_or_else(|| DriverError::Protocol("printer status without webhooks".into()))?;
    let klippy_error = match text(webhooks, "state") {
        "ready" => None,
        "shutdown" | "error" => Some(first_line(text(webhooks, "state_message"))),
        "startup" => return Err(DriverError::Unreachable("Klipper is starting up".into())),
        other => {
            return Err(DriverError::Unreachable(format!(
                "Klipper is not ready ({})",
                if other.is_empty() { "no state" } else { other }
            )));
        }
    };
    let (mut status, phase) = print_state(objects)?;
    let job = phase.map(|phase| {
        // A print that was running when Klipper shut down is lost.
        let phase = match (phase, &klippy_error) {
            (JobPhase::Running | JobPhase::Paused, Some(_)) => JobPhase::Failed,
            (phase, _) => phase,
        };
        let mut job = remote_job(objects, phase);
        job.job_id = latest
            .filter(|l| same_job(&job, l))
            .map(|l| l.job_id.clone());
        job
    });
    if let Some(message) = klippy_error {
        status = RemoteStatus::Error { message };
    }
    Ok(Snapshot {
        status,
        job,
        temperatures: Temperatures {
            tool: heater(objects, "extruder"),
            bed: heater(objects, "heater_bed"),
        },
    })
}

/// `print_stats.state` → printer status and job phase (`standby`: no job).
fn print_state(
    objects: &Map<String, Value>,
) -> Result<(RemoteStatus, Option<JobPhase>), DriverError> {
    let stats = object(objects, "print_stats")
        .ok_or_else(|| DriverError::Protocol("printer status without print_stats".into()))?;
    Ok(match text(stats, "state") {
        "standby" => (RemoteStatus::Ready, None),
        "printing" => (RemoteStatus::Printing, Some(JobPhase::Running)),
        "paused" => (RemoteStatus::Paused, Some(JobPhase::Paused)),
        "complete" => (RemoteStatus::Ready, Some(JobPhase::Completed)),
        "cancelled" => (RemoteStatus::Ready, Some(JobPhase::Cancelled)),
        // A failed print leaves Klipper ready for the next one; the job shows the failure.
        "error" => (RemoteStatus::Ready, Some(JobPhase::Failed)),
        other => {
            return Err(DriverError::Protocol(format!(
                "unknown print_stats.state {other:?}"
            )));
        }
    })
}

/// Whether Klipper's job and Moonraker's newest history job are one: same file and agreeing on
/// whether it is over and how. Each side lags the other by up to an update (the history
/// records a start once Moonraker sees Klipper printing), so a job that has just started can
/// meet the history's previous job of the same file: that pair is not the same job.
fn same_job(job: &RemoteJob, latest: &PastJob) -> bool {
    let running = |phase| matches!(phase, JobPhase::Running | JobPhase::Paused);
    job.file_name == latest.file_name
        && (job.phase == latest.phase || running(job.phase) && running(latest.phase))
}

fn remote_job(objects: &Map<String, Value>, phase: JobPhase) -> RemoteJob {
    let stats = object(objects, "print_stats");
    let elapsed_s = stats
        .and_then(|s| number(s, "print_duration"))
        .unwrap_or(0.0);
    let progress = object(objects, "virtual_sdcard")
        .and_then(|v| number(v, "progress"))
        .unwrap_or(0.0)
        .clamp(0.0, 1.0);
    let (progress, remaining_s) = match phase {
        JobPhase::Completed => (1.0, Some(0.0)),
        JobPhase::Running | JobPhase::Paused if progress > 0.0 => {
            (progress, Some((elapsed_s / progress - elapsed_s).max(0.0)))
        }
        _ => (progress, None),
    };
    RemoteJob {
        job_id: None,
        file_name: stats
            .map(|s| text(s, "filename"))
            .unwrap_or_default()
            .to_owned(),
        phase,
        progress,
        elapsed_s,
        remaining_s,
        // Klipper's reason for an `error` (it clears the message when a print starts).
        message: stats
            .map(|s| bounded(text(s, "message")))
            .unwrap_or_default(),
    }
}

/// Most jobs read from Moonraker's history at once.
pub(super) const HISTORY_PAGE: usize = 50;

/// A job of `server.history.list` (`job_id`, `filename`, `status`, `start_time`, `end_time`,
/// `print_duration`); `None` when it lacks what Farmhand needs.
pub(super) fn past_job(job: &Value) -> Option<PastJob> {
    let job = job.as_object()?;
    let status = text(job, "status");
    let (phase, message) = match status {
        "in_progress" => (JobPhase::Running, String::new()),
        "completed" => (JobPhase::Completed, String::new()),
        "cancelled" => (JobPhase::Cancelled, String::new()),
        "error" => (JobPhase::Failed, String::new()),
        // klippy_shutdown, klippy_disconnect, server_exit, interrupted, …
        other => (
            JobPhase::Failed,
            bounded(&format!("the printer's job history records it as {other}")),
        ),
    };
    let job_id = text(job, "job_id");
    if job_id.is_empty() {
        return None;
    }
    Some(PastJob {
        job_id: job_id.to_owned(),
        file_name: text(job, "filename").to_owned(),
        phase,
        started_at: epoch_time(number(job, "start_time")?)?,
        ended_at: number(job, "end_time").and_then(epoch_time),
        elapsed_s: number(job, "print_duration").unwrap_or(0.0).max(0.0),
        message,
    })
}

/// Moonraker's times: seconds since the Unix epoch (fractional); anything before 1970 or past
/// year 9999 is not a time a printer gives.
fn epoch_time(seconds: f64) -> Option<domain::Timestamp> {
    const LATEST: f64 = 253_402_300_800.0; // 10000-01-01
    if !(0.0..LATEST).contains(&seconds) {
        return None;
    }
    // In range, so the product fits an i64 (about 2.5e17 at most).
    Some(domain::Timestamp::from_micros(
        (seconds * 1e6).round() as i64
    ))
}

/// A message from the printer as Farmhand keeps it: the first line, at most 300 characters.
fn bounded(message: &str) -> String {
    let line = message.lines().next().unwrap_or_default().trim();
    line.chars().take(300).collect()
}

fn heater(objects: &Map<String, Value>, name: &str) -> Option<Heater> {
    let heater = object(objects, name)?;
    Some(Heater {
        actual: number(heater, "temperature")?,
        target: number(heater, "target").unwrap_or(0.0),
    })
}

fn object<'a>(objects: &'a Map<String, Value>, name: &str) -> Option<&'a Map<String, Value>> {
    objects.get(name).and_then(Value::as_object)
}

fn text<'a>(object: &'a Map<String, Value>, field: &str) -> &'a str {
    object
        .get(field)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

fn number(object: &Map<String, Value>, field: &str) -> Option<f64> {
    object
        .get(field)
        .and_then(Value::as_f64)
        .filter(|v| v.is_finite())
}

/// Klipper's shutdown messages run over several lines of advice; the first says what happened.
fn first_line(message: &str) -> String {
    let line = message.lines().next().unwrap_or_default().trim();
    if line.is_empty() {
        "Klipper reports an error".into()
    } else {
        line.chars().take(300).collect()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn snapshot(status: &Value) -> Result<Snapshot, DriverError> {
        snapshot_from_status(status, None)
    }

    fn status(webhooks: &str, print: &str, progress: f64, duration: f64) -> Value {
        json!({
            "webhooks": {"state": webhooks, "state_message": "Shutdown due to M112 command\nOnce the underlying issue is corrected…"},
            "print_stats": {"filename": "cube.gcode", "print_duration": duration, "total_duration": duration + 3.0,
                            "filament_used": 1.5, "state": print, "message": "", "info": {"total_layer": null, "current_layer": null}},
            "virtual_sdcard": {"file_path": "/home/pi/printer_data/gcodes/cube.gcode", "progress": progress,
                               "is_active": print == "printing", "file_position": 100, "file_size": 400},
            "extruder": {"temperature": 210.5, "target": 210.0, "power": 0.4},
            "heater_bed": {"temperature": 59.8, "target": 60.0, "power": 0.2}
        })
    }

    #[test]
    fn printing_maps_progress_and_remaining_time() {
        let s = snapshot(&status("ready", "printing", 0.25, 30.0)).unwrap();
        assert_eq!(s.status, RemoteStatus::Printing);
        let job = s.job.unwrap();
        assert_eq!(
            (job.file_name.as_str(), job.phase),
            ("cube.gcode", JobPhase::Running)
        );
        assert_eq!(
            (job.progress, job.elapsed_s, job.remaining_s),
            (0.25, 30.0, Some(90.0))
        );
        assert_eq!(
            s.temperatures.tool,
            Some(Heater {
                actual: 210.5,
                target: 210.0
            })
        );
        assert_eq!(s.temperatures.bed.unwrap().target, 60.0);
    }

    #[test]
    fn every_print_state_maps() {
        let cases = [
            ("standby", RemoteStatus::Ready, None),
            ("paused", RemoteStatus::Paused, Some(JobPhase::Paused)),
            ("complete", RemoteStatus::Ready, Some(JobPhase::Completed)),
            ("cancelled", RemoteStatus::Ready, Some(JobPhase::Cancelled)),
            ("error", RemoteStatus::Ready, Some(JobPhase::Failed)),
        ];
        for (state, expected, phase) in cases {
            let s = snapshot(&status("ready", state, 0.5, 10.0)).unwrap();
            assert_eq!(s.status, expected, "{state}");
            assert_eq!(s.job.as_ref().map(|j| j.phase), phase, "{state}");
        }
        let done = snapshot(&status("ready", "complete", 0.0, 10.0)).unwrap();
        let job = done.job.unwrap();
        assert_eq!((job.progress, job.remaining_s), (1.0, Some(0.0)));
        let bad = snapshot(&status("ready", "dancing", 0.5, 10.0));
        assert!(matches!(bad, Err(DriverError::Protocol(_))));
    }

    #[test]
    fn klippy_states_map_to_errors_or_unreachable() {
        let s = snapshot(&status("shutdown", "printing", 0.5, 10.0)).unwrap();
        assert_eq!(
            s.status,
            RemoteStatus::Error {
                message: "Shutdown due to M112 command".into()
            }
        );
        assert_eq!(
            s.job.unwrap().phase,
            JobPhase::Failed,
            "the running print is lost"
        );
        let starting = snapshot(&status("startup", "standby", 0.0, 0.0));
        assert!(matches!(starting, Err(DriverError::Unreachable(_))));
        let gone = snapshot(&status("disconnected", "standby", 0.0, 0.0));
        assert!(matches!(gone, Err(DriverError::Unreachable(_))));
        for junk in [
            json!([]),
            json!({}),
            json!({"webhooks": {"state": "ready"}}),
        ] {
            assert!(matches!(
                snapshot_from_status(&junk, None),
                Err(DriverError::Protocol(_))
            ));
        }
    }

    #[test]
    fn the_newest_history_job_names_the_job_only_when_both_agree() {
        let newest = |status: &str| {
            past_job(&json!({"job_id": "00002A", "filename": "cube.gcode", "status": status,
                             "start_time": 1_700_000_000.5, "end_time": null, "print_duration": 3.0}))
            .unwrap()
        };
        let id = |print: &str, history: &str| {
            snapshot_from_status(&status("ready", print, 0.5, 10.0), Some(&newest(history)))
                .unwrap()
                .job
                .unwrap()
                .job_id
        };
        let ours = Some("00002A".to_owned());
        assert_eq!(id("printing", "in_progress"), ours);
        assert_eq!(id("paused", "in_progress"), ours);
        assert_eq!(id("complete", "completed"), ours);
        assert_eq!(id("error", "error"), ours);
        // One side has not caught up with the other: which job it is stays unsaid.
        assert_eq!(id("printing", "completed"), None, "a reprint just started");
        assert_eq!(
            id("complete", "in_progress"),
            None,
            "the record lags the end"
        );
        let mut other_file = status("ready", "printing", 0.5, 10.0);
        other_file["print_stats"]["filename"] = json!("other.gcode");
        let s = snapshot_from_status(&other_file, Some(&newest("in_progress"))).unwrap();
        assert_eq!(s.job.unwrap().job_id, None);
    }

    #[test]
    fn history_jobs_map_to_past_jobs() {
        let job = |status: &str| {
            past_job(
                &json!({"job_id": "000001", "filename": "a.gcode", "status": status,
                             "start_time": 1_700_000_000.25, "end_time": 1_700_000_100.5,
                             "print_duration": 90.0}),
            )
        };
        let a = job("completed").unwrap();
        assert_eq!((a.phase, a.elapsed_s), (JobPhase::Completed, 90.0));
        assert_eq!(a.started_at.micros(), 1_700_000_000_250_000);
        assert_eq!(a.ended_at.unwrap().micros(), 1_700_000_100_500_000);
        assert_eq!(job("cancelled").unwrap().phase, JobPhase::Cancelled);
        assert_eq!(job("in_progress").unwrap().phase, JobPhase::Running);
        let shutdown = job("klippy_shutdown").unwrap();
        assert_eq!(shutdown.phase, JobPhase::Failed);
        assert!(shutdown.message.contains("klippy_shutdown"));
        for junk in [
            json!({"filename": "a.gcode", "status": "completed", "start_time": 1.0}),
            json!({"job_id": "1", "filename": "a.gcode", "status": "completed", "start_time": -5.0}),
            json!({"job_id": "1", "filename": "a.gcode", "status": "completed", "start_time": 1e300}),
            json!("junk"),
        ] {
            assert_eq!(past_job(&junk), None, "{junk}");
        }
    }

    #[test]
    fn updates_merge_field_by_field() {
        let mut s = status("ready", "printing", 0.25, 30.0);
        merge(
            &mut s,
            &json!({"virtual_sdcard": {"progress": 0.5}, "print_stats": {"print_duration": 60.0}, "new_object": {"a": 1}}),
        );
        assert_eq!(s["virtual_sdcard"]["progress"], 0.5);
        assert_eq!(
            s["virtual_sdcard"]["file_size"], 400,
            "untouched fields stay"
        );
        assert_eq!(s["print_stats"]["print_duration"], 60.0);
        assert_eq!(s["new_object"]["a"], 1);
        merge(&mut s, &json!("not an object"));
        assert_eq!(klippy_state(&s), Some("ready"));
    }
}
