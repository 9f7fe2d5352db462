//! The OctoPrint driver against a real OctoPrint 1.11.8 with its virtual printer, started by
//! `scripts/octoprint serve` (installed by `scripts/octoprint ensure` when missing). One
//! OctoPrint start-up serves every scenario; they run in order in one test.
//!
//! The server runs in its own process group, killed when the harness is dropped (also when a
//! test panics) and by a watchdog shell if this test process dies without unwinding.
// Test helpers outside `#[test]` functions unwrap too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use printers::octoprint::OctoPrint;
use printers::octoprint_harness::OctoPrintHarness;
use printers::{
    Connection, Driver, DriverError, DriverKind, JobPhase, RemoteStatus, Secret,
    SimulationSettings, Snapshot,
};
use tokio::time::{Instant, timeout};

const WAIT: Duration = Duration::from_secs(30);

fn connection(url: &str, key: &str) -> Connection {
    Connection {
        kind: DriverKind::Octoprint,
        url: Some(url.to_owned()),
        secret: Some(Secret::new(key)),
        timeout: Duration::from_secs(5),
        profile: gcode::Profile::default(),
        simulation: SimulationSettings::default(),
    }
}

/// Absolute positioning (the virtual printer starts relative), no heating waits. The virtual
/// printer sleeps a tenth of a move's real duration, and nothing for moves towards 0: a
/// 10 mm move at 10 mm/s costs 0.1 s, a 0.5 mm one at 50 mm/s next to nothing.
fn gcode(moves: usize, slow: bool) -> common::TestFile {
    let (far, feed) = if slow { ("20", 600) } else { ("10.5", 3000) };
    let mut text = String::from("G90\nM83\nG28\n");
    for i in 0..moves {
        let x = if i % 2 == 0 { "10" } else { far };
        text.push_str(&format!("G1 X{x} Y10 E0.01 F{feed}\n"));
    }
    common::TestFile::new(text.as_bytes())
}

mod common;

/// Snapshots (or REST polls) until `done` holds.
async fn wait_for(
    what: &str,
    printer: &OctoPrint,
    rest: bool,
    done: impl Fn(&Result<Snapshot, DriverError>) -> bool,
) -> Result<Snapshot, DriverError> {
    let look = async || {
        if rest {
            printer.poll().await
        } else {
            printer.snapshot().await
        }
    };
    common::wait_for(what, WAIT, printer, look, done).await
}

fn is_status(s: &Result<Snapshot, DriverError>, status: &RemoteStatus) -> bool {
    s.as_ref().is_ok_and(|s| &s.status == status)
}

fn phase(s: &Result<Snapshot, DriverError>) -> Option<JobPhase> {
    s.as_ref().ok()?.job.as_ref().map(|j| j.phase)
}

fn printing_with_progress(s: &Result<Snapshot, DriverError>) -> bool {
    is_status(s, &RemoteStatus::Printing)
        && s.as_ref()
            .is_ok_and(|s| s.job.as_ref().is_some_and(|j| j.progress > 0.0))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn octoprint_end_to_end() {
    let started = Instant::now();
    let mut server = OctoPrintHarness::start().await;
    eprintln!("OctoPrint up in {:?}", started.elapsed());
    let printer = OctoPrint::new(connection(server.url(), server.api_key())).unwrap();

    // Connect (autoconnect already did) and see an idle printer.
    let s = printer.connect().await.unwrap();
    assert_eq!(s.status, RemoteStatus::Ready);
    assert_eq!(s.job, None);

    // Uploads store without starting.
    printer
        .upload("long.gcode", &gcode(600, true))
        .await
        .unwrap();
    printer
        .upload("short.gcode", &gcode(200, false))
        .await
        .unwrap();
    let s = printer.poll().await.unwrap();
    assert_eq!(
        (s.status, s.job),
        (RemoteStatus::Ready, None),
        "not started by the upload"
    );
    let missing = printer.start("missing.gcode").await;
    assert!(
        matches!(missing, Err(DriverError::Refused(_))),
        "{missing:?}"
    );

    // Start; progress seen over REST, then over the push socket.
    printer.start("long.gcode").await.unwrap();
    let s = wait_for("printing over REST", &printer, true, printing_with_progress)
        .await
        .unwrap();
    assert_eq!(s.job.unwrap().file_name, "long.gcode");
    let deadline = Instant::now() + WAIT;
    while !printer.push_connected() {
        assert!(Instant::now() < deadline, "the push socket did not come up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut pushed = Vec::new();
    while pushed.len() < 3 {
        timeout(WAIT, printer.changed())
            .await
            .expect("pushes while printing");
        let s = printer.snapshot().await.unwrap();
        if let Some(job) = s.job.filter(|_| s.status == RemoteStatus::Printing) {
            pushed.push(job.progress);
        }
    }
    assert!(
        pushed.windows(2).all(|w| w[0] <= w[1]) && pushed[2] > pushed[0],
        "{pushed:?}"
    );
    let again = printer.start("short.gcode").await;
    assert!(matches!(again, Err(DriverError::Refused(_))), "{again:?}");

    // Pause, resume, cancel.
    printer.pause().await.unwrap();
    let s = wait_for("paused", &printer, false, |s| {
        is_status(s, &RemoteStatus::Paused)
    })
    .await
    .unwrap();
    assert_eq!(s.job.unwrap().phase, JobPhase::Paused);
    printer.resume().await.unwrap();
    wait_for("printing again", &printer, false, printing_with_progress)
        .await
        .unwrap();
    printer.cancel().await.unwrap();
    let s = wait_for("cancelled", &printer, false, |s| {
        is_status(s, &RemoteStatus::Ready) && phase(s) == Some(JobPhase::Cancelled)
    })
    .await
    .unwrap();
    let job = s.job.unwrap();
    assert_eq!(job.file_name, "long.gcode");
    assert!(job.progress > 0.0 && job.progress < 1.0, "{job:?}");
    assert_eq!(
        printer.poll().await.unwrap().job.map(|j| j.phase),
        Some(JobPhase::Cancelled),
        "REST agrees"
    );
    let idle = printer.cancel().await;
    assert!(matches!(idle, Err(DriverError::Refused(_))), "{idle:?}");

    // A short print runs to completion.
    printer.start("short.gcode").await.unwrap();
    let s = wait_for("completed", &printer, false, |s| {
        is_status(s, &RemoteStatus::Ready) && phase(s) == Some(JobPhase::Completed)
    })
    .await
    .unwrap();
    let job = s.job.unwrap();
    assert_eq!((job.file_name.as_str(), job.progress), ("short.gcode", 1.0));
    assert_eq!(
        printer.poll().await.unwrap().job.map(|j| j.phase),
        Some(JobPhase::Completed),
        "completion 100 % over REST"
    );

    // G-code and preheat reach the heaters.
    printer.send_gcode(&["M104 S45".to_string()]).await.unwrap();
    wait_for("tool target 45", &printer, true, |s| {
        s.as_ref()
            .is_ok_and(|s| s.temperatures.tool.is_some_and(|h| h.target == 45.0))
    })
    .await
    .unwrap();
    printer.preheat(Some(50.0), Some(35.0)).await.unwrap();
    let s = wait_for("preheat targets", &printer, false, |s| {
        s.as_ref().is_ok_and(|s| {
            s.temperatures.tool.is_some_and(|h| h.target == 50.0)
                && s.temperatures.bed.is_some_and(|h| h.target == 35.0)
        })
    })
    .await
    .unwrap();
    assert!(s.temperatures.tool.unwrap().actual > 0.0);
    printer.preheat(Some(0.0), Some(0.0)).await.unwrap();

    // A wrong key is refused.
    let stranger = OctoPrint::new(connection(server.url(), "WRONGKEY")).unwrap();
    assert_eq!(stranger.connect().await, Err(DriverError::Unauthorized));
    assert_eq!(stranger.snapshot().await, Err(DriverError::Unauthorized));

    // Emergency stop: OctoPrint closes the port with an error; connect reopens it.
    printer.start("long.gcode").await.unwrap();
    wait_for(
        "printing before the stop",
        &printer,
        false,
        printing_with_progress,
    )
    .await
    .unwrap();
    printer.emergency_stop().await.unwrap();
    let s = wait_for("emergency stop", &printer, false, |s| {
        s.as_ref()
            .is_ok_and(|s| matches!(s.status, RemoteStatus::Error { .. }))
    })
    .await
    .unwrap();
    let RemoteStatus::Error { message } = &s.status else {
        unreachable!()
    };
    assert!(message.contains("M112"), "{message}");
    assert_eq!(s.job.unwrap().phase, JobPhase::Failed);
    let s = printer.connect().await.unwrap();
    assert_eq!(s.status, RemoteStatus::Ready);
    assert_eq!(
        s.job.map(|j| j.phase),
        Some(JobPhase::Failed),
        "the stopped job stays visible"
    );

    // OctoPrint killed mid-print: unreachable.
    printer.start("long.gcode").await.unwrap();
    wait_for(
        "printing before the kill",
        &printer,
        false,
        printing_with_progress,
    )
    .await
    .unwrap();
    server.kill().await;
    wait_for("unreachable", &printer, false, |s| {
        matches!(s, Err(DriverError::Unreachable(_)))
    })
    .await
    .unwrap_err();
    assert!(matches!(
        printer.connect().await,
        Err(DriverError::Unreachable(_))
    ));
    assert!(!printer.push_connected());

    // Restarted on the same directory: connected again, the killed print is gone.
    let restarted = Instant::now();
    server.restart().await;
    eprintln!("OctoPrint restarted in {:?}", restarted.elapsed());
    let s = printer.connect().await.unwrap();
    assert_eq!(s.status, RemoteStatus::Ready);
    assert!(
        s.job.as_ref().is_none_or(|j| j.phase != JobPhase::Running),
        "no running job after the restart: {s:?}"
    );
    printer.start("short.gcode").await.unwrap();
    wait_for("printing after the restart", &printer, false, |s| {
        is_status(s, &RemoteStatus::Printing) || phase(s) == Some(JobPhase::Completed)
    })
    .await
    .unwrap();
    drop(server);
    eprintln!("OctoPrint scenarios took {:?}", started.elapsed());
}

/// What real Moonraker and Klipper do that tripped the Moonraker driver, tried on real OctoPrint
/// (issue 12): a reprint of the file just finished, commands answered from a push that predates
/// them, names OctoPrint will not take, and a key rotated while the push socket is open. A
/// server of its own: the last scenario changes the key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn octoprint_reprints_names_stale_pushes_and_rotated_keys() {
    let server = OctoPrintHarness::start().await;
    let printer = OctoPrint::new(connection(server.url(), server.api_key())).unwrap();
    printer.connect().await.unwrap();
    let deadline = Instant::now() + WAIT;
    while !printer.push_connected() {
        assert!(Instant::now() < deadline, "the push socket did not come up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // OctoPrint refuses names without a G-code extension (415): they are named so it takes them.
    for (name, stored) in [("part", "part.gcode"), ("part.txt", "part.txt.gcode")] {
        let uploaded = printer.upload(name, &gcode(5, false)).await;
        assert_eq!(uploaded, Ok(stored.to_owned()), "{name}");
    }
    assert_eq!(
        printer.upload("UPPER.GCODE", &gcode(5, false)).await,
        Ok("UPPER.GCODE".to_owned()),
        "OctoPrint compares extensions without case"
    );

    // A reprint of the file just completed is seen running, not completed, right after the start.
    let short = printer
        .upload("short.gcode", &gcode(200, false))
        .await
        .unwrap();
    printer.start(&short).await.unwrap();
    wait_for("completed", &printer, false, |s| {
        is_status(s, &RemoteStatus::Ready) && phase(s) == Some(JobPhase::Completed)
    })
    .await
    .unwrap();
    printer.start(&short).await.unwrap();
    let s = printer.snapshot().await.unwrap();
    assert_eq!(
        (s.status.clone(), phase(&Ok(s.clone()))),
        (RemoteStatus::Printing, Some(JobPhase::Running)),
        "{s:?}"
    );
    wait_for("completed again", &printer, false, |s| {
        is_status(s, &RemoteStatus::Ready) && phase(s) == Some(JobPhase::Completed)
    })
    .await
    .unwrap();

    // Each command shows in the very next snapshot, whatever the push socket last said.
    // (Once the virtual printer has reported its temperatures: OctoPrint shows none before.)
    wait_for("temperatures", &printer, true, |s| {
        s.as_ref()
            .is_ok_and(|s| s.temperatures.tool.is_some() && s.temperatures.bed.is_some())
    })
    .await
    .unwrap();
    printer.preheat(Some(40.0), Some(30.0)).await.unwrap();
    let s = printer.snapshot().await.unwrap();
    let targets = (
        s.temperatures.tool.map(|h| h.target),
        s.temperatures.bed.map(|h| h.target),
    );
    assert_eq!(targets, (Some(40.0), Some(30.0)), "{s:?}");
    let long = printer
        .upload("long.gcode", &gcode(600, true))
        .await
        .unwrap();
    printer.start(&long).await.unwrap();
    wait_for("printing", &printer, false, printing_with_progress)
        .await
        .unwrap();
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
    assert_eq!(phase(&printer.snapshot().await), Some(JobPhase::Cancelled));

    // The key is rotated on OctoPrint: REST refuses the old one (403), the push socket opened
    // with it goes on. The printer must not go on looking fine.
    let rotated = reqwest::Client::new()
        .post(format!("{}/api/access/users/farmhand/apikey", server.url()))
        .header("X-Api-Key", server.api_key())
        .send()
        .await
        .unwrap();
    assert!(rotated.status().is_success(), "{rotated:?}");
    assert_eq!(printer.pause().await, Err(DriverError::Unauthorized));
    assert_eq!(printer.snapshot().await, Err(DriverError::Unauthorized));
    assert!(!printer.push_connected());
}
