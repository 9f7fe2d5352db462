//! Print job measurements (the figures; tests never assert timings, this prints them):
//!
//! 1. Submissions a second through the API — token authentication, authorization, the
//!    submission's checks, the idempotency key, the insert, its timeline step and audit event,
//!    and the job read back — on SQLite and PostgreSQL, beside a bare INSERT of the same rows
//!    (the store's own `insert_job`, one transaction a row) into the same `jobs` table of the
//!    same database, from this same process with the same concurrency. The file is uploaded
//!    (and so analysed) once beforehand. Target: the API takes at most 3x the bare INSERT's time.
//! 2. p50 and p99 of the queue's first page (`GET /api/v1/orgs/{org}/jobs`, default filters and
//!    page size) on SQLite with a long history (default 1,000,000 finished jobs, and a few
//!    hundred waiting), seeded with bulk SQL while the server is stopped, beside the database's
//!    own query for the same page (`store::list_jobs`, the SQL the API runs, timed through sqlx
//!    on the same file). Target: p99 ≤ 20 ms.
//!
//! `cargo bench -p farmhand --bench jobs -- [--jobs N] [--concurrency N] [--history N]
//! [--backend sqlite|postgres] [--skip-submit] [--skip-queue]`

// A bench binary: set-up failures stop it with the cause.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use domain::{Clock, FileId, JobState, JobTarget, MemberId, OrgId, PrinterModelId, SystemClock};
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use serde_json::{Value, json};
use sqlx::Row;
use store::{Backend, DatabaseUrl, Store, StoreOptions};
use testkit::TestDatabase;

mod common;

use common::{BIN, ServerProcess, url_arg};
const CUBE: &[u8] = include_bytes!("../../app/fixtures/demo/calibration_cube.gcode");
const OWNER: &str = "owner@bench.test";
const PASSWORD: &str = "bench password 123";
/// The first organization of a new database.
const ORG: i64 = 1;
/// Jobs waiting in the queue beside the seeded history: a busy lab's few hundred.
const WAITING: usize = 300;
/// Queue listings timed, after the warm-up.
const LIST_REQUESTS: usize = 2_000;
const LIST_WARM_UP: usize = 200;
/// What the API asks the store for: a default page (100) and one more, to know if there is a
/// next page.
const PAGE_PLUS_ONE: u32 = 101;

struct Args {
    jobs: usize,
    concurrency: usize,
    history: usize,
    backends: Vec<Backend>,
    submit: bool,
    queue: bool,
}

fn args() -> Args {
    let mut args = Args {
        jobs: 2_000,
        concurrency: 4,
        history: 1_000_000,
        backends: vec![Backend::Sqlite, Backend::Postgres],
        submit: true,
        queue: true,
    };
    let mut it = std::env::args().skip(1);
    let number = |value: Option<String>, flag: &str| -> usize {
        value
            .and_then(|v| v.replace('_', "").parse().ok())
            .unwrap_or_else(|| panic!("{flag} takes a number"))
    };
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--jobs" => args.jobs = number(it.next(), "--jobs"),
            "--concurrency" => args.concurrency = number(it.next(), "--concurrency").max(1),
            "--history" => args.history = number(it.next(), "--history"),
            "--backend" => {
                args.backends = match it.next().as_deref() {
                    Some("sqlite") => vec![Backend::Sqlite],
                    Some("postgres") => vec![Backend::Postgres],
                    other => panic!("unknown backend {other:?} (sqlite or postgres)"),
                }
            }
            "--skip-submit" => args.submit = false,
            "--skip-queue" => args.queue = false,
            _ => {} // `cargo bench` passes --bench and filters.
        }
    }
    args
}

// ---------------------------------------------------------------------------------------------
// The organization the server serves.

/// Creates the organization from the console (before the server starts, which is how an
/// install begins): returns the owner's one-time password.
fn create_org(url: &DatabaseUrl, dir: &Path) -> String {
    let out = Command::new(BIN)
        .args([
            "--database-url",
            &url_arg(url),
            "admin",
            "create-org",
            "--name",
            "Bench",
            "--owner-email",
            OWNER,
        ])
        .current_dir(dir)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run farmhand admin create-org");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    text.split("one-time password ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .unwrap_or_else(|| {
            panic!(
                "no one-time password in {text:?} ({})",
                String::from_utf8_lossy(&out.stderr)
            )
        })
        .to_string()
}

/// Sends a request and returns its JSON body (null when empty); anything but a success stops
/// the benchmark with the answer.
async fn send(request: reqwest::RequestBuilder, what: &str) -> Value {
    let response = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    assert!(status.is_success(), "{what}: {status} {body}");
    if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{what}: {e} in {body}"))
    }
}

fn id(value: &Value, what: &str) -> i64 {
    value["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("{what} has no id: {value}"))
}

/// A client that sends the API token on every request, as scripts and integrations do.
fn token_client(token: &str) -> reqwest::Client {
    let mut headers = HeaderMap::new();
    headers.insert(
        AUTHORIZATION,
        HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
    );
    reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .unwrap()
}

/// What the benchmark uses of the organization: an API token of its owner, a site with
/// printers of one model, and uploaded (so analysed) G-code files.
struct Lab {
    token: String,
    model: i64,
    site: i64,
    printers: Vec<i64>,
    files: Vec<i64>,
}

/// Signs the owner in (changing the one-time password, as the server demands), makes an API
/// token, a site, a printer model with `printers` printers, and uploads `files` files.
async fn open_lab(base: &str, one_time: &str, printers: usize, files: usize) -> Lab {
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
    let created = send(
        session
            .post(format!("{base}/api/v1/orgs/{ORG}/api-tokens"))
            .json(&json!({ "name": "bench" })),
        "create an API token",
    )
    .await;
    let token = created["secret"]
        .as_str()
        .unwrap_or_else(|| panic!("no token secret in {created}"))
        .to_string();

    let api = token_client(&token);
    let org = format!("{base}/api/v1/orgs/{ORG}");
    let site = id(
        &send(
            api.post(format!("{org}/sites"))
                .json(&json!({ "name": "Workshop" })),
            "create a site",
        )
        .await,
        "site",
    );
    let model = id(
        &send(
            api.post(format!("{org}/printer-models")).json(&json!({
                "name": "Mini", "build_volume_mm": [180, 180, 180],
                "nozzle_diameter_mm": 0.4, "materials": ["PLA"]
            })),
            "create a printer model",
        )
        .await,
        "printer model",
    );
    let mut printer_ids = Vec::new();
    for n in 1..=printers {
        let printer = send(
            api.post(format!("{org}/printers"))
                .json(&json!({ "name": format!("Mini {n}"), "site_id": site, "model_id": model })),
            "create a printer",
        )
        .await;
        printer_ids.push(id(&printer, "printer"));
    }
    let mut file_ids = Vec::new();
    for n in 0..files {
        // Each upload a content of its own, as different prints are.
        let mut body = CUBE.to_vec();
        body.extend_from_slice(format!("\n; copy {n}\n").as_bytes());
        let file = send(
            api.post(format!("{org}/files?name=cube-{n}.gcode"))
                .header("content-type", "application/octet-stream")
                .body(body),
            "upload a file",
        )
        .await;
        file_ids.push(id(&file, "file"));
    }
    Lab {
        token,
        model,
        site,
        printers: printer_ids,
        files: file_ids,
    }
}

/// Submits one job of the file to the model, with an idempotency key as a client that retries
/// safely sends: returns the job.
async fn submit(api: &reqwest::Client, base: &str, file: i64, model: i64, key: &str) -> Value {
    let body = json!({
        "file_id": file,
        "target": { "model_id": model },
        "copies": 1,
        "priority": 0,
        "note": format!("bench {key}"),
    });
    send(
        api.post(format!("{base}/api/v1/orgs/{ORG}/jobs"))
            .header("Idempotency-Key", key)
            .json(&body),
        "submit a job",
    )
    .await
}

/// Runs `work(i)` for every `i` in `from..to` on `concurrency` tasks, each taking the next
/// index when it is done with one: the elapsed time of the whole.
async fn in_parallel<F, Fut>(from: usize, to: usize, concurrency: usize, work: F) -> Duration
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let work = Arc::new(work);
    let next = Arc::new(AtomicUsize::new(from));
    let started = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (work, next) = (work.clone(), next.clone());
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= to {
                        break;
                    }
                    work(i).await;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("a client task panicked");
    }
    started.elapsed()
}

// ---------------------------------------------------------------------------------------------
// 1. Submissions.

/// A row of the summary table.
struct Figure {
    what: String,
    farmhand: String,
    bare: String,
    ratio: f64,
    target: &'static str,
}

async fn measure_submissions(backend: Backend, jobs: usize, concurrency: usize) -> Figure {
    println!("\n=== submissions, {backend}: {jobs} jobs, {concurrency} concurrent clients ===");
    let dir = tempfile::tempdir().unwrap();
    let db = TestDatabase::new(backend).await;
    let one_time = create_org(&db.url, dir.path());
    let server = ServerProcess::start(Some(&db.url), dir.path(), &[]);
    let lab = open_lab(&server.base, &one_time, 1, 1).await;
    let (file, model) = (lab.files[0], lab.model);
    let api = token_client(&lab.token);

    // Warm-up (connections of both pools, the server's caches), and the owner's membership for
    // the bare rows.
    let warm_up = (concurrency * 5).min(jobs).max(1);
    let first = submit(&api, &server.base, file, model, "warm-0").await;
    assert_eq!(
        first["state"], "queued",
        "the owner skips approval: {first}"
    );
    let owner = MemberId(first["owner_member_id"].as_i64().expect("owner_member_id"));
    for i in 1..warm_up {
        submit(&api, &server.base, file, model, &format!("warm-{i}")).await;
    }

    let base = server.base.clone();
    let through_api = in_parallel(0, jobs, concurrency, move |i| {
        let (api, base) = (api.clone(), base.clone());
        async move {
            submit(&api, &base, file, model, &format!("api-{i}")).await;
        }
    })
    .await;

    // The same rows, straight into the same table: the store's insert (the statement the API
    // runs), each in a write transaction of its own as the API's are, same concurrency.
    let store = Store::connect(&db.url, &StoreOptions::default())
        .await
        .expect("connect to the database");
    let bare_row = move |store: Store, i: usize, prefix: &'static str| async move {
        let note = format!("bench {prefix}-{i}");
        let key = format!("{prefix}-{i}");
        // The API stores a SHA-256 hex digest of the body: the same size.
        let hash = format!("{i:064x}");
        let job = store::NewJob {
            owner,
            file: FileId(file),
            target: JobTarget::Model(PrinterModelId(model)),
            state: JobState::Queued,
            priority: 0,
            copies: 1,
            note: &note,
            reprint_of: None,
            idempotency: Some((&key, &hash)),
        };
        let mut tx = store.write().await.expect("begin a write transaction");
        store::insert_job(&mut tx, OrgId(ORG), &job, SystemClock.now())
            .await
            .expect("insert a job");
        tx.commit().await.expect("commit");
    };
    for i in 0..warm_up {
        bare_row(store.clone(), i, "bare-warm").await;
    }
    let pool = store.clone();
    let bare = in_parallel(0, jobs, concurrency, move |i| {
        bare_row(pool.clone(), i, "bare")
    })
    .await;

    let count = sqlx::query("SELECT COUNT(*) AS n FROM jobs")
        .fetch_one(store.pool())
        .await
        .unwrap()
        .try_get::<i64, _>("n")
        .unwrap();
    assert_eq!(
        count as usize,
        2 * (jobs + warm_up),
        "every job is in the table"
    );
    store.close().await;
    drop(server);
    db.drop_database().await;

    let rate = |d: Duration| jobs as f64 / d.as_secs_f64();
    let ratio = through_api.as_secs_f64() / bare.as_secs_f64();
    println!(
        "through the API:              {:>8.0} jobs/s ({through_api:.2?})",
        rate(through_api)
    );
    println!(
        "bare INSERT, a transaction each: {:>5.0} jobs/s ({bare:.2?})",
        rate(bare)
    );
    println!("ratio API / bare INSERT time: {ratio:>8.2}x (target ≤ 3x)");
    Figure {
        what: format!("submissions, {backend} (jobs/s)"),
        farmhand: format!("{:.0}", rate(through_api)),
        bare: format!("{:.0}", rate(bare)),
        ratio,
        target: "API ≤ 3x the time",
    }
}

// ---------------------------------------------------------------------------------------------
// 2. The queue's first page with a long history.

/// `CASE {expr} % n WHEN 0 THEN values[0] … END`: spreads rows over existing IDs.
fn spread(expr: &str, values: &[i64]) -> String {
    let arms: String = values
        .iter()
        .enumerate()
        .map(|(k, v)| format!(" WHEN {k} THEN {v}"))
        .collect();
    format!("(CASE ({expr}) % {}{arms} END)", values.len())
}

/// Inserts `history` finished jobs and `WAITING` waiting ones in one transaction, with
/// recursive CTEs (a few seconds for a million rows, against hours through the API). Owners,
/// files and targets are the organization's real ones. Returns the number of rows.
async fn seed(url: &DatabaseUrl, lab: &Lab, members: &[i64], history: usize) -> u64 {
    let store = Store::connect(url, &StoreOptions::default())
        .await
        .expect("connect to the database");
    let step = 30_000_000i64; // A job every 30 s, so a million span about a year.
    let total = (history + WAITING) as i64;
    let t0 = SystemClock.now().micros() - (total + 2_880) * step;
    let mut tx = store.write().await.unwrap();
    let last: i64 = sqlx::query("SELECT COALESCE(MAX(queue_position), 0) AS p FROM jobs")
        .fetch_one(&mut *tx)
        .await
        .unwrap()
        .try_get("p")
        .unwrap();
    let owner = spread("i", members);
    let file = spread("i / 7", &lab.files);
    let printer = spread("i / 3", &lab.printers);
    let (model, site) = (lab.model, lab.site);
    // Targets: a model, a printer, the site, or any printer; finished jobs that printed name
    // their printer. About 89% completed, 5% cancelled, 4% failed, 2% rejected.
    let finished = format!(
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < {history}) \
         INSERT INTO jobs (org_id, owner_member_id, file_id, target_kind, target_id, printer_id, \
         state, priority, copies, note, reason, queue_position, created_at, updated_at, \
         finished_at) \
         SELECT {ORG}, owner, file, kind, target, \
         CASE WHEN state IN ('completed', 'failed') THEN printer END, state, priority, copies, \
         note, CASE state WHEN 'cancelled' THEN 'no longer needed' \
         WHEN 'rejected' THEN 'too large for the club printers' \
         WHEN 'failed' THEN 'spaghetti at layer 12' END, \
         {last} + 1 + i, created, created + took, created + took \
         FROM (SELECT i, {owner} AS owner, {file} AS file, {printer} AS printer, \
         CASE i % 4 WHEN 0 THEN 'model' WHEN 1 THEN 'printer' WHEN 2 THEN 'site' ELSE 'any' END \
         AS kind, \
         CASE i % 4 WHEN 0 THEN {model} WHEN 1 THEN {printer} WHEN 2 THEN {site} END AS target, \
         CASE WHEN i % 20 = 0 THEN 'cancelled' WHEN i % 50 = 1 THEN 'rejected' \
         WHEN i % 25 = 2 THEN 'failed' ELSE 'completed' END AS state, \
         CASE WHEN i % 100 = 7 THEN 10 ELSE 0 END AS priority, \
         CASE WHEN i % 10 = 0 THEN 2 ELSE 1 END AS copies, \
         CASE WHEN i % 3 = 0 THEN 'bracket for the robotics club' ELSE '' END AS note, \
         {t0} + i * {step} AS created, (600 + i % 7200) * 1000000 AS took FROM n)"
    );
    let mut rows = sqlx::query(sqlx::AssertSqlSafe(finished))
        .execute(&mut *tx)
        .await
        .expect("seed the history")
        .rows_affected();
    // The newest jobs wait: a quarter for approval (given before approval was turned off, or
    // by members whose rank needs it), the rest queued, a few with a higher priority.
    let waiting = format!(
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < {WAITING}) \
         INSERT INTO jobs (org_id, owner_member_id, file_id, target_kind, target_id, state, \
         priority, copies, note, queue_position, created_at, updated_at) \
         SELECT {ORG}, {owner}, {file}, 'model', {model}, \
         CASE WHEN i % 4 = 0 THEN 'pending_approval' ELSE 'queued' END, \
         CASE WHEN i % 20 = 0 THEN 5 ELSE 0 END, 1, '', {last} + {history} + 1 + i, \
         {t0} + ({history} + i) * {step}, {t0} + ({history} + i) * {step} FROM n"
    );
    rows += sqlx::query(sqlx::AssertSqlSafe(waiting))
        .execute(&mut *tx)
        .await
        .expect("seed the queue")
        .rows_affected();
    tx.commit().await.expect("commit the seed");
    store.close().await;
    rows
}

/// Invites `count` members with the Member rank and accepts for them: their membership IDs.
async fn invite_members(base: &str, api: &reqwest::Client, count: usize) -> Vec<i64> {
    let org = format!("{base}/api/v1/orgs/{ORG}");
    let ranks = send(api.get(format!("{org}/ranks")), "list ranks").await;
    let rank = ranks
        .as_array()
        .and_then(|ranks| ranks.iter().find(|r| r["name"] == "Member"))
        .unwrap_or_else(|| panic!("no Member rank in {ranks}"));
    let mut ids = Vec::new();
    for n in 1..=count {
        let invitation = send(
            api.post(format!("{org}/invitations"))
                .json(&json!({ "email": format!("member{n}@bench.test"), "rank_id": rank["id"] })),
            "invite a member",
        )
        .await;
        let token = invitation["token"].as_str().expect("invitation token");
        let member = send(
            reqwest::Client::new()
                .post(format!("{base}/api/v1/invitations/{token}/accept"))
                .json(&json!({ "name": format!("Member {n}"), "password": PASSWORD })),
            "accept an invitation",
        )
        .await;
        ids.push(id(&member, "member"));
    }
    ids
}

/// The `percent`th percentile of sorted durations (nearest rank).
fn percentile(sorted: &[Duration], percent: f64) -> Duration {
    let rank = (sorted.len() as f64 * percent / 100.0).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

async fn measure_queue(history: usize) -> Vec<Figure> {
    println!("\n=== queue's first page, sqlite: {history} finished jobs, {WAITING} waiting ===");
    let dir = tempfile::tempdir().unwrap();
    let db = TestDatabase::new(Backend::Sqlite).await;
    let one_time = create_org(&db.url, dir.path());
    let server = ServerProcess::start(Some(&db.url), dir.path(), &[]);
    let lab = open_lab(&server.base, &one_time, 3, 3).await;
    let api = token_client(&lab.token);
    // A real submission first: it proves the set-up and names the owner's membership.
    let first = submit(&api, &server.base, lab.files[0], lab.model, "first").await;
    let mut members = vec![first["owner_member_id"].as_i64().expect("owner_member_id")];
    members.extend(invite_members(&server.base, &api, 4).await);
    drop(server);

    let started = Instant::now();
    let rows = seed(&db.url, &lab, &members, history).await;
    let DatabaseUrl::Sqlite(path) = &db.url else {
        unreachable!("a SQLite database")
    };
    println!(
        "seeded {rows} jobs in {:.1?} (database {:.0} MB)",
        started.elapsed(),
        std::fs::metadata(path).map(|m| m.len()).unwrap_or(0) as f64 / 1e6
    );

    // The API: the first page as a client asks for it, one request after another.
    let server = ServerProcess::start(Some(&db.url), dir.path(), &[]);
    let url = format!("{}/api/v1/orgs/{ORG}/jobs", server.base);
    let page = send(api.get(&url), "list the queue").await;
    let listed = page["jobs"].as_array().map_or(0, Vec::len);
    assert_eq!(listed, 100, "a full first page");
    assert!(page["next_cursor"].is_string(), "more pages follow");
    let waiting_first = page["jobs"][0]["priority"] == 5;
    assert!(waiting_first, "the queue's order: priority first, {page}");
    for _ in 0..LIST_WARM_UP {
        send(api.get(&url), "list the queue").await;
    }
    let mut api_times = Vec::with_capacity(LIST_REQUESTS);
    for _ in 0..LIST_REQUESTS {
        let started = Instant::now();
        let response = api.get(&url).send().await.expect("list the queue");
        assert!(response.status().is_success());
        response.bytes().await.expect("the page");
        api_times.push(started.elapsed());
    }
    drop(server);

    // The database's own query for the same page, through sqlx on the same file.
    let store = Store::connect(&db.url, &StoreOptions::default())
        .await
        .expect("connect to the database");
    let plan: Vec<String> = sqlx::query(
        "EXPLAIN QUERY PLAN SELECT * FROM jobs WHERE org_id = 1 AND state IN \
         ('pending_approval', 'sent_back', 'queued', 'assigned', 'printing', 'paused') \
         ORDER BY priority DESC, queue_position, id LIMIT 101",
    )
    .fetch_all(store.pool())
    .await
    .expect("query plan")
    .iter()
    .map(|row| row.try_get::<String, _>("detail").unwrap_or_default())
    .collect();
    println!("SQLite's plan for the page: {}", plan.join("; "));
    let mut conn = store.read().await.unwrap();
    let list = || store::JobList::Queue { after: None };
    let filter = store::JobFilter::default();
    for _ in 0..LIST_WARM_UP {
        store::list_jobs(&mut conn, OrgId(ORG), &filter, list(), PAGE_PLUS_ONE)
            .await
            .unwrap();
    }
    let mut sql_times = Vec::with_capacity(LIST_REQUESTS);
    for _ in 0..LIST_REQUESTS {
        let started = Instant::now();
        let jobs = store::list_jobs(&mut conn, OrgId(ORG), &filter, list(), PAGE_PLUS_ONE)
            .await
            .expect("list_jobs");
        sql_times.push(started.elapsed());
        assert_eq!(jobs.len(), PAGE_PLUS_ONE as usize);
    }
    drop(conn);
    store.close().await;
    drop(db);

    api_times.sort();
    sql_times.sort();
    let (api50, api99) = (percentile(&api_times, 50.0), percentile(&api_times, 99.0));
    let (sql50, sql99) = (percentile(&sql_times, 50.0), percentile(&sql_times, 99.0));
    println!(
        "GET …/jobs (first page of 100), {LIST_REQUESTS} requests: p50 {:>7.2} ms  p99 {:>7.2} ms  max {:.2} ms (target p99 ≤ 20 ms)",
        ms(api50),
        ms(api99),
        ms(*api_times.last().unwrap())
    );
    println!(
        "the database's query (list_jobs), {LIST_REQUESTS} times: p50 {:>7.2} ms  p99 {:>7.2} ms  max {:.2} ms",
        ms(sql50),
        ms(sql99),
        ms(*sql_times.last().unwrap())
    );
    println!(
        "ratio API / database: p50 {:.1}x  p99 {:.1}x",
        ms(api50) / ms(sql50),
        ms(api99) / ms(sql99)
    );
    vec![
        Figure {
            what: format!("queue page p50, sqlite, {history} in history (ms)"),
            farmhand: format!("{:.2}", ms(api50)),
            bare: format!("{:.2}", ms(sql50)),
            ratio: ms(api50) / ms(sql50),
            target: "",
        },
        Figure {
            what: format!("queue page p99, sqlite, {history} in history (ms)"),
            farmhand: format!("{:.2}", ms(api99)),
            bare: format!("{:.2}", ms(sql99)),
            ratio: ms(api99) / ms(sql99),
            target: "p99 ≤ 20 ms",
        },
    ]
}

#[tokio::main]
async fn main() {
    let args = args();
    // Timings move with whatever else the machine runs: say how busy it was.
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "load average at start: {} ({} CPUs)",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" "),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let mut figures = Vec::new();
    if args.submit {
        for backend in &args.backends {
            figures.push(measure_submissions(*backend, args.jobs, args.concurrency).await);
        }
    }
    if args.queue {
        if args.backends.contains(&Backend::Sqlite) {
            figures.extend(measure_queue(args.history).await);
        } else {
            println!("\n(the queue listing is measured on SQLite only)");
        }
    }
    println!("\n=== summary ===");
    println!(
        "{:<48} {:>10} {:>14} {:>7}  target",
        "", "farmhand", "bare database", "ratio"
    );
    for f in figures {
        println!(
            "{:<48} {:>10} {:>14} {:>6.2}x  {}",
            f.what, f.farmhand, f.bare, f.ratio, f.target
        );
    }
}
