//! Jobs: the queue (in order) and the history (newest first).

use domain::{FileId, Job, JobId, JobState, JobTarget, MemberId, OrgId, PrinterId, Timestamp};
use sqlx::any::AnyRow;

use crate::rows::{int, like_pattern, opt_int, opt_text, opt_ts, text, ts};
use crate::{Conn, StoreError};

pub(super) const JOB_COLUMNS: &str = "id, org_id, owner_member_id, file_id, target_kind, target_id, \
     printer_id, state, priority, copies, copies_done, note, reason, queue_position, reprint_of, created_at, \
     updated_at, finished_at";

/// The states of the queue, as the partial index `jobs_queue` names them: a query must repeat
/// this exact condition for the planner to use that index.
const IN_QUEUE: &str = "state IN ('pending_approval', 'sent_back', 'queued', 'assigned', 'printing', 'paused', 'unknown')";

fn small(row: &AnyRow, col: &str) -> Result<i32, StoreError> {
    i32::try_from(int(row, col)?).map_err(|_| StoreError::Corrupt(format!("{col} out of range")))
}

pub(super) fn job_from_row(row: &AnyRow) -> Result<Job, StoreError> {
    let state = text(row, "state")?;
    let target_kind = text(row, "target_kind")?;
    let target_id = opt_int(row, "target_id")?;
    Ok(Job {
        id: JobId(int(row, "id")?),
        org_id: OrgId(int(row, "org_id")?),
        owner_member_id: MemberId(int(row, "owner_member_id")?),
        file_id: FileId(int(row, "file_id")?),
        target: JobTarget::from_parts(&target_kind, target_id).ok_or_else(|| {
            StoreError::Corrupt(format!("job target {target_kind:?} {target_id:?}"))
        })?,
        printer_id: opt_int(row, "printer_id")?.map(PrinterId),
        state: JobState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("job state {state:?}")))?,
        priority: small(row, "priority")?,
        copies: small(row, "copies")?,
        copies_done: small(row, "copies_done")?,
        note: text(row, "note")?,
        reason: opt_text(row, "reason")?,
        queue_position: int(row, "queue_position")?,
        reprint_of: opt_int(row, "reprint_of")?.map(JobId),
        created_at: ts(row, "created_at")?,
        updated_at: ts(row, "updated_at")?,
        finished_at: opt_ts(row, "finished_at")?,
    })
}

/// A job to insert.
pub struct NewJob<'a> {
    pub owner: MemberId,
    pub file: FileId,
    pub target: JobTarget,
    pub state: JobState,
    pub priority: i32,
    pub copies: i32,
    pub note: &'a str,
    pub reprint_of: Option<JobId>,
    /// The submission's `Idempotency-Key` and the hash of its body.
    pub idempotency: Option<(&'a str, &'a str)>,
}

/// Inserts a job at the end of its priority's line.
pub async fn insert_job(
    conn: &mut Conn,
    org: OrgId,
    job: &NewJob<'_>,
    now: Timestamp,
) -> Result<Job, StoreError> {
    let (kind, target_id) = job.target.parts();
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO jobs (org_id, owner_member_id, file_id, target_kind, target_id, state, \
         priority, copies, note, queue_position, reprint_of, idempotency_key, request_hash, \
         created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
         (SELECT COALESCE(MAX(queue_position), 0) + 1 FROM jobs WHERE org_id = $1), \
         $10, $11, $12, $13, $13) RETURNING {JOB_COLUMNS}"
    )))
    .bind(org.get())
    .bind(job.owner.get())
    .bind(job.file.get())
    .bind(kind)
    .bind(target_id)
    .bind(job.state.key())
    .bind(job.priority)
    .bind(job.copies)
    .bind(job.note.to_string())
    .bind(job.reprint_of.map(JobId::get))
    .bind(job.idempotency.map(|(key, _)| key.to_string()))
    .bind(job.idempotency.map(|(_, hash)| hash.to_string()))
    .bind(now.micros())
    .fetch_one(&mut *conn)
    .await?;
    job_from_row(&row)
}

pub async fn get_job(conn: &mut Conn, org: OrgId, id: JobId) -> Result<Option<Job>, StoreError> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {JOB_COLUMNS} FROM jobs WHERE org_id = $1 AND id = $2"
    )))
    .bind(org.get())
    .bind(id.get())
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(job_from_row).transpose()
}

/// The job a member submitted under an idempotency key, with the hash of that submission's
/// body.
pub async fn job_by_idempotency_key(
    conn: &mut Conn,
    org: OrgId,
    owner: MemberId,
    key: &str,
) -> Result<Option<(JobId, String)>, StoreError> {
    let row = sqlx::query(
        "SELECT id, request_hash FROM jobs \
         WHERE org_id = $1 AND owner_member_id = $2 AND idempotency_key = $3",
    )
    .bind(org.get())
    .bind(owner.get())
    .bind(key.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|row| {
        Ok((
            JobId(int(&row, "id")?),
            opt_text(&row, "request_hash")?.unwrap_or_default(),
        ))
    })
    .transpose()
}

/// What an edit may change.
pub struct JobFields<'a> {
    pub target: JobTarget,
    pub priority: i32,
    pub copies: i32,
    pub note: &'a str,
}

pub async fn update_job_fields(
    conn: &mut Conn,
    org: OrgId,
    id: JobId,
    fields: &JobFields<'_>,
    now: Timestamp,
) -> Result<(), StoreError> {
    let (kind, target_id) = fields.target.parts();
    sqlx::query(
        "UPDATE jobs SET target_kind = $1, target_id = $2, priority = $3, copies = $4, note = $5, \
         updated_at = $6 WHERE org_id = $7 AND id = $8",
    )
    .bind(kind)
    .bind(target_id)
    .bind(fields.priority)
    .bind(fields.copies)
    .bind(fields.note.to_string())
    .bind(now.micros())
    .bind(org.get())
    .bind(id.get())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A change of state.
pub struct JobStateChange<'a> {
    pub from: JobState,
    pub to: JobState,
    /// The new reason (rejection, send-back), or `None` to keep the last one.
    pub reason: Option<&'a str>,
    /// The printer it goes to, when approval or assignment names one.
    pub printer: Option<PrinterId>,
}

/// Moves a job from one state to another, only if it is still in `from`: returns whether it
/// was (a concurrent change wins, and the caller reports the conflict).
pub async fn change_job_state(
    conn: &mut Conn,
    org: OrgId,
    id: JobId,
    change: &JobStateChange<'_>,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let finished_at = change.to.is_finished().then_some(now.micros());
    let result = sqlx::query(
        "UPDATE jobs SET state = $1, reason = COALESCE($2, reason), \
         printer_id = COALESCE($3, printer_id), finished_at = $4, updated_at = $5 \
         WHERE org_id = $6 AND id = $7 AND state = $8",
    )
    .bind(change.to.key())
    .bind(change.reason.map(str::to_string))
    .bind(change.printer.map(PrinterId::get))
    .bind(finished_at)
    .bind(now.micros())
    .bind(org.get())
    .bind(id.get())
    .bind(change.from.key())
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Puts a job at `position` in the organization's line.
pub async fn set_queue_position(
    conn: &mut Conn,
    org: OrgId,
    id: JobId,
    position: i64,
    now: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE jobs SET queue_position = $1, updated_at = $2 WHERE org_id = $3 AND id = $4",
    )
    .bind(position)
    .bind(now.micros())
    .bind(org.get())
    .bind(id.get())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Makes room at a position: every queued job of the organization at or after it moves one
/// place back.
pub async fn shift_queue_from(
    conn: &mut Conn,
    org: OrgId,
    position: i64,
) -> Result<(), StoreError> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE jobs SET queue_position = queue_position + 1 \
         WHERE org_id = $1 AND {IN_QUEUE} AND queue_position >= $2"
    )))
    .bind(org.get())
    .bind(position)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Which jobs a list holds. Every filter is optional; `owner` is also how a member without
/// `.all` sees only their own.
#[derive(Debug, Clone, Default)]
pub struct JobFilter {
    pub states: Vec<JobState>,
    pub owner: Option<MemberId>,
    pub printer: Option<PrinterId>,
    pub target: Option<JobTarget>,
    /// Created at or after.
    pub from: Option<Timestamp>,
    /// Created before.
    pub to: Option<Timestamp>,
    pub text: Option<JobText>,
}

/// A search of jobs by what a list shows of them: the number, the note, the owner's name (and
/// email) and the file's name, ignoring case; `%` and `_` are plain characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobText {
    pub text: String,
    /// Whose view of the library the file names are read with (`None`: no file names, for
    /// someone who may not see the library).
    pub files: Option<crate::Visibility>,
    /// Whether the owners' emails are searched too (for those who see the member directory).
    pub emails: bool,
}

impl JobText {
    /// The condition, binding its parameters after those already in `params` (`$1` is the
    /// organization).
    fn condition(&self, params: &mut Vec<Param>) -> String {
        params.push(Param::Text(like_pattern(&self.text)));
        let pattern = params.len();
        let like = |column: &str| format!("LOWER({column}) LIKE ${pattern} ESCAPE '\\'");
        let mut owner = like("u.name");
        if self.emails {
            owner = format!("{owner} OR {}", like("u.email"));
        }
        let mut any = vec![
            like("jobs.note"),
            format!(
                "jobs.owner_member_id IN (SELECT m.id FROM memberships m JOIN users u \
                 ON u.id = m.user_id WHERE m.org_id = $1 AND ({owner}))"
            ),
        ];
        if let Some(files) = self.files {
            let mut file = format!(
                "jobs.file_id IN (SELECT f.id FROM files f WHERE f.org_id = $1 AND {}",
                like("f.name")
            );
            if let crate::Visibility::Member(member) = files {
                params.push(Param::Int(member.get()));
                file.push_str(&format!(
                    " AND {}",
                    crate::files::file_visible_sql(&format!("${}", params.len()), "$1")
                ));
            }
            any.push(format!("{file})"));
        }
        let number = self.text.strip_prefix('#').unwrap_or(&self.text);
        if let Ok(id) = number.parse::<i64>() {
            params.push(Param::Int(id));
            any.push(format!("jobs.id = ${}", params.len()));
        }
        format!("({})", any.join(" OR "))
    }
}

/// The two orders a list can take, each with its keyset cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobList {
    /// Jobs in the queue, in the order they will be taken: priority (highest first), then
    /// position.
    Queue { after: Option<QueueCursor> },
    /// Finished jobs, most recently finished first.
    History { after: Option<HistoryCursor> },
}

/// Where a queue page ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueCursor {
    pub priority: i32,
    pub queue_position: i64,
    pub id: JobId,
}

/// Where a history page ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryCursor {
    pub finished_at: Timestamp,
    pub id: JobId,
}

enum Param {
    Int(i64),
    Text(String),
}

/// Up to `limit` jobs of a list, from its cursor.
pub async fn list_jobs(
    conn: &mut Conn,
    org: OrgId,
    filter: &JobFilter,
    list: JobList,
    limit: u32,
) -> Result<Vec<Job>, StoreError> {
    let mut conditions = vec!["org_id = $1".to_string()];
    let mut params = vec![Param::Int(org.get())];
    if !filter.states.is_empty() {
        let keys: Vec<String> = filter
            .states
            .iter()
            .map(|s| format!("'{}'", s.key()))
            .collect();
        // State keys are the enum's own constants, never input.
        conditions.push(format!("state IN ({})", keys.join(", ")));
    }
    let mut bind = |condition: &str, param: Param| {
        params.push(param);
        conditions.push(condition.replace('?', &format!("${}", params.len())));
    };
    if let Some(owner) = filter.owner {
        bind("owner_member_id = ?", Param::Int(owner.get()));
    }
    if let Some(printer) = filter.printer {
        bind("printer_id = ?", Param::Int(printer.get()));
    }
    if let Some(target) = filter.target {
        let (kind, id) = target.parts();
        bind("target_kind = ?", Param::Text(kind.to_string()));
        if let Some(id) = id {
            bind("target_id = ?", Param::Int(id));
        }
    }
    if let Some(from) = filter.from {
        bind("created_at >= ?", Param::Int(from.micros()));
    }
    if let Some(to) = filter.to {
        bind("created_at < ?", Param::Int(to.micros()));
    }
    if let Some(text) = &filter.text {
        conditions.push(text.condition(&mut params));
    }
    let order = match list {
        JobList::Queue { after } => {
            conditions.push(IN_QUEUE.to_string());
            if let Some(c) = after {
                let (p, q, i) = (params.len() + 1, params.len() + 2, params.len() + 3);
                params.extend([
                    Param::Int(i64::from(c.priority)),
                    Param::Int(c.queue_position),
                    Param::Int(c.id.get()),
                ]);
                conditions.push(format!(
                    "(priority < ${p} OR (priority = ${p} AND (queue_position > ${q} \
                     OR (queue_position = ${q} AND id > ${i}))))"
                ));
            }
            "priority DESC, queue_position, id"
        }
        JobList::History { after } => {
            conditions.push("finished_at IS NOT NULL".to_string());
            if let Some(c) = after {
                let (f, i) = (params.len() + 1, params.len() + 2);
                params.extend([Param::Int(c.finished_at.micros()), Param::Int(c.id.get())]);
                conditions.push(format!(
                    "(finished_at < ${f} OR (finished_at = ${f} AND id < ${i}))"
                ));
            }
            "finished_at DESC, id DESC"
        }
    };
    let sql = format!(
        "SELECT {JOB_COLUMNS} FROM jobs WHERE {} ORDER BY {order} LIMIT ${}",
        conditions.join(" AND "),
        params.len() + 1
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for param in params {
        query = match param {
            Param::Int(v) => query.bind(v),
            Param::Text(v) => query.bind(v),
        };
    }
    let rows = query.bind(i64::from(limit)).fetch_all(&mut *conn).await?;
    rows.iter().map(job_from_row).collect()
}

/// The last position in the organization's line (0 when nobody ever queued).
pub async fn last_queue_position(conn: &mut Conn, org: OrgId) -> Result<i64, StoreError> {
    let row =
        sqlx::query("SELECT COALESCE(MAX(queue_position), 0) AS last FROM jobs WHERE org_id = $1")
            .bind(org.get())
            .fetch_one(&mut *conn)
            .await?;
    int(&row, "last")
}

/// How many unfinished jobs aim at `target`: those naming it as their target and, for a
/// printer, those already sent to it. Removing a target they need is refused while any are left.
pub async fn count_unfinished_jobs_aiming_at(
    conn: &mut Conn,
    org: OrgId,
    target: JobTarget,
) -> Result<i64, StoreError> {
    let (kind, id) = target.parts();
    let printer = match target {
        JobTarget::Printer(printer) => Some(printer.get()),
        _ => None,
    };
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) AS n FROM jobs WHERE org_id = $1 AND {IN_QUEUE} \
         AND ((target_kind = $2 AND target_id = $3) OR printer_id = $4)"
    )))
    .bind(org.get())
    .bind(kind)
    .bind(id)
    .bind(printer)
    .fetch_one(&mut *conn)
    .await?;
    int(&row, "n")
}

/// Before a printer is removed: finished jobs forget it (their timelines still name it).
pub async fn detach_printer_from_finished_jobs(
    conn: &mut Conn,
    org: OrgId,
    printer: PrinterId,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE jobs SET printer_id = CASE WHEN printer_id = $2 THEN NULL ELSE printer_id END, \
         chosen_printer_id = CASE WHEN chosen_printer_id = $2 THEN NULL ELSE chosen_printer_id END \
         WHERE org_id = $1 AND (printer_id = $2 OR chosen_printer_id = $2)",
    )
    .bind(org.get())
    .bind(printer.get())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The first `limit` queued jobs of an organization in the order the dispatcher takes them:
/// priority (highest first), then their place in line.
pub async fn queued_jobs(conn: &mut Conn, org: OrgId, limit: u32) -> Result<Vec<Job>, StoreError> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {JOB_COLUMNS} FROM jobs WHERE org_id = $1 AND state = 'queued' \
         ORDER BY priority DESC, queue_position, id LIMIT $2"
    )))
    .bind(org.get())
    .bind(i64::from(limit))
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(job_from_row).collect()
}

/// Counts one more printed copy of a job.
pub async fn add_copy_done(conn: &mut Conn, org: OrgId, id: JobId) -> Result<(), StoreError> {
    sqlx::query("UPDATE jobs SET copies_done = copies_done + 1 WHERE org_id = $1 AND id = $2")
        .bind(org.get())
        .bind(id.get())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Starts a job's copies over (a revived job prints all of them anew).
pub async fn reset_copies_done(conn: &mut Conn, org: OrgId, id: JobId) -> Result<(), StoreError> {
    sqlx::query("UPDATE jobs SET copies_done = 0 WHERE org_id = $1 AND id = $2")
        .bind(org.get())
        .bind(id.get())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// How many queued jobs of the organization the dispatcher takes before one at `priority` and
/// `position` in line.
pub async fn count_queued_ahead(
    conn: &mut Conn,
    org: OrgId,
    priority: i32,
    position: i64,
) -> Result<i64, StoreError> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM jobs WHERE org_id = $1 AND state = 'queued' \
         AND (priority > $2 OR (priority = $2 AND queue_position < $3))",
    )
    .bind(org.get())
    .bind(priority)
    .bind(position)
    .fetch_one(&mut *conn)
    .await?;
    int(&row, "n")
}

/// Queued jobs of one owner at one priority: how many, and how many of them stand in line
/// before a given place.
#[derive(Debug, Clone, PartialEq)]
pub struct QueuedCount {
    pub owner: MemberId,
    pub priority: i32,
    pub total: i64,
    pub before: i64,
}

/// The organization's queued jobs counted by owner and priority, with those before `position`
/// in line: what fair share needs to tell how many jobs go before one.
pub async fn queued_by_owner(
    conn: &mut Conn,
    org: OrgId,
    position: i64,
) -> Result<Vec<QueuedCount>, StoreError> {
    let rows = sqlx::query(
        "SELECT owner_member_id, priority, COUNT(*) AS total, \
         SUM(CASE WHEN queue_position < $2 THEN 1 ELSE 0 END) AS before \
         FROM jobs WHERE org_id = $1 AND state = 'queued' GROUP BY owner_member_id, priority",
    )
    .bind(org.get())
    .bind(position)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(QueuedCount {
                owner: MemberId(int(row, "owner_member_id")?),
                priority: i32::try_from(int(row, "priority")?)
                    .map_err(|e| StoreError::Corrupt(format!("job priority: {e}")))?,
                total: int(row, "total")?,
                before: int(row, "before")?,
            })
        })
        .collect()
}

/// The jobs of an organization matched to a printer and not started yet, oldest match first.
pub async fn assigned_jobs(conn: &mut Conn, org: OrgId) -> Result<Vec<Job>, StoreError> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {JOB_COLUMNS} FROM jobs WHERE org_id = $1 AND state = 'assigned' \
         ORDER BY updated_at, id"
    )))
    .bind(org.get())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(job_from_row).collect()
}

/// Sets (or clears) the printer a job goes to.
pub async fn set_job_printer(
    conn: &mut Conn,
    org: OrgId,
    id: JobId,
    printer: Option<PrinterId>,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE jobs SET printer_id = $1 WHERE org_id = $2 AND id = $3")
        .bind(printer.map(PrinterId::get))
        .bind(org.get())
        .bind(id.get())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The printer an approver or an operator chose for the job, if one did.
pub async fn chosen_printer(
    conn: &mut Conn,
    org: OrgId,
    id: JobId,
) -> Result<Option<PrinterId>, StoreError> {
    let row = sqlx::query("SELECT chosen_printer_id FROM jobs WHERE org_id = $1 AND id = $2")
        .bind(org.get())
        .bind(id.get())
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row
        .map(|row| opt_int(&row, "chosen_printer_id"))
        .transpose()?
        .flatten()
        .map(PrinterId))
}

/// Records the printer chosen for the job, which it then goes to.
pub async fn choose_printer(
    conn: &mut Conn,
    org: OrgId,
    id: JobId,
    printer: PrinterId,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE jobs SET chosen_printer_id = $1, printer_id = $1 WHERE org_id = $2 AND id = $3",
    )
    .bind(printer.get())
    .bind(org.get())
    .bind(id.get())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// How many unfinished jobs each organization has in each state.
pub async fn queue_depth(conn: &mut Conn) -> Result<Vec<(OrgId, JobState, i64)>, StoreError> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT org_id, state, COUNT(*) AS n FROM jobs WHERE {IN_QUEUE} \
         GROUP BY org_id, state ORDER BY org_id, state"
    )))
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            let state = text(row, "state")?;
            let state = JobState::parse(&state)
                .ok_or_else(|| StoreError::Corrupt(format!("job state {state:?}")))?;
            Ok((OrgId(int(row, "org_id")?), state, int(row, "n")?))
        })
        .collect()
}
