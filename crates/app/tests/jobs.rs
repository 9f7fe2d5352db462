//! Print jobs through their use cases, on both databases: submission with its checks and
//! idempotency, approval (approve, reject, send back, resubmit, bulk), reprint, the queue's
//! operations and the timeline of who did each step.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;

use app::{
    AppError, Decision, ErrorCode, JobQuery, PrinterInput, PrinterModelInput, QuestionInput,
    SubmitJob, UploadFile,
};
use common::{Lab, Person};
use domain::{
    AnswerValue, DriverKind, FileId, JobState, JobStep, JobTarget, PrinterId, PrinterModelId,
    QuestionKind,
};
use testkit::Backend;

const CUBE: &[u8] = include_bytes!("../fixtures/demo/calibration_cube.gcode");

testkit::on_both_backends!(
    submissions_wait_for_approval_and_every_step_is_recorded,
    submissions_are_checked_and_refusals_name_the_rule,
    approvers_send_back_reject_and_decide_in_bulk,
    the_queue_is_edited_reordered_cancelled_and_revived,
);

fn code(error: AppError) -> ErrorCode {
    error.code()
}

/// A lab with a printer model (Mini: 180 mm, PLA, 0.4 mm) and one simulated printer of it.
struct Farm {
    lab: Lab,
    model: PrinterModelId,
    printer: PrinterId,
    site: domain::SiteId,
}

impl Farm {
    async fn open(backend: Backend) -> Farm {
        let lab = Lab::open(backend).await;
        let owner = lab.actor(&lab.owner).await;
        let fleet = lab.app.fleet();
        let model = fleet
            .create_printer_model(&owner, model_input("Mini", 180.0))
            .await
            .unwrap()
            .id;
        let site = lab
            .app
            .people()
            .create_site(
                &owner,
                app::CreateSite {
                    name: "Workshop".into(),
                    description: String::new(),
                    time_zone: None,
                    staffed_hours: Vec::new(),
                    staffed_grace_minutes: 0,
                },
            )
            .await
            .unwrap()
            .id;
        let printer = fleet
            .create_printer(
                &owner,
                PrinterInput {
                    name: "Mini 1".into(),
                    site_id: site,
                    model_id: Some(model),
                    group_ids: Vec::new(),
                    driver: DriverKind::Simulated,
                    url: String::new(),
                    settings: serde_json::Map::new(),
                    credential: None,
                },
            )
            .await
            .unwrap()
            .id;
        Farm {
            lab,
            model,
            printer,
            site,
        }
    }

    async fn upload(&self, who: &Person, name: &str) -> FileId {
        let actor = self.lab.actor(who).await;
        let body =
            futures::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from_static(CUBE))]);
        let input = UploadFile {
            name: name.into(),
            project_id: None,
            printer_model_id: None,
        };
        self.lab
            .app
            .files()
            .upload(&actor, input, body)
            .await
            .unwrap()
            .id
    }

    async fn set_approval(&self, required: bool) {
        let owner = self.lab.actor(&self.lab.owner).await;
        self.lab
            .app
            .jobs()
            .set_approval_required(&owner, required)
            .await
            .unwrap();
    }
}

fn model_input(name: &str, size: f64) -> PrinterModelInput {
    PrinterModelInput {
        name: name.into(),
        description: String::new(),
        build_volume_mm: [size, size, size],
        nozzle_diameter_mm: 0.4,
        materials: vec!["PLA".into(), "PETG".into()],
        motion: serde_json::Map::new(),
        hourly_rate_minor: 0,
    }
}

fn submission(file: FileId, target: JobTarget) -> SubmitJob {
    SubmitJob {
        file_id: file,
        target,
        copies: 1,
        priority: 0,
        note: "for the robotics club".into(),
        answers: BTreeMap::new(),
    }
}

async fn submissions_wait_for_approval_and_every_step_is_recorded(backend: Backend) {
    let farm = Farm::open(backend).await;
    let lab = &farm.lab;
    farm.set_approval(true).await;
    let member = lab.join(&lab.owner, "Member", "member@lab.test").await;
    let manager = lab.join(&lab.owner, "Manager", "manager@lab.test").await;
    let file = farm.upload(&member, "cube.gcode").await;
    let jobs = lab.app.jobs();
    let as_member = lab.actor(&member).await;

    let input = submission(file, JobTarget::Model(farm.model));
    let job = jobs
        .submit(&as_member, input.clone(), Some("retry-1"))
        .await
        .unwrap();
    assert_eq!(job.job.state, JobState::PendingApproval);
    assert_eq!(job.job.owner_member_id, member.member);

    // A retry is the same job; the same key with another body is refused.
    let again = jobs
        .submit(&as_member, input.clone(), Some("retry-1"))
        .await
        .unwrap();
    assert_eq!(again.job.id, job.job.id);
    let other = SubmitJob {
        copies: 2,
        ..input.clone()
    };
    let refused = jobs.submit(&as_member, other, Some("retry-1")).await;
    assert_eq!(code(refused.unwrap_err()), ErrorCode::IdempotencyKeyReused);

    // Members do not approve; the manager does, to the printer they choose.
    let refused = jobs
        .decide(&as_member, job.job.id, Decision::Approve { printer: None })
        .await;
    assert_eq!(code(refused.unwrap_err()), ErrorCode::PermissionDenied);
    let as_manager = lab.actor(&manager).await;
    let approved = jobs
        .decide(
            &as_manager,
            job.job.id,
            Decision::Approve {
                printer: Some(farm.printer),
            },
        )
        .await
        .unwrap();
    assert_eq!(approved.job.state, JobState::Queued);
    assert_eq!(approved.job.printer_id, Some(farm.printer));

    // Deciding again is a transition the lifecycle does not have.
    let refused = jobs
        .decide(
            &as_manager,
            job.job.id,
            Decision::Reject {
                reason: "too late".into(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(code(refused), ErrorCode::InvalidTransition);

    let timeline = jobs.timeline(&as_member, job.job.id).await.unwrap();
    let steps: Vec<(JobStep, Option<String>)> = timeline
        .iter()
        .map(|s| (s.event.step, s.actor_name.clone()))
        .collect();
    assert_eq!(
        steps,
        [
            (JobStep::Submitted, Some("member@lab.test".to_string())),
            (JobStep::Approved, Some("manager@lab.test".to_string())),
        ]
    );
    let actions = lab.audit_actions().await;
    assert!(actions.contains(&"job.submit".to_string()), "{actions:?}");
    assert!(actions.contains(&"job.approve".to_string()), "{actions:?}");

    // Without approval required, nothing waits.
    farm.set_approval(false).await;
    let queued = jobs
        .submit(&as_member, input, Some("retry-2"))
        .await
        .unwrap();
    assert_eq!(queued.job.state, JobState::Queued);
}

async fn submissions_are_checked_and_refusals_name_the_rule(backend: Backend) {
    let farm = Farm::open(backend).await;
    let lab = &farm.lab;
    let owner = lab.actor(&lab.owner).await;
    let member = lab.join(&lab.owner, "Member", "member@lab.test").await;
    let file = farm.upload(&member, "cube.gcode").await;
    let jobs = lab.app.jobs();
    let as_member = lab.actor(&member).await;

    let question = jobs
        .create_question(
            &owner,
            QuestionInput {
                label: "Course".into(),
                kind: QuestionKind::Choice,
                required: true,
                choices: vec!["ME101".into(), "ME202".into()],
            },
        )
        .await
        .unwrap();
    let refused = jobs
        .submit(&as_member, submission(file, JobTarget::Any), None)
        .await
        .unwrap_err();
    assert_eq!(code(refused), ErrorCode::InvalidAnswers);
    let mut answered = submission(file, JobTarget::Any);
    answered
        .answers
        .insert(question.id, AnswerValue::Text("CS1".into()));
    let refused = jobs
        .submit(&as_member, answered.clone(), None)
        .await
        .unwrap_err();
    assert!(
        refused.to_string().contains("choose from: ME101, ME202"),
        "{refused}"
    );
    answered
        .answers
        .insert(question.id, AnswerValue::Text("ME101".into()));
    let job = jobs
        .submit(&as_member, answered.clone(), None)
        .await
        .unwrap();
    assert!(job.answers.is_some(), "the owner reads their answers");

    // A printer nobody targets, a model too small for the cube.
    let refused = jobs
        .submit(
            &as_member,
            SubmitJob {
                target: JobTarget::Printer(PrinterId(999_999)),
                ..answered.clone()
            },
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(code(refused), ErrorCode::NoPrinterForTarget);
    let tiny = lab
        .app
        .fleet()
        .create_printer_model(&owner, model_input("Tiny", 10.0))
        .await
        .unwrap();
    let site = farm.site;
    lab.app
        .fleet()
        .create_printer(
            &owner,
            PrinterInput {
                name: "Tiny 1".into(),
                site_id: site,
                model_id: Some(tiny.id),
                group_ids: Vec::new(),
                driver: DriverKind::Simulated,
                url: String::new(),
                settings: serde_json::Map::new(),
                credential: None,
            },
        )
        .await
        .unwrap();
    let as_member = lab.actor(&member).await;
    let refused = jobs
        .submit(
            &as_member,
            SubmitJob {
                target: JobTarget::Model(tiny.id),
                ..answered.clone()
            },
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(code(refused), ErrorCode::DoesNotFit);

    // Priorities are for those who may reorder the queue.
    let refused = jobs
        .submit(
            &as_member,
            SubmitJob {
                priority: 10,
                ..answered
            },
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(code(refused), ErrorCode::PermissionDenied);
}

async fn approvers_send_back_reject_and_decide_in_bulk(backend: Backend) {
    let farm = Farm::open(backend).await;
    let lab = &farm.lab;
    farm.set_approval(true).await;
    let member = lab.join(&lab.owner, "Member", "member@lab.test").await;
    let manager = lab.join(&lab.owner, "Manager", "manager@lab.test").await;
    let file = farm.upload(&member, "cube.gcode").await;
    let jobs = lab.app.jobs();
    let as_member = lab.actor(&member).await;
    let as_manager = lab.actor(&manager).await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        let job = jobs
            .submit(&as_member, submission(file, JobTarget::Any), None)
            .await
            .unwrap();
        ids.push(job.job.id);
    }

    let sent_back = jobs
        .decide(
            &as_manager,
            ids[0],
            Decision::SendBack {
                reason: "add a brim".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(sent_back.job.state, JobState::SentBack);
    assert_eq!(sent_back.job.reason.as_deref(), Some("add a brim"));
    let resubmitted = jobs.resubmit(&as_member, ids[0]).await.unwrap();
    assert_eq!(resubmitted.job.state, JobState::PendingApproval);

    // Bulk: one of three is already decided; the others go through, each reported.
    jobs.decide(
        &as_manager,
        ids[1],
        Decision::Reject {
            reason: "not course work".into(),
        },
    )
    .await
    .unwrap();
    let outcomes = jobs
        .decide_many(&as_manager, &ids, Decision::Approve { printer: None })
        .await
        .unwrap();
    let results: Vec<Result<JobState, ErrorCode>> = outcomes
        .into_iter()
        .map(|o| o.result.map(|j| j.state).map_err(|e| e.code()))
        .collect();
    assert_eq!(
        results,
        [
            Ok(JobState::Queued),
            Err(ErrorCode::InvalidTransition),
            Ok(JobState::Queued)
        ]
    );
    let rejected = jobs.get_job(&as_member, ids[1]).await.unwrap();
    assert_eq!(rejected.job.reason.as_deref(), Some("not course work"));

    // A reprint is a new job of whoever reprints it; the original stays as it is.
    let reprint = jobs.reprint(&as_manager, ids[1]).await.unwrap();
    assert_eq!(reprint.job.owner_member_id, manager.member);
    assert_eq!(reprint.job.reprint_of, Some(ids[1]));
    assert_eq!(
        reprint.job.state,
        JobState::Queued,
        "managers skip approval"
    );
    let original = jobs.get_job(&as_member, ids[1]).await.unwrap();
    assert_eq!(original.job.state, JobState::Rejected);

    // The approval list marks an approver's own job as not approvable, with the reason.
    let own = jobs
        .submit(&as_member, submission(file, JobTarget::Any), None)
        .await
        .unwrap();
    let list = jobs.approvals(&as_manager).await.unwrap();
    assert!(list.iter().any(|i| i.job.id == own.job.id && i.approvable));
    let history = jobs
        .list(&as_member, JobQuery::default(), true)
        .await
        .unwrap();
    assert_eq!(history.jobs.len(), 1, "the rejected job is history");
}

async fn the_queue_is_edited_reordered_cancelled_and_revived(backend: Backend) {
    let farm = Farm::open(backend).await;
    let lab = &farm.lab;
    let member = lab.join(&lab.owner, "Member", "member@lab.test").await;
    let other = lab.join(&lab.owner, "Member", "other@lab.test").await;
    let manager = lab.join(&lab.owner, "Manager", "manager@lab.test").await;
    let file = farm.upload(&member, "cube.gcode").await;
    let jobs = lab.app.jobs();
    let as_member = lab.actor(&member).await;
    let first = jobs
        .submit(&as_member, submission(file, JobTarget::Any), None)
        .await
        .unwrap();
    let second = jobs
        .submit(&as_member, submission(file, JobTarget::Any), None)
        .await
        .unwrap();

    // Others neither see nor touch a member's jobs; the manager sees all of them.
    let as_other = lab.actor(&other).await;
    let refused = jobs.get_job(&as_other, first.job.id).await.unwrap_err();
    assert_eq!(code(refused), ErrorCode::NotFound);
    let own_page = jobs
        .list(&as_other, JobQuery::default(), false)
        .await
        .unwrap();
    assert!(own_page.jobs.is_empty());
    let as_manager = lab.actor(&manager).await;
    let page = jobs
        .list(
            &as_manager,
            JobQuery {
                limit: Some(1),
                ..JobQuery::default()
            },
            false,
        )
        .await
        .unwrap();
    assert_eq!(page.jobs[0].job.id, first.job.id);
    assert!(page.jobs[0].answers.is_some(), "managers read answers");
    let next = jobs
        .list(
            &as_manager,
            JobQuery {
                limit: Some(1),
                cursor: page.next_cursor,
                ..JobQuery::default()
            },
            false,
        )
        .await
        .unwrap();
    assert_eq!(next.jobs[0].job.id, second.job.id);

    // The manager puts the second first.
    jobs.reorder(
        &as_manager,
        second.job.id,
        app::Reorder::Before(first.job.id),
    )
    .await
    .unwrap();
    let page = jobs
        .list(&as_manager, JobQuery::default(), false)
        .await
        .unwrap();
    let order: Vec<_> = page.jobs.iter().map(|j| j.job.id).collect();
    assert_eq!(order, [second.job.id, first.job.id]);

    let edited = jobs
        .edit(
            &as_member,
            first.job.id,
            app::JobEdit {
                copies: Some(3),
                note: Some("three please".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (edited.job.copies, edited.job.note.as_str()),
        (3, "three please")
    );
    let cancelled = jobs.cancel(&as_member, first.job.id).await.unwrap();
    assert_eq!(cancelled.job.state, JobState::Cancelled);
    let refused = jobs
        .edit(&as_member, first.job.id, app::JobEdit::default())
        .await
        .unwrap_err();
    assert_eq!(code(refused), ErrorCode::InvalidTransition);
    let refused = jobs.cancel(&as_member, first.job.id).await.unwrap_err();
    assert_eq!(code(refused), ErrorCode::InvalidTransition);
    let revived = jobs.revive(&as_member, first.job.id).await.unwrap();
    assert_eq!(revived.job.state, JobState::Queued);
    let steps: Vec<JobStep> = jobs
        .timeline(&as_member, first.job.id)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.event.step)
        .collect();
    assert_eq!(
        steps,
        [
            JobStep::Submitted,
            JobStep::Edited,
            JobStep::Cancelled,
            JobStep::Revived
        ]
    );
}
