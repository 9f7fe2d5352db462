//! Small helpers to read typed values out of `Any` rows, shared by every query module.

use authz::PermissionSet;
use domain::Timestamp;
use sqlx::any::{AnyRow, AnyTypeInfoKind};
use sqlx::{Row, ValueRef};

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

/// A flag: a boolean on PostgreSQL, a 0/1 integer on SQLite (which has no boolean type; so
/// are computed flags such as `x IS NOT NULL` there).
pub(crate) fn flag(row: &AnyRow, col: &str) -> Result<bool, StoreError> {
    let raw = row.try_get_raw(col)?;
    if raw.is_null() {
        return Err(StoreError::Corrupt(format!("flag {col} is NULL")));
    }
    if raw.type_info().kind() == AnyTypeInfoKind::Bool {
        Ok(row.try_get::<bool, _>(col)?)
    } else {
        Ok(int(row, col)? != 0)
    }
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

pub(crate) fn json_text<T: serde::Serialize + ?Sized>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(format!("unwritable JSON: {e}")))
}

pub(crate) fn json_column<T: serde::de::DeserializeOwned>(
    row: &AnyRow,
    col: &str,
) -> Result<T, StoreError> {
    serde_json::from_str(&text(row, col)?)
        .map_err(|e| StoreError::Corrupt(format!("invalid JSON in {col}: {e}")))
}

/// `%text%` for LIKE, lower-cased, with `%`, `_` and the escape character itself escaped.
pub(crate) fn like_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.to_ascii_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}
