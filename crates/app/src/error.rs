use authz::{AccessLevel, Permission, Refusal};
use domain::{Invalid, InvitationStatus};
use store::StoreError;

/// Everything a use case can refuse or fail with. Each variant has a stable code (see
/// [`AppError::code`]); the web layer maps it to a status.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    Invalid(#[from] Invalid),
    #[error("{what} not found")]
    NotFound { what: &'static str },
    #[error("{}", denied_message(*permission, *need_access))]
    PermissionDenied {
        permission: Permission,
        ask: Vec<String>,
        need_access: Option<AccessLevel>,
    },
    #[error("{0}")]
    Seniority(String),
    #[error("{0}")]
    Refused(Refusal),
    #[error("sign in first")]
    Unauthenticated,
    #[error("wrong email or password")]
    InvalidCredentials,
    #[error("the current password is wrong")]
    WrongCurrentPassword,
    #[error("too many sign-in attempts; try again in {retry_after_secs} seconds")]
    Throttled { retry_after_secs: u64 },
    #[error("you must choose a new password before continuing")]
    PasswordChangeRequired,
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error("this invitation is {}", invitation_status_word(*.0))]
    InvitationUnusable(InvitationStatus),
    #[error(
        "this invitation was withdrawn: whoever sent it can no longer give this rank; ask for a new one"
    )]
    InvitationWithdrawn,
    #[error("this action needs a signed-in session, not an API token")]
    SessionRequired,
    /// An uploaded file passed the size limit (it was not read further).
    #[error("the file must be at most {limit} bytes ({} MiB)", limit >> 20)]
    FileTooLarge { limit: u64 },
    /// The request body broke off or could not be decoded.
    #[error("the request body could not be read: {0}")]
    UnreadableBody(String),
    /// The printer could not do what was asked (unreachable, refused, answered nonsense).
    #[error("{0}")]
    Printer(printers::DriverError),
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

fn denied_message(permission: Permission, need_access: Option<AccessLevel>) -> String {
    match need_access {
        None => format!(
            "you need the permission {:?} ({})",
            permission.key(),
            permission.title()
        ),
        Some(level) => format!(
            "{:?} ({}) needs {level} access to this printer, which you do not have",
            permission.key(),
            permission.title()
        ),
    }
}

fn invitation_status_word(status: InvitationStatus) -> &'static str {
    match status {
        InvitationStatus::Pending => "pending",
        InvitationStatus::Accepted => "already accepted",
        InvitationStatus::Revoked => "revoked",
        InvitationStatus::Declined => "declined",
        InvitationStatus::Expired => "expired",
    }
}

impl AppError {
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Invalid(_) => "invalid_field",
            AppError::NotFound { .. } => "not_found",
            AppError::PermissionDenied { .. } => "permission_denied",
            AppError::Seniority(_) => "insufficient_seniority",
            AppError::Refused(refusal) => match refusal {
                Refusal::CannotGrant(_) | Refusal::CannotGrantAccess { .. } => "cannot_grant",
                Refusal::NotTriState(_) => "not_tri_state",
                _ => "insufficient_seniority",
            },
            AppError::Unauthenticated => "unauthenticated",
            AppError::InvalidCredentials => "invalid_credentials",
            AppError::WrongCurrentPassword => "wrong_current_password",
            AppError::Throttled { .. } => "too_many_attempts",
            AppError::PasswordChangeRequired => "password_change_required",
            AppError::Conflict { code, .. } => code,
            AppError::InvitationUnusable(InvitationStatus::Expired) => "invitation_expired",
            AppError::InvitationUnusable(InvitationStatus::Revoked) => "invitation_revoked",
            AppError::InvitationUnusable(InvitationStatus::Declined) => "invitation_declined",
            AppError::InvitationUnusable(_) => "invitation_used",
            AppError::InvitationWithdrawn => "invitation_revoked",
            AppError::SessionRequired => "session_required",
            AppError::FileTooLarge { .. } => "file_too_large",
            AppError::UnreadableBody(_) => "unreadable_body",
            AppError::Printer(e) => match e {
                printers::DriverError::Unreachable(_) | printers::DriverError::Timeout(_) => {
                    "printer_unreachable"
                }
                printers::DriverError::Refused(_) => "printer_refused",
                printers::DriverError::Unauthorized => "printer_credentials_refused",
                printers::DriverError::Protocol(_)
                | printers::DriverError::Config(_)
                | printers::DriverError::LocalFile(_) => "printer_error",
            },
            AppError::Internal(_) => "internal",
        }
    }

    pub fn not_found(what: &'static str) -> AppError {
        AppError::NotFound { what }
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> AppError {
        AppError::Conflict {
            code,
            message: message.into(),
        }
    }

    pub fn internal(error: impl std::error::Error + Send + Sync + 'static) -> AppError {
        AppError::Internal(Box::new(error))
    }
}

impl From<StoreError> for AppError {
    fn from(error: StoreError) -> Self {
        AppError::Internal(Box::new(error))
    }
}

impl From<store::sqlx_error::Error> for AppError {
    fn from(error: store::sqlx_error::Error) -> Self {
        AppError::from(StoreError::from(error))
    }
}

/// Maps a unique-constraint violation to a 409 with a helpful message; anything else stays
/// internal.
pub(crate) fn on_conflict(
    code: &'static str,
    message: impl Into<String>,
) -> impl FnOnce(StoreError) -> AppError {
    let message = message.into();
    move |error| {
        if error.is_conflict() {
            AppError::conflict(code, message)
        } else {
            AppError::from(error)
        }
    }
}

pub type AppResult<T> = Result<T, AppError>;
