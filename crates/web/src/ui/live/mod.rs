//! The live and reporting pages: wall displays (the links managers make, and the screen a link
//! opens, updated by server-sent events) and usage reports with their charts.

mod charts;
mod displays;
mod reports;

use authz::Permission as P;

use crate::routes::{PlainRoutes, Requires};

/// The live and reporting pages' routes, each declared with what it requires.
pub(crate) fn routes(routes: PlainRoutes) -> PlainRoutes {
    let org = |permission| Requires::Permission(permission);
    routes
        .get(
            org(P::SitesManage),
            "/orgs/{org_id}/displays",
            displays::links,
        )
        .post(
            org(P::SitesManage),
            "/orgs/{org_id}/displays",
            displays::create,
        )
        .post(
            org(P::SitesManage),
            "/orgs/{org_id}/displays/{link_id}/revoke",
            displays::revoke,
        )
        .get(
            org(P::PrintersView),
            "/orgs/{org_id}/printers/{printer_id}/thumbnail",
            displays::printer_thumbnail,
        )
        .get(
            org(P::BillingViewReports),
            "/orgs/{org_id}/reports",
            reports::usage,
        )
        // The screen: authorized by the link's secret, not by an account.
        .get(Requires::Public, "/display/{token}", displays::screen)
        .get(
            Requires::Public,
            "/display/{token}/events",
            displays::events,
        )
        .get(
            Requires::Public,
            "/display/{token}/printers/{printer_id}/thumbnail",
            displays::screen_thumbnail,
        )
}
