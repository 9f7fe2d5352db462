//! What the bench binaries share: a `farmhand serve` process to time from outside, an
//! in-process server's organization, and a farm of simulated printers seeded straight into the
//! database.

// Each bench binary uses its own part of this module.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use app::{App, PasswordHasher};
use domain::{OrgId, PrinterId, SystemClock, Timestamp};
use farmhand::{Config, ServerOptions};
use store::{DatabaseUrl, Store};

pub const BIN: &str = env!("CARGO_BIN_EXE_farmhand");

/// The `--database-url` argument for a test database.
pub fn url_arg(url: &DatabaseUrl) -> String {
    match url {
        DatabaseUrl::Sqlite(path) => format!("sqlite://{}", path.display()),
        DatabaseUrl::Postgres(url) => url.clone(),
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `farmhand serve` process with its data directory `dir`, on `database` (the default
/// SQLite file in `dir` when `None`), with `env` added to its environment.
pub struct ServerProcess {
    child: Child,
    pub base: String,
    pub port: u16,
    /// From spawning the process until `/healthz` answered.
    pub started_in: Duration,
}

impl ServerProcess {
    pub fn start(database: Option<&DatabaseUrl>, dir: &Path, env: &[(&str, &str)]) -> Self {
        let port = free_port();
        let started = Instant::now();
        let mut command = Command::new(BIN);
        if let Some(url) = database {
            command.args(["--database-url", &url_arg(url)]);
        }
        let child = command
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .current_dir(dir)
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .spawn()
            .expect("spawn farmhand serve");
        while !healthy(port) {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "server did not start"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
        ServerProcess {
            child,
            base: format!("http://127.0.0.1:{port}"),
            port,
            started_in: started.elapsed(),
        }
    }

    /// A field of the process's `/proc/…/status`, in KiB (`VmRSS:`, `VmHWM:`).
    pub fn status_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find(|l| l.starts_with(field))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap()
    }

    /// Resets the peak-RSS counter (VmHWM) so it measures from now on.
    pub fn reset_peak(&self) {
        std::fs::write(format!("/proc/{}/clear_refs", self.child.id()), "5").unwrap();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        // SQLite and PostgreSQL both recover from a killed writer; nothing is writing by now.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether `/healthz` answers 200, asked over a bare socket (no client's start-up in the
/// timing).
fn healthy(port: u16) -> bool {
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    if stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut reply = String::new();
    let _ = stream.read_to_string(&mut reply);
    reply.starts_with("HTTP/1.1 200")
}

/// An in-process server's configuration and app on `url`, data in `dir`, with one
/// organization whose owner is `owner`.
pub struct InProcess {
    pub config: Config,
    pub app: App,
    pub org: OrgId,
    /// The owner's one-time password.
    pub one_time: String,
}

impl InProcess {
    pub async fn open(url: &DatabaseUrl, dir: &Path, owner: &str) -> InProcess {
        let config = Config {
            listen: "127.0.0.1:0".parse().expect("a socket address"),
            data_dir: dir.to_path_buf(),
            database_url: url_arg(url),
            log: "warn".into(),
            ..Config::default()
        };
        let app = app_on(&config).await;
        let created = app
            .console()
            .create_org("Bench", owner, Some("Owner"), authz::Preset::Farmhand)
            .await
            .expect("create the organization");
        InProcess {
            org: created.org.id,
            one_time: created.one_time_password.expect("a one-time password"),
            config,
            app,
        }
    }
}

/// A further app on the same configuration (another instance on the same database).
pub async fn app_on(config: &Config) -> App {
    let store = farmhand::open_store(config)
        .await
        .expect("open the database");
    let options = ServerOptions {
        clock: Arc::new(SystemClock),
        hasher: PasswordHasher::standard().expect("the password hasher"),
    };
    farmhand::build_app(store, config, options).expect("build the app")
}

/// `n` simulated printers with `settings` at one new site, `per_tx` to a transaction.
pub async fn seed_printers(
    store: &Store,
    org: OrgId,
    n: usize,
    now: Timestamp,
    settings: &serde_json::Value,
    per_tx: usize,
) -> Vec<PrinterId> {
    let mut ids = Vec::with_capacity(n);
    let mut tx = store.write().await.expect("a write transaction");
    let site = store::insert_site(&mut tx, org, "Bench hall", "", None, now)
        .await
        .expect("insert the site");
    tx.commit().await.expect("commit the site");
    while ids.len() < n {
        let mut tx = store.write().await.expect("a write transaction");
        for _ in 0..per_tx.min(n - ids.len()) {
            let name = format!("Printer {:05}", ids.len() + 1);
            let printer = store::NewPrinter {
                name: &name,
                site,
                model: None,
                groups: &[],
                driver: domain::DriverKind::Simulated,
                url: "",
                settings,
            };
            let id = store::insert_printer(&mut tx, org, &printer, now)
                .await
                .expect("insert a printer");
            ids.push(id);
        }
        // The organization's policy must learn of the printers.
        store::bump_authz_version(&mut tx, org)
            .await
            .expect("bump the authorization version");
        tx.commit().await.expect("commit the printers");
    }
    ids
}
