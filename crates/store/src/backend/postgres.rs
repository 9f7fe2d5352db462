//! PostgreSQL: several Farmhand instances may share the database.
//!
//! Write transactions lock rows as they touch them. The organization's row carries the
//! authorization version: a data change takes it `FOR SHARE` (data changes run side by side,
//! rights changes wait for them), a rights change takes it `FOR NO KEY UPDATE` — the lock its
//! `UPDATE … SET authz_version` takes anyway, so it never upgrades a lock it holds, and it does
//! not block the `FOR KEY SHARE` locks that foreign-key checks of unrelated inserts take.
//! Claiming rows skips those another transaction has claimed (`FOR UPDATE SKIP LOCKED`).
//! Notifications are `pg_notify` calls, delivered by the server when the transaction commits
//! and to every instance listening, each on a dedicated connection.
//!
//! Advisory locks: the one-`bigint` key space belongs to the audit chains (the key is the
//! chain's key: the organization's ID, 0 for the instance's chain); anything else that needs
//! an advisory lock takes the two-`int` form, a separate key space.

use std::collections::HashSet;
use std::time::Duration;

use sqlx::postgres::PgListener;

use super::{Backend, Dialect, MissedNotifications, Notification};
use crate::StoreError;

pub(crate) const DIALECT: Dialect = Dialect {
    backend: Backend::Postgres,
    begin_write: None,
    migrations: crate::migrations::POSTGRES,
    lock_rights_use: "SELECT authz_version FROM organizations WHERE id = $1 FOR SHARE",
    lock_rights_change: "SELECT authz_version FROM organizations WHERE id = $1 FOR NO KEY UPDATE",
    audit_chain_queue: Some("SELECT 1 AS queued FROM pg_advisory_xact_lock($1)"),
    lock_audit_head: "SELECT seq, hash FROM audit_heads WHERE chain_key = $1 FOR UPDATE",
    claim_clause: " FOR UPDATE SKIP LOCKED",
    row_lock_clause: " FOR NO KEY UPDATE",
};

/// Queues a notification in the transaction; the server delivers it on commit.
pub(crate) async fn notify(
    conn: &mut sqlx::AnyConnection,
    notification: &Notification,
) -> Result<(), StoreError> {
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(notification.channel.clone())
        .bind(notification.payload.clone())
        .execute(conn)
        .await?;
    Ok(())
}

/// Back-off between attempts to reach the server again.
const FIRST_RETRY: Duration = Duration::from_millis(100);
const LAST_RETRY: Duration = Duration::from_secs(10);

/// A dedicated connection listening on some channels; re-established when lost.
pub(crate) struct Listener {
    listener: PgListener,
    channels: HashSet<String>,
    retry: Duration,
}

impl Listener {
    pub(crate) async fn connect(
        url: &str,
        channels: HashSet<String>,
    ) -> Result<Listener, StoreError> {
        let mut listener = PgListener::connect(url).await?;
        let names: Vec<&str> = channels.iter().map(String::as_str).collect();
        listener.listen_all(names).await?;
        Ok(Listener {
            listener,
            channels,
            retry: FIRST_RETRY,
        })
    }

    pub(crate) async fn recv(&mut self) -> Result<Notification, MissedNotifications> {
        loop {
            match self.listener.try_recv().await {
                Ok(Some(notification)) => {
                    self.retry = FIRST_RETRY;
                    // LISTEN is per channel, but stay exact if a channel was listened twice.
                    if self.channels.contains(notification.channel()) {
                        return Ok(Notification {
                            channel: notification.channel().to_string(),
                            payload: notification.payload().to_string(),
                        });
                    }
                }
                // The connection was lost and has been re-established (listening again on
                // every channel): what was sent meanwhile is gone.
                Ok(None) => {
                    tracing::warn!("notification connection lost and re-established");
                    return Err(MissedNotifications);
                }
                // The server cannot be reached: wait and try again.
                Err(error) => {
                    tracing::warn!(%error, retry_in = ?self.retry, "notification connection failed");
                    tokio::time::sleep(self.retry).await;
                    self.retry = (self.retry * 2).min(LAST_RETRY);
                    return Err(MissedNotifications);
                }
            }
        }
    }
}
