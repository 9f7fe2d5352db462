//! Printer reservations: a printer held for a member or a workgroup over a time window.

use domain::{
    MemberId, OrgId, PrinterId, Reservation, ReservationFor, ReservationId, Timestamp, WorkgroupId,
};
use sqlx::any::AnyRow;

use crate::rows::{int, opt_int, text, ts};
use crate::{Conn, StoreError};

const COLUMNS: &str =
    "id, printer_id, member_id, workgroup_id, starts_at, ends_at, note, created_by, created_at";

fn reservation_from_row(row: &AnyRow) -> Result<Reservation, StoreError> {
    let reserved_for = match (opt_int(row, "member_id")?, opt_int(row, "workgroup_id")?) {
        (Some(member), None) => ReservationFor::Member(MemberId(member)),
        (None, Some(group)) => ReservationFor::Workgroup(WorkgroupId(group)),
        _ => {
            return Err(StoreError::Corrupt(
                "reservation without one subject".into(),
            ));
        }
    };
    Ok(Reservation {
        id: ReservationId(int(row, "id")?),
        printer_id: PrinterId(int(row, "printer_id")?),
        reserved_for,
        starts_at: ts(row, "starts_at")?,
        ends_at: ts(row, "ends_at")?,
        note: text(row, "note")?,
        created_by: opt_int(row, "created_by")?.map(MemberId),
        created_at: ts(row, "created_at")?,
    })
}

/// A reservation to record.
pub struct NewReservation<'a> {
    pub printer: PrinterId,
    pub reserved_for: ReservationFor,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub note: &'a str,
    pub created_by: MemberId,
}

pub async fn insert_reservation(
    conn: &mut Conn,
    org: OrgId,
    new: &NewReservation<'_>,
    now: Timestamp,
) -> Result<Reservation, StoreError> {
    let (member, group) = match new.reserved_for {
        ReservationFor::Member(m) => (Some(m.get()), None),
        ReservationFor::Workgroup(w) => (None, Some(w.get())),
    };
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO printer_reservations (org_id, printer_id, member_id, workgroup_id, \
         starts_at, ends_at, note, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {COLUMNS}"
    )))
    .bind(org.get())
    .bind(new.printer.get())
    .bind(member)
    .bind(group)
    .bind(new.starts_at.micros())
    .bind(new.ends_at.micros())
    .bind(new.note.to_string())
    .bind(new.created_by.get())
    .bind(now.micros())
    .fetch_one(&mut *conn)
    .await?;
    reservation_from_row(&row)
}

/// The printer's reservations that have not ended by `now`, earliest first.
pub async fn printer_reservations(
    conn: &mut Conn,
    org: OrgId,
    printer: PrinterId,
    now: Timestamp,
) -> Result<Vec<Reservation>, StoreError> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM printer_reservations \
         WHERE org_id = $1 AND printer_id = $2 AND ends_at > $3 ORDER BY starts_at, id"
    )))
    .bind(org.get())
    .bind(printer.get())
    .bind(now.micros())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(reservation_from_row).collect()
}

/// The organization's reservations holding a printer at `now`.
pub async fn active_reservations(
    conn: &mut Conn,
    org: OrgId,
    now: Timestamp,
) -> Result<Vec<Reservation>, StoreError> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM printer_reservations \
         WHERE org_id = $1 AND ends_at > $2 AND starts_at <= $2"
    )))
    .bind(org.get())
    .bind(now.micros())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(reservation_from_row).collect()
}

/// Whether another reservation of the printer overlaps `starts_at..ends_at`.
pub async fn reservation_overlaps(
    conn: &mut Conn,
    org: OrgId,
    printer: PrinterId,
    starts_at: Timestamp,
    ends_at: Timestamp,
) -> Result<bool, StoreError> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM printer_reservations \
         WHERE org_id = $1 AND printer_id = $2 AND starts_at < $4 AND ends_at > $3",
    )
    .bind(org.get())
    .bind(printer.get())
    .bind(starts_at.micros())
    .bind(ends_at.micros())
    .fetch_one(&mut *conn)
    .await?;
    Ok(int(&row, "n")? > 0)
}

pub async fn get_reservation(
    conn: &mut Conn,
    org: OrgId,
    id: ReservationId,
) -> Result<Option<Reservation>, StoreError> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM printer_reservations WHERE org_id = $1 AND id = $2"
    )))
    .bind(org.get())
    .bind(id.get())
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(reservation_from_row).transpose()
}

pub async fn delete_reservation(
    conn: &mut Conn,
    org: OrgId,
    id: ReservationId,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM printer_reservations WHERE org_id = $1 AND id = $2")
        .bind(org.get())
        .bind(id.get())
        .execute(&mut *conn)
        .await?;
    Ok(())
}
