//! Authorization for Farmhand: the permission catalog, permission sets, default ranks and the
//! seniority rule. Pure and synchronous; callers load the facts and ask.
//!
//! This is the foundation's slice of the design's authorization model: organization-level
//! permissions held through a rank, narrowed by API tokens, and seniority between ranks.
//! Overrides, printer scopes and grants build on these types.

mod catalog;
mod rank;

pub use catalog::{Domain, Permission, PermissionSet};
pub use rank::{DefaultRank, Seniority};
