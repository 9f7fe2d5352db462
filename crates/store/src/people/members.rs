//! Memberships: a user in an organization, with a rank.

use authz::PermissionSet;
use domain::{
    Member, MemberAuth, MemberId, MembershipSummary, OrgId, RankId, SiteId, Timestamp, UserId,
};
use sqlx::any::AnyRow;

use crate::access::ranks::{RANK_COLUMNS, rank_from_row};
use crate::rows::{flag, int, opt_int, opt_ts, permissions, text, ts};
use crate::{Conn, StoreError};

pub async fn insert_member(
    conn: &mut Conn,
    org: OrgId,
    user: UserId,
    rank: RankId,
    site: Option<SiteId>,
    now: Timestamp,
) -> Result<MemberId, StoreError> {
    let row = sqlx::query(
        "INSERT INTO memberships (org_id, user_id, rank_id, site_id, active, created_at) \
         VALUES ($1, $2, $3, $4, TRUE, $5) RETURNING id",
    )
    .bind(org.get())
    .bind(user.get())
    .bind(rank.get())
    .bind(site.map(SiteId::get))
    .bind(now.micros())
    .fetch_one(&mut *conn)
    .await?;
    Ok(MemberId(int(&row, "id")?))
}

const MEMBER_SELECT: &str = "SELECT m.id, m.user_id, u.email, u.name, m.rank_id, r.name AS rank_name, \
     m.site_id, m.active, m.created_at, m.deactivated_at \
     FROM memberships m JOIN users u ON u.id = m.user_id JOIN ranks r ON r.id = m.rank_id";

fn member_from_row(row: &AnyRow) -> Result<Member, StoreError> {
    Ok(Member {
        id: MemberId(int(row, "id")?),
        user_id: UserId(int(row, "user_id")?),
        email: text(row, "email")?,
        name: text(row, "name")?,
        rank_id: RankId(int(row, "rank_id")?),
        rank_name: text(row, "rank_name")?,
        site_id: opt_int(row, "site_id")?.map(SiteId),
        active: flag(row, "active")?,
        created_at: ts(row, "created_at")?,
        deactivated_at: opt_ts(row, "deactivated_at")?,
    })
}

pub async fn list_members(conn: &mut Conn, org: OrgId) -> Result<Vec<Member>, StoreError> {
    let sql = format!("{MEMBER_SELECT} WHERE m.org_id = $1 ORDER BY u.name, m.id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(org.get())
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(member_from_row).collect()
}

pub async fn get_member(
    conn: &mut Conn,
    org: OrgId,
    member: MemberId,
) -> Result<Option<Member>, StoreError> {
    let sql = format!("{MEMBER_SELECT} WHERE m.org_id = $1 AND m.id = $2");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(org.get())
        .bind(member.get())
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(member_from_row).transpose()
}

fn member_auth_from_row(row: &AnyRow) -> Result<MemberAuth, StoreError> {
    Ok(MemberAuth {
        member_id: MemberId(int(row, "member_id")?),
        org_id: OrgId(int(row, "org_id")?),
        user_id: UserId(int(row, "user_id")?),
        active: flag(row, "active")?,
        rank: rank_from_row(row)?,
    })
}

/// A user's membership in an organization with its rank, and the organization's
/// authorization version: what resolving an actor needs, in one query.
pub async fn member_auth_for_user(
    conn: &mut Conn,
    org: OrgId,
    user: UserId,
) -> Result<Option<(MemberAuth, i64)>, StoreError> {
    let sql = format!(
        "SELECT m.id AS member_id, m.org_id, m.user_id, m.active, o.authz_version, {RANK_COLUMNS} \
         FROM memberships m JOIN ranks r ON r.id = m.rank_id JOIN organizations o ON o.id = m.org_id \
         WHERE m.org_id = $1 AND m.user_id = $2"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(org.get())
        .bind(user.get())
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref()
        .map(|r| Ok((member_auth_from_row(r)?, int(r, "authz_version")?)))
        .transpose()
}

pub async fn member_auth(
    conn: &mut Conn,
    org: OrgId,
    member: MemberId,
) -> Result<Option<MemberAuth>, StoreError> {
    let sql = format!(
        "SELECT m.id AS member_id, m.org_id, m.user_id, m.active, {RANK_COLUMNS} \
         FROM memberships m JOIN ranks r ON r.id = m.rank_id WHERE m.org_id = $1 AND m.id = $2"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(org.get())
        .bind(member.get())
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(member_auth_from_row).transpose()
}

pub async fn memberships_of_user(
    conn: &mut Conn,
    user: UserId,
) -> Result<Vec<MembershipSummary>, StoreError> {
    let rows = sqlx::query(
        "SELECT m.id, m.org_id, o.name AS org_name, r.name AS rank_name, r.is_owner, r.permissions \
         FROM memberships m JOIN organizations o ON o.id = m.org_id JOIN ranks r ON r.id = m.rank_id \
         WHERE m.user_id = $1 AND m.active = TRUE ORDER BY o.name, m.id",
    )
    .bind(user.get())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            let is_owner = flag(row, "is_owner")?;
            Ok(MembershipSummary {
                member_id: MemberId(int(row, "id")?),
                org_id: OrgId(int(row, "org_id")?),
                org_name: text(row, "org_name")?,
                rank_name: text(row, "rank_name")?,
                permissions: if is_owner {
                    PermissionSet::all()
                } else {
                    permissions(row, "permissions")?
                },
            })
        })
        .collect()
}

pub async fn set_member_rank(
    conn: &mut Conn,
    org: OrgId,
    member: MemberId,
    rank: RankId,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE memberships SET rank_id = $1 WHERE org_id = $2 AND id = $3")
        .bind(rank.get())
        .bind(org.get())
        .bind(member.get())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn set_member_site(
    conn: &mut Conn,
    org: OrgId,
    member: MemberId,
    site: Option<SiteId>,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE memberships SET site_id = $1 WHERE org_id = $2 AND id = $3")
        .bind(site.map(SiteId::get))
        .bind(org.get())
        .bind(member.get())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Activates or deactivates a membership; deactivation records when.
pub async fn set_member_active(
    conn: &mut Conn,
    org: OrgId,
    member: MemberId,
    active: bool,
    now: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE memberships SET active = $1, deactivated_at = $2 WHERE org_id = $3 AND id = $4",
    )
    .bind(active)
    .bind(if active { None } else { Some(now.micros()) })
    .bind(org.get())
    .bind(member.get())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn count_active_owners(conn: &mut Conn, org: OrgId) -> Result<i64, StoreError> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM memberships m JOIN ranks r ON r.id = m.rank_id \
         WHERE m.org_id = $1 AND m.active = TRUE AND r.is_owner = TRUE",
    )
    .bind(org.get())
    .fetch_one(&mut *conn)
    .await?;
    int(&row, "n")
}

/// Names of active members whose rank holds all of `needed` (or who own the organization),
/// for "ask one of these people" hints.
pub async fn members_holding(
    conn: &mut Conn,
    org: OrgId,
    needed: PermissionSet,
) -> Result<Vec<String>, StoreError> {
    let rows = sqlx::query(
        "SELECT u.name, r.is_owner, r.permissions FROM memberships m \
         JOIN users u ON u.id = m.user_id JOIN ranks r ON r.id = m.rank_id \
         WHERE m.org_id = $1 AND m.active = TRUE ORDER BY r.position, u.name",
    )
    .bind(org.get())
    .fetch_all(&mut *conn)
    .await?;
    let mut names = Vec::new();
    for row in &rows {
        if flag(row, "is_owner")? || needed.is_subset_of(permissions(row, "permissions")?) {
            names.push(text(row, "name")?);
        }
    }
    Ok(names)
}

/// The display name of every member of the organization (for timelines and exports).
pub async fn member_names(
    conn: &mut Conn,
    org: OrgId,
) -> Result<std::collections::HashMap<MemberId, String>, StoreError> {
    let rows = sqlx::query(
        "SELECT m.id, u.name FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.org_id = $1",
    )
    .bind(org.get())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| Ok((MemberId(int(row, "id")?), text(row, "name")?)))
        .collect()
}
