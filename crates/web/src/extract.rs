//! Extractors that turn malformed input into precise API errors, and authentication.

use std::net::SocketAddr;

use app::{OrgActor, Principal, RequestMeta};
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{ConnectInfo, FromRef, FromRequest, FromRequestParts, RawPathParams, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use domain::OrgId;
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::error::ErrorCode;
use crate::routes::Requires;
use crate::{SESSION_COOKIE, WebState};

/// Largest JSON request body, bytes. The router's default body limit is set to the same, so a
/// body without `Content-Length` (chunked) is cut off there while it is read.
pub const MAX_JSON_BODY_BYTES: usize = 2 * 1024 * 1024;

/// The request's `Content-Length`, when it has a valid one.
pub(crate) fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// 413 `body_too_large`, naming the limit.
fn body_too_large() -> ApiError {
    ApiError::new(
        ErrorCode::BodyTooLarge,
        format!(
            "the request body must be at most {MAX_JSON_BODY_BYTES} bytes ({} MiB) of JSON",
            MAX_JSON_BODY_BYTES >> 20
        ),
    )
    .with("limit_bytes", serde_json::json!(MAX_JSON_BODY_BYTES))
}

/// Refuses, before reading a byte of it, a body whose `Content-Length` is over the JSON limit.
fn refuse_oversized_json(req: &Request) -> Result<(), ApiError> {
    let limit = u64::try_from(MAX_JSON_BODY_BYTES).unwrap_or(u64::MAX);
    match content_length(req.headers()) {
        Some(length) if length > limit => Err(body_too_large()),
        _ => Ok(()),
    }
}

/// A JSON body; syntax errors become 400 with serde's precise message (line and column), wrong
/// types and unknown fields 422 naming the field. A body over [`MAX_JSON_BODY_BYTES`] is 413
/// `body_too_large`: at once when `Content-Length` says so, else when the limit is reached.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        refuse_oversized_json(&req)?;
        match axum::Json::<serde_json::Value>::from_request(req, state).await {
            Ok(axum::Json(value)) => typed(value).map(ApiJson),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

/// A JSON body that is a list of `T` (`[…]`, the operations that replace a whole list), read
/// as [`ApiJson`] reads an object.
pub struct ApiJsonList<T>(pub Vec<T>);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJsonList<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        refuse_oversized_json(&req)?;
        let mut value = match axum::Json::<serde_json::Value>::from_request(req, state).await {
            Ok(axum::Json(value)) => value,
            Err(rejection) => return Err(json_rejection(rejection)),
        };
        if !value.is_array() {
            return Err(ApiError::new(
                ErrorCode::InvalidBody,
                "the body must be a JSON array",
            ));
        }
        integral_numbers_as_integers(&mut value);
        serde_path_to_error::deserialize(value)
            .map(ApiJsonList)
            .map_err(|e| ApiError::new(ErrorCode::InvalidBody, e.to_string()))
    }
}

/// The body as `T`: a JSON object. A number without a fractional part is an integer, as JSON
/// Schema (and so the API's document) counts it: `3.0` is accepted where an integer is
/// expected.
fn typed<T: DeserializeOwned>(mut value: serde_json::Value) -> Result<T, ApiError> {
    // Every body of the API is an object; serde would also read a struct from an array.
    if !value.is_object() {
        return Err(ApiError::new(
            ErrorCode::InvalidBody,
            "the body must be a JSON object",
        ));
    }
    integral_numbers_as_integers(&mut value);
    serde_path_to_error::deserialize(value)
        .map_err(|e| ApiError::new(ErrorCode::InvalidBody, e.to_string()))
}

fn integral_numbers_as_integers(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Number(n) if n.is_f64() => {
            // Exactly representable integers only: beyond 2^53 a float no longer says which.
            const EXACT: f64 = 9_007_199_254_740_992.0;
            if let Some(f) = n.as_f64()
                && f.fract() == 0.0
                && f.abs() <= EXACT
            {
                // Integral and within ±2^53 (checked above), so the cast is exact.
                *n = serde_json::Number::from(f as i64);
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(integral_numbers_as_integers),
        serde_json::Value::Object(fields) => {
            fields.values_mut().for_each(integral_numbers_as_integers)
        }
        _ => {}
    }
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    match rejection {
        other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => body_too_large(),
        JsonRejection::JsonDataError(e) => ApiError::new(ErrorCode::InvalidBody, source_text(&e)),
        JsonRejection::JsonSyntaxError(e) => {
            ApiError::new(ErrorCode::MalformedJson, source_text(&e))
        }
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "send the body as JSON with Content-Type: application/json",
        ),
        other => ApiError::new(ErrorCode::UnreadableBody, other.body_text()),
    }
}

/// The innermost cause: serde's message without axum's generic prefix.
fn source_text(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
}

/// Path parameters; a malformed ID is a 400 naming the kind of ID.
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(ApiPath(value)),
            Err(PathRejection::FailedToDeserializePathParams(e)) => {
                Err(ApiError::new(ErrorCode::InvalidId, e.kind().to_string()))
            }
            Err(other) => Err(ApiError::new(ErrorCode::InvalidPath, other.body_text())),
        }
    }
}

/// Query parameters; unknown parameters and wrong types are a 400.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(ApiQuery(value)),
            Err(QueryRejection::FailedToDeserializeQueryString(e)) => {
                Err(ApiError::new(ErrorCode::InvalidQuery, source_text(&e)))
            }
            Err(other) => Err(ApiError::new(ErrorCode::InvalidQuery, other.body_text())),
        }
    }
}

/// Where the request came from, for the audit log.
pub struct Meta(pub RequestMeta);

impl<S: Send + Sync> FromRequestParts<S> for Meta
where
    WebState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let web = WebState::from_ref(state);
        // A request another instance handed on is the client's, as that instance saw it.
        let handed_on = crate::forward::client_of_handed_on(&parts.headers, &web);
        let client_ip = handed_on.or_else(|| client_ip(parts, &web));
        let text = |name: header::HeaderName| {
            parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(|s| s.chars().take(512).collect())
        };
        Ok(Meta(RequestMeta {
            client_ip,
            user_agent: text(header::USER_AGENT),
            request_id: crate::request_id(&parts.headers),
        }))
    }
}

/// The client's address: what a trusted proxy says, else the connection's peer.
pub(crate) fn client_ip(parts: &Parts, web: &WebState) -> Option<String> {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string());
    let forwarded = web
        .trust_forwarded_for
        .then(|| {
            parts
                .headers
                .get("x-forwarded-for")?
                .to_str()
                .ok()?
                .split(',')
                .next()
                .map(|s| s.trim().to_string())
        })
        .flatten();
    forwarded.or(peer)
}

pub(crate) fn session_secret(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_string())
}

async fn principal(parts: &Parts, web: &WebState) -> Result<Option<Principal>, ApiError> {
    if let Some(auth) = parts.headers.get(header::AUTHORIZATION) {
        let token = auth
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::Unauthenticated,
                    "use Authorization: Bearer <API token>",
                )
            })?;
        return match web.app.identity().authenticate_token(token.trim()).await? {
            Some(p) => Ok(Some(p)),
            None => Err(ApiError::new(
                ErrorCode::InvalidToken,
                "the API token is unknown, revoked or expired",
            )),
        };
    }
    match session_secret(parts) {
        Some(secret) => Ok(web.app.identity().authenticate_session(&secret).await?),
        None => Ok(None),
    }
}

/// A signed-in principal (session or token); 401 otherwise.
pub struct Auth(pub Principal);

impl<S: Send + Sync> FromRequestParts<S> for Auth
where
    WebState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let web = WebState::from_ref(state);
        principal(parts, &web)
            .await?
            .map(Auth)
            .ok_or_else(|| ApiError::new(ErrorCode::Unauthenticated, "sign in first"))
    }
}

/// A principal if there is one.
pub struct MaybeAuth(pub Option<Principal>);

impl<S: Send + Sync> FromRequestParts<S> for MaybeAuth
where
    WebState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Ok(MaybeAuth(
            principal(parts, &WebState::from_ref(state)).await?,
        ))
    }
}

/// The signed-in member of the organization named by the `{org_id}` path parameter, already
/// checked against the permission the route declares.
pub struct Org(pub OrgActor);

impl<S: Send + Sync> FromRequestParts<S> for Org
where
    WebState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let web = WebState::from_ref(state);
        let org = {
            let params = RawPathParams::from_request_parts(parts, state)
                .await
                .map_err(|e| ApiError::new(ErrorCode::InvalidPath, e.body_text()))?;
            let raw = params
                .iter()
                .find(|(name, _)| *name == "org_id")
                .map(|(_, value)| value.to_string())
                .ok_or_else(|| {
                    ApiError::from(app::AppError::Internal("route has no {org_id}".into()))
                })?;
            raw.parse::<OrgId>()
                .map_err(|e| ApiError::new(ErrorCode::InvalidId, e.to_string()))?
        };
        let Auth(principal) = Auth::from_request_parts(parts, state).await?;
        let Meta(meta) = Meta::from_request_parts(parts, state).await?;
        let actor = web.app.org_actor(principal, org, meta).await?;
        match parts.extensions.get::<Requires>() {
            Some(Requires::Permission(permission)) => actor.require(*permission)?,
            other => {
                return Err(ApiError::from(app::AppError::Internal(
                    format!("organization route without a declared permission: {other:?}").into(),
                )));
            }
        }
        Ok(Org(actor))
    }
}

/// A JSON body that may be absent (empty); present, it is checked like [`ApiJson`] (and
/// limited like it).
pub struct OptionalJson<T>(pub Option<T>);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        refuse_oversized_json(&req)?;
        let json_content = is_json(req.headers());
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| {
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    body_too_large()
                } else {
                    ApiError::new(ErrorCode::UnreadableBody, e.body_text())
                }
            })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJson(None));
        }
        // Present, it is JSON like any other body: said so in its content type.
        if !json_content {
            return Err(json_rejection(JsonRejection::MissingJsonContentType(
                Default::default(),
            )));
        }
        let value: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|e| ApiError::new(ErrorCode::MalformedJson, e.to_string()))?;
        typed(value).map(|v| OptionalJson(Some(v)))
    }
}

/// Whether the request says its body is JSON (`application/json` or `application/*+json`), as
/// axum's `Json` extractor requires.
fn is_json(headers: &axum::http::HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || essence
            .strip_prefix("application/")
            .is_some_and(|subtype| subtype.ends_with("+json"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[derive(Debug, serde::Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Input {
        count: i32,
        ids: Vec<domain::SiteId>,
        ratio: f64,
    }

    #[test]
    fn integral_numbers_are_integers_as_json_schema_counts_them() {
        let input: Input = typed(json!({ "count": 3.0, "ids": [1.0, 2], "ratio": 2.0 })).unwrap();
        assert_eq!(
            input,
            Input {
                count: 3,
                ids: vec![domain::SiteId(1), domain::SiteId(2)],
                ratio: 2.0
            }
        );
        for bad in [
            json!({ "count": 3.5, "ids": [], "ratio": 1 }),
            json!({ "count": 1e300, "ids": [], "ratio": 1 }),
        ] {
            let error = typed::<Input>(bad).unwrap_err();
            assert_eq!(
                (error.status.as_u16(), error.code.as_str()),
                (422, "invalid_body")
            );
            assert!(error.message.starts_with("count: "), "{}", error.message);
        }
    }

    #[test]
    fn bodies_are_objects() {
        // serde alone would read the struct from an array of its fields.
        let error = typed::<Input>(json!([1, [], 1.5])).unwrap_err();
        assert_eq!(
            (error.code.as_str(), error.message.as_str()),
            ("invalid_body", "the body must be a JSON object")
        );
    }

    #[test]
    fn json_content_types() {
        let with = |value: &str| {
            let mut headers = axum::http::HeaderMap::new();
            headers.insert(header::CONTENT_TYPE, value.parse().unwrap());
            is_json(&headers)
        };
        assert!(with("application/json"));
        assert!(with("Application/JSON; charset=utf-8"));
        assert!(with("application/merge-patch+json"));
        assert!(!with("text/plain"));
        assert!(!with("application/jsonx"));
        assert!(!is_json(&axum::http::HeaderMap::new()));
    }
}
