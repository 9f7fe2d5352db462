//! Ranks: named bundles of permissions with a seniority position and a printer scope.

use authz::{MemberScope, OutOfScope, PermissionSet, PrinterScope};
use domain::{OrgId, PrinterGroupId, PrinterId, PrinterModelId, Rank, RankId, SiteId};
use sqlx::any::AnyRow;

use crate::rows::{flag, int, permissions, text};
use crate::{Conn, StoreError};

/// A rank to store: everything but its ID.
pub struct NewRank<'a> {
    pub name: &'a str,
    pub description: &'a str,
    pub position: i32,
    pub is_owner: bool,
    pub permissions: PermissionSet,
    pub tri_state: PermissionSet,
    pub scope: &'a PrinterScope,
    pub out_of_scope: OutOfScope,
    pub member_scope: MemberScope,
}

/// The stored form of a printer scope: `all`, or items such as `site:3 group:7`.
pub(crate) fn scope_to_stored(scope: &PrinterScope) -> String {
    if scope.all {
        return "all".into();
    }
    let items = scope
        .sites
        .iter()
        .map(|i| format!("site:{i}"))
        .chain(scope.groups.iter().map(|i| format!("group:{i}")))
        .chain(scope.models.iter().map(|i| format!("model:{i}")))
        .chain(scope.printers.iter().map(|i| format!("printer:{i}")));
    items.collect::<Vec<_>>().join(" ")
}

pub(crate) fn scope_from_stored(stored: &str) -> Result<PrinterScope, StoreError> {
    let mut scope = PrinterScope::default();
    for item in stored.split_whitespace() {
        let bad = || StoreError::Corrupt(format!("rank scope item {item:?}"));
        if item == "all" {
            scope.all = true;
            continue;
        }
        let (kind, id) = item.split_once(':').ok_or_else(bad)?;
        let id: i64 = id.parse().map_err(|_| bad())?;
        match kind {
            "site" => scope.sites.push(SiteId(id)),
            "group" => scope.groups.push(PrinterGroupId(id)),
            "model" => scope.models.push(PrinterModelId(id)),
            "printer" => scope.printers.push(PrinterId(id)),
            _ => return Err(bad()),
        }
    }
    Ok(scope)
}

pub async fn insert_rank(
    conn: &mut Conn,
    org: OrgId,
    rank: &NewRank<'_>,
) -> Result<RankId, StoreError> {
    let row = sqlx::query(
        "INSERT INTO ranks (org_id, name, description, position, is_owner, permissions, tri_state, scope, \
         out_of_scope, member_scope) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(org.get())
    .bind(rank.name.to_string())
    .bind(rank.description.to_string())
    .bind(i64::from(rank.position))
    .bind(rank.is_owner)
    .bind(rank.permissions.to_stored())
    .bind(rank.tri_state.to_stored())
    .bind(scope_to_stored(rank.scope))
    .bind(rank.out_of_scope.key())
    .bind(rank.member_scope.key())
    .fetch_one(&mut *conn)
    .await?;
    Ok(RankId(int(&row, "id")?))
}

/// Rewrites a rank's definition (not its ID or organization).
pub async fn update_rank(
    conn: &mut Conn,
    org: OrgId,
    id: RankId,
    rank: &NewRank<'_>,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE ranks SET name = $1, description = $2, position = $3, is_owner = $4, permissions = $5, \
         tri_state = $6, scope = $7, out_of_scope = $8, member_scope = $9 WHERE org_id = $10 AND id = $11",
    )
    .bind(rank.name.to_string())
    .bind(rank.description.to_string())
    .bind(i64::from(rank.position))
    .bind(rank.is_owner)
    .bind(rank.permissions.to_stored())
    .bind(rank.tri_state.to_stored())
    .bind(scope_to_stored(rank.scope))
    .bind(rank.out_of_scope.key())
    .bind(rank.member_scope.key())
    .bind(org.get())
    .bind(id.get())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The most junior position in use (0 when the organization has no ranks).
pub async fn last_rank_position(conn: &mut Conn, org: OrgId) -> Result<i32, StoreError> {
    let row = sqlx::query("SELECT COALESCE(MAX(position), 0) AS p FROM ranks WHERE org_id = $1")
        .bind(org.get())
        .fetch_one(&mut *conn)
        .await?;
    i32::try_from(int(&row, "p")?)
        .map_err(|_| StoreError::Unsupported("rank position out of range"))
}

/// Moves a rank to a new position. Positions are unique, so callers moving several ranks
/// first park them at negative positions.
pub async fn set_rank_position(
    conn: &mut Conn,
    org: OrgId,
    id: RankId,
    position: i32,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE ranks SET position = $1 WHERE org_id = $2 AND id = $3")
        .bind(i64::from(position))
        .bind(org.get())
        .bind(id.get())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Deletes a rank (which must have no members) and its printer access grants.
pub async fn delete_rank(conn: &mut Conn, org: OrgId, id: RankId) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM printer_grants WHERE org_id = $1 AND subject_kind = 'rank' AND subject_id = $2")
        .bind(org.get())
        .bind(id.get())
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM ranks WHERE org_id = $1 AND id = $2")
        .bind(org.get())
        .bind(id.get())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub(crate) const RANK_COLUMNS: &str = "r.id AS rank_id, r.name AS rank_name, r.description AS rank_description, \
     r.position AS rank_position, r.is_owner AS rank_is_owner, r.permissions AS rank_permissions, \
     r.tri_state AS rank_tri_state, r.scope AS rank_scope, r.out_of_scope AS rank_out_of_scope, \
     r.member_scope AS rank_member_scope";

pub(crate) fn rank_from_row(row: &AnyRow) -> Result<Rank, StoreError> {
    let out_of_scope = text(row, "rank_out_of_scope")?;
    let member_scope = text(row, "rank_member_scope")?;
    Ok(Rank {
        id: RankId(int(row, "rank_id")?),
        name: text(row, "rank_name")?,
        description: text(row, "rank_description")?,
        position: int(row, "rank_position")? as i32,
        is_owner: flag(row, "rank_is_owner")?,
        permissions: permissions(row, "rank_permissions")?,
        tri_state: permissions(row, "rank_tri_state")?,
        scope: scope_from_stored(&text(row, "rank_scope")?)?,
        out_of_scope: OutOfScope::parse(&out_of_scope)
            .ok_or_else(|| StoreError::Corrupt(format!("out_of_scope {out_of_scope:?}")))?,
        member_scope: MemberScope::parse(&member_scope)
            .ok_or_else(|| StoreError::Corrupt(format!("member_scope {member_scope:?}")))?,
    })
}

pub async fn list_ranks(conn: &mut Conn, org: OrgId) -> Result<Vec<Rank>, StoreError> {
    let sql = format!("SELECT {RANK_COLUMNS} FROM ranks r WHERE r.org_id = $1 ORDER BY r.position");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(org.get())
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(rank_from_row).collect()
}

pub async fn get_rank(
    conn: &mut Conn,
    org: OrgId,
    rank: RankId,
) -> Result<Option<Rank>, StoreError> {
    let sql = format!("SELECT {RANK_COLUMNS} FROM ranks r WHERE r.org_id = $1 AND r.id = $2");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(org.get())
        .bind(rank.get())
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(rank_from_row).transpose()
}

pub async fn find_rank_by_name(
    conn: &mut Conn,
    org: OrgId,
    name: &str,
) -> Result<Option<Rank>, StoreError> {
    let sql = format!("SELECT {RANK_COLUMNS} FROM ranks r WHERE r.org_id = $1 AND r.name = $2");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(org.get())
        .bind(name.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(rank_from_row).transpose()
}
