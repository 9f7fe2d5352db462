//! Configuration, layered: built-in defaults, then a TOML file, then `FARMHAND_*` environment
//! variables (nested keys with `__`, e.g. `FARMHAND_DATABASE__MAX_CONNECTIONS`), then flags.
//! Unknown keys are rejected everywhere.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use store::DatabaseUrl;

#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address and port to listen on.
    pub listen: SocketAddr,
    /// Directory for the embedded database and other data.
    pub data_dir: PathBuf,
    /// `postgres://…` to use PostgreSQL, or `sqlite://PATH`; empty means SQLite in `data_dir`.
    pub database_url: String,
    /// File holding the key that encrypts printer credentials; empty means `secret.key` in
    /// `data_dir`. Created on first start. Instances sharing a database must share it.
    pub secret_key_file: PathBuf,
    /// Mark the session cookie Secure: set when Farmhand is served over HTTPS.
    pub secure_cookies: bool,
    /// Take client addresses from X-Forwarded-For: only behind a trusted reverse proxy.
    pub trust_forwarded_for: bool,
    /// Log filter, e.g. `info` or `farmhand=debug,info` (RUST_LOG overrides).
    pub log: String,
    /// How long a sign-in lasts.
    pub session_ttl_hours: i64,
    /// Default validity of invitation links.
    pub invitation_ttl_hours: i64,
    /// Largest G-code file a print may be started with, in MiB (1 to 65536).
    pub max_print_file_mb: u64,
    /// A token Prometheus sends (`Authorization: Bearer …`) to read `/metrics`; empty: none.
    pub metrics_token: String,
    /// Anyone may read `/metrics` (only where the network is trusted).
    pub metrics_public: bool,
    /// Where the other instances sharing the database reach this one (`http://host:port`);
    /// empty: the listening address (127.0.0.1 when listening on every address).
    pub advertise_url: String,
    /// How long a printer's lease lasts unless its instance renews it (every quarter of it):
    /// an instance that dies leaves its printers to the others after at most this plus a
    /// quarter (5 to 600 seconds).
    pub lease_ttl_secs: u64,
    pub database: DatabaseConfig,
    pub sign_in_throttle: ThrottleConfig,
    pub files: FilesConfig,
    pub slicer: SlicerConfig,
}

/// Slicing on the server: PrusaSlicer's command line in a pool of subprocesses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SlicerConfig {
    /// PrusaSlicer's command line program: a name on `PATH` or a path (for example an
    /// extracted AppImage's `prusa-slicer`). Debian's `prusa-slicer` package by default.
    pub command: PathBuf,
    /// PrusaSlicer processes running at once (1 to 256); 0: one per CPU core.
    pub workers: usize,
    /// A slice running longer is killed and fails (1 to 86400 seconds).
    pub time_limit_secs: u64,
    /// Address space one PrusaSlicer process may use, MiB (64 to 1048576); a slice needing
    /// more fails.
    pub memory_limit_mb: u64,
    /// Run PrusaSlicer without network (`unshare -n`); when the system cannot, slices fail
    /// rather than run with network. Turn off only where the host has no network anyway.
    pub isolate_network: bool,
}

impl Default for SlicerConfig {
    fn default() -> Self {
        SlicerConfig {
            command: PathBuf::from("prusa-slicer"),
            workers: 0,
            time_limit_secs: 600,
            memory_limit_mb: 4096,
            isolate_network: true,
        }
    }
}

impl SlicerConfig {
    pub fn settings(&self) -> app::SlicerSettings {
        let defaults = app::SlicerSettings::default();
        app::SlicerSettings {
            command: self.command.clone(),
            workers: if self.workers == 0 {
                defaults.workers
            } else {
                self.workers
            },
            time_limit: std::time::Duration::from_secs(self.time_limit_secs),
            // Checked by `validate` to be at most 1 TiB: no overflow.
            memory_limit_bytes: self.memory_limit_mb.saturating_mul(1 << 20),
            isolate_network: self.isolate_network,
        }
    }
}

/// The file library: how large an upload may be and where contents are kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FilesConfig {
    /// Largest file the library takes, in MiB (1 to 65536).
    pub max_file_mb: u64,
    /// S3-compatible storage for file contents; absent: the `blobs` directory in `data_dir`.
    pub s3: Option<S3Config>,
}

/// S3 or an S3-compatible server (MinIO, Garage, Ceph, …): what several instances sharing a
/// PostgreSQL database need, since each must read what another received.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Config {
    pub bucket: String,
    /// The server's URL; empty: AWS.
    #[serde(default)]
    pub endpoint: String,
    #[serde(default = "default_region")]
    pub region: String,
    #[serde(default)]
    pub access_key_id: String,
    #[serde(default)]
    pub secret_access_key: String,
    /// Prepended to every key.
    #[serde(default)]
    pub prefix: String,
    /// Allow a plain http:// endpoint.
    #[serde(default)]
    pub allow_http: bool,
}

fn default_region() -> String {
    "us-east-1".into()
}

impl std::fmt::Debug for S3Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Config")
            .field("bucket", &self.bucket)
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field("prefix", &self.prefix)
            .field("allow_http", &self.allow_http)
            .finish()
    }
}

impl Default for FilesConfig {
    fn default() -> Self {
        FilesConfig {
            max_file_mb: app::MAX_LIBRARY_FILE_BYTES >> 20,
            s3: None,
        }
    }
}

impl S3Config {
    pub fn location(&self) -> store::S3Location {
        store::S3Location {
            bucket: self.bucket.clone(),
            endpoint: (!self.endpoint.is_empty()).then(|| self.endpoint.clone()),
            region: self.region.clone(),
            access_key_id: self.access_key_id.clone(),
            secret_access_key: self.secret_access_key.clone(),
            prefix: self.prefix.clone(),
            allow_http: self.allow_http,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// Connections in the pool.
    pub max_connections: u32,
    /// How long a SQLite writer waits for another before failing.
    pub busy_timeout_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ThrottleConfig {
    /// The window in which failed sign-ins are counted.
    pub window_minutes: i64,
    /// Failures per account in the window before sign-in is refused (429).
    pub max_failures_per_account: usize,
    /// Failures per client address in the window before sign-in is refused (429).
    pub max_failures_per_address: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./farmhand-data"),
            database_url: String::new(),
            secret_key_file: PathBuf::new(),
            secure_cookies: false,
            trust_forwarded_for: false,
            log: "info".into(),
            session_ttl_hours: 14 * 24,
            invitation_ttl_hours: 7 * 24,
            max_print_file_mb: app::MAX_PRINT_FILE_BYTES >> 20,
            metrics_token: String::new(),
            metrics_public: false,
            advertise_url: String::new(),
            lease_ttl_secs: 20,
            database: DatabaseConfig::default(),
            sign_in_throttle: ThrottleConfig::default(),
            files: FilesConfig::default(),
            slicer: SlicerConfig::default(),
        }
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            max_connections: 8,
            busy_timeout_ms: 10_000,
        }
    }
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        ThrottleConfig {
            window_minutes: 15,
            max_failures_per_account: 5,
            max_failures_per_address: 20,
        }
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The database URL may hold a password.
        let url = DatabaseUrl::parse(&self.database_url)
            .map(|u| u.redacted())
            .unwrap_or_default();
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field("database_url", &url)
            .field("secret_key_file", &self.secret_key_file)
            .field("secure_cookies", &self.secure_cookies)
            .field("trust_forwarded_for", &self.trust_forwarded_for)
            .field("log", &self.log)
            .field("session_ttl_hours", &self.session_ttl_hours)
            .field("invitation_ttl_hours", &self.invitation_ttl_hours)
            .field("max_print_file_mb", &self.max_print_file_mb)
            .field(
                "metrics_token",
                &if self.metrics_token.is_empty() {
                    ""
                } else {
                    "(set)"
                },
            )
            .field("metrics_public", &self.metrics_public)
            .field("advertise_url", &self.advertise_url)
            .field("lease_ttl_secs", &self.lease_ttl_secs)
            .field("database", &self.database)
            .field("sign_in_throttle", &self.sign_in_throttle)
            .field("files", &self.files)
            .field("slicer", &self.slicer)
            .finish()
    }
}

/// Values given on the command line; only those set override the other layers.
#[derive(Debug, Default, Serialize)]
pub struct FlagOverrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
}

impl Config {
    /// Loads the layers. A named file must exist.
    pub fn load(file: Option<&Path>, flags: &FlagOverrides) -> anyhow::Result<Config> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(file) = file {
            if !file.is_file() {
                bail!("configuration file {} does not exist", file.display());
            }
            figment = figment.merge(Toml::file_exact(file));
        }
        let figment = figment
            .merge(Env::prefixed("FARMHAND_").split("__").ignore(&["config"]))
            .merge(Serialized::globals(flags));
        let config: Config = figment
            .extract()
            .map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> anyhow::Result<()> {
        if !(5..=600).contains(&self.lease_ttl_secs) {
            bail!("lease_ttl_secs must be 5 to 600");
        }
        let url = &self.advertise_url;
        if !(url.is_empty() || url.starts_with("http://") || url.starts_with("https://")) {
            bail!("advertise_url must start with http:// or https://");
        }
        if self.session_ttl_hours < 1 {
            bail!("session_ttl_hours must be at least 1");
        }
        if self.invitation_ttl_hours < 1 {
            bail!("invitation_ttl_hours must be at least 1");
        }
        if !(1..=MAX_PRINT_FILE_MB).contains(&self.max_print_file_mb) {
            bail!("max_print_file_mb must be from 1 to {MAX_PRINT_FILE_MB}");
        }
        if !(1..=MAX_PRINT_FILE_MB).contains(&self.files.max_file_mb) {
            bail!("files.max_file_mb must be from 1 to {MAX_PRINT_FILE_MB}");
        }
        if let Some(s3) = &self.files.s3
            && s3.bucket.trim().is_empty()
        {
            bail!("files.s3.bucket must name a bucket");
        }
        if self.slicer.workers > 256 {
            bail!("slicer.workers must be from 0 (one per core) to 256");
        }
        if !(1..=86_400).contains(&self.slicer.time_limit_secs) {
            bail!("slicer.time_limit_secs must be from 1 to 86400");
        }
        if !(64..=1 << 20).contains(&self.slicer.memory_limit_mb) {
            bail!("slicer.memory_limit_mb must be from 64 to 1048576");
        }
        if self.slicer.command.as_os_str().is_empty() {
            bail!("slicer.command must name PrusaSlicer's program");
        }
        if self.database.max_connections < 1 {
            bail!("database.max_connections must be at least 1");
        }
        if !self.database_url.is_empty() {
            DatabaseUrl::parse(&self.database_url)?;
        }
        Ok(())
    }

    /// The database to use: the URL if given, else SQLite in the data directory (which is
    /// created, being Farmhand's own). An explicit SQLite path's directory must already exist.
    pub fn database(&self) -> anyhow::Result<DatabaseUrl> {
        if self.database_url.is_empty() {
            std::fs::create_dir_all(&self.data_dir).with_context(|| {
                format!(
                    "cannot create the data directory {}",
                    self.data_dir.display()
                )
            })?;
            return Ok(DatabaseUrl::sqlite_file(&self.data_dir.join("farmhand.db")));
        }
        let url = DatabaseUrl::parse(&self.database_url)?;
        url.check()?;
        Ok(url)
    }

    pub fn store_options(&self) -> store::StoreOptions {
        store::StoreOptions {
            max_connections: self.database.max_connections,
            busy_timeout: std::time::Duration::from_millis(self.database.busy_timeout_ms),
            ..store::StoreOptions::default()
        }
    }

    /// Where uploads are written while they arrive: `tmp` in the data directory.
    pub fn staging_dir(&self) -> PathBuf {
        self.data_dir.join("tmp")
    }

    /// Where file contents are kept: S3-compatible storage when configured, else `blobs` in
    /// the data directory (created).
    pub fn blob_store(&self) -> anyhow::Result<store::BlobStore> {
        let blobs = match &self.files.s3 {
            Some(s3) => store::BlobStore::s3(&s3.location())?,
            None => store::BlobStore::local(&self.data_dir.join("blobs"))?,
        };
        Ok(blobs)
    }

    pub fn app_settings(&self) -> anyhow::Result<app::Settings> {
        Ok(app::Settings {
            staging_dir: self.staging_dir(),
            // Checked by `validate` to be at most 64 GiB: no overflow.
            max_library_file_bytes: self.files.max_file_mb.saturating_mul(1 << 20),
            blobs: self.blob_store()?,
            // Checked by `validate` to be at most 64 GiB: no overflow.
            max_print_file_bytes: self.max_print_file_mb.saturating_mul(1 << 20),
            session_ttl_secs: self.session_ttl_hours * 3600,
            default_invitation_ttl_secs: self.invitation_ttl_hours * 3600,
            throttle: app::ThrottlePolicy {
                window_secs: self.sign_in_throttle.window_minutes * 60,
                max_failures_per_account: self.sign_in_throttle.max_failures_per_account,
                max_failures_per_address: self.sign_in_throttle.max_failures_per_address,
            },
            instances: app::InstanceSettings {
                lease_ttl: std::time::Duration::from_secs(self.lease_ttl_secs),
                lease_renewal: std::time::Duration::from_secs(self.lease_ttl_secs) / 4,
            },
            slicer: self.slicer.settings(),
            ..app::Settings::default()
        })
    }

    /// Where the other instances reach this one, listening on `bound`.
    pub fn instance_address(&self, bound: SocketAddr) -> String {
        if !self.advertise_url.is_empty() {
            return self.advertise_url.trim_end_matches('/').to_string();
        }
        let ip = if bound.ip().is_unspecified() {
            std::net::IpAddr::from([127, 0, 0, 1])
        } else {
            bound.ip()
        };
        format!("http://{}", SocketAddr::new(ip, bound.port()))
    }
}

impl Config {
    /// Reads the credential key, creating it (readable by this user only) on first start.
    pub fn load_vault(&self) -> anyhow::Result<app::Vault> {
        let path = if self.secret_key_file.as_os_str().is_empty() {
            std::fs::create_dir_all(&self.data_dir).with_context(|| {
                format!(
                    "cannot create the data directory {}",
                    self.data_dir.display()
                )
            })?;
            self.data_dir.join("secret.key")
        } else {
            self.secret_key_file.clone()
        };
        let key = match std::fs::read_to_string(&path) {
            Ok(text) => parse_key(&text)
                .with_context(|| format!("{} is not a Farmhand key file", path.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = app::Vault::generate_key();
                write_key_file(&path, &key)
                    .with_context(|| format!("cannot create the key file {}", path.display()))?;
                tracing::info!(path = %path.display(), "created the key that encrypts printer credentials");
                key
            }
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("cannot read the key file {}", path.display()));
            }
        };
        Ok(app::Vault::new(&key))
    }
}

fn parse_key(text: &str) -> anyhow::Result<[u8; app::VAULT_KEY_LEN]> {
    app::Vault::parse_key_text(text).map_err(anyhow::Error::msg)
}

fn write_key_file(path: &std::path::Path, key: &[u8; app::VAULT_KEY_LEN]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    writeln!(file, "{}", app::Vault::key_text(key))?;
    file.sync_all()
}

/// Largest accepted `max_print_file_mb` (64 GiB).
const MAX_PRINT_FILE_MB: u64 = 65_536;

/// The documented default configuration, as printed by `farmhand config default`.
pub const DEFAULT_CONFIG_TOML: &str = r#"# Farmhand configuration.
# Layers, later ones win: these defaults, this file (--config FILE or FARMHAND_CONFIG),
# environment variables FARMHAND_<KEY> (nested keys as FARMHAND_<SECTION>__<KEY>, e.g.
# FARMHAND_DATABASE__MAX_CONNECTIONS=20), then command-line flags. Unknown keys are errors.

# Address and port the server listens on.
listen = "127.0.0.1:8080"

# Directory for Farmhand's data: the embedded SQLite database lives here by default.
data_dir = "./farmhand-data"

# Leave empty for SQLite in data_dir. For PostgreSQL: "postgres://USER:PASSWORD@HOST:5432/DB".
# An explicit "sqlite://PATH" must point into an existing directory.
database_url = ""

# The key that encrypts printer credentials (API keys) in the database. Empty: "secret.key" in
# data_dir, created on first start. Keep it out of database backups; instances that share a
# PostgreSQL database must use the same key file.
secret_key_file = ""

# Mark the session cookie Secure. Turn on when users reach Farmhand over HTTPS.
secure_cookies = false

# Take client addresses (for the audit log and sign-in throttling) from X-Forwarded-For.
# Only turn on behind a reverse proxy you control.
trust_forwarded_for = false

# Log filter: "info", "debug", or per-module such as "farmhand=debug,info". RUST_LOG overrides.
log = "info"

# How long a sign-in session lasts, in hours (default two weeks).
session_ttl_hours = 336

# Default validity of invitation links, in hours (default one week; at most 30 days).
invitation_ttl_hours = 168

# Largest G-code file a print may be started with, in MiB (1 to 65536). Larger uploads are
# refused with 413 before they are read. Uploads stream to "tmp" in data_dir as they arrive,
# so that directory needs room for the uploads in progress.
max_print_file_mb = 512

# Who may read /metrics (Prometheus's text format): whoever sends this token as
# "Authorization: Bearer <token>"; with metrics_public = true, anyone (only on a trusted
# network). With neither, /metrics answers 404.
metrics_token = ""
metrics_public = false

# Several instances may share one PostgreSQL database (behind one load balancer): each printer
# is supervised by one of them, and a request about it reaching another is handed on to it, at
# this address. Empty: the listening address (127.0.0.1 when listening on every address).
advertise_url = ""

# How long an instance's hold on a printer lasts unless renewed (every quarter of it): when an
# instance dies, the others take its printers over after at most this plus a quarter, and
# settle its prints in flight with what the printers report (5 to 600 seconds).
lease_ttl_secs = 20

[database]
# Connections in the pool.
max_connections = 8
# How long a SQLite write waits for another writer before failing, in milliseconds.
busy_timeout_ms = 10000

[sign_in_throttle]
# Failed sign-ins are counted over this many minutes...
window_minutes = 15
# ...and past these limits further attempts get 429 Too Many Requests with Retry-After.
max_failures_per_account = 5
max_failures_per_address = 20

[files]
# Largest file the library takes, in MiB (1 to 65536). Larger uploads are refused with 413
# before they are read.
max_file_mb = 512
# File contents are kept once per organization by their SHA-256, in "blobs" in data_dir.
# Several instances sharing a PostgreSQL database need shared storage: S3 or an
# S3-compatible server (MinIO, Garage, Ceph, ...):
# [files.s3]
# bucket = "farmhand"
# endpoint = "https://s3.example.org"   # empty for AWS
# region = "us-east-1"
# access_key_id = "..."
# secret_access_key = "..."
# prefix = ""                           # prepended to every key
# allow_http = false                    # allow a plain http:// endpoint

# Slicing on the server: PrusaSlicer's command line in a pool of subprocesses.
[slicer]
# PrusaSlicer's program: a name on PATH or a path (for example an extracted AppImage's
# prusa-slicer). Debian's prusa-slicer package by default.
command = "prusa-slicer"
# PrusaSlicer processes running at once (up to 256); 0: one per CPU core.
workers = 0
# A slice running longer is killed and fails (1 to 86400 seconds).
time_limit_secs = 600
# Address space one PrusaSlicer process may use, MiB (64 to 1048576).
memory_limit_mb = 4096
# Run PrusaSlicer without network (unshare -n); when the system cannot, slices fail.
isolate_network = true
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_default_matches_built_in_default() {
        let parsed: Config = Figment::from(Toml::string(DEFAULT_CONFIG_TOML))
            .extract()
            .unwrap();
        assert_eq!(parsed, Config::default());
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let err = Figment::from(Serialized::defaults(Config::default()))
            .merge(Toml::string("listn = \"127.0.0.1:1\""))
            .extract::<Config>()
            .unwrap_err()
            .to_string();
        assert!(err.contains("listn"), "{err}");
        let err = Figment::from(Serialized::defaults(Config::default()))
            .merge(Toml::string("[database]\nmax_conections = 3"))
            .extract::<Config>()
            .unwrap_err()
            .to_string();
        assert!(err.contains("max_conections"), "{err}");
    }

    #[test]
    fn layers_apply_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("farmhand.toml");
        std::fs::write(&file, "listen = \"127.0.0.1:9000\"\nlog = \"debug\"\n").unwrap();
        let flags = FlagOverrides {
            listen: Some("127.0.0.1:9100".parse().unwrap()),
            ..Default::default()
        };
        let config = Config::load(Some(&file), &flags).unwrap();
        assert_eq!(config.listen.port(), 9100);
        assert_eq!(config.log, "debug");
        assert!(
            Config::load(
                Some(&dir.path().join("missing.toml")),
                &FlagOverrides::default()
            )
            .is_err()
        );
    }

    #[test]
    fn debug_redacts_the_database_password() {
        let config = Config {
            database_url: "postgres://u:hunter2@h/db".into(),
            ..Config::default()
        };
        assert!(!format!("{config:?}").contains("hunter2"));
    }
}
