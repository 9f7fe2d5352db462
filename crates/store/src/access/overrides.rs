//! Tri-state overrides: a member allowed or denied one permission beyond their rank.

use authz::{Permission, PermissionSet};
use domain::MemberId;
use sqlx::any::AnyRow;

use crate::rows::{flag, text};
use crate::{Conn, StoreError};

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
            .bind(allow)
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
pub(crate) fn add_override(
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
