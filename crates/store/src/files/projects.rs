//! Library projects: named folders of files with an owner, shared with members or workgroups
//! at view or edit.

use std::collections::BTreeMap;

use domain::{
    MemberId, OrgId, Project, ProjectId, ProjectShare, ShareLevel, ShareSubject, Timestamp,
    WorkgroupId,
};
use sqlx::any::AnyRow;

use super::{Visibility, project_visible_sql};
use crate::rows::{int, opt_int, text, ts};
use crate::{Conn, StoreError};

const PROJECT_SELECT: &str = "SELECT p.id, p.name, p.owner_member_id, p.created_at, \
     (SELECT COUNT(*) FROM files f WHERE f.project_id = p.id AND f.removed_at IS NULL) AS file_count FROM projects p";

fn project_from_row(row: &AnyRow) -> Result<Project, StoreError> {
    Ok(Project {
        id: ProjectId(int(row, "id")?),
        name: text(row, "name")?,
        owner_member_id: MemberId(int(row, "owner_member_id")?),
        shares: Vec::new(),
        file_count: int(row, "file_count")?,
        created_at: ts(row, "created_at")?,
    })
}

fn share_from_row(row: &AnyRow) -> Result<(ProjectId, ProjectShare), StoreError> {
    let subject = match (opt_int(row, "member_id")?, opt_int(row, "workgroup_id")?) {
        (Some(member), None) => ShareSubject::Member(MemberId(member)),
        (None, Some(group)) => ShareSubject::Workgroup(WorkgroupId(group)),
        _ => return Err(StoreError::Corrupt("a share names no one, or two".into())),
    };
    let level = text(row, "level")?;
    Ok((
        ProjectId(int(row, "project_id")?),
        ProjectShare {
            subject,
            level: ShareLevel::parse(&level)
                .ok_or_else(|| StoreError::Corrupt(format!("share level {level:?}")))?,
        },
    ))
}

/// Fills in the projects' shares (members first, then workgroups, each by ID).
async fn with_shares(
    conn: &mut Conn,
    mut projects: Vec<Project>,
) -> Result<Vec<Project>, StoreError> {
    if projects.is_empty() {
        return Ok(projects);
    }
    let ids: Vec<String> = projects.iter().map(|p| p.id.get().to_string()).collect();
    // The IDs are integers we formatted ourselves: nothing from outside reaches the SQL text.
    let sql = format!(
        "SELECT project_id, member_id, workgroup_id, level FROM project_shares \
         WHERE project_id IN ({}) ORDER BY project_id, workgroup_id, member_id",
        ids.join(", ")
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_all(&mut *conn)
        .await?;
    let mut shares: BTreeMap<ProjectId, Vec<ProjectShare>> = BTreeMap::new();
    for row in &rows {
        let (project, share) = share_from_row(row)?;
        shares.entry(project).or_default().push(share);
    }
    for project in &mut projects {
        let mut list = shares.remove(&project.id).unwrap_or_default();
        list.sort_by_key(|share| share.subject);
        project.shares = list;
    }
    Ok(projects)
}

pub async fn insert_project(
    conn: &mut Conn,
    org: OrgId,
    name: &str,
    owner: MemberId,
    now: Timestamp,
) -> Result<ProjectId, StoreError> {
    let row = sqlx::query(
        "INSERT INTO projects (org_id, name, owner_member_id, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(org.get())
    .bind(name.to_string())
    .bind(owner.get())
    .bind(now.micros())
    .fetch_one(&mut *conn)
    .await?;
    Ok(ProjectId(int(&row, "id")?))
}

pub async fn get_project(
    conn: &mut Conn,
    org: OrgId,
    id: ProjectId,
) -> Result<Option<Project>, StoreError> {
    let sql = format!("{PROJECT_SELECT} WHERE p.org_id = $1 AND p.id = $2");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(org.get())
        .bind(id.get())
        .fetch_optional(&mut *conn)
        .await?;
    let Some(project) = row.as_ref().map(project_from_row).transpose()? else {
        return Ok(None);
    };
    Ok(with_shares(conn, vec![project]).await?.pop())
}

/// The projects the viewer may see, by name.
pub async fn list_projects(
    conn: &mut Conn,
    org: OrgId,
    visibility: Visibility,
) -> Result<Vec<Project>, StoreError> {
    let rows = match visibility {
        Visibility::All => {
            let sql = format!("{PROJECT_SELECT} WHERE p.org_id = $1 ORDER BY p.name, p.id");
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(org.get())
                .fetch_all(&mut *conn)
                .await?
        }
        Visibility::Member(member) => {
            let sql = format!(
                "{PROJECT_SELECT} WHERE p.org_id = $1 AND {} ORDER BY p.name, p.id",
                project_visible_sql("$2")
            );
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(org.get())
                .bind(member.get())
                .fetch_all(&mut *conn)
                .await?
        }
    };
    let projects = rows
        .iter()
        .map(project_from_row)
        .collect::<Result<_, _>>()?;
    with_shares(conn, projects).await
}

pub async fn rename_project(
    conn: &mut Conn,
    org: OrgId,
    id: ProjectId,
    name: &str,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE projects SET name = $1 WHERE org_id = $2 AND id = $3")
        .bind(name.to_string())
        .bind(org.get())
        .bind(id.get())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Removes the project and its shares; it must hold no files but those removed from the
/// library, which jobs still print from (they go to their owners' personal spaces, unseen).
pub async fn delete_project(conn: &mut Conn, org: OrgId, id: ProjectId) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE files SET project_id = NULL \
         WHERE org_id = $1 AND project_id = $2 AND removed_at IS NOT NULL",
    )
    .bind(org.get())
    .bind(id.get())
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM projects WHERE org_id = $1 AND id = $2")
        .bind(org.get())
        .bind(id.get())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Shares the project with `subject` at `level`, replacing any share it had.
pub async fn set_project_share(
    conn: &mut Conn,
    project: ProjectId,
    subject: ShareSubject,
    level: ShareLevel,
) -> Result<(), StoreError> {
    let (member, group, conflict) = match subject {
        ShareSubject::Member(m) => (Some(m.get()), None, "member_id"),
        ShareSubject::Workgroup(w) => (None, Some(w.get()), "workgroup_id"),
    };
    let sql = format!(
        "INSERT INTO project_shares (project_id, member_id, workgroup_id, level) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (project_id, {conflict}) DO UPDATE SET level = excluded.level"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(project.get())
        .bind(member)
        .bind(group)
        .bind(level.key())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Stops sharing the project with `subject`; returns whether it was shared.
pub async fn remove_project_share(
    conn: &mut Conn,
    project: ProjectId,
    subject: ShareSubject,
) -> Result<bool, StoreError> {
    let column = match subject {
        ShareSubject::Member(_) => "member_id",
        ShareSubject::Workgroup(_) => "workgroup_id",
    };
    let sql = format!("DELETE FROM project_shares WHERE project_id = $1 AND {column} = $2");
    let done = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(project.get())
        .bind(subject.id())
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// The workgroups `member` is in (a project shared with one of them reaches the member).
pub async fn workgroups_of_member(
    conn: &mut Conn,
    member: MemberId,
) -> Result<Vec<WorkgroupId>, StoreError> {
    let rows = sqlx::query(
        "SELECT workgroup_id FROM workgroup_members WHERE member_id = $1 ORDER BY workgroup_id",
    )
    .bind(member.get())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| Ok(WorkgroupId(int(row, "workgroup_id")?)))
        .collect()
}
