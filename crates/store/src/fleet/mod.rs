//! Fleet: printer models and groups, printers, their state history, and prints.

mod groups;
mod history;
pub(crate) mod models;
mod printers;
pub(crate) mod prints;

pub use groups::*;
pub use history::*;
pub use models::*;
pub use printers::*;
pub use prints::*;
