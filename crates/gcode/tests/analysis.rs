//! Hand-computed expectations for small G-code snippets.

// Test helpers outside `#[test]` functions unwrap too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use gcode::{Analysis, Profile, WarningKind, analyze};

/// A machine with no jerk (every corner and every start is from rest), no per-axis limits that
/// bite, 1000 mm/s² everywhere, and a planner that can always stop from zero.
fn simple() -> Profile {
    Profile {
        max_feedrate: [1e6; 4],
        max_acceleration: [1e6; 4],
        print_acceleration: 1000.0,
        retract_acceleration: 1000.0,
        travel_acceleration: 1000.0,
        max_jerk: [0.0; 4],
        junction_deviation: None,
        minimum_planner_speed: 0.0,
        hotend_heating_rate: 2.0,
        bed_heating_rate: 0.5,
        ambient_temperature: 25.0,
        ..Profile::prusa_mk3s()
    }
}

/// Huge accelerations: time is distance / feed rate.
fn instant() -> Profile {
    Profile {
        print_acceleration: 1e12,
        retract_acceleration: 1e12,
        travel_acceleration: 1e12,
        max_acceleration: [1e12; 4],
        ..simple()
    }
}

fn run(text: &str, profile: &Profile) -> Analysis {
    analyze(text.as_bytes(), profile).unwrap()
}

fn assert_close(got: f64, want: f64, tol: f64) {
    assert!(
        (got - want).abs() <= tol * want.abs().max(1.0),
        "got {got}, want {want}"
    );
}

#[test]
fn single_move_at_constant_feed_with_acceleration() {
    // v = 100 mm/s, a = 1000 mm/s², d = 100 mm, from rest to rest:
    // t = 2 v/a + (d - v²/a)/v = 0.2 + 0.9 = 1.1 s.
    let a = run("G1 X100 F6000\n", &simple());
    assert_close(a.estimated_time_s, 1.1, 1e-9);
    assert_close(a.move_time_s, 1.1, 1e-9);
    assert_eq!(a.bounds, None, "travel is not in the extrusion box");
    assert!(a.warnings.is_empty(), "{:?}", a.warnings);
}

#[test]
fn classic_jerk_lets_moves_start_and_end_at_jerk_speed() {
    // X jerk 10 mm/s: starts and ends at 10 mm/s. Ramps 10→100 take 0.09 s over 4.95 mm each;
    // cruise 90.1 mm at 100 mm/s = 0.901 s. Total 1.081 s.
    let p = Profile {
        max_jerk: [10.0, 10.0, 0.4, 5.0],
        ..simple()
    };
    let a = run("G1 X100 F6000\n", &p);
    assert_close(a.estimated_time_s, 1.081, 1e-9);
}

#[test]
fn collinear_segments_do_not_stop_between_each_other() {
    let text: String = (1..=100).map(|i| format!("G1 X{i} F6000\n")).collect();
    let a = run(&text, &simple());
    assert_close(a.estimated_time_s, 1.1, 1e-6);
}

#[test]
fn short_move_never_reaches_cruise_speed() {
    // d = 4 mm: triangle profile, t = 2 sqrt(d/a).
    let a = run("G1 X4 F6000\n", &simple());
    assert_close(a.estimated_time_s, 2.0 * (0.004f64).sqrt(), 1e-9);
}

#[test]
fn inches_scale_positions_and_feed() {
    // 1 inch at 1 inch/min = 25.4 mm at 0.42333 mm/s: t = d/v + v/a.
    let a = run("G20\nG1 X1 F1\n", &simple());
    let v = 25.4 / 60.0;
    assert_close(a.estimated_time_s, 25.4 / v + v / 1000.0, 1e-9);
    let a = run("G20\nG21\nG1 X1 F60\n", &simple());
    assert_close(a.estimated_time_s, 1.0 + 1.0 / 1000.0, 1e-9);
}

#[test]
fn machine_limits_from_the_file_override_the_profile() {
    // M204 S500: t = d/v + v/a = 1 + 0.2.
    let a = run("M204 S500\nG1 X100 F6000\n", &simple());
    assert_close(a.estimated_time_s, 1.2, 1e-9);
    // M204 T applies to travel only; P to extrusion.
    let a = run("M204 P100 T500\nG1 X100 F6000\n", &simple());
    assert_close(a.estimated_time_s, 1.2, 1e-9);
    let a = run("M83\nM204 P500 T100\nG1 X100 E1 F6000\n", &simple());
    assert_close(a.estimated_time_s, 1.2, 1e-9);
    // M203 X50 (mm/s): v = 50, t = 2 + 0.05.
    let a = run("M203 X50\nG1 X100 F6000\n", &simple());
    assert_close(a.estimated_time_s, 2.05, 1e-9);
    // M201 X250: a = 250, t = 1 + 0.4.
    let a = run("M201 X250\nG1 X100 F6000\n", &simple());
    assert_close(a.estimated_time_s, 1.4, 1e-9);
    // Diagonal move limited by the Y axis acceleration only through its share.
    let a = run("M201 X1000 Y1000\nG1 X60 Y80 F6000\n", &simple());
    assert_close(a.estimated_time_s, 1.1, 1e-9);
}

#[test]
fn junction_deviation_rounds_corners_faster_than_a_stop() {
    let square = "G1 X100 F6000\nG1 Y100\n";
    let stop = run(square, &simple()).estimated_time_s;
    assert_close(stop, 2.2, 1e-9);
    let jd = run(&format!("M205 J0.05\n{square}"), &simple()).estimated_time_s;
    assert!(jd < stop && jd > 2.0, "{jd}");
}

#[test]
fn absolute_relative_and_g92_extrusion() {
    let a = run(
        "M82\nG92 E0\nG1 X10 E1\nG1 X20 E2\nG92 E0\nG1 X30 E0.5\n",
        &simple(),
    );
    assert_close(a.filament_length_mm, 2.5, 1e-12);
    let a = run("M83\nG1 X10 E1\nG1 X20 E1\nG1 E-0.8\nG1 E0.8\n", &simple());
    assert_close(a.filament_length_mm, 2.0, 1e-12);
    // G91 makes E relative too; G90 back to absolute positions.
    let a = run(
        "G91\nG1 X10 E1\nG1 Y5 E1\nG90\nM82\nG92 E0\nG1 X0 Y0 E1\n",
        &simple(),
    );
    assert_close(a.filament_length_mm, 3.0, 1e-12);
    let b = a.bounds.unwrap();
    assert_eq!(b.min, [0.0, 0.0, 0.0]);
    assert_eq!(b.max, [10.0, 5.0, 0.0]);
}

#[test]
fn g92_shifts_positions() {
    // After G92 X0 at X50, moving to X100 is a 100 mm move.
    let a = run("G1 X50 F6000\nG4\nG92 X0\nG1 X100\n", &simple());
    let first = 50.0 / 100.0 + 0.1;
    assert_close(a.estimated_time_s, first + 1.1, 1e-9);
}

#[test]
fn volume_and_weight_from_diameter_and_density() {
    let a = run("M83\nG1 X10 E100\n", &simple());
    let area = std::f64::consts::PI * 0.875 * 0.875;
    assert_close(a.extruders[0].volume_mm3, 100.0 * area, 1e-12);
    assert_close(a.filament_weight_g, 100.0 * area * 1.24 / 1000.0, 1e-12);
}

#[test]
fn tool_changes_count_filament_per_extruder() {
    let a = run(
        "M83\nT0\nG1 X10 E5\nT1\nG1 X20 E3\nT0\nG1 X30 E1\n",
        &simple(),
    );
    assert_eq!(a.extruders.len(), 2);
    assert_close(a.extruders[0].length_mm, 6.0, 1e-12);
    assert_close(a.extruders[1].length_mm, 3.0, 1e-12);
    assert_close(a.filament_length_mm, 9.0, 1e-12);
}

#[test]
fn full_circle_arc_with_ij() {
    // Start at (0,0), centre (10,0): circumference 20π, at 10 mm/s with instant acceleration.
    let a = run("M83\nG2 X0 Y0 I10 J0 E5 F600\n", &instant());
    let len = 20.0 * std::f64::consts::PI;
    // Chords are slightly shorter than the arc (1 mm segments on r = 10: < 0.05%).
    assert_close(a.estimated_time_s, len / 10.0, 5e-4);
    assert_close(a.filament_length_mm, 5.0, 1e-12);
    let b = a.bounds.unwrap();
    assert_close(b.min[0], 0.0, 1e-3);
    assert_close(b.max[0], 20.0, 1e-3);
    assert_close(b.min[1], -10.0, 2e-3);
    assert_close(b.max[1], 10.0, 2e-3);
}

#[test]
fn half_circle_arcs_with_r_in_both_directions() {
    // Clockwise from (0,0) to (20,0) with R10 goes over the top (y = +10).
    let a = run("M83\nG2 X20 Y0 R10 E1 F600\n", &instant());
    assert_close(a.estimated_time_s, std::f64::consts::PI, 5e-4);
    let b = a.bounds.unwrap();
    assert_close(b.max[1], 10.0, 2e-3);
    assert!(b.min[1] > -1e-9);
    // Counter-clockwise goes under.
    let a = run("M83\nG3 X20 Y0 R10 E1 F600\n", &instant());
    let b = a.bounds.unwrap();
    assert_close(b.min[1], -10.0, 2e-3);
    // Quarter circle, counter-clockwise from (10,0) around the origin to (0,10).
    let a = run("G1 X10 F600\nG4\nG3 X0 Y10 I-10 J0\n", &instant());
    assert_close(
        a.estimated_time_s,
        1.0 + std::f64::consts::PI * 5.0 / 10.0,
        5e-4,
    );
    // An arc without a centre is a straight move with a warning.
    let a = run("G2 X10 F600\n", &instant());
    assert_close(a.estimated_time_s, 1.0, 1e-9);
    assert_eq!(a.warnings[0].kind, WarningKind::InvalidCommand);
}

#[test]
fn dwell_in_milliseconds_and_seconds() {
    let a = run("G4 P500\nG4 S2\nG4\n", &simple());
    assert_close(a.dwell_time_s, 2.5, 1e-12);
    assert_close(a.estimated_time_s, 2.5, 1e-12);
}

#[test]
fn heating_waits_from_the_heating_rate() {
    // Hot end from 25 °C to 215 °C at 2 °C/s.
    let a = run("M109 S215\n", &simple());
    assert_close(a.heating_time_s, 95.0, 1e-12);
    // Heating starts at M104; 10 s of dwell already happened.
    let a = run("M104 S215\nG4 S10\nM109\n", &simple());
    assert_close(a.heating_time_s, 85.0, 1e-12);
    assert_close(a.estimated_time_s, 95.0, 1e-12);
    // Bed from 25 °C to 60 °C at 0.5 °C/s; a second wait at the same target is free.
    let a = run("M140 S60\nM190 S60\nM190 S60\n", &simple());
    assert_close(a.heating_time_s, 70.0, 1e-12);
    // M109 S does not wait for cooling; R does.
    let a = run("M109 S215\nM109 S200\n", &simple());
    assert_close(a.heating_time_s, 95.0, 1e-12);
    let a = run("M109 S215\nM109 R205\n", &simple());
    assert_close(a.heating_time_s, 100.0, 1e-12);
}

#[test]
fn firmware_retraction_uses_profile_length_and_speed() {
    // 0.8 mm at 35 mm/s with 1000 mm/s²: too short to cruise, t = 2 sqrt(0.8/1000) each way.
    let a = run("G10\nG10\nG11\n", &simple());
    assert_close(a.estimated_time_s, 2.0 * 2.0 * (0.0008f64).sqrt(), 1e-9);
    assert_close(a.filament_length_mm, 0.0, 1e-12);
    // M207 changes the length.
    let a = run("M207 S2 F2100\nG10\n", &simple());
    assert_close(a.filament_length_mm, -2.0, 1e-12);
}

#[test]
fn progress_and_known_commands_do_not_cost_time_or_warn() {
    let a = run(
        "M73 P50 R10\nM107\nM106 S255\nM84\nG21\nG90\nM82\n",
        &simple(),
    );
    assert_eq!(a.estimated_time_s, 0.0);
    assert!(a.warnings.is_empty(), "{:?}", a.warnings);
}

#[test]
fn time_per_feature_type() {
    let text =
        ";TYPE:Perimeter\nG1 X100 F6000\n;TYPE:Solid infill\nG1 X0\n; TYPE:Perimeter\nG1 X100\n";
    let a = run(text, &simple());
    assert_eq!(a.time_by_feature.len(), 2);
    assert_eq!(a.time_by_feature[0].name, "Perimeter");
    assert_close(a.time_by_feature[0].seconds, 2.2, 1e-9);
    assert_eq!(a.time_by_feature[1].name, "Solid infill");
    assert_close(a.time_by_feature[1].seconds, 1.1, 1e-9);
    // Cura style.
    let a = run(";TYPE:WALL-OUTER\nG1 X10 F6000\n", &simple());
    assert_eq!(a.time_by_feature[0].name, "WALL-OUTER");
}

#[test]
fn layers_from_markers_or_from_z() {
    let a = run(
        ";LAYER_CHANGE\nG1 Z0.2\n;LAYER_CHANGE\nG1 Z0.4\n;LAYER_CHANGE\n",
        &simple(),
    );
    assert_eq!(a.layer_count, 3);
    let a = run(";LAYER:0\n;LAYER:1\n", &simple());
    assert_eq!(a.layer_count, 2);
    // No markers: Z rising while extruding; the Z hop to 0.6 is travel only.
    let a = run(
        "M83\nG1 Z0.2\nG1 X10 E1\nG1 Z0.4\nG1 X0 E1\nG1 Z0.6\nG1 Z0.4\nG1 X5 E1\n",
        &simple(),
    );
    assert_eq!(a.layer_count, 2);
    assert_close(a.max_z, 0.6, 1e-12);
    assert_close(a.bounds.unwrap().max[2], 0.4, 1e-12);
}

#[test]
fn line_endings_numbers_and_checksums_do_not_change_the_result() {
    let lf = "M83\nG1 X10 Y5 E1 F1200 ; c\nG1 X20 E1\n";
    let base = run(lf, &simple());
    for variant in [
        lf.replace('\n', "\r\n"),
        lf.replace('\n', "\r"),
        "N1 M83*12\nN2 G1X10Y5E1F1200*99\nn3 g1 x20 e1 (comment)\n".to_string(),
    ] {
        let a = run(&variant, &simple());
        assert_eq!(a.estimated_time_s, base.estimated_time_s, "{variant:?}");
        assert_eq!(a.filament_length_mm, base.filament_length_mm);
        assert!(a.warnings.is_empty(), "{:?}", a.warnings);
    }
}

#[test]
fn unknown_commands_warn_once_with_line_numbers() {
    let a = run("G1 X1\nM999\nM999\nFOO_BAR X=1\nG1 X2 Ynan\n", &simple());
    let unknown: Vec<_> = a
        .warnings
        .iter()
        .filter(|w| w.kind == WarningKind::UnknownCommand)
        .collect();
    assert_eq!(unknown.len(), 2);
    assert_eq!(unknown[0].line, 2);
    assert!(unknown[0].message.contains("M999"));
    assert_eq!(unknown[1].line, 4);
    assert!(
        a.warnings
            .iter()
            .any(|w| w.kind == WarningKind::InvalidWord && w.line == 5)
    );
}

#[test]
fn warnings_are_capped_but_counted() {
    let text: String = (0..500).map(|i| format!("M{}\n", 5000 + i)).collect();
    let a = run(&text, &simple());
    assert_eq!(a.warnings.len(), 100);
    assert_eq!(a.warning_count, 500);
    assert_eq!(a.lines, 500);
    assert_eq!(a.warnings[99].line, 100);
}

#[test]
fn very_long_lines_are_cut_with_a_warning() {
    let mut text = String::from("G1 X10 F6000 ");
    text.push_str(&"Y1 ".repeat(400_000));
    text.push_str("\nG1 X20\n");
    let a = run(&text, &simple());
    assert_eq!(a.lines, 2);
    assert_eq!(a.warnings[0].kind, WarningKind::LineTooLong);
    // A long comment line is not worth a warning.
    let long_comment = format!("; {}\nG1 X1\n", "x".repeat(1 << 20));
    let a = run(&long_comment, &simple());
    assert!(a.warnings.is_empty());
}

#[test]
fn huge_and_invalid_numbers_are_ignored_with_a_warning() {
    let a = run(
        "G1 X1e308 F6000\nG1 X99999999999999999999\nG1 Xinf\n",
        &simple(),
    );
    // `1e308` is X1 followed by E308 (G-code has no exponents).
    assert_close(a.extruders[0].length_mm, 308.0, 1e-12);
    assert!(a.warning_count >= 1);
    assert!(a.estimated_time_s.is_finite());
}

#[test]
fn slicer_metadata_is_reported_and_file_density_is_used() {
    let text = "; generated by PrusaSlicer 2.7.1 on 2024-01-10 at 10:00:00 UTC\nM83\nG1 X10 E100\n\
                ; estimated printing time (normal mode) = 2m 5s\n; filament_density = 2.0\n\
                ; filament_diameter = 2.0\n";
    let a = run(text, &simple());
    assert_eq!(a.metadata.slicer.as_deref(), Some("PrusaSlicer 2.7.1"));
    assert_eq!(a.metadata.estimated_time_s, Some(125.0));
    let volume = 100.0 * std::f64::consts::PI;
    assert_close(a.extruders[0].volume_mm3, volume, 1e-12);
    assert_close(a.filament_weight_g, volume * 2.0 / 1000.0, 1e-12);
}

#[test]
fn extrusion_outside_the_bed_warns_once() {
    let a = run("M83\nG1 X10 Y10 E1\nG1 X300 E1\nG1 X400 E1\n", &simple());
    let outside: Vec<_> = a
        .warnings
        .iter()
        .filter(|w| w.kind == WarningKind::OutsideBed)
        .collect();
    assert_eq!(outside.len(), 1);
    assert_eq!(outside[0].line, 3);
    // Travel outside the bed is fine, and so is no bed at all.
    let a = run("G1 X300\n", &simple());
    assert!(a.warnings.is_empty());
    let no_bed = Profile {
        bed: None,
        ..simple()
    };
    assert!(run("M83\nG1 X300 E1\n", &no_bed).warnings.is_empty());
}

#[test]
fn m204_legacy_s_form_sets_retract_acceleration_with_t() {
    // S500 T250: print/travel 500, retract 250. A 0.8 mm retraction at 35 mm/s with a = 250:
    // triangle, t = 2 sqrt(d/a).
    let a = run("M204 S500 T250\nM83\nG1 E-0.8 F2100\n", &simple());
    assert_close(a.estimated_time_s, 2.0 * (0.8f64 / 250.0).sqrt(), 1e-9);
    let a = run("M204 S500 T250\nG1 X100 F6000\n", &simple());
    assert_close(a.estimated_time_s, 1.2, 1e-9);
}

#[test]
fn prusaslicer_mk3s_style_file_gives_no_warnings() {
    let text = r#"; generated by PrusaSlicer 2.7.1+linux-x64-GTK3 on 2024-01-10 at 10:00:00 UTC
M73 P0 R12
M201 X1000 Y1000 Z200 E5000 ; sets maximum accelerations, mm/sec^2
M203 X200 Y200 Z12 E120 ; sets maximum feedrates, mm / sec
M204 P1250 R1250 T1250 ; sets acceleration (P, T) and retract acceleration (R), mm/sec^2
M205 X8.00 Y8.00 Z0.40 E4.50 ; sets the jerk limits, mm/sec
M205 S0 T0 ; sets the minimum extruding and travel feed rate, mm/sec
;TYPE:Custom
M862.3 P "MK3S" ; printer model check
M862.1 P0.4 ; nozzle diameter check
M115 U3.13.2 ; tell printer latest fw version
G90 ; use absolute coordinates
M83 ; extruder relative mode
M104 S215 ; set extruder temp
M140 S60 ; set bed temp
M190 S60 ; wait for bed temp
M109 S215 ; wait for extruder temp
G28 W ; home all without mesh bed level
G80 ; mesh bed leveling
G1 Z0.2 F720
G1 Y-3 F1000 ; go outside print area
G92 E0
G1 X60 E9 F1000 ; intro line
G1 X100 E12.5 F1000 ; intro line
G92 E0
M221 S95
G21 ; set units to millimeters
M900 K0.05 ; Filament gcode LA 1.5
M107
;LAYER_CHANGE
;Z:0.2
;HEIGHT:0.2
;BEFORE_LAYER_CHANGE
G92 E0.0
;0.2
G1 E-.8 F2100
;AFTER_LAYER_CHANGE
;0.2
G1 X97.281 Y97.281 F10800
G1 E.8 F2100
;TYPE:Skirt/Brim
;WIDTH:0.42
G1 F1200
G1 X152.719 Y97.281 E1.84
G1 X152.719 Y152.719 E1.84
M73 P50 R6
G1 X97.281 Y152.719 E1.84
G1 X97.281 Y97.281 E1.84
G1 E-.8 F2100
;TYPE:Custom
; Filament-specific end gcode
G1 Z30.2 F720 ; Move print head up
G1 X0 Y200 F3600 ; park
G4 ; wait
M221 S100 ; reset flow
M900 K0 ; reset LA
M104 S0 ; turn off temperature
M140 S0 ; turn off heatbed
M107 ; turn off fan
M84 ; disable motors
; max_layer_z = 0.2
M73 P100 R0
; filament used [mm] = 28.86
; estimated printing time (normal mode) = 12m 3s
; filament_type = PLA
"#;
    let a = run(text, &Profile::default());
    assert!(a.warnings.is_empty(), "{:?}", a.warnings);
    assert_eq!(a.layer_count, 1);
    // Relative E (M83): 9 + 12.5 of intro line, four 1.84 mm perimeters, two retractions and one
    // un-retraction.
    assert_close(a.filament_length_mm, 21.5 + 4.0 * 1.84 - 0.8, 1e-9);
    // Bed 25 → 60 °C at 0.6 °C/s: 58.3 s, while the hot end (set by M104 before) heats at
    // 2.5 °C/s; it needs 76 s from 25 to 215 °C, so M109 waits the remaining 17.7 s.
    assert_close(a.heating_time_s, 76.0, 1e-9);
    assert!(a.move_time_s > 10.0, "{}", a.move_time_s);
    let b = a.bounds.unwrap();
    assert_eq!(b.min, [0.0, -3.0, 0.2]);
    assert_eq!(b.max, [152.719, 152.719, 0.2]);
    assert_close(a.max_z, 30.2, 1e-12);
    assert_eq!(a.metadata.estimated_time_s, Some(723.0));
    assert_eq!(a.metadata.filament_type, vec!["PLA"]);
    let names: Vec<_> = a.time_by_feature.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, vec!["Custom", "Skirt/Brim"]);
}

/// Time of one trapezoid from `ve` up to `v` and down to `vx` over `d` with acceleration `a`.
fn trapezoid(ve: f64, v: f64, vx: f64, a: f64, d: f64) -> f64 {
    let up = (v * v - ve * ve) / (2.0 * a);
    let down = (v * v - vx * vx) / (2.0 * a);
    (v - ve) / a + (d - up - down) / v + (v - vx) / a
}

#[test]
fn junction_deviation_corner_speed_by_hand() {
    // 90° corner: cos θ = 0, sin(θ/2) = √½, v² = a · J · sin(θ/2) / (1 - sin(θ/2)).
    let (a, j) = (1000.0, 0.05);
    let s = 0.5f64.sqrt();
    let vc = (a * j * s / (1.0 - s)).sqrt();
    let want = trapezoid(0.0, 100.0, vc, a, 100.0) + trapezoid(vc, 100.0, 0.0, a, 100.0);
    let a = run("M205 J0.05\nG1 X100 F6000\nG1 Y100\n", &simple());
    assert_close(a.estimated_time_s, want, 1e-9);
}

#[test]
fn classic_jerk_corner_speed_by_hand() {
    // X then Y at 100 mm/s with 10 mm/s jerk: X stops from 100 mm/s, a jump of 100 > 10, so the
    // junction is scaled by 10/100 to 10 mm/s (Y then jumps 0 → 10, within its jerk). Each move
    // also starts/ends at its own safe (jerk) speed of 10 mm/s.
    let p = Profile {
        max_jerk: [10.0, 10.0, 0.4, 5.0],
        ..simple()
    };
    let want = 2.0 * trapezoid(10.0, 100.0, 10.0, 1000.0, 100.0);
    let a = run("G1 X100 F6000\nG1 Y100\n", &p);
    assert_close(a.estimated_time_s, want, 1e-9);
}

#[test]
fn thumbnails_are_decoded() {
    let text = "; thumbnail begin 2x2 16\n; aGVsbG8gd29ybGQ=\n; thumbnail end\nG1 X1 F600\n";
    let a = run(text, &simple());
    assert_eq!(a.thumbnails.len(), 1);
    assert_eq!(a.thumbnails[0].data, b"hello world");
    assert!(a.warnings.is_empty());
}

/// A Klipper machine: 1000 mm/s², square corner velocity 5 mm/s, no cruise-ratio smoothing.
fn klipper() -> Profile {
    Profile {
        firmware: gcode::Firmware::Klipper,
        klipper: gcode::KlipperLimits {
            max_velocity: 500.0,
            max_accel: 1000.0,
            square_corner_velocity: 5.0,
            minimum_cruise_ratio: 0.0,
            ..gcode::KlipperLimits::default()
        },
        ..simple()
    }
}

#[test]
fn klipper_square_corner_by_hand() {
    // Two 100 mm legs at 100 mm/s turning 90° at the square corner velocity (5 mm/s): each leg
    // ramps 0→100 in 0.1 s, 100→5 in 0.095 s, and cruises 90.0125 mm.
    let a = run("G1 X100 F6000\nG1 Y100\n", &klipper());
    assert_close(a.move_time_s, 2.0 * (0.1 + 0.095 + 0.900125), 1e-9);
    assert!(a.warnings.is_empty(), "{:?}", a.warnings);
}

#[test]
fn klipper_set_velocity_limit_and_m204_change_the_acceleration() {
    // One 100 mm move at 100 mm/s: d/v + v/a.
    let base = run("G1 X100 F6000\n", &klipper());
    assert_close(base.move_time_s, 1.0 + 0.1, 1e-9);
    let a = run("SET_VELOCITY_LIMIT ACCEL=500\nG1 X100 F6000\n", &klipper());
    assert_close(a.move_time_s, 1.0 + 0.2, 1e-9);
    let a = run("M204 S250\nG1 X100 F6000\n", &klipper());
    assert_close(a.move_time_s, 1.0 + 0.4, 1e-9);
    // P and T together: the smaller; P alone is refused with a warning, as Klipper does.
    let a = run("M204 P2000 T500\nG1 X100 F6000\n", &klipper());
    assert_close(a.move_time_s, 1.0 + 0.2, 1e-9);
    let a = run("M204 P2000\nG1 X100 F6000\n", &klipper());
    assert_close(a.move_time_s, 1.1, 1e-9);
    assert_eq!(a.warnings[0].kind, WarningKind::InvalidCommand);
    // VELOCITY caps the feed rate: 100 mm at 50 mm/s = 2 s + 0.05 s of ramps.
    let a = run(
        "SET_VELOCITY_LIMIT VELOCITY=50\nG1 X100 F6000\n",
        &klipper(),
    );
    assert_close(a.move_time_s, 2.0 + 0.05, 1e-9);
    // Marlin limit commands do not apply on Klipper.
    let a = run("M201 X10 Y10\nM203 X1\nG1 X100 F6000\n", &klipper());
    assert_close(a.move_time_s, 1.1, 1e-9);
}

#[test]
fn klipper_minimum_cruise_ratio_slows_zig_zags() {
    // Short back-and-forth infill lines never reach full speed; the cruise ratio lowers the peak
    // further, and SET_VELOCITY_LIMIT MINIMUM_CRUISE_RATIO (or the older ACCEL_TO_DECEL) sets it.
    let zigzag: String = (0..50)
        .map(|i| format!("G1 X{} F12000\n", if i % 2 == 0 { 5 } else { 0 }))
        .collect();
    let plain = run(&zigzag, &klipper()).move_time_s;
    let ratio = run(
        &format!("SET_VELOCITY_LIMIT MINIMUM_CRUISE_RATIO=0.5\n{zigzag}"),
        &klipper(),
    )
    .move_time_s;
    let legacy = run(
        &format!("SET_VELOCITY_LIMIT ACCEL_TO_DECEL=500\n{zigzag}"),
        &klipper(),
    )
    .move_time_s;
    // Each 5 mm reversal is a triangle to sqrt(a d): 2 sqrt(d/a) = 0.141421 s; with the ratio
    // 0.5 the peak is sqrt(a d / 2), giving (d/2)/(v/2) + (d/2)/v = 1.5 d / v = 0.167705 s.
    assert_close(plain, 50.0 * 2.0 * (5.0f64 / 1000.0).sqrt(), 1e-9);
    assert_close(ratio, 50.0 * 1.5 * 5.0 / 2500.0f64.sqrt(), 1e-9);
    assert_close(legacy, ratio, 1e-12);
}

#[test]
fn klipper_commands_are_unknown_to_marlin() {
    let a = run("SET_VELOCITY_LIMIT ACCEL=500\nG1 X100 F6000\n", &simple());
    assert_close(a.move_time_s, 1.1, 1e-9);
    assert_eq!(a.warnings[0].kind, WarningKind::UnknownCommand);
}
