//! The steps Farmhand itself takes on a job once it is queued: the dispatcher assigns and
//! starts it, and the job follows its print to the end. Each step is recorded in the job's
//! timeline (by nobody: Farmhand) and in the audit log, in the unit of work of the change that
//! causes it.

use domain::{JobEvent, JobId, JobState, JobStep, OrgId, PrintId, PrintState, PrinterId};
use serde_json::{Value, json};

use crate::App;
use crate::actor::{OrgActor, console_event, with_change};
use crate::error::AppResult;
use crate::unit_of_work::{Found, UnitOfWork};

/// A step of a job that Farmhand takes, from a known state.
#[derive(Debug, Clone)]
pub(crate) struct SystemStep<'a> {
    pub job: JobId,
    pub step: JobStep,
    pub from: JobState,
    pub to: JobState,
    pub reason: Option<&'a str>,
    /// The printer the job goes to, when the step names one.
    pub printer: Option<PrinterId>,
    pub detail: Value,
    /// Who took it, when a member did (a start by hand); `None`: Farmhand's dispatcher.
    pub by: Option<&'a OrgActor>,
}

/// Takes the step inside `uow` if the job is still in `step.from`: returns whether it was
/// (a concurrent change wins; the caller leaves the job alone).
pub(crate) async fn take_system_step<A>(
    uow: &mut UnitOfWork<A>,
    org: OrgId,
    step: &SystemStep<'_>,
) -> AppResult<bool> {
    let now = uow.now();
    let change = store::JobStateChange {
        from: step.from,
        to: step.to,
        reason: step.reason,
        printer: step.printer,
    };
    if !store::change_job_state(uow.conn(), org, step.job, &change, now).await? {
        return Ok(false);
    }
    let event = JobEvent {
        job_id: step.job,
        step: step.step,
        at: now,
        actor_member_id: step.by.map(OrgActor::member_id),
        from_state: Some(step.from),
        to_state: step.to,
        reason: step.reason.map(str::to_string),
        detail: step.detail.clone(),
    };
    store::append_job_event(uow.conn(), org, &event).await?;
    count_copies_after(uow.conn(), org, step.job, step.to).await?;
    let by = step.by.map(OrgActor::member_id);
    crate::quotas::settle_after(uow, org, step.job, step.from, step.to, by).await?;
    let action = format!("job.{}", step.step.key());
    let audit = match step.by {
        Some(actor) => actor.event(now, &action, "job", step.job),
        None => {
            let chain = domain::audit::Chain::Org(org);
            let mut event = console_event(chain, now, &action, "job", step.job.to_string());
            event.actor_label = "dispatcher".into();
            event
        }
    };
    uow.audit_event(with_change(
        audit,
        Some(json!({ "state": step.from.key() })),
        Some(json!({
            "state": step.to.key(),
            "reason": step.reason,
            "detail": step.detail,
        })),
    ));
    Ok(true)
}

impl App {
    /// [`take_system_step`] in a unit of work of its own.
    pub(crate) async fn take_system_step(
        &self,
        org: OrgId,
        step: &SystemStep<'_>,
    ) -> AppResult<bool> {
        let mut uow = self.begin_unattributed().await?;
        let taken = take_system_step(&mut uow, org, step).await?;
        uow.commit().await?;
        Ok(taken)
    }
}

/// After a print ended (inside the unit of work that records its end): the job it printed a
/// copy of follows. A completed copy counts; the job is `completed` once every copy is, and
/// goes back in line for the next one when none of its copies still prints. A failed or
/// cancelled print fails or cancels the job, with the printer's message; while other copies
/// still print on other printers, they finish first (no further copy starts) and the job ends
/// with the last of them. A job no longer printing (cancelled meanwhile) stays.
pub(crate) async fn follow_print_end<A>(
    uow: &mut UnitOfWork<A>,
    org: OrgId,
    print: PrintId,
    ended: PrintState,
    detail: &str,
) -> AppResult<()> {
    let Some(job) = store::job_of_print(uow.conn(), org, print).await? else {
        return Ok(());
    };
    let job = store::get_job(uow.conn(), org, job).await.found("job")?;
    if !matches!(
        job.state,
        JobState::Printing | JobState::Paused | JobState::Unknown
    ) {
        return Ok(());
    }
    let printer = store::get_print(uow.conn(), org, print)
        .await?
        .map(|p| p.printer_id);
    let others = store::copies_in_flight(uow.conn(), org, job.id, print).await?;
    let mut detail_json = json!({ "print_id": print, "printer_id": printer });
    let (step, to, reason) = match ended {
        PrintState::Completed => {
            store::add_copy_done(uow.conn(), org, job.id).await?;
            detail_json["copy"] = json!(job.copies_done + 1);
            detail_json["copies"] = json!(job.copies);
            let all_done = job.copies_done + 1 >= job.copies;
            let stopped = store::copy_progress(uow.conn(), org, job.id).await?.stopped;
            match (all_done, others, stopped) {
                (true, _, _) | (false, 0, None) => (JobStep::Completed, JobState::Completed, None),
                (false, 0, Some(how)) => stopped_job(&how),
                (false, _, _) => (JobStep::CopyCompleted, job.state, None),
            }
        }
        PrintState::Failed | PrintState::Cancelled if others > 0 => {
            store::stop_copies(uow.conn(), org, job.id, ended.as_str()).await?;
            let reason = match ended {
                PrintState::Failed => detail,
                _ => CANCELLED_AT_PRINTER,
            };
            (JobStep::CopyFailed, job.state, Some(reason))
        }
        PrintState::Failed => (JobStep::Failed, JobState::Failed, Some(detail)),
        PrintState::Cancelled => stopped_job(PrintState::Cancelled.as_str()),
        PrintState::Printing | PrintState::Paused | PrintState::Unknown => return Ok(()),
    };
    // A job ending after a copy stopped it keeps that copy's message, already recorded.
    let step = SystemStep {
        job: job.id,
        step,
        from: job.state,
        to,
        reason: reason.filter(|r| !r.is_empty()),
        printer: None,
        detail: detail_json,
        by: None,
    };
    let copies_left = step.step == JobStep::Completed && job.copies_done + 1 < job.copies;
    if take_system_step(uow, org, &step).await? && copies_left {
        let next = SystemStep {
            job: job.id,
            step: JobStep::NextCopy,
            from: JobState::Completed,
            to: JobState::Queued,
            reason: None,
            printer: None,
            detail: json!({ "copy": job.copies_done + 2, "copies": job.copies }),
            by: None,
        };
        take_system_step(uow, org, &next).await?;
        back_in_line(uow.conn(), org, job.id).await?;
    }
    Ok(())
}

const CANCELLED_AT_PRINTER: &str = "the print was cancelled at the printer";

/// How a job ends whose copy failed (`failed`) or was cancelled (`cancelled`) at its printer.
fn stopped_job(how: &str) -> (JobStep, JobState, Option<&'static str>) {
    if how == PrintState::Cancelled.as_str() {
        (
            JobStep::Cancelled,
            JobState::Cancelled,
            Some(CANCELLED_AT_PRINTER),
        )
    } else {
        (JobStep::Failed, JobState::Failed, None)
    }
}

/// Keeps a job's count of started copies true after it moves: back in line, nothing of it is
/// on its way to a printer; matched to a printer, one copy is.
pub(crate) async fn count_copies_after(
    conn: &mut store::Conn,
    org: OrgId,
    job: JobId,
    to: JobState,
) -> AppResult<()> {
    match to {
        JobState::Queued => store::recount_copies(conn, org, job, 0).await?,
        JobState::Assigned => store::recount_copies(conn, org, job, 1).await?,
        _ => {}
    }
    Ok(())
}

/// A job back in line goes to the printer chosen for it, if one was, else to whichever
/// printer is free first.
pub(crate) async fn back_in_line(conn: &mut store::Conn, org: OrgId, job: JobId) -> AppResult<()> {
    let chosen = store::chosen_printer(conn, org, job).await?;
    store::set_job_printer(conn, org, job, chosen).await?;
    Ok(())
}

/// While a print goes on: the job it prints follows it when it pauses, resumes, loses its
/// printer (`unknown`) or is found again.
pub(crate) async fn follow_print_state<A>(
    uow: &mut UnitOfWork<A>,
    org: OrgId,
    print: PrintId,
    now: PrintState,
) -> AppResult<()> {
    let Some(job) = store::job_of_print(uow.conn(), org, print).await? else {
        return Ok(());
    };
    let job = store::get_job(uow.conn(), org, job).await.found("job")?;
    let (step, to) = match (job.state, now) {
        (JobState::Printing, PrintState::Paused) => (JobStep::Paused, JobState::Paused),
        (JobState::Paused, PrintState::Printing) => (JobStep::Resumed, JobState::Printing),
        (JobState::Printing | JobState::Paused, PrintState::Unknown) => {
            (JobStep::ContactLost, JobState::Unknown)
        }
        (JobState::Unknown, PrintState::Printing) => (JobStep::Reconciled, JobState::Printing),
        (JobState::Unknown, PrintState::Paused) => (JobStep::Reconciled, JobState::Paused),
        _ => return Ok(()),
    };
    let step = SystemStep {
        job: job.id,
        step,
        from: job.state,
        to,
        reason: None,
        printer: None,
        detail: json!({ "print_id": print, "printer_id": job.printer_id }),
        by: None,
    };
    take_system_step(uow, org, &step).await?;
    Ok(())
}
