//! The API's error body: `{"error": {"code", "message", "request_id", ...details}}`, with a
//! stable code per failure and an explicit status. 5xx bodies carry only a request id.

use app::AppError;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

macro_rules! error_codes {
    ($($variant:ident = $code:literal, $status:literal, $meaning:literal;)*) => {
        /// Every error code the API answers with. Each has one status; the OpenAPI document
        /// lists, per operation, the codes it can answer with under their status (see
        /// `api::errors`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum ErrorCode {
            $($variant,)*
        }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The code as it appears in `error.code`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $code,)*
                }
            }

            pub fn status(self) -> StatusCode {
                let status = match self {
                    $(ErrorCode::$variant => $status,)*
                };
                StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            }

            /// When a client gets it, for the documentation.
            pub fn meaning(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $meaning,)*
                }
            }

            pub fn parse(code: &str) -> Option<ErrorCode> {
                ErrorCode::ALL.iter().copied().find(|c| c.as_str() == code)
            }
        }
    };
}

error_codes! {
    InvalidId = "invalid_id", 400,
        "A path parameter is malformed: an ID that is not a positive integer, or text that is not valid UTF-8 once percent-decoded.";
    InvalidPath = "invalid_path", 400,
        "A path parameter is not valid UTF-8 once percent-decoded.";
    InvalidQuery = "invalid_query", 400,
        "The query string has an unknown parameter, or a value of the wrong type or format.";
    MalformedJson = "malformed_json", 400,
        "The body is not valid JSON (the message gives the line and column).";
    UnreadableBody = "unreadable_body", 400,
        "The body could not be read: it broke off, or nothing arrived for a minute.";
    Unauthenticated = "unauthenticated", 401,
        "Not signed in: send the session cookie, or `Authorization: Bearer <API token>`.";
    InvalidToken = "invalid_token", 401,
        "The API token is unknown, revoked or expired.";
    InvalidCredentials = "invalid_credentials", 401,
        "Wrong email or password (the same answer for both).";
    PermissionDenied = "permission_denied", 403,
        "You lack the permission the operation needs (`permission`, with who could grant it in `ask`), or the access to the printer it needs (`needed_access`).";
    PasswordChangeRequired = "password_change_required", 403,
        "Choose a new password first (`POST /api/v1/me/password`).";
    CrossOriginRequest = "cross_origin_request", 403,
        "A change came from another site's page: its `Origin` (scheme, host and port) is not this server's.";
    InsufficientSeniority = "insufficient_seniority", 403,
        "The member, rank or token concerned is not strictly junior to your rank, or not among the members your rank manages, or it is yourself.";
    CannotGrant = "cannot_grant", 403,
        "You cannot hand out permissions or printer access you do not hold yourself.";
    SessionRequired = "session_required", 403,
        "This needs a signed-in session, not an API token.";
    WrongCurrentPassword = "wrong_current_password", 403,
        "The current password is wrong.";
    NotFound = "not_found", 404,
        "The organization does not exist or you are not an active member of it (or your API token is for another one), or the resource named does not exist there or is hidden from you.";
    RouteNotFound = "route_not_found", 404,
        "No route has this path (for instance, a path parameter is empty).";
    MethodNotAllowed = "method_not_allowed", 405,
        "The route does not accept this method.";
    NameTaken = "name_taken", 409,
        "Another one in the organization already has this name.";
    SiteInUse = "site_in_use", 409,
        "The site still has printers; move or remove them first.";
    AlreadyMember = "already_member", 409,
        "The user is already a member of the organization.";
    NoChange = "no_change", 409,
        "The member is already active (or already deactivated).";
    AlreadyRevoked = "already_revoked", 409,
        "The token is already revoked.";
    RankInUse = "rank_in_use", 409,
        "The rank still has members or pending invitations.";
    RankConflict = "rank_conflict", 409,
        "Another rank of the organization has this name or position.";
    RankOrderMismatch = "rank_order_mismatch", 409,
        "The list is not exactly the ranks junior to yours as they are now.";
    GrantExists = "grant_exists", 409,
        "The subject already has a grant on these printers; remove it first.";
    NotTriState = "not_tri_state", 409,
        "The permission is not tri-state in the member's rank, so it cannot be overridden.";
    PrinterNotConnected = "printer_not_connected", 409,
        "Farmhand has no working connection to the printer.";
    PrinterNotReady = "printer_not_ready", 409,
        "The printer's state (named in the message) does not allow it now.";
    PrinterRefused = "printer_refused", 409,
        "The printer understood and refused (busy, not operational, no such file).";
    BedNotAwaitingClear = "bed_not_awaiting_clear", 409,
        "No finished print is waiting for its build plate to be cleared.";
    NotSimulated = "not_simulated", 409,
        "Only a simulated printer takes injected faults.";
    InvitationUsed = "invitation_used", 409,
        "The invitation was already accepted.";
    InvitationDeclined = "invitation_declined", 409,
        "The invitation was declined.";
    NoRoomForRanks = "no_room_for_ranks", 409,
        "No rank position is left below the most junior rank (positions end at 1,000,000); reorder the ranks to close the gaps.";
    InvitationEmailMismatch = "invitation_email_mismatch", 409,
        "The invitation is for another email address; sign in with that account.";
    SignInRequired = "sign_in_required", 409,
        "An account with the invited email exists: sign in, then accept.";
    InvitationExpired = "invitation_expired", 410,
        "The invitation has expired.";
    InvitationRevoked = "invitation_revoked", 410,
        "The invitation was revoked, or withdrawn because whoever sent it can no longer give its rank.";
    BodyTooLarge = "body_too_large", 413,
        "The JSON body is over 2 MiB; refused on its `Content-Length` before it is read.";
    FileTooLarge = "file_too_large", 413,
        "The file is larger than the largest accepted; refused on its `Content-Length` before it is read when it says so.";
    UnsupportedMediaType = "unsupported_media_type", 415,
        "The body is not sent as `Content-Type: application/json`.";
    InvalidBody = "invalid_body", 422,
        "The JSON does not fit the schema: a wrong type, or an unknown or missing field (the message names it).";
    InvalidField = "invalid_field", 422,
        "A value breaks a rule of the schema or of the operation's description (`field` names it).";
    TooManyAttempts = "too_many_attempts", 429,
        "Too many failed sign-ins for this account or address; retry after `Retry-After` seconds.";
    Internal = "internal", 500,
        "Something failed inside Farmhand; the log has the cause under the `request_id`.";
    PrinterCredentialsRefused = "printer_credentials_refused", 502,
        "The printer refused the credentials Farmhand holds for it.";
    PrinterError = "printer_error", 502,
        "The printer answered something Farmhand does not understand, or its connection settings cannot work.";
    PrinterUnreachable = "printer_unreachable", 503,
        "The printer cannot be reached or did not answer in time.";
}

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
            AppError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            // The request is well formed; the member's rank, as it is now, does not allow it.
            AppError::Refused(authz::Refusal::NotTriState(_)) => StatusCode::CONFLICT,
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

    /// One of each failure a use case can return, with the code and status the API gives it.
    fn app_errors() -> Vec<AppError> {
        use authz::{Permission, PermissionSet, Refusal};
        use domain::InvitationStatus;
        use printers::DriverError;
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
        ];
        for code in conflict_codes_of_the_use_cases() {
            all.push(AppError::conflict(code, "x"));
        }
        all
    }

    /// Every code a use case passes to `AppError::conflict` or `on_conflict`, read from the
    /// source of the `app` crate, so that a new one cannot go undocumented.
    fn conflict_codes_of_the_use_cases() -> Vec<&'static str> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../app/src");
        let mut codes = Vec::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            for (i, _) in text.match_indices("conflict(") {
                let rest = &text[i + "conflict(".len()..];
                let rest = rest.trim_start();
                if let Some(literal) = rest.strip_prefix('"') {
                    let code = &literal[..literal.find('"').unwrap()];
                    codes.push(&*Box::leak(code.to_string().into_boxed_str()));
                }
            }
        }
        codes.sort_unstable();
        codes.dedup();
        assert!(codes.len() >= 10, "found {codes:?}");
        codes
    }

    #[test]
    fn every_use_case_failure_has_a_catalogued_code_with_its_status() {
        for error in app_errors() {
            let shown = format!("{error:?}");
            let api = ApiError::from(error);
            // Console-only: `create_org` is not an API operation.
            if api.code == "user_exists" {
                continue;
            }
            let code = ErrorCode::parse(api.code)
                .unwrap_or_else(|| panic!("{shown}: {} is not in ErrorCode", api.code));
            assert_eq!(code.status(), api.status, "{shown}");
        }
    }

    #[test]
    fn codes_are_unique_and_statuses_are_errors() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            assert!(seen.insert(code.as_str()), "{code:?} twice");
            assert!(code.status().as_u16() >= 400, "{code:?}");
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
