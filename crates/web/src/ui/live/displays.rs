//! Wall displays: managers make a link for a site (its secret shown once), list and revoke
//! them; the link opens a screen with every printer of that site, large, live, without
//! controls, for whoever holds it.

use std::collections::HashSet;
use std::convert::Infallible;
use std::time::Duration;

use app::{DisplayLink, DisplayPrinter};
use askama::Template;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use domain::{DisplayLinkId, PrinterId, SiteId};
use futures::Stream;
use serde::Deserialize;

use crate::WebState;
use crate::api::printer_control::event;
use crate::ui::error::{UiError, render};
use crate::ui::pages::{NoFields, PrinterCard};
use crate::ui::session::{InOrg, checked_form};
use crate::ui::views::{self, Layout};

type Page = Result<Response, UiError>;

/// How long one event stream of a screen lasts; the browser reconnects by itself, and each
/// connection starts from the link (still live?) and a full snapshot.
const STREAM_LIFETIME: Duration = Duration::from_secs(300);
/// How often an open stream looks whether its link was revoked or the site's printers changed.
const LINK_RECHECK: Duration = Duration::from_secs(1);

#[derive(Template)]
#[template(path = "displays.html")]
struct LinksPage {
    layout: Layout,
    org_id: i64,
    sites: Vec<SiteChoice>,
    links: Vec<LinkLine>,
    /// The link just made, shown this once; empty otherwise.
    created: String,
    created_name: String,
    name: String,
    problem: String,
    notice: &'static str,
}

struct SiteChoice {
    id: i64,
    name: String,
}

struct LinkLine {
    id: i64,
    name: String,
    site: String,
    created: String,
    last_used: String,
    revoked: String,
}

#[derive(Deserialize)]
pub(crate) struct Done {
    done: Option<String>,
}

async fn links_page(state: &WebState, member: &InOrg) -> Result<LinksPage, UiError> {
    let actor = &member.actor;
    let framed = |e: app::AppError| UiError::from(e).framed(member);
    let links = state.app.display_links(actor).await.map_err(framed)?;
    let sites = state.app.people().list_sites(actor).await.map_err(framed)?;
    Ok(LinksPage {
        layout: Layout::in_org(member, "Wall displays", "displays"),
        org_id: actor.org().get(),
        sites: sites
            .into_iter()
            .map(|s| SiteChoice {
                id: s.id.get(),
                name: s.name,
            })
            .collect(),
        links: links.into_iter().map(link_line).collect(),
        created: String::new(),
        created_name: String::new(),
        name: String::new(),
        problem: String::new(),
        notice: "",
    })
}

fn link_line(link: DisplayLink) -> LinkLine {
    LinkLine {
        id: link.id.get(),
        name: link.name,
        site: link.site_name,
        created: views::when(link.created_at),
        last_used: link.last_used_at.map(views::when).unwrap_or_default(),
        revoked: link.revoked_at.map(views::when).unwrap_or_default(),
    }
}

/// The organization's display links and the form to make one (`sites.manage`).
pub(crate) async fn links(
    State(state): State<WebState>,
    member: InOrg,
    Query(done): Query<Done>,
) -> Page {
    let mut page = links_page(&state, &member).await?;
    page.notice = match done.done.as_deref() {
        Some("revoked") => "The link was revoked: screens showing it stop at once.",
        _ => "",
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Deserialize)]
pub(crate) struct NewLinkForm {
    #[serde(default)]
    site_id: String,
    #[serde(default)]
    name: String,
}

/// Makes a link for a site and shows it, this once.
pub(crate) async fn create(State(state): State<WebState>, member: InOrg, request: Request) -> Page {
    let form: NewLinkForm = checked_form(&member.viewer, request).await?;
    let site = form.site_id.trim().parse::<i64>().map(SiteId);
    let result = match site {
        Ok(site) => {
            state
                .app
                .create_display_link(&member.actor, site, &form.name)
                .await
        }
        Err(_) => Err(domain::Invalid::new("site_id", "choose a site").into()),
    };
    match result {
        Ok(created) => {
            let mut page = links_page(&state, &member).await?;
            page.created = format!("/display/{}", created.secret);
            page.created_name = created.link.name;
            Ok(render(StatusCode::CREATED, &page))
        }
        Err(app::AppError::Invalid(invalid)) => {
            let mut page = links_page(&state, &member).await?;
            page.problem = format!("The {} {}.", field_label(invalid.field), invalid.message);
            page.name = form.name;
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(app::AppError::NotFound { .. }) => {
            let mut page = links_page(&state, &member).await?;
            page.problem = "That site does not exist (any more); choose another.".into();
            page.name = form.name;
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(other) => Err(UiError::from(other).framed(&member)),
    }
}

fn field_label(field: &str) -> &str {
    match field {
        "site_id" => "site",
        other => other,
    }
}

/// Revokes a link: the screen showing it stops at once.
pub(crate) async fn revoke(
    State(state): State<WebState>,
    member: InOrg,
    Path((_, id)): Path<(String, String)>,
    request: Request,
) -> Page {
    let NoFields {} = checked_form(&member.viewer, request).await?;
    let id = id.parse::<DisplayLinkId>().map_err(|_| UiError::NotFound)?;
    if let Err(error) = state.app.revoke_display_link(&member.actor, id).await {
        return Err(UiError::from(error).framed(&member));
    }
    Ok(Redirect::to(&format!(
        "/orgs/{}/displays?done=revoked",
        member.actor.org()
    ))
    .into_response())
}

#[derive(Template)]
#[template(path = "display.html")]
struct ScreenPage {
    title: String,
    asset_version: &'static str,
    site_name: String,
    events_url: String,
    printers: Vec<PrinterCard>,
}

/// The live link a secret opens; an unknown or revoked one is "not found".
async fn live_link(state: &WebState, token: &str) -> Result<DisplayLink, UiError> {
    state
        .app
        .display_link_for(token)
        .await?
        .ok_or(UiError::NotFound)
}

fn card(token: &str, printer: &DisplayPrinter) -> PrinterCard {
    PrinterCard::new(
        printer.printer.id,
        &printer.printer.name,
        printer.live.as_ref(),
        (
            printer.printer.state,
            &printer.printer.state_detail,
            printer.printer.bed_clear_pending,
        ),
        format!("/display/{token}/printers/{}/thumbnail", printer.printer.id),
        None,
    )
}

/// The screen: every printer of the link's site, large, live, without controls.
pub(crate) async fn screen(State(state): State<WebState>, Path(token): Path<String>) -> Page {
    let link = live_link(&state, &token).await?;
    let printers = state.app.display_printers(&link).await?;
    let page = ScreenPage {
        title: link.site_name.clone(),
        asset_version: super::super::assets::VERSION.as_str(),
        site_name: link.site_name,
        events_url: format!("/display/{token}/events"),
        printers: printers.iter().map(|p| card(&token, p)).collect(),
    };
    Ok(render(StatusCode::OK, &page))
}

/// Server-sent events for a screen: first the state of every printer of the link's site, then
/// each change as it happens; only that site's printers. The stream ends as soon as the link
/// is revoked, and a revoked link is refused.
pub(crate) async fn events(
    State(state): State<WebState>,
    Path(token): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, UiError> {
    let link = live_link(&state, &token).await?;
    let app = state.app.clone();
    let printers = app.display_printers(&link).await?;
    let mut updates = app.supervisors().subscribe();
    let stream = async_stream::stream! {
        let mut shown: HashSet<PrinterId> = printers.iter().map(|p| p.printer.id).collect();
        for status in printers.iter().filter_map(|p| p.live.as_ref()) {
            yield Ok(event(status));
        }
        let deadline = tokio::time::sleep(STREAM_LIFETIME);
        tokio::pin!(deadline);
        let mut recheck = tokio::time::interval(LINK_RECHECK);
        recheck.tick().await;
        loop {
            tokio::select! {
                () = &mut deadline => break,
                _ = recheck.tick() => {
                    let still = match app.display_link_for(&token).await {
                        Ok(Some(current)) if current.id == link.id => current,
                        _ => break,
                    };
                    match app.display_printers(&still).await {
                        Ok(now) => shown = now.iter().map(|p| p.printer.id).collect(),
                        Err(_) => break,
                    }
                }
                update = updates.recv() => match update {
                    Ok(update) if update.org == link.org_id
                        && shown.contains(&update.status.printer_id) => {
                        yield Ok(event(&update.status));
                    }
                    Ok(_) => {}
                    // A slow reader missed updates: the next ones still arrive.
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                },
            }
        }
    };
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// A picture as a response; "not found" without one.
fn picture(thumbnail: Option<app::Thumbnail>) -> Response {
    match thumbnail {
        Some(thumbnail) => {
            let mut response = thumbnail.data.into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(thumbnail.content_type),
            );
            // Its address names the print (`?print=`): the same address is the same picture.
            headers.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, max-age=3600"),
            );
            response
        }
        None => crate::ui::html_not_found(),
    }
}

/// The picture of what a printer the member can see is printing now.
pub(crate) async fn printer_thumbnail(
    State(state): State<WebState>,
    member: InOrg,
    Path((_, printer)): Path<(String, String)>,
) -> Page {
    let printer = printer
        .parse::<PrinterId>()
        .map_err(|_| UiError::NotFound)?;
    if !member.actor.can_see_printer(printer) {
        return Err(UiError::NotFound);
    }
    let thumbnail = state
        .app
        .printing_thumbnail(member.actor.org(), printer)
        .await?;
    Ok(picture(thumbnail))
}

/// The picture of what a printer of the display link's site is printing now.
pub(crate) async fn screen_thumbnail(
    State(state): State<WebState>,
    Path((token, printer)): Path<(String, String)>,
) -> Page {
    let printer = printer
        .parse::<PrinterId>()
        .map_err(|_| UiError::NotFound)?;
    let link = live_link(&state, &token).await?;
    let printers = state.app.display_printers(&link).await?;
    if !printers.iter().any(|p| p.printer.id == printer) {
        return Err(UiError::NotFound);
    }
    let thumbnail = state.app.printing_thumbnail(link.org_id, printer).await?;
    Ok(picture(thumbnail))
}
