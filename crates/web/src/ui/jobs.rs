//! The queue, one job with "why is this not printing?" and its timeline, submitting a print,
//! and the approval inbox.

use std::collections::{BTreeMap, HashMap};

use app::{AppError, JobView, OrgActor};
use askama::Template;
use authz::Permission as P;
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use domain::{AnswerValue, FileId, JobId, JobTarget, PrinterId, Question, QuestionKind, SiteId};
use serde::Deserialize;

use super::error::{UiError, render};
use super::pages::{JobLine, NoFields, NoticeQuery, notice, waiting};
use super::session::{InOrg, checked_form};
use super::views::{self, Layout};
use crate::WebState;
use crate::extract::content_length;

type Page = Result<Response, UiError>;

/// A file's name as the member may see it, else its number.
async fn file_names(
    state: &WebState,
    actor: &OrgActor,
    files: Vec<FileId>,
) -> Result<HashMap<FileId, String>, UiError> {
    let mut names = HashMap::new();
    for id in files {
        if names.contains_key(&id) {
            continue;
        }
        let name = match state.app.files().get(actor, id).await {
            Ok(file) => file.name,
            Err(AppError::NotFound { .. } | AppError::PermissionDenied { .. }) => {
                format!("file {id}")
            }
            Err(other) => return Err(other.into()),
        };
        names.insert(id, name);
    }
    Ok(names)
}

/// A member's name from the organization's policy (no query).
fn member_name(actor: &OrgActor, member: domain::MemberId) -> String {
    actor
        .policy
        .member_ix(member)
        .map(|ix| actor.policy.member(ix).name.clone())
        .unwrap_or_else(|| format!("member {member}"))
}

/// Where a job may print, in words.
fn target_words(target: JobTarget) -> String {
    match target {
        JobTarget::Any => "Any printer".to_string(),
        JobTarget::Printer(id) => format!("Printer {id}"),
        JobTarget::Site(id) => format!("Any printer at site {id}"),
        JobTarget::Model(id) => format!("Any printer of model {id}"),
        JobTarget::Group(id) => format!("Any printer in group {id}"),
    }
}

/// The lines of a job list.
pub(crate) async fn job_lines(
    state: &WebState,
    actor: &OrgActor,
    jobs: Vec<JobView>,
) -> Result<Vec<JobLine>, UiError> {
    let files: Vec<FileId> = jobs.iter().map(|j| j.job.file_id).collect();
    let names = file_names(state, actor, files).await?;
    Ok(jobs
        .into_iter()
        .map(|view| {
            let job = view.job;
            JobLine {
                id: job.id.get(),
                file: names.get(&job.file_id).cloned().unwrap_or_default(),
                state: views::job_state_label(job.state),
                waiting: waiting(job.state),
                owner: member_name(actor, job.owner_member_id),
                target: target_words(job.target),
                copies: job.copies,
                created: views::when(job.created_at),
            }
        })
        .collect())
}

#[derive(Template)]
#[template(path = "queue.html")]
struct QueuePage {
    layout: Layout,
    org_id: i64,
    everyone: bool,
    queue: Vec<JobLine>,
    history: Vec<JobLine>,
    shows_history: bool,
}

/// The queue in the order jobs will be taken, and the latest finished jobs: the member's own,
/// or everyone's with the permission to see them.
pub(crate) async fn queue(State(state): State<WebState>, member: InOrg) -> Page {
    let actor = &member.actor;
    let query = app::JobQuery {
        limit: Some(200),
        ..Default::default()
    };
    let page = state.app.jobs().list(actor, query, false).await?;
    let queue = job_lines(&state, actor, page.jobs).await?;
    let shows_history = actor.holds(P::QueueHistoryOwn) || actor.holds(P::QueueHistoryAll);
    let history = if shows_history {
        let query = app::JobQuery {
            limit: Some(30),
            ..Default::default()
        };
        let page = state.app.jobs().list(actor, query, true).await?;
        job_lines(&state, actor, page.jobs).await?
    } else {
        Vec::new()
    };
    let page = QueuePage {
        layout: Layout::in_org(&member, "Queue", "queue"),
        org_id: actor.org().get(),
        everyone: actor.holds(P::QueueViewAll),
        queue,
        history,
        shows_history,
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Template)]
#[template(path = "job.html")]
struct JobPage {
    layout: Layout,
    org_id: i64,
    job: JobLine,
    note: String,
    reason: String,
    copies_done: i32,
    /// What it costs: charged once it ended, else the estimate held for it; empty when no
    /// cost was kept.
    cost: String,
    why: Option<WhyView>,
    timeline: Vec<StepView>,
    notice: String,
    /// Whether the viewer may cancel it now (it has not started; theirs, or anyone's).
    cancellable: bool,
}

struct WhyView {
    summary: String,
    candidates: Vec<CandidateView>,
    hidden: usize,
}

struct CandidateView {
    name: String,
    state: &'static str,
    reasons: Vec<String>,
}

struct StepView {
    at: String,
    step: String,
    who: String,
    state: &'static str,
    reason: String,
}

fn job_in_path(path: &(String, String)) -> Result<JobId, UiError> {
    path.1.parse::<JobId>().map_err(|_| UiError::NotFound)
}

/// One job: where it is, why it is not printing when it waits, and who did each step.
pub(crate) async fn job_page(
    State(state): State<WebState>,
    member: InOrg,
    Path(path): Path<(String, String)>,
    Query(query): Query<NoticeQuery>,
) -> Page {
    let actor = &member.actor;
    let id = job_in_path(&path)?;
    let jobs = state.app.jobs();
    let view = jobs.get_job(actor, id).await?;
    let job = view.job.clone();
    let cost = match &view.cost {
        Some(cost) => {
            let currency = state.app.people().get_org(actor).await?.currency;
            let money = |minor| domain::quotas::format_money(minor, &currency);
            match &cost.final_cost {
                Some(charged) => format!("{} charged", money(charged.total_minor)),
                None if job.state.is_finished() => "Nothing charged".to_string(),
                None => format!(
                    "{} estimated (held from the balance until it ends)",
                    money(cost.estimate.total_minor)
                ),
            }
        }
        None => String::new(),
    };
    let why = if waiting(job.state) {
        match jobs.why_not_printing(actor, id).await {
            Ok(why) => Some(WhyView {
                summary: super::pages::capitalized(&why.summary),
                hidden: why.hidden_candidates,
                candidates: why
                    .candidates
                    .into_iter()
                    .map(|c| CandidateView {
                        name: c.printer_name,
                        state: views::printer_state_label(c.state),
                        reasons: c.reasons.into_iter().map(|r| r.message).collect(),
                    })
                    .collect(),
            }),
            // It started (or was decided) between the two reads: the page shows its state.
            Err(AppError::Conflict { .. }) => None,
            Err(other) => return Err(other.into()),
        }
    } else {
        None
    };
    let timeline = jobs
        .timeline(actor, id)
        .await?
        .into_iter()
        .map(|step| StepView {
            at: views::when(step.event.at),
            step: step.event.step.key().replace('_', " "),
            who: step.actor_name.unwrap_or_else(|| "Farmhand".to_string()),
            state: views::job_state_label(step.event.to_state),
            reason: step.event.reason.unwrap_or_default(),
        })
        .collect();
    let line = job_lines(&state, actor, vec![view])
        .await?
        .pop()
        .ok_or(UiError::NotFound)?;
    let page = JobPage {
        layout: Layout::in_org(&member, &format!("Job {id}"), "queue"),
        org_id: actor.org().get(),
        job: line,
        note: job.note,
        reason: job.reason.unwrap_or_default(),
        copies_done: job.copies_done,
        cost,
        why,
        timeline,
        notice: notice(query.done.as_deref()),
        cancellable: !job.state.has_started()
            && !job.state.is_finished()
            && (actor.holds(P::QueueCancelAll)
                || (job.owner_member_id == actor.member_id() && actor.holds(P::QueueCancelOwn))),
    };
    Ok(render(StatusCode::OK, &page))
}

/// Cancels a job that has not started: the owner's own, or anyone's with the permission.
pub(crate) async fn cancel(
    State(state): State<WebState>,
    member: InOrg,
    Path(path): Path<(String, String)>,
    request: Request,
) -> Page {
    let NoFields {} = checked_form(&member.viewer, request).await?;
    let id = job_in_path(&path)?;
    if let Err(error) = state.app.jobs().cancel(&member.actor, id).await {
        return Err(UiError::from(error).framed(&member));
    }
    Ok(Redirect::to(&format!(
        "/orgs/{}/jobs/{id}?done=job-cancelled",
        member.actor.org()
    ))
    .into_response())
}

#[derive(Template)]
#[template(path = "new_job.html")]
struct NewJobPage {
    layout: Layout,
    org_id: i64,
    may_upload: bool,
    files: Vec<Choice>,
    targets: Vec<Choice>,
    questions: Vec<QuestionField>,
    copies: String,
    note: String,
    problem: String,
    problem_field: String,
}

struct Choice {
    value: String,
    label: String,
    selected: bool,
}

struct QuestionField {
    key: String,
    label: String,
    required: bool,
    number: bool,
    choice: bool,
    multi: bool,
    value: String,
    choices: Vec<Choice>,
}

/// What the member typed, to show the form again with it after a refusal.
#[derive(Default)]
struct Entered {
    file: String,
    target: String,
    copies: String,
    note: String,
    answers: BTreeMap<String, Vec<String>>,
}

async fn new_job_page(
    state: &WebState,
    member: &InOrg,
    entered: Entered,
    problem: (String, String),
) -> Result<NewJobPage, UiError> {
    let actor = &member.actor;
    let app = &state.app;
    let files = match app
        .files()
        .list(
            actor,
            app::FileListQuery {
                limit: Some(100),
                ..Default::default()
            },
        )
        .await
    {
        Ok(page) => page.files,
        Err(AppError::PermissionDenied { .. }) => Vec::new(),
        Err(other) => return Err(other.into()),
    };
    // Models are sliced first (their G-code is what prints).
    let files = files
        .into_iter()
        .filter(|f| f.kind == domain::FileKind::Gcode)
        .map(|f| {
            let value = f.id.to_string();
            Choice {
                selected: value == entered.file,
                label: f.name,
                value,
            }
        })
        .collect();
    let printers: Vec<_> = app
        .fleet()
        .all_visible_printers(actor)
        .await?
        .into_iter()
        .filter(|p| actor.may_on_printer(P::QueueSubmit, p.id))
        .collect();
    let site_names: BTreeMap<SiteId, String> = match app.people().list_sites(actor).await {
        Ok(sites) => sites.into_iter().map(|s| (s.id, s.name)).collect(),
        Err(AppError::PermissionDenied { .. }) => BTreeMap::new(),
        Err(other) => return Err(other.into()),
    };
    let model_names: BTreeMap<domain::PrinterModelId, String> =
        match app.fleet().list_printer_models(actor).await {
            Ok(models) => models.into_iter().map(|m| (m.id, m.name)).collect(),
            Err(AppError::PermissionDenied { .. }) => BTreeMap::new(),
            Err(other) => return Err(other.into()),
        };
    let mut targets = vec![("any".to_string(), "Any printer I may use".to_string())];
    let mut sites: Vec<SiteId> = printers.iter().map(|p| p.site_id).collect();
    sites.sort();
    sites.dedup();
    for site in sites {
        let name = site_names
            .get(&site)
            .cloned()
            .unwrap_or_else(|| format!("site {site}"));
        targets.push((format!("site:{site}"), format!("Any printer at {name}")));
    }
    let mut models: Vec<_> = printers.iter().filter_map(|p| p.model_id).collect();
    models.sort();
    models.dedup();
    for model in models {
        if let Some(name) = model_names.get(&model) {
            targets.push((format!("model:{model}"), format!("Any {name}")));
        }
    }
    for printer in &printers {
        targets.push((format!("printer:{}", printer.id), printer.name.clone()));
    }
    let targets = targets
        .into_iter()
        .map(|(value, label)| Choice {
            selected: value == entered.target,
            value,
            label,
        })
        .collect();
    let questions = app
        .jobs()
        .questions(actor)
        .await?
        .into_iter()
        .map(|q| question_field(&q, entered.answers.get(&question_key(&q))))
        .collect();
    Ok(NewJobPage {
        layout: Layout::in_org(member, "Submit a print", "submit"),
        org_id: actor.org().get(),
        may_upload: actor.holds(P::FilesUpload),
        files,
        targets,
        questions,
        copies: if entered.copies.is_empty() {
            "1".to_string()
        } else {
            entered.copies
        },
        note: entered.note,
        problem: problem.0,
        problem_field: problem.1,
    })
}

fn question_key(question: &Question) -> String {
    format!("q{}", question.id)
}

fn question_field(question: &Question, entered: Option<&Vec<String>>) -> QuestionField {
    let values: &[String] = entered.map_or(&[], Vec::as_slice);
    QuestionField {
        key: question_key(question),
        label: question.label.clone(),
        required: question.required,
        number: question.kind == QuestionKind::Number,
        choice: question.kind == QuestionKind::Choice,
        multi: question.kind == QuestionKind::MultiChoice,
        value: values.first().cloned().unwrap_or_default(),
        choices: question
            .choices
            .iter()
            .map(|c| Choice {
                value: c.clone(),
                label: c.clone(),
                selected: values.contains(c),
            })
            .collect(),
    }
}

/// The submission form: a file (uploaded, or from the library), where it may print (only
/// what the member may queue on), copies, a note and the organization's questions.
pub(crate) async fn new_job(State(state): State<WebState>, member: InOrg) -> Page {
    let page = new_job_page(
        &state,
        &member,
        Entered::default(),
        (String::new(), String::new()),
    )
    .await?;
    Ok(render(StatusCode::OK, &page))
}

/// A message as a sentence: a capital first, a full stop last.
fn sentence(text: &str) -> String {
    let text = super::pages::capitalized(text.trim());
    if text.ends_with(['.', '!', '?']) {
        text
    } else {
        format!("{text}.")
    }
}

/// A refusal in words, and the field it concerns (empty: the whole form).
fn refusal(error: AppError) -> Result<(String, String), UiError> {
    Ok(match error {
        AppError::PermissionDenied {
            permission, ask, ..
        } => {
            let ask = if ask.is_empty() {
                String::new()
            } else {
                format!(" Ask {} for it.", ask.join(", "))
            };
            (
                format!(
                    "Your rank does not allow “{}” ({}).{ask}",
                    permission.title(),
                    permission.key()
                ),
                String::new(),
            )
        }
        AppError::Invalid(invalid) => {
            let field = invalid.field.to_string();
            (
                sentence(&format!("{}: {}", invalid.field, invalid.message)),
                field,
            )
        }
        AppError::Internal(source) => {
            tracing::error!(error = %source, chain = ?source, "internal error");
            return Err(UiError::Internal("job submission".into()));
        }
        other => (sentence(&other.to_string()), String::new()),
    })
}

/// Submits a print from the multipart form: the CSRF token first (nothing else is read
/// without it), then the fields; an uploaded file streams into the library as it arrives.
/// A refusal shows the form again with what caused it.
pub(crate) async fn submit(State(state): State<WebState>, member: InOrg, request: Request) -> Page {
    let actor = &member.actor;
    // Limits before bytes: a body announced larger than a file may be is refused unread
    // (with room for the form's other fields).
    let limit = state.app.settings().max_library_file_bytes;
    if content_length(request.headers())
        .is_some_and(|length| length > limit.saturating_add(1 << 20))
    {
        return Err(AppError::FileTooLarge { limit }.into());
    }
    let mut form = axum::extract::Multipart::from_request(request, &state)
        .await
        .map_err(|e| UiError::BadForm(e.body_text()))?;
    let unreadable = |e: axum::extract::multipart::MultipartError| UiError::BadForm(e.body_text());
    let mut checked = false;
    let mut entered = Entered::default();
    let mut upload: Option<Result<domain::LibraryFile, AppError>> = None;
    while let Some(field) = form.next_field().await.map_err(unreadable)? {
        let name = field.name().unwrap_or_default().to_string();
        if !checked {
            // The token comes first in the form; anything before it is refused unread.
            if name != super::session::CSRF_FIELD {
                return Err(UiError::Csrf);
            }
            let token = field.text().await.map_err(unreadable)?;
            member.viewer.check_csrf(Some(&token))?;
            checked = true;
            continue;
        }
        if name == "upload" {
            let file_name = field.file_name().unwrap_or_default().to_string();
            if file_name.is_empty() || upload.is_some() {
                // No file chosen (browsers send an empty part), or a second one: skipped.
                let _ = field.bytes().await.map_err(unreadable)?;
                continue;
            }
            let input = app::UploadFile {
                name: file_name,
                project_id: None,
                printer_model_id: None,
            };
            upload = Some(state.app.files().upload(actor, input, field).await);
            continue;
        }
        let value = field.text().await.map_err(unreadable)?;
        match name.as_str() {
            "file" => entered.file = value,
            "target" => entered.target = value,
            "copies" => entered.copies = value,
            "note" => entered.note = value,
            other if other.starts_with('q') => {
                entered.answers.entry(name).or_default().push(value);
            }
            _ => {}
        }
    }
    if !checked {
        return Err(UiError::Csrf);
    }
    let outcome = match upload {
        Some(Ok(file)) => {
            entered.file = file.id.to_string();
            submit_entered(&state, actor, &entered).await
        }
        Some(Err(error)) => Err(error),
        None => submit_entered(&state, actor, &entered).await,
    };
    match outcome {
        Ok(job) => Ok(
            Redirect::to(&format!("/orgs/{}/jobs/{job}?done=submitted", actor.org()))
                .into_response(),
        ),
        Err(error) => {
            let status = crate::error::status(error.code());
            let problem = refusal(error)?;
            let page = new_job_page(&state, &member, entered, problem).await?;
            Ok(render(status, &page))
        }
    }
}

async fn submit_entered(
    state: &WebState,
    actor: &OrgActor,
    entered: &Entered,
) -> Result<JobId, AppError> {
    let invalid = |field: &'static str, message: &str| {
        AppError::Invalid(domain::Invalid::new(field, message.to_string()))
    };
    let file_id: FileId = entered
        .file
        .parse()
        .map_err(|_| invalid("file", "choose a file from your library, or upload one"))?;
    let target = match entered.target.split_once(':') {
        None if entered.target == "any" => JobTarget::Any,
        Some((kind, id)) => id
            .parse::<i64>()
            .ok()
            .and_then(|id| JobTarget::from_parts(kind, Some(id)))
            .ok_or_else(|| invalid("target", "choose where it may print"))?,
        None => return Err(invalid("target", "choose where it may print")),
    };
    let copies: i32 = entered
        .copies
        .trim()
        .parse()
        .map_err(|_| invalid("copies", "must be a whole number"))?;
    let mut answers = BTreeMap::new();
    for question in state.app.jobs().questions(actor).await? {
        let Some(values) = entered.answers.get(&question_key(&question)) else {
            continue;
        };
        let values: Vec<String> = values
            .iter()
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .collect();
        let Some(first) = values.first().cloned() else {
            continue;
        };
        let answer = match question.kind {
            QuestionKind::Text | QuestionKind::Choice => AnswerValue::Text(first),
            QuestionKind::MultiChoice => AnswerValue::Choices(values),
            QuestionKind::Number => AnswerValue::Number(
                first
                    .parse::<f64>()
                    .ok()
                    .filter(|n| n.is_finite())
                    .ok_or_else(|| invalid("answers", "a number question takes a number"))?,
            ),
        };
        answers.insert(question.id, answer);
    }
    let input = app::SubmitJob {
        file_id,
        target,
        copies,
        priority: 0,
        note: entered.note.clone(),
        answers,
    };
    let view = state.app.jobs().submit(actor, input, None).await?;
    Ok(view.job.id)
}

#[derive(Template)]
#[template(path = "approvals.html")]
struct ApprovalsPage {
    layout: Layout,
    org_id: i64,
    items: Vec<ApprovalView>,
    notice: String,
}

struct ApprovalView {
    job: JobLine,
    note: String,
    approvable: bool,
    reason: String,
    printers: Vec<Choice>,
}

/// Jobs waiting for approval, oldest first: approve (to a printer of the approver's choice,
/// or any the target names), or reject with a reason; those the approver may not decide say
/// why.
pub(crate) async fn approvals(
    State(state): State<WebState>,
    member: InOrg,
    Query(query): Query<NoticeQuery>,
) -> Page {
    let actor = &member.actor;
    let items = state.app.jobs().approvals(actor).await?;
    let printers = state.app.fleet().all_visible_printers(actor).await?;
    let mut views = Vec::with_capacity(items.len());
    for item in items {
        let job = item.job.clone();
        let line = job_lines(
            &state,
            actor,
            vec![JobView {
                job: item.job,
                answers: None,
                cost: None,
            }],
        )
        .await?
        .pop()
        .ok_or(UiError::NotFound)?;
        let choices = printers
            .iter()
            .filter(|p| p.names_target(job.target) && actor.may_on_printer(P::ApprovalReview, p.id))
            .map(|p| Choice {
                value: p.id.to_string(),
                label: p.name.clone(),
                selected: false,
            })
            .collect();
        views.push(ApprovalView {
            job: line,
            note: job.note,
            approvable: item.approvable,
            reason: item.not_approvable_reason.unwrap_or_default(),
            printers: choices,
        });
    }
    let page = ApprovalsPage {
        layout: Layout::in_org(&member, "Approvals", "approvals"),
        org_id: actor.org().get(),
        items: views,
        notice: notice(query.done.as_deref()),
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Deserialize)]
pub(crate) struct ApproveForm {
    #[serde(default)]
    printer: String,
}

pub(crate) async fn approve(
    State(state): State<WebState>,
    member: InOrg,
    Path(path): Path<(String, String)>,
    request: Request,
) -> Page {
    let form: ApproveForm = checked_form(&member.viewer, request).await?;
    let id = job_in_path(&path)?;
    let printer = match form.printer.trim() {
        "" => None,
        text => Some(
            text.parse::<PrinterId>()
                .map_err(|_| UiError::BadForm("the printer is not one of the list".into()))?,
        ),
    };
    let decided = state
        .app
        .jobs()
        .decide(&member.actor, id, app::Decision::Approve { printer })
        .await;
    if let Err(error) = decided {
        return Err(UiError::from(error).framed(&member));
    }
    Ok(Redirect::to(&format!(
        "/orgs/{}/approvals?done=approved",
        member.actor.org()
    ))
    .into_response())
}

#[derive(Deserialize)]
pub(crate) struct RejectForm {
    #[serde(default)]
    reason: String,
}

pub(crate) async fn reject(
    State(state): State<WebState>,
    member: InOrg,
    Path(path): Path<(String, String)>,
    request: Request,
) -> Page {
    let form: RejectForm = checked_form(&member.viewer, request).await?;
    let id = job_in_path(&path)?;
    let decided = state
        .app
        .jobs()
        .decide(
            &member.actor,
            id,
            app::Decision::Reject {
                reason: form.reason,
            },
        )
        .await;
    if let Err(error) = decided {
        return Err(UiError::from(error).framed(&member));
    }
    Ok(Redirect::to(&format!(
        "/orgs/{}/approvals?done=rejected",
        member.actor.org()
    ))
    .into_response())
}

/// Whether a job's target names the printer (by itself, its site, model or group).
trait NamesTarget {
    fn names_target(&self, target: JobTarget) -> bool;
}

impl NamesTarget for app::VisiblePrinter {
    fn names_target(&self, target: JobTarget) -> bool {
        match target {
            JobTarget::Printer(id) => self.id == id,
            JobTarget::Site(site) => self.site_id == site,
            JobTarget::Model(model) => self.model_id == Some(model),
            JobTarget::Group(group) => self.group_ids.contains(&group),
            JobTarget::Any => true,
        }
    }
}
