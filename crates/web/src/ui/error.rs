//! What a page shows when it cannot do what was asked: never a broken or empty page. A missing
//! permission is named in plain words with who could grant it; what the person may not see is
//! a plain "not found"; a form without its CSRF token is refused with a page saying so.

use app::AppError;
use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};

use super::session::InOrg;
use super::views::Layout;

#[derive(Debug)]
pub(crate) enum UiError {
    /// Not signed in: to the sign-in page, and back to `next` afterwards.
    SignIn {
        next: String,
    },
    /// The one-time password must be changed first.
    PasswordChange,
    NotFound,
    Denied {
        title: &'static str,
        key: &'static str,
        ask: Vec<String>,
        /// The access level the permission needs on the printer, when that is what is missing.
        need_access: Option<String>,
        /// The page's frame (who is signed in, the organization's navigation), when known.
        frame: Option<Box<Layout>>,
    },
    /// A state-changing form without this session's token.
    Csrf,
    /// A form that could not be read.
    BadForm(String),
    /// Refused for a reason the person can act on (a conflict, an invalid value, …).
    Refused {
        status: StatusCode,
        message: String,
        frame: Option<Box<Layout>>,
    },
    Internal(String),
}

impl From<AppError> for UiError {
    fn from(error: AppError) -> UiError {
        match error {
            AppError::NotFound { .. } => UiError::NotFound,
            AppError::Unauthenticated => UiError::SignIn { next: "/".into() },
            AppError::PasswordChangeRequired => UiError::PasswordChange,
            AppError::PermissionDenied {
                permission,
                ask,
                need_access,
            } => UiError::Denied {
                title: permission.title(),
                key: permission.key(),
                ask,
                need_access: need_access.map(|level| level.to_string()),
                frame: None,
            },
            AppError::Internal(source) => {
                tracing::error!(error = %source, chain = ?source, "internal error");
                UiError::Internal("internal error".into())
            }
            other => {
                let status = crate::error::status(other.code());
                UiError::Refused {
                    status,
                    message: other.to_string(),
                    frame: None,
                }
            }
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    layout: Layout,
    heading: String,
    message: String,
    permission_title: String,
    permission_key: String,
    ask: Vec<String>,
    need_access: String,
}

impl UiError {
    /// The error shown inside the member's page frame (their name, the organization's
    /// navigation, sign-out), so a refusal is never a dead end.
    pub(crate) fn framed(mut self, member: &InOrg) -> UiError {
        if let UiError::Denied { frame, .. } | UiError::Refused { frame, .. } = &mut self {
            *frame = Some(Box::new(Layout::in_org(member, "You can't do this", "")));
        }
        self
    }
}

impl ErrorPage {
    fn new(heading: &str, message: &str) -> ErrorPage {
        ErrorPage {
            layout: Layout::public(heading),
            heading: heading.to_string(),
            message: message.to_string(),
            permission_title: String::new(),
            permission_key: String::new(),
            ask: Vec::new(),
            need_access: String::new(),
        }
    }
}

/// An HTML page (status 200 unless given), or a plain 500 if the template failed.
pub(crate) fn render<T: Template>(status: StatusCode, page: &T) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(error) => {
            tracing::error!(%error, "a page failed to render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "this page could not be shown; try again\n",
            )
                .into_response()
        }
    }
}

/// The plain "not found" page, the same for what does not exist and what may not be seen.
pub(crate) fn html_not_found() -> Response {
    let page = ErrorPage::new(
        "Not found",
        "There is nothing here, or it is not yours to see. Check the address, or go back to the start page.",
    );
    let mut response = render(StatusCode::NOT_FOUND, &page);
    super::add_security_headers(&mut response);
    response
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        let (status, page) = match self {
            UiError::SignIn { next } => {
                let query = serde_urlencoded::to_string([("next", next.as_str())]);
                let target = match query {
                    Ok(query) if next != "/" => format!("/sign-in?{query}"),
                    _ => "/sign-in".to_string(),
                };
                return Redirect::to(&target).into_response();
            }
            UiError::PasswordChange => return Redirect::to("/password").into_response(),
            UiError::NotFound => return html_not_found(),
            UiError::Denied {
                title,
                key,
                ask,
                need_access,
                frame,
            } => {
                let mut page = ErrorPage::new(
                    "You can't do this",
                    "Your rank in this organization does not allow it.",
                );
                if let Some(frame) = frame {
                    page.layout = *frame;
                }
                page.permission_title = title.to_string();
                page.permission_key = key.to_string();
                page.ask = ask;
                page.need_access = need_access.unwrap_or_default();
                (StatusCode::FORBIDDEN, page)
            }
            UiError::Csrf => (
                StatusCode::FORBIDDEN,
                ErrorPage::new(
                    "This form has expired",
                    "The form was not sent from a page of this session (its security token is missing or does not match), so nothing was changed. Go back, reload the page and try again.",
                ),
            ),
            UiError::BadForm(detail) => (
                StatusCode::BAD_REQUEST,
                ErrorPage::new(
                    "This form could not be read",
                    &format!("Nothing was changed: {detail}."),
                ),
            ),
            UiError::Refused {
                status,
                message,
                frame,
            } => {
                let mut page = ErrorPage::new("That did not work", &message);
                if let Some(mut frame) = frame {
                    frame.title = "That did not work".into();
                    page.layout = *frame;
                }
                (status, page)
            }
            UiError::Internal(what) => {
                tracing::error!(what, "a page failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    ErrorPage::new(
                        "Something went wrong",
                        "The server could not do this. Try again in a moment; if it keeps happening, tell your administrator the time it happened.",
                    ),
                )
            }
        };
        let mut response = render(status, &page);
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}
