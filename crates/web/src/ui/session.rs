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

/// The session's token as a page carries it: XORed with fresh random bytes, the mask first, so
/// that no two pages carry the same bytes. Compressed pages then never repeat a secret that
/// someone could recover a byte at a time by getting text reflected next to it (BREACH).
pub(crate) fn masked_token(token: &str) -> String {
    let Ok(raw) = hex::decode(token) else {
        return String::new();
    };
    let mut mask = vec![0u8; raw.len()];
    rand::rng().fill_bytes(&mut mask);
    let masked: Vec<u8> = raw.iter().zip(&mask).map(|(t, m)| t ^ m).collect();
    format!("{}{}", hex::encode(&mask), hex::encode(masked))
}

/// The token a form carried, its mask taken off; `None` when it is not a masked token.
fn unmasked(given: &str) -> Option<String> {
    let bytes = hex::decode(given).ok()?;
    if bytes.is_empty() || bytes.len() % 2 != 0 {
        return None;
    }
    let (mask, masked) = bytes.split_at(bytes.len() / 2);
    let token: Vec<u8> = mask.iter().zip(masked).map(|(m, x)| m ^ x).collect();
    Some(hex::encode(token))
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
    /// This session's token (forms carry it masked: see `masked_token`).
    pub csrf: String,
}

impl Viewer {
    /// Refuses a form whose token is not this session's (masked, as pages carry it).
    pub(crate) fn check_csrf(&self, given: Option<&str>) -> Result<(), UiError> {
        let given = given.and_then(unmasked).unwrap_or_default();
        if same_token(&self.csrf, &given) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_tokens_differ_each_time_and_unmask_to_the_session_s() {
        let token = csrf_token("a session secret");
        let (one, two) = (masked_token(&token), masked_token(&token));
        assert_ne!(one, two);
        assert!(!one.contains(&token));
        assert_eq!(unmasked(&one).as_deref(), Some(token.as_str()));
        assert_eq!(unmasked(&two).as_deref(), Some(token.as_str()));
        assert_ne!(unmasked(&token).as_deref(), Some(token.as_str()));
        assert_eq!(unmasked("not hex"), None);
        assert_eq!(unmasked(""), None);
        assert_eq!(unmasked("abc"), None);
    }
}
