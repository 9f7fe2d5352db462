//! Users: sign-in identities.

use domain::{Timestamp, User, UserId};
use sqlx::any::AnyRow;

use crate::rows::{flag, int, text, ts};
use crate::{Conn, StoreError};

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
    .bind(must_change_password)
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
    .bind(must_change_password)
    .bind(now.micros())
    .bind(user.get())
    .execute(&mut *conn)
    .await?;
    Ok(())
}
