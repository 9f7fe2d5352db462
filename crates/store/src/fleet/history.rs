//! Printer state history: every persisted state change of a printer.

use domain::{OrgId, PrintId, PrinterId, PrinterState, PrinterStateEvent, Timestamp};
use sqlx::any::AnyRow;

use crate::rows::{opt_int, text, ts};
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
