//! Who is looking at a page: the signed-in person (from the session cookie, exactly as the API
//! reads it), the organization member the path names, already checked against the route's
//! declared permission, and the CSRF token of their session.
//!
//! CSRF: every state-changing form carries a token derived from the session's secret (which
//! lives only in an HttpOnly cookie), compared in constant time. Before signing in, the
//! sign-in form's token is a random value also set in a cookie of its own (double submit).
//! The server also refuses state-changing requests that name another origin (see `origin`).

use app::{OrgActor, Principal, RequestMeta};
use axum::extract::{FromRef, FromRequest, FromRequestParts, RawPathParams, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use domain::OrgId;
use rand::RngCore;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use super::error::UiError;
use crate::WebState;
use crate::extract::{Meta, session_secret};
use crate::routes::Requires;

/// The cookie holding the sign-in form's token before there is a session.
pub(crate) const SIGN_IN_CSRF_COOKIE: &str = "farmhand_sign_in_csrf";
/// The form field carrying the token.
pub(crate) const CSRF_FIELD: &str = "csrf";

/// The CSRF token of a session: a digest of its secret, so it needs no storage and ends with
/// the session.
pub(crate) fn csrf_token(session_secret: &str) -> String {
    let mut digest = Sha256::new();
    digest.update(b"farmhand web interface csrf\0");
    digest.update(session_secret.as_bytes());
    hex::encode(digest.finalize())
}

/// A fresh random token for the sign-in form.
pub(crate) fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Equal, in time that does not depend on where they differ.
pub(crate) fn same_token(expected: &str, given: &str) -> bool {
    let (a, b) = (expected.as_bytes(), given.as_bytes());
    !a.is_empty()
        && a.len() == b.len()
        && a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

/// A cookie's value from the request.
pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value.to_string())
}

/// Where to come back to after signing in: this page (path and query).
fn here(parts: &Parts) -> String {
    parts
        .uri
        .path_and_query()
        .map_or_else(|| "/".to_string(), |pq| pq.as_str().to_string())
}

/// The signed-in person. Without a session, pages send them to the sign-in page (and back
/// here afterwards).
pub(crate) struct Viewer {
    pub principal: Principal,
    pub meta: RequestMeta,
    /// The token this session's forms carry.
    pub csrf: String,
}

impl Viewer {
    /// Refuses a form whose token is not this session's.
    pub(crate) fn check_csrf(&self, given: Option<&str>) -> Result<(), UiError> {
        if same_token(&self.csrf, given.unwrap_or_default()) {
            Ok(())
        } else {
            Err(UiError::Csrf)
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Viewer
where
    WebState: FromRef<S>,
{
    type Rejection = UiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, UiError> {
        let web = WebState::from_ref(state);
        let sign_in = || UiError::SignIn { next: here(parts) };
        let Some(secret) = session_secret(parts) else {
            return Err(sign_in());
        };
        let Some(principal) = web.app.identity().authenticate_session(&secret).await? else {
            return Err(sign_in());
        };
        let Ok(Meta(meta)) = Meta::from_request_parts(parts, state).await else {
            return Err(UiError::Internal("request metadata".into()));
        };
        Ok(Viewer {
            principal,
            meta,
            csrf: csrf_token(&secret),
        })
    }
}

/// The signed-in member of the organization in the path (`{org_id}`), holding the permission
/// the route declares. Someone who is not a member sees "not found", as for an organization
/// that does not exist.
pub(crate) struct InOrg {
    pub viewer: Viewer,
    pub actor: OrgActor,
    pub org_name: String,
    pub org_count: usize,
}

impl<S: Send + Sync> FromRequestParts<S> for InOrg
where
    WebState: FromRef<S>,
{
    type Rejection = UiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, UiError> {
        let web = WebState::from_ref(state);
        let org = {
            let params = RawPathParams::from_request_parts(parts, state)
                .await
                .map_err(|_| UiError::NotFound)?;
            params
                .iter()
                .find(|(name, _)| *name == "org_id")
                .and_then(|(_, value)| value.parse::<OrgId>().ok())
                .ok_or(UiError::NotFound)?
        };
        let viewer = Viewer::from_request_parts(parts, state).await?;
        let actor = web
            .app
            .org_actor(viewer.principal.clone(), org, viewer.meta.clone())
            .await?;
        let me = web.app.identity().me(&viewer.principal).await?;
        let org_name = me
            .memberships
            .iter()
            .find(|m| m.org_id == org)
            .map(|m| m.org_name.clone())
            .unwrap_or_default();
        let member = InOrg {
            viewer,
            actor,
            org_name,
            org_count: me.memberships.len(),
        };
        match parts.extensions.get::<Requires>() {
            Some(Requires::Permission(permission)) => {
                if let Err(error) = member.actor.require(*permission) {
                    return Err(UiError::from(error).framed(&member));
                }
            }
            other => {
                return Err(UiError::Internal(format!(
                    "organization page without a declared permission: {other:?}"
                )));
            }
        }
        Ok(member)
    }
}

#[derive(serde::Deserialize)]
struct TokenField {
    csrf: Option<String>,
}

/// A URL-encoded form of a request from `viewer`, read only once its CSRF token has been
/// checked against the session's.
pub(crate) async fn checked_form<T: DeserializeOwned>(
    viewer: &Viewer,
    request: Request,
) -> Result<T, UiError> {
    let bytes = axum::body::Bytes::from_request(request, &())
        .await
        .map_err(|_| UiError::BadForm("the form could not be read".into()))?;
    let token: TokenField = serde_urlencoded::from_bytes(&bytes).map_err(|_| UiError::Csrf)?;
    viewer.check_csrf(token.csrf.as_deref())?;
    serde_urlencoded::from_bytes(&bytes).map_err(|e| UiError::BadForm(e.to_string()))
}
