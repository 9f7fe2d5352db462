//! Workgroups: sets of members with moderators.

use domain::{MemberId, OrgId, Timestamp, Workgroup, WorkgroupId, WorkgroupMember};
use sqlx::any::AnyRow;

use crate::rows::{flag, int, text, ts};
use crate::{Conn, StoreError};

fn workgroup_from_row(row: &AnyRow) -> Result<Workgroup, StoreError> {
    Ok(Workgroup {
        id: WorkgroupId(int(row, "id")?),
        name: text(row, "name")?,
        description: text(row, "description")?,
        member_count: int(row, "member_count")?,
        created_at: ts(row, "created_at")?,
    })
}

const WORKGROUP_SELECT: &str = "SELECT w.id, w.name, w.description, w.created_at, \
     (SELECT COUNT(*) FROM workgroup_members wm WHERE wm.workgroup_id = w.id) AS member_count FROM workgroups w";

pub async fn insert_workgroup(
    conn: &mut Conn,
    org: OrgId,
    name: &str,
    description: &str,
    now: Timestamp,
) -> Result<WorkgroupId, StoreError> {
    let row = sqlx::query(
        "INSERT INTO workgroups (org_id, name, description, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(org.get())
    .bind(name.to_string())
    .bind(description.to_string())
    .bind(now.micros())
    .fetch_one(&mut *conn)
    .await?;
    Ok(WorkgroupId(int(&row, "id")?))
}

pub async fn list_workgroups(conn: &mut Conn, org: OrgId) -> Result<Vec<Workgroup>, StoreError> {
    let sql = format!("{WORKGROUP_SELECT} WHERE w.org_id = $1 ORDER BY w.name, w.id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(org.get())
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(workgroup_from_row).collect()
}

pub async fn get_workgroup(
    conn: &mut Conn,
    org: OrgId,
    id: WorkgroupId,
) -> Result<Option<Workgroup>, StoreError> {
    let sql = format!("{WORKGROUP_SELECT} WHERE w.org_id = $1 AND w.id = $2");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(org.get())
        .bind(id.get())
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(workgroup_from_row).transpose()
}

pub async fn update_workgroup(
    conn: &mut Conn,
    org: OrgId,
    group: &Workgroup,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE workgroups SET name = $1, description = $2 WHERE org_id = $3 AND id = $4")
        .bind(group.name.clone())
        .bind(group.description.clone())
        .bind(org.get())
        .bind(group.id.get())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn delete_workgroup(
    conn: &mut Conn,
    org: OrgId,
    id: WorkgroupId,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM workgroups WHERE org_id = $1 AND id = $2")
        .bind(org.get())
        .bind(id.get())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn workgroup_members(
    conn: &mut Conn,
    id: WorkgroupId,
) -> Result<Vec<WorkgroupMember>, StoreError> {
    let rows = sqlx::query(
        "SELECT wm.member_id, u.name, u.email, wm.is_moderator FROM workgroup_members wm \
         JOIN memberships m ON m.id = wm.member_id JOIN users u ON u.id = m.user_id \
         WHERE wm.workgroup_id = $1 ORDER BY u.name, wm.member_id",
    )
    .bind(id.get())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(WorkgroupMember {
                member_id: MemberId(int(row, "member_id")?),
                name: text(row, "name")?,
                email: text(row, "email")?,
                is_moderator: flag(row, "is_moderator")?,
            })
        })
        .collect()
}

/// The member's place in a workgroup: None if not in it, else whether they moderate it.
pub async fn workgroup_role(
    conn: &mut Conn,
    id: WorkgroupId,
    member: MemberId,
) -> Result<Option<bool>, StoreError> {
    let row = sqlx::query(
        "SELECT is_moderator FROM workgroup_members WHERE workgroup_id = $1 AND member_id = $2",
    )
    .bind(id.get())
    .bind(member.get())
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(|r| flag(r, "is_moderator")).transpose()
}

pub async fn upsert_workgroup_member(
    conn: &mut Conn,
    id: WorkgroupId,
    member: MemberId,
    is_moderator: bool,
    now: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO workgroup_members (workgroup_id, member_id, is_moderator, added_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (workgroup_id, member_id) DO UPDATE SET is_moderator = excluded.is_moderator",
    )
    .bind(id.get())
    .bind(member.get())
    .bind(is_moderator)
    .bind(now.micros())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn remove_workgroup_member(
    conn: &mut Conn,
    id: WorkgroupId,
    member: MemberId,
) -> Result<bool, StoreError> {
    let done =
        sqlx::query("DELETE FROM workgroup_members WHERE workgroup_id = $1 AND member_id = $2")
            .bind(id.get())
            .bind(member.get())
            .execute(&mut *conn)
            .await?;
    Ok(done.rows_affected() == 1)
}

/// Workgroups the member moderates.
pub async fn moderated_workgroups(
    conn: &mut Conn,
    member: MemberId,
) -> Result<Vec<WorkgroupId>, StoreError> {
    let rows = sqlx::query(
        "SELECT workgroup_id FROM workgroup_members WHERE member_id = $1 AND is_moderator = TRUE",
    )
    .bind(member.get())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| Ok(WorkgroupId(int(r, "workgroup_id")?)))
        .collect()
}
