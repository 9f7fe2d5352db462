use std::fmt;

/// The area of the product a permission belongs to, for grouping in the permission matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Domain {
    Organization,
    Members,
    Ranks,
    ApiTokens,
    Compliance,
}

macro_rules! catalog {
    ($( $variant:ident = ($key:literal, $domain:ident, $dangerous:literal, $title:literal, $description:literal), )*) => {
        /// Every permission the server enforces. The key is the stable name used in the API,
        /// in rank definitions and in token scopes.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u8)]
        pub enum Permission { $( $variant, )* }

        impl Permission {
            pub const ALL: &'static [Permission] = &[ $( Permission::$variant, )* ];

            pub fn key(self) -> &'static str {
                match self { $( Permission::$variant => $key, )* }
            }
            pub fn domain(self) -> Domain {
                match self { $( Permission::$variant => Domain::$domain, )* }
            }
            pub fn title(self) -> &'static str {
                match self { $( Permission::$variant => $title, )* }
            }
            pub fn description(self) -> &'static str {
                match self { $( Permission::$variant => $description, )* }
            }
            /// Dangerous permissions can destroy data or hand out power; the UI marks them.
            pub fn dangerous(self) -> bool {
                match self { $( Permission::$variant => $dangerous, )* }
            }
            pub fn from_key(key: &str) -> Option<Permission> {
                match key { $( $key => Some(Permission::$variant), )* _ => None }
            }
        }
    };
}

catalog! {
    OrganizationView = ("organization.view", Organization, false,
        "View the organization", "See the organization's name and settings."),
    OrganizationManage = ("organization.manage", Organization, true,
        "Change organization settings", "Rename the organization and change its time zone and currency."),
    SitesView = ("sites.view", Organization, false,
        "View sites", "See the organization's sites (locations and factories)."),
    SitesManage = ("sites.manage", Organization, true,
        "Manage sites", "Create, rename and delete sites."),
    MembersView = ("members.view", Members, false,
        "View members", "See who belongs to the organization, their rank and status."),
    MembersInvite = ("members.invite", Members, false,
        "Invite members", "Invite people by link and add existing users, with a rank junior to your own."),
    MembersManage = ("members.manage", Members, true,
        "Manage members", "Change the rank of, deactivate and reactivate members junior to you."),
    WorkgroupsView = ("workgroups.view", Members, false,
        "View workgroups", "See workgroups, their members and moderators."),
    WorkgroupsManage = ("workgroups.manage", Members, false,
        "Manage workgroups", "Create, edit and delete workgroups and choose their members and moderators."),
    RanksView = ("ranks.view", Ranks, false,
        "View ranks", "See the organization's ranks and the permissions each one bundles."),
    TokensCreate = ("api_tokens.create.own", ApiTokens, false,
        "Create API tokens", "Create, list and revoke your own API tokens; a token never exceeds your rights."),
    TokensManageAll = ("api_tokens.manage.all", ApiTokens, true,
        "Manage everyone's API tokens", "List and revoke API tokens of members junior to you."),
    AuditView = ("audit.view", Compliance, false,
        "View the audit log", "Read the organization's audit log."),
    AuditExport = ("audit.export", Compliance, false,
        "Export the audit log", "Download the organization's audit log as CSV. Every export is itself audited."),
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// A set of permissions as a fixed-width bitset: checks are a shift and a mask.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct PermissionSet(u64);

// The bitset must hold every catalog entry; this fails to compile when the catalog outgrows it.
const _: () = assert!(Permission::ALL.len() <= 64);

impl PermissionSet {
    pub const EMPTY: PermissionSet = PermissionSet(0);

    pub fn all() -> PermissionSet {
        Permission::ALL.iter().copied().collect()
    }
    pub fn contains(self, permission: Permission) -> bool {
        self.0 & (1 << permission as u8) != 0
    }
    pub fn insert(&mut self, permission: Permission) {
        self.0 |= 1 << permission as u8;
    }
    pub fn intersection(self, other: PermissionSet) -> PermissionSet {
        PermissionSet(self.0 & other.0)
    }
    pub fn is_subset_of(self, other: PermissionSet) -> bool {
        self.0 & !other.0 == 0
    }
    /// Permissions in `self` that `other` lacks.
    pub fn difference(self, other: PermissionSet) -> PermissionSet {
        PermissionSet(self.0 & !other.0)
    }
    pub fn iter(self) -> impl Iterator<Item = Permission> {
        Permission::ALL
            .iter()
            .copied()
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
    /// The stored form: keys separated by single spaces, in catalog order.
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
            assert_eq!(Permission::from_key(p.key()), Some(*p));
            assert!(!p.title().is_empty() && !p.description().is_empty());
        }
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
        assert!(b.is_subset_of(a));
        assert!(!a.is_subset_of(b));
        assert_eq!(a.intersection(b), b);
        assert_eq!(a.difference(b).keys(), vec!["audit.view"]);
    }
}
