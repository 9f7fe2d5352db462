//! The audit log.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::each;
use super::ids::{AuditEventId, Timestamp, TokenId, UserId};

/// Who did it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    /// A person signed in with a session.
    User,
    /// A person acting through one of their API tokens.
    Token,
    /// The server itself or an administrator at the command line.
    System,
    /// Someone not signed in (for example a failed sign-in).
    Anonymous,
}

impl From<domain::audit::ActorKind> for ActorKind {
    fn from(kind: domain::audit::ActorKind) -> ActorKind {
        match kind {
            domain::audit::ActorKind::User => ActorKind::User,
            domain::audit::ActorKind::Token => ActorKind::Token,
            domain::audit::ActorKind::System => ActorKind::System,
            domain::audit::ActorKind::Anonymous => ActorKind::Anonymous,
        }
    }
}

/// One audit event as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEvent {
    pub id: AuditEventId,
    pub seq: i64,
    pub occurred_at: Timestamp,
    pub actor_kind: ActorKind,
    pub actor_user_id: Option<UserId>,
    pub actor_token_id: Option<TokenId>,
    pub actor_label: String,
    pub action: String,
    pub target_type: String,
    pub target_id: Option<String>,
    /// A summary of the target before the change, as stored (kept as raw JSON text).
    #[schema(value_type = Option<Object>)]
    pub before: Option<Box<serde_json::value::RawValue>>,
    /// A summary of the target after the change.
    #[schema(value_type = Option<Object>)]
    pub after: Option<Box<serde_json::value::RawValue>>,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    pub hash: String,
}

impl From<domain::AuditEvent> for AuditEvent {
    fn from(audit_event: domain::AuditEvent) -> AuditEvent {
        let domain::AuditEvent {
            id,
            seq,
            occurred_at,
            actor_kind,
            actor_user_id,
            actor_token_id,
            actor_label,
            action,
            target_type,
            target_id,
            before,
            after,
            client_ip,
            user_agent,
            request_id,
            hash,
        } = audit_event;
        AuditEvent {
            id: id.into(),
            seq,
            occurred_at: occurred_at.into(),
            actor_kind: actor_kind.into(),
            actor_user_id: actor_user_id.map(Into::into),
            actor_token_id: actor_token_id.map(Into::into),
            actor_label,
            action,
            target_type,
            target_id,
            before,
            after,
            client_ip,
            user_agent,
            request_id,
            hash,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPageBody {
    /// Newest first.
    pub events: Vec<AuditEvent>,
    /// Pass as `cursor` to get the next (older) page; absent on the last page.
    pub next_cursor: Option<i64>,
}

impl From<app::AuditPage> for AuditPageBody {
    fn from(page: app::AuditPage) -> AuditPageBody {
        let app::AuditPage {
            events,
            next_cursor,
        } = page;
        AuditPageBody {
            events: each(events),
            next_cursor,
        }
    }
}

/// Filters and paging for the audit log, as given in the query string.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only events by this user.
    pub actor_user_id: Option<UserId>,
    /// Only this action, e.g. `member.deactivate`.
    pub action: Option<String>,
    /// Only events about this kind of target, e.g. `site`.
    pub target_type: Option<String>,
    /// Only events about this target (with `target_type`).
    pub target_id: Option<String>,
    /// Events at or after this time (RFC 3339); not after `to`.
    pub from: Option<Timestamp>,
    /// Events before this time (RFC 3339).
    pub to: Option<Timestamp>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<i64>,
    /// Page size, 1 to 500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
}

impl From<AuditQuery> for app::AuditQuery {
    fn from(audit_query: AuditQuery) -> app::AuditQuery {
        let AuditQuery {
            actor_user_id,
            action,
            target_type,
            target_id,
            from,
            to,
            cursor,
            limit,
        } = audit_query;
        app::AuditQuery {
            actor_user_id: actor_user_id.map(Into::into),
            action,
            target_type,
            target_id,
            from: from.map(Into::into),
            to: to.map(Into::into),
            cursor,
            limit,
        }
    }
}
