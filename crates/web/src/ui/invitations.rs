//! Invitations: the page an invitation link opens (a new person sets their name and password;
//! someone signed in accepts with their account), and the signed-in person's pending
//! invitations with accept and decline.
//!
//! CSRF before there is a session: like the sign-in form, the form's token is a random value
//! also set in a cookie of its own, limited to the invitation pages (double submit).

use app::AppError;
use askama::Template;
use axum::extract::{FromRequest, FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use domain::{InvitationId, InvitationStatus};
use serde::Deserialize;

use super::error::{UiError, render};
use super::pages::NoFields;
use super::session::{Viewer, checked_form, cookie, random_token, same_token};
use super::views::{self, Layout};
use crate::WebState;
use crate::api::auth::session_cookie;
use crate::extract::Meta;

type Page = Result<Response, UiError>;

/// The cookie holding the invitation form's token until there is a session.
const INVITATION_CSRF_COOKIE: &str = "farmhand_invitation_csrf";

fn invitation_csrf_cookie(secure: bool, value: &str, max_age: u32) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{INVITATION_CSRF_COOKIE}={value}; Path=/invitations; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("farmhand_invitation_csrf=; Max-Age=0"))
}

fn status_words(status: InvitationStatus) -> &'static str {
    match status {
        InvitationStatus::Pending => "waiting for an answer",
        InvitationStatus::Accepted => "already accepted",
        InvitationStatus::Revoked => "withdrawn",
        InvitationStatus::Declined => "declined",
        InvitationStatus::Expired => "expired",
    }
}

#[derive(Template)]
#[template(path = "invitation.html")]
struct InvitationPage {
    layout: Layout,
    token: String,
    org_name: String,
    email: String,
    rank: String,
    expires: String,
    pending: bool,
    status: &'static str,
    /// Signed in: accept with this account (its name), no new password.
    signed_in_as: String,
    csrf: String,
    name: String,
    problem: String,
}

/// The signed-in person, if any (an invitation page is public).
async fn maybe_viewer(parts: &mut Parts, state: &WebState) -> Option<Viewer> {
    Viewer::from_request_parts(parts, state).await.ok()
}

/// A valid form token from the cookie, or a new one.
fn form_token(parts: &Parts) -> String {
    cookie(&parts.headers, INVITATION_CSRF_COOKIE)
        .filter(|t| t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()))
        .unwrap_or_else(random_token)
}

async fn invitation_page(
    state: &WebState,
    token: &str,
    viewer: Option<&Viewer>,
    csrf: String,
    name: String,
    problem: String,
) -> Result<InvitationPage, UiError> {
    let preview = state.app.people().preview_invitation(token).await?;
    let (layout, signed_in_as, csrf) = match viewer {
        Some(viewer) => (
            Layout::signed_in(viewer, "Invitation", 0),
            viewer.principal.user.name.clone(),
            viewer.csrf.clone(),
        ),
        None => (Layout::public("Invitation"), String::new(), csrf),
    };
    Ok(InvitationPage {
        layout,
        token: token.to_string(),
        org_name: preview.org_name,
        email: preview.email,
        rank: preview.rank_name,
        expires: views::when(preview.expires_at),
        pending: preview.status == InvitationStatus::Pending,
        status: status_words(preview.status),
        signed_in_as,
        csrf,
        name,
        problem,
    })
}

/// The page an invitation link opens: which organization, as which rank, and how to join.
pub(crate) async fn invitation(
    State(state): State<WebState>,
    Path(token): Path<String>,
    mut parts: Parts,
) -> Page {
    let viewer = maybe_viewer(&mut parts, &state).await;
    let csrf = form_token(&parts);
    let page = invitation_page(
        &state,
        &token,
        viewer.as_ref(),
        csrf.clone(),
        String::new(),
        String::new(),
    )
    .await?;
    let mut response = render(StatusCode::OK, &page);
    if viewer.is_none() {
        response.headers_mut().insert(
            header::SET_COOKIE,
            invitation_csrf_cookie(state.secure_cookies, &csrf, 3600),
        );
    }
    Ok(response)
}

#[derive(Deserialize)]
pub(crate) struct AcceptForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
}

/// Accepts the invitation: as the signed-in person (whose email it must name), or by creating
/// the account with the name and password given, then signed in.
pub(crate) async fn accept(
    State(state): State<WebState>,
    Path(token): Path<String>,
    Meta(meta): Meta,
    request: Request,
) -> Page {
    let (mut parts, body) = request.into_parts();
    let viewer = maybe_viewer(&mut parts, &state).await;
    let expected = match &viewer {
        Some(viewer) => viewer.csrf.clone(),
        None => cookie(&parts.headers, INVITATION_CSRF_COOKIE).unwrap_or_default(),
    };
    let bytes = axum::body::Bytes::from_request(Request::from_parts(parts, body), &())
        .await
        .map_err(|_| UiError::BadForm("the form could not be read".into()))?;
    let form: AcceptForm =
        serde_urlencoded::from_bytes(&bytes).map_err(|e| UiError::BadForm(e.to_string()))?;
    if !same_token(&expected, &form.csrf) {
        return Err(UiError::Csrf);
    }
    let input = match viewer {
        Some(_) => app::AcceptInvitation::default(),
        None => app::AcceptInvitation {
            name: Some(form.name.clone()),
            password: Some(form.password),
        },
    };
    let principal = viewer.as_ref().map(|v| &v.principal);
    match state
        .app
        .people()
        .accept_invitation(&token, principal, input, &meta)
        .await
    {
        Ok((_, signed_in)) => {
            let mut response = Redirect::to("/orgs?done=accepted").into_response();
            if let Some(signed_in) = signed_in {
                let max_age = signed_in
                    .expires_at
                    .micros()
                    .saturating_sub(state.app.now().micros())
                    / 1_000_000;
                let headers = response.headers_mut();
                headers.append(
                    header::SET_COOKIE,
                    session_cookie(state.secure_cookies, &signed_in.session_secret, max_age),
                );
                headers.append(
                    header::SET_COOKIE,
                    invitation_csrf_cookie(state.secure_cookies, "", 0),
                );
            }
            Ok(response)
        }
        Err(error @ (AppError::NotFound { .. } | AppError::Internal(_))) => Err(error.into()),
        Err(error) => {
            let status = crate::error::status(error.code());
            let problem = super::pages::capitalized(&format!("{error}."));
            let page = invitation_page(
                &state,
                &token,
                viewer.as_ref(),
                expected,
                form.name,
                problem,
            )
            .await?;
            Ok(render(status, &page))
        }
    }
}

fn invitation_in_path(text: &str) -> Result<InvitationId, UiError> {
    text.parse::<InvitationId>().map_err(|_| UiError::NotFound)
}

/// Accepts one of the signed-in person's pending invitations (listed with their organizations).
pub(crate) async fn accept_mine(
    State(state): State<WebState>,
    viewer: Viewer,
    Path(id): Path<String>,
    request: Request,
) -> Page {
    let NoFields {} = checked_form(&viewer, request).await?;
    let id = invitation_in_path(&id)?;
    let accepted = state
        .app
        .people()
        .accept_my_invitation(&viewer.principal, id, &viewer.meta)
        .await;
    match accepted {
        Ok(_) => Ok(Redirect::to("/orgs?done=accepted").into_response()),
        Err(error) => Err(refused(error)),
    }
}

/// Declines one of the signed-in person's pending invitations.
pub(crate) async fn decline_mine(
    State(state): State<WebState>,
    viewer: Viewer,
    Path(id): Path<String>,
    request: Request,
) -> Page {
    let NoFields {} = checked_form(&viewer, request).await?;
    let id = invitation_in_path(&id)?;
    let declined = state
        .app
        .people()
        .decline_my_invitation(&viewer.principal, id, &viewer.meta)
        .await;
    match declined {
        Ok(()) => Ok(Redirect::to("/orgs?done=declined").into_response()),
        Err(error) => Err(refused(error)),
    }
}

/// A refusal of an invitation answer, as a page saying why.
fn refused(error: AppError) -> UiError {
    match error {
        AppError::NotFound { .. } | AppError::Internal(_) => error.into(),
        other => UiError::Refused {
            status: crate::error::status(other.code()),
            message: super::pages::capitalized(&format!("{other}.")),
            frame: None,
        },
    }
}
