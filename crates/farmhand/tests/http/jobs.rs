//! Print jobs over HTTP: submission with an Idempotency-Key, the checks' refusals with their
//! codes, approval (single and bulk), invalid transitions naming both states, the timeline,
//! and the history export.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{Client, TestServer};

const CUBE: &[u8] = include_bytes!("../../../app/fixtures/demo/calibration_cube.gcode");

crate::on_both_backends!(
    jobs_are_submitted_approved_and_their_steps_recorded,
    submissions_are_refused_with_the_rule_they_break,
    waiting_jobs_keep_their_target_and_lend_their_file,
);

/// An organization with approval on, a printer model and a printer of it (in maintenance), a
/// member and a manager; the member's uploaded cube.
struct Queue {
    org: i64,
    owner: Client,
    member: Client,
    manager: Client,
    model: i64,
    file: i64,
}

impl Queue {
    async fn open(server: &TestServer) -> Queue {
        let (org, owner) = server.org_with_owner("Lab", "owner@lab.test").await;
        let model = server
            .workshop_in_maintenance(
                &owner,
                org,
                json!({ "name": "Mini", "build_volume_mm": [180, 180, 180],
                        "nozzle_diameter_mm": 0.4, "materials": ["PLA"] }),
                "Mini 1",
            )
            .await;
        let (status, _) = owner
            .put(
                &format!("/api/v1/orgs/{org}/settings/approval"),
                json!({ "approval_required": true }),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        let (member, _) = server
            .member(&owner, org, "Member", "member@lab.test")
            .await;
        let (manager, _) = server
            .member(&owner, org, "Manager", "manager@lab.test")
            .await;
        let response = member
            .raw_post(
                &format!("/api/v1/orgs/{org}/files?name=cube.gcode"),
                CUBE.to_vec(),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let file: Value = response.json().await.unwrap();
        Queue {
            org,
            owner,
            member,
            manager,
            model,
            file: file["id"].as_i64().unwrap(),
        }
    }

    fn path(&self, rest: &str) -> String {
        format!("/api/v1/orgs/{}/{rest}", self.org)
    }
}

async fn jobs_are_submitted_approved_and_their_steps_recorded(server: &TestServer) {
    let queue = Queue::open(server).await;
    let body = json!({ "file_id": queue.file, "target": { "model_id": queue.model },
                       "copies": 2, "note": "bracket for the club" });
    let (status, job) = queue
        .member
        .post_with_header(
            &queue.path("jobs"),
            body.clone(),
            ("Idempotency-Key", "k-1"),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{job}");
    assert_eq!(job["state"], "pending_approval");
    for field in [
        "id",
        "owner_member_id",
        "file_id",
        "target",
        "printer_id",
        "priority",
        "copies",
        "reason",
    ] {
        assert!(job.get(field).is_some(), "{field} missing from {job}");
    }
    assert_eq!(job["target"], json!({ "model_id": queue.model }));

    // The same key and body: the same job. Another body under the key: 409.
    let (status, again) = queue
        .member
        .post_with_header(
            &queue.path("jobs"),
            body.clone(),
            ("Idempotency-Key", "k-1"),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(again["id"], job["id"]);
    let mut other = body.clone();
    other["copies"] = json!(3);
    let (status, refused) = queue
        .member
        .post_with_header(&queue.path("jobs"), other, ("Idempotency-Key", "k-1"))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(refused["error"]["code"], "idempotency_key_reused");

    // The manager sees it waiting and approves it; deciding again names both states.
    let (_, approvals) = queue.manager.get(&queue.path("approvals")).await;
    assert_eq!(approvals[0]["job"]["id"], job["id"], "{approvals}");
    assert_eq!(approvals[0]["approvable"], true);
    let id = job["id"].as_i64().unwrap();
    let (status, approved) = queue
        .manager
        .post_empty(&queue.path(&format!("jobs/{id}/approve")))
        .await;
    assert_eq!(status, StatusCode::OK, "{approved}");
    assert_eq!(approved["state"], "queued");
    let (status, refused) = queue
        .manager
        .post(
            &queue.path(&format!("jobs/{id}/reject")),
            json!({ "reason": "late" }),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(refused["error"]["code"], "invalid_transition");
    let message = refused["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("queued") && message.contains("rejected"),
        "{message}"
    );

    // Bulk: each job is reported on its own.
    let (_, second) = queue.member.post(&queue.path("jobs"), body.clone()).await;
    let (status, results) = queue
        .manager
        .post(
            &queue.path("jobs/reject"),
            json!({ "job_ids": [id, second["id"]], "reason": "not course work" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{results}");
    assert_eq!(results[0]["ok"], false);
    assert_eq!(results[0]["error"]["code"], "invalid_transition");
    assert_eq!(results[1]["ok"], true);
    assert_eq!(results[1]["state"], "rejected");
    let (_, rejected) = queue
        .member
        .get(&queue.path(&format!("jobs/{}", second["id"])))
        .await;
    assert_eq!(rejected["reason"], "not course work");

    // Who did each step.
    let (status, timeline) = queue
        .member
        .get(&queue.path(&format!("jobs/{id}/timeline")))
        .await;
    assert_eq!(status, StatusCode::OK);
    let steps: Vec<(&str, &str)> = timeline
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["step"].as_str().unwrap(),
                s["actor_name"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        [
            ("submitted", "member@lab.test"),
            ("approved", "manager@lab.test")
        ]
    );

    // The member's history holds the rejected job; the export is CSV and audited.
    let (_, history) = queue.member.get(&queue.path("jobs/history")).await;
    assert_eq!(history["jobs"][0]["state"], "rejected", "{history}");
    let response = queue
        .owner
        .raw_get(&queue.path("jobs/history/export.csv"))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let csv = response.text().await.unwrap();
    assert!(csv.starts_with("id,state,owner_member_id"), "{csv}");
    assert!(csv.contains("not course work"), "{csv}");
    let (_, events) = queue
        .owner
        .get(&queue.path("audit-events?action=job.export"))
        .await;
    assert_eq!(events["events"].as_array().unwrap().len(), 1, "{events}");
}

async fn submissions_are_refused_with_the_rule_they_break(server: &TestServer) {
    let queue = Queue::open(server).await;
    let submit = |target: Value| json!({ "file_id": queue.file, "target": target });
    let cases = [
        (
            json!({ "printer_id": 999_999 }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "no_printer_for_target",
        ),
        (
            json!({ "any": true, "site_id": 1 }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (json!({}), StatusCode::UNPROCESSABLE_ENTITY, "invalid_field"),
    ];
    for (target, status, code) in cases {
        let (got, body) = queue
            .member
            .post(&queue.path("jobs"), submit(target.clone()))
            .await;
        assert_eq!(
            (got, body["error"]["code"].as_str()),
            (status, Some(code)),
            "{target}: {body}"
        );
    }
    let (status, question) = queue
        .owner
        .post(
            &queue.path("submission-questions"),
            json!({ "label": "Course", "kind": "choice", "required": true,
                    "choices": ["ME101", "ME202"] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{question}");
    let (status, body) = queue
        .member
        .post(&queue.path("jobs"), submit(json!({ "any": true })))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["code"], "invalid_answers");
    let key = question["id"].to_string();
    let mut answered = submit(json!({ "any": true }));
    answered["answers"][&key] = json!("ME101");
    let (status, job) = queue.member.post(&queue.path("jobs"), answered).await;
    assert_eq!(status, StatusCode::CREATED, "{job}");
    assert_eq!(job["answers"][&key], "ME101");
    // Another member's answers are for those who may read them.
    let (_, as_manager) = queue
        .manager
        .get(&queue.path(&format!("jobs/{}", job["id"])))
        .await;
    assert_eq!(as_manager["answers"][&key], "ME101");
}

async fn waiting_jobs_keep_their_target_and_lend_their_file(server: &TestServer) {
    let queue = Queue::open(server).await;
    let body = json!({ "file_id": queue.file, "target": { "model_id": queue.model } });
    let (status, job) = queue.member.post(&queue.path("jobs"), body).await;
    assert_eq!(status, StatusCode::CREATED, "{job}");
    let id = job["id"].as_i64().unwrap();

    // The model cannot go while the job waits for one of its printers.
    let model_path = queue.path(&format!("printer-models/{}", queue.model));
    let (status, refused) = queue.owner.delete(&model_path).await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert_eq!(refused["error"]["code"], "target_in_use");

    // The manager keeps a copy of the job's file in their personal space.
    let (status, copy) = queue
        .manager
        .post(
            &queue.path(&format!("jobs/{id}/copy-file")),
            json!({ "project_id": null }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{copy}");
    assert_ne!(copy["id"], json!(queue.file));
    let (_, original) = queue
        .member
        .get(&queue.path(&format!("files/{}", queue.file)))
        .await;
    assert_eq!(copy["sha256"], original["sha256"]);
    let (status, mine) = queue.manager.get(&queue.path("files?personal=true")).await;
    assert_eq!(status, StatusCode::OK, "{mine}");
    assert_eq!(mine["files"][0]["id"], copy["id"], "{mine}");

    // The member removes the file from the library: gone there, kept for the job.
    let file_path = queue.path(&format!("files/{}", queue.file));
    let (status, _) = queue.member.delete(&file_path).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = queue.member.get(&file_path).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, copied_again) = queue
        .manager
        .post(
            &queue.path(&format!("jobs/{id}/copy-file")),
            json!({ "project_id": null }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{copied_again}");
    let resubmit = json!({ "file_id": queue.file, "target": { "model_id": queue.model } });
    let (status, refused) = queue.member.post(&queue.path("jobs"), resubmit).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{refused}");

    // Once the job is cancelled, the model may go.
    let (status, cancelled) = queue
        .member
        .post_empty(&queue.path(&format!("jobs/{id}/cancel")))
        .await;
    assert_eq!(status, StatusCode::OK, "{cancelled}");
    let (status, _) = queue.owner.delete(&model_path).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}
