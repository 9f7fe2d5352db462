//! No input may panic the analyzer, and its numbers stay finite.

// Test helpers outside `#[test]` functions unwrap too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use gcode::{Analysis, Profile, analyze};
use proptest::prelude::*;

fn check(bytes: &[u8], profile: &Profile) -> Analysis {
    let a = analyze(bytes, profile).unwrap();
    assert!(a.estimated_time_s.is_finite() && a.estimated_time_s >= 0.0);
    assert!(a.filament_length_mm.is_finite());
    assert!(a.max_z.is_finite());
    assert!(a.warnings.len() <= profile.max_warnings);
    a
}

/// Pieces of plausible and implausible G-code glued together at random.
fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("G0".to_string()),
        Just("G1".to_string()),
        Just("G2".to_string()),
        Just("G3".to_string()),
        Just("G4".to_string()),
        Just("G10".to_string()),
        Just("G11".to_string()),
        Just("G20".to_string()),
        Just("G21".to_string()),
        Just("G28".to_string()),
        Just("G90".to_string()),
        Just("G91".to_string()),
        Just("G92".to_string()),
        Just("M82".to_string()),
        Just("M83".to_string()),
        Just("M104".to_string()),
        Just("M109".to_string()),
        Just("M190".to_string()),
        Just("M201".to_string()),
        Just("M203".to_string()),
        Just("M204".to_string()),
        Just("M205".to_string()),
        Just("M207".to_string()),
        Just("M220".to_string()),
        Just("M221".to_string()),
        Just("T1".to_string()),
        Just("T99".to_string()),
        Just("N12".to_string()),
        Just("*71".to_string()),
        Just(";TYPE:Perimeter".to_string()),
        Just(";LAYER_CHANGE".to_string()),
        Just("(paren".to_string()),
        Just(")".to_string()),
        Just("\r".to_string()),
        Just("\n".to_string()),
        Just("\r\n".to_string()),
        Just(" ".to_string()),
        Just("nan".to_string()),
        Just("inf".to_string()),
        Just("-".to_string()),
        Just(".".to_string()),
        "[XYZEFIJRPSTJxyzefijr]".prop_map(|s| s),
        (-1e12f64..1e12).prop_map(|v| format!("{v}")),
        (-1000i64..1000).prop_map(|v| v.to_string()),
        (0u32..1000).prop_map(|v| format!("0.{v}")),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        check(&bytes, &Profile::default());
    }

    #[test]
    fn gcode_like_soup_never_panics(tokens in proptest::collection::vec(token(), 0..300)) {
        let text = tokens.concat();
        check(text.as_bytes(), &Profile::default());
        let spaced = tokens.join(" ");
        check(spaced.as_bytes(), &Profile { junction_deviation: Some(0.02), ..Profile::default() });
        let klipper = Profile { firmware: gcode::Firmware::Klipper, ..Profile::default() };
        check(text.as_bytes(), &klipper);
        let with_klipper_commands = tokens.join("\nSET_VELOCITY_LIMIT ACCEL=");
        check(with_klipper_commands.as_bytes(), &klipper);
    }

    #[test]
    fn truncated_files_never_panic(cut in 0usize..400) {
        let text = b"M83\nG1 X10 Y10 E1 F1200\nG2 X20 Y10 I5 J0 E1\nG3 X10 Y10 R-5 E1\nN5 G1 X1*44\nM109 S215\n";
        check(&text[..cut.min(text.len())], &Profile::default());
    }
}

#[test]
fn tiny_line_cap_and_window_are_fine() {
    let p = Profile {
        max_line_length: 1,
        lookahead: 0,
        max_warnings: 0,
        ..Profile::default()
    };
    let a = check(b"G1 X10 F600\nG1 X20\n", &p);
    assert!(a.warnings.is_empty());
    assert!(a.warning_count > 0);
}

#[test]
fn degenerate_profile_values_do_not_panic() {
    let p = Profile {
        max_feedrate: [0.0; 4],
        max_acceleration: [0.0; 4],
        print_acceleration: 0.0,
        travel_acceleration: -1.0,
        retract_acceleration: f64::NAN,
        default_feedrate: 0.0,
        hotend_heating_rate: 0.0,
        bed_heating_rate: f64::INFINITY,
        ..Profile::default()
    };
    check(b"G1 X10\nG1 X20 E5 F0\nG10\nG11\nM109 S200\nM190 S60\n", &p);
    let k = Profile {
        firmware: gcode::Firmware::Klipper,
        klipper: gcode::KlipperLimits {
            max_velocity: 0.0,
            max_accel: f64::NAN,
            square_corner_velocity: -1.0,
            minimum_cruise_ratio: 2.0,
            max_z_velocity: f64::INFINITY,
            max_z_accel: 0.0,
            max_extrude_only_velocity: -5.0,
            max_extrude_only_accel: 0.0,
            instant_corner_velocity: f64::NAN,
        },
        ..p
    };
    let a = check(b"G1 X10 E1\nG1 Y10 Z1 E1 F0\nG10\nG11\nSET_VELOCITY_LIMIT ACCEL=0 MINIMUM_CRUISE_RATIO=-3\nG1 X0 E1\n", &k);
    assert!(a.move_time_s.is_finite());
}

/// Plausible G-code lines (no raw line breaks inside).
fn gcode_line() -> impl Strategy<Value = String> {
    let axis = (-300i32..300, 0u32..1000).prop_map(|(i, f)| format!("{i}.{f:03}"));
    prop_oneof![
        (axis.clone(), axis.clone(), 0u32..100)
            .prop_map(|(x, y, e)| format!("G1 X{x} Y{y} E0.{e:02}")),
        (axis.clone(), axis.clone()).prop_map(|(x, y)| format!("G0 X{x} Y{y} F9000")),
        (axis.clone(), axis).prop_map(|(i, j)| format!("G2 X10 Y10 I{i} J{j} E0.5")),
        (1u32..200).prop_map(|z| format!("G1 Z{}.{} F720", z / 10, z % 10)),
        Just("G1 E-0.8 F2100".to_string()),
        Just("G1 E0.8".to_string()),
        Just("M83".to_string()),
        Just("G91".to_string()),
        Just("G90".to_string()),
        Just(";TYPE:Perimeter".to_string()),
        Just(";LAYER_CHANGE".to_string()),
        Just("M204 S800".to_string()),
        Just("G4 P10".to_string()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// LF, CRLF and lone CR give the same analysis, and so does reading through a tiny buffer
    /// (lines and CRLF pairs split across reads).
    #[test]
    fn line_endings_and_buffer_sizes_do_not_change_the_result(
        lines in proptest::collection::vec(gcode_line(), 0..200),
        cap in 1usize..16,
    ) {
        let p = Profile::default();
        let lf = lines.join("\n");
        let base = check(lf.as_bytes(), &p);
        for text in [lines.join("\r\n"), lines.join("\r")] {
            let a = check(text.as_bytes(), &p);
            prop_assert_eq!(&a, &base);
            let small = std::io::BufReader::with_capacity(cap, text.as_bytes());
            let b = analyze(small, &p).unwrap();
            prop_assert_eq!(&b, &base);
        }
    }
}

/// Found by the fuzzer: a huge diameter or density from the file's metadata made volume and
/// weight infinite or NaN. Implausible values are now ignored, with a warning.
#[test]
fn implausible_filament_metadata_is_ignored() {
    let a = check(b"t; filament_diameter = 1.e308", &Profile::default());
    assert!(
        a.extruders
            .iter()
            .all(|e| e.volume_mm3.is_finite() && e.weight_g.is_finite())
    );
    assert!(
        a.warnings
            .iter()
            .any(|w| w.message.contains("filament_diameter"))
    );
    let a = check(
        b" ; filament_density = 1e308\nM83\nG1 X1 E1e8\n",
        &Profile::default(),
    );
    assert!(a.filament_weight_g.is_finite());
    assert!(
        a.extruders
            .iter()
            .all(|e| e.volume_mm3.is_finite() && e.weight_g.is_finite())
    );
    // G-code has no exponents: `E1e8` is E1 then E8, so 8 mm of 1.75 mm filament at the
    // profile's 1.24 g/cm³.
    let expected = 8.0 * std::f64::consts::PI * 0.875f64.powi(2) * 1.24 / 1000.0;
    assert!(
        (a.filament_weight_g - expected).abs() < 1e-6 * expected,
        "{} vs {expected}: {:?}",
        a.filament_weight_g,
        a.warnings
    );
}
