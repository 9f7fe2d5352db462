use authz::{AccessLevel, Permission, Refusal};
use domain::{Invalid, InvitationStatus};
use store::StoreError;

macro_rules! error_codes {
    ($($variant:ident = $code:literal, $meaning:literal;)*) => {
        /// Every error code Farmhand answers with, machine-readable and stable (`error.code` in
        /// the API). The use cases' failures map to them in [`AppError::code`]; the web layer
        /// adds those of its own (a malformed request) and gives each code one status.
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
    InvalidId = "invalid_id",
        "A path parameter is malformed: an ID that is not a positive integer, or text that is not valid UTF-8 once percent-decoded.";
    InvalidPath = "invalid_path",
        "A path parameter is not valid UTF-8 once percent-decoded.";
    InvalidQuery = "invalid_query",
        "The query string has an unknown parameter, or a value of the wrong type or format.";
    MalformedJson = "malformed_json",
        "The body is not valid JSON (the message gives the line and column).";
    UnreadableBody = "unreadable_body",
        "The body could not be read: it broke off, or nothing arrived for a minute.";
    Unauthenticated = "unauthenticated",
        "Not signed in: send the session cookie, or `Authorization: Bearer <API token>`.";
    InvalidToken = "invalid_token",
        "The API token is unknown, revoked or expired.";
    InvalidCredentials = "invalid_credentials",
        "Wrong email or password (the same answer for both).";
    PermissionDenied = "permission_denied",
        "You lack the permission the operation needs (`permission`, with who could grant it in `ask`), or the access to the printer it needs (`needed_access`).";
    PasswordChangeRequired = "password_change_required",
        "Choose a new password first (`POST /api/v1/me/password`).";
    CrossOriginRequest = "cross_origin_request",
        "A change came from another site's page: its `Origin` (scheme, host and port) is not this server's.";
    InsufficientSeniority = "insufficient_seniority",
        "The member, rank or token concerned is not strictly junior to your rank, or not among the members your rank manages, or it is yourself.";
    CannotGrant = "cannot_grant",
        "You cannot hand out permissions or printer access you do not hold yourself.";
    SessionRequired = "session_required",
        "This needs a signed-in session, not an API token.";
    WrongCurrentPassword = "wrong_current_password",
        "The current password is wrong.";
    NotFound = "not_found",
        "The organization does not exist or you are not an active member of it (or your API token is for another one), or the resource named does not exist there or is hidden from you.";
    RouteNotFound = "route_not_found",
        "No route has this path (for instance, a path parameter is empty).";
    MethodNotAllowed = "method_not_allowed",
        "The route does not accept this method.";
    NameTaken = "name_taken",
        "Another one in the organization already has this name.";
    SiteInUse = "site_in_use",
        "The site still has printers; move or remove them first.";
    ReservationOverlaps = "reservation_overlaps",
        "Another reservation of the printer overlaps that time.";
    JobNotWaiting = "job_not_waiting",
        "The job is not waiting for a printer (it is not queued or assigned).";
    TargetInUse = "target_in_use",
        "Unfinished jobs aim at this printer, group, model or site; move or cancel them first.";
    UserExists = "user_exists",
        "A user with this email was created meanwhile (the server's console only).";
    AlreadyMember = "already_member",
        "The user is already a member of the organization.";
    NoChange = "no_change",
        "The member is already active (or already deactivated).";
    AlreadyRevoked = "already_revoked",
        "The token is already revoked.";
    RankInUse = "rank_in_use",
        "The rank still has members or pending invitations, or slicer setting locks name it.";
    RankConflict = "rank_conflict",
        "Another rank of the organization has this name or position.";
    RankOrderMismatch = "rank_order_mismatch",
        "The list is not exactly the ranks junior to yours as they are now.";
    GrantExists = "grant_exists",
        "The subject already has a grant on these printers; remove it first.";
    NotTriState = "not_tri_state",
        "The permission is not tri-state in the member's rank, so it cannot be overridden.";
    PrinterNotConnected = "printer_not_connected",
        "Farmhand has no working connection to the printer.";
    PrinterNotReady = "printer_not_ready",
        "The printer's state (named in the message) does not allow it now.";
    PrinterRefused = "printer_refused",
        "The printer understood and refused (busy, not operational, no such file).";
    BedNotAwaitingClear = "bed_not_awaiting_clear",
        "No finished print is waiting for its build plate to be cleared.";
    NotSimulated = "not_simulated",
        "Only a simulated printer takes injected faults.";
    InvitationUsed = "invitation_used",
        "The invitation was already accepted.";
    InvitationDeclined = "invitation_declined",
        "The invitation was declined.";
    NoRoomForRanks = "no_room_for_ranks",
        "No rank position is left below the most junior rank (positions end at 1,000,000); reorder the ranks to close the gaps.";
    InvitationEmailMismatch = "invitation_email_mismatch",
        "The invitation is for another email address; sign in with that account.";
    SignInRequired = "sign_in_required",
        "An account with the invited email exists: sign in, then accept.";
    InvitationExpired = "invitation_expired",
        "The invitation has expired.";
    InvitationRevoked = "invitation_revoked",
        "The invitation was revoked, or withdrawn because whoever sent it can no longer give its rank.";
    BodyTooLarge = "body_too_large",
        "The JSON body is over 2 MiB; refused on its `Content-Length` before it is read.";
    FileTooLarge = "file_too_large",
        "The file is larger than the largest accepted; refused on its `Content-Length` before it is read when it says so.";
    UnsupportedMediaType = "unsupported_media_type",
        "The body is not sent as `Content-Type: application/json`.";
    InvalidBody = "invalid_body",
        "The JSON does not fit the schema: a wrong type, or an unknown or missing field (the message names it).";
    InvalidField = "invalid_field",
        "A value breaks a rule of the schema or of the operation's description (`field` names it).";
    TooManyAttempts = "too_many_attempts",
        "Too many failed sign-ins for this account or address; retry after `Retry-After` seconds.";
    Internal = "internal",
        "Something failed inside Farmhand; the log has the cause under the `request_id`.";
    PrinterCredentialsRefused = "printer_credentials_refused",
        "The printer refused the credentials Farmhand holds for it.";
    PrinterError = "printer_error",
        "The printer answered something Farmhand does not understand, or its connection settings cannot work.";
    PrinterUnreachable = "printer_unreachable",
        "The printer cannot be reached or did not answer in time.";
    InstanceUnavailable = "instance_unavailable",
        "Another Farmhand instance supervises the printer and did not answer; if it stopped, another instance takes the printer over within 30 seconds.";
    InvalidTransition = "invalid_transition",
        "The job's state does not allow this (the message names its state and the state asked for).";
    IdempotencyKeyReused = "idempotency_key_reused",
        "The `Idempotency-Key` was used for a submission with another body (or one is still in progress); use a new key for a new job.";
    NoPrinterForTarget = "no_printer_for_target",
        "No printer matching the job's target is one you may queue on.";
    DoesNotFit = "does_not_fit",
        "The file's bounding box is larger than the build volume of every printer model the target allows.";
    MaterialMismatch = "material_mismatch",
        "The file is sliced for a material the target's printer models do not take.";
    NozzleMismatch = "nozzle_mismatch",
        "The file is sliced for another nozzle size than the target's printer models have.";
    InvalidAnswers = "invalid_answers",
        "An answer to a submission question is missing, is to an unknown question, or does not fit its question (the message names it).";
    FileNotReady = "file_not_ready",
        "The file is still being analyzed; submit again in a moment.";
    NotApprovable = "not_approvable",
        "You cannot decide this job: it is your own (without `approval.skip`), or none of its printers is one you have access to, or you cannot see its file.";
    UnsupportedFileType = "unsupported_file_type",
        "The uploaded file is neither G-code nor a model to slice (`found` says what it is: `empty`, `png`, `jpeg`, `text` or `binary`; `accepted` lists what is taken).";
    InvalidModel = "invalid_model",
        "The uploaded model (STL, 3MF or OBJ) cannot be sliced: a 3MF that is not a ZIP archive, an STL or OBJ with no facets, a malformed or oversized mesh (the message says which), or a model larger than every printer you may use (`does_not_fit`).";
    NotSliced = "not_sliced",
        "The file is a model (STL, 3MF or OBJ), not G-code: slice it first (`POST /api/v1/orgs/{org_id}/files/{file_id}/slices`) and submit the G-code the slice makes.";
    SliceFinished = "slice_finished",
        "The slice is done, failed or cancelled already (or changed state meanwhile): only a queued or slicing slice can be cancelled.";
    ProjectNotEmpty = "project_not_empty",
        "The library project still holds files; move or delete them first.";
    QuotaExceeded = "quota_exceeded",
        "The job does not fit an allowance of yours: the message names it, what you have used of it, its limit, what the job needs and when it resets.";
    InsufficientBalance = "insufficient_balance",
        "Your available balance (the balance less what is held for your other jobs) does not cover the job's estimate; the message gives the balance, the holds and the estimate.";
    AlreadyDecided = "already_decided",
        "The quota request was already approved or declined.";
    ProjectReadOnly = "project_read_only",
        "The library project is shared with you to view only: you cannot put files in it, or move or delete its files.";
}

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
    Conflict { code: ErrorCode, message: String },
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
    /// An upload is not a kind of file the library takes.
    #[error(
        "this is {}, not G-code or a model; upload G-code (.gcode) from PrusaSlicer, SuperSlicer, OrcaSlicer, Bambu Studio, Cura or Simplify3D, or a model to slice (.stl, .3mf, .obj)",
        .0.describe()
    )]
    UnsupportedFile(crate::files::FoundKind),
    /// An uploaded model cannot be sliced (malformed, empty, or too large for every printer).
    #[error("{0}")]
    InvalidModel(String),
    /// The request changes a slicer setting the actor may not change (of a tier they may not
    /// touch, or locked: `locked` says by what).
    #[error(
        "changing the slicer setting {setting:?} needs the permission {:?} ({}){}",
        permission.key(),
        permission.title(),
        locked.as_ref().map_or_else(String::new, |why| format!(": {why}"))
    )]
    SettingDenied {
        setting: String,
        permission: Permission,
        locked: Option<String>,
        ask: Vec<String>,
    },
    /// The request body broke off or could not be decoded.
    #[error("the request body could not be read: {0}")]
    UnreadableBody(String),
    /// Another instance supervises the printer: the request is for it, at `address`.
    #[error(
        "another Farmhand instance supervises this printer and did not answer; if it stopped, another instance takes the printer over within 30 seconds: try again then"
    )]
    Elsewhere { address: String },
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
    pub fn code(&self) -> ErrorCode {
        use printers::DriverError;
        match self {
            AppError::Invalid(_) => ErrorCode::InvalidField,
            AppError::NotFound { .. } => ErrorCode::NotFound,
            AppError::PermissionDenied { .. } => ErrorCode::PermissionDenied,
            AppError::Seniority(_) => ErrorCode::InsufficientSeniority,
            AppError::Refused(refusal) => match refusal {
                Refusal::CannotGrant(_) | Refusal::CannotGrantAccess { .. } => {
                    ErrorCode::CannotGrant
                }
                Refusal::NotTriState(_) => ErrorCode::NotTriState,
                _ => ErrorCode::InsufficientSeniority,
            },
            AppError::Unauthenticated => ErrorCode::Unauthenticated,
            AppError::InvalidCredentials => ErrorCode::InvalidCredentials,
            AppError::WrongCurrentPassword => ErrorCode::WrongCurrentPassword,
            AppError::Throttled { .. } => ErrorCode::TooManyAttempts,
            AppError::PasswordChangeRequired => ErrorCode::PasswordChangeRequired,
            AppError::Conflict { code, .. } => *code,
            AppError::InvitationUnusable(InvitationStatus::Expired) => ErrorCode::InvitationExpired,
            AppError::InvitationUnusable(InvitationStatus::Revoked) => ErrorCode::InvitationRevoked,
            AppError::InvitationUnusable(InvitationStatus::Declined) => {
                ErrorCode::InvitationDeclined
            }
            AppError::InvitationUnusable(_) => ErrorCode::InvitationUsed,
            AppError::InvitationWithdrawn => ErrorCode::InvitationRevoked,
            AppError::SessionRequired => ErrorCode::SessionRequired,
            AppError::FileTooLarge { .. } => ErrorCode::FileTooLarge,
            AppError::UnreadableBody(_) => ErrorCode::UnreadableBody,
            AppError::UnsupportedFile(_) => ErrorCode::UnsupportedFileType,
            AppError::InvalidModel(_) => ErrorCode::InvalidModel,
            AppError::SettingDenied { .. } => ErrorCode::PermissionDenied,
            AppError::Printer(e) => match e {
                DriverError::Unreachable(_) | DriverError::Timeout(_) => {
                    ErrorCode::PrinterUnreachable
                }
                DriverError::Refused(_) => ErrorCode::PrinterRefused,
                DriverError::Unauthorized => ErrorCode::PrinterCredentialsRefused,
                DriverError::Protocol(_) | DriverError::Config(_) | DriverError::LocalFile(_) => {
                    ErrorCode::PrinterError
                }
            },
            AppError::Elsewhere { .. } => ErrorCode::InstanceUnavailable,
            AppError::Internal(_) => ErrorCode::Internal,
        }
    }

    pub fn not_found(what: &'static str) -> AppError {
        AppError::NotFound { what }
    }

    pub fn conflict(code: ErrorCode, message: impl Into<String>) -> AppError {
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
    code: ErrorCode,
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
