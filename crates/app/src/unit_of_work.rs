//! One unit of work per user action: a write transaction that owns the ritual every change
//! goes through. It re-reads the organization's authorization version inside the transaction
//! and, when rights moved since the request was authorized, authorizes the actor again from the
//! facts as they are now (a demotion that commits meanwhile is seen); the use case then checks
//! its rules against [`UnitOfWork::actor`], changes what it changes through
//! [`UnitOfWork::conn`], states what it audits ([`UnitOfWork::audit`]) and whether it changed
//! rights ([`UnitOfWork::rights_changed`]); [`UnitOfWork::commit`] bumps the version when
//! rights changed, appends the audit events and commits, all or nothing. Dropped without
//! commit, nothing of it happened.

use domain::Timestamp;
use domain::audit::NewAuditEvent;
use serde_json::Value;
use store::RightsLock;

use crate::App;
use crate::actor::OrgActor;
use crate::error::{AppError, AppResult};

/// Whether a use case changes data or rights (ranks, memberships, overrides, grants, printers
/// and anything else authorization decisions are made from).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Changes {
    Data,
    Rights,
}

/// What an actor's change records in the audit log: action, target, and the state before and
/// after as short summaries.
#[derive(Debug, Clone)]
pub(crate) struct Audit {
    action: &'static str,
    target_type: &'static str,
    target_id: String,
    before: Option<Value>,
    after: Option<Value>,
}

impl Audit {
    pub fn of(action: &'static str, target_type: &'static str, target_id: impl ToString) -> Audit {
        Audit {
            action,
            target_type,
            target_id: target_id.to_string(),
            before: None,
            after: None,
        }
    }

    /// The state before the change (a summary, or `None` for nothing).
    pub fn before(mut self, summary: impl Into<Option<Value>>) -> Audit {
        self.before = summary.into();
        self
    }

    /// The state after the change (a summary, or `None` for nothing).
    pub fn after(mut self, summary: impl Into<Option<Value>>) -> Audit {
        self.after = summary.into();
        self
    }
}

/// A write transaction and who it is attributed to: an organization's actor ([`OrgActor`]), or
/// nobody in particular (`()`: the console, supervisors, anonymous visitors), whose audit events
/// come whole.
pub(crate) struct UnitOfWork<A = OrgActor> {
    tx: store::WriteTx,
    actor: A,
    /// The organization whose rights change, if they do.
    org: Option<domain::OrgId>,
    now: Timestamp,
    rights_changed: bool,
    events: Vec<NewAuditEvent>,
}

impl App {
    /// Starts the unit of work of `actor`'s action in their organization; see the module docs.
    pub(crate) async fn begin(
        &self,
        actor: &OrgActor,
        changes: Changes,
    ) -> AppResult<UnitOfWork<OrgActor>> {
        let lock = match changes {
            Changes::Data => RightsLock::Use,
            Changes::Rights => RightsLock::Change,
        };
        let mut tx = self.store().write().await?;
        let version = store::lock_rights(&mut tx, actor.org(), lock)
            .await?
            .ok_or(AppError::not_found("organization"))?;
        let actor = if version == actor.version {
            actor.clone()
        } else {
            self.reauthorize(&mut tx, actor).await?
        };
        Ok(UnitOfWork {
            tx,
            org: Some(actor.org()),
            actor,
            now: self.now(),
            rights_changed: false,
            events: Vec::new(),
        })
    }

    /// Starts a unit of work nobody in an organization is acting in: the console, the fleet's
    /// supervisors, anonymous visitors (signing in, accepting an invitation). Its audit events
    /// come whole ([`UnitOfWork::audit_event`]).
    pub(crate) async fn begin_unattributed(&self) -> AppResult<UnitOfWork<()>> {
        Ok(UnitOfWork {
            tx: self.store().write().await?,
            actor: (),
            org: None,
            now: self.now(),
            rights_changed: false,
            events: Vec::new(),
        })
    }
}

impl UnitOfWork<OrgActor> {
    /// The actor as authorized inside this transaction.
    pub fn actor(&self) -> &OrgActor {
        &self.actor
    }

    /// Checks an administrative rule against the actor as authorized inside this transaction,
    /// turning its refusal into the API's error.
    pub fn authorize(
        &self,
        rule: impl FnOnce(&OrgActor) -> Result<(), authz::Refusal>,
    ) -> AppResult<()> {
        rule(&self.actor).map_err(|refusal| self.actor.refused(refusal))
    }

    /// Records the actor's audit event, appended on commit.
    pub fn audit(&mut self, audit: Audit) {
        let mut event =
            self.actor
                .event(self.now, audit.action, audit.target_type, audit.target_id);
        event.before = audit.before;
        event.after = audit.after;
        self.events.push(event);
    }

    /// Marks that this action changed rights in the actor's organization: its authorization
    /// version moves on commit, so every compiled policy (here and on other instances) is
    /// rebuilt.
    pub fn rights_changed(&mut self) {
        self.rights_changed = true;
    }
}

impl UnitOfWork<()> {
    /// Holds `org`'s authorization version until this unit commits (see `store::lock_rights`),
    /// for units that decide with that organization's rights without an actor there.
    pub async fn lock_rights(&mut self, org: domain::OrgId, lock: RightsLock) -> AppResult<i64> {
        store::lock_rights(&mut self.tx, org, lock)
            .await?
            .ok_or(AppError::not_found("organization"))
    }

    /// Marks rights changed in `org`.
    pub fn rights_changed_in(&mut self, org: domain::OrgId) {
        self.org = Some(org);
        self.rights_changed = true;
    }
}

impl<A> UnitOfWork<A> {
    /// The transaction's connection, for the store's functions.
    pub fn conn(&mut self) -> &mut store::Conn {
        &mut self.tx
    }

    /// Locks `member`'s account until this unit ends (see `store::lock_member_account`).
    pub async fn lock_member_account(
        &mut self,
        org: domain::OrgId,
        member: domain::MemberId,
    ) -> AppResult<()> {
        if !store::lock_member_account(&mut self.tx, org, member).await? {
            return Err(AppError::not_found("member"));
        }
        Ok(())
    }

    /// The transaction itself, for queries that depend on the database's dialect.
    pub(crate) fn tx(&mut self) -> &mut store::WriteTx {
        &mut self.tx
    }

    /// The time of the action (every record of it carries the same).
    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// Records an audit event attributed by the caller, appended on commit.
    pub fn audit_event(&mut self, event: NewAuditEvent) {
        self.events.push(event);
    }

    pub async fn commit(mut self) -> AppResult<()> {
        if self.rights_changed
            && let Some(org) = self.org
        {
            store::bump_authz_version(&mut self.tx, org).await?;
        }
        for event in std::mem::take(&mut self.events) {
            store::append_audit(&mut self.tx, event).await?;
        }
        self.tx.commit().await?;
        Ok(())
    }
}

/// Turns a store lookup into the use case's answer: found, or "not found" naming what.
pub(crate) trait Found<T> {
    fn found(self, what: &'static str) -> AppResult<T>;
}

impl<T> Found<T> for Result<Option<T>, store::StoreError> {
    fn found(self, what: &'static str) -> AppResult<T> {
        self?.ok_or(AppError::not_found(what))
    }
}
