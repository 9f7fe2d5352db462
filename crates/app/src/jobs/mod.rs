//! Print jobs: submission (with the organization's questions), the queue and its history,
//! approval, and each job's timeline. Every step is one unit of work that records the step in
//! the job's timeline and in the audit log, together.
//!
//! Seams for what comes next: the dispatcher (assigning queued jobs to printers and following
//! them as they print) moves jobs through [`Jobs::record_step`]-style transitions of its own;
//! quota and balance checks join [`submission::check_submission`] inside the same transaction
//! as the job insert.

mod approval;
mod estimate;
mod files;
mod history;
mod printing;
mod questions;
mod queue;
mod submission;

use std::collections::BTreeMap;

use authz::Permission;
use domain::{AnswerValue, Job, JobEvent, JobId, JobState, JobStep, MemberId, QuestionId};
use serde_json::{Value, json};

pub use approval::{ApprovalItem, BulkOutcome, Decision};
pub use estimate::SubmissionEstimate;
pub use history::{JOB_CSV_HEADER, write_job_csv};
pub use questions::{CHOICE_PATTERN, MAX_CHOICE_CHARS, MAX_CHOICES, QuestionInput};
pub use queue::{JobEdit, JobPage, JobQuery, Reorder};
pub use submission::SubmitJob;

pub(crate) use files::{FileFacts, Unsuitable};
pub(crate) use printing::{
    SystemStep, back_in_line, follow_print_end, follow_print_state, take_system_step,
};

use crate::App;
use crate::actor::OrgActor;
use crate::error::{AppError, AppResult, ErrorCode};
use crate::unit_of_work::{Audit, Changes, Found, UnitOfWork};

/// The use cases of print jobs and their approval.
#[derive(Clone, Copy)]
pub struct Jobs<'a> {
    pub(crate) app: &'a App,
}

impl App {
    pub fn jobs(&self) -> Jobs<'_> {
        Jobs { app: self }
    }
}

/// A job as its reader may see it: the answers only for whoever may read them.
#[derive(Debug, Clone)]
pub struct JobView {
    pub job: Job,
    /// `None` when the reader may not see them (someone else's job without
    /// `submissions.view_all_answers`).
    pub answers: Option<BTreeMap<QuestionId, AnswerValue>>,
    /// Its itemized cost estimate and, once it ended, its final cost (`None` for jobs from
    /// before costs were kept).
    pub cost: Option<JobCost>,
}

/// A job's itemized cost: the estimate held at submission, the final one once it ended.
#[derive(Debug, Clone, PartialEq)]
pub struct JobCost {
    pub estimate: domain::money::Cost,
    pub final_cost: Option<domain::money::Cost>,
}

impl JobCost {
    pub(crate) fn of(row: &store::JobUsage) -> AppResult<JobCost> {
        let estimate = serde_json::from_str(&row.estimate).map_err(AppError::internal)?;
        let final_cost = row
            .final_cost
            .as_deref()
            .map(serde_json::from_str)
            .transpose()
            .map_err(AppError::internal)?;
        Ok(JobCost {
            estimate,
            final_cost,
        })
    }
}

/// The costs of jobs, by job.
pub(crate) async fn job_costs(
    conn: &mut store::Conn,
    org: domain::OrgId,
    jobs: &[JobId],
) -> AppResult<std::collections::HashMap<JobId, JobCost>> {
    let mut costs = std::collections::HashMap::new();
    for row in store::job_usages(conn, org, jobs).await? {
        costs.insert(row.job_id, JobCost::of(&row)?);
    }
    Ok(costs)
}

/// One step of a job's timeline with the name of whoever took it.
#[derive(Debug, Clone)]
pub struct TimelineStep {
    pub event: JobEvent,
    pub actor_name: Option<String>,
}

pub(crate) fn job_summary(job: &Job) -> Value {
    let (kind, id) = job.target.parts();
    json!({
        "state": job.state.key(),
        "file_id": job.file_id.get(),
        "target": { "kind": kind, "id": id },
        "printer_id": job.printer_id.map(|p| p.get()),
        "priority": job.priority,
        "copies": job.copies,
        "note": job.note,
    })
}

/// Whether the actor's permission to act on a job is the `.own` one (their job) or the `.all`
/// one (anyone's).
fn own_or_all(actor: &OrgActor, job: &Job, own: Permission, all: Permission) -> AppResult<()> {
    if job.owner_member_id == actor.member_id() && actor.holds(own) {
        return Ok(());
    }
    actor.require(all)
}

/// Whether the actor may see a job at all (its owner, or `.all` for the queue or the history).
fn may_see(actor: &OrgActor, job: &Job) -> bool {
    let (own, all) = if job.state.is_finished() {
        (Permission::QueueHistoryOwn, Permission::QueueHistoryAll)
    } else {
        (Permission::QueueViewOwn, Permission::QueueViewAll)
    };
    (job.owner_member_id == actor.member_id() && actor.holds(own)) || actor.holds(all)
}

/// A job the actor may see, or "not found".
pub(crate) async fn visible_job(
    conn: &mut store::Conn,
    actor: &OrgActor,
    id: JobId,
) -> AppResult<Job> {
    let job = store::get_job(conn, actor.org(), id).await.found("job")?;
    if !may_see(actor, &job) {
        return Err(AppError::not_found("job"));
    }
    Ok(job)
}

fn may_read_answers(actor: &OrgActor, owner: MemberId) -> bool {
    owner == actor.member_id() || actor.holds(Permission::SubmissionsViewAllAnswers)
}

/// 409 `invalid_transition` naming both states.
pub(crate) fn invalid_transition(from: JobState, to: JobState) -> AppError {
    AppError::conflict(
        ErrorCode::InvalidTransition,
        format!("a job that is {from} cannot become {to}"),
    )
}

/// What one step does to a job: its state change, and why.
struct Step<'a> {
    step: JobStep,
    to: JobState,
    reason: Option<&'a str>,
    printer: Option<domain::PrinterId>,
    detail: Value,
}

impl<'a> Step<'a> {
    fn to(step: JobStep, to: JobState) -> Step<'a> {
        Step {
            step,
            to,
            reason: None,
            printer: None,
            detail: json!({}),
        }
    }

    fn because(mut self, reason: &'a str) -> Step<'a> {
        self.reason = Some(reason);
        self
    }
}

impl Jobs<'_> {
    /// The job, locked for this unit of work's change, if the actor may see it (others' jobs
    /// are "not found", as if they did not exist).
    async fn load(&self, uow: &mut UnitOfWork, id: JobId) -> AppResult<Job> {
        let org = uow.actor().org();
        let job = store::get_job(uow.conn(), org, id).await.found("job")?;
        if !may_see(uow.actor(), &job) {
            return Err(AppError::not_found("job"));
        }
        Ok(job)
    }

    /// Moves a job through one step of its lifecycle: refuses a transition the lifecycle does
    /// not allow (naming both states), records the step in the timeline and the audit log.
    async fn take_step(
        &self,
        uow: &mut UnitOfWork,
        job: &Job,
        step: Step<'_>,
        action: &'static str,
    ) -> AppResult<Job> {
        if !job.state.can_become(step.to) || !step.step.applies_to(job.state) {
            return Err(invalid_transition(job.state, step.to));
        }
        let (org, now) = (uow.actor().org(), uow.now());
        let change = store::JobStateChange {
            from: job.state,
            to: step.to,
            reason: step.reason,
            printer: step.printer,
        };
        if !store::change_job_state(uow.conn(), org, job.id, &change, now).await? {
            // Only possible if a writer outside this transaction's lock got there first.
            return Err(AppError::conflict(
                ErrorCode::InvalidTransition,
                "the job changed meanwhile; read it again",
            ));
        }
        let by = Some(uow.actor().member_id());
        crate::quotas::settle_after(uow, org, job.id, job.state, step.to, by).await?;
        if job.state.is_finished() && !step.to.is_finished() && step.step != JobStep::NextCopy {
            // Revived: it prints its copies anew, in a run of its own (what its earlier run
            // printed stays counted and charged).
            store::reset_copies_done(uow.conn(), org, job.id).await?;
            crate::quotas::hold_revived_job(uow, job).await?;
        }
        printing::count_copies_after(uow.conn(), org, job.id, step.to).await?;
        if matches!(job.state, JobState::PendingApproval | JobState::SentBack)
            && step.to == JobState::Queued
        {
            crate::billing::hold_on_approval(uow, job).await?;
        }
        let after = store::get_job(uow.conn(), org, job.id).await.found("job")?;
        self.record(
            uow,
            &after,
            step.step,
            Some(job.state),
            step.reason,
            step.detail,
        )
        .await?;
        uow.audit(
            Audit::of(action, "job", job.id)
                .before(job_summary(job))
                .after(with_reason(job_summary(&after), step.reason)),
        );
        Ok(after)
    }

    /// Appends a step to a job's timeline, attributed to the actor.
    async fn record(
        &self,
        uow: &mut UnitOfWork,
        job: &Job,
        step: JobStep,
        from: Option<JobState>,
        reason: Option<&str>,
        detail: Value,
    ) -> AppResult<()> {
        let event = JobEvent {
            job_id: job.id,
            step,
            at: uow.now(),
            actor_member_id: Some(uow.actor().member_id()),
            from_state: from,
            to_state: job.state,
            reason: reason.map(str::to_string),
            detail,
        };
        let org = uow.actor().org();
        store::append_job_event(uow.conn(), org, &event).await?;
        Ok(())
    }

    async fn view(&self, conn: &mut store::Conn, actor: &OrgActor, job: Job) -> AppResult<JobView> {
        let answers = if may_read_answers(actor, job.owner_member_id) {
            Some(store::job_answers(conn, job.id).await?)
        } else {
            None
        };
        let cost = store::get_job_usage(conn, job.org_id, job.id)
            .await?
            .map(|row| JobCost::of(&row))
            .transpose()?;
        Ok(JobView { job, answers, cost })
    }

    /// One job.
    pub async fn get_job(&self, actor: &OrgActor, id: JobId) -> AppResult<JobView> {
        let mut conn = self.app.store().read().await?;
        let job = store::get_job(&mut conn, actor.org(), id)
            .await
            .found("job")?;
        if !may_see(actor, &job) {
            return Err(AppError::not_found("job"));
        }
        self.view(&mut conn, actor, job).await
    }

    /// Every step of a job, oldest first, with who took it.
    pub async fn timeline(&self, actor: &OrgActor, id: JobId) -> AppResult<Vec<TimelineStep>> {
        let mut conn = self.app.store().read().await?;
        let job = store::get_job(&mut conn, actor.org(), id)
            .await
            .found("job")?;
        if !may_see(actor, &job) {
            return Err(AppError::not_found("job"));
        }
        let events = store::job_timeline(&mut conn, actor.org(), id).await?;
        let names = store::member_names(&mut conn, actor.org()).await?;
        Ok(events
            .into_iter()
            .map(|event| TimelineStep {
                actor_name: event.actor_member_id.and_then(|m| names.get(&m).cloned()),
                event,
            })
            .collect())
    }

    /// Turns approval on or off for the organization.
    pub async fn set_approval_required(&self, actor: &OrgActor, required: bool) -> AppResult<bool> {
        let mut uow = self.app.begin(actor, Changes::Data).await?;
        uow.actor().require(Permission::ApprovalConfigure)?;
        let before = store::get_org(uow.conn(), actor.org())
            .await
            .found("organization")?;
        let mut org = before.clone();
        org.approval_required = required;
        store::update_org(uow.conn(), &org).await?;
        uow.audit(
            Audit::of("organization.approval", "organization", org.id)
                .before(json!({ "approval_required": before.approval_required }))
                .after(json!({ "approval_required": required })),
        );
        uow.commit().await?;
        Ok(required)
    }
}

fn with_reason(mut summary: Value, reason: Option<&str>) -> Value {
    if let (Some(reason), Some(fields)) = (reason, summary.as_object_mut()) {
        fields.insert("reason".into(), reason.into());
    }
    summary
}

/// Refuses to remove a printer, group, model or site that unfinished jobs still aim at (they
/// would wait for a printer that can no longer exist): they must be moved or cancelled first.
pub(crate) async fn refuse_if_jobs_aim_at(
    conn: &mut store::Conn,
    org: domain::OrgId,
    target: domain::JobTarget,
) -> AppResult<()> {
    let waiting = store::count_unfinished_jobs_aiming_at(conn, org, target).await?;
    if waiting > 0 {
        let (kind, _) = target.parts();
        return Err(AppError::conflict(
            ErrorCode::TargetInUse,
            format!("{waiting} unfinished job(s) aim at this {kind}; move or cancel them first"),
        ));
    }
    Ok(())
}
