//! Real OctoPrint for tests: `scripts/octoprint serve` (installed by `scripts/octoprint ensure`
//! when missing) on a free loopback port with a scratch directory, its whole process group
//! killed on drop (also when a test panics) and by a watchdog shell if the test process dies
//! without unwinding. Behind the `octoprint-harness` feature; used by this crate's driver test
//! and by the server's HTTP tests.
// A test harness: set-up failures stop the test with the cause.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::time::{Instant, timeout};

/// First install of OctoPrint included (pip, 30–60 s).
pub const ENSURE_WAIT: Duration = Duration::from_secs(600);
const START_WAIT: Duration = Duration::from_secs(60);

pub fn script() -> PathBuf {
    std::env::var_os("OCTOPRINT_SCRIPT").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/octoprint"),
        PathBuf::from,
    )
}

/// A scratch directory, removed at the end unless the test failed (its logs help then).
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let dir = std::env::temp_dir().join(format!(
            "farmhand-octoprint-test-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "OctoPrint's files and logs are kept in {}",
                self.0.display()
            );
        } else {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// `scripts/octoprint serve` on a port, killed with its whole process group on drop.
struct Server {
    child: tokio::process::Child,
    watchdog: Option<std::process::Child>,
    basedir: PathBuf,
    url: String,
    key: String,
}

impl Server {
    async fn start(basedir: &Path, port: u16) -> Self {
        let mut child = tokio::process::Command::new(script())
            .arg("serve")
            .arg("--basedir")
            .arg(basedir)
            .args(["--port", &port.to_string(), "--autoconnect"])
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(basedir.join("harness-stderr.log")).unwrap())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", script().display()));
        let watchdog = Some(watchdog(child.id().unwrap()));
        let stdout = child.stdout.take().unwrap();
        let mut server = Self {
            child,
            watchdog,
            basedir: basedir.to_owned(),
            url: String::new(),
            key: String::new(),
        };
        let mut lines = BufReader::new(stdout).lines();
        let read = async {
            while let Some(line) = lines.next_line().await.unwrap() {
                if let Some(key) = line.strip_prefix("api_key=") {
                    server.key = key.to_owned();
                }
                if let Some(url) = line.strip_prefix("url=") {
                    server.url = url.to_owned();
                }
                if line.starts_with("basedir=") {
                    return;
                }
            }
        };
        if timeout(START_WAIT, read).await.is_err() || server.key.is_empty() {
            panic!("OctoPrint did not announce itself: {}", server.logs());
        }
        server.wait_ready().await;
        server
    }

    /// Polls `/api/version` with the key until it answers 200.
    async fn wait_ready(&mut self) {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + START_WAIT;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("OctoPrint exited with {status}: {}", self.logs());
            }
            let answer = client
                .get(format!("{}/api/version", self.url))
                .header("X-Api-Key", &self.key)
                .timeout(Duration::from_secs(2))
                .send()
                .await;
            if answer.is_ok_and(|a| a.status().is_success()) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "OctoPrint did not answer within {START_WAIT:?}: {}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    fn logs(&self) -> String {
        let tail = |name: &str| {
            let text = std::fs::read_to_string(self.basedir.join(name)).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(20)..].join("\n")
        };
        format!(
            "\n--- harness stderr ---\n{}\n--- logs/octoprint.log ---\n{}",
            tail("harness-stderr.log"),
            tail("logs/octoprint.log")
        )
    }

    /// SIGKILL to the whole process group (OctoPrint and any analysis subprocess).
    async fn kill(&mut self) {
        if let Some(pid) = self.child.id() {
            kill_group(pid);
        }
        let _ = timeout(Duration::from_secs(10), self.child.wait()).await;
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(pid) = self.child.id() {
            kill_group(pid);
        }
        if let Some(mut watchdog) = self.watchdog.take() {
            let _ = watchdog.kill();
            let _ = watchdog.wait();
        }
    }
}

fn kill_group(pgid: u32) {
    let _ = std::process::Command::new("kill")
        .args(["-KILL", "--", &format!("-{pgid}")])
        .status();
}

/// Kills the group once this test process is gone, in case it dies without unwinding.
fn watchdog(pgid: u32) -> std::process::Child {
    std::process::Command::new("sh")
        .args([
            "-c",
            "while kill -0 \"$0\" 2>/dev/null; do sleep 1; done; kill -KILL -- \"-$1\" 2>/dev/null",
            &std::process::id().to_string(),
            &pgid.to_string(),
        ])
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// OctoPrint with its virtual printer, ready for a driver, restartable on the same directory.
pub struct OctoPrintHarness {
    // Dropped first: the server goes before its directory.
    server: Server,
    scratch: Scratch,
    port: u16,
}

impl OctoPrintHarness {
    /// Installs OctoPrint if needed and starts it; panics with the reason if it cannot.
    pub async fn start() -> Self {
        let ensure = timeout(
            ENSURE_WAIT,
            tokio::process::Command::new(script())
                .arg("ensure")
                .stdout(Stdio::null())
                .status(),
        )
        .await;
        match ensure {
            Ok(Ok(status)) if status.success() => {}
            other => panic!(
                "OctoPrint is required for this test and `{} ensure` could not install it: {other:?}",
                script().display()
            ),
        }
        let scratch = Scratch::new();
        let port = free_port();
        let server = Server::start(&scratch.0, port).await;
        Self {
            server,
            scratch,
            port,
        }
    }

    /// Base URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.server.url
    }

    pub fn api_key(&self) -> &str {
        &self.server.key
    }

    /// SIGKILL, as a crash or a power cut would.
    pub async fn kill(&mut self) {
        self.server.kill().await;
    }

    /// Starts OctoPrint again on the same directory and port (same key).
    pub async fn restart(&mut self) {
        self.server.kill().await;
        self.server = Server::start(&self.scratch.0, self.port).await;
    }
}
