//! Wall display links: one site's printers on a screen, for whoever holds the link. Only
//! hashes of their secrets are stored.

use domain::{DisplayLinkId, MemberId, OrgId, SiteId, Timestamp};
use sqlx::any::AnyRow;

use crate::rows::{int, opt_ts, text, ts};
use crate::{Conn, StoreError};

/// A display link, with the name of its site.
#[derive(Debug, Clone, PartialEq)]
pub struct DisplayLink {
    pub id: DisplayLinkId,
    pub org_id: OrgId,
    pub site_id: SiteId,
    pub site_name: String,
    pub name: String,
    pub created_by: MemberId,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
    /// When a screen last opened it (kept to the minute); `None`: never.
    pub last_used_at: Option<Timestamp>,
}

pub struct NewDisplayLink<'a> {
    pub org: OrgId,
    pub site: SiteId,
    pub name: &'a str,
    pub token_hash: &'a str,
    pub created_by: MemberId,
}

const LINK_SELECT: &str = "SELECT d.id, d.org_id, d.site_id, s.name AS site_name, d.name, \
     d.created_by, d.created_at, d.revoked_at, d.last_used_at FROM display_links d JOIN sites s ON s.id = d.site_id";

fn link_from_row(row: &AnyRow) -> Result<DisplayLink, StoreError> {
    Ok(DisplayLink {
        id: DisplayLinkId(int(row, "id")?),
        org_id: OrgId(int(row, "org_id")?),
        site_id: SiteId(int(row, "site_id")?),
        site_name: text(row, "site_name")?,
        name: text(row, "name")?,
        created_by: MemberId(int(row, "created_by")?),
        created_at: ts(row, "created_at")?,
        revoked_at: opt_ts(row, "revoked_at")?,
        last_used_at: opt_ts(row, "last_used_at")?,
    })
}

pub async fn insert_display_link(
    conn: &mut Conn,
    link: &NewDisplayLink<'_>,
    now: Timestamp,
) -> Result<DisplayLinkId, StoreError> {
    let row = sqlx::query(
        "INSERT INTO display_links (org_id, site_id, name, token_hash, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(link.org.get())
    .bind(link.site.get())
    .bind(link.name.to_string())
    .bind(link.token_hash.to_string())
    .bind(link.created_by.get())
    .bind(now.micros())
    .fetch_one(&mut *conn)
    .await?;
    Ok(DisplayLinkId(int(&row, "id")?))
}

/// The organization's display links, newest first, revoked ones included.
pub async fn list_display_links(
    conn: &mut Conn,
    org: OrgId,
) -> Result<Vec<DisplayLink>, StoreError> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{LINK_SELECT} WHERE d.org_id = $1 ORDER BY d.id DESC"
    )))
    .bind(org.get())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(link_from_row).collect()
}

pub async fn get_display_link(
    conn: &mut Conn,
    org: OrgId,
    id: DisplayLinkId,
) -> Result<Option<DisplayLink>, StoreError> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{LINK_SELECT} WHERE d.org_id = $1 AND d.id = $2"
    )))
    .bind(org.get())
    .bind(id.get())
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(link_from_row).transpose()
}

/// A link that is not revoked, by its secret's hash.
pub async fn find_display_link(
    conn: &mut Conn,
    token_hash: &str,
) -> Result<Option<DisplayLink>, StoreError> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{LINK_SELECT} WHERE d.token_hash = $1 AND d.revoked_at IS NULL"
    )))
    .bind(token_hash.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(link_from_row).transpose()
}

/// Revokes a live link; false when it was already revoked (or is not the organization's).
pub async fn revoke_display_link(
    conn: &mut Conn,
    org: OrgId,
    id: DisplayLinkId,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE display_links SET revoked_at = $1 \
         WHERE org_id = $2 AND id = $3 AND revoked_at IS NULL",
    )
    .bind(now.micros())
    .bind(org.get())
    .bind(id.get())
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Notes that a screen opened the link now.
pub async fn touch_display_link(
    conn: &mut Conn,
    id: DisplayLinkId,
    now: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE display_links SET last_used_at = $1 WHERE id = $2")
        .bind(now.micros())
        .bind(id.get())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The largest picture a browser can show (PNG or JPEG) of the file a print is printing,
/// from the thumbnails stored with its content.
pub async fn print_thumbnail(
    conn: &mut Conn,
    org: OrgId,
    print: i64,
) -> Result<Option<crate::ThumbnailImage>, StoreError> {
    let row = sqlx::query(
        "SELECT t.format, t.data FROM prints p JOIN blob_thumbnails t \
         ON t.org_id = p.org_id AND t.sha256 = p.file_sha256 \
         WHERE p.org_id = $1 AND p.id = $2 AND t.format IN ('png', 'jpeg') \
         ORDER BY t.width * t.height DESC, t.n LIMIT 1",
    )
    .bind(org.get())
    .bind(print)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|row| {
        Ok(crate::ThumbnailImage {
            format: text(&row, "format")?,
            data: sqlx::Row::try_get::<Vec<u8>, _>(&row, "data")?,
        })
    })
    .transpose()
}
