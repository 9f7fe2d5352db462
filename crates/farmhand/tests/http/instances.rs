//! Several Farmhand instances on one PostgreSQL: two instances share 50 printers (the fake
//! Moonraker, printing fast) and 1,000 jobs; one is killed (SIGKILL) half-way. Every job ends
//! once, no printer runs two jobs at a time, no job starts twice, the survivor takes the dead
//! instance's printers over within 30 seconds and settles their prints in flight, and the
//! server-sent events of one instance show the printers the other supervises. Requests about a
//! printer the other instance supervises (the plate clears here) are handed on to it.

use std::collections::{HashMap, HashSet};
use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use printers::fake_moonraker::FakeMoonraker;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::Row;
use store::Backend;
use testkit::TestDatabase;

use crate::common::{Client, launch, org_with_owner_on};

const PRINTERS: usize = 50;
const JOBS: usize = 1_000;

/// An instance as its own process, on the test's database and data directory.
struct OtherInstance {
    child: Child,
    base: String,
}

impl OtherInstance {
    fn start(db: &TestDatabase, data_dir: &std::path::Path) -> OtherInstance {
        let url = match &db.url {
            store::DatabaseUrl::Postgres(url) => url.clone(),
            store::DatabaseUrl::Sqlite(path) => format!("sqlite://{}", path.display()),
        };
        let mut child = Command::new(env!("CARGO_BIN_EXE_farmhand"))
            .args(["--database-url", &url, "--data-dir"])
            .arg(data_dir)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env_remove("FARMHAND_CONFIG")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .expect("start a second farmhand");
        let stdout = child.stdout.take().unwrap();
        let mut lines = std::io::BufReader::new(stdout).lines();
        let base = loop {
            let line = lines
                .next()
                .expect("the second instance printed its address")
                .unwrap();
            if let Some(rest) = line.strip_prefix("Farmhand is listening on ") {
                break rest.split_whitespace().next().unwrap().to_string();
            }
        };
        // Keep reading its output so it never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        OtherInstance { child, base }
    }
}

impl Drop for OtherInstance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn count(pool: &sqlx::AnyPool, sql: &str) -> i64 {
    sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(pool)
        .await
        .unwrap()
        .get::<i64, _>(0)
}

/// Leases per instance.
async fn leases(pool: &sqlx::AnyPool) -> HashMap<String, i64> {
    sqlx::query("SELECT instance_id, COUNT(*) AS n FROM printer_leases GROUP BY instance_id")
        .fetch_all(pool)
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get::<String, _>(0), row.get::<i64, _>(1)))
        .collect()
}

/// The printers whose leases an instance other than `survivor` holds.
async fn held_elsewhere(pool: &sqlx::AnyPool, survivor: &str) -> HashSet<i64> {
    sqlx::query("SELECT printer_id FROM printer_leases WHERE instance_id <> $1")
        .bind(survivor)
        .fetch_all(pool)
        .await
        .unwrap()
        .iter()
        .map(|row| row.get::<i64, _>(0))
        .collect()
}

async fn wait_until<F: std::future::Future<Output = bool>>(
    what: &str,
    within: Duration,
    mut check: impl FnMut() -> F,
) {
    let deadline = Instant::now() + within;
    while !check().await {
        assert!(Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Confirms every cleared plate, through instance `base`, until stopped.
async fn clear_plates(owner: Client, org: i64, stop: Arc<std::sync::atomic::AtomicBool>) {
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        let (status, page) = owner
            .get(&format!("/api/v1/orgs/{org}/printers?limit=100"))
            .await;
        if status == StatusCode::OK {
            for printer in page["printers"].as_array().into_iter().flatten() {
                if printer["live"]["bed_clear_pending"] == true {
                    let id = &printer["id"];
                    // The printer may be another instance's (handed on), or on its way to a
                    // new instance (tried again next round).
                    let _ = owner
                        .post_empty(&format!("/api/v1/orgs/{org}/printers/{id}/bed-clear"))
                        .await;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}

/// Collects the `printer` events of instance `owner.base`: (printer, state) pairs.
async fn watch_events(owner: Client, org: i64, seen: Arc<Mutex<HashSet<(i64, String)>>>) {
    let response = owner
        .http
        .get(format!("{}/api/v1/orgs/{org}/printer-events", owner.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let mut response = response;
    let mut buffer = String::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let event: String = buffer.drain(..end + 2).collect();
            for line in event.lines() {
                if let Some(data) = line.strip_prefix("data:")
                    && let Ok(status) = serde_json::from_str::<Value>(data.trim())
                {
                    let printer = status["printer_id"].as_i64().unwrap_or_default();
                    let state = status["state"].as_str().unwrap_or_default().to_string();
                    seen.lock().unwrap().insert((printer, state));
                }
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_share_the_fleet_and_one_dies_half_way() {
    let db = TestDatabase::new(Backend::Postgres).await;
    let data_dir = tempfile::tempdir().unwrap();
    // The survivor runs here, on the real clock (the other instance's is real too).
    let survivor = launch(&db, &data_dir, Arc::new(domain::SystemClock), |_| {}).await;
    let app = survivor.app().clone();
    let base = format!("http://{}", survivor.addr());
    let client = Client {
        base: base.clone(),
        http: reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .unwrap(),
        bearer: None,
    };
    let (org, owner) = org_with_owner_on(&app, client, "Farm", "owner@farm.test").await;
    let path = |rest: &str| format!("/api/v1/orgs/{org}/{rest}");
    let (_, site) = owner.post(&path("sites"), json!({ "name": "Lab" })).await;
    let mut fakes = Vec::new();
    let mut printer_ids = Vec::new();
    for i in 0..PRINTERS {
        let fake = FakeMoonraker::start().await;
        fake.set_print_duration(0.3);
        let (status, printer) = owner
            .post(
                &path("printers"),
                json!({ "name": format!("Voron {i}"), "driver": "moonraker",
                        "url": fake.url(), "site_id": site["id"] }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{printer}");
        printer_ids.push(printer["id"].as_i64().unwrap());
        fakes.push(fake);
    }
    let gcode = "; small part\nG28\nG1 X10 Y10 Z0.2 F3000\nG1 X20 E1 F1200\n".repeat(20);
    let response = owner
        .raw_post(&path("files?name=part.gcode"), gcode.into_bytes())
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let file: Value = response.json().await.unwrap();

    // The second instance starts: the first gives it half of the idle printers.
    let pool = app.store().pool().clone();
    let mut other = OtherInstance::start(&db, data_dir.path());
    let survivor_id = app.instance_id().to_string();
    wait_until(
        "both instances hold printers",
        Duration::from_secs(30),
        || {
            let pool = pool.clone();
            let survivor_id = survivor_id.clone();
            async move {
                let held = leases(&pool).await;
                held.len() == 2
                    && held.values().all(|n| *n >= 20)
                    && held.values().sum::<i64>() == PRINTERS as i64
                    && held.contains_key(&survivor_id)
            }
        },
    )
    .await;
    let held_by_other = held_elsewhere(&pool, &survivor_id).await;
    assert!(!held_by_other.is_empty());

    // Server-sent events here show the other instance's printers as well.
    let seen = Arc::new(Mutex::new(HashSet::new()));
    let events = tokio::spawn(watch_events(owner.clone(), org, seen.clone()));
    let stop_clearing = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let clearing = tokio::spawn(clear_plates(owner.clone(), org, stop_clearing.clone()));

    // A thousand jobs, half through each instance.
    let other_owner = Client {
        base: other.base.clone(),
        ..owner.clone()
    };
    for i in 0..JOBS {
        let through = if i % 2 == 0 { &owner } else { &other_owner };
        let (status, job) = through
            .post(
                &path("jobs"),
                json!({ "file_id": file["id"], "target": { "any": true } }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{job}");
    }

    wait_until("half of the jobs printed", Duration::from_secs(300), || {
        let pool = pool.clone();
        async move {
            count(&pool, "SELECT COUNT(*) FROM jobs WHERE state = 'completed'").await
                >= (JOBS / 2) as i64
        }
    })
    .await;
    {
        let seen = seen.lock().unwrap();
        assert!(
            seen.iter()
                .any(|(printer, state)| held_by_other.contains(printer) && state == "printing"),
            "the other instance's printers are seen printing here"
        );
    }

    // The other instance dies without a word.
    let held_at_kill = held_elsewhere(&pool, &survivor_id).await;
    other.child.kill().unwrap();
    other.child.wait().unwrap();
    let killed = Instant::now();
    wait_until(
        "the survivor supervises every printer",
        Duration::from_secs(60),
        || {
            let app = app.clone();
            async move { app.supervisors().len() == PRINTERS }
        },
    )
    .await;
    let takeover = killed.elapsed();
    println!("takeover after SIGKILL: {takeover:.1?}");
    assert!(
        takeover <= Duration::from_secs(30),
        "printers taken over after {takeover:?}"
    );

    wait_until("every job ended", Duration::from_secs(300), || {
        let pool = pool.clone();
        async move {
            count(
                &pool,
                "SELECT COUNT(*) FROM jobs WHERE state IN ('completed', 'failed')",
            )
            .await
                == JOBS as i64
        }
    })
    .await;
    stop_clearing.store(true, std::sync::atomic::Ordering::Relaxed);
    clearing.await.unwrap();
    events.abort();

    // Every job started once: one print each, and each printer got its file once.
    let prints_per_job = count(
        &pool,
        "SELECT COUNT(*) FROM (SELECT job_id FROM prints WHERE job_id IS NOT NULL \
         GROUP BY job_id HAVING COUNT(*) <> 1) AS twice",
    )
    .await;
    assert_eq!(prints_per_job, 0, "a job started twice");
    assert_eq!(
        count(
            &pool,
            "SELECT COUNT(*) FROM prints WHERE job_id IS NOT NULL"
        )
        .await,
        JOBS as i64
    );
    let mut started: Vec<String> = Vec::new();
    for fake in &fakes {
        for entry in fake.history() {
            started.push(entry["filename"].as_str().unwrap_or_default().to_string());
        }
    }
    let distinct: HashSet<&String> = started.iter().collect();
    assert_eq!(started.len(), distinct.len(), "a file printed twice");
    // No printer ran two prints at once.
    let overlapping = count(
        &pool,
        "SELECT COUNT(*) FROM prints a JOIN prints b ON a.printer_id = b.printer_id AND a.id < b.id \
         WHERE b.started_at < COALESCE(a.ended_at, b.started_at + 1)",
    )
    .await;
    assert_eq!(overlapping, 0, "a printer ran two prints at once");
    let failures = sqlx::query(
        "SELECT p.state, p.detail, p.printer_id, p.file_name FROM prints p \
         JOIN jobs j ON j.id = p.job_id WHERE j.state = 'failed'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    for row in &failures {
        let printer = row.get::<i64, _>(2);
        let detail = row.get::<String, _>(1);
        println!("failed print on printer {printer}: {detail}");
        // Only a print the dead instance had recorded but not yet started may fail.
        assert!(
            held_at_kill.contains(&printer),
            "a print failed on a printer the survivor held: {detail}"
        );
    }
    let completed = count(&pool, "SELECT COUNT(*) FROM jobs WHERE state = 'completed'").await;
    let failed = JOBS as i64 - completed;
    println!("{completed} jobs completed, {failed} failed (started just as the instance died)");
    survivor.stop().await.unwrap();
    drop(fakes);
    db.drop_database().await;
}

/// On SQLite one instance owns the database: started again after being killed, it takes its
/// printers' leases at once instead of waiting for the dead run's leases to expire.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_sqlite_instance_takes_its_printers_back_at_once() {
    let db = TestDatabase::new(Backend::Sqlite).await;
    let data_dir = tempfile::tempdir().unwrap();
    let store = store::Store::open(&db.url, &store::StoreOptions::default())
        .await
        .unwrap();
    let now = domain::Timestamp::from_micros(0);
    let mut tx = store.write().await.unwrap();
    let org = store::insert_org(&mut tx, "Farm", "UTC", "EUR", now)
        .await
        .unwrap();
    let site = store::insert_site(&mut tx, org, "Lab", "", None, now)
        .await
        .unwrap();
    let settings = json!({ "speed": 1.0 });
    let printer = store::NewPrinter {
        name: "Sim",
        site,
        model: None,
        groups: &[],
        driver: domain::DriverKind::Simulated,
        url: "",
        settings: &settings,
    };
    store::insert_printer(&mut tx, org, &printer, now)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let holder = || async {
        sqlx::query("SELECT instance_id FROM printer_leases")
            .fetch_optional(store.pool())
            .await
            .unwrap()
            .map(|row| row.get::<String, _>(0))
    };

    let mut first = OtherInstance::start(&db, data_dir.path());
    wait_until(
        "the first run holds the printer",
        Duration::from_secs(10),
        || {
            let held = holder();
            async move { held.await.is_some() }
        },
    )
    .await;
    let dead = holder().await;
    first.child.kill().unwrap();
    first.child.wait().unwrap();

    let started = Instant::now();
    let _second = OtherInstance::start(&db, data_dir.path());
    wait_until(
        "the second run holds the printer",
        Duration::from_secs(5),
        || {
            let held = holder();
            let dead = dead.clone();
            async move { held.await.is_some_and(|id| Some(id) != dead) }
        },
    )
    .await;
    println!(
        "printer taken back {:.1?} after the restart",
        started.elapsed()
    );
}
