//! Fresh databases for tests, on both backends. PostgreSQL comes from `TEST_POSTGRES_URL`
//! (default: the local server as user postgres); each test gets a new database, dropped
//! afterwards. If PostgreSQL cannot be reached the test fails: it is never skipped.

#![allow(clippy::expect_used)]

use std::path::PathBuf;

use sqlx::Connection;
use store::{Backend, DatabaseUrl};

pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

pub fn postgres_admin_url() -> String {
    std::env::var("TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_string())
}

/// A database that exists for one test.
pub struct TestDatabase {
    pub url: DatabaseUrl,
    pub backend: Backend,
    // Keeps the SQLite directory alive.
    dir: Option<tempfile::TempDir>,
    pg_name: Option<String>,
}

impl TestDatabase {
    pub async fn new(backend: Backend) -> TestDatabase {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temporary directory");
                let path = dir.path().join("farmhand.db");
                TestDatabase {
                    url: DatabaseUrl::sqlite_file(&path),
                    backend,
                    dir: Some(dir),
                    pg_name: None,
                }
            }
            Backend::Postgres => {
                let admin = postgres_admin_url();
                let name = format!("farmhand_test_{}", uuid::Uuid::new_v4().simple());
                let mut conn = sqlx::PgConnection::connect(&admin)
                    .await
                    .unwrap_or_else(|e| {
                        panic!(
                            "PostgreSQL tests need a server at {admin} (set TEST_POSTGRES_URL): {e}"
                        )
                    });
                let sql = format!("CREATE DATABASE {name}");
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .execute(&mut conn)
                    .await
                    .expect("create test database");
                conn.close().await.ok();
                let base = admin
                    .rsplit_once('/')
                    .map_or(admin.as_str(), |(base, _)| base);
                let url = DatabaseUrl::parse(&format!("{base}/{name}")).expect("valid URL");
                TestDatabase {
                    url,
                    backend,
                    dir: None,
                    pg_name: Some(name),
                }
            }
        }
    }

    pub fn sqlite_dir(&self) -> Option<PathBuf> {
        self.dir.as_ref().map(|d| d.path().to_path_buf())
    }

    /// Drops a PostgreSQL test database (SQLite's goes with its directory).
    pub async fn drop_database(self) {
        if let Some(name) = &self.pg_name {
            let mut conn = sqlx::PgConnection::connect(&postgres_admin_url())
                .await
                .expect("PostgreSQL");
            let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&mut conn)
                .await
                .expect("drop test database");
        }
    }
}

/// Both backends, for tests that must pass on each.
pub const BACKENDS: [Backend; 2] = [Backend::Sqlite, Backend::Postgres];
