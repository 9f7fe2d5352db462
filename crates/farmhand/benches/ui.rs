//! Web interface measurements (issue 16; tests never assert timings, this prints them):
//!
//! 1. Server render time of the dashboard (`GET /orgs/{org}`) with 1,000 simulated printers,
//!    every one supervised and reporting, signed in as the owner: p50 and p99 over a few hundred
//!    requests one after another, beside the database's own query for the same printers
//!    (`store::list_printers` and `store::list_sites`) on the same database in the same run.
//! 2. The same for the queue page (`GET /orgs/{org}/jobs`) with 1,000,000 finished jobs in
//!    history and a few hundred waiting (seeded with bulk SQL), beside the store's queries for
//!    its two lists (the queue's first 200 and the history's latest 30).
//! 3. The dashboard's weight: its HTML, stylesheet and script as served (before thumbnails).
//!
//! Aims: p99 ≤ 50 ms for both pages; the dashboard ≤ 100 kB. SQLite, in-process server.
//!
//! `cargo bench -p farmhand --bench ui -- [--printers N] [--history N] [--requests N]`

// A bench binary: set-up failures stop it with the cause.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use domain::{OrgId, PrinterId};
use farmhand::Server;
use serde_json::{Value, json};
use store::{Backend, Store};
use testkit::TestDatabase;

mod common;

const OWNER: &str = "owner@bench.test";
const PASSWORD: &str = "bench password 123";
const CUBE: &[u8] = include_bytes!("../../app/fixtures/demo/calibration_cube.gcode");
/// Printers inserted per transaction.
const PER_TX: usize = 2_000;
/// Jobs waiting beside the history: a busy lab's few hundred.
const WAITING: usize = 300;
const WARM_UP: usize = 30;
/// What the queue page asks the store for: its page sizes and one more each, to know whether
/// more follow.
const QUEUE_PLUS_ONE: u32 = 201;
const HISTORY_PLUS_ONE: u32 = 31;

struct Args {
    printers: usize,
    history: usize,
    requests: usize,
}

fn args() -> Args {
    let mut args = Args {
        printers: 1_000,
        history: 1_000_000,
        requests: 300,
    };
    let mut it = std::env::args().skip(1);
    let number = |value: Option<String>, flag: &str| -> usize {
        value
            .and_then(|v| v.replace('_', "").parse().ok())
            .unwrap_or_else(|| panic!("{flag} takes a number"))
    };
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--printers" => args.printers = number(it.next(), "--printers"),
            "--history" => args.history = number(it.next(), "--history"),
            "--requests" => args.requests = number(it.next(), "--requests").max(1),
            // `cargo bench` passes `--bench` to every bench binary.
            "--bench" => {}
            other => panic!("unknown argument {other}"),
        }
    }
    args
}

/// Sends a request and returns its JSON body; anything but a success stops the benchmark.
async fn send(request: reqwest::RequestBuilder, what: &str) -> Value {
    let response = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    assert!(status.is_success(), "{what}: {status} {body}");
    serde_json::from_str(&body).unwrap_or(Value::Null)
}

/// The owner signed in (with the one-time password changed), as a browser keeps the session:
/// the client, their membership and an uploaded file.
async fn sign_in(base: &str, org: OrgId, one_time: &str) -> (reqwest::Client, i64, i64) {
    let session = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    send(
        session
            .post(format!("{base}/api/v1/auth/sign-in"))
            .json(&json!({ "email": OWNER, "password": one_time })),
        "sign in",
    )
    .await;
    send(
        session
            .post(format!("{base}/api/v1/me/password"))
            .json(&json!({ "current_password": one_time, "new_password": PASSWORD })),
        "change the one-time password",
    )
    .await;
    let members = send(
        session.get(format!("{base}/api/v1/orgs/{org}/members")),
        "list the members",
    )
    .await;
    let member = members[0]["id"].as_i64().expect("the owner's membership");
    let file = send(
        session
            .post(format!("{base}/api/v1/orgs/{org}/files?name=cube.gcode"))
            .header("content-type", "application/octet-stream")
            .body(CUBE.to_vec()),
        "upload a file",
    )
    .await;
    (session, member, file["id"].as_i64().expect("the file"))
}

/// `history` finished jobs and `WAITING` waiting ones, in one transaction with recursive CTEs
/// (seconds for a million rows, where the API would take hours).
async fn seed_jobs(store: &Store, org: OrgId, member: i64, file: i64, history: usize) -> u64 {
    let step = 30_000_000i64; // A job every 30 s: a million span about a year.
    let total = (history + WAITING) as i64;
    let now = domain::Clock::now(&domain::SystemClock).micros();
    let t0 = now - (total + 2_880) * step;
    let org = org.get();
    let mut tx = store.write().await.unwrap();
    let finished = format!(
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < {history}) \
         INSERT INTO jobs (org_id, owner_member_id, file_id, target_kind, state, priority, \
         copies, note, queue_position, created_at, updated_at, finished_at) \
         SELECT {org}, {member}, {file}, 'any', \
         CASE WHEN i % 20 = 0 THEN 'cancelled' WHEN i % 25 = 2 THEN 'failed' ELSE 'completed' END, \
         0, 1, '', 1 + i, {t0} + i * {step}, {t0} + i * {step} + 600000000, \
         {t0} + i * {step} + 600000000 FROM n"
    );
    let mut rows = sqlx::query(sqlx::AssertSqlSafe(finished))
        .execute(&mut *tx)
        .await
        .expect("seed the history")
        .rows_affected();
    let waiting = format!(
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < {WAITING}) \
         INSERT INTO jobs (org_id, owner_member_id, file_id, target_kind, state, priority, \
         copies, note, queue_position, created_at, updated_at) \
         SELECT {org}, {member}, {file}, 'any', \
         CASE WHEN i % 4 = 0 THEN 'pending_approval' ELSE 'queued' END, \
         CASE WHEN i % 20 = 0 THEN 5 ELSE 0 END, 1, '', {history} + 1 + i, \
         {t0} + ({history} + i) * {step}, {t0} + ({history} + i) * {step} FROM n"
    );
    rows += sqlx::query(sqlx::AssertSqlSafe(waiting))
        .execute(&mut *tx)
        .await
        .expect("seed the queue")
        .rows_affected();
    tx.commit().await.expect("commit the seed");
    rows
}

fn percentile(sorted: &[Duration], percent: f64) -> f64 {
    let rank = (sorted.len() as f64 * percent / 100.0).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1].as_secs_f64() * 1e3
}

/// p50 and p99 (ms) of `work`, after a warm-up.
async fn timed<F, Fut>(requests: usize, mut work: F) -> (f64, f64)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for _ in 0..WARM_UP {
        work().await;
    }
    let mut times = Vec::with_capacity(requests);
    for _ in 0..requests {
        let started = Instant::now();
        work().await;
        times.push(started.elapsed());
    }
    times.sort();
    (percentile(&times, 50.0), percentile(&times, 99.0))
}

/// GETs a page as a browser does (accepting gzip) and reads it whole: the bytes transferred.
async fn page(client: &reqwest::Client, url: &str) -> usize {
    let response = client
        .get(url)
        .header(reqwest::header::ACCEPT_ENCODING, "gzip")
        .send()
        .await
        .expect("the page");
    assert!(
        response.status().is_success(),
        "{url}: {}",
        response.status()
    );
    response.bytes().await.expect("the page's body").len()
}

fn report(what: &str, page: (f64, f64), bare: (f64, f64)) {
    println!(
        "{what}: p50 {:>7.2} ms  p99 {:>7.2} ms (aim p99 ≤ 50 ms) | the database's query: p50 {:.2} ms  p99 {:.2} ms | ratio p50 {:.1}x  p99 {:.1}x",
        page.0,
        page.1,
        bare.0,
        bare.1,
        page.0 / bare.0,
        page.1 / bare.1
    );
}

/// Waits until every printer's supervisor reports a live state.
async fn wait_for_reports(app: &app::App, ids: &[PrinterId]) {
    let started = Instant::now();
    while ids.iter().any(|id| app.supervisors().status(*id).is_none()) {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the printers never all reported"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::main]
async fn main() {
    let args = args();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "load average at start: {} ({} CPUs)",
        load.trim(),
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    let db = TestDatabase::new(Backend::Sqlite).await;
    let data_dir = tempfile::tempdir().expect("a temporary data directory");
    let common::InProcess {
        config,
        app,
        org,
        one_time,
    } = common::InProcess::open(&db.url, data_dir.path(), OWNER).await;
    let settings = json!({ "speed": 60.0 });
    let ids = common::seed_printers(
        app.store(),
        org,
        args.printers,
        app.now(),
        &settings,
        PER_TX,
    )
    .await;
    let server = Server::start(&config, app).await.expect("start the server");
    let app = server.app().clone();
    let base = format!("http://{}", server.addr());
    let (client, member, file) = sign_in(&base, org, &one_time).await;
    let seeding = Instant::now();
    let rows = seed_jobs(app.store(), org, member, file, args.history).await;
    println!(
        "{} printers; {rows} jobs seeded in {:.1?}",
        args.printers,
        seeding.elapsed()
    );
    wait_for_reports(&app, &ids).await;

    // 1. The dashboard.
    let dashboard = format!("{base}/orgs/{org}");
    let html = page(&client, &dashboard).await;
    let shown = client
        .get(&dashboard)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
        .matches("class=\"printer\"")
        .count();
    assert_eq!(shown, args.printers, "every printer on the dashboard");
    let page_times = timed(args.requests, || async {
        page(&client, &dashboard).await;
    })
    .await;
    let store = app.store().clone();
    let bare_times = timed(args.requests, || async {
        let mut conn = store.read().await.unwrap();
        let printers = store::list_printers(&mut conn, org).await.unwrap();
        let sites = store::list_sites(&mut conn, org).await.unwrap();
        assert_eq!(printers.len(), args.printers);
        assert!(!sites.is_empty());
    })
    .await;
    report(
        &format!("GET /orgs/{{org}} (dashboard, {} printers)", args.printers),
        page_times,
        bare_times,
    );

    // 2. The queue page.
    let queue = format!("{base}/orgs/{org}/jobs");
    page(&client, &queue).await;
    let page_times = timed(args.requests, || async {
        page(&client, &queue).await;
    })
    .await;
    let bare_times = timed(args.requests, || async {
        let mut conn = store.read().await.unwrap();
        let filter = store::JobFilter::default();
        let waiting = store::list_jobs(
            &mut conn,
            org,
            &filter,
            store::JobList::Queue { after: None },
            QUEUE_PLUS_ONE,
        )
        .await
        .unwrap();
        let finished = store::list_jobs(
            &mut conn,
            org,
            &filter,
            store::JobList::History { after: None },
            HISTORY_PLUS_ONE,
        )
        .await
        .unwrap();
        assert!(!waiting.is_empty() && !finished.is_empty());
    })
    .await;
    report(
        &format!(
            "GET /orgs/{{org}}/jobs (queue page, {} in history)",
            args.history
        ),
        page_times,
        bare_times,
    );

    // 3. The dashboard's weight, as served (the assets are linked with a version); `html`
    // above is what was transferred, this the page itself.
    let body = client
        .get(&dashboard)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let asset = |name: &str| {
        body.split(&format!("/assets/{name}?v="))
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .map(|version| format!("{base}/assets/{name}?v={version}"))
            .unwrap_or_else(|| panic!("the dashboard links {name}"))
    };
    let css = page(&client, &asset("app.css")).await;
    let js = page(&client, &asset("live.js")).await;
    let total = html + css + js;
    println!(
        "dashboard weight with {} printers, transferred (gzip): HTML {:.1} kB (page {:.1} kB) + CSS {:.1} kB + JS {:.1} kB = {:.1} kB (aim ≤ 100 kB, before thumbnails)",
        args.printers,
        html as f64 / 1e3,
        body.len() as f64 / 1e3,
        css as f64 / 1e3,
        js as f64 / 1e3,
        total as f64 / 1e3
    );

    server.stop().await.expect("stop the server");
    drop(db);
}
