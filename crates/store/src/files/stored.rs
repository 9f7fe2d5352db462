//! Stored contents: one row per organization and SHA-256 (the bytes are in the blob store),
//! with the thumbnails found in them.

use domain::{ContentHash, OrgId, Timestamp};

use crate::rows::{int, text};
use crate::{Conn, StoreError};

/// A thumbnail to keep with stored content.
#[derive(Debug, Clone)]
pub struct NewThumbnail<'a> {
    pub format: &'a str,
    pub width: u32,
    pub height: u32,
    pub data: &'a [u8],
}

/// A stored thumbnail's image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThumbnailImage {
    pub format: String,
    pub data: Vec<u8>,
}

/// Records stored content and its thumbnails, unless it is recorded already. Returns whether
/// it was new.
pub async fn insert_blob(
    conn: &mut Conn,
    org: OrgId,
    hash: &ContentHash,
    size: u64,
    thumbnails: &[NewThumbnail<'_>],
    now: Timestamp,
) -> Result<bool, StoreError> {
    let inserted = sqlx::query(
        "INSERT INTO blobs (org_id, sha256, size, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (org_id, sha256) DO NOTHING",
    )
    .bind(org.get())
    .bind(hash.to_string())
    .bind(size_column(size)?)
    .bind(now.micros())
    .execute(&mut *conn)
    .await?
    .rows_affected()
        > 0;
    if inserted {
        for (n, thumbnail) in thumbnails.iter().enumerate() {
            sqlx::query(
                "INSERT INTO blob_thumbnails (org_id, sha256, n, format, width, height, data) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(org.get())
            .bind(hash.to_string())
            .bind(i64::try_from(n).map_err(|_| StoreError::Corrupt("thumbnail index".into()))?)
            .bind(thumbnail.format.to_string())
            .bind(i64::from(thumbnail.width))
            .bind(i64::from(thumbnail.height))
            .bind(thumbnail.data.to_vec())
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(inserted)
}

/// Sizes are stored as BIGINT; a file over 8 EiB cannot exist.
pub(crate) fn size_column(size: u64) -> Result<i64, StoreError> {
    i64::try_from(size).map_err(|_| StoreError::Corrupt(format!("size {size} out of range")))
}

/// Whether any file still names the content.
pub async fn blob_in_use(
    conn: &mut Conn,
    org: OrgId,
    hash: &ContentHash,
) -> Result<bool, StoreError> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM files WHERE org_id = $1 AND sha256 = $2")
        .bind(org.get())
        .bind(hash.to_string())
        .fetch_one(&mut *conn)
        .await?;
    Ok(int(&row, "n")? > 0)
}

/// Whether the content is recorded.
pub async fn blob_recorded(
    conn: &mut Conn,
    org: OrgId,
    hash: &ContentHash,
) -> Result<bool, StoreError> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM blobs WHERE org_id = $1 AND sha256 = $2")
        .bind(org.get())
        .bind(hash.to_string())
        .fetch_one(&mut *conn)
        .await?;
    Ok(int(&row, "n")? > 0)
}

/// Forgets stored content (and its thumbnails); its bytes are the caller's to remove.
pub async fn delete_blob(
    conn: &mut Conn,
    org: OrgId,
    hash: &ContentHash,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM blobs WHERE org_id = $1 AND sha256 = $2")
        .bind(org.get())
        .bind(hash.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Thumbnail `n` of stored content.
pub async fn get_thumbnail(
    conn: &mut Conn,
    org: OrgId,
    hash: &ContentHash,
    n: u32,
) -> Result<Option<ThumbnailImage>, StoreError> {
    let row = sqlx::query(
        "SELECT format, data FROM blob_thumbnails WHERE org_id = $1 AND sha256 = $2 AND n = $3",
    )
    .bind(org.get())
    .bind(hash.to_string())
    .bind(i64::from(n))
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|row| {
        Ok(ThumbnailImage {
            format: text(&row, "format")?,
            data: sqlx::Row::try_get::<Vec<u8>, _>(&row, "data")?,
        })
    })
    .transpose()
}
