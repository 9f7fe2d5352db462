//! Authorization for Farmhand: the permission catalog, ranks with seniority, tri-state
//! overrides, printer scopes and access grants, and decisions that explain themselves. Pure
//! and synchronous: the caller loads the facts ([`Org`]), compiles them once ([`Policy`]) and
//! asks.
//!
//! A decision for (member, permission, printer) allows when the member holds the permission
//! (their rank's, with allow/deny overrides on the rank's tri-state permissions; owners hold
//! all) and, for printer-scoped permissions, their access level on the printer reaches the
//! level the permission needs. Access is the best of the grants that apply: their rank's
//! (only on printers in the rank's scope), their workgroups' and their own; printers outside
//! the rank's scope are hidden or, if the rank says so, visible but locked (view only).

mod admin;
mod catalog;
mod explain;
pub mod ids;
pub mod model;
mod policy;
pub mod presets;
mod rank;

pub use admin::{Acting, Refusal};
pub use catalog::{AccessLevel, Domain, PERMISSION_COUNT, Permission, PermissionSet};
pub use explain::{Explanation, Reason};
pub use model::{
    BedClearAccess, Grant, Member, MemberScope, Org, OrgSettings, OutOfScope, Printer,
    PrinterScope, Rank, Subject, Target,
};
pub use policy::{
    AccessSource, Decision, MemberIx, MemberRights, PermissionSource, Policy, PrinterIx,
};
pub use presets::{Preset, RankTemplate};
pub use rank::Seniority;
