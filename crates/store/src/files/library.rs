//! Files: names for stored content, each with an owner, a place (a project or the owner's
//! personal space) and its analysis.

use domain::{
    ContentHash, FileAnalysis, FileId, FileKind, LibraryFile, MemberId, ModelFacts, OrgId,
    ProjectId, SlicedFrom, Timestamp,
};
use sqlx::any::AnyRow;

use super::{Visibility, file_visible_sql, size_column};
use crate::rows::{int, json_text, opt_int, opt_text, text, ts};
use crate::{Conn, StoreError};

/// A file to record.
#[derive(Debug, Clone)]
pub struct NewFile<'a> {
    pub name: &'a str,
    pub sha256: &'a ContentHash,
    pub size: u64,
    pub kind: FileKind,
    pub owner: MemberId,
    pub project: Option<ProjectId>,
    pub analysis: Option<&'a FileAnalysis>,
    pub model: Option<&'a ModelFacts>,
    pub sliced_from: Option<&'a SlicedFrom>,
}

/// Where files are listed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilePlace {
    /// Anywhere the viewer may see.
    Anywhere,
    /// One member's personal space (files in no project).
    PersonalSpace(MemberId),
    Project(ProjectId),
}

/// A page of files, newest first.
#[derive(Debug, Clone, Copy)]
pub struct FileQuery {
    pub visibility: Visibility,
    pub place: FilePlace,
    /// Files older than this one (the previous page's last).
    pub before: Option<FileId>,
    pub limit: u32,
}

const FILE_COLUMNS: &str = "f.id, f.name, f.sha256, f.size, f.kind, f.owner_member_id, f.project_id, f.analysis, f.model, f.sliced_from, f.created_at";

fn file_from_row(row: &AnyRow) -> Result<LibraryFile, StoreError> {
    let sha256 = ContentHash::parse("sha256", &text(row, "sha256")?)
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let kind = text(row, "kind")?;
    let analysis = opt_text(row, "analysis")?
        .map(|json| {
            serde_json::from_str::<FileAnalysis>(&json)
                .map_err(|e| StoreError::Corrupt(format!("invalid file analysis: {e}")))
        })
        .transpose()?;
    let model = opt_text(row, "model")?
        .map(|json| {
            serde_json::from_str::<ModelFacts>(&json)
                .map_err(|e| StoreError::Corrupt(format!("invalid model facts: {e}")))
        })
        .transpose()?;
    let sliced_from = opt_text(row, "sliced_from")?
        .map(|json| {
            serde_json::from_str::<SlicedFrom>(&json)
                .map_err(|e| StoreError::Corrupt(format!("invalid slice origin: {e}")))
        })
        .transpose()?;
    Ok(LibraryFile {
        id: FileId(int(row, "id")?),
        name: text(row, "name")?,
        sha256,
        size: u64::try_from(int(row, "size")?)
            .map_err(|_| StoreError::Corrupt("negative file size".into()))?,
        kind: FileKind::parse(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("file kind {kind:?}")))?,
        owner_member_id: MemberId(int(row, "owner_member_id")?),
        project_id: opt_int(row, "project_id")?.map(ProjectId),
        analysis,
        model,
        sliced_from,
        created_at: ts(row, "created_at")?,
    })
}

pub async fn insert_file(
    conn: &mut Conn,
    org: OrgId,
    file: &NewFile<'_>,
    now: Timestamp,
) -> Result<FileId, StoreError> {
    let analysis = file.analysis.map(json_text).transpose()?;
    let model = file.model.map(json_text).transpose()?;
    let sliced_from = file.sliced_from.map(json_text).transpose()?;
    let row = sqlx::query(
        "INSERT INTO files (org_id, name, sha256, size, kind, owner_member_id, project_id, analysis, model, sliced_from, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
    )
    .bind(org.get())
    .bind(file.name.to_string())
    .bind(file.sha256.to_string())
    .bind(size_column(file.size)?)
    .bind(file.kind.key())
    .bind(file.owner.get())
    .bind(file.project.map(ProjectId::get))
    .bind(analysis)
    .bind(model)
    .bind(sliced_from)
    .bind(now.micros())
    .fetch_one(&mut *conn)
    .await?;
    Ok(FileId(int(&row, "id")?))
}

/// A file of the library (not one removed from it).
pub async fn get_file(
    conn: &mut Conn,
    org: OrgId,
    id: FileId,
) -> Result<Option<LibraryFile>, StoreError> {
    fetch_file(conn, org, id, "AND f.removed_at IS NULL").await
}

/// A file jobs print from, even one removed from the library.
pub async fn get_job_file_entry(
    conn: &mut Conn,
    org: OrgId,
    id: FileId,
) -> Result<Option<LibraryFile>, StoreError> {
    fetch_file(conn, org, id, "").await
}

async fn fetch_file(
    conn: &mut Conn,
    org: OrgId,
    id: FileId,
    condition: &'static str,
) -> Result<Option<LibraryFile>, StoreError> {
    let sql =
        format!("SELECT {FILE_COLUMNS} FROM files f WHERE f.org_id = $1 AND f.id = $2 {condition}");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(org.get())
        .bind(id.get())
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(file_from_row).transpose()
}

/// A page of the files the query's viewer may see, newest first.
pub async fn list_files(
    conn: &mut Conn,
    org: OrgId,
    query: &FileQuery,
) -> Result<Vec<LibraryFile>, StoreError> {
    // Parameters: $1 org, $2 before (past the largest ID: from the newest), $3 limit, then
    // as the filters need.
    let mut sql = format!(
        "SELECT {FILE_COLUMNS} FROM files f WHERE f.org_id = $1 AND f.id < $2 \
         AND f.removed_at IS NULL"
    );
    let mut extra: Vec<i64> = Vec::new();
    if let Visibility::Member(member) = query.visibility {
        extra.push(member.get());
        let param = format!("${}", 3 + extra.len());
        sql.push_str(&format!(" AND {}", file_visible_sql(&param, "$1")));
    }
    match query.place {
        FilePlace::Anywhere => {}
        FilePlace::PersonalSpace(owner) => {
            extra.push(owner.get());
            sql.push_str(&format!(
                " AND f.project_id IS NULL AND f.owner_member_id = ${}",
                3 + extra.len()
            ));
        }
        FilePlace::Project(project) => {
            extra.push(project.get());
            sql.push_str(&format!(" AND f.project_id = ${}", 3 + extra.len()));
        }
    }
    sql.push_str(" ORDER BY f.id DESC LIMIT $3");
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(org.get())
        .bind(query.before.map_or(i64::MAX, FileId::get))
        .bind(i64::from(query.limit));
    for value in extra {
        q = q.bind(value);
    }
    let rows = q.fetch_all(&mut *conn).await?;
    rows.iter().map(file_from_row).collect()
}

/// Puts the file in a project, or (with `None`) in its owner's personal space.
pub async fn set_file_project(
    conn: &mut Conn,
    org: OrgId,
    id: FileId,
    project: Option<ProjectId>,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE files SET project_id = $1 WHERE org_id = $2 AND id = $3")
        .bind(project.map(ProjectId::get))
        .bind(org.get())
        .bind(id.get())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// What removing a file did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileRemoval {
    /// No job used it: its row is gone (its content may be unused now).
    Deleted,
    /// Jobs still print from it: gone from the library, kept for them.
    Hidden,
}

/// Removes a file from the library: deleted outright, or only hidden while jobs use it.
pub async fn remove_file(
    conn: &mut Conn,
    org: OrgId,
    id: FileId,
    now: Timestamp,
) -> Result<FileRemoval, StoreError> {
    let hidden = sqlx::query(
        "UPDATE files SET removed_at = $1 WHERE org_id = $2 AND id = $3 \
         AND EXISTS (SELECT 1 FROM jobs j WHERE j.file_id = files.id)",
    )
    .bind(now.micros())
    .bind(org.get())
    .bind(id.get())
    .execute(&mut *conn)
    .await?;
    if hidden.rows_affected() > 0 {
        return Ok(FileRemoval::Hidden);
    }
    sqlx::query("DELETE FROM files WHERE org_id = $1 AND id = $2")
        .bind(org.get())
        .bind(id.get())
        .execute(&mut *conn)
        .await?;
    Ok(FileRemoval::Deleted)
}
