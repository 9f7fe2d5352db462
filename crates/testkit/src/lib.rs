//! Fresh databases for tests, on both backends. PostgreSQL comes from `TEST_POSTGRES_URL`
//! (default: the local server as user postgres); each test gets a new database, dropped when
//! its [`TestDatabase`] is dropped — also when the test panics. If PostgreSQL cannot be reached
//! the test fails: it is never skipped.

#![allow(clippy::expect_used)]

use std::path::PathBuf;

use sqlx::Connection;
pub use store::Backend;
use store::DatabaseUrl;

pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

pub fn postgres_admin_url() -> String {
    std::env::var("TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_string())
}

/// A database that exists for one test: a file in a temporary directory (SQLite) or a new
/// database on the server (PostgreSQL). Dropping it removes it, whatever connections are
/// still open to it.
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

    /// Drops the database now, from async code (dropping the guard does the same, blocking).
    pub async fn drop_database(mut self) {
        if let Some(name) = self.pg_name.take() {
            drop_postgres_database(&name)
                .await
                .expect("drop test database");
        }
    }
}

impl Drop for TestDatabase {
    /// `Drop` cannot await, and may run inside a runtime (which must not be blocked on): the
    /// database is dropped on a thread of its own with a small runtime, and this waits for it.
    /// Errors are printed, never raised: this also runs while a failed test unwinds.
    fn drop(&mut self) {
        let Some(name) = self.pg_name.take() else {
            return;
        };
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime
                .block_on(drop_postgres_database(&name))
                .map_err(|e| format!("{name}: {e}"))
        })
        .join();
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("could not drop test database {e}"),
            Err(_) => eprintln!("could not drop a test database: the dropping thread panicked"),
        }
    }
}

async fn drop_postgres_database(name: &str) -> Result<(), sqlx::Error> {
    let mut conn = sqlx::PgConnection::connect(&postgres_admin_url()).await?;
    // FORCE: connections a failed test left open do not keep the database alive.
    let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .execute(&mut conn)
        .await?;
    conn.close().await.ok();
    Ok(())
}

/// Both backends, for tests that must pass on each.
pub const BACKENDS: [Backend; 2] = [Backend::Sqlite, Backend::Postgres];

/// Generates each listed test twice, in modules `sqlite` and `postgres`, each a multi-threaded
/// `#[tokio::test]` (the calling crate depends on tokio).
///
/// - `on_both_backends!(a, b)`: each test is `async fn a(backend: Backend)`.
/// - `on_both_backends!(with = run; a, b)`: each runs as `run(backend, a).await`, where `run`
///   (a function beside the tests) prepares what the tests take — a store, a server — and
///   cleans up after.
#[macro_export]
macro_rules! on_both_backends {
    (with = $run:ident; $($name:ident),* $(,)?) => {
        $crate::on_both_backends!(@backend sqlite, Sqlite, $run; $($name),*);
        $crate::on_both_backends!(@backend postgres, Postgres, $run; $($name),*);
    };
    ($($name:ident),* $(,)?) => {
        $crate::on_both_backends!(@backend sqlite, Sqlite; $($name),*);
        $crate::on_both_backends!(@backend postgres, Postgres; $($name),*);
    };
    (@backend $module:ident, $backend:ident, $run:ident; $($name:ident),*) => {
        mod $module {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() {
                   super::$run($crate::Backend::$backend, super::$name).await
               } )*
        }
    };
    (@backend $module:ident, $backend:ident; $($name:ident),*) => {
        mod $module {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() {
                   super::$name($crate::Backend::$backend).await
               } )*
        }
    };
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    async fn exists(name: &str) -> bool {
        let mut conn = sqlx::PgConnection::connect(&postgres_admin_url())
            .await
            .unwrap();
        let found: Option<(i32,)> = sqlx::query_as("SELECT 1 FROM pg_database WHERE datname = $1")
            .bind(name)
            .fetch_optional(&mut conn)
            .await
            .unwrap();
        found.is_some()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failing_test_leaves_no_database_behind() {
        let (sender, receiver) = tokio::sync::oneshot::channel();
        let failing = tokio::spawn(async move {
            let db = TestDatabase::new(Backend::Postgres).await;
            // A connection still open, as a failed test leaves its pool.
            let DatabaseUrl::Postgres(url) = &db.url else {
                unreachable!("a PostgreSQL database")
            };
            let _open = sqlx::PgConnection::connect(url).await.unwrap();
            sender.send(db.pg_name.clone().unwrap()).unwrap();
            panic!("the test fails");
        });
        let name = receiver.await.unwrap();
        assert!(failing.await.unwrap_err().is_panic());
        assert!(!exists(&name).await, "{name} is still there");

        let db = TestDatabase::new(Backend::Postgres).await;
        let name = db.pg_name.clone().unwrap();
        assert!(exists(&name).await);
        db.drop_database().await;
        assert!(!exists(&name).await);
    }
}
