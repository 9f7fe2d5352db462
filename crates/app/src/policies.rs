//! Compiled authorization policies, cached per organization and reloaded when the
//! organization's authorization version moves (every change of ranks, members, overrides,
//! workgroups, printers or grants bumps it inside its transaction, so every instance sharing
//! the database notices on its next request).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use authz::Policy;
use domain::OrgId;

use crate::App;
use crate::error::{AppError, AppResult};

#[derive(Default)]
pub(crate) struct PolicyCache {
    policies: Mutex<HashMap<OrgId, (i64, Arc<Policy>)>>,
}

impl App {
    /// The organization's policy at `version` (or newer), from the cache or freshly compiled.
    pub(crate) async fn policy(&self, org: OrgId, version: i64) -> AppResult<Arc<Policy>> {
        if let Some((cached, policy)) = self
            .inner
            .policies
            .policies
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&org)
            && *cached >= version
        {
            return Ok(policy.clone());
        }
        let (loaded, facts) = {
            let mut conn = self.store().read().await?;
            store::load_authz_facts(&mut conn, org)
                .await?
                .ok_or(AppError::not_found("organization"))?
        };
        let policy = Arc::new(Policy::new(facts));
        let mut cache = self
            .inner
            .policies
            .policies
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        match cache.get(&org) {
            Some((cached, newer)) if *cached > loaded => Ok(newer.clone()),
            _ => {
                cache.insert(org, (loaded, policy.clone()));
                Ok(policy)
            }
        }
    }

    /// The current policy of an organization (reads its version first).
    pub(crate) async fn current_policy(&self, org: OrgId) -> AppResult<Arc<Policy>> {
        let version = {
            let mut conn = self.store().read().await?;
            store::authz_version(&mut conn, org)
                .await?
                .ok_or(AppError::not_found("organization"))?
        };
        self.policy(org, version).await
    }
}
