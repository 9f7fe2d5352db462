//! The fleet: printers, printer models and printer groups as authorization needs them, with
//! each printer's live state.

mod printers;
mod reservations;

pub use printers::{
    MAX_PRINTER_CREDENTIAL_CHARS, MAX_PRINTER_URL_CHARS, MAX_SIMULATION_HEAT_UP_S,
    MAX_SIMULATION_SPEED, NamedInput, PRINTER_CREDENTIAL_PATTERN, PRINTER_URL_PATTERN,
    PrinterInput, PrinterModelInput, PrinterPage, PrinterQuery, SIMULATOR_URL_PATTERN,
    VisiblePrinter, motion_profile,
};
pub use reservations::{MAX_RESERVATION_DAYS, MAX_RESERVATION_NOTE_CHARS, ReservePrinter};

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
