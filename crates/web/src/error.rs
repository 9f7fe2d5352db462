//! The API's error body: `{"error": {"code", "message", "request_id", ...details}}`, with a
//! stable code per failure and an explicit status. 5xx bodies carry only a request id.

use app::AppError;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

/// An error on its way to the client. Rendered as JSON by [`add_request_id`] once the request
/// id is known.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Extra fields of the error object (permission, field, …), in order.
    pub details: Vec<(&'static str, Value)>,
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            details: Vec::new(),
            retry_after: None,
        }
    }

    pub fn with(mut self, key: &'static str, value: Value) -> ApiError {
        self.details.push((key, value));
        self
    }

    pub fn body(&self, request_id: Option<&str>) -> Value {
        let mut error = Map::new();
        error.insert("code".into(), json!(self.code));
        error.insert("message".into(), json!(self.message));
        if let Some(id) = request_id {
            error.insert("request_id".into(), json!(id));
        }
        for (k, v) in &self.details {
            error.insert((*k).to_string(), v.clone());
        }
        json!({ "error": error })
    }
}

impl From<AppError> for ApiError {
    fn from(error: AppError) -> ApiError {
        let code = error.code();
        let status = match &error {
            AppError::Invalid(_) | AppError::Refused(authz::Refusal::NotTriState(_)) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            AppError::NotFound { .. } => StatusCode::NOT_FOUND,
            AppError::PermissionDenied { .. }
            | AppError::Seniority(_)
            | AppError::Refused(_)
            | AppError::PasswordChangeRequired
            | AppError::SessionRequired
            | AppError::WrongCurrentPassword => StatusCode::FORBIDDEN,
            AppError::Unauthenticated | AppError::InvalidCredentials => StatusCode::UNAUTHORIZED,
            AppError::FileTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UnreadableBody(_) => StatusCode::BAD_REQUEST,
            AppError::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Conflict { .. } => StatusCode::CONFLICT,
            AppError::Printer(printers::DriverError::Refused(_)) => StatusCode::CONFLICT,
            AppError::Printer(
                printers::DriverError::Unreachable(_) | printers::DriverError::Timeout(_),
            ) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Printer(_) => StatusCode::BAD_GATEWAY,
            AppError::InvitationUnusable(
                domain::InvitationStatus::Expired | domain::InvitationStatus::Revoked,
            ) => StatusCode::GONE,
            AppError::InvitationUnusable(_) => StatusCode::CONFLICT,
            AppError::InvitationWithdrawn => StatusCode::GONE,
            AppError::Internal(source) => {
                tracing::error!(error = %source, chain = ?source, "internal error");
                return ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    code,
                    "internal error; quote the request id when reporting it",
                );
            }
        };
        let mut api = ApiError::new(status, code, error.to_string());
        match error {
            AppError::Invalid(invalid) => api = api.with("field", json!(invalid.field)),
            AppError::PermissionDenied {
                permission,
                ask,
                need_access,
            } => {
                api = api
                    .with("permission", json!(permission.key()))
                    .with("title", json!(permission.title()))
                    .with("ask", json!(ask));
                if let Some(level) = need_access {
                    api = api.with("needed_access", json!(level));
                }
            }
            AppError::FileTooLarge { limit } => api = api.with("limit_bytes", json!(limit)),
            AppError::Throttled { retry_after_secs } => {
                api.retry_after = Some(retry_after_secs);
                api = api.with("retry_after_seconds", json!(retry_after_secs));
            }
            _ => {}
        }
        api
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.body(None))).into_response();
        if let Some(secs) = self.retry_after
            && let Ok(value) = HeaderValue::from_str(&secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response.extensions_mut().insert(self);
        response
    }
}

/// Middleware: re-renders error bodies with the request's id, so clients can quote it.
pub async fn add_request_id(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let request_id = crate::request_id(request.headers());
    let mut response = next.run(request).await;
    if let Some(error) = response.extensions_mut().remove::<ApiError>() {
        let status = response.status();
        let headers = std::mem::take(response.headers_mut());
        let mut fresh = (status, axum::Json(error.body(request_id.as_deref()))).into_response();
        for (name, value) in headers.iter() {
            if name != header::CONTENT_LENGTH {
                fresh.headers_mut().insert(name.clone(), value.clone());
            }
        }
        return fresh;
    }
    response
}

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_reveal_nothing_but_the_request_id() {
        let cause = std::io::Error::other("relation \"secret_table\" does not exist at 10.0.0.5");
        let error = ApiError::from(AppError::internal(cause));
        assert_eq!(error.status, StatusCode::INTERNAL_SERVER_ERROR);
        let body = error.body(Some("req-9")).to_string();
        assert!(
            !body.contains("secret_table") && !body.contains("10.0.0.5"),
            "{body}"
        );
        assert_eq!(
            error.body(Some("req-9")),
            json!({"error": {"code": "internal", "message": "internal error; quote the request id when reporting it", "request_id": "req-9"}})
        );
    }
}
