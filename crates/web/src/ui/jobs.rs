//! The queue, one job with "why is this not printing?" and its timeline, submitting a print,
//! and the approval inbox.

use std::collections::{BTreeMap, HashMap};

use app::{AppError, JobView, OrgActor};
use askama::Template;
use authz::Permission as P;
use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use domain::{AnswerValue, FileId, JobId, JobTarget, PrinterId, Question, QuestionKind, SiteId};
use serde::Deserialize;

use super::error::{UiError, render};
use super::pages::{JobLine, NoFields, NoticeQuery, notice, waiting};
use super::session::{InOrg, checked_form};
use super::views::{self, Layout};
use crate::WebState;

type Page = Result<Response, UiError>;

/// What a page shows of a job's file: its name as the member may see it (else its number) and
/// the address of its first thumbnail a browser can show, if it has one.
#[derive(Clone, Default)]
pub(crate) struct FileLook {
    pub name: String,
    pub thumbnail: String,
}

/// The address of a file's first thumbnail a browser can show (PNG or JPEG), else empty.
pub(crate) fn thumbnail_url(org: domain::OrgId, file: &domain::LibraryFile) -> String {
    file.analysis
        .as_ref()
        .and_then(|a| {
            a.thumbnails
                .iter()
                .filter(|t| t.format == "png" || t.format == "jpeg")
                .max_by_key(|t| t.width)
        })
        .map(|t| format!("/api/v1/orgs/{org}/files/{}/thumbnails/{}", file.id, t.n))
        .unwrap_or_default()
}

async fn file_looks(
    state: &WebState,
    actor: &OrgActor,
    files: Vec<FileId>,
) -> Result<HashMap<FileId, FileLook>, UiError> {
    let mut looks = HashMap::new();
    for id in files {
        if looks.contains_key(&id) {
            continue;
        }
        let look = match state.app.files().get(actor, id).await {
            Ok(file) => FileLook {
                thumbnail: thumbnail_url(actor.org(), &file),
                name: file.name,
            },
            Err(AppError::NotFound { .. } | AppError::PermissionDenied { .. }) => FileLook {
                name: format!("file {id}"),
                thumbnail: String::new(),
            },
            Err(other) => return Err(other.into()),
        };
        looks.insert(id, look);
    }
    Ok(looks)
}

/// A member's name from the organization's policy (no query).
pub(crate) fn member_name(actor: &OrgActor, member: domain::MemberId) -> String {
    actor
        .policy
        .member_ix(member)
        .map(|ix| actor.policy.member(ix).name.clone())
        .unwrap_or_else(|| format!("member {member}"))
}

/// The names people know printers, sites, models and groups by (those the member may see).
#[derive(Default)]
pub(crate) struct FleetNames {
    pub printers: Vec<app::VisiblePrinter>,
    sites: BTreeMap<SiteId, String>,
    models: BTreeMap<domain::PrinterModelId, String>,
    groups: BTreeMap<domain::PrinterGroupId, String>,
}

/// A list the member may not read is no names, not an error: the page still shows numbers.
fn or_none<T>(listed: Result<Vec<T>, AppError>) -> Result<Vec<T>, UiError> {
    match listed {
        Ok(items) => Ok(items),
        Err(AppError::PermissionDenied { .. }) => Ok(Vec::new()),
        Err(other) => Err(other.into()),
    }
}

impl FleetNames {
    pub(crate) async fn load(state: &WebState, actor: &OrgActor) -> Result<FleetNames, UiError> {
        let app = &state.app;
        Ok(FleetNames {
            printers: or_none(app.fleet().all_visible_printers(actor).await)?,
            sites: or_none(app.people().list_sites(actor).await)?
                .into_iter()
                .map(|s| (s.id, s.name))
                .collect(),
            models: or_none(app.fleet().list_printer_models(actor).await)?
                .into_iter()
                .map(|m| (m.id, m.name))
                .collect(),
            groups: or_none(app.fleet().list_printer_groups(actor).await)?
                .into_iter()
                .map(|g| (g.id, g.name))
                .collect(),
        })
    }

    pub(crate) fn printer(&self, id: PrinterId) -> String {
        self.printers
            .iter()
            .find(|p| p.id == id)
            .map_or_else(|| format!("printer {id}"), |p| p.name.clone())
    }

    /// A site's name, or its number when the member may not see sites.
    pub(crate) fn site(&self, id: SiteId) -> String {
        self.sites
            .get(&id)
            .cloned()
            .unwrap_or_else(|| format!("Site {id}"))
    }

    pub(crate) fn model(&self, id: domain::PrinterModelId) -> String {
        self.models
            .get(&id)
            .cloned()
            .unwrap_or_else(|| format!("model {id}"))
    }

    /// Where a job may print, in words.
    pub(crate) fn target(&self, target: JobTarget) -> String {
        match target {
            JobTarget::Any => "Any printer".to_string(),
            JobTarget::Printer(id) => self.printer(id),
            JobTarget::Site(id) => match self.sites.get(&id) {
                Some(name) => format!("Any printer at {name}"),
                None => format!("Any printer at site {id}"),
            },
            JobTarget::Model(id) => match self.models.get(&id) {
                Some(name) => format!("Any {name}"),
                None => format!("Any printer of model {id}"),
            },
            JobTarget::Group(id) => match self.groups.get(&id) {
                Some(name) => format!("Any printer in {name}"),
                None => format!("Any printer in group {id}"),
            },
        }
    }
}

/// The lines of a job list.
pub(crate) async fn job_lines(
    state: &WebState,
    actor: &OrgActor,
    names: &FleetNames,
    jobs: Vec<JobView>,
) -> Result<Vec<JobLine>, UiError> {
    let files: Vec<FileId> = jobs.iter().map(|j| j.job.file_id).collect();
    let looks = file_looks(state, actor, files).await?;
    let currency = state.app.billing().prices(actor).await?.1;
    Ok(jobs
        .into_iter()
        .map(|view| {
            let job = view.job;
            let look = looks.get(&job.file_id).cloned().unwrap_or_default();
            JobLine {
                id: job.id.get(),
                file: look.name,
                thumbnail: look.thumbnail,
                state: views::job_state_label(job.state),
                waiting: waiting(job.state),
                owner: member_name(actor, job.owner_member_id),
                target: names.target(job.target),
                printer: job.printer_id.map(|p| names.printer(p)).unwrap_or_default(),
                copies: job.copies,
                created: views::when(job.created_at),
                estimate: view
                    .cost
                    .map(|c| domain::quotas::format_money(c.estimate.total_minor, &currency))
                    .unwrap_or_default(),
            }
        })
        .collect())
}

/// The queue's filters, as the form sends them (empty: any).
#[derive(Deserialize, Default)]
pub(crate) struct QueueFilters {
    #[serde(default)]
    state: String,
    #[serde(default)]
    printer: String,
    #[serde(default)]
    owner: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    done: Option<String>,
}

/// How many jobs of the queue and of the history a page lists.
const QUEUE_PAGE: u32 = 200;
const HISTORY_PAGE: u32 = 50;

#[derive(Template)]
#[template(path = "queue.html")]
struct QueuePage {
    layout: Layout,
    org_id: i64,
    everyone: bool,
    queue: Vec<JobLine>,
    history: Vec<JobLine>,
    shows_history: bool,
    /// Whether the viewer may put jobs in another order (`queue.reorder`).
    reorders: bool,
    states: Vec<Choice>,
    printers: Vec<Choice>,
    owners: Vec<Choice>,
    text: String,
    filtered: bool,
    notice: String,
}

fn choices(options: Vec<(String, String)>, chosen: &str) -> Vec<Choice> {
    options
        .into_iter()
        .map(|(value, label)| Choice {
            selected: value == chosen,
            value,
            label,
        })
        .collect()
}

/// The queue in the order jobs will be taken, and the latest finished jobs: the member's own,
/// or everyone's with the permission to see them; filtered by state, printer, owner (for those
/// who see everyone's) and text (searched by the store, over every job, not just those listed).
pub(crate) async fn queue(
    State(state): State<WebState>,
    member: InOrg,
    Query(filters): Query<QueueFilters>,
) -> Page {
    let actor = &member.actor;
    let names = FleetNames::load(&state, actor).await?;
    let everyone = actor.holds(P::QueueViewAll);
    let bad = |what: &str| UiError::BadForm(format!("the {what} filter is not one of the list"));
    let job_state = match filters.state.as_str() {
        "" => None,
        key => Some(domain::JobState::parse(key).ok_or_else(|| bad("state"))?),
    };
    let printer = match filters.printer.as_str() {
        "" => None,
        id => Some(id.parse::<PrinterId>().map_err(|_| bad("printer"))?),
    };
    let owner = match filters.owner.as_str() {
        "" => None,
        id => Some(id.parse::<domain::MemberId>().map_err(|_| bad("owner"))?),
    };
    let text = filters.text.trim().to_string();
    let query = |limit| app::JobQuery {
        state: job_state,
        printer,
        owner,
        text: Some(text.clone()),
        limit: Some(limit),
        ..Default::default()
    };
    let lines = |views: Vec<JobView>| job_lines(&state, actor, &names, views);
    let jobs = state.app.jobs();
    let queue = if job_state.is_some_and(|s| s.is_finished()) {
        Vec::new()
    } else {
        lines(jobs.list(actor, query(QUEUE_PAGE), false).await?.jobs).await?
    };
    let shows_history = actor.holds(P::QueueHistoryOwn) || actor.holds(P::QueueHistoryAll);
    let history = if shows_history && job_state.is_none_or(|s| s.is_finished()) {
        lines(jobs.list(actor, query(HISTORY_PAGE), true).await?.jobs).await?
    } else {
        Vec::new()
    };
    let mut state_options = vec![(String::new(), "Any state".to_string())];
    state_options.extend(
        domain::JobState::ALL
            .iter()
            .map(|s| (s.key().to_string(), views::job_state_label(*s).to_string())),
    );
    let mut printer_options = vec![(String::new(), "Any printer".to_string())];
    printer_options.extend(
        names
            .printers
            .iter()
            .map(|p| (p.id.to_string(), p.name.clone())),
    );
    let mut owner_options = Vec::new();
    if everyone {
        owner_options.push((String::new(), "Anyone".to_string()));
        let mut members: Vec<(String, String)> = actor
            .policy
            .org()
            .members
            .iter()
            .map(|m| (m.id.to_string(), m.name.clone()))
            .collect();
        members.sort_by(|a, b| a.1.cmp(&b.1));
        owner_options.extend(members);
    }
    let page = QueuePage {
        layout: Layout::in_org(&member, "Queue", "queue"),
        org_id: actor.org().get(),
        everyone,
        queue,
        history,
        shows_history,
        reorders: actor.holds(P::QueueReorder) && everyone,
        states: choices(state_options, &filters.state),
        printers: choices(printer_options, &filters.printer),
        owners: choices(owner_options, &filters.owner),
        filtered: job_state.is_some() || printer.is_some() || owner.is_some() || !text.is_empty(),
        text,
        notice: notice(filters.done.as_deref()),
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Deserialize)]
pub(crate) struct ReorderForm {
    /// `up`, `down`, `first`, `last` or `to` (with `position`).
    place: String,
    #[serde(default)]
    position: String,
}

/// Moves a queued job up or down one place, to the front or the end, or to a position, through
/// the reorder use case (`queue.reorder`): "up" puts it before the job now before it, and so on.
pub(crate) async fn reorder(
    State(state): State<WebState>,
    member: InOrg,
    Path(path): Path<(String, String)>,
    request: Request,
) -> Page {
    let form: ReorderForm = checked_form(&member.viewer, request).await?;
    let actor = &member.actor;
    let id = job_in_path(&path)?;
    let jobs = state.app.jobs();
    let line: Vec<JobId> = jobs
        .list(
            actor,
            app::JobQuery {
                limit: Some(QUEUE_PAGE),
                ..Default::default()
            },
            false,
        )
        .await
        .map_err(|e| UiError::from(e).framed(&member))?
        .jobs
        .into_iter()
        .map(|v| v.job.id)
        .collect();
    let Some(now) = line.iter().position(|j| *j == id) else {
        return Err(UiError::Refused {
            status: StatusCode::CONFLICT,
            message: "This job is no longer waiting in the queue.".into(),
            frame: None,
        }
        .framed(&member));
    };
    let others: Vec<JobId> = line.iter().copied().filter(|j| *j != id).collect();
    // The place among the other jobs it goes before (their count: the end).
    let before = match form.place.as_str() {
        "up" => now.saturating_sub(1),
        "down" => now + 1,
        "first" => 0,
        "last" => others.len(),
        "to" => form
            .position
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|p| *p >= 1)
            .map(|p| p - 1)
            .ok_or_else(|| UiError::BadForm("the position is a whole number from 1".into()))?,
        _ => return Err(UiError::BadForm("choose where the job goes".into())),
    };
    let place = match others.get(before) {
        Some(next) => app::Reorder::Before(*next),
        None => app::Reorder::Last,
    };
    if let Err(error) = jobs.reorder(actor, id, place).await {
        return Err(UiError::from(error).framed(&member));
    }
    Ok(Redirect::to(&format!(
        "/orgs/{}/jobs?done=reordered#job-{id}",
        actor.org()
    ))
    .into_response())
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
    cost_summary: String,
    why: Option<WhyView>,
    timeline: Vec<StepView>,
    notice: String,
    /// Whether the viewer may cancel it now (it has not started; theirs, or anyone's).
    cancellable: bool,
    answers: Vec<AnswerLine>,
    /// The estimate's lines.
    cost: Vec<CostLineView>,
    /// Whether the viewer may print it again (it ended; `queue.reprint`).
    reprintable: bool,
    /// Projects the viewer may copy its file into ("" first: their own space); empty: may not.
    copy_to: Vec<Choice>,
    /// Where the viewer may send it instead (it has not started; theirs with `queue.move.own`,
    /// anyone's with `queue.move.all`); empty: may not.
    move_to: Vec<Choice>,
    /// Why the last move was refused, shown in the move form.
    move_problem: String,
}

/// The move form as it was sent (to show it again with its refusal), or nothing sent yet.
#[derive(Deserialize, Default)]
pub(crate) struct MoveForm {
    #[serde(default)]
    target: String,
}

pub(crate) struct AnswerLine {
    pub question: String,
    pub answer: String,
}

pub(crate) struct CostLineView {
    pub label: String,
    pub quantity: String,
    pub amount: String,
}

/// A job's answers under their questions' labels (those the reader may read).
pub(crate) fn answer_lines(
    questions: &[Question],
    answers: Option<&BTreeMap<domain::QuestionId, AnswerValue>>,
) -> Vec<AnswerLine> {
    let Some(answers) = answers else {
        return Vec::new();
    };
    answers
        .iter()
        .map(|(id, value)| AnswerLine {
            question: questions
                .iter()
                .find(|q| q.id == *id)
                .map_or_else(|| format!("Question {id}"), |q| q.label.clone()),
            answer: match value {
                AnswerValue::Number(n) => n.to_string(),
                AnswerValue::Text(text) => text.clone(),
                AnswerValue::Choices(choices) => choices.join(", "),
            },
        })
        .collect()
}

/// An itemized cost's lines, then its total.
pub(crate) fn cost_lines(cost: &domain::money::Cost, currency: &str) -> Vec<CostLineView> {
    let money = |minor| domain::quotas::format_money(minor, currency);
    let mut lines: Vec<CostLineView> = cost
        .lines
        .iter()
        .map(|line| CostLineView {
            label: line.label.clone(),
            quantity: format!("{} × {}", line.quantity, money(line.unit_price_minor)),
            amount: money(line.amount_minor),
        })
        .collect();
    lines.push(CostLineView {
        label: "Total".into(),
        quantity: String::new(),
        amount: money(cost.total_minor),
    });
    lines
}

/// The questions' labels, when the viewer may read them (else answers show by number).
async fn question_list(state: &WebState, actor: &OrgActor) -> Result<Vec<Question>, UiError> {
    match state.app.jobs().questions(actor).await {
        Ok(questions) => Ok(questions),
        Err(AppError::PermissionDenied { .. }) => Ok(Vec::new()),
        Err(other) => Err(other.into()),
    }
}

/// Where the viewer may copy a file: their own space, then the projects they may see (the use
/// case refuses those they may only view, saying so).
pub(crate) async fn copy_destinations(
    state: &WebState,
    actor: &OrgActor,
) -> Result<Vec<Choice>, UiError> {
    if !actor.holds(P::FilesView) {
        return Ok(Vec::new());
    }
    let mut choices = vec![Choice {
        value: String::new(),
        label: "My own files".into(),
        selected: true,
    }];
    choices.extend(
        state
            .app
            .files()
            .list_projects(actor)
            .await?
            .into_iter()
            .map(|p| Choice {
                value: p.id.to_string(),
                label: format!("Project “{}”", p.name),
                selected: false,
            }),
    );
    Ok(choices)
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

/// One job: where it is, why it is not printing when it waits, who did each step, its answers
/// and cost; printing it again and copying its file for those who may.
pub(crate) async fn job_page(
    State(state): State<WebState>,
    member: InOrg,
    Path(path): Path<(String, String)>,
    Query(query): Query<NoticeQuery>,
) -> Page {
    let id = job_in_path(&path)?;
    let notice = notice(query.done.as_deref());
    let page = job_page_of(
        &state,
        &member,
        id,
        notice,
        MoveForm::default(),
        String::new(),
    )
    .await?;
    Ok(render(StatusCode::OK, &page))
}

/// The job page, with the move form as sent and why it was refused (empty: not refused).
async fn job_page_of(
    state: &WebState,
    member: &InOrg,
    id: JobId,
    notice: String,
    moving: MoveForm,
    move_problem: String,
) -> Result<JobPage, UiError> {
    let actor = &member.actor;
    let jobs = state.app.jobs();
    let view = jobs.get_job(actor, id).await?;
    let job = view.job.clone();
    let currency = state.app.people().get_org(actor).await?.currency;
    let cost_summary = match &view.cost {
        Some(cost) => {
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
    let questions = question_list(state, actor).await?;
    let answers = answer_lines(&questions, view.answers.as_ref());
    let cost = view
        .cost
        .as_ref()
        .map(|cost| cost_lines(&cost.estimate, &currency))
        .unwrap_or_default();
    let names = FleetNames::load(state, actor).await?;
    let line = job_lines(state, actor, &names, vec![view])
        .await?
        .pop()
        .ok_or(UiError::NotFound)?;
    let own = job.owner_member_id == actor.member_id();
    let movable = job.state.is_editable()
        && (actor.holds(P::QueueMoveAll) || (own && actor.holds(P::QueueMoveOwn)));
    let move_to = if movable {
        let (kind, target_id) = job.target.parts();
        let current = target_id.map_or_else(|| kind.to_string(), |t| format!("{kind}:{t}"));
        let chosen = if moving.target.is_empty() {
            current
        } else {
            moving.target
        };
        target_choices(actor, &names, &chosen)
    } else {
        Vec::new()
    };
    Ok(JobPage {
        layout: Layout::in_org(member, &format!("Job {id}"), "queue"),
        org_id: actor.org().get(),
        job: line,
        note: job.note,
        reason: job.reason.unwrap_or_default(),
        copies_done: job.copies_done,
        cost_summary,
        why,
        timeline,
        notice,
        cancellable: !job.state.has_started()
            && !job.state.is_finished()
            && (actor.holds(P::QueueCancelAll) || (own && actor.holds(P::QueueCancelOwn))),
        answers,
        cost,
        reprintable: job.state.is_finished() && actor.holds(P::QueueReprint),
        copy_to: copy_destinations(state, actor).await?,
        move_to,
        move_problem,
    })
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

/// Sends a job that has not started elsewhere; a refusal (no printer there, it does not fit, a
/// quota…) shows the job page again with it in the move form.
pub(crate) async fn move_job(
    State(state): State<WebState>,
    member: InOrg,
    Path(path): Path<(String, String)>,
    request: Request,
) -> Page {
    let form: MoveForm = checked_form(&member.viewer, request).await?;
    let id = job_in_path(&path)?;
    let moved = match parsed_target(&form.target) {
        Ok(target) => state.app.jobs().move_job(&member.actor, id, target).await,
        Err(refused) => Err(refused),
    };
    match moved {
        Ok(_) => Ok(Redirect::to(&format!(
            "/orgs/{}/jobs/{id}?done=job-moved",
            member.actor.org()
        ))
        .into_response()),
        Err(
            error @ (AppError::PermissionDenied { .. }
            | AppError::NotFound { .. }
            | AppError::Internal(_)),
        ) => Err(UiError::from(error).framed(&member)),
        Err(error) => {
            let status = crate::error::status(error.code());
            let (problem, _) = refusal(error)?;
            let page = job_page_of(&state, &member, id, String::new(), form, problem).await?;
            Ok(render(status, &page))
        }
    }
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
    /// The field the problem is about, shown next to it ("" : the whole form).
    problem_field: String,
    /// The chosen file's analysis and what the job would cost, before it is submitted.
    review: Option<Review>,
}

/// What a member reviews before submitting: the file's analysis and the estimate.
struct Review {
    file: String,
    thumbnail: String,
    time: String,
    grams: String,
    layers: u64,
    material: String,
    cost: Vec<CostLineView>,
}

pub(crate) struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
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

/// What the member typed, to show the form again with it (after a refusal, or to review).
#[derive(Default)]
struct Entered {
    file: String,
    target: String,
    copies: String,
    note: String,
    answers: BTreeMap<String, Vec<String>>,
    /// `review`: show the analysis and estimate; anything else submits.
    action: String,
}

impl Entered {
    /// Takes one field of the form (or of the review page's address).
    fn take(&mut self, name: &str, value: String) {
        match name {
            "file" => self.file = value,
            "target" => self.target = value,
            "copies" => self.copies = value,
            "note" => self.note = value,
            "action" => self.action = value,
            other if other.starts_with('q') && other[1..].parse::<i64>().is_ok() => {
                self.answers
                    .entry(other.to_string())
                    .or_default()
                    .push(value);
            }
            _ => {}
        }
    }

    /// The address of the form showing these values again (to review them).
    fn review_query(&self) -> String {
        let mut pairs: Vec<(&str, &str)> = vec![
            ("file", &self.file),
            ("target", &self.target),
            ("copies", &self.copies),
            ("note", &self.note),
        ];
        for (key, values) in &self.answers {
            pairs.extend(values.iter().map(|v| (key.as_str(), v.as_str())));
        }
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    }
}

/// Where a job may print, as the target picker sends it (`any`, `site:3`, `printer:7`…).
fn parsed_target(text: &str) -> Result<JobTarget, AppError> {
    let refused = || AppError::Invalid(domain::Invalid::new("target", "choose where it may print"));
    match text.split_once(':') {
        None if text == "any" || text.is_empty() => Ok(JobTarget::Any),
        Some((kind, id)) => id
            .parse::<i64>()
            .ok()
            .and_then(|id| JobTarget::from_parts(kind, Some(id)))
            .ok_or_else(refused),
        None => Err(refused()),
    }
}

/// The file and target the member entered, as the use cases take them.
fn parsed_choice(entered: &Entered) -> Result<(FileId, JobTarget, i32), AppError> {
    let invalid = |field: &'static str, message: &str| {
        AppError::Invalid(domain::Invalid::new(field, message.to_string()))
    };
    let file_id: FileId = entered
        .file
        .parse()
        .map_err(|_| invalid("file", "choose a file from your library, or upload one"))?;
    let target = parsed_target(&entered.target)?;
    let copies = match entered.copies.trim() {
        "" => 1,
        text => text
            .parse()
            .map_err(|_| invalid("copies", "must be a whole number"))?,
    };
    Ok((file_id, target, copies))
}

/// The analysis and estimate of the chosen file, or the refusal a submission would meet
/// already (a file too big for every printer, of a material none takes, not G-code…).
async fn review_of(
    state: &WebState,
    actor: &OrgActor,
    entered: &Entered,
) -> Result<Result<Review, AppError>, UiError> {
    let (file_id, target, copies) = match parsed_choice(entered) {
        Ok(choice) => choice,
        Err(refused) => return Ok(Err(refused)),
    };
    let file = match state.app.files().get(actor, file_id).await {
        Ok(file) => file,
        Err(AppError::Internal(source)) => return Err(AppError::Internal(source).into()),
        Err(refused) => return Ok(Err(refused)),
    };
    let estimate = match state
        .app
        .jobs()
        .estimate(actor, file_id, target, copies)
        .await
    {
        Ok(estimate) => estimate,
        Err(AppError::Internal(source)) => return Err(AppError::Internal(source).into()),
        Err(refused) => return Ok(Err(refused)),
    };
    let layers = file.analysis.as_ref().map_or(0, |a| a.layers);
    Ok(Ok(Review {
        thumbnail: thumbnail_url(actor.org(), &file),
        file: file.name,
        time: views::duration(estimate.seconds as f64),
        grams: format!("{} g", estimate.grams),
        layers,
        material: estimate.material.unwrap_or_default(),
        cost: if estimate.cost.lines.is_empty() {
            Vec::new()
        } else {
            cost_lines(&estimate.cost, &estimate.currency)
        },
    }))
}

/// The places a job may be sent, as the target picker offers them: anywhere the member may
/// use, then the sites, models and printers where they may queue.
fn target_choices(actor: &OrgActor, names: &FleetNames, chosen: &str) -> Vec<Choice> {
    let printers: Vec<&app::VisiblePrinter> = names
        .printers
        .iter()
        .filter(|p| actor.may_on_printer(P::QueueSubmit, p.id))
        .collect();
    let mut targets = vec![("any".to_string(), "Any printer I may use".to_string())];
    let mut sites: Vec<SiteId> = printers.iter().map(|p| p.site_id).collect();
    sites.sort();
    sites.dedup();
    for site in sites {
        targets.push((format!("site:{site}"), names.target(JobTarget::Site(site))));
    }
    let mut models: Vec<_> = printers.iter().filter_map(|p| p.model_id).collect();
    models.sort();
    models.dedup();
    for model in models {
        targets.push((
            format!("model:{model}"),
            names.target(JobTarget::Model(model)),
        ));
    }
    for printer in &printers {
        targets.push((format!("printer:{}", printer.id), printer.name.clone()));
    }
    choices(targets, chosen)
}

async fn new_job_page(
    state: &WebState,
    member: &InOrg,
    entered: Entered,
    problem: (String, String),
) -> Result<NewJobPage, UiError> {
    let actor = &member.actor;
    let app = &state.app;
    let mut files = match app
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
    // A chosen file beyond the newest hundred (or in a project shared with them) is offered too.
    if let Ok(chosen) = entered.file.parse::<FileId>()
        && !files.iter().any(|f| f.id == chosen)
        && let Ok(file) = app.files().get(actor, chosen).await
    {
        files.insert(0, file);
    }
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
    let names = FleetNames::load(state, actor).await?;
    let targets = target_choices(actor, &names, &entered.target);
    let questions = app
        .jobs()
        .questions(actor)
        .await?
        .into_iter()
        .map(|q| question_field(&q, entered.answers.get(&question_key(&q))))
        .collect();
    let mut problem = problem;
    let review = if entered.file.is_empty() || !problem.0.is_empty() && problem.1 == "file" {
        None
    } else {
        match review_of(state, actor, &entered).await? {
            Ok(review) => Some(review),
            Err(refused) => {
                if problem.0.is_empty() {
                    problem = refusal(refused)?;
                }
                None
            }
        }
    };
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
        review,
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
/// what the member may queue on), copies, a note and the organization's questions. With a file
/// chosen (`?file=`, as "review" and the library's "submit" link send), the form shows its
/// analysis and the estimate first.
pub(crate) async fn new_job(
    State(state): State<WebState>,
    member: InOrg,
    Query(fields): Query<Vec<(String, String)>>,
) -> Page {
    let mut entered = Entered::default();
    for (name, value) in fields {
        entered.take(&name, value);
    }
    let page = new_job_page(&state, &member, entered, (String::new(), String::new())).await?;
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

/// The form field a refusal is about, so the form shows it there.
fn refusal_field(error: &AppError) -> &'static str {
    use app::ErrorCode as C;
    match error {
        AppError::PermissionDenied { permission, .. }
            if *permission == P::FilesUploadGcode || *permission == P::FilesUpload =>
        {
            "upload"
        }
        AppError::FileTooLarge { .. }
        | AppError::UnsupportedFile(_)
        | AppError::InvalidModel(_)
        | AppError::UnreadableBody(_) => "upload",
        AppError::NotFound { .. } => "file",
        other => match other.code() {
            C::QuotaExceeded | C::InsufficientBalance => "copies",
            C::DoesNotFit | C::NotSliced | C::FileNotReady => "file",
            C::MaterialMismatch | C::NozzleMismatch | C::NoPrinterForTarget => "target",
            C::InvalidAnswers => "answers",
            _ => "",
        },
    }
}

/// A refusal in words, and the field it concerns (empty: the whole form).
fn refusal(error: AppError) -> Result<(String, String), UiError> {
    let field = refusal_field(&error).to_string();
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
                field,
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
        other => (sentence(&other.to_string()), field),
    })
}

/// Submits a print from the multipart form: the CSRF token first (nothing else is read
/// without it), then the fields; an uploaded file streams into the library as it arrives.
/// With `action=review` nothing is submitted: the form comes back with the file chosen, its
/// analysis and the estimate. A refusal shows the form again with what caused it, next to it.
pub(crate) async fn submit(State(state): State<WebState>, member: InOrg, request: Request) -> Page {
    let actor = &member.actor;
    let mut form = super::library::file_form(&state, request).await?;
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
        entered.take(&name, value);
    }
    if !checked {
        return Err(UiError::Csrf);
    }
    let outcome = match upload {
        Some(Ok(file)) => {
            entered.file = file.id.to_string();
            Ok(())
        }
        Some(Err(error)) => Err(error),
        None => Ok(()),
    };
    let outcome = match outcome {
        Ok(()) if entered.action == "review" => {
            if let Err(refused) = parsed_choice(&entered) {
                Err(refused)
            } else {
                return Ok(Redirect::to(&format!(
                    "/orgs/{}/jobs/new?{}#review",
                    actor.org(),
                    entered.review_query()
                ))
                .into_response());
            }
        }
        Ok(()) => submit_entered(&state, actor, &entered).await,
        Err(error) => Err(error),
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
    let (file_id, target, copies) = parsed_choice(entered)?;
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
    /// The outcome of each job of a bulk decision just made.
    outcomes: Vec<String>,
    /// Whether any job here may be decided (the bulk form shows then).
    any_approvable: bool,
    /// Where the approver may copy a job's file (empty: they may not).
    copy_to: Vec<Choice>,
}

struct ApprovalView {
    job: JobLine,
    note: String,
    approvable: bool,
    reason: String,
    printers: Vec<Choice>,
    answers: Vec<AnswerLine>,
    estimate_time: String,
    estimate_grams: String,
}

#[derive(Deserialize, Default)]
pub(crate) struct ApprovalsQuery {
    #[serde(default)]
    done: Option<String>,
    /// A bulk decision's outcomes: `id:ok` or `id:code`, comma-separated.
    #[serde(default)]
    outcomes: String,
}

/// A bulk decision's outcome for one job, in words. The query only selects among fixed
/// sentences (a known error code's meaning); anything else is left out.
fn outcome_words(item: &str) -> Option<String> {
    let (id, result) = item.split_once(':')?;
    let id: i64 = id.parse().ok()?;
    if result == "ok" {
        return Some(format!("Job #{id}: done."));
    }
    let code = app::ErrorCode::parse(result)?;
    Some(format!("Job #{id}: not decided — {}", code.meaning()))
}

/// Jobs waiting for approval, oldest first, with their file's thumbnail, owner, estimate and
/// answers: approve (to a printer of the approver's choice, or any the target names), reject
/// or send back with a reason, one by one or several at once; those the approver may not
/// decide say why.
pub(crate) async fn approvals(
    State(state): State<WebState>,
    member: InOrg,
    Query(query): Query<ApprovalsQuery>,
) -> Page {
    let actor = &member.actor;
    let jobs = state.app.jobs();
    let items = jobs.approvals(actor).await?;
    let names = FleetNames::load(&state, actor).await?;
    let questions = question_list(&state, actor).await?;
    let mut views = Vec::with_capacity(items.len());
    for item in items {
        let job = item.job.clone();
        // Answers and the cost estimate as this approver may read them.
        let view = match jobs.get_job(actor, job.id).await {
            Ok(view) => view,
            Err(AppError::NotFound { .. }) => continue,
            Err(other) => return Err(other.into()),
        };
        let answers = answer_lines(&questions, view.answers.as_ref());
        // A file the approver may not open shows no analysis; anything else is an error.
        let file = match state.app.files().get(actor, job.file_id).await {
            Ok(file) => Some(file),
            Err(AppError::NotFound { .. } | AppError::PermissionDenied { .. }) => None,
            Err(other) => return Err(other.into()),
        };
        let analysis = file.as_ref().and_then(|f| f.analysis.as_ref());
        let copies = f64::from(job.copies.max(1));
        let line = job_lines(&state, actor, &names, vec![view])
            .await?
            .pop()
            .ok_or(UiError::NotFound)?;
        let choices = names
            .printers
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
            answers,
            estimate_time: analysis
                .map(|a| views::duration(a.estimated_time_s * copies))
                .unwrap_or_default(),
            estimate_grams: analysis
                .map(|a| format!("{:.0} g", a.filament_weight_g * copies))
                .unwrap_or_default(),
        });
    }
    let page = ApprovalsPage {
        layout: Layout::in_org(&member, "Approvals", "approvals"),
        org_id: actor.org().get(),
        any_approvable: views.iter().any(|v| v.approvable),
        copy_to: if views.is_empty() {
            Vec::new()
        } else {
            copy_destinations(&state, actor).await?
        },
        items: views,
        notice: notice(query.done.as_deref()),
        outcomes: query
            .outcomes
            .split(',')
            .filter_map(outcome_words)
            .collect(),
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Deserialize)]
pub(crate) struct ApproveForm {
    #[serde(default)]
    printer: String,
}

fn decided(member: &InOrg, done: &str) -> Response {
    Redirect::to(&format!(
        "/orgs/{}/approvals?done={done}",
        member.actor.org()
    ))
    .into_response()
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
    let decision = app::Decision::Approve { printer };
    if let Err(error) = state.app.jobs().decide(&member.actor, id, decision).await {
        return Err(UiError::from(error).framed(&member));
    }
    Ok(decided(&member, "approved"))
}

#[derive(Deserialize)]
pub(crate) struct ReasonForm {
    #[serde(default)]
    reason: String,
}

pub(crate) async fn reject(
    State(state): State<WebState>,
    member: InOrg,
    Path(path): Path<(String, String)>,
    request: Request,
) -> Page {
    let form: ReasonForm = checked_form(&member.viewer, request).await?;
    let id = job_in_path(&path)?;
    let decision = app::Decision::Reject {
        reason: form.reason,
    };
    if let Err(error) = state.app.jobs().decide(&member.actor, id, decision).await {
        return Err(UiError::from(error).framed(&member));
    }
    Ok(decided(&member, "rejected"))
}

/// Sends a job back to its owner for changes, with the reason they read.
pub(crate) async fn send_back(
    State(state): State<WebState>,
    member: InOrg,
    Path(path): Path<(String, String)>,
    request: Request,
) -> Page {
    let form: ReasonForm = checked_form(&member.viewer, request).await?;
    let id = job_in_path(&path)?;
    let decision = app::Decision::SendBack {
        reason: form.reason,
    };
    if let Err(error) = state.app.jobs().decide(&member.actor, id, decision).await {
        return Err(UiError::from(error).framed(&member));
    }
    Ok(decided(&member, "sent-back"))
}

/// The same decision on the checked jobs (approve to any printer their target names, reject or
/// send back with one reason), each decided on its own; the page then lists each outcome.
pub(crate) async fn decide_many(
    State(state): State<WebState>,
    member: InOrg,
    request: Request,
) -> Page {
    let fields: Vec<(String, String)> = checked_form(&member.viewer, request).await?;
    let field = |name: &str| {
        fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let ids = fields
        .iter()
        .filter(|(name, _)| name == "job")
        .map(|(_, value)| {
            value
                .parse::<JobId>()
                .map_err(|_| UiError::BadForm("a checked job is not one of the list".into()))
        })
        .collect::<Result<Vec<JobId>, UiError>>()?;
    if ids.is_empty() {
        return Err(UiError::Refused {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            message: "Check the jobs to decide first.".into(),
            frame: None,
        }
        .framed(&member));
    }
    let decision = match field("decision").as_str() {
        "approve" => app::Decision::Approve { printer: None },
        "reject" => app::Decision::Reject {
            reason: field("reason"),
        },
        "send_back" => app::Decision::SendBack {
            reason: field("reason"),
        },
        _ => {
            return Err(UiError::BadForm(
                "choose approve, reject or send back".into(),
            ));
        }
    };
    let outcomes = match state
        .app
        .jobs()
        .decide_many(&member.actor, &ids, decision)
        .await
    {
        Ok(outcomes) => outcomes,
        Err(error) => return Err(UiError::from(error).framed(&member)),
    };
    let outcomes: Vec<String> = outcomes
        .iter()
        .map(|o| match &o.result {
            Ok(_) => format!("{}:ok", o.job_id),
            Err(error) => format!("{}:{}", o.job_id, error.code().as_str()),
        })
        .collect();
    Ok(Redirect::to(&format!(
        "/orgs/{}/approvals?done=decided&outcomes={}",
        member.actor.org(),
        outcomes.join(",")
    ))
    .into_response())
}

/// Prints a finished job again: a new job of the same file, checked like a submission.
pub(crate) async fn reprint(
    State(state): State<WebState>,
    member: InOrg,
    Path(path): Path<(String, String)>,
    request: Request,
) -> Page {
    let NoFields {} = checked_form(&member.viewer, request).await?;
    let id = job_in_path(&path)?;
    match state.app.jobs().reprint(&member.actor, id).await {
        Ok(view) => Ok(Redirect::to(&format!(
            "/orgs/{}/jobs/{}?done=reprinted",
            member.actor.org(),
            view.job.id
        ))
        .into_response()),
        Err(error) => Err(UiError::from(error).framed(&member)),
    }
}

#[derive(Deserialize)]
pub(crate) struct CopyForm {
    #[serde(default)]
    project: String,
}

/// The project a form names ("": the member's own space).
pub(crate) fn project_field(text: &str) -> Result<Option<domain::ProjectId>, UiError> {
    match text.trim() {
        "" => Ok(None),
        id => id
            .parse()
            .map(Some)
            .map_err(|_| UiError::BadForm("the project is not one of the list".into())),
    }
}

/// Copies a job's file into the viewer's library (their own space or a project they may edit).
pub(crate) async fn copy_to_library(
    State(state): State<WebState>,
    member: InOrg,
    Path(path): Path<(String, String)>,
    request: Request,
) -> Page {
    let form: CopyForm = checked_form(&member.viewer, request).await?;
    let id = job_in_path(&path)?;
    let to = app::FileDestination {
        project_id: project_field(&form.project)?,
    };
    match state.app.files().copy_job_file(&member.actor, id, to).await {
        Ok(file) => Ok(Redirect::to(&format!(
            "/orgs/{}/files/{}?done=copied",
            member.actor.org(),
            file.id
        ))
        .into_response()),
        Err(error) => Err(UiError::from(error).framed(&member)),
    }
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
