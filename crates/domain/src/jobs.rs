//! Print jobs: a file someone asks to have printed, where, how many, and the states it goes
//! through on its way (DESIGN.md, "Job lifecycle").

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{
    FileId, JobId, MemberId, OrgId, PrinterGroupId, PrinterId, PrinterModelId, QuestionId, SiteId,
    Timestamp,
};

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Waiting for an approver.
    PendingApproval,
    /// Approved (or needing no approval), waiting for a printer.
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
    /// Refused by an approver; in history with the reason.
    Rejected,
    /// Returned to its owner for changes; they edit it and resubmit.
    SentBack,
}

impl JobState {
    pub const ALL: [JobState; 11] = [
        JobState::PendingApproval,
        JobState::Queued,
        JobState::Assigned,
        JobState::Printing,
        JobState::Paused,
        JobState::Unknown,
        JobState::Completed,
        JobState::Failed,
        JobState::Cancelled,
        JobState::Rejected,
        JobState::SentBack,
    ];

    /// States of jobs still in the queue (not history).
    pub const ACTIVE: [JobState; 7] = [
        JobState::PendingApproval,
        JobState::SentBack,
        JobState::Queued,
        JobState::Assigned,
        JobState::Printing,
        JobState::Paused,
        JobState::Unknown,
    ];

    pub fn key(self) -> &'static str {
        match self {
            JobState::PendingApproval => "pending_approval",
            JobState::Queued => "queued",
            JobState::Assigned => "assigned",
            JobState::Printing => "printing",
            JobState::Paused => "paused",
            JobState::Unknown => "unknown",
            JobState::Completed => "completed",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
            JobState::Rejected => "rejected",
            JobState::SentBack => "sent_back",
        }
    }

    pub fn parse(key: &str) -> Option<JobState> {
        JobState::ALL.into_iter().find(|s| s.key() == key)
    }

    /// Over: the job is history.
    pub fn is_finished(self) -> bool {
        !JobState::ACTIVE.contains(&self)
    }

    /// A printer has (or had) it: editing or moving it is no longer possible.
    pub fn has_started(self) -> bool {
        matches!(
            self,
            JobState::Printing
                | JobState::Paused
                | JobState::Unknown
                | JobState::Completed
                | JobState::Failed
        )
    }

    /// Whether a job in this state may be edited by its owner or a manager.
    pub fn is_editable(self) -> bool {
        matches!(
            self,
            JobState::PendingApproval | JobState::SentBack | JobState::Queued
        )
    }

    /// The lifecycle: every transition a job may take. Anything else is refused, never a
    /// silent no-op.
    pub fn can_become(self, next: JobState) -> bool {
        use JobState::*;
        match (self, next) {
            (PendingApproval, Queued | Rejected | SentBack | Cancelled) => true,
            (SentBack, PendingApproval | Queued | Cancelled) => true,
            (Queued, Assigned | Cancelled) => true,
            (Assigned, Queued | Printing | Cancelled) => true,
            (Printing, Paused | Unknown | Completed | Failed | Cancelled) => true,
            (Paused, Printing | Unknown | Failed | Cancelled) => true,
            // Settled as the printer says once it answers again.
            (Unknown, Printing | Paused | Completed | Failed | Cancelled) => true,
            // Reviving puts a finished job back in line, through approval when it is needed;
            // so does a completed copy of several (the next copy waits for a printer).
            (Completed | Failed | Cancelled | Rejected, PendingApproval | Queued) => true,
            _ => false,
        }
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// Which printers may take a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobTarget {
    Printer(PrinterId),
    Group(PrinterGroupId),
    Model(PrinterModelId),
    Site(SiteId),
    Any,
}

impl JobTarget {
    /// The stored kind and ID.
    pub fn parts(self) -> (&'static str, Option<i64>) {
        match self {
            JobTarget::Printer(id) => ("printer", Some(id.get())),
            JobTarget::Group(id) => ("group", Some(id.get())),
            JobTarget::Model(id) => ("model", Some(id.get())),
            JobTarget::Site(id) => ("site", Some(id.get())),
            JobTarget::Any => ("any", None),
        }
    }

    pub fn from_parts(kind: &str, id: Option<i64>) -> Option<JobTarget> {
        Some(match (kind, id) {
            ("printer", Some(id)) => JobTarget::Printer(PrinterId(id)),
            ("group", Some(id)) => JobTarget::Group(PrinterGroupId(id)),
            ("model", Some(id)) => JobTarget::Model(PrinterModelId(id)),
            ("site", Some(id)) => JobTarget::Site(SiteId(id)),
            ("any", None) => JobTarget::Any,
            _ => return None,
        })
    }

    /// Whether a printer placed so is one this target names.
    pub fn matches(self, printer: &authz::Printer) -> bool {
        match self {
            JobTarget::Printer(id) => printer.id == id,
            JobTarget::Group(id) => printer.groups.contains(&id),
            JobTarget::Model(id) => printer.model == Some(id),
            JobTarget::Site(id) => printer.site == id,
            JobTarget::Any => true,
        }
    }
}

impl fmt::Display for JobTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.parts() {
            (kind, Some(id)) => write!(f, "{kind} {id}"),
            (kind, None) => f.write_str(kind),
        }
    }
}

/// Bounds of what a submission may ask for.
pub const MAX_COPIES: i32 = 100;
pub const PRIORITY_RANGE: std::ops::RangeInclusive<i32> = -100..=100;
pub const MAX_NOTE_CHARS: usize = 2000;

/// A print job.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: JobId,
    pub org_id: OrgId,
    pub owner_member_id: MemberId,
    pub file_id: FileId,
    pub target: JobTarget,
    /// The printer it was assigned to, once known.
    pub printer_id: Option<PrinterId>,
    pub state: JobState,
    /// Higher goes first; -100 to 100, 0 by default.
    pub priority: i32,
    pub copies: i32,
    /// Copies printed so far.
    pub copies_done: i32,
    pub note: String,
    /// The latest rejection or send-back reason.
    pub reason: Option<String>,
    /// Order among jobs of the same priority (lower first); reordering changes it.
    pub queue_position: i64,
    /// The job this one reprints, if any.
    pub reprint_of: Option<JobId>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// When it reached a finished state.
    pub finished_at: Option<Timestamp>,
}

/// What kind of answer a submission question takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuestionKind {
    Text,
    Choice,
    MultiChoice,
    Number,
}

impl QuestionKind {
    pub const ALL: [QuestionKind; 4] = [
        QuestionKind::Text,
        QuestionKind::Choice,
        QuestionKind::MultiChoice,
        QuestionKind::Number,
    ];

    pub fn key(self) -> &'static str {
        match self {
            QuestionKind::Text => "text",
            QuestionKind::Choice => "choice",
            QuestionKind::MultiChoice => "multi_choice",
            QuestionKind::Number => "number",
        }
    }

    pub fn parse(key: &str) -> Option<QuestionKind> {
        QuestionKind::ALL.into_iter().find(|k| k.key() == key)
    }

    pub fn has_choices(self) -> bool {
        matches!(self, QuestionKind::Choice | QuestionKind::MultiChoice)
    }
}

/// A question the organization asks with every submission (3DPrinterOS's Q&A).
#[derive(Debug, Clone, PartialEq)]
pub struct Question {
    pub id: QuestionId,
    pub label: String,
    pub kind: QuestionKind,
    pub required: bool,
    /// The allowed answers of a choice question, in order.
    pub choices: Vec<String>,
    pub position: i32,
}

/// An answer: a string, a list of strings or a number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AnswerValue {
    Number(f64),
    Text(String),
    Choices(Vec<String>),
}

pub const MAX_ANSWER_CHARS: usize = 2000;

impl Question {
    /// Whether `value` answers this question; the refusal says why in a sentence.
    pub fn check(&self, value: &AnswerValue) -> Result<(), String> {
        let label = &self.label;
        match (self.kind, value) {
            (QuestionKind::Text, AnswerValue::Text(text)) => {
                if self.required && text.trim().is_empty() {
                    return Err(format!("\"{label}\" needs an answer"));
                }
                if text.chars().count() > MAX_ANSWER_CHARS {
                    return Err(format!(
                        "the answer to \"{label}\" must be at most {MAX_ANSWER_CHARS} characters"
                    ));
                }
                Ok(())
            }
            (QuestionKind::Number, AnswerValue::Number(n)) if n.is_finite() => Ok(()),
            (QuestionKind::Choice, AnswerValue::Text(choice)) => self.check_choice(choice),
            (QuestionKind::MultiChoice, AnswerValue::Choices(choices)) => {
                if self.required && choices.is_empty() {
                    return Err(format!("\"{label}\" needs at least one choice"));
                }
                let mut seen = Vec::new();
                for choice in choices {
                    self.check_choice(choice)?;
                    if seen.contains(&choice) {
                        return Err(format!("\"{choice}\" is chosen twice for \"{label}\""));
                    }
                    seen.push(choice);
                }
                Ok(())
            }
            (kind, _) => Err(format!(
                "\"{label}\" takes {}",
                match kind {
                    QuestionKind::Text => "text",
                    QuestionKind::Choice => "one of its choices, as a string",
                    QuestionKind::MultiChoice => "a list of its choices",
                    QuestionKind::Number => "a number",
                }
            )),
        }
    }

    fn check_choice(&self, choice: &str) -> Result<(), String> {
        if self.choices.iter().any(|c| c == choice) {
            Ok(())
        } else {
            Err(format!(
                "\"{choice}\" is not a choice of \"{}\" (choose from: {})",
                self.label,
                self.choices.join(", ")
            ))
        }
    }
}

/// A step in a job's life, for its timeline ("who did each step").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStep {
    Submitted,
    Answered,
    Approved,
    Rejected,
    SentBack,
    Resubmitted,
    Edited,
    Moved,
    Reordered,
    Cancelled,
    Revived,
    Reprinted,
    Assigned,
    /// The assigned printer could not take the file: back in line.
    Unassigned,
    Started,
    Paused,
    Resumed,
    /// Its printer stopped answering mid-print.
    ContactLost,
    /// Its printer answered again and said how the print stands.
    Reconciled,
    Completed,
    /// One copy of several completed: back in line for the next.
    NextCopy,
    /// Another copy of a printing job started on a second printer at the same time.
    CopyStarted,
    /// One copy completed while others still print.
    CopyCompleted,
    /// One copy failed or was cancelled while others still print: no further copy starts, and
    /// the job ends failed once those in flight end.
    CopyFailed,
    Failed,
    BedCleared,
    Charged,
}

impl JobStep {
    pub const ALL: [JobStep; 27] = [
        JobStep::Submitted,
        JobStep::Answered,
        JobStep::Approved,
        JobStep::Rejected,
        JobStep::SentBack,
        JobStep::Resubmitted,
        JobStep::Edited,
        JobStep::Moved,
        JobStep::Reordered,
        JobStep::Cancelled,
        JobStep::Revived,
        JobStep::Reprinted,
        JobStep::Assigned,
        JobStep::Unassigned,
        JobStep::Started,
        JobStep::Paused,
        JobStep::Resumed,
        JobStep::ContactLost,
        JobStep::Reconciled,
        JobStep::Completed,
        JobStep::NextCopy,
        JobStep::CopyStarted,
        JobStep::CopyCompleted,
        JobStep::CopyFailed,
        JobStep::Failed,
        JobStep::BedCleared,
        JobStep::Charged,
    ];

    pub fn key(self) -> &'static str {
        match self {
            JobStep::Submitted => "submitted",
            JobStep::Answered => "answered",
            JobStep::Approved => "approved",
            JobStep::Rejected => "rejected",
            JobStep::SentBack => "sent_back",
            JobStep::Resubmitted => "resubmitted",
            JobStep::Edited => "edited",
            JobStep::Moved => "moved",
            JobStep::Reordered => "reordered",
            JobStep::Cancelled => "cancelled",
            JobStep::Revived => "revived",
            JobStep::Reprinted => "reprinted",
            JobStep::Assigned => "assigned",
            JobStep::Unassigned => "unassigned",
            JobStep::Started => "started",
            JobStep::Paused => "paused",
            JobStep::ContactLost => "contact_lost",
            JobStep::Reconciled => "reconciled",
            JobStep::NextCopy => "next_copy",
            JobStep::CopyStarted => "copy_started",
            JobStep::CopyCompleted => "copy_completed",
            JobStep::CopyFailed => "copy_failed",
            JobStep::Resumed => "resumed",
            JobStep::Completed => "completed",
            JobStep::Failed => "failed",
            JobStep::BedCleared => "bed_cleared",
            JobStep::Charged => "charged",
        }
    }

    pub fn parse(key: &str) -> Option<JobStep> {
        JobStep::ALL.into_iter().find(|s| s.key() == key)
    }

    /// Whether this step can be taken from `state` (besides the transition itself being one
    /// the lifecycle has): an approver decides only a job waiting for approval, reviving is for
    /// finished jobs, and so on. Steps that change no state apply wherever they are recorded.
    pub fn applies_to(self, state: JobState) -> bool {
        use JobState::*;
        match self {
            JobStep::Approved | JobStep::Rejected | JobStep::SentBack => state == PendingApproval,
            JobStep::Resubmitted => state == SentBack,
            JobStep::Revived => state.is_finished(),
            JobStep::Cancelled => !state.is_finished(),
            JobStep::Assigned => state == Queued,
            JobStep::Unassigned => state == Assigned,
            JobStep::Started => state == Assigned,
            JobStep::Paused => state == Printing,
            JobStep::Resumed => state == Paused,
            JobStep::ContactLost => matches!(state, Printing | Paused),
            JobStep::Reconciled => state == Unknown,
            JobStep::NextCopy => state == Completed,
            JobStep::CopyStarted => state == Printing,
            JobStep::CopyCompleted | JobStep::CopyFailed => {
                matches!(state, Printing | Paused | Unknown)
            }
            JobStep::Completed | JobStep::Failed => matches!(state, Printing | Paused | Unknown),
            _ => true,
        }
    }
}

/// One step of a job's timeline: who did what, when, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct JobEvent {
    pub job_id: JobId,
    pub step: JobStep,
    pub at: Timestamp,
    /// Who did it; `None` for Farmhand itself (the dispatcher, a printer's report).
    pub actor_member_id: Option<MemberId>,
    pub from_state: Option<JobState>,
    pub to_state: JobState,
    pub reason: Option<String>,
    /// What changed, for edits and moves.
    pub detail: serde_json::Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip() {
        for state in JobState::ALL {
            assert_eq!(JobState::parse(state.key()), Some(state));
        }
        for step in JobStep::ALL {
            assert_eq!(JobStep::parse(step.key()), Some(step));
        }
        for kind in QuestionKind::ALL {
            assert_eq!(QuestionKind::parse(kind.key()), Some(kind));
        }
    }

    #[test]
    fn the_lifecycle_allows_only_its_transitions() {
        use JobState::*;
        assert!(PendingApproval.can_become(Queued));
        assert!(PendingApproval.can_become(SentBack));
        assert!(SentBack.can_become(PendingApproval));
        assert!(Printing.can_become(Paused) && Paused.can_become(Printing));
        assert!(Completed.can_become(Queued), "revive");
        assert!(!Queued.can_become(Completed));
        assert!(!Rejected.can_become(Printing));
        assert!(!Completed.can_become(Cancelled));
        assert!(
            !Printing.can_become(Queued),
            "a started job is never restarted"
        );
        for state in JobState::ALL {
            assert!(
                !state.can_become(state),
                "{state} to itself is no transition"
            );
        }
        // Rejected can become queued (revived), but an approver cannot approve it.
        assert!(Rejected.can_become(Queued));
        assert!(!JobStep::Approved.applies_to(Rejected));
        assert!(JobStep::Revived.applies_to(Rejected));
        assert!(!JobStep::Revived.applies_to(Queued));
    }

    #[test]
    fn answers_are_checked_against_their_question() {
        let question = |kind, required| Question {
            id: QuestionId(1),
            label: "Course".into(),
            kind,
            required,
            choices: vec!["ME101".into(), "ME202".into()],
            position: 0,
        };
        let text = |s: &str| AnswerValue::Text(s.into());
        assert!(
            question(QuestionKind::Choice, true)
                .check(&text("ME101"))
                .is_ok()
        );
        let refused = question(QuestionKind::Choice, true)
            .check(&text("CS1"))
            .unwrap_err();
        assert!(refused.contains("choose from: ME101, ME202"), "{refused}");
        assert!(
            question(QuestionKind::Number, true)
                .check(&text("3"))
                .unwrap_err()
                .contains("a number")
        );
        assert!(
            question(QuestionKind::Text, true)
                .check(&text("  "))
                .is_err()
        );
        assert!(question(QuestionKind::Text, false).check(&text("")).is_ok());
        let twice = AnswerValue::Choices(vec!["ME101".into(), "ME101".into()]);
        assert!(
            question(QuestionKind::MultiChoice, true)
                .check(&twice)
                .unwrap_err()
                .contains("twice")
        );
    }

    #[test]
    fn targets_match_their_printers() {
        let printer = authz::Printer {
            id: PrinterId(7),
            site: SiteId(1),
            model: Some(PrinterModelId(2)),
            groups: vec![PrinterGroupId(3)],
        };
        assert!(JobTarget::Printer(PrinterId(7)).matches(&printer));
        assert!(!JobTarget::Printer(PrinterId(8)).matches(&printer));
        assert!(JobTarget::Group(PrinterGroupId(3)).matches(&printer));
        assert!(JobTarget::Model(PrinterModelId(2)).matches(&printer));
        assert!(!JobTarget::Site(SiteId(2)).matches(&printer));
        assert!(JobTarget::Any.matches(&printer));
        for target in [JobTarget::Site(SiteId(4)), JobTarget::Any] {
            let (kind, id) = target.parts();
            assert_eq!(JobTarget::from_parts(kind, id), Some(target));
        }
    }
}
