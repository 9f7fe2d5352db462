//! The dispatcher over HTTP, with Farmhand's simulated printer: a queued job reaches a free
//! printer by itself, prints, completes; the next one waits for the plate to be confirmed
//! clear; a job of several copies prints each; a printer in maintenance takes nothing; and
//! "why is my job not printing?" names what holds each printer; on a printer whose jobs are
//! started by hand, a matched job waits until someone starts it; operators assign by hand; and
//! the same path through real OctoPrint (its virtual printer) and the fake Moonraker.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{Client, TestServer};

crate::on_both_backends!(
    queued_jobs_print_by_themselves_one_plate_at_a_time,
    a_printer_in_maintenance_takes_nothing,
    jobs_wait_on_a_printer_started_by_hand_until_someone_starts_them,
    a_job_whose_printer_drops_off_is_unknown_then_settled,
    copies_print_on_several_printers_at_once,
    a_copy_that_fails_beside_others_fails_the_job_once_they_end,
    fair_share_serves_whoever_printed_least_first,
    a_reserved_printer_takes_only_its_holders_jobs,
    jobs_that_would_end_outside_staffed_hours_wait,
    queued_jobs_print_on_octoprint_one_plate_at_a_time,
    queued_jobs_print_on_moonraker_one_plate_at_a_time,
);

/// A short print: about four seconds at the simulator's speed.
fn small_gcode() -> String {
    let mut text = String::from("; dispatch test part\nG21\nG90\nM83\nG1 Z0.2 F600\n");
    for i in 0..300 {
        let y = 10 + i % 2 * 40;
        text.push_str(&format!("G1 X{} Y{y} E1.5 F3000\n", 10 + i));
    }
    text
}

/// An organization with one simulated printer (60 times faster than life) at a site, and a
/// member's uploaded file.
struct Farm {
    org: i64,
    owner: Client,
    member: Client,
    printer: i64,
    file: i64,
}

impl Farm {
    async fn open(server: &TestServer) -> Farm {
        let simulated = json!({ "name": "Sim", "settings": { "speed": 60.0 } });
        Farm::with_printer(server, simulated, small_gcode()).await
    }

    /// With the printer `printer` describes (its site is added) and `gcode` as the file.
    async fn with_printer(server: &TestServer, mut printer: Value, gcode: String) -> Farm {
        let (org, owner) = server.org_with_owner("Farm", "owner@farm.test").await;
        let (_, site) = owner
            .post(
                &format!("/api/v1/orgs/{org}/sites"),
                json!({ "name": "Lab" }),
            )
            .await;
        printer["site_id"] = site["id"].clone();
        let (status, printer) = owner
            .post(&format!("/api/v1/orgs/{org}/printers"), printer)
            .await;
        assert_eq!(status, StatusCode::CREATED, "{printer}");
        let (member, _) = server
            .member(&owner, org, "Member", "member@farm.test")
            .await;
        let response = member
            .raw_post(
                &format!("/api/v1/orgs/{org}/files?name=part.gcode"),
                gcode.into_bytes(),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let file: Value = response.json().await.unwrap();
        Farm {
            org,
            owner,
            member,
            printer: printer["id"].as_i64().unwrap(),
            file: file["id"].as_i64().unwrap(),
        }
    }

    fn path(&self, rest: &str) -> String {
        format!("/api/v1/orgs/{}/{rest}", self.org)
    }

    async fn submit(&self, body: Value) -> i64 {
        let (status, job) = self.member.post(&self.path("jobs"), body).await;
        assert_eq!(status, StatusCode::CREATED, "{job}");
        job["id"].as_i64().unwrap()
    }

    /// Drives the printer and the dispatcher until the job is in `state`.
    async fn wait_for_job(&self, server: &TestServer, job: i64, state: &str) -> Value {
        self.wait_for_job_where(server, job, state, |seen| seen["state"] == state)
            .await
    }

    /// Drives the printer and the dispatcher until the job passes `check`.
    async fn wait_for_job_where(
        &self,
        server: &TestServer,
        job: i64,
        what: &str,
        check: impl Fn(&Value) -> bool,
    ) -> Value {
        self.wait_for_job_on(server, &[self.printer], job, what, check)
            .await
    }

    /// Adds a second simulated printer at the first one's site.
    async fn add_printer(&self, name: &str) -> i64 {
        let (_, first) = self
            .owner
            .get(&self.path(&format!("printers/{}", self.printer)))
            .await;
        let body = json!({
            "name": name, "site_id": first["site_id"], "settings": { "speed": 60.0 },
        });
        let (status, printer) = self.owner.post(&self.path("printers"), body).await;
        assert_eq!(status, StatusCode::CREATED, "{printer}");
        printer["id"].as_i64().unwrap()
    }

    /// Drives these printers and the dispatcher until the job's timeline has `step`.
    async fn wait_for_step(&self, server: &TestServer, printers: &[i64], job: i64, step: &str) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while tokio::time::Instant::now() < deadline {
            for printer in printers {
                let _ = server
                    .app()
                    .observe_printer_now(domain::PrinterId(*printer))
                    .await;
            }
            server.app().dispatch_once().await.unwrap();
            if self.steps(job).await.iter().any(|s| s == step) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "job {job}: never {step}; steps: {:?}",
            self.steps(job).await
        );
    }

    /// Drives these printers and the dispatcher until the job passes `check`.
    async fn wait_for_job_on(
        &self,
        server: &TestServer,
        printers: &[i64],
        job: i64,
        what: &str,
        check: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        let mut last = Value::Null;
        while tokio::time::Instant::now() < deadline {
            for printer in printers {
                let _ = server
                    .app()
                    .observe_printer_now(domain::PrinterId(*printer))
                    .await;
            }
            server.app().dispatch_once().await.unwrap();
            let (_, seen) = self.owner.get(&self.path(&format!("jobs/{job}"))).await;
            if check(&seen) {
                return seen;
            }
            last = seen;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let printer = self.path(&format!("printers/{}", self.printer));
        let (_, live) = self.owner.get(&format!("{printer}/live")).await;
        let (_, prints) = self.owner.get(&format!("{printer}/prints")).await;
        panic!("job {job}: never {what}; last seen: {last}\nprinter: {live}\nprints: {prints}");
    }

    async fn why(&self, job: i64) -> Value {
        let (status, why) = self
            .member
            .get(&self.path(&format!("jobs/{job}/why-not-printing")))
            .await;
        assert_eq!(status, StatusCode::OK, "{why}");
        why
    }

    async fn steps(&self, job: i64) -> Vec<String> {
        let (_, timeline) = self
            .member
            .get(&self.path(&format!("jobs/{job}/timeline")))
            .await;
        timeline
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["step"].as_str().unwrap().to_string())
            .collect()
    }
}

async fn queued_jobs_print_by_themselves_one_plate_at_a_time(server: &TestServer) {
    let farm = Farm::open(server).await;
    let printer_path = farm.path(&format!("printers/{}", farm.printer));
    server
        .wait_for(&farm.owner, &printer_path, "idle", |l| l["state"] == "idle")
        .await;
    let first = farm
        .submit(json!({ "file_id": farm.file, "target": { "any": true } }))
        .await;
    let printing = farm.wait_for_job(server, first, "printing").await;
    assert_eq!(printing["printer_id"], json!(farm.printer));

    // The second waits while the first prints and while its plate is not cleared.
    let second = farm
        .submit(
            json!({ "file_id": farm.file, "target": { "printer_id": farm.printer },
                        "copies": 2 }),
        )
        .await;
    let why = farm.why(second).await;
    assert_eq!(
        why["candidates"][0]["printer_id"],
        json!(farm.printer),
        "{why}"
    );
    assert_eq!(why["candidates"][0]["reasons"][0]["code"], "busy", "{why}");
    farm.wait_for_job(server, first, "completed").await;
    let why = farm.why(second).await;
    let code = &why["candidates"][0]["reasons"][0]["code"];
    assert_eq!(code, "awaiting_bed_clear", "{why}");
    let (status, refused) = farm
        .member
        .get(&farm.path(&format!("jobs/{first}/why-not-printing")))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(refused["error"]["code"], "job_not_waiting");
    let outcome = server.app().dispatch_once().await.unwrap();
    assert!(outcome.started.is_empty(), "{outcome:?}");
    let (_, waiting) = farm.member.get(&farm.path(&format!("jobs/{second}"))).await;
    assert_eq!(waiting["state"], "queued");
    assert_eq!(
        farm.steps(first).await,
        ["submitted", "assigned", "started", "completed"]
    );

    // Each copy after the plate is confirmed clear.
    for copy in 1..=2 {
        let (status, _) = farm
            .owner
            .post_empty(&format!("{printer_path}/bed-clear"))
            .await;
        assert_eq!(status, StatusCode::OK, "copy {copy}");
        let done = farm
            .wait_for_job_where(server, second, "printed a copy", |seen| {
                seen["copies_done"] == copy
            })
            .await;
        let after = if copy == 1 { "queued" } else { "completed" };
        assert_eq!(done["state"], after, "{done}");
    }
    assert_eq!(
        farm.steps(second).await,
        [
            "submitted",
            "assigned",
            "started",
            "completed",
            "next_copy",
            "assigned",
            "started",
            "completed"
        ]
    );

    // Every step is also in the audit log, by the dispatcher.
    let (_, events) = farm
        .owner
        .get(&farm.path("audit-events?action=job.started"))
        .await;
    let events = events["events"].as_array().unwrap();
    assert_eq!(events.len(), 3, "{events:?}");
    assert_eq!(events[0]["actor_label"], "dispatcher");
}

/// A farm of two printers, and a job of three copies printing on both.
async fn three_copies_printing_on_two_printers(server: &TestServer) -> (Farm, [i64; 2], i64) {
    let farm = Farm::open(server).await;
    let second = farm.add_printer("Sim 2").await;
    let printers = [farm.printer, second];
    for printer in printers {
        let path = farm.path(&format!("printers/{printer}"));
        server
            .wait_for(&farm.owner, &path, "idle", |l| l["state"] == "idle")
            .await;
    }
    let job = farm
        .submit(json!({ "file_id": farm.file, "target": { "any": true }, "copies": 3 }))
        .await;
    farm.wait_for_step(server, &printers, job, "copy_started")
        .await;
    (farm, printers, job)
}

/// Which printers printed the job, in the order its prints started.
async fn printers_of(farm: &Farm, printers: [i64; 2], job: i64) -> Vec<(i64, String)> {
    let mut seen = Vec::new();
    for printer in printers {
        let path = farm.path(&format!("printers/{printer}/prints"));
        let (_, prints) = farm.owner.get(&path).await;
        for print in prints.as_array().unwrap() {
            let name = print["file_name"].as_str().unwrap();
            if name.starts_with(&format!("job{job}-")) {
                let state = print["state"].as_str().unwrap().to_string();
                seen.push((print["id"].as_i64().unwrap(), printer, state));
            }
        }
    }
    seen.sort();
    seen.into_iter().map(|(_, p, s)| (p, s)).collect()
}

async fn copies_print_on_several_printers_at_once(server: &TestServer) {
    // The second copy starts on the other printer while the first prints.
    let (farm, printers, job) = three_copies_printing_on_two_printers(server).await;
    let second = printers[1];
    let steps = farm.steps(job).await;
    assert_eq!(
        steps[..4],
        ["submitted", "assigned", "started", "copy_started"]
    );
    // Both end; the third copy waits for a plate to be confirmed clear.
    let done = farm
        .wait_for_job_on(server, &printers, job, "printed two copies", |seen| {
            seen["copies_done"] == 2
        })
        .await;
    assert_eq!(done["state"], "queued", "{done}");
    let (status, _) = farm
        .owner
        .post_empty(&farm.path(&format!("printers/{second}/bed-clear")))
        .await;
    assert_eq!(status, StatusCode::OK);
    let done = farm
        .wait_for_job_on(server, &printers, job, "completed", |seen| {
            seen["state"] == "completed"
        })
        .await;
    assert_eq!(done["copies_done"], 3, "{done}");
    assert_eq!(
        farm.steps(job).await,
        [
            "submitted",
            "assigned",
            "started",
            "copy_started",
            "copy_completed",
            "completed",
            "next_copy",
            "assigned",
            "started",
            "completed",
        ]
    );
    let prints = printers_of(&farm, printers, job).await;
    let on: Vec<i64> = prints.iter().map(|(p, _)| *p).collect();
    assert_eq!(on, [farm.printer, second, second], "{prints:?}");
    assert!(prints.iter().all(|(_, s)| s == "completed"), "{prints:?}");
}

async fn a_copy_that_fails_beside_others_fails_the_job_once_they_end(server: &TestServer) {
    let (farm, printers, job) = three_copies_printing_on_two_printers(server).await;
    let second = printers[1];
    // The second copy fails at its printer: the first goes on, no third copy starts.
    let (status, _) = farm
        .owner
        .post(
            &farm.path(&format!("printers/{second}/simulation/faults")),
            json!({ "fault": "fail", "message": "nozzle clogged" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    farm.wait_for_step(server, &printers, job, "copy_failed")
        .await;
    let (_, printing) = farm.member.get(&farm.path(&format!("jobs/{job}"))).await;
    assert_eq!(printing["state"], "printing", "{printing}");
    let failed = farm
        .wait_for_job_on(server, &printers, job, "failed", |seen| {
            seen["state"] == "failed"
        })
        .await;
    assert_eq!(failed["copies_done"], 1, "{failed}");
    assert_eq!(failed["reason"], "nozzle clogged", "{failed}");
    let steps = farm.steps(job).await;
    assert_eq!(
        steps,
        [
            "submitted",
            "assigned",
            "started",
            "copy_started",
            "copy_failed",
            "failed"
        ]
    );
    let prints = printers_of(&farm, printers, job).await;
    let states: Vec<&str> = prints.iter().map(|(_, s)| s.as_str()).collect();
    assert_eq!(states, ["completed", "failed"], "{prints:?}");
}

async fn a_printer_in_maintenance_takes_nothing(server: &TestServer) {
    let farm = Farm::open(server).await;
    let printer_path = farm.path(&format!("printers/{}", farm.printer));
    server
        .wait_for(&farm.owner, &printer_path, "idle", |l| l["state"] == "idle")
        .await;
    let (status, _) = farm
        .owner
        .put(
            &format!("{printer_path}/maintenance"),
            json!({ "on": true }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let job = farm
        .submit(json!({ "file_id": farm.file, "target": { "printer_id": farm.printer } }))
        .await;
    let outcome = server.app().dispatch_once().await.unwrap();
    assert!(outcome.started.is_empty(), "{outcome:?}");
    let (_, waiting) = farm.member.get(&farm.path(&format!("jobs/{job}"))).await;
    assert_eq!(waiting["state"], "queued");
    let why = farm.why(job).await;
    assert_eq!(
        why["candidates"][0]["reasons"][0]["code"], "maintenance",
        "{why}"
    );
    assert_eq!(why["hidden_candidates"], 0);
    let (status, _) = farm
        .owner
        .put(
            &format!("{printer_path}/maintenance"),
            json!({ "on": false }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    farm.wait_for_job(server, job, "printing").await;
}

async fn jobs_wait_on_a_printer_started_by_hand_until_someone_starts_them(server: &TestServer) {
    let farm = Farm::open(server).await;
    let printer_path = farm.path(&format!("printers/{}", farm.printer));
    server
        .wait_for(&farm.owner, &printer_path, "idle", |l| l["state"] == "idle")
        .await;
    let (status, printer) = farm
        .owner
        .put(
            &format!("{printer_path}/auto-start"),
            json!({ "on": false }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{printer}");
    assert_eq!(printer["auto_start"], false);

    // Matched to the printer, the job waits there; the printer takes no other.
    let first = farm
        .submit(json!({ "file_id": farm.file, "target": { "any": true } }))
        .await;
    let assigned = farm.wait_for_job(server, first, "assigned").await;
    assert_eq!(assigned["printer_id"], json!(farm.printer));
    let why = farm.why(first).await;
    let code = &why["candidates"][0]["reasons"][0]["code"];
    assert_eq!(code, "auto_start_off", "{why}");
    let second = farm
        .submit(json!({ "file_id": farm.file, "target": { "any": true } }))
        .await;
    let outcome = server.app().dispatch_once().await.unwrap();
    assert!(
        outcome.started.is_empty() && outcome.assigned.is_empty(),
        "{outcome:?}"
    );

    // Only a queued job can be started... by hand, on its printer.
    let (status, refused) = farm
        .owner
        .post_empty(&farm.path(&format!("jobs/{second}/start")))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert_eq!(refused["error"]["code"], "invalid_transition");
    let (status, started) = farm
        .owner
        .post_empty(&farm.path(&format!("jobs/{first}/start")))
        .await;
    assert_eq!(status, StatusCode::OK, "{started}");
    assert_eq!(started["state"], "printing");
    let (_, timeline) = farm
        .member
        .get(&farm.path(&format!("jobs/{first}/timeline")))
        .await;
    let started_by = timeline
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["step"] == "started")
        .map(|s| s["actor_name"].clone());
    assert_eq!(started_by, Some(json!("Owner")), "{timeline}");

    // An operator sends the second job to the printer by hand; it waits for the plate, then
    // for someone to start it.
    let (status, assigned) = farm
        .owner
        .post(
            &farm.path(&format!("jobs/{second}/assign")),
            json!({ "printer_id": farm.printer }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{assigned}");
    assert_eq!(assigned["state"], "assigned");
    farm.wait_for_job(server, first, "completed").await;
    let (status, _) = farm
        .owner
        .post_empty(&format!("{printer_path}/bed-clear"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let outcome = server.app().dispatch_once().await.unwrap();
    assert!(outcome.started.is_empty(), "{outcome:?}");
    let (status, started) = farm
        .owner
        .post_empty(&farm.path(&format!("jobs/{second}/start")))
        .await;
    assert_eq!(status, StatusCode::OK, "{started}");
    farm.wait_for_job(server, second, "completed").await;
}

async fn a_job_whose_printer_drops_off_is_unknown_then_settled(server: &TestServer) {
    let farm = Farm::open(server).await;
    let printer_path = farm.path(&format!("printers/{}", farm.printer));
    server
        .wait_for(&farm.owner, &printer_path, "idle", |l| l["state"] == "idle")
        .await;
    let job = farm
        .submit(json!({ "file_id": farm.file, "target": { "any": true } }))
        .await;
    farm.wait_for_job(server, job, "printing").await;
    let (status, _) = farm
        .owner
        .post(
            &format!("{printer_path}/simulation/faults"),
            json!({ "fault": "disconnect", "for_s": 600 }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    farm.wait_for_job(server, job, "unknown").await;
    // Back after the print ended: settled as the printer says, never restarted.
    farm.wait_for_job(server, job, "completed").await;
    assert_eq!(
        farm.steps(job).await,
        [
            "submitted",
            "assigned",
            "started",
            "contact_lost",
            "completed"
        ]
    );
    let (_, prints) = farm.owner.get(&format!("{printer_path}/prints")).await;
    assert_eq!(prints.as_array().unwrap().len(), 1, "{prints}");
}

async fn fair_share_serves_whoever_printed_least_first(server: &TestServer) {
    let farm = Farm::open(server).await;
    let printer_path = farm.path(&format!("printers/{}", farm.printer));
    server
        .wait_for(&farm.owner, &printer_path, "idle", |l| l["state"] == "idle")
        .await;
    let (other, _) = server
        .member(&farm.owner, farm.org, "Member", "other@farm.test")
        .await;
    let response = other
        .raw_post(
            &farm.path("files?name=other.gcode"),
            small_gcode().into_bytes(),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let other_file: Value = response.json().await.unwrap();

    // The first member prints once; then both queue, the first member first in line.
    let printed = farm
        .submit(json!({ "file_id": farm.file, "target": { "any": true } }))
        .await;
    farm.wait_for_job(server, printed, "printing").await;
    // Farmhand's clock is the test's: two hours of printing pass.
    server.clock.advance_seconds(2 * 3600);
    farm.wait_for_job(server, printed, "completed").await;
    let again = farm
        .submit(json!({ "file_id": farm.file, "target": { "any": true } }))
        .await;
    let (status, theirs) = other
        .post(
            &farm.path("jobs"),
            json!({ "file_id": other_file["id"], "target": { "any": true } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{theirs}");
    let theirs = theirs["id"].as_i64().unwrap();

    let (status, org) = farm
        .owner
        .patch(
            &format!("/api/v1/orgs/{}", farm.org),
            json!({ "fair_share": true, "fair_share_window_days": 7 }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{org}");
    assert_eq!(org["fair_share"], true);
    let (status, _) = farm
        .owner
        .post_empty(&format!("{printer_path}/bed-clear"))
        .await;
    assert_eq!(status, StatusCode::OK);
    farm.wait_for_job_where(server, theirs, "started first", |seen| {
        seen["state"] == "printing" || seen["state"] == "completed"
    })
    .await;
    let (_, waiting) = farm.member.get(&farm.path(&format!("jobs/{again}"))).await;
    assert_eq!(waiting["state"], "queued", "{waiting}");
}

async fn a_reserved_printer_takes_only_its_holders_jobs(server: &TestServer) {
    let farm = Farm::open(server).await;
    let printer_path = farm.path(&format!("printers/{}", farm.printer));
    server
        .wait_for(&farm.owner, &printer_path, "idle", |l| l["state"] == "idle")
        .await;
    let (other, other_id) = server
        .member(&farm.owner, farm.org, "Member", "other@farm.test")
        .await;
    let now = domain::Clock::now(server.clock.as_ref());
    let (status, reservation) = farm
        .owner
        .post(
            &format!("{printer_path}/reservations"),
            json!({ "member_id": other_id, "starts_at": now.to_rfc3339(),
                    "ends_at": now.plus_seconds(4 * 3600).to_rfc3339(), "note": "thesis" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{reservation}");
    let (status, overlapping) = farm
        .owner
        .post(
            &format!("{printer_path}/reservations"),
            json!({ "member_id": other_id, "starts_at": now.plus_seconds(3600).to_rfc3339(),
                    "ends_at": now.plus_seconds(5 * 3600).to_rfc3339() }),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{overlapping}");
    assert_eq!(overlapping["error"]["code"], "reservation_overlaps");

    // The member's job waits, and says why; the holder's prints.
    let mine = farm
        .submit(json!({ "file_id": farm.file, "target": { "any": true } }))
        .await;
    let outcome = server.app().dispatch_once().await.unwrap();
    assert!(outcome.started.is_empty(), "{outcome:?}");
    let why = farm.why(mine).await;
    assert_eq!(
        why["candidates"][0]["reasons"][0]["code"], "reserved",
        "{why}"
    );
    let response = other
        .raw_post(
            &farm.path("files?name=thesis.gcode"),
            small_gcode().into_bytes(),
        )
        .await;
    let file: Value = response.json().await.unwrap();
    let (status, theirs) = other
        .post(
            &farm.path("jobs"),
            json!({ "file_id": file["id"], "target": { "any": true } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{theirs}");
    farm.wait_for_job(server, theirs["id"].as_i64().unwrap(), "printing")
        .await;

    // Cancelled, the reservation no longer holds the printer.
    let (status, _) = farm
        .owner
        .delete(&format!(
            "{printer_path}/reservations/{}",
            reservation["id"]
        ))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, left) = farm
        .owner
        .get(&format!("{printer_path}/reservations"))
        .await;
    assert_eq!(left, json!([]));
    let why = farm.why(mine).await;
    assert_eq!(why["candidates"][0]["reasons"][0]["code"], "busy", "{why}");
}

/// G-code the OctoPrint virtual printer takes about `moves` × 0.1 s for.
fn virtual_printer_gcode(moves: usize) -> String {
    let mut text = String::from("G90\nM83\nG28\n");
    for i in 0..moves {
        let x = if i % 2 == 0 { "10" } else { "20" };
        text.push_str(&format!("G1 X{x} Y10 E0.01 F600\n"));
    }
    text
}

/// Two queued jobs on a real peer: the first prints and completes, the second waits for the
/// plate and follows once it is confirmed clear.
async fn two_jobs_one_plate_at_a_time(server: &TestServer, farm: &Farm) {
    let printer_path = farm.path(&format!("printers/{}", farm.printer));
    server
        .wait_within(
            &farm.owner,
            &printer_path,
            "idle",
            Duration::from_secs(60),
            |l| l["state"] == "idle",
        )
        .await;
    let first = farm
        .submit(json!({ "file_id": farm.file, "target": { "any": true } }))
        .await;
    let second = farm
        .submit(json!({ "file_id": farm.file, "target": { "any": true } }))
        .await;
    farm.wait_for_job(server, first, "completed").await;
    let (_, waiting) = farm.member.get(&farm.path(&format!("jobs/{second}"))).await;
    assert_eq!(waiting["state"], "queued", "{waiting}");
    let (status, _) = farm
        .owner
        .post_empty(&format!("{printer_path}/bed-clear"))
        .await;
    assert_eq!(status, StatusCode::OK);
    farm.wait_for_job(server, second, "completed").await;
    let (_, prints) = farm.owner.get(&format!("{printer_path}/prints")).await;
    let states: Vec<&str> = prints
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["completed", "completed"], "{prints}");
}

async fn queued_jobs_print_on_octoprint_one_plate_at_a_time(server: &TestServer) {
    let octoprint = printers::octoprint_harness::OctoPrintHarness::start().await;
    let printer = json!({ "name": "OctoPrint", "driver": "octoprint", "url": octoprint.url(),
                          "credential": octoprint.api_key() });
    let farm = Farm::with_printer(server, printer, virtual_printer_gcode(20)).await;
    two_jobs_one_plate_at_a_time(server, &farm).await;
}

async fn queued_jobs_print_on_moonraker_one_plate_at_a_time(server: &TestServer) {
    let fake = printers::fake_moonraker::FakeMoonraker::start_with_api_key("moon-key").await;
    fake.set_print_duration(1.0);
    let printer = json!({ "name": "Voron", "driver": "moonraker", "url": fake.url(),
                          "credential": "moon-key" });
    let farm = Farm::with_printer(server, printer, small_gcode()).await;
    two_jobs_one_plate_at_a_time(server, &farm).await;
}

/// Staffed hours (Monday to Friday, 08:00 to 18:00 in Amsterdam): on a Sunday a member's job
/// waits with `outside_staffed_hours`; the owner (exempt) prints meanwhile; on Monday morning
/// the member's job starts.
async fn jobs_that_would_end_outside_staffed_hours_wait(server: &TestServer) {
    let farm = Farm::open(server).await;
    let printer_path = farm.path(&format!("printers/{}", farm.printer));
    let (_, printer) = farm.owner.get(&printer_path).await;
    let site_path = farm.path(&format!("sites/{}", printer["site_id"]));
    let (status, org) = farm
        .owner
        .patch(
            &format!("/api/v1/orgs/{}", farm.org),
            json!({ "time_zone": "Europe/Amsterdam" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{org}");
    for (bad, field) in [
        (
            json!({ "staffed_grace_minutes": 721 }),
            "staffed_grace_minutes",
        ),
        (
            json!({ "staffed_hours": [{ "days": [], "from": "08:00", "to": "18:00" }] }),
            "staffed_hours",
        ),
    ] {
        let (status, refused) = farm.owner.patch(&site_path, bad).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
        assert_eq!(refused["error"]["field"], field, "{refused}");
    }
    let (status, refused) = farm
        .owner
        .patch(
            &site_path,
            json!({ "staffed_hours": [{ "days": ["mon"], "from": "8:00", "to": "18:00" }] }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    let weekdays = json!([{ "days": ["mon", "tue", "wed", "thu", "fri"],
                            "from": "08:00", "to": "18:00" }]);
    let (status, site) = farm
        .owner
        .patch(
            &site_path,
            json!({ "staffed_hours": weekdays, "staffed_grace_minutes": 30 }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{site}");
    assert_eq!(site["staffed_hours"], weekdays);
    assert_eq!(site["staffed_grace_minutes"], 30);
    server
        .wait_for(&farm.owner, &printer_path, "idle", |l| l["state"] == "idle")
        .await;

    // Sunday 22 November 2026, 10:00 in Amsterdam.
    let waiting = farm
        .submit(json!({ "file_id": farm.file, "target": { "any": true } }))
        .await;
    let outcome = server.app().dispatch_once().await.unwrap();
    assert!(outcome.started.is_empty(), "{outcome:?}");
    let why = farm.why(waiting).await;
    let reason = &why["candidates"][0]["reasons"][0];
    assert_eq!(reason["code"], "outside_staffed_hours", "{why}");
    let message = reason["message"].as_str().unwrap();
    assert!(message.contains("Sun 10:0"), "{message}");
    assert!(message.contains("(Europe/Amsterdam)"), "{message}");
    assert!(message.contains("30-minute grace"), "{message}");

    // The owner clears their own plates: exempt, their job goes first.
    let (status, exempt) = farm
        .owner
        .post(
            &farm.path("jobs"),
            json!({ "file_id": farm.file, "target": { "any": true } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{exempt}");
    let exempt = exempt["id"].as_i64().unwrap();
    farm.wait_for_job(server, exempt, "completed").await;
    let (status, _) = farm
        .owner
        .post_empty(&format!("{printer_path}/bed-clear"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, still) = farm
        .member
        .get(&farm.path(&format!("jobs/{waiting}")))
        .await;
    assert_eq!(still["state"], "queued", "{still}");

    // Monday 23 November, 09:00 in Amsterdam: staffed.
    server.clock.advance_seconds(23 * 3600);
    farm.wait_for_job(server, waiting, "printing").await;
}
