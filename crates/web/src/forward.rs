//! Requests about a printer that another Farmhand instance supervises (several instances share
//! one PostgreSQL; see the app's `instances`) are answered by that instance: this one hands
//! the request on, as the client sent it, and relays the answer. A client behind a load
//! balancer never needs to know which instance drives which printer.
//!
//! Only small requests are handed on (printer control takes a few bytes of JSON); an upload
//! is never buffered for it. A request that was handed on once is never handed on again: if
//! the printer moved meanwhile, the client hears `instance_unavailable` and tries again.

use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::WebState;
use crate::error::{ApiError, ErrorCode};

/// Marks a request one instance handed to another.
const FORWARDED: HeaderName = HeaderName::from_static("x-farmhand-forwarded");

/// The client's address as the handing instance saw it, sealed with the instances' shared key
/// together with the time (`<unix seconds> <address>`), so that the audit log names the
/// client, not the instance; nobody else can make one, and an old one is not taken.
const CLIENT: HeaderName = HeaderName::from_static("x-farmhand-client");

/// How long a sealed client address stays good, seconds.
const CLIENT_MAX_AGE_S: i64 = 60;

/// Bodies up to this size are kept so the request can be handed on.
const MAX_FORWARDED_BODY: usize = 64 * 1024;

/// Longest wait for the other instance's answer.
const FORWARD_TIMEOUT: Duration = Duration::from_secs(30);

/// Headers that belong to one connection, or that the first instance already checked.
const NOT_FORWARDED: [HeaderName; 5] = [
    header::HOST,
    header::CONNECTION,
    header::CONTENT_LENGTH,
    header::TRANSFER_ENCODING,
    header::ORIGIN,
];

/// The HTTP client instances reach each other with.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(FORWARD_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_default()
}

pub async fn to_supervising_instance(
    State(web): State<WebState>,
    request: Request,
    next: Next,
) -> Response {
    let small = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok())
        .map_or(
            // No length: a body-less request, or one sent in chunks (an upload).
            !request.headers().contains_key(header::TRANSFER_ENCODING),
            |length| length <= MAX_FORWARDED_BODY,
        );
    if !small || request.headers().contains_key(&FORWARDED) {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, MAX_FORWARDED_BODY).await else {
        return ApiError::new(
            ErrorCode::UnreadableBody,
            "the request body could not be read",
        )
        .into_response();
    };
    let method = parts.method.clone();
    let path = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path().to_string(), |p| p.as_str().to_string());
    let headers = parts.headers.clone();
    let client = crate::extract::client_ip(&parts, &web).map(|ip| {
        let now = web.app.now().micros() / 1_000_000;
        web.app
            .vault()
            .seal_between_instances(&format!("{now} {ip}"))
    });
    let response = next
        .run(Request::from_parts(parts, Body::from(body.clone())))
        .await;
    let Some(address) = response
        .extensions()
        .get::<ApiError>()
        .and_then(|error| error.forward_to.clone())
    else {
        return response;
    };
    let mut forwarded = web
        .forwarder
        .request(method, format!("{}{path}", address.trim_end_matches('/')))
        .header(FORWARDED, HeaderValue::from_static("1"))
        .body(body);
    for (name, value) in &headers {
        if !NOT_FORWARDED.contains(name) && *name != CLIENT {
            forwarded = forwarded.header(name, value);
        }
    }
    if let Some(client) = client {
        forwarded = forwarded.header(CLIENT, client);
    }
    match relay(forwarded).await {
        Ok(relayed) => relayed,
        Err(error) => {
            tracing::warn!(%address, %error, "the instance supervising the printer did not answer");
            response
        }
    }
}

async fn relay(request: reqwest::RequestBuilder) -> Result<Response, reqwest::Error> {
    let answer = request.send().await?;
    let status = answer.status();
    let headers = answer.headers().clone();
    let body = answer.bytes().await?;
    let mut response = (status, body).into_response();
    for (name, value) in &headers {
        if !NOT_FORWARDED.contains(name) {
            response.headers_mut().insert(name.clone(), value.clone());
        }
    }
    Ok(response)
}

/// The client's address of a request another instance handed on, if it carries one sealed
/// with the instances' key within the last minute.
pub(crate) fn client_of_handed_on(headers: &HeaderMap, web: &WebState) -> Option<String> {
    let sealed = headers.get(&CLIENT)?.to_str().ok()?;
    let opened = web.app.vault().open_between_instances(sealed).ok()?;
    let (sealed_at, ip) = opened.split_once(' ')?;
    let age = web.app.now().micros() / 1_000_000 - sealed_at.parse::<i64>().ok()?;
    (-5..=CLIENT_MAX_AGE_S)
        .contains(&age)
        .then(|| ip.to_string())
}
