//! Invitations: how someone joins an organization (they accept or decline).

use domain::{Invitation, InvitationId, MemberId, OrgId, RankId, SiteId, Timestamp, UserId};
use sqlx::any::AnyRow;

use crate::rows::{int, opt_int, opt_text, opt_ts, text, ts};
use crate::{Conn, StoreError};

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
