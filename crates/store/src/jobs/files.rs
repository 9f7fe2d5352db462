//! What a submission needs to know of a file: who may use it, and what its analysis says
//! about its size, material and nozzle.

use domain::{FileId, MemberId, OrgId};

use crate::rows::{int, opt_int, opt_text, text};
use crate::{Conn, StoreError};

/// A file as jobs see it.
#[derive(Debug, Clone)]
pub struct JobFile {
    pub id: FileId,
    pub name: String,
    pub owner: MemberId,
    /// The project it lives in; `None`: its owner's personal space.
    pub project_id: Option<i64>,
    /// The stored analysis (JSON), `None` until it is ready.
    pub analysis: Option<String>,
    /// Removed from the library: the jobs that use it keep it, new submissions cannot.
    pub removed: bool,
    /// `gcode`, or a model's kind (`stl`, `3mf`, `obj`).
    pub kind: String,
}

pub async fn job_file(
    conn: &mut Conn,
    org: OrgId,
    id: FileId,
) -> Result<Option<JobFile>, StoreError> {
    let row = sqlx::query(
        "SELECT id, name, owner_member_id, project_id, analysis, removed_at, kind FROM files \
         WHERE org_id = $1 AND id = $2",
    )
    .bind(org.get())
    .bind(id.get())
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|row| {
        Ok(JobFile {
            id: FileId(int(&row, "id")?),
            name: text(&row, "name")?,
            owner: MemberId(int(&row, "owner_member_id")?),
            project_id: opt_int(&row, "project_id")?,
            analysis: opt_text(&row, "analysis")?,
            removed: opt_int(&row, "removed_at")?.is_some(),
            kind: text(&row, "kind")?,
        })
    })
    .transpose()
}

/// Whether a member can see a project: they own it, or it is shared with them directly or
/// through one of their workgroups.
pub async fn project_visible_to(
    conn: &mut Conn,
    project: i64,
    member: MemberId,
) -> Result<bool, StoreError> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM projects p WHERE p.id = $1 AND (p.owner_member_id = $2 \
         OR EXISTS (SELECT 1 FROM project_shares s WHERE s.project_id = p.id AND s.member_id = $2) \
         OR EXISTS (SELECT 1 FROM project_shares s JOIN workgroup_members w \
                    ON w.workgroup_id = s.workgroup_id \
                    WHERE s.project_id = p.id AND w.member_id = $2))",
    )
    .bind(project)
    .bind(member.get())
    .fetch_one(&mut *conn)
    .await?;
    Ok(int(&row, "n")? > 0)
}
