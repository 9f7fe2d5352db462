//! A printer's live state as Farmhand sees it, and the rules for moving between states.
//!
//! The printer reports what it is doing (ready, printing, paused, error, unreachable); Farmhand
//! adds what only it knows: a finished or failed print leaves the printer `awaiting_bed_clear`
//! until someone confirms the plate is empty, and `maintenance` takes a printer out of service
//! whatever it reports.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrinterState {
    /// Not reachable (or not connected yet).
    Offline,
    /// Ready for a job.
    Idle,
    Printing,
    Paused,
    /// A print ended; the plate must be cleared before the next job.
    AwaitingBedClear,
    /// The printer reports an error.
    Error,
    /// Out of service, set by someone allowed to.
    Maintenance,
}

impl PrinterState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Offline => "offline",
            Self::Idle => "idle",
            Self::Printing => "printing",
            Self::Paused => "paused",
            Self::AwaitingBedClear => "awaiting_bed_clear",
            Self::Error => "error",
            Self::Maintenance => "maintenance",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "offline" => Self::Offline,
            "idle" => Self::Idle,
            "printing" => Self::Printing,
            "paused" => Self::Paused,
            "awaiting_bed_clear" => Self::AwaitingBedClear,
            "error" => Self::Error,
            "maintenance" => Self::Maintenance,
            _ => return None,
        })
    }

    /// Whether the printer may be handed a new job.
    pub fn takes_jobs(self) -> bool {
        self == Self::Idle
    }
}

/// What the printer reports, reduced to what the state machine needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Observation {
    Unreachable,
    Ready,
    Printing,
    Paused,
    Error,
}

/// Farmhand's holds on a printer (persisted with it), the facts besides the printer's own
/// report that shape its state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Holds {
    /// Out of service, set by someone allowed to.
    pub maintenance: bool,
    /// A print ended and nobody has confirmed the plate is clear yet.
    pub bed_clear_pending: bool,
}

/// The state that follows from an observation, given Farmhand's holds.
pub fn derive_state(observation: Observation, holds: Holds) -> PrinterState {
    // An active print always shows, even in maintenance: nobody should miss a running job.
    match observation {
        Observation::Printing => PrinterState::Printing,
        Observation::Paused => PrinterState::Paused,
        _ if holds.maintenance => PrinterState::Maintenance,
        Observation::Unreachable => PrinterState::Offline,
        Observation::Error => PrinterState::Error,
        Observation::Ready if holds.bed_clear_pending => PrinterState::AwaitingBedClear,
        Observation::Ready => PrinterState::Idle,
    }
}

/// Where a print (one attempt at printing a file on a printer) is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrintState {
    Printing,
    Paused,
    Completed,
    Failed,
    Cancelled,
    /// The printer dropped off while printing; settled when it comes back.
    Unknown,
}

impl PrintState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Printing => "printing",
            Self::Paused => "paused",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
            Self::Unknown => "unknown",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "printing" => Self::Printing,
            "paused" => Self::Paused,
            "completed" => Self::Completed,
            "failed" => Self::Failed,
            "cancelled" => Self::Cancelled,
            "unknown" => Self::Unknown,
            _ => return None,
        })
    }

    /// Still on the printer (or possibly so).
    pub fn is_active(self) -> bool {
        matches!(self, Self::Printing | Self::Paused | Self::Unknown)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_shape_the_state() {
        let none = Holds::default();
        let bed = Holds {
            bed_clear_pending: true,
            ..Holds::default()
        };
        let maintenance = Holds {
            maintenance: true,
            ..Holds::default()
        };
        assert_eq!(derive_state(Observation::Ready, none), PrinterState::Idle);
        assert_eq!(
            derive_state(Observation::Ready, bed),
            PrinterState::AwaitingBedClear
        );
        assert_eq!(
            derive_state(Observation::Ready, maintenance),
            PrinterState::Maintenance
        );
        assert_eq!(
            derive_state(Observation::Printing, maintenance),
            PrinterState::Printing
        );
        assert_eq!(
            derive_state(Observation::Unreachable, bed),
            PrinterState::Offline
        );
        assert_eq!(derive_state(Observation::Error, bed), PrinterState::Error);
        for state in [
            PrinterState::Offline,
            PrinterState::Idle,
            PrinterState::Printing,
            PrinterState::Paused,
            PrinterState::AwaitingBedClear,
            PrinterState::Error,
            PrinterState::Maintenance,
        ] {
            assert_eq!(PrinterState::parse(state.as_str()), Some(state));
        }
        assert!(PrinterState::Idle.takes_jobs());
        assert!(!PrinterState::AwaitingBedClear.takes_jobs());
    }
}
