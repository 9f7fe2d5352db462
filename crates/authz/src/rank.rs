/// A rank's place in the organization: lower positions are more senior. Owners stand above
/// every position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seniority {
    pub position: i32,
    pub is_owner: bool,
}

impl Seniority {
    /// The most junior position a rank may have; positions run from 1 (most senior).
    pub const MAX_POSITION: i32 = 1_000_000;
    /// The gap left between ranks placed one after another, so one can be put between them.
    pub const STEP: i32 = 10;

    /// Whether `position` is one a rank may have.
    pub fn valid_position(position: i32) -> bool {
        (1..=Seniority::MAX_POSITION).contains(&position)
    }

    /// Positions for `count` ranks placed after `last`, [`Seniority::STEP`] apart; `None` when
    /// they would go past [`Seniority::MAX_POSITION`]. Never wraps, whatever `last` is.
    pub fn positions_after(last: i32, count: usize) -> Option<Vec<i32>> {
        (1..=count)
            .map(|i| {
                let offset = i32::try_from(i).ok()?.checked_mul(Seniority::STEP)?;
                let position = last.max(0).checked_add(offset)?;
                Seniority::valid_position(position).then_some(position)
            })
            .collect()
    }

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

    #[test]
    fn positions_are_bounded_and_never_wrap() {
        assert_eq!(Seniority::positions_after(0, 3), Some(vec![10, 20, 30]));
        assert_eq!(
            Seniority::positions_after(Seniority::MAX_POSITION - 10, 1),
            Some(vec![Seniority::MAX_POSITION])
        );
        assert_eq!(
            Seniority::positions_after(Seniority::MAX_POSITION - 10, 2),
            None
        );
        assert_eq!(Seniority::positions_after(i32::MAX, 1), None);
        assert_eq!(Seniority::positions_after(i32::MAX - 5, 9), None);
        assert!(!Seniority::valid_position(0));
        assert!(!Seniority::valid_position(i32::MAX));
    }
}
