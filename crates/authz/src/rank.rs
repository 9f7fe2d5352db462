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
}
