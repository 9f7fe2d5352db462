//! Printer groups.

use domain::{OrgId, PrinterGroup, PrinterGroupId, Timestamp};
use sqlx::any::AnyRow;

use crate::rows::{int, text, ts};
use crate::{Conn, StoreError};

pub async fn insert_printer_group(
    conn: &mut Conn,
    org: OrgId,
    name: &str,
    description: &str,
    now: Timestamp,
) -> Result<PrinterGroupId, StoreError> {
    let row = sqlx::query(
        "INSERT INTO printer_groups (org_id, name, description, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(org.get())
    .bind(name.to_string())
    .bind(description.to_string())
    .bind(now.micros())
    .fetch_one(&mut *conn)
    .await?;
    Ok(PrinterGroupId(int(&row, "id")?))
}

fn group_from_row(row: &AnyRow) -> Result<PrinterGroup, StoreError> {
    Ok(PrinterGroup {
        id: PrinterGroupId(int(row, "id")?),
        name: text(row, "name")?,
        description: text(row, "description")?,
        created_at: ts(row, "created_at")?,
    })
}

pub async fn list_printer_groups(
    conn: &mut Conn,
    org: OrgId,
) -> Result<Vec<PrinterGroup>, StoreError> {
    let rows = sqlx::query("SELECT id, name, description, created_at FROM printer_groups WHERE org_id = $1 ORDER BY name, id")
        .bind(org.get())
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(group_from_row).collect()
}

pub async fn get_printer_group(
    conn: &mut Conn,
    org: OrgId,
    id: PrinterGroupId,
) -> Result<Option<PrinterGroup>, StoreError> {
    let row = sqlx::query("SELECT id, name, description, created_at FROM printer_groups WHERE org_id = $1 AND id = $2")
        .bind(org.get())
        .bind(id.get())
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(group_from_row).transpose()
}

pub async fn update_printer_group(
    conn: &mut Conn,
    org: OrgId,
    id: PrinterGroupId,
    name: &str,
    description: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE printer_groups SET name = $1, description = $2 WHERE org_id = $3 AND id = $4",
    )
    .bind(name.to_string())
    .bind(description.to_string())
    .bind(org.get())
    .bind(id.get())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn delete_printer_group(
    conn: &mut Conn,
    org: OrgId,
    id: PrinterGroupId,
) -> Result<(), StoreError> {
    crate::access::delete_grants_about(conn, org, "group", id.get()).await?;
    sqlx::query("DELETE FROM printer_groups WHERE org_id = $1 AND id = $2")
        .bind(org.get())
        .bind(id.get())
        .execute(&mut *conn)
        .await?;
    Ok(())
}
