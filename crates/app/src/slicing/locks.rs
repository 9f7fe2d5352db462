//! The organization's setting locks: a PrusaSlicer setting locked to a value for every member
//! whose rank is below a chosen rank in the seniority order. Members a lock binds slice with
//! its value and cannot change it without `slicer.override_locks`; owners and members at or
//! above the rank are not bound. Whoever keeps the locks (`slicer.lock_settings`) may only
//! lock for ranks below their own (or their own rank's juniors): nobody binds their seniors.

use authz::{Permission, Seniority};
use domain::{Invalid, RankId, SlicerLock};
use serde_json::{Value, json};

use super::{Slicing, settings};
use crate::actor::OrgActor;
use crate::error::{AppError, AppResult, ErrorCode};
use crate::unit_of_work::{Audit, Changes};

/// A lock with the name of its rank, as listed.
#[derive(Debug, Clone)]
pub struct LockView {
    pub lock: SlicerLock,
    pub setting: &'static settings::Setting,
    /// The rank's name (the lock binds every rank below it).
    pub below_rank: String,
}

/// A lock that binds the actor: its setting's key, its value, and the words for a refusal.
#[derive(Debug, Clone)]
pub(crate) struct Binding {
    pub setting: String,
    pub value: String,
    pub below_rank_id: RankId,
    pub below_rank: String,
}

impl Binding {
    /// Why the setting cannot be changed, for the 403.
    pub(crate) fn reason(&self) -> String {
        format!(
            "the organization locks it at {:?} for ranks below {}",
            self.value, self.below_rank
        )
    }
}

/// Whether a lock below a rank of `threshold` seniority binds a member of `member` seniority:
/// only strictly junior ranks, never owners.
fn binds(member: Seniority, threshold: Seniority) -> bool {
    !member.is_owner && (threshold.is_owner || member.position > threshold.position)
}

/// Whether someone of `actor` seniority may keep a lock below `threshold`: their own rank or
/// one junior to it (owners: any).
fn may_lock_below(actor: Seniority, threshold: Seniority) -> bool {
    actor.is_owner || (!threshold.is_owner && actor.position <= threshold.position)
}

/// The organization's locks that bind the actor (a lock naming a rank gone from the policy
/// binds nobody: ranks a lock names cannot be deleted).
pub(crate) fn binding(actor: &OrgActor, locks: Vec<SlicerLock>) -> Vec<Binding> {
    let me = actor.seniority();
    locks
        .into_iter()
        .filter_map(|lock| {
            let rank = actor.policy.rank(lock.below_rank_id)?;
            binds(me, rank.seniority()).then(|| Binding {
                setting: lock.setting,
                value: lock.value,
                below_rank_id: lock.below_rank_id,
                below_rank: rank.name.clone(),
            })
        })
        .collect()
}

fn summary(lock: &SlicerLock) -> Value {
    json!({ "setting": lock.setting, "value": lock.value, "below_rank_id": lock.below_rank_id })
}

fn known_setting(key: &str) -> AppResult<&'static settings::Setting> {
    settings::find(key).ok_or_else(|| {
        AppError::Invalid(Invalid::new(
            "setting",
            format!(
                "{:?} is not a PrusaSlicer setting members may change (GET …/slicer/settings lists them)",
                key.chars().take(60).collect::<String>()
            ),
        ))
    })
}

/// Refuses a threshold the actor may not lock below, naming it.
fn require_may_lock_below(actor: &OrgActor, rank: RankId) -> AppResult<String> {
    let threshold = actor
        .policy
        .rank(rank)
        .ok_or_else(|| AppError::not_found("rank"))?;
    if !may_lock_below(actor.seniority(), threshold.seniority()) {
        return Err(AppError::conflict(
            ErrorCode::InsufficientSeniority,
            format!(
                "the rank {} is senior to yours: you may only lock settings below your own rank or a junior one",
                threshold.name
            ),
        ));
    }
    Ok(threshold.name.clone())
}

impl Slicing<'_> {
    /// The organization's setting locks, by setting.
    pub async fn list_locks(&self, actor: &OrgActor) -> AppResult<Vec<LockView>> {
        actor.require(Permission::SlicerLockSettings)?;
        let mut conn = self.app.store().read().await?;
        let locks = store::list_slicer_locks(&mut conn, actor.org()).await?;
        Ok(locks
            .into_iter()
            .filter_map(|lock| {
                let setting = settings::find(&lock.setting)?;
                let below_rank = actor
                    .policy
                    .rank(lock.below_rank_id)
                    .map_or_else(String::new, |r| r.name.clone());
                Some(LockView {
                    lock,
                    setting,
                    below_rank,
                })
            })
            .collect())
    }

    /// Locks `setting` at `value` for every rank below `below_rank`, replacing its lock if it
    /// has one (which the actor must have been allowed to keep too).
    pub async fn set_lock(
        &self,
        actor: &OrgActor,
        setting: &str,
        value: &Value,
        below_rank: RankId,
    ) -> AppResult<LockView> {
        actor.require(Permission::SlicerLockSettings)?;
        let spec = known_setting(setting)?;
        let value = spec.normalize(value).map_err(|why| {
            AppError::Invalid(Invalid::new("value", format!("{:?} {why}", spec.key)))
        })?;
        let mut uow = self.app.begin(actor, Changes::Data).await?;
        let actor = uow.actor().clone();
        actor.require(Permission::SlicerLockSettings)?;
        let org = actor.org();
        let rank_name = require_may_lock_below(&actor, below_rank)?;
        let before = store::get_slicer_lock(uow.conn(), org, spec.key).await?;
        if let Some(before) = &before {
            require_may_lock_below(&actor, before.below_rank_id)?;
        }
        let now = uow.now();
        store::put_slicer_lock(uow.conn(), org, spec.key, &value, below_rank, now).await?;
        let lock = store::get_slicer_lock(uow.conn(), org, spec.key)
            .await?
            .ok_or_else(|| AppError::not_found("setting lock"))?;
        let audit = Audit::of("slicer_lock.set", "slicer_lock", spec.key);
        uow.audit(
            match &before {
                Some(before) => audit.before(summary(before)),
                None => audit,
            }
            .after(summary(&lock)),
        );
        uow.commit().await?;
        Ok(LockView {
            lock,
            setting: spec,
            below_rank: rank_name,
        })
    }

    /// Removes the lock of `setting`.
    pub async fn remove_lock(&self, actor: &OrgActor, setting: &str) -> AppResult<()> {
        actor.require(Permission::SlicerLockSettings)?;
        // No setting of that name: no lock of it either.
        let spec = settings::find(setting).ok_or_else(|| AppError::not_found("setting lock"))?;
        let mut uow = self.app.begin(actor, Changes::Data).await?;
        let actor = uow.actor().clone();
        actor.require(Permission::SlicerLockSettings)?;
        let org = actor.org();
        let Some(before) = store::get_slicer_lock(uow.conn(), org, spec.key).await? else {
            return Err(AppError::not_found("setting lock"));
        };
        require_may_lock_below(&actor, before.below_rank_id)?;
        store::delete_slicer_lock(uow.conn(), org, spec.key).await?;
        uow.audit(
            Audit::of("slicer_lock.remove", "slicer_lock", spec.key).before(summary(&before)),
        );
        uow.commit().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(position: i32) -> Seniority {
        Seniority {
            position,
            is_owner: false,
        }
    }

    const OWNER: Seniority = Seniority {
        position: 10,
        is_owner: true,
    };

    #[test]
    fn a_lock_binds_only_ranks_strictly_below_its_rank() {
        assert!(binds(at(50), at(30)));
        assert!(!binds(at(30), at(30)));
        assert!(!binds(at(20), at(30)));
        assert!(!binds(OWNER, at(30)));
        assert!(binds(at(20), OWNER));
        assert!(!binds(OWNER, OWNER));
    }

    #[test]
    fn nobody_locks_settings_for_their_seniors() {
        assert!(may_lock_below(at(30), at(30)));
        assert!(may_lock_below(at(30), at(50)));
        assert!(!may_lock_below(at(30), at(20)));
        assert!(!may_lock_below(at(30), OWNER));
        assert!(may_lock_below(OWNER, OWNER));
        assert!(may_lock_below(OWNER, at(20)));
    }
}
