//! What each route requires, declared once in its OpenAPI operation as the extension
//! `x-permission` ("public", "authenticated", or a catalog permission key), and enforced from
//! the generated document, so the documentation and the enforcement cannot disagree.

use std::collections::HashMap;

use authz::Permission;
use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use utoipa::openapi::OpenApi;
use utoipa::openapi::path::Operation;

use crate::error::ApiError;
use crate::error::ErrorCode;

pub const PERMISSION_EXTENSION: &str = "x-permission";
/// Permissions a route checks on the resource beyond the one it requires (for example
/// managing other members' tokens), listed for the permission matrix and the coverage test.
pub const ALSO_EXTENSION: &str = "x-permission-also";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequiredAccess {
    Public,
    Authenticated,
    Permission(Permission),
}

impl RequiredAccess {
    pub fn parse(value: &str) -> Option<RequiredAccess> {
        match value {
            "public" => Some(RequiredAccess::Public),
            "authenticated" => Some(RequiredAccess::Authenticated),
            key => Permission::from_key(key).map(RequiredAccess::Permission),
        }
    }
}

/// The operations of a document with their method and path.
pub fn operations(doc: &OpenApi) -> Vec<(Method, String, &Operation)> {
    let mut list = Vec::new();
    for (path, item) in &doc.paths.paths {
        let methods = [
            (Method::GET, &item.get),
            (Method::POST, &item.post),
            (Method::PUT, &item.put),
            (Method::PATCH, &item.patch),
            (Method::DELETE, &item.delete),
        ];
        for (method, operation) in methods {
            if let Some(operation) = operation {
                list.push((method, path.clone(), operation));
            }
        }
    }
    list
}

/// The declared access of an operation, or why it has none.
pub fn declared_access(operation: &Operation) -> Result<RequiredAccess, String> {
    let value = operation
        .extensions
        .as_ref()
        .and_then(|e| e.get(PERMISSION_EXTENSION))
        .ok_or_else(|| format!("no {PERMISSION_EXTENSION} extension"))?;
    let key = value
        .as_str()
        .ok_or_else(|| format!("{PERMISSION_EXTENSION} must be a string"))?;
    RequiredAccess::parse(key).ok_or_else(|| format!("unknown permission {key:?}"))
}

/// Route → required access, built from the OpenAPI document at start-up.
#[derive(Debug, Default)]
pub struct AccessTable {
    routes: HashMap<(Method, String), RequiredAccess>,
}

impl AccessTable {
    /// Fails on the first operation without a valid declaration.
    pub fn from_openapi(doc: &OpenApi) -> Result<AccessTable, String> {
        let mut routes = HashMap::new();
        for (method, path, operation) in operations(doc) {
            let access = declared_access(operation).map_err(|e| format!("{method} {path}: {e}"))?;
            routes.insert((method, path), access);
        }
        Ok(AccessTable { routes })
    }

    pub fn get(&self, method: &Method, path: &str) -> Option<RequiredAccess> {
        self.routes
            .get(&(method.clone(), path.to_string()))
            .copied()
    }
}

/// Middleware: attaches the route's declared access to the request; a route with none is
/// refused (it would be a bug, caught by the route coverage test first).
pub async fn attach(
    State(table): State<std::sync::Arc<AccessTable>>,
    mut request: Request,
    next: Next,
) -> Response {
    let Some(path) = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
    else {
        return next.run(request).await;
    };
    let method = if request.method() == Method::HEAD {
        Method::GET
    } else {
        request.method().clone()
    };
    match table.get(&method, &path) {
        Some(access) => {
            request.extensions_mut().insert(access);
            next.run(request).await
        }
        None => {
            tracing::error!(%method, %path, "route has no declared access");
            ApiError::new(ErrorCode::Internal, "internal error").into_response()
        }
    }
}
