//! The live fleet through the API, with Farmhand's simulated printer: prints, control actions,
//! bed-clear confirmation, maintenance, unmanaged prints and reconciliation after a disconnect.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{Client, PASSWORD, TestServer};

crate::on_both_backends!(
    a_print_runs_pauses_resumes_and_ends_awaiting_bed_clear,
    unmanaged_prints_and_disconnects_are_reconciled,
    maintenance_and_refusals_are_clear,
    printer_events_stream_only_visible_printers,
    octoprint_prints_through_the_api_and_is_reconciled_after_a_crash,
    moonraker_prints_through_the_api_and_survives_disconnects,
    bed_clear_confirmation_follows_the_organization_setting,
    injected_faults_are_bounded_like_what_a_printer_reports,
);

mod restart {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::farmhand_restarts_with_its_printers_and_their_prints(store::Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::farmhand_restarts_with_its_printers_and_their_prints(store::Backend::Postgres).await;
    }
}

/// About 60 s of printing at the default profile: enough to pause and resume in.
fn small_gcode() -> String {
    let mut text = String::from("; test part\nG21\nG90\nM83\nG1 Z0.2 F600\n");
    for i in 0..60 {
        let y = 10 + i % 2 * 40;
        text.push_str(&format!("G1 X{} Y{y} E1.5 F1200\n", 10 + i));
    }
    text
}

/// Adds a simulated printer running `speed` times faster than life; returns its URL.
async fn simulated_printer(owner: &Client, org: i64, name: &str, speed: f64) -> String {
    let (_, site) = owner
        .post(
            &format!("/api/v1/orgs/{org}/sites"),
            json!({ "name": format!("Site {name}") }),
        )
        .await;
    let (status, printer) = owner
        .post(
            &format!("/api/v1/orgs/{org}/printers"),
            json!({ "name": name, "site_id": site["id"], "settings": { "speed": speed } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{printer}");
    format!("/api/v1/orgs/{org}/printers/{}", printer["id"])
}

async fn start(owner: &Client, printer: &str, file_name: &str, gcode: &str) -> (StatusCode, Value) {
    let response = owner
        .raw_post(
            &format!("{printer}/prints?file_name={file_name}"),
            gcode.as_bytes().to_vec(),
        )
        .await;
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn audit_actions(owner: &Client, org: i64) -> Vec<String> {
    let (_, audit) = owner.get(&format!("/api/v1/orgs/{org}/audit-events")).await;
    audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect()
}

fn state(live: &Value) -> &str {
    live["state"].as_str().unwrap_or("")
}

async fn a_print_runs_pauses_resumes_and_ends_awaiting_bed_clear(server: &TestServer) {
    let (org, owner) = server.org_with_owner("Farm", "owner@farm.test").await;
    let printer = simulated_printer(&owner, org, "Sim 1", 60.0).await;
    server
        .wait_for(&owner, &printer, "idle", |l| state(l) == "idle")
        .await;

    let (status, print) = start(&owner, &printer, "part.gcode", &small_gcode()).await;
    assert_eq!(status, StatusCode::CREATED, "{print}");
    assert_eq!(print["state"], "printing");
    assert_eq!(print["managed"], true);
    assert!(print["estimated_s"].as_f64().unwrap() > 10.0, "{print}");
    let live = server
        .wait_for(&owner, &printer, "printing", |l| state(l) == "printing")
        .await;
    assert_eq!(live["job"]["file_name"], "part.gcode");
    assert_eq!(live["job"]["print_id"], print["id"]);

    // A second print is refused while one runs.
    let (status, error) = start(&owner, &printer, "other.gcode", &small_gcode()).await;
    assert_eq!(status, StatusCode::CONFLICT, "{error}");
    assert_eq!(error["error"]["code"], "printer_not_ready");

    let (status, paused) = owner.post_empty(&format!("{printer}/pause")).await;
    assert_eq!(status, StatusCode::OK, "{paused}");
    assert_eq!(paused["state"], "paused");
    let (status, error) = owner.post_empty(&format!("{printer}/pause")).await;
    assert_eq!(status, StatusCode::CONFLICT, "{error}");
    let (status, resumed) = owner.post_empty(&format!("{printer}/resume")).await;
    assert_eq!(status, StatusCode::OK, "{resumed}");
    assert_eq!(resumed["state"], "printing");

    let live = server
        .wait_for(&owner, &printer, "awaiting bed clear", |l| {
            state(l) == "awaiting_bed_clear"
        })
        .await;
    assert_eq!(live["bed_clear_pending"], true);
    let (_, prints) = owner.get(&format!("{printer}/prints")).await;
    assert_eq!(prints[0]["state"], "completed", "{prints}");
    assert!(prints[0]["ended_at"].is_string());
    let (status, error) = start(&owner, &printer, "next.gcode", &small_gcode()).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("confirm the build plate"),
        "{error}"
    );

    let (status, cleared) = owner.post_empty(&format!("{printer}/bed-clear")).await;
    assert_eq!(status, StatusCode::OK, "{cleared}");
    assert_eq!(cleared["state"], "idle");
    let (status, _) = owner.post_empty(&format!("{printer}/bed-clear")).await;
    assert_eq!(status, StatusCode::CONFLICT);

    // Cancelling also leaves the plate to clear.
    let (status, _) = start(&owner, &printer, "again.gcode", &small_gcode()).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, cancelled) = owner.post_empty(&format!("{printer}/cancel")).await;
    assert_eq!(status, StatusCode::OK, "{cancelled}");
    assert_eq!(cancelled["state"], "awaiting_bed_clear");
    let (_, prints) = owner.get(&format!("{printer}/prints")).await;
    assert_eq!(prints[0]["state"], "cancelled", "{prints}");

    // Every step is in the history and the audit log.
    let (_, history) = owner.get(&format!("{printer}/history")).await;
    let states: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .map(|e| e["to"].as_str().unwrap())
        .collect();
    assert!(
        states.starts_with(&[
            "idle",
            "printing",
            "paused",
            "printing",
            "awaiting_bed_clear",
            "idle"
        ]),
        "{states:?}"
    );
    let actions = audit_actions(&owner, org).await;
    for action in [
        "print.start",
        "printer.pause",
        "printer.resume",
        "print.ended",
        "printer.bed_cleared",
        "printer.cancel",
        "printer.state_change",
    ] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} in {actions:?}"
        );
    }
}

async fn unmanaged_prints_and_disconnects_are_reconciled(server: &TestServer) {
    let (org, owner) = server.org_with_owner("Farm", "owner@farm.test").await;
    let printer = simulated_printer(&owner, org, "Sim 2", 60.0).await;
    server
        .wait_for(&owner, &printer, "idle", |l| state(l) == "idle")
        .await;

    // Someone starts a print at the printer itself: recorded as unmanaged, and audited.
    let (status, _) = owner
        .post(
            &format!("{printer}/simulation/faults"),
            json!({ "fault": "start_local", "file_name": "usb.gcode", "duration_s": 120 }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    server
        .wait_for(&owner, &printer, "printing", |l| state(l) == "printing")
        .await;
    let (_, prints) = owner.get(&format!("{printer}/prints")).await;
    assert_eq!(prints[0]["file_name"], "usb.gcode");
    assert_eq!(prints[0]["managed"], false);
    assert!(prints[0]["started_by"].is_null());

    // It drops off mid-print: offline, the print "unknown"; it comes back after the print
    // finished: the print is settled as completed, never restarted.
    let (status, _) = owner
        .post(
            &format!("{printer}/simulation/faults"),
            json!({ "fault": "disconnect", "for_s": 240 }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    server
        .wait_for(&owner, &printer, "offline", |l| state(l) == "offline")
        .await;
    let (_, prints) = owner.get(&format!("{printer}/prints")).await;
    assert_eq!(prints[0]["state"], "unknown", "{prints}");
    server
        .wait_for(&owner, &printer, "back", |l| {
            state(l) == "awaiting_bed_clear"
        })
        .await;
    let (_, prints) = owner.get(&format!("{printer}/prints")).await;
    assert_eq!(prints[0]["state"], "completed", "{prints}");
    assert_eq!(
        prints.as_array().unwrap().len(),
        1,
        "not restarted: {prints}"
    );
    let actions = audit_actions(&owner, org).await;
    for action in [
        "print.unmanaged_detected",
        "print.contact_lost",
        "print.ended",
    ] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} in {actions:?}"
        );
    }

    // A printer error fails the print and shows the message.
    owner.post_empty(&format!("{printer}/bed-clear")).await;
    let (status, _) = start(&owner, &printer, "doomed.gcode", &small_gcode()).await;
    assert_eq!(status, StatusCode::CREATED);
    owner
        .post(
            &format!("{printer}/simulation/faults"),
            json!({ "fault": "fail", "message": "thermal runaway" }),
        )
        .await;
    let live = server
        .wait_for(&owner, &printer, "error", |l| state(l) == "error")
        .await;
    assert!(
        live["detail"].as_str().unwrap().contains("thermal runaway"),
        "{live}"
    );
    let (_, prints) = owner.get(&format!("{printer}/prints")).await;
    assert_eq!(prints[0]["state"], "failed", "{prints}");
}

async fn maintenance_and_refusals_are_clear(server: &TestServer) {
    let (org, owner) = server.org_with_owner("Farm", "owner@farm.test").await;
    let printer = simulated_printer(&owner, org, "Sim 3", 60.0).await;
    server
        .wait_for(&owner, &printer, "idle", |l| state(l) == "idle")
        .await;
    let (status, live) = owner
        .put(&format!("{printer}/maintenance"), json!({ "on": true }))
        .await;
    assert_eq!(status, StatusCode::OK, "{live}");
    assert_eq!(live["state"], "maintenance");
    let (status, error) = start(&owner, &printer, "x.gcode", &small_gcode()).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("maintenance"),
        "{error}"
    );
    let (_, live) = owner
        .put(&format!("{printer}/maintenance"), json!({ "on": false }))
        .await;
    assert_eq!(live["state"], "idle");

    // Bad input: clear errors, nothing started.
    let (status, error) = start(&owner, &printer, "../etc.gcode", &small_gcode()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    let (status, _) = start(&owner, &printer, "empty.gcode", "").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, error) = owner
        .post(&format!("{printer}/preheat"), json!({ "tool": 9000 }))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    let (status, live) = owner
        .post(
            &format!("{printer}/preheat"),
            json!({ "tool": 200, "bed": 60 }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{live}");
    assert_eq!(live["temperatures"]["tool_target"], 200.0);
    let (status, _) = owner
        .post(
            &format!("{printer}/gcode"),
            json!({ "lines": ["G28", "M105"] }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, prints) = owner.get(&format!("{printer}/prints")).await;
    assert!(prints.as_array().unwrap().is_empty());

    // A member with only queue access sees the printer but cannot pause, stop or send G-code.
    let (member, _) = server
        .member(&owner, org, "Member", "member@farm.test")
        .await;
    let (status, _) = member.get(&format!("{printer}/live")).await;
    assert_eq!(status, StatusCode::OK);
    for path in ["pause", "emergency-stop"] {
        let (status, error) = member.post_empty(&format!("{printer}/{path}")).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {error}");
    }
    let (status, _) = member
        .post(&format!("{printer}/gcode"), json!({ "lines": ["M112"] }))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

async fn printer_events_stream_only_visible_printers(server: &TestServer) {
    let (org, owner) = server.org_with_owner("Farm", "owner@farm.test").await;
    let printer = simulated_printer(&owner, org, "Sim 4", 60.0).await;
    let (other_org, other_owner) = server.org_with_owner("Elsewhere", "owner@else.test").await;
    let hidden = simulated_printer(&other_owner, other_org, "Secret", 60.0).await;
    server
        .wait_for(&owner, &printer, "idle", |l| state(l) == "idle")
        .await;
    server
        .wait_for(&other_owner, &hidden, "idle", |l| state(l) == "idle")
        .await;

    let mut response = owner
        .raw_get(&format!("/api/v1/orgs/{org}/printer-events"))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    // Something changes on both printers while the stream is open.
    let (status, _) = start(&owner, &printer, "live.gcode", &small_gcode()).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = start(&other_owner, &hidden, "secret.gcode", &small_gcode()).await;
    assert_eq!(status, StatusCode::CREATED);
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !text.contains("\"printing\"") && tokio::time::Instant::now() < deadline {
        match tokio::time::timeout(Duration::from_secs(5), response.chunk()).await {
            Ok(Ok(Some(chunk))) => text.push_str(&String::from_utf8_lossy(&chunk)),
            _ => break,
        }
    }
    assert!(text.contains("event: printer"), "{text}");
    assert!(text.contains("\"printing\""), "{text}");
    let hidden_id = hidden.rsplit('/').next().unwrap();
    assert!(
        !text.contains(&format!("\"printer_id\":{hidden_id},")),
        "{text}"
    );
    assert!(!text.contains("secret.gcode"), "{text}");
}

/// G-code the OctoPrint virtual printer takes about `moves` × 0.1 s for (it sleeps a tenth of
/// a move's duration; 10 mm at 10 mm/s), absolute positioning, no heating waits.
fn virtual_printer_gcode(moves: usize) -> String {
    let mut text = String::from("G90\nM83\nG28\n");
    for i in 0..moves {
        let x = if i % 2 == 0 { "10" } else { "20" };
        text.push_str(&format!("G1 X{x} Y10 E0.01 F600\n"));
    }
    text
}

async fn network_printer(
    owner: &Client,
    org: i64,
    name: &str,
    driver: &str,
    url: &str,
    key: Option<&str>,
) -> String {
    let (_, site) = owner
        .post(
            &format!("/api/v1/orgs/{org}/sites"),
            json!({ "name": format!("Hall of {name}") }),
        )
        .await;
    let (status, printer) = owner
        .post(
            &format!("/api/v1/orgs/{org}/printers"),
            json!({ "name": name, "site_id": site["id"], "driver": driver, "url": url, "credential": key }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{printer}");
    format!("/api/v1/orgs/{org}/printers/{}", printer["id"])
}

async fn octoprint_prints_through_the_api_and_is_reconciled_after_a_crash(server: &TestServer) {
    let mut octoprint = printers::octoprint_harness::OctoPrintHarness::start().await;
    let (org, owner) = server.org_with_owner("Farm", "owner@farm.test").await;
    let printer = network_printer(
        &owner,
        org,
        "OctoPrint",
        "octoprint",
        octoprint.url(),
        Some(octoprint.api_key()),
    )
    .await;
    server
        .wait_for(&owner, &printer, "idle", |l| state(l) == "idle")
        .await;

    // Upload and start, pause, resume, cancel.
    let (status, print) = start(&owner, &printer, "long.gcode", &virtual_printer_gcode(300)).await;
    assert_eq!(status, StatusCode::CREATED, "{print}");
    server
        .wait_for(&owner, &printer, "printing", |l| state(l) == "printing")
        .await;
    let (status, live) = owner.post_empty(&format!("{printer}/pause")).await;
    assert_eq!(status, StatusCode::OK, "{live}");
    server
        .wait_for(&owner, &printer, "paused", |l| state(l) == "paused")
        .await;
    let (status, live) = owner.post_empty(&format!("{printer}/resume")).await;
    assert_eq!(status, StatusCode::OK, "{live}");
    server
        .wait_for(&owner, &printer, "printing again", |l| {
            state(l) == "printing"
        })
        .await;
    let (status, live) = owner.post_empty(&format!("{printer}/cancel")).await;
    assert_eq!(status, StatusCode::OK, "{live}");
    server
        .wait_for(&owner, &printer, "awaiting bed clear", |l| {
            state(l) == "awaiting_bed_clear"
        })
        .await;
    let (_, prints) = owner.get(&format!("{printer}/prints")).await;
    assert_eq!(prints[0]["state"], "cancelled", "{prints}");
    owner.post_empty(&format!("{printer}/bed-clear")).await;

    // A print that runs to its end.
    let (status, _) = start(&owner, &printer, "short.gcode", &virtual_printer_gcode(20)).await;
    assert_eq!(status, StatusCode::CREATED);
    server
        .wait_within(&owner, &printer, "done", Duration::from_secs(60), |l| {
            state(l) == "awaiting_bed_clear"
        })
        .await;
    let (_, prints) = owner.get(&format!("{printer}/prints")).await;
    assert_eq!(prints[0]["state"], "completed", "{prints}");
    owner.post_empty(&format!("{printer}/bed-clear")).await;

    // OctoPrint crashes mid-print: offline, print unknown; back up, the print is gone (the
    // virtual printer restarts empty): recorded as failed, never restarted.
    let (status, _) = start(&owner, &printer, "crash.gcode", &virtual_printer_gcode(600)).await;
    assert_eq!(status, StatusCode::CREATED);
    server
        .wait_for(&owner, &printer, "printing", |l| state(l) == "printing")
        .await;
    octoprint.kill().await;
    server
        .wait_for(&owner, &printer, "offline", |l| state(l) == "offline")
        .await;
    let (_, prints) = owner.get(&format!("{printer}/prints")).await;
    assert_eq!(prints[0]["state"], "unknown", "{prints}");
    octoprint.restart().await;
    server
        .wait_within(
            &owner,
            &printer,
            "reconciled",
            Duration::from_secs(60),
            |l| state(l) == "awaiting_bed_clear",
        )
        .await;
    let (_, prints) = owner.get(&format!("{printer}/prints")).await;
    assert_eq!(prints[0]["state"], "failed", "{prints}");
    assert_eq!(
        prints.as_array().unwrap().len(),
        3,
        "nothing restarted: {prints}"
    );
    let actions = audit_actions(&owner, org).await;
    for action in ["print.contact_lost", "print.ended", "printer.cancel"] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} in {actions:?}"
        );
    }
}

async fn moonraker_prints_through_the_api_and_survives_disconnects(server: &TestServer) {
    let fake = printers::fake_moonraker::FakeMoonraker::start_with_api_key("moon-key").await;
    fake.set_print_duration(3.0);
    let (org, owner) = server.org_with_owner("Farm", "owner@farm.test").await;
    let printer = network_printer(
        &owner,
        org,
        "Voron",
        "moonraker",
        &fake.url(),
        Some("moon-key"),
    )
    .await;
    server
        .wait_for(&owner, &printer, "idle", |l| state(l) == "idle")
        .await;
    let (status, print) = start(&owner, &printer, "moon.gcode", &small_gcode()).await;
    assert_eq!(status, StatusCode::CREATED, "{print}");
    server
        .wait_for(&owner, &printer, "printing", |l| state(l) == "printing")
        .await;
    // Dropped websockets are reconnected; the print is still followed to its end.
    fake.disconnect_all();
    server
        .wait_within(&owner, &printer, "done", Duration::from_secs(30), |l| {
            state(l) == "awaiting_bed_clear"
        })
        .await;
    let (_, prints) = owner.get(&format!("{printer}/prints")).await;
    assert_eq!(prints[0]["state"], "completed", "{prints}");

    // A wrong key: the printer shows offline with the reason.
    let wrong = network_printer(
        &owner,
        org,
        "Stranger",
        "moonraker",
        &fake.url(),
        Some("wrong"),
    )
    .await;
    let live = server
        .wait_for(&owner, &wrong, "offline with a reason", |l| {
            state(l) == "offline" && l["detail"] != ""
        })
        .await;
    assert!(
        live["detail"].as_str().unwrap().contains("credentials"),
        "{live}"
    );
}

async fn bed_clear_confirmation_follows_the_organization_setting(server: &TestServer) {
    let (org, owner) = server.org_with_owner("Farm", "owner@farm.test").await;
    let printer = simulated_printer(&owner, org, "Sim 5", 600.0).await;
    server
        .wait_for(&owner, &printer, "idle", |l| state(l) == "idle")
        .await;
    let (status, _) = start(&owner, &printer, "quick.gcode", &small_gcode()).await;
    assert_eq!(status, StatusCode::CREATED);
    server
        .wait_for(&owner, &printer, "awaiting bed clear", |l| {
            state(l) == "awaiting_bed_clear"
        })
        .await;

    // A lab assistant who may confirm bed clears, with view access only (the Viewer rank's).
    let rank = server.rank_id(&owner, org, "Viewer").await;
    let (status, body) = owner
        .patch(
            &format!("/api/v1/orgs/{org}/ranks/{rank}"),
            json!({ "permissions": ["organization.view", "printers.view", "printer_control.confirm_bed_clear"] }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (assistant, _) = server
        .member(&owner, org, "Viewer", "assistant@farm.test")
        .await;
    let (_, seen) = assistant.get(&format!("/api/v1/orgs/{org}/printers")).await;
    assert_eq!(seen["printers"][0]["access"], "view", "{seen}");

    // By default confirming needs print access...
    let (status, error) = assistant.post_empty(&format!("{printer}/bed-clear")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{error}");
    assert_eq!(error["error"]["needed_access"], "print");
    // ... unless the organization lets anyone with access confirm.
    let (status, body) = owner
        .patch(
            &format!("/api/v1/orgs/{org}"),
            json!({ "bed_clear_access": "any_access" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, live) = assistant.post_empty(&format!("{printer}/bed-clear")).await;
    assert_eq!(status, StatusCode::OK, "{live}");
    assert_eq!(live["state"], "idle");
}

/// Farmhand itself restarts mid-print: every printer is supervised again from the database,
/// with its model and the print it was running. The simulated printer restarts empty (it lives
/// in the server's process), so the print it no longer reports is settled as failed, not left
/// "printing" and not restarted.
async fn farmhand_restarts_with_its_printers_and_their_prints(backend: store::Backend) {
    let mut server = TestServer::start(backend).await;
    let (org, owner) = server.org_with_owner("Farm", "owner@farm.test").await;
    let (status, model) = owner
        .post(
            &format!("/api/v1/orgs/{org}/printer-models"),
            json!({ "name": "Voron", "motion": { "firmware": "klipper" } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{model}");
    let printer = simulated_printer(&owner, org, "Sim 1", 1.0).await;
    let (status, body) = owner
        .put(
            &printer,
            json!({
                "name": "Sim 1",
                "site_id": owner.get(&printer).await.1["site_id"],
                "model_id": model["id"],
                "settings": { "speed": 1.0 }
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    server
        .wait_for(&owner, &printer, "idle", |l| state(l) == "idle")
        .await;
    let (status, started) = start(&owner, &printer, "long.gcode", &small_gcode()).await;
    assert_eq!(status, StatusCode::CREATED, "{started}");
    server
        .wait_for(&owner, &printer, "printing", |l| state(l) == "printing")
        .await;

    server.restart().await;
    let owner = server.client();
    owner.sign_in("owner@farm.test", PASSWORD).await;
    server
        .wait_for(&owner, &printer, "reconciled", |l| {
            state(l) == "awaiting_bed_clear"
        })
        .await;
    let (_, prints) = owner.get(&format!("{printer}/prints")).await;
    assert_eq!(
        prints.as_array().unwrap().len(),
        1,
        "nothing restarted: {prints}"
    );
    assert_eq!(prints[0]["state"], "failed", "{prints}");
    let (_, listed) = owner.get(&format!("/api/v1/orgs/{org}/printers")).await;
    assert_eq!(listed["printers"][0]["model_id"], model["id"], "{listed}");
    server.stop().await;
}

/// An injected fault is bounded like anything a printer reports: a message of at most 500
/// printable characters (a 1 MB one once made the printer list 2 MB), a proper file name,
/// finite durations in range. Refused with 422 naming the field; nothing reaches the printer.
async fn injected_faults_are_bounded_like_what_a_printer_reports(server: &TestServer) {
    let (org, owner) = server.org_with_owner("Farm", "owner@farm.test").await;
    let printer = simulated_printer(&owner, org, "Sim 9", 60.0).await;
    server
        .wait_for(&owner, &printer, "idle", |l| state(l) == "idle")
        .await;
    let faults = format!("{printer}/simulation/faults");
    for (fault, field) in [
        (
            json!({ "fault": "fail", "message": "x".repeat(501) }),
            "message",
        ),
        (
            json!({ "fault": "fail", "message": "x".repeat(1 << 20) }),
            "message",
        ),
        (json!({ "fault": "fail", "message": "" }), "message"),
        (
            json!({ "fault": "fail", "message": "line one\nline two" }),
            "message",
        ),
        (
            json!({ "fault": "fail", "message": "\u{1b}[31mred alert" }),
            "message",
        ),
        (json!({ "fault": "disconnect", "for_s": -5 }), "for_s"),
        (json!({ "fault": "disconnect", "for_s": 1e12 }), "for_s"),
        (
            json!({ "fault": "start_local", "file_name": "../../etc/passwd", "duration_s": 60 }),
            "file_name",
        ),
        (
            json!({ "fault": "start_local", "file_name": "y".repeat(100_000), "duration_s": 60 }),
            "file_name",
        ),
        (
            json!({ "fault": "start_local", "file_name": "usb.gcode", "duration_s": 0 }),
            "duration_s",
        ),
        (
            json!({ "fault": "start_local", "file_name": "usb.gcode", "duration_s": 1e300 }),
            "duration_s",
        ),
    ] {
        let (status, error) = owner.post(&faults, fault.clone()).await;
        let shown: String = fault.to_string().chars().take(120).collect();
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{shown}: {error}");
        assert_eq!(error["error"]["field"], field, "{shown}: {error}");
    }
    let live = server
        .wait_for(&owner, &printer, "still idle", |l| state(l) == "idle")
        .await;
    assert!(
        live["detail"].as_str().unwrap_or_default().is_empty(),
        "{live}"
    );
    let actions = audit_actions(&owner, org).await;
    assert!(
        !actions.iter().any(|a| a == "printer.simulated_fault"),
        "{actions:?}"
    );

    // The longest message allowed is shown whole, and the printer list stays small.
    let message = "é".repeat(500);
    let (status, _) = owner
        .post(&faults, json!({ "fault": "fail", "message": message }))
        .await;
    assert_eq!(status, StatusCode::OK);
    let live = server
        .wait_for(&owner, &printer, "error", |l| state(l) == "error")
        .await;
    assert!(
        live["detail"].as_str().unwrap().contains(&message),
        "{live}"
    );
    let (_, list) = owner.get(&format!("/api/v1/orgs/{org}/printers")).await;
    assert!(
        list.to_string().len() < 8 * 1024,
        "{}",
        list.to_string().len()
    );
}
