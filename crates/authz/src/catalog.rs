//! The permission catalog, generated from `catalog.toml`, and the bitset of permissions.

use std::fmt;

include!(concat!(env!("OUT_DIR"), "/catalog.rs"));

/// Access to a printer, in increasing order: see it, queue jobs on it, print on it (start,
/// pause, resume), manage it (settings, maintenance, raw G-code).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Default,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum AccessLevel {
    #[default]
    None = 0,
    View = 1,
    Queue = 2,
    Print = 3,
    Manage = 4,
}

impl AccessLevel {
    pub const ALL: [AccessLevel; 5] = [
        AccessLevel::None,
        AccessLevel::View,
        AccessLevel::Queue,
        AccessLevel::Print,
        AccessLevel::Manage,
    ];

    pub fn key(self) -> &'static str {
        match self {
            AccessLevel::None => "none",
            AccessLevel::View => "view",
            AccessLevel::Queue => "queue",
            AccessLevel::Print => "print",
            AccessLevel::Manage => "manage",
        }
    }

    pub fn parse(key: &str) -> Option<AccessLevel> {
        AccessLevel::ALL.into_iter().find(|l| l.key() == key)
    }
}

impl fmt::Display for AccessLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// A set of permissions as a fixed-width bitset: a check is a shift and a mask.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct PermissionSet([u64; WORDS]);

impl PermissionSet {
    pub const EMPTY: PermissionSet = PermissionSet([0; WORDS]);

    pub fn all() -> PermissionSet {
        Permission::ALL.iter().copied().collect()
    }

    #[inline(always)]
    pub fn contains(self, permission: Permission) -> bool {
        let bit = permission as usize;
        self.0[bit / 64] & (1 << (bit % 64)) != 0
    }

    pub fn insert(&mut self, permission: Permission) {
        let bit = permission as usize;
        self.0[bit / 64] |= 1 << (bit % 64);
    }

    pub fn remove(&mut self, permission: Permission) {
        let bit = permission as usize;
        self.0[bit / 64] &= !(1 << (bit % 64));
    }

    fn zip(self, other: PermissionSet, f: impl Fn(u64, u64) -> u64) -> PermissionSet {
        let mut out = [0; WORDS];
        for (i, word) in out.iter_mut().enumerate() {
            *word = f(self.0[i], other.0[i]);
        }
        PermissionSet(out)
    }

    pub fn union(self, other: PermissionSet) -> PermissionSet {
        self.zip(other, |a, b| a | b)
    }

    pub fn intersection(self, other: PermissionSet) -> PermissionSet {
        self.zip(other, |a, b| a & b)
    }

    /// Permissions in `self` that `other` lacks.
    pub fn difference(self, other: PermissionSet) -> PermissionSet {
        self.zip(other, |a, b| a & !b)
    }

    pub fn is_subset_of(self, other: PermissionSet) -> bool {
        self.difference(other).is_empty()
    }

    pub fn is_empty(self) -> bool {
        self.0.iter().all(|w| *w == 0)
    }

    pub fn len(self) -> usize {
        self.0.iter().map(|w| w.count_ones() as usize).sum()
    }

    pub fn iter(self) -> impl Iterator<Item = Permission> {
        Permission::ALL
            .into_iter()
            .filter(move |p| self.contains(*p))
    }

    pub fn keys(self) -> Vec<&'static str> {
        self.iter().map(Permission::key).collect()
    }

    /// Parses permission keys; the first unknown key is returned as the error.
    pub fn from_keys<'a>(keys: impl IntoIterator<Item = &'a str>) -> Result<PermissionSet, String> {
        let mut set = PermissionSet::EMPTY;
        for key in keys {
            set.insert(Permission::from_key(key).ok_or_else(|| key.to_string())?);
        }
        Ok(set)
    }

    /// The stored form: keys separated by single spaces, in catalog order. Keys, not bit
    /// positions, so that reordering the catalog never changes stored rights.
    pub fn to_stored(self) -> String {
        self.keys().join(" ")
    }

    pub fn from_stored(stored: &str) -> Result<PermissionSet, String> {
        PermissionSet::from_keys(stored.split_whitespace())
    }
}

impl FromIterator<Permission> for PermissionSet {
    fn from_iter<I: IntoIterator<Item = Permission>>(iter: I) -> Self {
        let mut set = PermissionSet::EMPTY;
        for permission in iter {
            set.insert(permission);
        }
        set
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_and_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for p in Permission::ALL {
            assert!(seen.insert(p.key()), "duplicate key {}", p.key());
            assert_eq!(Permission::from_key(p.key()), Some(p));
            assert!(!p.title().is_empty() && !p.description().is_empty());
        }
        assert_eq!(PermissionSet::all().len(), PERMISSION_COUNT);
    }

    #[test]
    fn stored_form_round_trips_and_rejects_unknown_keys() {
        let set: PermissionSet = [Permission::AuditView, Permission::SitesManage]
            .into_iter()
            .collect();
        assert_eq!(PermissionSet::from_stored(&set.to_stored()), Ok(set));
        assert_eq!(
            PermissionSet::from_stored("sites.view nope"),
            Err("nope".to_string())
        );
    }

    #[test]
    fn set_algebra() {
        let a: PermissionSet = [Permission::AuditView, Permission::SitesView]
            .into_iter()
            .collect();
        let b: PermissionSet = [Permission::SitesView].into_iter().collect();
        assert!(b.is_subset_of(a) && !a.is_subset_of(b));
        assert_eq!(a.intersection(b), b);
        assert_eq!(a.difference(b).keys(), vec!["audit.view"]);
        assert_eq!(a.union(b), a);
        let mut c = a;
        c.remove(Permission::AuditView);
        assert_eq!(c, b);
    }

    #[test]
    fn the_3dprinteros_advanced_rights_are_in_the_catalog() {
        for key in [
            "slicer.advanced_tab",
            "slicer.expert_tab",
            "queue.unlimited_jobs",
            "quotas.exempt_printing_time",
            "quotas.exempt_max_job_duration",
            "submissions.view_all_answers",
            "printers.settings",
            "printer_control.confirm_bed_clear",
            "billing.print_on_insufficient_balance",
            "files.upload_gcode",
        ] {
            assert!(Permission::from_key(key).is_some(), "{key}");
        }
    }
}
