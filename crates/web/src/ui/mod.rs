//! The web interface: server-rendered HTML pages over the same use cases as the API.
//!
//! Pages are askama templates (`crates/web/templates/`, checked at compile time, HTML escaped
//! by default), plain forms that work without JavaScript, one small stylesheet and one small
//! script for live printer states, served from the binary. Every route is declared like an
//! API operation (public, authenticated, or a permission), every state-changing form carries
//! a CSRF token tied to the session, and every response carries a strict Content-Security-Policy.

mod account;
mod admin;
mod assets;
mod compress;
mod error;
mod invitations;
mod jobs;
mod library;
mod live;
mod pages;
mod people;
mod session;
mod slicing;
mod views;
mod work;

use authz::Permission as P;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::routes::{PlainRoutes, Requires};

pub(crate) use compress::compress;
pub(crate) use error::html_not_found;

/// What pages may load and where they may be shown: only this server's own scripts, styles and
/// images (inline ones included: none are allowed), never inside another site's frame.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/// The web interface's routes, each declared with what it requires.
pub(crate) fn routes() -> PlainRoutes {
    let org = |permission| Requires::Permission(permission);
    live::routes(admin::routes(work::routes(PlainRoutes::new())))
        .get(Requires::Public, "/", pages::home)
        .get(Requires::Public, "/assets/{name}", assets::serve)
        .get(Requires::Public, "/sign-in", pages::sign_in_page)
        .post(Requires::Public, "/sign-in", pages::sign_in)
        .post(Requires::Authenticated, "/sign-out", pages::sign_out)
        .get(Requires::Authenticated, "/password", pages::password_page)
        .post(Requires::Authenticated, "/password", pages::change_password)
        .get(Requires::Authenticated, "/orgs", pages::organizations)
        .get(org(P::PrintersView), "/orgs/{org_id}", pages::dashboard)
        .post(
            org(P::PrinterControlPauseResume),
            "/orgs/{org_id}/printers/{printer_id}/pause",
            pages::pause,
        )
        .post(
            org(P::PrinterControlPauseResume),
            "/orgs/{org_id}/printers/{printer_id}/resume",
            pages::resume,
        )
        .post_also(
            org(P::PrintersView),
            &[P::PrinterControlCancelOwn, P::PrinterControlCancelAll],
            "/orgs/{org_id}/printers/{printer_id}/cancel",
            pages::cancel,
        )
        .post(
            org(P::PrinterControlConfirmBedClear),
            "/orgs/{org_id}/printers/{printer_id}/bed-clear",
            pages::bed_clear,
        )
        .get_also(
            org(P::QueueViewOwn),
            &[P::QueueViewAll],
            "/orgs/{org_id}/jobs",
            jobs::queue,
        )
        .get(
            org(P::QueueSubmit),
            "/orgs/{org_id}/jobs/new",
            jobs::new_job,
        )
        .post_streaming(org(P::QueueSubmit), "/orgs/{org_id}/jobs", jobs::submit)
        .get_also(
            org(P::QueueViewOwn),
            &[P::QueueViewAll],
            "/orgs/{org_id}/jobs/{job_id}",
            jobs::job_page,
        )
        .post_also(
            org(P::QueueCancelOwn),
            &[P::QueueCancelAll],
            "/orgs/{org_id}/jobs/{job_id}/cancel",
            jobs::cancel,
        )
        .get(
            org(P::ApprovalReview),
            "/orgs/{org_id}/approvals",
            jobs::approvals,
        )
        .post(
            org(P::ApprovalReview),
            "/orgs/{org_id}/jobs/{job_id}/approve",
            jobs::approve,
        )
        .post(
            org(P::ApprovalReview),
            "/orgs/{org_id}/jobs/{job_id}/reject",
            jobs::reject,
        )
        .get(
            org(P::MembersView),
            "/orgs/{org_id}/members",
            people::members,
        )
        .get(org(P::AuditView), "/orgs/{org_id}/audit", people::audit)
        .get(
            org(P::QueueSubmit),
            "/orgs/{org_id}/account",
            account::account,
        )
        .post(
            org(P::QueueSubmit),
            "/orgs/{org_id}/quota-requests",
            account::ask,
        )
        .get_also(
            org(P::BillingViewAll),
            &[P::QuotasViewAll],
            "/orgs/{org_id}/members/{member_id}/account",
            account::member_account,
        )
        .post(
            org(P::BillingManage),
            "/orgs/{org_id}/members/{member_id}/money",
            account::move_money,
        )
        .get(
            org(P::QuotasApproveRequests),
            "/orgs/{org_id}/quota-requests",
            account::requests,
        )
        .post(
            org(P::QuotasApproveRequests),
            "/orgs/{org_id}/quota-requests/{request_id}/decide",
            account::decide,
        )
}

/// Middleware on every page: the Content-Security-Policy and the other headers that keep a
/// page from being framed, sniffed or leaking its address.
pub(crate) async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    add_security_headers(&mut response);
    response
}

pub(crate) fn add_security_headers(response: &mut Response) {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    // Pages show one person's data: never kept by shared caches. Assets set their own.
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}
