//! The dispatcher: queued jobs reach printers by themselves.
//!
//! One pass ([`App::dispatch_once`]) looks at the printers that are free (idle, not in
//! maintenance, their plate clear) and, organization by organization, at the queued jobs in the
//! order they are taken (priority, then their place in line). Each job gets the first free
//! printer that may take it: one its target names (or the one its approver chose), whose model
//! suits the file, on which the job's owner may queue. The job is claimed (`queued` to
//! `assigned`, a compare-and-set, so no other pass takes it too), its file goes to the printer
//! through the printer's driver and starts, and the job is `printing`; from there it follows
//! its print ([`crate::jobs::follow_print_end`]). A printer that refuses the file sends the job
//! back in line with the printer's message. A printing job with copies left takes further free
//! printers in its place in line: each copy is claimed in one statement
//! ([`store::claim_copy`]) before its file goes out, so no copy prints twice.
//!
//! The server loops the pass ([`App::run_dispatcher`]); tests drive it one pass at a time.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::Arc;
use std::time::Duration;

use authz::{AccessLevel, Permission, Policy};
use domain::{
    Job, JobId, JobState, JobStep, MemberId, OrgId, PrinterId, PrinterModel, PrinterModelId,
    PrinterState, Reservation, ReservationFor,
};
use serde_json::json;
use tokio::sync::watch;

use crate::App;
use crate::error::AppResult;
use crate::jobs::{FileFacts, SystemStep};
use crate::supervision::LivePrinter;

/// What one pass did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Outcome {
    /// The jobs started, each with its printer.
    pub started: Vec<(JobId, PrinterId)>,
    /// The jobs a printer refused (back in line), each with the printer and its message.
    pub refused: Vec<(JobId, PrinterId, String)>,
    /// The jobs matched to a printer whose jobs are started by hand: they wait `assigned`.
    pub assigned: Vec<(JobId, PrinterId)>,
}

/// How many queued jobs of one organization a pass considers: those further back wait for the
/// next pass (one every [`PASS_INTERVAL`] at most).
const JOBS_PER_PASS: u32 = 500;

/// How often the dispatcher looks again without being woken.
const PASS_INTERVAL: Duration = Duration::from_secs(1);

impl App {
    /// One pass of the dispatcher.
    pub async fn dispatch_once(&self) -> AppResult<Outcome> {
        // One pass at a time in this process: two would match two jobs to one free printer.
        let _pass = self.inner.dispatch_pass.lock().await;
        let mut outcome = Outcome::default();
        for (org, mut free) in self.free_printers() {
            self.dispatch_in(org, &mut free, &mut outcome).await?;
        }
        Ok(outcome)
    }

    /// Runs passes until `stop` turns true: one every [`PASS_INTERVAL`], and one as soon as
    /// something wakes the dispatcher (a job queued, a plate cleared). A failed pass is logged
    /// and the next one tries again.
    pub async fn run_dispatcher(&self, mut stop: watch::Receiver<bool>) {
        loop {
            if let Err(error) = self.dispatch_once().await {
                tracing::warn!(%error, "dispatch pass failed");
            }
            tokio::select! {
                _ = stop.wait_for(|stop| *stop) => return,
                () = self.inner.dispatch_wake.notified() => {}
                () = tokio::time::sleep(PASS_INTERVAL) => {}
            }
        }
    }

    /// Asks for a dispatch pass now (a job became queued, a printer became free).
    pub(crate) fn wake_dispatcher(&self) {
        self.inner.dispatch_wake.notify_one();
        self.instance().share_wake();
    }

    /// The printers that can take a job now, by organization.
    fn free_printers(&self) -> HashMap<OrgId, Vec<Arc<LivePrinter>>> {
        let mut free: HashMap<OrgId, Vec<Arc<LivePrinter>>> = HashMap::new();
        for printer in self.supervisors().all() {
            let status = printer.status();
            // A print just started shows once the printer reports it; until then the
            // printer's track holds it (or is busy starting it).
            let starting = printer.track.try_lock().map_or(true, |t| t.print.is_some());
            if status.state == PrinterState::Idle
                && !status.maintenance
                && !status.bed_clear_pending
                && !starting
            {
                free.entry(printer.org).or_default().push(printer);
            }
        }
        for printers in free.values_mut() {
            printers.sort_by_key(|p| p.id);
        }
        free
    }

    async fn dispatch_in(
        &self,
        org: OrgId,
        free: &mut Vec<Arc<LivePrinter>>,
        outcome: &mut Outcome,
    ) -> AppResult<()> {
        let policy = self.current_policy(org).await?;
        let (assigned, queued, models, by_hand) = {
            let mut conn = self.store().read().await?;
            let assigned = store::assigned_jobs(&mut conn, org).await?;
            let mut queued = store::queued_jobs(&mut conn, org, JOBS_PER_PASS).await?;
            // Printing jobs with copies left take free printers in their place in line too.
            let copies_left = store::jobs_with_copies_left(&mut conn, org).await?;
            if !copies_left.is_empty() {
                queued.extend(copies_left.into_iter().map(|job| Job {
                    printer_id: None,
                    ..job
                }));
                queued.sort_by_key(|job| {
                    (std::cmp::Reverse(job.priority), job.queue_position, job.id)
                });
            }
            let settings = store::get_org(&mut conn, org).await?;
            if let Some(settings) = settings.filter(|o| o.fair_share) {
                let now = self.now();
                let window_s = i64::from(settings.fair_share_window_days) * 86_400;
                let since = now.plus_seconds(-window_s);
                let printed = store::printing_time_by_owner(&mut conn, org, since, now).await?;
                fair_share_order(&mut queued, &printed);
            }
            let models = models_by_id(&mut conn, org).await?;
            let by_hand = store::printers_started_by_hand(&mut conn, org).await?;
            (assigned, queued, models, by_hand)
        };
        let now = self.now();
        let staffing = Staffing::load(&mut *self.store().read().await?, org).await?;
        let reserved: HashMap<PrinterId, Reservation> = {
            let mut conn = self.store().read().await?;
            store::active_reservations(&mut conn, org, self.now())
                .await?
                .into_iter()
                .map(|r| (r.printer_id, r))
                .collect()
        };
        // A printer a job is already matched to takes that job first: started here when the
        // printer auto-starts, otherwise left for someone to start.
        for job in assigned {
            let Some(index) = free.iter().position(|p| Some(p.id) == job.printer_id) else {
                continue;
            };
            let printer = free.remove(index);
            if !by_hand.contains(&printer.id) {
                self.start_assigned(&job, &printer, outcome).await;
            }
        }
        let mut facts: HashMap<domain::FileId, Option<FileFacts>> = HashMap::new();
        for job in queued {
            if free.is_empty() {
                break;
            }
            if let Entry::Vacant(slot) = facts.entry(job.file_id) {
                let mut conn = self.store().read().await?;
                slot.insert(file_facts(&mut conn, org, job.file_id).await?);
            }
            let Some(Some(file)) = facts.get(&job.file_id) else {
                continue;
            };
            let another_copy = job.state == JobState::Printing;
            let takes = |printer: &LivePrinter| {
                // Another copy goes only where it starts by itself.
                if another_copy && by_hand.contains(&printer.id) {
                    return false;
                }
                let held_for_others = reserved
                    .get(&printer.id)
                    .is_some_and(|r| !reserved_for(&policy, r, job.owner_member_id));
                !held_for_others
                    && placed(&policy, printer.id).is_some_and(|placed| {
                        may_take(&policy, &job, placed)
                            && placed
                                .model
                                .and_then(|m| models.get(&m))
                                .is_none_or(|model| file.suits(model).is_ok())
                            && staffing
                                .refuses(&policy, &job, placed.site, file.estimated_s(), now)
                                .is_none()
                    })
            };
            let Some(index) = free.iter().position(|p| takes(p)) else {
                continue;
            };
            if another_copy {
                let printer = Arc::clone(&free[index]);
                if self.start_another_copy(&job, &printer, outcome).await {
                    free.remove(index);
                }
                continue;
            }
            // Allowances may have been lowered since it was submitted: a job that no longer
            // fits beside what has started waits (why-not-printing says `quota_exhausted`).
            match crate::quotas::blocks_start(self, &policy, &job).await {
                Ok(None) => {}
                Ok(Some(_)) => continue,
                Err(error) => {
                    tracing::warn!(job = %job.id, %error, "quota check failed");
                    continue;
                }
            }
            let printer = Arc::clone(&free[index]);
            let claimed = match self.claim(&job, &printer).await {
                Ok(claimed) => claimed,
                Err(error) => {
                    tracing::warn!(job = %job.id, printer = %printer.id, %error, "dispatch failed");
                    continue;
                }
            };
            let Some(claimed) = claimed else {
                // Another pass (another instance's) took the job first: the printer stays free
                // for the next job in line instead of waiting for the next pass.
                continue;
            };
            free.remove(index);
            if by_hand.contains(&printer.id) {
                outcome.assigned.push((job.id, printer.id));
            } else {
                self.start_assigned(&claimed, &printer, outcome).await;
            }
        }
        Ok(())
    }

    /// Matches a queued job to the printer (`queued` to `assigned`, only if it is still
    /// queued: no other pass takes it too). `None`: it changed meanwhile.
    async fn claim(&self, job: &Job, printer: &LivePrinter) -> AppResult<Option<Job>> {
        let claim = SystemStep {
            job: job.id,
            step: JobStep::Assigned,
            from: JobState::Queued,
            to: JobState::Assigned,
            reason: None,
            printer: Some(printer.id),
            detail: json!({ "printer_id": printer.id }),
            by: None,
        };
        if !self.take_system_step(job.org_id, &claim).await? {
            return Ok(None);
        }
        Ok(Some(Job {
            state: JobState::Assigned,
            printer_id: Some(printer.id),
            ..job.clone()
        }))
    }

    /// Claims another copy of a printing job and starts it on a second printer; a copy that
    /// does not start is given back for the next pass. Returns whether the printer was used
    /// (false: no copy was left to claim, and the printer stays free).
    async fn start_another_copy(
        &self,
        job: &Job,
        printer: &LivePrinter,
        outcome: &mut Outcome,
    ) -> bool {
        let org = job.org_id;
        let claimed = async {
            let mut uow = self.begin_unattributed().await?;
            let claimed = store::claim_copy(uow.conn(), org, job.id).await?;
            uow.commit().await?;
            AppResult::Ok(claimed)
        };
        match claimed.await {
            Ok(true) => {}
            Ok(false) => return false,
            Err(error) => {
                tracing::warn!(job = %job.id, %error, "claiming a copy failed");
                return false;
            }
        }
        let Err(error) = self.control().start_copy_print(printer, job).await else {
            outcome.started.push((job.id, printer.id));
            self.inner.dispatch_wake.notify_one();
            return true;
        };
        tracing::info!(job = %job.id, printer = %printer.id, %error, "another copy did not start");
        let released = async {
            let mut uow = self.begin_unattributed().await?;
            store::release_copy(uow.conn(), org, job.id).await?;
            uow.commit().await
        };
        if let Err(error) = released.await {
            tracing::warn!(job = %job.id, %error, "giving a copy back failed");
        }
        outcome
            .refused
            .push((job.id, printer.id, error.to_string()));
        true
    }

    /// Starts an assigned job on its printer and notes the outcome; a failure is logged and
    /// the next pass tries again.
    async fn start_assigned(&self, job: &Job, printer: &LivePrinter, outcome: &mut Outcome) {
        match self.start_job(job, printer, None).await {
            Ok(Ok(())) => {
                // Dispatchable since its last change (queued, approved, or matched).
                let waited_s = (self.now().micros() - job.updated_at.micros()) as f64 / 1e6;
                self.metrics().observe_dispatch_latency(waited_s);
                outcome.started.push((job.id, printer.id));
                if job.copies > 1 {
                    // Its other copies may go to other free printers at once.
                    self.inner.dispatch_wake.notify_one();
                }
            }
            Ok(Err(message)) => outcome.refused.push((job.id, printer.id, message)),
            Err(error) => {
                tracing::warn!(job = %job.id, printer = %printer.id, %error, "dispatch failed");
            }
        }
    }

    /// Starts an assigned job on its printer. `Ok(Err(message))`: the printer refused it, and
    /// the job is back in line (still for that printer only if its approver chose it).
    pub(crate) async fn start_job(
        &self,
        job: &Job,
        printer: &LivePrinter,
        by: Option<&crate::OrgActor>,
    ) -> AppResult<Result<(), String>> {
        let Err(error) = self.control().start_job_print(printer, job, by).await else {
            return Ok(Ok(()));
        };
        let message = error.to_string();
        let back = SystemStep {
            job: job.id,
            step: JobStep::Unassigned,
            from: JobState::Assigned,
            to: JobState::Queued,
            reason: Some(&message),
            printer: None,
            detail: json!({ "printer_id": printer.id }),
            by: None,
        };
        // When the print was recorded before the printer refused to start it, the job followed
        // it (to `failed`) and is no longer assigned: then nothing moves here.
        let mut uow = self.begin_unattributed().await?;
        if crate::jobs::take_system_step(&mut uow, job.org_id, &back).await? {
            crate::jobs::back_in_line(uow.conn(), job.org_id, job.id).await?;
        }
        uow.commit().await?;
        Ok(Err(message))
    }
}

/// The organization's printer models by ID.
async fn models_by_id(
    conn: &mut store::Conn,
    org: OrgId,
) -> AppResult<HashMap<PrinterModelId, PrinterModel>> {
    let models = store::list_printer_models(conn, org).await?;
    Ok(models.into_iter().map(|m| (m.id, m)).collect())
}

/// What a job's file analysis says about its size, material and nozzle; `None` until the
/// analysis is ready (or for a file that is gone).
async fn file_facts(
    conn: &mut store::Conn,
    org: OrgId,
    file: domain::FileId,
) -> AppResult<Option<FileFacts>> {
    let analysis = store::job_file(conn, org, file)
        .await?
        .and_then(|f| f.analysis);
    analysis.map(|a| FileFacts::parse(&a)).transpose()
}

/// How many queued jobs the dispatcher takes before `job`: in line order, or with fair share
/// on, in fair share's order.
async fn queued_ahead(app: &App, conn: &mut store::Conn, job: &Job) -> AppResult<i64> {
    let org = job.org_id;
    let fair = store::get_org(conn, org).await?.filter(|o| o.fair_share);
    let Some(settings) = fair else {
        return Ok(store::count_queued_ahead(conn, org, job.priority, job.queue_position).await?);
    };
    let now = app.now();
    let since = now.plus_seconds(-i64::from(settings.fair_share_window_days) * 86_400);
    let printed = store::printing_time_by_owner(conn, org, since, now).await?;
    let counts = store::queued_by_owner(conn, org, job.queue_position).await?;
    Ok(fair_share_ahead(job, &counts, &printed))
}

/// [`fair_share_order`]'s count of the jobs before `job`: those of higher priority, of owners
/// who printed less at the same priority, and those before it in line among equals.
fn fair_share_ahead(
    job: &Job,
    counts: &[store::QueuedCount],
    printed: &HashMap<MemberId, i64>,
) -> i64 {
    let key = |priority: i32, owner: MemberId| {
        (
            std::cmp::Reverse(priority),
            printed.get(&owner).copied().unwrap_or(0),
        )
    };
    let mine = key(job.priority, job.owner_member_id);
    counts
        .iter()
        .map(|count| match key(count.priority, count.owner).cmp(&mine) {
            std::cmp::Ordering::Less => count.total,
            std::cmp::Ordering::Equal => count.before,
            std::cmp::Ordering::Greater => 0,
        })
        .sum()
}

/// Fair share: within each priority, the jobs of whoever has printed least over the window
/// first; between jobs of the same owner, or owners who printed as long, their order in line.
fn fair_share_order(queued: &mut [Job], printed: &HashMap<MemberId, i64>) {
    // A stable sort keeps the line's order (priority, then place) among equals.
    queued.sort_by_key(|job| {
        let owner_printed = printed.get(&job.owner_member_id).copied().unwrap_or(0);
        (std::cmp::Reverse(job.priority), owner_printed)
    });
}

/// Whether the reservation holds its printer for this member (themselves, or a workgroup of
/// theirs).
fn reserved_for(policy: &Policy, reservation: &Reservation, member: MemberId) -> bool {
    match reservation.reserved_for {
        ReservationFor::Member(reserved) => reserved == member,
        ReservationFor::Workgroup(group) => policy
            .member_ix(member)
            .is_some_and(|ix| policy.member(ix).workgroups.contains(&group)),
    }
}

/// The printer as the organization's rights place it (site, model, groups).
fn placed(policy: &Policy, printer: PrinterId) -> Option<&authz::Printer> {
    policy.printer_ix(printer).map(|ix| policy.printer(ix))
}

/// Whether the job may go to this printer: the printer its approver chose, or one its target
/// names on which its owner may queue.
fn may_take(policy: &Policy, job: &Job, printer: &authz::Printer) -> bool {
    if let Some(chosen) = job.printer_id {
        return chosen == printer.id;
    }
    job.target.matches(printer) && may_queue_on(policy, job.owner_member_id, printer.id)
}

/// What `OrgActor::may_on_printer(QueueSubmit, printer)` answers for a member who is not the
/// one asking.
fn may_queue_on(policy: &Policy, member: MemberId, printer: PrinterId) -> bool {
    let (Some(member), Some(printer)) = (policy.member_ix(member), policy.printer_ix(printer))
    else {
        return false;
    };
    let rights = policy.rights(member);
    let have = rights.level(printer);
    have > AccessLevel::None
        && rights.permissions.contains(Permission::QueueSubmit)
        && have >= policy.needed_level(Permission::QueueSubmit)
}

impl crate::jobs::Jobs<'_> {
    /// Starts a job waiting `assigned` on its printer (one whose jobs are started by hand):
    /// someone with `printer_control.start` on it, or the job's owner with print access to it.
    pub async fn start(
        &self,
        actor: &crate::OrgActor,
        id: JobId,
    ) -> AppResult<crate::jobs::JobView> {
        let job = {
            let mut conn = self.app.store().read().await?;
            crate::jobs::visible_job(&mut conn, actor, id).await?
        };
        let printer = match (job.state, job.printer_id) {
            (JobState::Assigned, Some(printer)) => printer,
            (state, _) => return Err(crate::jobs::invalid_transition(state, JobState::Printing)),
        };
        let owner_with_print_access = job.owner_member_id == actor.member_id()
            && actor.access_to(printer) >= AccessLevel::Print;
        if !owner_with_print_access {
            actor.require_on_printer(Permission::PrinterControlStart, printer)?;
        }
        let live = self.app.control().live_printer(printer).await?;
        if let Err(message) = self.app.start_job(&job, &live, Some(actor)).await? {
            return Err(crate::AppError::conflict(
                crate::ErrorCode::PrinterNotReady,
                format!("the printer did not start the job: {message}"),
            ));
        }
        self.get_job(actor, id).await
    }

    /// Matches a queued job to a printer by hand (`queue.assign_printer`): one its target
    /// names and whose model suits the file. It waits there, and starts when the printer is
    /// free (by itself, or by hand on a printer whose jobs are started by hand).
    pub async fn assign(
        &self,
        actor: &crate::OrgActor,
        id: JobId,
        printer: PrinterId,
    ) -> AppResult<crate::jobs::JobView> {
        actor.require_on_printer(Permission::QueueAssignPrinter, printer)?;
        let mut uow = self
            .app
            .begin(actor, crate::unit_of_work::Changes::Data)
            .await?;
        let org = actor.org();
        let job = crate::jobs::visible_job(uow.conn(), actor, id).await?;
        if job.state != JobState::Queued {
            return Err(crate::jobs::invalid_transition(
                job.state,
                JobState::Assigned,
            ));
        }
        let policy = uow.actor().policy.clone();
        if !placed(&policy, printer).is_some_and(|p| job.target.matches(p)) {
            return Err(crate::AppError::conflict(
                crate::ErrorCode::NoPrinterForTarget,
                format!(
                    "the printer is not one the job's target ({}) names",
                    job.target
                ),
            ));
        }
        let model = placed(&policy, printer).and_then(|p| p.model);
        if let Some(model) = model
            && let Some(model) = store::get_printer_model(uow.conn(), org, model).await?
            && let Some(analysis) = store::job_file(uow.conn(), org, job.file_id)
                .await?
                .and_then(|f| f.analysis)
            && let Err(unsuitable) = FileFacts::parse(&analysis)?.suits(&model)
        {
            return Err(crate::AppError::conflict(
                unsuitable.code,
                unsuitable.message,
            ));
        }
        let step = SystemStep {
            job: job.id,
            step: JobStep::Assigned,
            from: JobState::Queued,
            to: JobState::Assigned,
            reason: None,
            printer: Some(printer),
            detail: json!({ "printer_id": printer, "by_hand": true }),
            by: Some(actor),
        };
        if !crate::jobs::take_system_step(&mut uow, org, &step).await? {
            return Err(crate::jobs::invalid_transition(
                job.state,
                JobState::Assigned,
            ));
        }
        store::choose_printer(uow.conn(), org, job.id, printer).await?;
        uow.commit().await?;
        self.app.wake_dispatcher();
        self.get_job(actor, id).await
    }
}

/// Why a printer is not taking a job now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotTakingCode {
    Busy,
    AwaitingBedClear,
    Offline,
    Maintenance,
    Error,
    NoPrintAccess,
    DoesNotFit,
    WrongMaterial,
    WrongNozzle,
    AutoStartOff,
    Reserved,
    OutsideStaffedHours,
    BehindInQueue,
    QuotaExhausted,
}

impl NotTakingCode {
    pub fn key(self) -> &'static str {
        match self {
            NotTakingCode::Busy => "busy",
            NotTakingCode::AwaitingBedClear => "awaiting_bed_clear",
            NotTakingCode::Offline => "offline",
            NotTakingCode::Maintenance => "maintenance",
            NotTakingCode::Error => "error",
            NotTakingCode::NoPrintAccess => "no_print_access",
            NotTakingCode::DoesNotFit => "does_not_fit",
            NotTakingCode::WrongMaterial => "wrong_material",
            NotTakingCode::WrongNozzle => "wrong_nozzle",
            NotTakingCode::AutoStartOff => "auto_start_off",
            NotTakingCode::Reserved => "reserved",
            NotTakingCode::OutsideStaffedHours => "outside_staffed_hours",
            NotTakingCode::BehindInQueue => "behind_in_queue",
            NotTakingCode::QuotaExhausted => "quota_exhausted",
        }
    }
}

/// One reason, with a sentence.
#[derive(Debug, Clone, PartialEq)]
pub struct NotTaking {
    pub code: NotTakingCode,
    pub message: String,
    /// For `behind_in_queue`: how many jobs go first.
    pub jobs_ahead: Option<i64>,
}

impl NotTaking {
    fn new(code: NotTakingCode, message: impl Into<String>) -> NotTaking {
        NotTaking {
            code,
            message: message.into(),
            jobs_ahead: None,
        }
    }
}

/// A printer the job may go to, and what keeps it from taking the job now (nothing: it takes
/// the job at the dispatcher's next pass).
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub printer_id: PrinterId,
    pub printer_name: String,
    pub state: PrinterState,
    pub reasons: Vec<NotTaking>,
}

/// The answer to "why is my job not printing?".
#[derive(Debug, Clone, PartialEq)]
pub struct WhyNotPrinting {
    pub job: Job,
    /// The printers its target names (or the one its approver chose) that the asker may see.
    pub candidates: Vec<Candidate>,
    /// Those the asker may not see, only counted.
    pub hidden_candidates: usize,
    /// In one sentence.
    pub summary: String,
}

impl crate::jobs::Jobs<'_> {
    /// For a queued or assigned job the actor may see: each printer that could take it and why
    /// it does not now.
    pub async fn why_not_printing(
        &self,
        actor: &crate::OrgActor,
        id: JobId,
    ) -> AppResult<WhyNotPrinting> {
        let app = self.app;
        let org = actor.org();
        let mut conn = app.store().read().await?;
        let job = crate::jobs::visible_job(&mut conn, actor, id).await?;
        if !matches!(job.state, JobState::Queued | JobState::Assigned) {
            return Err(crate::AppError::conflict(
                crate::ErrorCode::JobNotWaiting,
                format!("the job is {}, not waiting for a printer", job.state),
            ));
        }
        let policy = app.current_policy(org).await?;
        let models = models_by_id(&mut conn, org).await?;
        let facts = file_facts(&mut conn, org, job.file_id).await?;
        let ahead = if job.state == JobState::Queued {
            queued_ahead(app, &mut conn, &job).await?
        } else {
            0
        };
        let printers = store::list_printers(&mut conn, org).await?;
        let reservations = store::active_reservations(&mut conn, org, app.now()).await?;
        let staffing = Staffing::load(&mut conn, org).await?;
        drop(conn);
        let quota = if job.state == JobState::Queued {
            crate::quotas::blocks_start(app, &policy, &job).await?
        } else {
            None
        };
        let mut candidates = Vec::new();
        let mut hidden_candidates = 0;
        for printer in printers {
            let Some(placed) = placed(&policy, printer.id) else {
                continue;
            };
            let names_it = match job.printer_id {
                Some(chosen) => chosen == printer.id,
                None => job.target.matches(placed),
            };
            if !names_it {
                continue;
            }
            if !actor.can_see_printer(printer.id) {
                hidden_candidates += 1;
                continue;
            }
            let live = app.supervisors().status(printer.id);
            let mut reasons = Vec::new();
            reasons.extend(live_reason(live.as_ref()));
            if job.printer_id.is_none() && !may_queue_on(&policy, job.owner_member_id, printer.id) {
                reasons.push(NotTaking::new(
                    NotTakingCode::NoPrintAccess,
                    "the job's owner may not print on this printer",
                ));
            }
            if let Some(reservation) = reservations.iter().find(|r| r.printer_id == printer.id)
                && !reserved_for(&policy, reservation, job.owner_member_id)
            {
                reasons.push(NotTaking::new(
                    NotTakingCode::Reserved,
                    format!(
                        "reserved for someone else until {}",
                        reservation.ends_at.to_rfc3339()
                    ),
                ));
            }
            if let (Some(facts), Some(model)) = (&facts, placed.model.and_then(|m| models.get(&m)))
                && let Err(unsuitable) = facts.suits(model)
            {
                reasons.push(unsuitable_reason(unsuitable));
            }
            if let Some(facts) = &facts
                && let Some(reason) =
                    staffing.refuses(&policy, &job, placed.site, facts.estimated_s(), app.now())
            {
                reasons.push(reason);
            }
            if let Some(sentence) = &quota {
                reasons.push(NotTaking::new(
                    NotTakingCode::QuotaExhausted,
                    format!("the job no longer fits its owner's allowance: {sentence}"),
                ));
            }
            if reasons.is_empty() && !printer.auto_start {
                reasons.push(NotTaking::new(
                    NotTakingCode::AutoStartOff,
                    "jobs on this printer are started by hand: someone with \"Start prints\" \
                     (or the job's owner, with print access) starts it",
                ));
            }
            if reasons.is_empty() && ahead > 0 {
                reasons.push(NotTaking {
                    code: NotTakingCode::BehindInQueue,
                    message: format!("{ahead} job(s) ahead in line go first"),
                    jobs_ahead: Some(ahead),
                });
            }
            candidates.push(Candidate {
                printer_id: printer.id,
                printer_name: printer.name,
                state: live.map_or(PrinterState::Offline, |l| l.state),
                reasons,
            });
        }
        let summary = summary(&candidates, hidden_candidates);
        Ok(WhyNotPrinting {
            job,
            candidates,
            hidden_candidates,
            summary,
        })
    }
}

/// The sites' staffed hours, for the jobs that would end outside them.
struct Staffing {
    sites: HashMap<domain::SiteId, domain::Site>,
    org_zone: String,
}

impl Staffing {
    async fn load(conn: &mut store::Conn, org: OrgId) -> AppResult<Staffing> {
        let sites = store::list_sites(conn, org).await?;
        let org_zone = store::get_org(conn, org)
            .await?
            .map_or_else(|| "UTC".to_string(), |o| o.time_zone);
        Ok(Staffing {
            sites: sites.into_iter().map(|s| (s.id, s)).collect(),
            org_zone,
        })
    }

    /// Why the job, started now on a printer at `site` and printing `estimate_s` seconds,
    /// waits: it would end outside the site's staffed hours and their grace period, and its
    /// owner may not print then (`queue.outside_staffed_hours`).
    fn refuses(
        &self,
        policy: &Policy,
        job: &Job,
        site: domain::SiteId,
        estimate_s: f64,
        now: domain::Timestamp,
    ) -> Option<NotTaking> {
        let site = self.sites.get(&site)?;
        if site.staffed_hours.always() {
            return None;
        }
        let exempt = policy.member_ix(job.owner_member_id).is_some_and(|ix| {
            policy
                .rights(ix)
                .permissions
                .contains(Permission::QueueOutsideStaffedHours)
        });
        let zone = site.time_zone.as_deref().unwrap_or(&self.org_zone);
        let end = now.plus_seconds(estimate_s.ceil() as i64);
        if exempt
            || site
                .staffed_hours
                .admits_end(end, zone, site.staffed_grace_minutes)
        {
            return None;
        }
        let ends = domain::LocalTime::at(end, zone)
            .map_or_else(|| end.to_rfc3339(), |local| format!("{local} ({zone})"));
        let grace = match site.staffed_grace_minutes {
            0 => String::new(),
            minutes => format!(" and their {minutes}-minute grace period"),
        };
        Some(NotTaking::new(
            NotTakingCode::OutsideStaffedHours,
            format!(
                "started now it would end about {ends}, outside the staffed hours of {} ({}){grace}: \
                 it waits until it can end while someone is there to clear the plate",
                site.name, site.staffed_hours
            ),
        ))
    }
}

/// What the printer's live state says against taking a job now.
fn live_reason(live: Option<&crate::LiveStatus>) -> Option<NotTaking> {
    let Some(live) = live else {
        return Some(NotTaking::new(
            NotTakingCode::Offline,
            "Farmhand is not connected to this printer",
        ));
    };
    if live.maintenance || live.state == PrinterState::Maintenance {
        return Some(NotTaking::new(
            NotTakingCode::Maintenance,
            "the printer is in maintenance",
        ));
    }
    let (code, message) = match live.state {
        PrinterState::Idle if live.bed_clear_pending => (
            NotTakingCode::AwaitingBedClear,
            "the last print's plate has not been confirmed clear".to_string(),
        ),
        PrinterState::Idle | PrinterState::Maintenance => return None,
        PrinterState::AwaitingBedClear => (
            NotTakingCode::AwaitingBedClear,
            "the last print's plate has not been confirmed clear".to_string(),
        ),
        PrinterState::Printing | PrinterState::Paused => (
            NotTakingCode::Busy,
            "the printer is printing another job".to_string(),
        ),
        PrinterState::Offline => (
            NotTakingCode::Offline,
            format!("the printer does not answer: {}", live.detail),
        ),
        PrinterState::Error => (
            NotTakingCode::Error,
            format!("the printer reports an error: {}", live.detail),
        ),
    };
    Some(NotTaking::new(code, message))
}

fn unsuitable_reason(unsuitable: crate::jobs::Unsuitable) -> NotTaking {
    let code = match unsuitable.code {
        crate::ErrorCode::MaterialMismatch => NotTakingCode::WrongMaterial,
        crate::ErrorCode::NozzleMismatch => NotTakingCode::WrongNozzle,
        _ => NotTakingCode::DoesNotFit,
    };
    NotTaking::new(code, unsuitable.message)
}

fn summary(candidates: &[Candidate], hidden: usize) -> String {
    if candidates.is_empty() && hidden == 0 {
        return "no printer matches the job's target; move it to another target".into();
    }
    if candidates.is_empty() {
        return format!("the {hidden} printer(s) matching the job's target are hidden from you");
    }
    if candidates.iter().any(|c| c.reasons.is_empty()) {
        return "a printer is free for it: it starts at the dispatcher's next pass".into();
    }
    let free_but_behind = candidates.iter().all(|c| {
        c.reasons
            .iter()
            .all(|r| r.code == NotTakingCode::BehindInQueue)
    });
    if free_but_behind {
        return "printers are free, but jobs ahead in line go first".into();
    }
    format!(
        "none of the {} printer(s) matching its target can take it now",
        candidates.len() + hidden
    )
}

#[cfg(test)]
mod tests {
    use domain::{FileId, JobTarget, Timestamp};

    use super::*;

    fn job(id: i64, owner: i64, priority: i32) -> Job {
        Job {
            id: JobId(id),
            org_id: OrgId(1),
            owner_member_id: MemberId(owner),
            file_id: FileId(1),
            target: JobTarget::Any,
            printer_id: None,
            state: JobState::Queued,
            priority,
            copies: 1,
            copies_done: 0,
            note: String::new(),
            reason: None,
            queue_position: id,
            reprint_of: None,
            created_at: Timestamp::from_micros(0),
            updated_at: Timestamp::from_micros(0),
            finished_at: None,
        }
    }

    #[test]
    fn fair_share_puts_who_printed_least_first_within_a_priority() {
        // In line: a high-priority job, then three of member 1 (who printed 10 h) and one of
        // member 2 (who printed nothing) and one of member 3 (1 h).
        let mut queued = vec![
            job(1, 1, 5),
            job(2, 1, 0),
            job(3, 1, 0),
            job(4, 2, 0),
            job(5, 3, 0),
        ];
        let hour = 3_600_000_000;
        let printed = HashMap::from([(MemberId(1), 10 * hour), (MemberId(3), hour)]);
        fair_share_order(&mut queued, &printed);
        let order: Vec<i64> = queued.iter().map(|j| j.id.get()).collect();
        assert_eq!(order, [1, 4, 5, 2, 3]);
    }

    #[test]
    fn behind_in_queue_counts_in_fair_share_order() {
        let queued = vec![
            job(1, 1, 5),
            job(2, 1, 0),
            job(3, 1, 0),
            job(4, 2, 0),
            job(5, 3, 0),
            job(6, 2, 0),
        ];
        let hour = 3_600_000_000;
        let printed = HashMap::from([(MemberId(1), 10 * hour), (MemberId(3), hour)]);
        let mut ordered = queued.clone();
        fair_share_order(&mut ordered, &printed);
        for job in &queued {
            let mut counts: HashMap<(MemberId, i32), store::QueuedCount> = HashMap::new();
            for other in &queued {
                let count = counts
                    .entry((other.owner_member_id, other.priority))
                    .or_insert(store::QueuedCount {
                        owner: other.owner_member_id,
                        priority: other.priority,
                        total: 0,
                        before: 0,
                    });
                count.total += 1;
                count.before += i64::from(other.queue_position < job.queue_position);
            }
            let counts: Vec<_> = counts.into_values().collect();
            let place = ordered.iter().position(|j| j.id == job.id).unwrap() as i64;
            assert_eq!(
                fair_share_ahead(job, &counts, &printed),
                place,
                "job {}",
                job.id
            );
        }
    }
}
