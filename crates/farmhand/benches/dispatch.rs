//! The dispatcher at scale, on SQLite, in-process with a running server (its dispatcher loop,
//! its supervisors):
//! - a farm of N simulated printers (default 10,000), all idle and clear, and 10×N queued jobs
//!   (default 100,000): the time until every printer is printing, and the cost per assignment
//!   (that time over N);
//! - the latency from a job becoming dispatchable (its submission returns) to its print
//!   starting on an idle printer, over 1,000 jobs one at a time: p50 and p99 (aim: p99 under
//!   100 ms).
//!
//! - while the farm fills, the first page of the printer list and of the queue through the API
//!   (p50, p99; aim: p99 under 50 ms) beside the same page read straight from the database;
//! - on PostgreSQL, a farm of M printers (default 1,000) filled by two instances sharing the
//!   database beside one instance alone, in the same run.
//!
//! `cargo bench -p farmhand --bench dispatch -- [--printers N] [--latency-jobs N]
//!  [--shared-printers M]` (PostgreSQL from `TEST_POSTGRES_URL`)

// A bench binary: set-up failures stop it with the cause.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use app::App;
use domain::{JobState, JobTarget, OrgId, PrinterId, PrinterState, Timestamp};
use farmhand::Server;
use serde_json::{Value, json};
use store::{Backend, Store};
use testkit::TestDatabase;

mod common;

const OWNER: &str = "owner@bench.test";
const PASSWORD: &str = "bench password 123";
/// Rows inserted per transaction while seeding.
const PER_TX: usize = 2_000;
/// Simulated time scale: slow enough that no print ends during the measurement.
const SPEED: f64 = 1.0;

struct Args {
    printers: usize,
    latency_jobs: usize,
    shared_printers: usize,
}

fn args() -> Args {
    let mut args = Args {
        printers: 10_000,
        latency_jobs: 1_000,
        shared_printers: 1_000,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().and_then(|v| v.parse().ok());
        match arg.as_str() {
            "--printers" => args.printers = value().expect("--printers N"),
            "--latency-jobs" => args.latency_jobs = value().expect("--latency-jobs N"),
            "--shared-printers" => args.shared_printers = value().expect("--shared-printers N"),
            _ => {} // `cargo bench` passes --bench.
        }
    }
    args
}

/// A G-code file long enough (hours of simulated time) that every print is still running.
fn long_gcode() -> String {
    let mut text = String::from("; dispatch bench part\nG21\nG90\nM83\nG1 Z0.2 F600\n");
    for i in 0..200 {
        let x = if i % 2 == 0 { 200 } else { 0 };
        text.push_str(&format!("G1 X{x} Y{} E8 F60\n", i % 10));
    }
    text
}

async fn seed_printers(store: &Store, org: OrgId, n: usize, now: Timestamp) -> Vec<PrinterId> {
    common::seed_printers(store, org, n, now, &json!({ "speed": SPEED }), PER_TX).await
}

/// Queued jobs of the owner for `file`, straight into the table (the submissions' own cost is
/// measured by the jobs bench).
async fn seed_jobs(store: &Store, org: OrgId, file: i64, n: usize, now: Timestamp) {
    let mut done = 0;
    while done < n {
        let mut tx = store.write().await.expect("a write transaction");
        for _ in 0..PER_TX.min(n - done) {
            let job = store::NewJob {
                owner: domain::MemberId(1),
                file: domain::FileId(file),
                target: JobTarget::Any,
                state: JobState::Queued,
                priority: 0,
                copies: 1,
                note: "",
                reprint_of: None,
                idempotency: None,
            };
            store::insert_job(&mut tx, org, &job, now)
                .await
                .expect("insert a job");
            done += 1;
        }
        tx.commit().await.expect("commit the jobs");
    }
}

async fn wait_until_printing(app: &App, ids: &[PrinterId], limit: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let printing = ids
            .iter()
            .filter(|id| {
                app.supervisors()
                    .status(**id)
                    .is_some_and(|s| s.state == PrinterState::Printing)
            })
            .count();
        if printing == ids.len() {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < limit,
            "only {printing} of {} printers printing after {limit:?}",
            ids.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The owner, signed in with a password of their own, through the API.
async fn owner_client(base: &str, one_time: &str) -> reqwest::Client {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .expect("an HTTP client");
    let sign_in = client
        .post(format!("{base}/api/v1/auth/sign-in"))
        .json(&json!({ "email": OWNER, "password": one_time }))
        .send()
        .await
        .expect("sign in");
    assert!(
        sign_in.status().is_success(),
        "sign-in: {}",
        sign_in.status()
    );
    let changed = client
        .post(format!("{base}/api/v1/me/password"))
        .json(&json!({ "current_password": one_time, "new_password": PASSWORD }))
        .send()
        .await
        .expect("change the password");
    assert!(
        changed.status().is_success(),
        "password: {}",
        changed.status()
    );
    client
}

async fn upload(client: &reqwest::Client, base: &str, org: OrgId) -> i64 {
    let file: Value = client
        .post(format!("{base}/api/v1/orgs/{org}/files?name=part.gcode"))
        .body(long_gcode())
        .send()
        .await
        .expect("upload")
        .json()
        .await
        .expect("the file");
    file["id"].as_i64().expect("a file ID")
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index].as_secs_f64() * 1000.0
}

struct Farm {
    server: Server,
    /// Further instances on the same database.
    others: Vec<Server>,
    app: App,
    base: String,
    org: OrgId,
    client: reqwest::Client,
    printers: Vec<PrinterId>,
    _db: TestDatabase,
    _dir: tempfile::TempDir,
}

async fn farm(printers: usize) -> Farm {
    farm_on(Backend::Sqlite, printers, 1).await
}

/// A farm of simulated printers, idle, on `backend`, supervised by `instances` servers
/// sharing the database (each holding its share of the printers).
async fn farm_on(backend: Backend, printers: usize, instances: usize) -> Farm {
    let db = TestDatabase::new(backend).await;
    let dir = tempfile::tempdir().expect("a temporary data directory");
    let common::InProcess {
        config,
        app,
        org,
        one_time,
    } = common::InProcess::open(&db.url, dir.path(), OWNER).await;
    let ids = seed_printers(app.store(), org, printers, app.now()).await;
    let server = Server::start(&config, app).await.expect("start the server");
    let mut others = Vec::new();
    for _ in 1..instances {
        let app = common::app_on(&config).await;
        others.push(
            Server::start(&config, app)
                .await
                .expect("start an instance"),
        );
    }
    let app = server.app().clone();
    let base = format!("http://{}", server.addr());
    let client = owner_client(&base, &one_time).await;
    let started = Instant::now();
    while ids.iter().any(|id| {
        app.supervisors()
            .status(*id)
            .is_none_or(|s| s.state != PrinterState::Idle)
    }) {
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "printers never idle"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    if instances > 1 {
        // Each instance holds its share before the jobs arrive.
        let share = printers / instances;
        while !others
            .iter()
            .all(|other| other.app().supervisors().len() + 1 >= share)
        {
            assert!(
                started.elapsed() < Duration::from_secs(300),
                "printers never shared"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    Farm {
        server,
        others,
        app,
        base,
        org,
        client,
        printers: ids,
        _db: db,
        _dir: dir,
    }
}

/// Every printer idle and N×10 jobs queued: how long until all print.
async fn fill_the_farm(printers: usize) {
    let farm = farm(printers).await;
    let file = upload(&farm.client, &farm.base, farm.org).await;
    // Seeding with the dispatcher running would start jobs as they land; the farm is filled
    // from the moment the last one is in.
    let jobs = printers * 10;
    let seeding = Instant::now();
    seed_jobs(farm.app.store(), farm.org, file, jobs, farm.app.now()).await;
    let seeded = seeding.elapsed();
    let filled = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let pages = tokio::spawn(first_pages(
        farm.client.clone(),
        farm.base.clone(),
        farm.org,
        farm.app.store().clone(),
        filled.clone(),
    ));
    let waited = wait_until_printing(&farm.app, &farm.printers, Duration::from_secs(1800)).await;
    filled.store(true, std::sync::atomic::Ordering::Relaxed);
    pages.await.expect("the page reader");
    let total = seeded + waited;
    println!(
        "fill: {printers} idle printers, {jobs} queued jobs: every printer printing {:.1} s \
         after the first job was queued ({:.1} s of it seeding); {:.2} ms per assignment",
        total.as_secs_f64(),
        seeded.as_secs_f64(),
        total.as_secs_f64() * 1000.0 / printers as f64
    );
    farm.server.stop().await.expect("stop the server");
}

/// The first page of the printer list and of the queue, through the API and straight from the
/// database, in turns, until `done`; then prints p50 and p99 of each.
async fn first_pages(
    client: reqwest::Client,
    base: String,
    org: OrgId,
    store: Store,
    done: Arc<std::sync::atomic::AtomicBool>,
) {
    let mut timings: [Vec<Duration>; 4] = Default::default();
    let printers_url = format!("{base}/api/v1/orgs/{org}/printers?limit=50");
    let jobs_url = format!("{base}/api/v1/orgs/{org}/jobs?limit=50");
    while !done.load(std::sync::atomic::Ordering::Relaxed) {
        for (n, url) in [(0, &printers_url), (1, &jobs_url)] {
            let started = Instant::now();
            let response = client.get(url).send().await.expect("a page");
            assert!(
                response.status().is_success(),
                "{url}: {}",
                response.status()
            );
            response.bytes().await.expect("the page");
            timings[n].push(started.elapsed());
        }
        let started = Instant::now();
        {
            let mut conn = store.read().await.expect("a connection");
            store::list_printers_after(&mut conn, org, &store::PrinterFilter::default(), None, 50)
                .await
                .expect("the printers");
        }
        timings[2].push(started.elapsed());
        let started = Instant::now();
        bare_queue_page(&store, org).await;
        timings[3].push(started.elapsed());
    }
    let stats: Vec<(f64, f64)> = timings
        .iter()
        .map(|t| {
            let mut sorted = t.clone();
            sorted.sort();
            (percentile(&sorted, 0.5), percentile(&sorted, 0.99))
        })
        .collect();
    println!(
        "first pages while the farm fills ({} rounds): printers p50 {:.1} ms p99 {:.1} ms \
         (bare query p99 {:.2} ms, {:.1}×); queue p50 {:.1} ms p99 {:.1} ms (bare query \
         p99 {:.2} ms, {:.1}×) (aim: p99 < 50 ms)",
        timings[0].len(),
        stats[0].0,
        stats[0].1,
        stats[2].1,
        stats[0].1 / stats[2].1,
        stats[1].0,
        stats[1].1,
        stats[3].1,
        stats[1].1 / stats[3].1,
    );
}

/// The queue's first page as one plain query.
async fn bare_queue_page(store: &Store, org: OrgId) {
    use sqlx::Row;
    let rows = sqlx::query(
        "SELECT id, state, priority, queue_position, owner_member_id, file_id FROM jobs \
         WHERE org_id = $1 AND state IN ('pending_approval', 'sent_back', 'queued', 'assigned', \
         'printing', 'paused', 'unknown') ORDER BY priority DESC, queue_position, id LIMIT 50",
    )
    .bind(org.get())
    .fetch_all(store.pool())
    .await
    .expect("the queue");
    assert!(rows.iter().all(|row| row.get::<i64, _>(0) > 0));
}

/// The same farm on PostgreSQL filled by one instance, then by two sharing the database.
async fn shared_farm(printers: usize) {
    let mut times = Vec::new();
    for instances in [1, 2] {
        let farm = farm_on(Backend::Postgres, printers, instances).await;
        let file = upload(&farm.client, &farm.base, farm.org).await;
        let jobs = printers * 10;
        let started = Instant::now();
        seed_jobs(farm.app.store(), farm.org, file, jobs, farm.app.now()).await;
        wait_until_printing(&farm.app, &farm.printers, Duration::from_secs(1800)).await;
        let took = started.elapsed();
        let held: Vec<usize> = std::iter::once(&farm.server)
            .chain(&farm.others)
            .map(|s| s.app().supervisors().len())
            .collect();
        println!(
            "PostgreSQL, {instances} instance(s) holding {held:?} of {printers} printers, \
             {jobs} queued jobs: every printer printing after {:.1} s ({:.2} ms per assignment)",
            took.as_secs_f64(),
            took.as_secs_f64() * 1000.0 / printers as f64
        );
        times.push(took);
        for other in farm.others {
            other.stop().await.expect("stop an instance");
        }
        farm.server.stop().await.expect("stop the server");
    }
    println!(
        "two instances fill the farm in {:.2}× the time of one",
        times[1].as_secs_f64() / times[0].as_secs_f64()
    );
}

/// One job at a time on a farm of idle printers: submission returned to print started.
async fn latency(jobs: usize) {
    let farm = farm(jobs).await;
    let file = upload(&farm.client, &farm.base, farm.org).await;
    let mut latencies = Vec::with_capacity(jobs);
    for n in 0..jobs {
        let job: Value = farm
            .client
            .post(format!("{}/api/v1/orgs/{}/jobs", farm.base, farm.org))
            .json(&json!({ "file_id": file, "target": { "any": true } }))
            .send()
            .await
            .expect("submit")
            .json()
            .await
            .expect("the job");
        let submitted = Instant::now();
        let id = domain::JobId(job["id"].as_i64().expect("a job ID"));
        loop {
            let state = {
                let mut conn = farm.app.store().read().await.expect("a connection");
                store::get_job(&mut conn, farm.org, id)
                    .await
                    .expect("read the job")
                    .expect("the job")
                    .state
            };
            if state == JobState::Printing {
                break;
            }
            assert!(
                submitted.elapsed() < Duration::from_secs(30),
                "job {n} still {state} after 30 s"
            );
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        latencies.push(submitted.elapsed());
    }
    latencies.sort();
    println!(
        "latency, dispatchable to printing, {jobs} jobs one at a time on idle printers: \
         p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms (aim: p99 < 100 ms)",
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        percentile(&latencies, 1.0)
    );
    farm.server.stop().await.expect("stop the server");
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let args = args();
    println!("dispatch bench on SQLite ({} CPUs)", num_cpus());
    latency(args.latency_jobs).await;
    fill_the_farm(args.printers).await;
    shared_farm(args.shared_printers).await;
}

fn num_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}
