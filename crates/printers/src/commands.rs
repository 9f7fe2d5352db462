//! Small checks on commands that every driver makes the same way.

use crate::DriverError;

/// `M112` (emergency stop), ignoring case, spacing and comments.
pub(crate) fn is_emergency_stop(line: &str) -> bool {
    let code = line.split(';').next().unwrap_or_default().trim();
    code.split_ascii_whitespace()
        .next()
        .is_some_and(|word| word.eq_ignore_ascii_case("M112"))
}

/// A heater target: a finite number of °C, zero (off) or more.
pub(crate) fn temperature(value: f64) -> Result<f64, DriverError> {
    if value.is_finite() && value >= 0.0 {
        Ok(value)
    } else {
        Err(DriverError::Refused(format!(
            "{value} °C is not a temperature"
        )))
    }
}

/// Both heater targets checked before anything is sent.
pub(crate) fn temperatures(
    tool: Option<f64>,
    bed: Option<f64>,
) -> Result<(Option<f64>, Option<f64>), DriverError> {
    Ok((
        tool.map(temperature).transpose()?,
        bed.map(temperature).transpose()?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn m112_is_recognised_in_any_case_and_with_comments() {
        assert!(is_emergency_stop("M112"));
        assert!(is_emergency_stop("  m112 ; stop!"));
        assert!(!is_emergency_stop("M1120"));
        assert!(!is_emergency_stop("; M112"));
        assert!(!is_emergency_stop("G1 X1"));
    }

    #[test]
    fn temperatures_are_checked_together() {
        assert_eq!(temperatures(Some(200.0), None), Ok((Some(200.0), None)));
        assert!(temperatures(Some(200.0), Some(f64::NAN)).is_err());
        assert!(temperatures(Some(-1.0), None).is_err());
    }
}
