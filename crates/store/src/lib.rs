//! Persistence for Farmhand.
//!
//! # Layout
//!
//! Query functions are grouped by the application's contexts — [`people`] (organizations,
//! sites, users, memberships, invitations, workgroups), [`identity`] (sessions, API tokens),
//! [`access`] (ranks and presets, grants, overrides, the authorization facts and their
//! version), [`fleet`] (printer models, groups, printers, their state history, prints),
//! [`files`] (the file library: blobs, files, projects and their shares) and [`audit`] — and re-exported flat (`store::insert_org`, `store::append_audit`, …). Each takes
//! a [`Conn`]: a [`ReadConn`] or a [`WriteTx`], dereferenced.
//!
//! # Two backends, one seam
//!
//! Queries go through sqlx's `Any` driver with `$N` placeholders, which SQLite and PostgreSQL
//! both accept, so one SQL text serves both wherever the dialects agree. Where they do not —
//! locks, claiming rows, notifications, connection set-up, backups, migrations — the
//! [`backend`] module holds each backend's own SQL and features, chosen once from the URL
//! scheme when the store connects (anything else is a loud error). Query modules never test
//! which backend they run on; what needs a backend's feature takes a [`WriteTx`], which knows.
//!
//! # Stored types
//!
//! - **Flags are native booleans on PostgreSQL** (since migration 0005) and 0/1 integers on
//!   SQLite, which has no boolean type. Queries bind Rust `bool`s (the driver sends a boolean
//!   to PostgreSQL and an integer to SQLite), compare with `TRUE`/`FALSE` (SQLite reads them
//!   as 1/0), and read through the `flag` row helper, which accepts either.
//! - **Times are integer microseconds since the Unix epoch on both backends**, not
//!   `timestamptz`. The `Any` driver has no time type: it cannot decode a `timestamptz` column
//!   (its value kinds are null, booleans, integers, floats, text and bytes), so native times on
//!   PostgreSQL would mean wrapping every time column of every query in a conversion
//!   (`EXTRACT(EPOCH …)` out, `to_timestamp` in), and every ordering and comparison keeps
//!   working on integers as it is. Microseconds are exact (no float rounding), ordered, and
//!   convert losslessly to `domain::Timestamp`. Reporting tools on PostgreSQL can read them
//!   with `to_timestamp(col / 1e6)`.
//! - Permission sets, scopes and JSON documents are text.
//!
//! # Blobs
//!
//! File contents live outside the database, in the [`BlobStore`] (a local directory or
//! S3-compatible storage, addressed by SHA-256 per organization); the `blobs` table records
//! which exist.

pub mod access;
pub mod audit;
pub mod backend;
pub mod billing;
pub mod blobs;
pub mod displays;
mod error;
pub mod files;
pub mod fleet;
pub mod identity;
pub mod jobs;
mod migrations;
pub mod people;
pub mod quotas;
pub(crate) mod rows;
pub mod slicing;
mod url;

use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, Connection, Transaction};

use backend::{Dialect, Notifier, Outbox};

pub use audit::{AuditFilter, AuditPage, ChainReport};
pub use backend::{
    Backend, MAX_NOTIFICATION_PAYLOAD, MissedNotifications, Notification, RightsLock, Subscription,
};
pub use blobs::{BlobReader, BlobStore, S3Location};
pub use error::StoreError;
pub use identity::{SessionAuth, TokenAuth};
pub use migrations::{MIGRATION_NAMES_POSTGRES, MIGRATION_NAMES_SQLITE};
pub use people::{InvitationAuth, UserCredentials};
pub use url::DatabaseUrl;

pub use access::*;
pub use audit::*;
pub use billing::*;
pub use displays::*;
pub use files::*;
pub use fleet::*;
pub use identity::*;
pub use jobs::*;
pub use people::*;
pub use quotas::*;
pub use slicing::*;

/// A connection for reads outside a transaction.
pub type ReadConn = PoolConnection<Any>;
/// What the query functions take: a [`ReadConn`] or a [`WriteTx`], dereferenced.
pub type Conn = AnyConnection;

/// Pool sizing and timeouts.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
    /// How long SQLite waits for another writer before giving up.
    pub busy_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            max_connections: 8,
            acquire_timeout: Duration::from_secs(10),
            busy_timeout: Duration::from_secs(10),
        }
    }
}

/// The database, whichever backend it is.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    dialect: &'static Dialect,
    notifier: Notifier,
}

impl Store {
    /// Connects and runs the embedded migrations for the URL's dialect.
    pub async fn open(url: &DatabaseUrl, options: &StoreOptions) -> Result<Store, StoreError> {
        let store = Store::connect(url, options).await?;
        migrations::run(&store).await?;
        Ok(store)
    }

    /// Applies the embedded migrations up to and including `version` only, leaving the schema
    /// as that release had it: for upgrade tests, which fill such a database and then open it.
    pub async fn migrate_through(&self, version: i64) -> Result<(), StoreError> {
        migrations::run_through(self, version).await
    }

    /// Connects without migrating (for tools that must not change the schema).
    pub async fn connect(url: &DatabaseUrl, options: &StoreOptions) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = url.backend();
        let busy_ms = options.busy_timeout.as_millis();
        let pool = AnyPoolOptions::new()
            .max_connections(options.max_connections)
            .acquire_timeout(options.acquire_timeout)
            .after_connect(move |conn, _meta| {
                Box::pin(async move { backend::set_up_connection(backend, conn, busy_ms).await })
            })
            .connect(&url.connect_string())
            .await
            .map_err(|source| StoreError::Connect {
                url: url.redacted(),
                source,
            })?;
        Ok(Store {
            pool,
            dialect: backend.dialect(),
            notifier: Notifier::new(url),
        })
    }

    pub fn backend(&self) -> Backend {
        self.dialect.backend
    }

    /// Starts a write transaction. On SQLite it takes the write lock at once (`BEGIN
    /// IMMEDIATE`), so a transaction that reads before it writes cannot fail half-way with a
    /// busy error; on PostgreSQL the rows it changes are locked as it goes.
    pub async fn write(&self) -> Result<WriteTx, StoreError> {
        let tx = match self.dialect.begin_write {
            Some(begin) => self.pool.begin_with(begin).await?,
            None => self.pool.begin().await?,
        };
        Ok(WriteTx {
            tx,
            dialect: self.dialect,
            outbox: Outbox::new(&self.notifier),
        })
    }

    /// A pooled connection for reads.
    pub async fn read(&self) -> Result<ReadConn, StoreError> {
        Ok(self.pool.acquire().await?)
    }

    /// Whether the database answers (for `/readyz`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await?;
        conn.ping().await?;
        Ok(())
    }

    /// Sends `payload` on `channel` to every listener — of every instance sharing the
    /// database — if and when `tx` commits; never if it rolls back. Notifications of one
    /// transaction arrive in the order sent, transactions' in commit order, and the same
    /// channel and payload twice in one transaction arrive once. Channels are 1 to 63
    /// characters of `a-z`, `0-9` and `_`; payloads at most [`MAX_NOTIFICATION_PAYLOAD`] bytes.
    /// Delivery is best effort: a listener that loses its connection is told it may have
    /// missed some ([`MissedNotifications`]).
    pub async fn notify(tx: &mut WriteTx, channel: &str, payload: &str) -> Result<(), StoreError> {
        backend::check_channel(channel)?;
        backend::check_payload(payload)?;
        let notification = Notification {
            channel: channel.to_string(),
            payload: payload.to_string(),
        };
        match &mut tx.outbox {
            Outbox::Local(outbox) => outbox.push(notification),
            Outbox::Postgres => backend::postgres::notify(&mut tx.tx, &notification).await?,
        }
        Ok(())
    }

    /// Listens on `channels`: the subscription receives what is sent on them from the moment
    /// this returns. On PostgreSQL each subscription holds a connection of its own (outside
    /// the pool): share one per process rather than opening one per client.
    pub async fn listen(&self, channels: &[&str]) -> Result<Subscription, StoreError> {
        self.notifier.subscribe(channels).await
    }

    /// Copies a live SQLite database to `target` (which must not exist) without stopping
    /// writers, using `VACUUM INTO`. PostgreSQL is backed up with `pg_dump`.
    pub async fn backup_sqlite(&self, target: &std::path::Path) -> Result<(), StoreError> {
        backend::backup(self.backend(), &self.pool, target).await
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Direct access for tests and tooling that must reach under the API (for example to
    /// tamper with a row and show that verification notices).
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }
}

/// A connection inside a write transaction. Every use case's writes and its audit event go
/// through one of these, committed together; dropping it without committing rolls back (and
/// its notifications are never sent). It dereferences to a [`Conn`] for the query functions.
pub struct WriteTx {
    tx: Transaction<'static, Any>,
    dialect: &'static Dialect,
    outbox: Outbox,
}

impl std::fmt::Debug for WriteTx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriteTx")
            .field("backend", &self.dialect.backend)
            .finish_non_exhaustive()
    }
}

impl std::ops::Deref for WriteTx {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        &self.tx
    }
}

impl std::ops::DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }
}

impl WriteTx {
    pub fn backend(&self) -> Backend {
        self.dialect.backend
    }

    /// Commits, then (on SQLite) delivers the transaction's notifications.
    pub async fn commit(self) -> Result<(), StoreError> {
        match self.outbox {
            Outbox::Local(outbox) => outbox.commit_and_deliver(self.tx.commit()).await,
            Outbox::Postgres => Ok(self.tx.commit().await?),
        }
    }

    pub async fn rollback(self) -> Result<(), StoreError> {
        Ok(self.tx.rollback().await?)
    }

    /// `select` made to claim the rows it returns, for work queues: rows another transaction
    /// has claimed and not yet released are skipped rather than waited for, and the rows
    /// returned stay claimed until this transaction ends (mark them taken before it commits).
    /// `select` is a plain `SELECT … FROM one_table WHERE … ORDER BY … LIMIT …` (no joins on
    /// nullable sides, aggregates or `DISTINCT`). On PostgreSQL it gains `FOR UPDATE SKIP
    /// LOCKED`; on SQLite it is returned as it is, since the write lock already keeps every
    /// other claimer out until this transaction ends.
    pub fn claiming(&self, select: &str) -> String {
        format!("{select}{}", self.dialect.claim_clause)
    }

    pub(crate) fn dialect(&self) -> &'static Dialect {
        self.dialect
    }
}

/// The driver's error type, for callers that commit transactions themselves.
pub mod sqlx_error {
    pub use sqlx::Error;
}
