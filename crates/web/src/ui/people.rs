//! The organization's members and its audit log.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use domain::quotas::Calendar;
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
    actors: Vec<ActorChoice>,
    action: String,
    target_type: String,
    target_id: String,
    from: String,
    to: String,
    time_zone: String,
    problem: String,
    events: Vec<EventLine>,
    next: String,
    /// The CSV export of what the filters select, for those who may export; else empty.
    export: String,
}

struct ActorChoice {
    user_id: i64,
    name: String,
    selected: bool,
}

struct EventLine {
    at: String,
    who: String,
    action: String,
    target: String,
    from: String,
}

#[derive(Deserialize, Default)]
pub(crate) struct AuditFilters {
    /// The user whose changes to show (a member's user).
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    target_type: String,
    #[serde(default)]
    target_id: String,
    /// First day, `YYYY-MM-DD` in the organization's time zone.
    #[serde(default)]
    from: String,
    /// Last day, included.
    #[serde(default)]
    to: String,
    cursor: Option<String>,
}

fn given(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

/// The filters as the audit log's query, days read in the organization's calendar; or what
/// is wrong with them, in words.
fn audit_query(
    filters: &AuditFilters,
    calendar: &Calendar,
    cursor: Option<i64>,
) -> Result<app::AuditQuery, String> {
    let actor_user_id = match given(&filters.actor) {
        None => None,
        Some(text) => {
            Some(domain::UserId(text.parse::<i64>().map_err(|_| {
                "Choose whose changes to show from the list.".to_string()
            })?))
        }
    };
    let day = |text: &str, which: &str| -> Result<Option<domain::Timestamp>, String> {
        match given(text) {
            None => Ok(None),
            Some(day) => calendar
                .day_start(&day)
                .map(Some)
                .map_err(|_| format!("The {which} day “{day}” is not a date (YYYY-MM-DD).")),
        }
    };
    let from = day(&filters.from, "first")?;
    let to = match day(&filters.to, "last")? {
        // The last day is included: up to the start of the next.
        Some(start) => Some(
            calendar
                .window(domain::quotas::QuotaPeriod::Day, start, None)
                .map_err(|e| e.to_string())?
                .end,
        ),
        None => None,
    };
    if let (Some(from), Some(to)) = (from, to)
        && from >= to
    {
        return Err("The first day is after the last.".into());
    }
    Ok(app::AuditQuery {
        actor_user_id,
        action: given(&filters.action),
        target_type: given(&filters.target_type),
        target_id: given(&filters.target_id),
        from,
        to,
        cursor,
        limit: Some(100),
    })
}

/// A query string's pairs.
type QueryPairs = Vec<(&'static str, String)>;

/// The query string of the filters (without the page cursor), for the next page and the
/// export: the export's times in RFC 3339, as the API reads them.
fn audit_links(filters: &AuditFilters, query: &app::AuditQuery) -> (QueryPairs, QueryPairs) {
    let page = vec![
        ("actor", filters.actor.trim().to_string()),
        ("action", filters.action.trim().to_string()),
        ("target_type", filters.target_type.trim().to_string()),
        ("target_id", filters.target_id.trim().to_string()),
        ("from", filters.from.trim().to_string()),
        ("to", filters.to.trim().to_string()),
    ];
    let mut export = Vec::new();
    if let Some(user) = query.actor_user_id {
        export.push(("actor_user_id", user.get().to_string()));
    }
    for (key, value) in [
        ("action", &query.action),
        ("target_type", &query.target_type),
        ("target_id", &query.target_id),
    ] {
        if let Some(value) = value {
            export.push((key, value.clone()));
        }
    }
    if let Some(from) = query.from {
        export.push(("from", from.to_rfc3339()));
    }
    if let Some(to) = query.to {
        export.push(("to", to.to_rfc3339()));
    }
    (page, export)
}

/// The organization's audit log, newest first, filtered by who, action, target and days, a
/// page at a time; with the CSV export of the same selection for those who may export it.
pub(crate) async fn audit(
    State(state): State<WebState>,
    member: InOrg,
    Query(filters): Query<AuditFilters>,
) -> Page {
    let framed = |e: app::AppError| UiError::from(e).framed(&member);
    let org = state
        .app
        .people()
        .get_org(&member.actor)
        .await
        .map_err(framed)?;
    let calendar = Calendar::or_utc(&org.time_zone);
    let actor_user = given(&filters.actor);
    let actors = if member.actor.holds(authz::Permission::MembersView) {
        let mut members = state
            .app
            .people()
            .list_members(&member.actor)
            .await
            .map_err(framed)?;
        members.sort_by_key(|m| m.name.to_lowercase());
        members
            .into_iter()
            .map(|m| ActorChoice {
                selected: actor_user.as_deref() == Some(m.user_id.get().to_string().as_str()),
                user_id: m.user_id.get(),
                name: m.name,
            })
            .collect()
    } else {
        Vec::new()
    };
    let mut page = AuditPage {
        layout: Layout::in_org(&member, "Audit log", "audit"),
        org_id: member.actor.org().get(),
        actors,
        action: filters.action.clone(),
        target_type: filters.target_type.clone(),
        target_id: filters.target_id.clone(),
        from: filters.from.clone(),
        to: filters.to.clone(),
        time_zone: calendar.zone_name().to_string(),
        problem: String::new(),
        events: Vec::new(),
        next: String::new(),
        export: String::new(),
    };
    // The cursor is one this page made: another is a bad request, not a filter to correct.
    let cursor =
        match filters.cursor.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => Some(text.parse::<i64>().map_err(|_| {
                UiError::BadForm("the page cursor is not one this page made".into())
            })?),
        };
    let query = match audit_query(&filters, &calendar, cursor) {
        Ok(query) => query,
        Err(problem) => {
            page.problem = problem;
            return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page));
        }
    };
    let found = match state
        .app
        .audit_log()
        .list_audit(&member.actor, &query)
        .await
    {
        Ok(found) => found,
        Err(app::AppError::Invalid(invalid)) => {
            page.problem = format!("The {} {}.", invalid.field, invalid.message);
            return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page));
        }
        Err(error) => return Err(framed(error)),
    };
    let (page_filters, export) = audit_links(&filters, &query);
    if let Some(cursor) = found.next_cursor {
        let mut next = page_filters;
        next.push(("cursor", cursor.to_string()));
        page.next = serde_urlencoded::to_string(next).unwrap_or_default();
    }
    if member.actor.holds(authz::Permission::AuditExport) {
        page.export = format!(
            "/api/v1/orgs/{}/audit-events/export.csv?{}",
            member.actor.org(),
            serde_urlencoded::to_string(export).unwrap_or_default()
        );
    }
    page.events = found
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
        .collect();
    Ok(render(StatusCode::OK, &page))
}
