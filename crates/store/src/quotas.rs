//! Quotas: the allowances of an organization, its workgroups and members, custom periods,
//! quota requests, and what each job counts against its owner's allowances (`job_usage`).

use domain::quotas::{Allowance, CustomPeriod, QuotaKind, QuotaPeriod, Usage};
use domain::{JobId, MemberId, OrgId, QuotaPeriodId, QuotaRequestId, Timestamp, WorkgroupId};
use sqlx::any::AnyRow;

use crate::rows::{int, opt_int, opt_text, opt_ts, text, ts};
use crate::{Conn, StoreError, WriteTx};

/// Whose allowances: the organization's defaults, a workgroup's, or a member's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AllowanceLevel {
    Organization,
    Workgroup(WorkgroupId),
    Member(MemberId),
}

impl AllowanceLevel {
    fn ids(self) -> (Option<i64>, Option<i64>) {
        match self {
            AllowanceLevel::Organization => (None, None),
            AllowanceLevel::Workgroup(id) => (Some(id.get()), None),
            AllowanceLevel::Member(id) => (None, Some(id.get())),
        }
    }
}

fn allowance_from_row(row: &AnyRow) -> Result<Allowance, StoreError> {
    let kind = text(row, "kind")?;
    let period = text(row, "period")?;
    let range = opt_int(row, "range_id")?;
    Ok(Allowance {
        kind: QuotaKind::parse(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("quota kind {kind:?}")))?,
        period: QuotaPeriod::from_parts(&period, range)
            .ok_or_else(|| StoreError::Corrupt(format!("quota period {period:?} {range:?}")))?,
        limit: int(row, "limit_value")?,
    })
}

fn period_parts(period: Option<QuotaPeriod>) -> (&'static str, Option<i64>) {
    match period {
        None => ("none", None),
        Some(p) => (p.key(), p.range().map(QuotaPeriodId::get)),
    }
}

const LEVEL_CONDITION: &str = "org_id = $1 AND workgroup_id IS NOT DISTINCT FROM $2 \
     AND member_id IS NOT DISTINCT FROM $3";

/// One level's allowances.
pub async fn list_allowances(
    conn: &mut Conn,
    org: OrgId,
    level: AllowanceLevel,
) -> Result<Vec<Allowance>, StoreError> {
    let (workgroup, member) = level.ids();
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT kind, period, range_id, limit_value FROM quota_allowances \
         WHERE {LEVEL_CONDITION} ORDER BY id"
    )))
    .bind(org.get())
    .bind(workgroup)
    .bind(member)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(allowance_from_row).collect()
}

/// Replaces one level's allowances.
pub async fn replace_allowances(
    conn: &mut Conn,
    org: OrgId,
    level: AllowanceLevel,
    allowances: &[Allowance],
) -> Result<(), StoreError> {
    let (workgroup, member) = level.ids();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DELETE FROM quota_allowances WHERE {LEVEL_CONDITION}"
    )))
    .bind(org.get())
    .bind(workgroup)
    .bind(member)
    .execute(&mut *conn)
    .await?;
    for allowance in allowances {
        let (period, range) = period_parts(allowance.period);
        sqlx::query(
            "INSERT INTO quota_allowances (org_id, workgroup_id, member_id, kind, period, \
             range_id, limit_value) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(org.get())
        .bind(workgroup)
        .bind(member)
        .bind(allowance.kind.key())
        .bind(period)
        .bind(range)
        .bind(allowance.limit)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Every allowance that may apply to a member: the organization's, those of the member's
/// workgroups (by workgroup), and the member's own.
pub struct MemberAllowances {
    pub organization: Vec<Allowance>,
    pub workgroups: Vec<(WorkgroupId, Vec<Allowance>)>,
    pub member: Vec<Allowance>,
}

pub async fn member_allowances(
    conn: &mut Conn,
    org: OrgId,
    member: MemberId,
) -> Result<MemberAllowances, StoreError> {
    let rows = sqlx::query(
        "SELECT workgroup_id, member_id, kind, period, range_id, limit_value \
         FROM quota_allowances WHERE org_id = $1 AND (member_id = $2 \
         OR (member_id IS NULL AND workgroup_id IS NULL) \
         OR workgroup_id IN (SELECT workgroup_id FROM workgroup_members WHERE member_id = $2)) \
         ORDER BY id",
    )
    .bind(org.get())
    .bind(member.get())
    .fetch_all(&mut *conn)
    .await?;
    let mut found = MemberAllowances {
        organization: Vec::new(),
        workgroups: Vec::new(),
        member: Vec::new(),
    };
    for row in &rows {
        let allowance = allowance_from_row(row)?;
        match (opt_int(row, "workgroup_id")?, opt_int(row, "member_id")?) {
            (None, None) => found.organization.push(allowance),
            (Some(group), _) => {
                let group = WorkgroupId(group);
                match found.workgroups.iter_mut().find(|(g, _)| *g == group) {
                    Some((_, list)) => list.push(allowance),
                    None => found.workgroups.push((group, vec![allowance])),
                }
            }
            (None, Some(_)) => found.member.push(allowance),
        }
    }
    Ok(found)
}

// ---- custom periods ----

fn period_from_row(row: &AnyRow) -> Result<CustomPeriod, StoreError> {
    let date = |col: &str| -> Result<domain::quotas::Date, StoreError> {
        let raw = text(row, col)?;
        raw.parse()
            .map_err(|_| StoreError::Corrupt(format!("{col} {raw:?}")))
    };
    Ok(CustomPeriod {
        id: QuotaPeriodId(int(row, "id")?),
        name: text(row, "name")?,
        starts_on: date("starts_on")?,
        ends_on: date("ends_on")?,
    })
}

pub async fn list_quota_periods(
    conn: &mut Conn,
    org: OrgId,
) -> Result<Vec<CustomPeriod>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, name, starts_on, ends_on FROM quota_periods WHERE org_id = $1 \
         ORDER BY starts_on, id",
    )
    .bind(org.get())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(period_from_row).collect()
}

/// Adds a custom period; a name the organization already uses is a conflict.
pub async fn insert_quota_period(
    conn: &mut Conn,
    org: OrgId,
    name: &str,
    starts_on: domain::quotas::Date,
    ends_on: domain::quotas::Date,
    now: Timestamp,
) -> Result<CustomPeriod, StoreError> {
    let row = sqlx::query(
        "INSERT INTO quota_periods (org_id, name, starts_on, ends_on, created_at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id, name, starts_on, ends_on",
    )
    .bind(org.get())
    .bind(name.to_string())
    .bind(starts_on.to_string())
    .bind(ends_on.to_string())
    .bind(now.micros())
    .fetch_one(&mut *conn)
    .await?;
    period_from_row(&row)
}

// ---- requests ----

/// A member's request for more of an allowance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaRequest {
    pub id: QuotaRequestId,
    pub member_id: MemberId,
    pub kind: QuotaKind,
    pub period: Option<QuotaPeriod>,
    pub requested_limit: i64,
    pub reason: String,
    /// `pending`, `approved` or `declined`.
    pub state: String,
    pub granted_limit: Option<i64>,
    pub answer: Option<String>,
    pub decided_by: Option<MemberId>,
    pub created_at: Timestamp,
    pub decided_at: Option<Timestamp>,
}

const REQUEST_COLUMNS: &str = "id, member_id, kind, period, range_id, requested_limit, reason, \
     state, granted_limit, answer, decided_by, created_at, decided_at";

fn request_from_row(row: &AnyRow) -> Result<QuotaRequest, StoreError> {
    let kind = text(row, "kind")?;
    let period = text(row, "period")?;
    let range = opt_int(row, "range_id")?;
    Ok(QuotaRequest {
        id: QuotaRequestId(int(row, "id")?),
        member_id: MemberId(int(row, "member_id")?),
        kind: QuotaKind::parse(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("quota kind {kind:?}")))?,
        period: QuotaPeriod::from_parts(&period, range)
            .ok_or_else(|| StoreError::Corrupt(format!("quota period {period:?}")))?,
        requested_limit: int(row, "requested_limit")?,
        reason: text(row, "reason")?,
        state: text(row, "state")?,
        granted_limit: opt_int(row, "granted_limit")?,
        answer: opt_text(row, "answer")?,
        decided_by: opt_int(row, "decided_by")?.map(MemberId),
        created_at: ts(row, "created_at")?,
        decided_at: opt_ts(row, "decided_at")?,
    })
}

/// A request to insert.
pub struct NewQuotaRequest<'a> {
    pub member: MemberId,
    pub kind: QuotaKind,
    pub period: Option<QuotaPeriod>,
    pub requested_limit: i64,
    pub reason: &'a str,
}

pub async fn insert_quota_request(
    conn: &mut Conn,
    org: OrgId,
    request: &NewQuotaRequest<'_>,
    now: Timestamp,
) -> Result<QuotaRequest, StoreError> {
    let (period, range) = period_parts(request.period);
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO quota_requests (org_id, member_id, kind, period, range_id, \
         requested_limit, reason, state, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8) RETURNING {REQUEST_COLUMNS}"
    )))
    .bind(org.get())
    .bind(request.member.get())
    .bind(request.kind.key())
    .bind(period)
    .bind(range)
    .bind(request.requested_limit)
    .bind(request.reason.to_string())
    .bind(now.micros())
    .fetch_one(&mut *conn)
    .await?;
    request_from_row(&row)
}

pub async fn get_quota_request(
    conn: &mut Conn,
    org: OrgId,
    id: QuotaRequestId,
) -> Result<Option<QuotaRequest>, StoreError> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {REQUEST_COLUMNS} FROM quota_requests WHERE org_id = $1 AND id = $2"
    )))
    .bind(org.get())
    .bind(id.get())
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(request_from_row).transpose()
}

/// The organization's requests (or one member's), newest first.
pub async fn list_quota_requests(
    conn: &mut Conn,
    org: OrgId,
    member: Option<MemberId>,
) -> Result<Vec<QuotaRequest>, StoreError> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {REQUEST_COLUMNS} FROM quota_requests WHERE org_id = $1 \
         AND ($2 IS NULL OR member_id = $2) ORDER BY id DESC LIMIT 500"
    )))
    .bind(org.get())
    .bind(member.map(MemberId::get))
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(request_from_row).collect()
}

/// Settles a pending request; `false` when it was no longer pending.
pub async fn decide_quota_request(
    conn: &mut Conn,
    org: OrgId,
    id: QuotaRequestId,
    approved: Option<i64>,
    answer: &str,
    by: MemberId,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let state = if approved.is_some() {
        "approved"
    } else {
        "declined"
    };
    let result = sqlx::query(
        "UPDATE quota_requests SET state = $1, granted_limit = $2, answer = $3, \
         decided_by = $4, decided_at = $5 WHERE org_id = $6 AND id = $7 AND state = 'pending'",
    )
    .bind(state)
    .bind(approved)
    .bind(answer.to_string())
    .bind(by.get())
    .bind(now.micros())
    .bind(org.get())
    .bind(id.get())
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

// ---- what jobs count ----

/// What a job counts against its owner's allowances, and its cost, in one of its runs (the
/// submission is run 1; each revival starts the next, and earlier runs keep what they count).
#[derive(Debug, Clone, PartialEq)]
pub struct JobUsage {
    pub job_id: JobId,
    pub run: i64,
    pub member_id: MemberId,
    /// The moment that places it in a period (its submission).
    pub counted_at: Timestamp,
    /// One copy's estimated printing time, s.
    pub print_seconds: i64,
    pub usage: Usage,
    /// The itemized estimate, as JSON.
    pub estimate: String,
    /// The itemized final cost once the job ended, as JSON.
    pub final_cost: Option<String>,
    /// The balance hold still outstanding for it.
    pub held_minor: i64,
}

const USAGE_COLUMNS: &str = "job_id, run, member_id, counted_at, print_seconds, prints, seconds, \
     grams, cost_minor, estimate, final, held_minor";

fn usage_from_row(row: &AnyRow) -> Result<JobUsage, StoreError> {
    Ok(JobUsage {
        job_id: JobId(int(row, "job_id")?),
        run: int(row, "run")?,
        member_id: MemberId(int(row, "member_id")?),
        counted_at: ts(row, "counted_at")?,
        print_seconds: int(row, "print_seconds")?,
        usage: Usage {
            prints: int(row, "prints")?,
            seconds: int(row, "seconds")?,
            grams: int(row, "grams")?,
            cost_minor: int(row, "cost_minor")?,
        },
        estimate: text(row, "estimate")?,
        final_cost: opt_text(row, "final")?,
        held_minor: int(row, "held_minor")?,
    })
}

pub async fn insert_job_usage(
    conn: &mut Conn,
    org: OrgId,
    usage: &JobUsage,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO job_usage (job_id, org_id, member_id, counted_at, print_seconds, prints, \
         seconds, grams, cost_minor, estimate, final, held_minor, run) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(usage.job_id.get())
    .bind(org.get())
    .bind(usage.member_id.get())
    .bind(usage.counted_at.micros())
    .bind(usage.print_seconds)
    .bind(usage.usage.prints)
    .bind(usage.usage.seconds)
    .bind(usage.usage.grams)
    .bind(usage.usage.cost_minor)
    .bind(usage.estimate.clone())
    .bind(usage.final_cost.clone())
    .bind(usage.held_minor)
    .bind(usage.run)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// What a job counts in its current (latest) run.
pub async fn get_job_usage(
    conn: &mut Conn,
    org: OrgId,
    job: JobId,
) -> Result<Option<JobUsage>, StoreError> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {USAGE_COLUMNS} FROM job_usage WHERE org_id = $1 AND job_id = $2 \
         ORDER BY run DESC LIMIT 1"
    )))
    .bind(org.get())
    .bind(job.get())
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(usage_from_row).transpose()
}

/// The usage rows of several jobs' current runs (a page of the queue).
pub async fn job_usages(
    conn: &mut Conn,
    org: OrgId,
    jobs: &[JobId],
) -> Result<Vec<JobUsage>, StoreError> {
    if jobs.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders: Vec<String> = (0..jobs.len()).map(|i| format!("${}", i + 2)).collect();
    let sql = format!(
        "SELECT {USAGE_COLUMNS} FROM job_usage u WHERE org_id = $1 AND job_id IN ({}) \
         AND run = (SELECT MAX(r.run) FROM job_usage r WHERE r.job_id = u.job_id)",
        placeholders.join(", ")
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(org.get());
    for job in jobs {
        query = query.bind(job.get());
    }
    let rows = query.fetch_all(&mut *conn).await?;
    rows.iter().map(usage_from_row).collect()
}

/// Replaces what a job's run counts (and its final cost, once it ended) and the hold
/// outstanding.
pub async fn update_job_usage(
    conn: &mut Conn,
    org: OrgId,
    usage: &JobUsage,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE job_usage SET prints = $1, seconds = $2, grams = $3, cost_minor = $4, \
         final = $5, held_minor = $6, estimate = $7, print_seconds = $8 \
         WHERE org_id = $9 AND job_id = $10 AND run = $11",
    )
    .bind(usage.usage.prints)
    .bind(usage.usage.seconds)
    .bind(usage.usage.grams)
    .bind(usage.usage.cost_minor)
    .bind(usage.final_cost.clone())
    .bind(usage.held_minor)
    .bind(usage.estimate.clone())
    .bind(usage.print_seconds)
    .bind(org.get())
    .bind(usage.job_id.get())
    .bind(usage.run)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Which of a member's jobs a sum counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counting {
    /// Every job that holds or used something.
    All,
    /// Jobs that started printing (or ended), leaving out those still waiting: what a job
    /// about to start must fit beside.
    Started,
}

/// A job's run a sum leaves out: the job itself (for the active count) and that run of it (for
/// the usage sums; its other runs count).
pub type ExceptRun = Option<(JobId, i64)>;

const STARTED_ONLY: &str = " AND job_id IN (SELECT id FROM jobs WHERE org_id = $1 \
     AND owner_member_id = $2 AND state IN ('printing', 'paused', 'unknown', 'completed', \
     'failed', 'cancelled'))";

/// The states of the jobs that count against `max_active_jobs`: all of them but the ended ones,
/// as `memberships.active_jobs` counts them (migration 0015), or those on a printer.
fn active_states(counting: Counting) -> &'static str {
    match counting {
        Counting::All => {
            "'pending_approval', 'sent_back', 'queued', 'assigned', 'printing', 'paused', 'unknown'"
        }
        Counting::Started => "'printing', 'paused', 'unknown'",
    }
}

/// What a member's jobs counted in `[start, end)` add up to, leaving out `except`.
pub async fn member_usage(
    conn: &mut Conn,
    org: OrgId,
    member: MemberId,
    start: Timestamp,
    end: Timestamp,
    counting: Counting,
    except: ExceptRun,
) -> Result<Usage, StoreError> {
    let (usages, _) =
        member_usage_in(conn, org, member, &[(start, end)], counting, except, false).await?;
    Ok(usages.into_iter().next().unwrap_or_default())
}

/// The span of the running usage sums (`usage_buckets`): a quarter of an hour, in µs.
const BUCKET_MICROS: i64 = 15 * 60 * 1_000_000;

/// Whether a window may start or end at `at` and be summed from the buckets: local midnights
/// are, in every time zone in use (their offsets from UTC are whole quarters of an hour).
fn on_bucket_edge(at: Timestamp) -> bool {
    at.micros().rem_euclid(BUCKET_MICROS) == 0
}

/// What a member's jobs counted in each of `windows` (`[start, end)`) add up to, leaving out
/// `except`: from the running sums of `usage_buckets` when everything counts and every window
/// starts and ends on a quarter of an hour (calendar windows do), otherwise in one pass over
/// the member's rows of the stretch the windows cover together; and, when `active` is asked
/// for, in the same statement, how many of their jobs count against `max_active_jobs` (see
/// [`count_active_jobs`]).
pub async fn member_usage_in(
    conn: &mut Conn,
    org: OrgId,
    member: MemberId,
    windows: &[(Timestamp, Timestamp)],
    counting: Counting,
    except: ExceptRun,
    active: bool,
) -> Result<(Vec<Usage>, Option<i64>), StoreError> {
    let (except_job, except_run) = except.map_or((0, 0), |(job, run)| (job.get(), run));
    let active_count = match counting {
        // The running count on the account row, less the left-out job if it counts.
        Counting::All => format!(
            "((SELECT active_jobs FROM memberships WHERE org_id = $1 AND id = $2) \
             - (SELECT COUNT(*) FROM jobs WHERE org_id = $1 AND owner_member_id = $2 \
             AND id = $3 AND state IN ({}))) AS active",
            active_states(counting)
        ),
        Counting::Started => format!(
            "(SELECT COUNT(*) FROM jobs WHERE org_id = $1 AND owner_member_id = $2 \
             AND id <> $3 AND state IN ({})) AS active",
            active_states(counting)
        ),
    };
    let (Some(first), Some(last)) = (
        windows.iter().map(|w| w.0).min(),
        windows.iter().map(|w| w.1).max(),
    ) else {
        if !active {
            return Ok((Vec::new(), None));
        }
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {active_count}")))
            .bind(org.get())
            .bind(member.get())
            .bind(except_job)
            .fetch_one(&mut *conn)
            .await?;
        return Ok((Vec::new(), Some(int(&row, "active")?)));
    };
    let from_buckets = counting == Counting::All
        && windows
            .iter()
            .all(|(start, end)| on_bucket_edge(*start) && on_bucket_edge(*end));
    let rows = if from_buckets {
        // The running sums of the quarters of an hour in the stretch, less the left-out run.
        "(SELECT starts_at AS counted_at, prints, seconds, grams, cost_minor FROM usage_buckets \
         WHERE org_id = $1 AND member_id = $2 AND starts_at >= $5 AND starts_at < $6 \
         UNION ALL SELECT counted_at, -prints, -seconds, -grams, -cost_minor FROM job_usage \
         WHERE org_id = $1 AND member_id = $2 AND job_id = $3 AND run = $4 \
         AND counted_at >= $5 AND counted_at < $6) AS counted"
            .to_string()
    } else {
        let states = match counting {
            Counting::All => "",
            Counting::Started => STARTED_ONLY,
        };
        format!(
            "job_usage WHERE org_id = $1 AND member_id = $2 AND counted_at >= $5 \
             AND counted_at < $6 AND NOT (job_id = $3 AND run = $4){states}"
        )
    };
    let mut columns = Vec::new();
    for (i, _) in windows.iter().enumerate() {
        let (start, end) = (7 + 2 * i, 8 + 2 * i);
        for column in ["prints", "seconds", "grams", "cost_minor"] {
            columns.push(format!(
                "CAST(COALESCE(SUM(CASE WHEN counted_at >= ${start} AND counted_at < ${end} \
                 THEN {column} ELSE 0 END), 0) AS BIGINT) AS {column}_{i}"
            ));
        }
    }
    if active {
        columns.push(active_count);
    }
    let sql = format!("SELECT {} FROM {rows}", columns.join(", "));
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(org.get())
        .bind(member.get())
        .bind(except_job)
        .bind(except_run)
        .bind(first.micros())
        .bind(last.micros());
    for (start, end) in windows {
        query = query.bind(start.micros()).bind(end.micros());
    }
    let row = query.fetch_one(&mut *conn).await?;
    let usages = (0..windows.len())
        .map(|i| {
            Ok(Usage {
                prints: int(&row, &format!("prints_{i}"))?,
                seconds: int(&row, &format!("seconds_{i}"))?,
                grams: int(&row, &format!("grams_{i}"))?,
                cost_minor: int(&row, &format!("cost_minor_{i}"))?,
            })
        })
        .collect::<Result<Vec<Usage>, StoreError>>()?;
    let active = if active {
        Some(int(&row, "active")?)
    } else {
        None
    };
    Ok((usages, active))
}

/// What a member's jobs counted in `[start, end)` add up to, summed row by row: what the
/// running sums of `usage_buckets` must always equal.
pub async fn member_usage_from_rows(
    conn: &mut Conn,
    org: OrgId,
    member: MemberId,
    start: Timestamp,
    end: Timestamp,
) -> Result<Usage, StoreError> {
    let row = sqlx::query(
        "SELECT CAST(COALESCE(SUM(prints), 0) AS BIGINT) AS prints, \
         CAST(COALESCE(SUM(seconds), 0) AS BIGINT) AS seconds, \
         CAST(COALESCE(SUM(grams), 0) AS BIGINT) AS grams, \
         CAST(COALESCE(SUM(cost_minor), 0) AS BIGINT) AS cost_minor \
         FROM job_usage WHERE org_id = $1 AND member_id = $2 AND counted_at >= $3 \
         AND counted_at < $4",
    )
    .bind(org.get())
    .bind(member.get())
    .bind(start.micros())
    .bind(end.micros())
    .fetch_one(&mut *conn)
    .await?;
    Ok(Usage {
        prints: int(&row, "prints")?,
        seconds: int(&row, "seconds")?,
        grams: int(&row, "grams")?,
        cost_minor: int(&row, "cost_minor")?,
    })
}

/// A member's jobs that count against `max_active_jobs`, leaving out `except`.
pub async fn count_active_jobs(
    conn: &mut Conn,
    org: OrgId,
    member: MemberId,
    counting: Counting,
    except: Option<JobId>,
) -> Result<i64, StoreError> {
    let except = except.map(|job| (job, 0));
    let (_, active) = member_usage_in(conn, org, member, &[], counting, except, true).await?;
    Ok(active.unwrap_or(0))
}

/// Seconds the prints of a job that started at or after `since` ran (those that ended, and
/// those still running up to `now`): what one run of it printed.
pub async fn job_printed_seconds(
    conn: &mut Conn,
    org: OrgId,
    job: JobId,
    since: Timestamp,
    now: Timestamp,
) -> Result<i64, StoreError> {
    let row = sqlx::query(
        "SELECT CAST(COALESCE(SUM(COALESCE(ended_at, $3) - started_at), 0) AS BIGINT) AS micros \
         FROM prints WHERE org_id = $1 AND job_id = $2 AND started_at >= $4",
    )
    .bind(org.get())
    .bind(job.get())
    .bind(now.micros())
    .bind(since.micros())
    .fetch_one(&mut *conn)
    .await?;
    Ok(int(&row, "micros")?.max(0) / 1_000_000)
}

/// Locks the member's account until the transaction ends: every unit of work that checks or
/// changes a member's allowances or money takes it first, so two of them for one member run one
/// after the other (on SQLite the write lock already does).
pub async fn lock_member_account(
    tx: &mut WriteTx,
    org: OrgId,
    member: MemberId,
) -> Result<bool, StoreError> {
    let sql = format!(
        "SELECT id FROM memberships WHERE org_id = $1 AND id = $2{}",
        tx.dialect().row_lock_clause
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(org.get())
        .bind(member.get())
        .fetch_optional(&mut **tx)
        .await?;
    Ok(row.is_some())
}

/// What one job counts, with where it printed, for reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageFact {
    pub job_id: JobId,
    pub member_id: MemberId,
    pub printer_id: Option<domain::PrinterId>,
    pub counted_at: Timestamp,
    pub usage: Usage,
}

/// What the organization's jobs counted in `[from, to)`, oldest first; released jobs (which
/// count nothing) left out.
pub async fn usage_facts(
    conn: &mut Conn,
    org: OrgId,
    from: Timestamp,
    to: Timestamp,
) -> Result<Vec<UsageFact>, StoreError> {
    let rows = sqlx::query(
        "SELECT u.job_id, u.member_id, j.printer_id, u.counted_at, u.prints, u.seconds, \
         u.grams, u.cost_minor FROM job_usage u JOIN jobs j ON j.id = u.job_id \
         WHERE u.org_id = $1 AND u.counted_at >= $2 AND u.counted_at < $3 AND u.prints > 0 \
         ORDER BY u.counted_at, u.job_id, u.run",
    )
    .bind(org.get())
    .bind(from.micros())
    .bind(to.micros())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(UsageFact {
                job_id: JobId(int(row, "job_id")?),
                member_id: MemberId(int(row, "member_id")?),
                printer_id: opt_int(row, "printer_id")?.map(domain::PrinterId),
                counted_at: ts(row, "counted_at")?,
                usage: Usage {
                    prints: int(row, "prints")?,
                    seconds: int(row, "seconds")?,
                    grams: int(row, "grams")?,
                    cost_minor: int(row, "cost_minor")?,
                },
            })
        })
        .collect()
}

/// Which workgroups each member of the organization is in.
pub async fn workgroup_memberships(
    conn: &mut Conn,
    org: OrgId,
) -> Result<Vec<(WorkgroupId, MemberId)>, StoreError> {
    let rows = sqlx::query(
        "SELECT wm.workgroup_id, wm.member_id FROM workgroup_members wm \
         JOIN workgroups w ON w.id = wm.workgroup_id WHERE w.org_id = $1",
    )
    .bind(org.get())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok((
                WorkgroupId(int(row, "workgroup_id")?),
                MemberId(int(row, "member_id")?),
            ))
        })
        .collect()
}
