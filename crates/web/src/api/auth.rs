use super::ApiRoutes;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use utoipa_axum::routes;

use crate::api::errors::errors;
use crate::error::ApiResult;
use crate::error::ErrorCode as E;
use crate::extract::{ApiJson, Auth, Meta};
use crate::wire::identity::{ChangePassword, Me, SignIn, SignedInBody};
use crate::{SESSION_COOKIE, WebState};

/// The `Set-Cookie` value for a session (or for clearing it, with an empty secret).
pub(crate) fn session_cookie(secure: bool, secret: &str, max_age_secs: i64) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let cookie = format!(
        "{SESSION_COOKIE}={secret}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}"
    );
    // The secret is URL-safe base64, so the header value is always valid.
    HeaderValue::from_str(&cookie)
        .unwrap_or_else(|_| HeaderValue::from_static("farmhand_session=; Max-Age=0"))
}

pub(crate) fn with_session(
    state: &WebState,
    signed_in: &app::SignedIn,
    status: StatusCode,
    body: serde_json::Value,
) -> Response {
    let max_age = signed_in
        .expires_at
        .micros()
        .saturating_sub(state.app.now().micros())
        / 1_000_000;
    let mut response = (status, axum::Json(body)).into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        session_cookie(state.secure_cookies, &signed_in.session_secret, max_age),
    );
    response
}

/// Sign in with email and password.
///
/// Sets an HttpOnly session cookie. Wrong email and wrong password get the same answer;
/// repeated failures per account or address are refused with 429 and `Retry-After`.
#[utoipa::path(post, path = "/auth/sign-in", tag = "auth", request_body = SignIn,
    responses((status = 200, body = SignedInBody)),
    extensions(("x-errors" = json!(errors(&[E::InvalidCredentials, E::TooManyAttempts])))))]
pub async fn sign_in(
    State(state): State<WebState>,
    Meta(meta): Meta,
    ApiJson(input): ApiJson<SignIn>,
) -> ApiResult<Response> {
    let signed_in = state.app.identity().sign_in(input.into(), &meta).await?;
    let body = json!(SignedInBody {
        user: signed_in.user.clone().into(),
        expires_at: signed_in.expires_at.into()
    });
    Ok(with_session(&state, &signed_in, StatusCode::OK, body))
}

/// Sign out: ends this session.
#[utoipa::path(post, path = "/auth/sign-out", tag = "auth",
    responses((status = 204)),
    extensions(("x-errors" = json!(errors(&[E::SessionRequired])))))]
pub async fn sign_out(
    State(state): State<WebState>,
    Meta(meta): Meta,
    Auth(principal): Auth,
) -> ApiResult<Response> {
    state.app.identity().sign_out(&principal, &meta).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        session_cookie(state.secure_cookies, "", 0),
    );
    Ok(response)
}

/// The signed-in user and their organizations.
#[utoipa::path(get, path = "/me", tag = "auth",
    responses((status = 200, body = Me)))]
pub async fn me(State(state): State<WebState>, Auth(principal): Auth) -> ApiResult<axum::Json<Me>> {
    Ok(axum::Json(
        state.app.identity().me(&principal).await?.into(),
    ))
}

/// Change your password (needs the current one). Other sessions are signed out.
#[utoipa::path(post, path = "/me/password", tag = "auth", request_body = ChangePassword,
    responses((status = 204)),
    extensions(("x-errors" = json!(errors(&[E::SessionRequired, E::WrongCurrentPassword, E::InvalidField])))))]
pub async fn change_password(
    State(state): State<WebState>,
    Meta(meta): Meta,
    Auth(principal): Auth,
    ApiJson(input): ApiJson<ChangePassword>,
) -> ApiResult<StatusCode> {
    state
        .app
        .identity()
        .change_password(&principal, input.into(), &meta)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// This module's operations and what each requires.
pub(super) fn routes(api: ApiRoutes) -> ApiRoutes {
    api.public(routes!(sign_in))
        .authenticated(routes!(sign_out))
        .authenticated(routes!(me))
        .authenticated(routes!(change_password))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_cookie_is_secure_when_configured() {
        let cookie = |secure| {
            session_cookie(secure, "abc", 60)
                .to_str()
                .unwrap()
                .to_string()
        };
        assert_eq!(
            cookie(false),
            "farmhand_session=abc; Path=/; HttpOnly; SameSite=Lax; Max-Age=60"
        );
        assert_eq!(
            cookie(true),
            "farmhand_session=abc; Path=/; HttpOnly; SameSite=Lax; Max-Age=60; Secure"
        );
    }
}
