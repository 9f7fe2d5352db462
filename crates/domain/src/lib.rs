//! Farmhand's domain: typed IDs, validated values, timestamps and the audit chain.

pub mod audit;
pub mod clock;
pub mod entities;
pub mod files;
pub mod jobs;
pub mod money;
pub mod printer_state;
pub mod quotas;
pub mod schema;
pub mod slicing;
pub mod staffed_hours;
pub mod values;

pub use authz::ids::*;
pub use clock::{Clock, ManualClock, SystemClock, Timestamp};
pub use entities::*;
pub use files::*;
pub use jobs::{AnswerValue, Job, JobEvent, JobState, JobStep, JobTarget, Question, QuestionKind};
pub use printer_state::{PrintState, PrinterState};
pub use slicing::{Placement, Slice, SliceState, SlicerLock, SlicerProfile};
pub use staffed_hours::{LocalTime, StaffedHours, StaffedPeriod, TimeOfDay, Weekday};
pub use values::*;
