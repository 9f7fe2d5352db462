//! Print jobs, their approval, the organization's submission questions and job timelines.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, OneOfBuilder, Schema, Type};
use utoipa::{IntoParams, ToSchema};

use super::ids::{
    FileId, JobId, MemberId, PrinterGroupId, PrinterId, PrinterModelId, QuestionId, SiteId,
    Timestamp,
};
use super::schema::{Schemas, reference, register};
use super::values::Name;

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Waiting for an approver.
    PendingApproval,
    /// Approved, or needing no approval: waiting for a printer.
    Queued,
    /// Matched to a printer, not started yet.
    Assigned,
    Printing,
    Paused,
    /// Its printer dropped off while printing it: settled when the printer answers, never
    /// restarted.
    Unknown,
    Completed,
    Failed,
    Cancelled,
    /// Refused by an approver, with the reason.
    Rejected,
    /// Returned to its owner for changes (the reason says which); they edit and resubmit.
    SentBack,
}

impl From<domain::JobState> for JobState {
    fn from(state: domain::JobState) -> JobState {
        use domain::JobState as S;
        match state {
            S::PendingApproval => JobState::PendingApproval,
            S::Queued => JobState::Queued,
            S::Assigned => JobState::Assigned,
            S::Printing => JobState::Printing,
            S::Paused => JobState::Paused,
            S::Unknown => JobState::Unknown,
            S::Completed => JobState::Completed,
            S::Failed => JobState::Failed,
            S::Cancelled => JobState::Cancelled,
            S::Rejected => JobState::Rejected,
            S::SentBack => JobState::SentBack,
        }
    }
}

impl From<JobState> for domain::JobState {
    fn from(state: JobState) -> domain::JobState {
        use domain::JobState as S;
        match state {
            JobState::PendingApproval => S::PendingApproval,
            JobState::Queued => S::Queued,
            JobState::Assigned => S::Assigned,
            JobState::Printing => S::Printing,
            JobState::Paused => S::Paused,
            JobState::Unknown => S::Unknown,
            JobState::Completed => S::Completed,
            JobState::Failed => S::Failed,
            JobState::Cancelled => S::Cancelled,
            JobState::Rejected => S::Rejected,
            JobState::SentBack => S::SentBack,
        }
    }
}

/// Which printers may take a job: exactly one of `printer_id`, `group_id`, `model_id`,
/// `site_id`, or `"any": true`. (Its schema is written by hand: the derive cannot say "exactly
/// one".)
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobTarget {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub printer_id: Option<PrinterId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<PrinterGroupId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_id: Option<PrinterModelId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site_id: Option<SiteId>,
    /// Any printer you may queue on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub any: Option<bool>,
}

impl JobTarget {
    /// The target it names; exactly one kind must be given.
    pub fn parse(self) -> Result<domain::JobTarget, domain::Invalid> {
        let given = [
            self.printer_id
                .map(|id| domain::JobTarget::Printer(id.into())),
            self.group_id.map(|id| domain::JobTarget::Group(id.into())),
            self.model_id.map(|id| domain::JobTarget::Model(id.into())),
            self.site_id.map(|id| domain::JobTarget::Site(id.into())),
            (self.any == Some(true)).then_some(domain::JobTarget::Any),
        ];
        let mut named = given.into_iter().flatten();
        match (named.next(), named.next(), self.any) {
            (Some(target), None, None | Some(true)) => Ok(target),
            _ => Err(domain::Invalid::new(
                "target",
                "must name exactly one of printer_id, group_id, model_id, site_id, or be {\"any\": true}",
            )),
        }
    }
}

impl utoipa::PartialSchema for JobTarget {
    fn schema() -> RefOr<Schema> {
        let only = |field: &str, schema: RefOr<Schema>, description: &str| {
            ObjectBuilder::new()
                .property(field, schema)
                .required(field)
                .additional_properties(Some(AdditionalProperties::FreeForm(false)))
                .description(Some(description))
        };
        let any_true = ObjectBuilder::new()
            .schema_type(Type::Boolean)
            .enum_values(Some([true]));
        OneOfBuilder::new()
            .description(Some(
                "Which printers may take a job: exactly one of `printer_id`, `group_id`, \
                 `model_id`, `site_id`, or `\"any\": true`.",
            ))
            .item(only(
                "printer_id",
                reference::<PrinterId>(),
                "This printer.",
            ))
            .item(only(
                "group_id",
                reference::<PrinterGroupId>(),
                "A printer of this group.",
            ))
            .item(only(
                "model_id",
                reference::<PrinterModelId>(),
                "A printer of this model.",
            ))
            .item(only(
                "site_id",
                reference::<SiteId>(),
                "A printer at this site.",
            ))
            .item(only(
                "any",
                any_true.into(),
                "Any printer you may queue on.",
            ))
            .into()
    }
}

impl utoipa::ToSchema for JobTarget {
    fn schemas(schemas: &mut Schemas) {
        register::<PrinterId>(schemas);
        register::<PrinterGroupId>(schemas);
        register::<PrinterModelId>(schemas);
        register::<SiteId>(schemas);
    }
}

impl From<domain::JobTarget> for JobTarget {
    fn from(target: domain::JobTarget) -> JobTarget {
        use domain::JobTarget as T;
        let mut wire = JobTarget::default();
        match target {
            T::Printer(id) => wire.printer_id = Some(id.into()),
            T::Group(id) => wire.group_id = Some(id.into()),
            T::Model(id) => wire.model_id = Some(id.into()),
            T::Site(id) => wire.site_id = Some(id.into()),
            T::Any => wire.any = Some(true),
        }
        wire
    }
}

/// An answer: a string (text or one choice), a list of strings (several choices) or a number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum AnswerValue {
    Number(f64),
    Text(String),
    Choices(Vec<String>),
}

impl From<AnswerValue> for domain::AnswerValue {
    fn from(value: AnswerValue) -> domain::AnswerValue {
        match value {
            AnswerValue::Number(n) => domain::AnswerValue::Number(n),
            AnswerValue::Text(t) => domain::AnswerValue::Text(t),
            AnswerValue::Choices(c) => domain::AnswerValue::Choices(c),
        }
    }
}

impl From<domain::AnswerValue> for AnswerValue {
    fn from(value: domain::AnswerValue) -> AnswerValue {
        match value {
            domain::AnswerValue::Number(n) => AnswerValue::Number(n),
            domain::AnswerValue::Text(t) => AnswerValue::Text(t),
            domain::AnswerValue::Choices(c) => AnswerValue::Choices(c),
        }
    }
}

/// Answers by question ID (the ID as text, as JSON object keys are).
pub type Answers = BTreeMap<String, AnswerValue>;

/// The schema of [`Answers`]: the derive would allow any key.
fn answers_schema() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some(
            "The answers to the organization's submission questions, by question ID.",
        ))
        .property_names(Some(
            super::schema::string(Some(1), Some(18), Some("^[1-9][0-9]{0,17}$")).build(),
        ))
        .additional_properties(Some(reference::<AnswerValue>()))
}

fn parse_answers(
    answers: Answers,
) -> Result<BTreeMap<domain::QuestionId, domain::AnswerValue>, domain::Invalid> {
    answers
        .into_iter()
        .map(|(key, value)| {
            let id = key.parse::<domain::QuestionId>().map_err(|_| {
                domain::Invalid::new(
                    "answers",
                    format!("keys are question IDs (positive integers), not {key:?}"),
                )
            })?;
            Ok((id, value.into()))
        })
        .collect()
}

fn wire_answers(answers: BTreeMap<domain::QuestionId, domain::AnswerValue>) -> Answers {
    answers
        .into_iter()
        .map(|(id, value)| (id.to_string(), value.into()))
        .collect()
}

/// A submission. Send an `Idempotency-Key` header to make retries safe.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitJob {
    pub file_id: FileId,
    pub target: JobTarget,
    /// 1 to 100.
    #[serde(default = "one")]
    #[schema(minimum = 1, maximum = 100)]
    pub copies: i32,
    /// Higher goes first, -100 to 100; anything but 0 needs `queue.reorder`.
    #[serde(default)]
    #[schema(minimum = -100, maximum = 100)]
    pub priority: i32,
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub note: String,
    #[serde(default)]
    #[schema(schema_with = answers_schema)]
    pub answers: Answers,
}

fn one() -> i32 {
    1
}

impl SubmitJob {
    pub fn parse(self) -> Result<app::SubmitJob, domain::Invalid> {
        Ok(app::SubmitJob {
            file_id: self.file_id.into(),
            target: self.target.parse()?,
            copies: self.copies,
            priority: self.priority,
            note: self.note,
            answers: parse_answers(self.answers)?,
        })
    }
}

fn answers_or_null_schema() -> RefOr<Schema> {
    super::schema::nullable(answers_schema().into())
}

/// Changes to a job that has not started; fields left out stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EditJob {
    #[schema(max_length = 2000)]
    pub note: Option<String>,
    #[schema(minimum = -100, maximum = 100)]
    pub priority: Option<i32>,
    #[schema(minimum = 1, maximum = 100)]
    pub copies: Option<i32>,
    pub target: Option<JobTarget>,
    #[schema(schema_with = answers_or_null_schema)]
    pub answers: Option<Answers>,
}

impl EditJob {
    pub fn parse(self) -> Result<app::JobEdit, domain::Invalid> {
        Ok(app::JobEdit {
            note: self.note,
            priority: self.priority,
            copies: self.copies,
            target: self.target.map(JobTarget::parse).transpose()?,
            answers: self.answers.map(parse_answers).transpose()?,
        })
    }
}

/// Where a job goes.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveJob {
    pub target: JobTarget,
}

/// Where a waiting job goes in the line.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReorderJob {
    /// Just before this job; left out: at the end of the line.
    pub before_job_id: Option<JobId>,
}

impl From<ReorderJob> for app::Reorder {
    fn from(body: ReorderJob) -> app::Reorder {
        match body.before_job_id {
            Some(id) => app::Reorder::Before(id.into()),
            None => app::Reorder::Last,
        }
    }
}

/// The printer a queued job goes to, chosen by hand.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignJob {
    /// A printer the job's target names, whose model suits the file.
    pub printer_id: PrinterId,
}

/// An approval, optionally to a printer of the job's target.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Approve {
    pub printer_id: Option<PrinterId>,
}

/// A rejection or a send-back, with the reason the owner reads.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WithReason {
    /// Not blank.
    #[schema(min_length = 1, max_length = 1000, pattern = r"\S")]
    pub reason: String,
}

/// The same approval for several jobs.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkApprove {
    #[schema(min_items = 1, max_items = 500)]
    pub job_ids: Vec<JobId>,
    pub printer_id: Option<PrinterId>,
}

/// The same rejection for several jobs.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkReject {
    #[schema(min_items = 1, max_items = 500)]
    pub job_ids: Vec<JobId>,
    /// Not blank.
    #[schema(min_length = 1, max_length = 1000, pattern = r"\S")]
    pub reason: String,
}

/// A print job.
#[derive(Debug, Serialize, ToSchema)]
pub struct Job {
    pub id: JobId,
    pub state: JobState,
    pub owner_member_id: MemberId,
    pub file_id: FileId,
    pub target: JobTarget,
    /// The printer it goes or went to, once known.
    pub printer_id: Option<PrinterId>,
    pub priority: i32,
    pub copies: i32,
    /// Copies printed so far.
    pub copies_done: i32,
    pub note: String,
    /// The latest rejection or send-back reason.
    pub reason: Option<String>,
    /// The job this one reprints.
    pub reprint_of: Option<JobId>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// When it reached a finished state.
    pub finished_at: Option<Timestamp>,
    /// The answers to the submission questions, by question ID; absent when you may not read
    /// them (someone else's job without `submissions.view_all_answers`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answers: Option<Answers>,
    /// The itemized cost estimate held when it was submitted (priced at the dearest printer
    /// model it may go to); absent for jobs from before costs were kept.
    pub cost_estimate: Option<super::billing::Cost>,
    /// What it cost, once it ended.
    pub cost_final: Option<super::billing::Cost>,
}

impl From<domain::Job> for Job {
    fn from(job: domain::Job) -> Job {
        let domain::Job {
            id,
            org_id: _,
            owner_member_id,
            file_id,
            target,
            printer_id,
            state,
            priority,
            copies,
            copies_done,
            note,
            reason,
            queue_position: _,
            reprint_of,
            created_at,
            updated_at,
            finished_at,
        } = job;
        Job {
            id: id.into(),
            state: state.into(),
            owner_member_id: owner_member_id.into(),
            file_id: file_id.into(),
            target: target.into(),
            printer_id: printer_id.map(Into::into),
            priority,
            copies,
            copies_done,
            note,
            reason,
            reprint_of: reprint_of.map(Into::into),
            created_at: created_at.into(),
            updated_at: updated_at.into(),
            finished_at: finished_at.map(Into::into),
            answers: None,
            cost_estimate: None,
            cost_final: None,
        }
    }
}

impl From<app::JobView> for Job {
    fn from(view: app::JobView) -> Job {
        let app::JobView { job, answers, cost } = view;
        let (cost_estimate, cost_final) = match cost {
            Some(app::JobCost {
                estimate,
                final_cost,
            }) => (Some(estimate.into()), final_cost.map(Into::into)),
            None => (None, None),
        };
        Job {
            answers: answers.map(wire_answers),
            cost_estimate,
            cost_final,
            ..Job::from(job)
        }
    }
}

/// A query of jobs: the filters every job listing and the export share (all optional), and
/// the fields of one of them.
macro_rules! job_query {
    ($(#[$doc:meta])* $name:ident { $($(#[$field_doc:meta])* $field:ident: $type:ty,)* }) => {
        $(#[$doc])*
        #[derive(Debug, Default, Deserialize, IntoParams)]
        #[serde(deny_unknown_fields)]
        #[into_params(parameter_in = Query)]
        pub struct $name {
            /// Only jobs in this state: a finished state for the history, another for the
            /// queue.
            pub state: Option<JobState>,
            /// Only this member's jobs (someone else's needs the `.all` permission).
            pub owner_member_id: Option<MemberId>,
            /// Only jobs going (or gone) to this printer.
            pub printer_id: Option<PrinterId>,
            /// Only jobs targeting this printer group (at most one of `group_id`, `model_id`
            /// and `site_id`).
            pub group_id: Option<PrinterGroupId>,
            /// Only jobs targeting this printer model.
            pub model_id: Option<PrinterModelId>,
            /// Only jobs targeting this site.
            pub site_id: Option<SiteId>,
            /// Created at or after.
            pub from: Option<Timestamp>,
            /// Created before.
            pub to: Option<Timestamp>,
            $($(#[$field_doc])* pub $field: $type,)*
        }
    };
}

job_query!(
    /// Which jobs a listing shows, a page at a time.
    JobListQuery {
        /// Only jobs whose number, note, owner's name (or email, for those who see the
        /// members) or file name (of the files the caller may see) holds this text, ignoring
        /// case; `%` and `_` are plain characters.
        #[param(max_length = 200)]
        text: Option<String>,
        /// The `next_cursor` of the previous page of the same listing (any other value is
        /// refused).
        #[param(max_length = 100)]
        cursor: Option<String>,
        /// Page size, 1 to 500 (default 100).
        #[param(minimum = 1, maximum = 500)]
        limit: Option<u32>,
    }
);

job_query!(
    /// Which finished jobs an export holds: every one the filters match.
    JobExportQuery {}
);

impl JobExportQuery {
    pub fn parse(self) -> Result<app::JobQuery, domain::Invalid> {
        let JobExportQuery {
            state,
            owner_member_id,
            printer_id,
            group_id,
            model_id,
            site_id,
            from,
            to,
        } = self;
        JobListQuery {
            state,
            owner_member_id,
            printer_id,
            group_id,
            model_id,
            site_id,
            from,
            to,
            text: None,
            cursor: None,
            limit: None,
        }
        .parse()
    }
}

impl JobListQuery {
    pub fn parse(self) -> Result<app::JobQuery, domain::Invalid> {
        let targets = [
            self.group_id.map(|id| domain::JobTarget::Group(id.into())),
            self.model_id.map(|id| domain::JobTarget::Model(id.into())),
            self.site_id.map(|id| domain::JobTarget::Site(id.into())),
        ];
        let mut named = targets.into_iter().flatten();
        let target = named.next();
        if named.next().is_some() {
            return Err(domain::Invalid::new(
                "group_id",
                "filter by one of group_id, model_id and site_id at a time",
            ));
        }
        Ok(app::JobQuery {
            state: self.state.map(Into::into),
            owner: self.owner_member_id.map(Into::into),
            printer: self.printer_id.map(Into::into),
            target,
            from: self.from.map(|t| t.0),
            to: self.to.map(|t| t.0),
            text: self.text,
            cursor: self.cursor,
            limit: self.limit,
        })
    }
}

/// A page of jobs.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobPage {
    pub jobs: Vec<Job>,
    /// Pass as `cursor` for the next page; absent on the last.
    pub next_cursor: Option<String>,
}

impl From<app::JobPage> for JobPage {
    fn from(page: app::JobPage) -> JobPage {
        JobPage {
            jobs: page.jobs.into_iter().map(Job::from).collect(),
            next_cursor: page.next_cursor,
        }
    }
}

/// A job waiting for approval, and whether you may decide it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApprovalItem {
    pub job: Job,
    pub approvable: bool,
    /// Why you may not decide it, when you may not.
    pub not_approvable_reason: Option<String>,
}

impl From<app::ApprovalItem> for ApprovalItem {
    fn from(item: app::ApprovalItem) -> ApprovalItem {
        ApprovalItem {
            job: item.job.into(),
            approvable: item.approvable,
            not_approvable_reason: item.not_approvable_reason,
        }
    }
}

/// What became of one job of a bulk decision.
#[derive(Debug, Serialize, ToSchema)]
pub struct BulkResult {
    pub job_id: JobId,
    pub ok: bool,
    /// Its state after the decision, when it went through.
    pub state: Option<JobState>,
    /// Why it did not, when it did not: the error code and message a single decision gives.
    pub error: Option<BulkError>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BulkError {
    pub code: String,
    pub message: String,
}

impl From<app::BulkOutcome> for BulkResult {
    fn from(outcome: app::BulkOutcome) -> BulkResult {
        match outcome.result {
            Ok(job) => BulkResult {
                job_id: outcome.job_id.into(),
                ok: true,
                state: Some(job.state.into()),
                error: None,
            },
            Err(error) => BulkResult {
                job_id: outcome.job_id.into(),
                ok: false,
                state: None,
                error: Some(BulkError {
                    code: error.code().as_str().to_string(),
                    message: crate::error::ApiError::from(error).message,
                }),
            },
        }
    }
}

/// One step of a job's life: who did what, when and why.
#[derive(Debug, Serialize, ToSchema)]
pub struct TimelineStep {
    /// `submitted`, `answered`, `approved`, `rejected`, `sent_back`, `resubmitted`, `edited`,
    /// `moved`, `reordered`, `cancelled`, `revived`, `reprinted`, and, as it prints,
    /// `assigned`, `started`, `paused`, `resumed`, `completed`, `failed`, `bed_cleared`,
    /// `charged`.
    pub step: String,
    pub at: Timestamp,
    /// Who did it; absent for Farmhand itself (the dispatcher, a printer's report).
    pub actor_member_id: Option<MemberId>,
    pub actor_name: Option<String>,
    pub from_state: Option<JobState>,
    pub to_state: JobState,
    pub reason: Option<String>,
    /// What changed (edits, moves, the chosen printer).
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

impl From<app::TimelineStep> for TimelineStep {
    fn from(step: app::TimelineStep) -> TimelineStep {
        let domain::JobEvent {
            job_id: _,
            step: kind,
            at,
            actor_member_id,
            from_state,
            to_state,
            reason,
            detail,
        } = step.event;
        TimelineStep {
            step: kind.key().to_string(),
            at: at.into(),
            actor_member_id: actor_member_id.map(Into::into),
            actor_name: step.actor_name,
            from_state: from_state.map(Into::into),
            to_state: to_state.into(),
            reason,
            detail,
        }
    }
}

/// What kind of answer a question takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QuestionKind {
    Text,
    Choice,
    MultiChoice,
    Number,
}

impl From<QuestionKind> for domain::QuestionKind {
    fn from(kind: QuestionKind) -> domain::QuestionKind {
        match kind {
            QuestionKind::Text => domain::QuestionKind::Text,
            QuestionKind::Choice => domain::QuestionKind::Choice,
            QuestionKind::MultiChoice => domain::QuestionKind::MultiChoice,
            QuestionKind::Number => domain::QuestionKind::Number,
        }
    }
}

impl From<domain::QuestionKind> for QuestionKind {
    fn from(kind: domain::QuestionKind) -> QuestionKind {
        match kind {
            domain::QuestionKind::Text => QuestionKind::Text,
            domain::QuestionKind::Choice => QuestionKind::Choice,
            domain::QuestionKind::MultiChoice => QuestionKind::MultiChoice,
            domain::QuestionKind::Number => QuestionKind::Number,
        }
    }
}

/// A question every submission answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct Question {
    pub id: QuestionId,
    pub label: String,
    pub kind: QuestionKind,
    pub required: bool,
    /// The allowed answers of a choice question, in order.
    pub choices: Vec<String>,
}

impl From<domain::Question> for Question {
    fn from(question: domain::Question) -> Question {
        let domain::Question {
            id,
            label,
            kind,
            required,
            choices,
            position: _,
        } = question;
        Question {
            id: id.into(),
            label,
            kind: kind.into(),
            required,
            choices,
        }
    }
}

fn choices_schema() -> utoipa::openapi::schema::ArrayBuilder {
    let choice = super::schema::string(
        Some(1),
        Some(app::MAX_CHOICE_CHARS),
        Some(app::CHOICE_PATTERN),
    )
    .description(Some("A choice: not blank, no whitespace around it."));
    super::schema::array(choice, None, Some(app::MAX_CHOICES)).unique_items(true)
}

/// A question as its author writes it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuestionInput {
    #[schema(value_type = Name)]
    pub label: String,
    pub kind: QuestionKind,
    #[serde(default)]
    pub required: bool,
    /// For `choice` and `multi_choice`: 1 to 50 choices, each once; none for the others.
    #[serde(default)]
    #[schema(schema_with = choices_schema)]
    pub choices: Vec<String>,
}

impl From<QuestionInput> for app::QuestionInput {
    fn from(input: QuestionInput) -> app::QuestionInput {
        app::QuestionInput {
            label: input.label,
            kind: input.kind.into(),
            required: input.required,
            choices: input.choices,
        }
    }
}

/// Whether jobs wait for an approver.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApprovalSetting {
    /// When on, jobs of members whose rank lacks `approval.skip` wait in `pending_approval`.
    pub approval_required: bool,
}

/// Why a printer is not taking a job now.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NotTakingCode {
    /// It is printing another job.
    Busy,
    /// The last print's plate has not been confirmed clear.
    AwaitingBedClear,
    /// It does not answer, or Farmhand is not connected to it.
    Offline,
    Maintenance,
    /// It reports an error.
    Error,
    /// The job's owner may not print on it.
    NoPrintAccess,
    /// The print is larger than its build volume.
    DoesNotFit,
    /// The file is sliced for a material it does not take.
    WrongMaterial,
    /// The file is sliced for another nozzle.
    WrongNozzle,
    /// Its jobs are started by hand: someone has to start this one.
    AutoStartOff,
    /// It is reserved for another member or workgroup now.
    Reserved,
    /// Started now, the job would end outside the site's staffed hours (and grace period).
    OutsideStaffedHours,
    /// It is free, and jobs ahead in line go first.
    BehindInQueue,
    /// The job no longer fits its owner's allowance (lowered since it was submitted) beside
    /// what has started; it waits until the period resets or the allowance grows.
    QuotaExhausted,
}

impl From<app::NotTakingCode> for NotTakingCode {
    fn from(code: app::NotTakingCode) -> NotTakingCode {
        use app::NotTakingCode as C;
        match code {
            C::Busy => NotTakingCode::Busy,
            C::AwaitingBedClear => NotTakingCode::AwaitingBedClear,
            C::Offline => NotTakingCode::Offline,
            C::Maintenance => NotTakingCode::Maintenance,
            C::Error => NotTakingCode::Error,
            C::NoPrintAccess => NotTakingCode::NoPrintAccess,
            C::DoesNotFit => NotTakingCode::DoesNotFit,
            C::WrongMaterial => NotTakingCode::WrongMaterial,
            C::WrongNozzle => NotTakingCode::WrongNozzle,
            C::AutoStartOff => NotTakingCode::AutoStartOff,
            C::Reserved => NotTakingCode::Reserved,
            C::OutsideStaffedHours => NotTakingCode::OutsideStaffedHours,
            C::BehindInQueue => NotTakingCode::BehindInQueue,
            C::QuotaExhausted => NotTakingCode::QuotaExhausted,
        }
    }
}

/// One reason, with a sentence.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotTaking {
    pub code: NotTakingCode,
    pub message: String,
    /// For `behind_in_queue`: how many jobs go first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jobs_ahead: Option<i64>,
}

/// A printer the job may go to and what keeps it from taking the job now; no reasons: it takes
/// the job at the dispatcher's next pass.
#[derive(Debug, Serialize, ToSchema)]
pub struct Candidate {
    pub printer_id: PrinterId,
    pub printer_name: String,
    pub state: super::fleet::PrinterState,
    pub reasons: Vec<NotTaking>,
}

/// Why a queued or assigned job is not printing.
#[derive(Debug, Serialize, ToSchema)]
pub struct WhyNotPrinting {
    pub job_id: JobId,
    pub state: JobState,
    /// In one sentence.
    pub summary: String,
    /// The printers its target names (or the one its approver chose) that you may see; empty
    /// when none matches.
    pub candidates: Vec<Candidate>,
    /// Printers matching its target that you may not see, only counted.
    pub hidden_candidates: u64,
}

impl From<app::WhyNotPrinting> for WhyNotPrinting {
    fn from(why: app::WhyNotPrinting) -> WhyNotPrinting {
        let app::WhyNotPrinting {
            job,
            candidates,
            hidden_candidates,
            summary,
        } = why;
        WhyNotPrinting {
            job_id: job.id.into(),
            state: job.state.into(),
            summary,
            candidates: candidates
                .into_iter()
                .map(|candidate| Candidate {
                    printer_id: candidate.printer_id.into(),
                    printer_name: candidate.printer_name,
                    state: candidate.state.into(),
                    reasons: candidate
                        .reasons
                        .into_iter()
                        .map(|reason| NotTaking {
                            code: reason.code.into(),
                            message: reason.message,
                            jobs_ahead: reason.jobs_ahead,
                        })
                        .collect(),
                })
                .collect(),
            hidden_candidates: u64::try_from(hidden_candidates).unwrap_or(u64::MAX),
        }
    }
}
