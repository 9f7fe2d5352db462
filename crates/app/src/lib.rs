//! Farmhand's use cases, grouped by context: [`People`] (the organization, sites, members,
//! invitations, workgroups), [`Identity`] (sign-in, sessions, passwords, tokens), [`Access`]
//! (ranks, grants, overrides, rights), [`Fleet`] (printers, models, groups), [`Control`] (what
//! people do to printers), [`Files`] (the file library and its projects), [`AuditLog`] and the
//! server's [`Console`]. Each public method is one user action: one unit of work
//! (`unit_of_work`) that loads, authorizes, changes, audits and commits in one transaction.
//! [`App`] holds what they share and hands out the contexts.

mod access;
mod actor;
mod audit_log;
mod billing;
mod console;
mod control;
mod dispatch;
mod displays;
mod error;
mod files;
mod fleet;
mod identity;
mod instances;
mod jobs;
mod metrics;
mod paging;
mod people;
mod policies;
mod quotas;
mod reports;
#[cfg(test)]
mod schema;
pub mod slicing;
mod supervision;
mod unit_of_work;
mod uploads;
mod vault;

pub mod demo;

use std::path::PathBuf;
use std::sync::Arc;

use domain::{Clock, Timestamp};
use store::Store;

pub use access::{
    Access, AccessChange, CatalogDomain, CatalogPermission, CloneRank, CreateGrant, Explanation,
    HeldPermission, ImportPreset, MemberImpact, MemberRights, NewRank, OverrideEffect,
    PrinterAccess, RankChange, RankPreview, ReorderRanks, SetOverride,
};
pub use actor::{Credential, OrgActor, Principal, RequestMeta};
pub use audit_log::{AUDIT_CSV_HEADER, AuditLog, AuditQuery, write_audit_csv};
pub use billing::{
    Balance, BalanceProvider, Billing, LedgerPage, LedgerProvider, MAX_LEDGER_REASON_CHARS,
    Movement, UpdateBilling,
};
pub use console::{Console, CreatedOrg};
pub use control::{
    Control, FAULT_MESSAGE_PATTERN, FILE_NAME_PATTERN, MAX_FAULT_DISCONNECT_S,
    MAX_FAULT_LOCAL_PRINT_S, MAX_FAULT_MESSAGE_CHARS, MAX_FILE_NAME_CHARS, MAX_GCODE_LINE_CHARS,
    MAX_GCODE_LINES, MAX_PRINT_FILE_BYTES, MAX_TEMPERATURE_C, Preheat, SendGcode, SetMaintenance,
};
pub use dispatch::{
    Candidate, NotTaking, NotTakingCode, Outcome as DispatchOutcome, WhyNotPrinting,
};
pub use displays::{CreatedDisplayLink, DisplayLink, DisplayPrinter};
pub use error::{AppError, AppResult, ErrorCode};
pub use files::{
    CreateProject, FileContent, FileDestination, FileListQuery, FilePage, Files, FoundKind,
    MAX_LIBRARY_FILE_BYTES, RenameProject, ShareProject, Thumbnail, UploadFile,
};
pub use fleet::{
    Fleet, MAX_PRINTER_CREDENTIAL_CHARS, MAX_PRINTER_URL_CHARS, MAX_RESERVATION_DAYS,
    MAX_RESERVATION_NOTE_CHARS, MAX_SIMULATION_HEAT_UP_S, MAX_SIMULATION_SPEED, NamedInput,
    PRINTER_CREDENTIAL_PATTERN, PRINTER_URL_PATTERN, PrinterInput, PrinterModelInput, PrinterPage,
    PrinterQuery, ReservePrinter, SIMULATOR_URL_PATTERN, VisiblePrinter, motion_profile,
};
pub use identity::{
    ChangePassword, CreateToken, CreatedToken, Identity, Me, PasswordHasher, SignIn,
    SignInThrottle, SignedIn, TOKEN_PREFIX, ThrottlePolicy,
};
pub use instances::InstanceSettings;
pub use jobs::{
    ApprovalItem, BulkOutcome, CHOICE_PATTERN, Decision, JOB_CSV_HEADER, JobCost, JobEdit, JobPage,
    JobQuery, JobView, Jobs, MAX_CHOICE_CHARS, MAX_CHOICES, QuestionInput, Reorder,
    SubmissionEstimate, SubmitJob, TimelineStep, write_job_csv,
};
pub use metrics::{MetricsAccess, MetricsDecision};
pub use people::{
    AcceptInvitation, AddMember, CreateInvitation, CreateSite, CreateWorkgroup, CreatedInvitation,
    InvitationPreview, MAX_INVITATION_TTL_HOURS, PendingInvitation, People, SetWorkgroupMember,
    UpdateMember, UpdateOrg, UpdateSite, UpdateWorkgroup, WorkgroupDetail,
};
/// What the simulated printer can be made to do, and why a printer call failed (carried by
/// [`AppError::Printer`]).
pub use printers::{DriverError, simulated::Fault};
pub use quotas::{
    DecideQuotaRequest, MemberUsage, NewCustomPeriod, QuotaLevel, Quotas, RequestQuota, UsageLine,
};
pub use reports::{
    MAX_REPORT_DAYS, REPORT_CSV_HEADER, Report, ReportFilter, ReportGroup, ReportQuery, ReportRow,
};
pub use slicing::{
    LockView, LockedForYou, ProfileInput, SettingView, SettingsView, SlicerSettings, Slicing,
    SlicingPhase, StartSlice,
};
pub use store::AuditPage;
/// What the quota and billing use cases return as the store keeps it.
pub use store::{BillingSettings, LedgerEntry, QuotaRequest};
pub use supervision::{
    LiveJob, LivePrinter, LiveSettings, LiveStatus, LiveTemperatures, LiveUpdate, Supervisors,
};
pub use uploads::{StagedFile, prepare_staging_dir};
pub use vault::{KEY_LEN as VAULT_KEY_LEN, Vault, VaultError};

/// Tunables of the use cases, from the server's configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    pub session_ttl_secs: i64,
    pub default_invitation_ttl_secs: i64,
    pub max_invitation_ttl_secs: i64,
    pub throttle: ThrottlePolicy,
    pub live: LiveSettings,
    pub instances: InstanceSettings,
    /// Where uploads are written while they arrive (`<data_dir>/tmp`).
    pub staging_dir: PathBuf,
    /// Largest G-code file a print may be started with, bytes.
    pub max_print_file_bytes: u64,
    /// Largest file the library takes, bytes.
    pub max_library_file_bytes: u64,
    /// Where file contents are kept. The default keeps them in memory, for tests; the server
    /// configures a directory or S3-compatible storage.
    pub blobs: store::BlobStore,
    /// How PrusaSlicer runs in the slicing pool.
    pub slicer: SlicerSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            session_ttl_secs: 14 * 24 * 3600,
            default_invitation_ttl_secs: 7 * 24 * 3600,
            max_invitation_ttl_secs: MAX_INVITATION_TTL_HOURS * 3600,
            throttle: ThrottlePolicy::default(),
            live: LiveSettings::default(),
            instances: InstanceSettings::default(),
            staging_dir: PathBuf::from("./farmhand-data/tmp"),
            max_print_file_bytes: MAX_PRINT_FILE_BYTES,
            max_library_file_bytes: MAX_LIBRARY_FILE_BYTES,
            blobs: store::BlobStore::memory(),
            slicer: SlicerSettings::default(),
        }
    }
}

/// The application: the store plus what every use case needs. Cheap to clone.
#[derive(Clone)]
pub struct App {
    inner: Arc<Inner>,
}

struct Inner {
    policies: policies::PolicyCache,
    store: Store,
    clock: Arc<dyn Clock>,
    hasher: PasswordHasher,
    throttle: SignInThrottle,
    settings: Settings,
    vault: vault::Vault,
    supervisors: supervision::Supervisors,
    /// This instance among those sharing the database.
    instance: instances::Instance,
    /// Wakes the dispatcher's loop before its next tick.
    dispatch_wake: tokio::sync::Notify,
    /// Held by the dispatcher's pass under way.
    dispatch_pass: tokio::sync::Mutex<()>,
    metrics: metrics::Metrics,
    /// The slicing pool's state in this instance.
    slicer: slicing::Pool,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("backend", &self.inner.store.backend())
            .finish_non_exhaustive()
    }
}

impl App {
    pub fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        hasher: PasswordHasher,
        settings: Settings,
        vault: Vault,
    ) -> App {
        let throttle = SignInThrottle::new(settings.throttle);
        let supervisors = supervision::Supervisors::new(settings.live.clone());
        let instance = instances::Instance::new(store.backend());
        App {
            inner: Arc::new(Inner {
                policies: policies::PolicyCache::default(),
                store,
                clock,
                hasher,
                throttle,
                settings,
                vault,
                supervisors,
                instance,
                dispatch_wake: tokio::sync::Notify::new(),
                dispatch_pass: tokio::sync::Mutex::new(()),
                metrics: metrics::Metrics::default(),
                slicer: slicing::Pool::default(),
            }),
        }
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn now(&self) -> Timestamp {
        self.inner.clock.now()
    }

    /// Seals and opens printer credentials.
    pub fn vault(&self) -> &Vault {
        &self.inner.vault
    }

    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    fn hasher(&self) -> &PasswordHasher {
        &self.inner.hasher
    }
}
