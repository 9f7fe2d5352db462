//! Quotas and money under any interleaving of what members and managers do: a property test
//! over random sequences of submissions, approvals, rejections, cancellations, revivals,
//! top-ups, adjustments, refunds and lowered allowances, on both databases. After every step
//! the ledger sums to the balance, what is held is exactly the estimates of the jobs still
//! waiting, no hold was placed that the available balance did not cover, and no job was
//! accepted past its allowance.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;

use app::{Decision, ErrorCode, Movement, PrinterModelInput, QuotaLevel, SubmitJob, UploadFile};
use common::{Lab, Person};
use domain::money::Price;
use domain::quotas::{Allowance, QuotaKind, QuotaPeriod};
use domain::{FileId, JobId, JobState, JobTarget, PrinterModelId};
use proptest::prelude::*;
use testkit::Backend;

const CUBE: &[u8] = include_bytes!("../fixtures/demo/calibration_cube.gcode");
/// Each job costs a flat 1.00.
const FEE: i64 = 100;

#[derive(Debug, Clone)]
enum Op {
    Submit { copies: i32 },
    Approve(usize),
    Reject(usize),
    Cancel(usize),
    Revive(usize),
    TopUp(i64),
    Adjust(i64),
    Refund(usize, i64),
    SetPrintLimit(i64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (1..=2_i32).prop_map(|copies| Op::Submit { copies }),
        2 => (0..8_usize).prop_map(Op::Approve),
        1 => (0..8_usize).prop_map(Op::Reject),
        2 => (0..8_usize).prop_map(Op::Cancel),
        1 => (0..8_usize).prop_map(Op::Revive),
        1 => (1..400_i64).prop_map(Op::TopUp),
        1 => (-150..150_i64).prop_map(Op::Adjust),
        1 => ((0..8_usize), (1..200_i64)).prop_map(|(i, a)| Op::Refund(i, a)),
        1 => (0..8_i64).prop_map(Op::SetPrintLimit),
    ]
}

struct World {
    lab: Lab,
    member: Person,
    file: FileId,
    model: PrinterModelId,
    jobs: Vec<JobId>,
    limit: i64,
}

impl World {
    async fn open(backend: Backend) -> World {
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
        lab.app
            .jobs()
            .set_approval_required(&owner, true)
            .await
            .unwrap();
        let price = Price {
            printer_model_id: None,
            material: None,
            per_gram_minor: 0,
            per_hour_minor: 0,
            flat_fee_minor: FEE,
        };
        lab.app
            .billing()
            .set_prices(&owner, vec![price])
            .await
            .unwrap();
        let member = lab.join(&lab.owner, "Member", "member@lab.test").await;
        let actor = lab.actor(&member).await;
        let body =
            futures::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from_static(CUBE))]);
        let input = UploadFile {
            name: "cube.gcode".into(),
            project_id: None,
            printer_model_id: None,
        };
        let file = lab
            .app
            .files()
            .upload(&actor, input, body)
            .await
            .unwrap()
            .id;
        let mut world = World {
            lab,
            member,
            file,
            model,
            jobs: Vec::new(),
            limit: 0,
        };
        world.set_limit(4).await;
        world
    }

    async fn set_limit(&mut self, limit: i64) {
        let owner = self.lab.actor(&self.lab.owner).await;
        let allowance = Allowance {
            kind: QuotaKind::Prints,
            period: Some(QuotaPeriod::Week),
            limit,
        };
        self.lab
            .app
            .quotas()
            .set_allowances(&owner, QuotaLevel::Organization, vec![allowance])
            .await
            .unwrap();
        self.limit = limit;
    }

    fn job(&self, index: usize) -> Option<JobId> {
        (!self.jobs.is_empty()).then(|| self.jobs[index % self.jobs.len()])
    }

    /// (balance, held, available) and the ledger's sums.
    async fn money(&self) -> ((i64, i64, i64), (i64, i64)) {
        let owner = self.lab.actor(&self.lab.owner).await;
        let billing = self.lab.app.billing();
        let (balance, _) = billing.balance(&owner, self.member.member).await.unwrap();
        let (mut amount, mut held) = (0, 0);
        let mut cursor = None;
        loop {
            let page = billing
                .ledger(&owner, self.member.member, cursor, Some(7))
                .await
                .unwrap();
            for entry in &page.entries {
                amount += entry.amount_minor;
                held += entry.hold_minor;
            }
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        (
            (
                balance.balance_minor,
                balance.held_minor,
                balance.available_minor,
            ),
            (amount, held),
        )
    }

    /// Prints counted this week, from the usage the member sees.
    async fn prints_used(&self) -> i64 {
        let owner = self.lab.actor(&self.lab.owner).await;
        let usage = self
            .lab
            .app
            .quotas()
            .usage(&owner, self.member.member)
            .await
            .unwrap();
        usage
            .lines
            .iter()
            .find(|l| l.allowance.kind == QuotaKind::Prints)
            .map_or(0, |l| l.used)
    }

    /// What the jobs still waiting hold, and the copies they count, by reading each job.
    async fn expected(&self) -> (i64, i64) {
        let owner = self.lab.actor(&self.lab.owner).await;
        let (mut held, mut copies) = (0, 0);
        for id in &self.jobs {
            let view = self.lab.app.jobs().get_job(&owner, *id).await.unwrap();
            if !view.job.state.is_finished() {
                held += view.cost.as_ref().unwrap().estimate.total_minor;
                copies += i64::from(view.job.copies);
            }
        }
        (held, copies)
    }

    async fn step(&mut self, op: &Op) {
        if let Op::SetPrintLimit(limit) = op {
            self.set_limit(*limit).await;
        }
        let app = &self.lab.app;
        let member = self.lab.actor(&self.member).await;
        let owner = self.lab.actor(&self.lab.owner).await;
        let ((_, _, available), _) = self.money().await;
        let used = self.prints_used().await;
        let outcome = match op {
            Op::Submit { copies } => {
                let input = SubmitJob {
                    file_id: self.file,
                    target: JobTarget::Model(self.model),
                    copies: *copies,
                    priority: 0,
                    note: String::new(),
                    answers: BTreeMap::new(),
                };
                let result = app.jobs().submit(&member, input, None).await;
                if let Ok(view) = &result {
                    self.jobs.push(view.job.id);
                    assert!(available >= FEE, "held {FEE} with {available} available");
                    assert!(
                        used + i64::from(*copies) <= self.limit,
                        "accepted {copies} beside {used} of {}",
                        self.limit
                    );
                }
                result.map(drop)
            }
            Op::Approve(i) | Op::Reject(i) => {
                let Some(job) = self.job(*i) else { return };
                let decision = match op {
                    Op::Approve(_) => Decision::Approve { printer: None },
                    _ => Decision::Reject {
                        reason: "not now".into(),
                    },
                };
                app.jobs().decide(&owner, job, decision).await.map(drop)
            }
            Op::Cancel(i) => {
                let Some(job) = self.job(*i) else { return };
                app.jobs().cancel(&member, job).await.map(drop)
            }
            Op::Revive(i) => {
                let Some(job) = self.job(*i) else { return };
                let before = app.jobs().get_job(&owner, job).await.unwrap();
                let result = app.jobs().revive(&member, job).await;
                if result.is_ok() {
                    assert!(available >= FEE, "re-held {FEE} with {available} available");
                    let copies = i64::from(before.job.copies);
                    assert!(used + copies <= self.limit, "revived past the allowance");
                }
                result.map(drop)
            }
            Op::TopUp(amount) | Op::Adjust(amount) => {
                let movement = Movement {
                    amount_minor: *amount,
                    reason: "test".into(),
                    job_id: None,
                };
                let billing = app.billing();
                match op {
                    Op::TopUp(_) => billing.top_up(&owner, self.member.member, movement).await,
                    _ => billing.adjust(&owner, self.member.member, movement).await,
                }
                .map(drop)
            }
            Op::Refund(i, amount) => {
                let Some(job) = self.job(*i) else { return };
                let movement = Movement {
                    amount_minor: *amount,
                    reason: "test".into(),
                    job_id: Some(job),
                };
                app.billing()
                    .refund(&owner, self.member.member, movement)
                    .await
                    .map(drop)
            }
            Op::SetPrintLimit(_) => Ok(()),
        };
        if let Err(error) = outcome {
            let expected = [
                ErrorCode::QuotaExceeded,
                ErrorCode::InsufficientBalance,
                ErrorCode::InvalidTransition,
                ErrorCode::InvalidField,
                ErrorCode::NotApprovable,
            ];
            assert!(
                expected.contains(&error.code()),
                "{op:?} failed unexpectedly: {error}"
            );
        }
        let ((balance, held, available), (sum, holds)) = self.money().await;
        assert_eq!(
            (balance, held),
            (sum, holds),
            "the ledger sums to the balance"
        );
        assert_eq!(available, balance - held);
        let (expected_held, expected_copies) = self.expected().await;
        assert_eq!(held, expected_held, "held is what waiting jobs hold");
        assert_eq!(self.prints_used().await, expected_copies);
        for id in &self.jobs {
            let view = app.jobs().get_job(&owner, *id).await.unwrap();
            if matches!(view.job.state, JobState::Cancelled | JobState::Rejected) {
                let cost = view.cost.unwrap();
                assert_eq!(cost.final_cost.map(|c| c.total_minor), Some(0));
            }
        }
    }
}

async fn run(backend: Backend, ops: Vec<Op>) {
    let mut world = World::open(backend).await;
    for op in &ops {
        world.step(op).await;
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn any_interleaving_keeps_ledger_and_quotas_consistent_on_sqlite(
        ops in proptest::collection::vec(op(), 1..30)
    ) {
        runtime().block_on(run(Backend::Sqlite, ops));
    }

    #[test]
    fn any_interleaving_keeps_ledger_and_quotas_consistent_on_postgres(
        ops in proptest::collection::vec(op(), 1..30)
    ) {
        runtime().block_on(run(Backend::Postgres, ops));
    }
}
