//! What each route requires, declared once and typed where the route is added: `public`,
//! `authenticated`, or a catalog [`Permission`]. The declaration travels with the route as a
//! request extension (the `Org` extractor enforces it), is written into the OpenAPI document as
//! `x-permission`, and is listed in [`Declaration`]s for the coverage test. API operations and
//! plain routes (health checks, and the HTML pages) are declared the same way.

use std::fmt;

use authz::Permission;
use axum::handler::Handler;
use axum::http::Method;
use axum::routing::MethodRouter;

use crate::WebState;

/// The operation extension naming the declared requirement.
pub const PERMISSION_EXTENSION: &str = "x-permission";
/// Permissions a route checks on the resource beyond the one it requires (for example
/// managing other members' tokens), listed for the permission matrix and the coverage test.
pub const ALSO_EXTENSION: &str = "x-permission-also";

/// What a route requires of whoever calls it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requires {
    /// Anyone, signed in or not.
    Public,
    /// Someone signed in (a session or an API token).
    Authenticated,
    /// A member of the route's organization (`{org_id}`) who holds the permission.
    Permission(Permission),
}

impl Requires {
    /// The value of `x-permission`: `public`, `authenticated` or the permission's key.
    pub fn key(self) -> &'static str {
        match self {
            Requires::Public => "public",
            Requires::Authenticated => "authenticated",
            Requires::Permission(permission) => permission.key(),
        }
    }
}

impl fmt::Display for Requires {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// One route's declaration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declaration {
    pub method: Method,
    /// The full path template, e.g. `/api/v1/orgs/{org_id}/members`.
    pub path: String,
    pub requires: Requires,
    pub also: Vec<Permission>,
}

/// The requirement rides with the route's requests, where the extractors read it.
pub(crate) fn carrying<S>(method_router: MethodRouter<S>, requires: Requires) -> MethodRouter<S>
where
    S: Clone + Send + Sync + 'static,
{
    method_router.layer(axum::Extension(requires))
}

/// Routes outside the OpenAPI document (health checks, the HTML pages), each declared like an
/// API operation.
pub(crate) struct PlainRoutes {
    router: axum::Router<WebState>,
    declarations: Vec<Declaration>,
}

impl PlainRoutes {
    pub(crate) fn new() -> PlainRoutes {
        PlainRoutes {
            router: axum::Router::new(),
            declarations: Vec::new(),
        }
    }

    pub(crate) fn get<H, T>(self, requires: Requires, path: &str, handler: H) -> PlainRoutes
    where
        H: Handler<T, WebState>,
        T: 'static,
    {
        self.add(
            Method::GET,
            requires,
            &[],
            path,
            axum::routing::get(handler),
        )
    }

    pub(crate) fn post<H, T>(self, requires: Requires, path: &str, handler: H) -> PlainRoutes
    where
        H: Handler<T, WebState>,
        T: 'static,
    {
        self.add(
            Method::POST,
            requires,
            &[],
            path,
            axum::routing::post(handler),
        )
    }

    /// A POST route whose body streams (an upload): the router's default body limit does not
    /// apply; the handler enforces its own.
    pub(crate) fn post_streaming<H, T>(
        self,
        requires: Requires,
        path: &str,
        handler: H,
    ) -> PlainRoutes
    where
        H: Handler<T, WebState>,
        T: 'static,
    {
        let method_router =
            axum::routing::post(handler).layer(axum::extract::DefaultBodyLimit::disable());
        self.add(Method::POST, requires, &[], path, method_router)
    }

    /// A POST route that requires `requires` and checks `also` on the resource it touches.
    pub(crate) fn post_also<H, T>(
        self,
        requires: Requires,
        also: &[Permission],
        path: &str,
        handler: H,
    ) -> PlainRoutes
    where
        H: Handler<T, WebState>,
        T: 'static,
    {
        self.add(
            Method::POST,
            requires,
            also,
            path,
            axum::routing::post(handler),
        )
    }

    /// A GET route that requires `requires` and checks `also` on what it shows.
    pub(crate) fn get_also<H, T>(
        self,
        requires: Requires,
        also: &[Permission],
        path: &str,
        handler: H,
    ) -> PlainRoutes
    where
        H: Handler<T, WebState>,
        T: 'static,
    {
        self.add(
            Method::GET,
            requires,
            also,
            path,
            axum::routing::get(handler),
        )
    }

    fn add(
        mut self,
        method: Method,
        requires: Requires,
        also: &[Permission],
        path: &str,
        method_router: MethodRouter<WebState>,
    ) -> PlainRoutes {
        // Several methods on one path are one route with several method routers.
        self.router = self.router.route(path, carrying(method_router, requires));
        self.declarations.push(Declaration {
            method,
            path: path.to_string(),
            requires,
            also: also.to_vec(),
        });
        self
    }

    pub(crate) fn into_parts(self) -> (axum::Router<WebState>, Vec<Declaration>) {
        (self.router, self.declarations)
    }
}
