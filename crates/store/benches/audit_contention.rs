//! What the audit chain head costs on PostgreSQL when many writers share an organization.
//!
//! Appending an audit event locks its chain's head row until the transaction commits, so every
//! audited write of one organization queues there. This measures, with 50 concurrent writers
//! (each its own connection), transactions that:
//!
//! - (a) insert a small row and append an audit event to one organization's chain;
//! - (b) the same, the writers spread over 50 organizations (one chain each);
//! - (c) insert the same row without an audit event;
//! - (d) like (a), after taking the shared rights lock a use case takes (`lock_rights`);
//! - (e) like (a), with the head locked the way the store did before it queued appenders (a
//!   bare `SELECT … FOR UPDATE` on the head row), for comparison in the same run.
//!
//! and prints throughput (transactions a second) and p50/p99 latency of each, with the ratios.
//! Every run ends by verifying the chains it wrote.
//!
//! `cargo bench -p store --bench audit_contention` (PostgreSQL from `TEST_POSTGRES_URL`, by
//! default the local server; a throwaway database is created and dropped). Optional arguments:
//! `--writers N` (50), `--seconds S` (5 per case).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use domain::audit::{ActorKind, Chain, NewAuditEvent};
use domain::{OrgId, Timestamp};
use store::{Backend, Store, StoreOptions};
use testkit::TestDatabase;

#[derive(Clone, Copy, PartialEq)]
enum Case {
    OneChain,
    ManyChains,
    NoAudit,
    OneChainRightsLocked,
    OneChainRowLockOnly,
}

impl Case {
    fn label(self) -> &'static str {
        match self {
            Case::OneChain => "(a) insert + audit, 1 organization",
            Case::ManyChains => "(b) insert + audit, 50 organizations",
            Case::NoAudit => "(c) insert, no audit",
            Case::OneChainRightsLocked => "(d) rights lock + insert + audit, 1 org",
            Case::OneChainRowLockOnly => "(e) as (a), head row lock only (before)",
        }
    }
}

struct Figures {
    tx_per_s: f64,
    p50: Duration,
    p99: Duration,
    count: usize,
}

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn event(org: OrgId, n: i64) -> NewAuditEvent {
    NewAuditEvent {
        chain: Chain::Org(org),
        occurred_at: Timestamp::from_micros(1_790_000_000_000_000 + n),
        actor_kind: ActorKind::User,
        actor_user_id: Some(domain::UserId(1)),
        actor_token_id: None,
        actor_label: "bench@example.org".into(),
        action: "job.submit".into(),
        target_type: "job".into(),
        target_id: Some(n.to_string()),
        before: None,
        after: Some(serde_json::json!({ "file": "cube.gcode", "copies": 1 })),
        client_ip: Some("127.0.0.1".into()),
        user_agent: Some("bench".into()),
        request_id: None,
    }
}

async fn one_transaction(store: &Store, case: Case, org: OrgId, n: i64) {
    let mut tx = store.write().await.unwrap();
    if case == Case::OneChainRightsLocked {
        store::lock_rights(&mut tx, org, store::RightsLock::Use)
            .await
            .unwrap()
            .unwrap();
    }
    sqlx::query(
        "INSERT INTO bench_jobs (org_id, n, file_name, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(org.get())
    .bind(n)
    .bind("cube.gcode")
    .bind(n)
    .execute(&mut *tx)
    .await
    .unwrap();
    match case {
        Case::NoAudit => {}
        Case::OneChainRowLockOnly => append_with_row_lock_only(&mut tx, event(org, n)).await,
        _ => {
            store::append_audit(&mut tx, event(org, n)).await.unwrap();
        }
    }
    tx.commit().await.unwrap();
}

/// How `store::append_audit` appended before appenders were queued: the head row locked
/// `FOR UPDATE`, so that at each commit every waiter wakes and races for it.
async fn append_with_row_lock_only(tx: &mut store::WriteTx, event: NewAuditEvent) {
    use sqlx::Row;
    let key = event.chain.key();
    let head = sqlx::query("SELECT seq, hash FROM audit_heads WHERE chain_key = $1 FOR UPDATE")
        .bind(key)
        .fetch_one(&mut **tx)
        .await
        .unwrap();
    let seq: i64 = head.get("seq");
    let content = event.into_content(seq + 1, head.get("hash"));
    let hash = content.hash();
    sqlx::query(
        "INSERT INTO audit_events (chain_key, seq, occurred_at, actor_kind, actor_user_id, \
         actor_token_id, actor_label, action, target_type, target_id, before_summary, \
         after_summary, client_ip, user_agent, request_id, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
    )
    .bind(content.chain)
    .bind(content.seq)
    .bind(content.occurred_at)
    .bind(content.actor_kind)
    .bind(content.actor_user_id)
    .bind(content.actor_token_id)
    .bind(content.actor_label)
    .bind(content.action)
    .bind(content.target_type)
    .bind(content.target_id)
    .bind(content.before)
    .bind(content.after)
    .bind(content.client_ip)
    .bind(content.user_agent)
    .bind(content.request_id)
    .bind(content.prev_hash)
    .bind(hash.clone())
    .execute(&mut **tx)
    .await
    .unwrap();
    sqlx::query("UPDATE audit_heads SET seq = $1, hash = $2 WHERE chain_key = $3")
        .bind(seq + 1)
        .bind(hash)
        .bind(key)
        .execute(&mut **tx)
        .await
        .unwrap();
}

async fn run_case(
    store: &Store,
    orgs: &[OrgId],
    case: Case,
    writers: usize,
    seconds: u64,
) -> Figures {
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let tasks: Vec<_> = (0..writers)
        .map(|w| {
            let store = store.clone();
            let org = match case {
                Case::ManyChains => orgs[w % orgs.len()],
                _ => orgs[0],
            };
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut n = (w as i64) << 32;
                while Instant::now() < deadline {
                    let t = Instant::now();
                    one_transaction(&store, case, org, n).await;
                    latencies.push(t.elapsed());
                    n += 1;
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.unwrap());
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    Figures {
        tx_per_s: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: at(0.50),
        p99: at(0.99),
        count: latencies.len(),
    }
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let writers = arg("--writers", 50) as usize;
    let seconds = arg("--seconds", 5);
    let db = TestDatabase::new(Backend::Postgres).await;
    let options = StoreOptions {
        max_connections: writers as u32 + 2,
        ..StoreOptions::default()
    };
    let store = Store::open(&db.url, &options).await.unwrap();
    sqlx::query(
        "CREATE TABLE bench_jobs (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, \
         org_id BIGINT NOT NULL REFERENCES organizations (id), n BIGINT NOT NULL, \
         file_name TEXT NOT NULL, created_at BIGINT NOT NULL)",
    )
    .execute(store.pool())
    .await
    .unwrap();
    let mut orgs = Vec::new();
    let mut tx = store.write().await.unwrap();
    for i in 0..writers.max(1) {
        let name = format!("Org {i}");
        orgs.push(
            store::insert_org(&mut tx, &name, "UTC", "EUR", Timestamp::from_micros(0))
                .await
                .unwrap(),
        );
    }
    tx.commit().await.unwrap();

    println!(
        "audit chain contention on PostgreSQL: {writers} concurrent writers, {seconds} s per case"
    );
    let cases = [
        Case::OneChain,
        Case::ManyChains,
        Case::NoAudit,
        Case::OneChainRightsLocked,
        Case::OneChainRowLockOnly,
    ];
    let mut results = Vec::new();
    for case in cases {
        // A short warm-up so that every case starts with open connections and warm caches.
        run_case(&store, &orgs, case, writers, 1).await;
        let figures = run_case(&store, &orgs, case, writers, seconds).await;
        println!(
            "{:<42} {:>8.0} tx/s   p50 {:>9}   p99 {:>9}   ({} transactions)",
            case.label(),
            figures.tx_per_s,
            ms(figures.p50),
            ms(figures.p99),
            figures.count
        );
        results.push((case, figures));
    }
    let of = |case: Case| &results.iter().find(|(c, _)| *c == case).unwrap().1;
    let (a, b, c, e) = (
        of(Case::OneChain),
        of(Case::ManyChains),
        of(Case::NoAudit),
        of(Case::OneChainRowLockOnly),
    );
    println!(
        "ratios: throughput a/c {:.2}, b/c {:.2}, a/b {:.2}, a/e {:.2}; \
         p99 a/c {:.1}, b/c {:.1}, e/a {:.1}",
        a.tx_per_s / c.tx_per_s,
        b.tx_per_s / c.tx_per_s,
        a.tx_per_s / b.tx_per_s,
        a.tx_per_s / e.tx_per_s,
        a.p99.as_secs_f64() / c.p99.as_secs_f64(),
        b.p99.as_secs_f64() / c.p99.as_secs_f64(),
        e.p99.as_secs_f64() / a.p99.as_secs_f64(),
    );
    let reports = store::verify_audit(&store, None).await.unwrap();
    let events: i64 = reports.iter().map(|r| r.result.clone().unwrap()).sum();
    println!("verified: {} chains intact, {events} events", reports.len());
    store.close().await;
    db.drop_database().await;
}
