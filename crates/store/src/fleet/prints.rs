//! Prints: each attempt at printing a file on a printer.

use domain::{JobId, MemberId, OrgId, Print, PrintId, PrintState, PrinterId, Timestamp};
use sqlx::any::AnyRow;

use crate::rows::{flag, int, opt_int, opt_ts, real, text, ts};
use crate::{Conn, StoreError};

/// A print to record.
pub struct NewPrint<'a> {
    pub printer: PrinterId,
    pub file_name: &'a str,
    pub file_sha256: &'a str,
    pub file_size: i64,
    pub estimated_s: f64,
    pub started_by: Option<MemberId>,
    pub managed: bool,
    pub state: PrintState,
    pub started_at: Timestamp,
    /// The job it prints a copy of, when the dispatcher started it.
    pub job: Option<JobId>,
}

pub async fn insert_print(
    conn: &mut Conn,
    org: OrgId,
    print: &NewPrint<'_>,
) -> Result<PrintId, StoreError> {
    let row = sqlx::query(
        "INSERT INTO prints (org_id, printer_id, file_name, file_sha256, file_size, estimated_s, \
         started_by, managed, state, started_at, job_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
    )
    .bind(org.get())
    .bind(print.printer.get())
    .bind(print.file_name.to_string())
    .bind(print.file_sha256.to_string())
    .bind(print.file_size)
    .bind(print.estimated_s)
    .bind(print.started_by.map(MemberId::get))
    .bind(print.managed)
    .bind(print.state.as_str())
    .bind(print.started_at.micros())
    .bind(print.job.map(JobId::get))
    .fetch_one(&mut *conn)
    .await?;
    Ok(PrintId(int(&row, "id")?))
}

/// The job a print was started for, if the dispatcher started it.
pub async fn job_of_print(
    conn: &mut Conn,
    org: OrgId,
    print: PrintId,
) -> Result<Option<JobId>, StoreError> {
    let row = sqlx::query("SELECT job_id FROM prints WHERE org_id = $1 AND id = $2")
        .bind(org.get())
        .bind(print.get())
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row
        .map(|row| opt_int(&row, "job_id"))
        .transpose()?
        .flatten()
        .map(JobId))
}

/// Moves a print to a new state; `ended_at` is set once it is over.
pub async fn update_print_state(
    conn: &mut Conn,
    org: OrgId,
    id: PrintId,
    state: PrintState,
    detail: &str,
    ended_at: Option<Timestamp>,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE prints SET state = $1, detail = $2, ended_at = $3 WHERE org_id = $4 AND id = $5",
    )
    .bind(state.as_str())
    .bind(detail.to_string())
    .bind(ended_at.map(Timestamp::micros))
    .bind(org.get())
    .bind(id.get())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub(crate) const PRINT_COLUMNS: &str = "id, printer_id, file_name, file_sha256, file_size, estimated_s, \
    started_by, managed, state, detail, started_at, ended_at";

pub(crate) fn print_from_row(row: &AnyRow) -> Result<Print, StoreError> {
    let state = text(row, "state")?;
    Ok(Print {
        id: PrintId(int(row, "id")?),
        printer_id: PrinterId(int(row, "printer_id")?),
        file_name: text(row, "file_name")?,
        file_sha256: text(row, "file_sha256")?,
        file_size: int(row, "file_size")?,
        estimated_s: real(row, "estimated_s")?,
        started_by: opt_int(row, "started_by")?.map(MemberId),
        managed: flag(row, "managed")?,
        state: PrintState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown print state {state:?}")))?,
        detail: text(row, "detail")?,
        started_at: ts(row, "started_at")?,
        ended_at: opt_ts(row, "ended_at")?,
    })
}

/// The print still on the printer (printing, paused or unknown), if any.
pub async fn active_print(
    conn: &mut Conn,
    org: OrgId,
    printer: PrinterId,
) -> Result<Option<Print>, StoreError> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {PRINT_COLUMNS} FROM prints WHERE org_id = $1 AND printer_id = $2 \
         AND state IN ('printing', 'paused', 'unknown') ORDER BY id DESC LIMIT 1"
    )))
    .bind(org.get())
    .bind(printer.get())
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(print_from_row).transpose()
}

pub async fn get_print(
    conn: &mut Conn,
    org: OrgId,
    id: PrintId,
) -> Result<Option<Print>, StoreError> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {PRINT_COLUMNS} FROM prints WHERE org_id = $1 AND id = $2"
    )))
    .bind(org.get())
    .bind(id.get())
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(print_from_row).transpose()
}

/// A printer's prints, newest first.
pub async fn list_prints(
    conn: &mut Conn,
    org: OrgId,
    printer: PrinterId,
    limit: i64,
) -> Result<Vec<Print>, StoreError> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {PRINT_COLUMNS} FROM prints WHERE org_id = $1 AND printer_id = $2 \
         ORDER BY id DESC LIMIT $3"
    )))
    .bind(org.get())
    .bind(printer.get())
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(print_from_row).collect()
}

/// Printing time (µs) per job owner over the prints the dispatcher started since `since`;
/// a print under way counts up to `now`. Owners who printed nothing are absent.
pub async fn printing_time_by_owner(
    conn: &mut Conn,
    org: OrgId,
    since: Timestamp,
    now: Timestamp,
) -> Result<std::collections::HashMap<MemberId, i64>, StoreError> {
    let rows = sqlx::query(
        "SELECT j.owner_member_id AS owner, \
         CAST(SUM(COALESCE(p.ended_at, $3) - p.started_at) AS BIGINT) AS printed \
         FROM prints p JOIN jobs j ON j.id = p.job_id \
         WHERE p.org_id = $1 AND p.started_at >= $2 GROUP BY j.owner_member_id",
    )
    .bind(org.get())
    .bind(since.micros())
    .bind(now.micros())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| Ok((MemberId(int(row, "owner")?), int(row, "printed")?)))
        .collect()
}
