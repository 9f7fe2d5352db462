//! Small helpers to read typed values out of `Any` rows.

use authz::PermissionSet;
use domain::Timestamp;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::StoreError;

pub(crate) fn int(row: &AnyRow, col: &str) -> Result<i64, StoreError> {
    Ok(row.try_get::<i64, _>(col)?)
}

pub(crate) fn opt_int(row: &AnyRow, col: &str) -> Result<Option<i64>, StoreError> {
    Ok(row.try_get::<Option<i64>, _>(col)?)
}

pub(crate) fn real(row: &AnyRow, col: &str) -> Result<f64, StoreError> {
    Ok(row.try_get::<f64, _>(col)?)
}

pub(crate) fn text(row: &AnyRow, col: &str) -> Result<String, StoreError> {
    Ok(row.try_get::<String, _>(col)?)
}

pub(crate) fn opt_text(row: &AnyRow, col: &str) -> Result<Option<String>, StoreError> {
    Ok(row.try_get::<Option<String>, _>(col)?)
}

pub(crate) fn flag(row: &AnyRow, col: &str) -> Result<bool, StoreError> {
    Ok(int(row, col)? != 0)
}

pub(crate) fn ts(row: &AnyRow, col: &str) -> Result<Timestamp, StoreError> {
    Ok(Timestamp::from_micros(int(row, col)?))
}

pub(crate) fn opt_ts(row: &AnyRow, col: &str) -> Result<Option<Timestamp>, StoreError> {
    Ok(opt_int(row, col)?.map(Timestamp::from_micros))
}

pub(crate) fn permissions(row: &AnyRow, col: &str) -> Result<PermissionSet, StoreError> {
    let stored = text(row, col)?;
    PermissionSet::from_stored(&stored)
        .map_err(|key| StoreError::Corrupt(format!("unknown permission {key:?} in {col}")))
}

pub(crate) fn opt_permissions(
    row: &AnyRow,
    col: &str,
) -> Result<Option<PermissionSet>, StoreError> {
    match opt_text(row, col)? {
        None => Ok(None),
        Some(stored) => PermissionSet::from_stored(&stored)
            .map(Some)
            .map_err(|key| StoreError::Corrupt(format!("unknown permission {key:?} in {col}"))),
    }
}

pub(crate) fn bool_int(value: bool) -> i64 {
    i64::from(value)
}
