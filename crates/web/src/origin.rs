//! Changes must come from Farmhand's own pages or from scripts, never from another site's page
//! in someone's browser (cross-site request forgery, including signing someone in to an
//! attacker's account). Browsers name the page's origin (`Origin`) on every state-changing
//! request; when one is named it must be this server's own, scheme included. Scripts and API
//! clients send no `Origin` and are unaffected.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::WebState;
use crate::error::ApiError;
use crate::error::ErrorCode;

pub async fn refuse_cross_site(
    State(web): State<WebState>,
    request: Request,
    next: Next,
) -> Response {
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if safe || same_origin(request.headers(), &web) {
        return next.run(request).await;
    }
    ApiError::new(
        ErrorCode::CrossOriginRequest,
        "changes must come from this server's own pages; the request named another origin",
    )
    .into_response()
}

/// True when the request names no origin, or names this server's (scheme, host and port).
fn same_origin(headers: &HeaderMap, web: &WebState) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let expected = format!("{}://{host}", scheme(headers, web));
    origin.eq_ignore_ascii_case(&expected)
}

/// The scheme clients use to reach this server: what a trusted proxy says, else HTTPS when
/// the server is configured for it, else HTTP.
fn scheme<'a>(headers: &'a HeaderMap, web: &WebState) -> &'a str {
    let forwarded = web
        .trust_forwarded_for
        .then(|| headers.get("x-forwarded-proto")?.to_str().ok())
        .flatten()
        .map(|p| p.split(',').next().unwrap_or_default().trim())
        .filter(|p| matches!(*p, "http" | "https"));
    match forwarded {
        Some(proto) => proto,
        None if web.secure_cookies => "https",
        None => "http",
    }
}
