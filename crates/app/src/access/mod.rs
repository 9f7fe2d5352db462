//! Ranks and access: the permission catalog, ranks and their seniority, printer access grants,
//! tri-state overrides, members' effective rights and explanations.

mod ranks;
mod rights;

pub(crate) use ranks::preset_positions;
pub use ranks::{
    AccessChange, CloneRank, ImportPreset, MemberImpact, NewRank, RankChange, RankPreview,
    ReorderRanks,
};
pub use rights::{
    CatalogDomain, CatalogPermission, CreateGrant, Explanation, HeldPermission, MemberRights,
    OverrideEffect, PrinterAccess, SetOverride,
};

use crate::App;

/// The use cases of ranks and access.
#[derive(Clone, Copy)]
pub struct Access<'a> {
    pub(crate) app: &'a App,
}

impl App {
    pub fn access(&self) -> Access<'_> {
        Access { app: self }
    }
}
