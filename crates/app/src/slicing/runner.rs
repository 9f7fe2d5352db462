//! One run of PrusaSlicer's command line: a subprocess in its own work directory, with a
//! memory limit (`prlimit --as`), without network (`unshare -n`, when configured), killed when
//! it runs past its time limit or its slice is cancelled. Its progress (`NN => what` lines on
//! standard output) is reported as it comes; its error lines are kept for the failure message.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::Command;
use tokio::sync::{mpsc, watch};

/// How the slicer is run.
#[derive(Debug, Clone)]
pub struct SlicerSettings {
    /// PrusaSlicer's command line program (a name on `PATH` or a path).
    pub command: PathBuf,
    /// Slices run at once (the pool's size).
    pub workers: usize,
    /// A run taking longer is killed and its slice fails.
    pub time_limit: Duration,
    /// Address space a run may use, bytes (`RLIMIT_AS`); a run needing more fails.
    pub memory_limit_bytes: u64,
    /// Run PrusaSlicer without network (a new, empty network namespace with `unshare -n`).
    /// When the system cannot, slices fail rather than run with network.
    pub isolate_network: bool,
}

impl Default for SlicerSettings {
    fn default() -> Self {
        SlicerSettings {
            command: PathBuf::from("prusa-slicer"),
            workers: std::thread::available_parallelism().map_or(1, usize::from),
            time_limit: Duration::from_secs(600),
            memory_limit_bytes: 4 << 30,
            isolate_network: true,
        }
    }
}

/// What a run needs: where its files are and how to place the model.
#[derive(Debug, Clone)]
pub struct Run {
    pub dir: PathBuf,
    pub model: PathBuf,
    pub config: PathBuf,
    pub output: PathBuf,
    /// Extra transform flags (`--scale`, `--rotate`, `--duplicate`).
    pub transform: Vec<String>,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// The G-code is at the run's `output`.
    Sliced,
    /// It failed; the message says why, in words for the member.
    Failed(String),
    /// Its slice was cancelled; it was killed.
    Cancelled,
    /// The server is stopping; it was killed (the slice goes back to the queue).
    Stopped,
}

/// How the network is taken away, found once by trying.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Isolation {
    /// `unshare -n` works (root, or the capability).
    Namespace,
    /// `unshare -rn` works (an unprivileged user namespace).
    UserNamespace,
    /// Neither works: the reason.
    Unavailable(String),
    /// Not asked for.
    Off,
}

impl Isolation {
    pub async fn probe(wanted: bool) -> Isolation {
        if !wanted {
            return Isolation::Off;
        }
        let mut last = String::new();
        for (flags, isolation) in [
            ("-n", Isolation::Namespace),
            ("-rn", Isolation::UserNamespace),
        ] {
            match Command::new("unshare")
                .args([flags, "true"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .output()
                .await
            {
                Ok(out) if out.status.success() => return isolation,
                Ok(out) => last = String::from_utf8_lossy(&out.stderr).trim().to_string(),
                Err(e) => last = format!("unshare cannot run: {e}"),
            }
        }
        Isolation::Unavailable(last)
    }

    fn prefix(&self) -> Option<&'static [&'static str]> {
        match self {
            Isolation::Namespace => Some(&["unshare", "-n", "--"]),
            Isolation::UserNamespace => Some(&["unshare", "-rn", "--"]),
            Isolation::Off | Isolation::Unavailable(_) => None,
        }
    }
}

/// The whole command line: isolation, limits, PrusaSlicer and its arguments.
pub fn command_line(settings: &SlicerSettings, isolation: &Isolation, run: &Run) -> Vec<String> {
    let mut args: Vec<String> = Vec::new();
    if let Some(prefix) = isolation.prefix() {
        args.extend(prefix.iter().map(|s| s.to_string()));
    }
    args.extend([
        "prlimit".to_string(),
        format!("--as={}", settings.memory_limit_bytes),
        // A core dump of a crash would only fill the disk.
        "--core=0".to_string(),
        "--".to_string(),
    ]);
    args.push(settings.command.display().to_string());
    args.extend([
        "--datadir".to_string(),
        run.dir.join("datadir").display().to_string(),
        "--loglevel".to_string(),
        "1".to_string(),
        "--load".to_string(),
        run.config.display().to_string(),
        "--export-gcode".to_string(),
        "--output".to_string(),
        run.output.display().to_string(),
    ]);
    args.extend(run.transform.iter().cloned());
    args.push(run.model.display().to_string());
    args
}

/// Most of the slicer's error output kept for the failure message.
const KEPT_STDERR: usize = 8 * 1024;

/// Runs PrusaSlicer for `run`. Progress (0–100) goes to `progress` as it changes; a `true`
/// on `cancel` kills the run.
pub async fn run(
    settings: &SlicerSettings,
    isolation: &Isolation,
    run: &Run,
    progress: mpsc::UnboundedSender<u8>,
    mut cancel: watch::Receiver<bool>,
) -> Ended {
    if let Isolation::Unavailable(why) = isolation {
        return Ended::Failed(format!(
            "the server cannot run the slicer without network ({why}); an administrator must \
             allow `unshare -n` or set slicer.isolate_network = false"
        ));
    }
    let args = command_line(settings, isolation, run);
    let Some((program, rest)) = args.split_first() else {
        return Ended::Failed("no slicer command".into());
    };
    let child = Command::new(program)
        .args(rest)
        .current_dir(&run.dir)
        .env("HOME", &run.dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) => {
            tracing::error!(error = %e, command = %program, "cannot start the slicer");
            return Ended::Failed(format!(
                "the slicer could not be started ({e}); an administrator must install PrusaSlicer or set slicer.command"
            ));
        }
    };
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let reading_progress = async move {
        let Some(stdout) = stdout else { return };
        let mut lines = BufReader::new(stdout).lines();
        let mut best = 0u8;
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(p) = parse_progress(&line)
                && p > best
            {
                best = p;
                let _ = progress.send(p);
            }
        }
    };
    let reading_errors = async move {
        let mut kept = Vec::new();
        if let Some(stderr) = stderr {
            let mut reader = BufReader::new(stderr);
            let mut chunk = [0u8; 4096];
            loop {
                match reader.read(&mut chunk).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        kept.extend_from_slice(&chunk[..n]);
                        if kept.len() > KEPT_STDERR {
                            let cut = kept.len() - KEPT_STDERR;
                            kept.drain(..cut);
                        }
                    }
                }
            }
        }
        kept
    };
    // Killed here on a timeout or a cancel, so that its pipes close and the readers end.
    let waiting = async {
        let outcome = tokio::select! {
            status = child.wait() => Wait::Exited(status),
            _ = tokio::time::sleep(settings.time_limit) => Wait::TimedOut,
            _ = async {
                // A dropped sender is no cancel: wait on.
                if cancel.wait_for(|c| *c).await.is_err() {
                    std::future::pending::<()>().await;
                }
            } => Wait::Cancelled,
        };
        if !matches!(outcome, Wait::Exited(_)) {
            let _ = child.kill().await;
        }
        outcome
    };
    let (outcome, (), errors) = tokio::join!(waiting, reading_progress, reading_errors);
    match outcome {
        Wait::Exited(Ok(status)) if status.success() => {
            if tokio::fs::metadata(&run.output).await.is_ok() {
                Ended::Sliced
            } else {
                Ended::Failed(format!(
                    "the slicer ended without writing G-code{}",
                    detail(&errors)
                ))
            }
        }
        Wait::Exited(Ok(status)) => Ended::Failed(failure(status, &errors, settings)),
        Wait::Exited(Err(e)) => Ended::Failed(format!("the slicer could not be watched: {e}")),
        Wait::Cancelled => Ended::Cancelled,
        Wait::TimedOut => Ended::Failed(format!(
            "the slicer took longer than its limit of {} s and was stopped",
            settings.time_limit.as_secs()
        )),
    }
}

enum Wait {
    Exited(std::io::Result<std::process::ExitStatus>),
    TimedOut,
    Cancelled,
}

/// `NN => what it does` on the slicer's output: its progress in percent.
pub fn parse_progress(line: &str) -> Option<u8> {
    let (number, _) = line.split_once(" => ")?;
    let n: u8 = number.trim().parse().ok()?;
    (n <= 100).then_some(n)
}

/// The slicer's own error lines, for the message (`[error]` log lines and its last words).
fn detail(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let mut lines: Vec<String> = text
        .lines()
        .filter_map(|line| {
            let line = line.trim();
            if line.is_empty() {
                return None;
            }
            // `[date] [thread] [error]   message` → `message`.
            let message = match line.rfind("[error]") {
                Some(at) => line[at + "[error]".len()..].trim(),
                None if line.starts_with('[') => return None,
                None => line,
            };
            Some(message.chars().take(300).collect())
        })
        .collect();
    lines.dedup();
    let tail: Vec<String> = lines.split_off(lines.len().saturating_sub(3));
    if tail.is_empty() {
        String::new()
    } else {
        format!(": {}", tail.join("; "))
    }
}

fn failure(status: std::process::ExitStatus, stderr: &[u8], settings: &SlicerSettings) -> String {
    use std::os::unix::process::ExitStatusExt;
    let said = detail(stderr);
    let memory = said.contains("bad_alloc") || said.contains("cannot allocate memory");
    if memory {
        return format!(
            "the slicer ran out of its {} MiB memory limit{said}",
            settings.memory_limit_bytes >> 20
        );
    }
    if let Some(signal) = status.signal() {
        return format!("the slicer crashed (signal {signal}){said}");
    }
    let code = status.code().unwrap_or(-1);
    format!("the slicer failed (exit status {code}){said}")
}

/// A work directory for one run, removed when dropped.
pub struct WorkDir(PathBuf);

impl WorkDir {
    pub fn create(parent: &Path, name: &str) -> std::io::Result<WorkDir> {
        let dir = parent.join(name);
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        std::fs::create_dir_all(&dir)?;
        Ok(WorkDir(dir))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.0)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(path = %self.0.display(), error = %e, "cannot remove a slicing work directory");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_lines() {
        assert_eq!(
            parse_progress("10 => Processing triangulated mesh"),
            Some(10)
        );
        assert_eq!(
            parse_progress("90 => Exporting G-code to x.gcode"),
            Some(90)
        );
        assert_eq!(parse_progress("[2026] [trace] Initializing"), None);
        assert_eq!(parse_progress("300 => no"), None);
    }

    #[test]
    fn error_lines_are_kept_short_and_plain() {
        let stderr = b"[2026-12-06 13:53:50.635797] [0x7f31] [trace]   Initializing StaticPrintConfigs\n[2026-12-06 13:53:50.639552] [0x7f31] [error]   stl_open_count_facets: The input is an empty file: bad.stl\nbad.stl: Loading of a model file failed.\n";
        assert_eq!(
            detail(stderr),
            ": stl_open_count_facets: The input is an empty file: bad.stl; bad.stl: Loading of a model file failed."
        );
        assert_eq!(detail(b""), "");
    }

    #[test]
    fn the_command_line_limits_and_isolates() {
        let settings = SlicerSettings {
            memory_limit_bytes: 1 << 30,
            ..SlicerSettings::default()
        };
        let run = Run {
            dir: "/w".into(),
            model: "/w/model.stl".into(),
            config: "/w/slice.ini".into(),
            output: "/w/out.gcode".into(),
            transform: vec!["--scale".into(), "50%".into()],
        };
        let args = command_line(&settings, &Isolation::Namespace, &run);
        assert_eq!(&args[..3], ["unshare", "-n", "--"]);
        assert!(args.contains(&"--as=1073741824".to_string()));
        assert_eq!(args.last().map(String::as_str), Some("/w/model.stl"));
        let args = command_line(&settings, &Isolation::Off, &run);
        assert_eq!(args[0], "prlimit");
    }
}
