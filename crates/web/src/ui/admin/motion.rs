//! A printer model's estimator settings (the API's `motion`) as form fields. Each field shows
//! the built-in default it falls back to when empty, and is checked on its own with the API's
//! check (`app::motion_profile`), so that a bad value is said next to its field. Settings the
//! page does not show (the printable box, look-ahead and the like) are kept as they are.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

const AXES: [&str; 4] = ["X", "Y", "Z", "E"];
const FIRMWARE: &str = "motion.firmware";

/// Where a field's value sits in `motion`.
#[derive(Clone, Copy)]
enum Slot {
    Top(&'static str),
    /// One axis (X, Y, Z, E) of a per-axis list.
    Axis(&'static str, usize),
    Klipper(&'static str),
}

impl Slot {
    /// The form field's name.
    fn name(self) -> String {
        match self {
            Slot::Top(key) => format!("motion.{key}"),
            Slot::Axis(key, axis) => format!("motion.{key}.{}", AXES[axis]),
            Slot::Klipper(key) => format!("motion.klipper.{key}"),
        }
    }

    /// The value at this place in a profile written as JSON.
    fn in_profile(self, profile: &Value) -> Option<&Value> {
        match self {
            Slot::Top(key) => profile.get(key),
            Slot::Axis(key, axis) => profile.get(key)?.get(axis),
            Slot::Klipper(key) => profile.get("klipper")?.get(key),
        }
    }
}

/// The groups of fields the page shows: a label per field and its unit.
fn groups() -> Vec<(&'static str, Vec<(Slot, String)>)> {
    let per_axis = |key: &'static str, label: &str, unit: &str| {
        (0..AXES.len())
            .map(|axis| {
                (
                    Slot::Axis(key, axis),
                    format!("{label}, {} ({unit})", AXES[axis]),
                )
            })
            .collect::<Vec<_>>()
    };
    let one = |slot, label: &str| (slot, label.to_string());
    let mut marlin = per_axis("max_feedrate", "Maximum feed rate", "mm/s");
    marlin.extend(per_axis(
        "max_acceleration",
        "Maximum acceleration",
        "mm/s²",
    ));
    marlin.extend(per_axis("max_jerk", "Jerk", "mm/s"));
    marlin.extend([
        one(
            Slot::Top("print_acceleration"),
            "Printing acceleration (mm/s²)",
        ),
        one(
            Slot::Top("retract_acceleration"),
            "Retraction acceleration (mm/s²)",
        ),
        one(
            Slot::Top("travel_acceleration"),
            "Travel acceleration (mm/s²)",
        ),
        one(
            Slot::Top("junction_deviation"),
            "Junction deviation (mm; empty: jerk is used)",
        ),
        one(
            Slot::Top("minimum_planner_speed"),
            "Minimum planner speed (mm/s)",
        ),
        one(
            Slot::Top("default_feedrate"),
            "Feed rate before the file sets one (mm/s)",
        ),
    ]);
    let klipper = vec![
        one(Slot::Klipper("max_velocity"), "Maximum velocity (mm/s)"),
        one(Slot::Klipper("max_accel"), "Maximum acceleration (mm/s²)"),
        one(
            Slot::Klipper("square_corner_velocity"),
            "Square corner velocity (mm/s)",
        ),
        one(
            Slot::Klipper("minimum_cruise_ratio"),
            "Minimum cruise ratio (0 to below 1)",
        ),
        one(Slot::Klipper("max_z_velocity"), "Maximum Z velocity (mm/s)"),
        one(
            Slot::Klipper("max_z_accel"),
            "Maximum Z acceleration (mm/s²)",
        ),
        one(
            Slot::Klipper("max_extrude_only_velocity"),
            "Extruder-only velocity (mm/s)",
        ),
        one(
            Slot::Klipper("max_extrude_only_accel"),
            "Extruder-only acceleration (mm/s²)",
        ),
        one(
            Slot::Klipper("instant_corner_velocity"),
            "Instant corner velocity (mm/s)",
        ),
    ];
    let material = vec![
        one(Slot::Top("filament_diameter"), "Filament diameter (mm)"),
        one(Slot::Top("filament_density"), "Filament density (g/cm³)"),
        one(
            Slot::Top("hotend_heating_rate"),
            "Hot-end heating rate (°C/s)",
        ),
        one(Slot::Top("bed_heating_rate"), "Bed heating rate (°C/s)"),
        one(Slot::Top("ambient_temperature"), "Ambient temperature (°C)"),
        one(
            Slot::Top("retract_length"),
            "Firmware retraction length (mm)",
        ),
        one(
            Slot::Top("retract_speed"),
            "Firmware retraction speed (mm/s)",
        ),
        one(
            Slot::Top("unretract_speed"),
            "Firmware un-retraction speed (mm/s)",
        ),
    ];
    vec![
        ("Motion limits (Marlin and alike)", marlin),
        (
            "Klipper's limits (used when the firmware is Klipper)",
            klipper,
        ),
        ("Heating and material", material),
    ]
}

/// The estimator settings as the page shows them.
pub(super) struct MotionForm {
    /// `marlin`, `klipper`, or empty for the default.
    pub(super) firmware: String,
    pub(super) firmware_problem: String,
    pub(super) groups: Vec<MotionGroup>,
}

impl MotionForm {
    pub(super) fn has_problems(&self) -> bool {
        !self.firmware_problem.is_empty()
            || self
                .groups
                .iter()
                .flat_map(|g| &g.fields)
                .any(|f| !f.problem.is_empty())
    }
}

pub(super) struct MotionGroup {
    pub(super) legend: &'static str,
    pub(super) fields: Vec<MotionField>,
}

pub(super) struct MotionField {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) label: String,
    pub(super) value: String,
    /// The built-in default, used when the field is empty.
    pub(super) default: String,
    pub(super) problem: String,
}

fn number_text(value: Option<&Value>) -> String {
    match value {
        Some(Value::Number(n)) => n.as_f64().map(|v| v.to_string()).unwrap_or_default(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

fn defaults() -> Value {
    serde_json::to_value(gcode::Profile::default()).unwrap_or_default()
}

/// The form as the model's stored settings fill it.
pub(super) fn shown(stored: &Map<String, Value>) -> MotionForm {
    read(stored, &BTreeMap::new()).0
}

/// One setting alone over the defaults, as the API's check takes it.
fn alone(slot: Slot, value: f64, defaults: &Value) -> Map<String, Value> {
    let value = match slot {
        Slot::Top(key) => json!({ key: value }),
        Slot::Klipper(key) => json!({ "klipper": { key: value } }),
        Slot::Axis(key, axis) => {
            let mut list = defaults.get(key).cloned().unwrap_or_else(|| json!([]));
            if let Some(place) = list.get_mut(axis) {
                *place = json!(value);
            }
            json!({ key: list })
        }
    };
    value.as_object().cloned().unwrap_or_default()
}

/// "max_feedrate[Y] must be above 0 …" said next to its field: "Must be above 0 …".
fn said_at_field(message: String) -> String {
    match message.split_once(" must be ") {
        Some((_, rest)) => format!("Must be {rest}."),
        None => message,
    }
}

/// What one field's text sets: `Ok(None)` for the default; the problem, in words, otherwise.
fn checked(slot: Slot, text: &str, defaults: &Value) -> Result<Option<f64>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let value = text
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| "Must be a number such as 1500 (or empty for the default).".to_string())?;
    app::motion_profile(&alone(slot, value, defaults)).map_err(said_at_field)?;
    Ok(Some(value))
}

/// Writes one setting into `motion` (`None`: back to the default).
fn put(motion: &mut Map<String, Value>, slot: Slot, value: Option<f64>, defaults: &Value) {
    match slot {
        Slot::Top(key) => match value {
            Some(value) => {
                motion.insert(key.into(), json!(value));
            }
            None => {
                motion.remove(key);
            }
        },
        Slot::Klipper(key) => {
            let mut klipper = motion
                .get("klipper")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            match value {
                Some(value) => klipper.insert(key.into(), json!(value)),
                None => klipper.remove(key),
            };
            if klipper.is_empty() {
                motion.remove("klipper");
            } else {
                motion.insert("klipper".into(), Value::Object(klipper));
            }
        }
        // A list is stored whole: the axes left empty take their defaults.
        Slot::Axis(key, axis) => {
            let mut list = motion
                .get(key)
                .filter(|v| v.is_array())
                .or_else(|| defaults.get(key))
                .cloned()
                .unwrap_or_else(|| json!([]));
            let fallback = defaults.get(key).and_then(|d| d.get(axis)).cloned();
            if let Some(place) = list.get_mut(axis) {
                *place = value.map(|v| json!(v)).or(fallback).unwrap_or(Value::Null);
            }
            motion.insert(key.into(), list);
        }
    }
}

/// The submitted fields over the stored settings: the form as entered (with a problem next to
/// each bad field), and the settings to save when every field is good. A field the form did not
/// send keeps its stored value; an empty one goes back to the default; a per-axis list whose
/// axes are all empty is removed.
pub(super) fn read(
    stored: &Map<String, Value>,
    fields: &BTreeMap<String, String>,
) -> (MotionForm, Option<Map<String, Value>>) {
    let defaults = defaults();
    let stored_value = Value::Object(stored.clone());
    let mut motion = stored.clone();
    let mut good = true;

    let firmware = match fields.get(FIRMWARE) {
        Some(text) => text.trim().to_string(),
        None => stored
            .get("firmware")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
    };
    let mut firmware_problem = String::new();
    if firmware.is_empty() {
        motion.remove("firmware");
    } else {
        let alone = Map::from_iter([("firmware".to_string(), json!(firmware))]);
        match app::motion_profile(&alone) {
            Ok(_) => {
                motion.insert("firmware".into(), json!(firmware));
            }
            Err(_) => {
                firmware_problem = "Choose Marlin or Klipper from the list.".into();
                good = false;
            }
        }
    }

    let mut lists: BTreeMap<&str, [bool; 4]> = BTreeMap::new();
    let groups = groups()
        .into_iter()
        .map(|(legend, specs)| MotionGroup {
            legend,
            fields: specs
                .into_iter()
                .map(|(slot, label)| {
                    let name = slot.name();
                    let sent = fields.get(&name);
                    let value = match sent {
                        Some(text) => text.trim().to_string(),
                        None => number_text(slot.in_profile(&stored_value)),
                    };
                    let mut problem = String::new();
                    if sent.is_some() {
                        match checked(slot, &value, &defaults) {
                            Ok(setting) => {
                                put(&mut motion, slot, setting, &defaults);
                                if let Slot::Axis(key, axis) = slot {
                                    lists.entry(key).or_default()[axis] = setting.is_some();
                                }
                            }
                            Err(said) => {
                                problem = said;
                                good = false;
                            }
                        }
                    }
                    MotionField {
                        id: name.replace('.', "-"),
                        name,
                        label,
                        value,
                        default: number_text(slot.in_profile(&defaults)),
                        problem,
                    }
                })
                .collect(),
        })
        .collect();
    // Every axis sent empty: the whole list goes back to the default.
    for (key, given) in lists {
        if !given.contains(&true) {
            motion.remove(key);
        }
    }
    let form = MotionForm {
        firmware,
        firmware_problem,
        groups,
    };
    (form, good.then_some(motion))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn problem_of<'a>(form: &'a MotionForm, name: &str) -> &'a str {
        form.groups
            .iter()
            .flat_map(|g| &g.fields)
            .find(|f| f.name == name)
            .map(|f| f.problem.as_str())
            .unwrap()
    }

    #[test]
    fn fields_set_clear_and_keep_settings() {
        let stored = json!({
            "print_acceleration": 900.0,
            "klipper": { "max_accel": 4000.0 },
            "lookahead": 32,
        });
        let stored = stored.as_object().unwrap();
        let (form, motion) = read(
            stored,
            &sent(&[
                ("motion.firmware", "klipper"),
                ("motion.print_acceleration", ""),
                ("motion.klipper.max_accel", "5000"),
                ("motion.max_feedrate.Y", "250"),
                ("motion.max_feedrate.X", ""),
            ]),
        );
        let motion = Value::Object(motion.unwrap());
        assert_eq!(form.firmware, "klipper");
        assert_eq!(motion["firmware"], "klipper");
        assert!(motion.get("print_acceleration").is_none());
        assert_eq!(motion["klipper"]["max_accel"], 5000.0);
        // The other axes take the defaults; what the page does not show is kept.
        assert_eq!(motion["max_feedrate"], json!([200.0, 250.0, 12.0, 120.0]));
        assert_eq!(motion["lookahead"], 32);
        assert!(app::motion_profile(motion.as_object().unwrap()).is_ok());

        // Shown again: stored values in their fields, defaults as placeholders.
        let shown = shown(motion.as_object().unwrap());
        let field = |name: &str| {
            shown
                .groups
                .iter()
                .flat_map(|g| &g.fields)
                .find(|f| f.name == name)
                .map(|f| (f.value.clone(), f.default.clone()))
                .unwrap()
        };
        assert_eq!(field("motion.max_feedrate.Y"), ("250".into(), "200".into()));
        assert_eq!(
            field("motion.print_acceleration"),
            (String::new(), "1250".into())
        );
    }

    #[test]
    fn bad_values_are_said_next_to_their_field() {
        let (form, motion) = read(
            &Map::new(),
            &sent(&[
                ("motion.print_acceleration", "0"),
                ("motion.max_jerk.Z", "fast"),
                ("motion.klipper.minimum_cruise_ratio", "1"),
                ("motion.travel_acceleration", "2000"),
                ("motion.firmware", "repetier"),
            ]),
        );
        assert!(motion.is_none());
        assert!(
            problem_of(&form, "motion.print_acceleration").starts_with("Must be a number above 0"),
            "{}",
            problem_of(&form, "motion.print_acceleration")
        );
        assert!(problem_of(&form, "motion.max_jerk.Z").contains("number"));
        assert!(problem_of(&form, "motion.klipper.minimum_cruise_ratio").starts_with("Must be"));
        assert_eq!(problem_of(&form, "motion.travel_acceleration"), "");
        assert!(!form.firmware_problem.is_empty());
    }

    #[test]
    fn a_list_with_every_axis_empty_goes_back_to_the_default() {
        let stored = json!({ "max_jerk": [9.0, 9.0, 0.5, 5.0] });
        let axes = ["X", "Y", "Z", "E"].map(|a| (format!("motion.max_jerk.{a}"), String::new()));
        let (_, motion) = read(stored.as_object().unwrap(), &axes.into_iter().collect());
        assert!(motion.unwrap().get("max_jerk").is_none());
    }
}
