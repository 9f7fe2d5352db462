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

/// A compiled policy and the authorization version of the facts it was compiled from.
#[derive(Debug, Clone)]
pub(crate) struct Versioned {
    pub version: i64,
    pub policy: Arc<Policy>,
}

#[derive(Default)]
pub(crate) struct PolicyCache {
    policies: Mutex<HashMap<OrgId, Versioned>>,
}

impl PolicyCache {
    fn get(&self, org: OrgId, at_least: i64) -> Option<Versioned> {
        self.lock()
            .get(&org)
            .filter(|v| v.version >= at_least)
            .cloned()
    }

    /// Keeps `fresh` unless a newer policy was cached meanwhile; returns the newest.
    fn put(&self, org: OrgId, fresh: Versioned) -> Versioned {
        let mut cache = self.lock();
        match cache.get(&org) {
            Some(newer) if newer.version > fresh.version => newer.clone(),
            _ => {
                cache.insert(org, fresh.clone());
                fresh
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<OrgId, Versioned>> {
        // Entries are replaced whole, so a poisoned lock still holds consistent data.
        self.policies.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl App {
    /// The organization's policy at `version` (or newer), from the cache or freshly compiled.
    pub(crate) async fn policy(&self, org: OrgId, version: i64) -> AppResult<Versioned> {
        if let Some(cached) = self.inner.policies.get(org, version) {
            return Ok(cached);
        }
        let mut conn = self.store().read().await?;
        self.compile_policy(&mut conn, org).await
    }

    /// Compiles the organization's policy from the facts `conn` sees (inside a transaction:
    /// the facts as that transaction sees them) and caches it.
    pub(crate) async fn compile_policy(
        &self,
        conn: &mut store::Conn,
        org: OrgId,
    ) -> AppResult<Versioned> {
        let (version, facts) = store::load_authz_facts(conn, org)
            .await?
            .ok_or(AppError::not_found("organization"))?;
        let fresh = Versioned {
            version,
            policy: Arc::new(Policy::new(facts)),
        };
        Ok(self.inner.policies.put(org, fresh))
    }

    /// The current policy of an organization (reads its version first).
    pub(crate) async fn current_policy(&self, org: OrgId) -> AppResult<Arc<Policy>> {
        let version = {
            let mut conn = self.store().read().await?;
            store::authz_version(&mut conn, org)
                .await?
                .ok_or(AppError::not_found("organization"))?
        };
        Ok(self.policy(org, version).await?.policy)
    }
}
