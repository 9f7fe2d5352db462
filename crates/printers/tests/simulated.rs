//! The simulated printer under paused tokio time: every time and number is exact.
// Test helpers outside `#[test]` functions unwrap too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use printers::simulated::{Fault, SimulatedPrinter};
use printers::{
    AnyDriver, Connection, Driver, DriverError, DriverKind, JobPhase, RemoteStatus,
    SimulationSettings, Snapshot,
};
use tokio::time::advance;

mod common;

const SPEED: f64 = 60.0;
const EPS: f64 = 1e-6;

fn connection(speed: f64, heat_up_s: f64) -> Connection {
    Connection {
        kind: DriverKind::Simulated,
        url: None,
        secret: None,
        timeout: Duration::from_secs(5),
        profile: gcode::Profile::default(),
        simulation: SimulationSettings { speed, heat_up_s },
    }
}

fn printer(heat_up_s: f64) -> SimulatedPrinter {
    SimulatedPrinter::new(connection(SPEED, heat_up_s)).unwrap()
}

/// A few hundred moves with heater targets at the top.
fn gcode() -> common::TestFile {
    let mut text = String::from("G90\nM83\nM140 S60\nM104 S200\nG28\n");
    for i in 0..300 {
        let x = 20 + (i % 2) * 100;
        text.push_str(&format!("G1 X{x} Y{} E0.5 F3000\n", 20 + i % 7));
    }
    text.push_str("M104 S0\nM140 S0\n");
    common::TestFile::new(text.as_bytes())
}

/// Uploads the test file as `name` and returns its estimate (simulated seconds).
async fn upload(printer: &SimulatedPrinter, name: &str) -> f64 {
    printer.upload(name, &gcode()).await.unwrap();
    let estimate = printer.estimate_s(name).unwrap();
    assert!(
        estimate > 10.0,
        "a real estimate, not the 1 s fallback: {estimate}"
    );
    estimate
}

/// Real time for simulated seconds at the test speed.
fn real(simulated_s: f64) -> Duration {
    Duration::from_secs_f64(simulated_s / SPEED)
}

async fn snap(printer: &SimulatedPrinter) -> Snapshot {
    printer.snapshot().await.unwrap()
}

fn assert_close(actual: f64, expected: f64, what: &str) {
    assert!(
        (actual - expected).abs() < EPS,
        "{what}: {actual} instead of {expected}"
    );
}

fn refused(result: Result<(), DriverError>, containing: &str) {
    match result {
        Err(DriverError::Refused(message)) => assert!(
            message.contains(containing),
            "{message:?} does not mention {containing:?}"
        ),
        other => panic!("expected a refusal mentioning {containing:?}, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn progress_remaining_and_completion_are_exact_at_speed_60() {
    let p = printer(0.0);
    let estimate = upload(&p, "cube.gcode").await;
    let before = snap(&p).await;
    assert_eq!(before.status, RemoteStatus::Ready);
    assert_eq!(before.job, None, "an upload does not start anything");

    p.start("cube.gcode").await.unwrap();
    let s = snap(&p).await;
    assert_eq!(s.status, RemoteStatus::Printing);
    let job = s.job.unwrap();
    assert_eq!(
        (job.file_name.as_str(), job.phase),
        ("cube.gcode", JobPhase::Running)
    );
    assert_close(job.progress, 0.0, "progress at start");
    assert_close(job.remaining_s.unwrap(), estimate, "remaining at start");

    advance(real(estimate / 4.0)).await;
    let job = snap(&p).await.job.unwrap();
    assert_close(job.progress, 0.25, "progress at a quarter");
    assert_close(job.elapsed_s, estimate / 4.0, "elapsed at a quarter");
    assert_close(
        job.remaining_s.unwrap(),
        estimate * 0.75,
        "remaining at a quarter",
    );

    // One millisecond before the end it still prints; one after, it is complete.
    advance(real(estimate * 0.75) - Duration::from_millis(1)).await;
    assert_eq!(snap(&p).await.status, RemoteStatus::Printing);
    advance(Duration::from_millis(2)).await;
    let s = snap(&p).await;
    assert_eq!(s.status, RemoteStatus::Ready);
    let job = s.job.unwrap();
    assert_eq!(job.phase, JobPhase::Completed);
    assert_close(job.progress, 1.0, "progress when complete");
    assert_close(job.elapsed_s, estimate, "elapsed when complete");
    assert_close(job.remaining_s.unwrap(), 0.0, "remaining when complete");

    // The finished job stays visible as the last job.
    advance(Duration::from_secs(3600)).await;
    assert_eq!(snap(&p).await.job.unwrap().phase, JobPhase::Completed);
    // And the printer takes the next one.
    p.start("cube.gcode").await.unwrap();
    assert_eq!(snap(&p).await.job.unwrap().phase, JobPhase::Running);
}

#[tokio::test(start_paused = true)]
async fn heat_up_ramps_temperatures_before_progress_starts() {
    let heat_up = 30.0;
    let p = printer(heat_up);
    let estimate = upload(&p, "cube.gcode").await;
    p.start("cube.gcode").await.unwrap();

    advance(real(heat_up / 2.0)).await;
    let s = snap(&p).await;
    assert_eq!(s.status, RemoteStatus::Printing);
    let job = s.job.unwrap();
    assert_close(job.progress, 0.0, "no progress while heating");
    assert_close(
        job.remaining_s.unwrap(),
        estimate,
        "remaining while heating",
    );
    let (tool, bed) = (s.temperatures.tool.unwrap(), s.temperatures.bed.unwrap());
    assert_close(tool.target, 200.0, "tool target from the file");
    assert_close(bed.target, 60.0, "bed target from the file");
    let ambient = gcode::Profile::default().ambient_temperature;
    assert_close(tool.actual, (ambient + 200.0) / 2.0, "tool halfway");
    assert_close(bed.actual, (ambient + 60.0) / 2.0, "bed halfway");

    advance(real(heat_up / 2.0)).await;
    let s = snap(&p).await;
    assert_close(s.temperatures.tool.unwrap().actual, 200.0, "tool at target");
    assert_close(s.temperatures.bed.unwrap().actual, 60.0, "bed at target");
    assert_close(
        s.job.unwrap().progress,
        0.0,
        "progress starts after heating",
    );

    advance(real(estimate / 2.0)).await;
    assert_close(snap(&p).await.job.unwrap().progress, 0.5, "half printed");
    advance(real(estimate / 2.0) + Duration::from_millis(1)).await;
    let s = snap(&p).await;
    assert_eq!(s.job.unwrap().phase, JobPhase::Completed);
    assert_close(
        s.temperatures.tool.unwrap().target,
        0.0,
        "heaters off after the print",
    );
}

#[tokio::test(start_paused = true)]
async fn pause_and_resume_shift_completion() {
    let p = printer(0.0);
    let estimate = upload(&p, "cube.gcode").await;
    p.start("cube.gcode").await.unwrap();
    advance(real(estimate / 2.0)).await;

    p.pause().await.unwrap();
    let s = snap(&p).await;
    assert_eq!(s.status, RemoteStatus::Paused);
    assert_eq!(s.job.as_ref().unwrap().phase, JobPhase::Paused);
    p.pause().await.unwrap(); // Pausing a paused printer changes nothing, like OctoPrint.

    // An hour of pause: no progress.
    advance(Duration::from_secs(3600)).await;
    let job = snap(&p).await.job.unwrap();
    assert_close(job.progress, 0.5, "progress frozen while paused");
    assert_close(
        job.remaining_s.unwrap(),
        estimate / 2.0,
        "remaining frozen while paused",
    );

    p.resume().await.unwrap();
    assert_eq!(snap(&p).await.status, RemoteStatus::Printing);
    advance(real(estimate / 2.0) - Duration::from_millis(1)).await;
    assert_eq!(snap(&p).await.job.unwrap().phase, JobPhase::Running);
    advance(Duration::from_millis(2)).await;
    assert_eq!(snap(&p).await.job.unwrap().phase, JobPhase::Completed);
}

#[tokio::test(start_paused = true)]
async fn cancel_ends_the_job_and_refusals_are_clear() {
    let p = printer(0.0);
    let estimate = upload(&p, "cube.gcode").await;

    refused(p.pause().await, "not printing");
    refused(p.resume().await, "not paused");
    refused(p.cancel().await, "neither printing nor paused");
    refused(
        p.start("missing.gcode").await,
        "no file named \"missing.gcode\"",
    );

    p.start("cube.gcode").await.unwrap();
    refused(p.start("cube.gcode").await, "busy with cube.gcode");
    refused(p.resume().await, "not paused");
    advance(real(estimate / 5.0)).await;
    p.pause().await.unwrap();
    refused(p.start("cube.gcode").await, "busy");

    p.cancel().await.unwrap();
    let s = snap(&p).await;
    assert_eq!(s.status, RemoteStatus::Ready);
    let job = s.job.unwrap();
    assert_eq!(job.phase, JobPhase::Cancelled);
    assert_close(job.progress, 0.2, "progress where it was cancelled");
    assert_eq!(job.remaining_s, None);
    refused(p.cancel().await, "neither printing nor paused");

    // Time passing changes nothing about a cancelled job.
    advance(real(estimate)).await;
    assert_eq!(snap(&p).await.job.unwrap().phase, JobPhase::Cancelled);
}

#[tokio::test(start_paused = true)]
async fn emergency_stop_holds_until_connect() {
    let p = printer(0.0);
    upload(&p, "cube.gcode").await;
    p.start("cube.gcode").await.unwrap();
    advance(Duration::from_secs(1)).await;

    p.emergency_stop().await.unwrap();
    let s = snap(&p).await;
    assert_eq!(
        s.status,
        RemoteStatus::Error {
            message: "emergency stop".into()
        }
    );
    assert_eq!(s.job.as_ref().unwrap().phase, JobPhase::Failed);
    refused(p.start("cube.gcode").await, "emergency stop");
    refused(p.preheat(Some(200.0), None).await, "reconnect");

    advance(Duration::from_secs(3600)).await;
    assert!(matches!(snap(&p).await.status, RemoteStatus::Error { .. }));

    let s = p.connect().await.unwrap();
    assert_eq!(s.status, RemoteStatus::Ready);
    assert_eq!(
        s.job.unwrap().phase,
        JobPhase::Failed,
        "the last job stays visible"
    );
    p.start("cube.gcode").await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn an_injected_failure_fails_the_job_until_connect() {
    let p = printer(0.0);
    upload(&p, "cube.gcode").await;
    p.start("cube.gcode").await.unwrap();
    advance(Duration::from_millis(100)).await;

    p.inject(Fault::Fail {
        message: "thermal runaway".into(),
    });
    let s = snap(&p).await;
    assert_eq!(
        s.status,
        RemoteStatus::Error {
            message: "thermal runaway".into()
        }
    );
    assert_eq!(s.job.unwrap().phase, JobPhase::Failed);
    refused(p.cancel().await, "thermal runaway");
    assert_eq!(p.connect().await.unwrap().status, RemoteStatus::Ready);
}

#[tokio::test(start_paused = true)]
async fn a_disconnect_hides_a_job_that_finishes_meanwhile() {
    let p = printer(0.0);
    let estimate = upload(&p, "cube.gcode").await;
    p.start("cube.gcode").await.unwrap();
    advance(real(estimate * 0.9)).await;

    p.inject(Fault::Disconnect { for_s: estimate });
    for result in [
        p.snapshot().await.map(|_| ()),
        p.connect().await.map(|_| ()),
    ] {
        assert!(
            matches!(result, Err(DriverError::Unreachable(_))),
            "{result:?}"
        );
    }
    assert!(matches!(p.cancel().await, Err(DriverError::Unreachable(_))));
    assert!(matches!(
        p.upload("x.gcode", &gcode()).await,
        Err(DriverError::Unreachable(_))
    ));

    // The job finishes while nobody can see it.
    advance(real(estimate * 0.5)).await;
    assert!(matches!(
        p.snapshot().await,
        Err(DriverError::Unreachable(_))
    ));
    advance(real(estimate * 0.5)).await;

    let s = p.connect().await.unwrap();
    assert_eq!(s.status, RemoteStatus::Ready);
    let job = s.job.unwrap();
    assert_eq!(job.phase, JobPhase::Completed);
    assert_close(job.elapsed_s, estimate, "the whole file was printed");
}

#[tokio::test(start_paused = true)]
async fn the_printer_can_pause_itself() {
    let p = printer(0.0);
    let estimate = upload(&p, "cube.gcode").await;
    p.inject(Fault::Pause); // Not printing: nothing to pause.
    assert_eq!(snap(&p).await.status, RemoteStatus::Ready);

    p.start("cube.gcode").await.unwrap();
    advance(real(estimate / 2.0)).await;
    p.inject(Fault::Pause);
    assert_eq!(snap(&p).await.status, RemoteStatus::Paused);
    advance(real(estimate)).await;
    assert_close(
        snap(&p).await.job.unwrap().progress,
        0.5,
        "paused by the printer",
    );
    p.resume().await.unwrap();
    advance(real(estimate / 2.0) + Duration::from_millis(1)).await;
    assert_eq!(snap(&p).await.job.unwrap().phase, JobPhase::Completed);
}

#[tokio::test(start_paused = true)]
async fn a_local_start_shows_a_job_farmhand_did_not_send() {
    let p = printer(10.0);
    p.inject(Fault::StartLocal {
        file_name: "from-the-sd-card.gcode".into(),
        duration_s: 120.0,
    });
    let s = snap(&p).await;
    assert_eq!(s.status, RemoteStatus::Printing);
    let job = s.job.unwrap();
    assert_eq!(job.file_name, "from-the-sd-card.gcode");
    assert_close(
        job.remaining_s.unwrap(),
        120.0,
        "remaining of a local print",
    );

    // While it prints, another local start is ignored and Farmhand's start is refused.
    p.inject(Fault::StartLocal {
        file_name: "other.gcode".into(),
        duration_s: 5.0,
    });
    assert_eq!(
        snap(&p).await.job.unwrap().file_name,
        "from-the-sd-card.gcode"
    );
    refused(p.start("from-the-sd-card.gcode").await, "busy");

    advance(real(10.0 + 60.0)).await;
    assert_close(
        snap(&p).await.job.unwrap().progress,
        0.5,
        "half of a local print",
    );
    advance(real(60.0) + Duration::from_millis(1)).await;
    assert_eq!(snap(&p).await.job.unwrap().phase, JobPhase::Completed);
}

#[tokio::test(start_paused = true)]
async fn gcode_and_preheat_set_heater_targets() {
    let p = printer(0.0);
    let lines = [
        "M104 S210".to_string(),
        "M140 S55 ; bed".into(),
        "G28".into(),
    ];
    p.send_gcode(&lines).await.unwrap();
    p.preheat(None, Some(70.0)).await.unwrap();
    assert_eq!(
        p.sent_gcode(),
        ["M104 S210", "M140 S55 ; bed", "G28", "M140 S70"]
    );
    let s = snap(&p).await;
    let (tool, bed) = (s.temperatures.tool.unwrap(), s.temperatures.bed.unwrap());
    assert_close(tool.target, 210.0, "tool target");
    assert_close(bed.target, 70.0, "bed target");

    // The profile's heating rate, in simulated time: MK3S hot end 2.5 °C/s.
    let ambient = gcode::Profile::default().ambient_temperature;
    advance(real(10.0)).await;
    let tool = snap(&p).await.temperatures.tool.unwrap();
    assert_close(tool.actual, ambient + 25.0, "tool after 10 s of heating");
    advance(real(3600.0)).await;
    assert_close(
        snap(&p).await.temperatures.tool.unwrap().actual,
        210.0,
        "tool at target",
    );

    refused(p.preheat(Some(f64::NAN), None).await, "not a temperature");
    p.send_gcode(&["M112".to_string()]).await.unwrap();
    assert!(matches!(snap(&p).await.status, RemoteStatus::Error { .. }));
}

#[tokio::test(start_paused = true)]
async fn files_without_moves_are_accepted_with_a_one_second_estimate() {
    let p = printer(0.0);
    p.upload("empty.gcode", &common::TestFile::new(b""))
        .await
        .unwrap();
    p.upload(
        "junk.gcode",
        &common::TestFile::new(b"\xff\xfe not g-code \0\n"),
    )
    .await
    .unwrap();
    assert_eq!(p.estimate_s("empty.gcode"), Some(1.0));
    assert_eq!(p.estimate_s("junk.gcode"), Some(1.0));
    refused(p.upload("", &gcode()).await.map(drop), "name");

    p.start("empty.gcode").await.unwrap();
    advance(Duration::from_secs_f64(1.0 / SPEED) + Duration::from_millis(1)).await;
    assert_eq!(snap(&p).await.job.unwrap().phase, JobPhase::Completed);
}

#[tokio::test(start_paused = true)]
async fn any_driver_builds_and_checks_the_simulator() {
    for (speed, heat_up) in [
        (0.0, 0.0),
        (-1.0, 0.0),
        (f64::NAN, 0.0),
        (f64::INFINITY, 0.0),
        (1e12, 0.0),
        (1.0, -5.0),
        (1.0, f64::NAN),
        (1.0, f64::INFINITY),
        (1.0, 1e12),
    ] {
        let result = AnyDriver::new(connection(speed, heat_up));
        assert!(
            matches!(result, Err(DriverError::Config(_))),
            "speed {speed}, heat-up {heat_up}"
        );
    }
    let driver = AnyDriver::new(connection(SPEED, 0.0)).unwrap();
    assert_eq!(driver.kind(), DriverKind::Simulated);
    let sim = driver.as_simulated().unwrap();
    sim.inject(Fault::StartLocal {
        file_name: "demo.gcode".into(),
        duration_s: 60.0,
    });
    assert_eq!(
        driver.snapshot().await.unwrap().status,
        RemoteStatus::Printing
    );
    // Polling-only: changed() never resolves.
    let waited = tokio::time::timeout(Duration::from_secs(10), driver.changed()).await;
    assert!(waited.is_err());
}

#[tokio::test(start_paused = true)]
async fn ten_thousand_printers_in_one_process() {
    let printers: Vec<AnyDriver> = (0..10_000)
        .map(|_| AnyDriver::new(connection(SPEED, 5.0)).unwrap())
        .collect();
    for (i, p) in printers.iter().enumerate() {
        p.as_simulated().unwrap().inject(Fault::StartLocal {
            file_name: format!("job-{i}.gcode"),
            duration_s: 60.0 + i as f64,
        });
    }
    advance(Duration::from_secs(2)).await;
    let mut printing = 0;
    for p in &printers {
        if p.snapshot().await.unwrap().status == RemoteStatus::Printing {
            printing += 1;
        }
    }
    // 2 s real = 120 s simulated: heat-up 5 s + 60..10059 s of printing.
    assert_eq!(printing, 10_000 - 56);
}
