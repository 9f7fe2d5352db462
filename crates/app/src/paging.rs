//! Cursor pagination, as every list of the API does it: a page size within bounds, and the
//! `next_cursor` of one page passed as `cursor` for the next.

use crate::error::{AppError, AppResult};

/// Page size when none is asked for.
pub const DEFAULT_PAGE_SIZE: u32 = 100;
/// Largest page size accepted.
pub const MAX_PAGE_SIZE: u32 = 500;

/// The page size asked for, or the default; anything outside 1..=[`MAX_PAGE_SIZE`] is refused.
pub fn page_size(limit: Option<u32>) -> AppResult<u32> {
    let limit = limit.unwrap_or(DEFAULT_PAGE_SIZE);
    if (1..=MAX_PAGE_SIZE).contains(&limit) {
        Ok(limit)
    } else {
        Err(AppError::Invalid(domain::Invalid::new(
            "limit",
            format!("must be between 1 and {MAX_PAGE_SIZE}"),
        )))
    }
}
