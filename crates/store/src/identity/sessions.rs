//! Browser sessions. Only hashes of their secrets are stored.

use domain::{SessionId, Timestamp, UserId};

use crate::rows::{int, ts};
use crate::{Conn, StoreError};

#[derive(Debug, Clone)]
pub struct SessionAuth {
    pub session_id: SessionId,
    pub user_id: UserId,
    pub expires_at: Timestamp,
    pub last_seen_at: Timestamp,
}

pub struct NewSession<'a> {
    pub user: UserId,
    pub token_hash: &'a str,
    pub expires_at: Timestamp,
    pub client_ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
}

pub async fn insert_session(
    conn: &mut Conn,
    session: &NewSession<'_>,
    now: Timestamp,
) -> Result<SessionId, StoreError> {
    let row = sqlx::query(
        "INSERT INTO sessions (user_id, token_hash, created_at, expires_at, last_seen_at, client_ip, user_agent) \
         VALUES ($1, $2, $3, $4, $3, $5, $6) RETURNING id",
    )
    .bind(session.user.get())
    .bind(session.token_hash.to_string())
    .bind(now.micros())
    .bind(session.expires_at.micros())
    .bind(session.client_ip.map(str::to_string))
    .bind(session.user_agent.map(str::to_string))
    .fetch_one(&mut *conn)
    .await?;
    Ok(SessionId(int(&row, "id")?))
}

/// A live session by its secret's hash: not revoked, not expired.
pub async fn find_session(
    conn: &mut Conn,
    token_hash: &str,
    now: Timestamp,
) -> Result<Option<SessionAuth>, StoreError> {
    let row = sqlx::query(
        "SELECT id, user_id, expires_at, last_seen_at FROM sessions \
         WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > $2",
    )
    .bind(token_hash.to_string())
    .bind(now.micros())
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref()
        .map(|row| {
            Ok(SessionAuth {
                session_id: SessionId(int(row, "id")?),
                user_id: UserId(int(row, "user_id")?),
                expires_at: ts(row, "expires_at")?,
                last_seen_at: ts(row, "last_seen_at")?,
            })
        })
        .transpose()
}

/// Whether a session is still live (not revoked, not expired).
pub async fn session_live(
    conn: &mut Conn,
    id: SessionId,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let row = sqlx::query(
        "SELECT 1 AS live FROM sessions WHERE id = $1 AND revoked_at IS NULL AND expires_at > $2",
    )
    .bind(id.get())
    .bind(now.micros())
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.is_some())
}

pub async fn touch_session(
    conn: &mut Conn,
    id: SessionId,
    now: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id = $2")
        .bind(now.micros())
        .bind(id.get())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn revoke_session(
    conn: &mut Conn,
    id: SessionId,
    now: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
        .bind(now.micros())
        .bind(id.get())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Revokes all of a user's live sessions except `keep`; returns how many were revoked.
pub async fn revoke_user_sessions(
    conn: &mut Conn,
    user: UserId,
    keep: Option<SessionId>,
    now: Timestamp,
) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL AND id <> $3",
    )
    .bind(now.micros())
    .bind(user.get())
    .bind(keep.map_or(0, SessionId::get))
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected())
}
