//! The cost of the quota and balance checks per submission (issue 15): the median time of
//! `Jobs::submit` for a member with allowances at the organization and workgroup levels,
//! prices and a balance (every check runs, with the member's account locked, the usage sums,
//! the ledger's sums and the hold), beside the median for a member of an organization with no
//! allowances and no prices (the checks find nothing to check) in the same run, submissions of
//! the two alternating. Target: at most 25 % more. Timings are printed, never asserted.
//!
//! `cargo bench -p app --bench quota_checks -- [--submissions N] [--backend sqlite|postgres]`
//! (PostgreSQL needs `TEST_POSTGRES_URL`).

// A bench binary: set-up failures stop it with the cause.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use app::{Movement, OrgActor, PrinterModelInput, QuotaLevel, SubmitJob, UploadFile};
use common::Lab;
use domain::money::Price;
use domain::quotas::{Allowance, QuotaKind, QuotaPeriod};
use domain::{FileId, JobTarget, PrinterModelId};
use testkit::Backend;

const CUBE: &[u8] = include_bytes!("../fixtures/demo/calibration_cube.gcode");

struct Side {
    lab: Lab,
    member: OrgActor,
    file: FileId,
    model: PrinterModelId,
}

async fn side(backend: Backend, checked: bool) -> Side {
    let lab = Lab::open(backend).await;
    let owner = lab.actor(&lab.owner).await;
    let model = lab
        .app
        .fleet()
        .create_printer_model(
            &owner,
            PrinterModelInput {
                name: "Mini".into(),
                description: String::new(),
                build_volume_mm: [180.0; 3],
                nozzle_diameter_mm: 0.4,
                materials: Vec::new(),
                motion: serde_json::Map::new(),
                hourly_rate_minor: 0,
            },
        )
        .await
        .unwrap()
        .id;
    let site = lab
        .app
        .people()
        .create_site(
            &owner,
            app::CreateSite {
                name: "Workshop".into(),
                description: String::new(),
                time_zone: None,
                staffed_hours: Vec::new(),
                staffed_grace_minutes: 0,
            },
        )
        .await
        .unwrap()
        .id;
    lab.app
        .fleet()
        .create_printer(
            &owner,
            app::PrinterInput {
                name: "Mini 1".into(),
                site_id: site,
                model_id: Some(model),
                group_ids: Vec::new(),
                driver: domain::DriverKind::Simulated,
                url: String::new(),
                settings: serde_json::Map::new(),
                credential: None,
            },
        )
        .await
        .unwrap();
    let person = lab.join(&lab.owner, "Member", "member@lab.test").await;
    if checked {
        let a = |kind, period, limit| Allowance {
            kind,
            period,
            limit,
        };
        let week = Some(QuotaPeriod::Week);
        let month = Some(QuotaPeriod::Month);
        let defaults = vec![
            a(QuotaKind::Prints, week, 1_000_000_000),
            a(QuotaKind::PrintingHours, week, 1_000_000),
            a(QuotaKind::MaterialGrams, month, 1_000_000_000),
            a(QuotaKind::CostMinor, month, 1_000_000_000_000),
            a(QuotaKind::MaxJobDurationS, None, 1_000_000),
            a(QuotaKind::MaxActiveJobs, None, 1_000_000),
        ];
        let quotas = lab.app.quotas();
        quotas
            .set_allowances(&owner, QuotaLevel::Organization, defaults)
            .await
            .unwrap();
        let own = vec![a(QuotaKind::Prints, Some(QuotaPeriod::Day), 1_000_000_000)];
        quotas
            .set_allowances(&owner, QuotaLevel::Member(person.member), own)
            .await
            .unwrap();
        let price = Price {
            printer_model_id: Some(model),
            material: None,
            per_gram_minor: 3,
            per_hour_minor: 120,
            flat_fee_minor: 50,
        };
        lab.app
            .billing()
            .set_prices(&owner, vec![price])
            .await
            .unwrap();
        let credit = Movement {
            amount_minor: 1_000_000_000_000,
            reason: "bench".into(),
            job_id: None,
        };
        lab.app
            .billing()
            .top_up(&owner, person.member, credit)
            .await
            .unwrap();
    }
    let member = lab.actor(&person).await;
    let body = futures::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from_static(CUBE))]);
    let input = UploadFile {
        name: "cube.gcode".into(),
        project_id: None,
        printer_model_id: None,
    };
    let file = lab
        .app
        .files()
        .upload(&member, input, body)
        .await
        .unwrap()
        .id;
    Side {
        lab,
        member,
        file,
        model,
    }
}

async fn submit(side: &Side) -> Duration {
    let input = SubmitJob {
        file_id: side.file,
        target: JobTarget::Model(side.model),
        copies: 1,
        priority: 0,
        note: String::new(),
        answers: BTreeMap::new(),
    };
    let start = Instant::now();
    side.lab
        .app
        .jobs()
        .submit(&side.member, input, None)
        .await
        .unwrap();
    start.elapsed()
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

async fn measure(backend: Backend, submissions: usize) {
    let plain = side(backend, false).await;
    let checked = side(backend, true).await;
    for _ in 0..50 {
        submit(&plain).await;
        submit(&checked).await;
    }
    let (mut without, mut with) = (Vec::new(), Vec::new());
    for _ in 0..submissions {
        without.push(submit(&plain).await);
        with.push(submit(&checked).await);
    }
    let (without, with) = (median(without), median(with));
    let more = (with.as_secs_f64() / without.as_secs_f64() - 1.0) * 100.0;
    println!(
        "{backend:?}: median submission {:.3} ms without allowances or prices, {:.3} ms with \
         six organization allowances, a member allowance, a price and a balance: {more:+.1} % \
         ({submissions} each, alternating; target at most +25 %)",
        without.as_secs_f64() * 1e3,
        with.as_secs_f64() * 1e3,
    );
}

fn main() {
    let mut submissions = 500;
    let mut backends = vec![Backend::Sqlite];
    if std::env::var_os("TEST_POSTGRES_URL").is_some() {
        backends.push(Backend::Postgres);
    }
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--submissions" => {
                submissions = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .expect("--submissions takes a number");
            }
            "--backend" => {
                backends = match args.next().as_deref() {
                    Some("sqlite") => vec![Backend::Sqlite],
                    Some("postgres") => vec![Backend::Postgres],
                    _ => panic!("--backend takes sqlite or postgres"),
                };
            }
            // What `cargo bench` passes to every bench binary.
            "--bench" => {}
            other => panic!("unknown argument {other}"),
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    for backend in backends {
        runtime.block_on(measure(backend, submissions));
    }
}
