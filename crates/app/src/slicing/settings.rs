//! The PrusaSlicer options members may change, each in a tier (PrusaSlicer's own modes: simple,
//! advanced, expert) with its type, bounds and PrusaSlicer's default. Everything else Farmhand
//! sets itself (the printer model's bed, height and nozzle; one thread per slice) or leaves at
//! the profile's value. A key not in this table is refused (422), whoever asks.

use authz::Permission;
use serde_json::Value;

/// Who may change a setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Tier {
    Basic,
    Advanced,
    Expert,
}

impl Tier {
    pub fn key(self) -> &'static str {
        match self {
            Tier::Basic => "basic",
            Tier::Advanced => "advanced",
            Tier::Expert => "expert",
        }
    }

    /// The permission a member needs to change settings of this tier.
    pub fn permission(self) -> Permission {
        match self {
            Tier::Basic => Permission::SlicerUse,
            Tier::Advanced => Permission::SlicerAdvancedTab,
            Tier::Expert => Permission::SlicerExpertTab,
        }
    }
}

/// What values a setting takes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    /// A number from `min` to `max`, in `unit`.
    Float {
        min: f64,
        max: f64,
        unit: &'static str,
    },
    /// A whole number from `min` to `max`.
    Int {
        min: i64,
        max: i64,
    },
    /// A percentage from `min` to `max` (PrusaSlicer writes it `20%`).
    Percent {
        min: f64,
        max: f64,
    },
    Bool,
    /// One of these words.
    Choice(&'static [&'static str]),
}

impl Kind {
    pub fn key(self) -> &'static str {
        match self {
            Kind::Float { .. } => "float",
            Kind::Int { .. } => "int",
            Kind::Percent { .. } => "percent",
            Kind::Bool => "bool",
            Kind::Choice(_) => "enum",
        }
    }
}

/// One setting members may change.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Setting {
    /// PrusaSlicer's option key.
    pub key: &'static str,
    pub title: &'static str,
    pub tier: Tier,
    pub kind: Kind,
    /// PrusaSlicer's default, as PrusaSlicer writes it.
    pub default: &'static str,
}

const FILL_PATTERNS: &[&str] = &[
    "rectilinear",
    "alignedrectilinear",
    "grid",
    "triangles",
    "stars",
    "cubic",
    "line",
    "concentric",
    "honeycomb",
    "3dhoneycomb",
    "gyroid",
    "hilbertcurve",
    "archimedeanchords",
    "octagramspiral",
    "adaptivecubic",
    "supportcubic",
    "lightning",
];
const SOLID_PATTERNS: &[&str] = &[
    "rectilinear",
    "monotonic",
    "alignedrectilinear",
    "concentric",
    "hilbertcurve",
    "archimedeanchords",
    "octagramspiral",
];
const SEAMS: &[&str] = &["random", "nearest", "aligned", "rear"];
const BRIM_TYPES: &[&str] = &["no_brim", "outer_only", "inner_only", "outer_and_inner"];
const SUPPORT_STYLES: &[&str] = &["grid", "snug", "organic"];

const fn float(min: f64, max: f64, unit: &'static str) -> Kind {
    Kind::Float { min, max, unit }
}

const fn speed() -> Kind {
    float(1.0, 500.0, "mm/s")
}

/// Every setting members may change, basic first.
#[rustfmt::skip]
pub const SETTINGS: &[Setting] = &[
    // ---- basic (PrusaSlicer's simple mode) ----
    Setting { key: "layer_height", title: "Layer height", tier: Tier::Basic, kind: float(0.05, 0.6, "mm"), default: "0.3" },
    Setting { key: "perimeters", title: "Perimeters (walls)", tier: Tier::Basic, kind: Kind::Int { min: 1, max: 20 }, default: "3" },
    Setting { key: "fill_density", title: "Infill density", tier: Tier::Basic, kind: Kind::Percent { min: 0.0, max: 100.0 }, default: "20%" },
    Setting { key: "support_material", title: "Supports", tier: Tier::Basic, kind: Kind::Bool, default: "0" },
    Setting { key: "brim_width", title: "Brim width", tier: Tier::Basic, kind: float(0.0, 30.0, "mm"), default: "0" },
    Setting { key: "skirts", title: "Skirt loops", tier: Tier::Basic, kind: Kind::Int { min: 0, max: 10 }, default: "1" },
    Setting { key: "temperature", title: "Nozzle temperature", tier: Tier::Basic, kind: Kind::Int { min: 0, max: 320 }, default: "200" },
    Setting { key: "bed_temperature", title: "Bed temperature", tier: Tier::Basic, kind: Kind::Int { min: 0, max: 130 }, default: "0" },
    // ---- advanced ----
    Setting { key: "fill_pattern", title: "Infill pattern", tier: Tier::Advanced, kind: Kind::Choice(FILL_PATTERNS), default: "stars" },
    Setting { key: "top_solid_layers", title: "Top solid layers", tier: Tier::Advanced, kind: Kind::Int { min: 0, max: 50 }, default: "3" },
    Setting { key: "bottom_solid_layers", title: "Bottom solid layers", tier: Tier::Advanced, kind: Kind::Int { min: 0, max: 50 }, default: "3" },
    Setting { key: "support_material_auto", title: "Generate supports automatically", tier: Tier::Advanced, kind: Kind::Bool, default: "1" },
    Setting { key: "support_material_threshold", title: "Overhang threshold for supports (0: automatic)", tier: Tier::Advanced, kind: Kind::Int { min: 0, max: 90 }, default: "0" },
    Setting { key: "support_material_style", title: "Support style", tier: Tier::Advanced, kind: Kind::Choice(SUPPORT_STYLES), default: "grid" },
    Setting { key: "brim_type", title: "Brim type", tier: Tier::Advanced, kind: Kind::Choice(BRIM_TYPES), default: "outer_only" },
    Setting { key: "first_layer_height", title: "First layer height", tier: Tier::Advanced, kind: float(0.05, 0.6, "mm"), default: "0.35" },
    Setting { key: "first_layer_temperature", title: "First layer nozzle temperature", tier: Tier::Advanced, kind: Kind::Int { min: 0, max: 320 }, default: "200" },
    Setting { key: "first_layer_bed_temperature", title: "First layer bed temperature", tier: Tier::Advanced, kind: Kind::Int { min: 0, max: 130 }, default: "0" },
    Setting { key: "perimeter_speed", title: "Perimeter speed", tier: Tier::Advanced, kind: speed(), default: "60" },
    Setting { key: "infill_speed", title: "Infill speed", tier: Tier::Advanced, kind: speed(), default: "80" },
    Setting { key: "travel_speed", title: "Travel speed", tier: Tier::Advanced, kind: speed(), default: "130" },
    Setting { key: "seam_position", title: "Seam position", tier: Tier::Advanced, kind: Kind::Choice(SEAMS), default: "aligned" },
    Setting { key: "ironing", title: "Ironing of top surfaces", tier: Tier::Advanced, kind: Kind::Bool, default: "0" },
    // ---- expert ----
    Setting { key: "top_fill_pattern", title: "Top surface pattern", tier: Tier::Expert, kind: Kind::Choice(SOLID_PATTERNS), default: "monotonic" },
    Setting { key: "bottom_fill_pattern", title: "Bottom surface pattern", tier: Tier::Expert, kind: Kind::Choice(SOLID_PATTERNS), default: "monotonic" },
    Setting { key: "extrusion_width", title: "Default extrusion width (0: automatic)", tier: Tier::Expert, kind: float(0.0, 3.0, "mm"), default: "0" },
    Setting { key: "infill_overlap", title: "Infill and perimeters overlap", tier: Tier::Expert, kind: Kind::Percent { min: 0.0, max: 100.0 }, default: "25%" },
    Setting { key: "solid_infill_speed", title: "Solid infill speed", tier: Tier::Expert, kind: speed(), default: "20" },
    Setting { key: "top_solid_infill_speed", title: "Top solid infill speed", tier: Tier::Expert, kind: speed(), default: "15" },
    Setting { key: "small_perimeter_speed", title: "Small perimeter speed", tier: Tier::Expert, kind: speed(), default: "15" },
    Setting { key: "bridge_speed", title: "Bridge speed", tier: Tier::Expert, kind: speed(), default: "60" },
    Setting { key: "gap_fill_speed", title: "Gap fill speed", tier: Tier::Expert, kind: speed(), default: "20" },
    Setting { key: "retract_length", title: "Retraction length", tier: Tier::Expert, kind: float(0.0, 20.0, "mm"), default: "2" },
    Setting { key: "retract_speed", title: "Retraction speed", tier: Tier::Expert, kind: float(1.0, 200.0, "mm/s"), default: "40" },
    Setting { key: "min_fan_speed", title: "Minimum fan speed", tier: Tier::Expert, kind: Kind::Int { min: 0, max: 100 }, default: "35" },
    Setting { key: "max_fan_speed", title: "Maximum fan speed", tier: Tier::Expert, kind: Kind::Int { min: 0, max: 100 }, default: "100" },
    Setting { key: "thin_walls", title: "Detect thin walls", tier: Tier::Expert, kind: Kind::Bool, default: "1" },
    Setting { key: "avoid_crossing_perimeters", title: "Avoid crossing perimeters", tier: Tier::Expert, kind: Kind::Bool, default: "0" },
];

/// The setting of that key, if members may change it.
pub fn find(key: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|s| s.key == key)
}

/// Why a value does not fit its setting.
pub type Refusal = String;

impl Setting {
    /// The value as PrusaSlicer reads it, from the request's JSON: a number (percentages
    /// without `%`), a boolean, or one of the words of a choice — exactly the types the API
    /// document gives each setting.
    pub fn normalize(&self, value: &Value) -> Result<String, Refusal> {
        match self.kind {
            Kind::Float { min, max, unit } => {
                let v = number(value).ok_or("must be a number")?;
                in_range(v, min, max)
                    .ok_or_else(|| format!("must be from {min} to {max} {unit}"))?;
                Ok(format_number(v))
            }
            Kind::Int { min, max } => {
                let v = number(value).ok_or("must be a whole number")?;
                if v.fract() != 0.0 {
                    return Err("must be a whole number".into());
                }
                #[allow(clippy::cast_precision_loss)]
                let (lo, hi) = (min as f64, max as f64);
                in_range(v, lo, hi).ok_or_else(|| format!("must be from {min} to {max}"))?;
                Ok(format_number(v))
            }
            Kind::Percent { min, max } => {
                let v = number(value).ok_or("must be a percentage (a number)")?;
                in_range(v, min, max).ok_or_else(|| format!("must be from {min} to {max} %"))?;
                Ok(format!("{}%", format_number(v)))
            }
            Kind::Bool => match value {
                Value::Bool(b) => Ok(if *b { "1" } else { "0" }.into()),
                _ => Err("must be true or false".into()),
            },
            Kind::Choice(words) => match value {
                Value::String(s) if words.contains(&s.as_str()) => Ok(s.clone()),
                _ => Err(format!("must be one of {}", words.join(", "))),
            },
        }
    }
}

fn number(value: &Value) -> Option<f64> {
    let v = match value {
        Value::Number(n) => n.as_f64()?,
        _ => return None,
    };
    v.is_finite().then_some(v)
}

fn in_range(v: f64, min: f64, max: f64) -> Option<()> {
    (v >= min && v <= max).then_some(())
}

/// A number as PrusaSlicer reads it: plain decimal, no exponent, no trailing zeros.
fn format_number(v: f64) -> String {
    let text = format!("{v:.6}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" || text.is_empty() {
        "0".into()
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_are_unique_and_defaults_fit() {
        let mut seen = std::collections::BTreeSet::new();
        for s in SETTINGS {
            assert!(seen.insert(s.key), "{} twice", s.key);
            let default = match s.kind {
                Kind::Choice(_) => json!(s.default),
                Kind::Bool => json!(s.default == "1"),
                Kind::Percent { .. } => {
                    json!(s.default.trim_end_matches('%').parse::<f64>().unwrap())
                }
                Kind::Float { .. } | Kind::Int { .. } => {
                    json!(s.default.parse::<f64>().unwrap())
                }
            };
            assert_eq!(s.normalize(&default).as_deref(), Ok(s.default), "{}", s.key);
        }
    }

    #[test]
    fn values_are_checked_and_written_as_prusaslicer_reads_them() {
        let layer = find("layer_height").unwrap();
        assert_eq!(layer.normalize(&json!(0.2)).unwrap(), "0.2");
        assert!(layer.normalize(&json!(5)).is_err());
        assert!(layer.normalize(&json!("0.2\nstart_gcode = M112")).is_err());
        let density = find("fill_density").unwrap();
        assert_eq!(density.normalize(&json!(15)).unwrap(), "15%");
        assert!(density.normalize(&json!("40%")).is_err());
        assert!(layer.normalize(&json!("0.2")).is_err());
        assert!(density.normalize(&json!(101)).is_err());
        let supports = find("support_material").unwrap();
        assert_eq!(supports.normalize(&json!(true)).unwrap(), "1");
        assert!(supports.normalize(&json!("yes")).is_err());
        assert!(supports.normalize(&json!(1)).is_err());
        let pattern = find("fill_pattern").unwrap();
        assert_eq!(pattern.normalize(&json!("gyroid")).unwrap(), "gyroid");
        assert!(pattern.normalize(&json!("gyroid; rm")).is_err());
        let perimeters = find("perimeters").unwrap();
        assert!(perimeters.normalize(&json!(2.5)).is_err());
        assert_eq!(perimeters.normalize(&json!(2)).unwrap(), "2");
        assert!(find("start_gcode").is_none());
    }
}
