//! The organization's submission questions (3DPrinterOS's Q&A), defined by members with
//! `submissions.manage_questions`; every member reads them to answer them.

use authz::Permission;
use domain::{Invalid, Name, Question, QuestionId, QuestionKind};
use serde_json::json;

use super::Jobs;
use crate::actor::OrgActor;
use crate::error::AppResult;
use crate::unit_of_work::{Audit, Changes, Found};

/// Most choices a question offers, and the longest choice.
pub const MAX_CHOICES: usize = 50;
pub const MAX_CHOICE_CHARS: usize = 100;
/// A choice as it must be written: not blank, no whitespace around it.
pub const CHOICE_PATTERN: &str = concat!(
    "^[^",
    domain::whitespace_class!(),
    r"](?:[\s\S]*[^",
    domain::whitespace_class!(),
    "])?$"
);

/// A question as its author writes it.
#[derive(Debug, Clone, PartialEq)]
pub struct QuestionInput {
    pub label: String,
    pub kind: QuestionKind,
    pub required: bool,
    pub choices: Vec<String>,
}

impl QuestionInput {
    fn check(&self) -> AppResult<String> {
        let label = Name::parse("label", &self.label)?.into_string();
        if self.kind.has_choices() {
            if self.choices.is_empty() || self.choices.len() > MAX_CHOICES {
                return Err(Invalid::new(
                    "choices",
                    format!(
                        "a {} question offers 1 to {MAX_CHOICES} choices",
                        self.kind.key()
                    ),
                )
                .into());
            }
            for (i, choice) in self.choices.iter().enumerate() {
                let length = choice.trim().chars().count();
                if length == 0 || length > MAX_CHOICE_CHARS || choice.trim() != choice {
                    return Err(Invalid::new(
                        "choices",
                        format!("each choice is 1 to {MAX_CHOICE_CHARS} characters without surrounding spaces"),
                    )
                    .into());
                }
                if self.choices[..i].contains(choice) {
                    return Err(
                        Invalid::new("choices", format!("{choice:?} is offered twice")).into(),
                    );
                }
            }
        } else if !self.choices.is_empty() {
            return Err(Invalid::new(
                "choices",
                format!("a {} question offers no choices", self.kind.key()),
            )
            .into());
        }
        Ok(label)
    }
}

fn summary(question: &QuestionInput) -> serde_json::Value {
    json!({ "label": question.label, "kind": question.kind.key(),
        "required": question.required, "choices": question.choices })
}

impl Jobs<'_> {
    /// The questions every submission answers, in order (every member reads them).
    pub async fn questions(&self, actor: &OrgActor) -> AppResult<Vec<Question>> {
        actor
            .require(Permission::QueueSubmit)
            .or_else(|_| actor.require(Permission::SubmissionsManageQuestions))?;
        let mut conn = self.app.store().read().await?;
        Ok(store::list_questions(&mut conn, actor.org()).await?)
    }

    pub async fn create_question(
        &self,
        actor: &OrgActor,
        input: QuestionInput,
    ) -> AppResult<Question> {
        let label = input.check()?;
        let mut uow = self.app.begin(actor, Changes::Data).await?;
        uow.actor()
            .require(Permission::SubmissionsManageQuestions)?;
        let (org, now) = (uow.actor().org(), uow.now());
        let fields = store::QuestionFields {
            label: &label,
            kind: input.kind,
            required: input.required,
            choices: &input.choices,
        };
        let id = store::insert_question(uow.conn(), org, &fields, now).await?;
        let question = store::get_question(uow.conn(), org, id)
            .await
            .found("question")?;
        uow.audit(
            Audit::of("submission_question.create", "submission_question", id)
                .after(summary(&input)),
        );
        uow.commit().await?;
        Ok(question)
    }

    pub async fn update_question(
        &self,
        actor: &OrgActor,
        id: QuestionId,
        input: QuestionInput,
    ) -> AppResult<Question> {
        let label = input.check()?;
        let mut uow = self.app.begin(actor, Changes::Data).await?;
        uow.actor()
            .require(Permission::SubmissionsManageQuestions)?;
        let org = uow.actor().org();
        let before = store::get_question(uow.conn(), org, id)
            .await
            .found("question")?;
        let fields = store::QuestionFields {
            label: &label,
            kind: input.kind,
            required: input.required,
            choices: &input.choices,
        };
        store::update_question(uow.conn(), org, id, &fields).await?;
        let after = store::get_question(uow.conn(), org, id)
            .await
            .found("question")?;
        uow.audit(
            Audit::of("submission_question.update", "submission_question", id)
                .before(json!({ "label": before.label, "kind": before.kind.key(),
                    "required": before.required, "choices": before.choices }))
                .after(summary(&input)),
        );
        uow.commit().await?;
        Ok(after)
    }

    /// Stops asking a question; the answers already given keep it.
    pub async fn archive_question(&self, actor: &OrgActor, id: QuestionId) -> AppResult<()> {
        let mut uow = self.app.begin(actor, Changes::Data).await?;
        uow.actor()
            .require(Permission::SubmissionsManageQuestions)?;
        let (org, now) = (uow.actor().org(), uow.now());
        let before = store::get_question(uow.conn(), org, id)
            .await
            .found("question")?;
        store::archive_question(uow.conn(), org, id, now).await?;
        uow.audit(
            Audit::of("submission_question.archive", "submission_question", id)
                .before(json!({ "label": before.label })),
        );
        uow.commit().await
    }
}
