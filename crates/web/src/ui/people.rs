//! The organization's members and its audit log.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::error::{UiError, render};
use super::session::InOrg;
use super::views::{self, Layout};
use crate::WebState;

type Page = Result<Response, UiError>;

#[derive(Template)]
#[template(path = "members.html")]
struct MembersPage {
    layout: Layout,
    members: Vec<MemberLine>,
}

struct MemberLine {
    /// Their account page, for those who keep the books; else empty.
    account: String,
    name: String,
    email: String,
    rank: String,
    active: bool,
    since: String,
}

/// Everyone in the organization: name, email, rank, whether active.
pub(crate) async fn members(State(state): State<WebState>, member: InOrg) -> Page {
    let mut members = state.app.people().list_members(&member.actor).await?;
    members.sort_by(|a, b| {
        (!a.active, a.name.to_lowercase()).cmp(&(!b.active, b.name.to_lowercase()))
    });
    let books = member.actor.holds(authz::Permission::BillingViewAll)
        && member.actor.holds(authz::Permission::QuotasViewAll);
    let org = member.actor.org();
    let page = MembersPage {
        layout: Layout::in_org(&member, "Members", "members"),
        members: members
            .into_iter()
            .map(|m| MemberLine {
                account: if books {
                    format!("/orgs/{org}/members/{}/account", m.id)
                } else {
                    String::new()
                },
                since: views::when(m.deactivated_at.unwrap_or(m.created_at)),
                name: m.name,
                email: m.email,
                rank: m.rank_name,
                active: m.active,
            })
            .collect(),
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    layout: Layout,
    org_id: i64,
    action: String,
    target_type: String,
    events: Vec<EventLine>,
    next: String,
    may_export: bool,
}

struct EventLine {
    at: String,
    who: String,
    action: String,
    target: String,
    from: String,
}

#[derive(Deserialize)]
pub(crate) struct AuditFilters {
    #[serde(default)]
    action: String,
    #[serde(default)]
    target_type: String,
    cursor: Option<String>,
}

fn given(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

/// The organization's audit log, newest first, filtered by action and kind of target, a page
/// at a time; with the CSV export for those who may export it.
pub(crate) async fn audit(
    State(state): State<WebState>,
    member: InOrg,
    Query(filters): Query<AuditFilters>,
) -> Page {
    let cursor =
        match filters.cursor.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => Some(text.parse::<i64>().map_err(|_| {
                UiError::BadForm("the page cursor is not one this page made".into())
            })?),
        };
    let query = app::AuditQuery {
        action: given(&filters.action),
        target_type: given(&filters.target_type),
        cursor,
        limit: Some(100),
        ..Default::default()
    };
    let page = match state
        .app
        .audit_log()
        .list_audit(&member.actor, &query)
        .await
    {
        Ok(page) => page,
        Err(error) => return Err(UiError::from(error).framed(&member)),
    };
    let next = match page.next_cursor {
        Some(cursor) => serde_urlencoded::to_string([
            ("action", filters.action.as_str()),
            ("target_type", filters.target_type.as_str()),
            ("cursor", cursor.to_string().as_str()),
        ])
        .unwrap_or_default(),
        None => String::new(),
    };
    let page = AuditPage {
        layout: Layout::in_org(&member, "Audit log", "audit"),
        org_id: member.actor.org().get(),
        may_export: member.actor.holds(authz::Permission::AuditExport),
        action: filters.action,
        target_type: filters.target_type,
        events: page
            .events
            .into_iter()
            .map(|e| EventLine {
                at: views::when(e.occurred_at),
                who: e.actor_label,
                target: match e.target_id {
                    Some(id) => format!("{} {id}", e.target_type),
                    None => e.target_type,
                },
                action: e.action,
                from: e.client_ip.unwrap_or_default(),
            })
            .collect(),
        next,
    };
    Ok(render(StatusCode::OK, &page))
}
