//! Supervision and control of a Klipper printer through Moonraker, against the in-process fake
//! Moonraker, which keeps the quirks of the real peers (Klipper keeps the last job's file name
//! and progress, Moonraker keeps a job history, pushes lag, keys get rotated). On both
//! databases; supervision is driven a step at a time with `observe_printer_now`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use app::{AppError, ErrorCode, LiveStatus, OrgActor, PrinterInput};
use bytes::Bytes;
use common::Lab;
use domain::{DriverKind, Print, PrintState, PrinterId, PrinterState, Timestamp};
use printers::fake_moonraker::FakeMoonraker;
use testkit::Backend;

testkit::on_both_backends!(
    a_reprint_of_the_last_finished_file_is_recorded_as_a_new_print,
    a_reprint_of_the_last_failed_file_is_recorded_as_a_new_print,
    prints_made_while_farmhand_was_away_are_recorded_from_the_printers_history,
    a_print_too_short_to_be_seen_running_is_recorded_from_the_history,
    klippers_failure_reason_is_kept,
    files_klipper_would_not_open_are_named_so_that_it_does,
    a_file_the_printer_refused_to_start_is_removed,
    actions_answer_with_the_state_they_lead_to,
    a_rotated_key_marks_the_printer_offline_with_the_reason,
    an_offline_printers_job_is_shown_as_last_known_with_its_time,
    a_print_that_ended_during_an_outage_ends_when_the_printer_says,
);

const KEY: &str = "moon-key";

/// A Moonraker printer in the lab, on the fake, idle.
struct Rig {
    lab: Lab,
    fake: FakeMoonraker,
    printer: PrinterId,
}

impl Rig {
    async fn open(backend: Backend) -> Rig {
        let lab = Lab::open(backend).await;
        let fake = FakeMoonraker::start_with_api_key(KEY).await;
        fake.set_print_duration(600.0);
        let owner = lab.actor(&lab.owner).await;
        let site = lab
            .app
            .people()
            .create_site(
                &owner,
                app::CreateSite {
                    name: "Hall".into(),
                    description: String::new(),
                    time_zone: None,
                    staffed_hours: Vec::new(),
                    staffed_grace_minutes: 0,
                },
            )
            .await
            .unwrap();
        let input = PrinterInput {
            name: "Voron".into(),
            site_id: site.id,
            model_id: None,
            group_ids: Vec::new(),
            driver: DriverKind::Moonraker,
            url: fake.url(),
            settings: serde_json::Map::new(),
            credential: Some(Some(KEY.into())),
        };
        let printer = lab
            .app
            .fleet()
            .create_printer(&owner, input)
            .await
            .unwrap()
            .id;
        let rig = Rig { lab, fake, printer };
        rig.wait_for("idle", |l| l.state == PrinterState::Idle)
            .await;
        rig
    }

    async fn owner(&self) -> OrgActor {
        self.lab.actor(&self.lab.owner).await
    }

    /// One supervision step.
    async fn observe(&self) -> LiveStatus {
        self.lab
            .app
            .observe_printer_now(self.printer)
            .await
            .unwrap()
            .expect("the printer is supervised")
    }

    fn push_connected(&self) -> bool {
        let printer = self.lab.app.supervisors().get(self.printer).unwrap();
        match printer.driver() {
            printers::AnyDriver::Moonraker(m) => m.push_connected(),
            _ => false,
        }
    }

    async fn poll(&self) -> Option<printers::RemoteJob> {
        let printer = self.lab.app.supervisors().get(self.printer).unwrap();
        match printer.driver() {
            printers::AnyDriver::Moonraker(m) => m.poll().await.unwrap().job,
            _ => None,
        }
    }

    /// Supervision steps until `done` holds (the printer takes a moment to connect).
    async fn wait_for(&self, what: &str, done: impl Fn(&LiveStatus) -> bool) -> LiveStatus {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let live = self.observe().await;
            if done(&live) {
                return live;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "never {what}: {live:?}; websockets {}, push {:?}, poll {:?}, history {:?}",
                self.fake.websocket_count(),
                self.push_connected(),
                self.poll().await,
                self.fake.history()
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    async fn start(&self, file_name: &str) -> Result<Print, AppError> {
        let body = futures::stream::once(async {
            Ok::<_, std::io::Error>(Bytes::from_static(b"G90\nM83\nG1 X10 Y10 E1 F1200\n"))
        });
        let owner = self.owner().await;
        self.lab
            .app
            .control()
            .start_print(&owner, self.printer, file_name, body)
            .await
    }

    async fn prints(&self) -> Vec<Print> {
        let owner = self.owner().await;
        let mut prints = self
            .lab
            .app
            .control()
            .list_prints(&owner, self.printer)
            .await
            .unwrap();
        prints.reverse(); // Oldest first.
        prints
    }

    async fn confirm_bed_clear(&self) -> LiveStatus {
        let owner = self.owner().await;
        self.lab
            .app
            .control()
            .confirm_bed_clear(&owner, self.printer)
            .await
            .unwrap()
    }

    /// The print ends on the printer and Farmhand sees it.
    async fn ended(&self) -> LiveStatus {
        self.wait_for("awaiting bed clear", |l| {
            l.state == PrinterState::AwaitingBedClear
        })
        .await
    }
}

fn states(prints: &[Print]) -> Vec<(&str, PrintState, bool)> {
    prints
        .iter()
        .map(|p| (p.file_name.as_str(), p.state, p.managed))
        .collect()
}

/// Moonraker's time (seconds since the epoch, as its history gives them) as a timestamp.
fn printer_time(seconds: &serde_json::Value) -> Timestamp {
    Timestamp::from_micros((seconds.as_f64().unwrap() * 1e6).round() as i64)
}

/// Klipper keeps `print_stats.filename` and leaves `virtual_sdcard.progress` at 1.0 after a
/// print completes: right after the same file starts again, the copy of the status a client
/// holds still describes the finished job (for up to 250 ms; held here, so that it does every
/// time). The new print must not be taken for the old one.
async fn a_reprint_of_the_last_finished_file_is_recorded_as_a_new_print(backend: Backend) {
    let rig = Rig::open(backend).await;
    let first = rig.start("repro.gcode").await.unwrap();
    rig.wait_for("printing", |l| l.state == PrinterState::Printing)
        .await;
    rig.fake.finish_current_print();
    rig.ended().await;
    rig.confirm_bed_clear().await;

    rig.fake.hold_updates(true);
    let second = rig.start("repro.gcode").await.unwrap();
    assert_eq!(second.state, PrintState::Printing, "{second:?}");
    let live = rig.observe().await;
    assert_eq!(live.state, PrinterState::Printing, "{live:?}");
    assert_eq!(live.job.as_ref().unwrap().print_id, Some(second.id));
    rig.fake.hold_updates(false);
    let live = rig.observe().await;
    assert_eq!(live.state, PrinterState::Printing, "{live:?}");

    rig.fake.finish_current_print();
    rig.ended().await;
    let prints = rig.prints().await;
    assert_eq!(
        states(&prints),
        [
            ("repro.gcode", PrintState::Completed, true),
            ("repro.gcode", PrintState::Completed, true)
        ]
    );
    assert_eq!((prints[0].id, prints[1].id), (first.id, second.id));
}

/// After `error` Klipper leaves the progress where the print stopped: the same confusion.
async fn a_reprint_of_the_last_failed_file_is_recorded_as_a_new_print(backend: Backend) {
    let rig = Rig::open(backend).await;
    rig.start("repro.gcode").await.unwrap();
    rig.wait_for("printing", |l| l.state == PrinterState::Printing)
        .await;
    rig.fake
        .fail_current_print("Move out of range: 500.000 10.000 0.300");
    rig.ended().await;
    rig.confirm_bed_clear().await;

    rig.fake.hold_updates(true);
    let second = rig.start("repro.gcode").await.unwrap();
    assert_eq!(second.state, PrintState::Printing, "{second:?}");
    assert_eq!(rig.observe().await.state, PrinterState::Printing);
    rig.fake.hold_updates(false);
    assert_eq!(rig.observe().await.state, PrinterState::Printing);
    let prints = rig.prints().await;
    assert_eq!(
        states(&prints),
        [
            ("repro.gcode", PrintState::Failed, true),
            ("repro.gcode", PrintState::Printing, true)
        ]
    );
}

/// Farmhand is stopped; two prints are made at the printer meanwhile, one completes and one
/// fails. When Farmhand is back, both are recorded from Moonraker's job history, unmanaged, with
/// their outcome and the times the printer gives, and the plate waits to be cleared.
async fn prints_made_while_farmhand_was_away_are_recorded_from_the_printers_history(
    backend: Backend,
) {
    let mut rig = Rig::open(backend).await;
    let managed = rig.start("before.gcode").await.unwrap();
    rig.fake.finish_current_print();
    rig.ended().await;
    rig.confirm_bed_clear().await;

    rig.lab.app.supervisors().stop_all();
    rig.fake.start_print_directly("usb.gcode");
    rig.fake.finish_current_print();
    rig.fake.start_print_directly("usb-2.gcode");
    rig.fake
        .fail_current_print("Heater extruder not heating at expected rate");
    // Farmhand comes back later than the printer finished.
    rig.lab.clock.advance_seconds(3600);
    rig.lab.restart().await;

    let live = rig.ended().await;
    assert!(live.bed_clear_pending);
    let prints = rig.prints().await;
    assert_eq!(
        states(&prints),
        [
            ("before.gcode", PrintState::Completed, true),
            ("usb.gcode", PrintState::Completed, false),
            ("usb-2.gcode", PrintState::Failed, false)
        ]
    );
    assert_eq!(prints[0].id, managed.id);
    let history = rig.fake.history();
    for (print, job) in prints[1..].iter().zip(&history[1..]) {
        assert_eq!(print.started_by, None);
        assert_eq!(print.started_at, printer_time(&job["start_time"]), "{job}");
        assert_eq!(
            print.ended_at,
            Some(printer_time(&job["end_time"])),
            "{job}"
        );
    }
    // Nothing is recorded twice.
    rig.observe().await;
    rig.lab.restart().await;
    rig.ended().await;
    assert_eq!(rig.prints().await.len(), 3);
}

/// A print shorter than Moonraker's update interval is never seen running: only the job
/// history tells it happened.
async fn a_print_too_short_to_be_seen_running_is_recorded_from_the_history(backend: Backend) {
    let rig = Rig::open(backend).await;
    rig.fake.hold_updates(true);
    rig.fake.start_print_directly("quick.gcode");
    rig.fake.finish_current_print();
    rig.fake.hold_updates(false);
    rig.ended().await;
    let prints = rig.prints().await;
    assert_eq!(
        states(&prints),
        [("quick.gcode", PrintState::Completed, false)]
    );
}

/// Klipper says why a print failed in `print_stats.message`; the print keeps those words.
async fn klippers_failure_reason_is_kept(backend: Backend) {
    let rig = Rig::open(backend).await;
    let print = rig.start("part.gcode").await.unwrap();
    rig.wait_for("printing", |l| l.state == PrinterState::Printing)
        .await;
    rig.fake
        .fail_current_print("Move out of range: 500.000 10.000 0.300 [0.000]");
    rig.ended().await;
    let prints = rig.prints().await;
    assert_eq!(prints[0].id, print.id);
    assert_eq!(prints[0].state, PrintState::Failed);
    assert!(
        prints[0]
            .detail
            .contains("Move out of range: 500.000 10.000 0.300"),
        "{:?}",
        prints[0].detail
    );
}

/// Klipper opens only `.gcode`, `.g` and `.gco` files (case-sensitive), while Moonraker stores
/// any name: a print of any other name is stored under a name Klipper opens, and it prints.
async fn files_klipper_would_not_open_are_named_so_that_it_does(backend: Backend) {
    let rig = Rig::open(backend).await;
    for (name, stored) in [
        ("part", "part.gcode"),
        ("part.txt", "part.txt.gcode"),
        ("UPPER.GCODE", "UPPER.GCODE.gcode"),
    ] {
        let print = rig.start(name).await.unwrap();
        assert_eq!(print.state, PrintState::Printing, "{name}: {print:?}");
        assert_eq!(print.file_name, stored, "recorded as the printer has it");
        let live = rig
            .wait_for("printing", |l| l.state == PrinterState::Printing)
            .await;
        assert_eq!(live.job.as_ref().unwrap().print_id, Some(print.id));
        rig.fake.finish_current_print();
        rig.ended().await;
        rig.confirm_bed_clear().await;
        let prints = rig.prints().await;
        assert_eq!(prints.last().unwrap().state, PrintState::Completed);
    }
    assert!(
        !rig.fake
            .files()
            .iter()
            .any(|f| ["part", "part.txt", "UPPER.GCODE"].contains(&f.as_str())),
        "{:?}",
        rig.fake.files()
    );
    assert_eq!(rig.prints().await.len(), 3, "no unmanaged prints");
}

/// Someone starts a print at the printer just before Farmhand does (Farmhand has not heard yet):
/// the printer refuses Farmhand's, and the file it was sent does not stay behind.
async fn a_file_the_printer_refused_to_start_is_removed(backend: Backend) {
    let rig = Rig::open(backend).await;
    rig.fake.hold_updates(true);
    rig.fake.start_print_directly("other.gcode");
    let refused = rig.start("mine.gcode").await.unwrap_err();
    assert!(
        matches!(
            refused.code(),
            ErrorCode::PrinterRefused | ErrorCode::PrinterNotReady
        ),
        "{refused:?}"
    );
    assert!(
        !rig.fake.files().contains(&"mine.gcode".to_string()),
        "{:?}",
        rig.fake.files()
    );
}

/// Pause, resume, cancel and preheat answer with what they lead to, not with the state from
/// before (the pushed copy of the printer's status lags; held here so that it always does).
async fn actions_answer_with_the_state_they_lead_to(backend: Backend) {
    let rig = Rig::open(backend).await;
    let owner = rig.owner().await;
    let control = rig.lab.app.control();
    rig.fake.hold_updates(true);
    let preheated = control
        .preheat(
            &owner,
            rig.printer,
            app::Preheat {
                tool: Some(200.0),
                bed: Some(60.0),
            },
        )
        .await
        .unwrap();
    let t = preheated.temperatures.unwrap();
    assert_eq!((t.tool_target, t.bed_target), (Some(200.0), Some(60.0)));

    rig.start("part.gcode").await.unwrap();
    let live = rig.observe().await;
    assert_eq!(live.state, PrinterState::Printing, "right after the start");
    let paused = control.pause_print(&owner, rig.printer).await.unwrap();
    assert_eq!(paused.state, PrinterState::Paused);
    let resumed = control.resume_print(&owner, rig.printer).await.unwrap();
    assert_eq!(resumed.state, PrinterState::Printing);
    let cancelled = control.cancel_print(&owner, rig.printer).await.unwrap();
    assert_eq!(cancelled.state, PrinterState::AwaitingBedClear);
    assert_eq!(rig.prints().await[0].state, PrintState::Cancelled);
}

/// The key is rotated on the printer: HTTP refuses it, the websocket already open still works.
/// The printer must not look idle: a refused credential puts it offline with the reason.
async fn a_rotated_key_marks_the_printer_offline_with_the_reason(backend: Backend) {
    let rig = Rig::open(backend).await;
    rig.start("part.gcode").await.unwrap();
    rig.wait_for("printing", |l| l.state == PrinterState::Printing)
        .await;
    rig.fake.set_api_key("rotated");
    let owner = rig.owner().await;
    let refused = rig
        .lab
        .app
        .control()
        .pause_print(&owner, rig.printer)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), ErrorCode::PrinterCredentialsRefused);
    let live = rig.observe().await;
    assert_eq!(live.state, PrinterState::Offline, "{live:?}");
    assert!(live.detail.contains("credentials"), "{live:?}");
}

/// Moonraker stops answering mid-print: the printer is offline, and its job is the one last
/// seen, marked as such, with when it was seen; not a live job frozen in place.
async fn an_offline_printers_job_is_shown_as_last_known_with_its_time(backend: Backend) {
    let rig = Rig::open(backend).await;
    let print = rig.start("part.gcode").await.unwrap();
    let live = rig
        .wait_for("printing", |l| l.state == PrinterState::Printing)
        .await;
    let seen = live.job.unwrap();
    assert!(!seen.last_known);
    rig.lab.clock.advance_seconds(60);
    rig.fake.stop().await;
    let live = rig
        .wait_for("offline", |l| l.state == PrinterState::Offline)
        .await;
    let job = live.job.clone().expect("the job last seen");
    assert_eq!(job.print_id, Some(print.id));
    assert!(job.last_known, "{job:?}");
    assert!(
        job.seen_at <= live.since,
        "seen before it went offline: {job:?} {live:?}"
    );
    rig.fake.restart().await;
    let live = rig
        .wait_for("printing again", |l| l.state == PrinterState::Printing)
        .await;
    assert!(!live.job.unwrap().last_known);
}

/// Moonraker is unreachable while a print finishes; Farmhand reconnects an hour later. The print
/// ended when the printer says, not when Farmhand heard of it.
async fn a_print_that_ended_during_an_outage_ends_when_the_printer_says(backend: Backend) {
    let rig = Rig::open(backend).await;
    let print = rig.start("part.gcode").await.unwrap();
    rig.wait_for("printing", |l| l.state == PrinterState::Printing)
        .await;
    rig.fake.stop().await;
    rig.wait_for("offline", |l| l.state == PrinterState::Offline)
        .await;
    assert_eq!(rig.prints().await[0].state, PrintState::Unknown);
    rig.fake.finish_current_print();
    rig.lab.clock.advance_seconds(3600);
    rig.fake.restart().await;
    rig.ended().await;
    let prints = rig.prints().await;
    assert_eq!(
        states(&prints),
        [("part.gcode", PrintState::Completed, true)]
    );
    assert_eq!(prints[0].id, print.id);
    let job = &rig.fake.history()[0];
    assert_eq!(
        prints[0].ended_at,
        Some(printer_time(&job["end_time"])),
        "{job}"
    );
}
