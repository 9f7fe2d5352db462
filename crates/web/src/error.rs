//! The API's error body: `{"error": {"code", "message", "request_id", ...details}}`, with a
//! stable code per failure and an explicit status. 5xx bodies carry only a request id.

use app::AppError;
pub use app::ErrorCode;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

/// The status each error code answers with: one for every code, in one place.
pub fn status(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::InvalidId => StatusCode::BAD_REQUEST,
        ErrorCode::InvalidPath => StatusCode::BAD_REQUEST,
        ErrorCode::InvalidQuery => StatusCode::BAD_REQUEST,
        ErrorCode::MalformedJson => StatusCode::BAD_REQUEST,
        ErrorCode::UnreadableBody => StatusCode::BAD_REQUEST,
        ErrorCode::Unauthenticated => StatusCode::UNAUTHORIZED,
        ErrorCode::InvalidToken => StatusCode::UNAUTHORIZED,
        ErrorCode::InvalidCredentials => StatusCode::UNAUTHORIZED,
        ErrorCode::PermissionDenied => StatusCode::FORBIDDEN,
        ErrorCode::PasswordChangeRequired => StatusCode::FORBIDDEN,
        ErrorCode::CrossOriginRequest => StatusCode::FORBIDDEN,
        ErrorCode::InsufficientSeniority => StatusCode::FORBIDDEN,
        ErrorCode::CannotGrant => StatusCode::FORBIDDEN,
        ErrorCode::SessionRequired => StatusCode::FORBIDDEN,
        ErrorCode::WrongCurrentPassword => StatusCode::FORBIDDEN,
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        ErrorCode::RouteNotFound => StatusCode::NOT_FOUND,
        ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        ErrorCode::NameTaken => StatusCode::CONFLICT,
        ErrorCode::SiteInUse => StatusCode::CONFLICT,
        ErrorCode::TargetInUse => StatusCode::CONFLICT,
        ErrorCode::JobNotWaiting => StatusCode::CONFLICT,
        ErrorCode::ReservationOverlaps => StatusCode::CONFLICT,
        ErrorCode::AlreadyMember => StatusCode::CONFLICT,
        ErrorCode::NoChange => StatusCode::CONFLICT,
        ErrorCode::AlreadyRevoked => StatusCode::CONFLICT,
        ErrorCode::RankInUse => StatusCode::CONFLICT,
        ErrorCode::RankConflict => StatusCode::CONFLICT,
        ErrorCode::RankOrderMismatch => StatusCode::CONFLICT,
        ErrorCode::GrantExists => StatusCode::CONFLICT,
        ErrorCode::NotTriState => StatusCode::CONFLICT,
        ErrorCode::PrinterNotConnected => StatusCode::CONFLICT,
        ErrorCode::PrinterNotReady => StatusCode::CONFLICT,
        ErrorCode::PrinterRefused => StatusCode::CONFLICT,
        ErrorCode::BedNotAwaitingClear => StatusCode::CONFLICT,
        ErrorCode::NotSimulated => StatusCode::CONFLICT,
        ErrorCode::InvitationUsed => StatusCode::CONFLICT,
        ErrorCode::InvitationDeclined => StatusCode::CONFLICT,
        ErrorCode::NoRoomForRanks => StatusCode::CONFLICT,
        ErrorCode::InvitationEmailMismatch => StatusCode::CONFLICT,
        ErrorCode::SignInRequired => StatusCode::CONFLICT,
        ErrorCode::UnsupportedFileType => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::InvalidModel => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::NotSliced => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::SliceFinished => StatusCode::CONFLICT,
        ErrorCode::ProjectNotEmpty => StatusCode::CONFLICT,
        ErrorCode::ProjectReadOnly => StatusCode::FORBIDDEN,
        ErrorCode::QuotaExceeded => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::InsufficientBalance => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::AlreadyDecided => StatusCode::CONFLICT,
        ErrorCode::InvalidTransition => StatusCode::CONFLICT,
        ErrorCode::IdempotencyKeyReused => StatusCode::CONFLICT,
        ErrorCode::FileNotReady => StatusCode::CONFLICT,
        ErrorCode::NotApprovable => StatusCode::CONFLICT,
        ErrorCode::NoPrinterForTarget => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::DoesNotFit => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::MaterialMismatch => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::NozzleMismatch => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::InvalidAnswers => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::InvitationExpired => StatusCode::GONE,
        ErrorCode::InvitationRevoked => StatusCode::GONE,
        ErrorCode::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::FileTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ErrorCode::InvalidBody => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::InvalidField => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::TooManyAttempts => StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        ErrorCode::PrinterCredentialsRefused => StatusCode::BAD_GATEWAY,
        ErrorCode::PrinterError => StatusCode::BAD_GATEWAY,
        ErrorCode::PrinterUnreachable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::InstanceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::UserExists => StatusCode::CONFLICT,
    }
}

/// An error on its way to the client. Rendered as JSON by [`add_request_id`] once the request
/// id is known.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: ErrorCode,
    pub message: String,
    /// Extra fields of the error object (permission, field, …), in order.
    pub details: Vec<(&'static str, Value)>,
    pub retry_after: Option<u64>,
    /// The address of the instance that can answer instead (see `forward`).
    pub forward_to: Option<String>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status: status(code),
            code,
            message: message.into(),
            details: Vec::new(),
            retry_after: None,
            forward_to: None,
        }
    }

    pub fn with(mut self, key: &'static str, value: Value) -> ApiError {
        self.details.push((key, value));
        self
    }

    pub fn body(&self, request_id: Option<&str>) -> Value {
        let mut error = Map::new();
        error.insert("code".into(), json!(self.code.as_str()));
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
        if let AppError::Internal(source) = &error {
            tracing::error!(error = %source, chain = ?source, "internal error");
            return ApiError::new(
                code,
                "internal error; quote the request id when reporting it",
            );
        }
        let mut api = ApiError::new(code, error.to_string());
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
                    api = api.with(
                        "needed_access",
                        json!(crate::wire::access::AccessLevel::from(level)),
                    );
                }
            }
            AppError::Elsewhere { address } => {
                api.retry_after = Some(30);
                api.forward_to = Some(address);
            }
            AppError::FileTooLarge { limit } => api = api.with("limit_bytes", json!(limit)),
            AppError::UnsupportedFile(found) => {
                api = api
                    .with("found", json!(found.key()))
                    .with("accepted", json!(["gcode", "stl", "3mf", "obj"]));
            }
            AppError::SettingDenied {
                setting,
                permission,
                locked,
                ask,
            } => {
                if let Some(why) = locked {
                    api = api.with("locked", json!(why));
                }
                api = api
                    .with("setting", json!(setting))
                    .with("permission", json!(permission.key()))
                    .with("title", json!(permission.title()))
                    .with("ask", json!(ask));
            }
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

    /// One of each failure a use case can return, with the code and status the API gives it.
    fn app_errors() -> Vec<AppError> {
        use app::DriverError;
        use authz::{Permission, PermissionSet, Refusal};
        use domain::InvitationStatus;
        let mut all = vec![
            AppError::Invalid(domain::Invalid::new("name", "must not be empty")),
            AppError::not_found("site"),
            AppError::PermissionDenied {
                permission: Permission::SitesManage,
                ask: Vec::new(),
                need_access: None,
            },
            AppError::Seniority("no".into()),
            AppError::Refused(Refusal::NotJunior("manage")),
            AppError::Refused(Refusal::SelfChange),
            AppError::Refused(Refusal::OwnerRank),
            AppError::Refused(Refusal::OutsideMemberScope("sites")),
            AppError::Refused(Refusal::CannotGrant(PermissionSet::EMPTY)),
            AppError::Refused(Refusal::CannotGrantAccess {
                printer: domain::PrinterId(1),
                need: authz::AccessLevel::Manage,
                have: authz::AccessLevel::View,
            }),
            AppError::Refused(Refusal::NotTriState("files.upload")),
            AppError::Unauthenticated,
            AppError::InvalidCredentials,
            AppError::WrongCurrentPassword,
            AppError::Throttled {
                retry_after_secs: 5,
            },
            AppError::PasswordChangeRequired,
            AppError::SessionRequired,
            AppError::InvitationUnusable(InvitationStatus::Accepted),
            AppError::InvitationUnusable(InvitationStatus::Expired),
            AppError::InvitationUnusable(InvitationStatus::Revoked),
            AppError::Printer(DriverError::Unreachable("x".into())),
            AppError::Printer(DriverError::Timeout(std::time::Duration::from_secs(1))),
            AppError::Printer(DriverError::Unauthorized),
            AppError::Printer(DriverError::Refused("busy".into())),
            AppError::Printer(DriverError::Protocol("?".into())),
            AppError::Printer(DriverError::Config("?".into())),
            AppError::internal(std::io::Error::other("x")),
            AppError::Elsewhere {
                address: "http://127.0.0.1:1".into(),
            },
            AppError::UnsupportedFile(app::FoundKind::Png),
            AppError::InvalidModel("the STL has no facets".into()),
            AppError::SettingDenied {
                setting: "fill_pattern".into(),
                permission: Permission::SlicerAdvancedTab,
                locked: None,
                ask: Vec::new(),
            },
        ];
        for code in ErrorCode::ALL {
            all.push(AppError::conflict(*code, "x"));
        }
        all
    }

    #[test]
    fn every_use_case_failure_answers_with_its_codes_status() {
        for error in app_errors() {
            let shown = format!("{error:?}");
            let code = error.code();
            let api = ApiError::from(error);
            assert_eq!(api.code, code, "{shown}");
            assert_eq!(api.status, status(code), "{shown}");
        }
    }

    #[test]
    fn codes_are_unique_and_statuses_are_errors() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            assert!(seen.insert(code.as_str()), "{code:?} twice");
            assert!(status(*code).as_u16() >= 400, "{code:?}");
            assert_eq!(ErrorCode::parse(code.as_str()), Some(*code));
        }
    }

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
