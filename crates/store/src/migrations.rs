//! Embedded, per-dialect migrations. Both folders hold the same file names; a test checks it.
//! A landed migration is never edited: add a new one.

use std::borrow::Cow;

use sqlx::migrate::{Migration, MigrationType, Migrator};

use crate::{Store, StoreError};

macro_rules! migrations {
    ($dialect:literal: $($file:literal),* $(,)?) => {
        &[$(($file, include_str!(concat!("../migrations/", $dialect, "/", $file)))),*]
    };
}

pub(crate) const SQLITE: &[(&str, &str)] = migrations!("sqlite":
    "0001_foundation.sql",
    "0002_authorization.sql",
    "0003_printer_fleet.sql",
    "0004_invitation_consent.sql",
    "0005_native_booleans.sql",
    "0006_printer_job_cursor.sql",
    "0007_file_library.sql",
    "0008_print_jobs.sql",
    "0009_dispatch.sql",
    "0010_instances_staffed_hours.sql",
    "0011_quotas_billing.sql",
    "0012_parallel_copies.sql",
    "0013_running_balances_job_runs.sql",
    "0014_slicing.sql",
    "0015_usage_buckets.sql",
    "0016_slicer_locks.sql",
    "0017_display_links.sql",
    "0020_display_link_last_used.sql",
);
pub(crate) const POSTGRES: &[(&str, &str)] = migrations!("postgres":
    "0001_foundation.sql",
    "0002_authorization.sql",
    "0003_printer_fleet.sql",
    "0004_invitation_consent.sql",
    "0005_native_booleans.sql",
    "0006_printer_job_cursor.sql",
    "0007_file_library.sql",
    "0008_print_jobs.sql",
    "0009_dispatch.sql",
    "0010_instances_staffed_hours.sql",
    "0011_quotas_billing.sql",
    "0012_parallel_copies.sql",
    "0013_running_balances_job_runs.sql",
    "0014_slicing.sql",
    "0015_usage_buckets.sql",
    "0016_slicer_locks.sql",
    "0017_display_links.sql",
    "0020_display_link_last_used.sql",
);

pub const MIGRATION_NAMES_SQLITE: fn() -> Vec<&'static str> =
    || SQLITE.iter().map(|m| m.0).collect();
pub const MIGRATION_NAMES_POSTGRES: fn() -> Vec<&'static str> =
    || POSTGRES.iter().map(|m| m.0).collect();

fn migrator(
    files: &'static [(&'static str, &'static str)],
    through: i64,
) -> Result<Migrator, StoreError> {
    let mut list = Vec::with_capacity(files.len());
    for (name, sql) in files {
        let (version, description) = name
            .trim_end_matches(".sql")
            .split_once('_')
            .and_then(|(v, d)| Some((v.parse::<i64>().ok()?, d)))
            .ok_or(StoreError::Unsupported(
                "migration file names must look like 0001_name.sql",
            ))?;
        if version > through {
            break;
        }
        list.push(Migration::new(
            version,
            Cow::Owned(description.replace('_', " ")),
            MigrationType::Simple,
            sqlx::SqlStr::from_static(sql),
            false,
        ));
    }
    Ok(Migrator::with_migrations(list))
}

pub(crate) async fn run(store: &Store) -> Result<(), StoreError> {
    run_through(store, i64::MAX).await
}

/// Runs the migrations whose version is at most `through`.
pub(crate) async fn run_through(store: &Store, through: i64) -> Result<(), StoreError> {
    migrator(store.dialect.migrations, through)?
        .run(store.pool())
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_dialects_list_the_same_migrations() {
        assert_eq!(MIGRATION_NAMES_SQLITE(), MIGRATION_NAMES_POSTGRES());
        let on_disk = |dialect: &str| {
            let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/").to_string() + dialect;
            let mut names: Vec<String> = std::fs::read_dir(dir)
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect();
            names.sort();
            names
        };
        assert_eq!(on_disk("sqlite"), on_disk("postgres"));
        assert_eq!(on_disk("sqlite"), MIGRATION_NAMES_SQLITE());
    }
}
