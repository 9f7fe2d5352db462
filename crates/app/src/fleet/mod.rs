//! The fleet: printers, printer models and printer groups as authorization needs them, with
//! each printer's live state.

mod printers;

pub use printers::{
    NamedInput, PrinterInput, PrinterModelInput, PrinterPage, PrinterQuery, VisiblePrinter,
    motion_profile,
};

use crate::App;

/// The use cases of the fleet.
#[derive(Clone, Copy)]
pub struct Fleet<'a> {
    pub(crate) app: &'a App,
}

impl App {
    pub fn fleet(&self) -> Fleet<'_> {
        Fleet { app: self }
    }
}
