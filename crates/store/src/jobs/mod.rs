//! Jobs: the print queue and its history, submission questions and answers, and each job's
//! timeline.

mod copies;
mod events;
mod files;
mod questions;
mod queue;

pub use copies::*;
pub use events::*;
pub use files::*;
pub use questions::*;
pub use queue::*;
