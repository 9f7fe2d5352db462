use authz::Permission as P;
use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use utoipa_axum::routes;

use super::{ApiRoutes, created};
use crate::WebState;
use crate::api::errors::errors;
use crate::error::ErrorCode as E;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery, OptionalJson, Org};
use crate::wire::ids::{JobId, OrgId, QuestionId};
use crate::wire::jobs::{
    ApprovalItem, ApprovalSetting, Approve, AssignJob, BulkApprove, BulkReject, BulkResult,
    EditJob, Job, JobExportQuery, JobListQuery, JobPage, MoveJob, Question, QuestionInput,
    ReorderJob, SubmitJob, TimelineStep, WhyNotPrinting, WithReason,
};

/// The header that makes a submission safe to retry.
const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// What a submission's checks refuse with.
const SUBMISSION_ERRORS: &[E] = &[
    E::InvalidField,
    E::IdempotencyKeyReused,
    E::NoPrinterForTarget,
    E::DoesNotFit,
    E::MaterialMismatch,
    E::NozzleMismatch,
    E::InvalidAnswers,
    E::FileNotReady,
    E::NotSliced,
    E::QuotaExceeded,
    E::InsufficientBalance,
];

fn idempotency_key(headers: &HeaderMap) -> ApiResult<Option<&str>> {
    headers
        .get(IDEMPOTENCY_KEY)
        .map(|value| {
            value.to_str().map_err(|_| {
                ApiError::from(app::AppError::Invalid(domain::Invalid::new(
                    "Idempotency-Key",
                    "must be visible ASCII characters",
                )))
            })
        })
        .transpose()
}

fn invalid(error: domain::Invalid) -> ApiError {
    ApiError::from(app::AppError::Invalid(error))
}

/// Submit a job: a file of the library, where it may print, how many, and the answers to the
/// organization's questions. It waits for approval when the organization requires it and your
/// rank cannot skip it. With an `Idempotency-Key` header, a retry returns the job the first
/// request made (the same key with another body is 409 `idempotency_key_reused`).
#[utoipa::path(post, path = "/orgs/{org_id}/jobs", tag = "jobs",
    params(("org_id" = OrgId, Path),
        ("Idempotency-Key" = Option<String>, Header, description = "1 to 200 visible ASCII characters; a retry under the same key returns the same job.")),
    request_body = SubmitJob,
    responses((status = 201, body = Job)),
    extensions(("x-errors" = json!(errors(SUBMISSION_ERRORS)))))]
pub async fn submit(
    State(state): State<WebState>,
    Org(actor): Org,
    headers: HeaderMap,
    ApiJson(body): ApiJson<SubmitJob>,
) -> ApiResult<Response> {
    let input = body.parse().map_err(invalid)?;
    let key = idempotency_key(&headers)?;
    let job = state.app.jobs().submit(&actor, input, key).await?;
    Ok(created(Job::from(job)))
}

/// The queue, in the order jobs will be taken (priority, then place in line): your own jobs,
/// or everyone's with "See everyone's queued jobs".
#[utoipa::path(get, path = "/orgs/{org_id}/jobs", tag = "jobs",
    params(("org_id" = OrgId, Path), JobListQuery),
    responses((status = 200, body = JobPage)),
    extensions(("x-errors" = json!(errors(&[E::InvalidField])))))]
pub async fn list_queue(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiQuery(query): ApiQuery<JobListQuery>,
) -> ApiResult<Json<JobPage>> {
    let query = query.parse().map_err(invalid)?;
    Ok(Json(
        state.app.jobs().list(&actor, query, false).await?.into(),
    ))
}

/// Finished jobs (completed, failed, cancelled, rejected), most recent first: your own, or
/// everyone's with "See everyone's finished jobs".
#[utoipa::path(get, path = "/orgs/{org_id}/jobs/history", tag = "jobs",
    params(("org_id" = OrgId, Path), JobListQuery),
    responses((status = 200, body = JobPage)),
    extensions(("x-errors" = json!(errors(&[E::InvalidField])))))]
pub async fn list_history(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiQuery(query): ApiQuery<JobListQuery>,
) -> ApiResult<Json<JobPage>> {
    let query = query.parse().map_err(invalid)?;
    Ok(Json(
        state.app.jobs().list(&actor, query, true).await?.into(),
    ))
}

/// The history as CSV, streamed in constant memory, with the history's filters; the export is
/// itself audited.
#[utoipa::path(get, path = "/orgs/{org_id}/jobs/history/export.csv", tag = "jobs",
    params(("org_id" = OrgId, Path), JobExportQuery),
    responses((status = 200, content_type = "text/csv", body = String)),
    extensions(("x-errors" = json!(errors(&[E::InvalidField])))))]
pub async fn export_history(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiQuery(query): ApiQuery<JobExportQuery>,
) -> ApiResult<Response> {
    let query = query.parse().map_err(invalid)?;
    let stream = state.app.jobs().export_history_csv(&actor, query).await?;
    let file_name = format!("farmhand-jobs-org{}.csv", actor.org());
    Ok(super::csv_download(stream, "job history export", file_name))
}

/// One job. Someone else's job answers 404 unless you may see everyone's.
#[utoipa::path(get, path = "/orgs/{org_id}/jobs/{job_id}", tag = "jobs",
    params(("org_id" = OrgId, Path), ("job_id" = JobId, Path)),
    responses((status = 200, body = Job)))]
pub async fn get_job(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, JobId)>,
) -> ApiResult<Json<Job>> {
    Ok(Json(
        state.app.jobs().get_job(&actor, ids.1.into()).await?.into(),
    ))
}

/// Why a queued or assigned job is not printing: each printer its target names (that you may
/// see) and what keeps it from taking the job now.
#[utoipa::path(get, path = "/orgs/{org_id}/jobs/{job_id}/why-not-printing", tag = "jobs",
    params(("org_id" = OrgId, Path), ("job_id" = JobId, Path)),
    responses((status = 200, body = WhyNotPrinting)),
    extensions(("x-errors" = json!(errors(&[E::JobNotWaiting])))))]
pub async fn why_not_printing(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, JobId)>,
) -> ApiResult<Json<WhyNotPrinting>> {
    let why = state
        .app
        .jobs()
        .why_not_printing(&actor, ids.1.into())
        .await?;
    Ok(Json(why.into()))
}

/// Start a job waiting `assigned` on its printer (one whose jobs are started by hand): with
/// "Start prints" on that printer, or as the job's owner with print access to it.
#[utoipa::path(post, path = "/orgs/{org_id}/jobs/{job_id}/start", tag = "jobs",
    params(("org_id" = OrgId, Path), ("job_id" = JobId, Path)),
    responses((status = 200, body = Job)),
    extensions(("x-errors" = json!(errors(&[E::InvalidTransition, E::PrinterNotConnected, E::InstanceUnavailable, E::PrinterNotReady])))))]
pub async fn start_job(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, JobId)>,
) -> ApiResult<Json<Job>> {
    Ok(Json(
        state.app.jobs().start(&actor, ids.1.into()).await?.into(),
    ))
}

/// Send a queued job to a printer of your choice, one its target names and whose model suits
/// the file: it waits there and starts when the printer is free.
#[utoipa::path(post, path = "/orgs/{org_id}/jobs/{job_id}/assign", tag = "jobs",
    params(("org_id" = OrgId, Path), ("job_id" = JobId, Path)),
    request_body = AssignJob,
    responses((status = 200, body = Job)),
    extensions(("x-errors" = json!(errors(&[E::InvalidTransition, E::NoPrinterForTarget, E::DoesNotFit, E::MaterialMismatch, E::NozzleMismatch])))))]
pub async fn assign_job(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, JobId)>,
    ApiJson(body): ApiJson<AssignJob>,
) -> ApiResult<Json<Job>> {
    let jobs = state.app.jobs();
    let job = jobs
        .assign(&actor, ids.1.into(), body.printer_id.into())
        .await?;
    Ok(Json(job.into()))
}

/// Edit a job that has not started: note, copies, priority (needs "Reorder the queue"),
/// target (checked like a submission) and answers.
#[utoipa::path(patch, path = "/orgs/{org_id}/jobs/{job_id}", tag = "jobs",
    params(("org_id" = OrgId, Path), ("job_id" = JobId, Path)),
    request_body = EditJob,
    responses((status = 200, body = Job)),
    extensions(("x-errors" = json!(errors(&[E::InvalidField, E::InvalidTransition, E::NoPrinterForTarget, E::DoesNotFit, E::MaterialMismatch, E::NozzleMismatch, E::InvalidAnswers, E::FileNotReady, E::QuotaExceeded, E::InsufficientBalance])))))]
pub async fn edit_job(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, JobId)>,
    ApiJson(body): ApiJson<EditJob>,
) -> ApiResult<Json<Job>> {
    let edit = body.parse().map_err(invalid)?;
    Ok(Json(
        state
            .app
            .jobs()
            .edit(&actor, ids.1.into(), edit)
            .await?
            .into(),
    ))
}

/// Send a job that has not started to another printer, group, model or site (checked like a
/// submission).
#[utoipa::path(post, path = "/orgs/{org_id}/jobs/{job_id}/move", tag = "jobs",
    params(("org_id" = OrgId, Path), ("job_id" = JobId, Path)),
    request_body = MoveJob,
    responses((status = 200, body = Job)),
    extensions(("x-errors" = json!(errors(&[E::InvalidField, E::InvalidTransition, E::NoPrinterForTarget, E::DoesNotFit, E::MaterialMismatch, E::NozzleMismatch, E::InvalidAnswers, E::FileNotReady, E::QuotaExceeded, E::InsufficientBalance])))))]
pub async fn move_job(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, JobId)>,
    ApiJson(body): ApiJson<MoveJob>,
) -> ApiResult<Json<Job>> {
    let target = body.target.parse().map_err(invalid)?;
    Ok(Json(
        state
            .app
            .jobs()
            .move_job(&actor, ids.1.into(), target)
            .await?
            .into(),
    ))
}

/// Put a waiting job just before another, or at the end of the line.
#[utoipa::path(post, path = "/orgs/{org_id}/jobs/{job_id}/reorder", tag = "jobs",
    params(("org_id" = OrgId, Path), ("job_id" = JobId, Path)),
    request_body = ReorderJob,
    responses((status = 200, body = Job)),
    extensions(("x-errors" = json!(errors(&[E::InvalidField, E::InvalidTransition])))))]
pub async fn reorder_job(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, JobId)>,
    ApiJson(body): ApiJson<ReorderJob>,
) -> ApiResult<Json<Job>> {
    Ok(Json(
        state
            .app
            .jobs()
            .reorder(&actor, ids.1.into(), body.into())
            .await?
            .into(),
    ))
}

macro_rules! job_step {
    ($name:ident, $path:literal, $doc:literal, $call:ident) => {
        #[doc = $doc]
        #[utoipa::path(post, path = $path, tag = "jobs",
            params(("org_id" = OrgId, Path), ("job_id" = JobId, Path)),
            responses((status = 200, body = Job)),
            extensions(("x-errors" = json!(errors(&[E::InvalidTransition, E::InvalidField, E::NoPrinterForTarget, E::InvalidAnswers, E::QuotaExceeded, E::InsufficientBalance])))))]
        pub async fn $name(
            State(state): State<WebState>,
            Org(actor): Org,
            ApiPath(ids): ApiPath<(OrgId, JobId)>,
        ) -> ApiResult<Json<Job>> {
            Ok(Json(state.app.jobs().$call(&actor, ids.1.into()).await?.into()))
        }
    };
}

job_step!(
    cancel_job,
    "/orgs/{org_id}/jobs/{job_id}/cancel",
    "Cancel a job that has not started (a printing job is cancelled at its printer).",
    cancel
);
job_step!(
    revive_job,
    "/orgs/{org_id}/jobs/{job_id}/revive",
    "Put a finished, failed, cancelled or rejected job back in line (through approval when it is required).",
    revive
);
job_step!(
    resubmit_job,
    "/orgs/{org_id}/jobs/{job_id}/resubmit",
    "Send a job that was sent back for changes to approval again.",
    resubmit
);

/// Reprint: a new job of yours from one you can see, through the same checks as a
/// submission; the original stays as it is.
#[utoipa::path(post, path = "/orgs/{org_id}/jobs/{job_id}/reprint", tag = "jobs",
    params(("org_id" = OrgId, Path), ("job_id" = JobId, Path)),
    responses((status = 201, body = Job)),
    extensions(("x-errors" = json!(errors(&[E::InvalidField, E::NoPrinterForTarget, E::DoesNotFit, E::MaterialMismatch, E::NozzleMismatch, E::InvalidAnswers, E::FileNotReady, E::QuotaExceeded, E::InsufficientBalance])))))]
pub async fn reprint_job(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, JobId)>,
) -> ApiResult<Response> {
    Ok(created(Job::from(
        state.app.jobs().reprint(&actor, ids.1.into()).await?,
    )))
}

/// Approve a job waiting for approval, optionally to a printer of its target.
#[utoipa::path(post, path = "/orgs/{org_id}/jobs/{job_id}/approve", tag = "approval",
    params(("org_id" = OrgId, Path), ("job_id" = JobId, Path)),
    request_body(content = Option<Approve>, description = "Optional: the printer it goes to."),
    responses((status = 200, body = Job)),
    extensions(("x-errors" = json!(errors(&[E::InvalidTransition, E::NotApprovable, E::InvalidField, E::InsufficientBalance])))))]
pub async fn approve_job(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, JobId)>,
    OptionalJson(body): OptionalJson<Approve>,
) -> ApiResult<Json<Job>> {
    let printer = body.unwrap_or_default().printer_id.map(Into::into);
    let decision = app::Decision::Approve { printer };
    decide(&state, &actor, ids.1, decision).await
}

/// Reject a job waiting for approval: it goes to history, and its owner reads the reason.
#[utoipa::path(post, path = "/orgs/{org_id}/jobs/{job_id}/reject", tag = "approval",
    params(("org_id" = OrgId, Path), ("job_id" = JobId, Path)),
    request_body = WithReason,
    responses((status = 200, body = Job)),
    extensions(("x-errors" = json!(errors(&[E::InvalidTransition, E::NotApprovable, E::InvalidField])))))]
pub async fn reject_job(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, JobId)>,
    ApiJson(body): ApiJson<WithReason>,
) -> ApiResult<Json<Job>> {
    let decision = app::Decision::Reject {
        reason: body.reason,
    };
    decide(&state, &actor, ids.1, decision).await
}

/// Send a job waiting for approval back to its owner for changes, with the reason; they edit
/// it and resubmit.
#[utoipa::path(post, path = "/orgs/{org_id}/jobs/{job_id}/send-back", tag = "approval",
    params(("org_id" = OrgId, Path), ("job_id" = JobId, Path)),
    request_body = WithReason,
    responses((status = 200, body = Job)),
    extensions(("x-errors" = json!(errors(&[E::InvalidTransition, E::NotApprovable, E::InvalidField])))))]
pub async fn send_back_job(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, JobId)>,
    ApiJson(body): ApiJson<WithReason>,
) -> ApiResult<Json<Job>> {
    let decision = app::Decision::SendBack {
        reason: body.reason,
    };
    decide(&state, &actor, ids.1, decision).await
}

/// Approve several jobs; each is decided on its own (one failure does not undo the others) and
/// reported.
#[utoipa::path(post, path = "/orgs/{org_id}/jobs/approve", tag = "approval",
    params(("org_id" = OrgId, Path)),
    request_body = BulkApprove,
    responses((status = 200, body = Vec<BulkResult>)),
    extensions(("x-errors" = json!(errors(&[E::InvalidField])))))]
pub async fn approve_jobs(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiJson(body): ApiJson<BulkApprove>,
) -> ApiResult<Json<Vec<BulkResult>>> {
    let decision = app::Decision::Approve {
        printer: body.printer_id.map(Into::into),
    };
    decide_many(&state, &actor, &body.job_ids, decision).await
}

/// Reject several jobs with one reason; each is decided on its own and reported.
#[utoipa::path(post, path = "/orgs/{org_id}/jobs/reject", tag = "approval",
    params(("org_id" = OrgId, Path)),
    request_body = BulkReject,
    responses((status = 200, body = Vec<BulkResult>)),
    extensions(("x-errors" = json!(errors(&[E::InvalidField])))))]
pub async fn reject_jobs(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiJson(body): ApiJson<BulkReject>,
) -> ApiResult<Json<Vec<BulkResult>>> {
    let decision = app::Decision::Reject {
        reason: body.reason,
    };
    decide_many(&state, &actor, &body.job_ids, decision).await
}

async fn decide(
    state: &WebState,
    actor: &app::OrgActor,
    job: JobId,
    decision: app::Decision,
) -> ApiResult<Json<Job>> {
    let decided = state.app.jobs().decide(actor, job.into(), decision).await?;
    Ok(Json(decided.into()))
}

/// Most jobs one bulk decision takes.
const MAX_BULK: usize = 500;

async fn decide_many(
    state: &WebState,
    actor: &app::OrgActor,
    ids: &[JobId],
    decision: app::Decision,
) -> ApiResult<Json<Vec<BulkResult>>> {
    if ids.is_empty() || ids.len() > MAX_BULK {
        return Err(invalid(domain::Invalid::new(
            "job_ids",
            format!("must list 1 to {MAX_BULK} jobs"),
        )));
    }
    let ids: Vec<domain::JobId> = ids.iter().map(|id| (*id).into()).collect();
    let outcomes = state.app.jobs().decide_many(actor, &ids, decision).await?;
    Ok(Json(outcomes.into_iter().map(BulkResult::from).collect()))
}

/// Jobs waiting for approval, oldest first, each marked whether you may decide it and, if not,
/// why (your own job, no access to its printers, its file in a project you cannot see).
#[utoipa::path(get, path = "/orgs/{org_id}/approvals", tag = "approval",
    params(("org_id" = OrgId, Path)),
    responses((status = 200, body = Vec<ApprovalItem>)))]
pub async fn list_approvals(
    State(state): State<WebState>,
    Org(actor): Org,
) -> ApiResult<Json<Vec<ApprovalItem>>> {
    let items = state.app.jobs().approvals(&actor).await?;
    Ok(Json(items.into_iter().map(ApprovalItem::from).collect()))
}

/// Every step of a job, oldest first: who did it, when and why.
#[utoipa::path(get, path = "/orgs/{org_id}/jobs/{job_id}/timeline", tag = "jobs",
    params(("org_id" = OrgId, Path), ("job_id" = JobId, Path)),
    responses((status = 200, body = Vec<TimelineStep>)))]
pub async fn timeline(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, JobId)>,
) -> ApiResult<Json<Vec<TimelineStep>>> {
    let steps = state.app.jobs().timeline(&actor, ids.1.into()).await?;
    Ok(Json(steps.into_iter().map(TimelineStep::from).collect()))
}

/// Whether jobs wait for an approver.
#[utoipa::path(put, path = "/orgs/{org_id}/settings/approval", tag = "approval",
    params(("org_id" = OrgId, Path)),
    request_body = ApprovalSetting,
    responses((status = 200, body = ApprovalSetting)))]
pub async fn set_approval(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiJson(body): ApiJson<ApprovalSetting>,
) -> ApiResult<Json<ApprovalSetting>> {
    let required = state
        .app
        .jobs()
        .set_approval_required(&actor, body.approval_required)
        .await?;
    Ok(Json(ApprovalSetting {
        approval_required: required,
    }))
}

/// The questions every submission answers, in order.
#[utoipa::path(get, path = "/orgs/{org_id}/submission-questions", tag = "jobs",
    params(("org_id" = OrgId, Path)),
    responses((status = 200, body = Vec<Question>)))]
pub async fn list_questions(
    State(state): State<WebState>,
    Org(actor): Org,
) -> ApiResult<Json<Vec<Question>>> {
    let questions = state.app.jobs().questions(&actor).await?;
    Ok(Json(questions.into_iter().map(Question::from).collect()))
}

/// Ask a new question with every submission.
#[utoipa::path(post, path = "/orgs/{org_id}/submission-questions", tag = "jobs",
    params(("org_id" = OrgId, Path)),
    request_body = QuestionInput,
    responses((status = 201, body = Question)),
    extensions(("x-errors" = json!(errors(&[E::InvalidField])))))]
pub async fn create_question(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiJson(body): ApiJson<QuestionInput>,
) -> ApiResult<Response> {
    let question = state
        .app
        .jobs()
        .create_question(&actor, body.into())
        .await?;
    Ok(created(Question::from(question)))
}

/// Change a question; answers already given keep what they answered.
#[utoipa::path(put, path = "/orgs/{org_id}/submission-questions/{question_id}", tag = "jobs",
    params(("org_id" = OrgId, Path), ("question_id" = QuestionId, Path)),
    request_body = QuestionInput,
    responses((status = 200, body = Question)),
    extensions(("x-errors" = json!(errors(&[E::InvalidField])))))]
pub async fn update_question(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, QuestionId)>,
    ApiJson(body): ApiJson<QuestionInput>,
) -> ApiResult<Json<Question>> {
    let question = state
        .app
        .jobs()
        .update_question(&actor, ids.1.into(), body.into())
        .await?;
    Ok(Json(question.into()))
}

/// Stop asking a question; answers already given keep it.
#[utoipa::path(delete, path = "/orgs/{org_id}/submission-questions/{question_id}", tag = "jobs",
    params(("org_id" = OrgId, Path), ("question_id" = QuestionId, Path)),
    responses((status = 204)))]
pub async fn archive_question(
    State(state): State<WebState>,
    Org(actor): Org,
    ApiPath(ids): ApiPath<(OrgId, QuestionId)>,
) -> ApiResult<axum::http::StatusCode> {
    state
        .app
        .jobs()
        .archive_question(&actor, ids.1.into())
        .await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// This module's operations and what each requires.
pub(super) fn routes(api: ApiRoutes) -> ApiRoutes {
    // Whether a job waits for approval, and whether its owner may decide it, turns on
    // `approval.skip`; whether it may end outside its site's staffed hours, on
    // `queue.outside_staffed_hours`.
    let skip = &[P::ApprovalSkip, P::QueueOutsideStaffedHours];
    // A submission is also checked against its owner's allowances and balance, unless an
    // exemption lifts them.
    let submit_also = &[
        P::ApprovalSkip,
        P::QueueOutsideStaffedHours,
        P::QueueUnlimitedJobs,
        P::QuotasExemptPrintingTime,
        P::QuotasExemptMaxJobDuration,
        P::BillingPrintOnInsufficientBalance,
    ];
    api.permission_also(P::QueueSubmit, submit_also, routes!(submit))
        .permission_also(P::QueueViewOwn, &[P::QueueViewAll], routes!(list_queue))
        .permission_also(
            P::QueueHistoryOwn,
            &[P::QueueHistoryAll],
            routes!(list_history),
        )
        .permission(P::QueueExport, routes!(export_history))
        .permission_also(
            P::QueueViewOwn,
            &[
                P::QueueViewAll,
                P::QueueHistoryOwn,
                P::QueueHistoryAll,
                P::SubmissionsViewAllAnswers,
            ],
            routes!(get_job),
        )
        .permission_also(
            P::QueueViewOwn,
            &[P::QueueViewAll],
            routes!(why_not_printing),
        )
        .permission_also(
            P::PrinterControlStart,
            &[P::QueueSubmit],
            routes!(start_job),
        )
        .permission(P::QueueAssignPrinter, routes!(assign_job))
        .permission_also(
            P::QueueEditOwn,
            &[P::QueueEditAll, P::QueueReorder],
            routes!(edit_job),
        )
        .permission_also(P::QueueMoveOwn, &[P::QueueMoveAll], routes!(move_job))
        .permission(P::QueueReorder, routes!(reorder_job))
        .permission_also(P::QueueCancelOwn, &[P::QueueCancelAll], routes!(cancel_job))
        .permission_also(
            P::QueueReviveOwn,
            &[P::QueueReviveAll, P::ApprovalSkip],
            routes!(revive_job),
        )
        .permission_also(
            P::QueueEditOwn,
            &[P::QueueEditAll, P::ApprovalSkip],
            routes!(resubmit_job),
        )
        .permission_also(P::QueueReprint, skip, routes!(reprint_job))
        .permission_also(P::ApprovalReview, skip, routes!(approve_job))
        .permission_also(P::ApprovalReview, skip, routes!(reject_job))
        .permission_also(P::ApprovalReview, skip, routes!(send_back_job))
        .permission_also(P::ApprovalReview, skip, routes!(approve_jobs))
        .permission_also(P::ApprovalReview, skip, routes!(reject_jobs))
        .permission_also(P::ApprovalReview, skip, routes!(list_approvals))
        .permission_also(P::QueueViewOwn, &[P::QueueViewAll], routes!(timeline))
        .permission(P::ApprovalConfigure, routes!(set_approval))
        .permission_also(
            P::QueueSubmit,
            &[P::SubmissionsManageQuestions],
            routes!(list_questions),
        )
        .permission(P::SubmissionsManageQuestions, routes!(create_question))
        .permission(P::SubmissionsManageQuestions, routes!(update_question))
        .permission(P::SubmissionsManageQuestions, routes!(archive_question))
}
