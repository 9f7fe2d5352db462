//! Copies of one job printing on several printers at once: which copies are claimed, which
//! print, and whether one stopped the rest.

use domain::{Job, JobId, OrgId, PrintId};

use crate::rows::{int, opt_text};
use crate::{Conn, StoreError};

/// A job's copies beyond what [`Job`] carries.
#[derive(Debug, Clone, PartialEq)]
pub struct CopyProgress {
    /// Copies printed, printing, or claimed on their way to a printer.
    pub started: i32,
    /// `failed` or `cancelled`: a copy ended so while others printed, and no further copy
    /// starts.
    pub stopped: Option<String>,
}

pub async fn copy_progress(
    conn: &mut Conn,
    org: OrgId,
    job: JobId,
) -> Result<CopyProgress, StoreError> {
    let row =
        sqlx::query("SELECT copies_started, stopped_copy FROM jobs WHERE org_id = $1 AND id = $2")
            .bind(org.get())
            .bind(job.get())
            .fetch_one(&mut *conn)
            .await?;
    Ok(CopyProgress {
        started: i32::try_from(int(&row, "copies_started")?)
            .map_err(|e| StoreError::Corrupt(format!("copies started: {e}")))?,
        stopped: opt_text(&row, "stopped_copy")?,
    })
}

/// Claims one more copy of a printing job for a second printer, if one is left and no copy
/// stopped the rest: one statement, so two dispatcher passes (or instances) never claim the
/// same copy.
pub async fn claim_copy(conn: &mut Conn, org: OrgId, job: JobId) -> Result<bool, StoreError> {
    let result = sqlx::query(
        "UPDATE jobs SET copies_started = copies_started + 1 \
         WHERE org_id = $1 AND id = $2 AND state = 'printing' \
         AND copies_started < copies AND stopped_copy IS NULL",
    )
    .bind(org.get())
    .bind(job.get())
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Gives back a claimed copy that did not reach its printer.
pub async fn release_copy(conn: &mut Conn, org: OrgId, job: JobId) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE jobs SET copies_started = copies_started - 1 \
         WHERE org_id = $1 AND id = $2 AND copies_started > copies_done",
    )
    .bind(org.get())
    .bind(job.get())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Counts the job's copies anew from what is printed and printing, plus `claimed` on their
/// way, and clears a stop: for a job back in line, or matched to its next printer.
pub async fn recount_copies(
    conn: &mut Conn,
    org: OrgId,
    job: JobId,
    claimed: i32,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE jobs SET stopped_copy = NULL, copies_started = copies_done + $1 + \
         (SELECT COUNT(*) FROM prints p WHERE p.org_id = jobs.org_id AND p.job_id = jobs.id \
          AND p.state IN ('printing', 'paused', 'unknown')) \
         WHERE org_id = $2 AND id = $3",
    )
    .bind(claimed)
    .bind(org.get())
    .bind(job.get())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Records that a copy ended `failed` or `cancelled` while others printed.
pub async fn stop_copies(
    conn: &mut Conn,
    org: OrgId,
    job: JobId,
    how: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE jobs SET stopped_copy = COALESCE(stopped_copy, $1) WHERE org_id = $2 AND id = $3",
    )
    .bind(how)
    .bind(org.get())
    .bind(job.get())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// How many prints of the job are under way, besides `except`.
pub async fn copies_in_flight(
    conn: &mut Conn,
    org: OrgId,
    job: JobId,
    except: PrintId,
) -> Result<i64, StoreError> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM prints WHERE org_id = $1 AND job_id = $2 AND id <> $3 \
         AND state IN ('printing', 'paused', 'unknown')",
    )
    .bind(org.get())
    .bind(job.get())
    .bind(except.get())
    .fetch_one(&mut *conn)
    .await?;
    int(&row, "n")
}

/// The organization's printing jobs with copies left to start and nothing stopping them, in
/// line order: the dispatcher gives their copies to other free printers. (A job whose printer
/// was chosen for it prints its copies there, one after the other.)
pub async fn jobs_with_copies_left(conn: &mut Conn, org: OrgId) -> Result<Vec<Job>, StoreError> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {} FROM jobs WHERE org_id = $1 AND state = 'printing' \
         AND copies_started < copies AND stopped_copy IS NULL AND chosen_printer_id IS NULL \
         ORDER BY priority DESC, queue_position, id",
        super::queue::JOB_COLUMNS
    )))
    .bind(org.get())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(super::queue::job_from_row).collect()
}
