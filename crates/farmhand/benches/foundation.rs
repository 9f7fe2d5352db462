//! Foundation measurements, on SQLite and PostgreSQL:
//! - cold start of `farmhand serve` (process spawn until `/healthz` answers), on a new
//!   database (migrations run) and on an existing one;
//! - idle memory (RSS) of the server;
//! - time and peak memory of exporting N audit events (default 1,000,000) as CSV through the
//!   API, against the database's own CSV dump of the same rows as the named peer:
//!   `sqlite3 -csv` and `psql \copy … TO STDOUT CSV`. Prints the ratio.
//!
//! `cargo bench -p farmhand --bench foundation -- [--events N] [--backend sqlite|postgres]`

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use domain::audit::{ActorKind, Chain, NewAuditEvent};
use domain::{OrgId, Timestamp, UserId};
use serde_json::json;
use store::{Backend, DatabaseUrl, Store, StoreOptions};
use testkit::TestDatabase;

mod common;

use common::{BIN, ServerProcess, url_arg};

struct Args {
    events: usize,
    backends: Vec<Backend>,
}

fn args() -> Args {
    let mut args = Args {
        events: 1_000_000,
        backends: vec![Backend::Sqlite, Backend::Postgres],
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--events" => args.events = it.next().and_then(|v| v.parse().ok()).expect("--events N"),
            "--backend" => {
                args.backends = match it.next().as_deref() {
                    Some("sqlite") => vec![Backend::Sqlite],
                    Some("postgres") => vec![Backend::Postgres],
                    other => panic!("unknown backend {other:?}"),
                }
            }
            _ => {} // `cargo bench` passes --bench and filters.
        }
    }
    args
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

async fn seed(url: &DatabaseUrl, org: OrgId, events: usize) -> Duration {
    let store = Store::connect(url, &StoreOptions::default()).await.unwrap();
    let started = Instant::now();
    let t0 = Timestamp::parse_rfc3339("2026-01-01T00:00:00Z").unwrap();
    const PER_TX: usize = 50_000;
    let actions = [
        "site.create",
        "member.update",
        "auth.sign_in",
        "workgroup.member_set",
        "api_token.create",
    ];
    let mut done = 0;
    while done < events {
        let n = PER_TX.min(events - done);
        let batch = (done..done + n)
            .map(|i| NewAuditEvent {
                chain: Chain::Org(org),
                occurred_at: t0.plus_seconds(i as i64),
                actor_kind: ActorKind::User,
                actor_user_id: Some(UserId(1 + (i % 50) as i64)),
                actor_token_id: None,
                actor_label: format!("member{}@lab.example", i % 50),
                action: actions[i % actions.len()].into(),
                target_type: "member".into(),
                target_id: Some((i % 1000).to_string()),
                before: Some(json!({ "rank": "Member", "site_id": 3 })),
                after: Some(
                    json!({ "rank": "Operator", "site_id": 3, "note": "promoted, \"trusted\"" }),
                ),
                client_ip: Some("192.0.2.10".into()),
                user_agent: Some("Mozilla/5.0 (X11; Linux x86_64)".into()),
                request_id: Some(format!("{i:032x}")),
            })
            .collect();
        let mut tx = store.write().await.unwrap();
        store::append_audit_many(&mut tx, Chain::Org(org), batch)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        done += n;
    }
    store.close().await;
    started.elapsed()
}

/// Signs the owner in (changing the one-time password) and returns a client with the session.
async fn owner_client(base: &str, email: &str, one_time: &str) -> reqwest::Client {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let sign_in = |password: &str| {
        client
            .post(format!("{base}/api/v1/auth/sign-in"))
            .json(&json!({ "email": email, "password": password }))
            .send()
    };
    assert!(sign_in(one_time).await.unwrap().status().is_success());
    let changed = client
        .post(format!("{base}/api/v1/me/password"))
        .json(&json!({ "current_password": one_time, "new_password": "bench password 123" }))
        .send()
        .await
        .unwrap();
    assert!(changed.status().is_success());
    client
}

fn peer_dump(url: &DatabaseUrl, org: OrgId) -> (Duration, u64) {
    let columns = "id, seq, occurred_at, actor_kind, actor_user_id, actor_token_id, actor_label, action, target_type, \
                   target_id, before_summary, after_summary, client_ip, user_agent, request_id, hash";
    let select = format!(
        "SELECT {columns} FROM audit_events WHERE chain_key = {} ORDER BY id",
        org.get()
    );
    let mut command = match url {
        DatabaseUrl::Sqlite(path) => {
            let mut c = Command::new("sqlite3");
            c.args(["-csv", "-header", path.to_str().unwrap(), &select]);
            c
        }
        DatabaseUrl::Postgres(url) => {
            let mut c = Command::new("psql");
            c.args([
                url.as_str(),
                "-Xqc",
                &format!("\\copy ({select}) TO STDOUT WITH (FORMAT csv, HEADER)"),
            ]);
            c
        }
    };
    let started = Instant::now();
    let mut child = command
        .stdout(Stdio::piped())
        .spawn()
        .expect("the peer's CLI (sqlite3 / psql)");
    let mut bytes = 0u64;
    let mut buf = vec![0u8; 1 << 16];
    let mut out = child.stdout.take().unwrap();
    loop {
        let n = out.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        bytes += n as u64;
    }
    assert!(child.wait().unwrap().success());
    (started.elapsed(), bytes)
}

async fn measure(backend: Backend, events: usize) {
    println!("\n=== {backend} ===");
    let dir = tempfile::tempdir().unwrap();

    // Cold start: a new database (migrations run), then restarts of the same one.
    let db = TestDatabase::new(backend).await;
    let first = ServerProcess::start(Some(&db.url), dir.path(), &[]);
    let first_start = first.started_in;
    drop(first);
    let restarts = median(
        (0..5)
            .map(|_| ServerProcess::start(Some(&db.url), dir.path(), &[]).started_in)
            .collect(),
    );
    println!("cold start, new database:      {first_start:>10.1?}");
    println!("cold start, existing database: {restarts:>10.1?} (median of 5)");

    // An organization and N events in its chain.
    let out = Command::new(BIN)
        .args([
            "--database-url",
            &url_arg(&db.url),
            "admin",
            "create-org",
            "--name",
            "Bench",
            "--owner-email",
            "owner@bench.test",
        ])
        .current_dir(dir.path())
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let one_time = text
        .split("one-time password ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .unwrap()
        .to_string();
    let org = OrgId(1);
    let seeding = seed(&db.url, org, events).await;
    println!("seeded {events} audit events in {seeding:.1?}");

    let server = ServerProcess::start(Some(&db.url), dir.path(), &[]);
    std::thread::sleep(Duration::from_secs(2));
    let idle = server.status_kib("VmRSS:");
    println!("idle memory (RSS):             {:>8.1} MiB", mib(idle));
    let client = owner_client(&server.base, "owner@bench.test", &one_time).await;

    let mut runs = Vec::new();
    let mut peaks = Vec::new();
    let mut size = 0;
    for _ in 0..3 {
        server.reset_peak();
        let started = Instant::now();
        let mut response = client
            .get(format!(
                "{}/api/v1/orgs/{}/audit-events/export.csv",
                server.base, org
            ))
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success());
        let (mut bytes, mut lines) = (0u64, 0u64);
        while let Some(chunk) = response.chunk().await.unwrap() {
            bytes += chunk.len() as u64;
            lines += chunk.iter().filter(|b| **b == b'\n').count() as u64;
        }
        runs.push(started.elapsed());
        peaks.push(server.status_kib("VmHWM:"));
        assert!(
            lines as usize > events,
            "export has every event ({lines} lines)"
        );
        size = bytes;
    }
    let export = median(runs);
    let peak = *peaks.iter().max().unwrap();
    let (peer, peer_bytes) = (0..3).map(|_| peer_dump(&db.url, org)).min().unwrap();
    let peer_name = match backend {
        Backend::Sqlite => "sqlite3 -csv",
        Backend::Postgres => "psql \\copy … CSV",
    };
    println!(
        "export {events} events as CSV:  {export:>10.2?} ({:.0} MB, {:.0} events/s) peak RSS {:.1} MiB (+{:.1} MiB over idle)",
        size as f64 / 1e6,
        events as f64 / export.as_secs_f64(),
        mib(peak),
        mib(peak.saturating_sub(idle))
    );
    println!(
        "peer {peer_name}:        {peer:>10.2?} ({:.0} MB)",
        peer_bytes as f64 / 1e6
    );
    println!(
        "ratio farmhand / {peer_name}: {:.2}x",
        export.as_secs_f64() / peer.as_secs_f64()
    );
    drop(server);
    db.drop_database().await;
}

#[tokio::main]
async fn main() {
    let args = args();
    for backend in args.backends {
        measure(backend, args.events).await;
    }
}
