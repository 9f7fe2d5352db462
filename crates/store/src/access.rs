//! Printer access grants, tri-state overrides, and everything authorization decides on,
//! loaded in one go with the version that tells caches when it changed.

use authz::{AccessLevel, Permission, PermissionSet};
use domain::{
    GrantId, GrantSubject, GrantTarget, MemberId, OrgId, PrinterGrant, SiteId, Timestamp,
    WorkgroupId,
};
use sqlx::any::AnyRow;

use crate::rows::{flag, int, opt_int, text, ts};
use crate::{Conn, StoreError};

/// Marks the organization's authorization facts as changed, inside the caller's transaction.
pub async fn bump_authz_version(conn: &mut Conn, org: OrgId) -> Result<(), StoreError> {
    sqlx::query("UPDATE organizations SET authz_version = authz_version + 1 WHERE id = $1")
        .bind(org.get())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// How a write transaction holds an organization's authorization version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RightsLock {
    /// The transaction changes data under the rights it was authorized with: no rights change
    /// may commit before it ends (many such transactions may hold it at once).
    Share,
    /// The transaction changes rights itself (it bumps the version before it commits).
    Exclusive,
}

/// Reads the organization's authorization version inside a write transaction and holds it
/// there: a transaction that changes rights cannot commit between this read and this
/// transaction's end. On SQLite the write transaction (`BEGIN IMMEDIATE`) already excludes
/// every other writer; on PostgreSQL the organization's row is locked, shared or exclusive.
pub async fn lock_authz_version(
    conn: &mut Conn,
    org: OrgId,
    lock: RightsLock,
) -> Result<Option<i64>, StoreError> {
    let sql = match (conn.backend_name() == "PostgreSQL", lock) {
        (false, _) => "SELECT authz_version FROM organizations WHERE id = $1",
        (true, RightsLock::Share) => {
            "SELECT authz_version FROM organizations WHERE id = $1 FOR SHARE"
        }
        (true, RightsLock::Exclusive) => {
            "SELECT authz_version FROM organizations WHERE id = $1 FOR UPDATE"
        }
    };
    let row = sqlx::query(sql)
        .bind(org.get())
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|r| int(&r, "authz_version")).transpose()
}

pub async fn authz_version(conn: &mut Conn, org: OrgId) -> Result<Option<i64>, StoreError> {
    let row = sqlx::query("SELECT authz_version FROM organizations WHERE id = $1")
        .bind(org.get())
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|r| int(&r, "authz_version")).transpose()
}

// ---- grants ----

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

// ---- overrides ----

/// Sets (`Some(allow)`) or clears (`None`) a member's override of one permission.
pub async fn set_override(
    conn: &mut Conn,
    member: MemberId,
    permission: Permission,
    effect: Option<bool>,
) -> Result<(), StoreError> {
    match effect {
        Some(allow) => {
            sqlx::query(
                "INSERT INTO member_overrides (member_id, permission, allow) VALUES ($1, $2, $3) \
                 ON CONFLICT (member_id, permission) DO UPDATE SET allow = excluded.allow",
            )
            .bind(member.get())
            .bind(permission.key())
            .bind(i64::from(allow))
            .execute(&mut *conn)
            .await?;
        }
        None => {
            sqlx::query("DELETE FROM member_overrides WHERE member_id = $1 AND permission = $2")
                .bind(member.get())
                .bind(permission.key())
                .execute(&mut *conn)
                .await?;
        }
    }
    Ok(())
}

/// A member's overrides as (allowed, denied) sets. Keys no longer in the catalog are skipped.
pub async fn member_overrides(
    conn: &mut Conn,
    member: MemberId,
) -> Result<(PermissionSet, PermissionSet), StoreError> {
    let rows = sqlx::query("SELECT permission, allow FROM member_overrides WHERE member_id = $1")
        .bind(member.get())
        .fetch_all(&mut *conn)
        .await?;
    let (mut allowed, mut denied) = (PermissionSet::EMPTY, PermissionSet::EMPTY);
    for row in &rows {
        add_override(&mut allowed, &mut denied, row)?;
    }
    Ok((allowed, denied))
}

/// Adds one stored override to the allowed or denied set; keys no longer in the catalog are
/// skipped.
fn add_override(
    allow: &mut PermissionSet,
    deny: &mut PermissionSet,
    row: &AnyRow,
) -> Result<(), StoreError> {
    if let Some(p) = Permission::from_key(&text(row, "permission")?) {
        if flag(row, "allow")? {
            allow.insert(p)
        } else {
            deny.insert(p)
        }
    }
    Ok(())
}

// ---- the facts ----

/// Everything authorization needs about an organization, and the version it was read at.
pub async fn load_authz_facts(
    conn: &mut Conn,
    org: OrgId,
) -> Result<Option<(i64, authz::Org)>, StoreError> {
    let Some(settings) =
        sqlx::query("SELECT authz_version, bed_clear_access FROM organizations WHERE id = $1")
            .bind(org.get())
            .fetch_optional(&mut *conn)
            .await?
    else {
        return Ok(None);
    };
    let version = int(&settings, "authz_version")?;
    let bed_clear = text(&settings, "bed_clear_access")?;
    let bed_clear = authz::BedClearAccess::parse(&bed_clear)
        .ok_or_else(|| StoreError::Corrupt(format!("bed_clear_access {bed_clear:?}")))?;

    let ranks = crate::list_ranks(conn, org)
        .await?
        .iter()
        .map(domain::Rank::to_model)
        .collect();

    let rows = sqlx::query(
        "SELECT m.id, u.name, m.rank_id, m.site_id, m.active FROM memberships m JOIN users u ON u.id = m.user_id \
         WHERE m.org_id = $1 ORDER BY m.id",
    )
    .bind(org.get())
    .fetch_all(&mut *conn)
    .await?;
    let mut members = Vec::with_capacity(rows.len());
    let mut index = std::collections::HashMap::new();
    for row in &rows {
        let id = MemberId(int(row, "id")?);
        index.insert(id, members.len());
        members.push(authz::Member {
            id,
            name: text(row, "name")?,
            rank: domain::RankId(int(row, "rank_id")?),
            allow: PermissionSet::EMPTY,
            deny: PermissionSet::EMPTY,
            workgroups: Vec::new(),
            moderates: Vec::new(),
            site: opt_int(row, "site_id")?.map(SiteId),
            active: flag(row, "active")?,
        });
    }
    let rows = sqlx::query(
        "SELECT o.member_id, o.permission, o.allow FROM member_overrides o JOIN memberships m ON m.id = o.member_id \
         WHERE m.org_id = $1",
    )
    .bind(org.get())
    .fetch_all(&mut *conn)
    .await?;
    for row in &rows {
        let Some(member) = index
            .get(&MemberId(int(row, "member_id")?))
            .map(|i| &mut members[*i])
        else {
            continue;
        };
        add_override(&mut member.allow, &mut member.deny, row)?;
    }
    let rows = sqlx::query(
        "SELECT wm.member_id, wm.workgroup_id, wm.is_moderator FROM workgroup_members wm \
         JOIN workgroups w ON w.id = wm.workgroup_id WHERE w.org_id = $1",
    )
    .bind(org.get())
    .fetch_all(&mut *conn)
    .await?;
    for row in &rows {
        let Some(member) = index
            .get(&MemberId(int(row, "member_id")?))
            .map(|i| &mut members[*i])
        else {
            continue;
        };
        let workgroup = WorkgroupId(int(row, "workgroup_id")?);
        member.workgroups.push(workgroup);
        if flag(row, "is_moderator")? {
            member.moderates.push(workgroup);
        }
    }
    let printers = crate::list_printers(conn, org)
        .await?
        .iter()
        .map(domain::Printer::to_model)
        .collect();
    let grants = list_grants(conn, org)
        .await?
        .iter()
        .map(PrinterGrant::to_model)
        .collect();
    let facts = authz::Org {
        ranks,
        members,
        printers,
        grants,
        settings: authz::OrgSettings { bed_clear },
    };
    Ok(Some((version, facts)))
}
