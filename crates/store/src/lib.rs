//! Persistence for Farmhand.
//!
//! One SQL layer serves both backends through sqlx's `Any` driver: queries use `$N`
//! placeholders, which SQLite and PostgreSQL both accept, and portable types (integers, text).
//! The few dialect differences (row locks, backups) are decided by [`Backend`]. The backend is
//! picked once, from the URL scheme; anything else is a loud error.

mod access;
mod audit;
mod auth;
mod error;
mod fleet;
mod migrations;
mod orgs;
mod people;
mod printing;
mod rows;
mod url;

use std::time::Duration;

use sqlx::AnyConnection;
use sqlx::any::AnyPoolOptions;
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyPool, Connection, Executor, Transaction};

pub use audit::{AuditFilter, AuditPage, ChainReport};
pub use auth::{SessionAuth, TokenAuth};
pub use error::StoreError;
pub use migrations::{MIGRATION_NAMES_POSTGRES, MIGRATION_NAMES_SQLITE};
pub use people::{InvitationAuth, UserCredentials};
pub use url::{Backend, DatabaseUrl};

/// A connection inside a write transaction. Every use case's writes and its audit event go
/// through one of these, committed together.
pub type WriteTx = Transaction<'static, Any>;
/// A connection for reads outside a transaction.
pub type ReadConn = PoolConnection<Any>;
/// What the query functions take: either of the above, dereferenced.
pub type Conn = AnyConnection;

pub use access::*;
pub use audit::*;
pub use auth::*;
pub use fleet::*;
pub use orgs::*;
pub use people::*;
pub use printing::*;

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
    backend: Backend,
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
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        let pragmas = format!(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                             PRAGMA foreign_keys = ON; PRAGMA busy_timeout = {busy_ms};"
                        );
                        conn.execute(sqlx::AssertSqlSafe(pragmas)).await?;
                    }
                    Ok(())
                })
            })
            .connect(&url.connect_string())
            .await
            .map_err(|source| StoreError::Connect {
                url: url.redacted(),
                source,
            })?;
        Ok(Store { pool, backend })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Starts a write transaction. On SQLite it takes the write lock at once (`BEGIN
    /// IMMEDIATE`), so a transaction that reads before it writes cannot fail half-way with a
    /// busy error; on PostgreSQL the rows it changes are locked as it goes.
    pub async fn write(&self) -> Result<WriteTx, StoreError> {
        let tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        };
        Ok(tx)
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

    /// Copies a live SQLite database to `target` (which must not exist) without stopping
    /// writers, using `VACUUM INTO`.
    pub async fn backup_sqlite(&self, target: &std::path::Path) -> Result<(), StoreError> {
        if self.backend != Backend::Sqlite {
            return Err(StoreError::Unsupported(
                "online backup copies SQLite databases; back up PostgreSQL with pg_dump",
            ));
        }
        if target.exists() {
            return Err(StoreError::BackupTargetExists(target.display().to_string()));
        }
        let target = target
            .to_str()
            .ok_or(StoreError::Unsupported("backup path must be UTF-8"))?;
        let mut conn = self.pool.acquire().await?;
        sqlx::query("VACUUM INTO $1")
            .bind(target.to_string())
            .execute(&mut *conn)
            .await?;
        Ok(())
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

/// The driver's error type, for callers that commit transactions themselves.
pub mod sqlx_error {
    pub use sqlx::Error;
}
