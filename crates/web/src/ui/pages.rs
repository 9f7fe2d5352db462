//! Signing in and out, the password, the organization chooser and the dashboard with its
//! printer actions.

use std::collections::BTreeMap;

use app::AppError;
use askama::Template;
use authz::Permission as P;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use domain::{JobState, PrinterId, PrinterState};
use serde::Deserialize;

use super::error::{UiError, render};
use super::session::{
    InOrg, SIGN_IN_CSRF_COOKIE, Viewer, checked_form, cookie, random_token, same_token,
};
use super::views::{self, Layout};
use crate::WebState;
use crate::api::auth::session_cookie;
use crate::extract::Meta;

type Page = Result<Response, UiError>;

/// Only a path of this server is a place to go back to after signing in.
fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(next)
            if next.starts_with('/')
                && !next.starts_with("//")
                && !next.contains('\\')
                && !next.starts_with("/sign-in") =>
        {
            next
        }
        _ => "/",
    }
}

/// `/`: the dashboard of the person's first organization when signed in, the sign-in page
/// otherwise.
pub(crate) async fn home(State(state): State<WebState>, mut parts: Parts) -> Page {
    let viewer = match Viewer::from_request_parts(&mut parts, &state).await {
        Ok(viewer) => viewer,
        Err(UiError::SignIn { .. }) => return Ok(Redirect::to("/sign-in").into_response()),
        Err(other) => return Err(other),
    };
    if viewer.principal.user.must_change_password {
        return Ok(Redirect::to("/password").into_response());
    }
    let me = state.app.identity().me(&viewer.principal).await?;
    Ok(match me.memberships.first() {
        Some(first) => Redirect::to(&format!("/orgs/{}", first.org_id)).into_response(),
        None => Redirect::to("/orgs").into_response(),
    })
}

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage {
    layout: Layout,
    csrf: String,
    next: String,
    email: String,
    problem: String,
}

#[derive(Deserialize)]
pub(crate) struct NextQuery {
    next: Option<String>,
}

fn sign_in_form(csrf: String, next: &str, email: String, problem: String) -> SignInPage {
    SignInPage {
        layout: Layout::public("Sign in"),
        csrf,
        next: next.to_string(),
        email,
        problem,
    }
}

/// The cookie that carries the sign-in form's token until there is a session.
fn sign_in_csrf_cookie(secure: bool, value: &str, max_age: u32) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SIGN_IN_CSRF_COOKIE}={value}; Path=/sign-in; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("farmhand_sign_in_csrf=; Max-Age=0"))
}

pub(crate) async fn sign_in_page(
    State(state): State<WebState>,
    Query(query): Query<NextQuery>,
    mut parts: Parts,
) -> Page {
    let next = safe_next(query.next.as_deref()).to_string();
    if Viewer::from_request_parts(&mut parts, &state).await.is_ok() {
        return Ok(Redirect::to(&next).into_response());
    }
    let token = cookie(&parts.headers, SIGN_IN_CSRF_COOKIE)
        .filter(|t| t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()))
        .unwrap_or_else(random_token);
    let mut response = render(
        StatusCode::OK,
        &sign_in_form(token.clone(), &next, String::new(), String::new()),
    );
    response.headers_mut().insert(
        header::SET_COOKIE,
        sign_in_csrf_cookie(state.secure_cookies, &token, 3600),
    );
    Ok(response)
}

#[derive(Deserialize)]
pub(crate) struct SignInForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

pub(crate) async fn sign_in(
    State(state): State<WebState>,
    Meta(meta): Meta,
    request: Request,
) -> Page {
    let expected = cookie(request.headers(), SIGN_IN_CSRF_COOKIE).unwrap_or_default();
    let bytes = axum::body::Bytes::from_request(request, &())
        .await
        .map_err(|_| UiError::BadForm("the form could not be read".into()))?;
    let form: SignInForm =
        serde_urlencoded::from_bytes(&bytes).map_err(|e| UiError::BadForm(e.to_string()))?;
    if !same_token(&expected, &form.csrf) {
        return Err(UiError::Csrf);
    }
    let next = safe_next(form.next.as_deref()).to_string();
    let input = app::SignIn {
        email: form.email.clone(),
        password: form.password,
    };
    match state.app.identity().sign_in(input, &meta).await {
        Ok(signed_in) => {
            let max_age = signed_in
                .expires_at
                .micros()
                .saturating_sub(state.app.now().micros())
                / 1_000_000;
            let to = if signed_in.user.must_change_password {
                "/password"
            } else {
                next.as_str()
            };
            let mut response = Redirect::to(to).into_response();
            let headers = response.headers_mut();
            headers.append(
                header::SET_COOKIE,
                session_cookie(state.secure_cookies, &signed_in.session_secret, max_age),
            );
            headers.append(
                header::SET_COOKIE,
                sign_in_csrf_cookie(state.secure_cookies, "", 0),
            );
            Ok(response)
        }
        Err(error @ (AppError::InvalidCredentials | AppError::Throttled { .. })) => {
            let status = crate::error::status(error.code());
            let problem = match error {
                AppError::InvalidCredentials => "Wrong email or password.".to_string(),
                other => format!("{}.", capitalized(&other.to_string())),
            };
            Ok(render(
                status,
                &sign_in_form(expected, &next, form.email, problem),
            ))
        }
        Err(other) => Err(other.into()),
    }
}

pub(crate) fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[derive(Deserialize)]
pub(crate) struct NoFields {}

pub(crate) async fn sign_out(
    State(state): State<WebState>,
    viewer: Viewer,
    request: Request,
) -> Page {
    let NoFields {} = checked_form(&viewer, request).await?;
    state
        .app
        .identity()
        .sign_out(&viewer.principal, &viewer.meta)
        .await?;
    let mut response = Redirect::to("/sign-in").into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        session_cookie(state.secure_cookies, "", 0),
    );
    Ok(response)
}

#[derive(Template)]
#[template(path = "password.html")]
struct PasswordPage {
    layout: Layout,
    forced: bool,
    problem: String,
}

pub(crate) async fn password_page(viewer: Viewer) -> Page {
    let page = PasswordPage {
        forced: viewer.principal.user.must_change_password,
        layout: Layout::signed_in(&viewer, "Change your password", 0),
        problem: String::new(),
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Deserialize)]
pub(crate) struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    repeat_password: String,
}

pub(crate) async fn change_password(
    State(state): State<WebState>,
    viewer: Viewer,
    request: Request,
) -> Page {
    let form: PasswordForm = checked_form(&viewer, request).await?;
    let problem = if form.new_password != form.repeat_password {
        "The two new passwords differ; type the same one twice.".to_string()
    } else {
        let input = app::ChangePassword {
            current_password: form.current_password,
            new_password: form.new_password,
        };
        match state
            .app
            .identity()
            .change_password(&viewer.principal, input, &viewer.meta)
            .await
        {
            Ok(()) => return Ok(Redirect::to("/").into_response()),
            Err(AppError::WrongCurrentPassword) => "The current password is wrong.".to_string(),
            Err(AppError::Invalid(invalid)) => format!("The new password {}.", invalid.message),
            Err(other) => return Err(other.into()),
        }
    };
    let page = PasswordPage {
        forced: viewer.principal.user.must_change_password,
        layout: Layout::signed_in(&viewer, "Change your password", 0),
        problem,
    };
    Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

#[derive(Template)]
#[template(path = "orgs.html")]
struct OrgsPage {
    layout: Layout,
    orgs: Vec<OrgChoice>,
    invitations: Vec<InvitationChoice>,
    notice: String,
}

/// An invitation waiting for the signed-in person's answer.
struct InvitationChoice {
    id: i64,
    org_name: String,
    rank: String,
    expires: String,
}

struct OrgChoice {
    id: i64,
    name: String,
    rank: String,
}

/// The organizations the person belongs to: where to switch to.
pub(crate) async fn organizations(
    State(state): State<WebState>,
    viewer: Viewer,
    Query(query): Query<NoticeQuery>,
) -> Page {
    if viewer.principal.user.must_change_password {
        return Err(UiError::PasswordChange);
    }
    let me = state.app.identity().me(&viewer.principal).await?;
    let invitations = if viewer.principal.is_token() {
        Vec::new()
    } else {
        state
            .app
            .people()
            .my_invitations(&viewer.principal)
            .await?
            .into_iter()
            .map(|i| InvitationChoice {
                id: i.id.get(),
                org_name: i.org_name,
                rank: i.rank_name,
                expires: views::when(i.expires_at),
            })
            .collect()
    };
    let orgs: Vec<OrgChoice> = me
        .memberships
        .iter()
        .map(|m| OrgChoice {
            id: m.org_id.get(),
            name: m.org_name.clone(),
            rank: m.rank_name.clone(),
        })
        .collect();
    let page = OrgsPage {
        layout: Layout::signed_in(&viewer, "Your organizations", orgs.len()),
        orgs,
        invitations,
        notice: notice(query.done.as_deref()),
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    layout: Layout,
    org_id: i64,
    sites: Vec<SiteView>,
    /// Whether any card offers a button (they share one form, rendered only then).
    any_action: bool,
    my_jobs: Vec<JobLine>,
    shows_jobs: bool,
    glance: Option<super::account::Glance>,
    notice: String,
}

struct SiteView {
    name: String,
    printers: Vec<PrinterCard>,
}

/// A printer's card: its live state, its current job, and the actions the viewer may take
/// (none on a wall display).
pub(crate) struct PrinterCard {
    pub(crate) id: i64,
    pub(crate) name: String,
    pub(crate) state_key: &'static str,
    pub(crate) state_label: &'static str,
    pub(crate) detail: String,
    pub(crate) has_job: bool,
    pub(crate) file_name: String,
    pub(crate) progress_pct: u32,
    pub(crate) remaining: String,
    /// Where the picture of what it prints comes from (the script adds `?print=` as prints
    /// change), and the picture of the print now (empty without one).
    pub(crate) thumbnail_base: String,
    pub(crate) thumbnail: String,
    pub(crate) can_pause: bool,
    pub(crate) can_cancel: bool,
    pub(crate) can_clear: bool,
    /// Which of the permitted actions apply to the state now (the script updates them).
    pub(crate) pause_now: bool,
    pub(crate) resume_now: bool,
    pub(crate) cancel_now: bool,
    pub(crate) clear_now: bool,
}

impl PrinterCard {
    /// The card of a printer from its live status, or, without one, its last persisted state
    /// (state, detail, plate-clear pending); with the actions `viewer` may take on it.
    pub(crate) fn new(
        id: PrinterId,
        name: &str,
        live: Option<&app::LiveStatus>,
        persisted: (PrinterState, &str, bool),
        thumbnail_base: String,
        viewer: Option<&app::OrgActor>,
    ) -> PrinterCard {
        let (state_now, detail, job, bed_clear) = match live {
            Some(live) => (
                live.state,
                live.detail.clone(),
                live.job.clone(),
                live.bed_clear_pending,
            ),
            None => (persisted.0, persisted.1.to_string(), None, persisted.2),
        };
        let may = |permission| viewer.is_some_and(|actor| actor.may_on_printer(permission, id));
        let printing = state_now == PrinterState::Printing;
        let paused = state_now == PrinterState::Paused;
        PrinterCard {
            id: id.get(),
            name: name.to_string(),
            state_key: state_now.as_str(),
            state_label: views::printer_state_label(state_now),
            detail,
            has_job: job.is_some(),
            file_name: job
                .as_ref()
                .map(|j| j.file_name.clone())
                .unwrap_or_default(),
            progress_pct: job.as_ref().map_or(0, |j| percent(j.progress)),
            remaining: job
                .as_ref()
                .and_then(|j| j.remaining_s)
                .map(|s| format!("{} left", views::duration(s)))
                .unwrap_or_default(),
            thumbnail: job
                .as_ref()
                .and_then(|j| j.print_id)
                .map(|print| format!("{thumbnail_base}?print={print}"))
                .unwrap_or_default(),
            thumbnail_base,
            can_pause: may(P::PrinterControlPauseResume),
            can_cancel: may(P::PrinterControlCancelAll) || may(P::PrinterControlCancelOwn),
            can_clear: may(P::PrinterControlConfirmBedClear),
            pause_now: printing,
            resume_now: paused,
            cancel_now: printing || paused,
            clear_now: bed_clear || state_now == PrinterState::AwaitingBedClear,
        }
    }
}

pub(crate) struct JobLine {
    pub id: i64,
    pub file: String,
    /// Its file's thumbnail's address; empty: none to show.
    pub thumbnail: String,
    pub state: &'static str,
    pub waiting: bool,
    pub owner: String,
    pub target: String,
    /// The printer it was given to, once it has one.
    pub printer: String,
    pub copies: i32,
    pub created: String,
    /// Its cost estimate, in the organization's currency; empty when unknown.
    pub estimate: String,
}

#[derive(Deserialize)]
pub(crate) struct NoticeQuery {
    pub(crate) done: Option<String>,
}

/// A fixed sentence for each `?done=` an action redirects with (the query never carries text
/// that is shown as is).
pub(crate) fn notice(done: Option<&str>) -> String {
    match done {
        Some("pause") => "Paused.",
        Some("resume") => "Resumed.",
        Some("cancel") => "The print was cancelled.",
        Some("bed-clear") => "The plate is marked clear; the printer takes the next job.",
        Some("submitted") => "Your job was submitted.",
        Some("approved") => "The job was approved.",
        Some("rejected") => "The job was rejected.",
        Some("job-cancelled") => "The job was cancelled.",
        Some("job-moved") => "The job was moved.",
        Some("sent-back") => "The job was sent back to its owner.",
        Some("decided") => "The jobs were decided; each one's outcome is below.",
        Some("reordered") => "The queue is in its new order.",
        Some("reprinted") => "A new job prints it again.",
        Some("copied") => "The file was copied into the library.",
        Some("uploaded") => "The file is in the library.",
        Some("project-created") => "The project was created.",
        Some("renamed") => "The project was renamed.",
        Some("project-deleted") => "The project was deleted.",
        Some("shared") => "The project is shared.",
        Some("unshared") => "The project is no longer shared with them.",
        Some("moved") => "The file was moved.",
        Some("file-deleted") => "The file was deleted.",
        Some("slice-cancelled") => "The slice was cancelled.",
        Some("accepted") => "You joined the organization.",
        Some("declined") => "The invitation was declined.",
        _ => "",
    }
    .to_string()
}

/// The printers of the organization the member can see, grouped by site, with their live
/// state and the actions the member may take; and the member's own jobs.
pub(crate) async fn dashboard(
    State(state): State<WebState>,
    member: InOrg,
    Query(query): Query<NoticeQuery>,
) -> Page {
    let actor = &member.actor;
    let app = &state.app;
    actor.require(P::PrintersView)?;
    // One read of the fleet serves the cards and the names in the member's job list.
    let names = super::jobs::FleetNames::load(&state, actor).await?;
    let mut by_site: BTreeMap<(String, domain::SiteId), Vec<PrinterCard>> = BTreeMap::new();
    for printer in &names.printers {
        let card = PrinterCard::new(
            printer.id,
            &printer.name,
            printer.live.as_ref(),
            (
                printer.state,
                &printer.state_detail,
                printer.bed_clear_pending,
            ),
            format!("/orgs/{}/printers/{}/thumbnail", actor.org(), printer.id),
            Some(actor),
        );
        // Without "see sites" the printers are still grouped, by number.
        by_site
            .entry((names.site(printer.site_id), printer.site_id))
            .or_default()
            .push(card);
    }
    let sites: Vec<SiteView> = by_site
        .into_iter()
        .map(|((name, _), printers)| SiteView { name, printers })
        .collect();
    let shows_jobs = actor.holds(P::QueueViewOwn) || actor.holds(P::QueueViewAll);
    let my_jobs = if shows_jobs {
        let query = app::JobQuery {
            owner: Some(actor.member_id()),
            limit: Some(20),
            ..Default::default()
        };
        let page = app.jobs().list(actor, query, false).await?;
        super::jobs::job_lines(&state, actor, &names, page.jobs).await?
    } else {
        Vec::new()
    };
    let any_action = sites
        .iter()
        .flat_map(|site| &site.printers)
        .any(|p| p.can_pause || p.can_cancel || p.can_clear);
    let page = DashboardPage {
        layout: Layout::in_org(&member, "Dashboard", "dashboard"),
        org_id: actor.org().get(),
        sites,
        any_action,
        my_jobs,
        shows_jobs,
        glance: super::account::glance(&state, actor).await?,
        notice: notice(query.done.as_deref()),
    };
    Ok(render(StatusCode::OK, &page))
}

/// 0.0 ..= 1.0 as a whole percentage, whatever the printer reported.
fn percent(progress: f64) -> u32 {
    if progress.is_finite() {
        // Clamped to 0..=100 first, so the conversion is exact.
        (progress.clamp(0.0, 1.0) * 100.0).round() as u32
    } else {
        0
    }
}

/// The printer a control form names; a malformed one is "not found".
fn printer_in_path(path: &(String, String)) -> Result<PrinterId, UiError> {
    path.1.parse::<PrinterId>().map_err(|_| UiError::NotFound)
}

macro_rules! printer_action {
    ($name:ident, $call:ident, $done:literal) => {
        pub(crate) async fn $name(
            State(state): State<WebState>,
            member: InOrg,
            Path(path): Path<(String, String)>,
            request: Request,
        ) -> Page {
            let NoFields {} = checked_form(&member.viewer, request).await?;
            let printer = printer_in_path(&path)?;
            if let Err(error) = state.app.control().$call(&member.actor, printer).await {
                return Err(UiError::from(error).framed(&member));
            }
            Ok(Redirect::to(&format!(
                "/orgs/{}?done={}#printer-{}",
                member.actor.org(),
                $done,
                printer
            ))
            .into_response())
        }
    };
}

printer_action!(pause, pause_print, "pause");
printer_action!(resume, resume_print, "resume");
printer_action!(cancel, cancel_print, "cancel");
printer_action!(bed_clear, confirm_bed_clear, "bed-clear");

/// Whether a job is waiting for a printer (queued or assigned): the state "why is this not
/// printing?" answers for.
pub(crate) fn waiting(state: JobState) -> bool {
    matches!(state, JobState::Queued | JobState::Assigned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_own_paths_are_places_to_return_to() {
        assert_eq!(safe_next(Some("/orgs/1/jobs")), "/orgs/1/jobs");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(Some("/sign-in")), "/");
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn progress_is_a_bounded_percentage() {
        assert_eq!(percent(0.426), 43);
        assert_eq!(percent(7.0), 100);
        assert_eq!(percent(-1.0), 0);
        assert_eq!(percent(f64::NAN), 0);
    }
}
