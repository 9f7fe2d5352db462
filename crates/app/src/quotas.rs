//! Quotas: the allowances of the organization, its workgroups and its members (see
//! [`domain::quotas`] for how they combine and what counts), what a member has used, custom
//! periods, and requests for more.
//!
//! A job counts against its owner's allowances from its submission: the submission's unit of
//! work locks the owner's account ([`store::lock_member_account`]), sums what the owner's jobs
//! count in each allowance's period, refuses with 422 `quota_exceeded` when the job does not
//! fit, and records what the job counts ([`store::JobUsage`]) before it commits. Two
//! submissions of one member therefore run one after the other, and the second sees the
//! first. When the job ends, what it counts becomes what actually printed (or nothing, once
//! rejected or cancelled before printing). Changing allowances takes the organization's rights
//! lock for a change, so it waits for the submissions under way and the ones after it see the
//! new limits. The dispatcher checks again before it starts a job: a job that no longer fits
//! beside what has started waits (`quota_exhausted`).

use authz::{Permission, Policy};
use domain::money::{Cost, PriceList};
use domain::quotas::{
    Allowance, AllowanceSource, Calendar, CustomPeriod, MAX_PERIOD_NAME_CHARS, MAX_REASON_CHARS,
    QuotaKind, QuotaPeriod, Usage, Window, check_allowances, exceeded_sentence, format_amount,
    format_duration, parse_date, resolve,
};
use domain::{
    Invalid, Job, JobId, JobState, MemberId, Organization, PrinterModelId, QuotaRequestId,
    Timestamp, WorkgroupId,
};
use serde_json::json;
use store::{AllowanceLevel, Counting, ExceptRun, JobUsage, QuotaRequest};

use crate::App;
use crate::actor::OrgActor;
use crate::error::{AppError, AppResult, ErrorCode, on_conflict};
use crate::jobs::FileFacts;
use crate::unit_of_work::{Audit, Changes, Found, UnitOfWork};

/// The use cases of quotas.
#[derive(Clone, Copy)]
pub struct Quotas<'a> {
    app: &'a App,
}

impl App {
    pub fn quotas(&self) -> Quotas<'_> {
        Quotas { app: self }
    }
}

/// Whose allowances.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaLevel {
    Organization,
    Workgroup(WorkgroupId),
    Member(MemberId),
}

impl QuotaLevel {
    fn store(self) -> AllowanceLevel {
        match self {
            QuotaLevel::Organization => AllowanceLevel::Organization,
            QuotaLevel::Workgroup(id) => AllowanceLevel::Workgroup(id),
            QuotaLevel::Member(id) => AllowanceLevel::Member(id),
        }
    }

    fn target(self, org: domain::OrgId) -> (&'static str, String) {
        match self {
            QuotaLevel::Organization => ("organization", org.to_string()),
            QuotaLevel::Workgroup(id) => ("workgroup", id.to_string()),
            QuotaLevel::Member(id) => ("member", id.to_string()),
        }
    }
}

/// One allowance that applies to a member, and where it stands.
#[derive(Debug, Clone, PartialEq)]
pub struct UsageLine {
    pub allowance: Allowance,
    pub source: AllowanceSource,
    /// In counting units: prints, seconds (printing hours and job duration), grams, minor
    /// units, jobs. For `max_job_duration_s`, nothing is used.
    pub used: i64,
    /// The limit in the same units.
    pub limit: i64,
    /// When the period resets (custom periods: when they end); `None` for the kinds without a
    /// period.
    pub resets_at: Option<Timestamp>,
    /// The member holds the permission that lifts it.
    pub exempt: bool,
}

/// What a member has used of each allowance that applies to them.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberUsage {
    pub member_id: MemberId,
    pub time_zone: String,
    pub currency: String,
    pub lines: Vec<UsageLine>,
}

/// A custom period to add.
#[derive(Debug, Clone)]
pub struct NewCustomPeriod {
    pub name: String,
    pub starts_on: String,
    pub ends_on: String,
}

/// A member's request for more.
#[derive(Debug, Clone)]
pub struct RequestQuota {
    pub kind: QuotaKind,
    pub period: Option<QuotaPeriod>,
    pub limit: i64,
    pub reason: String,
}

/// An answer to a request: approve (optionally for less than asked) or decline, with a reason.
#[derive(Debug, Clone)]
pub struct DecideQuotaRequest {
    pub approve: bool,
    pub limit: Option<i64>,
    pub reason: String,
}

fn check_reason(field: &'static str, reason: &str, required: bool) -> AppResult<()> {
    let length = reason.chars().count();
    if (required && reason.trim().is_empty()) || length > MAX_REASON_CHARS {
        let need = if required { "1" } else { "0" };
        return Err(Invalid::new(
            field,
            format!("must be {need} to {MAX_REASON_CHARS} characters"),
        )
        .into());
    }
    Ok(())
}

fn allowances_json(list: &[Allowance]) -> serde_json::Value {
    serde_json::Value::Array(
        list.iter()
            .map(|a| {
                json!({
                    "kind": a.kind.key(),
                    "period": a.period.map(period_json),
                    "limit": a.limit,
                })
            })
            .collect(),
    )
}

fn period_json(period: QuotaPeriod) -> serde_json::Value {
    match period {
        QuotaPeriod::Range(id) => json!(id.get()),
        other => json!(other.key()),
    }
}

/// The permissions of a member as their rank and overrides give them (not narrowed by the
/// token they use): what exemptions are judged by.
fn member_holds(policy: &Policy, member: MemberId, permission: Permission) -> bool {
    policy
        .member_ix(member)
        .is_some_and(|ix| policy.rights(ix).permissions.contains(permission))
}

fn exempt(policy: &Policy, member: MemberId, kind: QuotaKind) -> bool {
    let lifting = match kind {
        QuotaKind::MaxActiveJobs => Permission::QueueUnlimitedJobs,
        QuotaKind::PrintingHours => Permission::QuotasExemptPrintingTime,
        QuotaKind::MaxJobDurationS => Permission::QuotasExemptMaxJobDuration,
        _ => return false,
    };
    member_holds(policy, member, lifting)
}

/// Refuses a range ID the organization does not have.
async fn check_ranges(
    conn: &mut store::Conn,
    org: domain::OrgId,
    list: &[Allowance],
) -> AppResult<()> {
    if !list
        .iter()
        .any(|a| a.period.and_then(QuotaPeriod::range).is_some())
    {
        return Ok(());
    }
    let periods = store::list_quota_periods(conn, org).await?;
    for (i, allowance) in list.iter().enumerate() {
        if let Some(range) = allowance.period.and_then(QuotaPeriod::range)
            && !periods.iter().any(|p| p.id == range)
        {
            return Err(Invalid::new(
                "allowances",
                format!("allowance {i}: there is no custom period {range}"),
            )
            .into());
        }
    }
    Ok(())
}

impl Quotas<'_> {
    /// Requires what reading a level needs: the member themselves, or `quotas.view.all`.
    fn may_read(&self, actor: &OrgActor, level: QuotaLevel) -> AppResult<()> {
        match level {
            QuotaLevel::Member(member) if member == actor.member_id() => Ok(()),
            _ => actor.require(Permission::QuotasViewAll),
        }
    }

    async fn check_level_exists(
        &self,
        conn: &mut store::Conn,
        actor: &OrgActor,
        level: QuotaLevel,
    ) -> AppResult<()> {
        match level {
            QuotaLevel::Organization => Ok(()),
            QuotaLevel::Workgroup(id) => store::get_workgroup(conn, actor.org(), id)
                .await
                .found("workgroup")
                .map(drop),
            QuotaLevel::Member(id) => store::get_member(conn, actor.org(), id)
                .await
                .found("member")
                .map(drop),
        }
    }

    /// One level's own allowances.
    pub async fn allowances(
        &self,
        actor: &OrgActor,
        level: QuotaLevel,
    ) -> AppResult<Vec<Allowance>> {
        let mut conn = self.app.store().read().await?;
        self.check_level_exists(&mut conn, actor, level).await?;
        self.may_read(actor, level)?;
        Ok(store::list_allowances(&mut conn, actor.org(), level.store()).await?)
    }

    /// Replaces one level's allowances. Members' own allowances are set only by someone who
    /// may manage them (strictly senior, in scope, never oneself).
    pub async fn set_allowances(
        &self,
        actor: &OrgActor,
        level: QuotaLevel,
        list: Vec<Allowance>,
    ) -> AppResult<Vec<Allowance>> {
        check_allowances(&list)?;
        // The rights lock for a change: submissions under way finish first, later ones see the
        // new limits (nothing about rights changes, so the version stays).
        let mut uow = self.app.begin(actor, Changes::Rights).await?;
        uow.actor().require(Permission::QuotasManage)?;
        let org = actor.org();
        self.check_level_exists(uow.conn(), actor, level).await?;
        if let QuotaLevel::Member(member) = level {
            uow.authorize(|a| {
                a.policy
                    .may_manage_member_with(a.acting(), Permission::QuotasManage, member)
            })?;
        }
        check_ranges(uow.conn(), org, &list).await?;
        let before = store::list_allowances(uow.conn(), org, level.store()).await?;
        store::replace_allowances(uow.conn(), org, level.store(), &list).await?;
        let (target_type, target_id) = level.target(org);
        uow.audit(
            Audit::of("quota.set", target_type, target_id)
                .before(json!({ "allowances": allowances_json(&before) }))
                .after(json!({ "allowances": allowances_json(&list) })),
        );
        uow.commit().await?;
        Ok(list)
    }

    /// Each allowance that applies to a member: used, limit, where it comes from, when it
    /// resets.
    pub async fn usage(&self, actor: &OrgActor, member: MemberId) -> AppResult<MemberUsage> {
        let mut conn = self.app.store().read().await?;
        let org = actor.org();
        store::get_member(&mut conn, org, member)
            .await
            .found("member")?;
        self.may_read(actor, QuotaLevel::Member(member))?;
        let settings = store::get_org(&mut conn, org).await.found("organization")?;
        let calendar = Calendar::or_utc(&settings.time_zone);
        let found = store::member_allowances(&mut conn, org, member).await?;
        let applied = resolve(&found.organization, &found.workgroups, &found.member);
        let periods = store::list_quota_periods(&mut conn, org).await?;
        let now = self.app.now();
        let policy = self.app.current_policy(org).await?;
        let mut lines = Vec::new();
        for (allowance, source) in applied {
            let limit = allowance.limit_in_units();
            let (used, resets_at) = match allowance.kind {
                QuotaKind::MaxActiveJobs => (
                    store::count_active_jobs(&mut conn, org, member, Counting::All, None).await?,
                    None,
                ),
                QuotaKind::MaxJobDurationS => (0, None),
                _ => match current_window(&calendar, &allowance, now, &periods)? {
                    Some(window) => {
                        let usage = store::member_usage(
                            &mut conn,
                            org,
                            member,
                            window.start,
                            window.end,
                            Counting::All,
                            None,
                        )
                        .await?;
                        (usage.of(allowance.kind), Some(window.end))
                    }
                    // A custom period not running now: nothing counts in it now.
                    None => (0, None),
                },
            };
            lines.push(UsageLine {
                allowance,
                source,
                used,
                limit,
                resets_at,
                exempt: exempt(&policy, member, allowance.kind),
            });
        }
        Ok(MemberUsage {
            member_id: member,
            time_zone: settings.time_zone,
            currency: settings.currency,
            lines,
        })
    }

    /// The organization's custom periods.
    pub async fn periods(&self, actor: &OrgActor) -> AppResult<Vec<CustomPeriod>> {
        let _ = actor;
        let mut conn = self.app.store().read().await?;
        Ok(store::list_quota_periods(&mut conn, actor.org()).await?)
    }

    /// Adds a custom period (a semester).
    pub async fn create_period(
        &self,
        actor: &OrgActor,
        input: NewCustomPeriod,
    ) -> AppResult<CustomPeriod> {
        let name = input.name.trim().to_string();
        if name.is_empty()
            || name.chars().count() > MAX_PERIOD_NAME_CHARS
            || name.chars().any(char::is_control)
        {
            return Err(Invalid::new(
                "name",
                format!("must be 1 to {MAX_PERIOD_NAME_CHARS} characters, none of them control characters"),
            )
            .into());
        }
        let starts_on = parse_date("starts_on", &input.starts_on)?;
        let ends_on = parse_date("ends_on", &input.ends_on)?;
        if ends_on < starts_on {
            return Err(Invalid::new("ends_on", "must not be before starts_on").into());
        }
        // Calendars work from 1970 to 9998 (the day after the last day must exist).
        for (field, date) in [("starts_on", starts_on), ("ends_on", ends_on)] {
            if !(1970..=9998).contains(&date.year()) {
                return Err(Invalid::new(field, "must be in the years 1970 to 9998").into());
            }
        }
        let mut uow = self.app.begin(actor, Changes::Data).await?;
        uow.actor().require(Permission::QuotasManage)?;
        let (org, now) = (actor.org(), uow.now());
        let period = store::insert_quota_period(uow.conn(), org, &name, starts_on, ends_on, now)
            .await
            .map_err(on_conflict(
                ErrorCode::NameTaken,
                format!("the organization already has a period named {name:?}"),
            ))?;
        uow.audit(
            Audit::of("quota_period.create", "quota_period", period.id).after(json!({
                "name": period.name,
                "starts_on": period.starts_on.to_string(),
                "ends_on": period.ends_on.to_string(),
            })),
        );
        uow.commit().await?;
        Ok(period)
    }

    /// Asks for more of an allowance.
    pub async fn request(&self, actor: &OrgActor, input: RequestQuota) -> AppResult<QuotaRequest> {
        let allowance = Allowance {
            kind: input.kind,
            period: input.period,
            limit: input.limit,
        };
        allowance
            .check(0)
            .map_err(|e| Invalid::new("limit", e.message))?;
        check_reason("reason", &input.reason, true)?;
        let mut uow = self.app.begin(actor, Changes::Data).await?;
        uow.actor().require(Permission::QueueSubmit)?;
        let (org, now) = (actor.org(), uow.now());
        check_ranges(uow.conn(), org, &[allowance]).await?;
        let new = store::NewQuotaRequest {
            member: actor.member_id(),
            kind: input.kind,
            period: input.period,
            requested_limit: input.limit,
            reason: &input.reason,
        };
        let request = store::insert_quota_request(uow.conn(), org, &new, now).await?;
        uow.audit(
            Audit::of("quota_request.create", "quota_request", request.id).after(json!({
                "kind": request.kind.key(),
                "period": request.period.map(period_json),
                "limit": request.requested_limit,
                "reason": request.reason,
            })),
        );
        uow.commit().await?;
        Ok(request)
    }

    /// The requests: the actor's own, or everyone's with `quotas.approve_requests`.
    pub async fn requests(&self, actor: &OrgActor) -> AppResult<Vec<QuotaRequest>> {
        let mut conn = self.app.store().read().await?;
        let member = if actor.holds(Permission::QuotasApproveRequests) {
            None
        } else {
            Some(actor.member_id())
        };
        Ok(store::list_quota_requests(&mut conn, actor.org(), member).await?)
    }

    /// One request: its member's, or anyone's with `quotas.approve_requests`.
    pub async fn get_request(
        &self,
        actor: &OrgActor,
        id: QuotaRequestId,
    ) -> AppResult<QuotaRequest> {
        let mut conn = self.app.store().read().await?;
        let request = store::get_quota_request(&mut conn, actor.org(), id)
            .await
            .found("quota request")?;
        if request.member_id != actor.member_id() && !actor.holds(Permission::QuotasApproveRequests)
        {
            return Err(AppError::not_found("quota request"));
        }
        Ok(request)
    }

    /// Approves a request (for what was asked or less: the member's own allowance of that kind
    /// and period becomes the granted limit) or declines it, with a reason the member sees.
    pub async fn decide(
        &self,
        actor: &OrgActor,
        id: QuotaRequestId,
        decision: DecideQuotaRequest,
    ) -> AppResult<QuotaRequest> {
        check_reason("reason", &decision.reason, !decision.approve)?;
        let mut uow = self.app.begin(actor, Changes::Rights).await?;
        uow.actor().require(Permission::QuotasApproveRequests)?;
        let (org, now) = (actor.org(), uow.now());
        let request = store::get_quota_request(uow.conn(), org, id)
            .await
            .found("quota request")?;
        uow.authorize(|a| {
            a.policy.may_manage_member_with(
                a.acting(),
                Permission::QuotasApproveRequests,
                request.member_id,
            )
        })?;
        if request.state != "pending" {
            return Err(AppError::conflict(
                ErrorCode::AlreadyDecided,
                format!("the request was already {}", request.state),
            ));
        }
        let granted = if decision.approve {
            let limit = decision.limit.unwrap_or(request.requested_limit);
            if !(0..=request.requested_limit).contains(&limit) {
                return Err(Invalid::new(
                    "limit",
                    format!(
                        "may be at most what was asked ({}), and not negative",
                        request.requested_limit
                    ),
                )
                .into());
            }
            Some(limit)
        } else {
            if decision.limit.is_some() {
                return Err(Invalid::new("limit", "only an approval grants a limit").into());
            }
            None
        };
        if let Some(limit) = granted {
            let level = AllowanceLevel::Member(request.member_id);
            let before = store::list_allowances(uow.conn(), org, level).await?;
            let mut after: Vec<Allowance> = before
                .iter()
                .filter(|a| !(a.kind == request.kind && a.period == request.period))
                .copied()
                .collect();
            after.push(Allowance {
                kind: request.kind,
                period: request.period,
                limit,
            });
            check_allowances(&after)?;
            store::replace_allowances(uow.conn(), org, level, &after).await?;
            uow.audit(
                Audit::of("quota.set", "member", request.member_id)
                    .before(json!({ "allowances": allowances_json(&before) }))
                    .after(
                        json!({ "allowances": allowances_json(&after), "quota_request": id.get() }),
                    ),
            );
        }
        let by = actor.member_id();
        if !store::decide_quota_request(uow.conn(), org, id, granted, &decision.reason, by, now)
            .await?
        {
            return Err(AppError::conflict(
                ErrorCode::AlreadyDecided,
                "the request was decided meanwhile",
            ));
        }
        let decided = store::get_quota_request(uow.conn(), org, id)
            .await
            .found("quota request")?;
        uow.audit(
            Audit::of("quota_request.decide", "quota_request", id)
                .before(json!({ "state": request.state }))
                .after(json!({
                    "state": decided.state,
                    "granted_limit": decided.granted_limit,
                    "reason": decided.answer,
                })),
        );
        uow.commit().await?;
        Ok(decided)
    }
}

/// The window of an allowance's period containing `now`; `None` for a custom period that is
/// not running now (or no longer exists).
fn current_window(
    calendar: &Calendar,
    allowance: &Allowance,
    now: Timestamp,
    periods: &[CustomPeriod],
) -> AppResult<Option<Window>> {
    let Some(period) = allowance.period else {
        return Ok(None);
    };
    let custom = period
        .range()
        .and_then(|id| periods.iter().find(|p| p.id == id));
    if period.range().is_some() && custom.is_none() {
        return Ok(None);
    }
    let window = calendar
        .window(period, now, custom)
        .map_err(AppError::internal)?;
    Ok((window.start <= now && now < window.end).then_some(window))
}

// ---- what a job needs, and the checks ----

/// What a job needs of its owner's allowances and money.
#[derive(Debug, Clone)]
pub(crate) struct JobNeeds {
    pub usage: Usage,
    /// One copy's estimated printing time, s.
    pub print_seconds: i64,
    pub estimate: Cost,
}

/// The grams and seconds of one copy, from the file's analysis (rounded up).
fn per_copy(facts: &FileFacts) -> (i64, i64) {
    let round_up = |x: f64| {
        if x.is_finite() && x > 0.0 {
            // Bounded: no real print needs 10^12 grams or seconds.
            x.ceil().min(1e12) as i64
        } else {
            0
        }
    };
    (round_up(facts.weight_g()), round_up(facts.time_s()))
}

/// What a job of `copies` of the file needs, priced at the dearest of the printer models it
/// may go to (the hold then covers wherever it prints).
pub(crate) fn job_needs(
    facts: &FileFacts,
    copies: i32,
    prices: &PriceList,
    models: &[Option<PrinterModelId>],
) -> JobNeeds {
    let (grams, seconds) = per_copy(facts);
    let copies = i64::from(copies.max(1));
    let material = facts.material();
    let (grams, total_seconds) = (grams.saturating_mul(copies), seconds.saturating_mul(copies));
    let mut estimate = Cost::default();
    if prices.is_empty() {
        return JobNeeds {
            usage: Usage {
                prints: copies,
                seconds: total_seconds,
                grams,
                cost_minor: 0,
            },
            print_seconds: seconds,
            estimate,
        };
    }
    let mut candidates: Vec<Option<PrinterModelId>> = models.to_vec();
    if candidates.is_empty() {
        candidates.push(None);
    }
    for model in candidates {
        let price = prices.price_for(model, material);
        let cost = Cost::of(price.as_ref(), material, grams, total_seconds);
        if cost.total_minor > estimate.total_minor {
            estimate = cost;
        }
    }
    JobNeeds {
        usage: Usage {
            prints: copies,
            seconds: total_seconds,
            grams,
            cost_minor: estimate.total_minor,
        },
        print_seconds: seconds,
        estimate,
    }
}

/// The first allowance the job does not fit in, as the sentence that says so; `None`: it
/// fits. `counting` says what it must fit beside (everything held, or only what started).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn first_exceeded(
    conn: &mut store::Conn,
    settings: &Organization,
    policy: &Policy,
    member: MemberId,
    needs: &JobNeeds,
    counting: Counting,
    except: ExceptRun,
    now: Timestamp,
) -> AppResult<Option<String>> {
    let org = settings.id;
    let found = store::member_allowances(conn, org, member).await?;
    let applied = resolve(&found.organization, &found.workgroups, &found.member);
    if applied.is_empty() {
        return Ok(None);
    }
    let calendar = Calendar::or_utc(&settings.time_zone);
    let periods = if applied
        .iter()
        .any(|(a, _)| a.period.and_then(QuotaPeriod::range).is_some())
    {
        store::list_quota_periods(conn, org).await?
    } else {
        Vec::new()
    };
    // Each allowance's current window, worked out once; every period's sums, and the
    // active-job count, in one query.
    let mut window_of: Vec<Option<Window>> = Vec::with_capacity(applied.len());
    let mut windows: Vec<Window> = Vec::new();
    for (allowance, _) in &applied {
        let window = if allowance.kind.periodic() && !exempt(policy, member, allowance.kind) {
            current_window(&calendar, allowance, now, &periods)?
        } else {
            None
        };
        if let Some(window) = window
            && !windows.contains(&window)
        {
            windows.push(window);
        }
        window_of.push(window);
    }
    let spans: Vec<(Timestamp, Timestamp)> = windows.iter().map(|w| (w.start, w.end)).collect();
    let count_active = applied.iter().any(|(a, _)| {
        a.kind == QuotaKind::MaxActiveJobs && !exempt(policy, member, QuotaKind::MaxActiveJobs)
    });
    let (usages, active) =
        store::member_usage_in(conn, org, member, &spans, counting, except, count_active).await?;
    let sums: Vec<(Window, Usage)> = windows.into_iter().zip(usages).collect();
    for ((allowance, _), window) in applied.into_iter().zip(window_of) {
        if exempt(policy, member, allowance.kind) {
            continue;
        }
        let limit = allowance.limit_in_units();
        match allowance.kind {
            QuotaKind::MaxActiveJobs => {
                let active = active.unwrap_or(0);
                if active.saturating_add(1) > limit {
                    return Ok(Some(format!(
                        "You have {} waiting or printing, the most you may have at once; this job \
                         would be one more: it can go once one of them ends or is cancelled",
                        format_amount(QuotaKind::MaxActiveJobs, active, &settings.currency)
                    )));
                }
            }
            QuotaKind::MaxJobDurationS => {
                if needs.print_seconds > limit {
                    return Ok(Some(format!(
                        "Each print of this job takes {}; a single print may take at most {}",
                        format_duration(needs.print_seconds),
                        format_duration(limit)
                    )));
                }
            }
            kind => {
                let need = needs.usage.of(kind);
                if need == 0 && limit > 0 {
                    continue;
                }
                let Some(window) = window else {
                    continue;
                };
                let used = sums
                    .iter()
                    .find(|(w, _)| *w == window)
                    .map_or(0, |(_, usage)| usage.of(kind));
                if used.saturating_add(need) > limit {
                    let name = allowance
                        .period
                        .and_then(QuotaPeriod::range)
                        .and_then(|id| periods.iter().find(|p| p.id == id))
                        .map_or("the period", |p| p.name.as_str());
                    return Ok(Some(exceeded_sentence(
                        &allowance,
                        used,
                        need,
                        name,
                        &calendar.describe(window.end),
                        &settings.currency,
                    )));
                }
            }
        }
    }
    Ok(None)
}

/// The printer models a job of `actor` aiming at `target` may print on.
pub(crate) fn candidate_models(
    actor: &OrgActor,
    target: domain::JobTarget,
) -> Vec<Option<PrinterModelId>> {
    let mut models: Vec<Option<PrinterModelId>> = actor
        .policy
        .org()
        .printers
        .iter()
        .filter(|printer| target.matches(printer))
        .filter(|printer| actor.may_on_printer(Permission::QueueSubmit, printer.id))
        .map(|printer| printer.model)
        .collect();
    models.sort();
    models.dedup();
    models
}

/// Checks a new job of the actor against their allowances and balance, inside the unit of
/// work that inserted it, and holds what it needs: its usage row and the balance hold. Locks
/// the actor's account first (see the module docs).
pub(crate) async fn hold_new_job(
    uow: &mut UnitOfWork,
    job: &Job,
    facts: &FileFacts,
) -> AppResult<JobNeeds> {
    let actor = uow.actor().clone();
    let (org, member, now) = (actor.org(), job.owner_member_id, uow.now());
    uow.lock_member_account(org, member).await?;
    let settings = store::get_org(uow.conn(), org)
        .await
        .found("organization")?;
    let prices = store::price_list(uow.conn(), org).await?;
    let models = candidate_models(&actor, job.target);
    let needs = job_needs(facts, job.copies, &prices, &models);
    if let Some(message) = first_exceeded(
        uow.conn(),
        &settings,
        &actor.policy,
        member,
        &needs,
        Counting::All,
        Some((job.id, 1)),
        now,
    )
    .await?
    {
        return Err(AppError::conflict(ErrorCode::QuotaExceeded, message));
    }
    // Held now, or (for an organization that holds at approval) once it is approved.
    let billing = store::billing_settings(uow.conn(), org)
        .await
        .found("organization")?;
    let held = if billing.hold_at == domain::money::HoldAt::Approval
        && job.state == JobState::PendingApproval
    {
        0
    } else {
        crate::billing::check_and_hold(uow, &settings, &actor.policy, job, &needs, Some(billing))
            .await?;
        needs.estimate.total_minor
    };
    let usage = JobUsage {
        job_id: job.id,
        run: 1,
        member_id: member,
        counted_at: now,
        print_seconds: needs.print_seconds,
        usage: needs.usage,
        estimate: serde_json::to_string(&needs.estimate).map_err(AppError::internal)?,
        final_cost: None,
        held_minor: held,
    };
    store::insert_job_usage(uow.conn(), org, &usage).await?;
    Ok(needs)
}

/// What a held job needs now, checked again: shared by a revival and an edit.
struct Recheck {
    actor: OrgActor,
    row: JobUsage,
    settings: Organization,
    needs: JobNeeds,
}

/// Locks the owner's account and checks the job's needs, as it is now, against their
/// allowances beside their other jobs (and the job's own other runs), counted at `at`, leaving
/// out the job's run `except_run`. `None`: the job holds nothing (no usage row, or no file
/// facts).
async fn check_again(
    uow: &mut UnitOfWork,
    job: &Job,
    at: Option<Timestamp>,
    except_run: Option<i64>,
) -> AppResult<Option<Recheck>> {
    let actor = uow.actor().clone();
    let (org, member) = (actor.org(), job.owner_member_id);
    let Some(row) = store::get_job_usage(uow.conn(), org, job.id).await? else {
        return Ok(None);
    };
    let Some(facts) = load_facts(uow.conn(), org, job.file_id).await? else {
        return Ok(None);
    };
    uow.lock_member_account(org, member).await?;
    let settings = store::get_org(uow.conn(), org)
        .await
        .found("organization")?;
    let prices = store::price_list(uow.conn(), org).await?;
    let models: Vec<Option<PrinterModelId>> = actor
        .policy
        .org()
        .printers
        .iter()
        .filter(|p| job.target.matches(p))
        .map(|p| p.model)
        .collect();
    let needs = job_needs(&facts, job.copies, &prices, &models);
    if let Some(message) = first_exceeded(
        uow.conn(),
        &settings,
        &actor.policy,
        member,
        &needs,
        Counting::All,
        Some((job.id, except_run.unwrap_or(row.run))),
        at.unwrap_or(row.counted_at),
    )
    .await?
    {
        return Err(AppError::conflict(ErrorCode::QuotaExceeded, message));
    }
    Ok(Some(Recheck {
        actor,
        row,
        settings,
        needs,
    }))
}

/// Holds a job that comes back from a finished state (revived) for its next run: counted from
/// now, checked again against the owner's allowances and balance. What its earlier runs
/// printed stays counted where it was (in its period, with its final cost); the next run is a
/// row of its own.
pub(crate) async fn hold_revived_job(uow: &mut UnitOfWork, job: &Job) -> AppResult<()> {
    let (org, now) = (uow.actor().org(), uow.now());
    let Some(last_run) = store::get_job_usage(uow.conn(), org, job.id)
        .await?
        .map(|row| row.run)
    else {
        return Ok(());
    };
    let next_run = last_run.saturating_add(1);
    let Some(Recheck {
        actor,
        row,
        settings,
        needs,
    }) = check_again(uow, job, Some(now), Some(next_run)).await?
    else {
        return Ok(());
    };
    crate::billing::check_and_hold(uow, &settings, &actor.policy, job, &needs, None).await?;
    let next = JobUsage {
        job_id: job.id,
        run: next_run,
        member_id: row.member_id,
        counted_at: now,
        print_seconds: needs.print_seconds,
        usage: needs.usage,
        estimate: serde_json::to_string(&needs.estimate).map_err(AppError::internal)?,
        final_cost: None,
        held_minor: needs.estimate.total_minor,
    };
    store::insert_job_usage(uow.conn(), org, &next).await?;
    Ok(())
}

/// Holds a waiting job anew after an edit changed its copies or target: what it counts and
/// holds becomes the estimate of the edited job, checked against its owner's allowances (beside
/// their other jobs) and available balance (with its own hold given back first), as a
/// submission would be.
pub(crate) async fn rehold_edited_job(uow: &mut UnitOfWork, job: &Job) -> AppResult<()> {
    let Some(Recheck {
        actor,
        mut row,
        settings,
        needs,
    }) = check_again(uow, job, None, None).await?
    else {
        return Ok(());
    };
    let org = actor.org();
    let by = Some(actor.member_id());
    crate::billing::release(uow, org, job, row.held_minor, by, "the job was edited").await?;
    crate::billing::check_and_hold(uow, &settings, &actor.policy, job, &needs, None).await?;
    row.usage = needs.usage;
    row.print_seconds = needs.print_seconds;
    row.estimate = serde_json::to_string(&needs.estimate).map_err(AppError::internal)?;
    row.held_minor = needs.estimate.total_minor;
    store::update_job_usage(uow.conn(), org, &row).await?;
    Ok(())
}

pub(crate) async fn load_facts(
    conn: &mut store::Conn,
    org: domain::OrgId,
    file: domain::FileId,
) -> AppResult<Option<FileFacts>> {
    let analysis = store::job_file(conn, org, file)
        .await?
        .and_then(|f| f.analysis);
    analysis.map(|a| FileFacts::parse(&a)).transpose()
}

/// Whether the job, about to start, still fits its owner's allowances beside what has
/// started (allowances may have been lowered since it was submitted): `Some(sentence)` when
/// it does not.
pub(crate) async fn blocks_start(
    app: &App,
    policy: &Policy,
    job: &Job,
) -> AppResult<Option<String>> {
    let mut conn = app.store().read().await?;
    let org = job.org_id;
    let Some(row) = store::get_job_usage(&mut conn, org, job.id).await? else {
        return Ok(None);
    };
    let settings = store::get_org(&mut conn, org).await.found("organization")?;
    let needs = JobNeeds {
        usage: row.usage,
        print_seconds: row.print_seconds,
        estimate: Cost::default(),
    };
    first_exceeded(
        &mut conn,
        &settings,
        policy,
        job.owner_member_id,
        &needs,
        Counting::Started,
        Some((job.id, row.run)),
        row.counted_at,
    )
    .await
}

/// Settles what a job counts and costs after it changed state: released when it is rejected
/// or cancelled before printing; what actually printed once it ended (the last copy completed,
/// or it failed, or it was cancelled mid-print), charged to its owner with the hold released.
pub(crate) async fn settle_after<A>(
    uow: &mut UnitOfWork<A>,
    org: domain::OrgId,
    job_id: JobId,
    from: JobState,
    to: JobState,
    by: Option<MemberId>,
) -> AppResult<()> {
    let ends = matches!(
        to,
        JobState::Cancelled | JobState::Rejected | JobState::Completed | JobState::Failed
    );
    if !ends || from.is_finished() {
        return Ok(());
    }
    let now = uow.now();
    let Some(mut row) = store::get_job_usage(uow.conn(), org, job_id).await? else {
        return Ok(());
    };
    let job = store::get_job(uow.conn(), org, job_id).await.found("job")?;
    if to == JobState::Completed && job.copies_done < job.copies {
        // The next copy follows; the job settles when the last one ends.
        return Ok(());
    }
    uow.lock_member_account(org, job.owner_member_id).await?;
    // What this run printed: a revived job's earlier runs were settled when they ended, so a
    // later run counts the prints that started since its revival (the first run, all of them:
    // no instance's clock can place one of its prints before its submission).
    let since = if row.run > 1 {
        row.counted_at
    } else {
        Timestamp::from_micros(i64::MIN)
    };
    let printed_s = store::job_printed_seconds(uow.conn(), org, job_id, since, now).await?;
    let printed = printed_s > 0 || job.copies_done > 0;
    let held = row.held_minor;
    if matches!(to, JobState::Cancelled | JobState::Rejected) && !printed {
        row.usage = Usage::default();
        row.held_minor = 0;
        row.final_cost = Some(serde_json::to_string(&Cost::default()).map_err(AppError::internal)?);
        store::update_job_usage(uow.conn(), org, &row).await?;
        crate::billing::release(
            uow,
            org,
            &job,
            held,
            by,
            "the job was rejected or cancelled",
        )
        .await?;
        return Ok(());
    }
    // Only a job that ended on its printer ended with a copy under way: one cancelled while it
    // waited between copies counts and costs the copies it completed, as if it had completed.
    let under_way = matches!(
        from,
        JobState::Printing | JobState::Paused | JobState::Unknown
    );
    let ended = if under_way { to } else { JobState::Completed };
    let final_cost =
        crate::billing::final_cost(uow.conn(), org, &job, &row, ended, printed_s).await?;
    let (grams_per_copy, _) = match load_facts(uow.conn(), org, job.file_id).await? {
        Some(facts) => per_copy(&facts),
        None => (0, 0),
    };
    let done = i64::from(job.copies_done);
    let attempted = if ended == JobState::Completed {
        done
    } else {
        done + 1
    };
    row.usage = Usage {
        prints: attempted,
        seconds: printed_s,
        grams: grams_per_copy.saturating_mul(final_cost.copies_equivalent_hundredths) / 100,
        cost_minor: final_cost.cost.total_minor,
    };
    row.held_minor = 0;
    row.final_cost = Some(serde_json::to_string(&final_cost.cost).map_err(AppError::internal)?);
    store::update_job_usage(uow.conn(), org, &row).await?;
    crate::billing::charge(uow, org, &job, &final_cost.cost, held, by).await?;
    Ok(())
}
