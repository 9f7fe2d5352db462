//! The queue: listing (own or all, filtered, cursor-paginated), editing a job that has not
//! started, moving it to another target, reordering, cancelling, reviving a finished job and
//! reprinting.

use std::collections::BTreeMap;

use authz::Permission;
use domain::{
    AnswerValue, Invalid, Job, JobId, JobState, JobStep, JobTarget, MemberId, PrinterId,
    QuestionId, Timestamp,
};
use serde_json::json;

use super::files::usable_file;
use super::submission::{SubmitJob, check_answers, check_fields, check_submission, entry_state};
use super::{JobView, Jobs, Step, job_summary, may_read_answers, may_see, own_or_all};
use crate::actor::OrgActor;
use crate::error::{AppError, AppResult, ErrorCode};
use crate::unit_of_work::{Audit, Changes, Found};

/// Filters of a listing, as the API takes them.
#[derive(Debug, Clone, Default)]
pub struct JobQuery {
    pub state: Option<JobState>,
    pub owner: Option<MemberId>,
    pub printer: Option<PrinterId>,
    pub target: Option<JobTarget>,
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    /// Jobs whose number, note, owner or file holds this text (ignoring case).
    pub text: Option<String>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

/// The longest text a listing searches for.
const MAX_SEARCH_TEXT: usize = 200;

/// A listing's text search, over what the actor may see of the jobs: the files' names as the
/// library shows them to the actor, and the owners' emails only to those who see the members.
pub(super) fn job_text(actor: &OrgActor, text: Option<&str>) -> AppResult<Option<store::JobText>> {
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if text.chars().count() > MAX_SEARCH_TEXT {
        return Err(Invalid::new(
            "text",
            format!("is longer than {MAX_SEARCH_TEXT} characters"),
        )
        .into());
    }
    let files = if actor.holds(Permission::FilesViewAll) || actor.holds(Permission::FilesManageAll)
    {
        Some(store::Visibility::All)
    } else if actor.holds(Permission::FilesView) {
        Some(store::Visibility::Member(actor.member_id()))
    } else {
        None
    };
    Ok(Some(store::JobText {
        text: text.to_string(),
        files,
        emails: actor.holds(Permission::MembersView),
    }))
}

/// A page of jobs and the cursor of the next one.
#[derive(Debug, Clone)]
pub struct JobPage {
    pub jobs: Vec<JobView>,
    pub next_cursor: Option<String>,
}

/// Changes to a job that has not started; absent fields stay as they are.
#[derive(Debug, Clone, Default)]
pub struct JobEdit {
    pub note: Option<String>,
    pub priority: Option<i32>,
    pub copies: Option<i32>,
    pub target: Option<JobTarget>,
    pub answers: Option<BTreeMap<QuestionId, AnswerValue>>,
}

/// Where a job goes in the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reorder {
    /// Just before this job.
    Before(JobId),
    /// At the end.
    Last,
}

fn bad_cursor() -> AppError {
    Invalid::new("cursor", "is not a cursor this listing gave").into()
}

fn queue_cursor(text: &str) -> AppResult<store::QueueCursor> {
    let parts: Vec<&str> = text.split('.').collect();
    let [p, q, i] = parts.as_slice() else {
        return Err(bad_cursor());
    };
    Ok(store::QueueCursor {
        priority: p.parse().map_err(|_| bad_cursor())?,
        queue_position: q.parse().map_err(|_| bad_cursor())?,
        id: JobId(i.parse().map_err(|_| bad_cursor())?),
    })
}

fn history_cursor(text: &str) -> AppResult<store::HistoryCursor> {
    let (f, i) = text.split_once('.').ok_or_else(bad_cursor)?;
    Ok(store::HistoryCursor {
        finished_at: Timestamp::from_micros(f.parse().map_err(|_| bad_cursor())?),
        id: JobId(i.parse().map_err(|_| bad_cursor())?),
    })
}

impl Jobs<'_> {
    /// Jobs in the queue (`history` false) or finished (`history` true): the actor's own with
    /// `.own`, everyone's with `.all`.
    pub async fn list(
        &self,
        actor: &OrgActor,
        query: JobQuery,
        history: bool,
    ) -> AppResult<JobPage> {
        let (own, all) = if history {
            (Permission::QueueHistoryOwn, Permission::QueueHistoryAll)
        } else {
            (Permission::QueueViewOwn, Permission::QueueViewAll)
        };
        let owner = if actor.holds(all) {
            query.owner
        } else {
            actor.require(own)?;
            if query.owner.is_some_and(|o| o != actor.member_id()) {
                actor.require(all)?;
            }
            Some(actor.member_id())
        };
        let limit = crate::paging::page_size(query.limit)?;
        if let Some(state) = query.state
            && state.is_finished() != history
        {
            return Err(Invalid::new(
                "state",
                if history {
                    format!("{state} jobs are in the queue, not the history")
                } else {
                    format!("{state} jobs are in the history (…/jobs/history), not the queue")
                },
            )
            .into());
        }
        let filter = store::JobFilter {
            states: query.state.into_iter().collect(),
            owner,
            printer: query.printer,
            target: query.target,
            from: query.from,
            to: query.to,
            text: job_text(actor, query.text.as_deref())?,
        };
        let list = match (&query.cursor, history) {
            (None, false) => store::JobList::Queue { after: None },
            (None, true) => store::JobList::History { after: None },
            (Some(c), false) => store::JobList::Queue {
                after: Some(queue_cursor(c)?),
            },
            (Some(c), true) => store::JobList::History {
                after: Some(history_cursor(c)?),
            },
        };
        let mut conn = self.app.store().read().await?;
        let mut jobs = store::list_jobs(&mut conn, actor.org(), &filter, list, limit + 1).await?;
        let next_cursor = if jobs.len() > limit as usize {
            jobs.truncate(limit as usize);
            jobs.last().map(|last| match last.finished_at {
                Some(finished) if history => format!("{}.{}", finished.micros(), last.id),
                _ => format!("{}.{}.{}", last.priority, last.queue_position, last.id),
            })
        } else {
            None
        };
        let readable: Vec<JobId> = jobs
            .iter()
            .filter(|job| may_read_answers(actor, job.owner_member_id))
            .map(|job| job.id)
            .collect();
        let mut answers = store::answers_of_jobs(&mut conn, &readable).await?;
        let ids: Vec<JobId> = jobs.iter().map(|job| job.id).collect();
        let mut costs = super::job_costs(&mut conn, actor.org(), &ids).await?;
        let views = jobs
            .into_iter()
            .map(|job| {
                let readable = may_read_answers(actor, job.owner_member_id);
                let answers = readable.then(|| answers.remove(&job.id).unwrap_or_default());
                let cost = costs.remove(&job.id);
                JobView { job, answers, cost }
            })
            .collect();
        Ok(JobPage {
            jobs: views,
            next_cursor,
        })
    }

    /// Edits a job that has not started: its owner with `queue.edit.own`, anyone's with
    /// `queue.edit.all`; a priority needs `queue.reorder`, a new target passes the submission's
    /// checks again.
    pub async fn edit(&self, actor: &OrgActor, id: JobId, edit: JobEdit) -> AppResult<JobView> {
        let mut uow = self.app.begin(actor, Changes::Data).await?;
        let job = self.load(&mut uow, id).await?;
        own_or_all(
            uow.actor(),
            &job,
            Permission::QueueEditOwn,
            Permission::QueueEditAll,
        )?;
        if !job.state.is_editable() {
            return Err(AppError::conflict(
                ErrorCode::InvalidTransition,
                format!("a job that is {} can no longer be edited", job.state),
            ));
        }
        let fields = edited_fields(&job, &edit)?;
        if fields.priority != job.priority {
            uow.actor().require(Permission::QueueReorder)?;
        }
        if fields.target != job.target {
            let (_, facts) = usable_file(&mut uow, job.file_id).await?;
            check_submission(&mut uow, fields.target, &facts, &BTreeMap::new()).await?;
        }
        if let Some(answers) = &edit.answers {
            if !may_read_answers(uow.actor(), job.owner_member_id) {
                uow.actor().require(Permission::SubmissionsViewAllAnswers)?;
            }
            check_answers(&mut uow, answers).await?;
            store::set_answers(uow.conn(), job.id, answers).await?;
        }
        let (org, now) = (uow.actor().org(), uow.now());
        let stored = store::JobFields {
            target: fields.target,
            priority: fields.priority,
            copies: fields.copies,
            note: &fields.note,
        };
        store::update_job_fields(uow.conn(), org, job.id, &stored, now).await?;
        let after = store::get_job(uow.conn(), org, job.id).await.found("job")?;
        if after.copies != job.copies || after.target != job.target {
            crate::quotas::rehold_edited_job(&mut uow, &after).await?;
        }
        let changed = json!({ "before": job_summary(&job), "after": job_summary(&after),
            "answers_changed": edit.answers.is_some() });
        self.record(
            &mut uow,
            &after,
            JobStep::Edited,
            Some(job.state),
            None,
            changed,
        )
        .await?;
        uow.audit(
            Audit::of("job.edit", "job", job.id)
                .before(job_summary(&job))
                .after(job_summary(&after)),
        );
        uow.commit().await?;
        self.get_job(actor, id).await
    }

    /// Sends a job that has not started to another target (which passes the submission's
    /// checks): the owner with `queue.move.own`, anyone's with `queue.move.all`.
    pub async fn move_job(
        &self,
        actor: &OrgActor,
        id: JobId,
        target: JobTarget,
    ) -> AppResult<JobView> {
        let mut uow = self.app.begin(actor, Changes::Data).await?;
        let job = self.load(&mut uow, id).await?;
        own_or_all(
            uow.actor(),
            &job,
            Permission::QueueMoveOwn,
            Permission::QueueMoveAll,
        )?;
        if !job.state.is_editable() {
            return Err(AppError::conflict(
                ErrorCode::InvalidTransition,
                format!("a job that is {} can no longer be moved", job.state),
            ));
        }
        let (_, facts) = usable_file(&mut uow, job.file_id).await?;
        check_submission(&mut uow, target, &facts, &BTreeMap::new()).await?;
        let (org, now) = (uow.actor().org(), uow.now());
        let fields = store::JobFields {
            target,
            priority: job.priority,
            copies: job.copies,
            note: &job.note,
        };
        store::update_job_fields(uow.conn(), org, job.id, &fields, now).await?;
        let after = store::get_job(uow.conn(), org, job.id).await.found("job")?;
        if after.target != job.target {
            crate::quotas::rehold_edited_job(&mut uow, &after).await?;
        }
        let (from_kind, from_id) = job.target.parts();
        let (to_kind, to_id) = target.parts();
        let detail = json!({ "from": { "kind": from_kind, "id": from_id },
            "to": { "kind": to_kind, "id": to_id } });
        self.record(
            &mut uow,
            &after,
            JobStep::Moved,
            Some(job.state),
            None,
            detail,
        )
        .await?;
        uow.audit(
            Audit::of("job.move", "job", job.id)
                .before(job_summary(&job))
                .after(job_summary(&after)),
        );
        uow.commit().await?;
        self.get_job(actor, id).await
    }

    /// Puts a waiting job elsewhere in the line (`queue.reorder`).
    pub async fn reorder(&self, actor: &OrgActor, id: JobId, place: Reorder) -> AppResult<JobView> {
        let mut uow = self.app.begin(actor, Changes::Data).await?;
        uow.actor().require(Permission::QueueReorder)?;
        let job = self.load(&mut uow, id).await?;
        if job.state.is_finished() || job.state.has_started() {
            return Err(AppError::conflict(
                ErrorCode::InvalidTransition,
                format!("a job that is {} is no longer in line", job.state),
            ));
        }
        let org = uow.actor().org();
        let position = match place {
            Reorder::Before(other) => {
                let other = store::get_job(uow.conn(), org, other).await.found("job")?;
                if other.state.is_finished() {
                    return Err(
                        Invalid::new("before_job_id", "names a job no longer in line").into(),
                    );
                }
                store::shift_queue_from(uow.conn(), org, other.queue_position).await?;
                other.queue_position
            }
            Reorder::Last => store::last_queue_position(uow.conn(), org).await? + 1,
        };
        let now = uow.now();
        store::set_queue_position(uow.conn(), org, job.id, position, now).await?;
        let after = store::get_job(uow.conn(), org, job.id).await.found("job")?;
        let detail = json!({ "from": job.queue_position, "to": after.queue_position });
        self.record(
            &mut uow,
            &after,
            JobStep::Reordered,
            Some(job.state),
            None,
            detail,
        )
        .await?;
        uow.audit(
            Audit::of("job.reorder", "job", job.id)
                .before(json!({ "queue_position": job.queue_position }))
                .after(json!({ "queue_position": after.queue_position })),
        );
        uow.commit().await?;
        self.get_job(actor, id).await
    }

    /// Cancels a job that has not started: the owner with `queue.cancel.own`, anyone's with
    /// `queue.cancel.all`. (A printing job is cancelled at its printer.)
    pub async fn cancel(&self, actor: &OrgActor, id: JobId) -> AppResult<JobView> {
        let mut uow = self.app.begin(actor, Changes::Data).await?;
        let job = self.load(&mut uow, id).await?;
        own_or_all(
            uow.actor(),
            &job,
            Permission::QueueCancelOwn,
            Permission::QueueCancelAll,
        )?;
        if job.state.has_started() {
            return Err(AppError::conflict(
                ErrorCode::InvalidTransition,
                format!(
                    "a job that is {} is cancelled at its printer (…/printers/{{id}}/cancel)",
                    job.state
                ),
            ));
        }
        let job = self
            .take_step(
                &mut uow,
                &job,
                Step::to(JobStep::Cancelled, JobState::Cancelled),
                "job.cancel",
            )
            .await?;
        uow.commit().await?;
        self.get_job(actor, job.id).await
    }

    /// Puts a finished job back in line, through approval when the organization requires it:
    /// the owner with `queue.revive.own`, anyone's with `queue.revive.all`.
    pub async fn revive(&self, actor: &OrgActor, id: JobId) -> AppResult<JobView> {
        let mut uow = self.app.begin(actor, Changes::Data).await?;
        let job = self.load(&mut uow, id).await?;
        own_or_all(
            uow.actor(),
            &job,
            Permission::QueueReviveOwn,
            Permission::QueueReviveAll,
        )?;
        let to = entry_state(&mut uow).await?;
        let job = self
            .take_step(&mut uow, &job, Step::to(JobStep::Revived, to), "job.revive")
            .await?;
        super::back_in_line(uow.conn(), actor.org(), job.id).await?;
        uow.commit().await?;
        self.app.wake_dispatcher();
        self.get_job(actor, job.id).await
    }

    /// A new job of the actor's from one they can see, through the same checks as a
    /// submission; the original is untouched (still approvable or rejectable).
    pub async fn reprint(&self, actor: &OrgActor, id: JobId) -> AppResult<JobView> {
        let mut uow = self.app.begin(actor, Changes::Data).await?;
        uow.actor().require(Permission::QueueReprint)?;
        uow.actor().require(Permission::QueueSubmit)?;
        let org = uow.actor().org();
        let original = store::get_job(uow.conn(), org, id).await.found("job")?;
        if !may_see(uow.actor(), &original) {
            return Err(AppError::not_found("job"));
        }
        let answers = if original.owner_member_id == uow.actor().member_id() {
            store::job_answers(uow.conn(), original.id).await?
        } else {
            BTreeMap::new()
        };
        let input = SubmitJob {
            file_id: original.file_id,
            target: original.target,
            copies: original.copies,
            priority: 0,
            note: original.note.clone(),
            answers,
        };
        let (_, facts) = usable_file(&mut uow, input.file_id).await?;
        check_submission(&mut uow, input.target, &facts, &input.answers).await?;
        let state = entry_state(&mut uow).await?;
        let (job, _) = self
            .insert(&mut uow, &input, &facts, state, Some(&original), None)
            .await?;
        uow.commit().await?;
        self.get_job(actor, job.id).await
    }
}

struct Fields {
    target: JobTarget,
    priority: i32,
    copies: i32,
    note: String,
}

fn edited_fields(job: &Job, edit: &JobEdit) -> AppResult<Fields> {
    let fields = Fields {
        target: edit.target.unwrap_or(job.target),
        priority: edit.priority.unwrap_or(job.priority),
        copies: edit.copies.unwrap_or(job.copies),
        note: edit.note.clone().unwrap_or_else(|| job.note.clone()),
    };
    check_fields(fields.copies, fields.priority, &fields.note)?;
    Ok(fields)
}
