//! Users, invitations and workgroups.

use domain::{
    Invitation, InvitationId, MemberId, OrgId, RankId, SiteId, Timestamp, User, UserId, Workgroup,
    WorkgroupId, WorkgroupMember,
};
use sqlx::any::AnyRow;

use crate::rows::{bool_int, flag, int, opt_int, opt_text, opt_ts, text, ts};
use crate::{Conn, StoreError};

// ---- users ----

/// What sign-in needs about a user. The hash never leaves the server.
#[derive(Clone)]
pub struct UserCredentials {
    pub user: User,
    pub password_hash: String,
}

impl std::fmt::Debug for UserCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserCredentials")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

pub async fn insert_user(
    conn: &mut Conn,
    email: &str,
    name: &str,
    password_hash: &str,
    must_change_password: bool,
    now: Timestamp,
) -> Result<UserId, StoreError> {
    let row = sqlx::query(
        "INSERT INTO users (email, name, password_hash, must_change_password, created_at, password_changed_at) \
         VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
    )
    .bind(email.to_string())
    .bind(name.to_string())
    .bind(password_hash.to_string())
    .bind(bool_int(must_change_password))
    .bind(now.micros())
    .fetch_one(&mut *conn)
    .await?;
    Ok(UserId(int(&row, "id")?))
}

const USER_COLUMNS: &str = "id, email, name, must_change_password, created_at, password_hash";

fn credentials_from_row(row: &AnyRow) -> Result<UserCredentials, StoreError> {
    Ok(UserCredentials {
        user: User {
            id: UserId(int(row, "id")?),
            email: text(row, "email")?,
            name: text(row, "name")?,
            must_change_password: flag(row, "must_change_password")?,
            created_at: ts(row, "created_at")?,
        },
        password_hash: text(row, "password_hash")?,
    })
}

pub async fn find_user_by_email(
    conn: &mut Conn,
    email: &str,
) -> Result<Option<UserCredentials>, StoreError> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE email = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(email.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(credentials_from_row).transpose()
}

pub async fn get_user(
    conn: &mut Conn,
    user: UserId,
) -> Result<Option<UserCredentials>, StoreError> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(user.get())
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(credentials_from_row).transpose()
}

pub async fn set_password(
    conn: &mut Conn,
    user: UserId,
    password_hash: &str,
    must_change_password: bool,
    now: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE users SET password_hash = $1, must_change_password = $2, password_changed_at = $3 WHERE id = $4",
    )
    .bind(password_hash.to_string())
    .bind(bool_int(must_change_password))
    .bind(now.micros())
    .bind(user.get())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

// ---- invitations ----

/// An invitation found by its secret, with what accepting it needs.
#[derive(Debug, Clone)]
pub struct InvitationAuth {
    pub invitation: Invitation,
    pub org_name: String,
}

pub struct NewInvitation<'a> {
    pub org: OrgId,
    pub email: &'a str,
    pub rank: RankId,
    pub site: Option<SiteId>,
    pub token_hash: &'a str,
    pub invited_by: MemberId,
    pub expires_at: Timestamp,
}

pub async fn insert_invitation(
    conn: &mut Conn,
    invitation: &NewInvitation<'_>,
    now: Timestamp,
) -> Result<InvitationId, StoreError> {
    let row = sqlx::query(
        "INSERT INTO invitations (org_id, email, rank_id, site_id, token_hash, invited_by, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(invitation.org.get())
    .bind(invitation.email.to_string())
    .bind(invitation.rank.get())
    .bind(invitation.site.map(SiteId::get))
    .bind(invitation.token_hash.to_string())
    .bind(invitation.invited_by.get())
    .bind(now.micros())
    .bind(invitation.expires_at.micros())
    .fetch_one(&mut *conn)
    .await?;
    Ok(InvitationId(int(&row, "id")?))
}

const INVITATION_SELECT: &str = "SELECT i.id, i.org_id, o.name AS org_name, i.email, i.rank_id, r.name AS rank_name, \
     i.site_id, i.invited_by, i.created_at, i.expires_at, i.accepted_at, i.revoked_at, i.declined_at \
     FROM invitations i LEFT JOIN ranks r ON r.id = i.rank_id JOIN organizations o ON o.id = i.org_id";

fn invitation_from_row(row: &AnyRow, now: Timestamp) -> Result<InvitationAuth, StoreError> {
    let expires_at = ts(row, "expires_at")?;
    let accepted_at = opt_ts(row, "accepted_at")?;
    let revoked_at = opt_ts(row, "revoked_at")?;
    let declined_at = opt_ts(row, "declined_at")?;
    Ok(InvitationAuth {
        org_name: text(row, "org_name")?,
        invitation: Invitation {
            id: InvitationId(int(row, "id")?),
            org_id: OrgId(int(row, "org_id")?),
            email: text(row, "email")?,
            rank_id: opt_int(row, "rank_id")?.map(RankId),
            rank_name: opt_text(row, "rank_name")?,
            site_id: opt_int(row, "site_id")?.map(SiteId),
            invited_by: MemberId(int(row, "invited_by")?),
            created_at: ts(row, "created_at")?,
            expires_at,
            accepted_at,
            revoked_at,
            declined_at,
            status: Invitation::status_at(now, expires_at, accepted_at, revoked_at, declined_at),
        },
    })
}

pub async fn find_invitation_by_token(
    conn: &mut Conn,
    token_hash: &str,
    now: Timestamp,
) -> Result<Option<InvitationAuth>, StoreError> {
    let sql = format!("{INVITATION_SELECT} WHERE i.token_hash = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(token_hash.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref()
        .map(|r| invitation_from_row(r, now))
        .transpose()
}

pub async fn get_invitation(
    conn: &mut Conn,
    org: OrgId,
    id: InvitationId,
    now: Timestamp,
) -> Result<Option<Invitation>, StoreError> {
    let sql = format!("{INVITATION_SELECT} WHERE i.org_id = $1 AND i.id = $2");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(org.get())
        .bind(id.get())
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row
        .as_ref()
        .map(|r| invitation_from_row(r, now))
        .transpose()?
        .map(|i| i.invitation))
}

pub async fn list_invitations(
    conn: &mut Conn,
    org: OrgId,
    now: Timestamp,
) -> Result<Vec<Invitation>, StoreError> {
    let sql =
        format!("{INVITATION_SELECT} WHERE i.org_id = $1 ORDER BY i.created_at DESC, i.id DESC");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(org.get())
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|r| Ok(invitation_from_row(r, now)?.invitation))
        .collect()
}

/// An invitation by its ID alone, with its organization's name (for the invited person).
pub async fn find_invitation(
    conn: &mut Conn,
    id: InvitationId,
    now: Timestamp,
) -> Result<Option<InvitationAuth>, StoreError> {
    let sql = format!("{INVITATION_SELECT} WHERE i.id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id.get())
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref()
        .map(|r| invitation_from_row(r, now))
        .transpose()
}

/// Pending invitations addressed to `email`, across organizations, newest first.
pub async fn pending_invitations_for_email(
    conn: &mut Conn,
    email: &str,
    now: Timestamp,
) -> Result<Vec<InvitationAuth>, StoreError> {
    let sql = format!(
        "{INVITATION_SELECT} WHERE i.email = $1 AND i.accepted_at IS NULL AND i.revoked_at IS NULL \
         AND i.declined_at IS NULL AND i.expires_at > $2 ORDER BY i.created_at DESC, i.id DESC"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(email.to_string())
        .bind(now.micros())
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(|r| invitation_from_row(r, now)).collect()
}

/// Marks a pending invitation declined; false if it was no longer pending.
pub async fn decline_invitation(
    conn: &mut Conn,
    id: InvitationId,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE invitations SET declined_at = $1 WHERE id = $2 AND accepted_at IS NULL \
         AND revoked_at IS NULL AND declined_at IS NULL AND expires_at > $1",
    )
    .bind(now.micros())
    .bind(id.get())
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Revokes every pending invitation a member sent; returns how many.
pub async fn revoke_invitations_sent_by(
    conn: &mut Conn,
    member: MemberId,
    now: Timestamp,
) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "UPDATE invitations SET revoked_at = $1 WHERE invited_by = $2 AND accepted_at IS NULL \
         AND revoked_at IS NULL AND declined_at IS NULL AND expires_at > $1",
    )
    .bind(now.micros())
    .bind(member.get())
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected())
}

/// Marks a pending invitation accepted; false if it was no longer pending (raced).
pub async fn accept_invitation(
    conn: &mut Conn,
    id: InvitationId,
    user: UserId,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE invitations SET accepted_at = $1, accepted_by = $2 \
         WHERE id = $3 AND accepted_at IS NULL AND revoked_at IS NULL AND declined_at IS NULL \
         AND expires_at > $1",
    )
    .bind(now.micros())
    .bind(user.get())
    .bind(id.get())
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn revoke_invitation(
    conn: &mut Conn,
    org: OrgId,
    id: InvitationId,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE invitations SET revoked_at = $1 WHERE org_id = $2 AND id = $3 AND accepted_at IS NULL \
         AND revoked_at IS NULL AND declined_at IS NULL",
    )
    .bind(now.micros())
    .bind(org.get())
    .bind(id.get())
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

// ---- workgroups ----

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
    .bind(bool_int(is_moderator))
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
        "SELECT workgroup_id FROM workgroup_members WHERE member_id = $1 AND is_moderator = 1",
    )
    .bind(member.get())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| Ok(WorkgroupId(int(r, "workgroup_id")?)))
        .collect()
}
