//! The Moonraker driver against the fake Moonraker, over real sockets.
// Test helpers outside `#[test]` functions unwrap too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use printers::fake_moonraker::FakeMoonraker;
use printers::moonraker::Moonraker;
use printers::{
    Connection, Driver, DriverError, DriverKind, JobPhase, RemoteStatus, Secret,
    SimulationSettings, Snapshot,
};
use tokio::time::{Instant, timeout};

const WAIT: Duration = Duration::from_secs(10);

fn connection(url: &str, key: Option<&str>) -> Connection {
    Connection {
        kind: DriverKind::Moonraker,
        url: Some(url.to_owned()),
        secret: key.map(Secret::new),
        timeout: Duration::from_secs(2),
        profile: gcode::Profile::default(),
        simulation: SimulationSettings::default(),
    }
}

fn driver(fake: &FakeMoonraker) -> Moonraker {
    Moonraker::new(connection(&fake.url(), None)).unwrap()
}

fn gcode() -> common::TestFile {
    common::TestFile::new(b"G90\nM83\nG1 X10 Y10 E1 F1200\nG1 X20 Y10 E1\n")
}

mod common;

/// Snapshots until `done` holds.
async fn wait_for(
    printer: &Moonraker,
    what: &str,
    done: impl Fn(&Result<Snapshot, DriverError>) -> bool,
) -> Result<Snapshot, DriverError> {
    common::wait_for(what, WAIT, printer, async || printer.snapshot().await, done).await
}

async fn wait_status(printer: &Moonraker, status: RemoteStatus) -> Snapshot {
    let what = format!("{status:?}");
    wait_for(printer, &what, |s| {
        s.as_ref().is_ok_and(|s| s.status == status)
    })
    .await
    .unwrap()
}

async fn wait_push(printer: &Moonraker, fake: &FakeMoonraker) {
    let deadline = Instant::now() + WAIT;
    while !(printer.push_connected() && fake.websocket_count() == 1) {
        assert!(Instant::now() < deadline, "the websocket did not come up");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_print_runs_with_progress_pushed_over_the_websocket() {
    let fake = FakeMoonraker::start().await;
    fake.set_print_duration(1.5);
    let printer = driver(&fake);
    assert_eq!(printer.kind(), DriverKind::Moonraker);

    let s = printer.connect().await.unwrap();
    assert_eq!(s.status, RemoteStatus::Ready);
    assert_eq!(s.job, None);
    assert!(
        printer.push_connected(),
        "connect waits for the subscription"
    );

    printer.upload("cube.gcode", &gcode()).await.unwrap();
    assert_eq!(fake.files(), ["cube.gcode"]);
    assert_eq!(
        printer.snapshot().await.unwrap().job,
        None,
        "not started by the upload"
    );

    printer.start("cube.gcode").await.unwrap();
    // Progress arrives as pushes: changed() wakes and the snapshot moves on each time.
    let mut progress = Vec::new();
    let deadline = Instant::now() + WAIT;
    loop {
        timeout(WAIT, printer.changed()).await.expect("a push");
        let s = printer.snapshot().await.unwrap();
        let Some(job) = s.job.clone() else {
            assert!(progress.is_empty(), "the job vanished: {s:?}");
            continue; // News from before the start.
        };
        assert_eq!(job.file_name, "cube.gcode");
        progress.push(job.progress);
        if job.phase == JobPhase::Completed {
            assert_eq!(s.status, RemoteStatus::Ready);
            assert_eq!((job.progress, job.remaining_s), (1.0, Some(0.0)));
            assert!((job.elapsed_s - 1.5).abs() < 1e-9, "{job:?}");
            break;
        }
        assert_eq!(s.status, RemoteStatus::Printing);
        if job.progress > 0.0 {
            let remaining = job.remaining_s.unwrap();
            let expected = 1.5 - job.elapsed_s;
            assert!(
                (remaining - expected).abs() < 0.05,
                "{remaining} vs {expected}"
            );
        }
        assert!(
            Instant::now() < deadline,
            "the print did not finish: {progress:?}"
        );
    }
    let midway = progress.iter().filter(|p| **p > 0.0 && **p < 1.0).count();
    assert!(
        midway >= 3,
        "several progress pushes during the print: {progress:?}"
    );
    assert!(progress.windows(2).all(|w| w[0] <= w[1]), "{progress:?}");

    let calls = fake.calls();
    let subscribe = calls
        .iter()
        .find(|c| c.method == "printer.objects.subscribe");
    assert!(subscribe.is_some_and(|c| c.over_websocket));
    let start = calls
        .iter()
        .find(|c| c.method == "printer.print.start")
        .unwrap();
    assert!(
        start.over_websocket,
        "commands use the websocket while it is up"
    );
    // HTTP polling agrees with the push.
    assert_eq!(
        printer.poll().await.unwrap(),
        printer.snapshot().await.unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_resume_cancel_and_refusals() {
    let fake = FakeMoonraker::start().await;
    fake.set_print_duration(60.0);
    let printer = driver(&fake);
    printer.connect().await.unwrap();
    printer.upload("cube.gcode", &gcode()).await.unwrap();

    refused(printer.pause().await, "not printing");
    refused(printer.resume().await, "not paused");
    refused(printer.cancel().await, "neither printing nor paused");
    refused(printer.start("missing.gcode").await, "Unable to open file");

    printer.start("cube.gcode").await.unwrap();
    wait_status(&printer, RemoteStatus::Printing).await;
    refused(printer.start("cube.gcode").await, "busy");
    tokio::time::sleep(Duration::from_millis(200)).await;

    printer.pause().await.unwrap();
    let paused = wait_status(&printer, RemoteStatus::Paused).await;
    assert_eq!(paused.job.as_ref().unwrap().phase, JobPhase::Paused);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let still = printer.poll().await.unwrap();
    assert_eq!(
        still.job.unwrap().elapsed_s,
        printer.poll().await.unwrap().job.unwrap().elapsed_s,
        "no time passes while paused"
    );
    printer.resume().await.unwrap();
    wait_status(&printer, RemoteStatus::Printing).await;

    printer.cancel().await.unwrap();
    let s = wait_status(&printer, RemoteStatus::Ready).await;
    let job = s.job.unwrap();
    assert_eq!(job.phase, JobPhase::Cancelled);
    // Klipper's CANCEL_PRINT resets the virtual SD card (progress 0) but keeps the time.
    assert!(job.elapsed_s > 0.1, "{job:?}");
    let methods = fake.methods();
    for m in [
        "printer.print.pause",
        "printer.print.resume",
        "printer.print.cancel",
    ] {
        assert!(methods.iter().any(|x| x == m), "{m} in {methods:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_and_finished_prints_are_reported() {
    let fake = FakeMoonraker::start().await;
    fake.set_print_duration(60.0);
    let printer = driver(&fake);
    printer.connect().await.unwrap();
    printer.upload("cube.gcode", &gcode()).await.unwrap();

    printer.start("cube.gcode").await.unwrap();
    wait_status(&printer, RemoteStatus::Printing).await;
    fake.fail_current_print("Move out of range: 300.000 10.000 0.200");
    let s = wait_for(&printer, "a failed job", |s| {
        s.as_ref()
            .is_ok_and(|s| s.job.as_ref().is_some_and(|j| j.phase == JobPhase::Failed))
    })
    .await
    .unwrap();
    assert_eq!(
        s.status,
        RemoteStatus::Ready,
        "Klipper stays ready after a failed print"
    );

    printer.start("cube.gcode").await.unwrap();
    wait_status(&printer, RemoteStatus::Printing).await;
    fake.finish_current_print();
    let s = wait_status(&printer, RemoteStatus::Ready).await;
    assert_eq!(s.job.unwrap().phase, JobPhase::Completed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emergency_stop_shuts_klipper_down_until_connect_restarts_it() {
    let fake = FakeMoonraker::start().await;
    fake.set_print_duration(60.0);
    let printer = driver(&fake);
    printer.connect().await.unwrap();
    printer.upload("cube.gcode", &gcode()).await.unwrap();
    printer.start("cube.gcode").await.unwrap();
    wait_status(&printer, RemoteStatus::Printing).await;

    printer.emergency_stop().await.unwrap();
    let s = wait_for(&printer, "an error", |s| {
        s.as_ref()
            .is_ok_and(|s| matches!(s.status, RemoteStatus::Error { .. }))
    })
    .await
    .unwrap();
    assert_eq!(
        s.status,
        RemoteStatus::Error {
            message: "Shutdown due to webhooks request".into()
        }
    );
    assert_eq!(s.job.unwrap().phase, JobPhase::Failed);
    refused(printer.start("cube.gcode").await, "busy or not ready");

    let s = printer.connect().await.unwrap();
    assert_eq!(s.status, RemoteStatus::Ready);
    assert!(
        fake.methods()
            .iter()
            .any(|m| m == "printer.firmware_restart")
    );
    // The push channel follows Klipper's restart.
    wait_status(&printer, RemoteStatus::Ready).await;
    printer.start("cube.gcode").await.unwrap();
    wait_status(&printer, RemoteStatus::Printing).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gcode_and_preheat_reach_klipper() {
    let fake = FakeMoonraker::start().await;
    let printer = driver(&fake);
    printer.connect().await.unwrap();

    printer
        .send_gcode(&["G28".to_string(), "M106 S255".into()])
        .await
        .unwrap();
    printer.preheat(Some(200.0), Some(60.0)).await.unwrap();
    assert_eq!(
        fake.gcode_lines(),
        ["G28", "M106 S255", "M104 S200", "M140 S60"]
    );
    let s = wait_for(&printer, "heater targets", |s| {
        s.as_ref().is_ok_and(|s| {
            s.temperatures.tool.is_some_and(|h| h.target == 200.0)
                && s.temperatures.bed.is_some_and(|h| h.target == 60.0)
        })
    })
    .await
    .unwrap();
    assert_eq!(s.temperatures.tool.unwrap().actual, 200.0);
    refused(printer.preheat(Some(-5.0), None).await, "not a temperature");

    // M112 goes to Moonraker's emergency stop, not the G-code queue.
    printer.send_gcode(&["M112".to_string()]).await.unwrap();
    assert_eq!(fake.methods().last().unwrap(), "printer.emergency_stop");
    wait_for(&printer, "shutdown", |s| {
        s.as_ref()
            .is_ok_and(|s| matches!(s.status, RemoteStatus::Error { .. }))
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_key_is_required_and_used_for_the_websocket() {
    let fake = FakeMoonraker::start_with_api_key("right-key").await;
    for key in [None, Some("wrong-key")] {
        let printer = Moonraker::new(connection(&fake.url(), key)).unwrap();
        assert_eq!(
            printer.connect().await,
            Err(DriverError::Unauthorized),
            "{key:?}"
        );
        assert_eq!(printer.snapshot().await, Err(DriverError::Unauthorized));
        assert!(!printer.push_connected());
    }
    let printer = Moonraker::new(connection(&fake.url(), Some("right-key"))).unwrap();
    assert_eq!(printer.connect().await.unwrap().status, RemoteStatus::Ready);
    wait_push(&printer, &fake).await;
    printer.upload("cube.gcode", &gcode()).await.unwrap();
    printer.start("cube.gcode").await.unwrap();
    wait_status(&printer, RemoteStatus::Printing).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_websocket_falls_back_to_http_and_reconnects() {
    let fake = FakeMoonraker::start().await;
    fake.set_print_duration(60.0);
    let printer = driver(&fake);
    printer.connect().await.unwrap();
    printer.upload("cube.gcode", &gcode()).await.unwrap();
    printer.start("cube.gcode").await.unwrap();
    wait_status(&printer, RemoteStatus::Printing).await;
    wait_push(&printer, &fake).await;

    for round in 0..3 {
        fake.disconnect_all();
        let deadline = Instant::now() + WAIT;
        while printer.push_connected() {
            assert!(
                Instant::now() < deadline,
                "the driver did not notice the drop"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // Down: the snapshot comes over HTTP (or from the next websocket, if it is that quick).
        let s = printer.snapshot().await.unwrap();
        assert_eq!(s.status, RemoteStatus::Printing, "round {round}");
        wait_push(&printer, &fake).await;
    }
    let subscriptions = fake
        .methods()
        .iter()
        .filter(|m| *m == "printer.objects.subscribe")
        .count();
    assert!(
        subscriptions >= 4,
        "one subscription per connection: {subscriptions}"
    );

    // Pushes flow again after the reconnect.
    fake.finish_current_print();
    let s = wait_status(&printer, RemoteStatus::Ready).await;
    assert_eq!(s.job.unwrap().phase, JobPhase::Completed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_server_is_unreachable_and_recovers_on_restart() {
    let fake = FakeMoonraker::start().await;
    fake.set_print_duration(60.0);
    let printer = driver(&fake);
    printer.connect().await.unwrap();
    printer.upload("cube.gcode", &gcode()).await.unwrap();
    printer.start("cube.gcode").await.unwrap();
    wait_status(&printer, RemoteStatus::Printing).await;

    fake.stop().await;
    wait_for(&printer, "unreachable", |s| {
        matches!(s, Err(DriverError::Unreachable(_)))
    })
    .await
    .unwrap_err();
    assert!(!printer.push_connected());
    for result in [
        printer.pause().await,
        printer.upload("x.gcode", &gcode()).await.map(drop),
        printer.emergency_stop().await,
    ] {
        assert!(
            matches!(result, Err(DriverError::Unreachable(_))),
            "{result:?}"
        );
    }
    assert!(matches!(
        printer.connect().await,
        Err(DriverError::Unreachable(_))
    ));

    fake.restart().await;
    let s = wait_status(&printer, RemoteStatus::Printing).await;
    assert_eq!(s.job.unwrap().file_name, "cube.gcode");
    wait_push(&printer, &fake).await;
    assert_eq!(
        printer.connect().await.unwrap().status,
        RemoteStatus::Printing
    );
}

/// Uploads stream from disk: a file many times the read chunk arrives whole, and a file that is
/// missing or not the size it was said to be is a local error, never a truncated upload.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_stream_the_whole_file_from_disk() {
    let fake = FakeMoonraker::start().await;
    let printer = driver(&fake);
    printer.connect().await.unwrap();
    let mut text = String::from("G90\nM83\n");
    while text.len() < 3 << 20 {
        text.push_str("G1 X10.5 Y20.25 E0.0125 F1800 ; a move of a few MB of them\n");
    }
    let big = common::TestFile::new(text.as_bytes());
    printer.upload("big.gcode", &big).await.unwrap();
    assert_eq!(fake.file_size("big.gcode"), Some(text.len()));

    let wrong_size = printers::UploadFile::new(big.path(), big.size() + 1, *big.sha256());
    let missing = printers::UploadFile::new(big.path().with_extension("gone"), 10, [0; 32]);
    for file in [wrong_size, missing] {
        let result = printer.upload("other.gcode", &file).await;
        assert!(
            matches!(result, Err(DriverError::LocalFile(_))),
            "{result:?}"
        );
    }
    assert_eq!(fake.file_size("other.gcode"), None);
    fake.stop().await;
}

#[tokio::test]
async fn bad_settings_are_config_errors() {
    for url in [None, Some("moonraker.local:7125"), Some("ftp://x")] {
        let mut c = connection("http://127.0.0.1:1", None);
        c.url = url.map(str::to_owned);
        assert!(
            matches!(Moonraker::new(c), Err(DriverError::Config(_))),
            "{url:?}"
        );
    }
    let mut c = connection("http://127.0.0.1:1", Some("bad\nkey"));
    assert!(matches!(
        Moonraker::new(c.clone()),
        Err(DriverError::Config(_))
    ));
    c.secret = None;
    c.timeout = Duration::ZERO;
    assert!(matches!(Moonraker::new(c), Err(DriverError::Config(_))));
}

/// Klipper keeps the finished job's file name and progress (1.0): right after the same file
/// starts again, the websocket's copy (pushed every 250 ms; held here so that it always lags)
/// still shows the finished job. The snapshot after a start shows the new one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reprint_of_the_same_file_shows_the_new_job_at_once() {
    let fake = FakeMoonraker::start().await;
    fake.set_print_duration(60.0);
    let printer = driver(&fake);
    printer.connect().await.unwrap();
    printer.upload("cube.gcode", &gcode()).await.unwrap();
    printer.start("cube.gcode").await.unwrap();
    wait_status(&printer, RemoteStatus::Printing).await;
    fake.finish_current_print();
    let done = wait_for(&printer, "completed", |s| {
        s.as_ref().is_ok_and(|s| {
            s.job
                .as_ref()
                .is_some_and(|j| j.phase == JobPhase::Completed)
        })
    })
    .await
    .unwrap();
    assert_eq!(done.job.unwrap().progress, 1.0);

    fake.hold_updates(true);
    printer.start("cube.gcode").await.unwrap();
    let s = printer.snapshot().await.unwrap();
    assert_eq!(s.status, RemoteStatus::Printing, "{s:?}");
    assert_eq!(s.job.unwrap().phase, JobPhase::Running);
}

/// Each command's effect shows in the next snapshot, however late the next push.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_show_their_effect_in_the_next_snapshot() {
    let fake = FakeMoonraker::start().await;
    fake.set_print_duration(60.0);
    let printer = driver(&fake);
    printer.connect().await.unwrap();
    wait_push(&printer, &fake).await;
    printer.upload("cube.gcode", &gcode()).await.unwrap();
    fake.hold_updates(true);
    printer.preheat(Some(200.0), Some(60.0)).await.unwrap();
    let s = printer.snapshot().await.unwrap();
    assert_eq!(s.temperatures.tool.unwrap().target, 200.0);
    assert_eq!(s.temperatures.bed.unwrap().target, 60.0);
    printer.start("cube.gcode").await.unwrap();
    assert_eq!(
        printer.snapshot().await.unwrap().status,
        RemoteStatus::Printing
    );
    printer.pause().await.unwrap();
    assert_eq!(
        printer.snapshot().await.unwrap().status,
        RemoteStatus::Paused
    );
    printer.resume().await.unwrap();
    assert_eq!(
        printer.snapshot().await.unwrap().status,
        RemoteStatus::Printing
    );
    printer.cancel().await.unwrap();
    let s = printer.snapshot().await.unwrap();
    assert_eq!(
        (s.status, s.job.map(|j| j.phase)),
        (RemoteStatus::Ready, Some(JobPhase::Cancelled))
    );
    assert!(
        printer.push_connected(),
        "the websocket stayed up throughout"
    );
}

/// A key rotated on the printer is refused over HTTP while the open websocket still works: the
/// printer must not go on looking fine.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_key_is_refused_everywhere() {
    let fake = FakeMoonraker::start_with_api_key("old-key").await;
    let printer = Moonraker::new(connection(&fake.url(), Some("old-key"))).unwrap();
    printer.connect().await.unwrap();
    wait_push(&printer, &fake).await;
    fake.set_api_key("new-key");
    assert_eq!(printer.pause().await, Err(DriverError::Unauthorized));
    assert_eq!(printer.snapshot().await, Err(DriverError::Unauthorized));
    assert!(!printer.push_connected());
}

/// Each job carries Moonraker's job ID, so a reprint of the same file is a new job even when
/// Klipper's objects look the same; a failed one carries Klipper's reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_carry_moonrakers_id_and_klippers_reason() {
    let fake = FakeMoonraker::start().await;
    fake.set_print_duration(60.0);
    let printer = driver(&fake);
    printer.connect().await.unwrap();
    let job = |s: &Result<Snapshot, DriverError>| s.as_ref().ok().and_then(|s| s.job.clone());
    let stored = printer.upload("cube.gcode", &gcode()).await.unwrap();
    assert_eq!(stored, "cube.gcode");
    printer.start(&stored).await.unwrap();
    let first = job(&Ok(printer.snapshot().await.unwrap())).unwrap();
    fake.finish_current_print();
    let done = wait_for(&printer, "completed with its ID", |s| {
        job(s).is_some_and(|j| j.phase == JobPhase::Completed && j.job_id.is_some())
    })
    .await;
    assert_eq!(job(&done).unwrap().job_id, first.job_id);

    printer.start(&stored).await.unwrap();
    let second = job(&Ok(printer.snapshot().await.unwrap())).unwrap();
    assert_eq!(second.phase, JobPhase::Running);
    assert!(
        second.job_id.is_some() && second.job_id != first.job_id,
        "{second:?}"
    );
    fake.fail_current_print("Move out of range: 500.000 10.000 0.300 [0.000]");
    let failed = wait_for(&printer, "failed", |s| {
        job(s).is_some_and(|j| j.phase == JobPhase::Failed && j.job_id == second.job_id)
    })
    .await;
    assert_eq!(
        job(&failed).unwrap().message,
        "Move out of range: 500.000 10.000 0.300 [0.000]"
    );
}

/// Moonraker's job record, read after a job Farmhand knows, oldest first, with the outcome and
/// the times the printer gives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_job_record_is_read_after_a_known_job() {
    let fake = FakeMoonraker::start().await;
    let printer = driver(&fake);
    printer.connect().await.unwrap();
    assert_eq!(printer.job_history(None).await, Ok(Some(Vec::new())));
    fake.start_print_directly("a.gcode");
    fake.finish_current_print();
    fake.start_print_directly("b.gcode");
    printer.cancel().await.unwrap();
    fake.start_print_directly("c.gcode");

    let all = printer.job_history(None).await.unwrap().unwrap();
    let summary: Vec<(&str, JobPhase)> = all
        .iter()
        .map(|j| (j.file_name.as_str(), j.phase))
        .collect();
    assert_eq!(
        summary,
        [
            ("a.gcode", JobPhase::Completed),
            ("b.gcode", JobPhase::Cancelled),
            ("c.gcode", JobPhase::Running)
        ]
    );
    let record = fake.history();
    let seconds = |t: Option<domain::Timestamp>| t.map(|t| t.micros() as f64 / 1e6);
    for (job, entry) in all.iter().zip(&record) {
        assert_eq!(job.job_id, entry["job_id"].as_str().unwrap());
        assert!(
            (seconds(Some(job.started_at)).unwrap() - entry["start_time"].as_f64().unwrap()).abs()
                < 1e-5
        );
        match entry["end_time"].as_f64() {
            Some(end) => assert!((seconds(job.ended_at).unwrap() - end).abs() < 1e-5),
            None => assert_eq!(job.ended_at, None),
        }
    }
    let after_a = printer
        .job_history(Some(&all[0].job_id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after_a, all[1..]);
    let after_c = printer
        .job_history(Some(&all[2].job_id))
        .await
        .unwrap()
        .unwrap();
    assert!(after_c.is_empty());
    // A known job no longer in the record (deleted): the jobs Moonraker numbered after it.
    let after_gone = printer.job_history(Some("000000")).await.unwrap().unwrap();
    assert_eq!(after_gone, all);
    let unknown = printer
        .job_history(Some("not-a-moonraker-id"))
        .await
        .unwrap()
        .unwrap();
    assert!(unknown.is_empty(), "{unknown:?}");
}

/// Klipper opens only `.gcode`, `.g` and `.gco` (case-sensitive): other names are stored with
/// `.gcode` added and print; a file can be removed again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_are_named_so_that_klipper_opens_them() {
    let fake = FakeMoonraker::start().await;
    fake.set_print_duration(60.0);
    let printer = driver(&fake);
    printer.connect().await.unwrap();
    let stored = printer.upload("UPPER.GCODE", &gcode()).await.unwrap();
    assert_eq!(stored, "UPPER.GCODE.gcode");
    printer.start(&stored).await.unwrap();
    let s = printer.snapshot().await.unwrap();
    assert_eq!(s.job.unwrap().file_name, stored);
    printer.cancel().await.unwrap();
    printer.remove_file(&stored).await.unwrap();
    assert!(fake.files().is_empty(), "{:?}", fake.files());
    assert!(matches!(
        printer.remove_file(&stored).await,
        Err(DriverError::Refused(_))
    ));
}
