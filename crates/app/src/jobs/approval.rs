//! Approval: approvers approve (optionally choosing the printer), reject with a reason, or send
//! a job back for changes; owners resubmit. Bulk decisions report each job separately.

use authz::Permission;
use domain::{Job, JobId, JobState, JobStep, PrinterId};
use serde_json::json;

use super::files::unusable_because;
use super::submission::entry_state;
use super::{JobView, Jobs, Step};
use crate::actor::OrgActor;
use crate::error::{AppError, AppResult, ErrorCode};
use crate::unit_of_work::{Changes, Found, UnitOfWork};

/// Longest rejection or send-back reason.
pub const MAX_REASON_CHARS: usize = 1000;

/// What an approver decides.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Into the queue; to this printer when one is named (it must match the target).
    Approve { printer: Option<PrinterId> },
    /// Into history, with the reason its owner sees.
    Reject { reason: String },
    /// Back to its owner for changes, with the reason.
    SendBack { reason: String },
}

/// A job waiting for approval as an approver sees it: whether they may decide it, and if not,
/// why (UltiMaker's "print jobs I cannot approve").
#[derive(Debug, Clone)]
pub struct ApprovalItem {
    pub job: Job,
    pub approvable: bool,
    pub not_approvable_reason: Option<String>,
}

/// The outcome of one job of a bulk decision.
#[derive(Debug)]
pub struct BulkOutcome {
    pub job_id: JobId,
    pub result: AppResult<Job>,
}

fn reason_text(reason: &str) -> AppResult<&str> {
    let trimmed = reason.trim();
    if trimmed.is_empty() || trimmed.chars().count() > MAX_REASON_CHARS {
        return Err(domain::Invalid::new(
            "reason",
            format!("must be 1 to {MAX_REASON_CHARS} characters, and say why"),
        )
        .into());
    }
    Ok(trimmed)
}

/// Why the actor may not decide this job, if they may not.
async fn why_not_approvable(
    conn: &mut store::Conn,
    actor: &OrgActor,
    job: &Job,
) -> AppResult<Option<String>> {
    if job.owner_member_id == actor.member_id() && !actor.holds(Permission::ApprovalSkip) {
        return Ok(Some(
            "it is your own job; approving your own jobs needs \"Skip approval\"".into(),
        ));
    }
    let reaches_a_printer = actor.policy.org().printers.iter().any(|printer| {
        job.target.matches(printer)
            && actor
                .require_on_printer(Permission::ApprovalReview, printer.id)
                .is_ok()
    });
    if !reaches_a_printer {
        return Ok(Some(format!(
            "none of the printers it targets ({}) is one you have queue access to",
            job.target
        )));
    }
    let file = store::job_file(conn, actor.org(), job.file_id)
        .await
        .found("file")?;
    unusable_because(conn, actor, &file).await
}

impl Jobs<'_> {
    /// Jobs waiting for approval, oldest first, each marked whether the actor may decide it.
    pub async fn approvals(&self, actor: &OrgActor) -> AppResult<Vec<ApprovalItem>> {
        actor.require(Permission::ApprovalReview)?;
        let mut conn = self.app.store().read().await?;
        let filter = store::JobFilter {
            states: vec![JobState::PendingApproval],
            ..Default::default()
        };
        let jobs = store::list_jobs(
            &mut conn,
            actor.org(),
            &filter,
            store::JobList::Queue { after: None },
            500,
        )
        .await?;
        let mut items = Vec::with_capacity(jobs.len());
        for job in jobs {
            let reason = why_not_approvable(&mut conn, actor, &job).await?;
            items.push(ApprovalItem {
                approvable: reason.is_none(),
                not_approvable_reason: reason,
                job,
            });
        }
        Ok(items)
    }

    /// One approver's decision on one job.
    pub async fn decide(
        &self,
        actor: &OrgActor,
        id: JobId,
        decision: Decision,
    ) -> AppResult<JobView> {
        let mut uow = self.app.begin(actor, Changes::Data).await?;
        let job = self.decide_in(&mut uow, id, &decision).await?;
        uow.commit().await?;
        self.app.wake_dispatcher();
        self.get_job(actor, job.id).await
    }

    /// The same decision on many jobs, each in its own unit of work: one failure does not undo
    /// the others, and each is reported.
    pub async fn decide_many(
        &self,
        actor: &OrgActor,
        ids: &[JobId],
        decision: Decision,
    ) -> AppResult<Vec<BulkOutcome>> {
        actor.require(Permission::ApprovalReview)?;
        // A reason that could never do is refused once, for the whole request.
        if let Decision::Reject { reason } | Decision::SendBack { reason } = &decision {
            reason_text(reason)?;
        }
        let mut outcomes = Vec::with_capacity(ids.len());
        for &id in ids {
            let result = async {
                let mut uow = self.app.begin(actor, Changes::Data).await?;
                let job = self.decide_in(&mut uow, id, &decision).await?;
                uow.commit().await?;
                Ok(job)
            }
            .await;
            outcomes.push(BulkOutcome { job_id: id, result });
        }
        self.app.wake_dispatcher();
        Ok(outcomes)
    }

    async fn decide_in(
        &self,
        uow: &mut UnitOfWork,
        id: JobId,
        decision: &Decision,
    ) -> AppResult<Job> {
        uow.actor().require(Permission::ApprovalReview)?;
        let org = uow.actor().org();
        let job = store::get_job(uow.conn(), org, id).await.found("job")?;
        let actor = uow.actor().clone();
        if let Some(reason) = why_not_approvable(uow.conn(), &actor, &job).await? {
            return Err(AppError::conflict(
                ErrorCode::NotApprovable,
                format!("you cannot decide this job: {reason}"),
            ));
        }
        let step = match decision {
            Decision::Approve { printer } => {
                if let Some(printer) = printer {
                    self.check_chosen_printer(&actor, &job, *printer)?;
                }
                Step {
                    printer: *printer,
                    detail: json!({ "printer_id": printer.map(|p| p.get()) }),
                    ..Step::to(JobStep::Approved, JobState::Queued)
                }
            }
            Decision::Reject { reason } => {
                Step::to(JobStep::Rejected, JobState::Rejected).because(reason_text(reason)?)
            }
            Decision::SendBack { reason } => {
                Step::to(JobStep::SentBack, JobState::SentBack).because(reason_text(reason)?)
            }
        };
        let action = match decision {
            Decision::Approve { .. } => "job.approve",
            Decision::Reject { .. } => "job.reject",
            Decision::SendBack { .. } => "job.send_back",
        };
        let decided = self.take_step(uow, &job, step, action).await?;
        if let Decision::Approve {
            printer: Some(printer),
        } = decision
        {
            store::choose_printer(uow.conn(), org, job.id, *printer).await?;
        }
        Ok(decided)
    }

    /// The printer an approver sends a job to must be one the target names and one they have
    /// access to.
    fn check_chosen_printer(
        &self,
        actor: &OrgActor,
        job: &Job,
        printer: PrinterId,
    ) -> AppResult<()> {
        actor.require_on_printer(Permission::ApprovalReview, printer)?;
        let placed = actor
            .policy
            .printer_ix(printer)
            .map(|ix| actor.policy.printer(ix))
            .ok_or(AppError::not_found("printer"))?;
        if !job.target.matches(placed) {
            return Err(domain::Invalid::new(
                "printer_id",
                format!(
                    "printer {printer} is not one the job targets ({})",
                    job.target
                ),
            )
            .into());
        }
        Ok(())
    }

    /// The owner sends a job that was sent back to approval again (or straight to the queue
    /// when approval is no longer needed for them).
    pub async fn resubmit(&self, actor: &OrgActor, id: JobId) -> AppResult<JobView> {
        let mut uow = self.app.begin(actor, Changes::Data).await?;
        let job = self.load(&mut uow, id).await?;
        if job.owner_member_id != uow.actor().member_id() {
            uow.actor().require(Permission::QueueEditAll)?;
        } else {
            uow.actor().require(Permission::QueueEditOwn)?;
        }
        if job.state != JobState::SentBack {
            return Err(super::invalid_transition(
                job.state,
                JobState::PendingApproval,
            ));
        }
        let to = entry_state(&mut uow).await?;
        let job = self
            .take_step(
                &mut uow,
                &job,
                Step::to(JobStep::Resubmitted, to),
                "job.resubmit",
            )
            .await?;
        uow.commit().await?;
        self.get_job(actor, job.id).await
    }
}
