//! Submitting a job: the checks every submission passes (the printers it may go to, the file
//! suits them, the answers), approval routing, and idempotency.

use std::collections::BTreeMap;

use authz::Permission;
use domain::jobs::{MAX_COPIES, MAX_NOTE_CHARS, PRIORITY_RANGE};
use domain::{
    AnswerValue, FileId, Invalid, Job, JobId, JobState, JobStep, JobTarget, PrinterModel,
    PrinterModelId, QuestionId,
};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::files::{FileFacts, usable_file};
use super::{JobView, Jobs, job_summary};
use crate::actor::OrgActor;
use crate::error::{AppError, AppResult, ErrorCode};
use crate::unit_of_work::{Audit, Changes, Found, UnitOfWork};

/// Longest `Idempotency-Key` accepted.
pub const MAX_IDEMPOTENCY_KEY_CHARS: usize = 200;

/// A submission.
#[derive(Debug, Clone, PartialEq)]
pub struct SubmitJob {
    pub file_id: FileId,
    pub target: JobTarget,
    pub copies: i32,
    pub priority: i32,
    pub note: String,
    pub answers: BTreeMap<QuestionId, AnswerValue>,
}

impl SubmitJob {
    /// A digest of what was asked, so a retry under the same idempotency key can be told from
    /// another submission.
    fn digest(&self) -> String {
        let (kind, id) = self.target.parts();
        let canonical = json!({
            "file_id": self.file_id.get(),
            "target": [kind, id],
            "copies": self.copies,
            "priority": self.priority,
            "note": self.note,
            "answers": self.answers.iter().map(|(q, a)| (q.get().to_string(), a)).collect::<BTreeMap<_, _>>(),
        });
        hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
    }

    /// The rules of the request itself, before anything is read.
    fn check_shape(&self) -> AppResult<()> {
        check_fields(self.copies, self.priority, &self.note)
    }
}

/// The bounds of a job's copies, priority and note.
pub(crate) fn check_fields(copies: i32, priority: i32, note: &str) -> AppResult<()> {
    if !(1..=MAX_COPIES).contains(&copies) {
        return Err(Invalid::new("copies", format!("must be 1 to {MAX_COPIES}")).into());
    }
    if !PRIORITY_RANGE.contains(&priority) {
        let (low, high) = (PRIORITY_RANGE.start(), PRIORITY_RANGE.end());
        return Err(Invalid::new("priority", format!("must be {low} to {high}")).into());
    }
    if note.chars().count() > MAX_NOTE_CHARS {
        return Err(Invalid::new(
            "note",
            format!("must be at most {MAX_NOTE_CHARS} characters"),
        )
        .into());
    }
    Ok(())
}

fn check_idempotency_key(key: &str) -> AppResult<()> {
    let fine = !key.is_empty()
        && key.chars().count() <= MAX_IDEMPOTENCY_KEY_CHARS
        && key.chars().all(|c| c.is_ascii_graphic());
    if fine {
        Ok(())
    } else {
        Err(Invalid::new(
            "Idempotency-Key",
            format!("must be 1 to {MAX_IDEMPOTENCY_KEY_CHARS} visible ASCII characters"),
        )
        .into())
    }
}

/// The checks of a submission (or an edit, a move, a reprint) inside its unit of work: the
/// actor may queue on a printer the target names, the file suits one of those printers'
/// models, the answers answer the organization's questions. Quota and balance checks follow in
/// [`Jobs::insert`] (same transaction as the insert, so concurrent submissions cannot pass a
/// limit together).
pub(crate) async fn check_submission(
    uow: &mut UnitOfWork,
    target: JobTarget,
    facts: &FileFacts,
    answers: &BTreeMap<QuestionId, AnswerValue>,
) -> AppResult<()> {
    check_target(uow, target, facts).await?;
    check_answers(uow, answers).await
}

async fn check_target(uow: &mut UnitOfWork, target: JobTarget, facts: &FileFacts) -> AppResult<()> {
    let actor = uow.actor().clone();
    target_suits(uow.conn(), &actor, target, facts).await
}

/// The actor may queue on a printer `target` names whose model takes the file (see
/// [`check_submission`]).
pub(crate) async fn target_suits(
    conn: &mut store::Conn,
    actor: &OrgActor,
    target: JobTarget,
    facts: &FileFacts,
) -> AppResult<()> {
    let candidates: Vec<Option<PrinterModelId>> = actor
        .policy
        .org()
        .printers
        .iter()
        .filter(|printer| target.matches(printer))
        .filter(|printer| {
            actor
                .require_on_printer(Permission::QueueSubmit, printer.id)
                .is_ok()
        })
        .map(|printer| printer.model)
        .collect();
    if candidates.is_empty() {
        return Err(AppError::conflict(
            ErrorCode::NoPrinterForTarget,
            format!("no printer matching the target ({target}) is one you may queue on"),
        ));
    }
    let models: Vec<PrinterModel> = store::list_printer_models(conn, actor.org()).await?;
    let mut first_refusal = None;
    for model in &candidates {
        let Some(model) = model.and_then(|id| models.iter().find(|m| m.id == id)) else {
            // A printer of no declared model takes what it is given.
            return Ok(());
        };
        match facts.suits(model) {
            Ok(()) => return Ok(()),
            Err(refusal) => {
                first_refusal.get_or_insert(refusal);
            }
        }
    }
    // Every candidate either suited (returned above) or refused.
    match first_refusal {
        Some(refusal) => Err(AppError::conflict(refusal.code, refusal.message)),
        None => Ok(()),
    }
}

/// Every answer is to a question asked now and fits it; every required question is answered.
pub(crate) async fn check_answers(
    uow: &mut UnitOfWork,
    answers: &BTreeMap<QuestionId, AnswerValue>,
) -> AppResult<()> {
    let org = uow.actor().org();
    let questions = store::list_questions(uow.conn(), org).await?;
    let invalid = |message: String| AppError::conflict(ErrorCode::InvalidAnswers, message);
    for id in answers.keys() {
        if !questions.iter().any(|q| q.id == *id) {
            return Err(invalid(format!(
                "question {id} is not one of the organization's submission questions"
            )));
        }
    }
    for question in &questions {
        match answers.get(&question.id) {
            Some(value) => question.check(value).map_err(invalid)?,
            None if question.required => {
                return Err(invalid(format!(
                    "\"{}\" (question {}) needs an answer",
                    question.label, question.id
                )));
            }
            None => {}
        }
    }
    Ok(())
}

/// Where a new (or resubmitted, or revived) job of `actor` starts: waiting for an approver when
/// the organization requires approval and the actor's rank cannot skip it.
pub(crate) async fn entry_state(uow: &mut UnitOfWork) -> AppResult<JobState> {
    let org = uow.actor().org();
    let org = store::get_org(uow.conn(), org)
        .await
        .found("organization")?;
    Ok(
        if org.approval_required && !uow.actor().holds(Permission::ApprovalSkip) {
            JobState::PendingApproval
        } else {
            JobState::Queued
        },
    )
}

impl Jobs<'_> {
    /// Submits a job. With an idempotency key, the same key and request return the job the
    /// first one made; the same key with another request is 409 `idempotency_key_reused`.
    pub async fn submit(
        &self,
        actor: &OrgActor,
        input: SubmitJob,
        idempotency_key: Option<&str>,
    ) -> AppResult<JobView> {
        input.check_shape()?;
        if let Some(key) = idempotency_key {
            check_idempotency_key(key)?;
        }
        let digest = input.digest();
        let mut uow = self.app.begin(actor, Changes::Data).await?;
        uow.actor().require(Permission::QueueSubmit)?;
        if let Some(key) = idempotency_key
            && let Some(job) = self.earlier_submission(&mut uow, key, &digest).await?
        {
            drop(uow);
            return self.get_job(actor, job).await;
        }
        if input.priority != 0 {
            uow.actor().require(Permission::QueueReorder)?;
        }
        let (file, facts) = usable_file(&mut uow, input.file_id).await?;
        if file.removed {
            return Err(AppError::not_found("file"));
        }
        check_submission(&mut uow, input.target, &facts, &input.answers).await?;
        let state = entry_state(&mut uow).await?;
        let (job, cost) = self
            .insert(
                &mut uow,
                &input,
                &facts,
                state,
                None,
                idempotency_key.map(|k| (k, digest.as_str())),
            )
            .await?;
        uow.commit().await?;
        if job.state == JobState::Queued {
            self.app.wake_dispatcher();
        }
        // The submitter owns the job: the answers are theirs to read.
        Ok(JobView {
            job,
            answers: Some(input.answers),
            cost: Some(cost),
        })
    }

    /// The job an earlier submission under `key` made, if its request was this one.
    async fn earlier_submission(
        &self,
        uow: &mut UnitOfWork,
        key: &str,
        digest: &str,
    ) -> AppResult<Option<JobId>> {
        let (org, member) = (uow.actor().org(), uow.actor().member_id());
        match store::job_by_idempotency_key(uow.conn(), org, member, key).await? {
            None => Ok(None),
            Some((job, earlier)) if earlier == digest => Ok(Some(job)),
            Some(_) => Err(AppError::conflict(
                ErrorCode::IdempotencyKeyReused,
                "this Idempotency-Key was used for a different submission; use a new key for a new job",
            )),
        }
    }

    /// Inserts a job of the actor with its answers, and records its first steps.
    pub(crate) async fn insert(
        &self,
        uow: &mut UnitOfWork,
        input: &SubmitJob,
        facts: &FileFacts,
        state: JobState,
        reprint_of: Option<&Job>,
        idempotency: Option<(&str, &str)>,
    ) -> AppResult<(Job, super::JobCost)> {
        let (org, now) = (uow.actor().org(), uow.now());
        let new = store::NewJob {
            owner: uow.actor().member_id(),
            file: input.file_id,
            target: input.target,
            state,
            priority: input.priority,
            copies: input.copies,
            note: &input.note,
            reprint_of: reprint_of.map(|j| j.id),
            idempotency,
        };
        let job = store::insert_job(uow.conn(), org, &new, now)
            .await
            .map_err(|e| {
                if e.is_conflict() {
                    // A concurrent retry under the same key won; the client retries and gets it.
                    AppError::conflict(
                        ErrorCode::IdempotencyKeyReused,
                        "a submission with this Idempotency-Key is in progress; retry",
                    )
                } else {
                    AppError::from(e)
                }
            })?;
        let id = job.id;
        // Quotas and balance: checked and held in this transaction, with the owner's account
        // locked, so concurrent submissions cannot together pass a limit.
        let needs = crate::quotas::hold_new_job(uow, &job, facts).await?;
        store::add_answers(uow.conn(), id, &input.answers).await?;
        let (step, detail) = match reprint_of {
            Some(original) => (
                JobStep::Reprinted,
                json!({ "reprint_of": original.id.get() }),
            ),
            None => (JobStep::Submitted, json!({})),
        };
        self.record(uow, &job, step, None, None, detail).await?;
        if !input.answers.is_empty() {
            let answered: Vec<i64> = input.answers.keys().map(|q| q.get()).collect();
            self.record(
                uow,
                &job,
                JobStep::Answered,
                None,
                None,
                json!({ "questions": answered }),
            )
            .await?;
        }
        let action = if reprint_of.is_some() {
            "job.reprint"
        } else {
            "job.submit"
        };
        uow.audit(Audit::of(action, "job", id).after(job_summary(&job)));
        let cost = super::JobCost {
            estimate: needs.estimate,
            final_cost: None,
        };
        Ok((job, cost))
    }
}
