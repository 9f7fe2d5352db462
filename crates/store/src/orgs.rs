//! Organizations, their ranks, sites and members.

use authz::presets::{Preset, RankTemplate};
use authz::{AccessLevel, BedClearAccess, MemberScope, OutOfScope, PermissionSet, PrinterScope};
use domain::{
    GrantSubject, GrantTarget, Member, MemberAuth, MemberId, MembershipSummary, OrgId,
    Organization, PrinterGroupId, PrinterId, PrinterModelId, Rank, RankId, Site, SiteId, Timestamp,
    UserId,
};
use sqlx::any::AnyRow;

use crate::rows::{bool_int, flag, int, opt_int, opt_text, opt_ts, permissions, text, ts};
use crate::{Conn, StoreError};

// ---- organizations ----

pub async fn insert_org(
    conn: &mut Conn,
    name: &str,
    time_zone: &str,
    currency: &str,
    now: Timestamp,
) -> Result<OrgId, StoreError> {
    let row = sqlx::query(
        "INSERT INTO organizations (name, time_zone, currency, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(name.to_string())
    .bind(time_zone.to_string())
    .bind(currency.to_string())
    .bind(now.micros())
    .fetch_one(&mut *conn)
    .await?;
    Ok(OrgId(int(&row, "id")?))
}

fn org_from_row(row: &AnyRow) -> Result<Organization, StoreError> {
    Ok(Organization {
        id: OrgId(int(row, "id")?),
        name: text(row, "name")?,
        time_zone: text(row, "time_zone")?,
        currency: text(row, "currency")?,
        bed_clear_access: {
            let stored = text(row, "bed_clear_access")?;
            BedClearAccess::parse(&stored)
                .ok_or_else(|| StoreError::Corrupt(format!("bed_clear_access {stored:?}")))?
        },
        created_at: ts(row, "created_at")?,
    })
}

pub async fn get_org(conn: &mut Conn, org: OrgId) -> Result<Option<Organization>, StoreError> {
    let row = sqlx::query(
        "SELECT id, name, time_zone, currency, bed_clear_access, created_at FROM organizations WHERE id = $1",
    )
    .bind(org.get())
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(org_from_row).transpose()
}

pub async fn list_orgs(conn: &mut Conn) -> Result<Vec<Organization>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, name, time_zone, currency, bed_clear_access, created_at FROM organizations ORDER BY id",
    )
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(org_from_row).collect()
}

pub async fn find_org_by_name(
    conn: &mut Conn,
    name: &str,
) -> Result<Option<Organization>, StoreError> {
    let row = sqlx::query(
        "SELECT id, name, time_zone, currency, bed_clear_access, created_at FROM organizations WHERE name = $1 ORDER BY id LIMIT 1",
    )
    .bind(name.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(org_from_row).transpose()
}

pub async fn update_org(conn: &mut Conn, org: &Organization) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE organizations SET name = $1, time_zone = $2, currency = $3, bed_clear_access = $4 WHERE id = $5",
    )
    .bind(org.name.clone())
    .bind(org.time_zone.clone())
    .bind(org.currency.clone())
    .bind(org.bed_clear_access.key())
    .bind(org.id.get())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

// ---- ranks ----

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
    .bind(bool_int(rank.is_owner))
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
    .bind(bool_int(rank.is_owner))
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

/// Adds a preset's ranks below the organization's existing ones (positions continue after
/// the most junior), each with its access on all printers as a rank grant.
pub async fn insert_preset_ranks(
    conn: &mut Conn,
    org: OrgId,
    preset: Preset,
    now: Timestamp,
) -> Result<Vec<(RankTemplate, RankId)>, StoreError> {
    let row = sqlx::query("SELECT COALESCE(MAX(position), 0) AS p FROM ranks WHERE org_id = $1")
        .bind(org.get())
        .fetch_one(&mut *conn)
        .await?;
    let start = i32::try_from(int(&row, "p")?)
        .map_err(|_| StoreError::Corrupt("a rank position beyond 32 bits".into()))?;
    let mut created = Vec::new();
    for (i, template) in preset.ranks().into_iter().enumerate() {
        // Checked: after a rank at the very last positions there is no room below it (which
        // must not wrap around to the most senior positions).
        let position = i32::try_from(i)
            .ok()
            .and_then(|i| i.checked_add(1)?.checked_mul(10)?.checked_add(start))
            .ok_or_else(|| StoreError::Conflict("no rank position left below the last".into()))?;
        let new = NewRank {
            name: template.name,
            description: template.description,
            position,
            is_owner: template.is_owner,
            permissions: template.permissions,
            tri_state: template.tri_state,
            scope: &template.scope,
            out_of_scope: template.out_of_scope,
            member_scope: template.member_scope,
        };
        let id = insert_rank(conn, org, &new).await?;
        if template.access > AccessLevel::None {
            let subject = GrantSubject::Rank(id);
            crate::access::insert_grant(
                conn,
                org,
                subject,
                GrantTarget::AllPrinters,
                template.access,
                now,
            )
            .await?;
        }
        created.push((template, id));
    }
    Ok(created)
}

const RANK_COLUMNS: &str = "r.id AS rank_id, r.name AS rank_name, r.description AS rank_description, \
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

// ---- sites ----

fn site_from_row(row: &AnyRow) -> Result<Site, StoreError> {
    Ok(Site {
        id: SiteId(int(row, "id")?),
        name: text(row, "name")?,
        description: text(row, "description")?,
        time_zone: opt_text(row, "time_zone")?,
        created_at: ts(row, "created_at")?,
    })
}

pub async fn insert_site(
    conn: &mut Conn,
    org: OrgId,
    name: &str,
    description: &str,
    time_zone: Option<&str>,
    now: Timestamp,
) -> Result<SiteId, StoreError> {
    let row = sqlx::query(
        "INSERT INTO sites (org_id, name, description, time_zone, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(org.get())
    .bind(name.to_string())
    .bind(description.to_string())
    .bind(time_zone.map(str::to_string))
    .bind(now.micros())
    .fetch_one(&mut *conn)
    .await?;
    Ok(SiteId(int(&row, "id")?))
}

pub async fn list_sites(conn: &mut Conn, org: OrgId) -> Result<Vec<Site>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, name, description, time_zone, created_at FROM sites WHERE org_id = $1 ORDER BY name, id",
    )
    .bind(org.get())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(site_from_row).collect()
}

pub async fn get_site(
    conn: &mut Conn,
    org: OrgId,
    site: SiteId,
) -> Result<Option<Site>, StoreError> {
    let row = sqlx::query(
        "SELECT id, name, description, time_zone, created_at FROM sites WHERE org_id = $1 AND id = $2",
    )
    .bind(org.get())
    .bind(site.get())
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(site_from_row).transpose()
}

pub async fn update_site(conn: &mut Conn, org: OrgId, site: &Site) -> Result<(), StoreError> {
    sqlx::query("UPDATE sites SET name = $1, description = $2, time_zone = $3 WHERE org_id = $4 AND id = $5")
        .bind(site.name.clone())
        .bind(site.description.clone())
        .bind(site.time_zone.clone())
        .bind(org.get())
        .bind(site.id.get())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn delete_site(conn: &mut Conn, org: OrgId, site: SiteId) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM sites WHERE org_id = $1 AND id = $2")
        .bind(org.get())
        .bind(site.get())
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

// ---- members ----

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
         VALUES ($1, $2, $3, $4, 1, $5) RETURNING id",
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
         WHERE m.user_id = $1 AND m.active = 1 ORDER BY o.name, m.id",
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
    .bind(bool_int(active))
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
         WHERE m.org_id = $1 AND m.active = 1 AND r.is_owner = 1",
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
         WHERE m.org_id = $1 AND m.active = 1 ORDER BY r.position, u.name",
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
