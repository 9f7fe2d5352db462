//! The administration pages: members, invitations and workgroups, ranks and their permission
//! matrix, the fleet (printers, models, groups, sites, access grants) and the organization's
//! settings. Plain forms over the same use cases as the API; every change goes through the
//! app (which checks seniority, audits it and refuses what nobody may do to themselves).

mod fleet;
mod members;
mod motion;
mod ranks;
mod settings;
mod slicer;

use askama::Template;
use authz::Permission as P;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::error::{UiError, render};
use super::session::{InOrg, Viewer, checked_form};
use super::views::Layout;
use crate::routes::{PlainRoutes, Requires};

type Page = Result<Response, UiError>;

/// Permissions that make someone an administrator of something: holding any of them shows
/// the "Manage" entry in the navigation.
pub(crate) const ADMIN_PERMISSIONS: &[P] = &[
    P::OrganizationManage,
    P::SitesManage,
    P::MembersInvite,
    P::MembersManage,
    P::MembersOverride,
    P::WorkgroupsManage,
    P::RanksView,
    P::RanksManage,
    P::PrintersAdd,
    P::PrintersSettings,
    P::PrintersRemove,
    P::PrinterModelsAdd,
    P::PrinterModelsEdit,
    P::PrinterModelsRemove,
    P::PrinterGroupsAdd,
    P::PrinterGroupsEdit,
    P::PrinterGroupsRemove,
    P::PrinterAccessManage,
    P::QuotasManage,
    P::QuotasViewAll,
    P::BillingManagePrices,
    P::ApprovalConfigure,
    P::SubmissionsManageQuestions,
    P::PrintersEdit,
    P::SlicerManageProfiles,
    P::SlicerLockSettings,
];

/// Whether the member administers anything (the navigation's "Manage" entry).
pub(crate) fn administers_anything(actor: &app::OrgActor) -> bool {
    ADMIN_PERMISSIONS.iter().any(|p| actor.holds(*p))
}

/// The administration pages' routes, each declared with what it requires.
pub(crate) fn routes(routes: PlainRoutes) -> PlainRoutes {
    let routes = routes.get(
        Requires::Permission(P::OrganizationView),
        "/orgs/{org_id}/manage",
        hub,
    );
    let routes = members::routes(routes);
    let routes = ranks::routes(routes);
    let routes = fleet::routes(routes);
    let routes = settings::routes(routes);
    slicer::routes(routes)
}

/// One entry of the hub.
struct HubLink {
    href: String,
    title: &'static str,
    what: &'static str,
}

#[derive(Template)]
#[template(path = "admin/hub.html")]
struct HubPage {
    layout: Layout,
    links: Vec<HubLink>,
}

/// The administration pages the member may open, each with what it is for.
async fn hub(member: InOrg) -> Page {
    let org = member.actor.org();
    let holds = |p: P| member.actor.holds(p);
    let any = |ps: &[P]| ps.iter().any(|p| holds(*p));
    let entries: [(bool, &str, &'static str, &'static str); 11] = [
        (
            holds(P::MembersView),
            "members",
            "Members and invitations",
            "Invite people, change ranks, deactivate, and allow or deny single permissions.",
        ),
        (
            holds(P::WorkgroupsView),
            "workgroups",
            "Workgroups",
            "Groups of members with their moderators.",
        ),
        (
            holds(P::RanksView),
            "ranks",
            "Ranks and permissions",
            "The permission matrix, printer scopes, seniority, presets.",
        ),
        (
            holds(P::PrintersView),
            "printers",
            "Printers",
            "Add, edit and remove printers.",
        ),
        (
            holds(P::PrintersView),
            "printer-models",
            "Printer models and groups",
            "Models with their build volume, and groups of printers.",
        ),
        (
            holds(P::SitesView),
            "sites",
            "Sites",
            "Where the printers are, their time zones and staffed hours.",
        ),
        (
            holds(P::RanksView),
            "printer-access",
            "Printer access",
            "Who may view, queue on, print on or manage which printers.",
        ),
        (
            any(&[P::QuotasViewAll, P::QuotasManage]),
            "quotas",
            "Quotas and prices",
            "Allowances of prints, hours, material and money; prices per model and material.",
        ),
        (
            holds(P::OrganizationView),
            "settings",
            "Organization settings",
            "Name, time zone, currency, approval, G-code upload, plate clearing, billing, questions.",
        ),
        (
            holds(P::SlicerManageProfiles),
            "slicer-profiles",
            "Slicing profiles",
            "PrusaSlicer settings per printer model and material, some locked.",
        ),
        (
            holds(P::SlicerLockSettings),
            "slicer-locks",
            "Slicer setting locks",
            "Settings held at a value for the ranks below a chosen one.",
        ),
    ];
    let links = entries
        .into_iter()
        .filter(|(may, ..)| *may)
        .map(|(_, path, title, what)| HubLink {
            href: format!("/orgs/{org}/manage/{path}"),
            title,
            what,
        })
        .collect();
    let page = HubPage {
        layout: Layout::in_org(&member, "Manage", "manage"),
        links,
    };
    Ok(render(StatusCode::OK, &page))
}

/// `?done=…` on a page a form came back to: which change to confirm.
#[derive(Deserialize, Default)]
pub(crate) struct Done {
    #[serde(default)]
    done: String,
}

/// Back to `path` (under the organization's manage pages) with `done` saying what changed.
fn back_to(member: &InOrg, path: &str, done: &str) -> Response {
    let org = member.actor.org();
    Redirect::to(&format!("/orgs/{org}/manage/{path}?done={done}")).into_response()
}

/// A path segment as an id; anything else does not exist.
fn id_of(segment: &str) -> Result<i64, UiError> {
    segment.parse::<i64>().map_err(|_| UiError::NotFound)
}

/// An app refusal shown inside the member's page frame.
fn framed(member: &InOrg) -> impl Fn(app::AppError) -> UiError + '_ {
    move |error| UiError::from(error).framed(member)
}

/// A form as its fields in order (repeated names kept), read once its CSRF token checked.
async fn checked_fields(
    viewer: &Viewer,
    request: Request,
) -> Result<Vec<(String, String)>, UiError> {
    checked_form::<Vec<(String, String)>>(viewer, request).await
}

/// The form's text, trimmed; `None` when left empty.
fn given(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

/// An optional whole number from a form field, with the field's name in the refusal.
fn optional_number<T: std::str::FromStr>(label: &str, text: &str) -> Result<Option<T>, UiError> {
    match text.trim() {
        "" => Ok(None),
        text => text
            .parse::<T>()
            .map(Some)
            .map_err(|_| UiError::BadForm(format!("{label} must be a whole number"))),
    }
}
