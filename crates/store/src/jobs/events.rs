//! Each job's timeline: who did each step, when, and why.

use domain::{JobEvent, JobId, JobState, JobStep, MemberId, OrgId};
use sqlx::any::AnyRow;

use crate::rows::{int, json_column, json_text, opt_int, opt_text, text, ts};
use crate::{Conn, StoreError};

fn state(stored: &str) -> Result<JobState, StoreError> {
    JobState::parse(stored).ok_or_else(|| StoreError::Corrupt(format!("job state {stored:?}")))
}

fn event_from_row(row: &AnyRow) -> Result<JobEvent, StoreError> {
    let step = text(row, "step")?;
    Ok(JobEvent {
        job_id: JobId(int(row, "job_id")?),
        step: JobStep::parse(&step)
            .ok_or_else(|| StoreError::Corrupt(format!("job step {step:?}")))?,
        at: ts(row, "at")?,
        actor_member_id: opt_int(row, "actor_member_id")?.map(MemberId),
        from_state: opt_text(row, "from_state")?
            .as_deref()
            .map(state)
            .transpose()?,
        to_state: state(&text(row, "to_state")?)?,
        reason: opt_text(row, "reason")?,
        detail: json_column(row, "detail")?,
    })
}

pub async fn append_job_event(
    conn: &mut Conn,
    org: OrgId,
    event: &JobEvent,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO job_events (org_id, job_id, step, at, actor_member_id, from_state, to_state, \
         reason, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(org.get())
    .bind(event.job_id.get())
    .bind(event.step.key())
    .bind(event.at.micros())
    .bind(event.actor_member_id.map(MemberId::get))
    .bind(event.from_state.map(JobState::key))
    .bind(event.to_state.key())
    .bind(event.reason.clone())
    .bind(json_text(&event.detail)?)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A job's timeline, oldest step first.
pub async fn job_timeline(
    conn: &mut Conn,
    org: OrgId,
    job: JobId,
) -> Result<Vec<JobEvent>, StoreError> {
    let rows = sqlx::query(
        "SELECT job_id, step, at, actor_member_id, from_state, to_state, reason, detail \
         FROM job_events WHERE org_id = $1 AND job_id = $2 ORDER BY id",
    )
    .bind(org.get())
    .bind(job.get())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(event_from_row).collect()
}
