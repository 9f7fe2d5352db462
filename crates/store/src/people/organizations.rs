//! Organizations: the tenants. Nothing crosses them.

use authz::BedClearAccess;
use domain::{OrgId, Organization, Timestamp};
use sqlx::any::AnyRow;

use crate::rows::{flag, int, text, ts};
use crate::{Conn, StoreError};

pub async fn insert_org(
    conn: &mut Conn,
    name: &str,
    time_zone: &str,
    currency: &str,
    now: Timestamp,
) -> Result<OrgId, StoreError> {
    let row = sqlx::query(
        "INSERT INTO organizations (name, time_zone, currency, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(name.to_string())
    .bind(time_zone.to_string())
    .bind(currency.to_string())
    .bind(now.micros())
    .fetch_one(&mut *conn)
    .await?;
    Ok(OrgId(int(&row, "id")?))
}

fn org_from_row(row: &AnyRow) -> Result<Organization, StoreError> {
    Ok(Organization {
        id: OrgId(int(row, "id")?),
        name: text(row, "name")?,
        time_zone: text(row, "time_zone")?,
        currency: text(row, "currency")?,
        bed_clear_access: {
            let stored = text(row, "bed_clear_access")?;
            BedClearAccess::parse(&stored)
                .ok_or_else(|| StoreError::Corrupt(format!("bed_clear_access {stored:?}")))?
        },
        approval_required: flag(row, "approval_required")?,
        gcode_upload_restricted: flag(row, "gcode_upload_restricted")?,
        fair_share: flag(row, "fair_share")?,
        fair_share_window_days: i32::try_from(int(row, "fair_share_window_days")?)
            .map_err(|_| StoreError::Corrupt("fair_share_window_days".into()))?,
        created_at: ts(row, "created_at")?,
    })
}

pub async fn get_org(conn: &mut Conn, org: OrgId) -> Result<Option<Organization>, StoreError> {
    let row = sqlx::query(
        "SELECT id, name, time_zone, currency, bed_clear_access, approval_required, gcode_upload_restricted, fair_share, fair_share_window_days, created_at FROM organizations WHERE id = $1",
    )
    .bind(org.get())
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(org_from_row).transpose()
}

pub async fn list_orgs(conn: &mut Conn) -> Result<Vec<Organization>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, name, time_zone, currency, bed_clear_access, approval_required, gcode_upload_restricted, fair_share, fair_share_window_days, created_at FROM organizations ORDER BY id",
    )
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(org_from_row).collect()
}

pub async fn find_org_by_name(
    conn: &mut Conn,
    name: &str,
) -> Result<Option<Organization>, StoreError> {
    let row = sqlx::query(
        "SELECT id, name, time_zone, currency, bed_clear_access, approval_required, gcode_upload_restricted, fair_share, fair_share_window_days, created_at FROM organizations WHERE name = $1 ORDER BY id LIMIT 1",
    )
    .bind(name.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(org_from_row).transpose()
}

pub async fn update_org(conn: &mut Conn, org: &Organization) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE organizations SET name = $1, time_zone = $2, currency = $3, bed_clear_access = $4, \
         approval_required = $5, gcode_upload_restricted = $6, fair_share = $7, \
         fair_share_window_days = $8 WHERE id = $9",
    )
    .bind(org.name.clone())
    .bind(org.time_zone.clone())
    .bind(org.currency.clone())
    .bind(org.bed_clear_access.key())
    .bind(org.approval_required)
    .bind(org.gcode_upload_restricted)
    .bind(org.fair_share)
    .bind(org.fair_share_window_days)
    .bind(org.id.get())
    .execute(&mut *conn)
    .await?;
    Ok(())
}
