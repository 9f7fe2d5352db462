//! The seam between the backends: everything SQLite and PostgreSQL do differently lives in
//! `sqlite.rs` and `postgres.rs`, and this module is the one place that chooses between them.
//! The choice is made once, from the URL scheme, when the [`Store`](crate::Store) connects;
//! query modules never ask which backend they run on.
//!
//! What differs:
//!
//! | | SQLite | PostgreSQL |
//! | --- | --- | --- |
//! | connection set-up | WAL, `synchronous = NORMAL`, foreign keys, busy timeout | nothing |
//! | write transactions | `BEGIN IMMEDIATE`: one writer at a time, taken at the start | `BEGIN`: rows are locked as they are touched |
//! | [`lock_rights`](crate::lock_rights) | a plain read (the write lock already excludes every other writer) | `FOR SHARE` / `FOR NO KEY UPDATE` on the organization's row |
//! | [claiming rows](crate::WriteTx::claiming) | the plain select (no other writer can run) | `FOR UPDATE SKIP LOCKED` |
//! | [locking a member's account](crate::lock_member_account) | the plain select | `FOR NO KEY UPDATE` on the membership's row |
//! | [notifications](crate::Store::notify) | in-process, delivered after commit (one process per database file) | `pg_notify` on commit, `LISTEN` on a dedicated connection |
//! | migrations | `migrations/sqlite` | `migrations/postgres` |
//! | online backup | `VACUUM INTO` | refused: use `pg_dump` |

pub(crate) mod postgres;
pub(crate) mod sqlite;

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use crate::{DatabaseUrl, StoreError};

/// Which database the store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        })
    }
}

impl Backend {
    pub(crate) fn dialect(self) -> &'static Dialect {
        match self {
            Backend::Sqlite => &sqlite::DIALECT,
            Backend::Postgres => &postgres::DIALECT,
        }
    }
}

/// The SQL that differs between the backends, one constant table per backend.
#[derive(Debug)]
pub(crate) struct Dialect {
    pub backend: Backend,
    /// The statement that opens a write transaction, when not the driver's plain `BEGIN`.
    pub begin_write: Option<&'static str>,
    /// The embedded migrations, in order, as (file name, SQL).
    pub migrations: &'static [(&'static str, &'static str)],
    /// Reads `authz_version` of the organization `$1`, locked for a data change.
    pub lock_rights_use: &'static str,
    /// Reads `authz_version` of the organization `$1`, locked for a rights change.
    pub lock_rights_change: &'static str,
    /// Queues the transaction for the audit chain `$1` until it ends, in the order asked.
    pub audit_chain_queue: Option<&'static str>,
    /// Reads the head (`seq`, `hash`) of the audit chain `$1`, locked until the transaction
    /// ends.
    pub lock_audit_head: &'static str,
    /// Appended to a select whose rows the transaction claims.
    pub claim_clause: &'static str,
    /// Appended to a select of one row the transaction locks against other lockers of it until
    /// it ends (not against inserts referring to it).
    pub row_lock_clause: &'static str,
}

/// How [`lock_rights`](crate::lock_rights) locks the organization's authorization version.
/// Say up front which one a transaction needs: a transaction holding [`RightsLock::Use`] must
/// not later ask for [`RightsLock::Change`] (two such transactions would deadlock on
/// PostgreSQL, each waiting for the other's shared lock).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RightsLock {
    /// The transaction changes data under rights it has checked: rights changes wait until it
    /// ends, other data changes do not.
    Use,
    /// The transaction changes rights (and bumps the version): it waits for the data changes
    /// under way and excludes every other holder until it ends.
    Change,
}

impl Dialect {
    pub(crate) fn lock_rights_sql(&self, lock: RightsLock) -> &'static str {
        match lock {
            RightsLock::Use => self.lock_rights_use,
            RightsLock::Change => self.lock_rights_change,
        }
    }
}

/// Runs once on every new connection.
pub(crate) async fn set_up_connection(
    backend: Backend,
    conn: &mut sqlx::AnyConnection,
    busy_timeout_ms: u128,
) -> Result<(), sqlx::Error> {
    match backend {
        Backend::Sqlite => sqlite::set_up_connection(conn, busy_timeout_ms).await,
        Backend::Postgres => Ok(()),
    }
}

/// An online copy of the database to `target`.
pub(crate) async fn backup(
    backend: Backend,
    pool: &sqlx::AnyPool,
    target: &std::path::Path,
) -> Result<(), StoreError> {
    match backend {
        Backend::Sqlite => sqlite::backup(pool, target).await,
        Backend::Postgres => Err(StoreError::Unsupported(
            "online backup copies SQLite databases; back up PostgreSQL with pg_dump",
        )),
    }
}

// ---- notifications ----

/// A message sent with [`Store::notify`](crate::Store::notify) in a committed transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub channel: String,
    pub payload: String,
}

/// Some notifications may have been lost since the previous one a subscription returned (its
/// connection dropped and was re-established, or it fell too far behind). Whoever keeps state
/// from notifications reloads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("notifications may have been missed; reload what depends on them")]
pub struct MissedNotifications;

/// The longest payload, in bytes: PostgreSQL's limit (8000 bytes) less one, on both backends.
pub const MAX_NOTIFICATION_PAYLOAD: usize = 7999;

/// Channel names are short lower-case identifiers on both backends (PostgreSQL identifiers are
/// at most 63 bytes).
pub(crate) fn check_channel(channel: &str) -> Result<(), StoreError> {
    let valid = !channel.is_empty()
        && channel.len() <= 63
        && channel
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if valid {
        Ok(())
    } else {
        Err(StoreError::Unsupported(
            "a notification channel is 1 to 63 characters of a-z, 0-9 and _",
        ))
    }
}

pub(crate) fn check_payload(payload: &str) -> Result<(), StoreError> {
    if payload.len() > MAX_NOTIFICATION_PAYLOAD {
        return Err(StoreError::Unsupported(
            "a notification payload is at most 7999 bytes",
        ));
    }
    Ok(())
}

/// Where a store's notifications go: the in-process hub on SQLite, the database on PostgreSQL.
#[derive(Debug, Clone)]
pub(crate) enum Notifier {
    Local(Arc<sqlite::Hub>),
    Postgres { url: String },
}

impl Notifier {
    pub(crate) fn new(url: &DatabaseUrl) -> Notifier {
        match url {
            DatabaseUrl::Sqlite(_) => Notifier::Local(Arc::new(sqlite::Hub::new())),
            DatabaseUrl::Postgres(url) => Notifier::Postgres { url: url.clone() },
        }
    }

    pub(crate) async fn subscribe(&self, channels: &[&str]) -> Result<Subscription, StoreError> {
        for channel in channels {
            check_channel(channel)?;
        }
        let wanted: HashSet<String> = channels.iter().map(|c| c.to_string()).collect();
        let inner = match self {
            Notifier::Local(hub) => Inner::Local(hub.subscribe(wanted)),
            Notifier::Postgres { url } => {
                Inner::Postgres(Box::new(postgres::Listener::connect(url, wanted).await?))
            }
        };
        Ok(Subscription { inner })
    }
}

/// What a write transaction does with its notifications: on SQLite it keeps them until
/// commit, on PostgreSQL the database does.
pub(crate) enum Outbox {
    Local(sqlite::Outbox),
    Postgres,
}

impl Outbox {
    pub(crate) fn new(notifier: &Notifier) -> Outbox {
        match notifier {
            Notifier::Local(hub) => Outbox::Local(sqlite::Outbox::new(hub.clone())),
            Notifier::Postgres { .. } => Outbox::Postgres,
        }
    }
}

/// The notifications of some channels, from [`Store::listen`](crate::Store::listen). Dropping
/// it stops listening (on PostgreSQL it closes its connection).
pub struct Subscription {
    inner: Inner,
}

enum Inner {
    Local(sqlite::Receiver),
    Postgres(Box<postgres::Listener>),
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription").finish_non_exhaustive()
    }
}

impl Subscription {
    /// The next notification on one of the subscribed channels, waiting for it. An error says
    /// that some may have been lost (the subscription goes on afterwards); on PostgreSQL a
    /// lost connection is re-established, with back-off while the server is unreachable.
    pub async fn recv(&mut self) -> Result<Notification, MissedNotifications> {
        match &mut self.inner {
            Inner::Local(receiver) => receiver.recv().await,
            Inner::Postgres(listener) => listener.recv().await,
        }
    }

    /// The subscription as a stream that never ends.
    pub fn into_stream(
        self,
    ) -> impl futures::Stream<Item = Result<Notification, MissedNotifications>> + Send + Unpin {
        Box::pin(futures::stream::unfold(
            self,
            |mut subscription| async move {
                let next = subscription.recv().await;
                Some((next, subscription))
            },
        ))
    }
}
