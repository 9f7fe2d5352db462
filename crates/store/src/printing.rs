//! What printers did: persisted state changes and prints.

use domain::{
    MemberId, OrgId, Print, PrintId, PrintState, PrinterId, PrinterState, PrinterStateEvent,
    Timestamp,
};
use sqlx::any::AnyRow;

use crate::rows::{flag, int, opt_int, opt_ts, real, text, ts};
use crate::{Conn, StoreError};

/// A state change to persist.
pub struct StateChange<'a> {
    pub printer: PrinterId,
    pub from: PrinterState,
    pub to: PrinterState,
    pub detail: &'a str,
    pub print: Option<PrintId>,
    pub at: Timestamp,
}

/// Sets the printer's persisted state and records the transition.
pub async fn record_printer_state(
    conn: &mut Conn,
    org: OrgId,
    change: &StateChange<'_>,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE printers SET state = $1, state_detail = $2, state_since = $3 \
         WHERE org_id = $4 AND id = $5",
    )
    .bind(change.to.as_str())
    .bind(change.detail.to_string())
    .bind(change.at.micros())
    .bind(org.get())
    .bind(change.printer.get())
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO printer_state_events (org_id, printer_id, from_state, to_state, detail, \
         print_id, occurred_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(org.get())
    .bind(change.printer.get())
    .bind(change.from.as_str())
    .bind(change.to.as_str())
    .bind(change.detail.to_string())
    .bind(change.print.map(PrintId::get))
    .bind(change.at.micros())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The latest state changes of a printer, newest first.
pub async fn list_printer_state_events(
    conn: &mut Conn,
    org: OrgId,
    printer: PrinterId,
    limit: i64,
) -> Result<Vec<PrinterStateEvent>, StoreError> {
    let rows = sqlx::query(
        "SELECT from_state, to_state, detail, print_id, occurred_at FROM printer_state_events \
         WHERE org_id = $1 AND printer_id = $2 ORDER BY id DESC LIMIT $3",
    )
    .bind(org.get())
    .bind(printer.get())
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(PrinterStateEvent {
                from: printer_state(row, "from_state")?,
                to: printer_state(row, "to_state")?,
                detail: text(row, "detail")?,
                print_id: opt_int(row, "print_id")?.map(PrintId),
                occurred_at: ts(row, "occurred_at")?,
            })
        })
        .collect()
}

fn printer_state(row: &AnyRow, col: &str) -> Result<PrinterState, StoreError> {
    let value = text(row, col)?;
    PrinterState::parse(&value)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown printer state {value:?}")))
}

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
}

pub async fn insert_print(
    conn: &mut Conn,
    org: OrgId,
    print: &NewPrint<'_>,
) -> Result<PrintId, StoreError> {
    let row = sqlx::query(
        "INSERT INTO prints (org_id, printer_id, file_name, file_sha256, file_size, estimated_s, \
         started_by, managed, state, started_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(org.get())
    .bind(print.printer.get())
    .bind(print.file_name.to_string())
    .bind(print.file_sha256.to_string())
    .bind(print.file_size)
    .bind(print.estimated_s)
    .bind(print.started_by.map(MemberId::get))
    .bind(i64::from(print.managed))
    .bind(print.state.as_str())
    .bind(print.started_at.micros())
    .fetch_one(&mut *conn)
    .await?;
    Ok(PrintId(int(&row, "id")?))
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
