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
    pub max_velocity: f64,
    /// Toolhead acceleration, mm/s² (changed by M204 and `SET_VELOCITY_LIMIT ACCEL=`).
    pub max_accel: f64,
    /// Speed a 90° corner may be taken at, mm/s.
    pub square_corner_velocity: f64,
    /// Share of each move that should be spent cruising (0..1); limits the top speed of short
    /// zig-zag moves. Klipper's default is 0.5.
    pub minimum_cruise_ratio: f64,
    pub max_z_velocity: f64,
    pub max_z_accel: f64,
    /// Limits of extruder-only moves (retractions), mm/s and mm/s².
    pub max_extrude_only_velocity: f64,
    pub max_extrude_only_accel: f64,
    /// Largest instant change of extruder speed at a corner, mm/s.
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
    #[cfg_attr(feature = "openapi", schema(min_items = 4, max_items = 4))]
    pub max_feedrate: [f64; AXES],
    /// Per-axis maximum acceleration (M201), mm/s².
    #[cfg_attr(feature = "openapi", schema(min_items = 4, max_items = 4))]
    pub max_acceleration: [f64; AXES],
    /// Acceleration for extruding moves (M204 P, or S).
    pub print_acceleration: f64,
    /// Acceleration for extruder-only moves (M204 R).
    pub retract_acceleration: f64,
    /// Acceleration for travel moves (M204 T, or S).
    pub travel_acceleration: f64,
    /// Classic per-axis jerk (M205 X/Y/Z/E), mm/s. Used when `junction_deviation` is `None`.
    #[cfg_attr(feature = "openapi", schema(min_items = 4, max_items = 4))]
    pub max_jerk: [f64; AXES],
    /// Junction deviation (M205 J), mm. When set, corners use it instead of classic jerk.
    pub junction_deviation: Option<f64>,
    /// Speed the planner may always stop from (Marlin's MINIMUM_PLANNER_SPEED), mm/s.
    pub minimum_planner_speed: f64,
    /// Feed rate used before the file sets one, mm/s.
    pub default_feedrate: f64,
    /// Filament diameter, mm.
    pub filament_diameter: f64,
    /// Filament density, g/cm³.
    pub filament_density: f64,
    /// Hot-end heating rate, °C/s (for M109 waits).
    pub hotend_heating_rate: f64,
    /// Bed heating rate, °C/s (for M190 waits).
    pub bed_heating_rate: f64,
    /// Temperature heaters start from, °C.
    pub ambient_temperature: f64,
    /// Firmware retraction length (G10, M207 S), mm of filament.
    pub retract_length: f64,
    /// Firmware retraction speed (M207 F), mm/s.
    pub retract_speed: f64,
    /// Firmware un-retraction speed (M208 F), mm/s.
    pub unretract_speed: f64,
    /// Printable volume; extruding outside it gives a warning (once per file). `None`: no check.
    pub bed: Option<crate::Bounds>,
    /// Moves held for look-ahead before the oldest are committed (2 to 4096 are used). Bounds
    /// memory.
    #[cfg_attr(feature = "openapi", schema(maximum = 4096))]
    pub lookahead: usize,
    /// Warnings kept with their text; further ones are only counted.
    #[cfg_attr(feature = "openapi", schema(maximum = 10000))]
    pub max_warnings: usize,
    /// Bytes of a line that are looked at; the rest is skipped with a warning.
    #[cfg_attr(feature = "openapi", schema(maximum = 1048576))]
    pub max_line_length: usize,
}

impl Profile {
    /// The largest look-ahead, warning count and line length a profile given by someone else
    /// (a printer model's) may set: beyond them memory would grow with the file.
    pub const MAX_LOOKAHEAD: usize = 4096;
    pub const MAX_WARNINGS: usize = 10_000;
    pub const MAX_LINE_LENGTH: usize = 1 << 20;

    /// Whether the resource bounds are within [`Profile::MAX_LOOKAHEAD`] and the others.
    pub fn bounds_are_reasonable(&self) -> bool {
        self.lookahead <= Self::MAX_LOOKAHEAD
            && self.max_warnings <= Self::MAX_WARNINGS
            && self.max_line_length <= Self::MAX_LINE_LENGTH
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
