//! API tokens. Only hashes of their secrets are stored.

use authz::PermissionSet;
use domain::{ApiToken, MemberId, OrgId, Timestamp, TokenId, UserId};
use sqlx::any::AnyRow;

use crate::rows::{flag, int, opt_permissions, opt_ts, text, ts};
use crate::{Conn, StoreError};

/// A live token by its secret's hash, with the member it acts for.
#[derive(Debug, Clone)]
pub struct TokenAuth {
    pub token_id: TokenId,
    pub member_id: MemberId,
    pub org_id: OrgId,
    pub user_id: UserId,
    pub permissions: Option<PermissionSet>,
    pub last_used_at: Option<Timestamp>,
}

pub struct NewToken<'a> {
    pub member: MemberId,
    pub name: &'a str,
    pub token_hash: &'a str,
    pub permissions: Option<PermissionSet>,
    pub expires_at: Option<Timestamp>,
}

pub async fn insert_token(
    conn: &mut Conn,
    token: &NewToken<'_>,
    now: Timestamp,
) -> Result<TokenId, StoreError> {
    let row = sqlx::query(
        "INSERT INTO api_tokens (member_id, name, token_hash, permissions, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(token.member.get())
    .bind(token.name.to_string())
    .bind(token.token_hash.to_string())
    .bind(token.permissions.map(PermissionSet::to_stored))
    .bind(now.micros())
    .bind(token.expires_at.map(Timestamp::micros))
    .fetch_one(&mut *conn)
    .await?;
    Ok(TokenId(int(&row, "id")?))
}

/// A token that is not revoked, not expired, and whose member is active.
pub async fn find_token(
    conn: &mut Conn,
    token_hash: &str,
    now: Timestamp,
) -> Result<Option<TokenAuth>, StoreError> {
    let row = sqlx::query(
        "SELECT t.id, t.member_id, m.org_id, m.user_id, t.permissions, t.last_used_at, m.active \
         FROM api_tokens t JOIN memberships m ON m.id = t.member_id \
         WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > $2)",
    )
    .bind(token_hash.to_string())
    .bind(now.micros())
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    if !flag(&row, "active")? {
        return Ok(None);
    }
    Ok(Some(TokenAuth {
        token_id: TokenId(int(&row, "id")?),
        member_id: MemberId(int(&row, "member_id")?),
        org_id: OrgId(int(&row, "org_id")?),
        user_id: UserId(int(&row, "user_id")?),
        permissions: opt_permissions(&row, "permissions")?,
        last_used_at: opt_ts(&row, "last_used_at")?,
    }))
}

/// Whether a token is still live (not revoked, not expired).
pub async fn token_live(conn: &mut Conn, id: TokenId, now: Timestamp) -> Result<bool, StoreError> {
    let row = sqlx::query(
        "SELECT 1 AS live FROM api_tokens WHERE id = $1 AND revoked_at IS NULL \
         AND (expires_at IS NULL OR expires_at > $2)",
    )
    .bind(id.get())
    .bind(now.micros())
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.is_some())
}

pub async fn touch_token(conn: &mut Conn, id: TokenId, now: Timestamp) -> Result<(), StoreError> {
    sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
        .bind(now.micros())
        .bind(id.get())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

const TOKEN_SELECT: &str = "SELECT t.id, t.member_id, t.name, t.permissions, t.created_at, t.expires_at, \
     t.last_used_at, t.revoked_at FROM api_tokens t JOIN memberships m ON m.id = t.member_id";

fn token_from_row(row: &AnyRow) -> Result<ApiToken, StoreError> {
    Ok(ApiToken {
        id: TokenId(int(row, "id")?),
        member_id: MemberId(int(row, "member_id")?),
        name: text(row, "name")?,
        permissions: opt_permissions(row, "permissions")?,
        created_at: ts(row, "created_at")?,
        expires_at: opt_ts(row, "expires_at")?,
        last_used_at: opt_ts(row, "last_used_at")?,
        revoked_at: opt_ts(row, "revoked_at")?,
    })
}

/// Tokens of one member, or of the whole organization when `member` is None.
pub async fn list_tokens(
    conn: &mut Conn,
    org: OrgId,
    member: Option<MemberId>,
) -> Result<Vec<ApiToken>, StoreError> {
    let sql = format!(
        "{TOKEN_SELECT} WHERE m.org_id = $1 AND ($2 = 0 OR t.member_id = $2) ORDER BY t.created_at DESC, t.id DESC"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(org.get())
        .bind(member.map_or(0, MemberId::get))
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(token_from_row).collect()
}

pub async fn get_token(
    conn: &mut Conn,
    org: OrgId,
    id: TokenId,
) -> Result<Option<ApiToken>, StoreError> {
    let sql = format!("{TOKEN_SELECT} WHERE m.org_id = $1 AND t.id = $2");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(org.get())
        .bind(id.get())
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(token_from_row).transpose()
}

pub async fn revoke_token(
    conn: &mut Conn,
    id: TokenId,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let done =
        sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(now.micros())
            .bind(id.get())
            .execute(&mut *conn)
            .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn revoke_member_tokens(
    conn: &mut Conn,
    member: MemberId,
    now: Timestamp,
) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "UPDATE api_tokens SET revoked_at = $1 WHERE member_id = $2 AND revoked_at IS NULL",
    )
    .bind(now.micros())
    .bind(member.get())
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected())
}
