//! SQLite: one file, one writer at a time.
//!
//! Writes run under `BEGIN IMMEDIATE`, which takes the database's write lock when the
//! transaction starts: no other writer runs until it ends, so reading the authorization
//! version or selecting rows to claim needs no lock of its own, and a transaction that reads
//! before it writes cannot fail half-way with a busy error.
//!
//! One process uses the database: notifications are delivered in that process, after commit.
//! Several Farmhand instances on one SQLite file are not supported (they would not see each
//! other's notifications); run several instances on PostgreSQL.

use std::collections::HashSet;
use std::sync::Arc;

use sqlx::{AnyConnection, AnyPool, Executor};
use tokio::sync::{Mutex, broadcast};

use super::{Backend, Dialect, MissedNotifications, Notification};
use crate::StoreError;

pub(crate) const DIALECT: Dialect = Dialect {
    backend: Backend::Sqlite,
    begin_write: Some("BEGIN IMMEDIATE"),
    migrations: crate::migrations::SQLITE,
    // The write lock taken by BEGIN IMMEDIATE already keeps every other writer out.
    lock_rights_use: "SELECT authz_version FROM organizations WHERE id = $1",
    lock_rights_change: "SELECT authz_version FROM organizations WHERE id = $1",
    audit_chain_queue: None,
    lock_audit_head: "SELECT seq, hash FROM audit_heads WHERE chain_key = $1",
    claim_clause: "",
    row_lock_clause: "",
};

pub(crate) async fn set_up_connection(
    conn: &mut AnyConnection,
    busy_timeout_ms: u128,
) -> Result<(), sqlx::Error> {
    let pragmas = format!(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
         PRAGMA foreign_keys = ON; PRAGMA busy_timeout = {busy_timeout_ms};"
    );
    conn.execute(sqlx::AssertSqlSafe(pragmas)).await?;
    Ok(())
}

/// Copies the live database to `target` (which must not exist) without stopping writers.
pub(crate) async fn backup(pool: &AnyPool, target: &std::path::Path) -> Result<(), StoreError> {
    if target.exists() {
        return Err(StoreError::BackupTargetExists(target.display().to_string()));
    }
    let target = target
        .to_str()
        .ok_or(StoreError::Unsupported("backup path must be UTF-8"))?;
    let mut conn = pool.acquire().await?;
    sqlx::query("VACUUM INTO $1")
        .bind(target.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

// ---- notifications ----

/// How many notifications a slow subscriber may fall behind before it is told it missed some.
const BACKLOG: usize = 1024;

/// The in-process notification hub of one store.
#[derive(Debug)]
pub(crate) struct Hub {
    sender: broadcast::Sender<Arc<Notification>>,
    /// Held from a commit to the delivery of its notifications, so that they are delivered in
    /// commit order (commits are serialized by the write lock anyway).
    delivering: Mutex<()>,
}

impl Hub {
    pub(crate) fn new() -> Hub {
        Hub {
            sender: broadcast::channel(BACKLOG).0,
            delivering: Mutex::new(()),
        }
    }

    pub(crate) fn subscribe(&self, channels: HashSet<String>) -> Receiver {
        Receiver {
            receiver: self.sender.subscribe(),
            channels,
        }
    }
}

/// A write transaction's notifications, delivered when it commits.
pub(crate) struct Outbox {
    hub: Arc<Hub>,
    pending: Vec<Notification>,
}

impl Outbox {
    pub(crate) fn new(hub: Arc<Hub>) -> Outbox {
        Outbox {
            hub,
            pending: Vec::new(),
        }
    }

    /// Like PostgreSQL, the same channel and payload twice in one transaction are delivered
    /// once.
    pub(crate) fn push(&mut self, notification: Notification) {
        if !self.pending.contains(&notification) {
            self.pending.push(notification);
        }
    }

    /// Commits through `commit` and then delivers the notifications, in commit order.
    pub(crate) async fn commit_and_deliver<F>(self, commit: F) -> Result<(), StoreError>
    where
        F: Future<Output = Result<(), sqlx::Error>>,
    {
        if self.pending.is_empty() {
            return Ok(commit.await?);
        }
        let _in_order = self.hub.delivering.lock().await;
        commit.await?;
        for notification in self.pending {
            // No subscriber is not an error.
            let _ = self.hub.sender.send(Arc::new(notification));
        }
        Ok(())
    }
}

pub(crate) struct Receiver {
    receiver: broadcast::Receiver<Arc<Notification>>,
    channels: HashSet<String>,
}

impl Receiver {
    pub(crate) async fn recv(&mut self) -> Result<Notification, MissedNotifications> {
        loop {
            match self.receiver.recv().await {
                Ok(notification) if self.channels.contains(&notification.channel) => {
                    return Ok(Notification::clone(&notification));
                }
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(_)) => return Err(MissedNotifications),
                // The hub lives as long as the store; once it is gone nothing more will come.
                Err(broadcast::error::RecvError::Closed) => std::future::pending().await,
            }
        }
    }
}
