//! Printer access grants: to a rank, workgroup or member, over some printers, at a level.

use authz::AccessLevel;
use domain::{GrantId, GrantSubject, GrantTarget, OrgId, PrinterGrant, Timestamp};
use sqlx::any::AnyRow;

use crate::rows::{int, text, ts};
use crate::{Conn, StoreError};

pub async fn insert_grant(
    conn: &mut Conn,
    org: OrgId,
    subject: GrantSubject,
    target: GrantTarget,
    level: AccessLevel,
    now: Timestamp,
) -> Result<GrantId, StoreError> {
    let row = sqlx::query(
        "INSERT INTO printer_grants (org_id, subject_kind, subject_id, target_kind, target_id, level, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(org.get())
    .bind(subject.kind())
    .bind(subject.id())
    .bind(target.kind())
    .bind(target.id())
    .bind(level.key())
    .bind(now.micros())
    .fetch_one(&mut *conn)
    .await?;
    Ok(GrantId(int(&row, "id")?))
}

fn grant_from_row(row: &AnyRow) -> Result<PrinterGrant, StoreError> {
    let (subject_kind, target_kind, level) = (
        text(row, "subject_kind")?,
        text(row, "target_kind")?,
        text(row, "level")?,
    );
    Ok(PrinterGrant {
        id: GrantId(int(row, "id")?),
        subject: GrantSubject::from_stored(&subject_kind, int(row, "subject_id")?)
            .ok_or_else(|| StoreError::Corrupt(format!("grant subject {subject_kind:?}")))?,
        target: GrantTarget::from_stored(&target_kind, int(row, "target_id")?)
            .ok_or_else(|| StoreError::Corrupt(format!("grant target {target_kind:?}")))?,
        level: AccessLevel::parse(&level)
            .ok_or_else(|| StoreError::Corrupt(format!("grant level {level:?}")))?,
        created_at: ts(row, "created_at")?,
    })
}

const GRANT_SELECT: &str = "SELECT id, subject_kind, subject_id, target_kind, target_id, level, created_at FROM printer_grants";

pub async fn list_grants(conn: &mut Conn, org: OrgId) -> Result<Vec<PrinterGrant>, StoreError> {
    let sql = format!("{GRANT_SELECT} WHERE org_id = $1 ORDER BY id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(org.get())
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(grant_from_row).collect()
}

pub async fn get_grant(
    conn: &mut Conn,
    org: OrgId,
    id: GrantId,
) -> Result<Option<PrinterGrant>, StoreError> {
    let sql = format!("{GRANT_SELECT} WHERE org_id = $1 AND id = $2");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(org.get())
        .bind(id.get())
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(grant_from_row).transpose()
}

pub async fn delete_grant(conn: &mut Conn, org: OrgId, id: GrantId) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM printer_grants WHERE org_id = $1 AND id = $2")
        .bind(org.get())
        .bind(id.get())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Removes the grants whose subject or target is going away with a deleted entity.
pub async fn delete_grants_about(
    conn: &mut Conn,
    org: OrgId,
    kind: &str,
    id: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "DELETE FROM printer_grants WHERE org_id = $1 AND ((subject_kind = $2 AND subject_id = $3) \
         OR (target_kind = $2 AND target_id = $3))",
    )
    .bind(org.get())
    .bind(kind.to_string())
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
