//! Fuzz target `analyze`: any bytes through `gcode::analyze`.
//!
//! The crate promises that no input panics the analyzer and that its numbers stay usable, because
//! it runs on files uploaded by anyone. libFuzzer catches panics (and aborts, overflows in debug
//! builds, timeouts and runaway memory); the asserts below add the invariants that must hold on
//! any input, so a silently wrong result (a NaN time, an unbounded warning list) is a finding too.
//!
//! Input layout: byte 0 selects the profile variation (bits, so combinations are explored too);
//! the rest is the G-code. Seeds start with a space (0x20: the default profile).
#![no_main]

use gcode::Profile;
use libfuzzer_sys::fuzz_target;

/// Builds the profile from the selector byte. Each bit reaches a path the default profile rarely
/// or never takes on small inputs.
fn profile(selector: u8) -> Profile {
    let mut p = Profile::default();
    // A tiny line cap, so the truncation path (`LineTooLong`, cut words) is hit constantly
    // instead of only for lines over 64 KiB, which libFuzzer's small inputs never reach.
    if selector & 1 != 0 {
        p.max_line_length = 16;
    }
    // A tiny look-ahead window, so the planner commits moves while the window is full (the
    // default window of 64 moves is rarely filled by short inputs).
    if selector & 2 != 0 {
        p.lookahead = 2;
    }
    // Junction deviation instead of classic jerk: a different corner-speed computation.
    if selector & 4 != 0 {
        p.junction_deviation = Some(0.05);
    }
    // A small warning cap, so the "count but do not keep" path is taken.
    if selector & 8 != 0 {
        p.max_warnings = 2;
    }
    // Klipper's planner (toolhead limits, square corner velocity) instead of Marlin's: a whole
    // second look-ahead planner that the default profile never runs.
    if selector & 16 != 0 {
        p.firmware = gcode::Firmware::Klipper;
    }
    p
}

fn finite_nonneg(what: &str, v: f64) {
    assert!(
        v.is_finite() && v >= 0.0,
        "{what} must be finite and >= 0, got {v}"
    );
}

fn finite(what: &str, v: f64) {
    assert!(v.is_finite(), "{what} must be finite, got {v}");
}

fuzz_target!(|data: &[u8]| {
    let (selector, gcode) = match data.split_first() {
        Some((&s, rest)) => (s, rest),
        None => (0, data),
    };
    let profile = profile(selector);
    // Reading from a byte slice cannot fail, so an error here is a bug as well.
    let a = gcode::analyze(gcode, &profile).expect("reading a byte slice cannot fail");

    finite_nonneg("estimated_time_s", a.estimated_time_s);
    finite_nonneg("move_time_s", a.move_time_s);
    finite_nonneg("dwell_time_s", a.dwell_time_s);
    finite_nonneg("heating_time_s", a.heating_time_s);
    for f in &a.time_by_feature {
        finite_nonneg("time_by_feature", f.seconds);
    }

    // Filament is net of retractions, so it may be negative, but never NaN or infinite.
    assert!(
        !a.extruders.is_empty(),
        "there is always at least one extruder"
    );
    for e in &a.extruders {
        finite("extruder length_mm", e.length_mm);
        finite("extruder volume_mm3", e.volume_mm3);
        finite("extruder weight_g", e.weight_g);
    }
    finite("filament_length_mm", a.filament_length_mm);
    finite("filament_weight_g", a.filament_weight_g);
    finite("max_z", a.max_z);
    if let Some(b) = a.bounds {
        for v in b.min.iter().chain(b.max.iter()) {
            finite("bounds", *v);
        }
    }

    // Warnings are capped (memory stays bounded) but all are counted.
    assert!(
        a.warnings.len() <= profile.max_warnings,
        "warnings over the cap"
    );
    assert!(
        a.warning_count >= a.warnings.len() as u64,
        "warning_count below kept warnings"
    );
});
