//! Fleet: printer models and groups, printers, their state history, prints and reservations.

mod groups;
mod history;
mod leases;
pub(crate) mod models;
mod printers;
pub(crate) mod prints;
mod reservations;

pub use groups::*;
pub use history::*;
pub use leases::*;
pub use models::*;
pub use printers::*;
pub use prints::*;
pub use reservations::*;
