//! Sites: the locations of an organization.

use domain::{OrgId, Site, SiteId, Timestamp};
use sqlx::any::AnyRow;

use crate::rows::{int, opt_text, text, ts};
use crate::{Conn, StoreError};

fn site_from_row(row: &AnyRow) -> Result<Site, StoreError> {
    Ok(Site {
        id: SiteId(int(row, "id")?),
        name: text(row, "name")?,
        description: text(row, "description")?,
        time_zone: opt_text(row, "time_zone")?,
        staffed_hours: serde_json::from_str(&text(row, "staffed_hours")?)
            .map_err(|e| StoreError::Corrupt(format!("site staffed hours: {e}")))?,
        staffed_grace_minutes: u32::try_from(int(row, "staffed_grace_minutes")?)
            .map_err(|e| StoreError::Corrupt(format!("site staffed grace: {e}")))?,
        created_at: ts(row, "created_at")?,
    })
}

/// Records a new site, staffed at every hour until [`update_site`] says otherwise.
pub async fn insert_site(
    conn: &mut Conn,
    org: OrgId,
    name: &str,
    description: &str,
    time_zone: Option<&str>,
    now: Timestamp,
) -> Result<SiteId, StoreError> {
    let row = sqlx::query(
        "INSERT INTO sites (org_id, name, description, time_zone, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(org.get())
    .bind(name.to_string())
    .bind(description.to_string())
    .bind(time_zone.map(str::to_string))
    .bind(now.micros())
    .fetch_one(&mut *conn)
    .await?;
    Ok(SiteId(int(&row, "id")?))
}

fn staffed_hours_text(site: &Site) -> Result<String, StoreError> {
    serde_json::to_string(&site.staffed_hours)
        .map_err(|e| StoreError::Corrupt(format!("site staffed hours: {e}")))
}

pub async fn list_sites(conn: &mut Conn, org: OrgId) -> Result<Vec<Site>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, name, description, time_zone, staffed_hours, staffed_grace_minutes, created_at FROM sites WHERE org_id = $1 ORDER BY name, id",
    )
    .bind(org.get())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(site_from_row).collect()
}

pub async fn get_site(
    conn: &mut Conn,
    org: OrgId,
    site: SiteId,
) -> Result<Option<Site>, StoreError> {
    let row = sqlx::query(
        "SELECT id, name, description, time_zone, staffed_hours, staffed_grace_minutes, created_at FROM sites WHERE org_id = $1 AND id = $2",
    )
    .bind(org.get())
    .bind(site.get())
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(site_from_row).transpose()
}

pub async fn update_site(conn: &mut Conn, org: OrgId, site: &Site) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE sites SET name = $1, description = $2, time_zone = $3, staffed_hours = $6, \
         staffed_grace_minutes = $7 WHERE org_id = $4 AND id = $5",
    )
    .bind(site.name.clone())
    .bind(site.description.clone())
    .bind(site.time_zone.clone())
    .bind(org.get())
    .bind(site.id.get())
    .bind(staffed_hours_text(site)?)
    .bind(i64::from(site.staffed_grace_minutes))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn delete_site(conn: &mut Conn, org: OrgId, site: SiteId) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM sites WHERE org_id = $1 AND id = $2")
        .bind(org.get())
        .bind(site.get())
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}
