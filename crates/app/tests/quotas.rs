//! Quotas and money under any interleaving of what members and managers do: a property test
//! over random sequences of submissions, approvals, rejections, cancellations, revivals (of
//! jobs that never printed), top-ups, adjustments, refunds, lowered allowances, changes of the
//! failed-print policy, and jobs starting, completing, failing and being cancelled on a
//! simulated printer, on both databases. After every step the ledger sums to the balance, what is held is exactly the
//! estimates of the jobs still waiting or printing, every hold was released exactly once when
//! its job ended (and charged at most once), no hold was placed that the available balance did
//! not cover and nothing but an adjustment took the available balance below zero, no job was
//! accepted past its allowance, and the prints counted are those waiting plus those that
//! printed.
//!
//! The printer is driven a step at a time: its supervisor does not poll on its own (the test
//! observes it), and a print begins paused (as by a filament runout) so that it ends only when
//! the test resumes it (completion) or injects a printer error (failure).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use app::{
    Decision, ErrorCode, Fault, LiveStatus, Movement, PrinterModelInput, QuotaLevel, SubmitJob,
    UpdateBilling, UploadFile,
};
use common::{Lab, Person};
use domain::money::{FailedPrintCharge, LedgerKind, Price};
use domain::quotas::{Allowance, QuotaKind, QuotaPeriod};
use domain::{
    FileId, JobId, JobState, JobTarget, PrinterId, PrinterModelId, PrinterState, Timestamp,
};
use printers::Driver;
use proptest::prelude::*;
use testkit::Backend;

const CUBE: &[u8] = include_bytes!("../fixtures/demo/calibration_cube.gcode");
/// Each job costs a flat 1.00.
const FEE: i64 = 100;

#[derive(Debug, Clone)]
enum Op {
    Submit {
        copies: i32,
    },
    Approve(usize),
    Reject(usize),
    Cancel(usize),
    Revive(usize),
    TopUp(i64),
    Adjust(i64),
    Refund(usize, i64),
    SetPrintLimit(i64),
    SetFailedPrintCharge(FailedPrintCharge),
    /// The dispatcher starts the next job that fits on the printer, if it is free.
    Start,
    /// The print on the printer runs to its end.
    Complete,
    /// The printer reports an error mid-print.
    Fail,
    /// Someone cancels the print at the printer.
    CancelPrint,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (1..=2_i32).prop_map(|copies| Op::Submit { copies }),
        3 => (0..8_usize).prop_map(Op::Approve),
        1 => (0..8_usize).prop_map(Op::Reject),
        2 => (0..8_usize).prop_map(Op::Cancel),
        1 => (0..8_usize).prop_map(Op::Revive),
        2 => (1..400_i64).prop_map(Op::TopUp),
        1 => (-150..150_i64).prop_map(Op::Adjust),
        1 => ((0..8_usize), (1..200_i64)).prop_map(|(i, a)| Op::Refund(i, a)),
        1 => (0..8_i64).prop_map(Op::SetPrintLimit),
        1 => prop_oneof![
            Just(FailedPrintCharge::Full),
            Just(FailedPrintCharge::Progress),
            Just(FailedPrintCharge::Nothing),
        ]
        .prop_map(Op::SetFailedPrintCharge),
        3 => Just(Op::Start),
        2 => Just(Op::Complete),
        1 => Just(Op::Fail),
        1 => Just(Op::CancelPrint),
    ]
}

/// Sequences of steps; half of them begin with credit for three jobs, so that jobs get as far
/// as a printer more often.
fn ops() -> impl Strategy<Value = Vec<Op>> {
    (proptest::bool::ANY, proptest::collection::vec(op(), 1..40)).prop_map(|(funded, mut ops)| {
        if funded {
            ops.insert(0, Op::TopUp(3 * FEE));
        }
        ops
    })
}

/// A job on a printer, a copy of it under way.
fn on_printer(state: JobState) -> bool {
    matches!(
        state,
        JobState::Printing | JobState::Paused | JobState::Unknown
    )
}

struct World {
    lab: Lab,
    member: Person,
    file: FileId,
    model: PrinterModelId,
    jobs: Vec<JobId>,
    limit: i64,
    printer: PrinterId,
    /// Jobs a print of which began (in any of their lives).
    began: BTreeSet<JobId>,
    /// Jobs whose last end was the cancellation of a copy under way.
    cancelled_mid_print: BTreeSet<JobId>,
    /// The prints each job's earlier lives count: a job revived after it printed keeps them
    /// beside what its new life holds.
    earlier_lives: BTreeMap<JobId, i64>,
}

impl World {
    async fn open(backend: Backend) -> World {
        // Supervision is driven by the test, one observation at a time.
        let lab = Lab::open_with(backend, |settings| {
            settings.live.poll_interval = Duration::from_secs(24 * 3600);
        })
        .await;
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
        // A print takes about half a second: the longest heat-up at the highest speed.
        let mut settings = serde_json::Map::new();
        settings.insert("speed".into(), serde_json::json!(10_000.0));
        settings.insert("heat_up_s".into(), serde_json::json!(3_600.0));
        let printer = lab
            .app
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
                    settings,
                    credential: None,
                },
            )
            .await
            .unwrap()
            .id;
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
            printer,
            began: BTreeSet::new(),
            earlier_lives: BTreeMap::new(),
            cancelled_mid_print: BTreeSet::new(),
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

    /// Per job: its holds, releases and charges in the ledger, and what it holds.
    async fn ledger_by_job(&self) -> BTreeMap<JobId, (i64, i64, i64, i64)> {
        let owner = self.lab.actor(&self.lab.owner).await;
        let billing = self.lab.app.billing();
        let mut by_job: BTreeMap<JobId, (i64, i64, i64, i64)> = BTreeMap::new();
        let mut cursor = None;
        loop {
            let page = billing
                .ledger(&owner, self.member.member, cursor, Some(50))
                .await
                .unwrap();
            for entry in &page.entries {
                let Some(job) = entry.job_id else { continue };
                let counts = by_job.entry(job).or_default();
                match entry.kind {
                    LedgerKind::Hold => counts.0 += 1,
                    LedgerKind::Release => counts.1 += 1,
                    LedgerKind::Charge => {
                        counts.2 += 1;
                        assert_eq!(entry.amount_minor, -FEE, "a charge is the flat fee");
                    }
                    _ => {}
                }
                counts.3 += entry.hold_minor;
            }
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => return by_job,
            }
        }
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

    /// What the jobs still waiting or printing hold, and the prints all jobs count, by reading
    /// each job: what its earlier lives counted, and in its current life: waiting or printing,
    /// its copies; once ended, the copies it attempted (those completed, and the one under way
    /// when it failed or was cancelled at the printer); rejected or cancelled before printing,
    /// nothing.
    async fn expected(&self) -> (i64, i64) {
        let owner = self.lab.actor(&self.lab.owner).await;
        let (mut held, mut copies) = (0, 0);
        for id in &self.jobs {
            let view = self.lab.app.jobs().get_job(&owner, *id).await.unwrap();
            if !view.job.state.is_finished() {
                held += view.cost.as_ref().unwrap().estimate.total_minor;
            }
            copies += self.earlier_lives.get(id).copied().unwrap_or(0);
            copies += self.counted_in_this_life(*id, &view.job);
        }
        (held, copies)
    }

    /// The prints a job counts in its current life (see [`World::expected`]).
    fn counted_in_this_life(&self, id: JobId, job: &domain::Job) -> i64 {
        let done = i64::from(job.copies_done);
        match job.state {
            _ if !job.state.is_finished() => i64::from(job.copies),
            JobState::Completed => done,
            JobState::Failed => done + 1,
            JobState::Cancelled if self.began.contains(&id) => {
                done + i64::from(self.cancelled_mid_print.contains(&id))
            }
            _ => 0,
        }
    }

    /// The running usage sums (per quarter of an hour) that the quota checks read are what the
    /// member's usage rows add up to, over all time and over this week; the running count of
    /// their active jobs is how many of their jobs have not ended.
    async fn running_sums_agree_with_rows(&self) {
        let org = self.lab.org;
        let member = self.member.member;
        let mut conn = self.lab.app.store().read().await.unwrap();
        let now = domain::Clock::now(self.lab.clock.as_ref());
        let week_ago =
            Timestamp::from_micros(now.micros() - now.micros() % 900_000_000 - 7 * 86_400_000_000);
        let week_on = Timestamp::from_micros(week_ago.micros() + 14 * 86_400_000_000);
        for (start, end) in [
            (
                Timestamp::from_micros(0),
                Timestamp::from_micros(4_102_444_800_000_000),
            ),
            (week_ago, week_on),
        ] {
            let (kept, _) = store::member_usage_in(
                &mut conn,
                org,
                member,
                &[(start, end)],
                store::Counting::All,
                None,
                false,
            )
            .await
            .unwrap();
            let summed = store::member_usage_from_rows(&mut conn, org, member, start, end)
                .await
                .unwrap();
            assert_eq!(
                kept,
                vec![summed],
                "running usage sums from {start:?} to {end:?}"
            );
        }
        let active = store::count_active_jobs(&mut conn, org, member, store::Counting::All, None)
            .await
            .unwrap();
        let mut waiting = 0;
        for id in &self.jobs {
            let job = store::get_job(&mut conn, org, *id).await.unwrap().unwrap();
            waiting += i64::from(!job.state.is_finished());
        }
        assert_eq!(active, waiting, "the running count of active jobs");
    }

    /// One observation of the printer by its supervisor.
    async fn observe(&self) -> LiveStatus {
        self.lab
            .app
            .observe_printer_now(self.printer)
            .await
            .unwrap()
            .expect("the printer is supervised")
    }

    /// The job on the printer, if a copy of one is under way.
    async fn printing(&self) -> Option<JobId> {
        let owner = self.lab.actor(&self.lab.owner).await;
        for id in &self.jobs {
            let view = self.lab.app.jobs().get_job(&owner, *id).await.unwrap();
            if on_printer(view.job.state) {
                return Some(*id);
            }
        }
        None
    }

    /// The printer made ready for the next job, as an operator would: reconnected after an
    /// error, its plate confirmed clear after a print ended.
    async fn ready_printer(&self) -> LiveStatus {
        let app = &self.lab.app;
        let mut live = self.observe().await;
        if live.state == PrinterState::Error {
            let printer = app.supervisors().get(self.printer).unwrap();
            printer.driver().connect().await.unwrap();
            live = self.observe().await;
        }
        if live.bed_clear_pending {
            let owner = self.lab.actor(&self.lab.owner).await;
            live = app
                .control()
                .confirm_bed_clear(&owner, self.printer)
                .await
                .unwrap();
        }
        live
    }

    /// The dispatcher starts what fits on the printer; the print begins paused (a filament
    /// runout) so that it ends only when a step ends it. Farmhand's clock runs a minute.
    async fn start(&mut self) {
        let live = self.ready_printer().await;
        if live.state != PrinterState::Idle {
            return;
        }
        self.lab.app.dispatch_once().await.unwrap();
        let printer = self.lab.app.supervisors().get(self.printer).unwrap();
        printer
            .driver()
            .as_simulated()
            .unwrap()
            .inject(Fault::Pause);
        self.lab.clock.advance_seconds(60);
        self.observe().await;
        if let Some(job) = self.printing().await {
            self.began.insert(job);
        }
    }

    /// The print under way runs to its end.
    async fn complete(&self) {
        let live = self.observe().await;
        if live.state != PrinterState::Paused {
            return;
        }
        let owner = self.lab.actor(&self.lab.owner).await;
        self.lab
            .app
            .control()
            .resume_print(&owner, self.printer)
            .await
            .unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let live = self.observe().await;
            if live.state != PrinterState::Printing {
                assert_eq!(live.state, PrinterState::AwaitingBedClear, "{live:?}");
                return;
            }
            assert!(tokio::time::Instant::now() < deadline, "never ended");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
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
            Op::SetFailedPrintCharge(policy) => {
                let change = UpdateBilling {
                    hold_at: None,
                    failed_print_charge: Some(*policy),
                    balance_floor_minor: None,
                };
                app.billing()
                    .update_settings(&owner, change)
                    .await
                    .map(drop)
            }
            Op::Start => {
                self.start().await;
                Ok(())
            }
            Op::Complete => {
                self.complete().await;
                Ok(())
            }
            Op::Fail | Op::CancelPrint => {
                let Some(job) = self.printing().await else {
                    return;
                };
                let control = app.control();
                let ended = match op {
                    Op::Fail => {
                        let fault = Fault::Fail {
                            message: "nozzle clog".into(),
                        };
                        control.simulate_fault(&owner, self.printer, fault).await
                    }
                    _ => control.cancel_print(&owner, self.printer).await,
                };
                ended.unwrap();
                let view = app.jobs().get_job(&owner, job).await.unwrap();
                let to = if matches!(op, Op::Fail) {
                    JobState::Failed
                } else {
                    self.cancelled_mid_print.insert(job);
                    JobState::Cancelled
                };
                assert_eq!(view.job.state, to, "{op:?}");
                Ok(())
            }
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
                let result = app.jobs().cancel(&member, job).await;
                if result.is_ok() {
                    self.cancelled_mid_print.remove(&job);
                }
                result.map(drop)
            }
            Op::Revive(i) => {
                let Some(job) = self.job(*i) else { return };
                let before = app.jobs().get_job(&owner, job).await.unwrap();
                let result = app.jobs().revive(&member, job).await;
                if result.is_ok() {
                    // What the ended life counted stays counted (and charged) beside the new.
                    let ended = self.counted_in_this_life(job, &before.job);
                    *self.earlier_lives.entry(job).or_default() += ended;
                    self.cancelled_mid_print.remove(&job);
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
        let app = &self.lab.app;
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
        let ((balance, held, available_after), (sum, holds)) = self.money().await;
        if !matches!(op, Op::Adjust(_)) {
            assert!(
                available_after >= available.min(0),
                "{op:?} took the available balance from {available} to {available_after}"
            );
        }
        let available = available_after;
        assert_eq!(
            (balance, held),
            (sum, holds),
            "the ledger sums to the balance"
        );
        assert_eq!(available, balance - held);
        self.running_sums_agree_with_rows().await;
        let (expected_held, expected_copies) = self.expected().await;
        assert_eq!(held, expected_held, "held is what waiting jobs hold");
        assert_eq!(self.prints_used().await, expected_copies);
        let by_job = self.ledger_by_job().await;
        for id in &self.jobs {
            let view = app.jobs().get_job(&owner, *id).await.unwrap();
            let printed = self.began.contains(id);
            if matches!(view.job.state, JobState::Cancelled | JobState::Rejected) && !printed {
                let cost = view.cost.as_ref().unwrap();
                assert_eq!(cost.final_cost.as_ref().map(|c| c.total_minor), Some(0));
            }
            let (holds, releases, charges, holding) = by_job.get(id).copied().unwrap_or_default();
            if view.job.state.is_finished() {
                assert_eq!(
                    (holds, holding),
                    (releases, 0),
                    "job {id} ended: each of its holds released once"
                );
            } else {
                let estimate = view.cost.as_ref().unwrap().estimate.total_minor;
                assert_eq!(
                    (holds, holding),
                    (releases + 1, estimate),
                    "job {id} waits or prints: it holds its estimate once"
                );
            }
            assert!(
                charges <= releases,
                "job {id} charged more than once per hold"
            );
            if !printed {
                assert_eq!(charges, 0, "job {id} never printed but was charged");
            }
        }
    }
}

async fn run(backend: Backend, ops: Vec<Op>) -> World {
    let mut world = World::open(backend).await;
    for op in &ops {
        world.step(op).await;
    }
    world
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
        ops in ops()
    ) {
        runtime().block_on(run(Backend::Sqlite, ops));
    }

    #[test]
    fn any_interleaving_keeps_ledger_and_quotas_consistent_on_postgres(
        ops in ops()
    ) {
        runtime().block_on(run(Backend::Postgres, ops));
    }
}

/// A sequence through the printer (approved jobs starting, completing, failing, cancelled at
/// the printer and between copies, under each failed-print policy), checked as above.
fn through_the_printer() -> Vec<Op> {
    use Op::*;
    vec![
        SetPrintLimit(7),
        TopUp(399),
        TopUp(399),
        Submit { copies: 1 },
        Approve(0),
        Start,
        Complete,
        Submit { copies: 2 },
        Approve(1),
        Start,
        Complete,
        Start,
        Fail,
        // Cancelled while it waits for its second copy: it counts and costs the first only.
        Submit { copies: 2 },
        Approve(2),
        Start,
        Complete,
        Cancel(2),
        Submit { copies: 1 },
        Approve(3),
        Start,
        CancelPrint,
        SetFailedPrintCharge(FailedPrintCharge::Nothing),
        Submit { copies: 1 },
        Approve(4),
        Start,
        Fail,
        SetFailedPrintCharge(FailedPrintCharge::Progress),
        Submit { copies: 1 },
        Approve(5),
        Start,
        Fail,
    ]
}

/// Runs [`through_the_printer`] and checks where each job ended: state, copies completed and
/// final cost.
async fn run_through_the_printer(backend: Backend) {
    let world = run(backend, through_the_printer()).await;
    let owner = world.lab.actor(&world.lab.owner).await;
    let mut ended = Vec::new();
    for id in &world.jobs {
        let view = world.lab.app.jobs().get_job(&owner, *id).await.unwrap();
        let charged = view.cost.unwrap().final_cost.map(|c| c.total_minor);
        ended.push((view.job.state, view.job.copies_done, charged));
    }
    use JobState::*;
    assert_eq!(
        ended,
        [
            (Completed, 1, Some(FEE)),
            (Failed, 1, Some(FEE)),
            (Cancelled, 1, Some(FEE)),
            (Cancelled, 0, Some(FEE)),
            (Failed, 0, Some(0)),
            (Failed, 0, Some(FEE)),
        ]
    );
    // 1 + 2 attempted + 1 completed + 1 cancelled mid-print + 2 failed.
    assert_eq!(world.prints_used().await, 7);
    let ((balance, held, _), _) = world.money().await;
    assert_eq!((balance, held), (798 - 5 * FEE, 0));
}

#[test]
fn a_sequence_through_the_printer_keeps_ledger_and_quotas_consistent_on_sqlite() {
    runtime().block_on(run_through_the_printer(Backend::Sqlite));
}

#[test]
fn a_sequence_through_the_printer_keeps_ledger_and_quotas_consistent_on_postgres() {
    runtime().block_on(run_through_the_printer(Backend::Postgres));
}
