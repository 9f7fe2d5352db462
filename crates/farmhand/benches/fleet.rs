//! Printer fleet measurements (issue 5): how many simulated printers one server tracks with a
//! state update every second while the API stays responsive, and what that costs.
//!
//! For each fleet size (100, 1,000 and 10,000 printers on SQLite; 1,000 on PostgreSQL), in a
//! fresh database:
//! - the printers are inserted directly into the store (one transaction per 2,000), then the
//!   server starts in-process (`farmhand::Server::start`, which starts a supervisor per
//!   printer polling every second) and every printer is waited for until it reports `idle`;
//! - every other printer starts a three-hour (simulated) print through the API, at speed 60,
//!   so its progress changes at every poll; after a 5 s warm-up:
//! - live updates (`LiveUpdate`s from `app.supervisors().subscribe()`) are counted over 10 s, with
//!   the server's CPU time over those 10 s;
//! - 4 concurrent clients, each signed in as the owner, request the printer list's first page
//!   (`GET /api/v1/orgs/{org}/printers`, 100 printers by default) back to back: at least 200
//!   requests and at least 5 s.
//!   They run on their own thread and runtime, like an outside client; their CPU time is
//!   taken out of the server's. Updates keep being counted meanwhile;
//! - memory: the process's RSS after the printers are inserted (before the server starts)
//!   and after the warm-up.
//!
//! Each case runs in its own process (this binary, re-run with `--case BACKEND N`), so the
//! memory of one case does not carry over into the next. There is no speed target and so no
//! named peer: the figures are a report.
//!
//! `cargo bench -p farmhand --bench fleet -- [--sizes 100,1000,10000] [--postgres N | --no-postgres]`

// A bench binary: set-up failures stop it with the cause.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use app::App;
use domain::{OrgId, PrinterId, PrinterState, Timestamp};
use farmhand::Server;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::json;
use store::{Backend, Store};
use testkit::TestDatabase;
use tokio::sync::broadcast::error::RecvError;
use tracing_subscriber::layer::SubscriberExt;

mod common;

const OWNER: &str = "owner@bench.test";
const PASSWORD: &str = "bench password 123";
/// Printers inserted per transaction.
const PER_TX: usize = 2_000;
/// The simulators' time scale: a simulated minute per real second.
const SPEED: f64 = 60.0;
const WARM_UP: Duration = Duration::from_secs(5);
const UPDATE_WINDOW: Duration = Duration::from_secs(10);
const CLIENTS: usize = 4;
const MIN_REQUESTS: usize = 200;
const MIN_LOAD_TIME: Duration = Duration::from_secs(5);
/// Concurrent requests while starting the prints.
const STARTERS: usize = 8;
/// Linux reports CPU times in USER_HZ ticks, 100 a second on every architecture it supports.
const TICKS_PER_SECOND: f64 = 100.0;

// ---------------------------------------------------------------------------------------------
// The parent: runs each case in its own process and prints the table.

struct Args {
    sizes: Vec<usize>,
    postgres: Option<usize>,
}

fn args() -> Args {
    let mut args = Args {
        sizes: vec![100, 1_000, 10_000],
        postgres: Some(1_000),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--sizes" => {
                let list = it.next().expect("--sizes takes a list, like 100,1000");
                args.sizes = list
                    .split(',')
                    .map(|n| n.trim().replace('_', "").parse().expect("--sizes N,N,…"))
                    .collect();
            }
            "--postgres" => {
                args.postgres = Some(
                    it.next()
                        .and_then(|v| v.parse().ok())
                        .expect("--postgres N"),
                );
            }
            "--no-postgres" => args.postgres = None,
            _ => {} // `cargo bench` passes --bench and filters.
        }
    }
    args
}

/// What one case measured.
#[derive(Debug, Serialize, Deserialize)]
struct Figures {
    backend: String,
    printers: usize,
    /// Printers under supervision (the fleet's length).
    tracked: usize,
    /// Printers with a print running when the updates were counted.
    printing: usize,
    seed_s: f64,
    /// `Server::start`, which starts one supervisor per printer.
    server_start_s: f64,
    /// From the server's start until every printer reported idle.
    all_idle_s: f64,
    /// Starting the prints through the API.
    prints_started_s: f64,
    /// Live updates a second, without API load (received plus those a slow reader missed).
    updates_per_s: f64,
    /// Updates the counting reader missed (lagged behind the channel).
    missed: u64,
    /// Printers with at least one update received in the window.
    updated_printers: usize,
    /// Live updates a second while the clients load the API.
    updates_under_load_per_s: f64,
    requests: usize,
    requests_per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    response_bytes: usize,
    rss_before_kib: u64,
    rss_after_kib: u64,
    /// Peak RSS of the whole run (VmHWM).
    peak_kib: u64,
    /// Server CPU over the update window, as a share of one core.
    cpu_tracking: f64,
    /// Server CPU while the clients load the API (their own CPU taken out).
    cpu_under_load: f64,
    /// Warnings the server logged (e.g. an observation it could not record).
    warnings: u64,
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| field_kib(&s, "MemTotal:"))
        .map_or(0.0, |kib| kib as f64 / 1024.0 / 1024.0);
    let load = std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default();
    format!("{cores} cores ({cpu}), {memory:.1} GiB RAM, load average {load} at start")
}

fn run_parent(args: &Args) {
    println!("Printer fleet bench: {}", machine());
    let mut cases: Vec<(Backend, usize)> =
        args.sizes.iter().map(|n| (Backend::Sqlite, *n)).collect();
    if let Some(n) = args.postgres {
        cases.push((Backend::Postgres, n));
    }
    let exe = std::env::current_exe().expect("the bench binary's own path");
    let started = Instant::now();
    let mut results = Vec::new();
    for (backend, n) in cases {
        if backend == Backend::Postgres
            && let Err(e) = postgres_reachable()
        {
            println!(
                "\n=== {backend}, {n} printers: skipped, PostgreSQL does not answer at {} ({e})",
                testkit::postgres_admin_url()
            );
            continue;
        }
        println!("\n=== {backend}, {n} printers ===");
        let output = Command::new(&exe)
            .args(["--case", &backend.to_string(), &n.to_string()])
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output()
            .expect("run a case of the bench");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let result = stdout
            .lines()
            .find_map(|l| l.strip_prefix("RESULT "))
            .map(|json| serde_json::from_str::<Figures>(json).expect("the case's figures"));
        match result {
            Some(figures) if output.status.success() => results.push(figures),
            _ => println!("case failed ({}): see its messages above", output.status),
        }
    }
    println!(
        "\n=== Printer fleet, simulated printers polled every second (whole run {:.0} s) ===\n",
        started.elapsed().as_secs_f64()
    );
    print_table(&results);
    let load = std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default();
    println!("load average {load} at the end");
}

fn postgres_reachable() -> Result<(), String> {
    use sqlx::Connection;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let url = testkit::postgres_admin_url();
        let connect = sqlx::PgConnection::connect(&url);
        match tokio::time::timeout(Duration::from_secs(5), connect).await {
            Ok(Ok(conn)) => {
                let _ = conn.close().await;
                Ok(())
            }
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err("no answer in 5 s".into()),
        }
    })
}

fn print_table(results: &[Figures]) {
    println!(
        "{:<8} {:>8} {:>8} {:>9} {:>8} {:>10} {:>8} {:>8} {:>8} {:>7} {:>9} {:>9} {:>9} {:>9} {:>10} {:>7} {:>7}",
        "backend",
        "printers",
        "tracked",
        "printing",
        "upd/s",
        "upd/s API",
        "p50 ms",
        "p99 ms",
        "max ms",
        "req/s",
        "resp KiB",
        "RSS MiB",
        "used MiB",
        "KiB/prn",
        "Δ KiB/prn",
        "CPU",
        "CPU API",
    );
    for f in results {
        let used = f.rss_after_kib.saturating_sub(f.rss_before_kib);
        // The cost of each printer beyond the smallest fleet of the same backend: the fixed
        // cost of a running server drops out.
        let smallest = results
            .iter()
            .filter(|o| o.backend == f.backend)
            .min_by_key(|o| o.printers)
            .filter(|o| o.printers < f.printers);
        let marginal = smallest.map_or_else(
            || "-".to_string(),
            |o| {
                let used_there = o.rss_after_kib.saturating_sub(o.rss_before_kib);
                let extra = used as f64 - used_there as f64;
                format!("{:.1}", extra / (f.printers - o.printers) as f64)
            },
        );
        println!(
            "{:<8} {:>8} {:>8} {:>9} {:>8.0} {:>10.0} {:>8.1} {:>8.1} {:>8.1} {:>7.1} {:>9.0} {:>9.1} {:>9.1} {:>9.1} {:>10} {:>6.1}% {:>6.1}%",
            f.backend,
            f.printers,
            f.tracked,
            f.printing,
            f.updates_per_s,
            f.updates_under_load_per_s,
            f.p50_ms,
            f.p99_ms,
            f.max_ms,
            f.requests_per_s,
            f.response_bytes as f64 / 1024.0,
            f.rss_after_kib as f64 / 1024.0,
            used as f64 / 1024.0,
            used as f64 / f.printers as f64,
            marginal,
            f.cpu_tracking * 100.0,
            f.cpu_under_load * 100.0,
        );
    }
    println!(
        "\nupd/s: live updates a second over {} s without API load (missed by a lagging reader \
         included); upd/s API: the same while {CLIENTS} clients request the printer list back to back \
         (p50/p99/max over ≥ {MIN_REQUESTS} requests and ≥ {} s; resp: one response's size). RSS: \
         after the warm-up; used: RSS after the warm-up minus RSS before the server started; \
         KiB/prn: used / printers; Δ KiB/prn: the same beyond the smallest fleet of the backend. \
         CPU: server CPU time as a share of one core (2 cores = 200%).",
        UPDATE_WINDOW.as_secs(),
        MIN_LOAD_TIME.as_secs(),
    );
    for f in results {
        println!(
            "{} {:>6}: inserted in {:.1} s; server start {:.1} s; all idle {:.1} s after; {} prints \
             started in {:.1} s; {} printers updated in the window, {} updates missed by the reader; \
             {} requests; peak RSS {:.1} MiB; {} server warnings",
            f.backend,
            f.printers,
            f.seed_s,
            f.server_start_s,
            f.all_idle_s,
            f.printing,
            f.prints_started_s,
            f.updated_printers,
            f.missed,
            f.requests,
            f.peak_kib as f64 / 1024.0,
            f.warnings,
        );
    }
}

// ---------------------------------------------------------------------------------------------
// A case: one backend, one fleet size, in this process.

fn field_kib(text: &str, field: &str) -> Option<u64> {
    text.lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    field_kib(&status, field).unwrap_or_else(|| panic!("no {field} in /proc/self/status"))
}

/// utime + stime of a `/proc/…/stat` file, in seconds.
fn cpu_seconds(stat_file: &str) -> f64 {
    let stat = std::fs::read_to_string(stat_file).unwrap_or_else(|e| panic!("{stat_file}: {e}"));
    // The command name (field 2) may hold spaces; fields are counted after its closing paren.
    let rest = &stat[stat.rfind(')').expect("a stat line") + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    ticks as f64 / TICKS_PER_SECOND
}

fn process_cpu() -> f64 {
    cpu_seconds("/proc/self/stat")
}

fn thread_cpu() -> f64 {
    cpu_seconds("/proc/thread-self/stat")
}

/// Counts the server's warnings, and shows the first few.
struct WarningCounter {
    count: Arc<AtomicU64>,
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for WarningCounter {
    fn on_event(
        &self,
        event: &tracing::Event<'_>,
        _ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        let seen = self.count.fetch_add(1, Ordering::Relaxed);
        if seen < 5 {
            struct Fields(String);
            impl tracing::field::Visit for Fields {
                fn record_debug(
                    &mut self,
                    field: &tracing::field::Field,
                    value: &dyn std::fmt::Debug,
                ) {
                    self.0.push_str(&format!(" {}={value:?}", field.name()));
                }
            }
            let mut fields = Fields(String::new());
            event.record(&mut fields);
            eprintln!("  server {}:{}", event.metadata().level(), fields.0);
        }
    }
}

fn long_gcode() -> String {
    let mut text = String::from("; bench part\nG21\nG90\nM83\nM104 S210\nM140 S60\nG1 Z0.2 F600\n");
    for i in 0..54 {
        let x = if i % 2 == 0 { 200 } else { 0 };
        text.push_str(&format!("G1 X{x} Y{} E8 F60\n", i % 10));
    }
    text
}

async fn seed_printers(store: &Store, org: OrgId, n: usize, now: Timestamp) -> Vec<PrinterId> {
    common::seed_printers(store, org, n, now, &json!({ "speed": SPEED }), PER_TX).await
}

/// Waits until `done` holds for every printer, or fails after `limit` saying how far it got.
async fn wait_for(
    app: &App,
    ids: &[PrinterId],
    what: &str,
    limit: Duration,
    done: impl Fn(PrinterState) -> bool,
) -> Duration {
    let started = Instant::now();
    loop {
        let ready = ids
            .iter()
            .filter(|id| {
                app.supervisors()
                    .status(**id)
                    .is_some_and(|s| done(s.state))
            })
            .count();
        if ready == ids.len() {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < limit,
            "only {ready} of {} printers {what} after {limit:?}",
            ids.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

struct UpdateCount {
    received: u64,
    missed: u64,
    printers: HashSet<PrinterId>,
}

/// Counts live updates until `stop` resolves.
async fn count_updates(
    mut updates: tokio::sync::broadcast::Receiver<app::LiveUpdate>,
    stop: impl std::future::Future<Output = ()>,
) -> UpdateCount {
    let mut count = UpdateCount {
        received: 0,
        missed: 0,
        printers: HashSet::new(),
    };
    tokio::pin!(stop);
    loop {
        tokio::select! {
            () = &mut stop => return count,
            update = updates.recv() => match update {
                Ok(update) => {
                    count.received += 1;
                    count.printers.insert(update.status.printer_id);
                }
                Err(RecvError::Lagged(n)) => count.missed += n,
                Err(RecvError::Closed) => return count,
            },
        }
    }
}

/// Runs `work` on a thread of its own with a single-threaded runtime (an outside client).
async fn on_client_thread<T, F>(work: impl FnOnce() -> F + Send + 'static) -> T
where
    T: Send + 'static,
    F: std::future::Future<Output = T>,
{
    let (send, receive) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("the clients' runtime");
        let _ = send.send(runtime.block_on(work()));
    });
    receive
        .await
        .expect("the client thread stopped: see its panic above")
}

async fn signed_in(base: &str, password: &str) -> reqwest::Client {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .expect("an HTTP client");
    let response = client
        .post(format!("{base}/api/v1/auth/sign-in"))
        .json(&json!({ "email": OWNER, "password": password }))
        .send()
        .await
        .expect("sign-in request");
    let status = response.status();
    assert!(
        status.is_success(),
        "sign-in: {status} {}",
        response.text().await.unwrap_or_default()
    );
    client
}

/// Signs the owner in, sets their password and starts the long print on `printers`.
async fn start_prints(base: String, org: OrgId, one_time: String, printers: Vec<PrinterId>) {
    let client = signed_in(&base, &one_time).await;
    let changed = client
        .post(format!("{base}/api/v1/me/password"))
        .json(&json!({ "current_password": one_time, "new_password": PASSWORD }))
        .send()
        .await
        .expect("password change request");
    assert!(
        changed.status().is_success(),
        "password change: {}",
        changed.status()
    );
    let gcode = long_gcode().into_bytes();
    let mut starts = futures::stream::iter(printers)
        .map(|id| {
            let request = client
                .post(format!(
                    "{base}/api/v1/orgs/{org}/printers/{id}/prints?file_name=bench.gcode"
                ))
                .header("content-type", "application/octet-stream")
                .body(gcode.clone())
                .send();
            async move {
                let response = request.await.expect("start-print request");
                let status = response.status();
                if !status.is_success() {
                    let body = response.text().await.unwrap_or_default();
                    panic!("starting a print on printer {id}: {status} {body}");
                }
            }
        })
        .buffer_unordered(STARTERS);
    while starts.next().await.is_some() {}
}

struct Load {
    latencies: Vec<Duration>,
    response_bytes: usize,
    elapsed: Duration,
    client_cpu: f64,
}

/// `CLIENTS` signed-in clients request the printer list back to back; `started` is told when
/// the timed part begins.
async fn list_load(base: String, org: OrgId, started: tokio::sync::oneshot::Sender<()>) -> Load {
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        clients.push(signed_in(&base, PASSWORD).await);
    }
    let url = format!("{base}/api/v1/orgs/{org}/printers");
    // One untimed request each: connections open, the policy compiled.
    for client in &clients {
        let response = client.get(&url).send().await.expect("printer list request");
        assert!(
            response.status().is_success(),
            "printer list: {}",
            response.status()
        );
        response.bytes().await.expect("printer list body");
    }
    let done = Arc::new(AtomicUsize::new(0));
    let _ = started.send(());
    let cpu_before = thread_cpu();
    let begin = Instant::now();
    let tasks = clients.into_iter().map(|client| {
        let (url, done) = (url.clone(), done.clone());
        async move {
            let mut latencies = Vec::new();
            let mut size = 0;
            while done.load(Ordering::Relaxed) < MIN_REQUESTS || begin.elapsed() < MIN_LOAD_TIME {
                let sent = Instant::now();
                let response = client.get(&url).send().await.expect("printer list request");
                let status = response.status();
                let body = response.bytes().await.expect("printer list body");
                latencies.push(sent.elapsed());
                assert!(status.is_success(), "printer list: {status}");
                size = body.len();
                done.fetch_add(1, Ordering::Relaxed);
            }
            (latencies, size)
        }
    });
    let results = futures::future::join_all(tasks).await;
    let elapsed = begin.elapsed();
    let client_cpu = thread_cpu() - cpu_before;
    let response_bytes = results.iter().map(|(_, size)| *size).max().unwrap_or(0);
    let latencies = results.into_iter().flat_map(|(l, _)| l).collect();
    Load {
        latencies,
        response_bytes,
        elapsed,
        client_cpu,
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1].as_secs_f64() * 1e3
}

async fn run_case(backend: Backend, n: usize, warnings: Arc<AtomicU64>) -> Figures {
    let db = TestDatabase::new(backend).await;
    let data_dir = tempfile::tempdir().expect("a temporary data directory");
    let common::InProcess {
        config,
        app,
        org,
        one_time,
    } = common::InProcess::open(&db.url, data_dir.path(), OWNER).await;

    let seeding = Instant::now();
    let ids = seed_printers(app.store(), org, n, app.now()).await;
    let seed_s = seeding.elapsed().as_secs_f64();
    eprintln!("  {n} printers inserted in {seed_s:.1} s");

    let rss_before_kib = status_kib("VmRSS:");
    let starting = Instant::now();
    let server = Server::start(&config, app).await.expect("start the server");
    let server_start_s = starting.elapsed().as_secs_f64();
    let app = server.app().clone();
    let base = format!("http://{}", server.addr());
    let all_idle = wait_for(&app, &ids, "idle", Duration::from_secs(120), |s| {
        s == PrinterState::Idle
    })
    .await;
    let all_idle_s = all_idle.as_secs_f64();
    eprintln!(
        "  server started in {server_start_s:.1} s, every printer idle {all_idle_s:.1} s later"
    );

    let printing_ids: Vec<PrinterId> = ids.iter().copied().step_by(2).collect();
    let starting = Instant::now();
    {
        let (base, printing_ids) = (base.clone(), printing_ids.clone());
        on_client_thread(move || start_prints(base, org, one_time, printing_ids)).await;
    }
    let prints_started_s = starting.elapsed().as_secs_f64();
    wait_for(
        &app,
        &printing_ids,
        "printing",
        Duration::from_secs(30),
        |s| s == PrinterState::Printing,
    )
    .await;
    eprintln!(
        "  {} prints started in {prints_started_s:.1} s; warming up",
        printing_ids.len()
    );
    tokio::time::sleep(WARM_UP).await;
    let rss_after_kib = status_kib("VmRSS:");
    let tracked = app.supervisors().len();
    let printing = ids
        .iter()
        .filter(|id| {
            app.supervisors()
                .status(**id)
                .is_some_and(|s| s.state == PrinterState::Printing)
        })
        .count();

    // Updates without API load.
    let cpu_before = process_cpu();
    let window = Instant::now();
    let quiet = count_updates(
        app.supervisors().subscribe(),
        tokio::time::sleep(UPDATE_WINDOW),
    )
    .await;
    let window_s = window.elapsed().as_secs_f64();
    let cpu_tracking = (process_cpu() - cpu_before) / window_s;
    let updates_per_s = (quiet.received + quiet.missed) as f64 / window_s;
    eprintln!(
        "  {updates_per_s:.0} updates/s ({} missed by the reader), server CPU {:.0}% of a core",
        quiet.missed,
        cpu_tracking * 100.0
    );

    // The printer list under load, updates still counted.
    let (started_send, started) = tokio::sync::oneshot::channel();
    let (stop_send, stop) = tokio::sync::oneshot::channel::<()>();
    let load = {
        let base = base.clone();
        tokio::spawn(on_client_thread(move || list_load(base, org, started_send)))
    };
    started.await.expect("the clients signed in");
    let counter = tokio::spawn(count_updates(app.supervisors().subscribe(), async move {
        let _ = stop.await;
    }));
    let cpu_before = process_cpu();
    let window = Instant::now();
    let load = load.await.expect("the list load");
    let _ = stop_send.send(());
    let window_s = window.elapsed().as_secs_f64();
    let cpu_under_load = (process_cpu() - cpu_before - load.client_cpu) / window_s;
    let busy = counter.await.expect("the update counter");
    let updates_under_load_per_s = (busy.received + busy.missed) as f64 / window_s;

    let mut latencies = load.latencies;
    latencies.sort();
    let figures = Figures {
        backend: backend.to_string(),
        printers: n,
        tracked,
        printing,
        seed_s,
        server_start_s,
        all_idle_s,
        prints_started_s,
        updates_per_s,
        missed: quiet.missed,
        updated_printers: quiet.printers.len(),
        updates_under_load_per_s,
        requests: latencies.len(),
        requests_per_s: latencies.len() as f64 / load.elapsed.as_secs_f64(),
        p50_ms: percentile(&latencies, 50.0),
        p99_ms: percentile(&latencies, 99.0),
        max_ms: latencies.last().map_or(0.0, |d| d.as_secs_f64() * 1e3),
        response_bytes: load.response_bytes,
        rss_before_kib,
        rss_after_kib,
        peak_kib: status_kib("VmHWM:"),
        cpu_tracking,
        cpu_under_load,
        warnings: warnings.load(Ordering::Relaxed),
    };
    eprintln!(
        "  printer list: p50 {:.1} ms, p99 {:.1} ms over {} requests; {updates_under_load_per_s:.0} updates/s meanwhile",
        figures.p50_ms, figures.p99_ms, figures.requests
    );
    server.stop().await.expect("stop the server");
    db.drop_database().await;
    figures
}

fn run_child(backend: &str, n: &str) {
    let backend = match backend {
        "sqlite" => Backend::Sqlite,
        "postgres" | "postgresql" => Backend::Postgres,
        other => panic!("unknown backend {other:?}"),
    };
    let n: usize = n.parse().expect("a number of printers");
    let warnings = Arc::new(AtomicU64::new(0));
    let counter = WarningCounter {
        count: warnings.clone(),
    };
    let subscriber = tracing_subscriber::registry().with(tracing_subscriber::Layer::with_filter(
        counter,
        tracing_subscriber::filter::LevelFilter::WARN,
    ));
    tracing::subscriber::set_global_default(subscriber).expect("the warning counter");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("the server's runtime");
    let figures = runtime.block_on(run_case(backend, n, warnings));
    println!(
        "RESULT {}",
        serde_json::to_string(&figures).expect("figures as JSON")
    );
}

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    if let Some(i) = argv.iter().position(|a| a == "--case") {
        let backend = argv.get(i + 1).expect("--case BACKEND N");
        let n = argv.get(i + 2).expect("--case BACKEND N");
        run_child(backend, n);
        return;
    }
    run_parent(&args());
}
