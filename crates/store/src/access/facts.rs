//! Everything authorization decides on, loaded in one go, and the version that tells caches
//! (and units of work) when it changed.

use authz::PermissionSet;
use domain::{MemberId, OrgId, PrinterGrant, SiteId, WorkgroupId};

use super::grants::list_grants;
use super::overrides::add_override;
use super::ranks::list_ranks;
use crate::fleet::list_printers;
use crate::rows::{flag, int, opt_int, text};
use crate::{Conn, RightsLock, StoreError, WriteTx};

/// Marks the organization's authorization facts as changed, inside the caller's transaction.
pub async fn bump_authz_version(conn: &mut Conn, org: OrgId) -> Result<(), StoreError> {
    sqlx::query("UPDATE organizations SET authz_version = authz_version + 1 WHERE id = $1")
        .bind(org.get())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The organization's authorization version as committed (None if there is no such
/// organization). Outside a transaction it may be stale by the time it is used; inside a write
/// transaction use [`lock_rights`].
pub async fn authz_version(conn: &mut Conn, org: OrgId) -> Result<Option<i64>, StoreError> {
    let row = sqlx::query("SELECT authz_version FROM organizations WHERE id = $1")
        .bind(org.get())
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|r| int(&r, "authz_version")).transpose()
}

/// Reads the organization's authorization version inside a write transaction and makes sure no
/// rights change commits before the transaction ends, so that rights checked against this
/// version still hold when it commits (None if there is no such organization).
///
/// A transaction that changes data under checked rights takes [`RightsLock::Use`]; one that
/// changes rights takes [`RightsLock::Change`] and then bumps the version
/// ([`bump_authz_version`]). Take it before anything else that locks (the audit chain head
/// among them), and never ask for `Change` after `Use` in one transaction.
///
/// On PostgreSQL `Use` locks the organization's row `FOR SHARE` (rights changes wait, data
/// changes run side by side) and `Change` locks it `FOR NO KEY UPDATE` (it waits for the
/// data changes under way and excludes every other holder). On SQLite the read alone is
/// enough: the transaction holds the database's write lock from `BEGIN IMMEDIATE` on.
pub async fn lock_rights(
    tx: &mut WriteTx,
    org: OrgId,
    lock: RightsLock,
) -> Result<Option<i64>, StoreError> {
    let sql = tx.dialect().lock_rights_sql(lock);
    let row = sqlx::query(sql)
        .bind(org.get())
        .fetch_optional(&mut **tx)
        .await?;
    row.map(|r| int(&r, "authz_version")).transpose()
}

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

    let ranks = list_ranks(conn, org)
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
    let printers = list_printers(conn, org)
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
