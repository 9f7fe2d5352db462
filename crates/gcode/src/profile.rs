//! Printer profile: the machine limits and material settings the estimate starts from. Commands in
//! the file (M201, M203, M204, M205, M207) override them for the rest of that file.

use serde::{Deserialize, Serialize};

/// Axis order used by every per-axis array: X, Y, Z, E.
pub const AXES: usize = 4;

/// Which firmware's motion planner the estimate imitates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Firmware {
    /// Marlin (and Prusa firmware, RepRapFirmware-alikes): per-axis limits, classic jerk or
    /// junction deviation, M201/M203/M204/M205 in the file.
    #[default]
    Marlin,
    /// Klipper: toolhead velocity and acceleration, square corner velocity, minimum cruise ratio,
    /// `SET_VELOCITY_LIMIT` and M204 in the file. Uses [`Profile::klipper`].
    Klipper,
}

/// Klipper's `[printer]` and `[extruder]` motion settings (same names as in `printer.cfg`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct KlipperLimits {
    /// Toolhead speed limit, mm/s.
    #[cfg_attr(feature = "openapi", schema(exclusive_minimum = 0, maximum = 10000))]
    pub max_velocity: f64,
    /// Toolhead acceleration, mm/s² (changed by M204 and `SET_VELOCITY_LIMIT ACCEL=`).
    #[cfg_attr(feature = "openapi", schema(exclusive_minimum = 0, maximum = 1000000))]
    pub max_accel: f64,
    /// Speed a 90° corner may be taken at, mm/s.
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 1000))]
    pub square_corner_velocity: f64,
    /// Share of each move that should be spent cruising (0..1); limits the top speed of short
    /// zig-zag moves. Klipper's default is 0.5.
    #[cfg_attr(feature = "openapi", schema(minimum = 0, exclusive_maximum = 1))]
    pub minimum_cruise_ratio: f64,
    #[cfg_attr(feature = "openapi", schema(exclusive_minimum = 0, maximum = 10000))]
    pub max_z_velocity: f64,
    #[cfg_attr(feature = "openapi", schema(exclusive_minimum = 0, maximum = 1000000))]
    pub max_z_accel: f64,
    /// Limits of extruder-only moves (retractions), mm/s and mm/s².
    #[cfg_attr(feature = "openapi", schema(exclusive_minimum = 0, maximum = 10000))]
    pub max_extrude_only_velocity: f64,
    #[cfg_attr(feature = "openapi", schema(exclusive_minimum = 0, maximum = 1000000))]
    pub max_extrude_only_accel: f64,
    /// Largest instant change of extruder speed at a corner, mm/s.
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 1000))]
    pub instant_corner_velocity: f64,
}

impl Default for KlipperLimits {
    fn default() -> Self {
        Self {
            max_velocity: 300.0,
            max_accel: 3000.0,
            square_corner_velocity: 5.0,
            minimum_cruise_ratio: 0.5,
            max_z_velocity: 15.0,
            max_z_accel: 100.0,
            max_extrude_only_velocity: 50.0,
            max_extrude_only_accel: 1500.0,
            instant_corner_velocity: 1.0,
        }
    }
}

/// Machine limits and material settings. All lengths in mm, speeds in mm/s, accelerations in
/// mm/s², temperatures in °C, times in s.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = MotionProfile))]
#[serde(default, deny_unknown_fields)]
pub struct Profile {
    /// Whose motion planner to imitate.
    pub firmware: Firmware,
    /// Klipper's limits, used when `firmware` is `klipper`.
    pub klipper: KlipperLimits,
    /// Per-axis maximum feed rate (M203), mm/s.
    #[cfg_attr(feature = "openapi", schema(schema_with = openapi::feedrates))]
    pub max_feedrate: [f64; AXES],
    /// Per-axis maximum acceleration (M201), mm/s².
    #[cfg_attr(feature = "openapi", schema(schema_with = openapi::accelerations))]
    pub max_acceleration: [f64; AXES],
    /// Acceleration for extruding moves (M204 P, or S).
    #[cfg_attr(feature = "openapi", schema(exclusive_minimum = 0, maximum = 1000000))]
    pub print_acceleration: f64,
    /// Acceleration for extruder-only moves (M204 R).
    #[cfg_attr(feature = "openapi", schema(exclusive_minimum = 0, maximum = 1000000))]
    pub retract_acceleration: f64,
    /// Acceleration for travel moves (M204 T, or S).
    #[cfg_attr(feature = "openapi", schema(exclusive_minimum = 0, maximum = 1000000))]
    pub travel_acceleration: f64,
    /// Classic per-axis jerk (M205 X/Y/Z/E), mm/s. Used when `junction_deviation` is `None`.
    #[cfg_attr(feature = "openapi", schema(schema_with = openapi::jerks))]
    pub max_jerk: [f64; AXES],
    /// Junction deviation (M205 J), mm. When set, corners use it instead of classic jerk.
    #[cfg_attr(feature = "openapi", schema(exclusive_minimum = 0, maximum = 5))]
    pub junction_deviation: Option<f64>,
    /// Speed the planner may always stop from (Marlin's MINIMUM_PLANNER_SPEED), mm/s.
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 1000))]
    pub minimum_planner_speed: f64,
    /// Feed rate used before the file sets one, mm/s.
    #[cfg_attr(feature = "openapi", schema(exclusive_minimum = 0, maximum = 10000))]
    pub default_feedrate: f64,
    /// Filament diameter, mm.
    #[cfg_attr(feature = "openapi", schema(minimum = 0.1, maximum = 10))]
    pub filament_diameter: f64,
    /// Filament density, g/cm³.
    #[cfg_attr(feature = "openapi", schema(minimum = 0.1, maximum = 25))]
    pub filament_density: f64,
    /// Hot-end heating rate, °C/s (for M109 waits).
    #[cfg_attr(feature = "openapi", schema(exclusive_minimum = 0, maximum = 1000))]
    pub hotend_heating_rate: f64,
    /// Bed heating rate, °C/s (for M190 waits).
    #[cfg_attr(feature = "openapi", schema(exclusive_minimum = 0, maximum = 1000))]
    pub bed_heating_rate: f64,
    /// Temperature heaters start from, °C.
    #[cfg_attr(feature = "openapi", schema(minimum = -50, maximum = 100))]
    pub ambient_temperature: f64,
    /// Firmware retraction length (G10, M207 S), mm of filament.
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 100))]
    pub retract_length: f64,
    /// Firmware retraction speed (M207 F), mm/s.
    #[cfg_attr(feature = "openapi", schema(exclusive_minimum = 0, maximum = 10000))]
    pub retract_speed: f64,
    /// Firmware un-retraction speed (M208 F), mm/s.
    #[cfg_attr(feature = "openapi", schema(exclusive_minimum = 0, maximum = 10000))]
    pub unretract_speed: f64,
    /// Printable volume; extruding outside it gives a warning (once per file). `None`: no check.
    #[cfg_attr(feature = "openapi", schema(schema_with = openapi::bed))]
    pub bed: Option<crate::Bounds>,
    /// Moves held for look-ahead before the oldest are committed (2 to 4096 are used). Bounds
    /// memory.
    #[cfg_attr(feature = "openapi", schema(minimum = 2, maximum = 4096))]
    pub lookahead: usize,
    /// Warnings kept with their text; further ones are only counted.
    #[cfg_attr(feature = "openapi", schema(maximum = 10000))]
    pub max_warnings: usize,
    /// Bytes of a line that are looked at; the rest is skipped with a warning.
    #[cfg_attr(feature = "openapi", schema(minimum = 256, maximum = 1048576))]
    pub max_line_length: usize,
}

/// The profile's ranges as JSON Schema says them (the bounds of [`limits`]; a test compares).
#[cfg(feature = "openapi")]
mod openapi {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};

    use super::limits::*;

    fn numbers(count: usize, number: ObjectBuilder) -> ArrayBuilder {
        ArrayBuilder::new()
            .items(number)
            .min_items(Some(count))
            .max_items(Some(count))
    }

    fn above_zero(max: f64) -> ObjectBuilder {
        ObjectBuilder::new()
            .schema_type(Type::Number)
            .exclusive_minimum(Some(0.0))
            .maximum(Some(max))
    }

    fn between(min: f64, max: f64) -> ObjectBuilder {
        ObjectBuilder::new()
            .schema_type(Type::Number)
            .minimum(Some(min))
            .maximum(Some(max))
    }

    pub fn feedrates() -> ArrayBuilder {
        numbers(super::AXES, above_zero(MAX_SPEED))
            .description(Some("Per-axis maximum feed rate (M203), mm/s: X, Y, Z, E."))
    }

    pub fn accelerations() -> ArrayBuilder {
        numbers(super::AXES, above_zero(MAX_ACCELERATION)).description(Some(
            "Per-axis maximum acceleration (M201), mm/s²: X, Y, Z, E.",
        ))
    }

    pub fn jerks() -> ArrayBuilder {
        numbers(super::AXES, between(0.0, MAX_CORNER_SPEED))
            .description(Some("Classic per-axis jerk (M205), mm/s: X, Y, Z, E."))
    }

    pub fn bed() -> ObjectBuilder {
        let corner = || numbers(3, between(-MAX_BED_COORDINATE, MAX_BED_COORDINATE));
        ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::SchemaType::from_iter([
                Type::Object,
                Type::Null,
            ]))
            .description(Some(
                "Printable volume, mm: `min` and `max` corners (X, Y, Z), each `max` at least its \
                 `min`; extruding outside it gives a warning. `null`: no check.",
            ))
            .property("min", corner())
            .required("min")
            .property("max", corner())
            .required("max")
    }
}

impl Profile {
    /// A Prusa i3 MK3S-like Marlin machine in "normal" (not stealth) mode.
    pub fn prusa_mk3s() -> Self {
        Self {
            firmware: Firmware::Marlin,
            klipper: KlipperLimits::default(),
            max_feedrate: [200.0, 200.0, 12.0, 120.0],
            max_acceleration: [1000.0, 1000.0, 200.0, 5000.0],
            print_acceleration: 1250.0,
            retract_acceleration: 1250.0,
            travel_acceleration: 1250.0,
            max_jerk: [8.0, 8.0, 0.4, 4.5],
            junction_deviation: None,
            minimum_planner_speed: 0.05,
            default_feedrate: 25.0,
            filament_diameter: 1.75,
            filament_density: 1.24,
            hotend_heating_rate: 2.5,
            bed_heating_rate: 0.6,
            ambient_temperature: 25.0,
            retract_length: 0.8,
            retract_speed: 35.0,
            unretract_speed: 35.0,
            // 250 × 210 × 210 mm; the MK3 intro line is printed at Y = -3.
            bed: Some(crate::Bounds {
                min: [0.0, -4.0, 0.0],
                max: [250.0, 210.0, 210.0],
            }),
            lookahead: 64,
            max_warnings: 100,
            max_line_length: 64 * 1024,
        }
    }
}

impl Default for Profile {
    fn default() -> Self {
        Self::prusa_mk3s()
    }
}

/// Ranges a profile's values must fall in. Wider than any real machine, narrow enough that no
/// estimate degenerates: every acceleration and speed limit the planner divides by is positive,
/// and nothing is NaN or infinite.
pub mod limits {
    /// Largest speed limit accepted, mm/s.
    pub const MAX_SPEED: f64 = 10_000.0;
    /// Largest acceleration accepted, mm/s².
    pub const MAX_ACCELERATION: f64 = 1_000_000.0;
    /// Largest jerk, square corner or instant corner velocity accepted, mm/s.
    pub const MAX_CORNER_SPEED: f64 = 1_000.0;
    /// Largest junction deviation accepted, mm.
    pub const MAX_JUNCTION_DEVIATION: f64 = 5.0;
    /// Largest heating rate accepted, °C/s.
    pub const MAX_HEATING_RATE: f64 = 1_000.0;
    /// Largest coordinate of the bed accepted, mm (either sign).
    pub const MAX_BED_COORDINATE: f64 = 100_000.0;
    /// Look-ahead window, moves. (Past these bounds memory would grow with the file.)
    pub const LOOKAHEAD: std::ops::RangeInclusive<usize> = 2..=4096;
    /// Warnings kept with their text.
    pub const MAX_WARNINGS: usize = 10_000;
    /// Bytes of a line looked at.
    pub const LINE_LENGTH: std::ops::RangeInclusive<usize> = 256..=(1 << 20);
}

/// A profile value outside its range: which field, which axis for per-axis limits, and what
/// it must be.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{field}{} must be {expected}", axis.map(|a| format!("[{a}]")).unwrap_or_default())]
pub struct ProfileError {
    /// The field as it is named in the profile (`print_acceleration`, `klipper.max_accel`).
    pub field: &'static str,
    /// For per-axis arrays: `X`, `Y`, `Z` or `E`.
    pub axis: Option<&'static str>,
    /// The accepted range, in words.
    pub expected: String,
}

const AXIS_NAMES: [&str; AXES] = ["X", "Y", "Z", "E"];

/// A finite number in `min ..= max`, or above `min` when `min_exclusive`.
#[derive(Clone, Copy)]
struct Range {
    min: f64,
    min_exclusive: bool,
    max: f64,
    max_exclusive: bool,
    unit: &'static str,
}

impl Range {
    const fn positive(max: f64, unit: &'static str) -> Self {
        Range {
            min: 0.0,
            min_exclusive: true,
            max,
            max_exclusive: false,
            unit,
        }
    }

    const fn between(min: f64, max: f64, unit: &'static str) -> Self {
        Range {
            min,
            min_exclusive: false,
            max,
            max_exclusive: false,
            unit,
        }
    }

    fn contains(self, value: f64) -> bool {
        value.is_finite()
            && (if self.min_exclusive {
                value > self.min
            } else {
                value >= self.min
            })
            && (if self.max_exclusive {
                value < self.max
            } else {
                value <= self.max
            })
    }

    fn describe(self) -> String {
        let low = if self.min_exclusive {
            format!("above {}", self.min)
        } else {
            format!("at least {}", self.min)
        };
        let high = if self.max_exclusive {
            format!("below {}", self.max)
        } else {
            format!("at most {}", self.max)
        };
        let unit = if self.unit.is_empty() {
            String::new()
        } else {
            format!(" {}", self.unit)
        };
        format!("a number {low} and {high}{unit}")
    }

    fn check(self, field: &'static str, value: f64) -> Result<(), ProfileError> {
        self.check_axis(field, None, value)
    }

    fn check_axis(
        self,
        field: &'static str,
        axis: Option<&'static str>,
        value: f64,
    ) -> Result<(), ProfileError> {
        if self.contains(value) {
            Ok(())
        } else {
            Err(ProfileError {
                field,
                axis,
                expected: format!("{} (not {value})", self.describe()),
            })
        }
    }

    fn check_axes(self, field: &'static str, values: &[f64; AXES]) -> Result<(), ProfileError> {
        for (value, axis) in values.iter().zip(AXIS_NAMES) {
            self.check_axis(field, Some(axis), *value)?;
        }
        Ok(())
    }
}

fn check_count(
    field: &'static str,
    value: usize,
    range: std::ops::RangeInclusive<usize>,
) -> Result<(), ProfileError> {
    if range.contains(&value) {
        Ok(())
    } else {
        Err(ProfileError {
            field,
            axis: None,
            expected: format!(
                "a whole number from {} to {} (not {value})",
                range.start(),
                range.end()
            ),
        })
    }
}

impl Profile {
    /// Checks every limit is a finite number in a sensible range: speeds and accelerations
    /// above zero (the planner divides by them), corner speeds, jerk and lengths not negative,
    /// nothing absurdly large. A profile that passes gives finite, meaningful estimates.
    pub fn check(&self) -> Result<(), ProfileError> {
        use limits::*;
        let speed = Range::positive(MAX_SPEED, "mm/s");
        let accel = Range::positive(MAX_ACCELERATION, "mm/s²");
        let corner = Range::between(0.0, MAX_CORNER_SPEED, "mm/s");
        speed.check_axes("max_feedrate", &self.max_feedrate)?;
        accel.check_axes("max_acceleration", &self.max_acceleration)?;
        accel.check("print_acceleration", self.print_acceleration)?;
        accel.check("retract_acceleration", self.retract_acceleration)?;
        accel.check("travel_acceleration", self.travel_acceleration)?;
        corner.check_axes("max_jerk", &self.max_jerk)?;
        if let Some(jd) = self.junction_deviation {
            Range::positive(MAX_JUNCTION_DEVIATION, "mm").check("junction_deviation", jd)?;
        }
        corner.check("minimum_planner_speed", self.minimum_planner_speed)?;
        speed.check("default_feedrate", self.default_feedrate)?;
        Range::between(0.1, 10.0, "mm").check("filament_diameter", self.filament_diameter)?;
        Range::between(0.1, 25.0, "g/cm³").check("filament_density", self.filament_density)?;
        let heating = Range::positive(MAX_HEATING_RATE, "°C/s");
        heating.check("hotend_heating_rate", self.hotend_heating_rate)?;
        heating.check("bed_heating_rate", self.bed_heating_rate)?;
        Range::between(-50.0, 100.0, "°C")
            .check("ambient_temperature", self.ambient_temperature)?;
        Range::between(0.0, 100.0, "mm").check("retract_length", self.retract_length)?;
        speed.check("retract_speed", self.retract_speed)?;
        speed.check("unretract_speed", self.unretract_speed)?;
        if let Some(bed) = &self.bed {
            let coordinate = Range::between(-MAX_BED_COORDINATE, MAX_BED_COORDINATE, "mm");
            for (i, axis) in AXIS_NAMES.iter().take(3).enumerate() {
                coordinate.check_axis("bed.min", Some(axis), bed.min[i])?;
                coordinate.check_axis("bed.max", Some(axis), bed.max[i])?;
                if bed.min[i] > bed.max[i] {
                    return Err(ProfileError {
                        field: "bed.max",
                        axis: Some(axis),
                        expected: format!("at least bed.min[{axis}] ({})", bed.min[i]),
                    });
                }
            }
        }
        check_count("lookahead", self.lookahead, LOOKAHEAD)?;
        check_count("max_warnings", self.max_warnings, 0..=MAX_WARNINGS)?;
        check_count("max_line_length", self.max_line_length, LINE_LENGTH)?;
        self.klipper.check()
    }
}

impl KlipperLimits {
    /// Like [`Profile::check`], with Klipper's own bounds (`minimum_cruise_ratio` below 1,
    /// square corner and instant corner velocity may be 0).
    pub fn check(&self) -> Result<(), ProfileError> {
        use limits::*;
        let speed = Range::positive(MAX_SPEED, "mm/s");
        let accel = Range::positive(MAX_ACCELERATION, "mm/s²");
        let corner = Range::between(0.0, MAX_CORNER_SPEED, "mm/s");
        speed.check("klipper.max_velocity", self.max_velocity)?;
        accel.check("klipper.max_accel", self.max_accel)?;
        corner.check(
            "klipper.square_corner_velocity",
            self.square_corner_velocity,
        )?;
        Range {
            min: 0.0,
            min_exclusive: false,
            max: 1.0,
            max_exclusive: true,
            unit: "",
        }
        .check("klipper.minimum_cruise_ratio", self.minimum_cruise_ratio)?;
        speed.check("klipper.max_z_velocity", self.max_z_velocity)?;
        accel.check("klipper.max_z_accel", self.max_z_accel)?;
        speed.check(
            "klipper.max_extrude_only_velocity",
            self.max_extrude_only_velocity,
        )?;
        accel.check(
            "klipper.max_extrude_only_accel",
            self.max_extrude_only_accel,
        )?;
        corner.check(
            "klipper.instant_corner_velocity",
            self.instant_corner_velocity,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_profiles_pass_their_own_checks() {
        assert_eq!(Profile::default().check(), Ok(()));
        let klipper = Profile {
            firmware: Firmware::Klipper,
            junction_deviation: Some(0.013),
            ..Profile::default()
        };
        assert_eq!(klipper.check(), Ok(()));
    }

    /// A change that spoils one limit.
    type Spoil = fn(&mut Profile);

    #[test]
    fn limits_that_make_no_sense_are_named() {
        let cases: Vec<(Spoil, &str)> = vec![
            (|p| p.print_acceleration = 0.0, "print_acceleration"),
            (|p| p.travel_acceleration = -1500.0, "travel_acceleration"),
            (
                |p| p.retract_acceleration = f64::NAN,
                "retract_acceleration",
            ),
            (|p| p.max_acceleration[2] = 0.0, "max_acceleration[Z]"),
            (|p| p.max_feedrate[0] = f64::INFINITY, "max_feedrate[X]"),
            (|p| p.max_jerk[3] = -1.0, "max_jerk[E]"),
            (|p| p.junction_deviation = Some(0.0), "junction_deviation"),
            (|p| p.minimum_planner_speed = -0.1, "minimum_planner_speed"),
            (|p| p.default_feedrate = 0.0, "default_feedrate"),
            (|p| p.hotend_heating_rate = 0.0, "hotend_heating_rate"),
            (|p| p.ambient_temperature = 1e9, "ambient_temperature"),
            (|p| p.retract_speed = 0.0, "retract_speed"),
            (|p| p.lookahead = 0, "lookahead"),
            (|p| p.lookahead = usize::MAX, "lookahead"),
            (|p| p.max_line_length = usize::MAX, "max_line_length"),
            (|p| p.max_warnings = usize::MAX, "max_warnings"),
            (
                |p| {
                    p.bed = Some(crate::Bounds {
                        min: [0.0; 3],
                        max: [-1.0, 10.0, 10.0],
                    })
                },
                "bed.max[X]",
            ),
            (|p| p.klipper.max_accel = 0.0, "klipper.max_accel"),
            (|p| p.klipper.max_velocity = -5.0, "klipper.max_velocity"),
            (
                |p| p.klipper.minimum_cruise_ratio = 1.0,
                "klipper.minimum_cruise_ratio",
            ),
            (
                |p| p.klipper.square_corner_velocity = -1.0,
                "klipper.square_corner_velocity",
            ),
            (|p| p.klipper.max_z_accel = 0.0, "klipper.max_z_accel"),
            (
                |p| p.klipper.max_extrude_only_accel = -1.0,
                "klipper.max_extrude_only_accel",
            ),
        ];
        for (change, named) in cases {
            let mut profile = Profile::default();
            change(&mut profile);
            let error = profile.check().expect_err(named);
            assert!(error.to_string().starts_with(named), "{named}: {error}");
        }
    }

    #[test]
    fn zero_is_fine_where_the_firmware_allows_it() {
        let profile = Profile {
            max_jerk: [0.0; AXES],
            minimum_planner_speed: 0.0,
            retract_length: 0.0,
            klipper: KlipperLimits {
                square_corner_velocity: 0.0,
                minimum_cruise_ratio: 0.0,
                instant_corner_velocity: 0.0,
                ..KlipperLimits::default()
            },
            ..Profile::default()
        };
        assert_eq!(profile.check(), Ok(()));
    }
}
