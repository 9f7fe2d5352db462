use crate::{Permission, PermissionSet};

/// A rank's place in the organization: lower positions are more senior. Owners stand above
/// every position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seniority {
    pub position: i32,
    pub is_owner: bool,
}

impl Seniority {
    /// Whether an actor with this seniority may act on (assign, edit, manage members of) a rank
    /// with `target` seniority: only strictly junior ranks, except that owners are above all.
    pub fn outranks(self, target: Seniority) -> bool {
        if self.is_owner {
            return true;
        }
        !target.is_owner && self.position < target.position
    }
}

/// The ranks every new organization starts with, most senior first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultRank {
    Owner,
    Admin,
    Manager,
    Operator,
    Member,
    Guest,
    Viewer,
}

impl DefaultRank {
    pub const ALL: [DefaultRank; 7] = [
        DefaultRank::Owner,
        DefaultRank::Admin,
        DefaultRank::Manager,
        DefaultRank::Operator,
        DefaultRank::Member,
        DefaultRank::Guest,
        DefaultRank::Viewer,
    ];

    pub fn name(self) -> &'static str {
        match self {
            DefaultRank::Owner => "Owner",
            DefaultRank::Admin => "Admin",
            DefaultRank::Manager => "Manager",
            DefaultRank::Operator => "Operator",
            DefaultRank::Member => "Member",
            DefaultRank::Guest => "Guest",
            DefaultRank::Viewer => "Viewer",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            DefaultRank::Owner => "Owns the organization; above every rank.",
            DefaultRank::Admin => "Runs the organization: everything except ownership.",
            DefaultRank::Manager => "Runs a site: members, workgroups and approvals.",
            DefaultRank::Operator => "Runs printers day to day.",
            DefaultRank::Member => "Submits and follows their own work.",
            DefaultRank::Guest => "Occasional user with minimal rights.",
            DefaultRank::Viewer => "Read-only stakeholder.",
        }
    }

    pub fn is_owner(self) -> bool {
        self == DefaultRank::Owner
    }

    /// Seniority position: the order of `ALL`, spaced so ranks can be inserted between.
    pub fn position(self) -> i32 {
        let index = DefaultRank::ALL
            .iter()
            .position(|r| *r == self)
            .unwrap_or(0);
        (index as i32 + 1) * 10
    }

    pub fn permissions(self) -> PermissionSet {
        use Permission::*;
        let list: &[Permission] = match self {
            DefaultRank::Owner | DefaultRank::Admin => return PermissionSet::all(),
            DefaultRank::Manager => &[
                OrganizationView,
                SitesView,
                MembersView,
                MembersInvite,
                MembersManage,
                WorkgroupsView,
                WorkgroupsManage,
                RanksView,
                TokensCreate,
                AuditView,
            ],
            DefaultRank::Operator => &[
                OrganizationView,
                SitesView,
                MembersView,
                WorkgroupsView,
                RanksView,
                TokensCreate,
            ],
            DefaultRank::Member => &[OrganizationView, SitesView, WorkgroupsView, TokensCreate],
            DefaultRank::Guest => &[OrganizationView, SitesView],
            DefaultRank::Viewer => &[
                OrganizationView,
                SitesView,
                MembersView,
                WorkgroupsView,
                RanksView,
            ],
        };
        list.iter().copied().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seniority_is_strict_and_owner_is_above_all() {
        let owner = Seniority {
            position: 10,
            is_owner: true,
        };
        let admin = Seniority {
            position: 20,
            is_owner: false,
        };
        let manager = Seniority {
            position: 30,
            is_owner: false,
        };
        assert!(owner.outranks(admin));
        assert!(owner.outranks(owner));
        assert!(admin.outranks(manager));
        assert!(!admin.outranks(admin));
        assert!(!manager.outranks(admin));
        assert!(!admin.outranks(owner));
    }

    #[test]
    fn default_ranks_are_ordered_and_narrowing() {
        let positions: Vec<i32> = DefaultRank::ALL.iter().map(|r| r.position()).collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]));
        assert!(
            DefaultRank::Member
                .permissions()
                .is_subset_of(DefaultRank::Manager.permissions())
        );
        assert!(
            DefaultRank::Manager
                .permissions()
                .is_subset_of(DefaultRank::Admin.permissions())
        );
    }
}
